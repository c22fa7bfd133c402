"""EigenPro: preconditioned stochastic gradient descent that interpolates with a kernel.

A direct solve of ``K alpha = Y`` costs ``n^3 / 3`` flops: for all 60,000 MNIST images
7.2e13, about 400 s at this machine's float32 peak. An interpolating *classifier* needs
less than a solution to machine precision: zero training errors, and the interpolant's
predictions. Gradient descent on the square loss gets there in passes over the kernel
matrix, each ``n^2`` work, but plain gradient descent is slow because the kernel matrix's
eigenvalues fall fast: the step must be below ``2 / lambda_1`` and the directions of small
eigenvalues barely move. EigenPro (Ma and Belkin 2017) flattens the top of the spectrum.

The method, in the notation of the code (``lambda`` are eigenvalues of the normalized
kernel matrix ``K / n``; ``sigma`` those of a subsample's kernel matrix ``K_s``):

* **Stochastic gradient in function space.** With ``f = sum_j alpha_j k(x_j, .)`` and a
  batch ``B`` of ``m`` training points, the gradient of ``(1 / 2n) sum_i (f(x_i) - y_i)^2``
  estimated on ``B`` is ``(1/m) sum_{i in B} g_i k(x_i, .)`` with ``g_i = f(x_i) - y_i``. A
  step of size ``eta`` changes only the batch's coefficients: ``alpha_B -= (eta / m) g_B``.
* **The preconditioner.** ``P = I - sum_{j <= q} (1 - lambda_{q+1} / lambda_j) psi_j psi_j^*``
  shrinks the top ``q`` eigendirections ``psi_j`` of the covariance operator to the height of
  the ``(q + 1)``-th. They are estimated from a random subsample ``S`` of ``s`` points:
  ``K_s e_j = sigma_j e_j`` gives ``psi_j = sum_{l in S} e_j[l] k(x_l, .) / sqrt(sigma_j)``
  (unit norm in the RKHS) and ``lambda_j = sigma_j / s`` (Nystroem). The preconditioned step
  adds to the subsample's coefficients
  ``alpha_S += (eta / m) E diag((1 - sigma_{q+1} / sigma_j) / sigma_j) E^T K[S, B] g_B``.
* **Batch size and step** (Ma, Bassily, Belkin 2018; Ma and Belkin 2019, "EigenPro 2.0").
  For mini-batch SGD on an interpolation problem the step ``eta*(m) = m / (beta + (m - 1)
  lambda_1)`` is optimal and linear in ``m`` up to the critical batch size
  ``m* = beta / lambda_1``, where ``beta = max_i k(x_i, x_i)``. Preconditioning replaces
  ``lambda_1`` by ``lambda_{q+1}`` and ``beta`` by ``max_i <k(x_i, .), P k(x_i, .)>``, so
  ``m*`` and the step grow by about ``lambda_1 / lambda_{q+1}``. EigenPro 2.0 takes
  ``m = m*`` (capped), and that step.

How it is computed here (:func:`solve`): the training set is put in a random order once, the
kernel matrix is stored once in float32, only its upper triangle in blocks of ``m`` rows (as
:func:`generalization.kernels.kernel_matrix` with ``upper_only=True`` and ``block_rows = m``
writes it: 7.2 GB at n = 60,000), and each batch is one block of ``m`` *contiguous* rows,
so an epoch reads the stored triangle once at memory speed. Row block ``B = [b0, b1)`` of
the symmetric matrix is ``K[b0:b1, b0:]`` (stored) beside ``K[:b0, b0:b1]^T`` (stored
above it): two matrix products, no copy. The subsample is the first ``s`` points of the
random order.

References
----------
Ma and Belkin (2017), *Diving into the shallows: a computational perspective on
large-scale shallow learning*, NeurIPS (EigenPro).
Ma, Bassily, Belkin (2018), *The power of interpolation: understanding the effectiveness of
SGD in modern over-parametrized learning*, ICML (the optimal step and critical batch size).
Ma and Belkin (2019), *Kernel machines that adapt to GPUs for effective large batch
training*, SysML (EigenPro 2.0: batch size and step chosen from the spectrum).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
from threadpoolctl import threadpool_limits

from . import checks

RESOLVED = 1e-6
"""Eigenvalues of the subsample's kernel matrix below ``RESOLVED`` times the largest are
treated as unresolved (zero in float64 up to rounding) and never used as ``sigma_{q+1}``."""

STOPS = ("train_error", "residual")
"""When :func:`solve` stops: zero training errors (the interpolating classifier), or a
relative residual ``||Y - K alpha|| / ||Y||`` at most ``tol``."""


@dataclass(frozen=True)
class Preconditioner:
    """EigenPro's preconditioner from the top of a subsample's kernel spectrum.

    Attributes
    ----------
    eigenvectors : ndarray of shape (s, q)
        Unit eigenvectors ``e_j`` of the subsample's kernel matrix ``K_s``.
    eigenvalues : ndarray of shape (q,)
        Their eigenvalues ``sigma_1 >= ... >= sigma_q`` (of ``K_s``, not normalized).
    next_eigenvalue : float
        ``sigma_{q+1}``, the height the top ``q`` are flattened to.
    beta : float
        ``max_i <k(x_i, .), P k(x_i, .)>`` over the subsample.
    n_subsample : int
    """

    eigenvectors: np.ndarray
    eigenvalues: np.ndarray
    next_eigenvalue: float
    beta: float
    n_subsample: int

    @property
    def top_eigenvalue(self):
        """``lambda_{q+1} = sigma_{q+1} / s``: the top eigenvalue after preconditioning."""
        return self.next_eigenvalue / self.n_subsample

    @property
    def critical_batch_size(self):
        """``m* = beta / lambda_{q+1}``: beyond it a larger batch no longer buys a larger step."""
        return self.beta / self.top_eigenvalue

    def step_size(self, batch_size):
        """``eta*(m) = m / (beta + (m - 1) lambda_{q+1})`` (Ma, Bassily, Belkin 2018)."""
        m = checks.count("batch_size", batch_size)
        return m / (self.beta + (m - 1) * self.top_eigenvalue)

    @property
    def scale(self):
        """``(1 - sigma_{q+1} / sigma_j) / sigma_j``: the weight of each eigenvector's term."""
        return (1.0 - self.next_eigenvalue / self.eigenvalues) / self.eigenvalues


def preconditioner(K_sub, n_components, diagonal=1.0):
    """EigenPro's preconditioner from the kernel matrix of a random subsample.

    Parameters
    ----------
    K_sub : ndarray of shape (s, s)
        The kernel matrix of ``s`` points drawn at random from the training set (symmetric;
        float64 advised: its eigenvectors are computed in its precision).
    n_components : int
        ``q``, the number of top eigendirections to flatten; at most ``s - 1``. Fewer are
        used when the spectrum ends earlier (eigenvalues below :data:`RESOLVED` times the
        largest, e.g. duplicate points): ``q`` then stops one short of them, and ``q = 0``
        (no preconditioning, plain SGD) when only one is resolved.
    diagonal : float, default 1.0
        ``k(x, x)``, the same for every ``x`` for the Gaussian and Laplace kernels.

    Returns
    -------
    Preconditioner

    Notes
    -----
    Only the top ``q + 1`` eigenpairs are computed (LAPACK's ``syevr`` through
    ``scipy.linalg.eigh(subset_by_index=...)``). ``beta`` uses
    ``psi_j(x_i)^2 = sigma_j e_j[i]^2`` on the subsample points.
    """
    K_sub = checks.array("K_sub", K_sub, ndim=2)
    s = K_sub.shape[0]
    if K_sub.shape != (s, s) or s < 2:
        raise ValueError(f"K_sub must be a square matrix of size at least 2; got {K_sub.shape}.")
    q = checks.count("n_components", n_components, maximum=s - 1)
    diagonal = checks.positive("diagonal", diagonal)
    # one BLAS thread: the tridiagonal reduction is matrix-vector work, and with two threads
    # it ran 2.9 s on an idle machine but 23 s when the other core was busy (threads
    # spinning at each synchronization); one thread took 4.4 s either way (s = 4,000)
    with threadpool_limits(1, user_api="blas"):
        values, vectors = scipy.linalg.eigh(K_sub, subset_by_index=[s - q - 1, s - 1])
    values, vectors = values[::-1], vectors[:, ::-1]  # descending
    if not values[0] > 0:
        raise ValueError(
            f"K_sub must be positive semi-definite with a positive top eigenvalue; got "
            f"{values[0]:.3g}."
        )
    # flatten only directions whose eigenvalue is resolved: with duplicate or constant points
    # the subsample's spectrum ends early, and sigma_{q+1} must stay positive
    resolved = int(np.count_nonzero(values > RESOLVED * values[0]))
    q = min(q, resolved - 1)
    top, following = values[:q], float(values[q])
    E = vectors[:, :q]
    shrink = (1.0 - following / top) * top  # sum_j (1 - sigma_{q+1}/sigma_j) sigma_j e_j[i]^2
    beta = float(np.max(diagonal - (E * E) @ shrink)) if q else diagonal
    return Preconditioner(
        eigenvectors=np.ascontiguousarray(E),
        eigenvalues=top,
        next_eigenvalue=following,
        beta=beta,
        n_subsample=s,
    )


def _check_storage(K, block_rows):
    K = np.asarray(K)
    if K.ndim != 2 or K.shape[0] != K.shape[1] or K.dtype not in (np.float32, np.float64):
        raise ValueError(
            f"K must be a square float32 or float64 matrix; got {K.dtype} of shape {K.shape}."
        )
    if not K.flags.c_contiguous:
        raise ValueError("K must be C-contiguous (its upper triangle in row blocks); got a view.")
    return K, checks.count("block_rows", block_rows)


def row_block_times(K, b0, b1, V):
    """``K[b0:b1, :] @ V`` for a symmetric ``K`` stored in upper row blocks starting at ``b0``.

    ``K[b0:b1, b0:]`` is stored; the rest of the rows, ``K[b0:b1, :b0]``, is the transpose of
    the stored ``K[:b0, b0:b1]``. Both products run on views (no copy).
    """
    out = K[b0:b1, b0:] @ V[b0:]
    if b0 > 0:
        out += K[:b0, b0:b1].T @ V[:b0]
    return out


def _subsample_times(K, b0, b1, s, G):
    """``K[:s, b0:b1] @ G`` from upper row-block storage whose block starts at ``b0``."""
    top = min(s, b1)
    h = np.empty((s, G.shape[1]), dtype=G.dtype)
    h[:top] = K[:top, b0:b1] @ G  # rows above the block, and the diagonal block (stored whole)
    if s > b1:
        h[b1:s] = K[b0:b1, b1:s].T @ G
    return h


def symmetric_times(K, V, block_rows):
    """``K @ V`` for a symmetric ``K`` whose upper triangle is stored in row blocks.

    Parameters
    ----------
    K : ndarray of shape (n, n)
        C-contiguous; rows ``[b0, b0 + block_rows)`` hold their entries from column ``b0`` on
        (``b0`` a multiple of ``block_rows``), as
        :func:`generalization.kernels.kernel_matrix` writes with ``upper_only=True``.
    V : ndarray of shape (n, k)
    block_rows : int

    Returns
    -------
    ndarray of shape (n, k), in the precision of ``K`` and ``V``.
    """
    K, block_rows = _check_storage(K, block_rows)
    V = np.asarray(V)
    if V.ndim != 2 or V.shape[0] != K.shape[0]:
        raise ValueError(f"V must be 2-D with {K.shape[0]} rows; got shape {V.shape}.")
    n = K.shape[0]
    return np.concatenate(
        [row_block_times(K, b0, min(b0 + block_rows, n), V) for b0 in range(0, n, block_rows)]
    )


@dataclass
class Convergence:
    """What :func:`solve` did, epoch by epoch.

    ``residual`` and ``train_errors`` are measured on each batch as it is visited (before
    its update), over one epoch: they cost nothing extra, and lag the exact values by at most
    an epoch. ``checks`` lists the exact evaluations ``(epoch, relative residual, training
    errors)``, made with a full pass whenever the running values say the criterion is met.
    """

    batch_size: int
    step_size: float
    epochs: int = 0
    residual: list = field(default_factory=list)
    train_errors: list = field(default_factory=list)
    epoch_time_s: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    converged: bool = False


def solve(K, Y, labels, precond, block_rows, max_epochs=100, stop="train_error", tol=1e-3):
    """Run EigenPro on ``K alpha = Y`` until the training errors vanish (or the residual is small).

    Parameters
    ----------
    K : ndarray of shape (n, n), float32 or float64
        The kernel matrix of the training points *in a random order*, upper triangle in row
        blocks of ``block_rows`` (see :func:`symmetric_times`). Not modified.
    Y : ndarray of shape (n, c)
        One-hot targets.
    labels : ndarray of shape (n,)
        The class index of each row (``Y.argmax(1)``), for the training error.
    precond : Preconditioner
        From the first ``precond.n_subsample`` rows of ``K``'s order.
    block_rows : int
        The batch size: one stored row block per step.
    max_epochs : int, default 100
    stop : {"train_error", "residual"}
    tol : float, default 1e-3
        The relative residual for ``stop="residual"``.

    Returns
    -------
    alpha : ndarray of shape (n, c), in ``K``'s precision
    K_alpha : ndarray of shape (n, c)
        ``K @ alpha`` from the last exact pass (the fitted values).
    convergence : Convergence
    """
    K, m = _check_storage(K, block_rows)
    n = K.shape[0]
    Y = checks.array("Y", Y, ndim=2)
    labels = np.asarray(labels)
    if Y.shape[0] != n or labels.shape != (n,):
        raise ValueError(
            f"Y and labels must have {n} rows, one per row of K; got {Y.shape} and {labels.shape}."
        )
    if not isinstance(precond, Preconditioner) or precond.n_subsample > n:
        raise ValueError(
            "precond must be a Preconditioner of a subsample of at most n points; got "
            f"{type(precond).__name__}."
        )
    max_epochs = checks.count("max_epochs", max_epochs)
    checks.choice("stop", stop, STOPS)
    tol = checks.positive("tol", tol)

    dtype = K.dtype
    Y = Y.astype(dtype)
    s = precond.n_subsample
    E = precond.eigenvectors.astype(dtype)
    D = precond.scale.astype(dtype)
    eta = precond.step_size(m)
    rate = dtype.type(eta / m)
    alpha = np.zeros_like(Y)
    norm_Y = float(np.linalg.norm(Y))
    report = Convergence(batch_size=m, step_size=eta)
    K_alpha = None
    for epoch in range(1, max_epochs + 1):
        start = time.perf_counter()
        squared, errors = 0.0, 0
        for b0 in range(0, n, m):
            b1 = min(b0 + m, n)
            fitted = row_block_times(K, b0, b1, alpha)
            errors += int(np.count_nonzero(fitted.argmax(1) != labels[b0:b1]))
            g = fitted - Y[b0:b1]  # the gradient's coefficients on the batch
            squared += float(np.sum(g * g))
            alpha[b0:b1] -= rate * g
            if D.size:  # the preconditioner's correction, on the subsample's coefficients
                h = _subsample_times(K, b0, b1, s, g)
                alpha[:s] += rate * (E @ (D[:, None] * (E.T @ h)))
        report.epochs = epoch
        report.residual.append(np.sqrt(squared) / norm_Y)
        report.train_errors.append(errors)
        report.epoch_time_s.append(time.perf_counter() - start)
        running_met = errors == 0 if stop == "train_error" else report.residual[-1] <= tol
        if running_met or epoch == max_epochs:
            K_alpha = symmetric_times(K, alpha, m)
            exact_residual = float(np.linalg.norm(Y - K_alpha)) / norm_Y
            exact_errors = int(np.count_nonzero(K_alpha.argmax(1) != labels))
            report.checks.append((epoch, exact_residual, exact_errors))
            met = exact_errors == 0 if stop == "train_error" else exact_residual <= tol
            if met:
                report.converged = True
                break
    return alpha, K_alpha, report

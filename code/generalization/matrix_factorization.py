"""Matrix completion by deep matrix factorization, and the minimum nuclear norm it is compared to.

A matrix is observed on a few entries; gradient descent on a product of matrices fitted to
those entries fills in the rest. Nothing in the loss asks for a low-rank answer, yet from a
small initialization the product comes out nearly low rank, and more so the deeper the
factorization (Arora, Cohen, Hu, Luo 2019). Gunasekar et al. (2017) conjectured that the
depth-2 answer is the completion of minimum nuclear norm; Arora et al. argue that no norm
captures the deep case, and that the reason is in how singular values move.

Conventions (the same everywhere in this module)::

    target   M : (d1, d2), observed on m distinct positions (rows[k], cols[k]) = values[k]
    factors  W_1 : (h, d2),  W_2 ... W_{N-1} : (h, h),  W_N : (d1, h),  h = hidden,
             default min(d1, d2), so that the product can be any d1 x d2 matrix (for a square
             d x d target every factor is d x d);
             depth N = 1 is a single W_1 : (d1, d2)
    product  W = W_N ... W_1
    loss     l(W) = 1/(2m) sum_k (W[rows[k], cols[k]] - values[k])^2
             (one half of the mean squared error over the observed entries; a loss summed
              over the entries instead is the same with the learning rate multiplied by m)
    gradient grad l(W) = P(W - M) / m, where P keeps the observed entries and zeroes the rest

The whole story is Theorem 3 of Arora et al. (2019): when the factors start balanced
(``W_{j+1}^T W_{j+1} = W_j W_j^T``), the singular values ``sigma_r`` of the product move,
under gradient flow, as::

    d sigma_r / dt = -N (sigma_r^2)^(1 - 1/N) <grad l(W), u_r v_r^T>

(:func:`singular_value_rates`), with ``(u_r, v_r)`` the r-th singular vectors. The factor
``sigma^(2 - 2/N)`` makes large singular values move fast and small ones stay small, the
more so the larger N: an implicit push towards low rank that depth 1 (a plain gradient
descent on the entries, which never moves an unobserved entry) does not have.

References
----------
Arora, Cohen, Hu, Luo (2019), *Implicit regularization in deep matrix factorization*,
NeurIPS, https://arxiv.org/abs/1905.13655.
Gunasekar, Woodworth, Bhojanapalli, Neyshabur, Srebro (2017), *Implicit regularization in
matrix factorization*, NeurIPS, https://arxiv.org/abs/1705.09280.
Roy, Vetterli (2007), *The effective rank: a measure of effective dimensionality*, EUSIPCO.
Cai, Candes, Shen (2010), *A singular value thresholding algorithm for matrix completion*,
SIAM J. Optimization 20(4).
Boyd, Parikh, Chu, Peleato, Eckstein (2011), *Distributed optimization and statistical
learning via the alternating direction method of multipliers*, Foundations and Trends in
Machine Learning 3(1).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from . import checks


def effective_rank(M):
    """Roy and Vetterli's effective rank ``exp(H(p))`` of a matrix.

    With ``sigma`` the singular values of M, ``p_i = sigma_i / ||sigma||_1`` is a probability
    vector and ``H(p) = -sum_i p_i log p_i`` its Shannon entropy (natural logarithm, with
    ``0 log 0 = 0``). The effective rank lies between 1 (rank one) and the rank of M, which
    it equals when the non-zero singular values are all equal.

    Parameters
    ----------
    M : array_like, shape (d1, d2)

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For the zero matrix, where ``p`` is undefined.

    References
    ----------
    Roy, Vetterli (2007), *The effective rank: a measure of effective dimensionality*,
    EUSIPCO.
    """
    M = checks.array("M", M, ndim=2)
    sigma = np.linalg.svd(M, compute_uv=False)
    total = sigma.sum()
    if total == 0:
        raise ValueError("M must be a non-zero matrix; got the zero matrix.")
    p = sigma[sigma > 0] / total
    return float(np.exp(-np.sum(p * np.log(p))))


def _as_observations(shape, rows, cols, values):
    """Validated ``(d1, d2), rows, cols, values`` (see the module docstring)."""
    shape = checks.integers("shape", shape, minimum=1, min_length=2)
    if len(shape) != 2:
        raise ValueError(f"shape must be a pair (d1, d2) of positive integers; got {shape}.")
    rows = checks.array("rows", rows, ndim=1, dtype=None)
    cols = checks.array("cols", cols, ndim=1, dtype=None)
    values = checks.array("values", values, ndim=1)
    for name, index, size in (("rows", rows, shape[0]), ("cols", cols, shape[1])):
        if not np.issubdtype(index.dtype, np.integer):
            raise ValueError(f"{name} must be an array of integers; got dtype {index.dtype}.")
        if index.min() < 0 or index.max() >= size:
            bad = int(index.min() if index.min() < 0 else index.max())
            raise ValueError(f"{name} must be indices from 0 to {size - 1}; got {bad}.")
    if not len(rows) == len(cols) == len(values):
        raise ValueError(
            f"rows, cols and values must have the same length; got {len(rows)}, {len(cols)} "
            f"and {len(values)}."
        )
    flat = rows.astype(np.int64) * shape[1] + cols
    unique, counts = np.unique(flat, return_counts=True)
    if np.any(counts > 1):
        i, j = divmod(int(unique[np.argmax(counts > 1)]), shape[1])
        raise ValueError(f"the observed positions must be distinct; got ({i}, {j}) twice.")
    return shape, rows.astype(np.int64), cols.astype(np.int64), values


def observed_loss(W, rows, cols, values):
    """``l(W) = 1/(2m) sum_k (W[rows[k], cols[k]] - values[k])^2``, the completion loss."""
    W = checks.array("W", W, ndim=2)
    _, rows, cols, values = _as_observations(W.shape, rows, cols, values)
    return float(0.5 * np.mean((W[rows, cols] - values) ** 2))


def observed_loss_gradient(W, rows, cols, values):
    """``grad l(W)``: the residuals ``(W - M) / m`` on the observed entries, zero elsewhere."""
    W = checks.array("W", W, ndim=2)
    _, rows, cols, values = _as_observations(W.shape, rows, cols, values)
    G = np.zeros_like(W)
    G[rows, cols] = (W[rows, cols] - values) / len(values)
    return G


def singular_value_rates(W, grad, depth):
    """Theorem 3 of Arora et al. (2019): how fast the singular values of the product move.

    For a depth-N factorization started balanced and trained by gradient flow on a loss
    with gradient ``grad`` at the product W::

        d sigma_r / dt = -N (sigma_r^2)^(1 - 1/N) <grad, u_r v_r^T>

    A gradient descent step with learning rate ``lr`` moves ``sigma_r`` by ``lr`` times this,
    up to ``O(lr^2)``. The singular values must be distinct and non-zero for the singular
    vectors, and this formula, to be well defined.

    Parameters
    ----------
    W : array_like, shape (d1, d2)
        The product ``W_N ... W_1``.
    grad : array_like, shape (d1, d2)
        The gradient of the loss with respect to the product, e.g.
        :func:`observed_loss_gradient`.
    depth : int, positive

    Returns
    -------
    rates : ndarray, shape (min(d1, d2),)
        In the order of the singular values, decreasing.

    References
    ----------
    Arora, Cohen, Hu, Luo (2019), NeurIPS, Theorem 3.
    """
    W = checks.array("W", W, ndim=2)
    grad = checks.array("grad", grad, ndim=2)
    depth = checks.count("depth", depth)
    if grad.shape != W.shape:
        raise ValueError(f"grad must have the shape of W, {W.shape}; got shape {grad.shape}.")
    U, sigma, Vt = np.linalg.svd(W, full_matrices=False)
    projections = np.einsum("ir,ij,rj->r", U, grad, Vt)  # <grad, u_r v_r^T>
    return -depth * (sigma**2) ** (1.0 - 1.0 / depth) * projections


@dataclass(frozen=True)
class DeepCompletion:
    """The record of :func:`complete_deep`; arrays have one row per recorded step.

    Attributes
    ----------
    steps : ndarray of int, shape (num_recorded,)
        0, every ``record_every``-th step, and the last.
    losses : ndarray, shape (num_recorded,)
        The observed loss ``l(W)`` at those steps.
    singular_values : ndarray, shape (num_recorded, min(d1, d2))
        Of the product, decreasing.
    matrix : ndarray, shape (d1, d2)
        The final product ``W_N ... W_1``.
    factors : tuple of ndarray
        The final ``W_1, ..., W_N``.
    """

    steps: np.ndarray
    losses: np.ndarray
    singular_values: np.ndarray
    matrix: np.ndarray
    factors: tuple


def _start(shape, depth, hidden, init_scale, seed, factors):
    d1, d2 = shape
    if factors is None:
        widths = [d2] + [hidden] * (depth - 1) + [d1]
        rng = np.random.default_rng(seed)
        return [init_scale * rng.standard_normal((widths[j + 1], widths[j])) for j in range(depth)]
    if isinstance(factors, np.ndarray) or len(factors) != depth:
        raise ValueError(
            f"factors must be a list of depth = {depth} matrices; got {factors!r:.60}."
        )
    factors = [checks.array(f"factors[{j}]", F, ndim=2) for j, F in enumerate(factors)]
    product = factors[0]
    for j, F in enumerate(factors[1:], 1):
        if F.shape[1] != product.shape[0]:
            raise ValueError(
                f"factors[{j}] must have {product.shape[0]} columns; got shape {F.shape}."
            )
        product = F @ product
    if product.shape != (d1, d2):
        raise ValueError(f"factors must multiply to shape {shape}; got {product.shape}.")
    return factors


def complete_deep(
    shape,
    rows,
    cols,
    values,
    depth,
    init_scale,
    lr,
    num_steps,
    seed=0,
    optimizer="gd",
    record_every=1,
    hidden=None,
    factors=None,
):
    """Matrix completion by gradient descent (or Adam) on a depth-N factorization.

    Minimizes the observed loss ``l(W_N ... W_1)`` of the module docstring over the factors,
    in float64 with torch autograd. Every entry of every factor starts independent
    ``N(0, init_scale^2)``. This is our reading of the setup of Arora et al. (2019), small
    independent zero-centred Gaussian entries, which we could not check line by line against
    their appendix; the standard deviations and learning rates of their figures are left to
    the caller (``init_scale``, ``lr``).

    With ``depth = 1`` this is gradient descent on the entries themselves: the gradient is
    zero off the observed positions, so the unobserved entries keep their initial values
    exactly, with either optimizer.

    Parameters
    ----------
    shape : (int, int)
        ``(d1, d2)``, the shape of the target.
    rows, cols : array_like of int, shape (m,)
        The observed positions, distinct.
    values : array_like, shape (m,)
        The observed values.
    depth : int, positive
        N, the number of factors.
    init_scale : float, positive
        Standard deviation of the entries of the initial factors (ignored with ``factors``).
    lr : float, positive
        Learning rate (of the loss averaged over the m observed entries).
    num_steps : int, non-negative
    seed : int, default 0
        Seed of the initialization (``numpy.random.default_rng``).
    optimizer : {"gd", "adam"}, default "gd"
        Full-batch gradient descent (``torch.optim.SGD`` without momentum) or
        ``torch.optim.Adam`` with its default betas.
    record_every : int, default 1
        Record the loss and the singular values every ``record_every``-th step (and at
        steps 0 and ``num_steps``).
    hidden : int, optional
        Width h of the hidden layers; default ``min(d1, d2)``.
    factors : list of array_like, optional
        Start from these factors ``[W_1, ..., W_N]`` instead of a random draw (e.g. the
        balanced factors of :func:`generalization.deep_linear.balanced_factors`).

    Returns
    -------
    DeepCompletion

    Raises
    ------
    ValueError
        For bad arguments, with the expected and the received value.
    FloatingPointError
        When the loss stops being finite (the learning rate is too large).

    References
    ----------
    Arora, Cohen, Hu, Luo (2019), *Implicit regularization in deep matrix factorization*,
    NeurIPS.
    """
    import torch

    shape, rows, cols, values = _as_observations(shape, rows, cols, values)
    depth = checks.count("depth", depth)
    init_scale = checks.positive("init_scale", init_scale)
    lr = checks.positive("lr", lr)
    num_steps = checks.count("num_steps", num_steps, minimum=0)
    seed = checks.count("seed", seed, minimum=0)
    optimizer = checks.choice("optimizer", optimizer, ("gd", "adam"))
    record_every = checks.count("record_every", record_every)
    hidden = min(shape) if hidden is None else checks.count("hidden", hidden)
    start = _start(shape, depth, hidden, init_scale, seed, factors)
    params = [torch.tensor(F, dtype=torch.float64, requires_grad=True) for F in start]
    opt = (torch.optim.SGD if optimizer == "gd" else torch.optim.Adam)(params, lr=lr)
    r, c = torch.as_tensor(rows), torch.as_tensor(cols)
    v = torch.as_tensor(values, dtype=torch.float64)
    steps, losses, svals = [], [], []
    for step in range(num_steps + 1):
        W = params[0]
        for P in params[1:]:
            W = P @ W
        loss = 0.5 * torch.mean((W[r, c] - v) ** 2)
        if step % record_every == 0 or step == num_steps:
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"training diverged by step {step}: the loss is not finite; lower lr "
                    f"(got {lr:g})."
                )
            steps.append(step)
            losses.append(loss.item())
            svals.append(torch.linalg.svdvals(W.detach()).numpy())
        if step < num_steps:
            opt.zero_grad()
            loss.backward()
            opt.step()
    return DeepCompletion(
        steps=np.array(steps),
        losses=np.array(losses),
        singular_values=np.array(svals),
        matrix=W.detach().numpy().copy(),
        factors=tuple(P.detach().numpy().copy() for P in params),
    )


def nuclear_norm_completion(
    shape, rows, cols, values, tol=1e-6, max_iter=20000, rho=None, adapt=True
):
    """The completion of minimum nuclear norm: ``argmin ||X||_*`` subject to the observations.

    Solves exactly-constrained nuclear norm minimization::

        minimize ||X||_*  over X of shape (d1, d2)   subject to  X[rows[k], cols[k]] = values[k]

    (the convex relaxation of rank minimization; Candes and Recht 2009, and the depth-2
    answer conjectured by Gunasekar et al. 2017) by the alternating direction method of
    multipliers (ADMM) on the split ``X = Z``, with X in the affine set of the constraints and
    a multiplier ``Lam`` of the shape of X::

        Z   <- SVT_{1/rho}(X + Lam / rho)     singular values shrunk by 1/rho: the prox of
                                              ||.||_* / rho, as in Cai, Candes, Shen (2010)
        X   <- Z - Lam / rho, then the observed entries set to the values     (projection)
        Lam <- Lam + rho (X - Z)              zero off the observed entries

    The returned X meets the constraints exactly. Every 10 iterations the multiplier gives a
    certificate of optimality: ``Y = Lam / max(1, ||Lam||_op)`` is supported on the observed
    entries and has operator norm at most 1, so for every feasible X',
    ``<values, Y[rows, cols]> = <X', Y> <= ||X'||_*`` (weak duality). The iteration stops
    when ``||X||_* - <values, Y[rows, cols]> <= tol * ||X||_*``: the nuclear norm of the
    answer is then within a relative ``tol`` of the minimum. (The answer itself is close to
    the minimizer when that is unique and well conditioned, as in exact-recovery regimes; the
    minimizer need not be unique.) A ``RuntimeWarning`` says when ``max_iter`` iterations did
    not reach ``tol``; the answer is then still feasible.

    Parameters
    ----------
    shape : (int, int)
    rows, cols : array_like of int, shape (m,)
        The observed positions, distinct.
    values : array_like, shape (m,)
    tol : float, positive, default 1e-6
        Relative duality gap at which to stop.
    max_iter : int, positive, default 20000
    rho : float, positive, optional
        Initial penalty of the ADMM; default ``10 / ||P(M)||_op`` with ``P(M)`` the observed
        entries (zeros elsewhere), which makes the iteration independent of the scale of M.
    adapt : bool, default True
        Double or halve ``rho`` every 10 iterations when the primal residual ``||X - Z||_F``
        and the dual one ``rho ||Z - Z_previous||_F`` differ by more than a factor 10
        (residual balancing, Boyd et al. 2011, section 3.4.1), which makes the number of
        iterations much less sensitive to ``rho``.

    Returns
    -------
    X : ndarray, shape (d1, d2)

    References
    ----------
    Candes, Recht (2009), *Exact matrix completion via convex optimization*, Foundations of
    Computational Mathematics 9(6).
    Cai, Candes, Shen (2010), SIAM J. Optimization 20(4).
    Boyd et al. (2011), Foundations and Trends in Machine Learning 3(1), section 3.
    """
    shape, rows, cols, values = _as_observations(shape, rows, cols, values)
    tol = checks.positive("tol", tol)
    max_iter = checks.count("max_iter", max_iter)
    adapt = checks.choice("adapt", adapt, (True, False))
    X = np.zeros(shape)
    X[rows, cols] = values
    scale = np.linalg.norm(X, 2)
    if scale == 0:
        return X  # all observed values are zero: the zero matrix is the minimum
    rho = 10.0 / scale if rho is None else checks.positive("rho", rho)
    unobserved = np.ones(shape, bool)
    unobserved[rows, cols] = False
    Lam = np.zeros(shape)
    Z = X
    for it in range(1, max_iter + 1):
        Z_old = Z
        U, s, Vt = np.linalg.svd(X + Lam / rho, full_matrices=False)
        Z = (U * np.maximum(s - 1.0 / rho, 0.0)) @ Vt
        X = Z - Lam / rho
        X[rows, cols] = values
        Lam += rho * (X - Z)
        Lam[unobserved] = 0.0  # already zero up to rounding, since X = Z - Lam / rho there
        if it % 10 == 0:
            upper = np.linalg.svd(X, compute_uv=False).sum()
            lower = values @ Lam[rows, cols] / max(1.0, np.linalg.norm(Lam, 2))
            if upper - lower <= tol * upper:
                return X
            if adapt:  # residual balancing, Boyd et al. (2011), section 3.4.1
                primal, dual = np.linalg.norm(X - Z), rho * np.linalg.norm(Z - Z_old)
                if primal > 10 * dual:
                    rho *= 2
                elif dual > 10 * primal:
                    rho /= 2
    upper = np.linalg.svd(X, compute_uv=False).sum()
    lower = values @ Lam[rows, cols] / max(1.0, np.linalg.norm(Lam, 2))
    warnings.warn(
        f"nuclear_norm_completion did not reach the relative duality gap tol = {tol:g} in "
        f"{max_iter} iterations (gap {(upper - lower) / upper:.2g}).",
        RuntimeWarning,
        stacklevel=2,
    )
    return X

"""Experiments of the chapter *Double descent* (Belkin, Hsu, Ma, Mandal 2019).

A random feature model ``h(x) = sum_j a_j phi_j(x)`` with ``N`` random Fourier (or ReLU)
features is fitted to ``n`` MNIST images with one-hot targets by *minimum-norm* least
squares: ``A = pinv(Phi) Y``. For ``N < n`` that is ordinary least squares; for ``N >= n``
it is the interpolant of smallest ``||A||_F``. Sweeping ``N`` past ``n`` traces Belkin et
al.'s double-descent curve: a classical U below ``n``, a peak at ``N = n`` and a second
descent towards the kernel machine, the ``N -> infinity`` limit.

Conventions::

    Phi_N : (n, N) = sqrt(2 / N) * F[:, :N],  F the unnormalized features of one seed
    A_N   : (N, 10) = pinv(Phi_N) Y,           Y the (n, 10) one-hot targets
    G_N   : (n, n) = Phi_N Phi_N^T  ->  K, the kernel matrix, as N -> infinity
    squared loss  = mean over points of ||f(x) - e_y||^2 (summed over the 10 outputs)
    zero-one loss = mean over points of [argmax_k f_k(x) != y]
    norm          = ||A_N||_F; for N >= n it equals sqrt(tr(Y^T G_N^{-1} Y)), and it tends to
                    the RKHS norm sqrt(tr(Y^T K^{-1} Y)) of the kernel interpolant

Features of one seed are nested (:mod:`generalization.features`), so each sweep draws the
largest map once and uses its first ``N`` columns for every ``N``. Up to ``N = n`` one
Householder QR of the widest feature matrix serves every ``N`` (its leading columns are
the QR of the narrower ones); above ``n`` the ``n x n`` Gram matrix ``G_N`` is accumulated
column block by column block and solved by Cholesky. No normal equations are formed at
``N = n``, where ``Phi_N`` is square and nearly singular.

References
----------
Belkin, Hsu, Ma, Mandal (2019), *Reconciling modern machine-learning practice and the
classical bias-variance trade-off*, PNAS 116(32), https://arxiv.org/abs/1812.11118.
Rahimi, Recht (2007), *Random features for large-scale kernel machines*, NeurIPS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, settings_for
from generalization.book.cache import cached
from generalization.features import KINDS, RandomFeatureMap, arccos_kernel
from generalization.linear import SpectralRidge

COLUMN_BLOCK = 2048
"""Feature columns per block when the Gram matrix and the coefficients are accumulated."""
TEST_BLOCK_ENTRIES = 1 << 24
"""Test rows per block are chosen so that a block of features holds at most this many numbers."""

# fmt: off
RATIOS = (
    0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25, 1.5, 2.0,
    3.0, 5.0, 10.0,
)
# fmt: on
"""The chapter's grid of ``N / n``: dense near the interpolation threshold ``N = n``."""

SETTINGS = {
    "quick": dict(
        n_train=1000,
        n_test=5000,
        ratios=RATIOS,
        seeds=(0, 1, 2),
        bandwidth=5.0,
        data_seed=0,
        relu_ratios=(0.25, 0.5, 0.9, 1.0, 1.1, 2.0, 5.0),
        relu_seeds=(0,),
        relu_n_test=2000,
        ridge_alphas=(1e-6, 1e-5, 1e-4, 1e-3, 1e-2),
    ),
    "full": dict(
        n_train=10000,
        n_test=10000,
        ratios=RATIOS,
        seeds=(0, 1, 2),
        bandwidth=5.0,
        data_seed=0,
        relu_ratios=(0.25, 0.5, 0.9, 1.0, 1.1, 2.0, 5.0),
        relu_seeds=(0, 1, 2),
        relu_n_test=10000,
        ridge_alphas=(1e-6, 1e-5, 1e-4, 1e-3, 1e-2),
    ),
}
"""Sizes at each scale. Full is the paper's ``n = 10,000`` with ``N`` up to ``10 n``."""


def settings(scale=None):
    """The experiment settings of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def _blas_threads(X):
    """BLAS threads for training inputs ``X``: 1 below 4096 rows, else no limit (None)."""
    rows = np.shape(X)[0] if np.ndim(X) >= 1 else 0
    return 1 if rows < 4096 else None


def feature_counts(n_train, ratios):
    """The numbers of features ``N = round(r * n_train)`` for the ratios ``r``, sorted and distinct.

    Parameters
    ----------
    n_train : int, at least 1
    ratios : sequence of float, positive

    Returns
    -------
    ndarray of int, increasing
    """
    n_train = checks.count("n_train", n_train)
    r = checks.numbers("ratios", np.atleast_1d(ratios), low=0, low_open=True)
    return np.unique(np.maximum(1, np.round(r * n_train).astype(int)))


def _check_problem(X, y, X_test, y_test, n_classes):
    X, X_test = checks.array("X", X, ndim=2), checks.array("X_test", X_test, ndim=2)
    if X.shape[1] != X_test.shape[1]:
        raise ValueError(
            f"X_test must have the {X.shape[1]} columns of X; got shape {X_test.shape}."
        )
    y, y_test = np.asarray(y), np.asarray(y_test)
    for name, labels, rows in (("y", y, X.shape[0]), ("y_test", y_test, X_test.shape[0])):
        if labels.shape != (rows,) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f"{name} must be integer labels of shape ({rows},); got {labels.dtype} of shape "
                f"{labels.shape}."
            )
        if labels.min() < 0 or labels.max() >= n_classes:
            raise ValueError(
                f"{name} must hold labels in 0..{n_classes - 1}; got "
                f"{labels.min()}..{labels.max()}."
            )
    return X, y, X_test, y_test


def _losses(scores, labels):
    """(squared loss, zero-one loss) of ``scores`` (m, k) against integer ``labels`` (m,)."""
    target = np.eye(scores.shape[1])[labels]
    return float(np.mean(np.sum((scores - target) ** 2, axis=1))), float(
        np.mean(scores.argmax(1) != labels)
    )


@dataclass(frozen=True)
class Sweep:
    """Min-norm random-feature fits of one feature draw, one entry per number of features."""

    n_features: np.ndarray
    test_squared: np.ndarray
    test_zero_one: np.ndarray
    train_squared: np.ndarray
    norm: np.ndarray


def sweep(X, y, X_test, y_test, n_features, kind="fourier", bandwidth=5.0, seed=0, n_classes=10):
    """Fit min-norm least squares on the first ``N`` random features, for every ``N`` given.

    Parameters
    ----------
    X : array_like, shape (n, d);  y : array_like of int, shape (n,)
    X_test : array_like, shape (m, d);  y_test : array_like of int, shape (m,)
    n_features : sequence of int
        The values of ``N`` (any order; each positive).
    kind : {"fourier", "relu"}
    bandwidth : float
        The Gaussian kernel's bandwidth for Fourier features, the weight scale for ReLU
        features (it does not change a ReLU model's predictions, only its norm).
    seed : int
        The feature draw; every ``N`` uses the first ``N`` features of this one draw.
    n_classes : int
        Targets are one-hot vectors of this length.

    Returns
    -------
    Sweep
        Arrays in increasing order of ``N``.

    Notes
    -----
    Runs with one BLAS thread below ``n = 4096`` (:func:`_blas_threads`): threaded LAPACK
    factorizations of that size gain little on two cores and slow down by orders of
    magnitude when the cores are shared.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(_blas_threads(X)):
        return _sweep(X, y, X_test, y_test, n_features, kind, bandwidth, seed, n_classes)


def _sweep(X, y, X_test, y_test, n_features, kind, bandwidth, seed, n_classes):
    n_classes = checks.count("n_classes", n_classes, minimum=2)
    X, y, X_test, y_test = _check_problem(X, y, X_test, y_test, n_classes)
    counts = np.unique(checks.integers("n_features", np.atleast_1d(n_features), minimum=1))
    fmap = RandomFeatureMap(
        kind, X.shape[1], int(counts[-1]), bandwidth, seed
    )  # validates kind, bandwidth, seed
    W, b = fmap.parameters()
    n = X.shape[0]
    Y = np.eye(n_classes)[y]

    W32, b32 = W.astype(np.float32), b.astype(np.float32)

    def raw(rows, start, stop, single=False):  # unnormalized features of columns start..stop-1
        Z = rows @ (W32 if single else W)[:, start:stop]
        if kind == "fourier":
            Z += (b32 if single else b)[start:stop]
            return np.cos(Z, out=Z)
        return np.maximum(Z, 0.0, out=Z)

    coef, train = {}, {}
    # N <= n: Phi_N is tall (or square) and of full column rank, so its least-squares solution
    # is unique (hence min-norm). Columns are nested: one Householder QR of the widest matrix,
    # F[:, :N_u] = Q R, serves every N, since the first N columns are Q[:, :N] R[:N, :N].
    # A_N = sqrt(N/2) R[:N, :N]^{-1} Q[:, :N]^T Y (backward stable; no normal equations).
    under = [int(N) for N in counts if N <= n]
    if under:
        from scipy.linalg import qr, solve_triangular

        F = raw(X, 0, under[-1])
        Q, R = qr(F, mode="economic")
        QtY = Q.T @ Y
        for N in under:
            coef[N] = solve_triangular(R[:N, :N], QtY[:N]) * np.sqrt(N / 2.0)
            train[N] = float(
                np.mean(np.sum((F[:, :N] @ coef[N] * np.sqrt(2.0 / N) - Y) ** 2, axis=1))
            )
        del F, Q, R
    # N > n: G_N = (2/N) sum_j f_j f_j^T over the first N columns, accumulated block by block;
    # alpha = G_N^{-1} Y (Cholesky), A_N = Phi_N^T alpha. These coefficients lie in the row
    # space of Phi_N and interpolate, which makes them the min-norm interpolant.
    over = [int(N) for N in counts if N > n]
    if over:
        from scipy.linalg import cho_factor, cho_solve

        G, done, alphas = np.zeros((n, n)), 0, {}
        for N in over:
            for start in range(done, N, COLUMN_BLOCK):
                block = raw(X, start, min(N, start + COLUMN_BLOCK))
                G += block @ block.T
            done = N
            G_N = G * (2.0 / N)
            try:
                alphas[N] = cho_solve(cho_factor(G_N), Y)
            except np.linalg.LinAlgError:  # not numerically positive definite: pinv by eigenvalues
                e, V = np.linalg.eigh(G_N)
                keep = e > n * np.finfo(float).eps * e[-1]
                alphas[N] = V[:, keep] @ ((V[:, keep].T @ Y) / e[keep, None])
            train[N] = float(np.mean(np.sum((G_N @ alphas[N] - Y) ** 2, axis=1)))
        for N in over:
            coef[N] = np.empty((N, n_classes))
        for start in range(0, over[-1], COLUMN_BLOCK):
            block = raw(X, start, min(over[-1], start + COLUMN_BLOCK))
            for N in over:
                if N > start:
                    stop = min(N, start + COLUMN_BLOCK)
                    coef[N][start:stop] = block[:, : stop - start].T @ alphas[N] * np.sqrt(2.0 / N)
    # Test predictions, streaming test rows: f_N(x) = sqrt(2/N) F_test[:, :N] @ A_N. Test features
    # are float32 (half the time): their rounding moves a score by about 1e-7 ||A_N||, far below
    # the losses compared here even at the peak.
    X_test32 = X_test.astype(np.float32)
    N_max = int(counts[-1])
    rows = max(1, TEST_BLOCK_ENTRIES // N_max)
    sq, zo = np.zeros(counts.size), np.zeros(counts.size)
    coef32 = {N: (coef[N] * np.sqrt(2.0 / N)).astype(np.float32) for N in coef}
    for start in range(0, X_test.shape[0], rows):
        block = raw(X_test32[start : start + rows], 0, N_max, single=True)
        labels = y_test[start : start + rows]
        for i, N in enumerate(counts):
            scores = block[:, :N] @ coef32[int(N)]
            s, z = _losses(scores.astype(np.float64), labels)
            sq[i] += s * len(labels)
            zo[i] += z * len(labels)
    m = X_test.shape[0]
    return Sweep(
        n_features=counts,
        test_squared=sq / m,
        test_zero_one=zo / m,
        train_squared=np.array([train[int(N)] for N in counts]),
        norm=np.array([np.linalg.norm(coef[int(N)]) for N in counts]),
    )


@dataclass(frozen=True)
class KernelLimit:
    """The kernel interpolant ``f = K(., X) K^{-1} Y``: the ``N -> infinity`` limit of a sweep."""

    test_squared: float
    test_zero_one: float
    train_squared: float
    norm: float


def kernel_limit(X, y, X_test, y_test, kind="fourier", bandwidth=5.0, n_classes=10):
    """Interpolate one-hot targets with the kernel that ``kind`` features approximate.

    Fourier features: the Gaussian kernel of ``bandwidth``; ReLU features: ``bandwidth^2``
    times the degree-1 arc-cosine kernel. Solves ``K alpha = Y`` in float64 (Cholesky) and
    returns the test and training losses and the RKHS norm ``sqrt(tr(alpha^T K alpha))``.

    Parameters
    ----------
    X, y, X_test, y_test, kind, bandwidth, n_classes
        As in :func:`sweep`.

    Returns
    -------
    KernelLimit
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(_blas_threads(X)):  # see :func:`sweep`
        return _kernel_limit(X, y, X_test, y_test, kind, bandwidth, n_classes)


def _kernel_limit(X, y, X_test, y_test, kind, bandwidth, n_classes):
    from scipy.linalg import cho_factor, cho_solve

    from generalization.kernels import gaussian_kernel

    n_classes = checks.count("n_classes", n_classes, minimum=2)
    X, y, X_test, y_test = _check_problem(X, y, X_test, y_test, n_classes)
    checks.choice("kind", kind, KINDS)
    RandomFeatureMap(kind, X.shape[1], 1, bandwidth, 0)  # validates bandwidth
    if kind == "fourier":
        kernel = lambda A, B: gaussian_kernel(A, B, float(bandwidth), dtype=np.float64)  # noqa: E731
    else:
        kernel = lambda A, B: float(bandwidth) ** 2 * arccos_kernel(A, B)  # noqa: E731
    Y = np.eye(n_classes)[y]
    K = kernel(X, X)
    alpha = cho_solve(cho_factor(K), Y)
    fitted = K @ alpha
    scores = np.vstack(
        [kernel(X_test[i : i + 2048], X) @ alpha for i in range(0, X_test.shape[0], 2048)]
    )
    sq, zo = _losses(scores, y_test)
    train = float(np.mean(np.sum((fitted - Y) ** 2, axis=1)))
    # ||f||_H^2 = tr(alpha^T K alpha)
    return KernelLimit(
        test_squared=sq,
        test_zero_one=zo,
        train_squared=train,
        norm=float(np.sqrt(np.sum(alpha * fitted))),
    )


def _data(mnist, n_train, n_test, data_seed):
    """Training images drawn with ``data_seed``; test images: all, or a subset drawn with it."""
    from generalization.data import subsample

    X, y = subsample(mnist.X_train, mnist.y_train, n_train, seed=data_seed)
    if n_test == mnist.X_test.shape[0]:
        return X, y, mnist.X_test, mnist.y_test
    return (X, y) + subsample(mnist.X_test, mnist.y_test, n_test, seed=data_seed)


@dataclass(frozen=True)
class DoubleDescent:
    """One sweep per feature seed (rows) over the numbers of features (columns); the kernel limit.

    The training subset (``data_seed``) is the same for every seed: only the feature draw varies.
    """

    kind: str
    n_train: int
    n_test: int
    bandwidth: float
    seeds: tuple
    n_features: np.ndarray
    test_squared: np.ndarray
    test_zero_one: np.ndarray
    train_squared: np.ndarray
    norm: np.ndarray
    kernel: KernelLimit
    run_time_s: float
    kernel_time_s: float

    @property
    def ratio(self):
        """``N / n`` for each column."""
        return self.n_features / self.n_train

    def at(self, ratio):
        """The column index of ``N / n == ratio`` (exactly, after rounding ``N``)."""
        hits = np.flatnonzero(self.n_features == int(round(ratio * self.n_train)))
        if hits.size == 0:
            raise ValueError(
                f"ratio {ratio!r} is not on the grid; N / n takes the values {self.ratio.tolist()}."
            )
        return int(hits[0])


@cached
def double_descent(n_train, n_test, ratios, seeds, kind="fourier", bandwidth=5.0, data_seed=0):
    """The chapter's experiment: min-norm random-feature regression on MNIST against ``N / n``.

    Draws ``n_train`` training images and ``n_test`` test images (all 10,000 when
    ``n_test = 10000``) with ``data_seed``; for each seed runs :func:`sweep` over
    :func:`feature_counts`; computes the
    :func:`kernel_limit` on the same data. Cached on disk.
    """
    from generalization.data import load_mnist

    mnist = load_mnist()
    n_train = checks.count("n_train", n_train, minimum=2)
    n_test = checks.count("n_test", n_test, maximum=mnist.X_test.shape[0])
    counts = feature_counts(n_train, ratios)
    seeds = checks.integers("seeds", seeds)
    X, y, X_test, y_test = _data(mnist, n_train, n_test, data_seed)
    start = time.perf_counter()
    runs = [sweep(X, y, X_test, y_test, counts, kind, bandwidth, s) for s in seeds]
    run_time = time.perf_counter() - start
    start = time.perf_counter()
    limit = kernel_limit(X, y, X_test, y_test, kind, bandwidth)
    stack = lambda name: np.array([getattr(r, name) for r in runs])  # noqa: E731
    return DoubleDescent(
        kind=kind,
        n_train=n_train,
        n_test=n_test,
        bandwidth=float(bandwidth),
        seeds=seeds,
        n_features=counts,
        test_squared=stack("test_squared"),
        test_zero_one=stack("test_zero_one"),
        train_squared=stack("train_squared"),
        norm=stack("norm"),
        kernel=limit,
        run_time_s=run_time,
        kernel_time_s=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class RidgeAtThreshold:
    """Ridge fits on ``N = n`` random features; ``alphas[0] = 0`` is the min-norm interpolant."""

    alphas: np.ndarray
    test_squared: np.ndarray
    test_zero_one: np.ndarray
    train_squared: np.ndarray
    norm: np.ndarray
    run_time_s: float


@cached
def ridge_at_threshold(n_train, n_test, alphas, seed=0, bandwidth=5.0, data_seed=0):
    """Ridge regression on exactly ``N = n_train`` Fourier features, where min-norm fits peak.

    ``A_alpha = argmin 1/n ||Phi A - Y||_F^2 + alpha ||A||_F^2 = V diag(s / (s^2 + n alpha)) U^T Y``
    from one SVD of ``Phi`` (the convention of :func:`generalization.linear.ridge_solution`);
    ``alpha = 0`` is prepended and gives the min-norm interpolant. Same data as
    :func:`double_descent`. Cached on disk.
    """
    from generalization.data import load_mnist

    mnist = load_mnist()
    n_train = checks.count("n_train", n_train, minimum=2)
    n_test = checks.count("n_test", n_test, maximum=mnist.X_test.shape[0])
    alphas = checks.numbers("alphas", alphas, low=0, low_open=True)
    start = time.perf_counter()
    X, y, X_test, y_test = _data(mnist, n_train, n_test, data_seed)
    fmap = RandomFeatureMap("fourier", X.shape[1], n_train, bandwidth, seed)
    Phi, Phi_test = fmap.transform(X), fmap.transform(X_test)
    Y = np.eye(10)[y]
    from threadpoolctl import threadpool_limits

    with threadpool_limits(_blas_threads(Phi)):  # see :func:`sweep`
        fits = SpectralRidge(Phi)
    alphas = np.concatenate([[0.0], alphas])
    out = np.zeros((4, alphas.size))
    for i, alpha in enumerate(alphas):
        A = fits.solution(Y, alpha)
        out[:2, i] = _losses(Phi_test @ A, y_test)
        out[2, i] = np.mean(np.sum((Phi @ A - Y) ** 2, axis=1))
        out[3, i] = np.linalg.norm(A)
    return RidgeAtThreshold(
        alphas=alphas,
        test_squared=out[0],
        test_zero_one=out[1],
        train_squared=out[2],
        norm=out[3],
        run_time_s=time.perf_counter() - start,
    )

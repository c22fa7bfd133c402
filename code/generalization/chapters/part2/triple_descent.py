"""Experiments of the chapter *Triple descent and the two kinds of overfitting*.

d'Ascoli, Sagun and Biroli (2020) fit noisy regression tasks with a random-feature model
and plot the test error in the plane of the number of training examples against the number
of parameters. Two ridges appear: a *nonlinear* peak where the number of examples equals
the number of random features, and a *linear* peak where it equals the input dimension.
Sweeping the number of examples at a fixed width therefore crosses two peaks: a triple
descent.

The model here (notation of the book, not of the paper: the paper calls the number of
examples N and the number of features P)::

    inputs     x ~ N(0, I_D)
    teacher    f*(x) = g_s(beta . x / sqrt(D)),  ||beta|| = sqrt(D)
               g_s(u) = sqrt(1 - s) u + sqrt(s) h(u)          (s: nonlinearity of the target)
    labels     y = f*(x) + eps,  eps ~ N(0, noise_var)
    features   phi_j(x) = sigma_r(theta_j . x / sqrt(D)),  ||theta_j|| = sqrt(D), j < N
               sigma_r(z) = sqrt(r) z + sqrt(1 - r) h(z)     (r: linearity of the activation)
    h(z)       = (|z| - sqrt(2/pi)) / sqrt(1 - 2/pi)      (even; mean 0, variance 1 under N(0, 1))
    design     A = Phi / sqrt(N),  shape (n, N);  predictor f(x) = A(x) w
    ridge      w_lam = argmin ||A w - y||^2 + lam ||w||^2 = A^T (A A^T + lam I)^{-1} y
               (lam = 0: the minimum-norm least-squares solution)
    test error E_x[(f(x) - f*(x))^2]  (excess error: the label noise of a test point is not
               included), estimated on n_test fresh points

Because ``theta_j . x / sqrt(D)`` is exactly N(0, 1), ``r`` is the *degree of linearity*
``mu_1^2 / (mu_1^2 + mu_*^2)`` of the activation in the Gaussian-equivalence picture
(:func:`linearity`): r = 1 is a linear model, r = 0 an even activation with no linear part.
With this scaling ``A A^T`` is a kernel matrix with diagonal about 1, and ``lam`` is in the
same units as ``mu_*^2 = 1 - r``, the implicit ridge that the nonlinear part of the features
adds to their linear part.

Draws are nested: for one seed the first n rows and the first N features of the largest
problem are the problem of size (n, N), so sweeps change one size over one fixed draw.

References
----------
d'Ascoli, Sagun, Biroli (2020), *Triple descent and the two kinds of overfitting: where and
why do they appear?*, NeurIPS, https://arxiv.org/abs/2006.03509.
Mei, Montanari (2022), *The generalization error of random features regression: precise
asymptotics and the double descent curve*, Communications on Pure and Applied Mathematics.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, settings_for
from generalization.book.cache import cached
from generalization.linear import SpectralRidge

ABS_MEAN = np.sqrt(2.0 / np.pi)
ABS_STD = np.sqrt(1.0 - 2.0 / np.pi)

# fmt: off
N_OVER_D = (
    0.25, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.35, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0,
    6.0, 7.0, 7.5, 7.8, 7.9, 8.0, 8.1, 8.2, 8.5, 9.0, 10.0, 12.0, 16.0,
)
# fmt: on
"""The grid of ``n / D`` of the sample-wise sweeps: dense around ``n = D`` and ``n = N = 8 D``."""

SETTINGS = {
    "quick": dict(
        D=40,
        N=320,
        n_over_D=N_OVER_D,
        r=0.93,
        noise_var=2.0,
        lambdas=(0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0),
        seeds=tuple(range(6)),
        n_test=1000,
        activations=(1.0, 0.73, 0.0),
        teacher_s=(0.0, 0.5),
        grid_N_over_D=tuple(2.0 ** np.arange(-1.0, 3.01, 0.5)),
        grid_n_over_D=tuple(2.0 ** np.arange(-1.0, 3.51, 0.25)),
        grid_seeds=(0, 1, 2),
    ),
    "full": dict(
        D=100,
        N=800,
        n_over_D=N_OVER_D,
        r=0.93,
        noise_var=2.0,
        lambdas=(0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0),
        seeds=tuple(range(20)),
        n_test=5000,
        activations=(1.0, 0.73, 0.0),
        teacher_s=(0.0, 0.5),
        grid_N_over_D=tuple(2.0 ** np.arange(-1.0, 3.01, 0.25)),
        grid_n_over_D=tuple(2.0 ** np.arange(-1.0, 3.51, 0.125)),
        grid_seeds=tuple(range(5)),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

``D`` input dimension; ``N = 8 D`` random features in the sample-wise sweeps, whose grid of
``n / D`` is :data:`N_OVER_D`; ``r`` the degree of linearity of the main activation (that of
tanh, 0.93), ``activations`` the others compared (linear, that of ReLU, purely even);
``teacher_s`` the nonlinearities of the noiseless targets; ``grid_*`` the axes of the phase
diagram in units of ``D``.
"""


def sizes(D, ratios):
    """``round(ratio * D)`` for each ratio, as a tuple of ints (the sizes of a sweep)."""
    D = checks.count("D", D)
    out = tuple(int(round(float(x) * D)) for x in ratios)
    if not out or min(out) < 1:
        raise ValueError(f"every ratio * D must round to a positive integer; got {out!r}.")
    return out


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


# --- activation and teacher -------------------------------------------------------------


def even_part(z):
    """``h(z) = (|z| - sqrt(2/pi)) / sqrt(1 - 2/pi)``: even, mean 0 and variance 1 under N(0, 1).

    Its Hermite expansion has no linear term (it is even), so it is uncorrelated with ``z``.
    """
    z = np.asarray(z, dtype=float)
    return (np.abs(z) - ABS_MEAN) / ABS_STD


def activation(z, r):
    """The activation ``sigma_r(z) = sqrt(r) z + sqrt(1 - r) h(z)`` with ``h`` = :func:`even_part`.

    ``r`` in [0, 1] is its degree of linearity: ``r = 1`` is the identity, ``r = 0`` a
    purely even function. Under ``z ~ N(0, 1)``, ``E sigma_r = 0``, ``E sigma_r^2 = 1`` and
    ``E[z sigma_r(z)] = sqrt(r)``.
    """
    r = checks.fraction("r", r)
    z = np.asarray(z, dtype=float)
    return np.sqrt(r) * z + np.sqrt(1.0 - r) * even_part(z)


def teacher(u, s):
    """The target nonlinearity ``g_s(u) = sqrt(1 - s) u + sqrt(s) h(u)``; ``s`` in [0, 1].

    The same family as :func:`activation` with ``r = 1 - s``: ``s = 0`` is a linear target,
    ``s = 1`` a purely even one. ``E g_s(u)^2 = 1`` for ``u ~ N(0, 1)``, whatever ``s``.
    """
    s = checks.fraction("s", s)
    return activation(u, 1.0 - s)


def hermite_coefficients(func, num_points=200_001):
    """``(mu_0, mu_1, mu_star)`` of ``func`` under a standard Gaussian, by quadrature.

    ``mu_0 = E f(z)``, ``mu_1 = E[z f(z)]``, ``mu_star^2 = E f(z)^2 - mu_0^2 - mu_1^2``: the
    constant, linear and nonlinear parts of an activation in the Gaussian-equivalence picture
    of random features (Mei and Montanari 2022). The expectations are trapezoid sums over
    ``num_points`` points of [-12, 12]; for functions with kinks (ReLU, ``|z|``) they are
    accurate to about 1e-8 at the default.
    """
    if not callable(func):
        raise ValueError(f"func must be a callable of one array argument; got {func!r}.")
    num_points = checks.count("num_points", num_points)
    if num_points < 101:
        raise ValueError(f"num_points must be at least 101; got {num_points}.")
    z = np.linspace(-12.0, 12.0, num_points)
    weights = np.exp(-z * z / 2)
    weights[[0, -1]] /= 2
    weights /= weights.sum()
    values = np.asarray(func(z), dtype=float)
    if values.shape != z.shape or not np.all(np.isfinite(values)):
        raise ValueError(
            f"func must map an array of shape {z.shape} to finite values of the same shape."
        )
    mu0, mu1, second = weights @ values, weights @ (z * values), weights @ values**2
    return float(mu0), float(mu1), float(np.sqrt(max(second - mu0**2 - mu1**2, 0.0)))


def linearity(func, num_points=200_001):
    """Degree of linearity ``r = mu_1^2 / (mu_1^2 + mu_star^2)`` of an activation.

    The coefficients are those of :func:`hermite_coefficients`.
    """
    mu0, mu1, mu_star = hermite_coefficients(func, num_points)
    if mu1**2 + mu_star**2 <= 1e-12 * mu0**2:  # zero up to the rounding of the quadrature
        raise ValueError(
            "func is constant under a standard Gaussian; its degree of linearity is undefined."
        )
    return mu1**2 / (mu1**2 + mu_star**2)


# --- one draw and one fit ---------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One seeded draw: features of ``n_max`` training and ``n_test`` test points, targets.

    ``features`` (n_max, N_max) and ``test_features`` (n_test, N_max) hold ``sigma_r``
    of the pre-activations (not yet divided by sqrt(N)); ``y`` are noisy training labels,
    ``f_test`` the noiseless teacher on the test points.
    """

    features: np.ndarray
    y: np.ndarray
    test_features: np.ndarray
    f_test: np.ndarray


def draw_problem(D, n_max, N_max, r, s, noise_var, seed, n_test=2000):
    """Draw inputs, teacher, labels and random features for one seed (nested in ``n`` and ``N``).

    Independent streams of ``seed`` give the training inputs, test inputs, teacher
    direction, feature directions and label noise, each filled one row at a time, so the
    first ``n`` rows and ``N`` features are the same whatever ``n_max >= n`` and
    ``N_max >= N`` are.
    """
    D, n_max, N_max, n_test = (
        checks.count(k, v)
        for k, v in (("D", D), ("n_max", n_max), ("N_max", N_max), ("n_test", n_test))
    )
    r, s = checks.fraction("r", r), checks.fraction("s", s)
    noise_var = checks.nonnegative("noise_var", noise_var)
    seed = checks.count("seed", seed, minimum=0)
    streams = [np.random.default_rng(c) for c in np.random.SeedSequence(seed).spawn(5)]
    X = streams[0].standard_normal((n_max, D))
    X_test = streams[1].standard_normal((n_test, D))
    beta = streams[2].standard_normal(D)
    beta *= np.sqrt(D) / np.linalg.norm(beta)
    theta = streams[3].standard_normal((N_max, D))
    theta *= np.sqrt(D) / np.linalg.norm(theta, axis=1, keepdims=True)
    eps = np.sqrt(noise_var) * streams[4].standard_normal(n_max)
    scale = 1.0 / np.sqrt(D)
    return Problem(
        features=activation((X @ theta.T) * scale, r),
        y=teacher((X @ beta) * scale, s) + eps,
        test_features=activation((X_test @ theta.T) * scale, r),
        f_test=teacher((X_test @ beta) * scale, s),
    )


def ridge_fits(A, y, A_test, f_test, lambdas):
    """Test error, training error and squared norm of ridge fits for several ``lambdas`` at once.

    One thin SVD ``A = U diag(s) V^T`` serves every penalty:
    ``w_lam = V diag(s / (s^2 + lam)) U^T y``; ``lam = 0`` keeps only singular values above
    ``max(n, N) * eps * s_max`` (the minimum-norm least-squares solution).

    Parameters
    ----------
    A : (n, N) design;  y : (n,) labels
    A_test : (m, N) test design;  f_test : (m,) noiseless test targets
    lambdas : sequence of non-negative floats

    Returns
    -------
    test_error, train_error, norm2 : ndarrays of shape (len(lambdas),)
        ``mean((A_test w - f_test)^2)``, ``mean((A w - y)^2)`` and ``||w||^2``.
    """
    A, A_test = checks.array("A", A, ndim=2), checks.array("A_test", A_test, ndim=2)
    y, f_test = checks.array("y", y), checks.array("f_test", f_test)
    if y.shape != (A.shape[0],):
        raise ValueError(f"y must have shape (n,) = ({A.shape[0]},); got shape {y.shape}.")
    if A_test.ndim != 2 or A_test.shape[1] != A.shape[1]:
        raise ValueError(
            f"A_test must have shape (m, N) with N = {A.shape[1]}; got shape {A_test.shape}."
        )
    if f_test.shape != (A_test.shape[0],):
        raise ValueError(
            f"f_test must have shape (m,) = ({A_test.shape[0]},); got shape {f_test.shape}."
        )
    lambdas = checks.numbers("lambdas", lambdas, low=0)
    fits = SpectralRidge(A)
    sv, coef = fits.s, fits.project(y)
    proj_test = A_test @ fits.Vt.T  # test design in the right singular basis
    test_error, train_error, norm2 = (np.empty(len(lambdas)) for _ in range(3))
    for k, lam in enumerate(lambdas):
        c = fits.gains(lam / fits.n) * coef  # w = V c; SpectralRidge's alpha is lam / n
        test_error[k] = np.mean((proj_test @ c - f_test) ** 2)
        # residual: the part of y outside the column space, plus the shrunk part inside it
        train_error[k] = (np.sum((coef - sv * c) ** 2) + max(y @ y - coef @ coef, 0.0)) / len(y)
        norm2[k] = c @ c
    return test_error, train_error, norm2


# --- sweeps ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleWiseCurve:
    """Test error against the number of examples ``n`` at a fixed number of features ``N``.

    ``test_error``, ``train_error`` and ``norm2`` have shape (num_lambdas, num_n, num_seeds).
    ``log_mean`` is the geometric mean of the test error over seeds (shape (num_lambdas, num_n)),
    ``log_std`` the standard deviation of its log10.
    """

    D: int
    N: int
    n: np.ndarray
    r: float
    s: float
    noise_var: float
    lambdas: np.ndarray
    seeds: tuple
    test_error: np.ndarray
    train_error: np.ndarray
    norm2: np.ndarray
    log_mean: np.ndarray
    log_std: np.ndarray
    run_time_s: float


@cached
def sample_wise(
    D, N, n_values, r, s=0.0, noise_var=0.5, lambdas=(0.0,), seeds=(0, 1, 2), n_test=2000
):
    """Sweep the number of training examples at fixed width ``N``, for each ridge penalty.

    For every seed one problem of the largest size is drawn (:func:`draw_problem`) and its
    first ``n`` rows fitted with :func:`ridge_fits` for each ``n`` in ``n_values``. Cached on
    disk: the chapter and its claims tests share one computation.
    """
    start = time.perf_counter()
    D, N = checks.count("D", D), checks.count("N", N)
    n_values = np.array(checks.integers("n_values", n_values, minimum=1))
    lambdas = checks.numbers("lambdas", lambdas, low=0)
    seeds = checks.integers("seeds", seeds)
    shape = (len(lambdas), len(n_values), len(seeds))
    test, train, norm2 = np.empty(shape), np.empty(shape), np.empty(shape)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # small SVDs: one BLAS thread is faster and kind to a shared machine
        for j, seed in enumerate(seeds):
            prob = draw_problem(D, int(n_values.max()), N, r, s, noise_var, seed, n_test)
            A_all, A_test = prob.features / np.sqrt(N), prob.test_features / np.sqrt(N)
            for i, n in enumerate(n_values):
                test[:, i, j], train[:, i, j], norm2[:, i, j] = ridge_fits(
                    A_all[:n], prob.y[:n], A_test, prob.f_test, lambdas
                )
    logs = np.log10(test)
    return SampleWiseCurve(
        D=D,
        N=N,
        n=n_values,
        r=float(r),
        s=float(s),
        noise_var=float(noise_var),
        lambdas=lambdas,
        seeds=seeds,
        test_error=test,
        train_error=train,
        norm2=norm2,
        log_mean=10 ** logs.mean(-1),
        log_std=logs.std(-1),
        run_time_s=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class PhaseDiagram:
    """Test error on a grid of (number of features ``N``, number of examples ``n``).

    ``test_error`` has shape (num_n, num_N, num_seeds); ``log_mean`` (num_n, num_N) is its
    geometric mean over seeds.
    """

    D: int
    N: np.ndarray
    n: np.ndarray
    r: float
    s: float
    noise_var: float
    lam: float
    seeds: tuple
    test_error: np.ndarray
    log_mean: np.ndarray
    run_time_s: float


@cached
def phase_diagram(
    D, N_values, n_values, r, s=0.0, noise_var=0.5, lam=0.0, seeds=(0, 1, 2), n_test=2000
):
    """Test error of the ridge (``lam``) or min-norm (``lam = 0``) fit over a grid of ``(N, n)``.

    One problem of the largest size per seed; every grid point uses its first ``n`` rows and
    first ``N`` features, rescaled by ``1 / sqrt(N)``. Cached on disk.
    """
    start = time.perf_counter()
    D = checks.count("D", D)
    N_values = np.array(checks.integers("N_values", N_values, minimum=1))
    n_values = np.array(checks.integers("n_values", n_values, minimum=1))
    seeds = checks.integers("seeds", seeds)
    lam = checks.nonnegative("lam", lam)
    test = np.empty((len(n_values), len(N_values), len(seeds)))
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        for k, seed in enumerate(seeds):
            prob = draw_problem(
                D, int(n_values.max()), int(N_values.max()), r, s, noise_var, seed, n_test
            )
            for j, N in enumerate(N_values):
                A_all, A_test = (
                    prob.features[:, :N] / np.sqrt(N),
                    prob.test_features[:, :N] / np.sqrt(N),
                )
                for i, n in enumerate(n_values):
                    test[i, j, k] = ridge_fits(A_all[:n], prob.y[:n], A_test, prob.f_test, (lam,))[
                        0
                    ][0]
    return PhaseDiagram(
        D=D,
        N=N_values,
        n=n_values,
        r=float(r),
        s=float(s),
        noise_var=float(noise_var),
        lam=lam,
        seeds=seeds,
        test_error=test,
        log_mean=10 ** np.log10(test).mean(-1),
        run_time_s=time.perf_counter() - start,
    )


# --- reading the curves ------------------------------------------------------------------


def peaks(n, error, split):
    """Locations and heights of the largest error below and above ``split``.

    Parameters
    ----------
    n : (k,) increasing sizes;  error : (k,) errors at those sizes
    split : float, a size strictly between ``n[0]`` and ``n[-1]`` separating the two peaks
        (e.g. the geometric mean of ``D`` and ``N``).

    Returns
    -------
    (n_low, error_low, n_high, error_high)
    """
    n, error = np.asarray(n, dtype=float), np.asarray(error, dtype=float)
    if n.ndim != 1 or n.shape != error.shape or n.size < 2:
        raise ValueError(
            f"n and error must be 1-D arrays of one shape, at least 2 long; got {n.shape} and "
            f"{error.shape}."
        )
    if np.any(np.diff(n) <= 0):
        raise ValueError("n must be strictly increasing.")
    split = float(split)
    if not n[0] < split < n[-1]:
        raise ValueError(
            f"split must lie strictly between n[0] = {n[0]:g} and n[-1] = {n[-1]:g}; got {split:g}."
        )
    low, high = n < split, n >= split
    i, j = np.argmax(np.where(low, error, -np.inf)), np.argmax(np.where(high, error, -np.inf))
    return float(n[i]), float(error[i]), float(n[j]), float(error[j])


def bump(n, error, low, high):
    """Where the error peaks inside ``[low, high]`` and how far it rises above the window's ends.

    Returns ``(n_max, prominence)``: ``n_max`` is the size of the largest error among the
    sizes in the window and ``prominence`` that error divided by the larger of the errors at
    the window's two end points. A prominence of 1 means the largest error sits on an end
    point: there is no peak inside the window, the error only rises or only falls across it.
    The chapter calls a peak present when its prominence exceeds 1.05.

    Parameters
    ----------
    n : (k,) strictly increasing sizes;  error : (k,) errors at those sizes
    low, high : sizes in ``n``, ``low < high``, with at least one size between them
    """
    n, error = np.asarray(n, dtype=float), np.asarray(error, dtype=float)
    if n.ndim != 1 or n.shape != error.shape:
        raise ValueError(
            f"n and error must be 1-D arrays of one shape; got {n.shape} and {error.shape}."
        )
    if np.any(np.diff(n) <= 0):
        raise ValueError("n must be strictly increasing.")
    if low not in n or high not in n or not low < high:
        raise ValueError(
            f"low and high must be sizes in n with low < high; got low = {low!r}, high = {high!r}."
        )
    window = (n >= low) & (n <= high)
    if window.sum() < 3:
        raise ValueError(
            f"the window [{low}, {high}] must hold a size strictly inside it; it holds "
            f"{window.sum()} sizes."
        )
    i = np.flatnonzero(window)[np.argmax(error[window])]
    ends = max(error[n == low][0], error[n == high][0])
    return float(n[i]), float(error[i] / ends)


def peak_report(n, error, D, N):
    """The two peaks of a sample-wise curve: ``(n_lin, prominence_lin, n_nl, prominence_nl)``.

    Applies :func:`bump` to the window ``[D/2, 2D]`` around the linear threshold and to
    ``[N/2, 2N]`` around the nonlinear one (``D/2``, ``2D``, ``N/2`` and ``2N`` rounded, and all
    four must be sizes of ``n``; the windows should not overlap, so ``N >= 4 D``).
    """
    D, N = checks.count("D", D), checks.count("N", N)
    if N < 4 * D:
        raise ValueError(
            f"N must be at least 4 D = {4 * D} so that the two windows do not overlap; got N = {N}."
        )
    n_lin, prom_lin = bump(n, error, int(round(D / 2)), 2 * D)
    n_nl, prom_nl = bump(n, error, int(round(N / 2)), 2 * N)
    return n_lin, prom_lin, n_nl, prom_nl

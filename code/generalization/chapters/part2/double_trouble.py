"""Experiments of the chapter *Double trouble in double descent* (d'Ascoli et al. 2020).

The model is the lazy regime of a two-layer network: the first layer ``Theta`` is drawn at
random and frozen, only the read-out ``a`` is trained::

    f(x) = a^T phi(x),   phi(x) = sqrt(2 / N) relu(Theta^T x),   Theta_jk ~ N(0, 1 / D)

(:class:`generalization.features.RandomFeatureMap` of kind ``"relu"``, nested in ``N``). The
read-out is fitted by ridge regression, ``argmin 1/n ||Phi a - y||^2 + alpha ||a||^2``, or
by its ``alpha -> 0+`` limit, the min-norm least-squares solution. Data: inputs
``x ~ N(0, I_D)``, a linear teacher ``f*(x) = beta^T x / sqrt(D)`` with ``beta ~ N(0, I_D)``
drawn once, and labels ``y = f*(x) + eps``, ``eps ~ N(0, noise_var)``.

Three independent sources of randomness, as in the paper: the training inputs (seed
``sampling``), the random features (seed ``init``) and the label noise. The predictor is
linear in the labels, ``f(x_test) = L y`` with ``L = Phi_test V diag(s / (s^2 + n alpha)) U^T``
(``Phi = U diag(s) V^T``), so the noise is integrated exactly by
:func:`generalization.variance.decompose_linear`; samplings and initializations are crossed
(every feature draw is used with every training set).

:func:`sweep` runs the whole ``N / n`` sweep once (cached): the decomposition of the
min-norm predictor, the error of ensembles of ``K`` feature draws, and ridge over a grid of
``alpha`` with the decomposition at the best one. :func:`infinite_ensemble` extrapolates the
ensembles to ``K -> infinity`` with a standard error across training sets, and
:func:`least_squares_noise_variance` is the classical noise variance of least squares, which
the chapter compares with the measured noise variance below the threshold.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, settings_for
from generalization.book.cache import cached
from generalization.features import RandomFeatureMap
from generalization.linear import SpectralRidge, ridge_gains
from generalization.variance import (
    PARTS,
    decompose_moments,
    ensemble_error_linear,
    ensemble_limit,
)

COMPONENTS = PARTS + ("var_init_main", "var_interaction")
"""Arrays of :class:`Sweep` for the min-norm and the tuned-ridge decompositions."""

RATIOS = (0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0)
"""The grid of ``N / n`` (features per training point), on both sides of 1 and including it."""

SETTINGS = {
    "quick": dict(
        n=200,
        d=100,
        n_test=400,
        noise_var=0.25,
        samplings=tuple(range(8)),
        inits=tuple(range(10)),
        ratios=RATIOS,
        ridgeless_alpha=1e-6,
        alphas=(1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1),
        ks=(1, 2, 5, 10),
    ),
    "full": dict(
        n=400,
        d=200,
        n_test=1000,
        noise_var=0.25,
        samplings=tuple(range(20)),
        inits=tuple(range(20)),
        ratios=RATIOS,
        ridgeless_alpha=1e-6,
        alphas=(1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1),
        ks=(1, 2, 5, 10, 20),
    ),
}
"""Sizes of the chapter's :func:`sweep` at each scale (the claims tests use the same)."""


NOISELESS = dict(
    noise_var=0.0,
    samplings=(0, 1, 2, 3),
    inits=tuple(range(8)),
    ratios=(0.5, 0.9, 1.0, 1.1, 2.0),
    alphas=(1e-3,),
    ks=(1, 8),
)
"""Overrides of the chapter's exercise: the same sweep, smaller, with noiseless labels."""


def settings(scale=None):
    """The experiment settings of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def teacher(d, seed=0):
    """The teacher's weights ``beta ~ N(0, I_d)``: ``f*(x) = beta^T x / sqrt(d)``."""
    d = checks.count("d", d)
    return np.random.default_rng([seed, d, 7]).standard_normal(d)


def draw_inputs(n, d, seed):
    """Inputs ``x ~ N(0, I_d)``, shape (n, d), from the stream ``[seed, n, d]``."""
    return np.random.default_rng(
        [checks.count("seed", seed, 0), checks.count("n", n), checks.count("d", d)]
    ).standard_normal((n, d))


def feature_map(d, n_features, seed):
    """The ReLU random-feature map with weights ``N(0, 1/d)`` (nested in ``n_features``)."""
    return RandomFeatureMap("relu", d, n_features, 1.0 / np.sqrt(d), seed)


def spectral_parts(X, X_test, n_features, init):
    """Thin-SVD pieces ``(U, s, Phi_test V)`` of one fit, ``Phi = U diag(s) V^T``.

    ``Phi`` (n, N) and ``Phi_test`` (n_test, N) are the features of ``X`` and ``X_test`` under
    :func:`feature_map` with seed ``init``. The decomposition is
    :class:`generalization.linear.SpectralRidge`'s ``method="gram"`` (the eigendecomposition of
    the smaller Gram matrix), several times faster than ``numpy.linalg.svd`` for these shapes.
    Squaring loses precision only in directions with ``s^2`` below about ``eps s_max^2``,
    which the ridge ``n alpha`` of every fit here dominates; a unit test checks the smoothers
    against an SVD.
    """
    X, X_test = checks.array("X", X, ndim=2), checks.array("X_test", X_test, ndim=2)
    if X.shape[1] != X_test.shape[1]:
        raise ValueError(
            f"X_test must have the {X.shape[1]} columns of X; got shape {X_test.shape}."
        )
    fmap = feature_map(X.shape[1], n_features, init)
    both = fmap.transform(np.vstack([X, X_test]))  # one draw of the weights for both
    Phi, Phi_test = both[: X.shape[0]], both[X.shape[0] :]
    fit = SpectralRidge(Phi, method="gram")
    return fit.U, fit.s, Phi_test @ fit.Vt.T


def smoother(parts, n, alpha):
    """The ridge smoother ``L = Phi_test V diag(s / (s^2 + n alpha)) U^T``, shape (n_test, n).

    Predictions on the test points are ``L y``. ``alpha = 0`` gives the min-norm
    least-squares read-out (``diag(1 / s)``).
    """
    u, s, b = parts
    return (b * ridge_gains(s, n, alpha)) @ u.T


def moments(parts, y, noise_var, alpha):
    """``(E_eps f, Var_eps f)`` on the test points for one fit, without forming the smoother.

    ``E_eps f = L y`` and, since ``U`` has orthonormal columns,
    ``Var_eps f = noise_var ||L_t||^2 = noise_var sum_j (b_tj shrink_j)^2``.
    """
    u, s, b = parts
    c = b * ridge_gains(s, u.shape[0], alpha)
    return c @ (u.T @ y), noise_var * np.einsum("tj,tj->t", c, c)


def train_mse(parts, y, noise_var, alpha):
    """Training error of the ridge fit, averaged exactly over the label noise.

    With ``H = U diag(s^2 / (s^2 + n alpha)) U^T`` the fitted training values are ``H y``;
    ``E_eps ||(I - H)(y + eps)||^2 / n = (||(I - H) y||^2 + noise_var tr((I - H)^2)) / n``.
    """
    u, s, _ = parts
    n = u.shape[0]
    keep = s * s / (s * s + n * alpha)  # H's eigenvalues on the column space of U
    coef = u.T @ y
    resid2 = (
        y @ y - coef @ coef + np.sum(((1 - keep) * coef) ** 2)
    )  # outside + inside the column space
    trace = (n - len(s)) + np.sum((1 - keep) ** 2)
    return float((resid2 + noise_var * trace) / n)


def least_squares_noise_variance(n, n_features, noise_var):
    """Noise variance of least squares with ``N < n - 1`` regressors: ``noise_var N / (n - N - 1)``.

    For the least-squares fit ``f(x) = phi(x)^T (Phi^T Phi)^{-1} Phi^T y`` on ``n`` rows,
    ``E Var_eps f(x) = noise_var tr(E[(Phi^T Phi)^{-1}] Sigma)`` with ``Sigma = E phi phi^T``. For
    Gaussian rows ``Phi^T Phi`` is Wishart and ``E (Phi^T Phi)^{-1} = Sigma^{-1} / (n - N - 1)``,
    which gives the formula exactly. Random features given ``Theta`` are independent rows but not
    Gaussian; for them it holds to leading order in ``N`` and ``n``, the whitened sample
    covariance still following the Marchenko-Pastur law.

    Parameters
    ----------
    n : int
        Training points.
    n_features : int or array of int
        Regressors ``N``, each below ``n - 1``.
    noise_var : float
        Variance of the label noise.
    """
    n = checks.count("n", n, 3)
    N = np.asarray(n_features)
    if N.size == 0 or np.any(N != np.round(N)) or np.any(N < 1) or np.any(N >= n - 1):
        raise ValueError(
            f"n_features must be integers from 1 to n - 2 = {n - 2}; got {n_features!r}."
        )
    noise_var = checks.nonnegative("noise_var", noise_var)
    return noise_var * N / (n - N - 1.0)


@dataclass(frozen=True)
class Sweep:
    """Results of :func:`sweep`; arrays have one row per ``N / n`` in ``ratios``.

    ``ridgeless[c]`` and ``ridge[c]`` (``c`` in ``("test_error",) +`` :data:`COMPONENTS`) are
    the decompositions (:func:`generalization.variance.decompose_linear`) of the near-ridgeless
    read-out (``alpha = ridgeless_alpha``) and of ridge at ``best_alpha``, the penalty of the
    ``alphas`` grid with the smallest test error at that ``N``. ``ensemble[r, j]`` is the
    near-ridgeless error of an ensemble of ``ks[j]`` feature draws, the mean over training sets
    of ``ensemble_per_sampling[r, s, j]``; ``ridge_error[r, a]`` the
    ridge error at ``alphas[a]``; ``ridgeless_train_mse[r]`` the near-ridgeless training error
    (noisy labels, mean over fits); ``error_per_sampling[r, s]`` the near-ridgeless test error
    of sampling ``s``, averaged over initializations. Errors are mean squared errors against
    the clean teacher; a noisy test label would add ``noise_var``.
    """

    n: int
    d: int
    n_test: int
    noise_var: float
    samplings: tuple
    inits: tuple
    ratios: np.ndarray
    n_features: np.ndarray
    ridgeless_alpha: float
    alphas: np.ndarray
    ks: tuple
    ridgeless: dict
    ridge: dict
    ensemble: np.ndarray
    ensemble_per_sampling: np.ndarray
    ridge_error: np.ndarray
    best_alpha: np.ndarray
    ridgeless_train_mse: np.ndarray
    error_per_sampling: np.ndarray
    signal_var: float
    run_time_s: float


@cached
def sweep(
    n,
    d,
    n_test,
    noise_var,
    samplings,
    inits,
    ratios=RATIOS,
    ridgeless_alpha=1e-6,
    alphas=(1e-3, 1e-2, 1e-1),
    ks=(1, 2),
    teacher_seed=0,
    test_seed=12345,
):
    """Decompose the test error of random-features regression along ``N / n``.

    For every ``N = round(ratio * n)`` and every pair (sampling, init), fit the read-out on
    the ``n`` training points of ``sampling`` with the ``N`` features of ``init``; score on one
    fixed test set of ``n_test`` points against the clean teacher. Returns a :class:`Sweep`.
    Cached on disk.

    Parameters
    ----------
    n, d, n_test : int
        Training points (at least 2), input dimension, test points.
    noise_var : float
        Variance of the label noise (non-negative).
    samplings, inits : sequence of int
        Seeds of the training inputs and of the features (at least 2 distinct of each).
    ratios : sequence of float
        Values of ``N / n``, positive.
    ridgeless_alpha : float
        The tiny ridge of the "ridgeless" read-out (``0``: exact min-norm, whose expected
        error is infinite at ``N = n``).
    alphas : sequence of float
        Ridge penalties (positive) searched for the best ridge at each ``N``.
    ks : sequence of int
        Ensemble sizes, each between 1 and ``len(inits)``.
    """
    from threadpoolctl import threadpool_limits

    start = time.perf_counter()
    n, d, n_test = checks.count("n", n, 2), checks.count("d", d), checks.count("n_test", n_test)
    noise_var = checks.nonnegative("noise_var", noise_var)
    samplings = checks.integers("samplings", samplings, min_length=2, distinct=True)
    inits = checks.integers("inits", inits, min_length=2, distinct=True)
    ratios = checks.numbers("ratios", ratios, low=0, low_open=True)
    ridgeless_alpha = checks.nonnegative("ridgeless_alpha", ridgeless_alpha)
    alphas = checks.numbers("alphas", alphas, low=0, low_open=True)
    ks = checks.integers("ks", ks, minimum=1)
    if max(ks) > len(inits):
        raise ValueError(
            f"ks must be ensemble sizes of at most len(inits) = {len(inits)}; got {ks!r}."
        )

    beta = teacher(d, teacher_seed)
    X_test = draw_inputs(n_test, d, test_seed)
    target = X_test @ beta / np.sqrt(d)
    Xs = [draw_inputs(n, d, s) for s in samplings]
    y_clean = np.array([X @ beta / np.sqrt(d) for X in Xs])
    n_features = np.maximum(1, np.round(ratios * n).astype(int))

    R, keys = len(ratios), ("test_error",) + COMPONENTS
    ridgeless = {c: np.zeros(R) for c in keys}
    ridge = {c: np.zeros(R) for c in keys}
    ensemble, ridge_error = np.zeros((R, len(ks))), np.zeros((R, len(alphas)))
    ensemble_ps = np.zeros((R, len(samplings), len(ks)))
    best_alpha, train, per_sampling = np.zeros(R), np.zeros(R), np.zeros((R, len(samplings)))
    with threadpool_limits(
        1
    ):  # small matrices: one BLAS thread is as fast, and kind to a shared machine
        for r, N in enumerate(n_features):
            parts = [[spectral_parts(X, X_test, int(N), i) for i in inits] for X in Xs]
            train[r] = np.mean(
                [
                    train_mse(p, y, noise_var, ridgeless_alpha)
                    for y, per in zip(y_clean, parts)
                    for p in per
                ]
            )

            def decomposition(alpha):
                mom = [
                    [moments(p, y, noise_var, alpha) for p in per] for y, per in zip(y_clean, parts)
                ]
                g, noise = (np.array([[m[j] for m in row] for row in mom]) for j in (0, 1))
                return decompose_moments(g, noise, target), np.mean(
                    (g - target) ** 2 + noise, axis=(1, 2)
                )

            dec, per_sampling[r] = decomposition(ridgeless_alpha)
            decs = [decomposition(alpha)[0] for alpha in alphas]
            ridge_error[r] = [dec_a.test_error for dec_a in decs]
            best = int(np.argmin(ridge_error[r]))
            best_alpha[r] = alphas[best]
            for c in keys:
                ridgeless[c][r], ridge[c][r] = getattr(dec, c), getattr(decs[best], c)
            L = np.array([[smoother(p, n, ridgeless_alpha) for p in per] for per in parts])
            ensemble_ps[r] = [
                [ensemble_error_linear(L[j : j + 1], y, target, noise_var, k) for k in ks]
                for j, y in enumerate(y_clean[:, None])
            ]
            ensemble[r] = ensemble_ps[r].mean(axis=0)  # equal counts: the mean over all fits
    return Sweep(
        n=n,
        d=d,
        n_test=n_test,
        noise_var=float(noise_var),
        samplings=samplings,
        inits=inits,
        ratios=n_features / n,
        n_features=n_features,
        ridgeless_alpha=ridgeless_alpha,
        alphas=alphas,
        ks=ks,
        ridgeless=ridgeless,
        ridge=ridge,
        ensemble=ensemble,
        ensemble_per_sampling=ensemble_ps,
        ridge_error=ridge_error,
        best_alpha=best_alpha,
        ridgeless_train_mse=train,
        error_per_sampling=per_sampling,
        signal_var=float(np.mean(target**2)),
        run_time_s=time.perf_counter() - start,
    )


def infinite_ensemble(sweep_result):
    """Extrapolate the ensembles of a :class:`Sweep` to ``K -> infinity`` with the ``1/K`` law.

    Fits ``error(K) = E_inf + v / K`` (:func:`generalization.variance.ensemble_limit`) to the
    ensembles averaged over training sets, and again to those of each training set alone.

    Returns
    -------
    e_inf, v : ndarray, shape (num_ratios,)
        Error of the infinite ensemble and variance removed by ensembling.
    e_inf_se : ndarray, shape (num_ratios,)
        Standard error of ``e_inf`` from its spread across the training sets (the feature draws
        are shared by all training sets, so this leaves out their own share of the noise).
    """
    ks, per = sweep_result.ks, sweep_result.ensemble_per_sampling
    e_inf, v = ensemble_limit(ks, sweep_result.ensemble.T)
    R, S, K = per.shape
    e_inf_s = ensemble_limit(ks, per.reshape(R * S, K).T)[0].reshape(R, S)
    return e_inf, v, e_inf_s.std(axis=1, ddof=1) / np.sqrt(S)

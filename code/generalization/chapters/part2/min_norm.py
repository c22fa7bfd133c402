"""Experiments of the chapter *Min-norm interpolation*.

The test risk of the minimum-norm least-squares solution, simulated in the isotropic model of
Hastie, Montanari, Rosset, Tibshirani (2022) along ``gamma = p / n`` and compared with its
closed-form limit, and four routes to the min-norm interpolant on one random problem. The
methods are :mod:`generalization.linear`'s; the conventions are those of its docstring.

References
----------
Zhang, Bengio, Hardt, Recht, Vinyals (2017), *Understanding deep learning requires
rethinking generalization*, ICLR, section 5.
Hastie, Montanari, Rosset, Tibshirani (2022), *Surprises in high-dimensional ridgeless least
squares interpolation*, Annals of Statistics 50(2), https://arxiv.org/abs/1903.08560.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, settings_for
from generalization.book.cache import cached
from generalization.linear import (
    SpectralRidge,
    asymptotic_norm_isotropic,
    asymptotic_risk_isotropic,
    gd_path,
    kernel_min_norm_predict,
    min_norm_solution,
    optimal_ridge_risk_isotropic,
    ridge_solution,
)


@dataclass(frozen=True)
class RiskCurve:
    """Simulated and closed-form risks of min-norm least squares against ``gamma = p/n``.

    Arrays have one entry per grid point (``risk`` and friends: mean and std over seeds).
    ``gamma`` is the realized ``p / n`` with ``p = round(gamma * n)``; ``risk_per_seed`` and
    ``norm2_per_seed`` have shape (num_gammas, num_seeds). At ``p = n`` the risk and the norm
    have no finite expectation, so the median over seeds is the summary to read there.
    """

    n: int
    p: np.ndarray
    gamma: np.ndarray
    seeds: tuple
    snr: float
    noise_var: float
    risk_per_seed: np.ndarray
    risk_mean: np.ndarray
    risk_std: np.ndarray
    norm2_per_seed: np.ndarray
    norm2_mean: np.ndarray
    norm2_std: np.ndarray
    train_mse_max: float
    ridge_risk_mean: np.ndarray
    ridge_risk_std: np.ndarray
    closed_form: np.ndarray
    closed_form_norm2: np.ndarray
    ridge_closed_form: np.ndarray
    run_time_s: float


def simulate_once(n, p, snr, noise_var, seed):
    """One draw of the isotropic model; returns (min-norm risk, ||w||^2, train MSE, ridge risk).

    ``X`` has i.i.d. N(0, 1) entries, ``beta`` is uniform on the sphere of radius
    ``r = sqrt(snr * noise_var)``, ``eps ~ N(0, noise_var)``. The risks are exact given the
    draw: ``||w - beta||^2``. Ridge uses the asymptotically optimal ``alpha* = gamma / snr``.
    """
    rng = np.random.default_rng([seed, n, p])
    X = rng.standard_normal((n, p))
    beta = rng.standard_normal(p)
    beta *= np.sqrt(snr * noise_var) / np.linalg.norm(beta)
    y = X @ beta + np.sqrt(noise_var) * rng.standard_normal(n)
    fits = SpectralRidge(X)  # one SVD serves both estimators
    w = fits.solution(y, 0.0)
    w_ridge = fits.solution(y, (p / n) / snr) if snr > 0 else np.zeros(p)
    train_mse = float(np.mean((X @ w - y) ** 2)) if p >= n else 0.0
    return (
        float(np.sum((w - beta) ** 2)),
        float(w @ w),
        train_mse,
        float(np.sum((w_ridge - beta) ** 2)),
    )


@cached
def risk_curve(gammas, n, snr=1.0, noise_var=1.0, seeds=(0, 1, 2, 3, 4)):
    """Test risk of min-norm interpolation and optimal ridge against ``p / n``, simulated.

    For each ``gamma`` (with ``p = round(gamma n)``) and seed, :func:`simulate_once` draws
    the isotropic model and records the exact excess risk of the min-norm solution and of
    optimally tuned ridge, and the squared norm of the min-norm solution. Cached on disk.

    Parameters
    ----------
    gammas : sequence of float, positive
    n : int, number of training points (at least 2)
    snr, noise_var : float
        ``r^2 / sigma^2`` and ``sigma^2``.
    seeds : sequence of int

    Returns
    -------
    RiskCurve
        ``train_mse_max`` is the largest training error of the min-norm solution over all
        draws with ``p >= n`` (zero up to rounding: it interpolates).
    """
    start = time.perf_counter()
    snr, noise_var = checks.nonnegative("snr", snr), checks.nonnegative("noise_var", noise_var)
    n = checks.count("n", n, minimum=2)
    gammas = checks.numbers("gammas", np.atleast_1d(gammas), low=0, low_open=True)
    seeds = checks.integers("seeds", seeds)
    p = np.maximum(1, np.round(gammas * n).astype(int))
    from threadpoolctl import threadpool_limits

    # one BLAS thread: faster for these sizes, and kind to a shared machine
    with threadpool_limits(1):
        out = np.array([[simulate_once(n, int(pi), snr, noise_var, s) for s in seeds] for pi in p])
    gamma = p / n
    ridge_cf, _ = optimal_ridge_risk_isotropic(gamma, snr, noise_var)
    return RiskCurve(
        n=int(n),
        p=p,
        gamma=gamma,
        seeds=seeds,
        snr=float(snr),
        noise_var=float(noise_var),
        risk_per_seed=out[:, :, 0],
        risk_mean=out[:, :, 0].mean(1),
        risk_std=out[:, :, 0].std(1),
        norm2_per_seed=out[:, :, 1],
        norm2_mean=out[:, :, 1].mean(1),
        norm2_std=out[:, :, 1].std(1),
        train_mse_max=float(out[:, :, 2].max()),
        ridge_risk_mean=out[:, :, 3].mean(1),
        ridge_risk_std=out[:, :, 3].std(1),
        closed_form=asymptotic_risk_isotropic(gamma, snr, noise_var),
        closed_form_norm2=asymptotic_norm_isotropic(gamma, snr, noise_var),
        ridge_closed_form=ridge_cf,
        run_time_s=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class FourRoutes:
    """Four routes to the min-norm interpolant on one random problem (see :func:`four_routes`)."""

    n: int
    p: int
    seed: int
    lr: float
    steps: np.ndarray
    gd_gap: np.ndarray
    gd_rowspace_gap: np.ndarray
    gd_w0_gap_min_norm: np.ndarray
    gd_w0_gap_nearest: np.ndarray
    alphas: np.ndarray
    ridge_gap: np.ndarray
    w_min_norm: float
    pinv_gap: float
    kernel_gap: float
    train_residual: float
    run_time_s: float


def four_routes(
    n=40, p=100, seed=0, num_steps=600, alphas=tuple(10.0 ** -np.arange(0, 13, 2)), record_every=5
):
    """Compare :func:`min_norm_solution` with pinv, ridge (alpha -> 0+), GD and the kernel form.

    Draws ``X`` (n, p) and ``y`` (n,) with N(0, 1) entries from ``default_rng(seed)`` and a
    start ``w0`` with ``||w0|| = ||w_min||``. GD runs at ``lr = 1 / lambda_max(X^T X / n)``.
    Every ``*_gap`` is a Euclidean distance to the min-norm solution ``w_min`` except
    ``gd_w0_gap_nearest`` (distance of GD from ``w0`` to ``w0 + pinv(X)(y - X w0)``) and
    ``gd_rowspace_gap`` (norm of the part of each zero-started iterate outside the row space).
    ``kernel_gap`` compares predictions on 100 fresh points.
    """
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, p)), rng.standard_normal(n)
    w_min = min_norm_solution(X, y)
    lr = 1.0 / np.linalg.eigvalsh(X.T @ X / n)[-1]
    path = gd_path(X, y, lr, num_steps, record_every=record_every)
    P = np.linalg.pinv(X) @ X  # projection on the row space of X
    w0 = rng.standard_normal(p)
    w0 *= np.linalg.norm(w_min) / np.linalg.norm(w0)
    path0 = gd_path(X, y, lr, num_steps, w0=w0, record_every=record_every)
    nearest = w0 + min_norm_solution(X, y - X @ w0)
    X_test = rng.standard_normal((100, p))
    alphas = np.asarray(alphas, dtype=float)
    return FourRoutes(
        n=n,
        p=p,
        seed=seed,
        lr=float(lr),
        steps=np.minimum(np.arange(len(path)) * record_every, num_steps),
        gd_gap=np.linalg.norm(path - w_min, axis=1),
        gd_rowspace_gap=np.linalg.norm(path - path @ P.T, axis=1),
        gd_w0_gap_min_norm=np.linalg.norm(path0 - w_min, axis=1),
        gd_w0_gap_nearest=np.linalg.norm(path0 - nearest, axis=1),
        alphas=alphas,
        ridge_gap=np.array([np.linalg.norm(ridge_solution(X, y, a) - w_min) for a in alphas]),
        w_min_norm=float(np.linalg.norm(w_min)),
        pinv_gap=float(np.linalg.norm(np.linalg.pinv(X) @ y - w_min)),
        kernel_gap=float(np.max(np.abs(kernel_min_norm_predict(X, y, X_test) - X_test @ w_min))),
        train_residual=float(np.max(np.abs(X @ w_min - y))),
        run_time_s=time.perf_counter() - start,
    )


# fmt: off
GAMMAS = (
    0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25, 1.5, 1.75, 2.0,
    2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0,
)
# fmt: on
"""The chapter's grid of ``gamma = p / n``, on both sides of 1 and including it."""

SETTINGS = {
    "quick": {"n": 200, "seeds": tuple(range(20))},
    "full": {"n": 500, "seeds": tuple(range(40))},
}
"""``n`` and seeds of the chapter's :func:`risk_curve` at each scale (the claims tests' too)."""


def settings(scale=None):
    """``n`` and seeds of :func:`risk_curve` at ``scale`` (default :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)

"""Random-features regression pieces of the double-trouble chapter, against direct computations."""

import numpy as np
import pytest

from generalization import linear, variance
from generalization.chapters.part2 import double_trouble as dt


@pytest.fixture(scope="module")
def data():
    d, n = 20, 30
    beta = dt.teacher(d)
    X, X_test = dt.draw_inputs(n, d, 0), dt.draw_inputs(50, d, 99)
    return X, X_test, X @ beta / np.sqrt(d)


@pytest.mark.parametrize(
    "n_features, alpha", [(12, 1e-3), (30, 1e-6), (80, 1e-4), (12, 0.0), (80, 0.0)]
)
def test_smoother_matches_ridge_through_an_svd(data, n_features, alpha):
    X, X_test, y = data
    fmap = dt.feature_map(X.shape[1], n_features, 3)
    Phi, Phi_test = fmap.transform(X), fmap.transform(X_test)
    direct = Phi_test @ linear.ridge_solution(Phi, y, alpha)  # SVD-based, alpha = 0 is min-norm
    parts = dt.spectral_parts(X, X_test, n_features, 3)
    predicted = dt.smoother(parts, X.shape[0], alpha) @ y
    np.testing.assert_allclose(predicted, direct, rtol=1e-6, atol=1e-8 * np.abs(direct).max())


def test_moments_are_those_of_the_smoother(data):
    X, X_test, y = data
    parts = dt.spectral_parts(X, X_test, 45, 1)
    L = dt.smoother(parts, X.shape[0], 1e-3)
    mean, var = dt.moments(parts, y, 0.3, 1e-3)
    np.testing.assert_allclose(mean, L @ y, rtol=1e-10)
    np.testing.assert_allclose(var, 0.3 * np.sum(L * L, axis=1), rtol=1e-10)


@pytest.mark.parametrize("n_features", [12, 80])
def test_train_mse_is_the_noise_averaged_training_error(data, n_features):
    X, X_test, y = data
    n, alpha, sigma2 = X.shape[0], 1e-3, 0.4
    Phi = dt.feature_map(X.shape[1], n_features, 2).transform(X)
    H = Phi @ np.linalg.solve(Phi.T @ Phi + n * alpha * np.eye(n_features), Phi.T)  # hat matrix
    R = np.eye(n) - H
    expected = (np.sum((R @ y) ** 2) + sigma2 * np.trace(R @ R)) / n
    assert dt.train_mse(
        dt.spectral_parts(X, X_test, n_features, 2), y, sigma2, alpha
    ) == pytest.approx(expected, rel=1e-8)


def test_min_norm_interpolates_beyond_the_threshold(data):
    X, X_test, y = data
    assert (
        dt.train_mse(dt.spectral_parts(X, X_test, 80, 0), y, 0.0, 0.0) < 1e-12
    )  # rounding of y.y - (U^T y).(U^T y)


@pytest.fixture(scope="module")
def small():
    return dt.sweep.uncached(
        n=30,
        d=15,
        n_test=40,
        noise_var=0.2,
        samplings=(0, 1, 2),
        inits=(0, 1, 2, 3),
        ratios=(0.5, 1.0, 3.0),
        ridgeless_alpha=1e-6,
        alphas=(1e-3, 1e-1),
        ks=(1, 2, 4),
    )


def test_sweep_shapes_and_bookkeeping(small):
    assert small.n_features.tolist() == [15, 30, 90]
    assert small.ensemble.shape == (3, 3) and small.ridge_error.shape == (3, 2)
    assert small.error_per_sampling.shape == (3, 3)
    for result in (small.ridgeless, small.ridge):
        total = sum(result[p] for p in variance.PARTS)
        np.testing.assert_allclose(total, result["test_error"], rtol=1e-10)
        np.testing.assert_allclose(
            result["var_init"], result["var_init_main"] + result["var_interaction"], rtol=1e-10
        )
    np.testing.assert_allclose(
        small.ensemble[:, 0], small.ridgeless["test_error"], rtol=1e-10
    )  # K = 1
    np.testing.assert_allclose(
        small.error_per_sampling.mean(axis=1), small.ridgeless["test_error"], rtol=1e-10
    )
    np.testing.assert_allclose(small.ridge["test_error"], small.ridge_error.min(axis=1))
    assert (
        small.ridgeless_train_mse[2] < 1e-3 * small.noise_var
    )  # N = 3n: the noise is interpolated
    assert small.ridgeless_train_mse[0] > 0.1 * small.noise_var  # N = n/2: it cannot be


def test_teacher_and_inputs_are_seeded():
    np.testing.assert_array_equal(dt.teacher(5), dt.teacher(5))
    np.testing.assert_array_equal(dt.draw_inputs(3, 4, 1), dt.draw_inputs(3, 4, 1))
    assert not np.array_equal(dt.draw_inputs(3, 4, 1), dt.draw_inputs(3, 4, 2))


GOOD = dict(
    n=10,
    d=4,
    n_test=5,
    noise_var=0.1,
    samplings=(0, 1),
    inits=(0, 1),
    ratios=(1.0,),
    alphas=(0.1,),
    ks=(1,),
)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(n=1), "n must be an integer of at least 2"),
        (dict(d=0), "d must be"),
        (dict(noise_var=-1.0), "noise_var"),
        (dict(samplings=(0,)), "samplings"),
        (dict(inits=(1, 1)), "distinct"),
        (dict(inits="ab"), "inits"),
        (dict(ratios=(0.0,)), "ratios"),
        (dict(alphas=()), "alphas"),
        (dict(ridgeless_alpha=-1.0), "ridgeless_alpha"),
        (dict(ks=(3,)), "ks must be"),
        (dict(ks=(0,)), "ks must be"),
    ],
)
def test_sweep_rejects_bad_input(change, message):
    with pytest.raises(ValueError, match=message):
        dt.sweep.uncached(**{**GOOD, **change})


def test_helpers_reject_bad_input(data):
    X, X_test, _ = data
    with pytest.raises(ValueError, match="X_test must have the 20 columns of X"):
        dt.spectral_parts(X, X_test[:, :3], 10, 0)
    with pytest.raises(ValueError, match="n_features"):
        dt.spectral_parts(X, X_test, 0, 0)
    with pytest.raises(ValueError, match="d must be"):
        dt.teacher(0)
    with pytest.raises(ValueError, match="seed"):
        dt.draw_inputs(3, 4, -1)


def test_ensembles_per_training_set_average_to_the_ensembles(small):
    assert small.ensemble_per_sampling.shape == (3, 3, 3)  # ratios x samplings x ks
    np.testing.assert_allclose(small.ensemble_per_sampling.mean(axis=1), small.ensemble, rtol=1e-12)


def test_infinite_ensemble_fits_the_one_over_k_law_per_training_set(small):
    e_inf, v, se = dt.infinite_ensemble(small)
    ref_e, ref_v = variance.ensemble_limit(small.ks, small.ensemble.T)
    np.testing.assert_allclose(e_inf, ref_e, rtol=1e-12)
    np.testing.assert_allclose(v, ref_v, rtol=1e-12)
    # by hand: a least-squares line in 1/K for every (ratio, training set), then the spread
    inv_k = 1.0 / np.array(small.ks, dtype=float)
    design = np.stack([np.ones_like(inv_k), inv_k], axis=1)
    per = np.array(
        [
            [
                np.linalg.lstsq(design, small.ensemble_per_sampling[r, s], rcond=None)[0][0]
                for s in range(3)
            ]
            for r in range(3)
        ]
    )
    np.testing.assert_allclose(se, per.std(axis=1, ddof=1) / np.sqrt(3), rtol=1e-10)


def test_least_squares_noise_variance_against_monte_carlo():
    # Gaussian regressors: E phi^T (Phi^T Phi)^{-1} phi = N / (n - N - 1) exactly (Wishart)
    rng = np.random.default_rng(0)
    n, N, draws = 30, 10, 4000
    traces = [np.trace(np.linalg.inv(G.T @ G)) for G in rng.standard_normal((draws, n, N))]
    expected = dt.least_squares_noise_variance(n, N, 1.0)
    assert expected == pytest.approx(10 / 19)
    # the trace has a standard deviation of about 0.07 here: one standard error is 0.2%
    assert np.mean(traces) == pytest.approx(expected, rel=0.006)  # three standard errors
    np.testing.assert_allclose(
        dt.least_squares_noise_variance(100, np.array([10, 50]), 0.5), [5 / 89, 25 / 49]
    )


@pytest.mark.parametrize(
    "args, message",
    [
        ((2, 1, 1.0), "n must be an integer of at least 3"),
        ((10, 9, 1.0), "n_features must be integers from 1 to n - 2 = 8"),
        ((10, 0, 1.0), "n_features must be"),
        ((10, 2.5, 1.0), "n_features must be"),
        ((10, 3, -1.0), "noise_var"),
    ],
)
def test_least_squares_noise_variance_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        dt.least_squares_noise_variance(*args)

"""Claims of book/part2/min_norm.md, asserted with the chapter's own calls.

Bounds come from the quick scale (n = 200, 20 seeds per grid point): a simulated mean is
allowed three standard errors over seeds. At p = n the risk has no finite expectation; the
bounds there are the 0.5% and 99.5% points of the statistic over 20,000 resamples of 20 draws
from 3,000 extra draws of the same model (seeds 1000-3999), computed once when these bounds
were set.
"""

import numpy as np
import pytest

from generalization import linear, scale
from generalization.chapters.part2 import min_norm

SETTINGS = min_norm.SETTINGS[scale()]


@pytest.fixture(scope="module")
def routes():
    return min_norm.four_routes(n=40, p=100, seed=0)  # the chapter's call


@pytest.fixture(scope="module")
def curve():  # the chapter's call (cached: computed once for the book and the tests)
    return min_norm.risk_curve(
        min_norm.GAMMAS, SETTINGS["n"], snr=1.0, noise_var=1.0, seeds=SETTINGS["seeds"]
    )


def index(curve, gamma):
    i = int(np.argmin(np.abs(curve.gamma - gamma)))
    assert curve.gamma[i] == gamma
    return i


def stderr(curve, values_std):
    return values_std / np.sqrt(len(curve.seeds))


# --- four routes, one vector ---------------------------------------------------------------
# "Agree to rounding" claims are one-sided by nature: the exact difference is zero.


def test_pinv_and_kernel_form_agree_with_min_norm(routes):
    """The pseudo-inverse and the kernel form K alpha = y give the same min-norm interpolant,
    which fits the data exactly."""
    assert routes.pinv_gap < 1e-14  # measured 2.4e-16
    assert routes.kernel_gap < 1e-13  # measured 5.9e-15 (largest prediction difference)
    assert routes.train_residual < 1e-13  # measured 4.3e-15: the interpolant fits exactly


def test_ridge_approaches_min_norm_in_proportion_to_alpha(routes):
    """Ridge regression approaches the min-norm interpolant in proportion to its penalty as alpha
    goes to zero."""
    ratios = routes.ridge_gap[1:] / routes.ridge_gap[:-1]
    alpha_ratios = routes.alphas[1:] / routes.alphas[:-1]
    # alpha falls by 100 per step; once alpha is small the gap falls by the same factor:
    # measured ratios / alpha ratios 1.020, 1.0000, 1.0000, 1.0000, 1.0000
    np.testing.assert_allclose(ratios[1:] / alpha_ratios[1:], 1.0, rtol=0.03)


def test_learning_rate_is_one_over_the_largest_eigenvalue(routes):
    """Gradient descent uses the learning rate 1/lambda_max(X^T X/n)."""
    X = np.random.default_rng(routes.seed).standard_normal((routes.n, routes.p))  # as drawn
    largest = np.linalg.svd(X, compute_uv=False)[0] ** 2 / routes.n
    assert routes.lr * largest == pytest.approx(1.0, rel=1e-12)  # measured lr 0.1549


def test_gd_from_zero_reaches_min_norm_inside_the_row_space(routes):
    """Gradient descent from zero reaches the min-norm interpolant without ever leaving the row
    space of X."""
    # from distance ||w_hat|| = 0.939 down to rounding: measured 2.2e-15 after 600 steps
    assert routes.gd_gap[-1] < 1e-14 * routes.gd_gap[0]
    assert routes.gd_rowspace_gap.max() < 1e-14  # measured 1.6e-15: "rounding of doubles"


def test_gd_from_w0_converges_as_fast_to_the_interpolant_nearest_w0(routes):
    """Gradient descent from a random start converges just as fast, but to the interpolant
    nearest its start."""
    assert routes.gd_w0_gap_nearest[-1] < 1e-14  # measured 2.7e-15 after the same steps


def test_exercise_null_space_part_of_the_start(routes):
    """Descent from a random start stops away from the min-norm solution by the null-space part
    of the start, about sqrt((p - n)/p) of its norm."""
    # The distance from w_hat is the norm of the null-space part of w0: for a random direction
    # the squared fraction is Beta((p - n)/2, n/2), mean 0.6 and sd 0.069 here, so the distance
    # is sqrt(0.6) ||w0|| within 3 sd of the fraction (17%). Measured 0.7263 vs 0.7276.
    fraction = (routes.p - routes.n) / routes.p
    predicted = np.sqrt(fraction) * routes.w_min_norm
    sd = np.sqrt(fraction * (1 - fraction) / (routes.p / 2 + 1))
    assert routes.gd_w0_gap_min_norm[-1] == pytest.approx(predicted, rel=3 * sd / (2 * fraction))


# --- the risk curve -------------------------------------------------------------------------


AWAY_FROM_ONE = [g for g in min_norm.GAMMAS if abs(g - 1) >= 0.25]


@pytest.mark.parametrize("gamma", AWAY_FROM_ONE)
def test_simulation_sits_on_the_closed_form(curve, gamma):
    """Away from p = n the simulated risk of the min-norm interpolant sits on Hastie et al.'s
    closed form."""
    i = index(curve, gamma)
    n, p = curve.n, int(curve.p[i])
    exact = linear.expected_risk_gaussian(n, p, 1.0, 1.0)
    # The closed form (Hastie et al., Theorem 1) is the n -> infinity limit of the exact
    # finite-n mean, and differs from it by O(1/n): measured 1.0% of the limit at gamma = 0.5,
    # 0.33% at 2, 0.03% at 5; the bound is twice the leading term.
    assert abs(curve.closed_form[i] - exact) < 2 * curve.closed_form[i] / (n * abs(1 - gamma))
    # The simulated mean sits on the exact mean: measured |z| <= 1.83 standard errors over
    # these grid points (1.83 at gamma = 0.5, 0.28 at 2, 1.60 at 5, 0.52 at 10).
    assert abs(curve.risk_mean[i] - exact) < 3 * stderr(curve, curve.risk_std[i])


def test_second_descent_towards_r_squared(curve):
    """Beyond the peak the risk descends a second time, towards r^2, the risk of predicting zero."""
    # Beyond the peak the limit falls monotonically towards r^2 = 1 and stays above it (the
    # simulation follows it: test_simulation_sits_on_the_closed_form).
    over = curve.gamma > 1
    assert np.all(np.diff(curve.closed_form[over]) < 0)
    assert 0 < curve.closed_form[-1] - 1.0 < 0.02  # measured 0.011 at gamma = 10


def test_interpolants_fit_their_training_sets(curve):
    """Every interpolant with p >= n fits its training set exactly."""
    assert curve.train_mse_max < 1e-20  # measured 5.1e-26 (zero up to rounding)


def test_peak_is_at_p_equals_n_with_a_heavy_tail(curve):
    """The risk peaks at p = n, where it has no finite mean: its median is orders of magnitude
    above the risk at small p/n."""
    i = index(curve, 1.0)
    assert int(np.argmax(curve.risk_mean)) == i  # the worst point of the grid
    median = np.median(curve.risk_per_seed[i])
    assert 143 < median < 2000  # measured 745; resampled 0.5%-99.5%: 143 to 2000
    # "more than three orders of magnitude above the risk at gamma = 0.1": measured 7,460;
    # bounds from the median's range and 3 standard errors of the mean at 0.1 (the lower
    # one, 1,230, is above 10^3)
    high = curve.risk_mean[0] + 3 * stderr(curve, curve.risk_std[0])
    low = curve.risk_mean[0] - 3 * stderr(curve, curve.risk_std[0])
    assert max(1e3, 143 / high) < median / curve.risk_mean[0] < 2000 / low
    # "the mean is set by the few worst draws": the three largest of the 20 carry 83% of the
    # sum; resampled 0.5% point 45% (the share cannot exceed 100%)
    top3 = np.sort(curve.risk_per_seed[i])[-3:].sum() / curve.risk_per_seed[i].sum()
    assert 0.45 < top3 <= 1.0


def test_tuned_ridge_has_no_peak_and_sits_on_its_closed_form(curve):
    """Optimally tuned ridge has no peak: its risk rises smoothly with p/n, stays below r^2 and
    matches its closed form."""
    assert np.all(np.diff(curve.ridge_closed_form) > 0)  # rises smoothly with gamma
    assert np.all(curve.ridge_closed_form < 1.0)  # below r^2 = 1, the risk of predicting zero
    # every grid point within 3 standard errors (+0.005 for finite n): largest 2.37 se
    gap = np.abs(curve.ridge_risk_mean - curve.ridge_closed_form)
    assert np.all(gap < 3 * stderr(curve, curve.ridge_risk_std) + 0.005)


def test_ridge_lowers_the_peak_by_a_large_factor(curve):
    """At p = n even the luckiest draw of the min-norm interpolant has many times the risk of
    tuned ridge."""
    i = index(curve, 1.0)
    # "even the luckiest seed": measured 50.6; resampled 0.5%-99.5% of the smallest of 20
    # draws over the ridge mean: 22 to 221
    assert 22 < curve.risk_per_seed[i].min() / curve.ridge_risk_mean[i] < 221


def test_norm_blows_up_at_one_and_follows_its_limit(curve):
    """The squared norm of the interpolant blows up at p = n and follows its closed-form limit
    beyond it."""
    i, j = index(curve, 1.0), index(curve, 2.0)
    median = np.median(curve.norm2_per_seed[i])
    # median squared norm at p = n over the mean at gamma = 2 (3 standard errors): measured
    # 479 (median 743); resampled 0.5%-99.5% of the median: 145 to 1996
    high = curve.norm2_mean[j] + 3 * stderr(curve, curve.norm2_std[j])
    low = curve.norm2_mean[j] - 3 * stderr(curve, curve.norm2_std[j])
    assert 145 / high < median / curve.norm2_mean[j] < 1996 / low
    # measured 1.550 vs 1.500 and 0.461 vs 0.450: 1.25 and 1.01 standard errors, plus the
    # finite-n offset of the mean (exact at gamma = 2: r^2/2 + n/(p - n - 1) = 1.505)
    for gamma in (2.0, 5.0):
        k = index(curve, gamma)
        allowance = 2 * curve.closed_form_norm2[k] / (curve.n * (gamma - 1))
        gap = abs(curve.norm2_mean[k] - curve.closed_form_norm2[k])
        assert gap < 3 * stderr(curve, curve.norm2_std[k]) + allowance


def test_exercise_best_gamma_for_snr_4():
    """With snr = 4 the limiting risk is smallest at gamma = 2, where it is 3; for snr <= 1 it
    falls towards r^2."""
    # the exercise's answer, gamma* = 1 / (1 - 1/sqrt(snr)) = 2 with risk 3, found by a search
    grid = np.linspace(1.01, 20, 5000)
    risk = linear.asymptotic_risk_isotropic(grid, 4.0, 1.0)
    assert grid[np.argmin(risk)] == pytest.approx(1 / (1 - 1 / np.sqrt(4.0)), abs=0.01)
    assert risk.min() == pytest.approx(4.0 * (1 - 1 / 2) + 1 / (2 - 1), rel=1e-4)
    # snr <= 1: the risk falls all the way to r^2
    assert np.all(np.diff(linear.asymptotic_risk_isotropic(grid, 1.0, 1.0)) < 0)

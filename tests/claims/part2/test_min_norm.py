"""Claims of book/part2/min_norm.md, asserted with the chapter's own calls."""

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


def test_pinv_and_kernel_form_agree_with_min_norm(routes):
    assert routes.pinv_gap < 1e-13  # printed with :.0e
    assert routes.kernel_gap < 1e-12
    assert routes.train_residual < 1e-12


def test_ridge_approaches_min_norm_in_proportion_to_alpha(routes):
    gaps = routes.ridge_gap
    assert np.all(np.diff(gaps) < 0)
    ratios = gaps[1:] / gaps[:-1]  # alpha falls by 100 per step; so does the gap
    np.testing.assert_allclose(ratios[1:], 1e-2, rtol=0.05)
    assert gaps[-1] < 1e-10


def test_gd_from_zero_reaches_min_norm_inside_the_row_space(routes):
    assert routes.steps[0] == 0 and np.all(
        np.diff(routes.steps) > 0
    )  # the path is recorded from w = 0 on
    assert routes.gd_gap[-1] < 1e-13 * routes.gd_gap[0]  # from distance |w_hat| to rounding
    assert routes.gd_gap[-1] < 1e-13
    assert routes.gd_rowspace_gap.max() < 1e-13  # "the rounding of double precision"
    assert routes.lr == pytest.approx(0.155, abs=5e-4)


def test_gd_from_w0_interpolates_but_not_at_min_norm(routes):
    assert routes.gd_w0_gap_nearest[-1] < 1e-13
    assert routes.gd_w0_gap_min_norm[-1] > 0.5


def test_exercise_null_space_part_of_the_start(routes):
    predicted = np.sqrt(0.6) * routes.w_min_norm
    assert routes.gd_w0_gap_min_norm[-1] == pytest.approx(predicted, rel=0.25)  # "about"


def test_grid_straddles_one(curve):
    assert curve.gamma.min() == pytest.approx(0.1) and curve.gamma.max() == pytest.approx(10)
    assert np.any(curve.gamma < 1) and np.any(curve.gamma > 1) and 1.0 in curve.gamma
    assert curve.n == SETTINGS["n"] and len(curve.seeds) == len(SETTINGS["seeds"])


@pytest.mark.parametrize("gamma", [0.5, 2.0, 5.0])
def test_simulation_sits_on_the_closed_form(curve, gamma):
    # Tolerance: 3 standard errors over seeds plus the finite-n offset of the exact mean.
    i = index(curve, gamma)
    exact = linear.expected_risk_gaussian(curve.n, int(curve.p[i]), 1.0, 1.0)
    stderr = curve.risk_std[i] / np.sqrt(len(curve.seeds))
    assert abs(curve.risk_mean[i] - curve.closed_form[i]) < 3 * stderr + abs(
        exact - curve.closed_form[i]
    )
    assert abs(curve.risk_mean[i] - exact) < 3 * stderr  # the ledger note: within 3 standard errors


def test_interpolants_fit_their_training_sets(curve):
    assert curve.train_mse_max < 1e-15  # printed with :.0e


def test_risk_spans_three_orders_of_magnitude(curve):
    assert curve.risk_mean.max() / curve.risk_mean.min() > 1e3


def test_peak_is_at_p_equals_n(curve):
    assert curve.gamma[int(np.argmax(curve.risk_mean))] == 1.0
    assert curve.risk_mean.max() > 1000  # printed as a number in the thousands (:,.0f)


def test_second_descent_towards_r_squared(curve):
    over = curve.gamma > 1
    assert np.all(np.diff(curve.risk_mean[over]) < 0)  # risk falls all the way beyond the peak
    assert abs(curve.risk_mean[-1] - 1.0) < 0.05 and abs(curve.closed_form[-1] - 1.011) < 1e-3


def test_tuned_ridge_has_no_peak_and_beats_zero(curve):
    assert np.all(np.diff(curve.ridge_closed_form) > 0)  # rises smoothly with gamma
    assert curve.ridge_risk_mean.max() < 1.0  # below r^2 = 1, the risk of predicting zero
    i = index(curve, 1.0)
    assert abs(curve.ridge_risk_mean[i] - curve.ridge_closed_form[i]) < 0.03
    assert np.max(np.abs(curve.ridge_risk_mean - curve.ridge_closed_form)) < 0.05


def test_ridge_lowers_the_peak_by_a_large_factor(curve):
    i = index(curve, 1.0)
    assert curve.risk_per_seed[i].min() / curve.ridge_risk_mean[i] > 10  # "even the luckiest seed"


def test_norm_blows_up_at_one_and_follows_its_limit(curve):
    i = index(curve, 1.0)
    assert curve.norm2_mean[i] > 100 * curve.norm2_mean[index(curve, 2.0)]
    for gamma in (2.0, 5.0):
        j = index(curve, gamma)
        assert (
            abs(curve.norm2_mean[j] - curve.closed_form_norm2[j])
            < 3 * curve.norm2_std[j] / np.sqrt(len(curve.seeds)) + 0.02
        )


def test_exercise_best_gamma_for_snr_4():
    best = 1 / (1 - 1 / np.sqrt(4.0))
    assert best == pytest.approx(2.0)
    assert linear.asymptotic_risk_isotropic(best, 4.0, 1.0) == pytest.approx(3.0)
    grid = np.linspace(1.01, 20, 5000)
    assert grid[np.argmin(linear.asymptotic_risk_isotropic(grid, 4.0, 1.0))] == pytest.approx(
        2.0, abs=0.01
    )
    assert np.all(
        np.diff(linear.asymptotic_risk_isotropic(grid, 1.0, 1.0)) < 0
    )  # snr <= 1: falls to r^2

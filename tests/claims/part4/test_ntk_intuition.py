"""Claims of book/part4/ntk_intuition.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization.chapters.part4 import ntk_intuition as ni
from generalization.fit import loglog_slope

S = ni.settings()


@pytest.fixture(scope="module")
def one():
    return ni.run_one_step(S)  # the chapter's call


@pytest.fixture(scope="module")
def kc():
    return ni.run_kernel_change(S)  # the chapter's call


@pytest.fixture(scope="module")
def dg():
    return ni.run_diagonal(S)  # the chapter's call


def _slopes(kc, values, p):
    return np.array([loglog_slope(kc.widths, row) for row in values[p]])


# --- one step on one image ---------------------------------------------------------------


def test_the_kernel_predicts_the_change_at_test_images_to_a_fraction_of_a_percent(one):
    """With the step that fits the example to first order, -lr k(x', x) r predicts the change
    at every test image to a relative error of a fraction of a percent."""
    assert 0.001 < one.rel_error[0] < 0.006  # quick: 0.25%
    # "the output on the example moves 99.5% of the way to its target"
    share = one.moved_x[0] / (one.target - one.output)
    assert 0.98 < share < 1.0  # quick: 0.995


def test_smaller_steps_make_the_first_order_prediction_more_accurate(one):
    """The relative error falls as the step shrinks, though not in exact proportion to it."""
    assert np.all(np.diff(one.rel_error) < 0)  # quick: 0.25%, 0.083%, 0.019%
    assert 5 < one.rel_error[0] / one.rel_error[-1] < 50  # quick: 13 for a 100 times smaller step


def test_the_images_that_move_most_show_the_same_digit(one):
    """Of the fifty test images with the largest kernel value, several times the base rate
    show the example's digit."""
    share = np.mean(one.probe_labels[one.top[:50]] == one.label)
    base = np.mean(one.probe_labels == one.label)
    assert 0.25 < share < 0.65  # quick: 44%
    assert share > 3 * base  # quick: base 9.6%


def test_the_kernel_at_this_width_differs_visibly_from_its_limit(one):
    """At the chapter's width the empirical kernel is within tens of percent of its
    infinite-width limit, and strongly correlated with it."""
    gap = np.linalg.norm(one.theta - one.theta_limit) / np.linalg.norm(one.theta_limit)
    assert 0.06 < gap < 0.25  # quick: 13%
    assert np.corrcoef(one.theta, one.theta_limit)[0, 1] > 0.8  # quick: 0.91


# --- the kernel's movement against width -------------------------------------------------


def test_the_ntk_parametrization_keeps_its_step_and_trains_every_width(kc):
    """In the NTK parametrization the stable step hardly depends on width; every network
    takes its training loss from above one to a few hundredths."""
    p = kc.parametrizations.index("ntk")
    assert kc.lr[p].max() / kc.lr[p].min() < 1.6  # quick: 0.43 to 0.62
    assert 1.0 < kc.loss_start.mean() < 2.5  # quick: 1.65
    assert kc.loss_end.max() < 0.1  # quick: at most 0.056 (ntk), 0.071 (standard)


def test_the_standard_step_falls_with_width(kc):
    """In the standard parametrization the stable step falls with width."""
    p = kc.parametrizations.index("standard")
    slope = loglog_slope(kc.widths, kc.lr[p].mean(0))
    assert -0.9 < slope < -0.6  # quick: -0.77


def test_the_ntk_kernel_moves_less_as_the_network_widens_faster_than_the_bound(kc):
    """In the NTK parametrization the relative change of the kernel falls with width with a
    log-log slope between -1 and -1/2, seed by seed."""
    p = kc.parametrizations.index("ntk")
    mean_slope = loglog_slope(kc.widths, kc.kernel_change[p].mean(0))
    assert -0.95 < mean_slope < -0.6  # quick: -0.78
    seeds = _slopes(kc, kc.kernel_change, p)
    assert np.all((-1.0 < seeds) & (seeds < -0.5))  # quick: -0.84 to -0.73
    first, last = kc.kernel_change[p, :, 0].mean(), kc.kernel_change[p, :, -1].mean()
    assert 0.08 < first < 0.25 and 0.003 < last < 0.009  # quick: 13.5% and 0.53%


def test_the_ntk_weights_move_like_one_over_root_width(kc):
    """In the NTK parametrization the relative change of the weights, all of them and the
    first layer's, falls with slope about -1/2."""
    p = kc.parametrizations.index("ntk")
    assert -0.6 < loglog_slope(kc.widths, kc.weight_change[p].mean(0)) < -0.4  # quick: -0.49
    assert -0.6 < loglog_slope(kc.widths, kc.first_layer_change[p].mean(0)) < -0.4  # -0.50


def test_the_standard_kernel_freezes_faster_and_its_first_layer_stops_learning(kc):
    """With its stable step, the standard parametrization's kernel moves even less as the
    network widens, and its first layer's weights fall behind."""
    s, p = kc.parametrizations.index("standard"), kc.parametrizations.index("ntk")
    mean_slope = loglog_slope(kc.widths, kc.kernel_change[s].mean(0))
    assert -1.85 < mean_slope < -1.25  # quick: -1.54
    assert np.all(_slopes(kc, kc.kernel_change, s) < _slopes(kc, kc.kernel_change, p) - 0.4)
    first = loglog_slope(kc.widths, kc.first_layer_change[s].mean(0))
    assert -1.4 < first < -0.9  # quick: -1.13, against -0.50 in the NTK parametrization
    last = kc.kernel_change[s, :, -1].mean()
    assert 2e-4 < last < 8e-4  # quick: 0.040%


# --- the diagonal network ----------------------------------------------------------------


def test_every_diagonal_run_interpolates(dg):
    """Every run of gradient descent reaches the tolerance on the training residual."""
    assert np.all(dg.residual < S["diagonal"]["tol"])


def test_a_large_start_ends_at_the_min_l2_interpolant_with_its_test_error(dg):
    """From the largest start gradient descent ends at the minimum-l2 interpolant, whose test
    error is close to 1 - n/p."""
    big = int(np.argmax(dg.alphas))
    assert np.all(dg.dist_l2[:, big] < 1e-6)  # quick: at most 3e-8
    assert np.allclose(dg.test_error[:, big], dg.l2_test_error, atol=1e-6)
    assert np.all((0.6 < dg.l2_test_error) & (dg.l2_test_error < 0.9))  # quick: 0.72 to 0.80
    assert abs(dg.l2_test_error.mean() - (1 - dg.n_samples / dg.n_features)) < 0.08  # 0.747


def test_a_small_start_ends_near_the_min_l1_interpolant_which_recovers_the_truth(dg):
    """From the smallest start gradient descent ends a few percent from the minimum-l1
    interpolant, which recovers the sparse truth; its test error is hundreds of times smaller."""
    small = int(np.argmin(dg.alphas))
    assert np.all(dg.l1_test_error < 1e-20)  # exact recovery
    assert 0.01 < dg.dist_l1[:, small].mean() < 0.08  # quick: 4.8%
    assert np.all(dg.dist_l1[:, small] < 0.15)  # quick: at most 9.7%
    assert 5e-4 < dg.test_error[:, small].mean() < 0.01  # quick: 0.0035
    assert np.all(dg.test_error[:, small] < 0.02 * dg.l2_test_error)


def test_the_solution_moves_steadily_from_one_interpolant_to_the_other(dg):
    """As the start shrinks, the distance to the minimum-l2 interpolant grows and that to the
    minimum-l1 one and the test error fall."""
    assert np.all(np.diff(dg.dist_l2, axis=1) < 0)
    assert np.all(np.diff(dg.dist_l1, axis=1) > -1e-9)
    assert np.all(np.diff(dg.test_error, axis=1) > -1e-9)


def test_gradient_descent_ends_at_argmin_q_up_to_a_first_order_step_error(dg):
    """At every scale gradient descent is several times closer to argmin Q than to either
    interpolant and at most a few percent from it; halving the step halves the gap, and the
    extrapolation to a vanishing step lands far closer."""
    assert 0.01 < dg.dist_q.max() < 0.04  # quick: 2.4%
    closer = np.minimum(dg.dist_l1, dg.dist_l2) / dg.dist_q
    assert 3 < closer.min() < 6  # quick: 3.7
    halving = dg.gap / dg.gap_half
    assert np.all((1.9 < halving) & (halving < 2.15))  # quick: 1.97 to 2.07
    assert dg.gap_extrapolated.max() < 1e-3  # quick: 3.5e-4
    assert np.all(dg.gap_extrapolated < dg.gap_half / 8)  # quick: 15 to 100 times smaller


def test_the_diagonal_kernel_stays_put_from_a_large_start_and_changes_from_a_small_one(dg):
    """The tangent kernel's relative change is tiny from the largest start, falls like the
    scale to the power -4 over the large starts, and exceeds a hundred from the smallest."""
    big, small = int(np.argmax(dg.alphas)), int(np.argmin(dg.alphas))
    assert np.all((1e-9 < dg.kernel_change[:, big]) & (dg.kernel_change[:, big] < 1e-7))
    assert np.all(dg.kernel_change[:, small] > 300)  # quick: at least 1330
    large = dg.alphas >= 1
    slopes = [loglog_slope(dg.alphas[large], row[large]) for row in dg.kernel_change]
    assert np.all((-4.1 < np.array(slopes)) & (np.array(slopes) < -3.9))  # quick: -4.00


def test_exercise_kernel_regression_with_the_initial_kernel_is_min_l2():
    """Kernel regression with 8 scale^2 X X^T returns the minimum-l2 interpolant."""
    from generalization import diagonal_nets

    X, y, _ = diagonal_nets.sparse_regression(20, 60, 3, 0)
    K = diagonal_nets.tangent_kernel(X, np.full(60, 0.3), np.full(60, 0.3))
    w = 8 * 0.3**2 * X.T @ np.linalg.solve(K, y)
    l2 = diagonal_nets.min_l2_interpolant(X, y)
    assert np.linalg.norm(w - l2) < 1e-10 * np.linalg.norm(l2)

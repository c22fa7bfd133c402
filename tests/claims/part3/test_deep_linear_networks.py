"""Claims of book/part3/deep_linear_networks.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization.chapters.part3 import deep_linear_networks

S = deep_linear_networks.settings()


@pytest.fixture(scope="module")
def saxe():
    return deep_linear_networks.run_saxe(S)  # the chapter's call


@pytest.fixture(scope="module")
def sweep():
    return deep_linear_networks.run_depths(S)  # the chapter's call


@pytest.fixture(scope="module")
def rand():
    return deep_linear_networks.run_random(S)  # the chapter's call


def _half(result):
    return np.array([result.half_times[N] for N in result.depths])


def test_the_data_are_whitened_with_distinct_strengths_near_the_planted_ones(sweep):
    """The inputs are whitened exactly, and the singular values of Syx are distinct and close to
    those of the planted map."""
    X, Y, T = deep_linear_networks.whitened_problem(
        S["n_samples"], S["strengths"], S["noise"], S["seed"]
    )
    assert np.max(np.abs(X.T @ X / len(X) - np.eye(X.shape[1]))) < 1e-12
    assert np.allclose(np.linalg.svd(T, compute_uv=False), S["strengths"])
    assert np.all(np.diff(sweep.s) < 0)  # distinct, decreasing
    # quick: 3.996, 2.013, 0.998, 0.510 against 4, 2, 1, 0.5
    assert np.allclose(sweep.s, S["strengths"], rtol=0.05)


def test_depth_two_modes_follow_saxes_sigmoid(saxe):
    """At depth two every measured mode strength lies on Saxe et al.'s closed-form sigmoid, the
    largest gap a fraction of a percent of s."""
    assert 0 < saxe.max_deviation[-1] < 0.005  # quick: 0.31%
    # "rises along a sigmoid, in order of strength": starts near a0, ends near s
    assert np.all(np.abs(saxe.measured[0] - saxe.a0) < 1e-9)
    assert np.allclose(saxe.measured[-1], saxe.s, rtol=0.03)  # the weakest still 2% short


def test_depth_two_half_times_match_the_formula_and_come_in_order_of_strength(saxe):
    """The measured half-learning times at depth two agree with ln(s/xi0 - 1)/(2s) and grow as the
    strength falls."""
    rel = np.abs(saxe.half_measured / saxe.half_predicted - 1)
    assert np.all(rel < 0.005)  # quick: at most 0.15%
    assert np.all(rel > 0)  # a finite learning rate: not exactly the flow
    assert np.all(np.diff(saxe.half_measured) > 0)
    expected = np.log(saxe.s / saxe.a0 - 1) / (2 * saxe.s)
    assert np.allclose(saxe.half_predicted, expected)


def test_the_gap_to_the_sigmoid_is_first_order_in_the_learning_rate(saxe):
    """The gap between gradient descent and the closed form halves each time the learning rate
    halves: the Euler error of the flow."""
    lrs = np.array(saxe.lrs)
    assert np.allclose(lrs[:-1] / lrs[1:], 2.0)
    ratios = saxe.max_deviation[:-1] / saxe.max_deviation[1:]
    assert np.all((1.9 < ratios) & (ratios < 2.1))  # quick: 2.000, 1.999
    assert 0.005 < saxe.max_deviation[0] < 0.05  # quick: 1.25% at lr = 0.004


def test_depth_one_learns_all_modes_at_once(sweep):
    """Depth one half-learns every mode at about ln 2, all within a few thousandths of each
    other."""
    half = sweep.half_times[1]
    assert np.all(np.abs(half - np.log(2)) < 0.01)  # quick: 0.688 to 0.689
    assert np.ptp(half) < 0.01  # quick: 1.7e-3


def test_deeper_networks_learn_one_mode_at_a_time_strongest_first(sweep):
    """From depth two on, the modes are half learned one after another, in order of strength."""
    for N in sweep.depths[1:]:
        assert np.all(np.diff(sweep.half_times[N]) > 0.5)  # quick: gaps of 0.85 and more


def test_every_half_learning_time_and_every_plateau_grows_with_depth(sweep):
    """Every mode's half-learning time, and every plateau between consecutive modes, grows
    strictly with depth."""
    half = _half(sweep)
    gaps = np.array([sweep.gaps[N] for N in sweep.depths])
    assert np.all(np.diff(half, axis=0) > 0)
    assert np.all(np.diff(gaps, axis=0) > 0)
    # "the weakest needs 6.1 at depth two and 30.2 at depth four, 4.9 times as long"
    ratio = half[-1, -1] / half[1, -1]
    assert 3 < ratio < 8  # quick: 4.94
    # "the plateau between the last two modes grows from 2.6 to 14.6"
    assert 2 < gaps[1, -1] < 4 and 10 < gaps[-1, -1] < 20


def test_measured_half_times_match_the_depth_n_flow(sweep):
    """Every measured half-learning time is within a few percent of the depth-J flow
    dxi/dt = J xi^(2-2/J)(s - xi)."""
    half, flow = _half(sweep), np.array([sweep.flow_half_times[N] for N in sweep.depths])
    rel = np.abs(half / flow - 1)
    assert np.max(rel) < 0.03  # quick: 1.5%
    assert np.max(rel) > 1e-4  # gradient descent is not the flow


def test_the_loss_is_mostly_the_strongest_mode(sweep):
    """The strongest mode carries about three quarters of the initial loss and the weakest about
    one percent, though the last plateau takes about half the time."""
    share = sweep.s**2 / 2 / sweep.initial_loss
    assert 0.65 < share[0] < 0.85  # quick: 75%
    assert 0.15 < share[1:].sum() < 0.35  # quick: 25%
    assert 0.005 < share[-1] < 0.02  # quick: 1.2%
    N = max(sweep.depths)
    last_gap_share = sweep.gaps[N][-1] / sweep.half_times[N][-1]
    assert 0.35 < last_gap_share < 0.6  # quick: 48%
    # "a saddle where the loss curve is all but flat": over the middle half of the last plateau
    # the loss falls by under one percent of its initial value
    t, gap = sweep.times[N], sweep.gaps[N][-1]
    start, end = sweep.half_times[N][-2] + gap / 4, sweep.half_times[N][-1] - gap / 4
    loss = np.interp([start, end], t, sweep.losses[N])
    assert 0 < (loss[0] - loss[1]) / sweep.initial_loss < 0.01


def test_every_depth_reaches_the_least_squares_map(sweep, rand):
    """Trained to the end, every depth, from either start, reaches numpy.linalg.lstsq's map to
    within rounding, and the loss is the noise level."""
    X, Y, _ = deep_linear_networks.whitened_problem(
        S["n_samples"], S["strengths"], S["noise"], S["seed"]
    )
    lstsq = np.linalg.lstsq(X, Y, rcond=None)[0].T
    assert np.max(np.abs(sweep.lstsq_map - lstsq)) < 1e-12
    for result in (sweep, rand):
        for N in result.depths:
            assert result.lstsq_gap[N] < 1e-9  # quick: at most 2.1e-14
            assert np.max(np.abs(result.final_map[N] - lstsq)) < 1e-9
    final = sweep.losses[max(sweep.depths)][-1]
    noise_floor = 0.5 * np.sum((X @ lstsq.T - Y) ** 2) / len(X)
    assert abs(final - noise_floor) < 1e-10  # quick: 0.0190
    assert 0.01 < final < 0.03


def test_every_depth_expresses_the_least_squares_map(sweep):
    """Balanced factors of every depth multiply back to the least-squares map to within
    rounding."""
    for N in sweep.depths:
        assert sweep.factor_gap[N] < 1e-12  # quick: 1.4e-15


def test_random_small_start_learns_in_the_same_order(rand):
    """From a small random start the modes are again learned one by one in order of strength,
    later for the deeper network."""
    half = _half(rand)
    assert np.all(np.diff(half, axis=1) > 0.3)  # quick: gaps of 0.55 and more
    assert np.all(half[1] > half[0])
    # quick: 0.93 and 6.46 at depth 2, 31.4 for the weakest at depth 3
    assert 0.5 < half[0, 0] < 1.5 and 4 < half[0, -1] < 9 and 20 < half[1, -1] < 45


def test_exercise_smaller_start_costs_depth_four_a_factor_near_root_ten():
    """Dividing xi0 by ten adds about ln(10)/(2 s) at depth two and multiplies the time by about
    the square root of ten at depth four."""
    s1, a0 = 3.9964, S["scale"]
    grow2 = deep_linear_networks.flow_half_times(
        s1, a0 / 10, 2
    ) - deep_linear_networks.flow_half_times(s1, a0, 2)
    assert abs(grow2 - np.log(10) / (2 * s1)) < 1e-3  # 0.2881 against 0.2881
    ratio4 = deep_linear_networks.flow_half_times(
        s1, a0 / 10, 4
    ) / deep_linear_networks.flow_half_times(s1, a0, 4)
    assert abs(ratio4 - np.sqrt(10)) < 0.1  # 3.18 against 3.16


def test_ledger_formula_rows_agree_with_the_measurements(saxe):
    """In the ledger, the paper's formula and our gradient descent agree on both half-learning
    times to a fraction of a percent."""
    for i in (0, -1):
        assert abs(saxe.half_measured[i] / saxe.half_predicted[i] - 1) < 0.005

import numpy as np
import pytest

from generalization.chapters.part3 import deep_linear_networks
from generalization.deep_linear import saxe_trajectory, train_deep_linear


def test_whitened_problem_whitens_and_plants_the_strengths():
    X, Y, T = deep_linear_networks.whitened_problem(50, (3.0, 1.0, 0.2), noise=0.0, seed=4)
    assert X.shape == (50, 3) and Y.shape == (50, 3)
    np.testing.assert_allclose(X.T @ X / 50, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(T, compute_uv=False), (3.0, 1.0, 0.2))
    np.testing.assert_allclose(Y, X @ T.T)  # no noise: Syx = T exactly
    np.testing.assert_allclose(Y.T @ X / 50, T, atol=1e-12)
    again = deep_linear_networks.whitened_problem(50, (3.0, 1.0, 0.2), noise=0.0, seed=4)
    np.testing.assert_array_equal(again[0], X)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(strengths=(1.0, 1.0)), "strengths must be distinct"),
        (dict(strengths=(1.0, 0.0)), "strengths must be a non-empty sequence of positive"),
        (dict(n_samples=3), "n_samples must be an integer of at least 4"),
        (dict(noise=-0.1), "noise must be a non-negative number"),
    ],
)
def test_whitened_problem_rejects_bad_input(kwargs, message):
    args = dict(n_samples=20, strengths=(2.0, 1.0), noise=0.1, seed=0) | kwargs
    with pytest.raises(ValueError, match=message):
        deep_linear_networks.whitened_problem(**args)


def test_least_squares_map_is_syx_for_whitened_inputs():
    X, Y, _ = deep_linear_networks.whitened_problem(40, (2.0, 1.0), noise=0.3, seed=1)
    np.testing.assert_allclose(
        deep_linear_networks.least_squares_map(X, Y), Y.T @ X / 40, atol=1e-12
    )


def test_half_times_interpolate_linearly():
    times = np.array([0.0, 1.0, 2.0, 3.0])
    strengths = np.array([[0.0, 0.0], [1.0, 0.1], [2.0, 0.2], [2.0, 0.3]])
    # mode 0: reaches 1.5 halfway between t = 1 and t = 2; mode 1 never reaches 0.5
    half = deep_linear_networks.half_times(times, strengths, s=np.array([3.0, 1.0]))
    assert half[0] == pytest.approx(1.5)
    assert np.isnan(half[1])
    # a mode already past half at t = 0 is half learned at the first time
    assert deep_linear_networks.half_times(times, strengths + 5, s=np.array([3.0, 1.0]))[0] == 0.0


@pytest.mark.parametrize(
    "times, strengths, s, message",
    [
        (np.arange(3.0), np.zeros((3, 2)), np.ones(3), "strengths must have shape"),
        (np.array([0.0, 2.0, 1.0]), np.zeros((3, 1)), np.ones(1), "times must be increasing"),
        (np.arange(3.0), np.zeros((3, 1)), np.zeros(1), "s must be positive"),
    ],
)
def test_half_times_rejects_bad_input(times, strengths, s, message):
    with pytest.raises(ValueError, match=message):
        deep_linear_networks.half_times(times, strengths, s)


def test_saxe_half_times_are_where_the_sigmoid_crosses_half():
    s = np.array([4.0, 1.0, 0.3])
    t_half = deep_linear_networks.saxe_half_times(s, 1e-3)
    for i in range(s.size):
        a = saxe_trajectory(s[i], 1e-3, 1.0, t_half[i])
        assert a == pytest.approx(s[i] / 2, rel=1e-12)
    with pytest.raises(ValueError, match="s must exceed a0"):
        deep_linear_networks.saxe_half_times(np.array([1e-4]), 1e-3)


def test_flow_half_times_match_the_closed_forms_of_depths_one_and_two():
    s, a0 = np.array([4.0, 0.5]), 1e-3
    np.testing.assert_allclose(
        deep_linear_networks.flow_half_times(s, a0, 1), np.log(2 * (s - a0) / s), rtol=1e-9
    )
    np.testing.assert_allclose(
        deep_linear_networks.flow_half_times(s, a0, 2),
        deep_linear_networks.saxe_half_times(s, a0),
        rtol=1e-9,
    )
    assert np.shape(deep_linear_networks.flow_half_times(2.0, a0, 3)) == ()


def test_flow_half_times_of_depth_n_follow_the_power_law_for_small_starts():
    # t ~ a0^(-(N-2)/N) / ((N-2) s) to leading order in a0
    s, a0 = 1.0, 1e-8
    for depth in (3, 4, 6):
        approx = a0 ** (-(depth - 2) / depth) / ((depth - 2) * s)
        assert deep_linear_networks.flow_half_times(s, a0, depth) == pytest.approx(approx, rel=0.02)


def test_flow_half_times_agree_with_gradient_descent_at_a_small_learning_rate():
    X, Y, _ = deep_linear_networks.whitened_problem(40, (2.0, 1.0), noise=0.0, seed=2)
    run = train_deep_linear(X, Y, depth=3, hidden=2, lr=1e-3, num_steps=12000, scale=1e-2)
    half = deep_linear_networks.half_times(run.times, run.mode_strengths, run.s)
    np.testing.assert_allclose(
        half, deep_linear_networks.flow_half_times(run.s, 1e-2, 3), rtol=0.01
    )


def test_flow_half_times_rejects_bad_input():
    with pytest.raises(ValueError, match="s must exceed 2 a0"):
        deep_linear_networks.flow_half_times(1e-3, 1e-3, 2)
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        deep_linear_networks.flow_half_times(1.0, 1e-3, 0)


def test_saxe_comparison_rejects_bad_learning_rates():
    with pytest.raises(ValueError, match="lrs must be a non-empty sequence of positive"):
        deep_linear_networks.saxe_comparison.uncached(
            20, (2.0, 1.0), 0.1, 1e-3, (0.01, -0.01), 1.0, 0
        )


def test_sweep_records_every_depth_and_the_least_squares_gap():
    result = deep_linear_networks.depth_sweep.uncached(
        n_samples=30,
        strengths=(2.0, 1.0),
        noise=0.1,
        scale=1e-2,
        depths=(1, 2),
        lr=0.02,
        total_time=30.0,
        seed=0,
    )
    assert result.depths == (1, 2)
    for N in (1, 2):
        assert result.singular_values[N].shape == (result.times[N].size, 2)
        np.testing.assert_allclose(result.gaps[N], np.diff(result.half_times[N], prepend=0.0))
        assert result.lstsq_gap[N] < 1e-8
    with pytest.raises(ValueError, match="depths must be a non-empty sequence of distinct"):
        deep_linear_networks.depth_sweep.uncached(30, (2.0, 1.0), 0.1, 1e-2, (2, 2), 0.02, 1.0, 0)

"""Claims of book/part4/finite_vs_infinite.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization.chapters.part4 import finite_vs_infinite as fv

S = fv.settings()


@pytest.fixture(scope="module")
def result():
    return fv.experiment(**S)  # the chapter's call


def test_nngp_and_ntk_regression_reach_a_similar_test_error(result):
    """The two kernel regressors classify the test images about equally well."""
    assert 0.07 < result.ntk_error < 0.11  # quick: 0.091
    assert 0.08 < result.nngp_error < 0.12  # quick: 0.100
    assert abs(result.nngp_error - result.ntk_error) < 0.03  # quick: 0.009


def test_infinite_network_after_the_same_steps_is_not_yet_the_kernel_regressor(result):
    """After the chapter's steps the infinitely wide network errs more than its limit."""
    assert 0.12 < result.gd_error < 0.16  # quick: 0.139
    assert result.gd_error - result.ntk_error > 0.03  # quick: 0.048


def test_plain_networks_trail_the_kernels_at_every_width(result):
    """Every plain network errs several times more than the kernels, at every width."""
    assert np.all(result.error > 0.4)  # quick: 0.47 to 0.60
    assert np.all(result.error < 0.7)
    assert np.all(result.error > 3 * result.ntk_error)


def test_plain_networks_do_not_approach_the_mean_kernel_predictor(result):
    """The distance of a plain network to the infinite width mean prediction does not shrink
    with width: the random initial function stays."""
    d = result.distance.mean(axis=1)
    assert np.all(result.distance > 0.9)  # quick: 1.01 to 1.92
    assert d[-1] > d[0]  # quick: 1.88 against 1.02


def test_same_init_distance_falls_like_one_over_root_width(result):
    """Against the infinitely wide network started from the same f_0, the distance falls with
    width at a log-log slope near minus one half."""
    d = result.same_init_distance.mean(axis=1)
    assert np.all(np.diff(d) < 0)  # quick: 0.80, 0.47, 0.24
    slope = np.polyfit(np.log(result.widths), np.log(d), 1)[0]
    assert -0.6 < slope < -0.3  # quick: -0.43


def test_centred_networks_approach_the_kernel_predictor(result):
    """Centred networks come closer to the infinite width predictions as they widen, and the
    widest errs about as much as the infinitely wide network after the same steps."""
    d = result.centred_distance.mean(axis=1)
    assert np.all(np.diff(d) < 0)  # quick: 0.51, 0.26, 0.15
    assert d[-1] < 0.2
    e = result.centred_error.mean(axis=1)
    assert 0 < e[-1] - result.gd_error < 0.02  # quick: 0.006
    assert e[0] - result.gd_error > 0.04  # quick: 0.073
    assert np.all(result.centred_error < result.error)


def test_ensembles_approach_the_mean_predictor_like_one_over_root_size(result):
    """Averaging plain networks shrinks the distance to the mean predictor about like one over
    the square root of the ensemble size, and the error with it."""
    d, e = result.ensemble_distance, result.ensemble_error
    assert np.all(np.diff(d) < 0) and np.all(np.diff(e) < 0)
    ratio = d[-1] / d[0] * np.sqrt(result.ensemble_sizes[-1])
    assert 0.8 < ratio < 1.2  # quick: 1.01
    assert e[-1] < 0.25  # quick: 0.206 (one network: 0.50)


def test_a_step_beyond_the_edge_helps_plain_networks_but_not_centred_ones(result):
    """With a step beyond the infinite network's stability edge, plain networks err less and
    centred ones more than with the chapter's step; none beats the NTK regressor."""
    k = list(result.widths).index(S["large_lr_width"])
    assert np.all(result.large_lr_error < result.error[k].min())  # quick: 0.38-0.39 vs 0.52
    assert result.large_lr_centred_error.min() > result.centred_error[k].max()  # 0.18 vs 0.15
    assert np.all(result.large_lr_centred_error > result.ntk_error + 0.05)
    assert np.all(result.large_lr_distance > result.centred_distance[k].max())  # 0.70 vs 0.15

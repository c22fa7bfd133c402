"""Claims of book/part4/gd_global_minima.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization.chapters.part4 import gd_global_minima as gm
from generalization.fit import loglog_slope

S = gm.settings()


@pytest.fixture(scope="module")
def result():
    return gm.experiment(**S)  # the chapter's call


def _wide(result, smallest=64):
    widths = np.array(result.widths)
    return widths >= smallest


def test_loss_stays_below_the_theorem_bound_at_every_step_width_and_seed(result):
    """||u(k) - y||^2 <= (1 - lr lambda_0 / 2)^k ||u(0) - y||^2 for every k >= 1, with room."""
    ratio = (result.loss / gm.bound(result))[..., 1:]
    assert np.all(ratio.max(axis=-1) < 0.7)  # quick: 0.16 to 0.44
    assert np.all(ratio.max(axis=-1) > 0.08)


def test_wide_networks_reach_a_global_minimum(result):
    """From width 64 the loss falls by more than ten orders of magnitude; width 16 lags
    behind every wider network of its seed."""
    wide = _wide(result)
    drop = result.loss[..., -1] / result.loss[..., 0]
    assert np.all(drop[:, wide] < 1e-10)  # quick: 8e-17 to 1.2e-13
    assert np.all(drop[:, 0] > 10 * drop[:, wide].max(axis=1))  # quick: 180 to 1e8 times


def test_gram_at_init_approaches_h_infinity_like_one_over_root_m(result):
    """||H(0) - H^inf||_2 falls with slope about -1/2 in log-log from width 64, and is below
    lambda_0 / 4 at the largest width but above lambda_0 at width 16."""
    wide = _wide(result)
    slopes = loglog_slope(np.array(result.widths)[wide], result.init_gap[:, wide])
    assert np.all((-0.62 < slopes) & (slopes < -0.38))  # quick: -0.50 to -0.45
    assert np.all(result.init_gap[:, -1] < result.lambda_0 / 4)  # quick: 0.10 to 0.14 lambda_0
    assert np.all(result.init_gap[:, 0] > result.lambda_0)  # quick: 2.5 to 4.1 lambda_0


def test_gram_drift_during_training_shrinks_at_least_like_one_over_root_m(result):
    """||H(K) - H(0)||_2 falls with slope between -0.8 and -0.45 from width 64."""
    wide = _wide(result)
    slopes = loglog_slope(np.array(result.widths)[wide], result.drift[:, wide])
    assert np.all((-0.8 < slopes) & (slopes < -0.45))  # quick: -0.65 to -0.58


def test_smallest_eigenvalue_of_the_gram_matrix_stays_near_lambda_0_when_wide(result):
    """From width 1024 lambda_min(H(K)) is within 5% of lambda_0; at width 16 it falls below
    lambda_0 / 2 for some seed."""
    widths = np.array(result.widths)
    ratio = result.eig_final / result.lambda_0
    assert np.all(np.abs(ratio[:, widths >= 1024] - 1) < 0.05)  # quick: 0.985 to 1.005
    assert np.min(ratio[:, 0]) < 0.5  # quick: 0.16 to 0.78


def test_weights_move_like_one_over_root_m_and_within_lemma_radius(result):
    """max_r ||w_r(K) - w_r(0)|| falls with slope about -1/2 and stays below Lemma 3.3's R'."""
    wide = _wide(result)
    widths = np.array(result.widths)
    slopes = loglog_slope(widths[wide], result.move[:, wide])
    assert np.all((-0.62 < slopes) & (slopes < -0.38))  # quick: -0.52 to -0.45
    radius = gm.lemma_radius(result.n_samples, widths, result.loss[..., 0], result.lambda_0)
    assert np.all(result.move < 0.2 * radius)  # quick: 0.046 to 0.095 of R'


def test_fewer_activation_patterns_flip_in_wider_networks(result):
    """The fraction of flipped patterns falls with slope about -1/2 from width 64."""
    wide = _wide(result)
    slopes = loglog_slope(np.array(result.widths)[wide], result.flips[:, wide])
    assert np.all((-0.65 < slopes) & (slopes < -0.38))  # quick: -0.55 to -0.47
    assert np.all(np.diff(result.flips.mean(axis=0)) < 0)


def test_our_widths_and_step_are_far_from_the_theorem_conditions(result):
    """The theorem's width n^6 / (lambda_0^4 delta^3) at delta = 0.1 exceeds our largest width
    by more than nine orders of magnitude; its step lambda_0 / n^2 is over a thousand times
    smaller than ours."""
    m_req = gm.theorem_width(result.n_samples, result.lambda_0, 0.1)
    assert 1e9 < m_req / max(result.widths) < 1e13  # quick: about 2e11
    assert 1e3 < result.lr / gm.theorem_lr(result.n_samples, result.lambda_0) < 1e5  # ~4400

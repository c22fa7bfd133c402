"""Claims of book/part3/max_margin.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization import geometry
from generalization.chapters.part3 import max_margin as mm

S = mm.settings()


@pytest.fixture(scope="module")
def lin():
    return mm.linear_experiment(**S["linear"])  # the chapter's call


@pytest.fixture(scope="module")
def net():
    return mm.network_experiment(**S["network"])  # the chapter's call


def _late(lin):
    steps = np.array(lin.checkpoints, dtype=float)
    return steps, steps >= steps[-1] / 100


def test_norm_grows_like_norm_of_w_hat_times_log_t(lin):
    """Over the last two decades the norm grows linearly in log t with slope close to ||w_hat||."""
    steps, late = _late(lin)
    for s in range(len(lin.seeds)):
        slope = np.polyfit(np.log(steps[late]), lin.norm[s, late], 1)[0]
        assert 0.8 < slope / lin.hat_norm[s] < 1.2  # quick: about 0.95 to 1.0


def test_residual_w_minus_w_hat_log_t_stays_bounded(lin):
    """The residual ||w_t - w_hat log t|| changes by much less than ||w_hat log t|| grows."""
    steps, late = _late(lin)
    first = int(np.argmax(late))
    growth = np.abs(lin.residual[:, -1] - lin.residual[:, first])
    hat_growth = lin.hat_norm * np.log(steps[-1] / steps[first])
    assert np.all(growth < 0.25 * hat_growth)


def test_angle_shrinks_like_one_over_log_t(lin):
    """The angle to w_hat falls over the last two decades while angle x log t stays within a
    factor of two."""
    steps, late = _late(lin)
    first = int(np.argmax(late))
    product = lin.angle * np.log(steps)
    assert np.all(lin.angle[:, -1] < lin.angle[:, first])
    assert np.all(lin.angle[:, -1] > 0.2)  # quick: a degree or more: the slow rate
    ratio = product[:, late].max(axis=1) / product[:, late].min(axis=1)
    assert np.all(ratio < 2)  # quick: about 1.1 to 1.3


def test_loss_falls_like_one_over_t(lin):
    """Over the last two decades t x loss changes by less than a quarter while the loss falls
    a hundredfold."""
    steps, late = _late(lin)
    first = int(np.argmax(late))
    lt = lin.loss * steps
    assert np.all(np.abs(lt[:, -1] / lt[:, first] - 1) < 0.25)  # quick: 0.08 to 0.13
    assert np.all(lin.loss[:, -1] < lin.loss[:, first] / 50)


def test_gradient_descent_margin_approaches_the_max_margin(lin):
    """At the last step the normalized margin is close to, but below, the largest possible."""
    assert np.all((0.85 < lin.gd_margin) & (lin.gd_margin < 1.0))  # quick: about 0.94


def test_adam_does_not_follow_gradient_descent_to_w_hat(lin):
    """Adam's angle to the l2 separator is not monotone and stays degrees away at its last step."""
    assert np.all(lin.adam_angle[:, -1] > 0.5)  # quick: about 2 to 3 degrees
    assert np.all(lin.adam_angle[:, -1] < 20)
    assert np.all((0.5 < lin.adam_margin[:, -1]) & (lin.adam_margin[:, -1] < 1.0))


def test_the_xor_task_is_not_linearly_separable(net):
    """No hyperplane through the origin separates any of the XOR-plus-noise data sets."""
    assert not net.linear_separable


def test_network_margin_grows_with_width_then_stays(net):
    """Narrow networks do not separate the data; from width 8 on the margin is positive and the
    same at every width."""
    widths = np.array(net.widths)
    last = net.margin[:, :, -1]
    assert np.all(last[:, widths < 8] < 1e-3)
    wide = last[:, widths >= 8]
    assert np.all(wide > 0.1)  # quick: about 0.165
    assert np.all(np.ptp(wide, axis=1) < 0.02 * wide.mean())
    assert np.all(net.train_error[:, widths >= 8] == 0)


def test_smaller_penalty_gives_larger_margin(net):
    """For the wide networks the normalized margin rises as the penalty is lowered."""
    widths = np.array(net.widths)
    m = net.margin[:, widths >= 8, :]
    assert np.all(np.diff(m, axis=-1) > 0)


def test_network_margin_beats_the_tangent_kernel_margin(net):
    """At every width that fits the data, the trained network's margin is at least twice the
    max margin of its neural tangent kernel at initialization, which is positive."""
    widths = np.array(net.widths)
    wide = widths >= 8
    kernel = net.kernel_margin[:, wide]
    assert np.all(kernel > 0.01)  # quick: 0.04 to 0.08
    assert np.all(net.margin[:, wide, -1] > 1.8 * kernel)  # quick: 2 to 4 times


def test_kernel_max_margin_with_linear_kernel_is_the_linear_max_margin():
    """With the linear kernel the dual max margin equals 1 / ||w_hat|| (second exercise)."""
    X, y = mm.separable_data(0, S["linear"]["n_samples"], S["linear"]["n_features"])
    value = mm.kernel_max_margin(X @ X.T, y)[1]
    assert value == pytest.approx(1 / np.linalg.norm(geometry.max_margin(X, y)), rel=1e-5)

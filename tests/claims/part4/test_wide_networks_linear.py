"""Claims of book/part4/wide_networks_linear.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization.chapters.part4 import wide_networks_linear as wnl
from generalization.fit import loglog_slope

S = wnl.settings()


@pytest.fixture(scope="module")
def sweep():
    return wnl.width_sweep(S["problem"], threads=S["threads"], **S["sweep"])  # the chapter's call


@pytest.fixture(scope="module")
def check():
    return wnl.closed_form_check(S["problem"], threads=S["threads"], **S["check"])


@pytest.fixture(scope="module")
def rate():
    return wnl.learning_rate_experiment(S["problem"], threads=S["threads"], **S["rate"])


def test_training_moves_the_linearized_outputs_by_order_one(sweep):
    """After the last step the linearization's test outputs have moved by about one (RMS)."""
    moved = sweep.moved[:, :, -1]
    assert np.all((0.7 < moved) & (moved < 2.0))  # quick: 0.88 to 1.51, mean 1.08


def test_gap_between_network_and_linearization_shrinks_with_width(sweep):
    """The test-image gap falls at every doubling of the width (seed means) and is several
    times smaller at the widest than at the narrowest."""
    gap = sweep.gap[:, :, -1]
    assert np.all(np.diff(gap.mean(0)) < 0)  # quick: 0.116, 0.061, 0.036, 0.021, 0.012
    ratio = gap[:, 0].mean() / gap[:, -1].mean()
    assert 6 < ratio < 14  # quick: 9.7
    assert 0.08 < gap[:, 0].mean() < 0.16  # quick: 0.116 +- 0.010
    assert 0.008 < gap[:, -1].mean() < 0.016  # quick: 0.0119 +- 0.0003


def test_gap_at_the_widest_is_about_one_percent_of_the_movement(sweep):
    """At the widest the gap is a percent or so of how far the outputs moved."""
    share = sweep.gap[:, -1, -1].mean() / sweep.moved[:, -1, -1].mean()
    assert 0.006 < share < 0.02  # quick: 0.0117


def test_gap_on_training_images_matches_the_test_gap(sweep):
    """On the training images the gap at the widest is the same size as on the test images."""
    train, test = sweep.gap_train[:, -1, -1].mean(), sweep.gap[:, -1, -1].mean()
    assert 0.7 < train / test < 1.3  # quick: 0.0117 vs 0.0119


def test_gap_falls_faster_than_the_theorem_bound(sweep):
    """The fitted log-log slope of the gap is steeper than -1/2 and shallower than -1."""
    slopes = loglog_slope(sweep.widths, sweep.gap[:, :, -1])
    assert np.all((-0.95 < slopes) & (slopes < -0.65))  # quick: -0.80, -0.77, -0.85
    assert slopes.mean() < -0.6


def test_relative_weight_change_falls_like_inverse_square_root_of_width(sweep):
    """The relative change of the weights falls along a slope of -1/2 within the seed spread."""
    slopes = loglog_slope(sweep.widths, sweep.weight_change)
    assert np.all((-0.56 < slopes) & (slopes < -0.44))  # quick: -0.508, -0.486, -0.492
    change = sweep.weight_change
    assert 0.022 < change[:, 0].mean() < 0.034  # quick: 0.028
    assert 0.005 < change[:, -1].mean() < 0.009  # quick: 0.0068


def test_network_and_linearization_classify_alike(sweep):
    """At the widest, network and linearization have nearly the same test accuracy, both low."""
    net, lin = sweep.net_accuracy[:, -1].mean(), sweep.lin_accuracy[:, -1].mean()
    assert abs(net - lin) < 0.02  # quick: 0.214 vs 0.211
    assert 0.12 < net < 0.35


def test_closed_form_is_the_trained_linearized_model(check):
    """The closed form with the empirical NTK matches the trained linearization to rounding."""
    assert check.error_empirical < 1e-10  # quick: 1.8e-14 (float64)
    assert 0.7 < check.scale < 1.4  # quick: 1.01


def test_infinite_width_kernel_misses_by_a_fifth_of_the_movement(check):
    """With the infinite-width NTK the closed form is off by a visible fraction at width 128."""
    share = check.error_infinite / check.scale
    assert 0.1 < share < 0.35  # quick: 0.206


def test_eta_critical_is_close_to_eta_max(rate):
    """lambda_min is tiny next to lambda_max, so 2n/(lmin+lmax) is within a percent of 2n/lmax."""
    assert rate.lambda_min / rate.lambda_max < 0.01  # quick: 0.226 / 190 = 0.0012
    assert 0.99 < rate.eta_critical / rate.eta_max < 1.0
    n = S["problem"]["n_train"]
    assert 150 < rate.lambda_max < 230  # quick: 190.2
    assert rate.eta_max == pytest.approx(2 * n / rate.lambda_max)


def test_below_eta_max_network_and_linearization_converge_together(rate):
    """At 0.9 eta_max both losses fall monotonically to the same value within a few percent."""
    net, lin = rate.net_loss[0], rate.lin_loss[0]
    assert np.all(np.diff(net) < 0) and np.all(np.diff(lin) < 0)
    assert net[-1] < net[0] / 8  # quick: 9.27 -> 0.638
    assert abs(net[-1] / lin[-1] - 1) < 0.05  # quick: 0.638 vs 0.613: 4 percent


def test_above_eta_max_linearization_diverges(rate):
    """At 1.1 eta_max the linearized loss grows by orders of magnitude."""
    lin = rate.lin_loss[-1]
    assert lin[-1] > 1e4 * lin[0]  # quick: 9.27 -> 1.2e6
    assert np.all(np.diff(lin[5:]) > 0)


def test_above_eta_max_network_catapults_and_converges(rate):
    """At 1.1 eta_max the network's loss first rises, then falls below its start, and its
    kernel's top eigenvalue ends below the value at which the step is stable."""
    net = rate.net_loss[-1]
    peak = int(np.argmax(net))
    assert 1 <= peak <= 15  # quick: step 4
    assert net[peak] > 1.05 * net[0]  # quick: 10.8 vs 9.27
    assert net[-1] < net[0] / 8  # quick: 0.498
    lr = rate.ratios[-1] * rate.eta_max
    limit = 2 * S["problem"]["n_train"] / lr
    assert rate.lambda_max_end[-1] < limit  # quick: 163.0 < 172.9
    assert rate.lambda_max_end[-1] < rate.lambda_max_end[0]  # quick: 163.0 < 182.5

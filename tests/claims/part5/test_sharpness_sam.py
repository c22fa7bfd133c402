"""Claims of book/part5/sharpness_sam.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization.chapters.part5 import sharpness_sam as ss

S = ss.settings()


@pytest.fixture(scope="module")
def edge():
    return ss.edge_of_stability(**S["edge"])  # the chapter's call


@pytest.fixture(scope="module")
def cmp_():
    return ss.compare(**S["compare"])  # the chapter's call


def _late_mean(edge):
    late = edge.steps >= edge.steps[-1] / 2
    return edge.sharpness[:, late].mean(axis=1)


def _columns(cmp_):
    names = list(cmp_.methods)
    return (names.index(k) for k in ("SGD", "SAM", "n-SAM"))


def test_gradient_descent_sharpness_settles_at_or_just_above_two_over_lr(edge):
    """Over the second half of training the sharpness of full-batch GD is at 2 / lr or just above,
    for every learning rate."""
    ratio = _late_mean(edge) * np.array(edge.lrs) / 2
    assert np.all((0.95 < ratio) & (ratio < 1.3))  # quick: 0.99, 1.04, 1.15


def test_initial_sharpness_sits_between_the_thresholds_and_the_small_step_overshoots(edge):
    """The sharpness at initialization is below 2 / lr for the smallest step, above it for the
    two larger ones (more than twice the largest step's), and the smallest step overshoots."""
    threshold = 2 / np.array(edge.lrs)
    start = edge.sharpness[0, 0]
    assert threshold[1] < start < threshold[0]  # quick: 8 < 12.8 < 13.3
    assert 2 * threshold[2] < start < 3 * threshold[2]  # quick: 2.56 times
    assert threshold[0] < edge.sharpness[0, 1] < 1.3 * threshold[0]  # quick: 14.7


def test_larger_steps_end_flatter(edge):
    """The three runs end at three different sharpnesses, lower for larger steps."""
    assert np.all(np.diff(_late_mean(edge)) < -1.0)  # quick: 13.3, 8.4, 5.7


def test_gradient_descent_loss_keeps_falling(edge):
    """The training loss falls by a factor of five to fifty at every step size."""
    drop = edge.loss[:, -1] / edge.loss[:, 0]
    assert np.all((0.02 < drop) & (drop < 0.2))  # quick: 0.105, 0.065, 0.047


def test_sam_and_n_sam_end_much_flatter_than_sgd_at_equal_lr(cmp_):
    """At one learning rate, SAM and n-SAM end at a fraction of SGD's sharpness in every seed."""
    sgd, sam, nsam = _columns(cmp_)
    for m in (sam, nsam):
        ratio = cmp_.sharpness[:, m] / cmp_.sharpness[:, sgd]
        assert np.all((0.35 < ratio) & (ratio < 0.95))  # quick: 0.49 to 0.84
        assert 0.45 < ratio.mean() < 0.75  # quick: 0.60 (SAM), 0.61 (n-SAM)


def test_sgd_is_well_below_the_full_batch_threshold(cmp_):
    """Every run ends well below 2 / lr, the threshold of full-batch descent at that step."""
    assert 0.3 < cmp_.sharpness.max() * cmp_.lr / 2 < 0.8  # quick: 0.61 (SGD, seed 0)


def test_every_run_fits_its_training_set(cmp_):
    """All runs end with training error of at most one and a half percent."""
    assert 0.0 <= cmp_.train_error.max() < 0.015  # quick: 0.008


def test_test_error_changes_are_within_the_noise(cmp_):
    """Neither SAM nor n-SAM changes the test error of SGD by more than the noise, and n-SAM is
    within the noise of SAM."""
    sgd, sam, nsam = _columns(cmp_)
    p = cmp_.test_error.mean()
    binomial = 100 * np.sqrt(p * (1 - p) / S["compare"]["n_test"])  # quick: 0.45 points
    d_sam = 100 * (cmp_.test_error[:, sam] - cmp_.test_error[:, sgd])  # quick: -0.56, -0.62, 0.64
    d_nsam = 100 * (cmp_.test_error[:, nsam] - cmp_.test_error[:, sgd])  # -0.58, -1.28, 0.48
    assert np.all(np.abs(d_sam) < 4 * binomial) and np.all(np.abs(d_nsam) < 4 * binomial)
    assert abs(d_sam.mean()) < 2 * binomial  # quick: -0.18
    assert abs(d_nsam.mean()) < 2 * binomial  # quick: -0.46
    assert abs((d_nsam - d_sam).mean()) < binomial  # quick: -0.28
    assert 0.08 < p < 0.15  # quick: 0.115


def test_sgd_at_a_smaller_step_is_sharper_than_any_run_at_the_larger(cmp_):
    """SGD at the smaller learning rate ends far sharper than SGD or SAM at the larger one."""
    sgd, _, _ = _columns(cmp_)
    ratio = cmp_.small_lr_sharpness / cmp_.sharpness[:, sgd]
    assert np.all((1.3 < ratio) & (ratio < 3.0))  # quick: 1.55, 1.70, 2.11

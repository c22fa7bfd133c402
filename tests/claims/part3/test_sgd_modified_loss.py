"""Claims of book/part3/sgd_modified_loss.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization import modified_loss
from generalization.chapters.part3 import sgd_modified_loss as sml

S = sml.settings()
SGD, GD, PEN = (sml.RECIPES.index(r) for r in ("SGD", "GD", "GD + penalty"))


@pytest.fixture(scope="module")
def orders():
    return sml.orders_experiment(**S["orders"])  # the chapter's call


@pytest.fixture(scope="module")
def mn():
    return sml.mnist_experiment(**S["mnist"])  # the chapter's call


@pytest.fixture(scope="module")
def small():
    return sml.mnist_experiment(**S["mnist_small_lr"])  # the chapter's call


# --- the three orders on the toy network -------------------------------------------------


def test_gradient_descent_is_first_order_close_to_the_flow_of_the_loss(orders):
    """Gradient descent's distance to the gradient flow of L falls with slope one."""
    slopes = orders.slopes["gd_vs_flow"]
    assert np.all((1.0 < slopes) & (slopes < 1.04))  # quick: 1.017 to 1.020


def test_gradient_descent_is_second_order_close_to_the_flow_of_its_modified_loss(orders):
    """Gradient descent's distance to the flow of L + (lr/4)||grad L||^2 falls with slope two."""
    slopes = orders.slopes["gd_vs_modified"]
    assert np.all((1.97 < slopes) & (slopes < 2.01))  # quick: 1.987 to 1.996


def test_at_the_smallest_lr_gd_is_about_a_hundred_times_closer_to_the_modified_flow(orders):
    """At the smallest learning rate GD is about a hundred times closer to the modified flow."""
    ratio = orders.errors["gd_vs_flow"][:, -1] / orders.errors["gd_vs_modified"][:, -1]
    assert 80 < ratio.mean() < 140  # quick: 99, 106, 118; mean 108


def test_the_mean_sgd_epoch_is_third_order_close_to_the_sgd_modified_flow(orders):
    """The mean over orders of one SGD epoch approaches the flow of the SGD modified loss with
    slope near three, the local slope climbing towards three."""
    slopes = orders.slopes["mean_vs_sgd_flow"]
    assert np.all((2.92 < slopes) & (slopes < 2.98))  # quick: 2.946 to 2.952
    local = orders.local_slopes["mean_vs_sgd_flow"]
    assert np.all(np.diff(local, axis=1) > 0)  # quick: 2.89, 2.95, 2.97, 2.99
    assert np.all((2.97 < local[:, -1]) & (local[:, -1] < 3.01))  # quick: 2.985 to 2.987


@pytest.mark.parametrize(
    "kind, low, high",
    [
        ("mean_vs_flow", 1.93, 1.98),  # quick: 1.950 to 1.958
        ("mean_vs_gd_flow", 1.96, 2.05),  # quick: 1.983 to 2.031
        ("one_vs_sgd_flow", 1.97, 2.01),  # quick: 1.987 to 1.992
    ],
)
def test_every_other_sgd_comparison_is_only_second_order(orders, kind, low, high):
    """Without the per-batch term, or for a single order of the batches, the slope is two."""
    slopes = orders.slopes[kind]
    assert np.all((low < slopes) & (slopes < high))


# --- MNIST: test accuracy -------------------------------------------------------------------


def _acc(result):
    return result.last["test_acc"][:, :, -1]


def test_sgd_beats_full_batch_gd_on_every_seed_by_about_a_point(mn):
    """SGD ends about one point of test accuracy above GD, on every seed."""
    gap = _acc(mn)[SGD] - _acc(mn)[GD]
    assert np.all(gap > 0.006)  # quick: 0.0118, 0.0101, 0.0151
    assert 0.008 < gap.mean() < 0.017  # quick: 0.0123
    spread = max(_acc(mn)[SGD].std(), _acc(mn)[GD].std())
    assert 2 < gap.mean() / spread < 5  # quick: 3.1


def test_the_explicit_penalty_closes_most_but_not_all_of_the_gap(mn):
    """GD on SGD's modified loss ends between GD and SGD, closing most of the gap on average."""
    acc = _acc(mn)
    assert np.all(acc[PEN] > acc[GD])
    closed = (acc[PEN] - acc[GD]) / (acc[SGD] - acc[GD])
    assert 0.55 < closed.mean() < 0.95  # quick: 0.79 (0.64 to 0.93 by seed)
    assert acc[PEN].mean() < acc[SGD].mean()  # quick: 0.8954 < 0.8982


def test_gd_peaks_early_then_loses_accuracy_while_the_others_hold(mn):
    """GD's mean test accuracy peaks early and falls by a few tenths of a point; SGD and the
    penalty end above their accuracy at that epoch."""
    curves = mn.last["test_acc"].mean(axis=1)  # (recipe, epoch)
    peak = int(np.argmax(curves[GD]))
    assert 2 <= peak <= mn.num_epochs // 2  # quick: epoch 5 of 15
    assert 0.002 < curves[GD, peak] - curves[GD, -1] < 0.007  # quick: 0.0040
    assert curves[SGD, -1] > curves[SGD, peak] and curves[PEN, -1] > curves[PEN, peak]


def test_averaged_sgd_iterates_do_better_still(mn):
    """Averaging SGD's iterates over its last epoch gives a higher test accuracy."""
    averaged = mn.averaged["test_acc"][SGD, :, -1].mean()
    assert 0.899 < averaged < 0.905  # quick: 0.9011
    assert averaged > _acc(mn)[SGD].mean()  # quick: 0.9011 > 0.8982


def test_at_half_the_learning_rate_sgd_and_gd_are_tied(mn, small):
    """At half the learning rate the SGD-GD difference is within the noise."""
    gap = _acc(small)[small.recipes.index("SGD")] - _acc(small)[small.recipes.index("GD")]
    assert abs(gap.mean()) < 0.004  # quick: 0.0009 (0.0013, -0.0007, 0.0020)
    assert abs(gap.mean()) < (_acc(mn)[SGD] - _acc(mn)[GD]).mean() / 4  # quick: 0.0009 vs 0.0123


# --- MNIST: the regularizers ----------------------------------------------------------------


def test_sgd_epoch_averaged_batch_gradients_are_several_times_smaller_than_gds(mn):
    """At the epoch-averaged iterates SGD's mean squared batch gradient ends about three times
    smaller than GD's, and is smaller in each of the last five epochs of every seed."""
    batch = mn.averaged["batch_grad_sq"]
    ratio = batch[GD, :, -1] / batch[SGD, :, -1]
    assert 2.0 < ratio.mean() < 4.5  # quick: 3.06 (3.62, 2.48, 3.08)
    late = batch[GD, :, -5:] / batch[SGD, :, -5:]
    assert 1.4 < late.min() < 2.0  # quick: 1.71
    assert 0.02 < batch[SGD, :, -1].mean() < 0.035  # quick: 0.0276
    assert 0.065 < batch[GD, :, -1].mean() < 0.1  # quick: 0.0825


def test_gds_epoch_average_lags_its_last_iterate_by_about_half_an_epoch(mn):
    """For GD the epoch average of the iterates has the training loss of a point a little less
    than half an epoch behind its last iterate."""
    last, avg = mn.last["train_loss"][GD], mn.averaged["train_loss"][GD]
    behind = (avg[:, 5:] - last[:, 5:]) / (last[:, 4:-1] - last[:, 5:])
    assert 0.40 < behind.min() and behind.max() < 0.50  # quick: 0.427 to 0.468


def test_gd_on_the_modified_loss_tracks_sgds_batch_gradients(mn):
    """The penalized run's mean squared batch gradient stays within about a fifth of SGD's."""
    batch = mn.averaged["batch_grad_sq"].mean(axis=1)[:, 1:]  # (recipe, epoch), mean over seeds
    ratio = batch[PEN] / batch[SGD]
    assert 0.7 < ratio.min() and ratio.max() < 1.15  # quick: 0.79 to 1.05
    assert 0.02 < batch[PEN, -1] < 0.033  # quick: 0.0262


def test_the_regularizer_ratio_is_well_above_the_loss_ratio(mn):
    """Lower training loss explains only part of SGD's smaller batch gradients."""
    batch = mn.averaged["batch_grad_sq"][:, :, -1]
    loss = mn.averaged["train_loss"][:, :, -1]
    batch_ratio = (batch[GD] / batch[SGD]).mean()
    loss_ratio = (loss[GD] / loss[SGD]).mean()
    assert 1.2 < loss_ratio < 1.6  # quick: 1.377
    assert 1.6 < batch_ratio / loss_ratio < 3.0  # quick: 2.22


def test_at_sgds_last_iterate_its_batch_gradients_are_mostly_larger_than_gds(mn):
    """At the last iterate of most epochs before the last, SGD's jitter puts its mean squared
    batch gradient above GD's; at the final iterate it happens to be lower."""
    last = mn.last["batch_grad_sq"]
    above = np.mean(last[SGD, :, 1:-1] > last[GD, :, 1:-1])
    assert 0.55 < above < 0.85  # quick: 0.69
    assert last[SGD, :, -1].mean() < last[GD, :, -1].mean()  # quick: 0.050 < 0.076


def test_gds_full_gradient_is_hundreds_of_times_smaller_than_its_batch_gradients(mn):
    """At the end of GD, the squared full gradient is about 400 times below the mean squared
    batch gradient, and SGD's implicit term dwarfs GD's own."""
    full = mn.last["full_grad_sq"][GD, :, -1]
    ratio = mn.last["batch_grad_sq"][GD, :, -1] / full
    assert np.all((250 < ratio) & (ratio < 650))  # quick: 401 to 419
    assert 1e-4 < full.mean() < 3e-4  # quick: 1.84e-4
    implicit_sgd = mn.averaged["batch_grad_sq"][SGD, :, -1].mean()
    assert 80 < implicit_sgd / full.mean() < 250  # quick: 150


def test_exercise_modified_flow_of_a_quadratic_is_much_closer_to_gd():
    """For L = w^2 / 2, lr 0.1, ten steps: GD is an order closer to the modified flow."""
    gd = modified_loss.gd_path(lambda v: v, [1.0], 0.1, 10)[-1, 0]
    plain = modified_loss.gradient_flow(lambda v: v, [1.0], [1.0])[-1, 0]
    modified = modified_loss.gradient_flow(lambda v: 1.05 * v, [1.0], [1.0])[-1, 0]
    assert gd == pytest.approx(0.9**10, rel=1e-12)
    assert abs(gd - plain) == pytest.approx(0.0192, rel=1e-2)  # quick: 0.01920
    assert abs(gd - modified) == pytest.approx(0.00126, rel=1e-2)  # quick: 0.001259

"""Claims of book/part3/full_batch_training.md, asserted with the chapter's own calls (cached).

Accuracies are fractions here and points (percent) in the page; the measured quick-scale
values are in the comments, as the page prints them.
"""

import numpy as np
import pytest
import torch

from generalization import fullbatch, nets
from generalization.chapters.part3 import full_batch_training as fbt

S = fbt.settings()
C = S["common"]


@pytest.fixture(scope="module")
def clean():
    return fbt.experiment(**C, **S["clean"])  # the chapter's call


@pytest.fixture(scope="module")
def noisy():
    return fbt.experiment(**C, **S["noisy"])  # the chapter's call


def acc(result, recipe):
    return 100 * fbt.row(result, "test_acc", recipe)


def curve(result, recipe, step):
    return 100 * result.curve_test[recipe][:, result.curve_steps[recipe].index(step)]


def worst_drop(result, recipe):
    return np.max(np.maximum(-np.diff(100 * result.curve_test[recipe], axis=1), 0), axis=1)


# --- true labels ----------------------------------------------------------------------------


def test_equal_epoch_gradient_descent_is_far_behind_sgd_on_true_labels(clean):
    """On true labels, GD for as many steps as SGD has epochs ends well below SGD, without even
    fitting its training set."""
    sgd, gde = acc(clean, "sgd"), acc(clean, "gd_epochs")
    assert np.all((84 < sgd) & (sgd < 89))  # quick: 86.5 +- 0.3
    deficit = sgd - gde
    assert np.all((2 < deficit) & (deficit < 25))  # quick: 5.0 to 16.2
    assert 5 < deficit.mean() < 16  # quick: 10.1
    train = fbt.row(clean, "train_acc", "gd_epochs")
    assert np.all((0.7 < train) & (train < 0.93))  # quick: 0.82 on average


def test_equal_steps_gradient_descent_matches_sgd_on_true_labels(clean):
    """On true labels, GD with as many steps as SGD ends within two points of SGD in every seed,
    recovering about all of the equal-epoch deficit."""
    gap = acc(clean, "gd_steps") - acc(clean, "sgd")
    assert np.all(np.abs(gap) < 2.5)  # quick: at most 1.8
    assert abs(gap.mean()) < 1.0  # quick: +0.2
    closed = fbt.gap_closed(clean, "gd_steps")
    assert 0.8 < closed.mean() < 1.4  # quick: 1.08


def test_clipping_and_the_penalty_change_clean_accuracy_by_under_a_point(clean):
    """On true labels, clipping and clipping with the penalty end a fraction of a point below the
    unclipped equal-steps run and SGD; clipping acts in most steps."""
    base = acc(clean, "gd_steps")
    d_clip = acc(clean, "gd_clip") - base
    d_pen = acc(clean, "gd_clip_penalty") - base
    d_pen_sgd = acc(clean, "gd_clip_penalty") - acc(clean, "sgd")
    assert -1.5 < d_clip.mean() < 0.3  # quick: -0.58
    assert -1.5 < d_pen.mean() < 0.3  # quick: -0.62
    assert -1.5 < d_pen_sgd.mean() < 0.5  # quick: -0.46
    clipped = fbt.row(clean, "clipped", "gd_clip")
    assert np.all((0.4 < clipped) & (clipped < 0.85))  # quick: 0.61 on average
    for recipe in ("gd_clip", "gd_clip_penalty"):  # the ledger's shares: quick 1.01 and 0.98
        assert 0.8 < fbt.gap_closed(clean, recipe).mean() < 1.25


def test_the_penalty_without_clipping_diverges(clean):
    """Without clipping, the penalized run's training loss climbs many times above its start in
    every seed and its test accuracy collapses."""
    rise = fbt.row(clean, "loss_rise", "gd_penalty")
    assert np.all(rise > 5)  # quick: 15.7 and more
    assert np.all(fbt.row(clean, "loss_rise", "gd_clip_penalty") < 1.01)  # quick: 1.0
    test = acc(clean, "gd_penalty")
    assert np.all(test < 70) and 25 < test.mean() < 65  # quick: 46.2, at most 53.4


def test_a_penalized_step_costs_a_few_clipped_steps(clean):
    """A step with the block penalty takes a few times as long as a clipped step."""
    ratio = np.mean(
        fbt.row(clean, "step_time_ms", "gd_clip_penalty")
        / fbt.row(clean, "step_time_ms", "gd_clip")
    )
    assert 1.5 < ratio < 8  # quick: 2.9 (wall-clock, on a shared machine)


# --- wrong labels ---------------------------------------------------------------------------


def test_sgd_beats_equal_steps_gradient_descent_on_wrong_labels(noisy):
    """With a share of wrong labels, SGD leads GD at equal steps by several points in every seed,
    and clipping alone does not help."""
    lead = acc(noisy, "sgd") - acc(noisy, "gd_steps")
    assert np.all((2 < lead) & (lead < 8))  # quick: 3.8 to 5.3
    d_clip = acc(noisy, "gd_clip") - acc(noisy, "gd_steps")
    assert -2 < d_clip.mean() < 0.5  # quick: -0.6


def test_the_penalty_recovers_sgds_lead_on_wrong_labels(noisy):
    """With wrong labels, clipping plus the block penalty recovers most of SGD's lead in every seed
    and ends within SGD's own seed spread of it."""
    recovered = fbt.gap_closed(noisy, "gd_clip_penalty", baseline="gd_steps")
    assert np.all((0.75 < recovered) & (recovered < 1.25))  # quick: 0.90 to 0.97
    over = acc(noisy, "gd_clip_penalty") - acc(noisy, "sgd")
    assert np.all((-1.5 < over) & (over < 1.0))  # quick: -0.39 to -0.12
    assert np.max(np.abs(over)) < np.std(acc(noisy, "sgd"))  # quick: 0.39 < 1.08


def test_sgd_and_the_penalty_memorize_fewer_wrong_labels(noisy):
    """GD at equal steps predicts most wrong labels; clipping, SGD and the penalty, in that order,
    far fewer, while SGD and the penalty still fit most right labels."""
    memo = {r: fbt.row(noisy, "memorized", r) for r in noisy.recipes}
    assert 0.45 < memo["gd_steps"].mean() < 0.78  # quick: 0.61
    assert 0.25 < memo["gd_clip"].mean() < 0.5  # quick: 0.38
    assert 0.15 < memo["sgd"].mean() < 0.38  # quick: 0.27
    assert 0.08 < memo["gd_clip_penalty"].mean() < 0.3  # quick: 0.19
    assert np.all(memo["gd_clip_penalty"] < memo["gd_steps"] - 0.2)
    for recipe in ("sgd", "gd_clip_penalty"):  # quick: 0.976 and 0.949
        right = fbt.row(noisy, "clean_train_acc", recipe)
        assert np.all((0.9 < right) & (right <= 1.0))


def test_a_full_batch_penalty_does_as_well_as_the_block_penalty_on_wrong_labels(noisy):
    """With wrong labels, the same penalty on the full-batch gradient alone ends within about a
    point of the block penalty in every seed and memorizes as few wrong labels."""
    diff = acc(noisy, "gd_clip_full_penalty") - acc(noisy, "gd_clip_penalty")
    assert np.all(np.abs(diff) < 1.5)  # quick: at most 0.46
    assert abs(diff.mean()) < 1.0  # quick: -0.3
    memorized = fbt.row(noisy, "memorized", "gd_clip_full_penalty")
    assert 0.08 < memorized.mean() < 0.3  # quick: 0.18
    lead = acc(noisy, "sgd") - acc(noisy, "gd_steps")  # the control recovers the lead too
    assert np.all(acc(noisy, "gd_clip_full_penalty") - acc(noisy, "gd_steps") > 0.6 * lead)


def test_equal_epoch_gradient_descent_on_wrong_labels_is_early_stopping(noisy):
    """With wrong labels, GD at equal epochs beats GD at equal steps on average by fitting little
    of anything; GD at equal steps has memorized as little after as many steps."""
    d = acc(noisy, "gd_epochs") - acc(noisy, "gd_steps")
    assert 1 < d.mean() < 6  # quick: 3.1
    assert fbt.row(noisy, "memorized", "gd_epochs").mean() < 0.12  # quick: 0.074
    right = fbt.row(noisy, "clean_train_acc", "gd_epochs")
    assert 0.75 < right.mean() < 0.92  # quick: 0.85
    early = noisy.curve_memorized["gd_steps"][
        :, noisy.curve_steps["gd_steps"].index(C["num_epochs"])
    ]
    assert early.mean() < 0.15  # quick: 0.097, against 0.61 at the end


# --- curves ---------------------------------------------------------------------------------


def test_sgd_is_ahead_per_epoch_and_behind_per_step(clean):
    """On true labels, SGD's last epoch is well above GD's equal-epoch run, while GD at equal
    steps is ahead of SGD at the checkpoints by several points on average and ends with it."""
    per_epoch = curve(clean, "sgd", clean.steps["sgd"]) - curve(clean, "gd_epochs", C["num_epochs"])
    assert 5 < per_epoch.mean() < 20  # quick: 85.2 - 74.4
    steps = [s for s in clean.curve_steps["sgd"] if s > 0]
    ahead = np.mean(
        [curve(clean, "gd_steps", s).mean() - curve(clean, "sgd", s).mean() for s in steps]
    )
    assert 4 < ahead < 15  # quick: 9.4
    end = curve(clean, "gd_steps", steps[-1]).mean() - curve(clean, "sgd", steps[-1]).mean()
    assert abs(end) < 2  # "the two end together", quick: 85.6 against 85.2


def test_clipping_removes_the_stumble_after_warmup(clean):
    """SGD and unclipped GD lose many points between two checkpoints after the warmup; the
    clipped runs never lose accuracy from one checkpoint to the next."""
    assert 12 < worst_drop(clean, "sgd").mean() < 35  # quick: 22.7
    assert 15 < worst_drop(clean, "gd_steps").mean() < 50  # quick: 35
    for recipe in ("gd_clip", "gd_clip_penalty"):
        assert np.all(worst_drop(clean, recipe) == 0)  # quick: 0


# --- exercises ------------------------------------------------------------------------------


def test_exercise_block_penalty_at_initialization_is_about_twice_the_full_batch_one():
    """At the first seed's initialization the mean squared block-gradient norm is about twice
    the full-batch squared gradient norm."""
    seed = C["seeds"][0]
    X, y, _, _, _ = fbt.mnist_task(seed, C["n_samples"], 0.0)
    net = nets.mlp(784, (C["hidden"],), 10, seed=seed)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    ratio = (
        fullbatch.block_penalty(net, Xt, yt, C["batch_size"])
        / fullbatch.block_penalty(net, Xt, yt, C["n_samples"])
    ).item()
    assert 1.5 < ratio < 2.5  # quick: 1.95

"""Claims of book/part5/critical_periods.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization.chapters.part5 import critical_periods

S = critical_periods.settings()


@pytest.fixture(scope="module")
def rem():
    return critical_periods.removal_sweep(S)  # the chapter's call


@pytest.fixture(scope="module")
def win():
    return critical_periods.window_sweep(S)  # the chapter's call


def _late(rem):
    return len(rem.removal_epochs) - 1


def test_the_fisher_trace_rises_several_fold_then_falls(rem):
    """The Fisher trace of the run without deficit rises several-fold within the first two epochs
    and then falls to about three fifths of its peak."""
    fisher, epochs = rem.fisher, np.array(rem.fisher_epochs)
    assert np.all(np.isfinite(fisher))
    rise = fisher.max(1) / fisher[:, 0]
    assert 3.0 < rise.min() and rise.max() < 6.0  # quick: 3.6 to 4.9
    peak_epochs = epochs[np.argmax(fisher, axis=1)]
    assert np.all((peak_epochs >= 1) & (peak_epochs <= 2))  # quick: 2 in every seed
    fall = fisher[:, -1] / fisher.max(1)
    assert 0.45 < fall.min() and fall.max() < 0.75  # quick: 0.60 to 0.64
    mean = fisher.mean(0)
    assert 10 < mean[0] < 20 and 50 < mean.max() < 75 and 30 < mean[-1] < 46  # 14.8, 62.8, 38.4


def test_at_the_fisher_peak_the_error_is_already_low(rem):
    """At the Fisher peak the control's test error is already about a quarter, against about
    fifteen percent at the end."""
    control = rem.control["annealed"]
    peak = rem.fisher_epochs[int(np.argmax(rem.fisher.mean(0)))]
    assert 0.18 < control[:, int(round(peak))].mean() < 0.30  # quick: 0.234
    assert 0.13 < control[:, -1].mean() < 0.16  # quick: 0.146
    assert control[:, 0].mean() > 0.8  # chance at initialization; quick: 0.89


def test_annealed_a_short_deficit_costs_nothing(rem):
    """Under the annealed schedule, removing the blur by epoch eight changes the final error by
    under a percent in every seed."""
    imp = rem.impairment("annealed")
    early = np.array(rem.removal_epochs) <= 8
    assert np.abs(imp[:, early]).max() < 0.01  # quick: 0.004


def test_annealed_a_long_deficit_is_not_recovered_from(rem):
    """Under the annealed schedule, blur removed at epoch sixteen costs about two points of
    test error and at epoch thirty-two about nine, growing with the removal epoch."""
    imp, removals = rem.impairment("annealed"), np.array(rem.removal_epochs)
    mid, late = int(np.flatnonzero(removals == 16)[0]), _late(rem)
    assert 0.014 < imp[:, mid].mean() < 0.028  # quick: 0.0210 +- 0.0015
    assert imp[:, mid].min() > 0.012  # quick: 0.0195
    assert 0.08 < imp[:, late].mean() < 0.11  # quick: 0.0958 +- 0.0032
    assert imp[:, late].min() > 0.075  # quick: 0.0915
    assert np.all(np.diff(imp.mean(0)[removals >= 8]) > 0.001)
    assert 0.21 < rem.error["annealed"][:, late].mean() < 0.27  # quick: 0.242


def test_constant_learning_rate_has_no_critical_period(rem):
    """Under the constant schedule the impairment stays under about a percent at every removal
    epoch, and is near zero for the latest removal."""
    imp = rem.impairment("constant")
    assert np.abs(imp).max() < 0.013  # quick: 0.009
    assert abs(imp[:, _late(rem)].mean()) < 0.008  # quick: 0.0022 +- 0.0045
    # the annealed impairment at the same epoch is far larger: 0.0915 against 0.0085
    assert rem.impairment("annealed")[:, _late(rem)].min() > 5 * np.abs(imp[:, _late(rem)]).max()


def test_a_window_at_the_start_costs_more_than_any_later_window(win):
    """A blur window at the start costs about two points in every seed; the same window later
    costs at most about one point in any seed."""
    sens = win.sensitivity
    onsets = np.array(win.onsets)
    assert onsets[0] == 0
    assert 0.014 < sens[:, 0].mean() < 0.024  # quick: 0.0185 +- 0.0007
    assert sens[:, 0].min() > 0.014  # quick: 0.0180
    assert sens[:, onsets > 0].max() < 0.013  # quick: 0.0095
    assert np.all(sens[:, 0][:, None] > sens[:, onsets > 0])
    assert 0.13 < win.control.mean() < 0.16  # quick: 0.146


def test_a_fresh_network_started_late_does_far_worse_than_the_blurred_one(rem):
    """A fresh network given only the learning rates left after the latest removal ends far
    above the error of the network that saw blurred digits until then."""
    late = _late(rem)
    fresh = critical_periods.fresh_start(S, int(rem.removal_epochs[late]))  # the chapter's call
    assert 0.28 < fresh.mean() < 0.42  # quick: 0.355 +- 0.007
    assert fresh.min() > rem.error["annealed"][:, late].max() + 0.05  # 0.346 vs 0.248

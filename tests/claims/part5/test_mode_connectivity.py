"""Claims of book/part5/mode_connectivity.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization import landscape
from generalization.chapters.part5 import mode_connectivity as mc

S = mc.settings()


@pytest.fixture(scope="module")
def con():
    return mc.connectivity_experiment(**S["data"], **S["connect"])  # the chapter's call


@pytest.fixture(scope="module")
def ins():
    return mc.instability_experiment(**S["data"], **S["unstable"])  # the chapter's call


def _barriers(con, values):
    return np.array([landscape.barrier(v, con.ts) for v in values])


def test_both_ends_of_every_pair_are_trained_networks(con):
    """Every network reaches a small training loss and a test error of about eight percent."""
    ends_loss = con.line_train_loss[:, [0, -1]]
    ends_test = con.line_test_error[:, [0, -1]]
    assert np.all((0.005 < ends_loss) & (ends_loss < 0.05))  # quick: 0.018 to 0.025
    assert np.all((0.06 < ends_test) & (ends_test < 0.11))  # quick: 0.079 to 0.088


def test_the_straight_segment_between_different_initializations_has_a_ridge(con):
    """On the straight segment the training loss, training error and test error all rise
    well above the line between the ends' values, highest near the middle."""
    loss = _barriers(con, con.line_train_loss)
    train = _barriers(con, con.line_train_error)
    test = _barriers(con, con.line_test_error)
    assert np.all((0.4 < loss) & (loss < 1.2))  # quick: 0.62 to 0.84
    assert np.all((0.04 < train) & (train < 0.3))  # quick: 0.068 to 0.21
    assert np.all((0.03 < test) & (test < 0.25))  # quick: 0.048 to 0.18
    middle = np.argmax(con.line_train_loss, axis=1) / (len(con.ts) - 1)
    assert np.all((0.35 < middle) & (middle < 0.65))  # quick: 0.5


def test_the_trained_bezier_curve_removes_most_of_the_ridge(con):
    """The curve's loss barrier is several times smaller than the segment's, and its training
    and test errors rise by at most a few tenths of the segment's."""
    line = _barriers(con, con.line_train_loss)
    curve = _barriers(con, con.curve_train_loss)
    assert np.all((0.04 < curve) & (curve < 0.2))  # quick: 0.085 to 0.105
    assert np.all((3 < line / curve) & (line / curve < 20))  # quick: 5.9 to 9.1
    curve_train = _barriers(con, con.curve_train_error)
    curve_test = _barriers(con, con.curve_test_error)
    assert np.all((0.005 < curve_train) & (curve_train < 0.04))  # quick: 0.015 to 0.023
    assert np.all((0.002 < curve_test) & (curve_test < 0.03))  # quick: 0.008 to 0.015
    assert np.all(curve_test < 0.5 * _barriers(con, con.line_test_error))  # quick: 0.05 to 0.32 x


def test_the_curve_bend_moved_away_from_the_midpoint(con):
    """Training moved the bend a distance of about a fifth of the distance between the ends."""
    ratio = con.bend_offset / con.distance
    assert np.all((0.1 < ratio) & (ratio < 0.35))  # quick: 0.19 to 0.21
    change = np.diff(con.curve_losses, axis=1)[:, -3:].mean(1)  # per epoch, last three epochs
    assert np.all((-0.01 < change) & (change < 0.001))  # quick: -0.004 to -0.001: it settles


def test_a_twin_from_the_same_initialization_is_linearly_connected(con):
    """A network and its twin (same initialization, other batch order) end close together,
    and the segment between them has no ridge: stable at k = 0."""
    loss = _barriers(con, con.same_train_loss)
    test = _barriers(con, con.same_test_error)
    assert np.all(loss < 0.01)  # quick: 0.0016 to 0.0028 (a barrier is >= 0)
    assert np.all(test < 0.01)  # quick: 0.0005 to 0.0024
    assert np.all(np.abs(mc.instability(con.same_test_error)) < 0.01)  # quick: 0.001 to 0.003
    assert np.all(
        (0.05 * con.distance < con.same_distance) & (con.same_distance < 0.4 * con.distance)
    )  # quick: 3.8 to 4.2 against 21


def test_the_deeper_network_is_unstable_at_initialization_and_early(ins):
    """At k = 0 and at the first k > 0 every seed's instability is above ten percent."""
    ks = np.array(ins.ks)
    early = ins.test_instability[:, ks <= ks[1]]
    assert np.all((0.08 < early) & (early < 0.6))  # quick: 0.116 to 0.403
    assert 0.15 < early.mean() < 0.45  # quick: 0.29


def test_the_deeper_network_becomes_stable_after_the_early_phase(ins):
    """In the middle k the seeds spread; at the last k every seed is stable (test and train)."""
    middle = ins.test_instability[:, 2]
    assert np.all((0.005 < middle) & (middle < 0.25))  # quick: 0.020 to 0.148
    assert middle.mean() < 0.5 * ins.test_instability[:, :2].mean()  # quick: 0.07 against 0.29
    last = ins.test_instability[:, -1]
    assert np.all((-0.005 < last) & (last < 0.01))  # quick: 0.0 to 0.0043
    assert np.all(np.abs(ins.train_instability[:, -1]) < 0.01)  # quick: 0.0003 to 0.0033


def test_stability_arrives_once_the_copied_network_has_begun_to_learn(ins):
    """The copied network is at chance at k = 0 and the first k, half-trained in the middle,
    and near its final error at the last k; the copies end much closer when split late."""
    branch = ins.branch_test_error
    assert np.all((0.8 < branch[:, :2]) & (branch[:, :2] < 0.95))  # quick: 0.87 to 0.91
    assert np.all((0.3 < branch[:, 2]) & (branch[:, 2] < 0.85))  # quick: 0.46 to 0.73
    assert np.all((0.1 < branch[:, -1]) & (branch[:, -1] < 0.25))  # quick: 0.141 to 0.175
    assert np.all(ins.distance[:, -1] < 0.3 * ins.distance[:, 0])  # quick: 2.2-2.9 against 18-19


def test_the_deeper_network_still_trains_to_a_useful_error(ins):
    """The ends of every segment have test errors between about ten and sixteen percent."""
    ends = ins.test_error[:, :, [0, -1]]
    assert np.all((0.08 < ends) & (ends < 0.2))  # quick: 0.103 to 0.156

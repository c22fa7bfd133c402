"""Claims of book/part7/lottery_tickets.md, asserted with the chapter's own calls (cached).

Measured values (quick scale, seeds 0 and 1) are in the comments beside each bound.
"""

import numpy as np
import pytest

from generalization.chapters.part7 import lottery_tickets as lt

S = lt.settings()


@pytest.fixture(scope="module")
def res():
    return lt.imp_experiment(**S["tickets"])  # the chapter's call


@pytest.fixture(scope="module")
def rew():
    return lt.imp_experiment(**S["rewind"])  # the chapter's call


def _edge(res):
    """Points of test accuracy at early stopping, ticket minus its random re-initialization."""
    return 100 * (res.stop_accuracy[:, list(res.control_rounds)] - res.control_stop_accuracy)


def test_the_dense_network_reaches_about_ninety_one_percent(res):
    """The dense Lenet-300-100 on the small training set: the accuracy the page reports."""
    dense = res.stop_accuracy[:, 0]
    assert np.all((0.89 < dense) & (dense < 0.93))  # quick: 0.908, 0.911


def test_tickets_match_or_beat_the_dense_network_at_every_round(res):
    """Reset to their initial values, the subnetworks down to the last round's share of the
    weights reach at least the dense network's test accuracy at early stopping, within a few
    tenths of a point."""
    gain = 100 * (res.stop_accuracy[:, 1:] - res.stop_accuracy[:, :1])
    assert np.all(gain > -0.4)  # quick: -0.1 to 0.7 points
    assert np.all(gain < 1.5)


def test_random_reinitialization_loses_accuracy_at_every_control_round(res):
    """The same masks with a fresh initialization are one to a few points less accurate."""
    edge = _edge(res)
    assert np.all(edge > 0.6)  # quick: 1.3 and 1.9 (second round), 2.15 and 2.35 (last round)
    assert np.all(edge < 4.0)


def test_the_gap_to_the_control_widens_as_fewer_weights_remain(res):
    """On average over seeds, the ticket's edge over its control is larger at the last round
    than at the first control round."""
    edge = _edge(res).mean(0)
    assert edge[-1] - edge[0] > 0.2  # quick: 2.25 - 1.6 = 0.65 points
    assert edge[-1] - edge[0] < 2.0


def test_the_control_validation_loss_stays_above_the_tickets(res):
    """At every evaluation the control's validation loss is above the ticket's, and its
    minimum is a fifth to a half higher."""
    tickets = res.val_loss[:, list(res.control_rounds)]
    assert np.all(res.control_val_loss > tickets)
    ratio = res.control_val_loss.min(-1) / tickets.min(-1)
    assert np.all((1.1 < ratio) & (ratio < 1.7))  # quick: 1.22 to 1.41


def test_early_stopping_iteration_does_not_separate_the_runs(res):
    """Every run, ticket or control, stops in the last part of its schedule."""
    T = S["tickets"]["num_iterations"]
    stops = np.concatenate([res.stop_iteration.ravel(), res.control_stop_iteration.ravel()])
    assert np.all(stops >= 0.75 * T)  # quick: 250 to 300 of 300
    assert np.all(stops <= T)


def test_the_sparsest_ticket_starts_slower_than_dense_but_ends_as_low(res):
    """A quarter of the way through training the last round's ticket has a higher validation
    loss than the dense network; its minimum is within a few percent of the dense one."""
    q = len(res.iterations) // 4
    early = res.val_loss[:, -1, q] / res.val_loss[:, 0, q]
    assert np.all((1.1 < early) & (early < 2.5))  # quick: 1.45, 1.31
    best = res.val_loss[:, -1].min(-1) / res.val_loss[:, 0].min(-1)
    assert np.all(np.abs(best - 1) < 0.05)  # quick: 1.01, 0.99


def test_rewinding_to_an_early_iterate_changes_accuracy_by_less_than_the_seed_spread(res, rew):
    """Rewound tickets and tickets reset to the initial weights agree at every round."""
    rows = [res.seeds.index(s) for s in rew.seeds]
    diff = 100 * (rew.stop_accuracy - res.stop_accuracy[rows])
    assert np.all(np.abs(diff) < 0.6)  # quick: -0.03 to +0.24 points

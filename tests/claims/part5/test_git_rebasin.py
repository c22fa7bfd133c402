"""Claims of book/part5/git_rebasin.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization import landscape, rebasin
from generalization.chapters.part5 import git_rebasin as gr

S = gr.settings()


@pytest.fixture(scope="module")
def res():
    return gr.rebasin_experiment(**S)  # the chapter's call


def _barrier(res, path, split="test", quantity="loss"):
    return gr.barriers(res, path, split, quantity)


def test_permuted_network_computes_the_same_function(res):
    """The permuted copy of every network B gives the same logits as B, to float32 rounding."""
    assert res.output_gap.max() < 1e-4  # quick: at most 7.6e-6


def test_matching_brings_weights_from_unrelated_to_closer(res):
    """Before matching the relative distance between A and B is close to sqrt(2), as for
    unrelated vectors; after matching it is about one: closer, far from identical."""
    assert np.all((1.30 < res.distance_naive) & (res.distance_naive < 1.45))  # quick: 1.35-1.41
    assert np.all((0.92 < res.distance_matched) & (res.distance_matched < 1.10))  # 0.97-1.06


def test_weight_matching_undoes_a_random_shuffle_of_a_trained_network_exactly(res):
    """Weight matching recovers a random permutation of every trained network A exactly, in a
    few passes over the layers."""
    assert res.recovered.all()
    assert np.all((2 <= res.recovery_sweeps) & (res.recovery_sweeps <= 4))  # quick: 2 to 3


def test_straight_path_between_networks_as_trained_has_a_high_barrier(res):
    """As trained, the straight path has a test-loss barrier near one or more and a test-error
    barrier of tens of percent at every width, and its midpoint is a poor classifier."""
    naive = _barrier(res, "naive")
    assert np.all((0.6 < naive) & (naive < 3.0))  # quick: 0.94 to 2.42
    error = _barrier(res, "naive", quantity="error")
    assert np.all((0.3 < error) & (error < 0.85))  # quick: 0.40 to 0.71
    mid = res.curves["naive", "test", "error"][..., len(res.alphas) // 2]
    assert np.all(mid > 0.4)  # quick: 0.49 to 0.84


def test_matching_cuts_the_widest_barrier_to_a_few_percent_but_not_to_zero(res):
    """At the widest width the test-loss barrier after matching is a few percent of the one
    before, and small but not zero; so are the test-error and training-loss barriers."""
    naive, matched = _barrier(res, "naive")[:, -1], _barrier(res, "matched")[:, -1]
    assert np.all((0.005 < matched) & (matched < 0.09))  # quick: 0.015 to 0.047
    assert np.all(matched / naive < 0.08)  # quick: at most 0.050
    error = _barrier(res, "matched", quantity="error")[:, -1]
    assert np.all((0.005 < error) & (error < 0.05))  # quick: 0.014 to 0.024
    train = _barrier(res, "matched", split="train")[:, -1]
    assert np.all((0.04 < train) & (train < 0.16))  # quick: 0.089 to 0.107


def test_merged_network_halfway_is_close_to_but_worse_than_its_endpoints(res):
    """At the widest width the network halfway along the matched path misclassifies a few
    points more of the test set than its endpoints, and its test loss exceeds their mean."""
    mid = len(res.alphas) // 2
    error = res.curves["matched", "test", "error"][:, -1]
    ends = error[:, [0, -1]].mean(axis=1)
    assert np.all((0.0 < error[:, mid] - ends) & (error[:, mid] - ends < 0.05))  # 0.014-0.024
    loss = res.curves["matched", "test", "loss"][:, -1]
    gain = loss[:, mid] - 0.5 * (loss[:, 0] + loss[:, -1])
    assert np.all((0.005 < gain) & (gain < 0.09))  # quick: 0.015 to 0.047


def test_barrier_after_matching_falls_with_width(res):
    """For every seed the test-loss barrier after matching falls at each step up in width; at the
    narrowest width it stays a large fraction of the barrier before matching."""
    matched, naive = _barrier(res, "matched"), _barrier(res, "naive")
    assert np.all(np.diff(matched, axis=1) < 0)
    assert np.all((0.3 < matched[:, 0]) & (matched[:, 0] < 1.5))  # quick: 0.57 to 1.09
    assert np.all(matched[:, 0] / naive[:, 0] > 0.15)  # quick: 0.29 to 0.81
    middle = matched[:, len(res.widths) // 2]
    assert np.all((0.12 < middle) & (middle < 0.6))  # quick: 0.25 to 0.40
    error = _barrier(res, "matched", quantity="error")[:, 0]
    assert np.all((0.1 < error) & (error < 0.5))  # quick: 0.23 to 0.35


def test_narrow_networks_are_also_worse_classifiers(res):
    """The narrowest networks misclassify a quarter of the test images or so; the widest about a
    tenth."""
    ends = res.curves["naive", "test", "error"][..., [0, -1]]
    assert np.all((0.15 < ends[:, 0]) & (ends[:, 0] < 0.42))  # quick: 0.19 to 0.35
    assert np.all((0.07 < ends[:, -1]) & (ends[:, -1] < 0.14))  # quick: 0.090 to 0.114


def test_the_paper_barrier_definition_changes_no_barrier_by_much(res):
    """Subtracting the mean of the endpoint values (the paper's Definition 2.2) instead of the
    line between them changes no barrier of the page by more than a few hundredths."""
    gap = max(
        np.max(np.abs(_barrier(res, p, s, q) - gr.mean_barrier(res.curves[p, s, q])))
        for p in gr.PATHS
        for s in gr.SPLITS
        for q in gr.QUANTITIES
    )
    assert gap < 0.04  # quick: 0.014


def _short_training_barrier(num_epochs):
    """The exercise's call: matched test-loss barrier and test losses after a short training."""
    X, y, X_test, y_test = gr.mnist_subsets(S["n_train"], S["n_test"])
    width = max(S["widths"])
    pair = [
        gr.train_mlp(width, S["depth"], k, X, y, num_epochs, S["batch_size"], S["lr"])
        for k in (0, 1)
    ]
    matched = rebasin.permute(pair[1], rebasin.weight_matching(*pair))
    alphas = np.linspace(0, 1, S["n_alphas"])
    path = landscape.interpolate(pair[0], matched, alphas, X_test, y_test)
    return landscape.barrier(path.losses, alphas), path.losses


def test_after_one_epoch_the_matched_barrier_is_much_larger():
    """After one epoch of training the test-loss barrier after matching at the widest width is
    many times the one after the chapter's full training (exercise)."""
    value, _ = _short_training_barrier(1)
    assert 0.2 < value < 0.8  # quick: 0.45 (the full training gives 0.015 to 0.047)


def test_at_initialization_the_loss_is_flat_near_log_ten_along_the_matched_path():
    """At initialization the matched barrier is tiny because the test loss stays close to
    log 10 all along the path (exercise)."""
    value, losses = _short_training_barrier(0)
    assert 0 <= value < 1e-3  # quick: 1.2e-5
    assert np.all(np.abs(losses - np.log(10)) < 0.02)  # quick: within 0.004


def test_the_paper_count_of_symmetries_is_three_times_the_integer_part():
    """The paper's Table 1 count, ten to the 3498, is three times the integer part of
    log10(512!), while (512!) cubed is about ten to the 3499.6."""
    assert 3 * np.floor(rebasin.log10_symmetries((512,))) == 3498
    assert 3499.5 < rebasin.log10_symmetries((512, 512, 512)) < 3499.7  # 3499.62

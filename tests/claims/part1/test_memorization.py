"""Claims of book/part1/memorization.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization.chapters.part1 import memorization as mz

S = mz.settings()
NET = (S["n_train"], S["hidden"])
NOISY = (S["n_train"], S["n_test"], S["hidden"])
K = int(S["easy_fraction"] * S["n_train"])


@pytest.fixture(scope="module")
def diff():
    return mz.example_difficulty(
        *NET, S["seeds"], S["real_epochs"], S["random_epochs"], S["lr"], S["batch_size"]
    )


@pytest.fixture(scope="module")
def grid():
    return mz.noisy_grid(
        *NOISY, S["noise_levels"], S["noise_seeds"], S["noise_epochs"], S["lr"], S["batch_size"]
    )


@pytest.fixture(scope="module")
def reg():
    return mz.noisy_grid(
        *NOISY,
        (S["reg_level"],),
        S["reg_seeds"],
        S["noise_epochs"],
        S["lr"],
        S["batch_size"],
        regularizers=tuple(mz.REGULARIZERS),
    )


def test_real_data_has_easy_examples_random_labels_have_none(diff):
    real, rand = diff.learning_epoch["real"], diff.learning_epoch["random labels"]
    assert (real <= 2).mean() > 0.05  # measured 0.13 (3 seeds)
    assert (real <= 5).mean() > 0.6  # measured 0.82
    assert (rand <= 5).mean() == 0.0  # measured 0: nothing memorized in the first five epochs
    assert np.median(rand) > 3 * np.median(real)
    assert diff.train_acc["real"][:, -1].min() > 0.99
    assert (
        diff.train_acc["random labels"][:, -1].min() > 0.9
    )  # measured 0.95: the random labels are memorized too


def test_easy_examples_are_the_same_across_seeds(diff):
    rho = mz.pairwise(diff.learning_epoch["real"], mz.rank_correlation)
    overlap = mz.pairwise([mz.easiest(run, K) for run in diff.example_loss["real"]], mz.overlap)
    chance = K / S["n_train"]
    assert rho.min() > 0.6  # measured 0.82 to 0.85
    assert overlap.min() > 3 * chance  # measured 0.50 to 0.64 against chance 0.10


def test_random_labels_are_memorized_in_a_consistent_order_too(diff):
    # the chapter reports this, against a naive reading of the paper
    rho = mz.pairwise(diff.learning_epoch["random labels"], mz.rank_correlation)
    overlap = mz.pairwise(
        [mz.easiest(run, K) for run in diff.example_loss["random labels"]], mz.overlap
    )
    assert rho.min() > 0.8  # measured 0.93 to 0.94
    assert overlap.min() > 3 * K / S["n_train"]  # measured 0.76 to 0.78


def test_typical_examples_learned_first_isolated_ones_memorized_first(diff):
    real_tau = diff.learning_epoch["real"].mean(axis=0)
    rand_tau = diff.learning_epoch["random labels"].mean(axis=0)
    # label agreement of the 10 nearest images: strongly earlier learning on real data
    assert mz.rank_correlation(diff.agreement["real"], real_tau) < -0.5  # measured -0.73
    assert mz.rank_correlation(diff.agreement["random labels"], rand_tau) < 0  # measured -0.26
    # distance to the nearest image: isolated examples memorized first only with random labels
    assert mz.rank_correlation(diff.nearest["random labels"], rand_tau) < -0.4  # measured -0.58
    assert mz.rank_correlation(diff.nearest["real"], real_tau) > 0  # measured +0.15


def test_learning_order_robust_to_the_threshold(diff):
    first_run = diff.example_loss["real"][0]
    tau = mz.learning_epochs(first_run)
    assert mz.rank_correlation(tau, mz.learning_epochs(first_run, np.log(10 / 9))) > 0.7
    assert mz.rank_correlation(tau, mz.learning_epochs(first_run, np.log(5))) > 0.7


def test_clean_examples_fitted_before_noisy_ones(grid):
    clean, noisy = grid.clean_acc[0].mean(axis=1), grid.noisy_acc[0].mean(axis=1)
    mid = list(grid.noise_levels).index(S["reg_level"])
    for c, q in zip(clean, noisy):
        clean90, noisy90 = mz.epochs_to_reach(c, 0.9), mz.epochs_to_reach(q, 0.9)
        assert not np.isnan(clean90)
        assert np.isnan(noisy90) or noisy90 > clean90 + 5  # measured gaps of 15 to 35 epochs
    # the noisy examples first drop below chance: the net predicts their true class
    assert noisy[mid].min() < 0.08  # measured 0.05, chance 0.10
    # the clean part is learned more slowly with more noise, and its head start shrinks
    assert mz.epochs_to_reach(clean[-1], 0.9) > mz.epochs_to_reach(clean[0], 0.9)
    gap = (clean - noisy)[:, 1:].mean(axis=1)
    assert gap[0] > gap[-1] > 0


def test_test_accuracy_peaks_before_the_noise_is_memorized(grid):
    test = grid.test_acc[0].mean(axis=1)
    drop = test.max(axis=1) - test[:, -1]
    assert drop.min() > 0.03  # measured 8 to 27 points
    assert np.all(test.argmax(axis=1) < S["noise_epochs"] // 2)


def test_dropout_slows_memorization_not_learning(reg):
    names = list(reg.regularizers)
    none, drop, wd = (names.index(n) for n in ("none", "dropout", "weight decay"))
    half = S["noise_epochs"] // 2
    clean = reg.clean_acc[:, 0, :, half]  # regularizers x seeds
    noisy = reg.noisy_acc[:, 0, :, half]
    assert np.all(np.abs(clean[drop] - clean[none]) < 0.05)  # measured within 2 points
    assert np.all(noisy[none] - noisy[drop] > 0.1)  # measured 20 to 25 points
    assert np.all(reg.noisy_acc[drop, 0, :, -1] < reg.noisy_acc[none, 0, :, -1])
    test_end = reg.test_acc[:, 0, :, -1]
    assert np.all(test_end[drop] - test_end[none] > 0.02)  # measured 5 points per seed
    best = reg.test_acc[:, 0].max(axis=-1)
    assert abs(best[drop].mean() - best[none].mean()) < 0.03  # the peak is about the same
    # weight decay 1e-3 with Adam hardly changes anything
    assert np.all(np.abs(noisy[wd] - noisy[none]) < 0.1)  # measured 3 to 6 points
    assert np.all(np.abs(test_end[wd] - test_end[none]) < 0.02)  # measured < 1 point

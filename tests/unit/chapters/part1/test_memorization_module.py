import math

import numpy as np
import pytest

from generalization.chapters.part1 import memorization as mz


def test_learning_epochs_first_epoch_below_threshold():
    loss = np.array([[2.0, 0.1, 3.0], [0.5, 0.9, 3.0], [0.1, 0.2, 3.0]])
    np.testing.assert_array_equal(
        mz.learning_epochs(loss), [2, 1, 4]
    )  # never fitted -> num_epochs + 1
    np.testing.assert_array_equal(mz.learning_epochs(loss, threshold=0.15), [3, 1, 4])
    # the default threshold is ln 2: a label probability just above 1/2 counts, just below does not
    edge = np.array([[math.log(2) - 1e-9, math.log(2) + 1e-9]])
    np.testing.assert_array_equal(mz.learning_epochs(edge), [1, 2])


def test_learning_epochs_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        mz.learning_epochs(np.zeros(5))
    with pytest.raises(ValueError, match="threshold"):
        mz.learning_epochs(np.zeros((2, 2)), threshold=0)


def test_easiest_orders_by_epoch_then_mean_loss():
    loss = np.array([[1.0, 0.5, 0.3, 2.0], [0.6, 0.4, 0.2, 0.1]])
    # learning epochs [2, 1, 1, 2]; ties by mean loss: 2 (0.25) before 1 (0.45), 0 (0.8) before 3
    # (1.05)
    np.testing.assert_array_equal(mz.easiest(loss, 4), [2, 1, 0, 3])
    np.testing.assert_array_equal(mz.easiest(loss, 1), [2])
    for bad in (0, 5, 1.5, True):
        with pytest.raises(ValueError, match="k must be"):
            mz.easiest(loss, bad)


def test_overlap_and_its_errors():
    assert mz.overlap([0, 1, 2, 3], [2, 3, 4, 5]) == 0.5
    assert mz.overlap(np.arange(10), np.arange(10)[::-1]) == 1.0
    with pytest.raises(ValueError, match="same size"):
        mz.overlap([0, 1], [0, 1, 2])
    with pytest.raises(ValueError, match="same size"):
        mz.overlap([], [])


def test_random_subsets_overlap_at_chance_k_over_n():
    rng = np.random.default_rng(0)
    n, k = 1000, 100
    overlaps = [
        mz.overlap(rng.choice(n, k, replace=False), rng.choice(n, k, replace=False))
        for _ in range(400)
    ]
    assert np.mean(overlaps) == pytest.approx(
        k / n, abs=0.005
    )  # hypergeometric mean k/n, sd of the mean 0.0014


def test_pairwise_and_rank_correlation():
    values = np.array([[1, 2, 3, 4], [2, 3, 4, 5], [4, 3, 2, 1]])
    rho = mz.pairwise(values, mz.rank_correlation)
    np.testing.assert_allclose(rho, [1.0, -1.0, -1.0])
    with pytest.raises(ValueError, match="at least two"):
        mz.pairwise(values[:1], mz.rank_correlation)
    with pytest.raises(ValueError, match="same length"):
        mz.rank_correlation([1, 2, 3], [1, 2, 3, 4])


def test_neighbourhood_matches_brute_force():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 3))
    y = rng.integers(0, 3, 50)
    nearest, agreement = mz.neighbourhood(X, y, k=4, block=7)
    d = np.linalg.norm(X[:, None] - X[None], axis=2)
    np.fill_diagonal(d, np.inf)
    np.testing.assert_allclose(nearest, d.min(axis=1), rtol=1e-9)
    knn = np.argsort(d, axis=1)[:, :4]
    np.testing.assert_allclose(agreement, (y[knn] == y[:, None]).mean(axis=1))
    with pytest.raises(ValueError, match="k must be"):
        mz.neighbourhood(X, y, k=50)
    with pytest.raises(ValueError, match="y must have shape"):
        mz.neighbourhood(X, y[:10])


def test_epochs_to_reach():
    curve = np.array([[0.1, 0.5, 0.95, 0.9], [0.1, 0.2, 0.3, 0.4]])
    out = mz.epochs_to_reach(curve, 0.9)
    assert out[0] == 2 and np.isnan(out[1])
    with pytest.raises(ValueError, match="target"):
        mz.epochs_to_reach(curve, 90)
    with pytest.raises(ValueError, match="curve"):
        mz.epochs_to_reach(np.zeros(0), 0.5)


def test_settings_and_argument_checks():
    assert mz.settings("full")["n_train"] > mz.settings("quick")["n_train"]
    with pytest.raises(ValueError, match="regularizer"):
        mz.noisy_run.uncached(100, 100, (8,), 0.4, 0, 1, 1e-3, 50, regularizer="magic")
    with pytest.raises(ValueError, match="noise_level"):
        mz.noisy_run.uncached(100, 100, (8,), 1.0, 0, 1, 1e-3, 50)
    with pytest.raises(ValueError, match="at least 2 non-negative integers"):
        mz.example_difficulty.uncached(100, (8,), (0,), 1, 1, 1e-3, 50)
    with pytest.raises(ValueError, match="non-empty"):
        mz.noisy_grid(100, 100, (8,), (), (0,), 1, 1e-3, 50)


def test_noisy_run_probe_measures_group_accuracy_per_epoch():
    run = mz.noisy_run.uncached(200, 100, (16,), 0.5, 0, 3, 1e-3, 50)
    for curve in (run.clean_acc, run.noisy_acc, run.test_acc):
        assert curve.shape == (4,) and np.all((0 <= curve) & (curve <= 1))
    assert run.clean_loss.shape == run.noisy_loss.shape == (3,)
    assert run.clean_acc[-1] > 0.3  # the clean half is being learned within 3 epochs


def test_example_difficulty_is_reproducible_and_shaped():
    a = mz.example_difficulty.uncached(200, (16,), (0, 1), 2, 3, 1e-3, 50)
    b = mz.example_difficulty.uncached(200, (16,), (0, 1), 2, 3, 1e-3, 50)
    assert a.datasets == ("real", "random labels")
    assert a.example_loss["real"].shape == (2, 2, 200) and a.example_loss[
        "random labels"
    ].shape == (2, 3, 200)
    assert a.learning_epoch["real"].shape == (2, 200)
    np.testing.assert_array_equal(a.example_loss["real"], b.example_loss["real"])
    assert not np.array_equal(a.example_loss["real"][0], a.example_loss["real"][1])  # seeds differ
    # the label agreement is over mz.NEIGHBOURS neighbours: a multiple of 1 / NEIGHBOURS
    counts = a.agreement["real"] * mz.NEIGHBOURS
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)
    assert len(np.unique(np.round(counts))) > 2

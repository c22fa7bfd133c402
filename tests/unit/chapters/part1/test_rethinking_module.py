"""Unit tests of generalization.chapters.part1.rethinking (randomization tests)."""

import numpy as np
import pytest

from generalization.chapters.part1 import rethinking


def _data(n=200, n_test=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 784)).astype(np.float32)
    return X, rng.integers(0, 10, n), rng.random((n_test, 784)).astype(np.float32)


def test_corruptions_change_only_what_they_name():
    X, y, X_test = _data()
    Xc, yc, Xc_test = rethinking.corrupt("true labels", X, y, X_test, 0)
    assert Xc is X and yc is y and Xc_test is X_test
    Xc, yc, Xc_test = rethinking.corrupt("random labels", X, y, X_test, 0)
    assert Xc is X and Xc_test is X_test and not np.array_equal(yc, y)
    # pixels numbered 0..783 in every image: a corrupted image shows where each pixel went
    index = np.tile(np.arange(784, dtype=np.float32), (5, 1))
    Xc, yc, Xc_test = rethinking.corrupt("shuffled pixels", index, y[:5], index[:3], 0)
    assert yc is not None and not np.array_equal(Xc[0], index[0])
    assert np.array_equal(np.sort(Xc[0]), index[0])  # a permutation
    assert (Xc == Xc[0]).all() and (Xc_test == Xc[0]).all()  # the same one, test images too
    Xc, _, Xc_test = rethinking.corrupt("random pixels", index, y[:5], index[:3], 0)
    assert not np.array_equal(Xc[0], Xc[1]) and not np.array_equal(Xc_test[0], Xc[0])
    with pytest.raises(ValueError, match="corruption must be one of"):
        rethinking.corrupt("flipped labels", X, y, X_test, 0)


def test_random_labels_agree_with_the_true_ones_about_one_time_in_ten():
    X, y, X_test = _data(n=20000)
    _, yc, _ = rethinking.corrupt("random labels", X, y, X_test, 3)
    # binomial standard deviation with 20,000 labels: 0.2 points
    assert abs(np.mean(yc == y) - 0.1) < 0.008
    assert set(np.unique(yc)) == set(range(10))


def test_regularizer_runs_share_a_budget_and_record_their_curves():
    result = rethinking.fit_with_regularizers.uncached(40, 30, (16,), 0, 3, 1e-3, 20)
    assert result.regularizers == tuple(rethinking.REGULARIZERS)
    assert result.labels == ("true", "random")
    shape = (len(rethinking.REGULARIZERS), 2)
    for name in ("epochs_to_fit", "final_train_acc", "test_acc"):
        assert getattr(result, name).shape == shape
    for r in range(shape[0]):
        for j in range(2):
            curve = result.train_acc_curves[r][j]
            assert 2 <= len(curve) <= 4  # epoch 0, then at most the budget of three epochs
            assert curve[-1] == result.final_train_acc[r, j]
    curve = result.train_acc_curves[3][1]
    assert result.train_acc_at("augmentation", "random", 1) == curve[1]
    assert result.train_acc_at("augmentation", "random", 99) == curve[-1]  # past the end: last
    assert 0 <= result.label_agreement <= 1
    with pytest.raises(ValueError, match="labels must be one of"):
        result.train_acc_at("none", "noisy", 1)
    with pytest.raises(ValueError, match="reg_epochs"):
        rethinking.fit_with_regularizers.uncached(40, 30, (16,), 0, 0, 1e-3, 20)


def test_settings_of_both_scales():
    for scale in ("quick", "full"):
        S = rethinking.settings(scale)
        assert len(S["seeds"]) >= 2 and S["reg_epochs"] <= S["max_epochs"]
    assert rethinking.settings("full")["n_train"] > rethinking.settings("quick")["n_train"]

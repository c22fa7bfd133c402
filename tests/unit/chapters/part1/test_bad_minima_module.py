"""Unit tests of generalization.chapters.part1.bad_minima (adversarial initialization)."""

import numpy as np
import pytest

from generalization import nets
from generalization.chapters.part1 import bad_minima


def _images(n, seed=0):
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 28, 28), dtype=np.float32)
    X[:, 6:22, 6:22] = rng.random((n, 16, 16))  # a blank border, like MNIST digits
    return X.reshape(n, 784)


def test_adversarial_init_memorizes_random_labels_of_the_copies():
    X = _images(20)
    model, log = bad_minima.adversarial_init(
        X, hidden=(64,), copies=3, seed=0, lr=1e-2, batch_size=20, max_epochs=200
    )
    assert log.train_acc[-1] == 1.0 and log.epochs_to_fit is not None
    start = nets.mlp(hidden=(64,), seed=0)
    assert nets.weight_norm(model) > nets.weight_norm(start)  # memorizing moves the weights away


def test_adversarial_init_rejects_bad_input():
    with pytest.raises(ValueError, match="max_epochs"):
        bad_minima.adversarial_init(_images(4), (8,), 2, 0, max_epochs=0)
    with pytest.raises(ValueError, match="hidden"):
        bad_minima.adversarial_init(_images(4), (), 2, 0)


def test_settings_of_both_scales():
    for scale in ("quick", "full"):
        S = bad_minima.settings(scale)
        assert len(S["seeds"]) >= 2 and S["copies"] >= 2
        assert {key: S[key] for key in bad_minima.RECIPE} == bad_minima.RECIPE
    assert bad_minima.settings("full")["n_train"] > bad_minima.settings("quick")["n_train"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_train=0), "n_train"),
        (dict(seeds=()), "seeds"),
        (dict(seeds=(-1,)), "seed"),
        (dict(copies=0), "copies"),
        (dict(max_epochs=1.5), "max_epochs"),
        (dict(reg_epochs=0), "reg_epochs"),
        (dict(lr=0.0), "lr must be a positive number"),
        (dict(momentum=1.0), "momentum"),
        (dict(weight_decay="a lot"), "weight_decay"),
        (dict(test_every=0), "test_every"),
        (dict(recipes=()), "recipes"),
        (dict(recipes=("plain SGD", "plain SGD")), "recipes"),
        (dict(recipes=("adam",)), "recipes"),
        (dict(recipes="plain SGD"), "recipes"),
    ],
)
def test_compare_initializations_rejects_bad_input(kwargs, match):
    args = dict(
        n_train=10, n_test=10, hidden=(8,), seeds=(0,), copies=2, max_epochs=1, reg_epochs=1
    )
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        bad_minima.compare_initializations.uncached(**args)


def test_compare_initializations_shapes_on_a_tiny_problem():
    result = bad_minima.compare_initializations.uncached(
        40, 50, (32,), (0, 1), 2, 3, 2, test_every=2
    )
    shape = (len(bad_minima.INITS), len(bad_minima.RECIPES), 2)
    for name in ("final_train_acc", "test_acc", "epochs_to_fit", "weight_norm", "distance"):
        assert getattr(result, name).shape == shape
    assert result.n_replicated == 80 and result.start_norm.shape == (2, 2)
    for i in range(2):
        for r in range(2):
            for s in range(2):
                train, test = result.train_curves[i][r][s], result.test_curves[i][r][s]
                epochs = result.test_epochs[i][r][s]
                assert len(test) == len(epochs) and epochs[0] == 0 and epochs[-1] == len(train) - 1
                assert test[-1] == result.test_acc[i, r, s]
    # the random start is the pretrained network's own starting point
    assert result.start_norm[0, 0] == pytest.approx(
        nets.weight_norm(nets.mlp(hidden=(32,), seed=0))
    )
    np.testing.assert_allclose(
        result.test_error("adversarial", "plain SGD"), 1 - result.test_acc[1, 0]
    )
    with pytest.raises(ValueError, match="init must be one of"):
        result.test_error("pretrained", "plain SGD")


def test_compare_initializations_runs_only_the_selected_recipe():
    result = bad_minima.compare_initializations.uncached(
        30, 20, (16,), (0,), 2, 2, 1, recipes=("regularized",)
    )
    assert result.recipes == ("regularized",) and result.test_acc.shape == (2, 1, 1)
    assert result.test_error("random", "regularized").shape == (1,)
    with pytest.raises(ValueError, match="recipe must be one of"):
        result.test_error("random", "plain SGD")

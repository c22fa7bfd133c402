"""Unit tests of the chapter module of book/part3/full_batch_training.md."""

from types import SimpleNamespace

import numpy as np
import pytest

from generalization.chapters.part3 import full_batch_training as fbt


def test_log_steps_start_at_zero_end_at_the_last_step_and_grow_geometrically():
    steps = fbt.log_steps(120)
    assert steps[0] == 0 and steps[-1] == 120
    assert list(steps) == sorted(set(steps))
    ratios = np.diff(np.log(steps[2:]))
    assert np.all(ratios > 0.2) and np.all(ratios < 1.0)  # about a factor 1.8 apart
    assert fbt.log_steps(1) == (0, 1)


def test_mnist_task_is_stratified_and_corrupts_exactly_the_asked_share():
    X, y, corrupted, X_test, y_test = fbt.mnist_task(3, 200, 0.25)
    assert X.shape == (200, 784) and X_test.shape == (10000, 784)
    assert corrupted.sum() == 50
    _, true, untouched, _, _ = fbt.mnist_task(3, 200, 0.0)
    assert not untouched.any()
    assert np.all(y[corrupted] != true[corrupted]) and np.all(y[~corrupted] == true[~corrupted])
    assert np.all(np.bincount(true, minlength=10) >= 15)  # every digit, about a tenth each
    X[0, 0] = 1.0  # a writable copy: the shared MNIST arrays are read-only


def _fake(test_acc, recipes=("sgd", "gd_epochs", "gd_steps")):
    return SimpleNamespace(recipes=recipes, test_acc=np.array(test_acc, dtype=float))


def test_gap_closed_is_the_share_of_sgds_lead_recovered():
    result = _fake([[0.9, 0.8], [0.7, 0.6], [0.85, 0.6]])
    np.testing.assert_allclose(fbt.gap_closed(result, "gd_steps"), [0.75, 0.0])
    np.testing.assert_allclose(fbt.gap_closed(result, "sgd"), [1.0, 1.0])
    np.testing.assert_allclose(fbt.gap_closed(result, "gd_epochs", "gd_steps"), [-3.0, 0.0])
    np.testing.assert_allclose(fbt.row(result, "test_acc", "gd_epochs"), [0.7, 0.6])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda r: fbt.gap_closed(r, "gd_clip"), "recipe must be one of"),
        (lambda r: fbt.gap_closed(r, "sgd", baseline="adam"), "baseline must be one of"),
        (lambda r: fbt.row(r, "test_acc", "gd_penalty"), "recipe must be one of"),
    ],
)
def test_recipe_lookups_reject_recipes_the_result_does_not_hold(call, message):
    with pytest.raises(ValueError, match=message):
        call(_fake([[0.9], [0.7], [0.8]]))


ARGS = dict(
    seeds=(0,),
    n_samples=64,
    noise=0.25,
    recipes=("sgd", "gd_epochs", "gd_clip_penalty"),
    hidden=8,
    batch_size=32,
    num_epochs=2,
    lr=0.5,
    warmup_fraction=0.25,
    clip_norm=0.5,
    penalty_scale=1.0,
    n_curve=20,
)


def _synthetic_task(seed, n_samples, noise):
    """A stand-in for MNIST: Gaussian images, labels of a random linear map, 30 test images."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples + 30, 784)).astype(np.float32)
    y = np.argmax(X @ rng.standard_normal((784, 10)), axis=1)
    corrupted = np.zeros(n_samples, dtype=bool)
    corrupted[: int(round(noise * n_samples))] = True
    y_train = y[:n_samples].copy()
    y_train[corrupted] = (y_train[corrupted] + 1) % 10
    return X[:n_samples], y_train, corrupted, X[n_samples:], y[n_samples:]


def test_a_tiny_ladder_runs_and_keeps_its_bookkeeping(monkeypatch):
    monkeypatch.setattr(fbt, "mnist_task", _synthetic_task)
    result = fbt.experiment.uncached(**ARGS)
    assert result.recipes == ("sgd", "gd_epochs", "gd_clip_penalty")
    assert result.steps == {"sgd": 4, "gd_epochs": 2, "gd_clip_penalty": 4}
    assert result.test_acc.shape == (3, 1) and result.n_corrupted == 16
    assert result.epochs_per_step == {"sgd": 0.5, "gd_epochs": 1.0, "gd_clip_penalty": 1.0}
    assert result.curve_steps["sgd"][0] == 0 and result.curve_steps["sgd"][-1] == 4
    assert result.curve_test["gd_clip_penalty"].shape == (1, len(result.curve_steps["sgd"]))
    assert np.isnan(fbt.row(result, "loss_rise", "sgd")).all()
    assert np.all(fbt.row(result, "loss_rise", "gd_epochs") >= 1)
    memorized = fbt.row(result, "memorized", "gd_epochs")
    assert np.all((0 <= memorized) & (memorized <= 1))


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(recipes=("gd_steps",)), "recipes must include 'sgd'"),
        (dict(recipes=("sgd", "adam")), "recipes must be a non-empty selection of"),
        (dict(warmup_fraction=1.0), r"warmup_fraction must be a number in \(0, 1\); got 1.0."),
        (dict(n_curve=20000), "n_curve must be an integer from 1 to 10000; got 20000."),
        (dict(noise=1.5), r"noise must be a number in \[0, 1\]; got 1.5."),
    ],
)
def test_experiment_rejects_bad_settings(change, message):
    with pytest.raises(ValueError, match=message):
        fbt.experiment.uncached(**(ARGS | change))

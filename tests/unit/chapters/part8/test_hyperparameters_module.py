"""Unit tests of the chapter module of book/part8/hyperparameters.md against independent
computations."""

import numpy as np
import pytest
import torch

from generalization import nets, schedules
from generalization.chapters.part8 import hyperparameters as hp


def test_quadratic_data_has_the_requested_hessian_spectrum():
    X, y, lam = hp.quadratic_data(6, 40, 0.1, 2.0, 0.1, seed=3)
    hessian = 2 * X.T @ X / len(y)  # of |X w - y|^2 / n
    assert np.allclose(np.linalg.eigvalsh(hessian), lam, rtol=1e-10)
    assert lam[0] == pytest.approx(0.1) and lam[-1] == pytest.approx(2.0)


def test_quadratic_path_without_momentum_matches_the_eigenbasis_closed_form():
    X, y, lam = hp.quadratic_data(5, 30, 0.2, 1.0, 0.0, seed=1)
    lrs = np.geomspace(0.1, 3.0, 25)
    # in the Hessian's eigenbasis each error component is multiplied by (1 - lr lam) per step
    hessian = 2 * X.T @ X / len(y)
    values, vectors = np.linalg.eigh(hessian)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    error = vectors.T @ (0 - w_star)
    expected = []
    for lr in lrs:
        expected.append(0.5 * np.sum(values * error**2))  # noise-free: L = 1/2 e^T H e
        error = (1 - lr * values) * error
    assert np.allclose(hp.quadratic_path(X, y, lrs), expected, rtol=1e-9)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_lr_range_test_records_the_numpy_path_on_the_quadratic(momentum):
    X, y, _ = hp.quadratic_data(4, 20, 0.1, 1.0, 0.1, seed=0)
    test = schedules.lr_range_test(
        hp._linear_model(4),
        torch.as_tensor(X),
        torch.as_tensor(y),
        lr_min=0.01,
        lr_max=10.0,
        steps=60,
        batch_size=None,
        momentum=momentum,
        loss_fn=hp._mse,
    )
    expected = hp.quadratic_path(X, y, test.lrs, momentum)
    assert np.allclose(test.losses, expected, rtol=1e-8)


def _toy(seed=0, n=40):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0)


def test_constant_schedule_reproduces_nets_train():
    X, y = _toy()
    a = nets.mlp(n_inputs=5, hidden=(8,), n_classes=3, seed=2)
    b = nets.mlp(n_inputs=5, hidden=(8,), n_classes=3, seed=2)
    kwargs = dict(lr=0.1, num_epochs=3, batch_size=16, momentum=0.9, weight_decay=1e-3, seed=4)
    ours = hp.train_schedule(a, X, y, X, y, schedule="constant", **kwargs)
    log = nets.train(b, X, y, X, y, **kwargs)
    assert np.allclose(ours["test_loss"], log.test_loss, atol=1e-6)
    assert np.allclose(ours["test_acc"], log.test_acc)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p, q, atol=1e-6)


def test_one_cycle_and_step_rates_follow_their_formulas():
    X, y = _toy(n=48)
    model = nets.mlp(n_inputs=5, hidden=(4,), n_classes=3, seed=0)
    out = hp.train_schedule(
        model, X, y, X, y, schedule="one_cycle", lr=0.5, num_epochs=5, batch_size=8
    )
    total = 5 * 6
    expected = schedules.one_cycle_lr(np.arange(total), 0.5, total)
    assert np.allclose(out["lrs"], expected)
    out = hp.train_schedule(model, X, y, X, y, schedule="step", lr=0.5, num_epochs=5, batch_size=8)
    steps = np.arange(total)
    expected = 0.5 * np.where(steps < total // 2, 1, np.where(steps < (3 * total) // 4, 0.1, 0.01))
    assert np.allclose(out["lrs"], expected)


def test_train_schedule_records_one_value_per_epoch():
    X, y = _toy()
    out = hp.train_schedule(
        nets.mlp(n_inputs=5, hidden=(4,), n_classes=3, seed=0),
        X,
        y,
        X[:10],
        y[:10],
        schedule="constant",
        lr=0.05,
        num_epochs=4,
        batch_size=10,
    )
    assert [len(out[k]) for k in ("train_loss", "test_loss", "test_acc")] == [5, 5, 5]
    assert len(out["lrs"]) == 16


def test_bad_arguments_are_refused_with_the_shared_messages():
    X, y = _toy()
    model = nets.mlp(n_inputs=5, hidden=(4,), n_classes=3, seed=0)
    with pytest.raises(ValueError, match="schedule must be one of"):
        hp.train_schedule(model, X, y, X, y, schedule="cosine", lr=0.1, num_epochs=1, batch_size=8)
    with pytest.raises(ValueError, match="lr must be a positive number; got 0"):
        hp.train_schedule(model, X, y, X, y, schedule="step", lr=0, num_epochs=1, batch_size=8)
    with pytest.raises(ValueError, match="n_samples must be an integer of at least 5; got 3"):
        hp.quadratic_data(5, 3, 0.1, 1.0, 0.0, seed=0)
    with pytest.raises(ValueError, match="lam_max must be a number above 0.5; got 0.2"):
        hp.quadratic_data(5, 10, 0.5, 0.2, 0.0, seed=0)

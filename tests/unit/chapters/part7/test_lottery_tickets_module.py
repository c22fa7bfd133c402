"""Unit tests of the chapter module of book/part7/lottery_tickets.md against independent
computations."""

import numpy as np
import pytest
import torch

from generalization import nets, pruning
from generalization.chapters.part7 import lottery_tickets as lt


def test_batch_order_is_a_stream_of_permutations():
    order = lt.batch_order(10, 4, 7, seed=3)  # 28 examples: two full epochs and a part
    assert order.shape == (7, 4)
    stream = order.reshape(-1)
    assert sorted(stream[:10]) == list(range(10))
    assert sorted(stream[10:20]) == list(range(10))
    assert np.array_equal(order, lt.batch_order(10, 4, 7, seed=3))
    assert not np.array_equal(order, lt.batch_order(10, 4, 7, seed=4))


def test_batch_order_rejects_a_batch_larger_than_the_data():
    with pytest.raises(ValueError, match="batch_size must be"):
        lt.batch_order(10, 11, 3, seed=0)


def _splits(seed=0, n=30):
    rng = np.random.default_rng(seed)
    X = rng.random((3 * n, 784), dtype=np.float32)
    y = rng.integers(0, 10, 3 * n)
    return dict(
        X_train=X[:n], y_train=y[:n], X_val=X[n : 2 * n], y_val=y[n : 2 * n],
        X_test=X[2 * n :], y_test=y[2 * n :],
    )  # fmt: skip


def test_train_fn_is_adam_on_the_scheduled_batches_with_retroactive_early_stopping():
    splits = _splits()
    order = lt.batch_order(30, 6, 7, seed=1)
    model = nets.mlp(hidden=(8, 4), seed=0)
    reference = nets.mlp(hidden=(8, 4), seed=0)
    curve = lt.make_train_fn(splits, order, 3e-2, eval_every=2)(model, 1, 7)
    # by hand: torch Adam over iterations 1..6 with the batches order[1..6], evaluating
    # after 2, 4, 6 and 7 (the last) iterations done
    opt = torch.optim.Adam(reference.parameters(), lr=3e-2)
    X, y = torch.as_tensor(splits["X_train"]), torch.as_tensor(splits["y_train"])
    X_val, y_val = torch.as_tensor(splits["X_val"]), torch.as_tensor(splits["y_val"])
    losses, accuracies = [], []
    for t in range(1, 7):
        index = torch.as_tensor(order[t])
        loss = torch.nn.functional.cross_entropy(reference(X[index]), y[index])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (t + 1) % 2 == 0 or t + 1 == 7:
            with torch.no_grad():
                losses.append(float(torch.nn.functional.cross_entropy(reference(X_val), y_val)))
                logits = reference(torch.as_tensor(splits["X_test"]))
            accuracies.append(np.mean(logits.argmax(1).numpy() == splits["y_test"]))
    for a, b in zip(model.parameters(), reference.parameters()):
        assert torch.allclose(a, b)  # the model ends with its final weights
    assert list(curve.iterations) == [2, 4, 6, 7]
    assert np.allclose(curve.val_loss, losses, rtol=1e-5)
    best = int(np.argmin(losses))
    assert curve.stop_iteration == [2, 4, 6, 7][best]
    assert curve.stop_accuracy == pytest.approx(accuracies[best])


def test_train_fn_stops_at_the_first_of_equal_minima():
    splits = _splits(2)
    order = lt.batch_order(30, 6, 4, seed=0)
    model = nets.mlp(hidden=(8, 4), seed=0)
    curve = lt.make_train_fn(splits, order, 0.0 + 1e-12, eval_every=1)(model, 0, 4)
    # a vanishing step leaves the loss unchanged to float precision: the first point wins
    # unless a later one is strictly lower
    assert curve.stop_iteration == 1 + int(np.argmin(curve.val_loss))


def test_train_fn_keeps_pruned_weights_at_zero_under_a_mask():
    splits = _splits(1)
    order = lt.batch_order(30, 6, 6, seed=2)
    model = nets.mlp(hidden=(8, 4), seed=1)
    masks = pruning.magnitude_prune(model, rate=pruning.layer_rates(model, 0.5, 0.25))
    pruning.train_masked(model, masks, lt.make_train_fn(splits, order, 1e-2, 3), 0, 6)
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        assert torch.all(params[name][~mask] == 0)
        assert torch.all(params[name][mask] != 0)


def test_mnist_splits_are_disjoint_and_stratified():
    splits = lt.mnist_splits(200, 100, 50)
    assert splits["X_train"].shape == (200, 784) and splits["X_val"].shape == (100, 784)
    assert splits["X_test"].shape == (50, 784)
    train = {row.tobytes() for row in splits["X_train"]}
    assert not any(row.tobytes() in train for row in splits["X_val"])
    assert np.all(np.bincount(splits["y_train"], minlength=10) > 0)
    assert np.all(np.bincount(splits["y_val"], minlength=10) > 0)


def test_imp_experiment_rejects_a_control_round_beyond_the_last():
    with pytest.raises(ValueError, match="control_rounds must be rounds of at most"):
        lt.imp_experiment.uncached(
            (0,), 0, (3,), 20, 10, 10, 2, 1, 1e-3, 5, 0.5, 0.25, 2
        )  # fmt: skip

"""Unit tests of the chapter module of book/part5/mode_connectivity.md against independent
computations: a plain training loop with torch.optim.SGD, landscape.barrier, hand values."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from generalization import landscape, nets
from generalization.chapters.part5 import mode_connectivity as mc


def _data(n=40, d=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = torch.tensor(rng.standard_normal((n, d)), dtype=torch.float32)
    y = torch.tensor(rng.integers(0, classes, n))
    return X, y


def _plain_sgd(model, X, y, *, steps, batch_size, seed, lr, start=0, decay_at=None, state=None):
    """The reference: one model, torch.optim.SGD, its batches drawn by hand from the seed."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=mc.MOMENTUM)
    if state is not None:
        for p, buffer in zip(model.parameters(), state):
            optimizer.state[p]["momentum_buffer"] = buffer.clone()
    generator = torch.Generator().manual_seed(seed)
    n, batches = X.shape[0], []
    while len(batches) < steps:
        order = torch.randperm(n, generator=generator)
        batches += [order[i : i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
    decay_at = start + steps if decay_at is None else decay_at
    for step, index in zip(range(start, start + steps), batches):
        for group in optimizer.param_groups:
            group["lr"] = lr if step < decay_at else lr / 10
        optimizer.zero_grad()
        F.cross_entropy(model(X[index]), y[index]).backward()
        optimizer.step()
    return model, [optimizer.state[p]["momentum_buffer"] for p in model.parameters()]


def _same(model_a, model_b, atol=1e-6):
    return torch.allclose(landscape.flat(model_a), landscape.flat(model_b), atol=atol)


def test_train_together_follows_each_run_alone():
    X, y = _data()
    runs = [mc.Run(nets.mlp(5, (6, 4), 3, seed=s)) for s in (0, 1, 2)]
    alone = [nets.mlp(5, (6, 4), 3, seed=s) for s in (0, 1, 2)]
    fit = dict(steps=13, batch_size=8, lr=0.1, decay_at=9)
    mc.train_together(runs, X, y, seeds=(5, 6, 7), **fit)
    for run, model, seed in zip(runs, alone, (5, 6, 7)):
        _, buffers = _plain_sgd(model, X, y, seed=seed, **fit)
        assert _same(run.model, model)
        assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(run.momentum, buffers))


def test_a_branch_continues_with_the_parents_momentum_and_schedule():
    X, y = _data(seed=1)
    parent = mc.Run(nets.mlp(5, (4,), 3, seed=3))
    mc.train_together([parent], X, y, steps=5, batch_size=10, seeds=(1,), lr=0.2, decay_at=8)
    child = mc.branch(parent)
    mc.train_together(
        [child], X, y, steps=6, batch_size=10, seeds=(2,), lr=0.2, start=5, decay_at=8
    )
    reference = nets.mlp(5, (4,), 3, seed=3)
    _, state = _plain_sgd(reference, X, y, steps=5, batch_size=10, seed=1, lr=0.2, decay_at=8)
    _plain_sgd(
        reference, X, y, steps=6, batch_size=10, seed=2, lr=0.2, start=5, decay_at=8, state=state
    )
    assert _same(child.model, reference)


def test_training_a_branch_leaves_the_original_unchanged():
    X, y = _data()
    parent = mc.Run(nets.mlp(5, (4,), 3, seed=0))
    mc.train_together([parent], X, y, steps=3, batch_size=8, seeds=(0,), lr=0.1)
    before = landscape.flat(parent.model)
    momentum = [b.clone() for b in parent.momentum]
    mc.train_together([mc.branch(parent)], X, y, steps=4, batch_size=8, seeds=(1,), lr=0.1)
    assert torch.equal(landscape.flat(parent.model), before)
    assert all(torch.equal(a, b) for a, b in zip(parent.momentum, momentum))


def test_checkpoints_equal_shorter_runs():
    X, y = _data(seed=2)
    runs = [mc.Run(nets.mlp(5, (4,), 3, seed=s)) for s in (0, 1)]
    kept = mc.train_together(
        runs, X, y, steps=7, batch_size=8, seeds=(3, 4), lr=0.1, checkpoints=(0, 4, 7)
    )
    assert sorted(kept) == [0, 4, 7]
    assert _same(kept[0][1].model, nets.mlp(5, (4,), 3, seed=1))
    short = [mc.Run(nets.mlp(5, (4,), 3, seed=s)) for s in (0, 1)]
    mc.train_together(short, X, y, steps=4, batch_size=8, seeds=(3, 4), lr=0.1)
    assert all(_same(a.model, b.model) for a, b in zip(kept[4], short))
    assert all(_same(a.model, b.model) for a, b in zip(kept[7], runs))


def test_batch_order_uses_each_example_once_per_epoch():
    batches = [next(order) for order in [mc._order(10, 3, seed=0)] for _ in range(6)]
    first, second = torch.cat(batches[:3]), torch.cat(batches[3:])
    assert len(set(first.tolist())) == 9 and len(set(second.tolist())) == 9
    assert not torch.equal(first, second)


def test_instability_by_hand_and_against_the_barrier():
    assert mc.instability([0.1, 0.3, 0.5, 0.1]) == pytest.approx(0.4)
    assert mc.instability([0.2, 0.1, 0.4]) == pytest.approx(0.1)
    rng = np.random.default_rng(0)
    for _ in range(20):
        errors = rng.uniform(0, 1, 9)
        barrier = landscape.barrier(errors)
        half_gap = abs(errors[-1] - errors[0]) / 2
        assert abs(mc.instability(errors) - barrier) <= half_gap + 1e-12
        errors[-1] = errors[0]
        assert mc.instability(errors) == pytest.approx(landscape.barrier(errors))
    batch = rng.uniform(0, 1, (2, 3, 5))
    assert np.allclose(mc.instability(batch), [[mc.instability(e) for e in row] for row in batch])


def test_instability_rejects_a_path_of_one_point():
    with pytest.raises(ValueError, match="errors must hold at least 2 values"):
        mc.instability([0.3])


def test_train_together_rejects_bad_input():
    X, y = _data()
    runs = [mc.Run(nets.mlp(5, (4,), 3, seed=0))]
    with pytest.raises(ValueError, match="seeds must hold one seed per run"):
        mc.train_together(runs, X, y, steps=1, batch_size=4, seeds=(0, 1), lr=0.1)
    with pytest.raises(ValueError, match="checkpoints must lie from start"):
        mc.train_together(runs, X, y, steps=2, batch_size=4, seeds=(0,), lr=0.1, checkpoints=(3,))
    with pytest.raises(ValueError, match="batch_size must be an integer from 1 to 40"):
        mc.train_together(runs, X, y, steps=1, batch_size=41, seeds=(0,), lr=0.1)
    mixed = [
        mc.branch(runs[0]),
        mc.Run(runs[0].model, [p.detach() for p in runs[0].model.parameters()]),
    ]
    with pytest.raises(ValueError, match="runs must all have momentum buffers or none"):
        mc.train_together(mixed, X, y, steps=1, batch_size=4, seeds=(0, 1), lr=0.1)

"""Unit tests of generalization.fullbatch against independent computations.

Plain gradient descent is checked against a hand-written loop of ``torch.optim.SGD`` steps, the
schedule against torch's own learning-rate schedulers, the block penalty against per-block
gradients from ``torch.func`` and against central finite differences, and a penalized step
against its gradient computed by ``torch.func`` without the module's code.
"""

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, vmap

from generalization import fullbatch, nets


def toy(n=12, d=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.integers(0, classes, n)
    return X, y


def flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


# --- the schedule --------------------------------------------------------------------------


def test_warmup_then_cosine_values_written_out():
    got = [fullbatch.learning_rate(t, 10, 0.8, warmup_steps=4) for t in range(10)]
    warm = [0.2, 0.4, 0.6, 0.8]
    cosine = [0.8 * 0.5 * (1 + math.cos(math.pi * k / 6)) for k in range(6)]
    np.testing.assert_allclose(got, warm + cosine, rtol=1e-12)
    const = [fullbatch.learning_rate(t, 6, 0.5, 2, "constant") for t in range(6)]
    np.testing.assert_allclose(const, [0.25, 0.5, 0.5, 0.5, 0.5, 0.5])


@pytest.mark.parametrize("warmup", [1, 3, 7])
def test_schedule_matches_torch_linear_then_cosine_schedulers(warmup):
    num_steps, lr = 20, 0.3
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr)
    sched = torch.optim.lr_scheduler.SequentialLR(
        opt,
        [
            torch.optim.lr_scheduler.LinearLR(
                opt, start_factor=1 / warmup, end_factor=1.0, total_iters=max(warmup - 1, 1)
            ),
            torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=num_steps - warmup),
        ],
        milestones=[warmup],
    )
    expected = []
    for _ in range(num_steps):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    got = [fullbatch.learning_rate(t, num_steps, lr, warmup) for t in range(num_steps)]
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


# --- plain gradient descent -----------------------------------------------------------------


def test_plain_settings_are_full_batch_gradient_descent():
    X, y = toy()
    model = nets.mlp(5, (7,), 3, seed=1)
    reference = copy.deepcopy(model)
    log = fullbatch.train_full_batch(model, X, y, lr=0.3, num_steps=6, schedule="constant")
    opt = torch.optim.SGD(reference.parameters(), lr=0.3)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    losses = []
    for _ in range(6):  # w <- w - lr grad C(w), on all the data
        opt.zero_grad()
        loss = F.cross_entropy(reference(Xt), yt)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    torch.testing.assert_close(flat(model), flat(reference), rtol=0, atol=1e-7)
    np.testing.assert_allclose(log.path_loss, losses, rtol=1e-6)
    assert log.checkpoints == [6] and log.clipped == 0.0 and log.epochs_per_step == 1.0


def test_warmup_cosine_and_momentum_match_torch_schedulers_in_training():
    X, y = toy(seed=2)
    model = nets.mlp(5, (6,), 3, seed=3)
    reference = copy.deepcopy(model)
    fullbatch.train_full_batch(
        model, X, y, lr=0.5, num_steps=9, warmup_steps=3, momentum=0.9, checkpoints=(0, 4)
    )
    opt = torch.optim.SGD(reference.parameters(), lr=0.5, momentum=0.9)
    sched = torch.optim.lr_scheduler.SequentialLR(
        opt,
        [
            torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / 3, total_iters=2),
            torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6),
        ],
        milestones=[3],
    )
    Xt, yt = torch.tensor(X), torch.tensor(y)
    for _ in range(9):
        opt.zero_grad()
        F.cross_entropy(reference(Xt), yt).backward()
        opt.step()
        sched.step()
    torch.testing.assert_close(flat(model), flat(reference), rtol=1e-6, atol=1e-7)


# --- clipping -------------------------------------------------------------------------------


@pytest.mark.parametrize("clip", [1e-3, 0.05, 1e6])
def test_clipping_bounds_the_step_norm(clip):
    X, y = toy(seed=4)
    model = nets.mlp(5, (8,), 3, seed=5)
    start = flat(model)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    g = torch.autograd.grad(F.cross_entropy(model(Xt), yt), list(model.parameters()))
    grad_norm = float(torch.sqrt(sum((gi**2).sum() for gi in g)))
    lr = 0.7
    log = fullbatch.train_full_batch(
        model, X, y, lr=lr, num_steps=1, schedule="constant", clip_norm=clip
    )
    step = float(torch.linalg.vector_norm(flat(model) - start))
    # ||w_1 - w_0|| = lr min(||g||, c)
    assert step == pytest.approx(lr * min(grad_norm, clip), rel=1e-4)
    assert step <= lr * clip * (1 + 1e-5)
    assert log.clipped == (1.0 if grad_norm > clip else 0.0)


# --- the block penalty ----------------------------------------------------------------------


def _float64_model(seed=0):
    return nets.mlp(4, (5,), 3, seed=seed).double()


def test_block_penalty_is_the_mean_of_per_block_squared_gradient_norms():
    rng = np.random.default_rng(6)
    X = torch.tensor(rng.standard_normal((12, 4)))
    y = torch.tensor(rng.integers(0, 3, 12))
    model = _float64_model(1)
    params = {k: v.detach() for k, v in model.named_parameters()}

    def block_loss(p, xb, yb):
        return F.cross_entropy(functional_call(model, p, (xb,)), yb)

    # per-block gradients by torch.func, independently of the module
    per_block = vmap(grad(block_loss), in_dims=(None, 0, 0))(
        params, X.reshape(4, 3, 4), y.reshape(4, 3)
    )
    expected = sum((g**2).sum() for g in per_block.values()) / 4
    got = fullbatch.block_penalty(model, X, y, block_size=3)
    assert got.item() == pytest.approx(expected.item(), rel=1e-12)
    # one block: the full-batch ||grad C||^2
    full = grad(block_loss)(params, X, y)
    assert fullbatch.block_penalty(model, X, y, 12).item() == pytest.approx(
        sum((g**2).sum() for g in full.values()).item(), rel=1e-12
    )


def test_block_penalty_gradient_matches_central_finite_differences():
    rng = np.random.default_rng(7)
    X = torch.tensor(rng.standard_normal((8, 4)))
    y = torch.tensor(rng.integers(0, 3, 8))
    model = _float64_model(2)
    params = list(model.parameters())
    exact = torch.autograd.grad(fullbatch.block_penalty(model, X, y, 2), params)
    start = [p.detach().clone() for p in params]

    def penalty_at(direction, h):  # P(w + h v)
        with torch.no_grad():
            for p, p0, v in zip(params, start, direction):
                p.copy_(p0 + h * v)
        return fullbatch.block_penalty(model, X, y, 2).item()

    h = 1e-5
    for _ in range(4):  # directional derivatives along random directions v
        direction = [torch.tensor(rng.standard_normal(tuple(p.shape))) for p in params]
        numeric = (penalty_at(direction, h) - penalty_at(direction, -h)) / (2 * h)
        along = sum((g * v).sum() for g, v in zip(exact, direction)).item()
        assert along == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_a_penalized_step_follows_the_gradient_of_the_modified_loss():
    X, y = toy(n=12, seed=8)
    model = nets.mlp(5, (6,), 3, seed=9)
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    lr, scale = 0.4, 2.0
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def loss(p, xb, yb):
        return F.cross_entropy(functional_call(model, p, (xb,)), yb)

    def modified(p):  # C + s (lr / 4) (1/m) sum_k ||grad C_k||^2, by torch.func alone
        g = vmap(grad(loss), in_dims=(None, 0, 0))(p, Xt.reshape(3, 4, 5), yt.reshape(3, 4))
        return loss(p, Xt, yt) + scale * lr / 4 * sum((v**2).sum() for v in g.values()) / 3

    step = grad(modified)(params)
    expected = torch.cat([(params[k] - lr * step[k]).reshape(-1) for k in params])
    log = fullbatch.train_full_batch(
        model, X, y, lr=lr, num_steps=1, schedule="constant", penalty_scale=scale, block_size=4
    )
    torch.testing.assert_close(flat(model), expected, rtol=1e-5, atol=1e-6)
    assert len(log.penalty) == 1 and log.penalty[0] > 0


# --- SGD ------------------------------------------------------------------------------------


def test_sgd_with_one_batch_is_gradient_descent():
    X, y = toy(seed=10)
    a, b = nets.mlp(5, (6,), 3, seed=11), nets.mlp(5, (6,), 3, seed=11)
    kwargs = dict(lr=0.2, warmup_steps=2, clip_norm=0.5)
    fullbatch.train_sgd(a, X, y, num_epochs=5, batch_size=12, **kwargs)
    fullbatch.train_full_batch(b, X, y, num_steps=5, **kwargs)
    torch.testing.assert_close(flat(a), flat(b), rtol=0, atol=1e-7)


def test_sgd_takes_one_step_per_batch_of_a_fresh_order_each_epoch():
    X, y = toy(n=12, seed=12)
    model = nets.mlp(5, (6,), 3, seed=13)
    reference = copy.deepcopy(model)
    log = fullbatch.train_sgd(
        model,
        X,
        y,
        X,
        y,
        lr=0.3,
        num_epochs=2,
        batch_size=4,
        schedule="constant",
        seed=5,
        checkpoints=(0, 3),
    )
    generator = torch.Generator()
    generator.manual_seed(5)
    opt = torch.optim.SGD(reference.parameters(), lr=0.3)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    for _ in range(2):
        order = torch.randperm(12, generator=generator)
        assert sorted(order.tolist()) == list(range(12))
        for first in range(0, 12, 4):
            index = order[first : first + 4]
            opt.zero_grad()
            F.cross_entropy(reference(Xt[index]), yt[index]).backward()
            opt.step()
    torch.testing.assert_close(flat(model), flat(reference), rtol=0, atol=1e-7)
    assert log.checkpoints == [0, 3, 6] and log.epochs_per_step == pytest.approx(1 / 3)
    assert len(log.test_acc) == 3 and log.train_acc[-1] == log.test_acc[-1]


def test_evaluate_and_checkpoint_hook():
    X, y = toy(seed=14)
    model = nets.mlp(5, (6,), 3, seed=15)
    seen = []
    log = fullbatch.train_full_batch(
        model,
        X,
        y,
        lr=0.1,
        num_steps=3,
        checkpoints=[0, 2],
        on_checkpoint=lambda step, m: seen.append(step),
    )
    assert seen == [0, 2, 3] == log.checkpoints
    Xt, yt = torch.tensor(X), torch.tensor(y)
    with torch.no_grad():
        logits = model(Xt)
    loss, acc = fullbatch.evaluate(model, Xt, yt, batch_size=5)
    assert loss == pytest.approx(F.cross_entropy(logits, yt).item(), rel=1e-6)
    assert acc == pytest.approx((logits.argmax(1) == yt).float().mean().item())
    assert log.train_loss[-1] == pytest.approx(loss, rel=1e-6)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(penalty_scale=1.0), "block_size must be given when penalty_scale > 0; got None."),
        (dict(penalty_scale=1.0, block_size=5), r"block_size must divide the number of training"),
        (dict(penalty_scale=-1.0), "penalty_scale must be a non-negative number; got -1.0."),
        (dict(clip_norm=0.0), "clip_norm must be a positive number; got 0.0."),
        (dict(warmup_steps=4), "warmup_steps must be an integer from 0 to 3; got 4."),
        (dict(schedule="step"), r"schedule must be one of \('cosine', 'constant'\); got 'step'."),
        (dict(momentum=1.0), r"momentum must be a number in \[0, 1\); got 1.0."),
        (dict(checkpoints=(0, 9)), "checkpoints must be step numbers from 0 to num_steps = 4"),
        (dict(lr=0.0), "lr must be a positive number; got 0.0."),
        (dict(num_steps=0), "num_steps must be a positive integer; got 0."),
        (dict(on_checkpoint=3), "on_checkpoint must be callable or None; got 3."),
    ],
)
def test_train_full_batch_rejects_bad_input(kwargs, message):
    X, y = toy()
    args = dict(lr=0.1, num_steps=4) | kwargs
    with pytest.raises(ValueError, match=message):
        fullbatch.train_full_batch(nets.mlp(5, (4,), 3), X, y, **args)


def test_bad_data_and_sgd_batches_are_rejected():
    X, y = toy()
    model = nets.mlp(5, (4,), 3)
    with pytest.raises(ValueError, match=r"X and y must have the same number of rows; got shapes"):
        fullbatch.train_full_batch(model, X[:5], y, lr=0.1, num_steps=1)
    with pytest.raises(ValueError, match="y must be an array of integer labels; got dtype float64"):
        fullbatch.train_full_batch(model, X, y.astype(float), lr=0.1, num_steps=1)
    with pytest.raises(ValueError, match=r"batch_size must divide the number of training"):
        fullbatch.train_sgd(model, X, y, lr=0.1, num_epochs=1, batch_size=5)
    with pytest.raises(ValueError, match="num_epochs must be a positive integer; got 0."):
        fullbatch.train_sgd(model, X, y, lr=0.1, num_epochs=0, batch_size=4)
    with pytest.raises(ValueError, match="step must be an integer from 0 to 9; got 10."):
        fullbatch.learning_rate(10, 10, 0.1)

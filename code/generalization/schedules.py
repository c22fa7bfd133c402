"""Learning-rate schedules from practice: the range test and the one-cycle policy.

Smith (2018) gives two tools for choosing the learning rate without a grid search:

* **The learning-rate range test.** Train for a short while with a learning rate that grows
  at every step from very small to very large, and watch the training loss: it falls slowly
  at first, falls fastest somewhere in the middle, and blows up once the rate is too large.
  The largest rate at which the loss still falls is the candidate maximum for training.
  :func:`lr_range_test` runs it on a copy of the training state and restores the model's
  weights afterwards, so the test costs nothing but time. On a quadratic loss, gradient
  descent is stable exactly when ``lr < 2 / lambda_max`` (the largest Hessian eigenvalue);
  the range test sees the divergence only some steps later, at a larger rate, because the
  loss needs time to grow: the test overestimates the stability limit, and Smith's advice to
  train below the divergence point accounts for it.
* **The one-cycle policy.** One cycle of two equal phases, the rate rising linearly from
  ``max_lr / div_factor`` to ``max_lr`` and falling back, with momentum moving the opposite
  way (0.95 to 0.85 and back), then a short last phase in which the rate falls several orders
  of magnitude below its starting value. :func:`one_cycle` configures PyTorch's own
  ``OneCycleLR`` (``three_phase=True``, linear annealing) to that form, with the parameters
  named as in the paper; :func:`one_cycle_lr` is the same schedule written as a formula, to
  plot it and to test the configuration against.

Conventions::

    step t = 0, 1, ..., total_steps - 1 counts optimizer steps (mini-batches)
    loss_fn(outputs, y) -> scalar mean loss; default torch.nn.functional.cross_entropy
    X, y    torch tensors or NumPy arrays; X cast to the model's dtype, integer y as classes

References
----------
Smith (2018), *A disciplined approach to neural network hyper-parameters: Part 1 -- learning
rate, batch size, momentum, and weight decay*, arXiv:1803.09820 (Section 4.1,
"Cyclical learning rates and super-convergence revisited": the range test and the one-cycle
policy).
Smith (2017), *Cyclical learning rates for training neural networks*, WACV (Section 3.3: the
range test, there with a linear increase).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np

from . import checks

INCREASES = ("exponential", "linear")


def _fail(name, wanted, got):
    raise ValueError(f"{name} must be {wanted}; got {got}.")


@dataclass
class RangeTest:
    """The record of a learning-rate range test.

    Attributes
    ----------
    lrs : ndarray of shape (m,)
        The rate used at each step taken (m <= steps: the test stops at divergence).
    losses : ndarray of shape (m,)
        The mini-batch training loss at each step, before that step's update.
    smoothed : ndarray of shape (m,)
        Their exponential moving average, bias-corrected (``smoothing`` is its decay).
    best_lr : float
        The rate at which the smoothed loss was lowest.
    diverged_lr : float or None
        The first rate at which the smoothed loss exceeded ``stop_factor`` times its lowest
        value so far (None when it never did).
    run_time_s : float
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    best_lr: float
    diverged_lr: float | None
    run_time_s: float


def range_test_lrs(lr_min, lr_max, steps, increase="exponential"):
    """The rates of a range test: ``steps`` values from ``lr_min`` to ``lr_max``,
    geometrically (``"exponential"``) or evenly (``"linear"``) spaced."""
    lr_min = checks.positive("lr_min", lr_min)
    lr_max = checks.positive("lr_max", lr_max)
    if lr_max <= lr_min:
        _fail("lr_max", f"larger than lr_min = {lr_min}", repr(lr_max))
    steps = checks.count("steps", steps, minimum=2)
    increase = checks.choice("increase", increase, INCREASES)
    if increase == "exponential":
        return np.geomspace(lr_min, lr_max, steps)
    return np.linspace(lr_min, lr_max, steps)


def lr_range_test(
    model,
    X,
    y,
    *,
    lr_min=1e-4,
    lr_max=10.0,
    steps=100,
    increase="exponential",
    batch_size=128,
    momentum=0.9,
    weight_decay=0.0,
    stop_factor=4.0,
    smoothing=0.98,
    loss_fn=None,
    seed=0,
):
    """Train with a rate growing at every step and record the loss; restore the model.

    SGD (with ``momentum`` and ``weight_decay``) on mini-batches of ``batch_size`` drawn in a
    seeded random order (a new permutation every pass over the data); ``batch_size = None``
    takes the whole set at every step (gradient descent). The test stops early when the
    smoothed loss exceeds ``stop_factor`` times its minimum, or becomes non-finite. The model's
    parameters, buffers and training mode are restored exactly afterwards.

    Returns
    -------
    RangeTest
    """
    import torch
    import torch.nn.functional as F

    if not isinstance(model, torch.nn.Module) or not list(model.parameters()):
        _fail("model", "a torch.nn.Module with parameters", type(model).__name__)
    lrs = range_test_lrs(lr_min, lr_max, steps, increase)
    momentum = checks.number("momentum", momentum, low=0, high=1, high_open=True)
    weight_decay = checks.nonnegative("weight_decay", weight_decay)
    stop_factor = checks.number("stop_factor", stop_factor, low=1, low_open=True)
    smoothing = checks.number("smoothing", smoothing, low=0, high=1, high_open=True)
    seed = checks.count("seed", seed, minimum=0)
    loss_fn = F.cross_entropy if loss_fn is None else loss_fn
    if not callable(loss_fn):
        _fail("loss_fn", "a callable loss_fn(outputs, y)", type(loss_fn).__name__)
    dtype = next(model.parameters()).dtype
    X = torch.as_tensor(checks.array("X", X, dtype=None)).to(dtype)
    y = checks.array("y", y, ndim=tuple(range(1, 9)), dtype=None)
    if loss_fn is F.cross_entropy and y.ndim == 1:  # class indices (not probabilities)
        y = checks.labels("y", y)
    y = torch.as_tensor(y)
    y = y.to(dtype) if y.is_floating_point() else y.to(torch.long)
    n = X.shape[0]
    if y.shape[0] != n:
        _fail("y", f"one target per row of X ({n})", f"{y.shape[0]} targets")
    batch_size = n if batch_size is None else checks.count("batch_size", batch_size)
    batch_size = min(batch_size, n)

    saved = copy.deepcopy(model.state_dict())
    was_training = model.training
    start = time.perf_counter()
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=float(lrs[0]), momentum=momentum, weight_decay=weight_decay
    )
    model.train()
    order, position = torch.randperm(n, generator=generator), 0
    losses, smoothed, used = [], [], []
    average, best, diverged = 0.0, np.inf, None
    try:
        for step, lr in enumerate(lrs):
            if position + batch_size > n:
                order, position = torch.randperm(n, generator=generator), 0
            index = order[position : position + batch_size]
            position += batch_size
            for group in optimizer.param_groups:
                group["lr"] = float(lr)
            loss = loss_fn(model(X[index]), y[index])
            value = float(loss.detach())
            used.append(float(lr))
            losses.append(value)
            average = smoothing * average + (1 - smoothing) * value
            smooth = average / (1 - smoothing ** (step + 1))
            smoothed.append(smooth)
            if not np.isfinite(smooth) or smooth > stop_factor * best:
                diverged = float(lr)
                break
            best = min(best, smooth)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    finally:
        model.load_state_dict(saved)
        model.train(was_training)
    smoothed_array = np.asarray(smoothed)
    finite = np.where(np.isfinite(smoothed_array), smoothed_array, np.inf)
    return RangeTest(
        lrs=np.asarray(used),
        losses=np.asarray(losses),
        smoothed=smoothed_array,
        best_lr=float(np.asarray(used)[np.argmin(finite)]),
        diverged_lr=diverged,
        run_time_s=time.perf_counter() - start,
    )


def _one_cycle_arguments(max_lr, total_steps, div_factor, final_div_factor, annihilate_fraction):
    max_lr = checks.positive("max_lr", max_lr)
    total_steps = checks.count("total_steps", total_steps, minimum=4)
    div_factor = checks.number("div_factor", div_factor, low=1, low_open=True)
    final_div_factor = checks.number("final_div_factor", final_div_factor, low=1)
    annihilate_fraction = checks.number(
        "annihilate_fraction", annihilate_fraction, low=0, high=1, low_open=True, high_open=True
    )
    pct_start = (1 - annihilate_fraction) / 2
    if 2 * pct_start * total_steps - 2 <= pct_start * total_steps - 1:
        _fail("total_steps", "long enough for two phases of at least one step", repr(total_steps))
    return max_lr, total_steps, div_factor, final_div_factor, pct_start


def one_cycle(
    optimizer,
    max_lr,
    total_steps,
    *,
    div_factor=10.0,
    final_div_factor=100.0,
    annihilate_fraction=0.1,
    momentum=(0.95, 0.85),
):
    """PyTorch's ``OneCycleLR`` configured as Smith's (2018) one-cycle policy.

    Two phases of equal length over the first ``1 - annihilate_fraction`` of the steps, the
    rate rising linearly from ``max_lr / div_factor`` to ``max_lr`` and falling back (momentum
    falling from ``momentum[0]`` to ``momentum[1]`` and rising back, when the optimizer has
    momentum), then a last phase down to ``max_lr / div_factor / final_div_factor``
    (``three_phase=True``, ``anneal_strategy="linear"``). Call ``scheduler.step()`` after
    every optimizer step, ``total_steps - 1`` times in all.

    Returns
    -------
    torch.optim.lr_scheduler.OneCycleLR
    """
    import torch

    if not isinstance(optimizer, torch.optim.Optimizer):
        _fail("optimizer", "a torch.optim.Optimizer", type(optimizer).__name__)
    max_lr, total_steps, div_factor, final_div_factor, pct_start = _one_cycle_arguments(
        max_lr, total_steps, div_factor, final_div_factor, annihilate_fraction
    )
    high, low = checks.numbers("momentum", momentum, low=0, high=1, high_open=True)
    if len(momentum) != 2 or high < low:
        _fail("momentum", "a pair (high, low) with high >= low", repr(momentum))
    cycle = any("momentum" in group or "betas" in group for group in optimizer.param_groups)
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=max_lr,
        total_steps=total_steps,
        pct_start=pct_start,
        anneal_strategy="linear",
        cycle_momentum=cycle,
        base_momentum=low,
        max_momentum=high,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        three_phase=True,
    )


def one_cycle_lr(
    steps, max_lr, total_steps, *, div_factor=10.0, final_div_factor=100.0, annihilate_fraction=0.1
):
    """The one-cycle rate at each step, as a formula.

    Piecewise linear through ``(0, lr_0)``, ``(s_1, max_lr)``, ``(s_2, lr_0)`` and
    ``(total_steps - 1, lr_0 / final_div_factor)``,
    with ``lr_0 = max_lr / div_factor``, ``s_1 = p T - 1``, ``s_2 = 2 p T - 2``,
    ``p = (1 - annihilate_fraction) / 2`` (the breakpoints PyTorch's three-phase ``OneCycleLR``
    uses).

    Parameters
    ----------
    steps : array_like of int, each in [0, total_steps)

    Returns
    -------
    ndarray of the shape of ``steps``
    """
    max_lr, total_steps, div_factor, final_div_factor, pct = _one_cycle_arguments(
        max_lr, total_steps, div_factor, final_div_factor, annihilate_fraction
    )
    steps = checks.array("steps", steps, dtype=None)
    if (
        not np.issubdtype(steps.dtype, np.integer)
        or np.any(steps < 0)
        or np.any(steps >= total_steps)
    ):
        _fail("steps", f"integers in [0, {total_steps})", repr(steps.tolist())[:60])
    start = max_lr / div_factor
    knots = [0.0, pct * total_steps - 1, 2 * pct * total_steps - 2, total_steps - 1.0]
    values = [start, max_lr, start, start / final_div_factor]
    return np.interp(steps.astype(float), knots, values)

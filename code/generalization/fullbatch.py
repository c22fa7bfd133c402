"""Full-batch gradient descent with the ingredients that make it generalize like SGD.

Geiping, Goldblum, Pope, Moeller and Goldstein (2022) train networks with gradient descent on
the *whole* training set, no sampling at all, and match small-batch SGD by adding three
things: many more steps (with a learning-rate warmup), clipping of the gradient's norm, and an
explicit penalty on the gradient norms of fixed blocks of the data, the term that Smith et al.
(2021) found SGD adds implicitly. This module is that trainer, for the small networks of
:mod:`generalization.nets`, and an SGD trainer with the same interface and the same schedule,
so that the two are compared like for like.

Notation (the same everywhere in this module)::

    n training examples, split once, in their given order, into m = n / b blocks of size b
    C(w)   = (1/n) sum_i loss_i(w)             the full-batch loss (cross-entropy)
    C_k(w) = (1/b) sum_{i in block k} loss_i(w)   so C = (1/m) sum_k C_k
    lr_t   learning rate at step t: linear warmup over `warmup_steps`, then cosine decay to 0
    P(w)   = (1/m) sum_k ||grad C_k(w)||^2      the block gradient penalty
    GD step with penalty scale s:
           w <- w - lr_t * clip( grad [ C + s (lr_t / 4) P ](w) )
    clip(g) = g * min(1, c / ||g||)            (clip_norm c; none when c is None)

The penalty's coefficient ``s * lr_t / 4`` follows the learning-rate schedule. With ``s = 1``
and blocks of the SGD batch size, ``C + (lr/4) P`` is the modified loss that one epoch of SGD
without replacement follows to second order in ``lr`` (Smith et al. 2021; see
:mod:`generalization.modified_loss`); gradient descent adds ``(lr/4) ||grad C||^2``
implicitly by itself (Barrett and Dherin 2021), so the explicit term supplies what the batches
would have added.

What the authors' released code does (``fullbatch/models/modules.py``, class
``GradRegularizer``, and ``config/hyp/gradreg.yaml`` of github.com/JonasGeiping/fullbatchtraining):
blocks of 128 (32 for "strong reg."), a ``block_strength`` of 0.5, a logged regularizer
``(lr_t / 4) * 0.5 * P`` and a gradient step that adds ``(lr_t / 4) * 0.5 * H_k grad C_k`` per
block, the Hessian-vector product taken by a forward finite difference, a step of length 0.01
along the block's (scaled) gradient. The gradient of ``||grad C_k||^2`` is
``2 H_k grad C_k``, so their step corresponds to half their logged coefficient; with our ``s``
their step is ``s = 0.25``. Here the penalty's gradient is exact, by double backpropagation
through :func:`generalization.modified_loss.gradient_norm_penalty`, and ``s`` scales the
penalty whose gradient is taken.

Functions:

* :func:`learning_rate`: the schedule ``lr_t`` (warmup, then cosine or constant);
* :func:`block_penalty`: ``P(w)``, differentiable;
* :func:`train_full_batch`: gradient descent on all the data, with warmup, clipping and the
  penalty;
* :func:`train_sgd`: SGD without replacement on the same model, schedule and clipping;
* :func:`evaluate`: mean loss and accuracy of a model on a data set.

References
----------
Geiping, Goldblum, Pope, Moeller, Goldstein (2022), *Stochastic training is not necessary for
generalization*, ICLR, https://arxiv.org/abs/2109.14119.
Smith, Dherin, Barrett, De (2021), *On the origin of implicit regularization in stochastic
gradient descent*, ICLR, https://arxiv.org/abs/2101.12176.
Barrett, Dherin (2021), *Implicit gradient regularization*, ICLR,
https://arxiv.org/abs/2009.11162.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from . import checks, modified_loss, nets

SCHEDULES = ("cosine", "constant")
"""The shapes of the learning rate after warmup (:func:`learning_rate`)."""


def learning_rate(step, num_steps, lr, warmup_steps=0, schedule="cosine"):
    """The learning rate of step ``step`` (counted from 0) of a run of ``num_steps`` steps.

    Linear warmup ``lr (t + 1) / W`` for ``t < W = warmup_steps``; then either ``lr``
    (``"constant"``) or the cosine decay ``lr (1 + cos(pi (t - W) / (num_steps - W))) / 2``,
    which starts at ``lr`` and would reach 0 one step after the last. The same values as
    ``torch.optim.lr_scheduler.LinearLR(start_factor=1 / W, total_iters=W - 1)`` followed by
    ``CosineAnnealingLR(T_max=num_steps - W)``.

    Parameters
    ----------
    step : int, 0 <= step < num_steps
    num_steps : int
    lr : float, > 0
        The peak learning rate.
    warmup_steps : int, 0 <= warmup_steps < num_steps
    schedule : {"cosine", "constant"}

    Returns
    -------
    float
    """
    num_steps = checks.count("num_steps", num_steps)
    step = checks.count("step", step, minimum=0, maximum=num_steps - 1)
    lr = checks.positive("lr", lr)
    warmup_steps = checks.count("warmup_steps", warmup_steps, minimum=0, maximum=num_steps - 1)
    checks.choice("schedule", schedule, SCHEDULES)
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    if schedule == "constant":
        return lr
    return lr * 0.5 * (1.0 + math.cos(math.pi * (step - warmup_steps) / (num_steps - warmup_steps)))


def _tensors(X, y):
    """``X`` (float32, 2-D or more) and ``y`` (int64 labels) as torch tensors, checked."""
    import torch

    X = checks.array("X", X, ndim=None, dtype=np.float32)
    y = checks.array("y", y, ndim=1, dtype=None)
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be an array of integer labels; got dtype {y.dtype}.")
    if X.ndim < 2 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X and y must have the same number of rows; got shapes {X.shape} and {y.shape}."
        )
    # copies: the inputs may be read-only views of the cached data set
    return torch.tensor(X), torch.tensor(y.astype(np.int64))


def _block_size(block_size, n):
    block_size = checks.count("block_size", block_size)
    if n % block_size:
        raise ValueError(
            f"block_size must divide the number of training examples ({n}); got {block_size}."
        )
    return block_size


def _model_and_tensors(model, X, y):
    """Check ``model`` (a module), ``X`` (a float tensor) and ``y`` (one label per row)."""
    import torch

    checks.module("model", model)
    checks.tensor("X", X)
    if X.ndim < 1 or not isinstance(y, torch.Tensor) or y.shape != X.shape[:1]:
        got = f"{type(y).__name__} of shape {tuple(y.shape)}" if hasattr(y, "shape") else repr(y)
        raise ValueError(
            f"y must be a 1-D tensor with one label per row of X ({tuple(X.shape)[:1]}); "
            f"got {got:.80}."
        )


def block_penalty(model, X, y, block_size):
    """``P = (1/m) sum_k ||grad C_k||^2`` over the ``m = n / block_size`` blocks, differentiable.

    Parameters
    ----------
    model : torch.nn.Module
    X : torch.Tensor of shape (n, ...); y : torch.Tensor of shape (n,), int64
        The blocks are consecutive slices ``X[k b:(k + 1) b]``, in the given order.
    block_size : int
        ``b``; it must divide ``n``.

    Returns
    -------
    torch.Tensor, shape ()
        Built with ``create_graph=True`` (by
        :func:`generalization.modified_loss.gradient_norm_penalty`), so its gradient with
        respect to the model's parameters, ``(2/m) sum_k H_k grad C_k``, is exact.
    """
    import torch.nn.functional as F

    _model_and_tensors(model, X, y)
    block_size = _block_size(block_size, X.shape[0])
    params = [p for p in model.parameters() if p.requires_grad]
    total = 0.0
    m = X.shape[0] // block_size
    for k in range(m):
        xb, yb = X[k * block_size : (k + 1) * block_size], y[k * block_size : (k + 1) * block_size]
        total = total + modified_loss.gradient_norm_penalty(
            lambda xb=xb, yb=yb: F.cross_entropy(model(xb), yb), params
        )
    return total / m


def evaluate(model, X, y, batch_size=4096):
    """Mean cross-entropy and accuracy of ``model`` on ``(X, y)`` (torch tensors), in eval mode."""
    import torch
    import torch.nn.functional as F

    _model_and_tensors(model, X, y)
    batch_size = checks.count("batch_size", batch_size)
    was_training = model.training
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for first in range(0, X.shape[0], batch_size):
            logits = model(X[first : first + batch_size])
            target = y[first : first + batch_size]
            loss += F.cross_entropy(logits, target, reduction="sum").item()
            correct += (logits.argmax(1) == target).sum().item()
    model.train(was_training)
    return loss / X.shape[0], correct / X.shape[0]


@dataclass
class RunLog:
    """What a training run recorded.

    ``checkpoints``: the step numbers evaluated (0 = before training); at each, ``train_loss``,
    ``train_acc`` (on the whole training set) and, with test data, ``test_acc``. ``path_loss``:
    for full-batch runs, the full-batch loss ``C`` before each step (without the penalty);
    ``penalty``: ``P`` before each step when the penalty is on. ``clipped``: the fraction of
    steps whose gradient norm exceeded ``clip_norm``. ``epochs_per_step``: how many passes over
    the data one step is (1 for full batch, ``b / n`` for SGD).
    """

    checkpoints: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    path_loss: list = field(default_factory=list)
    penalty: list = field(default_factory=list)
    clipped: float = 0.0
    epochs_per_step: float = 1.0
    run_time_s: float = 0.0


def _checkpoints(checkpoints, num_steps):
    if checkpoints is None or len(checkpoints) == 0:
        return {num_steps}
    wanted = checks.integers("checkpoints", checkpoints, minimum=0)
    if any(c > num_steps for c in wanted):
        raise ValueError(
            f"checkpoints must be step numbers from 0 to num_steps = {num_steps}; got {wanted}."
        )
    return set(wanted) | {num_steps}


def _common(lr, warmup_steps, num_steps, schedule, clip_norm, momentum, on_checkpoint):
    lr = checks.positive("lr", lr)
    warmup_steps = checks.count("warmup_steps", warmup_steps, minimum=0, maximum=num_steps - 1)
    checks.choice("schedule", schedule, SCHEDULES)
    if clip_norm is not None:
        clip_norm = checks.positive("clip_norm", clip_norm)
    momentum = checks.number("momentum", momentum, low=0, high=1, high_open=True)
    if on_checkpoint is not None and not callable(on_checkpoint):
        raise ValueError(f"on_checkpoint must be callable or None; got {on_checkpoint!r}.")
    return lr, warmup_steps, clip_norm, momentum


class _Recorder:
    """Evaluate at the checkpoints and call the user's hook; keeps the log."""

    def __init__(self, log, wanted, X, y, X_test, y_test, on_checkpoint):
        self.log, self.wanted, self.on_checkpoint = log, wanted, on_checkpoint
        self.X, self.y, self.X_test, self.y_test = X, y, X_test, y_test

    def __call__(self, step, model):
        if step not in self.wanted:
            return
        loss, acc = evaluate(model, self.X, self.y)
        self.log.checkpoints.append(step)
        self.log.train_loss.append(loss)
        self.log.train_acc.append(acc)
        if self.X_test is not None:
            self.log.test_acc.append(evaluate(model, self.X_test, self.y_test)[1])
        if self.on_checkpoint is not None:
            self.on_checkpoint(step, model)


def _step(model, opt, lr_t, clip_norm):
    """Set the learning rate, clip the gradient in place, step; return whether it clipped."""
    import torch

    for group in opt.param_groups:
        group["lr"] = lr_t
    clipped = False
    if clip_norm is not None:
        # g <- g min(1, c / ||g||), the norm over all parameters together
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        clipped = bool(norm > clip_norm)
    opt.step()
    return clipped


def train_full_batch(
    model,
    X_train,
    y_train,
    X_test=None,
    y_test=None,
    *,
    lr,
    num_steps,
    warmup_steps=0,
    schedule="cosine",
    clip_norm=None,
    penalty_scale=0.0,
    block_size=None,
    momentum=0.0,
    checkpoints=(),
    on_checkpoint=None,
    num_threads=1,
):
    """Full-batch gradient descent with warmup, clipping and the block gradient penalty.

    Each step computes the gradient of ``C + penalty_scale (lr_t / 4) P`` on all the training
    data (module docstring), clips its norm to ``clip_norm`` and takes one step of
    ``torch.optim.SGD`` with learning rate ``lr_t``. With ``penalty_scale = 0``,
    ``warmup_steps = 0``, ``schedule = "constant"`` and no clipping this is plain gradient
    descent ``w <- w - lr grad C(w)``.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place (float32).
    X_train : ndarray of shape (n, ...); y_train : ndarray of shape (n,), integer labels
    X_test, y_test : optional
        Evaluated at each checkpoint.
    lr : float
        Peak learning rate.
    num_steps : int
        Gradient steps; each is one pass over the data (one epoch).
    warmup_steps : int
    schedule : {"cosine", "constant"}
        See :func:`learning_rate`.
    clip_norm : float, optional
        Largest Euclidean norm of the gradient (all parameters together) before the step.
    penalty_scale : float, default 0
        ``s``: the penalty is ``s (lr_t / 4) P``; 1 is Smith et al.'s implicit strength of SGD
        with step ``lr_t`` and batches of ``block_size``.
    block_size : int, optional
        ``b``, which must divide ``n``; required when ``penalty_scale > 0``.
    momentum : float in [0, 1)
        Heavy-ball momentum of ``torch.optim.SGD`` (0: none).
    checkpoints : sequence of int
        Steps (0 to ``num_steps``) after which to evaluate; the last step always is.
    on_checkpoint : callable, optional
        ``on_checkpoint(step, model)`` after each evaluation, for other measurements; it must
        not change the model.
    num_threads : int, default 1
        Torch CPU threads while training (restored afterwards).

    Returns
    -------
    RunLog
    """
    import torch
    import torch.nn.functional as F

    checks.module("model", model)
    X, y = _tensors(X_train, y_train)
    X_test, y_test = (None, None) if X_test is None else _tensors(X_test, y_test)
    num_steps = checks.count("num_steps", num_steps)
    lr, warmup_steps, clip_norm, momentum = _common(
        lr, warmup_steps, num_steps, schedule, clip_norm, momentum, on_checkpoint
    )
    penalty_scale = checks.nonnegative("penalty_scale", penalty_scale)
    if block_size is not None:
        block_size = _block_size(block_size, X.shape[0])
    elif penalty_scale > 0:
        raise ValueError("block_size must be given when penalty_scale > 0; got None.")
    log = RunLog(epochs_per_step=1.0)
    record = _Recorder(
        log, _checkpoints(checkpoints, num_steps), X, y, X_test, y_test, on_checkpoint
    )
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    start, clipped = time.perf_counter(), 0
    with nets.threads(num_threads):
        model.train()
        record(0, model)
        for t in range(num_steps):
            lr_t = learning_rate(t, num_steps, lr, warmup_steps, schedule)
            objective = F.cross_entropy(model(X), y)
            log.path_loss.append(objective.item())
            if penalty_scale > 0:
                penalty = block_penalty(model, X, y, block_size)
                log.penalty.append(penalty.item())
                # C + s (lr_t / 4) P: Smith et al.'s SGD term, made explicit
                objective = objective + penalty_scale * lr_t / 4.0 * penalty
            opt.zero_grad(set_to_none=True)
            objective.backward()
            clipped += _step(model, opt, lr_t, clip_norm)
            record(t + 1, model)
    log.clipped = clipped / num_steps
    log.run_time_s = time.perf_counter() - start
    return log


def train_sgd(
    model,
    X_train,
    y_train,
    X_test=None,
    y_test=None,
    *,
    lr,
    num_epochs,
    batch_size,
    warmup_steps=0,
    schedule="cosine",
    clip_norm=None,
    momentum=0.0,
    checkpoints=(),
    on_checkpoint=None,
    seed=0,
    num_threads=1,
):
    """SGD without replacement, with the schedule and clipping of :func:`train_full_batch`.

    Each epoch visits the training examples in a fresh random order
    (``torch.randperm`` from :func:`generalization.nets.seed_everything` of ``seed``), in
    ``n / batch_size`` batches, one step each; the schedule runs over all
    ``num_epochs * n / batch_size`` steps, and checkpoints count steps, not epochs.

    Parameters
    ----------
    model : torch.nn.Module
    X_train, y_train, X_test, y_test : as in :func:`train_full_batch`
    lr : float
    num_epochs : int
    batch_size : int
        It must divide ``n``, so that every step sees the same number of examples.
    warmup_steps, schedule, clip_norm, momentum, checkpoints, on_checkpoint, num_threads
        As in :func:`train_full_batch` (steps are SGD steps).
    seed : int
        Seeds the orders of the examples.

    Returns
    -------
    RunLog
        ``path_loss`` and ``penalty`` are empty; ``epochs_per_step`` is ``batch_size / n``.
    """
    import torch
    import torch.nn.functional as F

    checks.module("model", model)
    X, y = _tensors(X_train, y_train)
    X_test, y_test = (None, None) if X_test is None else _tensors(X_test, y_test)
    n = X.shape[0]
    batch_size = checks.count("batch_size", batch_size)
    if n % batch_size:
        raise ValueError(
            f"batch_size must divide the number of training examples ({n}); got {batch_size}."
        )
    num_epochs = checks.count("num_epochs", num_epochs)
    per_epoch = n // batch_size
    num_steps = num_epochs * per_epoch
    lr, warmup_steps, clip_norm, momentum = _common(
        lr, warmup_steps, num_steps, schedule, clip_norm, momentum, on_checkpoint
    )
    generator = nets.seed_everything(seed)
    log = RunLog(epochs_per_step=batch_size / n)
    record = _Recorder(
        log, _checkpoints(checkpoints, num_steps), X, y, X_test, y_test, on_checkpoint
    )
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    start, clipped, t = time.perf_counter(), 0, 0
    with nets.threads(num_threads):
        model.train()
        record(0, model)
        for _ in range(num_epochs):
            order = torch.randperm(n, generator=generator)
            for first in range(0, n, batch_size):
                index = order[first : first + batch_size]
                loss = F.cross_entropy(model(X[index]), y[index])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                clipped += _step(
                    model, opt, learning_rate(t, num_steps, lr, warmup_steps, schedule), clip_norm
                )
                t += 1
                record(t, model)
    log.clipped = clipped / num_steps
    log.run_time_s = time.perf_counter() - start
    return log

"""Experiments of the chapter *A disciplined approach to hyperparameters*.

Smith (2018) sets the learning rate, batch size, momentum and weight decay of a network from
short runs: a learning-rate range test gives the largest usable rate, the one-cycle policy
trains with it, and the early test loss tells under-fitting (still falling) from
over-fitting (rising after a minimum). He argues that large rates, small batches and weight
decay are all regularizers, so the best value of one shifts with the others. His evidence is
CIFAR-10, CIFAR-100, ImageNet and MNIST with convolutional networks. This chapter runs:

* :func:`quadratic_experiment`: the range test (:func:`generalization.schedules.lr_range_test`)
  on a quadratic loss whose Hessian is known exactly, so its divergence point can be set
  against the stability limit ``2 / lambda_max`` of gradient descent (``2 (1 + beta) /
  lambda_max`` with heavy-ball momentum ``beta``), for ramps of several lengths;
* :func:`mnist_range_experiment`: the range test on a one-hidden-layer MLP on an MNIST
  subset, beside ``2 / lambda_max`` of its loss at initialization
  (:func:`generalization.landscape.top_hessian_eigenvalues`, Lanczos);
* :func:`schedule_experiment`: one-cycle (:func:`generalization.schedules.one_cycle`),
  constant and step schedules at the same budget of epochs, several seeds;
* :func:`regularization_experiment`: a small grid of learning rates and weight decays on a
  smaller subset, whose test-loss curves show under- and over-fitting and where the best
  weight decay moves with the learning rate.

Differences from the paper: an MLP on a few thousand MNIST images instead of residual
networks on CIFAR-10 (no copy of CIFAR-10 here, and a CPU budget of seconds); the test loss
on a fixed subset of the MNIST test set plays the part of Smith's validation loss.

References
----------
Smith (2018), *A disciplined approach to neural network hyper-parameters: Part 1 -- learning
rate, batch size, momentum, and weight decay*, arXiv:1803.09820.
Smith (2017), *Cyclical learning rates for training neural networks*, WACV.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, data, landscape, nets, schedules, settings_for
from generalization.book.cache import cached

SETTINGS = {
    "quick": dict(
        quadratic=dict(
            n_features=20,
            n_samples=200,
            lam_min=0.01,
            lam_max=1.0,
            noise=0.1,
            lr_min=0.01,
            lr_max=100.0,
            ramps=(50, 200, 800),
            momenta=(0.0, 0.9),
            seed=0,
        ),
        range_test=dict(
            seeds=(0, 1, 2),
            n_train=2000,
            hidden=(128,),
            lr_min=1e-3,
            lr_max=30.0,
            steps=200,
            batch_size=128,
            momenta=(0.0, 0.9),
        ),
        schedules=dict(
            seeds=(0, 1, 2),
            n_train=2000,
            n_test=2000,
            hidden=(128,),
            num_epochs=10,
            batch_size=128,
            max_lr=0.5,
            div_factor=10.0,
            momentum=0.9,
        ),
        regularization=dict(
            seeds=(0, 1),
            n_train=500,
            n_test=1000,
            hidden=(128,),
            num_epochs=30,
            batch_size=50,
            lrs=(0.003, 0.03, 0.3),
            weight_decays=(0.0, 3e-3, 1e-2, 3e-2),
            momentum=0.9,
        ),
    ),
    "full": dict(
        quadratic=dict(
            n_features=50,
            n_samples=500,
            lam_min=0.01,
            lam_max=1.0,
            noise=0.1,
            lr_min=0.01,
            lr_max=100.0,
            ramps=(50, 200, 800, 3200),
            momenta=(0.0, 0.9),
            seed=0,
        ),
        range_test=dict(
            seeds=tuple(range(5)),
            n_train=10000,
            hidden=(512,),
            lr_min=1e-3,
            lr_max=30.0,
            steps=400,
            batch_size=128,
            momenta=(0.0, 0.9),
        ),
        schedules=dict(
            seeds=tuple(range(5)),
            n_train=10000,
            n_test=10000,
            hidden=(512,),
            num_epochs=20,
            batch_size=128,
            max_lr=0.5,
            div_factor=10.0,
            momentum=0.9,
        ),
        regularization=dict(
            seeds=tuple(range(4)),
            n_train=1000,
            n_test=10000,
            hidden=(512,),
            num_epochs=60,
            batch_size=50,
            lrs=(0.003, 0.03, 0.3),
            weight_decays=(0.0, 1e-3, 3e-3, 1e-2, 3e-2),
            momentum=0.9,
        ),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

Quick runs in well under a minute on 2 CPU cores; full uses larger subsets, wider networks,
more seeds and longer training (still far below Smith's CIFAR-10 runs)."""

SCHEDULES = ("constant", "step", "one_cycle")
"""The learning-rate schedules :func:`train_schedule` knows."""

RUNS = (("constant", 1.0), ("step", 1.0), ("one_cycle", 1.0), ("constant", 0.1))
"""The runs of :func:`schedule_experiment`: (schedule, starting rate as a fraction of the peak
``max_lr``; ``0.1`` is read as ``1 / div_factor``), the last one Smith's baseline, a constant
rate at one-cycle's lowest value."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


# ------------------------------------------------------------------------------ the quadratic


def quadratic_data(n_features, n_samples, lam_min, lam_max, noise, seed):
    """A least-squares problem whose loss Hessian has a known spectrum.

    ``X = sqrt(n / 2) U diag(sqrt(lam)) V^T`` with ``U`` (n, d) orthonormal columns, ``V``
    a random rotation and ``lam`` geometric from ``lam_min`` to ``lam_max``, so that the mean
    squared error ``L(w) = |X w - y|^2 / n`` has the Hessian ``2 X^T X / n = V diag(lam) V^T``
    everywhere. ``y = X w_star + noise * N(0, 1)``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    lam : ndarray of shape (n_features,), the Hessian's eigenvalues, ascending
    """
    n_features = checks.count("n_features", n_features)
    n_samples = checks.count("n_samples", n_samples, minimum=n_features)
    lam_min = checks.positive("lam_min", lam_min)
    lam_max = checks.number("lam_max", lam_max, low=lam_min, low_open=True)
    noise = checks.nonnegative("noise", noise)
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    U = np.linalg.qr(rng.standard_normal((n_samples, n_features)))[0]
    V = np.linalg.qr(rng.standard_normal((n_features, n_features)))[0]
    lam = np.geomspace(lam_min, lam_max, n_features)
    X = np.sqrt(n_samples / 2) * (U * np.sqrt(lam)) @ V.T
    y = X @ rng.standard_normal(n_features) + noise * rng.standard_normal(n_samples)
    return X, y, lam


def quadratic_path(X, y, lrs, momentum=0.0):
    """The loss of full-batch heavy-ball gradient descent from zero, before each step, in NumPy.

    The recursion of ``torch.optim.SGD`` (``b = momentum * b + g``, ``w = w - lr_t b``, with
    ``b = g`` at the first step) on ``L(w) = |X w - y|^2 / n``, whose gradient is
    ``g = 2 X^T (X w - y) / n``: an independent computation of what the range test records on
    this problem. Returns an array of shape (len(lrs),); it stops (NaN after) once the loss
    overflows.
    """
    X = checks.array("X", X, ndim=2)
    lrs = checks.array("lrs", lrs, ndim=1)
    momentum = checks.number("momentum", momentum, low=0, high=1, high_open=True)
    n = X.shape[0]
    w = np.zeros(X.shape[1])
    buffer = None
    losses = np.full(len(lrs), np.nan)
    with np.errstate(over="ignore", invalid="ignore"):
        for t, lr in enumerate(lrs):
            residual = X @ w - y
            losses[t] = residual @ residual / n
            if not np.isfinite(losses[t]):
                break
            g = 2 * X.T @ residual / n
            buffer = g if buffer is None else momentum * buffer + g
            w = w - lr * buffer
    return losses


def _linear_model(n_features):
    import torch

    model = torch.nn.Linear(n_features, 1, bias=False).double()
    with torch.no_grad():
        model.weight.zero_()
    return model


def _mse(outputs, targets):
    import torch.nn.functional as F

    return F.mse_loss(outputs.reshape(-1), targets.reshape(-1))


@dataclass(frozen=True)
class QuadraticResult:
    """What :func:`quadratic_experiment` returns.

    ``lam_max``: the exact largest Hessian eigenvalue; ``lam_lanczos``: Lanczos's estimate.
    ``diverged``, ``best``: arrays (len(momenta), len(ramps)) of the range test's divergence
    rate and the rate of its lowest smoothed loss. ``curves[(momentum, ramp)]``: ``(lrs,
    losses, smoothed)`` of each test.
    """

    momenta: tuple
    ramps: tuple
    lam_max: float
    lam_lanczos: float
    diverged: np.ndarray
    best: np.ndarray
    curves: dict
    run_time_s: float


@cached
def quadratic_experiment(
    n_features, n_samples, lam_min, lam_max, noise, lr_min, lr_max, ramps, momenta, seed
):
    """Range tests on a quadratic of known curvature, full batch, from zero. Cached.

    Each test raises the rate geometrically from ``lr_min`` to ``lr_max`` over ``ramp``
    steps (one test per ramp and momentum); ``lam_lanczos`` checks
    :func:`generalization.landscape.top_hessian_eigenvalues` against the exact ``lam_max``.

    Returns
    -------
    QuadraticResult
    """
    import torch

    ramps = checks.integers("ramps", ramps, minimum=2)
    momenta = tuple(checks.numbers("momenta", momenta, low=0, high=1, high_open=True))
    start = time.perf_counter()
    X, y, lam = quadratic_data(n_features, n_samples, lam_min, lam_max, noise, seed)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    diverged = np.full((len(momenta), len(ramps)), np.nan)
    best = np.full_like(diverged, np.nan)
    curves = {}
    with nets.threads(1):  # tiny tensors: a second thread only waits
        model = _linear_model(n_features)
        lanczos = landscape.top_hessian_eigenvalues(model, _mse, Xt, yt, tol=1e-10)
        for i, momentum in enumerate(momenta):
            for j, ramp in enumerate(ramps):
                test = schedules.lr_range_test(
                    _linear_model(n_features),
                    Xt,
                    yt,
                    lr_min=lr_min,
                    lr_max=lr_max,
                    steps=ramp,
                    batch_size=None,
                    momentum=momentum,
                    loss_fn=_mse,
                )
                if test.diverged_lr is not None:
                    diverged[i, j] = test.diverged_lr
                best[i, j] = test.best_lr
                curves[(momentum, ramp)] = (test.lrs, test.losses, test.smoothed)
    return QuadraticResult(
        momenta=momenta,
        ramps=ramps,
        lam_max=float(lam[-1]),
        lam_lanczos=float(lanczos[0]),
        diverged=diverged,
        best=best,
        curves=curves,
        run_time_s=time.perf_counter() - start,
    )


# ----------------------------------------------------------------------------- MNIST helpers


def mnist_subsets(n_train, n_test, seed):
    """A stratified training subset drawn with ``seed`` and a fixed test subset (seed 0)."""
    mnist = data.load_mnist()
    X, y = data.subsample(mnist.X_train, mnist.y_train, n_train, seed=seed, stratified=True)
    X_test, y_test = data.subsample(mnist.X_test, mnist.y_test, n_test, seed=0, stratified=True)
    return X, y, X_test, y_test


@dataclass(frozen=True)
class RangeResult:
    """What :func:`mnist_range_experiment` returns.

    ``lam_max``: (len(seeds),) the top Hessian eigenvalue of the training loss at
    initialization; ``diverged``, ``best``: (len(momenta), len(seeds)); ``curves[(momentum,
    seed)]``: ``(lrs, smoothed)``.
    """

    seeds: tuple
    momenta: tuple
    lam_max: np.ndarray
    diverged: np.ndarray
    best: np.ndarray
    curves: dict
    run_time_s: float


@cached
def mnist_range_experiment(seeds, n_train, hidden, lr_min, lr_max, steps, batch_size, momenta):
    """Range tests of an MLP on an MNIST subset, and ``lambda_max`` at initialization. Cached.

    For each seed: the training subset, the network's initialization and the order of the
    mini-batches; one range test per momentum, from the same initialization.

    Returns
    -------
    RangeResult
    """
    import torch

    seeds = checks.integers("seeds", seeds)
    momenta = tuple(checks.numbers("momenta", momenta, low=0, high=1, high_open=True))
    start = time.perf_counter()
    lam = np.zeros(len(seeds))
    diverged = np.full((len(momenta), len(seeds)), np.nan)
    best = np.full_like(diverged, np.nan)
    curves = {}
    with nets.threads(1):
        for s, seed in enumerate(seeds):
            X, y, _, _ = mnist_subsets(n_train, 1, seed)
            X, y = torch.as_tensor(X), torch.as_tensor(y)
            model = nets.mlp(hidden=hidden, seed=seed)
            lam[s] = landscape.top_hessian_eigenvalues(model, None, X, y, tol=1e-4, seed=seed)[0]
            for i, momentum in enumerate(momenta):
                test = schedules.lr_range_test(
                    model,
                    X,
                    y,
                    lr_min=lr_min,
                    lr_max=lr_max,
                    steps=steps,
                    batch_size=batch_size,
                    momentum=momentum,
                    seed=seed,
                )
                if test.diverged_lr is not None:
                    diverged[i, s] = test.diverged_lr
                best[i, s] = test.best_lr
                curves[(momentum, seed)] = (test.lrs, test.smoothed)
    return RangeResult(
        seeds=seeds,
        momenta=momenta,
        lam_max=lam,
        diverged=diverged,
        best=best,
        curves=curves,
        run_time_s=time.perf_counter() - start,
    )


# ---------------------------------------------------------------------------------- training


def _evaluate(model, X, y):
    import torch
    import torch.nn.functional as F

    model.eval()
    with torch.no_grad():
        logits = model(X)
        loss = float(F.cross_entropy(logits, y))
        accuracy = float((logits.argmax(1) == y).double().mean())
    model.train()
    return loss, accuracy


def train_schedule(
    model,
    X,
    y,
    X_test,
    y_test,
    *,
    schedule,
    lr,
    num_epochs,
    batch_size,
    momentum=0.9,
    weight_decay=0.0,
    div_factor=10.0,
    seed=0,
):
    """SGD on the cross-entropy under a learning-rate schedule; the model is trained in place.

    The batches are drawn as :func:`generalization.nets.train` draws them (a permutation per
    epoch from ``nets.seed_everything(seed)``), so a constant schedule reproduces it exactly.
    With ``T`` optimizer steps in all: ``"constant"`` keeps ``lr``; ``"step"`` multiplies it
    by 0.1 after ``T / 2`` and again after ``3 T / 4`` steps (``MultiStepLR``);
    ``"one_cycle"`` is :func:`generalization.schedules.one_cycle` with peak ``lr``, starting
    at ``lr / div_factor``, momentum cycling from 0.95 to 0.85 and back.

    Returns
    -------
    dict of ndarrays, one entry per epoch (epoch 0 = before training): ``train_loss`` (the
    mean of the epoch's mini-batch losses, each taken before its update, as Smith plots it;
    at epoch 0 the loss of the whole training set), ``test_loss``, ``test_acc``; and ``lrs``,
    the rate of every step, shape (T,).
    """
    import torch
    import torch.nn.functional as F

    schedule = checks.choice("schedule", schedule, SCHEDULES)
    lr = checks.positive("lr", lr)
    num_epochs = checks.count("num_epochs", num_epochs)
    batch_size = checks.count("batch_size", batch_size)
    X, y = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)
    X_test = torch.as_tensor(X_test, dtype=torch.float32)
    y_test = torch.as_tensor(y_test, dtype=torch.long)
    n = X.shape[0]
    total = num_epochs * -(-n // batch_size)
    generator = nets.seed_everything(seed)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay
    )
    scheduler = None
    if schedule == "step":
        milestones = [total // 2, (3 * total) // 4]
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.1)
    elif schedule == "one_cycle":
        scheduler = schedules.one_cycle(optimizer, lr, total, div_factor=div_factor)
    record = {"train_loss": [], "test_loss": [], "test_acc": []}
    rates = []

    def log(train_loss):
        record["train_loss"].append(train_loss)
        loss, accuracy = _evaluate(model, X_test, y_test)
        record["test_loss"].append(loss)
        record["test_acc"].append(accuracy)

    log(_evaluate(model, X, y)[0])
    model.train()
    for _ in range(num_epochs):
        order = torch.randperm(n, generator=generator)
        running = 0.0
        for first in range(0, n, batch_size):
            index = order[first : first + batch_size]
            rates.append(optimizer.param_groups[0]["lr"])
            loss = F.cross_entropy(model(X[index]), y[index])
            running += float(loss.detach()) * len(index) / n
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None and len(rates) < total:
                scheduler.step()
        log(running)
    out = {k: np.array(v) for k, v in record.items()}
    out["lrs"] = np.array(rates)
    return out


@dataclass(frozen=True)
class ScheduleResult:
    """What :func:`schedule_experiment` returns: arrays (len(RUNS), len(seeds), epochs + 1)
    ``train_loss``, ``test_loss``, ``test_acc``; ``lrs[k]`` the rate of every step of run k;
    ``runs``: ``(schedule, starting rate)`` of each run."""

    seeds: tuple
    runs: tuple
    train_loss: np.ndarray
    test_loss: np.ndarray
    test_acc: np.ndarray
    lrs: dict
    run_time_s: float


@cached
def schedule_experiment(
    seeds, n_train, n_test, hidden, num_epochs, batch_size, max_lr, div_factor, momentum
):
    """The runs of :data:`RUNS` at the same budget of epochs, per seed. Cached.

    A constant and a step schedule start at ``max_lr`` (the step schedule then divides it by
    ten twice); one-cycle rises from ``max_lr / div_factor`` to ``max_lr`` and anneals; a
    last constant schedule stays at ``max_lr / div_factor``, one-cycle's lowest rate, as
    Smith's baselines do. The seed draws the training subset, the initialization and the
    batches, the same for every run.

    Returns
    -------
    ScheduleResult
    """
    import torch

    seeds = checks.integers("seeds", seeds)
    start = time.perf_counter()
    runs = tuple(
        (schedule, max_lr if fraction == 1.0 else max_lr / div_factor)
        for schedule, fraction in RUNS
    )
    rows = {k: np.zeros((len(runs), len(seeds), num_epochs + 1)) for k in ("tr", "te", "ac")}
    lrs = {}
    with nets.threads(1):
        for s, seed in enumerate(seeds):
            X, y, X_test, y_test = mnist_subsets(n_train, n_test, seed)
            X, y = torch.as_tensor(X), torch.as_tensor(y)
            for k, (schedule, lr) in enumerate(runs):
                out = train_schedule(
                    nets.mlp(hidden=hidden, seed=seed),
                    X,
                    y,
                    X_test,
                    y_test,
                    schedule=schedule,
                    lr=lr,
                    num_epochs=num_epochs,
                    batch_size=batch_size,
                    momentum=momentum,
                    div_factor=div_factor,
                    seed=seed,
                )
                rows["tr"][k, s], rows["te"][k, s], rows["ac"][k, s] = (
                    out["train_loss"],
                    out["test_loss"],
                    out["test_acc"],
                )
                lrs[k] = out["lrs"]
    return ScheduleResult(
        seeds=seeds,
        runs=runs,
        train_loss=rows["tr"],
        test_loss=rows["te"],
        test_acc=rows["ac"],
        lrs=lrs,
        run_time_s=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class RegularizationResult:
    """What :func:`regularization_experiment` returns: arrays (len(lrs), len(weight_decays),
    len(seeds), epochs + 1) ``train_loss``, ``test_loss``, ``test_acc``."""

    seeds: tuple
    lrs: tuple
    weight_decays: tuple
    train_loss: np.ndarray
    test_loss: np.ndarray
    test_acc: np.ndarray
    run_time_s: float


@cached
def regularization_experiment(
    seeds, n_train, n_test, hidden, num_epochs, batch_size, lrs, weight_decays, momentum
):
    """A grid of constant learning rates and weight decays on a small subset, per seed. Cached.

    Returns
    -------
    RegularizationResult
    """
    import torch

    seeds = checks.integers("seeds", seeds)
    lrs = tuple(checks.numbers("lrs", lrs, low=0, low_open=True))
    weight_decays = tuple(checks.numbers("weight_decays", weight_decays, low=0))
    start = time.perf_counter()
    shape = (len(lrs), len(weight_decays), len(seeds), num_epochs + 1)
    rows = {k: np.zeros(shape) for k in ("train_loss", "test_loss", "test_acc")}
    with nets.threads(1):
        for s, seed in enumerate(seeds):
            X, y, X_test, y_test = mnist_subsets(n_train, n_test, seed)
            X, y = torch.as_tensor(X), torch.as_tensor(y)
            for i, lr in enumerate(lrs):
                for j, weight_decay in enumerate(weight_decays):
                    out = train_schedule(
                        nets.mlp(hidden=hidden, seed=seed),
                        X,
                        y,
                        X_test,
                        y_test,
                        schedule="constant",
                        lr=lr,
                        num_epochs=num_epochs,
                        batch_size=batch_size,
                        momentum=momentum,
                        weight_decay=weight_decay,
                        seed=seed,
                    )
                    for key in rows:
                        rows[key][i, j, s] = out[key]
    return RegularizationResult(
        seeds=seeds,
        lrs=lrs,
        weight_decays=weight_decays,
        run_time_s=time.perf_counter() - start,
        **rows,
    )

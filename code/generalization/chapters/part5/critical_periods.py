"""Experiments of the chapter *Critical learning periods*.

Achille, Rovere and Soatto (2019) trained an All-CNN on CIFAR-10 whose images were blurred
(down-sampled and up-sampled) for the first ``N`` epochs and sharp afterwards. The later the
blur was removed, the worse the final test accuracy, however long training went on after
it: an early deficit is not recovered from, while the same deficit late in training does
little harm. They tracked the trace of the Fisher information of the weights, which rises
during the first epochs and then falls, and read the early rise as the phase in which the
network commits its connections.

This chapter runs the same protocols on a few thousand MNIST images with a small ReLU
perceptron (:func:`generalization.nets.mlp`) trained by SGD with momentum, on CPU:

* :func:`degrade`: the deficit, average-pooling each image by ``factor`` and up-sampling it
  back bilinearly to 28 x 28 (a 4 x 4 image at ``factor = 7``);
* :func:`removal_sweep`: the deficit from epoch 0 until epoch ``N``, then ``post_epochs`` of
  sharp images, for several ``N`` (the paper's Figure 1), under an annealed and a constant
  learning rate; the same seed's training without deficit, with test errors at every epoch,
  is the control at the same number of epochs, and its Fisher trace, per epoch, is the
  chapter's information curve;
* :func:`window_sweep`: a deficit of ``window`` epochs starting at several onsets, in a run
  of fixed length (the paper's sliding-window experiment), as the increase of the final test
  error over the control.

Runs that share a prefix are branched from one copy of the model, optimizer and batch
order (:class:`Run`), so the sweep of removal epochs trains the deficit prefix once.
The paper's network, data (CIFAR-10), deficit size (32 to 8 pixels) and epochs differ;
the page says where.

References
----------
Achille, Rovere, Soatto (2019), *Critical learning periods in deep networks*, ICLR,
https://arxiv.org/abs/1711.08856.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, data, landscape, nets, settings_for
from generalization.book.cache import cached

SETTINGS = {
    "quick": dict(
        seeds=(0, 1, 2),
        n_train=1000,
        n_test=2000,
        hidden=(64,),
        factor=7,
        lr=0.05,
        decay=0.9,
        constant_lr=0.01,
        batch_size=64,
        weight_decay=5e-4,
        removal_epochs=(0, 4, 8, 16, 32),
        post_epochs=16,
        window=16,
        onsets=(0, 8, 16),
        window_total=40,
        fisher_samples=64,
        fisher_epochs=(0, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 48),
    ),
    "full": dict(
        seeds=tuple(range(5)),
        n_train=10000,
        n_test=10000,
        hidden=(256,),
        factor=7,
        lr=0.05,
        decay=0.9,
        constant_lr=0.01,
        batch_size=64,
        weight_decay=5e-4,
        removal_epochs=(0, 2, 4, 8, 12, 16, 24, 32, 48),
        post_epochs=40,
        window=8,
        onsets=(0, 2, 4, 8, 12, 16, 24, 32),
        window_total=60,
        fisher_samples=1000,
        fisher_epochs=(0, 0.0625, 0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 88),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

``factor``: the deficit's down-sampling factor; ``lr`` and ``decay``: the annealed schedule
``lr * decay**epoch``; ``constant_lr``: the constant schedule; ``removal_epochs``: the
epochs ``N`` at which the deficit ends (0: no deficit); ``post_epochs``: sharp epochs after
it; ``window``: the length of the sliding deficit, ``onsets`` its starts, ``window_total``
the length of those runs; ``fisher_samples``: training images on which the Fisher trace is
measured, at the (fractional) epochs ``fisher_epochs`` of the control run. Quick runs in
well under a minute on 2 CPU cores."""


MOMENTUM = 0.9
"""The momentum of every run's SGD."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def degrade(X, factor):
    """Blur images by down-sampling them ``factor`` times and up-sampling them back.

    Each 28 x 28 image is averaged over blocks of ``factor x factor`` pixels
    (``torch.nn.functional.avg_pool2d``) and the small image is interpolated bilinearly back
    to 28 x 28, as Achille et al. (2019) blur CIFAR-10 (32 to 8 pixels and back). The
    result keeps only the coarse shape of each digit.

    Parameters
    ----------
    X : array of shape (n, 784)
        Flat images with pixels in [0, 1].
    factor : int dividing 28
        1 leaves the images unchanged.

    Returns
    -------
    ndarray of shape (n, 784), float32
    """
    import torch
    import torch.nn.functional as F

    X = checks.array("X", X, ndim=2, dtype=np.float32)
    if X.shape[1] != 784:
        raise ValueError(f"X must have 784 columns (28 x 28 images); got {X.shape[1]}.")
    factor = checks.count("factor", factor)
    if 28 % factor:
        raise ValueError(f"factor must be a divisor of 28; got {factor}.")
    images = torch.from_numpy(X).reshape(-1, 1, 28, 28)
    small = F.avg_pool2d(images, factor)
    back = F.interpolate(small, size=(28, 28), mode="bilinear", align_corners=False)
    return back.reshape(-1, 784).numpy()


def learning_rate(epoch, lr, decay):
    """The learning rate of ``epoch`` (counted from 0): ``lr * decay**epoch``.

    ``decay = 1`` is a constant learning rate; the schedule depends on the epoch only, not on
    when the deficit ends, as in Achille et al. (2019).
    """
    epoch = checks.count("epoch", epoch, minimum=0)
    lr = checks.positive("lr", lr)
    decay = checks.number("decay", decay, low=0, high=1, low_open=True)
    return lr * decay**epoch


class Run:
    """One training run that can be continued on any data and branched.

    Holds a model, its SGD optimizer (:data:`MOMENTUM`, weight decay) and the generator of the
    batch order. :meth:`epoch` trains one epoch on the images it is given, with the learning
    rate of :func:`learning_rate` at the run's epoch count; :meth:`branch` returns an
    independent copy, so runs that share their first epochs train them once.
    """

    def __init__(self, model, lr, decay, batch_size, weight_decay, seed):
        import torch

        self.model = model
        self.lr, self.decay = checks.positive("lr", lr), decay
        self.batch_size = checks.count("batch_size", batch_size)
        self.optimizer = torch.optim.SGD(
            model.parameters(), lr=lr, momentum=MOMENTUM, weight_decay=weight_decay
        )
        self.generator = nets.seed_everything(seed)
        self.epochs = 0
        self.steps = 0

    def epoch(self, X, y, on_step=None):
        """Train one epoch of mini-batch SGD on ``(X, y)`` (torch tensors).

        ``on_step(steps, model)``, when given, is called after every step with the run's
        total number of steps so far (for measurements inside an epoch); it must not change
        the model.
        """
        import torch
        import torch.nn.functional as F

        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.epochs, self.lr, self.decay)
        order = torch.randperm(len(y), generator=self.generator)
        self.model.train()
        for first in range(0, len(y), self.batch_size):
            index = order[first : first + self.batch_size]
            loss = F.cross_entropy(self.model(X[index]), y[index])
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.steps += 1
            if on_step is not None:
                on_step(self.steps, self.model)
        self.epochs += 1

    def branch(self):
        """An independent copy: same weights, momentum buffers, batch order and epoch."""
        twin = copy.copy(self)
        twin.model = copy.deepcopy(self.model)
        twin.optimizer = type(self.optimizer)(twin.model.parameters(), **self.optimizer.defaults)
        twin.optimizer.load_state_dict(copy.deepcopy(self.optimizer.state_dict()))
        twin.generator = type(self.generator)()
        twin.generator.set_state(self.generator.get_state())
        return twin

    def test_error(self, X, y):
        """The error rate on ``(X, y)``, in evaluation mode (:func:`landscape.evaluate`)."""
        return landscape.evaluate(self.model, X, y)[1]


@dataclass(frozen=True)
class Problem:
    """The data of one experiment, as torch tensors: sharp and blurred training images."""

    X: object
    X_blur: object
    y: object
    X_test: object
    y_test: object
    X_fisher: object


def problem(n_train, n_test, factor, fisher_samples):
    """A class-balanced MNIST training subset (seed 0), its blurred copy and the test images.

    The training images are :func:`generalization.data.subsample` (stratified, seed 0) of
    the 60,000; the test images the first ``n_test`` of the 10,000; the Fisher trace is
    measured on the first ``fisher_samples`` training images (sharp).
    """
    import torch

    mnist = data.load_mnist()
    X, y = data.subsample(mnist.X_train, mnist.y_train, n_train, seed=0, stratified=True)
    n_test = checks.count("n_test", n_test, maximum=len(mnist.y_test))
    fisher_samples = checks.count("fisher_samples", fisher_samples, maximum=n_train)
    X = torch.tensor(X)
    return Problem(
        X=X,
        X_blur=torch.tensor(degrade(X.numpy(), factor)),
        y=torch.tensor(y),
        X_test=torch.tensor(np.asarray(mnist.X_test[:n_test])),
        y_test=torch.tensor(np.asarray(mnist.y_test[:n_test])),
        X_fisher=X[:fisher_samples],
    )


def fisher_steps(S):
    """The SGD steps at which the Fisher trace is measured: ``fisher_epochs`` in steps.

    An epoch has ``ceil(n_train / batch_size)`` steps; a fractional epoch is rounded to the
    nearest step.
    """
    per_epoch = -(-S["n_train"] // S["batch_size"])
    epochs = checks.numbers("fisher_epochs", S["fisher_epochs"], low=0)
    return tuple(int(round(e * per_epoch)) for e in epochs)


def _new_run(S, seed, lr, decay):
    model = nets.mlp(hidden=S["hidden"], seed=seed)
    return Run(model, lr, decay, S["batch_size"], S["weight_decay"], seed)


def _removal(S, P, seed, lr, decay, fisher):
    """One seed's removal sweep: control errors per epoch, Fisher trace, errors per ``N``."""
    removals = S["removal_epochs"]
    total = max(removals) + S["post_epochs"]
    clean = _new_run(S, seed, lr, decay)
    control, trace = [clean.test_error(P.X_test, P.y_test)], {}
    steps = fisher_steps(S)
    wanted = set(steps) if fisher else set()

    def measure(steps, model):
        if steps in wanted:
            trace[steps] = landscape.fisher_trace(model, P.X_fisher)

    measure(0, clean.model)
    for _ in range(total):
        clean.epoch(P.X, P.y, on_step=measure)
        control.append(clean.test_error(P.X_test, P.y_test))
    trace = [trace.get(step, np.nan) for step in steps]
    blurred, errors = _new_run(S, seed, lr, decay), {}
    for N in sorted(removals):
        while blurred.epochs < N:
            blurred.epoch(P.X_blur, P.y)
        if N == 0:
            errors[N] = control[S["post_epochs"]]  # no deficit: the control itself
            continue
        sharp = blurred.branch()
        for _ in range(S["post_epochs"]):
            sharp.epoch(P.X, P.y)
        errors[N] = sharp.test_error(P.X_test, P.y_test)
    return np.array(control), np.array(trace), np.array([errors[N] for N in removals])


@dataclass(frozen=True)
class RemovalResult:
    """What :func:`removal_sweep` returns.

    For each schedule (``"annealed"``, ``"constant"``): ``error[schedule]`` of shape
    (len(seeds), len(removal_epochs)), the final test error with the deficit removed at
    epoch ``N`` and ``post_epochs`` sharp epochs after it; ``control[schedule]`` of shape
    (len(seeds), max(removal_epochs) + post_epochs + 1), the test error of the same seed
    trained without deficit, after each epoch (index 0: at initialization). ``fisher`` of
    shape (len(seeds), len(fisher_epochs)): the trace of the Fisher information of the
    annealed control at ``fisher_epochs`` (measured after the SGD step nearest to each).
    """

    seeds: tuple
    removal_epochs: tuple
    post_epochs: int
    fisher_epochs: tuple
    error: dict
    control: dict
    fisher: np.ndarray
    run_time_s: float

    def impairment(self, schedule):
        """Final error minus the control's at the same epoch, (len(seeds), len(removal_epochs))."""
        at = np.array(self.removal_epochs) + self.post_epochs
        return self.error[schedule] - self.control[schedule][:, at]


@cached
def removal_sweep(S):
    """The deficit-removal experiment (Achille et al. 2019, Figure 1), per seed. Cached.

    For each seed and schedule, one run without deficit (the control, with its test error
    and, for the annealed schedule, the Fisher trace of
    :func:`generalization.landscape.fisher_trace` at ``fisher_epochs``) and one run on blurred
    images branched at every removal epoch ``N`` into ``post_epochs`` of sharp training.

    Parameters
    ----------
    S : dict
        :func:`settings` of a scale.

    Returns
    -------
    RemovalResult
    """
    seeds = checks.integers("seeds", S["seeds"])
    removals = checks.integers("removal_epochs", S["removal_epochs"], distinct=True)
    post = checks.count("post_epochs", S["post_epochs"])
    start = time.perf_counter()
    P = problem(S["n_train"], S["n_test"], S["factor"], S["fisher_samples"])
    schedules = {"annealed": (S["lr"], S["decay"]), "constant": (S["constant_lr"], 1.0)}
    error, control, fisher = {}, {}, []
    with nets.threads(1):
        for name, (lr, decay) in schedules.items():
            rows = [_removal(S, P, seed, lr, decay, name == "annealed") for seed in seeds]
            control[name] = np.array([r[0] for r in rows])
            error[name] = np.array([r[2] for r in rows])
            if name == "annealed":
                fisher = np.array([r[1] for r in rows])
    return RemovalResult(
        seeds=seeds,
        removal_epochs=removals,
        post_epochs=post,
        fisher_epochs=tuple(S["fisher_epochs"]),
        error=error,
        control=control,
        fisher=fisher,
        run_time_s=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class WindowResult:
    """What :func:`window_sweep` returns.

    ``error`` of shape (len(seeds), len(onsets)): the final test error after
    ``window_total`` epochs of the annealed schedule with blurred images in epochs
    ``onset`` to ``onset + window - 1``; ``control`` of shape (len(seeds),): the same seed
    without deficit. ``sensitivity = error - control[:, None]``.
    """

    seeds: tuple
    onsets: tuple
    window: int
    total: int
    error: np.ndarray
    control: np.ndarray
    run_time_s: float

    @property
    def sensitivity(self):
        """The increase of the final test error caused by the window, per seed and onset."""
        return self.error - self.control[:, None]


@cached
def window_sweep(S):
    """The sliding-window experiment of Achille et al. (2019), annealed schedule. Cached.

    Each window's run is branched from the seed's sharp run at its onset, trained on
    blurred images for ``window`` epochs and on sharp ones until ``window_total``.

    Returns
    -------
    WindowResult
    """
    seeds = checks.integers("seeds", S["seeds"])
    onsets = checks.integers("onsets", S["onsets"], distinct=True)
    window = checks.count("window", S["window"])
    total = checks.count("window_total", S["window_total"], minimum=max(onsets) + window + 1)
    start = time.perf_counter()
    P = problem(S["n_train"], S["n_test"], S["factor"], S["fisher_samples"])
    errors, controls = [], []
    with nets.threads(1):
        for seed in seeds:
            clean, row = _new_run(S, seed, S["lr"], S["decay"]), {}
            for onset in sorted(onsets):
                while clean.epochs < onset:
                    clean.epoch(P.X, P.y)
                run = clean.branch()
                while run.epochs < total:
                    run.epoch(P.X_blur if run.epochs < onset + window else P.X, P.y)
                row[onset] = run.test_error(P.X_test, P.y_test)
            while clean.epochs < total:
                clean.epoch(P.X, P.y)
            errors.append([row[onset] for onset in onsets])
            controls.append(clean.test_error(P.X_test, P.y_test))
    return WindowResult(
        seeds=seeds,
        onsets=onsets,
        window=window,
        total=total,
        error=np.array(errors),
        control=np.array(controls),
        run_time_s=time.perf_counter() - start,
    )


@cached
def fresh_start(S, start_epoch):
    """A network trained from scratch, on sharp images, from epoch ``start_epoch`` only. Cached.

    The counterfactual of a late removal: a fresh network (same seeds) whose annealed schedule
    starts at ``lr * decay**start_epoch`` and runs ``post_epochs`` epochs, as the blurred
    network does after the deficit is removed at ``start_epoch``.

    Returns
    -------
    ndarray of shape (len(seeds),)
        The final test errors.
    """
    seeds = checks.integers("seeds", S["seeds"])
    start_epoch = checks.count("start_epoch", start_epoch, minimum=0)
    P = problem(S["n_train"], S["n_test"], S["factor"], S["fisher_samples"])
    errors = []
    with nets.threads(1):
        for seed in seeds:
            run = _new_run(S, seed, S["lr"], S["decay"])
            run.epochs = start_epoch  # the schedule continues from there
            for _ in range(S["post_epochs"]):
                run.epoch(P.X, P.y)
            errors.append(run.test_error(P.X_test, P.y_test))
    return np.array(errors)

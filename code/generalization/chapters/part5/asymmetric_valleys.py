"""Experiments of the chapter *Asymmetric valleys*.

He, Huang and Yuan (2019) observe that around the solutions SGD finds, the training loss
along many directions rises steeply on one side and slowly on the other (an *asymmetric
valley*); that under a random shift between the training and the test loss a point moved
from the minimizer towards the flat side has the lower expected test loss; and that
averaging the iterates of SGD, as stochastic weight averaging does (Izmailov, Podoprikhin,
Garipov, Vetrov and Wilson 2018), produces such a bias by itself, because SGD spends more
time on the flat side. Their experiments slice the loss of deep residual networks on
CIFAR-10 and other image benchmarks. This chapter runs three things small enough for two CPU cores:

* :func:`toy_experiment`: SGD with Gaussian gradient noise on a one-dimensional valley,
  quadratic with curvature ``steep`` on one side of its minimum and ``flat`` on the other;
  the average of the iterates against the minimizer under a Gaussian shift of the loss,
  where both the expected shifted loss (:func:`shifted_loss`) and the average the iterates
  should have in the small-step limit (:func:`langevin_mean`) are closed forms;
* :func:`swa_experiment`: a one-hidden-layer ReLU network on a subset of MNIST, trained by
  SGD to a point from which two runs of the same length continue: conventional SGD with a
  decaying learning rate, and SWA (``torch.optim.swa_utils``: ``AveragedModel`` averaging
  once per epoch, ``SWALR`` holding the learning rate constant). For each seed it records
  the test error of both, the training and test loss along the line through the two
  solutions (:func:`generalization.landscape.interpolate`), and one-dimensional slices of
  the training loss along random filter-normalized directions through each solution
  (:func:`generalization.landscape.random_direction`, :func:`~generalization.landscape.along_line`).

Differences from the papers: an MLP on a few thousand MNIST digits instead of residual
networks on CIFAR (no BatchNorm, which He et al. name as a main cause of asymmetry); a few
seeds; the toy's shift is Gaussian and known, where the papers' shift between training and
test loss is unknown.

References
----------
He, Huang, Yuan (2019), *Asymmetric valleys: beyond sharp and flat local minima*, NeurIPS,
https://arxiv.org/abs/1902.00744.
Izmailov, Podoprikhin, Garipov, Vetrov, Wilson (2018), *Averaging weights leads to wider
optima and better generalization*, UAI, https://arxiv.org/abs/1803.05407.
Li, Xu, Taylor, Studer, Goldstein (2018), *Visualizing the loss landscape of neural nets*,
NeurIPS (filter normalization).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.stats import norm

from generalization import checks, data, landscape, nets, settings_for
from generalization.book.cache import cached

MOMENTUM = 0.9
"""The momentum of every SGD run on MNIST (pre-training, conventional SGD and SWA)."""

SETTINGS = {
    "quick": dict(
        toy=dict(
            seeds=tuple(range(200)),
            steep=10.0,
            flat=1.0,
            lr=0.005,
            noise=1.0,
            num_steps=40_000,
            burn_in=4_000,
            shift=0.05,
        ),
        mnist=dict(
            seeds=(0, 1, 2),
            n_train=4000,
            hidden=(128,),
            lr=0.1,
            weight_decay=5e-4,
            batch_size=64,
            pre_epochs=10,
            epochs=15,
            swa_lr=0.1,
            n_directions=10,
            slice_radius=0.6,
            slice_points=7,
            line_ts=tuple(np.round(np.arange(-1.5, 3.01, 0.25), 2).tolist()),
        ),
    ),
    "full": dict(
        toy=dict(
            seeds=tuple(range(1000)),
            steep=10.0,
            flat=1.0,
            lr=0.005,
            noise=1.0,
            num_steps=200_000,
            burn_in=20_000,
            shift=0.05,
        ),
        mnist=dict(
            seeds=tuple(range(5)),
            n_train=60_000,
            hidden=(512,),
            lr=0.1,
            weight_decay=5e-4,
            batch_size=128,
            pre_epochs=20,
            epochs=30,
            swa_lr=0.1,
            n_directions=20,
            slice_radius=0.6,
            slice_points=13,
            line_ts=tuple(np.round(np.arange(-1.5, 3.01, 0.25), 2).tolist()),
        ),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

Quick runs in under 90 s on 2 CPU cores; full trains on all 60,000 MNIST images."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


# ------------------------------------------------------------------ the one-dimensional valley


def valley_loss(w, steep, flat):
    """The asymmetric valley ``L(w) = steep w^2 / 2`` for ``w > 0``, ``flat w^2 / 2`` otherwise.

    Its minimizer is ``w* = 0``; with ``steep > flat`` the positive side is the steep one.
    Works elementwise on arrays.
    """
    w = np.asarray(w, dtype=float)
    return 0.5 * np.where(w > 0, steep, flat) * w**2


def shifted_loss(w, steep, flat, shift):
    """The expected loss of the valley under a Gaussian shift, ``E L(w + delta)``.

    ``delta ~ N(0, shift^2)`` stands for the unknown displacement between the training loss
    and the test loss (He et al. 2019, Figure 1b). With ``z = w / shift`` and the Gaussian
    ``Phi``, ``phi``, the partial second moments of ``X = w + delta ~ N(w, shift^2)`` are
    ``E[X^2; X > 0] = (w^2 + shift^2) Phi(z) + w shift phi(z)`` and
    ``E[X^2; X < 0] = (w^2 + shift^2) Phi(-z) - w shift phi(z)``, so::

        E L(w + delta) = steep/2 E[X^2; X > 0] + flat/2 E[X^2; X < 0]

    (a symmetric shift makes ``w + delta`` and ``w - delta`` equivalent). Elementwise in ``w``.
    """
    shift = checks.positive("shift", shift)
    w = np.asarray(w, dtype=float)
    z = w / shift
    second = w**2 + shift**2
    positive = second * norm.cdf(z) + w * shift * norm.pdf(z)
    negative = second * norm.cdf(-z) - w * shift * norm.pdf(z)
    return 0.5 * steep * positive + 0.5 * flat * negative


def best_shifted_point(steep, flat, shift):
    """The minimizer of :func:`shifted_loss`: the best point to stand at under the shift.

    Found by bounded scalar minimization on ``[-5 shift, 5 shift]``; for ``steep > flat`` it
    lies on the flat side (negative).
    """
    res = minimize_scalar(
        lambda w: float(shifted_loss(w, steep, flat, shift)),
        bounds=(-5 * shift, 5 * shift),
        method="bounded",
        options=dict(xatol=1e-10),
    )
    return float(res.x)


def langevin_mean(steep, flat, lr, noise):
    """The mean of SGD's iterates on the valley in the limit of small steps.

    SGD ``w <- w - lr (L'(w) + noise xi)`` with ``xi ~ N(0, 1)`` is, for small ``lr``, the
    Langevin diffusion whose stationary density is ``p(w) ~ exp(-L(w) / tau)`` with
    ``tau = lr noise^2 / 2``: a half Gaussian of variance ``tau / steep`` on the steep side
    and one of variance ``tau / flat`` on the flat side, glued at 0. Then::

        Z      = sqrt(2 pi tau) (steep^{-1/2} + flat^{-1/2}) / 2
        E[w]   = tau (1/steep - 1/flat) / Z
        P(w<0) = flat^{-1/2} / (steep^{-1/2} + flat^{-1/2})

    Returns
    -------
    mean : float
        Negative (on the flat side) when ``steep > flat``.
    flat_fraction : float
        The fraction of time spent on the flat side.
    """
    steep = checks.positive("steep", steep)
    flat = checks.positive("flat", flat)
    tau = checks.positive("lr", lr) * checks.positive("noise", noise) ** 2 / 2
    z = 0.5 * np.sqrt(2 * np.pi * tau) * (steep**-0.5 + flat**-0.5)
    return float(tau * (1 / steep - 1 / flat) / z), float(flat**-0.5 / (steep**-0.5 + flat**-0.5))


def valley_sgd(seeds, steep, flat, lr, noise, num_steps, burn_in, bins=None, block=4096):
    """SGD with Gaussian gradient noise on :func:`valley_loss`, one chain per seed.

    Every chain starts at the minimizer ``w = 0`` and takes ``burn_in + num_steps`` steps
    ``w <- w - lr (L'(w) + noise xi)``; the last ``num_steps`` iterates are averaged.

    Parameters
    ----------
    seeds : sequence of int
        Chain ``i`` draws its noise from ``numpy.random.default_rng(seeds[i])``.
    bins : ndarray, optional
        Edges of a histogram of every averaged iterate of every chain.
    block : int
        Steps whose noise is drawn at once (memory ``block * len(seeds)``; no effect on
        the result).

    Returns
    -------
    average : ndarray of shape (len(seeds),)
        The mean of each chain's iterates after the burn-in.
    last : ndarray of shape (len(seeds),)
        Each chain's last iterate.
    flat_fraction : ndarray of shape (len(seeds),)
        The fraction of each chain's averaged iterates on the flat side (``w < 0``).
    counts : ndarray of shape (len(bins) - 1,) or None
        The histogram, pooled over chains.
    """
    seeds = checks.integers("seeds", seeds)
    steep, flat = checks.positive("steep", steep), checks.positive("flat", flat)
    lr, noise = checks.positive("lr", lr), checks.nonnegative("noise", noise)
    num_steps = checks.count("num_steps", num_steps)
    burn_in = checks.count("burn_in", burn_in, minimum=0)
    rngs = [np.random.default_rng(seed) for seed in seeds]
    w = np.zeros(len(seeds))
    total = np.zeros(len(seeds))
    on_flat = np.zeros(len(seeds))
    counts = None if bins is None else np.zeros(len(bins) - 1)
    done = 0
    while done < burn_in + num_steps:
        size = min(block, burn_in + num_steps - done)
        xi = np.stack([rng.standard_normal(size) for rng in rngs], axis=1)  # (size, chains)
        path = np.empty_like(xi)
        for k in range(size):
            w = w - lr * (np.where(w > 0, steep, flat) * w + noise * xi[k])  # L'(w) + noise
            path[k] = w
        kept = path[max(burn_in - done, 0) :]  # iterates after the burn-in
        total += kept.sum(axis=0)
        on_flat += (kept < 0).sum(axis=0)
        if counts is not None:
            counts += np.histogram(kept, bins=bins)[0]
        done += size
    return total / num_steps, w, on_flat / num_steps, counts


@dataclass(frozen=True)
class ToyResult:
    """What :func:`toy_experiment` returns.

    Per chain (shape ``(len(seeds),)``): ``average`` (mean iterate), ``last`` (last iterate),
    ``flat_fraction``. Scalars: ``predicted_mean`` and ``predicted_flat_fraction`` (the
    small-step limit, :func:`langevin_mean`), ``best`` (the minimizer of the shifted loss),
    and the shifted losses ``risk_minimizer`` (at ``w* = 0``), ``risk_average`` and
    ``risk_last`` (per chain), ``risk_best``. ``bins``/``counts``: the pooled histogram of
    the iterates.
    """

    seeds: tuple
    steep: float
    flat: float
    shift: float
    average: np.ndarray
    last: np.ndarray
    flat_fraction: np.ndarray
    predicted_mean: float
    predicted_flat_fraction: float
    best: float
    risk_minimizer: float
    risk_average: np.ndarray
    risk_last: np.ndarray
    risk_best: float
    bins: np.ndarray
    counts: np.ndarray
    run_time_s: float


@cached
def toy_experiment(seeds, steep, flat, lr, noise, num_steps, burn_in, shift):
    """SGD and its average on the one-dimensional asymmetric valley. Cached.

    Returns
    -------
    ToyResult
    """
    start = time.perf_counter()
    mean, flat_fraction = langevin_mean(steep, flat, lr, noise)
    width = 5 * np.sqrt(lr * noise**2 / 2 / flat)  # five flat-side standard deviations
    bins = np.linspace(-width, width, 61)
    average, last, on_flat, counts = valley_sgd(
        seeds, steep, flat, lr, noise, num_steps, burn_in, bins
    )
    best = best_shifted_point(steep, flat, shift)
    return ToyResult(
        seeds=tuple(seeds),
        steep=float(steep),
        flat=float(flat),
        shift=float(shift),
        average=average,
        last=last,
        flat_fraction=on_flat,
        predicted_mean=mean,
        predicted_flat_fraction=flat_fraction,
        best=best,
        risk_minimizer=float(shifted_loss(0.0, steep, flat, shift)),
        risk_average=shifted_loss(average, steep, flat, shift),
        risk_last=shifted_loss(last, steep, flat, shift),
        risk_best=float(shifted_loss(best, steep, flat, shift)),
        bins=bins,
        counts=counts,
        run_time_s=time.perf_counter() - start,
    )


# ------------------------------------------------------------------------------ MNIST, SGD, SWA


def mnist_subset(n_train, seed):
    """``n_train`` training images (stratified, drawn with ``seed``) and the 10,000 test images.

    Returns ``(X_train, y_train, X_test, y_test)`` as float32 pixels in [0, 1] and int64 labels.
    """
    mnist = data.load_mnist()
    X, y = data.subsample(mnist.X_train, mnist.y_train, n_train, seed, stratified=True)
    return np.array(X), np.array(y), np.array(mnist.X_test), np.array(mnist.y_test)


def sgd_epochs(model, X, y, optimizer, num_epochs, batch_size, generator, after_epoch=None):
    """``num_epochs`` epochs of mini-batch training with ``optimizer`` on the cross-entropy.

    Each epoch visits the examples in an order drawn from ``generator``; ``after_epoch()``
    is called at the end of every epoch (to step a scheduler or update an average).
    """
    import torch
    import torch.nn.functional as F

    X = torch.as_tensor(X, dtype=torch.float32)
    y = torch.as_tensor(y, dtype=torch.long)
    model.train()
    for _ in range(checks.count("num_epochs", num_epochs, minimum=0)):
        order = torch.randperm(X.shape[0], generator=generator)
        for first in range(0, X.shape[0], batch_size):
            index = order[first : first + batch_size]
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(model(X[index]), y[index]).backward()
            optimizer.step()
        if after_epoch is not None:
            after_epoch()
    return model


def decayed_sgd(model, X, y, *, lr, num_epochs, batch_size, weight_decay, seed, final=0.01):
    """Conventional SGD (momentum 0.9): the learning rate falls linearly per epoch.

    From ``lr`` in the first epoch to ``final * lr`` in the last (Izmailov et al. 2018 decay
    to a small fraction of the initial rate). Trains ``model`` in place and returns it.
    """
    import torch

    optimizer = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=MOMENTUM, weight_decay=weight_decay
    )
    factors = np.linspace(1.0, final, num_epochs) if num_epochs > 1 else np.ones(1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda epoch: float(factors[min(epoch, num_epochs - 1)])
    )
    generator = torch.Generator().manual_seed(seed)
    return sgd_epochs(model, X, y, optimizer, num_epochs, batch_size, generator, scheduler.step)


def swa(model, X, y, *, swa_lr, num_epochs, batch_size, weight_decay, seed, keep_iterates=False):
    """Stochastic weight averaging with PyTorch's ``torch.optim.swa_utils``.

    SGD (momentum 0.9) continues from ``model`` (trained in place) with the learning rate
    held at ``swa_lr`` by ``SWALR`` (no annealing epochs); ``AveragedModel`` adds the weights
    at the end of every epoch to its running equal-weight average (Izmailov et al. 2018,
    Algorithm 1 with a constant rate and cycle length one epoch). A network with BatchNorm
    gets its statistics recomputed by ``update_bn``.

    Returns
    -------
    average : torch.nn.Module
        The averaged network (``AveragedModel.module``).
    iterates : list of torch.Tensor
        The flat weights at the end of each epoch, if ``keep_iterates`` (else empty).
    """
    import torch
    from torch.optim.swa_utils import SWALR, AveragedModel, update_bn

    optimizer = torch.optim.SGD(
        model.parameters(), lr=swa_lr, momentum=MOMENTUM, weight_decay=weight_decay
    )
    scheduler = SWALR(optimizer, swa_lr=swa_lr, anneal_epochs=1, anneal_strategy="linear")
    averaged = AveragedModel(model)
    iterates = []

    def after_epoch():
        averaged.update_parameters(model)
        scheduler.step()
        if keep_iterates:
            iterates.append(landscape.flat(model))

    generator = torch.Generator().manual_seed(seed)
    sgd_epochs(model, X, y, optimizer, num_epochs, batch_size, generator, after_epoch)
    update_bn([torch.as_tensor(X, dtype=torch.float32)], averaged.module)
    return averaged.module, iterates


def slice_rises(path):
    """The rise of a symmetric slice's loss at its two ends above its centre.

    ``path`` is a :class:`generalization.landscape.Path` whose ``ts`` run symmetrically from
    ``-r`` to ``r`` (odd length, ``t = 0`` in the middle). Returns ``(rise_minus,
    rise_plus)``: ``L(-r) - L(0)`` and ``L(r) - L(0)``.
    """
    ts = np.asarray(path.ts)
    middle = len(ts) // 2
    if len(ts) % 2 == 0 or not np.allclose(ts, -ts[::-1]):
        raise ValueError(f"path.ts must be symmetric about 0 with odd length; got {ts!r}.")
    return path.losses[0] - path.losses[middle], path.losses[-1] - path.losses[middle]


def asymmetry_ratio(rise_minus, rise_plus):
    """``max(rises) / min(rises)``: how many times faster one side rises than the other.

    1 for a symmetric slice; infinite when one side does not rise at all. Elementwise.
    """
    lo = np.minimum(rise_minus, rise_plus)
    hi = np.maximum(rise_minus, rise_plus)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(lo > 0, hi / np.where(lo > 0, lo, 1.0), np.inf)


@dataclass(frozen=True)
class SwaResult:
    """What :func:`swa_experiment` returns.

    Per seed (first axis ``len(seeds)``): ``test_error``/``test_loss``/``train_loss`` of shape
    (n_seeds, 2) for (SGD, SWA); ``distance`` between the two solutions; ``line_train`` and
    ``line_test`` (cross-entropy) and ``line_test_error`` along ``line_ts`` (0 = SGD,
    1 = SWA), shape (n_seeds, len(line_ts)); ``slices`` of the training loss along random
    filter-normalized directions, shape (n_seeds, 2, n_directions, len(slice_ts)), for
    (SGD, SWA).
    """

    seeds: tuple
    n_train: int
    n_params: int
    line_ts: np.ndarray
    slice_ts: np.ndarray
    test_error: np.ndarray
    test_loss: np.ndarray
    train_loss: np.ndarray
    distance: np.ndarray
    line_train: np.ndarray
    line_test: np.ndarray
    line_test_error: np.ndarray
    slices: np.ndarray
    run_time_s: float


def _one_seed(seed, s, X, y, X_test, y_test):
    """Train the SGD and SWA solutions of one seed and measure the landscape around them."""
    model = nets.mlp(hidden=s["hidden"], seed=seed)
    nets.train(
        model,
        X,
        y,
        lr=s["lr"],
        momentum=MOMENTUM,
        num_epochs=s["pre_epochs"],
        batch_size=s["batch_size"],
        weight_decay=s["weight_decay"],
        seed=seed,
    )
    common = dict(batch_size=s["batch_size"], weight_decay=s["weight_decay"], seed=seed + 1)
    sgd = decayed_sgd(copy.deepcopy(model), X, y, lr=s["lr"], num_epochs=s["epochs"], **common)
    averaged, _ = swa(
        copy.deepcopy(model), X, y, swa_lr=s["swa_lr"], num_epochs=s["epochs"], **common
    )
    solutions = (sgd, averaged)
    test = [landscape.evaluate(m, X_test, y_test) for m in solutions]
    train = [landscape.evaluate(m, X, y)[0] for m in solutions]
    line_tr = landscape.interpolate(sgd, averaged, s["line_ts"], X, y)
    line_te = landscape.interpolate(sgd, averaged, s["line_ts"], X_test, y_test)
    radius, points = s["slice_radius"], s["slice_points"]
    slice_ts = np.linspace(-radius, radius, points)
    slices = np.array(
        [
            [
                landscape.along_line(
                    m, landscape.random_direction(m, 1000 * seed + k), slice_ts, X, y
                ).losses
                for k in range(s["n_directions"])
            ]
            for m in solutions
        ]
    )
    distance = float((landscape.flat(averaged) - landscape.flat(sgd)).norm())
    return dict(
        test_error=[t[1] for t in test],
        test_loss=[t[0] for t in test],
        train_loss=train,
        distance=distance,
        line_train=line_tr.losses,
        line_test=line_te.losses,
        line_test_error=line_te.errors,
        slices=slices,
        n_params=int(landscape.flat(sgd).shape[0]),
    )


@cached
def swa_experiment(seeds, **s):
    """SGD against SWA on an MNIST subset, and the training loss around both. Cached.

    Parameters
    ----------
    seeds : sequence of int
        Per seed: its own training subset, initialization, batch orders and directions.
    **s
        The ``mnist`` settings of :data:`SETTINGS` (sizes, learning rates, epochs,
        directions, the slice radius and the points of the line).

    Returns
    -------
    SwaResult
    """
    seeds = checks.integers("seeds", seeds)
    checks.count("n_directions", s["n_directions"])
    checks.count("slice_points", s["slice_points"], minimum=3)
    if s["slice_points"] % 2 == 0:
        raise ValueError(f"slice_points must be an odd integer; got {s['slice_points']}.")
    start = time.perf_counter()
    runs = []
    with nets.threads(1):
        for seed in seeds:
            X, y, X_test, y_test = mnist_subset(s["n_train"], seed)
            runs.append(_one_seed(seed, s, X, y, X_test, y_test))
    stack = {k: np.array([r[k] for r in runs]) for k in runs[0] if k != "n_params"}
    return SwaResult(
        seeds=tuple(seeds),
        n_train=int(s["n_train"]),
        n_params=runs[0]["n_params"],
        line_ts=np.asarray(s["line_ts"], dtype=float),
        slice_ts=np.linspace(-s["slice_radius"], s["slice_radius"], s["slice_points"]),
        run_time_s=time.perf_counter() - start,
        **stack,
    )


def direction_ratios(result):
    """The asymmetry ratio of every random slice of :func:`swa_experiment`.

    Shape (n_seeds, 2, n_directions), for the (SGD, SWA) solutions: :func:`asymmetry_ratio`
    of the rises at the two ends of each slice, ``t = -r`` and ``t = r``.
    """
    middle = result.slices.shape[-1] // 2
    centre = result.slices[..., middle]
    return asymmetry_ratio(result.slices[..., 0] - centre, result.slices[..., -1] - centre)


def line_rises(result, beyond=1.0, test=False):
    """How much the loss rises beyond each end of the line through the SGD and SWA solutions.

    With ``t = 0`` at SGD and ``t = 1`` at SWA, the rise beyond SGD is ``L(-beyond) - L(0)``
    and the rise beyond SWA ``L(1 + beyond) - L(1)``: equal distances (``beyond`` times the
    distance between the two solutions) outwards from each end. The points must lie on
    ``result.line_ts``.

    Returns
    -------
    beyond_sgd, beyond_swa : ndarray of shape (n_seeds,)
        Of the training loss, or of the test loss with ``test``.
    """
    beyond = checks.positive("beyond", beyond)
    ts = np.asarray(result.line_ts)
    losses = result.line_test if test else result.line_train

    def at(t):
        hit = np.flatnonzero(np.isclose(ts, t))
        if hit.size != 1:
            raise ValueError(f"beyond must put t = {t:g} on result.line_ts; got {beyond!r}.")
        return losses[:, hit[0]]

    return at(-beyond) - at(0.0), at(1.0 + beyond) - at(1.0)


def line_minimum(result, test=False):
    """The position ``t`` (0 = SGD, 1 = SWA) of the smallest loss on the line, per seed."""
    losses = result.line_test if test else result.line_train
    return np.asarray(result.line_ts)[np.argmin(losses, axis=1)]

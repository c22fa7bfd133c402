"""Experiments of the chapter *Depth separation*.

Telgarsky (2015, 2016) showed that composing a two-unit "tent" with itself ``k`` times gives
a sawtooth with ``2^k`` linear pieces from ``2k`` ReLUs in ``k`` layers, while a network
with few layers needs exponentially many units to approximate it: a shallow network with
``m`` units has at most ``m + 1`` pieces, and a function with few pieces is far from the
sawtooth in L1. The papers are about representation; they train nothing. This chapter
measures, on ``[0, 1]`` with the sawtooth ``f^k`` as target:

* :func:`construction`: the deep construction (:func:`generalization.depth.sawtooth_network`)
  and a shallow one (:func:`generalization.depth.interpolant_network`), with their exact
  piece counts and exact L1 errors (:mod:`generalization.depth`);
* :func:`shallow_sweep`: one-hidden-layer networks of several widths trained by full-batch
  Adam on the squared error, their exact L1 error against the two lower bounds from counting
  pieces (:func:`generalization.depth.l1_lower_bound`, ours, and
  :func:`generalization.depth.telgarsky_l1_lower_bound`, his), and their exact piece counts;
* :func:`deep_sweep`: the deep narrow architecture of the construction (``k`` hidden layers
  of two units) trained the same way from a random start: how often it finds a sawtooth;
* :func:`perturbed_start`: the same architecture started at the construction plus Gaussian
  noise on every weight.

All networks are trained together in one batch per architecture (:func:`train_batch`):
the loss is the sum of the networks' own losses and Adam is elementwise, so this is the same
as training each one alone (a unit test checks it).

References
----------
Telgarsky (2015), *Representation benefits of deep feedforward networks*,
https://arxiv.org/abs/1509.08101.
Telgarsky (2016), *Benefits of depth in neural networks*, COLT, PMLR 49,
https://arxiv.org/abs/1602.04485.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

from generalization import checks, depth, nets, settings_for
from generalization.book.cache import cached

SETTINGS = {
    "quick": dict(
        construction=dict(ks=tuple(range(1, 9))),
        shallow=dict(
            ks=(3, 4, 5),
            widths=(2, 4, 8, 16, 32, 64),
            seeds=(0, 1, 2, 3),
            n_points=256,
            lr=0.01,
            num_steps=1500,
        ),
        deep=dict(
            ks=(1, 2, 3, 4, 5),
            width=2,
            seeds=tuple(range(20)),
            n_points=256,
            lr=0.01,
            num_steps=2000,
        ),
        perturbed=dict(
            k=4,
            noise=(0.01, 0.1, 0.3),
            seeds=tuple(range(10)),
            n_points=256,
            lr=0.01,
            num_steps=2000,
        ),
        success_tol=0.01,
    ),
    "full": dict(
        construction=dict(ks=tuple(range(1, 11))),
        shallow=dict(
            ks=(3, 4, 5, 6),
            widths=(2, 4, 8, 16, 32, 64, 128, 256),
            seeds=tuple(range(5)),
            n_points=1024,
            lr=0.01,
            num_steps=6000,
        ),
        deep=dict(
            ks=(1, 2, 3, 4, 5, 6),
            width=2,
            seeds=tuple(range(40)),
            n_points=1024,
            lr=0.01,
            num_steps=6000,
        ),
        perturbed=dict(
            k=4,
            noise=(0.01, 0.03, 0.1, 0.3, 1.0),
            seeds=tuple(range(40)),
            n_points=1024,
            lr=0.01,
            num_steps=6000,
        ),
        success_tol=0.01,
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

``n_points``: training inputs ``(i + 1/2) / n_points`` on ``[0, 1]``; ``lr``: Adam's initial
learning rate, annealed to zero along a cosine over ``num_steps`` full-batch steps;
``success_tol``: a trained network "finds the sawtooth" when its L1 error is below it (the
constant 1/2 is at 1/4). Quick runs in about half a minute on 2 CPU cores; full adds a
larger ``k``, wider networks, more seeds and longer training."""

PLOT_POINTS = 1025
"""Points of ``[0, 1]`` at which trained networks are recorded for the figures."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def inputs(n_points):
    """The training inputs ``(i + 1/2) / n_points``, ``i = 0, ..., n_points - 1``, as float64."""
    n_points = checks.count("n_points", n_points)
    return (torch.arange(n_points, dtype=torch.float64) + 0.5) / n_points


# -------------------------------------------------------------------- batched training


def init_params(widths, seed):
    """Random parameters of a ReLU network with hidden ``widths`` (one input, one output).

    He-normal weights (variance ``2 / fan_in``) in the hidden layers and variance
    ``1 / fan_in`` at the output. The first layer's biases put each unit's kink at a point
    drawn uniformly from ``[0, 1]`` (``b = -w u``), where the target bends; the other hidden
    biases are 0 and the output bias is 1/2, the mean of the sawtooth.

    Returns
    -------
    list of (weight, bias)
        float64 tensors of shapes (out, in) and (out,), layer by layer.
    """
    widths = checks.integers("widths", widths, minimum=1)
    generator = nets.seed_everything(seed)
    dims = (1, *widths, 1)
    params = []
    for layer, (fan_in, fan_out) in enumerate(zip(dims, dims[1:])):
        gain = 1.0 if fan_out == 1 and layer == len(widths) else 2.0
        W = torch.randn(fan_out, fan_in, generator=generator, dtype=torch.float64)
        W *= math.sqrt(gain / fan_in)
        if layer == 0:
            b = -W[:, 0] * torch.rand(fan_out, generator=generator, dtype=torch.float64)
        elif layer == len(widths):
            b = torch.full((fan_out,), 0.5, dtype=torch.float64)
        else:
            b = torch.zeros(fan_out, dtype=torch.float64)
        params.append((W, b))
    return params


def construction_params(k, noise=0.0, seed=0):
    """The weights of :func:`generalization.depth.sawtooth_network`, plus ``noise * N(0, 1)``."""
    noise = checks.nonnegative("noise", noise)
    generator = nets.seed_everything(seed)
    params = []
    for module in depth.sawtooth_network(k):
        if isinstance(module, nn.Linear):
            W, b = module.weight.detach().clone(), module.bias.detach().clone()
            W += noise * torch.randn(W.shape, generator=generator, dtype=torch.float64)
            b += noise * torch.randn(b.shape, generator=generator, dtype=torch.float64)
            params.append((W, b))
    return params


def forward(params, x):
    """Outputs of a batch of networks: ``params`` stacked (leading axis S), ``x`` of shape (n,).

    Returns shape (S, n).
    """
    h = x[None, :, None].expand(params[0][0].shape[0], -1, 1)
    for layer, (W, b) in enumerate(params):
        h = h @ W.transpose(1, 2) + b[:, None, :]
        if layer < len(params) - 1:
            h = torch.relu(h)
    return h[..., 0]


def train_batch(params, targets, x, lr, num_steps):
    """Full-batch Adam on the squared error of every network of a batch, all at once.

    Parameters
    ----------
    params : list of (weight, bias)
        One network per entry of the leading axis: weights (S, out, in), biases (S, out).
    targets : tensor, shape (S, n)
        Each network's targets at the inputs ``x``.
    x : tensor, shape (n,)
    lr : float
        Adam's initial learning rate, annealed to zero along a cosine
        (``torch.optim.lr_scheduler.CosineAnnealingLR`` over ``num_steps``).
    num_steps : int

    Returns
    -------
    list of (weight, bias)
        The trained parameters (detached copies). The loss is the sum over networks of each
        one's mean squared error, so each network receives its own gradient, and Adam's
        update of a parameter depends only on that parameter's gradients: training the
        batch is training each network alone.
    """
    lr = checks.positive("lr", lr)
    num_steps = checks.count("num_steps", num_steps, minimum=0)
    leaves = [t.clone().requires_grad_() for pair in params for t in pair]
    optimizer = torch.optim.Adam(leaves, lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(num_steps, 1))
    pairs = list(zip(leaves[::2], leaves[1::2]))
    with nets.threads(1):  # tiny tensors: a second thread only adds overhead
        for _ in range(num_steps):
            loss = ((forward(pairs, x) - targets) ** 2).mean(dim=1).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    return [(W.detach().clone(), b.detach().clone()) for W, b in pairs]


def stack(networks):
    """Stack a list of parameter lists (one per network, same architecture) into a batch."""
    return [
        (torch.stack([net[i][0] for net in networks]), torch.stack([net[i][1] for net in networks]))
        for i in range(len(networks[0]))
    ]


def to_network(params, index):
    """Network ``index`` of a batch as a ``torch.nn.Sequential`` of Linear and ReLU layers."""
    layers = []
    for layer, (W, b) in enumerate(params):
        linear = nn.Linear(W.shape[2], W.shape[1], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(W[index])
            linear.bias.copy_(b[index])
        layers.append(linear)
        if layer < len(params) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def dead_units(network, a=0, b=1):
    """The number of hidden units of a ReLU network that output zero on all of ``[a, b]``.

    A unit is dead when its input is at most zero on the whole interval. That input is
    itself a scalar ReLU network (the layers below, then the unit's row of its linear layer),
    so its exact pieces (:func:`generalization.depth.linear_pieces`) give its largest value:
    the largest of its values at the knots.
    """
    modules = list(network)
    count = 0
    for index, module in enumerate(modules[:-1]):
        if not isinstance(module, nn.Linear):
            continue
        for row in range(module.out_features):
            unit = nn.Linear(module.in_features, 1, dtype=torch.float64)
            with torch.no_grad():
                unit.weight.copy_(module.weight[row : row + 1])
                unit.bias.copy_(module.bias[row : row + 1])
            pieces = depth.linear_pieces(nn.Sequential(*modules[:index], unit), a, b)
            values = [
                s * t + c
                for s, c, lo, hi in zip(
                    pieces.slopes, pieces.intercepts, pieces.knots, pieces.knots[1:]
                )
                for t in (lo, hi)
            ]
            count += max(values) <= 0  # affine on each piece: the largest value is at a knot
    return count


def two_layer_sawtooth(j):
    """A network with two hidden layers of ``2^j`` units computing ``f^(2j)`` on ``[0, 1]``.

    The shallow interpolant of ``f^j``, ``g(x) = b + sum_i a_i relu(x - t_i)``
    (:func:`generalization.depth.interpolant_network`), composed with itself: the second
    hidden layer holds ``relu(g(x) - t_i)`` for every knot ``t_i``, a ReLU of an affine
    function of the first layer's outputs, and the output layer is the first copy's. Since
    ``g`` maps ``[0, 1]`` into ``[0, 1]``, where it equals ``f^j``, the network computes
    ``f^j(f^j(x)) = f^(2j)(x)`` there (the chapter's first exercise).
    """
    j = checks.count("j", j)
    n = 2**j
    inner = depth.interpolant_network(np.arange(n + 1) / n, np.arange(n + 1) % 2)
    first, out = inner[0], inner[2]
    middle = nn.Linear(n, n, dtype=torch.float64)
    with torch.no_grad():
        middle.weight.copy_(out.weight.repeat(n, 1))  # every row: the read-out a
        middle.bias.copy_(out.bias.expand(n) + first.bias)  # b - t_i (first.bias = -t_i)
    return nn.Sequential(first, nn.ReLU(), middle, nn.ReLU(), out)


def _targets(ks, x):
    return torch.as_tensor(np.array([depth.sawtooth(x.numpy(), k) for k in ks]))


def _measure(params, ks):
    """Exact L1 error against the sawtooth ``f^k`` and exact piece count of each network."""
    l1, pieces = [], []
    grid = torch.linspace(0.0, 1.0, PLOT_POINTS, dtype=torch.float64)
    for i, k in enumerate(ks):
        exact = depth.linear_pieces(to_network(params, i), 0, 1)
        pieces.append(exact.count)
        l1.append(depth.l1_distance(exact, depth.sawtooth_pieces(k)))
    with torch.no_grad():
        curves = forward(params, grid).numpy()
    return np.array(l1), np.array(pieces), curves


# -------------------------------------------------------------------------- experiments


@dataclass(frozen=True)
class Construction:
    """What :func:`construction` returns, one entry per ``k`` of ``ks``.

    ``deep_units`` (``2k``) and ``shallow_units`` (``2^k``): the ReLUs of the deep narrow and
    the shallow construction; ``deep_pieces``, ``shallow_pieces``: their exact piece counts on
    ``[0, 1]``; ``deep_l1``, ``shallow_l1``: their exact L1 distances to the sawtooth's closed
    form (:func:`generalization.depth.sawtooth_pieces`); ``grid_gap``: the largest
    ``|network(x) - f^k(x)|`` of the deep network in float64 over the ``2^12 + 1`` dyadic
    points of ``[0, 1]``, with ``f^k`` the composition of :func:`generalization.depth.tent`.
    """

    ks: tuple
    deep_units: np.ndarray
    deep_pieces: np.ndarray
    deep_l1: np.ndarray
    shallow_units: np.ndarray
    shallow_pieces: np.ndarray
    shallow_l1: np.ndarray
    grid_gap: np.ndarray
    run_time_s: float


@cached
def construction(ks):
    """The deep and the shallow exact constructions of the sawtooth ``f^k``, for each k. Cached.

    Returns
    -------
    Construction
    """
    ks = checks.integers("ks", ks, minimum=1)
    start = time.perf_counter()
    dyadic = np.arange(2**12 + 1) / 2**12
    rows = {name: [] for name in ("du", "dp", "dl", "su", "sp", "sl", "gap")}
    for k in ks:
        deep = depth.sawtooth_network(k)
        knots = np.arange(2**k + 1) / 2**k
        shallow = depth.interpolant_network(knots, np.arange(2**k + 1) % 2)
        target = depth.sawtooth_pieces(k)
        rows["du"].append(sum(m.out_features for m in deep if isinstance(m, nn.Linear)) - 1)
        rows["dp"].append(depth.count_linear_pieces(deep, 0, 1))
        rows["dl"].append(depth.l1_distance(deep, target))
        rows["su"].append(shallow[0].out_features)
        rows["sp"].append(depth.count_linear_pieces(shallow, 0, 1))
        rows["sl"].append(depth.l1_distance(shallow, target))
        with torch.no_grad():
            out = deep(torch.as_tensor(dyadic)[:, None])[:, 0].numpy()
        rows["gap"].append(float(np.max(np.abs(out - depth.sawtooth(dyadic, k)))))
    a = {name: np.array(v) for name, v in rows.items()}
    return Construction(
        ks=ks,
        deep_units=a["du"],
        deep_pieces=a["dp"],
        deep_l1=a["dl"],
        shallow_units=a["su"],
        shallow_pieces=a["sp"],
        shallow_l1=a["sl"],
        grid_gap=a["gap"],
        run_time_s=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class ShallowSweep:
    """What :func:`shallow_sweep` returns.

    Arrays of shape (len(ks), len(widths), len(seeds)): ``l1`` (exact L1 error of the trained
    network against ``f^k`` on ``[0, 1]``), ``pieces`` (its exact number of linear pieces),
    ``measured_bound`` (:func:`generalization.depth.l1_lower_bound` at that number of pieces).
    Arrays of shape (len(ks), len(widths)): ``bound`` and ``telgarsky_bound``, the two lower
    bounds for any function with ``width + 1`` pieces, the most a width allows. ``curves``:
    the trained networks at ``PLOT_POINTS`` points of ``[0, 1]``, shape (len(ks),
    len(widths), len(seeds), PLOT_POINTS).
    """

    ks: tuple
    widths: tuple
    seeds: tuple
    l1: np.ndarray
    pieces: np.ndarray
    measured_bound: np.ndarray
    bound: np.ndarray
    telgarsky_bound: np.ndarray
    curves: np.ndarray
    run_time_s: float


@cached
def shallow_sweep(ks, widths, seeds, n_points, lr, num_steps):
    """One-hidden-layer ReLU networks trained on the sawtooth ``f^k``, per k, width and seed.

    Each network starts from :func:`init_params` (the seed) and is trained by
    :func:`train_batch` on the ``n_points`` inputs of :func:`inputs`. Cached.

    Returns
    -------
    ShallowSweep
    """
    ks = checks.integers("ks", ks, minimum=1)
    widths = checks.integers("widths", widths, minimum=1)
    seeds = checks.integers("seeds", seeds)
    start = time.perf_counter()
    x = inputs(n_points)
    shape = (len(ks), len(widths), len(seeds))
    l1, pieces = np.zeros(shape), np.zeros(shape, dtype=int)
    curves = np.zeros(shape + (PLOT_POINTS,))
    for j, width in enumerate(widths):
        batch = [(k, seed) for k in ks for seed in seeds]
        params = stack([init_params((width,), seed) for _, seed in batch])
        trained = train_batch(params, _targets([k for k, _ in batch], x), x, lr, num_steps)
        e, p, c = _measure(trained, [k for k, _ in batch])
        l1[:, j], pieces[:, j] = e.reshape(len(ks), -1), p.reshape(len(ks), -1)
        curves[:, j] = c.reshape(len(ks), len(seeds), -1)
    measured = np.vectorize(depth.l1_lower_bound)(pieces, np.array(ks)[:, None, None])
    m_plus_1 = np.array(widths)[None, :] + 1
    k_col = np.array(ks)[:, None]
    return ShallowSweep(
        ks=ks,
        widths=widths,
        seeds=seeds,
        l1=l1,
        pieces=pieces,
        measured_bound=measured,
        bound=np.vectorize(depth.l1_lower_bound)(m_plus_1, k_col),
        telgarsky_bound=np.vectorize(depth.telgarsky_l1_lower_bound)(m_plus_1, k_col),
        curves=curves,
        run_time_s=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class DeepSweep:
    """What :func:`deep_sweep` returns.

    Arrays of shape (len(ks), len(seeds)): ``l1`` (exact L1 error of the trained network
    against ``f^k``), ``pieces`` (its exact piece count on ``[0, 1]``), ``measured_bound``
    (:func:`generalization.depth.l1_lower_bound` at that count), ``dead_start`` and ``dead``
    (:func:`dead_units` on ``[0, 1]`` before and after training). ``curves``: the trained
    networks at ``PLOT_POINTS`` points, shape (len(ks), len(seeds), PLOT_POINTS).
    """

    ks: tuple
    width: int
    seeds: tuple
    l1: np.ndarray
    pieces: np.ndarray
    measured_bound: np.ndarray
    dead_start: np.ndarray
    dead: np.ndarray
    curves: np.ndarray
    run_time_s: float


@cached
def deep_sweep(ks, width, seeds, n_points, lr, num_steps):
    """The architecture of the construction, trained on ``f^k`` from a random start. Cached.

    For each ``k``: ``k`` hidden layers of ``width`` units (``width = 2``: exactly the
    architecture of :func:`generalization.depth.sawtooth_network`, which represents ``f^k``
    with zero error), started at :func:`init_params` (the seed) and trained by
    :func:`train_batch` like the shallow networks.

    Returns
    -------
    DeepSweep
    """
    ks = checks.integers("ks", ks, minimum=1)
    width = checks.count("width", width)
    seeds = checks.integers("seeds", seeds)
    start = time.perf_counter()
    x = inputs(n_points)
    l1, pieces, curves, dead_start, dead = [], [], [], [], []
    for k in ks:
        params = stack([init_params((width,) * k, seed) for seed in seeds])
        trained = train_batch(params, _targets([k] * len(seeds), x), x, lr, num_steps)
        e, p, c = _measure(trained, [k] * len(seeds))
        l1.append(e)
        pieces.append(p)
        curves.append(c)
        dead_start.append([dead_units(to_network(params, i)) for i in range(len(seeds))])
        dead.append([dead_units(to_network(trained, i)) for i in range(len(seeds))])
    pieces = np.array(pieces)
    measured = np.vectorize(depth.l1_lower_bound)(pieces, np.array(ks)[:, None])
    return DeepSweep(
        ks=ks,
        width=width,
        seeds=seeds,
        l1=np.array(l1),
        pieces=pieces,
        measured_bound=measured,
        dead_start=np.array(dead_start),
        dead=np.array(dead),
        curves=np.array(curves),
        run_time_s=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class PerturbedStart:
    """What :func:`perturbed_start` returns.

    Arrays of shape (len(noise), len(seeds)): ``l1_start`` and ``l1`` (exact L1 error against
    ``f^k`` before and after training), ``pieces`` (exact piece count after training) and
    ``sliver`` (when a trained network has more pieces than the sawtooth's ``2^k``, the width of
    the widest of its ``pieces - 2^k`` narrowest pieces; 0 otherwise).
    """

    k: int
    noise: tuple
    seeds: tuple
    l1_start: np.ndarray
    l1: np.ndarray
    pieces: np.ndarray
    sliver: np.ndarray
    run_time_s: float


@cached
def perturbed_start(k, noise, seeds, n_points, lr, num_steps):
    """The deep construction of ``f^k`` plus Gaussian noise, trained like the others. Cached.

    Every weight and bias of :func:`generalization.depth.sawtooth_network` gets
    ``noise * N(0, 1)`` added (:func:`construction_params`, the seed), for each noise level;
    all are trained together by :func:`train_batch`.

    Returns
    -------
    PerturbedStart
    """
    k = checks.count("k", k)
    noise = tuple(checks.numbers("noise", noise, low=0).tolist())
    seeds = checks.integers("seeds", seeds)
    start = time.perf_counter()
    x = inputs(n_points)
    batch = [(level, seed) for level in noise for seed in seeds]
    params = stack([construction_params(k, level, seed) for level, seed in batch])
    shape = (len(noise), len(seeds))
    l1_start = _measure(params, [k] * len(batch))[0].reshape(shape)
    trained = train_batch(params, _targets([k] * len(batch), x), x, lr, num_steps)
    l1, pieces, _ = _measure(trained, [k] * len(batch))
    sliver = []
    for i in range(len(batch)):
        knots = depth.linear_pieces(to_network(trained, i), 0, 1).knots
        extra = len(knots) - 1 - 2**k
        widths = np.sort(np.diff([float(t) for t in knots]))
        sliver.append(float(widths[extra - 1]) if extra > 0 else 0.0)
    return PerturbedStart(
        k=k,
        noise=noise,
        seeds=seeds,
        l1_start=l1_start,
        l1=l1.reshape(shape),
        pieces=pieces.reshape(shape),
        sliver=np.array(sliver).reshape(shape),
        run_time_s=time.perf_counter() - start,
    )

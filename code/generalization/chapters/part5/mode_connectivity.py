"""Experiments of the chapter *Mode connectivity and the early phase of training*.

Garipov, Izmailov, Podoprikhin, Vetrov and Wilson (2018) train two networks from different
random initializations and find that the straight segment between them crosses a region
of high loss, while a simple curve, a quadratic Bezier curve whose middle control point is
trained, joins them through low training loss and nearly constant test error. Frankle,
Dziugaite, Roy and Carbin (2020) ask a sharper question: after how many iterations ``k``
of training is the *straight* segment enough? They train one network to iteration ``k``,
copy it, train the two copies to the end on different data orders, and call the rise of
the test error along the segment between the two results the *instability*. It is large
early and falls to zero after an early phase (for LeNet on MNIST already at ``k = 0``).

This module runs both on MNIST subsets with small ReLU networks (:func:`generalization.nets.mlp`):

* :func:`connectivity_experiment`: pairs of networks from different seeds, the straight
  segment (:func:`generalization.landscape.interpolate`) and a trained Bezier curve
  (:func:`generalization.landscape.bezier_curve`) between them;
* :func:`instability_experiment`: the instability analysis of Frankle et al. for a list of
  branching iterations ``k``: training to ``k``, :func:`branch` into two copies that share
  the optimizer state, training each on its own data order, and :func:`instability` of the
  segment between the two ends.

Networks are trained side by side (:func:`train_together`): their parameters are stacked
and one vectorized forward pass serves all of them, which gives each exactly the SGD path
it would follow alone.

Differences from the papers: MNIST subsets of a few thousand images and multilayer
perceptrons trained for a few hundred SGD steps, instead of VGG-16 and ResNets on
CIFAR-10/100 (Garipov et al.; Frankle et al.) or LeNet on all of MNIST; no learning-rate
schedule, warmup or data augmentation, so the only noise between the two copies is the
order of the mini-batches.

References
----------
Garipov, Izmailov, Podoprikhin, Vetrov, Wilson (2018), *Loss surfaces, mode connectivity, and
fast ensembling of DNNs*, NeurIPS, https://arxiv.org/abs/1802.10026.
Frankle, Dziugaite, Roy, Carbin (2020), *Linear mode connectivity and the lottery ticket
hypothesis*, ICML, https://arxiv.org/abs/1912.05671.
Frankle, Schwab, Morcos (2020), *The early phase of neural network training*, ICLR,
https://arxiv.org/abs/2002.10365.
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
        data=dict(n_train=2000, n_test=2000),
        connect=dict(
            hidden=(128, 128),
            pairs=(0, 1, 2),
            lr=0.05,
            batch_size=64,
            steps=400,
            decay_at=320,
            curve_epochs=10,
            curve_lr=0.05,
            n_points=21,
        ),
        unstable=dict(
            hidden=(48, 48, 48, 48, 48),
            seeds=(0, 1, 2),
            lr=0.1,
            batch_size=64,
            steps=400,
            decay_at=320,
            ks=(0, 30, 100, 300),
        ),
    ),
    "full": dict(
        data=dict(n_train=10000, n_test=10000),
        connect=dict(
            hidden=(128, 128),
            pairs=(0, 1, 2, 3, 4),
            lr=0.05,
            batch_size=64,
            steps=2000,
            decay_at=1600,
            curve_epochs=20,
            curve_lr=0.05,
            n_points=31,
        ),
        unstable=dict(
            hidden=(48, 48, 48, 48, 48),
            seeds=tuple(range(5)),
            lr=0.1,
            batch_size=64,
            steps=2000,
            decay_at=1600,
            ks=(0, 10, 30, 100, 300, 1000),
        ),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

``data``: the stratified MNIST subsets (training and test images, drawn with seed 0).
``connect``: pairs of networks from different seeds, the Bezier curves between them, and a
third network per pair from the same initialization as the first (Frankle et al.'s
analysis at ``k = 0``). ``unstable``: the instability analysis for a deeper, narrower
network with a larger learning rate, which is not stable at initialization. ``steps``
counts SGD iterations of ``batch_size`` examples; the learning rate drops tenfold at
iteration ``decay_at``. Quick runs in about a minute on 2 shared CPU cores; full uses five
times the data and iterations (still far from the papers' sizes)."""

MOMENTUM = 0.9
"""SGD momentum of every training run (Frankle et al. and Garipov et al. use 0.9)."""

N_ALPHAS = 11
"""Points on the segment between the two copies, evenly spaced, ends included."""

_WHATS = ("train_loss", "train_error", "test_error")


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def mnist_subsets(n_train, n_test, seed=0):
    """Stratified MNIST subsets ``(X_train, y_train, X_test, y_test)`` as torch tensors.

    Pixels in [0, 1], float32, shape (n, 784); labels int64.
    """
    import torch

    mnist = data.load_mnist()
    X_train, y_train = data.subsample(mnist.X_train, mnist.y_train, n_train, seed, stratified=True)
    X_test, y_test = data.subsample(mnist.X_test, mnist.y_test, n_test, seed, stratified=True)
    return tuple(torch.tensor(np.array(a)) for a in (X_train, y_train, X_test, y_test))


# ------------------------------------------------------------------------------ training


@dataclass
class Run:
    """A network in training: its ``model`` and the momentum buffers of its SGD optimizer.

    ``momentum`` is None before the first step, else one tensor per parameter of ``model``,
    in order (``torch.optim.SGD``'s ``momentum_buffer``).
    """

    model: object
    momentum: list | None = None


def branch(run):
    """A copy of ``run`` (network and momentum buffers) that shares no tensor with it.

    Training the copy continues exactly where the original stopped and never changes it.
    """
    momentum = None if run.momentum is None else [b.detach().clone() for b in run.momentum]
    return Run(copy.deepcopy(run.model), momentum)


def _order(n, batch_size, seed):
    """The mini-batch indices of one run: consecutive slices of random orders of ``n``
    examples, a new order whenever the rest of the current one is shorter than a batch."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(n, generator=generator)
        for first in range(0, n - batch_size + 1, batch_size):
            yield order[first : first + batch_size]


def train_together(
    runs, X, y, *, steps, batch_size, seeds, lr, start=0, decay_at=None, checkpoints=()
):
    """Train several networks of one architecture side by side with SGD; in place.

    Run ``i`` takes ``steps`` SGD steps (momentum :data:`MOMENTUM`) on the cross-entropy of
    its own mini-batches, drawn in the order of ``seeds[i]`` (its *SGD noise*, see
    :func:`_order`). The parameters of all runs are stacked along a new first axis and one
    ``torch.optim.SGD`` steps the stack on the sum of the runs' mean losses, with the
    forward pass vectorized by ``torch.func.vmap``; SGD acts on each entry separately and
    the sum's gradient in run ``i``'s parameters is run ``i``'s own gradient, so each run
    follows exactly the path it would follow alone (tested against a plain loop), at a
    fraction of the Python overhead.

    The learning rate is ``lr`` until the global iteration reaches ``decay_at`` and
    ``lr / 10`` from then on; ``start`` is the global iteration of the first step, so that
    a copy made at iteration ``k`` continues the same schedule.

    Parameters
    ----------
    runs : list of Run
        Same architecture; all with momentum buffers or none with them.
    X : tensor of shape (n, d); y : tensor of shape (n,), int64
    steps : int >= 0
    batch_size : int, at most n
    seeds : sequence of int, one per run
    lr : float
    start : int, default 0
    decay_at : int, optional
        None: a constant learning rate.
    checkpoints : sequence of int
        Global iterations (from ``start`` to ``start + steps``) at which copies of all runs
        are kept (:func:`branch`).

    Returns
    -------
    dict
        ``{iteration: [Run, ...]}`` for each checkpoint.
    """
    import torch
    import torch.nn.functional as F
    from torch.func import functional_call, vmap

    steps = checks.count("steps", steps, minimum=0)
    n = X.shape[0]
    batch_size = checks.count("batch_size", batch_size, maximum=n)
    seeds = checks.integers("seeds", seeds, minimum=0)
    if len(seeds) != len(runs) or not runs:
        raise ValueError(f"seeds must hold one seed per run ({len(runs)}); got {len(seeds)}.")
    lr = checks.positive("lr", lr)
    start = checks.count("start", start, minimum=0)
    end = start + steps
    decay_at = end if decay_at is None else checks.count("decay_at", decay_at, minimum=0)
    wanted = (
        set(checks.integers("checkpoints", checkpoints, min_length=0)) if checkpoints else set()
    )
    if any(c < start or c > end for c in wanted):
        raise ValueError(
            f"checkpoints must lie from start to start + steps ({start} to {end}); "
            f"got {sorted(wanted)}."
        )
    with_momentum = [run.momentum is not None for run in runs]
    if any(with_momentum) and not all(with_momentum):
        raise ValueError("runs must all have momentum buffers or none; got a mixture.")
    template = copy.deepcopy(runs[0].model).train()
    names = [name for name, _ in template.named_parameters()]
    stacked = [
        torch.stack([list(run.model.parameters())[j].detach() for run in runs]).requires_grad_()
        for j in range(len(names))
    ]
    optimizer = torch.optim.SGD(stacked, lr=lr, momentum=MOMENTUM)
    if all(with_momentum):
        for j, p in enumerate(stacked):
            optimizer.state[p]["momentum_buffer"] = torch.stack([r.momentum[j] for r in runs])

    def forward(params, xb):
        return functional_call(template, dict(zip(names, params)), (xb,))

    batched = vmap(forward)
    orders = [_order(n, batch_size, seed) for seed in seeds]
    kept = {}

    def write_back():
        with torch.no_grad():
            for i, run in enumerate(runs):
                for p, source in zip(run.model.parameters(), stacked):
                    p.copy_(source[i])
                buffers = [optimizer.state[p].get("momentum_buffer") for p in stacked]
                if all(b is not None for b in buffers):
                    run.momentum = [b[i].clone() for b in buffers]

    for step in range(start, end + 1):
        if step in wanted:
            write_back()
            kept[step] = [branch(run) for run in runs]
        if step == end:
            break
        for group in optimizer.param_groups:
            group["lr"] = lr if step < decay_at else lr / 10
        index = torch.stack([next(order) for order in orders])  # (runs, batch)
        logits = batched(stacked, X[index])  # (runs, batch, classes)
        # sum over runs of each run's mean loss: its gradient in run i's parameters is run i's
        loss = F.cross_entropy(logits.flatten(0, 1), y[index].flatten(), reduction="sum")
        optimizer.zero_grad(set_to_none=True)
        (loss / batch_size).backward()
        optimizer.step()
    write_back()
    return kept


def instability(errors):
    """Frankle et al.'s instability of a path: its largest error minus its ends' mean error.

    ``max_alpha E(alpha) - (E(0) + E(1)) / 2`` for the errors ``E`` at evenly spaced points
    of the segment between two networks, ends included (Frankle et al. 2020, Section 2,
    "error barrier height"). For ends of equal error it is the barrier of
    :func:`generalization.landscape.barrier`; it can be negative only by less than half the
    gap between the ends' errors.

    Parameters
    ----------
    errors : array_like of shape (m,), m >= 2, or (..., m)
        The last axis runs along the path.

    Returns
    -------
    float or ndarray of shape (...)
    """
    errors = checks.array("errors", errors)
    if errors.ndim < 1 or errors.shape[-1] < 2:
        raise ValueError(
            f"errors must hold at least 2 values along its last axis; got shape {errors.shape}."
        )
    value = errors.max(axis=-1) - (errors[..., 0] + errors[..., -1]) / 2
    return float(value) if value.ndim == 0 else value


# -------------------------------------------------------------- connectivity (Garipov)


@dataclass(frozen=True)
class ConnectivityResult:
    """What :func:`connectivity_experiment` returns.

    Arrays of shape (len(pairs), n_points), at the points ``ts`` of each path, for three
    paths: ``line_*`` the straight segment between the two networks from different seeds,
    ``curve_*`` the trained Bezier curve between the same two, ``same_*`` the straight
    segment between the first network and its twin from the same initialization trained on
    another data order; each with ``_train_loss``, ``_train_error`` and ``_test_error``.
    ``distance`` and ``same_distance``: the Euclidean distances between the ends of the two
    segments; ``bend_offset``: the distance of the trained bend from the segment's midpoint;
    all of shape (len(pairs),). ``curve_losses``: the mean training loss of each epoch of
    the curve's training, (len(pairs), curve_epochs).
    """

    pairs: tuple
    ts: np.ndarray
    line_train_loss: np.ndarray
    line_train_error: np.ndarray
    line_test_error: np.ndarray
    curve_train_loss: np.ndarray
    curve_train_error: np.ndarray
    curve_test_error: np.ndarray
    same_train_loss: np.ndarray
    same_train_error: np.ndarray
    same_test_error: np.ndarray
    distance: np.ndarray
    same_distance: np.ndarray
    bend_offset: np.ndarray
    curve_losses: np.ndarray
    run_time_s: float


def _record(rows, prefix, train, test):
    rows[f"{prefix}_train_loss"].append(train.losses)
    rows[f"{prefix}_train_error"].append(train.errors)
    rows[f"{prefix}_test_error"].append(test.errors)


def _distance(model_a, model_b):
    import torch

    return float(torch.linalg.norm(landscape.flat(model_a) - landscape.flat(model_b)))


@cached
def connectivity_experiment(
    n_train,
    n_test,
    hidden,
    pairs,
    lr,
    batch_size,
    steps,
    decay_at,
    curve_epochs,
    curve_lr,
    n_points,
):
    """Straight segments and trained Bezier curves between networks from different seeds. Cached.

    Pair ``p`` trains network A from seed ``2 p`` (initialization and data order) and
    network B from seed ``2 p + 1`` (:func:`train_together`), and evaluates loss and error
    at ``n_points`` evenly spaced points of the segment between them and of the Bezier curve
    whose bend is trained for ``curve_epochs`` epochs with learning rate ``curve_lr`` (seed
    ``p``, :func:`generalization.landscape.bezier_curve`). It also trains A's twin: the same
    initialization, the data order of seed ``1000 + p``, and evaluates the segment from A to
    it (Frankle et al.'s instability analysis at ``k = 0``). Data: :func:`mnist_subsets`.

    Returns
    -------
    ConnectivityResult
    """
    pairs = checks.integers("pairs", pairs, minimum=0)
    n_points = checks.count("n_points", n_points, minimum=3)
    X, y, X_test, y_test = mnist_subsets(n_train, n_test)
    ts = np.linspace(0.0, 1.0, n_points)
    keys = [f"{path}_{what}" for path in ("line", "curve", "same") for what in _WHATS]
    rows = {k: [] for k in keys + ["distance", "same_distance", "bend_offset", "curve_losses"]}
    fit = dict(lr=lr, batch_size=batch_size, steps=steps, decay_at=decay_at)
    start = time.perf_counter()
    with nets.threads(1):
        runs, order_seeds = [], []
        for p in pairs:  # A, B and A's twin: inits 2p, 2p + 1, 2p; data orders all different
            runs += [
                Run(nets.mlp(X.shape[1], hidden, 10, seed=seed))
                for seed in (2 * p, 2 * p + 1, 2 * p)
            ]
            order_seeds += [2 * p, 2 * p + 1, 1000 + p]
        train_together(runs, X, y, seeds=order_seeds, **fit)
        for i, p in enumerate(pairs):
            a, b, twin = (run.model for run in runs[3 * i : 3 * i + 3])
            curve = landscape.bezier_curve(
                a, b, X, y, epochs=curve_epochs, lr=curve_lr, batch_size=batch_size, seed=p
            )
            _record(
                rows,
                "line",
                landscape.interpolate(a, b, ts, X, y),
                landscape.interpolate(a, b, ts, X_test, y_test),
            )
            _record(rows, "curve", curve.evaluate(ts, X, y), curve.evaluate(ts, X_test, y_test))
            _record(
                rows,
                "same",
                landscape.interpolate(a, twin, ts, X, y),
                landscape.interpolate(a, twin, ts, X_test, y_test),
            )
            rows["distance"].append(_distance(a, b))
            rows["same_distance"].append(_distance(a, twin))
            midpoint = (landscape.flat(a) + landscape.flat(b)) / 2
            rows["bend_offset"].append(float((curve.bend - midpoint).norm()))
            rows["curve_losses"].append(curve.train_losses)
    arrays = {k: np.array(v, dtype=float) for k, v in rows.items()}
    return ConnectivityResult(pairs=pairs, ts=ts, run_time_s=time.perf_counter() - start, **arrays)


# ------------------------------------------------------------ instability (Frankle et al.)


@dataclass(frozen=True)
class InstabilityResult:
    """What :func:`instability_experiment` returns.

    ``test_error`` and ``train_error``: the errors along the segment between the two copies,
    shape (len(seeds), len(ks), :data:`N_ALPHAS`), at ``alphas``; ``test_instability`` and
    ``train_instability``: :func:`instability` of those paths, (len(seeds), len(ks));
    ``branch_test_error``: the test error of the network at iteration ``k``, where it is
    copied, (len(seeds), len(ks)); ``distance``: the Euclidean distance between the two
    copies at the end, (len(seeds), len(ks)).
    """

    seeds: tuple
    ks: tuple
    steps: int
    alphas: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray
    test_instability: np.ndarray
    train_instability: np.ndarray
    branch_test_error: np.ndarray
    distance: np.ndarray
    run_time_s: float


def _segment(run_a, run_b, X, y, X_test, y_test):
    """Errors along the segment between two runs' networks, on the training and test sets."""
    alphas = np.linspace(0.0, 1.0, N_ALPHAS)
    train = landscape.interpolate(run_a.model, run_b.model, alphas, X, y)
    test = landscape.interpolate(run_a.model, run_b.model, alphas, X_test, y_test)
    return train.errors, test.errors


@cached
def instability_experiment(n_train, n_test, hidden, seeds, lr, batch_size, steps, decay_at, ks):
    """Frankle et al.'s instability analysis at each branching iteration ``k``. Cached.

    For each seed ``s`` and each ``k`` in ``ks``: a network from seed ``s`` is trained for
    ``k`` steps (data order seed ``s``), copied with its optimizer state (:func:`branch`), and
    each copy trained for the remaining ``steps - k`` steps with its own data order (seeds
    ``1000 + 2 s`` and ``1001 + 2 s``); the errors along the segment between the two ends
    give the instability. The initialization and everything before ``k`` are shared; only
    the data order after ``k`` differs.

    Returns
    -------
    InstabilityResult
    """
    seeds = checks.integers("seeds", seeds, minimum=0)
    steps = checks.count("steps", steps)
    ks = checks.integers("ks", ks, minimum=0, distinct=True)
    checks.count("the largest of ks", max(ks), minimum=0, maximum=steps)
    X, y, X_test, y_test = mnist_subsets(n_train, n_test)
    keys = ("test_error", "train_error", "branch_test_error", "distance")
    start = time.perf_counter()
    fit = dict(batch_size=batch_size, lr=lr, decay_at=decay_at)
    with nets.threads(1):
        parents = [Run(nets.mlp(X.shape[1], hidden, 10, seed=s)) for s in seeds]
        kept = train_together(parents, X, y, steps=max(ks), seeds=seeds, checkpoints=ks, **fit)
        per_k = {key: [] for key in keys}
        for k in ks:
            children = [branch(run) for run in kept[k] for _ in range(2)]
            child_seeds = [1000 + 2 * s + c for s in seeds for c in range(2)]
            train_together(children, X, y, steps=steps - k, seeds=child_seeds, start=k, **fit)
            per_seed = {key: [] for key in keys}
            for i, parent in enumerate(kept[k]):
                first, second = children[2 * i], children[2 * i + 1]
                train, test = _segment(first, second, X, y, X_test, y_test)
                per_seed["train_error"].append(train)
                per_seed["test_error"].append(test)
                per_seed["distance"].append(_distance(first.model, second.model))
                per_seed["branch_test_error"].append(
                    landscape.evaluate(parent.model, X_test, y_test)[1]
                )
            for key in keys:
                per_k[key].append(per_seed[key])
    # (ks, seeds, ...) -> (seeds, ks, ...)
    arrays = {key: np.swapaxes(np.array(v, dtype=float), 0, 1) for key, v in per_k.items()}
    return InstabilityResult(
        seeds=seeds,
        ks=ks,
        steps=steps,
        alphas=np.linspace(0.0, 1.0, N_ALPHAS),
        test_instability=instability(arrays["test_error"]),
        train_instability=instability(arrays["train_error"]),
        run_time_s=time.perf_counter() - start,
        **arrays,
    )

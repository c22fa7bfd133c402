"""Experiments of the chapter *The neural tangent kernel, by intuition*.

A gradient step on one example ``x`` moves the output of a network at every other input
``x'`` by ``-lr * Theta(x', x) * dloss/df(x)`` to first order in the step, where ``Theta`` is
the neural tangent kernel of Jacot, Gabriel and Hongler (2018). Jacot et al. prove that in
the NTK parametrization ``Theta`` tends, as the hidden layers widen, to a fixed kernel that
does not move during training; Lee et al. (2019) bound its movement by ``O(width^{-1/2})``.
Chizat, Oyallon and Bach (2019) show that this *lazy* behaviour comes from the scale of the
model, not from width as such, and Woodworth et al. (2020) work out, for a diagonal linear
network, which interpolant gradient flow returns at every scale of the initialization. This
chapter runs

* :func:`one_step`: one gradient step of a ReLU network (:func:`generalization.ntk.mlp`) on
  one MNIST image, and the change it causes at hundreds of test images against
  ``-lr Theta(x', x) (f(x) - y)`` (:func:`generalization.ntk.empirical_ntk`);
* :func:`kernel_change`: networks of one hidden layer and growing width trained by full-batch
  gradient descent on MNIST images (:func:`generalization.ntk.gradient_descent`), in the NTK
  and in the standard parametrization, each with the step ``lr_fraction * 2 n / lambda_max``
  of its own tangent kernel at initialization; the relative change of the kernel on the
  training set, ``||Theta_T - Theta_0||_F / ||Theta_0||_F``, and of the weights;
* :func:`diagonal_path`: the diagonal network ``w = u * u - v * v`` from ``u = v = alpha``,
  trained by gradient descent (:func:`generalization.diagonal_nets.gradient_descent`) on a
  planted sparse regression problem for a sweep of ``alpha``, against the minimum-l2, the
  minimum-l1 and Woodworth et al.'s ``argmin Q_alpha`` interpolants
  (:mod:`generalization.diagonal_nets`).

Differences from the papers: the images are scaled to unit mean-square pixel and, for the
width sweep, averaged over 2x2 blocks (14x14 pixels) to keep it fast; the targets are the
parity of the digit (+1 even, -1 odd). Woodworth et al. analyse gradient flow; we run
gradient descent and measure what a finite step changes.

References
----------
Jacot, Gabriel, Hongler (2018), *Neural tangent kernel: convergence and generalization in
neural networks*, NeurIPS, https://arxiv.org/abs/1806.07572.
Lee, Xiao, Schoenholz, Bahri, Novak, Sohl-Dickstein, Pennington (2019), *Wide neural networks
of any depth evolve as linear models under gradient descent*, NeurIPS,
https://arxiv.org/abs/1902.06720.
Chizat, Oyallon, Bach (2019), *On lazy training in differentiable programming*, NeurIPS,
https://arxiv.org/abs/1812.07956.
Woodworth, Gunasekar, Lee, Moroshko, Savarese, Golan, Soudry, Srebro (2020), *Kernel and rich
regimes in overparametrized models*, COLT, https://arxiv.org/abs/2002.09277.
Huszár (2020), *Some intuition on the neural tangent kernel*, inFERENCe (blog).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch

from generalization import checks, diagonal_nets, nets, ntk, settings_for
from generalization.book.cache import cached
from generalization.data import load_mnist

SETTINGS = {
    "quick": dict(
        one_step=dict(seed=0, n_probes=500, hidden=(512, 512), lr_fractions=(1.0, 0.1, 0.01)),
        kernel_change=dict(
            seeds=(0, 1, 2),
            n_samples=64,
            widths=(64, 128, 256, 512, 1024, 2048, 4096),
            num_steps=200,
            lr_fraction=0.5,
        ),
        diagonal=dict(
            seeds=(0, 1, 2),
            n_samples=50,
            n_features=200,
            sparsity=5,
            alphas=tuple(float(a) for a in np.round(np.logspace(-2.5, 1, 15), 10)),
            curve_alphas=tuple(float(a) for a in np.round(np.logspace(-3, 1.5, 37), 10)),
            halving_alphas=(0.01, 0.1, 1.0),
            lr_fraction=0.25,
            max_steps=100_000,
            tol=1e-8,
        ),
    ),
    "full": dict(
        one_step=dict(seed=0, n_probes=2000, hidden=(1024, 1024), lr_fractions=(1.0, 0.1, 0.01)),
        kernel_change=dict(
            seeds=(0, 1, 2, 3, 4),
            n_samples=256,
            widths=(64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384),
            num_steps=400,
            lr_fraction=0.5,
        ),
        diagonal=dict(
            seeds=(0, 1, 2, 3, 4),
            n_samples=100,
            n_features=1000,
            sparsity=5,
            alphas=tuple(float(a) for a in np.round(np.logspace(-2.5, 1, 15), 10)),
            curve_alphas=tuple(float(a) for a in np.round(np.logspace(-3, 1.5, 37), 10)),
            halving_alphas=(0.01, 0.1, 1.0),
            lr_fraction=0.25,
            max_steps=400_000,
            tol=1e-8,
        ),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

``lr_fraction``: every learning rate is this fraction of the largest stable step
``2 n / lambda_max`` of a tangent kernel (at initialization for the MLPs; at the estimated
end point for the diagonal network, whose kernel at a small initialization is nearly zero).
Quick runs in well under a minute on 2 CPU cores; full widens everything."""

PARAMETRIZATIONS = ntk.PARAMETRIZATIONS
"""The parametrizations of :func:`kernel_change`: ``("ntk", "standard")``."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


# ----------------------------------------------------------------------------------- data


def unit_images(X, pool=1):
    """Images as float64 rows scaled to mean-square pixel one (``||x||^2 = d``), optionally
    averaged over ``pool x pool`` blocks first.

    Parameters
    ----------
    X : array_like, shape (m, 784)
        MNIST images, pixels in [0, 1].
    pool : {1, 2, 4, 7}, default 1

    Returns
    -------
    ndarray, shape (m, (28 // pool) ** 2)
    """
    X = checks.array("X", X, ndim=2)
    pool = checks.choice("pool", pool, (1, 2, 4, 7))
    if X.shape[1] != 784:
        raise ValueError(f"X must have 784 columns (28 x 28 images); got shape {X.shape}.")
    side = 28 // pool
    X = X.reshape(-1, side, pool, side, pool).mean(axis=(2, 4)).reshape(len(X), side * side)
    return X * np.sqrt(side * side) / np.linalg.norm(X, axis=1, keepdims=True)


def parity(labels):
    """The regression target of a digit: +1 for an even digit, -1 for an odd one."""
    labels = checks.array("labels", labels, ndim=1, dtype=None)
    return np.where(labels % 2 == 0, 1.0, -1.0)


# ------------------------------------------------------------------- one step, one example


@dataclass(frozen=True)
class OneStep:
    """What :func:`one_step` returns.

    The example: ``image`` (784,), ``label``, ``target`` (+-1), ``output`` f(x) before the
    step and ``theta_xx`` = Theta(x, x). The probes (test images): ``probe_labels`` (m,),
    ``theta`` = Theta(x', x) of the network (m,), ``theta_limit`` of its infinite-width limit
    (:func:`generalization.ntk.relu_ntk`). For each learning rate ``lrs[j]`` (``lr_fractions``
    times ``1 / theta_xx``): ``measured[j]`` and ``predicted[j]`` (m,), the change of the
    outputs at the probes and ``-lr theta (f(x) - y)``; ``rel_error[j]`` the relative norm of
    their difference; ``moved_x[j]`` the change at x itself. ``top`` holds the indices of the
    probes with the largest ``theta``, most first.
    """

    image: np.ndarray
    label: int
    target: float
    output: float
    theta_xx: float
    probe_labels: np.ndarray
    probe_images: np.ndarray
    theta: np.ndarray
    theta_limit: np.ndarray
    lr_fractions: tuple
    lrs: np.ndarray
    measured: np.ndarray
    predicted: np.ndarray
    rel_error: np.ndarray
    moved_x: np.ndarray
    top: np.ndarray
    run_time_s: float


@cached
def one_step(seed, n_probes, hidden, lr_fractions):
    """One gradient step of a ReLU network on one MNIST training image, seen at test images.

    The network is :func:`generalization.ntk.mlp` in the NTK parametrization with hidden
    widths ``hidden``, in float64, initialized from ``seed``; the example is a training image
    drawn by ``seed`` with target :func:`parity`; the probes are ``n_probes`` test images
    drawn by ``seed`` (all scaled by :func:`unit_images`). The loss is ``(f(x) - y)^2 / 2``,
    so one step with rate ``lr`` changes ``f(x')`` by ``-lr Theta(x', x) (f(x) - y)`` plus
    terms of order ``lr^2``. Cached.

    Returns
    -------
    OneStep
    """
    seed = checks.count("seed", seed, minimum=0)
    n_probes = checks.count("n_probes", n_probes, minimum=2)
    hidden = checks.integers("hidden", hidden, minimum=1)
    fractions = checks.numbers("lr_fractions", lr_fractions, low=0, low_open=True)
    start = time.perf_counter()
    mnist = load_mnist()
    rng = np.random.default_rng(seed)
    i = int(rng.integers(len(mnist.y_train)))
    probes = np.sort(rng.choice(len(mnist.y_test), size=n_probes, replace=False))
    x = unit_images(mnist.X_train[i : i + 1])
    P = unit_images(mnist.X_test[probes])
    label = int(mnist.y_train[i])
    y = parity(np.array([label]))
    with nets.threads(1):
        model = ntk.mlp((x.shape[1], *hidden, 1), "ntk", seed=seed, dtype="float64")
        theta = ntk.empirical_ntk(model, P, x)[:, 0]
        theta_xx = float(ntk.empirical_ntk(model, x)[0, 0])
        with torch.no_grad():
            output = float(model(torch.as_tensor(x))[0, 0])
        lrs = fractions / theta_xx
        measured, predicted, moved = [], [], []
        for lr in lrs:
            stepped = copy.deepcopy(model)
            train, test = ntk.gradient_descent(stepped, x, y, float(lr), (0, 1), X_test=P)
            measured.append(test[1] - test[0])
            predicted.append(-lr * theta * (output - y[0]))  # -lr Theta(x', x) loss'(f(x))
            moved.append(float(train[1, 0] - train[0, 0]))
    measured, predicted = np.array(measured), np.array(predicted)
    rel = np.linalg.norm(measured - predicted, axis=1) / np.linalg.norm(predicted, axis=1)
    return OneStep(
        image=mnist.X_train[i].astype(float),
        label=label,
        target=float(y[0]),
        output=output,
        theta_xx=theta_xx,
        probe_labels=mnist.y_test[probes].astype(int),
        probe_images=mnist.X_test[probes].astype(np.float32),
        theta=theta,
        theta_limit=ntk.relu_ntk(P, x, depth=len(hidden))[:, 0],
        lr_fractions=tuple(fractions.tolist()),
        lrs=lrs,
        measured=measured,
        predicted=predicted,
        rel_error=rel,
        moved_x=np.array(moved),
        top=np.argsort(-theta),
        run_time_s=time.perf_counter() - start,
    )


# ------------------------------------------------------------ how the kernel moves, by width


@dataclass(frozen=True)
class KernelChange:
    """What :func:`kernel_change` returns.

    Arrays of shape (len(parametrizations), len(seeds), len(widths)): ``kernel_change``
    (``||Theta_T - Theta_0||_F / ||Theta_0||_F`` on the training set), ``weight_change``
    (``||theta_T - theta_0|| / ||theta_0||`` over all parameters), ``first_layer_change`` (the
    same for the first layer's weights alone), ``lr`` (the step used),
    ``lambda_max`` (of ``Theta_0``), ``loss_start`` and ``loss_end`` (the training loss
    ``1/(2n) sum (f - y)^2``).
    """

    parametrizations: tuple
    seeds: tuple
    widths: tuple
    n_samples: int
    num_steps: int
    kernel_change: np.ndarray
    weight_change: np.ndarray
    first_layer_change: np.ndarray
    lr: np.ndarray
    lambda_max: np.ndarray
    loss_start: np.ndarray
    loss_end: np.ndarray
    run_time_s: float


def _flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double()


def train_and_measure(X, y, width, parametrization, seed, num_steps, lr_fraction):
    """Train one network and measure how much its tangent kernel and its weights moved.

    The network is ``mlp((d, width, 1), parametrization, seed=seed)`` (float32). Its step is
    ``lr = lr_fraction * 2 n / lambda_max(Theta_0)``: the same fraction of the largest step
    that keeps gradient descent on the linearized model stable, whatever the
    parametrization.

    Returns
    -------
    dict
        ``kernel_change``, ``weight_change``, ``first_layer_change``, ``lr``, ``lambda_max``,
        ``loss_start``, ``loss_end``.
    """
    n = len(y)
    model = ntk.mlp((X.shape[1], width, 1), parametrization, seed=seed)
    theta0 = _flat(model)
    first0 = model[0].weight.detach().double().clone()
    K0 = ntk.empirical_ntk(model, X)
    lam = float(np.linalg.eigvalsh(K0.astype(np.float64))[-1])
    lr = lr_fraction * 2.0 * n / lam
    outputs, _ = ntk.gradient_descent(model, X, y, lr, (0, num_steps))
    KT = ntk.empirical_ntk(model, X)
    return dict(
        kernel_change=float(np.linalg.norm(KT - K0) / np.linalg.norm(K0)),
        weight_change=float((_flat(model) - theta0).norm() / theta0.norm()),
        first_layer_change=float(
            (model[0].weight.detach().double() - first0).norm() / first0.norm()
        ),
        lr=lr,
        lambda_max=lam,
        loss_start=float(np.mean((outputs[0] - y) ** 2) / 2),
        loss_end=float(np.mean((outputs[-1] - y) ** 2) / 2),
    )


@cached
def kernel_change(seeds, n_samples, widths, num_steps, lr_fraction):
    """How far the tangent kernel moves during training, against width, in both
    parametrizations. Cached.

    For each seed: ``n_samples`` MNIST training images drawn by the seed, pooled to 14x14
    (:func:`unit_images`), with :func:`parity` targets; for each parametrization and width,
    one network initialized from the seed and trained by :func:`train_and_measure`.

    Returns
    -------
    KernelChange
    """
    seeds = checks.integers("seeds", seeds)
    widths = checks.integers("widths", widths, minimum=1, distinct=True)
    n_samples = checks.count("n_samples", n_samples, minimum=2)
    num_steps = checks.count("num_steps", num_steps)
    lr_fraction = checks.number("lr_fraction", lr_fraction, low=0, high=1, low_open=True)
    start = time.perf_counter()
    mnist = load_mnist()
    shape = (len(PARAMETRIZATIONS), len(seeds), len(widths))
    names = ("kernel_change", "weight_change", "first_layer_change", "lr", "lambda_max")
    out = {k: np.zeros(shape) for k in names}
    out.update(loss_start=np.zeros(shape), loss_end=np.zeros(shape))
    with nets.threads(1):  # small matrices: one thread avoids contention on shared cores
        for s, seed in enumerate(seeds):
            rows = np.random.default_rng(seed).choice(len(mnist.y_train), n_samples, False)
            X = unit_images(mnist.X_train[rows], pool=2)
            y = parity(mnist.y_train[rows])
            for p, name in enumerate(PARAMETRIZATIONS):
                for w, width in enumerate(widths):
                    got = train_and_measure(X, y, width, name, seed, num_steps, lr_fraction)
                    for key, value in got.items():
                        out[key][p, s, w] = value
    return KernelChange(
        parametrizations=PARAMETRIZATIONS,
        seeds=seeds,
        widths=widths,
        n_samples=n_samples,
        num_steps=num_steps,
        run_time_s=time.perf_counter() - start,
        **out,
    )


# ------------------------------------------------- the diagonal network: kernel to rich


@dataclass(frozen=True)
class DiagonalPath:
    """What :func:`diagonal_path` returns.

    Per seed and initialization scale, shape (len(seeds), len(alphas)): ``dist_l2``,
    ``dist_l1``, ``dist_q`` (``||w - w_ref|| / ||w_ref||`` from the gradient descent
    solution ``w`` to the minimum-l2, the minimum-l1 and the ``argmin Q_alpha``
    interpolant), ``test_error`` (``||w - w_star||^2``, the excess squared error on a new
    Gaussian input), ``kernel_change`` (``||K_T - K_0||_F / ||K_0||_F`` of the tangent
    kernel on the training inputs), ``lr``, ``steps``, ``residual`` (relative, at the end).
    The same three distances and the test error of ``argmin Q_alpha`` on the finer grid
    ``curve_alphas``: ``curve_dist_l2``, ``curve_dist_l1``, ``curve_test_error``. Per seed:
    ``l2_test_error``, ``l1_test_error`` and ``l1_l2_distance`` (``||w_l1 - w_l2|| /
    ||w_l2||``). At ``halving_alphas``: ``gap`` and ``gap_half``, ``dist_q`` at the step of
    the main run and at half of it, and ``gap_extrapolated``, that of ``2 w(lr / 2) - w(lr)``
    (Richardson's extrapolation to a vanishing step), shape (len(seeds), len(halving_alphas)).
    """

    seeds: tuple
    n_samples: int
    n_features: int
    sparsity: int
    alphas: np.ndarray
    dist_l2: np.ndarray
    dist_l1: np.ndarray
    dist_q: np.ndarray
    test_error: np.ndarray
    kernel_change: np.ndarray
    lr: np.ndarray
    steps: np.ndarray
    residual: np.ndarray
    curve_alphas: np.ndarray
    curve_dist_l2: np.ndarray
    curve_dist_l1: np.ndarray
    curve_test_error: np.ndarray
    l2_test_error: np.ndarray
    l1_test_error: np.ndarray
    l1_l2_distance: np.ndarray
    halving_alphas: np.ndarray
    gap: np.ndarray
    gap_half: np.ndarray
    gap_extrapolated: np.ndarray
    run_time_s: float


def _relative(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def stable_steps(X, w_hat, alphas, lr_fraction):
    """``lr_fraction * 2 n / lambda_max`` of the tangent kernel at the balanced point of
    ``w_hat``, for each ``alpha``.

    At a small initialization the kernel starts near zero and grows with the weights, so the
    step is set by the kernel where training is expected to end: at weights of the size of
    ``w_hat`` (with ``u v = alpha^2``, :func:`generalization.diagonal_nets.balanced_weights`).
    """
    n = X.shape[0]
    out = []
    for alpha in alphas:
        u, v = diagonal_nets.balanced_weights(w_hat, alpha)
        lam = np.linalg.eigvalsh(diagonal_nets.tangent_kernel(X, u, v))[-1]
        out.append(lr_fraction * 2.0 * n / lam)
    return np.array(out)


def _q_solutions(X, y, alphas):
    """``{alpha: argmin Q_alpha}`` for every alpha, from the largest down (warm starts)."""
    solutions, nu = {}, None
    for alpha in sorted(set(alphas), reverse=True):
        solutions[alpha], nu = diagonal_nets.min_q_interpolant(X, y, alpha, nu0=nu)
    return solutions


@cached
def diagonal_path(
    seeds,
    n_samples,
    n_features,
    sparsity,
    alphas,
    curve_alphas,
    halving_alphas,
    lr_fraction,
    max_steps,
    tol,
):
    """Gradient descent on a diagonal linear network for a sweep of initialization scales.
    Cached.

    For each seed, the planted problem :func:`generalization.diagonal_nets.sparse_regression`;
    the minimum-l2, minimum-l1 and ``argmin Q_alpha`` interpolants
    (:mod:`generalization.diagonal_nets`); gradient descent from ``u = v = alpha`` for every
    ``alpha`` in ``alphas`` with the steps of :func:`stable_steps` (``w_hat`` the entrywise
    larger of ``|w_l1|`` and ``|w_l2|``), until the relative residual falls below ``tol`` or
    ``max_steps``; and, for ``halving_alphas``, again with half the step (twice the steps).

    Returns
    -------
    DiagonalPath
    """
    seeds = checks.integers("seeds", seeds)
    alphas = checks.numbers("alphas", alphas, low=0, low_open=True)
    curve = checks.numbers("curve_alphas", curve_alphas, low=0, low_open=True)
    halving = checks.numbers("halving_alphas", halving_alphas, low=0, low_open=True)
    if not set(halving.tolist()) <= set(alphas.tolist()):
        raise ValueError(
            f"halving_alphas must be among alphas; got {tuple(halving.tolist())} and "
            f"{tuple(alphas.tolist())}."
        )
    lr_fraction = checks.number("lr_fraction", lr_fraction, low=0, high=1, low_open=True)
    start = time.perf_counter()
    shape = (len(seeds), len(alphas))
    keys = ("dist_l2", "dist_l1", "dist_q", "test_error", "kernel_change", "lr", "steps")
    out = {k: np.zeros(shape) for k in (*keys, "residual")}
    curves = {k: np.zeros((len(seeds), len(curve))) for k in ("l2", "l1", "test")}
    per_seed = {k: np.zeros(len(seeds)) for k in ("l2", "l1", "l1_l2")}
    gaps = np.zeros((3, len(seeds), len(halving)))
    for s, seed in enumerate(seeds):
        X, y, w_star = diagonal_nets.sparse_regression(n_samples, n_features, sparsity, seed)
        w_l2 = diagonal_nets.min_l2_interpolant(X, y)
        w_l1 = diagonal_nets.min_l1_interpolant(X, y)
        w_q = _q_solutions(X, y, [*alphas.tolist(), *curve.tolist()])
        lrs = stable_steps(X, np.maximum(np.abs(w_l1), np.abs(w_l2)), alphas, lr_fraction)
        run = diagonal_nets.gradient_descent(X, y, alphas, lrs, max_steps, tol)
        for a, alpha in enumerate(alphas):
            w = run.w[a]
            K0 = 8.0 * alpha**2 * X @ X.T  # tangent kernel at u = v = alpha
            KT = diagonal_nets.tangent_kernel(X, run.u[a], run.v[a])
            out["dist_l2"][s, a] = _relative(w, w_l2)
            out["dist_l1"][s, a] = _relative(w, w_l1)
            out["dist_q"][s, a] = _relative(w, w_q[alpha])
            out["test_error"][s, a] = float(np.sum((w - w_star) ** 2))
            out["kernel_change"][s, a] = float(np.linalg.norm(KT - K0) / np.linalg.norm(K0))
        out["lr"][s], out["steps"][s], out["residual"][s] = lrs, run.steps, run.residual
        for c, alpha in enumerate(curve):
            curves["l2"][s, c] = _relative(w_q[alpha], w_l2)
            curves["l1"][s, c] = _relative(w_q[alpha], w_l1)
            curves["test"][s, c] = float(np.sum((w_q[alpha] - w_star) ** 2))
        per_seed["l2"][s] = float(np.sum((w_l2 - w_star) ** 2))
        per_seed["l1"][s] = float(np.sum((w_l1 - w_star) ** 2))
        per_seed["l1_l2"][s] = _relative(w_l1, w_l2)
        index = [int(np.flatnonzero(alphas == h)[0]) for h in halving]
        half = diagonal_nets.gradient_descent(X, y, halving, lrs[index] / 2, 2 * max_steps, tol)
        for h, alpha in enumerate(halving):
            gaps[0, s, h] = out["dist_q"][s, index[h]]
            gaps[1, s, h] = _relative(half.w[h], w_q[alpha])
            # Richardson: the first-order error in the step cancels in 2 w(lr / 2) - w(lr)
            gaps[2, s, h] = _relative(2.0 * half.w[h] - run.w[index[h]], w_q[alpha])
    return DiagonalPath(
        seeds=seeds,
        n_samples=n_samples,
        n_features=n_features,
        sparsity=sparsity,
        alphas=alphas,
        curve_alphas=curve,
        curve_dist_l2=curves["l2"],
        curve_dist_l1=curves["l1"],
        curve_test_error=curves["test"],
        l2_test_error=per_seed["l2"],
        l1_test_error=per_seed["l1"],
        l1_l2_distance=per_seed["l1_l2"],
        halving_alphas=halving,
        gap=gaps[0],
        gap_half=gaps[1],
        gap_extrapolated=gaps[2],
        run_time_s=time.perf_counter() - start,
        **out,
    )


def run_one_step(S):
    """:func:`one_step` at the settings ``S`` (the chapter's and its tests' call)."""
    return one_step(**S["one_step"])


def run_kernel_change(S):
    """:func:`kernel_change` at the settings ``S`` (the chapter's and its tests' call)."""
    return kernel_change(**S["kernel_change"])


def run_diagonal(S):
    """:func:`diagonal_path` at the settings ``S`` (the chapter's and its tests' call)."""
    return diagonal_path(**S["diagonal"])

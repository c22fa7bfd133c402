"""Experiments of the chapter *The implicit bias of wide networks in one dimension*.

Jin and Montufar (2023) study a wide two-layer ReLU network on one-dimensional inputs,
``f(x) = sum_k V_k relu(W_k x + B_k) + c``, in the standard parametrization (the output
weights of order ``1 / sqrt(m)``, the first layer of order one), trained by gradient descent
on the squared loss from an *anti-symmetric* initialization (every hidden unit has a twin
with the same first layer and the opposite output weight, so that ``f = 0`` at the start).
They show that the trained function is, up to ``O(m^{-1/2})``, the interpolant of the data
that minimizes the curvature penalty ``int f''(x)^2 / zeta(x) dx`` (plus terms on the
linear part of ``f``), where ``zeta`` is the density of the breakpoints ``C = -B / W`` of
the initialization weighted by ``E[W^2 | C = x]``::

    zeta(x) = p_C(x) E[W^2 | C = x] = int |w|^3 p_{W,B}(w, -w x) dw.

Uniform first-layer weights and biases make ``zeta`` constant on the data's range, and the
interpolant is then the natural cubic spline. This module runs:

* :func:`width_experiment`: uniform initialization, widths growing, the trained network
  against the natural cubic spline (``scipy.interpolate.CubicSpline``), the infinite-width
  kernel interpolant and gradient descent on the network's own linearization;
* :func:`density_experiment`: Gaussian weights and narrow Gaussian biases, whose breakpoints
  concentrate at the origin; the trained network against the solution of the weighted
  variational problem (:func:`weighted_spline`, on a fine grid) and the natural spline.

Differences from the paper: we train for a fixed number of steps and measure how far the
kernel's own gradient descent is from its limit; we drop the network's output bias and
first-layer contributions from the infinite-width kernel (they are ``O(1/m)`` of it in this
parametrization), and our variational solution leaves the linear part free (the paper's
adjustment terms are not included); the chapter measures what each omission costs.

References
----------
Jin, Montufar (2023), *Implicit bias of gradient descent for mean squared error regression
with two-layer wide neural networks*, JMLR 24(137), https://arxiv.org/abs/2006.07356.
Jacot, Gabriel, Hongler (2018), *Neural tangent kernel*, NeurIPS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from scipy import linalg
from scipy.interpolate import CubicSpline

from generalization import checks, nets, ntk, settings_for
from generalization.book.cache import cached

INITS = ("uniform", "gaussian")
"""First-layer initializations: ``W ~ U(-1, 1), B ~ U(-scale, scale)`` or
``W ~ N(0, 1), B ~ N(0, scale^2)``."""

SETTINGS = {
    "quick": dict(
        width=dict(
            seeds=(0, 1),
            n_samples=8,
            frequency=3.1416,
            widths=(500, 2000, 8000),
            scale=1.0,
            lr_fraction=1.8,
            num_steps=15_000,
            grid_per_gap=40,
        ),
        density=dict(
            seeds=(0, 1),
            n_samples=8,
            frequency=5.236,
            width=6000,
            scale=0.3,
            lr_fraction=1.8,
            num_steps=20_000,
            grid_per_gap=40,
        ),
    ),
    "full": dict(
        width=dict(
            seeds=(0, 1, 2, 3, 4),
            n_samples=8,
            frequency=3.1416,
            widths=(500, 2000, 8000, 32000),
            scale=1.0,
            lr_fraction=1.8,
            num_steps=100_000,
            grid_per_gap=40,
        ),
        density=dict(
            seeds=(0, 1, 2, 3, 4),
            n_samples=8,
            frequency=5.236,
            width=32000,
            scale=0.3,
            lr_fraction=1.8,
            num_steps=100_000,
            grid_per_gap=40,
        ),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

``frequency``: the target is ``sin(frequency x)`` at ``n_samples`` equispaced points of
``[-0.9, 0.9]``; ``scale``: the bias range (uniform) or standard deviation (Gaussian);
``lr_fraction``: the step times the largest eigenvalue of the infinite-width kernel over
``n`` (below 2 the kernel's gradient descent converges); ``grid_per_gap``: evaluation points
per gap between data points. Quick runs in well under a minute on 2 CPU cores."""

EDGE = 0.9
"""The data lie on ``[-EDGE, EDGE]``."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


# ----------------------------------------------------------------------- data and theory


def data(n_samples, frequency, grid_per_gap):
    """Equispaced inputs on ``[-0.9, 0.9]``, targets ``sin(frequency x)``, and a grid.

    Returns ``(x, y, grid)`` of shapes (n,), (n,), ((n - 1) grid_per_gap + 1,); every
    input is a grid point (``grid[i * grid_per_gap] == x[i]``).
    """
    n_samples = checks.count("n_samples", n_samples, minimum=3)
    frequency = checks.number("frequency", frequency)
    grid_per_gap = checks.count("grid_per_gap", grid_per_gap)
    grid = np.linspace(-EDGE, EDGE, (n_samples - 1) * grid_per_gap + 1)
    x = grid[::grid_per_gap].copy()
    return x, np.sin(frequency * x), grid


def curvature_weight(c, init, scale):
    """``zeta(c) = int |w|^3 p_{W,B}(w, -w c) dw``, the breakpoint density times
    ``E[W^2 | C = c]`` (Jin and Montufar 2023), in closed form.

    ``"uniform"`` (``W ~ U(-1, 1)``, ``B ~ U(-s, s)``): ``min(1, s / |c|)^4 / (8 s)``, constant
    on ``[-s, s]``. ``"gaussian"`` (``W ~ N(0, 1)``, ``B ~ N(0, s^2)``):
    ``2 s^3 / (pi (s^2 + c^2)^2)``. Shape of ``c``.
    """
    c = checks.array("c", c)
    init = checks.choice("init", init, INITS)
    s = checks.positive("scale", scale)
    if init == "uniform":
        reach = np.minimum(1.0, s / np.maximum(np.abs(c), 1e-300))
        return reach**4 / (8.0 * s)
    return 2.0 * s**3 / (np.pi * (s * s + c * c) ** 2)


def feature_kernel(x1, x2, init, scale):
    """``k(x, x') = E[relu(W x + B) relu(W x' + B)]``, the infinite-width kernel of the output
    layer (the part of the network's tangent kernel that dominates in this parametrization,
    divided by the width). Shape (len(x1), len(x2)).

    Gaussian: the arc-cosine kernel, :func:`generalization.ntk.relu_nngp` of depth one minus its
    output bias. Uniform: the integral over ``B`` in closed form (a cubic in ``b``) and over
    ``W`` by Gauss-Legendre on ``[-1, 0]`` and ``[0, 1]``, exact because the integrand is a
    polynomial in ``w`` on each half when ``|x| <= s``.
    """
    x1 = checks.array("x1", x1, ndim=1)
    x2 = checks.array("x2", x2, ndim=1)
    init = checks.choice("init", init, INITS)
    s = checks.positive("scale", scale)
    if init == "gaussian":
        return ntk.relu_nngp(x1[:, None], x2[:, None], 1, 1.0, s * s) - s * s
    if max(np.abs(x1).max(), np.abs(x2).max()) > s:
        raise ValueError(f"x1, x2 must lie in [-scale, scale]; got a point beyond {s:g}.")
    nodes, weights = np.polynomial.legendre.leggauss(4)
    total = np.zeros((len(x1), len(x2)))
    for low in (-1.0, 0.0):
        w = (nodes + 1.0) / 2.0 + low  # nodes on [low, low + 1]
        u = w[:, None, None] * x1[None, :, None]
        v = w[:, None, None] * x2[None, None, :]
        start = np.maximum(-u, -v)  # both units active for b above this
        cubic = lambda b: b**3 / 3 + (u + v) * b**2 / 2 + u * v * b  # noqa: E731
        inner = (cubic(s) - cubic(start)) / (2.0 * s)  # E_B over U(-s, s)
        total += np.einsum("k,kij->ij", weights / 4.0, inner)  # dw / 2 on [-1, 1], half-width
    return total


def weighted_spline(x, y, grid, weight):
    """The interpolant of ``(x, y)`` on ``grid`` minimizing ``sum (D2 g)^2 / weight * h``.

    A finite-difference version of ``min int g''(t)^2 / zeta(t) dt`` subject to
    ``g(x_i) = y_i``, with the linear part of ``g`` free: ``D2`` the second difference on the
    equispaced ``grid`` (spacing ``h``), ``weight`` the values of ``zeta`` at the grid's inner
    points. Solved from its KKT system (one dense solve). With ``weight = 1`` it tends to the
    natural cubic spline as ``h -> 0``.

    Parameters
    ----------
    x, y : array_like, shape (n,)
        Inputs (grid points) and targets.
    grid : array_like, shape (N,)
        Equispaced, increasing.
    weight : array_like, shape (N - 2,), positive

    Returns
    -------
    ndarray, shape (N,)
    """
    grid = checks.array("grid", grid, ndim=1)
    weight = checks.array("weight", weight, ndim=1, positive=True)
    x, y = checks.array("x", x, ndim=1), checks.array("y", y, ndim=1)
    N = len(grid)
    h = grid[1] - grid[0]
    if not np.allclose(np.diff(grid), h) or h <= 0:
        raise ValueError("grid must be equispaced and increasing; got uneven spacing.")
    if weight.shape != (N - 2,):
        raise ValueError(f"weight must have shape ({N - 2},); got {weight.shape}.")
    index = np.rint((x - grid[0]) / h).astype(int)
    if np.any(np.abs(grid[np.clip(index, 0, N - 1)] - x) > 1e-9 * max(1.0, abs(h))):
        raise ValueError("x must be points of grid; got a point between grid points.")
    D = np.zeros((N - 2, N))
    rows = np.arange(N - 2)
    D[rows, rows], D[rows, rows + 1], D[rows, rows + 2] = 1.0, -2.0, 1.0
    D /= h * h
    A = D.T @ (D * (h / weight)[:, None])  # sum_i (D g)_i^2 h / zeta_i = g^T A g
    A /= np.max(np.abs(A))  # a rescaled objective has the same minimizer; the KKT system is
    # then balanced against the interpolation rows
    E = np.zeros((len(x), N))
    E[np.arange(len(x)), index] = 1.0
    kkt = np.block([[2 * A, E.T], [E, np.zeros((len(x), len(x)))]])
    return linalg.solve(kkt, np.concatenate([np.zeros(N), y]))[:N]


def natural_spline(x, y, grid):
    """The natural cubic spline through ``(x, y)`` on ``grid`` (``scipy.interpolate``)."""
    return CubicSpline(x, y, bc_type="natural")(grid)


# -------------------------------------------------------------------- the network and GD


def draw_network(seed, width, init, scale):
    """An anti-symmetric initialization of ``f(x) = sum_k V_k relu(W_k x + B_k) + c``.

    ``width / 2`` units drawn from ``init`` (first layer) and ``V ~ N(0, 1 / width)``, then
    their twins with the same ``W, B`` and output weights ``-V``: ``f = 0`` at the start
    (the paper's "ASI"). Returns ``(W, B, V)``, each of shape (width,); ``c = 0``.
    """
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    width = checks.count("width", width, minimum=2)
    if width % 2:
        raise ValueError(f"width must be an even integer; got {width}.")
    init = checks.choice("init", init, INITS)
    s = checks.positive("scale", scale)
    half = width // 2
    if init == "uniform":
        W, B = rng.uniform(-1.0, 1.0, half), rng.uniform(-s, s, half)
    else:
        W, B = rng.standard_normal(half), s * rng.standard_normal(half)
    V = rng.standard_normal(half) / np.sqrt(width)
    return np.r_[W, W], np.r_[B, B], np.r_[V, -V]


def as_mlp(W, B, V, c=0.0):
    """The network as :func:`generalization.ntk.mlp` of widths ``(1, m, 1)`` (standard
    parametrization, float64) holding these parameters; for its tangent kernel."""
    model = ntk.mlp((1, len(W), 1), "standard", weight_var=1.0, bias_var=1.0, dtype="float64")
    with torch.no_grad():
        model[0].weight.copy_(torch.as_tensor(W)[:, None])
        model[0].bias.copy_(torch.as_tensor(B))
        model[2].weight.copy_(torch.as_tensor(V)[None, :])
        model[2].bias.fill_(float(c))
    return model


def train(x, y, W, B, V, lr, num_steps, grid):
    """Full-batch gradient descent on ``L = 1/(2n) sum_i (f(x_i) - y_i)^2`` over every
    parameter (``W, B, V`` and the output bias ``c``, from 0), for several networks at once.

    The gradients are written out (``r_i = (f(x_i) - y_i) / n``)::

        dL/dV_k = sum_i r_i relu(h_ik)          dL/dc   = sum_i r_i
        dL/dW_k = sum_i r_i V_k 1[h_ik > 0] x_i  dL/dB_k = sum_i r_i V_k 1[h_ik > 0]

    in float64 torch, for speed with one small batch (the same steps as
    :func:`generalization.ntk.gradient_descent` on :func:`as_mlp`).

    Parameters
    ----------
    x, y : array_like, shape (n,)
    W, B, V : array_like, shape (S, m)
        ``S`` networks of width ``m``, trained independently.
    lr : float, positive
    num_steps : int
    grid : array_like, shape (G,)

    Returns
    -------
    on_grid : ndarray, shape (S, G)
        The trained functions on ``grid``.
    on_data : ndarray, shape (S, n)
    """
    x, y = checks.array("x", x, ndim=1), checks.array("y", y, ndim=1)
    lr = checks.positive("lr", lr)
    num_steps = checks.count("num_steps", num_steps, minimum=0)
    X, Y = torch.as_tensor(x), torch.as_tensor(y)
    W, B, V = (
        torch.as_tensor(checks.array(k, a, ndim=2)).clone() for k, a in zip("WBV", (W, B, V))
    )
    c = torch.zeros(W.shape[0], dtype=torch.float64)
    with nets.threads(1):  # tiny arrays: threads only add synchronization
        return _descend(X, Y, W, B, V, c, lr, num_steps, checks.array("grid", grid, ndim=1), x)


def _descend(X, Y, W, B, V, c, lr, num_steps, grid, x):
    """The loop of :func:`train`, in place on the tensors ``W, B, V, c``."""
    n = len(X)
    with torch.no_grad():
        for _ in range(num_steps):
            h = X[None, :, None] * W[:, None, :] + B[:, None, :]  # (S, n, m)
            active = h > 0
            r = (torch.einsum("snm,sm->sn", h * active, V) + c[:, None] - Y) / n
            d = r[:, :, None] * active * V[:, None, :]  # dL/dh_ik
            V -= lr * torch.einsum("sn,snm->sm", r, h * active)
            c -= lr * r.sum(1)
            W -= lr * torch.einsum("snm,n->sm", d, X)
            B -= lr * d.sum(1)

        def out(points):
            P = torch.as_tensor(points)
            pre = P[None, :, None] * W[:, None, :] + B[:, None, :]
            return (torch.einsum("sgm,sm->sg", pre.clamp(min=0), V) + c[:, None]).numpy()

        return out(grid), out(x)


def kernel_gd(K_train, K_grid, y, lr, num_steps):
    """Gradient descent's prediction on the grid after ``num_steps`` steps for a kernel
    (the linearized network, from ``f = 0``), by :func:`generalization.ntk.gd_predictions`,
    and the interpolant it tends to, ``K_grid K_train^{-1} y``. Each of shape (G,)."""
    n = len(y)
    _, test = ntk.gd_predictions(
        K_train, K_grid, np.zeros(n), np.zeros(len(K_grid)), y, lr, [num_steps]
    )
    return test[0], K_grid @ linalg.solve(K_train, y, assume_a="pos")


def sup_distance(f, g):
    """``max |f - g|`` over the last axis (the grid)."""
    return np.max(np.abs(np.asarray(f) - np.asarray(g)), axis=-1)


# ---------------------------------------------------------------------------- experiments


@dataclass(frozen=True)
class WidthResult:
    """What :func:`width_experiment` returns.

    ``grid`` (G,), ``x``, ``y`` (n,); ``spline``, ``kernel_limit`` (the infinite-width kernel
    interpolant), ``kernel_at_t`` (that kernel's gradient descent after ``num_steps``), each
    (G,); ``network`` (len(widths), S, G) the trained networks and ``train_residual``
    (len(widths), S) their largest training error; distances (sup over the grid), shape
    (len(widths), S): ``to_spline``, ``to_kernel`` (to ``kernel_at_t``), ``to_linearized``
    (to gradient descent on the network's own empirical tangent kernel, same steps).
    """

    seeds: tuple
    widths: tuple
    grid: np.ndarray
    x: np.ndarray
    y: np.ndarray
    spline: np.ndarray
    kernel_limit: np.ndarray
    kernel_at_t: np.ndarray
    network: np.ndarray
    train_residual: np.ndarray
    to_spline: np.ndarray
    to_kernel: np.ndarray
    to_linearized: np.ndarray
    lr_times_width: float
    run_time_s: float


def _lr(K, n, lr_fraction, width):
    """``lr_fraction * n / (width * lambda_max(K))``: the network's tangent kernel on the
    data is about ``width * K``."""
    return lr_fraction * n / (width * float(np.linalg.eigvalsh(K)[-1]))


def _linearized(W, B, V, x, grid, y, lr, num_steps):
    """Gradient descent on the linearization of one network (its empirical tangent kernel
    at initialization, every parameter), on the grid after ``num_steps``."""
    model = as_mlp(W, B, V)
    points = np.r_[x, grid][:, None]
    theta = ntk.empirical_ntk(model, points, x[:, None])  # (n + G, n)
    return kernel_gd(theta[: len(x)], theta[len(x) :], y, lr, num_steps)[0]


@cached
def width_experiment(
    seeds, n_samples, frequency, widths, scale, lr_fraction, num_steps, grid_per_gap
):
    """Uniform initialization at several widths: the network against the spline and kernels.

    Returns
    -------
    WidthResult
    """
    seeds = checks.integers("seeds", seeds)
    widths = checks.integers("widths", widths, minimum=2)
    start = time.perf_counter()
    x, y, grid = data(n_samples, frequency, grid_per_gap)
    K = feature_kernel(x, x, "uniform", scale)
    K_grid = feature_kernel(grid, x, "uniform", scale)
    lr_m = _lr(K, len(x), lr_fraction, 1)  # lr * width, the same for every width
    kernel_at_t, kernel_limit = kernel_gd(K, K_grid, y, lr_m, num_steps)
    spline = natural_spline(x, y, grid)
    nets.seed_everything(0)
    shape = (len(widths), len(seeds))
    network = np.zeros(shape + (len(grid),))
    residual, linearized = np.zeros(shape), np.zeros(shape + (len(grid),))
    for i, width in enumerate(widths):
        drawn = [draw_network(seed, width, "uniform", scale) for seed in seeds]
        W, B, V = (np.array([d[j] for d in drawn]) for j in range(3))
        network[i], on_data = train(x, y, W, B, V, lr_m / width, num_steps, grid)
        residual[i] = np.max(np.abs(on_data - y), axis=1)
        for s in range(len(seeds)):
            linearized[i, s] = _linearized(W[s], B[s], V[s], x, grid, y, lr_m / width, num_steps)
    return WidthResult(
        seeds=seeds,
        widths=widths,
        grid=grid,
        x=x,
        y=y,
        spline=spline,
        kernel_limit=kernel_limit,
        kernel_at_t=kernel_at_t,
        network=network,
        train_residual=residual,
        to_spline=sup_distance(network, spline),
        to_kernel=sup_distance(network, kernel_at_t),
        to_linearized=sup_distance(network, linearized),
        lr_times_width=lr_m,
        run_time_s=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class DensityResult:
    """What :func:`density_experiment` returns.

    ``grid`` (G,), ``x``, ``y`` (n,); ``zeta`` (G,) the curvature weight of the Gaussian
    initialization and ``zeta_uniform`` (G,) that of a uniform one on ``[-1, 1]``;
    ``weighted`` (the weighted variational solution), ``spline``, ``kernel_limit``,
    ``kernel_at_t``, each (G,); ``network`` (S, G); ``train_residual`` (S,); distances
    (S,): ``to_weighted``, ``to_spline``, ``to_kernel``.
    """

    seeds: tuple
    width: int
    grid: np.ndarray
    x: np.ndarray
    y: np.ndarray
    zeta: np.ndarray
    zeta_uniform: np.ndarray
    weighted: np.ndarray
    spline: np.ndarray
    kernel_limit: np.ndarray
    kernel_at_t: np.ndarray
    network: np.ndarray
    train_residual: np.ndarray
    to_weighted: np.ndarray
    to_spline: np.ndarray
    to_kernel: np.ndarray
    run_time_s: float


@cached
def density_experiment(
    seeds, n_samples, frequency, width, scale, lr_fraction, num_steps, grid_per_gap
):
    """Breakpoints concentrated at 0 (Gaussian ``W``, narrow Gaussian ``B``): the network
    against the weighted variational solution and the natural spline.

    Returns
    -------
    DensityResult
    """
    seeds = checks.integers("seeds", seeds)
    start = time.perf_counter()
    x, y, grid = data(n_samples, frequency, grid_per_gap)
    zeta = curvature_weight(grid, "gaussian", scale)
    K = feature_kernel(x, x, "gaussian", scale)
    K_grid = feature_kernel(grid, x, "gaussian", scale)
    lr = _lr(K, len(x), lr_fraction, width)
    kernel_at_t, kernel_limit = kernel_gd(K, K_grid, y, lr * width, num_steps)
    drawn = [draw_network(seed, width, "gaussian", scale) for seed in seeds]
    W, B, V = (np.array([d[j] for d in drawn]) for j in range(3))
    network, on_data = train(x, y, W, B, V, lr, num_steps, grid)
    weighted = weighted_spline(x, y, grid, zeta[1:-1])
    spline = natural_spline(x, y, grid)
    return DensityResult(
        seeds=seeds,
        width=width,
        grid=grid,
        x=x,
        y=y,
        zeta=zeta,
        zeta_uniform=curvature_weight(grid, "uniform", 1.0),
        weighted=weighted,
        spline=spline,
        kernel_limit=kernel_limit,
        kernel_at_t=kernel_at_t,
        network=network,
        train_residual=np.max(np.abs(on_data - y), axis=1),
        to_weighted=sup_distance(network, weighted),
        to_spline=sup_distance(network, spline),
        to_kernel=sup_distance(network, kernel_at_t),
        run_time_s=time.perf_counter() - start,
    )

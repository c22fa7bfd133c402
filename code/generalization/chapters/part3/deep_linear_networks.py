"""Experiments of the chapter *Deep linear networks*.

A deep linear network ``f(x) = W_N ... W_1 x`` can express exactly the linear maps that a
single matrix can (when its hidden layers are at least as wide as the map's rank), so depth
changes nothing about *what* it can fit. It changes *how* gradient descent gets there.
Saxe, McClelland and Ganguli (2014) solved the depth-2 dynamics for whitened inputs and a
small balanced start: every singular mode of the input-output correlation follows its own
sigmoid, the strongest first, each after a plateau. Arora, Cohen and Hazan (2018) wrote the
same dynamics for any depth N, ``da/dt = N a^(2 - 2/N) (s - a)``, whose plateaus lengthen
with N.

This chapter runs :func:`generalization.deep_linear.train_deep_linear` on synthetic data:
Gaussian inputs whitened exactly (``X^T X / n = I``) and targets ``Y = X T^T + noise``, where
the map ``T`` has the distinct singular values :data:`SETTINGS` lists. It measures

* :func:`saxe_comparison`: the mode strengths of a depth-2 network against the closed form
  :func:`generalization.deep_linear.saxe_trajectory`, at several learning rates (gradient
  descent is the Euler scheme of the flow, so the gap shrinks with the learning rate);
* :func:`depth_sweep`: depths 1 to 4 from the same small balanced start: the time at which
  each mode is half learned (:func:`half_times`), the gaps between them, the loss, and the
  end-to-end map after training against the least-squares map of ``numpy.linalg.lstsq``;
* :func:`random_start`: the same from a small random (unaligned) start.

The paper's networks and data differ (a hierarchical toy data set and a small MNIST
autoencoder in Saxe et al.); ours are chosen so that every quantity has a closed form.

References
----------
Saxe, McClelland, Ganguli (2014), *Exact solutions to the nonlinear dynamics of learning in
deep linear neural networks*, ICLR, https://arxiv.org/abs/1312.6120.
Arora, Cohen, Hazan (2018), *On the optimization of deep networks: implicit acceleration by
overparameterization*, ICML, https://arxiv.org/abs/1802.06509.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, settings_for
from generalization.book.cache import cached
from generalization.deep_linear import (
    balanced_factors,
    end_to_end,
    saxe_trajectory,
    train_deep_linear,
)

SETTINGS = {
    "quick": dict(
        n_samples=200,
        strengths=(4.0, 2.0, 1.0, 0.5),
        noise=0.1,
        scale=1e-3,
        saxe_lrs=(0.004, 0.002, 0.001),
        saxe_time=10.0,
        depths=(1, 2, 3, 4),
        lr=0.01,
        sweep_time=60.0,
        random_depths=(2, 3),
        random_scale=0.03,
        random_hidden=8,
        random_time=80.0,
        seed=0,
    ),
    "full": dict(
        n_samples=1000,
        strengths=(4.0, 2.0, 1.0, 0.5, 0.25, 0.125),
        noise=0.1,
        scale=1e-3,
        saxe_lrs=(0.004, 0.002, 0.001, 0.0005, 0.00025),
        saxe_time=40.0,
        depths=(1, 2, 3, 4),
        lr=0.005,
        sweep_time=250.0,
        random_depths=(2, 3),
        random_scale=0.03,
        random_hidden=12,
        random_time=320.0,
        seed=0,
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

``strengths`` are the singular values of the planted map ``T``; ``scale`` the initial
strength of every mode; ``*_time`` the flow time ``lr * num_steps`` of each run. Quick runs
in seconds on 2 CPU cores; full adds two weaker modes and two smaller learning rates."""

RECORD_DT = 0.02
"""Flow time between two recorded steps of a run (every step when ``lr`` exceeds it)."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def whitened_problem(n_samples, strengths, noise, seed):
    """Whitened Gaussian inputs and noisy targets of a map with the given singular values.

    ``X`` has i.i.d. N(0, 1) entries and is then whitened exactly, ``X <- X L^{-T}`` with
    ``X^T X / n = L L^T`` (Cholesky), so that ``X^T X / n = I``. The planted map is
    ``T = P diag(strengths) Q^T`` with Haar-random orthogonal ``P`` and ``Q``, and
    ``Y = X T^T + noise * N(0, 1)``. Inputs and outputs have ``d = len(strengths)``
    dimensions.

    Parameters
    ----------
    n_samples : int, at least 2 * len(strengths)
    strengths : sequence of float, positive and distinct
    noise : float, non-negative
        Standard deviation of the label noise.
    seed : int

    Returns
    -------
    X : ndarray, shape (n_samples, d)
    Y : ndarray, shape (n_samples, d)
    T : ndarray, shape (d, d)
    """
    strengths = checks.numbers("strengths", strengths, low=0, low_open=True)
    if len(np.unique(strengths)) != strengths.size:
        raise ValueError(f"strengths must be distinct; got {tuple(strengths.tolist())}.")
    d = strengths.size
    n_samples = checks.count("n_samples", n_samples, minimum=2 * d)
    noise = checks.nonnegative("noise", noise)
    seed = checks.count("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, d))
    chol = np.linalg.cholesky(X.T @ X / n_samples)
    X = np.linalg.solve(chol, X.T).T  # X L^{-T}: now X^T X / n = I
    P = np.linalg.qr(rng.standard_normal((d, d)))[0]
    Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    T = P @ np.diag(strengths) @ Q.T
    Y = X @ T.T + noise * rng.standard_normal((n_samples, d))
    return X, Y, T


def least_squares_map(X, Y):
    """The least-squares map ``argmin_W ||X W^T - Y||_F``, shape (d_out, d_in), by lstsq."""
    return np.linalg.lstsq(X, Y, rcond=None)[0].T


def half_times(times, strengths, s):
    """The first time each mode reaches half its target strength, interpolated linearly.

    Parameters
    ----------
    times : array_like, shape (T,)
        Increasing times of the record.
    strengths : array_like, shape (T, k)
        Mode strengths ``a_i(t)``.
    s : array_like, shape (k,)
        Target strengths, positive.

    Returns
    -------
    ndarray, shape (k,)
        ``t_i`` with ``a_i(t_i) = s_i / 2`` on the line between the two recorded points
        around the first crossing; NaN for a mode that never reaches ``s_i / 2``.
    """
    times = checks.array("times", times, ndim=1)
    strengths = checks.array("strengths", strengths, ndim=2)
    s = checks.array("s", s, ndim=1, positive=True)
    if strengths.shape != (times.size, s.size):
        raise ValueError(
            f"strengths must have shape (len(times), len(s)) = ({times.size}, {s.size}); got "
            f"{strengths.shape}."
        )
    if np.any(np.diff(times) <= 0):
        raise ValueError("times must be increasing; got a non-increasing sequence.")
    result = np.full(s.size, np.nan)
    for i, target in enumerate(s / 2):
        above = np.flatnonzero(strengths[:, i] >= target)
        if above.size == 0:
            continue
        j = above[0]
        if j == 0:
            result[i] = times[0]
            continue
        a_before, a_after = strengths[j - 1, i], strengths[j, i]
        weight = (target - a_before) / (a_after - a_before)
        result[i] = times[j - 1] + weight * (times[j] - times[j - 1])
    return result


def saxe_half_times(s, a0):
    """Half-learning times of the depth-2 closed form: ``t = ln(s / a0 - 1) / (2 s)``.

    From ``a(t) = s / (1 + (s / a0 - 1) e^(-2 s t))`` (:func:`saxe_trajectory` with
    ``tau = 1``): ``a = s / 2`` exactly when ``(s / a0 - 1) e^(-2 s t) = 1``.
    """
    s = checks.array("s", s, ndim=(0, 1), positive=True)
    a0 = checks.positive("a0", a0)
    if np.any(s <= a0):
        raise ValueError(f"s must exceed a0 = {a0:g} on every mode; got {s.min()!r}.")
    return np.log(s / a0 - 1.0) / (2.0 * s)


def flow_half_times(s, a0, depth):
    """Half-learning times of one mode under the depth-N flow ``da/dt = N a^(2-2/N) (s - a)``.

    ``t = int_{a0}^{s/2} da / (N a^(2 - 2/N) (s - a))``, integrated numerically in
    ``u = ln a`` (``dt = a^(2/N - 1) du / (N (s - a))``). Depth 1 gives ``ln(2 (s - a0) / s)``
    and depth 2 :func:`saxe_half_times`. For a small start and depth N > 2 the integral is
    about ``a0^(-(N - 2)/N) / ((N - 2) s)``: a power of ``1 / a0``, where depth 2 has a
    logarithm.

    Parameters
    ----------
    s : float or array_like of shape (k,), each above 2 * a0
    a0 : float, positive
    depth : int, positive

    Returns
    -------
    ndarray of the shape of ``s``
    """
    from scipy.integrate import quad

    s = checks.array("s", s, ndim=(0, 1), positive=True)
    a0 = checks.positive("a0", a0)
    depth = checks.count("depth", depth)
    if np.any(s <= 2 * a0):
        raise ValueError(f"s must exceed 2 a0 = {2 * a0:g} on every mode; got {s.min()!r}.")

    def rate(u, target):
        a = np.exp(u)
        return a ** (2.0 / depth - 1.0) / (depth * (target - a))

    out = [
        quad(rate, np.log(a0), np.log(target / 2), args=(target,), epsabs=0, epsrel=1e-10)[0]
        for target in np.atleast_1d(s)
    ]
    return np.array(out).reshape(s.shape)


def _record_every(lr):
    return max(1, int(round(RECORD_DT / lr)))


def _num_steps(total_time, lr):
    return int(round(total_time / lr))


@dataclass(frozen=True)
class SaxeComparison:
    """Depth-2 mode strengths against the closed form, one run per learning rate.

    ``times``, ``measured`` and ``predicted`` are those of the smallest learning rate
    (shapes (T,), (T, k), (T, k)); ``max_deviation[j]`` is ``max_{t, i} |a_i(t) -
    a_i^Saxe(t)| / s_i`` for ``lrs[j]``; ``half_measured`` and ``half_predicted`` are the
    half-learning times (k,) of the smallest learning rate and of the closed form.
    """

    lrs: tuple
    s: np.ndarray
    a0: float
    times: np.ndarray
    measured: np.ndarray
    predicted: np.ndarray
    max_deviation: np.ndarray
    half_measured: np.ndarray
    half_predicted: np.ndarray
    run_time_s: float


@cached
def saxe_comparison(n_samples, strengths, noise, scale, lrs, total_time, seed):
    """Train a depth-2 network from a small balanced start at each learning rate in ``lrs``.

    The hidden width equals the number of modes. Cached on disk.

    Returns
    -------
    SaxeComparison
    """
    start = time.perf_counter()
    lrs = tuple(sorted(checks.numbers("lrs", lrs, low=0, low_open=True).tolist(), reverse=True))
    total_time = checks.positive("total_time", total_time)
    X, Y, _ = whitened_problem(n_samples, strengths, noise, seed)
    deviations = []
    for lr in lrs:
        run = train_deep_linear(
            X,
            Y,
            depth=2,
            hidden=X.shape[1],
            lr=lr,
            num_steps=_num_steps(total_time, lr),
            scale=scale,
            seed=seed,
            record_every=_record_every(lr),
        )
        predicted = saxe_trajectory(run.s, scale, 1.0, run.times)
        deviations.append(float(np.max(np.abs(run.mode_strengths - predicted) / run.s)))
    return SaxeComparison(
        lrs=lrs,
        s=run.s,
        a0=float(scale),
        times=run.times,
        measured=run.mode_strengths,
        predicted=predicted,
        max_deviation=np.array(deviations),
        half_measured=half_times(run.times, run.mode_strengths, run.s),
        half_predicted=saxe_half_times(run.s, scale),
        run_time_s=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class DepthSweep:
    """Runs of depths ``depths`` from the same small start, on the same data.

    Per depth (dicts keyed by depth): ``times`` (T,), ``singular_values`` and
    ``mode_strengths`` (T, k), ``losses`` (T,), ``half_times`` (k,), ``gaps`` (k,) with
    ``gaps[0] = half_times[0]`` and ``gaps[i] = half_times[i] - half_times[i - 1]``,
    ``final_map`` (d, d), ``lstsq_gap``: ``max |W_N ... W_1 - W_lstsq|`` entrywise.
    ``flow_half_times`` (k,) per depth: :func:`flow_half_times` at the initial strength
    (NaN for the random start, whose modes start unequal and unaligned).
    ``s`` (k,) are the singular values of ``Syx``; ``lstsq_map`` the least-squares map;
    ``factor_gap[depth]`` is ``max |end_to_end(balanced_factors(W_lstsq, depth)) - W_lstsq|``:
    every depth expresses the least-squares map exactly. ``initial_loss`` is the loss at
    ``W = 0``.
    """

    depths: tuple
    init: str
    s: np.ndarray
    times: dict
    singular_values: dict
    mode_strengths: dict
    losses: dict
    half_times: dict
    flow_half_times: dict
    gaps: dict
    final_map: dict
    lstsq_map: np.ndarray
    lstsq_gap: dict
    factor_gap: dict
    initial_loss: float
    run_time_s: float


def _sweep(n_samples, strengths, noise, depths, lr, total_time, seed, init, scale, hidden):
    start = time.perf_counter()
    depths = checks.integers("depths", depths, minimum=1, distinct=True)
    lr, total_time = checks.positive("lr", lr), checks.positive("total_time", total_time)
    X, Y, _ = whitened_problem(n_samples, strengths, noise, seed)
    hidden = X.shape[1] if hidden is None else hidden
    target = least_squares_map(X, Y)
    names = ("times", "sv", "modes", "losses", "half", "flow", "gaps", "W", "gap")
    out = {name: {} for name in names}
    factor_gap = {}
    for depth in depths:
        run = train_deep_linear(
            X,
            Y,
            depth=depth,
            hidden=hidden,
            lr=lr,
            num_steps=_num_steps(total_time, lr),
            init=init,
            scale=scale,
            seed=seed,
            record_every=_record_every(lr),
        )
        half = half_times(run.times, run.mode_strengths, run.s)
        out["times"][depth] = run.times
        out["sv"][depth] = run.singular_values
        out["modes"][depth] = run.mode_strengths
        out["losses"][depth] = run.losses
        out["half"][depth] = half
        out["flow"][depth] = (
            flow_half_times(run.s, scale, depth)
            if init == "balanced"
            else np.full(run.s.size, np.nan)
        )
        out["gaps"][depth] = np.diff(half, prepend=0.0)
        out["W"][depth] = run.end_to_end
        out["gap"][depth] = float(np.max(np.abs(run.end_to_end - target)))
        factors = balanced_factors(target, depth, hidden=hidden, seed=seed)
        factor_gap[depth] = float(np.max(np.abs(end_to_end(factors) - target)))
    n = X.shape[0]
    return DepthSweep(
        depths=depths,
        init=init,
        s=run.s,
        times=out["times"],
        singular_values=out["sv"],
        mode_strengths=out["modes"],
        losses=out["losses"],
        half_times=out["half"],
        flow_half_times=out["flow"],
        gaps=out["gaps"],
        final_map=out["W"],
        lstsq_map=target,
        lstsq_gap=out["gap"],
        factor_gap=factor_gap,
        initial_loss=float(0.5 * np.sum(Y * Y) / n),
        run_time_s=time.perf_counter() - start,
    )


@cached
def depth_sweep(n_samples, strengths, noise, scale, depths, lr, total_time, seed):
    """Depths ``depths`` from the small balanced start of strength ``scale``. Cached on disk.

    Every depth uses the same data, learning rate and flow time, and hidden layers as wide
    as the number of modes.

    Returns
    -------
    DepthSweep
    """
    return _sweep(
        n_samples, strengths, noise, depths, lr, total_time, seed, "balanced", scale, None
    )


@cached
def random_start(n_samples, strengths, noise, scale, hidden, depths, lr, total_time, seed):
    """Depths ``depths`` from a small random start: i.i.d. N(0, scale^2) entries. Cached on disk.

    Hidden layers have width ``hidden`` and are not aligned with the data.

    Returns
    -------
    DepthSweep
    """
    hidden = checks.count("hidden", hidden)
    return _sweep(
        n_samples, strengths, noise, depths, lr, total_time, seed, "random", scale, hidden
    )


def _data_args(S):
    return dict(
        n_samples=S["n_samples"], strengths=S["strengths"], noise=S["noise"], seed=S["seed"]
    )


def run_saxe(S):
    """:func:`saxe_comparison` at the settings ``S`` (the chapter's and its tests' call)."""
    return saxe_comparison(
        scale=S["scale"], lrs=S["saxe_lrs"], total_time=S["saxe_time"], **_data_args(S)
    )


def run_depths(S):
    """:func:`depth_sweep` at the settings ``S`` (the chapter's and its tests' call)."""
    return depth_sweep(
        scale=S["scale"],
        depths=S["depths"],
        lr=S["lr"],
        total_time=S["sweep_time"],
        **_data_args(S),
    )


def run_random(S):
    """:func:`random_start` at the settings ``S`` (the chapter's and its tests' call)."""
    return random_start(
        scale=S["random_scale"],
        hidden=S["random_hidden"],
        depths=S["random_depths"],
        lr=S["lr"],
        total_time=S["random_time"],
        **_data_args(S),
    )

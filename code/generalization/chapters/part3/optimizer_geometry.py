"""Experiments of the chapter *Implicit bias and the geometry of the optimizer*.

Gunasekar, Lee, Soudry and Srebro (2018) ask which of the many global minima of an
underdetermined linear problem an optimizer reaches, and whether the answer can be stated
through the geometry the optimizer moves in (a potential or a norm) without reference to
its step size. This chapter runs their three cases on problems small enough to check
against closed forms:

* :func:`mirror_experiment`: mirror descent on the squared loss of two equations in three
  unknowns, with the potentials ``"l2"``, ``"entropy"`` and ``("lp", 3)``, each at several
  step sizes, against :func:`generalization.geometry.bregman_projection` of the common start;
* :func:`steepest_experiment`: steepest descent in the l1, l2 and l_inf norms on the same
  problem, over a grid of step sizes, locating each limit on the line of solutions;
* :func:`margin_experiment`: normalized steepest descent on the exponential loss of a small
  separable data set, against :func:`generalization.geometry.max_margin` in each norm.

The paper's own examples use other data (its Figure 1); ours differ so that the entropy
potential, which needs a positive solution, applies to the same system as the others. The
methods live in :mod:`generalization.geometry`; this module only chooses the problems, the
step sizes and what to measure.

References
----------
Gunasekar, Lee, Soudry, Srebro (2018), *Characterizing implicit bias in terms of optimization
geometry*, ICML, https://arxiv.org/abs/1802.08246.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, geometry, settings_for
from generalization.book.cache import cached

X_LINE = ((-2.0, 2.0, 1.0), (1.0, -2.0, 2.0))
"""The rows of the underdetermined system: two equations in three unknowns."""
Y_LINE = (1.5, 1.0)
"""Its targets; the solutions form a line that crosses the positive orthant."""
W0_LINE = (0.1, 0.1, 0.1)
"""The common start of every optimizer on the system (positive, as entropy needs)."""

POTENTIALS = ("l2", "entropy", ("lp", 3.0))
"""The potentials of :func:`mirror_experiment`."""
NORMS = geometry.NORMS
"""The norms of :func:`steepest_experiment` and :func:`margin_experiment`."""

SETTINGS = {
    "quick": dict(
        mirror_lrs=(0.01, 0.03, 0.1),
        mirror_steps=20_000,
        steepest_lrs=tuple(np.round(np.linspace(0.05, 0.95, 19), 2).tolist()),
        steepest_steps=4_000,
        margin=dict(seed=0, n_samples=12, n_features=3, lr=0.1, num_steps=20_000),
    ),
    "full": dict(
        mirror_lrs=(0.003, 0.01, 0.03, 0.1),
        mirror_steps=100_000,
        steepest_lrs=tuple(np.round(np.linspace(0.01, 0.99, 99), 2).tolist()),
        steepest_steps=20_000,
        margin=dict(seed=0, n_samples=12, n_features=3, lr=0.1, num_steps=400_000),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

Step sizes are fractions: of ``1 / lambda_max(X^T X / n)`` for mirror descent, of the
largest step the descent lemma allows, ``2 / smoothness(X, norm)``, for steepest descent.
Quick runs in a few seconds on 2 CPU cores; full adds step sizes and steps."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def line_problem():
    """The system of the chapter: ``(X, y, w0)`` as float arrays of shapes (2, 3), (2,), (3,)."""
    return np.array(X_LINE), np.array(Y_LINE), np.array(W0_LINE)


def potential_name(potential):
    """A short label: ``"l2"``, ``"entropy"``, ``"l3"`` for ``("lp", 3.0)``."""
    if isinstance(potential, str):
        return potential
    return f"l{potential[1]:g}"


def smoothness(X, norm):
    """The smoothness constant of ``L(w) = 1/(2n) ||X w - y||^2`` in the norm ``norm``.

    ``max { v^T H v : ||v|| <= 1 }`` with ``H = X^T X / n``: the largest eigenvalue of ``H``
    for l2, its largest diagonal entry for l1 (the maximum of a convex function on the l1
    ball is at a vertex ``+-e_j``), and the maximum over the ``2^p`` sign vectors for l_inf
    (the vertices of the cube). Steepest descent ``w <- w + lr v`` decreases the loss for
    every ``lr < 2 / smoothness`` (the descent lemma in that norm).

    Raises
    ------
    ValueError
        For a bad ``X`` or ``norm``, or ``p > 20`` with l_inf (too many vertices).
    """
    X = checks.array("X", X, ndim=2)
    norm = checks.choice("norm", norm, NORMS)
    H = X.T @ X / X.shape[0]
    if norm == "l2":
        return float(np.linalg.eigvalsh(H)[-1])
    if norm == "l1":
        return float(np.max(np.diag(H)))
    p = X.shape[1]
    if p > 20:
        raise ValueError(f"X must have at most 20 columns for the l_inf norm; got {p}.")
    signs = np.array(list(itertools.product((-1.0, 1.0), repeat=p)))
    return float(np.max(np.einsum("ij,jk,ik->i", signs, H, signs)))


def solution_line(X, y):
    """The solutions of ``X w = y`` for ``X`` of shape (p - 1, p) and full rank.

    Returns ``(point, direction)``: the minimum-norm solution and a unit vector spanning the
    null space of ``X``, signed so that its largest entry is positive. Every solution is
    ``point + s * direction`` for one number ``s``, its position (:func:`position`).
    """
    X = checks.array("X", X, ndim=2)
    n, p = X.shape
    if n != p - 1 or np.linalg.matrix_rank(X) != n:
        raise ValueError(f"X must have shape (p - 1, p) and full rank; got shape {X.shape}.")
    point = np.linalg.pinv(X) @ np.asarray(y, dtype=float)
    direction = np.linalg.svd(X)[2][-1]  # the right singular vector of the zero singular value
    direction = direction * np.sign(direction[np.argmax(np.abs(direction))])
    return point, direction


def position(w, point, direction):
    """The coordinate ``s = <w - point, direction>`` of ``w`` along the line of solutions."""
    return float((np.asarray(w) - point) @ direction)


def norm_of(w, norm):
    """``||w||`` in the l1, l2 or l_inf norm."""
    norm = checks.choice("norm", norm, NORMS)
    order = {"l1": 1, "l2": 2, "linf": np.inf}[norm]
    return float(np.linalg.norm(np.asarray(w, dtype=float), ord=order))


def normalized_margin(X, y, w, norm):
    """``min_i y_i <w, x_i> / ||w||``: the margin of ``w`` in the norm ``norm``."""
    return float(np.min(y * (X @ w)) / norm_of(w, norm))


def angle_deg(u, v):
    """The Euclidean angle between ``u`` and ``v`` in degrees."""
    cos = float(u @ v) / (np.linalg.norm(u) * np.linalg.norm(v))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def separable_data(seed, n_samples, n_features):
    """Gaussian points labelled by the sign of a random teacher through the origin.

    Returns ``(X, y)`` of shapes (n_samples, n_features) and (n_samples,); separable through
    the origin by construction.
    """
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    n_samples = checks.count("n_samples", n_samples)
    n_features = checks.count("n_features", n_features)
    X = rng.standard_normal((n_samples, n_features))
    teacher = rng.standard_normal(n_features)
    y = np.sign(X @ teacher)
    y[y == 0] = 1.0  # a point on the teacher's hyperplane (probability zero)
    return X, y


def _thinned(path, keep=400):
    """At most about ``keep`` rows of ``path``, first and last included (for plotting)."""
    stride = max(1, len(path) // keep)
    return np.vstack([path[::stride], path[-1:]])


@dataclass(frozen=True)
class MirrorResult:
    """What :func:`mirror_experiment` returns.

    ``projections[name]``: the Bregman projection of the start, shape (3,);
    ``limits[name]``: the last iterate at each step size, shape (len(lrs), 3);
    ``residuals[name]``: ``max |X w - y|`` of each last iterate; ``paths[name]``: thinned
    iterates of the run at the largest step size; ``lrs``: the step sizes (absolute).
    """

    lr_fractions: tuple
    lrs: tuple
    num_steps: int
    projections: dict
    limits: dict
    residuals: dict
    paths: dict
    run_time_s: float


@cached
def mirror_experiment(lr_fractions, num_steps):
    """Mirror descent from the common start, for every potential and step size. Cached.

    Parameters
    ----------
    lr_fractions : sequence of float
        Step sizes as fractions of ``1 / lambda_max(X^T X / n)``.
    num_steps : int

    Returns
    -------
    MirrorResult
    """
    lr_fractions = tuple(checks.numbers("lr_fractions", lr_fractions, low=0, low_open=True))
    num_steps = checks.count("num_steps", num_steps)
    start = time.perf_counter()
    X, y, w0 = line_problem()
    lrs = tuple(f / smoothness(X, "l2") for f in lr_fractions)
    projections, limits, residuals, paths = {}, {}, {}, {}
    for potential in POTENTIALS:
        name = potential_name(potential)
        projections[name] = geometry.bregman_projection(X, y, potential, w0)
        runs = []
        for lr in lrs:
            w, path = geometry.mirror_descent(X, y, potential, w0, lr, num_steps, return_path=True)
            runs.append(w)
        limits[name] = np.array(runs)
        residuals[name] = np.max(np.abs(limits[name] @ X.T - y), axis=1)
        paths[name] = _thinned(path)  # the run at the last (largest) step size
    return MirrorResult(
        lr_fractions=lr_fractions,
        lrs=lrs,
        num_steps=num_steps,
        projections=projections,
        limits=limits,
        residuals=residuals,
        paths=paths,
        run_time_s=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class SteepestResult:
    """What :func:`steepest_experiment` returns.

    ``limits[norm]``: the last iterate at each step size, shape (len(lrs), 3);
    ``positions[norm]``: their positions on the line of solutions (:func:`position`);
    ``residuals[norm]``: ``max |X w - y|`` of each; ``paths[norm]``: the full paths at the
    smallest and the largest step size, a pair of arrays; ``smoothness[norm]``: the constant
    the step sizes are fractions of (``2 / smoothness``); ``point, direction``: the line.
    """

    lr_fractions: tuple
    num_steps: int
    smoothness: dict
    limits: dict
    positions: dict
    residuals: dict
    paths: dict
    point: np.ndarray
    direction: np.ndarray
    run_time_s: float


@cached
def steepest_experiment(lr_fractions, num_steps):
    """Steepest descent on the squared loss from the common start, for each norm and step. Cached.

    Parameters
    ----------
    lr_fractions : sequence of float in (0, 1)
        Step sizes as fractions of ``2 / smoothness(X, norm)``.
    num_steps : int

    Returns
    -------
    SteepestResult
    """
    lr_fractions = tuple(
        checks.numbers("lr_fractions", lr_fractions, low=0, high=1, low_open=True, high_open=True)
    )
    num_steps = checks.count("num_steps", num_steps)
    start = time.perf_counter()
    X, y, w0 = line_problem()
    point, direction = solution_line(X, y)
    constants, limits, positions, residuals, paths = {}, {}, {}, {}, {}
    for norm in NORMS:
        constants[norm] = smoothness(X, norm)
        runs, ends = [], []
        for f in lr_fractions:
            lr = 2.0 * f / constants[norm]
            w, path = geometry.steepest_descent(X, y, norm, lr, num_steps, w0=w0, return_path=True)
            runs.append(w)
            ends.append(path)
        limits[norm] = np.array(runs)
        positions[norm] = np.array([position(w, point, direction) for w in runs])
        residuals[norm] = np.max(np.abs(limits[norm] @ X.T - y), axis=1)
        paths[norm] = (_thinned(ends[0]), _thinned(ends[-1]))
    return SteepestResult(
        lr_fractions=lr_fractions,
        num_steps=num_steps,
        smoothness=constants,
        limits=limits,
        positions=positions,
        residuals=residuals,
        paths=paths,
        point=point,
        direction=direction,
        run_time_s=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class MarginResult:
    """What :func:`margin_experiment` returns.

    ``max_margin[norm]``: the separator of :func:`generalization.geometry.max_margin`;
    ``best[norm]``: its margin in that norm, ``1 / ||w_hat||``; ``checkpoints``: the steps
    at which ``gap[norm]`` (``best - margin`` of the iterate, in the run's own norm) and
    ``angle[norm]`` (degrees between the iterate and ``max_margin[norm]``) are recorded;
    ``cross[run][measured]``: the margin of the last iterate of the run in norm ``run``
    measured in norm ``measured``.
    """

    X: np.ndarray
    y: np.ndarray
    lr: float
    checkpoints: tuple
    max_margin: dict
    best: dict
    gap: dict
    angle: dict
    cross: dict
    final: dict
    run_time_s: float


def checkpoints_for(num_steps, per_decade=4):
    """Steps ``1, ..., num_steps`` spaced evenly in log scale (integers, distinct, sorted)."""
    num_steps = checks.count("num_steps", num_steps)
    count = max(2, int(per_decade * np.log10(num_steps)) + 1)
    return tuple(sorted({int(round(t)) for t in np.geomspace(1, num_steps, count)}))


@cached
def margin_experiment(seed, n_samples, n_features, lr, num_steps):
    """Normalized steepest descent on the exponential loss, from zero, in each norm. Cached.

    Parameters
    ----------
    seed, n_samples, n_features : int
        The data (:func:`separable_data`).
    lr : float
        The norm of every step.
    num_steps : int

    Returns
    -------
    MarginResult
    """
    lr = checks.positive("lr", lr)
    num_steps = checks.count("num_steps", num_steps)
    start = time.perf_counter()
    X, y = separable_data(seed, n_samples, n_features)
    steps = checkpoints_for(num_steps)
    hats, best, gap, angle, cross, final = {}, {}, {}, {}, {}, {}
    for norm in NORMS:
        hats[norm] = geometry.max_margin(X, y, norm)
        best[norm] = 1.0 / norm_of(hats[norm], norm)
        _, path = geometry.steepest_descent(
            X, y, norm, lr, num_steps, loss="exp", normalized=True, return_path=True
        )
        iterates = path[list(steps)]
        gap[norm] = np.array([best[norm] - normalized_margin(X, y, w, norm) for w in iterates])
        angle[norm] = np.array([angle_deg(w, hats[norm]) for w in iterates])
        final[norm] = path[-1]
    for run in NORMS:
        cross[run] = {m: normalized_margin(X, y, final[run], m) for m in NORMS}
    return MarginResult(
        X=X,
        y=y,
        lr=lr,
        checkpoints=steps,
        max_margin=hats,
        best=best,
        gap=gap,
        angle=angle,
        cross=cross,
        final=final,
        run_time_s=time.perf_counter() - start,
    )

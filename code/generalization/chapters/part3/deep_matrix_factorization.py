"""Experiments of the chapter *Implicit regularization in deep matrix factorization*.

A square low-rank matrix is observed on a few random entries and completed by gradient
descent on a product of ``J`` matrices, ``W = W_J ... W_1``, fitted to those entries only.
Arora, Cohen, Hu and Luo (2019) found that the deeper the product, the lower the effective
rank of the completion and, when the entries are few, the better it recovers the matrix,
better even than the completion of minimum nuclear norm that Gunasekar et al. (2017)
conjectured depth 2 to find. Their Theorem 3 says why: from a balanced start, the singular
values of the product move at speed ``J sigma^(2 - 2/J)`` times the projection of the
gradient, so small ones barely move, the more so the deeper the product.

This module runs the methods of :mod:`generalization.matrix_factorization`:

* :func:`completion_sweep`: for each number of observations and each seed, a random target
  of rank ``rank`` (drawn and normalized as in the authors' released code, ``gen_gt.py``:
  ``U V^T / sqrt(rank)`` with Gaussian ``U, V``, rescaled to Frobenius norm ``size``, so its
  entries have mean square one), completed by depths ``depths`` from a small random start
  and by :func:`~generalization.matrix_factorization.nuclear_norm_completion`; it reports the
  relative error on the unobserved entries, the effective rank and, for one seed, the
  singular values during training;
* :func:`theorem3_check`: one gradient descent step from balanced factors of a matrix with
  spread-out singular values, the measured velocity of every singular value against
  :func:`~generalization.matrix_factorization.singular_value_rates`.

Differences from the paper: the authors trained with an adaptive optimizer; we use plain
gradient descent with a learning rate per depth (:func:`learning_rate`), because the
coordinatewise Adam of ``complete_deep`` changes the implicit bias: in a trial at the
paper's sizes, its depth-2 completion kept a far higher effective rank than gradient
descent's (an exercise of the chapter asks the reader to try it). The start follows the
authors' code: every factor has i.i.d. Gaussian entries of standard deviation ``init^(1/J)
/ sqrt(size)`` (:func:`factor_std`), so the product has Frobenius norm about ``init *
sqrt(size)`` at every depth. Quick runs a smaller matrix than the paper's 100 x 100 of rank
5, observed on the same fractions of its entries; full uses the paper's sizes.

References
----------
Arora, Cohen, Hu, Luo (2019), *Implicit regularization in deep matrix factorization*,
NeurIPS, https://arxiv.org/abs/1905.13655; code: https://github.com/roosephu/deep_matrix_factorization.
Gunasekar, Woodworth, Bhojanapalli, Neyshabur, Srebro (2017), *Implicit regularization in
matrix factorization*, NeurIPS, https://arxiv.org/abs/1705.09280.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from generalization import checks, settings_for
from generalization.book.cache import cached
from generalization.deep_linear import balanced_factors
from generalization.matrix_factorization import (
    complete_deep,
    effective_rank,
    nuclear_norm_completion,
    observed_loss_gradient,
    singular_value_rates,
)
from generalization.nets import threads

SETTINGS = {
    "quick": dict(
        size=80,
        rank=4,
        observed=(1280, 3200),
        depths=(1, 2, 3, 4),
        init=1e-3,
        eta=0.8,
        num_steps=2000,
        record_every=20,
        nuclear_tol=1e-4,
        seeds=(0, 1, 2),
        theorem_depths=(1, 2, 3, 4),
        theorem_lrs=(1e-2, 5e-3),
        theorem_sigma=(1e-2, 10.0),
    ),
    "full": dict(
        size=100,
        rank=5,
        observed=(2000, 5000),
        depths=(1, 2, 3, 4),
        init=1e-3,
        eta=0.8,
        num_steps=10000,
        record_every=20,
        nuclear_tol=1e-5,
        seeds=tuple(range(10)),
        theorem_depths=(1, 2, 3, 4),
        theorem_lrs=(1e-2, 5e-3, 2.5e-3),
        theorem_sigma=(1e-2, 10.0),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

``size`` x ``size`` targets of rank ``rank``, observed on ``observed`` entries (the paper's
2,000 and 5,000 of 10,000 at full scale; the same fractions, a fifth and a half, at quick);
``init`` the scale of the product at the start (:func:`factor_std`); ``eta`` the learning
rate in units of the largest stable one (:func:`learning_rate`); ``theorem_*`` the depths,
learning rates and range of singular values of :func:`theorem3_check`. Quick runs in about
half a minute on 2 CPU cores."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def low_rank_target(size, rank, seed):
    """A random ``size x size`` matrix of rank ``rank`` with entries of mean square one.

    ``M = U V^T / sqrt(rank)`` with i.i.d. N(0, 1) entries in ``U`` and ``V`` (both
    ``size x rank``), rescaled to ``||M||_F = size``: the construction of the authors' code.

    Returns
    -------
    ndarray, shape (size, size)
    """
    size = checks.count("size", size, minimum=2)
    rank = checks.count("rank", rank, maximum=size)
    seed = checks.count("seed", seed, minimum=0)
    rng = np.random.default_rng([seed, 0])
    U, V = rng.standard_normal((size, rank)), rng.standard_normal((size, rank))
    M = U @ V.T / np.sqrt(rank)
    return M * (size / np.linalg.norm(M))


def sample_entries(size, n_observed, seed):
    """``n_observed`` distinct positions of a ``size x size`` matrix, uniformly at random.

    Returns
    -------
    rows, cols : ndarray of int, shape (n_observed,)
    """
    size = checks.count("size", size)
    n_observed = checks.count("n_observed", n_observed, maximum=size * size)
    seed = checks.count("seed", seed, minimum=0)
    rng = np.random.default_rng([seed, 1])
    flat = np.sort(rng.choice(size * size, n_observed, replace=False))
    return np.divmod(flat, size)


def factor_std(init, depth, size):
    """Standard deviation of every factor's entries so that the product has scale ``init``.

    ``init^(1/J) / sqrt(size)``, as in the authors' code: a product of J such ``size x size``
    Gaussian matrices has entries of standard deviation about ``init / sqrt(size)``, hence a
    Frobenius norm of about ``init * sqrt(size)``, whatever the depth J.
    """
    init = checks.positive("init", init)
    depth = checks.count("depth", depth)
    size = checks.count("size", size)
    return init ** (1.0 / depth) / np.sqrt(size)


def learning_rate(eta, depth, size, top):
    """The learning rate ``eta size^2 / (J top^(2 - 2/J))`` of gradient descent at depth J.

    The observed loss of one rank-one direction ``u v^T`` has curvature about
    ``(fraction observed) / m = 1 / size^2`` in the product, and Theorem 3 multiplies the
    speed of a singular value ``sigma`` by ``J sigma^(2 - 2/J)``; at the largest singular
    value ``top`` of the target the step ``2 size^2 / (J top^(2 - 2/J))`` is about the largest
    stable one. ``eta`` is the fraction of it we take (depth 1 is not trained this way; see
    :func:`completion_sweep`).
    """
    eta = checks.positive("eta", eta)
    depth = checks.count("depth", depth)
    size = checks.count("size", size)
    top = checks.positive("top", top)
    return eta * size**2 / (depth * top ** (2.0 - 2.0 / depth))


def unobserved_error(W, M, rows, cols):
    """Relative error on the unobserved entries, ``||(W - M)_unobs||_F / ||M_unobs||_F``."""
    W = checks.array("W", W, ndim=2)
    M = checks.array("M", M, ndim=2)
    if W.shape != M.shape:
        raise ValueError(f"W must have the shape of M, {M.shape}; got {W.shape}.")
    hidden = np.ones(M.shape, bool)
    hidden[rows, cols] = False
    if not hidden.any():
        raise ValueError("rows and cols must leave some entry unobserved; got every entry.")
    return float(np.linalg.norm((W - M)[hidden]) / np.linalg.norm(M[hidden]))


@dataclass(frozen=True)
class CompletionSweep:
    """What :func:`completion_sweep` returns.

    Arrays indexed ``[observed, depth, seed]``: ``error`` (relative error on the unobserved
    entries), ``erank`` (effective rank of the completion), ``loss`` (final observed loss);
    indexed ``[observed, seed]``: ``nuclear_error``, ``nuclear_erank``. ``target_erank``
    ``[seed]`` is the effective rank of each target. ``depth1_moved`` is the largest change of
    any unobserved entry in any depth-1 run (zero: gradient descent never touches them).
    ``lrs[depth]`` are the learning rates of seed 0. ``steps[depth]`` (T,) and
    ``singular_values[depth]`` (T, size) trace the training of seed 0 on the fewest
    observations; ``target_sv`` (size,) are the singular values of that target.
    """

    observed: tuple
    depths: tuple
    seeds: tuple
    error: np.ndarray
    erank: np.ndarray
    loss: np.ndarray
    nuclear_error: np.ndarray
    nuclear_erank: np.ndarray
    target_erank: np.ndarray
    depth1_moved: float
    lrs: dict
    steps: dict
    singular_values: dict
    target_sv: np.ndarray
    run_time_s: float


def _complete_depth1(M, rows, cols, init, size, seed):
    """Depth 1: one gradient step of rate m from a small start fits the observed entries."""
    m = len(rows)
    run = complete_deep(
        M.shape,
        rows,
        cols,
        M[rows, cols],
        depth=1,
        init_scale=factor_std(init, 1, size),
        lr=float(m),
        num_steps=1,
        seed=seed,
    )  # W_obs <- W_obs - m (W_obs - M_obs) / m = M_obs
    start = np.random.default_rng(seed).standard_normal(M.shape) * factor_std(init, 1, size)
    hidden = np.ones(M.shape, bool)
    hidden[rows, cols] = False
    return run, float(np.max(np.abs(run.matrix - start)[hidden]))


@cached
def completion_sweep(
    size, rank, observed, depths, init, eta, num_steps, record_every, nuclear_tol, seeds
):
    """Complete random rank-``rank`` targets from ``observed`` entries, by depth. Cached on disk.

    Every depth starts from the same seed (:func:`factor_std`) and trains by full-batch
    gradient descent for ``num_steps`` steps at :func:`learning_rate`; depth 1 takes the one
    step that fits the observed entries exactly. The nuclear-norm completion is solved to a
    relative duality gap ``nuclear_tol``.

    Returns
    -------
    CompletionSweep
    """
    start = time.perf_counter()
    observed = checks.integers("observed", observed, minimum=1, distinct=True)
    depths = checks.integers("depths", depths, minimum=1, distinct=True)
    seeds = checks.integers("seeds", seeds, distinct=True)
    num_steps = checks.count("num_steps", num_steps)
    shape3 = (len(observed), len(depths), len(seeds))
    error, erank, loss = np.zeros(shape3), np.zeros(shape3), np.zeros(shape3)
    nuc_error, nuc_erank = np.zeros(shape3[::2]), np.zeros(shape3[::2])
    target_erank, moved = np.zeros(len(seeds)), 0.0
    lrs, steps, svals, target_sv = {}, {}, {}, None
    with threads(1), threadpool_limits(1):  # small matrices: one thread is fastest
        for k, seed in enumerate(seeds):
            M = low_rank_target(size, rank, seed)
            top = float(np.linalg.norm(M, 2))
            target_erank[k] = effective_rank(M)
            for i, m in enumerate(observed):
                rows, cols = sample_entries(size, m, seed)
                values = M[rows, cols]
                for j, depth in enumerate(depths):
                    if depth == 1:
                        run, change = _complete_depth1(M, rows, cols, init, size, seed)
                        moved = max(moved, change)
                    else:
                        lr = learning_rate(eta, depth, size, top)
                        if k == 0:
                            lrs[depth] = lr
                        run = complete_deep(
                            M.shape,
                            rows,
                            cols,
                            values,
                            depth=depth,
                            init_scale=factor_std(init, depth, size),
                            lr=lr,
                            num_steps=num_steps,
                            seed=seed,
                            record_every=record_every,
                        )
                    error[i, j, k] = unobserved_error(run.matrix, M, rows, cols)
                    erank[i, j, k] = effective_rank(run.matrix)
                    loss[i, j, k] = run.losses[-1]
                    if i == 0 and k == 0:
                        steps[depth], svals[depth] = run.steps, run.singular_values
                X = nuclear_norm_completion(M.shape, rows, cols, values, tol=nuclear_tol)
                nuc_error[i, k] = unobserved_error(X, M, rows, cols)
                nuc_erank[i, k] = effective_rank(X)
            if k == 0:
                target_sv = np.linalg.svd(M, compute_uv=False)
    return CompletionSweep(
        observed=observed,
        depths=depths,
        seeds=seeds,
        error=error,
        erank=erank,
        loss=loss,
        nuclear_error=nuc_error,
        nuclear_erank=nuc_erank,
        target_erank=target_erank,
        depth1_moved=moved,
        lrs=lrs,
        steps=steps,
        singular_values=svals,
        target_sv=target_sv,
        run_time_s=time.perf_counter() - start,
    )


def spread_spectrum(size, low, high, seed):
    """A ``size x size`` matrix with Haar-random singular vectors and singular values from
    ``high`` down to ``low``, evenly spaced on a log scale (distinct, as Theorem 3 needs)."""
    size = checks.count("size", size, minimum=2)
    low, high = checks.positive("low", low), checks.positive("high", high)
    if not low < high:
        raise ValueError(f"low must be below high = {high:g}; got {low:g}.")
    rng = np.random.default_rng([checks.count("seed", seed, minimum=0), 2])
    P = np.linalg.qr(rng.standard_normal((size, size)))[0]
    Q = np.linalg.qr(rng.standard_normal((size, size)))[0]
    return P @ np.diag(np.geomspace(high, low, size)) @ Q.T


@dataclass(frozen=True)
class Theorem3Check:
    """What :func:`theorem3_check` returns.

    ``sigma`` (k,) are the singular values of the start ``W0`` and ``projection`` (k,) the
    ``<grad l(W0), u_r v_r^T>``. Per depth (dicts keyed by depth): ``predicted`` (k,), the
    velocities of Theorem 3; ``measured`` (k,), ``(sigma after one step - sigma) / lr`` at the
    smallest learning rate; ``deviation`` (len(lrs),), ``max_r |measured - predicted| /
    max_r |predicted|`` at each learning rate; ``slope``, the least-squares slope of
    ``log(-measured / projection)`` against ``log sigma`` over the half of the singular values
    with the largest ``|projection|`` (Theorem 3: ``2 - 2/J``).
    """

    depths: tuple
    lrs: tuple
    sigma: np.ndarray
    projection: np.ndarray
    predicted: dict
    measured: dict
    deviation: dict
    slope: dict
    run_time_s: float


@cached
def theorem3_check(size, rank, n_observed, depths, lrs, sigma_range, seed):
    """One gradient step from balanced factors: measured singular-value speeds against Theorem 3.

    The start ``W0`` is :func:`spread_spectrum` (singular values over ``sigma_range``), split
    into balanced factors of each depth (:func:`generalization.deep_linear.balanced_factors`);
    the loss is the observed loss of the target and entries of :func:`completion_sweep` for
    ``seed``. Cached on disk.

    Returns
    -------
    Theorem3Check
    """
    start = time.perf_counter()
    depths = checks.integers("depths", depths, minimum=1, distinct=True)
    lrs = tuple(sorted(checks.numbers("lrs", lrs, low=0, low_open=True).tolist(), reverse=True))
    low, high = sigma_range
    M = low_rank_target(size, rank, seed)
    rows, cols = sample_entries(size, n_observed, seed)
    W0 = spread_spectrum(size, low, high, seed)
    grad = observed_loss_gradient(W0, rows, cols, M[rows, cols])
    U, sigma, Vt = np.linalg.svd(W0)
    projection = np.einsum("ir,ij,rj->r", U, grad, Vt)  # <grad, u_r v_r^T>
    strong = np.abs(projection) >= np.median(np.abs(projection))
    predicted, measured, deviation, slope = {}, {}, {}, {}
    with threads(1), threadpool_limits(1):
        for depth in depths:
            predicted[depth] = singular_value_rates(W0, grad, depth)
            factors = balanced_factors(W0, depth, seed=seed)
            gaps = []
            for lr in lrs:
                run = complete_deep(
                    W0.shape,
                    rows,
                    cols,
                    M[rows, cols],
                    depth=depth,
                    init_scale=1.0,
                    lr=lr,
                    num_steps=1,
                    factors=factors,
                )
                velocity = (run.singular_values[1] - run.singular_values[0]) / lr
                gaps.append(np.max(np.abs(velocity - predicted[depth])))
            measured[depth] = velocity
            deviation[depth] = np.array(gaps) / np.max(np.abs(predicted[depth]))
            mobility = -velocity[strong] / projection[strong]
            slope[depth] = float(np.polyfit(np.log(sigma[strong]), np.log(mobility), 1)[0])
    return Theorem3Check(
        depths=depths,
        lrs=lrs,
        sigma=sigma,
        projection=projection,
        predicted=predicted,
        measured=measured,
        deviation=deviation,
        slope=slope,
        run_time_s=time.perf_counter() - start,
    )


def run_sweep(S):
    """:func:`completion_sweep` at the settings ``S`` (the chapter's and its tests' call)."""
    return completion_sweep(
        size=S["size"],
        rank=S["rank"],
        observed=S["observed"],
        depths=S["depths"],
        init=S["init"],
        eta=S["eta"],
        num_steps=S["num_steps"],
        record_every=S["record_every"],
        nuclear_tol=S["nuclear_tol"],
        seeds=S["seeds"],
    )


def run_theorem3(S):
    """:func:`theorem3_check` at the settings ``S`` (the chapter's and its tests' call)."""
    return theorem3_check(
        size=S["size"],
        rank=S["rank"],
        n_observed=S["observed"][0],
        depths=S["theorem_depths"],
        lrs=S["theorem_lrs"],
        sigma_range=S["theorem_sigma"],
        seed=S["seeds"][0],
    )

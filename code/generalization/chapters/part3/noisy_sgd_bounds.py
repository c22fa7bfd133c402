"""Experiments of the chapter *Information-theoretic generalization bounds for noisy SGD*.

Xu and Raginsky (2017) bound the expected generalization gap of a randomized learning
algorithm by ``sqrt(2 sigma^2 I(S; W) / n)``, the mutual information between the training
set and the weights. Pensia, Jog and Loh (2018) bound that information for noisy iterative
algorithms, stochastic gradient Langevin dynamics (SGLD) among them, by a sum over steps of
the capacity of a Gaussian channel, which needs only a bound ``L`` on the norm of the update
and the variance of the noise. Neither paper runs an experiment; Negrea, Haghifam,
Dziugaite, Khisti and Roy (2019) evaluate such bounds, and sharper data-dependent ones, on
MNIST and CIFAR-10 networks.

This chapter evaluates the bound of the first two papers for SGLD on a small task where the
gap itself can be measured:

* :func:`sgld_experiment`: logistic regression on two MNIST digits, trained by SGLD with
  per-example gradients clipped to norm ``L``
  (:func:`generalization.info_bounds.logistic_clipped_mean_gradient`,
  :func:`generalization.info_bounds.sgld`) at several inverse temperatures, each from many
  independent draws of the training set, the batches and the noise; the 0-1 error on the
  training set and on held-out images at steps spaced logarithmically, and the squared
  norm of every update;
* :func:`gap_bounds`: the bound with the worst-case ``L`` (the papers') and with the
  measured second moment of the update in its place, after every step;
* :func:`channel_check`: the per-step information of Pensia et al.'s argument against the
  exact information of a Gaussian channel (by Monte Carlo) and of a channel with a bounded
  (binary) input (by quadrature).

Differences from the papers: ours is a convex model on a two-digit task, chosen so that the
expected gap can be estimated from many runs; the data-dependent bounds of Negrea et al.
are not computed.

References
----------
Xu, Raginsky (2017), *Information-theoretic analysis of generalization capability of learning
algorithms*, NeurIPS, https://arxiv.org/abs/1705.07809.
Pensia, Jog, Loh (2018), *Generalization error bounds for noisy, iterative algorithms*, ISIT,
https://arxiv.org/abs/1801.04295.
Negrea, Haghifam, Dziugaite, Khisti, Roy (2019), *Information-theoretic generalization bounds
for SGLD via data-dependent estimates*, NeurIPS, https://arxiv.org/abs/1911.02151.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, info_bounds, nets, settings_for
from generalization.book.cache import cached
from generalization.data import load_mnist

SETTINGS = {
    "quick": dict(
        sgld=dict(
            digits=(4, 9),
            pool_size=6000,
            n_samples=500,
            batch_size=50,
            lr=0.1,
            max_norm=1.0,
            betas=(1e1, 1e2, 1e3, 1e4, 1e5),
            num_steps=2000,
            draws=32,
            seed=0,
        ),
        channel=dict(
            snrs=tuple(np.geomspace(1e-3, 1e2, 11).round(6)),
            noise_variance=0.02,
            num_samples=4000,
            seed=0,
        ),
    ),
    "full": dict(
        sgld=dict(
            digits=(4, 9),
            pool_size=6000,
            n_samples=500,
            batch_size=50,
            lr=0.1,
            max_norm=1.0,
            betas=tuple(float(b) for b in np.geomspace(1e1, 1e6, 11).round(3)),
            num_steps=20000,
            draws=64,
            seed=0,
        ),
        channel=dict(
            snrs=tuple(np.geomspace(1e-3, 1e2, 21).round(6)),
            noise_variance=0.02,
            num_samples=40000,
            seed=0,
        ),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

``betas``: the inverse temperatures of SGLD (noise variance ``2 lr / beta`` per
coordinate); ``max_norm``: the clipping norm ``L``; ``draws``: independent draws of the
training set (from the first ``pool_size`` training images of the two digits), the batches
and the noise, for every temperature; ``snrs``: per-coordinate signal-to-noise ratios of
the channel check, whose ``noise_variance`` is that of SGLD's steps at ``beta = 10``.
Quick runs in seconds on 2 CPU cores; full has more temperatures, steps and draws."""

LOSS_RANGE = (0.0, 1.0)
"""The 0-1 loss, whose expected gap the bound controls, takes values in [0, 1]."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def digit_pair(digits, pool_size):
    """Two MNIST digits as a binary task: a training pool and a held-out evaluation set.

    The training images of the two digits, in a fixed random order (seed 0): the first
    ``pool_size`` form the pool the training sets are drawn from; the others, with all test
    images of the two digits, form the evaluation set that estimates the population error.
    Pixels are in [0, 1] (float32), a last column of ones is the bias, the label is 1 for
    ``digits[1]``.

    Returns
    -------
    X_pool : ndarray, shape (pool_size, 785); y_pool : ndarray, shape (pool_size,)
    X_eval : ndarray, shape (m, 785); y_eval : ndarray, shape (m,)
    """
    digits = checks.integers("digits", digits, min_length=2, distinct=True)
    if len(digits) != 2 or max(digits) > 9:
        raise ValueError(f"digits must be two distinct digits from 0 to 9; got {digits!r}.")
    mnist = load_mnist()

    def pick(X, y):
        keep = np.isin(y, digits)
        X = np.hstack([X[keep], np.ones((int(keep.sum()), 1), dtype=X.dtype)])
        return X, (y[keep] == digits[1]).astype(np.float32)

    X, y = pick(mnist.X_train, mnist.y_train)
    pool_size = checks.count("pool_size", pool_size, maximum=len(y) - 1)
    order = np.random.default_rng(0).permutation(len(y))
    pool, rest = order[:pool_size], order[pool_size:]
    X_test, y_test = pick(mnist.X_test, mnist.y_test)
    return X[pool], y[pool], np.vstack([X[rest], X_test]), np.concatenate([y[rest], y_test])


def log_checkpoints(num_steps, per_decade=4):
    """Steps from 1 to ``num_steps``, evenly spaced in log scale (distinct integers, sorted)."""
    num_steps = checks.count("num_steps", num_steps)
    count = max(2, int(per_decade * np.log10(num_steps)) + 1)
    return tuple(sorted({int(round(t)) for t in np.geomspace(1, num_steps, count)}))


@dataclass(frozen=True)
class SGLDResult:
    """What :func:`sgld_experiment` returns.

    ``train_error`` and ``test_error``: the 0-1 error of the weights on their training set
    and on the evaluation set, shape (len(betas), draws, len(checkpoints));
    ``update_sq_mean``: the squared norm of the update direction ``||F_t||^2`` of every step,
    averaged over the draws, shape (num_steps, len(betas)); ``update_norm_max``: the largest
    ``||F_t||`` of all steps, draws and temperatures; ``dim``: the number of parameters;
    ``n_eval``: the size of the evaluation set.
    """

    digits: tuple
    n_samples: int
    batch_size: int
    lr: float
    max_norm: float
    betas: tuple
    num_steps: int
    draws: int
    seed: int
    dim: int
    n_eval: int
    checkpoints: tuple
    train_error: np.ndarray
    test_error: np.ndarray
    update_sq_mean: np.ndarray
    update_norm_max: float
    run_time_s: float


def _errors(params, X, y):
    """0-1 errors of linear classifiers ``params`` (..., D) on ``(X, y)``, X of shape (n, D)."""
    return np.mean((params @ X.T > 0) != (y > 0.5), axis=-1)


@cached
def sgld_experiment(
    digits, pool_size, n_samples, batch_size, lr, max_norm, betas, num_steps, draws, seed
):
    """SGLD with clipped per-example gradients on a two-digit MNIST task. Cached.

    For every draw ``r`` a training set of ``n_samples`` images is drawn without replacement
    from the pool (:func:`digit_pair`). All temperatures and draws run together, from zero
    weights, through :func:`generalization.info_bounds.sgld` with the update direction
    :func:`generalization.info_bounds.logistic_clipped_mean_gradient` (the logistic loss,
    per-example gradients clipped to ``max_norm``); every (temperature, draw) has its own
    noise, and the batches are drawn by position in each training set.

    Parameters
    ----------
    digits : pair of int
    pool_size, n_samples, batch_size : int
    lr : float
        The constant step size.
    max_norm : float
        ``L``.
    betas : sequence of float
        Inverse temperatures.
    num_steps, draws, seed : int

    Returns
    -------
    SGLDResult
    """
    import torch

    betas = tuple(checks.numbers("betas", betas, low=0, low_open=True).tolist())
    n_samples = checks.count("n_samples", n_samples, maximum=pool_size)
    draws = checks.count("draws", draws)
    seed = checks.count("seed", seed, minimum=0)
    start = time.perf_counter()
    X_pool, y_pool, X_eval, y_eval = digit_pair(digits, pool_size)
    rng = np.random.default_rng(seed)
    rows = np.array([rng.choice(pool_size, n_samples, replace=False) for _ in range(draws)])
    X = torch.as_tensor(X_pool[rows], dtype=torch.float32)  # (draws, n, D)
    y = torch.as_tensor(y_pool[rows], dtype=torch.float32)
    beta = torch.tensor(betas, dtype=torch.float32)[:, None, None]  # one per leading row

    def direction(params, index):
        return info_bounds.logistic_clipped_mean_gradient(
            params, X[:, index], y[:, index], max_norm
        )

    checkpoints = log_checkpoints(num_steps)
    with nets.threads(1):  # thousands of small steps: one thread wastes no time on hand-offs
        path = info_bounds.sgld(
            direction,
            torch.zeros((len(betas), draws, X.shape[-1]), dtype=torch.float32),
            n_samples,
            lr,
            beta,
            num_steps,
            batch_size,
            seed,
            checkpoints,
        )
    params = np.moveaxis(path.params, 0, -2)  # (betas, draws, checkpoints, D), float32
    train = np.stack(
        [_errors(params[:, r], X_pool[rows[r]], y_pool[rows[r]]) for r in range(draws)], axis=1
    )
    test = _errors(params, X_eval, y_eval)
    return SGLDResult(
        digits=tuple(digits),
        n_samples=n_samples,
        batch_size=batch_size,
        lr=float(lr),
        max_norm=float(max_norm),
        betas=betas,
        num_steps=num_steps,
        draws=draws,
        seed=seed,
        dim=X.shape[-1],
        n_eval=len(y_eval),
        checkpoints=checkpoints,
        train_error=train,
        test_error=test,
        update_sq_mean=path.update_sq_norm.mean(axis=-1),
        update_norm_max=float(np.sqrt(path.update_sq_norm.max())),
        run_time_s=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class Gaps:
    """The expected generalization gap and its bounds, per temperature and checkpoint.

    ``gap``: the mean over draws of test minus training 0-1 error, shape
    (len(betas), len(checkpoints)); ``gap_se``: its standard error over draws;
    ``information``: Pensia et al.'s bound on ``I(S; W_t)`` (nats); ``bound``: Xu and
    Raginsky's bound with it; ``moment_information`` and ``moment_bound``: the same with
    the measured second moment of the update in place of ``L^2``.
    """

    gap: np.ndarray
    gap_se: np.ndarray
    information: np.ndarray
    bound: np.ndarray
    moment_information: np.ndarray
    moment_bound: np.ndarray


def gap_bounds(result):
    """The measured gaps of ``result`` and the bounds on them at its checkpoints."""
    gap = result.test_error - result.train_error  # (betas, draws, checkpoints)
    sigma = info_bounds.bounded_loss_subgaussian(*LOSS_RANGE)
    at = np.array(result.checkpoints) - 1  # index of step t in per-step arrays
    info, moment = [], []
    for k, beta in enumerate(result.betas):
        noise = info_bounds.sgld_noise_variance(result.lr, beta)
        info.append(
            info_bounds.pensia_information_bound(
                result.lr, noise, result.max_norm, result.dim, num_steps=result.num_steps
            )[at]
        )
        terms = info_bounds.step_information_bounds(
            result.lr, noise, result.update_sq_mean[:, k], result.dim
        )
        moment.append(np.cumsum(terms)[at])
    info, moment = np.array(info), np.array(moment)
    return Gaps(
        gap=gap.mean(axis=1),
        gap_se=gap.std(axis=1, ddof=1) / np.sqrt(result.draws),
        information=info,
        bound=info_bounds.xu_raginsky_bound(info, result.n_samples, sigma),
        moment_information=moment,
        moment_bound=info_bounds.xu_raginsky_bound(moment, result.n_samples, sigma),
    )


@dataclass(frozen=True)
class ChannelCheck:
    """What :func:`channel_check` returns, per coordinate and per signal-to-noise ratio.

    ``bound``: the per-coordinate term ``(1/2) log(1 + snr)`` of Pensia et al.'s sum;
    ``gaussian_mc`` and ``gaussian_se``: the information of a channel with a Gaussian input
    of that power, by Monte Carlo in ``dim`` dimensions, divided by ``dim``;
    ``binary``: the information with an input of the same power and values +-A;
    ``run_time_s``: the time the check took.
    """

    snrs: np.ndarray
    dim: int
    bound: np.ndarray
    gaussian_mc: np.ndarray
    gaussian_se: np.ndarray
    binary: np.ndarray
    run_time_s: float


def channel_check(snrs, noise_variance, dim, num_samples, seed):
    """The per-step information bound against two channels whose information is known.

    One step of a noisy iteration sends ``-lr F`` through a Gaussian channel of noise
    variance ``sigma^2`` per coordinate; ``snr = lr^2 L^2 / (d sigma^2)`` is its
    per-coordinate signal-to-noise ratio, so the input's power is ``snr d sigma^2``.
    """
    start = time.perf_counter()
    snrs = checks.numbers("snrs", snrs, low=0, low_open=True)
    noise_variance = checks.positive("noise_variance", noise_variance)
    dim = checks.count("dim", dim)
    power = snrs * dim * noise_variance
    mc = np.array(
        [
            info_bounds.gaussian_channel_information_mc(
                p, noise_variance, dim, num_samples, seed + k
            )
            for k, p in enumerate(power)
        ]
    )
    return ChannelCheck(
        snrs=snrs,
        dim=dim,
        bound=info_bounds.gaussian_channel_information(power, noise_variance, dim) / dim,
        gaussian_mc=mc[:, 0] / dim,
        gaussian_se=mc[:, 1] / dim,
        binary=info_bounds.binary_input_information(snrs),
        run_time_s=time.perf_counter() - start,
    )

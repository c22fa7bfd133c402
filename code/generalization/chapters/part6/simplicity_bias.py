"""Experiments of the chapter *Simplicity bias of the parameter-function map*.

Valle-Perez, Camargo and Louis (2019) draw the parameters of fully connected networks on the
``2^7 = 128`` points of ``{0,1}^7`` at random and count how often each Boolean function (each
128-bit truth table) comes out. The probabilities ``P(f)`` span many orders of magnitude and
fall roughly exponentially with the Lempel-Ziv complexity of the truth table, under a bound
of the form ``log2 P(f) <= -a C_LZ(f) - b`` (Dingle, Camargo and Louis 2018). De Palma, Kiani
and Lloyd (2019) prove for wide random ReLU networks on bit strings that the output rarely
changes when an input bit is flipped. This chapter runs, with the sampler of
:mod:`generalization.simplicity`:

* :func:`function_distribution`: the 7-40-40-1 ReLU network of Valle-Perez et al. with
  ``W ~ N(0, sigma_w^2 / fan_in)``, ``b ~ N(0, sigma_b^2)``, ``sigma_w = sigma_b = 1`` (the
  Gaussian "large bias" setting of the authors' sampling code, simpbias-tools), the
  frequency of every function drawn, its complexity ``C_LZ`` and its number of ones;
  :func:`maxima_fit` fits a line to the most frequent function at each complexity;
* :func:`uniform_baseline`: ``C_LZ`` and sensitivity of uniformly random truth tables, the
  functions of an unbiased "learner";
* :func:`perceptron_law`: the bias-free perceptron, for which Mingard et al. (2019) prove
  that the number ``T`` of inputs mapped to 1 is uniform on ``0 .. 2^n - 1``;
* :func:`depth_bias_sweep`: the probability of the two constant functions, the mean
  complexity, the sensitivity (:func:`flip_probability`) and the distance to the closest
  differently classified input (:func:`nearest_flip_distance`) against the number of
  hidden layers and ``sigma_b``.

Differences from the papers: Valle-Perez et al. draw ``10^7`` to ``10^10`` networks; we draw
``2.5 x 10^4`` (quick) to ``1.5 x 10^6`` (full), so every function drawn once sits at the floor
``1 / N`` of the frequencies. De Palma et al. prove their statements for inputs in
``{-1, +1}^n``, networks without biases and ``n -> infinity``; we measure ``n = 7`` on
``{0, 1}^7`` with biases.

References
----------
Valle-Perez, Camargo, Louis (2019), *Deep learning generalizes because the parameter-function
map is biased towards simple functions*, ICLR, https://arxiv.org/abs/1805.08522.
De Palma, Kiani, Lloyd (2019), *Random deep neural networks are biased towards simple
functions*, NeurIPS, https://arxiv.org/abs/1812.10156.
Dingle, Camargo, Louis (2018), *Input-output maps are strongly biased towards simple
outputs*, Nature Communications 9, 761.
Mingard, Skalse, Valle-Perez, Martinez-Rubio, Mikulik, Louis (2019), *Neural networks are a
priori biased towards Boolean functions with low entropy*, https://arxiv.org/abs/1909.11522.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import stats

from generalization import checks, settings_for, simplicity
from generalization.book.cache import cached

N_INPUTS = 7
"""The input dimension of every experiment: functions on the 128 points of ``{0,1}^7``."""

SETTINGS = {
    "quick": dict(
        main=dict(n_samples=12_500, seeds=(0, 1), hidden=(40, 40), sigma_w=1.0, sigma_b=1.0),
        baseline=dict(n_samples=2_000, seed=100),
        perceptron=dict(n_samples=25_600, seed=200),
        sweep=dict(
            n_samples=2_000, depths=(1, 2, 4), sigma_bs=(0.0, 0.5, 1.0, 2.0), width=40, seed=300
        ),
    ),
    "full": dict(
        main=dict(n_samples=500_000, seeds=(0, 1, 2), hidden=(40, 40), sigma_w=1.0, sigma_b=1.0),
        baseline=dict(n_samples=20_000, seed=100),
        perceptron=dict(n_samples=1_280_000, seed=200),
        sweep=dict(
            n_samples=50_000,
            depths=(1, 2, 3, 4, 6),
            sigma_bs=(0.0, 0.25, 0.5, 1.0, 2.0, 4.0),
            width=40,
            seed=300,
        ),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

``main``: samples per seed of the 7-40-40-1 network; ``sweep``: samples per (depth,
``sigma_b``) setting, ``depths`` the numbers of hidden layers of width ``width``. Quick runs
in about a minute on 2 loaded CPU cores; full draws about fifty times more networks."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


# ------------------------------------------------------------------- measures of functions


def _bits(bits):
    array = checks.array("bits", np.atleast_2d(np.asarray(bits, dtype=float)), ndim=2)
    if array.shape[1] != 2**N_INPUTS or not np.all((array == 0) | (array == 1)):
        raise ValueError(
            f"bits must be 0/1 truth tables of {2**N_INPUTS} entries per row; "
            f"got shape {array.shape}."
        )
    return array.astype(np.uint8)


def flip_probability(bits):
    """The probability that flipping one uniformly chosen bit of a uniform input flips ``f``.

    ``S(f) / n`` with ``S(f) = sum_j P_x[f(x) != f(x xor e_j)]`` the average sensitivity
    of ``f``: 0 for a constant function, 1 for the parity, 1/2 on average over uniformly
    random functions.

    Parameters
    ----------
    bits : array_like of shape (m, 128)
        Truth tables in the order of :func:`generalization.simplicity.boolean_inputs`.

    Returns
    -------
    ndarray of shape (m,)
    """
    table = _bits(bits)
    k = np.arange(2**N_INPUTS)
    flips = [table != table[:, k ^ (1 << j)] for j in range(N_INPUTS)]  # x xor e_j
    return np.mean(flips, axis=(0, 2))


def nearest_flip_distance(bits):
    """The mean over inputs ``x`` of the Hamming distance to the closest ``x'`` with
    ``f(x') != f(x)`` (De Palma et al. 2019); ``nan`` for the two constant functions.

    Parameters
    ----------
    bits : array_like of shape (m, 128)

    Returns
    -------
    ndarray of shape (m,)
    """
    table = _bits(bits).astype(np.float32)
    k = np.arange(2**N_INPUTS)
    distance = np.bitwise_count(k[:, None] ^ k[None, :])  # Hamming distances, (128, 128)
    nearest = np.full(table.shape, np.nan)
    for d in range(N_INPUTS, 0, -1):  # from far to near: the nearest distance is written last
        ring = (distance == d).astype(np.float32)
        ones = table @ ring  # number of inputs at distance d mapped to 1
        differs = np.where(table == 1, ones < ring.sum(0), ones > 0)
        nearest[differs] = d
    return np.mean(nearest, axis=1)


def is_constant(words):
    """Whether each function (words of shape (m, W)) is one of the two constant functions."""
    ones = simplicity.count_ones(words)
    return (ones == 0) | (ones == 2**N_INPUTS)


# -------------------------------------------------------------------- the 7-40-40-1 network


@dataclass(frozen=True)
class Distribution:
    """What :func:`function_distribution` returns.

    Pooled over the seeds, one entry per distinct function, most frequent first: ``words``
    (k, 2), ``counts`` (k,), ``complexity`` (``C_LZ``, k), ``ones`` (number of inputs mapped
    to 1, k). Per seed: ``p_constant`` (frequency of the two constant functions),
    ``mean_complexity`` (mean ``C_LZ`` over the networks drawn), ``spearman`` (rank
    correlation of frequency and ``C_LZ`` among the functions drawn at least twice in that
    seed), ``n_distinct``, ``flip`` (mean :func:`flip_probability`) and ``nearest`` (mean
    :func:`nearest_flip_distance` over the non-constant functions drawn).
    """

    seeds: tuple
    n_samples: int
    words: np.ndarray
    counts: np.ndarray
    complexity: np.ndarray
    ones: np.ndarray
    p_constant: np.ndarray
    mean_complexity: np.ndarray
    spearman: np.ndarray
    n_distinct: np.ndarray
    flip: np.ndarray
    nearest: np.ndarray
    run_time_s: float

    @property
    def total(self):
        """The number of networks drawn, over all seeds."""
        return int(self.counts.sum())

    @property
    def frequencies(self):
        """Empirical ``P(f)`` of each distinct function, pooled over the seeds."""
        return self.counts / self.total


def per_draw(words, distinct_words, distinct_values):
    """The value (e.g. ``C_LZ``) of every row of ``words``, read from the distinct functions'.

    ``distinct_words`` (k, W) must hold every row of ``words`` (m, W); returns shape (m,).
    """
    order = np.lexsort(distinct_words.T[::-1])
    sorted_words = distinct_words[order]
    keys = sorted_words.view([("", sorted_words.dtype)] * sorted_words.shape[1]).ravel()
    queries = np.ascontiguousarray(words).view(keys.dtype).ravel()
    return distinct_values[order][np.searchsorted(keys, queries)]


@cached
def function_distribution(n_samples, seeds, hidden, sigma_w, sigma_b):
    """Draw ``n_samples`` networks per seed and count their functions on ``{0,1}^7``. Cached.

    Parameters
    ----------
    n_samples : int
        Networks per seed.
    seeds : sequence of int
    hidden : sequence of int
        Hidden widths, e.g. ``(40, 40)`` for the 7-40-40-1 network.
    sigma_w, sigma_b : float
        Weight and bias scales (:func:`generalization.simplicity.sample_functions`).

    Returns
    -------
    Distribution
    """
    seeds = checks.integers("seeds", seeds)
    n_samples = checks.count("n_samples", n_samples)
    start = time.perf_counter()
    per_seed = [
        simplicity.sample_functions(n_samples, hidden, "relu", sigma_w, sigma_b, seed=seed)
        for seed in seeds
    ]
    pooled = simplicity.count_functions(np.concatenate(per_seed), N_INPUTS)
    complexity = simplicity.lz_complexities(pooled.words, N_INPUTS)
    bits = simplicity.words_to_bits(pooled.words, N_INPUTS)
    flip_of, nearest_of = flip_probability(bits), nearest_flip_distance(bits)
    p_constant, mean_c, rho, distinct, flip, nearest = [], [], [], [], [], []
    for words in per_seed:
        c = per_draw(words, pooled.words, complexity)
        counted = simplicity.count_functions(words, N_INPUTS)
        twice = counted.counts >= 2
        c_distinct = per_draw(counted.words[twice], pooled.words, complexity)
        p_constant.append(np.mean(is_constant(words)))
        mean_c.append(np.mean(c))
        rho.append(stats.spearmanr(counted.counts[twice], c_distinct).statistic)
        distinct.append(len(counted.counts))
        flip.append(per_draw(words, pooled.words, flip_of).mean())
        varying = ~is_constant(words)
        nearest.append(per_draw(words[varying], pooled.words, nearest_of).mean())
    return Distribution(
        seeds=seeds,
        n_samples=n_samples,
        words=pooled.words,
        counts=pooled.counts,
        complexity=complexity,
        ones=simplicity.count_ones(pooled.words),
        p_constant=np.array(p_constant),
        mean_complexity=np.array(mean_c),
        spearman=np.array(rho),
        n_distinct=np.array(distinct),
        flip=np.array(flip),
        nearest=np.array(nearest),
        run_time_s=time.perf_counter() - start,
    )


def maxima_fit(complexity, frequencies, counts, min_count=2):
    """Fit ``log10 P = intercept + slope * C_LZ`` to the most frequent function per complexity.

    At each distinct complexity value, keep the largest frequency among the functions drawn
    at least ``min_count`` times (functions drawn once all sit at the floor ``1 / N`` and say
    nothing about the trend), and fit a least-squares line to those maxima. The line is a
    summary of a finite sample: it is not an upper bound (points lie above it) and not an
    estimate of the constants ``a, a_0`` of the bound of Dingle et al.

    Returns
    -------
    slope, intercept : float
        In decades of probability per bit of ``C_LZ``, and decades.
    levels, maxima : ndarray
        The complexity values used and the largest ``log10`` frequency at each.
    """
    complexity = checks.array("complexity", complexity, ndim=1)
    frequencies = checks.array("frequencies", frequencies, ndim=1, positive=True)
    counts = checks.array("counts", counts, ndim=1)
    keep = counts >= checks.count("min_count", min_count)
    levels = np.unique(complexity[keep])
    if len(levels) < 2:
        raise ValueError(
            f"complexity must take at least 2 values among functions drawn {min_count} times "
            f"or more; got {len(levels)}."
        )
    maxima = np.array([np.log10(frequencies[keep][complexity[keep] == c].max()) for c in levels])
    slope, intercept = np.polyfit(levels, maxima, 1)
    return float(slope), float(intercept), levels, maxima


@dataclass(frozen=True)
class Baseline:
    """What :func:`uniform_baseline` returns: ``complexity`` and ``flip_probability`` of
    ``n_samples`` uniformly random truth tables."""

    complexity: np.ndarray
    flip_probability: np.ndarray
    nearest_flip: np.ndarray
    run_time_s: float


@cached
def uniform_baseline(n_samples, seed):
    """``C_LZ``, sensitivity and nearest flip distance of uniformly random functions. Cached.

    The functions an unbiased prior over all ``2^128`` functions would produce.

    Returns
    -------
    Baseline
    """
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    start = time.perf_counter()
    bits = rng.integers(0, 2, (checks.count("n_samples", n_samples), 2**N_INPUTS))
    words = simplicity.bits_to_words(bits)
    return Baseline(
        complexity=simplicity.lz_complexities(words, N_INPUTS),
        flip_probability=flip_probability(bits),
        nearest_flip=nearest_flip_distance(bits),
        run_time_s=time.perf_counter() - start,
    )


# ------------------------------------------------------------------ the bias-free perceptron


@dataclass(frozen=True)
class PerceptronLaw:
    """What :func:`perceptron_law` returns.

    ``histogram``: how many of the bias-free perceptrons map ``t`` inputs to 1, for
    ``t = 0 .. 128`` (shape (129,)); ``chi2``, ``p_value``: Pearson's test of the first 128
    entries against the uniform law ``2^-7``; ``ks``: the largest gap between the empirical
    and the uniform distribution functions of ``T``; ``f0_always_zero``: whether
    ``f(0000000) = 0`` for every draw; ``biased_histogram``: the same histogram with
    ``sigma_b = 1``.
    """

    n_samples: int
    histogram: np.ndarray
    chi2: float
    p_value: float
    ks: float
    f0_always_zero: bool
    biased_histogram: np.ndarray
    run_time_s: float


@cached
def perceptron_law(n_samples, seed):
    """The number of ones of bias-free perceptrons ``f(x) = [w . x > 0]`` on ``{0,1}^7``. Cached.

    Mingard et al. (2019): for weights with a distribution symmetric under sign flips of each
    coordinate, ``P(T = t) = 2^-n`` for ``t = 0 .. 2^n - 1`` (and ``T = 2^n`` is impossible,
    because ``f(0) = 0``). The perceptrons with a bias (``sigma_b = 1``) are drawn from the
    same seed for contrast.

    Returns
    -------
    PerceptronLaw
    """
    n_samples = checks.count("n_samples", n_samples)
    seed = checks.count("seed", seed, minimum=0)
    start = time.perf_counter()
    words = simplicity.sample_functions(n_samples, (), sigma_b=0.0, seed=seed)
    ones = simplicity.count_ones(words)
    histogram = np.bincount(ones, minlength=2**N_INPUTS + 1)
    test = stats.chisquare(histogram[: 2**N_INPUTS])
    # the largest gap between the empirical CDF of T and the uniform one on 0 .. 127
    uniform_cdf = np.arange(1, 2**N_INPUTS + 1) / 2**N_INPUTS
    ks = np.max(np.abs(np.cumsum(histogram[: 2**N_INPUTS]) / n_samples - uniform_cdf))
    biased = simplicity.sample_functions(n_samples, (), sigma_b=1.0, seed=seed)
    return PerceptronLaw(
        n_samples=n_samples,
        histogram=histogram,
        chi2=float(test.statistic),
        p_value=float(test.pvalue),
        ks=float(ks),
        f0_always_zero=not bool(np.any(simplicity.words_to_bits(words)[:, 0])),
        biased_histogram=np.bincount(simplicity.count_ones(biased), minlength=2**N_INPUTS + 1),
        run_time_s=time.perf_counter() - start,
    )


# ------------------------------------------------------------------- depth and bias sweep


@dataclass(frozen=True)
class Sweep:
    """What :func:`depth_bias_sweep` returns: arrays of shape (len(depths), len(sigma_bs)).

    ``p_constant``: frequency of the two constant functions; ``mean_complexity``: mean
    ``C_LZ`` over the networks drawn; ``flip``: mean :func:`flip_probability`;
    ``nearest``: mean :func:`nearest_flip_distance` over the non-constant functions drawn;
    ``*_se``: their standard errors (sample standard deviation over ``sqrt`` of the number
    of networks used).
    """

    depths: tuple
    sigma_bs: tuple
    n_samples: int
    p_constant: np.ndarray
    p_constant_se: np.ndarray
    mean_complexity: np.ndarray
    mean_complexity_se: np.ndarray
    flip: np.ndarray
    flip_se: np.ndarray
    nearest: np.ndarray
    nearest_se: np.ndarray
    run_time_s: float


def _mean_se(values):
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))


@cached
def depth_bias_sweep(n_samples, depths, sigma_bs, width, seed):
    """Simplicity of random ReLU networks against their depth and bias scale. Cached.

    For each number of hidden layers in ``depths`` (each of width ``width``) and each
    ``sigma_b`` in ``sigma_bs`` (``sigma_w = 1``), ``n_samples`` networks are drawn with
    their own seed (``seed`` plus the index of the setting).

    Returns
    -------
    Sweep
    """
    depths = checks.integers("depths", depths, minimum=1)
    sigma_bs = tuple(checks.numbers("sigma_bs", sigma_bs, low=0))
    n_samples = checks.count("n_samples", n_samples, minimum=2)
    width = checks.count("width", width)
    seed = checks.count("seed", seed, minimum=0)
    start = time.perf_counter()
    shape = (len(depths), len(sigma_bs))
    out = {k: np.zeros(shape) for k in ("pc", "pcs", "mc", "mcs", "fl", "fls", "nr", "nrs")}
    for i, depth in enumerate(depths):
        for j, sigma_b in enumerate(sigma_bs):
            words = simplicity.sample_functions(
                n_samples,
                (width,) * depth,
                "relu",
                1.0,
                sigma_b,
                seed=seed + i * len(sigma_bs) + j,
            )
            counted = simplicity.count_functions(words, N_INPUTS)
            complexity = per_draw(
                words, counted.words, simplicity.lz_complexities(counted.words, N_INPUTS)
            )
            bits = simplicity.words_to_bits(words, N_INPUTS)
            constant = is_constant(words)
            out["pc"][i, j], out["pcs"][i, j] = _mean_se(constant)
            out["mc"][i, j], out["mcs"][i, j] = _mean_se(complexity)
            out["fl"][i, j], out["fls"][i, j] = _mean_se(flip_probability(bits))
            nearest = nearest_flip_distance(bits[~constant])
            out["nr"][i, j], out["nrs"][i, j] = _mean_se(nearest)
    return Sweep(
        depths=depths,
        sigma_bs=sigma_bs,
        n_samples=n_samples,
        p_constant=out["pc"],
        p_constant_se=out["pcs"],
        mean_complexity=out["mc"],
        mean_complexity_se=out["mcs"],
        flip=out["fl"],
        flip_se=out["fls"],
        nearest=out["nr"],
        nearest_se=out["nrs"],
        run_time_s=time.perf_counter() - start,
    )


def de_palma_bound(n):
    """``sqrt(n / (2 pi ln n))``: De Palma et al.'s asymptotic lower bound on the mean
    Hamming distance from an input to the closest differently classified one (abstract)."""
    n = checks.count("n", n, minimum=2)
    return float(np.sqrt(n / (2 * np.pi * np.log(n))))

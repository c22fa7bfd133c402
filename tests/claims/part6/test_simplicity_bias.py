"""Claims of book/part6/simplicity_bias.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization.chapters.part6 import simplicity_bias as sb

S = sb.settings()


@pytest.fixture(scope="module")
def dist():
    return sb.function_distribution(**S["main"])  # the chapter's call


@pytest.fixture(scope="module")
def base():
    return sb.uniform_baseline(**S["baseline"])  # the chapter's call


@pytest.fixture(scope="module")
def law():
    return sb.perceptron_law(**S["perceptron"])  # the chapter's call


@pytest.fixture(scope="module")
def sweep():
    return sb.depth_bias_sweep(**S["sweep"])  # the chapter's call


def _non_constant(dist):
    return (dist.ones > 0) & (dist.ones < 128)


def test_the_two_constant_functions_take_most_of_the_probability(dist):
    """The two most frequent functions are the constants, and together they take about
    three quarters of the draws in every seed."""
    assert set(dist.ones[:2].tolist()) == {0, 128}
    # quick: 0.739, 0.722 (binomial standard error 0.004 per seed)
    assert np.all((0.69 < dist.p_constant) & (dist.p_constant < 0.77))
    assert dist.counts[2] < dist.counts[1] / 100  # quick: 7 against 9,117


def test_most_functions_are_drawn_once_and_probabilities_span_four_decades(dist):
    """Most distinct functions are drawn only once, so the frequencies run from about a third
    down to the floor one over the number of draws: about four decades."""
    assert 0.9 < np.mean(dist.counts == 1) < 0.99  # quick: about 0.96
    decades = np.log10(dist.frequencies[0] / dist.frequencies[-1])
    assert 3.7 < decades < 4.2  # quick: 3.96


def test_random_networks_compute_far_simpler_functions_than_random_truth_tables(dist, base):
    """The mean C_LZ of the networks' functions is a sixth of that of uniformly random truth
    tables, and almost every network is simpler than the simplest random table drawn."""
    assert np.all((20 < dist.mean_complexity) & (dist.mean_complexity < 27))  # quick: 22.9, 23.8
    assert 146 < base.complexity.mean() < 151  # quick: 148.7 (sd 6.1 over 2,000 tables)
    below = np.repeat(dist.complexity, dist.counts) < base.complexity.min()
    assert 0.99 < below.mean() < 1.0  # quick: 0.997


def test_functions_drawn_more_often_are_simpler(dist):
    """Among the non-constant functions, those drawn at least twice have well under half the
    C_LZ of those drawn once, and frequency and C_LZ are negatively rank-correlated."""
    nc = _non_constant(dist)
    often = dist.complexity[nc & (dist.counts >= 2)].mean()  # quick: 26.0
    once = dist.complexity[nc & (dist.counts == 1)].mean()  # quick: 71.2
    assert 0.25 < often / once < 0.5
    assert np.all((-0.45 < dist.spearman) & (dist.spearman < -0.15))  # quick: -0.24, -0.32


def test_the_most_frequent_function_at_each_complexity_gets_rarer_with_complexity(dist):
    """The least-squares line through the most frequent function at each complexity falls by
    about 0.06 decades of probability per bit of C_LZ."""
    slope, _, _, _ = sb.maxima_fit(dist.complexity, dist.frequencies, dist.counts)
    assert -0.08 < slope < -0.045  # quick: -0.060


def test_bias_free_perceptron_maps_a_uniform_number_of_inputs_to_one(law):
    """Without a bias the number t(f) of inputs mapped to 1 passes a chi-square test against
    the uniform law on 0..127 and f(0000000) = 0 always; with a bias t(f) piles up at 0 and 128."""
    assert law.f0_always_zero and law.histogram[128] == 0
    assert law.p_value > 0.01  # quick: 0.37
    assert law.ks < 0.0102  # quick: 0.0075; 1.63 / sqrt(25,600) is the 1% level
    piled = (law.biased_histogram[0] + law.biased_histogram[128]) / law.n_samples
    assert 0.35 < piled < 0.385  # quick: 0.366 (standard error 0.003)


def test_constant_functions_grow_more_likely_with_bias_and_depth(sweep):
    """The probability of the two constant functions rises with sigma_b at every depth and with
    depth at every sigma_b."""
    assert np.all(np.diff(sweep.p_constant, axis=1) > 0)  # quick: steps of 0.07 to 0.66
    assert np.all(np.diff(sweep.p_constant, axis=0) > 0)  # quick: steps of 0.03 to 0.24
    # quick: 0.033 (one layer, no bias) to 0.939 (four layers, sigma_b = 2)
    assert 0.015 < sweep.p_constant[0, 0] < 0.05 and 0.92 < sweep.p_constant[-1, -1] < 0.96


def test_sweep_agrees_with_the_main_experiment(sweep, dist):
    """At two layers and sigma_b = 1 the sweep's probability of a constant function and mean
    C_LZ agree with the main experiment within a few standard errors."""
    i, j = sweep.depths.index(2), sweep.sigma_bs.index(1.0)
    se = np.hypot(sweep.p_constant_se[i, j], 0.004)
    assert abs(sweep.p_constant[i, j] - dist.p_constant.mean()) < 3 * se  # 0.735 vs 0.731
    se = np.hypot(sweep.mean_complexity_se[i, j], 0.5)
    assert abs(sweep.mean_complexity[i, j] - dist.mean_complexity.mean()) < 3 * se  # 23.6/23.3


def test_mean_complexity_falls_with_bias_and_with_depth_once_there_is_a_bias(sweep):
    """The mean C_LZ falls as sigma_b grows at every depth, and as depth grows when sigma_b is
    0.5 or more; without biases depth changes it by only a few bits."""
    assert np.all(np.diff(sweep.mean_complexity, axis=1) < -1)  # quick: steps of -4.5 to -44
    biased = np.array(sweep.sigma_bs) >= 0.5
    assert np.all(np.diff(sweep.mean_complexity[:, biased], axis=0) < -1)  # quick: -4.6 to -15
    no_bias = sweep.mean_complexity[:, ~biased].ravel()  # quick: 74.5, 71.4, 65.5
    assert np.all(no_bias > 60) and np.ptp(no_bias) < 15


def test_one_bit_flips_rarely_change_the_output(sweep, dist, base):
    """Flipping one input bit changes a random network's output with probability well below the
    one half of a random function, and less so with more bias and more depth."""
    assert abs(base.flip_probability.mean() - 0.5) < 0.003  # quick: 0.4997
    assert np.all((0.035 < dist.flip) & (dist.flip < 0.045))  # quick: 0.038, 0.040
    assert np.all(sweep.flip < 0.2)  # quick: 0.008 to 0.165
    assert np.all(np.diff(sweep.flip, axis=1) < 0) and np.all(np.diff(sweep.flip, axis=0) < 0)


def test_closest_differently_classified_input_is_further_than_for_random_functions(
    sweep, dist, base
):
    """For non-constant network functions the closest differently classified input is on
    average nearly two bit flips away, against about one for random functions."""
    assert 1.0 < base.nearest_flip.mean() < 1.02  # quick: 1.008
    assert np.all((1.8 < dist.nearest) & (dist.nearest < 1.96))  # quick: 1.879, 1.886
    assert np.all((1.6 < sweep.nearest) & (sweep.nearest < 2.15))  # quick: 1.72 to 2.01

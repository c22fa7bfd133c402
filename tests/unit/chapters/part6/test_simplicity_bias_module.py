"""Unit tests of the chapter module of book/part6/simplicity_bias.md against brute-force loops
over the inputs, a dictionary of identifiers, SciPy and closed forms."""

import itertools

import numpy as np
import pytest
from scipy import stats

from generalization import simplicity
from generalization.chapters.part6 import simplicity_bias as sb

INPUTS = list(itertools.product([0, 1], repeat=7))
INDEX = {x: k for k, x in enumerate(INPUTS)}


def _random_tables(seed, m=6):
    rng = np.random.default_rng(seed)
    tables = rng.integers(0, 2, (m, 128))
    tables[0] = 0  # a constant function
    tables[1] = [sum(x) % 2 for x in INPUTS]  # the parity
    tables[2] = [x[0] for x in INPUTS]  # a dictator: f(x) = x_1
    return tables


def test_flip_probability_matches_a_loop_over_inputs_and_bits():
    tables = _random_tables(0)
    expected = []
    for f in tables:
        flips = 0
        for x in INPUTS:
            for j in range(7):
                y = list(x)
                y[j] = 1 - y[j]
                flips += f[INDEX[x]] != f[INDEX[tuple(y)]]
        expected.append(flips / (128 * 7))
    got = sb.flip_probability(tables)
    np.testing.assert_allclose(got, expected)
    assert got[0] == 0 and got[1] == 1 and got[2] == pytest.approx(1 / 7)


def test_nearest_flip_distance_matches_a_brute_force_search():
    tables = _random_tables(1)
    got = sb.nearest_flip_distance(tables)
    assert np.isnan(got[0])  # constant: no differently classified input
    for f, value in zip(tables[1:], got[1:]):
        per_input = [
            min(sum(a != b for a, b in zip(x, y)) for y in INPUTS if f[INDEX[y]] != f[INDEX[x]])
            for x in INPUTS
        ]
        assert value == pytest.approx(np.mean(per_input))
    assert got[1] == 1.0 and got[2] == 1.0  # parity and dictator: one flip always suffices


def test_per_draw_reads_each_draw_value_from_a_dictionary_of_identifiers():
    rng = np.random.default_rng(3)
    tables = rng.integers(0, 2, (40, 128))
    words = simplicity.bits_to_words(tables[rng.integers(0, 40, 400)])  # repeated draws
    counted = simplicity.count_functions(words)
    values = np.arange(len(counted.counts), dtype=float)
    table = dict(zip(counted.identifiers(), values))
    expected = [table[simplicity.identifier(row)] for row in words]
    np.testing.assert_array_equal(sb.per_draw(words, counted.words, values), expected)


def test_maxima_fit_recovers_a_planted_envelope():
    complexity = np.repeat([10.0, 20.0, 30.0, 40.0], 3)
    top = 10.0 ** (-1 - 0.05 * np.array([10.0, 20.0, 30.0, 40.0]))  # log10 P = -1 - 0.05 C
    frequencies = np.stack([top, top / 3, top / 9], axis=1).ravel()
    counts = np.full(12, 5)
    slope, intercept, levels, maxima = sb.maxima_fit(complexity, frequencies, counts)
    assert slope == pytest.approx(-0.05) and intercept == pytest.approx(-1.0)
    np.testing.assert_array_equal(levels, [10, 20, 30, 40])
    # functions drawn once are left out of the maxima
    counts[0] = 1
    assert sb.maxima_fit(complexity, frequencies, counts)[3][0] == pytest.approx(
        np.log10(top[0] / 3)
    )


def test_perceptron_law_chi_square_agrees_with_scipy_and_biased_draws_pile_up():
    law = sb.perceptron_law.uncached(2560, 0)
    assert law.f0_always_zero and law.histogram[128] == 0 and law.histogram.sum() == 2560
    expected = stats.chisquare(law.histogram[:128], np.full(128, 20.0))
    assert law.chi2 == pytest.approx(expected.statistic)
    assert law.biased_histogram[0] + law.biased_histogram[128] > 10 * 2 * 20


def test_uniform_baseline_has_the_closed_form_flip_probability():
    base = sb.uniform_baseline.uncached(100, 0)
    # each of the 7 * 128 neighbour pairs differs with probability 1/2
    assert abs(base.flip_probability.mean() - 0.5) < 4 * 0.5 / np.sqrt(100 * 448)
    # P(all 7 neighbours agree) = 2^-7, so the nearest distance is 1 for most inputs
    assert 1.0 <= base.nearest_flip.mean() < 1.03


def test_de_palma_bound_formula():
    assert sb.de_palma_bound(7) == pytest.approx(np.sqrt(7 / (2 * np.pi * np.log(7))))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: sb.flip_probability(np.ones((2, 64))), "bits must be 0/1 truth tables of 128"),
        (lambda: sb.nearest_flip_distance(np.full((1, 128), 2)), "bits must be 0/1 truth"),
        (lambda: sb.de_palma_bound(1), "n must be an integer of at least 2; got 1."),
        (
            lambda: sb.maxima_fit(np.ones(3), np.ones(3), np.full(3, 4)),
            "complexity must take at least 2 values",
        ),
        (lambda: sb.perceptron_law.uncached(0, 1), "n_samples must be a positive integer"),
    ],
)
def test_bad_input_is_a_value_error_naming_what_was_expected(call, message):
    with pytest.raises(ValueError) as raised:
        call()
    assert message in str(raised.value)

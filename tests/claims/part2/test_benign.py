"""Claims of book/part2/benign.md, asserted with the chapter's own calls (cached).

Bounds come from the quick scale (5 designs per n, n = 50..800): a mean over designs is
allowed three standard errors (std over designs / sqrt(5)); the measured value sits beside
each bound. The effective ranks need no sampling, so their claims are checked against the
closed forms the page states.
"""

import math

import numpy as np
import pytest

from generalization import linear
from generalization.chapters.part2 import benign

S = benign.settings()
NS_GRID = np.unique(np.round(np.geomspace(20, 10_000, 25)).astype(int))  # the chapter's grid


@pytest.fixture(scope="module")
def results():
    return {name: benign.risk_vs_n(name, S["ns"], S["seeds"]) for name in ("spiked", "isotropic")}


@pytest.fixture(scope="module")
def conditions():
    return {
        name: benign.conditions_vs_n(name, NS_GRID) for name in ("spiked", "isotropic", "power")
    }


def stderr(r, name):
    return r.std(name) / np.sqrt(len(r.seeds))


def test_spiked_conditions_vanish_and_isotropic_ones_do_not(conditions):
    """For the spiked spectrum r_0/n, k*/n and n/R_k* all fall to zero; for isotropic data
    with p = 2n they stay fixed."""
    # "r_0 = s + sqrt(n), k* = s and R_k* = m_n = ceil(n^{3/2})": at n = 10,000 the three ratios
    # are 0.0105, 0.0005 and 0.0100, and all three fall with n.
    sp, iso, s = conditions["spiked"], conditions["isotropic"], benign.NUM_SPIKES
    tail_dim = np.ceil(NS_GRID**1.5)
    np.testing.assert_allclose(sp["r0_over_n"], (s + np.sqrt(NS_GRID)) / NS_GRID, rtol=1e-9)
    np.testing.assert_array_equal(sp["k_star"], s)
    np.testing.assert_allclose(sp["n_over_R"], NS_GRID / tail_dim, rtol=1e-9)
    # isotropic, p = 2n: r_0/n = 2, k* = 0, n/R_0 = 1/2 at every n
    np.testing.assert_allclose(iso["r0_over_n"], 2, rtol=1e-12)
    np.testing.assert_array_equal(iso["k_star_over_n"], 0)
    np.testing.assert_allclose(iso["n_over_R"], 0.5, rtol=1e-12)


def test_power_law_exercise_k_star_stays_near_n(conditions):
    """For the power-law spectrum lambda_i = i^-2, k* stays near n and n/R_k* near 1/3, so
    overfitting is not benign."""
    # lam_i = i^-2 truncated at p = n^{3/2}: r_k ~ k + 3/2 - k^2/p, so k*/n ~ 1 + 1/sqrt(n)
    # (measured 1.0101 at n = 10,000), and R_k ~ 3k (1 - k/p)^2, so n/R_k* ~ 1/3 (0.3368);
    # r_0 tends to pi^2/6 and r_0/n to zero.
    pw, n = conditions["power"], NS_GRID[-1]
    k_over_n = pw["k_star_over_n"][-1]
    assert abs(k_over_n - (1 + 1 / math.sqrt(n))) < 1e-3
    predicted = 1 / (3 * k_over_n * (1 - k_over_n * n / math.ceil(n**1.5)) ** 2)
    assert pw["n_over_R"][-1] == pytest.approx(predicted, rel=1e-2)
    assert pw["r0"][-1] == pytest.approx(np.pi**2 / 6, rel=1e-3)
    assert np.all(pw["k_star_over_n"] > 1)  # the first case of the theorem at every n


def test_exact_formula_agrees_with_simulation():
    """The exact bias-plus-variance formula agrees with the excess risk of interpolants fitted to
    simulated noise."""
    check = benign.monte_carlo_check("spiked", 100, seed=0)  # the chapter's call
    exact = check["bias"] + check["variance"]
    # exact 0.16274; 0.16474 +- 0.00092 from the noise draws (2.2 se) and 0.16409 +- 0.00092
    # on fresh test points (1.5 se; that standard error counts the noise draws only, the
    # shared test points add a sampling error of their own)
    assert abs(check["risk"] - exact) < 3 * check["risk_se"]
    assert abs(check["test_risk"] - exact) < 3 * check["test_risk_se"]
    assert check["train_residual"] < 1e-12  # measured 1.8e-14: every fit interpolates
    # the n x n route and the pseudo-inverse route agree to rounding: measured 4e-16
    assert abs(check["bias"] - check["bias_direct"]) < 1e-13
    assert abs(check["variance"] - check["variance_direct"]) < 1e-13


def test_benign_risk_goes_to_zero(results):
    """For the spiked spectrum the excess risk of the interpolant falls towards zero as n grows."""
    sp = results["spiked"]
    risk = sp.mean("risk")
    assert np.all(np.diff(risk) < 0)  # falls at every step: 0.261, 0.162, 0.103, 0.066, 0.044
    # factor first/last, measured 5.97; standard errors 1.8% and 0.3% of the means give 5.6-6.3
    assert 5.6 < risk[0] / risk[-1] < 6.3


def test_isotropic_risk_stays_at_the_closed_form_limit(results):
    """For isotropic data with p = 2n the excess risk stays at its closed-form limit, worse than
    predicting zero."""
    iso = results["isotropic"]
    risk = iso.mean("risk")
    for i, n in enumerate(iso.ns):
        # exact finite-n expectation r^2 (1 - n/p) + sigma^2 n/(p - n - 1): measured 1.99,
        # -0.03, 0.39, -1.53, -0.38 standard errors from it (1.5204 at n = 50, 1.5013 at 800)
        expected = linear.expected_risk_gaussian(int(n), int(iso.p[i]), snr=1.0)
        assert abs(risk[i] - expected) < 3 * stderr(iso, "risk")[i]
        # the limit at gamma = 2 (Hastie et al., Theorem 1) is that expectation's n -> infinity
        # limit, within O(1/n): 1.50 against 1.5204 at n = 50
        limit = linear.asymptotic_risk_isotropic(iso.p[i] / n, snr=1.0)
        assert abs(limit - expected) < 2 / (n - 1)


def test_bias_and_variance_split(results):
    """In the spiked case bias and variance both vanish, the variance dominating; in the
    isotropic case neither moves."""
    sp, iso = results["spiked"], results["isotropic"]
    for name in ("bias", "variance"):
        assert np.all(np.diff(sp.mean(name)) < 0)  # "both parts vanish"
    # variance over bias: measured 17.0 to 34.5; the bias has a 10-30% spread over designs
    ratio = sp.mean("variance") / sp.mean("bias")
    assert 10 < ratio.min() and ratio.max() < 50

    def slope(name):
        return np.polyfit(np.log(sp.ns[-3:]), np.log(sp.mean(name)[-3:]), 1)[0]

    # per-design slopes have sd 0.13 (bias) and 0.006 (variance): 3 standard errors of a mean
    # of 5 are 0.17 and 0.008
    assert -1.14 < slope("bias") < -0.80  # "about like 1/n": measured -0.97
    assert -0.610 < slope("variance") < -0.594  # measured -0.602
    # isotropic, p = 2n: E bias = 1 - n/p = 1/2 and E variance = n/(p - n - 1), every n within
    # 3 standard errors (measured |z| <= 1.31)
    assert np.all(np.abs(iso.mean("bias") - (1 - iso.ns / iso.p)) < 3 * stderr(iso, "bias"))
    expected_variance = iso.ns / (iso.p - iso.ns - 1)
    assert np.all(np.abs(iso.mean("variance") - expected_variance) < 3 * stderr(iso, "variance"))


def test_variance_tracks_the_theorem_rate_within_a_constant(results):
    """The variance follows the theorem's rate sigma^2 (k*/n + n/R_k*) within a small constant
    factor."""
    sp, iso = results["spiked"], results["isotropic"]

    def mean_ratio(r):
        ratios = r.mean("variance") / r.variance_rate
        se = stderr(r, "variance") / r.variance_rate
        return ratios.mean(), np.sqrt(np.sum(se**2)) / len(ratios)

    # spiked: measured 1.0233 +- 0.0039 (standard error of the average over n)
    value, se = mean_ratio(sp)
    assert 1.011 < value < 1.036
    # isotropic: the exact ratio is (n/(n - 1)) / (1/2), averaging 2.0157 over our n;
    # measured 2.0099 +- 0.0072
    value, se = mean_ratio(iso)
    assert abs(value - np.mean(2 * iso.ns / (iso.ns - 1))) < 3 * se


def test_bias_bound_is_loose_for_this_signal(results):
    """The theorem's bias bound is loose for this signal: the bias falls faster than sqrt(r_0/n)."""
    sp = results["spiked"]
    ratio = sp.mean("bias") / np.sqrt(sp.r0 / sp.ns)  # ||theta*|| = ||Sigma|| = 1
    assert np.all(np.diff(ratio) < 0)  # the bias falls faster than the bound's rate
    # at n = 800: measured 0.0060; the bias has a 5.5% standard error there
    assert 0.0051 < ratio[-1] < 0.0070

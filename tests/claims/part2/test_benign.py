"""Claims of book/part2/benign.md, asserted with the chapter's own calls (cached).

Tolerances come from the measured spread at the quick scale (5 designs per n, n = 50..800):
the spiked risk falls by a factor of 6.0 (std over designs below 4% of the mean at every n),
the isotropic risk stays within 1.49..1.57, and variance / (k*/n + n/R_k*) lies in 1.02..2.06.
"""

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


def test_spiked_conditions_vanish_and_isotropic_ones_do_not(conditions):
    sp, iso = conditions["spiked"], conditions["isotropic"]
    for key in ("r0_over_n", "k_star_over_n", "n_over_R"):
        assert np.all(np.diff(sp[key]) < 0)  # "all three ratios fall"
        assert sp[key][-1] < 0.02  # "towards zero": 0.011, 0.0005, 0.010 at n = 10,000
    assert np.all(sp["k_star"][NS_GRID >= 9] == 5)  # "k* = 5"
    np.testing.assert_allclose(iso["r0_over_n"], 2)
    np.testing.assert_allclose(iso["k_star_over_n"], 0)
    np.testing.assert_allclose(iso["n_over_R"], 0.5)


def test_power_law_exercise_k_star_stays_near_n(conditions):
    pw = conditions["power"]
    assert np.all(pw["k_star_over_n"] > 1.0) and 1.0 < pw["k_star_over_n"][-1] < 1.05  # 1.01
    assert np.all(pw["n_over_R"] > 0.3)  # 0.34 at n = 10,000
    assert pw["r0_over_n"][-1] < 1e-3 and pw["r0"][-1] == pytest.approx(np.pi**2 / 6, rel=1e-3)


def test_exact_formula_agrees_with_simulation():
    check = benign.monte_carlo_check("spiked", 100, seed=0)  # the chapter's call
    exact = check["bias"] + check["variance"]
    assert abs(check["risk"] - exact) < 4 * check["risk_se"]
    assert abs(check["test_risk"] - exact) < 4 * check["test_risk_se"] + 0.02 * exact
    assert check["train_residual"] < 1e-10  # "passes through its training labels"
    assert abs(check["bias"] - check["bias_direct"]) < 1e-12
    assert abs(check["variance"] - check["variance_direct"]) < 1e-12


def test_benign_risk_goes_to_zero(results):
    sp = results["spiked"]
    risk = sp.mean("risk")
    assert np.all(np.diff(risk) < 0)  # falls at every step
    assert risk[-1] < risk[0] / 4  # measured factor 6.0 at the quick scale
    assert np.all(sp.std("risk") < 0.1 * risk)  # the trend is far above the spread
    assert np.all(sp.bias + sp.variance > 0)


def test_isotropic_risk_stays_at_the_closed_form_limit(results):
    iso = results["isotropic"]
    risk = iso.mean("risk")
    assert np.all(risk > 1.0)  # "worse than predicting 0"
    assert np.all(np.abs(risk - 1.5) < 0.15)  # measured 1.49..1.57
    assert linear.asymptotic_risk_isotropic(2.0, snr=1.0) == pytest.approx(1.5)
    n, p = int(iso.ns[-1]), int(iso.p[-1])
    expected = linear.expected_risk_gaussian(n, p, snr=1.0)
    se = iso.std("risk")[-1] / np.sqrt(len(iso.seeds))
    assert abs(risk[-1] - expected) < 4 * se + 0.01


def test_bias_and_variance_split(results):
    sp, iso = results["spiked"], results["isotropic"]
    for name in ("bias", "variance"):
        assert np.all(np.diff(sp.mean(name)) < 0)  # "both parts vanish"
    assert np.all(sp.mean("variance") > 5 * sp.mean("bias"))  # variance dominates

    def slope(name):
        return np.polyfit(np.log(sp.ns[-3:]), np.log(sp.mean(name)[-3:]), 1)[0]

    assert -1.2 < slope("bias") < -0.8  # "about like 1/n": measured -0.97
    assert -0.75 < slope("variance") < -0.45  # measured -0.60, heading for -1/2
    np.testing.assert_allclose(iso.mean("bias"), 0.5, atol=0.06)  # 1 - n/p
    np.testing.assert_allclose(iso.mean("variance"), 1.0, atol=0.06)  # n / (p - n - 1)


def test_variance_tracks_the_theorem_rate_within_a_constant(results):
    ratios = np.concatenate([r.mean("variance") / r.variance_rate for r in results.values()])
    assert 0.9 < ratios.min() and ratios.max() < 2.3  # measured 1.02 to 2.06
    sp = results["spiked"]
    assert np.all(sp.k_star == 5)
    np.testing.assert_allclose(sp.variance_rate, 5 / sp.ns + sp.ns / sp.R_kstar)


def test_bias_bound_is_loose_for_this_signal(results):
    sp = results["spiked"]
    bound_rate = np.sqrt(sp.r0 / sp.ns)  # ||theta*|| = ||Sigma|| = 1
    assert np.all(sp.mean("bias") < bound_rate / 10)

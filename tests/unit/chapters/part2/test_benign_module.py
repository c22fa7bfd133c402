import math

import numpy as np
import pytest

from generalization.chapters.part2 import benign

# --- effective ranks -----------------------------------------------------------------------


@pytest.mark.parametrize("p", [1, 7, 100])
def test_isotropic_effective_ranks_are_p_minus_k(p):
    lam = benign.isotropic(p)
    for k in range(p):
        assert benign.effective_ranks(lam, k) == pytest.approx((p - k, p - k), rel=1e-12)
    r, R = benign.all_effective_ranks(lam)
    np.testing.assert_allclose(r, p - np.arange(p), rtol=1e-12)
    np.testing.assert_allclose(R, p - np.arange(p), rtol=1e-12)


def test_effective_ranks_of_a_spiked_spectrum_by_hand():
    # lam = (4, 1, 1, 1): r_0 = 7/4, R_0 = 49/19; r_1 = R_1 = 3.
    lam = [4.0, 1.0, 1.0, 1.0]
    assert benign.effective_ranks(lam, 0) == pytest.approx((7 / 4, 49 / 19))
    assert benign.effective_ranks(lam, 1) == pytest.approx((3, 3))
    assert benign.effective_ranks(lam, 3) == pytest.approx((1, 1))


def test_geometric_spectrum_has_bounded_effective_ranks():
    # lam_i = q^i: sum_{i>k} lam_i / lam_{k+1} -> 1 / (1 - q) for every k (infinite tail).
    q = 0.5
    lam = q ** np.arange(200)
    r, R = benign.all_effective_ranks(lam)
    np.testing.assert_allclose(r[:100], 1 / (1 - q), rtol=1e-12)
    np.testing.assert_allclose(R[:100], (1 + q) / (1 - q), rtol=1e-12)


def test_vectorized_ranks_match_the_scalar_function():
    lam = benign.power_law(300, a=1.0, beta=2.0)
    r, R = benign.all_effective_ranks(lam)
    for k in (0, 1, 17, 299):
        assert (r[k], R[k]) == pytest.approx(benign.effective_ranks(lam, k), rel=1e-12)
    assert np.all((r >= 1 - 1e-12) & (R >= 1 - 1e-12) & (R <= 300 - np.arange(300) + 1e-9))


def test_k_star_and_conditions():
    lam = benign.spiked(5, 10_000, 1.0, 0.01)  # r_k = 5 - k + 100 for k < 5, r_5 = 10,000
    assert benign.k_star(lam, 100) == 0  # r_0 = 105 >= 100
    assert benign.k_star(lam, 200) == 5  # r_4 = 101 < 200 <= r_5
    assert benign.k_star(lam, 100, b=2.0) == 5
    assert benign.k_star(lam, 20_000) is None  # no k < p has r_k >= 20,000
    c = benign.benign_conditions(lam, 200)
    assert (c.k_star, c.R_kstar) == (5, pytest.approx(10_000))
    assert c.r0_over_n == pytest.approx(105 / 200) and c.n_over_R == pytest.approx(0.02)
    assert c.variance_rate == pytest.approx(5 / 200 + 0.02)
    missing = benign.benign_conditions(lam, 20_000)
    assert (
        missing.k_star is None
        and math.isinf(missing.k_star_over_n)
        and math.isnan(missing.n_over_R)
    )


def test_chapter_spectra_have_the_stated_shapes():
    lam = benign.spectrum_for_n("spiked", 100)
    assert lam.size == 5 + 1000 and lam[0] == 1 and lam[-1] == pytest.approx(10 / 1000)
    assert np.sum(lam[5:]) == pytest.approx(10.0)  # tail mass sqrt(n)
    assert benign.spectrum_for_n("isotropic", 100).size == 200
    assert benign.spectrum_for_n("power", 100)[:3] == pytest.approx([1, 1 / 4, 1 / 9])
    assert benign.power_law(3, a=1, beta=2)[1] == pytest.approx(1 / (2 * math.log(3) ** 2))


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lam, k, message",
    [
        ([3.0, 2.0, 0.0], 0, r"eigenvalues must be positive; got 0.0 at index 2"),
        ([3.0, -1.0], 0, r"eigenvalues must be positive; got -1.0 at index 1"),
        ([1.0, 2.0], 0, r"sorted non-increasing; got 1.0 at index 0 followed by 2.0"),
        ([[1.0]], 0, r"eigenvalues must be a"),
        ([], 0, r"eigenvalues must be a"),
        ([1.0, np.nan], 0, r"finite"),
        ([2.0, 1.0], 2, r"k must be an integer from 0 to 1; got 2"),
        ([2.0, 1.0], -1, r"got -1"),
        ([2.0, 1.0], 0.5, r"got 0.5"),
        ([2.0, 1.0], True, r"got True"),
    ],
)
def test_effective_ranks_reject_bad_input(lam, k, message):
    with pytest.raises(ValueError, match=message):
        benign.effective_ranks(lam, k)


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="n must be a positive integer; got 0"):
        benign.k_star([1.0], 0)
    with pytest.raises(ValueError, match="b must be a positive number; got -1"):
        benign.k_star([1.0], 3, b=-1)
    with pytest.raises(
        ValueError, match="spectrum must be one of \\('spiked', 'isotropic', 'power'\\); got 'flat'"
    ):
        benign.spectrum_for_n("flat", 10)
    with pytest.raises(ValueError, match="tail must be a number in \\(0, 1\\]; got 2.0"):
        benign.spiked(2, 3, spike=1.0, tail=2.0)
    with pytest.raises(ValueError, match="theta must have shape"):
        benign.gram_statistics([1.0, 1.0], [1.0], 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="method must be"):
        benign.bias_variance(np.ones((2, 2)), [1.0, 1.0], [1.0, 0.0], method="svd")
    X = np.random.default_rng(0).standard_normal((5, 3))  # p < n: K is singular
    with pytest.raises(ValueError, match="K = X X\\^T must be invertible"):
        benign.bias_variance(X, [1.0, 1.0, 1.0], [1.0, 0, 0], method="gram")


# --- exact risk: three paths and Monte Carlo -----------------------------------------------


def _problem(n=30, p=120, seed=0):
    lam = benign.power_law(p, a=0.5)
    theta = np.random.default_rng(seed + 100).standard_normal(p) / math.sqrt(p)
    return lam, theta, benign.sample_design(lam, n, np.random.default_rng(seed), block=50)


def test_gram_path_equals_direct_path():
    lam, theta, X = _problem()
    gram = benign.bias_variance(X, lam, theta, noise_var=0.7, method="gram")
    direct = benign.bias_variance(X, lam, theta, noise_var=0.7, method="direct")
    np.testing.assert_allclose(gram, direct, rtol=1e-9)
    assert benign.bias_variance(X, lam, theta, noise_var=0.7) == pytest.approx(
        gram, rel=1e-12
    )  # auto


def test_direct_path_agrees_with_explicit_matrices():
    # bias = theta^T (I - P) Sigma (I - P) theta,  variance = sigma^2 tr(pinv^T Sigma pinv), P =
    # pinv X.
    lam, theta, X = _problem(n=10, p=25)
    pinv = np.linalg.pinv(X)
    I_P = np.eye(25) - pinv @ X
    Sigma = np.diag(lam)
    bias, variance = benign.bias_variance(X, lam, theta, noise_var=2.0, method="direct")
    assert bias == pytest.approx(theta @ I_P @ Sigma @ I_P @ theta, rel=1e-10)
    assert variance == pytest.approx(2.0 * np.trace(pinv.T @ Sigma @ pinv), rel=1e-10)


def test_direct_path_handles_fewer_features_than_samples():
    # p < n: min-norm = OLS, no bias, variance sigma^2 tr(Sigma (X^T X)^{-1}).
    lam, theta, X = _problem(n=40, p=10)
    bias, variance = benign.bias_variance(X, lam, theta, method="direct")
    assert bias == pytest.approx(0, abs=1e-12)
    assert variance == pytest.approx(np.trace(np.diag(lam) @ np.linalg.inv(X.T @ X)), rel=1e-10)


def test_streaming_gram_statistics_equal_those_of_the_stored_design():
    lam, theta, _ = _problem()
    X = benign.sample_design(lam, 30, np.random.default_rng(5), block=50)
    streamed = benign.gram_statistics(lam, theta, 30, np.random.default_rng(5), block=50)
    stored = benign.gram_statistics(lam, theta, X=X, block=50)
    for name in ("K", "M", "a", "c"):
        np.testing.assert_allclose(
            getattr(streamed, name), getattr(stored, name), rtol=1e-12, atol=1e-12
        )
    np.testing.assert_allclose(streamed.M, X @ np.diag(lam) @ X.T, rtol=1e-10)


def test_flat_block_shortcut_equals_general_formula():
    lam = benign.spiked(3, 200, 1.0, 0.05)
    theta = benign.theta_star(lam.size)
    s = benign.gram_statistics(lam, theta, 20, np.random.default_rng(1), block=64)
    X = benign.sample_design(lam, 20, np.random.default_rng(1), block=64)
    np.testing.assert_allclose(s.M, (X * lam) @ X.T, rtol=1e-10)


@pytest.mark.parametrize("spectrum", ["spiked", "isotropic"])
def test_exact_bias_plus_variance_matches_monte_carlo(spectrum):
    # 4,000 noise draws: the standard error is about 0.5% of the risk; we allow 4 of them.
    lam = benign.spectrum_for_n(spectrum, 40)
    theta = benign.theta_star(lam.size)
    rng = np.random.default_rng(3)
    X = benign.sample_design(lam, 40, rng)
    bias, variance = benign.bias_variance(X, lam, theta, noise_var=0.5)
    mc = benign.simulated_risk(X, lam, theta, 0.5, rng, num_noise=4000, num_test=3000)
    assert abs(mc["risk"] - (bias + variance)) < 4 * mc["risk_se"]
    assert abs(mc["test_risk"] - (bias + variance)) < 4 * mc["test_risk_se"] + 0.03 * (
        bias + variance
    )
    assert mc["train_residual"] < 1e-10  # the fits interpolate


def test_noiseless_risk_is_pure_bias_and_isotropic_bias_is_projection():
    # Sigma = I: bias = ||(I - P) theta||^2 and E bias = ||theta||^2 (1 - n/p) over X.
    p, n = 60, 20
    lam, theta = benign.isotropic(p), benign.theta_star(p)
    biases = []
    for seed in range(200):
        X = benign.sample_design(lam, n, np.random.default_rng(seed))
        bias, variance = benign.bias_variance(X, lam, theta, noise_var=0.0)
        assert variance == 0.0
        biases.append(bias)
    assert np.mean(biases) == pytest.approx(1 - n / p, abs=4 * np.std(biases) / math.sqrt(200))


def test_risk_vs_n_shapes_and_determinism():
    a = benign.risk_vs_n.uncached("isotropic", (10, 20), (0, 1))
    b = benign.risk_vs_n.uncached("isotropic", (10, 20), (0, 1))
    assert a.bias.shape == (2, 2) and a.mean("risk").shape == (2,)
    np.testing.assert_array_equal(a.risk, b.risk)
    np.testing.assert_array_equal(a.p, [20, 40])
    np.testing.assert_allclose(a.variance_rate, 0.5)
    with pytest.raises(ValueError, match="seeds must be a non-empty"):
        benign.risk_vs_n.uncached("isotropic", (10,), ())


def test_monte_carlo_check_reports_its_sizes():
    check = benign.monte_carlo_check.uncached("spiked", 20, seed=0, num_noise=50, num_test=40)
    assert (check["n"], check["num_noise"], check["num_test"]) == (20, 50, 40)
    assert check["p"] == benign.spectrum_for_n("spiked", 20).size

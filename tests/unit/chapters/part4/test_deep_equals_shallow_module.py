"""Unit tests of the chapter module of book/part4/deep_equals_shallow.md against independent
computations."""

import numpy as np
import pytest
from scipy import linalg, special

from generalization import ntk, sphere
from generalization.chapters.part4 import deep_equals_shallow as des


def kappa0(t):
    return 1 - np.arccos(t) / np.pi


def kappa1(t):
    return (np.sqrt(1 - t * t) + (np.pi - np.arccos(t)) * t) / np.pi


def bietti_bach(t, J):
    """The paper's recursion written out: (kappa_NNGP^J, kappa_NTK^J / J), both 1 at t = 1."""
    nngp, theta = t, t
    for _ in range(J - 1):
        theta = theta * kappa0(nngp) + kappa1(nngp)
        nngp = kappa1(nngp)
    return nngp, theta / J


T = np.linspace(-1, 1, 101)


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_relu_kappa_is_the_arc_cosine_recursion(depth):
    nngp, ntk_ = bietti_bach(T, depth + 1)
    np.testing.assert_allclose(des.relu_kappa(depth, "nngp", 3)(T), nngp, atol=1e-7)
    np.testing.assert_allclose(des.relu_kappa(depth, "ntk", 5)(T), ntk_, atol=1e-7)


def test_relu_kappa_with_a_bias_matches_the_formula_by_hand():
    # bias_var = 2/d: Sigma^1 = (2/d)(1 + t), correlation rho = (1 + t)/2, then
    # NNGP = (4/d) kappa1(rho) + 2/d and NTK = NNGP + (2/d)(1 + t) kappa0(rho), at t = 1: 6/d, 10/d
    rho = (1 + T) / 2
    nngp = (2 * kappa1(rho) + 1) / 3
    ntk_ = (4 * kappa1(rho) + 2 + 2 * (1 + T) * kappa0(rho)) / 10
    np.testing.assert_allclose(des.relu_kappa(1, "nngp", 3, bias=True)(T), nngp, atol=1e-7)
    np.testing.assert_allclose(des.relu_kappa(1, "ntk", 3, bias=True)(T), ntk_, atol=1e-7)


def test_shallow_kernels_are_linear_plus_even_deep_ones_are_not():
    t = np.linspace(0.05, 0.95, 19)
    for kind in des.KINDS:
        shallow = des.relu_kappa(1, kind, 3)
        odd = (shallow(t) - shallow(-t)) / (2 * t)  # constant when the odd part is c t
        assert np.ptp(odd) < 1e-7
        deep = des.relu_kappa(2, kind, 3)
        assert np.ptp((deep(t) - deep(-t)) / (2 * t)) > 1e-3


def test_pick_takes_the_kernel_asked_for():
    X = sphere.uniform_sphere(6, 4, seed=1)
    pair = ntk.relu_kernels(X, None, 2)
    np.testing.assert_array_equal(des.pick(pair, "ntk"), ntk.relu_ntk(X, None, 2))
    np.testing.assert_array_equal(des.pick(pair, "nngp"), ntk.relu_nngp(X, None, 2))
    with pytest.raises(ValueError, match="kind must be one of"):
        des.pick(pair, "gp")


def test_kernel_regression_interpolates_and_agrees_with_a_dense_solve():
    X = sphere.uniform_sphere(40, 3, seed=2)
    Z = sphere.uniform_sphere(15, 3, seed=3)
    K, K_test = ntk.relu_ntk(X, None, 2), ntk.relu_ntk(Z, X, 2)
    Y = np.random.default_rng(0).standard_normal((40, 3))
    pred = des.kernel_regression(K, K_test, Y)
    np.testing.assert_allclose(pred, K_test @ linalg.solve(K, Y, assume_a="pos"), atol=1e-9)
    np.testing.assert_allclose(des.kernel_regression(K, K, Y[:, 0]), Y[:, 0], atol=1e-8)
    with pytest.raises(ValueError, match="K_train must be positive definite"):
        des.kernel_regression(-K, K_test, Y)
    with pytest.raises(ValueError, match="K_train, K_test, Y must have shapes"):
        des.kernel_regression(K, K_test[:, :5], Y)


def test_harmonic_targets_have_unit_mean_square_and_their_parity():
    X = sphere.uniform_sphere(40000, 3, seed=4)
    w = np.array([0.0, 0.6, 0.8])
    for k in (3, 4):
        f = des.harmonic_target(X, k, w)
        np.testing.assert_allclose(f, np.sqrt(2 * k + 1) * special.eval_legendre(k, X @ w))
        assert np.mean(f**2) == pytest.approx(1.0, abs=0.03)  # Monte Carlo: sd about 0.01
        np.testing.assert_allclose(des.harmonic_target(-X[:5], k, w), (-1) ** k * f[:5])
    with pytest.raises(ValueError, match="X must have 3 columns"):
        des.harmonic_target(np.ones((2, 4)) / 2, 3, w)


def test_degree_averages_group_the_places_of_each_degree():
    mu = np.array([0.5, 0.2, 0.05, 0.0, 0.01])  # degree 3 is zero and has no place
    wanted = sphere.spectrum_with_multiplicities(mu, 3)  # 1 + 3 + 5 + 9 places, then 7 zeros
    noisy = wanted * (1 + 0.1 * np.tile([1, -1], wanted.size)[: wanted.size])
    degrees, mu_k, means = des.degree_averages(np.sort(noisy)[::-1], mu, 3, 4)
    assert degrees.tolist() == [0, 1, 2, 4]
    np.testing.assert_allclose(mu_k, [0.5, 0.2, 0.05, 0.01])
    np.testing.assert_allclose(means[1:], mu_k[1:], rtol=0.04)
    with pytest.raises(ValueError, match="eigenvalues must cover 5 non-zero degrees"):
        des.degree_averages(noisy, mu, 3, 5)


def test_one_hot_centred_rows_sum_to_zero():
    Y = des.one_hot_centred(np.array([0, 3, 9]))
    np.testing.assert_allclose(Y.sum(1), 0.0, atol=1e-15)
    assert Y[1, 3] == pytest.approx(0.9)


def test_parity_experiment_runs_small_and_the_shallow_kernel_misses_the_odd_target():
    result = des.parity_experiment.uncached(3, 80, 200, (1, 2), (0,))
    assert result.error["odd"]["ntk"].shape == (1, 2)
    assert result.error["odd"]["ntk"][0, 0] > 1  # no degree-3 component at all
    assert result.error["odd"]["ntk"][0, 1] < 0.5
    with pytest.raises(ValueError, match="d must be 3"):
        des.parity_experiment.uncached(4, 80, 200, (1,), (0,))


def test_spectrum_experiment_small_finds_the_exponents():
    result = des.spectrum_experiment.uncached((3,), (1, 2), 80, 30)
    assert result.slope_even["ntk"][0] == pytest.approx([-3, -3], abs=0.08)
    assert np.isnan(result.slope_odd["nngp"][0, 0]) and result.slope_odd["nngp"][0, 1] < -4.8
    with pytest.raises(ValueError, match="fit_from must be an integer from 1 to 77"):
        des.spectrum_experiment.uncached((3,), (1,), 80, 78)

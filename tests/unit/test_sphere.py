import math

import numpy as np
import pytest
from scipy import integrate, special

from generalization import sphere

# --- multiplicities and polynomials ------------------------------------------------------


def test_harmonic_dimension_matches_the_dimensions_of_homogeneous_polynomials():
    # harmonics of degree k on S^{d-1} are the homogeneous polynomials of degree k in d
    # variables modulo |x|^2 times those of degree k - 2: C(k+d-1, d-1) - C(k+d-3, d-1)
    for d in (2, 3, 4, 7):
        for k in range(9):
            expected = math.comb(k + d - 1, d - 1) - (math.comb(k + d - 3, d - 1) if k >= 2 else 0)
            assert sphere.harmonic_dimension(d, k) == expected
    assert sphere.harmonic_dimension(3, np.arange(4)).tolist() == [1, 3, 5, 7]


@pytest.mark.parametrize("d", [2, 3, 4, 6])
def test_gegenbauer_recurrence_matches_scipy(d):
    t = np.linspace(-1, 1, 41)
    P = sphere.gegenbauer(30, d, t)
    for k in range(31):
        if d == 2:
            expected = special.eval_chebyt(k, t)
        else:
            a = (d - 2) / 2
            expected = special.eval_gegenbauer(k, a, t) / special.eval_gegenbauer(k, a, 1.0)
        np.testing.assert_allclose(P[k], expected, atol=1e-12)


# --- the eigenvalues against closed forms ------------------------------------------------


@pytest.mark.parametrize("d", [2, 3, 4, 5])
def test_exponential_kernel_eigenvalues_are_bessel_functions(d):
    # Funk-Hecke for exp(s t): mu_k = Gamma(d/2) (2/s)^{(d-2)/2} I_{k + (d-2)/2}(s)
    s = 1.7
    mu = sphere.mercer_eigenvalues(lambda t: np.exp(s * t), d, 25)
    k = np.arange(26)
    expected = special.gamma(d / 2) * (2 / s) ** ((d - 2) / 2) * special.iv(k + (d - 2) / 2, s)
    # to rounding: about 1e-14 of max kappa = e^s, where the Bessel functions fall below it
    np.testing.assert_allclose(mu, expected, rtol=1e-10, atol=2e-14 * np.exp(s))


@pytest.mark.parametrize("d", [3, 4, 9])
def test_square_kernel_has_two_eigenvalues(d):
    # t^2 = 1/d (degree 0) + a degree-2 part; the trace N(d, 2) mu_2 = 1 - 1/d gives
    # mu_2 = 2 / (d (d + 2)); every other mu_k vanishes
    mu = sphere.mercer_eigenvalues(lambda t: t**2, d, 6)
    expected = np.zeros(7)
    expected[0], expected[2] = 1 / d, 2 / (d * (d + 2))
    np.testing.assert_allclose(mu, expected, atol=1e-14)


@pytest.mark.parametrize("nu", [0.5, 1.5])
def test_endpoint_power_kernel_matches_the_legendre_integral(nu):
    # on S^2, mu_k = 1/2 int (1 - t)^nu P_k(t) dt
    #            = (-1)^k 2^nu Gamma(nu + 1)^2 / (Gamma(nu + k + 2) Gamma(nu + 1 - k)),
    # which decays like k^(-2 nu - 2) = k^(-d - 2 nu + 1): Theorem 1 of Bietti and Bach
    k = np.arange(61)
    mu = sphere.mercer_eigenvalues(lambda t: (1 - t) ** nu, 3, 60)
    expected = (
        (-1.0) ** k
        * 2**nu
        * special.gamma(nu + 1) ** 2
        / (special.gamma(nu + k + 2) * special.gamma(nu + 1 - k))
    )
    np.testing.assert_allclose(mu, expected, rtol=1e-8, atol=1e-15)
    slope = np.polyfit(np.log(k[30:]), np.log(np.abs(mu[30:])), 1)[0]
    assert slope == pytest.approx(-2 * nu - 2, abs=0.1)  # -2.98 and -4.95: O(1/k) corrections


def test_arc_cosine_eigenvalues_match_adaptive_quadrature_in_t():
    # kappa_1 of Cho and Saul on S^3, against scipy.integrate.quad with the Gegenbauer weight
    def kappa1(t):
        return (np.sqrt(1 - t * t) + (np.pi - np.arccos(t)) * t) / np.pi

    d = 4
    mu = sphere.mercer_eigenvalues(kappa1, d, 8)
    c = special.gamma(d / 2) / (np.sqrt(np.pi) * special.gamma((d - 1) / 2))
    for k in range(9):
        P = lambda t: special.eval_gegenbauer(k, 1.0, t) / (k + 1)  # noqa: E731  C_k^1(1) = k+1
        value = integrate.quad(lambda t: kappa1(t) * P(t) * np.sqrt(1 - t * t), -1, 1)[0]
        assert mu[k] == pytest.approx(c * value, abs=1e-10)


def test_trace_sums_the_eigenvalues_with_their_multiplicities():
    mu = sphere.mercer_eigenvalues(lambda t: np.exp(2 * t), 4, 40)
    assert np.sum(sphere.harmonic_dimension(4, np.arange(41)) * mu) == pytest.approx(np.exp(2))


def test_doubling_the_nodes_changes_nothing_for_a_smooth_kernel():
    kappa = lambda t: np.exp(-np.sqrt(2 * (1 - t)))  # noqa: E731  Laplace: smooth in theta
    a = sphere.mercer_eigenvalues(kappa, 3, 80)
    b = sphere.mercer_eigenvalues(kappa, 3, 80, nodes=1000)
    np.testing.assert_allclose(a, b, atol=1e-15)


def test_kernel_matrix_spectrum_approaches_the_eigenvalues_with_multiplicities():
    # the eigenvalues of K / n on uniform points, against mu_k repeated N(d, k) times
    d, n = 3, 900
    kappa = lambda t: np.exp(2 * t)  # noqa: E731
    X = sphere.uniform_sphere(n, d, seed=3)
    empirical = np.linalg.eigvalsh(kappa(np.clip(X @ X.T, -1, 1)) / n)[::-1]
    predicted = sphere.spectrum_with_multiplicities(sphere.mercer_eigenvalues(kappa, d, 6), d)
    assert predicted.size == 49
    np.testing.assert_allclose(empirical[:16], predicted[:16], rtol=0.15)
    # the largest (degree 0) to within its Monte Carlo error
    assert empirical[0] == pytest.approx(predicted[0], rel=0.05)


# --- points and bad input ----------------------------------------------------------------


def test_uniform_sphere_points_have_unit_norm_and_no_preferred_direction():
    X = sphere.uniform_sphere(4000, 3, seed=0)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0)
    assert np.all(np.abs(X.mean(0)) < 4 / np.sqrt(4000 * 3))  # mean 0, sd 1/sqrt(3n)
    np.testing.assert_allclose(X.T @ X / 4000, np.eye(3) / 3, atol=0.03)
    np.testing.assert_array_equal(X, sphere.uniform_sphere(4000, 3, seed=0))


def test_spectrum_with_multiplicities_repeats_and_sorts():
    out = sphere.spectrum_with_multiplicities([0.1, 0.5, 0.2], 3)
    np.testing.assert_array_equal(out, [0.5] * 3 + [0.2] * 5 + [0.1])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: sphere.harmonic_dimension(1, 2), "d must be an integer of at least 2"),
        (lambda: sphere.harmonic_dimension(3, -1), "k must be a non-empty sequence of non-neg"),
        (lambda: sphere.gegenbauer(3, 3, [0.0, 1.5]), r"t must lie in \[-1, 1\]"),
        (lambda: sphere.gegenbauer(-1, 3, [0.0]), "k_max must be a non-negative integer"),
        (lambda: sphere.mercer_eigenvalues(2.0, 3, 4), "kappa must be a callable"),
        (lambda: sphere.mercer_eigenvalues(lambda t: t[:3], 3, 4), "kappa\\(t\\) must have"),
        (lambda: sphere.mercer_eigenvalues(np.cos, 3, 4, nodes=0), "nodes must be a positive"),
        (lambda: sphere.to_sphere([[1.0, 0.0], [0.0, 0.0]]), "X must have no zero row"),
        (lambda: sphere.uniform_sphere(5, 3, seed=-1), "seed must be a non-negative integer"),
    ],
)
def test_bad_input_is_a_value_error_that_names_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()

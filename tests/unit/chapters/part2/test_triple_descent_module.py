import numpy as np
import pytest

from generalization import linear
from generalization.chapters.part2 import triple_descent as td


def test_activation_family_moments():
    # sigma_r has mean 0, variance 1 and E[z sigma_r] = sqrt(r) under N(0, 1), for every r.
    for r in (0.0, 0.3, 0.93, 1.0):
        mu0, mu1, mu_star = td.hermite_coefficients(lambda z: td.activation(z, r))
        assert mu0 == pytest.approx(0.0, abs=1e-7)
        assert mu1 == pytest.approx(np.sqrt(r), abs=1e-7)
        assert mu_star**2 == pytest.approx(1 - r, abs=1e-7)
        assert td.linearity(lambda z: td.activation(z, r)) == pytest.approx(r, abs=1e-7)


def test_even_part_is_even_and_teacher_is_the_same_family():
    z = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(td.even_part(z), td.even_part(-z))
    np.testing.assert_allclose(td.teacher(z, 0.0), z)
    np.testing.assert_allclose(td.teacher(z, 0.4), td.activation(z, 0.6))


def test_known_degrees_of_linearity():
    assert td.linearity(lambda z: np.maximum(z, 0)) == pytest.approx(
        np.pi / (2 * (np.pi - 1)), abs=1e-7
    )
    assert td.linearity(lambda z: 3 * z + 1) == pytest.approx(1.0)
    assert td.linearity(np.abs) == pytest.approx(0.0, abs=1e-12)
    assert td.linearity(np.tanh) == pytest.approx(0.9305, abs=1e-4)


def test_draw_problem_is_nested():
    big = td.draw_problem(5, 30, 20, 0.5, 0.2, 0.1, seed=3, n_test=7)
    small = td.draw_problem(5, 12, 8, 0.5, 0.2, 0.1, seed=3, n_test=7)
    np.testing.assert_array_equal(big.features[:12, :8], small.features)
    np.testing.assert_array_equal(big.y[:12], small.y)
    np.testing.assert_array_equal(big.test_features[:, :8], small.test_features)
    np.testing.assert_array_equal(big.f_test, small.f_test)
    assert big.features.shape == (30, 20) and big.test_features.shape == (7, 20)


def test_noiseless_linear_problem_has_no_noise():
    prob = td.draw_problem(4, 10, 3, 1.0, 0.0, 0.0, seed=0, n_test=5)
    # linear activation, linear target: labels are a linear function of the inputs only
    assert np.all(np.isfinite(prob.y)) and prob.y.shape == (10,)


def test_ridge_fits_match_the_linear_module():
    rng = np.random.default_rng(0)
    A, y = rng.standard_normal((15, 25)), rng.standard_normal(15)
    A_test, f_test = rng.standard_normal((9, 25)), rng.standard_normal(9)
    lams = (0.0, 0.3)
    test, train, norm2 = td.ridge_fits(A, y, A_test, f_test, lams)
    w0 = linear.min_norm_solution(A, y)
    w1 = linear.ridge_solution(A, y, 0.3 / 15)  # linear's alpha multiplies n
    for k, w in enumerate((w0, w1)):
        assert test[k] == pytest.approx(np.mean((A_test @ w - f_test) ** 2), rel=1e-9)
        assert train[k] == pytest.approx(np.mean((A @ w - y) ** 2), rel=1e-7, abs=1e-12)
        assert norm2[k] == pytest.approx(w @ w, rel=1e-9)
    assert train[0] < 1e-12  # p > n: interpolates


def test_ridge_fits_training_error_when_n_exceeds_N():
    rng = np.random.default_rng(1)
    A, y = rng.standard_normal((30, 6)), rng.standard_normal(30)
    test, train, _ = td.ridge_fits(A, y, A[:5], y[:5], (0.0,))
    w = np.linalg.lstsq(A, y, rcond=None)[0]
    assert train[0] == pytest.approx(np.mean((A @ w - y) ** 2), rel=1e-10)


def test_peaks_and_bump():
    n = np.array([1, 2, 3, 4, 5, 6, 7, 8])
    err = np.array([1.0, 3.0, 2.0, 1.0, 1.5, 9.0, 2.0, 1.0])
    assert td.peaks(n, err, 4.5) == (2.0, 3.0, 6.0, 9.0)
    assert td.bump(n, err, 1, 4) == (2.0, 3.0)
    assert td.bump(n, np.arange(8.0) + 1, 2, 6) == (6.0, 1.0)  # rising: no interior peak
    n2 = np.array([5, 10, 15, 20, 40, 60, 80, 100, 160])
    e2 = np.array([1, 2, 3, 1, 1, 9, 2, 1, 0.5])
    assert td.peak_report(n2, e2, 10, 40) == (15.0, 3.0, 60.0, 4.5)


def test_sample_wise_and_phase_diagram_small():
    curve = td.sample_wise.uncached(
        6, 24, (3, 6, 12, 24, 48), 0.9, 0.0, 0.5, (0.0, 0.1), (0, 1), n_test=50
    )
    assert curve.test_error.shape == (2, 5, 2) and curve.log_mean.shape == (2, 5)
    assert curve.train_error[0, :4].max() < 1e-12  # n <= N interpolates
    assert np.all(curve.test_error[1] < curve.test_error[0][:, :] * 1e6)
    phase = td.phase_diagram.uncached(6, (6, 12), (6, 12, 24), 0.9, 0.0, 0.5, 0.0, (0,), n_test=50)
    assert phase.test_error.shape == (3, 2, 1)
    # the phase diagram and the sweep use the same nested draw: same numbers at the same (N, n)
    again = td.sample_wise.uncached(6, 12, (6, 12, 24), 0.9, 0.0, 0.5, (0.0,), (0,), n_test=50)
    np.testing.assert_allclose(phase.test_error[:, 1, 0], again.test_error[0, :, 0], rtol=1e-10)


def test_sizes_and_settings():
    assert td.sizes(40, (0.5, 1.0, 8.0)) == (20, 40, 320)
    assert td.settings("full")["D"] > td.settings("quick")["D"]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: td.activation(0.0, 1.5), "r must be a number in"),
        (lambda: td.activation(0.0, "a"), "r must be a number in"),
        (lambda: td.teacher(0.0, -0.1), "s must be a number in"),
        (lambda: td.hermite_coefficients(3), "func must be a callable"),
        (lambda: td.hermite_coefficients(np.tanh, 50), "num_points must be at least 101"),
        (lambda: td.hermite_coefficients(lambda z: z[:3]), "same shape"),
        (lambda: td.linearity(lambda z: np.ones_like(z)), "constant"),
        (lambda: td.draw_problem(0, 5, 5, 0.5, 0.0, 0.1, 0), "D must be a positive integer"),
        (lambda: td.draw_problem(3, 5, 5, 0.5, 0.0, -1.0, 0), "noise_var must be a non-negative"),
        (lambda: td.draw_problem(3, 5, 5, 0.5, 0.0, 0.1, -2), "seed must be"),
        (
            lambda: td.ridge_fits(np.ones(3), np.ones(3), np.ones((2, 3)), np.ones(2), (0.0,)),
            "A must be",
        ),
        (
            lambda: td.ridge_fits(np.ones((3, 2)), np.ones(4), np.ones((2, 2)), np.ones(2), (0.0,)),
            "y must have shape",
        ),
        (
            lambda: td.ridge_fits(np.ones((3, 2)), np.ones(3), np.ones((2, 5)), np.ones(2), (0.0,)),
            "A_test must have",
        ),
        (
            lambda: td.ridge_fits(np.ones((3, 2)), np.ones(3), np.ones((2, 2)), np.ones(3), (0.0,)),
            "f_test must have",
        ),
        (
            lambda: td.ridge_fits(np.eye(2), np.ones(2), np.eye(2), np.ones(2), (-1.0,)),
            "lambdas must be",
        ),
        (
            lambda: td.ridge_fits(np.eye(2), np.ones(2), np.eye(2), np.ones(2), ()),
            "lambdas must be a non-empty",
        ),
        (lambda: td.sample_wise.uncached(4, 8, (), 0.5), "n_values must be a non-empty"),
        (lambda: td.sample_wise.uncached(4, 8, (2, 4), 0.5, seeds=()), "seeds must be a non-empty"),
        (lambda: td.phase_diagram.uncached(4, (4,), (4,), 0.5, lam=-1), "lam must be"),
        (lambda: td.peaks([1, 2, 3], [1, 2, 3], 5), "split must lie"),
        (lambda: td.peaks([1, 3, 2], [1, 2, 3], 2.5), "strictly increasing"),
        (lambda: td.peaks([1, 2], [1, 2, 3], 1.5), "one shape"),
        (lambda: td.bump([1, 2, 3], [1, 2, 3], 1, 7), "low and high must be sizes"),
        (lambda: td.bump([1, 2, 3], [1, 2, 3], 1, 2), "strictly inside"),
        (lambda: td.peak_report([1, 2, 3], [1, 2, 3], 10, 20), "N must be at least 4 D"),
        (lambda: td.sizes(10, (0.01,)), "positive integer"),
        (lambda: td.settings("huge"), "scale must be one of"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()

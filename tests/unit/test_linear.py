import numpy as np
import pytest

from generalization import linear


def problem(n, p, seed=0, k=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = rng.standard_normal(n if k is None else (n, k))
    return X, y


def rank_deficient(n=30, p=50, rank=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, rank)) @ rng.standard_normal((rank, p))
    return X, rng.standard_normal(n)


CASES = [problem(20, 60), problem(60, 20), problem(25, 25), rank_deficient(), problem(20, 60, k=3)]


@pytest.mark.parametrize("X, y", CASES)
def test_min_norm_equals_pinv_and_lstsq(X, y):
    w = linear.min_norm_solution(X, y)
    np.testing.assert_allclose(w, np.linalg.pinv(X) @ y, atol=1e-9)
    np.testing.assert_allclose(w, np.linalg.lstsq(X, y, rcond=None)[0], atol=1e-9)
    assert w.shape == (X.shape[1],) + y.shape[1:]


@pytest.mark.parametrize("X, y", CASES)
def test_ridge_tends_to_min_norm_as_alpha_goes_to_zero(X, y):
    w = linear.min_norm_solution(X, y)
    s = np.linalg.svd(X, compute_uv=False)
    s_min = s[s > 1e-10 * s[0]].min()  # alpha must be small against s_min^2 / n
    scale = s_min**2 / X.shape[0]
    gaps = [np.linalg.norm(linear.ridge_solution(X, y, c * scale) - w) for c in (1e-2, 1e-5, 1e-8)]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-6 * np.linalg.norm(w)
    np.testing.assert_array_equal(linear.ridge_solution(X, y, 0.0), w)


def test_ridge_matches_normal_equations():
    X, y = problem(30, 12)
    alpha = 0.3
    direct = np.linalg.solve(X.T @ X + 30 * alpha * np.eye(12), X.T @ y)
    np.testing.assert_allclose(linear.ridge_solution(X, y, alpha), direct, atol=1e-12)


@pytest.mark.parametrize("n, p", [(20, 60), (60, 20)])
def test_gd_from_zero_converges_to_min_norm_in_the_row_space(n, p):
    X, y = problem(n, p, seed=1)
    lr = 1.0 / np.linalg.eigvalsh(X.T @ X / n)[-1]
    path = linear.gd_path(X, y, lr, 3000)
    assert path.shape == (3001, p)
    np.testing.assert_allclose(path[-1], linear.min_norm_solution(X, y), atol=1e-8)
    P = np.linalg.pinv(X) @ X
    assert np.max(np.abs(path - path @ P.T)) < 1e-10  # never leaves the row space


def test_gd_from_nonzero_start_converges_to_nearest_interpolant():
    X, y = problem(20, 60, seed=2)
    w0 = np.random.default_rng(3).standard_normal(60)
    lr = 1.0 / np.linalg.eigvalsh(X.T @ X / 20)[-1]
    last = linear.gd_path(X, y, lr, 3000, w0=w0, record_every=1000)
    assert last.shape == (4, 60)
    nearest = w0 + np.linalg.pinv(X) @ (y - X @ w0)
    np.testing.assert_allclose(last[-1], nearest, atol=1e-8)
    np.testing.assert_allclose(X @ last[-1], y, atol=1e-8)  # an interpolant ...
    assert (
        np.linalg.norm(last[-1] - linear.min_norm_solution(X, y)) > 1.0
    )  # ... not the min-norm one


def test_gd_step_convention_is_one_over_2n():
    X, y = problem(10, 4)
    path = linear.gd_path(X, y, 0.1, 1)
    np.testing.assert_allclose(path[1], -0.1 * X.T @ (-y) / 10)


def test_kernel_form_gives_the_min_norm_predictor():
    X, y = problem(30, 80, k=2)
    X_test = np.random.default_rng(5).standard_normal((7, 80))
    np.testing.assert_allclose(
        linear.kernel_min_norm_predict(X, y, X_test),
        X_test @ linear.min_norm_solution(X, y),
        atol=1e-10,
    )
    X, y = rank_deficient()
    X_test = np.random.default_rng(6).standard_normal((7, 50))
    np.testing.assert_allclose(
        linear.kernel_min_norm_predict(X, y, X_test),
        X_test @ linear.min_norm_solution(X, y),
        atol=1e-8,
    )


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: linear.min_norm_solution(np.ones(3), np.ones(3)), "2-D"),
        (lambda: linear.min_norm_solution(np.ones((3, 2)), np.ones(4)), "shape"),
        (lambda: linear.min_norm_solution(np.full((2, 2), np.nan), np.ones(2)), "finite"),
        (lambda: linear.ridge_solution(np.ones((3, 2)), np.ones(3), -1.0), "non-negative"),
        (lambda: linear.gd_path(np.ones((3, 2)), np.ones(3), 0.0, 5), "positive"),
        (lambda: linear.gd_path(np.ones((3, 2)), np.ones(3), 0.1, -1), "num_steps"),
        (lambda: linear.gd_path(np.ones((3, 2)), np.ones(3), 0.1, 5, w0=np.ones(3)), "w0"),
        (
            lambda: linear.kernel_min_norm_predict(np.ones((3, 2)), np.ones(3), np.ones((2, 5))),
            "X_test",
        ),
        (lambda: linear.asymptotic_risk_isotropic(-1.0, 1.0), "gamma"),
        (lambda: linear.asymptotic_risk_isotropic(2.0, -1.0), "snr"),
        (
            lambda: linear.optimal_ridge_risk_isotropic(2.0, 1.0, noise_var=float("nan")),
            "noise_var",
        ),
    ],
)
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message) as info:
        call()
    assert "got" in str(info.value)


def test_closed_form_values_on_both_sides():
    assert linear.asymptotic_risk_isotropic(0.5, 1.0, 1.0) == pytest.approx(1.0)
    assert linear.asymptotic_risk_isotropic(2.0, 1.0, 1.0) == pytest.approx(0.5 + 1.0)
    assert linear.asymptotic_risk_isotropic(5.0, 3.0, 2.0) == pytest.approx(6.0 * 0.8 + 2.0 / 4)
    assert np.isinf(linear.asymptotic_risk_isotropic(1.0, 1.0))


@pytest.mark.parametrize("gamma", [0.3, 1.0, 2.5])
def test_marchenko_pastur_stieltjes_matches_empirical_spectrum(gamma):
    n = 800
    X = np.random.default_rng(0).standard_normal((n, int(gamma * n)))
    eig = np.linalg.eigvalsh(X.T @ X / n)
    for lam in (0.1, 1.0):
        assert np.mean(1 / (eig + lam)) == pytest.approx(linear.mp_stieltjes(lam, gamma), rel=0.02)


def test_optimal_ridge_is_optimal_and_below_null_risk():
    gamma = np.array([0.3, 1.0, 4.0])
    risk, alpha = linear.optimal_ridge_risk_isotropic(gamma, 2.0, 1.0)
    np.testing.assert_allclose(alpha, gamma / 2.0)
    assert np.all(risk < 2.0)  # r^2 = snr * sigma^2: the risk of predicting zero
    # R(a) = r^2 a^2 m'(-a) + sigma^2 gamma (m(-a) - a m'(-a)) is smallest at a = alpha*.
    for g, a_star, r_star in zip(gamma, alpha, risk):

        def R(a, h=1e-6):
            m = linear.mp_stieltjes(a, g)
            dm = (linear.mp_stieltjes(a - h, g) - linear.mp_stieltjes(a + h, g)) / (2 * h)  # m'(-a)
            return 2.0 * a * a * dm + g * (m - a * dm)

        assert R(a_star) == pytest.approx(r_star, rel=1e-6)
        assert R(0.5 * a_star) > r_star and R(2 * a_star) > r_star


def test_monte_carlo_risk_equals_test_set_error():
    # ||w - beta||^2 is the excess risk on fresh isotropic inputs.
    rng = np.random.default_rng(0)
    w, beta = rng.standard_normal(20), rng.standard_normal(20)
    X0 = rng.standard_normal((200_000, 20))
    assert np.mean((X0 @ (w - beta)) ** 2) == pytest.approx(np.sum((w - beta) ** 2), rel=0.02)


@pytest.mark.parametrize("X, y", CASES)
def test_spectral_ridge_min_norm_equals_lstsq(X, y):
    w = linear.SpectralRidge(X).solution(y, 0.0)
    np.testing.assert_allclose(w, np.linalg.lstsq(X, y, rcond=None)[0], atol=1e-10)


@pytest.mark.parametrize("n, p", [(30, 80), (80, 30)])
def test_spectral_ridge_equals_scikit_learn_ridge_at_every_penalty(n, p):
    from sklearn.linear_model import Ridge

    X, y = problem(n, p, seed=3)
    fits = linear.SpectralRidge(X)
    for alpha in (1e-4, 1e-2, 1.0):
        # scikit-learn minimizes ||X w - y||^2 + a ||w||^2: a = n alpha in the book's scaling
        expected = Ridge(alpha=n * alpha, fit_intercept=False, solver="cholesky").fit(X, y).coef_
        np.testing.assert_allclose(fits.solution(y, alpha), expected, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(
            fits.solution(y, alpha), linear.ridge_solution(X, y, alpha), rtol=1e-12, atol=1e-14
        )


@pytest.mark.parametrize("n, p", [(40, 120), (120, 40)])
def test_gram_method_matches_the_svd(n, p):
    X, y = problem(n, p, seed=5, k=2)
    svd, gram = linear.SpectralRidge(X), linear.SpectralRidge(X, method="gram")
    np.testing.assert_allclose(gram.s, svd.s, rtol=1e-10)
    for alpha in (0.0, 1e-3):
        np.testing.assert_allclose(
            gram.solution(y, alpha), svd.solution(y, alpha), rtol=1e-8, atol=1e-10
        )
    np.testing.assert_allclose(gram.U.T @ gram.U, np.eye(len(gram.s)), atol=1e-10)


def test_spectral_ridge_cuts_off_what_it_cannot_resolve():
    X, y = rank_deficient(n=30, p=50, rank=10)
    assert (
        len(linear.SpectralRidge(X).s) == 10 and len(linear.SpectralRidge(X, method="gram").s) == 10
    )
    np.testing.assert_allclose(linear.ridge_gains(np.array([2.0, 4.0]), 10, 0.0), [0.5, 0.25])
    np.testing.assert_allclose(linear.ridge_gains(np.array([2.0]), 10, 0.1), [2.0 / (4.0 + 1.0)])


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: linear.SpectralRidge(np.ones((3, 2)), method="qr"),
            r"method must be one of \('svd', 'gram'\); got 'qr'",
        ),
        (
            lambda: linear.SpectralRidge(np.eye(3)).solution(np.ones(3), -1.0),
            "alpha must be a non-negative number; got -1.0",
        ),
        (
            lambda: linear.SpectralRidge(np.eye(3)).solution(np.ones(4), 0.0),
            r"y must have n = 3 rows.*got shape \(4,\)",
        ),
        (
            lambda: linear.SpectralRidge(np.eye(3), rcond=-1.0),
            "rcond must be a non-negative number; got -1.0",
        ),
    ],
)
def test_spectral_ridge_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()

import numpy as np
import pytest
import torch
from scipy import integrate
from scipy.optimize import minimize

from generalization import diagonal_nets as dn


def problem(n=4, d=9, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal(n)


# --- the regularizer ---------------------------------------------------------------------


def test_q_is_the_integral_of_arcsinh_over_two():
    for z in (-7.0, -0.3, 0.0, 1e-4, 0.8, 5.0, 40.0):
        integral = integrate.quad(lambda t: np.arcsinh(t / 2), 0, z, epsabs=1e-13)[0]
        assert dn.q(z) == pytest.approx(integral, rel=1e-10, abs=1e-15)


def test_q_matches_its_written_formula_and_its_expansions():
    z = np.array([-3.0, 0.5, 2.0, 30.0])
    written = 2 - np.sqrt(4 + z**2) + z * np.arcsinh(z / 2)
    np.testing.assert_allclose(dn.q(z), written, rtol=1e-13)
    assert dn.q(1e-6) == pytest.approx(1e-12 / 4, rel=1e-9)  # z^2 / 4 near 0
    big = 1e8  # |z| log |z| - |z| + 2 + O(log|z| / |z|)
    assert dn.q(big) == pytest.approx(big * np.log(big) - big + 2, rel=1e-12)


def test_implicit_regularizer_tends_to_the_squared_l2_norm_and_to_the_l1_norm():
    w = np.array([0.5, -1.2, 0.0, 2.0])
    alpha = 1e3  # 4 alpha^2 Q_alpha(w) -> ||w||^2
    assert 4 * alpha**2 * dn.implicit_regularizer(w, alpha) == pytest.approx(w @ w, rel=1e-6)
    alpha = 1e-6  # Q = sum |w| log(|w| / alpha^2) - |w| + O(alpha^2 log): l1 weighted by log
    a = np.abs(w[w != 0])
    expected = np.sum(a * np.log(a / alpha**2) - a)
    assert dn.implicit_regularizer(w, alpha) == pytest.approx(expected, rel=1e-9)


def test_balanced_weights_give_w_and_keep_the_product():
    w = np.array([-3.0, -1e-9, 0.0, 0.2, 5.0])
    u, v = dn.balanced_weights(w, 0.1)
    assert np.all(u > 0) and np.all(v > 0)
    np.testing.assert_allclose(u * u - v * v, w, atol=1e-15, rtol=1e-12)
    np.testing.assert_allclose(u * v, 0.01, rtol=1e-12)


# --- the tangent kernel and gradient descent ---------------------------------------------


def test_tangent_kernel_is_the_gram_matrix_of_torch_gradients():
    X, _ = problem()
    rng = np.random.default_rng(1)
    u, v = rng.random(9) + 0.1, rng.random(9) + 0.1
    p = torch.tensor(np.r_[u, v], requires_grad=True)
    rows = [
        torch.autograd.grad(torch.as_tensor(x) @ (p[:9] ** 2 - p[9:] ** 2), p)[0].numpy() for x in X
    ]  # the gradient of f(x) in (w_+, w_-), one example at a time
    J = np.array(rows)
    np.testing.assert_allclose(dn.tangent_kernel(X, u, v), J @ J.T, rtol=1e-12)
    np.testing.assert_allclose(
        dn.tangent_kernel(X, 0.3 * np.ones(9), 0.3 * np.ones(9)), 8 * 0.09 * X @ X.T, rtol=1e-12
    )


def torch_gd(X, y, alpha, lr, steps):
    """Gradient descent on the loss, differentiated by torch.autograd."""
    u = torch.full((X.shape[1],), alpha, dtype=torch.float64, requires_grad=True)
    v = torch.full((X.shape[1],), alpha, dtype=torch.float64, requires_grad=True)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    for _ in range(steps):
        loss = ((Xt @ (u * u - v * v) - yt) ** 2).mean() / 2
        gu, gv = torch.autograd.grad(loss, (u, v))
        with torch.no_grad():
            u -= lr * gu
            v -= lr * gv
    return (u * u - v * v).detach().numpy()


def test_gradient_descent_matches_torch_autograd_for_each_scale():
    X, y = problem()
    alphas, lrs = np.array([0.05, 0.5, 2.0]), np.array([0.05, 0.04, 0.01])
    run = dn.gradient_descent(X, y, alphas, lrs, max_steps=40, tol=1e-300)
    assert run.w.shape == (3, 9) and np.all(run.steps == 40)
    for k in range(3):
        np.testing.assert_allclose(run.w[k], torch_gd(X, y, alphas[k], lrs[k], 40), atol=1e-13)
    one = dn.gradient_descent(X, y, 0.5, 0.04, max_steps=40, tol=1e-300)
    assert one.w.shape == (9,)
    np.testing.assert_allclose(one.w, run.w[1], atol=1e-15)


def test_one_step_shrinks_the_product_u_v_by_one_minus_4_lr2_g2():
    X, y = problem()
    alpha, lr = 0.3, 0.02
    run = dn.gradient_descent(X, y, alpha, lr, max_steps=1, check_every=1)
    g = X.T @ (0 - y) / 4  # the gradient in w at w = 0
    np.testing.assert_allclose(run.u * run.v, alpha**2 * (1 - 4 * lr**2 * g**2), rtol=1e-13)


def test_large_scale_ends_at_the_min_l2_interpolant_small_scale_near_the_min_l1_one():
    X, y = problem(n=5, d=30, seed=3)
    alphas = np.array([30.0, 1e-3])
    lam = np.linalg.eigvalsh(X.T @ X / 5)[-1]
    lrs = np.array([0.2 / (8 * 30.0**2 * lam), 0.01])
    run = dn.gradient_descent(X, y, alphas, lrs, max_steps=60_000, tol=1e-9)
    assert np.all(run.converged)
    l2 = np.linalg.pinv(X) @ y
    assert np.linalg.norm(run.w[0] - l2) < 1e-3 * np.linalg.norm(l2)
    w_q, _ = dn.min_q_interpolant(X, y, 1e-3)  # Woodworth et al.'s Theorem 1, to the step's gap
    assert np.linalg.norm(run.w[1] - w_q) < 0.02 * np.linalg.norm(w_q)
    l1 = dn.min_l1_interpolant(X, y)
    assert np.sum(np.abs(run.w[1])) < 1.05 * np.sum(np.abs(l1)) < np.sum(np.abs(l2))


def test_gradient_descent_reports_a_learning_rate_that_flips_the_weights():
    X, y = problem()
    with pytest.raises(ValueError, match="lr must be small enough for u and v to stay positive"):
        dn.gradient_descent(X, y, 1.0, 50.0, max_steps=10)


# --- the three interpolants --------------------------------------------------------------


def test_min_l2_interpolant_is_the_pseudo_inverse_formula():
    X, y = problem()
    np.testing.assert_allclose(dn.min_l2_interpolant(X, y), X.T @ np.linalg.solve(X @ X.T, y))


def test_min_l1_interpolant_of_one_equation_puts_everything_on_the_largest_entry():
    x = np.array([[0.5, -3.0, 2.0, 0.1]])
    w = dn.min_l1_interpolant(x, np.array([1.5]))
    np.testing.assert_allclose(w, [0.0, -0.5, 0.0, 0.0], atol=1e-12)


def test_min_l1_interpolant_beats_every_other_interpolant_we_try():
    X, y = problem(n=4, d=12, seed=5)
    w = dn.min_l1_interpolant(X, y)
    np.testing.assert_allclose(X @ w, y, atol=1e-9)
    null = np.linalg.svd(X)[2][4:]  # a basis of the null space of X
    rng = np.random.default_rng(0)
    for _ in range(200):
        other = w + null.T @ rng.standard_normal(8) * rng.choice([1e-3, 1e-1, 1.0])
        assert np.abs(other).sum() >= np.abs(w).sum() - 1e-9
    assert np.count_nonzero(np.abs(w) > 1e-9) <= 4  # a vertex: at most n non-zeros


def test_min_q_interpolant_matches_a_generic_constrained_solver():
    X, y = problem(n=3, d=7, seed=2)
    for alpha in (0.2, 1.0):
        w, nu = dn.min_q_interpolant(X, y, alpha)
        primal = minimize(
            lambda b: dn.implicit_regularizer(b, alpha),
            np.linalg.pinv(X) @ y,
            jac=lambda b: np.arcsinh(b / (2 * alpha**2)),
            constraints=[dict(type="eq", fun=lambda b: X @ b - y, jac=lambda b: X)],
            method="SLSQP",
            options=dict(ftol=1e-14, maxiter=500),
        )
        np.testing.assert_allclose(w, primal.x, atol=1e-6)
        np.testing.assert_allclose(np.arcsinh(w / (2 * alpha**2)), X.T @ nu, atol=1e-9)


def test_min_q_interpolant_satisfies_the_optimality_condition_and_has_the_two_limits():
    X, y = problem(n=5, d=20, seed=4)
    l2, l1 = dn.min_l2_interpolant(X, y), dn.min_l1_interpolant(X, y)
    w_big, _ = dn.min_q_interpolant(X, y, 30.0)
    assert np.linalg.norm(w_big - l2) < 1e-4 * np.linalg.norm(l2)
    nu = None
    for alpha in (1.0, 1e-2, 1e-4, 1e-8, 1e-12):  # warm starts down the sweep
        w, nu = dn.min_q_interpolant(X, y, alpha, nu0=nu)
        grad = np.arcsinh(w / (2 * alpha**2))  # must lie in the row space of X
        in_rows = X.T @ np.linalg.lstsq(X.T, grad, rcond=None)[0]
        assert np.linalg.norm(grad - in_rows) < 1e-7 * np.linalg.norm(grad)
    assert np.linalg.norm(w - l1) < 0.01 * np.linalg.norm(l1)  # slowly: like 1 / log(1 / alpha)
    assert dn.implicit_regularizer(w, 1e-12) <= dn.implicit_regularizer(l1, 1e-12)


def test_sparse_regression_plants_a_unit_norm_sparse_vector():
    X, y, w = dn.sparse_regression(10, 30, 4, seed=7)
    assert X.shape == (10, 30) and y.shape == (10,)
    assert np.count_nonzero(w) == 4
    np.testing.assert_allclose(np.abs(w[w != 0]), 0.5)
    np.testing.assert_allclose(y, X @ w)
    np.testing.assert_array_equal(dn.sparse_regression(10, 30, 4, seed=7)[0], X)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: dn.implicit_regularizer([1.0], 0.0), "alpha must be a positive number"),
        (lambda: dn.balanced_weights([[1.0]], 1.0), "w must be a 1-D array"),
        (
            lambda: dn.tangent_kernel(np.ones((2, 3)), np.ones(2), np.ones(3)),
            r"u must have shape \(d,\) = \(3,\)",
        ),
        (
            lambda: dn.gradient_descent(np.ones((2, 3)), np.ones(3), 1.0, 0.1, 5),
            r"y must have shape \(n,\) with n = X.shape\[0\] = 2",
        ),
        (
            lambda: dn.gradient_descent(np.ones((2, 3)), np.ones(2), [1.0, 2.0], [0.1] * 3, 5),
            "lr must be one number or one per alpha",
        ),
        (
            lambda: dn.gradient_descent(np.ones((2, 3)), np.zeros(2), 1.0, 0.1, 5),
            "y must not be all zero",
        ),
        (
            lambda: dn.gradient_descent(np.ones((2, 3)), np.ones(2), -1.0, 0.1, 5),
            "alpha must be positive",
        ),
        (
            lambda: dn.min_l1_interpolant(np.zeros((1, 2)), np.ones(1)),
            "X, y must admit an interpolant",
        ),
        (
            lambda: dn.min_q_interpolant(np.ones((2, 3)), np.ones(2), 1.0, nu0=np.ones(3)),
            r"nu0 must have shape \(n,\) = \(2,\)",
        ),
        (lambda: dn.sparse_regression(5, 4, 6, 0), "sparsity must be an integer from 1 to 4"),
    ],
)
def test_bad_input_is_a_value_error_with_a_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()

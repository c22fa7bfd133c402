"""Tests of generalization.hypergradients: the two recursions against a closed form, against
PyTorch's backward pass through the unrolled run, and against finite differences of a NumPy
gradient-descent loop."""

import numpy as np
import pytest
import torch

from generalization import hypergradients as hg


def _ridge_problem(n=12, p=4, seed=0):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, p)), rng.standard_normal(n)
    Xv, yv = rng.standard_normal((n, p)), rng.standard_normal(n)
    return X, y, Xv, yv


def _ridge_losses(X, y, Xv, yv):
    Xt, yt, Xvt, yvt = (torch.as_tensor(a) for a in (X, y, Xv, yv))

    def train_loss(w, lam):
        return ((Xt @ w - yt) ** 2).sum() / (2 * len(yt)) + lam[0] * (w**2).sum() / 2

    def val_loss(w):
        return ((Xvt @ w - yvt) ** 2).sum() / (2 * len(yvt))

    return train_loss, val_loss


def _ridge_closed_form(X, y, Xv, yv, w0, lam, lr, T):
    """w_T = M^T w0 + (I - M^T) S b with M = I - lr (A + lam I), S = (A + lam I)^-1, and its
    derivative in lam (all these matrices commute)."""
    n, p = X.shape
    A, b = X.T @ X / n, X.T @ y / n
    S = np.linalg.inv(A + lam * np.eye(p))
    M = np.eye(p) - lr * (A + lam * np.eye(p))
    MT, MT1 = np.linalg.matrix_power(M, T), np.linalg.matrix_power(M, T - 1)
    wT = MT @ w0 + (np.eye(p) - MT) @ S @ b
    dwT = -T * lr * MT1 @ w0 + T * lr * MT1 @ S @ b - (np.eye(p) - MT) @ S @ S @ b
    residual = Xv @ wT - yv
    value = residual @ residual / (2 * len(yv))
    grad_w = Xv.T @ residual / len(yv)
    return value, grad_w @ dwT, wT, grad_w, S


@pytest.mark.parametrize("mode", hg.MODES)
def test_every_mode_matches_the_closed_form_of_ridge_gradient_descent(mode):
    X, y, Xv, yv = _ridge_problem()
    train_loss, val_loss = _ridge_losses(X, y, Xv, yv)
    w0 = np.random.default_rng(1).standard_normal(4)
    value, derivative, wT, _, _ = _ridge_closed_form(X, y, Xv, yv, w0, 0.3, 0.2, 25)
    result = hg.hypergradient(train_loss, val_loss, w0, [0.3], lr=0.2, steps=25, mode=mode)
    assert result.value == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(result.weights, wT, rtol=1e-11)
    np.testing.assert_allclose(result.gradient, [derivative], rtol=1e-9)


def test_a_long_run_approaches_the_implicit_function_hypergradient():
    X, y, Xv, yv = _ridge_problem(n=30)
    train_loss, val_loss = _ridge_losses(X, y, Xv, yv)
    lam, lr = 0.5, 0.3
    result = hg.hypergradient(train_loss, val_loss, np.zeros(4), [lam], lr=lr, steps=300)
    # at the minimizer w* = S b, d w*/d lam = -S w*, so dE/dlam = -grad_w^T S w*
    _, _, w_star, grad_w, S = _ridge_closed_form(X, y, Xv, yv, np.zeros(4), lam, lr, 10_000)
    np.testing.assert_allclose(result.gradient, [-grad_w @ S @ w_star], rtol=1e-8)


def _weighted_logistic(n=10, p=3, seed=2):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, p)), rng.integers(0, 2, n) * 2.0 - 1
    Xv, yv = rng.standard_normal((n, p)), rng.integers(0, 2, n) * 2.0 - 1
    return X, y, Xv, yv


def _numpy_validation_loss(X, y, Xv, yv, lam, w0, lr, steps):
    """Gradient descent on sum_i sigmoid(lam_i) log(1 + exp(-y_i x_i.w)) / n + 0.05 ||w||^2,
    written independently in NumPy."""
    weights = 1 / (1 + np.exp(-lam))
    w = w0.copy()
    for _ in range(steps):
        margins = y * (X @ w)
        grad = -(X.T @ (weights * y / (1 + np.exp(margins)))) / len(y) + 0.1 * w
        w = w - lr * grad
    return np.mean(np.log1p(np.exp(-yv * (Xv @ w))))


def test_reverse_forward_autograd_and_finite_differences_agree_with_one_weight_per_example():
    X, y, Xv, yv = _weighted_logistic()
    Xt, yt, Xvt, yvt = (torch.as_tensor(a) for a in (X, y, Xv, yv))

    def train_loss(w, lam):
        losses = torch.nn.functional.softplus(-yt * (Xt @ w))
        return (torch.sigmoid(lam) * losses).mean() + 0.05 * (w**2).sum()

    def val_loss(w):
        return torch.nn.functional.softplus(-yvt * (Xvt @ w)).mean()

    rng = np.random.default_rng(3)
    w0, lam = rng.standard_normal(3), rng.standard_normal(10)
    results = {
        mode: hg.hypergradient(train_loss, val_loss, w0, lam, lr=0.5, steps=15, mode=mode)
        for mode in hg.MODES
    }
    h = 1e-6
    finite = np.array(
        [
            (
                _numpy_validation_loss(X, y, Xv, yv, lam + h * e, w0, 0.5, 15)
                - _numpy_validation_loss(X, y, Xv, yv, lam - h * e, w0, 0.5, 15)
            )
            / (2 * h)
            for e in np.eye(10)
        ]
    )
    for mode, result in results.items():
        np.testing.assert_allclose(result.gradient, finite, rtol=1e-6, atol=1e-10, err_msg=mode)
        assert result.value == pytest.approx(_numpy_validation_loss(X, y, Xv, yv, lam, w0, 0.5, 15))
    np.testing.assert_allclose(
        results["reverse"].gradient, results["autograd"].gradient, rtol=1e-12
    )
    np.testing.assert_allclose(
        results["forward"].gradient, results["autograd"].gradient, rtol=1e-10
    )
    assert results["reverse"].stored_floats == 16 * 3
    assert results["forward"].stored_floats == 3 * 10
    assert hg.validation_loss(train_loss, val_loss, w0, lam, lr=0.5, steps=15) == pytest.approx(
        results["reverse"].value, rel=1e-14
    )


def test_zero_steps_give_a_zero_hypergradient_and_the_initial_weights():
    X, y, Xv, yv = _ridge_problem()
    train_loss, val_loss = _ridge_losses(X, y, Xv, yv)
    for mode in hg.MODES:
        result = hg.hypergradient(
            train_loss, val_loss, np.ones(4), [0.1], lr=0.1, steps=0, mode=mode
        )
        np.testing.assert_array_equal(result.gradient, [0.0])
        np.testing.assert_array_equal(result.weights, np.ones(4))


def test_the_iterates_are_gradient_descent():
    X, y, Xv, yv = _ridge_problem()
    train_loss, _ = _ridge_losses(X, y, Xv, yv)
    weights = hg.unrolled_weights(train_loss, np.zeros(4), [0.2], lr=0.1, steps=3)
    A, b = X.T @ X / 12 + 0.2 * np.eye(4), X.T @ y / 12
    w = np.zeros(4)
    for t in range(1, 4):
        w = w - 0.1 * (A @ w - b)
        np.testing.assert_allclose(weights[t].numpy(), w, rtol=1e-13)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"mode": "implicit"},
            "mode must be one of ('reverse', 'forward', 'autograd'); got 'implicit'.",
        ),
        ({"lr": 0.0}, "lr must be"),
        ({"steps": -1}, "steps must be"),
        ({"w0": np.ones((2, 2))}, "w0 must be a 1-D array; got shape (2, 2)."),
        ({"lam": [np.nan]}, "lam must be finite; got NaN or infinity."),
        ({"train_loss": 3}, "train_loss must be a callable; got int."),
        (
            {"lr": 100.0, "steps": 200},
            "lr must be a step size at which gradient descent stays finite",
        ),
    ],
)
def test_bad_input_is_a_value_error_naming_what_was_expected(kwargs, message):
    X, y, Xv, yv = _ridge_problem()
    train_loss, val_loss = _ridge_losses(X, y, Xv, yv)
    arguments = {"train_loss": train_loss, "val_loss": val_loss, "w0": np.zeros(4), "lam": [0.1]}
    arguments.update({"lr": 0.1, "steps": 3, "mode": "reverse"})
    arguments.update(kwargs)
    with pytest.raises(ValueError) as raised:
        hg.hypergradient(**arguments)
    assert message in str(raised.value)

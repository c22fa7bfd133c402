import re

import numpy as np
import pytest

from generalization import deep_linear as dl
from generalization import nets


def whitened_problem(s=(3.0, 2.0, 1.0), n=60, d_in=4, seed=0):
    """Inputs with ``X^T X / n = I`` exactly and targets with ``Y^T X / n = U diag(s) V^T``."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, d_in)))
    X = Q * np.sqrt(n)
    d_out = len(s)
    U, _ = np.linalg.qr(rng.standard_normal((d_out, d_out)))
    V, _ = np.linalg.qr(rng.standard_normal((d_in, d_out)))
    Y = X @ (U @ np.diag(s) @ V.T).T
    return X, Y


def regression(n=40, d_in=4, d_out=3, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d_in))
    Y = X @ rng.standard_normal((d_in, d_out)) + 0.5 * rng.standard_normal((n, d_out))
    return X, Y


def test_the_problem_is_whitened():
    X, Y = whitened_problem()
    np.testing.assert_allclose(X.T @ X / len(X), np.eye(4), atol=1e-12)
    np.testing.assert_allclose(
        np.linalg.svd(Y.T @ X / len(X), compute_uv=False), [3, 2, 1], atol=1e-12
    )


@pytest.mark.parametrize("lr", [1e-3, 5e-4])
def test_depth_2_modes_follow_the_saxe_closed_form(lr):
    # Gradient descent is the Euler scheme of the flow da/dt = 2a(s - a). Per step the
    # discrete log-growth of a is 2 ln(1 + lr (s - a)) = 2 lr (s - a) - lr^2 (s - a)^2 + ...,
    # so the relative error accumulates to about lr * s^2 * (plateau time log(s/a0)/(2s))
    # = lr s log(s/a0) / 2 (measured: 4.4e-3 at lr = 1e-3, 2.2e-3 at 5e-4 for s = 3, a0 =
    # 0.01, against the estimate 8.6e-3 and 4.3e-3).
    X, Y = whitened_problem()
    a0 = 1e-2
    run = dl.train_deep_linear(X, Y, 2, 5, lr, int(6 / lr), scale=a0, record_every=10)
    np.testing.assert_allclose(run.s, [3, 2, 1], atol=1e-12)
    predicted = dl.saxe_trajectory(run.s, a0, 1.0, run.times)
    relative = np.abs(run.mode_strengths - predicted) / predicted
    bound = lr * run.s * np.log(run.s / a0) / 2
    assert np.all(relative.max(axis=0) < bound) and relative.max() < 1e-2
    assert predicted[-1].min() > 0.99 * run.s.min()  # the run covers every transition


def test_the_discretization_error_is_first_order_in_lr():
    X, Y = whitened_problem()
    errors = []
    for lr in (1e-3, 5e-4):
        run = dl.train_deep_linear(X, Y, 2, 5, lr, int(3 / lr), scale=1e-2, record_every=10)
        predicted = dl.saxe_trajectory(run.s, 1e-2, 1.0, run.times)
        errors.append(np.max(np.abs(run.mode_strengths - predicted) / predicted))
    assert 1.8 < errors[0] / errors[1] < 2.2


@pytest.mark.parametrize("depth", [2, 3])
def test_modes_are_learned_in_the_order_of_their_singular_values(depth):
    X, Y = whitened_problem(s=(3.0, 2.0, 1.0, 0.5), d_in=5)
    a0 = {2: 1e-3, 3: 1e-2}[depth]
    run = dl.train_deep_linear(X, Y, depth, 6, 2e-3, 8000, scale=a0, record_every=5)
    half = [run.times[np.argmax(a >= s / 2)] for a, s in zip(run.mode_strengths.T, run.s)]
    assert all(np.max(a) >= s / 2 for a, s in zip(run.mode_strengths.T, run.s))
    assert np.all(np.diff(half) > 0), half  # s decreasing -> half-times increasing
    if depth == 2:  # and at the closed form's half-times log(s/a0 - 1) / (2 s)
        np.testing.assert_allclose(half, np.log(run.s / a0 - 1) / (2 * run.s), rtol=0.02)


def test_balanced_start_keeps_the_modes_decoupled():
    X, Y = whitened_problem()
    run = dl.train_deep_linear(X, Y, 3, 5, 1e-3, 2000, scale=1e-2, record_every=500)
    W = run.end_to_end
    off = run.U.T @ W @ run.V - np.diag(run.mode_strengths[-1])
    assert np.abs(off).max() < 1e-12
    np.testing.assert_allclose(run.mode_strengths[0], 1e-2, rtol=1e-12)
    np.testing.assert_allclose(np.sort(run.singular_values[-1]), np.sort(run.mode_strengths[-1]))


@pytest.mark.parametrize(
    "depth, init, scale",
    [
        (1, "balanced", 1e-3),
        (2, "balanced", 1e-2),
        (3, "balanced", 0.3),
        (2, "random", 0.1),
        (3, "random", 0.3),
    ],
)
def test_converges_to_the_least_squares_map(depth, init, scale):
    X, Y = regression()
    run = dl.train_deep_linear(X, Y, depth, 5, 0.1, 8000, init=init, scale=scale, record_every=4000)
    W_ls = np.linalg.lstsq(X, Y, rcond=None)[0].T
    np.testing.assert_allclose(run.end_to_end, W_ls, atol=1e-8)
    residual = np.sum((X @ W_ls.T - Y) ** 2) / (2 * len(X))
    np.testing.assert_allclose(run.losses[-1], residual, rtol=1e-10)
    assert np.all(np.diff(run.losses) <= 1e-12)


def test_gradients_match_torch_autograd():
    import torch  # pinned in requirements.txt: a missing torch is an error, not a skip

    X, Y = regression()
    rng = np.random.default_rng(2)
    layers = [rng.standard_normal(shape) for shape in [(5, 4), (6, 5), (5, 6), (3, 5)]]
    loss, grads = dl.loss_and_gradients(layers, X, Y)
    with nets.threads(1):
        params = [torch.tensor(W, requires_grad=True) for W in layers]
        W = params[0]
        for P in params[1:]:
            W = P @ W
        value = ((W @ torch.tensor(X).T - torch.tensor(Y).T) ** 2).sum() / (2 * len(X))
        value.backward()
    assert loss == pytest.approx(value.item(), rel=1e-12)
    for g, p in zip(grads, params):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_a_training_step_is_one_gradient_step():
    X, Y = regression()
    run0 = dl.train_deep_linear(X, Y, 3, 5, 0.01, 0, init="random", scale=0.5, seed=3)
    run1 = dl.train_deep_linear(X, Y, 3, 5, 0.01, 1, init="random", scale=0.5, seed=3)
    _, grads = dl.loss_and_gradients(list(run0.layers), X, Y)
    for W0, W1, g in zip(run0.layers, run1.layers, grads):
        np.testing.assert_allclose(W1, W0 - 0.01 * g, atol=1e-14)
    assert [W.shape for W in run0.layers] == [(5, 4), (5, 5), (3, 5)]
    assert run1.steps.tolist() == [0, 1] and run1.times.tolist() == [0.0, 0.01]


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_balanced_factors_multiply_to_W_and_are_balanced(depth):
    rng = np.random.default_rng(4)
    W = rng.standard_normal((3, 2)) @ rng.standard_normal((2, 5))  # rank 2
    layers = dl.balanced_factors(W, depth, hidden=4, seed=1)
    np.testing.assert_allclose(dl.end_to_end(layers), W, atol=1e-12)
    for lower, upper in zip(layers, layers[1:]):
        np.testing.assert_allclose(upper.T @ upper, lower @ lower.T, atol=1e-12)
    with pytest.raises(ValueError, match="hidden must be at least the rank of W, 2; got 1"):
        dl.balanced_factors(W, 2, hidden=1)


def test_saxe_trajectory_solves_its_ode():
    s, a0 = np.array([2.0, 0.5, 0.0]), 0.01
    t = np.linspace(0, 10, 2001)
    a = dl.saxe_trajectory(s, a0, 2.0, t)
    assert a.shape == (2001, 3)
    np.testing.assert_allclose(a[0], a0)
    dadt = np.gradient(a, t, axis=0)
    np.testing.assert_allclose(2.0 * dadt[1:-1], (2 * a * (s - a))[1:-1], atol=2e-4)
    # the two closed forms of the docstring agree
    e = np.exp(2 * 2.0 * t / 2.0)
    np.testing.assert_allclose(a[:, 0], 2.0 * e / (e - 1 + 2.0 / a0), rtol=1e-12)
    assert dl.saxe_trajectory(1.0, 0.1, 1.0, 3.0).shape == ()
    np.testing.assert_allclose(dl.saxe_trajectory(1.0, 2.0, 1.0, [0.0, 50.0]), [2.0, 1.0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"depth": 0}, "depth must be a positive integer; got 0."),
        ({"hidden": 2.5}, "hidden must be a positive integer; got 2.5."),
        ({"lr": 0.0}, "lr must be a positive number; got 0.0."),
        ({"num_steps": -1}, "num_steps must be a non-negative integer; got -1."),
        ({"init": "orthogonal"}, "init must be one of ('balanced', 'random'); got 'orthogonal'."),
        ({"scale": -1.0}, "scale must be a positive number; got -1.0."),
        ({"record_every": 0}, "record_every must be a positive integer; got 0."),
        ({"Y": np.zeros((5, 2))}, "Y must have n = X.shape[0] = 40 rows"),
        ({"X": np.ones(40)}, "X must be a 2-D array; got shape (40,)."),
    ],
)
def test_train_rejects_bad_arguments(kwargs, message):
    X, Y = regression()
    args = {"X": X, "Y": Y, "depth": 2, "hidden": 3, "lr": 0.1, "num_steps": 1} | kwargs
    with pytest.raises(ValueError, match=re.escape(message)):
        dl.train_deep_linear(**args)


def test_divergence_is_reported():
    X, Y = regression()
    with pytest.raises(FloatingPointError, match="diverged"):
        dl.train_deep_linear(X, Y, 2, 3, 50.0, 200, init="random", scale=1.0)


def test_bad_layers_and_trajectory_arguments():
    X, Y = regression()
    with pytest.raises(ValueError, match=r"layers\[1\] must have 5 columns"):
        dl.loss_and_gradients([np.ones((5, 4)), np.ones((3, 4))], X, Y)
    with pytest.raises(
        ValueError, match="layers must have an end-to-end map from d_in = 4 inputs to d_out = 3"
    ):
        dl.loss_and_gradients([np.ones((2, 4))], X, Y)
    with pytest.raises(ValueError, match="layers must be a non-empty list"):
        dl.end_to_end([])
    with pytest.raises(ValueError, match=r"s must be non-negative; got -1.0\."):
        dl.saxe_trajectory(-1.0, 0.1, 1.0, [0.0])
    with pytest.raises(ValueError, match="a0 must be positive; got 0.0"):
        dl.saxe_trajectory(1.0, 0.0, 1.0, [0.0])
    with pytest.raises(ValueError, match="t must be non-negative"):
        dl.saxe_trajectory(1.0, 0.1, 1.0, [-1.0])
    with pytest.raises(ValueError, match="tau must be a positive number; got 0"):
        dl.saxe_trajectory(1.0, 0.1, 0, [1.0])

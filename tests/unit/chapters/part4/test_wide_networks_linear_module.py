"""Unit tests of the chapter module of book/part4/wide_networks_linear.md against independent
computations."""

import numpy as np
import pytest

from generalization import ntk
from generalization.chapters.part4 import wide_networks_linear as wnl


def test_standardize_gives_zero_mean_and_unit_variance_rows():
    X = np.random.default_rng(0).uniform(size=(5, 30))
    Z = wnl.standardize(X)
    assert np.allclose(Z.mean(axis=1), 0)
    assert np.allclose(Z.var(axis=1), 1)  # ||z||^2 = d with mean 0
    assert np.allclose(Z, (X - X.mean(1, keepdims=True)) / X.std(1, keepdims=True))


def test_standardize_rejects_a_constant_row():
    with pytest.raises(ValueError, match="X must have no constant row"):
        wnl.standardize(np.ones((2, 4)))


def test_flat_kernel_orders_rows_by_example_then_output():
    rng = np.random.default_rng(1)
    theta = rng.standard_normal((3, 4, 2, 5))
    K = wnl.flat_kernel(theta)
    assert K.shape == (6, 20)
    for i, j, a, b in [(0, 0, 0, 0), (2, 3, 1, 4), (1, 2, 0, 3)]:
        assert K[i * 2 + a, j * 5 + b] == theta[i, j, a, b]


def test_flat_kernel_rejects_a_matrix():
    with pytest.raises(ValueError, match="theta must be"):
        wnl.flat_kernel(np.eye(3))


def test_step_sizes_bound_the_iteration_of_the_residual():
    """Iterating r <- (I - lr K / n) r by hand: it shrinks just below eta_max, grows just above."""
    rng = np.random.default_rng(2)
    A = rng.standard_normal((6, 6))
    K = A @ A.T + 0.1 * np.eye(6)
    n = 6
    eta_max, eta_critical = wnl.step_sizes(K)
    lam = np.linalg.eigvalsh(K)
    assert eta_critical == pytest.approx(2 * n / (lam[0] + lam[-1]))
    r0 = rng.standard_normal(6)
    for factor, shrinks in ((0.98, True), (1.02, False)):
        r = r0.copy()
        for _ in range(2000):
            r = r - factor * eta_max * K @ r / n
        assert (np.linalg.norm(r) < np.linalg.norm(r0)) == shrinks
    # at eta_critical the extreme contraction factors are equal in size
    rates = np.abs(1 - eta_critical * lam / n)
    assert rates[0] == pytest.approx(rates[-1])


def test_squared_loss_rms_and_accuracy_by_hand():
    Y = np.eye(3)
    out = np.array([Y + 1.0, np.full_like(Y, np.inf)])
    loss = wnl.squared_loss(out, Y)
    assert loss[0] == pytest.approx(9 / 6)  # nine entries off by one, over 2n = 6
    assert np.isinf(loss[1])
    assert wnl.rms(np.ones(4), np.zeros(4)) == 1.0
    assert wnl.accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1])) == 0.5


def test_linearized_predictions_match_a_trained_linearization():
    """The closed form with the full empirical NTK against ntk.linearize trained step by step."""
    rng = np.random.default_rng(3)
    X, Xt = rng.standard_normal((6, 5)), rng.standard_normal((4, 5))
    labels = np.arange(6) % 3
    problem = wnl.Problem(X, np.eye(3)[labels], labels, Xt, np.eye(3)[labels[:4]], labels[:4])
    net = ntk.mlp((5, 16, 3), seed=0, dtype="float64")
    steps = (0, 1, 3, 7)
    train, test = wnl.linearized_predictions(net, problem, 0.3, steps)
    lin = ntk.linearize(net)
    got_train, got_test = ntk.gradient_descent(lin, X, problem.Y, 0.3, steps, Xt)
    assert np.allclose(train, got_train, atol=1e-10)
    assert np.allclose(test, got_test, atol=1e-10)

"""Unit tests of the chapter module of book/part4/finite_vs_infinite.md against independent
computations."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from generalization import ntk
from generalization.chapters.part4 import finite_vs_infinite as fv


def test_pool_and_standardize_averages_blocks_then_centres_and_scales_each_row():
    X = np.random.default_rng(0).random((2, 784))
    out = fv.pool_and_standardize(X)
    image = X[1].reshape(28, 28)
    blocks = np.array(
        [[image[2 * r : 2 * r + 2, 2 * c : 2 * c + 2].mean() for c in range(14)] for r in range(14)]
    ).ravel()
    blocks = blocks - blocks.mean()
    np.testing.assert_allclose(out[1], blocks / np.sqrt(np.mean(blocks**2)), rtol=1e-12)
    np.testing.assert_allclose(out.mean(axis=1), 0.0, atol=1e-12)


def test_pool_and_standardize_rejects_other_image_sizes():
    with pytest.raises(ValueError, match="X must be an array with 784 columns; got shape"):
        fv.pool_and_standardize(np.ones((2, 100)))


def test_one_hot_targets_are_centred_rows():
    Y = fv.one_hot_targets([0, 3])
    assert Y.shape == (2, 10)
    assert Y[1, 3] == pytest.approx(0.9) and Y[1, 0] == pytest.approx(-0.1)
    np.testing.assert_allclose(Y.sum(axis=1), 0.0, atol=1e-12)


def test_kernel_regression_matches_a_dense_solve():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((8, 8))
    K = A @ A.T + np.eye(8)
    K_test, Y = rng.standard_normal((3, 8)), rng.standard_normal((8, 2))
    np.testing.assert_allclose(
        fv.kernel_regression(K, K_test, Y), K_test @ np.linalg.solve(K, Y), rtol=1e-10
    )


def test_step_size_at_fraction_one_is_the_edge_of_stability_of_gradient_descent():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((6, 4))
    K = X @ X.T + 0.5 * np.eye(6)
    lr = fv.step_size(K, 1.0)
    # the largest eigenvalue of I - lr K / n, from scipy-free power iteration
    M = np.eye(6) - lr * K / 6
    v = np.ones(6)
    for _ in range(500):
        v = M @ v
        v /= np.linalg.norm(v)
    assert abs(v @ M @ v) == pytest.approx(1.0, rel=1e-6)  # |1 - lr lambda_max / n| = 1
    with pytest.raises(ValueError, match="lr_fraction must be"):
        fv.step_size(K, -1.0)


class _Centred(nn.Module):
    """``g(x) = f(x) - f_0(x)`` with a frozen copy of the initial network."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.frozen = copy.deepcopy(model).requires_grad_(False)

    def forward(self, X):
        return self.model(X) - self.frozen(X)


def test_centred_training_equals_training_f_minus_f0_directly():
    rng = np.random.default_rng(3)
    X, X_test, Y = (
        rng.standard_normal((7, 5)),
        rng.standard_normal((4, 5)),
        rng.standard_normal((7, 3)),
    )
    got = fv.train_network(X, Y, X_test, 16, 4, 0.3, 5, centred=True)[0]
    g = _Centred(ntk.mlp((5, 16, 3), seed=4))
    want = ntk.gradient_descent(g, X, Y, 0.3, [5], X_test=X_test)[1][0]
    np.testing.assert_allclose(got, want, atol=1e-5)
    plain, f0, f0_test = fv.train_network(X, Y, X_test, 16, 4, 0.3, 5)
    with torch.no_grad():
        start = ntk.mlp((5, 16, 3), seed=4)(torch.as_tensor(X_test, dtype=torch.float32))
    np.testing.assert_allclose(f0_test, start.double().numpy(), atol=1e-6)
    assert not np.allclose(plain, got)


def test_error_and_relative_distance():
    P = np.array([[0.1, 0.9], [0.8, 0.2]])
    assert fv.error(P, [1, 1]) == 0.5
    assert fv.relative_distance(2 * P, P) == pytest.approx(1.0)

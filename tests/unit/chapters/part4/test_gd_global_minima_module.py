"""Unit tests of the chapter module of book/part4/gd_global_minima.md against independent
computations: Monte Carlo, torch autograd, the empirical NTK of generalization.ntk."""

import numpy as np
import pytest
import torch

from generalization import ntk
from generalization.chapters.part4 import gd_global_minima as gm


def _sphere(seed, n, d):
    X = np.random.default_rng(seed).standard_normal((n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _torch_model(W, a):
    """f(x) = 1/sqrt(m) sum_r a_r relu(<w_r, x>), second layer frozen (ntk.Dense layers)."""
    m = len(a)
    first = ntk.Dense(torch.as_tensor(W))
    second = ntk.Dense(torch.as_tensor(a[None, :]), weight_scale=1 / np.sqrt(m))
    second.weight.requires_grad_(False)
    return torch.nn.Sequential(first, torch.nn.ReLU(), second)


def test_h_infinity_matches_monte_carlo():
    X = _sphere(0, 6, 5)
    w = np.random.default_rng(1).standard_normal((400_000, 5))
    S = (X @ w.T >= 0).astype(float)
    mc = (X @ X.T) * (S @ S.T) / len(w)  # E_w[<x_i, x_j> 1{w.x_i >= 0} 1{w.x_j >= 0}]
    assert np.allclose(gm.h_infinity(X), mc, atol=4e-3)  # Monte Carlo error about 1e-3


def test_h_infinity_diagonal_is_one_half_and_rejects_non_unit_rows():
    X = _sphere(2, 4, 3)
    assert np.allclose(np.diag(gm.h_infinity(X)), 0.5)
    with pytest.raises(ValueError, match="X must have rows of unit norm; got"):
        gm.h_infinity(2 * X)


def test_gram_at_init_equals_the_empirical_ntk_of_the_first_layer():
    X = _sphere(3, 7, 4)
    W, a = gm.init_network(0, 50, 4)
    model = _torch_model(W, a)
    K = ntk.empirical_ntk(model, X, implementation="jacobian")
    assert np.allclose(gm.gram(X, W), K, atol=1e-10)


def test_gradient_step_matches_torch_autograd():
    X, y = _sphere(4, 6, 5), np.random.default_rng(5).standard_normal(6)
    W, a = gm.init_network(1, 30, 5)
    model = _torch_model(W, a)
    Xt = torch.as_tensor(X)
    u = model(Xt)[:, 0]
    assert np.allclose(u.detach().numpy(), gm.predictions(X, W, a))
    loss = 0.5 * ((u - torch.as_tensor(y)) ** 2).sum()
    (grad,) = torch.autograd.grad(loss, [model[0].weight])
    W1, losses = gm.train_first_layer(X, y, W, a, 0.1, 1)
    assert np.allclose(W1, W - 0.1 * grad.numpy(), atol=1e-12)
    assert losses[0] == pytest.approx(2 * loss.item())


def test_training_in_span_coordinates_equals_training_in_pixel_space():
    X, y = _sphere(6, 5, 30), np.sign(np.random.default_rng(7).standard_normal(5))
    W, a = gm.init_network(2, 40, 30)
    Z = gm.span_coordinates(X)
    Q = np.linalg.lstsq(X, Z, rcond=None)[0]  # (d, n): X Q = Z, Q orthonormal on the span
    assert np.allclose(Z @ Z.T, X @ X.T)
    W_full, loss_full = gm.train_first_layer(X, y, W, a, 0.3, 25)
    W_span, loss_span = gm.train_first_layer(Z, y, W @ Q, a, 0.3, 25)
    assert np.allclose(loss_full, loss_span, rtol=1e-9, atol=1e-12)
    moved_full = np.linalg.norm(W_full - W, axis=1)
    assert np.allclose(moved_full, np.linalg.norm(W_span - W @ Q, axis=1), atol=1e-10)


def test_sphere_mnist_rows_are_unit_and_not_parallel():
    X, y = gm.sphere_mnist(10, (3, 8), seed=0)
    assert np.allclose(np.linalg.norm(X, axis=1), 1)
    assert sorted(np.unique(y)) == [-1, 1] and y.sum() == 0
    G = X @ X.T - np.eye(10)
    assert np.max(np.abs(G)) < 0.99
    with pytest.raises(ValueError, match="digits must be two different digits"):
        gm.sphere_mnist(10, (3, 3))

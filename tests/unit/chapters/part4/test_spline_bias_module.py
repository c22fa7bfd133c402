"""Unit tests of the chapter module of book/part4/spline_bias.md against independent
computations (quadrature, Monte Carlo, SciPy, torch autograd)."""

import numpy as np
import pytest
import torch
from scipy import integrate

from generalization import ntk
from generalization.chapters.part4 import spline_bias as sb


def _density(init, s):
    """The joint density p(w, b) of the first layer, for quadrature."""
    if init == "uniform":
        return lambda w, b: ((abs(w) <= 1) & (abs(b) <= s)) / (4.0 * s)
    return lambda w, b: np.exp(-(w * w) / 2 - (b * b) / (2 * s * s)) / (2 * np.pi * s)


@pytest.mark.parametrize("init, s", [("uniform", 1.0), ("uniform", 0.5), ("gaussian", 0.3)])
@pytest.mark.parametrize("c", [0.0, 0.4, -0.8, 1.7])
def test_curvature_weight_matches_quadrature_of_its_definition(init, s, c):
    p = _density(init, s)
    value = integrate.quad(lambda w: abs(w) ** 3 * p(w, -w * c), -8, 8, points=[0.0], limit=200)[0]
    assert sb.curvature_weight(np.array([c]), init, s)[0] == pytest.approx(value, rel=1e-6)


@pytest.mark.parametrize("init, s", [("uniform", 1.0), ("gaussian", 0.3)])
def test_feature_kernel_matches_monte_carlo(init, s):
    rng = np.random.default_rng(0)
    count = 400_000
    if init == "uniform":
        W, B = rng.uniform(-1, 1, count), rng.uniform(-s, s, count)
    else:
        W, B = rng.standard_normal(count), s * rng.standard_normal(count)
    x = np.array([-0.9, -0.2, 0.3, 0.8])
    features = np.maximum(np.outer(x, W) + B, 0.0)
    mc = features @ features.T / count
    assert np.allclose(sb.feature_kernel(x, x, init, s), mc, atol=4e-3)


def test_uniform_feature_kernel_matches_dense_quadrature():
    x1, x2 = np.array([-0.7, 0.1]), np.array([0.5, -0.95])
    got = sb.feature_kernel(x1, x2, "uniform", 1.0)
    for i, a in enumerate(x1):
        for j, b in enumerate(x2):
            f = lambda bias, w: max(w * a + bias, 0) * max(w * b + bias, 0) / 4  # noqa: E731
            want = integrate.dblquad(f, -1, 1, -1, 1, epsabs=1e-10)[0]
            assert got[i, j] == pytest.approx(want, abs=1e-8)


def test_weighted_spline_with_constant_weight_is_the_natural_cubic_spline():
    x, y, grid = sb.data(6, 4.0, 60)
    got = sb.weighted_spline(x, y, grid, np.ones(len(grid) - 2))
    assert np.max(np.abs(got - sb.natural_spline(x, y, grid))) < 2e-3 * np.ptp(y)
    assert np.allclose(got[::60], y, atol=1e-9)


def test_weighted_spline_ignores_a_constant_factor_of_the_weight():
    x, y, grid = sb.data(5, 3.0, 20)
    weight = sb.curvature_weight(grid[1:-1], "gaussian", 0.3)
    assert np.allclose(
        sb.weighted_spline(x, y, grid, weight), sb.weighted_spline(x, y, grid, 7 * weight)
    )


def test_weighted_spline_is_the_kernel_interpolant_of_its_weight():
    """The theorem's identity, without any network: the interpolant of the output-layer kernel
    and the grid solution of the weighted problem agree (Gaussian first layer)."""
    x, y, grid = sb.data(6, 4.0, 40)
    K, Kg = (sb.feature_kernel(a, x, "gaussian", 0.3) for a in (x, grid))
    kernel = Kg @ np.linalg.solve(K, y)
    weighted = sb.weighted_spline(x, y, grid, sb.curvature_weight(grid[1:-1], "gaussian", 0.3))
    assert np.max(np.abs(kernel - weighted)) < 5e-3  # about 1e-3


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: sb.weighted_spline([0.05], [1.0], np.linspace(0, 1, 11), np.ones(9)), "x must"),
        (lambda: sb.weighted_spline([0.0], [1.0], np.linspace(0, 1, 11), np.ones(8)), "weight"),
        (lambda: sb.weighted_spline([0.0], [1.0], [0, 0.1, 0.5], np.ones(1)), "grid must"),
        (lambda: sb.draw_network(0, 7, "uniform", 1.0), "width must be an even"),
        (lambda: sb.curvature_weight([0.0], "laplace", 1.0), "init must"),
        (lambda: sb.feature_kernel([1.5], [0.0], "uniform", 1.0), "x1, x2 must lie"),
        (lambda: sb.data(2, 1.0, 4), "n_samples must"),
    ],
)
def test_bad_input_is_rejected(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_anti_symmetric_network_is_zero_at_initialization():
    W, B, V = sb.draw_network(3, 10, "gaussian", 0.5)
    model = sb.as_mlp(W, B, V)
    out = model(torch.linspace(-1, 1, 9, dtype=torch.float64)[:, None])
    assert torch.allclose(out, torch.zeros_like(out), atol=1e-15)
    assert np.array_equal(W[:5], W[5:]) and np.array_equal(V[:5], -V[5:])


def test_train_matches_ntk_gradient_descent_on_the_same_mlp():
    x, y, grid = sb.data(5, 3.0, 4)
    drawn = [sb.draw_network(s, 12, "uniform", 1.0) for s in (0, 1)]
    W, B, V = (np.array([d[j] for d in drawn]) for j in range(3))
    on_grid, on_data = sb.train(x, y, W, B, V, 0.3, 40, grid)
    for s in range(2):
        model = sb.as_mlp(W[s], B[s], V[s])
        train, test = ntk.gradient_descent(model, x[:, None], y, 0.3, [40], X_test=grid[:, None])
        assert np.allclose(on_data[s], train[0], atol=1e-12)
        assert np.allclose(on_grid[s], test[0], atol=1e-12)


def test_kernel_gd_tends_to_the_interpolant():
    x, y, grid = sb.data(5, 2.0, 10)
    K, Kg = (sb.feature_kernel(a, x, "uniform", 1.0) for a in (x, grid))
    lr = 1.0 * len(x) / np.linalg.eigvalsh(K)[-1]
    early, limit = sb.kernel_gd(K, Kg, y, lr, 10)
    late, _ = sb.kernel_gd(K, Kg, y, lr, 10**7)
    assert np.allclose(late, limit, atol=1e-8)
    assert np.max(np.abs(early - limit)) > 1e-3
    assert np.allclose(limit[::10], y)


def test_data_puts_the_inputs_on_the_grid():
    x, y, grid = sb.data(8, 3.0, 40)
    assert np.array_equal(grid[::40], x) and x[0] == -sb.EDGE and x[-1] == sb.EDGE
    assert np.allclose(y, np.sin(3.0 * x))

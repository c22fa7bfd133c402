"""Unit tests of the chapter module of book/part3/max_margin.md against independent computations."""

import numpy as np
import pytest
import torch
from torch.func import jacrev

from generalization import geometry
from generalization.chapters.part3 import max_margin as mm


def _torch_f(width):
    def f(params, X):
        a, theta = params[:width], params[width:].reshape(width, -1)
        return torch.relu(X @ theta.T) @ a

    return f


@pytest.mark.parametrize("width", [1, 3, 7])
def test_net_output_and_ntk_match_torch_jacobians(width):
    X, _ = mm.xor_data(1, 9, 4)
    params = mm.init_params(2, width, 4)
    f = _torch_f(width)
    Xt, pt = torch.as_tensor(X), torch.as_tensor(params)
    assert np.allclose(mm.net_output(params, X, width), f(pt, Xt).numpy())
    J = jacrev(f)(pt, Xt).numpy()  # (n, number of parameters)
    K = J @ J.T
    assert np.allclose(mm.ntk_gram(params, X, width, unit_norm=False), K, atol=1e-12)
    assert np.allclose(mm.ntk_gram(params, X, width), K / (params @ params), atol=1e-12)


def test_ntk_of_scaled_parameters_scales_by_the_square():
    X, _ = mm.xor_data(0, 6, 3)
    params = mm.init_params(0, 5, 3)
    K = mm.ntk_gram(params, X, 5, unit_norm=False)
    assert np.allclose(mm.ntk_gram(3 * params, X, 5, unit_norm=False), 9 * K)
    assert np.allclose(mm.ntk_gram(3 * params, X, 5), mm.ntk_gram(params, X, 5))


def test_penalized_loss_gradient_matches_finite_differences():
    X, y = mm.xor_data(3, 10, 4)
    params = mm.init_params(4, 6, 4)
    _, grad = mm.penalized_loss(params, X, y, 6, 1e-2)
    h = 1e-6
    numeric = np.array(
        [
            (
                mm.penalized_loss(params + h * e, X, y, 6, 1e-2)[0]
                - mm.penalized_loss(params - h * e, X, y, 6, 1e-2)[0]
            )
            / (2 * h)
            for e in np.eye(len(params))
        ]
    )
    assert np.allclose(grad, numeric, atol=1e-7)


def test_normalized_margin_is_scale_free():
    X, y = mm.xor_data(0, 8, 3)
    params = mm.init_params(1, 4, 3)
    assert mm.normalized_margin(5 * params, X, y, 4) == pytest.approx(
        mm.normalized_margin(params, X, y, 4)
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kernel_max_margin_with_linear_kernel_equals_geometry_max_margin(seed):
    X, y = mm.separable_data(seed, 15, 4)
    nu, margin = mm.kernel_max_margin(X @ X.T, y)
    w_hat = geometry.max_margin(X, y)
    assert margin == pytest.approx(1 / np.linalg.norm(w_hat), rel=1e-5)
    assert np.allclose(X.T @ (nu * y), w_hat, atol=1e-4 * np.linalg.norm(w_hat))


def test_kernel_max_margin_rejects_inseparable_data():
    X = np.array([[1.0, 0.0], [-1.0, 0.0]])
    with pytest.raises(ValueError, match="separable"):
        mm.kernel_max_margin(X @ X.T, np.array([1.0, 1.0]))


def test_adam_matches_a_hand_written_adam():
    X, y = mm.separable_data(0, 8, 3)
    got = mm.adam_logistic(X, y, 0.05, (0, 1, 5))
    Z = y[:, None] * X
    w, m, v = np.zeros(3), np.zeros(3), np.zeros(3)
    kept = [w.copy()]
    for t in range(1, 6):
        g = -(Z.T @ (1 / (1 + np.exp(Z @ w)))) / len(y)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g**2
        w = w - 0.05 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        if t in (1, 5):
            kept.append(w.copy())
    assert np.allclose(got, np.array(kept), atol=1e-10)


def test_xor_data_labels_are_the_product_of_the_first_two_signs():
    X, y = mm.xor_data(0, 50, 5)
    assert np.array_equal(y, X[:, 0] * X[:, 1])
    assert set(np.unique(X[:, :2])) == {-1.0, 1.0}


def test_log_checkpoints_are_sorted_distinct_and_end_at_num_steps():
    steps = mm.log_checkpoints(12345)
    assert steps[0] == 1 and steps[-1] == 12345
    assert list(steps) == sorted(set(steps))

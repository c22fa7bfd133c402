"""Unit tests of the chapter module of book/part7/pruning_is_all_you_need.md against independent
computations (numpy forward passes, numpy.linalg.lstsq, numpy.polyfit)."""

import numpy as np
import pytest
import torch

from generalization import nets
from generalization import subset_sum as ss
from generalization.chapters.part7 import pruning_is_all_you_need as pp


def _numpy_forward(net, X):
    """The MLP's logits computed layer by layer in numpy."""
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    h = X
    for i, layer in enumerate(linears):
        h = h @ layer.weight.detach().double().numpy().T + layer.bias.detach().double().numpy()
        if i < len(linears) - 1:
            h = np.maximum(h, 0.0)
    return h


@pytest.mark.parametrize("bound", [1.0, 0.5])
def test_normalized_target_bounds_every_layer_and_only_rescales_the_logits(bound):
    net = nets.mlp(n_inputs=5, hidden=(7, 4), n_classes=3, seed=1)
    with torch.no_grad():
        net[0].weight.mul_(9.0)  # weights far outside the bound
    target, logit_scale = pp.normalized_target(net, bound)
    X = np.random.default_rng(0).standard_normal((50, 5))
    np.testing.assert_allclose(
        _numpy_forward(target, X) * logit_scale, _numpy_forward(net, X), rtol=1e-5, atol=1e-5
    )
    for layer in (m for m in target if isinstance(m, torch.nn.Linear)):
        largest = max(
            float(layer.weight.detach().abs().max()), float(layer.bias.detach().abs().max())
        )
        assert largest == pytest.approx(bound)
    assert logit_scale > 0
    assert net[0].weight.abs().max() > 2  # the original is untouched


def test_neuron_target_computes_a_scaled_relu_of_a_projection():
    w = np.array([0.3, -0.2, 0.1])
    net = pp.neuron_target(w, 0.5)
    X = np.random.default_rng(1).standard_normal((20, 3))
    out = net(torch.as_tensor(X)).detach().numpy().ravel()
    np.testing.assert_allclose(out, 0.5 * np.maximum(X @ w, 0), atol=1e-12)
    assert ss.random_widths(net, 4) == (16, 1, 8)


def test_random_features_fit_matches_lstsq():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 4))
    y = np.maximum(X @ np.array([0.5, -0.5, 0.2, 0.1]), 0)
    U, c = rng.uniform(-1, 1, (20, 4)), rng.uniform(-1, 1, 20)
    X_test = rng.standard_normal((40, 4))
    got = pp.random_features_fit(X, y, X_test, U, c)
    design = lambda Z: np.hstack([np.ones((len(Z), 1)), np.maximum(Z @ U.T + c, 0)])  # noqa: E731
    a = np.linalg.lstsq(design(X), y, rcond=None)[0]
    np.testing.assert_allclose(got, design(X_test) @ a, atol=1e-6)


def test_random_features_fit_is_exact_when_the_target_is_one_of_its_features():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((200, 3))
    U, c = rng.uniform(-1, 1, (10, 3)), rng.uniform(-1, 1, 10)
    y = 2.0 * np.maximum(X @ U[4] + c[4], 0) - 0.3
    fit = pp.random_features_fit(X, y, X, U, c)
    assert pp.relative_error(y, fit) < 1e-6


def test_fit_slope_recovers_powers_and_exponentials_like_polyfit():
    n = np.array([8.0, 16, 32, 64])
    errors = np.vstack([3.0 * n**-1.0, 0.5 * n**-2.5])
    np.testing.assert_allclose(pp.fit_slope(n, errors), [-1.0, -2.5])
    np.testing.assert_allclose(pp.fit_slope(n, np.exp(-0.3 * n), log_x=False), [-0.3])
    noisy = 2.0 * n**-1.2 * np.array([1.1, 0.9, 1.05, 0.97])
    assert pp.fit_slope(n, noisy)[0] == pytest.approx(np.polyfit(np.log(n), np.log(noisy), 1)[0])


def test_relative_error_is_the_norm_ratio():
    f, g = np.array([3.0, 4.0]), np.array([3.0, 3.0])
    assert pp.relative_error(f, g) == pytest.approx(1 / 5)


def test_output_error_in_chunks_equals_one_pass():
    target = nets.mlp(n_inputs=3, hidden=(4,), n_classes=2, seed=0).double()
    approx = ss.prune_to_approximate(target, ss.random_network(target, 8, seed=0))
    X = np.random.default_rng(4).uniform(-1, 1, (25, 3))
    whole = ss.approximation_error(target, approx.pruned, X)
    sup, mean = pp.output_error(target, approx.pruned, X, chunk=7)
    assert sup == pytest.approx(whole.sup) and mean == pytest.approx(whole.mean)


def test_bad_input_is_refused_with_messages_that_name_it():
    net = nets.mlp(n_inputs=2, hidden=(2,), n_classes=2, seed=0)
    with pytest.raises(ValueError, match=r"^bound must be a positive number"):
        pp.normalized_target(net, 0.0)
    with pytest.raises(ValueError, match=r"^errors must be"):
        pp.fit_slope([1.0, 2.0], [[0.1, 0.0]])
    with pytest.raises(ValueError, match=r"^output_weight must be a positive number"):
        pp.neuron_target(np.ones(2), -1.0)

import re

import numpy as np
import pytest
from scipy.optimize import minimize

from generalization import linear_conv as lc
from generalization import nets


@pytest.fixture(autouse=True)
def one_thread():
    with nets.threads(1):
        yield


def network_output(filters, x):
    """The conv network of the module docstring run on x, by its definition (O(D^2) loops)."""
    D = len(x)
    h = np.array(x, dtype=float)
    for w in filters[:-1]:
        h = np.array([sum(w[k] * h[(d + k) % D] for k in range(D)) for d in range(D)]) / np.sqrt(D)
    return float(h @ filters[-1])


def circular_convolution(a, b):
    D = len(a)
    return np.array([sum(a[k] * b[(j - k) % D] for k in range(D)) for j in range(D)])


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_conv_predictor_is_the_network_run_on_the_basis_vectors(depth):
    rng = np.random.default_rng(depth)
    D = 7
    filters = rng.standard_normal((depth, D))
    beta = lc.conv_predictor(filters)
    direct = [network_output(filters, np.eye(D)[j]) for j in range(D)]
    np.testing.assert_allclose(beta, direct, atol=1e-12)
    conv = filters[0]
    for w in filters[1:]:
        conv = circular_convolution(conv, w)
    np.testing.assert_allclose(beta, conv * D ** (-(depth - 1) / 2), atol=1e-12)
    # the unitary DFT of beta is the product of the unitary DFTs of the filters
    unitary = np.fft.fft(filters, axis=1) / np.sqrt(D)
    np.testing.assert_allclose(np.fft.fft(beta) / np.sqrt(D), np.prod(unitary, axis=0), atol=1e-12)
    np.testing.assert_allclose(lc.fourier_magnitudes(beta), np.abs(np.prod(unitary, axis=0)))


def test_fc_predictor_is_the_network_run_on_the_basis_vectors():
    rng = np.random.default_rng(0)
    layers = [rng.standard_normal((4, 5)), rng.standard_normal((3, 4)), rng.standard_normal(3)]
    beta = lc.fc_predictor(layers)
    direct = [layers[2] @ (layers[1] @ (layers[0] @ e)) for e in np.eye(5)]
    np.testing.assert_allclose(beta, direct, atol=1e-12)
    np.testing.assert_array_equal(lc.fc_predictor([layers[2]]), layers[2])


def numpy_loss(layers, X, y, architecture, loss):
    beta = lc.conv_predictor(layers) if architecture == "conv" else lc.fc_predictor(layers)
    margins = y * (X @ beta)
    return np.mean(np.exp(-margins) if loss == "exp" else np.log1p(np.exp(-margins)))


@pytest.mark.parametrize("architecture", ["conv", "fc"])
@pytest.mark.parametrize("loss", ["exp", "logistic"])
def test_gradients_match_finite_differences(architecture, loss):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((4, 5)), np.array([1.0, -1.0, 1.0, -1.0])
    if architecture == "conv":
        layers = list(0.5 * rng.standard_normal((3, 5)))
    else:
        layers = [
            0.5 * rng.standard_normal((4, 5)),
            0.5 * rng.standard_normal((4, 4)),
            0.5 * rng.standard_normal(4),
        ]
    value, grads = lc.loss_and_gradients(layers, X, y, architecture, loss)
    assert value == pytest.approx(numpy_loss(layers, X, y, architecture, loss), rel=1e-12)
    eps = 1e-6
    for j, layer in enumerate(layers):
        for index in np.ndindex(layer.shape):
            plus = [W.copy() for W in layers]
            minus = [W.copy() for W in layers]
            plus[j][index] += eps
            minus[j][index] -= eps
            fd = (
                numpy_loss(plus, X, y, architecture, loss)
                - numpy_loss(minus, X, y, architecture, loss)
            ) / (2 * eps)
            assert grads[j][index] == pytest.approx(fd, abs=1e-8)


def test_a_training_step_is_one_gradient_step():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((3, 6)), np.array([1.0, -1.0, 1.0])
    for architecture in ("conv", "fc"):
        run0 = lc.train_linear_conv(X, y, 3, 0.1, 0, seed=5, architecture=architecture)
        run1 = lc.train_linear_conv(X, y, 3, 0.1, 1, seed=5, architecture=architecture)
        _, grads = lc.loss_and_gradients(run0.layers, X, y, architecture)
        for W0, W1, g in zip(run0.layers, run1.layers, grads):
            np.testing.assert_allclose(W1, W0 - 0.1 * g, atol=1e-15)
        beta = (lc.conv_predictor if architecture == "conv" else lc.fc_predictor)(run1.layers)
        np.testing.assert_allclose(run1.betas[-1], beta, atol=1e-15)


def max_margin_direction(X, y):
    """The hard-margin SVM (no intercept): argmin ||b||^2 / 2 subject to y_i <b, x_i> >= 1."""
    result = minimize(
        lambda b: 0.5 * b @ b,
        y @ X,
        jac=lambda b: b,
        constraints=[
            {"type": "ineq", "fun": lambda b: y * (X @ b) - 1, "jac": lambda b: y[:, None] * X}
        ],
        method="SLSQP",
        options={"ftol": 1e-12, "maxiter": 500},
    )
    assert result.success and np.min(y * (X @ result.x)) > 1 - 1e-8
    return result.x / np.linalg.norm(result.x)


def fourier_spread(beta):
    """``||F beta||_1 / ||F beta||_2``: 1 for a single frequency, up to sqrt(D) for a flat one."""
    f = lc.fourier_magnitudes(beta)
    return f.sum() / np.linalg.norm(f)


@pytest.mark.parametrize("loss", ["exp", "logistic"])
def test_fc_finds_the_max_margin_direction_and_conv_a_sparse_spectrum(loss):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((3, 8)), np.array([1.0, -1.0, 1.0])
    svm = max_margin_direction(X, y)
    fc = lc.train_linear_conv(
        X, y, 2, 0.5, 1500, init_scale=0.1, architecture="fc", loss=loss, record_every=500
    )
    conv = lc.train_linear_conv(
        X, y, 2, 0.5, 1500, init_scale=0.1, architecture="conv", loss=loss, record_every=500
    )
    cosine = fc.betas @ svm / np.linalg.norm(fc.betas, axis=1)
    # measured: cosine 0.9988 after 1500 steps, still rising (direction converges like 1/log t)
    assert cosine[-1] > 0.995 and np.all(np.diff(cosine[1:]) > 0)
    assert lc.normalized_margin(fc.betas[-1], X, y) > 0.95 * lc.normalized_margin(svm, X, y)
    assert fc.losses[-1] < 1e-3 and conv.losses[-1] < 1e-3 and np.all(np.diff(fc.losses) < 0)
    # measured spreads: SVM 2.41, fc 2.35, conv 1.04 (nearly all of beta at frequency 0)
    assert fourier_spread(conv.betas[-1]) < 0.6 * fourier_spread(fc.betas[-1])
    assert abs(fourier_spread(fc.betas[-1]) - fourier_spread(svm)) < 0.1
    conv_cosine = conv.betas[-1] @ svm / np.linalg.norm(conv.betas[-1])
    assert conv_cosine < 0.9  # conv does not go to the SVM direction (measured 0.80)


def test_helpers_and_records():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((3, 5)), np.array([1.0, -1.0, 1.0])
    run = lc.train_linear_conv(X, y, 2, 0.1, 10, architecture="fc", hidden=3, record_every=4)
    assert run.steps.tolist() == [0, 4, 8, 10] and run.betas.shape == (4, 5)
    assert [W.shape for W in run.layers] == [(3, 5), (3,)]
    beta = np.array([1.0, 2.0, -1.0, 0.0, 0.5])
    assert lc.normalized_margin(beta, X, y) == pytest.approx(
        np.min(y * (X @ beta)) / np.linalg.norm(beta)
    )
    assert np.sum(lc.fourier_magnitudes(beta) ** 2) == pytest.approx(beta @ beta)  # Parseval


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"depth": 0}, "depth must be a positive integer; got 0."),
        ({"lr": 0}, "lr must be a positive number; got 0."),
        ({"num_steps": -2}, "num_steps must be a non-negative integer; got -2."),
        ({"init_scale": -0.1}, "init_scale must be a positive number; got -0.1."),
        ({"architecture": "cnn"}, "architecture must be one of ('conv', 'fc'); got 'cnn'."),
        ({"loss": "hinge"}, "loss must be one of ('exp', 'logistic'); got 'hinge'."),
        ({"y": np.array([1.0, 0.0, 1.0])}, "y must be labels in {-1, +1}; got values [0. 1.]."),
        ({"y": np.ones(2)}, "y must have shape (n,) = (3,); got shape (2,)."),
        ({"record_every": 0}, "record_every must be a positive integer; got 0."),
    ],
)
def test_train_rejects_bad_arguments(kwargs, message):
    X = np.random.default_rng(4).standard_normal((3, 5))
    args = {"X": X, "y": np.array([1.0, -1.0, 1.0]), "depth": 2, "lr": 0.1, "num_steps": 1} | kwargs
    with pytest.raises(ValueError, match=re.escape(message)):
        lc.train_linear_conv(**args)


def test_other_functions_reject_bad_arguments():
    X, y = np.ones((2, 4)), np.array([1.0, -1.0])
    with pytest.raises(ValueError, match=re.escape("layers must be a 2-D array; got shape (4,).")):
        lc.conv_predictor(np.ones(4))
    with pytest.raises(ValueError, match=re.escape("layers[1] must have 3 columns")):
        lc.fc_predictor([np.ones((3, 4)), np.ones(2)])
    with pytest.raises(ValueError, match="layers must have D = 4 columns; got shape"):
        lc.loss_and_gradients(np.ones((2, 5)), X, y)
    with pytest.raises(ValueError, match="beta must be non-zero; got the zero vector."):
        lc.normalized_margin(np.zeros(4), X, y)
    with pytest.raises(FloatingPointError, match="diverged"):
        lc.train_linear_conv(X * 10, y, 3, 1e3, 20, init_scale=1.0)

"""Unit tests of the chapter module of book/part6/bayes_occam.md against independent
computations (closed forms, SciPy, dense eigendecompositions)."""

import numpy as np
import pytest
import torch
from numpy.polynomial import legendre
from scipy.integrate import quad
from scipy.special import softmax
from scipy.stats import multivariate_normal

from generalization import bayes, nets
from generalization.chapters.part6 import bayes_occam as bo


def test_legendre_features_are_orthonormal_on_the_interval():
    nodes, weights = legendre.leggauss(30)  # Gauss-Legendre quadrature, exact to degree 59
    F = bo.legendre_features(nodes, 6)
    np.testing.assert_allclose(F.T @ (weights[:, None] * F), np.eye(7), atol=1e-12)
    # the degree-two column is sqrt(5/2) (3x^2 - 1)/2
    value = quad(lambda t: (np.sqrt(2.5) * (3 * t * t - 1) / 2) ** 2, -1, 1)[0]
    assert value == pytest.approx(1.0)
    np.testing.assert_allclose(F[:, 2], np.sqrt(2.5) * (3 * nodes**2 - 1) / 2, atol=1e-12)


def test_polynomial_evidence_equals_the_gaussian_marginal_likelihood():
    """The chapter's evidence path (fit_map, laplace_log_evidence) against the closed form
    log N(y; 0, s^2 I + X X^T / alpha) of Bayesian linear regression."""
    x, y = bo.regression_data(3, 15, 0.3)
    alpha, s2 = 2.0, 0.3**2
    for degree in (1, 4):
        X = bo.legendre_features(x, degree)
        model = bo.linear_model(degree + 1)
        bayes.fit_map(model, X, y[:, None], alpha, "gaussian", s2)
        ev = bayes.laplace_log_evidence(model, X, y[:, None], alpha, "gaussian", s2)
        exact = multivariate_normal(np.zeros(15), s2 * np.eye(15) + X @ X.T / alpha).logpdf(y)
        assert ev.log_evidence == pytest.approx(exact, abs=1e-6)
        # MacKay's gamma = tr(C (C + alpha I)^-1) with C = X^T X / s^2
        C = X.T @ X / s2
        gamma = np.trace(C @ np.linalg.inv(C + alpha * np.eye(degree + 1)))
        got = bayes.effective_dimensionality(ev.curvature_eigenvalues, alpha)
        assert got == pytest.approx(gamma, rel=1e-8)


def test_regression_data_is_seeded_and_noisy_around_the_target():
    x, y = bo.regression_data(0, 4000, 0.2)
    again = bo.regression_data(0, 4000, 0.2)
    np.testing.assert_array_equal(again[1], y)
    assert np.all(np.abs(x) <= 1)
    assert np.std(y - bo.target(x)) == pytest.approx(0.2, rel=0.05)


def test_truncated_effective_dimensionality_keeps_the_largest():
    eigenvalues = np.array([0.5, 4.0, 0.01, 2.0])
    expected = 4 / 5 + 2 / 3  # the two largest, z = 1
    assert bo.truncated_effective_dimensionality(eigenvalues, 1.0, 2) == pytest.approx(expected)
    full = bo.truncated_effective_dimensionality(eigenvalues, 1.0, 4)
    assert full == pytest.approx(np.sum(eigenvalues / (eigenvalues + 1)))


def test_ensemble_curves_average_member_probabilities():
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((3, 50, 4)) * 3
    y = rng.integers(0, 4, 50)
    nll, acc, ece = bo.ensemble_curves(logits, y)
    assert nll.shape == acc.shape == ece.shape == (3, 3)
    # m = 2 starting at member 2: members 2 and 0 (cyclic)
    p = (softmax(logits[2], axis=1) + softmax(logits[0], axis=1)) / 2
    assert nll[1, 2] == pytest.approx(-np.mean(np.log(p[np.arange(50), y])))
    assert acc[1, 2] == pytest.approx(np.mean(p.argmax(1) == y))
    # m = M is the same ensemble whatever the start
    np.testing.assert_allclose(nll[2], nll[2, 0])
    # m = 1 is each member alone
    p0 = softmax(logits[1], axis=1)
    assert nll[0, 1] == pytest.approx(-np.mean(np.log(p0[np.arange(50), y])))


def test_mean_loss_and_error_match_torch_cross_entropy():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 8)).astype(np.float32)
    y = rng.integers(0, 10, 30)
    model = nets.mlp(n_inputs=8, hidden=(4,), seed=0)
    loss, error = bo.mean_loss_and_error(model, X, y)
    with torch.no_grad():
        out = model(torch.as_tensor(X)).double()
    expected = torch.nn.functional.cross_entropy(out, torch.as_tensor(y)).item()
    assert loss == pytest.approx(expected, rel=1e-6)
    assert error == pytest.approx(float(np.mean(out.argmax(1).numpy() != y)))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: bo.legendre_features(np.zeros(3), -1), "degree must be"),
        (lambda: bo.regression_data(0, 5, 0.0), "noise_sd must be"),
        (lambda: bo.truncated_effective_dimensionality(np.ones(3), 1.0, 4), "k must be"),
        (lambda: bo.mnist_subset(10, 10, 0, label_noise=1.5), "label_noise must be"),
        (lambda: bo.ensemble_curves(np.zeros((2, 3)), np.zeros(3, int)), "member_logits must"),
    ],
)
def test_bad_input_is_rejected_with_its_name(call, message):
    with pytest.raises(ValueError, match=message):
        call()

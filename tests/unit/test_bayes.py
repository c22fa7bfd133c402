"""Tests of generalization.bayes against the closed-form evidence of Bayesian linear
regression (SciPy), ridge regression, closed-form Hessians, autograd Jacobians, quadrature,
dense solves, scikit-learn's log loss and hand-made calibration examples."""

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from scipy.special import expit, softmax
from sklearn.metrics import log_loss

from generalization import bayes, landscape


def _linear_data(n=25, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.3 * rng.standard_normal(n)
    return X, y


def _linear_model(d=4, w=None):
    model = torch.nn.Linear(d, 1, bias=False).double()
    if w is not None:
        landscape.load_flat(model, w)
    return model


def _ridge_map(X, y, alpha, s2):
    """The posterior mean of Bayesian linear regression: (X^T X / s2 + alpha I)^-1 X^T y / s2."""
    return np.linalg.solve(X.T @ X / s2 + alpha * np.eye(X.shape[1]), X.T @ y / s2)


# ------------------------------------------------------------------------------- evidence


@pytest.mark.parametrize("curvature", ["hessian", "ggn"])
def test_laplace_evidence_is_exact_for_bayesian_linear_regression(curvature):
    X, y = _linear_data()
    alpha, s2 = 0.7, 0.2
    model = _linear_model(w=_ridge_map(X, y, alpha, s2))
    result = bayes.laplace_log_evidence(model, X, y, alpha, noise_variance=s2, curvature=curvature)
    closed = stats.multivariate_normal(np.zeros(len(y)), s2 * np.eye(len(y)) + X @ X.T / alpha)
    assert result.log_evidence == pytest.approx(closed.logpdf(y), rel=1e-10)
    assert result.gradient_norm < 1e-9
    np.testing.assert_allclose(
        np.sort(result.curvature_eigenvalues), np.linalg.eigvalsh(X.T @ X / s2), rtol=1e-9
    )
    assert result.log_evidence == pytest.approx(result.log_likelihood + result.occam)


def test_log_likelihood_and_prior_match_scipy_densities():
    X, y = _linear_data(n=10, d=3)
    w = np.array([0.5, -1.0, 2.0])
    model = _linear_model(3, w)
    expected = stats.norm(X @ w, np.sqrt(0.4)).logpdf(y).sum()
    assert bayes.log_likelihood(model, X, y, noise_variance=0.4) == pytest.approx(expected)
    prior = stats.multivariate_normal(np.zeros(3), np.eye(3) / 2.5).logpdf(w)
    assert bayes.log_prior(model, 2.5) == pytest.approx(prior)
    logits_model = torch.nn.Linear(3, 4).double()
    labels = np.arange(10) % 4
    with torch.no_grad():
        logits = logits_model(torch.as_tensor(X)).numpy()
    expected = np.log(softmax(logits, axis=1)[np.arange(10), labels]).sum()
    assert bayes.log_likelihood(logits_model, X, labels, "categorical") == pytest.approx(expected)


def test_fit_map_reaches_the_ridge_solution():
    X, y = _linear_data()
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1, bias=False).double()
    bayes.fit_map(model, X, y, prior_precision=0.7, noise_variance=0.2)
    np.testing.assert_allclose(
        landscape.flat(model).numpy(), _ridge_map(X, y, 0.7, 0.2), rtol=1e-8, atol=1e-10
    )


def test_softmax_regression_curvatures_match_the_closed_form_hessian():
    rng = np.random.default_rng(1)
    X, labels = rng.standard_normal((12, 3)), rng.integers(0, 3, 12)
    torch.manual_seed(1)
    model = torch.nn.Linear(3, 3, bias=False).double()
    W = model.weight.detach().numpy()
    p = softmax(X @ W.T, axis=1)
    # Hessian of -log p(y | x) in vec(W) (row-major W): sum_i (diag p_i - p_i p_i^T) kron x_i x_i^T
    closed = sum(np.kron(np.diag(pi) - np.outer(pi, pi), np.outer(x, x)) for pi, x in zip(p, X))
    alpha = 0.5
    for curvature in ("hessian", "ggn"):
        A = bayes.posterior_precision(
            model, X, labels, alpha, "categorical", curvature=curvature, batch_size=5
        ).numpy()
        np.testing.assert_allclose(A, closed + alpha * np.eye(9), rtol=1e-10, atol=1e-12)


def test_ggn_of_a_network_matches_autograd_jacobians_and_differs_from_the_hessian():
    torch.manual_seed(2)
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)
    ).double()
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((7, 2)), rng.standard_normal((7, 2))
    theta = landscape.flat(model)

    def outputs(vector):
        return torch.func.functional_call(
            model, landscape._unflatten(model, vector), (torch.as_tensor(X),)
        ).reshape(-1)

    J = torch.autograd.functional.jacobian(outputs, theta).numpy()  # (n * k, P)
    s2, alpha = 0.3, 1.0
    expected = J.T @ J / s2 + alpha * np.eye(theta.shape[0])
    ggn = bayes.posterior_precision(model, X, Y, alpha, noise_variance=s2, curvature="ggn")
    np.testing.assert_allclose(ggn.numpy(), expected, rtol=1e-10, atol=1e-12)
    hessian = bayes.posterior_precision(model, X, Y, alpha, noise_variance=s2)
    assert not np.allclose(hessian.numpy(), ggn.numpy(), atol=1e-3)


def test_laplace_evidence_of_one_parameter_logistic_regression_is_close_to_quadrature():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(60)
    labels = (rng.random(60) < expit(1.5 * x)).astype(int)
    alpha = 1.0

    def log_joint(w):
        z = w * x
        log_lik = np.sum(labels * -np.logaddexp(0, -z) + (1 - labels) * -np.logaddexp(0, z))
        return (
            log_lik - alpha * w**2 / 2 + np.log(alpha / (2 * np.pi)) / 2
        )  # + log N(w; 0, 1/alpha)

    peak = max(log_joint(w) for w in np.linspace(-5, 5, 2001))
    area, _ = integrate.quad(lambda w: np.exp(log_joint(w) - peak), -10, 10, points=[1.5])
    exact = peak + np.log(area)
    # a two-logit model with logits (0, w x): softmax gives p(1 | x) = expit(w x)
    model = torch.nn.Linear(1, 1, bias=False).double()
    net = _TwoLogits(model)
    bayes.fit_map(net, x[:, None], labels, alpha, "categorical")
    result = bayes.laplace_log_evidence(net, x[:, None], labels, alpha, "categorical")
    assert result.gradient_norm < 1e-7
    assert result.log_evidence == pytest.approx(exact, abs=0.02)  # measured: 4.3e-3 nats apart
    assert result.log_evidence != pytest.approx(exact, abs=1e-6)  # approximate, not exact


class _TwoLogits(torch.nn.Module):
    """Logits (0, w x): binary logistic regression as a two-class softmax."""

    def __init__(self, linear):
        super().__init__()
        self.linear = linear

    def forward(self, x):
        z = self.linear(x)
        return torch.cat([torch.zeros_like(z), z], dim=1)


def test_hessian_evidence_refuses_a_point_that_is_not_a_maximum():
    torch.manual_seed(4)
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1)
    ).double()
    X, y = _linear_data(n=30, d=2)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3.0)
    with pytest.raises(ValueError, match="positive definite"):
        bayes.laplace_log_evidence(model, X, y, 1e-3, noise_variance=0.01)
    result = bayes.laplace_log_evidence(model, X, y, 1e-3, noise_variance=0.01, curvature="ggn")
    assert np.all(result.curvature_eigenvalues > -1e-8)


# ----------------------------------------------------------------- effective dimensionality


def test_effective_dimensionality_by_hand_and_as_a_trace():
    assert bayes.effective_dimensionality([1.0, 1.0], 1.0) == 1.0
    assert bayes.effective_dimensionality([3.0, 0.0, 1.0], 1.0) == pytest.approx(0.75 + 0.5)
    assert bayes.effective_dimensionality([1e9, 1e-9], 1.0) == pytest.approx(1.0, abs=1e-8)
    np.testing.assert_allclose(bayes.effective_dimensionality([1.0, 4.0], [1.0, 4.0]), [1.3, 0.7])
    rng = np.random.default_rng(5)
    B = rng.standard_normal((6, 6))
    H = B @ B.T
    for z in (0.1, 2.0):
        trace = np.trace(np.linalg.solve(H + z * np.eye(6), H))  # tr (H + z I)^-1 H
        value = bayes.effective_dimensionality(np.linalg.eigvalsh(H), z)
        assert value == pytest.approx(trace, rel=1e-10)


# ------------------------------------------------------------------- ensembles, calibration


def test_ensemble_averages_probabilities_not_logits():
    logits = np.array([[[10.0, 0.0]], [[0.0, 10.0]]])  # two confident members who disagree
    np.testing.assert_allclose(bayes.ensemble_probabilities(logits), [[0.5, 0.5]])
    rng = np.random.default_rng(6)
    logits = rng.standard_normal((3, 5, 4)) * 3
    expected = softmax(logits, axis=2).mean(axis=0)
    np.testing.assert_allclose(bayes.ensemble_probabilities(logits), expected, rtol=1e-12)
    far = np.array([[[0.0, -800.0]], [[0.0, 0.0]]])  # member 1 gives class 1 e^-800: no underflow
    assert bayes.ensemble_probabilities(far)[0, 1] == pytest.approx(0.25)


def test_ensemble_predict_runs_members_in_eval_mode_and_restores_it():
    torch.manual_seed(7)
    members = [
        torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Dropout(0.5), torch.nn.Linear(5, 2))
        for _ in range(3)
    ]
    X = np.random.default_rng(7).standard_normal((9, 3))
    with torch.no_grad():
        logits = np.stack(
            [m.eval()(torch.as_tensor(X, dtype=torch.float32)).double().numpy() for m in members]
        )
    for m in members:
        m.train()
    probs = bayes.ensemble_predict(members, X, batch_size=4)
    np.testing.assert_allclose(probs, softmax(logits, axis=2).mean(0), rtol=1e-6)
    assert all(m.training for m in members)


def test_negative_log_likelihood_matches_scikit_learn():
    rng = np.random.default_rng(8)
    p = softmax(rng.standard_normal((20, 3)), axis=1)
    y = rng.integers(0, 3, 20)
    assert bayes.negative_log_likelihood(p, y) == pytest.approx(
        log_loss(y, p, labels=[0, 1, 2]), rel=1e-12
    )
    assert bayes.negative_log_likelihood([[1.0, 0.0]], [1]) == np.inf


def test_calibration_of_hand_made_probabilities():
    p = np.array(
        [
            [0.95, 0.05],  # confidence 0.95, bin (0.9, 1.0], right
            [0.05, 0.95],  # 0.95, wrong
            [0.3, 0.7],  # 0.7 -> bin (0.6, 0.7], right
            [0.6, 0.4],  # 0.6 -> bin (0.5, 0.6] (right-closed), right
        ]
    )
    y = np.array([0, 0, 1, 0])
    result = bayes.calibration(p, y, n_bins=10)
    np.testing.assert_array_equal(result.counts, [0, 0, 0, 0, 0, 1, 1, 0, 0, 2])
    assert result.confidence[9] == pytest.approx(0.95) and result.accuracy[9] == 0.5
    assert result.accuracy[5] == 1.0 and result.accuracy[6] == 1.0
    assert np.isnan(result.accuracy[0]) and np.isnan(result.confidence[0])
    # ECE = 2/4 |0.5 - 0.95| + 1/4 |1 - 0.6| + 1/4 |1 - 0.7|
    expected = 0.5 * 0.45 + 0.25 * 0.4 + 0.25 * 0.3
    assert result.ece == pytest.approx(expected)
    assert bayes.expected_calibration_error(p, y, n_bins=10) == pytest.approx(expected)
    # a perfectly calibrated predictor: in each bin the accuracy equals the confidence
    perfect = np.repeat([[0.75, 0.25]], 4, axis=0)
    assert bayes.expected_calibration_error(perfect, [0, 0, 0, 1]) == 0.0
    assert bayes.expected_calibration_error(np.eye(3), [0, 1, 2]) == 0.0


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: bayes.laplace_log_evidence(_linear_model(), *_linear_data(), 0.0),
            "prior_precision must be a positive number; got 0.0.",
        ),
        (
            lambda: bayes.laplace_log_evidence(
                _linear_model(), *_linear_data(), 1.0, curvature="fisher"
            ),
            "curvature must be one of ('hessian', 'ggn'); got 'fisher'.",
        ),
        (
            lambda: bayes.log_likelihood(_linear_model(), np.ones((3, 4)), np.ones(2)),
            "y must be one target per row of X (3); got 2 targets.",
        ),
        (
            lambda: bayes.log_likelihood(_linear_model(), np.ones((3, 4)), np.ones((3, 2))),
            "y must be targets of the model's output shape (3, 1); got (3, 2).",
        ),
        (
            lambda: bayes.log_likelihood(
                torch.nn.Linear(4, 2), np.ones((3, 4)), np.ones(3), "categorical"
            ),
            "y must be class indices",
        ),
        (
            lambda: bayes.posterior_precision(_linear_model(), *_linear_data(), 1.0, max_params=3),
            "model must be at most max_params = 3 parameters; got 4.",
        ),
        (lambda: bayes.log_prior("net", 1.0), "model must be a torch.nn.Module; got str."),
        (
            lambda: bayes.effective_dimensionality([1.0, -2.0], 1.0),
            "eigenvalues must be above -z",
        ),
        (lambda: bayes.effective_dimensionality([1.0], 0.0), "z must be a positive number"),
        (lambda: bayes.ensemble_probabilities(np.ones((2, 3))), "logits must be a 3-D array"),
        (lambda: bayes.ensemble_predict([], np.ones((2, 3))), "models must be a non-empty"),
        (
            lambda: bayes.negative_log_likelihood([[0.5, 0.6]], [0]),
            "probabilities must be non-negative rows that sum to 1",
        ),
        (
            lambda: bayes.calibration([[0.5, 0.5]], [2]),
            "y must be class indices from 0 to 1; got 2 .. 2.",
        ),
        (lambda: bayes.calibration([[0.5, 0.5]], [0], n_bins=0), "n_bins must be a positive"),
    ],
)
def test_bad_input_is_a_value_error_naming_what_was_expected(call, message):
    with pytest.raises(ValueError) as raised:
        call()
    assert message in str(raised.value)

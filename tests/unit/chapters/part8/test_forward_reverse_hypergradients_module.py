"""Unit tests of the chapter module of book/part8/forward_reverse_hypergradients.md against
independent computations: scikit-learn's ridge solver and ROC AUC, NumPy log-softmax, finite
differences."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge

from generalization import hypergradients as hg
from generalization.chapters.part8 import forward_reverse_hypergradients as hgc


def _sklearn_validation_loss(X, y, Xv, yv, lam):
    """E(lam) at the minimizer, with the minimizer from scikit-learn's Ridge: it minimizes
    |Xw - y|^2 + alpha |w|^2, which is n times ours with alpha = n lam."""
    model = Ridge(alpha=len(y) * lam, fit_intercept=False, solver="cholesky", tol=1e-14)
    w = model.fit(X, y).coef_
    return np.mean((Xv @ w - yv) ** 2) / 2


@pytest.mark.parametrize("lam", [0.05, 0.3, 2.0])
def test_implicit_hypergradient_matches_finite_differences_of_sklearn_ridge(lam):
    X, y, Xv, yv = hgc.ridge_data(3, 30, 20, 6)
    value, gradient = hgc.implicit_hypergradient(X, y, Xv, yv, lam)
    step = 1e-5 * lam
    numeric = (
        _sklearn_validation_loss(X, y, Xv, yv, lam + step)
        - _sklearn_validation_loss(X, y, Xv, yv, lam - step)
    ) / (2 * step)
    assert value == pytest.approx(_sklearn_validation_loss(X, y, Xv, yv, lam), rel=1e-10)
    assert gradient == pytest.approx(numeric, rel=1e-6)


def test_finite_difference_matches_the_module_reverse_mode_on_ridge():
    X, y, Xv, yv = hgc.ridge_data(1, 20, 20, 5)
    train_loss, val_loss = hgc.ridge_losses(X, y, Xv, yv)
    w0, lam = np.zeros(5), np.array([0.2])
    exact = hg.hypergradient(train_loss, val_loss, w0, lam, lr=0.2, steps=12).gradient
    numeric = hgc.finite_difference(train_loss, val_loss, w0, lam, lr=0.2, steps=12, step=1e-5)
    np.testing.assert_allclose(numeric, exact, rtol=1e-7)


def test_largest_relative_difference_by_hand():
    assert hgc.largest_relative_difference([1.0, 0.0], [1.1, 0.0]) == pytest.approx(0.1 / 1.1)
    assert hgc.largest_relative_difference(2.0, 2.0, 1.0) == pytest.approx(0.5)
    assert hgc.largest_relative_difference(0.0, 0.0) == 0.0


def test_grouped_losses_with_one_group_is_least_squares_with_decay():
    train_loss, val_loss, lr = hgc.grouped_losses(0, 16, 4, 1, decay=0.05)
    X, y, Xv, yv = hgc.ridge_data(0, 16, 16, 4)
    w = np.random.default_rng(5).standard_normal(4)
    wt = torch.as_tensor(w)
    expected = np.mean((X @ w - y) ** 2) / 2 + 0.05 * w @ w / 2
    assert float(train_loss(wt, torch.zeros(1, dtype=torch.float64))) == pytest.approx(expected)
    assert float(val_loss(wt)) == pytest.approx(np.mean((Xv @ w - yv) ** 2) / 2)
    assert lr == pytest.approx(1 / (np.linalg.eigvalsh(X.T @ X / 16)[-1] + 0.05))


def test_grouped_losses_weights_each_group_by_exp_lam():
    train_loss, _, _ = hgc.grouped_losses(2, 12, 3, 4, decay=0.0)
    X, y, _, _ = hgc.ridge_data(2, 12, 12, 3)
    lam = np.array([0.3, -1.0, 0.0, 2.0])
    w = np.ones(3)
    weights = np.exp(lam[np.arange(12) % 4])
    expected = np.mean(weights * (X @ w - y) ** 2) / 2
    value = train_loss(torch.as_tensor(w), torch.as_tensor(lam))
    assert float(value) == pytest.approx(expected)


def _numpy_cross_entropy(X, y, w):
    logits = X @ w.reshape(X.shape[1], 10)
    logits = logits - logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(y)), y]


def test_softmax_losses_match_a_numpy_cross_entropy():
    rng = np.random.default_rng(0)
    X, Xv = rng.standard_normal((15, 4)), rng.standard_normal((7, 4))
    y, yv = rng.integers(0, 10, 15), rng.integers(0, 10, 7)
    w, lam = rng.standard_normal(40), rng.standard_normal(15)
    train_loss, val_loss = hgc.softmax_losses(X, y, Xv, yv)
    sigmoid = 1 / (1 + np.exp(-lam))
    expected = np.mean(sigmoid * _numpy_cross_entropy(X, y, w))
    assert float(train_loss(torch.as_tensor(w), torch.as_tensor(lam))) == pytest.approx(expected)
    assert float(val_loss(torch.as_tensor(w))) == pytest.approx(
        np.mean(_numpy_cross_entropy(Xv, yv, w))
    )
    identity, _ = hgc.softmax_losses(X, y, Xv, yv, link="identity")
    value = identity(torch.as_tensor(w), torch.as_tensor(sigmoid))
    assert float(value) == pytest.approx(expected)


def test_accuracy_by_hand():
    X = np.eye(3)
    w = np.zeros((3, 10))
    w[0, 4], w[1, 7], w[2, 1] = 1.0, 1.0, 1.0
    assert hgc.accuracy(w.ravel(), X, np.array([4, 7, 2])) == pytest.approx(2 / 3)


def test_train_weighted_does_not_depend_on_the_scale_of_the_weights():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((20, 3)), rng.integers(0, 10, 20)
    weights = rng.uniform(0.1, 1.0, 20)
    a = hgc.train_weighted(X, y, weights, lr=0.5, steps=5)
    b = hgc.train_weighted(X, y, 7 * weights, lr=0.5, steps=5)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    # zero weight on an example is the same as leaving it out
    weights[:5] = 0.0
    c = hgc.train_weighted(X, y, weights, lr=0.5, steps=5)
    d = hgc.train_weighted(X[5:], y[5:], weights[5:], lr=0.5, steps=5)
    np.testing.assert_allclose(c, d, rtol=1e-12)


def test_train_weighted_rejects_weights_without_a_positive_sum():
    X, y = np.ones((2, 2)), np.array([0, 1])
    with pytest.raises(ValueError, match="weights must be non-negative with a positive sum"):
        hgc.train_weighted(X, y, np.zeros(2), lr=0.1, steps=1)


def test_detection_scores_against_a_pairwise_count():
    rng = np.random.default_rng(4)
    corrupted = rng.random(40) < 0.5
    weights = rng.random(40) - 0.3 * corrupted
    auc, precision, f1 = hgc.detection_scores(weights, corrupted)
    low, high = weights[corrupted], weights[~corrupted]
    pairwise = np.mean(low[:, None] < high[None, :])  # no ties: continuous weights
    assert auc == pytest.approx(pairwise)
    k = corrupted.sum()
    assert precision == pytest.approx(corrupted[np.argsort(weights)[:k]].mean())
    flagged = weights < 0.5
    tp = np.sum(flagged & corrupted)
    assert f1 == pytest.approx(2 * tp / (flagged.sum() + corrupted.sum()))


def test_ridge_data_is_seeded_and_shaped():
    a = hgc.ridge_data(7, 9, 4, 3)
    b = hgc.ridge_data(7, 9, 4, 3)
    assert [x.shape for x in a] == [(9, 3), (9,), (4, 3), (4,)]
    for x, z in zip(a, b):
        np.testing.assert_array_equal(x, z)


def test_implicit_hypergradient_rejects_a_non_positive_penalty():
    X, y, Xv, yv = hgc.ridge_data(0, 5, 5, 2)
    with pytest.raises(ValueError, match="lam must be"):
        hgc.implicit_hypergradient(X, y, Xv, yv, 0.0)

"""Unit tests of generalization.deep_double_descent: the network bank and its helpers."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from generalization import deep_double_descent as dd


def test_n_parameters_counts_weights_and_biases():
    assert dd.n_parameters(16, 20) == 16 * 21 + 10 * 17
    np.testing.assert_array_equal(dd.n_parameters(np.array([1, 2]), 5, 3), [1 * 6 + 3 * 2, 2 * 6 + 3 * 3])
    net = torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    assert dd.n_parameters(16, 20) == sum(p.numel() for p in net.parameters())
    with pytest.raises(ValueError, match="must be positive"):
        dd.n_parameters(0, 20)


def test_pca_basis_is_orthonormal_and_scaled():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(300, 12)) * np.linspace(3, 0.5, 12)
    basis = dd.pca_basis(images, 4)
    mean, components, scale = basis
    assert components.shape == (12, 4)
    np.testing.assert_allclose(components.T @ components, np.eye(4), atol=1e-10)
    Z = dd.project(images, basis)
    assert Z.dtype == np.float32 and Z.shape == (300, 4)
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-5)
    assert Z[:, 0].std() == pytest.approx(1.0, rel=1e-4)  # leading coordinate has unit variance
    assert np.all(np.diff(Z.var(0)) < 0)  # by decreasing variance


def test_pca_and_project_reject_bad_input():
    with pytest.raises(ValueError, match="images must be a 2-D array"):
        dd.pca_basis(np.zeros(5), 1)
    with pytest.raises(ValueError, match="n_components must be an integer from 1 to 3"):
        dd.pca_basis(np.zeros((3, 8)), 4)
    basis = dd.pca_basis(np.random.default_rng(0).normal(size=(10, 6)), 2)
    with pytest.raises(ValueError, match=r"X must have shape \(n, 6\); got \(4, 5\)"):
        dd.project(np.zeros((4, 5)), basis)


def test_mnist_task_is_nested_and_rejects_bad_sizes():
    X, y, X_test, y_test = dd.mnist_task(60, 30, 8)
    X2, y2, *_ = dd.mnist_task(40, 30, 8)
    assert X.shape == (60, 8) and X_test.shape == (30, 8) and y_test.shape == (30,)
    np.testing.assert_array_equal(X2, X[:40])  # smaller training sets are nested in larger ones
    np.testing.assert_array_equal(y2, y[:40])
    with pytest.raises(ValueError, match="n_train must be in 1..50000"):
        dd.mnist_task(50001, 10, 8)


def test_eval_steps():
    steps = dd.eval_steps(1000, 20)
    assert steps[0] == 0 and steps[-1] == 1000 and np.all(np.diff(steps) > 0)
    np.testing.assert_array_equal(dd.eval_steps(5, 1), [0, 1, 5])
    with pytest.raises(ValueError, match="num_steps and n_evals must be positive"):
        dd.eval_steps(0, 3)


def test_bank_networks_match_standalone_copies():
    widths, seeds = (1, 3, 4, 9, 3), (0, 1, 2, 3, 1)
    bank = dd.network_bank(7, widths, seeds)
    X = torch.randn(11, 7)
    logits = bank(X)
    assert logits.shape == (5, 11, 10)
    for m, w in enumerate(widths):
        net = bank.network(m)
        assert net[0].out_features == w
        torch.testing.assert_close(logits[m], net(X), rtol=1e-5, atol=1e-6)
        bound = 1 / np.sqrt(7)  # nn.Linear's initialization range
        assert net[0].weight.abs().max() <= bound
    # the same width and seed gives the same initial network
    torch.testing.assert_close(logits[1], logits[4])
    assert not torch.allclose(logits[1], logits[2, :, :])


def test_bank_rejects_bad_input():
    with pytest.raises(ValueError, match="widths must be a non-empty sequence"):
        dd.network_bank(3, (), ())
    with pytest.raises(ValueError, match="one seed per network; got 1 seeds for 2 widths"):
        dd.network_bank(3, (2, 4), (0,))
    with pytest.raises(ValueError, match="n_inputs must be >= 1"):
        dd.network_bank(0, (2,), (0,))
    with pytest.raises(ValueError, match="m must index one of the 1 networks"):
        dd.network_bank(3, (2,), (0,)).network(1)


def _train_alone(net, X, y, lr, num_steps):
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(num_steps):
        opt.zero_grad()
        F.cross_entropy(net(X), y).backward()
        opt.step()
    return net


def test_training_the_bank_equals_training_each_network_alone():
    rng = np.random.default_rng(0)
    n, d = 40, 6
    X = rng.normal(size=(n, d)).astype(np.float32)
    labels = rng.integers(0, 10, size=(3, n))
    weights = np.ones((3, n), dtype=np.float32)
    weights[2, 25:] = 0  # the third network sees only the first 25 examples
    bank = dd.network_bank(d, (3, 8, 5), (0, 1, 2))
    alone = [bank.network(m) for m in range(3)]
    log = dd.train_bank(bank, X, labels, X[:10], labels[0, :10], lr=0.01, num_steps=30, n_evals=3, weights=weights)
    Xt = torch.tensor(X)
    for m, net in enumerate(alone):
        keep = weights[m] > 0
        _train_alone(net, Xt[keep], torch.tensor(labels[m][keep]), lr=0.01, num_steps=30)
        torch.testing.assert_close(bank.network(m)(Xt), net(Xt), rtol=1e-4, atol=1e-5)
        wrong = (net(Xt[keep]).argmax(1).numpy() != labels[m][keep]).mean()
        assert log.train_error[m, -1] == pytest.approx(wrong)
    assert log.steps[0] == 0 and log.steps[-1] == 30
    assert log.train_error.shape == log.test_error.shape == (3, len(log.steps))
    assert log.train_loss.shape == (3,)


def test_train_bank_rejects_bad_input():
    bank = dd.network_bank(4, (2, 3), (0, 0))
    X = np.zeros((5, 4), dtype=np.float32)
    with pytest.raises(ValueError, match=r"labels \(M, n\) = \(2, n\); got \(5, 4\) and \(1, 5\)"):
        dd.train_bank(bank, X, np.zeros((1, 5)), X, np.zeros(5), lr=0.1, num_steps=1)
    with pytest.raises(ValueError, match="at least one example per network"):
        dd.train_bank(bank, X, np.zeros((2, 5)), X, np.zeros(5), lr=0.1, num_steps=1, weights=np.zeros((2, 5)))


def test_small_sweeps_have_the_documented_shapes():
    sweep = dd.width_sweep.uncached(80, 50, 6, (2, 8), (0.0, 0.5), (0,), 5, 0.01, 3)
    assert sweep.train_error.shape == sweep.test_error.shape == (2, 2, 1, len(sweep.steps))
    np.testing.assert_array_equal(sweep.n_params, dd.n_parameters(np.array([2, 8]), 6))
    samples = dd.sample_sweep.uncached((20, 40), 50, 6, (4,), 0.2, (0, 1), 5, 0.01)
    assert samples.test_error.shape == (1, 2, 2) and samples.sample_sizes == (20, 40)
    with pytest.raises(ValueError, match="sample_sizes must be increasing"):
        dd.sample_sweep.uncached((40, 20), 50, 6, (4,), 0.2, (0,), 5, 0.01)
    with pytest.raises(ValueError, match="widths must be positive"):
        dd.width_sweep.uncached(80, 50, 6, (0, 8), (0.0,), (0,), 5, 0.01, 3)

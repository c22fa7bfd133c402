"""Unit tests of generalization.bank: many networks trained as one."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from generalization import bank


def _train_alone(net, X, y, lr, num_steps):
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(num_steps):
        opt.zero_grad()
        F.cross_entropy(net(X), y).backward()
        opt.step()
    return net


def test_n_parameters_counts_weights_and_biases():
    assert bank.n_parameters(16, 20) == 16 * 21 + 10 * 17
    np.testing.assert_array_equal(
        bank.n_parameters(np.array([1, 2]), 5, 3), [1 * 6 + 3 * 2, 2 * 6 + 3 * 3]
    )
    net = torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    assert bank.n_parameters(16, 20) == sum(p.numel() for p in net.parameters())
    with pytest.raises(ValueError, match="must be positive"):
        bank.n_parameters(0, 20)


def test_eval_steps():
    steps = bank.eval_steps(1000, 20)
    assert steps[0] == 0 and steps[-1] == 1000 and np.all(np.diff(steps) > 0)
    np.testing.assert_array_equal(bank.eval_steps(5, 1), [0, 1, 5])
    with pytest.raises(ValueError, match="num_steps must be a positive integer"):
        bank.eval_steps(0, 3)


def test_bank_networks_match_standalone_copies():
    widths, seeds = (1, 3, 4, 9, 3), (0, 1, 2, 3, 1)
    networks = bank.network_bank(7, widths, seeds)
    X = torch.randn(11, 7)
    logits = networks(X)
    assert logits.shape == (5, 11, 10)
    for m, w in enumerate(widths):
        net = networks.network(m)
        assert net[0].out_features == w
        torch.testing.assert_close(logits[m], net(X), rtol=1e-5, atol=1e-6)
        bound = 1 / np.sqrt(7)  # nn.Linear's initialization range
        assert net[0].weight.abs().max() <= bound
    # the same width and seed gives the same initial network
    torch.testing.assert_close(logits[1], logits[4])
    assert not torch.allclose(logits[1], logits[2, :, :])


def test_bank_rejects_bad_input():
    with pytest.raises(ValueError, match="widths must be a non-empty sequence"):
        bank.network_bank(3, (), ())
    with pytest.raises(ValueError, match="one seed per network; got 1 seeds for 2 widths"):
        bank.network_bank(3, (2, 4), (0,))
    with pytest.raises(ValueError, match="n_inputs must be a positive integer"):
        bank.network_bank(0, (2,), (0,))
    with pytest.raises(ValueError, match="m must index one of the 1 networks"):
        bank.network_bank(3, (2,), (0,)).network(1)


def test_training_the_bank_equals_training_each_network_alone():
    rng = np.random.default_rng(0)
    n, d = 40, 6
    X = rng.normal(size=(n, d)).astype(np.float32)
    labels = rng.integers(0, 10, size=(3, n))
    weights = np.ones((3, n), dtype=np.float32)
    weights[2, 25:] = 0  # the third network sees only the first 25 examples
    networks = bank.network_bank(d, (3, 8, 5), (0, 1, 2))
    alone = [networks.network(m) for m in range(3)]
    log = bank.train_bank(
        networks,
        X,
        labels,
        X[:10],
        labels[0, :10],
        lr=0.01,
        num_steps=30,
        n_evals=3,
        weights=weights,
    )
    Xt = torch.tensor(X)
    for m, net in enumerate(alone):
        keep = weights[m] > 0
        _train_alone(net, Xt[keep], torch.tensor(labels[m][keep]), lr=0.01, num_steps=30)
        torch.testing.assert_close(networks.network(m)(Xt), net(Xt), rtol=1e-4, atol=1e-5)
        wrong = (net(Xt[keep]).argmax(1).numpy() != labels[m][keep]).mean()
        assert log.train_error[m, -1] == pytest.approx(wrong)
    assert log.steps[0] == 0 and log.steps[-1] == 30
    assert log.train_error.shape == log.test_error.shape == (3, len(log.steps))
    assert log.train_loss.shape == (3,)


def test_train_bank_rejects_bad_input():
    networks = bank.network_bank(4, (2, 3), (0, 0))
    X = np.zeros((5, 4), dtype=np.float32)
    with pytest.raises(ValueError, match=r"labels \(M, n\) = \(2, n\); got \(5, 4\) and \(1, 5\)"):
        bank.train_bank(networks, X, np.zeros((1, 5)), X, np.zeros(5), lr=0.1, num_steps=1)
    with pytest.raises(ValueError, match="at least one example per network"):
        bank.train_bank(
            networks,
            X,
            np.zeros((2, 5)),
            X,
            np.zeros(5),
            lr=0.1,
            num_steps=1,
            weights=np.zeros((2, 5)),
        )

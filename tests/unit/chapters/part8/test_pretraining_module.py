"""Unit tests of the chapter module of book/part8/pretraining.md."""

import numpy as np
import pytest
import torch

from generalization import data, nets
from generalization.chapters.part8 import pretraining as pt

SMALL = dict(noise=0.25, lr=0.02, num_epochs=1, batch_size=20)


@pytest.fixture(autouse=True)
def one_thread():
    with nets.threads(1):
        yield


def test_pretrained_weights_do_not_change_when_the_labels_do(monkeypatch):
    """No label reaches pre-training: with every training label replaced, the weights are
    bit for bit the same."""
    first, _ = pt.pretrained_stack(0, 200, 8, 2, "sigmoid", SMALL)
    labels_before = pt.mnist_pool(0, 200, 5)[1]
    real = data.load_mnist()
    rng = np.random.default_rng(5)
    fake = data.MNIST(
        X_train=real.X_train,
        y_train=rng.permutation(real.y_train),
        X_test=real.X_test,
        y_test=real.y_test,
    )
    monkeypatch.setattr(data, "load_mnist", lambda: fake)
    second, _ = pt.pretrained_stack(0, 200, 8, 2, "sigmoid", SMALL)
    assert not np.array_equal(pt.mnist_pool(0, 200, 5)[1], labels_before)  # labels did change
    for (W1, b1), (W2, b2) in zip(first, second):
        assert np.array_equal(W1, W2) and np.array_equal(b1, b2)


def test_the_pool_is_chosen_without_labels_and_the_test_set_is_fixed():
    X, y, Xt, yt = pt.mnist_pool(3, 50, 7)
    X2, y2, Xt2, _ = pt.mnist_pool(3, 50, 7)
    assert np.array_equal(X, X2) and np.array_equal(y, y2) and np.array_equal(Xt, Xt2)
    assert X.shape == (50, 784) and Xt.shape == (7, 784) and len(yt) == 7
    assert not np.array_equal(pt.mnist_pool(4, 50, 7)[0], X)


def test_a_shallower_network_takes_the_bottom_of_the_stack():
    """Pre-training a 2-layer stack alone gives the first 2 layers of a 3-layer stack."""
    deep, _ = pt.pretrained_stack(1, 100, 6, 3, "sigmoid", SMALL)
    shallow, _ = pt.pretrained_stack(1, 100, 6, 2, "sigmoid", SMALL)
    for (W1, b1), (W2, b2) in zip(deep[:2], shallow):
        assert np.allclose(W1, W2) and np.allclose(b1, b2)
    model = pt._network(6, 2, "sigmoid", 1, deep)
    assert np.array_equal(model[2].weight.detach().numpy(), deep[1][0])


def test_relu_networks_start_from_he_initialization():
    model = pt._network(300, 1, "relu", 0)
    assert np.var(model[0].weight.detach().numpy()) == pytest.approx(2 / 784, rel=0.03)


def test_error_rate_counts_wrong_arg_max():
    model = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
    X = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]])
    assert pt.error_rate(model, X, np.array([0, 0, 0])) == pytest.approx(1 / 3)


def test_fine_tune_takes_the_stated_number_of_sgd_steps():
    """Plain SGD on one example with one step equals the hand-computed update."""
    model = torch.nn.Linear(3, 2)
    before = [p.detach().clone() for p in model.parameters()]
    X, y = np.array([[1.0, 2.0, -1.0]]), np.array([1])
    logits = torch.as_tensor(X, dtype=torch.float32) @ before[0].T + before[1]
    p = torch.softmax(logits, 1)[0]
    grad_z = p - torch.tensor([0.0, 1.0])
    pt.fine_tune(model, X, y, "sgd", 0.1, 1, 1, seed=0)
    assert torch.allclose(model.bias, before[1] - 0.1 * grad_z, atol=1e-6)
    assert torch.allclose(
        model.weight, before[0] - 0.1 * grad_z[:, None] * torch.tensor(X[0]).float(), atol=1e-6
    )


def test_fine_tune_rejects_an_unknown_optimizer():
    with pytest.raises(ValueError, match="optimizer must be"):
        pt.fine_tune(torch.nn.Linear(2, 2), np.zeros((2, 2)), np.zeros(2), "lbfgs", 0.1, 1, 1, 0)

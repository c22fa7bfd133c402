"""Unit tests of the chapter module of book/part3/sgd_modified_loss.md against independent
computations."""

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from generalization import modified_loss, nets
from generalization.chapters.part3 import sgd_modified_loss as sm


def _tiny(seed=0, n=12, d=5):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=gen)
    y = torch.randint(0, 3, (n,), generator=gen)
    model = nets.mlp(d, (4,), 3, seed=seed)
    return model, X, y


def test_vectorized_batch_penalty_matches_the_method_loop_in_value_and_gradient():
    model, X, y = _tiny()
    partition = torch.tensor([[0, 5, 7], [1, 2, 11], [3, 4, 6], [8, 9, 10]])
    lr = 0.3
    losses, norms = sm.batch_losses_and_gradient_norms(model, X, y, partition, True)
    vectorized = losses.mean() + lr / 4 * norms.mean()
    params = list(model.parameters())
    fns = [lambda idx=idx: F.cross_entropy(model(X[idx]), y[idx]) for idx in partition]
    looped = modified_loss.modified_loss_sgd(fns, lr, params)()
    assert vectorized.item() == pytest.approx(looped.item(), rel=1e-6)
    for k, idx in enumerate(partition):
        penalty = modified_loss.gradient_norm_penalty(fns[k], params)
        assert norms[k].item() == pytest.approx(penalty.item(), rel=1e-5)
    g_vec = torch.autograd.grad(vectorized, params)
    g_loop = torch.autograd.grad(looped, params)
    for a, b in zip(g_vec, g_loop):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)


def test_detached_norms_carry_no_graph():
    model, X, y = _tiny(1)
    partition = torch.arange(12).reshape(3, 4)
    losses, norms = sm.batch_losses_and_gradient_norms(model, X, y, partition)
    assert not norms.requires_grad and norms.shape == (3,)
    np.testing.assert_allclose(losses.mean().item(), F.cross_entropy(model(X), y).item(), rtol=1e-6)


def test_pool_images_is_the_mean_of_each_block():
    rng = np.random.default_rng(0)
    X = rng.random((3, 784)).astype(np.float32)
    pooled = sm.pool_images(X, 4)
    images = X.reshape(3, 28, 28)
    expected = np.array(
        [
            [images[:, 4 * i : 4 * i + 4, 4 * j : 4 * j + 4].mean(axis=(1, 2)) for j in range(7)]
            for i in range(7)
        ]
    )  # (7, 7, 3)
    np.testing.assert_allclose(pooled, expected.transpose(2, 0, 1).reshape(3, 49), rtol=1e-6)
    np.testing.assert_array_equal(sm.pool_images(X, 1), X)


def test_toy_problem_full_loss_is_the_mean_of_the_batch_losses():
    problem = sm.toy_problem(3)
    with torch.no_grad():
        problem.param.copy_(torch.as_tensor(problem.w0))
    batch = [fn().item() for fn in problem.batch_loss_fns]
    assert len(batch) == 4
    assert problem.loss_fn().item() == pytest.approx(np.mean(batch), rel=1e-14)
    np.testing.assert_array_equal(problem.w0, sm.toy_problem(3).w0)


def _manual(recipe, model, X, y, lr, batch_size, num_epochs, seed):
    """The same training written out: parameters after each epoch, and their epoch means."""
    n, m = X.shape[0], X.shape[0] // batch_size
    gen = torch.Generator().manual_seed(seed)
    torch.randperm(n, generator=gen)  # the measuring partition
    torch.randperm(n, generator=gen)  # the penalty's partition
    params = list(model.parameters())
    ends, means = [], []
    for _ in range(num_epochs):
        order = torch.randperm(n, generator=gen).reshape(m, batch_size)
        total = [torch.zeros_like(p) for p in params]
        for k in range(m):
            idx = order[k] if recipe == "SGD" else torch.arange(n)
            grads = torch.autograd.grad(F.cross_entropy(model(X[idx]), y[idx]), params)
            with torch.no_grad():
                for p, g, t in zip(params, grads, total):
                    p -= lr * g
                    t += p / m
        ends.append([p.detach().clone() for p in params])
        means.append(total)
    return ends, means


@pytest.mark.parametrize("recipe", ["SGD", "GD"])
def test_train_recipe_is_the_written_out_loop(recipe):
    model, X, y = _tiny(2)
    twin, _, _ = _tiny(2)
    last, averaged = sm.train_recipe(
        recipe, model, X, y, X, y, lr=0.2, batch_size=4, num_epochs=2, seed=5
    )
    assert last.shape == averaged.shape == (3, len(sm.QUANTITIES))
    ends, means = _manual(recipe, twin, X, y, 0.2, 4, 2, 5)
    for p, q in zip(model.parameters(), ends[-1]):
        np.testing.assert_allclose(p.detach().numpy(), q.numpy(), rtol=1e-5, atol=1e-6)
    with torch.no_grad():  # the recorded training loss at the epoch mean of the iterates
        for p, t in zip(twin.parameters(), means[-1]):
            p.copy_(t)
        assert averaged[-1, 0] == pytest.approx(F.cross_entropy(twin(X), y).item(), rel=1e-5)
    init, _, _ = _tiny(2)
    assert last[0, 0] == pytest.approx(F.cross_entropy(init(X), y).item(), rel=1e-6)


def test_train_recipe_with_penalty_takes_gradient_steps_on_the_sgd_modified_loss():
    model, X, y = _tiny(4)
    twin, _, _ = _tiny(4)
    sm.train_recipe("GD + penalty", model, X, y, X, y, lr=0.1, batch_size=3, num_epochs=1, seed=2)
    gen = torch.Generator().manual_seed(2)
    torch.randperm(12, generator=gen)
    fixed = torch.randperm(12, generator=gen).reshape(4, 3)
    params = list(twin.parameters())
    fns = [lambda idx=idx: F.cross_entropy(twin(X[idx]), y[idx]) for idx in fixed]
    for _ in range(4):  # one epoch: n / batch_size steps
        grads = torch.autograd.grad(modified_loss.modified_loss_sgd(fns, 0.1, params)(), params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= 0.1 * g
    for p, q in zip(model.parameters(), params):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-4, atol=1e-6)


def test_train_recipe_rejects_a_batch_size_that_does_not_divide_the_data():
    model, X, y = _tiny()
    message = "batch_size must divide the 12 training examples; got 5."
    with pytest.raises(ValueError, match=re.escape(message)):
        sm.train_recipe("GD", model, X, y, X, y, lr=0.1, batch_size=5, num_epochs=1, seed=0)
    with pytest.raises(ValueError, match=re.escape("recipe must be one of")):
        sm.train_recipe("Adam", model, X, y, X, y, lr=0.1, batch_size=4, num_epochs=1, seed=0)

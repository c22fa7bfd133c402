"""Experiments of the chapter *Why does unsupervised pre-training help?*.

Erhan, Bengio, Courville, Manzagol, Vincent and Bengio (2010) pre-train deep sigmoid networks
greedily, layer by layer, as stacked denoising autoencoders or as deep belief networks (stacks
of restricted Boltzmann machines), then fine-tune them with stochastic gradient descent on the
labels. Over hundreds of random seeds on MNIST and on the InfiniteMNIST stream they find that
pre-training lowers the test error, more so for deeper networks, and argue that it acts as an
unusual regularizer: it puts the start in a region of parameter space from which supervised
training ends at minima that generalize better.

This chapter runs, on MNIST subsets and on two CPU cores:

* :func:`experiment`: for each seed, one pool of unlabelled training images, greedy
  denoising-autoencoder pre-training (:func:`generalization.pretrain.pretrain_layerwise`, the
  paper's SDAE variant, not its RBMs) of a sigmoid stack and of a ReLU stack on it, then
  fine-tuning on labelled subsets of several sizes from the pool, from random and from
  pre-trained weights, in two regimes: sigmoid units with plain SGD and the framework's small
  uniform start (the paper's setting), and ReLU units with Adam and He initialization (the
  modern defaults); and, in the sigmoid regime, networks of one to three hidden layers at one
  size.

Differences from the paper: a few thousand unlabelled images instead of fifty thousand (or
millions), a few hundred fine-tuning steps of a fixed budget instead of training with early
stopping on a validation set, hidden layers of a hundred-odd units instead of many hundreds,
a handful of seeds instead of hundreds, no hyperparameter search. Test errors are on a fixed
part of the MNIST test set.

References
----------
Erhan, Bengio, Courville, Manzagol, Vincent, Bengio (2010), *Why does unsupervised
pre-training help deep learning?*, JMLR 11, 625-660,
https://jmlr.org/papers/v11/erhan10a.html.
Vincent, Larochelle, Bengio, Manzagol (2008), *Extracting and composing robust features with
denoising autoencoders*, ICML.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, data, nets, pretrain, settings_for
from generalization.book.cache import cached

_PRETRAIN_QUICK = dict(noise=0.25, lr=0.02, num_epochs=2, batch_size=20)
REGIMES = ("sigmoid + SGD", "ReLU + Adam")
"""The two training regimes, in the order of the result arrays' first axis."""

INITS = ("random", "pre-trained")
"""The two starts, in the order of the result arrays' second axis."""

SETTINGS = {
    "quick": dict(
        seeds=(0, 1, 2),
        n_unlabelled=2000,
        n_test=2000,
        sizes=(100, 300, 1000),
        width=128,
        depth=2,
        depths=(1, 2, 3),
        depth_size=300,
        pretraining=_PRETRAIN_QUICK,
        sgd_lr=1.0,
        adam_lr=1e-3,
        num_steps=500,
        batch_size=50,
    ),
    "full": dict(
        seeds=tuple(range(10)),
        n_unlabelled=50000,
        n_test=10000,
        sizes=(100, 300, 1000, 3000, 10000, 50000),
        width=500,
        depth=3,
        depths=(1, 2, 3, 4, 5),
        depth_size=10000,
        pretraining=dict(noise=0.25, lr=0.02, num_epochs=10, batch_size=20),
        sgd_lr=1.0,
        adam_lr=1e-3,
        num_steps=20000,
        batch_size=50,
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

Quick runs in under 90 s on 2 CPU cores; full uses the paper's number of unlabelled images
and depths up to five, with wider layers and longer training."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def mnist_pool(seed, n_unlabelled, n_test):
    """A seeded pool of MNIST training images, in random order, and a fixed test set.

    The pool's rows are chosen by ``numpy.random.default_rng(seed)`` among the 60,000 training
    images without looking at their labels. The labelled training set of size ``n`` is the
    first ``n`` rows of the pool, so the sets of one seed are nested.

    Returns
    -------
    X_pool : ndarray (n_unlabelled, 784); y_pool : ndarray (n_unlabelled,)
    X_test : ndarray (n_test, 784), the first ``n_test`` test images; y_test : (n_test,)
    """
    mnist = data.load_mnist()
    n_unlabelled = checks.count("n_unlabelled", n_unlabelled, maximum=len(mnist.y_train))
    n_test = checks.count("n_test", n_test, maximum=len(mnist.y_test))
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    index = rng.choice(len(mnist.y_train), size=n_unlabelled, replace=False)
    return (
        mnist.X_train[index],
        mnist.y_train[index],
        mnist.X_test[:n_test],
        mnist.y_test[:n_test],
    )


def pretrained_stack(seed, n_unlabelled, width, depth, activation, pretraining):
    """Greedy DAE pre-training of ``depth`` hidden layers on the seed's unlabelled pool.

    The network is :func:`generalization.pretrain.feedforward` (``seed``); for ReLU its weights
    are first re-drawn by :func:`generalization.pretrain.he_initialize`, so that pre-training
    starts where the random network of the same regime starts. Only the pool's images reach
    :func:`generalization.pretrain.pretrain_layerwise`; its labels are never read here.

    Returns
    -------
    stack : list of (W, b)
        The pre-trained hidden layers, from the input up: ``W`` (width, fan_in), ``b`` (width,).
    losses : list of ndarray
        Each layer's clean reconstruction loss per image, before and after each epoch.
    """
    X_pool = mnist_pool(seed, n_unlabelled, 1)[0]
    model = _network(width, depth, activation, seed)
    losses = pretrain.pretrain_layerwise(model, X_pool, seed=seed, **pretraining)
    stack = [
        (layer.weight.detach().numpy().copy(), layer.bias.detach().numpy().copy())
        for layer in list(model)[0 : 2 * depth : 2]
    ]
    return stack, losses


def _network(width, depth, activation, seed, stack=None):
    """The regime's network at its random start, with the first hidden layers from ``stack``."""
    import torch

    model = pretrain.feedforward(784, (width,) * depth, 10, activation, seed)
    if activation == "relu":
        pretrain.he_initialize(model, seed)
    if stack is not None:
        with torch.no_grad():
            for layer, (W, b) in zip(list(model)[0 : 2 * depth : 2], stack[:depth]):
                layer.weight.copy_(torch.as_tensor(W))
                layer.bias.copy_(torch.as_tensor(b))
    return model


def fine_tune(model, X, y, optimizer, lr, num_steps, batch_size, seed):
    """Supervised training with cross-entropy for a fixed number of mini-batch steps.

    Batches are drawn without replacement within each pass over the data (a new seeded
    permutation per pass), so a small training set is revisited many times and a large one
    fewer; every run gets the same number of updates. Plain SGD (no momentum) or Adam
    (torch's defaults besides ``lr``). Unlike :func:`generalization.nets.train` nothing is
    evaluated during training, which keeps the many short runs of this chapter cheap.
    Trains ``model`` in place and returns it.
    """
    import torch
    import torch.nn.functional as F

    checks.choice("optimizer", optimizer, ("sgd", "adam"))
    num_steps = checks.count("num_steps", num_steps, minimum=0)
    X = torch.tensor(np.asarray(X, dtype=np.float32))
    y = torch.as_tensor(np.asarray(y, dtype=np.int64))
    n = len(y)
    batch = min(checks.count("batch_size", batch_size), n)
    generator = nets.seed_everything(seed)
    params = model.parameters()
    opt = torch.optim.SGD(params, lr=lr) if optimizer == "sgd" else torch.optim.Adam(params, lr=lr)
    order, position = torch.randperm(n, generator=generator), 0
    for _ in range(num_steps):
        if position + batch > n:
            order, position = torch.randperm(n, generator=generator), 0
        index = order[position : position + batch]
        position += batch
        loss = F.cross_entropy(model(X[index]), y[index])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model


def error_rate(model, X, y):
    """The fraction of rows of ``X`` whose arg-max logit is not ``y``."""
    import torch

    with torch.no_grad():
        logits = model(torch.tensor(np.asarray(X, dtype=np.float32)))
    return float(np.mean(logits.argmax(1).numpy() != np.asarray(y)))


@dataclass(frozen=True)
class Result:
    """What :func:`experiment` returns.

    ``test_error`` and ``train_error`` of the size grid, shape
    (len(REGIMES), len(INITS), len(seeds), len(sizes)), at ``depth`` hidden layers;
    ``depth_test_error`` and ``depth_train_error`` of the depth grid (sigmoid + SGD at
    ``depth_size`` labelled examples), shape (len(INITS), len(seeds), len(depths));
    ``pretrain_loss``: the clean reconstruction loss of the sigmoid stack's first layer
    before and after pre-training, shape (len(seeds), 2).
    """

    seeds: tuple
    sizes: tuple
    depths: tuple
    depth: int
    depth_size: int
    width: int
    n_unlabelled: int
    n_test: int
    test_error: np.ndarray
    train_error: np.ndarray
    depth_test_error: np.ndarray
    depth_train_error: np.ndarray
    pretrain_loss: np.ndarray
    run_time_s: float


def _run(stack, regime, depth, n, seed, pool, cfg):
    """Fine-tune one network; return its (train error, test error)."""
    X_pool, y_pool, X_test, y_test = pool
    activation, optimizer, lr = (
        ("sigmoid", "sgd", cfg["sgd_lr"]) if regime == 0 else ("relu", "adam", cfg["adam_lr"])
    )
    model = _network(cfg["width"], depth, activation, seed, stack)
    X, y = X_pool[:n], y_pool[:n]
    fine_tune(model, X, y, optimizer, lr, cfg["num_steps"], cfg["batch_size"], seed)
    return error_rate(model, X, y), error_rate(model, X_test, y_test)


@cached
def experiment(
    seeds,
    n_unlabelled,
    n_test,
    sizes,
    width,
    depth,
    depths,
    depth_size,
    pretraining,
    sgd_lr,
    adam_lr,
    num_steps,
    batch_size,
):
    """Test and training error with and without pre-training, by size, regime and depth. Cached.

    For each seed: the pool (:func:`mnist_pool`); a sigmoid stack of ``max(depths, depth)``
    layers and a ReLU stack of ``depth`` layers pre-trained on its images
    (:func:`pretrained_stack`; a network of fewer layers takes the bottom of the stack, which
    is exactly what pre-training it alone would give); then every network of the size grid and
    the depth grid fine-tuned (:func:`fine_tune`) from its random start and from its
    pre-trained one, with the same seed, steps and learning rate.

    Returns
    -------
    Result
    """
    seeds = checks.integers("seeds", seeds)
    sizes = checks.integers("sizes", sizes, minimum=1)
    depths = checks.integers("depths", depths, minimum=1)
    cfg = dict(width=width, sgd_lr=sgd_lr, adam_lr=adam_lr)
    cfg.update(num_steps=num_steps, batch_size=batch_size)
    start = time.perf_counter()
    test = np.zeros((len(REGIMES), len(INITS), len(seeds), len(sizes)))
    train = np.zeros_like(test)
    depth_test = np.zeros((len(INITS), len(seeds), len(depths)))
    depth_train = np.zeros_like(depth_test)
    pretrain_loss = np.zeros((len(seeds), 2))
    deepest = max(max(depths), depth)
    with nets.threads(1):  # small networks: one thread is fastest on a shared machine
        for s, seed in enumerate(seeds):
            pool = mnist_pool(seed, n_unlabelled, n_test)
            sigmoid, losses = pretrained_stack(
                seed, n_unlabelled, width, deepest, "sigmoid", pretraining
            )
            stacks = [
                sigmoid,
                pretrained_stack(seed, n_unlabelled, width, depth, "relu", pretraining)[0],
            ]
            pretrain_loss[s] = losses[0][0], losses[0][-1]
            runs = {}
            for r in range(len(REGIMES)):
                for i, stack in enumerate((None, stacks[r])):
                    for k, n in enumerate(sizes):
                        runs[r, i, depth, n] = _run(stack, r, depth, n, seed, pool, cfg)
                        train[r, i, s, k], test[r, i, s, k] = runs[r, i, depth, n]
            for i, stack in enumerate((None, stacks[0])):
                for k, d in enumerate(depths):
                    key = (0, i, d, depth_size)
                    if key not in runs:
                        runs[key] = _run(stack, 0, d, depth_size, seed, pool, cfg)
                    depth_train[i, s, k], depth_test[i, s, k] = runs[key]
    return Result(
        seeds=seeds,
        sizes=sizes,
        depths=depths,
        depth=depth,
        depth_size=depth_size,
        width=width,
        n_unlabelled=n_unlabelled,
        n_test=n_test,
        test_error=test,
        train_error=train,
        depth_test_error=depth_test,
        depth_train_error=depth_train,
        pretrain_loss=pretrain_loss,
        run_time_s=time.perf_counter() - start,
    )

"""Experiments of the chapter *Git Re-Basin: merging models modulo permutation symmetries*.

Ainsworth, Hayase and Srinivasa (2023) train two networks from different seeds, permute
the hidden units of the second so that its weights line up with the first's (weight
matching, their Algorithm 1: :func:`generalization.rebasin.weight_matching`), and
interpolate linearly between the first and the permuted second. On MNIST, with multilayer
perceptrons of three hidden layers of 512 units trained by Adam, the loss barrier of the
straight path, large between the networks as trained, vanishes after matching; on CIFAR-10
the barrier after matching shrinks as the networks widen (their Figure 4, VGG-16 and
ResNet20).

This chapter runs the MNIST experiment at several widths:

* :func:`rebasin_experiment`: for each seed, two MLPs of each width trained on the same
  MNIST subset from different initializations and batch orders
  (:func:`generalization.nets.train`, Adam); weight matching; the loss and error on the
  training and test sets along the straight path from A to B and from A to the permuted B
  (:func:`generalization.landscape.interpolate`); that the permuted B computes the same
  function as B; and, as a check of the matching, whether it recovers a random
  permutation of A exactly;
* :func:`barriers`: the barrier of every path (:func:`generalization.landscape.barrier`).

Differences from the paper: at the quick scale a subset of a few thousand training images,
widths up to 128 and a few epochs (the paper: all 60,000 images, width 512, 100 epochs of
batches of 500); the barrier is measured against the straight line between the endpoint
losses (:func:`generalization.landscape.barrier`), where the paper's Definition 2.2
subtracts their mean (:func:`mean_barrier`); the two agree when the endpoints have equal
loss. Activation matching and the straight-through estimator (the paper's Sections 3.1 and
3.3) are not run.

References
----------
Ainsworth, Hayase, Srinivasa (2023), *Git Re-Basin: merging models modulo permutation
symmetries*, ICLR, https://arxiv.org/abs/2209.04836.
Entezari, Sedghi, Saukh, Neyshabur (2022), *The role of permutation invariance in linear mode
connectivity of neural networks*, ICLR, https://arxiv.org/abs/2110.06296.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, data, landscape, nets, rebasin, settings_for
from generalization.book.cache import cached

SETTINGS = {
    "quick": dict(
        seeds=(0, 1, 2),
        widths=(8, 32, 128),
        depth=3,
        n_train=2000,
        n_test=1000,
        num_epochs=20,
        batch_size=100,
        lr=1e-3,
        n_alphas=9,
    ),
    "full": dict(
        seeds=(0, 1, 2, 3, 4),
        widths=(8, 32, 128, 512),
        depth=3,
        n_train=60000,
        n_test=10000,
        num_epochs=100,
        batch_size=500,
        lr=1e-3,
        n_alphas=25,
    ),
}
"""Sizes of the chapter's experiment at each scale (the claims tests use the same).

``seeds``: one pair of networks per seed (initializations ``2 seed`` and ``2 seed + 1``);
``depth``: hidden layers, each of the same width; Adam with learning rate ``lr``. Quick
runs in well under a minute on 2 CPU cores; full is the paper's MNIST setup (Appendix A.3.1:
three hidden layers of 512, Adam at 1e-3; their code: 100 epochs, batches of 500) with
narrower widths beside it."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def mnist_subsets(n_train, n_test, seed=0):
    """Stratified subsets of the MNIST training and test sets: ``(X, y, X_test, y_test)``.

    ``X`` has shape (n_train, 784), float32 pixels in [0, 1]; labels are int64.
    """
    mnist = data.load_mnist()
    X, y = data.subsample(mnist.X_train, mnist.y_train, n_train, seed, stratified=True)
    X_test, y_test = data.subsample(mnist.X_test, mnist.y_test, n_test, seed, stratified=True)
    return X, y, X_test, y_test


def train_mlp(width, depth, seed, X, y, num_epochs, batch_size, lr):
    """An MLP with ``depth`` hidden layers of ``width`` units trained by Adam from ``seed``.

    The seed sets both the initialization (:func:`generalization.nets.mlp`) and the order of
    the batches (:func:`generalization.nets.train`); one torch thread.
    """
    model = nets.mlp(hidden=(width,) * depth, seed=seed)
    nets.train(
        model,
        X,
        y,
        lr=lr,
        num_epochs=num_epochs,
        batch_size=batch_size,
        optimizer="adam",
        num_threads=1,
        seed=seed,
    )
    return model.eval()


def max_output_gap(model, other, X):
    """``max |model(x) - other(x)|`` over the rows of ``X`` and the outputs (logits)."""
    import torch

    X = torch.as_tensor(np.asarray(X, dtype=np.float32))
    with torch.no_grad():
        return float((model.eval()(X) - other.eval()(X)).abs().max())


def relative_distance(model_a, model_b):
    """``||theta_A - theta_B|| / ||theta_A||`` over all weights and biases."""
    return nets.weight_norm(model_a, model_b) / nets.weight_norm(model_a)


PATHS = ("naive", "matched")
"""The two straight paths: from A to B as trained, and from A to B after weight matching."""
SPLITS = ("train", "test")
QUANTITIES = ("loss", "error")


@dataclass(frozen=True)
class RebasinResult:
    """What :func:`rebasin_experiment` returns.

    ``curves[(path, split, quantity)]``: the mean cross-entropy (``"loss"``) or error rate
    (``"error"``) on the training or test subset along the path, shape
    (len(seeds), len(widths), n_alphas), at the points ``alphas`` (0 is A, 1 is B or its
    permutation); ``path`` in :data:`PATHS`. Arrays of shape (len(seeds), len(widths)):
    ``output_gap`` (largest difference of the logits of B and of permuted B on the test
    subset), ``distance_naive`` and ``distance_matched`` (``||theta_A - theta_B|| /
    ||theta_A||`` before and after matching), ``sweeps`` and ``match_time_s`` (passes over
    the layers and seconds of weight matching), ``recovered`` (weight matching undid a
    random permutation of A exactly) and ``recovery_sweeps``.
    """

    seeds: tuple
    widths: tuple
    depth: int
    n_train: int
    n_test: int
    alphas: np.ndarray
    curves: dict
    output_gap: np.ndarray
    distance_naive: np.ndarray
    distance_matched: np.ndarray
    sweeps: np.ndarray
    match_time_s: np.ndarray
    recovered: np.ndarray
    recovery_sweeps: np.ndarray
    run_time_s: float


def _recovery(model_a, seed):
    """Permute ``model_a`` at random, match it back: (exactly recovered?, passes)."""
    rng = np.random.default_rng(seed)
    hidden = [rng.permutation(d) for d in rebasin.hidden_widths(model_a)]
    shuffled = rebasin.permute(model_a, hidden)
    perms, info = rebasin.weight_matching(model_a, shuffled, return_info=True)
    exact = all(np.array_equal(p, np.argsort(h)) for p, h in zip(perms, hidden))
    return exact, info.sweeps


@cached
def rebasin_experiment(seeds, widths, depth, n_train, n_test, num_epochs, batch_size, lr, n_alphas):
    """Pairs of MNIST MLPs per width: the straight paths before and after weight matching. Cached.

    For each seed ``s`` and width: networks A (seed ``2 s``) and B (seed ``2 s + 1``)
    trained on the same subset (:func:`mnist_subsets`, seed 0) by :func:`train_mlp`;
    ``perms = rebasin.weight_matching(A, B)``; the loss and error of
    :func:`generalization.landscape.interpolate` from A to B and from A to
    ``rebasin.permute(B, perms)`` at ``n_alphas`` evenly spaced points on both subsets.

    Returns
    -------
    RebasinResult
    """
    seeds = checks.integers("seeds", seeds)
    widths = checks.integers("widths", widths, minimum=1)
    depth = checks.count("depth", depth)
    n_alphas = checks.count("n_alphas", n_alphas, minimum=3)
    start = time.perf_counter()
    X, y, X_test, y_test = mnist_subsets(n_train, n_test)
    split_data = {"train": (X, y), "test": (X_test, y_test)}
    alphas = np.linspace(0.0, 1.0, n_alphas)
    shape = (len(seeds), len(widths))
    curves = {
        (p, s, q): np.zeros((*shape, n_alphas)) for p in PATHS for s in SPLITS for q in QUANTITIES
    }
    out = {
        k: np.zeros(shape)
        for k in (
            "output_gap",
            "distance_naive",
            "distance_matched",
            "sweeps",
            "match_time_s",
            "recovered",
            "recovery_sweeps",
        )
    }
    for i, seed in enumerate(seeds):
        for j, width in enumerate(widths):
            model_a, model_b = (
                train_mlp(width, depth, 2 * seed + k, X, y, num_epochs, batch_size, lr)
                for k in (0, 1)
            )
            tic = time.perf_counter()
            perms, info = rebasin.weight_matching(model_a, model_b, return_info=True)
            out["match_time_s"][i, j] = time.perf_counter() - tic
            out["sweeps"][i, j] = info.sweeps
            matched = rebasin.permute(model_b, perms)
            out["output_gap"][i, j] = max_output_gap(model_b, matched, X_test)
            out["distance_naive"][i, j] = relative_distance(model_a, model_b)
            out["distance_matched"][i, j] = relative_distance(model_a, matched)
            out["recovered"][i, j], out["recovery_sweeps"][i, j] = _recovery(model_a, seed)
            for path, end in zip(PATHS, (model_b, matched)):
                for split, (Xs, ys) in split_data.items():
                    line = landscape.interpolate(model_a, end, alphas, Xs, ys)
                    curves[path, split, "loss"][i, j] = line.losses
                    curves[path, split, "error"][i, j] = line.errors
    return RebasinResult(
        seeds=seeds,
        widths=widths,
        depth=depth,
        n_train=n_train,
        n_test=n_test,
        alphas=alphas,
        curves=curves,
        recovered=out.pop("recovered").astype(bool),
        run_time_s=time.perf_counter() - start,
        **out,
    )


def barriers(result, path, split, quantity="loss"):
    """The barrier (:func:`generalization.landscape.barrier`) of every path of ``result``.

    Returns an array of shape (len(seeds), len(widths)).
    """
    checks.choice("path", path, PATHS)
    checks.choice("split", split, SPLITS)
    checks.choice("quantity", quantity, QUANTITIES)
    curves = result.curves[path, split, quantity]
    return np.array(
        [[landscape.barrier(c, result.alphas) for c in row] for row in curves], dtype=float
    )


def mean_barrier(curves):
    """The paper's Definition 2.2, ``max_alpha L(alpha) - (L(0) + L(1)) / 2``, on the last axis."""
    curves = np.asarray(curves, dtype=float)
    return curves.max(axis=-1) - 0.5 * (curves[..., 0] + curves[..., -1])

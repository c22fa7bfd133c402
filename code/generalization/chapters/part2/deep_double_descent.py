"""Experiments of the chapter *Deep double descent*.

Nakkiran et al. (2020) found double descent in trained deep networks along three axes: the
size of the model (model-wise), the length of training (epoch-wise) and the number of
training examples (sample-wise), with the peak where the training procedure is just able to
fit the training set, and sharpest with label noise. Here the networks are one-hidden-layer
ReLU networks on MNIST images reduced to their first principal components, trained end to
end with full-batch Adam on the cross-entropy (the paper also trains with Adam, without
explicit regularization), at a size a CPU trains in seconds.

All the networks of one sweep are trained at once, as one
:class:`generalization.bank.NetworkBank`; the inputs are coordinates in a
:func:`generalization.pca.pca_basis` fitted on training images the networks never see.

References
----------
Nakkiran, Kaplun, Bansal, Yang, Barak, Sutskever (2020), *Deep double descent: where bigger
models and more data hurt*, ICLR. https://arxiv.org/abs/1912.02292
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import numpy as np

from generalization import bank, checks, data, nets, settings_for
from generalization.book.cache import cached
from generalization.pca import pca_basis, project

N_CLASSES = bank.N_CLASSES
FIT_TOLERANCE = 0.01
"""A network *fits* its training set when its training error is at most this: the tolerance
``epsilon`` of the effective model complexity (Nakkiran et al. heuristically use 0.1)."""
POOL = 50_000
"""Training subsets are drawn from the first ``POOL`` MNIST training images; the remaining
10,000 (never trained on) only serve, without their labels, to fit the principal components."""

SETTINGS = {
    "quick": dict(
        n_train=500,
        n_test=2000,
        n_components=20,
        widths=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128),
        noise_levels=(0.0, 0.2),
        seeds=(0, 1, 2),
        num_steps=1000,
        lr=0.01,
        n_evals=30,
        sample_sizes=(100, 150, 200, 250, 300, 400, 500, 600, 800),
        sample_widths=(8, 16),
        sample_noise=0.2,
        sample_seeds=tuple(range(10)),
    ),
    "full": dict(
        n_train=4000,
        n_test=10000,
        n_components=50,
        widths=(1, 2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 91, 128, 181, 256, 362, 512, 1024),
        noise_levels=(0.0, 0.1, 0.2),
        seeds=(0, 1, 2, 3, 4),
        num_steps=4000,
        lr=0.005,
        n_evals=40,
        sample_sizes=(500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000, 6000, 8000, 10000),
        sample_widths=(32, 64),
        sample_noise=0.2,
        sample_seeds=(0, 1, 2),
    ),
}


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


@functools.lru_cache(maxsize=4)
def _mnist_basis(n_components):
    return pca_basis(data.load_mnist().X_train[POOL:], n_components)


def mnist_task(n_train, n_test, n_components, data_seed=0):
    """PCA inputs of a random subset of MNIST: ``(X, y, X_test, y_test)``.

    The ``n_train`` training images are the first ``n_train`` of a fixed random order
    (``data_seed``) of the first :data:`POOL` training images, so smaller sets are nested in
    larger ones. The principal components come from the other 10,000 training images.
    """
    mnist = data.load_mnist()
    n_train = checks.count("n_train", n_train, maximum=POOL)
    n_test = checks.count("n_test", n_test, maximum=mnist.X_test.shape[0])
    basis = _mnist_basis(n_components)
    index = np.random.default_rng(data_seed).permutation(POOL)[:n_train]
    return (
        project(mnist.X_train[index], basis),
        mnist.y_train[index].copy(),
        project(mnist.X_test[:n_test], basis),
        mnist.y_test[:n_test].copy(),
    )


# ----------------------------------------------------------------------------- experiments
@dataclass(frozen=True)
class WidthSweep:
    """Errors of every (noise level, width, seed) network over training.

    ``train_error`` and ``test_error`` have shape ``(len(noise_levels), len(widths), len(seeds),
    len(steps))``; the last column is the end of training.
    """

    widths: tuple
    noise_levels: tuple
    seeds: tuple
    n_train: int
    n_components: int
    n_params: np.ndarray
    steps: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    run_time_s: float


@cached
def width_sweep(n_train, n_test, n_components, widths, noise_levels, seeds, num_steps, lr, n_evals):
    """Model-wise (and epoch-wise) double descent: train every width at every noise level and seed.

    Network ``(noise, width, seed)`` is initialized from ``seed`` and trained on the same
    ``n_train`` images with labels corrupted (a fraction ``noise`` of them changed to another
    class, :func:`generalization.data.corrupt_labels`, seed ``1000 + seed``). Networks of the
    same width and seed start from the same weights at every noise level.
    """
    checks.integers("widths", widths, minimum=1)
    checks.numbers("noise_levels", noise_levels, low=0, high=1)
    checks.integers("seeds", seeds)
    start = time.perf_counter()
    X, y, X_test, y_test = mnist_task(n_train, n_test, n_components)
    grid = [(a, w, s) for a in noise_levels for w in widths for s in seeds]
    labels = np.stack(
        [data.corrupt_labels(y, a, seed=1000 + s, n_classes=N_CLASSES)[0] for a, _, s in grid]
    )
    with nets.threads(1):  # small matrices: a second thread only spins
        networks = bank.network_bank(n_components, [w for _, w, _ in grid], [s for *_, s in grid])
        log = bank.train_bank(
            networks, X, labels, X_test, y_test, lr=lr, num_steps=num_steps, n_evals=n_evals
        )
    shape = (len(noise_levels), len(widths), len(seeds), len(log.steps))
    return WidthSweep(
        widths=tuple(widths),
        noise_levels=tuple(noise_levels),
        seeds=tuple(seeds),
        n_train=n_train,
        n_components=n_components,
        n_params=bank.n_parameters(np.array(widths), n_components),
        steps=log.steps,
        train_error=log.train_error.reshape(shape),
        test_error=log.test_error.reshape(shape),
        run_time_s=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class SampleSweep:
    """Errors at the end of training of every (width, sample size, seed) network.

    ``train_error`` and ``test_error`` have shape ``(len(widths), len(sample_sizes), len(seeds))``.
    """

    widths: tuple
    sample_sizes: tuple
    seeds: tuple
    noise: float
    n_params: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    run_time_s: float


@cached
def sample_sweep(sample_sizes, n_test, n_components, widths, noise, seeds, num_steps, lr):
    """Sample-wise double descent: fixed widths, nested training sets of growing size.

    For each seed the labels of the largest training set are corrupted once (fraction
    ``noise``, seed ``1000 + seed``); a network trained on ``n`` examples sees the first ``n``
    of them, and starts from the weights of ``seed`` whatever its ``n``. Each trains for
    ``num_steps`` full-batch steps. One bank per training-set size, so that a step costs in
    proportion to ``n`` (a single bank would evaluate every network on the largest set).
    """
    sizes = checks.integers("sample_sizes", sample_sizes, minimum=1)
    if list(sizes) != sorted(set(sizes)):
        raise ValueError(f"sample_sizes must be increasing; got {sample_sizes!r}.")
    widths = checks.integers("widths", widths, minimum=1)
    seeds = checks.integers("seeds", seeds)
    start = time.perf_counter()
    X, y, X_test, y_test = mnist_task(sizes[-1], n_test, n_components)
    noisy = {s: data.corrupt_labels(y, noise, seed=1000 + s, n_classes=N_CLASSES)[0] for s in seeds}
    grid = [(w, s) for w in widths for s in seeds]
    shape = (len(widths), len(sizes), len(seeds))
    train_error, test_error = np.zeros(shape), np.zeros(shape)
    with nets.threads(1):  # small matrices: a second thread only spins
        for j, n in enumerate(sizes):
            networks = bank.network_bank(n_components, [w for w, _ in grid], [s for _, s in grid])
            labels = np.stack([noisy[s][:n] for _, s in grid])
            log = bank.train_bank(
                networks, X[:n], labels, X_test, y_test, lr=lr, num_steps=num_steps, n_evals=1
            )
            train_error[:, j] = log.train_error[:, -1].reshape(len(widths), len(seeds))
            test_error[:, j] = log.test_error[:, -1].reshape(len(widths), len(seeds))
    return SampleSweep(
        widths=tuple(widths),
        sample_sizes=sizes,
        seeds=tuple(seeds),
        noise=float(noise),
        n_params=bank.n_parameters(np.array(widths), n_components),
        train_error=train_error,
        test_error=test_error,
        run_time_s=time.perf_counter() - start,
    )

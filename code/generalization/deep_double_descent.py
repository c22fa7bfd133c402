"""Experiments of the chapter *Deep double descent*.

Nakkiran et al. (2020) found double descent in trained deep networks along three axes: the
size of the model (model-wise), the length of training (epoch-wise) and the number of
training examples (sample-wise), with the peak where the training procedure is just able to
fit the training set, and sharpest with label noise. Here the networks are one-hidden-layer
ReLU networks on MNIST images reduced to their first principal components, trained end to
end with full-batch Adam on the cross-entropy (the paper also trains with Adam, without
explicit regularization), at a size a CPU trains in seconds.

Training many small networks one after the other is dominated by Python overhead, so
:class:`NetworkBank` holds a whole family of independent networks (any widths, any seeds)
and trains them at once. The loss of the bank is the sum of the networks' losses; since no
parameter is shared and Adam updates every coordinate on its own, each network follows
exactly the trajectory it would follow if trained alone (the unit tests check this against
``torch.nn.Sequential`` copies).

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

from . import data, nets
from . import settings_for
from .cache import cached

N_CLASSES = 10
POOL = 50_000
"""Training subsets are drawn from the first ``POOL`` MNIST training images; the remaining
10,000 (never trained on) only serve, without their labels, to fit the principal components."""

SETTINGS = {
    "quick": dict(n_train=500, n_test=2000, n_components=20,
                  widths=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128),
                  noise_levels=(0.0, 0.2), seeds=(0, 1, 2), num_steps=1000, lr=0.01, n_evals=30,
                  sample_sizes=(100, 150, 200, 250, 300, 400, 500, 600, 800),
                  sample_widths=(8, 16), sample_noise=0.2, sample_seeds=(0, 1, 2, 3)),
    "full": dict(n_train=4000, n_test=10000, n_components=50,
                 widths=(1, 2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 91, 128, 181, 256, 362, 512, 1024),
                 noise_levels=(0.0, 0.1, 0.2), seeds=(0, 1, 2, 3, 4), num_steps=4000, lr=0.005, n_evals=40,
                 sample_sizes=(500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000, 6000, 8000, 10000),
                 sample_widths=(32, 64), sample_noise=0.2, sample_seeds=(0, 1, 2)),
}


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def n_parameters(width, n_inputs, n_classes=N_CLASSES):
    """Weights and biases of a one-hidden-layer network: ``width (n_inputs + 1) + n_classes (width + 1)``."""
    width, n_inputs, n_classes = (np.asarray(v) for v in (width, n_inputs, n_classes))
    if np.any(width < 1) or np.any(n_inputs < 1) or np.any(n_classes < 1):
        raise ValueError(f"width, n_inputs and n_classes must be positive; got {width}, {n_inputs}, {n_classes}.")
    return width * (n_inputs + 1) + n_classes * (width + 1)


# ----------------------------------------------------------------------------- inputs
def pca_basis(images, n_components):
    """Principal directions of ``images``: ``(mean, components, scale)``.

    Parameters
    ----------
    images : ndarray of shape (n, d)
    n_components : int, 1 <= n_components <= min(n, d)

    Returns
    -------
    mean : ndarray of shape (d,)
    components : ndarray of shape (d, n_components)
        Orthonormal columns, by decreasing variance.
    scale : float
        Standard deviation along the first component; :func:`project` divides by it so the
        leading coordinate has unit variance and the others keep their relative sizes.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 2:
        raise ValueError(f"images must be a 2-D array (n_images, n_pixels); got shape {images.shape}.")
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)) \
            or not 1 <= n_components <= min(images.shape):
        raise ValueError(f"n_components must be an integer from 1 to {min(images.shape)}; got {n_components!r}.")
    mean = images.mean(axis=0)
    centred = images - mean
    # eigenvectors of the d x d covariance: cheaper than an SVD of the n x d images when n >> d
    variance, vectors = np.linalg.eigh(centred.T @ centred / images.shape[0])
    top = np.argsort(variance)[::-1][:n_components]
    return mean, vectors[:, top], float(np.sqrt(variance[top[0]]))


def project(X, basis):
    """Coordinates of the rows of ``X`` on a :func:`pca_basis`, as float32 of shape (n, n_components)."""
    mean, components, scale = basis
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != components.shape[0]:
        raise ValueError(f"X must have shape (n, {components.shape[0]}); got {X.shape}.")
    return ((X - mean) @ components / scale).astype(np.float32)


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
    if not 1 <= n_train <= POOL or not 1 <= n_test <= mnist.X_test.shape[0]:
        raise ValueError(f"n_train must be in 1..{POOL} and n_test in 1..{mnist.X_test.shape[0]}; "
                         f"got {n_train} and {n_test}.")
    basis = _mnist_basis(n_components)
    index = np.random.default_rng(data_seed).permutation(POOL)[:n_train]
    return (project(mnist.X_train[index], basis), mnist.y_train[index].copy(),
            project(mnist.X_test[:n_test], basis), mnist.y_test[:n_test].copy())


# ----------------------------------------------------------------------------- many networks at once
def _bank_module():
    import torch
    import torch.nn as nn

    class NetworkBank(nn.Module):
        """Independent one-hidden-layer ReLU networks ``x -> W2 relu(W1 x + b1) + b2``, trained together.

        Network ``m`` has ``widths[m]`` hidden units and is initialized from ``seeds[m]`` as
        PyTorch initializes ``nn.Linear`` (uniform on +-1/sqrt(fan_in), weights and biases).
        Networks are grouped into buckets of widths that round up to the same power of two and
        zero-padded to the widest of their bucket, so each bucket is one batched matrix
        product per layer. The padded units start at zero and their outgoing weights are
        masked, so they receive no gradient and stay exactly zero.

        ``forward(X)`` maps ``X`` of shape (n, n_inputs) to logits of shape (M, n, n_classes).
        """

        def __init__(self, n_inputs, widths, seeds, n_classes=N_CLASSES):
            super().__init__()
            widths = tuple(int(w) for w in widths)
            seeds = tuple(int(s) for s in seeds)
            if not widths or min(widths) < 1:
                raise ValueError(f"widths must be a non-empty sequence of positive integers; got {widths!r}.")
            if len(seeds) != len(widths):
                raise ValueError(f"seeds must give one seed per network; got {len(seeds)} seeds for {len(widths)} widths.")
            if n_inputs < 1 or n_classes < 2:
                raise ValueError(f"n_inputs must be >= 1 and n_classes >= 2; got {n_inputs} and {n_classes}.")
            self.widths, self.seeds, self.n_inputs, self.n_classes = widths, seeds, int(n_inputs), int(n_classes)
            bucket_of = np.ceil(np.log2(widths)).astype(int)
            self.members, self.where = [], {}
            W1, b1, W2, b2, masks = [], [], [], [], []
            for b in np.unique(bucket_of):
                members = np.flatnonzero(bucket_of == b)
                pad = max(widths[m] for m in members)
                k = len(members)
                tensors = [torch.zeros(k, n_inputs, pad), torch.zeros(k, 1, pad), torch.zeros(k, pad, n_classes),
                           torch.zeros(k, 1, n_classes), torch.zeros(k, pad, 1)]
                for j, m in enumerate(members):
                    w, g = widths[m], torch.Generator().manual_seed(seeds[m])
                    # nn.Linear's default: weights and biases uniform on +-1/sqrt(fan_in)
                    for t, shape, fan_in in zip(tensors[:4], [(n_inputs, w), (1, w), (w, n_classes), (1, n_classes)],
                                                [n_inputs, n_inputs, w, w]):
                        t[j, :shape[0], :shape[1]] = (2 * torch.rand(*shape, generator=g) - 1) / np.sqrt(fan_in)
                    tensors[4][j, :w] = 1.0
                    self.where[int(m)] = (len(W1), j)
                for store, t in zip((W1, b1, W2, b2, masks), tensors):
                    store.append(t)
                self.members.append(members)
            self.W1 = nn.ParameterList(W1)  # per bucket (k, n_inputs, pad)
            self.b1 = nn.ParameterList(b1)  # (k, 1, pad)
            self.W2 = nn.ParameterList(W2)  # (k, pad, n_classes)
            self.b2 = nn.ParameterList(b2)  # (k, 1, n_classes)
            for i, mask in enumerate(masks):
                self.register_buffer(f"mask{i}", mask)
            self.masks = masks
            self.order = torch.as_tensor(np.argsort(np.concatenate(self.members)))

        def forward(self, X):
            outs = []
            for W1, b1, W2, b2, mask in zip(self.W1, self.b1, self.W2, self.b2, self.masks):
                H = torch.relu(torch.matmul(X, W1) + b1)  # (k, n, pad)
                outs.append(torch.baddbmm(b2, H, W2 * mask))  # (k, n, n_classes)
            return torch.cat(outs, 0)[self.order]

        def network(self, m):
            """Network ``m`` as a standalone ``torch.nn.Sequential`` (a copy of its current weights)."""
            if m not in self.where:
                raise ValueError(f"m must index one of the {len(self.widths)} networks; got {m!r}.")
            b, j = self.where[m]
            w = self.widths[m]
            first, second = nn.Linear(self.n_inputs, w), nn.Linear(w, self.n_classes)
            with torch.no_grad():
                first.weight.copy_(self.W1[b][j, :, :w].T)
                first.bias.copy_(self.b1[b][j, 0, :w])
                second.weight.copy_(self.W2[b][j, :w].T)
                second.bias.copy_(self.b2[b][j, 0])
            return nn.Sequential(first, nn.ReLU(), second)

    return NetworkBank


def network_bank(n_inputs, widths, seeds, n_classes=N_CLASSES):
    """Build a :class:`NetworkBank` of ``len(widths)`` independent networks (see its docstring)."""
    return _bank_module()(n_inputs, widths, seeds, n_classes)


@dataclass(frozen=True)
class BankLog:
    """Training record of a bank: one row per network, one column per evaluated step."""

    steps: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    train_loss: np.ndarray
    run_time_s: float


def eval_steps(num_steps, n_evals):
    """Steps at which to evaluate: 0 and about ``n_evals`` log-spaced steps up to ``num_steps``."""
    if num_steps < 1 or n_evals < 1:
        raise ValueError(f"num_steps and n_evals must be positive; got {num_steps} and {n_evals}.")
    return np.unique(np.concatenate([[0, num_steps], np.geomspace(1, num_steps, n_evals).round().astype(int)]))


def train_bank(bank, X, labels, X_test, y_test, *, lr, num_steps, n_evals=30, weights=None):
    """Full-batch Adam on the sum of the networks' mean cross-entropies.

    Parameters
    ----------
    bank : NetworkBank with M networks
    X : ndarray of shape (n, n_inputs); labels : int ndarray of shape (M, n)
        Each network has its own labels (its own label noise).
    X_test : ndarray of shape (n_test, n_inputs); y_test : ndarray of shape (n_test,)
    lr : float; num_steps : int
        Every step uses the whole training set: one step is one epoch.
    n_evals : int
        Errors are recorded at :func:`eval_steps` ``(num_steps, n_evals)``.
    weights : ndarray of shape (M, n) of 0/1, optional
        Which examples each network trains on (default: all); errors are measured on those.

    Returns
    -------
    BankLog
    """
    import torch
    import torch.nn.functional as F

    M = len(bank.widths)
    X = torch.as_tensor(np.asarray(X, dtype=np.float32))
    labels = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    if X.ndim != 2 or labels.shape != (M, X.shape[0]):
        raise ValueError(f"X must be (n, d) and labels (M, n) = ({M}, n); got {tuple(X.shape)} and {tuple(labels.shape)}.")
    w = torch.ones(labels.shape) if weights is None else torch.as_tensor(np.asarray(weights, dtype=np.float32))
    if w.shape != labels.shape or (w.sum(1) == 0).any():
        raise ValueError(f"weights must have shape {tuple(labels.shape)} with at least one example per network; "
                         f"got shape {tuple(w.shape)}.")
    X_test = torch.as_tensor(np.asarray(X_test, dtype=np.float32))
    y_test = torch.as_tensor(np.asarray(y_test, dtype=np.int64))
    counts = w.sum(1)
    steps = eval_steps(num_steps, n_evals)
    train_err, test_err = np.zeros((M, len(steps))), np.zeros((M, len(steps)))
    opt = torch.optim.Adam(bank.parameters(), lr=lr)
    start, col = time.perf_counter(), 0
    for step in range(num_steps + 1):
        logits = bank(X)  # (M, n, C)
        per_example = F.cross_entropy(logits.reshape(-1, bank.n_classes), labels.reshape(-1), reduction="none")
        losses = (per_example.view(M, -1) * w).sum(1) / counts  # (M,)
        if col < len(steps) and step == steps[col]:
            with torch.no_grad():
                wrong = (logits.argmax(2) != labels).float()
                train_err[:, col] = ((wrong * w).sum(1) / counts).numpy()
                test_err[:, col] = (bank(X_test).argmax(2) != y_test).float().mean(1).numpy()
            col += 1
        if step == num_steps:
            break
        opt.zero_grad(set_to_none=True)
        losses.sum().backward()
        opt.step()
    return BankLog(steps=steps, train_error=train_err, test_error=test_err, train_loss=losses.detach().numpy(),
                   run_time_s=time.perf_counter() - start)


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
    if min(widths) < 1 or not noise_levels or not seeds:
        raise ValueError(f"widths must be positive and noise_levels, seeds non-empty; got {widths}, {noise_levels}, {seeds}.")
    start = time.perf_counter()
    X, y, X_test, y_test = mnist_task(n_train, n_test, n_components)
    grid = [(a, w, s) for a in noise_levels for w in widths for s in seeds]
    labels = np.stack([data.corrupt_labels(y, a, seed=1000 + s, n_classes=N_CLASSES)[0] for a, _, s in grid])
    with nets.threads(1):  # small matrices: a second thread only spins
        bank = network_bank(n_components, [w for _, w, _ in grid], [s for *_, s in grid])
        log = train_bank(bank, X, labels, X_test, y_test, lr=lr, num_steps=num_steps, n_evals=n_evals)
    shape = (len(noise_levels), len(widths), len(seeds), len(log.steps))
    return WidthSweep(widths=tuple(widths), noise_levels=tuple(noise_levels), seeds=tuple(seeds), n_train=n_train,
                      n_components=n_components, n_params=n_parameters(np.array(widths), n_components),
                      steps=log.steps, train_error=log.train_error.reshape(shape),
                      test_error=log.test_error.reshape(shape), run_time_s=time.perf_counter() - start)


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
    of them. Each trains for ``num_steps`` full-batch steps, whatever its ``n``.
    """
    sizes = tuple(int(n) for n in sample_sizes)
    if not sizes or min(sizes) < 1 or list(sizes) != sorted(set(sizes)):
        raise ValueError(f"sample_sizes must be increasing positive integers; got {sample_sizes!r}.")
    start = time.perf_counter()
    X, y, X_test, y_test = mnist_task(sizes[-1], n_test, n_components)
    noisy = {s: data.corrupt_labels(y, noise, seed=1000 + s, n_classes=N_CLASSES)[0] for s in seeds}
    grid = [(w, n, s) for w in widths for n in sizes for s in seeds]
    labels = np.stack([noisy[s] for *_, s in grid])
    weights = np.stack([np.arange(sizes[-1]) < n for _, n, _ in grid]).astype(np.float32)
    with nets.threads(1):  # small matrices: a second thread only spins
        bank = network_bank(n_components, [w for w, *_ in grid], [s for *_, s in grid])
        log = train_bank(bank, X, labels, X_test, y_test, lr=lr, num_steps=num_steps, n_evals=1, weights=weights)
    shape = (len(widths), len(sizes), len(seeds))
    return SampleSweep(widths=tuple(widths), sample_sizes=sizes, seeds=tuple(seeds), noise=float(noise),
                       n_params=n_parameters(np.array(widths), n_components),
                       train_error=log.train_error[:, -1].reshape(shape), test_error=log.test_error[:, -1].reshape(shape),
                       run_time_s=time.perf_counter() - start)

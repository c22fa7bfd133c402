"""Experiments of the chapter *A closer look at memorization in deep networks*.

Arpit et al. (2017) compared how networks fit real data and noise. On real data some
examples are easy: they are classified correctly after very little training, and the same
ones in run after run. On noise no example is fitted early. When real and random labels
are mixed, the clean examples are fitted before the noisy ones, and regularizers such as
dropout slow the memorization of the noisy examples far more than the learning of the
clean ones. Here the network is a one-hidden-layer MLP on a fixed subset of MNIST, trained
with Adam by :func:`generalization.nets.train`, which records the loss of every training
example in every epoch.

Two experiments are cached (:mod:`generalization.book.cache`): :func:`example_difficulty` and
:func:`noisy_run` (one network on partly corrupted labels); :func:`noisy_grid` assembles
runs of the latter.

References
----------
Arpit, Jastrzebski, Ballas, Krueger, Bengio, Kanwal, Maharaj, Fischer, Courville, Bengio,
Lacoste-Julien (2017), *A closer look at memorization in deep networks*, ICML.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from generalization import checks, data, nets, settings_for
from generalization.book.cache import cached

FIT_THRESHOLD = math.log(2)
"""An example counts as fitted when its loss is below ln 2: its label then has probability
above 1/2, so it is certainly the predicted class."""

SETTINGS = {
    "quick": dict(
        n_train=1000,
        n_test=2000,
        hidden=(256,),
        lr=1e-3,
        batch_size=100,
        seeds=(0, 1, 2),
        real_epochs=20,
        random_epochs=40,
        noise_levels=(0.2, 0.4, 0.6, 0.8),
        noise_seeds=(0,),
        noise_epochs=50,
        reg_level=0.4,
        reg_seeds=(0, 1),
        easy_fraction=0.1,
    ),
    "full": dict(
        n_train=10000,
        n_test=10000,
        hidden=(512,),
        lr=1e-3,
        batch_size=100,
        seeds=(0, 1, 2, 3, 4),
        real_epochs=30,
        random_epochs=150,
        noise_levels=(0.2, 0.4, 0.6, 0.8),
        noise_seeds=(0, 1, 2),
        noise_epochs=150,
        reg_level=0.4,
        reg_seeds=(0, 1, 2),
        easy_fraction=0.1,
    ),
}

REGULARIZERS = {
    "none": {},
    "dropout": {"dropout": 0.5},
    "weight decay": {"weight_decay": 1e-3},
}
"""The regularizers compared on partly noisy labels (dropout after the hidden layer)."""

NEIGHBOURS = 10
"""How many nearest images (Euclidean, in pixel space) :func:`example_difficulty` compares each
training image with, for the label agreement of its neighbourhood."""

EARLY_EPOCHS = (2, 5)
"""The two early horizons at which the chapter counts the examples already fitted."""

TARGET_ACC = 0.9
"""The training accuracy whose first epoch the chapter reports for clean and noisy examples."""

DATA_SEED = 0
"""Seed of the training subset and of its random labels: the *same* examples in every run,
so that runs with different seeds (initialization and batch order) can be compared example
by example."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


# --- per-example statistics -------------------------------------------------------------


def learning_epochs(example_loss, threshold=FIT_THRESHOLD):
    """Epoch in which each example is first fitted.

    Parameters
    ----------
    example_loss : ndarray of shape (num_epochs, n_train)
        The loss of each example when its batch was used in each epoch
        (:attr:`generalization.nets.TrainLog.example_loss`).
    threshold : float, default ln 2

    Returns
    -------
    ndarray of shape (n_train,), int
        ``e`` (1-based) for the first epoch whose recorded loss is below ``threshold``;
        ``num_epochs + 1`` for examples never fitted.
    """
    loss = checks.array("example_loss", example_loss, ndim=2, finite=False)
    threshold = checks.positive("threshold", threshold)
    fitted = loss < threshold
    return np.where(fitted.any(axis=0), fitted.argmax(axis=0) + 1, loss.shape[0] + 1)


def easiest(example_loss, k, threshold=FIT_THRESHOLD):
    """Indices of the ``k`` examples learned first: by learning epoch, ties by mean loss.

    Returns
    -------
    ndarray of shape (k,), int
    """
    loss = checks.array("example_loss", example_loss, ndim=2, finite=False)
    k = checks.count("k", k, maximum=loss.shape[1])
    order = np.lexsort(
        (loss.mean(axis=0), learning_epochs(loss, threshold))
    )  # last key sorts first
    return order[:k]


def overlap(a, b):
    """``|a & b| / |a|`` for two equally large sets of indices."""
    a, b = np.unique(np.asarray(a)), np.unique(np.asarray(b))
    if a.ndim != 1 or a.size == 0 or a.size != b.size:
        raise ValueError(
            f"a and b must be non-empty sets of the same size; got sizes {a.size} and {b.size}."
        )
    return np.intersect1d(a, b).size / a.size


def pairwise(values, statistic):
    """``statistic(values[i], values[j])`` for every pair ``i < j`` of rows, as an array."""
    if len(values) < 2:
        raise ValueError(f"pairwise statistics need at least two rows (seeds); got {len(values)}.")
    return np.array(
        [statistic(values[i], values[j]) for i, j in combinations(range(len(values)), 2)]
    )


def rank_correlation(a, b):
    """Spearman's rank correlation of two vectors of the same length (ties get average ranks)."""
    from scipy.stats import spearmanr

    a, b = checks.array("a", a, ndim=1), checks.array("b", b, ndim=1)
    if a.shape != b.shape or a.size < 3:
        raise ValueError(
            f"a and b must be vectors of the same length (at least 3); got shapes {a.shape} and "
            f"{b.shape}."
        )
    return float(spearmanr(a, b)[0])


def neighbourhood(X, y, k=10, block=1000):
    """Distance of each row of ``X`` to its nearest other row, and how many of its ``k``
    nearest neighbours share its label.

    Parameters
    ----------
    X : ndarray of shape (n, d); y : ndarray of shape (n,)
    k : int, 1 <= k < n
    block : int
        Rows per block of the distance computation (memory ``block * n``).

    Returns
    -------
    nearest : ndarray of shape (n,)
        Euclidean distance to the nearest other example.
    agreement : ndarray of shape (n,)
        Fraction of the ``k`` nearest other examples with the same label.
    """
    X = checks.array("X", X, ndim=2, dtype=np.float64)
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(
            f"y must have shape ({X.shape[0]},), one label per row of X; got shape {y.shape}."
        )
    n = X.shape[0]
    k = checks.count("k", k, maximum=n - 1)
    squared = (X**2).sum(axis=1)
    nearest, agreement = np.empty(n), np.empty(n)
    for start in range(0, n, block):
        rows = slice(start, min(start + block, n))
        # |x - z|^2 = |x|^2 + |z|^2 - 2 x.z, with the example itself excluded
        d2 = squared[rows, None] + squared[None, :] - 2 * X[rows] @ X.T
        d2[np.arange(d2.shape[0]), np.arange(start, rows.stop)] = np.inf
        neighbours = np.argpartition(d2, k, axis=1)[:, :k]
        nearest[rows] = np.sqrt(np.maximum(d2.min(axis=1), 0))
        agreement[rows] = (y[neighbours] == y[rows, None]).mean(axis=1)
    return nearest, agreement


# --- experiment 1: easy examples on real and random labels ----------------------------


def training_subset(n_train, seed=DATA_SEED):
    """The fixed MNIST training subset ``(X, y)`` shared by every run of the chapter."""
    mnist = data.load_mnist()
    return data.subsample(mnist.X_train, mnist.y_train, n_train, seed=seed)


@dataclass(frozen=True)
class Difficulty:
    """Per-example learning on real and random labels of the same images.

    For each entry of ``datasets`` (``"real"``, ``"random labels"``): ``example_loss[d]`` of
    shape (n_seeds, num_epochs_d, n_train), ``learning_epoch[d]`` of shape (n_seeds, n_train),
    ``train_acc[d]`` of shape (n_seeds, num_epochs_d + 1); ``nearest[d]`` and ``agreement[d]``
    from :func:`neighbourhood` with that data set's labels.
    """

    datasets: tuple
    seeds: tuple
    example_loss: dict
    learning_epoch: dict
    train_acc: dict
    nearest: dict
    agreement: dict
    run_time_s: float


@cached
def example_difficulty(n_train, hidden, seeds, real_epochs, random_epochs, lr, batch_size):
    """Train on the true and on random labels of one fixed subset, once per seed; keep every loss.

    The images and the random labels are the same in every run; the seed changes only the
    initialization and the order of the batches.
    """
    checks.integers("seeds", seeds, min_length=2)  # runs to compare
    start = time.perf_counter()
    X, y = training_subset(n_train)
    labels = {
        "real": (y, real_epochs),
        "random labels": (data.random_labels(y, seed=DATA_SEED + 1), random_epochs),
    }
    losses, learned, accs, nearest, agreement = {}, {}, {}, {}, {}
    for name, (y_fit, num_epochs) in labels.items():
        runs = []
        for seed in seeds:
            model = nets.mlp(hidden=hidden, seed=seed)
            with nets.threads(1):  # small matrices: one thread is 2-6x faster than two
                runs.append(
                    nets.train(
                        model,
                        X,
                        y_fit,
                        lr=lr,
                        optimizer="adam",
                        num_epochs=num_epochs,
                        batch_size=batch_size,
                        record_example_loss=True,
                        seed=seed,
                    )
                )
        losses[name] = np.stack([log.example_loss for log in runs])
        learned[name] = np.stack([learning_epochs(log.example_loss) for log in runs])
        accs[name] = np.array([log.train_acc for log in runs])
        nearest[name], agreement[name] = neighbourhood(X, y_fit, k=NEIGHBOURS)
    return Difficulty(
        datasets=tuple(labels),
        seeds=tuple(seeds),
        example_loss=losses,
        learning_epoch=learned,
        train_acc=accs,
        nearest=nearest,
        agreement=agreement,
        run_time_s=time.perf_counter() - start,
    )


# --- experiment 2: clean and noisy labels, with and without regularization ------------


class _GroupAccuracy:
    """An ``on_epoch`` callback for :func:`nets.train`: eval-mode accuracy on named groups."""

    def __init__(self, groups):
        self.groups = groups
        self.accuracy = {name: [] for name in groups}

    def __call__(self, epoch, model):
        import torch

        model.eval()
        with torch.no_grad():
            for name, (X, y) in self.groups.items():
                self.accuracy[name].append((model(X).argmax(1) == y).float().mean().item())


@dataclass(frozen=True)
class NoisyRun:
    """One network on labels of which a fraction ``noise_level`` was replaced by wrong ones.

    Accuracies (eval mode) have one entry per epoch, epoch 0 (before training) first:
    ``clean_acc`` on the uncorrupted training examples, ``noisy_acc`` on the corrupted ones
    (measured against the wrong labels they were given), ``test_acc`` on the test images.
    ``clean_loss``/``noisy_loss``: mean recorded training loss of each group per epoch.
    """

    noise_level: float
    seed: int
    regularizer: str
    clean_acc: np.ndarray
    noisy_acc: np.ndarray
    test_acc: np.ndarray
    clean_loss: np.ndarray
    noisy_loss: np.ndarray
    run_time_s: float


@cached
def noisy_run(
    n_train, n_test, hidden, noise_level, seed, num_epochs, lr, batch_size, regularizer="none"
):
    """Corrupt a fraction ``noise_level`` of the labels (seed ``seed``) and train one network."""
    import torch

    checks.choice("regularizer", regularizer, tuple(REGULARIZERS))
    # both groups, clean and noisy, must exist
    checks.number("noise_level", noise_level, low=0, high=1, low_open=True, high_open=True)
    start = time.perf_counter()
    X, y = training_subset(n_train)
    y_noisy, changed = data.corrupt_labels(y, noise_level, seed=1000 + seed)
    mnist = data.load_mnist()
    options = REGULARIZERS[regularizer]
    model = nets.mlp(hidden=hidden, dropout=options.get("dropout", 0.0), seed=seed)

    def tensors(X_part, y_part):
        return torch.tensor(np.asarray(X_part, dtype=np.float32)), torch.tensor(
            np.asarray(y_part, dtype=np.int64)
        )

    groups = {
        "clean": tensors(X[~changed], y_noisy[~changed]),
        "noisy": tensors(X[changed], y_noisy[changed]),
        "test": tensors(mnist.X_test[:n_test], mnist.y_test[:n_test]),
    }
    probe = _GroupAccuracy(groups)
    with nets.threads(1):  # small matrices: one thread is 2-6x faster than two
        log = nets.train(
            model,
            X,
            y_noisy,
            lr=lr,
            optimizer="adam",
            num_epochs=num_epochs,
            batch_size=batch_size,
            weight_decay=options.get("weight_decay", 0.0),
            on_epoch=probe,
            record_example_loss=True,
            seed=seed,
        )
    acc = {name: np.array(values) for name, values in probe.accuracy.items()}
    return NoisyRun(
        noise_level=float(noise_level),
        seed=int(seed),
        regularizer=regularizer,
        clean_acc=acc["clean"],
        noisy_acc=acc["noisy"],
        test_acc=acc["test"],
        clean_loss=log.example_loss[:, ~changed].mean(axis=1),
        noisy_loss=log.example_loss[:, changed].mean(axis=1),
        run_time_s=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class NoisyGrid:
    """Runs of :func:`noisy_run` over regularizers x noise levels x seeds.

    Arrays have shape (n_regularizers, n_levels, n_seeds, num_epochs + 1).
    """

    regularizers: tuple
    noise_levels: tuple
    seeds: tuple
    clean_acc: np.ndarray
    noisy_acc: np.ndarray
    test_acc: np.ndarray
    run_time_s: float


def noisy_grid(
    n_train, n_test, hidden, noise_levels, seeds, num_epochs, lr, batch_size, regularizers=("none",)
):
    """Every combination of ``regularizers``, ``noise_levels`` and ``seeds`` (each run cached)."""
    checks.numbers("noise_levels", noise_levels, low=0, high=1, low_open=True, high_open=True)
    checks.integers("seeds", seeds)
    checks.selection("regularizers", regularizers, tuple(REGULARIZERS))
    runs = [
        [
            [
                noisy_run(
                    n_train,
                    n_test,
                    hidden,
                    level,
                    seed,
                    num_epochs,
                    lr,
                    batch_size,
                    regularizer=reg,
                )
                for seed in seeds
            ]
            for level in noise_levels
        ]
        for reg in regularizers
    ]

    def stack(field):
        return np.array([[[getattr(run, field) for run in row] for row in block] for block in runs])

    return NoisyGrid(
        regularizers=tuple(regularizers),
        noise_levels=tuple(noise_levels),
        seeds=tuple(seeds),
        clean_acc=stack("clean_acc"),
        noisy_acc=stack("noisy_acc"),
        test_acc=stack("test_acc"),
        run_time_s=float(sum(run.run_time_s for block in runs for row in block for run in row)),
    )


def epochs_to_reach(curve, target):
    """First epoch (index into ``curve``, epoch 0 first) at which ``curve >= target``; NaN if never.

    ``curve`` may have leading axes; the last axis is epochs.
    """
    curve = checks.array("curve", curve)
    if curve.ndim < 1:
        raise ValueError(f"curve must have epochs on its last axis; got a number, {curve!r}.")
    target = checks.fraction("target (an accuracy)", target)
    reached = curve >= target
    return np.where(reached.any(axis=-1), reached.argmax(axis=-1), np.nan)

"""Experiments of the chapter *Understanding deep learning requires rethinking generalization*.

Zhang et al. (2017) trained networks on corrupted versions of CIFAR-10 and ImageNet: true
labels, random labels, shuffled pixels (one permutation for all images), random pixels (a
permutation per image) and Gaussian noise images. Every version of CIFAR-10 was fitted to
(close to) 100% training accuracy, random labels only a small factor slower, and explicit
regularizers did not prevent it. Their networks were convolutional networks and MLPs with
one and three hidden layers of 512 units (Table 1). Here the network is their smaller MLP
shape, one hidden layer of 512 units, trained with Adam on a subset of MNIST until it
classifies every training image correctly; MNIST is our substitute, not the paper's data.

Every network trains on one CPU thread (``nets.train(num_threads=1)``): the networks are
small, one thread is nearly as fast as two on an idle machine, and it keeps the run time
from collapsing when the book executes several chapters at once on shared cores.

Each experiment is cached (:mod:`generalization.book.cache`) and returns a small frozen
dataclass with ``run_time_s`` measured inside.

References
----------
Zhang, Bengio, Hardt, Recht, Vinyals (2017), *Understanding deep learning requires
rethinking generalization*, ICLR. https://arxiv.org/abs/1611.03530
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, data, nets, settings_for
from generalization.augment import random_shift
from generalization.book.cache import cached

CORRUPTIONS = ("true labels", "random labels", "shuffled pixels", "random pixels", "Gaussian noise")

WEIGHT_DECAY = 1e-4
"""The weight decay of the regularizer experiment."""

DROPOUT = 0.3
"""The dropout probability after the hidden layer in the regularizer experiment."""

MAX_SHIFT = 2
"""Augmentation: random cyclic shifts of up to this many pixels along each axis."""

REGULARIZERS = {
    "none": {},
    "weight decay": {"weight_decay": WEIGHT_DECAY},
    "dropout": {"dropout": DROPOUT},
    "augmentation": {"augment": "shift"},
    "all three": {"weight_decay": WEIGHT_DECAY, "dropout": DROPOUT, "augment": "shift"},
}
"""The explicit regularizers compared, in the row order of :class:`RegularizerFits`."""

SETTINGS = {
    "quick": dict(
        n_train=500,
        n_test=2000,
        hidden=(512,),
        seeds=(0, 1, 2),
        max_epochs=400,
        reg_epochs=100,
        lr=1e-3,
        batch_size=100,
        fractions=(0.0, 0.25, 0.5, 0.75, 1.0),
        curve_seeds=(0,),
    ),
    "full": dict(
        n_train=10000,
        n_test=10000,
        hidden=(512,),
        seeds=(0, 1, 2),
        max_epochs=1000,
        reg_epochs=1000,
        lr=1e-3,
        batch_size=100,
        fractions=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
        curve_seeds=(0, 1, 2),
    ),
}


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def corrupt(name, X_train, y_train, X_test, seed):
    """Return ``(X_train, y_train, X_test)`` for one of :data:`CORRUPTIONS`.

    Random labels are drawn uniformly from the ten digits, independently of the images
    (so about one in ten agrees with the true label by chance). Shuffled pixels apply the
    same permutation to the test images (the same task, in a scrambled pixel order);
    random pixels permute each test image on its own.
    """
    checks.choice("corruption", name, CORRUPTIONS)
    if name == "true labels":
        return X_train, y_train, X_test
    if name == "random labels":
        return X_train, data.random_labels(y_train, seed=seed), X_test
    if name == "shuffled pixels":
        return data.shuffled_pixels(X_train, seed), y_train, data.shuffled_pixels(X_test, seed)
    if name == "random pixels":
        return data.random_pixels(X_train, seed), y_train, data.random_pixels(X_test, seed + 1)
    return data.gaussian_inputs(X_train, seed), y_train, X_test


def _split(n_train, n_test, seed):
    mnist = data.load_mnist()
    X, y = data.subsample(mnist.X_train, mnist.y_train, n_train, seed=seed)
    return X, y, mnist.X_test[:n_test], mnist.y_test[:n_test]


def _fit(
    X,
    y,
    X_test,
    y_test,
    hidden,
    max_epochs,
    lr,
    batch_size,
    seed,
    dropout=0.0,
    weight_decay=0.0,
    augment=None,
):
    model = nets.mlp(hidden=hidden, dropout=dropout, seed=seed)
    return nets.train(
        model,
        X,
        y,
        X_test,
        y_test,
        lr=lr,
        optimizer="adam",
        num_epochs=max_epochs,
        batch_size=batch_size,
        weight_decay=weight_decay,
        augment=augment,
        stop_at_train_acc=1.0,
        test_every=max_epochs,
        num_threads=1,
        seed=seed,
    )


@dataclass(frozen=True)
class CorruptionFits:
    """Per corruption (rows, in :data:`CORRUPTIONS` order) and seed (columns).

    ``epochs_to_fit`` is NaN where 100% training accuracy was not reached in ``max_epochs``;
    ``train_acc_curves[c][s]`` is the training accuracy after each epoch (epoch 0 first).
    """

    corruptions: tuple
    seeds: tuple
    epochs_to_fit: np.ndarray
    final_train_acc: np.ndarray
    test_acc: np.ndarray
    train_acc_curves: list
    run_time_s: float


@cached
def fit_corruptions(
    n_train, n_test, hidden, seeds, max_epochs, lr, batch_size, corruptions=CORRUPTIONS
):
    """Train the MLP to 100% training accuracy on each corruption (default: all), for every seed."""
    checks.selection("corruptions", corruptions, CORRUPTIONS)
    start = time.perf_counter()
    shape = (len(corruptions), len(seeds))
    epochs, final, test = np.full(shape, np.nan), np.zeros(shape), np.zeros(shape)
    curves = [[None] * len(seeds) for _ in corruptions]
    for s, seed in enumerate(seeds):
        X, y, X_test, y_test = _split(n_train, n_test, seed)
        for c, name in enumerate(corruptions):
            Xc, yc, Xc_test = corrupt(name, X, y, X_test, seed)
            log = _fit(Xc, yc, Xc_test, y_test, hidden, max_epochs, lr, batch_size, seed)
            epochs[c, s] = log.epochs_to_fit if log.epochs_to_fit is not None else np.nan
            final[c, s], test[c, s] = log.train_acc[-1], log.test_acc[-1]
            curves[c][s] = np.array(log.train_acc)
    return CorruptionFits(
        corruptions=tuple(corruptions),
        seeds=tuple(seeds),
        epochs_to_fit=epochs,
        final_train_acc=final,
        test_acc=test,
        train_acc_curves=curves,
        run_time_s=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class RegularizerFits:
    """Rows: :data:`REGULARIZERS`; columns: ``labels`` ("true", "random").

    ``train_acc_curves[r][j]`` is the training accuracy (on the unshifted training images)
    after each epoch, epoch 0 first; it ends at the epoch the labels were fitted, or after
    the budget of epochs. ``label_agreement`` is the fraction of random labels that equal
    the true label.
    """

    regularizers: tuple
    labels: tuple
    epochs_to_fit: np.ndarray
    final_train_acc: np.ndarray
    test_acc: np.ndarray
    train_acc_curves: list
    label_agreement: float
    run_time_s: float

    def train_acc_at(self, regularizer, labels, epoch):
        """Training accuracy of one run after ``epoch`` epochs (its last value if it stopped)."""
        checks.choice("regularizer", regularizer, self.regularizers)
        checks.choice("labels", labels, self.labels)
        curve = self.train_acc_curves[self.regularizers.index(regularizer)][
            self.labels.index(labels)
        ]
        epoch = checks.count("epoch", epoch, minimum=0)
        return float(curve[min(epoch, len(curve) - 1)])


@cached
def fit_with_regularizers(n_train, n_test, hidden, seed, reg_epochs, lr, batch_size):
    """True and random labels, with each explicit regularizer; one seed.

    Every run has the same budget of ``reg_epochs`` epochs and stops early once it fits its
    labels. The random labels are those of :func:`corrupt` (``"random labels"``, same
    seed), so the unregularized row repeats that run of :func:`fit_corruptions`.
    """
    reg_epochs = checks.count("reg_epochs", reg_epochs)
    start = time.perf_counter()
    X, y, X_test, y_test = _split(n_train, n_test, seed)
    _, y_random, _ = corrupt("random labels", X, y, X_test, seed)
    labels = {"true": y, "random": y_random}
    shape = (len(REGULARIZERS), len(labels))
    epochs, final, test = np.full(shape, np.nan), np.zeros(shape), np.zeros(shape)
    curves = [[None] * len(labels) for _ in REGULARIZERS]
    for r, options in enumerate(REGULARIZERS.values()):
        options = dict(options)
        if options.get("augment") == "shift":
            options["augment"] = random_shift(MAX_SHIFT)
        for j, y_fit in enumerate(labels.values()):
            log = _fit(
                X, y_fit, X_test, y_test, hidden, reg_epochs, lr, batch_size, seed, **options
            )
            epochs[r, j] = log.epochs_to_fit if log.epochs_to_fit is not None else np.nan
            final[r, j], test[r, j] = log.train_acc[-1], log.test_acc[-1]
            curves[r][j] = np.array(log.train_acc)
    return RegularizerFits(
        regularizers=tuple(REGULARIZERS),
        labels=tuple(labels),
        epochs_to_fit=epochs,
        final_train_acc=final,
        test_acc=test,
        train_acc_curves=curves,
        label_agreement=float(np.mean(y_random == y)),
        run_time_s=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class CorruptionCurve:
    """Test error and epochs to fit against the fraction of corrupted labels (rows: fractions)."""

    fractions: tuple
    seeds: tuple
    test_error: np.ndarray
    epochs_to_fit: np.ndarray
    run_time_s: float


@cached
def label_corruption_curve(n_train, n_test, hidden, fractions, seeds, max_epochs, lr, batch_size):
    """Replace each label with probability ρ by a random class; fit; measure the test error."""
    start = time.perf_counter()
    shape = (len(fractions), len(seeds))
    errors, epochs = np.zeros(shape), np.full(shape, np.nan)
    for s, seed in enumerate(seeds):
        X, y, X_test, y_test = _split(n_train, n_test, seed)
        for f, fraction in enumerate(fractions):
            y_fit = data.random_labels(y, seed=seed + 1000, fraction=fraction)
            log = _fit(X, y_fit, X_test, y_test, hidden, max_epochs, lr, batch_size, seed)
            errors[f, s] = 1 - log.test_acc[-1]
            epochs[f, s] = log.epochs_to_fit if log.epochs_to_fit is not None else np.nan
    return CorruptionCurve(
        fractions=tuple(fractions),
        seeds=tuple(seeds),
        test_error=errors,
        epochs_to_fit=epochs,
        run_time_s=time.perf_counter() - start,
    )

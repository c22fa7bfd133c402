"""Experiments of the chapter *Understanding deep learning requires rethinking generalization*.

Zhang et al. (2017) trained networks on corrupted versions of their data: true labels,
random labels, shuffled pixels (one permutation for all images), random pixels (a
permutation per image) and Gaussian noise images. Every version was fitted to 100%
training accuracy, random labels only a small factor slower, and explicit regularizers did
not prevent it. Here the network is a one-hidden-layer MLP on MNIST (the paper's MNIST
model, 1 x 512), trained with Adam until it classifies every training image correctly.

Each experiment is cached (:mod:`generalization.book.cache`) and returns a small frozen
dataclass with ``run_time_s`` measured inside.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, data, nets, settings_for
from generalization.augment import random_shift
from generalization.book.cache import cached

CORRUPTIONS = ("true labels", "random labels", "shuffled pixels", "random pixels", "Gaussian noise")

SETTINGS = {
    "quick": dict(
        n_train=1000,
        n_test=2000,
        hidden=(512,),
        seeds=(0, 1, 2),
        max_epochs=400,
        augment_epochs=50,
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
        augment_epochs=1000,
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

    Shuffled pixels apply the same permutation to the test images (the task is the same
    task, in a scrambled pixel order); random pixels permute each test image on its own.
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


REGULARIZERS = {
    "none": {},
    "weight decay": {"weight_decay": 1e-4},
    "dropout": {"dropout": 0.3},
    "augmentation": {"augment": "shift"},
    "all three": {"weight_decay": 1e-4, "dropout": 0.3, "augment": "shift"},
}


@dataclass(frozen=True)
class RegularizerFits:
    """Rows: :data:`REGULARIZERS`; columns: ``labels`` ("true", "random")."""

    regularizers: tuple
    labels: tuple
    epochs_to_fit: np.ndarray
    final_train_acc: np.ndarray
    test_acc: np.ndarray
    run_time_s: float


@cached
def fit_with_regularizers(
    n_train, n_test, hidden, seed, max_epochs, augment_epochs, lr, batch_size
):
    """True and random labels, with each explicit regularizer; one seed.

    Every run trains until it fits its labels or for ``max_epochs``; runs with augmentation,
    whose every epoch shows new shifted images, stop after ``augment_epochs``.
    """
    start = time.perf_counter()
    X, y, X_test, y_test = _split(n_train, n_test, seed)
    labels = {"true": y, "random": data.random_labels(y, seed=seed)}
    shape = (len(REGULARIZERS), len(labels))
    epochs, final, test = np.full(shape, np.nan), np.zeros(shape), np.zeros(shape)
    for r, options in enumerate(REGULARIZERS.values()):
        options = dict(options)
        budget = max_epochs
        if options.get("augment") == "shift":
            options["augment"] = random_shift(2)
            budget = augment_epochs
        for j, y_fit in enumerate(labels.values()):
            log = _fit(X, y_fit, X_test, y_test, hidden, budget, lr, batch_size, seed, **options)
            epochs[r, j] = log.epochs_to_fit if log.epochs_to_fit is not None else np.nan
            final[r, j], test[r, j] = log.train_acc[-1], log.test_acc[-1]
    return RegularizerFits(
        regularizers=tuple(REGULARIZERS),
        labels=tuple(labels),
        epochs_to_fit=epochs,
        final_train_acc=final,
        test_acc=test,
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
    """Replace each label with probability p by a random class; fit; measure the test error."""
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

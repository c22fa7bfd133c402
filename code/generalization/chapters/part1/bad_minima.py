"""Experiments of the chapter *Bad global minima exist and SGD can reach them*.

Liu, Papailiopoulos and Achlioptas (2020) start SGD from an *adversarial initialization*:
a network that has first memorized random labels on a replicated, augmented copy of the
training images. Trained from there on the correct labels with plain SGD (no momentum,
no weight decay, no augmentation) it still reaches 100% training accuracy, but it tests
far worse than the same network trained from a random initialization: a bad global
minimum, found by SGD. With explicit regularization (momentum, weight decay, data
augmentation) the damage disappears.

Every network trains on one CPU thread (``nets.train(num_threads=1)``): the networks are
small, and one thread keeps the run time steady when several chapters execute at once on
shared cores.

Here the network is the one-hidden-layer MLP of the chapter *rethinking* on a subset of
MNIST; the paper used convolutional networks on CIFAR-10, CINIC-10 and Restricted
ImageNet. The experiment is cached (:mod:`generalization.book.cache`) and returns a frozen
dataclass with ``run_time_s`` measured inside.

References
----------
Liu, Papailiopoulos, Achlioptas (2020), *Bad global minima exist and SGD can reach them*,
NeurIPS. https://arxiv.org/abs/1906.02613
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, data, nets, settings_for
from generalization.augment import random_shift, replicate
from generalization.book.cache import cached

INITS = ("random", "adversarial")
"""The two starting points, in the row order of :class:`InitComparison`."""

RECIPES = ("plain SGD", "regularized")
"""The two ways to train on the correct labels, in column order of :class:`InitComparison`."""

RECIPE = dict(lr=0.05, batch_size=50, reg_lr=0.02, momentum=0.9, weight_decay=5e-4, max_shift=2)
"""The training recipes' settings, the same at both scales: plain SGD uses ``lr`` and
``batch_size``; the regularized recipe ``reg_lr``, ``momentum``, ``weight_decay`` and random
shifts of up to ``max_shift`` pixels (which also make the replicated copies)."""

SETTINGS = {
    "quick": dict(
        n_train=300,
        n_test=2000,
        hidden=(512,),
        seeds=(0, 1, 2),
        copies=8,
        max_epochs=300,
        reg_epochs=40,
        **RECIPE,
    ),
    "full": dict(
        n_train=10000,
        n_test=10000,
        hidden=(512,),
        seeds=(0, 1, 2),
        copies=10,
        max_epochs=500,
        reg_epochs=150,
        **RECIPE,
    ),
}


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def adversarial_init(X, hidden, copies, seed, lr=2e-3, batch_size=250, max_epochs=200, max_shift=2):
    """Fit random labels on ``copies`` shifted versions of ``X``; return ``(model, log)``.

    The model is ``nets.mlp(hidden=hidden, seed=seed)``, the same random start the baseline
    uses, trained with Adam until it classifies every replicated image as its random label
    (or for ``max_epochs``). Only the images are used, never their labels: the adversary
    needs no labelled data.
    """
    X_rep = replicate(X, copies, max_shift, seed=seed)
    y_rep = data.random_labels(np.zeros(X_rep.shape[0], dtype=np.int64), seed=seed + 1000)
    model = nets.mlp(hidden=hidden, seed=seed)
    log = nets.train(
        model,
        X_rep,
        y_rep,
        lr=lr,
        optimizer="adam",
        num_epochs=checks.count("max_epochs", max_epochs),
        batch_size=batch_size,
        stop_at_train_acc=1.0,
        num_threads=1,
        seed=seed,
    )
    return model, log


@dataclass(frozen=True)
class InitComparison:
    """Arrays of shape ``(2, n_recipes, n_seeds)``: :data:`INITS` x ``recipes`` x seeds.

    ``train_curves[i][r][s]`` holds the training accuracy after each epoch (epoch 0 first),
    ``test_curves[i][r][s]`` the test accuracy after the epochs ``test_epochs[i][r][s]``.
    ``epochs_to_fit`` is NaN where 100% training accuracy was not reached.
    ``pretrain_epochs``/``pretrain_acc`` (per seed) describe the adversarial
    pre-training; ``start_norm`` (``(2, n_seeds)``) and ``weight_norm`` are the norms of the
    weights before and after training on the correct labels, ``distance`` the distance the
    weights moved during it.
    """

    seeds: tuple
    recipes: tuple
    n_replicated: int
    final_train_acc: np.ndarray
    test_acc: np.ndarray
    epochs_to_fit: np.ndarray
    weight_norm: np.ndarray
    distance: np.ndarray
    start_norm: np.ndarray
    train_curves: list
    test_curves: list
    test_epochs: list
    pretrain_epochs: np.ndarray
    pretrain_acc: np.ndarray
    run_time_s: float

    def test_error(self, init, recipe):
        """Test error per seed of one of :data:`INITS` trained by one of ``self.recipes``."""
        checks.choice("init", init, INITS)
        checks.choice("recipe", recipe, self.recipes)
        return 1 - self.test_acc[INITS.index(init), self.recipes.index(recipe)]


@cached
def compare_initializations(
    n_train,
    n_test,
    hidden,
    seeds,
    copies,
    max_epochs,
    reg_epochs,
    lr=0.05,
    batch_size=50,
    reg_lr=0.02,
    momentum=0.9,
    weight_decay=5e-4,
    max_shift=2,
    test_every=5,
    recipes=RECIPES,
):
    """Train on the correct labels from a random and from an adversarial start, two ways.

    For each seed: draw ``n_train`` MNIST training images; build the adversarial start with
    :func:`adversarial_init` (``copies`` versions per image, random labels); then, from it and
    from the untouched random start, train on the correct labels with

    * **plain SGD**: learning rate ``lr``, no momentum, no weight decay, no augmentation,
      until 100% training accuracy (at most ``max_epochs``);
    * **regularized**: SGD with learning rate ``reg_lr``, ``momentum``, ``weight_decay`` and
      random shifts of up to ``max_shift`` pixels, for ``reg_epochs`` epochs.

    Test accuracy is measured on the first ``n_test`` MNIST test images every ``test_every``
    epochs and after the last. ``recipes`` selects (and orders) the recipes to run, a
    non-empty selection of :data:`RECIPES`.
    """
    n_train, n_test = checks.count("n_train", n_train), checks.count("n_test", n_test)
    copies, test_every = checks.count("copies", copies), checks.count("test_every", test_every)
    max_epochs, reg_epochs = (
        checks.count("max_epochs", max_epochs),
        checks.count("reg_epochs", reg_epochs),
    )
    seeds = checks.integers("seeds", seeds)
    lr, reg_lr = checks.positive("lr", lr), checks.positive("reg_lr", reg_lr)
    momentum = checks.number("momentum", momentum, low=0, high=1, high_open=True)
    weight_decay = checks.nonnegative("weight_decay", weight_decay)
    recipes = checks.selection("recipes", recipes, RECIPES)
    start = time.perf_counter()
    mnist = data.load_mnist()
    X_test, y_test = mnist.X_test[:n_test], mnist.y_test[:n_test]
    shape = (len(INITS), len(recipes), len(seeds))
    final, test, fit, norm = (
        np.zeros(shape),
        np.zeros(shape),
        np.full(shape, np.nan),
        np.zeros(shape),
    )
    moved = np.zeros(shape)
    start_norm = np.zeros((len(INITS), len(seeds)))
    train_curves = [[[None] * len(seeds) for _ in recipes] for _ in INITS]
    test_curves = [[[None] * len(seeds) for _ in recipes] for _ in INITS]
    test_epochs = [[[None] * len(seeds) for _ in recipes] for _ in INITS]
    pre_epochs, pre_acc = np.full(len(seeds), np.nan), np.zeros(len(seeds))
    options = {
        "plain SGD": dict(
            lr=lr, momentum=0.0, weight_decay=0.0, num_epochs=max_epochs, stop_at_train_acc=1.0
        ),
        "regularized": dict(
            lr=reg_lr,
            momentum=momentum,
            weight_decay=weight_decay,
            num_epochs=reg_epochs,
            augment=random_shift(max_shift),
        ),
    }
    for s, seed in enumerate(seeds):
        X, y = data.subsample(mnist.X_train, mnist.y_train, n_train, seed=seed)
        adversarial, pre_log = adversarial_init(X, hidden, copies, seed, max_shift=max_shift)
        pre_epochs[s] = pre_log.epochs_to_fit if pre_log.epochs_to_fit is not None else np.nan
        pre_acc[s] = pre_log.train_acc[-1]
        starts = {"random": nets.mlp(hidden=hidden, seed=seed), "adversarial": adversarial}
        for i, init in enumerate(INITS):
            start_norm[i, s] = nets.weight_norm(starts[init])
            for r, recipe in enumerate(recipes):
                model = copy.deepcopy(starts[init])
                log = nets.train(
                    model,
                    X,
                    y,
                    X_test,
                    y_test,
                    batch_size=batch_size,
                    test_every=test_every,
                    num_threads=1,
                    seed=seed,
                    **options[recipe],
                )
                final[i, r, s], test[i, r, s] = log.train_acc[-1], log.test_acc[-1]
                fit[i, r, s] = log.epochs_to_fit if log.epochs_to_fit is not None else np.nan
                norm[i, r, s] = nets.weight_norm(model)
                moved[i, r, s] = nets.weight_norm(model, starts[init])
                train_curves[i][r][s] = np.array(log.train_acc)
                last = len(log.train_acc) - 1
                test_curves[i][r][s] = np.array(log.test_acc)
                test_epochs[i][r][s] = np.unique(np.r_[np.arange(0, last + 1, test_every), last])
    return InitComparison(
        seeds=seeds,
        recipes=recipes,
        n_replicated=copies * n_train,
        final_train_acc=final,
        test_acc=test,
        epochs_to_fit=fit,
        weight_norm=norm,
        distance=moved,
        start_norm=start_norm,
        train_curves=train_curves,
        test_curves=test_curves,
        test_epochs=test_epochs,
        pretrain_epochs=pre_epochs,
        pretrain_acc=pre_acc,
        run_time_s=time.perf_counter() - start,
    )

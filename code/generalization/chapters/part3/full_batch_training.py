"""Experiments of the chapter *Stochastic training is not necessary for generalization*.

Geiping, Goldblum, Pope, Moeller and Goldstein (2022) train a ResNet-18 on CIFAR-10 with
full-batch gradient descent and climb a ladder of changes until it matches SGD: the same
epochs as SGD (far behind), more steps with a warmup, clipping of the gradient norm, and an
explicit penalty on the gradient norms of blocks of the data (Smith et al.'s implicit SGD
term). This chapter climbs the same ladder on a small task it can run on two CPU cores: a
one-hidden-layer ReLU network on a stratified MNIST subset, once with the true labels and
once with a fraction of them replaced by wrong ones.

:func:`experiment` trains, for each seed (one subset, one initialization, one SGD order),
the recipes of :data:`RECIPES`, all with plain ``torch.optim.SGD`` (no momentum, no weight
decay), the same peak learning rate and a linear warmup over the first tenth of the steps
followed by a cosine decay (:mod:`generalization.fullbatch`):

* ``sgd``: SGD without replacement, batches of ``batch_size``, ``num_epochs`` epochs;
* ``gd_epochs``: full-batch GD for as many steps as SGD's epochs (equal epochs);
* ``gd_steps``: full-batch GD for as many steps as SGD took (equal steps);
* ``gd_clip``: equal steps, the gradient norm clipped to ``clip_norm``;
* ``gd_clip_penalty``: that, plus the penalty ``penalty_scale (lr_t / 4) P`` with
  ``P`` the mean squared gradient norm over fixed blocks of ``batch_size`` examples;
* ``gd_clip_full_penalty``: a control, the same penalty on a single block, the whole training
  set (``P = ||grad C||^2``: gradient descent's own implicit term, made explicit), so without
  the spread of the block gradients that SGD adds;
* ``gd_penalty``: the block penalty without clipping (an ablation).

Differences from the paper: MNIST, not CIFAR-10; a small MLP, not a ResNet-18; no data
augmentation; no momentum or weight decay (the paper uses Nesterov momentum 0.9 and weight
decay 5e-4 in every run); one peak learning rate for every rung (the paper raises it from 0.1
to 0.4 and 0.8 as it climbs); "more steps" is as many steps as SGD (the paper's is ten times
SGD's epochs, far fewer than SGD's steps); the penalty's gradient is exact, not a finite
difference.

References
----------
Geiping, Goldblum, Pope, Moeller, Goldstein (2022), *Stochastic training is not necessary for
generalization*, ICLR, https://arxiv.org/abs/2109.14119.
Smith, Dherin, Barrett, De (2021), *On the origin of implicit regularization in stochastic
gradient descent*, ICLR, https://arxiv.org/abs/2101.12176.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, data, fullbatch, nets, settings_for
from generalization.book.cache import cached

RECIPES = (
    "sgd",
    "gd_epochs",
    "gd_steps",
    "gd_clip",
    "gd_clip_penalty",
    "gd_clip_full_penalty",
    "gd_penalty",
)
"""The rungs of the ladder, in order (module docstring)."""

CLEAN = tuple(r for r in RECIPES if r != "gd_clip_full_penalty")
"""The recipes run on true labels."""

NOISY = tuple(r for r in RECIPES if r != "gd_penalty")
"""The recipes run with wrong labels."""

LABELS = {
    "sgd": "SGD",
    "gd_epochs": "GD, equal epochs",
    "gd_steps": "GD, equal steps",
    "gd_clip": "+ clipping",
    "gd_clip_penalty": "+ clipping + penalty",
    "gd_clip_full_penalty": "+ clipping + full-batch penalty",
    "gd_penalty": "+ penalty, no clipping",
}
"""How the page names each recipe."""

SETTINGS = {
    "quick": dict(
        common=dict(
            seeds=(0, 1, 2),
            n_samples=512,
            hidden=128,
            batch_size=64,
            num_epochs=15,
            lr=1.0,
            warmup_fraction=0.1,
            clip_norm=0.25,
            penalty_scale=1.0,
            n_curve=1000,
        ),
        clean=dict(noise=0.0, recipes=CLEAN),
        noisy=dict(noise=0.3, recipes=NOISY),
    ),
    "full": dict(
        common=dict(
            seeds=tuple(range(5)),
            n_samples=2048,
            hidden=256,
            batch_size=64,
            num_epochs=30,
            lr=1.0,
            warmup_fraction=0.1,
            clip_norm=0.25,
            penalty_scale=1.0,
            n_curve=10000,
        ),
        clean=dict(noise=0.0, recipes=CLEAN),
        noisy=dict(noise=0.3, recipes=NOISY),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

``common`` goes to :func:`experiment` for both label conditions, ``clean`` (true labels) and
``noisy`` (a fraction ``noise`` of the training labels replaced by a wrong class). The noisy
condition leaves out the ablation ``gd_penalty``, the costliest recipe, whose instability the
clean condition already shows; the control ``gd_clip_full_penalty`` runs on noisy labels only,
where there is a gap for a penalty to close. Quick runs in under a minute on two CPU cores
(one thread); full uses a four times larger subset, a wider network, more epochs and five
seeds (an estimated hour, not recorded; the paper's CIFAR-10 needs a GPU and a download)."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def log_steps(num_steps, count=9):
    """Step 0 and about ``count`` steps from 1 to ``num_steps``, evenly spaced in log scale."""
    num_steps = checks.count("num_steps", num_steps)
    grid = np.geomspace(1, num_steps, checks.count("count", count, minimum=2))
    return tuple(sorted({0, num_steps} | {int(round(s)) for s in grid}))


def mnist_task(seed, n_samples, noise):
    """A stratified MNIST training subset with a ``noise`` fraction of wrong labels; the test set.

    Returns ``(X, y, corrupted, X_test, y_test)``: ``X`` (n_samples, 784) float32, ``y`` the
    labels trained on (``data.corrupt_labels`` of the true ones, seeded by ``seed``),
    ``corrupted`` a boolean mask of the replaced labels, and the 10,000 test images.
    """
    mnist = data.load_mnist()
    X, y = data.subsample(mnist.X_train, mnist.y_train, n_samples, seed, stratified=True)
    y_used, corrupted = data.corrupt_labels(y, checks.fraction("noise", noise), seed, 10)
    # writable copies of the shared, read-only arrays (torch.as_tensor then needs no copy)
    return np.array(X), y_used, corrupted, np.array(mnist.X_test), np.array(mnist.y_test)


@dataclass(frozen=True)
class LadderResult:
    """What :func:`experiment` returns; arrays are indexed ``[recipe, seed]`` (order: ``recipes``).

    ``test_acc``: accuracy on the 10,000 test images at the end. ``train_acc``: on the labels
    trained on. ``memorized``: the fraction of the corrupted training examples predicted as
    their wrong label (NaN without noise). ``clean_train_acc``: accuracy on the uncorrupted
    training examples. ``loss_rise``: the largest full-batch training loss along the path
    divided by the first (NaN for SGD). ``clipped``: the fraction of steps clipped.
    ``step_time_ms``: wall-clock milliseconds per step. ``steps``: the steps of each recipe.
    ``curve_steps[r]``: the checkpoints of recipe ``r``; ``curve_test[r]`` and
    ``curve_memorized[r]``: arrays (seeds, checkpoints) of the accuracy on the first
    ``n_curve`` test images and of ``memorized``; ``epochs_per_step[r]``.
    """

    seeds: tuple
    recipes: tuple
    noise: float
    n_samples: int
    n_corrupted: int
    steps: dict
    test_acc: np.ndarray
    train_acc: np.ndarray
    clean_train_acc: np.ndarray
    memorized: np.ndarray
    loss_rise: np.ndarray
    clipped: np.ndarray
    step_time_ms: np.ndarray
    curve_steps: dict
    curve_test: dict
    curve_memorized: dict
    epochs_per_step: dict
    run_time_s: float


def _predictions(model, X):
    import torch

    with torch.no_grad():
        return model(torch.as_tensor(X)).argmax(1).numpy()


def _run(recipe, seed, task, common):
    """Train ``recipe`` on ``task`` from the seed's initialization; return the log and model."""
    X, y, corrupted, X_test, y_test = task
    n, b, epochs = len(y), common["batch_size"], common["num_epochs"]
    steps = {"gd_epochs": epochs}.get(recipe, epochs * n // b)
    warmup = max(1, int(round(common["warmup_fraction"] * steps)))
    X_curve, y_curve = X_test[: common["n_curve"]], y_test[: common["n_curve"]]
    wrong = np.flatnonzero(corrupted)
    memorized = []

    def on_checkpoint(step, model):
        pred = _predictions(model, X[wrong]) if wrong.size else None
        memorized.append(float(np.mean(pred == y[wrong])) if wrong.size else np.nan)

    model = nets.mlp(784, (common["hidden"],), 10, seed=seed)
    shared = dict(
        lr=common["lr"],
        warmup_steps=warmup,
        checkpoints=tuple(sorted(set(log_steps(steps)) | {min(epochs, steps)})),
        on_checkpoint=on_checkpoint,
    )
    if recipe == "sgd":
        log = fullbatch.train_sgd(
            model, X, y, X_curve, y_curve, num_epochs=epochs, batch_size=b, seed=seed, **shared
        )
    else:
        clipped = recipe in ("gd_clip", "gd_clip_penalty", "gd_clip_full_penalty")
        penalized = recipe in ("gd_clip_penalty", "gd_clip_full_penalty", "gd_penalty")
        clip = common["clip_norm"] if clipped else None
        scale = common["penalty_scale"] if penalized else 0.0
        block = n if recipe == "gd_clip_full_penalty" else b  # one block: the full batch
        penalty = dict(penalty_scale=scale, block_size=block)
        log = fullbatch.train_full_batch(
            model, X, y, X_curve, y_curve, num_steps=steps, clip_norm=clip, **penalty, **shared
        )
    return log, model, steps, memorized


@cached
def experiment(
    seeds,
    n_samples,
    noise,
    recipes,
    hidden,
    batch_size,
    num_epochs,
    lr,
    warmup_fraction,
    clip_norm,
    penalty_scale,
    n_curve,
):
    """Every recipe of :data:`RECIPES`, once per seed, on MNIST with ``noise`` wrong labels. Cached.

    Parameters
    ----------
    seeds : sequence of int
        Each seed draws the training subset, its wrong labels, the network's initialization
        (the same for every recipe) and SGD's orders.
    n_samples : int
        Training examples (a multiple of ``batch_size``).
    noise : float in [0, 1]
        Fraction of training labels replaced by a wrong class.
    recipes : sequence of str
        Which of :data:`RECIPES` to run (their order is kept); ``sgd`` must be one.
    hidden : int
        Width of the hidden layer of the ReLU network ``784 -> hidden -> 10``.
    batch_size : int
        SGD's batch size and the penalty's block size.
    num_epochs : int
        SGD's epochs, and the steps of ``gd_epochs``.
    lr : float
        The peak learning rate of every recipe.
    warmup_fraction : float in (0, 1)
        The warmup's share of each run's steps.
    clip_norm : float
        Largest gradient norm of the clipped recipes.
    penalty_scale : float
        ``s`` of :func:`generalization.fullbatch.train_full_batch`.
    n_curve : int
        Test images evaluated at the checkpoints (the final accuracy uses all 10,000).

    Returns
    -------
    LadderResult
    """
    seeds = checks.integers("seeds", seeds)
    recipes = checks.selection("recipes", recipes, RECIPES)
    if "sgd" not in recipes:
        raise ValueError(f"recipes must include 'sgd'; got {recipes}.")
    recipes = tuple(r for r in RECIPES if r in recipes)
    common = dict(
        hidden=checks.count("hidden", hidden),
        batch_size=checks.count("batch_size", batch_size),
        num_epochs=checks.count("num_epochs", num_epochs),
        lr=checks.positive("lr", lr),
        warmup_fraction=checks.number(
            "warmup_fraction", warmup_fraction, low=0, high=1, low_open=True, high_open=True
        ),
        clip_norm=checks.positive("clip_norm", clip_norm),
        penalty_scale=checks.positive("penalty_scale", penalty_scale),
        n_curve=checks.count("n_curve", n_curve, maximum=10000),
    )
    start = time.perf_counter()
    shape = (len(recipes), len(seeds))
    out = {
        k: np.full(shape, np.nan)
        for k in (
            "test_acc",
            "train_acc",
            "clean_train_acc",
            "memorized",
            "loss_rise",
            "clipped",
            "step_time_ms",
        )
    }
    curve_test = {r: [] for r in recipes}
    curve_memorized = {r: [] for r in recipes}
    curve_steps, steps_of, epochs_per_step = {}, {}, {}
    n_corrupted = 0
    for s, seed in enumerate(seeds):
        task = mnist_task(seed, n_samples, noise)
        X, y, corrupted, X_test, y_test = task
        n_corrupted = int(corrupted.sum())
        for r, recipe in enumerate(recipes):
            log, model, steps, memorized = _run(recipe, seed, task, common)
            out["test_acc"][r, s] = np.mean(_predictions(model, X_test) == y_test)
            pred = _predictions(model, X)
            out["train_acc"][r, s] = np.mean(pred == y)
            out["clean_train_acc"][r, s] = np.mean(pred[~corrupted] == y[~corrupted])
            out["memorized"][r, s] = memorized[-1]
            if log.path_loss:
                out["loss_rise"][r, s] = max(log.path_loss) / log.path_loss[0]
            out["clipped"][r, s] = log.clipped
            out["step_time_ms"][r, s] = 1000 * log.run_time_s / steps
            curve_test[recipe].append(log.test_acc)
            curve_memorized[recipe].append(memorized)
            curve_steps[recipe] = tuple(log.checkpoints)
            steps_of[recipe] = steps
            epochs_per_step[recipe] = log.epochs_per_step
    return LadderResult(
        seeds=seeds,
        recipes=recipes,
        noise=float(noise),
        n_samples=int(n_samples),
        n_corrupted=n_corrupted,
        steps=steps_of,
        curve_steps=curve_steps,
        curve_test={r: np.array(v) for r, v in curve_test.items()},
        curve_memorized={r: np.array(v) for r, v in curve_memorized.items()},
        epochs_per_step=epochs_per_step,
        run_time_s=time.perf_counter() - start,
        **out,
    )


def gap_closed(result, recipe, baseline="gd_epochs"):
    """The fraction of SGD's lead over ``baseline`` that ``recipe`` recovers, per seed.

    ``(acc[recipe] - acc[baseline]) / (acc[sgd] - acc[baseline])`` of the test accuracies of a
    :class:`LadderResult`: 0 is no better than the baseline, 1 is as good as SGD.
    """
    for name, value in (("recipe", recipe), ("baseline", baseline)):
        checks.choice(name, value, result.recipes)
    acc = {r: result.test_acc[k] for k, r in enumerate(result.recipes)}
    return (acc[recipe] - acc[baseline]) / (acc["sgd"] - acc[baseline])


def row(result, name, recipe):
    """The per-seed values of the field ``name`` of ``result`` for ``recipe``."""
    checks.choice("recipe", recipe, result.recipes)
    return getattr(result, name)[result.recipes.index(recipe)]

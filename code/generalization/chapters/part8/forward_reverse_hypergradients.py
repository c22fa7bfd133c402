"""Experiments of the chapter *Forward and reverse hypergradients*.

Franceschi, Donini, Frasconi and Pontil (2017) differentiate a validation loss through
``T`` steps of a training algorithm, in two ways: reverse mode (backpropagation through the
run, memory growing with ``T``) and forward mode (carrying the Jacobian of the weights in
the hyperparameters along the run, memory growing with their number ``h``). They use the
result for, among other things, *data hyper-cleaning*: one weight per training example,
half of the labels corrupted, the weights tuned on a clean validation set. This chapter runs,
with :func:`generalization.hypergradients.hypergradient`:

* :func:`truncation_experiment`: ridge regression, one hyperparameter (the penalty ``lam``):
  reverse mode, forward mode, PyTorch's backward pass and central finite differences of
  the truncated run, for several ``T``, against the implicit-function hypergradient at the
  minimizer (:func:`implicit_hypergradient`, closed form);
* :func:`cost_experiment`: the time and the number of stored floats of each mode as the
  number of hyperparameters ``h`` and of steps ``T`` grow (a least-squares problem with one
  weight per group of examples);
* :func:`cleaning_experiment`: data hyper-cleaning on MNIST with a linear softmax model.

Differences from the paper: the paper's hyper-cleaning keeps each example weight in
``[0, 1]`` and projects the weights onto an l1 ball of radius ``R`` after each hyper-step;
we write the weight as ``sigmoid(lam_i)`` and leave ``lam`` free (no projection). At the
quick scale the inputs are the first principal components of the images (the paper uses
the raw pixels) and the sets are smaller than the paper's 5,000 training, 5,000
validation and 10,000 test images.

All torch work runs on one thread (:func:`generalization.nets.threads`): the problems are
small, and on a shared machine a second thread mostly waits.

References
----------
Franceschi, Donini, Frasconi, Pontil (2017), *Forward and reverse gradient-based
hyperparameter optimization*, ICML, https://arxiv.org/abs/1703.01785.
Maclaurin, Duvenaud, Adams (2015), *Gradient-based hyperparameter optimization through
reversible learning*, ICML, https://arxiv.org/abs/1502.03492.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score

from generalization import checks, data, nets, pca, settings_for
from generalization import hypergradients as hg
from generalization.book.cache import cached

SETTINGS = {
    "quick": dict(
        truncation=dict(
            seed=0,
            n_train=50,
            n_val=50,
            n_features=25,
            lam=0.3,
            lr_fraction=1.0,
            steps=(2, 8, 32, 128),
            fd_step=1e-4,
        ),
        cost=dict(
            seed=0,
            n_samples=512,
            n_features=32,
            n_hypers=(1, 8, 64, 512),
            steps=(10, 40, 160),
            fixed_steps=40,
            fixed_hypers=8,
            repeats=1,
        ),
        cleaning=dict(
            seeds=(0, 1),
            n_basis=2000,
            n_train=800,
            n_val=400,
            n_components=30,
            fraction=0.5,
            lr=1.0,
            steps=100,
            hyper_lr=0.1,
            hyper_steps=20,
            mode="autograd",
        ),
    ),
    "full": dict(
        truncation=dict(
            seed=0,
            n_train=50,
            n_val=50,
            n_features=25,
            lam=0.3,
            lr_fraction=1.0,
            steps=(2, 4, 8, 16, 32, 64, 128, 256),
            fd_step=1e-4,
        ),
        cost=dict(
            seed=0,
            n_samples=1024,
            n_features=64,
            n_hypers=(1, 4, 16, 64, 256, 1024),
            steps=(10, 20, 40, 80, 160, 320),
            fixed_steps=40,
            fixed_hypers=8,
            repeats=3,
        ),
        cleaning=dict(
            seeds=(0, 1, 2),
            n_basis=2000,
            n_train=5000,
            n_val=5000,
            n_components=None,
            fraction=0.5,
            lr=0.1,
            steps=500,
            hyper_lr=0.1,
            hyper_steps=100,
            mode="autograd",
        ),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

Quick runs in under 90 s on 2 CPU cores. Full uses the paper's split of MNIST (5,000 /
5,000 / 10,000, raw pixels, half of the training labels corrupted) and the inner run of its
code's demonstration (500 steps of size 0.1)."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


# ------------------------------------------------------------------ ridge: truncation


def ridge_data(seed, n_train, n_val, n_features, noise=0.5):
    """A linear regression task: Gaussian inputs, a random linear target plus noise.

    Returns ``(X, y, X_val, y_val)`` of shapes (n_train, d), (n_train,), (n_val, d), (n_val,).
    """
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    n_train = checks.count("n_train", n_train)
    n_val = checks.count("n_val", n_val)
    d = checks.count("n_features", n_features)
    w_true = rng.standard_normal(d) / np.sqrt(d)
    X, X_val = rng.standard_normal((n_train, d)), rng.standard_normal((n_val, d))
    y = X @ w_true + noise * rng.standard_normal(n_train)
    y_val = X_val @ w_true + noise * rng.standard_normal(n_val)
    return X, y, X_val, y_val


def ridge_losses(X, y, X_val, y_val):
    """``train_loss(w, lam) = |Xw - y|^2 / (2n) + lam_0 |w|^2 / 2`` and
    ``val_loss(w) = |X_val w - y_val|^2 / (2 n_val)``, as torch functions (float64)."""
    import torch

    Xt, yt, Xv, yv = (
        torch.as_tensor(np.asarray(a, dtype=np.float64)) for a in (X, y, X_val, y_val)
    )

    def train_loss(w, lam):
        return ((Xt @ w - yt) ** 2).mean() / 2 + lam[0] * (w @ w) / 2

    def val_loss(w):
        return ((Xv @ w - yv) ** 2).mean() / 2

    return train_loss, val_loss


def implicit_hypergradient(X, y, X_val, y_val, lam):
    """The hypergradient of the ridge validation loss at the exact minimizer.

    With ``A = X^T X / n``, ``b = X^T y / n`` and ``S = (A + lam I)^{-1}``, the minimizer is
    ``w* = S b``; differentiating ``(A + lam I) w* = b`` in ``lam`` gives
    ``dw*/dlam = -S w*`` (the implicit function theorem), so::

        dE/dlam = grad L_val(w*)^T dw*/dlam = -(S grad L_val(w*))^T w*.

    Returns
    -------
    value : float
        ``E(lam) = L_val(w*)``.
    gradient : float
        ``dE/dlam``.
    """
    X = checks.array("X", X, ndim=2)
    X_val = checks.array("X_val", X_val, ndim=2)
    lam = checks.positive("lam", lam)
    n, d = X.shape
    H = X.T @ X / n + lam * np.eye(d)  # A + lam I, symmetric positive definite
    w_star = np.linalg.solve(H, X.T @ np.asarray(y, dtype=float) / n)
    residual = X_val @ w_star - np.asarray(y_val, dtype=float)
    grad_val = X_val.T @ residual / len(residual)
    return float(residual @ residual / (2 * len(residual))), float(
        -np.linalg.solve(H, grad_val) @ w_star
    )


def finite_difference(train_loss, val_loss, w0, lam, *, lr, steps, step):
    """Central differences ``(E(lam + s e_j) - E(lam - s e_j)) / 2s`` of the truncated run.

    ``E`` is :func:`generalization.hypergradients.validation_loss`; returns shape (h,).
    """
    lam = checks.array("lam", lam, ndim=1)
    step = checks.positive("step", step)
    out = np.empty(len(lam))
    for j in range(len(lam)):
        e = np.zeros(len(lam))
        e[j] = step
        up = hg.validation_loss(train_loss, val_loss, w0, lam + e, lr=lr, steps=steps)
        down = hg.validation_loss(train_loss, val_loss, w0, lam - e, lr=lr, steps=steps)
        out[j] = (up - down) / (2 * step)
    return out


@dataclass(frozen=True)
class TruncationResult:
    """What :func:`truncation_experiment` returns.

    Arrays of shape (len(steps),): the hypergradient ``dE_T/dlam`` of the ``T``-step run by
    ``reverse``, ``forward``, ``autograd`` and central ``finite`` differences, and the
    validation loss ``value``; ``implicit`` and ``implicit_value`` at the exact minimizer;
    ``rate`` the contraction ``q = 1 - lr (mu + lam)`` of gradient descent, ``mu`` the
    smallest eigenvalue of ``X^T X / n``.
    """

    steps: tuple
    lr: float
    rate: float
    reverse: np.ndarray
    forward: np.ndarray
    autograd: np.ndarray
    finite: np.ndarray
    value: np.ndarray
    implicit: float
    implicit_value: float
    run_time_s: float


@cached
def truncation_experiment(seed, n_train, n_val, n_features, lam, lr_fraction, steps, fd_step):
    """The hypergradient of a ``T``-step ridge run in every mode, for each ``T``. Cached.

    Gradient descent starts at zero with step ``lr_fraction / (L + lam)``, ``L`` the largest
    eigenvalue of ``X^T X / n`` (``lr_fraction = 1``: the step that makes the largest
    curvature direction converge in one step).

    Returns
    -------
    TruncationResult
    """
    steps = checks.integers("steps", steps, minimum=1)
    lam = checks.positive("lam", lam)
    lr_fraction = checks.number("lr_fraction", lr_fraction, low=0, high=2, low_open=True)
    start = time.perf_counter()
    X, y, X_val, y_val = ridge_data(seed, n_train, n_val, n_features)
    eig = np.linalg.eigvalsh(X.T @ X / len(y))
    lr = lr_fraction / (eig[-1] + lam)
    train_loss, val_loss = ridge_losses(X, y, X_val, y_val)
    w0, hyper = np.zeros(X.shape[1]), np.array([lam])
    rows = {k: [] for k in ("reverse", "forward", "autograd", "finite", "value")}
    with nets.threads(1):
        for T in steps:
            for mode in hg.MODES:
                result = hg.hypergradient(
                    train_loss, val_loss, w0, hyper, lr=lr, steps=T, mode=mode
                )
                rows[mode].append(result.gradient[0])
            rows["value"].append(result.value)
            rows["finite"].append(
                finite_difference(
                    train_loss, val_loss, w0, hyper, lr=lr, steps=T, step=fd_step * lam
                )[0]
            )
    implicit_value, implicit = implicit_hypergradient(X, y, X_val, y_val, lam)
    return TruncationResult(
        steps=steps,
        lr=float(lr),
        rate=float(1 - lr * (eig[0] + lam)),
        implicit=implicit,
        implicit_value=implicit_value,
        run_time_s=time.perf_counter() - start,
        **{k: np.array(v) for k, v in rows.items()},
    )


def largest_relative_difference(*gradients):
    """The largest ``|a - b| / max(|a|, |b|)`` over every pair of the arrays and every entry."""
    stacked = np.array([np.atleast_1d(np.asarray(g, dtype=float)) for g in gradients])
    worst = 0.0
    for i in range(len(stacked)):
        for j in range(i + 1, len(stacked)):
            scale = np.maximum(np.abs(stacked[i]), np.abs(stacked[j]))
            gap = np.abs(stacked[i] - stacked[j])
            # two exact zeros agree: their relative difference is 0, not 0 / 0
            relative = np.divide(gap, scale, out=np.zeros_like(gap), where=scale > 0)
            worst = max(worst, float(np.max(relative)))
    return worst


# ------------------------------------------------------------------ cost against h and T


def grouped_losses(seed, n_samples, n_features, n_hypers, decay=0.05):
    """Least squares with one weight ``exp(lam_g)`` per group of examples (``h`` groups).

    Example ``i`` belongs to group ``i mod h``; ``train_loss(w, lam) = mean_i exp(lam_{g(i)})
    (x_i.w - y_i)^2 / 2 + decay |w|^2 / 2``; the validation loss is the plain mean squared
    error on fresh data. Returns ``(train_loss, val_loss, lr)`` with ``lr = 1 / L``, ``L`` an
    upper bound on the curvature at ``lam = 0``.
    """
    import torch

    n_hypers = checks.count("n_hypers", n_hypers, maximum=n_samples)
    X, y, X_val, y_val = ridge_data(seed, n_samples, n_samples, n_features)
    Xt, yt, Xv, yv = (torch.as_tensor(a) for a in (X, y, X_val, y_val))
    groups = torch.as_tensor(np.arange(n_samples) % n_hypers)

    def train_loss(w, lam):
        return (torch.exp(lam[groups]) * (Xt @ w - yt) ** 2).mean() / 2 + decay * (w @ w) / 2

    def val_loss(w):
        return ((Xv @ w - yv) ** 2).mean() / 2

    curvature = float(np.linalg.eigvalsh(X.T @ X / n_samples)[-1]) + decay
    return train_loss, val_loss, 1.0 / curvature


@dataclass(frozen=True)
class CostResult:
    """What :func:`cost_experiment` returns.

    ``time_h`` and ``floats_h``: dicts ``{"reverse": array, "forward": array}`` over
    ``n_hypers`` at ``fixed_steps``; ``time_t`` and ``floats_t`` over ``steps`` at
    ``fixed_hypers``. Times are the least processor time (seconds) of ``repeats`` calls (three
    times as many for reverse mode; see :func:`_timed`); floats are the module's
    ``stored_floats``. ``disagreement`` is the largest relative difference between the two
    modes' hypergradients over every run.
    """

    n_params: int
    n_hypers: tuple
    steps: tuple
    fixed_steps: int
    fixed_hypers: int
    time_h: dict
    floats_h: dict
    time_t: dict
    floats_t: dict
    disagreement: float
    run_time_s: float


def _timed(train_loss, val_loss, w0, lam, lr, steps, repeats):
    """``{mode: (fastest CPU time, stored floats, gradient)}`` for reverse and forward mode.

    The time is the processor time of this process (``time.process_time``) during the call,
    not the wall-clock ``run_time_s`` of the result: on a shared machine a call also waits for
    a free core, and that wait is not the method's cost. Reverse mode, which takes
    milliseconds on these problems, is timed over three times as many calls.
    """
    out = {}
    for mode, calls in (("reverse", 3 * repeats), ("forward", repeats)):
        seconds, runs = [], []
        for _ in range(calls):
            start = time.process_time()
            runs.append(
                hg.hypergradient(train_loss, val_loss, w0, lam, lr=lr, steps=steps, mode=mode)
            )
            seconds.append(time.process_time() - start)
        out[mode] = (min(seconds), runs[0].stored_floats, runs[0].gradient)
    return out


@cached
def cost_experiment(
    seed, n_samples, n_features, n_hypers, steps, fixed_steps, fixed_hypers, repeats
):
    """Run time and stored floats of reverse and forward mode against ``h`` and ``T``. Cached.

    Returns
    -------
    CostResult
    """
    n_hypers = checks.integers("n_hypers", n_hypers, minimum=1)
    steps = checks.integers("steps", steps, minimum=1)
    repeats = checks.count("repeats", repeats)
    start = time.perf_counter()
    w0 = np.zeros(checks.count("n_features", n_features))
    time_h, floats_h = {"reverse": [], "forward": []}, {"reverse": [], "forward": []}
    time_t, floats_t = {"reverse": [], "forward": []}, {"reverse": [], "forward": []}
    worst = 0.0
    plan = [(h, fixed_steps, time_h, floats_h) for h in n_hypers]
    plan += [(fixed_hypers, T, time_t, floats_t) for T in steps]
    with nets.threads(1):
        # warm-up: the first calls of a process pay one-time costs (imports, torch.func set-up)
        train_loss, val_loss, lr = grouped_losses(seed, n_samples, n_features, 1)
        _timed(train_loss, val_loss, w0, np.zeros(1), lr, 2, 1)
        for h, T, times, floats in plan:
            train_loss, val_loss, lr = grouped_losses(seed, n_samples, n_features, h)
            runs = _timed(train_loss, val_loss, w0, np.zeros(h), lr, T, repeats)
            for mode, (seconds, stored, _) in runs.items():
                times[mode].append(seconds)
                floats[mode].append(stored)
            worst = max(worst, largest_relative_difference(runs["reverse"][2], runs["forward"][2]))
    as_arrays = lambda d: {k: np.array(v, dtype=float) for k, v in d.items()}  # noqa: E731
    return CostResult(
        n_params=len(w0),
        n_hypers=n_hypers,
        steps=steps,
        fixed_steps=int(fixed_steps),
        fixed_hypers=int(fixed_hypers),
        time_h=as_arrays(time_h),
        floats_h=as_arrays(floats_h),
        time_t=as_arrays(time_t),
        floats_t=as_arrays(floats_t),
        disagreement=worst,
        run_time_s=time.perf_counter() - start,
    )


# ------------------------------------------------------------------ data hyper-cleaning


def cleaning_data(seed, n_basis, n_train, n_val, n_components, fraction):
    """MNIST for hyper-cleaning: disjoint training and validation images, a corrupted fraction
    of the training labels, the test set, optionally reduced to principal components.

    The images are drawn at random (``seed``) from the 60,000 training images; the first
    ``n_basis`` fit the principal-component basis (``n_components=None``: raw pixels, no
    basis), the next ``n_train`` are the training set, the next ``n_val`` the validation set.
    :func:`generalization.data.corrupt_labels` replaces exactly ``round(fraction * n_train)``
    training labels by a different random class.

    Returns
    -------
    dict with ``X``, ``y`` (corrupted labels), ``corrupted`` (bool), ``X_val``, ``y_val``,
    ``X_test``, ``y_test``; inputs float64 with a constant column appended (the bias).
    """
    mnist = data.load_mnist()
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    n_basis = checks.count("n_basis", n_basis)
    n_train = checks.count("n_train", n_train)
    n_val = checks.count("n_val", n_val)
    order = rng.permutation(len(mnist.y_train))
    train = order[n_basis : n_basis + n_train]
    val = order[n_basis + n_train : n_basis + n_train + n_val]
    if n_components is None:
        reduce = lambda images: np.asarray(images, dtype=np.float64)  # noqa: E731
    else:
        basis = pca.pca_basis(mnist.X_train[order[:n_basis]], n_components)
        reduce = lambda images: pca.project(images, basis).astype(np.float64)  # noqa: E731
    with_bias = lambda Z: np.hstack([Z, np.ones((len(Z), 1))])  # noqa: E731
    y, corrupted = data.corrupt_labels(mnist.y_train[train], fraction, seed, n_classes=10)
    return dict(
        X=with_bias(reduce(mnist.X_train[train])),
        y=y,
        corrupted=corrupted,
        X_val=with_bias(reduce(mnist.X_train[val])),
        y_val=np.asarray(mnist.y_train[val]),
        X_test=with_bias(reduce(mnist.X_test)),
        y_test=np.asarray(mnist.y_test),
    )


def softmax_losses(X, y, X_val, y_val, n_classes=10, link="sigmoid"):
    """Weighted cross-entropy of a linear softmax model, and the validation cross-entropy.

    ``train_loss(w, lam) = mean_i omega_i CE(W^T x_i, y_i)`` with ``W = w.reshape(D, K)`` and
    ``omega_i = sigmoid(lam_i)`` (``link="sigmoid"``) or ``omega_i = lam_i``
    (``link="identity"``, for training with given weights).
    """
    import torch
    import torch.nn.functional as F

    link = checks.choice("link", link, ("sigmoid", "identity"))
    Xt, Xv = torch.as_tensor(X), torch.as_tensor(X_val)
    yt, yv = torch.as_tensor(np.asarray(y, dtype=np.int64)), torch.as_tensor(np.asarray(y_val))
    shape = (Xt.shape[1], n_classes)

    def train_loss(w, lam):
        weights = torch.sigmoid(lam) if link == "sigmoid" else lam
        return (weights * F.cross_entropy(Xt @ w.reshape(shape), yt, reduction="none")).mean()

    def val_loss(w):
        return F.cross_entropy(Xv @ w.reshape(shape), yv)

    return train_loss, val_loss


def accuracy(w, X, y, n_classes=10):
    """The fraction of rows of ``X`` whose largest logit ``X W`` is at the label ``y``."""
    W = np.asarray(w, dtype=float).reshape(X.shape[1], n_classes)
    return float(np.mean(np.argmax(X @ W, axis=1) == y))


def train_weighted(X, y, weights, *, lr, steps):
    """``steps`` steps of gradient descent from zero on the weighted mean cross-entropy
    ``sum_i weights_i CE_i / sum_i weights_i``; returns ``w_T``, shape (D * 10,).

    Normalizing by the total weight makes the model independent of the weights' scale, so
    that models trained with different weights take steps of the same size.
    """
    train_loss, _ = softmax_losses(X, y, X[:1], y[:1], link="identity")
    weights = checks.array("weights", weights, ndim=1)
    if weights.min() < 0 or weights.sum() <= 0:
        raise ValueError(
            f"weights must be non-negative with a positive sum; got min {weights.min()!r} "
            f"and sum {weights.sum()!r}."
        )
    w0 = np.zeros(X.shape[1] * 10)
    scaled = weights * (len(weights) / weights.sum())  # mean_i scaled_i CE_i: the weighted mean
    return hg.unrolled_weights(train_loss, w0, scaled, lr=lr, steps=steps)[-1].numpy()


def detection_scores(weights, corrupted):
    """How well low weights point at corrupted examples.

    Returns
    -------
    auc : float
        Area under the ROC curve of ``-weights`` as a score for "corrupted"
        (``sklearn.metrics.roc_auc_score``): the probability that a random corrupted
        example has a lower weight than a random clean one.
    precision : float
        The fraction of corrupted examples among the ``k`` lowest weights, ``k`` the number of
        corrupted examples (there precision, recall and F1 coincide).
    f1 : float
        F1 of flagging the examples whose weight fell below one half, the starting weight.
    """
    weights = checks.array("weights", weights, ndim=1)
    corrupted = np.asarray(corrupted, dtype=bool)
    k = int(corrupted.sum())
    lowest = np.argsort(weights, kind="stable")[:k]
    return (
        float(roc_auc_score(corrupted, -weights)),
        float(np.mean(corrupted[lowest])),
        float(f1_score(corrupted, weights < 0.5)),
    )


@dataclass(frozen=True)
class CleaningResult:
    """What :func:`cleaning_experiment` returns.

    Per seed and hyper-step (shape (len(seeds), hyper_steps + 1)): ``val_loss`` of the
    ``T``-step model, ``test_accuracy`` of that model, ``auc`` and ``precision`` of the
    example weights (:func:`detection_scores`). Per seed: ``first_auc``, the AUC of the
    first hypergradient itself (a large derivative means "lower this weight"); ``f1`` at the
    end; test accuracies of models trained on the training set with uniform weights
    (``acc_uniform``), the learned weights (``acc_learned``) and the clean examples only
    (``acc_clean``), and on the validation set alone (``acc_val_only``); and, the paper's
    protocol, on training plus validation set with uniform, learned and clean-only training
    weights (``acc_tv_uniform``, ``acc_tv_learned``, ``acc_tv_clean``). ``weights`` and
    ``corrupted``: the final example weights and the corruption mask, (len(seeds), n_train).
    """

    seeds: tuple
    n_train: int
    n_val: int
    n_test: int
    n_inputs: int
    val_loss: np.ndarray
    test_accuracy: np.ndarray
    auc: np.ndarray
    precision: np.ndarray
    first_auc: np.ndarray
    f1: np.ndarray
    acc_uniform: np.ndarray
    acc_learned: np.ndarray
    acc_clean: np.ndarray
    acc_val_only: np.ndarray
    acc_tv_uniform: np.ndarray
    acc_tv_learned: np.ndarray
    acc_tv_clean: np.ndarray
    weights: np.ndarray
    corrupted: np.ndarray
    seconds_per_hypergradient: float
    run_time_s: float


def _clean_one(
    seed, n_basis, n_train, n_val, n_components, fraction, lr, steps, hyper_lr, hyper_steps, mode
):
    """Hyper-cleaning for one seed: Adam on ``lam`` with reverse-mode hypergradients."""
    import torch

    d = cleaning_data(seed, n_basis, n_train, n_val, n_components, fraction)
    train_loss, val_loss = softmax_losses(d["X"], d["y"], d["X_val"], d["y_val"])
    w0 = np.zeros(d["X"].shape[1] * 10)
    lam = torch.zeros(n_train, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([lam], lr=hyper_lr)
    rows = {k: [] for k in ("val_loss", "test_accuracy", "auc", "precision")}
    seconds = []
    for step in range(hyper_steps + 1):
        result = hg.hypergradient(
            train_loss, val_loss, w0, lam.detach(), lr=lr, steps=steps, mode=mode
        )
        seconds.append(result.run_time_s)
        omega = torch.sigmoid(lam.detach()).numpy()
        auc, precision, _ = detection_scores(omega, d["corrupted"])
        rows["val_loss"].append(result.value)
        rows["test_accuracy"].append(accuracy(result.weights, d["X_test"], d["y_test"]))
        rows["auc"].append(auc)
        rows["precision"].append(precision)
        if step == 0:
            first_auc = float(roc_auc_score(d["corrupted"], result.gradient))
        if step < hyper_steps:
            optimizer.zero_grad()
            lam.grad = torch.as_tensor(result.gradient)
            optimizer.step()
    omega = torch.sigmoid(lam.detach()).numpy()
    clean = (~d["corrupted"]).astype(float)

    def test_acc(X, y, weights):
        w = train_weighted(X, y, weights, lr=lr, steps=steps)
        return accuracy(w, d["X_test"], d["y_test"])

    X_tv = np.vstack([d["X"], d["X_val"]])
    y_tv = np.concatenate([d["y"], d["y_val"]])
    ones_val = np.ones(n_val)
    out = {k: np.array(v) for k, v in rows.items()}
    out.update(
        first_auc=first_auc,
        f1=detection_scores(omega, d["corrupted"])[2],
        acc_uniform=test_acc(d["X"], d["y"], np.ones(n_train)),
        acc_learned=test_acc(d["X"], d["y"], omega),
        acc_clean=test_acc(d["X"], d["y"], clean),
        acc_val_only=test_acc(d["X_val"], d["y_val"], ones_val),
        acc_tv_uniform=test_acc(X_tv, y_tv, np.ones(n_train + n_val)),
        acc_tv_learned=test_acc(X_tv, y_tv, np.concatenate([omega, ones_val])),
        acc_tv_clean=test_acc(X_tv, y_tv, np.concatenate([clean, ones_val])),
        weights=omega,
        corrupted=d["corrupted"],
        seconds=float(np.mean(seconds)),
        n_test=len(d["y_test"]),
        n_inputs=d["X"].shape[1] - 1,
    )
    return out


@cached
def cleaning_experiment(
    seeds, n_basis, n_train, n_val, n_components, fraction, lr, steps, hyper_lr, hyper_steps, mode
):
    """Data hyper-cleaning on MNIST (Franceschi et al. 2017, their data hyper-cleaner). Cached.

    For each seed: :func:`cleaning_data`; one weight ``sigmoid(lam_i)`` per training example,
    ``lam = 0`` at the start; the inner problem is ``steps`` steps of gradient descent
    (size ``lr``, from zero) on the weighted cross-entropy of a linear softmax model
    (:func:`softmax_losses`); the outer problem is the validation cross-entropy of ``w_T``,
    whose gradient in ``lam`` comes from ``mode`` (``"autograd"``: PyTorch's backward pass
    through the unrolled run, the fastest reverse mode here; ``"reverse"``: the step-by-step
    recursion); ``hyper_steps`` steps of Adam (``torch.optim.Adam``, step ``hyper_lr``) on
    ``lam``. The final test accuracies come from :func:`train_weighted` (weighted mean loss,
    the same ``lr`` and ``steps``).

    Returns
    -------
    CleaningResult
    """
    seeds = checks.integers("seeds", seeds)
    hyper_steps = checks.count("hyper_steps", hyper_steps)
    start = time.perf_counter()
    with nets.threads(1):
        runs = [
            _clean_one(
                s,
                n_basis,
                n_train,
                n_val,
                n_components,
                fraction,
                lr,
                steps,
                hyper_lr,
                hyper_steps,
                mode,
            )
            for s in seeds
        ]
    stack = {k: np.array([r[k] for r in runs]) for k in runs[0]}
    return CleaningResult(
        seeds=seeds,
        n_train=int(n_train),
        n_val=int(n_val),
        n_test=int(runs[0]["n_test"]),
        n_inputs=int(runs[0]["n_inputs"]),
        seconds_per_hypergradient=float(stack.pop("seconds").mean()),
        run_time_s=time.perf_counter() - start,
        **{k: v for k, v in stack.items() if k not in ("n_test", "n_inputs")},
    )

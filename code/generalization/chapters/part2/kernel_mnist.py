"""Experiments of the chapter *Kernel regression on MNIST*: interpolation that generalizes.

Each function here is one experiment of the chapter, cached on disk (see
:mod:`generalization.book.cache`) so that the book build and the claims tests run it once.
Each returns a small frozen dataclass of arrays, with ``run_time_s`` measured inside.

Test images are classified with float32 kernel values (``predict_dtype="float32"``): the
argmax of the ten scores does not need the float64 accuracy of the scores themselves.

Bandwidths are fixed in advance, not tuned on the test set: Gaussian ``s = 5`` and Laplace
``s = 10`` for pixels in [0, 1], where the median distance between two MNIST images is
about 10.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, settings_for
from generalization.book.cache import cached
from generalization.data import corrupt_labels, load_mnist, subsample
from generalization.kernel_solver import KernelInterpolator

BANDWIDTHS = {"gaussian": 5.0, "laplace": 10.0}
N_TRAIN = 60000

SETTINGS = {
    "quick": dict(
        sizes=(500, 1000, 2000, 4000),
        seeds=(0, 1, 2),
        noise_levels=(0.0, 0.1),
        ridge_n=2000,
        ridge_val=1000,
        ridges=(1e-3, 1e-2, 1e-1, 1.0),
    ),
    "full": dict(
        sizes=(500, 1500, 3000, 7500, 15000, N_TRAIN),
        seeds=(0, 1, 2),
        noise_levels=(0.0, 0.1),
        ridge_n=15000,
        ridge_val=5000,
        ridges=(1e-4, 1e-3, 1e-2, 1e-1, 1.0),
    ),
}
"""Sizes, seeds and noise levels at each scale (the full training set is used with one seed)."""


def settings(scale=None):
    """The experiment settings of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def _one_nn_error(X_train, y_train, X_test, y_test):
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=1, algorithm="brute").fit(X_train, y_train)
    return float(np.mean(knn.predict(X_test) != y_test))


def _training_sets(mnist, sizes, seeds, noise_levels):
    """Yield ``((i, j, k), X, y)`` for noise level i, size j, seed k: the chapter's training sets.

    The subset of size n is drawn with ``seed``; a fraction p of its labels is then replaced
    by other classes with ``seed + 1000``. The full training set is used with the first seed
    only (every seed would draw the same subset).
    """
    for j, n in enumerate(sizes):
        for k, seed in enumerate(seeds):
            if n == N_TRAIN and k > 0:
                continue
            X, y = (
                (mnist.X_train, mnist.y_train)
                if n == N_TRAIN
                else subsample(mnist.X_train, mnist.y_train, n, seed=seed)
            )
            for i, p in enumerate(noise_levels):
                y_fit = corrupt_labels(y, p, seed=seed + 1000, n_classes=10)[0] if p > 0 else y
                yield (i, j, k), X, y_fit


@cached
def nn_error_vs_n(sizes, seeds, noise_levels):
    """Test error of 1-nearest-neighbour on the same training sets as :func:`error_vs_n`.

    Returns an array of shape ``(len(noise_levels), len(sizes), len(seeds))`` (NaN where not run).
    """
    _check_sizes(sizes, seeds, noise_levels)
    mnist = load_mnist()
    errors = np.full((len(noise_levels), len(sizes), len(seeds)), np.nan)
    for index, X, y_fit in _training_sets(mnist, sizes, seeds, noise_levels):
        errors[index] = _one_nn_error(X, y_fit, mnist.X_test, mnist.y_test)
    return errors


@dataclass(frozen=True)
class ErrorVsN:
    """Test error of interpolating machines against the training-set size.

    Arrays have shape ``(len(noise_levels), len(sizes), len(seeds))``; entries are NaN
    where a (size, seed) pair is not run (the full training set is run with one seed).
    Errors are fractions in [0, 1]; ``train_error`` is measured against the (possibly
    corrupted) labels the machine was fitted to.
    """

    kernel: str
    bandwidth: float
    sizes: tuple
    seeds: tuple
    noise_levels: tuple
    test_error: np.ndarray
    train_error: np.ndarray
    relative_residual: np.ndarray
    norm: np.ndarray
    fit_time_s: np.ndarray
    run_time_s: float

    def mean(self, name):
        """Mean over seeds of an array attribute, shape (len(noise_levels), len(sizes))."""
        return np.nanmean(getattr(self, name), axis=2)

    def std(self, name):
        """Standard deviation over seeds (ddof=1 where at least 2 seeds ran, else 0)."""
        values = getattr(self, name)
        counts = np.sum(~np.isnan(values), axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            spread = np.nanstd(values, axis=2, ddof=1)
        return np.where(counts > 1, spread, 0.0)


def _check_sizes(sizes, seeds, noise_levels):
    if max(checks.integers("sizes", sizes, minimum=2)) > N_TRAIN:
        raise ValueError(f"sizes must be training-set sizes of at most {N_TRAIN}; got {sizes!r}.")
    checks.integers("seeds", seeds)
    checks.numbers("noise_levels", noise_levels, low=0, high=1, high_open=True)


@cached
def error_vs_n(kernel, sizes, seeds, noise_levels, bandwidth=None):
    """Fit interpolating machines on random subsets of MNIST; test on all 10,000 test images.

    For each noise level ``p``, size ``n`` and seed: draw ``n`` training images with the
    seed, replace the labels of a fraction ``p`` of them by other classes (seed + 1000),
    fit :class:`~generalization.kernel_solver.KernelInterpolator` to the noisy labels, and record
    test error (against the true test labels), training error, the relative residual, the
    RKHS norm and the fit time. (1-nearest-neighbour on the same data: :func:`nn_error_vs_n`.)
    """
    _check_sizes(sizes, seeds, noise_levels)
    bandwidth = BANDWIDTHS[kernel] if bandwidth is None else bandwidth
    start = time.perf_counter()
    mnist = load_mnist()
    shape = (len(noise_levels), len(sizes), len(seeds))
    arrays = {
        name: np.full(shape, np.nan)
        for name in ("test_error", "train_error", "relative_residual", "norm", "fit_time_s")
    }
    for (i, j, k), X, y_fit in _training_sets(mnist, sizes, seeds, noise_levels):
        model = KernelInterpolator(kernel=kernel, bandwidth=bandwidth, predict_dtype="float32").fit(
            X, y_fit
        )
        report = model.fit_report_
        arrays["test_error"][i, j, k] = np.mean(model.predict(mnist.X_test) != mnist.y_test)
        arrays["train_error"][i, j, k] = report.train_error
        arrays["relative_residual"][i, j, k] = report.relative_residual
        arrays["norm"][i, j, k] = report.rkhs_norm
        arrays["fit_time_s"][i, j, k] = report.total_time_s
        del model  # free the n x n factor before the next fit
    return ErrorVsN(
        kernel=kernel,
        bandwidth=bandwidth,
        sizes=tuple(sizes),
        seeds=tuple(seeds),
        noise_levels=tuple(noise_levels),
        run_time_s=time.perf_counter() - start,
        **arrays,
    )


@dataclass(frozen=True)
class RidgeVsInterpolation:
    """Interpolation (ridge 0) against a ridge chosen on held-out training data.

    ``val_error`` has shape ``(len(seeds), len(ridges))``; ``test_error_interp`` and
    ``test_error_tuned`` have shape ``(len(seeds),)``; ``best_ridge`` the chosen ridge per seed.
    """

    kernel: str
    n_train: int
    n_val: int
    seeds: tuple
    ridges: tuple
    val_error: np.ndarray
    best_ridge: np.ndarray
    test_error_interp: np.ndarray
    test_error_tuned: np.ndarray
    run_time_s: float


@cached
def ridge_vs_interpolation(kernel, n_train, n_val, seeds, ridges, bandwidth=None):
    """Does regularization help? Tune the ridge on a validation split, compare on the test set.

    For each seed: draw ``n_train + n_val`` training images; fit on the first ``n_train``
    with ridge 0 and with every ridge in ``ridges``; choose the ridge with the lowest error
    on the ``n_val`` held-out images (ties: the smallest ridge); report test errors of the
    interpolating and of the tuned machine (both fitted on the same ``n_train`` images).
    """
    checks.numbers("ridges", ridges, low=0, low_open=True)
    _check_sizes((n_train + n_val,), seeds, (0.0,))
    bandwidth = BANDWIDTHS[kernel] if bandwidth is None else bandwidth
    start = time.perf_counter()
    mnist = load_mnist()
    val_error = np.empty((len(seeds), len(ridges)))
    best, interp, tuned = np.empty(len(seeds)), np.empty(len(seeds)), np.empty(len(seeds))
    for s, seed in enumerate(seeds):
        X, y = subsample(mnist.X_train, mnist.y_train, n_train + n_val, seed=seed)
        X_fit, y_fit, X_val, y_val = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
        models = [
            KernelInterpolator(
                kernel=kernel, bandwidth=bandwidth, ridge=r, predict_dtype="float32"
            ).fit(X_fit, y_fit)
            for r in ridges
        ]
        val_error[s] = [np.mean(m.predict(X_val) != y_val) for m in models]
        chosen = int(np.argmin(val_error[s]))
        best[s] = ridges[chosen]
        tuned[s] = np.mean(models[chosen].predict(mnist.X_test) != mnist.y_test)
        zero = KernelInterpolator(kernel=kernel, bandwidth=bandwidth, predict_dtype="float32").fit(
            X_fit, y_fit
        )
        interp[s] = np.mean(zero.predict(mnist.X_test) != mnist.y_test)
    return RidgeVsInterpolation(
        kernel=kernel,
        n_train=n_train,
        n_val=n_val,
        seeds=tuple(seeds),
        ridges=tuple(ridges),
        val_error=val_error,
        best_ridge=best,
        test_error_interp=interp,
        test_error_tuned=tuned,
        run_time_s=time.perf_counter() - start,
    )

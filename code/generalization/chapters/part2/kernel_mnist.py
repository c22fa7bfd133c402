"""Experiments of the chapter *Kernel regression on MNIST*: interpolation that generalizes.

Each function here is one experiment of the chapter, cached on disk (see
:mod:`generalization.book.cache`) so that the book build and the claims tests run it once.
Each returns a small frozen dataclass of arrays, with ``run_time_s`` measured inside.

Test images are classified with float32 kernel values (``predict_dtype="float32"``): the
argmax of the ten scores does not need the float64 accuracy of the scores themselves.

Bandwidths are fixed in advance, not tuned on the test set: Gaussian ``s = 5`` and Laplace
``s = 10`` for pixels in [0, 1], the values Belkin, Ma and Mandal (2018, Appendix A) chose by
cross-validation for MNIST.

Label noise follows the paper's model (its Proposition 1): each training label is replaced,
with probability ρ, by a digit drawn uniformly at random (which is the true one with
probability 1/10). Test errors are measured against the true test labels;
:func:`paper_convention` converts them to the paper's convention, in which the test labels
carry the same noise.

The quick scale runs the paper's smallest training-set sizes (its Tables 6 and 7); the full
scale all of them and the whole training set (its Table 3). ``full_scale_results`` is what
``make full`` records in ``results/full/part2/kernel_mnist.json``.

References
----------
Belkin, Ma, Mandal (2018), *To understand deep learning we need to understand kernel
learning*, ICML, https://arxiv.org/abs/1802.01396.
Zhang, Bengio, Hardt, Recht, Vinyals (2017), *Understanding deep learning requires
rethinking generalization*, ICLR, section 5.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, settings_for
from generalization.book.cache import cached
from generalization.data import load_mnist, random_labels, subsample
from generalization.kernel_solver import KernelInterpolator

BANDWIDTHS = {"gaussian": 5.0, "laplace": 10.0}
KERNELS = tuple(BANDWIDTHS)
N_TRAIN = 60000
N_CLASSES = 10

SETTINGS = {
    "quick": dict(
        sizes=(500, 1500, 3000),
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
"""Sizes, seeds and noise levels at each scale (the full training set is used with one seed).

The sizes are those of Belkin, Ma and Mandal's Tables 6 and 7 (500 to 15,000) and, at full
scale, the whole training set of their Table 3."""


def settings(scale=None):
    """The experiment settings of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def paper_convention(error, noise_level, n_classes=N_CLASSES):
    """The expected error against test labels that carry the same label noise.

    Belkin, Ma and Mandal (2018, Proposition 1, Eq. (4)) add noise by replacing a fraction
    ρ of the labels by uniformly random classes, the test labels included. For any
    classifier with error ``e`` against the true labels the expected error against such
    labels is ``ρ (k - 1) / k + (1 - ρ) e``: a replaced label is matched by chance with
    probability ``1 / k``. Their Table 7 reports errors in this convention.
    """
    noise_level = checks.fraction("noise_level", noise_level)
    n_classes = checks.count("n_classes", n_classes, minimum=2)
    error = np.asarray(error, dtype=float)
    return noise_level * (n_classes - 1) / n_classes + (1 - noise_level) * error


def _one_nn_error(X_train, y_train, X_test, y_test):
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=1, algorithm="brute").fit(X_train, y_train)
    return float(np.mean(knn.predict(X_test) != y_test))


def _training_sets(mnist, sizes, seeds, noise_levels):
    """Yield ``((i, j, k), X, y_fit, y)`` for noise level i, size j, seed k: the chapter's
    training sets, with the labels to fit and the true ones.

    The subset of size n is drawn with ``seed``; then each of its labels is replaced, with
    probability ρ, by a uniformly random digit (the paper's noise model), drawn with
    ``seed + 1000``. The full training set is used with the first seed only (every seed
    would draw the same subset).
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
                y_fit = random_labels(y, seed + 1000, N_CLASSES, fraction=p) if p > 0 else y
                yield (i, j, k), X, y_fit, y


@dataclass(frozen=True)
class NearestNeighbour:
    """Test error of 1-nearest-neighbour, shape ``(len(noise_levels), len(sizes), len(seeds))``.

    NaN where a (size, seed) pair is not run, as in :class:`ErrorVsN`.
    """

    test_error: np.ndarray
    run_time_s: float

    def mean(self):
        """Mean over seeds, shape (len(noise_levels), len(sizes))."""
        return np.nanmean(self.test_error, axis=2)

    def std(self):
        """Standard deviation over seeds (ddof=1)."""
        return np.nanstd(self.test_error, axis=2, ddof=1)


@cached
def nn_error_vs_n(sizes, seeds, noise_levels):
    """Test error of 1-nearest-neighbour on the same training sets as :func:`error_vs_n`."""
    _check_sizes(sizes, seeds, noise_levels)
    start = time.perf_counter()
    mnist = load_mnist()
    errors = np.full((len(noise_levels), len(sizes), len(seeds)), np.nan)
    for index, X, y_fit, _ in _training_sets(mnist, sizes, seeds, noise_levels):
        errors[index] = _one_nn_error(X, y_fit, mnist.X_test, mnist.y_test)
    return NearestNeighbour(test_error=errors, run_time_s=time.perf_counter() - start)


@dataclass(frozen=True)
class ErrorVsN:
    """Test error of interpolating machines against the training-set size.

    Arrays have shape ``(len(noise_levels), len(sizes), len(seeds))``; entries are NaN
    where a (size, seed) pair is not run (the full training set is run with one seed).
    Errors are fractions in [0, 1], against the true test labels; ``train_error`` is
    measured against the (possibly noisy) labels the machine was fitted to;
    ``wrong_fraction`` is the fraction of training labels the noise actually changed.
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
    wrong_fraction: np.ndarray
    run_time_s: float
    solver: np.ndarray = None
    """Which solve each fit used (``fit_report_.solver``: "cholesky" for the direct solve,
    "eigenpro" for the iterative one), "" where not run."""
    convergence: dict = None
    """For each fit where the iterative solver ran, keyed ``(i, j, k)``: its batch size, step,
    and per pass the relative residual and training errors (see
    :class:`generalization.eigenpro.Convergence`), and whether it converged."""

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

    For each noise level ρ, size ``n`` and seed: draw ``n`` training images with the
    seed, replace each label with probability ρ by a random digit (seed + 1000), fit
    :class:`~generalization.kernel_solver.KernelInterpolator` to the noisy labels, and
    record test error (against the true test labels), training error, the relative
    residual, the RKHS norm, the fit time and the fraction of labels the noise changed.
    (1-nearest-neighbour on the same data: :func:`nn_error_vs_n`.)
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
    arrays["wrong_fraction"] = np.full(shape, np.nan)
    solver, convergence = np.full(shape, "", dtype=object), {}
    for (i, j, k), X, y_fit, y in _training_sets(mnist, sizes, seeds, noise_levels):
        arrays["wrong_fraction"][i, j, k] = np.mean(y_fit != y)
        model = KernelInterpolator(kernel=kernel, bandwidth=bandwidth, predict_dtype="float32").fit(
            X, y_fit
        )
        report = model.fit_report_
        arrays["test_error"][i, j, k] = np.mean(model.predict(mnist.X_test) != mnist.y_test)
        arrays["train_error"][i, j, k] = report.train_error
        arrays["relative_residual"][i, j, k] = report.relative_residual
        arrays["norm"][i, j, k] = report.rkhs_norm
        arrays["fit_time_s"][i, j, k] = report.total_time_s
        solver[i, j, k] = report.solver
        if report.convergence is not None:  # the iterative solver ran (from ITERATIVE_FROM on)
            c = report.convergence
            convergence[(i, j, k)] = dict(
                batch_size=c.batch_size,
                step_size=c.step_size,
                residual=[float(r) for r in c.residual],
                train_errors=[int(e) for e in c.train_errors],
                epoch_time_s=[float(t) for t in c.epoch_time_s],
                converged=bool(c.converged),
            )
        del model  # free the n x n factor before the next fit
    return ErrorVsN(
        kernel=kernel,
        bandwidth=bandwidth,
        sizes=tuple(sizes),
        seeds=tuple(seeds),
        noise_levels=tuple(noise_levels),
        run_time_s=time.perf_counter() - start,
        solver=solver,
        convergence=convergence,
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


def _listed(array):
    """A NumPy array as nested lists for JSON, NaN as None."""
    return np.where(np.isnan(array), None, array).tolist()


def full_scale_results():
    """The chapter's experiments at full scale, as JSON for ``results/full`` (``make full``).

    Both kernels and 1-nearest-neighbour at every size of :data:`SETTINGS` ``["full"]``, with
    and without label noise, and the ridge comparison. Arrays are nested lists
    ``[noise level][size][seed]`` of fractions (None where not run: the whole training set
    is run with one seed); ``run_time_s`` are the experiments' own compute times.
    """
    S = settings("full")
    results = {
        kernel: error_vs_n(kernel, S["sizes"], S["seeds"], S["noise_levels"]) for kernel in KERNELS
    }
    nearest = nn_error_vs_n(S["sizes"], S["seeds"], S["noise_levels"])
    ridge = ridge_vs_interpolation(
        "gaussian", S["ridge_n"], S["ridge_val"], S["seeds"], S["ridges"]
    )
    out = {
        "sizes": list(S["sizes"]),
        "seeds": list(S["seeds"]),
        "noise_levels": list(S["noise_levels"]),
    }
    for kernel, r in results.items():
        out[kernel] = {
            "bandwidth": r.bandwidth,
            **{
                name: _listed(getattr(r, name))
                for name in (
                    "test_error",
                    "train_error",
                    "relative_residual",
                    "norm",
                    "fit_time_s",
                    "wrong_fraction",
                )
            },
            "solver": r.solver.tolist(),
            "convergence": [
                {"noise_index": i, "size_index": j, "seed_index": k, **c}
                for (i, j, k), c in sorted(r.convergence.items())
            ],
            "run_time_s": r.run_time_s,
        }
    out["nearest_neighbour"] = {
        "test_error": _listed(nearest.test_error),
        "run_time_s": nearest.run_time_s,
    }
    out["ridge"] = {
        "kernel": ridge.kernel,
        "n_train": ridge.n_train,
        "n_val": ridge.n_val,
        "ridges": list(ridge.ridges),
        "best_ridge": ridge.best_ridge.tolist(),
        "test_error_interp": ridge.test_error_interp.tolist(),
        "test_error_tuned": ridge.test_error_tuned.tolist(),
        "run_time_s": ridge.run_time_s,
    }
    return out

"""Claims of book/part2/kernel_mnist.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization.chapters.part2 import kernel_mnist
from generalization.data import load_mnist, subsample
from generalization.kernel_solver import KernelInterpolator

S = kernel_mnist.settings()


@pytest.fixture(scope="module")
def results():
    return {
        kernel: kernel_mnist.error_vs_n(kernel, S["sizes"], S["seeds"], S["noise_levels"])
        for kernel in ("gaussian", "laplace")
    }


@pytest.fixture(scope="module")
def nearest():
    return np.nanmean(kernel_mnist.nn_error_vs_n(S["sizes"], S["seeds"], S["noise_levels"]), axis=2)


def test_every_fit_interpolates(results):
    for r in results.values():
        assert np.nanmax(r.train_error) == 0.0  # "training error exactly 0%", noisy labels too
        assert np.nanmax(r.relative_residual) <= 1e-6


def test_test_error_falls_with_more_data(results):
    for r in results.values():
        for i in range(len(r.noise_levels)):
            assert np.all(np.diff(r.mean("test_error")[i]) < 0)


def test_interpolation_beats_the_nearest_neighbour(results, nearest):
    for r in results.values():
        assert np.all(r.mean("test_error") < nearest)


def test_wrong_labels_cost_far_less_than_ten_points(results, nearest):
    last = len(S["sizes"]) - 1
    for r in results.values():
        clean, noisy = r.mean("test_error")[0, last], r.mean("test_error")[1, last]
        assert noisy - clean < 0.03  # measured: 2.3 points (Gaussian), 0.6 (Laplace) at n = 4,000
    # "the nearest neighbour ... falls": its loss from noise exceeds the machines' by a wide margin
    assert nearest[1, last] - nearest[0, last] > 2 * max(
        r.mean("test_error")[1, last] - r.mean("test_error")[0, last] for r in results.values()
    )


# Test error of the clean fits on the largest training set, (low, high) for the Gaussian and the
# Laplace machine. Quick scale (n = 4,000): measured 3.6% and 4.3% over 3 seeds. Full scale
# (n = 60,000): not yet measured by us; the bounds bracket Zhang et al.'s 1.2% for the Gaussian
# machine (our ledger's paper value) with a margin, and allow the Laplace machine a little more.
ERROR_RANGES = {4000: ((0.025, 0.05), (0.03, 0.055)), 60000: ((0.006, 0.02), (0.006, 0.025))}


def test_largest_n_errors_are_in_the_expected_range(results):
    (g_low, g_high), (l_low, l_high) = ERROR_RANGES[S["sizes"][-1]]
    g, l = (
        results["gaussian"].mean("test_error")[0, -1],
        results["laplace"].mean("test_error")[0, -1],
    )
    assert g_low < g < g_high and l_low < l < l_high


def test_norm_grows_with_n_and_with_label_noise(results):
    for r in results.values():
        norms = r.mean("norm")
        assert np.all(np.diff(norms, axis=1) > 0)
        assert np.all(norms[1] > norms[0])


def test_tuning_a_ridge_barely_helps():
    ridge = kernel_mnist.ridge_vs_interpolation(
        "gaussian", S["ridge_n"], S["ridge_val"], S["seeds"], S["ridges"]
    )
    gain = (ridge.test_error_interp - ridge.test_error_tuned).mean()
    assert abs(gain) < 0.005  # less than half a percentage point either way (measured 0.01)
    assert ridge.test_error_interp.mean() < 0.08


def test_exercise_random_labels_are_fitted_and_predict_at_chance():
    mnist = load_mnist()
    X_small, y_small = subsample(mnist.X_train, mnist.y_train, 1000, seed=0)
    y_random = np.random.default_rng(0).integers(0, 10, size=y_small.shape[0])
    fit = KernelInterpolator(kernel="laplace", bandwidth=10.0).fit(X_small, y_random)
    assert fit.fit_report_.train_error == 0.0
    assert 0.85 < np.mean(fit.predict(mnist.X_test) != mnist.y_test) < 0.95

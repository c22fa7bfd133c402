"""Unit tests of the deep double descent chapter's experiments."""

import numpy as np
import pytest

from generalization import bank
from generalization.chapters.part2 import deep_double_descent as dd


def test_mnist_task_is_nested_and_rejects_bad_sizes():
    X, y, X_test, y_test = dd.mnist_task(60, 30, 8)
    X2, y2, *_ = dd.mnist_task(40, 30, 8)
    assert X.shape == (60, 8) and X_test.shape == (30, 8) and y_test.shape == (30,)
    np.testing.assert_array_equal(X2, X[:40])  # smaller training sets are nested in larger ones
    np.testing.assert_array_equal(y2, y[:40])
    with pytest.raises(ValueError, match="n_train must be an integer from 1 to 50000"):
        dd.mnist_task(50001, 10, 8)


def test_small_sweeps_have_the_documented_shapes():
    sweep = dd.width_sweep.uncached(80, 50, 6, (2, 8), (0.0, 0.5), (0,), 5, 0.01, 3)
    assert sweep.train_error.shape == sweep.test_error.shape == (2, 2, 1, len(sweep.steps))
    np.testing.assert_array_equal(sweep.n_params, bank.n_parameters(np.array([2, 8]), 6))
    samples = dd.sample_sweep.uncached((20, 40), 50, 6, (4,), 0.2, (0, 1), 5, 0.01)
    assert samples.test_error.shape == (1, 2, 2) and samples.sample_sizes == (20, 40)
    with pytest.raises(ValueError, match="sample_sizes must be increasing"):
        dd.sample_sweep.uncached((40, 20), 50, 6, (4,), 0.2, (0,), 5, 0.01)
    with pytest.raises(
        ValueError, match="widths must be a non-empty sequence of positive integers"
    ):
        dd.width_sweep.uncached(80, 50, 6, (0, 8), (0.0,), (0,), 5, 0.01, 3)

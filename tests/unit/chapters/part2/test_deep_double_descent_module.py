"""Unit tests of the deep double descent chapter's experiments."""

import numpy as np
import pytest

from generalization import bank, data
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


def test_sample_sweep_equals_one_bank_with_example_weights():
    # one bank per training-set size gives what one bank of all the networks gives when each
    # network's loss and training error are restricted to its first n examples by 0/1 weights
    sizes, widths, seeds = (20, 40), (3, 5), (0, 1)
    result = dd.sample_sweep.uncached(sizes, 50, 6, widths, 0.2, seeds, 20, 0.01)
    X, y, X_test, y_test = dd.mnist_task(40, 50, 6)
    noisy = {s: data.corrupt_labels(y, 0.2, seed=1000 + s, n_classes=10)[0] for s in seeds}
    grid = [(w, n, s) for w in widths for n in sizes for s in seeds]
    networks = bank.network_bank(6, [w for w, _, _ in grid], [s for *_, s in grid])
    weights = np.stack([np.arange(40) < n for _, n, _ in grid]).astype(np.float32)
    labels = np.stack([noisy[s] for *_, s in grid])
    log = bank.train_bank(
        networks, X, labels, X_test, y_test, lr=0.01, num_steps=20, n_evals=1, weights=weights
    )
    np.testing.assert_array_equal(result.test_error, log.test_error[:, -1].reshape(2, 2, 2))
    np.testing.assert_array_equal(result.train_error, log.train_error[:, -1].reshape(2, 2, 2))

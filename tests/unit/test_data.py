import shutil

import numpy as np
import pytest

from generalization import data
from generalization.data import DataError, load_mnist, subsample


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def test_mnist_shapes_ranges_and_counts(mnist):
    assert mnist.X_train.shape == (60000, 784) and mnist.X_train.dtype == np.float32
    assert mnist.X_test.shape == (10000, 784) and mnist.X_test.dtype == np.float32
    assert mnist.y_train.shape == (60000,) and mnist.y_train.dtype == np.int64
    assert mnist.y_test.shape == (10000,) and mnist.y_test.dtype == np.int64
    for X in (mnist.X_train, mnist.X_test):
        assert X.min() == 0.0 and X.max() == 1.0
    assert tuple(np.bincount(mnist.y_train)) == data.MNIST_CLASS_COUNTS["train"]
    assert tuple(np.bincount(mnist.y_test)) == data.MNIST_CLASS_COUNTS["test"]
    train = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
    test = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
    assert tuple(np.bincount(mnist.y_train)) == train and tuple(np.bincount(mnist.y_test)) == test


def test_mnist_pixels_are_whole_multiples_of_one_255th(mnist):
    # k / 255 for integer k: the uint8 images were restored exactly from the pickle.
    k = mnist.X_test * 255
    assert np.abs(k - np.rint(k)).max() < 1e-4
    # The first test image is a 7, the first training image a 5 (the classic order).
    assert mnist.y_test[0] == 7 and mnist.y_train[0] == 5


def test_mnist_arrays_are_read_only_and_shared(mnist):
    assert load_mnist() is mnist
    with pytest.raises(ValueError):
        mnist.X_train[0, 0] = 1.0


def test_missing_wheel_says_how_to_fix(tmp_path):
    with pytest.raises(DataError, match=r"does not exist.*make data"):
        load_mnist(tmp_path)


def test_corrupt_wheel_is_detected(tmp_path):
    (tmp_path / data.MNIST_WHEEL).write_bytes(b"not a wheel")
    with pytest.raises(DataError, match=r"corrupt: its sha256 is .* expected 0e3e0a08"):
        load_mnist(tmp_path)


def test_damaged_cache_is_rebuilt_from_the_wheel(tmp_path):
    shutil.copy(data.data_dir() / data.MNIST_WHEEL, tmp_path / data.MNIST_WHEEL)
    (tmp_path / data.MNIST_CACHE).write_bytes(b"garbage")
    fresh = load_mnist(tmp_path)
    assert fresh.X_train.shape == (60000, 784)
    with np.load(tmp_path / data.MNIST_CACHE) as archive:
        assert archive["y_test"].shape == (10000,)


def test_check_arrays_reports_wrong_counts_and_checksums():
    rng = np.random.default_rng(0)
    arrays = {
        "X_train": rng.integers(0, 256, (60000, 784), dtype=np.uint8),
        "y_train": np.repeat(np.arange(10, dtype=np.uint8), 6000),
        "X_test": rng.integers(0, 256, (10000, 784), dtype=np.uint8),
        "y_test": np.repeat(np.arange(10, dtype=np.uint8), 1000),
    }
    with pytest.raises(DataError, match=r"per-class counts of the train labels"):
        data._check_arrays(arrays, "test arrays")
    arrays["X_test"] = arrays["X_test"].astype(np.float32)
    with pytest.raises(
        DataError, match=r"X_test should be uint8 of shape \(10000, 784\); got float32"
    ):
        data._check_arrays(arrays, "test arrays")


def test_subsample_is_seeded_and_without_replacement():
    X = np.arange(200).reshape(100, 2)
    y = np.arange(100) % 4
    X1, y1 = subsample(X, y, 30, seed=1)
    X2, y2 = subsample(X, y, 30, seed=1)
    X3, _ = subsample(X, y, 30, seed=2)
    np.testing.assert_array_equal(X1, X2)
    assert not np.array_equal(X1, X3)
    assert len(np.unique(X1[:, 0])) == 30
    np.testing.assert_array_equal(y1, X1[:, 0] // 2 % 4)


def test_subsample_stratified_keeps_class_proportions(mnist):
    _, y = subsample(mnist.X_train, mnist.y_train, 1000, seed=0, stratified=True)
    expected = np.array(data.MNIST_CLASS_COUNTS["train"]) * 1000 / 60000
    assert len(y) == 1000
    assert np.abs(np.bincount(y, minlength=10) - expected).max() < 1


@pytest.mark.parametrize(
    "n_samples, message",
    [
        (0, "n_samples must be an integer from 1 to 10; got 0"),
        (11, "an integer from 1 to 10; got 11"),
        (2.5, "an integer from 1 to 10; got 2.5"),
    ],
)
def test_subsample_rejects_bad_sizes(n_samples, message):
    with pytest.raises(ValueError, match=message):
        subsample(np.zeros((10, 3)), np.zeros(10), n_samples, seed=0)


def test_subsample_rejects_mismatched_rows():
    with pytest.raises(ValueError, match="same number of rows; got 10 and 9"):
        subsample(np.zeros((10, 3)), np.zeros(9), 5, seed=0)


def test_corrupt_labels_changes_exactly_the_fraction():
    from generalization.data import corrupt_labels

    y = np.arange(1000) % 10
    noisy, changed = corrupt_labels(y, 0.1, seed=3)
    assert changed.sum() == 100
    assert np.all(noisy[changed] != y[changed]) and np.all(noisy[~changed] == y[~changed])
    assert noisy.min() >= 0 and noisy.max() <= 9
    again, _ = corrupt_labels(y, 0.1, seed=3)
    np.testing.assert_array_equal(noisy, again)
    with pytest.raises(ValueError, match=r"fraction must be a number in \[0, 1\]; got 1.5"):
        corrupt_labels(y, 1.5, seed=0)
    with pytest.raises(ValueError, match="integer labels"):
        corrupt_labels(y.astype(float), 0.1, seed=0)


def test_random_labels_fraction_follows_zhang_et_al():
    from generalization.data import random_labels

    y = np.arange(20000) % 10
    half = random_labels(y, seed=0, fraction=0.5)
    # replaced with probability 1/2, and a replacement equals the true label 1 time in 10
    assert abs(np.mean(half != y) - 0.5 * 0.9) < 0.02
    np.testing.assert_array_equal(random_labels(y, seed=0, fraction=0.0), y)
    assert abs(np.mean(random_labels(y, seed=1) == y) - 0.1) < 0.01
    with pytest.raises(ValueError, match="fraction must be a number in"):
        random_labels(y, seed=0, fraction=-0.1)

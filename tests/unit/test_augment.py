"""Unit tests of generalization.augment: shifted copies of images."""

import numpy as np
import pytest

from generalization import augment


def _images(n, seed=0):
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 28, 28), dtype=np.float32)
    X[:, 6:22, 6:22] = rng.random((n, 16, 16))  # a blank border, like MNIST digits
    return X.reshape(n, 784)


def test_replicate_keeps_the_originals_first_and_shifts_every_copy():
    X = _images(5)
    out = augment.replicate(X, copies=4, max_shift=2, seed=0)
    assert out.shape == (20, 784) and out.dtype == X.dtype
    np.testing.assert_array_equal(out[:5], X)
    for k in range(1, 4):
        block = out[5 * k : 5 * (k + 1)].reshape(5, 28, 28)
        for i in range(5):
            # each copy is the original rolled by some non-zero shift of at most 2 pixels
            rolls = [
                (dy, dx)
                for dy in range(-2, 3)
                for dx in range(-2, 3)
                if np.array_equal(np.roll(X[i].reshape(28, 28), (dy, dx), axis=(0, 1)), block[i])
            ]
            assert rolls and rolls[0] != (0, 0)


def test_replicate_copies_are_all_distinct_so_random_labels_can_be_fitted():
    X = _images(50)
    out = augment.replicate(X, copies=25, max_shift=2, seed=3)  # every non-zero shift used once
    assert np.unique(out, axis=0).shape[0] == out.shape[0]


def test_replicate_is_seeded_and_one_copy_is_the_input():
    X = _images(6)
    np.testing.assert_array_equal(augment.replicate(X, 3, seed=1), augment.replicate(X, 3, seed=1))
    assert not np.array_equal(augment.replicate(X, 3, seed=1), augment.replicate(X, 3, seed=2))
    np.testing.assert_array_equal(augment.replicate(X, 1), X)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(X=np.zeros((3, 10)), copies=2), "784"),
        (dict(X=np.zeros(784), copies=2), "784"),
        (dict(X=_images(2), copies=0), "copies"),
        (dict(X=_images(2), copies=2.5), "copies"),
        (dict(X=_images(2), copies=10, max_shift=1), "from 1 to 9"),
        (dict(X=_images(2), copies=2, max_shift=0), "max_shift"),
    ],
)
def test_replicate_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        augment.replicate(**kwargs)

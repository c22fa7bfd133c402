"""Fixtures shared by the unit tests of the methods."""

import numpy as np
import pytest


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 20)) * 3
    y = rng.integers(0, 3, size=150)
    X = centers[y] + rng.normal(size=(150, 20))
    return X, y


@pytest.fixture
def pixel_images():
    """A factory of n random 8-bit "images" in [0, 1], mostly dark like MNIST, some saturated.

    ``pixel_images(rng, n, d=784, dtype=np.float32)`` returns ``(images, codes)``.
    """

    def make(rng, n, d=784, dtype=np.float32):
        k = np.where(rng.random((n, d)) < 0.8, 0, rng.integers(0, 256, (n, d)))
        k[0] = 255  # an all-white image: the largest possible norm
        return (k / 255).astype(dtype), k

    return make

"""Random features: seeded, nested, blockwise, and close to their kernels (Monte Carlo)."""

import numpy as np
import pytest

from generalization import features, kernels


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, (40, 12)), rng.uniform(0, 1, (30, 12))


def _max_error(A, B, n, seed, bandwidth=1.3):
    approx = (
        features.random_fourier_features(A, n, bandwidth, seed)
        @ features.random_fourier_features(B, n, bandwidth, seed).T
    )
    exact = kernels.gaussian_kernel(A, B, bandwidth, dtype=np.float64)
    return np.abs(approx - exact).max()


def test_fourier_features_approximate_the_gaussian_kernel(points):
    A, B = points
    errors = [np.mean([_max_error(A, B, n, seed) for seed in range(3)]) for n in (500, 32000)]
    # Monte Carlo: the error of one entry has sd <= 1/sqrt(N); the max over 1,200 entries ~ 3.5x
    # that
    assert errors[1] < 4 / np.sqrt(32000)
    # and it shrinks like 1/sqrt(N): 64x the features, about 8x smaller (measured 7.4x)
    assert 5 < errors[0] / errors[1] < 12


def test_fourier_features_are_unbiased_per_entry(points):
    A, B = points
    exact = kernels.gaussian_kernel(A[:3], B[:3], 0.9, dtype=np.float64)
    draws = np.stack(
        [
            features.random_fourier_features(A[:3], 200, 0.9, s)
            @ features.random_fourier_features(B[:3], 200, 0.9, s).T
            for s in range(400)
        ]
    )
    # mean of 400 draws: standard error sd / 20; sd of one entry <= 1/sqrt(200)
    assert np.abs(draws.mean(0) - exact).max() < 4 * (1 / np.sqrt(200)) / 20


def test_relu_features_approximate_the_arccos_kernel(points):
    A, B = points
    phi = lambda X: features.random_relu_features(X, 40000, seed=1, scale=0.5)  # noqa: E731
    exact = 0.25 * features.arccos_kernel(A, B)
    rel = np.abs(phi(A) @ phi(B).T - exact).max() / exact.max()
    assert rel < 0.03


def test_arccos_kernel_diagonal_is_the_squared_norm(points):
    A, _ = points
    K = features.arccos_kernel(A, A)
    np.testing.assert_allclose(np.diag(K), (A**2).sum(1), rtol=1e-7)
    np.testing.assert_allclose(K, K.T)
    Z = np.vstack([np.zeros((1, 12)), A[:2]])
    assert np.all(features.arccos_kernel(Z, A)[0] == 0)


@pytest.mark.parametrize("kind", features.KINDS)
def test_maps_of_one_seed_are_nested(points, kind):
    A, _ = points
    small = features.RandomFeatureMap(kind, 12, 50, 2.0, seed=7).transform(A)
    large = features.RandomFeatureMap(kind, 12, 200, 2.0, seed=7).transform(A)
    np.testing.assert_allclose(
        small * np.sqrt(50), large[:, :50] * np.sqrt(200), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("kind", features.KINDS)
def test_same_seed_same_features_other_seed_other_features(points, kind):
    A, _ = points
    f = lambda s: features.RandomFeatureMap(kind, 12, 64, 1.0, seed=s).transform(A)  # noqa: E731
    np.testing.assert_array_equal(f(3), f(3))
    assert not np.allclose(f(3), f(4))


@pytest.mark.parametrize("kind", features.KINDS)
def test_blocks_do_not_change_the_result(points, kind):
    A, _ = points
    fmap = features.RandomFeatureMap(kind, 12, 33, 1.0, seed=2)
    np.testing.assert_allclose(
        fmap.transform(A, block_rows=7), fmap.transform(A), rtol=1e-13, atol=1e-15
    )  # BLAS may differ by an ulp
    f32 = fmap.transform(A, dtype=np.float32)
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32, fmap.transform(A), atol=1e-5)


def test_rows_are_transformed_independently(points):
    A, _ = points
    whole = features.random_fourier_features(A, 20, 1.0, 0)
    np.testing.assert_allclose(
        features.random_fourier_features(A[5:9], 20, 1.0, 0), whole[5:9], rtol=1e-13, atol=1e-15
    )


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda A: features.random_fourier_features(A, 0, 1.0, 0),
            "n_features must be a positive integer",
        ),
        (
            lambda A: features.random_fourier_features(A, 2.5, 1.0, 0),
            "n_features must be a positive integer",
        ),
        (
            lambda A: features.random_fourier_features(A, 10, -1.0, 0),
            "bandwidth must be a positive number",
        ),
        (
            lambda A: features.random_fourier_features(A, 10, "wide", 0),
            "bandwidth must be a positive number",
        ),
        (
            lambda A: features.random_fourier_features(A, 10, 1.0, -1),
            "seed must be a non-negative integer",
        ),
        (lambda A: features.random_fourier_features(A[0], 10, 1.0, 0), "X must be a 2-D array"),
        (lambda A: features.random_fourier_features(A * np.nan, 10, 1.0, 0), "X must be finite"),
        (
            lambda A: features.random_relu_features(A, 10, 0, scale=0),
            "bandwidth must be a positive number",
        ),
        (lambda A: features.RandomFeatureMap("sigmoid", 12, 10, 1.0, 0), "kind must be one of"),
        (
            lambda A: features.RandomFeatureMap("relu", 13, 10, 1.0, 0).transform(A),
            "X must have 13 columns",
        ),
        (
            lambda A: features.RandomFeatureMap("relu", 12, 10, 1.0, 0).transform(
                A, dtype=np.int64
            ),
            "dtype must be one of \\('float32', 'float64'\\); got 'int64'",
        ),
        (lambda A: features.arccos_kernel(A, A[:, :3]), "B must have 12 columns"),
    ],
)
def test_bad_input_raises_value_error(points, call, message):
    with pytest.raises(ValueError, match=message):
        call(points[0])


def test_parameters_are_drawn_once_and_read_only():
    fmap = features.RandomFeatureMap("fourier", 5, 7, 1.0, seed=0)
    W, b = fmap.parameters()
    assert features.RandomFeatureMap("fourier", 5, 7, 1.0, seed=0).parameters()[0] is W
    with pytest.raises(ValueError):
        W[0, 0] = 1.0
    assert W.shape == (5, 7) and b.shape == (7,)

"""Unit tests of generalization.kernels: kernel evaluation."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.metrics.pairwise import rbf_kernel

from generalization.kernels import gaussian_kernel, kernel_matrix, laplace_kernel


def test_gaussian_matches_scikit_learn(blobs):
    X, _ = blobs
    expected = rbf_kernel(X[:40], X, gamma=1 / (2 * 4.0**2))
    np.testing.assert_allclose(
        gaussian_kernel(X[:40], X, 4.0, dtype=np.float64), expected, rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(gaussian_kernel(X[:40], X, 4.0), expected, rtol=2e-5, atol=1e-6)


def test_laplace_uses_the_euclidean_distance(blobs):
    X, _ = blobs
    expected = np.exp(-cdist(X[:40], X) / 6.0)
    # X[:40] and X share rows: sqrt of a rounded squared distance near 0 (see Notes).
    np.testing.assert_allclose(
        laplace_kernel(X[:40], X, 6.0, dtype=np.float64), expected, atol=1e-7
    )
    np.testing.assert_allclose(laplace_kernel(X[:40], X, 6.0), expected, atol=2e-3)
    same = laplace_kernel(X, X, 6.0, dtype=np.float64)
    assert np.all(np.diag(same) == 1.0)  # K(X, X): the diagonal is exact
    np.testing.assert_allclose(same, np.exp(-cdist(X, X) / 6.0), atol=1e-7)


def test_blocks_do_not_change_the_result(blobs):
    X, _ = blobs
    whole = kernel_matrix(X, X, "laplace", 5.0, dtype=np.float64, block_rows=10_000)
    pieces = kernel_matrix(X, X, "laplace", 5.0, dtype=np.float64, block_rows=7)
    np.testing.assert_allclose(whole, pieces, rtol=1e-13)  # only the GEMM's summation order differs


def test_upper_triangle_and_symmetric_products_match_the_full_matrix(blobs):
    from generalization.kernels import kernel_times

    X, _ = blobs
    full = kernel_matrix(X, X, "gaussian", 6.0, dtype=np.float64)
    upper = kernel_matrix(X, X, "gaussian", 6.0, dtype=np.float64, upper_only=True, block_rows=17)
    np.testing.assert_allclose(np.triu(upper), np.triu(full), rtol=1e-13)
    assert np.all(upper[17:, :17] == 0)  # below the diagonal blocks: untouched
    alpha = np.random.default_rng(0).standard_normal((150, 3))
    product = kernel_times(X, X, alpha, "gaussian", 6.0, np.float64, 17, "auto")
    np.testing.assert_allclose(product, full @ alpha, rtol=1e-11, atol=1e-11)
    with pytest.raises(ValueError, match="upper_only=True needs A is B"):
        kernel_matrix(X, X.copy(), "gaussian", 6.0, upper_only=True)


def test_pixel_codes_detect_8_bit_images_only(pixel_images):
    from generalization.kernels import pixel_codes

    rng = np.random.default_rng(0)
    X, k = pixel_images(rng, 5)
    np.testing.assert_array_equal(pixel_codes(X), k - 128)
    np.testing.assert_array_equal(pixel_codes(X.astype(np.float64)), k - 128)
    assert pixel_codes(X + 0.3 / 255) is None  # between levels
    assert pixel_codes(X - 1) is None  # below 0
    assert pixel_codes(np.zeros((2, 1024))) is None  # too many features for exact float32 sums


@pytest.mark.parametrize("kernel, bandwidth", [("gaussian", 5.0), ("laplace", 10.0)])
def test_float64_products_on_8_bit_images_are_exact(kernel, bandwidth, pixel_images):
    from generalization.kernels import kernel_times

    rng = np.random.default_rng(1)
    X, kx = pixel_images(rng, 300)
    Z, kz = pixel_images(rng, 200)
    alpha = rng.normal(size=(200, 3))
    # reference: distances from the exact pixels k / 255 in float64 (integers first: exact)
    for A, ka, B, kb, w in ((X, kx, Z, kz, alpha), (Z, kz, Z, kz, alpha)):
        d2 = (
            np.maximum((ka**2).sum(1)[:, None] + (kb**2).sum(1)[None, :] - 2.0 * ka @ kb.T, 0)
            / 255**2
        )
        K = (
            np.exp(-d2 / (2 * bandwidth**2))
            if kernel == "gaussian"
            else np.exp(-np.sqrt(d2) / bandwidth)
        )
        got = kernel_times(A, A if B is A else B, w, kernel, bandwidth, np.float64, 64, "cpu")
        np.testing.assert_allclose(got, K @ w, rtol=1e-12, atol=1e-12 * np.abs(K @ w).max())


def test_codes_given_by_the_caller_give_the_same_products(pixel_images):
    from generalization.kernels import kernel_times, pixel_codes

    rng = np.random.default_rng(2)
    X, _ = pixel_images(rng, 120)
    Z, _ = pixel_images(rng, 90)
    alpha = rng.normal(size=(90, 2))
    args = ("gaussian", 5.0, np.float64, 32, "cpu")
    found = kernel_times(X, Z, alpha, *args)
    np.testing.assert_array_equal(kernel_times(X, Z, alpha, *args, z_codes=pixel_codes(Z)), found)
    # None: the caller found no codes, so the plain float64 path runs on the float32 pixels,
    # whose rounding (about 3e-8 relative) it carries
    np.testing.assert_allclose(kernel_times(X, Z, alpha, *args, z_codes=None), found, rtol=1e-5)


def test_large_matrices_are_allocated_in_small_pages_and_the_setting_is_restored():
    from numpy._core import multiarray

    from generalization.kernels import _zeros_in_small_pages

    before = multiarray._set_madvise_hugepage(True)
    try:
        M = _zeros_in_small_pages((300, 200), np.float32)
        assert M.shape == (300, 200) and M.dtype == np.float32 and not M.any()
        assert multiarray._set_madvise_hugepage(True) is True  # still on afterwards
    finally:
        multiarray._set_madvise_hugepage(before)

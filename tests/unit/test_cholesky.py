import numpy as np
import pytest
from scipy.linalg import lapack

from generalization import cholesky


def spd(n, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n + 20))
    return (A @ A.T / n + np.eye(n)).astype(dtype)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("block", [64, 100, 1000])
def test_blocked_factor_and_solve_match_lapack(dtype, rtol, block):
    M = spd(300, dtype=dtype)
    K = np.triu(M).copy()  # only the upper triangle is read
    K[np.tril_indices(300, -1)] = np.nan
    assert cholesky.factor_in_place(K, block=block) == 0
    reference, info = (lapack.dpotrf if dtype == np.float64 else lapack.spotrf)(M.T.copy(order="F"), lower=1, clean=1)
    np.testing.assert_allclose(np.tril(K.T), reference, rtol=rtol, atol=rtol)
    R = np.random.default_rng(1).standard_normal((300, 3))
    X = cholesky.solve_in_place_factor(K, R, block=block)
    np.testing.assert_allclose(M.astype(np.float64) @ X, R, rtol=50 * rtol, atol=50 * rtol)


def test_not_positive_definite_reports_the_column():
    M = spd(200)
    M[150, 150] = -1e3
    K = np.triu(M).copy()
    assert cholesky.factor_in_place(K, block=64) == 151


def test_threshold_is_32_bit_indexing():
    assert not cholesky.needs_blocking(46340) and cholesky.needs_blocking(46341)
    with pytest.raises(ValueError, match="square C-contiguous"):
        cholesky.factor_in_place(np.zeros((3, 4)))

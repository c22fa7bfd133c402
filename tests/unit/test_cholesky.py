import numpy as np
import pytest
from scipy.linalg import lapack

from generalization import cholesky

BACKENDS = [pytest.param(True, id="openblas64"), pytest.param(False, id="torch")]


@pytest.fixture(params=BACKENDS)
def blas(request):
    if request.param and cholesky.blas64() is None:
        pytest.skip("this NumPy ships no 64-bit OpenBLAS; the torch path is tested instead")
    return request.param


def spd(n, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n + 20))
    return (A @ A.T / n + np.eye(n)).astype(dtype)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("block", [64, 100, 1000])
def test_blocked_factor_and_solve_match_lapack(dtype, rtol, block, blas):
    M = spd(300, dtype=dtype)
    K = np.triu(M).copy()  # only the upper triangle is read
    K[np.tril_indices(300, -1)] = np.nan
    assert cholesky.factor_in_place(K, block=block, blas=blas) == 0
    reference, info = (lapack.dpotrf if dtype == np.float64 else lapack.spotrf)(
        M.T.copy(order="F"), lower=1, clean=1
    )
    np.testing.assert_allclose(np.tril(K.T), reference, rtol=rtol, atol=rtol)
    R = np.random.default_rng(1).standard_normal((300, 3))
    X = cholesky.solve_in_place_factor(K, R, block=block)
    assert X.shape == R.shape and X.dtype == dtype
    np.testing.assert_allclose(M.astype(np.float64) @ X, R, rtol=50 * rtol, atol=50 * rtol)
    x = cholesky.solve_in_place_factor(K, R[:, 0], block=block)  # one right-hand side, as a vector
    np.testing.assert_allclose(x, X[:, 0], rtol=10 * rtol, atol=10 * rtol)


def test_the_two_backends_agree_to_rounding():
    if cholesky.blas64() is None:
        pytest.skip("this NumPy ships no 64-bit OpenBLAS")
    M = spd(257)
    first, second = np.triu(M), np.triu(M)
    cholesky.factor_in_place(first, block=50, blas=True)
    cholesky.factor_in_place(second, block=50, blas=False)
    np.testing.assert_allclose(np.tril(first.T), np.tril(second.T), rtol=1e-12, atol=1e-12)


def test_not_positive_definite_reports_the_column(blas):
    M = spd(200)
    M[150, 150] = -1e3
    K = np.triu(M).copy()
    assert cholesky.factor_in_place(K, block=64, blas=blas) == 151


def test_threshold_is_32_bit_indexing():
    assert not cholesky.needs_blocking(46340) and cholesky.needs_blocking(46341)


def test_bad_input_raises_value_error(monkeypatch):
    with pytest.raises(ValueError, match="square C-contiguous"):
        cholesky.factor_in_place(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="float32 or float64"):
        cholesky.factor_in_place(np.eye(3, dtype=np.int64))
    with pytest.raises(ValueError, match="block must be a positive integer"):
        cholesky.factor_in_place(np.eye(3), block=0)
    with pytest.raises(ValueError, match="blas must be one of \\(None, True, False\\)"):
        cholesky.factor_in_place(np.eye(3), blas="yes")
    with pytest.raises(ValueError, match="R must have 3 rows"):
        cholesky.solve_in_place_factor(np.eye(3), np.ones((4, 2)))
    monkeypatch.setattr(cholesky, "blas64", lambda: None)
    with pytest.raises(ValueError, match="no"):
        cholesky.factor_in_place(np.eye(3), blas=True)
    K = np.eye(3)
    assert cholesky.factor_in_place(K) == 0  # falls back to torch


def test_factor_solves_like_a_dense_solver_and_names_a_bad_backend():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((40, 40))
    S = A @ A.T + 40 * np.eye(40)
    R = rng.standard_normal((40, 3))
    for backend in ("scipy", "torch"):
        K = np.triu(S).astype(np.float64)  # the upper triangle holds the matrix
        factor = cholesky.Factor(K, backend, "cpu")
        assert factor.info == 0
        np.testing.assert_allclose(factor.solve(R), np.linalg.solve(S, R), rtol=1e-10)
    with pytest.raises(
        ValueError, match=r"backend must be one of \('scipy', 'torch'\); got 'lapack'"
    ):
        cholesky.Factor(np.eye(2), "lapack")

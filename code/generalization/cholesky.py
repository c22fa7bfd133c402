"""Blocked, in-place Cholesky factorization and solves for matrices too big for LAPACK's ints.

SciPy's bundled LAPACK indexes with 32-bit integers, so ``spotrf`` on an n x n matrix with
``n * n >= 2**31`` (n > 46,340, e.g. all 60,000 MNIST training images) computes offsets that
overflow and crashes. The routines here factor the matrix block by block, in place, so that
every library call sees only a ``block x block`` diagonal block or a ``(n - k) x block``
panel, far below that limit. They use torch on CPU tensors that share the NumPy memory.

Convention: ``K`` is a C-contiguous n x n array whose *upper* triangle holds the symmetric
matrix (the lower triangle is ignored). Then ``L = K.T`` is a Fortran-ordered view whose
*lower* triangle holds the same matrix, and the factorization overwrites it with the
lower Cholesky factor ``L L^T = K``, exactly as LAPACK's ``potrf(K.T, lower=1)`` would.

References
----------
Golub and Van Loan (2013), *Matrix Computations*, 4th ed., section 4.2.9 (block Cholesky).
"""

from __future__ import annotations

import numpy as np

BLOCK = 2048
LAPACK_LIMIT = 2**31


def needs_blocking(n):
    """True when an n x n matrix is too large for 32-bit LAPACK indexing."""
    return n * n >= LAPACK_LIMIT


def factor_in_place(K, block=BLOCK):
    """Overwrite the upper triangle of ``K`` (C order) with the transposed lower Cholesky factor.

    Parameters
    ----------
    K : ndarray of shape (n, n), float32 or float64, C-contiguous
        Upper triangle: the symmetric positive definite matrix.
    block : int
        Size of the diagonal blocks.

    Returns
    -------
    info : int
        0 on success; otherwise the (1-based) column at which the matrix was found not to
        be positive definite, as LAPACK reports it.
    """
    import torch

    if K.ndim != 2 or K.shape[0] != K.shape[1] or not K.flags.c_contiguous:
        raise ValueError(f"K must be a square C-contiguous array; got shape {K.shape}.")
    n = K.shape[0]
    # Work on the rows of K (C order, contiguous): K[k:e, e:] is the transposed panel
    # L[e:, k:e]^T, so every update below writes whole rows.
    U = torch.from_numpy(K)
    for k in range(0, n, block):
        e = min(k + block, n)
        diagonal = torch.triu(U[k:e, k:e])
        diagonal = diagonal + torch.triu(diagonal, 1).T  # symmetric copy of the block
        chol, info = torch.linalg.cholesky_ex(diagonal)
        if int(info) != 0:
            return k + int(info)
        U[k:e, k:e] = chol.T
        if e == n:
            break
        # transposed panel: P^T = L_kk^{-1} A[k:e, e:]
        panel_t = torch.linalg.solve_triangular(chol, U[k:e, e:], upper=False)
        U[k:e, e:] = panel_t
        # trailing update of the upper triangle: A[e:, e:] -= P P^T, one block row at a time
        for j in range(e, n, block):
            je = min(j + block, n)
            U[j:je, j:].addmm_(panel_t[:, j - e:je - e].T, panel_t[:, j - e:], alpha=-1)  # in place, no temporary
    return 0


def solve_in_place_factor(K, R, block=BLOCK):
    """Solve ``(L L^T) X = R`` with the factor left in ``K`` by :func:`factor_in_place`.

    Parameters
    ----------
    K : ndarray of shape (n, n)
        The factor, as left by :func:`factor_in_place` (or LAPACK ``potrf(K.T, lower=1)``).
    R : ndarray of shape (n, k)

    Returns
    -------
    ndarray of shape (n, k), in K's dtype
    """
    import torch

    n = K.shape[0]
    L = torch.from_numpy(K).T
    Y = torch.from_numpy(np.array(R, dtype=K.dtype, copy=True))
    if Y.ndim == 1:
        Y = Y[:, None]
    # forward substitution: L Y = R
    for k in range(0, n, block):
        e = min(k + block, n)
        Y[k:e] = torch.linalg.solve_triangular(torch.tril(L[k:e, k:e]), Y[k:e], upper=False)
        if e < n:
            Y[e:] -= L[e:, k:e] @ Y[k:e]
    # backward substitution: L^T X = Y
    for k in reversed(range(0, n, block)):
        e = min(k + block, n)
        if e < n:
            Y[k:e] -= L[e:, k:e].T @ Y[e:]
        Y[k:e] = torch.linalg.solve_triangular(torch.tril(L[k:e, k:e]).T, Y[k:e], upper=True)
    return Y.numpy().reshape(np.shape(R))

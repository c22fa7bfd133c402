"""Cholesky factorization of kernel matrices: which routine, and a blocked one for huge matrices.

:class:`Factor` is the one entry point: it factors a symmetric positive definite matrix held
in its upper triangle and solves with the factor, choosing SciPy's in-place LAPACK, the
blocked factorization below, or torch (on a GPU).

Blocked, in-place Cholesky factorization and solves for matrices too big for 32-bit LAPACK:

SciPy's bundled LAPACK indexes with 32-bit integers, so ``spotrf`` on an n x n matrix with
``n * n >= 2**31`` (n > 46,340, e.g. all 60,000 MNIST training images) computes offsets that
overflow and crashes. NumPy's wheels ship OpenBLAS built with 64-bit integers
(``scipy-openblas64``), but its multithreaded ``spotrf`` crashed here too, from n = 42,000
on (n = 20,000 ran, bit for bit equal to SciPy's; OpenBLAS has reports of the same kind,
e.g. OpenMathLib/OpenBLAS#352 and #1413). So the routines here factor the matrix block by
block, in place: every LAPACK call sees one ``block x block`` diagonal block, and the
panels and trailing updates are ``trsm`` and ``gemm`` calls. Those go straight to NumPy's
64-bit OpenBLAS through ``ctypes`` when it is there (its ``sgemm`` ran at 163 GFLOP/s
here, against 136 for torch's CPU BLAS), and to torch on CPU tensors that share the NumPy
memory otherwise.

Convention: ``K`` is a C-contiguous n x n array whose *upper* triangle holds the symmetric
matrix (the lower triangle is ignored). Then ``L = K.T`` is a Fortran-ordered view whose
*lower* triangle holds the same matrix, and the factorization overwrites it with the
lower Cholesky factor ``L L^T = K``, exactly as LAPACK's ``potrf(K.T, lower=1)`` would.

References
----------
Golub and Van Loan (2013), *Matrix Computations*, 4th ed., section 4.2.9 (block Cholesky).
"""

from __future__ import annotations

import ctypes
import functools
import sys
from pathlib import Path

import numpy as np

from . import checks

BLOCK = 2048
"""Size of the diagonal blocks of the blocked factorization, and rows per step of its solves."""
LAPACK_LIMIT = 2**31
"""SciPy's LAPACK indexes with 32-bit integers: an n x n matrix needs ``n * n < LAPACK_LIMIT``."""
_ROUTINES = ("potrf", "trsm", "gemm")


def needs_blocking(n):
    """True when an n x n matrix is too large for 32-bit LAPACK indexing."""
    n = checks.count("n", n)
    return n * n >= LAPACK_LIMIT


@functools.lru_cache(maxsize=None)
def blas64():
    """NumPy's bundled 64-bit-integer OpenBLAS as a ``ctypes`` library, or None if it has none."""
    package = Path(np.__file__).resolve().parent
    pattern = {
        "darwin": ".dylibs/libscipy_openblas64_*.dylib",
        "win32": "../numpy.libs/*openblas64*.dll",
    }.get(sys.platform, "../numpy.libs/libscipy_openblas64_*.so")
    for path in sorted(package.glob(pattern)):
        try:
            library = ctypes.CDLL(str(path))  # already loaded by numpy.linalg: the same handle
            for prefix in "sd":
                for name in _ROUTINES:
                    getattr(library, f"scipy_{prefix}{name}_64_")
        except (OSError, AttributeError):
            continue
        return library
    return None


class _Fortran:
    """Calls into BLAS/LAPACK on ``L = K.T``: column-major, leading dimension n, 64-bit integers."""

    def __init__(self, K):
        _check_matrix(K, in_place=True)  # the last check before K's address is taken
        self.n, self.base, self.itemsize = K.shape[0], K.ctypes.data, K.itemsize
        self.prefix = "s" if K.dtype == np.float32 else "d"
        self.scalar = ctypes.c_float if K.dtype == np.float32 else ctypes.c_double
        self.library = blas64()

    def at(self, i, j, rows, cols):
        """Address of ``L[i, j]`` (that is ``K[j, i]``), the corner of a ``rows x cols`` block
        that must lie inside ``L``: BLAS would read and write past the array otherwise."""
        n = self.n
        if not (0 <= i and 0 <= j and 0 < rows and 0 < cols and i + rows <= n and j + cols <= n):
            raise ValueError(
                f"block must be inside the {n} x {n} matrix; got rows "
                f"{i}:{i + rows} and columns {j}:{j + cols}."
            )
        return ctypes.c_void_p(self.base + (i + j * n) * self.itemsize)

    def call(self, name, flags, *args):
        """``name(flags..., args...)``: ints by reference as int64, floats as the scalar type."""
        converted = []
        for a in args:
            if isinstance(a, bool) or not isinstance(a, (int, float, ctypes.c_void_p)):
                raise TypeError(f"unexpected argument {a!r}")
            if isinstance(a, ctypes.c_void_p):
                converted.append(a)
            elif isinstance(a, int):
                converted.append(ctypes.byref(ctypes.c_int64(a)))
            else:
                converted.append(ctypes.byref(self.scalar(a)))
        lengths = [ctypes.c_size_t(1)] * len(flags)  # hidden lengths of the character arguments
        getattr(self.library, f"scipy_{self.prefix}{name}_64_")(
            *[f.encode() for f in flags], *converted, *lengths
        )

    def potrf(self, k, size):
        info = ctypes.c_int64(0)
        self.call(
            "potrf",
            "L",
            size,
            self.at(k, k, size, size),
            self.n,
            ctypes.c_void_p(ctypes.addressof(info)),
        )
        return int(info.value)


def _check_block(block):
    return BLOCK if block is None else checks.count("block", block)


def _check_matrix(K, in_place):
    """Check ``K`` before any routine reads it through a pointer: an ndarray, square, non-empty,
    float32 or float64 in native byte order, and, when it is factored ``in_place``,
    C-contiguous (the layout the pointer arithmetic assumes), aligned and writable."""
    if not isinstance(K, np.ndarray):
        raise ValueError(f"K must be a square C-contiguous array; got {type(K).__name__}.")
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be a square C-contiguous array; got shape {K.shape}.")
    if K.dtype not in (np.float32, np.float64):
        raise ValueError(f"K must be float32 or float64 (native byte order); got {K.dtype}.")
    if K.size == 0:
        raise ValueError(f"K must be a non-empty array; got shape {K.shape}.")
    if in_place and not (K.flags.c_contiguous and K.flags.aligned):
        raise ValueError(
            f"K must be a square C-contiguous array; got a non-contiguous or unaligned array of "
            f"shape {K.shape} (strides {K.strides})."
        )
    if in_place and not K.flags.writeable:
        raise ValueError(
            "K must be writable (it is overwritten with the factor); got a read-only array."
        )
    return K


def _check_factor_args(K, blas):
    _check_matrix(K, in_place=True)
    checks.choice("blas", blas, (None, True, False))  # None: use it when NumPy has it
    if blas and blas64() is None:
        raise ValueError(
            "blas=True needs NumPy's bundled 64-bit OpenBLAS (scipy-openblas64); this NumPy has "
            "none."
        )
    return blas64() is not None if blas is None else blas


def factor_in_place(K, block=None, blas=None):
    """Overwrite the upper triangle of ``K`` (C order) with the transposed lower Cholesky factor.

    Parameters
    ----------
    K : ndarray of shape (n, n), float32 or float64, C-contiguous
        Upper triangle: the symmetric positive definite matrix.
    block : int, optional
        Size of the diagonal blocks (default :data:`BLOCK`).
    blas : bool or None
        True: NumPy's 64-bit OpenBLAS through ``ctypes``; False: torch; None: OpenBLAS when
        NumPy ships it.

    Returns
    -------
    info : int
        0 on success; otherwise the (1-based) column at which the matrix was found not to
        be positive definite, as LAPACK reports it.
    """
    block = _check_block(block)
    if _check_factor_args(K, blas):
        return _factor_blas(K, block)
    return _factor_blocks(K, block)


def _factor_blas(K, block):
    """Right-looking blocked Cholesky of ``L = K.T`` (lower) with OpenBLAS kernels."""
    f, n = _Fortran(K), K.shape[0]
    for k in range(0, n, block):
        e = min(k + block, n)
        info = f.potrf(k, e - k)  # the diagonal block, small enough for any LAPACK
        if info != 0:
            return k + info
        if e == n:
            break
        # panel: L[e:, k:e] <- L[e:, k:e] L[k:e, k:e]^-T
        f.call(
            "trsm",
            "RLTN",
            n - e,
            e - k,
            1.0,
            f.at(k, k, e - k, e - k),
            n,
            f.at(e, k, n - e, e - k),
            n,
        )
        # trailing update of the lower triangle, one block column at a time:
        # L[j:, j:je] -= L[j:, k:e] L[j:je, k:e]^T
        for j in range(e, n, block):
            je = min(j + block, n)
            f.call(
                "gemm",
                "NT",
                n - j,
                je - j,
                e - k,
                -1.0,
                f.at(j, k, n - j, e - k),
                n,
                f.at(j, k, je - j, e - k),
                n,
                1.0,
                f.at(j, j, n - j, je - j),
                n,
            )
    return 0


def _factor_blocks(K, block):
    import torch

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
            U[j:je, j:].addmm_(
                panel_t[:, j - e : je - e].T, panel_t[:, j - e :], alpha=-1
            )  # in place, no temporary
    return 0


def solve_in_place_factor(K, R, block=None):
    """Solve ``(L L^T) X = R`` with the factor left in ``K`` by :func:`factor_in_place`.

    Parameters
    ----------
    K : ndarray of shape (n, n)
        The factor, as left by :func:`factor_in_place` (or LAPACK ``potrf(K.T, lower=1)``).
    R : ndarray of shape (n,) or (n, k)
    block : int, optional
        Rows of the factor per step (default :data:`BLOCK`).

    Returns
    -------
    ndarray of R's shape, in K's dtype
    """
    from scipy.linalg import solve_triangular

    block = _check_block(block)
    _check_matrix(K, in_place=False)
    R = checks.array("R", R, ndim=(1, 2), dtype=None)
    if R.ndim not in (1, 2) or R.shape[0] != K.shape[0]:
        raise ValueError(
            f"R must have {K.shape[0]} rows (one per row of K), as (n,) or (n, k); got shape "
            f"{R.shape}."
        )
    n = K.shape[0]
    diagonal = np.diagonal(K)
    if not np.all(np.isfinite(diagonal)) or np.any(diagonal == 0):
        raise ValueError(
            "K must be a finite Cholesky factor with a non-zero diagonal; got a diagonal with "
            "NaN, infinity or 0."
        )
    L = K.T
    Y = np.array(R, dtype=K.dtype, copy=True).reshape(n, -1)
    # The diagonal blocks are solved by LAPACK (trtrs reads only their lower triangle); the
    # thin products run in NumPy, whose BLAS reads the factor at memory speed where torch's
    # ran the transposed product several times slower.
    for k in range(0, n, block):  # forward substitution: L Y = R
        e = min(k + block, n)
        Y[k:e] = solve_triangular(L[k:e, k:e], Y[k:e], lower=True, check_finite=False)
        if e < n:
            Y[e:] -= L[e:, k:e] @ Y[k:e]
    for k in reversed(range(0, n, block)):  # backward substitution: L^T X = Y
        e = min(k + block, n)
        if e < n:
            Y[k:e] -= L[e:, k:e].T @ Y[e:]
        Y[k:e] = solve_triangular(L[k:e, k:e], Y[k:e], lower=True, trans="T", check_finite=False)
    if not np.all(np.isfinite(Y)):  # a NaN or zero in the factor, never a silent NaN result
        raise ValueError(
            "K must be a finite Cholesky factor with a non-zero diagonal; got a solve with NaN "
            "or infinity."
        )
    return Y.reshape(R.shape)


class Factor:
    """The Cholesky factor of a symmetric positive definite matrix, and solves with it.

    This is where the routine is chosen. ``K`` is C-contiguous and holds the matrix in its
    upper triangle (the lower one is ignored), as :func:`generalization.kernels.kernel_matrix`
    leaves it with ``upper_only=True``.

    * ``backend="scipy"``: LAPACK ``potrf`` through SciPy, *in place* (``K``'s memory then
      holds the factor); beyond SciPy's 32-bit indexing (:func:`needs_blocking`),
      :func:`factor_in_place`'s blocked factorization, also in place.
    * ``backend="torch"``: ``torch.linalg.cholesky_ex`` on ``device`` (a copy; for GPUs).

    Attributes
    ----------
    info : int
        0 on success; otherwise the (1-based) column at which the matrix was found not to be
        positive definite, as LAPACK reports it.
    """

    def __init__(self, K, backend="scipy", device="cpu"):
        self.backend = checks.choice("backend", backend, ("scipy", "torch"))
        # SciPy's potrf writes into K even when it is read-only (a read-only memmap then
        # crashes the interpreter), so the in-place backend needs a writable K
        _check_matrix(K, in_place=False)
        if backend == "scipy" and not K.flags.writeable:
            raise ValueError(
                "K must be writable (it is overwritten with the factor); got a read-only array."
            )
        self.large = backend == "scipy" and needs_blocking(K.shape[0])
        if self.large:
            # beyond SciPy's 32-bit LAPACK indexing (n > 46,340): factored block by block, in place
            self.factor = K
            info = factor_in_place(K)
        elif backend == "scipy":
            from scipy.linalg import lapack

            # K is C-contiguous and holds the upper triangle of a symmetric matrix; K.T is the
            # same matrix in Fortran order with that triangle as its lower one, which
            # spotrf/dpotrf (lower=1) read and factor in place, without a copy.
            factor, info = (lapack.spotrf if K.dtype == np.float32 else lapack.dpotrf)(
                K.T, lower=1, overwrite_a=1, clean=0
            )
            self.factor = factor
        else:
            import torch

            Kt = torch.as_tensor(K, device=torch.device(device))
            Kt = torch.triu(Kt) + torch.triu(Kt, 1).T  # K holds its upper triangle only
            self.factor, info_t = torch.linalg.cholesky_ex(Kt)
            info = int(info_t)
        self.info = int(info)

    def solve(self, R):
        """Return ``(K + ridge I)^{-1} R`` in float64; R of shape (n, k)."""
        R = checks.array("R", R, ndim=(1, 2), dtype=None)
        n = self.factor.shape[0]
        if R.shape[0] != n:
            raise ValueError(f"R must have {n} rows (one per row of K); got shape {R.shape}.")
        if self.large:
            return solve_in_place_factor(self.factor, R).astype(np.float64)
        if self.backend == "scipy":
            from scipy.linalg import lapack

            potrs = lapack.spotrs if self.factor.dtype == np.float32 else lapack.dpotrs
            X, info = potrs(self.factor, R.astype(self.factor.dtype), lower=1)
            if info != 0:
                raise RuntimeError(f"LAPACK potrs failed with info={info}.")
            return X.astype(np.float64)
        import torch

        Rt = torch.as_tensor(R, device=self.factor.device, dtype=self.factor.dtype)
        return torch.cholesky_solve(Rt, self.factor).double().cpu().numpy()

"""Kernel machines that interpolate: Gaussian and Laplace kernels and an exact solver.

An interpolating kernel machine solves ``K alpha = Y`` with ``K[i, j] = k(x_i, x_j)`` and
one-hot targets ``Y``, and predicts ``f(x) = sum_i alpha_i k(x, x_i)``. It fits every
training label exactly (Zhang et al. 2017, section 5; Belkin, Ma, Mandal 2018).

How it is computed, and why it is fast and exact on a laptop:

* Kernels are evaluated blockwise (``block_rows`` rows at a time) with one float32 matrix
  product per block, ``||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b``, and the nonlinearity
  applied in place: peak memory is the output plus one block.
* The solve factors ``K + ridge I`` by Cholesky in float32, *in place* and from the upper
  triangle alone (LAPACK ``spotrf`` through SciPy on the CPU; beyond SciPy's 32-bit
  indexing, :mod:`generalization.cholesky`'s blocked factorization). Only the pages that
  hold the upper triangle are ever written, so n = 60,000 occupies 7.2 GB, not 14.4 or
  28.8. Then it refines the solution: ``r = Y - (K + ridge I) alpha`` is computed in
  float64 from kernel blocks recomputed in float64, and ``alpha += solve(r)``. Each step
  gains about ``-log10(cond(K) * 6e-8)`` digits, so a few steps reach float64 accuracy
  when ``cond(K) << 1.7e7``. When they cannot, :class:`ConditioningWarning` says so.
* With a CUDA device visible, torch does the same on the GPU (``backend="torch"``).

References
----------
Zhang, Bengio, Hardt, Recht, Vinyals (2017), *Understanding deep learning requires
rethinking generalization*, ICLR, section 5.
Belkin, Ma, Mandal (2018), *To understand deep learning we need to understand kernel
learning*, ICML.
Higham (2002), *Accuracy and Stability of Numerical Algorithms*, ch. 12 (iterative
refinement in mixed precision).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

KERNELS = ("gaussian", "laplace")
BLOCK_ROWS = 2048


class ConditioningWarning(UserWarning):
    """The kernel matrix is too ill-conditioned for the requested accuracy."""


def _check_matrix(name, A):
    A = np.asarray(A)
    if A.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n_samples, n_features); got {A.ndim} dimensions.")
    if not np.issubdtype(A.dtype, np.number) or np.iscomplexobj(A):
        raise ValueError(f"{name} must hold real numbers; got dtype {A.dtype}.")
    return A


def _check_bandwidth(bandwidth):
    if isinstance(bandwidth, bool) or not np.isscalar(bandwidth) or not np.isfinite(bandwidth) or bandwidth <= 0:
        raise ValueError(f"bandwidth must be a positive finite number; got {bandwidth!r}.")
    return float(bandwidth)


def _device(device):
    import torch

    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _tensor(array, dtype, device):
    """A torch view of ``array`` in ``dtype`` (copied when the cast or read-only memory requires)."""
    import torch

    array = np.ascontiguousarray(array, dtype=dtype)
    if not array.flags.writeable:  # torch refuses read-only memory (e.g. the shared MNIST arrays)
        array = array.copy()
    return torch.as_tensor(array, device=device)


EXACT_LEVELS = 255  # 8-bit images scaled to [0, 1]: pixel = k / 255, k in 0..255
EXACT_MAX_FEATURES = 1023  # centred codes |k - 128| <= 128: d * 128^2 < 2^24 keeps float32 sums exact


def _zeros_in_small_pages(shape, dtype):
    """``np.zeros`` without NumPy's request (``madvise``) for 2 MB pages; see :func:`kernel_matrix`."""
    from numpy._core import multiarray

    previous = multiarray._set_madvise_hugepage(False)
    try:
        return np.zeros(shape, dtype=dtype)
    finally:
        multiarray._set_madvise_hugepage(previous)


def _pixel_codes(X):
    """Centred integer codes ``k - 128`` (float32) when every entry of X is ``k / 255``, else None.

    For such data a float32 matrix product of the codes is *exact*: every product is an
    integer of size at most 128^2 and every partial sum of at most 1023 of them stays below
    2^24, where float32 still represents all integers, whatever order the BLAS adds them
    in. Squared distances ``||a - b||^2 = ||c_a - c_b||^2 / 255^2`` then follow exactly
    from one float32 product, at float32 speed, instead of a float64 product at half the
    speed or less.
    """
    if X.shape[1] > EXACT_MAX_FEATURES:
        return None
    X = np.asarray(X)
    # float32 arithmetic is enough to recognise the levels (k / 255 * 255 is within 1e-4 of k)
    scaled = X.astype(np.float32 if X.dtype == np.float32 else np.float64) * EXACT_LEVELS
    codes = np.rint(scaled)
    if codes.min() < 0 or codes.max() > EXACT_LEVELS or np.abs(scaled - codes).max() > 1e-3:
        return None
    codes -= 128
    return codes.astype(np.float32, copy=False)


def _times_transpose(a, B):
    """``a @ B.T`` for torch tensors, through NumPy's OpenBLAS on the CPU.

    On the development machine's AMD CPU, OpenBLAS ran these float32 products at 163 GFLOP/s
    and torch's bundled MKL at 136.
    """
    import torch

    if a.device.type == "cpu":
        return torch.from_numpy(a.numpy() @ B.numpy().T)
    return a @ B.T


def _exact_block(ca, Cbt, ca_norms, cb_norms, kernel, bandwidth, diagonal_at=None):
    """Float64 kernel values from centred pixel codes (see :func:`_pixel_codes`), as a new tensor."""
    block = _times_transpose(ca, Cbt).double()  # exact integers
    block.mul_(-2).add_(ca_norms[:, None]).add_(cb_norms[None, :]).mul_(1.0 / EXACT_LEVELS ** 2)
    return _kernel_of_distances(block, kernel, bandwidth, diagonal_at)


def _kernel_of_distances(block, kernel, bandwidth, diagonal_at):
    """Turn a block of squared distances into kernel values, in place."""
    import torch

    if diagonal_at is not None:
        rows = torch.arange(block.shape[0], device=block.device)
        block[rows, rows + diagonal_at] = 0
    if kernel == "gaussian":
        return block.mul_(-1.0 / (2 * bandwidth * bandwidth)).exp_()
    return block.sqrt_().mul_(-1.0 / bandwidth).exp_()


def _block(a, Bt, b_norms, kernel, bandwidth, diagonal_at=None):
    """Kernel values between the rows of tensors ``a`` and ``Bt``, as a new tensor.

    ``diagonal_at=j`` marks that row i of ``a`` is row ``j + i`` of ``Bt``: those distances
    are set to exactly 0 (rounding leaves ~eps*||x||^2 there, which the Laplace kernel's
    square root would amplify).
    """
    block = _times_transpose(a, Bt)  # the one matrix product of the block
    # d2 = ||a||^2 + ||b||^2 - 2 a.b, clipped at 0 against rounding
    block.mul_(-2).add_((a * a).sum(1)[:, None]).add_(b_norms[None, :]).clamp_(min=0)
    return _kernel_of_distances(block, kernel, bandwidth, diagonal_at)


def _check_kernel_args(A, B, kernel, bandwidth, dtype):
    A, B = _check_matrix("A", A), _check_matrix("B", B)
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A and B must have the same number of features; got {A.shape[1]} and {B.shape[1]}.")
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}; got {kernel!r}.")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64; got {dtype}.")
    return A, B, _check_bandwidth(bandwidth), dtype


def kernel_matrix(A, B, kernel, bandwidth, dtype=np.float32, block_rows=BLOCK_ROWS, device="auto", out=None,
                  upper_only=False):
    """Evaluate ``k(a_i, b_j)`` for all rows of ``A`` and ``B``, blockwise.

    Parameters
    ----------
    A : ndarray of shape (n_a, n_features)
    B : ndarray of shape (n_b, n_features)
    kernel : {"gaussian", "laplace"}
        ``exp(-||a - b||^2 / (2 bandwidth^2))`` or ``exp(-||a - b|| / bandwidth)``.
    bandwidth : float
        Positive.
    dtype : {numpy.float32, numpy.float64}
        Precision of the arithmetic and of the result.
    block_rows : int
        Rows of ``A`` per block; peak extra memory is about ``block_rows * n_b`` numbers.
    device : str, default "auto"
        A torch device for the arithmetic (``"cuda"`` when visible under "auto").
    out : ndarray of shape (n_a, n_b) and ``dtype``, optional
        Written in place when given (C-contiguous).
    upper_only : bool, default False
        Only for ``A is B``: compute the blocks that hold the upper triangle (the diagonal
        blocks whole) and leave the rest as it is in ``out`` (zeros when ``out`` is not
        given). Half the work, and all a Cholesky factorization reads.

    Returns
    -------
    ndarray of shape (n_a, n_b)

    Notes
    -----
    Squared distances come from one matrix product, so they carry an absolute rounding
    error of about ``eps * (||a||^2 + ||b||^2)``. That is harmless for the Gaussian kernel;
    for the Laplace kernel the square root magnifies it for nearly identical points, so
    when ``A is B`` the diagonal distance is set to exactly 0.

    A new ``out`` is allocated in 4 KB pages. NumPy asks Linux for 2 MB pages for large
    arrays; one such page holds 8 rows of a 60,000-column float32 matrix, so writing the
    upper triangle would touch every page and occupy all 14.4 GB, where 4 KB pages leave
    the lower triangle unallocated (7.2 GB). The 2 MB pages were also slower to fault in
    on the development machine (the kernel at n = 20,000: 9.0 s against 3.9 s).
    """
    import torch

    same = A is B  # K(X, X): its diagonal distances are exactly 0
    A, B, bandwidth, dtype = _check_kernel_args(A, B, kernel, bandwidth, dtype)
    if upper_only and not same:
        raise ValueError("upper_only=True needs A is B (a symmetric kernel matrix).")
    if out is None:
        # zeros, not empty: with upper_only the untouched pages are never allocated
        out = _zeros_in_small_pages((A.shape[0], B.shape[0]), dtype)
    elif out.shape != (A.shape[0], B.shape[0]) or out.dtype != dtype or not out.flags.c_contiguous:
        raise ValueError(f"out must be C-contiguous {dtype} of shape {(A.shape[0], B.shape[0])}; "
                         f"got {out.dtype} of shape {out.shape}.")
    dev = _device(device)
    Bt = _tensor(B, dtype, dev)
    b_norms = (Bt * Bt).sum(1)
    for start in range(0, A.shape[0], block_rows):
        a = _tensor(A[start:start + block_rows], dtype, dev)
        first = start if upper_only else 0  # columns from the diagonal on
        block = _block(a, Bt[first:], b_norms[first:], kernel, bandwidth,
                       diagonal_at=(start - first) if same else None)
        out[start:start + block.shape[0], first:] = block.cpu().numpy()  # .cpu() is free on the CPU
    return out


def gaussian_kernel(A, B, bandwidth, dtype=np.float32):
    """Gaussian kernel matrix ``exp(-||a_i - b_j||^2 / (2 bandwidth^2))``, shape (n_a, n_b)."""
    return kernel_matrix(A, B, "gaussian", bandwidth, dtype=dtype)


def laplace_kernel(A, B, bandwidth, dtype=np.float32):
    """Laplace kernel matrix ``exp(-||a_i - b_j|| / bandwidth)``, shape (n_a, n_b)."""
    return kernel_matrix(A, B, "laplace", bandwidth, dtype=dtype)


@dataclass(frozen=True)
class FitReport:
    """What a fit did: sizes, precision, accuracy reached and where the time went."""

    n_samples: int
    n_outputs: int
    backend: str
    relative_residual: float
    refinement_steps: int
    train_error: float
    rkhs_norm: float
    kernel_time_s: float
    factor_time_s: float
    refine_time_s: float

    @property
    def total_time_s(self):
        return self.kernel_time_s + self.factor_time_s + self.refine_time_s


class _Factor:
    """The Cholesky factor of ``K + ridge I`` on one backend, and solves with it."""

    def __init__(self, K, backend, device):
        from . import cholesky

        self.backend = backend
        self.large = backend == "scipy" and cholesky.needs_blocking(K.shape[0])
        if self.large:
            # beyond SciPy's 32-bit LAPACK indexing (n > 46,340): factored block by block, in place
            self.factor = K
            info = cholesky.factor_in_place(K)
        elif backend == "scipy":
            from scipy.linalg import lapack

            # K is C-contiguous and holds the upper triangle of a symmetric matrix; K.T is the
            # same matrix in Fortran order with that triangle as its lower one, which
            # spotrf/dpotrf (lower=1) read and factor in place, without a copy.
            factor, info = (lapack.spotrf if K.dtype == np.float32 else lapack.dpotrf)(
                K.T, lower=1, overwrite_a=1, clean=0)
            self.factor = factor
        else:
            import torch

            Kt = torch.as_tensor(K, device=_device(device))
            Kt = torch.triu(Kt) + torch.triu(Kt, 1).T  # K holds its upper triangle only
            self.factor, info_t = torch.linalg.cholesky_ex(Kt)
            info = int(info_t)
        self.info = int(info)

    def solve(self, R):
        """Return ``(K + ridge I)^{-1} R`` in float64; R of shape (n, k)."""
        if self.large:
            from . import cholesky

            return cholesky.solve_in_place_factor(self.factor, R).astype(np.float64)
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


def _kernel_times(X, Z, alpha, kernel, bandwidth, dtype, block_rows, device, z_codes="auto"):
    """``K(X, Z) @ alpha`` without storing K: blocks of K in ``dtype``, products in float64.

    When ``X is Z`` the kernel is symmetric and only the blocks on and right of the diagonal
    are evaluated, each used twice: ``r_i += K_ij alpha_j`` and ``r_j += K_ij^T alpha_i``.
    ``z_codes`` may hold ``_pixel_codes(Z)``, computed once by the caller (a fit calls this
    two or three times with the same Z: 0.3 s a call at n = 20,000).
    """
    import torch

    symmetric = X is Z
    X, Z, bandwidth, dtype = _check_kernel_args(X, Z, kernel, bandwidth, dtype)
    dev = _device(device)
    block_rows = max(1, min(block_rows, (1 << 26) // max(1, Z.shape[0])))  # <= 64M numbers a block
    # float64 on the CPU for 8-bit images: exact distances from a float32 product (the GPU
    # may round float32 products through TF32, so it keeps the float64 path)
    codes_x = codes_z = None
    if dtype == np.float64 and dev.type == "cpu":
        codes_z = _pixel_codes(Z) if isinstance(z_codes, str) else z_codes
        codes_x = codes_z if (symmetric or codes_z is None) else _pixel_codes(X)
    exact = codes_x is not None and codes_z is not None
    if exact:
        Zt = torch.from_numpy(codes_z)
        z_norms = (Zt.double() ** 2).sum(1)
        Xc = torch.from_numpy(codes_x)
        x_norms = z_norms if symmetric else (Xc.double() ** 2).sum(1)
    else:
        Zt = _tensor(Z, dtype, dev)
        z_norms = (Zt * Zt).sum(1)
    # C order: LAPACK's solves return Fortran-ordered arrays, and a transposed block times
    # Fortran-ordered weights runs at half the speed (measured: 16.7 s against 9.3 s at n = 20,000)
    weights = np.ascontiguousarray(alpha, dtype=np.float64)
    on_cpu = dev.type == "cpu"
    if on_cpu:
        # NumPy's OpenBLAS for the thin products: torch's CPU BLAS ran the transposed one
        # (block^T @ weights, 2048 x 20,000 block) at 0.46 s against 0.035 s here
        result = np.zeros((X.shape[0], weights.shape[1]))
    else:
        weights = torch.as_tensor(weights, device=dev)
        result = torch.zeros((X.shape[0], weights.shape[1]), dtype=torch.float64, device=dev)
    for start in range(0, X.shape[0], block_rows):
        stop = min(start + block_rows, X.shape[0])
        first = start if symmetric else 0
        if exact:
            block = _exact_block(Xc[start:stop], Zt[first:], x_norms[start:stop], z_norms[first:], kernel, bandwidth,
                                 diagonal_at=0 if symmetric else None)
        else:
            block = _block(_tensor(X[start:stop], dtype, dev), Zt[first:], z_norms[first:], kernel, bandwidth,
                           diagonal_at=0 if symmetric else None).double()
        if on_cpu:
            block = block.numpy()
        result[start:stop] += block @ weights[first:]
        if symmetric and stop < Z.shape[0]:
            result[stop:] += (weights[start:stop].T @ block[:, stop - start:]).T
    return result if on_cpu else result.cpu().numpy()


class KernelInterpolator(ClassifierMixin, BaseEstimator):
    """Kernel "ridgeless" regression on one-hot labels: zero training error by construction.

    Parameters
    ----------
    kernel : {"gaussian", "laplace"}, default "gaussian"
    bandwidth : float, default 5.0
        ``s`` in ``exp(-||x - z||^2 / (2 s^2))`` or ``exp(-||x - z|| / s)``; for MNIST pixels
        in [0, 1] the median distance between images is about 10.
    ridge : float, default 0.0
        Adds ``ridge * I`` to the kernel matrix; 0 interpolates.
    dtype : {"float32", "float64"}, default "float32"
        Precision of the stored kernel matrix and its factor. Refinement always computes
        residuals in float64.
    tol : float, default 1e-6
        Target relative residual ``||Y - (K + ridge I) alpha|| / ||Y||``.
    max_refinements : int, default 5
    block_rows : int, default 2048
    backend : {"auto", "scipy", "torch"}, default "auto"
        "auto" is torch on a visible GPU and SciPy's in-place LAPACK otherwise.
    device : str, default "auto"
        Torch device for kernel evaluation (and the torch backend).
    predict_dtype : {"float64", "float32"}, default "float64"
        Precision of the kernel values in :meth:`decision_function`. The weights of an
        interpolant are large and of both signs, so float32 costs about 1e-5 of relative
        accuracy in the scores: enough to classify (the argmax), at under half the time.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    X_fit_ : ndarray of shape (n_samples, n_features), in ``dtype``
    dual_coef_ : ndarray of shape (n_samples, n_classes), float64
    fit_report_ : FitReport
    """

    def __init__(self, kernel="gaussian", bandwidth=5.0, ridge=0.0, dtype="float32", tol=1e-6,
                 max_refinements=5, block_rows=BLOCK_ROWS, backend="auto", device="auto", predict_dtype="float64"):
        self.kernel = kernel
        self.bandwidth = bandwidth
        self.ridge = ridge
        self.dtype = dtype
        self.tol = tol
        self.max_refinements = max_refinements
        self.block_rows = block_rows
        self.backend = backend
        self.device = device
        self.predict_dtype = predict_dtype

    def _validate(self):
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}; got {self.kernel!r}.")
        _check_bandwidth(self.bandwidth)
        if isinstance(self.ridge, bool) or not np.isscalar(self.ridge) or not self.ridge >= 0:
            raise ValueError(f"ridge must be a non-negative number; got {self.ridge!r}.")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64'; got {self.dtype!r}.")
        if self.predict_dtype not in ("float32", "float64"):
            raise ValueError(f"predict_dtype must be 'float32' or 'float64'; got {self.predict_dtype!r}.")
        if self.backend not in ("auto", "scipy", "torch"):
            raise ValueError(f"backend must be 'auto', 'scipy' or 'torch'; got {self.backend!r}.")
        if self.backend == "auto":
            return "torch" if _device(self.device).type == "cuda" else "scipy"
        return self.backend

    def fit(self, X, y):
        """Solve ``(K + ridge I) alpha = onehot(y)``; y holds integer (or any hashable) labels."""
        backend = self._validate()
        X = _check_matrix("X", X)
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"y must be 1-D with one label per row of X ({X.shape[0]}); got shape {y.shape}.")
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y must hold at least 2 classes; got {len(self.classes_)}.")
        Y = np.eye(len(self.classes_))[codes]
        dtype = np.dtype(self.dtype)
        self.X_fit_ = np.ascontiguousarray(X, dtype=dtype)  # inputs in the fit's precision
        args = dict(kernel=self.kernel, bandwidth=self.bandwidth, block_rows=self.block_rows, device=self.device)
        # the exact float64 path's integer codes of the training images, found once (None: not 8-bit)
        self._fit_codes = _pixel_codes(self.X_fit_) if _device(self.device).type == "cpu" else None

        start = time.perf_counter()
        K = kernel_matrix(self.X_fit_, self.X_fit_, dtype=dtype, upper_only=True, **args)
        K[np.diag_indices_from(K)] += dtype.type(self.ridge)
        kernel_time = time.perf_counter() - start

        start = time.perf_counter()
        factor = _Factor(K, backend, self.device)
        del K  # on the scipy backend the factor now occupies its memory
        if factor.info != 0:
            raise np.linalg.LinAlgError(
                f"The {self.kernel} kernel matrix (n={X.shape[0]}, bandwidth={self.bandwidth}) is not "
                f"numerically positive definite in {self.dtype} (Cholesky failed at column {factor.info}). "
                "Use dtype='float64', a larger bandwidth for the Laplace kernel or a smaller one for the "
                "Gaussian, a small ridge, or remove duplicate rows.")
        alpha = factor.solve(Y)
        factor_time = time.perf_counter() - start

        # Iterative refinement: residual in float64 from recomputed float64 kernel blocks.
        start = time.perf_counter()
        norm_Y = np.linalg.norm(Y)
        steps, history = 0, []
        while True:
            K_alpha = _kernel_times(self.X_fit_, self.X_fit_, alpha, dtype=np.float64, z_codes=self._fit_codes, **args)
            residual = Y - K_alpha - self.ridge * alpha
            history.append(np.linalg.norm(residual) / norm_Y)
            stalled = len(history) > 1 and history[-1] > 0.5 * history[-2]
            if history[-1] <= self.tol or steps >= self.max_refinements or stalled:
                break
            alpha = alpha + factor.solve(residual)
            steps += 1
        refine_time = time.perf_counter() - start
        if history[-1] > self.tol:
            warnings.warn(
                f"KernelInterpolator reached a relative residual of {history[-1]:.1e}, above tol={self.tol:g}, "
                f"after {steps} refinement steps (history {', '.join(f'{h:.1e}' for h in history)}): the kernel "
                f"matrix is too ill-conditioned for {self.dtype}. Use dtype='float64' or a ridge.",
                ConditioningWarning, stacklevel=2)
        train_error = float(np.mean(K_alpha.argmax(1) != codes))  # K alpha: the fit on the training set
        self.dual_coef_ = alpha
        self.fit_report_ = FitReport(
            n_samples=X.shape[0], n_outputs=Y.shape[1], backend=backend,
            relative_residual=float(history[-1]), refinement_steps=steps, train_error=train_error,
            # ||f||^2 = trace(alpha^T K alpha), with K alpha in float64 from the last residual
            rkhs_norm=float(np.sqrt(np.sum(alpha * K_alpha))),
            kernel_time_s=kernel_time, factor_time_s=factor_time, refine_time_s=refine_time)
        return self

    def decision_function(self, X):
        """``K(X, X_fit) @ dual_coef_``: one score per class, shape (n, n_classes), float64."""
        if not hasattr(self, "dual_coef_"):
            raise ValueError("this KernelInterpolator is not fitted yet; call fit(X, y) first.")
        X = _check_matrix("X", X)
        if X.shape[1] != self.X_fit_.shape[1]:
            raise ValueError(f"X must have {self.X_fit_.shape[1]} features, as in fit; got {X.shape[1]}.")
        return _kernel_times(np.ascontiguousarray(X, dtype=self.X_fit_.dtype), self.X_fit_, self.dual_coef_,
                             kernel=self.kernel, bandwidth=self.bandwidth, dtype=np.dtype(self.predict_dtype),
                             block_rows=self.block_rows, device=self.device,
                             z_codes=self._fit_codes)

    def predict(self, X):
        """The class with the largest score, shape (n,)."""
        scores = self.decision_function(X)  # raises first if not fitted
        return self.classes_[scores.argmax(1)]


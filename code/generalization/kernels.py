"""Gaussian and Laplace kernels, evaluated fast and exactly enough to interpolate with them.

* :func:`kernel_matrix` evaluates ``k(a_i, b_j)`` blockwise (``block_rows`` rows at a time)
  with one matrix product per block, ``||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b``, and the
  nonlinearity applied in place: peak memory is the output plus one block. For a symmetric
  ``K(X, X)`` it can fill the upper triangle alone, all a Cholesky factorization reads.
* :func:`kernel_times` computes ``K(X, Z) @ alpha`` without storing ``K``. For 8-bit images
  (pixels ``k / 255``) its float64 kernel values come from one *exact* float32 product of
  integer pixel codes (:func:`pixel_codes`), at float32 speed.
* With a CUDA device visible, torch does the arithmetic on the GPU (``device="auto"``).

The interpolating machine built on these is
:class:`generalization.kernel_solver.KernelInterpolator`.

References
----------
Zhang, Bengio, Hardt, Recht, Vinyals (2017), *Understanding deep learning requires
rethinking generalization*, ICLR, section 5.
Belkin, Ma, Mandal (2018), *To understand deep learning we need to understand kernel
learning*, ICML.
"""

from __future__ import annotations

import numpy as np

from . import checks

KERNELS = ("gaussian", "laplace")
BLOCK_ROWS = 2048


def torch_device(device):
    """The torch device for ``device``: ``"auto"`` (or None) is CUDA when visible, else the CPU."""
    import torch

    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        dev = None
    if dev is None or (dev.type == "cuda" and not torch.cuda.is_available()):
        raise ValueError(
            f"device must be 'auto', None or an available torch device ('cpu', 'cuda'); got "
            f"{device!r}."
        )
    return dev


def _tensor(array, dtype, device):
    """A torch view of ``array`` in ``dtype`` (a copy when a cast or read-only memory needs one)."""
    import torch

    array = np.ascontiguousarray(array, dtype=dtype)
    if not array.flags.writeable:  # torch refuses read-only memory (e.g. the shared MNIST arrays)
        array = array.copy()
    return torch.as_tensor(array, device=device)


EXACT_LEVELS = 255  # 8-bit images scaled to [0, 1]: pixel = k / 255, k in 0..255
EXACT_MAX_FEATURES = (
    1023  # centred codes |k - 128| <= 128: d * 128^2 < 2^24 keeps float32 sums exact
)


def _zeros_in_small_pages(shape, dtype):
    """``np.zeros`` without NumPy's ``madvise`` call for 2 MB pages; see :func:`kernel_matrix`."""
    from numpy._core import multiarray

    previous = multiarray._set_madvise_hugepage(False)
    try:
        return np.zeros(shape, dtype=dtype)
    finally:
        multiarray._set_madvise_hugepage(previous)


def pixel_codes(X):
    """Centred integer codes ``k - 128`` (float32) when every entry of X is ``k / 255``, else None.

    For such data a float32 matrix product of the codes is *exact*: every product is an
    integer of size at most 128^2 and every partial sum of at most 1023 of them stays below
    2^24, where float32 still represents all integers, whatever order the BLAS adds them
    in. Squared distances ``||a - b||^2 = ||c_a - c_b||^2 / 255^2`` then follow exactly
    from one float32 product, at float32 speed, instead of a float64 product at half the
    speed or less.
    """
    X = checks.array("X", X, ndim=2, dtype=None)
    if X.shape[1] > EXACT_MAX_FEATURES:
        return None
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
    """Float64 kernel values from centred pixel codes (see :func:`pixel_codes`), as a new tensor."""
    block = _times_transpose(ca, Cbt).double()  # exact integers
    block.mul_(-2).add_(ca_norms[:, None]).add_(cb_norms[None, :]).mul_(1.0 / EXACT_LEVELS**2)
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
    A = checks.array("A", A, ndim=2, nonempty=False, dtype=None)
    B = checks.array("B", B, ndim=2, nonempty=False, dtype=None)
    if A.shape[1] != B.shape[1]:
        raise ValueError(
            f"A and B must have the same number of features; got {A.shape[1]} and {B.shape[1]}."
        )
    checks.choice("kernel", kernel, KERNELS)
    dtype = np.dtype(checks.choice("dtype", np.dtype(dtype).name, ("float32", "float64")))
    return A, B, checks.positive("bandwidth", bandwidth), dtype


def kernel_matrix(
    A,
    B,
    kernel,
    bandwidth,
    dtype=np.float32,
    block_rows=BLOCK_ROWS,
    device="auto",
    out=None,
    upper_only=False,
):
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

    same = A is B  # K(X, X): its diagonal distances are exactly 0
    A, B, bandwidth, dtype = _check_kernel_args(A, B, kernel, bandwidth, dtype)
    block_rows = checks.count("block_rows", block_rows)
    if upper_only and not same:
        raise ValueError("upper_only=True needs A is B (a symmetric kernel matrix).")
    if out is None:
        # zeros, not empty: with upper_only the untouched pages are never allocated
        out = _zeros_in_small_pages((A.shape[0], B.shape[0]), dtype)
    elif out.shape != (A.shape[0], B.shape[0]) or out.dtype != dtype or not out.flags.c_contiguous:
        raise ValueError(
            f"out must be C-contiguous {dtype} of shape {(A.shape[0], B.shape[0])}; "
            f"got {out.dtype} of shape {out.shape}."
        )
    dev = torch_device(device)
    Bt = _tensor(B, dtype, dev)
    b_norms = (Bt * Bt).sum(1)
    for start in range(0, A.shape[0], block_rows):
        a = _tensor(A[start : start + block_rows], dtype, dev)
        first = start if upper_only else 0  # columns from the diagonal on
        block = _block(
            a,
            Bt[first:],
            b_norms[first:],
            kernel,
            bandwidth,
            diagonal_at=(start - first) if same else None,
        )
        out[start : start + block.shape[0], first:] = (
            block.cpu().numpy()
        )  # .cpu() is free on the CPU
    return out


def gaussian_kernel(A, B, bandwidth, dtype=np.float32):
    """Gaussian kernel matrix ``exp(-||a_i - b_j||^2 / (2 bandwidth^2))``, shape (n_a, n_b)."""
    return kernel_matrix(A, B, "gaussian", bandwidth, dtype=dtype)


def laplace_kernel(A, B, bandwidth, dtype=np.float32):
    """Laplace kernel matrix ``exp(-||a_i - b_j|| / bandwidth)``, shape (n_a, n_b)."""
    return kernel_matrix(A, B, "laplace", bandwidth, dtype=dtype)


def kernel_times(X, Z, alpha, kernel, bandwidth, dtype, block_rows, device, z_codes="auto"):
    """``K(X, Z) @ alpha`` without storing K: blocks of K in ``dtype``, products in float64.

    When ``X is Z`` the kernel is symmetric and only the blocks on and right of the diagonal
    are evaluated, each used twice: ``r_i += K_ij alpha_j`` and ``r_j += K_ij^T alpha_i``.
    ``z_codes`` may hold ``pixel_codes(Z)``, computed once by the caller (a fit calls this
    two or three times with the same Z: 0.3 s a call at n = 20,000).
    """
    import torch

    symmetric = X is Z
    X, Z, bandwidth, dtype = _check_kernel_args(X, Z, kernel, bandwidth, dtype)
    alpha = checks.array("alpha", alpha, ndim=2, finite=False, dtype=None)  # NaN in, NaN out
    if alpha.shape[0] != Z.shape[0]:
        raise ValueError(f"alpha must have {Z.shape[0]} rows, one per row of Z; got {alpha.shape}.")
    block_rows = checks.count("block_rows", block_rows)
    dev = torch_device(device)
    block_rows = max(1, min(block_rows, (1 << 26) // max(1, Z.shape[0])))  # <= 64M numbers a block
    # float64 on the CPU for 8-bit images: exact distances from a float32 product (the GPU
    # may round float32 products through TF32, so it keeps the float64 path)
    codes_x = codes_z = None
    if dtype == np.float64 and dev.type == "cpu":
        codes_z = pixel_codes(Z) if isinstance(z_codes, str) else z_codes
        codes_x = codes_z if (symmetric or codes_z is None) else pixel_codes(X)
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
            block = _exact_block(
                Xc[start:stop],
                Zt[first:],
                x_norms[start:stop],
                z_norms[first:],
                kernel,
                bandwidth,
                diagonal_at=0 if symmetric else None,
            )
        else:
            block = _block(
                _tensor(X[start:stop], dtype, dev),
                Zt[first:],
                z_norms[first:],
                kernel,
                bandwidth,
                diagonal_at=0 if symmetric else None,
            ).double()
        if on_cpu:
            block = block.numpy()
        result[start:stop] += block @ weights[first:]
        if symmetric and stop < Z.shape[0]:
            result[stop:] += (weights[start:stop].T @ block[:, stop - start :]).T
    return result if on_cpu else result.cpu().numpy()

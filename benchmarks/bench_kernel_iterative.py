"""Benchmark: would an iterative solver beat the direct one? Preconditioned CG on an MNIST kernel.

Usage::

    .venv/bin/python benchmarks/bench_kernel_iterative.py              # n = 20,000
    .venv/bin/python benchmarks/bench_kernel_iterative.py --n 5000 --landmarks 1000

The issue behind ``KernelInterpolator`` allowed either a direct solver (Cholesky with
refinement, what the package does) or a preconditioned iterative one, EigenPro-style. This
script measures the iterative route on the problem of ``bench_kernels.py`` (Gaussian kernel,
bandwidth 5, one-hot labels of a random MNIST subset) with conjugate gradients on all ten
right-hand sides at once and two preconditioners:

* ``nystrom``: the rank-l Nystroem approximation ``U diag(lam) U^T`` of K from ``l`` random
  landmarks, inverted on its range and scaled by its smallest eigenvalue (Frangella, Tropp,
  Udell 2023). It flattens the top of the spectrum, which is what EigenPro's preconditioner
  does for gradient descent (Ma and Belkin 2017).
* ``block-jacobi``: exact Cholesky factors of ``blocks`` diagonal blocks of K, the points
  sorted by label so that most near-duplicates share a block.

For each it prints the iterations and seconds to relative residuals 1e-2 ... 1e-6 and, as
the iterative route's best case, iterations times the time of one float32 product ``K V``
(one pass over the matrix at memory speed), next to the direct fit's time on the same data.
The iterations here run in float64 on a float64 copy of K, so the counts are those of exact
arithmetic.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.linalg as sl

BANDWIDTH = 5.0
LEVELS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6)


def nystrom_preconditioner(K, landmarks, seed=0):
    """``R -> P^-1 R`` for the Nystroem preconditioner of K from ``landmarks`` random columns."""
    n = K.shape[0]
    S = np.sort(np.random.default_rng(seed).choice(n, landmarks, replace=False))
    C = K[:, S]
    W = C[S]
    shift = 1e-10 * np.trace(W)  # keeps the small Cholesky factor finite
    L = np.linalg.cholesky(W + shift * np.eye(landmarks))
    B = sl.solve_triangular(L, C.T, lower=True).T  # B B^T = C W^-1 C^T
    lam, V = np.linalg.eigh(B.T @ B)
    keep = lam > 1e-12 * lam.max()
    lam, V = lam[keep], V[:, keep]
    U = B @ V / np.sqrt(lam)
    lam = np.maximum(lam - shift, 1e-300)
    smallest = lam.min()
    return lambda R: R + U @ ((smallest / lam - 1)[:, None] * (U.T @ R))


def block_jacobi_preconditioner(K, blocks):
    """``R -> P^-1 R`` with P the block diagonal of K in ``blocks`` equal consecutive blocks."""
    edges = np.linspace(0, K.shape[0], blocks + 1).astype(int)
    factors = [sl.cho_factor(K[a:b, a:b], lower=True) for a, b in zip(edges[:-1], edges[1:])]
    return lambda R: np.vstack(
        [sl.cho_solve(f, R[a:b]) for f, a, b in zip(factors, edges[:-1], edges[1:])]
    )


def conjugate_gradients(K, Y, precondition, levels=LEVELS, max_iterations=2000):
    """Block CG (independent columns) from 0; returns {level: (iterations, seconds)} reached."""
    start = time.perf_counter()
    X = np.zeros_like(Y)
    R = Y.copy()
    Z = precondition(R)
    P = Z.copy()
    rz = (R * Z).sum(0)
    norm_Y = np.linalg.norm(Y)
    reached = {}
    for iteration in range(1, max_iterations + 1):
        KP = K @ P
        step = rz / (P * KP).sum(0)
        X += step * P
        R -= step * KP
        relative = np.linalg.norm(R) / norm_Y
        for level in levels:
            if relative <= level and level not in reached:
                reached[level] = (iteration, time.perf_counter() - start)
        if relative <= min(levels):
            break
        Z = precondition(R)
        rz_new = (R * Z).sum(0)
        P = Z + (rz_new / rz) * P
        rz = rz_new
    return reached


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--landmarks", type=int, default=2000)
    parser.add_argument("--blocks", type=int, default=3)
    args = parser.parse_args()

    import torch  # noqa: F401  (imported before any timing)

    from generalization.data import load_mnist, subsample
    from generalization.kernel_solver import KernelInterpolator
    from generalization.kernels import kernel_matrix

    mnist = load_mnist()
    X, y = subsample(mnist.X_train, mnist.y_train, args.n, seed=0)
    order = np.argsort(y, kind="stable")  # by label: the blocks of block-Jacobi
    X, y = np.ascontiguousarray(X[order]), y[order]
    Y = np.eye(10)[y]

    start = time.perf_counter()
    direct = KernelInterpolator(kernel="gaussian", bandwidth=BANDWIDTH).fit(X, y)
    direct_s = time.perf_counter() - start
    print(
        f"n = {args.n:,}: direct fit (KernelInterpolator) {direct_s:.1f} s, "
        f"relative residual {direct.fit_report_.relative_residual:.1e}"
    )

    K32 = kernel_matrix(X, X, "gaussian", BANDWIDTH)
    V = np.random.default_rng(0).standard_normal((args.n, 10)).astype(np.float32)
    out = np.empty_like(V)

    def product(K):  # 1,024 rows at a time: twice as fast here as one call on the whole matrix
        for row in range(0, args.n, 1024):
            np.dot(K[row : row + 1024], V, out=out[row : row + 1024])

    product(K32)
    start = time.perf_counter()
    for _ in range(3):
        product(K32)
    product_s = (time.perf_counter() - start) / 3
    del K32
    print(f"one float32 product K V (10 columns): {product_s:.3f} s\n")
    K = kernel_matrix(X, X, "gaussian", BANDWIDTH, dtype=np.float64)

    header = f"{'preconditioner':>22} | {'setup s':>7} | " + " | ".join(
        f"{f'to {lv:.0e}':>19}" for lv in LEVELS
    )
    print(header)
    print(" " * 35 + " | ".join(f"{'iter / s / best s':>19}" for _ in LEVELS))
    print("-" * len(header))
    for name, build in (
        (f"nystrom, l = {args.landmarks:,}", lambda: nystrom_preconditioner(K, args.landmarks)),
        (
            f"block-jacobi, {args.blocks} blocks",
            lambda: block_jacobi_preconditioner(K, args.blocks),
        ),
    ):
        start = time.perf_counter()
        precondition = build()
        setup = time.perf_counter() - start
        reached = conjugate_gradients(K, Y, precondition)
        cells = []
        for level in LEVELS:
            if level in reached:
                iterations, seconds = reached[level]
                cells.append(
                    f"{iterations:>4} / {seconds:5.1f} / {setup + iterations * product_s:5.1f}"
                )
            else:
                cells.append(f"{'not reached':>19}")
        print(f"{name:>22} | {setup:7.1f} | " + " | ".join(cells))
    print(
        "\nbest s: setup + iterations x one float32 product, the iterative route's floor on this "
        "machine"
    )


if __name__ == "__main__":
    main()

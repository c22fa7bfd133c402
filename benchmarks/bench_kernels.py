"""Benchmark: our KernelInterpolator against scikit-learn's KernelRidge on MNIST subsets.

Usage::

    .venv/bin/python benchmarks/bench_kernels.py                 # n = 5,000, 10,000, 20,000
    .venv/bin/python benchmarks/bench_kernels.py --full          # also all 60,000 (ours, and
                                                                  # KernelRidge under a 22 GB cap)
    .venv/bin/python benchmarks/bench_kernels.py --sizes 2000    # any sizes

Each fit runs in its own process, so its peak resident memory (``ru_maxrss``) is its own.
Both fit the same Gaussian kernel (bandwidth 5) to the same one-hot labels with the same
ridge (0 unless KernelRidge needs one; KernelRidge gets the pixels in float64, so that it
computes the exact kernel rather than a float32 one), and predict the same 2,000 test
images. The script reports wall time, peak memory, their ratios, the largest relative
difference of the predictions, and the GFLOP/s of our Cholesky factorization next to this
machine's float32 matrix-multiply rate measured in the same run. Results are also written to
``_build/bench/kernels.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BANDWIDTH = 5.0
N_TEST = 2000


def _data(n):
    from generalization.data import load_mnist, subsample

    mnist = load_mnist()
    if n == 60000:
        X, y = mnist.X_train, mnist.y_train
    else:
        X, y = subsample(mnist.X_train, mnist.y_train, n, seed=0)
    return X, y, mnist.X_test[:N_TEST]


def child(which, n, ridge, out_path, tol=1e-6):
    """Fit one solver in this process; write its predictions and timings to out_path."""
    X, y, X_test = _data(n)
    # imports are not timed, on either side (torch alone takes about 1.5 s to import)
    if which == "ours":
        import torch  # noqa: F401  (the package imports it lazily, inside the first kernel call)

        from generalization.kernel_solver import KernelInterpolator
    else:
        from sklearn.kernel_ridge import KernelRidge

        X64, Y = X.astype(np.float64), np.eye(10)[y]
    start = time.perf_counter()
    if which == "ours":
        model = KernelInterpolator(
            kernel="gaussian", bandwidth=BANDWIDTH, ridge=ridge, tol=tol
        ).fit(X, y)
        fit_time = time.perf_counter() - start
        scores = model.decision_function(X_test)
        report = model.fit_report_
        extra = dict(
            factor_time_s=report.factor_time_s,
            kernel_time_s=report.kernel_time_s,
            refine_time_s=report.refine_time_s,
            relative_residual=report.relative_residual,
            train_error=report.train_error,
            refinement_steps=report.refinement_steps,
        )
    else:
        import warnings

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # float64 input: scikit-learn keeps float32 input in float32 for the kernel, which
            # costs it about 3e-6 of relative accuracy; in float64 both sides compute the exact
            # kernel (the pixels k/255 convert exactly), so the comparison is of the solvers.
            model = KernelRidge(alpha=ridge, kernel="rbf", gamma=1 / (2 * BANDWIDTH**2)).fit(X64, Y)
        fit_time = time.perf_counter() - start
        scores = model.predict(X_test.astype(np.float64))
        extra = dict(warnings=[str(w.message) for w in caught])
    np.save(out_path + ".npy", scores)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    Path(out_path + ".json").write_text(
        json.dumps(dict(fit_time_s=fit_time, peak_gb=peak_gb, **extra))
    )


def run_child(which, n, ridge, memory_cap_gb=None, tol=1e-6):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result")
        cap = None
        if memory_cap_gb:
            cap = int(memory_cap_gb * 1e9)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--child", which, str(n), repr(ridge), out, repr(tol)],
            capture_output=True,
            text=True,
            preexec_fn=(lambda: resource.setrlimit(resource.RLIMIT_AS, (cap, cap)))
            if cap
            else None,
        )
        wall = time.perf_counter() - start
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            return dict(failed=True, error=last, wall_s=wall)
        result = json.loads(Path(out + ".json").read_text())
        result["scores"] = np.load(out + ".npy")
        result["wall_s"] = wall
        return result


def gemm_gflops(library):
    """float32 GFLOP/s of a 4000^3 matrix product with torch (its MKL) or NumPy (its OpenBLAS)."""
    import torch

    a = (
        torch.randn(4000, 4000)
        if library == "torch"
        else np.random.default_rng(0).standard_normal((4000, 4000), dtype=np.float32)
    )
    a @ a
    start = time.perf_counter()
    for _ in range(5):
        a @ a
    return 5 * 2 * 4000**3 / (time.perf_counter() - start) / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[5000, 10000, 20000])
    parser.add_argument("--full", action="store_true", help="also n = 60,000")
    parser.add_argument("--ridge", type=float, default=0.0)
    parser.add_argument(
        "--tol", type=float, default=1e-6, help="refinement tolerance of our solver"
    )
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        which, n, ridge, out, tol = args.child
        child(which, int(n), float(ridge), out, float(tol))
        return
    import torch

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), numpy {np.__version__}"
    )
    peak = gemm_gflops("numpy")
    print(
        f"float32 matrix multiply (4000^3): {peak:.0f} GFLOP/s with NumPy's OpenBLAS (which our "
        "Cholesky "
        f"uses), {gemm_gflops('torch'):.0f} with torch; refinement tol {args.tol:g}\n"
    )
    rows = []
    header = (
        f"{'n':>7} | {'ours s':>7} | {'KR s':>7} | {'speed-up':>8} | {'ours GB':>7} | "
        f"{'KR GB':>6} | "
        f"{'mem ratio':>9} | {'max rel diff':>12} | {'chol GFLOP/s':>12} | residual"
    )
    print(header)
    print("-" * len(header))
    sizes = list(args.sizes) + ([60000] if args.full else [])
    for n in sizes:
        ours = run_child("ours", n, args.ridge, tol=args.tol)
        theirs = run_child("sklearn", n, args.ridge, memory_cap_gb=22 if n >= 40000 else None)
        row = dict(
            n=n,
            ours={k: v for k, v in ours.items() if k != "scores"},
            sklearn={k: v for k, v in theirs.items() if k != "scores"},
            gemm_gflops=peak,
        )
        if ours.get("failed"):
            print(f"{n:>7} | ours failed: {ours['error']}")
            rows.append(row)
            continue
        chol = n**3 / 3 / ours["factor_time_s"] / 1e9
        row["chol_gflops"] = chol
        if theirs.get("failed"):
            print(
                f"{n:>7} | {ours['fit_time_s']:7.1f} | {'failed':>7} | {'':>8} | "
                f"{ours['peak_gb']:7.2f} | "
                f"{'':>6} | {'':>9} | {'':>12} | {chol:12.0f} | {ours['relative_residual']:.1e}"
            )
            print(f"          KernelRidge: {theirs['error']}")
        else:
            diff = np.abs(ours["scores"] - theirs["scores"]).max() / np.abs(theirs["scores"]).max()
            row.update(
                speedup=theirs["fit_time_s"] / ours["fit_time_s"],
                memory_ratio=ours["peak_gb"] / theirs["peak_gb"],
                max_rel_diff=float(diff),
            )
            print(
                f"{n:>7} | {ours['fit_time_s']:7.1f} | {theirs['fit_time_s']:7.1f} | "
                f"{row['speedup']:7.2f}x | "
                f"{ours['peak_gb']:7.2f} | {theirs['peak_gb']:6.2f} | {row['memory_ratio']:9.2f} | "
                f"{diff:12.1e} | {chol:12.0f} | {ours['relative_residual']:.1e}"
            )
            if theirs.get("warnings"):
                print(f"          KernelRidge warned: {theirs['warnings'][0][:100]}")
        print(
            f"          ours: kernel {ours['kernel_time_s']:.1f} s, Cholesky "
            f"{ours['factor_time_s']:.1f} s, "
            f"{ours['refinement_steps']} refinement step(s) and residuals "
            f"{ours['refine_time_s']:.1f} s, "
            f"training error {ours['train_error']:g}"
        )
        rows.append(row)
    out = ROOT / "_build" / "bench" / "kernels.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    print(f"\nresults written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

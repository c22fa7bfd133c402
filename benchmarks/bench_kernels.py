"""Benchmark: our KernelInterpolator (direct and iterative) against scikit-learn's KernelRidge.

Usage::

    .venv/bin/python benchmarks/bench_kernels.py                 # n = 5,000, 10,000, 20,000
    .venv/bin/python benchmarks/bench_kernels.py --full          # also all 60,000 images
    .venv/bin/python benchmarks/bench_kernels.py --sizes 2000    # any sizes
    .venv/bin/python benchmarks/bench_kernels.py --sizes --full  # only all 60,000

At each size: our direct solve, our iterative solve (EigenPro, ``solver="iterative"``) and
KernelRidge, as ratios. With ``--full``, all 60,000 training images with the iterative solver
for the Gaussian kernel (bandwidth 5) and the Laplace kernel (bandwidth 10), tested on all
10,000 test images, beside the direct solve's test errors recorded at full scale
(``results/full/part2/kernel_mnist.json`` at commit :data:`DIRECT_RECORD`, read with git) and
the paper's (Belkin, Ma, Mandal 2018, Table 3); add ``--direct-full`` to run the direct
solves too (about ten minutes each), and KernelRidge under a 22 GB cap. The machine's memory
bandwidth (a streaming float32 read) is measured in the same run, so a pass of the iterative
solver can be set against it.

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
FULL_KERNELS = {"gaussian": 5.0, "laplace": 10.0}
PAPER_TABLE3 = {"gaussian": 1.24, "laplace": 1.57}  # test error (%), all of MNIST
DIRECT_RECORD = "73669afee5282523ea0b426ad0ba3e72fa82ff19"
"""The commit whose results/full/part2/kernel_mnist.json holds direct solves of all 60,000."""


def recorded_direct_errors():
    """Test errors (%) of the direct solves of all 60,000 images, from the recorded file."""
    try:
        text = subprocess.run(
            ["git", "show", f"{DIRECT_RECORD}:results/full/part2/kernel_mnist.json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    results = json.loads(text)["results"]
    return {k: 100 * results[k]["test_error"][0][-1][0] for k in FULL_KERNELS}


def _data(n, n_test=N_TEST):
    from generalization.data import load_mnist, subsample

    mnist = load_mnist()
    if n == 60000:
        X, y = mnist.X_train, mnist.y_train
    else:
        X, y = subsample(mnist.X_train, mnist.y_train, n, seed=0)
    return X, y, mnist.X_test[:n_test], mnist.y_test[:n_test]


def child(which, n, ridge, out_path, tol=1e-6, kernel="gaussian", bandwidth=BANDWIDTH):
    """Fit one solver in this process; write its predictions and timings to out_path.

    ``which``: "ours" (direct), "iterative" or "sklearn". All 60,000 images are tested on
    all 10,000 test images, other sizes on the first :data:`N_TEST`."""
    X, y, X_test, y_test = _data(n, 10000 if n == 60000 else N_TEST)
    # imports are not timed, on either side (torch alone takes about 1.5 s to import)
    if which in ("ours", "iterative"):
        import torch  # noqa: F401  (the package imports it lazily, inside the first kernel call)

        from generalization.kernel_solver import KernelInterpolator
    else:
        from sklearn.kernel_ridge import KernelRidge

        X64, Y = X.astype(np.float64), np.eye(10)[y]
    start = time.perf_counter()
    if which in ("ours", "iterative"):
        model = KernelInterpolator(
            kernel=kernel,
            bandwidth=bandwidth,
            ridge=ridge,
            tol=tol,
            solver="direct" if which == "ours" else "iterative",
            # the direct solve's scores are compared with KernelRidge's to 1e-7: float64
            predict_dtype="float64" if which == "ours" else "float32",
        ).fit(X, y)
        fit_time = time.perf_counter() - start
        scores = model.decision_function(X_test)
        report = model.fit_report_
        c = report.convergence
        extra = dict(
            epochs=report.epochs,
            epoch_time_s=None if c is None else c.epoch_time_s,
            batch_size=None if c is None else c.batch_size,
            converged=None if c is None else c.converged,
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
    extra["test_error"] = float(np.mean(scores.argmax(1) != y_test))
    np.save(out_path + ".npy", scores)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    Path(out_path + ".json").write_text(
        json.dumps(dict(fit_time_s=fit_time, peak_gb=peak_gb, **extra))
    )


def run_child(which, n, ridge, memory_cap_gb=None, tol=1e-6, kernel="gaussian", bw=BANDWIDTH):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result")
        cap = None
        if memory_cap_gb:
            cap = int(memory_cap_gb * 1e9)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--child", which, str(n), repr(ridge), out, repr(tol)]
            + ["--kernel", kernel, "--bandwidth", repr(bw)],
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


def memory_bandwidth():
    """GB/s of a streaming read: the sum of a 2 GB float32 array (best of three), measured in
    a child process so that the array does not count in the fits' peak memory (a child
    inherits its parent's resident size at fork as its starting peak)."""
    done = subprocess.run(
        [sys.executable, __file__, "--probe-bandwidth"], capture_output=True, text=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def _probe_bandwidth():
    a = np.ones(500_000_000, dtype=np.float32)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        a.sum(dtype=np.float32)
        best = min(best, time.perf_counter() - start)
    return a.nbytes / best / 1e9


def iterative_line(result):
    """One line on an iterative fit: passes, time per pass, batch."""
    times = result.get("epoch_time_s") or [float("nan")]
    return (
        f"{result['epochs']} passes of {np.median(times):.2f} s (batch {result['batch_size']}), "
        f"kernel {result['kernel_time_s']:.1f} s, preconditioner {result['factor_time_s']:.1f} s, "
        f"training error {result['train_error']:g}, residual {result['relative_residual']:.2f}"
    )


def full_iterative(rows, bandwidth_gbs, direct_too):
    """All 60,000 images, both kernels, iterative (and direct when asked)."""
    direct_recorded = recorded_direct_errors()
    n = 60000
    triangle_gb = 4 * n * (n + 1) / 2 / 1e9
    print(
        f"\nAll {n:,} training images, iterative solver, tested on all 10,000 test images "
        f"(direct: recorded at {DIRECT_RECORD[:7]} unless --direct-full)"
    )
    header = (
        f"{'kernel':>9} | {'fit s':>6} | {'peak GB':>7} | {'passes':>6} | {'s/pass':>6} | "
        f"{'pass GB/s':>9} | {'test %':>6} | {'direct %':>8} | {'paper %':>7}"
    )
    print(header)
    print("-" * len(header))
    for kernel, bw in FULL_KERNELS.items():
        ours = run_child("iterative", n, 0.0, kernel=kernel, bw=bw)
        row = dict(
            n=n,
            kernel=kernel,
            bandwidth=bw,
            iterative={k: v for k, v in ours.items() if k != "scores"},
        )
        if ours.get("failed"):
            print(f"{kernel:>9} | failed: {ours['error']}")
            rows.append(row)
            continue
        direct_error = direct_recorded.get(kernel)
        if direct_too:
            direct = run_child("ours", n, 0.0, kernel=kernel, bw=bw)
            row["direct"] = {k: v for k, v in direct.items() if k != "scores"}
            direct_error = None if direct.get("failed") else 100 * direct["test_error"]
        per_pass = float(np.median(ours["epoch_time_s"]))
        row.update(pass_gb_per_s=triangle_gb / per_pass, direct_test_error=direct_error)
        print(
            f"{kernel:>9} | {ours['fit_time_s']:6.1f} | {ours['peak_gb']:7.2f} | "
            f"{ours['epochs']:6d} | {per_pass:6.2f} | {triangle_gb / per_pass:9.1f} | "
            f"{100 * ours['test_error']:6.2f} | "
            f"{'n/a' if direct_error is None else f'{direct_error:.2f}':>8} | "
            f"{PAPER_TABLE3[kernel]:7.2f}"
        )
        print(f"          {iterative_line(ours)}")
        rows.append(row)
    print(
        f"A pass reads the stored upper triangle ({triangle_gb:.1f} GB); the machine's streaming "
        f"read runs at {bandwidth_gbs:.1f} GB/s."
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[5000, 10000, 20000])
    parser.add_argument("--full", action="store_true", help="also all 60,000 (iterative)")
    parser.add_argument("--ridge", type=float, default=0.0)
    parser.add_argument(
        "--tol", type=float, default=1e-6, help="refinement tolerance of our solver"
    )
    parser.add_argument(
        "--direct-full", action="store_true", help="with --full, run the direct solves too"
    )
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--kernel", default="gaussian", help=argparse.SUPPRESS)
    parser.add_argument("--probe-bandwidth", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bandwidth", type=float, default=BANDWIDTH, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe_bandwidth:
        print(_probe_bandwidth())
        return
    if args.child:
        which, n, ridge, out, tol = args.child
        child(which, int(n), float(ridge), out, float(tol), args.kernel, args.bandwidth)
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
    bandwidth_gbs = memory_bandwidth()
    print(f"streaming read (sum of a 2 GB float32 array): {bandwidth_gbs:.1f} GB/s\n")
    rows = []
    header = (
        f"{'n':>7} | {'direct s':>8} | {'iter s':>7} | {'KR s':>7} | {'KR/direct':>9} | "
        f"{'direct/iter':>11} | {'KR/iter':>7} | {'GB direct/iter/KR':>17} | "
        f"{'test % direct/iter/KR':>21} | {'max rel diff':>12} | {'chol GFLOP/s':>12}"
    )
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        ours = run_child("ours", n, args.ridge, tol=args.tol)
        iterative = run_child("iterative", n, args.ridge) if args.ridge == 0 else {"failed": True}
        theirs = run_child("sklearn", n, args.ridge, memory_cap_gb=22 if n >= 40000 else None)
        row = dict(n=n, gemm_gflops=peak, memory_gb_per_s=bandwidth_gbs)
        for name, result in (("ours", ours), ("iterative", iterative), ("sklearn", theirs)):
            row[name] = {k: v for k, v in result.items() if k != "scores"}
        rows.append(row)
        if ours.get("failed") or iterative.get("failed") or theirs.get("failed"):
            for name, result in (("direct", ours), ("iterative", iterative), ("sklearn", theirs)):
                if result.get("failed"):
                    print(f"{n:>7} | {name} failed: {result.get('error', 'ridge > 0')}")
            continue
        chol = n**3 / 3 / ours["factor_time_s"] / 1e9
        diff = np.abs(ours["scores"] - theirs["scores"]).max() / np.abs(theirs["scores"]).max()
        row.update(
            chol_gflops=chol,
            speedup=theirs["fit_time_s"] / ours["fit_time_s"],
            iterative_over_direct=ours["fit_time_s"] / iterative["fit_time_s"],
            iterative_over_sklearn=theirs["fit_time_s"] / iterative["fit_time_s"],
            memory_ratio=ours["peak_gb"] / theirs["peak_gb"],
            max_rel_diff=float(diff),
        )
        memory = f"{ours['peak_gb']:.1f}/{iterative['peak_gb']:.1f}/{theirs['peak_gb']:.1f}"
        errors = "/".join(f"{100 * r['test_error']:.2f}" for r in (ours, iterative, theirs))
        print(
            f"{n:>7} | {ours['fit_time_s']:8.1f} | {iterative['fit_time_s']:7.1f} | "
            f"{theirs['fit_time_s']:7.1f} | {row['speedup']:8.2f}x | "
            f"{row['iterative_over_direct']:10.2f}x | {row['iterative_over_sklearn']:6.2f}x | "
            f"{memory:>17} | {errors:>21} | {diff:12.1e} | {chol:12.0f}"
        )
        print(
            f"          direct: kernel {ours['kernel_time_s']:.1f} s, Cholesky "
            f"{ours['factor_time_s']:.1f} s, {ours['refinement_steps']} refinement step(s) "
            f"{ours['refine_time_s']:.1f} s, residual {ours['relative_residual']:.1e}"
        )
        print(f"          iterative: {iterative_line(iterative)}")
        if theirs.get("warnings"):
            print(f"          KernelRidge warned: {theirs['warnings'][0][:100]}")
    if args.full:
        full_iterative(rows, bandwidth_gbs, args.direct_full)
    out = ROOT / "_build" / "bench" / "kernels.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    print(f"\nresults written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

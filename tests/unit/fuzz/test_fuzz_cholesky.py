"""The ctypes BLAS path of :mod:`generalization.cholesky` refuses every wrong kind of array.

``factor_in_place`` hands raw pointers to NumPy's 64-bit OpenBLAS (and ``Factor`` hands K to
LAPACK to be overwritten): an array of the wrong dtype, layout, shape or writability there
does not raise by itself, it corrupts memory or kills the interpreter (a read-only memmap
did: SIGSEGV). Each wrong kind below must be refused with a ValueError in the package's
message pattern *before* any call. The cases run in one child process, each printing its
outcome as it finishes, so a crash fails the cases from that one on instead of pytest.
"""

import json
import re
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest

from generalization import cholesky

# "R must have n rows ..." is the one older wording that tests/unit/test_cholesky.py pins
PATTERN = re.compile(r"^[\w\[\]]+ must (be|have) .+; got .+\.$", re.DOTALL)


def _spd(n=6, dtype=np.float64):
    A = np.arange(n * n, dtype=np.float64).reshape(n, n) % 7 - 3
    return np.triu(A @ A.T + n * np.eye(n)).astype(dtype)


def _readonly(K):
    K = K.copy()
    K.setflags(write=False)
    return K


def _memmap(K, directory):
    path = Path(directory) / "K.npy"
    np.save(path, K)
    return np.load(path, mmap_mode="r")  # read-only pages: a write through BLAS is SIGSEGV


def _unaligned(K):
    raw = np.zeros(K.nbytes + 1, dtype=np.uint8)
    view = raw[1:].view(K.dtype).reshape(K.shape)
    view[...] = K
    assert not view.flags.aligned
    return view


def _bad_matrices(directory):
    """``(label, K, in_place)``: K is refused by every routine (in_place=False) or by the
    routines that overwrite it (in_place=True)."""
    K = _spd()
    big = _spd(12)
    return [
        ("list", K.tolist(), False),
        ("int64", K.astype(np.int64), False),
        ("float16", K.astype(np.float16), False),
        ("complex128", K.astype(np.complex128), False),
        ("object", K.astype(object), False),
        ("bool", K > 0, False),
        ("big-endian float64", K.astype(">f8"), False),
        ("non-square", K[:, :5].copy(), False),
        ("1-D", K[0].copy(), False),
        ("3-D", K[None].copy(), False),
        ("empty", np.zeros((0, 0)), False),
        ("Fortran order", np.asfortranarray(K), True),
        ("strided view", big[::2, ::2], True),
        ("transposed view", K.T, True),
        ("unaligned", _unaligned(K), True),
        ("read-only", _readonly(K), True),
        ("read-only memmap", _memmap(K, directory), True),
        ("read-only bytes", np.frombuffer(K.tobytes(), dtype=K.dtype).reshape(K.shape), True),
    ]


def _cases(directory):
    """Yield ``(label, call)``: each call must raise ValueError."""
    blas_options = [False] + ([True] if cholesky.blas64() is not None else [])
    for label, K, in_place in _bad_matrices(directory):
        for blas in blas_options:
            yield (
                f"factor_in_place K={label} blas={blas}",
                (lambda K=K, blas=blas: cholesky.factor_in_place(K, block=4, blas=blas)),
            )
        if not in_place or "read-only" in label:  # SciPy copies other layouts itself
            yield f"Factor K={label} scipy", lambda K=K: cholesky.Factor(K, "scipy")
        if not in_place:
            yield f"Factor K={label} torch", lambda K=K: cholesky.Factor(K, "torch")
            yield (
                f"solve_in_place_factor K={label}",
                (lambda K=K: cholesky.solve_in_place_factor(K, np.ones(6))),
            )
    for block in (0, -1, 2.5, True, "8"):
        yield (
            f"factor_in_place block={block!r}",
            (lambda block=block: cholesky.factor_in_place(_spd(), block=block)),
        )
    yield "factor_in_place blas='yes'", lambda: cholesky.factor_in_place(_spd(), blas="yes")
    factored = _spd()
    cholesky.factor_in_place(factored, block=4, blas=False)
    bad_rhs = {
        "rows": np.ones(5),
        "3-D": np.ones((6, 1, 1)),
        "NaN": np.full(6, np.nan),
        "inf": np.full((6, 2), np.inf),
        "object": np.ones(6, dtype=object),
        "complex": np.ones(6, dtype=complex),
        "empty": np.ones((6, 0)),
        "string": "abc",
    }
    for label, R in bad_rhs.items():
        yield (
            f"solve_in_place_factor R={label}",
            (lambda R=R: cholesky.solve_in_place_factor(factored, R, block=4)),
        )
        for backend in ("scipy", "torch"):
            yield (
                f"Factor.solve R={label} {backend}",
                (lambda R=R, backend=backend: cholesky.Factor(_spd(), backend).solve(R)),
            )
    nan_factor = factored.copy()
    nan_factor[2, 4] = np.nan  # inside the factor's triangle: the solve would be NaN
    yield (
        "solve_in_place_factor factor with NaN",
        (lambda: cholesky.solve_in_place_factor(nan_factor, np.ones(6), block=4)),
    )
    zero_factor = factored.copy()
    zero_factor[3, 3] = 0.0  # a singular factor: the solve divides by zero
    yield (
        "solve_in_place_factor factor with zero diagonal",
        (lambda: cholesky.solve_in_place_factor(zero_factor, np.ones(6), block=4)),
    )
    fortran = cholesky._Fortran(_spd())
    for i, j, rows, cols in [(0, 0, 7, 1), (5, 0, 2, 1), (0, -1, 1, 1), (2, 2, 0, 1), (0, 6, 1, 1)]:
        yield (
            f"_Fortran.at block ({i}, {j}, {rows}, {cols})",
            (lambda a=(i, j, rows, cols): fortran.at(*a)),
        )


def _run_cases():
    """The child: one JSON line per case, flushed, so a crash shows where it happened."""
    with tempfile.TemporaryDirectory() as directory:
        for label, call in _cases(directory):
            try:
                call()
                outcome = {"label": label, "raised": None, "message": "returned"}
            except Exception as error:  # noqa: BLE001 - the test judges the exception
                outcome = {"label": label, "raised": type(error).__name__, "message": str(error)}
            print(json.dumps(outcome), flush=True)


def _labels():
    with tempfile.TemporaryDirectory() as directory:
        return [label for label, _ in _cases(directory)]


@pytest.fixture(scope="module")
def outcomes():
    child = subprocess.run(
        [sys.executable, __file__], capture_output=True, text=True, timeout=120, check=False
    )
    found = {}
    for line in child.stdout.splitlines():
        record = json.loads(line)
        found[record["label"]] = record
    return found, child.returncode, child.stderr[-2000:]


@pytest.mark.parametrize("label", _labels())
def test_each_wrong_kind_is_refused_before_blas_sees_it(outcomes, label):
    found, returncode, stderr = outcomes
    assert label in found, (
        f"the child process died (exit status {returncode}) at or before this case:\n{stderr}"
    )
    record = found[label]
    assert record["raised"] == "ValueError", record
    assert PATTERN.match(record["message"]), record["message"]


def test_the_child_process_ran_every_case_and_exited_cleanly(outcomes):
    found, returncode, stderr = outcomes
    assert returncode == 0, stderr
    assert sorted(found) == sorted(_labels())


def _factored(K, **kwargs):
    K = K.copy()
    assert cholesky.factor_in_place(K, **kwargs) == 0
    return K


@pytest.mark.parametrize("blas", [False, True])
def test_valid_input_factors_as_before_and_reads_views_without_changing_them(blas):
    if blas and cholesky.blas64() is None:
        pytest.skip("this NumPy ships no 64-bit OpenBLAS")
    for dtype in (np.float32, np.float64):
        K = _spd(9, dtype)
        factor = _factored(K, block=4, blas=blas)
        reference = np.linalg.cholesky(np.triu(K) + np.triu(K, 1).T)
        np.testing.assert_allclose(np.tril(factor.T), reference, rtol=1e-5)
        # a block larger than the matrix is legitimate: one LAPACK call
        one_block = _factored(K, block=50, blas=blas)  # the lower triangle is scratch
        np.testing.assert_allclose(np.triu(one_block), np.triu(factor), rtol=1e-5)
        R = np.arange(18, dtype=np.float64).reshape(9, 2)
        expected = cholesky.solve_in_place_factor(factor, R, block=4)
        R_view = np.asfortranarray(R)[:, ::-1][:, ::-1]  # non-contiguous in C terms
        readonly = _readonly(R)
        for other in (R_view, readonly, R.tolist()):
            np.testing.assert_array_equal(
                cholesky.solve_in_place_factor(factor, other, block=4), expected
            )
        np.testing.assert_array_equal(
            cholesky.solve_in_place_factor(_readonly(factor), R, block=4), expected
        )
        assert np.array_equal(readonly, R)  # nothing written into the right-hand side


def test_factor_reads_a_non_contiguous_or_read_only_matrix_like_a_copy():
    K = _spd(8)
    R = np.ones((8, 2))
    expected = cholesky.Factor(K.copy(), "scipy").solve(R)
    np.testing.assert_allclose(
        cholesky.Factor(np.asfortranarray(K), "scipy").solve(R), expected, rtol=1e-12
    )
    readonly = _readonly(K)
    with warnings.catch_warnings():  # torch notes that K is not writable; it only reads it
        warnings.simplefilter("ignore", UserWarning)
        torch_solution = cholesky.Factor(readonly, "torch").solve(R)
    np.testing.assert_allclose(torch_solution, expected, rtol=1e-10)
    assert np.array_equal(readonly, K)


if __name__ == "__main__":
    _run_cases()

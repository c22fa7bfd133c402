"""Unit tests of generalization.eigenpro and KernelInterpolator(solver="iterative").

Against independent computations: dense matrix products for the triangle storage (whose
lower blocks are NaN, so reading one shows), NumPy's dense eigendecomposition for the
spectrum and for the preconditioned operator, the direct solve for the solution.
"""

import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from generalization import eigenpro, kernel_solver
from generalization.kernel_solver import KernelInterpolator
from generalization.kernels import gaussian_kernel, kernel_matrix, laplace_kernel


def _points(n=600, d=12, classes=4, spread=1.6, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(classes, d)) * spread
    y = rng.integers(0, classes, size=n)
    return (centers[y] + rng.normal(size=(n, d))).astype(np.float32), y


def _stored(X, bandwidth, block_rows, dtype=np.float32):
    """The upper row blocks of K written into a NaN matrix: the rest must never be read."""
    K = np.full((X.shape[0],) * 2, np.nan, dtype=dtype)
    kernel_matrix(
        X,
        X,
        kernel="gaussian",
        bandwidth=bandwidth,
        dtype=dtype,
        out=K,
        upper_only=True,
        block_rows=block_rows,
    )
    return K


@pytest.mark.parametrize("n, block_rows", [(257, 64), (300, 300), (301, 1), (200, 77)])
def test_triangle_storage_products_equal_the_dense_ones(n, block_rows):
    X, _ = _points(n)
    K = _stored(X, 4.0, block_rows, np.float64)
    assert np.isnan(K).any() or block_rows >= n  # lower blocks really left out
    dense = gaussian_kernel(X, X, 4.0, dtype=np.float64)
    V = np.random.default_rng(1).normal(size=(n, 3))
    np.testing.assert_allclose(eigenpro.symmetric_times(K, V, block_rows), dense @ V, rtol=1e-10)
    for b0 in range(0, n, block_rows):
        b1 = min(b0 + block_rows, n)
        np.testing.assert_allclose(
            eigenpro.row_block_times(K, b0, b1, V), dense[b0:b1] @ V, rtol=1e-10
        )
        for s in (5, b0 + 1, min(n, b1 + 7), n):
            np.testing.assert_allclose(
                eigenpro._subsample_times(K, b0, b1, s, V[b0:b1]),
                dense[:s, b0:b1] @ V[b0:b1],
                rtol=1e-10,
            )


def test_preconditioner_spectrum_and_beta_against_a_dense_eigendecomposition():
    X, _ = _points(300)
    K_sub = gaussian_kernel(X, X, 3.0, dtype=np.float64)
    P = eigenpro.preconditioner(K_sub, 20)
    values, vectors = np.linalg.eigh(K_sub)
    values, vectors = values[::-1], vectors[:, ::-1]
    np.testing.assert_allclose(P.eigenvalues, values[:20], rtol=1e-10)
    assert P.next_eigenvalue == pytest.approx(values[20], rel=1e-10)
    np.testing.assert_allclose(np.abs(np.sum(P.eigenvectors * vectors[:, :20], 0)), 1, atol=1e-8)
    # beta = max_i <k_i, P k_i> with psi_j(x_i) = (K e_j)_i / sqrt(sigma_j), from dense products
    psi = K_sub @ vectors[:, :20] / np.sqrt(values[:20])
    expected = np.max(1 - (psi**2) @ (1 - values[20] / values[:20]))
    assert P.beta == pytest.approx(expected, rel=1e-9)
    # the step of Ma, Bassily, Belkin: m / (beta + (m - 1) lambda), lambda = sigma_{q+1} / s
    lam = values[20] / 300
    assert P.critical_batch_size == pytest.approx(expected / lam, rel=1e-9)
    assert P.step_size(7) == pytest.approx(7 / (expected + 6 * lam), rel=1e-9)


def test_preconditioned_operator_is_flat_at_the_top():
    # with the subsample the whole set, the full-batch step is alpha -= eta/n (I - E D E^T K)
    # (K alpha - Y): its operator's top q eigenvalues all fall to sigma_{q+1}, the rest stay
    X, _ = _points(200)
    K = gaussian_kernel(X, X, 3.0, dtype=np.float64)
    P = eigenpro.preconditioner(K, 15)
    E, D = P.eigenvectors, P.scale
    A = (np.eye(200) - E @ np.diag(D) @ E.T @ K) @ K
    eig = np.sort(np.linalg.eigvals(A).real)[::-1]
    np.testing.assert_allclose(eig[:16], P.next_eigenvalue, rtol=1e-8)
    np.testing.assert_allclose(eig[16:], np.linalg.eigvalsh(K)[::-1][16:], rtol=1e-6, atol=1e-12)


def test_duplicate_points_flatten_only_the_resolved_spectrum():
    X = np.repeat(_points(5)[0], 40, axis=0)  # 5 distinct points: 5 nonzero eigenvalues
    P = eigenpro.preconditioner(gaussian_kernel(X, X, 3.0, dtype=np.float64), 50)
    assert P.eigenvalues.size == 4 and P.next_eigenvalue > 1e-3 * P.eigenvalues[0]
    constant = eigenpro.preconditioner(np.ones((30, 30)), 10)
    assert constant.eigenvalues.size == 0 and constant.beta == 1.0


@pytest.mark.parametrize("kernel, bandwidth", [("gaussian", 3.0), ("laplace", 6.0)])
def test_iterative_interpolates_and_predicts_as_the_direct_solve(kernel, bandwidth):
    X, y = _points(1200)
    X, y, X_test, y_test = X[:900], y[:900], X[900:], y[900:]
    args = dict(kernel=kernel, bandwidth=bandwidth, subsample_size=300, n_components=40)
    direct = KernelInterpolator(solver="direct", **args).fit(X, y)
    iterative = KernelInterpolator(solver="iterative", **args).fit(X, y)
    report = iterative.fit_report_
    assert report.solver == "eigenpro" and report.train_error == 0.0
    assert report.convergence.converged and report.epochs == report.convergence.checks[-1][0]
    np.testing.assert_array_equal(iterative.predict(X), y)
    agree = np.mean(iterative.predict(X_test) == direct.predict(X_test))
    assert agree >= 0.97, agree
    errors = [np.mean(m.predict(X_test) != y_test) for m in (iterative, direct)]
    assert abs(errors[0] - errors[1]) <= 0.02, errors


@pytest.mark.parametrize("kernel, bandwidth", [("gaussian", 1.5), ("laplace", 2.0)])
def test_iterative_to_a_residual_tolerance_reaches_the_direct_solution(kernel, bandwidth):
    # well conditioned (narrow kernels), so that SGD's slow directions are not too slow
    X, y = _points(1200)
    args = dict(kernel=kernel, bandwidth=bandwidth, subsample_size=300, n_components=40)
    direct = KernelInterpolator(solver="direct", **args).fit(X[:900], y[:900])
    accurate = KernelInterpolator(solver="iterative", stop="residual", tol=1e-4, **args)
    accurate.fit(X[:900], y[:900])
    assert accurate.fit_report_.relative_residual <= 1e-4
    assert accurate.fit_report_.convergence.converged
    # ||alpha - alpha*|| <= ||K alpha - Y|| / sigma_min(K), and each score moves by at most
    # ||k(x, X)|| ||alpha - alpha*||: bounds from a dense float64 kernel matrix
    kernel_fn = gaussian_kernel if kernel == "gaussian" else laplace_kernel
    K = kernel_fn(X[:900], X[:900], bandwidth, dtype=np.float64)
    Y = np.eye(4)[y[:900]]
    residual = np.linalg.norm(K @ accurate.dual_coef_ - Y)
    gap = np.linalg.norm(accurate.dual_coef_ - direct.dual_coef_, axis=0)
    assert np.linalg.norm(gap) <= 1.01 * residual / np.linalg.eigvalsh(K)[0] + 1e-5
    rows = np.linalg.norm(kernel_fn(X[900:], X[:900], bandwidth, dtype=np.float64), axis=1)
    moved = np.abs(accurate.decision_function(X[900:]) - direct.decision_function(X[900:]))
    assert np.all(moved <= 1.01 * rows[:, None] * gap[None, :] + 1e-5)
    assert moved.max() < 0.05


def test_running_history_and_exact_checks_are_recorded():
    X, y = _points(600)
    model = KernelInterpolator(
        solver="iterative", bandwidth=3.0, subsample_size=200, n_components=30
    ).fit(X, y)
    c = model.fit_report_.convergence
    assert len(c.residual) == len(c.train_errors) == len(c.epoch_time_s) == c.epochs
    assert c.train_errors[0] > c.train_errors[-1] == 0 and c.residual[0] > c.residual[-1]
    # the exact check's residual is the one of the returned coefficients, in float64
    K = gaussian_kernel(X, X, 3.0, dtype=np.float64)
    Y = np.eye(4)[y]
    exact = np.linalg.norm(Y - K @ model.dual_coef_) / np.linalg.norm(Y)
    assert model.fit_report_.relative_residual == pytest.approx(exact, rel=1e-3)


def test_stopping_at_max_epochs_warns_and_says_so():
    X, y = _points(600, spread=0.8)
    with pytest.warns(ConvergenceWarning, match="max_epochs=1 passes without reaching zero"):
        model = KernelInterpolator(solver="iterative", bandwidth=3.0, max_epochs=1).fit(X, y)
    assert not model.fit_report_.convergence.converged and model.fit_report_.epochs == 1


def test_auto_falls_back_to_the_direct_solve_when_the_iterations_run_out(monkeypatch):
    X, y = _points(600, spread=0.8)
    monkeypatch.setattr(kernel_solver, "ITERATIVE_FROM", 500)
    with pytest.warns(ConvergenceWarning, match="so the fit was solved directly instead"):
        model = KernelInterpolator(bandwidth=3.0, max_epochs=2).fit(X, y)
    report = model.fit_report_
    assert report.solver == "cholesky" and report.train_error == 0.0
    assert report.relative_residual <= 1e-6 and report.epochs == 2
    assert not report.convergence.converged and report.convergence.train_errors[-1] > 0
    direct = KernelInterpolator(bandwidth=3.0, solver="direct").fit(X, y)
    np.testing.assert_array_equal(model.dual_coef_, direct.dual_coef_)


def test_auto_picks_by_size_and_ridge(monkeypatch):
    X, y = _points(300)
    monkeypatch.setattr(kernel_solver, "ITERATIVE_FROM", 250)
    assert KernelInterpolator(bandwidth=3.0).fit(X, y).fit_report_.solver == "eigenpro"
    assert KernelInterpolator(bandwidth=3.0, ridge=1e-3).fit(X, y).fit_report_.solver == "cholesky"
    monkeypatch.setattr(kernel_solver, "ITERATIVE_FROM", 301)
    assert KernelInterpolator(bandwidth=3.0).fit(X, y).fit_report_.solver == "cholesky"


def test_an_impossible_size_is_refused_before_allocating():
    X = np.zeros((3_000_000, 1))  # 24 MB of inputs, 18 TB of kernel matrix
    y = np.arange(X.shape[0]) % 2
    for solver in ("direct", "iterative"):
        with pytest.raises(MemoryError, match=r"needs about 18\d\d\d\.\d GB for n=3000000"):
            KernelInterpolator(solver=solver).fit(X, y)


def test_memory_refusal_uses_the_available_memory(monkeypatch):
    X, y = _points(400)
    monkeypatch.setattr(kernel_solver, "available_memory", lambda: 1_000_000)
    with pytest.raises(MemoryError, match=r"and 1.0 MB are available") as refused:
        KernelInterpolator(bandwidth=3.0).fit(X, y)
    fits = int(re.search(r"about ([\d,]+) fit", str(refused.value)).group(1).replace(",", ""))
    # the advice is right: that many points fit and one more does not (float32 K: ~2 n^2 bytes)
    assert 150 < fits < 400
    KernelInterpolator(bandwidth=3.0).fit(X[:fits], y[:fits])
    with pytest.raises(MemoryError):
        KernelInterpolator(bandwidth=3.0).fit(X[: fits + 1], y[: fits + 1])
    monkeypatch.setattr(kernel_solver, "available_memory", lambda: None)
    KernelInterpolator(bandwidth=3.0).fit(X, y)  # unknown: no refusal


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(solver="newton"), "solver must be one of"),
        (dict(stop="loss"), "stop must be one of"),
        (dict(max_epochs=0), "max_epochs must be a positive integer; got 0."),
        (dict(subsample_size=1), "subsample_size must be an integer of at least 2; got 1."),
        (dict(solver="iterative", ridge=0.1), "ridge must be 0 with solver='iterative'"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    X, y = _points(50)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        KernelInterpolator(**kwargs).fit(X, y)


def test_bad_storage_and_preconditioner_inputs():
    with pytest.raises(ValueError, match="K must be a square float32 or float64 matrix"):
        eigenpro.symmetric_times(np.zeros((3, 4), np.float32), np.zeros((3, 1)), 2)
    with pytest.raises(ValueError, match="K must be C-contiguous"):
        eigenpro.symmetric_times(np.zeros((4, 4), np.float32).T, np.zeros((4, 1)), 2)
    with pytest.raises(ValueError, match="V must be 2-D with 4 rows"):
        eigenpro.symmetric_times(np.zeros((4, 4), np.float32), np.zeros((3, 1)), 2)
    with pytest.raises(ValueError, match="n_components must be an integer from 1 to 2; got 3."):
        eigenpro.preconditioner(np.eye(3), 3)
    with pytest.raises(ValueError, match="K_sub must be a square matrix"):
        eigenpro.preconditioner(np.eye(3)[:2], 1)
    K = np.eye(4, dtype=np.float32)
    with pytest.raises(ValueError, match="precond must be a Preconditioner"):
        eigenpro.solve(K, np.eye(4)[:, :2], np.zeros(4, int), "P", 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        P = eigenpro.preconditioner(np.eye(4), 1)
    with pytest.raises(ValueError, match="Y and labels must have 4 rows"):
        eigenpro.solve(K, np.eye(3), np.zeros(3, int), P, 2)

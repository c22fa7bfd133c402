"""Unit tests of generalization.kernel_solver: the interpolating kernel machine."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.kernel_ridge import KernelRidge
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from generalization.kernel_solver import ConditioningWarning, KernelInterpolator
from generalization.kernels import gaussian_kernel, laplace_kernel


@pytest.mark.parametrize("kernel", ["gaussian", "laplace"])
def test_interpolator_fits_every_label(blobs, kernel):
    X, y = blobs
    model = KernelInterpolator(kernel=kernel, bandwidth=8.0).fit(X, y)
    assert model.fit_report_.train_error == 0.0
    assert model.fit_report_.relative_residual <= 1e-6
    np.testing.assert_array_equal(model.predict(X), y)
    scores = (
        KernelInterpolator(kernel=kernel, bandwidth=8.0, dtype="float64")
        .fit(X, y)
        .decision_function(X)
    )
    np.testing.assert_allclose(scores, np.eye(3)[y], atol=1e-6)


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-9), ("float32", 1e-5)])
def test_ridge_equals_scikit_learn_kernel_ridge(blobs, dtype, rtol):
    X, y = blobs
    bandwidth, ridge = 6.0, 1e-2
    ours = KernelInterpolator(bandwidth=bandwidth, ridge=ridge, dtype=dtype).fit(X[:100], y[:100])
    theirs = KernelRidge(alpha=ridge, kernel="rbf", gamma=1 / (2 * bandwidth**2)).fit(
        X[:100], np.eye(3)[y[:100]]
    )
    expected = theirs.predict(X[100:])
    np.testing.assert_allclose(
        ours.decision_function(X[100:]), expected, rtol=rtol, atol=rtol * np.abs(expected).max()
    )
    np.testing.assert_allclose(
        ours.dual_coef_,
        theirs.dual_coef_,
        rtol=10 * rtol,
        atol=10 * rtol * np.abs(theirs.dual_coef_).max(),
    )


def test_torch_backend_matches_lapack(blobs):
    X, y = blobs
    a = KernelInterpolator(bandwidth=8.0, backend="scipy").fit(X, y)
    b = KernelInterpolator(bandwidth=8.0, backend="torch", device="cpu").fit(X, y)
    np.testing.assert_allclose(
        a.dual_coef_, b.dual_coef_, rtol=1e-6, atol=1e-8 * np.abs(a.dual_coef_).max()
    )
    assert b.fit_report_.backend == "torch"


def test_works_inside_scikit_learn_tools(blobs):
    X, y = blobs
    model = KernelInterpolator(kernel="laplace", bandwidth=8.0)
    assert clone(model).get_params()["bandwidth"] == 8.0
    model.set_params(bandwidth=9.0)
    assert model.bandwidth == 9.0
    scores = cross_val_score(
        make_pipeline(MinMaxScaler(), KernelInterpolator(kernel="laplace", bandwidth=3.0)),
        X,
        y,
        cv=3,
    )
    assert scores.mean() > 0.9
    labels = np.array(["a", "b", "c"])[y]
    assert set(KernelInterpolator(bandwidth=8.0).fit(X, labels).predict(X[:5])) <= {"a", "b", "c"}


def test_duplicate_rows_with_two_labels_fall_back_to_the_minimum_norm_least_squares(blobs):
    X, y = blobs
    X = np.vstack([X, X[:1]])
    y = np.append(y, (y[0] + 1) % 3)  # the same point with two labels cannot be interpolated
    with pytest.warns(ConditioningWarning, match=r"minimum-norm least-squares.*lstsq"):
        model = KernelInterpolator(bandwidth=8.0).fit(X, y)
    assert model.fit_report_.solver == "lstsq"
    K = gaussian_kernel(X, X, 8.0, dtype=np.float64)
    Y = np.eye(3)[y]
    np.testing.assert_allclose(model.dual_coef_, np.linalg.pinv(K) @ Y, rtol=1e-6, atol=1e-6)
    # the two copies get the mean of their targets: a tie, so exactly one of them is wrong
    assert model.fit_report_.train_error == pytest.approx(1 / len(y))
    assert model.fit_report_.relative_residual == pytest.approx(
        np.linalg.norm(Y - K @ model.dual_coef_) / np.linalg.norm(Y), rel=1e-9
    )


def test_a_failed_float32_factorization_falls_back_to_float64():
    # close points and a wide Gaussian: positive definite in float64, not in float32
    X = np.linspace(0, 1, 12)[:, None]
    y = np.arange(12) % 2
    K = gaussian_kernel(X, X, 0.3, dtype=np.float64)
    assert np.linalg.eigvalsh(K)[0] < 1e-7 * np.linalg.eigvalsh(K)[-1]  # beyond float32
    with pytest.warns(ConditioningWarning, match="float32 Cholesky factorization failed"):
        model = KernelInterpolator(bandwidth=0.3, tol=1e-6).fit(X, y)
    assert model.fit_report_.solver == "cholesky-float64"
    assert model.X_fit_.dtype == np.float64
    expected = np.linalg.solve(K, np.eye(2)[y])
    np.testing.assert_allclose(
        model.dual_coef_, expected, rtol=1e-5, atol=1e-5 * abs(expected).max()
    )
    np.testing.assert_array_equal(model.predict(X), y)


def test_a_fallback_that_would_not_fit_in_memory_is_refused(blobs, monkeypatch):
    X, y = blobs
    X = np.vstack([X, X[:1]])
    y = np.append(y, (y[0] + 1) % 3)
    pages = {"SC_AVPHYS_PAGES": 10, "SC_PAGE_SIZE": 4096}  # 40 kB available
    monkeypatch.setattr("os.sysconf", lambda name: pages[name])
    with pytest.raises(
        np.linalg.LinAlgError, match=r"n=151.*would need 0\.0 GB.*remove duplicate rows"
    ):
        KernelInterpolator(bandwidth=8.0).fit(X, y)


def test_two_classes_follow_scikit_learns_decision_function_convention(blobs):
    X, y = blobs
    keep = y < 2
    model = KernelInterpolator(bandwidth=8.0).fit(X[keep], np.array(["a", "b"])[y[keep]])
    scores = model.decision_function(X)
    assert scores.shape == (X.shape[0],)
    np.testing.assert_array_equal(model.predict(X), np.where(scores > 0, "b", "a"))


def test_ill_conditioned_matrix_warns():
    # A wide Gaussian on close points: float32 Cholesky succeeds but cannot refine to tol.
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(60, 2))
    y = rng.integers(0, 2, 60)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConditioningWarning)
        KernelInterpolator(bandwidth=0.05).fit(X, y)  # well conditioned: no warning
    with pytest.warns(ConditioningWarning, match="too ill-conditioned for float32"):
        KernelInterpolator(bandwidth=0.6, ridge=1e-6).fit(X, y)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"kernel": "cosine"}, "kernel must be one of"),
        ({"bandwidth": 0}, "bandwidth must be a positive number; got 0"),
        ({"ridge": -1.0}, "ridge must be a non-negative number"),
        ({"dtype": "float16"}, "dtype must be one of \\('float32', 'float64'\\)"),
        ({"backend": "jax"}, "backend must be"),
    ],
)
def test_bad_parameters_raise(blobs, params, message):
    X, y = blobs
    with pytest.raises(ValueError, match=message):
        KernelInterpolator(**params).fit(X, y)


def test_bad_data_raise(blobs):
    # scikit-learn's validation and messages (the estimator checks expect them)
    from sklearn.exceptions import NotFittedError

    X, y = blobs
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        KernelInterpolator().fit(X[0], y)
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[150, 149\]"):
        KernelInterpolator().fit(X, y[1:])
    with pytest.raises(ValueError, match="at least 2 classes; got 1 class"):
        KernelInterpolator().fit(X, np.zeros(150))
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        KernelInterpolator().fit(X, np.linspace(0, 1, 150))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        KernelInterpolator().fit(np.where(X > 2, np.nan, X), y)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        KernelInterpolator().predict(X)
    with pytest.raises(ValueError, match="same number of features; got 20 and 3"):
        gaussian_kernel(X, X[:, :3], 1.0)
    model = KernelInterpolator(bandwidth=8.0).fit(X, y)
    with pytest.raises(
        ValueError, match="X has 3 features, but KernelInterpolator is expecting 20"
    ):
        model.predict(X[:, :3])


def test_rkhs_norm_is_alpha_K_alpha(blobs):
    X, y = blobs
    model = KernelInterpolator(kernel="laplace", bandwidth=8.0, ridge=1e-3, dtype="float64").fit(
        X, y
    )
    K = laplace_kernel(X, X, 8.0, dtype=np.float64)
    alpha = model.dual_coef_
    assert model.fit_report_.rkhs_norm == pytest.approx(
        np.sqrt(np.sum(alpha * (K @ alpha))), rel=1e-9
    )


def test_float32_predictions_classify_like_float64(blobs):
    X, y = blobs
    exact = KernelInterpolator(bandwidth=8.0).fit(X[:100], y[:100])
    fast = KernelInterpolator(bandwidth=8.0, predict_dtype="float32").fit(X[:100], y[:100])
    np.testing.assert_allclose(
        fast.decision_function(X[100:]), exact.decision_function(X[100:]), rtol=1e-4, atol=1e-4
    )
    np.testing.assert_array_equal(fast.predict(X[100:]), exact.predict(X[100:]))
    with pytest.raises(ValueError, match="predict_dtype must be one of \\('float32', 'float64'\\)"):
        KernelInterpolator(predict_dtype="half").fit(X, y)


def test_training_error_uses_the_fitted_function_with_a_ridge(blobs):
    X, _ = blobs
    y = np.random.default_rng(5).integers(0, 3, size=X.shape[0])  # labels a strong ridge cannot fit
    model = KernelInterpolator(bandwidth=8.0, ridge=10.0).fit(X, y)
    expected = np.mean(model.predict(X) != y)  # K alpha, without the ridge term
    assert expected > 0.1  # ((K + ridge I) alpha would reproduce y and report 0)
    assert model.fit_report_.train_error == pytest.approx(expected)


def test_a_fit_reuses_its_codes_and_predicts_as_a_fresh_computation(pixel_images):
    from generalization.kernels import kernel_times

    rng = np.random.default_rng(3)
    X, _ = pixel_images(rng, 150, d=64)
    y = rng.integers(0, 3, size=150)
    model = KernelInterpolator(bandwidth=2.0, device="cpu").fit(X, y)
    assert model._fit_codes is not None and model.fit_report_.train_error == 0
    X_new, _ = pixel_images(rng, 40, d=64)
    fresh = kernel_times(
        X_new, model.X_fit_, model.dual_coef_, "gaussian", 2.0, np.float64, 2048, "cpu"
    )
    np.testing.assert_array_equal(model.decision_function(X_new), fresh)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_path_for_matrices_beyond_32_bit_lapack_fits_the_same_machine(
    blobs, monkeypatch, dtype
):
    from generalization import cholesky

    X, y = blobs
    expected = KernelInterpolator(bandwidth=4.0, dtype=dtype, device="cpu").fit(X, y)
    monkeypatch.setattr(cholesky, "needs_blocking", lambda n: True)  # as for n > 46,340
    monkeypatch.setattr(cholesky, "BLOCK", 64)  # several blocks for 150 points
    got = KernelInterpolator(bandwidth=4.0, dtype=dtype, device="cpu").fit(X, y)
    assert got.fit_report_.train_error == 0 and got.fit_report_.relative_residual <= 1e-6
    np.testing.assert_allclose(
        got.dual_coef_,
        expected.dual_coef_,
        rtol=1e-6,
        atol=1e-6 * np.abs(expected.dual_coef_).max(),
    )

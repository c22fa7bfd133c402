"""Unit tests of the double descent chapter's experiments: sweeps equal explicit min-norm fits."""

import numpy as np
import pytest

from generalization.chapters.part2 import double_descent as dd
from generalization.features import arccos_kernel, random_fourier_features, random_relu_features
from generalization.kernel_solver import KernelInterpolator
from generalization.kernels import gaussian_kernel
from generalization.linear import min_norm_solution


def problem(n=30, m=40, d=6, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X, X_test = rng.standard_normal((n, d)), rng.standard_normal((m, d))
    y = np.arange(n) % n_classes
    return X, y, X_test, rng.integers(0, n_classes, m)


def explicit(X, y, X_test, y_test, N, kind, bandwidth, seed, n_classes=3):
    """The min-norm fit computed the plain way: build Phi_N, call linear.min_norm_solution."""
    make = (
        (lambda A: random_fourier_features(A, N, bandwidth, seed))
        if kind == "fourier"
        else (lambda A: random_relu_features(A, N, seed, scale=bandwidth))
    )
    Phi, Phi_test = make(X), make(X_test)
    Y = np.eye(n_classes)[y]
    A = min_norm_solution(Phi, Y)
    scores = Phi_test @ A
    target = np.eye(n_classes)[y_test]
    return dict(
        test_squared=np.mean(np.sum((scores - target) ** 2, 1)),
        test_zero_one=np.mean(scores.argmax(1) != y_test),
        train_squared=np.mean(np.sum((Phi @ A - Y) ** 2, 1)),
        norm=np.linalg.norm(A),
    )


def test_feature_counts_are_rounded_sorted_and_distinct():
    assert dd.feature_counts(100, (2.0, 0.5, 1.0, 1.004)).tolist() == [50, 100, 200]
    assert dd.feature_counts(10, [0.01]).tolist() == [1]  # never zero features
    assert dd.feature_counts(1000, dd.RATIOS)[dd.RATIOS.index(1.0)] == 1000


@pytest.mark.parametrize(
    "n_train, ratios",
    [
        (0, (1.0,)),
        (True, (1.0,)),
        (10.0, (1.0,)),
        (10, ()),
        (10, (0.0,)),
        (10, (-1.0,)),
        (10, (np.nan,)),
        (10, ("a",)),
        (10, [[1.0]]),
    ],
)
def test_feature_counts_rejects_bad_input(n_train, ratios):
    with pytest.raises(ValueError, match="n_train|ratios"):
        dd.feature_counts(n_train, ratios)


@pytest.mark.parametrize("kind, bandwidth", [("fourier", 2.0), ("relu", 1.0)])
def test_sweep_equals_explicit_min_norm_fits(kind, bandwidth):
    X, y, X_test, y_test = problem()
    counts = [60, 10, 30, 29, 31]  # unsorted, both sides of n = 30
    result = dd.sweep(X, y, X_test, y_test, counts, kind, bandwidth, seed=3, n_classes=3)
    assert result.n_features.tolist() == [10, 29, 30, 31, 60]
    for i, N in enumerate(result.n_features):
        want = explicit(X, y, X_test, y_test, int(N), kind, bandwidth, 3)
        for name, value in want.items():
            got = getattr(result, name)[i]
            # test scores use float32 features: relative error about 1e-6 times the coefficient norm
            assert got == pytest.approx(value, rel=1e-4, abs=1e-9), (name, N)


def test_sweep_interpolates_from_n_on_and_not_before():
    X, y, X_test, y_test = problem()
    result = dd.sweep(
        X, y, X_test, y_test, [5, 20, 30, 45, 300], "fourier", 2.0, seed=0, n_classes=3
    )
    under = result.n_features < 30
    assert np.all(result.train_squared[under] > 1e-3)
    assert np.all(result.train_squared[~under] < 1e-18)
    assert np.argmax(result.norm) == 2  # N = n


def test_sweep_blocks_do_not_change_the_result(monkeypatch):
    X, y, X_test, y_test = problem()
    counts = [10, 40, 90]
    reference = dd.sweep(X, y, X_test, y_test, counts, "fourier", 2.0, seed=1, n_classes=3)
    monkeypatch.setattr(dd, "COLUMN_BLOCK", 7)
    monkeypatch.setattr(dd, "TEST_BLOCK_ENTRIES", 200)  # 2 test rows per block
    blocked = dd.sweep(X, y, X_test, y_test, counts, "fourier", 2.0, seed=1, n_classes=3)
    np.testing.assert_allclose(blocked.norm, reference.norm, rtol=1e-10)
    np.testing.assert_allclose(blocked.test_squared, reference.test_squared, rtol=1e-5)


def test_many_features_approach_the_kernel_interpolant():
    X, y, X_test, y_test = problem(n=20, m=200)
    limit = dd.kernel_limit(X, y, X_test, y_test, "fourier", 2.0, n_classes=3)
    result = dd.sweep(X, y, X_test, y_test, [20000], "fourier", 2.0, seed=0, n_classes=3)
    assert limit.train_squared < 1e-20
    # Monte Carlo error of the kernel estimate is O(1/sqrt(N)) = 0.7%; measured 0.3% (norm) and 1%
    # (loss)
    assert result.norm[0] == pytest.approx(limit.norm, rel=0.03)
    assert result.test_squared[0] == pytest.approx(limit.test_squared, rel=0.05)


def test_kernel_limit_matches_kernel_interpolator_and_direct_solves():
    X, y, X_test, y_test = problem()
    limit = dd.kernel_limit(X, y, X_test, y_test, "fourier", 2.0, n_classes=3)
    model = KernelInterpolator(bandwidth=2.0, dtype="float64").fit(X, y)
    assert limit.norm == pytest.approx(model.fit_report_.rkhs_norm, rel=1e-8)
    scores = model.decision_function(X_test)
    assert limit.test_squared == pytest.approx(
        np.mean(np.sum((scores - np.eye(3)[y_test]) ** 2, 1)), rel=1e-8
    )
    assert limit.test_zero_one == pytest.approx(np.mean(scores.argmax(1) != y_test))
    K = 4.0 * arccos_kernel(
        X, X
    )  # ReLU features of weight scale 2: 2^2 times the arc-cosine kernel
    alpha = np.linalg.solve(K, np.eye(3)[y])
    relu = dd.kernel_limit(X, y, X_test, y_test, "relu", 2.0, n_classes=3)
    assert relu.norm == pytest.approx(np.sqrt(np.sum(alpha * (K @ alpha))), rel=1e-8)
    assert np.allclose(gaussian_kernel(X, X, 2.0, dtype=np.float64).diagonal(), 1.0)


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(X=np.zeros((30,))), "X must be a 2-D array"),
        (dict(X_test=np.zeros((40, 5))), "X_test must have the 6 columns of X"),
        (dict(y=np.zeros(29, dtype=int)), "y must be integer labels"),
        (dict(y=np.zeros(30)), "y must be integer labels"),
        (dict(y_test=np.full(40, 3)), "y_test must hold labels in 0..2"),
        (dict(y=np.full(30, -1)), "labels in 0..2"),
        (dict(X=np.full((30, 6), np.nan)), "finite"),
        (dict(n_features=[]), "n_features"),
        (dict(n_features=[0, 5]), "n_features"),
        (dict(n_features=[2.5]), "n_features"),
        (dict(kind="tanh"), "kind"),
        (dict(bandwidth=0.0), "bandwidth"),
        (dict(seed=-1), "seed"),
        (dict(n_classes=1), "n_classes"),
    ],
)
def test_sweep_rejects_bad_input(change, match):
    X, y, X_test, y_test = problem()
    args = dict(
        X=X,
        y=y,
        X_test=X_test,
        y_test=y_test,
        n_features=[5, 40],
        kind="fourier",
        bandwidth=1.0,
        seed=0,
        n_classes=3,
    )
    args.update(change)
    with pytest.raises(ValueError, match=match):
        dd.sweep(**args)


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(kind="tanh"), "kind"),
        (dict(bandwidth=-1.0), "bandwidth"),
        (dict(n_classes=0), "n_classes"),
        (dict(y=np.full(30, 5)), "labels"),
    ],
)
def test_kernel_limit_rejects_bad_input(change, match):
    X, y, X_test, y_test = problem()
    args = dict(X=X, y=y, X_test=X_test, y_test=y_test, kind="fourier", bandwidth=1.0, n_classes=3)
    args.update(change)
    with pytest.raises(ValueError, match=match):
        dd.kernel_limit(**args)


def test_double_descent_on_a_small_mnist_subset():
    result = dd.double_descent.uncached(40, 100, (0.5, 1.0, 2.0), (0, 1), "fourier", 5.0, 0)
    assert result.n_features.tolist() == [20, 40, 80] and result.ratio.tolist() == [0.5, 1.0, 2.0]
    assert result.test_squared.shape == result.norm.shape == (2, 3)
    assert result.at(1.0) == 1
    assert np.all(result.train_squared[:, 1:] < 1e-15) and np.all(result.train_squared[:, 0] > 0)
    assert result.kernel.train_squared < 1e-15 and result.run_time_s > 0
    with pytest.raises(ValueError, match="not on the grid"):
        result.at(3.0)


@pytest.mark.parametrize(
    "args, match",
    [
        ((1, 100, (1.0,), (0,)), "n_train"),
        ((40, 0, (1.0,), (0,)), "n_test"),
        ((40, 10001, (1.0,), (0,)), "n_test"),
        ((40, 100, (1.0,), ()), "seeds"),
        ((40, 100, (), (0,)), "ratios"),
    ],
)
def test_double_descent_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        dd.double_descent.uncached(*args)


def test_settings_sweep_through_the_threshold_at_both_scales():
    for scale in ("quick", "full"):
        S = dd.settings(scale)
        counts = dd.feature_counts(S["n_train"], S["ratios"])
        assert (
            S["n_train"] in counts and counts.max() >= 10 * S["n_train"]
        )  # N = n, and well past it


def test_relu_weight_scale_changes_the_norm_not_the_predictions():
    X, y, X_test, y_test = problem()
    one = dd.sweep(X, y, X_test, y_test, [10, 30, 60], "relu", 1.0, seed=2, n_classes=3)
    two = dd.sweep(X, y, X_test, y_test, [10, 30, 60], "relu", 2.0, seed=2, n_classes=3)
    np.testing.assert_allclose(two.test_squared, one.test_squared, rtol=1e-4)
    np.testing.assert_allclose(two.norm, one.norm / 2, rtol=1e-8)


def test_ridge_at_threshold_rejects_bad_input():
    for alphas in ((), (0.0,), (-1.0,), (np.inf,), ("a",)):
        with pytest.raises(ValueError, match="alphas"):
            dd.ridge_at_threshold.uncached(40, 100, alphas)
    with pytest.raises(ValueError, match="n_test"):
        dd.ridge_at_threshold.uncached(40, 20000, (1e-3,))


def test_ridge_at_threshold_starts_with_the_interpolant():
    r = dd.ridge_at_threshold.uncached(40, 100, (1e-2, 1.0))
    assert r.alphas.tolist() == [0.0, 1e-2, 1.0]
    assert (
        r.train_squared[0] < 1e-15
        and np.all(np.diff(r.train_squared) > 0)
        and np.all(np.diff(r.norm) < 0)
    )


def test_sweep_falls_back_to_eigenvalues_when_cholesky_fails(monkeypatch):
    import scipy.linalg

    X, y, X_test, y_test = problem()
    reference = dd.sweep(X, y, X_test, y_test, [45, 90], "fourier", 2.0, seed=0, n_classes=3)

    calls = []

    def refuse(*args, **kwargs):
        calls.append(1)
        raise np.linalg.LinAlgError("not positive definite")

    monkeypatch.setattr(scipy.linalg, "cho_factor", refuse)
    fallback = dd.sweep(X, y, X_test, y_test, [45, 90], "fourier", 2.0, seed=0, n_classes=3)
    assert len(calls) == 2
    np.testing.assert_allclose(fallback.norm, reference.norm, rtol=1e-7)
    np.testing.assert_allclose(fallback.test_squared, reference.test_squared, rtol=1e-5)

import re

import numpy as np
import pytest

from generalization import deep_linear, nets
from generalization import matrix_factorization as mf


@pytest.fixture(autouse=True)
def one_thread():
    with nets.threads(1):
        yield


def low_rank_problem(d1=20, d2=20, rank=2, m=200, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((d1, rank)) @ rng.standard_normal((rank, d2)) / np.sqrt(rank)
    rows, cols = np.divmod(rng.choice(d1 * d2, m, replace=False), d2)
    return M, rows, cols, M[rows, cols]


def nuclear_norm(X):
    return np.linalg.svd(X, compute_uv=False).sum()


# effective rank ------------------------------------------------------------------------------


def test_effective_rank_of_hand_computed_matrices():
    assert mf.effective_rank(np.eye(5)) == pytest.approx(5.0, rel=1e-12)
    assert mf.effective_rank(np.outer([1.0, 2.0, 3.0], [4.0, -1.0])) == pytest.approx(1.0)
    assert mf.effective_rank(np.diag([1.0, 1.0, 0.0])) == pytest.approx(2.0, rel=1e-12)
    # diag(3, 1): p = (3/4, 1/4), exp(H) = (3/4)^(-3/4) (1/4)^(-1/4) = 4 / 3^(3/4) = 1.7548...
    assert mf.effective_rank(np.diag([3.0, 1.0])) == pytest.approx(4 / 3**0.75, rel=1e-12)
    assert 4 / 3**0.75 == pytest.approx(1.75476535, rel=1e-8)


def test_effective_rank_ignores_scale_rotations_and_transposition():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((6, 4))
    Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    reference = mf.effective_rank(M)
    for other in (7.5 * M, -M, Q @ M, M.T):
        assert mf.effective_rank(other) == pytest.approx(reference, rel=1e-12)
    assert 1.0 <= reference <= 4.0


def test_effective_rank_rejects_the_zero_matrix():
    with pytest.raises(ValueError, match="M must be a non-zero matrix; got the zero matrix."):
        mf.effective_rank(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="M must be a 2-D array; got shape"):
        mf.effective_rank(np.ones(3))


# nuclear norm completion ------------------------------------------------------------------------


def test_nuclear_norm_completion_is_feasible_and_no_larger_than_any_feasible_point():
    M, rows, cols, values = low_rank_problem()
    X = mf.nuclear_norm_completion(M.shape, rows, cols, values, tol=1e-7)
    np.testing.assert_allclose(X[rows, cols], values, atol=1e-12)
    best = nuclear_norm(X)
    assert best <= nuclear_norm(M) * (1 + 1e-7)  # the true matrix is feasible
    rng = np.random.default_rng(1)
    unobserved = np.ones(M.shape, bool)
    unobserved[rows, cols] = False
    for size in (1e-3, 1e-1, 10.0):  # feasible perturbations of the unobserved entries
        for _ in range(20):
            E = np.where(unobserved, rng.standard_normal(M.shape), 0.0)
            assert nuclear_norm(X + size * E / np.linalg.norm(E)) >= best * (1 - 1e-7)


def test_nuclear_norm_completion_of_a_two_by_two_by_hand():
    # [[1, 1], [1, x]] has nuclear norm sqrt((1 - x)^2 + 4) for x < 1 and 1 + x for x >= 1:
    # the minimum, 2, is at x = 1 only.
    X = mf.nuclear_norm_completion((2, 2), [0, 0, 1], [0, 1, 0], [1.0, 1.0, 1.0], tol=1e-10)
    np.testing.assert_allclose(X, np.ones((2, 2)), atol=1e-4)
    assert nuclear_norm(X) == pytest.approx(2.0, rel=1e-9)
    # [[1, ?], [?, 1]]: every [[1, t], [t, 1]] with |t| <= 1 has the minimal norm, the trace 2
    X = mf.nuclear_norm_completion((2, 2), [0, 1], [0, 1], [1.0, 1.0], tol=1e-10)
    assert nuclear_norm(X) == pytest.approx(2.0, rel=1e-9)


def test_nuclear_norm_completion_recovers_a_rank_one_matrix():
    M = np.outer([1.0, 2.0, 3.0, 4.0], [1.0, -1.0, 2.0, 0.5])
    observed = np.ones((4, 4), bool)
    observed[[0, 1, 2, 3], [1, 2, 3, 0]] = False  # one entry missing in each row and column
    rows, cols = np.nonzero(observed)
    X = mf.nuclear_norm_completion(M.shape, rows, cols, M[rows, cols], tol=1e-10)
    np.testing.assert_allclose(X, M, atol=1e-6)


def test_nuclear_norm_completion_warns_when_it_stops_early():
    M, rows, cols, values = low_rank_problem()
    with pytest.warns(RuntimeWarning, match="did not reach the relative duality gap"):
        X = mf.nuclear_norm_completion(M.shape, rows, cols, values, max_iter=5)
    np.testing.assert_allclose(X[rows, cols], values)  # still feasible


# deep matrix factorization ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def completions():
    M, rows, cols, values = low_rank_problem()
    runs = {
        1: mf.complete_deep(M.shape, rows, cols, values, 1, 1e-3, 100.0, 500, record_every=100),
        2: mf.complete_deep(M.shape, rows, cols, values, 2, 1e-3, 5.0, 2000, record_every=100),
        3: mf.complete_deep(M.shape, rows, cols, values, 3, 1e-2, 2.0, 2000, record_every=100),
    }
    return M, rows, cols, values, runs


def test_deep_factorizations_fit_the_observations_with_a_low_effective_rank(completions):
    M, rows, cols, values, runs = completions
    start = 0.5 * np.mean(values**2)
    for depth, run in runs.items():
        assert run.losses[0] == pytest.approx(start, rel=1e-3)
        assert run.losses[-1] < 1e-5 * start, depth
        assert run.losses[-1] == pytest.approx(mf.observed_loss(run.matrix, rows, cols, values))
        np.testing.assert_allclose(run.singular_values[-1], np.linalg.svd(run.matrix)[1])
    # measured: effective ranks 12.5 (depth 1), 2.03 (depth 2), 1.95 (depth 3); M: 1.94
    target = mf.effective_rank(M)
    assert mf.effective_rank(runs[1].matrix) > 10
    for depth in (2, 3):
        assert mf.effective_rank(runs[depth].matrix) < target + 0.1
        relative = np.linalg.norm(runs[depth].matrix - M) / np.linalg.norm(M)
        assert relative < 0.05, (depth, relative)  # and they complete M (measured 1.3%, 0.01%)


@pytest.mark.parametrize("optimizer, lr", [("gd", 100.0), ("adam", 0.05)])
def test_depth_one_never_moves_an_unobserved_entry(optimizer, lr):
    M, rows, cols, values = low_rank_problem()
    start = mf.complete_deep(M.shape, rows, cols, values, 1, 1e-3, lr, 0, seed=4).matrix
    rng = np.random.default_rng(4)
    np.testing.assert_array_equal(start, 1e-3 * rng.standard_normal(M.shape))  # the stated init
    run = mf.complete_deep(
        M.shape, rows, cols, values, 1, 1e-3, lr, 300, seed=4, optimizer=optimizer
    )
    unobserved = np.ones(M.shape, bool)
    unobserved[rows, cols] = False
    np.testing.assert_array_equal(run.matrix[unobserved], start[unobserved])
    assert np.abs(run.matrix[rows, cols] - values).max() < 0.1 * np.abs(values).max()


def test_singular_values_move_as_theorem_3_says():
    # From balanced factors, one small gradient step moves each singular value of the product
    # by lr * (-N sigma^(2 - 2/N) <grad, u v^T>) + O(lr^2) (Arora et al. 2019, Theorem 3).
    rng = np.random.default_rng(5)
    d, depth, lr = 6, 3, 1e-4
    W0 = rng.standard_normal((d, d))
    M, rows, cols, values = low_rank_problem(d, d, 2, 20, seed=6)
    factors = deep_linear.balanced_factors(W0, depth, seed=2)
    run = mf.complete_deep((d, d), rows, cols, values, depth, 1.0, lr, 1, factors=factors)
    measured = (run.singular_values[1] - run.singular_values[0]) / lr
    G = np.zeros((d, d))
    G[rows, cols] = (W0[rows, cols] - values) / len(values)  # grad l(W0), independently
    U, sigma, Vt = np.linalg.svd(W0)
    predicted = -depth * sigma ** (2 - 2 / depth) * np.einsum("ir,ij,rj->r", U, G, Vt)
    np.testing.assert_allclose(mf.singular_value_rates(W0, G, depth), predicted, rtol=1e-12)
    np.testing.assert_allclose(run.singular_values[0], sigma, rtol=1e-12)
    assert np.max(np.abs(measured - predicted) / np.abs(predicted)) < 1e-3  # measured 2.4e-4
    # the step is not the depth-1 one: without the depth factor the prediction is far off
    naive = -np.einsum("ir,ij,rj->r", U, G, Vt)
    assert np.max(np.abs(measured - naive) / np.abs(naive)) > 0.5


def test_observed_loss_and_gradient_match_their_definition():
    M, rows, cols, values = low_rank_problem(5, 4, 1, 8, seed=7)
    W = np.random.default_rng(8).standard_normal((5, 4))
    loss = sum((W[i, j] - v) ** 2 for i, j, v in zip(rows, cols, values)) / (2 * 8)
    assert mf.observed_loss(W, rows, cols, values) == pytest.approx(loss, rel=1e-12)
    G = mf.observed_loss_gradient(W, rows, cols, values)
    E = np.zeros_like(W)
    for i, j in [(rows[0], cols[0]), (0, 0), (4, 3)]:
        E[:] = 0
        E[i, j] = 1e-6
        fd = (
            mf.observed_loss(W + E, rows, cols, values)
            - mf.observed_loss(W - E, rows, cols, values)
        ) / 2e-6
        assert G[i, j] == pytest.approx(fd, abs=1e-9)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"shape": (20,)}, "shape must be a sequence of at least 2 positive integers; got (20,)."),
        ({"shape": (20, 20, 2)}, "shape must be a pair (d1, d2) of positive integers"),
        ({"rows": [0.5] * 200}, "rows must be an array of integers; got dtype float64."),
        ({"cols": np.full(200, 20)}, "cols must be indices from 0 to 19; got 20."),
        ({"values": np.zeros(3)}, "rows, cols and values must have the same length; got 200"),
        (
            {"rows": np.zeros(200, int), "cols": np.zeros(200, int)},
            "the observed positions must be distinct; got (0, 0) twice.",
        ),
        ({"depth": 0}, "depth must be a positive integer; got 0."),
        ({"init_scale": 0.0}, "init_scale must be a positive number; got 0.0."),
        ({"lr": -1.0}, "lr must be a positive number; got -1.0."),
        ({"optimizer": "sgd"}, "optimizer must be one of ('gd', 'adam'); got 'sgd'."),
        ({"record_every": 0}, "record_every must be a positive integer; got 0."),
        ({"factors": [np.ones((20, 20))]}, "factors must be a list of depth = 2 matrices"),
        (
            {"factors": [np.ones((3, 20)), np.ones((20, 4))]},
            "factors[1] must have 3 columns; got shape (20, 4).",
        ),
    ],
)
def test_complete_deep_rejects_bad_arguments(kwargs, message):
    M, rows, cols, values = low_rank_problem()
    args = {
        "shape": M.shape,
        "rows": rows,
        "cols": cols,
        "values": values,
        "depth": 2,
        "init_scale": 1e-3,
        "lr": 1.0,
        "num_steps": 1,
    } | kwargs
    with pytest.raises(ValueError, match=re.escape(message)):
        mf.complete_deep(**args)


def test_other_functions_reject_bad_arguments():
    M, rows, cols, values = low_rank_problem()
    with pytest.raises(ValueError, match="tol must be a positive number; got 0"):
        mf.nuclear_norm_completion(M.shape, rows, cols, values, tol=0)
    with pytest.raises(ValueError, match=re.escape("grad must have the shape of W, (20, 20)")):
        mf.singular_value_rates(M, np.ones((2, 2)), 2)
    with pytest.raises(FloatingPointError, match="diverged"):
        mf.complete_deep(M.shape, rows, cols, values, 2, 1.0, 1e3, 50, record_every=10)
    with pytest.raises(
        ValueError, match=re.escape("adapt must be one of (True, False); got 'yes'.")
    ):
        mf.nuclear_norm_completion(M.shape, rows, cols, values, adapt="yes")


def test_factor_shapes_for_a_rectangular_target():
    M, rows, cols, values = low_rank_problem(6, 4, 1, 12, seed=9)
    run = mf.complete_deep(M.shape, rows, cols, values, 3, 0.1, 0.5, 3, record_every=2)
    assert [F.shape for F in run.factors] == [(4, 4), (4, 4), (6, 4)]  # h = min(d1, d2)
    assert run.steps.tolist() == [0, 2, 3] and run.singular_values.shape == (3, 4)
    np.testing.assert_allclose(run.matrix, run.factors[2] @ run.factors[1] @ run.factors[0])
    wide = mf.complete_deep(M.shape, rows, cols, values, 2, 0.1, 0.5, 0, hidden=9)
    assert [F.shape for F in wide.factors] == [(9, 4), (6, 9)]

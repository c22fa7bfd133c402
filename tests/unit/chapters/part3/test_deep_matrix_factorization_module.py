import numpy as np
import pytest

from generalization.chapters.part3 import deep_matrix_factorization as dmf
from generalization.deep_linear import balanced_factors
from generalization.matrix_factorization import complete_deep


def test_low_rank_target_has_the_rank_and_the_norm_and_is_reproducible():
    M = dmf.low_rank_target(30, 3, seed=5)
    assert M.shape == (30, 30)
    assert np.linalg.matrix_rank(M) == 3
    assert np.isclose(np.linalg.norm(M), 30)  # entries of mean square one
    np.testing.assert_array_equal(M, dmf.low_rank_target(30, 3, seed=5))
    assert not np.allclose(M, dmf.low_rank_target(30, 3, seed=6))


def test_sample_entries_are_distinct_and_in_range():
    rows, cols = dmf.sample_entries(10, 40, seed=1)
    assert len(rows) == len(cols) == 40
    assert len(set(zip(rows.tolist(), cols.tolist()))) == 40
    assert rows.min() >= 0 and rows.max() < 10 and cols.min() >= 0 and cols.max() < 10


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_factor_std_gives_a_product_of_the_stated_scale(depth):
    size, init = 200, 1e-2
    std = dmf.factor_std(init, depth, size)
    rng = np.random.default_rng(0)
    W = np.eye(size)
    for _ in range(depth):
        W = (std * rng.standard_normal((size, size))) @ W
    assert abs(np.linalg.norm(W) / (init * np.sqrt(size)) - 1) < 0.15


def test_learning_rate_follows_its_formula():
    assert np.isclose(dmf.learning_rate(0.5, 2, 10, 4.0), 0.5 * 100 / (2 * 4.0))
    assert np.isclose(dmf.learning_rate(1.0, 3, 10, 8.0), 100 / (3 * 8.0 ** (4 / 3)))
    with pytest.raises(ValueError, match="eta must be a positive number"):
        dmf.learning_rate(0.0, 2, 10, 1.0)


def test_unobserved_error_ignores_the_observed_entries():
    M = np.ones((3, 3))
    W = M.copy()
    W[0, 0] = 100.0  # observed: does not count
    W[2, 2] = 3.0  # unobserved: counts
    rows, cols = np.array([0, 1]), np.array([0, 1])
    assert np.isclose(dmf.unobserved_error(W, M, rows, cols), 2 / np.sqrt(7))
    with pytest.raises(ValueError, match="W must have the shape of M"):
        dmf.unobserved_error(np.ones((2, 3)), M, rows, cols)
    every = np.divmod(np.arange(9), 3)
    with pytest.raises(ValueError, match="leave some entry unobserved"):
        dmf.unobserved_error(W, M, *every)


def test_spread_spectrum_has_the_requested_singular_values():
    W = dmf.spread_spectrum(6, 0.1, 10.0, seed=0)
    np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False), np.geomspace(10, 0.1, 6))
    with pytest.raises(ValueError, match="low must be below high"):
        dmf.spread_spectrum(6, 2.0, 1.0, seed=0)


def test_depth_one_step_fits_the_observed_entries_and_leaves_the_rest():
    M = dmf.low_rank_target(12, 2, seed=0)
    rows, cols = dmf.sample_entries(12, 50, seed=0)
    run, moved = dmf._complete_depth1(M, rows, cols, init=1e-2, size=12, seed=3)
    np.testing.assert_allclose(run.matrix[rows, cols], M[rows, cols], atol=1e-12)
    assert moved == 0.0
    start = np.random.default_rng(3).standard_normal((12, 12)) * dmf.factor_std(1e-2, 1, 12)
    hidden = np.ones((12, 12), bool)
    hidden[rows, cols] = False
    np.testing.assert_array_equal(run.matrix[hidden], start[hidden])


def test_a_small_step_from_balanced_factors_moves_singular_values_as_theorem_3_says():
    """Independent of the chapter's function: a finite-difference step of the product."""
    M = dmf.low_rank_target(8, 2, seed=1)
    rows, cols = dmf.sample_entries(8, 30, seed=1)
    W0 = dmf.spread_spectrum(8, 0.1, 3.0, seed=1)
    factors = balanced_factors(W0, 3, seed=0)
    lr = 1e-4
    run = complete_deep(
        W0.shape,
        rows,
        cols,
        M[rows, cols],
        depth=3,
        init_scale=1.0,
        lr=lr,
        num_steps=1,
        factors=factors,
    )
    measured = (run.singular_values[1] - run.singular_values[0]) / lr
    G = np.zeros_like(W0)
    G[rows, cols] = (W0[rows, cols] - M[rows, cols]) / len(rows)
    U, s, Vt = np.linalg.svd(W0)
    predicted = -3 * s ** (4 / 3) * np.diag(U.T @ G @ Vt.T)
    np.testing.assert_allclose(measured, predicted, atol=1e-3 * np.abs(predicted).max())


def test_theorem3_check_is_small_and_consistent():
    result = dmf.theorem3_check.__wrapped__(12, 2, 60, (1, 2), (1e-3,), (0.1, 5.0), 0)
    assert result.sigma.shape == (12,)
    for J in (1, 2):
        assert result.deviation[J][0] < 1e-2
        assert abs(result.slope[J] - (2 - 2 / J)) < 0.05

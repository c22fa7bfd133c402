"""Claims of book/part3/deep_matrix_factorization.md, asserted with the chapter's own calls
(cached)."""

import numpy as np
import pytest

from generalization.chapters.part3 import deep_matrix_factorization

S = deep_matrix_factorization.settings()


@pytest.fixture(scope="module")
def sweep():
    return deep_matrix_factorization.run_sweep(S)  # the chapter's call


@pytest.fixture(scope="module")
def theorem():
    return deep_matrix_factorization.run_theorem3(S)  # the chapter's call


def _j(sweep, depth):
    return list(sweep.depths).index(depth)


def test_targets_have_rank_k_and_entries_of_mean_square_one(sweep):
    """Every target has rank k, Frobenius norm d and an effective rank a little below k."""
    for seed in S["seeds"]:
        M = deep_matrix_factorization.low_rank_target(S["size"], S["rank"], seed)
        assert np.linalg.matrix_rank(M) == S["rank"]
        assert abs(np.linalg.norm(M) - S["size"]) < 1e-9
    assert np.all((S["rank"] - 0.3 < sweep.target_erank) & (sweep.target_erank < S["rank"]))


def test_every_trained_depth_fits_the_observed_entries(sweep):
    """Depths two to four end with an observed loss below a thousandth of its start."""
    assert np.all(sweep.loss[:, 1:] < 1e-4)  # quick: at most 2.3e-6; the start is about 0.5
    assert np.all(sweep.loss[:, 0] < 1e-20)  # depth 1: one exact step


def test_depth_one_never_moves_an_unobserved_entry(sweep):
    """Depth one leaves every unobserved entry at its initial value, so its error is one."""
    assert sweep.depth1_moved == 0.0
    err = sweep.error[:, _j(sweep, 1)]
    assert np.all(np.abs(err - 1) < 1e-4)  # quick: 1 + 1e-6


def test_with_many_entries_every_trained_method_recovers_the_matrix(sweep):
    """With many entries depths two to four and the nuclear norm all reach a small error and
    an effective rank close to the target's."""
    assert np.all(sweep.error[1, 1:] < 0.02)  # quick: depth 2 0.0082, depth 3 0.0004
    assert np.all(sweep.nuclear_error[1] < 1e-3)  # quick: 1.6e-5
    assert np.all(np.abs(sweep.erank[1, 1:].mean(-1) - sweep.target_erank.mean()) < 0.3)


def test_with_few_entries_deeper_products_find_lower_effective_rank(sweep):
    """With few entries the effective rank falls with depth, from well above the target's at
    depth two to close to it at depths three and four."""
    erank = sweep.erank[0].mean(-1)
    assert np.all(np.diff(erank) < 0)  # quick: 54.7, 8.83, 4.06, 3.99
    assert 6 < erank[_j(sweep, 2)] < 12
    assert abs(erank[_j(sweep, 3)] - sweep.target_erank.mean()) < 0.3
    for k in range(len(S["seeds"])):  # every seed, not just the mean
        assert sweep.erank[0, _j(sweep, 3), k] < sweep.erank[0, _j(sweep, 2), k]


def test_with_few_entries_depth_three_beats_depth_two_and_the_nuclear_norm(sweep):
    """With few entries depths three and four recover the matrix, tens of times more accurately
    than the nuclear-norm minimizer, which beats depth two."""
    err = sweep.error[0]
    j2, j3, j4 = (_j(sweep, J) for J in (2, 3, 4))
    assert np.all(err[j3] < 0.03) and np.all(err[j4] < 0.03)  # quick: 0.009, 0.004 mean
    assert np.all(err[j3] < sweep.nuclear_error[0] / 5)  # every seed
    gain = sweep.nuclear_error[0].mean() / err[j3].mean()
    assert 10 < gain < 100  # quick: 29.8
    assert 0.2 < err[j2].mean() < 0.5  # quick: 0.360
    assert 0.15 < sweep.nuclear_error[0].mean() < 0.4  # quick: 0.272
    assert sweep.nuclear_error[0].mean() < err[j2].mean()
    assert 4 < sweep.nuclear_erank[0].mean() < 9  # quick: 6.81


def test_the_deeper_product_keeps_small_singular_values_small(sweep):
    """The (k+1)-th singular value peaks several times lower at depth three than at depth two,
    and the tail beyond the k-th carries a fifth of the nuclear norm at depth two, under one
    percent at depth three."""
    k = S["rank"]
    tail2, tail3 = sweep.singular_values[2][:, k], sweep.singular_values[3][:, k]
    assert tail2.max() > 4 * tail3.max()  # quick: 7.09 against 1.16
    assert tail2[-1] > 5 * tail3[-1]  # quick: 6.35 against 0.54
    share = {
        J: sweep.singular_values[J][-1, k:].sum() / sweep.singular_values[J][-1].sum()
        for J in (2, 3)
    }
    assert 0.1 < share[2] < 0.35  # quick: 21%
    assert 0 < share[3] < 0.01  # quick: 0.6%
    # the start is small for both: every singular value below a hundredth
    assert sweep.singular_values[2][0].max() < 0.01 and sweep.singular_values[3][0].max() < 0.01


def test_measured_singular_value_speeds_match_theorem_3(theorem):
    """After one gradient step from balanced factors, every measured singular-value speed is
    within a thousandth of the largest predicted one, and the gap halves with the step."""
    for J in theorem.depths:
        assert 0 < theorem.deviation[J][-1] < 1e-3  # quick: at most 4.0e-4
        ratio = theorem.deviation[J][0] / theorem.deviation[J][-1]
        assert 1.9 < ratio < 2.1  # quick: 2.00


def test_the_speed_per_unit_pull_scales_as_s_to_the_2_minus_2_over_j(theorem):
    """On a log-log plot the speed per unit pull has slope 2 - 2/J at every depth."""
    for J in theorem.depths:
        assert abs(theorem.slope[J] - (2 - 2 / J)) < 0.01  # quick: within 4e-5
    assert np.isclose(theorem.sigma.max() / theorem.sigma.min(), 1e3)


def test_exercise_flow_escape_time_formula():
    """For a constant pull, the depth-J flow blows up at s0^-(1-2/J)/((J-2)c), as the
    exercise derives."""
    J, c, s0, dt = 3, 2.0, 0.01, 1e-5
    s, t = s0, 0.0
    while s < 1e6:
        s += dt * J * c * s ** (2 - 2 / J)
        t += dt
    assert abs(t - s0 ** -(1 - 2 / J) / ((J - 2) * c)) < 0.01  # 2.32 against 2.32

import itertools

import numpy as np
import pytest

from generalization.chapters.part3 import optimizer_geometry as og


def _sampled_smoothness(H, norm, rng, count=20_000):
    # max of v^T H v over random points of the unit sphere of the norm: a lower bound that
    # comes close in three dimensions
    v = rng.standard_normal((count, H.shape[0]))
    order = {"l1": 1, "l2": 2, "linf": np.inf}[norm]
    v /= np.linalg.norm(v, ord=order, axis=1, keepdims=True)
    return np.max(np.einsum("ij,jk,ik->i", v, H, v))


@pytest.mark.parametrize("norm", ["l1", "l2", "linf"])
def test_smoothness_is_the_max_of_the_quadratic_form_on_the_unit_ball(norm):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((4, 3))
    H = X.T @ X / 4
    beta = og.smoothness(X, norm)
    sampled = _sampled_smoothness(H, norm, rng)
    assert sampled <= beta + 1e-12
    assert sampled > 0.97 * beta


def test_smoothness_vertices_by_hand():
    X = np.array([[1.0, 2.0], [0.0, 1.0]])  # H = [[1/2, 1], [1, 5/2]]
    assert og.smoothness(X, "l1") == pytest.approx(2.5)
    assert og.smoothness(X, "linf") == pytest.approx(0.5 + 2.5 + 2)
    signs = np.array(list(itertools.product((-1, 1), repeat=2)))
    assert og.smoothness(X, "linf") == pytest.approx(max(s @ (X.T @ X / 2) @ s for s in signs))


def test_smoothness_rejects_bad_norm():
    with pytest.raises(ValueError, match="norm must be"):
        og.smoothness(np.eye(2), "l3")


def test_solution_line_spans_the_solutions():
    X, y, _ = og.line_problem()
    point, direction = og.solution_line(X, y)
    np.testing.assert_allclose(X @ point, y, atol=1e-12)
    np.testing.assert_allclose(X @ direction, 0, atol=1e-12)
    assert np.linalg.norm(direction) == pytest.approx(1)
    cross = np.cross(X[0], X[1])  # the null space of two rows in R^3
    np.testing.assert_allclose(direction, cross / np.linalg.norm(cross), atol=1e-12)
    w = point + 0.3 * direction
    assert og.position(w, point, direction) == pytest.approx(0.3)


def test_solution_line_rejects_a_square_system():
    with pytest.raises(ValueError, match="X must have shape"):
        og.solution_line(np.eye(3), np.ones(3))


def test_norms_and_margins_by_hand():
    w = np.array([3.0, -4.0])
    assert og.norm_of(w, "l1") == 7 and og.norm_of(w, "l2") == 5 and og.norm_of(w, "linf") == 4
    X = np.array([[1.0, 0.0], [0.0, -1.0]])
    y = np.array([1.0, 1.0])
    # margins y_i <w, x_i> = 3 and 4: the smallest is 3
    assert og.normalized_margin(X, y, w, "l2") == pytest.approx(3 / 5)
    assert og.normalized_margin(X, y, w, "linf") == pytest.approx(3 / 4)
    assert og.angle_deg(np.array([1.0, 0.0]), np.array([1.0, 1.0])) == pytest.approx(45)
    assert og.angle_deg(w, 2 * w) == pytest.approx(0, abs=1e-6)


def test_separable_data_is_separable_and_seeded():
    X, y = og.separable_data(3, 20, 4)
    assert X.shape == (20, 4) and set(np.unique(y)) <= {-1.0, 1.0}
    X2, y2 = og.separable_data(3, 20, 4)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    from generalization import geometry

    w = geometry.max_margin(X, y, "l2")  # raises if the data were not separable
    assert np.min(y * (X @ w)) > 0


def test_checkpoints_are_log_spaced_and_end_at_num_steps():
    steps = og.checkpoints_for(20_000)
    assert steps[0] == 1 and steps[-1] == 20_000
    assert list(steps) == sorted(set(steps))
    assert og.checkpoints_for(1) == (1,)


def test_potential_names():
    assert [og.potential_name(p) for p in og.POTENTIALS] == ["l2", "entropy", "l3"]


def test_experiments_reject_bad_step_fractions():
    with pytest.raises(ValueError, match="lr_fractions must be"):
        og.steepest_experiment.uncached((0.5, 1.5), 10)
    with pytest.raises(ValueError, match="lr_fractions must be"):
        og.mirror_experiment.uncached((0.0,), 10)

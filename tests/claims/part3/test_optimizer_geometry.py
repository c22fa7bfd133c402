"""Claims of book/part3/optimizer_geometry.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization.chapters.part3 import optimizer_geometry as og

S = og.settings()


@pytest.fixture(scope="module")
def md():
    return og.mirror_experiment(S["mirror_lrs"], S["mirror_steps"])  # the chapter's call


@pytest.fixture(scope="module")
def sd():
    return og.steepest_experiment(S["steepest_lrs"], S["steepest_steps"])  # the chapter's call


@pytest.fixture(scope="module")
def mm():
    return og.margin_experiment(**S["margin"])  # the chapter's call


def test_the_system_has_a_line_of_solutions_through_the_positive_orthant():
    """The system of two equations in three unknowns has a line of solutions that passes
    through the positive orthant, and every optimizer starts at the same positive point."""
    X, y, w0 = og.line_problem()
    point, direction = og.solution_line(X, y)
    s = np.linspace(-2, 2, 4001)
    positive = np.all(point + s[:, None] * direction > 0, axis=1)
    assert positive.any()  # quick: s in about (0.41, 0.59)
    assert np.all(w0 > 0)


def test_mirror_descent_ends_on_the_solutions(md):
    """Every mirror descent run, for every potential and step size, ends on the line of
    solutions (largest residual of order 1e-13)."""
    for name in md.residuals:
        assert np.max(md.residuals[name]) < 1e-9  # quick: 5.4e-14


def test_mirror_descent_limit_is_the_bregman_projection_at_every_step_size(md):
    """The last iterate of mirror descent equals the independently computed Bregman projection
    of the start, for every potential and every step size."""
    assert len(md.lrs) >= 3 and max(md.lr_fractions) / min(md.lr_fractions) >= 10
    for name in md.projections:
        gap = np.max(np.abs(md.limits[name] - md.projections[name]))
        assert gap < 1e-9  # quick: 4.6e-11 (entropy, the projection's own tolerance)


def test_different_potentials_give_different_interpolants(md):
    """The Euclidean, entropy and cubic potentials give three different interpolants of the same
    system, at least about a quarter apart."""
    names = list(md.projections)
    assert names == ["l2", "entropy", "l3"]
    distances = [
        np.linalg.norm(md.projections[a] - md.projections[b])
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    ]
    assert 0.2 < min(distances) and max(distances) < 1.0  # quick: 0.26 and 0.53


def test_entropy_keeps_coordinates_positive_and_cubic_shrinks_the_largest(md):
    """The entropy projection is positive; the cubic potential's has a smaller largest
    coordinate than the Euclidean one's and a more negative first coordinate."""
    assert np.all(md.projections["entropy"] > 0)
    l2, l3 = md.projections["l2"], md.projections["l3"]
    assert np.max(np.abs(l3)) < np.max(np.abs(l2))  # quick: 0.706 < 0.771
    assert l3[0] < l2[0] < 0  # quick: -0.381 < -0.188


def test_gradient_descent_limit_is_w0_plus_pinv_residual(md):
    """Gradient descent from w0 converges to w0 + pinv(X)(y - X w0) (first exercise)."""
    X, y, w0 = og.line_problem()
    closed = w0 + np.linalg.pinv(X) @ (y - X @ w0)
    assert np.max(np.abs(md.limits["l2"] - closed)) < 1e-10  # quick: 1.5e-14


def test_steepest_descent_ends_on_the_solutions(sd):
    """Every steepest descent run, in every norm and at every step size, converges to a
    solution of the system."""
    for norm in og.NORMS:
        assert np.max(sd.residuals[norm]) < 1e-9  # quick: 2.6e-15


def test_euclidean_steepest_descent_limit_does_not_move(sd, md):
    """In l2 the limit does not move with the step size, and it is the Euclidean projection of
    the start."""
    assert np.ptp(sd.positions["l2"]) < 1e-10  # quick: 8.9e-16
    assert np.max(np.abs(sd.limits["l2"] - md.projections["l2"])) < 1e-10


def test_l1_and_linf_limits_move_with_the_step_size(sd):
    """In l1 and l_inf the limit takes several positions on the line of solutions, spread over
    about half a unit, as the step size changes."""
    for norm in ("l1", "linf"):
        assert np.ptp(sd.positions[norm]) > 0.3  # quick: 0.54 (l1), 0.54 (linf)
        assert len(np.unique(np.round(sd.positions[norm], 6))) >= 3  # quick: 9 and 4


def test_small_steps_settle_on_one_solution_then_the_limit_jumps(sd):
    """For small steps the l1 and l_inf limits coincide across step sizes; past a threshold
    they jump to other solutions."""
    for norm in ("l1", "linf"):
        positions = sd.positions[norm]
        assert np.ptp(positions[:4]) < 1e-9  # the four smallest step sizes agree
        assert abs(positions[-1] - positions[0]) > 0.3  # quick: 0.50 (l1), 0.54 (linf)


def test_steepest_descent_smoothness_constants():
    """The smoothness constants of the squared loss are the Hessian's largest diagonal entry in
    l1, its largest eigenvalue in l2 and its largest sign-vector quadratic form in l_inf (second
    exercise)."""
    X, _, _ = og.line_problem()
    assert og.smoothness(X, "l1") == pytest.approx(4.0)
    assert og.smoothness(X, "l2") == pytest.approx(6.5)
    assert og.smoothness(X, "linf") == pytest.approx(17.0)


def test_small_step_limits_stop_moving():
    """Over step sizes of one to five hundredths of the largest, the l1 and l_inf limits do not
    move (third exercise)."""
    small = og.steepest_experiment((0.01, 0.02, 0.05), S["steepest_steps"] * 5)
    for norm in ("l1", "linf"):
        assert np.ptp(small.positions[norm]) < 1e-9  # quick: 1.8e-15 and 2.0e-14


def test_normalized_margin_approaches_the_max_margin_of_its_norm(mm):
    """At the last step the normalized margin of each run falls short of its norm's maximum by
    less than a thousandth of it."""
    for norm in og.NORMS:
        gap = mm.gap[norm][-1]
        assert 0 <= gap < 1e-3 * mm.best[norm]  # quick: 3.2e-4, 2.5e-5, 2.3e-4 (relative)
        assert mm.gap[norm][0] > 100 * gap  # it started far away


def test_angle_to_the_max_margin_separator_shrinks(mm):
    """The angle between the iterate and its norm's max-margin separator shrinks from degrees to
    below half a degree."""
    for norm in og.NORMS:
        assert mm.angle[norm][-1] < 0.5  # quick: 0.33, 0.057, 0.014 degrees
        assert mm.angle[norm][0] > 10 * mm.angle[norm][-1]


def test_gap_and_angle_shrink_roughly_as_one_over_t(mm):
    """Over the last decade of steps the margin gap and the angle shrink roughly as one over the
    number of steps."""
    steps = np.array(mm.checkpoints, dtype=float)
    decade = steps >= steps[-1] / 10
    for norm in og.NORMS:
        for series in (mm.gap[norm], mm.angle[norm]):
            slope = np.polyfit(np.log(steps[decade]), np.log(series[decade]), 1)[0]
            assert -1.4 < slope < -0.6  # quick: about -1


def test_each_run_is_best_in_its_own_norm(mm):
    """Each run's margin is the largest of the three runs in its own norm, and the three limit
    directions differ."""
    for measured in og.NORMS:
        own = mm.cross[measured][measured]
        for run in og.NORMS:
            if run != measured:
                assert mm.cross[run][measured] < own
    for a in og.NORMS:
        for b in og.NORMS:
            if a < b:
                assert og.angle_deg(mm.max_margin[a], mm.max_margin[b]) > 1  # quick: 2.6 at least

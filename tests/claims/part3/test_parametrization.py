"""Claims of book/part3/parametrization.md, asserted with the chapter's own calls."""

from fractions import Fraction

import pytest

from generalization.chapters.part3 import parametrization


@pytest.fixture(scope="module")
def result():
    return parametrization.homework(x=7, y=10, lr=0.1)  # the chapter's call


def test_both_parametrizations_start_at_the_same_line(result):
    """Both parametrizations start at the same line, y = x + 2, with loss 0.5 on the data point."""
    for name in ("f1", "f2"):
        assert (result.before[name].slope, result.before[name].intercept) == (1, 2)
    assert result.before["f1"].loss(7, 10) == Fraction(1, 2)  # "the loss was 0.5"


def test_one_step_lands_where_the_hand_computation_says(result):
    """One gradient step takes f1 to the line y = 1.7x + 2.1 and f2 to y = 71x + 2.1, as computed
    by hand."""
    f1, f2 = result.after_step["f1"], result.after_step["f2"]
    assert f1.params == (Fraction(17, 10), Fraction(21, 10))  # (w1, w2) = (1.7, 2.1)
    assert (f1.slope, f1.intercept) == (Fraction(17, 10), Fraction(21, 10))
    assert f2.params == (Fraction(71, 10), Fraction(21, 10))  # (w3, w4) = (7.1, 2.1)
    assert (f2.slope, f2.intercept) == (71, Fraction(21, 10))


def test_same_intercept_move_and_slope_move_c_squared_times(result):
    """Both intercepts move by the same amount, while the slope moves c^2 = 100 times as far in
    the second parametrization."""
    b1 = result.after_step["f1"].intercept - result.before["f1"].intercept
    b2 = result.after_step["f2"].intercept - result.before["f2"].intercept
    assert b1 == b2
    s1 = result.after_step["f1"].slope - result.before["f1"].slope
    s2 = result.after_step["f2"].slope - result.before["f2"].slope
    assert s2 / s1 == 100


def test_autograd_agrees_to_double_precision(result):
    """PyTorch's autograd agrees with the exact rational step to within the rounding of double
    precision."""
    for name in ("f1", "f2"):
        for exact, by_torch in zip(result.after_step[name].params, result.torch_after_step[name]):
            assert abs(float(exact) - by_torch) < 1e-12


def test_neither_step_is_good(result):
    """Neither step is a good one: f1 overshoots the target and f2 lands far beyond it, both with
    a larger loss."""
    f1, f2 = result.after_step["f1"], result.after_step["f2"]
    assert f1.predict(7) == 14 and f1.loss(7, 10) == 8  # overshoots the target 10
    assert result.before["f1"].predict(7) < 10 < f1.predict(7)
    assert f2.predict(7) == Fraction(4991, 10) and f2.loss(7, 10) == Fraction(23921881, 200)
    for name in ("f1", "f2"):
        assert result.after_step[name].loss(7, 10) > result.before[name].loss(7, 10)


def test_stable_learning_rates_and_0_1_exceeds_both(result):
    """The stable learning rate 2/(c^2 x^2 + 1) is 0.04 for f1 and about 4e-4 for f2, and the
    homework's 0.1 exceeds both."""
    assert result.stable_lr["f1"] == Fraction(1, 25)  # 0.040
    assert result.stable_lr["f2"] == Fraction(2, 4901)  # 4.08e-04
    assert result.lr > result.stable_lr["f1"] > result.stable_lr["f2"]


def test_slope_step_grows_as_c_squared():
    """For every slope factor c, not only 10, one step changes the slope c^2 times as much as
    with c = 1."""
    scales = parametrization.SLOPE_FACTORS
    steps = parametrization.slope_step_by_scale(scales, x=7, y=10, lr=0.1)  # the chapter's call
    at_one = steps[list(scales).index(1)]
    assert at_one == Fraction(7, 10)  # c = 1: the slope moves by 0.1 x 7 x 1
    for c, step in zip(scales, steps):
        assert step / at_one == parametrization.exact(c) ** 2


def test_small_steps_interpolate_on_different_lines(result):
    """With small steps both parametrizations fit the point, but on different lines: the second
    puts nearly all its change into the slope."""
    limit1, limit2 = result.limit["f1"], result.limit["f2"]
    assert limit1.predict(7) == 10 and limit2.predict(7) == 10
    assert (limit1.slope, limit1.intercept) == (Fraction(114, 100), Fraction(202, 100))
    assert (limit2.slope, limit2.intercept) == (Fraction(5601, 4901), Fraction(9803, 4901))
    assert f"{float(limit2.slope):.4f} {float(limit2.intercept):.4f}" == "1.1428 2.0002"
    # "the first moved its intercept 98 times as far as the second did"
    ratio = (limit1.intercept - 2) / (limit2.intercept - 2)
    assert round(float(ratio)) == 98
    # "the second put nearly all of its change into the slope"
    # (a move of 1/700 in intercept per unit of slope, against 1/7 for the first)
    assert (limit2.intercept - 2) / (limit2.slope - 1) == Fraction(1, 700)
    assert (limit1.intercept - 2) / (limit1.slope - 1) == Fraction(1, 7)


def test_descent_paths_reach_the_closed_form_limits(result):
    """Gradient descent with small steps follows a path from the common start to each
    parametrization's closed-form limit line."""
    for name in ("f1", "f2"):
        assert result.paths[name][0] == (1.0, 2.0)  # each path starts at the common first line
        slope, intercept = result.paths[name][-1]
        assert abs(slope - float(result.limit[name].slope)) < 1e-12
        assert abs(intercept - float(result.limit[name].intercept)) < 1e-12
        assert len(set(result.paths[name][:10])) == 10  # a path of distinct steps, not a jump


def test_exercise_plain_squared_error_doubles_the_step():
    """Without the factor 1/2 in the loss the gradient doubles, the same as taking the learning
    rate 0.2."""
    plain = parametrization.homework(x=7, y=10, lr=0.2)
    assert (plain.after_step["f1"].slope, plain.after_step["f1"].intercept) == (
        Fraction(24, 10),
        Fraction(22, 10),
    )
    assert (plain.after_step["f2"].slope, plain.after_step["f2"].intercept) == (
        141,
        Fraction(22, 10),
    )


def test_exercise_c_three_sevenths_lands_exactly():
    """With slope factor c = 3/7 a single step lands exactly on the data point, and also moves
    the intercept by 0.1."""
    c = Fraction(3, 7)
    landed = parametrization.gradient_step(parametrization.line((1 / c, 2), c), 7, 10, 0.1)
    assert landed.predict(7) == 10
    assert landed.intercept - 2 == Fraction(1, 10)  # "also moved the intercept, by 0.1"


def test_ledger_values_agree_with_the_hand_computation(result):
    """The package's values in the reproduction ledger agree exactly with the gradient step
    evaluated by hand."""
    hand = {"f1": (1.7, 2.1), "f2": (71, 2.1)}
    for name, (slope, intercept) in hand.items():
        assert float(result.after_step[name].slope) == slope
        assert float(result.after_step[name].intercept) == intercept

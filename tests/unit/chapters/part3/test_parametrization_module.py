from fractions import Fraction

import numpy as np
import pytest

from generalization.chapters.part3 import parametrization


@pytest.mark.parametrize("scale", [Fraction(1, 10), 1, 3, 10])
@pytest.mark.parametrize("x, y", [(7, 10), (-2.5, 1), (0.3, -4)])
def test_exact_step_matches_autograd(scale, x, y):
    state = parametrization.line((Fraction(1) / scale, 2), scale)
    exact = parametrization.gradient_step(state, x, y, 0.01)
    by_torch = parametrization.torch_gradient_step(state.params, scale, x, y, 0.01)
    np.testing.assert_allclose([float(p) for p in exact.params], by_torch, rtol=1e-12, atol=1e-12)


def test_step_in_function_space_scales_with_c_squared():
    # slope += -lr c^2 x r, intercept += -lr r, for every c.
    for c in (Fraction(1, 3), 1, 2, 10):
        state = parametrization.line((Fraction(1) / c, 2), c)
        after = parametrization.gradient_step(state, 7, 10, Fraction(1, 10))
        r = state.predict(7) - 10
        assert after.slope - state.slope == -Fraction(1, 10) * c * c * 7 * r
        assert after.intercept - state.intercept == -Fraction(1, 10) * r


def test_residual_contracts_by_the_stated_factor():
    state = parametrization.line((1, 2), 10)
    lr = Fraction(1, 10000)
    r0 = state.predict(7) - 10
    r1 = parametrization.gradient_step(state, 7, 10, lr).predict(7) - 10
    assert r1 == r0 * (1 - lr * (100 * 49 + 1))
    assert parametrization.stable_lr(10, 7) == Fraction(2, 4901)


@pytest.mark.parametrize("scale", [1, 10])
def test_descent_converges_to_the_closed_form_limit(scale):
    state = parametrization.line((Fraction(1, scale), 2), scale)
    limit = parametrization.limit_of_descent(state, 7, 10)
    assert limit.predict(7) == 10  # an interpolant
    path = parametrization.descent_path(state, 7, 10, parametrization.stable_lr(scale, 7) / 5, 80)
    assert path[-1] == pytest.approx((float(limit.slope), float(limit.intercept)), abs=1e-12)
    # The limit is the interpolant nearest the start in parameter space: the move is
    # orthogonal to the interpolating set, i.e. parallel to the gradient direction (c x, 1).
    da, db = (limit.params[0] - state.params[0], limit.params[1] - state.params[1])
    assert da * 1 - db * scale * 7 == 0


def test_unstable_learning_rate_diverges():
    state = parametrization.line((1, 2), 1)
    path = parametrization.descent_path(
        state, 7, 10, parametrization.stable_lr(1, 7) * Fraction(11, 10), 40
    )
    assert abs(path[-1][0]) > 10 * abs(path[0][0])


def test_floats_are_read_as_their_decimal():
    assert parametrization.exact(0.1) == Fraction(1, 10)
    assert parametrization.exact("2.5") == Fraction(5, 2)
    assert parametrization.exact(np.float64(0.2)) == Fraction(1, 5)


@pytest.mark.parametrize("bad", [True, None, "abc", float("nan"), float("inf"), [1]])
def test_exact_rejects_non_numbers(bad):
    with pytest.raises(ValueError, match="must be a (finite )?real number"):
        parametrization.exact(bad)


def test_bad_inputs_raise_value_errors():
    with pytest.raises(ValueError, match=r"params must be a pair \(a, b\); got 3"):
        parametrization.line(3)
    with pytest.raises(ValueError, match="scale must be nonzero"):
        parametrization.line((1, 2), 0)
    with pytest.raises(ValueError, match="lr must be positive; got -1/10"):
        parametrization.gradient_step(parametrization.line((1, 2)), 7, 10, -0.1)
    with pytest.raises(ValueError, match="num_steps must be a non-negative integer; got -1"):
        parametrization.descent_path(parametrization.line((1, 2)), 7, 10, 0.01, -1)
    with pytest.raises(ValueError, match="lr_fraction must lie strictly between 0 and 1; got 1"):
        parametrization.homework(lr_fraction=1)
    with pytest.raises(ValueError, match="scales must be nonzero"):
        parametrization.slope_step_by_scale([1, 0])

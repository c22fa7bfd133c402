"""Claims of book/part4/spline_bias.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization.chapters.part4 import spline_bias as sb

S = sb.settings()


@pytest.fixture(scope="module")
def wide():
    return sb.width_experiment(**S["width"])  # the chapter's call


@pytest.fixture(scope="module")
def dense():
    return sb.density_experiment(**S["density"])  # the chapter's call


def _slope(widths, distances):
    """Least-squares slope of log(mean distance over seeds) against log(width)."""
    return np.polyfit(np.log(widths), np.log(distances.mean(axis=1)), 1)[0]


def test_every_network_fits_the_data(wide, dense):
    """Every trained network fits the training points to within a few thousandths."""
    assert np.all(wide.train_residual < 0.008)  # quick: 0.0006 to 0.004
    assert np.all(dense.train_residual < 0.008)  # quick: 0.003 to 0.0035


def test_network_approaches_the_kernel_like_one_over_root_width(wide):
    """The distance from the network to the infinite-width kernel's gradient descent falls like
    one over the square root of the width."""
    slope = _slope(wide.widths, wide.to_kernel)
    assert -0.75 < slope < -0.3  # quick: about -0.49
    assert np.all(wide.to_kernel[-1] < 0.025)  # quick: 0.006 and 0.012
    assert np.all(wide.to_kernel[0] > 0.015)  # quick: 0.029 and 0.043


def test_network_is_much_closer_to_its_own_linearization(wide):
    """The network is far closer to gradient descent on its own tangent kernel than to the
    infinite-width kernel, and that gap shrinks faster than one over root width."""
    assert np.all(wide.to_linearized[-1] < 0.1 * wide.to_kernel[-1])  # quick: 0.014 to 0.04 x
    assert np.all(wide.to_linearized[-1] < 1e-3)  # quick: 1.7e-4 and 2.6e-4
    assert _slope(wide.widths, wide.to_linearized) < -1.2  # quick: about -1.8


def test_wide_network_is_close_to_the_natural_cubic_spline(wide):
    """At the largest width the trained network is within about one percent of the target's
    range of the natural cubic spline, and the distance shrinks with width."""
    assert np.all((0.004 < wide.to_spline[-1]) & (wide.to_spline[-1] < 0.025))  # 0.011, 0.014
    means = wide.to_spline.mean(axis=1)  # quick: 0.040, 0.018, 0.0125
    assert np.all(np.diff(means) < 0)
    assert means[0] > 2 * means[-1]


def test_kernel_limit_is_the_natural_spline_up_to_its_linear_part(wide):
    """The infinite-width kernel interpolant of the uniform initialization differs from the
    natural cubic spline by a few thousandths, and gradient descent stops a little short of it."""
    gap = sb.sup_distance(wide.kernel_limit, wide.spline)
    assert 0.002 < gap < 0.008  # quick: 0.0048
    short = sb.sup_distance(wide.kernel_at_t, wide.kernel_limit)
    assert 0.001 < short < 0.005  # quick: 0.0025


def test_concentrated_breakpoints_give_the_weighted_interpolant_not_the_spline(dense):
    """With breakpoints concentrated at the origin the network follows the weighted
    curvature penalty: it is several times closer to that solution than to the natural spline."""
    assert np.all(dense.to_weighted < 0.04)  # quick: 0.023 and 0.025
    assert np.all(dense.to_spline > 0.05)  # quick: 0.074 and 0.104
    assert np.all(dense.to_spline > 2 * dense.to_weighted)  # quick: 3.0 and 4.5 times


def test_weighted_solution_differs_visibly_from_the_spline(dense):
    """The weighted variational solution and the natural spline differ by several hundredths."""
    assert 0.06 < sb.sup_distance(dense.weighted, dense.spline) < 0.11  # quick: 0.082


def test_kernel_interpolant_solves_the_weighted_variational_problem(dense):
    """The infinite-width kernel interpolant and the grid solution of the weighted problem
    agree to within a thousandth."""
    assert sb.sup_distance(dense.kernel_limit, dense.weighted) < 0.002  # quick: 0.0007

"""`generalization.fit` against exact power laws and SciPy's linear regression."""

import numpy as np
import pytest
from scipy.stats import linregress

from generalization.fit import loglog_slope, power_law


def test_exact_power_laws_are_recovered():
    k = np.arange(10, 60)
    slope, C = power_law(k, 3.5 * k**-2.7)
    assert slope == pytest.approx(-2.7) and C == pytest.approx(3.5)
    x = np.array([2.0, 4.0, 16.0, 64.0])
    assert loglog_slope(x, 3.0 * x**-0.75) == pytest.approx(-0.75)


def test_the_widths_of_the_chapters():
    widths = np.array([10, 100, 1000])
    assert loglog_slope(widths, 3 * widths**-0.5) == pytest.approx(-0.5)
    widths = np.array([16, 32, 64, 128])
    values = 3.0 * widths**-0.5
    rows = np.vstack([values, 2.0 * widths**-1.0])
    np.testing.assert_allclose(loglog_slope(widths, rows), [-0.5, -1.0])


def test_rows_are_fitted_one_by_one():
    widths = np.array([10, 100, 1000])
    rows = [widths**-1.0, 2.0 * widths**0.25]
    slopes, constants = power_law(widths, rows)
    np.testing.assert_allclose(slopes, [-1.0, 0.25])
    np.testing.assert_allclose(constants, [1.0, 2.0])


def test_noisy_data_match_scipy_linregress():
    rng = np.random.default_rng(0)
    x = np.geomspace(1, 1e4, 12)
    values = 0.3 * x**-0.6 * np.exp(0.2 * rng.standard_normal((3, x.size)))
    slopes, constants = power_law(x, values)
    for row, slope, constant in zip(values, slopes, constants):
        reference = linregress(np.log(x), np.log(row))
        assert slope == pytest.approx(reference.slope, rel=1e-12)
        assert constant == pytest.approx(np.exp(reference.intercept), rel=1e-12)
        assert loglog_slope(x, row) == pytest.approx(reference.slope, rel=1e-12)


def test_bad_input_is_named():
    x = np.arange(1.0, 5.0)
    with pytest.raises(ValueError, match="values must be positive"):
        loglog_slope(x, np.array([1.0, 0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="x must be positive"):
        loglog_slope(-x, x)
    with pytest.raises(
        ValueError, match=r"values must have shape \(4,\) or \(rows, 4\).*got shape \(3,\)"
    ):
        power_law(x, x[:-1])
    with pytest.raises(ValueError, match=r"at least 2\); got shape \(1,\) for 1 points"):
        power_law(x[:1], x[:1])

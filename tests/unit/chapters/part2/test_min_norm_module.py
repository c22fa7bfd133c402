"""Unit tests of the min-norm chapter's experiments (generalization.chapters.part2.min_norm)."""

import numpy as np
import pytest

from generalization import linear
from generalization.chapters.part2 import min_norm


@pytest.mark.parametrize("gamma", [0.5, 2.0, 5.0])
def test_closed_form_matches_monte_carlo(gamma):
    n = 300
    curve = min_norm.risk_curve.uncached([gamma], n, 1.0, 1.0, seeds=tuple(range(12)))
    exact = linear.expected_risk_gaussian(n, int(curve.p[0]), 1.0, 1.0)
    # the limit is within O(1/n) of the exact finite-n mean, which the simulation estimates
    assert abs(curve.closed_form[0] - exact) < 2 * curve.closed_form[0] / (n * abs(1 - gamma))
    assert abs(curve.risk_mean[0] - exact) < 4 * curve.risk_std[0] / np.sqrt(12)
    np.testing.assert_allclose(curve.norm2_per_seed.mean(1), curve.norm2_mean)
    assert (
        abs(curve.ridge_risk_mean[0] - curve.ridge_closed_form[0])
        < 4 * curve.ridge_risk_std[0] / np.sqrt(12) + 0.02
    )


def test_four_routes_agree():
    routes = min_norm.four_routes(n=20, p=50, seed=1)
    assert routes.pinv_gap < 1e-12 and routes.kernel_gap < 1e-10 and routes.train_residual < 1e-10
    assert routes.gd_gap[-1] < 1e-10 and routes.gd_w0_gap_nearest[-1] < 1e-10
    assert routes.gd_rowspace_gap.max() < 1e-12


def test_risk_curve_rejects_bad_input():
    with pytest.raises(ValueError, match="n must .*got 1"):
        min_norm.risk_curve.uncached([0.5], 1)

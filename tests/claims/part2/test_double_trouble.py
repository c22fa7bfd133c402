"""Claims of book/part2/double_trouble.md, asserted with the chapter's own calls (cached).

Thresholds come from the quick-scale run (8 samplings x 10 feature draws); each comment
gives the measured value.
"""

import numpy as np
import pytest

from generalization import variance
from generalization.chapters.part2 import double_trouble as dt

S = dt.settings()


@pytest.fixture(scope="module")
def sw():
    return dt.sweep(**S)  # the chapter's call


@pytest.fixture(scope="module")
def limit(sw):
    return variance.ensemble_limit(sw.ks, sw.ensemble.T)  # the chapter's call


def at(sw, ratio):
    i = int(np.argmin(np.abs(sw.ratios - ratio)))
    assert sw.ratios[i] == pytest.approx(ratio)
    return i


def test_grid_and_sizes(sw):
    assert (
        1.0 in sw.ratios
        and sw.ratios.min() == pytest.approx(0.1)
        and sw.ratios.max() == pytest.approx(10)
    )
    assert sw.ks[-1] == len(sw.inits) == len(S["inits"]) and len(sw.samplings) == len(
        S["samplings"]
    )


def test_fits_interpolate_beyond_the_threshold(sw):
    over = sw.ratios > 1
    assert np.all(
        sw.ridgeless_train_mse[over] < 0.01 * sw.noise_var
    )  # measured at most 0.001 noise_var
    assert sw.ridgeless_train_mse[at(sw, 1.0)] < 0.05 * sw.noise_var  # measured 0.026 noise_var
    assert np.all(
        sw.ridgeless_train_mse[sw.ratios < 0.9] > 0.3 * sw.noise_var
    )  # cannot fit the noise: measured at least 0.39


def test_peak_at_n_equals_big_n(sw):
    err = sw.ridgeless["test_error"]
    i = at(sw, 1.0)
    assert int(np.argmax(err)) == i
    assert err[i] > 1.5 * max(err[i - 1], err[i + 1])  # measured 2.0
    assert err[i] > 5 * err[-1]  # second descent: measured 38x lower at N = 10 n


def test_noise_and_initialization_variances_make_the_peak(sw):
    r = sw.ridgeless
    i = at(sw, 1.0)
    assert (r["var_noise"][i] + r["var_init"][i]) / r["test_error"][i] > 0.95  # measured 0.995
    assert (
        r["var_noise"][i] > 0.3 * r["test_error"][i] and r["var_init"][i] > 0.3 * r["test_error"][i]
    )  # 0.55, 0.44
    assert abs(r["var_sampling"][i]) < 0.01 * r["test_error"][i]  # measured 0.0006
    assert np.all(np.abs(r["var_sampling"]) < 0.05)  # small everywhere: measured at most 0.028


def test_the_interaction_not_initialization_alone_diverges(sw):
    r = sw.ridgeless
    i = at(sw, 1.0)
    assert r["var_interaction"][i] / r["var_init"][i] > 0.9  # measured 0.96
    assert r["var_init_main"][i] <= r["var_init_main"][sw.ratios < 1].max()  # no peak: 0.15 vs 0.22
    assert r["var_init_main"].max() < 0.3  # measured 0.22


def test_bias_falls_then_stays_constant_beyond_the_threshold(sw):
    bias = sw.ridgeless["bias2"]
    over = sw.ratios >= 1
    assert bias[over].max() / bias[over].min() < 1.4  # measured 1.19
    assert bias[0] > 5 * bias[at(sw, 1.0)]  # measured 15
    assert np.all(np.diff(bias[sw.ratios <= 1]) < 0)


def test_ensembling_lowers_the_peak(sw):
    i, k10 = at(sw, 1.0), list(sw.ks).index(10)
    assert sw.ensemble[i, 0] / sw.ensemble[i, k10] > 5  # measured 8.5
    assert np.all(np.diff(sw.ensemble, axis=1) < 0)  # more members, lower error, at every N


def test_ensemble_error_follows_one_over_k(sw, limit):
    e_inf, v = limit
    predicted = e_inf[:, None] + v[:, None] / np.array(sw.ks)
    rel = np.abs(predicted - sw.ensemble).max(axis=1) / sw.ensemble.min(axis=1)
    assert rel.max() < 0.05  # measured 0.024


def test_infinite_ensemble_has_no_peak_and_is_flat_beyond_the_threshold(sw, limit):
    e_inf, v = limit
    over = sw.ratios >= 1
    assert e_inf[over].max() / e_inf[over].min() < 1.15  # measured 1.065
    assert e_inf[at(sw, 1.0)] < 1.2 * e_inf.min()  # measured 1.08
    assert e_inf[0] > 3 * e_inf[at(sw, 1.0)]  # measured 3.7
    assert int(np.argmax(v)) == at(sw, 1.0)  # what ensembling removes peaks at N = n


def test_tuned_ridge_removes_the_peak(sw):
    err = sw.ridge["test_error"]
    i = at(sw, 1.0)
    assert np.all(np.diff(err) < 0)  # measured: falls at every step
    assert sw.ridgeless["test_error"][i] / err[i] > 10  # measured 18
    assert sw.ridge["var_init"].max() < 0.25  # measured 0.17
    assert np.all(sw.best_alpha > S["ridgeless_alpha"])


def test_variance_parts_add_up(sw):
    for result in (sw.ridgeless, sw.ridge):
        total = sum(result[p] for p in variance.PARTS)
        np.testing.assert_allclose(total, result["test_error"], rtol=1e-9)


def test_exercise_noiseless_labels_still_peak():
    quiet = dt.sweep(**{**S, **dt.NOISELESS})  # the exercise's call
    r = quiet.ridgeless
    i = int(np.argmin(np.abs(quiet.ratios - 1.0)))
    assert np.all(r["var_noise"] == 0)
    assert int(np.argmax(r["test_error"])) == i
    assert r["var_init"][i] / r["test_error"][i] > 0.9  # measured 0.98
    assert quiet.ensemble[i, -1] < 0.3 * quiet.ensemble[i, 0]  # K = 8: measured 0.14


def test_noise_and_initialization_variances_peak_at_the_threshold(sw):
    i = at(sw, 1.0)
    for part in ("var_noise", "var_init"):
        values = sw.ridgeless[part]
        assert int(np.argmax(values)) == i
        assert np.all(np.diff(values[: i + 1]) > 0) and np.all(
            np.diff(values[i:]) < 0
        )  # measured: rise, then fall

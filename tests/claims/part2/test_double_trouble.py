"""Claims of book/part2/double_trouble.md, asserted with the chapter's own calls (cached).

Bounds come from the quick-scale run (8 samplings x 10 feature draws). Each comment gives the
value the chapter's seeds measure and the standard deviation ``sd`` of that value over five
disjoint blocks of seeds of the same size (samplings 8k..8k+7 and feature draws 10k..10k+9,
k = 0..4); a bound is the measured value plus or minus about three of those standard
deviations, so a claim fails when a result moves by more than its seed noise.
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
    return dt.infinite_ensemble(sw)  # the chapter's call


def at(sw, ratio):
    return int(np.argmin(np.abs(sw.ratios - ratio)))


def test_fits_interpolate_beyond_the_threshold(sw):
    """From the threshold on the ridgeless read-out interpolates the noisy labels; below it, it
    cannot fit the noise."""
    train = sw.ridgeless_train_mse / sw.noise_var
    assert 0.0006 < train[sw.ratios > 1].max() < 0.0014  # measured 0.0010 (sd 0.0001)
    assert 0.023 < train[at(sw, 1.0)] < 0.030  # measured 0.0265 (sd 0.0009)
    assert 0.37 < train[sw.ratios < 0.9].min() < 0.41  # cannot fit the noise: 0.391 (sd 0.007)


def test_peak_at_n_equals_big_n(sw):
    """The test error of the ridgeless read-out peaks at N = n and descends a second time beyond
    it."""
    err = sw.ridgeless["test_error"]
    i = at(sw, 1.0)
    assert int(np.argmax(err)) == i  # at N = n in every block of seeds
    assert 8.1 < err[i] < 9.2  # measured 8.63 (sd 0.18)
    assert 1.94 < err[i] / max(err[i - 1], err[i + 1]) < 2.10  # measured 2.02 (sd 0.025)
    assert 35.5 < err[i] / err[-1] < 40.7  # second descent to N = 10 n: 38.1 (sd 0.87)


def test_noise_and_initialization_variances_make_the_peak(sw):
    """The peak at N = n is made of the noise and initialization variances; the sampling variance
    stays small everywhere."""
    r = sw.ridgeless
    i = at(sw, 1.0)
    share = {p: r[p][i] / r["test_error"][i] for p in variance.PARTS}
    assert 0.985 < share["var_noise"] + share["var_init"] < 1.004  # measured 0.9946 (sd 0.003)
    assert 0.524 < share["var_noise"] < 0.578  # measured 0.551 (sd 0.009)
    assert 0.41 < share["var_init"] < 0.477  # measured 0.443 (sd 0.011)
    assert -0.007 < share["var_sampling"] < 0.008  # measured 0.0006 (sd 0.0024)
    assert 0.001 < np.abs(r["var_sampling"]).max() < 0.055  # small everywhere: 0.028 (sd 0.009)


def test_noise_variance_below_the_threshold_is_that_of_least_squares(sw):
    """Below the threshold the noise variance is that of least squares with N regressors,
    sigma^2 N/(n - N - 1)."""
    r, below = sw.ridgeless, sw.ratios < 1
    ols = dt.least_squares_noise_variance(sw.n, sw.n_features[below], sw.noise_var)
    ratio = r["var_noise"][below] / ols
    # N/n up to 0.8: within 3.5% (sd of the largest deviation 0.010); at 0.9 the tiny ridge
    # trims the smallest singular values: 0.909 (sd 0.003)
    assert np.all(np.abs(ratio[:-1] - 1) < 0.065)
    assert 0.90 < ratio[-1] < 0.918


def test_initialization_variance_dominates_below_noise_variance_beyond(sw):
    """The initialization variance is the larger well below the threshold, the noise variance
    from just below it on."""
    r = sw.ridgeless
    i = at(sw, 1.0)
    low = sw.ratios < sw.ratios[i - 1]  # up to N/n = 0.8
    init_over_noise = (r["var_init"][low] / r["var_noise"][low]).min()
    noise_over_init = (r["var_noise"][i - 1 :] / r["var_init"][i - 1 :]).min()
    assert 1.09 < init_over_noise < 1.25  # measured 1.167 (sd 0.026)
    assert 1.0 < noise_over_init < 1.18  # from N/n = 0.9 on: 1.041 (sd 0.046)


def test_the_interaction_not_initialization_alone_diverges(sw):
    """What diverges at N = n is the interaction of initialization with sampling; the
    initialization alone has no peak."""
    r = sw.ridgeless
    i = at(sw, 1.0)
    main = r["var_init_main"]
    assert 0.94 < r["var_interaction"][i] / r["var_init"][i] < 0.98  # measured 0.960 (sd 0.006)
    assert sw.ratios[int(np.argmax(main))] == pytest.approx(0.5)  # in every block of seeds
    assert 0.19 < main.max() < 0.24  # measured 0.215 (sd 0.009)
    assert 0.09 < main[i] < 0.21  # no peak at N = n: 0.152 (sd 0.020)


def test_bias_falls_then_stays_constant_beyond_the_threshold(sw):
    """The bias falls up to the interpolation threshold and stays constant beyond it, so the
    second descent is a fall of variance."""
    bias = sw.ridgeless["bias2"]
    over = sw.ratios >= 1
    assert np.all(np.diff(bias[sw.ratios <= 1]) < 0)  # falls at every step, in every block
    assert 8.8 < bias[0] / bias[at(sw, 1.0)] < 20.5  # measured 14.7 (sd 1.95)
    assert (
        0.028 < bias[over].min() and bias[over].max() < 0.060
    )  # 0.0373 to 0.0437 (sd 0.003, 0.0055)
    assert bias[over].max() / bias[over].min() < 1.56  # measured 1.17 (sd 0.13)


def test_ensembling_lowers_the_peak(sw):
    """Averaging feature draws on the same training set lowers the peak, and every further member
    lowers the error at every N."""
    i, k10 = at(sw, 1.0), list(sw.ks).index(10)
    assert 7.9 < sw.ensemble[i, 0] / sw.ensemble[i, k10] < 9.1  # measured 8.52 (sd 0.20)
    assert np.all(np.diff(sw.ensemble, axis=1) < 0)  # more members, lower error, at every N


def test_ensemble_error_follows_one_over_k(sw, limit):
    """The error of an ensemble of K feature draws follows the law E_inf + v/K."""
    e_inf, v, _ = limit
    predicted = e_inf[:, None] + v[:, None] / np.array(sw.ks)
    rel = np.abs(predicted - sw.ensemble).max(axis=1) / sw.ensemble.min(axis=1)
    assert 0.014 < rel.max() < 0.033  # measured 0.0235 (sd 0.003)


def test_infinite_ensemble_has_no_peak_and_is_flat_beyond_the_threshold(sw, limit):
    """The infinite ensemble has no peak and is flat beyond the interpolation threshold."""
    e_inf, v, se = limit
    i, over = at(sw, 1.0), sw.ratios >= 1
    assert int(np.argmax(v)) == i  # what ensembling removes peaks at N = n, in every block
    assert 7.9 < v[i] < 9.1  # measured 8.47 (sd 0.20)
    assert 0.149 < e_inf[over].min() < 0.188  # measured 0.169 (sd 0.0065)
    assert e_inf[over].max() / e_inf[over].min() < 1.37  # measured 1.069 (sd 0.10)
    assert 2.1 < e_inf[0] / e_inf[i] < 5.3  # measured 3.70 (sd 0.53)
    assert abs(e_inf[i] - e_inf[over].mean()) < 3 * se[i]  # no peak: 0.42 standard errors
    assert 0.003 < se[i] < 0.030  # measured 0.017; an sd from 8 training sets varies by ~27%


def test_the_dip_of_the_infinite_ensemble_is_within_its_noise(sw, limit):
    """The apparent dip of the infinite ensemble below its plateau lies within its noise, so it
    is no evidence of a dip."""
    e_inf, _, se = limit
    over = sw.ratios >= 1
    dip = (e_inf[over].mean() - e_inf.min()) / se[int(np.argmin(e_inf))]
    assert 0 <= dip < 3  # measured 2.0 standard errors


def test_tuned_ridge_removes_the_peak(sw):
    """Ridge with a tuned penalty removes the peak, its error falling at every N, by keeping the
    initialization variance small."""
    err, rg = sw.ridgeless["test_error"], sw.ridge
    i = at(sw, 1.0)
    assert np.all(np.diff(rg["test_error"]) < 0)  # falls at every step, in every block
    assert 16.5 < err[i] / rg["test_error"][i] < 20.3  # measured 18.4 (sd 0.62)
    assert 0.43 < rg["test_error"][i] < 0.51  # measured 0.468 (sd 0.013)
    assert (
        0.74 < rg["test_error"][0] < 0.82 and 0.207 < rg["test_error"][-1] < 0.231
    )  # 0.781, 0.219
    assert 0.148 < rg["var_init"].max() < 0.185  # measured 0.166 (sd 0.006)


def test_variance_parts_add_up(sw):
    """The bias and the three variances add up exactly to the measured test error."""
    for result in (sw.ridgeless, sw.ridge):
        total = sum(result[p] for p in variance.PARTS)
        np.testing.assert_allclose(total, result["test_error"], rtol=1e-9)


def test_noise_and_initialization_variances_peak_at_the_threshold(sw):
    """The noise and initialization variances both rise up to the threshold and decay beyond it,
    like the error curve."""
    i = at(sw, 1.0)
    for part in ("var_noise", "var_init"):
        values = sw.ridgeless[part]
        assert np.all(np.diff(values[: i + 1]) > 0) and np.all(
            np.diff(values[i:]) < 0
        )  # rise, then fall, in every block of seeds


def test_exercise_order_toy_is_all_initialization_variance():
    """For a pure interaction of sampling and initialization, the paper's order books the whole
    variance to the initialization."""
    toy = variance.decompose(np.outer([-1.0, 1.0], [-2.0, 2.0])[:, :, None, None], np.zeros(1))
    assert (toy.var_init, toy.var_sampling, toy.test_error) == pytest.approx((4.0, 0.0, 4.0))


def test_exercise_ensembles_remove_initialization_and_part_of_the_noise_variance(sw, limit):
    """An ensemble removes all of the initialization variance but only the part of the noise
    variance that depends on the initialization."""
    _, v, _ = limit
    r, i = sw.ridgeless, at(sw, 1.0)
    removed_noise = v[i] - r["var_init"][i]
    assert 4.55 < removed_noise < 4.73  # measured 4.64 (sd 0.03)
    assert removed_noise < r["var_noise"][i]  # the rest of the noise variance stays (4.76)


def test_exercise_noiseless_labels_still_peak():
    """Without label noise the peak at N = n survives, made almost entirely of initialization
    variance, and ensembling lowers it."""
    quiet = dt.sweep(**{**S, **dt.NOISELESS})  # the exercise's call
    r = quiet.ridgeless
    i = int(np.argmin(np.abs(quiet.ratios - 1.0)))
    err = r["test_error"]
    assert int(np.argmax(err)) == i  # in every block of seeds
    assert 3.44 < err[i] < 3.82  # measured 3.63 (sd 0.06)
    assert 0.73 < err[0] < 0.84 and 0.22 < err[-1] < 0.30  # N/n = 0.5, 2: 0.787, 0.258
    assert 0.95 < r["var_init"][i] / err[i] < 1.02  # measured 0.985 (sd 0.012)
    assert 0.108 < quiet.ensemble[i, -1] / quiet.ensemble[i, 0] < 0.168  # K = 8: 0.138 (sd 0.01)

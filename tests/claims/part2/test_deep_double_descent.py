"""Claims of book/part2/deep_double_descent.md, asserted with the chapter's own calls (cached).

Bounds are two-sided, set from the values measured at quick scale and their spread across
seeds (a few standard errors); the measured values are in the comment beside each bound.
Quantities that are non-negative by construction (the largest rise along a curve) get only
the upper bound that the page's claim needs. CPU training with one thread is deterministic,
so a change of the numbers means a change of the code.
"""

import numpy as np
import pytest

from generalization.chapters.part2 import deep_double_descent as ddd

S = ddd.settings()
TOL = ddd.FIT_TOLERANCE


@pytest.fixture(scope="module")
def sweep():
    return ddd.width_sweep(
        S["n_train"],
        S["n_test"],
        S["n_components"],
        S["widths"],
        S["noise_levels"],
        S["seeds"],
        S["num_steps"],
        S["lr"],
        S["n_evals"],
    )


@pytest.fixture(scope="module")
def samples():
    return ddd.sample_sweep(
        S["sample_sizes"],
        S["n_test"],
        S["n_components"],
        S["sample_widths"],
        S["sample_noise"],
        S["sample_seeds"],
        S["num_steps"],
        S["lr"],
    )


def largest_rise(curve):
    return float(np.max(curve - np.minimum.accumulate(curve)))


def noisy_index(sweep):
    return int(np.argmax(sweep.noise_levels))  # the page's noisy curve: the noisiest labels


def end_of_training(sweep, a):
    return sweep.test_error[a, :, :, -1], sweep.train_error[a, :, :, -1].mean(axis=1)


def test_noisy_labels_give_a_model_wise_peak_at_the_interpolation_threshold(sweep):
    """With noisy labels test error against width peaks at the interpolation threshold, about one
    parameter per example, then falls again."""
    per_seed, train = end_of_training(sweep, noisy_index(sweep))
    test = per_seed.mean(axis=1)
    peak = int(np.argmax(test - np.minimum.accumulate(test)))  # the top of the largest rise
    before = int(np.argmin(test[: peak + 1]))
    rise = per_seed[peak] - per_seed[before]
    assert 0.04 < rise.mean() < 0.15  # measured 9.0 points (6.3, 7.8, 13.0 per seed)
    assert 0.24 < train[before] < 0.34  # before the peak it cannot fit the noise: measured 28.9%
    threshold = int(np.argmax(train <= TOL))
    assert abs(peak - threshold) <= 1  # measured: both at width 16
    ratio = sweep.n_params[threshold] / sweep.n_train
    assert 0.7 < ratio < 1.6  # about as many parameters as examples, not 10 n: measured 1.01
    drop = per_seed[peak] - per_seed[-1]  # second descent to the widest network
    assert 0.10 < drop.mean() < 0.16  # measured 13.1 points (11.9 to 13.7 per seed)
    assert np.all(np.diff(test[peak:]) < 0)  # measured: strictly decreasing from the peak on


def test_clean_labels_show_no_peak(sweep):
    """With clean labels the same networks show no model-wise peak: test error keeps falling with
    width."""
    per_seed, train = end_of_training(sweep, sweep.noise_levels.index(0.0))
    test = per_seed.mean(axis=1)
    assert largest_rise(test) < 0.01  # measured 0.0: the clean curve never rises
    assert train[-1] == 0
    assert 0.15 < test[-1] < 0.18  # measured 16.45% (16.1 to 17.1 per seed)


def test_epoch_wise_dip_then_rise_without_second_descent(sweep):
    """Over training a wide network's test error falls, then rises as it memorizes the noisy
    labels, with no second descent at this scale."""
    a = noisy_index(sweep)
    widest = sweep.test_error[a, -1]  # (seed, step)
    train = sweep.train_error[a, -1].mean(axis=0)
    best = int(np.argmin(widest.mean(axis=0)))
    rise = widest[:, -1] - widest[:, best]
    assert 0.07 < rise.mean() < 0.095  # measured 8.2 points (7.8 to 8.5 per seed)
    assert 0.24 < train[best] < 0.34  # best before the noise is fitted: measured 29.0%
    fitted = int(np.argmax(train <= TOL))
    assert sweep.steps[fitted] > sweep.steps[best]  # measured step 92 against step 17
    mean = widest.mean(axis=0)
    assert mean[best:].max() - mean[-1] < 0.01  # no second descent: measured 0.0
    clean = sweep.test_error[sweep.noise_levels.index(0.0), -1].mean(axis=0)
    assert clean[-1] - clean.min() < 0.01  # nothing to memorize: measured 0.07 points


def test_exercise_oracle_early_stopping_removes_the_peak(sweep):
    """Stopping every network at its best step, an oracle early stopping, removes the model-wise
    peak."""
    oracle = sweep.test_error[noisy_index(sweep)].mean(axis=1).min(axis=1)
    assert largest_rise(oracle) < 0.01  # measured 0.17 points, against 9.0 at the end of training


def test_wider_networks_fit_earlier(sweep):
    """Wider networks fit the noisy training set earlier in training."""
    train = sweep.train_error[noisy_index(sweep)].mean(axis=1)  # (width, step)
    fitted = [int(np.argmax(row <= TOL)) for row in train if (row <= TOL).any()]
    assert 5 <= len(fitted) <= 9  # measured 7 widths (16 to 128) fit the noisy labels
    assert np.all(np.diff(fitted) < 0)  # the dashed line of the epoch-wise map; measured strictly


def test_sample_wise_plateau_at_the_effective_model_complexity(samples):
    """For a network near its threshold, more data does not help over a range ending at its EMC,
    while a narrower network keeps improving."""
    test, train = samples.test_error.mean(axis=2), samples.train_error.mean(axis=2)
    sizes, k = np.array(samples.sample_sizes), len(samples.seeds)
    emc = [sizes[row <= TOL].max() for row in train]
    assert 150 <= emc[0] <= 250 and 400 <= emc[1] <= 600  # measured 200 and 500

    top = int(np.argmax(test[1] - np.minimum.accumulate(test[1])))
    low = int(np.argmin(test[1, : top + 1]))
    assert emc[1] / 1.5 <= sizes[top] <= emc[1]  # the range ends at the EMC: measured 500, 500
    assert np.all(train[1, low : top + 1] <= TOL)  # the wide network fits all along (0 to 0.16%)
    assert np.all(train[0, sizes > emc[0]] > TOL)  # the narrow one no longer fits there

    def change(i, a, b):
        d = samples.test_error[i, b] - samples.test_error[i, a]
        return d.mean(), d.std(ddof=1) / np.sqrt(k)

    hurt, se = change(1, low, top)
    assert 0.0 < hurt < 0.065  # no improvement: measured +2.0 +- 1.45 points (mean, SE)
    assert 0.3 < hurt / se < 2.0  # "not significant at this scale": measured 1.40 SE
    narrow, _ = change(0, low, top)
    assert 0.09 < -narrow < 0.19  # the narrow network improves: measured 13.8 +- 1.6 points
    after, _ = change(1, top, len(sizes) - 1)
    assert 0.045 < -after < 0.115  # data helps again past the EMC: measured 7.9 +- 1.1 points

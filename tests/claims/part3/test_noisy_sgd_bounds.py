"""Claims of book/part3/noisy_sgd_bounds.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest
from scipy.special import gammaln

from generalization.chapters.part3 import noisy_sgd_bounds as nsb

S = nsb.settings()


@pytest.fixture(scope="module")
def res():
    return nsb.sgld_experiment(**S["sgld"])  # the chapter's call


@pytest.fixture(scope="module")
def gb(res):
    return nsb.gap_bounds(res)  # the chapter's call


@pytest.fixture(scope="module")
def chan(res):
    return nsb.channel_check(dim=res.dim, **S["channel"])  # the chapter's call


def _end(res):
    return res.test_error[:, :, -1].mean(axis=1), res.train_error[:, :, -1].mean(axis=1)


def test_sgld_learns_at_low_temperature_and_hardly_at_the_highest(res):
    """At the lowest temperature SGLD reaches a test error of a few percent, its training error a
    little lower; at the highest it is little better than guessing."""
    test, train = _end(res)
    assert 0.035 < test[-1] < 0.065  # quick: 0.048
    assert 0.0 < test[-1] - train[-1] < 0.03  # quick: 0.016
    assert 0.30 < test[0] < 0.45  # quick: 0.363
    assert np.all(np.diff(test) < 0.005)  # colder is no worse (quick: 0.363 down to 0.048)


def test_the_measured_gap_is_small_and_resolved_at_every_temperature(res, gb):
    """After the last step the measured gap is between one and a few percentage points at every
    temperature, within a factor of about two, with standard errors of a few tenths of a point."""
    gap, se = gb.gap[:, -1], gb.gap_se[:, -1]
    assert np.all((0.004 < gap) & (gap < 0.035))  # quick: 0.010 to 0.023
    assert np.all(se < 0.007)  # quick: at most 0.0042
    assert np.all(gap[1:] > 3 * se[1:])  # quick: 5 to 14 standard errors above zero
    assert gap.max() / gap.min() < 3  # quick: 2.3, over four decades of temperature
    # the evaluation set's own sampling error: a few tenths of a percentage point
    test, _ = _end(res)
    sampling = np.sqrt(test * (1 - test) / res.n_eval)
    assert np.all((0.001 < sampling) & (sampling < 0.006))  # quick: 0.0024 to 0.0054


def test_the_bound_holds_at_every_temperature_and_step(gb):
    """The worst-case bound is above the measured gap at every temperature and checkpoint, by
    more than three standard errors; the second-moment bound is above it up to noise."""
    assert np.all(gb.gap < gb.bound - 3 * gb.gap_se)  # quick: closest 3.0 standard errors
    assert np.all(gb.gap < gb.moment_bound + 2 * gb.gap_se)  # quick: crosses by at most 1.1


def test_the_second_moment_bound_is_crossed_only_in_the_first_hot_steps(res, gb):
    """The estimated gap lies above the second-moment bound only in the first few steps at the
    highest temperature, below one percentage point and by about one standard error."""
    over = gb.gap > gb.moment_bound
    rows, cols = np.nonzero(over)
    assert 1 <= over.sum() <= 5  # quick: 3 checkpoints
    assert np.all(rows == 0) and np.array(res.checkpoints)[cols].max() <= 10  # quick: steps 1-3
    assert gb.gap[over].max() < 0.01  # quick: 0.0084
    assert np.max((gb.gap - gb.moment_bound)[over] / gb.gap_se[over]) < 2  # quick: 1.1


def test_the_papers_bound_is_vacuous_except_at_the_highest_temperature(res, gb):
    """After the last step the bound is below one only at the highest temperature; it is the
    closed form sqrt(T p log(1 + lr beta G^2 / (2p)) / (4n))."""
    bound = gb.bound[:, -1]
    betas = np.array(res.betas)
    closed = np.sqrt(
        res.num_steps
        * res.dim
        * np.log1p(res.lr * betas * res.max_norm**2 / (2 * res.dim))
        / (4 * res.n_samples)
    )
    np.testing.assert_allclose(bound, closed, rtol=1e-10)
    assert 0.5 < bound[0] < 1.0  # quick: 0.707
    assert np.all(bound[1:] > 1.5)  # quick: 2.23 to 39.6


def test_the_bound_is_tens_to_thousands_of_times_the_gap(gb):
    """After the last step the bound divided by the measured gap runs from tens (highest
    temperature) to thousands (lowest)."""
    ratio = gb.bound[:, -1] / gb.gap[:, -1]
    assert 30 < ratio[0] < 200  # quick: 68
    assert 1000 < ratio[-1] < 6000  # quick: 2538
    assert np.all(np.diff(ratio) > 0)  # quick: 68, 123, 296, 1157, 2538


def test_where_the_gap_is_resolved_the_bounds_are_many_times_larger(gb):
    """At every checkpoint where the gap is three standard errors above zero, the worst-case
    bound is at least tens of times it and the second-moment bound several times."""
    resolved = gb.gap > 3 * gb.gap_se
    assert resolved.sum() > 25  # quick: 41 of 70
    worst = np.min(gb.bound[resolved] / gb.gap[resolved])
    moment = np.min(gb.moment_bound[resolved] / gb.gap[resolved])
    assert 15 < worst < 60  # quick: 29
    assert 2.5 < moment < 9  # quick: 4.6


def test_the_second_moment_bound_is_smaller_but_still_vacuous_when_cold(gb):
    """Charging the measured second moment shrinks the bound about tenfold; it stays below one
    at the three highest temperatures and is vacuous below them, up to hundreds of times the gap."""
    shrink = gb.moment_bound[:, -1] / gb.bound[:, -1]
    assert np.all((0.06 < shrink) & (shrink < 0.2))  # quick: 0.089 to 0.144
    moment = gb.moment_bound[:, -1]
    assert np.all(moment[:3] < 0.8) and np.all(moment[3:] > 1.2)  # quick: 0.10-0.62; 1.8, 5.6
    ratio = moment / gb.gap[:, -1]
    assert 5 < ratio.min() < 20 and 150 < ratio.max() < 800  # quick: 9.8 and 357


def test_updates_are_much_shorter_than_the_clipping_norm(res):
    """Every update has norm below G; averaged over steps the squared norm is about a hundredth
    of G squared, a few hundredths at the start, and it keeps falling."""
    share = res.update_sq_mean / res.max_norm**2
    assert 0.3 < res.update_norm_max / res.max_norm < 1.0  # quick: 0.474
    mean = share.mean(axis=0)
    assert np.all((0.004 < mean) & (mean < 0.03))  # quick: 0.0065 to 0.021
    assert np.all((0.025 < share[0]) & (share[0] < 0.05))  # quick: 0.036
    assert np.all(share[-100:].mean(axis=0) < share[0] / 2)  # quick: 0.0026 to 0.014


def test_the_cold_gap_rises_dips_and_rises_again_while_staying_small(res, gb):
    """At the lowest temperature the gap rises in the first tens of steps, dips when the weights
    settle and creeps up again; no gap at any step and temperature exceeds a few percent."""
    steps = np.array(res.checkpoints)
    cold = gb.gap[-1]
    early = cold[(steps >= 6) & (steps <= 60)].max()
    dip = cold[(steps >= 100) & (steps <= 400)].min()
    assert dip < 0.5 * early and dip < 0.6 * cold[-1]  # quick: 0.0058 vs 0.021 and 0.016
    assert 0.015 < gb.gap.max() < 0.035  # quick: 0.023


def test_the_per_step_term_is_the_information_of_a_gaussian_input_not_of_a_bounded_one(chan):
    """Monte Carlo matches the per-step term at every signal-to-noise ratio; a two-valued input
    matches it closely at small ratios and saturates at log 2."""
    assert np.all(np.abs(chan.gaussian_mc - chan.bound) < 4 * chan.gaussian_se)  # quick: 1.8
    low = chan.snrs <= 0.01
    assert np.all(chan.binary <= chan.bound + 1e-12)
    assert 0 < np.max(1 - chan.binary[low] / chan.bound[low]) < 1e-5  # quick: 1.6e-7
    assert chan.binary[-1] == pytest.approx(np.log(2), abs=1e-6)
    assert chan.bound[-1] > 3 * chan.binary[-1]  # quick: 2.31 against 0.693


def test_counting_training_sets_beats_the_sgld_bound_below_the_highest_temperature(res, gb):
    """The entropy of the choice of the training set gives a bound near 1.3, below the SGLD bound
    at every temperature but the highest (first exercise)."""
    pool, n = S["sgld"]["pool_size"], res.n_samples
    entropy = gammaln(pool + 1) - gammaln(n + 1) - gammaln(pool - n + 1)
    by_count = np.sqrt(entropy / (2 * n))
    assert 1.2 < by_count < 1.45  # quick: 1.31
    assert gb.bound[0, -1] < by_count < gb.bound[1:, -1].min()


def test_the_linearized_bound_is_close_to_the_sum_at_the_highest_temperature(res, gb):
    """With log(1 + u) <= u the bound at the highest temperature grows by less than a tenth of a
    percent (third exercise)."""
    linear = np.sqrt(res.num_steps * res.lr * res.betas[0] * res.max_norm**2 / (8 * res.n_samples))
    assert 0 < linear / gb.bound[0, -1] - 1 < 1e-3  # quick: 1.6e-4

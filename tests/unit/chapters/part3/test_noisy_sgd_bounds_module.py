"""Unit tests of the chapter module of book/part3/noisy_sgd_bounds.md, against independent
computations."""

import math

import numpy as np
import pytest

from generalization.chapters.part3 import noisy_sgd_bounds as nsb


def test_digit_pair_splits_the_two_digits_into_a_pool_and_an_evaluation_set():
    X_pool, y_pool, X_eval, y_eval = nsb.digit_pair((3, 8), 1000)
    assert X_pool.shape == (1000, 785) and len(y_pool) == 1000
    rest = 6131 + 5851 - 1000  # training images of 3 and 8 (MNIST class counts) not in the pool
    assert len(X_eval) == len(y_eval) == rest + 1010 + 974  # and the test images of 3 and 8
    assert set(np.unique(y_pool)) == {0.0, 1.0} and set(np.unique(y_eval)) == {0.0, 1.0}
    np.testing.assert_array_equal(X_pool[:, -1], 1.0)
    assert X_pool[:, :-1].min() >= 0 and X_pool[:, :-1].max() <= 1
    # no training image is in both parts: compare hashes of the rows
    pool_rows = {row.tobytes() for row in X_pool}
    assert not any(row.tobytes() in pool_rows for row in X_eval[:rest])


def test_digit_pair_rejects_a_single_or_repeated_digit():
    with pytest.raises(ValueError, match="digits must be a sequence of at least 2 distinct"):
        nsb.digit_pair((4, 4), 100)
    with pytest.raises(ValueError, match="digits must be two distinct digits from 0 to 9; got"):
        nsb.digit_pair((4, 12), 100)


def test_errors_match_a_loop_over_classifiers_and_examples():
    rng = np.random.default_rng(0)
    params = rng.standard_normal((3, 2, 6))
    X, y = rng.standard_normal((9, 6)), rng.integers(0, 2, 9).astype(float)
    got = nsb._errors(params, X, y)
    for a in range(3):
        for b in range(2):
            wrong = sum((X[i] @ params[a, b] > 0) != (y[i] == 1) for i in range(9))
            assert got[a, b] == pytest.approx(wrong / 9)


def _fake_result(num_steps=50, draws=4, betas=(10.0, 1000.0)):
    rng = np.random.default_rng(1)
    checkpoints = (1, 7, 50)
    shape = (len(betas), draws, len(checkpoints))
    train = rng.uniform(0, 0.2, shape)
    return nsb.SGLDResult(
        digits=(4, 9),
        n_samples=64,
        batch_size=8,
        lr=0.05,
        max_norm=2.0,
        betas=betas,
        num_steps=num_steps,
        draws=draws,
        seed=0,
        dim=11,
        n_eval=100,
        checkpoints=checkpoints,
        train_error=train,
        test_error=train + rng.uniform(0, 0.05, shape),
        update_sq_mean=rng.uniform(0, 4.0, (num_steps, len(betas))),
        update_norm_max=2.0,
        run_time_s=0.0,
    )


def test_gap_bounds_against_a_hand_computation():
    res = _fake_result()
    gb = nsb.gap_bounds(res)
    gaps = res.test_error - res.train_error
    np.testing.assert_allclose(gb.gap, gaps.mean(axis=1))
    np.testing.assert_allclose(gb.gap_se, gaps.std(axis=1, ddof=1) / 2)
    for k, beta in enumerate(res.betas):
        noise = 2 * res.lr / beta
        for c, t in enumerate(res.checkpoints):
            one = 11 / 2 * math.log(1 + res.lr**2 * 4.0 / (11 * noise))
            assert gb.bound[k, c] == pytest.approx(math.sqrt(t * one / (2 * 64)), rel=1e-12)
            moment = sum(
                11 / 2 * math.log(1 + res.lr**2 * res.update_sq_mean[s, k] / (11 * noise))
                for s in range(t)
            )
            assert gb.moment_information[k, c] == pytest.approx(moment, rel=1e-12)
            assert gb.moment_bound[k, c] == pytest.approx(math.sqrt(moment / 128), rel=1e-12)


def test_channel_check_on_a_few_ratios():
    chan = nsb.channel_check((0.01, 1.0, 50.0), 0.3, dim=5, num_samples=4000, seed=2)
    np.testing.assert_allclose(chan.bound, 0.5 * np.log1p([0.01, 1.0, 50.0]))
    assert np.all(np.abs(chan.gaussian_mc - chan.bound) < 4 * chan.gaussian_se)
    assert np.all(chan.binary <= chan.bound) and chan.binary[-1] < math.log(2) + 1e-12


def test_a_tiny_sgld_experiment_has_the_documented_shapes():
    res = nsb.sgld_experiment.uncached(
        digits=(4, 9),
        pool_size=200,
        n_samples=20,
        batch_size=5,
        lr=0.1,
        max_norm=1.0,
        betas=(10.0, 1e4),
        num_steps=12,
        draws=3,
        seed=0,
    )
    assert res.checkpoints == nsb.log_checkpoints(12)
    assert res.train_error.shape == res.test_error.shape == (2, 3, len(res.checkpoints))
    assert res.update_sq_mean.shape == (12, 2)
    assert 0 < res.update_norm_max <= 1.0
    assert np.all((0 <= res.train_error) & (res.train_error <= 1))


def test_log_checkpoints_are_sorted_distinct_and_end_at_num_steps():
    steps = nsb.log_checkpoints(2000)
    assert steps[0] == 1 and steps[-1] == 2000
    assert list(steps) == sorted(set(steps))

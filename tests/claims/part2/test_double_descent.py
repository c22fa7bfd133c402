"""Claims of book/part2/double_descent.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization.chapters.part2 import double_descent

S = double_descent.settings()


@pytest.fixture(scope="module")
def dd():  # the chapter's call
    return double_descent.double_descent(
        S["n_train"],
        S["n_test"],
        S["ratios"],
        S["seeds"],
        "fourier",
        S["bandwidth"],
        S["data_seed"],
    )


@pytest.fixture(scope="module")
def relu():  # the chapter's call (exercise)
    return double_descent.double_descent(
        S["n_train"],
        S["relu_n_test"],
        S["relu_ratios"],
        S["relu_seeds"],
        "relu",
        1.0,
        S["data_seed"],
    )


@pytest.fixture(scope="module")
def ridge():  # the chapter's call
    return double_descent.ridge_at_threshold(
        S["n_train"], S["n_test"], S["ridge_alphas"], S["seeds"][0], S["bandwidth"], S["data_seed"]
    )


def test_grid_straddles_the_threshold(dd):
    assert dd.n_features[dd.at(1.0)] == dd.n_train
    assert dd.ratio[0] < 0.1 and dd.ratio[-1] >= 10 and len(dd.seeds) >= 3


def test_test_risk_peaks_at_n_equals_n_for_every_seed(dd):
    # "within a factor": the grid neighbours of N = n are 0.95n and 1.05n; measured: the peak is at
    # 1.0 exactly
    for values in (dd.test_squared, dd.test_zero_one, dd.norm):
        peaks = dd.ratio[np.argmax(values, axis=1)]
        assert np.all((peaks > 0.9) & (peaks < 1.1))
        assert np.all(peaks == 1.0)


def test_peak_is_huge_and_close_to_guessing(dd):
    one = dd.at(1.0)
    sq = dd.test_squared.mean(0)
    under = dd.n_features < dd.n_train
    assert sq[one] / sq[under].min() > 100  # measured about 7,000
    assert dd.test_squared[:, one].min() > 100  # measured 550 to 8,700 across seeds
    assert dd.test_zero_one[:, one].mean() > 0.8  # "not far from the 90% of guessing"; measured 88%


def test_classical_u_below_the_threshold(dd):
    under = np.flatnonzero(dd.n_features < dd.n_train)
    sq = dd.test_squared.mean(0)[under]
    best = int(np.argmin(sq))
    assert 0 < best < len(under) - 1  # an interior sweet spot: a U, not a monotone curve
    assert 0.1 <= dd.ratio[under][best] <= 0.5  # measured 0.3
    assert np.all(np.diff(sq[best:]) > 0)  # "from there it climbs"
    train = dd.train_squared.mean(0)[under]
    assert np.all(np.diff(train) < 0) and train[-1] > 1e-3  # falls, but stays positive below n


def test_training_loss_is_zero_from_the_threshold_on(dd):
    one = dd.at(1.0)
    assert dd.train_squared[:, one:].max() < 1e-20  # printed with :.0e; measured below 1e-23


def test_second_descent_is_monotone_and_ends_below_the_classical_best(dd):
    one = dd.at(1.0)
    for values in (dd.test_squared.mean(0), dd.test_zero_one.mean(0), dd.norm.mean(0)):
        assert np.all(np.diff(values[one:]) < 0)  # "every further feature lowers the test risk"
    under = dd.n_features < dd.n_train
    zo = dd.test_zero_one.mean(0)
    assert np.argmin(zo) == len(zo) - 1 and np.argmin(dd.test_squared.mean(0)) == len(zo) - 1
    assert zo[-1] < zo[under].min() / 2  # measured 2.7 times fewer errors
    assert dd.test_zero_one[:, -1].max() < dd.test_zero_one[:, under].min()  # for every seed


def test_largest_model_approaches_the_kernel_interpolant(dd):
    # Monte Carlo error of 10n features; measured 0.05 points above the kernel in zero-one loss,
    # 12% in squared loss
    assert abs(dd.test_zero_one[:, -1].mean() - dd.kernel.test_zero_one) < 0.015
    assert dd.kernel.test_squared < dd.test_squared[:, -1].mean() < 1.25 * dd.kernel.test_squared
    assert dd.kernel.train_squared < 1e-20
    # the norm falls towards the RKHS norm, from above; measured 5% above at N = 10n
    assert np.all(dd.norm[:, -1] > dd.kernel.norm) and np.all(dd.norm[:, -1] < 1.1 * dd.kernel.norm)


def test_peak_height_follows_the_norm(dd):
    one = dd.at(1.0)
    assert np.array_equal(np.argsort(dd.test_squared[:, one]), np.argsort(dd.norm[:, one]))
    norm, sq = dd.norm.mean(0), dd.test_squared.mean(0)
    best = int(
        np.argmin(sq[:one])
    )  # "from the classical sweet spot on, they rise and fall together"
    assert np.all(np.diff(norm[: one + 1]) > 0) and np.all(np.diff(sq[best : one + 1]) > 0)
    assert np.all(np.diff(norm[one:]) < 0) and np.all(np.diff(sq[one:]) < 0)
    assert dd.norm[:, one].mean() / dd.norm[:, -1].mean() > 20  # measured about 100


def test_small_ridge_removes_the_peak(ridge, dd):
    assert ridge.alphas[0] == 0 and ridge.test_zero_one[0] == pytest.approx(
        dd.test_zero_one[0, dd.at(1.0)]
    )
    assert ridge.alphas[1] == 1e-6
    assert ridge.test_zero_one[1] < 0.7 * ridge.test_zero_one[0]  # measured 0.54 times
    assert ridge.train_squared[1] < 0.02  # "only": measured 5e-3, against 0.6 for the smallest N
    best = ridge.test_zero_one[1:].min()
    assert best < dd.test_zero_one[0, dd.n_features < dd.n_train].min()  # below the classical best


def test_exercise_relu_features_peak_at_n_and_descend(relu):
    one = relu.at(1.0)
    assert relu.ratio[np.argmax(relu.test_squared.mean(0))] == 1.0
    assert relu.ratio[np.argmax(relu.norm.mean(0))] == 1.0
    zo = relu.test_zero_one.mean(0)
    assert zo[one] > 0.5 and zo[-1] < zo[relu.n_features < relu.n_train].min()
    assert abs(zo[-1] - relu.kernel.test_zero_one) < 0.03

"""Claims of book/part5/asymmetric_valleys.md, asserted with the chapter's own calls (cached).

The measured values in the comments are those of the quick scale (three seeds on MNIST,
two hundred chains in the one-dimensional valley).
"""

import numpy as np
import pytest

from generalization.chapters.part5 import asymmetric_valleys as av

S = av.settings()


@pytest.fixture(scope="module")
def toy():
    return av.toy_experiment(**S["toy"])  # the chapter's call


@pytest.fixture(scope="module")
def net():
    return av.swa_experiment(**S["mnist"])  # the chapter's call


def test_sgd_spends_most_of_its_time_on_the_flat_side_as_the_diffusion_predicts(toy):
    """The chains spend the fraction of time on the flat side that the small-step limit gives."""
    assert 0.70 < toy.flat_fraction.mean() < 0.82  # quick: 0.760
    assert abs(toy.flat_fraction.mean() - toy.predicted_flat_fraction) < 0.01  # quick: 0.0003


def test_every_average_lies_on_the_flat_side_near_the_small_step_mean(toy):
    """Every chain's average is on the flat side; their mean is within a few percent of the
    Langevin formula."""
    assert np.all(toy.average < 0)  # quick: -0.0273 +- 0.0027, at most about -0.019
    assert -0.0290 < toy.average.mean() < -0.0255  # quick: -0.0273
    assert abs(toy.average.mean() / toy.predicted_mean - 1) < 0.03  # quick: 0.002


def test_averaging_lowers_the_expected_shifted_loss_most_of_the_way_to_the_best_point(toy):
    """At the averages the expected shifted loss is about half that at the minimizer, for every
    chain, and most of the possible improvement."""
    ratio = toy.risk_average.mean() / toy.risk_minimizer
    assert 0.50 < ratio < 0.61  # quick: 0.552
    assert np.all(toy.risk_average < toy.risk_minimizer)  # quick: every chain
    share = (toy.risk_minimizer - toy.risk_average.mean()) / (toy.risk_minimizer - toy.risk_best)
    assert 0.78 < share < 0.93  # quick: 0.865
    assert toy.best < 0  # the best point is on the flat side


def test_the_last_iterate_is_worse_than_the_average_but_beats_the_minimizer_on_average(toy):
    """The last iterate's expected shifted loss lies between the averages' and the minimizer's."""
    assert toy.risk_average.mean() < toy.risk_last.mean() < toy.risk_minimizer
    assert 0.0049 < toy.risk_last.mean() < 0.0061  # quick: 0.00549 (minimizer 0.00688)


def test_random_directions_through_the_solutions_are_nearly_symmetric(net):
    """Random filter-normalized slices are lopsided bowls: median rise ratio near one, at most
    one slice in thirty reaches two, at both the SGD and the SWA solutions."""
    ratios = av.direction_ratios(net)
    for j in (0, 1):
        assert 1.05 < np.median(ratios[:, j]) < 1.35  # quick: 1.15 (SGD), 1.18 (SWA)
        assert 1.3 < ratios[:, j].max() < 2.4  # quick: 1.81, 1.83
        assert np.mean(ratios[:, j] >= 2) <= 1 / 30  # quick: 0 of 30
    assert np.all(np.isfinite(ratios))  # both sides rise in every slice


def test_the_sgd_end_of_the_line_is_steep_and_the_swa_end_flat(net):
    """One SGD-SWA distance beyond the SGD end the training loss rises; beyond SWA it does not."""
    up_sgd, up_swa = av.line_rises(net)
    assert np.all((0.0006 < up_sgd) & (up_sgd < 0.0018))  # quick: 0.0010 to 0.0012
    assert np.all((-0.0006 < up_swa) & (up_swa < 0.0002))  # quick: -0.0003 to -0.0001
    assert np.all(up_sgd > 3 * np.abs(up_swa))


def test_swa_has_the_lower_training_loss(net):
    """The SWA solution's training loss is below the SGD solution's for every seed."""
    gap = net.train_loss[:, 0] - net.train_loss[:, 1]
    assert np.all((0.0002 < gap) & (gap < 0.0010))  # quick: 0.0005 to 0.0006


def test_the_lowest_losses_on_the_line_lie_at_or_beyond_swa(net):
    """The line's lowest training loss lies beyond SWA, its lowest test loss at or beyond it."""
    assert np.all(av.line_minimum(net) >= 1.5)  # quick: 1.75, 3.0, 2.0
    assert np.all(av.line_minimum(net, test=True) >= 1.0)  # quick: 2.0, 2.25, 1.0


def test_swa_gain_in_test_error_is_within_the_seed_spread_and_its_test_loss_lower(net):
    """SWA's paired gain in test error is a few hundredths of a point either way, no larger than
    the spread between seeds; its test loss is lower for every seed."""
    error = net.test_error * 100
    assert np.all((5.0 < error) & (error < 6.3))  # quick: 5.49 to 5.71 %
    gain = error[:, 0] - error[:, 1]
    assert np.all(np.abs(gain) < 0.15)  # quick: -0.06, 0.04, 0.03 points
    assert abs(gain.mean()) <= max(gain.std(), error[:, 0].std())  # quick: 0.003 vs 0.04, 0.06
    loss_gain = net.test_loss[:, 0] - net.test_loss[:, 1]
    assert np.all((0.0002 < loss_gain) & (loss_gain < 0.0025))  # quick: 0.0005 to 0.0014

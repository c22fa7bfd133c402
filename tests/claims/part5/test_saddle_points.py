"""Claims of book/part5/saddle_points.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization.chapters.part5 import saddle_points as sp

S = sp.settings()


@pytest.fixture(scope="module")
def crit():
    return sp.critical_points_experiment(S["network"], **S["critical"])  # the chapter's call


@pytest.fixture(scope="module")
def toy():
    return sp.toy_experiment(**S["toy"])  # the chapter's call


@pytest.fixture(scope="module")
def opt():
    return sp.optimizers_experiment(S["network"], **S["optimizers"])  # the chapter's call


def test_some_searches_end_at_critical_points_far_below_the_threshold(crit):
    """Some searches end at critical points, with gradient norms many orders of magnitude
    below the threshold."""
    assert 4 <= crit.kept.sum() <= 9  # quick: 6 of 14
    assert crit.grad_norm[crit.kept].max() < crit.grad_tol
    assert np.median(crit.grad_norm[crit.kept]) < 1e-12  # quick: about 1e-16 (max 3.4e-7)


def test_many_searches_stop_at_points_that_are_not_critical(crit):
    """Many searches do not end at critical points: their gradient norms stay well above the
    threshold, and some of them are gradient-flat."""
    dropped = ~crit.kept
    assert 5 <= dropped.sum() <= 10  # quick: 8 of 14
    assert dropped.sum() > crit.kept.sum()  # "more often than not"
    assert np.all(crit.grad_norm[dropped] > 10 * crit.grad_tol)  # quick: 1.5e-4 to 2.7e-3
    assert np.sum(crit.flatness[dropped] < 1e-2) >= 1  # quick: 2 (2.3e-3 and 2.8e-4)


def test_index_of_critical_points_falls_with_their_loss(crit):
    """Among the critical points, Spearman's correlation between loss and index is strongly
    positive."""
    assert 0.6 < crit.spearman() <= 1.0  # quick: 0.83 over 6 points


def test_high_loss_critical_point_is_a_saddle_and_low_loss_one_nearly_a_minimum(crit):
    """The critical point of highest loss has an index of more than a tenth; the one of lowest
    loss has an index of a few percent at most."""
    loss, index = crit.loss[crit.kept], crit.index[crit.kept]
    assert 0.1 < index[np.argmax(loss)] < 0.35  # quick: 0.212 at loss 2.30
    assert index[np.argmin(loss)] < 0.03  # quick: 0.0044 at loss 1.654
    assert loss.max() - loss.min() > 0.3  # quick: 2.30 - 1.65


def test_discarded_points_follow_the_same_trend(crit):
    """The end points that are not critical also have an index that rises with the loss."""
    from scipy.stats import spearmanr

    dropped = ~crit.kept
    assert spearmanr(crit.loss[dropped], crit.index[dropped])[0] > 0.85  # quick: 0.994


def test_newton_ends_at_the_saddle_from_a_large_share_of_starts(toy):
    """On the 2-D function Newton ends at the saddle from a large share of the starts and at a
    minimum from the rest; saddle-free Newton ends at a minimum from every start."""
    assert 0.3 < toy.fraction("newton", "saddle") < 0.55  # quick: 0.415 (band 1/sqrt 5 = 0.447)
    assert toy.fraction("newton", "saddle") + toy.fraction("newton", "minimum") == 1.0
    assert toy.fraction("sfn", "minimum") == 1.0


def test_gradient_descent_avoids_the_saddle_but_is_slower(toy):
    """Gradient descent never ends at the saddle, but after the same number of steps part of
    its runs are still on the plateau; its mean final value lies between Newton's and
    saddle-free Newton's."""
    assert toy.fraction("gd", "saddle") == 0.0
    assert 0.1 < toy.fraction("gd", "other") < 0.5  # quick: 0.295
    assert toy.final_f["newton"].mean() > toy.final_f["gd"].mean() + 0.1  # quick: -0.29, -0.496
    assert toy.final_f["sfn"].mean() == pytest.approx(-0.5, abs=1e-9)


def test_newton_heads_into_a_saddle_on_the_network(opt):
    """On the network Newton's gradient norm falls many-fold while its loss and index stay
    high."""
    assert np.all(
        opt.grad_norm["newton"] < opt.start_grad_norm / 50
    )  # quick: 1.8e-3, 1.4e-3 vs 0.16, 0.19
    assert np.all(opt.index["newton"] > 0.1)  # quick: 0.177, 0.168
    assert np.all(
        (1.95 < opt.losses["newton"][:, -1]) & (opt.losses["newton"][:, -1] < 2.4)
    )  # quick: 2.19, 2.07


def test_saddle_free_newton_goes_lower_than_newton_and_gradient_descent(opt):
    """Saddle-free Newton reaches a loss well below Newton's and gradient descent's, at a point of
    index a few percent at most."""
    sfn = opt.losses["sfn"][:, -1]
    assert np.all(sfn < opt.losses["newton"][:, -1] - 0.3)  # quick: 1.66 vs 2.07-2.19
    assert np.all(sfn < opt.losses["gd"][:, -1] - 0.15)  # quick: 1.66 vs 1.89-2.02
    assert np.all(sfn > 1.5)  # quick: 1.662, 1.669; the lowest critical point found is 1.654
    assert np.all(opt.index["sfn"] < 0.05)  # quick: 0.009, 0.022


def test_gradient_descent_is_still_far_from_a_critical_point(opt):
    """After the same number of steps gradient descent still has a large gradient."""
    assert np.all((0.05 < opt.grad_norm["gd"]) & (opt.grad_norm["gd"] < 0.3))  # quick: 0.136, 0.128
    assert np.all(opt.losses["gd"][:, -1] < opt.losses["gd"][:, 0])


def test_newton_saddle_share_matches_the_band_of_the_first_exercise(toy):
    """Newton's share of starts ending at the saddle is within three standard errors of the
    band |y| < 1/sqrt(5), a fraction 0.447 of the square."""
    share = toy.fraction("newton", "saddle")
    se = np.sqrt(share * (1 - share) / len(toy.starts))
    assert abs(share - 1 / np.sqrt(5) / S["toy"]["box"]) < 3 * se  # quick: 0.415 vs 0.447, se 0.035


def test_a_looser_threshold_lets_in_more_points_with_the_same_trend(crit):
    """With the gradient threshold at one thousandth more end points pass, and index and loss
    stay strongly rank-correlated (second exercise)."""
    from scipy.stats import spearmanr

    loose = crit.grad_norm < 1e-3
    assert crit.kept.sum() < loose.sum() < crit.kept.size  # quick: 6 < 11 < 14
    assert spearmanr(crit.loss[loose], crit.index[loose])[0] > 0.8  # quick: 0.943

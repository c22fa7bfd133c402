"""Claims of book/part4/depth_separation.md, asserted with the chapter's own calls (cached)."""

from fractions import Fraction

import numpy as np
import pytest

from generalization import depth
from generalization.chapters.part4 import depth_separation as ds

S = ds.settings()
TOL = S["success_tol"]


@pytest.fixture(scope="module")
def con():
    return ds.construction(**S["construction"])  # the chapter's call


@pytest.fixture(scope="module")
def sh():
    return ds.shallow_sweep(**S["shallow"])  # the chapter's call


@pytest.fixture(scope="module")
def deep():
    return ds.deep_sweep(**S["deep"])  # the chapter's call


@pytest.fixture(scope="module")
def pert():
    return ds.perturbed_start(**S["perturbed"])  # the chapter's call


def _beyond_one(deep):
    return np.array(deep.ks) >= 2


# --- two exact constructions ---------------------------------------------------------------


def test_both_constructions_have_two_to_the_k_pieces_and_no_error(con):
    """The deep network (2k ReLUs) and the shallow interpolant (2^k ReLUs) both have exactly 2^k
    pieces on [0, 1] and L1 distance zero to the closed form of Lemma 3.17."""
    ks = np.array(con.ks)
    assert np.array_equal(con.deep_pieces, 2**ks)
    assert np.array_equal(con.shallow_pieces, 2**ks)
    assert np.all(con.deep_l1 == 0) and np.all(con.shallow_l1 == 0)  # exact rational zeros
    assert np.all(con.grid_gap == 0)  # float64 on the dyadic grid: also exact
    assert np.array_equal(con.deep_units, 2 * ks)
    assert np.array_equal(con.shallow_units, 2**ks)
    assert np.all(con.shallow_units >= con.shallow_pieces - 1)  # the counting bound holds


# --- shallow networks ----------------------------------------------------------------------


def test_trained_shallow_networks_obey_the_counting_and_lie_above_the_bound(sh):
    """Every trained shallow network has at most N + 1 pieces and lies above the tooth bound for
    its own number of pieces, by at least about a hundredth where that bound is positive."""
    widths = np.array(sh.widths)[None, :, None]
    assert np.all(sh.pieces <= widths + 1)
    gap = sh.l1 - sh.measured_bound
    assert np.all(gap >= 0)
    positive = np.broadcast_to((sh.bound > 0)[..., None], gap.shape)
    assert 0.005 < np.min(gap[positive]) < 0.03  # quick: 0.0134
    assert np.all(sh.measured_bound >= sh.bound[..., None])  # fewer pieces, larger bound


def test_narrow_shallow_networks_stay_near_the_constant(sh):
    """Networks of width four or less stay at 0.2 or more from the sawtooth for every k."""
    narrow = sh.l1[:, np.array(sh.widths) <= 4]
    assert 0.19 < narrow.min() < 0.23  # quick: 0.205
    assert np.all(narrow <= 0.25 + 1e-3)


def test_widening_helps_only_where_the_sawtooth_has_few_teeth(sh):
    """At the largest width the k = 3 networks come within a hundredth, the k = 4 ones stay
    between 0.12 and 0.21, and the k = 5 ones above 0.22."""
    ks = list(sh.ks)
    widest = sh.l1[:, -1]
    assert np.all(widest[ks.index(3)] < 0.015)  # quick: 0.0026 to 0.0062
    assert np.all(widest[ks.index(3)] > 1e-4)
    assert np.all((0.12 < widest[ks.index(4)]) & (widest[ks.index(4)] < 0.21))  # 0.157-0.187
    assert np.all((0.22 < widest[ks.index(5)]) & (widest[ks.index(5)] < 0.25))  # 0.238-0.244


def test_telgarsky_bound_is_the_looser_one(sh):
    """At every k and width, Telgarsky's crossing bound is below the tooth bound, strictly where
    the tooth bound is positive (at k = 5, width 2: 0.041 against 0.219)."""
    assert np.all(sh.telgarsky_bound <= sh.bound)
    assert np.all(sh.telgarsky_bound[sh.bound > 0] < sh.bound[sh.bound > 0])
    assert sh.telgarsky_bound[-1, 0] == pytest.approx(21 / 512)  # 2^-9 (33 - 12)
    assert sh.bound[-1, 0] == pytest.approx(0.25 * (1 - 2 / 16))


# --- the deep architecture from a random start -------------------------------------------


def test_the_single_tent_is_found_in_about_half_the_runs(deep):
    """For k = 1 about half the random starts reach L1 below the threshold."""
    hits = int(np.sum(deep.l1[list(deep.ks).index(1)] < TOL))
    assert 4 <= hits <= 14  # quick: 9 of 20


def test_no_random_start_finds_a_sawtooth_with_two_or_more_folds(deep):
    """For k >= 2 no run succeeds; the best is several hundredths away and nine in ten end above a
    fifth."""
    l1 = deep.l1[_beyond_one(deep)]
    assert np.all(l1 >= TOL)
    assert 0.04 < l1.min() < 0.15  # quick: 0.086
    assert 0.8 < np.mean(l1 > 0.2) < 0.98  # quick: 0.91


def test_trained_deep_networks_have_few_pieces_and_lie_above_the_bound(deep):
    """No trained deep network with k >= 2 has more than a handful of pieces, so from k = 4 on the
    tooth bound alone keeps every run about a tenth away; each lies above its bound."""
    pieces = deep.pieces[_beyond_one(deep)]
    assert 4 <= pieces.max() <= 8  # quick: 6
    assert 0.05 < deep.measured_bound[np.array(deep.ks) >= 4].min() < 0.15  # quick: 0.094
    assert np.all(deep.l1 >= deep.measured_bound - 1e-12)


def test_most_failed_runs_have_dead_units(deep):
    """For k >= 2 about nine runs in ten end with a dead unit, and most already start with one."""
    beyond = _beyond_one(deep)
    assert 0.85 < np.mean(deep.dead[beyond] > 0) < 0.99  # quick: 0.94
    assert 0.75 < np.mean(deep.dead_start[beyond] > 0) < 0.95  # quick: 0.875
    assert np.all(deep.dead.sum(axis=1)[beyond] >= deep.dead_start.sum(axis=1)[beyond])


# --- starting next to the construction -------------------------------------------------------


def test_a_small_perturbation_wrecks_the_construction_and_training_repairs_it(pert):
    """Noise 0.01 puts the construction about a fifth away from the sawtooth; training brings every
    run back below the threshold, with a few extra sliver pieces."""
    assert np.all((0.15 < pert.l1_start[0]) & (pert.l1_start[0] < 0.26))  # quick: 0.19 to 0.25
    assert np.all(pert.l1[0] < 1e-3)  # quick: at most 2.4e-4
    assert np.all(pert.l1[0] > 1e-6)
    target = 2**pert.k
    assert np.all((target < pert.pieces[0]) & (pert.pieces[0] <= target + 8))  # quick: 21
    assert np.all(pert.sliver[0] < 0.01)  # quick: at most 0.0039


def test_larger_perturbations_are_not_repaired(pert):
    """With noise 0.1 or 0.3 no run returns below the threshold; the best ends several hundredths
    away."""
    assert np.all(pert.l1[1:] >= TOL)
    assert 0.04 < pert.l1[1].min() < 0.15  # quick: 0.086


# --- exercises -----------------------------------------------------------------------------


def test_two_hidden_layers_of_width_eight_compute_the_six_fold_sawtooth():
    """The composed shallow interpolant (two hidden layers of 2^3 units) has 64 pieces and zero
    L1 distance to the sawtooth with six folds."""
    net = ds.two_layer_sawtooth(3)
    assert [m.out_features for m in net[:-1] if hasattr(m, "out_features")] == [8, 8]
    assert depth.count_linear_pieces(net, 0, 1) == 64
    assert depth.l1_distance(net, depth.sawtooth_pieces(6), exact=True) == 0


def test_the_sawtooth_is_a_quarter_from_the_constant_one_half():
    """For k = 1 to 8 the exact L1 distance between the sawtooth and the constant 1/2 is 1/4."""
    half = depth.interpolant([0, 1], [0.5, 0.5])
    for k in range(1, 9):
        assert depth.l1_distance(depth.sawtooth_pieces(k), half, exact=True) == Fraction(1, 4)

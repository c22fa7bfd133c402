"""Claims of book/part3/linear_conv_networks.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization.chapters.part3 import linear_conv_networks as lcn

S = lcn.settings()


@pytest.fixture(scope="module")
def r():
    return lcn.experiment(**S)  # the chapter's call


def test_the_fourier_l1_optimum_is_certified_by_its_dual(r):
    """The solver's primal and dual values agree to a relative gap below 1e-8 on every seed."""
    assert np.all(r.gaps >= 0) and np.all(r.gaps < 1e-8)  # quick: about 9.5e-9


def test_every_network_separates_the_training_data(r):
    """Every network but the four-layer convolutional one ends with a positive margin on every
    seed, and the two-layer convolutional network with a loss below 1e-3."""
    for name in r.names:
        if name != "conv-4":
            assert np.all(r.ratio[name] > 0)  # quick: 0.42 at least
    assert np.all(r.final_loss["conv-2"] < 1e-3)  # quick: about 1.5e-5


def test_fully_connected_networks_point_along_the_l2_max_margin(r):
    """Fully connected networks of depth two and three, and the plain linear model, end up with
    cosine above 0.9 to the max-l2-margin predictor."""
    for name in ("conv-1", "fc-2", "fc-3"):
        assert np.all(r.cos_l2[name] > 0.9)  # quick: 0.94 at least
        assert np.all(r.cos_l2[name] <= 1 + 1e-12)


def test_two_layer_convolutional_network_points_elsewhere(r):
    """The two-layer convolutional network's cosine to the l2 max margin is clearly below the
    fully connected networks'."""
    assert r.cos_l2["conv-2"].mean() < 0.9  # quick: 0.78
    assert r.cos_l2["conv-2"].mean() < min(r.cos_l2[n].mean() for n in ("fc-2", "fc-3")) - 0.1
    assert r.cos_l2["conv-2"].mean() > 0.5


def test_convolutional_depth_concentrates_the_spectrum(r):
    """Convolutional networks of depth two to four put the mass of the spectrum on fewer
    coefficients than the plain linear model, and depth three and four on fewer than depth two."""
    d = S["n_features"]
    assert r.counts["conv-1"].mean() > 0.6 * d  # quick: 24 of 32
    assert r.counts["conv-2"].mean() < 0.5 * r.counts["conv-1"].mean()  # quick: 10.7 vs 24
    for name in ("conv-3", "conv-4"):
        assert r.counts[name].mean() < r.counts["conv-2"].mean()  # quick: 5.3 and 3.7


def test_fully_connected_depth_does_not_concentrate_the_spectrum(r):
    """Fully connected networks use about as many coefficients as the l2 max margin."""
    ref = r.reference["l2"]["count"].mean()  # quick: 23.3
    for name in ("fc-2", "fc-3"):
        assert abs(r.counts[name].mean() - ref) <= 3  # quick: 23.7 and 24


def test_two_layer_network_approaches_the_fourier_l1_optimum(r):
    """The two-layer convolutional network reaches between 0.8 and 1 of the optimal Fourier-l1
    margin, more than any fully connected network, the plain linear model or the l2 max margin."""
    ratio = r.ratio["conv-2"]
    assert np.all(ratio > 0.8) and np.all(ratio <= 1 + 1e-6)  # quick: 0.88 to 0.93
    others = max(r.ratio[n].max() for n in ("conv-1", "fc-2", "fc-3"))  # quick: 0.79
    assert ratio.mean() > others + 0.05
    assert ratio.mean() > r.reference["l2"]["ratio"].max()  # quick: 0.83


def test_two_layer_ratio_is_still_rising_at_the_end(r):
    """The two-layer ratio rises over training and still grows over the last recorded decade of
    steps."""
    traj = r.traj_ratio["conv-2"].mean(axis=0)
    decade = r.steps >= r.steps[-1] / 10
    assert traj[-1] > traj[0] + 0.3  # quick: from about 0.3 to 0.91
    assert traj[decade][-1] > traj[decade][0]
    assert np.all(np.diff(traj[decade]) > -1e-3)


def test_reference_predictors_are_what_they_claim(r):
    """The l2 max margin has cosine one to itself and the Fourier-l1 optimum has ratio one."""
    np.testing.assert_allclose(r.reference["l2"]["cos_l2"], 1, atol=1e-12)
    np.testing.assert_allclose(r.reference["fourier_l1"]["ratio"], 1, atol=1e-6)
    assert r.reference["fourier_l1"]["count"].mean() < r.reference["l2"]["count"].mean() / 2


def test_single_example_optimum_by_hand():
    """With one example, a cosine of frequency k0, the optimum is 2 / sqrt(d) (first exercise)."""
    d = 8
    x = np.cos(2 * np.pi * np.arange(d) / d)
    sol = lcn.fourier_l1_max_margin(x[None, :], np.array([1.0]))
    assert sol.primal == pytest.approx(2 / np.sqrt(d), rel=1e-7)

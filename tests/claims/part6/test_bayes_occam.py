"""Claims of book/part6/bayes_occam.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization import bayes
from generalization.chapters.part6 import bayes_occam as bo

S = bo.settings()


@pytest.fixture(scope="module")
def ev():
    return bo.evidence_experiment(**S["evidence"])  # the chapter's call


@pytest.fixture(scope="module")
def wd():
    return bo.width_experiment(**S["width"])  # the chapter's call


@pytest.fixture(scope="module")
def en():
    return bo.ensemble_experiment(**S["ensemble"])  # the chapter's call


def _top(ev):
    return int(ev.log_evidence.mean(0).argmax())


def test_the_evidence_of_every_data_set_peaks_at_a_moderate_degree(ev):
    """Every data set's evidence is largest at a degree well inside the range (not the
    smallest, not the largest)."""
    deg = np.array(ev.degrees)
    best = deg[ev.log_evidence.argmax(axis=1)]
    assert np.all((best >= 2) & (best <= 5))  # quick: 3 for every data set
    assert deg[_top(ev)] <= deg[-1] / 2


def test_the_fit_keeps_improving_while_the_occam_factor_falls_faster(ev):
    """The log-likelihood rises from the best degree to the largest, the log Occam factor
    falls by more, and the evidence of the largest model is far below the best's."""
    top, last = _top(ev), len(ev.degrees) - 1
    gain = ev.log_likelihood[:, last] - ev.log_likelihood[:, top]
    loss = ev.occam[:, top] - ev.occam[:, last]
    assert np.all((1 < gain) & (gain < 10))  # quick: 2.8 to 5.3 nats
    assert np.all((15 < loss) & (loss < 28))  # quick: 20.0 to 22.3 nats
    assert np.all(loss > 2.5 * gain)  # quick: 4.0 to 7.1 times
    # the training fit improves with almost every degree (L-BFGS MAPs: tiny wiggles allowed)
    assert np.all(np.diff(ev.log_likelihood.mean(0)) > -0.1)
    # the prior's penalty -(alpha/2)||w*||^2 is a small part of the Occam factor
    deg = np.array(ev.degrees)
    penalty = ev.log_prior - (deg + 1) / 2 * np.log(ev.prior_precision / (2 * np.pi))
    share = np.abs(penalty[:, [top, last]]) / np.abs(ev.occam[:, [top, last]])
    assert np.all((0.005 < share) & (share < 0.12))  # quick: 0.016 to 0.058


def test_the_evidence_is_exact_and_the_map_is_found(ev):
    """The MAPs are precise (gradient below 1e-4), which the exact Laplace evidence needs."""
    assert ev.gradient_norm < 1e-4  # quick: about 1e-6


def test_well_determined_parameters_grow_with_the_degree(ev):
    """MacKay's gamma rises with the degree and stays below the parameter count."""
    gamma = ev.gamma.mean(0)
    assert np.all(np.diff(gamma) > 0.4)  # quick: 0.67 to 1.0 per degree
    assert np.all(gamma < np.array(ev.degrees) + 1)
    assert gamma[-1] > 0.8 * (ev.degrees[-1] + 1)  # quick: 11.8 of 13


def test_the_test_error_is_smallest_near_the_evidence_peak(ev):
    """The test MSE is smallest a little above the evidence peak and grows more than
    fivefold from the evidence peak to the largest degree."""
    deg = np.array(ev.degrees)
    best_test = deg[ev.test_mse.argmin(axis=1)]
    assert np.all((3 <= best_test) & (best_test <= 6))  # quick: 3 or 5, the peak being 3
    top, last = _top(ev), len(deg) - 1
    ratio = ev.test_mse[:, last].mean() / ev.test_mse[:, top].mean()
    assert 5 < ratio < 40  # quick: 0.154 / 0.0114, about 13.6


def _fits(wd):
    return np.all(wd.train_error == 0, axis=0)


def test_wide_networks_fit_every_noisy_label_and_narrow_ones_do_not(wd):
    """From width 16 on every network fits all its training labels; at width 2 none does."""
    widths = np.array(wd.widths)
    fits = _fits(wd)
    assert np.all(fits == (widths >= 16))
    assert np.all(wd.train_error[:, 0] > 0.3)  # quick: 0.475 and 0.47


def test_effective_dimensionality_falls_with_width_among_networks_that_fit(wd):
    """Among the networks that fit, N_eff (top k, z = 1) falls with every doubling of width,
    to below half its value at the first width that fits."""
    n_eff = wd.n_eff[:, _fits(wd)]
    assert np.all(np.diff(n_eff, axis=1) < -0.8)  # quick: 6.2 -> 4.6 -> 3.1, 7.0 -> 4.2 -> 2.7
    assert np.all(n_eff[:, -1] < 0.6 * n_eff[:, 0])  # quick: 0.49 and 0.39
    assert np.all((5 < n_eff[:, 0]) & (n_eff[:, 0] < 8.5))  # quick: 6.2 and 7.0
    assert np.all((2 < n_eff[:, -1]) & (n_eff[:, -1] < 4))  # quick: 3.1 and 2.7


def test_test_loss_does_not_follow_effective_dimensionality(wd):
    """Over the widths that fit, the test loss rises while N_eff falls; the test error stays
    within a few points."""
    fits = _fits(wd)
    loss = wd.test_loss[:, fits]
    assert np.all(loss[:, -1] > loss[:, 0] + 0.07)  # quick: 1.17 -> 1.32, 1.13 -> 1.26
    error = wd.test_error[:, fits].mean(0)
    assert np.ptp(error) < 0.03  # quick: means 0.333, 0.325, 0.334
    assert np.all((0.28 < error) & (error < 0.38))


def test_the_fall_of_n_eff_follows_the_training_loss(wd):
    """Across the widths that fit, N_eff and the training loss fall together (rank
    correlation 1 on every seed), and the top eigenvalue shrinks."""
    fits = _fits(wd)
    for s in range(len(wd.seeds)):
        n_eff, train = wd.n_eff[s, fits], wd.train_loss[s, fits]
        assert np.all(np.argsort(n_eff) == np.argsort(train))
    top = wd.eigenvalues[:, fits, 0]
    assert np.all(top[:, -1] < 0.5 * top[:, 0])  # quick: 2.9 -> 0.78, 4.5 -> 0.68


def test_truncation_to_the_top_k_eigenvalues_loses_much_of_n_eff(wd):
    """At the narrowest width the top-k N_eff is about half the N_eff of the whole
    spectrum."""
    full = np.array(
        [bayes.effective_dimensionality(e[e > -wd.z / 2], wd.z) for e in wd.full_eigenvalues]
    )
    ratio = wd.n_eff[:, 0] / full
    assert np.all((0.3 < ratio) & (ratio < 0.65))  # quick: 7.0 / 13.9 and 6.0 / 13.9
    # the dense spectrum's top k agree with Lanczos
    np.testing.assert_allclose(wd.full_eigenvalues[:, : wd.k], wd.eigenvalues[:, 0], rtol=1e-2)


def test_the_ensemble_improves_the_test_nll_a_little(en):
    """The ensemble of all members has a lower test NLL than any single member, by a few
    per cent of the mean member's."""
    single, whole = en.nll[0], en.nll[-1, 0]
    assert np.all(whole < single)
    gain = 1 - whole / single.mean()
    assert 0.01 < gain < 0.05  # quick: 0.432 -> 0.421, 2.5%


def test_the_ensemble_barely_changes_accuracy_and_calibration(en):
    """Accuracy moves by under one point and the ECE by under 0.01; the members disagree on
    few test digits."""
    assert abs(en.accuracy[-1, 0] - en.accuracy[0].mean()) < 0.005  # quick: 0.8932 -> 0.894
    assert abs(en.ece[-1, 0] - en.ece[0].mean()) < 0.005  # quick: 0.0410 -> 0.0416
    assert np.all((0.03 < en.ece[0]) & (en.ece[0] < 0.055))  # quick: 0.038 to 0.043
    preds = en.member_logits.argmax(axis=2)
    disagree = np.mean(preds[1:] != preds[0])
    assert 0.01 < disagree < 0.04  # quick: 0.022


def test_single_networks_are_over_confident(en):
    """The confident bins of a single network have lower accuracy than confidence."""
    cal = bayes.calibration(bayes.ensemble_probabilities(en.member_logits[:1]), en.y_test)
    keep = cal.counts >= 10
    gap = np.sum(cal.counts[keep] * (cal.confidence[keep] - cal.accuracy[keep])) / np.sum(
        cal.counts[keep]
    )
    assert 0.025 < gap < 0.06  # quick: 0.041


def test_a_smaller_z_counts_more_eigenvalues(wd):
    """At every width N_eff falls as z grows over the grid, from near k at the smallest z."""
    grid = wd.n_eff_grid.mean(0)  # (widths, z)
    assert np.all(np.diff(grid, axis=1) < 0)
    assert np.all(grid[:, 0] > 0.9 * wd.k)  # quick: 11.4 to 11.9 of 12
    assert np.all(grid[:, -1] < 0.3 * wd.k)  # quick: 0.4 to 2.6

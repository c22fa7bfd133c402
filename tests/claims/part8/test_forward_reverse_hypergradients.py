"""Claims of book/part8/forward_reverse_hypergradients.md, asserted with the chapter's own calls."""

import numpy as np
import pytest

from generalization.chapters.part8 import forward_reverse_hypergradients as hgc

S = hgc.settings()


@pytest.fixture(scope="module")
def trunc():
    return hgc.truncation_experiment(**S["truncation"])  # the chapter's call


@pytest.fixture(scope="module")
def cost():
    return hgc.cost_experiment(**S["cost"])  # the chapter's call


@pytest.fixture(scope="module")
def clean():
    return hgc.cleaning_experiment(**S["cleaning"])  # the chapter's call


def _gap(trunc):
    return np.abs(trunc.reverse - trunc.implicit) / abs(trunc.implicit)


# ------------------------------------------------------------------ three ways to one number


def test_reverse_forward_and_autograd_agree_to_rounding(trunc):
    """Reverse mode, forward mode and PyTorch's backward pass agree to rounding at every T."""
    worst = max(
        hgc.largest_relative_difference(trunc.reverse[k], trunc.forward[k], trunc.autograd[k])
        for k in range(len(trunc.steps))
    )
    assert 0 <= worst < 1e-12  # quick: 5e-16


def test_finite_differences_agree_to_their_truncation_error(trunc):
    """With finite differences included, the largest relative difference is that of the
    central difference: far above rounding, far below the hypergradient's size."""
    worst = max(
        hgc.largest_relative_difference(trunc.reverse[k], trunc.finite[k])
        for k in range(len(trunc.steps))
    )
    assert 1e-10 < worst < 1e-6  # quick: 1.2e-8


def test_truncated_hypergradient_tends_to_the_implicit_value(trunc):
    """The distance to the implicit-function hypergradient falls with every T, from order one
    to below one in ten million."""
    gap = _gap(trunc)
    assert np.all(np.diff(gap) < 0)
    assert 0.3 < gap[0] < 1.0  # quick: 0.62 at T = 2
    assert 1e-9 < gap[-1] < 1e-6  # quick: 6.2e-8 at T = 128


def test_the_gap_decays_at_close_to_the_rate_t_q_to_the_t(trunc):
    """Between the last two run lengths the gap shrinks per step by a factor close to, and a
    little above, the factor of T q^T."""
    T = np.array(trunc.steps, dtype=float)
    gap = _gap(trunc)
    measured = (gap[-1] / gap[-2]) ** (1 / (T[-1] - T[-2]))
    predicted = trunc.rate * (T[-1] / T[-2]) ** (1 / (T[-1] - T[-2]))
    assert predicted < measured < predicted + 0.03  # quick: 0.896 against 0.883


def test_two_step_hypergradient_is_the_closed_form_of_the_first_exercise(trunc):
    """For two steps from zero, dE/dlam = -lr^2 grad L_val(w_2)^T b, b = X^T y / n."""
    assert trunc.steps[0] == 2
    c = S["truncation"]
    X, y, Xv, yv = hgc.ridge_data(c["seed"], c["n_train"], c["n_val"], c["n_features"])
    n, lr, lam = len(y), trunc.lr, c["lam"]
    b = X.T @ y / n
    w1 = lr * b
    w2 = w1 - lr * ((X.T @ X / n + lam * np.eye(X.shape[1])) @ w1 - b)
    grad_val = Xv.T @ (Xv @ w2 - yv) / len(yv)
    assert trunc.reverse[0] == pytest.approx(-(lr**2) * grad_val @ b, rel=1e-10)


# ------------------------------------------------------------------ cost


def test_forward_mode_slows_down_with_h_and_reverse_mode_does_not(cost):
    """From the fewest to the most hyperparameters, forward mode becomes several times slower
    while reverse mode's time stays within a factor of about two."""
    forward = cost.time_h["forward"][-1] / cost.time_h["forward"][0]
    reverse = cost.time_h["reverse"][-1] / cost.time_h["reverse"][0]
    assert 2.0 < forward < 15  # quick: 3.3 to 6.9 over four runs (processor times)
    assert 0.4 < reverse < 2.5  # quick: 0.6 to 1.7 over four runs


def test_forward_mode_is_slower_than_reverse_mode_even_at_one_hyperparameter(cost):
    """At one hyperparameter forward mode already takes several times as long as reverse mode,
    and far longer at the most hyperparameters."""
    at_one = cost.time_h["forward"][0] / cost.time_h["reverse"][0]
    at_most = cost.time_h["forward"][-1] / cost.time_h["reverse"][-1]
    assert 2.0 < at_one < 20  # quick: 5.0 to 10 over four runs
    assert 8 < at_most < 150  # quick: 20 to 64 over four runs


def test_both_times_grow_with_t_forward_mode_in_proportion(cost):
    """From the second-longest to the longest run, forward mode's time grows about as the
    number of steps and reverse mode's by less, but by more than half as much."""
    steps = np.array(cost.steps, dtype=float)
    more = steps[-1] / steps[-2]
    forward = cost.time_t["forward"][-1] / cost.time_t["forward"][-2]
    reverse = cost.time_t["reverse"][-1] / cost.time_t["reverse"][-2]
    assert 0.75 * more < forward < 1.4 * more  # quick: 4.0 to 4.1 for 4 times the steps
    assert 0.4 * more < reverse < 1.2 * more  # quick: 2.1 to 2.5
    for mode in ("reverse", "forward"):
        assert np.all(np.diff(cost.time_t[mode]) > 0), mode


def test_the_two_modes_agree_in_every_cost_run(cost):
    """Reverse and forward mode gave the same hypergradient in every timed run."""
    assert 0 <= cost.disagreement < 1e-10  # quick: 1.5e-13


# ------------------------------------------------------------------ data hyper-cleaning


def test_the_first_hypergradient_already_ranks_corrupted_examples_well(clean):
    """At uniform weights, the hypergradient separates corrupted from clean labels with an AUC
    well above chance."""
    assert np.all((0.91 < clean.first_auc) & (clean.first_auc < 0.98))  # quick: 0.936, 0.947


def test_tuning_does_not_sharpen_the_ranking(clean):
    """After the last hyper-step the weights' AUC is high but below the first hypergradient's."""
    final = clean.auc[:, -1]
    assert np.all((0.87 < final) & (final < clean.first_auc))  # quick: 0.899, 0.923


def test_lowest_weights_and_f1_point_at_corrupted_examples(clean):
    """Most of the lowest-weighted examples are corrupted, and flagging weights below one half
    has an F1 score around nine tenths."""
    precision = clean.precision[:, -1]
    assert np.all((0.83 < precision) & (precision < 0.94))  # quick: 0.880, 0.888
    assert np.all((0.83 < clean.f1) & (clean.f1 < 0.94))  # quick: 0.880, 0.879


def test_validation_loss_falls_and_test_accuracy_rises_along_the_hyper_steps(clean):
    """The validation loss roughly halves and the inner model's test accuracy rises by several
    points over the hyper-steps."""
    ratio = clean.val_loss[:, -1] / clean.val_loss[:, 0]
    assert np.all((0.45 < ratio) & (ratio < 0.75))  # quick: 0.61, 0.59
    rise = clean.test_accuracy[:, -1] - clean.test_accuracy[:, 0]
    assert np.all((0.04 < rise) & (rise < 0.12))  # quick: 0.079, 0.070


def test_learned_weights_recover_most_of_the_accuracy_lost_to_corruption(clean):
    """On the training set, learned weights gain several points over uniform ones and come
    within a couple of points of training on the clean examples only."""
    gain = clean.acc_learned - clean.acc_uniform
    assert np.all((0.05 < gain) & (gain < 0.15))  # quick: 0.098, 0.095
    short = clean.acc_clean - clean.acc_learned
    assert np.all((-0.005 < short) & (short < 0.03))  # quick: 0.003, 0.018


def test_paper_protocol_orders_baseline_below_hyper_cleaner_below_oracle(clean):
    """On training plus validation data: uniform weights < learned weights < clean-only, with a
    gain of a few points and a gap of about a point."""
    gain = clean.acc_tv_learned - clean.acc_tv_uniform
    short = clean.acc_tv_clean - clean.acc_tv_learned
    assert np.all((0.01 < gain) & (gain < 0.06))  # quick: 0.029, 0.037
    assert np.all((0 < short) & (short < 0.02))  # quick: 0.010, 0.009


def test_the_validation_set_alone_is_nearly_as_good(clean):
    """Training on the clean validation set alone comes within a point of the hyper-cleaner on
    training plus validation data, which adds a little on top."""
    extra = clean.acc_tv_learned - clean.acc_val_only
    assert np.all((0 < extra) & (extra < 0.015))  # quick: 0.004, 0.003
    assert np.all(clean.acc_val_only > clean.acc_tv_uniform)  # quick: 0.837 > 0.812, 0.842 > 0.807

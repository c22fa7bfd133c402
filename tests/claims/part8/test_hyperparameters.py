"""Claims of book/part8/hyperparameters.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization.chapters.part8 import hyperparameters as hp

S = hp.settings()


@pytest.fixture(scope="module")
def quad():
    return hp.quadratic_experiment(**S["quadratic"])  # the chapter's call


@pytest.fixture(scope="module")
def rng_():
    return hp.mnist_range_experiment(**S["range_test"])  # the chapter's call


@pytest.fixture(scope="module")
def sched():
    return hp.schedule_experiment(**S["schedules"])  # the chapter's call


@pytest.fixture(scope="module")
def reg():
    return hp.regularization_experiment(**S["regularization"])  # the chapter's call


def _quad_ratios(quad):
    limits = np.array([2 * (1 + b) / quad.lam_max for b in quad.momenta])
    return quad.diverged / limits[:, None], quad.best / limits[:, None]


# ----------------------------------------------------------------------------- the quadratic


def test_lanczos_recovers_lambda_max_of_the_quadratic(quad):
    """Lanczos finds the exact top eigenvalue of the quadratic's Hessian."""
    assert abs(quad.lam_lanczos - quad.lam_max) < 1e-8 * quad.lam_max  # quick: 0 to rounding


def test_range_test_stops_above_the_stability_limit_on_the_quadratic(quad):
    """Every range test diverges above 2 / lambda_max (2 (1 + beta) / lambda_max with momentum)."""
    ratio, _ = _quad_ratios(quad)
    assert 7 < ratio[0, 0] < 12  # quick: 9.21 (plain, 50 steps)
    assert 1.5 < ratio[0, -1] < 2.6  # quick: 2.05 (plain, 800 steps)
    assert np.all((1.2 < ratio[1]) & (ratio[1] < 2.4))  # quick: 1.89, 1.56, 1.47 (momentum)


def test_the_overshoot_shrinks_as_the_ramp_slows(quad):
    """For both optimizers the divergence rate over the limit falls as the ramp grows longer."""
    ratio, _ = _quad_ratios(quad)
    assert np.all(np.diff(ratio, axis=1) < 0)


def test_lowest_loss_lies_above_the_limit_on_the_longest_ramp(quad):
    """Without momentum, on the longest ramp even the lowest-loss rate exceeds the limit."""
    _, best = _quad_ratios(quad)
    assert 1.4 < best[0, -1] < 2.5  # quick: 1.96


# --------------------------------------------------------------------------- MNIST range test


def test_lambda_max_at_initialization_is_of_order_one(rng_):
    """The top Hessian eigenvalue at initialization is about one, so 2 / lambda_max is about two."""
    assert np.all((0.7 < rng_.lam_max) & (rng_.lam_max < 1.6))  # quick: 0.92 to 1.28


def test_plain_range_test_diverges_above_two_over_lambda_max(rng_):
    """Without momentum the test diverges above 2 / lambda_max at initialization, on every seed."""
    ratio = rng_.diverged[0] * rng_.lam_max / 2
    assert np.all((1.3 < ratio) & (ratio < 4.0))  # quick: 1.77, 2.13, 2.92


def test_plain_range_test_lowest_loss_lies_somewhat_below_the_limit(rng_):
    """Without momentum the rate of lowest smoothed loss lies below 2 / lambda_max."""
    ratio = rng_.best[0] * rng_.lam_max / 2
    assert np.all((0.4 < ratio) & (ratio < 1.0))  # quick: 0.81, 0.58, 0.72


def test_momentum_range_test_diverges_before_the_heavy_ball_limit(rng_):
    """With momentum the test diverges well below 2 (1 + beta) / lambda_max at initialization."""
    beta = rng_.momenta[1]
    ratio = rng_.diverged[1] * rng_.lam_max / (2 * (1 + beta))
    assert np.all((0.3 < ratio) & (ratio < 0.9))  # quick: 0.65, 0.46, 0.57


def test_peak_rate_of_the_schedules_is_one_the_range_test_allows(rng_):
    """The peak rate lies below every momentum test's divergence and near its lowest-loss rate."""
    max_lr = S["schedules"]["max_lr"]
    assert max_lr < 0.6 * np.min(rng_.diverged[1])  # quick: 0.32 of the earliest
    assert 0.3 < max_lr / np.mean(rng_.best[1]) < 1.0  # quick: 0.56


# -------------------------------------------------------------------------------- schedules


def _final(sched):
    runs = [f"{s}@{lr:g}" for s, lr in sched.runs]
    peak, low = S["schedules"]["max_lr"], S["schedules"]["max_lr"] / S["schedules"]["div_factor"]
    index = {
        "constant": runs.index(f"constant@{peak:g}"),
        "step": runs.index(f"step@{peak:g}"),
        "one_cycle": runs.index(f"one_cycle@{peak:g}"),
        "low": runs.index(f"constant@{low:g}"),
    }
    acc = {k: sched.test_acc[i, :, -1] for k, i in index.items()}
    loss = {k: sched.test_loss[i, :, -1] for k, i in index.items()}
    return acc, loss


def test_one_cycle_beats_the_constant_low_rate_on_every_seed(sched):
    """One-cycle beats a constant rate at its own low end by a few points on every seed."""
    acc, _ = _final(sched)
    gain = acc["one_cycle"] - acc["low"]
    assert np.all((0.008 < gain) & (gain < 0.06))  # quick: 0.034, 0.020, 0.035
    assert np.all((0.89 < acc["one_cycle"]) & (acc["one_cycle"] < 0.95))  # quick: 0.909 to 0.929


def test_one_cycle_beats_the_constant_peak_rate_and_has_lower_test_loss(sched):
    """One-cycle beats the constant peak rate on every seed, whose final test loss is far higher."""
    acc, loss = _final(sched)
    assert np.all(acc["one_cycle"] > acc["constant"] + 0.01)  # quick: by 0.029 to 0.072
    ratio = loss["constant"].mean() / loss["one_cycle"].mean()
    assert 1.4 < ratio < 3.5  # quick: 0.72 / 0.355 = 2.0


def test_one_cycle_and_step_from_the_peak_differ_by_less_than_seed_noise(sched):
    """One-cycle is ahead of the step schedule on every seed, by less than the seeds' spread."""
    acc, _ = _final(sched)
    gain = acc["one_cycle"] - acc["step"]
    assert np.all((0 < gain) & (gain < 0.015))  # quick: 0.0020 to 0.0065
    assert np.max(gain) < np.std(acc["step"])  # quick: 0.0065 < 0.0101


def test_annealed_schedules_beat_both_constant_ones_on_every_seed(sched):
    """Step and one-cycle, the two that reach the peak and anneal, beat both constant rates."""
    acc, _ = _final(sched)
    annealed = np.minimum(acc["step"], acc["one_cycle"])
    constant = np.maximum(acc["constant"], acc["low"])
    assert np.all(annealed - constant > 0.005)  # quick: 0.028, 0.014, 0.033


# ------------------------------------------------------------------------- regularization


def _curves(reg):
    final = reg.test_loss[..., -1].mean(-1)
    return final, reg.test_loss


def test_the_smallest_rate_under_fits(reg):
    """At the smallest rate without weight decay the test loss is still falling at the end."""
    _, tl = _curves(reg)
    under = tl[0, 0]
    assert np.all(under.argmin(1) == under.shape[1] - 1)
    drop = 1 - under[:, -1] / under[:, -6]
    assert np.all((0.05 < drop) & (drop < 0.2))  # quick: 0.112, 0.117
    assert np.all(reg.train_loss[0, 0, :, -1] > 0.3)  # quick: 0.51, 0.56


def test_the_middle_rate_without_weight_decay_over_fits(reg):
    """At the middle rate without weight decay the test loss rises after an early minimum while
    the training loss goes to near zero."""
    _, tl = _curves(reg)
    over = tl[1, 0]
    assert np.all((5 <= over.argmin(1)) & (over.argmin(1) <= 20))  # quick: epochs 11, 12
    rise = over[:, -1] / over.min(1) - 1
    assert np.all((0.06 < rise) & (rise < 0.3))  # quick: 0.116, 0.147
    assert np.all(reg.train_loss[1, 0, :, -1] < 0.05)  # quick: 0.021, 0.024


def test_the_best_weight_decay_flattens_the_test_loss(reg):
    """At the middle rate the best weight decay leaves the test loss within a few percent of its
    minimum at the end, below the over-fitting run's."""
    final, tl = _curves(reg)
    bal = tl[1, int(np.argmin(final[1]))]
    assert np.all(bal[:, -1] / bal.min(1) - 1 < 0.03)  # quick: at most 0.0084
    assert np.all(bal[:, -1] < tl[1, 0, :, -1])


def test_the_best_weight_decay_moves_with_the_learning_rate(reg):
    """The best weight decay is none at the smallest rate, and smaller at the largest rate than at
    the middle one."""
    final, _ = _curves(reg)
    wds = np.array(reg.weight_decays)
    best = wds[np.argmin(final, axis=1)]
    assert best[0] == 0 and 0 < best[2] < best[1]  # quick: 0, 0.01, 0.003
    assert 2 < final[2, 0] / final[2].min() < 5  # quick: 1.52 / 0.477 = 3.2
    mid = np.sort(final[1])
    assert 0.01 < mid[1] / mid[0] - 1 < 0.15  # quick: 0.045

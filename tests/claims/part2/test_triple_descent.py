"""Claims of book/part2/triple_descent.md, asserted with the chapter's own calls.

Thresholds come from the quick-scale run (D = 40, N = 320, 6 seeds) and are stated next to
each assertion as "measured X"; they leave room for the spread over seeds but fail if a
peak moves, vanishes or appears.
"""

import numpy as np
import pytest

from generalization import scale
from generalization.chapters.part2 import triple_descent as td

S = td.settings(scale())
D, N = S["D"], S["N"]
NS = td.sizes(D, S["n_over_D"])


@pytest.fixture(scope="module")
def main():  # the chapter's call (cached: computed once for the book and the tests)
    return td.sample_wise(
        D, N, NS, S["r"], 0.0, S["noise_var"], S["lambdas"], S["seeds"], S["n_test"]
    )


@pytest.fixture(scope="module")
def by_r(main):
    out = {S["r"]: main}
    for r in S["activations"]:
        out[r] = td.sample_wise(D, N, NS, r, 0.0, S["noise_var"], (0.0,), S["seeds"], S["n_test"])
    return out


@pytest.fixture(scope="module")
def by_s():
    return {
        s: td.sample_wise(D, N, NS, S["r"], s, 0.0, (0.0,), S["seeds"], S["n_test"])
        for s in S["teacher_s"]
    }


@pytest.fixture(scope="module")
def phase():
    return td.phase_diagram(
        D,
        td.sizes(D, S["grid_N_over_D"]),
        td.sizes(D, S["grid_n_over_D"]),
        S["r"],
        0.0,
        S["noise_var"],
        0.0,
        S["grid_seeds"],
        S["n_test"],
    )


def at(curve, n):
    return list(curve.n).index(n)


def test_degrees_of_linearity():
    relu = td.linearity(lambda z: np.maximum(z, 0.0))
    assert relu == pytest.approx(
        np.pi / (2 * (np.pi - 1)), abs=1e-7
    )  # exercise: printed to 6 digits
    assert td.linearity(np.tanh) == pytest.approx(
        S["r"], abs=0.005
    )  # "exactly as linear as tanh" (0.9305)
    assert round(relu, 2) == 0.73 and 0.73 in S["activations"]


def test_two_peaks_at_D_and_N(main):
    n_lin, prom_lin, n_nl, prom_nl = td.peak_report(main.n, main.log_mean[0], D, N)
    assert abs(n_lin / D - 1) <= 0.2  # tolerance of the claim "near n = D"; measured 1.10 D
    assert n_nl == N  # exactly at n = N
    assert prom_lin > 1.25  # measured 1.46
    assert prom_nl > 100  # measured 324
    err = main.log_mean[0]
    lo, hi = at(main, int(n_lin)), at(main, N)
    trough = err[lo : hi + 1].min()
    assert (
        err[lo] / trough > 1.3 and err[hi] / trough > 100
    )  # falls, rises, falls, rises (measured 1.57, 420)
    assert err[-1] < err[hi] / 100 and err[0] < err[lo]  # and falls again at the end


def test_every_seed_peaks_at_N_and_near_D(main):
    for j in range(len(main.seeds)):
        n_lin, _, n_nl, _ = td.peak_report(main.n, main.test_error[0, :, j], D, N)
        assert n_nl == N
        assert 0.8 * D <= n_lin <= 1.6 * D  # per-seed maxima, measured between 1.0 D and 1.5 D


def test_interpolation_and_the_norm(main):
    interp = main.n <= N
    assert main.train_error[0][interp].max() < 1e-10  # printed as ~1e-15
    assert main.train_error[0][~interp].min() > 1e-4  # measured 0.0028 (one seed, n = N + 4)
    norm = np.median(main.norm2[0], axis=-1)
    assert norm[at(main, N)] > 100 * norm[at(main, N // 2)]  # measured about 600
    n_lin = int(td.peak_report(main.n, main.log_mean[0], D, N)[0])
    assert norm[at(main, N)] > 1000 * norm[at(main, n_lin)]  # measured about 1e4


def test_ridge_removes_the_nonlinear_peak_first(main):
    lams = list(main.lambdas)
    err = main.log_mean[0]
    n_lin = int(td.peak_report(main.n, err, D, N)[0])
    lo, hi = at(main, n_lin), at(main, N)
    cut_nl, cut_lin = err[hi] / main.log_mean[:, hi], err[lo] / main.log_mean[:, lo]
    assert (
        cut_nl[lams.index(1e-4)] > 20 and cut_lin[lams.index(1e-4)] < 1.02
    )  # measured 46 and 1.00
    assert (
        cut_nl[lams.index(1e-3)] > 60 and cut_lin[lams.index(1e-3)] < 1.05
    )  # measured 140 and 1.01
    assert cut_lin[lams.index(1e-2)] < 1.3  # measured 1.13
    reports = [td.peak_report(main.n, c, D, N) for c in main.log_mean]
    assert reports[lams.index(1e-3)][3] < reports[0][3] / 30  # prominence 2.6 vs 324
    assert reports[lams.index(1e-1)][3] < 1.05  # nonlinear peak gone (measured 1.00)
    assert (
        reports[lams.index(1e-2)][1] > 1.25 and reports[lams.index(1e-1)][1] > 1.1
    )  # linear peak still there (1.49, 1.28)
    assert reports[lams.index(1.0)][1] < 1.05  # gone at lambda = 1
    lam15_nl = main.lambdas[np.argmax(cut_nl >= 1.5)]
    lam15_lin = main.lambdas[np.argmax(cut_lin >= 1.5)]
    assert lam15_lin / lam15_nl >= 100  # measured 1000 (1e-1 against 1e-4)


def test_activation_decides_which_peak(by_r):
    rep = {r: td.peak_report(c.n, c.log_mean[0], D, N) for r, c in by_r.items()}
    assert (
        rep[1.0][0] == D and rep[1.0][1] > 10 and rep[1.0][3] < 1.05
    )  # linear: only n = D (measured 105, 1.00)
    assert rep[0.0][1] < 1.05 and rep[0.0][3] > 100  # even: only n = N (measured 1.00, 314)
    assert (
        rep[0.73][1] < 1.05 and rep[0.73][3] > 100
    )  # ReLU-like: linear peak hidden (measured 1.00, 615)
    assert rep[1.0][1] > rep[S["r"]][1] > rep[0.73][1]  # the linear peak weakens with nonlinearity
    assert by_r[1.0].log_mean[0][at(by_r[1.0], D)] > 100  # printed: measured 246


def test_linear_peak_needs_noise_nonlinear_does_not(by_s):
    rep = {s: td.peak_report(c.n, c.log_mean[0], D, N) for s, c in by_s.items()}
    assert rep[0.0][1] < 1.05 and rep[0.0][3] > 20  # measured 1.00 and 124
    assert rep[0.5][1] > 1.1 and abs(rep[0.5][0] / D - 1) <= 0.2  # measured 1.20 at 0.9 D
    clean = by_s[0.0].log_mean[0]
    assert np.all(np.diff(clean[: at(by_s[0.0], 2 * D) + 1]) < 0)  # falls steadily through n = D


def test_phase_diagram_ridges(phase):
    for j, Nj in enumerate(phase.N):
        assert (
            phase.n[int(np.argmax(phase.log_mean[:, j]))] == Nj
        )  # the diagonal n = N, every column
    wide = [
        td.bump(phase.n, phase.log_mean[:, j], int(round(D / 2)), 2 * D)
        for j in range(len(phase.N))
        if phase.N[j] >= 4 * D
    ]
    assert len(wide) >= 2
    for n_at, prom in wide:
        assert D <= n_at <= 1.5 * D and prom > 1.1  # measured 1.2 D, prominence 1.20 to 1.45

import numpy as np
import pytest
from scipy import optimize

from generalization import linear_conv
from generalization.chapters.part3 import linear_conv_networks as lcn


def _data(seed=0, n=6, d=8):
    X, y, *_ = lcn.teacher_data(seed, n, d, 2, 10)
    return X, y


def _moduli_primal_trust_constr(X, y):
    # an independent solver: the primal in w with the moduli of F w, smoothed by a tiny eps,
    # by trust-constr with the margins as linear constraints
    d = X.shape[1]
    eps = 1e-10

    def objective(w):
        v = np.fft.fft(w) / np.sqrt(d)
        return np.sum(np.sqrt(np.abs(v) ** 2 + eps))

    def grad(w):
        v = np.fft.fft(w) / np.sqrt(d)
        g = v / np.sqrt(np.abs(v) ** 2 + eps)
        return (np.fft.ifft(g) * np.sqrt(d)).real  # F^* g, real part

    Z = y[:, None] * X
    start = lcn.geometry.max_margin(X, y)
    res = optimize.minimize(
        objective,
        start,
        jac=grad,
        method="trust-constr",
        constraints=[optimize.LinearConstraint(Z, lb=np.ones(len(y)), ub=np.inf)],
        options=dict(gtol=1e-12, xtol=1e-14, maxiter=20_000),
    )
    w = res.x / np.min(Z @ res.x)
    return lcn.fourier_l1(w)


@pytest.mark.parametrize("seed", [0, 1])
def test_solver_agrees_with_trust_constr_on_the_primal(seed):
    X, y = _data(seed)
    sol = lcn.fourier_l1_max_margin(X, y)
    other = _moduli_primal_trust_constr(X, y)
    assert sol.gap < 1e-8
    assert sol.primal == pytest.approx(other, rel=1e-4)
    assert sol.primal <= other * (1 + 1e-6)  # ours is the better feasible point, or equal


def test_solver_returns_a_feasible_point_with_its_value():
    X, y = _data(2)
    sol = lcn.fourier_l1_max_margin(X, y)
    assert np.min(y * (X @ sol.beta)) == pytest.approx(1.0)
    assert lcn.fourier_l1(sol.beta) == pytest.approx(sol.primal)
    assert sol.dual <= sol.primal * (1 + 1e-12)
    assert sol.margin == pytest.approx(lcn.fourier_margin(sol.beta, X, y))


def test_single_cosine_example_by_hand():
    d = 16
    x = np.cos(2 * np.pi * 3 * np.arange(d) / d)
    sol = lcn.fourier_l1_max_margin(x[None, :], np.array([1.0]))
    assert sol.primal == pytest.approx(2 / np.sqrt(d), rel=1e-8)
    np.testing.assert_allclose(sol.beta, 2 * x / d, atol=1e-8)


def test_dual_is_feasible_and_below_any_feasible_primal():
    X, y = _data(3)
    value, lam = lcn.fourier_l1_dual(X, y)
    assert np.all(lam >= 0)
    G = np.fft.fft((y[:, None] * X).T, axis=0) / np.sqrt(X.shape[1])
    assert np.max(np.abs(G @ lam)) <= 1 + 1e-12
    w = lcn.geometry.max_margin(X, y)  # any separator with margin one bounds the optimum
    w = w / np.min(y * (X @ w))
    assert value <= lcn.fourier_l1(w) + 1e-9


def test_mass_count_by_hand():
    d = 8
    w = np.cos(2 * np.pi * np.arange(d) / d)  # two equal coefficients
    assert lcn.mass_count(w) == 2
    assert lcn.mass_count(w, mass=0.5) == 1
    rng = np.random.default_rng(0)
    v = rng.standard_normal(d)
    m = np.sort(linear_conv.fourier_magnitudes(v))[::-1]
    k = lcn.mass_count(v)
    assert m[:k].sum() >= 0.9 * m.sum() > m[: k - 1].sum()


def test_teacher_is_a_single_frequency_and_labels_follow_it():
    X, y, Xt, yt, teacher = lcn.teacher_data(0, 5, 16, 3, 7)
    moduli = linear_conv.fourier_magnitudes(teacher)
    assert set(np.flatnonzero(moduli > 1e-9)) == {3, 13}
    np.testing.assert_array_equal(y, np.sign(X @ teacher))
    assert Xt.shape == (7, 16) and yt.shape == (7,)


def test_teacher_data_rejects_a_frequency_above_nyquist():
    with pytest.raises(ValueError, match="frequency"):
        lcn.teacher_data(0, 5, 8, 5, 7)


def test_log_checkpoints_are_sorted_and_in_range():
    idx = lcn.log_checkpoints(10_000, 5)
    assert idx[0] == 1 and idx[-1] == 2000
    assert np.all(np.diff(idx) > 0)


def test_cosine_and_fourier_margin_by_hand():
    assert lcn.cosine(np.array([1.0, 0.0]), np.array([1.0, 1.0])) == pytest.approx(2**-0.5)
    X = np.array([[1.0, 1.0, 1.0, 1.0]])
    w = np.ones(4)  # F w = (2, 0, 0, 0)
    assert lcn.fourier_margin(w, X, np.array([1.0])) == pytest.approx(4 / 2)

import itertools

import numpy as np
import pytest
from scipy.optimize import approx_fprime, minimize

from generalization import geometry


def regression(n=3, p=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, p)), rng.standard_normal(n)


def positive_regression(n=3, p=6, seed=1):
    """Positive X and y = X w_true with w_true > 0: interpolants with w > 0 exist."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, p))
    return X, X @ (rng.random(p) + 0.2)


def top_eigenvalue(X):
    return np.linalg.eigvalsh(X.T @ X / X.shape[0])[-1]


def separable(n=20, p=3, seed=3):
    """Labels of a plane through the origin, the points pushed 0.3 away from it."""
    rng = np.random.default_rng(seed)
    normal = np.array([1.0, -0.5, 0.3, 0.2, -0.4])[:p]
    X = rng.standard_normal((n, p))
    y = np.sign(X @ normal)
    return X + 0.3 * y[:, None] * normal, y


# Three points, labels (+1, -1, +1), whose separators differ with the norm; by hand, with
# z_i = y_i x_i = (1, 2), (3, 2), (0, 3):
#   l2:   the closest point of {<w, z_1> >= 1} is z_1 / ||z_1||^2 = (0.2, 0.4), and it has
#         <w, z_2> = 1.4 and <w, z_3> = 1.2, so it is feasible: w = (0.2, 0.4).
#   l1:   z_3 forces w_2 >= 1/3; w_1 = 0, w_2 = 1/2 meets all three (||w||_1 = 1/2), and
#         w_1 + 2 w_2 >= 1 gives |w_1| + |w_2| >= 1 - w_2 > 1/2 for w_2 < 1/2: w = (0, 0.5).
#   linf: with ||w||_inf = t, z_1 needs t + 2t >= 1, so t >= 1/3, and t = 1/3 forces
#         w = (1/3, 1/3), which meets z_2 and z_3.
HAND_X = np.array([[1.0, 2.0], [-3.0, -2.0], [0.0, 3.0]])
HAND_Y = np.array([1.0, -1.0, 1.0])
HAND = {"l2": [0.2, 0.4], "l1": [0.0, 0.5], "linf": [1 / 3, 1 / 3]}
ORD = {"l1": 1, "l2": 2, "linf": np.inf}


# --- mirror descent and the Bregman projection -------------------------------------------


def test_l2_mirror_descent_is_gradient_descent_and_ends_at_the_nearest_interpolant():
    X, y = regression()
    w0 = np.random.default_rng(5).standard_normal(8)
    lr = 1.0 / top_eigenvalue(X)
    w, path = geometry.mirror_descent(X, y, "l2", w0, lr, 3000, return_path=True)
    assert path.shape == (3001, 8)
    gd = [w0]
    for _ in range(50):  # plain gradient descent, written out
        gd.append(gd[-1] - lr * X.T @ (X @ gd[-1] - y) / 3)
    np.testing.assert_allclose(path[:51], np.array(gd), atol=1e-12)
    np.testing.assert_allclose(w, w0 + np.linalg.pinv(X) @ (y - X @ w0), atol=1e-9)
    np.testing.assert_array_equal(path[-1], w)


def test_one_step_of_each_potential_written_out():
    X, y = positive_regression()
    w0 = np.random.default_rng(2).random(6) + 0.5
    grad = X.T @ (X @ w0 - y) / 3
    lr = 0.3
    eg = geometry.mirror_descent(X, y, "entropy", w0, lr, 1)
    np.testing.assert_allclose(eg, w0 * np.exp(-lr * grad), rtol=1e-13)  # exponentiated gradient
    w0 = w0 - 1.0  # both signs
    grad = X.T @ (X @ w0 - y) / 3
    z = np.sign(w0) * np.abs(w0) ** 2 - lr * grad  # l3: grad psi(w) = sign(w) w^2
    lp = geometry.mirror_descent(X, y, ("lp", 3), w0, lr, 1)
    np.testing.assert_allclose(lp, np.sign(z) * np.sqrt(np.abs(z)), rtol=1e-13)


def test_the_l2_projection_is_the_pseudo_inverse_formula():
    X, y = regression(n=4, p=7, seed=1)
    w0 = np.random.default_rng(6).standard_normal(7)
    w = geometry.bregman_projection(X, y, "l2", w0)
    np.testing.assert_allclose(w, w0 + np.linalg.pinv(X) @ (y - X @ w0), atol=1e-12)


MIRROR_CASES = [
    ("entropy", positive_regression(), np.ones(6), (0.5, 1.0)),
    (("lp", 3), regression(p=6), np.array([0.8, -1.2, 0.5, 1.5, -0.7, 1.0]), (0.1, 0.3)),
    (("lp", 1.5), regression(p=6), np.array([0.8, -1.2, 0.5, 1.5, -0.7, 1.0]), (0.1, 0.3)),
]


@pytest.mark.parametrize("potential, data, w0, scales", MIRROR_CASES)
def test_mirror_descent_ends_at_the_bregman_projection_whatever_the_step(
    potential, data, w0, scales
):
    X, y = data
    target = geometry.bregman_projection(X, y, potential, w0)
    for scale in scales:
        w = geometry.mirror_descent(X, y, potential, w0, scale / top_eigenvalue(X), 5000)
        np.testing.assert_allclose(w, target, atol=1e-8)  # the same limit for both steps
    # ... and the potential matters: the l2 projection is another interpolant
    assert np.max(np.abs(target - geometry.bregman_projection(X, y, "l2", w0))) > 0.01


@pytest.mark.parametrize("potential, data, w0, _", MIRROR_CASES)
def test_the_projection_meets_its_optimality_conditions(potential, data, w0, _):
    # X w = y, and grad psi(w) - grad psi(w0) = X^T nu for some nu (least squares by numpy)
    X, y = data
    w = geometry.bregman_projection(X, y, potential, w0)
    np.testing.assert_allclose(X @ w, y, atol=1e-9)
    if potential == "entropy":
        assert np.all(w > 0)
        shift = np.log(w / w0)
    else:
        p = potential[1]
        shift = np.sign(w) * np.abs(w) ** (p - 1) - np.sign(w0) * np.abs(w0) ** (p - 1)
    nu = np.linalg.lstsq(X.T, shift, rcond=None)[0]
    np.testing.assert_allclose(X.T @ nu, shift, atol=1e-8)


def test_the_entropy_projection_matches_slsqp_on_the_primal():
    X, y = positive_regression(n=3, p=6, seed=4)
    w0 = np.random.default_rng(7).random(6) + 0.5

    def kl(w):  # D_psi(w, w0) for the unnormalized negative entropy
        return np.sum(w * np.log(w / w0) - w + w0)

    result = minimize(
        kl,
        w0,
        jac=lambda w: np.log(w / w0),
        method="SLSQP",
        bounds=[(1e-12, None)] * 6,
        constraints=[{"type": "eq", "fun": lambda w: X @ w - y, "jac": lambda w: X}],
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    assert result.success
    w = geometry.bregman_projection(X, y, "entropy", w0)
    np.testing.assert_allclose(w, result.x, atol=1e-6)
    assert kl(w) <= result.fun + 1e-10


def test_the_projection_says_when_no_interpolant_is_positive():
    X, y = positive_regression()
    with pytest.raises(ValueError, match=r"X w = y must have a solution in the domain"):
        geometry.bregman_projection(X, -y, "entropy", np.ones(6))


# --- steepest descent ----------------------------------------------------------------------


def one_step(g, norm, normalized=False, lr=1.0):
    """One step of ``steepest_descent`` from 0 on a squared loss whose gradient at 0 is g."""
    p = g.size  # X = I, n = p: grad L(0) = (0 - y) / p = g for y = -p g
    return geometry.steepest_descent(np.eye(p), -p * g, norm, lr, 1, normalized=normalized)


def brute_force_direction(g, norm):
    """argmin_v <g, v> + ||v||^2 / 2 by a generic solver on a smooth reformulation."""
    p = g.size
    if norm == "l2":
        return minimize(lambda v: g @ v + v @ v / 2, np.zeros(p), method="BFGS").x
    if norm == "l1":  # v = a - b, a, b >= 0: <g, a - b> + (sum a + sum b)^2 / 2
        result = minimize(
            lambda ab: g @ (ab[:p] - ab[p:]) + np.sum(ab) ** 2 / 2,
            np.full(2 * p, 0.1),
            jac=lambda ab: np.r_[g, -g] + np.sum(ab),
            method="L-BFGS-B",
            bounds=[(0, None)] * (2 * p),
            options={"ftol": 1e-15, "gtol": 1e-12},
        )
        return result.x[:p] - result.x[p:]
    # linf: variables (v, t) with -t <= v_j <= t: <g, v> + t^2 / 2
    cons = {"type": "ineq", "fun": lambda vt: np.r_[vt[-1] - vt[:-1], vt[-1] + vt[:-1]]}
    result = minimize(
        lambda vt: g @ vt[:-1] + vt[-1] ** 2 / 2,
        np.r_[np.zeros(p), 1.0],
        method="SLSQP",
        constraints=[cons],
        options={"ftol": 1e-15, "maxiter": 500},
    )
    return result.x[:-1]


@pytest.mark.parametrize("norm", ["l1", "l2", "linf"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_step_is_the_steepest_direction_of_its_norm(norm, seed):
    g = np.random.default_rng(seed).standard_normal(5)
    v = one_step(g, norm)
    np.testing.assert_allclose(v, brute_force_direction(g, norm), atol=1e-5)
    dual = {"l1": np.max(np.abs(g)), "l2": np.linalg.norm(g), "linf": np.sum(np.abs(g))}[norm]
    np.testing.assert_allclose(g @ v, -(dual**2), rtol=1e-12)  # <g, v> = -||g||_*^2


def test_l1_steps_break_ties_by_the_lowest_index():
    np.testing.assert_array_equal(one_step(np.array([1.0, -3.0, 3.0]), "l1"), [0.0, 3.0, 0.0])


@pytest.mark.parametrize("norm", ["l1", "l2", "linf"])
def test_normalized_steps_have_norm_lr_in_the_norm_of_the_geometry(norm):
    g = np.random.default_rng(8).standard_normal(5)
    v = one_step(g, norm, normalized=True, lr=0.7)
    np.testing.assert_allclose(np.linalg.norm(v, ORD[norm]), 0.7, rtol=1e-12)
    dual = {"l1": np.inf, "l2": 2, "linf": 1}[norm]  # the order of the dual norm
    np.testing.assert_allclose(v, 0.7 * one_step(g, norm) / np.linalg.norm(g, dual), rtol=1e-12)
    np.testing.assert_array_equal(one_step(np.zeros(5), norm, normalized=True), np.zeros(5))


def test_l2_steepest_descent_is_gradient_descent():
    X, y = regression()
    lr = 0.5 / top_eigenvalue(X)
    _, path = geometry.steepest_descent(X, y, "l2", lr, 20, return_path=True)
    w, gd = np.zeros(8), [np.zeros(8)]
    for _ in range(20):
        w = w - lr * X.T @ (X @ w - y) / 3
        gd.append(w)
    np.testing.assert_allclose(path, np.array(gd), atol=1e-13)


@pytest.mark.parametrize("loss", ["logistic", "exp"])
def test_classification_losses_step_along_their_numerical_gradient(loss):
    X, y = separable(n=10, p=3, seed=2)
    w0 = np.array([0.3, -0.2, 0.5])
    f = {"logistic": lambda m: np.log1p(np.exp(-m)), "exp": lambda m: np.exp(-m)}[loss]
    numerical = approx_fprime(w0, lambda w: np.mean(f(y * (X @ w))), 1e-7)
    step = geometry.steepest_descent(X, y, "l2", 1.0, 1, w0=w0, loss=loss) - w0
    np.testing.assert_allclose(step, -numerical, atol=1e-6)


def test_normalized_exp_steps_stay_finite_where_the_loss_overflows():
    X, y = separable(n=10, p=3, seed=2)
    w0 = -2000.0 * geometry.max_margin(X, y)  # margins far below -709: exp(-m) overflows
    for norm in ("l1", "l2", "linf"):
        w = geometry.steepest_descent(X, y, norm, 0.1, 3, w0=w0, loss="exp", normalized=True)
        np.testing.assert_allclose(np.linalg.norm(w - w0, ORD[norm]), 0.3, rtol=1e-9)


def test_the_limit_of_l1_and_linf_steepest_descent_depends_on_the_step_size():
    # Gunasekar et al. (2018), section 3: no step-size-free limit, unlike mirror descent.
    X, y = regression(n=2, p=4, seed=5)
    lam = top_eigenvalue(X)
    for norm, scales in [("l1", (0.1, 1.0)), ("linf", (0.025, 0.25)), ("l2", (0.1, 1.0))]:
        small, large = (geometry.steepest_descent(X, y, norm, c / lam, 3000) for c in scales)
        for w in (small, large):
            np.testing.assert_allclose(X @ w, y, atol=1e-9)  # both interpolate
        gap = np.max(np.abs(small - large)) / np.max(np.abs(large))
        if norm == "l2":
            assert gap < 1e-8  # gradient descent: the min-norm interpolant for both
        else:
            assert gap > 0.1  # measured: 1.7 (l1), 0.16 (linf)


@pytest.mark.parametrize("norm", ["l1", "l2", "linf"])
def test_exp_loss_steepest_descent_reaches_the_max_margin_of_its_norm(norm):
    # Gunasekar et al. (2018), section 3.2: the margin in the norm tends to the maximal one.
    X, y = separable()
    best = geometry.max_margin(X, y, norm)
    gamma = 1.0 / np.linalg.norm(best, ORD[norm])
    _, path = geometry.steepest_descent(
        X, y, norm, 0.05, 3000, loss="exp", normalized=True, return_path=True
    )
    margins = [np.min(y * (X @ path[t])) / np.linalg.norm(path[t], ORD[norm]) for t in (100, 3000)]
    assert margins[0] < margins[1] <= gamma * (1 + 1e-9) and margins[1] > 0.99 * gamma
    direction = path[-1] / np.linalg.norm(path[-1], ORD[norm])
    np.testing.assert_allclose(direction, best * gamma, atol=0.02)


# --- max margin ----------------------------------------------------------------------------


@pytest.mark.parametrize("norm", ["l1", "l2", "linf"])
def test_max_margin_of_three_points_computed_by_hand(norm):
    w = geometry.max_margin(HAND_X, HAND_Y, norm)
    np.testing.assert_allclose(w, HAND[norm], atol=1e-9)


@pytest.mark.parametrize("norm", ["l1", "l2", "linf"])
def test_one_point_is_separated_by_the_dual_norm_closed_form(norm):
    # min ||w|| s.t. <w, x> >= 1 has ||w|| = 1 / ||x||_*; for x = (3, -4):
    x = np.array([[3.0, -4.0]])
    expected = {"l2": [0.12, -0.16], "l1": [0.0, -0.25], "linf": [1 / 7, -1 / 7]}[norm]
    np.testing.assert_allclose(geometry.max_margin(x, [1.0], norm), expected, atol=1e-9)


@pytest.mark.parametrize("norm", ["l1", "l2", "linf"])
def test_max_margin_is_feasible_with_an_active_constraint(norm):
    X, y = separable(n=30, p=5, seed=1)
    margins = y * (X @ geometry.max_margin(X, y, norm))
    assert np.min(margins) == pytest.approx(1.0, abs=1e-7)


def test_l2_max_margin_matches_slsqp_on_the_primal():
    X, y = separable(n=30, p=5, seed=1)
    Z = y[:, None] * X
    result = minimize(
        lambda w: w @ w / 2,
        np.ones(5),
        jac=lambda w: w,
        method="SLSQP",
        constraints=[{"type": "ineq", "fun": lambda w: Z @ w - 1, "jac": lambda w: Z}],
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    assert result.success
    np.testing.assert_allclose(geometry.max_margin(X, y), result.x, atol=1e-7)


@pytest.mark.parametrize("norm", ["l1", "linf"])
def test_polyhedral_max_margins_match_a_brute_force_over_vertices(norm):
    # In 2-D the norm is linear on cones bounded by its kink lines (the axes for l1, the
    # diagonals for linf), so an optimum lies where two of the lines <w, z_i> = 1 and the kink
    # lines meet: enumerate those points, keep the feasible ones, take the smallest norm.
    X, y = separable(n=8, p=2, seed=13)
    Z = y[:, None] * X
    kinks = [[1.0, 0.0], [0.0, 1.0]] if norm == "l1" else [[1.0, -1.0], [1.0, 1.0]]
    lines = [(z, 1.0) for z in Z] + [(np.array(k), 0.0) for k in kinks]
    best = []
    for (a, s), (b, t) in itertools.combinations(lines, 2):
        A = np.array([a, b])
        if abs(np.linalg.det(A)) > 1e-12:
            w = np.linalg.solve(A, [s, t])
            if np.min(Z @ w) >= 1 - 1e-12:
                best.append((np.linalg.norm(w, ORD[norm]), tuple(w)))
    best.sort()
    assert best[1][0] > best[0][0] + 1e-6  # a unique optimum
    w = geometry.max_margin(X, y, norm)
    np.testing.assert_allclose(w, best[0][1], atol=1e-8)
    assert np.max(np.abs(w - geometry.max_margin(X, y, "l2"))) > 0.1  # the norm matters


@pytest.mark.parametrize("norm", ["l1", "l2", "linf"])
def test_max_margin_refuses_data_not_separable_through_the_origin(norm):
    with pytest.raises(ValueError, match=r"X, y must be linearly separable through the origin"):
        geometry.max_margin([[1.0, 0.0], [2.0, 0.0]], [1.0, -1.0], norm)
    X, y = separable(n=30, p=2, seed=4)
    y[np.argmax(X[:, 0])] *= -1  # one flipped label
    with pytest.raises(ValueError, match=r"not linearly separable|must be linearly separable"):
        geometry.max_margin(X, y, norm)


def test_max_margin_does_not_depend_on_the_scale_of_the_data():
    for norm in ("l1", "l2", "linf"):
        w = geometry.max_margin(HAND_X * 1e-6, HAND_Y, norm)
        np.testing.assert_allclose(w, np.array(HAND[norm]) * 1e6, rtol=1e-8)


# --- gradient descent on the logistic loss -------------------------------------------------


def test_logistic_gd_matches_gradient_descent_written_out():
    X, y = separable(n=10, p=3, seed=2)
    W = geometry.logistic_gd(X, y, 0.5, 30, [30, 0, 7])
    w, kept = np.zeros(3), {0: np.zeros(3)}
    for t in range(1, 31):
        w = w + 0.5 * np.mean((y / (1 + np.exp(y * (X @ w))))[:, None] * X, axis=0)
        kept[t] = w
    np.testing.assert_allclose(W, [kept[30], kept[0], kept[7]], atol=1e-13)
    path = geometry.steepest_descent(X, y, "l2", 0.5, 30, loss="logistic")
    np.testing.assert_allclose(W[0], path, atol=1e-13)


def test_logistic_gd_turns_towards_the_max_margin_and_grows_like_log_t():
    # Soudry et al. (2018): w_t = w_hat log t + O(1), w_hat the l2 max-margin separator.
    # Five points in 2-D; w_hat = (5/6, 5/9), with two support vectors.
    Z = np.array([[1.0, 0.3], [0.6, 0.9], [3.0, 1.0], [3.5, 0.2], [2.5, -0.3]])
    y = np.array([1.0, -1.0, 1.0, -1.0, 1.0])
    X = y[:, None] * Z
    w_hat = geometry.max_margin(X, y)
    np.testing.assert_allclose(w_hat, [5 / 6, 5 / 9], atol=1e-9)
    steps = np.array([10, 100, 1000, 10000])
    W = geometry.logistic_gd(X, y, 1.0 / top_eigenvalue(X), 10000, steps)
    norms = np.linalg.norm(W, axis=1)
    angles = np.degrees(np.arccos(W @ w_hat / norms / np.linalg.norm(w_hat)))
    assert np.all(np.diff(angles) < 0) and angles[-1] < 1.0  # measured: 19.3, 10.2, 3.5, 0.8
    per_decade = np.diff(norms)  # measured: 1.34, 2.07, 2.27; ||w_hat|| ln 10 = 2.31
    assert per_decade[-1] == pytest.approx(np.linalg.norm(w_hat) * np.log(10), rel=0.05)
    assert abs(per_decade[-1] - per_decade[-2]) < 0.1 * per_decade[-1]
    rest = np.linalg.norm(W - np.log(steps)[:, None] * w_hat, axis=1)  # the O(1) remainder
    assert abs(rest[-1] - rest[-2]) < 0.05 * rest[-1]


# --- argument checks -----------------------------------------------------------------------

X3, Y3 = regression()
W8 = np.ones(8)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: geometry.mirror_descent(X3[0], Y3, "l2", W8, 0.1, 1), r"X must be a 2-D array"),
        (lambda: geometry.mirror_descent(X3, Y3[:2], "l2", W8, 0.1, 1), r"y must have shape"),
        (
            lambda: geometry.mirror_descent(X3 * np.nan, Y3, "l2", W8, 0.1, 1),
            r"X must be finite",
        ),
        (lambda: geometry.mirror_descent(X3, Y3, "l3", W8, 0.1, 1), r"potential must be 'l2'"),
        (lambda: geometry.mirror_descent(X3, Y3, ("lp", 1), W8, 0.1, 1), r"potential must be"),
        (lambda: geometry.mirror_descent(X3, Y3, ("lp", "3"), W8, 0.1, 1), r"potential must be"),
        (lambda: geometry.mirror_descent(X3, Y3, ("lq", 3), W8, 0.1, 1), r"potential must be"),
        (lambda: geometry.mirror_descent(X3, Y3, "l2", W8[:3], 0.1, 1), r"w0 must have shape"),
        (lambda: geometry.mirror_descent(X3, Y3, "entropy", W8 - 1, 0.1, 1), r"w0 must be positi"),
        (lambda: geometry.mirror_descent(X3, Y3, "l2", W8, 0.0, 1), r"lr must be a positive"),
        (lambda: geometry.mirror_descent(X3, Y3, "l2", W8, 0.1, -1), r"num_steps must be a non"),
        (lambda: geometry.mirror_descent(X3, Y3, "l2", W8, 0.1, 2.0), r"num_steps must be"),
        (lambda: geometry.mirror_descent(X3, Y3, "l2", W8, 1e6, 50), r"lr must be small enough"),
        (lambda: geometry.bregman_projection(X3, Y3, "l1", W8), r"potential must be"),
        (lambda: geometry.bregman_projection(X3, Y3, "entropy", -W8), r"w0 must be positive"),
        (lambda: geometry.bregman_projection(X3, Y3, "l2", W8, tol=0), r"tol must be a positive"),
        (lambda: geometry.bregman_projection(X3, Y3, "l2", W8, max_iter=0), r"max_iter must be"),
        (lambda: geometry.steepest_descent(X3, Y3, "l3", 0.1, 1), r"norm must be one of"),
        (lambda: geometry.steepest_descent(X3, Y3, "l2", 0.1, 1, loss="hinge"), r"loss must be"),
        (lambda: geometry.steepest_descent(X3, Y3, "l2", -1.0, 1), r"lr must be a positive"),
        (lambda: geometry.steepest_descent(X3, Y3, "l2", 0.1, 1, w0=W8[:2]), r"w0 must have"),
        (
            lambda: geometry.steepest_descent(X3, Y3, "l2", 0.1, 1, loss="exp"),
            r"y must hold labels -1 and \+1",
        ),
        (lambda: geometry.steepest_descent(X3, Y3, "linf", 1e6, 100), r"lr must be small enough"),
        (lambda: geometry.max_margin(X3, np.sign(Y3), "l0"), r"norm must be one of"),
        (lambda: geometry.max_margin(X3, Y3), r"y must hold labels -1 and \+1; got"),
        (lambda: geometry.logistic_gd(X3, [1, -1, 2], 0.1, 5, [5]), r"y must hold labels"),
        (lambda: geometry.logistic_gd(X3, np.sign(Y3), 0, 5, [5]), r"lr must be a positive"),
        (lambda: geometry.logistic_gd(X3, np.sign(Y3), 0.1, 5, [6]), r"checkpoints must be int"),
        (lambda: geometry.logistic_gd(X3, np.sign(Y3), 0.1, 5, []), r"checkpoints must be a non"),
        (lambda: geometry.logistic_gd(X3, np.sign(Y3), 0.1, 5, [-1]), r"checkpoints must be"),
    ],
)
def test_bad_arguments_are_refused_with_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message):
        call()

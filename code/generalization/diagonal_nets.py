"""Diagonal linear networks: the kernel and the rich regime of one model.

A diagonal linear network predicts with ``f(x) = <w, x>`` through the weights
``w = u * u - v * v`` (entrywise), ``u, v`` in R^d. It is a linear model written with twice
as many parameters, homogeneous of degree two in them, and every interpolant of an
underdetermined regression problem is reachable. Which one gradient descent returns depends on
where it starts. From ``u = v = alpha * 1`` (so ``w = 0``) gradient flow on the squared loss
ends, when it interpolates, at (Woodworth et al. 2020, Theorem 1)::

    w_alpha = argmin Q_alpha(w)  subject to  X w = y,
    Q_alpha(w) = alpha^2 sum_i q(w_i / alpha^2),   q(z) = 2 - sqrt(4 + z^2) + z arcsinh(z / 2).

``q`` is the integral of ``arcsinh(z / 2)``: it behaves like ``z^2 / 4`` near 0 and like
``|z| log |z|`` far from it. For large ``alpha`` every ``w_i / alpha^2`` is small and
``Q_alpha`` is ``||w||^2 / (4 alpha^2)``: the minimum-l2 interpolant, the answer of kernel
regression with the tangent kernel at initialization (the *kernel*, or *lazy*, regime). For
small ``alpha`` it is ``sum_i |w_i| log(|w_i| / alpha^2)`` plus smaller terms, and the
minimizer tends to the minimum-l1 interpolant (the *rich* regime).

Why: under gradient flow ``d(u_i v_i)/dt = 0`` (``u_i v_i = alpha^2`` all along) and
``u = alpha exp(-2 phi)``, ``v = alpha exp(2 phi)`` with ``phi = int_0^t X^T r / n`` in the
row space of X. So ``w = 2 alpha^2 sinh(X^T nu)`` for some ``nu`` in R^n, which is exactly the
optimality condition ``grad Q_alpha(w) = arcsinh(w / (2 alpha^2)) = X^T nu`` of the problem
above. Gradient *descent* with a step ``lr`` multiplies ``u_i v_i`` by ``1 - 4 lr^2 g_i^2`` at
each step (``g = X^T r / n``), so it ends near the minimizer of ``Q`` at a slightly smaller,
coordinate-dependent ``alpha``; the gap vanishes with the step.

This module has the model's gradient descent (:func:`gradient_descent`, vectorized over
several initialization scales), its tangent kernel (:func:`tangent_kernel`), the
parameters that gradient flow would reach for a given ``w`` (:func:`balanced_weights`), the
three interpolants (:func:`min_l2_interpolant`, :func:`min_l1_interpolant`,
:func:`min_q_interpolant`), the regularizer (:func:`q`, :func:`implicit_regularizer`) and a
planted sparse regression problem (:func:`sparse_regression`).

Conventions (the same everywhere in this module)::

    X : (n, d) design, rows are data points;  y : (n,) targets;  w = u * u - v * v
    loss  L(u, v) = 1/(2n) ||X w - y||^2,   r = X w - y,   g = X^T r / n
    grad_u L = 2 u * g,   grad_v L = -2 v * g
    tangent kernel  Theta(x, x') = <grad f(x), grad f(x')> = sum_i 4 (u_i^2 + v_i^2) x_i x'_i

References
----------
Woodworth, Gunasekar, Lee, Moroshko, Savarese, Golan, Soudry, Srebro (2020), *Kernel and rich
regimes in overparametrized models*, COLT, https://arxiv.org/abs/2002.09277.
Chizat, Oyallon, Bach (2019), *On lazy training in differentiable programming*, NeurIPS,
https://arxiv.org/abs/1812.07956.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog, minimize

from . import checks


def q(z):
    """``q(z) = 2 - sqrt(4 + z^2) + z arcsinh(z / 2)``, the integral of ``arcsinh(t / 2)`` from 0.

    Even, convex, ``q(0) = 0``; ``z^2 / 4`` near 0 and ``|z| log |z| - |z| + 2`` plus
    ``O(log |z| / |z|)`` far from it. Woodworth et al. (2020), Theorem 1.

    Parameters
    ----------
    z : float or array_like

    Returns
    -------
    float or ndarray, the shape of ``z``
    """
    z = checks.array("z", z, ndim=None)
    a = np.abs(z)
    # 2 - sqrt(4 + z^2) = -z^2 / (2 + sqrt(4 + z^2)), without cancellation near 0
    value = a * np.arcsinh(a / 2.0) - a * a / (2.0 + np.sqrt(4.0 + a * a))
    return value if value.ndim else float(value)


def implicit_regularizer(w, alpha):
    """``Q_alpha(w) = alpha^2 sum_i q(w_i / alpha^2)`` (Woodworth et al. 2020, Theorem 1).

    Parameters
    ----------
    w : array_like, shape (d,)
    alpha : float, positive
        The initialization scale, ``u = v = alpha * 1``.

    Returns
    -------
    float
    """
    w = checks.array("w", w, ndim=1)
    a2 = checks.positive("alpha", alpha) ** 2
    return float(a2 * np.sum(q(w / a2)))


def balanced_weights(w, alpha):
    """The ``(u, v)``, both positive, with ``u * u - v * v = w`` and ``u * v = alpha^2``.

    Gradient flow from ``u = v = alpha * 1`` keeps ``u_i v_i = alpha^2``, so these are the
    parameters it reaches when its weights are ``w``:
    ``u^2 = (w + s) / 2``, ``v^2 = (s - w) / 2`` with ``s = sqrt(w^2 + 4 alpha^4) = u^2 + v^2``.

    Parameters
    ----------
    w : array_like, shape (d,)
    alpha : float, positive

    Returns
    -------
    u, v : ndarray, shape (d,)
    """
    w = checks.array("w", w, ndim=1)
    a2 = checks.positive("alpha", alpha) ** 2
    s = np.hypot(w, 2.0 * a2)
    # the smaller of (s + |w|) / 2 and (s - |w|) / 2 is alpha^4 / the larger: no cancellation
    big = np.sqrt((s + np.abs(w)) / 2.0)
    small = a2 / big
    return np.where(w >= 0, big, small), np.where(w >= 0, small, big)


def tangent_kernel(X, u, v):
    """The tangent kernel of the network on the rows of X: ``X diag(4 (u^2 + v^2)) X^T``.

    ``grad_u f(x) = 2 u * x`` and ``grad_v f(x) = -2 v * x``, so
    ``<grad f(x), grad f(x')> = sum_i 4 (u_i^2 + v_i^2) x_i x'_i``. At ``u = v = alpha * 1`` it
    is ``8 alpha^2 X X^T``: a multiple of the linear kernel, whose kernel regression
    interpolant is the minimum-l2 one.

    Parameters
    ----------
    X : array_like, shape (n, d)
    u, v : array_like, shape (d,)

    Returns
    -------
    ndarray, shape (n, n)
    """
    X = checks.array("X", X, ndim=2)
    u = _vector("u", u, X.shape[1])
    v = _vector("v", v, X.shape[1])
    return (X * (4.0 * (u * u + v * v))) @ X.T


def _vector(name, value, size, label="d"):
    value = checks.array(name, value, ndim=1)
    if value.shape != (size,):
        raise ValueError(f"{name} must have shape ({label},) = ({size},); got shape {value.shape}.")
    return value


def _problem(X, y):
    X = checks.array("X", X, ndim=2)
    y = checks.array("y", y, ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must have shape (n,) with n = X.shape[0] = {X.shape[0]}; got shape {y.shape}."
        )
    return X, y


@dataclass(frozen=True)
class DiagonalRun:
    """What :func:`gradient_descent` returns, one row (or entry) per initialization scale.

    ``w``, ``u``, ``v``: shape (k, d) (or (d,) for a single scale); ``steps``: the steps run;
    ``residual``: ``||X w - y|| / ||y||`` at the end; ``converged``: whether it fell below
    ``tol``. Shapes (k,) or scalars.
    """

    w: np.ndarray
    u: np.ndarray
    v: np.ndarray
    steps: np.ndarray
    residual: np.ndarray
    converged: np.ndarray


def gradient_descent(X, y, alpha, lr, max_steps, tol=1e-10, check_every=50):
    """Full-batch gradient descent on ``1/(2n) ||X (u*u - v*v) - y||^2`` from ``u = v = alpha``.

    One run per entry of ``alpha`` (each with its own ``lr``), vectorized: the parameters of
    all runs are the columns of two (d, k) arrays and every step costs two (n, d) by (d, k)
    products. A step is ``u <- u (1 - 2 lr g)``, ``v <- v (1 + 2 lr g)`` with
    ``g = X^T (X w - y) / n``. Every ``check_every`` steps the runs whose relative residual
    ``||X w - y|| / ||y||`` is below ``tol`` stop; the others go on to ``max_steps``.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
        Not all zero.
    alpha : float or array_like of shape (k,), positive
        Initialization scales.
    lr : float or array_like of shape (k,), positive
        Step sizes (one for all runs, or one per run).
    max_steps : int, positive
    tol : float, positive, default 1e-10
    check_every : int, positive, default 50

    Returns
    -------
    DiagonalRun

    Raises
    ------
    ValueError
        For bad input, and when a run's weights stop being finite or change sign (``lr`` too
        large: a step with ``2 lr |g_i| >= 1`` flips ``u_i`` or ``v_i``).

    References
    ----------
    Woodworth et al. (2020), *Kernel and rich regimes in overparametrized models*, COLT
    (their model with depth 2 and ``w = w_+^2 - w_-^2``).
    """
    X, y = _problem(X, y)
    scalar = np.ndim(alpha) == 0
    alphas = checks.array("alpha", np.atleast_1d(alpha), ndim=1, positive=True)
    lrs = checks.array("lr", np.atleast_1d(lr), ndim=1, positive=True)
    if lrs.size == 1:
        lrs = np.full(alphas.size, lrs[0])
    if lrs.size != alphas.size:
        raise ValueError(
            f"lr must be one number or one per alpha ({alphas.size}); got {lrs.size} of them."
        )
    max_steps = checks.count("max_steps", max_steps)
    tol = checks.positive("tol", tol)
    check_every = checks.count("check_every", check_every)
    y_norm = float(np.linalg.norm(y))
    if y_norm == 0:
        raise ValueError("y must not be all zero; got zeros.")
    n, d = X.shape
    k = alphas.size
    U = np.tile(alphas, (d, 1))
    V = U.copy()
    steps = np.zeros(k, dtype=int)
    residual = np.ones(k)
    active = np.arange(k)
    Y = y[:, None]
    done_steps = 0
    while active.size and done_steps < max_steps:
        block = min(check_every, max_steps - done_steps)
        Ua, Va, step = U[:, active], V[:, active], 2.0 * lrs[active] / n
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is caught below
            for _ in range(block):
                G = X.T @ (X @ (Ua * Ua - Va * Va) - Y)  # n g, one column per run
                G *= step  # 2 lr g
                Ua *= 1.0 - G
                Va *= 1.0 + G
        done_steps += block
        if not (np.all(np.isfinite(Ua)) and np.all(Ua > 0) and np.all(Va > 0)):
            raise ValueError(
                "lr must be small enough for u and v to stay positive and finite; got "
                f"{lrs[active].max()!r}, which failed by step {done_steps}."
            )
        U[:, active], V[:, active] = Ua, Va
        res = np.linalg.norm(X @ (Ua * Ua - Va * Va) - Y, axis=0) / y_norm
        steps[active] = done_steps
        residual[active] = res
        active = active[res >= tol]
    W = (U * U - V * V).T
    out = dict(w=W, u=U.T.copy(), v=V.T.copy(), steps=steps, residual=residual)
    out["converged"] = residual < tol
    if scalar:
        out = {key: value[0] for key, value in out.items()}
    return DiagonalRun(**out)


def min_l2_interpolant(X, y):
    """``argmin ||w||_2`` subject to ``X w = y``: ``X^+ y`` (``numpy.linalg.lstsq``).

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)

    Returns
    -------
    ndarray, shape (d,)
    """
    X, y = _problem(X, y)
    return np.linalg.lstsq(X, y, rcond=None)[0]


def min_l1_interpolant(X, y):
    """``argmin ||w||_1`` subject to ``X w = y`` (basis pursuit), by linear programming.

    Written as ``w = p - m`` with ``p, m >= 0``: minimize ``1^T (p + m)`` subject to
    ``X (p - m) = y``, solved by HiGHS (``scipy.optimize.linprog``). The minimizer need not be
    unique; for data in general position it is, with at most n non-zero entries.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)

    Returns
    -------
    ndarray, shape (d,)

    Raises
    ------
    ValueError
        When no w interpolates (``X w = y`` has no solution).
    """
    X, y = _problem(X, y)
    d = X.shape[1]
    result = linprog(
        np.ones(2 * d), A_eq=np.hstack([X, -X]), b_eq=y, bounds=(0, None), method="highs"
    )
    if result.status != 0:
        raise ValueError(f"X, y must admit an interpolant (X w = y); got {result.message!r}.")
    return result.x[:d] - result.x[d:]


def min_q_interpolant(X, y, alpha, nu0=None):
    """``argmin Q_alpha(w)`` subject to ``X w = y``, through its dual (Woodworth et al., Thm. 1).

    The convex conjugate of ``alpha^2 q(. / alpha^2)`` is ``2 alpha^2 (cosh s - 1)``, so the
    dual problem is the smooth, unconstrained, strictly convex

    ``min_nu  D(nu) = 2 alpha^2 sum_i (cosh (X^T nu)_i - 1) - <y, nu>``,

    with gradient ``X w(nu) - y`` and Hessian ``X diag(2 alpha^2 cosh(X^T nu)) X^T``, where
    ``w(nu) = 2 alpha^2 sinh(X^T nu)``; its minimizer gives the primal one by that formula
    (strong duality). Solved by ``scipy.optimize.minimize(method="trust-exact")``. For a sweep
    over ``alpha`` pass the previous ``nu`` as ``nu0`` (the dual solution moves slowly in
    ``log alpha``).

    Parameters
    ----------
    X : array_like, shape (n, d), rank n
    y : array_like, shape (n,)
    alpha : float, positive
    nu0 : array_like, shape (n,), optional
        Starting point of the dual solver (default zeros).

    Returns
    -------
    w : ndarray, shape (d,)
    nu : ndarray, shape (n,)
        The dual solution: ``arcsinh(w / (2 alpha^2)) = X^T nu``.

    Raises
    ------
    ValueError
        For bad input, and when the solver does not reach ``||X w - y|| <= 1e-8 ||y||``.
    """
    X, y = _problem(X, y)
    a2 = checks.positive("alpha", alpha) ** 2
    nu0 = np.zeros(X.shape[0]) if nu0 is None else _vector("nu0", nu0, X.shape[0], "n")
    limit = 700.0  # cosh overflows beyond ~710

    def parts(nu):
        z = np.clip(X.T @ nu, -limit, limit)
        return z, 2.0 * a2 * np.sinh(z)

    def fun(nu):
        z, w = parts(nu)
        return 2.0 * a2 * float(np.sum(np.cosh(z) - 1.0)) - float(y @ nu), X @ w - y

    def hess(nu):
        z, _ = parts(nu)
        return (X * (2.0 * a2 * np.cosh(z))) @ X.T

    result = minimize(fun, nu0, jac=True, hess=hess, method="trust-exact", options=dict(gtol=1e-13))
    nu = result.x
    scale = max(float(np.linalg.norm(y)), np.finfo(float).tiny)
    # Newton steps on the gradient alone: near the optimum the dual objective's changes fall
    # below its rounding (terms of size cosh(z) ~ 1 / alpha^2) before the residual does
    gap = float(np.linalg.norm(fun(nu)[1]))
    for _ in range(20):
        if gap <= 1e-13 * scale:
            break
        step = np.linalg.solve(hess(nu), fun(nu)[1])
        trial = nu - step
        trial_gap = float(np.linalg.norm(fun(trial)[1]))
        if not trial_gap < gap:
            break
        nu, gap = trial, trial_gap
    w = parts(nu)[1]
    if not np.linalg.norm(X @ w - y) <= 1e-8 * scale:
        raise ValueError(
            "X, y, alpha must give a dual problem the solver can finish (||X w - y|| <= "
            f"1e-8 ||y||); got residual {np.linalg.norm(X @ w - y) / scale:.2e} after "
            f"{result.nit} iterations ({result.message})."
        )
    return w, nu


def sparse_regression(n_samples, n_features, sparsity, seed):
    """A planted sparse linear regression problem without noise.

    ``X`` has i.i.d. standard normal entries; ``w_star`` has ``sparsity`` non-zero entries,
    on a random support, each ``+-1 / sqrt(sparsity)`` with a random sign (so
    ``||w_star|| = 1``); ``y = X w_star``. For a new ``x ~ N(0, I)`` the expected squared error
    of a predictor ``w`` is ``||w - w_star||^2``.

    Parameters
    ----------
    n_samples, n_features : int, positive
    sparsity : int, from 1 to n_features
    seed : int, non-negative

    Returns
    -------
    X : ndarray, shape (n_samples, n_features)
    y : ndarray, shape (n_samples,)
    w_star : ndarray, shape (n_features,)
    """
    n_samples = checks.count("n_samples", n_samples)
    n_features = checks.count("n_features", n_features)
    sparsity = checks.count("sparsity", sparsity, maximum=n_features)
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    X = rng.standard_normal((n_samples, n_features))
    w_star = np.zeros(n_features)
    support = rng.choice(n_features, size=sparsity, replace=False)
    w_star[support] = rng.choice((-1.0, 1.0), size=sparsity) / np.sqrt(sparsity)
    return X, X @ w_star, w_star

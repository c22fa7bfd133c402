"""Least squares that interpolates: the minimum-norm solution and its risk.

When a linear model has at least as many features as data points (``p >= n``), many weight
vectors fit the training data exactly. This module computes the one of smallest Euclidean
norm and four routes to it (the pseudo-inverse, ridge regression as ``alpha -> 0+``,
gradient descent started at zero, and the kernel form ``K alpha = y``), and evaluates
Hastie et al.'s closed-form limit of its test risk for isotropic Gaussian features.

Conventions (the same everywhere in this module)::

    X : (n, p) design, rows are data points;  y : (n,) or (n, k) targets
    least-squares loss   L(w) = 1/(2n) ||X w - y||^2,   grad L(w) = X^T (X w - y) / n
    ridge                w_alpha = argmin 1/n ||X w - y||^2 + alpha ||w||^2
                                 = (X^T X + n alpha I)^{-1} X^T y
    data model           y = X beta + eps,  x ~ N(0, I_p),  eps ~ N(0, sigma^2),
                         ||beta||^2 = r^2,  snr = r^2 / sigma^2,  gamma = p / n
    risk                 R(w) = E_x0[(x0^T w - x0^T beta)^2] = ||w - beta||^2
                         (the *excess* test risk: the noise sigma^2 of a fresh label
                          is NOT included; add it for the squared prediction error)

References
----------
Zhang, Bengio, Hardt, Recht, Vinyals (2017), *Understanding deep learning requires
rethinking generalization*, ICLR, section 5.
Hastie, Montanari, Rosset, Tibshirani (2022), *Surprises in high-dimensional ridgeless least
squares interpolation*, Annals of Statistics 50(2), https://arxiv.org/abs/1903.08560.
Dobriban, Wager (2018), *High-dimensional asymptotics of prediction: ridge regression and
classification*, Annals of Statistics 46(1).
"""

from __future__ import annotations

import numpy as np

from . import checks


def _as_design(X, y):
    X = checks.array("X", X, ndim=2, nonempty=False)
    y = checks.array("y", y, ndim=(1, 2), nonempty=False)
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must have n = X.shape[0] = {X.shape[0]} rows, shape (n,) or (n, k); got shape "
            f"{y.shape}."
        )
    return X, y


def ridge_gains(s, n, alpha):
    """The spectral filter of ridge: ``s / (s^2 + n alpha)``, or ``1 / s`` at ``alpha = 0``.

    ``w_alpha = V diag(ridge_gains(s, n, alpha)) U^T y`` for ``X = U diag(s) V^T``: the one
    formula behind every ridge and min-norm fit of the package (:class:`SpectralRidge`).
    """
    s = checks.array("s", s)
    n = checks.count("n", n)
    alpha = checks.nonnegative("alpha", alpha)
    return 1.0 / s if alpha == 0 else s / (s * s + n * alpha)


class SpectralRidge:
    """Ridge regression at any number of penalties, and its min-norm limit, from one decomposition.

    With the thin SVD ``X = U diag(s) V^T`` (singular values above ``rcond * s_max`` kept), the
    ridge solution for the penalty ``alpha`` of ``argmin_w 1/n ||X w - y||^2 + alpha ||w||^2``
    and its ``alpha -> 0+`` limit, the minimum-norm least-squares solution, are::

        w_alpha = V diag(s / (s^2 + n alpha)) U^T y        w_0 = V diag(1 / s) U^T y = pinv(X) y

    The decomposition is computed once; every penalty then costs two thin products. (The
    penalty ``lam`` of ``||X w - y||^2 + lam ||w||^2``, as d'Ascoli et al. write it, is
    ``n alpha``.)

    Parameters
    ----------
    X : array_like, shape (n, p)
    rcond : float, optional
        Relative cut-off for small singular values. Default ``max(n, p) * eps`` with
        ``method="svd"`` (as ``numpy.linalg.lstsq``), ``sqrt(max(n, p) * eps)`` with
        ``method="gram"``.
    method : {"svd", "gram"}, default "svd"
        ``"svd"``: LAPACK's SVD of X. ``"gram"``: the eigendecomposition of the smaller Gram
        matrix (``X X^T`` or ``X^T X``), several times faster for the small, very wide or very
        tall matrices of random-feature sweeps, and accurate for singular values above about
        ``sqrt(eps) s_max``, which the cut-off keeps.

    Attributes
    ----------
    U : ndarray, shape (n, r);  s : ndarray, shape (r,), decreasing;  Vt : ndarray, shape (r, p)
        The kept part of the thin SVD.

    References
    ----------
    Golub, Van Loan (2013), *Matrix Computations*, 4th ed., sections 5.5 and 6.1.
    Hastie, Montanari, Rosset, Tibshirani (2022), *Surprises in high-dimensional ridgeless
    least squares interpolation*, Annals of Statistics 50(2).
    """

    def __init__(self, X, rcond=None, method="svd"):
        X = checks.array("X", X, ndim=2)
        method = checks.choice("method", method, ("svd", "gram"))
        self.n, self.p = X.shape
        size_eps = max(X.shape) * np.finfo(float).eps
        if rcond is None:
            rcond = size_eps if method == "svd" else np.sqrt(size_eps)
        rcond = checks.nonnegative("rcond", rcond)
        if method == "svd":
            U, s, Vt = np.linalg.svd(X, full_matrices=False)
            keep = s > rcond * (s[0] if s.size else 0.0)
            self.U, self.s, self.Vt = U[:, keep], s[keep], Vt[keep]
        else:
            wide = self.p >= self.n
            e, Q = np.linalg.eigh(X @ X.T if wide else X.T @ X)
            e, Q = e[::-1], Q[:, ::-1]  # decreasing, as the SVD
            keep = e > rcond * rcond * max(e[0], 0.0)
            e, Q = e[keep], Q[:, keep]
            self.s = np.sqrt(e)
            if wide:  # Q = U and V = X^T U / s
                self.U, self.Vt = Q, (X.T @ Q / self.s).T
            else:  # Q = V and U = X V / s
                self.U, self.Vt = X @ Q / self.s, Q.T

    def gains(self, alpha):
        """:func:`ridge_gains` of the kept singular values for the penalty ``alpha`` (>= 0)."""
        return ridge_gains(self.s, self.n, checks.nonnegative("alpha", alpha))

    def project(self, y):
        """``U^T y``: the coordinates of ``y`` in the column space of X, shape (r,) or (r, k)."""
        y = checks.array("y", y, ndim=(1, 2), nonempty=False)
        if y.shape[0] != self.n:
            raise ValueError(
                f"y must have n = {self.n} rows, shape (n,) or (n, k); got shape {y.shape}."
            )
        return self.U.T @ y

    def coefficients(self, y, alpha):
        """``c = diag(gains) U^T y``, the solution in the basis of V: ``w = V c``."""
        gains = self.gains(alpha)
        coef = self.project(y)
        return coef * (gains[:, None] if coef.ndim == 2 else gains)

    def solution(self, y, alpha):
        """``w_alpha`` (``alpha = 0``: the min-norm solution), shape (p,) or (p, k)."""
        return self.Vt.T @ self.coefficients(y, alpha)


def min_norm_solution(X, y, rcond=None):
    """The minimum-l2-norm least-squares solution ``pinv(X) @ y``.

    Among all minimizers of ``||X w - y||^2`` (all interpolants when ``p >= n`` and X has
    full row rank) it returns the one of smallest ``||w||``. Computed from the thin SVD
    ``X = U diag(s) V^T`` as ``w = V diag(1/s) U^T y``, keeping only singular values above
    ``rcond * s_max`` (:class:`SpectralRidge`), so it is stable for ``n > p``, ``n < p`` and
    rank-deficient X.

    Parameters
    ----------
    X : array_like, shape (n, p)
    y : array_like, shape (n,) or (n, k)
    rcond : float, optional
        Relative cut-off for small singular values; default ``max(n, p) * eps``, as in
        ``numpy.linalg.lstsq``.

    Returns
    -------
    w : ndarray, shape (p,) or (p, k)

    References
    ----------
    Golub, Van Loan (2013), *Matrix Computations*, 4th ed., section 5.5.
    """
    X, y = _as_design(X, y)
    return SpectralRidge(X, rcond).solution(y, 0.0)


def ridge_solution(X, y, alpha):
    """Ridge regression ``argmin_w 1/n ||X w - y||^2 + alpha ||w||^2``.

    Equal to ``(X^T X + n alpha I)^{-1} X^T y``; computed through the SVD as
    ``V diag(s / (s^2 + n alpha)) U^T y`` (:class:`SpectralRidge`), which tends to
    :func:`min_norm_solution` as ``alpha -> 0+`` (``alpha = 0`` returns it). With this scaling
    ``alpha`` is the ``lambda`` of Hastie et al. (2022).

    Parameters
    ----------
    X : array_like, shape (n, p)
    y : array_like, shape (n,) or (n, k)
    alpha : float, non-negative

    Returns
    -------
    w : ndarray, shape (p,) or (p, k)
    """
    X, y = _as_design(X, y)
    alpha = checks.nonnegative("alpha", alpha)
    if alpha == 0:
        return min_norm_solution(X, y)
    return SpectralRidge(X, rcond=0.0).solution(y, alpha)


def gd_path(X, y, lr, num_steps, w0=None, record_every=1):
    """Iterates of full-batch gradient descent on ``L(w) = 1/(2n) ||X w - y||^2``.

    Each step is ``w <- w - lr * X^T (X w - y) / n``. It converges when
    ``0 < lr < 2 / lambda_max(X^T X / n)``. Every step moves ``w`` by a vector in the row
    space of X, so from ``w0 = 0`` the iterates stay in the row space and converge to
    :func:`min_norm_solution`; from another ``w0`` they converge to the least-squares
    solution nearest ``w0``, which is ``w0 + pinv(X) (y - X w0)``.

    Parameters
    ----------
    X : array_like, shape (n, p)
    y : array_like, shape (n,)
    lr : float, positive
        Learning rate.
    num_steps : int, non-negative
    w0 : array_like, shape (p,), optional
        Starting point; zero by default.
    record_every : int, default 1
        Keep every ``record_every``-th iterate (the start and the last are always kept), so
        memory is ``O(num_steps / record_every * p)``.

    Returns
    -------
    path : ndarray, shape (num_recorded, p)
        ``num_steps + 1`` rows for ``record_every = 1``.
    """
    X, y = _as_design(X, y)
    if y.ndim != 1:
        raise ValueError(f"y must have shape (n,) for gd_path; got shape {y.shape}.")
    lr = checks.positive("lr", lr)
    num_steps = checks.count("num_steps", num_steps, minimum=0)
    record_every = checks.count("record_every", record_every)
    n, p = X.shape
    w = np.zeros(p) if w0 is None else np.array(w0, dtype=float)
    if w.shape != (p,):
        raise ValueError(f"w0 must have shape (p,) = ({p},); got shape {w.shape}.")
    path = [w.copy()]
    for step in range(1, num_steps + 1):
        w -= lr * (X.T @ (X @ w - y)) / n
        if step % record_every == 0 or step == num_steps:
            path.append(w.copy())
    return np.array(path)


def kernel_min_norm_predict(X, y, X_test):
    """Predictions of the min-norm interpolant in kernel form: solve ``K alpha = y``.

    With the linear kernel ``K = X X^T`` (n x n), ``f(x) = x^T X^T alpha`` with
    ``alpha = pinv(K) y``. Since ``X^T pinv(X X^T) = pinv(X)``, this is the predictor of
    :func:`min_norm_solution`; when ``p > n`` and X has full row rank, K is invertible and
    the predictor interpolates. Only inner products of data points are used: the kernel trick.

    Parameters
    ----------
    X : array_like, shape (n, p)
    y : array_like, shape (n,) or (n, k)
    X_test : array_like, shape (m, p)

    Returns
    -------
    predictions : ndarray, shape (m,) or (m, k)
    """
    X, y = _as_design(X, y)
    X_test = checks.array("X_test", X_test, ndim=2)
    if X_test.ndim != 2 or X_test.shape[1] != X.shape[1]:
        raise ValueError(
            f"X_test must have shape (m, p) with p = {X.shape[1]}; got shape {X_test.shape}."
        )
    K = X @ X.T
    # pinv(K) through its eigendecomposition: K = Q diag(e) Q^T, e >= 0.
    e, Q = np.linalg.eigh(K)
    keep = e > max(K.shape[0], 1) * np.finfo(float).eps * max(e.max(initial=0.0), 0.0)
    coef = Q[:, keep].T @ y
    coef = coef / (e[keep][:, None] if y.ndim == 2 else e[keep])
    alpha = Q[:, keep] @ coef
    return (X_test @ X.T) @ alpha


def mp_stieltjes(z_neg, gamma):
    """Marchenko-Pastur Stieltjes transform ``m(-lam) = int dmu(s) / (s + lam)`` for ``lam > 0``.

    ``mu`` is the limiting spectrum of ``X^T X / n`` (p x p, entries N(0, 1)) with
    ``p / n -> gamma``. It solves ``gamma lam m^2 + (1 - gamma + lam) m - 1 = 0``; the root
    returned is the positive one.
    """
    lam = checks.array("z_neg", z_neg, positive=True)
    gamma = checks.array("gamma", gamma, positive=True)
    b = 1.0 - gamma + lam
    # m = (-b + sqrt(b^2 + 4 gamma lam)) / (2 gamma lam), written as 2 / (b + sqrt(...))
    # to avoid cancellation when gamma lam is small.
    return 2.0 / (b + np.sqrt(b * b + 4.0 * gamma * lam))


def asymptotic_risk_isotropic(gamma, snr, noise_var=1.0):
    """Limit of the excess test risk of min-norm least squares, isotropic features.

    Hastie et al. (2022), isotropic features, with ``n, p -> infinity``,
    ``p / n -> gamma``::

        gamma < 1:  R = sigma^2 gamma / (1 - gamma)                         (variance only)
        gamma > 1:  R = r^2 (1 - 1/gamma) + sigma^2 / (gamma - 1)           (bias + variance)

    with ``r^2 = snr * sigma^2`` the squared norm of the true coefficients. ``R`` is the
    excess risk ``E[(x0^T w - x0^T beta)^2]``; the noise of a new label is not included.
    At ``gamma = 1`` the risk is infinite.

    Parameters
    ----------
    gamma : float or array_like
        ``p / n``, positive.
    snr : float
        ``r^2 / sigma^2``, non-negative.
    noise_var : float, default 1
        ``sigma^2``, non-negative.

    Returns
    -------
    risk : float or ndarray, the shape of ``gamma``
    """
    gamma = checks.array("gamma", gamma, positive=True)
    sigma2 = checks.nonnegative("noise_var", noise_var)
    r2 = checks.nonnegative("snr", snr) * sigma2
    with np.errstate(divide="ignore", invalid="ignore"):
        under = sigma2 * gamma / (1.0 - gamma)
        over = r2 * (1.0 - 1.0 / gamma) + sigma2 / (gamma - 1.0)
    risk = np.where(gamma < 1, under, np.where(gamma > 1, over, np.inf))
    return float(risk) if risk.ndim == 0 else risk


def optimal_ridge_risk_isotropic(gamma, snr, noise_var=1.0):
    """Limit of the excess risk of optimally tuned ridge, isotropic features.

    The optimal penalty is ``alpha* = gamma sigma^2 / r^2 = gamma / snr``. With
    ``m = mp_stieltjes(alpha*, gamma)``, bias ``r^2 a^2 m'`` plus variance
    ``sigma^2 gamma (m - a m')`` collapse at ``a = alpha*`` to::

        R* = sigma^2 gamma m(-alpha*)

    (Dobriban and Wager 2018; Hastie et al. 2022 treat ridge too). It is finite for
    every ``gamma`` and below ``r^2``, the risk of predicting zero. Returns ``(risk,
    alpha*)``; when ``r^2 = 0`` the optimum is ``alpha* = inf`` and ``R* = 0``.
    """
    gamma = checks.array("gamma", gamma, positive=True)
    sigma2 = checks.nonnegative("noise_var", noise_var)
    snr = checks.nonnegative("snr", snr)
    if snr == 0 or sigma2 == 0:  # r^2 = snr sigma^2 = 0: predicting zero is exact
        alpha, risk = np.full_like(gamma, np.inf), np.zeros_like(gamma)
    else:
        alpha = gamma / snr
        risk = sigma2 * gamma * mp_stieltjes(alpha, gamma)
    return (risk, alpha) if gamma.ndim else (float(risk), float(alpha))


def expected_risk_gaussian(n, p, snr, noise_var=1.0):
    """Exact finite-sample expected excess risk of min-norm least squares, Gaussian design.

    Uses ``E tr((X^T X)^{-1}) = p / (n - p - 1)`` for a Gaussian (n x p) X (inverse
    Wishart mean) and ``E ||P beta||^2 = r^2 n / p`` for the projection onto a random
    n-dimensional row space::

        p < n - 1:  sigma^2 p / (n - p - 1)
        p > n + 1:  r^2 (1 - n/p) + sigma^2 n / (p - n - 1)

    and ``inf`` for ``|p - n| <= 1`` (the expectation diverges). The asymptotic formula is
    its limit; at n = 200 the two differ by about 1%.
    """
    n, p = checks.count("n", n), checks.count("p", p)
    sigma2 = checks.nonnegative("noise_var", noise_var)
    r2 = checks.nonnegative("snr", snr) * sigma2
    if p < n - 1:
        return sigma2 * p / (n - p - 1)
    if p > n + 1:
        return r2 * (1 - n / p) + sigma2 * n / (p - n - 1)
    return float("inf")


def asymptotic_norm_isotropic(gamma, snr, noise_var=1.0):
    """Limit of ``||w_hat||^2`` for the min-norm solution, isotropic features.

    ``gamma < 1``: ``w_hat = beta + (X^T X)^{-1} X^T eps``, so ``r^2 + sigma^2 gamma/(1-gamma)``;
    ``gamma > 1``: ``w_hat = P beta + pinv(X) eps`` with P the projection on the row space,
    so ``r^2 / gamma + sigma^2 / (gamma - 1)``.
    """
    gamma = checks.array("gamma", gamma, positive=True)
    sigma2 = checks.nonnegative("noise_var", noise_var)
    r2 = checks.nonnegative("snr", snr) * sigma2
    with np.errstate(divide="ignore", invalid="ignore"):
        under = r2 + sigma2 * gamma / (1.0 - gamma)
        over = r2 / gamma + sigma2 / (gamma - 1.0)
    norm2 = np.where(gamma < 1, under, np.where(gamma > 1, over, np.inf))
    return float(norm2) if norm2.ndim == 0 else norm2

"""The optimizer's geometry: which solution an algorithm picks among the many that fit.

When a linear model can fit its data in many ways, the algorithm decides which fit it
returns, and the geometry the algorithm moves in decides it. Two settings make this exact:

* **Regression, squared loss, more features than data points.** Mirror descent with a
  potential ``psi`` moves its *dual* variable ``z = grad psi(w)`` along the gradient, and the
  gradient of the squared loss is always a combination of the rows of X. So
  ``grad psi(w_t) - grad psi(w_0)`` stays in the row space of X, which is the optimality
  condition of the Bregman projection of ``w_0`` onto the interpolants: whatever the step
  size, the limit is ``argmin { D_psi(w, w_0) : X w = y }`` (Gunasekar et al. 2018, losses
  with a unique finite root). Steepest descent with respect to a norm other than l2 has no
  such invariant, and its limit depends on the step size (the same paper):
  :func:`mirror_descent`, :func:`bregman_projection`, :func:`steepest_descent`.
* **Classification, separable data, logistic or exponential loss.** The loss has no
  minimizer; the weights grow without bound and their *direction* converges. Gradient
  descent converges in direction to the l2 max-margin separator, slowly, with
  ``w_t = w_hat log t + O(1)`` (Soudry et al. 2018); steepest descent with respect to a norm
  converges in direction to the max-margin separator of that norm (Gunasekar et al. 2018,
  strictly monotone losses): :func:`logistic_gd`, :func:`max_margin`,
  :func:`steepest_descent`.

Conventions (the same everywhere in this module)::

    X : (n, p) design, rows are data points x_i;  y : (n,) targets, or labels in {-1, +1}
    squared loss    L(w) = 1/(2n) ||X w - y||^2                 grad = X^T (X w - y) / n
    logistic loss   L(w) = 1/n sum_i log(1 + exp(-y_i <w, x_i>))
    exp loss        L(w) = 1/n sum_i exp(-y_i <w, x_i>)
    potentials      "l2"       psi(w) = ||w||^2 / 2             grad psi(w) = w
                    "entropy"  psi(w) = sum_j w_j log w_j - w_j   grad psi(w) = log w  (w > 0)
                    ("lp", p)  psi(w) = ||w||_p^p / p           grad psi(w) = sign(w) |w|^(p-1)
    Bregman divergence   D_psi(w, v) = psi(w) - psi(v) - <grad psi(v), w - v>
    max margin      w_hat = argmin ||w||  subject to  y_i <w, x_i> >= 1 for every i

References
----------
Gunasekar, Lee, Soudry, Srebro (2018), *Characterizing implicit bias in terms of optimization
geometry*, ICML, https://arxiv.org/abs/1802.08246.
Soudry, Hoffer, Nacson, Gunasekar, Srebro (2018), *The implicit bias of gradient descent on
separable data*, JMLR 19(70), https://arxiv.org/abs/1710.10345.
Beck, Teboulle (2003), *Mirror descent and nonlinear projected subgradient methods for
convex optimization*, Operations Research Letters 31(3).
Lawson, Hanson (1974), *Solving Least Squares Problems*, Prentice-Hall, chapter 23.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog, nnls
from scipy.special import expit

from . import checks

NORMS = ("l1", "l2", "linf")
"""The norms of :func:`steepest_descent` and :func:`max_margin`."""

LOSSES = ("squared", "logistic", "exp")
"""The losses of :func:`steepest_descent`."""

_POTENTIAL_WANTED = "'l2', 'entropy' or ('lp', p) with a number p > 1"


class _Potential:
    """A separable potential ``psi``: its mirror map, the map's inverse and the conjugate."""

    def __init__(self, name, p=2.0):
        self.name, self.p = name, p

    def mirror(self, w):
        """``z = grad psi(w)``."""
        if self.name == "l2":
            return np.array(w, dtype=float)
        if self.name == "entropy":
            return np.log(w)
        return np.sign(w) * np.abs(w) ** (self.p - 1.0)

    def inverse(self, z):
        """``w = grad psi*(z)``, the inverse of the mirror map."""
        if self.name == "l2":
            return np.array(z, dtype=float)
        if self.name == "entropy":
            return np.exp(z)
        return np.sign(z) * np.abs(z) ** (1.0 / (self.p - 1.0))

    def inverse_slope(self, z):
        """The diagonal of the Hessian of ``psi*`` at ``z`` (infinite entries made large)."""
        if self.name == "l2":
            return np.ones_like(z)
        if self.name == "entropy":
            return np.exp(z)
        with np.errstate(divide="ignore"):
            slope = np.abs(z) ** ((2.0 - self.p) / (self.p - 1.0)) / (self.p - 1.0)
        finite = np.isfinite(slope)  # p > 2 and z_j = 0: infinite, made 1e12 times the rest
        large = 1e12 * max(1.0, float(np.max(slope[finite], initial=0.0)))
        return np.where(finite, slope, large)

    def conjugate(self, z):
        """``psi*(z) = sup_w <z, w> - psi(w)``."""
        if self.name == "l2":
            return 0.5 * float(z @ z)
        if self.name == "entropy":
            return float(np.sum(np.exp(z)))
        q = self.p / (self.p - 1.0)
        return float(np.sum(np.abs(z) ** q)) / q


def _potential(potential):
    if isinstance(potential, str):
        if potential in ("l2", "entropy"):
            return _Potential(potential)
    elif (
        isinstance(potential, (tuple, list))
        and len(potential) == 2
        and isinstance(potential[0], str)
        and potential[0] == "lp"
    ):
        try:
            p = checks.number("p", potential[1], low=1, low_open=True)
        except ValueError:
            pass
        else:
            return _Potential("lp", p)
    raise ValueError(f"potential must be {_POTENTIAL_WANTED}; got {potential!r}.")


def _design(X, y, labels=False):
    X = checks.array("X", X, ndim=2)
    y = checks.array("y", y, ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must have shape (n,) with n = X.shape[0] = {X.shape[0]}; got shape {y.shape}."
        )
    if labels and not np.all(np.abs(y) == 1):
        bad = y[np.abs(y) != 1][0].item()
        raise ValueError(f"y must hold labels -1 and +1; got {bad!r}.")
    return X, y


def _start(w0, p, positive=False):
    w0 = checks.array("w0", w0, ndim=1, positive=positive)
    if w0.shape != (p,):
        raise ValueError(f"w0 must have shape (p,) = ({p},); got shape {w0.shape}.")
    return np.array(w0, dtype=float)


def _check_finite(w, lr, step):
    if not np.all(np.isfinite(w)):
        raise ValueError(
            f"lr must be small enough for the iterates to stay finite; got {lr!r}, which "
            f"diverged by step {step}."
        )


def mirror_descent(X, y, potential, w0, lr, num_steps, return_path=False):
    """Mirror descent on the squared loss ``L(w) = 1/(2n) ||X w - y||^2``.

    The state is the dual variable ``z = grad psi(w)``, not ``w``; each step is::

        w = (grad psi)^{-1}(z),    z <- z - lr * X^T (X w - y) / n

    ``"l2"`` is plain gradient descent, ``"entropy"`` is the exponentiated gradient
    (``w <- w * exp(-lr * grad L(w))``, which keeps ``w > 0``), ``("lp", p)`` moves in the
    geometry of the l_p norm. Since ``z_t - z_0`` is a combination of the rows of X, a run that
    interpolates converges to :func:`bregman_projection` of ``w0``, for every step size small
    enough to converge (Gunasekar et al. 2018).

    Parameters
    ----------
    X : array_like, shape (n, p)
    y : array_like, shape (n,)
    potential : {"l2", "entropy"} or tuple ("lp", p)
        The potential ``psi`` (see the module's conventions); ``p > 1``.
    w0 : array_like, shape (p,)
        The start; positive for ``"entropy"``.
    lr : float, positive
        The step size. It converges when ``lr`` is below about ``1 / lambda_max(X^T X / n)``
        scaled by the curvature of ``psi*`` along the path. For ``("lp", p)`` with ``p > 2``,
        ``psi`` has no curvature at 0, so an iterate with a coordinate near 0 needs a
        smaller ``lr``.
    num_steps : int, non-negative
    return_path : bool, default False
        Also return every iterate.

    Returns
    -------
    w : ndarray, shape (p,)
        The last iterate.
    path : ndarray, shape (num_steps + 1, p)
        The iterates ``w_0, ..., w_num_steps``; only with ``return_path``.

    Raises
    ------
    ValueError
        For bad input, and when the iterates overflow (``lr`` too large).

    References
    ----------
    Beck, Teboulle (2003), *Mirror descent and nonlinear projected subgradient methods for
    convex optimization*, Operations Research Letters 31(3).
    Gunasekar, Lee, Soudry, Srebro (2018), *Characterizing implicit bias in terms of
    optimization geometry*, ICML, on losses with a unique finite root.
    """
    X, y = _design(X, y)
    psi = _potential(potential)
    w = _start(w0, X.shape[1], positive=psi.name == "entropy")
    lr = checks.positive("lr", lr)
    num_steps = checks.count("num_steps", num_steps, minimum=0)
    n = X.shape[0]
    z = psi.mirror(w)
    path = [w] if return_path else None
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_steps):
            z = z - lr * (X.T @ (X @ w - y)) / n  # z <- z - lr grad L(w)
            w = psi.inverse(z)
            if return_path:
                path.append(w)
    _check_finite(w, lr, num_steps)
    return (w, np.array(path)) if return_path else w


def bregman_projection(X, y, potential, w0, tol=1e-10, max_iter=100):
    """The Bregman projection of ``w0`` onto the interpolants: ``argmin {D_psi(w, w0) : X w = y}``.

    Computed from the dual, independently of any descent. The minimizer satisfies
    ``grad psi(w) = grad psi(w0) + X^T nu`` for a multiplier ``nu`` in R^n, so
    ``w(nu) = grad psi*(grad psi(w0) + X^T nu)``, and ``nu`` minimizes the convex function::

        F(nu) = psi*(grad psi(w0) + X^T nu) - <nu, y>,     grad F = X w(nu) - y,
        hess F = X diag(psi*''(grad psi(w0) + X^T nu)) X^T

    minimized here by Newton's method with a backtracking (Armijo) line search, each step a
    least-squares solve with the n x n Hessian (``O(n^2 p + n^3)``). For ``"l2"`` one step gives
    ``w0 + pinv(X) (y - X w0)``. :func:`mirror_descent` converges to this point.

    Parameters
    ----------
    X : array_like, shape (n, p)
    y : array_like, shape (n,)
    potential : {"l2", "entropy"} or tuple ("lp", p)
        As in :func:`mirror_descent`.
    w0 : array_like, shape (p,)
        The point projected; positive for ``"entropy"``.
    tol : float, default 1e-10
        Stop when ``max |X w - y| <= tol * (1 + max |y|)``.
    max_iter : int, default 100
        The most Newton steps.

    Returns
    -------
    w : ndarray, shape (p,)

    Raises
    ------
    ValueError
        For bad input, and when no ``w`` in the domain of ``psi`` satisfies ``X w = y`` (for
        ``"entropy"``: no positive one) or Newton's method does not reach ``tol``.
    """
    X, y = _design(X, y)
    psi = _potential(potential)
    w0 = _start(w0, X.shape[1], positive=psi.name == "entropy")
    tol = checks.positive("tol", tol)
    max_iter = checks.count("max_iter", max_iter)
    z0 = psi.mirror(w0)
    target = tol * (1.0 + np.max(np.abs(y)))

    def at(nu):  # F(nu), w(nu) and grad F(nu) = X w(nu) - y
        z = z0 + X.T @ nu
        with np.errstate(over="ignore", invalid="ignore"):
            w = psi.inverse(z)
            return psi.conjugate(z) - float(nu @ y), w, X @ w - y

    nu = np.zeros(X.shape[0])
    F, w, grad = at(nu)
    for _ in range(max_iter):
        if np.max(np.abs(grad)) <= target:
            return w
        hess = (X * psi.inverse_slope(z0 + X.T @ nu)) @ X.T
        step = -np.linalg.lstsq(hess, grad, rcond=None)[0]
        slope = float(grad @ step)  # < 0 unless grad is orthogonal to the range of hess
        if not slope < 0:
            break
        t = 1.0
        while t > 1e-12:
            F_new, w_new, grad_new = at(nu + t * step)
            if F_new <= F + 0.25 * t * slope:  # Armijo
                break
            # Near the solution F is flat to rounding: judge the step by the residual.
            flat = F_new <= F + 1e-13 * (1.0 + abs(F))
            if flat and np.linalg.norm(grad_new) < np.linalg.norm(grad):
                break
            t *= 0.5
        else:
            break
        nu, F, w, grad = nu + t * step, F_new, w_new, grad_new
    if np.max(np.abs(grad)) <= target:
        return w
    raise ValueError(
        f"X w = y must have a solution in the domain of the potential {potential!r}; got none "
        f"to within tol (max |X w - y| = {np.max(np.abs(grad)):.3g} after Newton's method)."
    )


def _loss_gradient(X, y, w, loss):
    """``(u, c)`` with ``grad L(w) = c * u``, ``c > 0``: the scale apart, so that the exp
    loss's gradient is a finite ``u`` even where ``c`` overflows."""
    n = X.shape[0]
    if loss == "squared":
        return X.T @ (X @ w - y) / n, 1.0
    margins = y * (X @ w)
    if loss == "logistic":  # d/dm log(1 + e^{-m}) = -expit(-m)
        return -(X.T @ (y * expit(-margins))) / n, 1.0
    top = np.max(-margins)  # exp(-m) = exp(top) exp(-m - top), the latter at most 1
    return -(X.T @ (y * np.exp(-margins - top))) / n, float(np.exp(top))  # inf on overflow


def _steepest_direction(g, norm):
    """``argmin_v <g, v> + ||v||^2 / 2`` and the dual norm ``||g||_*``."""
    if norm == "l2":
        return -g, float(np.linalg.norm(g))
    if norm == "linf":  # dual norm l1: v = -||g||_1 sign(g)
        dual = float(np.sum(np.abs(g)))
        return -dual * np.sign(g), dual
    j = int(np.argmax(np.abs(g)))  # dual norm linf: the largest |g_j|, lowest index on ties
    v = np.zeros_like(g)
    v[j] = -g[j]  # = -||g||_inf sign(g_j)
    return v, float(abs(g[j]))


def steepest_descent(
    X, y, norm, lr, num_steps, w0=None, loss="squared", normalized=False, return_path=False
):
    """Steepest descent with respect to the l1, l2 or l_inf norm.

    Each step is ``w <- w + lr * v`` with ``v = argmin_v <g, v> + ||v||^2 / 2`` for the
    gradient ``g`` of the loss, which is::

        "l2"    v = -g                                   (gradient descent)
        "linf"  v = -||g||_1 sign(g)                     (sign descent, scaled)
        "l1"    v = -||g||_inf sign(g_j) e_j,  j = argmax |g_j|   (greedy coordinate descent)

    so that ``<g, v> = -||g||_*^2`` and ``||v|| = ||g||_*``, with ``||.||_*`` the dual norm.
    For ``"l1"`` ties between coordinates go to the lowest index; for ``"linf"`` a zero
    ``g_j`` gives ``v_j = 0`` (one of the minimizers).

    On the squared loss with ``p > n`` the limit of ``"l1"`` and ``"linf"`` steepest descent
    depends on the step size and the start: unlike mirror descent, steepest descent has no
    step-size-free characterization (Gunasekar et al. 2018). On separable data
    with the exponential loss it converges in direction to :func:`max_margin` of the same
    norm, for small enough steps (the same paper, on strictly monotone losses).

    Parameters
    ----------
    X : array_like, shape (n, p)
    y : array_like, shape (n,)
        Targets for ``"squared"``, labels -1 and +1 for ``"logistic"`` and ``"exp"``.
    norm : {"l1", "l2", "linf"}
    lr : float, positive
    num_steps : int, non-negative
    w0 : array_like, shape (p,), optional
        The start; zero by default.
    loss : {"squared", "logistic", "exp"}, default "squared"
        ``1/(2n) ||X w - y||^2``, ``1/n sum log(1 + exp(-y_i <w, x_i>))`` (through
        ``scipy.special.expit``), or ``1/n sum exp(-y_i <w, x_i>)`` (its gradient with the
        largest exponential factored out).
    normalized : bool, default False
        Divide the step by the dual norm ``||g||_*``: ``w <- w + lr * v / ||g||_*``. Then
        ``v / ||g||_* = argmin { <g, u> : ||u|| <= 1 }`` is a unit-norm direction and every
        step has norm exactly ``lr``: the normalized steepest descent of Gunasekar et al. (2018).
        A zero gradient gives a zero step.
    return_path : bool, default False
        Also return every iterate.

    Returns
    -------
    w : ndarray, shape (p,)
        The last iterate.
    path : ndarray, shape (num_steps + 1, p)
        Only with ``return_path``.

    Raises
    ------
    ValueError
        For bad input, and when the iterates overflow (``lr`` too large).

    References
    ----------
    Gunasekar, Lee, Soudry, Srebro (2018), *Characterizing implicit bias in terms of
    optimization geometry*, ICML.
    Boyd, Vandenberghe (2004), *Convex Optimization*, section 9.4.
    """
    norm = checks.choice("norm", norm, NORMS)
    loss = checks.choice("loss", loss, LOSSES)
    X, y = _design(X, y, labels=loss != "squared")
    lr = checks.positive("lr", lr)
    num_steps = checks.count("num_steps", num_steps, minimum=0)
    w = np.zeros(X.shape[1]) if w0 is None else _start(w0, X.shape[1])
    path = [w] if return_path else None
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_steps):
            u, scale = _loss_gradient(X, y, w, loss)
            v, dual = _steepest_direction(u, norm)  # v(c u) = c v(u), ||c u||_* = c ||u||_*
            if normalized:
                w = w + (lr / dual) * v if dual > 0 else w
            else:
                w = w + (lr * scale) * v
            if return_path:
                path.append(w)
    _check_finite(w, lr, num_steps)
    return (w, np.array(path)) if return_path else w


def max_margin(X, y, norm="l2"):
    """The hard-margin linear separator through the origin: ``argmin ||w|| s.t. y_i <w, x_i> >= 1``.

    There is no intercept: the separating hyperplane passes through the origin, as for the
    homogeneous linear models of Soudry et al. (2018) and Gunasekar et al. (2018). (So this is
    not scikit-learn's ``SVC(kernel="linear")``, which adds an unpenalized intercept and
    solves a different problem.) For the returned ``w``, ``min_i y_i <w, x_i> / ||w||`` (the
    distance from the closest point to the hyperplane, measured in the dual norm) is
    ``1 / ||w||``, the largest it is for any ``w``.

    * ``"l2"``: the quadratic program as a least-distance program, solved exactly (finite
      active-set steps) by non-negative least squares, ``scipy.optimize.nnls``, after
      Lawson and Hanson (1974), chapter 23: with ``Z = diag(y) X``, the NNLS solution ``u`` of
      ``min ||E u - f||`` for ``E = [Z^T; 1^T]`` and ``f = (0, ..., 0, 1)`` gives the
      residual ``r = E u - f`` and ``w = -r[:p] / r[p]``; ``r = 0`` means no separator.
    * ``"l1"``: a linear program in ``w = a - b`` with ``a, b >= 0``:
      ``min sum(a + b)`` s.t. ``Z (a - b) >= 1``.
    * ``"linf"``: a linear program in ``(w, t)``: ``min t`` s.t. ``-t <= w_j <= t`` and
      ``Z w >= 1``.

    The linear programs are solved by HiGHS (``scipy.optimize.linprog``); their minimizer need
    not be unique, and the one HiGHS finds is returned. The constraints of the result are
    checked before it is returned.

    Parameters
    ----------
    X : array_like, shape (n, p)
    y : array_like, shape (n,)
        Labels -1 and +1.
    norm : {"l2", "l1", "linf"}, default "l2"

    Returns
    -------
    w : ndarray, shape (p,)
        ``min_i y_i <w, x_i> = 1`` up to solver tolerance.

    Raises
    ------
    ValueError
        For bad input, and when the data are not linearly separable through the origin
        (for ``"l2"`` also when the margin is below about ``1e-6`` times the largest
        ``||x_i||_2``).

    References
    ----------
    Lawson, Hanson (1974), *Solving Least Squares Problems*, Prentice-Hall, chapter 23.
    Gunasekar, Lee, Soudry, Srebro (2018), *Characterizing implicit bias in terms of
    optimization geometry*, ICML.
    """
    norm = checks.choice("norm", norm, NORMS)
    X, y = _design(X, y, labels=True)
    n, p = X.shape
    size = float(np.max(np.linalg.norm(X, axis=1)))
    Z = y[:, None] * X / max(size, np.finfo(float).tiny)  # rescaled: w(Z / s) = s w(Z)
    w = None
    if norm == "l2":
        E = np.vstack([Z.T, np.ones(n)])
        f = np.zeros(p + 1)
        f[-1] = 1.0
        u = nnls(E, f, maxiter=50 * (n + p))[0]
        r = E @ u - f  # r[p] = -1 / (1 + ||w||^2) when separable, r = 0 when not
        if -r[p] > 1e-12:  # else ||w|| > 1e6: no margin above 1e-6
            w = -r[:p] / r[p]
    else:
        if norm == "l1":  # variables (a, b), w = a - b
            c = np.ones(2 * p)
            A = -np.hstack([Z, -Z])
            bounds = [(0, None)] * (2 * p)
        else:  # variables (w, t)
            c = np.r_[np.zeros(p), 1.0]
            eye = np.eye(p)
            A = np.vstack(
                [np.c_[-Z, np.zeros(n)], np.c_[eye, -np.ones(p)], np.c_[-eye, -np.ones(p)]]
            )
            bounds = [(None, None)] * p + [(0, None)]
        b = np.r_[-np.ones(n), np.zeros(A.shape[0] - n)]
        result = linprog(c, A_ub=A, b_ub=b, bounds=bounds, method="highs")
        if result.status == 0:
            w = result.x[:p] - result.x[p:] if norm == "l1" else result.x[:p]
    if w is None or not np.min(Z @ w) >= 1 - 1e-6:
        raise ValueError(
            "X, y must be linearly separable through the origin (some w with "
            "y_i <w, x_i> > 0 for every i); got data that are not."
        )
    return w / max(size, np.finfo(float).tiny)


def logistic_gd(X, y, lr, num_steps, checkpoints):
    """Gradient descent on the logistic loss of a linear model without intercept, from zero.

    Full-batch steps ``w <- w + lr/n * sum_i y_i x_i expit(-y_i <w, x_i>)`` on
    ``L(w) = 1/n sum_i log(1 + exp(-y_i <w, x_i>))``. On linearly separable data the loss
    tends to 0 without a minimizer: ``||w_t||`` grows like ``log t`` and ``w_t / ||w_t||``
    tends, slowly (the angle shrinks like ``1 / log t``), to the direction of the l2
    :func:`max_margin` separator ``w_hat``, with ``w_t = w_hat log t + O(1)`` for small enough
    ``lr`` (Soudry et al. 2018).

    Each step costs two products with X (``O(n p)``) and a few microseconds of NumPy
    overhead, so a million steps of a small problem take a few seconds. The run stops at the
    last checkpoint: steps after it would not change the output.

    Parameters
    ----------
    X : array_like, shape (n, p)
    y : array_like, shape (n,)
        Labels -1 and +1.
    lr : float, positive
        Convergence needs ``lr < 8 / lambda_max(X^T X / n)`` (the loss is
        ``lambda_max / 4``-smooth).
    num_steps : int, non-negative
        The length of the run the checkpoints lie in.
    checkpoints : sequence of int
        Step numbers from 0 (the start, ``w = 0``) to ``num_steps``, in any order.

    Returns
    -------
    iterates : ndarray, shape (len(checkpoints), p)
        ``w_t`` for each ``t`` in ``checkpoints``, in their order.

    Raises
    ------
    ValueError
        For bad input, and when the iterates overflow (``lr`` too large).

    References
    ----------
    Soudry, Hoffer, Nacson, Gunasekar, Srebro (2018), *The implicit bias of gradient descent
    on separable data*, JMLR 19(70).
    """
    X, y = _design(X, y, labels=True)
    lr = checks.positive("lr", lr)
    num_steps = checks.count("num_steps", num_steps, minimum=0)
    checkpoints = checks.integers("checkpoints", checkpoints, minimum=0)
    if max(checkpoints) > num_steps:
        raise ValueError(
            f"checkpoints must be integers from 0 to num_steps = {num_steps}; got {checkpoints!r}."
        )
    n, p = X.shape
    Z = y[:, None] * X  # rows y_i x_i: the margins are Z w
    step = np.ascontiguousarray(Z.T) * (lr / n)
    last = max(checkpoints)
    wanted = set(checkpoints)
    w = np.zeros(p)
    kept = {0: w.copy()}
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, last + 1):
            w += step @ expit(-(Z @ w))  # w <- w - lr grad L(w)
            if t in wanted:
                kept[t] = w.copy()
    _check_finite(w, lr, last)
    return np.array([kept[t] for t in checkpoints])

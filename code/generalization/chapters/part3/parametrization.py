"""Parametrization matters: gradient descent is not invariant to reparametrization.

The model family is a line whose slope is stored with a scale factor ``c``::

    f(x) = c * a * x + b          parameters theta = (a, b), slope c*a, intercept b

``c = 1`` is the usual parametrization ``f1(x) = w1 x + w2``; ``c = 10`` is the homework's
``f2(x) = 10 w3 x + w4``. Both describe every line, yet one gradient step on the same loss
moves them to different lines.

The loss on one point ``(x, y)`` is ``L(theta) = 1/2 (f(x) - y)^2`` with residual
``r = f(x) - y``. Its gradient is ``r * (c x, 1)``, so one step of size ``lr`` changes the
*function* by::

    slope     += -lr * c^2 * x * r
    intercept += -lr * r

The factor ``c^2`` is the whole story: rescaling a parameter by ``c`` multiplies its
effective learning rate by ``c^2``. With the plain loss ``(f(x) - y)^2`` the gradient doubles,
which is the same as doubling ``lr``.

Everything here is exact: :func:`gradient_step` works in :class:`fractions.Fraction`, and a
number given as a float is read through its shortest decimal repr (``0.1`` means 1/10).
:func:`torch_gradient_step` computes the same step with PyTorch's autograd, as a check.

References
----------
Gunasekar, Lee, Soudry, Srebro (2018), *Characterizing implicit bias in terms of
optimization geometry*, ICML.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from numbers import Rational, Real

from generalization import checks


def exact(value, name="value"):
    """Return ``value`` as a Fraction; floats are read through their decimal repr.

    Raises
    ------
    ValueError
        If ``value`` is not a finite real number (or a string holding one).
    """
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a real number; got the bool {value!r}.")
    if isinstance(value, Rational):
        return Fraction(value)
    if isinstance(value, (Real, str)):
        try:
            result = Fraction(str(value).strip())
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"{name} must be a finite real number; got {value!r}.") from None
        return result
    raise ValueError(f"{name} must be a real number; got {type(value).__name__} {value!r}.")


@dataclass(frozen=True)
class LineState:
    """Parameters of ``f(x) = c a x + b`` and the line they describe, all exact.

    Attributes
    ----------
    scale : Fraction
        The factor ``c``.
    params : tuple of Fraction
        ``(a, b)``.
    slope, intercept : Fraction
        ``c a`` and ``b``.
    """

    scale: Fraction
    params: tuple

    @property
    def slope(self):
        return self.scale * self.params[0]

    @property
    def intercept(self):
        return self.params[1]

    def predict(self, x):
        """Return ``f(x)`` exactly."""
        return self.slope * exact(x, "x") + self.intercept

    def loss(self, x, y):
        """Return ``1/2 (f(x) - y)^2`` exactly."""
        residual = self.predict(x) - exact(y, "y")
        return residual * residual / 2


def line(params, scale=1):
    """Return the :class:`LineState` of parameters ``(a, b)`` with slope factor ``scale``.

    Raises
    ------
    ValueError
        If ``params`` is not a pair of real numbers or ``scale`` is zero.
    """
    try:
        a, b = params
    except (TypeError, ValueError):
        raise ValueError(f"params must be a pair (a, b); got {params!r}.") from None
    c = exact(scale, "scale")
    if c == 0:
        raise ValueError("scale must be nonzero (with c = 0 the slope is stuck at 0); got 0.")
    return LineState(scale=c, params=(exact(a, "a"), exact(b, "b")))


def gradient(state, x, y):
    """Gradient of ``1/2 (f(x) - y)^2`` with respect to ``(a, b)``: ``r * (c x, 1)``."""
    x = exact(x, "x")
    residual = state.predict(x) - exact(y, "y")
    return (residual * state.scale * x, residual)


def gradient_step(state, x, y, lr):
    """One exact step of gradient descent on the single point ``(x, y)``.

    Parameters
    ----------
    state : LineState
        The current parameters (from :func:`line`).
    x, y : real
        The data point.
    lr : real
        Learning rate, positive.

    Returns
    -------
    LineState
        ``theta - lr * grad L(theta)``, exact.
    """
    lr = exact(lr, "lr")
    if lr <= 0:
        raise ValueError(f"lr must be positive; got {lr}.")
    grad_a, grad_b = gradient(state, x, y)
    a, b = state.params
    return LineState(scale=state.scale, params=(a - lr * grad_a, b - lr * grad_b))


def torch_gradient_step(params, scale, x, y, lr):
    """The same step computed by PyTorch autograd in float64: ``(a, b)`` after one step.

    Independent of :func:`gradient_step` (it never sees the hand-derived gradient), so it
    checks the derivation.
    """
    import torch

    theta = torch.tensor([float(p) for p in params], dtype=torch.float64, requires_grad=True)
    prediction = float(scale) * theta[0] * float(x) + theta[1]
    loss = 0.5 * (prediction - float(y)) ** 2
    loss.backward()
    with torch.no_grad():
        updated = theta - float(lr) * theta.grad
    return tuple(updated.tolist())


def stable_lr(scale, x):
    """Largest learning rate for which repeated steps on ``(x, y)`` converge: ``2 / (c^2 x^2 + 1)``.

    Each step multiplies the residual by ``1 - lr (c^2 x^2 + 1)``; its size falls below 1
    exactly when ``0 < lr < 2 / (c^2 x^2 + 1)``.
    """
    c, x = exact(scale, "scale"), exact(x, "x")
    return 2 / (c * c * x * x + 1)


def limit_of_descent(state, x, y):
    """Where gradient descent from ``state`` converges, for any stable learning rate.

    The gradient always points along ``(c x, 1)``, so the iterates move on one straight
    line in parameter space and stop at its intersection with the interpolating set
    ``{c a x + b = y}``: the interpolant nearest ``state`` in parameter distance.
    """
    x = exact(x, "x")
    residual = state.predict(x) - exact(y, "y")
    direction = (state.scale * x, Fraction(1))
    step = residual / (direction[0] ** 2 + direction[1] ** 2)
    a, b = state.params
    return LineState(scale=state.scale, params=(a - step * direction[0], b - step * direction[1]))


def descent_path(state, x, y, lr, num_steps):
    """Float iterates ``(slope, intercept)`` of ``num_steps`` gradient steps, start included.

    Returns
    -------
    list of tuple of float, length num_steps + 1
    """
    num_steps = checks.count("num_steps", num_steps, minimum=0)
    path = [(float(state.slope), float(state.intercept))]
    for _ in range(num_steps):
        state = gradient_step(state, x, y, lr)
        path.append((float(state.slope), float(state.intercept)))
    return path


@dataclass(frozen=True)
class HomeworkResult:
    """Everything the chapter reports about the homework.

    ``before`` and ``after_step`` map ``"f1"``/``"f2"`` to :class:`LineState`; ``limit``
    maps them to where small-step descent converges; ``paths`` to float
    ``(slope, intercept)`` iterates at ``lr_fraction`` of the stable learning rate;
    ``torch_after_step``
    to autograd's ``(a, b)`` after the step; ``stable_lr`` to :func:`stable_lr`.
    """

    x: Fraction
    y: Fraction
    lr: Fraction
    lr_fraction: Fraction
    before: dict
    after_step: dict
    torch_after_step: dict
    stable_lr: dict
    limit: dict
    paths: dict
    run_time_s: float


HOMEWORK = {
    "f1": {"params": (1, 2), "scale": 1},
    "f2": {"params": (Fraction(1, 10), 2), "scale": 10},
}
"""The homework's two parametrizations and their starting points (the same line y = x + 2)."""

SLOPE_FACTORS = (0.1, 0.3, 1, 3, 10)
"""The slope factors ``c`` of the chapter's generalization beyond the homework: the same line
``y = x + 2`` written with each factor, one step each (:func:`slope_step_by_scale`)."""


def homework(x=7, y=10, lr=Fraction(1, 10), num_steps=60, lr_fraction=Fraction(1, 5)):
    """Run the homework: one step from the same line in both parametrizations, and the limits.

    Parameters
    ----------
    x, y : real, default 7 and 10
        The single data point.
    lr : real, default 1/10
        The learning rate of the single step.
    num_steps : int, default 60
        Steps of the small-step runs in ``paths``.
    lr_fraction : real, default 1/5
        The small-step runs use this fraction of each parametrization's stable learning
        rate, in (0, 1). (At 1/2 the residual vanishes in one step, so there is no path to
        see; at 1/5 each step multiplies the residual by 3/5.)

    Returns
    -------
    HomeworkResult
    """
    start = time.perf_counter()
    x, y, lr = exact(x, "x"), exact(y, "y"), exact(lr, "lr")
    lr_fraction = exact(lr_fraction, "lr_fraction")
    if not 0 < lr_fraction < 1:
        raise ValueError(f"lr_fraction must lie strictly between 0 and 1; got {lr_fraction}.")
    before, after, by_torch, stable, limit, paths = {}, {}, {}, {}, {}, {}
    for name, spec in HOMEWORK.items():
        state = line(spec["params"], spec["scale"])
        before[name] = state
        after[name] = gradient_step(state, x, y, lr)
        by_torch[name] = torch_gradient_step(state.params, state.scale, x, y, lr)
        stable[name] = stable_lr(state.scale, x)
        limit[name] = limit_of_descent(state, x, y)
        paths[name] = descent_path(state, x, y, lr_fraction * stable[name], num_steps)
    return HomeworkResult(
        x=x,
        y=y,
        lr=lr,
        lr_fraction=lr_fraction,
        before=before,
        after_step=after,
        torch_after_step=by_torch,
        stable_lr=stable,
        limit=limit,
        paths=paths,
        run_time_s=time.perf_counter() - start,
    )


def slope_step_by_scale(scales, x=7, y=10, lr=Fraction(1, 10)):
    """Change of slope after one step from the line ``y = x + 2``, for each scale ``c``.

    Returns a list of exact Fractions ``-lr * c^2 * x * r``: proportional to ``c^2``.
    """
    steps = []
    for c in scales:
        c = exact(c, "scale")
        if c == 0:
            raise ValueError("scales must be nonzero; got 0.")
        state = line((1 / c, 2), c)  # the same line y = x + 2 in every parametrization
        steps.append(gradient_step(state, x, y, lr).slope - state.slope)
    return steps

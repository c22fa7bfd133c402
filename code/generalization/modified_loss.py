"""The modified loss of gradient descent and SGD: a gradient-norm penalty, to higher order.

Gradient descent with a finite step ``lr`` does not follow the gradient flow of the loss it
is given. Backward error analysis finds the flow it *does* follow to one order higher in
``lr``: the gradient flow of a modified loss that adds a penalty on the size of the gradient.

Notation (the same everywhere in this module)::

    C(w) = (1/m) sum_k C_k(w)   the loss, the mean of m mini-batch losses C_k (m = 1: full batch)
    GD step             w <- w - lr grad C(w)                        (time t = lr * steps)
    SGD epoch           w <- w - lr grad C_{pi(k)}(w), k = 1..m, for an order pi of the batches
    gradient flow       dw/dt = -grad C(w)
    GD modified loss    C_GD  = C + (lr/4) ||grad C||^2                 Barrett and Dherin (2021)
    SGD modified loss   C_SGD = C + (lr/(4m)) sum_k ||grad C_k||^2      Smith et al. (2021)
                              = C_GD + (lr/(4m)) sum_k ||grad C_k - grad C||^2

Why these: one GD step is ``w - lr g`` while the flow of a loss with gradient ``g + lr v``
moves ``w - lr g - lr^2 v + (lr^2 / 2) H g + O(lr^3)`` in time ``lr`` (``g = grad C``,
``H`` its Hessian). The two agree to second order when ``v = H g / 2 = grad (||g||^2 / 4)``.
For an epoch of SGD, the mean over all orders of the batches of the second-order term is
``(m^2 / 2) H g - (1/2) sum_k H_k g_k``, which the flow of ``C_SGD`` reproduces over the
epoch's time ``m lr``.

What is exact, at a fixed time ``T = lr * steps`` and as ``lr -> 0``:

* gradient descent is ``O(lr)`` from the plain flow and ``O(lr^2)`` from the flow of
  ``C_GD`` (Barrett and Dherin 2021, Theorem 3.1: the local error of one step is
  ``O(lr^3)``);
* after one epoch of SGD, the *mean* of the iterate over the orders of the batches is
  ``O(lr^3)`` from the flow of ``C_SGD`` at time ``m lr`` (Smith et al. 2021, Eq. (1) and
  their Section 2); one order alone is ``O(lr^2)`` from it.

Functions:

* :func:`gradient_norm_penalty`: ``||grad C||^2`` as a differentiable torch scalar (double
  backpropagation);
* :func:`modified_loss_gd`, :func:`modified_loss_sgd`: the two modified losses, as callables;
* :func:`numpy_gradient`: the gradient of such a callable as a function of a NumPy vector;
* :func:`gd_path`, :func:`sgd_epoch`, :func:`mean_over_orders`, :func:`gradient_flow`:
  gradient descent, one SGD epoch, its mean over all orders, and the numerically exact
  gradient flow (SciPy's ``solve_ivp``) of a small smooth problem, to compare;
* :func:`order_of_accuracy`: the slope of ``log error`` against ``log lr``.

References
----------
Barrett, Dherin (2021), *Implicit gradient regularization*, ICLR,
https://arxiv.org/abs/2009.11162.
Smith, Dherin, Barrett, De (2021), *On the origin of implicit regularization in stochastic
gradient descent*, ICLR, https://arxiv.org/abs/2101.12176.
Hairer, Lubich, Wanner (2006), *Geometric Numerical Integration*, Springer, chapter IX
(backward error analysis).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from . import checks
from .fit import loglog_slope

MAX_ORDER_BATCHES = 8
"""The most batches :func:`mean_over_orders` enumerates (8! = 40,320 orders)."""


def _params(params):
    """``params`` as a list of torch tensors that require gradients."""
    import torch

    if isinstance(params, torch.Tensor):
        params = [params]
    try:
        params = list(params)
    except TypeError:
        raise ValueError(
            f"params must be a non-empty sequence of tensors; got {params!r:.60}."
        ) from None
    if not params:
        raise ValueError("params must be a non-empty sequence of tensors; got an empty one.")
    for p in params:
        if not isinstance(p, torch.Tensor) or not p.requires_grad:
            raise ValueError(
                f"params must be a sequence of tensors that require gradients; got {p!r:.60}."
            )
    return params


def _callable(name, fn):
    if not callable(fn):
        raise ValueError(f"{name} must be a callable of no arguments; got {fn!r:.60}.")
    return fn


def _scalar(name, value):
    import torch

    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        got = f"shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else repr(value)
        raise ValueError(f"the value of {name} must be a scalar tensor; got {got:.60}.")
    return value.reshape(())


def _loss_and_penalty(name, loss_fn, params):
    """``(C, ||grad C||^2)``, the second differentiable (``create_graph=True``)."""
    import torch

    loss = _scalar(name, loss_fn())
    grads = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
    # ||grad C||^2 = sum over the tensors of the squared entries of dC/dp
    penalty = loss.new_zeros(())
    for g in grads:
        if g is not None:
            penalty = penalty + (g * g).sum()
    return loss, penalty


def gradient_norm_penalty(loss_fn, params):
    """``||grad_params C||^2``, built so that it can be differentiated again.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn()`` returns the loss ``C``: a scalar torch tensor that depends on ``params``.
    params : sequence of torch.Tensor
        The tensors ``w`` (any shapes; each with ``requires_grad=True``).

    Returns
    -------
    torch.Tensor, shape ()
        ``sum_p ||dC/dp||^2``. The gradient is taken with ``create_graph=True``, so calling
        ``.backward()`` on the result (or ``torch.autograd.grad``) gives its own gradient
        ``2 H grad C`` by double backpropagation (``H`` the Hessian of ``C``). A tensor of
        ``params`` that ``C`` does not depend on contributes zero.

    References
    ----------
    Barrett, Dherin (2021): ``(lr/4)`` times this is the implicit regularizer of gradient
    descent.
    """
    loss_fn = _callable("loss_fn", loss_fn)
    return _loss_and_penalty("loss_fn", loss_fn, _params(params))[1]


def modified_loss_gd(loss_fn, lr, params):
    """The loss whose gradient flow full-batch gradient descent follows to second order.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn()`` returns the loss ``C`` (a scalar torch tensor depending on ``params``).
    lr : float
        The learning rate of gradient descent, > 0.
    params : sequence of torch.Tensor
        The tensors ``C`` is differentiated by.

    Returns
    -------
    callable
        ``modified()`` returns ``C + (lr/4) ||grad C||^2`` as a scalar tensor that can be
        differentiated (its gradient is ``grad C + (lr/2) H grad C``).

    References
    ----------
    Barrett, Dherin (2021), Theorem 3.1 (the modified loss of gradient descent).
    """
    loss_fn = _callable("loss_fn", loss_fn)
    lr = checks.positive("lr", lr)
    params = _params(params)

    def modified():
        loss, penalty = _loss_and_penalty("loss_fn", loss_fn, params)
        return loss + (lr / 4.0) * penalty

    return modified


def modified_loss_sgd(batch_loss_fns, lr, params):
    """The loss whose gradient flow the mean of one SGD epoch follows to third order.

    Parameters
    ----------
    batch_loss_fns : sequence of callable
        ``m`` callables; ``batch_loss_fns[k]()`` returns the loss ``C_k`` of batch ``k``. The
        full loss is their mean ``C = (1/m) sum_k C_k`` (Smith et al.'s convention, exact
        when the batches have equal sizes and ``C_k`` are batch means).
    lr : float
        The learning rate of SGD, > 0.
    params : sequence of torch.Tensor

    Returns
    -------
    callable
        ``modified()`` returns ``C + (lr/(4m)) sum_k ||grad C_k||^2`` (differentiable). With
        ``m = 1`` it is :func:`modified_loss_gd`.

    References
    ----------
    Smith, Dherin, Barrett, De (2021), Eq. (1): the modified loss of SGD with random
    shuffling, whose flow the mean iterate follows after one epoch.
    """
    batch_loss_fns = _callables("batch_loss_fns", batch_loss_fns)
    lr = checks.positive("lr", lr)
    params = _params(params)
    m = len(batch_loss_fns)

    def modified():
        total = None
        for k, fn in enumerate(batch_loss_fns):
            loss, penalty = _loss_and_penalty(f"batch_loss_fns[{k}]", fn, params)
            # C_SGD = (1/m) sum_k [C_k + (lr/4) ||grad C_k||^2]
            term = (loss + (lr / 4.0) * penalty) / m
            total = term if total is None else total + term
        return total

    return modified


def numpy_gradient(loss_fn, param):
    """The gradient of ``loss_fn`` with respect to one flat tensor, as a NumPy function.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn()`` returns a scalar tensor that depends on ``param`` (for instance a
        modified loss from :func:`modified_loss_gd`).
    param : torch.Tensor, shape (d,)
        A 1-D tensor with ``requires_grad=True``; :func:`numpy_gradient`'s function writes
        the point it is asked about into it.

    Returns
    -------
    callable
        ``grad_fn(w)``: ``w`` of shape (d,) -> ``grad loss_fn`` at ``w``, shape (d,), in the
        dtype of ``param``. It overwrites ``param`` with ``w``.
    """
    import torch

    loss_fn = _callable("loss_fn", loss_fn)
    (param,) = _params([param])
    if param.ndim != 1:
        raise ValueError(f"param must be a 1-D tensor; got shape {tuple(param.shape)}.")

    def grad_fn(w):
        with torch.no_grad():
            param.copy_(torch.as_tensor(np.asarray(w), dtype=param.dtype))
        loss = _scalar("loss_fn", loss_fn())
        (g,) = torch.autograd.grad(loss, [param], allow_unused=True)
        return np.zeros(param.shape) if g is None else g.detach().numpy().copy()

    return grad_fn


def _vector(name, w0):
    return checks.array(name, w0, ndim=1).copy()


def gd_path(grad_fn, w0, lr, num_steps):
    """Gradient descent ``w <- w - lr grad_fn(w)`` from ``w0``; every iterate.

    Parameters
    ----------
    grad_fn : callable
        ``grad_fn(w)`` returns the gradient at ``w``, shape (d,).
    w0 : array_like, shape (d,)
    lr : float, > 0
    num_steps : int, >= 0

    Returns
    -------
    ndarray, shape (num_steps + 1, d)
        ``w_0, w_1, ..., w_num_steps``; step ``n`` is at time ``n * lr`` of the flow.
    """
    grad_fn = _grad_fn("grad_fn", grad_fn)
    w = _vector("w0", w0)
    lr = checks.positive("lr", lr)
    num_steps = checks.count("num_steps", num_steps, minimum=0)
    path = np.empty((num_steps + 1, w.size))
    path[0] = w
    for n in range(num_steps):
        w = w - lr * grad_fn(w)
        path[n + 1] = w
    return path


def _grad_fn(name, fn):
    if not callable(fn):
        raise ValueError(f"{name} must be a callable of a vector; got {fn!r:.60}.")
    return fn


def _callables(name, fns):
    """``fns`` as a list when it is a non-empty sequence of callables."""
    got = None
    if callable(fns) or isinstance(fns, (str, bytes)):
        got = repr(fns)
    else:
        try:
            fns = list(fns)
        except TypeError:
            got = repr(fns)
        else:
            if not fns:
                got = "an empty one"
            elif not all(callable(fn) for fn in fns):
                got = repr(fns)
    if got is not None:
        raise ValueError(f"{name} must be a non-empty sequence of callables; got {got:.60}.")
    return fns


def sgd_epoch(batch_grad_fns, w0, lr, order=None):
    """One epoch of SGD without replacement: one step on each batch, in ``order``.

    Parameters
    ----------
    batch_grad_fns : sequence of callable
        ``m`` functions; ``batch_grad_fns[k](w)`` is ``grad C_k(w)``, shape (d,).
    w0 : array_like, shape (d,)
    lr : float, > 0
    order : sequence of int, optional
        A permutation of ``0, ..., m-1``: the batch used at each step (default: in turn).

    Returns
    -------
    ndarray, shape (m + 1, d)
        The iterates after 0, 1, ..., m steps.
    """
    fns = _callables("batch_grad_fns", batch_grad_fns)
    m = len(fns)
    order = tuple(range(m)) if order is None else checks.integers("order", order)
    if sorted(order) != list(range(m)):
        raise ValueError(f"order must be a permutation of 0..{m - 1}; got {order!r}.")
    w = _vector("w0", w0)
    lr = checks.positive("lr", lr)
    path = np.empty((m + 1, w.size))
    path[0] = w
    for step, k in enumerate(order):
        w = w - lr * fns[k](w)
        path[step + 1] = w
    return path


def mean_over_orders(batch_grad_fns, w0, lr):
    """The mean, over all ``m!`` orders of the batches, of the iterate after one SGD epoch.

    This is the expectation under random shuffling that Smith et al. (2021) compare with the
    flow of the SGD modified loss; it is computed exactly by enumerating the orders, so
    ``m`` is at most :data:`MAX_ORDER_BATCHES`.

    Returns
    -------
    ndarray, shape (d,)
    """
    fns = _callables("batch_grad_fns", batch_grad_fns)
    checks.count("the number of batches", len(fns), maximum=MAX_ORDER_BATCHES)
    total = None
    for order in itertools.permutations(range(len(fns))):
        end = sgd_epoch(fns, w0, lr, order)[-1]
        total = end if total is None else total + end
    return total / math.factorial(len(fns))


def gradient_flow(grad_fn, w0, times, rtol=1e-10, atol=1e-12):
    """The gradient flow ``dw/dt = -grad_fn(w)`` from ``w0``, at ``times``.

    Integrated with SciPy's ``solve_ivp`` (``DOP853``, an explicit Runge-Kutta method of
    order 8) to the tolerances given, which must be far below the errors of the
    discretizations it is compared with.

    Parameters
    ----------
    grad_fn : callable
        ``grad_fn(w)`` returns the gradient of the loss at ``w``, shape (d,).
    w0 : array_like, shape (d,)
    times : sequence of float
        Non-negative, increasing times.
    rtol, atol : float
        ``solve_ivp``'s relative and absolute tolerances.

    Returns
    -------
    ndarray, shape (len(times), d)

    Raises
    ------
    RuntimeError
        If the integrator fails.
    """
    from scipy.integrate import solve_ivp

    grad_fn = _grad_fn("grad_fn", grad_fn)
    w = _vector("w0", w0)
    times = checks.numbers("times", times, low=0)
    if np.any(np.diff(times) < 0):
        raise ValueError(f"times must be increasing; got {tuple(times.tolist())!r:.60}.")
    rtol, atol = checks.positive("rtol", rtol), checks.positive("atol", atol)
    if times[-1] == 0:
        return np.tile(w, (times.size, 1))
    sol = solve_ivp(
        lambda t, v: -grad_fn(v),
        (0.0, float(times[-1])),
        w,
        method="DOP853",
        t_eval=times,
        rtol=rtol,
        atol=atol,
    )
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    return sol.y.T


def order_of_accuracy(lrs, errors):
    """The slope ``p`` of the least-squares line through ``(log lr, log error)``.

    An error that behaves like ``c * lr^p`` has order ``p``.

    Parameters
    ----------
    lrs, errors : sequence of float
        Positive, of the same length (at least two).

    Returns
    -------
    float
    """
    lrs = checks.numbers("lrs", lrs, low=0, low_open=True)
    errors = checks.numbers("errors", errors, low=0, low_open=True)
    if lrs.size != errors.size or lrs.size < 2:
        raise ValueError(
            "lrs and errors must have the same length, at least 2; "
            f"got {lrs.size} and {errors.size}."
        )
    return loglog_slope(lrs, errors)  # least squares: log error = p log lr + c

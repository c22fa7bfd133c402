"""Hypergradients: the derivative of a validation loss through a training run.

A hyperparameter ``lam`` (a weight-decay strength, a weight per training example, ...) enters
the training loss; ``T`` steps of gradient descent turn it into weights ``w_T(lam)``; the
validation loss of those weights is a function of ``lam`` alone,
``E(lam) = L_val(w_T(lam))``. Its gradient, the *hypergradient*, is exact for the truncated
run and can be computed in two ways that differ only in the order of a product of Jacobians
(Franceschi, Donini, Frasconi, Pontil 2017). Write one step of gradient descent as::

    w_t = Phi(w_{t-1}, lam) = w_{t-1} - lr * grad_w L_train(w_{t-1}, lam),   t = 1..T
    A_t = d Phi / d w  (P x P),   B_t = d Phi / d lam  (P x h),   both at (w_{t-1}, lam)
    dE/dlam = grad L_val(w_T)^T (B_T + A_T B_{T-1} + A_T A_{T-1} B_{T-2} + ... + A_T...A_2 B_1)

* **reverse mode** (Franceschi et al.'s Reverse-HG; backpropagation through the run): store
  ``w_0 .. w_T``, then go backwards with a row vector ``alpha``: ``alpha_T = grad L_val(w_T)``,
  ``g += alpha_t B_t``, ``alpha_{t-1} = alpha_t A_t``. Each step costs one vector-Jacobian
  product of ``Phi`` (a Hessian-vector product); memory grows with ``T * P``, not with ``h``.
* **forward mode** (Forward-HG): carry the Jacobian ``Z_t = d w_t / d lam`` (``P x h``) along
  the run, ``Z_t = A_t Z_{t-1} + B_t`` from ``Z_0 = 0``; at the end ``dE/dlam =
  grad L_val(w_T)^T Z_T``. Each step costs ``h`` Jacobian-vector products; memory grows with
  ``P * h``, not with ``T``.

Both are written out step by step here (with ``torch.autograd.grad`` for the vector-Jacobian
products and ``torch.func.jvp`` under ``torch.func.vmap`` for the Jacobian-vector products),
because seeing the two recursions is the point. ``mode="autograd"`` is the library's answer to
compare with: PyTorch differentiates the whole unrolled run (``create_graph=True``) in one
backward pass.

Conventions (the same for every function)::

    w0          initial weights, a flat tensor of shape (P,)
    lam         hyperparameters, a flat tensor of shape (h,)
    train_loss  train_loss(w, lam) -> scalar tensor, twice differentiable in w and once in lam,
                written with torch operations only (torch.func transforms it)
    val_loss    val_loss(w) -> scalar tensor
    lr, steps   the step size and the number T of gradient-descent steps
    dtype       that of w0 (float64 recommended: the recursions multiply T Jacobians)

References
----------
Franceschi, Donini, Frasconi, Pontil (2017), *Forward and reverse gradient-based
hyperparameter optimization*, ICML, https://arxiv.org/abs/1703.01785.
Maclaurin, Duvenaud, Adams (2015), *Gradient-based hyperparameter optimization through
reversible learning*, ICML.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from . import checks

MODES = ("reverse", "forward", "autograd")


def _fail(name, wanted, got):
    raise ValueError(f"{name} must be {wanted}; got {got}.")


@dataclass
class Hypergradient:
    """The validation loss of a truncated run and its gradient in the hyperparameters.

    Attributes
    ----------
    value : float
        ``E(lam) = val_loss(w_T)``.
    gradient : ndarray of shape (h,)
        ``dE/dlam``, exact for the ``steps``-step run (up to rounding).
    weights : ndarray of shape (P,)
        ``w_T``.
    mode : str
    stored_floats : int
        The numbers the method keeps at once: ``(T + 1) * P`` iterates for reverse mode (and
        autograd, whose graph holds at least these), ``P * h`` for the Jacobian ``Z`` of
        forward mode; the measure of memory the paper compares.
    run_time_s : float
    """

    value: float
    gradient: np.ndarray
    weights: np.ndarray
    mode: str
    stored_floats: int
    run_time_s: float


def _vector(name, value, dtype=None):
    import torch

    if torch.is_tensor(value):
        if value.is_complex():
            _fail(name, "a flat tensor of real numbers", f"dtype {value.dtype}")
        value = value.detach().cpu().numpy()
    array = checks.array(name, value, ndim=1)
    tensor = torch.as_tensor(np.ascontiguousarray(array))
    return tensor.to(torch.float64 if dtype is None else dtype)


def _inputs(train_loss, val_loss, w0, lam, lr, steps):
    import torch

    for name, fn in (("train_loss", train_loss), ("val_loss", val_loss)):
        if not callable(fn):
            _fail(name, "a callable", type(fn).__name__)
    dtype = w0.dtype if torch.is_tensor(w0) and w0.is_floating_point() else torch.float64
    w0 = _vector("w0", w0, dtype)
    lam = _vector("lam", lam, dtype)
    lr = checks.positive("lr", lr)
    steps = checks.count("steps", steps, minimum=0)
    return w0, lam, lr, steps


def _step(train_loss, w, lam, lr):
    """``Phi(w, lam)`` with the graph kept, for differentiating the step itself."""
    import torch

    grad = torch.autograd.grad(train_loss(w, lam), w, create_graph=True)[0]
    return w - lr * grad


def _scalar(name, value):
    import torch

    if not torch.is_tensor(value) or value.numel() != 1:
        _fail(name, "a callable returning a scalar tensor", f"{type(value).__name__}")
    return value.reshape(())


def unrolled_weights(train_loss, w0, lam, *, lr, steps):
    """The iterates ``w_0, ..., w_T`` of gradient descent on ``train_loss(., lam)``.

    Returns
    -------
    list of torch.Tensor, each of shape (P,), detached
    """
    import torch

    w0, lam, lr, steps = _inputs(train_loss, lambda w: w.sum(), w0, lam, lr, steps)
    weights = [w0]
    w = w0
    for _ in range(steps):
        w = w.detach().requires_grad_(True)
        grad = torch.autograd.grad(_scalar("train_loss", train_loss(w, lam)), w)[0]
        w = (w - lr * grad).detach()
        if not torch.all(torch.isfinite(w)):
            _fail("lr", "a step size at which gradient descent stays finite", f"{lr} (diverged)")
        weights.append(w)
    return weights


def _val_grad(val_loss, w):
    import torch

    w = w.detach().requires_grad_(True)
    value = _scalar("val_loss", val_loss(w))
    return float(value.detach()), torch.autograd.grad(value, w)[0]


def _reverse(train_loss, val_loss, w0, lam, lr, steps):
    import torch

    weights = unrolled_weights(train_loss, w0, lam, lr=lr, steps=steps)
    value, alpha = _val_grad(val_loss, weights[-1])
    gradient = torch.zeros_like(lam)
    for t in range(steps, 0, -1):
        w = weights[t - 1].clone().requires_grad_(True)
        hyper = lam.clone().requires_grad_(True)
        phi = _step(train_loss, w, hyper, lr)
        alpha_w, alpha_lam = torch.autograd.grad(
            phi, (w, hyper), grad_outputs=alpha, allow_unused=True
        )
        gradient += torch.zeros_like(lam) if alpha_lam is None else alpha_lam
        alpha = torch.zeros_like(w) if alpha_w is None else alpha_w
    return value, gradient, weights[-1], (steps + 1) * w0.shape[0]


def _forward(train_loss, val_loss, w0, lam, lr, steps):
    import torch
    from torch.func import grad, jvp, vmap

    def phi(w, hyper):
        return w - lr * grad(train_loss)(w, hyper)

    h = lam.shape[0]
    eye = torch.eye(h, dtype=lam.dtype)
    Z = torch.zeros(w0.shape[0], h, dtype=w0.dtype)  # Z_0 = d w_0 / d lam = 0
    w = w0
    for _ in range(steps):

        def column(z, e, w=w):
            return jvp(phi, (w, lam), (z, e))[1]

        Z = vmap(column, in_dims=(1, 0), out_dims=1)(Z, eye)  # A_t Z_{t-1} + B_t
        w = phi(w, lam).detach()
        if not torch.all(torch.isfinite(w)):
            _fail("lr", "a step size at which gradient descent stays finite", f"{lr} (diverged)")
    value, g = _val_grad(val_loss, w)
    return value, Z.T @ g, w, w0.shape[0] * h


def _autograd(train_loss, val_loss, w0, lam, lr, steps):
    import torch

    hyper = lam.clone().requires_grad_(True)
    w = w0.clone().requires_grad_(True)
    for _ in range(steps):
        w = _step(train_loss, w, hyper, lr)
    value = _scalar("val_loss", val_loss(w))
    (gradient,) = torch.autograd.grad(value, hyper, allow_unused=True)
    gradient = torch.zeros_like(lam) if gradient is None else gradient
    return float(value.detach()), gradient, w.detach(), (steps + 1) * w0.shape[0]


def hypergradient(train_loss, val_loss, w0, lam, *, lr, steps, mode="reverse"):
    """The validation loss after ``steps`` steps of gradient descent, and its gradient in
    the hyperparameters ``lam``.

    Parameters
    ----------
    train_loss : callable ``(w, lam) -> scalar tensor``
    val_loss : callable ``w -> scalar tensor``
    w0 : tensor or ndarray of shape (P,)
    lam : tensor or ndarray of shape (h,)
    lr : float
    steps : int, >= 0
    mode : {"reverse", "forward", "autograd"}
        The two recursions of Franceschi et al. (see the module's docstring), or PyTorch's
        backward pass through the unrolled run.

    Returns
    -------
    Hypergradient
    """
    mode = checks.choice("mode", mode, MODES)
    w0, lam, lr, steps = _inputs(train_loss, val_loss, w0, lam, lr, steps)
    method = {"reverse": _reverse, "forward": _forward, "autograd": _autograd}[mode]
    start = time.perf_counter()
    value, gradient, weights, stored = method(train_loss, val_loss, w0, lam, lr, steps)
    return Hypergradient(
        value=value,
        gradient=gradient.detach().numpy().copy(),
        weights=weights.detach().numpy().copy(),
        mode=mode,
        stored_floats=int(stored),
        run_time_s=time.perf_counter() - start,
    )


def validation_loss(train_loss, val_loss, w0, lam, *, lr, steps):
    """``E(lam) = val_loss(w_T)``, without derivatives (for finite differences and scans)."""
    import torch

    w0, lam, lr, steps = _inputs(train_loss, val_loss, w0, lam, lr, steps)
    weights = unrolled_weights(train_loss, w0, lam, lr=lr, steps=steps)
    with torch.no_grad():
        return float(_scalar("val_loss", val_loss(weights[-1])))

"""Deep linear networks: gradient descent on a product of matrices, and its exact dynamics.

A deep linear network computes a linear map, yet gradient descent on its layers is a
non-linear dynamical system: the map is learned one singular mode at a time, the strongest
first, each after a plateau whose length grows as the initialization shrinks. For whitened
inputs and a "balanced" initialization aligned with the data, Saxe, McClelland and Ganguli
(2014) solved these dynamics in closed form; Arora, Cohen and Hazan (2018) wrote them for
any depth as a dynamics of the end-to-end map.

Conventions (the same everywhere in this module)::

    X : (n, d_in) inputs, rows are examples;   Y : (n, d_out) targets (or (n,): d_out = 1)
    layers    W_1 : (h, d_in),  W_2 ... W_{N-1} : (h, h),  W_N : (d_out, h)
              (depth N = 1: a single W_1 of shape (d_out, d_in); h is the width `hidden`)
    end-to-end map   W = W_N ... W_1 : (d_out, d_in),   f(x) = W x
    loss      L = 1/(2n) ||W X^T - Y^T||_F^2 = 1/2 tr(W Sxx W^T) - tr(W Syx^T) + const
              Sxx = X^T X / n,   Syx = Y^T X / n = U diag(s) V^T   (thin SVD, k = min(d_out, d_in))
    gradients dL/dW = W Sxx - Syx
              dL/dW_j = (W_N ... W_{j+1})^T (dL/dW) (W_{j-1} ... W_1)^T
    descent   W_j <- W_j - lr dL/dW_j  for all j at once;   time t = lr * step
    modes     a_i = u_i^T W v_i, the strength of the end-to-end map along the i-th singular
              pair (u_i, v_i) of Syx

The whole story, for whitened inputs (``Sxx = I``) and a balanced initialization aligned
with ``Syx`` (every layer carries the same strength ``a0^(1/N)`` on each mode, see
:func:`balanced_factors`): the modes decouple and, under gradient flow, each obeys::

    da/dt = N a^(2 - 2/N) (s - a)    (depth N: the end-to-end dynamics of Arora et al. 2018)
    da/dt = 2 a (s - a)              (depth 2: a logistic curve, Saxe et al. 2014)

whose depth-2 solution is :func:`saxe_trajectory`. Gradient descent with a small ``lr``
follows the flow up to a relative error of order ``lr * s * log(s / a0)``; depth 1 is plain
least squares, whose modes relax exponentially, ``a = s + (a0 - s) e^(-t)``.

References
----------
Saxe, McClelland, Ganguli (2014), *Exact solutions to the nonlinear dynamics of learning in
deep linear neural networks*, ICLR, https://arxiv.org/abs/1312.6120.
Arora, Cohen, Hazan (2018), *On the optimization of deep networks: implicit acceleration by
overparameterization*, ICML, https://arxiv.org/abs/1802.06509.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import checks


def _orthonormal_columns(rng, rows, cols):
    """A random ``rows x cols`` matrix with orthonormal columns (Haar, via QR)."""
    Q, R = np.linalg.qr(rng.standard_normal((rows, cols)))
    return Q * np.sign(np.diag(R))


def balanced_factors(W, depth, hidden=None, seed=0):
    """Factors ``W_N ... W_1 = W`` that are balanced: ``W_{j+1}^T W_{j+1} = W_j W_j^T``.

    With the thin SVD ``W = U diag(sigma) V^T`` (r singular triplets), the factors are::

        W_1 = Q_1 S V^T,   W_j = Q_j S Q_{j-1}^T,   W_N = U S Q_{N-1}^T,   S = diag(sigma)^(1/N)

    with ``Q_j`` random ``hidden x r`` matrices with orthonormal columns. Each layer carries
    the N-th root of every singular value, the same on every layer, so the product is ``W``
    and every pair of neighbours is balanced in the sense of Arora, Cohen, Hazan (2018).
    Gradient flow keeps balanced factors balanced.

    Parameters
    ----------
    W : array_like, shape (d_out, d_in)
    depth : int, positive
        N, the number of factors; ``depth = 1`` returns ``[W]``.
    hidden : int, optional
        Width h of the hidden layers; default ``min(d_out, d_in)``. Must be at least the
        rank of W.
    seed : int, default 0
        Seed of the orthonormal ``Q_j``.

    Returns
    -------
    layers : list of ndarray
        ``[W_1, ..., W_N]`` with the shapes of the module's conventions.
    """
    W = checks.array("W", W, ndim=2)
    depth = checks.count("depth", depth)
    seed = checks.count("seed", seed, minimum=0)
    hidden = min(W.shape) if hidden is None else checks.count("hidden", hidden)
    if depth == 1:
        return [W.copy()]
    U, sigma, Vt = np.linalg.svd(W, full_matrices=False)
    rank = int(np.sum(sigma > max(W.shape) * np.finfo(float).eps * sigma[0])) if sigma[0] else 0
    if rank > hidden:
        raise ValueError(f"hidden must be at least the rank of W, {rank}; got {hidden}.")
    r = min(hidden, sigma.size)
    U, S, Vt = U[:, :r], np.diag(sigma[:r] ** (1.0 / depth)), Vt[:r]
    rng = np.random.default_rng(seed)
    Qs = [_orthonormal_columns(rng, hidden, r) for _ in range(depth - 1)]
    layers = [Qs[0] @ S @ Vt]
    layers += [Qs[j] @ S @ Qs[j - 1].T for j in range(1, depth - 1)]
    layers.append(U @ S @ Qs[-1].T)
    return layers


def end_to_end(layers):
    """The end-to-end map ``W = W_N ... W_1`` of ``layers = [W_1, ..., W_N]``."""
    layers = _as_layers(layers)
    W = layers[0]
    for layer in layers[1:]:
        W = layer @ W
    return W


def _as_layers(layers):
    if isinstance(layers, np.ndarray) or len(layers) == 0:
        raise ValueError(
            f"layers must be a non-empty list of 2-D arrays [W_1, ..., W_N]; got "
            f"{type(layers).__name__} of length {len(layers)}."
        )
    layers = [checks.array(f"layers[{j}]", W, ndim=2) for j, W in enumerate(layers)]
    for j in range(1, len(layers)):
        if layers[j].shape[1] != layers[j - 1].shape[0]:
            raise ValueError(
                f"layers[{j}] must have {layers[j - 1].shape[0]} columns (the rows of "
                f"layers[{j - 1}]); got shape {layers[j].shape}."
            )
    return layers


def _as_data(X, Y):
    X = checks.array("X", X, ndim=2)
    Y = checks.array("Y", Y, ndim=(1, 2))
    if Y.shape[0] != X.shape[0]:
        raise ValueError(
            f"Y must have n = X.shape[0] = {X.shape[0]} rows, shape (n,) or (n, d_out); got "
            f"shape {Y.shape}."
        )
    return X, Y.reshape(len(Y), -1)


def _gradients(layers, Sxx, Syx):
    """``dL/dW_j`` for every layer from the two moment matrices (see the module docstring)."""
    prefix = [np.eye(layers[0].shape[1])]  # prefix[j] = W_j ... W_1, prefix[0] = I
    for W in layers:
        prefix.append(W @ prefix[-1])
    G = prefix[-1] @ Sxx - Syx  # dL/dW, shape (d_out, d_in)
    grads, suffix = [None] * len(layers), np.eye(layers[-1].shape[0])  # W_N ... W_{j+1}
    for j in range(len(layers) - 1, -1, -1):
        grads[j] = suffix.T @ G @ prefix[j].T
        suffix = suffix @ layers[j]
    return grads


def loss_and_gradients(layers, X, Y):
    """The loss ``1/(2n) ||W X^T - Y^T||_F^2`` of a deep linear network and its layer gradients.

    Parameters
    ----------
    layers : list of array_like
        ``[W_1, ..., W_N]``, shapes as in the module docstring.
    X : array_like, shape (n, d_in)
    Y : array_like, shape (n, d_out) or (n,)

    Returns
    -------
    loss : float
    grads : list of ndarray
        ``dL/dW_j = (W_N ... W_{j+1})^T (W Sxx - Syx) (W_{j-1} ... W_1)^T``, one per layer,
        each of the shape of its layer.
    """
    layers = _as_layers(layers)
    X, Y = _as_data(X, Y)
    W = end_to_end(layers)
    if W.shape != (Y.shape[1], X.shape[1]):
        raise ValueError(
            f"layers must have an end-to-end map from d_in = {X.shape[1]} inputs to d_out = "
            f"{Y.shape[1]} outputs; got one of shape {W.shape}."
        )
    n = X.shape[0]
    loss = 0.5 * np.sum((X @ W.T - Y) ** 2) / n
    return float(loss), _gradients(layers, X.T @ X / n, Y.T @ X / n)


@dataclass(frozen=True)
class DeepLinearRun:
    """The record of :func:`train_deep_linear`; arrays have one row per recorded step.

    Attributes
    ----------
    steps : ndarray of int, shape (num_recorded,)
        The recorded steps: 0, every ``record_every``-th, and the last.
    times : ndarray, shape (num_recorded,)
        ``lr * steps``, the time of the gradient flow that the steps follow.
    losses : ndarray, shape (num_recorded,)
    singular_values : ndarray, shape (num_recorded, k)
        Of the end-to-end map, decreasing; ``k = min(d_out, d_in)``.
    mode_strengths : ndarray, shape (num_recorded, k)
        ``a_i = u_i^T W v_i`` along the singular pairs of ``Syx``.
    s : ndarray, shape (k,)
        The singular values of the input-output correlation, ``Syx = U diag(s) V^T``.
    U : ndarray, shape (d_out, k)
        Its left singular vectors.
    V : ndarray, shape (d_in, k)
        Its right singular vectors.
    layers : tuple of ndarray
        The final ``W_1, ..., W_N``.
    """

    steps: np.ndarray
    times: np.ndarray
    losses: np.ndarray
    singular_values: np.ndarray
    mode_strengths: np.ndarray
    s: np.ndarray
    U: np.ndarray
    V: np.ndarray
    layers: tuple

    @property
    def end_to_end(self):
        """The final end-to-end map ``W_N ... W_1``, shape (d_out, d_in)."""
        return end_to_end(list(self.layers))


def train_deep_linear(
    X,
    Y,
    depth,
    hidden,
    lr,
    num_steps,
    init="balanced",
    scale=1e-3,
    seed=0,
    record_every=1,
):
    """Full-batch gradient descent on a depth-N linear network, recording its modes.

    Minimizes ``L = 1/(2n) ||W_N ... W_1 X^T - Y^T||_F^2`` (rows of X and Y are examples) by
    ``W_j <- W_j - lr dL/dW_j`` for all layers at once, from one of two small starts:

    * ``init="balanced"``: aligned with the input-output correlation ``Syx = Y^T X / n =
      U diag(s) V^T``. The end-to-end map starts at ``scale * U_m V_m^T`` (every one of the
      ``m = min(hidden, k)`` strongest modes at strength ``scale``; for depth 1, all
      ``k = min(d_out, d_in)`` modes) and is split into balanced layers by
      :func:`balanced_factors`, each layer carrying ``scale^(1/N)`` per mode. With whitened
      inputs the modes then evolve independently, as in Saxe et al. (2014).
    * ``init="random"``: every entry of every layer independent ``N(0, scale^2)``.

    The gradient is computed from ``Sxx = X^T X / n`` and ``Syx``, which give the same
    gradient as the data at a cost independent of n.

    Parameters
    ----------
    X : array_like, shape (n, d_in)
    Y : array_like, shape (n, d_out) or (n,)
    depth : int, positive
        N, the number of layers.
    hidden : int, positive
        Width h of the hidden layers (unused for depth 1).
    lr : float, positive
        Learning rate; the flow time of step ``k`` is ``lr * k``.
    num_steps : int, non-negative
    init : {"balanced", "random"}, default "balanced"
    scale : float, positive, default 1e-3
        Initial strength of each mode (balanced) or standard deviation of the entries (random).
    seed : int, default 0
        Seed of the hidden rotations (balanced) or of the entries (random).
    record_every : int, default 1
        Record every ``record_every``-th step (step 0 and the last are always recorded).

    Returns
    -------
    DeepLinearRun

    Raises
    ------
    ValueError
        For bad arguments, with the expected and the received value.
    FloatingPointError
        When the loss stops being finite (the learning rate is too large).

    References
    ----------
    Saxe, McClelland, Ganguli (2014), ICLR.
    Arora, Cohen, Hazan (2018), ICML.
    """
    X, Y = _as_data(X, Y)
    depth = checks.count("depth", depth)
    hidden = checks.count("hidden", hidden)
    lr = checks.positive("lr", lr)
    num_steps = checks.count("num_steps", num_steps, minimum=0)
    init = checks.choice("init", init, ("balanced", "random"))
    scale = checks.positive("scale", scale)
    seed = checks.count("seed", seed, minimum=0)
    record_every = checks.count("record_every", record_every)
    n, d_in = X.shape
    d_out = Y.shape[1]
    Sxx, Syx = X.T @ X / n, Y.T @ X / n
    U, s, Vt = np.linalg.svd(Syx, full_matrices=False)
    widths = [d_in] + [hidden] * (depth - 1) + [d_out]
    if init == "balanced":
        m = s.size if depth == 1 else min(hidden, s.size)
        layers = balanced_factors(scale * U[:, :m] @ Vt[:m], depth, hidden, seed)
    else:
        rng = np.random.default_rng(seed)
        layers = [scale * rng.standard_normal((widths[j + 1], widths[j])) for j in range(depth)]
    const = 0.5 * np.sum(Y * Y) / n  # L = 1/2 tr(W Sxx W^T) - tr(W Syx^T) + const
    steps, losses, svals, modes = [], [], [], []
    for step in range(num_steps + 1):
        if step % record_every == 0 or step == num_steps:
            W = end_to_end(layers)
            with np.errstate(over="ignore", invalid="ignore"):
                loss = 0.5 * np.sum((W @ Sxx) * W) - np.sum(W * Syx) + const
            if not np.isfinite(loss):
                raise FloatingPointError(
                    f"gradient descent diverged by step {step}: the loss is not finite; "
                    f"lower lr (got {lr:g})."
                )
            steps.append(step)
            losses.append(max(loss, 0.0))
            svals.append(np.linalg.svd(W, compute_uv=False))
            modes.append(np.einsum("ik,ij,jk->k", U, W, Vt.T))
        if step < num_steps:
            grads = _gradients(layers, Sxx, Syx)
            layers = [W_j - lr * g for W_j, g in zip(layers, grads)]
    steps = np.array(steps)
    return DeepLinearRun(
        steps=steps,
        times=lr * steps,
        losses=np.array(losses),
        singular_values=np.array(svals),
        mode_strengths=np.array(modes),
        s=s,
        U=U,
        V=Vt.T,
        layers=tuple(layers),
    )


def saxe_trajectory(s, a0, tau, t):
    """The strength of one mode of a depth-2 linear network under gradient flow, in closed form.

    For whitened inputs and a balanced aligned start, the strength ``a = u^T W v`` of a mode
    of singular value ``s`` obeys ``tau da/dt = 2 a (s - a)`` with ``a(0) = a0``
    (Saxe et al. 2014). It is a logistic curve::

        a(t) = s e^(2 s t / tau) / (e^(2 s t / tau) - 1 + s / a0)
             = s / (1 + (s / a0 - 1) e^(-2 s t / tau))           (evaluated in this form)

    and ``a(t) = a0 / (1 + 2 a0 t / tau)`` for ``s = 0``. Small modes wait a time of about
    ``tau / (2 s) log(s / a0)`` before they are learned: the larger s, the sooner.

    Derivation for this module's loss: with whitened inputs, ``dL/dW = W - Syx``. In the
    aligned balanced start each of the two layers carries ``b = a^(1/2)`` on the mode, and
    the gradient keeps it so: ``db/dt = -b (b^2 - s)``, hence ``da/dt = 2 b db/dt =
    2 a (s - a)``. Gradient descent with learning rate ``lr`` is the Euler scheme of this
    flow at time ``t = lr * step``, so ``tau = 1`` in those units; Saxe et al. write the same
    equation with a time constant ``tau`` that absorbs their learning rate and their
    normalization of the loss, and ``tau`` is kept here to convert between the two.

    Parameters
    ----------
    s : float or array_like of shape (k,)
        Singular value(s) of ``Syx``, non-negative.
    a0 : float or array_like of shape (k,)
        Initial strength(s), positive.
    tau : float, positive
        Time constant; 1 for gradient descent on ``1/(2n) ||W X^T - Y^T||^2`` at ``t = lr * step``.
    t : float or array_like of shape (T,)
        Times, non-negative.

    Returns
    -------
    a : ndarray, shape ``np.shape(t) + np.broadcast_shapes(np.shape(s), np.shape(a0))``

    References
    ----------
    Saxe, McClelland, Ganguli (2014), *Exact solutions to the nonlinear dynamics of learning in
    deep linear neural networks*, ICLR.
    """
    for name, value in (("s", s), ("a0", a0), ("t", t)):
        if np.asarray(value).dtype == bool:  # True would pass as 1.0
            raise ValueError(f"{name} must be a number or an array of numbers; got {value!r}.")
    s = checks.array("s", s, ndim=(0, 1))
    a0 = checks.array("a0", a0, ndim=(0, 1), positive=True)
    t = checks.array("t", t, ndim=(0, 1))
    tau = checks.positive("tau", tau)
    if np.any(s < 0):
        raise ValueError(f"s must be non-negative; got {float(s.min())!r}.")
    if np.any(t < 0):
        raise ValueError(f"t must be non-negative; got {float(t.min())!r}.")
    try:
        s, a0 = np.broadcast_arrays(s, a0)
    except ValueError:
        raise ValueError(
            f"s and a0 must have broadcastable shapes; got {s.shape} and {a0.shape}."
        ) from None
    T = t.reshape(t.shape + (1,) * s.ndim) / tau
    growing = s > 0
    s_safe = np.where(growing, s, 1.0)  # the s = 0 entries take the other branch
    logistic = s_safe / (1.0 + (s_safe / a0 - 1.0) * np.exp(-2.0 * s_safe * T))
    return np.where(growing, logistic, a0 / (1.0 + 2.0 * a0 * T))

"""Linear convolutional networks: gradient descent's implicit bias in the frequency domain.

A deep network without non-linearities computes a linear predictor ``f(x) = <beta, x>``,
whatever its architecture; yet on separable data gradient descent on the exponential or
logistic loss finds different predictors for different architectures. Fully connected
linear networks of any depth converge in direction to the hard-margin SVM, the
max-l2-margin predictor; full-width circular convolutional networks of depth L converge in
direction to a first-order stationary point of ``min ||F beta||_{2/L}`` subject to margins of
at least 1, a bridge penalty on the Fourier coefficients that for ``L >= 2`` favours few
frequencies (Gunasekar, Lee, Soudry, Srebro 2018; both results assume that the loss tends to
0 and that the iterates and their gradients converge in direction).

Conventions (the same everywhere in this module)::

    inputs x in R^D (X : (n, D), rows are examples), labels y in {-1, +1}
    conv, depth L: filters w_1, ..., w_L in R^D (the rows of `layers`, shape (L, D)),
        h_0 = x,   h_l[d] = 1/sqrt(D) sum_k w_l[k] h_{l-1}[(d + k) mod D]   (l = 1 ... L-1)
        f(x) = <h_{L-1}, w_L>
      (each hidden layer is a full-width circular cross-correlation with the 1/sqrt(D)
       scaling of Gunasekar et al.), hence
        beta = D^(-(L-1)/2) w_1 * w_2 * ... * w_L,   (a * b)[j] = sum_k a[k] b[(j - k) mod D]
      a circular convolution (no flips), and with the unitary DFT F x = fft(x) / sqrt(D):
        F beta = (F w_1) (F w_2) ... (F w_L)          (entrywise)
    fully connected, depth L: W_1 : (H, D), W_l : (H, H) for 1 < l < L, w_L : (H,)
        f(x) = w_L^T W_{L-1} ... W_1 x,    beta = W_1^T ... W_{L-1}^T w_L
      (depth 1 in both: beta = w_1)
    losses   exp:       1/n sum_i exp(-y_i <beta, x_i>)
             logistic:  1/n sum_i log(1 + exp(-y_i <beta, x_i>))

References
----------
Gunasekar, Lee, Soudry, Srebro (2018), *Implicit bias of gradient descent on linear
convolutional networks*, NeurIPS, https://arxiv.org/abs/1806.00468.
Soudry, Hoffer, Nacson, Gunasekar, Srebro (2018), *The implicit bias of gradient descent on
separable data*, JMLR 19.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import checks

ARCHITECTURES = ("conv", "fc")
LOSSES = ("exp", "logistic")


def conv_predictor(layers):
    """The linear predictor ``beta`` of a full-width circular linear convolutional network.

    ``beta = D^(-(L-1)/2) w_1 * ... * w_L`` (circular convolution, module docstring),
    computed as ``D^(-(L-1)/2) ifft(fft(w_1) ... fft(w_L))``.

    Parameters
    ----------
    layers : array_like, shape (L, D)
        The filters ``w_1, ..., w_L``, one per row.

    Returns
    -------
    beta : ndarray, shape (D,)
    """
    layers = checks.array("layers", layers, ndim=2)
    L, D = layers.shape
    spectrum = np.prod(np.fft.fft(layers, axis=1), axis=0)
    return np.fft.ifft(spectrum).real * D ** (-(L - 1) / 2)


def fc_predictor(layers):
    """The linear predictor ``beta = W_1^T ... W_{L-1}^T w_L`` of a fully connected linear net.

    Parameters
    ----------
    layers : list of array_like
        ``[W_1, ..., W_{L-1}, w_L]``: matrices of shapes (H_1, D), (H_2, H_1), ... and a last
        vector of shape (H_{L-1},) (depth 1: ``[w_1]`` with ``w_1`` of shape (D,)).

    Returns
    -------
    beta : ndarray, shape (D,)
    """
    layers = _as_fc_layers(layers)
    beta = layers[-1]
    for W in reversed(layers[:-1]):
        beta = W.T @ beta
    return beta


def _as_fc_layers(layers):
    if isinstance(layers, np.ndarray) or len(layers) == 0:
        raise ValueError(
            f"layers must be a non-empty list [W_1, ..., W_(L-1), w_L]; got "
            f"{type(layers).__name__} of length {len(layers)}."
        )
    out = [checks.array(f"layers[{j}]", W, ndim=2) for j, W in enumerate(layers[:-1])]
    out.append(checks.array(f"layers[{len(layers) - 1}]", layers[-1], ndim=1))
    for j in range(1, len(out)):
        if out[j].shape[-1] != out[j - 1].shape[0]:
            raise ValueError(
                f"layers[{j}] must have {out[j - 1].shape[0]} columns (the rows of "
                f"layers[{j - 1}]); got shape {out[j].shape}."
            )
    return out


def fourier_magnitudes(beta):
    """``|F beta|``: the moduli of the unitary DFT of ``beta`` (``fft(beta) / sqrt(D)``)."""
    beta = checks.array("beta", beta, ndim=1)
    return np.abs(np.fft.fft(beta)) / np.sqrt(beta.size)


def normalized_margin(beta, X, y):
    """``min_i y_i <beta, x_i> / ||beta||_2``: the l2 margin of the direction of ``beta``."""
    beta = checks.array("beta", beta, ndim=1)
    X, y = _as_data(X, y)
    if X.shape[1] != beta.shape[0]:
        raise ValueError(
            f"beta must have one entry per column of X ({X.shape[1]}); got shape {beta.shape}."
        )
    norm = np.linalg.norm(beta)
    if norm == 0:
        raise ValueError("beta must be non-zero; got the zero vector.")
    return float(np.min(y * (X @ beta)) / norm)


def _as_data(X, y):
    X = checks.array("X", X, ndim=2)
    y = checks.array("y", y, ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have shape (n,) = ({X.shape[0]},); got shape {y.shape}.")
    if not np.all(np.abs(y) == 1):
        raise ValueError(f"y must be labels in {{-1, +1}}; got values {np.unique(y)[:5]}.")
    return X, y


def _torch_beta(params, architecture, D):
    import torch

    if architecture == "conv":
        spectrum = torch.fft.fft(params[0])
        for w in params[1:]:
            spectrum = spectrum * torch.fft.fft(w)
        return torch.fft.ifft(spectrum).real * D ** (-(len(params) - 1) / 2)
    beta = params[-1]
    for W in reversed(params[:-1]):
        beta = W.T @ beta
    return beta


def _torch_loss(beta, X, y, loss):
    import torch

    margins = y * (X @ beta)
    if loss == "exp":
        return torch.exp(-margins).mean()
    return torch.nn.functional.softplus(-margins).mean()


def _as_layers(layers, architecture, D):
    if architecture == "conv":
        layers = checks.array("layers", layers, ndim=2)
        if layers.shape[1] != D:
            raise ValueError(f"layers must have D = {D} columns; got shape {layers.shape}.")
        return list(layers)
    layers = _as_fc_layers(layers)
    if (layers[0].shape[-1]) != D:
        raise ValueError(f"layers[0] must have D = {D} columns; got shape {layers[0].shape}.")
    return layers


def loss_and_gradients(layers, X, y, architecture="conv", loss="exp"):
    """The training loss of a linear network and its gradients with respect to every layer.

    Computed with torch autograd in float64 (the path :func:`train_linear_conv` uses).

    Parameters
    ----------
    layers : array_like of shape (L, D) (conv) or list of arrays (fc)
        As in :func:`conv_predictor` and :func:`fc_predictor`.
    X : array_like, shape (n, D)
    y : array_like, shape (n,), entries in {-1, +1}
    architecture : {"conv", "fc"}, default "conv"
    loss : {"exp", "logistic"}, default "exp"

    Returns
    -------
    value : float
    grads : list of ndarray
        One per layer, of its shape (for conv, the rows of an (L, D) array).
    """
    import torch

    X, y = _as_data(X, y)
    architecture = checks.choice("architecture", architecture, ARCHITECTURES)
    loss = checks.choice("loss", loss, LOSSES)
    params = [
        torch.tensor(W, requires_grad=True) for W in _as_layers(layers, architecture, X.shape[1])
    ]
    value = _torch_loss(
        _torch_beta(params, architecture, X.shape[1]), torch.as_tensor(X), torch.as_tensor(y), loss
    )
    value.backward()
    return value.item(), [p.grad.numpy().copy() for p in params]


@dataclass(frozen=True)
class LinearConvRun:
    """The record of :func:`train_linear_conv`; arrays have one row per recorded step.

    Attributes
    ----------
    steps : ndarray of int, shape (num_recorded,)
        0, every ``record_every``-th step, and the last.
    betas : ndarray, shape (num_recorded, D)
        The linear predictor at those steps.
    losses : ndarray, shape (num_recorded,)
    layers : list of ndarray
        The final layers (conv: the filters, each of shape (D,); fc: ``[W_1, ..., w_L]``).
    """

    steps: np.ndarray
    betas: np.ndarray
    losses: np.ndarray
    layers: list


def train_linear_conv(
    X,
    y,
    depth,
    lr,
    num_steps,
    init_scale=0.1,
    seed=0,
    architecture="conv",
    loss="exp",
    record_every=1,
    hidden=None,
):
    """Gradient descent on a depth-L linear network, convolutional or fully connected.

    Full-batch gradient descent (torch autograd, float64) on the exponential or logistic
    loss of the predictor ``beta`` of the module docstring, from layers whose entries are
    independent ``N(0, init_scale^2)``. On linearly separable data the loss tends to 0, the
    norm of ``beta`` to infinity, and its direction converges: to the max-l2-margin direction
    for fully connected networks; towards sparse Fourier coefficients for convolutional ones
    of depth 2 or more (Gunasekar et al. 2018). The convergence in direction is slow
    (logarithmic in the number of steps), so the recorded betas show the trend, not the limit.

    Parameters
    ----------
    X : array_like, shape (n, D)
    y : array_like, shape (n,)
        Labels in {-1, +1}.
    depth : int, positive
        L, the number of layers.
    lr : float, positive
        Learning rate.
    num_steps : int, non-negative
    init_scale : float, positive, default 0.1
        Standard deviation of every initial weight.
    seed : int, default 0
        Seed of the initialization (``numpy.random.default_rng``).
    architecture : {"conv", "fc"}, default "conv"
    loss : {"exp", "logistic"}, default "exp"
    record_every : int, default 1
        Record every ``record_every``-th step (step 0 and the last are always recorded).
    hidden : int, optional
        Width H of the hidden layers of the fully connected network; default D.

    Returns
    -------
    LinearConvRun

    Raises
    ------
    ValueError
        For bad arguments, with the expected and the received value.
    FloatingPointError
        When the loss stops being finite (the learning rate is too large).

    References
    ----------
    Gunasekar, Lee, Soudry, Srebro (2018), NeurIPS.
    """
    import torch

    X, y = _as_data(X, y)
    depth = checks.count("depth", depth)
    lr = checks.positive("lr", lr)
    num_steps = checks.count("num_steps", num_steps, minimum=0)
    init_scale = checks.positive("init_scale", init_scale)
    seed = checks.count("seed", seed, minimum=0)
    architecture = checks.choice("architecture", architecture, ARCHITECTURES)
    loss = checks.choice("loss", loss, LOSSES)
    record_every = checks.count("record_every", record_every)
    D = X.shape[1]
    hidden = D if hidden is None else checks.count("hidden", hidden)
    rng = np.random.default_rng(seed)
    if architecture == "conv":
        shapes = [(D,)] * depth
    else:
        widths = [D] + [hidden] * (depth - 1)
        shapes = [(widths[j + 1], widths[j]) for j in range(depth - 1)] + [(widths[-1],)]
    params = [
        torch.tensor(init_scale * rng.standard_normal(shape), requires_grad=True)
        for shape in shapes
    ]
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    steps, betas, losses = [], [], []
    for step in range(num_steps + 1):
        beta = _torch_beta(params, architecture, D)
        value = _torch_loss(beta, Xt, yt, loss)
        if step % record_every == 0 or step == num_steps:
            if not torch.isfinite(value):
                raise FloatingPointError(
                    f"gradient descent diverged by step {step}: the loss is not finite; "
                    f"lower lr (got {lr:g})."
                )
            steps.append(step)
            betas.append(beta.detach().numpy().copy())
            losses.append(value.item())
        if step < num_steps:
            grads = torch.autograd.grad(value, params)
            with torch.no_grad():
                for p, g in zip(params, grads):
                    p -= lr * g
    return LinearConvRun(
        steps=np.array(steps),
        betas=np.array(betas),
        losses=np.array(losses),
        layers=[p.detach().numpy().copy() for p in params],
    )

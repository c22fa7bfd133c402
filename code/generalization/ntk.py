"""Neural tangent kernels: of a finite network, of its infinite-width limit, and of training.

A network ``f(x; theta)`` moved by gradient descent changes its output at ``x'`` through
the gradients of the output at the training points; to first order in the step, one step on
an example ``x`` moves ``f(x')`` by ``-lr * Theta(x', x) * dloss/df(x)``, where::

    Theta(x, x') = < grad_theta f(x; theta), grad_theta f(x'; theta) >

is the neural tangent kernel (NTK) of Jacot, Gabriel and Hongler (2018). This module has

* :func:`mlp`: a ReLU network in the NTK or the standard parametrization;
* :func:`empirical_ntk`: ``Theta`` of any torch model at its current parameters, by
  ``torch.func`` (Jacobian contraction, or NTK-vector products when the Jacobian would not
  fit in memory), or layer by layer from two small Gram matrices for networks of affine
  layers;
* :func:`relu_nngp`, :func:`relu_ntk`, :func:`relu_kernels`: the kernels that the output
  covariance at initialization and ``Theta`` of :func:`mlp` (NTK parametrization) tend to as
  every hidden width grows, by the arc-cosine recursions;
* :func:`linearize`, :func:`gradient_descent`, :func:`gd_predictions`: the first-order
  Taylor model of a network, full-batch gradient descent on the squared loss (for the network
  or its linearization), and the closed form of that descent for the linearized model.

Conventions (the same everywhere in this module)::

    widths   (d_in, N_1, ..., N_depth, d_out): depth hidden layers of widths N_l, d_out outputs
    layer l  h^l = sqrt(weight_var / N_{l-1}) W^l a^{l-1} + sqrt(bias_var) b^l,  l = 1 .. depth+1
             a^0 = x,  a^l = relu(h^l),  f(x) = h^{depth+1};  N_0 = d_in
    "ntk"       W^l, b^l ~ N(0, 1) are the parameters (the scale sits in the forward pass)
    "standard"  sqrt(weight_var / N_{l-1}) W^l and sqrt(bias_var) b^l are the parameters
             (the same function at initialization; a weight's gradient is larger by
             sqrt(N_{l-1} / weight_var), its part of the NTK by N_{l-1} / weight_var)
    kernels  Sigma(x, x') = E[f(x) f(x')] at initialization (the NNGP kernel), one output;
             Theta(x, x') as above; several outputs are independent copies in the limit
    loss     L(theta) = 1/(2n) sum_i ||f(x_i; theta) - y_i||^2   (mean over the n examples,
             sum over the outputs; neural-tangents' predict module takes the mean over both)

The infinite-width kernels, for the ReLU ``relu(u) = max(u, 0)``, with ``kappa_0`` and
``kappa_1`` the arc-cosine functions of Cho and Saul (2009)::

    Sigma^1(x, x')   = weight_var <x, x'> / d_in + bias_var,          Theta^1 = Sigma^1
    rho              = Sigma^l(x, x') / sqrt(Sigma^l(x, x) Sigma^l(x', x'))   clipped to [-1, 1]
    kappa_1(rho)     = (sqrt(1 - rho^2) + (pi - arccos rho) rho) / pi  (= 2 E[relu(u) relu(v)])
    kappa_0(rho)     = (pi - arccos rho) / pi                          (= 2 P(u > 0, v > 0))
                       for (u, v) standard normal with correlation rho
    Sigma^{l+1}      = weight_var / 2 * sqrt(Sigma^l(x, x) Sigma^l(x', x')) kappa_1(rho) + bias_var
    Sigma_dot^{l+1}  = weight_var / 2 * kappa_0(rho)
    Theta^{l+1}      = Sigma^{l+1} + Theta^l * Sigma_dot^{l+1}
    NNGP of f = Sigma^{depth+1},   NTK of f = Theta^{depth+1}

The whole story, for the one-layer case: ``Theta = Sigma^2 + Sigma^1 Sigma_dot^2``, the
first term from the last layer's weights and bias, the second from the first layer's, each
an average over ``N_1`` hidden units that concentrates as ``N_1`` grows. On the diagonal
``rho = 1`` and, with ``weight_var = 2``, ``bias_var = 0``: ``Sigma^l(x, x) = 2 ||x||^2 / d_in``
at every layer and ``Theta^{depth+1}(x, x) = (depth + 1) 2 ||x||^2 / d_in``.

Exact here: the recursions in float64 with the diagonal computed without the arc cosine
(``rho = 1`` by construction); the empirical kernel to rounding; the closed form of gradient
descent on the linearized model to rounding, for any step size. A zero input with
``bias_var = 0`` makes every pre-activation zero; the ReLU's derivative at 0 is 0 (torch's
convention), and the kernels follow it.

References
----------
Jacot, Gabriel, Hongler (2018), *Neural tangent kernel: convergence and generalization in
neural networks*, NeurIPS, https://arxiv.org/abs/1806.07572.
Cho, Saul (2009), *Kernel methods for deep learning*, NeurIPS.
Lee, Bahri, Novak, Schoenholz, Pennington, Sohl-Dickstein (2018), *Deep neural networks as
Gaussian processes*, ICLR, https://arxiv.org/abs/1711.00165.
Lee, Xiao, Schoenholz, Bahri, Novak, Sohl-Dickstein, Pennington (2019), *Wide neural networks
of any depth evolve as linear models under gradient descent*, NeurIPS,
https://arxiv.org/abs/1902.06720.
Arora, Du, Hu, Li, Salakhutdinov, Wang (2019), *On exact computation with an infinitely wide
neural net*, NeurIPS, https://arxiv.org/abs/1904.11955.
Novak, Sohl-Dickstein, Schoenholz (2022), *Fast finite width neural tangent kernel*, ICML,
https://arxiv.org/abs/2206.08720.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, jacrev, jvp, vmap

from . import checks, nets

PARAMETRIZATIONS = ("ntk", "standard")
"""The parametrizations of :func:`mlp`."""

OUTPUTS = ("mean", "full")
"""How :func:`empirical_ntk` treats several outputs."""

IMPLEMENTATIONS = ("auto", "jacobian", "ntvp", "structured")
"""How :func:`empirical_ntk` computes the kernel."""

MAX_BYTES = 2**28
"""The memory (bytes) that :func:`empirical_ntk` lets Jacobians take by default."""

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _fail(name, wanted, got):
    raise ValueError(f"{name} must be {wanted}; got {got}.")


# --- networks ----------------------------------------------------------------------------


class Dense(nn.Module):
    """An affine layer ``h = weight_scale * W a + bias_scale * b``, shapes as ``nn.Linear``.

    ``weight`` has shape (fan_out, fan_in) and ``bias`` (fan_out,) or is None (no bias).
    """

    def __init__(self, weight, bias=None, weight_scale=1.0, bias_scale=1.0):
        super().__init__()
        weight = checks.tensor("weight", weight, ndim=2)
        if bias is not None and checks.tensor("bias", bias, ndim=1).shape[0] != weight.shape[0]:
            raise ValueError(
                f"bias must have one entry per row of weight ({weight.shape[0]}); got shape "
                f"{tuple(bias.shape)}."
            )
        self.weight = nn.Parameter(weight)
        self.bias = None if bias is None else nn.Parameter(bias)
        self.weight_scale = checks.positive("weight_scale", weight_scale)
        self.bias_scale = checks.nonnegative("bias_scale", bias_scale)

    def forward(self, a):
        """``h`` of shape (n, fan_out) for ``a`` of shape (n, fan_in)."""
        h = nn.functional.linear(a, self.weight)
        if self.weight_scale != 1.0:
            h = self.weight_scale * h
        if self.bias is not None:
            h = h + (self.bias if self.bias_scale == 1.0 else self.bias_scale * self.bias)
        return h

    def extra_repr(self):
        fan_out, fan_in = self.weight.shape
        return (
            f"fan_in={fan_in}, fan_out={fan_out}, bias={self.bias is not None}, "
            f"weight_scale={self.weight_scale:.6g}, bias_scale={self.bias_scale:.6g}"
        )


def _dtype(dtype):
    for name, value in _DTYPES.items():
        if dtype == name or dtype is value:
            return value
    _fail("dtype", "one of 'float32', 'float64', torch.float32, torch.float64", repr(dtype))


def mlp(widths, parametrization="ntk", weight_var=2.0, bias_var=0.0, seed=0, dtype="float32"):
    """A fully connected ReLU network whose infinite-width kernels are :func:`relu_kernels`.

    Layer ``l`` computes ``h^l = sqrt(weight_var / N_{l-1}) W^l a^{l-1} + sqrt(bias_var) b^l``
    with ``W^l``, ``b^l`` drawn standard normal, and ``a^l = relu(h^l)`` on every layer but
    the last. In the ``"ntk"`` parametrization (Jacot et al. 2018) the standard-normal
    ``W^l``, ``b^l`` are the parameters and the scales multiply in the forward pass; in the
    ``"standard"`` one the scaled weights ``sqrt(weight_var / N_{l-1}) W^l`` are the parameters.
    Both draw the same numbers from ``seed`` (in float64, then cast), so they compute the same
    function at initialization and differ in their gradients: the gradient in a standard
    weight of layer ``l`` is ``sqrt(N_{l-1} / weight_var)`` times the gradient in the
    corresponding NTK weight, and gradient descent with one step size moves them differently.

    Parameters
    ----------
    widths : sequence of int
        ``(d_in, N_1, ..., N_depth, d_out)``, at least two entries: ``len(widths) - 2`` hidden
        layers (``(d_in, d_out)`` is a linear model).
    parametrization : {"ntk", "standard"}, default "ntk"
    weight_var : float, positive, default 2.0
        ``sigma_w^2``; 2 (He et al.) keeps ``E[f(x)^2] = 2 ||x||^2 / d_in`` at every depth.
    bias_var : float, non-negative, default 0.0
        ``sigma_b^2``; with 0 the layers have no bias parameter at all.
    seed : int, default 0
        Seeds the draw through :func:`generalization.nets.seed_everything`.
    dtype : {"float32", "float64"} or the torch dtype, default "float32"

    Returns
    -------
    torch.nn.Sequential
        :class:`Dense` and ``nn.ReLU`` layers; maps a (n, d_in) tensor to (n, d_out).
    """
    widths = checks.integers("widths", widths, minimum=1, min_length=2)
    parametrization = checks.choice("parametrization", parametrization, PARAMETRIZATIONS)
    weight_var = checks.positive("weight_var", weight_var)
    bias_var = checks.nonnegative("bias_var", bias_var)
    dtype = _dtype(dtype)
    generator = nets.seed_everything(seed)
    layers = []
    for l, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        W = torch.randn(fan_out, fan_in, generator=generator, dtype=torch.float64)
        b = torch.randn(fan_out, generator=generator, dtype=torch.float64) if bias_var else None
        w_scale, b_scale = math.sqrt(weight_var / fan_in), math.sqrt(bias_var)
        if parametrization == "standard":
            W, b = w_scale * W, (None if b is None else b_scale * b)
            w_scale = b_scale = 1.0
        layers.append(Dense(W.to(dtype), None if b is None else b.to(dtype), w_scale, b_scale))
        if l < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


# --- the empirical kernel ----------------------------------------------------------------


def _module(model):
    if not isinstance(model, nn.Module):
        _fail("model", "a torch.nn.Module", type(model).__name__)
    return model


def _state(model):
    """``(trainable, fixed)``: detached parameters to differentiate in, and the rest.

    Parameters with ``requires_grad=False`` and buffers are held fixed: they are not
    variables of the kernel.
    """
    trainable, fixed = {}, {}
    for name, p in model.named_parameters():
        (trainable if p.requires_grad else fixed)[name] = p.detach()
    fixed.update({name: b.detach() for name, b in model.named_buffers()})
    if not trainable:
        _fail("model", "a module with at least one parameter that requires grad", "none")
    return trainable, fixed


def _inputs(name, X, like, n_features=None):
    """``X`` as a (n, d) tensor of the dtype and device of ``like`` (a parameter), after
    :func:`generalization.checks.array`."""
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    X = checks.array(name, X, ndim=2)
    if n_features is not None and X.shape[1] != n_features:
        _fail(name, f"an array with {n_features} columns (as X1)", f"shape {X.shape}")
    return torch.as_tensor(X, dtype=like.dtype, device=like.device)


def _flat_outputs(model, fixed):
    """``f(params, X) -> (n, k)``: the model as a function of its trainable parameters."""

    def f(params, X):
        out = functional_call(model, {**fixed, **params}, (X,))
        return out.reshape(X.shape[0], -1)

    return f


def _jacobian(f, params, X):
    """``{name: (n, k, *shape)}``, the Jacobian of every output of every row of X."""
    one = lambda p, x: f(p, x[None])[0]  # noqa: E731  (a row x of shape (d,) -> (k,))
    return vmap(jacrev(one), in_dims=(None, 0))(params, X)


def _pairs(A, B, outputs):
    """``sum_p A[:, a, p] B[:, b, p]`` for A (n1, k, P), B (n2, k, P): for every pair of
    outputs, (n1, n2, k, k), or summed over the pairs a = b, (n1, n2)."""
    n1, k = A.shape[:2]
    n2 = B.shape[0]
    if outputs == "mean":  # (k, n1, P) @ (k, P, n2), summed over the outputs
        return torch.bmm(A.transpose(0, 1), B.permute(1, 2, 0)).sum(0)
    return (A.reshape(n1 * k, -1) @ B.reshape(n2 * k, -1).T).reshape(n1, k, n2, k)


def _contract(J1, J2, outputs):
    """``sum_p J1[p] J2[p]^T`` parameter by parameter: (n1, n2, k, k) or (n1, n2)."""
    total = None
    for name, a in J1.items():
        b = J2[name]
        part = _pairs(a.reshape(*a.shape[:2], -1), b.reshape(*b.shape[:2], -1), outputs)
        total = part if total is None else total + part
    return total if outputs == "mean" else total.permute(0, 2, 1, 3)


def _ntvp(f, params, X1, X2, outputs, max_bytes):
    """The kernel column block by column block: ``Theta[:, j] = J1 (J2[j]^T)`` by ``jvp``.

    For a block of rows of X2, their Jacobian rows ``g = grad f_b(x'_j)`` (one ``vjp`` each,
    through ``jacrev``) are pushed forward through the network at X1 (``jvp``), which gives
    ``J1 g = Theta(X1, x'_j)[:, :, b]`` without ever holding the Jacobian of X1.
    """
    n1, n2 = X1.shape[0], X2.shape[0]
    k = f(params, X2[:1]).shape[1]
    size = sum(p.numel() for p in params.values()) * X1.element_size()
    block = max(1, min(n2, max_bytes // max(1, k * size)))
    shape = (n1, n2) if outputs == "mean" else (n1, n2, k, k)
    out = torch.empty(shape, dtype=X1.dtype, device=X1.device)
    push = lambda t: jvp(lambda p: f(p, X1), (params,), (t,))[1]  # noqa: E731  (n1, k)
    for start in range(0, n2, block):
        rows = X2[start : start + block]
        c = rows.shape[0]
        J2 = _jacobian(f, params, rows)
        tangents = {name: g.reshape(c * k, *g.shape[2:]) for name, g in J2.items()}
        pushed = vmap(push)(tangents).reshape(c, k, n1, k)  # [j, b, i, a] = Theta[i, j, a, b]
        if outputs == "mean":
            out[:, start : start + c] = torch.diagonal(pushed, dim1=1, dim2=3).sum(-1).T
        else:
            out[:, start : start + c] = pushed.permute(2, 0, 3, 1)
    return out


def _affine_layers(model):
    """The :class:`Dense` and ``nn.Linear`` layers that hold every trainable parameter of
    ``model``, or None when some trainable parameter lives in another kind of module."""
    layers = [m for m in model.modules() if isinstance(m, (Dense, nn.Linear))]
    owned = {id(p) for m in layers for p in m.parameters(recurse=False)}
    if any(p.requires_grad and id(p) not in owned for p in model.parameters()):
        return None
    return [m for m in layers if any(p.requires_grad for p in m.parameters(recurse=False))]


def _scales(layer):
    """``(weight_scale^2 or 0, bias_scale^2 or 0)``: 0 for a frozen or absent parameter."""
    w, b = (layer.weight_scale, layer.bias_scale) if isinstance(layer, Dense) else (1.0, 1.0)
    w2 = w * w if layer.weight.requires_grad else 0.0
    b2 = b * b if layer.bias is not None and layer.bias.requires_grad else 0.0
    return w2, b2


def _factors(model, layers, X):
    """For each layer, its input ``a`` (n, fan_in) and ``delta = d f / d h`` of its output,
    (n, k, fan_out), from one forward pass and one backward pass per output; None when a
    layer is not called exactly once on a (n, fan_in) input (then the structure is not
    that of a feed-forward network of these layers)."""
    seen = {layer: [] for layer in layers}

    def hook(layer, inputs, output):
        a = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
        seen[layer].append((a, None if a is None else a._version, output))
        return output.clone()  # the network goes on with a copy: in-place ops leave h as it was

    handles = [layer.register_forward_hook(hook) for layer in layers]
    try:
        with torch.enable_grad():
            out = model(X).reshape(X.shape[0], -1)
    finally:
        for handle in handles:
            handle.remove()
    for calls in seen.values():  # one call each, on a (n, fan_in) input not changed in place
        if len(calls) != 1 or calls[0][0] is None or calls[0][0].ndim != 2:
            return None
        if calls[0][0]._version != calls[0][1]:
            return None
    inputs = [seen[layer][0][0].detach() for layer in layers]
    hidden = [seen[layer][0][2] for layer in layers]
    k = out.shape[1]
    deltas = [[] for _ in layers]
    for a in range(k):  # rows are independent: the gradient of the sum is each row's
        grads = torch.autograd.grad(
            out[:, a].sum(), hidden, retain_graph=a < k - 1, allow_unused=True
        )
        for store, g, h in zip(deltas, grads, hidden):
            store.append(torch.zeros_like(h) if g is None else g)  # None: h does not reach f
    return inputs, [torch.stack(d, dim=1) for d in deltas]


def _structured(layers, factors1, factors2, outputs):
    """``Theta = sum_l delta_l delta_l'^T (w_l^2 <a_l, a_l'> + b_l^2)``, layer by layer.

    For ``h = w W a + b beta``: ``d f / d W = w delta a^T`` and ``d f / d beta = b delta``,
    so a layer's part of the kernel is the entrywise product of two small Gram matrices (an
    instance of the structured derivatives of Novak et al. 2022): ``O(n1 n2 k^2 width)`` per
    layer instead of ``O(n1 n2 k^2 fan_in fan_out)``.
    """
    total = None
    for layer, a1, d1, a2, d2 in zip(layers, *factors1, *factors2):
        w2, b2 = _scales(layer)
        grams = _pairs(d1, d2, outputs)  # (n1, n2) or (n1, k, n2, k)
        inputs = a1 @ a2.T if outputs == "mean" else (a1 @ a2.T)[:, None, :, None]
        part = grams * (w2 * inputs + b2)
        total = part if total is None else total + part
    return total if outputs == "mean" else total.permute(0, 2, 1, 3)


def empirical_ntk(model, X1, X2=None, outputs="mean", implementation="auto", max_bytes=MAX_BYTES):
    """The neural tangent kernel of ``model`` at its current parameters.

    ``Theta(x, x') = <grad_theta f(x), grad_theta f(x')>``, the sum over every trainable
    parameter (those with ``requires_grad``; others and buffers are held fixed) of the
    products of the Jacobians. The rows of X are independent examples (no batch statistics).
    Three ways to compute it, equal to rounding, and a rule to choose:

    * ``"jacobian"``: the Jacobians of X1 and X2, ``torch.func.vmap(jacrev)`` over
      ``functional_call``, contracted parameter by parameter (``(n1 + n2) k P`` numbers held
      at once, ``P`` the number of parameters);
    * ``"ntvp"``: NTK-vector products, one block of X2 rows at a time: their Jacobian rows
      are pushed forward through the network at X1 by ``torch.func.jvp`` (``vmap`` over
      the rows), so that only a block's Jacobian, at most ``max_bytes``, is held;
    * ``"structured"``: for networks whose trainable parameters all sit in :class:`Dense`
      or ``nn.Linear`` layers, each called once per forward pass: each layer's part is
      ``(delta delta'^T) * (weight_scale^2 <a, a'> + bias_scale^2)``, from the layer's inputs
      ``a`` and the gradients ``delta`` of the network's outputs with respect to the layer's
      outputs (one backward pass per network output), without per-parameter Jacobians:
      about ``fan_in`` times cheaper, holding ``(n1 + n2) k`` numbers per hidden unit;
    * ``"auto"``: ``"structured"`` when the network allows it, else ``"jacobian"`` when its
      Jacobians take at most ``max_bytes``, else ``"ntvp"``.

    The methods are discussed by Novak, Sohl-Dickstein and Schoenholz (2022). The kernel is
    computed on the model's device and returned as a NumPy array.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a (n, d) tensor to (n,) or (n, k), row by row.
    X1 : array_like or Tensor, shape (n1, d)
    X2 : array_like or Tensor, shape (n2, d), optional
        Default X1; then the result is made exactly symmetric (the average of the computed
        kernel and its transpose).
    outputs : {"mean", "full"}, default "mean"
        ``"mean"``: ``(1/k) sum_a <grad f_a(x), grad f_a(x')>``, shape (n1, n2), the diagonal
        blocks of the full kernel averaged over the ``k`` outputs (for one output, the
        kernel); in the infinite-width limit the full kernel is this times the identity.
        ``"full"``: every pair of outputs, ``Theta[i, j, a, b] = <grad f_a(x_i), grad
        f_b(x'_j)>``, shape (n1, n2, k, k).
    implementation : {"auto", "jacobian", "ntvp", "structured"}, default "auto"
    max_bytes : int, default MAX_BYTES (256 MiB)

    Returns
    -------
    ndarray, shape (n1, n2) or (n1, n2, k, k)
        In the model's dtype. On X1 = X2 symmetric and positive semi-definite.

    Raises
    ------
    ValueError
        For bad input, and for ``"structured"`` on a network it does not apply to.

    References
    ----------
    Jacot, Gabriel, Hongler (2018), *Neural tangent kernel*, NeurIPS.
    Novak, Sohl-Dickstein, Schoenholz (2022), *Fast finite width neural tangent kernel*, ICML.
    """
    model = _module(model)
    outputs = checks.choice("outputs", outputs, OUTPUTS)
    implementation = checks.choice("implementation", implementation, IMPLEMENTATIONS)
    max_bytes = checks.count("max_bytes", max_bytes)
    params, fixed = _state(model)
    like = next(iter(params.values()))
    X1 = _inputs("X1", X1, like)
    symmetric = X2 is None
    X2 = X1 if symmetric else _inputs("X2", X2, like, X1.shape[1])
    with torch.no_grad():
        k = model(X1[:1]).numel()  # the number of outputs
    K = None
    if implementation in ("auto", "structured"):
        layers = _affine_layers(model)
        factors1 = None if layers is None else _factors(model, layers, X1)
        if factors1 is not None:
            factors2 = factors1 if symmetric else _factors(model, layers, X2)
            K = _structured(layers, factors1, factors2, outputs)
        elif implementation == "structured":
            _fail(
                "model",
                "a network whose trainable parameters all sit in Dense or nn.Linear layers, "
                "each called once on (n, fan_in) inputs, for implementation='structured'",
                "another kind",
            )
    if K is None:
        f = _flat_outputs(model, fixed)
        rows = X1.shape[0] + (0 if symmetric else X2.shape[0])
        size = sum(p.numel() for p in params.values()) * X1.element_size()
        if implementation == "auto":
            implementation = "jacobian" if rows * k * size <= max_bytes else "ntvp"
        if implementation == "jacobian":
            J1 = _jacobian(f, params, X1)
            K = _contract(J1, J1 if symmetric else _jacobian(f, params, X2), outputs)
        else:
            K = _ntvp(f, params, X1, X2, outputs, max_bytes)
    if outputs == "mean":  # the sum over the outputs so far
        K = K / k
    if symmetric:  # Theta[i, j, a, b] = Theta[j, i, b, a]
        K = (K + (K.T if outputs == "mean" else K.permute(1, 0, 3, 2))) / 2
    return K.detach().cpu().numpy()


# --- the infinite-width kernels ----------------------------------------------------------


def _relu_moments(cov, norm):
    """``(E[relu(u) relu(v)], P(u > 0, v > 0))`` for covariance ``cov`` and ``norm`` =
    ``sqrt(var_u var_v)``; both 0 where a variance is 0 (then u or v is identically 0)."""
    positive = norm > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.clip(np.where(positive, cov / np.where(positive, norm, 1.0), 0.0), -1.0, 1.0)
    angle = np.arccos(rho)
    relu = norm * (np.sqrt(1.0 - rho * rho) + (np.pi - angle) * rho) / (2 * np.pi)  # kappa_1/2
    step = np.where(positive, (np.pi - angle) / (2 * np.pi), 0.0)  # kappa_0 / 2
    return relu, step


def _inputs_pair(X1, X2):
    X1 = checks.array("X1", X1, ndim=2)
    if X2 is None:
        return X1, None
    X2 = checks.array("X2", X2, ndim=2)
    if X2.shape[1] != X1.shape[1]:
        _fail("X2", f"an array with {X1.shape[1]} columns (as X1)", f"shape {X2.shape}")
    return X1, X2


BLOCK_ROWS = 1024
"""Rows of X1 per block in :func:`relu_kernels` (memory: a few blocks of (1024, n2))."""


def relu_kernels(X1, X2, depth, weight_var=2.0, bias_var=0.0):
    """The NNGP kernel and the NTK of an infinitely wide :func:`mlp` with ``depth`` hidden layers.

    The recursion of the module docstring (Lee et al. 2018 for ``Sigma``, Jacot et al. 2018
    and Arora et al. 2019 for ``Theta``; the ReLU expectations are the arc-cosine kernels of
    Cho and Saul 2009), in float64, ``BLOCK_ROWS`` rows of X1 at a time. The correlation is
    clipped to [-1, 1]; the variances ``Sigma^l(x, x)`` follow their own recursion
    ``Sigma^{l+1}(x, x) = weight_var / 2 * Sigma^l(x, x) + bias_var`` (``rho = 1``), and with
    ``X2 = None`` the diagonal of both kernels is set from it, free of the arc cosine's
    rounding near 1.

    These are the limits for :func:`mlp` in the NTK parametrization (its empirical NTK
    converges to ``Theta`` as the widths grow, at rate ``1 / sqrt(width)``); in the standard
    parametrization the output covariance has the same limit but the NTK grows with width.
    Arora et al. (2019) put ``sqrt(c_sigma / N_l)``, ``c_sigma = 2``, after the activation,
    leave the first layer unscaled and have no biases; their kernels are these (with
    ``weight_var = 2``, ``bias_var = 0``) times ``d_in / 2``, the ReLU being homogeneous.

    Parameters
    ----------
    X1 : array_like, shape (n1, d)
    X2 : array_like, shape (n2, d), or None
        None: X1 (a symmetric kernel, exact diagonal).
    depth : int, non-negative
        The number of hidden layers (0: the linear model, ``Sigma = Theta = Sigma^1``).
    weight_var : float, positive, default 2.0
    bias_var : float, non-negative, default 0.0

    Returns
    -------
    nngp : ndarray, shape (n1, n2)
        ``Sigma^{depth+1}``, the covariance of one output at initialization.
    ntk : ndarray, shape (n1, n2)
        ``Theta^{depth+1}``.

    References
    ----------
    Cho, Saul (2009), *Kernel methods for deep learning*, NeurIPS.
    Jacot, Gabriel, Hongler (2018), *Neural tangent kernel*, NeurIPS (the limit at initialization).
    Lee et al. (2018), *Deep neural networks as Gaussian processes*, ICLR.
    Arora et al. (2019), *On exact computation with an infinitely wide neural net*, NeurIPS
    (the fully connected NTK).
    """
    X1, X2 = _inputs_pair(X1, X2)
    depth = checks.count("depth", depth, minimum=0)
    weight_var = checks.positive("weight_var", weight_var)
    bias_var = checks.nonnegative("bias_var", bias_var)
    symmetric = X2 is None
    Z = X1 if symmetric else X2
    d = X1.shape[1]
    var1 = weight_var * np.einsum("ij,ij->i", X1, X1) / d + bias_var  # Sigma^1(x, x)
    var2 = var1 if symmetric else weight_var * np.einsum("ij,ij->i", Z, Z) / d + bias_var
    nngp = np.empty((X1.shape[0], Z.shape[0]))
    ntk = np.empty_like(nngp)
    for start in range(0, X1.shape[0], BLOCK_ROWS):
        rows = slice(start, start + BLOCK_ROWS)
        cov = weight_var * (X1[rows] @ Z.T) / d + bias_var  # Sigma^1
        v1, v2 = var1[rows], var2
        diagonal = (np.arange(cov.shape[0]), np.arange(start, start + cov.shape[0]))
        if symmetric:
            cov[diagonal] = v1
        theta = cov.copy()
        for _ in range(depth):
            relu, step = _relu_moments(cov, np.sqrt(np.outer(v1, v2)))
            if symmetric:  # rho = 1: E[relu(u)^2] = var / 2, P(u > 0) = 1/2 (0 if var = 0)
                relu[diagonal] = v1 / 2
                step[diagonal] = np.where(v1 > 0, 0.5, 0.0)
            cov = weight_var * relu + bias_var
            theta = cov + weight_var * step * theta
            v1 = weight_var * v1 / 2 + bias_var
            v2 = weight_var * v2 / 2 + bias_var
        nngp[rows], ntk[rows] = cov, theta
    return nngp, ntk


def relu_nngp(X1, X2, depth, weight_var=2.0, bias_var=0.0):
    """The NNGP kernel ``Sigma^{depth+1}`` of :func:`relu_kernels` (the output covariance at
    initialization of an infinitely wide :func:`mlp`). Shape (n1, n2)."""
    return relu_kernels(X1, X2, depth, weight_var, bias_var)[0]


def relu_ntk(X1, X2, depth, weight_var=2.0, bias_var=0.0):
    """The NTK ``Theta^{depth+1}`` of :func:`relu_kernels` (the limit of :func:`empirical_ntk` of
    :func:`mlp` in the NTK parametrization). Shape (n1, n2)."""
    return relu_kernels(X1, X2, depth, weight_var, bias_var)[1]


# --- linearization and gradient descent --------------------------------------------------


class Linearized(nn.Module):
    """The first-order Taylor model of a network about its parameters ``theta_0``.

    ``f_lin(x; theta) = f(x; theta_0) + J(x; theta_0) (theta - theta_0)`` with
    ``J = d f / d theta``, evaluated in one ``torch.func.jvp`` (the output and the directional
    derivative along ``theta - theta_0`` together). Made by :func:`linearize`; its parameters
    (``theta``, one per trainable parameter of the network, in the same order) start at
    ``theta_0`` and are what an optimizer moves. Its NTK is the network's NTK at ``theta_0``,
    whatever ``theta`` is.
    """

    def __init__(self, model):
        super().__init__()
        model = copy.deepcopy(_module(model))
        params, fixed = _state(model)
        self._names, self._fixed_names = tuple(params), tuple(fixed)
        self._base = [model]  # in a list: the network is not a submodule, its weights not ours
        self.theta = nn.ParameterList([nn.Parameter(p.clone()) for p in params.values()])
        for i, p in enumerate(params.values()):
            self.register_buffer(f"theta0_{i}", p.clone())
        for i, b in enumerate(fixed.values()):  # frozen parameters and buffers, as buffers
            self.register_buffer(f"fixed_{i}", b.clone())

    def theta0(self):
        """``{name: theta_0}``, the parameters linearized about, by the network's names."""
        return {name: getattr(self, f"theta0_{i}") for i, name in enumerate(self._names)}

    def forward(self, X):
        """``f(X; theta_0) + J(X; theta_0) (theta - theta_0)``, shaped like the network's output."""
        theta0 = self.theta0()
        fixed = {name: getattr(self, f"fixed_{i}") for i, name in enumerate(self._fixed_names)}
        delta = {name: p - theta0[name] for name, p in zip(self._names, self.theta)}
        f = lambda p: functional_call(self._base[0], {**fixed, **p}, (X,))  # noqa: E731
        out, change = jvp(f, (theta0,), (delta,))  # f(theta_0), J(theta_0) (theta - theta_0)
        return out + change


def linearize(model):
    """The first-order Taylor model of ``model`` about its current parameters.

    The network is copied: training either one later leaves the other as it is.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    Linearized
        A module mapping X like ``model`` does: ``f(X; theta_0) + J(X; theta_0)(theta -
        theta_0)``, equal to ``model(X)`` until its parameters move.

    References
    ----------
    Lee et al. (2019), *Wide neural networks of any depth evolve as linear models under
    gradient descent*, NeurIPS (the linearized network and its dynamics).
    """
    return Linearized(model)


def _targets(name, y, n=None):
    y = checks.array(name, y, ndim=(1, 2))
    if n is not None and y.shape[0] != n:
        _fail(name, f"an array with {n} rows", f"shape {y.shape}")
    return y


def gradient_descent(model, X, y, lr, steps, X_test=None):
    """Full-batch gradient descent on the squared loss, in place, recording predictions.

    ``theta <- theta - lr * grad L(theta)`` with ``L = 1/(2n) sum_i ||f(x_i) - y_i||^2`` over
    the trainable parameters of ``model`` (a network, or its :func:`linearize`), by
    ``torch.autograd``, in the model's dtype.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place.
    X : array_like, shape (n, d)
    y : array_like, shape (n,) or (n, k)
        With shape (n,) the model has one output.
    lr : float, positive
    steps : sequence of int
        The step counts at which to record the predictions (0: before training), in any
        order; the run stops at the largest.
    X_test : array_like, shape (m, d), optional

    Returns
    -------
    train : ndarray, shape (len(steps),) + y.shape
        ``f_t(X)`` for each ``t`` in ``steps``, float64.
    test : ndarray, shape (len(steps), m) or (len(steps), m, k), or None
    """
    model = _module(model)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        _fail("model", "a module with at least one parameter that requires grad", "none")
    dtype = params[0].dtype
    X = _inputs("X", X, params[0])
    y = _targets("y", y, X.shape[0])
    X_test = None if X_test is None else _inputs("X_test", X_test, params[0], X.shape[1])
    lr = checks.positive("lr", lr)
    steps = checks.integers("steps", steps, minimum=0)
    target = torch.as_tensor(y.reshape(len(y), -1), dtype=dtype, device=X.device)
    n = X.shape[0]
    kept = {}
    for t in range(max(steps) + 1):
        out = model(X).reshape(n, -1)
        if out.shape != target.shape:
            _fail(
                "y", f"an array matching the outputs, shape {tuple(out.shape)}", f"shape {y.shape}"
            )
        if t in steps:
            test = None
            if X_test is not None:
                with torch.no_grad():
                    test = model(X_test).reshape(X_test.shape[0], *y.shape[1:])
                    test = test.double().cpu().numpy()
            kept[t] = (out.detach().reshape(y.shape).double().cpu().numpy(), test)
        if t == max(steps):
            break
        loss = ((out - target) ** 2).sum() / (2 * n)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= lr * g
    train = np.array([kept[t][0] for t in steps])
    return train, (None if X_test is None else np.array([kept[t][1] for t in steps]))


def _decay_sums(u, steps):
    """``(1 - u)^t`` and ``s_t(u) = sum_{j<t} (1 - u)^j = (1 - (1 - u)^t) / u``, shape
    (len(steps), len(u)), accurate for small ``|u|`` (``expm1``/``log1p``) and ``s_t(0) = t``."""
    t = np.asarray(steps, dtype=float)[:, None]
    small = np.abs(u) < 0.5
    safe = np.where(small, u, 0.0)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        log = t * np.log1p(-safe)  # (1 - u)^t = exp(t log(1 - u)) for |u| < 1/2
        power = np.where(small, np.exp(log), (1.0 - u) ** t)
        ratio = np.where(u != 0, -np.expm1(log) / np.where(u != 0, u, 1.0), t)
        sums = np.where(small, ratio, (1.0 - power) / np.where(small, 1.0, u))
    return power, sums


def gd_predictions(theta_train, theta_test, f0_train, f0_test, y_train, lr, steps):
    """Predictions of the linearized network after ``t`` steps of gradient descent, in closed form.

    For the linear model ``f(x) = f_0(x) + J(x) (theta - theta_0)`` and the loss
    ``L = 1/(2n) sum_i ||f(x_i) - y_i||^2``, one full-batch step maps the training residual
    ``r = f(X) - y`` to ``(I - lr Theta / n) r``, with ``Theta = J(X) J(X)^T`` the NTK on the
    training set, and moves a test output by ``-lr/n Theta(x, X) r``. Hence, with
    ``A = I - lr Theta / n`` and ``r_0 = f_0(X) - y``::

        f_t(X) = y + A^t r_0
        f_t(x) = f_0(x) - lr/n Theta(x, X) (I + A + ... + A^{t-1}) r_0
               = f_0(x) - Theta(x, X) Theta^{-1} (I - A^t) r_0        (Theta invertible)

    evaluated in the eigenbasis of ``Theta`` (``numpy.linalg.eigh``), so a singular ``Theta``
    and any step size are handled exactly: an eigenvalue ``lambda`` contributes the factors
    ``(1 - u)^t`` and ``lr/n * sum_{j<t} (1 - u)^j`` with ``u = lr lambda / n`` (``t lr / n``
    at ``lambda = 0``). Lee et al. (2019) write the same dynamics in continuous time, where
    ``(1 - u)^t`` becomes ``exp(-u t)``. The training residual converges when every ``u`` is
    below 2, i.e. ``lr < 2 n / lambda_max``; it oscillates in sign along eigenvectors with
    ``u > 1``.

    Parameters
    ----------
    theta_train : array_like, shape (n, n) or (n, n, k, k)
        The NTK on the training inputs: one kernel shared by the ``k`` outputs (the
        infinite-width case, or :func:`empirical_ntk` with ``outputs="mean"``, then an
        approximation), or the full kernel of every pair of outputs (``outputs="full"``,
        exact for the linearized network). Symmetric to within ``1e-8`` of its largest
        entry; its symmetric part is used.
    theta_test : array_like, shape (m, n) or (m, n, k, k), or None
        ``Theta(x_test, x_train)``, laid out like ``theta_train``.
    f0_train : array_like, shape (n,) or (n, k)
        The outputs at initialization; zeros give the mean over initializations of an
        infinitely wide network.
    f0_test : array_like, shape (m,) or (m, k), or None
    y_train : array_like, shape of f0_train
    lr : float, positive
    steps : sequence of int
        Step counts, non-negative.

    Returns
    -------
    train : ndarray, shape (len(steps),) + y_train.shape
    test : ndarray, shape (len(steps),) + f0_test.shape, or None

    References
    ----------
    Lee et al. (2019), *Wide neural networks of any depth evolve as linear models under
    gradient descent*, NeurIPS (the linearized network and its dynamics).
    Jacot, Gabriel, Hongler (2018), *Neural tangent kernel*, NeurIPS (least-squares regression).
    """
    y = _targets("y_train", y_train)
    n = y.shape[0]
    k = 1 if y.ndim == 1 else y.shape[1]
    f0 = _targets("f0_train", f0_train, n)
    if f0.shape != y.shape:
        _fail("f0_train", f"an array of the shape of y_train {y.shape}", f"shape {f0.shape}")
    full = (n, n, k, k)
    K = checks.array("theta_train", theta_train, ndim=(2, 4))
    if K.shape not in ((n, n), full):
        _fail("theta_train", f"an array of shape {(n, n)} or {full}", f"shape {K.shape}")
    shared = K.ndim == 2
    if (theta_test is None) != (f0_test is None):
        _fail("theta_test and f0_test", "both given or both None", "one of them")
    lr = checks.positive("lr", lr)
    steps = checks.integers("steps", steps, minimum=0)
    r0 = (f0 - y).reshape(n, k)
    if not shared:  # rows and columns indexed by (example, output): (n k, n k)
        K = K.transpose(0, 2, 1, 3).reshape(n * k, n * k)
        r0 = r0.reshape(n * k, 1)
    scale = max(float(np.max(np.abs(K))), np.finfo(float).tiny)
    if np.max(np.abs(K - K.T)) > 1e-8 * scale:
        _fail("theta_train", "a symmetric kernel", "an array that is not")
    lam, V = np.linalg.eigh((K + K.T) / 2)
    power, sums = _decay_sums(lr * lam / n, steps)  # (len(steps), len(lam))
    coeff = V.T @ r0  # r_0 in the eigenbasis
    train = y.reshape(n, k).reshape(r0.shape) + np.einsum("ij,tj,jk->tik", V, power, coeff)
    train = train.reshape((len(steps),) + y.shape)
    if theta_test is None:
        return train, None
    f0_test = _targets("f0_test", f0_test)
    m = f0_test.shape[0]
    if f0_test.shape[1:] != y.shape[1:]:
        _fail(
            "f0_test",
            f"an array with rows of the shape of y_train's {y.shape[1:]}",
            f"shape {f0_test.shape}",
        )
    wanted = (m, n) if shared else (m, n, k, k)
    T = checks.array("theta_test", theta_test, ndim=(2, 4))
    if T.shape != wanted:
        _fail("theta_test", f"an array of shape {wanted}", f"shape {T.shape}")
    if not shared:
        T = T.transpose(0, 2, 1, 3).reshape(m * k, n * k)
    moved = np.einsum("ij,tj,jk->tik", T @ V, (lr / n) * sums, coeff)  # lr/n Theta(x,X) S_t r_0
    test = f0_test.reshape(moved.shape[1:]) - moved
    return train, test.reshape((len(steps),) + f0_test.shape)

"""Lottery tickets by construction: pruning a random ReLU network until it computes a target.

The *strong* lottery ticket hypothesis says that a large enough random network contains a
subnetwork that, without any training, approximates a given target network. Malach,
Yehudai, Shalev-Shwartz and Shamir (2020) prove it by a construction, and Pensia, Rajput,
Nagle, Vishwakarma and Papailiopoulos (2020) make it exponentially cheaper; this module
builds both constructions explicitly, for a target ReLU MLP such as ``nets.mlp`` builds.

One target layer, two random layers
    A target layer ``z = W h + b`` (``W`` of shape ``(d_out, d_in)``) is replaced by two
    random layers ``U`` (``(m, d_in)``, with biases ``c``) and ``V`` (``(d_out, m)``) with a
    ReLU between them, ``m = (d_in + 1) * n``: a block of ``n`` hidden neurons per input
    coordinate ``j`` and, when the target has biases, one more block for the bias. Pruning
    keeps in block ``j`` only the weights ``U[t, j]`` from input ``j`` (no bias), so neuron
    ``t`` computes ``relu(U[t, j] h_j)``. With the identity ``h = relu(h) - relu(-h)``, the
    neurons with ``U[t, j] > 0`` see ``h_j > 0`` and those with ``U[t, j] < 0`` see ``h_j < 0``;
    keeping the second-layer weights ``V[k, t]`` of a subset ``S+`` of the first kind and
    ``S-`` of the second, output ``k`` receives

        (sum_{t in S+} V[k, t] U[t, j]) relu(h_j) - (sum_{t in S-} V[k, t] U[t, j]) relu(-h_j),

    which is ``W[k, j] h_j`` up to the error of the two sums of products as approximations of
    ``W[k, j]``. The bias block keeps its first-layer biases ``c_t > 0`` and no weights, so its
    neuron outputs the constant ``c_t``, and a subset sum of ``V[k, t] c_t`` approximates
    ``b_k`` (the usual reduction of a bias to a constant input). All biases of ``V`` are
    pruned; the target's ReLU follows ``V``. A target of depth ``l`` becomes a random network
    of depth ``2 l`` (:func:`random_network`), and no weight is ever changed: the result is a
    masked copy of the random network.
The product construction (``method="product"``, Malach et al. 2020)
    keeps one product per sign: the ``t`` minimizing ``|W[k, j] - V[k, t] U[t, j]|`` (or none,
    when leaving the weight out is closer). With weights uniform on ``[-1, 1]`` one product
    lands within ``delta`` of ``w`` with probability of order ``delta`` per sample, so about
    ``n ~ (1/delta) log(1/failure)`` neurons per block are needed: polynomial width.
The SubsetSum construction (``method="subset_sum"``, Pensia et al. 2020)
    keeps the subset of the products whose sum is closest to ``W[k, j]``, found exactly by
    :func:`best_subsets`. Lueker (1998) showed that ``n = O(log(1/delta))`` uniform samples
    approximate every value in ``[-1, 1]`` by a subset sum within ``delta`` with high
    probability (the random SubsetSum result Pensia et al. build on): logarithmic width.
    Orseau, Hutter and Rivasplata (2020) reach logarithmic width differently, with a
    hyperbolic weight distribution; that construction is not built here.

Widths
    Both constructions use the one block layout above, so they differ only in how many
    products each weight keeps; the random network has ``n`` times the target's inputs (plus
    one) neurons in each odd layer (:func:`random_widths`). The neurons' signs are random, so
    about ``n/2`` of a block serve each sign of the input, and an unlucky split leaves a few
    weights poorly approximated: the worst weight sets the sup error. Measured on small
    ``nets.mlp`` targets (median per-weight error over weights and networks): SubsetSum about
    1e-1 at ``n = 8``, 1e-3 at ``n = 24``; one product about 1e-1 at ``n = 8``, 6e-3 at
    ``n = 256``. The cost of :func:`best_subsets` grows as ``2**(n/4)`` per weight here (meet
    in the middle over the ``n/2`` products of one sign), so ``n`` up to about 40 is cheap.
What is exact and what is not
    The subset chosen for each weight is the exact optimum over all ``2**n`` subsets
    (meet in the middle), not an approximation of it. The error bound of
    :func:`error_bound` is a rigorous bound in exact arithmetic over the box
    ``||x||_inf <= radius``, computed from the errors the construction actually achieved
    (not from the papers' high-probability rates, whose constants they leave open); the
    network itself computes in its own floating point (in float32 add rounding of relative
    size about 1e-6). The widths the papers prove sufficient are statements with high
    probability; here the achieved error of a given random network is measured.

References
----------
Malach, Yehudai, Shalev-Shwartz, Shamir (2020), *Proving the lottery ticket hypothesis:
pruning is all you need*, ICML (one product per weight, the ``x = relu(x) - relu(-x)``
identity, random weights uniform on ``[-1, 1]``, a random network twice as deep).
Pensia, Rajput, Nagle, Vishwakarma, Papailiopoulos (2020), *Optimal lottery tickets via
SubsetSum: logarithmic over-parameterization is sufficient*, NeurIPS (a subset sum of
products per weight; Lueker's theorem; width a factor ``O(log(d l))`` of the target's).
Lueker (1998), *Exponentially small bounds on the expected optimum of the partition and
subset sum problems*, Random Structures and Algorithms.
Orseau, Hutter, Rivasplata (2020), *Logarithmic pruning is all you need*, NeurIPS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import checks

_MAX_ITEMS = 40
_METHODS = ("subset_sum", "product")


def _fail(name, wanted, got):
    raise ValueError(f"{name} must be {wanted}; got {got}.")


# ------------------------------------------------------------------------- subset sums


def _enumerate(values):
    """All subset sums of the columns of ``values`` (B, h): shape (B, 2**h), subset s holds
    item i when bit i of s is set (built by doubling: the sums without item i, then with)."""
    B, h = values.shape
    sums = np.zeros((B, 1), dtype=values.dtype)
    for i in range(h):
        sums = np.concatenate([sums, sums + values[:, i : i + 1]], axis=1)
    bits = (np.arange(2**h)[:, None] >> np.arange(h)[None, :]) & 1
    return sums, bits.astype(bool)


def best_subsets(values, targets):
    """The subset of each row of ``values`` whose sum is closest to its target, exactly.

    Meet in the middle (Horowitz and Sahni 1974): the ``2**(n/2)`` sums of each half are
    enumerated, one half sorted, and for every sum ``a`` of the other half the sorted sums
    nearest ``target - a`` are found by binary search (``torch.searchsorted``, batched over
    rows). Time ``O(B 2**(n/2) n)``; exact for ``n`` up to 40.

    Parameters
    ----------
    values : array_like of shape (B, n) or (n,)
        B instances of n items each (float64 internally).
    targets : array_like of shape (B,) or scalar

    Returns
    -------
    chosen : ndarray of bool, shape (B, n) (or (n,))
        The optimal subset (the empty subset included; among equally good subsets, one).
    errors : ndarray of shape (B,) (or a float)
        ``|target - sum(values[chosen])|``, the minimum over all ``2**n`` subsets.
    """
    import torch

    values = checks.array("values", values, ndim=(1, 2))
    single = values.ndim == 1
    values = values.reshape(1, -1) if single else values
    targets = checks.array("targets", np.atleast_1d(targets), ndim=1)
    B, n = values.shape
    if targets.shape[0] != B:
        _fail("targets", f"one target per row of values ({B})", f"{targets.shape[0]}")
    if n > _MAX_ITEMS:
        _fail("values", f"at most {_MAX_ITEMS} items per instance", f"{n}")
    h1 = n // 2
    chosen = np.zeros((B, n), dtype=bool)
    step = max(1, 2**22 // 2 ** (n - h1))
    for start in range(0, B, step):
        rows = slice(start, min(B, start + step))
        left, left_bits = _enumerate(values[rows, :h1])  # (b, 2**h1)
        right, right_bits = _enumerate(values[rows, h1:])  # (b, 2**h2)
        order = np.argsort(right, axis=1, kind="stable")
        right_sorted = np.take_along_axis(right, order, axis=1)
        need = targets[rows, None] - left
        place = torch.searchsorted(torch.from_numpy(right_sorted), torch.from_numpy(need)).numpy()
        below = np.clip(place - 1, 0, right.shape[1] - 1)
        above = np.clip(place, 0, right.shape[1] - 1)
        err_below = np.abs(need - np.take_along_axis(right_sorted, below, axis=1))
        err_above = np.abs(need - np.take_along_axis(right_sorted, above, axis=1))
        partner = np.where(err_below <= err_above, below, above)
        err = np.minimum(err_below, err_above)
        best_left = np.argmin(err, axis=1)
        pick = np.arange(best_left.shape[0])
        best_right = order[pick, partner[pick, best_left]]
        chosen[rows, :h1] = left_bits[best_left]
        chosen[rows, h1:] = right_bits[best_right]
    errors = np.abs(targets - np.where(chosen, values, 0.0).sum(axis=1))
    return (chosen[0], float(errors[0])) if single else (chosen, errors)


def _best_single(values, targets):
    """At most one item per row: the one closest to the target, or none when 0 is closer."""
    gaps = np.abs(targets[:, None] - values)
    best = np.argmin(gaps, axis=1)
    rows = np.arange(values.shape[0])
    use = gaps[rows, best] < np.abs(targets)
    chosen = np.zeros(values.shape, dtype=bool)
    chosen[rows[use], best[use]] = True
    return chosen


# ------------------------------------------------------------------- target and random


def _layers(name, net):
    """The Linear layers of a ReLU MLP, checking that exactly one ReLU separates them."""
    import torch.nn as nn

    if not isinstance(net, nn.Sequential):
        _fail(name, "a ReLU MLP as a torch.nn.Sequential (e.g. nets.mlp)", type(net).__name__)
    linears, relus = [], []
    for module in net:
        if isinstance(module, nn.Linear):
            if linears and relus[-1] != 1:
                _fail(name, "a ReLU MLP with one ReLU between Linear layers", f"{relus[-1]}")
            linears.append(module)
            relus.append(0)
        elif isinstance(module, nn.ReLU):
            if not linears:
                _fail(name, "a ReLU MLP that starts with a Linear layer", "a ReLU first")
            relus[-1] += 1
        elif not isinstance(module, (nn.Dropout, nn.Identity)):
            _fail(name, "a ReLU MLP of Linear and ReLU layers", f"a {type(module).__name__}")
    if not linears:
        _fail(name, "a ReLU MLP with at least one Linear layer", "none")
    if relus[-1]:
        _fail(name, "a ReLU MLP whose last layer is Linear", "a ReLU after it")
    return linears


def random_widths(target, n):
    """The hidden widths of the random network for ``target``: ``(m_1, d_1, m_2, ..., m_l)``
    with ``m_i = (d_{i-1} + 1) * n_i`` (``+ 1`` only when target layer ``i`` has a bias).

    Parameters
    ----------
    target : torch.nn.Sequential, a ReLU MLP
    n : int or sequence of int
        Neurons per input coordinate (per block), one number or one per target layer.

    Returns
    -------
    tuple of int, length ``2 l - 1``
    """
    linears = _layers("target", target)
    ns = _per_layer(n, len(linears))
    widths = []
    for i, (layer, n_i) in enumerate(zip(linears, ns)):
        widths.append((layer.in_features + (layer.bias is not None)) * n_i)
        if i < len(linears) - 1:
            widths.append(layer.out_features)
    return tuple(widths)


def _per_layer(n, count):
    if isinstance(n, (list, tuple, np.ndarray)):
        ns = checks.integers("n", n, minimum=1)
        if len(ns) != count:
            _fail("n", f"one positive integer or {count} of them (one per layer)", repr(n))
        return ns
    return (checks.count("n", n),) * count


def random_network(target, n, seed=0, scale=1.0):
    """The random network whose pruning approximates ``target``: depth ``2 l``, weights and
    biases i.i.d. uniform on ``[-scale, scale]``.

    Built by ``nets.mlp`` with the widths of :func:`random_widths` (so it is a plain
    ``Sequential`` of Linear and ReLU layers), then every parameter is redrawn from a
    ``torch.Generator`` seeded with ``seed``. Uniform on ``[-1, 1]`` is the distribution of
    both papers; ``scale`` widens it for targets with weights beyond what sums of products
    of size ``scale**2`` reach.

    Parameters
    ----------
    target : torch.nn.Sequential, a ReLU MLP
    n : int or sequence of int
        Neurons per block (see the module docstring): the product construction needs of the
        order of ``1/delta`` of them for a per-weight error ``delta``, the SubsetSum one of
        the order of ``log(1/delta)`` (``n`` from 8 to 24 is the useful range of the latter).
    seed : int
    scale : float > 0

    Returns
    -------
    torch.nn.Sequential
        In the dtype of ``target``'s parameters.
    """
    import torch

    from .nets import mlp

    linears = _layers("target", target)
    seed = checks.count("seed", seed, minimum=0)
    scale = checks.positive("scale", scale)
    widths = random_widths(target, n)
    dtype = linears[0].weight.dtype
    net = mlp(linears[0].in_features, widths, linears[-1].out_features, seed=seed).to(dtype)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_((torch.rand(p.shape, generator=generator, dtype=dtype) * 2 - 1) * scale)
    return net


# ----------------------------------------------------------------------- the construction


@dataclass
class Approximation:
    """A pruned random network that approximates a target.

    ``masks`` maps every parameter name of the random network (weights and biases) to a bool
    tensor (True = kept); ``pruned`` is the masked copy. ``weight_errors[i]`` (shape
    ``(d_out, d_in)``) holds, for target layer ``i``, ``max(|S+ - w|, |S- - w|)`` for each
    weight (the sums of the kept products for positive and negative inputs);
    ``bias_errors[i]`` (shape ``(d_out,)``) the error of each bias (zeros when the target has
    none). ``bound`` is :func:`error_bound` at ``radius``; ``kept`` the number of nonzero
    parameters of the pruned network.
    """

    masks: dict
    pruned: object
    weight_errors: list
    bias_errors: list
    bound: float
    radius: float
    method: str
    kept: int


def _block_layer(name, U, V, layer, n):
    """Check that random layers U, V fit target layer ``layer`` with blocks of n."""
    d_in, d_out = layer.in_features, layer.out_features
    m = (d_in + (layer.bias is not None)) * n
    if tuple(U.weight.shape) != (m, d_in) or tuple(V.weight.shape) != (d_out, m):
        _fail(
            name,
            f"layers of shapes {(m, d_in)} and {(d_out, m)} for a target layer {(d_out, d_in)}",
            f"{tuple(U.weight.shape)} and {tuple(V.weight.shape)}",
        )
    if layer.bias is not None and U.bias is None:
        _fail(name, "a network with biases in its odd layers (for the target's biases)", "none")


def _select(products, available, targets, method):
    """For each target entry, the kept subset of its available products and its error.

    ``products`` and ``available`` have shape (..., n), ``targets`` the shape (...). The
    available items of each row are moved to the front and the rows cut to the largest
    number available (padding with zeros, which never change a sum), so the solver sees
    about n/2 items, not n.
    """
    shape, n = products.shape, products.shape[-1]
    values = products.reshape(-1, n)
    mask = available.reshape(-1, n)
    order = np.argsort(~mask, axis=1, kind="stable")
    width = int(mask.sum(axis=1).max())
    if method == "subset_sum" and width > _MAX_ITEMS:
        _fail(
            "random_net",
            f"blocks with at most {_MAX_ITEMS} neurons of one sign for method='subset_sum'",
            f"{width} (use a smaller n)",
        )
    chosen = np.zeros(values.shape, dtype=bool)
    flat = targets.reshape(-1)
    if width:
        front = np.where(mask, values, 0.0)
        front = np.take_along_axis(front, order[:, :width], axis=1)
        pick = best_subsets(front, flat)[0] if method == "subset_sum" else _best_single(front, flat)
        np.put_along_axis(chosen, order[:, :width], pick, axis=1)
        chosen &= mask
    errors = np.abs(np.where(chosen, values, 0.0).sum(axis=1) - flat)
    return chosen.reshape(shape), errors.reshape(targets.shape)


def _approximate_layer(layer, U, V, method):
    """Masks of U (weight, bias), V (weight, bias) and the errors for one target layer."""
    d_out, d_in = layer.weight.shape
    has_bias = layer.bias is not None
    blocks = d_in + has_bias
    n = U.weight.shape[0] // blocks
    W = layer.weight.detach().double().numpy()
    Uw = U.weight.detach().double().numpy()
    Vw = V.weight.detach().double().numpy().reshape(d_out, blocks, n)
    # u[j, t]: the first-layer weight of neuron t of block j from input j
    u = np.stack([Uw[j * n : (j + 1) * n, j] for j in range(d_in)])
    if has_bias:
        c = U.bias.detach().double().numpy()[d_in * n :]
        u = np.vstack([u, np.maximum(c, 0.0)])  # a bias neuron outputs relu(c_t)
    products = Vw * u[None]  # (d_out, blocks, n)
    positive = np.broadcast_to(u[None] > 0, products.shape)
    negative = np.broadcast_to(u[None] < 0, products.shape)
    targets = W if not has_bias else np.hstack([W, layer.bias.detach().double().numpy()[:, None]])
    # S+ over the neurons with a positive weight (and the bias neurons with c_t > 0), S- over
    # those with a negative one; both approximate the same target weight
    plus, err_plus = _select(products, positive, targets, method)
    minus, err_minus = _select(products[:, :d_in], negative[:, :d_in], W, method)
    keep_V = plus.copy()
    keep_V[:, :d_in] |= minus
    bias_error = err_plus[:, d_in] if has_bias else np.zeros(d_out)
    used = keep_V.any(axis=0)  # (blocks, n): neurons some output listens to
    keep_U = np.zeros(Uw.shape, dtype=bool)
    for j in range(d_in):
        keep_U[j * n : (j + 1) * n, j] = used[j]
    keep_c = np.zeros(Uw.shape[0], dtype=bool)
    if has_bias:
        keep_c[d_in * n :] = used[d_in]
    return (
        keep_U,
        keep_c,
        keep_V.reshape(d_out, blocks * n),
        np.maximum(err_plus[:, :d_in], err_minus),
        bias_error,
    )


def error_bound(target, weight_errors, bias_errors, radius=1.0):
    """A guaranteed bound on ``max_k |f(x)_k - g(x)_k|`` over all ``||x||_inf <= radius``.

    ``f`` is the target, ``g`` a network whose layer ``i`` computes, for its input ``h``,
    ``W h + b + e(h)`` with ``|e(h)_k| <= sum_j E[k, j] |h_j| + e_b[k]`` (``E`` the weight
    errors, ``e_b`` the bias errors), which is what the blocks of the construction compute.
    With ``D_i`` the bound on ``||g_i - f_i||_inf`` after layer ``i`` and ``A_i`` the bound
    ``||W_i||_inf A_{i-1} + ||b_i||_inf`` on the target's own activations (``A_0 = radius``;
    the ReLU is 1-Lipschitz and ``|relu(z)| <= |z|``)::

        D_i = ||W_i||_inf D_{i-1} + ||E_i||_inf (A_{i-1} + D_{i-1}) + ||e_b,i||_inf,

    where ``||M||_inf`` is the largest absolute row sum. Exact arithmetic; see the module
    docstring for floating point.

    Returns
    -------
    float
    """
    linears = _layers("target", target)
    radius = checks.nonnegative("radius", radius)
    if len(weight_errors) != len(linears) or len(bias_errors) != len(linears):
        _fail("weight_errors", f"one array per target layer ({len(linears)})", len(weight_errors))
    activations, gap = radius, 0.0
    for layer, E, e_b in zip(linears, weight_errors, bias_errors):
        W = np.abs(layer.weight.detach().double().numpy())
        E = checks.array("weight_errors", E, ndim=2)
        if E.shape != W.shape:
            _fail("weight_errors", f"arrays of the target's weight shapes {W.shape}", E.shape)
        row = lambda M: float(np.abs(M).sum(axis=1).max())  # noqa: E731
        e_b = float(np.max(np.abs(checks.array("bias_errors", e_b, ndim=1))))
        b = 0.0 if layer.bias is None else float(layer.bias.detach().abs().max())
        gap = row(W) * gap + row(E) * (activations + gap) + e_b
        activations = row(W) * activations + b
    return gap


def prune_to_approximate(target, random_net, eps=None, method="subset_sum", radius=1.0):
    """Prune ``random_net`` (from :func:`random_network`) so that it approximates ``target``.

    Parameters
    ----------
    target : torch.nn.Sequential
        A ReLU MLP (``nets.mlp``; dropout is ignored, as in evaluation mode).
    random_net : torch.nn.Sequential
        Twice as deep, with the widths of :func:`random_widths` (any ``n`` per layer).
    eps : float, optional
        When given, a ``ValueError`` is raised if the guaranteed error
        (:func:`error_bound` over ``||x||_inf <= radius``) exceeds it: the random network is
        too narrow for this target and eps.
    method : {"subset_sum", "product"}
        Pensia et al.'s best subset of products, or Malach et al.'s best single product.
    radius : float
        The input box of the bound.

    Returns
    -------
    Approximation
        Its ``pruned`` network equals ``random_net`` where the mask is True and is 0.0
        elsewhere: no weight value is changed.
    """
    import torch

    from .pruning import masked_copy

    linears = _layers("target", target)
    method = checks.choice("method", method, _METHODS)
    radius = checks.nonnegative("radius", radius)
    randoms = _layers("random_net", random_net)
    if len(randoms) != 2 * len(linears):
        _fail(
            "random_net",
            f"a network of {2 * len(linears)} Linear layers (twice the target's depth)",
            f"{len(randoms)}",
        )
    names = {id(p): name for name, p in random_net.named_parameters()}
    masks, weight_errors, bias_errors = {}, [], []
    for i, layer in enumerate(linears):
        U, V = randoms[2 * i], randoms[2 * i + 1]
        blocks = layer.in_features + (layer.bias is not None)
        n = max(1, U.weight.shape[0] // blocks)
        _block_layer("random_net", U, V, layer, n)
        keep_U, keep_c, keep_V, errors, bias_error = _approximate_layer(layer, U, V, method)
        masks[names[id(U.weight)]] = torch.from_numpy(keep_U)
        masks[names[id(V.weight)]] = torch.from_numpy(keep_V)
        if U.bias is not None:
            masks[names[id(U.bias)]] = torch.from_numpy(keep_c)
        if V.bias is not None:
            masks[names[id(V.bias)]] = torch.zeros(V.bias.shape, dtype=torch.bool)
        weight_errors.append(errors)
        bias_errors.append(bias_error)
    bound = error_bound(target, weight_errors, bias_errors, radius)
    if eps is not None:
        eps = checks.positive("eps", eps)
        if bound > eps:
            _fail(
                "random_net",
                f"wide enough for eps = {eps:g} (raise n)",
                f"a guaranteed error of {bound:.3g} on ||x||_inf <= {radius:g}",
            )
    pruned = masked_copy(random_net, masks)
    kept = sum(int(m.sum()) for m in masks.values())
    return Approximation(masks, pruned, weight_errors, bias_errors, bound, radius, method, kept)


@dataclass
class ApproximationError:
    """``per_input[i] = max_k |f(x_i)_k - g(x_i)_k|``; ``sup`` and ``mean`` over the inputs."""

    sup: float
    mean: float
    per_input: np.ndarray


def approximation_error(target, network, X):
    """How far ``network`` is from ``target`` on the inputs ``X`` (evaluated without
    gradients, in evaluation mode, in the target's dtype).

    Parameters
    ----------
    target, network : torch.nn.Module
    X : array_like of shape (n_samples, n_features)

    Returns
    -------
    ApproximationError
    """
    import torch

    checks.module("target", target)
    checks.module("network", network)
    X = checks.array("X", X, ndim=2)
    dtype = next(target.parameters()).dtype
    inputs = torch.as_tensor(X, dtype=dtype)
    modes = target.training, network.training
    target.eval()
    network.eval()
    try:
        with torch.no_grad():
            gaps = (target(inputs) - network(inputs.to(next(network.parameters()).dtype))).abs()
    finally:
        target.train(modes[0])
        network.train(modes[1])
    per_input = gaps.reshape(gaps.shape[0], -1).max(dim=1).values.double().numpy()
    return ApproximationError(float(per_input.max()), float(per_input.mean()), per_input)

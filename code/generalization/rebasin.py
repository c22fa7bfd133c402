"""Permutation symmetries of ReLU networks, and weight matching to undo them.

Reordering the hidden units of a layer, together with the rows of its incoming weights and
biases and the columns of the next layer's weights, leaves the function of a network
unchanged: an element-wise activation commutes with every permutation. Two networks
trained from different seeds may therefore be far apart in weight space only because their
units are listed in different orders. *Git Re-Basin* (Ainsworth, Hayase, Srinivasa 2023)
looks for the permutations that bring network B as close as possible to network A and then
interpolates linearly between A and the permuted B.

Notation (the same everywhere in this module), for a multilayer perceptron with ``L``
linear layers ``z_{l+1} = sigma(W_l z_l + b_l)``, ``W_l`` of shape (d_l, d_{l-1}), and
``L - 1`` hidden layers::

    perms[l]  an integer array of length d_l (hidden layer l, counted from 0), a permutation
              of 0, ..., d_l - 1; unit i of the permuted network is unit perms[l][i] of the
              original, i.e. P_l = I[perms[l]] (P_l W = W[perms[l]])
    permute   W_l' = P_l W_l P_{l-1}^T,  b_l' = P_l b_l   (P_{-1} = P_{L-1} = I: inputs and
              outputs are never permuted)
    objective J(perms) = vec(Theta_A) . vec(pi(Theta_B))
                       = sum_l <W_l^A, P_l W_l^B P_{l-1}^T>_F + <b_l^A, P_l b_l^B>
              maximizing J minimizes ||Theta_A - pi(Theta_B)||^2, since ||pi(Theta_B)|| does
              not depend on the permutations.

Holding every permutation but ``P_l`` fixed, ``J`` is linear in ``P_l``: it is
``<P_l, C_l>_F`` plus a constant, with the (d_l, d_l) score matrix

    C_l = W_l^A P_{l-1} (W_l^B)^T + b_l^A (b_l^B)^T + (W_{l+1}^A)^T P_{l+1} W_{l+1}^B,

and the best ``P_l`` is a linear assignment problem (``scipy.optimize.linear_sum_assignment``).
:func:`weight_matching` is the paper's Algorithm 1 ("permutation coordinate descent"): visit
the hidden layers in a random order, solve each layer's assignment, and repeat until a full
pass changes no permutation. A layer's permutation is replaced only when the new one raises
``J`` by more than rounding error, so ``J`` never decreases and the loop ends (the paper's
Lemma 2). The whole problem (all layers at once) is NP-hard (the paper's Lemma 1): the
result is a local optimum, exact for a single hidden layer.

What this module does not do: activation matching (the paper's Section 3.1) and the
straight-through estimator (Section 3.3) are other ways to choose the permutations; only
ReLU-type multilayer perceptrons (``torch.nn.Sequential`` of ``Linear`` layers and
element-wise modules) are handled, not convolutions, residual connections or normalization
layers.

References
----------
Ainsworth, Hayase, Srinivasa (2023), *Git Re-Basin: merging models modulo permutation
symmetries*, ICLR, https://arxiv.org/abs/2209.04836 (Section 3.2, Algorithm 1).
Entezari, Sedghi, Saukh, Neyshabur (2022), *The role of permutation invariance in linear mode
connectivity of neural networks*, ICLR, https://arxiv.org/abs/2110.06296.
Hecht-Nielsen (1990), *On the algebraic structure of feedforward network weight spaces*.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from . import checks

ELEMENTWISE = ("ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "ELU", "Dropout", "Identity")
"""Names of the ``torch.nn`` modules allowed between the linear layers: each acts on every
unit separately, so it commutes with a permutation of the units."""

_MLP = "a torch.nn.Sequential of Linear layers separated by element-wise modules"


def _linear_layers(name, model):
    """The ``Linear`` layers of an MLP ``model``, in order, after checking its structure."""
    import torch.nn as nn

    if not isinstance(model, nn.Sequential):
        raise ValueError(f"{name} must be {_MLP}; got {type(model).__name__}.")
    kinds = [type(m).__name__ for m in model]
    linear = [m for m in model if isinstance(m, nn.Linear)]
    others = [k for k in kinds if k != "Linear" and k not in ELEMENTWISE]
    if others or len(linear) < 2 or kinds[-1] != "Linear":
        got = (
            f"modules {kinds}"
            if others or kinds[-1:] != ["Linear"]
            else f"{len(linear)} Linear layer (no hidden layer)"
        )
        raise ValueError(f"{name} must be {_MLP}, ending with a Linear layer; got {got}.")
    for k, (first, second) in enumerate(zip(linear, linear[1:])):
        if first.out_features != second.in_features:
            raise ValueError(
                f"{name} must have matching widths between consecutive Linear layers; got "
                f"{first.out_features} outputs of layer {k} and {second.in_features} inputs of "
                f"layer {k + 1}."
            )
    return linear


def hidden_widths(model):
    """The widths ``(d_0, ..., d_{L-2})`` of the hidden layers of an MLP ``model``.

    Raises
    ------
    ValueError
        If ``model`` is not a ``torch.nn.Sequential`` of ``Linear`` layers separated by
        element-wise modules (:data:`ELEMENTWISE`) with at least one hidden layer.
    """
    return tuple(layer.out_features for layer in _linear_layers("model", model)[:-1])


def _weights(layers):
    """Each layer's ``(W, b)`` as float64 NumPy arrays; ``b`` is zeros when absent."""
    out = []
    for layer in layers:
        W = layer.weight.detach().cpu().double().numpy()
        b = (
            layer.bias.detach().cpu().double().numpy()
            if layer.bias is not None
            else np.zeros(W.shape[0])
        )
        out.append((W, b))
    return out


def _check_perms(perms, widths):
    """``perms`` as a list of int arrays, one permutation of ``range(d)`` per hidden width."""
    if isinstance(perms, (str, bytes)) or not hasattr(perms, "__len__"):
        raise ValueError(
            f"perms must be a sequence of {len(widths)} permutations; got {type(perms).__name__}."
        )
    if len(perms) != len(widths):
        raise ValueError(
            f"perms must hold one permutation per hidden layer ({len(widths)}); got {len(perms)}."
        )
    out = []
    for k, (perm, width) in enumerate(zip(perms, widths)):
        values = checks.integers(f"perms[{k}]", perm, minimum=0, distinct=True)
        if len(values) != width or max(values) >= width:
            raise ValueError(
                f"perms[{k}] must be a permutation of 0, ..., {width - 1} (hidden layer {k} has "
                f"{width} units); got {len(values)} distinct integers up to {max(values)}."
            )
        out.append(np.asarray(values, dtype=np.int64))
    return out


def permute(model, perms):
    """A copy of the MLP ``model`` with the hidden units of each layer reordered by ``perms``.

    ``W_l' = P_l W_l P_{l-1}^T`` and ``b_l' = P_l b_l``, with ``P_l W = W[perms[l]]``: unit
    ``i`` of hidden layer ``l`` of the copy is unit ``perms[l][i]`` of ``model``. The copy
    computes the same function as ``model`` (up to the rounding of reordered sums).

    Parameters
    ----------
    model : torch.nn.Sequential
        ``Linear`` layers separated by element-wise modules (:data:`ELEMENTWISE`), e.g.
        :func:`generalization.nets.mlp`.
    perms : sequence of array_like of int
        One permutation per hidden layer, ``perms[l]`` of length ``d_l``.

    Returns
    -------
    torch.nn.Sequential
        A new model (``copy.deepcopy``); ``model`` is not changed.

    Raises
    ------
    ValueError
        If ``model`` is not such an MLP, or ``perms`` does not hold one permutation of the
        right length per hidden layer.
    """
    import torch

    layers = _linear_layers("model", model)
    perms = _check_perms(perms, [layer.out_features for layer in layers[:-1]])
    new = copy.deepcopy(model)
    new_layers = [m for m in new if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for k, layer in enumerate(new_layers):
            W = layer.weight
            if k < len(perms):  # rows: this layer's own units
                index = torch.as_tensor(perms[k], device=W.device)
                W.copy_(W[index])
                if layer.bias is not None:
                    layer.bias.copy_(layer.bias[index])
            if k > 0:  # columns: the previous hidden layer's units
                index = torch.as_tensor(perms[k - 1], device=W.device)
                W.copy_(W[:, index])
    return new


def objective(model_a, model_b, perms=None):
    """``J = vec(Theta_A) . vec(pi(Theta_B))``: the inner product of all weights and biases.

    Parameters
    ----------
    model_a, model_b : torch.nn.Sequential
        MLPs with the same layer shapes.
    perms : sequence of array_like of int, optional
        Permutations applied to ``model_b`` (:func:`permute`); default: none (identity).

    Returns
    -------
    float
        Computed in float64 from the layers' weights, without building the permuted model.
    """
    layers_a, layers_b = _matched_layers(model_a, model_b)
    widths = [layer.out_features for layer in layers_a[:-1]]
    perms = [np.arange(d) for d in widths] if perms is None else _check_perms(perms, widths)
    return _objective(_weights(layers_a), _weights(layers_b), perms)


def _matched_layers(model_a, model_b):
    layers_a = _linear_layers("model_a", model_a)
    layers_b = _linear_layers("model_b", model_b)
    shapes_a = [tuple(layer.weight.shape) for layer in layers_a]
    shapes_b = [tuple(layer.weight.shape) for layer in layers_b]
    if shapes_a != shapes_b:
        raise ValueError(
            f"model_b must have the same Linear layer shapes as model_a; got {shapes_b} and "
            f"{shapes_a}."
        )
    return layers_a, layers_b


def _permuted(Wb, perms, k):
    """``P_k W_k^B P_{k-1}^T`` and ``P_k b_k^B`` of layer ``k`` (no P outside hidden layers)."""
    W, b = Wb[k]
    if k < len(perms):
        W, b = W[perms[k]], b[perms[k]]
    if k > 0:
        W = W[:, perms[k - 1]]
    return W, b


def _objective(Wa, Wb, perms):
    total = 0.0
    for k in range(len(Wa)):
        W, b = _permuted(Wb, perms, k)
        total += float(np.sum(Wa[k][0] * W) + Wa[k][1] @ b)
    return total


def _scores(Wa, Wb, perms, k):
    """The (d_k, d_k) score matrix ``C_k``: entry (i, j) is the gain of placing unit j of B at i.

    ``C_k = W_k^A P_{k-1} (W_k^B)^T + b_k^A (b_k^B)^T + (W_{k+1}^A)^T P_{k+1} W_{k+1}^B``.
    """
    W_in = Wb[k][0] if k == 0 else Wb[k][0][:, perms[k - 1]]  # W_k^B P_{k-1}^T
    C = Wa[k][0] @ W_in.T + np.outer(Wa[k][1], Wb[k][1])
    W_out = Wb[k + 1][0]
    if k + 1 < len(perms):
        W_out = W_out[perms[k + 1]]  # P_{k+1} W_{k+1}^B
    return C + Wa[k + 1][0].T @ W_out


@dataclass(frozen=True)
class MatchingInfo:
    """How :func:`weight_matching` went.

    ``objective``: ``J`` at the start (identity permutations) and after every layer visit,
    shape (1 + sweeps * number of hidden layers,); never decreasing. ``sweeps``: passes over
    the hidden layers, the last one included (a pass that changed nothing, if converged).
    ``converged``: whether a full pass changed no permutation within ``max_iter`` passes.
    """

    objective: np.ndarray
    sweeps: int
    converged: bool


def weight_matching(model_a, model_b, max_iter=100, seed=0, return_info=False):
    """Permutations of the hidden units of ``model_b`` that bring its weights closest to
    ``model_a``'s: Algorithm 1 of Ainsworth, Hayase, Srinivasa (2023).

    Coordinate ascent on ``J = vec(Theta_A) . vec(pi(Theta_B))`` (module docstring): start
    from identity permutations; in every pass visit the hidden layers in an order drawn from
    ``numpy.random.default_rng(seed)`` and set each ``P_l`` to the solution of its linear
    assignment problem ``max_P <P, C_l>`` (``scipy.optimize.linear_sum_assignment``), keeping
    the old one unless the new one raises ``J`` by more than ``1e-12 (1 + |J|)``; stop after
    the first pass that changes no permutation, or after ``max_iter`` passes. Biases count in
    the scores; the data are not used.

    Parameters
    ----------
    model_a, model_b : torch.nn.Sequential
        MLPs (``Linear`` layers separated by element-wise modules, :data:`ELEMENTWISE`) with
        the same layer shapes, e.g. two :func:`generalization.nets.mlp` of the same sizes.
    max_iter : int, default 100
        The largest number of passes over the hidden layers.
    seed : int, default 0
        Seeds the random order of the layers in each pass.
    return_info : bool, default False
        Also return a :class:`MatchingInfo`.

    Returns
    -------
    perms : list of ndarray of int
        ``perms[l]`` of shape (d_l,), one per hidden layer: ``permute(model_b, perms)`` is
        the functionally identical copy of B whose weights are aligned with A's.
    info : MatchingInfo
        Only with ``return_info``.

    Raises
    ------
    ValueError
        If a model is not such an MLP, or their layer shapes differ.

    Notes
    -----
    With one hidden layer a single assignment problem is the whole problem, so the result
    is the exact optimum over all permutations. With more, the problem is NP-hard (the
    paper's Lemma 1) and the result is a local optimum that can depend on ``seed``.
    """
    layers_a, layers_b = _matched_layers(model_a, model_b)
    max_iter = checks.count("max_iter", max_iter)
    seed = checks.count("seed", seed, minimum=0)
    Wa, Wb = _weights(layers_a), _weights(layers_b)
    n_hidden = len(Wa) - 1
    perms = [np.arange(Wa[k][0].shape[0]) for k in range(n_hidden)]
    rng = np.random.default_rng(seed)
    value = _objective(Wa, Wb, perms)
    history, converged, sweeps = [value], False, 0
    while sweeps < max_iter and not converged:
        sweeps += 1
        changed = False
        for k in rng.permutation(n_hidden):
            C = _scores(Wa, Wb, perms, k)
            rows, columns = linear_sum_assignment(C, maximize=True)
            # J changes by <P_new - P_old, C_k>: only the terms of layer k depend on P_k
            gain = float(C[rows, columns].sum() - C[rows, perms[k]].sum())
            if gain > 1e-12 * (1.0 + abs(value)) and not np.array_equal(columns, perms[k]):
                perms[k] = columns.astype(np.int64)
                value += float(gain)
                changed = True
            history.append(value)
        converged = not changed
    perms = [p.copy() for p in perms]
    if return_info:
        return perms, MatchingInfo(objective=np.array(history), sweeps=sweeps, converged=converged)
    return perms


def log10_symmetries(widths):
    """``log10`` of the number of permutation symmetries, ``prod_l d_l!``, of hidden widths.

    Table 1 of Ainsworth et al. (2023) counts ``10^3498`` for three hidden layers of 512
    units. Computed with ``scipy.special.gammaln`` (``log d! = gammaln(d + 1)``).
    """
    from scipy.special import gammaln

    widths = checks.integers("widths", widths, minimum=1)
    return float(sum(gammaln(d + 1) for d in widths) / np.log(10))

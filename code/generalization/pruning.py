"""Magnitude pruning, masks that hold through training, and lottery tickets with rewinding.

Frankle and Carbin (2019) train a dense network, remove the weights of smallest magnitude,
reset the survivors to the values they had at initialization and train again; repeated, this
*iterative magnitude pruning* (IMP) finds sparse subnetworks ("winning tickets") that train
to the accuracy of the dense network, while the same subnetworks re-initialized at random do
not. Frankle, Dziugaite, Roy and Carbin (2019, 2020) found that in deeper networks the reset
must go to the weights of an early iteration ``k`` of the dense run instead (*rewinding*);
``k = 0`` is the original lottery ticket. This module is the small toolkit for both.

Which weights are pruned
    :func:`prunable`: the ``weight`` of every ``Linear`` and ``Conv1d/2d/3d`` layer. Biases
    (and normalization parameters) are never pruned, as in Frankle and Carbin (2019), whose
    pruning is of weights only.
Masks
    A *mask* is a dict ``{parameter name: bool tensor of the parameter's shape}`` over the
    prunable parameters (True = the weight is alive), keyed like ``model.named_parameters()``.
    :func:`full_masks` (nothing pruned), :func:`apply_masks` (zero the pruned weights),
    :func:`masked_copy`, :func:`remaining` (fraction alive per layer and overall).
Pruning
    :func:`magnitude_prune`: remove a fraction of the weights *still alive*, either per layer
    (``scope="layer"``, a rate per layer, e.g. :func:`layer_rates` for Frankle and Carbin's
    20% of each hidden layer and 10% of the output layer per round) or with one magnitude
    threshold over all prunable weights (``scope="global"``, as Frankle and Carbin do for
    VGG-19 and ResNet-18, Section 4).
Training with a mask
    :func:`attach_masks`: gradient hooks multiply every gradient by its mask, so a pruned
    weight that is zero gets a zero gradient; weight decay of a zero weight is zero; the
    optimizer's momentum and Adam moments of a pruned weight therefore stay zero, and the
    weight stays exactly 0.0 through any number of steps of SGD (momentum, Nesterov, weight
    decay) or Adam/AdamW started from a fresh state. Given the optimizer, it also re-applies
    the mask after every step and zeros the pruned entries of its state, for an optimizer
    whose state predates the mask. The surviving weights then move exactly as they would if
    the pruned connections did not exist.
Lottery tickets
    :func:`iterative_magnitude_pruning` (IMP with rewinding to iteration ``k``; the training
    is a callable the chapter writes), :func:`train_masked` (one masked training run), and
    :func:`reinitialize`, the random re-initialization control: a fresh initialization from
    another seed under the same mask (Frankle and Carbin 2019, Section 2).

Conventions::

    train_fn     train_fn(model, start, stop) -> anything: trains `model` in place over the
                 iterations start, ..., stop - 1 of the chapter's one training schedule
                 (its learning-rate schedule and data order indexed by iteration), with an
                 optimizer it builds itself; its return value (e.g. test accuracy) is kept.
    rate         the fraction of the weights still alive that one round removes; a round
                 removes round(rate * alive) weights of a layer (Python's round,
                 halves to even, as torch.nn.utils.prune counts them).
    ties         equal magnitudes are removed in the order of the flattened parameter
                 (and, globally, of model.named_parameters()), so pruning is deterministic.

References
----------
Frankle, Carbin (2019), *The lottery ticket hypothesis: finding sparse, trainable neural
networks*, ICLR (Section 1: identifying winning tickets, steps 1-4; Section 2: Lenet-300-100,
layer-wise rates, the random re-initialization control; Section 4: global pruning for
VGG-19 and ResNet-18).
Frankle, Dziugaite, Roy, Carbin (2019), *Stabilizing the lottery ticket hypothesis*,
arXiv:1903.01611 (rewinding to iteration k).
Frankle, Dziugaite, Roy, Carbin (2020), *Linear mode connectivity and the lottery ticket
hypothesis*, ICML (Algorithm 2: IMP with rewinding).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from . import checks

_PRUNABLE = ("Linear", "Conv1d", "Conv2d", "Conv3d")


def _fail(name, wanted, got):
    raise ValueError(f"{name} must be {wanted}; got {got}.")


def _model(name, model):
    import torch

    if not isinstance(model, torch.nn.Module):
        _fail(name, "a torch.nn.Module", type(model).__name__)
    return model


# ------------------------------------------------------------------------------ masks


def prunable(model):
    """Names of the prunable parameters of ``model``: the weights of its Linear and Conv layers.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    list of str
        In the order of ``model.named_parameters()``. Biases are not prunable.
    """
    import torch

    _model("model", model)
    kinds = tuple(getattr(torch.nn, kind) for kind in _PRUNABLE)
    owners = {
        f"{name}.weight" if name else "weight"
        for name, module in model.named_modules()
        if isinstance(module, kinds)
    }
    names = [name for name, _ in model.named_parameters() if name in owners]
    if not names:
        _fail("model", "a network with Linear or Conv layers", "none")
    return names


def full_masks(model):
    """A mask that keeps every prunable weight: ``{name: all-True bool tensor}``."""
    import torch

    params = dict(checks.module("model", model).named_parameters())
    return {name: torch.ones_like(params[name], dtype=torch.bool) for name in prunable(model)}


def _masks(model, masks):
    """Check that ``masks`` fits ``model``; return it as bool tensors."""
    import torch

    params = dict(model.named_parameters())
    if not isinstance(masks, dict) or not masks:
        _fail("masks", "a non-empty dict {parameter name: bool tensor}", type(masks).__name__)
    checked = {}
    for name, mask in masks.items():
        if name not in params:
            _fail("masks", "keyed by names of the model's parameters", repr(name))
        if not torch.is_tensor(mask) or tuple(mask.shape) != tuple(params[name].shape):
            shape = tuple(mask.shape) if torch.is_tensor(mask) else type(mask).__name__
            _fail(f"masks[{name!r}]", f"a tensor of shape {tuple(params[name].shape)}", shape)
        checked[name] = mask.to(device=params[name].device, dtype=torch.bool)
    return checked


def apply_masks(model, masks):
    """Set the pruned weights of ``model`` to exactly 0.0, in place; return ``model``."""
    import torch

    masks = _masks(_model("model", model), masks)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, mask in masks.items():
            params[name].masked_fill_(~mask, 0.0)
    return model


def masked_copy(model, masks):
    """A deep copy of ``model`` with its pruned weights set to 0.0 (``model`` is unchanged)."""
    return apply_masks(copy.deepcopy(_model("model", model)), masks)


@dataclass
class Remaining:
    """How much of a network a mask keeps.

    ``per_layer[name]`` is the fraction of that parameter's weights alive; ``overall`` the
    fraction of all prunable weights alive (``alive / total``), the x-axis of Frankle and
    Carbin's plots ("percent of weights remaining" is ``100 * overall``).
    """

    per_layer: dict
    overall: float
    alive: int
    total: int


def remaining(masks):
    """The fraction of weights a mask keeps, per layer and overall.

    Parameters
    ----------
    masks : dict of str -> bool tensor

    Returns
    -------
    Remaining
    """
    import torch

    if not isinstance(masks, dict) or not masks:
        _fail("masks", "a non-empty dict {parameter name: bool tensor}", type(masks).__name__)
    if not all(torch.is_tensor(mask) for mask in masks.values()):
        _fail("masks", "a dict of tensors", "a value that is not a tensor")
    alive = {name: int(mask.bool().sum()) for name, mask in masks.items()}
    sizes = {name: mask.numel() for name, mask in masks.items()}
    per_layer = {name: alive[name] / sizes[name] for name in masks}
    total = sum(sizes.values())
    return Remaining(per_layer, sum(alive.values()) / total, sum(alive.values()), total)


# ---------------------------------------------------------------------------- pruning


def layer_rates(model, rate=0.2, output_rate=0.1):
    """Per-layer pruning rates: ``rate`` for every prunable layer but the last, which gets
    ``output_rate``.

    The defaults are Frankle and Carbin's (2019, Section 2) rates for Lenet-300-100
    (``nets.mlp(hidden=(300, 100))``): 20% of each hidden layer per round, and connections
    to the outputs "pruned at half the rate of the rest of the network", 10%.

    Returns
    -------
    dict of str -> float
    """
    rate = checks.fraction("rate", rate)
    output_rate = checks.fraction("output_rate", output_rate)
    names = prunable(model)
    return {name: (output_rate if name == names[-1] else rate) for name in names}


def _count(rate, alive):
    """round(rate * alive) with Python's rounding (halves to even), as torch.nn.utils.prune."""
    return min(alive, round(rate * alive))


def _smallest(magnitudes, k):
    """Indices of the ``k`` smallest entries of a 1-D tensor, ties in index order."""
    import torch

    order = torch.sort(magnitudes, stable=True).indices
    return order[:k]


def magnitude_prune(model, masks=None, rate=0.2, scope="layer"):
    """Remove the weights of smallest magnitude among those still alive.

    Parameters
    ----------
    model : torch.nn.Module
        Its current (usually trained) weights are ranked by absolute value; not changed.
    masks : dict, optional
        The current mask; None: nothing pruned yet (:func:`full_masks`).
    rate : float in [0, 1] or dict of str -> float
        The fraction of the alive weights to remove. With ``scope="layer"``: one rate for
        every prunable layer, or a rate per layer name (e.g. :func:`layer_rates`; a layer
        not named is not pruned). With ``scope="global"``: one number.
    scope : {"layer", "global"}
        ``"layer"``: each layer loses ``round(rate * alive_in_layer)`` weights, its smallest.
        ``"global"``: ``round(rate * alive_in_all_layers)`` weights are removed, the smallest
        over all prunable layers together (one threshold on ``|w|``).

    Returns
    -------
    dict of str -> bool tensor
        The new mask (a new dict; ``masks`` is not modified). A pruned weight stays pruned.
    """
    import torch

    _model("model", model)
    scope = checks.choice("scope", scope, ("layer", "global"))
    masks = full_masks(model) if masks is None else _masks(model, masks)
    params = dict(model.named_parameters())
    names = list(masks)
    if scope == "global" or not isinstance(rate, dict):
        rate = checks.fraction("rate", rate)
        rates = {name: rate for name in names}
    else:
        unknown = [name for name in rate if name not in masks]
        if unknown:
            _fail("rate", "keyed by names of the masked parameters", repr(unknown[0]))
        rates = {name: checks.fraction(f"rate[{name!r}]", rate.get(name, 0.0)) for name in names}
    new = {name: mask.clone(memory_format=torch.contiguous_format) for name, mask in masks.items()}
    with torch.no_grad():
        if scope == "layer":
            for name in names:
                alive = torch.nonzero(new[name].reshape(-1)).reshape(-1)
                magnitudes = params[name].detach().abs().reshape(-1)[alive]
                dead = alive[_smallest(magnitudes, _count(rates[name], alive.numel()))]
                new[name].view(-1)[dead] = False
        else:
            alive = [torch.nonzero(new[name].reshape(-1)).reshape(-1) for name in names]
            magnitudes = torch.cat(
                [
                    params[name].detach().abs().reshape(-1)[index].double()
                    for name, index in zip(names, alive)
                ]
            )
            dead = _smallest(magnitudes, _count(rate, magnitudes.numel()))
            offsets = torch.cumsum(torch.tensor([0] + [a.numel() for a in alive]), 0)
            for j, name in enumerate(names):
                mine = dead[(dead >= offsets[j]) & (dead < offsets[j + 1])] - offsets[j]
                new[name].view(-1)[alive[j][mine]] = False
    return new


# ------------------------------------------------------------------- training with a mask


class MaskHandle:
    """The hooks :func:`attach_masks` registered; :meth:`MaskHandle.remove` takes them all off."""

    def __init__(self, handles):
        self.handles = handles

    def remove(self):
        """Take every hook off; the mask then no longer holds."""
        for handle in self.handles:
            handle.remove()
        self.handles = []


def attach_masks(model, masks, optimizer=None):
    """Keep the pruned weights of ``model`` at exactly 0.0 while it trains.

    Zeros the pruned weights now, and registers on each masked parameter a gradient hook
    that multiplies its gradient by the mask. With a zero weight and a zero gradient, the
    update of SGD (any momentum, dampening, Nesterov, weight decay) and of Adam/AdamW from a
    fresh state is exactly zero, so the weight stays 0.0; a surviving weight gets its own
    gradient unchanged (multiplied by 1.0), so it moves exactly as if the pruned connections
    did not exist.

    Parameters
    ----------
    model : torch.nn.Module
    masks : dict of str -> bool tensor
    optimizer : torch.optim.Optimizer, optional
        Also register a step post-hook that re-applies the mask after every step and zeros
        the pruned entries of the optimizer's state tensors (momentum buffers, Adam moments);
        needed only when that state was built before the mask (pruning mid-training).

    Returns
    -------
    MaskHandle
        Call ``.remove()`` to take the hooks off.
    """
    import torch

    masks = _masks(_model("model", model), masks)
    apply_masks(model, masks)
    params = dict(model.named_parameters())
    handles = []
    for name, mask in masks.items():
        keep = mask.to(params[name].dtype)
        handles.append(params[name].register_hook(lambda grad, keep=keep: grad * keep))
    if optimizer is not None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            _fail("optimizer", "a torch.optim.Optimizer or None", type(optimizer).__name__)
        by_tensor = {id(params[name]): mask for name, mask in masks.items()}

        def after_step(opt, args, kwargs):
            with torch.no_grad():
                for group in opt.param_groups:
                    for p in group["params"]:
                        mask = by_tensor.get(id(p))
                        if mask is None:
                            continue
                        p.masked_fill_(~mask, 0.0)
                        for value in opt.state.get(p, {}).values():
                            if torch.is_tensor(value) and value.shape == p.shape:
                                value.masked_fill_(~mask, 0.0)

        handles.append(optimizer.register_step_post_hook(after_step))
    return MaskHandle(handles)


def _pruned_nonzero(model, masks):
    params = dict(model.named_parameters())
    return sum(int((params[name].detach()[~mask] != 0).sum()) for name, mask in masks.items())


def train_masked(model, masks, train_fn, start, stop):
    """Train ``model`` in place under ``masks``: ``train_fn(model, start, stop)`` with the mask
    attached (:func:`attach_masks`); return what ``train_fn`` returns.

    Raises
    ------
    ValueError
        If a pruned weight is not exactly 0.0 afterwards (an optimizer whose state predates
        the mask: build it inside ``train_fn``, or attach the mask with the optimizer).
    """
    masks = _masks(_model("model", model), masks)
    if not callable(train_fn):
        _fail("train_fn", "a callable train_fn(model, start, stop)", type(train_fn).__name__)
    start = checks.count("start", start, minimum=0)
    stop = checks.count("stop", stop, minimum=start)
    handle = attach_masks(model, masks)
    try:
        result = train_fn(model, start, stop)
    finally:
        handle.remove()
    moved = _pruned_nonzero(model, masks)
    if moved:
        _fail("train_fn", "training that keeps pruned weights at 0.0", f"{moved} that moved")
    return result


def reinitialize(model, masks, seed):
    """The random re-initialization control: a fresh initialization of ``model``'s
    architecture, from ``seed``, under the same mask.

    Every module with a ``reset_parameters`` method is reset, in the order of
    ``model.modules()``, after ``nets.seed_everything(seed)``; for a network built by
    ``nets.mlp(..., seed=s)`` this is exactly ``nets.mlp(..., seed=seed)``. Then the pruned
    weights are set to 0.0.

    Returns
    -------
    torch.nn.Module
        A new network (``model`` is unchanged).
    """
    from .nets import seed_everything

    fresh = copy.deepcopy(_model("model", model))
    masks = _masks(fresh, masks)
    seed_everything(seed)
    for module in fresh.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    return apply_masks(fresh, masks)


# ------------------------------------------------------------------- lottery tickets


@dataclass
class PruningRound:
    """One round of IMP: the mask it trained under, how much it kept, what training returned,
    and the trained weights (a ``state_dict`` copy)."""

    masks: dict
    remaining: Remaining
    result: object
    trained_state: dict


@dataclass
class LotteryTickets:
    """The rounds of :func:`iterative_magnitude_pruning`.

    ``rounds[0]`` is the dense network trained from iteration ``rewind_iteration``; round
    ``r`` trained with ``rounds[r].masks``. ``initial_state`` holds the weights at iteration
    0, ``rewind_state`` those at iteration ``rewind_iteration`` of the dense run (the same
    when it is 0); ``dense_prefix_result`` what ``train_fn`` returned for iterations
    ``0..rewind_iteration - 1`` (None when ``rewind_iteration`` is 0).
    """

    rounds: list = field(default_factory=list)
    initial_state: dict | None = None
    rewind_state: dict | None = None
    rewind_iteration: int = 0
    dense_prefix_result: object = None

    def ticket(self, model, r):
        """The ticket of round ``r``: ``model``'s architecture at the rewind weights under
        ``rounds[r].masks`` (a new network, untrained)."""
        work = copy.deepcopy(_model("model", model))
        work.load_state_dict(self.rewind_state)
        return apply_masks(work, self.rounds[r].masks)


def _state(model):
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def iterative_magnitude_pruning(
    model,
    train_fn,
    num_rounds,
    num_iterations,
    rate=0.2,
    scope="layer",
    rewind_iteration=0,
):
    """Iterative magnitude pruning with rewinding (Frankle et al. 2020, Algorithm 2).

    1. ``W_0`` = the weights of ``model``. If ``k = rewind_iteration > 0``, train the dense
       network over iterations ``0..k-1`` to get ``W_k``; else ``W_k = W_0``.
    2. For rounds ``r = 0, 1, ..., num_rounds``: set the weights to ``m_r * W_k`` (the
       whole ``state_dict``, biases and buffers included, is reset to ``W_k``; the pruned
       weights are then set to 0), train
       under the mask over iterations ``k..num_iterations-1``, and (except after the last
       round) prune ``rate`` of the surviving weights by magnitude to get ``m_{r+1}``.

    ``k = 0`` is Frankle and Carbin's (2019) lottery ticket: the survivors are reset to their
    initial values.

    Parameters
    ----------
    model : torch.nn.Module
        The network at initialization; not changed (every round trains a copy).
    train_fn : callable
        ``train_fn(model, start, stop)``, see the module's conventions.
    num_rounds : int
        Pruning rounds after the dense run (0: only the dense run).
    num_iterations : int
        ``T``, the length of the training schedule.
    rate : float or dict
        As in :func:`magnitude_prune`, e.g. :func:`layer_rates` of the model.
    scope : {"layer", "global"}
    rewind_iteration : int in [0, num_iterations]

    Returns
    -------
    LotteryTickets
        After ``r`` rounds of layer-wise pruning at rate ``p``, a layer keeps about
        ``(1 - p)**r`` of its weights (exactly the product of the rounded counts).
    """
    _model("model", model)
    if not callable(train_fn):
        _fail("train_fn", "a callable train_fn(model, start, stop)", type(train_fn).__name__)
    num_rounds = checks.count("num_rounds", num_rounds, minimum=0)
    num_iterations = checks.count("num_iterations", num_iterations, minimum=1)
    k = checks.count("rewind_iteration", rewind_iteration, minimum=0, maximum=num_iterations)
    scope = checks.choice("scope", scope, ("layer", "global"))
    masks = full_masks(model)
    magnitude_prune(model, masks, rate, scope)  # validates rate before any training
    tickets = LotteryTickets(initial_state=_state(model), rewind_iteration=k)
    work = copy.deepcopy(model)
    if k > 0:
        tickets.dense_prefix_result = train_masked(work, masks, train_fn, 0, k)
    tickets.rewind_state = _state(work)
    for r in range(num_rounds + 1):
        work.load_state_dict(tickets.rewind_state)
        result = train_masked(work, masks, train_fn, k, num_iterations)
        tickets.rounds.append(PruningRound(masks, remaining(masks), result, _state(work)))
        if r < num_rounds:
            masks = magnitude_prune(work, masks, rate, scope)
    return tickets

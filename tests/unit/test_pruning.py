"""Tests of generalization.pruning against torch.nn.utils.prune, nets.mlp's own initialization,
and an independent training run in which the pruned weights do not exist."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils import prune as torch_prune

from generalization import nets, pruning


@pytest.fixture(autouse=True)
def one_thread():
    with nets.threads(1):
        yield


def _net(seed=0):
    return nets.mlp(n_inputs=12, hidden=(10, 8), n_classes=3, seed=seed).double()


def _data(n=32, seed=1):
    rng = np.random.default_rng(seed)
    X = torch.as_tensor(rng.standard_normal((n, 12)))
    y = torch.as_tensor(rng.integers(0, 3, n))
    return X, y


def _randomize(model, seed):
    """New continuous random weights (no ties in magnitude)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype))


def _current(module):
    """The weights torch's pruning should rank: after a first pruning, ``module.weight`` is a
    stale product refreshed only by a forward pass, so its ``weight_orig`` is passed."""
    return getattr(module, "weight_orig", module.weight).detach().clone()


# ------------------------------------------------------------------------------ masks


def test_only_the_weights_of_linear_and_conv_layers_are_prunable():
    assert pruning.prunable(nets.mlp(hidden=(300, 100))) == ["0.weight", "2.weight", "4.weight"]
    assert pruning.prunable(nets.small_cnn()) == ["1.weight", "4.weight", "8.weight"]
    masks = pruning.full_masks(_net())
    assert all(m.dtype == torch.bool and bool(m.all()) for m in masks.values())


def test_remaining_counts_alive_weights_per_layer_and_overall():
    masks = {"a": torch.tensor([True, False, True, True]), "b": torch.zeros(2, 3, dtype=bool)}
    masks["b"][0, 0] = True
    result = pruning.remaining(masks)
    assert result.per_layer == {"a": 0.75, "b": 1 / 6}
    assert (result.alive, result.total) == (4, 10)
    assert result.overall == 0.4


# ---------------------------------------------------------------------------- pruning


def test_layerwise_rounds_match_torch_prune_l1_unstructured():
    """Frankle-Carbin rates (20% hidden, 10% output) for four rounds, with new weights before
    each round: the masks equal those of torch.nn.utils.prune applied iteratively."""
    model = _net()
    rates = pruning.layer_rates(model)
    assert rates == {"0.weight": 0.2, "2.weight": 0.2, "4.weight": 0.1}
    reference = copy.deepcopy(model)
    linears = [reference[0], reference[2], reference[4]]
    masks = None
    for r in range(4):
        _randomize(model, seed=r)
        with torch.no_grad():
            for module, name in zip(linears, ["0", "2", "4"]):
                weight = module.weight_orig if r else module.weight
                weight.copy_(dict(model.named_parameters())[f"{name}.weight"])
        masks = pruning.magnitude_prune(model, masks, rates)
        for module, name in zip(linears, ["0", "2", "4"]):
            torch_prune.l1_unstructured(
                module,
                "weight",
                amount=rates[f"{name}.weight"],
                importance_scores=_current(module),
            )
            assert torch.equal(masks[f"{name}.weight"], module.weight_mask.bool())
    left = pruning.remaining(masks).per_layer
    assert left["0.weight"] == pytest.approx(0.8**4, abs=0.02)
    assert left["4.weight"] == pytest.approx(0.9**4, abs=0.04)


def test_global_rounds_match_torch_prune_global_unstructured():
    model = _net()
    reference = copy.deepcopy(model)
    pairs = [(reference[0], "weight"), (reference[2], "weight"), (reference[4], "weight")]
    masks = None
    for r in range(3):
        _randomize(model, seed=10 + r)
        with torch.no_grad():
            for (module, _), name in zip(pairs, ["0", "2", "4"]):
                weight = module.weight_orig if r else module.weight
                weight.copy_(dict(model.named_parameters())[f"{name}.weight"])
        masks = pruning.magnitude_prune(model, masks, 0.3, scope="global")
        scores = {pair: _current(pair[0]) for pair in pairs}
        torch_prune.global_unstructured(
            pairs, torch_prune.L1Unstructured, importance_scores=scores, amount=0.3
        )
        for (module, _), name in zip(pairs, ["0", "2", "4"]):
            assert torch.equal(masks[f"{name}.weight"], module.weight_mask.bool())
    total = sum(m.numel() for m in masks.values())
    alive = total
    for _ in range(3):
        alive -= round(0.3 * alive)
    assert pruning.remaining(masks).alive == alive


def test_global_pruning_uses_one_threshold_and_layerwise_pruning_does_not():
    model = _net()
    with torch.no_grad():
        model[4].weight.mul_(0.01)  # the output layer is much smaller in magnitude
    masks = pruning.magnitude_prune(model, None, 0.2, scope="global")
    params = dict(model.named_parameters())
    pruned = torch.cat([params[n].abs()[~m] for n, m in masks.items()])
    kept = torch.cat([params[n].abs()[m] for n, m in masks.items()])
    assert pruned.max() <= kept.min()
    assert not masks["4.weight"].any()  # 24 tiny weights are the first to go
    layerwise = pruning.magnitude_prune(model, None, 0.2)
    assert pruning.remaining(layerwise).per_layer["4.weight"] == pytest.approx(0.8, abs=0.03)


def test_pruning_does_not_change_the_model_or_the_old_mask():
    model = _net()
    before = copy.deepcopy(model.state_dict())
    masks = pruning.full_masks(model)
    pruning.magnitude_prune(model, masks, 0.5)
    assert all(bool(m.all()) for m in masks.values())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


# ------------------------------------------------------------------- training with a mask


def _survivor_run(model, masks, make_optimizer, X, y, num_steps):
    """The masked network trained with its pruned weights absent: the optimizer sees only the
    surviving entries (gathered into vectors) and the biases; the forward pass scatters the
    survivors into zero matrices. Returns the final weights, in the model's shapes."""
    from torch.func import functional_call

    params = dict(model.named_parameters())
    free = {}
    for name, p in params.items():
        value = p.detach()[masks[name]] if name in masks else p.detach()
        free[name] = value.clone().requires_grad_(True)
    optimizer = make_optimizer(list(free.values()))

    def weights():
        out = {}
        for name, value in free.items():
            if name in masks:
                full = torch.zeros_like(params[name])
                out[name] = full.masked_scatter(masks[name], value)
            else:
                out[name] = value
        return out

    for step in range(num_steps):
        index = slice((step * 8) % 32, (step * 8) % 32 + 8)
        loss = F.cross_entropy(functional_call(model, weights(), (X[index],)), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {name: value.detach() for name, value in weights().items()}


def _masked_run(model, masks, make_optimizer, X, y, num_steps, with_optimizer_hook=False):
    optimizer = make_optimizer(list(model.parameters()))
    handle = pruning.attach_masks(model, masks, optimizer if with_optimizer_hook else None)
    for step in range(num_steps):
        index = slice((step * 8) % 32, (step * 8) % 32 + 8)
        loss = F.cross_entropy(model(X[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    handle.remove()
    return {name: p.detach() for name, p in model.named_parameters()}


OPTIMIZERS = {
    "sgd-momentum-decay": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=5e-3),
    "sgd-nesterov": lambda p: torch.optim.SGD(
        p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3
    ),
    "adam-decay": lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=1e-3),
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=1e-2),
}


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_pruned_weights_stay_zero_and_survivors_move_as_without_the_pruned_weights(kind):
    model = _net()
    masks = pruning.magnitude_prune(model, None, 0.6)
    X, y = _data()
    masked = _masked_run(copy.deepcopy(model), masks, OPTIMIZERS[kind], X, y, num_steps=60)
    absent = _survivor_run(pruning.masked_copy(model, masks), masks, OPTIMIZERS[kind], X, y, 60)
    for name, mask in masks.items():
        assert torch.all(masked[name][~mask] == 0.0)
    for name, value in masked.items():
        # the same float64 operations on the same numbers: equal bit for bit
        assert torch.equal(value, absent[name]), name
    assert not torch.equal(masked["0.weight"], pruning.masked_copy(model, masks)[0].weight)


def test_a_mask_imposed_mid_training_holds_with_the_optimizer_hook():
    model = _net()
    X, y = _data()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3)
    for _ in range(5):  # dense steps: the momentum buffers are now non-zero everywhere
        optimizer.zero_grad()
        F.cross_entropy(model(X), y).backward()
        optimizer.step()
    masks = pruning.magnitude_prune(model, None, 0.5)
    handle = pruning.attach_masks(model, masks, optimizer)
    for _ in range(20):
        optimizer.zero_grad()
        F.cross_entropy(model(X), y).backward()
        optimizer.step()
    handle.remove()
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        assert torch.all(params[name][~mask] == 0.0)
        assert torch.all(optimizer.state[params[name]]["momentum_buffer"][~mask] == 0.0)


def test_train_masked_refuses_training_that_moves_pruned_weights():
    model = _net()
    masks = pruning.magnitude_prune(model, None, 0.5)

    def bad(m, start, stop):
        with torch.no_grad():
            m[0].weight.fill_(1.0)

    with pytest.raises(ValueError, match=r"^train_fn must be training that keeps pruned weights"):
        pruning.train_masked(model, masks, bad, 0, 3)


def test_reinitialize_is_a_fresh_mlp_from_another_seed_under_the_same_mask():
    model = nets.mlp(n_inputs=12, hidden=(10, 8), n_classes=3, seed=0)
    masks = pruning.magnitude_prune(model, None, 0.5)
    control = pruning.reinitialize(model, masks, seed=7)
    expected = pruning.masked_copy(
        nets.mlp(n_inputs=12, hidden=(10, 8), n_classes=3, seed=7), masks
    )
    for (name, a), b in zip(control.named_parameters(), expected.parameters()):
        assert torch.equal(a, b), name
    assert not torch.equal(control[0].weight, pruning.masked_copy(model, masks)[0].weight)


# ------------------------------------------------------------------- lottery tickets


class _Recorder:
    """A training callable: a few SGD steps per iteration on fixed data, remembering the
    weights each call started from."""

    def __init__(self):
        self.calls = []
        self.X, self.y = _data()

    def __call__(self, model, start, stop):
        self.calls.append((start, stop, copy.deepcopy(model.state_dict())))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
        for _ in range(start, stop):
            optimizer.zero_grad()
            F.cross_entropy(model(self.X), self.y).backward()
            optimizer.step()
        with torch.no_grad():
            return float(F.cross_entropy(model(self.X), self.y))


@pytest.mark.parametrize("k", [0, 3])
def test_imp_rewinds_survivors_to_iteration_k_and_prunes_by_trained_magnitude(k):
    model = _net()
    initial = copy.deepcopy(model.state_dict())
    recorder = _Recorder()
    rates = pruning.layer_rates(model)
    tickets = pruning.iterative_magnitude_pruning(
        model, recorder, num_rounds=3, num_iterations=8, rate=rates, rewind_iteration=k
    )
    assert all(torch.equal(initial[n], v) for n, v in model.state_dict().items())
    calls = recorder.calls[1:] if k else recorder.calls
    assert [(a, b) for a, b, _ in recorder.calls] == [(0, k)] * bool(k) + [(k, 8)] * 4
    rewind = calls[0][2]  # where the dense round started: W_k
    assert all(torch.equal(rewind[n], tickets.rewind_state[n]) for n in initial)
    if k:  # W_k is where the dense prefix run ended, not W_0
        assert not torch.equal(rewind["0.weight"], initial["0.weight"])
    else:
        assert all(torch.equal(rewind[n], initial[n]) for n in initial)
    for r, (_, _, start) in enumerate(calls):
        masks = tickets.rounds[r].masks
        for name, value in start.items():
            expected = rewind[name] * masks[name] if name in masks else rewind[name]
            assert torch.equal(value, expected), (r, name)
        if r:
            previous = tickets.rounds[r - 1]
            assert all(bool((masks[n] <= previous.masks[n]).all()) for n in masks)
            again = pruning.magnitude_prune(
                _loaded(model, previous.trained_state), previous.masks, rates
            )
            assert all(torch.equal(again[n], masks[n]) for n in masks)
    assert all(isinstance(t.result, float) for t in tickets.rounds)
    left = tickets.rounds[3].remaining.per_layer
    assert left["0.weight"] == pytest.approx(0.8**3, abs=0.01)
    ticket = tickets.ticket(model, 2)
    assert all(
        torch.equal(a, b) for a, b in zip(ticket.state_dict().values(), calls[2][2].values())
    )


def _loaded(model, state):
    other = copy.deepcopy(model)
    other.load_state_dict(state)
    return other


def test_imp_with_training_by_nets_train_keeps_its_masks():
    model = nets.mlp(n_inputs=12, hidden=(10,), n_classes=3, seed=0)
    X, y = _data()
    X, y = X.float().numpy(), y.numpy()

    def train_fn(m, start, stop):
        log = nets.train(m, X, y, lr=0.05, num_epochs=stop - start, batch_size=8, seed=start)
        return log.train_acc[-1]

    tickets = pruning.iterative_magnitude_pruning(model, train_fn, 2, 4, rate=0.5, scope="global")
    assert [t.remaining.alive for t in tickets.rounds] == [150, 75, 37]  # round(37.5) = 38 cut
    for t in tickets.rounds:
        trained = _loaded(model, t.trained_state)
        for name, mask in t.masks.items():
            assert torch.all(dict(trained.named_parameters())[name][~mask] == 0.0)


# ------------------------------------------------------------------------ bad input


def test_bad_input_is_refused_with_messages_that_name_it():
    model = _net()
    with pytest.raises(ValueError, match=r"^model must be a torch.nn.Module; got int\.$"):
        pruning.prunable(3)
    with pytest.raises(ValueError, match=r"^model must be a network with Linear or Conv layers"):
        pruning.prunable(torch.nn.ReLU())
    with pytest.raises(ValueError, match=r"^rate must be a number in \[0, 1\]; got 1\.5\.$"):
        pruning.magnitude_prune(model, None, 1.5)
    with pytest.raises(ValueError, match=r"^scope must be one of \('layer', 'global'\)"):
        pruning.magnitude_prune(model, None, 0.2, scope="local")
    with pytest.raises(ValueError, match=r"^rate must be keyed by names of the masked parameters"):
        pruning.magnitude_prune(model, None, {"0.bias": 0.2})
    with pytest.raises(ValueError, match=r"^masks must be keyed by names of the model's param"):
        pruning.apply_masks(model, {"nope": torch.ones(3)})
    with pytest.raises(ValueError, match=r"^masks\['0.weight'\] must be a tensor of shape"):
        pruning.apply_masks(model, {"0.weight": torch.ones(3)})
    with pytest.raises(ValueError, match=r"^rewind_iteration must be an integer from 0 to 5"):
        pruning.iterative_magnitude_pruning(model, _Recorder(), 1, 5, rewind_iteration=6)
    with pytest.raises(ValueError, match=r"^train_fn must be a callable train_fn"):
        pruning.iterative_magnitude_pruning(model, None, 1, 5)

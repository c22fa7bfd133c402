"""Unit tests of generalization.rebasin against independent computations: dense permutation
matrices, torch's parameter vector, brute force over every permutation, exact factorials."""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
from torch.nn.utils import parameters_to_vector

from generalization import nets, rebasin


def small_mlp(seed, hidden=(6, 5, 4), n_inputs=7, n_classes=3, dropout=0.0):
    return nets.mlp(
        n_inputs=n_inputs, hidden=hidden, n_classes=n_classes, dropout=dropout, seed=seed
    )


def random_perms(widths, seed):
    rng = np.random.default_rng(seed)
    return [rng.permutation(d) for d in widths]


def vec(model):
    return parameters_to_vector(model.parameters()).detach().double()


# --- permute ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_permuted_model_computes_the_same_function(dtype):
    model = small_mlp(0, hidden=(16, 12, 8), dropout=0.3).to(dtype).eval()
    perms = random_perms((16, 12, 8), seed=1)
    permuted = rebasin.permute(model, perms).eval()
    X = torch.randn(50, 7, dtype=dtype, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        gap = (model(X) - permuted(X)).abs().max().item()
    assert gap < (1e-5 if dtype == torch.float32 else 1e-12)
    assert not torch.equal(vec(model), vec(permuted))  # the weights did move


def test_permute_matches_dense_permutation_matrices_and_leaves_the_model_alone():
    model = small_mlp(3)
    before = vec(model).clone()
    perms = random_perms((6, 5, 4), seed=4)
    permuted = rebasin.permute(model, perms)
    assert torch.equal(vec(model), before)
    P = [np.eye(len(p))[p] for p in perms]  # P @ W == W[p]
    P_in, P_out = np.eye(7), np.eye(3)
    chain = [P_in, *P, P_out]
    old = [m for m in model if isinstance(m, nn.Linear)]
    new = [m for m in permuted if isinstance(m, nn.Linear)]
    for k, (a, b) in enumerate(zip(old, new)):
        W = a.weight.detach().double().numpy()
        expected = chain[k + 1] @ W @ chain[k].T  # W_l' = P_l W_l P_{l-1}^T
        assert np.allclose(b.weight.detach().double().numpy(), expected, atol=0)
        bias = chain[k + 1] @ a.bias.detach().double().numpy()
        assert np.allclose(b.bias.detach().double().numpy(), bias, atol=0)


def test_permuting_by_the_inverse_restores_the_weights_exactly():
    model = small_mlp(5)
    perms = random_perms((6, 5, 4), seed=6)
    back = rebasin.permute(rebasin.permute(model, perms), [np.argsort(p) for p in perms])
    assert torch.equal(vec(back), vec(model))


# --- the objective ---------------------------------------------------------------------------


def test_objective_is_the_inner_product_of_the_parameter_vectors():
    a, b = small_mlp(7), small_mlp(8)
    perms = random_perms((6, 5, 4), seed=9)
    expected = float(vec(a) @ vec(rebasin.permute(b, perms)))
    assert rebasin.objective(a, b, perms) == pytest.approx(expected, rel=1e-12)
    assert rebasin.objective(a, b) == pytest.approx(float(vec(a) @ vec(b)), rel=1e-12)


# --- weight matching -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weight_matching_recovers_a_known_permutation_exactly(seed):
    widths = (32, 24, 16)
    model_a = small_mlp(seed, hidden=widths, n_inputs=20, n_classes=10)
    hidden = random_perms(widths, seed=100 + seed)
    model_b = rebasin.permute(model_a, hidden)
    perms, info = rebasin.weight_matching(model_a, model_b, seed=seed, return_info=True)
    for found, applied in zip(perms, hidden):
        assert np.array_equal(found, np.argsort(applied))
    assert torch.equal(vec(rebasin.permute(model_b, perms)), vec(model_a))
    assert info.converged


def test_one_hidden_layer_matches_brute_force_over_all_permutations():
    model_a = small_mlp(11, hidden=(5,), n_inputs=4, n_classes=3)
    model_b = small_mlp(12, hidden=(5,), n_inputs=4, n_classes=3)
    va = vec(model_a).numpy()
    W1, b1, W2, b2 = (p.detach().double().numpy() for p in model_b.parameters())
    values = {}
    for p in itertools.permutations(range(5)):  # all 120, by dense matrices
        P = np.eye(5)[list(p)]
        vb = np.concatenate([(P @ W1).ravel(), P @ b1, (W2 @ P.T).ravel(), b2])
        values[p] = va @ vb
    best = max(values, key=values.get)
    perms = rebasin.weight_matching(model_a, model_b)
    assert tuple(perms[0]) == best
    assert rebasin.objective(model_a, model_b, perms) == pytest.approx(values[best], rel=1e-12)


def test_objective_never_decreases_and_ends_at_the_returned_permutations():
    model_a = small_mlp(13, hidden=(12, 10, 8), n_inputs=9)
    model_b = small_mlp(14, hidden=(12, 10, 8), n_inputs=9)
    perms, info = rebasin.weight_matching(model_a, model_b, seed=3, return_info=True)
    assert info.objective.shape == (1 + 3 * info.sweeps,)
    assert np.all(np.diff(info.objective) >= 0)
    assert info.objective[-1] > info.objective[0]  # unrelated networks: matching helps
    assert info.converged and info.sweeps >= 2
    final = float(vec(model_a) @ vec(rebasin.permute(model_b, perms)))
    assert info.objective[-1] == pytest.approx(final, rel=1e-10)
    assert info.objective[0] == pytest.approx(float(vec(model_a) @ vec(model_b)), rel=1e-12)


def test_matching_brings_the_weights_closer():
    model_a, model_b = small_mlp(15), small_mlp(16)
    perms = rebasin.weight_matching(model_a, model_b)
    before = torch.linalg.norm(vec(model_a) - vec(model_b))
    after = torch.linalg.norm(vec(model_a) - vec(rebasin.permute(model_b, perms)))
    assert after < before


def test_max_iter_one_stops_after_one_pass():
    model_a, model_b = small_mlp(17), small_mlp(18)
    _, info = rebasin.weight_matching(model_a, model_b, max_iter=1, return_info=True)
    assert info.sweeps == 1 and info.objective.shape == (4,)


def test_log10_symmetries_counts_factorials():
    assert rebasin.log10_symmetries((5, 3)) == pytest.approx(math.log10(120 * 6), rel=1e-12)
    exact = math.factorial(512) ** 3  # the paper's Table 1 architecture, as an exact integer
    assert math.floor(rebasin.log10_symmetries((512, 512, 512))) == len(str(exact)) - 1
    assert rebasin.hidden_widths(small_mlp(0)) == (6, 5, 4)


# --- bad input -------------------------------------------------------------------------------


def test_rejects_models_that_are_not_mlps():
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2, 3))
    with pytest.raises(
        ValueError,
        match=r"model must be a torch.nn.Sequential of Linear layers.*got modules \['Conv2d'",
    ):
        rebasin.permute(conv, [np.arange(2)])
    with pytest.raises(ValueError, match="model_a must be a torch.nn.Sequential.*; got Linear."):
        rebasin.weight_matching(nn.Linear(3, 2), small_mlp(0))
    with pytest.raises(
        ValueError, match=r"model_b must be .*; got 1 Linear layer \(no hidden layer\)."
    ):
        rebasin.weight_matching(small_mlp(0), nn.Sequential(nn.Linear(7, 3)))
    with pytest.raises(ValueError, match="ending with a Linear layer; got modules"):
        rebasin.hidden_widths(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.ReLU()))
    broken = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(5, 2))
    with pytest.raises(
        ValueError, match="model must have matching widths .*; got 4 outputs of layer 0"
    ):
        rebasin.hidden_widths(broken)


def test_rejects_models_of_different_shapes():
    with pytest.raises(
        ValueError,
        match=r"model_b must have the same Linear layer shapes as model_a; got \[\(7, 7\)",
    ):
        rebasin.weight_matching(small_mlp(0), small_mlp(1, hidden=(7, 5, 4)))


def test_rejects_wrong_permutations():
    model = small_mlp(0)
    with pytest.raises(
        ValueError, match=r"perms must hold one permutation per hidden layer \(3\); got 2."
    ):
        rebasin.permute(model, [np.arange(6), np.arange(5)])
    with pytest.raises(
        ValueError, match=r"perms\[1\] must be a permutation of 0, ..., 4 .*; got 4 distinct"
    ):
        rebasin.permute(model, [np.arange(6), np.arange(4), np.arange(4)])
    with pytest.raises(
        ValueError, match=r"perms\[1\] must be a permutation of 0, ..., 4 .*up to 5."
    ):
        rebasin.permute(model, [np.arange(6), np.arange(1, 6), np.arange(4)])
    with pytest.raises(
        ValueError, match=r"perms\[0\] must be a non-empty sequence of distinct non-negative"
    ):
        rebasin.permute(model, [[0, 0, 1, 2, 3, 4], np.arange(5), np.arange(4)])
    with pytest.raises(ValueError, match="perms must be a sequence of 3 permutations; got int."):
        rebasin.objective(model, model, 3)


def test_rejects_bad_iteration_counts_and_seeds():
    with pytest.raises(ValueError, match="max_iter must be a positive integer; got 0."):
        rebasin.weight_matching(small_mlp(0), small_mlp(1), max_iter=0)
    with pytest.raises(ValueError, match="seed must be a non-negative integer; got -1."):
        rebasin.weight_matching(small_mlp(0), small_mlp(1), seed=-1)
    with pytest.raises(
        ValueError, match="widths must be a non-empty sequence of positive integers"
    ):
        rebasin.log10_symmetries([])

"""Unit tests of the chapter module of book/part4/depth_separation.md against independent
computations."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from generalization import depth
from generalization.chapters.part4 import depth_separation as ds


def test_inputs_are_the_midpoints_of_a_uniform_grid():
    np.testing.assert_allclose(ds.inputs(4).numpy(), [0.125, 0.375, 0.625, 0.875])
    with pytest.raises(ValueError, match="n_points must be a positive integer; got 0."):
        ds.inputs(0)


def test_init_params_put_the_first_kinks_in_the_unit_interval():
    params = ds.init_params((64, 3), seed=5)
    assert [tuple(W.shape) for W, _ in params] == [(64, 1), (3, 64), (1, 3)]
    W, b = params[0]
    kinks = -b / W[:, 0]
    assert torch.all((kinks >= 0) & (kinks <= 1))
    assert torch.all(params[1][1] == 0) and params[2][1].item() == 0.5
    again = ds.init_params((64, 3), seed=5)
    assert all(torch.equal(p, q) for pair, other in zip(params, again) for p, q in zip(pair, other))
    with pytest.raises(ValueError, match="widths must be a non-empty sequence of positive"):
        ds.init_params((0,), seed=0)


def test_forward_and_to_network_agree_with_the_construction():
    noisy = ds.construction_params(3, noise=0.1, seed=1)
    params = ds.stack([ds.construction_params(3), noisy])
    x = torch.arange(257, dtype=torch.float64) / 256
    out = ds.forward(params, x).numpy()
    np.testing.assert_array_equal(out[0], depth.sawtooth(x.numpy(), 3))
    with torch.no_grad():
        np.testing.assert_array_equal(ds.to_network(params, 0)(x[:, None])[:, 0].numpy(), out[0])
    assert depth.linear_pieces(ds.to_network(params, 0), 0, 1) == depth.sawtooth_pieces(3)
    assert not torch.equal(noisy[0][0], params[0][0][0])
    with torch.no_grad():
        np.testing.assert_allclose(ds.to_network(params, 1)(x[:, None])[:, 0].numpy(), out[1])


def _adam_on_a_sequential(net, x, y, lr, num_steps):
    """torch.optim.Adam with the same cosine schedule, on one ordinary nn.Sequential."""
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, num_steps)
    for _ in range(num_steps):
        loss = ((net(x[:, None])[:, 0] - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
    return net


def test_batched_training_is_training_each_network_alone():
    x = ds.inputs(32)
    nets = [ds.init_params((5,), seed) for seed in (0, 1, 2)]
    targets = torch.as_tensor(np.array([depth.sawtooth(x.numpy(), k) for k in (1, 2, 3)]))
    trained = ds.train_batch(ds.stack(nets), targets, x, lr=0.01, num_steps=40)
    for i in range(3):
        alone = _adam_on_a_sequential(
            ds.to_network(ds.stack([nets[i]]), 0), x, targets[i], 0.01, 40
        )
        batched = ds.to_network(trained, i)
        for p, q in zip(alone.parameters(), batched.parameters()):
            np.testing.assert_allclose(
                p.detach().numpy(), q.detach().numpy(), rtol=1e-10, atol=1e-12
            )
    unchanged = ds.train_batch(ds.stack(nets), targets, x, lr=0.01, num_steps=0)
    assert torch.equal(unchanged[0][0], ds.stack(nets)[0][0])


def test_dead_units_agrees_with_a_grid():
    # a network with one unit dead on [0, 1] in each hidden layer, and one always alive
    W1, b1 = [[1.0], [-1.0]], [0.5, -2.0]  # second unit: -x - 2 < 0 on [0, 1]
    W2, b2 = [[1.0, 0.0], [-1.0, 0.0]], [0.0, -0.1]  # second: -(x + 0.5) - 0.1 < 0
    layers = []
    for W, b in ((W1, b1), (W2, b2), ([[1.0, 1.0]], [0.0])):
        linear = nn.Linear(len(W[0]), len(W), dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(W))
            linear.bias.copy_(torch.tensor(b))
        layers += [linear, nn.ReLU()]
    net = nn.Sequential(*layers[:-1])
    assert ds.dead_units(net) == 2
    grid = torch.linspace(0, 1, 1001, dtype=torch.float64)[:, None]
    with torch.no_grad():
        h1 = net[1](net[0](grid))
        h2 = net[3](net[2](h1))
    assert int((h1.max(0).values == 0).sum() + (h2.max(0).values == 0).sum()) == 2
    assert ds.dead_units(depth.sawtooth_network(4)) == 0


def test_two_layer_sawtooth_is_the_composition():
    net = ds.two_layer_sawtooth(2)
    x = np.arange(1025) / 1024
    with torch.no_grad():
        out = net(torch.as_tensor(x)[:, None])[:, 0].numpy()
    np.testing.assert_allclose(out, depth.sawtooth(x, 4), atol=1e-12)
    with pytest.raises(ValueError, match="j must be a positive integer; got 0."):
        ds.two_layer_sawtooth(0)


def test_small_sweeps_have_the_documented_shapes():
    sh = ds.shallow_sweep.uncached((2,), (2, 3), (0,), n_points=16, lr=0.01, num_steps=3)
    assert sh.l1.shape == sh.pieces.shape == (1, 2, 1)
    assert sh.curves.shape == (1, 2, 1, ds.PLOT_POINTS)
    assert np.all(sh.l1 >= sh.measured_bound)
    deep = ds.deep_sweep.uncached((1, 2), 2, (0, 1), n_points=16, lr=0.01, num_steps=3)
    assert deep.l1.shape == deep.dead.shape == (2, 2)
    pert = ds.perturbed_start.uncached(2, (0.0, 0.5), (0,), n_points=16, lr=0.01, num_steps=2)
    assert pert.l1_start[0, 0] == 0 and pert.pieces.shape == (2, 1)
    with pytest.raises(ValueError, match="ks must be a non-empty sequence of positive integers"):
        ds.deep_sweep.uncached((0,), 2, (0,), n_points=16, lr=0.01, num_steps=1)

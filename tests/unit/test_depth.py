from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn as nn
from scipy.integrate import quad

from generalization import depth


def relu_net(*layers):
    """A Sequential of Linear layers given as (weight, bias) lists, with ReLUs between them."""
    modules = []
    for i, (W, b) in enumerate(layers):
        W = torch.tensor(W, dtype=torch.float64)
        linear = nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(W)
            linear.bias.copy_(torch.tensor(b, dtype=torch.float64))
        modules.append(linear)
        if i < len(layers) - 1:
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)


def random_net(widths, seed, scale=1.0):
    """A random ReLU network with hidden widths ``widths`` (one input, one output)."""
    rng = np.random.default_rng(seed)
    dims = [1, *widths, 1]
    return relu_net(
        *[
            (scale * rng.standard_normal((o, i)), scale * rng.standard_normal(o))
            for i, o in zip(dims, dims[1:])
        ]
    )


def evaluate(net, x):
    with torch.no_grad():
        return net(torch.as_tensor(x, dtype=torch.float64)[:, None])[:, 0].numpy()


def lemma_3_17(z, k):
    """Telgarsky (2016), Lemma 3.17: z = (i + r) 2^(1-k) with r in [0, 1); f^k = 2r or 2(1-r)."""
    scaled = z * 2.0 ** (k - 1)
    r = scaled - np.floor(scaled)
    return np.where(r <= 0.5, 2 * r, 2 * (1 - r))


# --- the sawtooth and its network --------------------------------------------------------


def test_tent_is_the_relu_formula_and_vanishes_outside_the_unit_interval():
    x = np.linspace(-1.5, 2.5, 801)
    relu = lambda z: np.maximum(z, 0)  # noqa: E731
    np.testing.assert_allclose(depth.tent(x), relu(2 * relu(x) - 4 * relu(x - 0.5)), atol=1e-15)
    assert np.all(depth.tent(x[(x <= 0) | (x >= 1)]) == 0)
    assert depth.tent(0.5) == 1.0


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8])
def test_sawtooth_matches_the_closed_form_of_lemma_3_17(k):
    z = np.random.default_rng(k).random(2000)
    np.testing.assert_allclose(depth.sawtooth(z, k), lemma_3_17(z, k), atol=1e-9)
    np.testing.assert_array_equal(depth.sawtooth(z, 0), z)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 6])
def test_the_network_is_the_composition_exactly(k):
    net = depth.sawtooth_network(k)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert sum(isinstance(m, nn.ReLU) for m in net) == k and len(linears) == k + 1
    assert [m.out_features for m in linears[:-1]] == [2] * k  # 2k ReLU units in k layers
    dyadic = np.arange(2**12 + 1) / 2**12  # exact in floating point
    np.testing.assert_array_equal(evaluate(net, dyadic), depth.sawtooth(dyadic, k))
    # as functions on [0, 1], in exact arithmetic: the same knots, slopes and intercepts
    assert depth.linear_pieces(net, 0, 1) == depth.sawtooth_pieces(k)
    if k >= 2:  # beyond [0, 1] too
        wide = np.arange(-(2**11), 2**12 + 2**11 + 1) / 2**11 - 0.5
        np.testing.assert_array_equal(evaluate(net, wide), depth.sawtooth(wide, k))


def test_the_depth_one_network_differs_from_the_tent_only_beyond_one():
    x = np.array([-1.0, 0.0, 0.25, 1.0, 1.5])
    np.testing.assert_array_equal(evaluate(depth.sawtooth_network(1), x), [0, 0, 0.5, 0, -1])


# --- exact counts of linear pieces -------------------------------------------------------


@pytest.mark.parametrize("k", range(1, 8))
def test_the_sawtooth_network_has_two_to_the_k_pieces(k):
    assert depth.count_linear_pieces(depth.sawtooth_network(k), 0, 1) == 2**k


@pytest.mark.parametrize("seed", range(5))
def test_a_shallow_network_has_one_piece_more_than_its_kinks_inside(seed):
    # independently: unit j bends at t_j = -b_j / w_j, and its kink has slope change a_j |w_j|
    rng = np.random.default_rng(seed)
    m = 12
    w, b, a = rng.standard_normal(m), rng.standard_normal(m), rng.standard_normal(m)
    net = relu_net((w[:, None].tolist(), b.tolist()), ([a.tolist()], [0.3]))
    for lo, hi in ((-1.0, 1.0), (-3.0, 0.5), (-100.0, 100.0)):
        kinks = -b / w
        expected = 1 + int(np.sum((kinks > lo) & (kinks < hi)))
        assert depth.count_linear_pieces(net, lo, hi) == expected <= m + 1


def test_coincident_kinks_count_once():
    # relu(x - 1/2), relu(2x - 1) and relu(1/2 - x) all bend at 1/2: two pieces, one kink
    net = relu_net(([[1.0], [2.0], [-1.0]], [-0.5, -1.0, 0.5]), ([[1.0, 1.0, 1.0]], [0.0]))
    pieces = depth.linear_pieces(net, 0, 1)
    assert pieces.count == 2
    assert pieces.knots[1] == Fraction(1, 2)
    assert pieces.slopes == (Fraction(-1), Fraction(3))  # slope change 1 + 2 + 1


@pytest.mark.parametrize(
    "net, expected",
    [
        (relu_net(([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, -1.0]], [0.0])), 1),  # relu(x)-relu(-x)
        (relu_net(([[1.0], [2.0]], [-0.5, -1.0]), ([[2.0, -1.0]], [0.0])), 1),  # kinks cancel
        (relu_net(([[1.0], [-1.0]], [-0.25, 0.25]), ([[1.0, 1.0]], [0.0])), 2),  # |x - 1/4|
        (relu_net(([[1.0]], [5.0]), ([[1.0]], [0.0])), 1),  # a kink outside [-1, 1]
        (relu_net(([[1.0]], [-5.0]), ([[1.0]], [0.0])), 1),  # a unit dead on [-1, 1]
        # two layers: x = relu(x) - relu(-x) fed to a unit whose input x + 5 never goes negative
        (
            relu_net(([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, -1.0]], [5.0]), ([[1.0]], [0.0])),
            1,
        ),
        # the same with the second unit bending at 1/2 and the first layer's kink cancelling
        (
            relu_net(([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, -1.0]], [-0.5]), ([[1.0]], [0.0])),
            2,
        ),
    ],
)
def test_collinear_neighbours_merge(net, expected):
    assert depth.count_linear_pieces(net, -1, 1) == expected


def test_the_count_is_exact_for_the_stored_floats():
    # 0.25 + 0.5 = 0.75 in binary: the kinks at 0 cancel; 0.1 + 0.2 != 0.3 as floats: they do not
    for (p, q, r), expected in (((0.25, 0.5, 0.75), 1), ((0.1, 0.2, 0.3), 2)):
        net = relu_net(([[p], [q], [r]], [0.0, 0.0, 0.0]), ([[1.0, 1.0, -1.0]], [0.0]))
        assert depth.count_linear_pieces(net, -1, 1) == expected
    assert 0.1 + 0.2 != 0.3 and 0.25 + 0.5 == 0.75


def _sampled_pieces(net, lo, hi, n=2**16):
    """Pieces seen on a fine grid: runs of equal activation patterns, each with the line through
    its first and last grid points, neighbours on the same line merged (tolerance 1e-9)."""
    x = torch.linspace(lo, hi, n, dtype=torch.float64)[:, None]
    patterns, h = [], x
    with torch.no_grad():
        for module in net:
            h = module(h)
            if isinstance(module, nn.ReLU):
                patterns.append(h > 0)
    code = torch.cat(patterns, dim=1).numpy()
    x, y = x[:, 0].numpy(), h[:, 0].numpy()
    starts = np.r_[0, 1 + np.flatnonzero(np.any(code[1:] != code[:-1], axis=1))]
    ends = np.r_[starts[1:] - 1, n - 1]
    lines = []
    for i, j in zip(starts, ends):
        assert j > i, "the grid must put two points in every run"
        slope = (y[j] - y[i]) / (x[j] - x[i])
        line = (slope, y[i] - slope * x[i])
        if not lines or not np.allclose(line, lines[-1], rtol=1e-9, atol=1e-9):
            lines.append(line)
    return len(lines)


@pytest.mark.parametrize("widths, seed", [((3, 3), 0), ((4, 2, 3), 1), ((5, 5), 3), ((3, 3, 3), 4)])
def test_deep_random_networks_match_a_fine_grid_and_the_product_bound(widths, seed):
    net = random_net(widths, seed)
    count = depth.count_linear_pieces(net, -2, 2)
    assert count == _sampled_pieces(net, -2, 2)
    assert count <= np.prod(np.array(widths) + 1)


def test_float32_networks_are_read_exactly():
    net = random_net((5, 4), 3).float()
    pieces = depth.linear_pieces(net, -2, 2)
    x = np.linspace(-2, 2, 501)
    np.testing.assert_allclose(pieces(x), evaluate(net.double(), x), atol=1e-12)


# --- piecewise-linear functions and L1 distances -------------------------------------------


def test_interpolant_and_its_network_agree_exactly():
    knots, values = [0.0, 0.25, 0.5, 0.75, 1.0], [0.5, 1.0, -1.0, 0.0, 2.0]
    exact = depth.interpolant(knots, values)
    net = depth.interpolant_network(knots, values)
    assert sum(m.out_features for m in net if isinstance(m, nn.Linear)) - 1 == 4  # P units
    assert depth.linear_pieces(net, 0, 1) == exact and exact.count == 4
    x = np.random.default_rng(0).random(200)
    np.testing.assert_allclose(exact(x), np.interp(x, knots, values), atol=1e-14)
    # collinear knots merge
    assert depth.interpolant([0, 1, 2, 3], [0, 1, 2, 0]).count == 2


@pytest.mark.parametrize("k", [1, 3, 5])
def test_the_shallow_sawtooth_has_two_to_the_k_units_and_no_error(k):
    knots = np.arange(2**k + 1) / 2**k
    net = depth.interpolant_network(knots, np.arange(2**k + 1) % 2)
    assert net[0].out_features == 2**k
    assert depth.l1_distance(net, depth.sawtooth_pieces(k), exact=True) == 0


@pytest.mark.parametrize("seed", range(3))
def test_l1_distance_matches_quadrature(seed):
    f, g = random_net((4, 3), seed), random_net((6,), seed + 10)
    points = sorted(
        set(depth.linear_pieces(f, -1, 2).breakpoints)
        | set(depth.linear_pieces(g, -1, 2).breakpoints)
    )

    def gap(x):
        return abs(evaluate(f, [x])[0] - evaluate(g, [x])[0])

    reference = quad(gap, -1, 2, points=points, limit=500, epsabs=1e-12, epsrel=1e-12)[0]
    assert depth.l1_distance(f, g, -1, 2) == pytest.approx(reference, rel=1e-9, abs=1e-12)
    assert depth.l1_distance(f, g, -1, 2) == depth.l1_distance(g, f, -1, 2)
    assert depth.l1_distance(f, f, -1, 2, exact=True) == 0


@pytest.mark.parametrize("k", [1, 4, 7])
def test_the_sawtooth_is_a_quarter_from_the_constant_one_half(k):
    half = depth.interpolant([0, 1], [Fraction(1, 2), Fraction(1, 2)])
    assert depth.l1_distance(depth.sawtooth_pieces(k), half, exact=True) == Fraction(1, 4)


# --- lower bounds --------------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 3, 5])
def test_the_tooth_bound_is_attained_by_a_constant_and_vanishes_at_half_the_pieces(k):
    assert depth.l1_lower_bound(1, k) == 0.25  # the constant 1/2 attains it (test above)
    assert depth.l1_lower_bound(2 ** (k - 1) + 1, k) == 0
    assert depth.l1_lower_bound(2 ** (k - 1), k) == pytest.approx(0.25 / 2 ** (k - 1))


@pytest.mark.parametrize("k", [3, 4])
def test_no_function_with_few_pieces_beats_either_bound(k):
    # random functions with p pieces and hand-made near-optimal ones: exact on the first j
    # teeth, then a ramp to 1/2 and the constant 1/2
    rng = np.random.default_rng(k)
    saw = depth.sawtooth_pieces(k)
    for p in range(1, 2 ** (k - 1) + 2):
        for _ in range(20):
            knots = np.r_[0.0, np.sort(rng.random(p - 1)), 1.0]
            g = depth.interpolant(np.unique(knots), rng.random(len(np.unique(knots))))
            error = depth.l1_distance(saw, g)
            assert error >= depth.l1_lower_bound(g.count, k) - 1e-15
            assert error >= depth.telgarsky_l1_lower_bound(g.count, k) - 1e-15
    width = 2.0 ** (1 - k)
    for j in range(2 ** (k - 1)):
        ends = [i * width / 2 for i in range(2 * j + 1)]
        knots = [*ends, ends[-1] + width / 2, 1.0]
        values = [i % 2 for i in range(2 * j + 1)] + [0.5, 0.5]
        g = depth.interpolant(knots, values)
        assert depth.l1_distance(saw, g) >= depth.l1_lower_bound(g.count, k)


def test_telgarsky_bound_by_hand_and_below_the_tooth_bound():
    assert depth.telgarsky_l1_lower_bound(2, 4) == 9 / 256  # 2^-8 (16 + 1 - 8)
    assert depth.telgarsky_l1_lower_bound(5, 4) == 0
    for k in range(1, 9):
        for p in range(1, 2**k):
            assert depth.telgarsky_l1_lower_bound(p, k) <= depth.l1_lower_bound(p, k)


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: depth.sawtooth([0.5], -1), "k must be a non-negative integer; got -1."),
        (lambda: depth.sawtooth_network(0), "k must be a positive integer; got 0."),
        (lambda: depth.l1_lower_bound(0, 3), "pieces must be a positive integer; got 0."),
        (lambda: depth.telgarsky_l1_lower_bound(2, 0), "k must be a positive integer; got 0."),
        (
            lambda: depth.count_linear_pieces(nn.Sequential(nn.Linear(2, 1)), 0, 1),
            "f must be a torch.nn.Sequential of nn.Linear and nn.ReLU layers with one input and "
            "one output; got a Linear layer with 2 inputs after a layer of width 1.",
        ),
        (
            lambda: depth.count_linear_pieces(nn.Sequential(nn.Linear(1, 2), nn.Tanh()), 0, 1),
            "f must be a torch.nn.Sequential .*; got a Tanh layer.",
        ),
        (
            lambda: depth.count_linear_pieces(nn.Sequential(nn.Linear(1, 2)), 0, 1),
            "f must be .*; got 2 outputs.",
        ),
        (lambda: depth.count_linear_pieces(nn.Linear(1, 1), 0, 1), "f must be .*; got Linear."),
        (
            lambda: depth.count_linear_pieces(depth.sawtooth_network(2), 1, 1),
            "b must be above a = 1.0; got 1.0.",
        ),
        (
            lambda: depth.interpolant([0, 1, 1], [0, 1, 2]),
            "knots must be a strictly increasing sequence of at least two numbers",
        ),
        (lambda: depth.interpolant([0, 1], [0]), r"values must have one entry per knot \(2\)"),
        (
            lambda: depth.interpolant_network([0, 1], [0, 1, 2]),
            r"values must have one entry per knot \(2\); got shape \(3,\).",
        ),
        (
            lambda: depth.l1_distance(depth.sawtooth_pieces(2), depth.sawtooth_pieces(2), 0, 2),
            r"f must be defined on all of \[0, 2\]; got the domain \[0, 1\].",
        ),
        (
            lambda: depth.l1_distance(depth.sawtooth_pieces(2), np.zeros(3)),
            "g must be a PiecewiseLinear or a torch.nn.Sequential ReLU network; got ndarray.",
        ),
        (lambda: depth.sawtooth_pieces(1)([1.5]), r"x must lie in the domain \[0, 1\]"),
    ],
)
def test_bad_input_is_refused_with_a_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()

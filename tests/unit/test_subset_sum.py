"""Tests of generalization.subset_sum against brute force over all subsets, evaluations of the
pruned network itself, its guaranteed bound, and Monte Carlo over random networks."""

import itertools

import numpy as np
import pytest
import torch
from scipy import stats

from generalization import nets
from generalization import subset_sum as ss


@pytest.fixture(autouse=True)
def one_thread():
    with nets.threads(1):
        yield


def _target(hidden=(4,), n_inputs=3, n_classes=2, seed=0):
    return nets.mlp(n_inputs=n_inputs, hidden=hidden, n_classes=n_classes, seed=seed).double()


def _brute_force(values, target):
    """The smallest |target - subset sum| over all 2**n subsets, by listing them."""
    n = len(values)
    return min(
        abs(target - sum(values[list(s)]))
        for r in range(n + 1)
        for s in itertools.combinations(range(n), r)
    )


# ------------------------------------------------------------------------- subset sums


@pytest.mark.parametrize("n", [1, 2, 5, 8, 11])
def test_best_subsets_finds_the_optimum_of_brute_force(n):
    rng = np.random.default_rng(n)
    values = rng.uniform(-1, 1, (30, n)) * rng.uniform(0, 1, (30, n))  # products, as in a net
    targets = rng.uniform(-1.5, 1.5, 30)
    chosen, errors = ss.best_subsets(values, targets)
    exact = np.array([_brute_force(v, t) for v, t in zip(values, targets)])
    np.testing.assert_allclose(errors, exact, rtol=0, atol=1e-12)
    realized = np.abs(targets - np.where(chosen, values, 0).sum(1))
    np.testing.assert_allclose(realized, errors, rtol=0, atol=1e-15)


def test_best_subsets_solves_the_textbook_instance():
    """{3, 34, 4, 12, 5, 2}: 9 = 4 + 5 is reachable; 30 is not (closest: 26 without 34, or 34)."""
    values = np.array([3.0, 34.0, 4.0, 12.0, 5.0, 2.0])
    chosen, error = ss.best_subsets(values, 9.0)
    assert error == 0.0 and values[chosen].sum() == 9.0
    assert ss.best_subsets(values, 30.0)[1] == 4.0
    assert ss.best_subsets(values, 100.0)[1] == 100.0 - values.sum()
    assert not ss.best_subsets(values, 0.4)[0].any()  # the empty subset is closest


# ------------------------------------------------------------------- the random network


def test_random_network_has_the_block_widths_and_uniform_weights():
    target = _target(hidden=(4, 5))
    assert ss.random_widths(target, 6) == (4 * 6, 4, 5 * 6, 5, 6 * 6)
    assert ss.random_widths(target, (2, 3, 4)) == (8, 4, 15, 5, 24)
    net = ss.random_network(target, 6, seed=3, scale=0.5)
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    assert [m.weight.shape[0] for m in linears] == [24, 4, 30, 5, 36, 2]
    assert net[0].weight.dtype == torch.float64
    values = torch.cat([p.detach().reshape(-1) for p in net.parameters()]).numpy()
    assert np.abs(values).max() <= 0.5
    assert stats.kstest(values, stats.uniform(-0.5, 1.0).cdf).pvalue > 1e-3
    again = ss.random_network(target, 6, seed=3, scale=0.5)
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), again.parameters()))


# ----------------------------------------------------------------------- the construction


@pytest.mark.parametrize("method", ["subset_sum", "product"])
def test_the_pruned_network_is_a_masked_copy_of_the_random_one(method):
    target = _target()
    random_net = ss.random_network(target, 10, seed=1)
    before = [p.detach().clone() for p in random_net.parameters()]
    result = ss.prune_to_approximate(target, random_net, method=method)
    for (name, p), q, old in zip(random_net.named_parameters(), result.pruned.parameters(), before):
        assert torch.equal(p, old)  # the random network is untouched
        mask = result.masks[name]
        assert torch.equal(q[mask], p[mask])  # bit for bit
        assert torch.all(q[~mask] == 0.0)
    assert result.kept == sum(int(m.sum()) for m in result.masks.values())
    assert not result.masks["2.bias"].any() and not result.masks["6.bias"].any()
    # each kept first-layer weight of block j reads input j only
    U = result.masks["0.weight"].numpy()
    rows, cols = np.nonzero(U)
    assert np.all(rows // 10 == cols)


def _block(pruned, i):
    """The pruned two-layer block i of the network, as a function of its input."""
    first, second = pruned[4 * i], pruned[4 * i + 2]
    return lambda h: second(torch.relu(first(h)))


@pytest.mark.parametrize("method", ["subset_sum", "product"])
def test_each_block_computes_the_weights_whose_errors_are_reported(method):
    """Evaluate every pruned block at 0 and at +-e_j: f(0) is the bias it realizes,
    f(e_j) - f(0) the column S+ and f(0) - f(-e_j) the column S- of the weights it realizes."""
    target = _target(hidden=(5,))
    result = ss.prune_to_approximate(target, ss.random_network(target, 16, seed=2), method=method)
    linears = [m for m in target if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for i, layer in enumerate(linears):
            block = _block(result.pruned, i)
            d_in = layer.in_features
            eye = torch.eye(d_in, dtype=torch.float64)
            zero = block(torch.zeros(1, d_in, dtype=torch.float64))[0]
            plus = (block(eye) - zero).T.numpy()
            minus = (zero - block(-eye)).T.numpy()
            W = layer.weight.numpy()
            errors = np.maximum(np.abs(plus - W), np.abs(minus - W))
            np.testing.assert_allclose(errors, result.weight_errors[i], atol=1e-12)
            np.testing.assert_allclose(
                np.abs(zero.numpy() - layer.bias.numpy()), result.bias_errors[i], atol=1e-12
            )


@pytest.mark.parametrize("method", ["subset_sum", "product"])
def test_each_weight_gets_the_best_choice_of_brute_force(method):
    """A one-layer target: for every weight, list the products of its block by sign and
    find the best subset (or single product, or none) by enumerating all of them."""
    torch.manual_seed(0)
    target = torch.nn.Sequential(torch.nn.Linear(3, 2)).double()
    n = 10
    random_net = ss.random_network(target, n, seed=6)
    result = ss.prune_to_approximate(target, random_net, method=method)
    U = random_net[0].weight.detach().numpy()
    V = random_net[2].weight.detach().numpy()
    c = random_net[0].bias.detach().numpy()
    W, b = target[0].weight.detach().numpy(), target[0].bias.detach().numpy()

    def best(products, w):
        if method == "product":
            return min([abs(w)] + [abs(w - p) for p in products])
        return _brute_force(products, w)

    for k in range(2):
        for j in range(3):
            u = U[j * n : (j + 1) * n, j]
            products = V[k, j * n : (j + 1) * n] * u
            expected = max(best(products[u > 0], W[k, j]), best(products[u < 0], W[k, j]))
            assert result.weight_errors[0][k, j] == pytest.approx(expected, abs=1e-12)
        bias_block = c[3 * n :]
        products = V[k, 3 * n :][bias_block > 0] * bias_block[bias_block > 0]
        assert result.bias_errors[0][k] == pytest.approx(best(products, b[k]), abs=1e-12)


@pytest.mark.parametrize("method", ["subset_sum", "product"])
@pytest.mark.parametrize("radius", [1.0, 3.0])
def test_the_output_stays_within_the_guaranteed_bound(method, radius):
    target = _target(hidden=(6, 4))
    result = ss.prune_to_approximate(
        target, ss.random_network(target, 14, seed=4), method=method, radius=radius
    )
    X = np.random.default_rng(5).uniform(-radius, radius, (2000, 3))
    X[:8] = radius * np.array(list(itertools.product([-1, 1], repeat=3)))  # the corners
    error = ss.approximation_error(target, result.pruned, X)
    assert error.sup <= result.bound
    assert error.mean <= error.sup
    assert result.bound == ss.error_bound(target, result.weight_errors, result.bias_errors, radius)


def test_eps_is_refused_when_the_random_network_is_too_narrow():
    target = _target()
    narrow = ss.random_network(target, 4, seed=0)
    with pytest.raises(ValueError, match=r"^random_net must be wide enough for eps = 0\.01"):
        ss.prune_to_approximate(target, narrow, eps=0.01)
    wide = ss.random_network(target, 32, seed=1)  # guaranteed error 1.5e-3
    result = ss.prune_to_approximate(target, wide, eps=0.01)
    assert result.bound <= 0.01


def test_the_error_falls_with_width_fast_for_subset_sums_and_slowly_for_products():
    """Monte Carlo over 6 random networks per width. The median per-weight error: SubsetSum
    from n = 8 to 24 (about 4 to 12 items per sign) falls by more than 30x (measured, on three
    sets of seeds: 92x to 210x); one product per weight from n = 8 to 256 by more than 5x
    (measured: 20x to 27x), and SubsetSum at n = 24 is below products at n = 256 (measured:
    about 1e-3 against 6e-3). The median over networks of the mean output error on 500 inputs
    falls by more than 5x for both (measured: 10x to 62x)."""
    target = _target()
    X = np.random.default_rng(9).uniform(-1, 1, (500, 3))

    def errors(n, method):
        weights, outputs = [], []
        for seed in range(6):
            result = ss.prune_to_approximate(
                target, ss.random_network(target, n, seed), method=method
            )
            weights.append(np.concatenate([e.ravel() for e in result.weight_errors]))
            outputs.append(ss.approximation_error(target, result.pruned, X).mean)
        return np.median(np.concatenate(weights)), np.median(outputs)

    subset_8, subset_24 = errors(8, "subset_sum"), errors(24, "subset_sum")
    product_8, product_256 = errors(8, "product"), errors(256, "product")
    assert subset_24[0] < subset_8[0] / 30
    assert product_256[0] < product_8[0] / 5
    assert subset_24[0] < product_256[0] / 2
    assert subset_24[1] < subset_8[1] / 5
    assert product_256[1] < product_8[1] / 5


# ------------------------------------------------------------------------ bad input


def test_bad_input_is_refused_with_messages_that_name_it():
    target = _target()
    with pytest.raises(ValueError, match=r"^targets must be one target per row of values \(2\)"):
        ss.best_subsets(np.ones((2, 3)), np.ones(3))
    with pytest.raises(ValueError, match=r"^values must be at most 40 items per instance"):
        ss.best_subsets(np.ones((1, 41)), 1.0)
    with pytest.raises(ValueError, match=r"^target must be a ReLU MLP of Linear and ReLU layers"):
        ss.random_network(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh()), 4)
    with pytest.raises(ValueError, match=r"^target must be a ReLU MLP whose last layer is Linear"):
        ss.random_network(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU()), 4)
    with pytest.raises(ValueError, match=r"^n must be a positive integer; got 0\.$"):
        ss.random_network(target, 0)
    with pytest.raises(ValueError, match=r"^n must be one positive integer or 2 of them"):
        ss.random_network(target, (3, 4, 5))
    with pytest.raises(
        ValueError, match=r"^random_net must be a network of 4 Linear layers \(twice"
    ):
        ss.prune_to_approximate(target, target)
    with pytest.raises(ValueError, match=r"^method must be one of \('subset_sum', 'product'\)"):
        ss.prune_to_approximate(target, ss.random_network(target, 4), method="greedy")
    with pytest.raises(ValueError, match=r"^random_net must be blocks with at most 40 neurons"):
        ss.prune_to_approximate(target, ss.random_network(target, 120, seed=0))
    other = ss.random_network(_target(n_inputs=5), 4)
    with pytest.raises(
        ValueError, match=r"^random_net must be layers of shapes \(24, 3\) and \(4, 24\)"
    ):
        ss.prune_to_approximate(target, other)

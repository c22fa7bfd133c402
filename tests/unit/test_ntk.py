import copy
import math

import numpy as np
import pytest
import torch
from scipy import integrate

from generalization import ntk


def points(n=4, d=5, seed=0):
    """n Gaussian points in R^d, the last one the negative of the first (correlation -1)."""
    X = np.random.default_rng(seed).standard_normal((n, d))
    X[-1] = -X[0]
    return X


def explicit_ntk(model, X1, X2):
    """Theta[i, j, a, b] from one torch.autograd.grad call per example and output."""
    params = [p for p in model.parameters() if p.requires_grad]

    def gradients(X):
        rows = []
        for x in torch.as_tensor(X, dtype=params[0].dtype):
            out = model(x[None]).reshape(-1)
            rows.append(
                [
                    torch.cat(
                        [g.reshape(-1) for g in torch.autograd.grad(o, params, retain_graph=True)]
                    )
                    for o in out
                ]
            )
        return torch.stack([torch.stack(r) for r in rows]).double().numpy()  # (n, k, P)

    return np.einsum("iap,jbp->ijab", gradients(X1), gradients(X2))


# --- the infinite-width kernels against numerical integration ----------------------------


def gaussian_moments(var_u, var_v, cov):
    """E[relu(u) relu(v)] and P(u > 0, v > 0) by 2-D quadrature (scipy), for (u, v) centred
    Gaussian: u = a z1, v = b (rho z1 + s z2) with z standard normal; both positive where
    z1 > 0 and z2 > -rho z1 / s."""
    a, b = math.sqrt(var_u), math.sqrt(var_v)
    rho = cov / (a * b)
    s = math.sqrt(max(1.0 - rho * rho, 0.0))
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    low = lambda z1: -rho * z1 / s  # noqa: E731
    opts = dict(epsabs=1e-13, epsrel=1e-12)
    relu = integrate.dblquad(
        lambda z2, z1: a * z1 * b * (rho * z1 + s * z2) * phi(z1) * phi(z2),
        0,
        np.inf,
        low,
        np.inf,
        **opts,
    )[0]
    step = integrate.dblquad(lambda z2, z1: phi(z1) * phi(z2), 0, np.inf, low, np.inf, **opts)[0]
    return relu, step


def quadrature_kernels(x, z, depth, weight_var, bias_var):
    """Sigma and Theta at (x, z) by the layer recursion with quadrature for the expectations."""
    d = len(x)
    s_xx = weight_var * x @ x / d + bias_var
    s_zz = weight_var * z @ z / d + bias_var
    s_xz = weight_var * x @ z / d + bias_var
    theta = s_xz
    for _ in range(depth):
        relu, step = gaussian_moments(s_xx, s_zz, s_xz)
        s_xz = weight_var * relu + bias_var
        theta = s_xz + theta * weight_var * step
        s_xx = weight_var * s_xx / 2 + bias_var  # E[relu(u)^2] = var / 2, by symmetry
        s_zz = weight_var * s_zz / 2 + bias_var
    return s_xz, theta


@pytest.mark.parametrize("depth, weight_var, bias_var", [(1, 2.0, 0.0), (3, 1.5, 0.2)])
def test_kernels_match_the_recursion_with_quadrature_expectations(depth, weight_var, bias_var):
    X = np.random.default_rng(1).standard_normal((3, 4))
    nngp, ntk_ = ntk.relu_kernels(X[:2], X[1:], depth, weight_var, bias_var)
    for i, j in [(0, 0), (0, 1), (1, 1)]:  # every pair of different points
        expected = quadrature_kernels(X[i], X[1:][j], depth, weight_var, bias_var)
        np.testing.assert_allclose([nngp[i, j], ntk_[i, j]], expected, rtol=1e-9, atol=1e-11)


def test_arora_et_al_sum_of_products_form_is_the_same_kernel():
    # Arora et al. (2019): no input scaling, c_sigma = 2 after each activation, no biases;
    # Theta = sum_{h=1}^{depth+1} Sigma^(h-1) prod_{h'=h}^{depth+1} Sigma_dot^(h'), with
    # Sigma_dot^(depth+1) = 1: ours times d / 2, by the homogeneity of the ReLU.
    X, depth = np.random.default_rng(7).standard_normal((4, 6)), 3
    sigma, dots = [X @ X.T], []
    for _ in range(depth):
        norms = np.sqrt(np.diag(sigma[-1]))
        t = np.arccos(np.clip(sigma[-1] / np.outer(norms, norms), -1, 1))
        sigma.append(np.outer(norms, norms) * (np.sin(t) + (np.pi - t) * np.cos(t)) / np.pi)
        dots.append((np.pi - t) / np.pi)
    dots.append(np.ones((4, 4)))
    theta = sum(sigma[h] * np.prod(dots[h:], axis=0) for h in range(depth + 1))
    ours = ntk.relu_ntk(X, None, depth) * 6 / 2
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_allclose(ours[off], theta[off], rtol=1e-14)
    np.testing.assert_allclose(np.diag(ours), np.diag(theta), rtol=1e-6)  # arccos near 1 there


def test_depth_one_is_the_arc_cosine_kernel_of_order_one():
    # Cho and Saul (2009): E_w[relu(w.x) relu(w.x')] = ||x|| ||x'|| J_1(t) / (2 pi),
    # J_1(t) = sin t + (pi - t) cos t, for w ~ N(0, I); here Sigma^2 = 2 * (2 / d) times it.
    rng = np.random.default_rng(2)
    x, z = rng.standard_normal((2, 3))
    t = math.acos(x @ z / np.linalg.norm(x) / np.linalg.norm(z))
    j1 = math.sin(t) + (math.pi - t) * math.cos(t)
    expected = 2 * (2 / 3) * np.linalg.norm(x) * np.linalg.norm(z) * j1 / (2 * math.pi)
    assert ntk.relu_nngp(x[None], z[None], 1)[0, 0] == pytest.approx(expected, rel=1e-14)
    W = np.random.default_rng(3).standard_normal((400_000, 3))  # and by Monte Carlo
    mc = 2 * (2 / 3) * np.mean(np.maximum(W @ x, 0) * np.maximum(W @ z, 0))
    assert mc == pytest.approx(expected, rel=0.01)  # standard error about 0.3 %


def test_the_diagonal_is_exact():
    X = points(n=5, d=7)
    sq = 2 * np.sum(X**2, axis=1) / 7
    for depth in (0, 1, 4):
        nngp, ntk_ = ntk.relu_kernels(X, None, depth)
        np.testing.assert_allclose(np.diag(nngp), sq, rtol=1e-15)  # Sigma^l(x, x) = 2||x||^2/d
        np.testing.assert_allclose(np.diag(ntk_), (depth + 1) * sq, rtol=1e-15)
        np.testing.assert_array_equal(nngp, nngp.T)
    var, theta = 0.8 * np.sum(X**2, axis=1) / 7 + 0.3, None  # with a bias, by hand
    theta = var
    for _ in range(3):
        var = 0.8 * var / 2 + 0.3
        theta = var + theta * 0.8 / 2
    nngp, ntk_ = ntk.relu_kernels(X, None, 3, weight_var=0.8, bias_var=0.3)
    np.testing.assert_allclose(np.diag(nngp), var, rtol=1e-15)
    np.testing.assert_allclose(np.diag(ntk_), theta, rtol=1e-15)
    # X2 = X1 given explicitly goes through the arc cosine near 1: close, not exact
    np.testing.assert_allclose(ntk.relu_ntk(X, X, 3, 0.8, 0.3), ntk_, rtol=1e-7)


def test_antipodal_orthogonal_and_zero_inputs():
    x = np.array([[1.0, 2.0, -2.0]])  # ||x||^2 = 9, so Sigma^1(x, x) = 2 * 9 / 3 = 6
    z = np.array([[2.0, 1.0, 2.0]])  # orthogonal to x, the same norm
    assert ntk.relu_ntk(x, -x, 1)[0, 0] == 0.0  # kappa_0(-1) = kappa_1(-1) = 0
    # depth 2: Sigma^2(x, -x) = 0, so rho = 0 at the second layer: Sigma^3 = 6 / pi
    np.testing.assert_allclose(ntk.relu_kernels(x, -x, 2), [[[6 / math.pi]]] * 2, rtol=1e-15)
    # orthogonal, depth 1: Sigma^2 = 6 kappa_1(0) = 6 / pi, and Theta adds Sigma^1 = 0
    np.testing.assert_allclose(ntk.relu_kernels(x, z, 1), [[[6 / math.pi]]] * 2, rtol=1e-15)
    zero = np.zeros((1, 3))
    np.testing.assert_array_equal(ntk.relu_kernels(zero, np.r_[x, zero], 2), np.zeros((2, 1, 2)))


def test_blocks_of_rows_change_nothing(monkeypatch):
    X = np.random.default_rng(4).standard_normal((7, 3))
    whole = ntk.relu_kernels(X, None, 2, 2.0, 0.1)
    monkeypatch.setattr(ntk, "BLOCK_ROWS", 3)
    np.testing.assert_allclose(ntk.relu_kernels(X, None, 2, 2.0, 0.1), whole, rtol=1e-15)


# --- the network and its limit -------------------------------------------------------------


def test_a_linear_network_has_the_first_layer_kernel_exactly():
    X = points()
    model = ntk.mlp((5, 3), bias_var=0.5, seed=1, dtype="float64")
    expected = 2.0 * X @ X.T / 5 + 0.5  # Theta^1 = Sigma^1, at any width
    np.testing.assert_allclose(ntk.empirical_ntk(model, X), expected, rtol=1e-13)
    np.testing.assert_allclose(ntk.relu_ntk(X, None, 0, 2.0, 0.5), expected, rtol=1e-14)


@pytest.mark.parametrize("depth, widths", [(1, (64, 512, 4096)), (2, (64, 256, 1024))])
def test_empirical_ntk_tends_to_relu_ntk_like_one_over_sqrt_width(depth, widths):
    # Six networks per width. Their mean kernel is within 5 / sqrt(width * 6) (in units of
    # the largest entry) of relu_ntk, a tolerance that shrinks like 1 / sqrt(width); and the
    # spread of single networks, times sqrt(width), stays flat from the narrowest to the widest.
    X, seeds = points(n=3), 6
    exact = ntk.relu_ntk(X, None, depth, bias_var=0.1)
    scale = np.max(exact)
    spread = []
    for width in widths:
        errors = np.array(
            [
                ntk.empirical_ntk(
                    ntk.mlp((5,) + (width,) * depth + (1,), bias_var=0.1, seed=s),
                    X,
                    max_bytes=2**30,
                )
                - exact
                for s in range(seeds)
            ]
        )
        # measured max |mean error| * sqrt(width * 6) / scale: depth 1: 2.2, 0.7, 2.2;
        # depth 2: 2.8, 0.5, 3.8 (no bias: with 24 networks all within 1.5 standard errors)
        assert np.max(np.abs(errors.mean(0))) < 5 * scale / math.sqrt(width * seeds)
        spread.append(np.sqrt(np.mean(errors**2)) * math.sqrt(width) / scale)
    # measured: depth 1: 0.96, 0.64, 0.81; depth 2: 1.31, 0.95, 0.64
    assert all(0.3 < c < 3.0 for c in spread)
    assert 1 / 3 < spread[-1] / spread[0] < 3  # a width-independent error would give 8 or 4


def test_network_outputs_have_the_nngp_covariance():
    # The covariance of the outputs over 48 networks x 128 outputs each (depth 2, width
    # 512), against relu_nngp, within 4 standard errors of the network-to-network spread.
    X = points(n=3)
    outs = []
    for seed in range(48):
        model = ntk.mlp((5, 512, 512, 128), bias_var=0.2, seed=seed, dtype="float64")
        with torch.no_grad():
            f = model(torch.as_tensor(X)).numpy()  # (3, 128)
        outs.append(f @ f.T / f.shape[1])
    outs = np.array(outs)
    mean, se = outs.mean(0), outs.std(0, ddof=1) / math.sqrt(len(outs))
    exact = ntk.relu_nngp(X, None, 2, bias_var=0.2)
    assert np.all(np.abs(mean - exact) < 4 * se + 0.005 * np.max(exact))  # measured z <= 1.75
    assert np.max(se) < 0.04 * np.max(exact)  # the test has power: measured 0.029


# --- the empirical kernel against explicit gradients ---------------------------------------


class Gained(torch.nn.Module):
    """``gain * net(x)`` with a trainable scalar gain: a parameter outside any affine layer."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.gain = torch.nn.Parameter(torch.tensor(1.3, dtype=torch.float64))

    def forward(self, x):
        return self.gain * self.net(x)


class Twice(torch.nn.Module):
    """One affine layer applied twice (shared weights): not a feed-forward chain of layers."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(5, 5, dtype=torch.float64)

    def forward(self, x):
        return self.layer(torch.tanh(self.layer(x))).sum(1)


def torch_mlp(seed=2, inplace=False):
    """A plain torch MLP (nn.Linear layers, tanh and ReLU), its first weight frozen."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(5, 12),
        torch.nn.Tanh(),
        torch.nn.Linear(12, 7),
        torch.nn.ReLU(inplace=inplace),  # in place: it overwrites the layer's output h
        torch.nn.Linear(7, 2),
    ).double()
    net[0].weight.requires_grad_(False)
    return net


MODELS = {
    "mlp": lambda: ntk.mlp((5, 16, 8, 3), bias_var=0.3, seed=2, dtype="float64"),
    "torch": torch_mlp,
    "inplace": lambda: torch_mlp(inplace=True),
    "gained": lambda: Gained(ntk.mlp((5, 9, 2), seed=3, dtype="float64")),
    "twice": Twice,
}


@pytest.mark.parametrize("implementation", ["jacobian", "ntvp", "structured", "auto"])
@pytest.mark.parametrize("name", list(MODELS))
def test_empirical_ntk_matches_per_example_autograd(implementation, name):
    model = MODELS[name]()
    if implementation == "structured" and name in ("gained", "twice"):
        with pytest.raises(ValueError, match=r"model must be a network whose trainable para"):
            ntk.empirical_ntk(model, points(), implementation=implementation)
        return
    X1, X2 = points(n=4), points(n=3, seed=5)
    expected = explicit_ntk(model, X1, X2)  # (4, 3, k, k)
    k = expected.shape[-1]
    kw = dict(implementation=implementation, max_bytes=2000)  # ntvp: blocks of one row
    full = ntk.empirical_ntk(model, X1, X2, outputs="full", **kw)
    np.testing.assert_allclose(full, expected, rtol=1e-12, atol=1e-13)
    mean = ntk.empirical_ntk(model, X1, X2, **kw)
    np.testing.assert_allclose(mean, np.einsum("ijaa->ij", expected) / k, rtol=1e-12, atol=1e-13)
    symmetric = ntk.empirical_ntk(model, X1, outputs="full", **kw)  # X2 = X1, symmetrized
    np.testing.assert_allclose(symmetric, explicit_ntk(model, X1, X1), rtol=1e-12, atol=1e-13)


def test_the_auto_path_picks_the_structured_then_the_jacobian_then_ntvp(monkeypatch):
    X = points()
    calls = []
    for name in ("_structured", "_contract", "_ntvp"):
        original = getattr(ntk, name)
        spy = lambda *a, _f=original, _n=name: calls.append(_n) or _f(*a)  # noqa: E731
        monkeypatch.setattr(ntk, name, spy)
    ntk.empirical_ntk(ntk.mlp((5, 40, 1), seed=4), X)
    gained = Gained(ntk.mlp((5, 40, 1), seed=4, dtype="float64"))  # 241 parameters
    ntk.empirical_ntk(gained, X, max_bytes=4 * 241 * 8)  # 4 rows x 241 x 8 bytes: fits
    ntk.empirical_ntk(gained, X, max_bytes=4 * 241 * 8 - 1)
    assert calls == ["_structured", "_contract", "_ntvp"]


def test_empirical_ntk_is_symmetric_and_positive_semidefinite():
    X = np.random.default_rng(6).standard_normal((12, 5))
    X[5] = X[2]  # a repeated point: the kernel is singular
    model = ntk.mlp((5, 32, 2), seed=3)
    for outputs in ("mean", "full"):
        K = ntk.empirical_ntk(model, X, outputs=outputs)
        assert K.dtype == np.float32
        K = K.astype(float) if outputs == "mean" else K.transpose(0, 2, 1, 3).reshape(24, 24)
        np.testing.assert_array_equal(K, K.T)
        assert np.linalg.eigvalsh(K)[0] > -1e-5 * np.linalg.eigvalsh(K)[-1]


def test_one_small_step_moves_outputs_by_the_kernel():
    # SGD on (f(x) - y)^2 / 2 at one example x: f(x') moves by -lr Theta(x', x)(f(x) - y)
    # plus O(lr^2); the ratio tends to 1 like lr.
    X = points(n=3)
    y = 0.7
    ratios = []
    for lr in (1e-2, 1e-3, 1e-4):
        model = ntk.mlp((5, 64, 64, 1), bias_var=0.1, seed=5, dtype="float64")
        theta = ntk.empirical_ntk(model, X[1:], X[:1])[:, 0]
        inputs = torch.as_tensor(X)
        with torch.no_grad():
            before = model(inputs)[:, 0].numpy()
        loss = (model(inputs[:1])[0, 0] - y) ** 2 / 2
        grads = torch.autograd.grad(loss, list(model.parameters()))
        with torch.no_grad():
            for p, g in zip(model.parameters(), grads):
                p -= lr * g
            after = model(inputs)[:, 0].numpy()
        ratios.append((after - before)[1:] / (-lr * theta * (before[0] - y)))
    errors = np.abs(np.array(ratios) - 1).max(axis=1)  # measured 2.5e-4, 2.5e-5, 2.5e-6
    assert errors[0] < 1e-3
    np.testing.assert_allclose(errors[:-1] / errors[1:], 10, rtol=0.05)  # first order: O(lr)


def test_standard_parametrization_is_the_same_function_with_other_gradients():
    X = points()
    widths = (5, 24, 16, 1)
    a = ntk.mlp(widths, "ntk", weight_var=1.7, bias_var=0.4, seed=7, dtype="float64")
    b = ntk.mlp(widths, "standard", weight_var=1.7, bias_var=0.4, seed=7, dtype="float64")
    inputs = torch.as_tensor(X)
    with torch.no_grad():
        np.testing.assert_allclose(a(inputs).numpy(), b(inputs).numpy(), rtol=1e-13)
    # each weight's part of the NTK: standard = (fan_in / weight_var) * ntk; biases 1 / bias_var
    pairs = list(zip(a.named_parameters(), b.named_parameters()))
    for (name, p), (_, q) in pairs:
        for (_, r), (_, s) in pairs:
            r.requires_grad_(r is p)
            s.requires_grad_(s is q)
        factor = p.shape[1] / 1.7 if name.endswith("weight") else 1 / 0.4
        np.testing.assert_allclose(
            ntk.empirical_ntk(b, X), factor * ntk.empirical_ntk(a, X), rtol=1e-12
        )


def test_float32_networks_are_the_float64_draw_rounded():
    a, b = ntk.mlp((3, 8, 2), seed=9), ntk.mlp((3, 8, 2), seed=9, dtype=torch.float64)
    for p, q in zip(a.parameters(), b.parameters()):
        assert p.dtype == torch.float32 and q.dtype == torch.float64
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().float().numpy())
    assert len(list(ntk.mlp((3, 8, 2), bias_var=0.0).parameters())) == 2  # no bias at all


def test_zero_input_without_bias_has_a_zero_kernel_row():
    X = np.r_[np.zeros((1, 5)), points(n=2)]
    K = ntk.empirical_ntk(ntk.mlp((5, 16, 16, 1), seed=1, dtype="float64"), X)
    np.testing.assert_array_equal(K[0], 0.0)
    np.testing.assert_array_equal(ntk.relu_ntk(X, None, 2)[0], 0.0)


# --- linearization and gradient descent ---------------------------------------------------


def test_the_linearized_model_is_the_first_order_taylor_model():
    X = torch.as_tensor(points())
    model = ntk.mlp((5, 16, 2), bias_var=0.2, seed=3, dtype="float64")
    lin = ntk.linearize(model)
    with torch.no_grad():
        f0 = model(X)
        np.testing.assert_array_equal(lin(X).numpy(), f0.numpy())
        delta = [
            0.1 * torch.randn(p.shape, generator=torch.Generator().manual_seed(i), dtype=p.dtype)
            for i, p in enumerate(model.parameters())
        ]
        for p, d in zip(lin.parameters(), delta):
            p += d
        moved = lin(X) - f0
        eps = 1e-5  # the directional derivative by central differences on the network
        plus, minus = copy.deepcopy(model), copy.deepcopy(model)
        for net, sign in ((plus, 1), (minus, -1)):
            for p, d in zip(net.parameters(), delta):
                p += sign * eps * d
        derivative = (plus(X) - minus(X)) / (2 * eps)
        np.testing.assert_allclose(moved.numpy(), derivative.numpy(), rtol=1e-7, atol=1e-9)
        for p, d in zip(lin.parameters(), delta):  # linear in theta - theta_0
            p += d
        np.testing.assert_allclose((lin(X) - f0).numpy(), 2 * moved.numpy(), rtol=1e-12)
    # its NTK is the network's at theta_0, wherever theta is
    np.testing.assert_allclose(ntk.empirical_ntk(lin, X), ntk.empirical_ntk(model, X), rtol=1e-12)


def test_linearizing_a_network_with_frozen_parameters_keeps_them_fixed():
    X = torch.as_tensor(points())
    model = torch_mlp()  # its first weight frozen
    lin = ntk.linearize(model)
    assert len(list(lin.parameters())) == 5  # three weights and three biases, less the frozen one
    with torch.no_grad():
        np.testing.assert_array_equal(lin(X).numpy(), model(X).numpy())
    np.testing.assert_allclose(
        ntk.empirical_ntk(lin, X, outputs="full"),
        ntk.empirical_ntk(model, X, outputs="full"),
        rtol=1e-12,
        atol=1e-14,
    )


def test_gradient_descent_on_a_linear_layer_written_out():
    X, y = (
        np.random.default_rng(8).standard_normal((6, 4)),
        np.random.default_rng(9).standard_normal((6, 2)),
    )
    model = ntk.mlp((4, 2), "standard", seed=2, dtype="float64")
    W = model[0].weight.detach().numpy().copy()
    train, test = ntk.gradient_descent(model, X, y, 0.3, [5, 0, 2], X_test=X[:3] + 1)
    kept = {0: W.copy()}
    for t in range(1, 6):
        W = W - 0.3 * (X @ W.T - y).T @ X / 6  # grad of 1/(2n) ||X W^T - y||^2
        kept[t] = W.copy()
    np.testing.assert_allclose(train, [X @ kept[t].T for t in (5, 0, 2)], rtol=1e-12)
    np.testing.assert_allclose(test, [(X[:3] + 1) @ kept[t].T for t in (5, 0, 2)], rtol=1e-12)


@pytest.mark.parametrize("lr", [0.02, 0.7])  # u = lr lambda / n: all small, and up to 1.4
def test_closed_form_matches_gradient_descent_on_the_linearized_network(lr):
    rng = np.random.default_rng(10)
    X, X_test, y = (
        rng.standard_normal((6, 4)),
        rng.standard_normal((3, 4)),
        rng.standard_normal((6, 3)),
    )
    model = ntk.mlp((4, 24, 3), bias_var=0.1, seed=4, dtype="float64")
    steps = [0, 1, 9, 60]
    K = ntk.empirical_ntk(model, X, outputs="full")
    u_max = lr * np.linalg.eigvalsh(K.transpose(0, 2, 1, 3).reshape(18, 18))[-1] / 6
    assert u_max < 2 and (u_max > 1 if lr > 0.1 else u_max < 0.1)  # measured 1.40, 0.040
    with torch.no_grad():
        f0, f0_test = model(torch.as_tensor(X)).numpy(), model(torch.as_tensor(X_test)).numpy()
    train, test = ntk.gd_predictions(
        K, ntk.empirical_ntk(model, X_test, X, outputs="full"), f0, f0_test, y, lr, steps
    )
    ran = ntk.gradient_descent(ntk.linearize(model), X, y, lr, steps, X_test=X_test)
    np.testing.assert_allclose(train, ran[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(test, ran[1], rtol=1e-10, atol=1e-12)


def test_closed_form_with_a_shared_singular_kernel_matches_the_iteration():
    # Theta of rank 3 on 5 points, shared by 2 outputs: iterate r <- (I - lr Theta / n) r.
    rng = np.random.default_rng(11)
    F = rng.standard_normal((8, 3))  # features: Theta = F F^T on the first 5 rows
    K, K_test = F[:5] @ F[:5].T, F[5:] @ F[:5].T
    f0, f0_test, y = (
        rng.standard_normal((5, 2)),
        rng.standard_normal((3, 2)),
        rng.standard_normal((5, 2)),
    )
    lr, steps = 1.3, [0, 4, 25]
    train, test = ntk.gd_predictions(K, K_test, f0, f0_test, y, lr, steps)
    r, g, kept = f0 - y, f0_test.copy(), {}
    for t in range(26):
        kept[t] = (y + r, g.copy())
        g -= lr / 5 * K_test @ r
        r = r - lr / 5 * K @ r
    np.testing.assert_allclose(train, [kept[t][0] for t in steps], rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(test, [kept[t][1] for t in steps], rtol=1e-11, atol=1e-12)
    one, _ = ntk.gd_predictions(K, None, f0[:, 0], None, y[:, 0], lr, [25])
    np.testing.assert_allclose(one[0], kept[25][0][:, 0], rtol=1e-11)


def test_the_decay_sums_are_accurate_for_tiny_steps():
    power, sums = ntk._decay_sums(np.array([0.0, 1e-12, -1e-9, 0.3, 1.5]), [7])
    np.testing.assert_allclose(
        power[0], [1.0, 1 - 7e-12, 1 + 7e-9, 0.7**7, (-0.5) ** 7], rtol=1e-15
    )
    np.testing.assert_allclose(sums[0, :3], [7.0, 7 - 21e-12, 7 + 21e-9], rtol=1e-15)
    np.testing.assert_allclose(sums[0, 3:], [(1 - 0.7**7) / 0.3, (1 + 0.5**7) / 1.5], rtol=1e-14)


# --- argument checks -------------------------------------------------------------------------

NET = ntk.mlp((5, 4, 1), seed=0)
X5 = points()
K4 = np.eye(4)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ntk.mlp((5,)), r"widths must be a sequence of at least 2 positive integers"),
        (lambda: ntk.mlp((5, 0, 1)), r"widths must be"),
        (lambda: ntk.mlp((5, 1), "mup"), r"parametrization must be one of \('ntk', 'standard'\)"),
        (lambda: ntk.mlp((5, 1), weight_var=0), r"weight_var must be a positive number; got 0"),
        (lambda: ntk.mlp((5, 1), bias_var=-1), r"bias_var must be a non-negative number"),
        (lambda: ntk.mlp((5, 1), seed=-1), r"seed must be a non-negative integer"),
        (lambda: ntk.mlp((5, 1), dtype="float16"), r"dtype must be one of 'float32', 'float64'"),
        (
            lambda: ntk.empirical_ntk(lambda x: x, X5),
            r"model must be a torch.nn.Module; got function",
        ),
        (
            lambda: ntk.empirical_ntk(torch.nn.ReLU(), X5),
            r"model must be a module with at least one",
        ),
        (lambda: ntk.empirical_ntk(NET, X5[0]), r"X1 must be a 2-D array; got shape \(5,\)"),
        (lambda: ntk.empirical_ntk(NET, X5, X5[:, :3]), r"X2 must be an array with 5 columns"),
        (lambda: ntk.empirical_ntk(NET, X5 * np.nan), r"X1 must be finite"),
        (lambda: ntk.empirical_ntk(NET, X5, outputs="trace"), r"outputs must be one of \('mean'"),
        (lambda: ntk.empirical_ntk(NET, X5, implementation="x"), r"implementation must be one of"),
        (lambda: ntk.empirical_ntk(NET, X5, max_bytes=0), r"max_bytes must be a positive integer"),
        (lambda: ntk.relu_ntk(X5, X5[:, :2], 1), r"X2 must be an array with 5 columns"),
        (lambda: ntk.relu_nngp(X5, None, -1), r"depth must be a non-negative integer; got -1"),
        (lambda: ntk.relu_nngp(X5, None, 1.0), r"depth must be a non-negative integer; got 1.0"),
        (lambda: ntk.relu_ntk(X5, None, 1, weight_var=-2), r"weight_var must be a positive"),
        (lambda: ntk.relu_ntk(X5, None, 1, bias_var=np.inf), r"bias_var must be a non-negative"),
        (lambda: ntk.linearize("net"), r"model must be a torch.nn.Module; got str"),
        (
            lambda: ntk.gradient_descent(NET, X5, np.ones(3), 0.1, [1]),
            r"y must be an array with 4 r",
        ),
        (
            lambda: ntk.gradient_descent(NET, X5, np.ones((4, 2)), 0.1, [1]),
            r"y must be an array matching the outputs, shape \(4, 1\); got shape \(4, 2\)",
        ),
        (
            lambda: ntk.gradient_descent(NET, X5, np.ones(4), 0, [1]),
            r"lr must be a positive number",
        ),
        (lambda: ntk.gradient_descent(NET, X5, np.ones(4), 0.1, []), r"steps must be a non-empty"),
        (
            lambda: ntk.gradient_descent(NET, X5, np.ones(4), 0.1, [1], X5[:, :2]),
            r"X_test must be an array with 5",
        ),
        (
            lambda: ntk.gd_predictions(K4, None, np.ones(4), None, np.ones(3), 0.1, [1]),
            r"f0_train must be an array with 3 rows",
        ),
        (
            lambda: ntk.gd_predictions(K4, None, np.ones((4, 1)), None, np.ones(4), 0.1, [1]),
            r"f0_train must be an array of the shape of y_train",
        ),
        (
            lambda: ntk.gd_predictions(K4[:3], None, np.ones(4), None, np.ones(4), 0.1, [1]),
            r"theta_train must be an array of shape \(4, 4\) or \(4, 4, 1, 1\); got shape \(3, 4\)",
        ),
        (
            lambda: ntk.gd_predictions(
                np.triu(K4 + 1), None, np.ones(4), None, np.ones(4), 0.1, [1]
            ),
            r"theta_train must be a symmetric kernel",
        ),
        (
            lambda: ntk.gd_predictions(K4, K4, np.ones(4), None, np.ones(4), 0.1, [1]),
            r"theta_test and f0_test must be both given or both None",
        ),
        (
            lambda: ntk.gd_predictions(K4, K4[:2], np.ones(4), np.ones(3), np.ones(4), 0.1, [1]),
            r"theta_test must be an array of shape \(3, 4\)",
        ),
        (
            lambda: ntk.gd_predictions(
                K4, K4[:2], np.ones(4), np.ones((2, 2)), np.ones(4), 0.1, [1]
            ),
            r"f0_test must be an array with rows of the shape",
        ),
        (
            lambda: ntk.gd_predictions(K4, None, np.ones(4), None, np.ones(4), 0.1, [-1]),
            r"steps must be a non-empty sequence of non-negative integers",
        ),
    ],
)
def test_bad_arguments_are_refused_with_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message):
        call()

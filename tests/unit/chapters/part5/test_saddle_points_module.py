"""Unit tests of the chapter module of book/part5/saddle_points.md against independent
computations (closed forms, finite differences, SciPy, torch.optim)."""

import numpy as np
import pytest
import torch
from scipy.linalg import sqrtm

from generalization import data, landscape
from generalization.chapters.part5 import saddle_points as sp


def _tiny(seed=0, n=12, d=3, h=2, c=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = np.arange(n) % c
    return sp.tanh_mlp(d, h, n_classes=c, seed=seed), X, y


def _symmetric(eigenvalues, seed=0):
    Q = np.linalg.qr(np.random.default_rng(seed).standard_normal((len(eigenvalues),) * 2))[0]
    return Q @ np.diag(eigenvalues) @ Q.T


def test_newton_step_is_the_newton_step_for_a_positive_definite_hessian():
    H = _symmetric([3.0, 1.0, 0.5])
    g = np.array([0.3, -1.0, 2.0])
    expected = -np.linalg.solve(H, g)
    assert np.allclose(sp.newton_step(g, H, damping=0.1), expected)
    assert np.allclose(sp.newton_step(g, H, damping=0.1, saddle_free=True), expected)


def test_saddle_free_step_uses_the_matrix_absolute_value():
    H = _symmetric([2.0, -0.7, 1.3, -4.0], seed=1)
    g = np.array([1.0, 0.5, -0.2, 0.3])
    absolute = np.real(sqrtm(H @ H))  # |H| = (H^2)^(1/2), independently of eigh
    assert np.allclose(sp.newton_step(g, H, 0.1, saddle_free=True), -np.linalg.solve(absolute, g))
    assert np.allclose(sp.newton_step(g, H, 0.1), -np.linalg.solve(H, g))


def test_newton_climbs_and_saddle_free_newton_descends_a_negative_curvature_direction():
    H = np.diag([1.0, -2.0])
    g = np.array([0.0, 1.0])  # the loss falls towards -y
    assert sp.newton_step(g, H, 0.1)[1] > 0  # up the slope, towards the saddle
    assert sp.newton_step(g, H, 0.1, saddle_free=True)[1] < 0


def test_newton_step_damping_floor_and_step_cap():
    H = np.diag([1e-6, 2.0])
    g = np.array([1.0, 1.0])
    assert np.allclose(sp.newton_step(g, H, damping=0.5), [-2.0, -0.5])
    capped = sp.newton_step(g, H, damping=0.5, max_step=0.1)
    assert np.linalg.norm(capped) == pytest.approx(0.1)
    assert np.allclose(capped / np.linalg.norm(capped), np.array([-2.0, -0.5]) / np.hypot(2, 0.5))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(damping=0.0), "damping must be a positive number"),
        (dict(H=np.eye(3)), r"H must have shape \(2, 2\)"),
        (dict(max_step=-1.0), "max_step must be a positive number"),
    ],
)
def test_newton_step_rejects_bad_input(kwargs, message):
    args = dict(g=np.ones(2), H=np.eye(2), damping=0.1) | kwargs
    with pytest.raises(ValueError, match=message):
        sp.newton_step(**args)


def test_toy_gradient_and_hessian_match_finite_differences():
    p = np.array([0.3, -0.7])
    h = 1e-6
    eye = np.eye(2)
    fd_grad = [(sp.toy_f(p + h * e) - sp.toy_f(p - h * e)) / (2 * h) for e in eye]
    fd_hess = np.array([(sp.toy_grad(p + h * e) - sp.toy_grad(p - h * e)) / (2 * h) for e in eye])
    assert np.allclose(sp.toy_grad(p), fd_grad, atol=1e-7)
    assert np.allclose(sp.toy_hessian(p), fd_hess, atol=1e-6)
    for name, point in sp.TOY_CRITICAL.items():
        assert np.allclose(sp.toy_grad(point), 0)
        assert (np.linalg.eigvalsh(sp.toy_hessian(point)).min() < 0) == (name == "saddle")


def test_newton_converges_to_the_saddle_and_saddle_free_newton_to_a_minimum():
    p0 = (0.4, 0.1)
    assert sp.classify_toy(sp.run_toy("newton", p0, 30, 0.05, 0.1)[-1]) == "saddle"
    assert sp.classify_toy(sp.run_toy("sfn", p0, 30, 0.05, 0.1)[-1]) == "minimum"
    gd = sp.run_toy("gd", p0, 200, 0.05, 0.1)[-1]
    assert np.allclose(gd, (0.0, 1.0), atol=1e-6)


def test_gradient_flatness_is_zero_in_the_kernel_and_one_on_the_top_eigenvector():
    H = np.diag([4.0, 1.0, 0.0])
    assert sp.gradient_flatness(H, np.array([0.0, 0.0, 2.0])) == 0.0
    assert sp.gradient_flatness(H, np.array([3.0, 0.0, 0.0])) == pytest.approx(1.0)
    assert np.isnan(sp.gradient_flatness(H, np.zeros(3)))
    with pytest.raises(ValueError, match=r"H must have shape \(2, 2\)"):
        sp.gradient_flatness(H, np.ones(2))


def test_regularized_gradient_and_hessian_match_finite_differences():
    model, X, y = _tiny()
    wd = 0.1
    theta = landscape.flat(model).numpy()
    g = sp.regularized_gradient(model, X, y, wd).numpy()
    H = sp.regularized_hessian(model, X, y, wd)
    h = 1e-5
    fd_g, fd_H = [], []
    for e in np.eye(theta.size):
        values, grads = [], []
        for sign in (1, -1):
            landscape.load_flat(model, theta + sign * h * e)
            values.append(sp.regularized_loss(model, X, y, wd))
            grads.append(sp.regularized_gradient(model, X, y, wd).numpy())
        fd_g.append((values[0] - values[1]) / (2 * h))
        fd_H.append((grads[0] - grads[1]) / (2 * h))
    assert np.allclose(g, fd_g, atol=1e-8)
    assert np.allclose(H, np.array(fd_H), atol=1e-7)


def test_gd_snapshots_match_torch_sgd_with_weight_decay():
    model, X, y = _tiny(seed=1)
    snaps = sp.gd_snapshots(model, X, y, 0.05, 0.3, (0, 1, 4))
    twin, _, _ = _tiny(seed=1)
    opt = torch.optim.SGD(twin.parameters(), lr=0.3, weight_decay=0.05)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    expected = [landscape.flat(twin).numpy()]
    for step in range(1, 5):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(twin(Xt), yt).backward()
        opt.step()
        if step in (1, 4):
            expected.append(landscape.flat(twin).numpy())
    assert np.allclose(snaps, np.array(expected), atol=1e-12)
    assert np.allclose(landscape.flat(model).numpy(), snaps[0])  # model left at the start


def test_find_critical_point_reaches_a_zero_gradient_and_describe_reports_it():
    model, X, y = _tiny(seed=2)
    theta0 = landscape.flat(model).numpy()
    theta = sp.find_critical_point(model, theta0, X, y, 0.1, max_evals=60)
    assert np.allclose(landscape.flat(model).numpy(), theta0)
    report = sp.describe(model, theta, X, y, 0.1)
    assert report.grad_norm < 1e-8
    dense = torch.func.hessian(
        lambda v: torch.nn.functional.cross_entropy(
            torch.func.functional_call(model, _split(model, v), (torch.as_tensor(X),)),
            torch.as_tensor(y),
        )
    )(torch.as_tensor(theta))
    eig = np.linalg.eigvalsh(dense.numpy() + 0.1 * np.eye(theta.size))
    assert np.allclose(report.eigenvalues, eig, atol=1e-10)
    assert report.index == pytest.approx(np.mean(eig < -1e-6 * np.abs(eig).max()))


def _split(model, vector):
    out, start = {}, 0
    for name, p in model.named_parameters():
        out[name] = vector[start : start + p.numel()].view_as(p)
        start += p.numel()
    return out


def test_pooled_mnist_averages_blocks_and_standardizes():
    X, y = sp.pooled_mnist(30, 7, seed=0)
    assert X.shape == (30, 16) and y.shape == (30,)
    assert np.bincount(y, minlength=10).min() == 3  # stratified
    assert np.allclose(X.mean(axis=0), 0, atol=1e-12)
    mnist = data.load_mnist()
    raw, _ = data.subsample(mnist.X_train, mnist.y_train, 30, 0, stratified=True)
    images = torch.as_tensor(raw, dtype=torch.float64).reshape(-1, 1, 28, 28)
    pooled = torch.nn.functional.avg_pool2d(images, 7).reshape(30, 16).numpy()
    assert np.allclose(X, (pooled - pooled.mean(0)) / (pooled.std(0) + 0.1))
    with pytest.raises(ValueError, match="pool must be one of"):
        sp.pooled_mnist(30, 5, seed=0)


def test_tanh_mlp_counts_its_parameters_and_is_float64():
    model = sp.tanh_mlp(16, 8)
    assert sum(p.numel() for p in model.parameters()) == 8 * 17 + 10 * 9
    assert all(p.dtype == torch.float64 for p in model.parameters())

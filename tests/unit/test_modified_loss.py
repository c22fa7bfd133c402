import numpy as np
import pytest
import torch

from generalization import modified_loss as ml

# --- a small smooth problem in float64, written twice: in torch and in NumPy -------------


def _problem(seed=0):
    """Two tensors (a 3 x 2 matrix and a 2-vector) and a smooth non-quadratic loss of them."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((5, 3))
    y = rng.standard_normal(5)
    A0 = rng.standard_normal((3, 2)) * 0.7
    b0 = rng.standard_normal(2) * 0.7
    return X, y, A0, b0


def _loss_numpy(X, y, A, b):
    """C(A, b) = mean_i (tanh(x_i A) b - y_i)^2 / 2 + sum(A^4) / 12."""
    return 0.5 * np.mean((np.tanh(X @ A) @ b - y) ** 2) + np.sum(A**4) / 12


def _loss_torch(X, y, A, b):
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    return 0.5 * torch.mean((torch.tanh(X @ A) @ b - y) ** 2) + torch.sum(A**4) / 12


def _flat_fd_grad(f, w, h=1e-5):
    """Central finite differences of a scalar function of a flat vector."""
    g = np.zeros_like(w)
    for i in range(w.size):
        e = np.zeros_like(w)
        e[i] = h
        g[i] = (f(w + e) - f(w - e)) / (2 * h)
    return g


def _split(w):
    return w[:6].reshape(3, 2), w[6:]


def test_the_penalty_and_its_gradient_match_central_finite_differences():
    X, y, A0, b0 = _problem()
    w0 = np.concatenate([A0.ravel(), b0])

    def penalty_fd(w):  # ||grad C||^2 from finite differences of C
        g = _flat_fd_grad(lambda v: _loss_numpy(X, y, *_split(v)), w, h=1e-5)
        return float(g @ g)

    A = torch.tensor(A0, requires_grad=True)
    b = torch.tensor(b0, requires_grad=True)
    value = ml.gradient_norm_penalty(lambda: _loss_torch(X, y, A, b), [A, b])
    assert value.shape == () and value.dtype == torch.float64
    np.testing.assert_allclose(value.item(), penalty_fd(w0), rtol=1e-8)
    # its gradient by double backpropagation against finite differences of the penalty
    value.backward()
    grad = np.concatenate([A.grad.numpy().ravel(), b.grad.numpy()])
    fd = _flat_fd_grad(penalty_fd, w0, h=1e-4)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-7)


def test_the_penalty_of_a_quadratic_is_its_closed_form():
    # C(w) = w^T H w / 2 - g^T w:  grad C = H w - g,  grad ||grad C||^2 = 2 H (H w - g)
    rng = np.random.default_rng(3)
    M = rng.standard_normal((4, 4))
    H, g, w0 = M @ M.T, rng.standard_normal(4), rng.standard_normal(4)
    w = torch.tensor(w0, requires_grad=True)
    Ht, gt = torch.as_tensor(H), torch.as_tensor(g)
    value = ml.gradient_norm_penalty(lambda: 0.5 * w @ Ht @ w - gt @ w, w)
    (grad,) = torch.autograd.grad(value, [w])
    r = H @ w0 - g
    np.testing.assert_allclose(value.item(), r @ r, rtol=1e-12)
    np.testing.assert_allclose(grad.numpy(), 2 * H @ r, rtol=1e-12)


def test_a_tensor_the_loss_ignores_adds_nothing():
    w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    unused = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    value = ml.gradient_norm_penalty(lambda: (w**2).sum(), [w, unused])
    np.testing.assert_allclose(value.item(), 4 * (1 + 4))


@pytest.mark.parametrize(
    "loss_fn, params, message",
    [
        (3.0, "ok", "loss_fn must be a callable of no arguments; got 3.0."),
        ("ok", (), "params must be a non-empty sequence of tensors; got an empty one."),
        ("ok", 5, "params must be a non-empty sequence of tensors; got 5."),
        ("ok", "frozen", "params must be a sequence of tensors that require gradients; got"),
        ("vector", "ok", "the value of loss_fn must be a scalar tensor; got shape (2,)."),
    ],
)
def test_the_penalty_rejects_bad_input(loss_fn, params, message):
    w = torch.ones(2, requires_grad=True)
    params = {"ok": [w], "frozen": [torch.ones(2)]}.get(params, params)
    loss_fn = {"ok": lambda: (w**2).sum(), "vector": lambda: w**2}.get(loss_fn, loss_fn)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ml.gradient_norm_penalty(loss_fn, params)


# --- the modified losses and the flows on quadratics: closed forms -----------------------


def _quadratic(seed=4, d=3, m=1):
    """m batch losses C_k(w) = w^T A_k w / 2 - b_k^T w with A_k symmetric positive definite."""
    rng = np.random.default_rng(seed)
    As, bs = [], []
    for _ in range(m):
        M = rng.standard_normal((d, d))
        As.append(M @ M.T / d + 0.5 * np.eye(d))
        bs.append(rng.standard_normal(d))
    return As, bs, rng.standard_normal(d)


def _torch_quadratic(A, b, w):
    At, bt = torch.as_tensor(A), torch.as_tensor(b)
    return lambda: 0.5 * w @ At @ w - bt @ w


def _affine_flow(M, c, w0, t):
    """The flow dw/dt = -(M w - c): w(t) = w* + expm(-M t) (w0 - w*), w* = M^{-1} c."""
    from scipy.linalg import expm

    w_star = np.linalg.solve(M, c)
    return w_star + expm(-M * t) @ (w0 - w_star)


def test_gd_modified_loss_has_the_closed_form_gradient_of_a_quadratic():
    # grad (C + lr/4 ||A w - b||^2) = (A + lr/2 A^2) w - (b + lr/2 A b)
    (A,), (b,), w0 = _quadratic()
    lr = 0.3
    w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    modified = ml.modified_loss_gd(_torch_quadratic(A, b, w), lr, [w])
    grad = ml.numpy_gradient(modified, w)(w0)
    np.testing.assert_allclose(grad, (A + lr / 2 * A @ A) @ w0 - (b + lr / 2 * A @ b), rtol=1e-12)
    r = A @ w0 - b
    value = 0.5 * w0 @ A @ w0 - b @ w0 + lr / 4 * r @ r
    np.testing.assert_allclose(modified().item(), value, rtol=1e-12)


def test_sgd_modified_loss_has_the_closed_form_gradient_of_quadratic_batches():
    # grad C_SGD = mean_k (A_k w - b_k) + lr/(2m) sum_k A_k (A_k w - b_k)
    As, bs, w0 = _quadratic(m=3)
    lr = 0.2
    w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    fns = [_torch_quadratic(A, b, w) for A, b in zip(As, bs)]
    grad = ml.numpy_gradient(ml.modified_loss_sgd(fns, lr, [w]), w)(w0)
    expected = sum(A @ w0 - b + lr / 2 * A @ (A @ w0 - b) for A, b in zip(As, bs)) / 3
    np.testing.assert_allclose(grad, expected, rtol=1e-12)
    # one batch: the SGD modified loss is the GD one
    single = ml.modified_loss_sgd(fns[:1], lr, [w])().item()
    assert single == pytest.approx(ml.modified_loss_gd(fns[0], lr, [w])().item(), rel=1e-14)


def test_flows_of_a_quadratic_and_of_its_modified_losses_match_matrix_exponentials():
    As, bs, w0 = _quadratic(m=2)
    A, b = sum(As) / 2, sum(bs) / 2
    lr, times = 0.25, [0.0, 0.7, 1.9]
    w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    fns = [_torch_quadratic(Ak, bk, w) for Ak, bk in zip(As, bs)]
    full = _torch_quadratic(A, b, w)
    plain = ml.gradient_flow(ml.numpy_gradient(full, w), w0, times)
    gd = ml.gradient_flow(ml.numpy_gradient(ml.modified_loss_gd(full, lr, [w]), w), w0, times)
    sgd = ml.gradient_flow(ml.numpy_gradient(ml.modified_loss_sgd(fns, lr, [w]), w), w0, times)
    M_sgd = A + lr / 4 * sum(Ak @ Ak for Ak in As)
    c_sgd = b + lr / 4 * sum(Ak @ bk for Ak, bk in zip(As, bs))
    for k, t in enumerate(times):
        np.testing.assert_allclose(plain[k], _affine_flow(A, b, w0, t), atol=1e-9)
        exact_gd = _affine_flow(A + lr / 2 * A @ A, b + lr / 2 * A @ b, w0, t)
        np.testing.assert_allclose(gd[k], exact_gd, atol=1e-9)
        np.testing.assert_allclose(sgd[k], _affine_flow(M_sgd, c_sgd, w0, t), atol=1e-9)


def test_gd_path_on_a_quadratic_is_powers_of_the_step_matrix():
    (A,), (b,), w0 = _quadratic()
    lr, w_star = 0.4, np.linalg.solve(A, b)
    path = ml.gd_path(lambda v: A @ v - b, w0, lr, 5)
    assert path.shape == (6, 3)
    step = np.eye(3) - lr * A
    for n in range(6):
        expected = w_star + np.linalg.matrix_power(step, n) @ (w0 - w_star)
        np.testing.assert_allclose(path[n], expected, atol=1e-12)


def test_one_sgd_epoch_and_the_mean_over_orders_are_products_of_affine_maps():
    As, bs, w0 = _quadratic(m=3)
    lr = 0.3
    grads = [lambda v, A=A, b=b: A @ v - b for A, b in zip(As, bs)]
    # a step on batch k is the affine map v -> (I - lr A_k) v + lr b_k
    ends = {}
    for order in [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]:
        v = w0.copy()
        for k in order:
            v = (np.eye(3) - lr * As[k]) @ v + lr * bs[k]
        ends[order] = v
    path = ml.sgd_epoch(grads, w0, lr, (2, 0, 1))
    assert path.shape == (4, 3)
    np.testing.assert_allclose(path[-1], ends[(2, 0, 1)], atol=1e-12)
    np.testing.assert_allclose(ml.sgd_epoch(grads, w0, lr)[-1], ends[(0, 1, 2)], atol=1e-12)
    mean = np.mean(list(ends.values()), axis=0)
    np.testing.assert_allclose(ml.mean_over_orders(grads, w0, lr), mean, atol=1e-12)


# --- the orders of accuracy on a small non-convex problem, with a hand-written Hessian ----

_RNG = np.random.default_rng(11)
_X = _RNG.standard_normal((6, 3))
_Y = _RNG.standard_normal(6) * 0.5
_W0 = _RNG.standard_normal(3)
_BATCHES = [[0, 1], [2, 3], [4, 5]]


def _grad_hess(w, index):
    """Gradient and Hessian of C_I(w) = mean_{i in I} (tanh(x_i . w) - y_i)^2 / 2."""
    X = _X[index]
    t = np.tanh(X @ w)
    r, s = t - _Y[index], 1 - t**2
    grad = X.T @ (r * s) / len(index)
    # d(r s)/dz = s^2 - 2 r t s
    hess = (X.T * (s**2 - 2 * r * t * s)) @ X / len(index)
    return grad, hess


def _modified(index_sets, lr):
    """grad of (1/m) sum_k [C_k + lr/4 ||grad C_k||^2] = mean_k (g_k + lr/2 H_k g_k)."""

    def grad_fn(w):
        total = 0
        for index in index_sets:
            g, H = _grad_hess(w, index)
            total = total + g + lr / 2 * H @ g
        return total / len(index_sets)

    return grad_fn


def test_torch_modified_losses_match_the_hand_written_hessian():
    w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    Xt, Yt = torch.as_tensor(_X), torch.as_tensor(_Y)
    fns = [
        lambda idx=idx: 0.5 * torch.mean((torch.tanh(Xt[idx] @ w) - Yt[idx]) ** 2)
        for idx in _BATCHES
    ]
    full = lambda: 0.5 * torch.mean((torch.tanh(Xt @ w) - Yt) ** 2)  # noqa: E731
    lr = 0.15
    np.testing.assert_allclose(
        ml.numpy_gradient(ml.modified_loss_gd(full, lr, [w]), w)(_W0),
        _modified([list(range(6))], lr)(_W0),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        ml.numpy_gradient(ml.modified_loss_sgd(fns, lr, [w]), w)(_W0),
        _modified(_BATCHES, lr)(_W0),
        rtol=1e-12,
    )


def test_gd_error_orders_are_one_to_the_flow_and_two_to_the_modified_flow():
    horizon, steps = 1.5, [6, 12, 24, 48]
    full = [list(range(6))]
    plain = ml.gradient_flow(_modified(full, 0.0), _W0, [horizon])[-1]
    lrs, to_flow, to_modified = [], [], []
    for n in steps:
        lr = horizon / n
        gd = ml.gd_path(_modified(full, 0.0), _W0, lr, n)[-1]
        modified = ml.gradient_flow(_modified(full, lr), _W0, [horizon])[-1]
        lrs.append(lr)
        to_flow.append(np.linalg.norm(gd - plain))
        to_modified.append(np.linalg.norm(gd - modified))
    assert ml.order_of_accuracy(lrs, to_flow) == pytest.approx(1.0, abs=0.1)
    assert ml.order_of_accuracy(lrs, to_modified) == pytest.approx(2.0, abs=0.1)


def test_the_mean_sgd_epoch_is_third_order_close_to_the_sgd_modified_flow():
    lrs = [0.08, 0.04, 0.02, 0.01]
    batch_grads = [_modified([index], 0.0) for index in _BATCHES]
    to_sgd_flow, one_order = [], []
    for lr in lrs:
        flow = ml.gradient_flow(_modified(_BATCHES, lr), _W0, [3 * lr])[-1]
        to_sgd_flow.append(np.linalg.norm(ml.mean_over_orders(batch_grads, _W0, lr) - flow))
        one_order.append(np.linalg.norm(ml.sgd_epoch(batch_grads, _W0, lr)[-1] - flow))
    assert ml.order_of_accuracy(lrs, to_sgd_flow) == pytest.approx(3.0, abs=0.15)
    assert ml.order_of_accuracy(lrs, one_order) == pytest.approx(2.0, abs=0.15)


def test_order_of_accuracy_recovers_the_power_of_a_power_law():
    lrs = np.array([0.1, 0.05, 0.02, 0.01])
    assert ml.order_of_accuracy(lrs, 3.7 * lrs**2.5) == pytest.approx(2.5, rel=1e-12)


def test_gradient_flow_at_time_zero_is_the_start():
    np.testing.assert_array_equal(ml.gradient_flow(lambda v: v, [1.0, 2.0], [0.0]), [[1.0, 2.0]])


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: ml.modified_loss_gd(lambda: None, 0.0, [torch.ones(1, requires_grad=True)]),
            "lr must be a positive number; got 0.0.",
        ),
        (
            lambda: ml.modified_loss_sgd([], 0.1, [torch.ones(1, requires_grad=True)]),
            "batch_loss_fns must be a non-empty sequence of callables; got an empty one.",
        ),
        (
            lambda: ml.modified_loss_sgd([1], 0.1, [torch.ones(1, requires_grad=True)]),
            "batch_loss_fns must be a non-empty sequence of callables; got [1].",
        ),
        (lambda: ml.gd_path(3, [0.0], 0.1, 2), "grad_fn must be a callable of a vector; got 3."),
        (
            lambda: ml.gd_path(lambda v: v, [0.0], 0.1, -1),
            "num_steps must be a non-negative integer; got -1.",
        ),
        (
            lambda: ml.sgd_epoch([lambda v: v] * 2, [0.0], 0.1, (0, 0)),
            "order must be a permutation of 0..1; got (0, 0).",
        ),
        (
            lambda: ml.mean_over_orders([lambda v: v] * 9, [0.0], 0.1),
            "the number of batches must be an integer from 1 to 8; got 9.",
        ),
        (
            lambda: ml.gradient_flow(lambda v: v, [0.0], [1.0, 0.5]),
            "times must be increasing; got (1.0, 0.5).",
        ),
        (
            lambda: ml.gradient_flow(lambda v: v, [[0.0]], [1.0]),
            "w0 must be a 1-D array; got shape (1, 1).",
        ),
        (
            lambda: ml.order_of_accuracy([0.1], [0.2]),
            "lrs and errors must have the same length, at least 2; got 1 and 1.",
        ),
        (
            lambda: ml.order_of_accuracy([0.1, 0.2], [0.0, 1.0]),
            "errors must be a non-empty sequence of positive numbers; got [0.0, 1.0].",
        ),
        (
            lambda: ml.numpy_gradient(lambda: None, torch.zeros((2, 2), requires_grad=True)),
            "param must be a 1-D tensor; got shape (2, 2).",
        ),
    ],
)
def test_methods_reject_bad_input(call, message):
    import re

    with pytest.raises(ValueError, match=re.escape(message)):
        call()

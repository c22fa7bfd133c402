"""Tests of generalization.landscape against closed forms, finite differences and dense
eigensolvers."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from generalization import landscape


def _linear(d=3, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Linear(d, 1).double()


def _regression(n=20, d=3, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal((n, 1))


def _mlp(d=4, h=5, c=3, seed=0, activation=torch.nn.Tanh):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(d, h), activation(), torch.nn.Linear(h, c)).double()


def _classification(n=30, d=4, c=3, seed=2):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, c, n)


def _least_squares_hessian(X):
    """Closed form: the Hessian of mean((X w + b - y)^2) in (w, b) is (2/n) A^T A, A = [X 1]."""
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    return 2 * A.T @ A / X.shape[0]


# ------------------------------------------------------------------------ curvature


def test_hessian_and_hvp_of_least_squares_match_the_closed_form():
    model = _linear()
    X, y = _regression()
    H = _least_squares_hessian(X)
    dense = landscape.hessian(model, F.mse_loss, X, y).numpy()
    np.testing.assert_allclose(dense, H, rtol=1e-12, atol=1e-12)
    v = np.random.default_rng(3).standard_normal(4)
    np.testing.assert_allclose(
        landscape.hvp(model, F.mse_loss, X, y, v, batch_size=7).numpy(), H @ v, rtol=1e-12
    )


def _gradient(model, X, y, theta):
    work = landscape.load_flat(copy.deepcopy(model), theta)
    loss = F.cross_entropy(work(torch.as_tensor(X)), torch.as_tensor(y))
    grads = torch.autograd.grad(loss, list(work.parameters()))
    return torch.cat([g.reshape(-1) for g in grads]).numpy()


def test_dense_hessian_of_an_mlp_matches_finite_differences_of_the_gradient():
    model = _mlp()
    X, y = _classification()
    theta = landscape.flat(model)
    P, h = theta.shape[0], 1e-5
    columns = []
    for j in range(P):
        e = torch.zeros(P, dtype=torch.float64)
        e[j] = h
        columns.append(
            (_gradient(model, X, y, theta + e) - _gradient(model, X, y, theta - e)) / (2 * h)
        )
    finite = np.stack(columns, axis=1)
    dense = landscape.hessian(model, None, X, y, batch_size=8).numpy()
    np.testing.assert_allclose(dense, finite, atol=1e-7)
    np.testing.assert_allclose(dense, dense.T, atol=1e-12)
    v = np.random.default_rng(4).standard_normal(P)
    np.testing.assert_allclose(landscape.hvp(model, None, X, y, v).numpy(), dense @ v, atol=1e-10)


def test_the_model_is_left_in_its_mode_and_unchanged():
    model = _mlp()
    model.train()
    X, y = _classification()
    before = landscape.flat(model)
    landscape.hvp(model, None, X, y, np.ones(before.shape[0]))
    assert model.training
    assert torch.equal(landscape.flat(model), before)


def test_lanczos_eigenvalues_match_a_dense_eigensolver():
    model = _mlp(h=6)
    X, y = _classification()
    exact = np.linalg.eigvalsh(landscape.hessian(model, None, X, y).numpy())
    top = landscape.top_hessian_eigenvalues(model, None, X, y, k=3, tol=1e-10)
    np.testing.assert_allclose(top, exact[::-1][:3], rtol=1e-7, atol=1e-9)
    bottom = landscape.top_hessian_eigenvalues(model, None, X, y, k=2, which="smallest", tol=1e-10)
    np.testing.assert_allclose(bottom, exact[:2], rtol=1e-7, atol=1e-9)
    assert bottom[0] < 0  # a random tanh network is not at a minimum
    largest = landscape.top_hessian_eigenvalues(
        model, None, X, y, k=2, which="magnitude", tol=1e-10
    )
    by_magnitude = exact[np.argsort(-np.abs(exact))][:2]
    np.testing.assert_allclose(largest, by_magnitude, rtol=1e-7, atol=1e-9)


def test_lanczos_eigenvectors_and_a_warm_start():
    model = _mlp(h=6)
    X, y = _classification()
    dense = landscape.hessian(model, None, X, y, batch_size=11).numpy()
    values, vectors = landscape.top_hessian_eigenvalues(
        model, None, X, y, k=2, tol=1e-10, batch_size=11, return_eigenvectors=True
    )
    np.testing.assert_allclose(dense @ vectors, vectors * values, atol=1e-8)
    warm = landscape.top_hessian_eigenvalues(model, None, X, y, k=1, tol=1e-10, v0=vectors[:, 0])
    np.testing.assert_allclose(warm, values[:1], rtol=1e-9)


def test_hessian_index_counts_eigenvalues_below_the_relative_band():
    assert landscape.hessian_index([3.0, -1.0, 0.5, -2.0]) == 0.5
    # -1e-7 is within 1e-6 * 3 of zero: it counts as zero, not as negative
    assert landscape.hessian_index([3.0, -1e-7, 1.0, 2.0]) == 0.0
    assert landscape.hessian_index([3.0, -1e-7, 1.0, 2.0], rel_tol=0.0) == 0.25
    assert landscape.hessian_index([-1.0, -2.0]) == 1.0


def test_fisher_trace_of_softmax_regression_matches_its_closed_form():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3).double()
    X, _ = _classification()
    with torch.no_grad():
        p = torch.softmax(model(torch.as_tensor(X)), -1).numpy()
    # grad_W log p_c = (e_c - p) x^T and grad_b log p_c = e_c - p
    residual = ((np.eye(3)[None] - p[:, None, :]) ** 2).sum(-1)
    closed = np.mean((p * residual).sum(-1) * ((X**2).sum(1) + 1))
    assert landscape.fisher_trace(model, X, n_classes=3, batch_size=7) == pytest.approx(
        closed, rel=1e-12
    )


def test_fisher_trace_of_an_mlp_matches_the_dense_gauss_newton_form():
    model = _mlp(activation=torch.nn.ReLU)
    X, _ = _classification(n=6)
    theta = landscape.flat(model)
    total = 0.0
    for x in torch.as_tensor(X):

        def logits(vector, x=x):
            return torch.func.functional_call(
                model, landscape._unflatten(model, vector), (x[None],)
            )[0]

        J = torch.autograd.functional.jacobian(logits, theta).numpy()  # (c, P)
        p = torch.softmax(logits(theta), -1).detach().numpy()
        total += np.trace(J.T @ (np.diag(p) - np.outer(p, p)) @ J)
    assert landscape.fisher_trace(model, X) == pytest.approx(total / X.shape[0], rel=1e-10)


# ---------------------------------------------------------------------------- paths


def test_evaluate_matches_a_direct_computation():
    model = _mlp()
    X, y = _classification()
    logits = model(torch.as_tensor(X))
    loss, error = landscape.evaluate(model, X, y, batch_size=7)
    assert loss == pytest.approx(
        float(F.cross_entropy(logits, torch.as_tensor(y)).detach()), rel=1e-12
    )
    assert error == pytest.approx(float((logits.argmax(1).numpy() != y).mean()))
    loss, error = landscape.evaluate(_linear(), *_regression(), loss_fn=F.mse_loss)
    assert np.isnan(error)


def test_along_a_line_the_least_squares_loss_is_its_exact_quadratic():
    model = _linear()
    X, y = _regression()
    d = np.random.default_rng(5).standard_normal(4)
    ts = np.linspace(-1, 2, 7)
    path = landscape.along_line(model, d, ts, X, y, loss_fn=F.mse_loss)
    w = landscape.flat(model).numpy()
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    expected = [np.mean((A @ (w + t * d) - y[:, 0]) ** 2) for t in ts]
    np.testing.assert_allclose(path.losses, expected, rtol=1e-12)
    np.testing.assert_array_equal(path.ts, ts)
    assert torch.equal(landscape.flat(model), torch.as_tensor(w))


def test_interpolate_ends_at_the_two_networks_and_averages_between():
    a, b = _mlp(seed=0), _mlp(seed=1)
    X, y = _classification()
    path = landscape.interpolate(a, b, [0.0, 0.5, 1.0], X, y)
    assert path.losses[0] == pytest.approx(landscape.evaluate(a, X, y)[0], rel=1e-12)
    assert path.losses[2] == pytest.approx(landscape.evaluate(b, X, y)[0], rel=1e-12)
    middle = copy.deepcopy(a)
    with torch.no_grad():
        for pm, pa, pb in zip(middle.parameters(), a.parameters(), b.parameters()):
            pm.copy_((pa + pb) / 2)
    assert path.losses[1] == pytest.approx(landscape.evaluate(middle, X, y)[0], rel=1e-12)
    assert path.errors[1] == landscape.evaluate(middle, X, y)[1]


def test_interpolate_recomputes_batchnorm_statistics_on_the_data():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(5), torch.nn.ReLU(), torch.nn.Linear(5, 3)
    ).double()
    X, y = _classification()
    # the network's stored statistics are wrong for X; the path must not use them
    net[1].running_mean.fill_(7.0)
    net[1].running_var.fill_(0.01)
    reference = copy.deepcopy(net)
    with torch.no_grad():
        h = reference[0](torch.as_tensor(X))
        reference[1].running_mean.copy_(h.mean(0))
        reference[1].running_var.copy_(h.var(0, unbiased=True))
    path = landscape.interpolate(net, net, [0.0, 1.0], X, y)
    assert path.losses[0] == pytest.approx(landscape.evaluate(reference, X, y)[0], rel=1e-10)
    assert net[1].running_mean[0].item() == 7.0


def test_barrier_is_the_largest_rise_above_the_endpoints_line():
    assert landscape.barrier([1.0, 1.5, 2.0]) == 0.0
    assert landscape.barrier([1.0, 3.0, 2.0]) == pytest.approx(1.5)
    # uneven positions: the line at alpha = 0.25 between 0 and 4 is 1
    assert landscape.barrier([0.0, 2.0, 4.0], alphas=[0.0, 0.25, 1.0]) == pytest.approx(1.0)
    assert landscape.barrier([2.0, 1.0, 0.5, 2.0]) == 0.0


def _two_moons_like(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    return X, y


def test_bezier_curve_keeps_its_endpoints_and_lowers_the_path_loss():
    X, y = _two_moons_like()
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        net = torch.nn.Sequential(
            torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
        ).double()
        optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
        for _ in range(150):
            optimizer.zero_grad()
            F.cross_entropy(net(torch.as_tensor(X)), torch.as_tensor(y)).backward()
            optimizer.step()
        models.append(net)
    a, b = models
    curve = landscape.bezier_curve(a, b, X, y, epochs=20, lr=0.05, batch_size=50, seed=3)
    assert torch.equal(landscape.flat(curve.point(0.0)), landscape.flat(a))
    assert torch.equal(landscape.flat(curve.point(1.0)), landscape.flat(b))
    t = 0.3
    expected = 0.49 * landscape.flat(a) + 0.42 * curve.bend + 0.09 * landscape.flat(b)
    torch.testing.assert_close(curve.parameters_at(t), expected, rtol=1e-12, atol=1e-12)
    ts = np.linspace(0, 1, 11)
    straight = landscape.interpolate(a, b, ts, X, y)
    bent = curve.evaluate(ts, X, y)
    assert landscape.barrier(straight.losses) > 0.1
    assert landscape.barrier(bent.losses) < 0.5 * landscape.barrier(straight.losses)
    assert len(curve.train_losses) == 20


def test_random_direction_filter_normalization():
    model = _mlp()
    d = landscape.random_direction(model, seed=4)
    pieces = landscape._unflatten(model, d)
    for name, p in model.named_parameters():
        if p.ndim >= 2:
            np.testing.assert_allclose(
                pieces[name].norm(dim=1).numpy(), p.norm(dim=1).detach().numpy()
            )
        else:
            assert torch.count_nonzero(pieces[name]) == 0
    assert torch.equal(d, landscape.random_direction(model, seed=4))
    assert not torch.equal(d, landscape.random_direction(model, seed=5))
    raw = landscape.random_direction(model, seed=4, normalize="none")
    assert torch.count_nonzero(raw) == raw.shape[0]


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: landscape.flat("net"), "model must be a torch.nn.Module; got str."),
        (
            lambda: landscape.hessian(_mlp(), None, *_classification(), max_params=10),
            "at most max_params = 10",
        ),
        (
            lambda: landscape.hvp(_mlp(), None, *_classification(), np.ones(3)),
            "v must be a flat vector of the model's 43 parameters; got shape (3,).",
        ),
        (
            lambda: landscape.evaluate(_mlp(), np.ones((3, 4)), np.zeros(2, int)),
            "y must be one target per row of X (3); got 2 targets.",
        ),
        (
            lambda: landscape.evaluate(_mlp(), np.full((3, 4), np.nan), np.zeros(3, int)),
            "X must be finite",
        ),
        (
            lambda: landscape.top_hessian_eigenvalues(
                _mlp(), None, *_classification(), which="top"
            ),
            "which must be one of",
        ),
        (
            lambda: landscape.top_hessian_eigenvalues(_mlp(), None, *_classification(), k=43),
            "k must be",
        ),
        (lambda: landscape.hessian_index([]), "eigenvalues must be a non-empty array"),
        (
            lambda: landscape.top_hessian_eigenvalues(
                _mlp(), None, *_classification(), v0=np.zeros(43)
            ),
            "v0 must be a nonzero vector; got zeros.",
        ),
        (
            lambda: landscape.top_hessian_eigenvalues(
                _mlp(), None, *_classification(), v0=np.ones(4)
            ),
            "v0 must be a flat vector of the model's 43 parameters; got shape (4,).",
        ),
        (lambda: landscape.barrier([1.0]), "losses must be at least 2 values along a path; got 1."),
        (
            lambda: landscape.barrier([1.0, 2.0], alphas=[1.0, 0.0]),
            "alphas must be increasing positions",
        ),
        (
            lambda: landscape.interpolate(_mlp(), _mlp(h=6), [0.5], *_classification()),
            "model_b must be a network with the parameter shapes of model_a",
        ),
        (
            lambda: landscape.random_direction(_mlp(), seed=0, normalize="layer"),
            "normalize must be one of",
        ),
        (
            lambda: landscape.fisher_trace(_mlp(), np.ones((2, 4)), n_classes=5),
            "n_classes must be the model's output width 3; got 5.",
        ),
        (
            lambda: landscape.bezier_curve(_mlp(), _mlp(), *_classification(), epochs=0, lr=0.1),
            "epochs must be",
        ),
    ],
)
def test_bad_input_is_a_value_error_naming_what_was_expected(call, message):
    with pytest.raises(ValueError) as raised:
        call()
    assert message in str(raised.value)

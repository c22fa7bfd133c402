"""Unit tests of generalization.sam against closed forms and hand-written loops."""

import numpy as np
import pytest
import torch

from generalization import nets
from generalization.sam import SAM


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one torch thread avoids the cost of thread contention on a busy machine."""
    with nets.threads(1):
        yield


def spd(p=5, seed=0):
    """A symmetric positive definite matrix with eigenvalues spread over a decade."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((p, p)))
    return Q @ np.diag(np.linspace(0.5, 5.0, p)) @ Q.T


def quadratic_closure(w, A_t):
    """Closure of L(w) = 0.5 w^T A w, with backward."""

    def closure():
        loss = 0.5 * w @ (A_t @ w)
        loss.backward()
        return loss

    return closure


@pytest.mark.parametrize("rho", [0.0, 0.05, 0.7])
def test_sam_step_on_a_quadratic_equals_its_closed_form(rho):
    A = spd()
    w0 = np.random.default_rng(1).standard_normal(5)
    lr = 0.1
    w = torch.tensor(w0, requires_grad=True)
    opt = SAM([w], torch.optim.SGD, rho=rho, lr=lr)
    opt.step(quadratic_closure(w, torch.tensor(A)))
    g = A @ w0
    # w - lr A (w + rho A w / ||A w||)
    expected = w0 - lr * A @ (w0 + rho * g / np.linalg.norm(g))
    assert np.allclose(w.detach().numpy(), expected, rtol=0, atol=1e-13)


def test_step_returns_the_loss_at_the_unperturbed_point():
    A = spd()
    w0 = np.ones(5)
    w = torch.tensor(w0, requires_grad=True)
    opt = SAM([w], torch.optim.SGD, rho=0.3, lr=0.1)
    loss = opt.step(quadratic_closure(w, torch.tensor(A)))
    assert loss.item() == pytest.approx(0.5 * w0 @ A @ w0, rel=1e-14)


def test_ascent_point_is_w_plus_rho_g_over_global_norm():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    X, y = torch.randn(7, 4), torch.tensor([0, 1, 1, 0, 1, 0, 0])
    before = [p.detach().clone() for p in model.parameters()]
    loss = torch.nn.functional.cross_entropy(model(X), y)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    norm = torch.sqrt(sum((g**2).sum() for g in grads))  # one norm over all the tensors
    opt = SAM(model.parameters(), torch.optim.SGD, rho=0.2, lr=0.1)
    torch.nn.functional.cross_entropy(model(X), y).backward()
    opt.first_step()
    for p, w, g in zip(model.parameters(), before, grads):
        assert torch.allclose(p, w + 0.2 * g / norm, atol=1e-7)


def test_adaptive_ascent_scales_by_the_weights():
    w0 = np.array([0.5, -2.0, 1.5])
    g0 = np.array([1.0, 0.25, -0.5])
    w = torch.tensor(w0, requires_grad=True)
    opt = SAM([w], torch.optim.SGD, rho=0.1, adaptive=True, lr=0.1)
    (w @ torch.tensor(g0)).backward()  # gradient g0
    opt.first_step()
    T = np.abs(w0)
    # e = rho T^2 g / ||T g|| (Kwon et al. 2021)
    expected = w0 + 0.1 * T**2 * g0 / np.linalg.norm(T * g0)
    assert np.allclose(w.detach().numpy(), expected, atol=1e-14)


def _mlp(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


def test_rho_zero_is_the_base_optimizer_step_for_step():
    X, y = torch.randn(20, 6, generator=torch.Generator().manual_seed(0)), torch.arange(20) % 3
    a, b = _mlp(3), _mlp(3)
    kwargs = dict(lr=0.05, momentum=0.9, weight_decay=1e-3)
    sgd = torch.optim.SGD(a.parameters(), **kwargs)
    sam = SAM(b.parameters(), torch.optim.SGD, rho=0.0, **kwargs)
    for t in range(6):
        xb, yb = X[t::3], y[t::3]
        sgd.zero_grad()
        torch.nn.functional.cross_entropy(a(xb), yb).backward()
        sgd.step()
        sam.step(lambda xb=xb, yb=yb: torch.nn.functional.cross_entropy(b(xb), yb).backward())
        for p, q in zip(a.parameters(), b.parameters()):
            assert torch.equal(p, q)


def test_sam_with_momentum_and_weight_decay_matches_a_hand_written_loop():
    A = spd(4, seed=2)
    w0 = np.random.default_rng(3).standard_normal(4)
    lr, mu, wd, rho = 0.05, 0.9, 0.01, 0.2
    w = torch.tensor(w0, requires_grad=True)
    opt = SAM([w], torch.optim.SGD, rho=rho, lr=lr, momentum=mu, weight_decay=wd)
    v, buf = w0.copy(), None
    for _ in range(5):
        opt.step(quadratic_closure(w, torch.tensor(A)))
        g = A @ v
        g_adv = A @ (v + rho * g / np.linalg.norm(g)) + wd * v  # decay at the restored w
        buf = g_adv if buf is None else mu * buf + g_adv
        v = v - lr * buf
    assert np.allclose(w.detach().numpy(), v, atol=1e-13)


class _Recording(torch.optim.SGD):
    """SGD that keeps a copy of the parameters as they are when its step starts."""

    def step(self, closure=None):
        self.seen = [p.detach().clone() for g in self.param_groups for p in g["params"]]
        return super().step(closure)


def test_weights_are_restored_exactly_before_the_base_step():
    model = _mlp(5)
    X, y = torch.randn(9, 6), torch.arange(9) % 3
    before = [p.detach().clone() for p in model.parameters()]
    opt = SAM(model.parameters(), _Recording, rho=0.5, lr=0.1)
    opt.step(lambda: torch.nn.functional.cross_entropy(model(X), y).backward())
    assert all(torch.equal(s, w) for s, w in zip(opt.base_optimizer.seen, before))
    assert not all(torch.equal(p, w) for p, w in zip(model.parameters(), before))


def test_two_call_form_equals_step():
    X, y = torch.randn(12, 6, generator=torch.Generator().manual_seed(1)), torch.arange(12) % 3
    a, b = _mlp(7), _mlp(7)
    opt_a = SAM(a.parameters(), torch.optim.SGD, rho=0.1, lr=0.1, momentum=0.5)
    opt_b = SAM(b.parameters(), torch.optim.SGD, rho=0.1, lr=0.1, momentum=0.5)
    for _ in range(3):
        opt_a.step(lambda: torch.nn.functional.cross_entropy(a(X), y).backward())
        opt_b.zero_grad()
        torch.nn.functional.cross_entropy(b(X), y).backward()
        opt_b.first_step(zero_grad=True)
        torch.nn.functional.cross_entropy(b(X), y).backward()
        opt_b.second_step(zero_grad=True)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_zero_gradient_leaves_the_point_unmoved():
    w = torch.zeros(3, requires_grad=True)
    opt = SAM([w], torch.optim.SGD, rho=0.1, lr=0.1)
    w.grad = torch.zeros(3)
    opt.first_step()
    assert torch.equal(w, torch.zeros(3))


def test_a_changed_learning_rate_reaches_the_base_step():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    opt = SAM([w], torch.optim.SGD, rho=0.0, lr=0.1)
    opt.param_groups[0]["lr"] = 0.5  # as a scheduler would
    opt.step(lambda: (0.5 * (w**2).sum()).backward())
    assert torch.allclose(w, torch.tensor([0.5, 1.0]))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(rho=-0.1), "rho must be a non-negative number; got -0.1."),
        (dict(rho=float("nan")), "rho must be a non-negative number; got nan."),
        (dict(adaptive=1), "adaptive must be True or False; got 1."),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(")):
        SAM([w], torch.optim.SGD, lr=0.1, **kwargs)


def test_base_optimizer_must_be_an_optimizer_class():
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="base_optimizer_cls must be a subclass of"):
        SAM([w], torch.optim.SGD(params=[w], lr=0.1), lr=0.1)


def test_step_needs_a_closure():
    w = torch.zeros(2, requires_grad=True)
    opt = SAM([w], torch.optim.SGD, lr=0.1)
    with pytest.raises(ValueError, match="closure must be a callable .*; got None."):
        opt.step()

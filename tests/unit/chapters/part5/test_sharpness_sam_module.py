"""Unit tests of the chapter module of book/part5/sharpness_sam.md against independent
computations."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from generalization import landscape, nets
from generalization.chapters.part5 import sharpness_sam as ss


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one torch thread avoids the cost of thread contention on a busy machine."""
    with nets.threads(1):
        yield


def _tiny(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3))


def _data(seed=0, n=30):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 5, generator=g), torch.randint(0, 3, (n,), generator=g)


def _dense_top_eigenvalue(model, loss_fn, X, y):
    """The top eigenvalue of the Hessian built entry by entry by torch.autograd.functional."""
    params = list(model.parameters())
    sizes = [p.numel() for p in params]
    flat0 = torch.cat([p.detach().reshape(-1) for p in params]).double()

    def loss_of(flat):
        pieces = [piece.view_as(p) for piece, p in zip(torch.split(flat, sizes), params)]
        named = {name: piece.float() for (name, _), piece in zip(model.named_parameters(), pieces)}
        return loss_fn(torch.func.functional_call(model, named, (X,)), y).double()

    H = torch.autograd.functional.hessian(loss_of, flat0).numpy()
    return np.linalg.eigvalsh(H)[-1]


@pytest.mark.parametrize("loss_fn", [F.cross_entropy, ss.square_loss])
def test_tracked_sharpness_matches_a_dense_hessian_and_the_landscape_lanczos(loss_fn):
    model = _tiny()
    X, y = _data()
    value, vector = ss.tracked_sharpness(model, loss_fn, X, y)
    dense = _dense_top_eigenvalue(model, loss_fn, X, y)
    assert value == pytest.approx(dense, rel=1e-3)
    assert value == pytest.approx(ss.sharpness(model, X, y, loss_fn), rel=1e-3)
    assert np.linalg.norm(vector) == pytest.approx(1.0, rel=1e-6)
    # warm start from the eigenvector itself: the same value
    again, _ = ss.tracked_sharpness(model, loss_fn, X, y, v0=vector)
    assert again == pytest.approx(value, rel=1e-3)


def test_square_loss_is_half_the_summed_squared_error_on_one_hot_targets():
    out = torch.randn(4, 3, generator=torch.Generator().manual_seed(2))
    y = torch.tensor([0, 2, 1, 2])
    target = torch.eye(3)[y]
    expected = 0.5 * F.mse_loss(out, target, reduction="sum") / 4
    assert ss.square_loss(out, y).item() == pytest.approx(expected.item(), rel=1e-6)


def _train(method, X, y, **kwargs):
    args = dict(seed=1, hidden=5, lr=0.3, batch_size=10, num_epochs=2, rho=0.05) | kwargs
    return torch.cat([p.detach().reshape(-1) for p in ss.train(method, X, y, **args).parameters()])


def _images(n=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g)


def test_n_sam_on_a_single_batch_is_sam():
    X, y = _images()
    # one batch holds the whole training set: the full-batch ascent is the mini-batch one (the
    # batch is a permutation of the set, so sums are taken in another order: float rounding)
    full, mini = _train("n-SAM", X, y, batch_size=20), _train("SAM", X, y, batch_size=20)
    assert torch.allclose(full, mini, rtol=0, atol=1e-6)
    assert not torch.allclose(_train("n-SAM", X, y), _train("SAM", X, y), rtol=0, atol=1e-4)


def test_sam_with_rho_zero_trains_exactly_like_sgd():
    X, y = _images()
    assert torch.equal(_train("SAM", X, y, rho=0.0), _train("SGD", X, y))
    assert not torch.equal(_train("SAM", X, y), _train("SGD", X, y))


def test_gradient_descent_is_unstable_above_two_over_the_curvature():
    """The threshold behind the edge of stability, on a quadratic of known curvature."""
    a = 4.0  # L(w) = a w^2 / 2 has Hessian a, so GD is stable iff lr < 2 / a

    def run(lr):
        w = torch.tensor([1.0], requires_grad=True)
        opt = torch.optim.SGD([w], lr=lr)
        for _ in range(50):
            opt.zero_grad()
            (0.5 * a * w**2).sum().backward()
            opt.step()
        return abs(w.item())

    assert run(0.95 * 2 / a) < 1e-1 and run(1.05 * 2 / a) > 10


def test_train_rejects_an_unknown_method():
    X, y = _images()
    with pytest.raises(ValueError, match=r"method must be one of \('SGD', 'SAM', 'n-SAM'\)"):
        _train("Adam", X, y)


def test_landscape_sharpness_is_used_for_the_final_measurement():
    model = _tiny(3)
    X, y = _data(3)
    expected = landscape.top_hessian_eigenvalues(model, None, X, y, tol=ss.SHARPNESS_TOL)[0]
    assert ss.sharpness(model, X, y) == pytest.approx(expected, rel=1e-9)

"""Unit tests of generalization.pretrain against independent computations."""

import inspect

import numpy as np
import pytest
import torch

from generalization import nets, pretrain


@pytest.fixture(autouse=True)
def one_thread():
    with nets.threads(1):  # tiny matrices: one thread, fast on a shared machine
        yield


def low_rank_data(n=300, d=8, k=2, seed=0):
    """Centred data near a k-dimensional subspace, with a clear gap in the spectrum."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((d, k)))[0]
    X = rng.standard_normal((n, k)) * np.array([3.0, 2.0])[:k] @ basis.T
    X = X + 0.05 * rng.standard_normal((n, d))
    return (X - X.mean(0)).astype(np.float32)


def principal_angles_cos(A, B):
    """Cosines of the principal angles between the column spaces of A and B (via SVD)."""
    qa, qb = np.linalg.qr(A)[0], np.linalg.qr(B)[0]
    return np.linalg.svd(qa.T @ qb, compute_uv=False)


def test_linear_autoencoder_finds_the_principal_subspace():
    """Identity activation, no noise, squared loss: the rows of W span the top-k PCA space
    (Baldi and Hornik 1989), compared with numpy's SVD of the centred data."""
    X = low_rank_data()
    W, _, losses = pretrain.train_dae(
        X,
        2,
        activation="identity",
        reconstruction="squared",
        noise=0.0,
        lr=0.02,
        num_epochs=30,
        batch_size=100,
        seed=1,
    )
    top = np.linalg.svd(X, full_matrices=False)[2][:2].T  # (d, 2) right singular vectors
    assert np.all(principal_angles_cos(W.T, top) > 0.999)
    # the optimum's loss is half the discarded variance per example
    s = np.linalg.svd(X, compute_uv=False)
    assert losses[-1] == pytest.approx(0.5 * np.sum(s[2:] ** 2) / len(X), rel=0.05)


def test_reconstruction_loss_matches_a_numpy_formula():
    rng = np.random.default_rng(0)
    H = rng.random((5, 6))
    W, b, bp = rng.standard_normal((3, 6)), rng.standard_normal(3), rng.standard_normal(6)
    code = 1 / (1 + np.exp(-(H @ W.T + b)))
    r = 1 / (1 + np.exp(-(code @ W + bp)))
    ce = -np.sum(H * np.log(r) + (1 - H) * np.log(1 - r)) / 5
    t = [torch.as_tensor(a) for a in (H, W, b, bp)]
    got = pretrain.reconstruction_loss(*t, "sigmoid", "cross_entropy")
    assert float(got) == pytest.approx(ce, rel=1e-10)
    code = np.maximum(H @ W.T + b, 0)
    sq = 0.5 * np.sum((H - (code @ W + bp)) ** 2) / 5
    assert float(pretrain.reconstruction_loss(*t, "relu", "squared")) == pytest.approx(sq)


def test_masking_noise_zeroes_the_stated_fraction():
    """Monte Carlo: the fraction of zeroed entries is within a few standard errors of noise."""
    H = torch.ones((400, 500))
    out = pretrain.corrupt(H, 0.3, nets.seed_everything(3))
    frac = float((out == 0).float().mean())
    se = np.sqrt(0.3 * 0.7 / H.numel())
    assert abs(frac - 0.3) < 4 * se
    assert set(np.unique(out.numpy())) <= {0.0, 1.0}


def test_denoising_training_lowers_the_clean_loss_and_is_reproducible():
    rng = np.random.default_rng(0)
    X = (rng.random((200, 20)) < 0.3).astype(np.float32)
    X[:, 10:] = X[:, :10]  # redundant pixels: something for the code to learn
    kw = dict(noise=0.25, lr=0.05, num_epochs=4, batch_size=20, seed=2)
    W, b, losses = pretrain.train_dae(X, 6, **kw)
    assert losses[-1] < 0.9 * losses[0]
    W2, b2, _ = pretrain.train_dae(X, 6, **kw)
    assert np.array_equal(W, W2) and np.array_equal(b, b2)


def test_pretrain_layerwise_copies_each_trained_encoder_into_the_model():
    """Layer k of the model equals a DAE trained by hand on the codes of the layers below."""
    rng = np.random.default_rng(1)
    X = rng.random((60, 12)).astype(np.float32)
    model = pretrain.feedforward(12, (5, 4), 3, "sigmoid", seed=0)
    start = [
        (m.weight.detach().numpy().copy(), m.bias.detach().numpy().copy()) for m in model[0:4:2]
    ]
    kw = dict(noise=0.2, lr=0.05, num_epochs=2, batch_size=10)
    histories = pretrain.pretrain_layerwise(model, X, seed=7, **kw)
    assert len(histories) == 2
    W1, b1, _ = pretrain.train_dae(X, 5, init=start[0], seed=7, **kw)
    H1 = 1 / (1 + np.exp(-(X @ W1.T + b1)))
    W2, b2, _ = pretrain.train_dae(H1, 4, init=start[1], seed=8, **kw)
    assert np.allclose(model[0].weight.detach().numpy(), W1)
    assert np.allclose(model[2].weight.detach().numpy(), W2, atol=1e-5)
    assert np.allclose(model[2].bias.detach().numpy(), b2, atol=1e-5)


def test_pretraining_takes_no_labels():
    params = inspect.signature(pretrain.pretrain_layerwise).parameters
    assert not {"y", "labels", "targets"} & set(params)
    assert not {"y", "labels", "targets"} & set(inspect.signature(pretrain.train_dae).parameters)


def test_he_initialize_matches_the_stated_variance():
    model = pretrain.he_initialize(pretrain.feedforward(400, (300,), 10, "relu", seed=0), seed=1)
    w = model[0].weight.detach().numpy()
    assert np.var(w) == pytest.approx(2 / 400, rel=0.02)
    assert not model[0].bias.detach().numpy().any()


def test_feedforward_has_the_requested_layers():
    model = pretrain.feedforward(7, (5, 4), 3, "tanh", seed=0)
    assert [type(m).__name__ for m in model] == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    assert model(torch.zeros(2, 7)).shape == (2, 3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(noise=1.0), "noise must be"),
        (dict(activation="softplus"), "activation must be"),
        (dict(reconstruction="hinge"), "reconstruction must be"),
        (dict(lr=0.0), "lr must be"),
        (dict(init=(np.zeros((2, 3)), np.zeros(2))), "init must be"),
    ],
)
def test_train_dae_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pretrain.train_dae(np.full((4, 6), 0.5), 3, **kwargs)


def test_cross_entropy_needs_unit_range_inputs():
    with pytest.raises(ValueError, match=r"H must lie in \[0, 1\]"):
        pretrain.train_dae(np.full((4, 6), 2.0), 3)


def test_pretrain_layerwise_rejects_other_models():
    with pytest.raises(ValueError, match="model must"):
        pretrain.pretrain_layerwise(torch.nn.Sequential(torch.nn.Linear(3, 2)), np.zeros((2, 3)))


def test_the_denoising_loss_compares_the_code_of_the_damaged_input_with_the_clean_input():
    """Same mask drawn by hand (same generator seed): encode the masked input, score against
    the clean one, in numpy."""
    rng = np.random.default_rng(4)
    H = rng.random((6, 5))
    W, b, bp = rng.standard_normal((3, 5)), rng.standard_normal(3), rng.standard_normal(5)
    t = [torch.as_tensor(a) for a in (H, W, b, bp)]
    got = pretrain.reconstruction_loss(
        *t, "sigmoid", "cross_entropy", noise=0.5, generator=nets.seed_everything(9)
    )
    masked = pretrain.corrupt(t[0], 0.5, nets.seed_everything(9)).numpy()
    assert (masked == 0).any() and not np.array_equal(masked, H)
    code = 1 / (1 + np.exp(-(masked @ W.T + b)))
    r = 1 / (1 + np.exp(-(code @ W + bp)))
    expected = -np.sum(H * np.log(r) + (1 - H) * np.log(1 - r)) / 6
    assert float(got) == pytest.approx(expected, rel=1e-10)

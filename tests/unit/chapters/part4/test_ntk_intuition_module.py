"""Unit tests of the chapter module of book/part4/ntk_intuition.md against independent
computations."""

import numpy as np
import pytest
import torch
from torch.func import functional_call

from generalization import diagonal_nets, ntk
from generalization.chapters.part4 import ntk_intuition as ni


def test_unit_images_pool_by_block_means_and_scale_to_unit_mean_square():
    rng = np.random.default_rng(0)
    X = rng.random((3, 784))
    pooled = ni.unit_images(X, pool=2)
    assert pooled.shape == (3, 196)
    blocks = np.array(
        [
            [X[0].reshape(28, 28)[2 * r : 2 * r + 2, 2 * c : 2 * c + 2].mean() for c in range(14)]
            for r in range(14)
        ]
    ).ravel()
    np.testing.assert_allclose(pooled[0], blocks * 14 / np.linalg.norm(blocks), rtol=1e-12)
    np.testing.assert_allclose(np.mean(ni.unit_images(X) ** 2, axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize(
    "X, pool, message",
    [
        (np.ones((2, 100)), 1, "X must have 784 columns"),
        (np.ones((2, 784)), 3, r"pool must be one of \(1, 2, 4, 7\)"),
        (np.ones(784), 1, "X must be a 2-D array"),
    ],
)
def test_unit_images_rejects_bad_input(X, pool, message):
    with pytest.raises(ValueError, match=message):
        ni.unit_images(X, pool)


def test_parity():
    np.testing.assert_array_equal(ni.parity(np.array([0, 1, 2, 7, 8])), [1, -1, 1, -1, 1])


def test_train_and_measure_uses_half_the_stable_step_of_the_jacobian_gram_matrix():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((6, 5)), np.sign(rng.standard_normal(6))
    got = ni.train_and_measure(X, y, 16, "standard", 3, num_steps=1, lr_fraction=0.5)
    model = ntk.mlp((5, 16, 1), "standard", seed=3)
    params = {k: v.detach() for k, v in model.named_parameters()}
    Xt = torch.as_tensor(X, dtype=torch.float32)
    J = np.array(  # the gradient of each output in all parameters, by torch.autograd
        [
            torch.cat(
                [
                    g.reshape(-1)
                    for g in torch.autograd.grad(model(row[None])[0, 0], model.parameters())
                ]
            )
            .double()
            .numpy()
            for row in Xt
        ]
    )
    lam = np.linalg.eigvalsh(J @ J.T)[-1]
    assert got["lambda_max"] == pytest.approx(lam, rel=1e-4)
    assert got["lr"] == pytest.approx(0.5 * 2 * 6 / lam, rel=1e-4)
    # one step: the weights move by lr * J^T r / n
    r = functional_call(model, params, (Xt,))[:, 0].double().numpy() - y
    theta0 = np.concatenate([v.reshape(-1).double().numpy() for v in params.values()])
    step = got["lr"] * J.T @ r / 6
    assert got["weight_change"] == pytest.approx(
        np.linalg.norm(step) / np.linalg.norm(theta0), rel=1e-3
    )


def test_one_step_prediction_becomes_exact_for_a_tiny_step():
    one = ni.one_step.uncached(seed=1, n_probes=20, hidden=(32,), lr_fractions=(1e-5,))
    assert one.rel_error[0] < 1e-4
    assert one.measured.shape == (1, 20) and one.top.shape == (20,)
    np.testing.assert_allclose(
        one.predicted[0], -one.lrs[0] * one.theta * (one.output - one.target)
    )


def test_stable_steps_at_a_large_start_are_those_of_8_scale2_x_xt():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((4, 10))
    w_hat = 0.01 * rng.standard_normal(10)
    lr = ni.stable_steps(X, w_hat, [50.0], 0.5)[0]
    lam = np.linalg.eigvalsh(8 * 50.0**2 * X @ X.T)[-1]
    assert lr == pytest.approx(4 / lam, rel=1e-6)


def test_diagonal_path_on_a_small_problem():
    kwargs = dict(
        seeds=(0,),
        n_samples=8,
        n_features=24,
        sparsity=2,
        alphas=(0.1, 3.0),
        curve_alphas=(0.05, 1.0),
        halving_alphas=(0.1,),
        lr_fraction=0.25,
        max_steps=40_000,
        tol=1e-9,
    )
    got = ni.diagonal_path.uncached(**kwargs)
    assert got.dist_q.shape == (1, 2) and got.curve_dist_l1.shape == (1, 2)
    assert np.all(got.residual < 1e-9)
    X, y, beta = diagonal_nets.sparse_regression(8, 24, 2, 0)
    w_q, _ = diagonal_nets.min_q_interpolant(X, y, 1.0)
    assert got.curve_test_error[0, 1] == pytest.approx(np.sum((w_q - beta) ** 2), rel=1e-9)
    assert got.dist_q.max() < 0.05
    assert got.gap_half[0, 0] < got.gap[0, 0]
    with pytest.raises(ValueError, match="halving_alphas must be among alphas"):
        ni.diagonal_path.uncached(**{**kwargs, "halving_alphas": (0.2,)})

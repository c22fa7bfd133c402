"""Unit tests of the chapter module of book/part5/asymmetric_valleys.md against independent
computations: numerical integration, a hand-written loop, the arithmetic mean of iterates."""

import numpy as np
import pytest
import torch
from scipy.integrate import quad
from scipy.stats import norm

from generalization import landscape, nets
from generalization.chapters.part5 import asymmetric_valleys as av


@pytest.mark.parametrize("w", [-0.2, -0.03, 0.0, 0.05, 0.4])
@pytest.mark.parametrize("shift", [0.05, 0.3])
def test_shifted_loss_matches_numerical_integration(w, shift):
    def integrand(d):
        return float(av.valley_loss(w + d, 10.0, 1.0)) * norm.pdf(d, scale=shift)

    # split at the kink d = -w, where the curvature jumps
    expected = sum(
        quad(integrand, a, b, epsabs=1e-13)[0] for a, b in ((-12 * shift, -w), (-w, 12 * shift))
    )
    assert av.shifted_loss(w, 10.0, 1.0, shift) == pytest.approx(expected, rel=1e-8, abs=1e-14)


def test_shifted_loss_of_a_symmetric_valley_is_the_loss_plus_the_shift_variance():
    w = np.linspace(-1, 1, 7)
    assert np.allclose(av.shifted_loss(w, 3.0, 3.0, 0.2), 1.5 * (w**2 + 0.04))


def test_best_shifted_point_is_on_the_flat_side_and_beats_a_dense_grid():
    best = av.best_shifted_point(10.0, 1.0, 0.05)
    grid = np.linspace(-0.25, 0.25, 200_001)
    assert best < 0
    assert best == pytest.approx(grid[np.argmin(av.shifted_loss(grid, 10.0, 1.0, 0.05))], abs=1e-5)


@pytest.mark.parametrize("steep, flat", [(10.0, 1.0), (2.0, 2.0), (1.0, 4.0)])
def test_langevin_mean_matches_the_integrated_stationary_density(steep, flat):
    lr, noise = 0.01, 0.7
    tau = lr * noise**2 / 2

    def density(w):
        return np.exp(-float(av.valley_loss(w, steep, flat)) / tau)

    z = quad(density, -np.inf, 0)[0] + quad(density, 0, np.inf)[0]
    mean = (
        quad(lambda w: w * density(w), -np.inf, 0)[0] + quad(lambda w: w * density(w), 0, np.inf)[0]
    ) / z
    got_mean, got_fraction = av.langevin_mean(steep, flat, lr, noise)
    assert got_mean == pytest.approx(mean, rel=1e-7, abs=1e-12)
    assert got_fraction == pytest.approx(quad(density, -np.inf, 0)[0] / z, rel=1e-7)


def test_valley_sgd_matches_a_hand_written_loop_and_ignores_the_block_size():
    average, last, on_flat, _ = av.valley_sgd((3,), 10.0, 1.0, 0.05, 0.8, 50, 20, block=7)
    rng = np.random.default_rng(3)
    w, kept = 0.0, []
    for step in range(70):
        w -= 0.05 * ((10.0 if w > 0 else 1.0) * w + 0.8 * rng.standard_normal())
        if step >= 20:
            kept.append(w)
    assert average[0] == pytest.approx(np.mean(kept), rel=1e-12)
    assert last[0] == pytest.approx(w, rel=1e-12)
    assert on_flat[0] == pytest.approx(np.mean(np.array(kept) < 0))
    # the same chain inside a group of chains, with another block size
    group = av.valley_sgd((5, 3), 10.0, 1.0, 0.05, 0.8, 50, 20, block=64)
    assert group[0][1] == pytest.approx(average[0], rel=1e-12)


def test_valley_sgd_without_noise_stays_at_the_minimizer():
    average, last, _, counts = av.valley_sgd(
        (0, 1), 10.0, 1.0, 0.1, 0.0, 30, 0, np.linspace(-1, 1, 5)
    )
    assert np.all(average == 0) and np.all(last == 0)
    assert counts.sum() == 60


def test_swa_average_is_the_arithmetic_mean_of_the_epoch_end_iterates():
    rng = np.random.default_rng(0)
    X = rng.random((48, 784)).astype(np.float32)
    y = rng.integers(0, 10, 48)
    model = nets.mlp(hidden=(6,), seed=0)
    averaged, iterates = av.swa(
        model,
        X,
        y,
        swa_lr=0.05,
        num_epochs=4,
        batch_size=16,
        weight_decay=0.0,
        seed=1,
        keep_iterates=True,
    )
    assert len(iterates) == 4
    assert torch.allclose(landscape.flat(averaged), torch.stack(iterates).mean(0), atol=1e-6)
    assert torch.allclose(landscape.flat(model), iterates[-1])


def test_swa_holds_the_learning_rate_at_swa_lr():
    """One epoch of SWA with one batch equals one hand-written SGD step at swa_lr."""
    rng = np.random.default_rng(1)
    X = rng.random((8, 784)).astype(np.float32)
    y = rng.integers(0, 10, 8)
    model = nets.mlp(hidden=(5,), seed=2)
    before = landscape.flat(model)
    loss = torch.nn.functional.cross_entropy(model(torch.as_tensor(X)), torch.as_tensor(y))
    grad = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(model.parameters()))])
    av.swa(model, X, y, swa_lr=0.3, num_epochs=1, batch_size=8, weight_decay=0.0, seed=0)
    assert torch.allclose(landscape.flat(model), before - 0.3 * grad, atol=1e-6)


def test_decayed_sgd_matches_hand_written_momentum_sgd_with_a_linear_decay():
    """Full batches (one per epoch): the rates are lr, (1 + final) lr / 2, final lr."""
    rng = np.random.default_rng(2)
    X = rng.random((8, 784)).astype(np.float32)
    y = rng.integers(0, 10, 8)
    model = nets.mlp(hidden=(5,), seed=3)
    av.decayed_sgd(model, X, y, lr=0.2, num_epochs=3, batch_size=8, weight_decay=0.0, seed=0)
    manual = nets.mlp(hidden=(5,), seed=3)
    theta, buffer = landscape.flat(manual), None
    for rate in (0.2, 0.101, 0.002):
        landscape.load_flat(manual, theta)
        loss = torch.nn.functional.cross_entropy(manual(torch.as_tensor(X)), torch.as_tensor(y))
        grad = torch.cat(
            [g.reshape(-1) for g in torch.autograd.grad(loss, list(manual.parameters()))]
        )
        buffer = grad if buffer is None else 0.9 * buffer + grad
        theta = theta - rate * buffer
    assert torch.allclose(landscape.flat(model), theta, atol=1e-6)


def test_slice_rises_and_asymmetry_ratio():
    path = landscape.Path(np.linspace(-1, 1, 5), np.array([3.0, 1.5, 1.0, 1.2, 2.0]), np.zeros(5))
    minus, plus = av.slice_rises(path)
    assert (minus, plus) == (2.0, 1.0)
    assert av.asymmetry_ratio(minus, plus) == 2.0
    assert av.asymmetry_ratio(np.array([1.0, -0.1]), np.array([1.0, 1.0])).tolist() == [1.0, np.inf]


def test_slice_rises_rejects_a_lopsided_slice():
    path = landscape.Path(np.array([-1.0, 0.0, 2.0]), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="path.ts must be symmetric about 0 with odd length"):
        av.slice_rises(path)


def _fake_result(line_train):
    ts = np.arange(-1.0, 2.01, 0.5)
    slices = np.zeros((1, 2, 1, 3))
    slices[0, 0, 0] = [2.0, 1.0, 4.0]
    slices[0, 1, 0] = [1.5, 1.0, 1.5]
    return av.SwaResult(
        seeds=(0,),
        n_train=1,
        n_params=1,
        line_ts=ts,
        slice_ts=np.array([-1.0, 0.0, 1.0]),
        test_error=np.zeros((1, 2)),
        test_loss=np.zeros((1, 2)),
        train_loss=np.zeros((1, 2)),
        distance=np.ones(1),
        line_train=np.array([line_train]),
        line_test=np.array([line_train]),
        line_test_error=np.zeros((1, len(ts))),
        slices=slices,
        run_time_s=0.0,
    )


def test_line_rises_and_minimum_read_the_right_points():
    #            t = -1   -0.5  0    0.5  1    1.5  2
    result = _fake_result([5.0, 4.0, 3.0, 2.5, 2.0, 1.0, 2.2])
    sgd, swa = av.line_rises(result)
    assert sgd[0] == pytest.approx(2.0) and swa[0] == pytest.approx(0.2)
    sgd, swa = av.line_rises(result, beyond=0.5, test=True)
    assert sgd[0] == pytest.approx(1.0) and swa[0] == pytest.approx(-1.0)
    assert av.line_minimum(result)[0] == 1.5
    assert av.direction_ratios(result)[0, :, 0].tolist() == [3.0, 1.0]


def test_line_rises_rejects_a_distance_off_the_grid():
    with pytest.raises(ValueError, match="beyond must put t = -0.3 on result.line_ts"):
        av.line_rises(_fake_result(np.ones(7)), beyond=0.3)
    with pytest.raises(ValueError, match="beyond must be a positive number"):
        av.line_rises(_fake_result(np.ones(7)), beyond=0)


def test_swa_experiment_rejects_an_even_number_of_slice_points():
    s = dict(av.settings("quick")["mnist"], slice_points=8)
    with pytest.raises(ValueError, match="slice_points must be an odd integer; got 8"):
        av.swa_experiment.uncached(**s)

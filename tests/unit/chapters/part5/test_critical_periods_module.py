"""Unit tests of the chapter module of book/part5/critical_periods.md, against independent
computations (SciPy's interpolation, closed forms, an unbranched twin run)."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from generalization import nets
from generalization.chapters.part5 import critical_periods as cp


def _images(n, seed=0):
    return np.random.default_rng(seed).random((n, 784)).astype(np.float32)


def test_degrade_with_factor_one_changes_nothing():
    X = _images(3)
    assert np.allclose(cp.degrade(X, 1), X, atol=1e-6)


@pytest.mark.parametrize("factor", [2, 4, 7])
def test_degrade_is_block_means_then_scipy_bilinear_zoom(factor):
    X = _images(2, seed=factor)
    for image, blurred in zip(X, cp.degrade(X, factor)):
        k = 28 // factor
        means = image.reshape(k, factor, k, factor).mean(axis=(1, 3))
        # half-pixel grid (torch's align_corners=False) with edges held constant
        zoomed = ndimage.zoom(means.astype(float), factor, order=1, grid_mode=True, mode="nearest")
        assert np.allclose(blurred.reshape(28, 28), zoomed, atol=1e-5)


def test_degrade_keeps_a_constant_image_and_removes_fine_detail():
    assert np.allclose(cp.degrade(np.full((1, 784), 0.3, np.float32), 7), 0.3)
    stripes = np.tile(np.array([0.0, 1.0], np.float32), 392)[None]  # alternate pixels
    assert np.allclose(cp.degrade(stripes, 4), 0.5, atol=1e-6)


def test_degrade_rejects_bad_input():
    with pytest.raises(ValueError, match="factor must be a divisor of 28; got 5."):
        cp.degrade(_images(1), 5)
    with pytest.raises(ValueError, match=r"X must have 784 columns \(28 x 28 images\); got 10."):
        cp.degrade(np.zeros((2, 10)), 2)
    with pytest.raises(ValueError, match="factor must be a positive integer; got 0."):
        cp.degrade(_images(1), 0)


def test_learning_rate_is_geometric_in_the_epoch():
    assert cp.learning_rate(0, 0.05, 0.9) == pytest.approx(0.05)
    assert cp.learning_rate(3, 0.05, 0.9) == pytest.approx(0.05 * 0.729)
    assert cp.learning_rate(50, 0.01, 1.0) == pytest.approx(0.01)
    with pytest.raises(ValueError, match=r"decay must be a number in \(0, 1\]; got 1.5."):
        cp.learning_rate(1, 0.05, 1.5)
    with pytest.raises(ValueError, match="epoch must be a non-negative integer; got -1."):
        cp.learning_rate(-1, 0.05, 0.9)


def _run(seed=0, decay=0.5):
    model = nets.mlp(hidden=(8,), seed=seed)
    return cp.Run(model, lr=0.1, decay=decay, batch_size=7, weight_decay=1e-3, seed=seed)


def _data(n=20):
    gen = torch.Generator().manual_seed(1)
    return torch.rand(n, 784, generator=gen), torch.randint(0, 10, (n,), generator=gen)


def _params(run):
    return torch.nn.utils.parameters_to_vector(run.model.parameters()).detach().clone()


def test_run_anneals_the_learning_rate_and_counts_steps():
    run, (X, y) = _run(decay=0.5), _data()
    for _ in range(3):
        run.epoch(X, y)
    assert run.optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.25)  # epoch 2
    assert run.epochs == 3 and run.steps == 3 * 3  # ceil(20 / 7) steps per epoch
    seen = []
    run.epoch(X, y, on_step=lambda steps, model: seen.append(steps))
    assert seen == [10, 11, 12]


def test_a_branch_continues_exactly_like_the_unbranched_run_and_is_independent():
    X, y = _data()
    a, b = _run(seed=3), _run(seed=3)
    a.epoch(X, y)
    b.epoch(X, y)
    twin = a.branch()
    before = _params(a)
    for _ in range(2):
        twin.epoch(X, y)  # momentum, batch order and schedule carried over
        b.epoch(X, y)
    assert torch.equal(_params(a), before)  # the original did not move
    assert torch.allclose(_params(twin), _params(b), atol=1e-7)
    assert twin.epochs == b.epochs == 3


def test_fisher_steps_converts_epochs_to_sgd_steps():
    S = dict(n_train=1000, batch_size=64, fisher_epochs=(0, 0.125, 1, 2.5))
    assert cp.fisher_steps(S) == (0, 2, 16, 40)  # 16 steps per epoch


def test_impairment_and_sensitivity_subtract_the_control_at_the_same_epoch():
    control = np.arange(2 * 9, dtype=float).reshape(2, 9) / 100
    result = cp.RemovalResult(
        seeds=(0, 1),
        removal_epochs=(0, 2, 4),
        post_epochs=4,
        fisher_epochs=(0,),
        error={"annealed": np.ones((2, 3))},
        control={"annealed": control},
        fisher=np.zeros((2, 1)),
        run_time_s=0.0,
    )
    expected = 1 - control[:, [4, 6, 8]]
    assert np.allclose(result.impairment("annealed"), expected)
    window = cp.WindowResult(
        seeds=(0, 1),
        onsets=(0, 3),
        window=2,
        total=6,
        error=np.array([[0.2, 0.1], [0.3, 0.4]]),
        control=np.array([0.1, 0.3]),
        run_time_s=0.0,
    )
    assert np.allclose(window.sensitivity, [[0.1, 0.0], [0.0, 0.1]])


def test_the_remaining_sum_of_learning_rates_is_a_fraction_decay_to_the_n():
    lr, decay, N = 0.05, 0.9, 16
    remaining = sum(cp.learning_rate(e, lr, decay) for e in range(N, 2000))
    total = sum(cp.learning_rate(e, lr, decay) for e in range(2000))
    assert remaining == pytest.approx(lr * decay**N / (1 - decay))  # geometric series
    assert remaining / total == pytest.approx(decay**N)

"""Tests of generalization.schedules: the range test against the stability limit of gradient
descent on a quadratic, and the one-cycle configuration against PyTorch's scheduler."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from generalization import schedules


def _least_squares(n=64, p=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * np.array([3.0, 1.0, 1.0, 0.5, 0.2])
    y = X @ rng.standard_normal(p) + 0.1 * rng.standard_normal(n)
    return X, y[:, None]


def _linear(p=5):
    torch.manual_seed(1)
    return torch.nn.Linear(p, 1, bias=False).double()


def test_the_range_test_diverges_only_above_the_stability_limit_of_gradient_descent():
    X, y = _least_squares()
    # mean((X w - y)^2) has Hessian 2 X^T X / n; gradient descent is stable iff lr < 2 / lambda_max
    limit = 2 / np.linalg.eigvalsh(2 * X.T @ X / len(X)).max()
    model = _linear()
    test = schedules.lr_range_test(
        model,
        X,
        y,
        lr_min=1e-4,
        lr_max=10 * limit,
        steps=400,
        batch_size=None,
        momentum=0.0,
        loss_fn=F.mse_loss,
    )
    assert test.diverged_lr is not None
    # the loss needs steps to grow once the rate passes the limit: the test sees it late
    assert limit < test.diverged_lr < 5 * limit
    # below the limit the loss of gradient descent never rises
    stable = test.lrs < limit
    assert np.all(np.diff(test.losses[stable]) <= 1e-12)
    assert test.best_lr <= test.diverged_lr


def test_the_range_test_restores_the_model_exactly():
    X, y = _least_squares()
    net = torch.nn.Sequential(
        torch.nn.Linear(5, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 1)
    ).double()
    net.eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    test = schedules.lr_range_test(net, X, y, steps=30, batch_size=16, loss_fn=F.mse_loss, seed=2)
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not net.training
    assert len(test.lrs) == len(test.losses) == len(test.smoothed)


def test_the_smoothed_loss_is_the_bias_corrected_moving_average():
    X, y = _least_squares()
    test = schedules.lr_range_test(
        _linear(), X, y, steps=20, lr_max=1e-2, loss_fn=F.mse_loss, smoothing=0.9
    )
    average = 0.0
    for t, loss in enumerate(test.losses):
        average = 0.9 * average + 0.1 * loss
        assert test.smoothed[t] == pytest.approx(average / (1 - 0.9 ** (t + 1)), rel=1e-12)


def test_range_test_rates_are_geometric_or_even():
    rates = schedules.range_test_lrs(1e-3, 1.0, 4)
    np.testing.assert_allclose(rates, [1e-3, 1e-2, 1e-1, 1.0])
    np.testing.assert_allclose(
        schedules.range_test_lrs(0.1, 0.4, 4, "linear"), [0.1, 0.2, 0.3, 0.4]
    )


@pytest.mark.parametrize("total, fraction", [(100, 0.1), (37, 0.2), (1000, 0.05)])
def test_one_cycle_is_pytorchs_scheduler_and_the_formula(total, fraction):
    model = _linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = schedules.one_cycle(optimizer, 0.5, total, annihilate_fraction=fraction)
    lrs, momenta = [], []
    for _ in range(total):
        lrs.append(optimizer.param_groups[0]["lr"])
        momenta.append(optimizer.param_groups[0]["momentum"])
        optimizer.step()
        if len(lrs) < total:
            scheduler.step()
    formula = schedules.one_cycle_lr(np.arange(total), 0.5, total, annihilate_fraction=fraction)
    np.testing.assert_allclose(lrs, formula, rtol=1e-10)
    assert lrs[0] == pytest.approx(0.05) and max(lrs) == pytest.approx(0.5, rel=0.05)
    assert lrs[-1] == pytest.approx(0.05 / 100)
    # momentum moves against the rate: highest where the rate is lowest in the cycle
    assert momenta[0] == pytest.approx(0.95) and min(momenta) == pytest.approx(0.85, abs=0.01)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: schedules.range_test_lrs(1.0, 0.5, 10),
            "lr_max must be larger than lr_min = 1.0; got 0.5.",
        ),
        (lambda: schedules.range_test_lrs(1e-3, 1.0, 10, "cosine"), "increase must be one of"),
        (
            lambda: schedules.lr_range_test("net", np.ones((2, 5)), np.ones(2)),
            "model must be a torch.nn.Module",
        ),
        (
            lambda: schedules.lr_range_test(_linear(), np.ones((3, 5)), np.ones(2)),
            "y must be one target per row of X (3); got 2 targets.",
        ),
        (
            lambda: schedules.lr_range_test(
                _linear(), np.ones((2, 5)), np.ones(2), stop_factor=1.0
            ),
            "stop_factor must be",
        ),
        (lambda: schedules.one_cycle_lr([0, 5], 0.1, 5), "steps must be integers in [0, 5)"),
        (
            lambda: schedules.one_cycle_lr([0], 0.1, 10, annihilate_fraction=1.0),
            "annihilate_fraction must be",
        ),
        (
            lambda: schedules.one_cycle("sgd", 0.1, 10),
            "optimizer must be a torch.optim.Optimizer; got str.",
        ),
    ],
)
def test_bad_input_is_a_value_error_naming_what_was_expected(call, message):
    with pytest.raises(ValueError) as raised:
        call()
    assert message in str(raised.value)

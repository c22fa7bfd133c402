"""Tests of generalization.info_bounds against independent computations."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from generalization import info_bounds

# ----------------------------------------------------------------------------- information


@pytest.mark.parametrize(("power", "noise", "dim"), [(1.0, 1.0, 1), (3.0, 0.2, 5), (0.01, 2.0, 40)])
def test_gaussian_channel_information_is_the_entropy_difference_of_scipy(power, noise, dim):
    # I(X; Y) = h(Y) - h(Y | X) = h(N(0, (P/d + N) I)) - h(N(0, N I))
    h_y = stats.multivariate_normal(np.zeros(dim), (power / dim + noise) * np.eye(dim)).entropy()
    h_n = stats.multivariate_normal(np.zeros(dim), noise * np.eye(dim)).entropy()
    got = info_bounds.gaussian_channel_information(power, noise, dim)
    assert got == pytest.approx(h_y - h_n, rel=1e-12)


@pytest.mark.parametrize(("power", "noise", "dim"), [(1.0, 1.0, 1), (30.0, 0.5, 10)])
def test_gaussian_channel_monte_carlo_agrees_with_the_closed_form(power, noise, dim):
    estimate, se = info_bounds.gaussian_channel_information_mc(power, noise, dim, 20000, seed=3)
    exact = info_bounds.gaussian_channel_information(power, noise, dim)
    assert abs(estimate - exact) < 4 * se
    assert 0 < se < 0.05 * exact


def test_gaussian_channel_information_broadcasts_over_powers():
    powers = np.array([0.0, 1.0, 4.0])
    got = info_bounds.gaussian_channel_information(powers, 2.0, 3)
    assert got.shape == (3,) and got[0] == 0.0
    assert got[2] == pytest.approx(1.5 * math.log(1 + 4.0 / 6.0))


def _binary_information_monte_carlo(snr, num_samples, seed):
    """log p(y | x) - log p(y) averaged over draws, with the mixture density written out."""
    rng = np.random.default_rng(seed)
    a = math.sqrt(snr)  # amplitude with unit noise
    x = a * rng.choice([-1.0, 1.0], size=num_samples)
    y = x + rng.standard_normal(num_samples)
    log_cond = stats.norm.logpdf(y, loc=x)
    log_marg = np.log(0.5 * stats.norm.pdf(y, loc=a) + 0.5 * stats.norm.pdf(y, loc=-a))
    terms = log_cond - log_marg
    return terms.mean(), terms.std(ddof=1) / math.sqrt(num_samples)


@pytest.mark.parametrize("snr", [0.3, 2.0, 9.0])
def test_binary_input_information_agrees_with_monte_carlo(snr):
    estimate, se = _binary_information_monte_carlo(snr, 40000, seed=int(10 * snr))
    assert abs(info_bounds.binary_input_information(snr) - estimate) < 4 * se


@pytest.mark.parametrize("snr", [1e-3, 0.1, 4.0])
def test_binary_input_information_is_the_entropy_of_the_mixture_minus_that_of_the_noise(snr):
    # h(Y) by quadrature of -p log p for the two-component mixture, a second route
    a = math.sqrt(snr)

    def log_p(y):
        return np.logaddexp(stats.norm.logpdf(y, a), stats.norm.logpdf(y, -a)) + math.log(0.5)

    h_y = integrate.quad(lambda y: -np.exp(log_p(y)) * log_p(y), -a - 12, a + 12, epsabs=1e-15)[0]
    h_noise = 0.5 * math.log(2 * math.pi * math.e)
    assert info_bounds.binary_input_information(snr) == pytest.approx(h_y - h_noise, rel=1e-9)


def test_binary_input_information_limits_and_the_gaussian_ceiling():
    snrs = np.array([1e-4, 1e-2, 1.0, 30.0, 400.0])
    got = info_bounds.binary_input_information(snrs)
    assert np.all(got < 0.5 * np.log1p(snrs))  # a bounded input carries less than a Gaussian
    assert got[0] == pytest.approx(snrs[0] / 2, rel=1e-3)  # small snr: I ~ snr / 2
    assert got[-1] == pytest.approx(math.log(2), abs=1e-12)  # one bit, in nats
    assert np.all(np.diff(got) > 0)


# ------------------------------------------------------------------------------ the bounds


def test_step_bounds_and_pensia_bound_are_the_per_step_sum_on_random_schedules():
    rng = np.random.default_rng(0)
    T, dim, grad_bound = 40, 7, 1.7
    lrs = rng.uniform(0.01, 1.0, T)
    noise = rng.uniform(0.001, 0.5, T)
    moments = rng.uniform(0.0, 3.0, T)
    terms = [
        0.5 * dim * math.log(1 + lrs[t] ** 2 * moments[t] / (dim * noise[t])) for t in range(T)
    ]
    got = info_bounds.step_information_bounds(lrs, noise, moments, dim)
    np.testing.assert_allclose(got, terms, rtol=1e-12)
    total = 0.0
    cumulative = []
    for t in range(T):  # Pensia et al.: the same sum with L^2 in place of the moments
        total += 0.5 * dim * math.log(1 + lrs[t] ** 2 * grad_bound**2 / (dim * noise[t]))
        cumulative.append(total)
    np.testing.assert_allclose(
        info_bounds.pensia_information_bound(lrs, noise, grad_bound, dim), cumulative, rtol=1e-12
    )


def test_constant_schedule_gives_t_times_one_step_and_needs_num_steps():
    one = info_bounds.gaussian_channel_information(0.3**2 * 2.0**2, 0.05, 11)
    got = info_bounds.pensia_information_bound(0.3, 0.05, 2.0, 11, num_steps=25)
    np.testing.assert_allclose(got, one * np.arange(1, 26), rtol=1e-12)
    assert info_bounds.pensia_information_bound(0.3, 0.05, 2.0, 11).shape == (1,)


def test_one_step_bound_is_attained_by_a_gaussian_input_and_not_by_a_bounded_one():
    # one step from a fixed point: W = w0 - lr F + noise. A Gaussian F with E||F||^2 = L^2
    # carries exactly the bound (Monte Carlo); F = +-L/sqrt(d) per coordinate carries less.
    lr, grad_bound, dim, noise = 0.5, 2.0, 4, 0.1
    bound = info_bounds.pensia_information_bound(lr, noise, grad_bound, dim)[0]
    estimate, se = info_bounds.gaussian_channel_information_mc(
        lr**2 * grad_bound**2, noise, dim, 40000, seed=1
    )
    assert abs(estimate - bound) < 4 * se
    snr = lr**2 * grad_bound**2 / (dim * noise)
    binary = dim * info_bounds.binary_input_information(snr)
    assert 0.85 * bound < binary < 0.9 * bound  # 0.877 of the bound at snr 2.5


def test_xu_raginsky_bound_for_a_loss_in_zero_one():
    sigma = info_bounds.bounded_loss_subgaussian(0.0, 1.0)
    assert sigma == 0.5
    assert info_bounds.xu_raginsky_bound(18.0, 100, sigma) == pytest.approx(math.sqrt(18 / 200))
    got = info_bounds.xu_raginsky_bound(np.array([[0.0, 8.0]]), 4, 2.0)
    np.testing.assert_allclose(got, [[0.0, 4.0]])


def test_sgld_noise_variance_is_two_lr_over_beta():
    assert info_bounds.sgld_noise_variance(0.1, 40.0) == pytest.approx(0.005)
    np.testing.assert_allclose(
        info_bounds.sgld_noise_variance(0.2, np.array([1.0, 4.0])), [0.4, 0.1]
    )


# ------------------------------------------------------------------- SGLD with clipping


def _logistic(params, x, y):
    z = x @ params
    return torch.nn.functional.softplus(z) - y * z  # log(1 + e^z) - y z, labels 0 and 1


def _problem(k=12, dim=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = 3 * torch.randn(k, dim, generator=gen, dtype=torch.float64)
    y = (torch.rand(k, generator=gen) > 0.5).double()
    params = torch.randn(dim, generator=gen, dtype=torch.float64)
    return params, X, y


def test_per_example_gradients_match_a_loop_of_autograd():
    params, X, y = _problem()
    got = info_bounds.per_example_gradients(_logistic, params, X, y)
    for i in range(len(y)):
        p = params.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(_logistic(p, X[i], y[i]), p)
        torch.testing.assert_close(got[i], grad)


def test_clipping_caps_every_norm_and_keeps_directions_and_small_rows():
    gen = torch.Generator().manual_seed(1)
    grads = torch.randn(3, 20, 5, generator=gen, dtype=torch.float64) * torch.logspace(
        -2, 1, 20, dtype=torch.float64
    ).reshape(1, 20, 1)
    clipped = info_bounds.clip_per_example(grads, 0.5)
    norms, before = clipped.norm(dim=-1), grads.norm(dim=-1)
    assert torch.all(norms <= 0.5 + 1e-12)
    small = before <= 0.5
    torch.testing.assert_close(clipped[small], grads[small])
    torch.testing.assert_close(norms[~small], torch.full_like(norms[~small], 0.5))
    cosine = (clipped * grads).sum(-1) / (norms * before)
    torch.testing.assert_close(cosine, torch.ones_like(cosine))


def test_logistic_closed_form_equals_vmap_then_clip_then_mean():
    params, X, y = _problem(k=30, dim=5, seed=2)
    grads = info_bounds.per_example_gradients(_logistic, params, X, y)
    for max_norm in (0.3, 2.0, 1e6):
        want = info_bounds.clip_per_example(grads, max_norm).mean(0)
        got = info_bounds.logistic_clipped_mean_gradient(params, X, y, max_norm)
        torch.testing.assert_close(got, want)
        assert got.norm() <= max_norm


def test_logistic_closed_form_broadcasts_over_temperatures_and_draws():
    _, X, y = _problem(k=8, dim=4, seed=3)
    Xs, ys = torch.stack([X, 2 * X]), torch.stack([y, 1 - y])  # two draws
    params = torch.randn(3, 2, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    got = info_bounds.logistic_clipped_mean_gradient(params, Xs, ys, 0.7)
    assert got.shape == (3, 2, 4)
    for b in range(3):
        for r in range(2):
            want = info_bounds.logistic_clipped_mean_gradient(params[b, r], Xs[r], ys[r], 0.7)
            torch.testing.assert_close(got[b, r], want)


def test_sgld_step_with_zero_gradient_has_variance_two_lr_over_beta():
    gen = torch.Generator().manual_seed(5)
    zeros = torch.zeros(2, 200_000, dtype=torch.float64)
    beta = torch.tensor([[10.0], [1000.0]], dtype=torch.float64)
    moved = info_bounds.sgld_step(zeros, torch.zeros_like(zeros), 0.2, beta, gen)
    variance = moved.var(dim=1).numpy()
    want = np.array([0.04, 0.0004])
    # the sample variance of 200,000 Gaussians is within 4 * sqrt(2 / m) of the truth
    assert np.all(np.abs(variance / want - 1) < 4 * math.sqrt(2 / 200_000))
    assert abs(moved.mean().item()) < 1e-3


def test_sgld_records_update_norms_keeps_checkpoints_and_is_reproducible():
    n, dim = 10, 3
    data = torch.arange(n * dim, dtype=torch.float64).reshape(n, dim) / 30

    def direction(params, index):  # the mean of the chosen rows: known without the weights
        return data[index].mean(0).expand_as(params)

    start = torch.zeros(2, dim, dtype=torch.float64)
    path = info_bounds.sgld(direction, start, n, 0.1, 1e12, 6, 4, seed=7, checkpoints=(0, 3, 6))
    again = info_bounds.sgld(direction, start, n, 0.1, 1e12, 6, 4, seed=7, checkpoints=(0, 3, 6))
    np.testing.assert_array_equal(path.params, again.params)
    assert path.params.shape == (3, 2, dim) and path.update_sq_norm.shape == (6, 2)
    np.testing.assert_array_equal(path.params[0], 0.0)
    # with (almost) no noise the weights are minus lr times the sum of the directions, and
    # the mean of 4 of the rows has squared norm between the smallest and largest possible
    steps = -path.params[-1] / 0.1
    assert np.allclose(steps[0], steps[1], atol=1e-4)
    row_sq = (data**2).sum(1).numpy()
    assert np.all(path.update_sq_norm <= row_sq.max() + 1e-12)
    assert np.all(path.update_sq_norm >= (data.mean(0) ** 2).sum().item() * 0.1)


# ------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: info_bounds.bounded_loss_subgaussian(1.0, 0.0),
            "high must be a number above 1; got 0.0.",
        ),
        (
            lambda: info_bounds.gaussian_channel_information(-1.0, 1.0),
            "power must be non-negative; got -1.0.",
        ),
        (
            lambda: info_bounds.gaussian_channel_information(1.0, 0.0),
            "noise_variance must be positive; got 0.0",
        ),
        (lambda: info_bounds.binary_input_information(-0.5), "snr must be non-negative; got -0.5."),
        (
            lambda: info_bounds.step_information_bounds([0.1, 0.2], [1.0, 1.0, 1.0], 1.0, 3),
            "lrs, noise_variances and second_moments must have one length T or be numbers; "
            "got lengths 2, 3 and 1.",
        ),
        (
            lambda: info_bounds.step_information_bounds(0.1, 1.0, -2.0, 3),
            "second_moments must be non-negative; got -2.0.",
        ),
        (
            lambda: info_bounds.pensia_information_bound(0.1, 1.0, 0.0, 3),
            "grad_bound must be a positive number; got 0.0.",
        ),
        (
            lambda: info_bounds.pensia_information_bound([0.1, 0.2], 1.0, 1.0, 3, num_steps=5),
            "num_steps must equal the length of the schedules (2); got 5.",
        ),
        (
            lambda: info_bounds.xu_raginsky_bound(1.0, 0, 0.5),
            "n_samples must be a positive integer; got 0.",
        ),
        (
            lambda: info_bounds.xu_raginsky_bound(-1.0, 10, 0.5),
            "information must be non-negative; got -1.0.",
        ),
        (lambda: info_bounds.sgld_noise_variance(0.1, 0.0), "beta must be positive; got 0.0"),
        (
            lambda: info_bounds.clip_per_example(torch.ones(2, 2), 0.0),
            "max_norm must be a positive number; got 0.0.",
        ),
        (
            lambda: info_bounds.sgld_step(
                torch.zeros(2), torch.zeros(2), 0.1, torch.tensor([-1.0]), None
            ),
            "beta must be positive; got -1.0.",
        ),
        (
            lambda: info_bounds.sgld(None, torch.zeros(2), 5, 0.1, 1.0, 3, 2, 0, (0, 4)),
            "checkpoints must be steps from 0 to num_steps = 3; got 4.",
        ),
        (
            lambda: info_bounds.sgld(None, torch.zeros(2), 5, 0.1, 1.0, 3, 6, 0, (1,)),
            "batch_size must be an integer from 1 to 5; got 6.",
        ),
    ],
)
def test_bad_input_is_a_value_error_that_says_what_was_expected(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value).startswith(message)

"""Bias-variance decompositions: exact on designs of known expectations, unbiased in Monte Carlo."""

import itertools

import numpy as np
import pytest

from generalization import variance


def _centered(rng, *shape):
    x = rng.standard_normal(shape)
    return x - x.mean(axis=0)


@pytest.fixture(scope="module")
def design():
    """A crossed grid whose empirical distribution is the distribution: every part is known.

    f[s, i, e] = mu + a_s + b_i + c_si + z_e h_si with a, b centered over their levels, c
    centered over s and over i, and z = (-1, +1) equally likely.
    """
    rng = np.random.default_rng(0)
    S, I, T = 4, 5, 7
    mu, target = rng.standard_normal(T), rng.standard_normal(T)
    a, b = _centered(rng, S, T), _centered(rng, I, T)
    c = rng.standard_normal((S, I, T))
    c = c - c.mean(axis=0) - c.mean(axis=1, keepdims=True) + c.mean(axis=(0, 1))
    h = rng.standard_normal((S, I, T))
    z = np.array([-1.0, 1.0])
    f = (mu + a[:, None] + b[None] + c)[:, :, None] + z[None, None, :, None] * h[:, :, None]
    expected = dict(
        bias2=np.mean((mu - target) ** 2),
        var_noise=np.mean(h**2),
        var_sampling=np.mean(a**2),
        var_init_main=np.mean(b**2),
        var_interaction=np.mean(c**2),
    )
    expected["var_init"] = expected["var_init_main"] + expected["var_interaction"]
    return f, target, expected


def test_parts_equal_their_known_values_and_add_up(design):
    f, target, expected = design
    dec = variance.decompose(f, target)
    for name, value in expected.items():
        assert getattr(dec, name) == pytest.approx(value, rel=1e-12), name
    assert sum(getattr(dec, p) for p in variance.PARTS) == pytest.approx(dec.test_error, rel=1e-12)
    assert dec.test_error == pytest.approx(np.mean((f - target) ** 2), rel=1e-12)
    assert dec.variance == pytest.approx(dec.var_noise + dec.var_init + dec.var_sampling)
    assert set(dec.as_dict()) == {"test_error", *expected}


def test_the_order_of_conditioning_books_the_interaction_to_initialization():
    # a pure interaction: f = a_s * b_i with centered a, b has no main effects at all
    a, b = np.array([-1.0, 1.0]), np.array([-2.0, 2.0])
    f = (a[:, None] * b[None])[:, :, None, None]
    dec = variance.decompose(f, np.zeros(1))
    assert dec.var_sampling == 0 and dec.var_init_main == 0
    assert dec.var_init == dec.var_interaction == dec.test_error == 4.0


def test_deterministic_predictor_has_no_initialization_variance(design):
    f, target, _ = design
    same = np.repeat(f[:, :1], 6, axis=1)  # every initialization gives the first one's predictor
    dec = variance.decompose(same, target)
    assert (
        max(abs(dec.var_init), abs(dec.var_init_main), abs(dec.var_interaction)) < 1e-28
    )  # rounding only
    errors = [variance.ensemble_error(same, target, k) for k in (1, 2, 3, 6)]
    np.testing.assert_allclose(errors, errors[0], rtol=1e-12)


def test_noiseless_labels_have_no_noise_variance(design):
    f, target, _ = design
    assert variance.decompose(f[:, :, :1], target).var_noise == 0


def test_ensemble_error_averages_groups_of_consecutive_initializations():
    rng = np.random.default_rng(1)
    f, target = rng.standard_normal((3, 6, 2, 5)), rng.standard_normal(5)
    by_hand = np.mean([(f[:, 2 * g : 2 * g + 2].mean(axis=1) - target) ** 2 for g in range(3)])
    assert variance.ensemble_error(f, target, 2) == pytest.approx(by_hand)
    assert variance.ensemble_error(f, target, 1) == pytest.approx(np.mean((f - target) ** 2))
    assert variance.ensemble_error(f, target, 4) == pytest.approx(
        np.mean((f[:, :4].mean(axis=1) - target) ** 2)
    )


@pytest.fixture(scope="module")
def linear():
    rng = np.random.default_rng(2)
    S, I, T, n = 3, 4, 6, 5
    return (
        rng.standard_normal((S, I, T, n)),
        rng.standard_normal((S, n)),
        rng.standard_normal(T),
        0.7,
    )


def test_linear_moments_match_every_sign_pattern_of_the_noise(linear):
    # Rademacher noise sigma * z over all 2^n sign patterns has exactly mean 0 and covariance
    # sigma^2 I
    L, y, target, sigma2 = linear
    n = L.shape[3]
    z = np.sqrt(sigma2) * np.array(list(itertools.product((-1.0, 1.0), repeat=n)))  # (2^n, n)
    f = np.einsum("sitn,sen->siet", L, y[:, None, :] + z[None])
    plug_in = variance.decompose(f, target)
    exact = variance.decompose_linear(L, y, target, sigma2, unbiased=False)
    for name, value in plug_in.as_dict().items():
        assert getattr(exact, name) == pytest.approx(value, rel=1e-10, abs=1e-12), name
    for k in (1, 2, 4):
        assert variance.ensemble_error_linear(L, y, target, sigma2, k) == pytest.approx(
            variance.ensemble_error(f, target, k), rel=1e-10
        )


def test_unbiased_parts_add_up_to_the_same_total(linear):
    L, y, target, sigma2 = linear
    unbiased = variance.decompose_linear(L, y, target, sigma2)
    plug_in = variance.decompose_linear(L, y, target, sigma2, unbiased=False)
    assert sum(getattr(unbiased, p) for p in variance.PARTS) == pytest.approx(
        unbiased.test_error, rel=1e-12
    )
    assert unbiased.test_error == pytest.approx(plug_in.test_error, rel=1e-12)
    assert unbiased.var_noise == pytest.approx(plug_in.var_noise, rel=1e-12)


def test_unbiased_estimators_recover_random_effects_in_monte_carlo():
    # g = a_s + b_i + c_si with variances 1, 0.5, 2 at each of T independent test points;
    # with S = 3, I = 4 the plug-in sampling part is biased (its expectation is
    # (S-1)/S (1 + 2/I) = 1); averaged over 40,000 test points the unbiased one is near 1.
    rng = np.random.default_rng(3)
    S, I, T = 3, 4, 40_000
    g = (
        rng.standard_normal((S, 1, T))
        + np.sqrt(0.5) * rng.standard_normal((1, I, T))
        + np.sqrt(2.0) * rng.standard_normal((S, I, T))
    )
    noise = np.full((S, I, T), 0.3)
    dec = variance.decompose_moments(g, noise, np.zeros(T))
    plug_in = variance.decompose_moments(g, noise, np.zeros(T), unbiased=False)
    # standard errors of these averages are about 0.01 to 0.02 (measured spread over seeds)
    assert dec.var_sampling == pytest.approx(1.0, abs=0.06)
    assert dec.var_init_main == pytest.approx(0.5, abs=0.06)
    assert dec.var_interaction == pytest.approx(2.0, abs=0.06)
    assert dec.bias2 == pytest.approx(0.0, abs=0.06)
    assert dec.var_noise == pytest.approx(0.3)
    assert plug_in.var_init_main == pytest.approx(
        (I - 1) / I * (0.5 + 2.0 / S), abs=0.06
    )  # the plug-in bias
    assert plug_in.bias2 == pytest.approx(1.0 / S + 0.5 / I + 2.0 / (S * I), abs=0.06)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: variance.decompose(np.zeros((2, 2, 3)), np.zeros(3)), "shape"),
        (lambda: variance.decompose(np.zeros((2, 2, 1, 3)), np.zeros(4)), "n_test = 3"),
        (lambda: variance.decompose(np.full((2, 2, 1, 3), np.nan), np.zeros(3)), "finite"),
        (lambda: variance.decompose("abc", np.zeros(3)), "real numbers"),
        (lambda: variance.decompose(np.zeros((0, 2, 1, 3)), np.zeros(3)), "non-empty"),
        (
            lambda: variance.ensemble_error(np.zeros((2, 3, 1, 4)), np.zeros(4), 4),
            "k must be an integer from 1 to 3; got 4",
        ),
        (
            lambda: variance.ensemble_error(np.zeros((2, 3, 1, 4)), np.zeros(4), 0),
            "k must be an integer from 1 to 3; got 0",
        ),
        (
            lambda: variance.ensemble_error(np.zeros((2, 3, 1, 4)), np.zeros(4), True),
            "k must be an integer from 1 to 3; got True",
        ),
        (
            lambda: variance.decompose_moments(
                np.zeros((2, 2, 3)), np.zeros((2, 3, 3)), np.zeros(3)
            ),
            "shape of",
        ),
        (
            lambda: variance.decompose_moments(
                np.zeros((2, 2, 3)), -np.ones((2, 2, 3)), np.zeros(3)
            ),
            "non-negative",
        ),
        (
            lambda: variance.decompose_moments(
                np.zeros((1, 2, 3)), np.zeros((1, 2, 3)), np.zeros(3)
            ),
            "at least 2",
        ),
        (
            lambda: variance.decompose_linear(
                np.zeros((2, 2, 3, 4)), np.zeros((2, 5)), np.zeros(3), 1.0
            ),
            "train_targets",
        ),
        (
            lambda: variance.decompose_linear(
                np.zeros((2, 2, 3, 4)), np.zeros((2, 4)), np.zeros(3), -1.0
            ),
            "noise_var",
        ),
        (
            lambda: variance.decompose_linear(
                np.zeros((2, 2, 3, 4)), np.zeros((2, 4)), np.zeros(3), True
            ),
            "noise_var",
        ),
        (
            lambda: variance.ensemble_error_linear(
                np.zeros((2, 2, 3, 4)), np.zeros((2, 4)), np.zeros(2), 1.0, 1
            ),
            "target",
        ),
    ],
)
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_ensemble_limit_recovers_the_law():
    ks = (1, 2, 5, 10)
    errors = 0.3 + 2.0 / np.array(ks)
    assert variance.ensemble_limit(ks, errors) == pytest.approx((0.3, 2.0))
    e_inf, v = variance.ensemble_limit(ks, np.stack([errors, 2 * errors], axis=1))
    np.testing.assert_allclose(e_inf, [0.3, 0.6]) and np.testing.assert_allclose(v, [2.0, 4.0])
    with pytest.raises(ValueError, match="at least 2 distinct"):
        variance.ensemble_limit((2, 2), (1.0, 1.0))
    with pytest.raises(ValueError, match="errors must have len\\(ks\\) = 2 rows"):
        variance.ensemble_limit((1, 2), (1.0, 1.0, 1.0))

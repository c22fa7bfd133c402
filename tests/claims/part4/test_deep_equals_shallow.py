"""Claims of book/part4/deep_equals_shallow.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization import sphere
from generalization.chapters.part4 import deep_equals_shallow as des
from generalization.fit import loglog_slope

S = des.settings()


@pytest.fixture(scope="module")
def spec():
    return des.spectrum_experiment(**S["spectrum"])  # the chapter's call


@pytest.fixture(scope="module")
def samp():
    return des.sample_experiment(**S["sample"])


@pytest.fixture(scope="module")
def net():
    return des.network_experiment(**S["network"])


@pytest.fixture(scope="module")
def par():
    return des.parity_experiment(**S["parity"])


@pytest.fixture(scope="module")
def mn():
    return des.mnist_experiment(**S["mnist"])


def _exponents(spec, kind):
    """Every fitted exponent of ``kind`` minus the theory's, (dims, depths) even and odd."""
    predicted = -np.array(spec.dims)[:, None] - 2 * (kind == "nngp")
    return np.concatenate(
        [spec.slope_even[kind] - predicted, spec.slope_odd[kind][:, 1:] - predicted], axis=1
    )


# --- the spectra -------------------------------------------------------------------------


def test_fitted_exponents_are_minus_d_and_minus_d_minus_two(spec):
    """On S^2 the fitted exponents are about -3 (NTK) and -5 (NNGP); in every dimension, depth
    and parity they lie within a few hundredths above -d and -d - 2."""
    i3 = list(spec.dims).index(3)
    assert -3.0 < spec.slope_even["ntk"][i3].mean() < -2.97  # quick: -2.986
    assert -5.0 < spec.slope_even["nngp"][i3].mean() < -4.95  # quick: -4.973
    ntk, nngp = _exponents(spec, "ntk"), _exponents(spec, "nngp")
    assert np.all((0.005 < ntk) & (ntk < 0.06))  # quick: 0.014 to 0.042 above -d
    assert np.all((0.01 < nngp) & (nngp < 0.09))  # quick: 0.026 to 0.066 above -d - 2


def test_depth_moves_the_exponent_by_thousandths(spec):
    """From the shallowest network to the deepest the fitted exponents move by at most a few
    thousandths, for both kernels and every dimension."""
    ntk = np.max(np.ptp(spec.slope_even["ntk"], axis=1))
    nngp = np.max(np.ptp(spec.slope_even["nngp"], axis=1))
    assert 1e-4 < ntk < 0.003  # quick: 0.0013
    assert 1e-4 < nngp < 0.005  # quick: 0.0024


def test_depth_raises_the_constant_of_the_decay(spec):
    """On S^2, mu_K K^3 of the NTK grows with depth from about 0.16 to 0.40, and mu_K K^5 of
    the NNGP kernel from about 0.94 to 2.4."""
    K, i3 = spec.k_max, list(spec.dims).index(3)
    ntk = spec.mu["ntk"][i3, :, K] * K**3
    nngp = spec.mu["nngp"][i3, :, K] * K**5
    assert np.all(np.diff(ntk) > 0) and np.all(np.diff(nngp) > 0)
    assert 0.14 < ntk[0] < 0.18 and 0.36 < ntk[-1] < 0.44  # quick: 0.158, 0.399
    assert 0.85 < nngp[0] < 1.05 and 2.2 < nngp[-1] < 2.7  # quick: 0.943, 2.42


def test_shallow_odd_eigenvalues_vanish_and_deep_ones_do_not(spec):
    """Without bias, J = 2 has odd eigenvalues from degree three on that are zero to rounding;
    from J = 3 on they are positive and decay at the even ones' rate."""
    for kind in des.KINDS:
        assert np.all(spec.odd_zero[kind][:, 0] < 1e-13)  # quick: at most 1.7e-15
        assert np.all(np.isnan(spec.slope_odd[kind][:, 0]))
        deep = spec.odd_zero[kind][:, 1:]
        assert np.all((1.5e-3 < deep) & (deep < 0.06))  # quick: 2.1e-3 to 0.030
        gap = np.abs(spec.slope_odd[kind][:, 1:] - spec.slope_even[kind][:, 1:])
        assert np.all(gap < 0.002)  # quick: at most 5e-4


def test_a_bias_fills_the_odd_degrees_and_keeps_the_exponent(spec):
    """The shallow kernels with a bias have odd eigenvalues, and exponents within a few
    thousandths of the bias-free ones."""
    for kind in des.KINDS:
        assert np.all(spec.mu_bias[kind][:, 3::2] > 0)
        gap = np.abs(spec.slope_bias_even[kind] - spec.slope_even[kind][:, 0])
        assert np.all(gap < 0.003)  # quick: at most 0.0013
        odd_even = np.abs(spec.slope_bias_odd[kind] - spec.slope_bias_even[kind])
        assert np.all(odd_even < 0.003)  # quick: at most 5e-4


def test_the_degrees_up_to_k_max_hold_almost_all_the_trace(spec):
    """Up to degree K the multiplicities times the eigenvalues add up to at least 0.99 of the
    trace kappa(1) = 1, and never more."""
    for kind in des.KINDS:
        assert np.all((0.99 < spec.trace[kind]) & (spec.trace[kind] < 1 + 1e-9))  # quick: 0.995+


# --- the two checks ----------------------------------------------------------------------


def test_sampled_kernel_matrices_match_the_quadrature(samp):
    """The mean of the sampled eigenvalues of each degree's group is within a few percent of
    mu_k; the shallow staircase skips the odd degrees, the deeper one has them."""
    assert np.all((0.005 < samp.rel_error) & (samp.rel_error < 0.05))  # quick: 0.022, 0.028
    assert not np.any(np.isin(samp.degrees[0], (3, 5, 7)))
    assert np.isin(3, samp.degrees[-1])


def test_finite_networks_are_near_their_kernel_deep_ones_further(net):
    """At width 2048 the empirical NTK is a few percent from the limit for J = 2 and further for
    J = 4."""
    first, last = net.rel_error[:, 0].mean(), net.rel_error[:, -1].mean()
    assert 0.03 < first < 0.07  # quick: 0.047
    assert 0.06 < last < 0.13  # quick: 0.091
    assert last > first


# --- parity ------------------------------------------------------------------------------


def test_shallow_bias_free_kernels_cannot_fit_an_odd_harmonic(par):
    """On the odd target the shallow bias-free kernels do worse than predicting zero (error
    above one), the NTK by about half and the NNGP kernel by more."""
    ntk, nngp = par.error["odd"]["ntk"][:, 0], par.error["odd"]["nngp"][:, 0]
    assert np.all(ntk > 1) and np.all(nngp > 1)  # quick: 1.41 and 2.69 at least
    assert 1.2 < ntk.mean() < 2.0  # quick: 1.55
    assert 2.0 < nngp.mean() < 8.0  # quick: 4.11 (2.69, 2.86, 6.79)


def test_deeper_kernels_and_a_bias_fit_the_odd_harmonic(par):
    """Every deeper kernel, and the shallow kernel with a bias, fits the odd target to a few
    thousandths of its mean square."""
    for kind in des.KINDS:
        assert np.all(par.error["odd"][kind][:, 1:] < 5e-3)  # quick: at most 1.6e-3
        assert np.all(par.error_bias["odd"][kind] < 5e-3)  # quick: at most 1.8e-3


def test_every_kernel_fits_the_even_harmonic_the_shallow_ntk_best(par):
    """On the even target every kernel's error is at most a few hundredths; the shallow NTK's is
    several times smaller than the deepest one's."""
    for kind in des.KINDS:
        assert np.all(par.error["even"][kind] < 0.03)  # quick: at most 0.011
        assert np.all(par.error_bias["even"][kind] < 0.03)  # quick: at most 0.0135
    ntk = par.error["even"]["ntk"].mean(0)
    assert 3 < ntk[-1] / ntk[0] < 30  # quick: 7.0e-3 / 6.5e-4 = 10.8


# --- MNIST -------------------------------------------------------------------------------


def test_every_relu_kernel_is_near_five_percent_far_below_linear(mn):
    """All ReLU kernels of every depth land between about 4.3 and 5.6 % test error, their means
    within a point of each other, the linear kernel near 21 %."""
    errors = 100 * np.concatenate([mn.error[kind].ravel() for kind in des.KINDS])
    assert 3.8 < errors.min() and errors.max() < 6.3  # quick: 4.3 to 5.6
    means = 100 * np.concatenate([mn.error[kind].mean(0) for kind in des.KINDS])
    assert 0.2 < np.ptp(means) < 1.0  # quick: 0.77 (4.60 to 5.37)
    assert 18 < 100 * mn.error_linear.mean() < 25  # quick: 21.3


def test_the_ntk_is_flat_in_depth(mn):
    """The mean test error of the NTK at each depth is within a few tenths of a point of the
    shallow one's."""
    err = 100 * mn.error["ntk"]
    assert 4.3 < err[:, 0].mean() < 5.8  # quick: 5.0
    assert np.max(np.abs(err.mean(0) - err[:, 0].mean())) < 0.6  # quick: 0.20


def test_the_nngp_kernel_gains_a_little_with_depth(mn):
    """The NNGP kernel's error is lower for the deepest network than for J = 2 in every draw,
    by a few tenths of a point to about one point."""
    err = 100 * mn.error["nngp"]
    gain = err[:, 0] - err[:, -1]
    assert np.all((0.1 < gain) & (gain < 2.0))  # quick: 1.1, 0.4, 0.8
    assert 4.7 < err[:, 0].mean() < 6.0 and 4.0 < err[:, -1].mean() < 5.2  # quick: 5.37, 4.60


def test_a_bias_changes_little_on_mnist_whose_images_are_never_opposed(mn):
    """With a bias the shallow kernels' errors stay within a point of the bias-free ones, and no
    two projected images have a negative inner product."""
    for kind in des.KINDS:
        shift = 100 * np.abs(mn.error_bias[kind].mean() - mn.error[kind][:, 0].mean())
        assert shift < 1.0  # quick: 0.40 (NTK), 0.23 (NNGP)
    X_train, _, X_test, _ = des.mnist_split(S["mnist"]["n_train"], S["mnist"]["n_test"], 0)
    assert np.min(X_test @ X_train.T) >= 0


# --- exercises ---------------------------------------------------------------------------


def test_exercises_exponents_in_five_dimensions_and_of_the_laplace_kernel():
    """The shallow NTK on the sphere of R^5 fits an exponent near -5, and the Laplace kernel on
    S^2 one near -3."""
    mu5 = sphere.mercer_eigenvalues(des.relu_kappa(1, "ntk", 5), 5, 160)
    k5 = np.arange(40, 161, 2)
    assert -5.0 < loglog_slope(k5, mu5[k5]) < -4.85  # -4.914
    lap = sphere.mercer_eigenvalues(lambda t: np.exp(-np.sqrt(2 * (1 - t))), 3, 200)
    kl = np.arange(40, 201)
    assert -3.0 < loglog_slope(kl, lap[kl]) < -2.95  # -2.983

"""Experiments of the chapter *Deep equals shallow for ReLU networks in kernel regimes*.

Bietti and Bach (2021) show that the kernels of fully connected ReLU networks in the kernel
regime, the neural tangent kernel (NTK) and the random-feature (NNGP) kernel, have on the
sphere ``S^{d-1}`` eigenvalues that decay at a rate set by the kernel function's behaviour
at the endpoints ``t = +1, -1`` of the inner product, and that this behaviour, hence the
rate, is the same at every depth: ``mu_k ~ C k^{-d}`` for the NTK and ``C k^{-d-2}`` for the
NNGP kernel, with only the constant ``C`` depending on depth. Deep and shallow kernels thus
have the same reproducing kernel Hilbert space, and in this regime depth buys nothing in
approximation. Their published code also compares deep and shallow kernels by kernel ridge
regression on MNIST and Fashion-MNIST. This chapter

* :func:`spectrum_experiment`: the Mercer eigenvalues ``mu_k`` of the NTK and NNGP kernels of
  :func:`generalization.ntk.relu_kernels` at depths 1 to 5 (hidden layers), on ``S^2`` and
  ``S^3``, by :func:`generalization.sphere.mercer_eigenvalues`; power laws fitted to their
  tails (:func:`generalization.fit.power_law`), even and odd degrees apart;
* :func:`sample_experiment`: the eigenvalues of ``K / n`` on uniform points against those
  ``mu_k``, with their multiplicities (an independent check of the quadrature);
* :func:`network_experiment`: the empirical NTK of finite :func:`generalization.ntk.mlp`
  networks against the limit kernel on points of the sphere;
* :func:`parity_experiment`: kernel regression of an even and an odd spherical harmonic on
  ``S^2``, where the bias-free shallow kernels, whose odd eigenvalues of degree three and up
  vanish, fail on the odd one;
* :func:`mnist_experiment`: kernel regression (the interpolant, :func:`kernel_regression`)
  with these kernels of depths 1 to 5 on MNIST digits projected onto the sphere.

Differences from the paper: the paper reads the decay off asymptotic expansions (its
Theorem 1); we compute the eigenvalues by quadrature and fit the exponents. On MNIST the
paper trains on 50,000 images, keeps the norms of the images (a kernel homogeneous in
them) and chooses a ridge on 10,000 validation images; we train on a few thousand images
projected onto the sphere and use the ridgeless interpolant, which is what gradient descent
on the squared loss converges to in the kernel regime.

References
----------
Bietti, Bach (2021), *Deep equals shallow for ReLU networks in kernel regimes*, ICLR,
https://arxiv.org/abs/2009.14397; code https://github.com/albietz/deep_shallow_kernel.
Jacot, Gabriel, Hongler (2018), *Neural tangent kernel*, NeurIPS.
Cho, Saul (2009), *Kernel methods for deep learning*, NeurIPS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, cholesky, data, linear, ntk, settings_for, sphere
from generalization.book.cache import cached
from generalization.fit import loglog_slope

SETTINGS = {
    "quick": dict(
        spectrum=dict(dims=(3, 4), depths=(1, 2, 3, 4, 5), k_max=200, fit_from=40),
        sample=dict(d=3, n_points=1500, depths=(1, 3), k_max=12, n_degrees=6, seed=0),
        network=dict(d=3, n_points=50, depths=(1, 3), width=2048, seeds=(0, 1, 2)),
        parity=dict(d=3, n_train=300, n_test=2000, depths=(1, 2, 3), seeds=(0, 1, 2)),
        mnist=dict(n_train=2000, n_test=1000, depths=(1, 2, 3, 4, 5), seeds=(0, 1, 2)),
    ),
    "full": dict(
        spectrum=dict(dims=(3, 4, 5), depths=(1, 2, 3, 4, 5, 6, 8), k_max=400, fit_from=80),
        sample=dict(d=3, n_points=4000, depths=(1, 2, 3), k_max=16, n_degrees=8, seed=0),
        network=dict(d=3, n_points=100, depths=(1, 2, 3), width=8192, seeds=(0, 1, 2, 3, 4)),
        parity=dict(d=3, n_train=1000, n_test=5000, depths=(1, 2, 3, 4), seeds=tuple(range(5))),
        mnist=dict(n_train=10000, n_test=10000, depths=(1, 2, 3, 4, 5), seeds=tuple(range(5))),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

``depths`` count hidden layers (the paper's ``L`` is one more). ``fit_from``: the power laws
are fitted over degrees ``fit_from .. k_max``. Quick runs in well under a minute on 2 CPU
cores; full adds a dimension, depths and degrees, and trains on 10,000 images (the paper:
50,000, which needs a 50,000 x 50,000 kernel matrix)."""

KINDS = ("ntk", "nngp")
"""The two kernels of a ReLU network: the neural tangent kernel and the output covariance
at initialization (random-feature or NNGP kernel, the ``kappa_RF`` of the paper)."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def _few_threads(n):
    """One BLAS thread for matrices of fewer than 4096 rows, else no limit: threaded LAPACK
    factorizations of that size gain little on two cores and slow down by orders of
    magnitude when the cores are shared (as in ``chapters/part2/double_descent.py``)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1 if n < 4096 else None)


# --------------------------------------------------------------------------- the kernels


def _pairs(t, d):
    """Unit vectors ``e_1`` (1, d) and ``u_i = (t_i, sqrt(1 - t_i^2), 0, ...)`` (m, d):
    ``<e_1, u_i> = t_i``."""
    X1 = np.zeros((1, d))
    X1[0, 0] = 1.0
    X2 = np.zeros((t.size, d))
    X2[:, 0] = t
    X2[:, 1] = np.sqrt(np.clip(1.0 - t * t, 0.0, None))
    return X1, X2


def pick(kernels, kind):
    """The kernel ``kind`` ("ntk" or "nngp") of the pair ``(nngp, ntk)`` that
    :func:`generalization.ntk.relu_kernels` returns."""
    nngp, ntk_ = kernels
    return ntk_ if checks.choice("kind", kind, KINDS) == "ntk" else nngp


def bias_variance(d, bias):
    """The ``bias_var`` of :func:`generalization.ntk.relu_kernels` for inputs on ``S^{d-1}``:
    0 without bias, else ``2 / d``, the variance ``weight_var / d`` that the weights give a
    unit-norm input in the first layer (so the first-layer correlation is ``(1 + t) / 2``)."""
    return 2.0 / checks.count("d", d, minimum=2) if bias else 0.0


def relu_kappa(depth, kind, d, bias=False):
    """The kernel function ``kappa(t)``, ``k(x, y) = kappa(<x, y>)`` on ``S^{d-1}``, of a ReLU
    network with ``depth`` hidden layers, normalized to ``kappa(1) = 1``.

    Evaluated by :func:`generalization.ntk.relu_kernels` (``weight_var = 2``) on pairs of unit
    vectors with inner product ``t``, and divided by its value at ``t = 1``. Without bias this
    is the paper's ``kappa_NTK^L / L`` or ``kappa_RF^L`` with ``L = depth + 1``.

    Parameters
    ----------
    depth : int, positive
    kind : {"ntk", "nngp"}
    d : int, at least 2
    bias : bool, default False
        With a bias of variance :func:`bias_variance` in every layer.

    Returns
    -------
    callable
        ``kappa(t)`` for an array ``t`` of shape (m,) in [-1, 1], shape (m,).
    """
    depth = checks.count("depth", depth)
    kind = checks.choice("kind", kind, KINDS)
    d = checks.count("d", d, minimum=2)
    bias_var = bias_variance(d, bias)
    one = np.zeros((1, d))
    one[0, 0] = 1.0
    at_one = pick(ntk.relu_kernels(one, None, depth, bias_var=bias_var), kind)[0, 0]

    def kappa(t):
        t = np.asarray(t, dtype=float)
        X1, X2 = _pairs(t, d)
        return pick(ntk.relu_kernels(X1, X2, depth, bias_var=bias_var), kind)[0] / at_one

    return kappa


# -------------------------------------------------------------------------- the spectrum


@dataclass(frozen=True)
class Spectrum:
    """What :func:`spectrum_experiment` returns.

    ``mu[kind]``: eigenvalues, shape (len(dims), len(depths), k_max + 1); ``mu_bias[kind]``
    those of the one-hidden-layer kernel with a bias, (len(dims), k_max + 1).
    ``slope_even[kind]``, ``slope_odd[kind]`` (len(dims), len(depths)): exponents fitted over
    even (odd) degrees from ``fit_from`` to ``k_max`` (NaN where the odd eigenvalues vanish);
    ``slope_bias_even``, ``slope_bias_odd`` likewise (len(dims),). ``odd_zero[kind]``
    (len(dims), len(depths)): ``max |mu_k| / mu_0`` over odd ``k >= 3``. ``trace[kind]``
    (len(dims), len(depths)): ``sum_k N(d, k) mu_k`` up to ``k_max``, which tends to
    ``kappa(1) = 1``.
    """

    dims: tuple
    depths: tuple
    k_max: int
    fit_from: int
    mu: dict
    mu_bias: dict
    slope_even: dict
    slope_odd: dict
    slope_bias_even: dict
    slope_bias_odd: dict
    odd_zero: dict
    trace: dict
    run_time_s: float


def _tail_slopes(mu, fit_from):
    """Exponents fitted over the even and the odd degrees ``k >= fit_from`` (NaN when the
    odd eigenvalues are not positive)."""
    k = np.arange(mu.size)
    even = (k >= fit_from) & (k % 2 == 0)
    odd = (k >= fit_from) & (k % 2 == 1)
    slope_even = loglog_slope(k[even], mu[even])
    slope_odd = loglog_slope(k[odd], mu[odd]) if np.all(mu[odd] > 0) else np.nan
    return slope_even, slope_odd


@cached
def spectrum_experiment(dims, depths, k_max, fit_from):
    """Mercer eigenvalues of the NTK and NNGP kernels of every depth on ``S^{d-1}``. Cached.

    Parameters
    ----------
    dims : sequence of int, each at least 3
    depths : sequence of int, positive (hidden layers)
    k_max : int
        The largest degree.
    fit_from : int
        The smallest degree of the power-law fits.

    Returns
    -------
    Spectrum
    """
    dims = checks.integers("dims", dims, minimum=3)
    depths = checks.integers("depths", depths, minimum=1, distinct=True)
    k_max = checks.count("k_max", k_max, minimum=4)
    fit_from = checks.count("fit_from", fit_from, minimum=1, maximum=k_max - 3)
    start = time.perf_counter()
    shape = (len(dims), len(depths))
    mu = {kind: np.zeros(shape + (k_max + 1,)) for kind in KINDS}
    mu_bias = {kind: np.zeros((len(dims), k_max + 1)) for kind in KINDS}
    slope_even = {kind: np.zeros(shape) for kind in KINDS}
    slope_odd = {kind: np.zeros(shape) for kind in KINDS}
    odd_zero = {kind: np.zeros(shape) for kind in KINDS}
    trace = {kind: np.zeros(shape) for kind in KINDS}
    bias_even = {kind: np.zeros(len(dims)) for kind in KINDS}
    bias_odd = {kind: np.zeros(len(dims)) for kind in KINDS}
    odd = np.arange(3, k_max + 1, 2)
    for i, d in enumerate(dims):
        counts = sphere.harmonic_dimension(d, np.arange(k_max + 1))
        for kind in KINDS:
            for j, depth in enumerate(depths):
                m = sphere.mercer_eigenvalues(relu_kappa(depth, kind, d), d, k_max)
                mu[kind][i, j] = m
                slope_even[kind][i, j], slope_odd[kind][i, j] = _tail_slopes(m, fit_from)
                odd_zero[kind][i, j] = np.max(np.abs(m[odd])) / m[0]
                trace[kind][i, j] = counts @ m
            m = sphere.mercer_eigenvalues(relu_kappa(1, kind, d, bias=True), d, k_max)
            mu_bias[kind][i] = m
            bias_even[kind][i], bias_odd[kind][i] = _tail_slopes(m, fit_from)
    return Spectrum(
        dims=dims,
        depths=depths,
        k_max=k_max,
        fit_from=fit_from,
        mu=mu,
        mu_bias=mu_bias,
        slope_even=slope_even,
        slope_odd=slope_odd,
        slope_bias_even=bias_even,
        slope_bias_odd=bias_odd,
        odd_zero=odd_zero,
        trace=trace,
        run_time_s=time.perf_counter() - start,
    )


def degree_averages(eigenvalues, mu, d, n_degrees):
    """The sample's eigenvalues averaged over the places each degree takes in the spectrum.

    Sorted in decreasing order, the ``N(d, k)`` equal eigenvalues ``mu_k`` of a degree take
    consecutive places (:func:`generalization.sphere.spectrum_with_multiplicities`); a sample
    splits them by its noise, but their mean is stable. For the ``n_degrees`` degrees with the
    largest non-zero ``mu_k``, this returns those degrees, their ``mu_k`` and the mean of the
    sample's eigenvalues at the same places.

    Parameters
    ----------
    eigenvalues : array_like, shape (m,)
        Of ``K / n``, in decreasing order, ``m`` at least the places of those degrees.
    mu : array_like, shape (K + 1,)
    d : int
    n_degrees : int, positive

    Returns
    -------
    degrees : ndarray of int, shape (n_degrees,)
    mu_k : ndarray, shape (n_degrees,)
    means : ndarray, shape (n_degrees,)
    """
    eigenvalues = checks.array("eigenvalues", eigenvalues, ndim=1)
    mu = checks.array("mu", mu, ndim=1)
    n_degrees = checks.count("n_degrees", n_degrees)
    order = np.argsort(-mu, kind="stable")
    order = order[mu[order] > 1e-12 * mu[order[0]]][:n_degrees]  # zero ones have no place
    counts = sphere.harmonic_dimension(d, order)
    ends = np.cumsum(counts)
    if order.size < n_degrees or ends[-1] > eigenvalues.size:
        raise ValueError(
            f"eigenvalues must cover {n_degrees} non-zero degrees; got {eigenvalues.size} "
            f"eigenvalues and {order.size} such degrees."
        )
    means = np.array([eigenvalues[e - c : e].mean() for c, e in zip(counts, ends)])
    return order, mu[order], means


@dataclass(frozen=True)
class Sample:
    """What :func:`sample_experiment` returns, for the NTK of each depth (lists by depth).

    ``empirical[j]``: the largest ``len(predicted[j])`` eigenvalues of ``K / n`` on
    ``n_points`` uniform points; ``predicted[j]``: ``mu_0 .. mu_{k_max}`` with their
    multiplicities, sorted (:func:`generalization.sphere.spectrum_with_multiplicities`);
    ``degrees[j]``, ``mu[j]``, ``means[j]``: :func:`degree_averages` over ``n_degrees``
    degrees; ``rel_error[j]``: ``max |means / mu - 1|``.
    """

    d: int
    n_points: int
    depths: tuple
    empirical: list
    predicted: list
    degrees: list
    mu: list
    means: list
    rel_error: np.ndarray
    run_time_s: float


@cached
def sample_experiment(d, n_points, depths, k_max, n_degrees, seed):
    """Eigenvalues of NTK matrices on uniform points against the Mercer eigenvalues. Cached.

    Returns
    -------
    Sample
    """
    depths = checks.integers("depths", depths, minimum=1)
    start = time.perf_counter()
    X = sphere.uniform_sphere(n_points, d, seed)
    out = {name: [] for name in ("empirical", "predicted", "degrees", "mu", "means")}
    errors = []
    with _few_threads(n_points):
        for depth in depths:
            K = ntk.relu_ntk(X, None, depth)
            K = K / K[0, 0]  # kappa(1) = 1: the diagonal is constant on the sphere
            mu = sphere.mercer_eigenvalues(relu_kappa(depth, "ntk", d), d, k_max)
            wanted = sphere.spectrum_with_multiplicities(mu, d)
            found = np.linalg.eigvalsh(K / n_points)[::-1][: wanted.size]
            degrees, mu_k, means = degree_averages(found, mu, d, n_degrees)
            for name, value in zip(out, (found, wanted, degrees, mu_k, means)):
                out[name].append(value)
            errors.append(float(np.max(np.abs(means / mu_k - 1))))
    return Sample(
        d=d,
        n_points=n_points,
        depths=depths,
        rel_error=np.array(errors),
        run_time_s=time.perf_counter() - start,
        **out,
    )


@dataclass(frozen=True)
class Network:
    """What :func:`network_experiment` returns: ``rel_error`` (len(seeds), len(depths)), the
    relative Frobenius distance between the empirical NTK of a network of width ``width`` at
    initialization and :func:`generalization.ntk.relu_ntk`, on the same ``n_points`` points of
    ``S^{d-1}``."""

    width: int
    seeds: tuple
    depths: tuple
    rel_error: np.ndarray
    run_time_s: float


@cached
def network_experiment(d, n_points, depths, width, seeds):
    """Empirical NTKs of finite ReLU networks (NTK parametrization, no bias) against the
    limit. Cached.

    Returns
    -------
    Network
    """
    depths = checks.integers("depths", depths, minimum=1)
    seeds = checks.integers("seeds", seeds)
    start = time.perf_counter()
    errors = np.zeros((len(seeds), len(depths)))
    for s, seed in enumerate(seeds):
        X = sphere.uniform_sphere(n_points, d, seed)
        for j, depth in enumerate(depths):
            model = ntk.mlp((d,) + (width,) * depth + (1,), seed=seed, dtype="float64")
            empirical = ntk.empirical_ntk(model, X)
            limit = ntk.relu_ntk(X, None, depth)
            errors[s, j] = np.linalg.norm(empirical - limit) / np.linalg.norm(limit)
    return Network(
        width=width,
        seeds=seeds,
        depths=depths,
        rel_error=errors,
        run_time_s=time.perf_counter() - start,
    )


# ------------------------------------------------------------------------ kernel regression


def kernel_regression(K_train, K_test, Y):
    """Predictions of the kernel interpolant ``f(x) = K(x, X) K^{-1} Y``.

    The limit of gradient descent on the squared loss from a zero function in the kernel
    regime (ridgeless kernel regression), by a Cholesky factorization of ``K``
    (:class:`generalization.cholesky.Factor`).

    Parameters
    ----------
    K_train : array_like, shape (n, n), symmetric positive definite
    K_test : array_like, shape (m, n)
    Y : array_like, shape (n,) or (n, k)

    Returns
    -------
    ndarray, shape (m,) or (m, k)

    Raises
    ------
    ValueError
        When ``K_train`` is not numerically positive definite.
    """
    K = np.array(checks.array("K_train", K_train, ndim=2), dtype=float, order="C")  # a copy
    K_test = checks.array("K_test", K_test, ndim=2)
    Y = checks.array("Y", Y, ndim=(1, 2))
    n = K.shape[0]
    if K.shape != (n, n) or K_test.shape[1] != n or Y.shape[0] != n:
        raise ValueError(
            f"K_train, K_test, Y must have shapes (n, n), (m, n), (n, ...); got {K.shape}, "
            f"{K_test.shape}, {Y.shape}."
        )
    factor = cholesky.Factor(K)  # overwrites K with the factor
    if factor.info != 0:
        raise ValueError(
            f"K_train must be positive definite; got a failure at column {factor.info}."
        )
    alpha = factor.solve(Y.reshape(n, -1))
    return (K_test @ alpha).reshape((K_test.shape[0],) + Y.shape[1:])


def harmonic_target(X, degree, direction):
    """The zonal harmonic ``sqrt(N(3, k)) P_k(<w, x>)`` on ``S^2`` (``d = 3`` only), whose mean
    square under the uniform measure is one: even for even ``k``, odd for odd ``k``.

    Parameters
    ----------
    X : array_like, shape (n, 3), rows on the sphere
    degree : int, non-negative
    direction : array_like, shape (3,), unit norm

    Returns
    -------
    ndarray, shape (n,)
    """
    X = checks.array("X", X, ndim=2)
    degree = checks.count("degree", degree, minimum=0)
    if X.shape[1] != 3:
        raise ValueError(f"X must have 3 columns (points of S^2); got shape {X.shape}.")
    t = np.clip(X @ np.asarray(direction, dtype=float), -1.0, 1.0)
    return np.sqrt(2 * degree + 1) * sphere.gegenbauer(degree, 3, t)[degree]


PARITY_TARGETS = {"even": 4, "odd": 3}
"""The degrees of the two targets of :func:`parity_experiment`."""


@dataclass(frozen=True)
class Parity:
    """What :func:`parity_experiment` returns.

    ``error[target][kind]``: the test mean squared error divided by the target's mean square
    (1 means no better than predicting zero), shape (len(seeds), len(depths));
    ``error_bias[target][kind]``: the same for one hidden layer with a bias, (len(seeds),).
    """

    depths: tuple
    seeds: tuple
    n_train: int
    error: dict
    error_bias: dict
    run_time_s: float


@cached
def parity_experiment(d, n_train, n_test, depths, seeds):
    """Kernel regression of an even and an odd zonal harmonic on ``S^2``. Cached.

    For each seed: a direction ``w``, ``n_train`` training and ``n_test`` test points uniform
    on the sphere, targets :func:`harmonic_target` of degrees :data:`PARITY_TARGETS`, the
    interpolant of every kernel (:func:`kernel_regression`).

    Returns
    -------
    Parity
    """
    if d != 3:
        raise ValueError(f"d must be 3 (the targets are harmonics of S^2); got {d!r}.")
    depths = checks.integers("depths", depths, minimum=1)
    seeds = checks.integers("seeds", seeds)
    start = time.perf_counter()
    error = {t: {k: np.zeros((len(seeds), len(depths))) for k in KINDS} for t in PARITY_TARGETS}
    error_bias = {t: {k: np.zeros(len(seeds)) for k in KINDS} for t in PARITY_TARGETS}
    with _few_threads(n_train):
        for s, seed in enumerate(seeds):
            rng = np.random.default_rng(seed)
            direction = sphere.to_sphere(rng.standard_normal((1, d)))[0]
            X = sphere.uniform_sphere(n_train + n_test, d, seed + 1000)
            X_train, X_test = X[:n_train], X[n_train:]
            Y = np.stack([harmonic_target(X, k, direction) for k in PARITY_TARGETS.values()], 1)
            runs = [(j, depth, 0.0) for j, depth in enumerate(depths)]
            runs.append((None, 1, bias_variance(d, True)))
            for j, depth, bias_var in runs:
                train = ntk.relu_kernels(X_train, None, depth, bias_var=bias_var)
                test = ntk.relu_kernels(X_test, X_train, depth, bias_var=bias_var)
                for kind in KINDS:
                    pred = kernel_regression(pick(train, kind), pick(test, kind), Y[:n_train])
                    values = np.mean((pred - Y[n_train:]) ** 2, 0) / np.mean(Y[n_train:] ** 2, 0)
                    for target, value in zip(PARITY_TARGETS, values):
                        if j is None:
                            error_bias[target][kind][s] = value
                        else:
                            error[target][kind][s, j] = value
    return Parity(
        depths=depths,
        seeds=seeds,
        n_train=n_train,
        error=error,
        error_bias=error_bias,
        run_time_s=time.perf_counter() - start,
    )


# --------------------------------------------------------------------------------- MNIST


def mnist_split(n_train, n_test, seed):
    """``n_train`` training and ``n_test`` test images of MNIST, drawn without replacement by
    ``seed``, projected onto the unit sphere of R^784 (:func:`generalization.sphere.to_sphere`).

    Returns
    -------
    X_train : ndarray, shape (n_train, 784)
    y_train : ndarray, shape (n_train,)
    X_test : ndarray, shape (n_test, 784)
    y_test : ndarray, shape (n_test,)
    """
    mnist = data.load_mnist()
    X_train, y_train = data.subsample(mnist.X_train, mnist.y_train, n_train, seed)
    X_test, y_test = data.subsample(mnist.X_test, mnist.y_test, n_test, seed)
    return sphere.to_sphere(X_train), y_train, sphere.to_sphere(X_test), y_test


def one_hot_centred(y, n_classes=10):
    """Targets ``e_y - 1 / n_classes``: one-hot rows, centred (as in the paper's code)."""
    y = checks.array("y", y, ndim=1, dtype=None)
    return np.eye(n_classes)[y] - 1.0 / n_classes


@dataclass(frozen=True)
class Mnist:
    """What :func:`mnist_experiment` returns.

    ``error[kind]``: test error (fraction misclassified) of the interpolant, shape
    (len(seeds), len(depths)); ``error_bias[kind]``: one hidden layer with a bias,
    (len(seeds),); ``error_linear``: the minimum-norm linear interpolant on the same inputs
    (the kernel of depth 0), (len(seeds),).
    """

    depths: tuple
    seeds: tuple
    n_train: int
    n_test: int
    error: dict
    error_bias: dict
    error_linear: np.ndarray
    run_time_s: float


@cached
def mnist_experiment(n_train, n_test, depths, seeds):
    """Ridgeless kernel regression on MNIST with the NTK and NNGP kernels of each depth.
    Cached.

    For each seed, one draw of training and test images (:func:`mnist_split`) shared by every
    kernel; centred one-hot targets; the predicted class is the largest output.

    Returns
    -------
    Mnist
    """
    depths = checks.integers("depths", depths, minimum=1)
    seeds = checks.integers("seeds", seeds)
    start = time.perf_counter()
    error = {kind: np.zeros((len(seeds), len(depths))) for kind in KINDS}
    error_bias = {kind: np.zeros(len(seeds)) for kind in KINDS}
    error_linear = np.zeros(len(seeds))
    with _few_threads(n_train):
        for s, seed in enumerate(seeds):
            X_train, y_train, X_test, y_test = mnist_split(n_train, n_test, seed)
            Y = one_hot_centred(y_train)
            runs = [(j, depth, 0.0) for j, depth in enumerate(depths)]
            runs.append((None, 1, bias_variance(X_train.shape[1], True)))
            for j, depth, bias_var in runs:
                train = ntk.relu_kernels(X_train, None, depth, bias_var=bias_var)
                test = ntk.relu_kernels(X_test, X_train, depth, bias_var=bias_var)
                for kind in KINDS:
                    pred = kernel_regression(pick(train, kind), pick(test, kind), Y)
                    value = float(np.mean(pred.argmax(1) != y_test))
                    if j is None:
                        error_bias[kind][s] = value
                    else:
                        error[kind][s, j] = value
            w = linear.SpectralRidge(X_train).solution(Y, 0.0)  # min-norm least squares
            error_linear[s] = float(np.mean((X_test @ w).argmax(1) != y_test))
    return Mnist(
        depths=depths,
        seeds=seeds,
        n_train=n_train,
        n_test=n_test,
        error=error,
        error_bias=error_bias,
        error_linear=error_linear,
        run_time_s=time.perf_counter() - start,
    )

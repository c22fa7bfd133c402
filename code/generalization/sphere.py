"""Dot-product kernels on the sphere: their Mercer eigenvalues, degree by degree.

A kernel that depends on two points of the unit sphere ``S^{d-1}`` only through their inner
product, ``k(x, y) = kappa(<x, y>)``, commutes with every rotation. Its integral operator
with respect to the uniform probability measure ``tau`` on the sphere is therefore diagonal
in the spherical harmonics, and all harmonics of one degree ``k`` share one eigenvalue
``mu_k`` (Funk and Hecke's theorem)::

    int k(x, y) Y(y) dtau(y) = mu_k Y(x)          for every harmonic Y of degree k
    mu_k = c_d int_{-1}^{1} kappa(t) P_k(t) (1 - t^2)^{(d-3)/2} dt,
    c_d  = Gamma(d/2) / (sqrt(pi) Gamma((d-1)/2))  (so that c_d int (1 - t^2)^{(d-3)/2} dt = 1)

where ``P_k`` is the Gegenbauer polynomial of degree ``k`` for dimension ``d`` normalized to
``P_k(1) = 1`` (Legendre for ``d = 3``, Chebyshev ``T_k`` for ``d = 2``). The eigenvalue
``mu_k`` has multiplicity ``N(d, k)``, the dimension of the space of degree-``k``
harmonics, and ``kappa(1) = sum_k N(d, k) mu_k`` (the trace). This module has

* :func:`harmonic_dimension`: ``N(d, k)``;
* :func:`gegenbauer`: ``P_0, ..., P_K`` at any points, by their three-term recurrence;
* :func:`mercer_eigenvalues`: ``mu_0, ..., mu_K`` of any ``kappa`` by Gauss-Legendre quadrature
  in the angle ``theta = arccos t``;
* :func:`spectrum_with_multiplicities`: every ``mu_k`` repeated ``N(d, k)`` times, sorted: what
  the eigenvalues of ``K / n`` on ``n`` uniform points tend to;
* :func:`uniform_sphere` and :func:`to_sphere`: points on the sphere.

Why the angle: with ``t = cos theta`` the integral is
``c_d int_0^pi kappa(cos theta) P_k(cos theta) sin(theta)^{d-2} d theta``. The kernels of ReLU
networks behave like ``(1 - t)^{nu}`` with half-integer ``nu`` near ``t = 1``, a singularity in
``t`` that slows any quadrature in ``t``; in ``theta`` it is ``(2 sin^2(theta / 2))^{nu}``, smooth.
For every kernel that is analytic in ``theta`` on ``[0, pi]`` (the arc-cosine kernels, their
compositions, polynomials, exponentials) Gauss-Legendre quadrature in ``theta`` converges
exponentially once it resolves ``P_k``, a trigonometric polynomial of degree ``k`` in
``theta``; the default number of nodes, ``2 K + 200``, does. For a kernel with another
endpoint exponent the convergence is algebraic (check it by doubling ``nodes``).

References
----------
Atkinson, Han (2012), *Spherical Harmonics and Approximations on the Unit Sphere*,
Lecture Notes in Mathematics 2044, Springer: sections 2.1 (``N(d, k)``), 2.2 (Legendre and
Gegenbauer polynomials, their recurrence) and 2.5 (the Funk-Hecke formula).
Smola, Ovari, Williamson (2001), *Regularization with dot-product kernels*, NeurIPS.
Bietti, Bach (2021), *Deep equals shallow for ReLU networks in kernel regimes*, ICLR,
https://arxiv.org/abs/2009.14397 (the eigenvalues of the kernels of ReLU networks, Eq. (8)).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln, roots_legendre

from . import checks


def harmonic_dimension(d, k):
    """``N(d, k)``, the number of linearly independent spherical harmonics of degree ``k`` on
    ``S^{d-1}``: the multiplicity of ``mu_k``.

    ``N(d, 0) = 1`` and, for ``k >= 1``, ``N(d, k) = (2k + d - 2) / k * C(k + d - 3, d - 2)``
    (2 on the circle, ``2k + 1`` on ``S^2``).

    Parameters
    ----------
    d : int, at least 2
        The dimension of the ambient space.
    k : int or array_like of int, non-negative

    Returns
    -------
    int, or ndarray of int of the shape of ``k``
    """
    d = checks.count("d", d, minimum=2)
    ks = np.asarray(k)
    flat = checks.integers("k", np.atleast_1d(ks).ravel().tolist(), minimum=0)
    out = [1 if j == 0 else (2 * j + d - 2) * math.comb(j + d - 3, d - 2) // j for j in flat]
    return out[0] if ks.ndim == 0 else np.array(out, dtype=np.int64).reshape(ks.shape)


def gegenbauer(k_max, d, t):
    """``P_k(t)`` for ``k = 0 .. k_max``: the Gegenbauer polynomials of dimension ``d``, with
    ``P_k(1) = 1``.

    From ``P_0 = 1``, ``P_1 = t`` and the recurrence (Atkinson and Han 2012, section 2.2)::

        (k + d - 2) P_{k+1}(t) = (2k + d - 2) t P_k(t) - k P_{k-1}(t)

    which is Legendre's for ``d = 3`` and Chebyshev's ``T_{k+1} = 2 t T_k - T_{k-1}`` for
    ``d = 2``. For ``d >= 3``, ``P_k = C_k^{(d-2)/2} / C_k^{(d-2)/2}(1)`` with ``C`` SciPy's
    ``eval_gegenbauer``.

    Parameters
    ----------
    k_max : int, non-negative
    d : int, at least 2
    t : array_like, shape (m,), entries in [-1, 1]

    Returns
    -------
    ndarray, shape (k_max + 1, m)
    """
    k_max = checks.count("k_max", k_max, minimum=0)
    d = checks.count("d", d, minimum=2)
    t = checks.array("t", t, ndim=1)
    if np.any(np.abs(t) > 1):
        raise ValueError(f"t must lie in [-1, 1]; got values up to {np.max(np.abs(t))!r}.")
    P = np.empty((k_max + 1, t.size))
    P[0] = 1.0
    if k_max >= 1:
        P[1] = t
    for k in range(1, k_max):
        P[k + 1] = ((2 * k + d - 2) * t * P[k] - k * P[k - 1]) / (k + d - 2)
    return P


def _angle_rule(nodes, d):
    """Gauss-Legendre nodes ``theta`` on [0, pi] and weights that include ``c_d sin^{d-2}``."""
    x, w = roots_legendre(nodes)
    theta = (x + 1.0) * (np.pi / 2)
    c_d = math.exp(gammaln(d / 2) - 0.5 * math.log(math.pi) - gammaln((d - 1) / 2))
    return theta, w * (np.pi / 2) * c_d * np.sin(theta) ** (d - 2)


def mercer_eigenvalues(kappa, d, k_max, nodes=None):
    """The eigenvalues ``mu_0, ..., mu_{k_max}`` of the dot-product kernel ``kappa(<x, y>)`` on
    ``S^{d-1}``, with respect to the uniform probability measure.

    ``mu_k = c_d int_0^pi kappa(cos theta) P_k(cos theta) sin(theta)^{d-2} d theta`` (the
    Funk-Hecke formula of the module docstring, in the angle), by Gauss-Legendre quadrature
    with ``nodes`` nodes on ``[0, pi]`` (SciPy's ``roots_legendre``). ``kappa`` is called
    once, on the array of all ``cos theta``.

    Parameters
    ----------
    kappa : callable
        Maps an array ``t`` of shape (m,) with entries in [-1, 1] to ``kappa(t)``, shape (m,).
    d : int, at least 2
        The dimension of the ambient space (the sphere is ``S^{d-1}``).
    k_max : int, non-negative
    nodes : int, optional
        Default ``2 k_max + 200``: exact to rounding for kernels analytic in ``theta``.

    Returns
    -------
    ndarray, shape (k_max + 1,)
        ``mu_k``; non-negative for a positive definite kernel (Schoenberg), up to rounding of
        about ``1e-15 * max |kappa|``.

    References
    ----------
    Bietti, Bach (2021), ICLR, Eq. (8); Atkinson, Han (2012), section 2.5.
    """
    if not callable(kappa):
        raise ValueError(f"kappa must be a callable; got {type(kappa).__name__}.")
    d = checks.count("d", d, minimum=2)
    k_max = checks.count("k_max", k_max, minimum=0)
    nodes = checks.count("nodes", 2 * k_max + 200 if nodes is None else nodes)
    theta, weights = _angle_rule(nodes, d)
    t = np.cos(theta)
    values = checks.array("kappa(t)", kappa(t), ndim=1)
    if values.shape != t.shape:
        raise ValueError(f"kappa(t) must have the shape of t, {t.shape}; got {values.shape}.")
    return gegenbauer(k_max, d, t) @ (values * weights)


def spectrum_with_multiplicities(mu, d):
    """Every ``mu_k`` repeated ``N(d, k)`` times, sorted in decreasing order.

    The eigenvalues of ``K / n`` for the kernel matrix ``K`` of ``n`` independent uniform
    points on the sphere tend to these, one by one from the largest (Koltchinskii and Gine
    2000): the comparison of a kernel's spectrum with a sample's.

    Parameters
    ----------
    mu : array_like, shape (K + 1,)
        ``mu_0, ..., mu_K`` (:func:`mercer_eigenvalues`).
    d : int, at least 2

    Returns
    -------
    ndarray, shape (sum_k N(d, k),)

    References
    ----------
    Koltchinskii, Gine (2000), *Random matrix approximation of spectra of integral operators*,
    Bernoulli 6(1).
    """
    mu = checks.array("mu", mu, ndim=1)
    counts = harmonic_dimension(d, np.arange(mu.size))
    return np.sort(np.repeat(mu, counts))[::-1]


def to_sphere(X):
    """The rows of ``X`` divided by their Euclidean norms: points of ``S^{d-1}``.

    Parameters
    ----------
    X : array_like, shape (n, d), no zero row

    Returns
    -------
    ndarray, shape (n, d), float64
    """
    X = checks.array("X", X, ndim=2)
    norms = np.linalg.norm(X, axis=1)
    if np.any(norms == 0):
        raise ValueError(f"X must have no zero row; got one at index {int(np.argmin(norms))}.")
    return X / norms[:, None]


def uniform_sphere(n, d, seed):
    """``n`` independent points drawn uniformly on ``S^{d-1}``: normalized standard Gaussians.

    Parameters
    ----------
    n : int, positive
    d : int, at least 2
    seed : int, non-negative
        Seeds ``numpy.random.default_rng``.

    Returns
    -------
    ndarray, shape (n, d)
    """
    n = checks.count("n", n)
    d = checks.count("d", d, minimum=2)
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    return to_sphere(rng.standard_normal((n, d)))

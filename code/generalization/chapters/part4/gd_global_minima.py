"""Experiments of the chapter *Gradient descent finds global minima of overparametrized networks*.

Du, Zhai, Poczos and Singh (2019) study the two-layer ReLU network::

    f(x) = 1/sqrt(m) sum_{r=1}^m a_r relu(<w_r, x>),   ||x|| = 1,
    w_r(0) ~ N(0, I_d),  a_r ~ unif{-1, +1} fixed,  only W = (w_1, ..., w_m) trained,

by gradient descent on ``L(W) = 1/2 sum_i (f(x_i) - y_i)^2`` (a sum over the n examples,
not a mean). The predictions ``u_i = f(x_i)`` move, to first order in the step ``lr``, by
``u(k+1) - u(k) = -lr H(k) (u(k) - y)`` with the Gram matrix::

    H_ij(k) = <x_i, x_j> / m * sum_r 1{<w_r(k), x_i> >= 0} 1{<w_r(k), x_j> >= 0},

whose expectation at initialization is ``H^inf_ij = <x_i, x_j> (pi - arccos <x_i, x_j>) / (2 pi)``.
If ``lambda_0 = lambda_min(H^inf) > 0`` (true when no two inputs are parallel), the width is
``m = Omega(n^6 / (lambda_0^4 delta^3))`` and ``lr = O(lambda_0 / n^2)``, then with
probability at least ``1 - delta`` (their Theorem 4.1)::

    ||u(k) - y||^2 <= (1 - lr lambda_0 / 2)^k ||u(0) - y||^2   for every k,

because every ``w_r`` stays within ``O(1 / sqrt(m))`` of its start, few activation patterns
flip, and ``H(k)`` stays within ``lambda_0 / 4`` of ``H(0)``, itself within ``lambda_0 / 4`` of
``H^inf`` (their Lemmas 3.1 to 3.3).

This module trains that network on a few dozen MNIST images of two digits, centred by the
mean training image and scaled to the unit sphere, with labels +1 and -1, at several widths,
and measures the loss against the theorem's bound, ``||H(0) - H^inf||_2``,
``||H(K) - H(0)||_2``, ``max_r ||w_r(K) - w_r(0)||`` and the fraction of flipped patterns.

The computation runs in the span of the inputs, exactly. A gradient step moves ``w_r`` by a
combination of the ``x_i``, and only the projections ``<w_r, x_i>`` enter ``f``; with
``X^T = Q R`` (``Q`` of shape (d, n), orthonormal columns), coordinates ``z_i = Q^T x_i`` (the
rows of ``R^T``) and ``g_r = Q^T w_r``, every inner product, gradient step and distance
``||w_r(k) - w_r(0)|| = ||g_r(k) - g_r(0)||`` is the same, and ``g_r(0) = Q^T w_r(0)`` is
again standard normal, in ``n`` dimensions instead of ``d``. The training function accepts
inputs of any dimension, so the unit tests compare both ways on the same draw.

Differences from the paper: its experiments (Section 5) use n = 1000 points uniform on the
sphere of dimension d = 1000 with Gaussian labels; ours are MNIST images (n a few dozen),
and our step is a fixed fraction of ``1 / lambda_max(H^inf)``, much larger than the
theorem's ``O(lambda_0 / n^2)``; our widths are far below the theorem's requirement.

References
----------
Du, Zhai, Poczos, Singh (2019), *Gradient descent provably optimizes over-parameterized
neural networks*, ICLR, https://arxiv.org/abs/1810.02054.
Jacot, Gabriel, Hongler (2018), *Neural tangent kernel*, NeurIPS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from generalization import checks, settings_for
from generalization.book.cache import cached
from generalization.data import load_mnist

SETTINGS = {
    "quick": dict(
        n_samples=40,
        digits=(3, 8),
        widths=(16, 64, 256, 1024, 4096, 16384),
        seeds=(0, 1, 2),
        num_steps=150,
        lr_fraction=1.0,
    ),
    "full": dict(
        n_samples=40,
        digits=(3, 8),
        widths=(16, 64, 256, 1024, 4096, 16384, 65536, 262144),
        seeds=tuple(range(10)),
        num_steps=1000,
        lr_fraction=1.0,
    ),
}
"""Sizes of the chapter's experiment at each scale (the claims tests use the same).

``lr_fraction``: the step ``lr`` times ``lambda_max(H^inf)`` (below 2 the linearized
dynamics converge). Quick runs in seconds on 2 CPU cores; full adds widths and seeds."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


# ------------------------------------------------------------------------------ the data


def sphere_mnist(n_samples, digits=(3, 8), seed=0):
    """MNIST training images of two digits on the unit sphere, labels +1 and -1.

    ``n_samples // 2`` images of each digit drawn without replacement (``seed``), pixels in
    [0, 1] minus the mean image of the whole training set, each row scaled to norm one.
    The first digit gets label +1, the second -1.

    Returns
    -------
    X : ndarray, shape (n_samples, 784), rows of unit norm
    y : ndarray, shape (n_samples,)
    """
    n_samples = checks.count("n_samples", n_samples, minimum=2)
    digits = checks.integers("digits", digits, minimum=0)
    if len(digits) != 2 or digits[0] == digits[1] or max(digits) > 9:
        raise ValueError(f"digits must be two different digits 0 to 9; got {digits}.")
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    mnist = load_mnist()
    pixels = mnist.X_train.reshape(len(mnist.y_train), -1)
    mean = pixels.mean(axis=0, dtype=np.float64) / 255.0
    half = (n_samples // 2, n_samples - n_samples // 2)
    rows = [
        rng.choice(np.flatnonzero(mnist.y_train == d), k, replace=False)
        for d, k in zip(digits, half)
    ]
    X = pixels[np.concatenate(rows)].astype(np.float64) / 255.0 - mean
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = np.concatenate([np.ones(half[0]), -np.ones(half[1])])
    return X, y


def span_coordinates(X):
    """Coordinates of the rows of ``X`` in an orthonormal basis of their span.

    ``X^T = Q R`` (reduced QR); returns ``Z = R^T`` of shape (n, n), with ``Z Z^T = X X^T``.
    """
    X = checks.array("X", X, ndim=2)
    R = np.linalg.qr(X.T, mode="r")
    return R.T.copy()


# ------------------------------------------------------------------------ the Gram matrices


def h_infinity(X):
    """``H^inf_ij = <x_i, x_j> (pi - arccos <x_i, x_j>) / (2 pi)`` for unit-norm rows.

    The expectation over ``w ~ N(0, I)`` of ``<x_i, x_j> 1{<w, x_i> >= 0} 1{<w, x_j> >= 0}``
    (Du et al. 2019, Section 3): the two half-spaces overlap in a fraction
    ``(pi - angle) / (2 pi)`` of directions. Shape (n, n).
    """
    X = checks.array("X", X, ndim=2)
    norms = np.linalg.norm(X, axis=1)
    if not np.allclose(norms, 1.0, atol=1e-8):
        raise ValueError(f"X must have rows of unit norm; got norms from {norms.min():.6g}.")
    G = np.clip(X @ X.T, -1.0, 1.0)
    np.fill_diagonal(G, 1.0)
    return G * (np.pi - np.arccos(G)) / (2 * np.pi)


def gram(X, W):
    """``H_ij = <x_i, x_j> / m sum_r 1{<w_r, x_i> >= 0} 1{<w_r, x_j> >= 0}``, shape (n, n).

    ``X`` (n, d), ``W`` (m, d): the Gram matrix of Du et al. (2019) at weights ``W``, the
    neural tangent kernel of the network in its first layer.
    """
    S = (X @ W.T >= 0).astype(np.float64)  # (n, m) activation patterns
    return (X @ X.T) * (S @ S.T) / W.shape[0]


def predictions(X, W, a):
    """``u_i = 1/sqrt(m) sum_r a_r relu(<w_r, x_i>)``, shape (n,)."""
    return np.maximum(X @ W.T, 0.0) @ a / np.sqrt(len(a))


def init_network(seed, width, dim):
    """``(W, a)``: ``W`` (width, dim) standard normal and ``a`` (width,) uniform signs."""
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    width = checks.count("width", width)
    W = rng.standard_normal((width, checks.count("dim", dim)))
    a = rng.choice((-1.0, 1.0), size=width)
    return W, a


def train_first_layer(X, y, W0, a, lr, num_steps):
    """Gradient descent on the first layer, ``L = 1/2 ||u - y||^2``, second layer fixed.

    ``w_r <- w_r - lr / sqrt(m) a_r sum_i (u_i - y_i) 1{<w_r, x_i> >= 0} x_i`` (Du et al.
    2019, Equation (3)), ``num_steps`` times, in float64.

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Inputs, or their :func:`span_coordinates` (then ``W0`` in the same coordinates).
    y : ndarray, shape (n,)
    W0 : ndarray, shape (m, d)
    a : ndarray, shape (m,)
    lr : float, positive
    num_steps : int

    Returns
    -------
    W : ndarray, shape (m, d)
        The weights after ``num_steps`` steps.
    loss : ndarray, shape (num_steps + 1,)
        ``||u(k) - y||^2`` for k = 0 .. num_steps.
    """
    X = checks.array("X", X, ndim=2)
    y = checks.array("y", y, ndim=1)
    lr = checks.positive("lr", lr)
    num_steps = checks.count("num_steps", num_steps, minimum=0)
    W = np.array(W0, dtype=np.float64)
    scale = a / np.sqrt(len(a))  # a_r / sqrt(m)
    loss = np.empty(num_steps + 1)
    for k in range(num_steps + 1):
        P = W @ X.T  # (m, n) pre-activations <w_r, x_i>
        r = scale @ np.maximum(P, 0.0) - y  # u - y
        loss[k] = r @ r
        if k == num_steps:
            break
        # dL/dw_r = a_r / sqrt(m) sum_i r_i 1{<w_r, x_i> >= 0} x_i
        W -= (np.where(P >= 0, r, 0.0) * (lr * scale)[:, None]) @ X
    return W, loss


# ---------------------------------------------------------------------------- the experiment


@dataclass(frozen=True)
class Result:
    """What :func:`experiment` returns.

    ``loss``: ``||u(k) - y||^2``, shape (len(seeds), len(widths), num_steps + 1). Shape
    (len(seeds), len(widths)): ``init_gap`` ``||H(0) - H^inf||_2``, ``drift``
    ``||H(K) - H(0)||_2``, ``eig_init`` and ``eig_final`` (``lambda_min`` of ``H(0)``,
    ``H(K)``), ``move`` ``max_r ||w_r(K) - w_r(0)||``, ``flips`` (fraction of the ``m n``
    patterns ``sign <w_r, x_i>`` that differ at step K from step 0). ``lambda_0``,
    ``lambda_max``: of ``H^inf``; ``lr`` the step.
    """

    seeds: tuple
    widths: tuple
    n_samples: int
    num_steps: int
    lr: float
    lambda_0: float
    lambda_max: float
    loss: np.ndarray
    init_gap: np.ndarray
    drift: np.ndarray
    eig_init: np.ndarray
    eig_final: np.ndarray
    move: np.ndarray
    flips: np.ndarray
    run_time_s: float


@cached
def experiment(n_samples, digits, widths, seeds, num_steps, lr_fraction):
    """Train the network of Du et al. (2019) at each width and seed. Cached on disk.

    One data set (:func:`sphere_mnist`, seed 0); per seed and width one initialization
    (:func:`init_network` in the span coordinates); the step is
    ``lr = lr_fraction / lambda_max(H^inf)`` at every width.

    Returns
    -------
    Result
    """
    widths = checks.integers("widths", widths, minimum=1)
    seeds = checks.integers("seeds", seeds, minimum=0)
    lr_fraction = checks.positive("lr_fraction", lr_fraction)
    start = time.perf_counter()
    X, y = sphere_mnist(n_samples, digits, seed=0)
    Z = span_coordinates(X)
    eigs = np.linalg.eigvalsh(h_infinity(X))
    lr = lr_fraction / eigs[-1]
    shape = (len(seeds), len(widths))
    out = {k: np.zeros(shape) for k in ("init_gap", "drift", "eig_init", "eig_final")}
    out.update(move=np.zeros(shape), flips=np.zeros(shape))
    loss = np.zeros(shape + (num_steps + 1,))
    H_inf = h_infinity(X)
    with threadpool_limits(1):  # (n, n) by (n, m) products: threads only contend
        _train_all(Z, y, H_inf, lr, widths, seeds, num_steps, loss, out)
    return Result(
        seeds=seeds,
        widths=widths,
        n_samples=int(len(y)),
        num_steps=int(num_steps),
        lr=float(lr),
        lambda_0=float(eigs[0]),
        lambda_max=float(eigs[-1]),
        loss=loss,
        run_time_s=time.perf_counter() - start,
        **out,
    )


def _train_all(Z, y, H_inf, lr, widths, seeds, num_steps, loss, out):
    """The runs of :func:`experiment`, filling ``loss`` and the arrays of ``out`` in place."""
    for s, seed in enumerate(seeds):
        for j, width in enumerate(widths):
            G0, a = init_network(seed * 1_000_003 + width, width, Z.shape[0])
            G, loss[s, j] = train_first_layer(Z, y, G0, a, lr, num_steps)
            H0, HK = gram(Z, G0), gram(Z, G)
            out["init_gap"][s, j] = np.linalg.norm(H0 - H_inf, 2)
            out["drift"][s, j] = np.linalg.norm(HK - H0, 2)
            out["eig_init"][s, j] = np.linalg.eigvalsh(H0)[0]
            out["eig_final"][s, j] = np.linalg.eigvalsh(HK)[0]
            out["move"][s, j] = np.max(np.linalg.norm(G - G0, axis=1))
            out["flips"][s, j] = np.mean((Z @ G0.T >= 0) != (Z @ G.T >= 0))


def bound(result, steps=None):
    """Theorem 4.1's bound ``(1 - lr lambda_0 / 2)^k ||u(0) - y||^2``, shape of ``loss``."""
    k = np.arange(result.num_steps + 1) if steps is None else np.asarray(steps)
    return result.loss[..., :1] * (1 - result.lr * result.lambda_0 / 2) ** k


def theorem_width(n, lambda_0, delta):
    """``n^6 / (lambda_0^4 delta^3)``: Theorem 4.1's width requirement with constant one."""
    return n**6 / (lambda_0**4 * delta**3)


def theorem_lr(n, lambda_0):
    """``lambda_0 / n^2``: Theorem 4.1's step size with constant one."""
    return lambda_0 / n**2


def lemma_radius(n, width, residual_sq, lambda_0):
    """Lemma 3.3's radius ``R' = sqrt(n) ||y - u(0)||_2 / (sqrt(m) lambda_0)``."""
    return np.sqrt(n * residual_sq / width) / lambda_0

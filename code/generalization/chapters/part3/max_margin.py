"""Experiments of the chapter *Gradient descent on separable data finds the max-margin direction*.

Soudry, Hoffer, Nacson, Gunasekar and Srebro (2018) prove that gradient descent on the
logistic loss of a linear model without intercept, on linearly separable data, diverges in
norm like ``log t`` while its direction converges to the hard-margin SVM separator, at the
slow rate ``1 / log t``, and the loss falls like ``1 / t``. Wei, Lee, Liu and Ma (2019) show
that the global minimum of the logistic loss of a homogeneous network with a vanishing l2
penalty has the largest normalized margin the architecture allows, that this largest margin
cannot fall as a two-layer network widens, and that it can be far larger than a kernel's.
This chapter runs both on small problems:

* :func:`linear_experiment`: gradient descent (:func:`generalization.geometry.logistic_gd`)
  and full-batch Adam (``torch.optim.Adam``) on the logistic loss of Gaussian data labelled
  by a random hyperplane through the origin, against
  :func:`generalization.geometry.max_margin` in the l2 and l_inf norms;
* :func:`network_experiment`: a bias-free two-layer ReLU network
  ``f(x) = sum_j a_j relu(<theta_j, x>)`` trained by L-BFGS on the logistic loss plus a
  penalty ``lam ||Theta||^2`` that is lowered step by step, at several widths, on the
  paper's "XOR plus noise" distribution; its normalized margin ``min_i y_i f(x_i) /
  ||Theta||^2`` against the max margin of its neural tangent kernel at initialization
  (:func:`ntk_gram`, :func:`kernel_max_margin`).

Differences from the papers: Soudry et al. illustrate on a two-dimensional synthetic set
and on CIFAR-10; ours is a small Gaussian set. Wei et al. compare the network with the
kernel of random first-layer features (their equation 3.8); we use the full neural tangent
kernel at initialization, of which that kernel is one of two terms, and normalize it to
unit-norm initial parameters (:func:`ntk_gram`).

References
----------
Soudry, Hoffer, Nacson, Gunasekar, Srebro (2018), *The implicit bias of gradient descent on
separable data*, JMLR 19(70), https://arxiv.org/abs/1710.10345.
Wei, Lee, Liu, Ma (2019), *Regularization matters: generalization and optimization of neural
nets v.s. their induced kernel*, NeurIPS, https://arxiv.org/abs/1810.05369.
Jacot, Gabriel, Hongler (2018), *Neural tangent kernel*, NeurIPS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from generalization import checks, geometry, settings_for
from generalization.book.cache import cached

SETTINGS = {
    "quick": dict(
        linear=dict(
            seeds=(0, 1, 2),
            n_samples=20,
            n_features=5,
            lr_fraction=4.0,
            num_steps=200_000,
            adam_lr=0.01,
            adam_steps=20_000,
        ),
        network=dict(
            seeds=(0, 1, 2),
            n_samples=32,
            n_features=8,
            widths=(2, 4, 8, 32),
            penalties=(1e-4, 1e-5, 1e-6),
            max_iter=120,
        ),
    ),
    "full": dict(
        linear=dict(
            seeds=tuple(range(5)),
            n_samples=20,
            n_features=5,
            lr_fraction=4.0,
            num_steps=10_000_000,
            adam_lr=0.01,
            adam_steps=200_000,
        ),
        network=dict(
            seeds=tuple(range(5)),
            n_samples=32,
            n_features=8,
            widths=(2, 4, 8, 16, 32, 64, 256),
            penalties=(1e-4, 1e-5, 1e-6, 1e-7, 1e-8),
            max_iter=1000,
        ),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

``lr_fraction``: the step of gradient descent as a multiple of ``1 / lambda_max(X^T X / n)``
(the logistic loss is ``lambda_max / 4``-smooth, so any multiple below 8 converges).
Quick runs in well under a minute on 2 CPU cores; full runs longer and adds widths and
smaller penalties."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


# ----------------------------------------------------------------------------- linear model


def separable_data(seed, n_samples, n_features):
    """Gaussian points labelled by the sign of a random hyperplane through the origin.

    Returns ``(X, y)`` of shapes (n_samples, n_features) and (n_samples,), labels -1 and +1;
    separable through the origin by construction.
    """
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    n_samples = checks.count("n_samples", n_samples)
    n_features = checks.count("n_features", n_features)
    X = rng.standard_normal((n_samples, n_features))
    y = np.sign(X @ rng.standard_normal(n_features))
    y[y == 0] = 1.0  # a point on the hyperplane (probability zero)
    return X, y


def angle_deg(u, v):
    """The Euclidean angle between ``u`` and ``v``, in degrees."""
    cos = float(np.dot(u, v)) / (np.linalg.norm(u) * np.linalg.norm(v))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def logistic_loss(X, y, w):
    """``1/n sum_i log(1 + exp(-y_i <w, x_i>))``, computed without overflow."""
    return float(-np.mean(log_expit(y * (X @ w))))


def log_checkpoints(num_steps, per_decade=6):
    """Steps from 1 to ``num_steps``, evenly spaced in log scale (distinct integers, sorted)."""
    num_steps = checks.count("num_steps", num_steps)
    count = max(2, int(per_decade * np.log10(num_steps)) + 1)
    return tuple(sorted({int(round(t)) for t in np.geomspace(1, num_steps, count)}))


def adam_logistic(X, y, lr, checkpoints):
    """Full-batch ``torch.optim.Adam`` (default betas and eps) on the logistic loss, from zero.

    The same model and loss as :func:`generalization.geometry.logistic_gd`, in float64.
    Returns the iterates at ``checkpoints`` (step numbers from 0), shape
    (len(checkpoints), p). Adam is deterministic here: full batch, zero start.
    """
    import torch

    X = checks.array("X", X, ndim=2)
    lr = checks.positive("lr", lr)
    checkpoints = checks.integers("checkpoints", checkpoints, minimum=0)
    Z = torch.as_tensor(np.asarray(y)[:, None] * X, dtype=torch.float64)  # rows y_i x_i
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w], lr=lr)
    kept = {0: np.zeros(X.shape[1])}
    wanted = set(checkpoints)
    for t in range(1, max(checkpoints) + 1):
        opt.zero_grad()
        loss = torch.nn.functional.softplus(-(Z @ w)).mean()  # log(1 + e^{-m})
        loss.backward()
        opt.step()
        if t in wanted:
            kept[t] = w.detach().numpy().copy()
    return np.array([kept[t] for t in checkpoints])


@dataclass(frozen=True)
class LinearResult:
    """What :func:`linear_experiment` returns.

    Arrays of shape (len(seeds), len(checkpoints)) for gradient descent: ``norm`` (``||w_t||``),
    ``residual`` (``||w_t - w_hat log t||``),
    ``angle`` (degrees to the l2 max-margin separator ``w_hat``), ``loss``; ``hat_norm``
    (``||w_hat||`` per seed). For Adam, at ``adam_checkpoints``: ``adam_angle`` (to the l2
    separator), ``adam_angle_linf`` (to the l_inf one), ``adam_margin`` (its l2-normalized
    margin divided by the l2 max margin ``1 / ||w_hat||``); ``gd_margin`` the same ratio for
    gradient descent at its last step; ``l2_linf_angle`` the angle between the two separators.
    """

    seeds: tuple
    lr: np.ndarray
    checkpoints: tuple
    norm: np.ndarray
    residual: np.ndarray
    angle: np.ndarray
    loss: np.ndarray
    hat_norm: np.ndarray
    gd_margin: np.ndarray
    adam_checkpoints: tuple
    adam_angle: np.ndarray
    adam_angle_linf: np.ndarray
    adam_margin: np.ndarray
    l2_linf_angle: np.ndarray
    run_time_s: float


def _l2_margin_ratio(X, y, w, w_hat):
    """The l2-normalized margin of ``w`` as a fraction of the largest, ``1 / ||w_hat||``."""
    return float(np.min(y * (X @ w)) / np.linalg.norm(w) * np.linalg.norm(w_hat))


@cached
def linear_experiment(seeds, n_samples, n_features, lr_fraction, num_steps, adam_lr, adam_steps):
    """Gradient descent and Adam on the logistic loss of separable data, per seed. Cached.

    Parameters
    ----------
    seeds : sequence of int
        One data set (:func:`separable_data`) per seed; both optimizers start at zero.
    n_samples, n_features : int
    lr_fraction : float in (0, 8)
        Gradient descent's step times ``lambda_max(X^T X / n)``.
    num_steps : int
        Steps of gradient descent.
    adam_lr : float
        Adam's learning rate.
    adam_steps : int
        Steps of Adam.

    Returns
    -------
    LinearResult
    """
    seeds = checks.integers("seeds", seeds)
    lr_fraction = checks.number(
        "lr_fraction", lr_fraction, low=0, high=8, low_open=True, high_open=True
    )
    steps = log_checkpoints(num_steps)
    adam_steps_ = log_checkpoints(adam_steps, per_decade=4)
    start = time.perf_counter()
    rows = {
        k: []
        for k in (
            "lr",
            "norm",
            "residual",
            "angle",
            "loss",
            "hat_norm",
            "gd_margin",
            "adam_angle",
            "adam_angle_linf",
            "adam_margin",
            "l2_linf_angle",
        )
    }
    for seed in seeds:
        X, y = separable_data(seed, n_samples, n_features)
        w_hat = geometry.max_margin(X, y, "l2")
        w_inf = geometry.max_margin(X, y, "linf")
        lr = lr_fraction / float(np.linalg.eigvalsh(X.T @ X / len(y))[-1])
        path = geometry.logistic_gd(X, y, lr, steps[-1], steps)
        adam = adam_logistic(X, y, adam_lr, adam_steps_)
        rows["lr"].append(lr)
        rows["norm"].append(np.linalg.norm(path, axis=1))
        # w_t = w_hat log t + rho_t (Soudry et al., Theorem 3): ||rho_t|| stays bounded
        rows["residual"].append(np.linalg.norm(path - np.log(steps)[:, None] * w_hat, axis=1))
        rows["angle"].append([angle_deg(w, w_hat) for w in path])
        rows["loss"].append([logistic_loss(X, y, w) for w in path])
        rows["hat_norm"].append(np.linalg.norm(w_hat))
        rows["gd_margin"].append(_l2_margin_ratio(X, y, path[-1], w_hat))
        rows["adam_angle"].append([angle_deg(w, w_hat) for w in adam])
        rows["adam_angle_linf"].append([angle_deg(w, w_inf) for w in adam])
        rows["adam_margin"].append([_l2_margin_ratio(X, y, w, w_hat) for w in adam])
        rows["l2_linf_angle"].append(angle_deg(w_hat, w_inf))
    arrays = {k: np.array(v, dtype=float) for k, v in rows.items()}
    return LinearResult(
        seeds=seeds,
        checkpoints=steps,
        adam_checkpoints=adam_steps_,
        run_time_s=time.perf_counter() - start,
        **arrays,
    )


# -------------------------------------------------------------------- two-layer ReLU network


def xor_data(seed, n_samples, n_features):
    """The "XOR plus noise" distribution of Wei et al. (2019), section 3.4.

    The first two coordinates are independent random signs and the label is their product;
    the other ``n_features - 2`` coordinates are standard Gaussian noise. No hyperplane
    separates it; a bias-free ReLU network with four hidden units does.

    Returns ``(X, y)`` of shapes (n_samples, n_features) and (n_samples,).
    """
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    n_samples = checks.count("n_samples", n_samples)
    n_features = checks.count("n_features", n_features, minimum=2)
    signs = rng.choice((-1.0, 1.0), size=(n_samples, 2))
    X = np.hstack([signs, rng.standard_normal((n_samples, n_features - 2))])
    return X, signs[:, 0] * signs[:, 1]


def init_params(seed, width, n_features):
    """Standard initialization of ``f(x) = sum_j a_j relu(<theta_j, x>)``, as one flat vector.

    ``theta_j ~ N(0, I / d)`` and ``a_j ~ N(0, 1 / width)``; the vector is
    ``(a_1, ..., a_N, theta_1, ..., theta_N)``, of length ``width * (n_features + 1)``.
    """
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    width = checks.count("width", width)
    n_features = checks.count("n_features", n_features)
    a = rng.standard_normal(width) / np.sqrt(width)
    theta = rng.standard_normal((width, n_features)) / np.sqrt(n_features)
    return np.concatenate([a, theta.ravel()])


def _unpack(params, width):
    """``(a, Theta)`` of shapes (N,) and (N, d) from the flat vector."""
    params = np.asarray(params, dtype=float)
    return params[:width], params[width:].reshape(width, -1)


def net_output(params, X, width):
    """``f(x_i) = sum_j a_j relu(<theta_j, x_i>)`` for every row of ``X``, shape (n,)."""
    a, theta = _unpack(params, width)
    return np.maximum(X @ theta.T, 0.0) @ a


def penalized_loss(params, X, y, width, penalty):
    """``1/n sum_i log(1 + exp(-y_i f(x_i))) + penalty ||Theta||^2`` and its gradient.

    The gradient, for the flat vector ``(a, theta)``, with ``h_ij = relu(<theta_j, x_i>)``
    and ``r_i = -y_i expit(-y_i f(x_i)) / n`` (the loss's derivative in ``f(x_i)``)::

        dL/da_j     = sum_i r_i h_ij                                + 2 penalty a_j
        dL/dtheta_j = a_j sum_i r_i 1[<theta_j, x_i> > 0] x_i       + 2 penalty theta_j
    """
    a, theta = _unpack(params, width)
    pre = X @ theta.T  # (n, N)
    hidden = np.maximum(pre, 0.0)
    margins = y * (hidden @ a)
    n = len(y)
    value = -np.mean(log_expit(margins)) + penalty * float(params @ params)
    r = -y * expit(-margins) / n
    grad_a = hidden.T @ r
    grad_theta = a[:, None] * (((pre > 0) * r[:, None]).T @ X)
    grad = np.concatenate([grad_a, grad_theta.ravel()]) + 2.0 * penalty * params
    return value, grad


def train_penalized(X, y, width, penalties, seed, max_iter=400):
    """Minimize :func:`penalized_loss` for each penalty in turn, each run from the last. Cached.

    The first run starts at :func:`init_params`; each later one at the minimizer of the
    previous penalty (a continuation towards a vanishing penalty). L-BFGS
    (``scipy.optimize.minimize``), at most ``max_iter`` iterations per penalty.

    Returns
    -------
    list of ndarray
        The parameters reached for each penalty, in order.
    """
    X = checks.array("X", X, ndim=2)
    penalties = checks.numbers("penalties", penalties, low=0, low_open=True)
    params = init_params(seed, width, X.shape[1])
    out = []
    for penalty in penalties:
        res = minimize(
            penalized_loss,
            params,
            args=(X, y, width, penalty),
            jac=True,
            method="L-BFGS-B",
            options=dict(maxiter=checks.count("max_iter", max_iter), gtol=1e-12, ftol=1e-15),
        )
        params = res.x
        out.append(params.copy())
    return out


def normalized_margin(params, X, y, width):
    """``min_i y_i f(x_i) / ||Theta||^2``: the margin of the network scaled to unit norm.

    ``f`` is 2-homogeneous in its parameters (``f_{c Theta} = c^2 f_Theta``), so this is
    ``min_i y_i f_{Theta / ||Theta||}(x_i)``, the normalized margin of Wei et al. (2019).
    """
    params = np.asarray(params, dtype=float)
    return float(np.min(y * net_output(params, X, width)) / (params @ params))


def ntk_gram(params, X, width, Z=None, unit_norm=True):
    """The empirical neural tangent kernel ``<grad f(x), grad f(z)>`` of the network at ``params``.

    In closed form, with the gradients of ``f`` in ``a_j`` (``relu(<theta_j, x>)``) and in
    ``theta_j`` (``a_j 1[<theta_j, x> > 0] x``)::

        k(x, z) = sum_j relu(<theta_j, x>) relu(<theta_j, z>)
                + <x, z> sum_j a_j^2 1[<theta_j, x> > 0] 1[<theta_j, z> > 0]

    The first term alone is the kernel of random first-layer features that Wei et al. (2019)
    compare with. With ``unit_norm`` the kernel is that of the unit-norm parameters
    ``params / ||params||``, which is ``k / ||params||^2`` (the gradient of a 2-homogeneous
    ``f`` is 1-homogeneous). Returns the matrix of shape (len(X), len(Z)).
    """
    a, theta = _unpack(params, width)
    Z = X if Z is None else Z
    px, pz = X @ theta.T, Z @ theta.T
    K = np.maximum(px, 0) @ np.maximum(pz, 0).T + (X @ Z.T) * (((px > 0) * a**2) @ (pz > 0).T)
    if unit_norm:
        K = K / float(np.asarray(params) @ np.asarray(params))
    return K


def kernel_max_margin(K, y, max_iter=1000):
    """The hard-margin kernel classifier without intercept, through its dual.

    ``min ||g||_H`` subject to ``y_i g(x_i) >= 1``, with ``g = sum_i nu_i y_i k(., x_i)``
    and ``nu >= 0`` the minimizer of the dual ``1/2 nu^T Q nu - sum_i nu_i``,
    ``Q = diag(y) K diag(y)`` (L-BFGS-B with the bounds ``nu >= 0``). Then
    ``||g||_H^2 = nu^T Q nu`` and the normalized margin of ``g`` is
    ``min_i y_i g(x_i) / ||g||_H``, which equals ``1 / ||g||_H`` at the exact optimum and is
    a lower bound on it for any ``nu >= 0``; the returned margin is this ratio.

    Returns
    -------
    nu : ndarray, shape (n,)
    margin : float

    Raises
    ------
    ValueError
        When no ``nu`` found within ``max_iter`` dual iterations separates the data (the
        dual is unbounded when the data are not separable in the kernel's space).
    """
    K = checks.array("K", K, ndim=2)
    y = checks.array("y", y, ndim=1)
    Q = (y[:, None] * K) * y[None, :]
    n = len(y)

    def dual(nu):
        Qnu = Q @ nu
        return 0.5 * nu @ Qnu - nu.sum(), Qnu - 1.0

    res = minimize(
        dual,
        np.zeros(n),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0, None)] * n,
        options=dict(maxiter=max_iter, gtol=1e-13, ftol=1e-16),
    )
    nu = res.x
    Qnu = Q @ nu
    norm2 = float(nu @ Qnu)
    if not (np.isfinite(res.fun) and norm2 > 0 and np.min(Qnu) > 0):
        raise ValueError(
            "K, y must be separable in the kernel's space (some nu >= 0 with every "
            f"y_i g(x_i) > 0); got none after {res.nit} dual iterations."
        )
    return nu, float(np.min(Qnu) / np.sqrt(norm2))


@dataclass(frozen=True)
class NetworkResult:
    """What :func:`network_experiment` returns.

    ``margin``: the normalized margin of the trained network, shape
    (len(seeds), len(widths), len(penalties)); ``train_error``: its training error at the
    smallest penalty, (len(seeds), len(widths)); ``kernel_margin``: the max margin of the
    network's neural tangent kernel at initialization, normalized to unit-norm parameters,
    (len(seeds), len(widths)); ``linear_separable``: whether a hyperplane through the origin
    separates any of the data sets (it should not).
    """

    seeds: tuple
    widths: tuple
    penalties: tuple
    n_samples: int
    n_features: int
    margin: np.ndarray
    train_error: np.ndarray
    kernel_margin: np.ndarray
    linear_separable: bool
    run_time_s: float


def _linearly_separable(X, y):
    try:
        geometry.max_margin(X, y, "l2")
    except ValueError:
        return False
    return True


@cached
def network_experiment(seeds, n_samples, n_features, widths, penalties, max_iter):
    """Two-layer ReLU networks with a vanishing penalty, and their NTK max margin. Cached.

    For each seed: one data set (:func:`xor_data`, the seed) and, for each width, one
    initialization (the seed), trained by :func:`train_penalized` down the penalties, and the
    max margin of :func:`ntk_gram` at that initialization (:func:`kernel_max_margin`).

    Returns
    -------
    NetworkResult
    """
    seeds = checks.integers("seeds", seeds)
    widths = checks.integers("widths", widths, minimum=1)
    penalties = tuple(checks.numbers("penalties", penalties, low=0, low_open=True))
    start = time.perf_counter()
    margin = np.zeros((len(seeds), len(widths), len(penalties)))
    error = np.zeros((len(seeds), len(widths)))
    kernel = np.zeros((len(seeds), len(widths)))
    separable = False
    for s, seed in enumerate(seeds):
        X, y = xor_data(seed, n_samples, n_features)
        separable = separable or _linearly_separable(X, y)
        for k, width in enumerate(widths):
            path = train_penalized(X, y, width, penalties, seed, max_iter)
            margin[s, k] = [normalized_margin(p, X, y, width) for p in path]
            error[s, k] = float(np.mean(y * net_output(path[-1], X, width) <= 0))
            K = ntk_gram(init_params(seed, width, n_features), X, width)
            try:
                kernel[s, k] = kernel_max_margin(K, y)[1]
            except ValueError:  # not separable in the kernel's space: margin zero (Wei et al.)
                kernel[s, k] = 0.0
    return NetworkResult(
        seeds=seeds,
        widths=widths,
        penalties=penalties,
        n_samples=n_samples,
        n_features=n_features,
        margin=margin,
        train_error=error,
        kernel_margin=kernel,
        linear_separable=separable,
        run_time_s=time.perf_counter() - start,
    )

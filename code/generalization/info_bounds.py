"""Information-theoretic generalization bounds for noisy iterative training (SGLD).

A learning algorithm is a random map from a training set ``S = (Z_1, ..., Z_n)``, drawn
i.i.d. from a distribution ``mu``, to weights ``W``. Xu and Raginsky (2017, Theorem 1) bound
its expected generalization gap by the mutual information between the two::

    | E[ L_mu(W) - L_S(W) ] |  <=  sqrt( 2 sigma^2 I(S; W) / n )

when the loss ``l(w, Z)`` is sigma-sub-Gaussian for every fixed ``w``; a loss with values in
``[a, b]`` is ``(b - a) / 2``-sub-Gaussian (Hoeffding's lemma), so for the 0-1 loss
``sigma = 1/2``. The bound is finite only for algorithms that do not reveal their training
set exactly, such as those that add noise.

Pensia, Jog and Loh (2018, Theorem 1) bound ``I(S; W_T)`` for noisy iterations

    W_t = W_{t-1} - lr_t F(W_{t-1}, Z_{B_t}) + N(0, sigma_t^2 I_d),    ||F|| <= L,

whose data enter only through an update ``F`` of bounded norm, with a batch ``B_t`` chosen
without looking at the weights, by a sum over steps of the capacity of a Gaussian channel::

    I(S; W_T)  <=  sum_t (d / 2) log(1 + lr_t^2 L^2 / (d sigma_t^2)).

Each term is the mutual information of one step when its input ``-lr_t F`` is replaced by
the worst case allowed, a Gaussian vector with ``E ||input||^2 = lr_t^2 L^2``
(:func:`gaussian_channel_information`). The same argument with the second moment
``m_t = E ||F_t||^2`` in place of ``L^2`` is also a bound (an average power constraint, with
Jensen's inequality over the conditioning weights): :func:`step_information_bounds` takes
either.

SGLD with inverse temperature ``beta`` is the case ``sigma_t^2 = 2 lr_t / beta``
(:func:`sgld_noise_variance`): its update ``W - lr grad + sqrt(2 lr / beta) xi`` samples, for
small steps, the Gibbs density ``exp(-beta L_S(w))``. Its gradient is bounded by clipping
every per-example gradient to norm ``L`` (:func:`clip_per_example`): the mean of clipped
vectors has norm at most ``L``.

Conventions::

    params : (..., D) torch tensor, any leading batch dimensions (e.g. temperatures, seeds)
    X : (..., k, D) inputs (a column of ones for a bias), y : (..., k) labels in {0, 1}
    logistic loss  l(w; x, y) = log(1 + exp(-(2y - 1) <w, x>)),  grad = (sigmoid(<w, x>) - y) x
    information in nats

References
----------
Xu, Raginsky (2017), *Information-theoretic analysis of generalization capability of learning
algorithms*, NeurIPS, https://arxiv.org/abs/1705.07809.
Pensia, Jog, Loh (2018), *Generalization error bounds for noisy, iterative algorithms*, ISIT,
https://arxiv.org/abs/1801.04295.
Welling, Teh (2011), *Bayesian learning via stochastic gradient Langevin dynamics*, ICML.
Cover, Thomas (2006), *Elements of Information Theory*, 2nd ed., chapter 9 (the Gaussian
channel).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import integrate

from . import checks

# ----------------------------------------------------------------------------- information


def bounded_loss_subgaussian(low, high):
    """The sub-Gaussian parameter ``(high - low) / 2`` of a loss with values in ``[low, high]``.

    Hoeffding's lemma: a random variable in ``[a, b]`` is ``(b - a) / 2``-sub-Gaussian.
    """
    low = checks.number("low", low)
    high = checks.number("high", high, low=low, low_open=True)
    return (high - low) / 2.0


def sgld_noise_variance(lr, beta):
    """The variance ``2 lr / beta`` per coordinate of SGLD's noise at inverse temperature ``beta``.

    ``lr`` and ``beta`` are positive numbers or arrays that broadcast; returns their
    broadcast shape (a float for two numbers).
    """
    lr = checks.array("lr", lr, ndim=(0, 1), positive=True)
    beta = checks.array("beta", beta, ndim=(0, 1), positive=True)
    out = 2.0 * lr / beta
    return float(out) if out.ndim == 0 else out


def gaussian_channel_information(power, noise_variance, dim=1):
    """Mutual information of the Gaussian channel ``Y = X + N`` with a Gaussian input, in nats.

    ``X ~ N(0, (power / dim) I_dim)`` and ``N ~ N(0, noise_variance I_dim)`` independent:
    ``I(X; Y) = (dim / 2) log(1 + power / (dim noise_variance))``. Among inputs with
    ``E ||X||^2 <= power`` this one has the largest mutual information (the capacity).

    Parameters
    ----------
    power : float or array_like, non-negative
        ``E ||X||^2``, the total power of the input.
    noise_variance : float or array_like, positive
        The variance of each coordinate of the noise.
    dim : int
        The dimension ``d``.

    Returns
    -------
    float or ndarray of the broadcast shape
    """
    power = checks.array("power", power, ndim=(0, 1))
    if np.any(power < 0):
        raise ValueError(f"power must be non-negative; got {power.min().item()!r}.")
    noise_variance = checks.array("noise_variance", noise_variance, ndim=(0, 1), positive=True)
    dim = checks.count("dim", dim)
    out = 0.5 * dim * np.log1p(power / (dim * noise_variance))
    return float(out) if out.ndim == 0 else out


def gaussian_channel_information_mc(power, noise_variance, dim, num_samples, seed):
    """Monte Carlo estimate of the information of :func:`gaussian_channel_information`.

    Averages ``log p(y | x) - log p(y)`` over ``num_samples`` draws of ``(x, y)``: the
    definition of mutual information, with ``p(y)`` the Gaussian density of variance
    ``power / dim + noise_variance`` per coordinate.

    Returns
    -------
    estimate : float
    standard_error : float
        The standard deviation of the summands over ``sqrt(num_samples)``.
    """
    power = checks.positive("power", power)
    noise_variance = checks.positive("noise_variance", noise_variance)
    dim = checks.count("dim", dim)
    num_samples = checks.count("num_samples", num_samples, minimum=2)
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    signal = power / dim
    x = np.sqrt(signal) * rng.standard_normal((num_samples, dim))
    y = x + np.sqrt(noise_variance) * rng.standard_normal((num_samples, dim))
    total = signal + noise_variance
    # log p(y | x) - log p(y), the normalizing constants written out
    terms = (
        -np.sum((y - x) ** 2, axis=1) / (2 * noise_variance)
        + np.sum(y**2, axis=1) / (2 * total)
        + 0.5 * dim * np.log(total / noise_variance)
    )
    return float(terms.mean()), float(terms.std(ddof=1) / np.sqrt(num_samples))


def binary_input_information(snr):
    """Mutual information of ``Y = X + N``, ``X = +-A`` equally likely, ``N ~ N(0, s^2)``; nats.

    With ``snr = A^2 / s^2``, ``p(y | A) / p(y) = 2 / (1 + exp(-2 A y / s^2))``, so

        I = log 2 - E_{z ~ N(0, 1)} log(1 + exp(-2 (snr + sqrt(snr) z))),

    integrated by ``scipy.integrate.quad``. A bounded input of power ``A^2``: it carries
    less than the Gaussian input of the same power, ``(1/2) log(1 + snr)``, and at most
    ``log 2``.

    Parameters
    ----------
    snr : float or array_like, non-negative

    Returns
    -------
    float or ndarray of the shape of ``snr``
    """
    snr = checks.array("snr", snr, ndim=(0, 1))
    if np.any(snr < 0):
        raise ValueError(f"snr must be non-negative; got {snr.min().item()!r}.")

    def one(s):
        def integrand(z):
            return np.exp(-0.5 * z * z) * np.logaddexp(0.0, -2.0 * (s + np.sqrt(s) * z))

        value = integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-13, epsrel=1e-11)[0]
        return np.log(2.0) - value / np.sqrt(2.0 * np.pi)

    out = np.array([one(s) for s in np.atleast_1d(snr)]).reshape(snr.shape)
    return float(out) if out.ndim == 0 else out


def step_information_bounds(lrs, noise_variances, second_moments, dim):
    """Per-step bounds ``(d / 2) log(1 + lr_t^2 m_t / (d sigma_t^2))`` on ``I(S; W_t | W_{t-1})``.

    With ``m_t = L^2`` (updates of norm at most ``L``) these are the terms of Pensia, Jog
    and Loh (2018, Theorem 1); with ``m_t = E ||F_t||^2``, the second moment of the update,
    they are the same capacity argument under an average power constraint.

    Parameters
    ----------
    lrs : float or array_like of shape (T,), positive
        Step sizes ``lr_t`` (any schedule).
    noise_variances : float or array_like of shape (T,), positive
        Per-coordinate noise variances ``sigma_t^2``.
    second_moments : float or array_like of shape (T,), non-negative
        ``m_t``.
    dim : int
        The number of parameters ``d``.

    Returns
    -------
    ndarray of shape (T,)
        Nats; ``T`` is the broadcast length (1 when every argument is a number).
    """
    lrs = checks.array("lrs", lrs, ndim=(0, 1), positive=True)
    noise_variances = checks.array("noise_variances", noise_variances, ndim=(0, 1), positive=True)
    second_moments = checks.array("second_moments", second_moments, ndim=(0, 1))
    if np.any(second_moments < 0):
        raise ValueError(
            f"second_moments must be non-negative; got {second_moments.min().item()!r}."
        )
    try:
        lrs, noise_variances, second_moments = np.broadcast_arrays(
            lrs, noise_variances, second_moments
        )
    except ValueError:
        raise ValueError(
            "lrs, noise_variances and second_moments must have one length T or be numbers; "
            f"got lengths {lrs.size}, {noise_variances.size} and {second_moments.size}."
        ) from None
    dim = checks.count("dim", dim)
    power = lrs**2 * second_moments  # E ||lr_t F_t||^2, the power of the step's input
    return np.atleast_1d(0.5 * dim * np.log1p(power / (dim * noise_variances)))


def pensia_information_bound(lrs, noise_variances, grad_bound, dim, num_steps=None):
    """Pensia, Jog and Loh's bound on ``I(S; W_t)`` after every step ``t = 1, ..., T``.

    ``sum_{s <= t} (d / 2) log(1 + lr_s^2 L^2 / (d sigma_s^2))`` (their Theorem 1), for
    updates of norm at most ``L = grad_bound``.

    Parameters
    ----------
    lrs, noise_variances : float or array_like of shape (T,), positive
        The schedule of step sizes and of per-coordinate noise variances.
    grad_bound : float, positive
        ``L``.
    dim : int
        The number of parameters ``d``.
    num_steps : int, optional
        ``T`` when both schedules are numbers (constant).

    Returns
    -------
    ndarray of shape (T,)
        The cumulative sums, in nats.
    """
    grad_bound = checks.positive("grad_bound", grad_bound)
    terms = step_information_bounds(lrs, noise_variances, grad_bound**2, dim)
    if num_steps is not None:
        num_steps = checks.count("num_steps", num_steps)
        if terms.size not in (1, num_steps):
            raise ValueError(
                f"num_steps must equal the length of the schedules ({terms.size}); got {num_steps}."
            )
        terms = np.broadcast_to(terms, (num_steps,))
    return np.cumsum(terms)


def xu_raginsky_bound(information, n_samples, subgaussian):
    """``sqrt(2 sigma^2 I / n)``: Xu and Raginsky's (2017, Theorem 1) bound on the expected gap.

    Parameters
    ----------
    information : float or array_like, non-negative
        ``I(S; W)`` in nats (or an upper bound on it).
    n_samples : int
        ``n``.
    subgaussian : float, positive
        ``sigma``, e.g. :func:`bounded_loss_subgaussian`.

    Returns
    -------
    float or ndarray of the shape of ``information``
    """
    information = checks.array("information", information, ndim=(0, 1, 2))
    if np.any(information < 0):
        raise ValueError(f"information must be non-negative; got {information.min().item()!r}.")
    n_samples = checks.count("n_samples", n_samples)
    subgaussian = checks.positive("subgaussian", subgaussian)
    out = np.sqrt(2.0 * subgaussian**2 * information / n_samples)
    return float(out) if out.ndim == 0 else out


# ------------------------------------------------------------------- SGLD with clipping


def _callable(name, value):
    if not callable(value):
        raise ValueError(f"{name} must be callable; got {type(value).__name__} {value!r:.60}.")
    return value


def per_example_gradients(loss_fn, params, X, y):
    """Per-example gradients of ``loss_fn(params, x, y)`` by ``torch.func.vmap(grad)``.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(params, x, y) -> scalar tensor`` for one example.
    params : torch.Tensor, shape (D,)
    X : torch.Tensor, shape (k, ...); y : torch.Tensor, shape (k, ...)

    Returns
    -------
    torch.Tensor, shape (k, D)
    """
    from torch.func import grad, vmap

    loss_fn = _callable("loss_fn", loss_fn)
    checks.tensor("params", params, ndim=1)
    checks.tensor("X", X)
    if X.ndim < 1 or not hasattr(y, "shape") or y.ndim < 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"X and y must have the same number of rows; got shapes {tuple(X.shape)} and "
            f"{tuple(getattr(y, 'shape', ()))}."
        )
    return vmap(grad(loss_fn), in_dims=(None, 0, 0))(params, X, y)


def clip_per_example(grads, max_norm):
    """Scale each row ``g_i`` of ``grads`` to ``g_i min(1, L / ||g_i||)``: norms at most ``L``.

    ``grads`` has shape (..., k, D) (one gradient per row); returns the same shape.
    """
    grads = checks.tensor("grads", grads, ndim=tuple(range(2, 9)))
    max_norm = checks.positive("max_norm", max_norm)
    norms = grads.norm(dim=-1, keepdim=True)
    return grads * (max_norm / norms.clamp_min(1e-30)).clamp(max=1.0)


def logistic_clipped_mean_gradient(params, X, y, max_norm):
    """Mean of the clipped per-example gradients of the logistic loss of a linear model.

    The gradient of example ``i`` is ``g_i = (sigmoid(<w, x_i>) - y_i) x_i``, of norm
    ``|sigmoid(<w, x_i>) - y_i| ||x_i||``, so it is clipped through its scalar coefficient
    without forming the (k, D) array (:func:`clip_per_example` is the generic route).

    Parameters
    ----------
    params : torch.Tensor, shape ``(*batch, D)``
    X : torch.Tensor, shape ``(*batch, k, D)``, broadcastable against ``params``
    y : torch.Tensor, shape ``(*batch, k)``, labels 0 and 1
    max_norm : float, positive
        ``L``.

    Returns
    -------
    torch.Tensor, shape ``(*batch, D)``
        ``(1/k) sum_i g_i min(1, L / ||g_i||)``; its norm is at most ``L``.
    """
    import torch

    checks.tensor("params", params)
    checks.tensor("X", X, ndim=tuple(range(2, 9)))
    max_norm = checks.positive("max_norm", max_norm)
    logits = torch.einsum("...d,...kd->...k", params, X)  # <w, x_i>, shape (*batch, k)
    coef = torch.sigmoid(logits) - y
    norms = coef.abs() * X.norm(dim=-1)  # ||g_i||
    coef = coef * (max_norm / norms.clamp_min(1e-30)).clamp(max=1.0)
    return torch.einsum("...k,...kd->...d", coef, X) / X.shape[-2]


def sgld_step(params, direction, lr, beta, generator):
    """One SGLD step: ``params - lr direction + sqrt(2 lr / beta) xi``, ``xi ~ N(0, I)``.

    ``beta`` (the inverse temperature) is a number or a tensor that broadcasts against
    ``params`` (one temperature per leading index); ``generator`` is a ``torch.Generator``.
    """
    checks.tensor("params", params)
    checks.tensor("direction", direction)
    if direction.shape != params.shape:
        raise ValueError(
            f"direction must have the shape of params {tuple(params.shape)}; got "
            f"{tuple(direction.shape)}."
        )
    return _sgld_step(params, direction, lr, beta, generator)


def _sgld_step(params, direction, lr, beta, generator):
    import torch

    lr = checks.positive("lr", lr)
    if not isinstance(beta, torch.Tensor):
        beta = torch.tensor(checks.positive("beta", beta), dtype=params.dtype)
    elif torch.any(beta <= 0):
        raise ValueError(f"beta must be positive; got {beta.min().item()!r}.")
    scale = torch.sqrt(2.0 * lr / beta)
    noise = torch.randn(params.shape, generator=generator, dtype=params.dtype)
    return params - lr * direction + scale * noise


@dataclass(frozen=True)
class SGLDPath:
    """What :func:`sgld` returns.

    ``checkpoints``: the steps kept; ``params``: the weights there, shape
    ``(len(checkpoints), *batch, D)``; ``update_sq_norm``: ``||F_t||^2`` of every step's update
    direction, shape ``(num_steps, *batch)``.
    """

    checkpoints: tuple
    params: np.ndarray
    update_sq_norm: np.ndarray


def sgld(direction_fn, params0, n_samples, lr, beta, num_steps, batch_size, seed, checkpoints):
    """Run SGLD with mini-batches drawn without looking at the weights.

    At every step a batch of ``batch_size`` distinct indices out of ``n_samples`` is drawn
    uniformly (the same positions for every leading index of ``params``), the update
    direction ``F_t = direction_fn(W_{t-1}, index)`` is computed, and
    :func:`sgld_step` moves the weights.

    Parameters
    ----------
    direction_fn : callable
        ``direction_fn(params, index) -> tensor of the shape of params``, e.g. the mean of
        clipped per-example gradients over the examples ``index`` (a LongTensor).
    params0 : torch.Tensor, shape ``(*batch, D)``
        The start (it must not depend on the data).
    n_samples : int
    lr : float
    beta : float or torch.Tensor broadcastable against ``params0``
    num_steps : int
    batch_size : int, at most ``n_samples``
    seed : int
        Seeds the batches and the noise (:func:`generalization.nets.seed_everything`).
    checkpoints : sequence of int
        Steps (0 to ``num_steps``) at which to keep the weights.

    Returns
    -------
    SGLDPath
    """
    import torch

    from .nets import seed_everything

    n_samples = checks.count("n_samples", n_samples)
    num_steps = checks.count("num_steps", num_steps)
    batch_size = checks.count("batch_size", batch_size, maximum=n_samples)
    checkpoints = checks.integers("checkpoints", checkpoints, minimum=0, distinct=True)
    if max(checkpoints) > num_steps:
        raise ValueError(
            f"checkpoints must be steps from 0 to num_steps = {num_steps}; got {max(checkpoints)}."
        )
    direction_fn = _callable("direction_fn", direction_fn)
    generator = seed_everything(checks.count("seed", seed, minimum=0))
    params = checks.tensor("params0", params0).clone()
    kept = {0: params.numpy().copy()} if 0 in checkpoints else {}
    wanted = set(checkpoints)
    sq_norms = torch.empty((num_steps, *params.shape[:-1]), dtype=params.dtype)
    for t in range(1, num_steps + 1):
        index = torch.randperm(n_samples, generator=generator)[:batch_size]
        direction = direction_fn(params, index)
        sq_norms[t - 1] = (direction**2).sum(-1)
        params = _sgld_step(params, direction, lr, beta, generator)
        if t in wanted:
            kept[t] = params.numpy().copy()
    return SGLDPath(
        checkpoints=checkpoints,
        params=np.array([kept[t] for t in checkpoints]),
        update_sq_norm=sq_norms.numpy(),
    )

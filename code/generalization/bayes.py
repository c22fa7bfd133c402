"""Bayes, Occam and effective dimensionality: evidence, curvature and deep ensembles.

A Bayesian compares models by their evidence ``p(D | M) = int p(D | w) p(w) dw``, which
rewards a fit to the data and penalizes the prior volume a model wastes: the Occam factor
(MacKay 1992). For a network the integral is approximated by Laplace's method around the
maximum a posteriori parameters ``w*``::

    log p(D) ~ log p(D | w*) + log p(w*) + (P/2) log(2 pi) - (1/2) log det A,
    A = -grad^2 log p(D, w) at w* = C + alpha I,

with ``C`` the curvature of the negative log-likelihood and ``alpha`` the prior precision.
The eigenvalues ``lambda_i`` of ``C`` say how many directions the data determine: MacKay's
number of well-determined parameters ``gamma = sum_i lambda_i / (lambda_i + alpha)`` is the
effective dimensionality ``N_eff(C, alpha)`` that Maddox, Benton and Wilson (2020) use to
compare networks whose raw parameter counts mislead. Wilson and Izmailov (2020) argue that
deep ensembles approximate Bayesian model averaging, the predictive distribution being the
*average of the members' probabilities*.

Evidence
    :func:`log_likelihood`, :func:`log_prior`, :func:`fit_map` (the MAP by L-BFGS),
    :func:`posterior_precision` (``A`` with the exact Hessian or the generalized
    Gauss-Newton matrix) and :func:`laplace_log_evidence`.
Effective dimensionality
    :func:`effective_dimensionality`.
Ensembles and calibration
    :func:`ensemble_probabilities`, :func:`ensemble_predict`, :func:`negative_log_likelihood`,
    :func:`calibration` (the reliability diagram's data) and
    :func:`expected_calibration_error`.

Conventions (the same for every function)::

    model        a torch.nn.Module at the parameters of interest; theta its flat parameter
                 vector (as generalization.landscape.flat), of length P. Every computation of
                 this module runs on a float64 copy in evaluation mode; the model is not changed
                 (except by fit_map, which trains it in place).
    likelihood   "gaussian": y (n,) or (n, k) real, the model's outputs (n, k) are the means,
                 noise variance s^2: log p(y | x, w) = -||y - f||^2 / (2 s^2) - (k/2) log(2 pi s^2)
                 "categorical": y (n,) class indices, the outputs (n, C) are logits:
                 log p(y | x, w) = log softmax(f)_y
    prior        w ~ N(0, I / alpha) on all P parameters (biases included), alpha = prior_precision:
                 log p(w) = -(alpha/2) ||w||^2 + (P/2) log(alpha / (2 pi))
    sums         log-likelihoods are SUMS over the n examples (not means); A = C + alpha I with
                 C the curvature of -sum_i log p(y_i | x_i, w)
    probabilities  (n, C) arrays whose rows sum to 1; predictions are the argmax (the first
                 class on ties), confidences the row maxima

What is exact and what is approximate: :func:`laplace_log_evidence` is exact (up to floating
point, and to how exactly ``w*`` is the MAP) for a model linear in its parameters with the
Gaussian likelihood, where the posterior is Gaussian; otherwise it is Laplace's
approximation, and the Gauss-Newton variant is a further approximation of the Hessian (the
two agree for models linear in their parameters, with either likelihood). The MAP itself is
found numerically; the result reports the gradient norm there. The ensemble, NLL and
calibration functions are exact computations on what they are given.

References
----------
MacKay (1992), *Bayesian interpolation*, Neural Computation 4(3), 415-447 (the Laplace
evidence, the Occam factor and the number of well-determined parameters ``gamma``);
MacKay (1992), *A practical Bayesian framework for backpropagation networks*, Neural
Computation 4(3), 448-472.
Maddox, Benton, Wilson (2020), *Rethinking parameter counting in deep models: effective
dimensionality revisited*, arXiv:2003.02139 (the definition of the effective
dimensionality ``N_eff(H, z) = sum_i lambda_i / (lambda_i + z)``).
Wilson, Izmailov (2020), *Bayesian deep learning and a probabilistic perspective of
generalization*, NeurIPS (deep ensembles as an approximation of Bayesian model averaging).
Lakshminarayanan, Pritzel, Blundell (2017), *Simple and scalable predictive uncertainty
estimation using deep ensembles*, NeurIPS (the ensemble's mixture of member probabilities).
Guo, Pleiss, Sun, Weinberger (2017), *On calibration of modern neural networks*, ICML
(reliability diagrams, and the expected calibration error of their Eq. 3).
Martens (2020), *New insights and perspectives on the natural gradient method*, JMLR 21
(the generalized Gauss-Newton matrix).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from . import checks, landscape

LIKELIHOODS = ("gaussian", "categorical")
"""The likelihoods of the evidence functions."""

CURVATURES = ("hessian", "ggn")
"""The curvatures of :func:`posterior_precision`: the exact Hessian or the generalized
Gauss-Newton matrix."""


def _fail(name, wanted, got):
    raise ValueError(f"{name} must be {wanted}; got {got}.")


# ------------------------------------------------------------------------------- inputs


def _model(model):
    import torch

    if not isinstance(model, torch.nn.Module):
        _fail("model", "a torch.nn.Module", type(model).__name__)
    if not list(model.parameters()):
        _fail("model", "a torch.nn.Module with parameters", "a module without parameters")
    return model


def _work(model):
    """A float64 copy of the model in evaluation mode."""
    return copy.deepcopy(_model(model)).double().eval()


def _tensor(name, value, ndim=None):
    import torch

    if torch.is_tensor(value):
        value = value.detach().cpu().numpy()
    return torch.as_tensor(np.ascontiguousarray(checks.array(name, value, ndim=ndim, dtype=None)))


def _data(X, y, likelihood):
    """X as float64; y as float64 targets (gaussian) or long class indices (categorical)."""
    import torch

    X = _tensor("X", X).to(torch.float64)
    y = _tensor("y", y, ndim=(1, 2))
    if y.shape[0] != X.shape[0]:
        _fail("y", f"one target per row of X ({X.shape[0]})", f"{y.shape[0]} targets")
    if likelihood == "categorical":
        if y.ndim != 1 or y.dtype.is_floating_point or int(y.min()) < 0:
            _fail("y", "class indices (a 1-D array of non-negative integers)", f"{y.dtype}")
        return X, y.to(torch.long)
    return X, y.to(torch.float64)


def _settings(likelihood, noise_variance, prior_precision):
    likelihood = checks.choice("likelihood", likelihood, LIKELIHOODS)
    noise_variance = checks.positive("noise_variance", noise_variance)
    prior_precision = checks.positive("prior_precision", prior_precision)
    return likelihood, noise_variance, prior_precision


def _log_lik(outputs, y, likelihood, noise_variance):
    """sum_i log p(y_i | x_i, w) of a batch, a torch scalar (module conventions)."""
    import torch

    if likelihood == "categorical":
        if outputs.ndim != 2 or int(y.max()) >= outputs.shape[1]:
            _fail("y", f"class indices below the model's {outputs.shape[-1]} outputs", "larger")
        return -torch.nn.functional.cross_entropy(outputs, y, reduction="sum")
    f = outputs.reshape(outputs.shape[0], -1)
    t = y.reshape(y.shape[0], -1)
    if f.shape != t.shape:
        _fail("y", f"targets of the model's output shape {tuple(f.shape)}", tuple(t.shape))
    k = t.shape[1]
    squared = ((f - t) ** 2).sum()
    return -squared / (2 * noise_variance) - t.shape[0] * k / 2 * math.log(
        2 * math.pi * noise_variance
    )


# ------------------------------------------------------------------------------- evidence


def log_likelihood(model, X, y, likelihood="gaussian", noise_variance=1.0):
    """``log p(D | w) = sum_i log p(y_i | x_i, w)`` at the model's parameters (float64).

    Parameters
    ----------
    model : torch.nn.Module
    X : array_like or tensor of shape (n, ...)
    y : shape (n,) or (n, k) (gaussian), or (n,) class indices (categorical)
    likelihood : {"gaussian", "categorical"}
    noise_variance : float > 0
        ``s^2`` of the Gaussian likelihood (unused for "categorical").

    Returns
    -------
    float
    """
    import torch

    likelihood, noise_variance, _ = _settings(likelihood, noise_variance, 1.0)
    work = _work(model)
    X, y = _data(X, y, likelihood)
    with torch.no_grad():
        return float(_log_lik(work(X), y, likelihood, noise_variance))


def log_prior(model, prior_precision):
    """``log N(theta; 0, I / alpha) = -(alpha/2) ||theta||^2 + (P/2) log(alpha / (2 pi))``."""
    alpha = checks.positive("prior_precision", prior_precision)
    theta = landscape.flat(_model(model)).double()
    P = theta.shape[0]
    return float(-alpha / 2 * theta.dot(theta) + P / 2 * math.log(alpha / (2 * math.pi)))


def _negative_log_joint(work, X, y, likelihood, noise_variance, alpha):
    theta = [p for p in work.parameters()]
    penalty = sum((p**2).sum() for p in theta)
    return -_log_lik(work(X), y, likelihood, noise_variance) + alpha / 2 * penalty


def fit_map(
    model, X, y, prior_precision, likelihood="gaussian", noise_variance=1.0, max_iter=500, tol=1e-10
):
    """Move ``model`` to the MAP ``argmax_w log p(D | w) + log p(w)``, in place, by L-BFGS.

    Full-batch ``torch.optim.LBFGS`` with the strong Wolfe line search on the negative log
    joint (module conventions), in the model's own dtype (use a float64 model for a MAP
    accurate enough for :func:`laplace_log_evidence`). The objective is non-convex for a
    network: the result is a local maximum near the starting parameters.

    Parameters
    ----------
    max_iter : int
        The most L-BFGS iterations.
    tol : float
        Stop when the largest entry of the gradient is below ``tol``.

    Returns
    -------
    torch.nn.Module
        ``model`` itself.
    """
    import torch

    _model(model)
    likelihood, noise_variance, alpha = _settings(likelihood, noise_variance, prior_precision)
    max_iter = checks.count("max_iter", max_iter)
    tol = checks.positive("tol", tol)
    dtype = next(model.parameters()).dtype
    X, y = _data(X, y, likelihood)
    X = X.to(dtype)
    if likelihood == "gaussian":
        y = y.to(dtype)
    optimizer = torch.optim.LBFGS(
        model.parameters(),
        lr=1.0,
        max_iter=max_iter,
        tolerance_grad=tol,
        tolerance_change=0.0,
        history_size=50,
        line_search_fn="strong_wolfe",
    )
    was_training = model.training
    model.eval()

    def closure():
        optimizer.zero_grad()
        loss = _negative_log_joint(model, X, y, likelihood, noise_variance, alpha)
        loss.backward()
        return loss

    optimizer.step(closure)
    model.train(was_training)
    return model


def _ggn(work, X, likelihood, noise_variance, batch_size):
    """sum_i J_i^T Lambda_i J_i: J_i the Jacobian of the outputs in theta, Lambda_i the
    Hessian of the negative log-likelihood in the outputs."""
    import torch
    from torch.func import functional_call, jacrev, vmap

    params = {name: p.detach() for name, p in work.named_parameters()}

    def outputs(parameters, x):
        return functional_call(work, parameters, (x.unsqueeze(0),))[0].reshape(-1)

    P = sum(p.numel() for p in params.values())
    total = torch.zeros(P, P, dtype=torch.float64)
    n = X.shape[0]
    for start in range(0, n, batch_size):
        Xc = X[start : start + batch_size]
        jac = vmap(jacrev(outputs), in_dims=(None, 0))(params, Xc)
        J = torch.cat([j.reshape(j.shape[0], j.shape[1], -1) for j in jac.values()], dim=2)
        if likelihood == "gaussian":
            total += torch.einsum("bkp,bkq->pq", J, J) / noise_variance
        else:
            with torch.no_grad():
                p = torch.softmax(work(Xc), dim=-1)  # Lambda = diag(p) - p p^T
            Jp = torch.einsum("bk,bkp->bp", p, J)
            total += torch.einsum("bk,bkp,bkq->pq", p, J, J) - Jp.T @ Jp
    return total


def posterior_precision(
    model,
    X,
    y,
    prior_precision,
    likelihood="gaussian",
    noise_variance=1.0,
    curvature="hessian",
    max_params=3000,
    batch_size=1024,
):
    """``A = C + alpha I``, the curvature of the negative log joint, shape ``(P, P)``.

    ``curvature="hessian"``: ``C`` is the exact Hessian of ``-log p(D | w)``, from
    :func:`generalization.landscape.hessian` (``torch.func.hessian``) times ``n``.
    ``curvature="ggn"``: the generalized Gauss-Newton matrix ``C = sum_i J_i^T Lambda_i J_i``,
    ``J_i`` the Jacobian of the outputs for example ``i`` (``torch.func.jacrev`` under
    ``vmap``), ``Lambda_i = I / s^2`` (gaussian) or ``diag(p_i) - p_i p_i^T`` (categorical,
    ``p_i`` the softmax); it drops the terms with the outputs' second derivatives, is always
    positive semi-definite, and equals the Hessian for a model linear in its parameters
    (Martens 2020). Computed on a float64 copy of the model.

    Parameters
    ----------
    max_params : int
        Refuse models with more parameters (the matrix has ``P^2`` entries).
    batch_size : int
        Examples per chunk (memory grows as ``batch_size * outputs * P`` for "ggn").

    Returns
    -------
    torch.Tensor of shape (P, P), float64, symmetric.
    """
    import torch

    likelihood, noise_variance, alpha = _settings(likelihood, noise_variance, prior_precision)
    curvature = checks.choice("curvature", curvature, CURVATURES)
    max_params = checks.count("max_params", max_params)
    batch_size = checks.count("batch_size", batch_size)
    work = _work(model)
    X, y = _data(X, y, likelihood)
    P = sum(p.numel() for p in work.parameters())
    if P > max_params:
        _fail("model", f"at most max_params = {max_params} parameters", P)
    n = X.shape[0]
    with torch.no_grad():
        _log_lik(work(X[:1]), y[:1], likelihood, noise_variance)  # checks the shapes
    if curvature == "hessian":

        def mean_nll(outputs, targets):
            return -_log_lik(outputs, targets, likelihood, noise_variance) / outputs.shape[0]

        C = n * landscape.hessian(
            work, mean_nll, X, y, max_params=max_params, batch_size=batch_size
        )
    else:
        C = _ggn(work, X, likelihood, noise_variance, batch_size)
    C = (C + C.T) / 2
    return C + alpha * torch.eye(P, dtype=torch.float64)


@dataclass
class LaplaceEvidence:
    """Laplace's estimate of the log evidence and its parts (natural logarithms).

    ``log_evidence = log_likelihood + occam``, with ``occam = log_prior + (P/2) log(2 pi)
    - (1/2) log_det`` the log Occam factor (MacKay 1992). ``eigenvalues`` are those of ``A``
    (ascending); ``curvature_eigenvalues = eigenvalues - alpha`` those of ``C``, whose
    :func:`effective_dimensionality` at ``z = alpha`` is MacKay's ``gamma``.
    ``gradient_norm`` is ``||grad_theta log p(D, theta)||`` at the model's parameters: near 0
    at a MAP.
    """

    log_evidence: float
    log_likelihood: float
    log_prior: float
    log_det: float
    occam: float
    n_params: int
    prior_precision: float
    eigenvalues: np.ndarray
    curvature_eigenvalues: np.ndarray
    gradient_norm: float


def laplace_log_evidence(
    model,
    X,
    y,
    prior_precision,
    likelihood="gaussian",
    noise_variance=1.0,
    curvature="hessian",
    max_params=3000,
    batch_size=1024,
):
    """Laplace's approximation of ``log p(D) = log int p(D | w) p(w) dw`` at the model's
    parameters, taken to be the MAP ``w*`` (see :func:`fit_map`).

    ``log p(D) ~ log p(D | w*) + log p(w*) + (P/2) log(2 pi) - (1/2) log det A`` with ``A``
    from :func:`posterior_precision` (MacKay 1992). Exact for a model linear in its
    parameters with the Gaussian likelihood (where it equals
    ``log N(y; 0, s^2 I + X X^T / alpha)``); approximate otherwise. ``curvature="hessian"``
    (the default, MacKay's) needs ``A`` positive definite, which holds at a strict local
    MAP; away from one use ``"ggn"``, positive definite always.

    Returns
    -------
    LaplaceEvidence

    Raises
    ------
    ValueError
        If ``A`` is not positive definite.
    """
    import torch

    A = posterior_precision(
        model, X, y, prior_precision, likelihood, noise_variance, curvature, max_params, batch_size
    )
    alpha = float(prior_precision)
    eigenvalues = np.linalg.eigvalsh(A.numpy())
    if eigenvalues[0] <= 0:
        _fail(
            "model",
            "at a MAP where the posterior precision is positive definite",
            f"smallest eigenvalue {eigenvalues[0]:.3g} (try curvature='ggn')",
        )
    work = _work(model)
    Xt, yt = _data(X, y, likelihood)
    loss = _negative_log_joint(work, Xt, yt, likelihood, noise_variance, alpha)
    grads = torch.autograd.grad(loss, list(work.parameters()))
    gradient_norm = float(torch.cat([g.reshape(-1) for g in grads]).norm())
    lik = log_likelihood(work, X, y, likelihood, noise_variance)
    prior = log_prior(work, alpha)
    P = int(eigenvalues.shape[0])
    log_det = float(np.sum(np.log(eigenvalues)))
    occam = prior + P / 2 * math.log(2 * math.pi) - log_det / 2
    return LaplaceEvidence(
        log_evidence=lik + occam,
        log_likelihood=lik,
        log_prior=prior,
        log_det=log_det,
        occam=occam,
        n_params=P,
        prior_precision=alpha,
        eigenvalues=eigenvalues,
        curvature_eigenvalues=eigenvalues - alpha,
        gradient_norm=gradient_norm,
    )


# ------------------------------------------------------------------ effective dimensionality


def effective_dimensionality(eigenvalues, z):
    """``N_eff(H, z) = sum_i lambda_i / (lambda_i + z)`` (Maddox, Benton, Wilson 2020).

    Each eigenvalue counts as about 1 when ``lambda_i >> z`` (a direction the data determine)
    and about 0 when ``lambda_i << z``; equal to ``tr H (H + z I)^{-1}``. With ``H`` the
    curvature ``C`` of the negative log-likelihood and ``z`` the prior precision it is
    MacKay's (1992) number of well-determined parameters. Eigenvalues from a Hessian may be
    slightly negative; each must satisfy ``lambda_i + z > 0``. Pass all eigenvalues, or the
    top ones (e.g. :func:`generalization.landscape.top_hessian_eigenvalues`): the rest, if
    small against ``z``, add little.

    Parameters
    ----------
    eigenvalues : array_like of shape (m,)
    z : float > 0, or array_like of shape (k,) of them

    Returns
    -------
    float, or ndarray of shape (k,) for an array of ``z``
    """
    eigenvalues = checks.array("eigenvalues", eigenvalues, ndim=1)
    scalar = np.ndim(z) == 0
    zs = (
        np.array([checks.positive("z", z)])
        if scalar
        else checks.numbers("z", z, low=0, low_open=True)
    )
    if np.any(eigenvalues.min() + zs <= 0):
        _fail("eigenvalues", "above -z (lambda + z > 0)", f"minimum {eigenvalues.min():.3g}")
    values = (eigenvalues[None, :] / (eigenvalues[None, :] + zs[:, None])).sum(axis=1)
    return float(values[0]) if scalar else values


# ------------------------------------------------------------------- ensembles, calibration


def ensemble_probabilities(logits):
    """The ensemble's predictive probabilities: the mean of the members' softmaxes.

    ``p(c | x) = (1/m) sum_j softmax(f_j(x))_c`` (Lakshminarayanan et al. 2017; Wilson and
    Izmailov 2020), not the softmax of the mean logits. Computed as
    ``exp(logsumexp_j log_softmax(f_j) - log m)`` in float64, so tiny probabilities do not
    underflow early.

    Parameters
    ----------
    logits : array_like of shape (m, n, C)
        Member ``j``'s logits for example ``i``.

    Returns
    -------
    ndarray of shape (n, C), float64
    """
    from scipy.special import log_softmax, logsumexp

    logits = checks.array("logits", logits, ndim=3)
    log_p = log_softmax(logits, axis=2)
    return np.exp(logsumexp(log_p, axis=0) - math.log(logits.shape[0]))


def ensemble_predict(models, X, batch_size=4096):
    """The predictive probabilities of an ensemble of classifiers, shape ``(n, C)``.

    Each member runs in evaluation mode without gradients (its mode is restored) and outputs
    logits of shape ``(n, C)``; the probabilities are :func:`ensemble_probabilities` of them.
    A single model in a list gives its own softmax.

    Parameters
    ----------
    models : sequence of torch.nn.Module
    X : array_like or tensor of shape (n, ...)
    batch_size : int
    """
    import torch

    if isinstance(models, torch.nn.Module) or isinstance(models, (str, bytes)):
        _fail("models", "a non-empty sequence of torch.nn.Module", type(models).__name__)
    models = list(models)
    if not models:
        _fail("models", "a non-empty sequence of torch.nn.Module", "an empty one")
    batch_size = checks.count("batch_size", batch_size)
    X = _tensor("X", X, ndim=tuple(range(2, 9)))  # (n, ...): one row per example
    member_logits = []
    for model in models:
        _model(model)
        dtype = next(model.parameters()).dtype
        was_training = model.training
        model.eval()
        with torch.no_grad():
            out = [
                model(X[s : s + batch_size].to(dtype)).double()
                for s in range(0, X.shape[0], batch_size)
            ]
        model.train(was_training)
        member_logits.append(torch.cat(out).numpy())
    shapes = {m.shape for m in member_logits}
    if len(shapes) != 1 or member_logits[0].ndim != 2:
        _fail("models", "classifiers with logits of one shape (n, C)", sorted(shapes))
    return ensemble_probabilities(np.stack(member_logits))


def _probabilities(probabilities, y):
    p = checks.array("probabilities", probabilities, ndim=2)
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-6):
        _fail("probabilities", "non-negative rows that sum to 1", "other rows")
    y = checks.array("y", y, ndim=1, dtype=None)
    if not np.issubdtype(y.dtype, np.integer) or y.shape[0] != p.shape[0]:
        _fail("y", f"{p.shape[0]} class indices", f"{y.dtype} of shape {y.shape}")
    if y.min() < 0 or y.max() >= p.shape[1]:
        _fail("y", f"class indices from 0 to {p.shape[1] - 1}", f"{y.min()} .. {y.max()}")
    return p, y


def negative_log_likelihood(probabilities, y):
    """``-(1/n) sum_i log p_i[y_i]``, the mean negative log-likelihood (natural log).

    No clipping: a true class of probability 0 gives ``inf``.

    Parameters
    ----------
    probabilities : array_like of shape (n, C)
    y : array_like of shape (n,), class indices
    """
    p, y = _probabilities(probabilities, y)
    with np.errstate(divide="ignore"):
        return float(-np.mean(np.log(p[np.arange(p.shape[0]), y])))


@dataclass
class Calibration:
    """A reliability diagram's data and the expected calibration error.

    Bin ``b`` (0-based) holds the examples whose confidence lies in ``(edges[b], edges[b+1]]``
    (the first bin also takes a confidence of exactly 0). ``counts`` (B,) are their numbers,
    ``confidence`` (B,) their mean confidence and ``accuracy`` (B,) the fraction predicted
    right, NaN for an empty bin. ``ece = sum_b (counts_b / n) |accuracy_b - confidence_b|``.
    """

    edges: np.ndarray
    counts: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    ece: float


def calibration(probabilities, y, n_bins=15):
    """The reliability diagram and the expected calibration error (Guo et al. 2017, Eq. 3).

    Confidence is the largest probability of each row, the prediction its class (the first on
    ties); confidences are grouped in ``n_bins`` bins of equal width on [0, 1], closed on the
    right, with edges ``b / n_bins`` (exact in binary for the boundaries that are). The ECE
    weights each bin's gap between accuracy and mean confidence by its share of examples.

    Parameters
    ----------
    probabilities : array_like of shape (n, C)
    y : array_like of shape (n,), class indices
    n_bins : int, default 15

    Returns
    -------
    Calibration
    """
    p, y = _probabilities(probabilities, y)
    n_bins = checks.count("n_bins", n_bins)
    edges = np.arange(n_bins + 1) / n_bins
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(float)
    bins = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(bins, confidence, n_bins) / counts
        accuracy = np.bincount(bins, correct, n_bins) / counts
    gaps = np.where(counts > 0, np.abs(accuracy - mean_confidence), 0.0)
    ece = float(np.sum(counts / p.shape[0] * gaps))
    return Calibration(edges, counts, mean_confidence, accuracy, ece)


def expected_calibration_error(probabilities, y, n_bins=15):
    """The ECE of :func:`calibration`, a float in [0, 1]."""
    return calibration(probabilities, y, n_bins).ece

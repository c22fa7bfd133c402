"""Bias and variance(s): split a test error by the sources of randomness of a learner.

A trained predictor ``f(x; X, Theta, eps)`` depends on three independent random draws:

* ``X``: the sampling of the training inputs (and with it the clean training targets);
* ``Theta``: the initialization (random features, first-layer weights, ...);
* ``eps``: the noise added to the training labels.

With ``f*`` the clean target, its mean squared test error, averaged over test points ``x``
and over the three draws, splits into a bias and three variances by the law of total
variance applied in a fixed order, noise innermost, then initialization, then sampling::

    E (f - f*)^2 = bias^2 + var_noise + var_init + var_sampling

    bias^2       = E_x ( E_{X,Theta,eps} f - f* )^2
    var_noise    = E_x E_{X,Theta} Var_eps f                 noise, given data and init
    var_init     = E_x E_X Var_Theta E_eps f                 init, given the data
    var_sampling = E_x Var_X E_{Theta,eps} f                 sampling, averaged over the rest

This ordered ("sequential") convention is the one of d'Ascoli, Refinetti, Biroli and Krzakala
(2020): the sampling variance is the variance of the predictor averaged over initializations
and noise, and every interaction with a source conditioned on earlier is booked to the
inner term. In particular the interaction of sampling and initialization sits in
``var_init``. Because the order matters, the symmetric (ANOVA) split of Adlam and Pennington
(2020) of that term is reported as well::

    var_init = var_init_main + var_interaction
    var_init_main   = E_x Var_Theta E_{X,eps} f     (initialization alone)
    var_interaction = the rest                        (sampling x initialization)

Ensembles: averaging ``K`` predictors that share the data and the noise but not the
initialization gives ``f_K``; its error is ``E (f_K - f*)^2 = E_inf + v / K`` with
``E_inf`` the error of the infinite ensemble and ``v = E_x E_{X,eps} Var_Theta f``.

Two estimators are provided.

* :func:`decompose` takes raw predictions over a crossed grid of draws (every noise draw
  with every initialization with every sampling) and returns the decomposition of the
  *empirical* distribution of the draws (plug-in). The four parts add up exactly to the mean
  squared error over the grid; with finitely many draws the between-draw parts are biased
  upward by a ``1/count`` share of the within-draw parts.
* :func:`decompose_moments` takes, for every (sampling, initialization), the mean and the
  variance over the noise, integrated exactly. :func:`decompose_linear` computes them for
  predictors linear in the labels, ``f(x) = l(x)^T y`` (random features with a ridge or
  min-norm read-out), where ``E_eps f = l^T f*(X)`` and ``Var_eps f = sigma^2 ||l||^2``.
  With ``unbiased=True`` (default) the sampling and initialization parts use the two-way
  crossed random-effects ANOVA estimators, which are unbiased and still add up exactly to
  the (unbiased) mean squared error.

:func:`ensemble_error` and :func:`ensemble_error_linear` give the error of ensembles of
``K`` initializations.

References
----------
d'Ascoli, Refinetti, Biroli, Krzakala (2020), *Double trouble in double descent: bias and
variance(s) in the lazy regime*, ICML, https://arxiv.org/abs/2003.01054.
Adlam, Pennington (2020), *Understanding double descent requires a fine-grained
bias-variance decomposition*, NeurIPS, https://arxiv.org/abs/2011.03321.
Montgomery (2017), *Design and analysis of experiments*, 9th ed., ch. 13 (random effects).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from . import checks

PARTS = ("bias2", "var_noise", "var_init", "var_sampling")
"""The four parts that add up to ``test_error``, in the order of the decomposition."""


@dataclass(frozen=True)
class Decomposition:
    """Mean squared test error split into bias and variances (see the module docstring).

    ``test_error = bias2 + var_noise + var_init + var_sampling`` and
    ``var_init = var_init_main + var_interaction``. All are averages over test points.
    """

    test_error: float
    bias2: float
    var_noise: float
    var_init: float
    var_sampling: float
    var_init_main: float
    var_interaction: float

    @property
    def variance(self):
        """``var_noise + var_init + var_sampling``."""
        return self.var_noise + self.var_init + self.var_sampling

    def as_dict(self):
        """The fields as a plain dict of floats."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _target(target, n_test):
    target = checks.array("target", target, ndim=1)
    if target.shape[0] != n_test:
        raise ValueError(
            f"target must have n_test = {n_test} entries, one per test point; got "
            f"{target.shape[0]}."
        )
    return target


def decompose(predictions, target):
    """Plug-in bias-variance decomposition over a crossed grid of draws.

    Parameters
    ----------
    predictions : array_like, shape (n_samplings, n_inits, n_noises, n_test)
        ``predictions[s, i, e]`` are the test predictions of the predictor trained on
        sampling ``s`` with initialization ``i`` and label noise ``e``. The grid is crossed:
        the same initializations (and noise draws) are used with every sampling, as the
        sources are independent. ``n_noises = 1`` means noiseless labels (``var_noise = 0``).
    target : array_like, shape (n_test,)
        The clean target ``f*`` at the test points.

    Returns
    -------
    Decomposition
        Of the empirical distribution of the draws: the parts add up to
        ``mean((predictions - target)^2)`` to rounding. Variances use ``ddof = 0``.
    """
    f = checks.array("predictions", predictions, ndim=4)
    target = _target(target, f.shape[3])
    g = f.mean(axis=2)  # E_eps f, shape (S, I, T)
    m_s = g.mean(axis=1)  # E_{Theta,eps} f given the sampling, (S, T)
    m_i = g.mean(axis=0)  # E_{X,eps} f given the initialization, (I, T)
    m = m_s.mean(axis=0)  # E f, (T,)
    var_init = float(g.var(axis=1).mean())
    var_init_main = float(m_i.var(axis=0).mean())
    return Decomposition(
        test_error=float(np.mean((f - target) ** 2)),
        bias2=float(np.mean((m - target) ** 2)),
        var_noise=float(f.var(axis=2).mean()),
        var_init=var_init,
        var_sampling=float(m_s.var(axis=0).mean()),
        var_init_main=var_init_main,
        var_interaction=var_init - var_init_main,
    )


def decompose_moments(mean_predictions, noise_variances, target, unbiased=True):
    """Bias-variance decomposition when the noise is integrated exactly for every fit.

    Parameters
    ----------
    mean_predictions : array_like, shape (n_samplings, n_inits, n_test)
        ``E_eps f`` for sampling ``s`` and initialization ``i`` (crossed design: initialization
        ``i`` is the same draw for every sampling).
    noise_variances : array_like, shape (n_samplings, n_inits, n_test)
        ``Var_eps f`` for each fit, non-negative.
    target : array_like, shape (n_test,)
        Clean targets at the test points.
    unbiased : bool, default True
        Use the crossed two-way random-effects ANOVA estimators for sampling,
        initialization and their interaction (mean squares; needs at least 2 samplings and
        2 initializations), and correct the bias for the variance of the grand mean. These
        are unbiased, and can come out slightly negative when a true part is near zero.
        With ``False``, the plug-in decomposition of the empirical distribution of the
        draws, as :func:`decompose`.

    Returns
    -------
    Decomposition
        In both cases the parts add up exactly (to rounding) to
        ``mean((mean_predictions - target)^2 + noise_variances)``, an unbiased estimate of
        the test error.
    """
    g = checks.array("mean_predictions", mean_predictions, ndim=3)
    noise = checks.array("noise_variances", noise_variances, ndim=3)
    if noise.shape != g.shape:
        raise ValueError(
            f"noise_variances must have the shape of mean_predictions, {g.shape}; got "
            f"{noise.shape}."
        )
    if np.any(noise < 0):
        raise ValueError("noise_variances must be non-negative; got a negative entry.")
    target = _target(target, g.shape[2])
    S, I = g.shape[:2]
    if unbiased and (S < 2 or I < 2):
        raise ValueError(
            f"unbiased=True needs at least 2 samplings and 2 initializations; got {S} and {I}."
        )
    m_s, m_i = g.mean(axis=1), g.mean(axis=0)
    m = m_s.mean(axis=0)
    resid = g - m_s[:, None] - m_i[None] + m  # the sampling x initialization interaction
    if not unbiased:
        var_sampling, var_init_main = float(m_s.var(axis=0).mean()), float(m_i.var(axis=0).mean())
        var_interaction = float(np.mean(resid**2))
        bias2 = float(np.mean((m - target) ** 2))
    else:
        # mean squares of a crossed two-way layout without replication (per test point):
        # E MS_s = I s_a^2 + s_c^2,  E MS_i = S s_b^2 + s_c^2,  E MS_res = s_c^2
        ms_s = I * m_s.var(axis=0, ddof=1)
        ms_i = S * m_i.var(axis=0, ddof=1)
        ms_res = np.sum(resid**2, axis=(0, 1)) / ((S - 1) * (I - 1))
        s_a, s_b, s_c = (ms_s - ms_res) / I, (ms_i - ms_res) / S, ms_res
        var_sampling, var_init_main, var_interaction = (float(v.mean()) for v in (s_a, s_b, s_c))
        # (grand mean - f*)^2 overestimates bias^2 by Var(grand mean)
        bias2 = float(np.mean((m - target) ** 2 - s_a / S - s_b / I - s_c / (S * I)))
    return Decomposition(
        test_error=float(np.mean((g - target) ** 2 + noise)),
        bias2=bias2,
        var_noise=float(noise.mean()),
        var_init=var_init_main + var_interaction,
        var_sampling=var_sampling,
        var_init_main=var_init_main,
        var_interaction=var_interaction,
    )


def _check_linear(smoothers, train_targets, noise_var):
    L = checks.array("smoothers", smoothers, ndim=4)
    S, I, T, n = L.shape
    y = checks.array("train_targets", train_targets, ndim=2)
    if y.shape != (S, n):
        raise ValueError(
            f"train_targets must have shape (n_samplings, n_train) = ({S}, {n}); got {y.shape}."
        )
    return L, y, checks.nonnegative("noise_var", noise_var)


def linear_moments(smoothers, train_targets, noise_var):
    """``(E_eps f, Var_eps f)`` of predictors linear in the labels, each of shape (S, I, n_test).

    The predictor of sampling ``s`` and initialization ``i`` is ``f(x) = l_{s,i}(x)^T y_s``
    with ``y_s = train_targets[s] + eps``, ``eps ~ (0, noise_var I)``; so
    ``E_eps f = l^T train_targets[s]`` and ``Var_eps f = noise_var ||l||^2`` exactly.
    ``smoothers`` has shape (n_samplings, n_inits, n_test, n_train), row ``t`` of
    ``smoothers[s, i]`` being ``l_{s,i}(x_t)``; ``train_targets`` (n_samplings, n_train).
    """
    L, y, sigma2 = _check_linear(smoothers, train_targets, noise_var)
    return np.einsum("sitn,sn->sit", L, y), sigma2 * np.einsum("sitn,sitn->sit", L, L)


def decompose_linear(smoothers, train_targets, target, noise_var, unbiased=True):
    """:func:`decompose_moments` of predictors linear in the labels (see :func:`linear_moments`).

    Random features with a ridge or min-norm read-out are of this kind:
    ``l(x)^T = phi(x)^T (Phi^T Phi + n alpha I)^{-1} Phi^T``. Arguments as in
    :func:`linear_moments` and :func:`decompose_moments`.
    """
    g, noise = linear_moments(smoothers, train_targets, noise_var)
    return decompose_moments(g, noise, target, unbiased=unbiased)


def ensemble_error(predictions, target, k):
    """Mean squared test error of the average of ``k`` predictors differing only in initialization.

    The ``n_inits`` initializations are split into ``n_inits // k`` disjoint groups of ``k``
    consecutive ones (a remainder is left out); each group, with each sampling and noise draw,
    gives one ensemble ``f_k = mean of k predictions``. Returns ``mean((f_k - target)^2)`` over
    groups, samplings, noise draws and test points. ``k = 1`` is the error of single predictors.

    Parameters
    ----------
    predictions : array_like, shape (n_samplings, n_inits, n_noises, n_test)
    target : array_like, shape (n_test,)
    k : int, 1 <= k <= n_inits
    """
    f = checks.array("predictions", predictions, ndim=4)
    target = _target(target, f.shape[3])
    k = checks.count("k", k, maximum=f.shape[1])
    groups = f.shape[1] // k
    f_k = f[:, : groups * k].reshape(f.shape[0], groups, k, *f.shape[2:]).mean(axis=2)
    return float(np.mean((f_k - target) ** 2))


def ensemble_error_linear(smoothers, train_targets, target, noise_var, k):
    """:func:`ensemble_error` for predictors linear in the labels, noise integrated exactly.

    The ensemble of a group of ``k`` initializations is ``f_k = lbar^T y`` with ``lbar`` the
    mean of their smoother rows (they share the data and the noise), so its error is
    ``(lbar^T train_targets - target)^2 + noise_var ||lbar||^2``. Arguments as in
    :func:`decompose_linear`; groups as in :func:`ensemble_error`.
    """
    L, y, sigma2 = _check_linear(smoothers, train_targets, noise_var)
    target = _target(target, L.shape[2])
    k = checks.count("k", k, maximum=L.shape[1])
    groups = L.shape[1] // k
    L_k = L[:, : groups * k].reshape(L.shape[0], groups, k, *L.shape[2:]).mean(axis=2)
    g = np.einsum("sgtn,sn->sgt", L_k, y)
    return float(np.mean((g - target) ** 2 + sigma2 * np.einsum("sgtn,sgtn->sgt", L_k, L_k)))


def ensemble_limit(ks, errors):
    """Fit ``error(K) = E_inf + v / K`` by least squares; return ``(E_inf, v)``.

    The law is exact in expectation for ensembles of ``K`` independent initializations
    sharing the data and noise: ``E (f_K - f*)^2 = E_x [(E_Theta f - f*)^2]`` averaged over
    data and noise, plus ``E_x E_{X,eps} Var_Theta f / K``. ``E_inf`` is the error of the
    infinite ensemble, ``v`` the variance removed by ensembling.

    Parameters
    ----------
    ks : sequence of int, at least two distinct positive values
    errors : array_like, shape (len(ks),) or (len(ks), m)
        Measured ensemble errors; with ``m`` columns, ``m`` independent fits.

    Returns
    -------
    (E_inf, v) : floats, or arrays of shape (m,)
    """
    ks = np.asarray(checks.integers("ks", ks, minimum=1, min_length=2, distinct=True), dtype=float)
    errors = checks.array("errors", errors, ndim=(1, 2))
    if errors.shape[0] != len(ks):
        raise ValueError(f"errors must have len(ks) = {len(ks)} rows; got shape {errors.shape}.")
    design = np.stack([np.ones_like(ks), 1.0 / ks], axis=1)
    coef = np.linalg.lstsq(design, errors, rcond=None)[0]
    return (float(coef[0]), float(coef[1])) if errors.ndim == 1 else (coef[0], coef[1])

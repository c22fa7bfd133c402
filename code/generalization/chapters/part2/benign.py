"""Benign overfitting in linear regression: effective ranks and the risk of the interpolant.

Data model (Bartlett, Long, Lugosi, Tsigler 2020), with a diagonal covariance::

    x = z * sqrt(lam),  z ~ N(0, I_p),  Sigma = diag(lam),  lam_1 >= lam_2 >= ... > 0
    y = x^T theta* + eps,  eps ~ N(0, sigma^2)
    X : (n, p) design, rows x_i;  K = X X^T (n x n Gram matrix);  X^+ its pseudo-inverse

The minimum-norm interpolant is ``theta_hat = X^+ y``
(:func:`generalization.linear.min_norm_solution`). Its excess risk is
``R = E_x (x^T theta_hat - x^T theta*)^2 = (theta_hat - theta*)^T Sigma (theta_hat - theta*)``.
With ``P = X^+ X`` (projection on the row space of X)::

    theta_hat - theta* = -(I - P) theta* + X^+ eps
    E_eps R = theta*^T (I - P) Sigma (I - P) theta*  +  sigma^2 tr(X^+^T Sigma X^+)
            =            bias                       +        variance

(the cross term has mean zero). When K is invertible (p >= n), ``X^+ = X^T K^{-1}``, so with
``M = X Sigma X^T``, ``a = X theta*``, ``c = X Sigma theta*`` and ``v = K^{-1} a``::

    variance = sigma^2 tr(K^{-1} M K^{-1})
    bias     = theta*^T Sigma theta* - 2 c^T v + v^T M v

Only n x n matrices and n-vectors appear: :func:`gram_statistics` accumulates them over
column blocks of X, so p can be far larger than n without ever storing X or Sigma.

Effective ranks (the paper's definition), for k = 0, 1, ...::

    r_k = (sum_{i>k} lam_i) / lam_{k+1},     R_k = (sum_{i>k} lam_i)^2 / sum_{i>k} lam_i^2
    k*  = min{k >= 0 : r_k >= b n}

The paper's main theorem: the variance is, up to constants, ``sigma^2 (k*/n + n / R_{k*})``; the
bias is at most of order ``||theta*||^2 ||Sigma|| max(sqrt(r_0/n), r_0/n)``. A sequence of
covariances is *benign* when ``r_0 / n -> 0``, ``k* / n -> 0`` and ``n / R_{k*} -> 0``.

References
----------
Bartlett, Long, Lugosi, Tsigler (2020), *Benign overfitting in linear regression*, PNAS
117(48), https://arxiv.org/abs/1906.11300.
Hastie, Montanari, Rosset, Tibshirani (2022), *Surprises in high-dimensional ridgeless least
squares interpolation*, Annals of Statistics 50(2).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, settings_for
from generalization.book.cache import cached
from generalization.linear import min_norm_solution

BLOCK = 2048
"""Columns of X generated at a time: memory is O(n^2 + n * BLOCK) whatever p is."""

SETTINGS = {
    "quick": dict(ns=(50, 100, 200, 400, 800), seeds=tuple(range(5))),
    "full": dict(ns=(50, 100, 200, 400, 800, 1600), seeds=tuple(range(20))),
}
"""Sample sizes and seeds of the chapter's experiment at each scale."""


def settings(scale=None):
    """The experiment settings of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


# --- effective ranks ---------------------------------------------------------------------


def check_spectrum(eigenvalues):
    """``eigenvalues`` as a float array; ValueError unless 1-D, finite, positive, non-increasing."""
    lam = checks.array("eigenvalues", eigenvalues, ndim=1, positive=True)
    rises = np.flatnonzero(np.diff(lam) > 0)
    if rises.size:
        i = int(rises[0])
        raise ValueError(
            f"eigenvalues must be sorted non-increasing; got {float(lam[i])!r} at index {i} "
            f"followed by {float(lam[i + 1])!r}."
        )
    return lam


def all_effective_ranks(eigenvalues):
    """``(r, R)``: arrays of shape (p,) with ``r[k] = r_k`` and ``R[k] = R_k`` for k = 0..p-1.

    With 0-based arrays ``lam_{k+1} = lam[k]`` and ``sum_{i>k} lam_i = lam[k:].sum()``.
    """
    lam = check_spectrum(eigenvalues)
    tail = np.cumsum(lam[::-1])[::-1]  # tail[k] = sum_{i>k} lam_i
    tail_sq = np.cumsum((lam * lam)[::-1])[::-1]  # tail_sq[k] = sum_{i>k} lam_i^2
    return tail / lam, tail * tail / tail_sq


def effective_ranks(eigenvalues, k):
    """The effective ranks ``(r_k, R_k)`` of a covariance with the given spectrum.

    Parameters
    ----------
    eigenvalues : array_like, shape (p,)
        Eigenvalues of Sigma, positive and sorted non-increasing.
    k : int
        0 <= k < p.

    Returns
    -------
    r_k, R_k : float
        ``sum_{i>k} lam_i / lam_{k+1}`` and ``(sum_{i>k} lam_i)^2 / sum_{i>k} lam_i^2``.
        Both lie in [1, p - k]; both equal p - k for an isotropic spectrum.

    References
    ----------
    Bartlett, Long, Lugosi, Tsigler (2020), the definition of effective ranks.
    """
    lam = check_spectrum(eigenvalues)
    k = checks.count("k", k, minimum=0, maximum=lam.size - 1)
    tail = lam[k:]
    return float(tail.sum() / tail[0]), float(tail.sum() ** 2 / np.sum(tail * tail))


def k_star(eigenvalues, n, b=1.0):
    """``k* = min{k >= 0 : r_k >= b n}``, or None when no k < p qualifies (the paper's k* = inf)."""
    n = checks.count("n", n)
    b = checks.positive("b", b)
    r, _ = all_effective_ranks(eigenvalues)
    hits = np.flatnonzero(r >= b * n)
    return int(hits[0]) if hits.size else None


@dataclass(frozen=True)
class Conditions:
    """The three quantities whose vanishing makes a sequence of covariances benign."""

    n: int
    b: float
    r0: float
    k_star: int | None
    R_kstar: float
    r0_over_n: float
    k_star_over_n: float
    n_over_R: float

    @property
    def variance_rate(self):
        """``k*/n + n/R_{k*}``: the interpolant's variance in units of sigma^2, up to constants."""
        return self.k_star_over_n + self.n_over_R


def benign_conditions(eigenvalues, n, b=1.0):
    """``r_0/n``, ``k*/n`` and ``n/R_{k*}`` for ``n`` samples (inf / NaN when k* does not exist)."""
    kk = k_star(eigenvalues, n, b)
    r, R = all_effective_ranks(eigenvalues)
    R_k = float(R[kk]) if kk is not None else math.nan
    return Conditions(
        n=int(n),
        b=float(b),
        r0=float(r[0]),
        k_star=kk,
        R_kstar=R_k,
        r0_over_n=float(r[0]) / n,
        k_star_over_n=kk / n if kk is not None else math.inf,
        n_over_R=n / R_k,
    )


# --- spectra -------------------------------------------------------------------------------


def isotropic(p):
    """Spectrum of ``Sigma = I_p``: p ones."""
    return np.ones(checks.count("p", p))


def power_law(p, a=1.0, beta=0.0):
    """``lam_i = i^{-a} log^{-beta}(i + 1)`` for i = 1..p (``beta = 0``: a pure power law).

    For p = infinity the paper shows this spectrum is benign if and only if a = 1 and beta > 1.
    """
    i = np.arange(1, checks.count("p", p) + 1, dtype=float)
    a, beta = (
        checks.nonnegative("a", a),
        checks.nonnegative("beta", beta),
    )  # a non-increasing spectrum
    return i**-a * np.log(i + 1) ** -beta


def spiked(num_spikes, tail_dim, spike=1.0, tail=0.01):
    """``num_spikes`` eigenvalues ``spike`` followed by ``tail_dim`` eigenvalues ``tail``."""
    spike = checks.positive("spike", spike)
    tail = checks.number("tail", tail, low=0, high=spike, low_open=True)
    return np.concatenate(
        [
            np.full(checks.count("num_spikes", num_spikes), float(spike)),
            np.full(checks.count("tail_dim", tail_dim), float(tail)),
        ]
    )


NUM_SPIKES = 5
"""Directions that carry the signal (theta* lives on them) in every spectrum of the chapter."""


def spectrum_for_n(name, n):
    """The chapter's spectra as sequences in n.

    * ``"spiked"`` (benign): 5 eigenvalues 1 and a flat tail of dimension ``m = ceil(n^{3/2})``
      with eigenvalue ``sqrt(n) / m`` (tail mass ``sqrt(n) = o(n)``, tail dimension ``>> n``).
    * ``"isotropic"`` (not benign): ``Sigma = I_p`` with ``p = 2 n``.
    * ``"power"`` (not benign, decays too fast): ``lam_i = i^{-2}``, ``p = ceil(n^{3/2})``.
    """
    checks.choice("spectrum", name, ("spiked", "isotropic", "power"))
    n = checks.count("n", n)
    if name == "spiked":
        m = math.ceil(n**1.5)
        return spiked(NUM_SPIKES, m, 1.0, math.sqrt(n) / m)
    if name == "isotropic":
        return isotropic(2 * n)
    return power_law(math.ceil(n**1.5), a=2.0)


def theta_star(p, signal=1.0, num_spikes=NUM_SPIKES):
    """The true parameter: ``signal / sqrt(s)`` on the first ``s`` coordinates, zero elsewhere."""
    theta = np.zeros(checks.count("p", p))
    s = min(num_spikes, p)
    theta[:s] = signal / math.sqrt(s)
    return theta


# --- sampling and the exact risk -------------------------------------------------------------


def _blocks(eigenvalues, n, rng, block):
    """Yield ``(slice, X_block)``: columns of ``X = Z * sqrt(lam)``, ``block`` at a time."""
    for start in range(0, eigenvalues.size, block):
        cols = slice(start, min(start + block, eigenvalues.size))
        yield cols, rng.standard_normal((n, cols.stop - start)) * np.sqrt(eigenvalues[cols])


def sample_design(eigenvalues, n, rng, block=BLOCK):
    """Gaussian design with covariance ``diag(eigenvalues)``: ``X = Z * sqrt(lam)``, shape (n, p).

    Columns are drawn ``block`` at a time, in the same order as :func:`gram_statistics`, so
    both see the same X from the same ``rng`` state.
    """
    lam = check_spectrum(eigenvalues)
    return np.hstack([Xb for _, Xb in _blocks(lam, checks.count("n", n), rng, block)])


@dataclass(frozen=True)
class GramStatistics:
    """``K = X X^T``, ``M = X Sigma X^T`` (n, n); ``a = X theta*``, ``c = X Sigma theta*`` (n,);
    ``signal_power = theta*^T Sigma theta*``: all that the exact risk needs."""

    K: np.ndarray
    M: np.ndarray
    a: np.ndarray
    c: np.ndarray
    signal_power: float


def gram_statistics(eigenvalues, theta, n=None, rng=None, X=None, block=BLOCK):
    """Accumulate :class:`GramStatistics` from ``X`` or, without storing it, from fresh draws.

    Give either ``X`` (n, p) or ``n`` and ``rng`` (X is then drawn block by block exactly as
    :func:`sample_design` would, and never held in memory whole).
    """
    lam = check_spectrum(eigenvalues)
    theta = np.asarray(theta, dtype=float)
    if theta.shape != lam.shape:
        raise ValueError(f"theta must have shape (p,) = {lam.shape}; got {theta.shape}.")
    if X is None:
        if rng is None:
            raise ValueError("give either X or both n and rng; got neither X nor rng.")
        n = checks.count("n", n)
        blocks = _blocks(lam, n, rng, block)
    else:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != lam.size:
            raise ValueError(f"X must have shape (n, p) with p = {lam.size}; got {X.shape}.")
        n = X.shape[0]
        blocks = ((slice(s, s + block), X[:, s : s + block]) for s in range(0, lam.size, block))
    K, M, a, c = np.zeros((n, n)), np.zeros((n, n)), np.zeros(n), np.zeros(n)
    for cols, Xb in blocks:
        lb, tb = lam[cols], theta[cols]
        Kb = Xb @ Xb.T
        K += Kb
        if lb[0] == lb[-1]:  # sorted, so a flat block: X_b Sigma_b X_b^T = lam K_b
            M += lb[0] * Kb
        else:
            M += (Xb * lb) @ Xb.T
        if np.any(tb):
            a += Xb @ tb
            c += Xb @ (lb * tb)
    return GramStatistics(K=K, M=M, a=a, c=c, signal_power=float(np.sum(lam * theta * theta)))


def bias_variance_from_gram(stats, noise_var=1.0):
    """``(bias, variance)`` of the min-norm interpolant from :class:`GramStatistics`.

    Uses ``K = Q diag(e) Q^T``: ``variance = sigma^2 sum_j (Q^T M Q)_jj / e_j^2`` and
    ``bias = theta*^T Sigma theta* - 2 c^T v + v^T M v`` with ``v = K^{-1} a``.

    Raises
    ------
    ValueError
        If K is singular (the design cannot interpolate, e.g. p < n): use the direct path.
    """
    e, Q = np.linalg.eigh(stats.K)
    n = e.size
    if e[0] <= n * np.finfo(float).eps * e[-1]:
        raise ValueError(
            f"K = X X^T must be invertible (rank n = {n}) for the Gram path; got smallest "
            f"eigenvalue {e[0]:.3g} against largest {e[-1]:.3g}. Use method='direct'."
        )
    v = Q @ ((Q.T @ stats.a) / e)
    variance = noise_var * float(np.sum(np.sum(Q * (stats.M @ Q), axis=0) / e**2))  # diag(Q^T M Q)
    bias = stats.signal_power - 2 * float(stats.c @ v) + float(v @ stats.M @ v)
    return max(bias, 0.0), variance  # bias >= 0 exactly; rounding can leave -1e-16


def bias_variance(X, eigenvalues, theta, noise_var=1.0, method="auto"):
    """Exact bias and variance of the min-norm interpolant for the design ``X``.

    Parameters
    ----------
    X : array_like, shape (n, p)
    eigenvalues : array_like, shape (p,)
        Diagonal of Sigma.
    theta : array_like, shape (p,)
        The true parameter theta*.
    noise_var : float, default 1
        sigma^2.
    method : {"auto", "gram", "direct"}
        ``"direct"``: ``X^+ = min_norm_solution(X, I_n)`` (p x n) and
        ``bias = sum_i lam_i ((I - X^+ X) theta*)_i^2``,
        ``variance = sigma^2 sum_ij lam_i (X^+)_ij^2``;
        valid for every shape. ``"gram"``: :func:`bias_variance_from_gram`, n x n only, needs
        rank n. ``"auto"``: gram when ``p > n``.

    Returns
    -------
    bias, variance : float
        ``E_eps R = bias + variance`` (expectation over the training noise, X fixed).
    """
    lam = check_spectrum(eigenvalues)
    X, theta = np.asarray(X, dtype=float), np.asarray(theta, dtype=float)
    if X.ndim != 2 or X.shape[1] != lam.size or theta.shape != lam.shape:
        raise ValueError(
            f"X must be (n, p) and theta (p,) with p = {lam.size}; got {X.shape} and {theta.shape}."
        )
    checks.choice("method", method, ("auto", "gram", "direct"))
    n, p = X.shape
    if method == "gram" or (method == "auto" and p > n):
        return bias_variance_from_gram(gram_statistics(lam, theta, X=X), noise_var)
    pinv = min_norm_solution(X, np.eye(n))  # X^+, shape (p, n)
    residual = theta - pinv @ (X @ theta)  # (I - P) theta*
    return float(np.sum(lam * residual**2)), noise_var * float(np.sum(lam[:, None] * pinv**2))


def simulated_risk(X, eigenvalues, theta, noise_var, rng, num_noise=1000, num_test=0):
    """Monte Carlo excess risk: fit the min-norm interpolant to ``num_noise`` noisy label vectors.

    Each draw ``y = X theta* + eps`` is fitted with
    :func:`~generalization.linear.min_norm_solution`, and its excess risk is computed exactly
    given the fit, ``(theta_hat - theta*)^T Sigma (theta_hat - theta*)``, and, if
    ``num_test > 0``, also on fresh test points as ``mean_j (x_j^T (theta_hat - theta*))^2``.

    Returns
    -------
    dict
        ``risk`` and ``risk_se`` (mean and standard error over the noise draws),
        ``test_risk`` and ``test_risk_se`` (NaN without test points), ``train_residual``
        (the largest ``|x_i^T theta_hat - y_i|``: zero up to rounding when p > n).
    """
    lam = check_spectrum(eigenvalues)
    X = np.asarray(X, dtype=float)
    n = X.shape[0]
    Y = (X @ theta)[:, None] + math.sqrt(noise_var) * rng.standard_normal(
        (n, checks.count("num_noise", num_noise))
    )
    W = min_norm_solution(X, Y)  # (p, num_noise): one fit per column
    D = W - theta[:, None]
    risks = np.sum(lam[:, None] * D * D, axis=0)
    out = dict(
        risk=float(risks.mean()),
        risk_se=float(risks.std(ddof=1) / math.sqrt(risks.size)),
        test_risk=math.nan,
        test_risk_se=math.nan,
        train_residual=float(np.max(np.abs(X @ W - Y))),
    )
    if num_test:
        test = np.mean((sample_design(lam, num_test, rng) @ D) ** 2, axis=0)
        out.update(
            test_risk=float(test.mean()),
            test_risk_se=float(test.std(ddof=1) / math.sqrt(test.size)),
        )
    return out


# --- the chapter's experiments ---------------------------------------------------------------


@dataclass(frozen=True)
class RiskVsN:
    """Exact bias and variance of the min-norm interpolant against n, for one spectrum sequence.

    ``bias``, ``variance``, ``risk``: shape ``(len(ns), len(seeds))``, one X per seed, exact in
    the label noise. Per n: ``p``, ``r0``, ``k_star``, ``R_kstar``,
    ``variance_rate = k*/n + n/R_{k*}`` (b = 1).
    """

    spectrum: str
    ns: np.ndarray
    seeds: tuple
    noise_var: float
    signal: float
    p: np.ndarray
    bias: np.ndarray
    variance: np.ndarray
    r0: np.ndarray
    k_star: np.ndarray
    R_kstar: np.ndarray
    variance_rate: np.ndarray
    run_time_s: float

    risk = property(lambda self: self.bias + self.variance)

    def mean(self, name):
        """Mean over seeds of ``bias``, ``variance`` or ``risk``, shape (len(ns),)."""
        return getattr(self, name).mean(axis=1)

    def std(self, name):
        """Standard deviation over seeds (ddof=1; 0 with one seed)."""
        values = getattr(self, name)
        return values.std(axis=1, ddof=1) if values.shape[1] > 1 else np.zeros(values.shape[0])


@cached
def risk_vs_n(spectrum, ns, seeds, noise_var=1.0, signal=1.0):
    """Excess risk of the min-norm interpolant for :func:`spectrum_for_n` ``(spectrum, n)``.

    For each n and seed, draws X with ``np.random.default_rng([seed, n])`` through
    :func:`gram_statistics` (memory O(n^2) however large p is) and computes bias and variance
    exactly, with ``theta* = theta_star(p, signal)`` and ``sigma^2 = noise_var``. BLAS runs on
    one thread: on a shared 2-core machine that is many times faster than two contended ones.
    """
    from threadpoolctl import threadpool_limits

    start = time.perf_counter()
    ns, seeds = np.array(checks.integers("ns", ns, minimum=1)), checks.integers("seeds", seeds)
    shape = (ns.size, len(seeds))
    bias, variance = np.zeros(shape), np.zeros(shape)
    p, r0, ks, Rk = (np.zeros(ns.size) for _ in range(4))
    for i, n in enumerate(ns):
        lam = spectrum_for_n(spectrum, int(n))
        theta = theta_star(lam.size, signal)
        cond = benign_conditions(lam, int(n))
        p[i], r0[i], ks[i], Rk[i] = lam.size, cond.r0, cond.k_star, cond.R_kstar
        for j, seed in enumerate(seeds):
            with threadpool_limits(1):
                stats = gram_statistics(lam, theta, int(n), np.random.default_rng([seed, int(n)]))
                bias[i, j], variance[i, j] = bias_variance_from_gram(stats, noise_var)
    return RiskVsN(
        spectrum=spectrum,
        ns=ns,
        seeds=seeds,
        noise_var=float(noise_var),
        signal=float(signal),
        p=p.astype(int),
        bias=bias,
        variance=variance,
        r0=r0,
        k_star=ks.astype(int),
        R_kstar=Rk,
        variance_rate=ks / ns + ns / Rk,
        run_time_s=time.perf_counter() - start,
    )


@cached
def monte_carlo_check(spectrum, n, seed, num_noise=2000, num_test=2000, noise_var=1.0, signal=1.0):
    """The exact bias + variance of one design against :func:`simulated_risk` on the same design.

    Returns a dict: ``n``, ``p``, ``num_noise``, ``num_test``, ``bias``, ``variance``,
    ``bias_direct``, ``variance_direct`` (the pseudo-inverse path), the :func:`simulated_risk`
    entries, and ``run_time_s``.
    """
    from threadpoolctl import threadpool_limits

    start = time.perf_counter()
    lam = spectrum_for_n(spectrum, n)
    theta = theta_star(lam.size, signal)
    rng = np.random.default_rng([seed, n])
    X = sample_design(lam, n, rng)
    with threadpool_limits(1):  # as in risk_vs_n
        bias, variance = bias_variance(X, lam, theta, noise_var, method="gram")
        bias_d, variance_d = bias_variance(X, lam, theta, noise_var, method="direct")
        out = dict(n=n, p=lam.size, num_noise=num_noise, num_test=num_test, bias=bias)
        out.update(variance=variance, bias_direct=bias_d, variance_direct=variance_d)
        out.update(simulated_risk(X, lam, theta, noise_var, rng, num_noise, num_test))
    out["run_time_s"] = time.perf_counter() - start
    return out


def conditions_vs_n(spectrum, ns, b=1.0):
    """Arrays ``r0_over_n``, ``k_star_over_n``, ``n_over_R`` (and ``r0``, ``k_star``) against n."""
    rows = [benign_conditions(spectrum_for_n(spectrum, int(n)), int(n), b) for n in ns]
    names = ("r0", "k_star", "R_kstar", "r0_over_n", "k_star_over_n", "n_over_R", "variance_rate")
    out = {name: np.array([getattr(c, name) for c in rows], dtype=float) for name in names}
    out["ns"] = np.asarray(ns)
    return out

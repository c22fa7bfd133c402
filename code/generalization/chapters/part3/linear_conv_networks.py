"""Experiments of the chapter *Implicit bias of gradient descent on linear convolutional networks*.

Gunasekar, Lee, Soudry and Srebro (2018) train linear networks, which all compute a linear
predictor ``f(x) = <beta, x>``, with gradient descent on the exponential loss of separable
data. Fully connected networks of any depth go in direction to the max-l2-margin predictor;
full-width circular convolutional networks of depth J go towards a stationary point of
``min ||F beta||_{2/J}`` subject to margins of at least 1, with ``F`` the unitary DFT. For
J = 2 that penalty is the l1 norm of the Fourier coefficients, a convex problem, so the
stationary point is its minimum.

This chapter runs, on small Gaussian data labelled by a teacher that uses one frequency:

* :func:`experiment`: gradient descent
  (:func:`generalization.linear_conv.train_linear_conv`) on convolutional networks of depths
  1 to 4 and fully connected ones of depths 2 and 3, over several seeds, measuring the
  spectrum ``|F beta|`` of the learned predictor, how many Fourier coefficients carry 90% of
  its l1 mass, its cosine to the max-l2-margin direction
  (:func:`generalization.geometry.max_margin`), its normalized Fourier-l1 margin against the
  optimum, and its test accuracy;
* :func:`fourier_l1_max_margin`: that optimum, ``min ||F beta||_1 s.t. y_i <beta, x_i> >= 1``,
  a second-order cone problem (the moduli of complex coefficients), solved by the variational
  form ``|v| = min_{s > 0} (|v|^2 / s + s) / 2`` of the modulus: alternately a weighted
  max-l2-margin problem (exact, by non-negative least squares) and a closed-form update of the
  weights; its dual, ``max 1^T lam s.t. lam >= 0, |F Z^T lam| <= 1`` (entrywise), is solved
  separately by SLSQP and certifies the primal value to a stated relative gap.

The paper proves its results for gradient flow in the limit of infinite time; we stop after
a finite number of steps, so the chapter reports how far the directions still are from their
limits. The paper shows no experiment of this kind; the data, sizes and step sizes are ours.

References
----------
Gunasekar, Lee, Soudry, Srebro (2018), *Implicit bias of gradient descent on linear
convolutional networks*, NeurIPS, https://arxiv.org/abs/1806.00468.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from generalization import checks, geometry, linear_conv, settings_for
from generalization.book.cache import cached

ARCHITECTURES = (("conv", 1), ("conv", 2), ("conv", 3), ("conv", 4), ("fc", 2), ("fc", 3))
"""The networks compared: (architecture, depth J)."""

LEARNING_RATES = {
    ("conv", 1): 0.5,
    ("conv", 2): 1.0,
    ("conv", 3): 0.25,
    ("conv", 4): 0.025,
    ("fc", 2): 0.5,
    ("fc", 3): 0.5,
}
"""The step size of each network: about half the largest that was stable on five seeds."""

SETTINGS = {
    "quick": dict(
        seeds=(0, 1, 2),
        n_samples=12,
        n_features=32,
        frequency=3,
        num_steps=10_000,
        init_scale=0.1,
        n_test=2_000,
    ),
    "full": dict(
        seeds=tuple(range(10)),
        n_samples=12,
        n_features=32,
        frequency=3,
        num_steps=200_000,
        init_scale=0.1,
        n_test=20_000,
    ),
}
"""Sizes of the chapter's experiment at each scale (the claims tests use the same).

Quick runs in about half a minute on 2 CPU cores; full trains twenty times longer, on more
seeds, to show how far the directions move with more steps."""

MASS = 0.9
"""The fraction of the l1 mass of ``|F beta|`` whose coefficients :func:`mass_count` counts."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def label(architecture, depth):
    """A short name of a network: ``"conv-2"``, ``"fc-3"``."""
    return f"{architecture}-{depth}"


def teacher_data(seed, n_samples, n_features, frequency, n_test):
    """Gaussian inputs labelled by a teacher that is one cosine of frequency ``frequency``.

    The teacher is ``t[j] = cos(2 pi frequency j / D + phase)`` with a random phase, so ``|F t|``
    is zero except at ``frequency`` and ``D - frequency``; the labels are ``sign(<t, x>)``.

    Returns
    -------
    X : ndarray, shape (n_samples, n_features)
    y : ndarray, shape (n_samples,)
    X_test : ndarray, shape (n_test, n_features)
    y_test : ndarray, shape (n_test,)
    teacher : ndarray, shape (n_features,)
    """
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    n_samples = checks.count("n_samples", n_samples)
    D = checks.count("n_features", n_features, minimum=2)
    frequency = checks.count("frequency", frequency, maximum=D // 2)
    n_test = checks.count("n_test", n_test)
    phase = rng.uniform(0, 2 * np.pi)
    teacher = np.cos(2 * np.pi * frequency * np.arange(D) / D + phase)
    X = rng.standard_normal((n_samples, D))
    X_test = rng.standard_normal((n_test, D))
    y, y_test = np.sign(X @ teacher), np.sign(X_test @ teacher)
    y[y == 0], y_test[y_test == 0] = 1.0, 1.0  # on the teacher's hyperplane (probability zero)
    return X, y, X_test, y_test, teacher


def fourier_l1(beta):
    """``||F beta||_1``: the sum of the moduli of the unitary DFT of ``beta``."""
    return float(np.sum(linear_conv.fourier_magnitudes(beta)))


def fourier_margin(beta, X, y):
    """``min_i y_i <beta, x_i> / ||F beta||_1``: the normalized Fourier-l1 margin of ``beta``."""
    return float(np.min(y * (X @ beta)) / fourier_l1(beta))


def mass_count(beta, mass=MASS):
    """How many coefficients of ``|F beta|``, largest first, carry ``mass`` of its sum."""
    mass = checks.number("mass", mass, low=0, high=1, low_open=True)
    moduli = np.sort(linear_conv.fourier_magnitudes(beta))[::-1]
    shares = np.cumsum(moduli) / moduli.sum()
    return int(np.searchsorted(shares, mass - 1e-12) + 1)


def cosine(u, v):
    """``<u, v> / (||u|| ||v||)``."""
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


def _unitary_dft(D):
    return np.fft.fft(np.eye(D), axis=0) / np.sqrt(D)  # F x = fft(x) / sqrt(D)


def fourier_l1_dual(X, y):
    """The dual of the Fourier-l1 max-margin problem, by SLSQP.

    ``max_{lam >= 0} sum(lam)`` subject to ``|(F Z^T lam)_k| <= 1`` for every ``k``, with
    ``Z = diag(y) X``: the dual of ``min ||F beta||_1 s.t. Z beta >= 1`` (the dual norm of
    the sum of moduli is their maximum). The returned point is scaled to be exactly
    feasible, so its value is a lower bound on the primal optimum (weak duality).

    Returns
    -------
    value : float
        ``sum(lam)`` of the feasible point.
    lam : ndarray, shape (n,)
    """
    X = checks.array("X", X, ndim=2)
    y = checks.array("y", y, ndim=1)
    n = y.size
    G = _unitary_dft(X.shape[1]) @ (y[:, None] * X).T  # (D, n): G lam = F Z^T lam

    def slack(lam):  # 1 - |G lam|^2 >= 0, smooth where the constraint is active
        return 1.0 - np.abs(G @ lam) ** 2

    def slack_jac(lam):
        return -2.0 * (G.conj() * (G @ lam)[:, None]).real

    res = optimize.minimize(
        lambda lam: -lam.sum(),
        np.full(n, 1e-3),
        jac=lambda lam: -np.ones(n),
        bounds=[(0.0, None)] * n,
        constraints=[{"type": "ineq", "fun": slack, "jac": slack_jac}],
        method="SLSQP",
        options=dict(ftol=1e-13, maxiter=2000),
    )
    lam = np.maximum(res.x, 0.0)
    lam = lam / max(1.0, float(np.max(np.abs(G @ lam))))
    return float(lam.sum()), lam


@dataclass(frozen=True)
class FourierMaxMargin:
    """What :func:`fourier_l1_max_margin` returns.

    ``beta``: a feasible point (``min_i y_i <beta, x_i> = 1``); ``primal``: its
    ``||F beta||_1``, an upper bound on the optimum; ``dual``: a lower bound from the dual;
    ``gap``: ``(primal - dual) / primal``; ``margin``: ``1 / primal``, the normalized
    Fourier-l1 margin of ``beta`` (the optimum's is in ``[1 / primal, 1 / dual]``).
    """

    beta: np.ndarray
    primal: float
    dual: float
    gap: float
    margin: float
    iterations: int


def fourier_l1_max_margin(X, y, tol=1e-8, max_iter=2000):
    """The Fourier-l1 max-margin predictor ``argmin ||F beta||_1 s.t. y_i <beta, x_i> >= 1``.

    With weights ``s_k > 0`` the modulus has the variational form
    ``|v_k| = min_s (|v_k|^2 / s + s) / 2`` (at ``s = |v_k|``), so the problem is the joint
    minimum over ``beta`` and ``s`` of ``sum_k (|(F beta)_k|^2 / s_k + s_k) / 2``. We alternate:
    for fixed ``s`` the minimum over ``beta`` is a max-l2-margin problem in the coordinates
    ``u = A^{-1} beta`` with ``A = F^* diag(sqrt(s)) F`` (real and symmetric, as ``s`` is
    symmetric in ``k -> D - k``), solved exactly by :func:`generalization.geometry.max_margin`
    on the data ``X A``; for fixed ``beta`` the minimum over ``s`` is ``s = |F beta|``. Each
    step lowers the objective. We stop when the relative gap to the dual bound of
    :func:`fourier_l1_dual` is below ``tol``.

    Parameters
    ----------
    X : array_like, shape (n, D)
    y : array_like, shape (n,)
        Labels -1 and +1; the data must be separable through the origin.
    tol : float, default 1e-8
        Relative duality gap at which to stop.
    max_iter : int, default 2000

    Returns
    -------
    FourierMaxMargin
    """
    X = checks.array("X", X, ndim=2)
    y = checks.array("y", y, ndim=1)
    tol = checks.positive("tol", tol)
    max_iter = checks.count("max_iter", max_iter)
    F = _unitary_dft(X.shape[1])
    dual, _ = fourier_l1_dual(X, y)
    s = np.ones(X.shape[1])  # the first step is the max-l2-margin predictor
    for iteration in range(1, max_iter + 1):
        A = (F.conj().T @ (np.sqrt(s)[:, None] * F)).real  # A = F^* diag(sqrt(s)) F
        beta = A @ geometry.max_margin(X @ A, y)
        beta = beta / np.min(y * (X @ beta))  # exactly feasible, margin 1
        s = linear_conv.fourier_magnitudes(beta)
        primal = float(np.sum(s))
        if (primal - dual) / primal < tol:
            break
    return FourierMaxMargin(
        beta=beta,
        primal=primal,
        dual=dual,
        gap=(primal - dual) / primal,
        margin=1.0 / primal,
        iterations=iteration,
    )


def log_checkpoints(num_steps, record_every, per_decade=12):
    """Indices of the recorded steps ``0, record_every, ...``, evenly spaced on a log axis."""
    count = num_steps // record_every
    wanted = np.geomspace(1, count, int(per_decade * np.log10(max(count, 10))) + 1)
    return np.unique(np.round(wanted).astype(int))


@dataclass(frozen=True)
class Result:
    """What :func:`experiment` returns; every per-network array has one row per seed.

    ``spectra[name]``: ``|F beta| / max |F beta|`` of the last iterate, shape (seeds, D);
    ``counts[name]``: :func:`mass_count`; ``cos_l2[name]``: cosine to the max-l2-margin
    predictor; ``ratio[name]``: Fourier-l1 margin over the optimum's (``margin`` of
    :class:`FourierMaxMargin`); ``accuracy[name]``: test accuracy; ``steps``: the recorded
    steps of the trajectories ``traj_cos[name]`` and ``traj_ratio[name]``, shape
    (seeds, len(steps)); ``reference[key]`` the same measures for the max-l2-margin
    (``"l2"``) and the Fourier-l1 max-margin (``"fourier_l1"``) predictors; ``teacher``:
    ``|F t| / max |F t|`` per seed; ``gaps``: the solver's relative duality gap per seed.
    """

    seeds: tuple
    names: tuple
    num_steps: int
    lrs: dict
    spectra: dict
    counts: dict
    cos_l2: dict
    ratio: dict
    accuracy: dict
    final_loss: dict
    steps: np.ndarray
    traj_cos: dict
    traj_ratio: dict
    reference: dict
    teacher: np.ndarray
    gaps: np.ndarray
    run_time_s: float


def _measures(beta, X, y, X_test, y_test, l2_dir, best_margin):
    moduli = linear_conv.fourier_magnitudes(beta)
    return dict(
        spectrum=moduli / np.max(moduli),
        count=mass_count(beta),
        cos_l2=cosine(beta, l2_dir),
        ratio=fourier_margin(beta, X, y) / best_margin,
        accuracy=float(np.mean(np.sign(X_test @ beta) == y_test)),
    )


@cached
def experiment(seeds, n_samples, n_features, frequency, num_steps, init_scale, n_test):
    """Gradient descent on every network of :data:`ARCHITECTURES`, once per seed. Cached.

    Each seed draws its own data (:func:`teacher_data`) and initialization; the exponential
    loss is minimized with the step sizes of :data:`LEARNING_RATES`.

    Returns
    -------
    Result
    """
    seeds = checks.integers("seeds", seeds)
    num_steps = checks.count("num_steps", num_steps, minimum=10)
    start = time.perf_counter()
    record_every = max(1, num_steps // 2000)
    keep = log_checkpoints(num_steps, record_every)
    names = tuple(label(*a) for a in ARCHITECTURES)
    rows = {name: [] for name in names}
    refs = {"l2": [], "fourier_l1": []}
    traj_cos = {name: [] for name in names}
    traj_ratio = {name: [] for name in names}
    final_loss = {name: [] for name in names}
    teachers, gaps = [], []
    for seed in seeds:
        X, y, X_test, y_test, teacher = teacher_data(seed, n_samples, n_features, frequency, n_test)
        l2_dir = geometry.max_margin(X, y)
        best = fourier_l1_max_margin(X, y)
        gaps.append(best.gap)
        moduli = linear_conv.fourier_magnitudes(teacher)
        teachers.append(moduli / np.max(moduli))
        for key, beta in (("l2", l2_dir), ("fourier_l1", best.beta)):
            refs[key].append(_measures(beta, X, y, X_test, y_test, l2_dir, best.margin))
        for (architecture, depth), name in zip(ARCHITECTURES, names):
            run = linear_conv.train_linear_conv(
                X,
                y,
                depth,
                LEARNING_RATES[(architecture, depth)],
                num_steps,
                init_scale=init_scale,
                seed=seed,
                architecture=architecture,
                loss="exp",
                record_every=record_every,
            )
            rows[name].append(_measures(run.betas[-1], X, y, X_test, y_test, l2_dir, best.margin))
            betas = run.betas[keep]
            traj_cos[name].append([cosine(b, l2_dir) for b in betas])
            traj_ratio[name].append([fourier_margin(b, X, y) / best.margin for b in betas])
            final_loss[name].append(run.losses[-1])
        steps = run.steps[keep]

    def stack(table, field):
        return {k: np.array([r[field] for r in v]) for k, v in table.items()}

    return Result(
        seeds=seeds,
        names=names,
        num_steps=num_steps,
        lrs={label(*a): LEARNING_RATES[a] for a in ARCHITECTURES},
        spectra=stack(rows, "spectrum"),
        counts=stack(rows, "count"),
        cos_l2=stack(rows, "cos_l2"),
        ratio=stack(rows, "ratio"),
        accuracy=stack(rows, "accuracy"),
        final_loss={k: np.array(v) for k, v in final_loss.items()},
        steps=steps,
        traj_cos={k: np.array(v) for k, v in traj_cos.items()},
        traj_ratio={k: np.array(v) for k, v in traj_ratio.items()},
        reference={k: {f: np.array([r[f] for r in v]) for f in v[0]} for k, v in refs.items()},
        teacher=np.array(teachers),
        gaps=np.array(gaps),
        run_time_s=time.perf_counter() - start,
    )

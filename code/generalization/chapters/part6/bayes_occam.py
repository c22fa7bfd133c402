"""Experiments of the chapter *Bayes, Occam and effective dimensionality*.

MacKay (1992) compares models by their evidence ``p(D | M)``, which Laplace's method splits
into the best fit and an Occam factor that charges for every direction of parameter space
the data pin down. Maddox, Benton and Wilson (2020) count those directions with the
effective dimensionality ``N_eff(H, z) = sum_i lambda_i / (lambda_i + z)`` of the Hessian of
the training loss, and find on CIFAR-100 ResNets and CNNs that, once the training loss is
near zero, it follows the test loss as the width grows where the parameter count does not.
Wilson and Izmailov (2020) argue that a deep ensemble is an approximate Bayesian model
average and improves both the accuracy and the calibration of a single network. This
chapter runs three small versions:

* :func:`evidence_experiment`: Bayesian polynomial regression of growing degree on a few
  noisy points; the Laplace evidence of :func:`generalization.bayes.laplace_log_evidence`
  (exact here: the model is linear in its weights and the noise Gaussian), its split into
  fit and Occam factor, MacKay's number of well-determined parameters, and the test error;
* :func:`width_experiment`: one-hidden-layer MLPs of growing width on a small MNIST subset
  with some labels corrupted, trained to fit it; their test loss and the effective
  dimensionality of the Hessian of the mean training loss from its top ``k`` eigenvalues
  (Lanczos, :func:`generalization.landscape.top_hessian_eigenvalues`), and for the narrowest
  width the full spectrum (:func:`generalization.landscape.hessian`) to see what the
  truncation drops;
* :func:`ensemble_experiment`: a deep ensemble of MLPs trained from different seeds on an
  MNIST subset; test NLL, accuracy and expected calibration error against the number of
  members (:func:`generalization.bayes.ensemble_probabilities`,
  :func:`generalization.bayes.calibration`).

Differences from the papers: MacKay interpolates one-dimensional data with radial basis
functions and fits the prior precision; we fix it and sweep a polynomial degree. Maddox et al.
train ResNet18s and CNNs on all of CIFAR-100 and take many Hessian eigenvalues; we train MLPs
on a few hundred MNIST digits and take ``k`` of them. Wilson and Izmailov compare deep
ensembles with MultiSWAG on CIFAR-10; we ensemble small MLPs on MNIST and do not run SWAG.

References
----------
MacKay (1992), *Bayesian interpolation*, Neural Computation 4(3), 415-447.
Maddox, Benton, Wilson (2020), *Rethinking parameter counting in deep models: effective
dimensionality revisited*, https://arxiv.org/abs/2003.02139.
Wilson, Izmailov (2020), *Bayesian deep learning and a probabilistic perspective of
generalization*, NeurIPS, https://arxiv.org/abs/2002.08791.
Guo, Pleiss, Sun, Weinberger (2017), *On calibration of modern neural networks*, ICML.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import bayes, checks, data, landscape, nets, settings_for
from generalization.book.cache import cached

SETTINGS = {
    "quick": dict(
        evidence=dict(
            seeds=(0, 1, 2, 3, 4),
            n_samples=24,
            n_test=1000,
            noise_sd=0.2,
            degrees=tuple(range(13)),
            prior_precision=1.0,
        ),
        width=dict(
            seeds=(0, 1),
            n_train=200,
            n_test=2000,
            label_noise=0.2,
            widths=(2, 8, 16, 32, 64),
            num_epochs=150,
            lr=2e-3,
            batch_size=100,
            k=12,
            z=1.0,
        ),
        ensemble=dict(
            seeds=(0, 1, 2, 3, 4, 5),
            n_train=1000,
            n_test=2000,
            width=128,
            num_epochs=30,
            lr=2e-3,
            batch_size=100,
        ),
    ),
    "full": dict(
        evidence=dict(
            seeds=tuple(range(20)),
            n_samples=24,
            n_test=5000,
            noise_sd=0.2,
            degrees=tuple(range(19)),
            prior_precision=1.0,
        ),
        width=dict(
            seeds=(0, 1, 2),
            n_train=1000,
            n_test=10000,
            label_noise=0.2,
            widths=(2, 4, 6, 8, 12, 16, 32, 64, 128, 256, 512),
            num_epochs=400,
            lr=2e-3,
            batch_size=100,
            k=100,
            z=1.0,
        ),
        ensemble=dict(
            seeds=tuple(range(10)),
            n_train=10000,
            n_test=10000,
            width=512,
            num_epochs=30,
            lr=2e-3,
            batch_size=100,
        ),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

``evidence``: polynomial regression, ``n_samples`` noisy points per seed, Gaussian noise of
standard deviation ``noise_sd`` (known to the model), prior ``w ~ N(0, I / prior_precision)``
on the coefficients of orthonormal Legendre polynomials of each degree. ``width``: MLPs with
one hidden layer trained by Adam (``lr``, ``batch_size``, ``num_epochs``) on ``n_train``
MNIST digits of which a fraction ``label_noise`` carry a wrong label; ``k`` Hessian
eigenvalues, ``z`` the constant of the effective dimensionality (Maddox et al. use 1).
``ensemble``: one member per seed, all of width ``width``. Quick runs in well under a minute
on 2 CPU cores; full uses ten times more digits and wider networks."""

LANCZOS_TOL = 1e-3
"""ARPACK's relative tolerance on the Hessian eigenvalues (ample for ``N_eff``)."""

Z_GRID = (0.01, 0.1, 1.0, 10.0)
"""The constants ``z`` at which :func:`width_experiment` also reports ``N_eff``."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


# ------------------------------------------------------------------- evidence and Occam


def target(x):
    """The regression function of the evidence experiment, ``sin(3x) + x^2 / 2`` on [-1, 1]."""
    x = np.asarray(x, dtype=float)
    return np.sin(3 * x) + 0.5 * x**2


def legendre_features(x, degree):
    """Orthonormal Legendre polynomials ``sqrt(k + 1/2) P_k(x)``, ``k = 0..degree``.

    Orthonormal in ``L^2[-1, 1]``, so a prior ``N(0, I / alpha)`` on the coefficients gives
    every degree the same prior variance. Returns shape (len(x), degree + 1).
    """
    from numpy.polynomial import legendre

    degree = checks.count("degree", degree, minimum=0)
    x = checks.array("x", x, ndim=1)
    return legendre.legvander(x, degree) * np.sqrt(np.arange(degree + 1) + 0.5)


def regression_data(seed, n_samples, noise_sd):
    """``n_samples`` points ``x ~ U[-1, 1]``, ``y = target(x) + noise_sd * N(0, 1)``."""
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    n_samples = checks.count("n_samples", n_samples)
    noise_sd = checks.positive("noise_sd", noise_sd)
    x = rng.uniform(-1, 1, n_samples)
    return x, target(x) + noise_sd * rng.standard_normal(n_samples)


def linear_model(n_features):
    """A float64 ``torch.nn.Linear(n_features, 1, bias=False)`` started at zero."""
    import torch

    model = torch.nn.Linear(n_features, 1, bias=False).double()
    with torch.no_grad():
        model.weight.zero_()
    return model


@dataclass(frozen=True)
class EvidenceResult:
    """What :func:`evidence_experiment` returns; arrays of shape (len(seeds), len(degrees)).

    ``log_evidence = log_likelihood + occam`` (natural logarithms, sums over the training
    points), ``log_prior`` the prior's part of ``occam``; ``gamma`` MacKay's number of
    well-determined parameters ``N_eff(C, alpha)``; ``train_mse`` and ``test_mse`` the mean
    squared errors of the MAP fit against the noisy training targets and the noiseless
    target on ``n_test`` fresh points; ``gradient_norm`` the largest norm of the gradient of
    the log joint at the MAP over all fits.
    """

    seeds: tuple
    degrees: tuple
    n_samples: int
    noise_sd: float
    prior_precision: float
    log_evidence: np.ndarray
    log_likelihood: np.ndarray
    log_prior: np.ndarray
    occam: np.ndarray
    gamma: np.ndarray
    train_mse: np.ndarray
    test_mse: np.ndarray
    gradient_norm: float
    run_time_s: float


@cached
def evidence_experiment(seeds, n_samples, n_test, noise_sd, degrees, prior_precision):
    """The Laplace evidence of polynomial models of each degree, per data set. Cached.

    For each seed: one data set (:func:`regression_data`); for each degree, the MAP of the
    linear model on :func:`legendre_features` (:func:`generalization.bayes.fit_map`) and its
    :func:`generalization.bayes.laplace_log_evidence` with the Gaussian likelihood of
    variance ``noise_sd**2``.

    Returns
    -------
    EvidenceResult
    """
    import torch

    seeds = checks.integers("seeds", seeds, minimum=0)
    degrees = checks.integers("degrees", degrees, minimum=0)
    n_test = checks.count("n_test", n_test)
    noise_sd = checks.positive("noise_sd", noise_sd)
    alpha = checks.positive("prior_precision", prior_precision)
    start = time.perf_counter()
    shape = (len(seeds), len(degrees))
    out = {k: np.zeros(shape) for k in ("ev", "lik", "prior", "occam", "gamma", "tr", "te")}
    worst_gradient = 0.0
    x_test = np.linspace(-1, 1, n_test)
    for s, seed in enumerate(seeds):
        x, y = regression_data(seed, n_samples, noise_sd)
        for j, degree in enumerate(degrees):
            X = legendre_features(x, degree)
            model = linear_model(degree + 1)
            bayes.fit_map(model, X, y[:, None], alpha, "gaussian", noise_sd**2)
            ev = bayes.laplace_log_evidence(model, X, y[:, None], alpha, "gaussian", noise_sd**2)
            with torch.no_grad():
                w = model.weight.numpy()[0]
            out["ev"][s, j] = ev.log_evidence
            out["lik"][s, j] = ev.log_likelihood
            out["prior"][s, j] = ev.log_prior
            out["occam"][s, j] = ev.occam
            out["gamma"][s, j] = bayes.effective_dimensionality(ev.curvature_eigenvalues, alpha)
            out["tr"][s, j] = np.mean((X @ w - y) ** 2)
            out["te"][s, j] = np.mean((legendre_features(x_test, degree) @ w - target(x_test)) ** 2)
            worst_gradient = max(worst_gradient, ev.gradient_norm)
    return EvidenceResult(
        seeds=seeds,
        degrees=degrees,
        n_samples=n_samples,
        noise_sd=noise_sd,
        prior_precision=alpha,
        log_evidence=out["ev"],
        log_likelihood=out["lik"],
        log_prior=out["prior"],
        occam=out["occam"],
        gamma=out["gamma"],
        train_mse=out["tr"],
        test_mse=out["te"],
        gradient_norm=worst_gradient,
        run_time_s=time.perf_counter() - start,
    )


# ------------------------------------------------------------- MNIST MLPs: data, training


def mnist_subset(n_train, n_test, seed, label_noise=0.0):
    """A stratified MNIST training subset (with a fraction of its labels corrupted) and a
    test subset, all float32 pixels in [0, 1].

    Returns ``X_train, y_train, X_test, y_test``; ``y_train`` holds the corrupted labels.
    """
    label_noise = checks.fraction("label_noise", label_noise)
    mnist = data.load_mnist()
    X_train, y_train = data.subsample(mnist.X_train, mnist.y_train, n_train, seed, True)
    X_test, y_test = data.subsample(mnist.X_test, mnist.y_test, n_test, seed, True)
    if label_noise > 0:
        y_train = data.corrupt_labels(y_train, label_noise, seed, n_classes=10)[0]
    return X_train, y_train, X_test, y_test


def train_mlp(X, y, width, seed, num_epochs, lr, batch_size):
    """A one-hidden-layer ReLU MLP of ``width`` units (:func:`generalization.nets.mlp`,
    initialized from ``seed``), trained by Adam with cross-entropy on one CPU thread."""
    model = nets.mlp(hidden=(checks.count("width", width),), seed=seed)
    nets.train(
        model,
        X,
        y,
        lr=lr,
        num_epochs=num_epochs,
        batch_size=batch_size,
        optimizer="adam",
        num_threads=1,
        seed=seed,
    )
    return model.eval()


def logits_of(model, X):
    """The model's logits on ``X``, an (n, C) float64 array."""
    import torch

    with torch.no_grad():
        return model(torch.as_tensor(np.asarray(X, dtype=np.float32))).double().numpy()


def mean_loss_and_error(model, X, y):
    """``(mean cross-entropy, error rate)`` of ``model`` on ``(X, y)``."""
    p = bayes.ensemble_probabilities(logits_of(model, X)[None])
    return bayes.negative_log_likelihood(p, y), float(np.mean(p.argmax(axis=1) != y))


def truncated_effective_dimensionality(eigenvalues, z, k):
    """``N_eff`` from the ``k`` largest of ``eigenvalues`` only (what Lanczos returns)."""
    eigenvalues = checks.array("eigenvalues", eigenvalues, ndim=1)
    k = checks.count("k", k, maximum=eigenvalues.shape[0])
    return bayes.effective_dimensionality(np.sort(eigenvalues)[::-1][:k], z)


# ------------------------------------------------------------ effective dimensionality


@dataclass(frozen=True)
class WidthResult:
    """What :func:`width_experiment` returns.

    Arrays of shape (len(seeds), len(widths)): ``n_params``, ``train_loss``/``train_error``
    (on the corrupted training labels), ``test_loss``/``test_error`` (clean test labels),
    ``n_eff`` (from the top ``k`` eigenvalues, at ``z``); ``n_eff_grid`` of shape
    (len(seeds), len(widths), len(z_grid)); ``eigenvalues`` (len(seeds), len(widths), k), the
    top ``k`` of the Hessian of the mean training loss, descending. ``full_eigenvalues``
    (len(seeds), P) is the whole spectrum of the narrowest network (dense Hessian).
    """

    seeds: tuple
    widths: tuple
    k: int
    z: float
    z_grid: tuple
    n_train: int
    n_params: np.ndarray
    train_loss: np.ndarray
    train_error: np.ndarray
    test_loss: np.ndarray
    test_error: np.ndarray
    n_eff: np.ndarray
    n_eff_grid: np.ndarray
    eigenvalues: np.ndarray
    full_eigenvalues: np.ndarray
    run_time_s: float


@cached
def width_experiment(seeds, n_train, n_test, label_noise, widths, num_epochs, lr, batch_size, k, z):
    """Test loss and Hessian effective dimensionality of MNIST MLPs against width. Cached.

    For each seed: one subset (:func:`mnist_subset`, the seed); for each width an MLP
    (:func:`train_mlp`); the top ``k`` eigenvalues of the Hessian of its mean training
    cross-entropy (on the labels it was trained on) by Lanczos, and
    ``N_eff = bayes.effective_dimensionality(top k, z)``. The narrowest network's Hessian is
    also formed densely (:func:`generalization.landscape.hessian`) for its full spectrum.

    Returns
    -------
    WidthResult
    """
    import torch

    seeds = checks.integers("seeds", seeds, minimum=0)
    widths = checks.integers("widths", widths, minimum=1)
    k = checks.count("k", k)
    z = checks.positive("z", z)
    start = time.perf_counter()
    shape = (len(seeds), len(widths))
    keys = ("n_params", "train_loss", "train_error", "test_loss", "test_error", "n_eff")
    out = {key: np.zeros(shape) for key in keys}
    grid = np.zeros(shape + (len(Z_GRID),))
    eigs = np.zeros(shape + (k,))
    full = []
    for s, seed in enumerate(seeds):
        X, y, X_test, y_test = mnist_subset(n_train, n_test, seed, label_noise)
        Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
        for j, width in enumerate(widths):
            model = train_mlp(X, y, width, seed, num_epochs, lr, batch_size)
            out["n_params"][s, j] = sum(p.numel() for p in model.parameters())
            out["train_loss"][s, j], out["train_error"][s, j] = mean_loss_and_error(model, X, y)
            loss, error = mean_loss_and_error(model, X_test, y_test)
            out["test_loss"][s, j], out["test_error"][s, j] = loss, error
            with nets.threads(1):
                top = landscape.top_hessian_eigenvalues(
                    model, None, Xt, yt, k=k, which="largest", tol=LANCZOS_TOL, seed=seed
                )
                if j == 0:
                    H = landscape.hessian(model.double(), None, Xt.double(), yt)
                    full.append(np.linalg.eigvalsh(H.numpy())[::-1])
            eigs[s, j] = top
            out["n_eff"][s, j] = bayes.effective_dimensionality(top, z)
            grid[s, j] = bayes.effective_dimensionality(top, np.array(Z_GRID))
    return WidthResult(
        seeds=seeds,
        widths=widths,
        k=k,
        z=z,
        z_grid=Z_GRID,
        n_train=n_train,
        n_eff_grid=grid,
        eigenvalues=eigs,
        full_eigenvalues=np.array(full),
        run_time_s=time.perf_counter() - start,
        **out,
    )


# ---------------------------------------------------------------------- deep ensembles


@dataclass(frozen=True)
class EnsembleResult:
    """What :func:`ensemble_experiment` returns.

    Arrays of shape (M, M) indexed ``[m - 1, r]``: the test NLL, accuracy and ECE of the
    ensemble of the ``m`` members ``r, r + 1, ..., r + m - 1`` (indices modulo M), so that
    every member starts one ensemble of each size. ``member_logits`` (M, n_test, 10) and
    ``y_test`` let the page draw reliability diagrams.
    """

    seeds: tuple
    width: int
    n_train: int
    nll: np.ndarray
    accuracy: np.ndarray
    ece: np.ndarray
    member_logits: np.ndarray
    y_test: np.ndarray
    run_time_s: float


def ensemble_curves(member_logits, y, n_bins=15):
    """NLL, accuracy and ECE of the cyclic ensembles of every size, each of shape (M, M).

    Entry ``[m - 1, r]`` is for the members ``r, ..., r + m - 1`` modulo M, their
    predictive distribution the mean of their softmaxes
    (:func:`generalization.bayes.ensemble_probabilities`).
    """
    member_logits = checks.array("member_logits", member_logits, ndim=3)
    M = member_logits.shape[0]
    nll, acc, ece = np.zeros((M, M)), np.zeros((M, M)), np.zeros((M, M))
    for m in range(1, M + 1):
        for r in range(M):
            members = [(r + i) % M for i in range(m)]
            p = bayes.ensemble_probabilities(member_logits[members])
            nll[m - 1, r] = bayes.negative_log_likelihood(p, y)
            acc[m - 1, r] = float(np.mean(p.argmax(axis=1) == y))
            ece[m - 1, r] = bayes.calibration(p, y, n_bins).ece
    return nll, acc, ece


@cached
def ensemble_experiment(seeds, n_train, n_test, width, num_epochs, lr, batch_size):
    """A deep ensemble of MLPs on an MNIST subset, one member per seed. Cached.

    The data are one stratified subset (:func:`mnist_subset`, seed 0, clean labels); the
    members differ in their initialization and batch order (:func:`train_mlp` with the
    member's seed).

    Returns
    -------
    EnsembleResult
    """
    seeds = checks.integers("seeds", seeds, minimum=0)
    start = time.perf_counter()
    X, y, X_test, y_test = mnist_subset(n_train, n_test, 0)
    logits = np.stack(
        [
            logits_of(train_mlp(X, y, width, seed, num_epochs, lr, batch_size), X_test)
            for seed in seeds
        ]
    )
    nll, acc, ece = ensemble_curves(logits, y_test)
    return EnsembleResult(
        seeds=seeds,
        width=width,
        n_train=n_train,
        nll=nll,
        accuracy=acc,
        ece=ece,
        member_logits=logits,
        y_test=y_test,
        run_time_s=time.perf_counter() - start,
    )

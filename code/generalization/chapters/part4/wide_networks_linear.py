"""Experiments of the chapter *Wide networks evolve as linear models*.

Lee, Xiao, Schoenholz, Bahri, Novak, Sohl-Dickstein and Pennington (2019) show that a wide
network trained by gradient descent stays close to its first-order Taylor expansion about
its initial parameters, the *linearized network*, whose training is a linear ODE solved in
closed form by the neural tangent kernel (NTK) at initialization; the distance between the
two shrinks like ``width^(-1/2)`` in the NTK parametrization (their Theorem 2.1), for step
sizes below a critical one set by the kernel's spectrum.

This chapter trains one-hidden-layer ReLU networks (:func:`generalization.ntk.mlp`, NTK
parametrization) by full-batch gradient descent on the squared loss of a small MNIST subset
with one-hot targets, and sets each beside its linearization:

* :func:`width_sweep`: the network trained by :func:`generalization.ntk.gradient_descent`,
  its linearization by the closed form :func:`generalization.ntk.gd_predictions` with the
  full empirical NTK at initialization (exact for the linearized model); the RMS gap
  between their outputs on test images, and the relative change of the weights, against
  the width;
* :func:`closed_form_check`: the linearized model actually trained
  (:func:`generalization.ntk.linearize`, then gradient descent) against the closed form,
  with the empirical kernel and with the infinite-width kernel
  :func:`generalization.ntk.relu_ntk`;
* :func:`learning_rate_experiment`: a wide network and its linearization trained just below
  and just above the largest stable step ``2 n / lambda_max`` of the NTK.

Differences from the paper: a few hundred MNIST images instead of the paper's larger sets
(and no CIFAR-10), one hidden layer, float32 networks, a fixed number of steps. The paper
trains the linearized model by its own closed form too; we check that closed form against
a trained linearized model first.

References
----------
Lee, Xiao, Schoenholz, Bahri, Novak, Sohl-Dickstein, Pennington (2019), *Wide neural networks
of any depth evolve as linear models under gradient descent*, NeurIPS,
https://arxiv.org/abs/1902.06720.
Jacot, Gabriel, Hongler (2018), *Neural tangent kernel: convergence and generalization in
neural networks*, NeurIPS, https://arxiv.org/abs/1806.07572.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from generalization import checks, data, nets, ntk, settings_for
from generalization.book.cache import cached

SETTINGS = {
    "quick": dict(
        problem=dict(n_train=128, n_test=128, data_seed=0),
        sweep=dict(
            widths=(128, 256, 512, 1024, 2048),
            seeds=(0, 1, 2),
            lr_fraction=0.5,
            steps=(0, 2, 5, 10, 20, 30),
        ),
        check=dict(width=128, seed=0, lr_fraction=0.5, steps=(0, 1, 5, 10, 20)),
        rate=dict(width=2048, seed=0, ratios=(0.9, 1.1), num_steps=40),
        threads=1,
    ),
    "full": dict(
        problem=dict(n_train=512, n_test=512, data_seed=0),
        sweep=dict(
            widths=(128, 256, 512, 1024, 2048, 4096, 8192, 16384),
            seeds=tuple(range(5)),
            lr_fraction=0.5,
            steps=(0, 2, 5, 10, 20, 50, 100, 200),
        ),
        check=dict(width=1024, seed=0, lr_fraction=0.5, steps=(0, 1, 5, 10, 50, 100)),
        rate=dict(width=16384, seed=0, ratios=(0.9, 0.95, 1.05, 1.1), num_steps=100),
        threads=2,
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

``lr_fraction``: the step as a fraction of ``2 n / lambda_max`` of the infinite-width NTK on
the training images (``lambda_max`` of the empirical kernel in :func:`learning_rate_experiment`,
whose ``ratios`` are multiples of it). ``threads``: torch CPU threads (one is faster for these
small matrices on the book's 2-core machine; the same number of BLAS threads, through
``threadpoolctl``, for NumPy's eigendecompositions). Quick runs in well under a minute."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


# ----------------------------------------------------------------------------------- data


def standardize(X):
    """Each row centred and scaled to squared norm ``d``: mean 0 and variance 1 per image.

    With this scale the first layer of :func:`generalization.ntk.mlp` (weight variance 2)
    has pre-activations of variance 2 at initialization. Shape (n, d) -> (n, d), float64.
    """
    X = checks.array("X", X, ndim=2)
    X = X - X.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("X must have no constant row; got a row with zero variance.")
    return X / norms * np.sqrt(X.shape[1])


@dataclass(frozen=True)
class Problem:
    """A stratified MNIST subset: ``X`` (n, 784) standardized images, ``Y`` (n, 10) one-hot
    targets, ``labels`` (n,); the same for the test images (``X_test``, ``Y_test``,
    ``labels_test``)."""

    X: np.ndarray
    Y: np.ndarray
    labels: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray
    labels_test: np.ndarray


def mnist_problem(n_train, n_test, data_seed):
    """``n_train`` training and ``n_test`` test images of MNIST (stratified by class), each
    standardized (:func:`standardize`), with one-hot targets."""
    mnist = data.load_mnist()
    X, y = data.subsample(mnist.X_train, mnist.y_train, n_train, data_seed, stratified=True)
    Xt, yt = data.subsample(mnist.X_test, mnist.y_test, n_test, data_seed, stratified=True)
    eye = np.eye(10)
    return Problem(standardize(X), eye[y], y, standardize(Xt), eye[yt], yt)


# ---------------------------------------------------------------------------- the kernel


def flat_kernel(theta):
    """The full NTK (n1, n2, k, k) as a matrix (n1 k, n2 k), rows and columns (example,
    output), the layout of :func:`generalization.ntk.gd_predictions`."""
    theta = checks.array("theta", theta, ndim=4)
    n1, n2, k1, k2 = theta.shape
    return theta.transpose(0, 2, 1, 3).reshape(n1 * k1, n2 * k2)


def step_sizes(theta_train):
    """``(eta_max, eta_critical)`` for gradient descent on ``L = 1/(2n) sum ||f - y||^2``.

    One step maps the training residual to ``(I - lr Theta / n) r``, which shrinks along
    every eigenvector when ``lr < eta_max = 2 n / lambda_max``. Lee et al. (2019) call
    ``eta_critical = 2 n / (lambda_min + lambda_max)`` (in our normalization of the loss)
    the critical rate: the step that contracts the slowest and the fastest direction
    equally. ``theta_train`` is (n, n) or (n, n, k, k).
    """
    theta = checks.array("theta_train", theta_train, ndim=(2, 4))
    n = theta.shape[0]
    K = theta if theta.ndim == 2 else flat_kernel(theta)
    lam = np.linalg.eigvalsh((K + K.T) / 2)
    return 2 * n / lam[-1], 2 * n / (lam[0] + lam[-1])


def linearized_predictions(model, problem, lr, steps):
    """Outputs of the linearization of ``model`` after ``steps`` of gradient descent, in
    closed form (:func:`generalization.ntk.gd_predictions` with the full empirical NTK at
    the model's current parameters). Returns ``(train, test)``, (len(steps), n, k) and
    (len(steps), m, k)."""
    theta = ntk.empirical_ntk(model, problem.X, outputs="full").astype(float)
    theta_test = ntk.empirical_ntk(model, problem.X_test, problem.X, outputs="full")
    f0, f0_test = _outputs(model, problem.X), _outputs(model, problem.X_test)
    return ntk.gd_predictions(theta, theta_test.astype(float), f0, f0_test, problem.Y, lr, steps)


def _outputs(model, X):
    like = next(model.parameters())
    with torch.no_grad():
        return model(torch.as_tensor(X, dtype=like.dtype)).double().numpy()


def _flat_params(model):
    return torch.cat([p.detach().reshape(-1).double() for p in model.parameters()]).numpy()


def rms(a, b):
    """The root mean square of ``a - b`` over every entry."""
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def accuracy(outputs, labels):
    """The fraction of rows whose largest output is at the label."""
    return float(np.mean(np.argmax(outputs, axis=-1) == labels))


# ------------------------------------------------------------------------ the experiments


@dataclass(frozen=True)
class SweepResult:
    """What :func:`width_sweep` returns.

    Shapes (len(seeds), len(widths), len(steps)): ``gap`` (RMS over test images and outputs
    of network minus linearization), ``gap_train`` (the same on the training images),
    ``moved`` (RMS of the linearization's test outputs minus their initial values).
    Shapes (len(seeds), len(widths)): ``weight_change`` (``||theta_T - theta_0|| /
    ||theta_0||``), ``net_accuracy``, ``lin_accuracy`` (test, at the last step).
    ``test_outputs`` (len(seeds), len(widths), len(steps), 2, k): network and linearization
    on the first test image. ``lr``: the step used, the same at every width.
    """

    widths: tuple
    seeds: tuple
    steps: tuple
    lr: float
    gap: np.ndarray
    gap_train: np.ndarray
    moved: np.ndarray
    weight_change: np.ndarray
    net_accuracy: np.ndarray
    lin_accuracy: np.ndarray
    test_outputs: np.ndarray
    run_time_s: float


def infinite_width_lr(problem, lr_fraction):
    """``lr_fraction * 2 n / lambda_max`` of the one-hidden-layer infinite-width NTK
    (:func:`generalization.ntk.relu_ntk`) on the training images."""
    lr_fraction = checks.number("lr_fraction", lr_fraction, low=0, high=1, low_open=True)
    return lr_fraction * step_sizes(ntk.relu_ntk(problem.X, None, 1))[0]


@cached
def width_sweep(problem, widths, seeds, lr_fraction, steps, threads=1):
    """Networks of each width and their linearizations, trained side by side. Cached.

    For each seed and width: :func:`generalization.ntk.mlp` ``(784, width, 10)`` in the NTK
    parametrization (weight variance 2, no biases), initialized by the seed; the network
    trained by :func:`generalization.ntk.gradient_descent`, the linearization about its
    initialization by :func:`linearized_predictions`, both with the step of
    :func:`infinite_width_lr`.

    Parameters
    ----------
    problem : dict
        Keywords of :func:`mnist_problem`.
    widths, seeds : sequence of int
    lr_fraction : float in (0, 1]
    steps : sequence of int
        Steps at which both are compared; training stops at the largest.
    threads : int
        torch CPU threads.

    Returns
    -------
    SweepResult
    """
    widths = checks.integers("widths", widths, minimum=1)
    seeds = checks.integers("seeds", seeds, minimum=0)
    steps = checks.integers("steps", steps, minimum=0)
    start = time.perf_counter()
    P = mnist_problem(**problem)
    lr = infinite_width_lr(P, lr_fraction)
    shape = (len(seeds), len(widths))
    gap, gap_train, moved = (np.zeros(shape + (len(steps),)) for _ in range(3))
    change, net_acc, lin_acc = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    outputs = np.zeros(shape + (len(steps), 2, P.Y.shape[1]))
    with nets.threads(threads), threadpool_limits(threads):
        for s, seed in enumerate(seeds):
            for w, width in enumerate(widths):
                net = ntk.mlp((P.X.shape[1], width, P.Y.shape[1]), seed=seed)
                lin_train, lin_test = linearized_predictions(net, P, lr, steps)
                theta0 = _flat_params(net)
                net_train, net_test = ntk.gradient_descent(net, P.X, P.Y, lr, steps, P.X_test)
                for t in range(len(steps)):
                    gap[s, w, t] = rms(net_test[t], lin_test[t])
                    gap_train[s, w, t] = rms(net_train[t], lin_train[t])
                    moved[s, w, t] = rms(lin_test[t], lin_test[0])
                outputs[s, w, :, 0] = net_test[:, 0]
                outputs[s, w, :, 1] = lin_test[:, 0]
                change[s, w] = np.linalg.norm(_flat_params(net) - theta0) / np.linalg.norm(theta0)
                net_acc[s, w] = accuracy(net_test[-1], P.labels_test)
                lin_acc[s, w] = accuracy(lin_test[-1], P.labels_test)
    return SweepResult(
        widths=widths,
        seeds=seeds,
        steps=steps,
        lr=float(lr),
        gap=gap,
        gap_train=gap_train,
        moved=moved,
        weight_change=change,
        net_accuracy=net_acc,
        lin_accuracy=lin_acc,
        test_outputs=outputs,
        run_time_s=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class CheckResult:
    """What :func:`closed_form_check` returns: the test outputs of the trained linearized
    model (``trained``), of the closed form with the full empirical NTK (``closed_form``) and
    with the infinite-width NTK and the same initial outputs (``infinite``), each
    (len(steps), m, k); ``error_empirical`` the largest absolute difference between the first
    two over steps, images and outputs; ``error_infinite`` the RMS difference between the
    first and the third at the last step; ``scale`` the RMS of the trained
    model's test outputs minus their initial values at the last step."""

    steps: tuple
    lr: float
    trained: np.ndarray
    closed_form: np.ndarray
    infinite: np.ndarray
    error_empirical: float
    error_infinite: float
    scale: float
    run_time_s: float


@cached
def closed_form_check(problem, width, seed, lr_fraction, steps, threads=1):
    """The linearized network trained by gradient descent against its closed form. Cached.

    The network :func:`generalization.ntk.mlp` ``(784, width, 10)`` is built in float64 and
    linearized (:func:`generalization.ntk.linearize`); the linearization is trained by
    :func:`generalization.ntk.gradient_descent` with the step of :func:`infinite_width_lr`.
    The closed form :func:`generalization.ntk.gd_predictions` is evaluated twice: with the
    full empirical NTK at initialization, and with the infinite-width NTK
    (:func:`generalization.ntk.relu_ntk`, shared by the outputs). Parameters as
    :func:`width_sweep`.

    Returns
    -------
    CheckResult
    """
    steps = checks.integers("steps", steps, minimum=0)
    start = time.perf_counter()
    P = mnist_problem(**problem)
    lr = infinite_width_lr(P, lr_fraction)
    with nets.threads(threads), threadpool_limits(threads):
        net = ntk.mlp((P.X.shape[1], width, P.Y.shape[1]), seed=seed, dtype="float64")
        closed = linearized_predictions(net, P, lr, steps)[1]
        f0, f0_test = _outputs(net, P.X), _outputs(net, P.X_test)
        theta_inf = ntk.relu_ntk(P.X, None, 1)
        theta_inf_test = ntk.relu_ntk(P.X_test, P.X, 1)
        infinite = ntk.gd_predictions(theta_inf, theta_inf_test, f0, f0_test, P.Y, lr, steps)[1]
        lin = ntk.linearize(net)
        trained = ntk.gradient_descent(lin, P.X, P.Y, lr, steps, P.X_test)[1]
    return CheckResult(
        steps=steps,
        lr=float(lr),
        trained=trained,
        closed_form=closed,
        infinite=infinite,
        error_empirical=float(np.max(np.abs(trained - closed))),
        error_infinite=rms(trained[-1], infinite[-1]),
        scale=rms(trained[-1], trained[0]),
        run_time_s=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class RateResult:
    """What :func:`learning_rate_experiment` returns: ``eta_max`` (``2 n / lambda_max``) and
    ``eta_critical`` (``2 n / (lambda_min + lambda_max)``) of the full empirical NTK at
    initialization, ``lambda_min``, ``lambda_max``; for each ratio, the training loss of the
    network (``net_loss``) and of its linearization in closed form (``lin_loss``) after
    every step, (len(ratios), num_steps + 1) (inf where the network's outputs overflowed);
    ``lambda_max_end``: the largest eigenvalue of the network's NTK after training, per ratio
    (nan where the run overflowed)."""

    width: int
    ratios: tuple
    eta_max: float
    eta_critical: float
    lambda_min: float
    lambda_max: float
    net_loss: np.ndarray
    lin_loss: np.ndarray
    lambda_max_end: np.ndarray
    run_time_s: float


def squared_loss(outputs, Y):
    """``1/(2n) sum_i ||f(x_i) - y_i||^2`` for each leading index of ``outputs`` (t, n, k);
    inf where an output is not finite."""
    outputs = np.asarray(outputs, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        loss = np.sum((outputs - Y) ** 2, axis=(-2, -1)) / (2 * Y.shape[0])
    return np.where(np.isfinite(loss), loss, np.inf)


@cached
def learning_rate_experiment(problem, width, seed, ratios, num_steps, threads=1):
    """A wide network and its linearization trained at multiples of ``eta_max``. Cached.

    ``eta_max = 2 n / lambda_max`` of the full empirical NTK of the network at initialization
    (:func:`step_sizes`); for each ratio the network is trained from the same initialization
    by :func:`generalization.ntk.gradient_descent` with step ``ratio * eta_max``, and the
    linearization's training outputs follow from :func:`generalization.ntk.gd_predictions`.

    Returns
    -------
    RateResult
    """
    ratios = checks.numbers("ratios", ratios, low=0, low_open=True)
    num_steps = checks.count("num_steps", num_steps)
    start = time.perf_counter()
    P = mnist_problem(**problem)
    every = range(num_steps + 1)
    net_loss, lin_loss, lambda_end = [], [], []
    with nets.threads(threads), threadpool_limits(threads):
        net = ntk.mlp((P.X.shape[1], width, P.Y.shape[1]), seed=seed)
        theta = ntk.empirical_ntk(net, P.X, outputs="full").astype(float)
        eta_max, eta_critical = step_sizes(theta)
        lam = np.linalg.eigvalsh(flat_kernel(theta))
        f0 = _outputs(net, P.X)
        for ratio in ratios:
            lr = float(ratio) * eta_max
            lin = ntk.gd_predictions(theta, None, f0, None, P.Y, lr, every)[0]
            lin_loss.append(squared_loss(lin, P.Y))
            model = ntk.mlp((P.X.shape[1], width, P.Y.shape[1]), seed=seed)
            with np.errstate(over="ignore", invalid="ignore"):
                outputs = ntk.gradient_descent(model, P.X, P.Y, lr, every)[0]
            net_loss.append(squared_loss(outputs, P.Y))
            finite = all(bool(torch.isfinite(p).all()) for p in model.parameters())
            end = ntk.empirical_ntk(model, P.X, outputs="full") if finite else None
            lambda_end.append(np.linalg.eigvalsh(flat_kernel(end))[-1] if finite else np.nan)
    return RateResult(
        width=int(width),
        ratios=tuple(float(r) for r in ratios),
        eta_max=float(eta_max),
        eta_critical=float(eta_critical),
        lambda_min=float(lam[0]),
        lambda_max=float(lam[-1]),
        net_loss=np.array(net_loss),
        lin_loss=np.array(lin_loss),
        lambda_max_end=np.array(lambda_end, dtype=float),
        run_time_s=time.perf_counter() - start,
    )

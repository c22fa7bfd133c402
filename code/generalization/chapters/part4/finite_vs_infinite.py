"""Experiments of the chapter *Finite versus infinite neural networks*.

Lee et al. (2020) compare, on CIFAR-10, finite networks trained by gradient descent with the
two kernels that describe them when every hidden layer is infinitely wide: the NNGP kernel
(Lee et al. 2018), whose posterior mean is exact Bayesian inference in the infinitely wide
network, and the neural tangent kernel, whose regression is where gradient descent on the
squared loss takes an infinitely wide network (Jacot et al. 2018, Lee et al. 2019). They
find that fully connected networks trail their kernels, that centring a network (training
``f - f_0``) or averaging an ensemble brings it towards the kernel, and that a large step or
weight decay breaks the correspondence. This chapter runs, on an MNIST subset:

* :func:`experiment`: one-hidden-layer ReLU networks (:func:`generalization.ntk.mlp`, NTK
  parametrization) of growing width, trained by full-batch gradient descent on the squared
  loss (:func:`generalization.ntk.gradient_descent`), plain and centred, several seeds;
  against the NNGP and NTK regressors (:func:`kernel_regression` on
  :func:`generalization.ntk.relu_kernels`) and against the infinite-width network after the
  same number of steps (:func:`generalization.ntk.gd_predictions`); an ensemble of networks
  of one width; and networks trained with a step beyond the stability edge of the kernel.

Differences from the paper: MNIST, not CIFAR-10; a few hundred training images, averaged
over 2x2 blocks (14x14 pixels), each image centred and scaled to unit mean-square pixel;
one hidden layer and no biases; a fixed number of full-batch steps, not training to
convergence with a tuned step and early stopping; no weight decay.

References
----------
Lee, Schoenholz, Pennington, Adlam, Xiao, Novak, Sohl-Dickstein (2020), *Finite versus
infinite neural networks: an empirical study*, NeurIPS, https://arxiv.org/abs/2007.15801.
Lee, Bahri, Novak, Schoenholz, Pennington, Sohl-Dickstein (2018), *Deep neural networks as
Gaussian processes*, ICLR, https://arxiv.org/abs/1711.00165.
Lee, Xiao, Schoenholz, Bahri, Novak, Sohl-Dickstein, Pennington (2019), *Wide neural networks
of any depth evolve as linear models under gradient descent*, NeurIPS,
https://arxiv.org/abs/1902.06720.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from scipy.linalg import cho_factor, cho_solve

from generalization import checks, nets, ntk, settings_for
from generalization.book.cache import cached
from generalization.data import load_mnist, subsample

N_CLASSES = 10

SETTINGS = {
    "quick": dict(
        n_train=500,
        n_test=1000,
        data_seed=0,
        widths=(32, 128, 512),
        seeds=(0, 1, 2),
        num_steps=150,
        lr_fraction=0.5,
        ensemble_width=128,
        ensemble_seeds=tuple(range(8)),
        large_lr_fraction=1.5,
        large_lr_width=512,
    ),
    "full": dict(
        n_train=2000,
        n_test=2000,
        data_seed=0,
        widths=(32, 128, 512, 2048, 8192),
        seeds=tuple(range(5)),
        num_steps=1000,
        lr_fraction=0.5,
        ensemble_width=512,
        ensemble_seeds=tuple(range(32)),
        large_lr_fraction=1.5,
        large_lr_width=2048,
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

``lr_fraction``: the step as a multiple of ``2 n / lambda_max`` of the infinite-width NTK on
the training set, the largest step at which gradient descent on the infinitely wide network
converges (so 1 is the edge); the same step for every width. Quick runs in well under a
minute on 2 CPU cores; full is the issue's size (2,000 images) and wider networks."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


# --------------------------------------------------------------------------------- data


def pool_and_standardize(X):
    """MNIST rows (n, 784) averaged over 2x2 blocks to (n, 196), each row centred and scaled
    to unit mean square (so ``||x||^2 = 196`` and the NNGP variance at every input is 2)."""
    X = checks.array("X", X, ndim=2)
    if X.shape[1] != 784:
        raise ValueError(f"X must be an array with 784 columns; got shape {X.shape}.")
    X = X.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4)).reshape(len(X), -1)
    X = X - X.mean(axis=1, keepdims=True)
    return X / np.sqrt(np.mean(X * X, axis=1, keepdims=True))


def one_hot_targets(y, n_classes=N_CLASSES):
    """Centred one-hot targets: 0.9 for the true class, -0.1 for the others, shape (n, k)."""
    y = checks.integers("y", y, minimum=0)
    return np.eye(n_classes)[list(y)] - 1.0 / n_classes


def mnist_subset(n_train, n_test, seed):
    """``(X, y, X_test, y_test)``: random MNIST training and test images (seeded), prepared by
    :func:`pool_and_standardize`; labels are integers 0..9."""
    mnist = load_mnist()
    X, y = subsample(mnist.X_train, mnist.y_train, n_train, seed)
    X_test, y_test = subsample(mnist.X_test, mnist.y_test, n_test, seed)
    return pool_and_standardize(X), y, pool_and_standardize(X_test), y_test


def error(predictions, labels):
    """The fraction of rows whose largest output is not the label."""
    return float(np.mean(np.argmax(predictions, axis=-1) != np.asarray(labels)))


def relative_distance(a, b):
    """``||a - b||_F / ||b||_F``: how far predictions ``a`` are from the reference ``b``."""
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# ------------------------------------------------------------------------------ kernels


def kernel_regression(K_train, K_test, Y):
    """``K(x, X) K^{-1} Y``: the kernel interpolant, the NNGP posterior mean without noise
    or, for the NTK, the limit of gradient descent from a zero function.

    Parameters
    ----------
    K_train : array_like, shape (n, n), symmetric positive definite
    K_test : array_like, shape (m, n)
    Y : array_like, shape (n, k)

    Returns
    -------
    ndarray, shape (m, k)
    """
    K_train = checks.array("K_train", K_train, ndim=2)
    K_test = checks.array("K_test", K_test, ndim=2)
    factor = cho_factor(K_train, lower=True)
    return K_test @ cho_solve(factor, Y)  # alpha = K^{-1} Y, by Cholesky


def step_size(theta_train, lr_fraction):
    """``lr_fraction * 2 n / lambda_max(Theta)``: the step for the loss ``1/(2n) sum ||f - y||^2``
    relative to the largest at which gradient descent on the linear model converges."""
    theta_train = checks.array("theta_train", theta_train, ndim=2)
    lr_fraction = checks.positive("lr_fraction", lr_fraction)
    return lr_fraction * 2 * len(theta_train) / float(np.linalg.eigvalsh(theta_train)[-1])


# ----------------------------------------------------------------------------- networks


def train_network(X, Y, X_test, width, seed, lr, num_steps, centred=False):
    """A one-hidden-layer ReLU network (NTK parametrization) after ``num_steps`` of full-batch
    gradient descent on the squared loss, on one CPU thread.

    ``centred``: train ``g = f - f_0`` instead of ``f``, i.e. ``f`` on the targets
    ``Y + f_0(X)``, and predict ``f(x) - f_0(x)`` (the loss of ``g`` on ``Y`` is the loss of
    ``f`` on ``Y + f_0(X)``, term by term).

    Returns
    -------
    test : ndarray, shape (m, k)
        The prediction at ``X_test`` (of ``g`` when centred).
    f0_train, f0_test : ndarray, shapes (n, k) and (m, k)
        The network's outputs at initialization.
    """
    with nets.threads(1):  # small matrices: one thread beats two on a shared machine
        model = ntk.mlp((X.shape[1], width, Y.shape[1]), seed=seed)
        with torch.no_grad():
            f0_train = model(torch.as_tensor(X, dtype=torch.float32)).double().numpy()
            f0_test = model(torch.as_tensor(X_test, dtype=torch.float32)).double().numpy()
        target = Y + f0_train if centred else Y
        _, test = ntk.gradient_descent(model, X, target, lr, [num_steps], X_test=X_test)
    test = test[0] - f0_test if centred else test[0]
    return test, f0_train, f0_test


@dataclass(frozen=True)
class Result:
    """What :func:`experiment` returns.

    Kernels: ``nngp_error``, ``ntk_error`` (test error of the two regressors), ``gd_error``
    (the infinitely wide network after ``num_steps``, mean over initializations).
    Per (width, seed), shape (len(widths), len(seeds)): ``error`` and ``centred_error`` (test
    error of the plain and the centred network), ``distance`` and ``centred_distance`` (their
    :func:`relative_distance` to the infinite-width predictions after the same steps),
    ``same_init_distance`` (the plain network against the infinite-width network started
    from the same initial function ``f_0``). Ensembles of the first M plain networks at
    ``ensemble_width``: ``ensemble_sizes``, ``ensemble_error``, ``ensemble_distance``.
    Large step at ``large_lr_width``, per seed: ``large_lr_error``, ``large_lr_centred_error``,
    ``large_lr_distance`` (centred, to the same reference).
    """

    n_train: int
    n_test: int
    widths: tuple
    seeds: tuple
    num_steps: int
    lr: float
    nngp_error: float
    ntk_error: float
    gd_error: float
    gd_train_mse: float
    error: np.ndarray
    centred_error: np.ndarray
    distance: np.ndarray
    centred_distance: np.ndarray
    same_init_distance: np.ndarray
    ensemble_sizes: tuple
    ensemble_error: np.ndarray
    ensemble_distance: np.ndarray
    large_lr_error: np.ndarray
    large_lr_centred_error: np.ndarray
    large_lr_distance: np.ndarray
    run_time_s: float


@cached
def experiment(
    n_train,
    n_test,
    data_seed,
    widths,
    seeds,
    num_steps,
    lr_fraction,
    ensemble_width,
    ensemble_seeds,
    large_lr_fraction,
    large_lr_width,
):
    """Finite networks of growing width against their infinite-width kernels. Cached.

    One MNIST subset (:func:`mnist_subset`, ``data_seed``); the NNGP and NTK of the
    one-hidden-layer ReLU network (:func:`generalization.ntk.relu_kernels`); the step
    :func:`step_size` of ``lr_fraction`` for every network; each network's initialization
    drawn from its seed. See :class:`Result` for what is measured.

    Returns
    -------
    Result
    """
    widths = checks.integers("widths", widths, minimum=1)
    seeds = checks.integers("seeds", seeds, minimum=0)
    ensemble_seeds = checks.integers("ensemble_seeds", ensemble_seeds, minimum=0)
    num_steps = checks.count("num_steps", num_steps)
    start = time.perf_counter()
    X, y, X_test, y_test = mnist_subset(n_train, n_test, data_seed)
    Y = one_hot_targets(y)
    nngp, theta = ntk.relu_kernels(np.vstack([X, X_test]), None, depth=1)
    train, test = slice(0, n_train), slice(n_train, None)
    theta_train, theta_test = theta[train, train], theta[test, train]
    lr = step_size(theta_train, lr_fraction)
    zeros_train, zeros_test = np.zeros_like(Y), np.zeros((n_test, N_CLASSES))

    def infinite(f0_train, f0_test, lr_=lr, steps=num_steps):
        """The infinitely wide network after ``steps`` steps, from initial function f_0."""
        return ntk.gd_predictions(
            theta_train, theta_test, f0_train, f0_test, Y, lr_, [steps]
        )  # (train, test), each (1, n or m, k)

    gd_train, gd_test = infinite(zeros_train, zeros_test)
    mean = gd_test[0]  # the mean over initializations of the infinitely wide network
    shape = (len(widths), len(seeds))
    rows = {k: np.zeros(shape) for k in ("err", "cerr", "dist", "cdist", "sdist")}
    for i, width in enumerate(widths):
        for j, seed in enumerate(seeds):
            plain, f0, f0_test = train_network(X, Y, X_test, width, seed, lr, num_steps)
            centred = train_network(X, Y, X_test, width, seed, lr, num_steps, centred=True)[0]
            rows["err"][i, j] = error(plain, y_test)
            rows["cerr"][i, j] = error(centred, y_test)
            rows["dist"][i, j] = relative_distance(plain, mean)
            rows["cdist"][i, j] = relative_distance(centred, mean)
            same = infinite(f0, f0_test)[1][0]
            rows["sdist"][i, j] = relative_distance(plain, same)
    members = np.array(
        [
            train_network(X, Y, X_test, ensemble_width, seed, lr, num_steps)[0]
            for seed in ensemble_seeds
        ]
    )
    sizes = tuple(int(2**p) for p in range(int(np.log2(len(members))) + 1))
    ens = [members[:size].mean(axis=0) for size in sizes]
    large_lr = step_size(theta_train, large_lr_fraction)
    large = [
        (
            train_network(X, Y, X_test, large_lr_width, seed, large_lr, num_steps)[0],
            train_network(X, Y, X_test, large_lr_width, seed, large_lr, num_steps, True)[0],
        )
        for seed in seeds
    ]
    return Result(
        n_train=n_train,
        n_test=n_test,
        widths=widths,
        seeds=seeds,
        num_steps=num_steps,
        lr=lr,
        nngp_error=error(kernel_regression(nngp[train, train], nngp[test, train], Y), y_test),
        ntk_error=error(kernel_regression(theta_train, theta_test, Y), y_test),
        gd_error=error(mean, y_test),
        gd_train_mse=float(np.mean((gd_train[0] - Y) ** 2)),
        error=rows["err"],
        centred_error=rows["cerr"],
        distance=rows["dist"],
        centred_distance=rows["cdist"],
        same_init_distance=rows["sdist"],
        ensemble_sizes=sizes,
        ensemble_error=np.array([error(e, y_test) for e in ens]),
        ensemble_distance=np.array([relative_distance(e, mean) for e in ens]),
        large_lr_error=np.array([error(p, y_test) for p, _ in large]),
        large_lr_centred_error=np.array([error(c, y_test) for _, c in large]),
        large_lr_distance=np.array([relative_distance(c, mean) for _, c in large]),
        run_time_s=time.perf_counter() - start,
    )

"""Experiments of the chapter *Sharpness and sharpness-aware minimization*.

Foret, Kleiner, Mobahi and Neyshabur (2021) train with SAM (:class:`generalization.sam.SAM`),
which takes each gradient at the worst point of a small ball around the weights, and report
lower test error than SGD on CIFAR-10/100 and ImageNet, and a much smaller top Hessian
eigenvalue at the end of training. Two later findings frame what such a comparison can mean:

* Cohen, Kaur, Li, Kolter and Talwalkar (2021): full-batch gradient descent with step ``lr``
  drives the top Hessian eigenvalue of the training loss up to about ``2 / lr`` and keeps it
  there (the *edge of stability*), so the sharpness of a solution depends on the learning
  rate that found it, and only runs at equal learning rates can be compared;
* Andriushchenko and Flammarion (2022): SAM whose ascent step uses the gradient of the whole
  training set ("n-SAM") does not improve generalization on CIFAR-10 while SAM on mini-batches
  ("m-SAM") does, although both reduce sharpness; flatness alone does not explain the gain.

This module runs, on MNIST subsets with a one-hidden-layer ReLU network:

* :func:`edge_of_stability`: full-batch gradient descent on the squared loss at a few
  learning rates, recording the top Hessian eigenvalue
  (:func:`generalization.landscape.top_hessian_eigenvalues`) along the way;
* :func:`compare`: SGD, SAM (ascent on the mini-batch) and n-SAM (ascent on the whole training
  subset), at the same learning rate, batch size, data order and initialization, several
  seeds; the top Hessian eigenvalue of the training loss on a fixed subset, the training loss
  and the test error of each.

Differences from the papers: MNIST subsets of a few thousand images and a small MLP instead
of CIFAR and ResNets; no momentum, weight decay, augmentation or schedule (plain SGD with a
constant step, so that the base optimizer is the one the edge-of-stability argument is about);
Cohen et al. measure on CIFAR-10 subsets with several architectures.

References
----------
Foret, Kleiner, Mobahi, Neyshabur (2021), *Sharpness-aware minimization for efficiently
improving generalization*, ICLR, https://arxiv.org/abs/2010.01412.
Cohen, Kaur, Li, Kolter, Talwalkar (2021), *Gradient descent on neural networks typically
occurs at the edge of stability*, ICLR, https://arxiv.org/abs/2103.00065.
Andriushchenko, Flammarion (2022), *Towards understanding sharpness-aware minimization*,
ICML, https://arxiv.org/abs/2206.06232.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, data, landscape, nets, settings_for
from generalization.book.cache import cached
from generalization.sam import SAM

SETTINGS = {
    "quick": dict(
        edge=dict(seed=0, n_samples=500, hidden=64, lrs=(0.15, 0.25, 0.4), num_steps=300, every=30),
        compare=dict(
            seeds=(0, 1, 2),
            n_train=1000,
            n_test=5000,
            n_sharpness=1000,
            hidden=32,
            lr=0.3,
            lr_small=0.1,
            batch_size=100,
            num_epochs=30,
            rho=0.1,
        ),
    ),
    "full": dict(
        edge=dict(
            seed=0,
            n_samples=5000,
            hidden=128,
            lrs=(0.1, 0.15, 0.25, 0.4),
            num_steps=2000,
            every=50,
        ),
        compare=dict(
            seeds=tuple(range(5)),
            n_train=5000,
            n_test=10000,
            n_sharpness=2000,
            hidden=128,
            lr=0.3,
            lr_small=0.1,
            batch_size=100,
            num_epochs=60,
            rho=0.1,
        ),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

Quick runs in under 90 s on 2 CPU cores; full uses the whole test set and larger subsets."""

METHODS = ("SGD", "SAM", "n-SAM")
"""The training procedures of :func:`compare`, in the order of its result arrays."""

SHARPNESS_TOL = 1e-3
"""Relative tolerance of the Lanczos iteration for the top Hessian eigenvalue."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


def square_loss(outputs, y):
    """``(1/2n) sum_i ||f(x_i) - e_{y_i}||^2``: the squared loss on one-hot targets.

    Cohen et al. (2021) use the squared loss for most of their experiments. Its scale does
    not move the stability threshold: gradient descent on ``L`` is stable near a minimum when
    the top eigenvalue of the Hessian of the same ``L`` is below ``2 / lr``.

    Parameters
    ----------
    outputs : torch.Tensor of shape (n, n_classes)
    y : torch.Tensor of shape (n,), int64 labels
    """
    import torch.nn.functional as F

    target = F.one_hot(y, outputs.shape[1]).to(outputs.dtype)
    return 0.5 * ((outputs - target) ** 2).sum(dim=1).mean()


def mnist_subset(n_samples, seed, split="train"):
    """A class-stratified MNIST subset as torch tensors ``(X, y)``: float32 (n, 784), int64."""
    import torch

    mnist = data.load_mnist()
    X, y = (mnist.X_train, mnist.y_train) if split == "train" else (mnist.X_test, mnist.y_test)
    X, y = data.subsample(X, y, n_samples, seed, stratified=True)
    return torch.tensor(X), torch.tensor(y)


def sharpness(model, X, y, loss_fn=None):
    """The top eigenvalue of the Hessian of the loss on ``(X, y)`` in the model's parameters.

    Lanczos (:func:`generalization.landscape.top_hessian_eigenvalues`, seed 0) with relative
    tolerance :data:`SHARPNESS_TOL`; ``loss_fn`` defaults to the cross-entropy.
    """
    import torch.nn.functional as F

    loss_fn = F.cross_entropy if loss_fn is None else loss_fn
    values = landscape.top_hessian_eigenvalues(
        model, loss_fn, X, y, k=1, which="largest", tol=SHARPNESS_TOL, seed=0
    )
    return float(values[0])


def tracked_sharpness(model, loss_fn, X, y, v0=None, ncv=8):
    """The top Hessian eigenvalue and its eigenvector, by Lanczos started from ``v0``.

    For following the sharpness along a training run: started from the previous
    measurement's eigenvector, ARPACK's Lanczos (``scipy.sparse.linalg.eigsh``, ``k = 1``,
    largest algebraic, relative tolerance :data:`SHARPNESS_TOL`, ``ncv`` Lanczos vectors)
    needs a few dozen Hessian-vector products instead of the hundred or so of a cold start.
    The products reuse one gradient graph (``create_graph=True``) for every product.
    :func:`generalization.landscape.top_hessian_eigenvalues` has neither a starting vector
    nor a reusable graph; the unit tests check that the two agree.

    Parameters
    ----------
    model : torch.nn.Module
    loss_fn : callable
        ``loss_fn(outputs, y)``, a mean over the examples.
    X, y : torch.Tensor
    v0 : ndarray of shape (P,), optional
        Starting vector (default: Gaussian from seed 0).
    ncv : int
        Lanczos vectors kept between restarts.

    Returns
    -------
    value : float
    vector : ndarray of shape (P,), unit norm
    """
    import torch
    from scipy.sparse.linalg import LinearOperator, eigsh

    params = list(model.parameters())
    sizes = [p.numel() for p in params]
    grads = torch.autograd.grad(loss_fn(model(X), y), params, create_graph=True)

    def matvec(vector):
        v = torch.as_tensor(np.asarray(vector, dtype=float).reshape(-1), dtype=params[0].dtype)
        pieces = [piece.view_as(p) for piece, p in zip(torch.split(v, sizes), params)]
        # H v = grad <grad L, v>, through the kept graph of grad L
        hv = torch.autograd.grad(grads, params, grad_outputs=pieces, retain_graph=True)
        return torch.cat([h.reshape(-1) for h in hv]).double().numpy()

    size = sum(sizes)
    v0 = np.random.default_rng(0).standard_normal(size) if v0 is None else v0
    operator = LinearOperator((size, size), matvec=matvec, dtype=np.float64)
    values, vectors = eigsh(operator, k=1, which="LA", tol=SHARPNESS_TOL, v0=v0, ncv=ncv)
    return float(values[0]), vectors[:, 0]


@dataclass(frozen=True)
class EdgeResult:
    """What :func:`edge_of_stability` returns.

    ``steps``: the steps at which the sharpness was measured (0 = initialization);
    ``sharpness`` and ``loss``: arrays of shape (len(lrs), len(steps)), the top Hessian
    eigenvalue of the squared loss and the loss itself, on the training set.
    """

    lrs: tuple
    steps: np.ndarray
    sharpness: np.ndarray
    loss: np.ndarray
    run_time_s: float


@cached
def edge_of_stability(seed, n_samples, hidden, lrs, num_steps, every):
    """Full-batch gradient descent on the squared loss at each learning rate. Cached.

    One MNIST subset (:func:`mnist_subset` of ``seed``) and one initialization
    (:func:`generalization.nets.mlp` of ``seed``) shared by every learning rate; ``w <- w - lr
    grad L(w)`` for ``num_steps`` steps, with the top Hessian eigenvalue of
    :func:`square_loss` every ``every`` steps (:func:`tracked_sharpness`, each measurement
    started from the previous eigenvector).

    Parameters
    ----------
    seed, n_samples, hidden : int
    lrs : sequence of float
    num_steps, every : int

    Returns
    -------
    EdgeResult
    """
    import torch

    lrs = tuple(float(v) for v in checks.numbers("lrs", lrs, low=0, low_open=True))
    num_steps = checks.count("num_steps", num_steps)
    every = checks.count("every", every, maximum=num_steps)
    X, y = mnist_subset(n_samples, seed)
    steps = np.arange(0, num_steps + 1, every)
    start = time.perf_counter()
    sharp = np.zeros((len(lrs), len(steps)))
    losses = np.zeros_like(sharp)
    with nets.threads(1):
        for i, lr in enumerate(lrs):
            model = nets.mlp(784, (hidden,), 10, seed=seed)
            opt = torch.optim.SGD(model.parameters(), lr=lr)
            k, vector = 0, None
            for t in range(num_steps + 1):
                if t == steps[k]:
                    sharp[i, k], vector = tracked_sharpness(model, square_loss, X, y, vector)
                    with torch.no_grad():
                        losses[i, k] = square_loss(model(X), y).item()
                    k = min(k + 1, len(steps) - 1)
                if t == num_steps:
                    break
                opt.zero_grad()
                square_loss(model(X), y).backward()
                opt.step()
    return EdgeResult(
        lrs=lrs, steps=steps, sharpness=sharp, loss=losses, run_time_s=time.perf_counter() - start
    )


def train(method, X, y, *, seed, hidden, lr, batch_size, num_epochs, rho):
    """Train :func:`generalization.nets.mlp` on ``(X, y)`` with SGD, SAM or n-SAM.

    All three take the same steps of plain SGD (constant ``lr``, no momentum) on the same
    mini-batches, drawn without replacement in an order fixed by ``seed``; they differ only in
    where the gradient of the step is taken:

    * ``"SGD"``: at ``w``, on the mini-batch;
    * ``"SAM"``: at ``w + rho g_B / ||g_B||``, ``g_B`` the mini-batch gradient (Foret et al.);
    * ``"n-SAM"``: at ``w + rho g / ||g||``, ``g`` the gradient on all of ``(X, y)``; the
      gradient at that point is still the mini-batch's (Andriushchenko and Flammarion).

    Returns
    -------
    torch.nn.Module
    """
    import torch
    import torch.nn.functional as F

    checks.choice("method", method, METHODS)
    n = X.shape[0]
    batch_size = checks.count("batch_size", batch_size, maximum=n)
    model = nets.mlp(784, (hidden,), 10, seed=seed)
    if method == "SGD":
        opt = torch.optim.SGD(model.parameters(), lr=lr)
    else:
        opt = SAM(model.parameters(), torch.optim.SGD, rho=rho, lr=lr)
    generator = nets.seed_everything(seed)
    for _ in range(checks.count("num_epochs", num_epochs)):
        order = torch.randperm(n, generator=generator)
        for first in range(0, n - batch_size + 1, batch_size):
            index = order[first : first + batch_size]
            xb, yb = X[index], y[index]
            opt.zero_grad()
            if method == "SGD":
                F.cross_entropy(model(xb), yb).backward()
                opt.step()
                continue
            ascent_X, ascent_y = (X, y) if method == "n-SAM" else (xb, yb)
            F.cross_entropy(model(ascent_X), ascent_y).backward()
            opt.first_step(zero_grad=True)
            F.cross_entropy(model(xb), yb).backward()
            opt.second_step(zero_grad=True)
    return model


@dataclass(frozen=True)
class CompareResult:
    """What :func:`compare` returns.

    Arrays of shape (len(seeds), len(methods)): ``sharpness`` (top Hessian eigenvalue of the
    cross-entropy on the first ``n_sharpness`` training examples), ``train_loss`` and
    ``train_error`` (on the whole training subset), ``test_error``; ``train_time_s`` the
    seconds each training took. ``small_lr_sharpness`` and ``small_lr_test_error``, shape
    (len(seeds),): the same measurements for SGD at the smaller learning rate ``lr_small``.
    """

    seeds: tuple
    methods: tuple
    lr: float
    lr_small: float
    small_lr_sharpness: np.ndarray
    small_lr_test_error: np.ndarray
    sharpness: np.ndarray
    train_loss: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    train_time_s: np.ndarray
    run_time_s: float


def _loss_and_error(model, X, y):
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        out = model(X)
        return F.cross_entropy(out, y).item(), (out.argmax(1) != y).float().mean().item()


@cached
def compare(seeds, n_train, n_test, n_sharpness, hidden, lr, lr_small, batch_size, num_epochs, rho):
    """SGD, SAM and n-SAM at one learning rate and batch size, per seed. Cached.

    Per seed: a stratified training subset of ``n_train`` images (:func:`mnist_subset` of the
    seed), the network initialized from the seed, and each method of :func:`train` at ``lr``;
    then SGD alone at ``lr_small``, the same in everything else. The test set is one subset
    of ``n_test`` test images (seed 0) for every seed.

    Returns
    -------
    CompareResult
    """
    seeds = checks.integers("seeds", seeds)
    rho = checks.positive("rho", rho)
    n_sharpness = checks.count("n_sharpness", n_sharpness, maximum=n_train)
    X_test, y_test = mnist_subset(n_test, 0, split="test")
    shape = (len(seeds), len(METHODS))
    out = {k: np.zeros(shape) for k in ("sharpness", "train_loss", "train_error", "test_error")}
    times = np.zeros(shape)
    small = np.zeros((2, len(seeds)))  # sharpness, test error of SGD at lr_small
    common = dict(hidden=hidden, batch_size=batch_size, num_epochs=num_epochs, rho=rho)
    start = time.perf_counter()
    with nets.threads(1):
        for s, seed in enumerate(seeds):
            X, y = mnist_subset(n_train, seed)
            for m, method in enumerate(METHODS):
                t0 = time.perf_counter()
                model = train(method, X, y, seed=seed, lr=lr, **common)
                times[s, m] = time.perf_counter() - t0
                out["train_loss"][s, m], out["train_error"][s, m] = _loss_and_error(model, X, y)
                out["test_error"][s, m] = _loss_and_error(model, X_test, y_test)[1]
                out["sharpness"][s, m] = sharpness(model, X[:n_sharpness], y[:n_sharpness])
            model = train("SGD", X, y, seed=seed, lr=lr_small, **common)
            small[0, s] = sharpness(model, X[:n_sharpness], y[:n_sharpness])
            small[1, s] = _loss_and_error(model, X_test, y_test)[1]
    return CompareResult(
        seeds=seeds,
        methods=METHODS,
        lr=float(lr),
        lr_small=float(lr_small),
        small_lr_sharpness=small[0],
        small_lr_test_error=small[1],
        train_time_s=times,
        run_time_s=time.perf_counter() - start,
        **out,
    )

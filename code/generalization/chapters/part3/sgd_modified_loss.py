"""Experiments of the chapter *The modified loss of gradient descent and SGD*.

Barrett and Dherin (2021) show by backward error analysis that gradient descent with a
finite learning rate ``lr`` follows, to second order, the gradient flow of the modified
loss ``C + (lr/4) ||grad C||^2``; Smith, Dherin, Barrett and De (2021) extend this to SGD
with random shuffling: averaged over the orders of the batches, one epoch follows the flow of
``C + (lr/(4m)) sum_k ||grad C_k||^2`` to third order, a penalty on the mini-batch gradients
that full-batch gradient descent lacks. Smith et al. test the consequence on CIFAR-10 with
Wide-ResNets: adding the penalty explicitly raises the test accuracy of small learning
rates. This chapter runs two experiments:

* :func:`orders_experiment`: a two-layer tanh network on eight points, small enough to
  integrate every flow to ten digits (:func:`generalization.modified_loss.gradient_flow`),
  measures how the distance between gradient descent (or one SGD epoch, averaged over all
  orders of its batches) and each flow shrinks with the learning rate: the orders one, two
  and three of the theory;
* :func:`mnist_experiment`: a one-hidden-layer ReLU network on a subset of MNIST, trained by
  SGD, by full-batch gradient descent, and by gradient descent on the SGD modified loss (the
  penalty added explicitly, computed exactly by double backpropagation), at the same
  learning rate and number of steps; it records the test accuracy and the two regularizers,
  the mean squared norm of the mini-batch gradients and the squared norm of the full
  gradient, along the way.

Differences from the papers: no CIFAR-10 (no network access), so no Wide-ResNet; our network
is small, the images are average-pooled to 14 x 14 pixels and a thousand of them are used,
which keeps the double backpropagation of the explicit penalty within the page's time
budget. The explicit penalty is added to full-batch gradient descent, with a fixed partition
of the data into batches, where Smith et al. add it to SGD.

References
----------
Barrett, Dherin (2021), *Implicit gradient regularization*, ICLR,
https://arxiv.org/abs/2009.11162.
Smith, Dherin, Barrett, De (2021), *On the origin of implicit regularization in stochastic
gradient descent*, ICLR, https://arxiv.org/abs/2101.12176.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, data, modified_loss, nets, settings_for
from generalization.book.cache import cached

SETTINGS = {
    "quick": dict(
        orders=dict(
            seeds=(0, 1, 2),
            n_points=8,
            n_batches=4,
            hidden=3,
            horizon=2.0,
            gd_steps=(8, 16, 32, 64, 128),
            sgd_lrs=(0.04, 0.02, 0.01, 0.005, 0.0025),
        ),
        mnist=dict(
            seeds=(0, 1, 2),
            n_train=1000,
            pool=2,
            hidden=64,
            lr=0.6,
            batch_size=25,
            num_epochs=15,
        ),
        mnist_small_lr=dict(
            seeds=(0, 1, 2),
            n_train=1000,
            pool=2,
            hidden=64,
            lr=0.3,
            batch_size=25,
            num_epochs=15,
            recipes=("SGD", "GD"),
        ),
    ),
    "full": dict(
        orders=dict(
            seeds=tuple(range(5)),
            n_points=8,
            n_batches=4,
            hidden=3,
            horizon=2.0,
            gd_steps=(8, 16, 32, 64, 128, 256, 512),
            sgd_lrs=(0.04, 0.02, 0.01, 0.005, 0.0025, 0.00125),
        ),
        mnist=dict(
            seeds=tuple(range(10)),
            n_train=2000,
            pool=1,
            hidden=128,
            lr=0.6,
            batch_size=25,
            num_epochs=20,
        ),
        mnist_small_lr=dict(
            seeds=tuple(range(10)),
            n_train=2000,
            pool=1,
            hidden=128,
            lr=0.3,
            batch_size=25,
            num_epochs=20,
            recipes=("SGD", "GD"),
        ),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

``orders``: the toy problem (``n_points`` inputs in the plane, ``n_batches`` equal batches,
a tanh layer of width ``hidden``), gradient descent run for ``gd_steps`` steps up to the time
``horizon`` (so ``lr = horizon / steps``), one SGD epoch at each of ``sgd_lrs``.
``mnist``: ``n_train`` training images average-pooled by ``pool`` (2: 14 x 14 pixels),
``num_epochs`` epochs of ``n_train / batch_size`` steps at learning rate ``lr`` for every
recipe; ``mnist_small_lr`` the same for SGD and GD at half the learning rate. Quick runs in
well under a minute on 2 CPU cores; full uses every pixel, more data, a wider network and ten
seeds."""

RECIPES = ("SGD", "GD", "GD + penalty")
"""The three ways :func:`mnist_experiment` trains: mini-batch SGD with random reshuffling,
full-batch gradient descent, and full-batch gradient descent on the SGD modified loss."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


# ------------------------------------------------------------------ the toy problem: orders


@dataclass(frozen=True)
class ToyProblem:
    """A two-layer tanh network ``f(x) = a . tanh(W x)`` on a few points, in float64.

    ``param`` is the flat parameter vector ``(W, a)`` (a torch tensor the losses read);
    ``w0`` the starting point; ``loss_fn()`` the full loss ``C`` and ``batch_loss_fns[k]()``
    the loss ``C_k`` of batch ``k``, with ``C = (1/m) sum_k C_k``.
    """

    param: object
    w0: np.ndarray
    loss_fn: object
    batch_loss_fns: tuple


def toy_problem(seed, n_points=8, n_batches=4, hidden=3):
    """The small smooth non-convex problem of :func:`orders_experiment`.

    Inputs ``x_i`` are standard Gaussian in the plane, targets ``y_i = sin(2 x_i1) + 0.3 e_i``;
    the loss of a set of points is half their mean squared error. The points are split in
    order into ``n_batches`` batches of equal size; ``w0`` has independent ``N(0, 0.7^2)``
    entries.
    """
    import torch

    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    n_batches = checks.count("n_batches", n_batches)
    n_points = checks.count("n_points", n_points)
    hidden = checks.count("hidden", hidden)
    if n_points % n_batches:
        raise ValueError(f"n_points must be a multiple of n_batches ({n_batches}); got {n_points}.")
    X = torch.as_tensor(rng.standard_normal((n_points, 2)))
    y = torch.sin(2 * X[:, 0]) + 0.3 * torch.as_tensor(rng.standard_normal(n_points))
    size = 2 * hidden + hidden
    param = torch.zeros(size, dtype=torch.float64, requires_grad=True)
    w0 = 0.7 * rng.standard_normal(size)

    def loss_on(index):
        W, a = param[: 2 * hidden].reshape(hidden, 2), param[2 * hidden :]
        residual = torch.tanh(X[index] @ W.T) @ a - y[index]
        return 0.5 * torch.mean(residual**2)

    batches = np.arange(n_points).reshape(n_batches, -1)
    return ToyProblem(
        param=param,
        w0=w0,
        loss_fn=lambda: loss_on(np.arange(n_points)),
        batch_loss_fns=tuple((lambda index=index: loss_on(index)) for index in batches),
    )


ORDER_KINDS = {
    "gd_vs_flow": "GD vs the flow of L",
    "gd_vs_modified": "GD vs the flow of the GD modified loss",
    "mean_vs_sgd_flow": "mean SGD epoch vs the flow of the SGD modified loss",
    "mean_vs_flow": "mean SGD epoch vs the flow of L",
    "mean_vs_gd_flow": "mean SGD epoch vs the flow of the GD modified loss",
    "one_vs_sgd_flow": "one SGD order vs the flow of the SGD modified loss",
}
"""The distances :func:`orders_experiment` measures, and what each compares (``L`` the loss,
``C`` in the module docstring)."""


@dataclass(frozen=True)
class OrdersResult:
    """What :func:`orders_experiment` returns.

    ``gd_lrs`` (K,) and ``sgd_lrs`` (L,) the learning rates; ``errors[kind]`` of shape
    (len(seeds), K) for the two ``gd_*`` kinds of :data:`ORDER_KINDS` and (len(seeds), L) for
    the others: Euclidean distances in parameter space; ``slopes[kind]`` (len(seeds),) their
    orders (:func:`generalization.modified_loss.order_of_accuracy`); ``local_slopes[kind]``
    the slopes between neighbouring learning rates, shape (len(seeds), K - 1 or L - 1).
    """

    seeds: tuple
    horizon: float
    n_batches: int
    gd_lrs: np.ndarray
    sgd_lrs: np.ndarray
    errors: dict
    slopes: dict
    local_slopes: dict
    run_time_s: float


def _flow_end(loss_fn, param, w0, time_):
    grad_fn = modified_loss.numpy_gradient(loss_fn, param)
    return modified_loss.gradient_flow(grad_fn, w0, [time_])[-1]


def _toy_errors(problem, horizon, gd_steps, sgd_lrs):
    """The six distances of :data:`ORDER_KINDS` for one problem."""
    ml, p, w0 = modified_loss, problem.param, problem.w0
    grad = ml.numpy_gradient(problem.loss_fn, p)
    batch_grads = [ml.numpy_gradient(fn, p) for fn in problem.batch_loss_fns]
    m = len(batch_grads)
    errors = {kind: [] for kind in ORDER_KINDS}
    flow_at_horizon = ml.gradient_flow(grad, w0, [horizon])[-1]
    for steps in gd_steps:
        lr = horizon / steps
        gd = ml.gd_path(grad, w0, lr, steps)[-1]
        modified = _flow_end(ml.modified_loss_gd(problem.loss_fn, lr, [p]), p, w0, horizon)
        errors["gd_vs_flow"].append(np.linalg.norm(gd - flow_at_horizon))
        errors["gd_vs_modified"].append(np.linalg.norm(gd - modified))
    for lr in sgd_lrs:
        epoch_time = m * lr  # one epoch of m steps is time m * lr of the flows
        mean = ml.mean_over_orders(batch_grads, w0, lr)
        one = ml.sgd_epoch(batch_grads, w0, lr)[-1]
        sgd_flow = _flow_end(
            ml.modified_loss_sgd(problem.batch_loss_fns, lr, [p]), p, w0, epoch_time
        )
        gd_flow = _flow_end(ml.modified_loss_gd(problem.loss_fn, lr, [p]), p, w0, epoch_time)
        plain = ml.gradient_flow(grad, w0, [epoch_time])[-1]
        errors["mean_vs_sgd_flow"].append(np.linalg.norm(mean - sgd_flow))
        errors["mean_vs_flow"].append(np.linalg.norm(mean - plain))
        errors["mean_vs_gd_flow"].append(np.linalg.norm(mean - gd_flow))
        errors["one_vs_sgd_flow"].append(np.linalg.norm(one - sgd_flow))
    return errors


@cached
def orders_experiment(seeds, n_points, n_batches, hidden, horizon, gd_steps, sgd_lrs):
    """Distances between the discrete methods and the flows, against the learning rate. Cached.

    For each seed, one :func:`toy_problem`. Gradient descent runs ``steps`` steps of
    ``lr = horizon / steps`` and is compared at time ``horizon`` with the flow of ``C`` and
    with the flow of ``C_GD`` at its own ``lr``. One SGD epoch (the batches in turn, and the
    mean over all their orders) runs at each of ``sgd_lrs`` and is compared at time
    ``n_batches * lr`` with the flows of ``C``, ``C_GD`` and ``C_SGD``.

    Returns
    -------
    OrdersResult
    """
    seeds = checks.integers("seeds", seeds)
    horizon = checks.positive("horizon", horizon)
    gd_steps = checks.integers("gd_steps", gd_steps, minimum=1, min_length=2, distinct=True)
    sgd_lrs = checks.numbers("sgd_lrs", sgd_lrs, low=0, low_open=True)
    start = time.perf_counter()
    with nets.threads(1):
        runs = [
            _toy_errors(toy_problem(seed, n_points, n_batches, hidden), horizon, gd_steps, sgd_lrs)
            for seed in seeds
        ]
    gd_lrs = horizon / np.array(gd_steps, dtype=float)
    errors = {kind: np.array([run[kind] for run in runs]) for kind in ORDER_KINDS}
    slopes, local = {}, {}
    for kind, values in errors.items():
        lrs = gd_lrs if kind.startswith("gd") else sgd_lrs
        slopes[kind] = np.array([modified_loss.order_of_accuracy(lrs, e) for e in values])
        local[kind] = np.diff(np.log(values), axis=1) / np.diff(np.log(lrs))
    return OrdersResult(
        seeds=seeds,
        horizon=horizon,
        n_batches=n_batches,
        gd_lrs=gd_lrs,
        sgd_lrs=np.asarray(sgd_lrs, dtype=float),
        errors=errors,
        slopes=slopes,
        local_slopes=local,
        run_time_s=time.perf_counter() - start,
    )


# -------------------------------------------------------------------------- MNIST network


def pool_images(X, factor):
    """Average-pool flat 28 x 28 images by ``factor`` (1, 2, 4, 7 or 14): shape (n, (28/f)^2)."""
    X = checks.array("X", X, ndim=2)
    factor = checks.choice("factor", factor, (1, 2, 4, 7, 14))
    if X.shape[1] != 784:
        raise ValueError(f"X must hold flat 28 x 28 images (784 columns); got {X.shape[1]}.")
    side = 28 // factor
    pooled = X.reshape(-1, side, factor, side, factor).mean(axis=(2, 4))
    return pooled.reshape(-1, side * side).astype(np.float32)


def batch_losses_and_gradient_norms(model, X, y, partition, create_graph=False):
    """The mean cross-entropy ``C_k`` of each batch and the squared norm of its gradient.

    Parameters
    ----------
    model : torch.nn.Module
    X : torch.Tensor, shape (n, d); y : torch.Tensor, shape (n,), int64
    partition : torch.Tensor, shape (m, B), int64
        Row ``k`` holds the indices of batch ``k``.
    create_graph : bool
        Keep the graph, so that both results can be differentiated by the model's parameters
        (double backpropagation for the norms); otherwise the parameters are detached.

    Returns
    -------
    losses, norms : torch.Tensor, shape (m,) each
        ``C_k`` and ``||grad C_k||^2`` for every batch, computed for all batches at once
        (``torch.func.vmap`` over ``torch.func.grad_and_value``).
    """
    import torch.nn.functional as F
    from torch.func import functional_call, grad_and_value, vmap

    params = {name: (p if create_graph else p.detach()) for name, p in model.named_parameters()}

    def batch_loss(params_, xb, yb):
        return F.cross_entropy(functional_call(model, params_, (xb,)), yb)

    grads, losses = vmap(grad_and_value(batch_loss), in_dims=(None, 0, 0))(
        params, X[partition], y[partition]
    )
    return losses, sum((g**2).flatten(start_dim=1).sum(dim=1) for g in grads.values())


def _full_gradient_norm(model, X, y):
    import torch
    import torch.nn.functional as F

    loss = F.cross_entropy(model(X), y)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    return float(sum((g**2).sum() for g in grads))


QUANTITIES = ("train_loss", "test_acc", "batch_grad_sq", "full_grad_sq")
"""What :func:`train_recipe` records per epoch: the training loss ``C``, the test accuracy,
the mean over the batches of a fixed measuring partition of ``||grad C_k||^2``, and
``||grad C||^2``."""


def _record(model, X, y, X_test, y_test, partition):
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        train_loss = float(F.cross_entropy(model(X), y))
        test_acc = float((model(X_test).argmax(1) == y_test).double().mean())
    batch = float(batch_losses_and_gradient_norms(model, X, y, partition)[1].mean())
    return train_loss, test_acc, batch, _full_gradient_norm(model, X, y)


def train_recipe(recipe, model, X, y, X_test, y_test, *, lr, batch_size, num_epochs, seed):
    """Train ``model`` in place by one of :data:`RECIPES`; record :data:`QUANTITIES` per epoch.

    All three take ``num_epochs * n / batch_size`` steps of ``lr`` (the same time of the
    flows): ``"SGD"`` one step per batch of a fresh random partition every epoch (random
    reshuffling); ``"GD"`` a step on the full mean cross-entropy ``C``; ``"GD + penalty"`` a
    step on ``C + (lr/(4m)) sum_k ||grad C_k||^2`` with a fixed random partition into
    ``m = n / batch_size`` batches (Smith et al.'s modified loss, Eq. (1)).

    The quantities are recorded twice at the end of every epoch: at the last iterate, and at
    the average of the epoch's ``m`` iterates (a time average that removes most of the jitter
    of SGD's iterate around the path the theory describes; for gradient descent it lags its
    last iterate by about half an epoch).

    Parameters
    ----------
    recipe : one of :data:`RECIPES`
    model : torch.nn.Module
    X, y : torch.Tensor, shapes (n, d) and (n,); X_test, y_test likewise
    lr : float
    batch_size : int, dividing n
    num_epochs : int
    seed : int
        Seeds the partitions: an independent one on which the mean batch-gradient norm is
        measured, the penalty's fixed one, and SGD's order in every epoch (drawn by every
        recipe, so the three see the same random numbers).

    Returns
    -------
    last, averaged : ndarray, shape (num_epochs + 1, len(QUANTITIES)) each
        Row 0 is the initialization, row ``e`` the end of epoch ``e``.
    """
    import copy

    import torch
    import torch.nn.functional as F

    recipe = checks.choice("recipe", recipe, RECIPES)
    n = int(X.shape[0])
    batch_size = checks.count("batch_size", batch_size, maximum=n)
    if n % batch_size:
        raise ValueError(f"batch_size must divide the {n} training examples; got {batch_size}.")
    m = n // batch_size
    lr = checks.positive("lr", lr)
    generator = nets.seed_everything(seed)
    measure = torch.randperm(n, generator=generator).reshape(m, batch_size)
    fixed = torch.randperm(n, generator=generator).reshape(m, batch_size)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    averaged = copy.deepcopy(model)
    last = [_record(model, X, y, X_test, y_test, measure)]
    mean = [last[0]]
    for _ in range(checks.count("num_epochs", num_epochs, minimum=0)):
        order = torch.randperm(n, generator=generator).reshape(m, batch_size)
        total = [torch.zeros_like(p) for p in model.parameters()]
        for k in range(m):
            opt.zero_grad(set_to_none=True)
            if recipe == "SGD":
                loss = F.cross_entropy(model(X[order[k]]), y[order[k]])
            elif recipe == "GD":
                loss = F.cross_entropy(model(X), y)
            else:  # C_SGD = (1/m) sum_k [C_k + (lr/4) ||grad C_k||^2], double backpropagation
                losses, norms = batch_losses_and_gradient_norms(model, X, y, fixed, True)
                loss = losses.mean() + lr / 4 * norms.mean()
            loss.backward()
            opt.step()
            with torch.no_grad():
                for t, p in zip(total, model.parameters()):
                    t.add_(p, alpha=1.0 / m)
        with torch.no_grad():
            for q, t in zip(averaged.parameters(), total):
                q.copy_(t)
        last.append(_record(model, X, y, X_test, y_test, measure))
        mean.append(_record(averaged, X, y, X_test, y_test, measure))
    return np.array(last), np.array(mean)


@dataclass(frozen=True)
class MnistResult:
    """What :func:`mnist_experiment` returns.

    ``last[q]`` and ``averaged[q]`` for each ``q`` of :data:`QUANTITIES`: arrays of shape
    (len(recipes), len(seeds), num_epochs + 1), in the order of ``recipes``,
    measured at the last iterate of each epoch and at the average of its iterates (see
    :func:`train_recipe`); test accuracies on all 10,000 test images. ``recipe_time_s``: the
    training time of each recipe, summed over seeds.
    """

    seeds: tuple
    recipes: tuple
    n_train: int
    n_pixels: int
    hidden: int
    n_batches: int
    lr: float
    batch_size: int
    num_epochs: int
    last: dict
    averaged: dict
    recipe_time_s: np.ndarray
    run_time_s: float


@cached
def mnist_experiment(seeds, n_train, pool, hidden, lr, batch_size, num_epochs, recipes=RECIPES):
    """SGD, full-batch GD and GD on the SGD modified loss, on an MNIST subset. Cached.

    For each seed: a stratified subset of ``n_train`` training images (the seed), pooled by
    ``pool``; one initialization of ``generalization.nets.mlp`` with one hidden layer of width
    ``hidden`` (the seed), the same for each of ``recipes`` (some of :data:`RECIPES`, run by
    :func:`train_recipe`). One torch thread.

    Returns
    -------
    MnistResult
    """
    import torch

    seeds = checks.integers("seeds", seeds)
    n_train = checks.count("n_train", n_train)
    num_epochs = checks.count("num_epochs", num_epochs)
    recipes = checks.selection("recipes", recipes, RECIPES)
    mnist = data.load_mnist()
    X_test = torch.as_tensor(pool_images(mnist.X_test, pool))
    y_test = torch.as_tensor(np.array(mnist.y_test))
    shape = (len(recipes), len(seeds), num_epochs + 1, len(QUANTITIES))
    last, averaged = np.zeros(shape), np.zeros(shape)
    recipe_time = np.zeros(len(recipes))
    start = time.perf_counter()
    with nets.threads(1):
        for s, seed in enumerate(seeds):
            X, y = data.subsample(mnist.X_train, mnist.y_train, n_train, seed, stratified=True)
            X, y = torch.as_tensor(pool_images(X, pool)), torch.as_tensor(y)
            init = nets.mlp(X.shape[1], (hidden,), 10, seed=seed).state_dict()
            for r, recipe in enumerate(recipes):
                model = nets.mlp(X.shape[1], (hidden,), 10, seed=seed)
                model.load_state_dict(init)
                begin = time.perf_counter()
                last[r, s], averaged[r, s] = train_recipe(
                    recipe,
                    model,
                    X,
                    y,
                    X_test,
                    y_test,
                    lr=lr,
                    batch_size=batch_size,
                    num_epochs=num_epochs,
                    seed=seed,
                )
                recipe_time[r] += time.perf_counter() - begin
    return MnistResult(
        seeds=seeds,
        recipes=recipes,
        n_train=n_train,
        n_pixels=int(X_test.shape[1]),
        hidden=hidden,
        n_batches=n_train // batch_size,
        lr=float(lr),
        batch_size=batch_size,
        num_epochs=num_epochs,
        last={q: last[..., j] for j, q in enumerate(QUANTITIES)},
        averaged={q: averaged[..., j] for j, q in enumerate(QUANTITIES)},
        recipe_time_s=recipe_time,
        run_time_s=time.perf_counter() - start,
    )

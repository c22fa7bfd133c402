"""Experiments of the chapter *The lottery ticket hypothesis, and rewinding*.

Frankle and Carbin (2019) train Lenet-300-100 on MNIST with Adam (learning rate 1.2e-3,
batches of 60), remove by magnitude 20% of each hidden layer's surviving weights and 10% of
the output layer's per round, reset the survivors to their initial values and train again.
The subnetworks found this way ("winning tickets") reach their minimum validation loss
sooner than the dense network and are at least as accurate at that point, down to a few
percent of the weights; the same masks with a fresh random initialization learn more slowly
and lose accuracy. Frankle, Dziugaite, Roy and Carbin (2019, 2020) reset the survivors to
the weights of an early iteration ``k`` of the dense run instead (*rewinding*), which deeper
networks need; for Lenet ``k = 0`` already works.

This module runs, with :mod:`generalization.pruning`:

* :func:`imp_experiment`: iterative magnitude pruning (IMP) of Lenet-300-100 from the weights
  of iteration ``k`` (``k = 0``: the original lottery ticket), once per seed, and, for chosen
  rounds, the random re-initialization control under the same mask; each run records the
  validation loss every ``eval_every`` iterations;
* :func:`make_train_fn`: the one training schedule every run follows, which records the
  early-stopping iteration (minimum validation loss) and the test accuracy there, Frankle
  and Carbin's two measures of a ticket.

Differences from the paper: at quick scale a stratified subset of MNIST (two thousand
training images, a held-out validation set drawn from the rest of the training images), a
few hundred iterations instead of 50,000, and a pruning rate per round larger than the
paper's, so that a handful of rounds reaches a few percent of the weights; the paper's rates
at full scale. Adam starts from a fresh state in every run (also after rewinding, where only
the weights are reset).

References
----------
Frankle, Carbin (2019), *The lottery ticket hypothesis: finding sparse, trainable neural
networks*, ICLR, https://arxiv.org/abs/1803.03635.
Frankle, Dziugaite, Roy, Carbin (2019), *Stabilizing the lottery ticket hypothesis*,
https://arxiv.org/abs/1903.01611.
Frankle, Dziugaite, Roy, Carbin (2020), *Linear mode connectivity and the lottery ticket
hypothesis*, ICML, https://arxiv.org/abs/1912.05671.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, data, nets, pruning, settings_for
from generalization.book.cache import cached

_DATA = dict(n_train=2000, n_val=1000, n_test=10_000)
_QUICK = dict(
    **_DATA,
    num_iterations=300,
    eval_every=25,
    lr=1.2e-3,
    batch_size=60,
    hidden_rate=0.6,
    output_rate=0.3,
    num_rounds=3,
)
_FULL = dict(
    n_train=55_000,
    n_val=5_000,
    n_test=10_000,
    num_iterations=50_000,
    eval_every=100,
    lr=1.2e-3,
    batch_size=60,
    hidden_rate=0.2,
    output_rate=0.1,
    num_rounds=18,
)
SETTINGS = {
    "quick": dict(
        tickets=dict(seeds=(0, 1), rewind_iteration=0, control_rounds=(2, 3), **_QUICK),
        rewind=dict(seeds=(0,), rewind_iteration=25, control_rounds=(), **_QUICK),
    ),
    "full": dict(
        tickets=dict(
            seeds=(0, 1, 2, 3, 4),
            rewind_iteration=0,
            control_rounds=(3, 7, 12, 15, 18),
            **_FULL,
        ),
        rewind=dict(seeds=(0, 1, 2), rewind_iteration=1000, control_rounds=(), **_FULL),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

Quick runs in under 90 s on 2 CPU cores; full uses the paper's sizes (55,000 training and
5,000 validation images, 50,000 iterations, the paper's pruning rates, evaluation every 100
iterations) and the paper's five trials."""

HIDDEN = (300, 100)
"""Lenet-300-100: two hidden layers of 300 and 100 ReLU units."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


# ------------------------------------------------------------------------------ data


def mnist_splits(n_train, n_val, n_test, seed=0):
    """Disjoint training and validation subsets of MNIST's training images, and test images.

    The validation images are held out from the training set, as Frankle and Carbin hold out
    5,000 of the 60,000; both subsets are stratified by class.

    Returns
    -------
    dict of ndarray
        ``X_train`` (n_train, 784), ``y_train`` (n_train,), ``X_val``, ``y_val``, ``X_test``,
        ``y_test``; pixels in [0, 1] as float32, labels int64.
    """
    n_train = checks.count("n_train", n_train)
    n_val = checks.count("n_val", n_val)
    n_test = checks.count("n_test", n_test, maximum=10_000)
    mnist = data.load_mnist()
    index = np.arange(len(mnist.y_train))
    both, _ = data.subsample(index, mnist.y_train, n_train + n_val, seed, stratified=True)
    rng = np.random.default_rng(seed)
    held = np.zeros(len(both), dtype=bool)
    held[rng.choice(len(both), size=n_val, replace=False)] = True
    X_test, y_test = data.subsample(mnist.X_test, mnist.y_test, n_test, seed, stratified=True)
    return dict(
        X_train=np.array(mnist.X_train[both[~held]]),
        y_train=np.array(mnist.y_train[both[~held]]),
        X_val=np.array(mnist.X_train[both[held]]),
        y_val=np.array(mnist.y_train[both[held]]),
        X_test=np.array(X_test),
        y_test=np.array(y_test),
    )


def batch_order(n_train, batch_size, num_iterations, seed):
    """The training examples of every iteration: row ``t`` holds the batch of iteration ``t``.

    The examples are a stream of random permutations of ``range(n_train)``, one per epoch,
    cut into consecutive batches; so the data order is a function of the iteration alone,
    and a run resumed at iteration ``k`` (rewinding) sees the batches the dense run saw.

    Returns
    -------
    ndarray of int, shape (num_iterations, batch_size)
    """
    n_train = checks.count("n_train", n_train)
    batch_size = checks.count("batch_size", batch_size, maximum=n_train)
    num_iterations = checks.count("num_iterations", num_iterations)
    rng = np.random.default_rng(seed)
    needed = num_iterations * batch_size
    stream = np.concatenate([rng.permutation(n_train) for _ in range(-(-needed // n_train))])
    return stream[:needed].reshape(num_iterations, batch_size)


# -------------------------------------------------------------------------- training


@dataclass
class Curve:
    """One training run: the validation loss after each of ``iterations`` (iterations done);
    the early-stopping iteration (that of the first minimum of the validation loss) and the
    test accuracy of the weights at that iteration."""

    iterations: np.ndarray
    val_loss: np.ndarray
    stop_iteration: int
    stop_accuracy: float


def _loss_and_accuracy(model, X, y):
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        logits = model(X)
        return float(F.cross_entropy(logits, y)), float((logits.argmax(1) == y).float().mean())


def make_train_fn(splits, order, lr, eval_every):
    """The chapter's training schedule, as ``train_fn(model, start, stop) -> Curve``.

    Adam with learning rate ``lr`` (a fresh optimizer each call) over the iterations
    ``start, ..., stop - 1``, iteration ``t`` using the batch ``order[t]``. The validation
    loss is recorded after every iteration count that is a multiple of ``eval_every``, and
    after ``stop``; the weights at the first minimum are kept, and their test accuracy is
    measured once at the end: Frankle and Carbin's retroactive early stopping. The model is
    left with its weights after ``stop`` (those are the ones pruning ranks).
    """
    import torch
    import torch.nn.functional as F

    lr = checks.positive("lr", lr)
    eval_every = checks.count("eval_every", eval_every)
    X = torch.as_tensor(splits["X_train"])
    y = torch.as_tensor(splits["y_train"])
    X_val, y_val = torch.as_tensor(splits["X_val"]), torch.as_tensor(splits["y_val"])
    X_test, y_test = torch.as_tensor(splits["X_test"]), torch.as_tensor(splits["y_test"])
    batches = torch.as_tensor(order)

    def train_fn(model, start, stop):
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        iterations, val_loss = [], []
        best_state, best_iteration = None, None
        for t in range(start, stop):
            index = batches[t]
            loss = F.cross_entropy(model(X[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            done = t + 1
            if done % eval_every == 0 or done == stop:
                iterations.append(done)
                val_loss.append(_loss_and_accuracy(model, X_val, y_val)[0])
                if val_loss[-1] < min(val_loss[:-1], default=np.inf):
                    best_iteration = done
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        final_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(best_state)
        accuracy = _loss_and_accuracy(model, X_test, y_test)[1]
        model.load_state_dict(final_state)
        return Curve(np.array(iterations), np.array(val_loss), best_iteration, accuracy)

    return train_fn


# ------------------------------------------------------------------------ experiment


@dataclass(frozen=True)
class ImpResult:
    """What :func:`imp_experiment` returns.

    ``remaining``: the fraction of prunable weights kept in each round, shape
    (num_rounds + 1,) (round 0 is the dense network; the same for every seed).
    ``iterations``: the evaluation points, shape (n_evals,) (iterations done, from
    ``rewind_iteration``). ``val_loss``: the tickets' validation loss, shape
    (len(seeds), num_rounds + 1, n_evals); ``stop_iteration``, ``stop_accuracy``: their
    early-stopping iteration and test accuracy there, shape (len(seeds), num_rounds + 1).
    ``control_*``: the same for the random re-initializations of the rounds
    ``control_rounds``, with len(control_rounds) in place of num_rounds + 1.
    """

    seeds: tuple
    rewind_iteration: int
    remaining: np.ndarray
    control_rounds: tuple
    iterations: np.ndarray
    val_loss: np.ndarray
    stop_iteration: np.ndarray
    stop_accuracy: np.ndarray
    control_val_loss: np.ndarray
    control_stop_iteration: np.ndarray
    control_stop_accuracy: np.ndarray
    run_time_s: float


@cached
def imp_experiment(
    seeds,
    rewind_iteration,
    control_rounds,
    n_train,
    n_val,
    n_test,
    num_iterations,
    eval_every,
    lr,
    batch_size,
    hidden_rate,
    output_rate,
    num_rounds,
):
    """Iterative magnitude pruning of Lenet-300-100 on MNIST, with its control. Cached.

    For each seed: the network ``nets.mlp(hidden=(300, 100), seed=seed)``, the batches
    :func:`batch_order` (the seed), and
    :func:`generalization.pruning.iterative_magnitude_pruning` with per-layer rates
    (``hidden_rate`` for the hidden layers, ``output_rate`` for the output layer) and
    rewinding to ``rewind_iteration``; then, for each round in ``control_rounds``, the
    same mask on a fresh initialization (:func:`generalization.pruning.reinitialize`, seed
    ``1000 + seed``) trained over the same iterations. The data (:func:`mnist_splits`) are
    the same for every seed.

    Returns
    -------
    ImpResult
    """
    seeds = checks.integers("seeds", seeds, minimum=0)
    num_rounds = checks.count("num_rounds", num_rounds, minimum=0)
    control_rounds = (
        checks.integers("control_rounds", control_rounds, minimum=1) if len(control_rounds) else ()
    )
    if any(r > num_rounds for r in control_rounds):
        raise ValueError(
            f"control_rounds must be rounds of at most num_rounds = {num_rounds}; "
            f"got {control_rounds}."
        )
    start = time.perf_counter()
    splits = mnist_splits(n_train, n_val, n_test)
    curves, controls, remaining = [], [], None
    with nets.threads(1):
        for seed in seeds:
            order = batch_order(n_train, batch_size, num_iterations, seed)
            train_fn = make_train_fn(splits, order, lr, eval_every)
            model = nets.mlp(hidden=HIDDEN, seed=seed)
            rates = pruning.layer_rates(model, hidden_rate, output_rate)
            tickets = pruning.iterative_magnitude_pruning(
                model, train_fn, num_rounds, num_iterations, rates, "layer", rewind_iteration
            )
            remaining = np.array([r.remaining.overall for r in tickets.rounds])
            curves.append([r.result for r in tickets.rounds])
            row = []
            for r in control_rounds:
                masks = tickets.rounds[r].masks
                fresh = pruning.reinitialize(model, masks, 1000 + seed)
                row.append(
                    pruning.train_masked(fresh, masks, train_fn, rewind_iteration, num_iterations)
                )
            controls.append(row)
    n_evals = len(curves[0][0].iterations)

    def stack(runs, name, width):
        values = np.array([[getattr(c, name) for c in row] for row in runs])
        return values.reshape(len(seeds), width, *values.shape[2:])

    return ImpResult(
        seeds=seeds,
        rewind_iteration=int(rewind_iteration),
        remaining=remaining,
        control_rounds=control_rounds,
        iterations=curves[0][0].iterations,
        val_loss=stack(curves, "val_loss", num_rounds + 1),
        stop_iteration=stack(curves, "stop_iteration", num_rounds + 1),
        stop_accuracy=stack(curves, "stop_accuracy", num_rounds + 1),
        control_val_loss=stack(controls, "val_loss", len(control_rounds)).reshape(
            len(seeds), len(control_rounds), n_evals
        ),
        control_stop_iteration=stack(controls, "stop_iteration", len(control_rounds)),
        control_stop_accuracy=stack(controls, "stop_accuracy", len(control_rounds)),
        run_time_s=time.perf_counter() - start,
    )

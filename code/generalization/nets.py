"""Small networks, one training loop, and the depth-2 network that fits any labelling.

Every network chapter uses :func:`train`: mini-batch or full-batch SGD (or Adam), weight
decay, dropout (in the model), an optional augmentation of each batch, logging per epoch of
training and test loss and accuracy and, when asked, the loss of every training example in
every epoch. Per-example losses are taken from the training forward pass itself (the loss
of each example at the moment its batch is used, before the update), so recording them
costs one scatter per batch, not an extra pass over the data.

References
----------
Zhang, Bengio, Hardt, Recht, Vinyals (2017), *Understanding deep learning requires
rethinking generalization*, ICLR (Theorem 1: the 2n + d construction).
Arpit et al. (2017), *A closer look at memorization in deep networks*, ICML.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from . import checks


@contextmanager
def threads(n):
    """Run torch on ``n`` CPU threads inside the block, then restore the previous count."""
    import torch

    n = checks.count("the number of threads", n)
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def torch_threads():
    """The number of CPU threads torch uses now."""
    import torch

    return torch.get_num_threads()


def seed_everything(seed):
    """Seed torch (CPU and CUDA) and return a ``torch.Generator`` seeded with ``seed``."""
    import torch

    seed = checks.count("seed", seed, minimum=0)
    torch.manual_seed(seed)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def mlp(n_inputs=784, hidden=(512,), n_classes=10, dropout=0.0, seed=0):
    """A ReLU multilayer perceptron, initialized from ``seed``.

    Parameters
    ----------
    n_inputs : int
    hidden : sequence of int
        Widths of the hidden layers (at least one).
    n_classes : int
    dropout : float in [0, 1)
        Dropout probability after each hidden layer.
    seed : int

    Returns
    -------
    torch.nn.Sequential
    """
    import torch.nn as nn

    n_inputs, n_classes = checks.count("n_inputs", n_inputs), checks.count("n_classes", n_classes)
    hidden = checks.integers("hidden", hidden, minimum=1)
    dropout = checks.number("dropout", dropout, low=0, high=1, high_open=True)
    seed_everything(seed)
    layers, width = [], n_inputs
    for h in hidden:
        layers += [nn.Linear(width, int(h)), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = int(h)
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)


def small_cnn(n_classes=10, channels=(16, 32), seed=0):
    """A two-convolution network for 28 x 28 images given as flat rows of 784 pixels."""
    import torch.nn as nn

    n_classes = checks.count("n_classes", n_classes)
    channels = checks.integers("channels", channels, minimum=1, min_length=2)
    if len(channels) != 2:
        raise ValueError(f"channels must be two positive integers; got {channels!r}.")
    c1, c2 = channels
    seed_everything(seed)
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, c1, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(c2 * 7 * 7, n_classes),
    )


def weight_norm(model, reference=None):
    """Euclidean norm of all the weights and biases of ``model``, as one vector.

    With ``reference`` (a model of the same architecture): the distance between the two
    weight vectors.
    """
    import torch

    params = list(checks.module("model", model).parameters())
    if reference is not None:
        checks.module("reference", reference)
        others = list(reference.parameters())
        if len(others) != len(params) or any(a.shape != b.shape for a, b in zip(params, others)):
            raise ValueError(
                "reference must have the same architecture as model; got different parameter "
                "shapes."
            )
        params = [a - b for a, b in zip(params, others)]
    with torch.no_grad():
        return float(torch.sqrt(sum((p.double() ** 2).sum() for p in params)))


@dataclass
class TrainLog:
    """What happened during training; arrays have one entry per epoch (epoch 0 = before training).

    ``example_loss`` has shape ``(num_epochs, n_train)`` when recorded (else None): the loss
    of each training example when its batch was used in that epoch.
    """

    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    example_loss: np.ndarray | None = None
    epochs_to_fit: int | None = None
    run_time_s: float = 0.0


def _evaluate(model, X, y, batch_size=4096):
    import torch
    import torch.nn.functional as F

    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, X.shape[0], batch_size):
            logits = model(X[start : start + batch_size])
            total_loss += F.cross_entropy(
                logits, y[start : start + batch_size], reduction="sum"
            ).item()
            correct += (logits.argmax(1) == y[start : start + batch_size]).sum().item()
    model.train()
    return total_loss / X.shape[0], correct / X.shape[0]


def train(
    model,
    X_train,
    y_train,
    X_test=None,
    y_test=None,
    *,
    lr=0.01,
    num_epochs=10,
    batch_size=128,
    optimizer="sgd",
    momentum=0.9,
    weight_decay=0.0,
    augment=None,
    record_example_loss=False,
    stop_at_train_acc=None,
    test_every=1,
    on_epoch=None,
    num_threads=None,
    seed=0,
):
    """Train ``model`` with cross-entropy; return a :class:`TrainLog`.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place.
    X_train : ndarray of shape (n, ...); y_train : ndarray of shape (n,), int
    X_test, y_test : optional, evaluated every epoch
    lr, momentum, weight_decay : float
    num_epochs : int
    batch_size : int or None
        None: full-batch gradient descent.
    optimizer : {"sgd", "adam"}
    augment : callable, optional
        ``augment(X_batch, generator) -> X_batch`` applied to each training batch.
    record_example_loss : bool
        Keep the loss of every training example in every epoch.
    stop_at_train_acc : float, optional
        Stop after the first epoch whose training accuracy (evaluated in eval mode on the
        whole training set) reaches this value; ``epochs_to_fit`` records it.
    test_every : int, default 1
        Evaluate the test set every ``test_every`` epochs (and always after the last);
        ``test_acc``/``test_loss`` then hold only those evaluations.
    on_epoch : callable, optional
        ``on_epoch(epoch, model)`` is called before training (epoch 0) and after every
        epoch, once that epoch has been logged; for measurements the log does not take
        (e.g. accuracy on groups of examples). It must not change the model.
    num_threads : int, optional
        Torch CPU threads while training (restored afterwards); None keeps the current
        setting. One thread suits small networks on a machine shared with other work.
    seed : int
        Seeds the order of the batches and the augmentation.
    """
    with threads(torch_threads() if num_threads is None else num_threads):
        return _train(
            model,
            X_train,
            y_train,
            X_test,
            y_test,
            lr=lr,
            num_epochs=num_epochs,
            batch_size=batch_size,
            optimizer=optimizer,
            momentum=momentum,
            weight_decay=weight_decay,
            augment=augment,
            record_example_loss=record_example_loss,
            stop_at_train_acc=stop_at_train_acc,
            test_every=test_every,
            on_epoch=on_epoch,
            seed=seed,
        )


def _train(
    model,
    X_train,
    y_train,
    X_test,
    y_test,
    *,
    lr,
    num_epochs,
    batch_size,
    optimizer,
    momentum,
    weight_decay,
    augment,
    record_example_loss,
    stop_at_train_acc,
    test_every,
    on_epoch,
    seed,
):
    import torch
    import torch.nn.functional as F

    checks.module("model", model)
    X_train = checks.array("X_train", X_train, dtype=None)  # no float64 copy of a big array
    X_train = torch.tensor(np.asarray(X_train, dtype=np.float32))  # a copy: inputs may be read-only
    y_train = torch.tensor(checks.labels("y_train", y_train))
    if X_train.shape[0] != y_train.shape[0]:
        raise ValueError(
            f"X_train and y_train must have the same number of rows; got {X_train.shape[0]} and "
            f"{y_train.shape[0]}."
        )
    has_test = X_test is not None
    if has_test:
        X_test = checks.array("X_test", X_test, dtype=None)
        X_test = torch.tensor(np.asarray(X_test, dtype=np.float32))
        y_test = torch.tensor(checks.labels("y_test", y_test))
    if on_epoch is not None and not callable(on_epoch):
        raise ValueError(f"on_epoch must be callable or None; got {on_epoch!r}.")
    checks.choice("optimizer", optimizer, ("sgd", "adam"))
    lr = checks.positive("lr", lr)
    momentum = checks.number("momentum", momentum, low=0, high=1, high_open=True)
    weight_decay = checks.nonnegative("weight_decay", weight_decay)
    num_epochs = checks.count("num_epochs", num_epochs, minimum=0)
    n = X_train.shape[0]
    batch = n if batch_size is None else checks.count("batch_size", batch_size)
    generator = seed_everything(seed)
    opt = (
        torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
        if optimizer == "sgd"
        else torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    )
    log = TrainLog(
        example_loss=np.zeros((num_epochs, n), dtype=np.float32) if record_example_loss else None
    )
    start = time.perf_counter()

    def record(epoch):
        loss, acc = _evaluate(model, X_train, y_train)
        log.train_loss.append(loss)
        log.train_acc.append(acc)
        last = epoch == num_epochs or (stop_at_train_acc is not None and acc >= stop_at_train_acc)
        if has_test and (last or epoch % test_every == 0):
            loss, acc = _evaluate(model, X_test, y_test)
            log.test_loss.append(loss)
            log.test_acc.append(acc)
        if on_epoch is not None:
            on_epoch(epoch, model)
            model.train()
        return log.train_acc[-1]

    record(0)
    model.train()
    for epoch in range(num_epochs):
        order = torch.randperm(n, generator=generator)
        for first in range(0, n, batch):
            index = order[first : first + batch]
            xb = X_train[index]
            if augment is not None:
                xb = augment(xb, generator)
            losses = F.cross_entropy(model(xb), y_train[index], reduction="none")
            if log.example_loss is not None:
                log.example_loss[epoch, index.numpy()] = losses.detach().numpy()
            opt.zero_grad(set_to_none=True)
            losses.mean().backward()
            opt.step()
        accuracy = record(epoch + 1)
        if stop_at_train_acc is not None and accuracy >= stop_at_train_acc:
            log.epochs_to_fit = epoch + 1
            if log.example_loss is not None:
                log.example_loss = log.example_loss[: epoch + 1]
            break
    log.run_time_s = time.perf_counter() - start
    return log


def zhang_construction(X, y, seed=0):
    """A depth-2 ReLU network with 2n + d weights that fits any labels of n distinct points.

    Following Zhang et al. (2017, Theorem 1): project the points on a random direction
    ``w`` so that their projections ``z = X w`` are distinct, sort them, and put the biases
    ``b`` between consecutive projections (``b_1 < z_(1) < b_2 < z_(2) < ...``). The matrix
    ``A[i, j] = relu(z_i - b_j)`` is then lower triangular with a positive diagonal in the
    sorted order, hence invertible, and ``a = A^{-1} y`` fits every label.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
        Any real targets (labels included).
    seed : int
        Seed of the random direction.

    Returns
    -------
    w : ndarray of shape (d,)
    b : ndarray of shape (n,)
    a : ndarray of shape (n,)
        For every row ``x`` of X, ``a @ relu(x @ w - b)`` equals its label up to floating-point
        error (float64); :func:`zhang_predict` evaluates all rows.

    Notes
    -----
    The triangular matrix is badly conditioned (its diagonal holds half the gaps between
    sorted projections; condition numbers near 1e9 at n = 300 are typical), so the weights
    ``a`` are large and the fit is exact only in float64. It proves expressivity, not a
    useful classifier.

    Raises
    ------
    ValueError
        If two rows of X coincide (no function can then fit different labels at them),
        or the shapes do not match.
    """
    from scipy.linalg import solve_triangular

    X = checks.array("X", X, ndim=2, dtype=np.float64)
    y = checks.array("y", y, ndim=1, dtype=np.float64)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X must be (n, d) and y (n,) with the same n; got shapes {X.shape} and {y.shape}."
        )
    if np.unique(X, axis=0).shape[0] != X.shape[0]:
        raise ValueError(
            f"X must have distinct rows (two coinciding points cannot carry different labels); got "
            f"{X.shape[0] - np.unique(X, axis=0).shape[0]} repeated rows."
        )
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    for _ in range(100):
        w = rng.standard_normal(X.shape[1])
        z = X @ w
        order = np.argsort(z)
        gaps = np.diff(z[order])
        if gaps.size == 0 or gaps.min() > 1e-9 * max(1.0, np.abs(z).max()):
            break
    else:  # pragma: no cover - distinct rows give distinct projections with probability 1
        raise ValueError("could not find a direction separating the projections of the rows of X.")
    z_sorted = z[order]
    # one bias below each sorted projection, above the previous one
    lower = np.concatenate([[z_sorted[0] - 1.0], z_sorted[:-1]])
    b_sorted = (lower + z_sorted) / 2
    A = np.maximum(
        z_sorted[:, None] - b_sorted[None, :], 0.0
    )  # lower triangular, positive diagonal
    a_sorted = solve_triangular(A, y[order], lower=True)
    return w, b_sorted, a_sorted


def zhang_predict(X, w, b, a):
    """Evaluate the construction: ``relu(X @ w - b) @ a``, shape (n,)."""
    X = checks.array("X", X, ndim=2, dtype=np.float64)
    if X.shape[1] != np.shape(w)[0]:
        raise ValueError(f"X must have {np.shape(w)[0]} columns, as w; got shape {X.shape}.")
    return np.maximum((X @ w)[:, None] - b[None, :], 0.0) @ a

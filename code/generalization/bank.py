"""Many small networks trained as one: a bank of independent one-hidden-layer ReLU networks.

Training many small networks one after the other is dominated by Python overhead.
:class:`NetworkBank` holds a whole family of independent networks (any widths, any seeds)
and :func:`train_bank` trains them at once. The loss of the bank is the sum of the networks'
losses; since no parameter is shared and Adam updates every coordinate on its own, each
network follows exactly the trajectory it would follow if trained alone (the unit tests
check this against ``torch.nn.Sequential`` copies).

Used by the chapter *Deep double descent* to train hundreds of networks of many widths in
seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import checks

N_CLASSES = 10


def n_parameters(width, n_inputs, n_classes=N_CLASSES):
    """Weights and biases of a one-hidden-layer network.

    ``width (n_inputs + 1) + n_classes (width + 1)``, elementwise for arrays.
    """
    width, n_inputs, n_classes = (np.asarray(v) for v in (width, n_inputs, n_classes))
    for name, value in (("width", width), ("n_inputs", n_inputs), ("n_classes", n_classes)):
        if not np.issubdtype(value.dtype, np.integer) or np.any(value < 1):
            raise ValueError(f"{name} must be positive; got {value}.")
    return width * (n_inputs + 1) + n_classes * (width + 1)


class NetworkBank(nn.Module):
    """Independent one-hidden-layer ReLU networks ``x -> W2 relu(W1 x + b1) + b2``, trained as one.

    Network ``m`` has ``widths[m]`` hidden units and is initialized from ``seeds[m]`` as
    PyTorch initializes ``nn.Linear`` (uniform on +-1/sqrt(fan_in), weights and biases).
    Networks are grouped into buckets of widths that round up to the same power of two and
    zero-padded to the widest of their bucket, so each bucket is one batched matrix
    product per layer. The padded units start at zero and their outgoing weights are
    masked, so they receive no gradient and stay exactly zero.

    ``forward(X)`` maps ``X`` of shape (n, n_inputs) to logits of shape (M, n, n_classes).
    """

    def __init__(self, n_inputs, widths, seeds, n_classes=N_CLASSES):
        super().__init__()
        widths = checks.integers("widths", widths, minimum=1)
        seeds = checks.integers("seeds", seeds)
        if len(seeds) != len(widths):
            raise ValueError(
                f"seeds must give one seed per network; got {len(seeds)} seeds for {len(widths)} "
                "widths."
            )
        n_inputs, n_classes = (
            checks.count("n_inputs", n_inputs),
            checks.count("n_classes", n_classes, minimum=2),
        )
        self.widths, self.seeds, self.n_inputs, self.n_classes = (
            widths,
            seeds,
            int(n_inputs),
            int(n_classes),
        )
        bucket_of = np.ceil(np.log2(widths)).astype(int)
        self.members, self.where = [], {}
        W1, b1, W2, b2, masks = [], [], [], [], []
        for b in np.unique(bucket_of):
            members = np.flatnonzero(bucket_of == b)
            pad = max(widths[m] for m in members)
            k = len(members)
            tensors = [
                torch.zeros(k, n_inputs, pad),
                torch.zeros(k, 1, pad),
                torch.zeros(k, pad, n_classes),
                torch.zeros(k, 1, n_classes),
                torch.zeros(k, pad, 1),
            ]
            for j, m in enumerate(members):
                w, g = widths[m], torch.Generator().manual_seed(seeds[m])
                # nn.Linear's default: weights and biases uniform on +-1/sqrt(fan_in)
                for t, shape, fan_in in zip(
                    tensors[:4],
                    [(n_inputs, w), (1, w), (w, n_classes), (1, n_classes)],
                    [n_inputs, n_inputs, w, w],
                ):
                    t[j, : shape[0], : shape[1]] = (
                        2 * torch.rand(*shape, generator=g) - 1
                    ) / np.sqrt(fan_in)
                tensors[4][j, :w] = 1.0
                self.where[int(m)] = (len(W1), j)
            for store, t in zip((W1, b1, W2, b2, masks), tensors):
                store.append(t)
            self.members.append(members)
        self.W1 = nn.ParameterList(W1)  # per bucket (k, n_inputs, pad)
        self.b1 = nn.ParameterList(b1)  # (k, 1, pad)
        self.W2 = nn.ParameterList(W2)  # (k, pad, n_classes)
        self.b2 = nn.ParameterList(b2)  # (k, 1, n_classes)
        for i, mask in enumerate(masks):
            self.register_buffer(f"mask{i}", mask)
        self.masks = masks
        self.order = torch.as_tensor(np.argsort(np.concatenate(self.members)))

    def forward(self, X):
        outs = []
        for W1, b1, W2, b2, mask in zip(self.W1, self.b1, self.W2, self.b2, self.masks):
            H = torch.relu(torch.matmul(X, W1) + b1)  # (k, n, pad)
            outs.append(torch.baddbmm(b2, H, W2 * mask))  # (k, n, n_classes)
        return torch.cat(outs, 0)[self.order]

    def network(self, m):
        """Network ``m`` as a standalone ``torch.nn.Sequential`` (a copy of its current weights)."""
        if m not in self.where:
            raise ValueError(f"m must index one of the {len(self.widths)} networks; got {m!r}.")
        b, j = self.where[m]
        w = self.widths[m]
        first, second = nn.Linear(self.n_inputs, w), nn.Linear(w, self.n_classes)
        with torch.no_grad():
            first.weight.copy_(self.W1[b][j, :, :w].T)
            first.bias.copy_(self.b1[b][j, 0, :w])
            second.weight.copy_(self.W2[b][j, :w].T)
            second.bias.copy_(self.b2[b][j, 0])
        return nn.Sequential(first, nn.ReLU(), second)


def network_bank(n_inputs, widths, seeds, n_classes=N_CLASSES):
    """Build a :class:`NetworkBank` of ``len(widths)`` independent networks (see its docstring)."""
    return NetworkBank(n_inputs, widths, seeds, n_classes)


@dataclass(frozen=True)
class BankLog:
    """Training record of a bank: one row per network, one column per evaluated step."""

    steps: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    train_loss: np.ndarray
    run_time_s: float


def eval_steps(num_steps, n_evals):
    """Steps at which to evaluate: 0 and about ``n_evals`` log-spaced steps up to ``num_steps``."""
    num_steps, n_evals = checks.count("num_steps", num_steps), checks.count("n_evals", n_evals)
    return np.unique(
        np.concatenate([[0, num_steps], np.geomspace(1, num_steps, n_evals).round().astype(int)])
    )


def _inputs(name, X, n_inputs):
    X = checks.array(name, X, ndim=2, dtype=None)
    if X.shape[1] != n_inputs:
        raise ValueError(
            f"{name} must have {n_inputs} columns (the bank's n_inputs); got {X.shape}."
        )
    return torch.as_tensor(np.asarray(X, dtype=np.float32))


def train_bank(bank, X, labels, X_test, y_test, *, lr, num_steps, n_evals=30, weights=None):
    """Full-batch Adam on the sum of the networks' mean cross-entropies.

    Parameters
    ----------
    bank : NetworkBank with M networks
    X : ndarray of shape (n, n_inputs); labels : int ndarray of shape (M, n)
        Each network has its own labels (its own label noise).
    X_test : ndarray of shape (n_test, n_inputs); y_test : ndarray of shape (n_test,)
    lr : float; num_steps : int
        Every step uses the whole training set: one step is one epoch.
    n_evals : int
        Errors are recorded at :func:`eval_steps` ``(num_steps, n_evals)``.
    weights : ndarray of shape (M, n) of 0/1, optional
        Which examples each network trains on (default: all); errors are measured on those.

    Returns
    -------
    BankLog
    """
    if not isinstance(bank, NetworkBank):
        raise ValueError(f"bank must be a NetworkBank; got {type(bank).__name__} {bank!r:.60}.")
    M = len(bank.widths)
    X = _inputs("X", X, bank.n_inputs)
    labels = torch.as_tensor(checks.labels("labels", labels, ndim=2))
    if X.ndim != 2 or labels.shape != (M, X.shape[0]):
        raise ValueError(
            f"X must be (n, d) and labels (M, n) = ({M}, n); got {tuple(X.shape)} and "
            f"{tuple(labels.shape)}."
        )
    w = (
        torch.ones(labels.shape)
        if weights is None
        else torch.as_tensor(np.asarray(weights, dtype=np.float32))
    )
    if w.shape != labels.shape or (w.sum(1) == 0).any():
        raise ValueError(
            f"weights must have shape {tuple(labels.shape)} with at least one example per network; "
            f"got shape {tuple(w.shape)}."
        )
    X_test = _inputs("X_test", X_test, bank.n_inputs)
    y_test = torch.as_tensor(checks.labels("y_test", y_test))
    if y_test.shape[0] != X_test.shape[0]:
        raise ValueError(
            f"y_test must have one label per row of X_test ({X_test.shape[0]}); got "
            f"{y_test.shape[0]}."
        )
    lr = checks.positive("lr", lr)
    counts = w.sum(1)
    steps = eval_steps(num_steps, n_evals)
    train_err, test_err = np.zeros((M, len(steps))), np.zeros((M, len(steps)))
    opt = torch.optim.Adam(bank.parameters(), lr=lr)
    start, col = time.perf_counter(), 0
    for step in range(num_steps + 1):
        logits = bank(X)  # (M, n, C)
        per_example = F.cross_entropy(
            logits.reshape(-1, bank.n_classes), labels.reshape(-1), reduction="none"
        )
        losses = (per_example.view(M, -1) * w).sum(1) / counts  # (M,)
        if col < len(steps) and step == steps[col]:
            with torch.no_grad():
                wrong = (logits.argmax(2) != labels).float()
                train_err[:, col] = ((wrong * w).sum(1) / counts).numpy()
                test_err[:, col] = (bank(X_test).argmax(2) != y_test).float().mean(1).numpy()
            col += 1
        if step == num_steps:
            break
        opt.zero_grad(set_to_none=True)
        losses.sum().backward()
        opt.step()
    return BankLog(
        steps=steps,
        train_error=train_err,
        test_error=test_err,
        train_loss=losses.detach().numpy(),
        run_time_s=time.perf_counter() - start,
    )

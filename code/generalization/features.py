"""Random features: a finite, seeded stand-in for a kernel.

A random feature map sends ``x`` in R^d to ``phi(x)`` in R^N so that the inner product
``phi(x) . phi(z)`` is a Monte Carlo estimate of a kernel ``k(x, z)``; linear regression
on the N features is then an approximation of kernel regression, with N a knob that
controls the number of parameters. That knob is what the double-descent chapters turn.

* Random Fourier features (Rahimi and Recht 2007) for the Gaussian kernel
  ``exp(-||x - z||^2 / (2 s^2))`` (the same bandwidth convention as
  :func:`generalization.kernels.gaussian_kernel`): draw ``w_j ~ N(0, I / s^2)`` and
  ``b_j ~ U[0, 2 pi)`` and set ``phi_j(x) = sqrt(2 / N) cos(w_j . x + b_j)``. Since
  ``E[2 cos(w.x + b) cos(w.z + b)] = E[cos(w.(x - z))] = exp(-||x - z||^2 / (2 s^2))``,
  the inner product is unbiased, with standard deviation of order ``1 / sqrt(N)``.
* Random ReLU features: ``w_j ~ N(0, scale^2 I)``, ``phi_j(x) = sqrt(2 / N) max(0, w_j . x)``.
  Their inner product estimates the degree-1 arc-cosine kernel of Cho and Saul (2009),
  :func:`arccos_kernel`.

Features of one seed are *nested*: the first N features of a map with N' > N features are
the N features of the map with N features, up to the ``1 / sqrt(N)`` normalization. So a
sweep over N adds features to one fixed random draw instead of drawing afresh at every N.
Feature matrices are computed in row blocks, so the temporary memory is bounded by the
block, not by the data set.

References
----------
Rahimi, Recht (2007), *Random features for large-scale kernel machines*, NeurIPS.
Cho, Saul (2009), *Kernel methods for deep learning*, NeurIPS.
Belkin, Hsu, Ma, Mandal (2019), *Reconciling modern machine-learning practice and the
classical bias-variance trade-off*, PNAS.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from . import checks

KINDS = ("fourier", "relu")
BLOCK_ROWS = 4096


def _matrix(name, X, n_inputs=None):
    X = checks.array(name, X, ndim=2, dtype=None)
    if n_inputs is not None and X.shape[1] != n_inputs:
        raise ValueError(
            f"{name} must have {n_inputs} columns (the map's input dimension); got {X.shape[1]}."
        )
    return X


@dataclass(frozen=True)
class RandomFeatureMap:
    """A seeded random feature map from R^``n_inputs`` to R^``n_features``.

    Parameters
    ----------
    kind : {"fourier", "relu"}
    n_inputs, n_features : int
    bandwidth : float
        Fourier features: the Gaussian kernel's ``s``. ReLU features: the standard
        deviation ``scale`` of the weights.
    seed : int
    """

    kind: str
    n_inputs: int
    n_features: int
    bandwidth: float
    seed: int

    def __post_init__(self):
        checks.choice("kind", self.kind, KINDS)
        object.__setattr__(self, "n_inputs", checks.count("n_inputs", self.n_inputs))
        object.__setattr__(self, "n_features", checks.count("n_features", self.n_features))
        object.__setattr__(self, "bandwidth", checks.positive("bandwidth", self.bandwidth))
        object.__setattr__(self, "seed", checks.count("seed", self.seed, minimum=0))

    def parameters(self):
        """``(W, b)``: W of shape (n_inputs, n_features), b of shape (n_features,) (zeros for ReLU).

        Weights and phases come from two independent streams of ``seed``, filled feature by
        feature, which is what makes maps of one seed nested. The arrays are read-only and
        shared by equal maps (the last two are kept), so transforming training and test
        points separately draws them once.
        """
        return _parameters(self.kind, self.n_inputs, self.n_features, self.bandwidth, self.seed)

    def transform(self, X, dtype=np.float64, block_rows=BLOCK_ROWS):
        """The feature matrix ``Phi`` of shape (n, n_features), computed in row blocks."""
        X = _matrix("X", X, self.n_inputs)
        dtype = np.dtype(checks.choice("dtype", np.dtype(dtype).name, ("float32", "float64")))
        block_rows = checks.count("block_rows", block_rows)
        W, b = self.parameters()
        W, b = W.astype(dtype, copy=False), b.astype(dtype, copy=False)
        norm = dtype.type(np.sqrt(2.0 / self.n_features))
        out = np.empty((X.shape[0], self.n_features), dtype=dtype)
        for start in range(0, X.shape[0], block_rows):
            block = out[start : start + block_rows]
            np.matmul(X[start : start + block_rows].astype(dtype, copy=False), W, out=block)
            if self.kind == "fourier":
                block += b
                np.cos(block, out=block)
            else:
                np.maximum(block, 0, out=block)
            block *= norm
        return out


@functools.lru_cache(maxsize=2)
def _parameters(kind, n_inputs, n_features, bandwidth, seed):
    weight_stream, phase_stream = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)
    )
    scale = 1.0 / bandwidth if kind == "fourier" else bandwidth
    W = weight_stream.standard_normal((n_features, n_inputs)).T * scale
    b = (
        phase_stream.uniform(0.0, 2.0 * np.pi, n_features)
        if kind == "fourier"
        else np.zeros(n_features)
    )
    W.flags.writeable = False
    b.flags.writeable = False
    return W, b


def random_fourier_features(X, n_features, bandwidth, seed, dtype=np.float64):
    """Random Fourier features of the rows of ``X`` for the Gaussian kernel of ``bandwidth``.

    ``random_fourier_features(A, N, s, seed) @ random_fourier_features(B, N, s, seed).T``
    is an unbiased estimate of ``gaussian_kernel(A, B, s)`` with error of order
    ``1 / sqrt(N)``. Use the same ``seed`` for training and test points.

    Returns
    -------
    ndarray of shape (n, n_features)
    """
    X = _matrix("X", X)
    return RandomFeatureMap("fourier", X.shape[1], n_features, bandwidth, seed).transform(
        X, dtype=dtype
    )


def random_relu_features(X, n_features, seed, scale=1.0, dtype=np.float64):
    """Random ReLU features ``sqrt(2 / N) max(0, W^T x)`` with ``W ~ N(0, scale^2)``.

    Their inner products estimate ``scale^2 * arccos_kernel(A, B)``.
    """
    X = _matrix("X", X)
    return RandomFeatureMap("relu", X.shape[1], n_features, scale, seed).transform(X, dtype=dtype)


def arccos_kernel(A, B):
    """Degree-1 arc-cosine kernel ``||a|| ||b|| (sin t + (pi - t) cos t) / pi``, t the angle.

    The kernel that :func:`random_relu_features` (``scale=1``) approximates; a zero row
    gives a zero row of the kernel.
    """
    A = _matrix("A", A).astype(np.float64)
    B = _matrix("B", B, A.shape[1]).astype(np.float64)
    na, nb = np.linalg.norm(A, axis=1), np.linalg.norm(B, axis=1)
    outer = np.outer(na, nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where(outer > 0, (A @ B.T) / outer, 1.0)
    theta = np.arccos(np.clip(cos, -1.0, 1.0))
    return outer * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi

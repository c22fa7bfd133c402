"""Kernel machines that interpolate: solve ``K alpha = Y`` exactly, in float32 and refined.

An interpolating kernel machine solves ``K alpha = Y`` with ``K[i, j] = k(x_i, x_j)`` and
one-hot targets ``Y``, and predicts ``f(x) = sum_i alpha_i k(x, x_i)``. It fits every
training label exactly (Zhang et al. 2017, section 5; Belkin, Ma, Mandal 2018).

How it is computed, and why it is fast and exact on a laptop:

* The kernel matrix is evaluated in float32, upper triangle only
  (:func:`generalization.kernels.kernel_matrix`).
* ``K + ridge I`` is factored by Cholesky in float32, *in place*
  (:class:`generalization.cholesky.Factor` chooses the routine: SciPy's LAPACK ``spotrf``,
  a blocked factorization beyond SciPy's 32-bit indexing, or torch on a GPU). Only the
  pages that hold the upper triangle are ever written, so n = 60,000 occupies 7.2 GB, not
  14.4 or 28.8.
* Then the solution is refined: ``r = Y - (K + ridge I) alpha`` is computed in float64 from
  kernel blocks recomputed in float64 (:func:`generalization.kernels.kernel_times`), and
  ``alpha += solve(r)``. Each step gains about ``-log10(cond(K) * 6e-8)`` digits, so a few
  steps reach float64 accuracy when ``cond(K) << 1.7e7``. When they cannot,
  :class:`ConditioningWarning` says so.

References
----------
Zhang, Bengio, Hardt, Recht, Vinyals (2017), *Understanding deep learning requires
rethinking generalization*, ICLR, section 5.
Belkin, Ma, Mandal (2018), *To understand deep learning we need to understand kernel
learning*, ICML.
Higham (2002), *Accuracy and Stability of Numerical Algorithms*, ch. 12 (iterative
refinement in mixed precision).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from . import checks
from .cholesky import Factor
from .kernels import (
    BLOCK_ROWS,
    KERNELS,
    kernel_matrix,
    kernel_times,
    pixel_codes,
    torch_device,
)


class ConditioningWarning(UserWarning):
    """The kernel matrix is too ill-conditioned for the requested accuracy."""


@dataclass(frozen=True)
class FitReport:
    """What a fit did: sizes, precision, accuracy reached and where the time went."""

    n_samples: int
    n_outputs: int
    backend: str
    relative_residual: float
    refinement_steps: int
    train_error: float
    rkhs_norm: float
    kernel_time_s: float
    factor_time_s: float
    refine_time_s: float

    @property
    def total_time_s(self):
        return self.kernel_time_s + self.factor_time_s + self.refine_time_s


class KernelInterpolator(ClassifierMixin, BaseEstimator):
    """Kernel "ridgeless" regression on one-hot labels: zero training error by construction.

    Parameters
    ----------
    kernel : {"gaussian", "laplace"}, default "gaussian"
    bandwidth : float, default 5.0
        ``s`` in ``exp(-||x - z||^2 / (2 s^2))`` or ``exp(-||x - z|| / s)``; for MNIST pixels
        in [0, 1] the median distance between images is about 10.
    ridge : float, default 0.0
        Adds ``ridge * I`` to the kernel matrix; 0 interpolates.
    dtype : {"float32", "float64"}, default "float32"
        Precision of the stored kernel matrix and its factor. Refinement always computes
        residuals in float64.
    tol : float, default 1e-6
        Target relative residual ``||Y - (K + ridge I) alpha|| / ||Y||``.
    max_refinements : int, default 5
    block_rows : int, default 2048
    backend : {"auto", "scipy", "torch"}, default "auto"
        "auto" is torch on a visible GPU and SciPy's in-place LAPACK otherwise.
    device : str, default "auto"
        Torch device for kernel evaluation (and the torch backend).
    predict_dtype : {"float64", "float32"}, default "float64"
        Precision of the kernel values in :meth:`decision_function`. The weights of an
        interpolant are large and of both signs, so float32 costs about 1e-5 of relative
        accuracy in the scores: enough to classify (the argmax), at under half the time.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    X_fit_ : ndarray of shape (n_samples, n_features), in ``dtype``
    dual_coef_ : ndarray of shape (n_samples, n_classes), float64
    fit_report_ : FitReport
    """

    def __init__(
        self,
        kernel="gaussian",
        bandwidth=5.0,
        ridge=0.0,
        dtype="float32",
        tol=1e-6,
        max_refinements=5,
        block_rows=BLOCK_ROWS,
        backend="auto",
        device="auto",
        predict_dtype="float64",
    ):
        self.kernel = kernel
        self.bandwidth = bandwidth
        self.ridge = ridge
        self.dtype = dtype
        self.tol = tol
        self.max_refinements = max_refinements
        self.block_rows = block_rows
        self.backend = backend
        self.device = device
        self.predict_dtype = predict_dtype

    def _validate(self):
        checks.choice("kernel", self.kernel, KERNELS)
        checks.positive("bandwidth", self.bandwidth)
        checks.nonnegative("ridge", self.ridge)
        checks.choice("dtype", self.dtype, ("float32", "float64"))
        checks.choice("predict_dtype", self.predict_dtype, ("float32", "float64"))
        checks.choice("backend", self.backend, ("auto", "scipy", "torch"))
        if self.backend == "auto":
            return "torch" if torch_device(self.device).type == "cuda" else "scipy"
        return self.backend

    def fit(self, X, y):
        """Solve ``(K + ridge I) alpha = onehot(y)``; y holds integer (or any hashable) labels."""
        backend = self._validate()
        X = checks.array("X", X, ndim=2, finite=False, nonempty=False, dtype=None)
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(
                f"y must be 1-D with one label per row of X ({X.shape[0]}); got shape {y.shape}."
            )
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y must hold at least 2 classes; got {len(self.classes_)}.")
        Y = np.eye(len(self.classes_))[codes]
        dtype = np.dtype(self.dtype)
        self.X_fit_ = np.ascontiguousarray(X, dtype=dtype)  # inputs in the fit's precision
        args = dict(
            kernel=self.kernel,
            bandwidth=self.bandwidth,
            block_rows=self.block_rows,
            device=self.device,
        )
        # the exact float64 path's integer codes of the training images, found once (None: not
        # 8-bit)
        self._fit_codes = (
            pixel_codes(self.X_fit_) if torch_device(self.device).type == "cpu" else None
        )

        start = time.perf_counter()
        K = kernel_matrix(self.X_fit_, self.X_fit_, dtype=dtype, upper_only=True, **args)
        K[np.diag_indices_from(K)] += dtype.type(self.ridge)
        kernel_time = time.perf_counter() - start

        start = time.perf_counter()
        factor = Factor(K, backend, torch_device(self.device))
        del K  # on the scipy backend the factor now occupies its memory
        if factor.info != 0:
            raise np.linalg.LinAlgError(
                f"The {self.kernel} kernel matrix (n={X.shape[0]}, bandwidth={self.bandwidth}) is "
                "not "
                f"numerically positive definite in {self.dtype} (Cholesky failed at column "
                f"{factor.info}). "
                "Use dtype='float64', a larger bandwidth for the Laplace kernel or a smaller one "
                "for the "
                "Gaussian, a small ridge, or remove duplicate rows."
            )
        alpha = factor.solve(Y)
        factor_time = time.perf_counter() - start

        # Iterative refinement: residual in float64 from recomputed float64 kernel blocks.
        start = time.perf_counter()
        norm_Y = np.linalg.norm(Y)
        steps, history = 0, []
        while True:
            K_alpha = kernel_times(
                self.X_fit_, self.X_fit_, alpha, dtype=np.float64, z_codes=self._fit_codes, **args
            )
            residual = Y - K_alpha - self.ridge * alpha
            history.append(np.linalg.norm(residual) / norm_Y)
            stalled = len(history) > 1 and history[-1] > 0.5 * history[-2]
            if history[-1] <= self.tol or steps >= self.max_refinements or stalled:
                break
            alpha = alpha + factor.solve(residual)
            steps += 1
        refine_time = time.perf_counter() - start
        if history[-1] > self.tol:
            warnings.warn(
                f"KernelInterpolator reached a relative residual of {history[-1]:.1e}, above "
                f"tol={self.tol:g}, "
                f"after {steps} refinement steps (history "
                f"{', '.join(f'{h:.1e}' for h in history)}): the kernel "
                f"matrix is too ill-conditioned for {self.dtype}. Use dtype='float64' or a ridge.",
                ConditioningWarning,
                stacklevel=2,
            )
        train_error = float(
            np.mean(K_alpha.argmax(1) != codes)
        )  # K alpha: the fit on the training set
        self.dual_coef_ = alpha
        self.fit_report_ = FitReport(
            n_samples=X.shape[0],
            n_outputs=Y.shape[1],
            backend=backend,
            relative_residual=float(history[-1]),
            refinement_steps=steps,
            train_error=train_error,
            # ||f||^2 = trace(alpha^T K alpha), with K alpha in float64 from the last residual
            rkhs_norm=float(np.sqrt(np.sum(alpha * K_alpha))),
            kernel_time_s=kernel_time,
            factor_time_s=factor_time,
            refine_time_s=refine_time,
        )
        return self

    def decision_function(self, X):
        """``K(X, X_fit) @ dual_coef_``: one score per class, shape (n, n_classes), float64."""
        if not hasattr(self, "dual_coef_"):
            raise ValueError("this KernelInterpolator is not fitted yet; call fit(X, y) first.")
        X = checks.array("X", X, ndim=2, finite=False, nonempty=False, dtype=None)
        if X.shape[1] != self.X_fit_.shape[1]:
            raise ValueError(
                f"X must have {self.X_fit_.shape[1]} features, as in fit; got {X.shape[1]}."
            )
        return kernel_times(
            np.ascontiguousarray(X, dtype=self.X_fit_.dtype),
            self.X_fit_,
            self.dual_coef_,
            kernel=self.kernel,
            bandwidth=self.bandwidth,
            dtype=np.dtype(self.predict_dtype),
            block_rows=self.block_rows,
            device=self.device,
            z_codes=self._fit_codes,
        )

    def predict(self, X):
        """The class with the largest score, shape (n,)."""
        scores = self.decision_function(X)  # raises first if not fitted
        return self.classes_[scores.argmax(1)]

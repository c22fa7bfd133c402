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
* When the float32 factorization fails (the matrix is not numerically positive definite in
  float32: few points, close points, a wide bandwidth), the fit falls back by itself, as
  scikit-learn's ``KernelRidge`` does: to float64 Cholesky, then to the minimum-norm
  least-squares solution (SciPy's ``lstsq``), with a :class:`ConditioningWarning` that says
  which solve was used (``fit_report_.solver``). The fallbacks need the float64 matrix in
  memory; beyond that the fit raises ``LinAlgError`` with advice instead.

* From :data:`ITERATIVE_FROM` training points on (``solver="auto"``), an iterative solver
  takes over: EigenPro (:mod:`generalization.eigenpro`), preconditioned stochastic gradient
  descent over the stored float32 upper triangle, stopped at zero training errors. It
  computes the interpolating *classifier* in a few dozen passes over the matrix instead of
  the ``n^3 / 3`` flops of a factorization (all 60,000 MNIST images: see
  ``benchmarks/README.md``). A fit whose matrix would not fit in the available memory is
  refused with ``MemoryError`` before anything is allocated.

It is a scikit-learn classifier: ``sklearn.utils.estimator_checks.check_estimator`` passes
in full (``tests/unit/test_kernel_solver.py``), so input is validated by scikit-learn's own
``validate_data`` and its messages.

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

import os
import time
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import checks, eigenpro
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


SOLVERS = ("auto", "direct", "iterative")

ITERATIVE_FROM = 20_000
"""``solver="auto"`` uses the iterative solver from this many training points on (with
``ridge=0`` on the CPU), the direct one below. Measured on the development machine (2 cores)
by ``benchmarks/bench_kernels.py``: see ``benchmarks/README.md``."""


def _size(n_bytes):
    return f"{n_bytes / 1e9:.1f} GB" if n_bytes >= 1e8 else f"{n_bytes / 1e6:.1f} MB"


def available_memory():
    """Bytes this process can still allocate: ``MemAvailable`` of ``/proc/meminfo``, capped by
    the cgroup's ``memory.max`` less its ``memory.current`` where a container sets one; None
    where neither can be read (not Linux)."""
    limits = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            cap = f.read().strip()
        if cap != "max":
            with open("/sys/fs/cgroup/memory.current") as f:
                limits.append(int(cap) - int(f.read().strip()))
    except (OSError, ValueError):
        pass
    return min(limits) if limits else None


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
    solver: str = "cholesky"
    """``"cholesky"`` in the requested dtype, ``"cholesky-float64"`` after a float32
    factorization failed, ``"lstsq"``: the minimum-norm least-squares solution after the
    float64 factorization failed too, or ``"eigenpro"``: the iterative solver (then
    ``factor_time_s`` is the preconditioner's and ``refine_time_s`` the iterations')."""
    epochs: int = 0
    """Passes over the kernel matrix the iterative solver took (0 when it did not run)."""
    convergence: object = None
    """The iterative solver's :class:`generalization.eigenpro.Convergence`: per epoch the
    relative residual and training errors, the exact checks, the batch size and step; also
    kept when ``solver="auto"`` fell back from it to the direct solve."""

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
    solver : {"auto", "direct", "iterative"}, default "auto"
        "direct": Cholesky and refinement (exact to ``tol``). "iterative": EigenPro
        (:mod:`generalization.eigenpro`): preconditioned SGD over the stored float32 kernel
        matrix until ``stop`` is met, on the CPU, with ``ridge=0``. "auto": iterative from
        :data:`ITERATIVE_FROM` points on when those hold, direct otherwise; when the
        iterative solver reaches ``max_epochs`` without meeting ``stop`` (Gaussian kernels
        fit noisy labels slowly), the direct solve follows, with a ``ConvergenceWarning``.
    stop : {"train_error", "residual"}, default "train_error"
        When the iterative solver stops: at zero training errors (the interpolating
        classifier), or at a relative residual of at most ``tol`` (float32 arithmetic
        limits it to about 1e-5).
    max_epochs : int, default 100
        Passes over the kernel matrix the iterative solver may take; it warns
        (``ConvergenceWarning``) when it stops there without meeting ``stop``.
    subsample_size : int, default 4000
        Points whose kernel matrix gives the iterative solver's preconditioner.
    n_components : int, default 160
        Top eigendirections the preconditioner flattens (at most a quarter of the
        subsample).
    random_state : int, default 0
        Seed of the iterative solver's random order of the training points (its subsample
        is the first ``subsample_size`` of them).
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
        solver="auto",
        stop="train_error",
        max_epochs=100,
        subsample_size=4000,
        n_components=160,
        random_state=0,
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
        self.solver = solver
        self.stop = stop
        self.max_epochs = max_epochs
        self.subsample_size = subsample_size
        self.n_components = n_components
        self.random_state = random_state

    def _validate(self):
        checks.choice("kernel", self.kernel, KERNELS)
        checks.positive("bandwidth", self.bandwidth)
        checks.nonnegative("ridge", self.ridge)
        checks.positive("tol", self.tol)
        checks.count("max_refinements", self.max_refinements, minimum=0)
        checks.count("block_rows", self.block_rows)
        checks.choice("dtype", self.dtype, ("float32", "float64"))
        checks.choice("predict_dtype", self.predict_dtype, ("float32", "float64"))
        checks.choice("backend", self.backend, ("auto", "scipy", "torch"))
        checks.choice("solver", self.solver, SOLVERS)
        checks.choice("stop", self.stop, eigenpro.STOPS)
        checks.count("max_epochs", self.max_epochs)
        checks.count("subsample_size", self.subsample_size, minimum=2)
        checks.count("n_components", self.n_components)
        checks.count("random_state", self.random_state, minimum=0)
        if self.solver == "iterative" and self.ridge != 0:
            raise ValueError(
                f"ridge must be 0 with solver='iterative'; got {self.ridge!r} (use "
                "solver='direct' for kernel ridge regression)."
            )
        if self.solver == "iterative" and torch_device(self.device).type != "cpu":
            raise ValueError(
                f"device must be the CPU with solver='iterative'; got {self.device!r}."
            )
        if self.backend == "auto":
            return "torch" if torch_device(self.device).type == "cuda" else "scipy"
        return self.backend

    def fit(self, X, y):
        """Solve ``(K + ridge I) alpha = onehot(y)``; y holds integer (or any hashable) labels.

        The solve tried first is Cholesky in ``dtype``, refined. When it fails, the fit falls
        back by itself, with a :class:`ConditioningWarning` naming the solve used: from a
        failed float32 factorization to float64 Cholesky, and from a failed float64 one (or
        one whose refinement cannot reach ``tol``) to the minimum-norm least-squares
        solution. ``fit_report_.solver`` records which."""
        backend = self._validate()
        X, y = validate_data(self, X, y, dtype=(np.float64, np.float32))
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(f"y must hold at least 2 classes; got {n_classes} class.")
        Y = np.eye(n_classes)[codes]
        n = X.shape[0]
        device = torch_device(self.device)
        iterative = self.solver == "iterative" or (
            self.solver == "auto"
            and n >= ITERATIVE_FROM
            and self.ridge == 0
            and device.type == "cpu"
        )
        if device.type == "cpu":
            self._refuse_beyond_memory(n, np.dtype(self.dtype), iterative)
        attempt = None  # the iterative solver's history, when "auto" falls back from it
        if iterative:
            self._fit_iterative(X, Y, codes, device)
            attempt = self.fit_report_.convergence
            if attempt.converged or self.solver == "iterative":
                return self
            del self.dual_coef_, self.X_fit_  # solved again, directly
            epoch, residual, errors = attempt.checks[-1]
            warnings.warn(
                f"KernelInterpolator (solver='auto'): the iterative solver stopped after "
                f"max_epochs={self.max_epochs} passes with {errors} training errors (relative "
                f"residual {residual:.1e}), so the fit was solved directly instead; "
                "fit_report_.convergence keeps the iterative attempt.",
                ConvergenceWarning,
                stacklevel=2,
            )
        args = dict(
            kernel=self.kernel, bandwidth=self.bandwidth, block_rows=self.block_rows, device=device
        )

        def inputs(dtype):  # the inputs in the fit's precision, and their 8-bit codes (or None)
            X_fit = np.ascontiguousarray(X, dtype=dtype)
            return X_fit, (pixel_codes(X_fit) if device.type == "cpu" else None)

        times = {"kernel": 0.0, "factor": 0.0, "refine": 0.0}
        clock = time.perf_counter()

        def lap(name):
            nonlocal clock
            now = time.perf_counter()
            times[name] += now - clock
            clock = now

        def factored(X_fit, dtype):
            K = kernel_matrix(X_fit, X_fit, dtype=dtype, upper_only=True, **args)
            K[np.diag_indices_from(K)] += dtype.type(self.ridge)
            lap("kernel")
            factor = Factor(K, backend, device)  # on the scipy backend it holds K's memory
            lap("factor")
            return factor

        def refined(factor, X_fit, fit_codes):
            """Iterative refinement: residuals in float64 from recomputed float64 blocks."""
            alpha, steps, history = factor.solve(Y), 0, []
            while True:
                K_alpha = kernel_times(
                    X_fit, X_fit, alpha, dtype=np.float64, z_codes=fit_codes, **args
                )
                residual = Y - K_alpha - self.ridge * alpha
                history.append(np.linalg.norm(residual) / np.linalg.norm(Y))
                stalled = len(history) > 1 and history[-1] > 0.5 * history[-2]
                if history[-1] <= self.tol or steps >= self.max_refinements or stalled:
                    return alpha, K_alpha, history, steps
                alpha = alpha + factor.solve(residual)
                steps += 1

        dtype = np.dtype(self.dtype)
        X_fit, fit_codes = inputs(dtype)
        factor = factored(X_fit, dtype)
        solver, failures, result = "cholesky", [], None
        if factor.info == 0:
            result = refined(factor, X_fit, fit_codes)
            lap("refine")
        else:
            failures.append(
                f"the {self.dtype} Cholesky factorization failed at column {factor.info}"
            )
        if factor.info != 0 and dtype == np.float32:
            del factor
            self._refuse_fallback_beyond_memory(n, failures[-1])
            X_fit, fit_codes = inputs(np.float64)
            factor = factored(X_fit, np.dtype(np.float64))
            solver = "cholesky-float64"
            if factor.info != 0:
                failures.append(f"float64 failed too, at column {factor.info}")
            else:
                result = refined(factor, X_fit, fit_codes)
                lap("refine")
                if result[2][-1] > self.tol:
                    failures.append(
                        f"float64 Cholesky with refinement reached only a relative residual "
                        f"of {result[2][-1]:.1e}"
                    )
                    result = None
        if result is None:
            del factor
            self._refuse_fallback_beyond_memory(n, "; ".join(failures))
            X_fit, fit_codes = inputs(np.float64)
            K = kernel_matrix(X_fit, X_fit, dtype=np.float64, **args)
            K[np.diag_indices_from(K)] += self.ridge
            lap("kernel")
            alpha = scipy.linalg.lstsq(K, Y, lapack_driver="gelsd")[0]
            K_alpha = K @ alpha
            history = [np.linalg.norm(Y - K_alpha - self.ridge * alpha) / np.linalg.norm(Y)]
            result, solver = (alpha, K_alpha, history, 0), "lstsq"
            del K
            lap("factor")
        alpha, K_alpha, history, steps = result
        self._warn(solver, failures, history, steps)
        self.X_fit_, self._fit_codes = X_fit, fit_codes
        self.dual_coef_ = alpha
        self.fit_report_ = FitReport(
            n_samples=n,
            n_outputs=Y.shape[1],
            backend=backend,
            relative_residual=float(history[-1]),
            refinement_steps=steps,
            train_error=float(np.mean(K_alpha.argmax(1) != codes)),  # K alpha: the fit itself
            # ||f||^2 = trace(alpha^T K alpha), with K alpha in float64 from the last residual
            rkhs_norm=float(np.sqrt(max(np.sum(alpha * K_alpha), 0.0))),
            kernel_time_s=times["kernel"],
            factor_time_s=times["factor"],
            refine_time_s=times["refine"],
            solver=solver,
            epochs=0 if attempt is None else attempt.epochs,
            convergence=attempt,
        )
        return self

    def _memory_needed(self, n, dtype, iterative):
        """Bytes a fit of ``n`` points holds at its peak: the kernel matrix's upper triangle
        in ``dtype`` (its diagonal blocks whole), kernel blocks in flight, and for the
        iterative solver the subsample's float64 kernel matrix and its eigenvectors."""
        block = min(self.block_rows, n)
        triangle = dtype.itemsize * n * (n + block) / 2
        blocks = 3 * 8 * block * n
        extra = 3 * 8 * min(self.subsample_size, n) ** 2 if iterative else 0
        return int(triangle + blocks + extra)

    def _refuse_beyond_memory(self, n, dtype, iterative):
        """Raise ``MemoryError`` with advice, before allocating, when the fit would not fit
        in the memory available now (instead of being killed by the operating system)."""
        needed, available = self._memory_needed(n, dtype, iterative), available_memory()
        if available is None or needed <= 0.9 * available:
            return
        low, high = 1, n  # the largest size that fits, by bisection on the same estimate
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (
                (middle, high)
                if self._memory_needed(middle, dtype, iterative) <= 0.9 * available
                else (low, middle)
            )
        raise MemoryError(
            f"KernelInterpolator.fit needs about {_size(needed)} for n={n} training points "
            f"(the upper triangle of the {dtype.name} kernel matrix, {dtype.itemsize} x n^2 / 2 "
            f"bytes), and {_size(available)} are available. Use fewer points (about {low:,} "
            "fit), dtype='float32' if it is float64, or a GPU with enough memory "
            "(device='cuda')."
        )

    def _fit_iterative(self, X, Y, codes, device):
        """EigenPro over the stored kernel matrix of the points in a random order."""
        dtype = np.dtype(self.dtype)
        n = X.shape[0]
        start = time.perf_counter()
        X_fit = np.ascontiguousarray(X, dtype=dtype)
        order = np.random.default_rng(self.random_state).permutation(n)
        X_order = X_fit[order]
        s = min(self.subsample_size, n)
        args = dict(kernel=self.kernel, bandwidth=self.bandwidth, device=device)
        K_sub = kernel_matrix(X_order[:s], X_order[:s], dtype=np.float64, **args)
        kernel_time = time.perf_counter() - start
        start = time.perf_counter()
        precond = eigenpro.preconditioner(K_sub, min(self.n_components, max(1, s // 4)))
        del K_sub
        batch = int(np.clip(precond.critical_batch_size, 1, n))
        factor_time = time.perf_counter() - start
        start = time.perf_counter()
        K = kernel_matrix(X_order, X_order, dtype=dtype, upper_only=True, block_rows=batch, **args)
        kernel_time += time.perf_counter() - start
        start = time.perf_counter()
        alpha_order, K_alpha_order, convergence = eigenpro.solve(
            K, Y[order], codes[order], precond, batch, self.max_epochs, self.stop, self.tol
        )
        del K
        refine_time = time.perf_counter() - start
        alpha, K_alpha = np.empty((n, Y.shape[1])), np.empty((n, Y.shape[1]))
        alpha[order], K_alpha[order] = alpha_order, K_alpha_order
        epoch, residual, errors = convergence.checks[-1]
        if not convergence.converged and self.solver == "iterative":
            met = "zero training errors" if self.stop == "train_error" else f"tol={self.tol:g}"
            warnings.warn(
                f"KernelInterpolator (solver='iterative') stopped after max_epochs="
                f"{self.max_epochs} passes without reaching {met}: {errors} training errors, "
                f"relative residual {residual:.1e}. Raise max_epochs, or use solver='direct'.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.X_fit_ = X_fit
        self._fit_codes = pixel_codes(X_fit)
        self.dual_coef_ = alpha
        self.fit_report_ = FitReport(
            n_samples=n,
            n_outputs=Y.shape[1],
            backend="numpy",
            relative_residual=residual,
            refinement_steps=0,
            train_error=errors / n,
            rkhs_norm=float(np.sqrt(max(np.sum(alpha * K_alpha), 0.0))),
            kernel_time_s=kernel_time,
            factor_time_s=factor_time,
            refine_time_s=refine_time,
            solver="eigenpro",
            epochs=convergence.epochs,
            convergence=convergence,
        )
        return self

    def _refuse_fallback_beyond_memory(self, n, failure):
        """Raise ``LinAlgError`` with advice when a float64 n x n fallback would not fit in
        the memory available now (two matrices: the kernel and its factor or SciPy's copy)."""
        needed = 2 * 8 * n * n
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):  # not a POSIX system: try the fallback
            return
        if needed > 0.8 * available:
            raise np.linalg.LinAlgError(
                f"The {self.kernel} kernel matrix (n={n}, bandwidth={self.bandwidth}) is not "
                f"numerically positive definite ({failure}), and the float64 fallback would "
                f"need {needed / 1e9:.1f} GB where {available / 1e9:.1f} GB are available. Use "
                "a larger bandwidth for the Laplace kernel or a smaller one for the Gaussian, "
                "a small ridge, or remove duplicate rows."
            )

    def _warn(self, solver, failures, history, steps):
        """One :class:`ConditioningWarning` when the fit fell back or missed ``tol``."""
        residual = f"relative residual {history[-1]:.1e}"
        if solver == "lstsq":
            message = (
                f"KernelInterpolator: {'; '.join(failures)}. The {self.kernel} kernel matrix is "
                "singular or nearly so (duplicate rows with different labels, or a bandwidth "
                "too wide for the data), so the fit returned the minimum-norm least-squares "
                f"solution (scipy.linalg.lstsq), with a {residual}."
            )
        elif solver == "cholesky-float64":
            message = (
                f"KernelInterpolator: {failures[0]}; solved with a float64 Cholesky "
                f"factorization instead ({residual} after {steps} refinement steps). Pass "
                "dtype='float64' to skip the float32 attempt."
            )
        elif history[-1] > self.tol:
            message = (
                f"KernelInterpolator reached a relative residual of {history[-1]:.1e}, above "
                f"tol={self.tol:g}, after {steps} refinement steps (history "
                f"{', '.join(f'{h:.1e}' for h in history)}): the kernel matrix is too "
                f"ill-conditioned for {self.dtype}. Use dtype='float64' or a ridge."
            )
        else:
            return
        warnings.warn(message, ConditioningWarning, stacklevel=3)

    def _scores(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
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

    def decision_function(self, X):
        """``K(X, X_fit) @ dual_coef_``: one score per class, shape (n, n_classes), float64;
        with two classes, scikit-learn's convention: the score of ``classes_[1]`` minus that
        of ``classes_[0]``, shape (n,), positive for ``classes_[1]``."""
        scores = self._scores(X)
        return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores

    def predict(self, X):
        """The class with the largest score, shape (n,)."""
        scores = self._scores(X)  # raises NotFittedError first when not fitted
        return self.classes_[scores.argmax(1)]

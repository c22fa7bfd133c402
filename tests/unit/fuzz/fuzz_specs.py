"""The fuzz specs: for each public function of the method modules, a small valid call (a few
milliseconds) and the kinds of the arguments to fuzz; and the table of exemptions, with
their reasons. Keys are ``"<module>.<name>"``; :mod:`test_fuzz_public_functions` fails when a
public function has neither.
"""

from __future__ import annotations

import numpy as np
from fuzz_harness import Array, Callable, Choice, Count, Module, Number, Spec, Tensor

from generalization import pca

A = Array()  # a float array of fixed ndim, nothing coupled
A0 = Array(coupled=(0,))  # ... whose rows must match another argument's
A1 = Array(coupled=(1,))
A01 = Array(coupled=(0, 1))
AE1 = Array(coupled=(1,), empty_ok=True)  # an empty array is legitimate: an empty result
AS = Array(ndim_fixed=False, empty_ok=True)  # a float, or an array that broadcasts
AOPT0 = Array(coupled=(0,), optional=True)  # None is the default
AOPT1 = Array(coupled=(1,), optional=True)
LABELS = Array(integer=True, coupled=(0,))
POS = Number(low=0, low_open=True)
NONNEG = Number(low=0)
FRAC = Number(low=0, high=1)
COUNT = Count(1)
COUNT0 = Count(0)
SEED = Count(0)


def normal(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def uniform(*shape, seed=0):
    return np.random.default_rng(seed).random(shape)


def labels(n, k=3, seed=0):
    return np.arange(n) % k


def signs(n):
    return np.where(np.arange(n) % 2 == 0, 1.0, -1.0)


SPECS = {}
EXEMPT = {}

# Cases whose kind calls a value bad but where the function's behaviour is right: each is
# skipped with its reason (one line each), not recorded as a defect.
_ANY_Y = "subsample only indexes y: targets of any dtype (class names, reals) come back as given"
ACCEPTED = {
    "bad:data.subsample-y-a non-integer entry": _ANY_Y,
    "bad:data.subsample-y-complex dtype": _ANY_Y,
    "bad:data.subsample-y-object dtype with a string": _ANY_Y,
    "bad:simplicity.count_ones-words-empty": "a batch of no functions, shape (0, W): no counts",
    "bad:simplicity.words_to_bits-words-empty": "a batch of no functions: no truth tables",
    "bad:simplicity.lz_complexities-words-empty": "a batch of no functions: no complexities",
    "bad:simplicity.lz_complexities-words-one axis less": "1-D words are one function, as in "
    "words_to_bits",
    "bad:simplicity.lz_complexity-bits-a string": "documented: a string's characters are symbols",
    "bad:simplicity.lz_complexity_symmetric-bits-a string": "documented: a string's characters "
    "are symbols",
}
# w0's size is set by the caller's train_loss: its own error about it propagates unchanged
# (as scipy.optimize.minimize lets fun's errors through)
_USER_LOSS = "the caller's train_loss defines w0's size and raises its own error"
for _name in ("hypergradient", "unrolled_weights", "validation_loss"):
    ACCEPTED[f"edge:hypergradients.{_name}-w0-one row"] = _USER_LOSS


def spec(name, call, nan_ok=False, run=None, **kinds):
    assert name not in SPECS, name
    SPECS[name] = Spec(call=call, kinds=kinds, run=run, nan_ok=nan_ok)


def exempt(name, reason):
    assert name not in EXEMPT, name
    EXEMPT[name] = reason


# ---------------------------------------------------------------------------- augment
def _shifted(max_shift):
    from generalization import augment

    images = torch().arange(2 * 784, dtype=torch().float32).reshape(2, 784)
    return augment.random_shift(max_shift)(images, torch().Generator().manual_seed(0))


spec("augment.random_shift", lambda: {"max_shift": 2}, run=_shifted, max_shift=COUNT0)
spec(
    "augment.replicate",
    lambda: {"X": uniform(3, 784), "copies": 2, "max_shift": 1, "seed": 0},
    X=A,
    copies=COUNT,
    max_shift=COUNT0,
    seed=SEED,
)

# -------------------------------------------------------------------------------- fit
spec(
    "fit.power_law",
    lambda: {"x": np.arange(1.0, 6.0), "values": 3 * np.arange(1.0, 6.0) ** -0.5},
    x=Array(coupled=(0,)),
    values=Array(ndim_fixed=False),
)
spec(
    "fit.loglog_slope",
    lambda: {"x": np.arange(1.0, 6.0), "values": np.arange(1.0, 6.0) ** 2},
    x=Array(coupled=(0,)),
    values=Array(ndim_fixed=False),
)

# -------------------------------------------------------------------------------- pca
spec(
    "pca.pca_basis",
    lambda: {"images": normal(10, 6), "n_components": 3},
    images=A,
    n_components=COUNT,
)
spec("pca.project", lambda: {"X": normal(5, 6), "basis": pca.pca_basis(normal(10, 6), 3)}, X=A1)

# ----------------------------------------------------------------------------- sphere
spec("sphere.harmonic_dimension", lambda: {"d": 3, "k": 2}, d=Count(2), k=Count(0))
spec(
    "sphere.gegenbauer",
    lambda: {"k_max": 3, "d": 3, "t": np.linspace(-1, 1, 5)},
    k_max=Count(0),
    d=Count(2),
    t=Array(ndim_fixed=False),
)
spec(
    "sphere.mercer_eigenvalues",
    lambda: {"kappa": np.exp, "d": 3, "k_max": 3},
    kappa=Callable(),
    d=Count(2),
    k_max=Count(0),
)
spec(
    "sphere.spectrum_with_multiplicities",
    lambda: {"mu": np.array([1.0, 0.5, 0.25]), "d": 3},
    mu=A,
    d=Count(2),
)
spec("sphere.to_sphere", lambda: {"X": normal(4, 3)}, X=A)
spec("sphere.uniform_sphere", lambda: {"n": 4, "d": 3, "seed": 0}, n=COUNT, d=Count(2), seed=SEED)

# --------------------------------------------------------------------------- variance
spec(
    "variance.decompose",
    lambda: {"predictions": normal(2, 3, 2, 4), "target": normal(4)},
    predictions=Array(coupled=(3,)),
    target=A0,
)
spec(
    "variance.decompose_moments",
    lambda: {
        "mean_predictions": normal(2, 3, 4),
        "noise_variances": uniform(2, 3, 4),
        "target": normal(4),
    },
    mean_predictions=Array(coupled=(2,)),
    noise_variances=Array(coupled=(2,)),
    target=A0,
)


def _smoothers():
    return {"smoothers": normal(2, 3, 4, 5), "train_targets": normal(2, 5), "noise_var": 0.5}


spec(
    "variance.linear_moments",
    _smoothers,
    smoothers=Array(coupled=(3,)),
    train_targets=Array(coupled=(1,)),
    noise_var=NONNEG,
)
spec(
    "variance.decompose_linear",
    lambda: {**_smoothers(), "target": normal(4)},
    smoothers=Array(coupled=(3,)),
    train_targets=Array(coupled=(1,)),
    target=A0,
    noise_var=NONNEG,
)
spec(
    "variance.ensemble_error",
    lambda: {"predictions": normal(2, 3, 2, 4), "target": normal(4), "k": 2},
    predictions=Array(coupled=(3,)),
    target=A0,
    k=COUNT,
)
spec(
    "variance.ensemble_error_linear",
    lambda: {**_smoothers(), "target": normal(4), "k": 2},
    smoothers=Array(coupled=(3,)),
    train_targets=Array(coupled=(1,)),
    target=A0,
    noise_var=NONNEG,
    k=COUNT,
)
spec(
    "variance.ensemble_limit",
    lambda: {"ks": (1, 2, 4), "errors": np.array([3.0, 2.0, 1.5])},
    errors=Array(coupled=(0,), ndim_fixed=False),
)
exempt("variance.Decomposition", "result record (a dataclass the package returns), no input")

# ------------------------------------------------------------------------ info_bounds
spec(
    "info_bounds.bounded_loss_subgaussian",
    lambda: {"low": 0.0, "high": 1.0},
    low=Number(),
    high=Number(),
)
spec("info_bounds.sgld_noise_variance", lambda: {"lr": 0.1, "beta": 100.0}, lr=AS, beta=AS)
spec(
    "info_bounds.gaussian_channel_information",
    lambda: {"power": 1.0, "noise_variance": 0.5, "dim": 2},
    power=AS,
    noise_variance=AS,
    dim=COUNT,
)
spec(
    "info_bounds.gaussian_channel_information_mc",
    lambda: {"power": 1.0, "noise_variance": 0.5, "dim": 2, "num_samples": 100, "seed": 0},
    power=AS,
    noise_variance=AS,
    dim=COUNT,
    num_samples=Count(2),
    seed=SEED,
)
spec("info_bounds.binary_input_information", lambda: {"snr": 1.0}, snr=AS)
spec(
    "info_bounds.step_information_bounds",
    lambda: {
        "lrs": np.full(3, 0.1),
        "noise_variances": np.full(3, 0.01),
        "second_moments": np.full(3, 2.0),
        "dim": 4,
    },
    lrs=Array(coupled=(0,), ndim_fixed=False),
    noise_variances=Array(coupled=(0,), ndim_fixed=False),
    second_moments=Array(coupled=(0,), ndim_fixed=False),
    dim=COUNT,
)
spec(
    "info_bounds.pensia_information_bound",
    lambda: {
        "lrs": np.full(3, 0.1),
        "noise_variances": np.full(3, 0.01),
        "grad_bound": 1.0,
        "dim": 4,
    },
    lrs=Array(coupled=(0,), ndim_fixed=False),
    noise_variances=Array(coupled=(0,), ndim_fixed=False),
    grad_bound=POS,
    dim=COUNT,
)
spec(
    "info_bounds.xu_raginsky_bound",
    lambda: {"information": 0.5, "n_samples": 100, "subgaussian": 0.5},
    information=AS,
    n_samples=COUNT,
    subgaussian=POS,
)
exempt("info_bounds.SGLDPath", "result record (a dataclass the package returns), no input")

# ----------------------------------------------------------------------------- linear
spec(
    "linear.ridge_gains",
    lambda: {"s": np.array([3.0, 2.0, 0.5]), "n": 5, "alpha": 0.1},
    s=AS,
    n=COUNT,
    alpha=NONNEG,
)
spec("linear.SpectralRidge", lambda: {"X": normal(6, 4)}, X=A)
spec(
    "linear.min_norm_solution",
    lambda: {"X": normal(4, 6), "y": normal(4)},
    X=A0,
    y=Array(coupled=(0,), ndim_fixed=False),
)
spec(
    "linear.ridge_solution",
    lambda: {"X": normal(4, 6), "y": normal(4), "alpha": 0.1},
    X=A0,
    y=Array(coupled=(0,), ndim_fixed=False),
    alpha=NONNEG,
)
spec(
    "linear.gd_path",
    lambda: {"X": normal(4, 6), "y": normal(4), "lr": 0.05, "num_steps": 5},
    X=A0,
    y=A0,
    lr=POS,
    num_steps=COUNT0,
)
spec(
    "linear.kernel_min_norm_predict",
    lambda: {"X": normal(4, 6), "y": normal(4), "X_test": normal(3, 6)},
    X=A01,
    y=Array(coupled=(0,), ndim_fixed=False),
    X_test=A1,
)
spec(
    "linear.mp_stieltjes",
    lambda: {"z_neg": 0.5, "gamma": 2.0},
    z_neg=AS,
    gamma=AS,
)
for _name in (
    "asymptotic_risk_isotropic",
    "optimal_ridge_risk_isotropic",
    "asymptotic_norm_isotropic",
):
    spec(
        f"linear.{_name}",
        lambda: {"gamma": 2.0, "snr": 1.5, "noise_var": 1.0},
        gamma=AS,
        snr=NONNEG,
        noise_var=NONNEG,
    )
spec(
    "linear.expected_risk_gaussian",
    lambda: {"n": 5, "p": 10, "snr": 1.5, "noise_var": 1.0},
    n=COUNT,
    p=COUNT,
    snr=NONNEG,
    noise_var=NONNEG,
)

# ---------------------------------------------------------------------------- kernels
spec(
    "kernels.torch_device", lambda: {"device": "cpu"}, device=Choice(("cpu", "auto", "cuda", None))
)
spec("kernels.pixel_codes", lambda: {"X": np.arange(12).reshape(3, 4) / 255}, X=A)
spec(
    "kernels.kernel_matrix",
    lambda: {
        "A": uniform(4, 5),
        "B": uniform(3, 5, seed=1),
        "kernel": "gaussian",
        "bandwidth": 2.0,
        "device": "cpu",
    },
    A=AE1,
    B=AE1,
    kernel=Choice(("gaussian", "laplace")),
    bandwidth=POS,
    block_rows=COUNT,
    device=Choice(("cpu", None)),
)
for _name in ("gaussian_kernel", "laplace_kernel"):
    spec(
        f"kernels.{_name}",
        lambda: {"A": uniform(4, 5), "B": uniform(3, 5, seed=1), "bandwidth": 2.0},
        A=AE1,
        B=AE1,
        bandwidth=POS,
    )
spec(
    "kernels.kernel_times",
    lambda: {
        "X": uniform(4, 5),
        "Z": uniform(3, 5, seed=1),
        "alpha": normal(3, 2),
        "kernel": "laplace",
        "bandwidth": 2.0,
        "dtype": np.float64,
        "block_rows": 2,
        "device": "cpu",
    },
    X=AE1,
    Z=Array(coupled=(0, 1), empty_ok=True),
    alpha=Array(coupled=(0,), finite=False),  # NaN in, NaN out (kernels.py)
    kernel=Choice(("gaussian", "laplace")),
    bandwidth=POS,
    block_rows=COUNT,
)

# --------------------------------------------------------------------------- features
spec(
    "features.RandomFeatureMap",
    lambda: {"kind": "fourier", "n_inputs": 5, "n_features": 8, "bandwidth": 2.0, "seed": 0},
    kind=Choice(("fourier", "relu")),
    n_inputs=COUNT,
    n_features=COUNT,
    bandwidth=POS,
    seed=SEED,
)
spec(
    "features.random_fourier_features",
    lambda: {"X": normal(4, 5), "n_features": 8, "bandwidth": 2.0, "seed": 0},
    X=A,
    n_features=COUNT,
    bandwidth=POS,
    seed=SEED,
)
spec(
    "features.random_relu_features",
    lambda: {"X": normal(4, 5), "n_features": 8, "seed": 0, "scale": 1.0},
    X=A,
    n_features=COUNT,
    seed=SEED,
    scale=POS,
)
spec("features.arccos_kernel", lambda: {"A": normal(4, 5), "B": normal(3, 5, seed=1)}, A=A1, B=A1)

# ---------------------------------------------------------------------- diagonal_nets
spec("diagonal_nets.q", lambda: {"z": np.linspace(-0.9, 0.9, 5)}, z=AS)
spec("diagonal_nets.implicit_regularizer", lambda: {"w": normal(4), "alpha": 0.5}, w=A, alpha=POS)
spec("diagonal_nets.balanced_weights", lambda: {"w": normal(4), "alpha": 0.5}, w=A, alpha=POS)
spec(
    "diagonal_nets.tangent_kernel",
    lambda: {"X": normal(3, 4), "u": normal(4), "v": normal(4)},
    X=A1,
    u=A0,
    v=A0,
)
spec(
    "diagonal_nets.gradient_descent",
    lambda: {
        "X": normal(3, 5),
        "y": normal(3),
        "alpha": 0.5,
        "lr": 0.01,
        "max_steps": 20,
        "check_every": 5,
    },
    X=A0,
    y=A0,
    alpha=AS,
    lr=POS,
    max_steps=COUNT,
    tol=POS,
    check_every=COUNT,
)
spec("diagonal_nets.min_l2_interpolant", lambda: {"X": normal(3, 5), "y": normal(3)}, X=A0, y=A0)
spec("diagonal_nets.min_l1_interpolant", lambda: {"X": normal(3, 5), "y": normal(3)}, X=A0, y=A0)
spec(
    "diagonal_nets.min_q_interpolant",
    lambda: {"X": normal(3, 5), "y": normal(3), "alpha": 0.5},
    X=A0,
    y=A0,
    alpha=POS,
)
spec(
    "diagonal_nets.sparse_regression",
    lambda: {"n_samples": 4, "n_features": 6, "sparsity": 2, "seed": 0},
    n_samples=COUNT,
    n_features=COUNT,
    sparsity=COUNT,
    seed=SEED,
)
exempt("diagonal_nets.DiagonalRun", "result record (a dataclass the package returns), no input")

# --------------------------------------------------------------------------- geometry
spec(
    "geometry.mirror_descent",
    lambda: {
        "X": normal(3, 5),
        "y": normal(3),
        "potential": "l2",
        "w0": np.zeros(5),
        "lr": 0.05,
        "num_steps": 5,
    },
    X=A01,
    y=A0,
    w0=A0,
    lr=POS,
    num_steps=COUNT0,
)
spec(
    "geometry.bregman_projection",
    lambda: {"X": normal(3, 5), "y": normal(3), "potential": "l2", "w0": np.zeros(5)},
    X=A01,
    y=A0,
    w0=A0,
    tol=POS,
    max_iter=COUNT,
)
spec(
    "geometry.steepest_descent",
    lambda: {"X": normal(3, 5), "y": normal(3), "norm": "l1", "lr": 0.05, "num_steps": 5},
    X=A0,
    y=A0,
    norm=Choice(("l1", "l2", "linf")),
    lr=POS,
    num_steps=COUNT0,
    loss=Choice(("squared", "exponential", "logistic")),
)
spec(
    "geometry.max_margin",
    lambda: {"X": normal(4, 3), "y": signs(4), "norm": "l2"},
    X=A0,
    y=A0,
    norm=Choice(("l1", "l2", "linf")),
)
spec(
    "geometry.logistic_gd",
    lambda: {
        "X": normal(4, 3),
        "y": signs(4),
        "lr": 0.1,
        "num_steps": 10,
        "checkpoints": (1, 5, 10),
    },
    X=A0,
    y=A0,
    lr=POS,
    num_steps=COUNT,
)


# ------------------------------------------------------------------- torch helpers
def torch():
    import torch as _torch

    return _torch


def mlp(n_inputs=4, hidden=(5,), n_classes=3, seed=0):
    from generalization import nets

    return nets.mlp(n_inputs=n_inputs, hidden=hidden, n_classes=n_classes, seed=seed)


def tensor(*shape, seed=0):
    return torch().tensor(normal(*shape, seed=seed), dtype=torch().float32)


def dataset(n=6, d=4, k=3):
    return normal(n, d).astype(np.float32), labels(n, k)


MODEL = Module()
# accepted: one more (leading) axis is a batch of problems, documented as shape (*batch, ...)
BATCHED = Tensor(ndim_fixed=False)
RECORD = "result record (a dataclass the package returns), no input to fuzz"

# ------------------------------------------------------------------------------- data
exempt("data.DataError", "an exception class, no input")
exempt("data.MNIST", RECORD)
exempt("data.data_dir", "takes no argument (reads the environment only)")
exempt("data.load_mnist", "file I/O: owned by another engineer (atomic writes), fuzzed there")
spec(
    "data.subsample",
    lambda: {"X": normal(9, 2), "y": labels(9), "n_samples": 6, "seed": 0},
    X=A0,
    y=LABELS,
    n_samples=COUNT,
    seed=SEED,
)
spec(
    "data.corrupt_labels",
    lambda: {"y": labels(9), "fraction": 0.5, "seed": 0, "n_classes": 3},
    y=Array(integer=True),
    fraction=FRAC,
    seed=SEED,
    n_classes=Count(2, optional=True),  # accepted: None (the default) means y.max() + 1
)
spec(
    "data.random_labels",
    lambda: {"y": labels(9), "seed": 0, "n_classes": 3, "fraction": 1.0},
    y=Array(integer=True),
    seed=SEED,
    n_classes=Count(2),
    fraction=FRAC,
)
for _name in ("shuffled_pixels", "random_pixels", "gaussian_inputs"):
    spec(
        f"data.{_name}",
        lambda: {"X": uniform(4, 6), "seed": 0},
        X=Array(keeps_dtype=True),  # documented: the images keep X's dtype
        seed=SEED,
    )

# ------------------------------------------------------------------------------- bank
spec(
    "bank.n_parameters",
    lambda: {"width": 5, "n_inputs": 4, "n_classes": 3},
    width=COUNT,
    n_inputs=COUNT,
    n_classes=COUNT,
)
spec(
    "bank.NetworkBank",
    lambda: {"n_inputs": 4, "widths": (2, 3), "seeds": (0, 1), "n_classes": 3},
    n_inputs=COUNT,
    n_classes=COUNT,
)
spec(
    "bank.network_bank",
    lambda: {"n_inputs": 4, "widths": (2, 3), "seeds": (0, 1), "n_classes": 3},
    n_inputs=COUNT,
    n_classes=COUNT,
)
spec("bank.eval_steps", lambda: {"num_steps": 10, "n_evals": 3}, num_steps=COUNT, n_evals=COUNT)


def _bank():
    from generalization import bank

    X, y = dataset()
    return {
        "bank": bank.network_bank(4, (2, 3), (0, 1), n_classes=3),
        "X": X,
        "labels": np.stack([y, y]),
        "X_test": X[:3],
        "y_test": y[:3],
        "lr": 0.1,
        "num_steps": 3,
        "n_evals": 2,
    }


spec(
    "bank.train_bank",
    _bank,
    bank=MODEL,
    X=A01,
    labels=Array(integer=True, coupled=(1,)),
    X_test=A1,
    y_test=LABELS,
    lr=POS,
    num_steps=COUNT,
    n_evals=COUNT,
)
exempt("bank.BankLog", RECORD)


# ------------------------------------------------------------------------------ bayes
def _reg():
    X = normal(6, 4).astype(np.float32)
    return {"model": mlp(n_classes=1), "X": X, "y": normal(6, 1).astype(np.float32)}


spec(
    "bayes.log_likelihood",
    _reg,
    model=MODEL,
    X=A0,
    y=A0,
    likelihood=Choice(("gaussian", "categorical")),
    noise_variance=POS,
)
spec(
    "bayes.log_prior",
    lambda: {"model": mlp(), "prior_precision": 1.0},
    model=MODEL,
    prior_precision=POS,
)
spec(
    "bayes.fit_map",
    lambda: {**_reg(), "prior_precision": 1.0, "max_iter": 3},
    model=MODEL,
    X=A0,
    y=A0,
    prior_precision=POS,
    noise_variance=POS,
    max_iter=COUNT,
    tol=POS,
)
spec(
    "bayes.posterior_precision",
    lambda: {**_reg(), "prior_precision": 1.0},
    model=MODEL,
    X=A0,
    y=A0,
    prior_precision=POS,
    curvature=Choice(("hessian", "ggn")),
    max_params=COUNT,
    batch_size=COUNT,
)
spec(
    "bayes.laplace_log_evidence",
    lambda: {**_reg(), "prior_precision": 1.0, "curvature": "ggn"},
    model=MODEL,
    X=A0,
    y=A0,
    prior_precision=POS,
    max_params=COUNT,
    batch_size=COUNT,
)
spec(
    "bayes.effective_dimensionality",
    lambda: {"eigenvalues": uniform(5), "z": 0.5},
    eigenvalues=A,
    z=Array(ndim_fixed=False),
)
spec("bayes.ensemble_probabilities", lambda: {"logits": normal(2, 4, 3)}, logits=A)
spec(
    "bayes.ensemble_predict",
    lambda: {"models": [mlp(), mlp(seed=1)], "X": normal(5, 4).astype(np.float32), "batch_size": 2},
    X=A,
    batch_size=COUNT,
)


def _probs():
    p = uniform(6, 3) + 0.1
    return {"probabilities": p / p.sum(1, keepdims=True), "y": labels(6)}


spec("bayes.negative_log_likelihood", _probs, probabilities=A0, y=LABELS)
spec(
    "bayes.calibration",
    lambda: {**_probs(), "n_bins": 4},
    nan_ok=True,  # the accuracy and confidence of an empty bin are NaN by definition
    probabilities=A0,
    y=LABELS,
    n_bins=COUNT,
)
spec(
    "bayes.expected_calibration_error",
    lambda: {**_probs(), "n_bins": 4},
    probabilities=A0,
    y=LABELS,
    n_bins=COUNT,
)
exempt("bayes.LaplaceEvidence", RECORD)
exempt("bayes.Calibration", RECORD)

# --------------------------------------------------------------------------- cholesky
spec("cholesky.needs_blocking", lambda: {"n": 100}, n=COUNT)
exempt("cholesky.factor_in_place", "fuzzed kind by kind in test_fuzz_cholesky.py (child process)")
exempt("cholesky.solve_in_place_factor", "fuzzed kind by kind in test_fuzz_cholesky.py")
exempt("cholesky.Factor", "fuzzed kind by kind in test_fuzz_cholesky.py")

# ------------------------------------------------------------------------ deep_linear
spec(
    "deep_linear.balanced_factors",
    lambda: {"W": normal(3, 4), "depth": 3, "seed": 0},
    W=A,
    depth=COUNT,
    seed=SEED,
)
spec("deep_linear.end_to_end", lambda: {"layers": [normal(3, 4), normal(2, 3)]})
spec(
    "deep_linear.loss_and_gradients",
    lambda: {"layers": [normal(3, 4), normal(2, 3)], "X": normal(5, 4), "Y": normal(5, 2)},
    X=A01,
    Y=A01,
)
spec(
    "deep_linear.train_deep_linear",
    lambda: {
        "X": normal(5, 4),
        "Y": normal(5, 2),
        "depth": 2,
        "hidden": 3,
        "lr": 0.05,
        "num_steps": 3,
    },
    X=A0,
    Y=A0,
    depth=COUNT,
    hidden=COUNT,
    lr=POS,
    num_steps=COUNT0,
    scale=POS,
    seed=SEED,
    record_every=COUNT,
    init=Choice(("balanced", "random")),
)
spec(
    "deep_linear.saxe_trajectory",
    lambda: {"s": np.array([2.0, 1.0]), "a0": 1e-3, "tau": 1.0, "t": np.linspace(0, 5, 4)},
    s=Array(ndim_fixed=False),
    a0=POS,
    tau=POS,
    t=Array(ndim_fixed=False),
)
exempt("deep_linear.DeepLinearRun", RECORD)

# ------------------------------------------------------------------------------ depth
spec("depth.tent", lambda: {"x": np.linspace(0, 1, 5)}, x=AS)
spec("depth.sawtooth", lambda: {"x": np.linspace(0, 1, 5), "k": 2}, x=AS, k=COUNT0)
spec("depth.sawtooth_network", lambda: {"k": 2}, k=COUNT0)
spec("depth.interpolant_network", lambda: {"knots": (0.0, 0.5, 1.0), "values": (0.0, 1.0, 0.0)})
spec("depth.interpolant", lambda: {"knots": (0.0, 0.5, 1.0), "values": (0.0, 1.0, 0.0)})
spec("depth.sawtooth_pieces", lambda: {"k": 2}, k=COUNT0)


def _net():
    from generalization import depth

    return depth.sawtooth_network(2)


spec(
    "depth.linear_pieces",
    lambda: {"f": _net(), "a": 0.0, "b": 1.0},
    f=MODEL,
    a=Number(),
    b=Number(),
)
spec(
    "depth.count_linear_pieces",
    lambda: {"f": _net(), "a": 0.0, "b": 1.0},
    f=MODEL,
    a=Number(),
    b=Number(),
)
spec(
    "depth.l1_distance",
    lambda: {"f": _net(), "g": _net(), "a": 0.0, "b": 1.0},
    f=MODEL,
    g=MODEL,
    a=Number(),
    b=Number(),
)
spec("depth.l1_lower_bound", lambda: {"pieces": 3, "k": 4}, pieces=COUNT, k=COUNT)
spec("depth.telgarsky_l1_lower_bound", lambda: {"pieces": 3, "k": 4}, pieces=COUNT, k=COUNT)
exempt("depth.PiecewiseLinear", RECORD)

# ----------------------------------------------------------------------------- fullbatch
spec(
    "fullbatch.learning_rate",
    lambda: {"step": 3, "num_steps": 10, "lr": 0.1, "warmup_steps": 2},
    step=COUNT0,
    num_steps=COUNT,
    lr=POS,
    warmup_steps=COUNT0,
    schedule=Choice(("cosine", "constant")),
)


def _torch_data(n=6, d=4, k=3):
    X, y = dataset(n, d, k)
    return torch().tensor(X), torch().tensor(y)


spec(
    "fullbatch.block_penalty",
    lambda: {"model": mlp(), **dict(zip("Xy", _torch_data())), "block_size": 2},
    model=MODEL,
    X=Tensor(),
    block_size=COUNT,
)
spec(
    "fullbatch.evaluate",
    lambda: {"model": mlp(), **dict(zip("Xy", _torch_data())), "batch_size": 4},
    model=MODEL,
    X=Tensor(),
    batch_size=COUNT,
)


def _train_full():
    X, y = _torch_data()
    return {"model": mlp(), "X_train": X, "y_train": y, "lr": 0.1, "num_steps": 3}


spec(
    "fullbatch.train_full_batch",
    _train_full,
    model=MODEL,
    X_train=Tensor(),
    lr=POS,
    num_steps=COUNT,
    warmup_steps=COUNT0,
    block_size=Count(1, optional=True),  # accepted: None is the default (no penalty)
)
spec(
    "fullbatch.train_sgd",
    lambda: {
        **{k: v for k, v in _train_full().items() if k != "num_steps"},
        "num_epochs": 1,
        "batch_size": 3,
    },
    model=MODEL,
    X_train=Tensor(),
    lr=POS,
    num_epochs=COUNT,
    batch_size=COUNT,
    momentum=Number(low=0, high=1, high_open=True),
)
exempt("fullbatch.RunLog", RECORD)


# --------------------------------------------------------------------- hypergradients
def _hyper():
    t = torch()
    X = t.tensor(normal(5, 3))
    y = t.tensor(normal(5))

    def train_loss(w, lam):
        return ((X @ w - y) ** 2).mean() + lam.exp().sum() * (w**2).sum()

    def val_loss(w):
        return ((X @ w - y) ** 2).mean()

    return {
        "train_loss": train_loss,
        "val_loss": val_loss,
        "w0": np.zeros(3),
        "lam": np.array([-2.0]),
        "lr": 0.1,
        "steps": 3,
    }


spec(
    "hypergradients.hypergradient",
    _hyper,
    train_loss=Callable(),
    val_loss=Callable(),
    w0=A,
    lam=A,
    lr=POS,
    steps=COUNT0,
    mode=Choice(("reverse", "forward", "autograd")),
)
spec(
    "hypergradients.validation_loss",
    _hyper,
    train_loss=Callable(),
    val_loss=Callable(),
    w0=A,
    lam=A,
    lr=POS,
    steps=COUNT0,
)
spec(
    "hypergradients.unrolled_weights",
    lambda: {k: v for k, v in _hyper().items() if k != "val_loss"},
    train_loss=Callable(),
    w0=A,
    lam=A,
    lr=POS,
    steps=COUNT0,
)
exempt("hypergradients.Hypergradient", RECORD)


# ------------------------------------------------------------------------ info_bounds (torch)
def _logistic():
    t = torch()
    return {
        "params": t.zeros(3, dtype=t.float64),
        "X": t.tensor(normal(5, 3)),
        "y": t.tensor((np.arange(5) % 2).astype(float)),
        "max_norm": 1.0,
    }


spec(
    "info_bounds.per_example_gradients",
    lambda: {
        "loss_fn": lambda w, x, y: (x @ w - y) ** 2,
        "params": torch().zeros(3, dtype=torch().float64),
        "X": torch().tensor(normal(5, 3)),
        "y": torch().tensor(normal(5)),
    },
    loss_fn=Callable(),
    params=Tensor(),
    X=Tensor(),
)
spec(
    "info_bounds.clip_per_example",
    lambda: {"grads": tensor(5, 3), "max_norm": 1.0},
    grads=BATCHED,
    max_norm=POS,
)
spec(
    "info_bounds.logistic_clipped_mean_gradient",
    _logistic,
    params=BATCHED,
    X=BATCHED,
    max_norm=POS,
)
spec(
    "info_bounds.sgld_step",
    lambda: {
        "params": torch().zeros(3, dtype=torch().float64),
        "direction": torch().ones(3, dtype=torch().float64),
        "lr": 0.1,
        "beta": 100.0,
        "generator": torch().Generator().manual_seed(0),
    },
    params=Tensor(),
    direction=Tensor(),
    lr=POS,
    beta=POS,
)
spec(
    "info_bounds.sgld",
    lambda: {
        "direction_fn": lambda w, idx: -w,
        "params0": torch().zeros(3, dtype=torch().float64),
        "n_samples": 10,
        "lr": 0.1,
        "beta": 100.0,
        "num_steps": 4,
        "batch_size": 2,
        "seed": 0,
        "checkpoints": (2, 4),
    },
    direction_fn=Callable(),
    params0=BATCHED,
    n_samples=COUNT,
    lr=POS,
    beta=POS,
    num_steps=COUNT,
    batch_size=COUNT,
    seed=SEED,
)

# ------------------------------------------------------------------------ kernel_solver
_KS = "fuzzed read-only: another engineer is rewriting kernel_solver.py (issue 20 item 1)"
exempt("kernel_solver.ConditioningWarning", "a warning class, no input")
exempt("kernel_solver.FitReport", RECORD)
exempt("kernel_solver.available_memory", _KS)
spec(
    "kernel_solver.KernelInterpolator",
    lambda: {"kernel": "laplace", "bandwidth": 5.0, "dtype": "float64", "device": "cpu"},
    run=lambda **kw: (
        __import__("generalization.kernel_solver", fromlist=["x"])
        .KernelInterpolator(**kw)
        .fit(uniform(8, 5), labels(8))
        .predict(uniform(3, 5, seed=1))
    ),
    kernel=Choice(("gaussian", "laplace")),
    bandwidth=POS,
    ridge=NONNEG,
    tol=POS,
    max_refinements=COUNT0,
    block_rows=COUNT,
)


# -------------------------------------------------------------------------- landscape
def _land():
    X, y = _torch_data()
    return {"model": mlp(), "X": X, "y": y}


spec("landscape.flat", lambda: {"model": mlp()}, model=MODEL)
spec("landscape.load_flat", lambda: {"model": mlp(), "vector": normal(43)}, model=MODEL, vector=A)
spec(
    "landscape.hvp",
    lambda: {**_land(), "loss_fn": None, "v": normal(43), "batch_size": 4},
    model=MODEL,
    X=Tensor(),
    v=A,
    batch_size=COUNT,
)
spec(
    "landscape.hessian",
    lambda: {**_land(), "loss_fn": None},
    model=MODEL,
    X=Tensor(),
    max_params=COUNT,
    batch_size=COUNT,
)
spec(
    "landscape.top_hessian_eigenvalues",
    lambda: {**_land(), "loss_fn": None, "k": 2},
    model=MODEL,
    X=Tensor(),
    k=COUNT,
    which=Choice(("largest", "smallest", "both")),
    tol=NONNEG,
    seed=SEED,
    batch_size=COUNT,
)
spec(
    "landscape.hessian_index",
    lambda: {"eigenvalues": normal(6)},
    eigenvalues=A,
    rel_tol=Number(low=0, high=1, high_open=True),
)
spec(
    "landscape.fisher_trace",
    lambda: {"model": mlp(), "X": _torch_data()[0], "batch_size": 4},
    model=MODEL,
    X=Tensor(),
    batch_size=COUNT,
)
spec(
    "landscape.evaluate",
    lambda: {**_land(), "batch_size": 4},
    model=MODEL,
    X=Tensor(),
    batch_size=COUNT,
)
spec(
    "landscape.along_line",
    lambda: {**_land(), "direction": normal(43), "ts": np.linspace(-1, 1, 3)},
    model=MODEL,
    direction=A,
    ts=A,
    batch_size=COUNT,
)
spec(
    "landscape.interpolate",
    lambda: {
        "model_a": mlp(),
        "model_b": mlp(seed=1),
        "alphas": np.linspace(0, 1, 3),
        **{k: v for k, v in _land().items() if k != "model"},
    },
    model_a=MODEL,
    model_b=MODEL,
    alphas=A,
    X=Tensor(),
    batch_size=COUNT,
)
spec(
    "landscape.barrier",
    lambda: {"losses": np.array([1.0, 2.0, 1.5]), "alphas": np.linspace(0, 1, 3)},
    losses=A0,
    alphas=AOPT0,
)
spec(
    "landscape.bezier_curve",
    lambda: {
        "model_a": mlp(),
        "model_b": mlp(seed=1),
        **{k: v for k, v in _land().items() if k != "model"},
        "epochs": 1,
        "lr": 0.01,
        "batch_size": 3,
    },
    model_a=MODEL,
    model_b=MODEL,
    X=Tensor(),
    epochs=COUNT,
    lr=POS,
    batch_size=COUNT,
    momentum=Number(low=0, high=1, high_open=True),
    seed=SEED,
)
spec(
    "landscape.random_direction",
    lambda: {"model": mlp(), "seed": 0},
    model=MODEL,
    seed=SEED,
    normalize=Choice(("filter", "layer", None)),
)
exempt("landscape.Path", RECORD)
exempt("landscape.BezierCurve", RECORD)

# ------------------------------------------------------------------------ linear_conv
spec("linear_conv.conv_predictor", lambda: {"layers": normal(3, 4)}, layers=A)
spec("linear_conv.fc_predictor", lambda: {"layers": [normal(4, 4), normal(4)]})
spec("linear_conv.fourier_magnitudes", lambda: {"beta": normal(4)}, beta=A)
spec(
    "linear_conv.normalized_margin",
    lambda: {"beta": normal(4), "X": normal(5, 4), "y": signs(5)},
    beta=A0,
    X=A01,
    y=A0,
)
spec(
    "linear_conv.loss_and_gradients",
    lambda: {"layers": normal(3, 4), "X": normal(5, 4), "y": signs(5)},
    layers=A1,
    X=A01,
    y=A0,
    architecture=Choice(("conv", "fc")),
    loss=Choice(("exp", "logistic")),
)
spec(
    "linear_conv.train_linear_conv",
    lambda: {"X": normal(5, 4), "y": signs(5), "depth": 2, "lr": 0.01, "num_steps": 3},
    X=A0,
    y=A0,
    depth=COUNT,
    lr=POS,
    num_steps=COUNT0,
    init_scale=POS,
    seed=SEED,
    architecture=Choice(("conv", "fc")),
    loss=Choice(("exp", "logistic")),
    record_every=COUNT,
)
exempt("linear_conv.LinearConvRun", RECORD)


# --------------------------------------------------------------- matrix_factorization
def _obs():
    return {
        "rows": np.array([0, 1, 2, 0]),
        "cols": np.array([0, 1, 2, 2]),
        "values": np.array([1.0, -1.0, 0.5, 2.0]),
    }


IDX = Array(integer=True, coupled=(0,))
spec("matrix_factorization.effective_rank", lambda: {"M": normal(3, 4)}, M=A)
spec(
    "matrix_factorization.observed_loss",
    lambda: {"W": normal(3, 3), **_obs()},
    W=A,
    rows=IDX,
    cols=IDX,
    values=A0,
)
spec(
    "matrix_factorization.observed_loss_gradient",
    lambda: {"W": normal(3, 3), **_obs()},
    W=A,
    rows=IDX,
    cols=IDX,
    values=A0,
)
spec(
    "matrix_factorization.singular_value_rates",
    lambda: {"W": normal(3, 3), "grad": normal(3, 3, seed=1), "depth": 2},
    W=A01,
    grad=A01,
    depth=COUNT,
)
spec(
    "matrix_factorization.complete_deep",
    lambda: {"shape": (3, 3), **_obs(), "depth": 2, "init_scale": 0.1, "lr": 0.1, "num_steps": 3},
    rows=IDX,
    cols=IDX,
    values=A0,
    depth=COUNT,
    init_scale=POS,
    lr=POS,
    num_steps=COUNT0,
    seed=SEED,
    optimizer=Choice(("gd", "adam")),
    record_every=COUNT,
)
spec(
    "matrix_factorization.nuclear_norm_completion",
    lambda: {"shape": (3, 3), **_obs(), "max_iter": 20},
    rows=IDX,
    cols=IDX,
    values=A0,
    tol=POS,
    max_iter=COUNT,
)
exempt("matrix_factorization.DeepCompletion", RECORD)


# ---------------------------------------------------------------------- modified_loss
def _modified_loss():
    from generalization import modified_loss

    return modified_loss


def _params():
    return [torch().tensor([0.5, -0.3], dtype=torch().float64, requires_grad=True)]


def _loss_fn(params):
    return lambda: (params[0] ** 4).sum()


spec(
    "modified_loss.gradient_norm_penalty",
    lambda: {"params": (p := _params()), "loss_fn": _loss_fn(p)},
    loss_fn=Callable(),
)
spec(
    "modified_loss.modified_loss_gd",
    lambda: {"params": (p := _params()), "loss_fn": _loss_fn(p), "lr": 0.1},
    run=lambda **kw: _modified_loss().modified_loss_gd(**kw)(),  # the value of the closure
    loss_fn=Callable(),
    lr=POS,
)
spec(
    "modified_loss.modified_loss_sgd",
    lambda: {"params": (p := _params()), "batch_loss_fns": [_loss_fn(p), _loss_fn(p)], "lr": 0.1},
    run=lambda **kw: _modified_loss().modified_loss_sgd(**kw)(),
    lr=POS,
)
spec(
    "modified_loss.numpy_gradient",
    lambda: {"param": (p := _params()[0]), "loss_fn": lambda: (p**4).sum()},
    loss_fn=Callable(),
    param=Tensor(),
)


def _grad(w):
    return 4 * w**3


spec(
    "modified_loss.gd_path",
    lambda: {"grad_fn": _grad, "w0": np.array([0.5, -0.3]), "lr": 0.1, "num_steps": 3},
    grad_fn=Callable(),
    w0=A,
    lr=POS,
    num_steps=COUNT0,
)
spec(
    "modified_loss.sgd_epoch",
    lambda: {"batch_grad_fns": [_grad, _grad], "w0": np.array([0.5, -0.3]), "lr": 0.1},
    w0=A,
    lr=POS,
)
spec(
    "modified_loss.mean_over_orders",
    lambda: {"batch_grad_fns": [_grad, _grad], "w0": np.array([0.5, -0.3]), "lr": 0.1},
    w0=A,
    lr=POS,
)
spec(
    "modified_loss.gradient_flow",
    lambda: {"grad_fn": _grad, "w0": np.array([0.5, -0.3]), "times": (0.5, 1.0)},
    grad_fn=Callable(),
    w0=A,
    rtol=POS,
    atol=POS,
)
spec(
    "modified_loss.order_of_accuracy",
    lambda: {"lrs": (0.1, 0.05, 0.025), "errors": (1e-2, 2.5e-3, 6.25e-4)},
)


# ------------------------------------------------------------------------------- nets
def _threads(n):
    from generalization import nets

    with nets.threads(n):
        return n


spec("nets.threads", lambda: {"n": 1}, run=_threads, n=COUNT)


spec("nets.torch_threads", lambda: {})


def _seed(seed):
    from generalization import nets

    return float(torch().rand(1, generator=nets.seed_everything(seed)))


spec("nets.seed_everything", lambda: {"seed": 0}, run=_seed, seed=SEED)


spec(
    "nets.mlp",
    lambda: {"n_inputs": 4, "hidden": (5,), "n_classes": 3, "seed": 0},
    n_inputs=COUNT,
    n_classes=COUNT,
    dropout=Number(low=0, high=1, high_open=True),
    seed=SEED,
)
spec(
    "nets.small_cnn",
    lambda: {"n_classes": 3, "channels": (2, 2), "seed": 0},
    n_classes=COUNT,
    seed=SEED,
)
spec("nets.weight_norm", lambda: {"model": mlp(), "reference": mlp(seed=1)}, model=MODEL)
spec(
    "nets.train",
    lambda: {
        "model": mlp(),
        "X_train": dataset()[0],
        "y_train": dataset()[1],
        "num_epochs": 1,
        "batch_size": 3,
        "lr": 0.01,
    },
    model=MODEL,
    X_train=A0,
    y_train=LABELS,
    lr=POS,
    num_epochs=COUNT0,  # accepted: 0 epochs logs the untrained model (documented minimum)
    batch_size=Count(1, optional=True),  # accepted: None is documented full-batch descent
    optimizer=Choice(("sgd", "adam")),
    momentum=Number(low=0, high=1, high_open=True),
    weight_decay=NONNEG,
)
spec(
    "nets.zhang_construction",
    lambda: {"X": normal(5, 3), "y": normal(5), "seed": 0},
    X=A0,
    y=A0,
    seed=SEED,
)
spec(
    "nets.zhang_predict",
    lambda: dict(
        zip(
            ("w", "b", "a"),
            __import__("generalization.nets", fromlist=["x"]).zhang_construction(
                normal(5, 3), normal(5), 0
            ),
        ),
        X=normal(4, 3),
    ),
    X=A1,
)
exempt("nets.TrainLog", RECORD)


# -------------------------------------------------------------------------------- ntk
def _ntk_model():
    from generalization import ntk

    return ntk.mlp([3, 4, 1], seed=0, dtype="float64")


spec(
    "ntk.Dense",
    lambda: {"weight": tensor(2, 3)},
    weight=Tensor(),
    weight_scale=POS,
    bias_scale=NONNEG,
)
spec(
    "ntk.mlp",
    lambda: {"widths": (3, 4, 1), "seed": 0},
    seed=SEED,
    weight_var=POS,
    bias_var=NONNEG,
    parametrization=Choice(("ntk", "standard")),
    dtype=Choice(("float32", "float64")),
)
spec(
    "ntk.empirical_ntk",
    lambda: {"model": _ntk_model(), "X1": normal(4, 3), "X2": normal(2, 3)},
    model=MODEL,
    X1=A1,
    X2=AOPT1,
    max_bytes=COUNT,
)
for _name in ("relu_kernels", "relu_nngp", "relu_ntk"):
    spec(
        f"ntk.{_name}",
        lambda: {"X1": normal(4, 3), "X2": normal(2, 3), "depth": 2},
        X1=A1,
        X2=AOPT1,
        depth=COUNT0,  # accepted: depth 0 (no hidden layer) is the documented linear kernel
        weight_var=POS,
        bias_var=NONNEG,
    )
spec("ntk.Linearized", lambda: {"model": _ntk_model()}, model=MODEL)
spec("ntk.linearize", lambda: {"model": _ntk_model()}, model=MODEL)
spec(
    "ntk.gradient_descent",
    lambda: {
        "model": _ntk_model(),
        "X": normal(4, 3),
        "y": normal(4),
        "lr": 0.1,
        "steps": (0, 2),
        "X_test": normal(2, 3),
    },
    model=MODEL,
    X=A01,
    y=A0,
    lr=POS,
    X_test=AOPT1,
)


def _gdp():
    K = normal(4, 4)
    return {
        "theta_train": K @ K.T + np.eye(4),
        "theta_test": normal(2, 4),
        "f0_train": normal(4),
        "f0_test": normal(2),
        "y_train": normal(4),
        "lr": 0.1,
        "steps": (0, 3),
    }


spec(
    "ntk.gd_predictions",
    _gdp,
    theta_train=A01,
    theta_test=A01,
    f0_train=A0,
    f0_test=A0,
    y_train=A0,
    lr=POS,
)

# --------------------------------------------------------------------------- pretrain
spec(
    "pretrain.feedforward",
    lambda: {"n_inputs": 4, "hidden": (5,), "n_classes": 3, "seed": 0},
    n_inputs=COUNT,
    n_classes=COUNT,
    seed=SEED,
    activation=Choice(("sigmoid", "tanh", "relu", "identity")),
)
spec("pretrain.he_initialize", lambda: {"model": mlp(), "seed": 0}, model=MODEL, seed=SEED)
spec(
    "pretrain.corrupt",
    lambda: {
        "H": tensor(5, 4).sigmoid(),
        "noise": 0.25,
        "generator": torch().Generator().manual_seed(0),
    },
    H=Tensor(),
    noise=Number(low=0, high=1, high_open=True),
)
spec(
    "pretrain.reconstruction_loss",
    lambda: {
        "H": tensor(5, 4).sigmoid(),
        "W": tensor(3, 4),
        "b": tensor(3),
        "b_prime": tensor(4),
        "activation": "sigmoid",
        "reconstruction": "squared",
    },
    H=Tensor(),
    W=Tensor(),
    activation=Choice(("sigmoid", "tanh", "relu", "identity")),
    reconstruction=Choice(("cross_entropy", "squared")),
    noise=Number(low=0, high=1, high_open=True),
)
spec(
    "pretrain.train_dae",
    lambda: {
        "H": uniform(6, 4).astype(np.float32),
        "n_hidden": 3,
        "num_epochs": 1,
        "batch_size": 3,
    },
    H=A,
    n_hidden=COUNT,
    noise=Number(low=0, high=1, high_open=True),
    lr=POS,
    num_epochs=COUNT0,  # accepted: documented num_epochs >= 0 (losses holds the start only)
    batch_size=COUNT,
    seed=SEED,
    activation=Choice(("sigmoid", "tanh", "relu", "identity")),
    reconstruction=Choice(("cross_entropy", "squared")),
)
spec(
    "pretrain.pretrain_layerwise",
    lambda: {
        "model": __import__("generalization.pretrain", fromlist=["x"]).feedforward(4, (5,), 3),
        "X": uniform(6, 4).astype(np.float32),
        "num_epochs": 1,
        "batch_size": 3,
    },
    model=MODEL,
    X=A,
    noise=Number(low=0, high=1, high_open=True),
    lr=POS,
    num_epochs=COUNT0,  # accepted: as train_dae's, 0 epochs leaves the layers as they are
    batch_size=COUNT,
    seed=SEED,
)


# ---------------------------------------------------------------------------- pruning
def _pruning():
    from generalization import pruning

    return pruning


def _masks(model=None):
    return _pruning().full_masks(model if model is not None else mlp())


def _train_fn(model, start, stop):
    return stop - start


spec("pruning.prunable", lambda: {"model": mlp()}, model=MODEL)
spec("pruning.full_masks", lambda: {"model": mlp()}, model=MODEL)
spec("pruning.apply_masks", lambda: {"model": (m := mlp()), "masks": _masks(m)}, model=MODEL)
spec("pruning.masked_copy", lambda: {"model": (m := mlp()), "masks": _masks(m)}, model=MODEL)
spec("pruning.remaining", lambda: {"masks": _masks()})
spec(
    "pruning.layer_rates",
    lambda: {"model": mlp(), "rate": 0.2, "output_rate": 0.1},
    model=MODEL,
    rate=FRAC,
    output_rate=FRAC,
)
spec(
    "pruning.magnitude_prune",
    lambda: {"model": mlp(), "rate": 0.2},
    model=MODEL,
    rate=FRAC,
    scope=Choice(("layer", "global")),
)
spec("pruning.MaskHandle", lambda: {"handles": []})
spec(
    "pruning.attach_masks",
    lambda: {"model": (m := mlp()), "masks": _masks(m)},
    model=MODEL,
    run=lambda **kw: _pruning().attach_masks(**kw).remove(),
)
spec(
    "pruning.train_masked",
    lambda: {
        "model": (m := mlp()),
        "masks": _masks(m),
        "train_fn": _train_fn,
        "start": 0,
        "stop": 2,
    },
    model=MODEL,
    train_fn=Callable(),
    start=COUNT0,
    stop=COUNT0,
)
spec(
    "pruning.reinitialize",
    lambda: {"model": (m := mlp()), "masks": _masks(m), "seed": 0},
    model=MODEL,
    seed=SEED,
)
spec(
    "pruning.iterative_magnitude_pruning",
    lambda: {"model": mlp(), "train_fn": _train_fn, "num_rounds": 1, "num_iterations": 2},
    model=MODEL,
    train_fn=Callable(),
    num_rounds=COUNT0,
    num_iterations=COUNT,
    rate=FRAC,
    scope=Choice(("layer", "global")),
    rewind_iteration=COUNT0,
)
exempt("pruning.Remaining", RECORD)
exempt("pruning.PruningRound", RECORD)
exempt("pruning.LotteryTickets", RECORD)

# ---------------------------------------------------------------------------- rebasin
spec("rebasin.hidden_widths", lambda: {"model": mlp(hidden=(5, 4))}, model=MODEL)
spec(
    "rebasin.permute",
    lambda: {
        "model": mlp(hidden=(5, 4)),
        "perms": [np.array([4, 3, 2, 1, 0]), np.array([1, 0, 3, 2])],
    },
    model=MODEL,
)
spec(
    "rebasin.objective",
    lambda: {"model_a": mlp(hidden=(5, 4)), "model_b": mlp(hidden=(5, 4), seed=1)},
    model_a=MODEL,
    model_b=MODEL,
)
spec(
    "rebasin.weight_matching",
    lambda: {"model_a": mlp(hidden=(5, 4)), "model_b": mlp(hidden=(5, 4), seed=1), "max_iter": 5},
    model_a=MODEL,
    model_b=MODEL,
    max_iter=COUNT,
    seed=SEED,
)
spec("rebasin.log10_symmetries", lambda: {"widths": (5, 4)})
exempt("rebasin.MatchingInfo", RECORD)


# -------------------------------------------------------------------------------- sam
def _sam(**kw):
    from generalization import sam

    return sam.SAM(mlp().parameters(), torch().optim.SGD, lr=0.1, **kw)


spec("sam.SAM", lambda: {"rho": 0.05}, run=_sam, rho=NONNEG)

# -------------------------------------------------------------------------- schedules
spec(
    "schedules.range_test_lrs",
    lambda: {"lr_min": 1e-3, "lr_max": 1.0, "steps": 4},
    lr_min=POS,
    lr_max=POS,
    steps=Count(2),
    increase=Choice(("exponential", "linear")),
)
spec(
    "schedules.lr_range_test",
    lambda: {"model": mlp(), "X": dataset()[0], "y": dataset()[1], "steps": 4, "batch_size": 3},
    nan_ok=True,
    model=MODEL,
    X=A0,
    y=LABELS,
    lr_min=POS,
    lr_max=POS,
    steps=Count(2),
    batch_size=Count(1, optional=True),  # None: the full batch
    momentum=Number(low=0, high=1, high_open=True),
    weight_decay=NONNEG,
    stop_factor=POS,
    smoothing=Number(low=0, high=1, high_open=True),
    seed=SEED,
)


def _optimizer():
    return torch().optim.SGD(mlp().parameters(), lr=0.1, momentum=0.9)


spec(
    "schedules.one_cycle",
    lambda: {"optimizer": _optimizer(), "max_lr": 0.1, "total_steps": 10},
    run=lambda **kw: (
        __import__("generalization.schedules", fromlist=["x"]).one_cycle(**kw).get_last_lr()
    ),
    max_lr=POS,
    total_steps=Count(2),
    div_factor=POS,
    final_div_factor=POS,
    annihilate_fraction=Number(low=0, high=1, high_open=True),
)
spec(
    "schedules.one_cycle_lr",
    lambda: {"steps": np.arange(10), "max_lr": 0.1, "total_steps": 10},
    steps=Array(integer=True, ndim_fixed=False),
    max_lr=POS,
    total_steps=Count(2),
    div_factor=POS,
    final_div_factor=POS,
    annihilate_fraction=Number(low=0, high=1, high_open=True),
)
exempt("schedules.RangeTest", RECORD)


# ------------------------------------------------------------------------- simplicity
def _words(m=3, n=3, seed=0):
    from generalization import simplicity

    bits = np.random.default_rng(seed).integers(0, 2, (m, 2**n))
    return simplicity.bits_to_words(bits)


spec(
    "simplicity.lz_complexity",
    lambda: {"bits": (np.arange(16) % 3 == 0).astype(int)},
    bits=Array(integer=True),
)
spec(
    "simplicity.lz_complexity_symmetric",
    lambda: {"bits": (np.arange(16) % 3 == 0).astype(int)},
    bits=Array(integer=True),
)
spec(
    "simplicity.lz_complexities",
    lambda: {"words": _words(), "n_inputs": 3},
    words=Array(integer=True),
    n_inputs=COUNT,
)
spec("simplicity.boolean_inputs", lambda: {"n_inputs": 3}, n_inputs=COUNT)
spec(
    "simplicity.bits_to_words",
    lambda: {"bits": (np.arange(8) % 3 == 0).astype(int)},
    bits=Array(integer=True, ndim_fixed=False),
)
spec(
    "simplicity.words_to_bits",
    lambda: {"words": _words(), "n_inputs": 3},
    words=Array(integer=True, ndim_fixed=False),
    n_inputs=COUNT,
)
spec("simplicity.identifier", lambda: {"words": _words()[0]}, words=Array(integer=True))
spec(
    "simplicity.identifier_bits", lambda: {"ident": 5, "n_inputs": 3}, ident=COUNT0, n_inputs=COUNT
)
spec(
    "simplicity.identifier_string",
    lambda: {"ident": 5, "n_inputs": 3},
    ident=COUNT0,
    n_inputs=COUNT,
)
spec(
    "simplicity.count_ones",
    lambda: {"words": _words()},
    words=Array(integer=True, ndim_fixed=False),
)
spec(
    "simplicity.sample_networks",
    lambda: {"n_networks": 3, "hidden": (4,), "n_inputs": 3, "seed": 0},
    n_networks=COUNT,
    n_inputs=COUNT,
    seed=SEED,
    sigma_w=POS,
    sigma_b=NONNEG,
    activation=Choice(("relu", "tanh")),
    dtype=Choice(("float32", "float64")),
)
spec(
    "simplicity.sample_functions",
    lambda: {"n_samples": 5, "hidden": (4,), "n_inputs": 3, "seed": 0, "batch_size": 2},
    n_samples=COUNT,
    n_inputs=COUNT,
    seed=SEED,
    sigma_w=POS,
    sigma_b=NONNEG,
    batch_size=COUNT,
    activation=Choice(("relu", "tanh")),
)
spec(
    "simplicity.count_functions",
    lambda: {"words": _words(5), "n_inputs": 3},
    words=Array(integer=True),
    n_inputs=COUNT,
)
exempt("simplicity.RandomNetworks", RECORD)
exempt("simplicity.FunctionCounts", RECORD)


# ------------------------------------------------------------------------- subset_sum
def _target():
    return mlp(n_inputs=2, hidden=(2,), n_classes=1)


spec(
    "subset_sum.best_subsets",
    lambda: {"values": normal(2, 6), "targets": normal(2)},
    values=A0,
    targets=A0,
)
spec("subset_sum.random_widths", lambda: {"target": _target(), "n": 3}, target=MODEL, n=COUNT)
spec(
    "subset_sum.random_network",
    lambda: {"target": _target(), "n": 3, "seed": 0},
    target=MODEL,
    n=COUNT,
    seed=SEED,
    scale=POS,
)
spec(
    "subset_sum.error_bound",
    lambda: {
        "target": _target(),
        "weight_errors": [np.full((2, 2), 0.1), np.full((1, 2), 0.1)],
        "bias_errors": [np.full(2, 0.1), np.full(1, 0.1)],
    },
    target=MODEL,
    radius=NONNEG,
)


def _approx():
    from generalization import subset_sum

    target = _target()
    return {"target": target, "random_net": subset_sum.random_network(target, 4, seed=0)}


spec(
    "subset_sum.prune_to_approximate",
    _approx,
    target=MODEL,
    random_net=MODEL,
    method=Choice(("subset_sum", "product")),
    radius=NONNEG,
)
spec(
    "subset_sum.approximation_error",
    lambda: {"target": _target(), "network": _target(), "X": normal(5, 2)},
    target=MODEL,
    network=MODEL,
    X=A,
)
exempt("subset_sum.Approximation", RECORD)
exempt("subset_sum.ApproximationError", RECORD)

# ---------------------------------------------------------------------------- eigenpro
_EIGENPRO = (
    "module added by another engineer while this suite was written (issue 20); its owner "
    "adds its specs"
)
for _name in (
    "Convergence",
    "Preconditioner",
    "preconditioner",
    "row_block_times",
    "solve",
    "symmetric_times",
):
    exempt(f"eigenpro.{_name}", _EIGENPRO)

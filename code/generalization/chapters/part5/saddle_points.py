"""Experiments of the chapter *Saddle points, not local minima*.

Dauphin, Pascanu, Gulcehre, Cho, Ganguli and Bengio (2014) argue that the critical points
that slow down the training of high-dimensional models are mostly saddle points, and that
their index (the fraction of negative Hessian eigenvalues) grows with their training error:
critical points of high error have many descent directions, those of low error are close
to minima (their Figure 1, small networks on down-sampled MNIST and CIFAR-10). Newton's
method is attracted to any critical point, saddles included; their saddle-free Newton
method, the step ``-|H|^{-1} g`` with ``|H|`` the Hessian with its eigenvalues replaced by
their absolute values, is repelled by saddles (their Section 5 and Algorithm 1).

This chapter runs both claims on problems small enough for an exact, dense Hessian
(:func:`generalization.landscape.hessian`):

* :func:`critical_points_experiment`: a one-hidden-layer tanh network on MNIST images
  average-pooled to a few pixels, with a small l2 penalty so that minima exist. From
  snapshots of gradient descent at decreasing losses it minimizes ``||grad L||^2`` with
  the Levenberg-Marquardt method of MINPACK (``scipy.optimize.least_squares``, the
  Jacobian of the gradient being the Hessian), a Newton-type method on the gradient norm
  like the paper's; it keeps only the points whose gradient norm falls below a threshold
  and classifies the others with the gradient-flatness ratio of Frye et al. (2021);
* :func:`toy_experiment`: gradient descent, Newton and saddle-free Newton on
  ``f(x, y) = 5 x^2 - y^2 + y^4 / 2``, which near the origin is the paper's saddle
  ``5 x^2 - y^2`` (their Figure 2a) and has two minima at ``y = +-1``;
* :func:`optimizers_experiment`: the same three methods on the network of the first
  experiment, from the same starting points.

Differences from the paper: their networks, inputs (down-sampled MNIST and CIFAR-10) and
search details differ; we use a smaller network, a few hundred examples, an l2 penalty, and
count a point as critical only below an explicit gradient-norm threshold. Newton and
saddle-free Newton here use the exact Hessian with one shared damping floor and step cap;
the paper's large-scale version works in a Krylov subspace.

References
----------
Dauphin, Pascanu, Gulcehre, Cho, Ganguli, Bengio (2014), *Identifying and attacking the saddle
point problem in high-dimensional non-convex optimization*, NeurIPS,
https://arxiv.org/abs/1406.2572.
Frye, Simon, Wadia, Ligeralde, DeWeese, Bouchard (2021), *Critical point-finding methods reveal
gradient-flat regions of deep network losses*, Neural Computation 33(6), 1469-1497,
https://doi.org/10.1162/neco_a_01388.
More (1978), *The Levenberg-Marquardt algorithm: implementation and theory*, Numerical
Analysis, Lecture Notes in Mathematics 630 (MINPACK's ``lmder``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.stats import spearmanr

from generalization import checks, data, landscape, nets, settings_for
from generalization.book.cache import cached

SETTINGS = {
    "quick": dict(
        network=dict(n_samples=200, pool=7, hidden=8, weight_decay=0.03, data_seed=0),
        critical=dict(
            seeds=(0, 1),
            lr=1.0,
            checkpoints=(0, 5, 10, 20, 40, 100, 300),
            max_evals=25,
            grad_tol=1e-6,
        ),
        toy=dict(n_starts=200, box=1.0, num_steps=40, lr=0.05, damping=0.1, seed=0),
        optimizers=dict(
            seeds=(0, 1), start_step=5, num_steps=10, lr=1.0, damping=0.01, max_step=1.0
        ),
    ),
    "full": dict(
        network=dict(n_samples=500, pool=4, hidden=10, weight_decay=0.03, data_seed=0),
        critical=dict(
            seeds=tuple(range(8)),
            lr=1.0,
            checkpoints=(0, 3, 5, 10, 20, 40, 70, 100, 200, 300, 1000),
            max_evals=60,
            grad_tol=1e-6,
        ),
        toy=dict(n_starts=4000, box=1.0, num_steps=40, lr=0.05, damping=0.1, seed=0),
        optimizers=dict(
            seeds=tuple(range(8)), start_step=5, num_steps=30, lr=1.0, damping=0.01, max_step=1.0
        ),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

``network``: the training set (``n_samples`` MNIST images, ``pool`` x ``pool`` average
pooling) and the tanh network (``hidden`` units, l2 penalty ``weight_decay``).
``critical``: gradient descent at learning rate ``lr`` is snapshotted at ``checkpoints``
(steps), and from each snapshot at most ``max_evals`` evaluations of the gradient look for
a critical point; a point is kept when its gradient norm is below ``grad_tol``.
``toy``: ``n_starts`` uniform starting points in the square ``[-box, box]^2``.
``optimizers``: each method runs ``num_steps`` steps from the gradient-descent snapshot at
``start_step``. Quick runs in well under a minute on 2 CPU cores; full uses more seeds,
more snapshots, a bigger network and more data."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


# ------------------------------------------------------------------------ data and model


def pooled_mnist(n_samples, pool, seed):
    """A class-balanced subsample of MNIST, average-pooled and standardized.

    Each 28 x 28 image is cut into ``pool`` x ``pool`` blocks whose pixels are averaged,
    giving ``(28 / pool)^2`` inputs; every input is then centred and divided by its standard
    deviation plus 0.1 (so nearly constant border pixels stay small).

    Parameters
    ----------
    n_samples : int
    pool : int, a divisor of 28
    seed : int
        Picks the images (:func:`generalization.data.subsample`, stratified).

    Returns
    -------
    X : ndarray, shape (n_samples, (28 / pool)^2), float64
    y : ndarray, shape (n_samples,), int64 labels 0-9
    """
    n_samples = checks.count("n_samples", n_samples, minimum=10)
    pool = checks.choice("pool", pool, (1, 2, 4, 7, 14))
    mnist = data.load_mnist()
    X, y = data.subsample(mnist.X_train, mnist.y_train, n_samples, seed, stratified=True)
    side = 28 // pool
    X = np.asarray(X, dtype=np.float64)
    X = X.reshape(-1, side, pool, side, pool).mean(axis=(2, 4)).reshape(-1, side * side)
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 0.1)
    return X, np.asarray(y, dtype=np.int64)


def tanh_mlp(n_inputs, hidden, n_classes=10, seed=0):
    """``Linear(n_inputs, hidden) -> tanh -> Linear(hidden, n_classes)`` in float64.

    PyTorch's default initialization, seeded by :func:`generalization.nets.seed_everything`.
    It has ``hidden * (n_inputs + 1) + n_classes * (hidden + 1)`` parameters; tanh (not ReLU)
    makes the loss twice differentiable everywhere, so every Hessian is well defined.
    """
    import torch

    n_inputs = checks.count("n_inputs", n_inputs)
    hidden = checks.count("hidden", hidden)
    n_classes = checks.count("n_classes", n_classes, minimum=2)
    nets.seed_everything(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(n_inputs, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, n_classes)
    ).double()


def regularized_loss(model, X, y, weight_decay):
    """``L(theta) = cross-entropy (mean) + weight_decay / 2 * ||theta||^2`` at the model's
    parameters, as a float."""
    loss, _ = landscape.evaluate(model, X, y)
    theta = landscape.flat(model)
    return float(loss) + 0.5 * weight_decay * float(theta @ theta)


def regularized_gradient(model, X, y, weight_decay):
    """The flat gradient of :func:`regularized_loss`, shape (P,), by backpropagation."""
    import torch

    X_t = torch.as_tensor(X, dtype=torch.float64)
    y_t = torch.as_tensor(y, dtype=torch.long)
    params = list(model.parameters())
    loss = torch.nn.functional.cross_entropy(model(X_t), y_t)
    grads = torch.autograd.grad(loss, params)
    g = torch.cat([p.reshape(-1) for p in grads]).detach()
    return g + weight_decay * landscape.flat(model)


def regularized_hessian(model, X, y, weight_decay):
    """The dense Hessian of :func:`regularized_loss`, ``H_data + weight_decay * I``, shape
    (P, P), as a NumPy array (:func:`generalization.landscape.hessian` for the data term)."""
    H = landscape.hessian(model, None, X, y).numpy()
    return H + weight_decay * np.eye(H.shape[0])


def gradient_flatness(H, g):
    """``||H g|| / (||H||_2 ||g||)``: how nearly the gradient lies in the Hessian's kernel.

    Frye et al. (2021) call a point *gradient-flat* when the gradient is (nearly) an
    eigenvector of eigenvalue zero: then ``H g = 0`` is a critical point of ``||g||^2`` although
    ``g`` itself is not zero, and methods that minimize ``||g||^2`` stop there. The ratio is 0
    for such a point and 1 when ``g`` is the top eigenvector; it is NaN when ``g = 0``.
    """
    H = checks.array("H", H, ndim=2)
    g = checks.array("g", g, ndim=1)
    if H.shape != (g.size, g.size):
        raise ValueError(f"H must have shape ({g.size}, {g.size}); got {H.shape}.")
    norm_g = np.linalg.norm(g)
    if norm_g == 0:
        return float("nan")
    return float(np.linalg.norm(H @ g) / (np.linalg.norm(H, 2) * norm_g))


# -------------------------------------------------------------------------- Newton steps


def newton_step(g, H, damping, saddle_free=False, max_step=None):
    """The (saddle-free) Newton step ``-B^{-1} g`` from the eigendecomposition of ``H``.

    With ``H = sum_i lambda_i v_i v_i^T``, Newton's method uses
    ``B = sum_i sign(lambda_i) max(|lambda_i|, damping) v_i v_i^T`` (``H`` itself once every
    ``|lambda_i| >= damping``) and the saddle-free Newton method of Dauphin et al. (2014,
    Section 5) uses ``|H|`` in the same way, ``B = sum_i max(|lambda_i|, damping) v_i v_i^T``.
    Along a direction of negative curvature Newton moves *up* the gradient (towards the
    saddle) and saddle-free Newton moves down it. The damping floor keeps both steps finite
    near singular Hessians, and ``max_step`` (optional) scales a step longer than it down to
    that length; the two methods share both, so they differ only in the sign.

    Parameters
    ----------
    g : ndarray, shape (P,)
    H : ndarray, shape (P, P), symmetric
    damping : float, positive
    saddle_free : bool, default False
    max_step : float, optional

    Returns
    -------
    ndarray, shape (P,)
    """
    g = checks.array("g", g, ndim=1)
    H = checks.array("H", H, ndim=2)
    if H.shape != (g.size, g.size):
        raise ValueError(f"H must have shape ({g.size}, {g.size}); got {H.shape}.")
    damping = checks.positive("damping", damping)
    lam, V = np.linalg.eigh((H + H.T) / 2)
    scale = np.maximum(np.abs(lam), damping)
    if not saddle_free:
        scale = np.where(lam < 0, -scale, scale)
    step = -V @ ((V.T @ g) / scale)
    if max_step is not None:
        max_step = checks.positive("max_step", max_step)
        length = np.linalg.norm(step)
        if length > max_step:
            step = step * (max_step / length)
    return step


# ----------------------------------------------------------------- critical-point search


def gd_snapshots(model, X, y, weight_decay, lr, checkpoints):
    """Full-batch gradient descent on :func:`regularized_loss`, snapshotted.

    Returns the flat parameters (NumPy, shape (len(checkpoints), P)) after each number of
    steps in ``checkpoints`` (sorted, distinct; 0 is the initialization). The model is left
    at its initial parameters.
    """
    checkpoints = checks.integers("checkpoints", checkpoints, distinct=True)
    lr = checks.positive("lr", lr)
    start = landscape.flat(model)
    wanted = sorted(checkpoints)
    kept = {}
    theta = start.clone()
    for step in range(wanted[-1] + 1):
        if step in wanted:
            kept[step] = theta.numpy().copy()
        if step == wanted[-1]:
            break
        landscape.load_flat(model, theta)
        theta = theta - lr * regularized_gradient(model, X, y, weight_decay)
    landscape.load_flat(model, start)
    return np.array([kept[c] for c in checkpoints])


def find_critical_point(model, theta0, X, y, weight_decay, max_evals):
    """Minimize ``||grad L||^2`` from ``theta0`` by Levenberg-Marquardt (MINPACK).

    ``scipy.optimize.least_squares(method="lm")`` on the residual ``g(theta) = grad L`` whose
    Jacobian is the Hessian (:func:`regularized_hessian`): near a non-degenerate critical
    point of any index this is Newton's method on ``g = 0`` and converges quadratically;
    where the gradient lies in a flat direction of the Hessian it stalls (Frye et al. 2021).

    Returns the flat parameters reached, shape (P,). The model is left at ``theta0``.
    """

    def at(vector):
        landscape.load_flat(model, vector)
        return model

    def residual(vector):
        return regularized_gradient(at(vector), X, y, weight_decay).numpy()

    def jacobian(vector):
        return regularized_hessian(at(vector), X, y, weight_decay)

    res = least_squares(
        residual,
        np.asarray(theta0, dtype=float),
        jac=jacobian,
        method="lm",
        max_nfev=checks.count("max_evals", max_evals),
        xtol=1e-15,
        ftol=1e-15,
        gtol=1e-15,
    )
    landscape.load_flat(model, theta0)
    return res.x


@dataclass(frozen=True)
class PointReport:
    """Loss, error, gradient norm, index and spectrum of one point (see :func:`describe`)."""

    loss: float
    error: float
    grad_norm: float
    index: float
    flatness: float
    eigenvalues: np.ndarray


def describe(model, theta, X, y, weight_decay):
    """The :class:`PointReport` of ``theta``: regularized loss, training error, gradient norm,
    index (:func:`generalization.landscape.hessian_index` of the dense Hessian's spectrum),
    gradient flatness, and the sorted eigenvalues. The model is left at ``theta``."""
    landscape.load_flat(model, theta)
    g = regularized_gradient(model, X, y, weight_decay).numpy()
    H = regularized_hessian(model, X, y, weight_decay)
    eigenvalues = np.linalg.eigvalsh(H)
    _, error = landscape.evaluate(model, X, y)
    return PointReport(
        loss=regularized_loss(model, X, y, weight_decay),
        error=float(error),
        grad_norm=float(np.linalg.norm(g)),
        index=landscape.hessian_index(eigenvalues),
        flatness=gradient_flatness(H, g),
        eigenvalues=eigenvalues,
    )


@dataclass(frozen=True)
class CriticalResult:
    """What :func:`critical_points_experiment` returns.

    One entry per search (seed x checkpoint), flattened in that order: ``seed``,
    ``start_step``, ``start_loss``, and at the end point ``loss``, ``error``, ``grad_norm``,
    ``index``, ``flatness``; ``kept`` marks ``grad_norm < grad_tol``. ``spectra`` holds the
    sorted Hessian eigenvalues of every end point, shape (searches, P). ``n_params`` is P.
    """

    seed: np.ndarray
    start_step: np.ndarray
    start_loss: np.ndarray
    loss: np.ndarray
    error: np.ndarray
    grad_norm: np.ndarray
    index: np.ndarray
    flatness: np.ndarray
    kept: np.ndarray
    spectra: np.ndarray
    grad_tol: float
    n_params: int
    n_samples: int
    n_inputs: int
    run_time_s: float

    def spearman(self):
        """Spearman's rank correlation of index with loss over the kept points."""
        return float(spearmanr(self.loss[self.kept], self.index[self.kept])[0])


@cached
def critical_points_experiment(network, seeds, lr, checkpoints, max_evals, grad_tol):
    """Critical points of the small tanh network, their loss and index. Cached.

    For each seed: the network :func:`tanh_mlp` (initialized from the seed) on the data of
    :func:`pooled_mnist`, gradient descent snapshots (:func:`gd_snapshots`), and from each
    snapshot a search (:func:`find_critical_point`) whose end point is described
    (:func:`describe`).

    Parameters
    ----------
    network : dict
        ``n_samples``, ``pool``, ``hidden``, ``weight_decay``, ``data_seed``
        (:data:`SETTINGS`).
    seeds : sequence of int
    lr : float
    checkpoints : sequence of int
    max_evals : int
    grad_tol : float

    Returns
    -------
    CriticalResult
    """
    seeds = checks.integers("seeds", seeds)
    grad_tol = checks.positive("grad_tol", grad_tol)
    start = time.perf_counter()
    X, y = pooled_mnist(network["n_samples"], network["pool"], network["data_seed"])
    wd = network["weight_decay"]
    rows = {k: [] for k in ("seed", "start_step", "start_loss", "report")}
    with nets.threads(1):  # small dense algebra: one thread beats two contending ones
        for seed in seeds:
            model = tanh_mlp(X.shape[1], network["hidden"], seed=seed)
            snapshots = gd_snapshots(model, X, y, wd, lr, checkpoints)
            for step, theta0 in zip(checkpoints, snapshots):
                landscape.load_flat(model, theta0)
                rows["start_loss"].append(regularized_loss(model, X, y, wd))
                theta = find_critical_point(model, theta0, X, y, wd, max_evals)
                rows["report"].append(describe(model, theta, X, y, wd))
                rows["seed"].append(seed)
                rows["start_step"].append(step)
    reports = rows["report"]
    grad_norm = np.array([r.grad_norm for r in reports])
    return CriticalResult(
        seed=np.array(rows["seed"]),
        start_step=np.array(rows["start_step"]),
        start_loss=np.array(rows["start_loss"]),
        loss=np.array([r.loss for r in reports]),
        error=np.array([r.error for r in reports]),
        grad_norm=grad_norm,
        index=np.array([r.index for r in reports]),
        flatness=np.array([r.flatness for r in reports]),
        kept=grad_norm < grad_tol,
        spectra=np.array([r.eigenvalues for r in reports]),
        grad_tol=grad_tol,
        n_params=int(sum(p.numel() for p in model.parameters())),
        n_samples=int(X.shape[0]),
        n_inputs=int(X.shape[1]),
        run_time_s=time.perf_counter() - start,
    )


# ------------------------------------------------------------------ a two-dimensional saddle

TOY_CRITICAL = {"saddle": (0.0, 0.0), "minimum +": (0.0, 1.0), "minimum -": (0.0, -1.0)}
"""The critical points of :func:`toy_f`: a saddle at the origin and two minima."""


def toy_f(p):
    """``f(x, y) = 5 x^2 - y^2 + y^4 / 2``: the saddle ``5 x^2 - y^2`` of Dauphin et al.
    (2014, Figure 2a) near the origin, with minima ``f = -1/2`` at ``(0, +-1)``.
    ``p`` has shape (..., 2); returns shape (...)."""
    p = np.asarray(p, dtype=float)
    x, y = p[..., 0], p[..., 1]
    return 5 * x**2 - y**2 + 0.5 * y**4


def toy_grad(p):
    """The gradient of :func:`toy_f`, ``(10 x, -2 y + 2 y^3)``, shape (2,)."""
    x, y = np.asarray(p, dtype=float)
    return np.array([10 * x, -2 * y + 2 * y**3])


def toy_hessian(p):
    """The Hessian of :func:`toy_f`, ``diag(10, -2 + 6 y^2)``, shape (2, 2)."""
    _, y = np.asarray(p, dtype=float)
    return np.diag([10.0, -2 + 6 * y**2])


def classify_toy(p, tol=1e-3):
    """The name of the critical point of :func:`toy_f` within ``tol`` of ``p``, else "other"."""
    for name, point in TOY_CRITICAL.items():
        if np.linalg.norm(np.asarray(p) - np.asarray(point)) < tol:
            return name.split()[0]
    return "other"


def run_toy(method, p0, num_steps, lr, damping):
    """``num_steps`` steps of ``method`` ("gd", "newton" or "sfn") from ``p0`` on
    :func:`toy_f`; returns the path, shape (num_steps + 1, 2)."""
    method = checks.choice("method", method, ("gd", "newton", "sfn"))
    path = [np.asarray(p0, dtype=float)]
    for _ in range(checks.count("num_steps", num_steps)):
        p = path[-1]
        if method == "gd":
            path.append(p - lr * toy_grad(p))
        else:
            step = newton_step(toy_grad(p), toy_hessian(p), damping, saddle_free=method == "sfn")
            path.append(p + step)
    return np.array(path)


@dataclass(frozen=True)
class ToyResult:
    """What :func:`toy_experiment` returns.

    ``starts`` (n_starts, 2); for each method in ``methods``: ``outcome[method]`` (n_starts,)
    of "saddle", "minimum" or "other" after the last step, and ``final_f[method]``
    (n_starts,), the value of :func:`toy_f` there.
    """

    methods: tuple
    starts: np.ndarray
    outcome: dict
    final_f: dict
    num_steps: int
    run_time_s: float

    def fraction(self, method, outcome):
        """The fraction of starts at which ``method`` ended at ``outcome``."""
        return float(np.mean(self.outcome[method] == outcome))


@cached
def toy_experiment(n_starts, box, num_steps, lr, damping, seed):
    """Gradient descent, Newton and saddle-free Newton from uniform random starts. Cached.

    Parameters
    ----------
    n_starts : int
    box : float
        Starts are uniform in ``[-box, box]^2`` (``numpy.random.default_rng(seed)``).
    num_steps : int
    lr : float
        Gradient descent's step (stable below 0.2, the curvature in x being 10).
    damping : float
        The floor of :func:`newton_step`.
    seed : int

    Returns
    -------
    ToyResult
    """
    start = time.perf_counter()
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    box = checks.positive("box", box)
    starts = rng.uniform(-box, box, size=(checks.count("n_starts", n_starts), 2))
    methods = ("gd", "newton", "sfn")
    outcome, final_f = {}, {}
    for method in methods:
        runs = [run_toy(method, p0, num_steps, lr, damping) for p0 in starts]
        outcome[method] = np.array([classify_toy(r[-1]) for r in runs])
        final_f[method] = np.array([toy_f(r[-1]) for r in runs])
    return ToyResult(
        methods=methods,
        starts=starts,
        outcome=outcome,
        final_f=final_f,
        num_steps=num_steps,
        run_time_s=time.perf_counter() - start,
    )


# -------------------------------------------------------------- the three methods on the MLP


@dataclass(frozen=True)
class OptimizersResult:
    """What :func:`optimizers_experiment` returns.

    For each method in ``methods``, arrays over seeds: ``losses[method]`` (seeds, steps + 1),
    the regularized loss along the run, and at its end ``grad_norm``, ``index``, ``error``
    (each (seeds,)); ``start_index`` and ``start_grad_norm`` (seeds,) are the index and the
    gradient norm at the common starting point.
    """

    seeds: tuple
    methods: tuple
    losses: dict
    grad_norm: dict
    index: dict
    error: dict
    start_index: np.ndarray
    start_grad_norm: np.ndarray
    run_time_s: float


@cached
def optimizers_experiment(network, seeds, start_step, num_steps, lr, damping, max_step):
    """Gradient descent, Newton and saddle-free Newton on the tanh network. Cached.

    Each seed's network (:func:`tanh_mlp`) is first trained by ``start_step`` steps of
    gradient descent at ``lr``; from there each method runs ``num_steps`` steps: gradient
    descent at ``lr``, and :func:`newton_step` with the exact Hessian, ``damping`` and
    ``max_step``, without and with ``saddle_free``.

    Returns
    -------
    OptimizersResult
    """
    seeds = checks.integers("seeds", seeds)
    num_steps = checks.count("num_steps", num_steps)
    start = time.perf_counter()
    X, y = pooled_mnist(network["n_samples"], network["pool"], network["data_seed"])
    wd = network["weight_decay"]
    methods = ("gd", "newton", "sfn")
    out = {k: {m: [] for m in methods} for k in ("losses", "grad_norm", "index", "error")}
    start_index, start_grad = [], []
    with nets.threads(1):
        for seed in seeds:
            model = tanh_mlp(X.shape[1], network["hidden"], seed=seed)
            theta0 = gd_snapshots(model, X, y, wd, lr, (start_step,))[0]
            report = describe(model, theta0, X, y, wd)
            start_index.append(report.index)
            start_grad.append(report.grad_norm)
            for method in methods:
                theta = theta0.copy()
                losses = []
                for step in range(num_steps + 1):
                    landscape.load_flat(model, theta)
                    losses.append(regularized_loss(model, X, y, wd))
                    if step == num_steps:
                        break
                    g = regularized_gradient(model, X, y, wd).numpy()
                    if method == "gd":
                        theta = theta - lr * g
                    else:
                        H = regularized_hessian(model, X, y, wd)
                        theta = theta + newton_step(g, H, damping, method == "sfn", max_step)
                report = describe(model, theta, X, y, wd)
                out["losses"][method].append(losses)
                out["grad_norm"][method].append(report.grad_norm)
                out["index"][method].append(report.index)
                out["error"][method].append(report.error)
    arrays = {k: {m: np.array(v) for m, v in d.items()} for k, d in out.items()}
    return OptimizersResult(
        seeds=seeds,
        methods=methods,
        start_index=np.array(start_index),
        start_grad_norm=np.array(start_grad),
        run_time_s=time.perf_counter() - start,
        **arrays,
    )

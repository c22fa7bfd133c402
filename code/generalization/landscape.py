"""Looking at a network's loss surface: curvature, paths between solutions, slices.

Part V of the book asks what the loss surface of a trained network looks like around and
between solutions. This module is the small, exact toolkit its chapters share.

Curvature
    :func:`hvp` (Hessian-vector products by double backpropagation), :func:`hessian` (the
    dense Hessian by ``torch.func``, for small models), :func:`top_hessian_eigenvalues`
    (Lanczos, SciPy's ``eigsh`` on a linear operator of Hessian-vector products) and
    :func:`hessian_index` (the fraction of negative eigenvalues, Dauphin et al. 2014);
    :func:`fisher_trace`, the trace of the Fisher information (Achille et al. 2019).
Paths
    :func:`along_line` (loss and error at ``theta + t d``), :func:`interpolate` (the straight
    segment between two networks), :func:`bezier_curve` (a trained quadratic Bezier curve
    between two fixed endpoints, Garipov et al. 2018) and :func:`barrier` (the largest rise of
    a path above the straight line between its endpoints' values).
Directions
    :func:`random_direction`, Gaussian, optionally filter-normalized (Li et al. 2018).

Conventions (the same for every function)::

    theta        the flat parameter vector: model.parameters() concatenated in order,
                 as torch.nn.utils.parameters_to_vector, of length P
    loss_fn      loss_fn(outputs, y) -> scalar, a MEAN over the examples given; default
                 torch.nn.functional.cross_entropy. Data are processed in chunks of
                 `batch_size` examples whose losses are weighted by their sizes, so the result
                 is the loss of the whole set only for a mean-reduced loss.
    X, y         torch tensors or NumPy arrays of equal length n; X is cast to the dtype of
                 the model's parameters; integer y are class indices (torch.long), real y
                 are cast like X.
    error        the fraction of examples whose largest output is not the class y (only for
                 integer y; NaN for real-valued targets, where it is not defined)

Curvature is measured with the model in evaluation mode (dropout off; BatchNorm uses its
running statistics), so that it belongs to one deterministic function; the model's mode is
restored afterwards. No function changes the parameters of a model it is given.

References
----------
Dauphin, Pascanu, Gulcehre, Cho, Ganguli, Bengio (2014), *Identifying and attacking the saddle
point problem in high-dimensional non-convex optimization*, NeurIPS.
Garipov, Izmailov, Podoprikhin, Vetrov, Wilson (2018), *Loss surfaces, mode connectivity, and
fast ensembling of DNNs*, NeurIPS (Section 3.2: the quadratic Bezier curve).
Li, Xu, Taylor, Studer, Goldstein (2018), *Visualizing the loss landscape of neural nets*,
NeurIPS (Section 4: filter normalization).
Achille, Rovere, Soatto (2019), *Critical learning periods in deep networks*, ICLR
(Section 3: the trace of the Fisher information).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from . import checks

_WHICH = {"largest": "LA", "smallest": "SA", "magnitude": "LM"}


def _fail(name, wanted, got):
    raise ValueError(f"{name} must be {wanted}; got {got}.")


# ---------------------------------------------------------------- inputs and parameters


def _model(name, model):
    import torch

    if not isinstance(model, torch.nn.Module):
        _fail(name, "a torch.nn.Module", type(model).__name__)
    params = list(model.parameters())
    if not params:
        _fail(name, "a torch.nn.Module with parameters", "a module without parameters")
    return model


def _dtype(model):
    return next(model.parameters()).dtype


def _tensor(name, value, dtype=None):
    import torch

    if torch.is_tensor(value):
        value = value.detach().cpu()
        if value.is_complex():
            _fail(name, "an array of real numbers", f"dtype {value.dtype}")
        array = value.numpy()
    else:
        array = value
    array = checks.array(name, array, dtype=None)
    tensor = torch.as_tensor(np.ascontiguousarray(array))
    return tensor if dtype is None else tensor.to(dtype)


def _data(model, X, y):
    """X cast to the model's dtype; y as class indices (long) or as real targets."""
    import torch

    X = _tensor("X", X, _dtype(model))
    y = _tensor("y", y)
    if y.shape[0] != X.shape[0]:
        _fail("y", f"one target per row of X ({X.shape[0]})", f"{y.shape[0]} targets")
    if y.dtype.is_floating_point:
        y = y.to(_dtype(model))
    else:
        y = y.to(torch.long)
    return X, y


def _loss_fn(loss_fn):
    import torch.nn.functional as F

    if loss_fn is None:
        return F.cross_entropy
    if not callable(loss_fn):
        _fail("loss_fn", "a callable loss_fn(outputs, y)", type(loss_fn).__name__)
    return loss_fn


def _chunks(n, batch_size):
    batch_size = checks.count("batch_size", batch_size)
    return [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]


class _eval_mode:
    """Put a model in evaluation mode inside the block, then restore its mode."""

    def __init__(self, model):
        self.model = model

    def __enter__(self):
        self.was_training = self.model.training
        self.model.eval()
        return self.model

    def __exit__(self, *exc):
        self.model.train(self.was_training)
        return False


def flat(model):
    """The flat parameter vector of ``model`` (a detached copy), shape ``(P,)``."""
    import torch

    _model("model", model)
    return torch.nn.utils.parameters_to_vector(model.parameters()).detach().clone()


def load_flat(model, vector):
    """Write the flat parameter vector ``vector`` (shape ``(P,)``) into ``model``, in place."""
    import torch

    _model("model", model)
    vector = _tensor("vector", vector, _dtype(model))
    size = sum(p.numel() for p in model.parameters())
    if vector.ndim != 1 or vector.shape[0] != size:
        _fail(
            "vector",
            f"a flat vector of the model's {size} parameters",
            f"shape {tuple(vector.shape)}",
        )
    with torch.no_grad():
        torch.nn.utils.vector_to_parameters(vector, model.parameters())
    return model


def _same_architecture(model_a, model_b):
    shapes_a = [tuple(p.shape) for p in model_a.parameters()]
    shapes_b = [tuple(p.shape) for p in model_b.parameters()]
    if shapes_a != shapes_b:
        _fail("model_b", "a network with the parameter shapes of model_a", f"shapes {shapes_b}")


def _unflatten(model, vector):
    """A dict name -> view of ``vector``, in the shapes of the model's parameters."""
    params, start = {}, 0
    for name, p in model.named_parameters():
        params[name] = vector[start : start + p.numel()].view_as(p)
        start += p.numel()
    return params


# --------------------------------------------------------------------------- curvature


def hvp(model, loss_fn, X, y, v, batch_size=4096):
    """The Hessian-vector product ``H v`` of the loss in the parameters.

    By double backpropagation: the gradient is taken with ``create_graph=True`` and the
    gradient of ``<grad L, v>`` is ``H v``.

    Parameters
    ----------
    model : torch.nn.Module
    loss_fn : callable or None
        ``loss_fn(outputs, y)``, a mean over examples; None for cross-entropy.
    X : tensor or ndarray of shape (n, ...); y : shape (n,) or (n, k)
    v : tensor or ndarray of shape (P,)
    batch_size : int, default 4096
        Examples per chunk (results are summed over chunks, weighted by their sizes).

    Returns
    -------
    torch.Tensor of shape (P,), in the model's dtype.
    """
    import torch

    _model("model", model)
    loss_fn = _loss_fn(loss_fn)
    X, y = _data(model, X, y)
    params = list(model.parameters())
    size = sum(p.numel() for p in params)
    v = _tensor("v", v, _dtype(model))
    if v.ndim != 1 or v.shape[0] != size:
        _fail("v", f"a flat vector of the model's {size} parameters", f"shape {tuple(v.shape)}")
    pieces = list(_unflatten(model, v).values())
    n = X.shape[0]
    total = torch.zeros(size, dtype=_dtype(model))
    with _eval_mode(model):
        for start, stop in _chunks(n, batch_size):
            loss = loss_fn(model(X[start:stop]), y[start:stop]) * ((stop - start) / n)
            grads = torch.autograd.grad(loss, params, create_graph=True)
            inner = sum((g * piece).sum() for g, piece in zip(grads, pieces))
            hv = torch.autograd.grad(inner, params, allow_unused=True)
            hv = [torch.zeros_like(p) if h is None else h for h, p in zip(hv, params)]
            total += torch.cat([h.reshape(-1) for h in hv]).detach()
    return total


def hessian(model, loss_fn, X, y, max_params=6000, batch_size=4096):
    """The dense Hessian of the loss in the flat parameters, shape ``(P, P)``.

    Computed by ``torch.func.hessian`` (forward-over-reverse) of the loss as a function of
    the flat parameter vector. Refused when ``P > max_params``: the matrix has ``P**2``
    entries; use :func:`hvp` or :func:`top_hessian_eigenvalues` for larger models.
    """
    import torch
    from torch.func import functional_call
    from torch.func import hessian as func_hessian

    _model("model", model)
    loss_fn = _loss_fn(loss_fn)
    max_params = checks.count("max_params", max_params)
    X, y = _data(model, X, y)
    theta = flat(model)
    if theta.shape[0] > max_params:
        _fail(
            "model",
            f"at most max_params = {max_params} parameters for a dense Hessian",
            f"{theta.shape[0]} (use hvp or top_hessian_eigenvalues)",
        )
    n = X.shape[0]
    total = torch.zeros(theta.shape[0], theta.shape[0], dtype=theta.dtype)
    with _eval_mode(model):
        for start, stop in _chunks(n, batch_size):
            Xc, yc = X[start:stop], y[start:stop]

            def loss_of(vector, Xc=Xc, yc=yc):
                return loss_fn(functional_call(model, _unflatten(model, vector), (Xc,)), yc)

            total += func_hessian(loss_of)(theta).detach() * ((stop - start) / n)
    return total


def top_hessian_eigenvalues(
    model,
    loss_fn,
    X,
    y,
    k=1,
    which="largest",
    tol=1e-6,
    seed=0,
    batch_size=4096,
    v0=None,
    return_eigenvectors=False,
):
    """The ``k`` extreme eigenvalues of the loss Hessian, by Lanczos iteration.

    SciPy's ``eigsh`` (ARPACK's implicitly restarted Lanczos) runs on a
    ``LinearOperator`` of Hessian-vector products, in float64 on SciPy's side. The Hessian is
    never formed. The gradient's graph is built once per chunk of data and reused by every
    product (each product is then one backward pass), so a call costs about as much as
    ``m + 1`` gradients for ``m`` products, not ``2m``.

    Parameters
    ----------
    k : int
        Fewer than the number of parameters P.
    which : {"largest", "smallest", "magnitude"}
        Largest algebraic (sorted descending), smallest algebraic (most negative first,
        sorted ascending), or largest in absolute value (sorted by descending magnitude).
    tol : float
        ARPACK's relative accuracy of the eigenvalues.
    seed : int
        Draws the starting vector when ``v0`` is not given.
    v0 : tensor or ndarray of shape (P,), optional
        The starting vector, e.g. the previous top eigenvector when sharpness is tracked
        during training (a warm start needs fewer products).
    return_eigenvectors : bool, default False
        Also return the eigenvectors, as the columns of a (P, k) array in the same order.

    Returns
    -------
    ndarray of shape (k,), or (ndarray (k,), ndarray (P, k))
    """
    import torch
    from scipy.sparse.linalg import LinearOperator, eigsh

    _model("model", model)
    which = checks.choice("which", which, tuple(_WHICH))
    tol = checks.nonnegative("tol", tol)
    seed = checks.count("seed", seed, minimum=0)
    size = sum(p.numel() for p in model.parameters())
    k = checks.count("k", k, maximum=size - 1)
    loss_fn = _loss_fn(loss_fn)
    X, y = _data(model, X, y)
    dtype = _dtype(model)
    if v0 is None:
        start = np.random.default_rng(seed).standard_normal(size)
    else:
        start = _tensor("v0", v0, torch.float64).numpy()
        if start.ndim != 1 or start.shape[0] != size:
            _fail("v0", f"a flat vector of the model's {size} parameters", f"shape {start.shape}")
        if not np.any(start):
            _fail("v0", "a nonzero vector", "zeros")
    params = list(model.parameters())
    n = X.shape[0]
    with _eval_mode(model):
        grads = []
        for lo, hi in _chunks(n, batch_size):
            loss = loss_fn(model(X[lo:hi]), y[lo:hi]) * ((hi - lo) / n)
            grads.append(torch.autograd.grad(loss, params, create_graph=True))

        def matvec(vector):
            v = torch.as_tensor(np.asarray(vector, dtype=float).reshape(-1), dtype=dtype)
            pieces = list(_unflatten(model, v).values())
            total = torch.zeros(size, dtype=torch.float64)
            for chunk in grads:
                inner = sum((g * piece).sum() for g, piece in zip(chunk, pieces))
                hv = torch.autograd.grad(inner, params, retain_graph=True, allow_unused=True)
                hv = [torch.zeros_like(p) if h is None else h for h, p in zip(hv, params)]
                total += torch.cat([h.reshape(-1) for h in hv]).double()
            return total.numpy()

        operator = LinearOperator((size, size), matvec=matvec, dtype=np.float64)
        values, vectors = eigsh(operator, k=k, which=_WHICH[which], tol=tol, v0=start)
    if which == "largest":
        order = np.argsort(values)[::-1]
    elif which == "smallest":
        order = np.argsort(values)
    else:
        order = np.argsort(-np.abs(values), kind="stable")
    if return_eigenvectors:
        return values[order], vectors[:, order]
    return values[order]


def hessian_index(eigenvalues, rel_tol=1e-6):
    """The index of a critical point: the fraction of its Hessian's eigenvalues that are
    negative.

    An eigenvalue counts as negative when it is below ``-rel_tol * max|eigenvalue|``; those
    within that band of zero count as zero (flat directions, e.g. from the symmetries of the
    network), not as descent directions. Dauphin et al. (2014) call this fraction the index
    ``alpha`` of the critical point.

    Parameters
    ----------
    eigenvalues : array_like of shape (P,)
    rel_tol : float in [0, 1)

    Returns
    -------
    float in [0, 1]
    """
    eigenvalues = checks.array("eigenvalues", eigenvalues, ndim=1)
    rel_tol = checks.number("rel_tol", rel_tol, low=0, high=1, high_open=True)
    threshold = rel_tol * np.max(np.abs(eigenvalues))
    return float(np.mean(eigenvalues < -threshold))


def fisher_trace(model, X, n_classes=None, batch_size=64):
    """The trace of the Fisher information of a classifier, averaged over inputs.

    ``tr F = (1/n) sum_x sum_c p(c|x) ||grad_theta log p(c|x)||^2``, with ``p = softmax(model(x))``:
    the expectation over the label is taken exactly, by summing over the classes weighted by
    the model's own probabilities (not by sampling a label, and not with the data's labels,
    which would give the "empirical Fisher"). The gradients of every class's log-probability
    for every example come from ``torch.func.jacrev`` under ``torch.func.vmap``; memory grows
    as ``batch_size * n_classes * P``.

    Parameters
    ----------
    model : torch.nn.Module
        Outputs logits of shape (n, n_classes) for inputs X of shape (n, ...).
    X : tensor or ndarray of shape (n, ...)
    n_classes : int, optional
        Checked against the model's output width when given.
    batch_size : int, default 64

    Returns
    -------
    float
    """
    import torch
    from torch.func import functional_call, jacrev, vmap

    _model("model", model)
    X = _tensor("X", X, _dtype(model))
    params = {name: p.detach() for name, p in model.named_parameters()}

    def log_probs(parameters, x):
        logits = functional_call(model, parameters, (x.unsqueeze(0),))[0]
        return torch.log_softmax(logits, dim=-1)

    total = 0.0
    with _eval_mode(model), torch.no_grad():
        first = model(X[:1])
    if first.ndim != 2 or first.shape[0] != 1:
        _fail(
            "X",
            "inputs (n, ...) that model maps to logits (n, n_classes)",
            f"shape {tuple(X.shape)}, mapped to shape {tuple(first.shape)}",
        )
    width = first.shape[-1]
    if n_classes is not None:
        n_classes = checks.count("n_classes", n_classes, minimum=2)
        if n_classes != width:
            _fail("n_classes", f"the model's output width {width}", repr(n_classes))
    with _eval_mode(model):
        for start, stop in _chunks(X.shape[0], batch_size):
            Xc = X[start:stop]
            jac = vmap(jacrev(log_probs), in_dims=(None, 0))(params, Xc)
            squared = sum(
                j.reshape(j.shape[0], j.shape[1], -1).pow(2).sum(-1) for j in jac.values()
            )
            with torch.no_grad():
                probs = torch.softmax(model(Xc), dim=-1)
            total += float((probs * squared).sum())
    return total / X.shape[0]


# -------------------------------------------------------------------------------- paths


@dataclass
class Path:
    """Loss and error at points ``ts`` of a path through parameter space."""

    ts: np.ndarray
    losses: np.ndarray
    errors: np.ndarray


def evaluate(model, X, y, loss_fn=None, batch_size=4096):
    """Mean loss and error rate of ``model`` on ``(X, y)``, in evaluation mode, no gradients.

    Returns
    -------
    (float, float)
        The loss and the error (NaN for real-valued targets, see the module's conventions).
    """
    import torch

    _model("model", model)
    loss_fn = _loss_fn(loss_fn)
    X, y = _data(model, X, y)
    n = X.shape[0]
    loss, wrong = 0.0, 0
    classes = not y.dtype.is_floating_point
    with _eval_mode(model), torch.no_grad():
        for start, stop in _chunks(n, batch_size):
            outputs = model(X[start:stop])
            loss += float(loss_fn(outputs, y[start:stop]).detach()) * (stop - start)
            if classes:
                wrong += int((outputs.argmax(-1) != y[start:stop]).sum())
    return loss / n, (wrong / n if classes else float("nan"))


def _has_batchnorm(model):
    import torch

    return any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())


def _refresh_batchnorm(model, bn_X, batch_size):
    """Recompute BatchNorm running statistics on ``bn_X`` (torch's ``update_bn``)."""
    from torch.optim.swa_utils import update_bn

    loader = [bn_X[start:stop] for start, stop in _chunks(bn_X.shape[0], batch_size)]
    update_bn(loader, model)


def _path(work, points, ts, X, y, loss_fn, bn_X, batch_size):
    losses, errors = [], []
    for point in points:
        load_flat(work, point)
        if bn_X is not None:
            _refresh_batchnorm(work, bn_X, batch_size)
        loss, error = evaluate(work, X, y, loss_fn, batch_size)
        losses.append(loss)
        errors.append(error)
    return Path(np.asarray(ts, dtype=float), np.asarray(losses), np.asarray(errors))


def _ts(name, ts):
    return checks.array(name, ts, ndim=1)


def _bn_data(model, X, bn_X):
    if not _has_batchnorm(model):
        return None
    return X if bn_X is None else _tensor("bn_X", bn_X, _dtype(model))


def along_line(model, direction, ts, X, y, loss_fn=None, bn_X=None, batch_size=4096):
    """Loss and error at ``theta + t * direction`` for each ``t`` in ``ts``.

    Evaluated on a copy: ``model`` is not changed. BatchNorm statistics, if the model has
    BatchNorm, are recomputed on ``bn_X`` (default ``X``) at every point.

    Returns
    -------
    Path
    """
    _model("model", model)
    theta = flat(model)
    direction = _tensor("direction", direction, theta.dtype)
    if direction.ndim != 1 or direction.shape[0] != theta.shape[0]:
        _fail(
            "direction",
            f"a flat vector of the model's {theta.shape[0]} parameters",
            f"shape {tuple(direction.shape)}",
        )
    ts = _ts("ts", ts)
    X, y = _data(model, X, y)
    work = copy.deepcopy(model)
    points = [theta + float(t) * direction for t in ts]
    return _path(work, points, ts, X, y, loss_fn, _bn_data(model, X, bn_X), batch_size)


def interpolate(model_a, model_b, alphas, X, y, loss_fn=None, bn_X=None, batch_size=4096):
    """Loss and error along the straight segment ``(1 - alpha) theta_a + alpha theta_b``.

    If the networks have BatchNorm, its running statistics are recomputed on ``bn_X``
    (default ``X``) at every point, since the endpoints' statistics do not describe the
    interpolated network. Neither model is changed.

    Returns
    -------
    Path
        With ``ts = alphas``.
    """
    _model("model_a", model_a)
    _model("model_b", model_b)
    _same_architecture(model_a, model_b)
    alphas = _ts("alphas", alphas)
    X, y = _data(model_a, X, y)
    theta_a, theta_b = flat(model_a), flat(model_b)
    work = copy.deepcopy(model_a)
    points = [(1 - float(a)) * theta_a + float(a) * theta_b for a in alphas]
    return _path(work, points, alphas, X, y, loss_fn, _bn_data(model_a, X, bn_X), batch_size)


def barrier(losses, alphas=None):
    """The largest rise of a path's values above the straight line between its endpoints.

    ``max_i [ losses[i] - ((1 - s_i) losses[0] + s_i losses[-1]) ]`` with
    ``s_i = (alphas[i] - alphas[0]) / (alphas[-1] - alphas[0])``, the barrier as Entezari,
    Sedghi, Saukh and Neyshabur (2022) define it. It is 0 for a path that never rises above
    that line, and never negative, the endpoints themselves giving 0. Frankle et al. (2020,
    instability) and Ainsworth et al. (2023, Definition 2.2) subtract the *mean* of the
    endpoints' values instead, ``max_i losses[i] - (losses[0] + losses[-1]) / 2``; the two
    agree when the endpoints have equal values and differ by at most half their gap.

    Parameters
    ----------
    losses : array_like of shape (m,), m >= 2
    alphas : array_like of shape (m,), optional
        Increasing positions along the path; default evenly spaced on [0, 1].
    """
    losses = checks.array("losses", losses, ndim=1)
    if losses.shape[0] < 2:
        _fail("losses", "at least 2 values along a path", f"{losses.shape[0]}")
    if alphas is None:
        alphas = np.linspace(0.0, 1.0, losses.shape[0])
    alphas = checks.array("alphas", alphas, ndim=1)
    if alphas.shape != losses.shape:
        _fail("alphas", f"one position per loss ({losses.shape[0]})", f"shape {alphas.shape}")
    if np.any(np.diff(alphas) <= 0):
        _fail("alphas", "increasing positions", repr(alphas.tolist())[:60])
    s = (alphas - alphas[0]) / (alphas[-1] - alphas[0])
    line = (1 - s) * losses[0] + s * losses[-1]
    return float(np.max(losses - line))


@dataclass
class BezierCurve:
    """A quadratic Bezier curve ``(1-t)^2 theta_a + 2 t (1-t) bend + t^2 theta_b``."""

    model: object
    theta_a: object
    theta_b: object
    bend: object
    train_losses: list = field(default_factory=list)

    def parameters_at(self, t):
        """The flat parameter vector at ``t`` in [0, 1]."""
        t = checks.number("t", t, low=0, high=1)
        return (1 - t) ** 2 * self.theta_a + 2 * t * (1 - t) * self.bend + t**2 * self.theta_b

    def point(self, t):
        """A copy of the network at ``t``."""
        return load_flat(copy.deepcopy(self.model), self.parameters_at(t))

    def evaluate(self, ts, X, y, loss_fn=None, batch_size=4096):
        """Loss and error at each ``t`` in ``ts``; a :class:`Path`."""
        ts = _ts("ts", ts)
        checks.numbers("ts", ts, low=0, high=1)
        X, y = _data(self.model, X, y)
        work = copy.deepcopy(self.model)
        points = [self.parameters_at(float(t)) for t in ts]
        return _path(work, points, ts, X, y, loss_fn, None, batch_size)


def bezier_curve(
    model_a,
    model_b,
    X,
    y,
    *,
    epochs,
    lr,
    batch_size=128,
    momentum=0.9,
    seed=0,
    loss_fn=None,
):
    """Train the bend of a quadratic Bezier curve between two fixed networks.

    Garipov et al. (2018, Section 3.2) connect two solutions ``theta_a`` and ``theta_b`` by
    ``phi(t) = (1-t)^2 theta_a + 2 t (1-t) bend + t^2 theta_b`` and minimize the loss averaged
    over ``t ~ U(0, 1)``: each mini-batch draws one ``t`` and takes an SGD step (with
    momentum) on ``bend`` through ``phi(t)``. The endpoints stay fixed; the bend starts at the
    midpoint ``(theta_a + theta_b) / 2``, so the untrained curve is the straight segment.

    Networks with BatchNorm are refused: their statistics would have to be recomputed for
    every ``t`` during training, which this function does not do.

    Parameters
    ----------
    model_a, model_b : torch.nn.Module of the same architecture
    X, y : training data
    epochs : int
    lr : float
    batch_size : int, default 128
    momentum : float in [0, 1), default 0.9
    seed : int
        Seeds the batch order and the draws of ``t``.
    loss_fn : callable, optional

    Returns
    -------
    BezierCurve
        ``train_losses`` holds the mean training loss of each epoch (at the drawn ``t``).
    """
    import torch
    from torch.func import functional_call

    _model("model_a", model_a)
    _model("model_b", model_b)
    _same_architecture(model_a, model_b)
    if _has_batchnorm(model_a):
        _fail("model_a", "a network without BatchNorm", "a network with BatchNorm")
    epochs = checks.count("epochs", epochs)
    lr = checks.positive("lr", lr)
    batch_size = checks.count("batch_size", batch_size)
    momentum = checks.number("momentum", momentum, low=0, high=1, high_open=True)
    seed = checks.count("seed", seed, minimum=0)
    loss_fn = _loss_fn(loss_fn)
    X, y = _data(model_a, X, y)
    theta_a, theta_b = flat(model_a), flat(model_b)
    bend = ((theta_a + theta_b) / 2).clone().requires_grad_(True)
    optimizer = torch.optim.SGD([bend], lr=lr, momentum=momentum)
    generator = torch.Generator().manual_seed(seed)
    work = copy.deepcopy(model_a).train()
    curve = BezierCurve(copy.deepcopy(model_a), theta_a, theta_b, None)
    n = X.shape[0]
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        running = 0.0
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            t = float(torch.rand((), generator=generator, dtype=torch.float64))
            point = (1 - t) ** 2 * theta_a + 2 * t * (1 - t) * bend + t**2 * theta_b
            loss = loss_fn(functional_call(work, _unflatten(work, point), (X[index],)), y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running += float(loss.detach()) * index.shape[0]
        curve.train_losses.append(running / n)
    curve.bend = bend.detach().clone()
    return curve


# --------------------------------------------------------------------------- directions


def random_direction(model, seed, normalize="filter"):
    """A Gaussian direction in parameter space, flat, shape ``(P,)``.

    ``normalize="filter"`` (Li et al. 2018, Section 4): every output unit's incoming weights
    (row ``i`` of a weight matrix, filter ``i`` of a convolution: index ``i`` of the first
    axis of each parameter with two or more axes) are rescaled to the norm of the model's own
    weights of that unit, and one-axis parameters (biases, BatchNorm scales) are set to zero,
    so that a step ``t`` along the direction is comparable across layers and networks.
    ``normalize="none"``: i.i.d. standard normal entries.
    """
    import torch

    _model("model", model)
    seed = checks.count("seed", seed, minimum=0)
    normalize = checks.choice("normalize", normalize, ("filter", "none"))
    generator = torch.Generator().manual_seed(seed)
    pieces = []
    for p in model.parameters():
        d = torch.randn(p.shape, generator=generator, dtype=torch.float64).to(p.dtype)
        if normalize == "filter":
            if p.ndim >= 2:
                rows_d = d.reshape(p.shape[0], -1)
                rows_p = p.detach().reshape(p.shape[0], -1)
                scale = rows_p.norm(dim=1, keepdim=True) / rows_d.norm(dim=1, keepdim=True)
                d = (rows_d * scale).reshape(p.shape)
            else:
                d = torch.zeros_like(d)
        pieces.append(d.reshape(-1))
    return torch.cat(pieces)

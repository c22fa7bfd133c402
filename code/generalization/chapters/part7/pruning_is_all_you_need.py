"""Experiments of the chapter *Proving the lottery ticket hypothesis: pruning is all you need*.

Malach, Yehudai, Shalev-Shwartz and Shamir (2020) prove that a random ReLU network twice as
deep as a target network, and wide enough, contains a subnetwork, found by removing weights
and changing none, that approximates the target; Pensia, Rajput, Nagle, Vishwakarma and
Papailiopoulos (2020) bring the needed width down from a polynomial factor to a logarithmic
one by letting each target weight be a *subset sum* of random products. Malach et al. also
show that removing whole neurons instead of weights is no stronger than a random-features
model, which (Yehudai and Shamir 2019) cannot approximate even one ReLU neuron efficiently.
The constructions themselves live in :mod:`generalization.subset_sum`; this module runs them:

* :func:`mnist_target`: a small ReLU MLP trained on MNIST reduced to its leading principal
  components (:mod:`generalization.pca`), rescaled by :func:`normalized_target` so that
  every weight and bias lies in ``[-1, 1]``, the papers' assumption, without changing any
  prediction;
* :func:`width_experiment`: for each width factor ``n`` and seed, a random network
  (:func:`generalization.subset_sum.random_network`) pruned to the target with one product
  per weight (``"product"``) and with the best subset of products (``"subset_sum"``); the
  per-weight errors, the output error on test images and the pruned network's accuracy;
* :func:`neuron_experiment`: a single ReLU neuron ``relu(<w, x>)`` on Gaussian inputs in
  ``d`` dimensions, approximated by weight pruning (SubsetSum) and by the best random
  features model of the same width (least squares on the output layer, which is at least
  as good as any neuron pruning of the same random layer).

Differences from the papers: their targets are bounded classes of networks and their
statements hold with high probability for every member; ours are one trained MNIST network
and random single neurons, and we measure what a given random network achieves. We solve
each subset sum exactly, by meet in the middle, on networks small enough for a laptop.

References
----------
Malach, Yehudai, Shalev-Shwartz, Shamir (2020), *Proving the lottery ticket hypothesis:
pruning is all you need*, ICML, https://arxiv.org/abs/2002.00585.
Pensia, Rajput, Nagle, Vishwakarma, Papailiopoulos (2020), *Optimal lottery tickets via
SubsetSum: logarithmic over-parameterization is sufficient*, NeurIPS,
https://arxiv.org/abs/2006.07990.
Yehudai, Shamir (2019), *On the power and limitations of random features for understanding
neural networks*, NeurIPS, https://arxiv.org/abs/1904.00687.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from generalization import checks, data, nets, pca, settings_for
from generalization import subset_sum as ss
from generalization.book.cache import cached

SETTINGS = {
    "quick": dict(
        target=dict(
            n_components=10, hidden=(16,), n_train=10_000, num_epochs=15, weight_bound=0.5, seed=0
        ),
        widths=dict(
            seeds=(0, 1, 2),
            subset_ns=(8, 12, 16, 20, 24, 28, 32),
            product_ns=(8, 16, 32, 64, 128, 256),
            n_test=2_000,
        ),
        neuron=dict(
            dims=(4, 16, 64),
            subset_n=32,
            n_features=(16, 64, 256, 1024),
            n_train=4_000,
            n_test=2_000,
            weight_bound=0.5,
            seeds=(0, 1, 2),
        ),
    ),
    "full": dict(
        target=dict(
            n_components=20, hidden=(32,), n_train=60_000, num_epochs=20, weight_bound=0.5, seed=0
        ),
        widths=dict(
            seeds=tuple(range(5)),
            subset_ns=(8, 12, 16, 20, 24, 28, 32, 36),
            product_ns=(8, 16, 32, 64, 128, 256, 512, 1024),
            n_test=10_000,
        ),
        neuron=dict(
            dims=(4, 16, 64, 256),
            subset_n=32,
            n_features=(16, 64, 256, 1024, 4096),
            n_train=40_000,
            n_test=10_000,
            weight_bound=0.5,
            seeds=tuple(range(5)),
        ),
    ),
}
"""Sizes of the chapter's experiments at each scale (the claims tests use the same).

``n``: neurons per block of the random network, the over-parameterization factor (a target
layer with ``d`` inputs becomes a random layer of ``(d + 1) n`` neurons). The quick target
has 10 inputs and 16 hidden units; the full one 20 and 32, trained on all 60,000 images."""

LR = 1e-2
"""Adam's learning rate for the target network."""


def settings(scale=None):
    """The experiment sizes of ``scale`` (default: :func:`generalization.scale`)."""
    return settings_for(SETTINGS, scale)


# ------------------------------------------------------------------------------- target


def normalized_target(net, bound=1.0):
    """A copy of a ReLU MLP with every weight and bias in ``[-bound, bound]``, same predictions.

    A ReLU is positively homogeneous, ``relu(z / c) = relu(z) / c`` for ``c > 0``, so dividing
    a hidden layer's weights and bias by ``c`` and multiplying the next layer's weights by
    ``c`` leaves the function unchanged. Each hidden layer is divided by ``c`` = its largest
    absolute entry over ``bound``; the output layer, finally, by its own ``c``, which scales
    every logit by the same positive number and so changes no argmax. The copy is float64.

    Parameters
    ----------
    net : torch.nn.Sequential
        Linear and ReLU layers (``nets.mlp``).
    bound : float > 0
        The largest absolute weight or bias of the result (reached in every layer).

    Returns
    -------
    target : torch.nn.Sequential
    logit_scale : float
        The factor that divides the original logits: ``target(x) = net(x) / logit_scale``.
    """
    import copy

    import torch

    bound = checks.positive("bound", bound)
    target = copy.deepcopy(net).double().eval()
    linears = [m for m in target if isinstance(m, torch.nn.Linear)]
    if not linears:
        raise ValueError("net must be a ReLU MLP with at least one Linear layer; got none.")
    carried = 1.0  # the factor by which this layer's input has been divided
    with torch.no_grad():
        for layer in linears:
            layer.weight.mul_(carried)
            c = max(float(layer.weight.abs().max()), float(layer.bias.abs().max())) / bound
            layer.weight.div_(c)
            layer.bias.div_(c)
            carried = c
    return target, carried


@dataclass(frozen=True)
class Target:
    """The trained, normalized target and its data (float64 PCA coordinates)."""

    net: object
    X_test: np.ndarray
    y_test: np.ndarray
    test_accuracy: float
    logit_scale: float
    train_time_s: float


def mnist_target(n_components, hidden, n_train, num_epochs, weight_bound, seed):
    """Train a ReLU MLP on MNIST reduced to ``n_components`` principal components.

    The basis is fitted on the ``n_train`` training images (``pca.pca_basis``); the network
    (``nets.mlp``) is trained with Adam (learning rate :data:`LR`, batches of 128) and
    returned normalized by :func:`normalized_target` to weights in ``[-weight_bound,
    weight_bound]``.

    Returns
    -------
    Target
    """
    n_components = checks.count("n_components", n_components)
    mnist = data.load_mnist()
    X, y = data.subsample(mnist.X_train, mnist.y_train, n_train, seed=seed)
    basis = pca.pca_basis(X, n_components)
    X_train = pca.project(X, basis)
    X_test = pca.project(mnist.X_test, basis).astype(np.float64)
    net = nets.mlp(n_inputs=n_components, hidden=hidden, n_classes=10, seed=seed)
    log = nets.train(
        net, X_train, y, lr=LR, num_epochs=num_epochs, optimizer="adam", num_threads=1, seed=seed
    )
    target, logit_scale = normalized_target(net, weight_bound)
    accuracy = float(np.mean(_predict(target, X_test) == mnist.y_test))
    return Target(target, X_test, np.asarray(mnist.y_test), accuracy, logit_scale, log.run_time_s)


def _predict(net, X, chunk=2000):
    """The argmax of ``net`` on the rows of ``X``, evaluated in chunks of rows."""
    import torch

    out = []
    with torch.no_grad():
        for start in range(0, len(X), chunk):
            out.append(net(torch.as_tensor(X[start : start + chunk])).argmax(1).numpy())
    return np.concatenate(out)


def output_error(target, network, X, chunk=2000):
    """``ss.approximation_error`` over the rows of ``X`` in chunks: ``(sup, mean)``."""
    per_input = np.concatenate(
        [
            ss.approximation_error(target, network, X[s : s + chunk]).per_input
            for s in range(0, len(X), chunk)
        ]
    )
    return float(per_input.max()), float(per_input.mean())


# --------------------------------------------------------------------------- width sweep


@dataclass(frozen=True)
class WidthResult:
    """What :func:`width_experiment` returns.

    For each method (``"product"``, ``"subset_sum"``) a dict of arrays of shape
    (len(seeds), len(ns)): ``median_error`` and ``max_error`` (over the target's weights and
    biases, of ``|realized - wanted|``), ``bound`` (``ss.error_bound`` over the box holding the
    test images), ``sup_output`` and ``mean_output`` (``max_k |f_k - g_k|`` on the test images,
    largest and mean), ``accuracy`` (the pruned network's test accuracy), ``agreement`` (the
    fraction of test images where it predicts what the target predicts), ``kept`` (nonzero
    parameters) and ``total`` (parameters of the random network). ``target_accuracy`` is the
    target's accuracy on the same ``n_test`` images, ``target_accuracy_all`` on all 10,000.
    """

    seeds: tuple
    ns: dict
    results: dict
    target_accuracy: float
    target_accuracy_all: float
    target_parameters: int
    n_inputs: int
    hidden: tuple
    radius: float
    run_time_s: float


@cached
def width_experiment(target, widths):
    """Prune random networks of growing width to the MNIST target, both ways. Cached.

    Parameters
    ----------
    target : dict
        The arguments of :func:`mnist_target`.
    widths : dict
        ``seeds``, ``subset_ns``, ``product_ns`` (widths factors ``n`` per method) and
        ``n_test`` (test images used).

    Returns
    -------
    WidthResult
    """
    start = time.perf_counter()
    tgt = mnist_target(**target)
    seeds = checks.integers("seeds", widths["seeds"])
    X = tgt.X_test[: checks.count("n_test", widths["n_test"])]
    y = tgt.y_test[: len(X)]
    predicted = _predict(tgt.net, X)
    radius = float(np.abs(X).max())
    ns = {"product": tuple(widths["product_ns"]), "subset_sum": tuple(widths["subset_ns"])}
    keys = ("median_error", "max_error", "bound", "sup_output", "mean_output")
    keys += ("accuracy", "agreement", "kept", "total")
    results = {}
    for method, method_ns in ns.items():
        out = {k: np.zeros((len(seeds), len(method_ns))) for k in keys}
        for s, seed in enumerate(seeds):
            for i, n in enumerate(method_ns):
                random_net = ss.random_network(tgt.net, n, seed=seed)
                approx = ss.prune_to_approximate(tgt.net, random_net, method=method, radius=radius)
                errors = np.concatenate(
                    [e.ravel() for e in approx.weight_errors + approx.bias_errors]
                )
                guess = _predict(approx.pruned, X)
                row = dict(
                    median_error=np.median(errors),
                    max_error=errors.max(),
                    bound=approx.bound,
                    accuracy=np.mean(guess == y),
                    agreement=np.mean(guess == predicted),
                    kept=approx.kept,
                    total=sum(p.numel() for p in random_net.parameters()),
                )
                row["sup_output"], row["mean_output"] = output_error(tgt.net, approx.pruned, X)
                for k, v in row.items():
                    out[k][s, i] = v
        results[method] = out
    return WidthResult(
        seeds=seeds,
        ns=ns,
        results=results,
        target_accuracy=float(np.mean(predicted == y)),
        target_accuracy_all=tgt.test_accuracy,
        target_parameters=sum(p.numel() for p in tgt.net.parameters()),
        n_inputs=target["n_components"],
        hidden=tuple(target["hidden"]),
        radius=radius,
        run_time_s=time.perf_counter() - start,
    )


def fit_slope(x, errors, log_x=True):
    """Least-squares slope of ``log(errors)`` against ``log(x)`` (or ``x``), one per row.

    ``errors`` has shape (n_rows, len(x)); returns shape (n_rows,). With ``log_x`` the slope
    is the exponent ``a`` of ``error ~ x**a``; without, the rate ``r`` of ``error ~ exp(r x)``.
    """
    x = checks.array("x", x, ndim=1, positive=log_x)
    errors = checks.array("errors", np.atleast_2d(errors), ndim=2, positive=True)
    u = np.log(x) if log_x else x
    return np.polyfit(u, np.log(errors).T, 1)[0]


# --------------------------------------------------------------------- a single neuron


def neuron_target(w, output_weight=1.0):
    """The one-neuron ReLU network ``x -> output_weight * relu(<w, x>)``, a ``nets.mlp`` (float64).

    The hidden bias and the output bias are zero.
    """
    import torch

    w = checks.array("w", w, ndim=1)
    net = nets.mlp(n_inputs=len(w), hidden=(1,), n_classes=1, seed=0).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.as_tensor(w)[None])
        net[0].bias.zero_()
        net[2].weight.fill_(checks.positive("output_weight", output_weight))
        net[2].bias.zero_()
    return net


def random_features_fit(X_train, y_train, X_test, U, c):
    """The best random-features model ``a_0 + sum_i a_i relu(<u_i, x> + c_i)``, by least squares.

    Only the output weights ``a`` (and the constant ``a_0``) are fitted, on the training rows,
    by the normal equations with a ridge of ``1e-10`` times the mean squared feature (Cholesky,
    ``scipy.linalg.cho_solve``; the ridge only guards against round-off). A neuron pruning
    of the same random layer keeps a subset of the neurons with their random output weights,
    one point of this linear family, so its error on the training rows is at least this fit's.

    Parameters
    ----------
    X_train : ndarray (m, d); y_train : ndarray (m,); X_test : ndarray (m_test, d)
    U : ndarray (N, d); c : ndarray (N,)

    Returns
    -------
    ndarray (m_test,)
        The fitted model on the test rows.
    """
    X_train = checks.array("X_train", X_train, ndim=2)
    U = checks.array("U", U, ndim=2)

    def design(X):
        return np.hstack([np.ones((len(X), 1)), np.maximum(X @ U.T + c, 0.0)])

    from scipy.linalg import cho_factor, cho_solve

    A = design(X_train)
    gram = A.T @ A  # (N + 1, N + 1)
    gram[np.diag_indices_from(gram)] += 1e-10 * np.trace(gram) / len(gram)
    a = cho_solve(cho_factor(gram), A.T @ y_train)  # a = (A^T A + ridge)^{-1} A^T y
    return design(X_test) @ a


def relative_error(f, g):
    """``||f - g|| / ||f||`` over the sample (root mean square ratio)."""
    f, g = np.asarray(f, dtype=float), np.asarray(g, dtype=float)
    return float(np.linalg.norm(f - g) / np.linalg.norm(f))


@dataclass(frozen=True)
class NeuronResult:
    """What :func:`neuron_experiment` returns.

    ``features``: relative test error of the best random-features fit, shape
    (len(dims), len(seeds), len(n_features)); ``pruned``: relative test error of the
    SubsetSum weight pruning, (len(dims), len(seeds)); ``pruned_width``: the number of hidden
    neurons of that random network per dimension (both hidden layers together).
    """

    dims: tuple
    seeds: tuple
    n_features: tuple
    subset_n: int
    features: np.ndarray
    pruned: np.ndarray
    pruned_width: tuple
    run_time_s: float


@cached
def neuron_experiment(dims, subset_n, n_features, n_train, n_test, weight_bound, seeds):
    """A single ReLU neuron approximated by weight pruning and by random features. Cached.

    For each dimension ``d`` and seed: ``w`` uniform on the sphere of radius ``weight_bound``,
    inputs standard Gaussian (Yehudai and Shamir's setting), the target
    ``weight_bound * relu(<w, x>)`` (:func:`neuron_target`; every weight within the bound, as
    for the MNIST target; relative errors do not depend on the target's scale). Weight pruning:
    :func:`generalization.subset_sum.prune_to_approximate` (SubsetSum) on a random network of
    block size ``subset_n``. Random features: ``N`` neurons ``relu(<u_i, x> + c_i)`` with
    ``u_i, c_i`` uniform on ``[-1, 1]`` like the random network's, fitted by
    :func:`random_features_fit`. Errors are :func:`relative_error` on ``n_test`` fresh inputs.

    Returns
    -------
    NeuronResult
    """
    dims = checks.integers("dims", dims, minimum=1)
    seeds = checks.integers("seeds", seeds)
    n_features = checks.integers("n_features", n_features, minimum=1)
    start = time.perf_counter()
    features = np.zeros((len(dims), len(seeds), len(n_features)))
    pruned = np.zeros((len(dims), len(seeds)))
    widths = []
    for k, d in enumerate(dims):
        for s, seed in enumerate(seeds):
            rng = np.random.default_rng([seed, d])
            w = rng.standard_normal(d)
            w *= weight_bound / np.linalg.norm(w)
            X = rng.standard_normal((n_train + n_test, d))
            f = weight_bound * np.maximum(X @ w, 0.0)
            X_train, X_test = X[:n_train], X[n_train:]
            target = neuron_target(w, weight_bound)
            random_net = ss.random_network(target, subset_n, seed=seed)
            approx = ss.prune_to_approximate(target, random_net, method="subset_sum")
            g = ss.approximation_error(target, approx.pruned, X_test).per_input
            pruned[k, s] = float(np.linalg.norm(g) / np.linalg.norm(f[n_train:]))
            for i, N in enumerate(n_features):
                U = rng.uniform(-1, 1, (N, d))
                c = rng.uniform(-1, 1, N)
                fit = random_features_fit(X_train, f[:n_train], X_test, U, c)
                features[k, s, i] = relative_error(f[n_train:], fit)
        widths.append(sum(ss.random_widths(neuron_target(np.ones(d)), subset_n)))
    return NeuronResult(
        dims=dims,
        seeds=seeds,
        n_features=n_features,
        subset_n=subset_n,
        features=features,
        pruned=pruned,
        pruned_width=tuple(widths),
        run_time_s=time.perf_counter() - start,
    )

"""Greedy layer-wise pre-training of a multilayer perceptron with denoising autoencoders.

Before any label is used, each hidden layer of a feed-forward network is trained, one at a
time from the bottom, as the encoder of a *denoising autoencoder* (Vincent et al. 2008):
corrupt the layer's input ``h`` by setting a random fraction ``noise`` of its entries to
zero, encode the corrupted copy, and reconstruct the clean ``h`` with the transposed
weights. The trained encoder becomes that layer of the network, and the next layer is
pre-trained on the clean codes of the one below. Supervised training (fine-tuning) then
starts from these weights instead of random ones; the output layer stays random.

Notation of the module (one layer)::

    h     : (n, d_in) the layer's input (pixels in [0, 1], or the codes of the layer below)
    mask  : (n, d_in) independent Bernoulli(1 - noise) entries;  h_tilde = mask * h
    code  c = a(h_tilde W^T + b)             W : (d_out, d_in), b : (d_out,), a the activation
    recon r = s(c W + b')                    tied weights; b' : (d_in,)
    "cross_entropy" (s = sigmoid, for inputs in [0, 1]):
          L = 1/n sum_i sum_j -[h_ij log r_ij + (1 - h_ij) log(1 - r_ij)]
    "squared" (s = identity):  L = 1/n sum_i 1/2 ||h_i - r_i||^2

The functions take unlabelled inputs only: :func:`pretrain_layerwise` has no argument a label
could arrive through, which is the point of the method.

With the identity activation, no noise and the squared loss, the autoencoder is linear, and
its optimal reconstruction is the projection of the centred data onto their top ``d_out``
principal directions (Baldi and Hornik 1989): the row space of a trained ``W`` is that
subspace, which the unit tests check against an SVD.

References
----------
Vincent, Larochelle, Bengio, Manzagol (2008), *Extracting and composing robust features with
denoising autoencoders*, ICML.
Bengio, Lamblin, Popovici, Larochelle (2007), *Greedy layer-wise training of deep networks*,
NeurIPS.
Erhan, Bengio, Courville, Manzagol, Vincent, Bengio (2010), *Why does unsupervised
pre-training help deep learning?*, JMLR 11, 625-660.
Baldi, Hornik (1989), *Neural networks and principal component analysis: learning from
examples without local minima*, Neural Networks 2(1).
"""

from __future__ import annotations

import numpy as np

from . import checks, nets

ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")
"""The hidden activations of :func:`feedforward` and :func:`train_dae`."""

RECONSTRUCTIONS = ("cross_entropy", "squared")
"""The reconstruction losses of :func:`train_dae`."""


def _activation_module(name):
    import torch.nn as nn

    return {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "identity": nn.Identity}[
        name
    ]()


def _activation(name, z):
    import torch

    if name == "identity":
        return z
    return getattr(torch, name)(z)


def feedforward(n_inputs=784, hidden=(256,), n_classes=10, activation="sigmoid", seed=0):
    """A multilayer perceptron with the hidden ``activation``, initialized from ``seed``.

    Weights and biases take torch's default for ``nn.Linear``, uniform in
    ``(-1/sqrt(fan_in), 1/sqrt(fan_in))``: the small random start of the pre-training era.

    Parameters
    ----------
    n_inputs : int
    hidden : sequence of int
        Widths of the hidden layers (at least one).
    n_classes : int
    activation : {"sigmoid", "tanh", "relu", "identity"}
    seed : int

    Returns
    -------
    torch.nn.Sequential
        ``Linear, activation, Linear, activation, ..., Linear`` (logits).
    """
    import torch.nn as nn

    hidden = checks.integers("hidden", hidden, minimum=1)
    checks.choice("activation", activation, ACTIVATIONS)
    n_inputs = checks.count("n_inputs", n_inputs)
    n_classes = checks.count("n_classes", n_classes)
    nets.seed_everything(seed)
    layers, width = [], n_inputs
    for h in hidden:
        layers += [nn.Linear(width, int(h)), _activation_module(activation)]
        width = int(h)
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)


def he_initialize(model, seed=0):
    """Re-draw the weights of every ``nn.Linear`` of ``model`` as He et al. (2015), in place.

    ``W ~ N(0, 2 / fan_in)`` (``torch.nn.init.kaiming_normal_`` for ReLU) and zero biases: the
    initialization that keeps the scale of ReLU activations from layer to layer. Returns
    ``model``.
    """
    import torch
    import torch.nn as nn

    checks.module("model", model)
    nets.seed_everything(seed)
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                layer.bias.zero_()
    return model


def corrupt(H, noise, generator):
    """Masking noise: each entry of ``H`` set to zero independently with probability ``noise``.

    Parameters
    ----------
    H : torch.Tensor of shape (n, d)
    noise : float in [0, 1)
    generator : torch.Generator

    Returns
    -------
    torch.Tensor of shape (n, d)
    """
    import torch

    checks.tensor("H", H, ndim=2)
    noise = checks.number("noise", noise, low=0, high=1, high_open=True)
    keep = torch.rand(H.shape, generator=generator) >= noise
    return H * keep


def reconstruction_loss(H, W, b, b_prime, activation, reconstruction, noise=0.0, generator=None):
    """The denoising autoencoder's loss of the module docstring, as a differentiable scalar.

    Parameters
    ----------
    H : torch.Tensor of shape (n, d_in)
    W : torch.Tensor of shape (d_out, d_in); b : (d_out,); b_prime : (d_in,)
    activation : one of :data:`ACTIVATIONS`
    reconstruction : {"cross_entropy", "squared"}
    noise : float in [0, 1)
        Masking probability; 0 gives a plain autoencoder (and ``generator`` is not used).
    generator : torch.Generator, optional
    """
    checks.tensor("H", H, ndim=2)
    checks.tensor("W", W, ndim=2)
    if W.shape[1] != H.shape[1]:
        raise ValueError(
            f"W must have one column per column of H ({H.shape[1]}); got shape {tuple(W.shape)}."
        )
    return _reconstruction_loss(H, W, b, b_prime, activation, reconstruction, noise, generator)


def _reconstruction_loss(H, W, b, b_prime, activation, reconstruction, noise, generator):
    # the checks of the tensors are in reconstruction_loss: train_dae calls this at every step
    import torch.nn.functional as F

    checks.choice("activation", activation, ACTIVATIONS)
    checks.choice("reconstruction", reconstruction, RECONSTRUCTIONS)
    noise = checks.number("noise", noise, low=0, high=1, high_open=True)
    H_tilde = corrupt(H, noise, generator) if noise > 0 else H
    code = _activation(activation, H_tilde @ W.T + b)
    logits = code @ W + b_prime
    if reconstruction == "cross_entropy":
        return F.binary_cross_entropy_with_logits(logits, H, reduction="sum") / H.shape[0]
    return 0.5 * ((logits - H) ** 2).sum() / H.shape[0]


def train_dae(
    H,
    n_hidden,
    *,
    activation="sigmoid",
    reconstruction="cross_entropy",
    noise=0.25,
    lr=0.05,
    num_epochs=5,
    batch_size=20,
    init=None,
    seed=0,
):
    """Train one tied-weight denoising autoencoder on the rows of ``H`` with plain SGD.

    Parameters
    ----------
    H : ndarray of shape (n, d_in)
        Unlabelled inputs; in [0, 1] for ``reconstruction="cross_entropy"``.
    n_hidden : int
        Size of the code, ``d_out``.
    activation : {"sigmoid", "tanh", "relu", "identity"}
    reconstruction : {"cross_entropy", "squared"}
    noise : float in [0, 1)
        Masking probability (Vincent et al. 2008 use 0.1 to 0.4 on MNIST-like digits).
    lr : float > 0
        SGD step on the per-example loss (the loss is averaged over each mini-batch).
    num_epochs : int >= 0
    batch_size : int
    init : tuple (W, b) of ndarrays, optional
        Starting encoder, shapes (n_hidden, d_in) and (n_hidden,); default: uniform in
        ``+-1/sqrt(d_in)`` from ``seed``, zero biases.
    seed : int
        Seeds the start, the order of the examples and the masks.

    Returns
    -------
    W : ndarray of shape (n_hidden, d_in), float32
    b : ndarray of shape (n_hidden,), float32
    losses : ndarray of shape (num_epochs + 1,)
        The clean (uncorrupted) reconstruction loss before training and after each epoch.
    """
    import torch

    H = checks.array("H", H, ndim=2, dtype=np.float32)
    n_hidden = checks.count("n_hidden", n_hidden)
    checks.choice("activation", activation, ACTIVATIONS)
    checks.choice("reconstruction", reconstruction, RECONSTRUCTIONS)
    noise = checks.number("noise", noise, low=0, high=1, high_open=True)
    lr = checks.positive("lr", lr)
    num_epochs = checks.count("num_epochs", num_epochs, minimum=0)
    batch_size = checks.count("batch_size", batch_size)
    if reconstruction == "cross_entropy" and (H.min() < 0 or H.max() > 1):
        raise ValueError(
            "H must lie in [0, 1] for the cross-entropy reconstruction; got values in "
            f"[{H.min():g}, {H.max():g}]."
        )
    n, d_in = H.shape
    generator = nets.seed_everything(seed)
    if init is None:
        bound = 1.0 / np.sqrt(d_in)
        W0 = (torch.rand((n_hidden, d_in), generator=generator) * 2 - 1) * bound
        b0 = torch.zeros(n_hidden)
    else:
        W0 = torch.as_tensor(checks.array("init W", init[0], ndim=2, dtype=np.float32))
        b0 = torch.as_tensor(checks.array("init b", init[1], ndim=1, dtype=np.float32))
        if W0.shape != (n_hidden, d_in) or b0.shape != (n_hidden,):
            raise ValueError(
                f"init must be (W, b) of shapes {(n_hidden, d_in)} and {(n_hidden,)}; got "
                f"{tuple(W0.shape)} and {tuple(b0.shape)}."
            )
    W = W0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    b_prime = torch.zeros(d_in, requires_grad=True)
    Ht = torch.tensor(H)
    opt = torch.optim.SGD([W, b, b_prime], lr=lr)

    def clean_loss():
        with torch.no_grad():
            return float(
                _reconstruction_loss(Ht, W, b, b_prime, activation, reconstruction, 0.0, None)
            )

    losses = [clean_loss()]
    for _ in range(num_epochs):
        order = torch.randperm(n, generator=generator)
        for first in range(0, n, batch_size):
            batch = Ht[order[first : first + batch_size]]
            loss = _reconstruction_loss(
                batch, W, b, b_prime, activation, reconstruction, noise, generator
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        losses.append(clean_loss())
    return W.detach().numpy().copy(), b.detach().numpy().copy(), np.array(losses)


def _hidden_layers(model):
    """The ``(Linear, activation name)`` pairs of the hidden layers of a :func:`feedforward`."""
    import torch.nn as nn

    names = {nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu", nn.Identity: "identity"}
    modules = list(model)
    pairs = []
    for k, module in enumerate(modules[:-1]):
        if isinstance(module, nn.Linear):
            following = type(modules[k + 1])
            if following not in names:
                raise ValueError(
                    "model must alternate nn.Linear and a sigmoid, tanh, ReLU or identity "
                    f"activation; got {following.__name__} after layer {k}."
                )
            pairs.append((module, names[following]))
    if not pairs or not isinstance(modules[-1], nn.Linear):
        raise ValueError(
            "model must be an nn.Sequential of hidden Linear + activation pairs ending in a "
            f"Linear output layer; got {model!r}."
        )
    return pairs


def pretrain_layerwise(model, X, *, noise=0.25, lr=0.05, num_epochs=5, batch_size=20, seed=0):
    """Greedy layer-wise denoising-autoencoder pre-training of ``model``'s hidden layers.

    Each hidden ``Linear`` in turn, from the input up, is trained by :func:`train_dae` on
    the clean codes of the layers below (the pixels ``X`` for the first), starting from its
    current weights, with the model's activation; the trained encoder is copied into the
    layer. The reconstruction is cross-entropy where the layer's input lies in [0, 1] (the
    pixels, or sigmoid codes) and squared otherwise. The output layer is left as it is.

    There is deliberately no label argument: what is learned depends on ``X`` and ``seed``
    alone.

    Parameters
    ----------
    model : torch.nn.Sequential
        A :func:`feedforward` network (or one of the same form); modified in place.
    X : ndarray of shape (n, n_inputs)
        Unlabelled inputs in [0, 1].
    noise, lr, num_epochs, batch_size : as in :func:`train_dae`, the same for every layer
    seed : int
        Layer ``k`` (from 0) is trained with seed ``seed + k``.

    Returns
    -------
    list of ndarray
        The clean reconstruction losses (:func:`train_dae`) of each layer.
    """
    import torch

    pairs = _hidden_layers(checks.module("model", model))
    H = checks.array("X", X, ndim=2, dtype=np.float32)
    seed = checks.count("seed", seed, minimum=0)
    histories = []
    for k, (layer, activation) in enumerate(pairs):
        unit_range = k == 0 or activation == "sigmoid"
        W, b, losses = train_dae(
            H,
            layer.out_features,
            activation=activation,
            reconstruction="cross_entropy" if unit_range else "squared",
            noise=noise,
            lr=lr,
            num_epochs=num_epochs,
            batch_size=batch_size,
            init=(layer.weight.detach().numpy(), layer.bias.detach().numpy()),
            seed=seed + k,
        )
        with torch.no_grad():
            layer.weight.copy_(torch.as_tensor(W))
            layer.bias.copy_(torch.as_tensor(b))
            H = _activation(activation, torch.as_tensor(H) @ layer.weight.T + layer.bias).numpy()
        histories.append(losses)
    return histories

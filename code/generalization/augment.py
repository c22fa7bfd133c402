"""Shifted copies of 28 x 28 images: a random shift per training batch, or fixed replicas.

Both move an image *cyclically* (``torch.roll`` / ``numpy.roll``) by up to ``max_shift``
pixels along each axis. MNIST digits sit in the middle of a black frame, so a roll of a few
pixels only moves black border pixels from one side to the other.

* :func:`random_shift` returns an augmentation for :func:`generalization.nets.train`: every
  image of every batch gets a fresh random shift (Zhang et al. 2017's data augmentation, in
  the small form the book uses).
* :func:`replicate` builds a fixed, larger data set of shifted copies of each image (Liu,
  Papailiopoulos, Achlioptas 2020's replicated training set for adversarial initialization).

References
----------
Zhang, Bengio, Hardt, Recht, Vinyals (2017), *Understanding deep learning requires
rethinking generalization*, ICLR.
Liu, Papailiopoulos, Achlioptas (2020), *Bad global minima exist and SGD can reach them*,
NeurIPS.
"""

from __future__ import annotations

import numpy as np

from . import checks


def random_shift(max_shift=2):
    """Augmentation: shift each 28 x 28 image by up to ``max_shift`` pixels in each direction."""
    import torch

    max_shift = checks.count("max_shift", max_shift, minimum=0)

    def augment(batch, generator):
        images = batch.view(-1, 28, 28)
        shifts = torch.randint(-max_shift, max_shift + 1, (images.shape[0], 2), generator=generator)
        out = torch.empty_like(images)
        # one roll per distinct shift (at most (2 max_shift + 1)^2), not one per image
        for dy, dx in torch.unique(shifts, dim=0).tolist():
            rows = ((shifts[:, 0] == dy) & (shifts[:, 1] == dx)).nonzero().squeeze(1)
            out[rows] = torch.roll(images[rows], shifts=(dy, dx), dims=(1, 2))
        return out.view(batch.shape)

    return augment


def replicate(X, copies, max_shift=2, seed=0):
    """The training images followed by ``copies - 1`` shifted copies of each.

    Every copy of an image is moved (cyclically, as :func:`random_shift` does) by
    a shift of up to ``max_shift`` pixels in each direction, drawn without replacement from
    the non-zero shifts, so all copies of an image differ from it and from each other: a
    random labelling of the result can always be fitted.

    Parameters
    ----------
    X : ndarray of shape (n, 784)
        Flattened 28 x 28 images.
    copies : int
        How many versions of each image, the original included (1 returns ``X``).
    max_shift : int
        Largest shift in pixels; ``copies - 1`` may not exceed ``(2 max_shift + 1)^2 - 1``.
    seed : int

    Returns
    -------
    ndarray of shape (copies * n, 784)
        Block ``k`` (rows ``k n`` to ``(k + 1) n - 1``) is copy ``k``; block 0 is ``X``.
    """
    X = checks.array("X", X, ndim=2, dtype=None)  # keeps the images' own dtype
    if X.ndim != 2 or X.shape[1] != 784:
        raise ValueError(f"X must be (n, 784) flattened 28 x 28 images; got shape {X.shape}.")
    max_shift = checks.count("max_shift", max_shift)
    shifts = [
        (dy, dx)
        for dy in range(-max_shift, max_shift + 1)
        for dx in range(-max_shift, max_shift + 1)
        if (dy, dx) != (0, 0)
    ]
    # one distinct shift per copy
    copies = checks.count("copies", copies)
    if copies > len(shifts) + 1:
        raise ValueError(
            f"copies must be an integer from 1 to {len(shifts) + 1} when max_shift = "
            f"{max_shift}; got {copies}."
        )
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    # row i: a random order of the shifts; copy k of image i takes the k-th of them
    choice = np.argsort(rng.random((X.shape[0], len(shifts))), axis=1)[:, : copies - 1]
    images = X.reshape(-1, 28, 28)
    blocks = [X]
    for k in range(copies - 1):
        block = np.empty_like(images)
        for s, (dy, dx) in enumerate(shifts):
            rows = choice[:, k] == s
            block[rows] = np.roll(images[rows], (dy, dx), axis=(1, 2))
        blocks.append(block.reshape(X.shape))
    return np.concatenate(blocks)

"""Principal components: a basis fitted on some images, coordinates of others in it.

The chapter *Deep double descent* trains networks on MNIST images reduced to their first
principal components, with the basis fitted on training images it never trains on.
"""

from __future__ import annotations

import numpy as np

from . import checks


def pca_basis(images, n_components):
    """Principal directions of ``images``: ``(mean, components, scale)``.

    Parameters
    ----------
    images : ndarray of shape (n, d)
    n_components : int, 1 <= n_components <= min(n, d)

    Returns
    -------
    mean : ndarray of shape (d,)
    components : ndarray of shape (d, n_components)
        Orthonormal columns, by decreasing variance.
    scale : float
        Standard deviation along the first component; :func:`project` divides by it so the
        leading coordinate has unit variance and the others keep their relative sizes.
    """
    images = checks.array("images", images, ndim=2, dtype=np.float64)
    n_components = checks.count("n_components", n_components, maximum=min(images.shape))
    mean = images.mean(axis=0)
    centred = images - mean
    # eigenvectors of the d x d covariance: cheaper than an SVD of the n x d images when n >> d
    variance, vectors = np.linalg.eigh(centred.T @ centred / images.shape[0])
    top = np.argsort(variance)[::-1][:n_components]
    return mean, vectors[:, top], float(np.sqrt(variance[top[0]]))


def project(X, basis):
    """Coordinates of the rows of ``X`` on a :func:`pca_basis`: float32, (n, n_components)."""
    mean, components, scale = basis
    X = checks.array("X", X, ndim=2, dtype=np.float64)
    if X.shape[1] != components.shape[0]:
        raise ValueError(
            f"X must have {components.shape[0]} columns, as the basis; got shape {X.shape}."
        )
    return ((X - mean) @ components / scale).astype(np.float32)

"""Principal components: a basis fitted on some images, coordinates of others in it.

The chapter *Deep double descent* trains networks on MNIST images reduced to their first
principal components, with the basis fitted on training images it never trains on.
"""

from __future__ import annotations

import numpy as np


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
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 2:
        raise ValueError(f"images must be a 2-D array (n_images, n_pixels); got shape {images.shape}.")
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)) \
            or not 1 <= n_components <= min(images.shape):
        raise ValueError(f"n_components must be an integer from 1 to {min(images.shape)}; got {n_components!r}.")
    mean = images.mean(axis=0)
    centred = images - mean
    # eigenvectors of the d x d covariance: cheaper than an SVD of the n x d images when n >> d
    variance, vectors = np.linalg.eigh(centred.T @ centred / images.shape[0])
    top = np.argsort(variance)[::-1][:n_components]
    return mean, vectors[:, top], float(np.sqrt(variance[top[0]]))


def project(X, basis):
    """Coordinates of the rows of ``X`` on a :func:`pca_basis`, as float32 of shape (n, n_components)."""
    mean, components, scale = basis
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != components.shape[0]:
        raise ValueError(f"X must have shape (n, {components.shape[0]}); got {X.shape}.")
    return ((X - mean) @ components / scale).astype(np.float32)

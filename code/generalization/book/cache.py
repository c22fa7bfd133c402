"""Run each experiment once: an on-disk cache keyed by arguments and package source.

Chapters and their claims tests call the same experiment functions with the same
arguments. Decorating such a function with :func:`cached` stores its result on disk
(``joblib.Memory``), so the book build and the tests train each model once.

The cache folder is named after :func:`source_hash` of the package, so editing *any*
module of the package (not only the decorated function, which is all joblib itself
watches) starts a fresh cache and re-runs exactly what the new code computes.
The book's Sphinx extension ``book/_ext/cache_guard.py`` uses the same hash to
invalidate the notebook execution cache.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def source_hash(paths=(PACKAGE_DIR,), suffixes=(".py", ".toml", ".txt", ".cfg")):
    """Return a sha256 over the contents and relative names of source files.

    Parameters
    ----------
    paths : sequence of str or Path
        Files, or folders searched recursively, for files with one of ``suffixes``.
        Caches (``__pycache__``, ``*.egg-info``) are skipped. A missing path is hashed
        as missing, so creating it changes the hash.
    suffixes : sequence of str

    Returns
    -------
    str
        64 hex digits.
    """
    digest = hashlib.sha256()
    for root in (Path(p) for p in paths):
        if root.is_file():
            files = [(root.name, root)]
        elif root.is_dir():
            files = sorted(
                (str(f.relative_to(root)), f)
                for f in root.rglob("*")
                if f.is_file()
                and f.suffix in suffixes
                and "__pycache__" not in f.parts
                and not any(part.endswith(".egg-info") for part in f.parts)
            )
        else:
            files = []
        digest.update(f"root {root.name} {len(files)}\n".encode())
        for name, path in files:
            digest.update(f"file {name}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_dir():
    """Folder of the result cache: ``$GENERALIZATION_CACHE`` or ``_build/.generalization_cache``."""
    env = os.environ.get("GENERALIZATION_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    return PACKAGE_DIR.parents[1] / "_build" / ".generalization_cache"


@functools.lru_cache(maxsize=1)
def memory():
    """The ``joblib.Memory`` for this version of the package source.

    Result folders of other versions of the source are deleted: they can never be read again.
    """
    import shutil

    import joblib

    current = source_hash()[:16]
    root = cache_dir()
    if root.is_dir():
        for stale in root.iterdir():
            if stale.is_dir() and stale.name != current and len(stale.name) == 16:
                shutil.rmtree(stale, ignore_errors=True)
    return joblib.Memory(location=root / current, verbose=0)


def cached(func):
    """Decorator: cache ``func``'s results on disk, keyed by arguments and package source.

    Experiments should measure their own run time inside the function (and return it), so
    that a cache hit still reports the time the computation really took.
    """
    wrapper = None

    @functools.wraps(func)
    def call(*args, **kwargs):
        nonlocal wrapper
        if wrapper is None:
            wrapper = memory().cache(func)
        return wrapper(*args, **kwargs)

    call.uncached = func
    return call

"""Re-execute a page exactly when the code it runs changes, and never show a stale one.

jupyter-cache keys an executed notebook on its code cells only: a page whose cells are
unchanged but whose package functions changed would be served with old numbers. This
extension keys every page on

* the code key (:func:`generalization.book.cache.code_key`) of the package modules its
  code cells import, directly or through other modules: their syntax, docstrings and
  comments left out;
* the watched files (``cache_guard_files``: ``requirements.txt``), and the page's recorded
  full-scale results if it has any (``results/full/partN/<chapter>.json``, which the page
  shows);
* the scale (``BOOK_SCALE``).

When a page's key differs from the one recorded when it was last invalidated, its executed
notebook is removed from the execution cache (so it executes again) and the page is marked
outdated in the Sphinx environment (so it is read again). Every other page is served from
the cache. Editing one method therefore re-executes the chapters that use it and no other.
The build log lists the pages whose code changed.

Each scale has its own execution cache (``<cache>/quick``, ``<cache>/full``): a page executed
at one scale is never shown at the other, and switching back re-executes nothing. The keys
are recorded in ``page_keys.json`` inside that cache folder.

A killed build never leaves a page that the next build serves wrong or fails on: the keys
file is replaced whole (a damaged one drops every cached execution), an execution that
jupyter-cache recorded but did not finish writing is dropped and run again, and a page read
by a build that was killed before it wrote the page's HTML is read and written again
(``tests/unit/book/test_faults_build.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

from sphinx.util import logging

from generalization import scale
from generalization.book.cache import CodeIndex
from generalization.book.full_scale import write_text_atomic

LOGGER = logging.getLogger(__name__)
KEYS_FILE = "page_keys.json"


def scale_cache(app, config):
    """At config-inited: one execution cache per scale, inside the configured one."""
    base = config.nb_execution_cache_path or Path(app.outdir).parent / ".jupyter_cache"
    config.nb_execution_cache_path = str(Path(base) / scale())


def page_keys(app, env):
    """``{docname: key}`` for every page of the book."""
    root = Path(app.confdir)
    index = CodeIndex(root / app.config.cache_guard_package_dir)
    files = [root / name for name in app.config.cache_guard_files]
    results = root / app.config.cache_guard_results_dir
    keys = {}
    for docname in sorted(env.found_docs):
        modules = index.page_modules(Path(env.doc2path(docname)).read_text(encoding="utf8"))
        recorded = results / (
            Path(docname).relative_to(Path(docname).parts[0]).as_posix() + ".json"
        )
        extra_files = [recorded] if recorded.is_file() else []
        keys[docname] = index.key(modules, files + extra_files, extra=f"scale {scale()}")
    return keys


def _drop_executed(cache_path, sources):
    """Remove the cached executions of the notebooks at ``sources`` from jupyter-cache."""
    from jupyter_cache import get_cache

    cache = get_cache(cache_path)
    wanted = {str(Path(s).resolve()) for s in sources}
    for record in cache.list_cache_records():
        if str(Path(record.uri).resolve()) in wanted:
            cache.remove_cache(record.pk)


def _drop_damaged(cache_path):
    """Remove from jupyter-cache the executions whose notebook file is missing or cut short.

    jupyter-cache records an execution in its database first and writes the notebook file
    after, in place: a build killed in between leaves a record that every later build would
    fail to read. Such an execution is dropped, so the page executes again. Returns the
    removed records' URIs.
    """
    import shutil

    from jupyter_cache import get_cache
    from jupyter_cache.cache.db import NbCacheRecord

    cache = get_cache(cache_path)
    damaged = []
    for record in cache.list_cache_records():
        path = cache._get_notebook_path_cache(record.hashkey)
        try:
            json.loads(path.read_text(encoding="utf8"))
        except (OSError, ValueError):
            shutil.rmtree(path.parent, ignore_errors=True)
            NbCacheRecord.remove_records([record.pk], cache.db)
            damaged.append(record.uri)
    return damaged


def _recorded_keys(stamp):
    """The page keys recorded in ``stamp``; none (no execution is trusted) if it is damaged."""
    try:
        recorded = json.loads(stamp.read_text(encoding="utf8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        recorded = None
    if not isinstance(recorded, dict):
        LOGGER.info(f"cache_guard: {stamp} is damaged; every cached execution is dropped")
        return {}
    return recorded


def _unwritten(app, env):
    """Pages read (their doctree saved) after their HTML page was last written.

    Sphinx saves the environment after reading and before writing: a build killed while
    writing leaves pages read with new results whose HTML is older, and the next build, which
    decides what to write by the source's date, would keep serving those old pages.
    """
    builder = app.builder
    if getattr(builder, "format", None) != "html":
        return set()
    unwritten = set()
    for doc in env.all_docs:
        try:
            read = (Path(app.doctreedir) / f"{doc}.doctree").stat().st_mtime_ns
        except OSError:
            continue  # never read: Sphinx reads it anyway
        try:
            written = Path(builder.get_outfilename(doc)).stat().st_mtime_ns
        except OSError:
            written = 0
        if read > written:
            unwritten.add(doc)
    return unwritten


def outdated(app, env, added, changed, removed):
    """At env-get-outdated: invalidate the pages whose code key changed."""
    keys = page_keys(app, env)
    cache_path = Path(env.mystnb_config.execution_cache_path)
    stamp = cache_path / KEYS_FILE
    recorded = _recorded_keys(stamp)
    damaged = _drop_damaged(cache_path) if cache_path.is_dir() else []
    if damaged:
        LOGGER.info(
            f"cache_guard: {len(damaged)} cached execution(s) were cut short by an "
            f"interrupted build, executing them again: {', '.join(damaged)}"
        )
    sources = {str(Path(env.doc2path(doc)).resolve()): doc for doc in keys}
    reread = {sources[uri] for uri in (str(Path(u).resolve()) for u in damaged) if uri in sources}
    reread |= _unwritten(app, env) & set(keys)
    # a page without a recorded key may have an execution of unknown code: dropped too
    stale = sorted(doc for doc, key in keys.items() if recorded.get(doc) != key)
    changed_code = [doc for doc in stale if doc in recorded]
    if changed_code:
        LOGGER.info(
            f"cache_guard: the code of {len(changed_code)} page(s) changed, executing them again: "
            f"{', '.join(changed_code)}"
        )
    if stale:
        _drop_executed(cache_path, [env.doc2path(doc) for doc in stale])
    # through a renamed temporary file: a killed build never leaves half a stamp
    write_text_atomic(stamp, json.dumps({**recorded, **keys}, indent=1, sort_keys=True) + "\n")

    known = getattr(env, "cache_guard_keys", {})
    env.cache_guard_keys = keys
    return sorted(
        doc
        for doc, key in keys.items()
        if doc not in added and (known.get(doc) != key or doc in reread)
    )


def setup(app):
    app.add_config_value("cache_guard_package_dir", "code/generalization", "env")
    app.add_config_value("cache_guard_files", ["requirements.txt"], "env")
    app.add_config_value("cache_guard_results_dir", "results/full", "env")
    app.connect("config-inited", scale_cache)
    app.connect("env-get-outdated", outdated)
    return {"version": "2.0", "parallel_read_safe": True, "parallel_write_safe": True}

"""Never show a stale chapter: invalidate executed notebooks when the package changes.

jupyter-cache keys an executed notebook on its code cells only. A chapter whose cells are
unchanged but whose package functions changed would be served from the cache with old
numbers. This extension hashes the watched sources (``cache_guard_paths``, by default the
package folder ``code`` and ``requirements.txt``) and, when the hash differs from the one
recorded at the last build:

* empties the notebook execution cache (``_build/.jupyter_cache``), so every chapter is
  executed again with the new code, and
* marks every document outdated in the Sphinx environment, so each page is re-read.

The hash is recorded next to the cache in ``_build/.cache_guard.sha256``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.util import logging

from generalization.book.cache import source_hash

LOGGER = logging.getLogger(__name__)


def _paths(app):
    root = Path(app.confdir)
    return [root / p for p in app.config.cache_guard_paths]


def _exec_cache(app):
    configured = app.config.nb_execution_cache_path
    if configured:
        return Path(configured)
    return Path(app.outdir).parent / ".jupyter_cache"


def _stamp(app):
    return Path(app.outdir).parent / ".cache_guard.sha256"


def check_sources(app, config):
    """At config-inited: compare the source hash with the stamp; clear the cache on change."""
    app.cache_guard_hash = source_hash(_paths(app))
    stamp = _stamp(app)
    previous = stamp.read_text().strip() if stamp.exists() else None
    if previous == app.cache_guard_hash:
        return
    cache = _exec_cache(app)
    if cache.exists():
        LOGGER.info(
            f"cache_guard: package sources changed ({previous and previous[:12]} -> "
            f"{app.cache_guard_hash[:12]}); clearing the execution cache {cache}"
        )
        shutil.rmtree(cache)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(app.cache_guard_hash + "\n")


def outdated(app, env, added, changed, removed):
    """At env-get-outdated: every document is outdated if the sources changed."""
    if getattr(env, "cache_guard_hash", None) == app.cache_guard_hash:
        return []
    env.cache_guard_hash = app.cache_guard_hash
    return sorted(env.found_docs - set(added))


def setup(app):
    app.add_config_value("cache_guard_paths", ["code", "requirements.txt"], "env")
    app.connect("config-inited", check_sources)
    app.connect("env-get-outdated", outdated)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

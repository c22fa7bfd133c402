"""Record a chapter at full scale: ``make full CHAPTER=book/part2/kernel_mnist.md``.

With ``BOOK_SCALE=full``, either

* runs the chapter module's ``full_scale_results()``, when it has one, and records what it
  returns (the page then shows those results as it chooses); or
* executes the chapter's page, as the book build would, and records the rows of the ledger
  it glues; the page's "At full scale" block
  (:func:`generalization.book.full_scale.comparison`) sets them beside the build's.

Everything is computed afresh, in an empty result cache, so the run time recorded is what
the chapter costs at full scale. Either way the file is ``results/full/partN/<chapter>.json``,
with its provenance (:func:`generalization.book.full_scale.record`). Pages show those numbers
at any scale and mark them stale when the code they depend on changes. Commit the file.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

LEDGER_KEY = "ledger"
"""The glue key under which a page's ledger is glued (``Ledger.glue()``)."""


def module_of(page):
    """``generalization.chapters.partN.<chapter>`` for ``book/partN/<chapter>.md``."""
    page = Path(page)
    if page.suffix != ".md" or not page.parent.name.startswith("part"):
        raise ValueError(f"CHAPTER must be a page book/partN/<chapter>.md; got {str(page)!r}.")
    return f"generalization.chapters.{page.parent.name}.{page.stem}"


def glued_ledger(notebook, mimetype):
    """The ledger rows glued in an executed notebook (``{"rows": [...]}`` under ``mimetype``)."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook", {})
            if scrapbook.get("name") != LEDGER_KEY:
                continue
            prefix = scrapbook.get("mime_prefix", "")
            data = output.get("data", {}).get(prefix + mimetype)
            if isinstance(data, dict) and isinstance(data.get("rows"), list):
                return data["rows"]
    raise ValueError(f"the page must glue its ledger under {LEDGER_KEY!r}; it glued none.")


def execute_page(page, mimetype):
    """Execute a MyST page in a fresh kernel, in its own folder; return its ledger rows."""
    from myst_nb.core.read import read_myst_markdown_notebook
    from nbclient import NotebookClient

    page = Path(page).resolve()
    notebook = read_myst_markdown_notebook(page.read_text(encoding="utf8"), path=str(page))
    client = NotebookClient(
        notebook,
        timeout=None,
        kernel_name="python3",
        resources={"metadata": {"path": str(page.parent)}},
    )
    client.execute()
    return glued_ledger(notebook, mimetype)


def main(argv):
    note = ""
    if len(argv) == 3 and argv[1] == "--note":
        argv, note = argv[:1], argv[2]
    if len(argv) != 1:
        print('usage: run_full.py book/partN/<chapter>.md [--note "..."]', file=sys.stderr)
        return 2
    os.environ["BOOK_SCALE"] = "full"  # before the chapter reads its settings
    # An empty result cache, so that everything is computed and the run time recorded is
    # what the chapter costs at full scale (the page's kernel inherits the environment).
    scratch = tempfile.mkdtemp(prefix="full-scale-cache-")
    os.environ["GENERALIZATION_CACHE"] = scratch
    try:
        return _record(argv, note)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _record(argv, note):
    from generalization.book.full_scale import current_key, page_of, record
    from generalization.book.ledger import MIMETYPE

    try:
        name = module_of(argv[0])
        module = importlib.import_module(name)
    except (ValueError, ModuleNotFoundError) as error:
        print(f"full: {error}", file=sys.stderr)
        return 2
    if not hasattr(module, "settings"):
        print(f"full: {name} has no scales (no settings()); nothing to record.", file=sys.stderr)
        return 2
    kind = "module" if hasattr(module, "full_scale_results") else "page"
    key = current_key(name, kind)  # the code that runs, before it runs
    start = time.perf_counter()
    if kind == "module":
        results = module.full_scale_results()
    else:
        results = {"ledger": execute_page(page_of(name), MIMETYPE)}
    run_time = time.perf_counter() - start
    if current_key(name, kind) != key:
        print(
            "full: the chapter's code changed while it ran; its results are not recorded.",
            file=sys.stderr,
        )
        return 1
    path = record(name, results, run_time, key=key, note=note, key_kind=kind)
    print(f"recorded {name} at full scale in {run_time / 60:.1f} min -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

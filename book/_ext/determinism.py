"""Build twice from empty caches and compare: ``make determinism [CHAPTER=...]``.

Executes every chapter of the table of contents (or the pages given) twice, each time in a
fresh kernel with its own empty result cache, and compares what the two runs glued: every
glued value (numbers, text, figures left out) and every row of the reproduction ledger.
Run times are the only values allowed to differ: glue names that contain ``time`` or end in
``_s`` (seconds), the ledger's ``run_time_s`` field, and the measured values of ledger rows
whose quantity is a time. Any other difference is printed with
both values and the script exits with status 1.

It takes twice as long as the book's execution from scratch (tens of minutes), too slow for
every CI run; run it after a change to seeds, threads or the data pipeline.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_full import LEDGER_KEY  # noqa: E402

from generalization.book.ledger import MIMETYPE  # noqa: E402

TIMING = re.compile(r"time|_s$")
"""Glue names (and ledger quantities) that hold run times, which may differ between runs."""


def chapters(toc=Path("_toc.yml")):
    """The chapter pages (``book/partN/*.md``) listed in the table of contents, in order."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            file = node.get("file")
            if isinstance(file, str) and re.match(r"book/part\d+/", file):
                found.append(Path(file if file.endswith(".md") else file + ".md"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(toc.read_text(encoding="utf8")))
    return found


def glued(notebook):
    """``name -> value`` for every glued output: the ledger rows (run times removed) and
    the ``text/plain`` form of every other value; figures and run times left out."""
    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook", {})
            name = scrapbook.get("name")
            if name is None:
                continue
            data = output.get("data", {})
            prefix = scrapbook.get("mime_prefix", "")
            if name == LEDGER_KEY:
                rows = data.get(prefix + MIMETYPE, {}).get("rows", [])
                for i, row in enumerate(rows):
                    kept = {k: v for k, v in row.items() if k != "run_time_s"}
                    if TIMING.search(str(row.get("quantity", ""))):
                        # a row that measures a time: only what the paper says is compared
                        kept = {
                            k: row.get(k) for k in ("paper", "quantity", "paper_value", "source")
                        }
                    values[f"ledger row {i + 1} ({row.get('quantity', '')})"] = repr(kept)
            elif not TIMING.search(name):
                text = data.get(prefix + "text/plain", data.get("text/plain"))
                if text is not None:
                    values[name] = text
    return values


def execute(page, cache):
    """Execute ``page`` in a fresh kernel with the result cache at ``cache``."""
    from myst_nb.core.read import read_myst_markdown_notebook
    from nbclient import NotebookClient

    os.environ["GENERALIZATION_CACHE"] = str(cache)  # the kernel inherits the environment
    page = page.resolve()
    notebook = read_myst_markdown_notebook(page.read_text(encoding="utf8"), path=str(page))
    NotebookClient(
        notebook,
        timeout=None,
        kernel_name="python3",
        resources={"metadata": {"path": str(page.parent)}},
    ).execute()
    return glued(notebook)


def compare(first, second):
    """The names whose values differ (or that only one run glued), sorted."""
    return sorted(name for name in set(first) | set(second) if first.get(name) != second.get(name))


def main(argv):
    pages = [Path(arg) for arg in argv] or chapters()
    missing = [str(p) for p in pages if not p.exists()]
    if missing:
        print(f"no such chapter: {', '.join(missing)}", file=sys.stderr)
        return 2
    failures, start = 0, time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="determinism-") as scratch:
        for page in pages:
            began = time.perf_counter()
            runs = [execute(page, Path(scratch) / f"{page.stem}-{run}") for run in (1, 2)]
            differing = compare(*runs)
            seconds = time.perf_counter() - began
            status = "identical" if not differing else f"{len(differing)} values differ"
            print(f"{page}: {len(runs[0])} glued values, {status} ({seconds:.0f} s for both runs)")
            for name in differing:
                first, second = runs[0].get(name), runs[1].get(name)
                print(f"    {name}:\n      run 1: {first!r:.200}\n      run 2: {second!r:.200}")
            failures += bool(differing)
    total = time.perf_counter() - start
    print(f"{len(pages)} chapters, {failures} with differences, {total / 60:.1f} min in all")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

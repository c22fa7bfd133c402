"""Record a chapter at full scale: ``make full CHAPTER=book/part2/kernel_mnist.md``.

Runs the chapter module's ``full_scale_results()`` with ``BOOK_SCALE=full`` and writes what it
returns, with its provenance, to ``results/full/partN/<chapter>.json``
(:func:`generalization.book.full_scale.record`). The page shows those numbers at any scale,
and marks them stale when the chapter's code changes. Commit the file.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path


def module_of(page):
    """``generalization.chapters.partN.<chapter>`` for ``book/partN/<chapter>.md``."""
    page = Path(page)
    if page.suffix != ".md" or not page.parent.name.startswith("part"):
        raise ValueError(f"CHAPTER must be a page book/partN/<chapter>.md; got {str(page)!r}.")
    return f"generalization.chapters.{page.parent.name}.{page.stem}"


def main(argv):
    note = ""
    if len(argv) == 3 and argv[1] == "--note":
        argv, note = argv[:1], argv[2]
    if len(argv) != 1:
        print('usage: run_full.py book/partN/<chapter>.md [--note "..."]', file=sys.stderr)
        return 2
    os.environ["BOOK_SCALE"] = "full"  # before the chapter reads its settings
    from generalization.book.cache import code_key
    from generalization.book.full_scale import record

    try:
        name = module_of(argv[0])
        module = importlib.import_module(name)
    except (ValueError, ModuleNotFoundError) as error:
        print(f"full: {error}", file=sys.stderr)
        return 2
    if not hasattr(module, "full_scale_results"):
        print(f"full: {name} has no full_scale_results(); nothing to record.", file=sys.stderr)
        return 2
    key = code_key([name])  # the code that runs, before it runs
    start = time.perf_counter()
    results = module.full_scale_results()
    run_time = time.perf_counter() - start
    if code_key([name]) != key:
        print(
            "full: the chapter's code changed while it ran; its results are not recorded.",
            file=sys.stderr,
        )
        return 1
    path = record(name, results, run_time, key=key, note=note)
    print(f"recorded {name} at full scale in {run_time / 60:.1f} min -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

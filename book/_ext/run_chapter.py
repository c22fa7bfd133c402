"""Execute one chapter outside the book build: ``make chapter CHAPTER=book/part3/x.md``.

Reads the MyST notebook with myst-nb's reader, executes it in a fresh ``python3`` kernel,
writes the executed notebook to ``_build/chapters/<name>.ipynb`` and prints the run time.
A cell that raises stops the run with the cell's traceback (exit status 1).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbclient
import nbformat
from myst_nb.core.read import read_myst_markdown_notebook


def main(argv):
    if len(argv) != 1 or not argv[0].endswith(".md"):
        print("usage: run_chapter.py book/<part>/<chapter>.md", file=sys.stderr)
        return 2
    source = Path(argv[0])
    if not source.exists():
        print(f"no such chapter: {source}", file=sys.stderr)
        return 2
    notebook = read_myst_markdown_notebook(source.read_text(encoding="utf8"), path=str(source))
    start = time.perf_counter()
    client = nbclient.NotebookClient(
        notebook,
        timeout=1800,
        kernel_name="python3",
        resources={"metadata": {"path": str(source.parent)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        print(error, file=sys.stderr)
        return 1
    target = Path("_build/chapters") / (source.stem + ".ipynb")
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    print(f"executed {source} in {time.perf_counter() - start:.1f} s -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

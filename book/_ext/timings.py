"""Each chapter's run time from cold: ``make timings [CHAPTER=book/partN/<chapter>.md]``.

The book promises that every chapter executes in under 90 s at ``BOOK_SCALE=quick`` on two
cores, and the whole book (39 chapters) in under 25 minutes. The build's own execution table
cannot show that: the claims tests fill the result cache before the book is built, so a
page's time in the build is a warm time. This command measures the cold one. It executes
each chapter of the table of contents (or the pages given), one at a time, the way ``make
chapter`` does (``book/_ext/run_chapter.py`` in a fresh process and kernel), each with its
own empty result cache (``GENERALIZATION_CACHE``), and records the wall time of that process
in ``results/timings.json`` (``NOTE="..."`` adds a remark to each entry, e.g. that the
machine was shared)::

    {"chapters": {"book/part3/parametrization.md": {
        "seconds": 12.3, "page_key": "...", "scale": "quick", "commit": "...",
        "uncommitted_changes": false, "date": "...", "machine": {...}, "note": ""}}}

``page_key`` is :func:`generalization.book.full_scale.page_key` of the page when its run
started (its code cells and the package code they import, ``requirements.txt`` and the
Python version): a later build compares it with the current key and marks the timing
stale when the code changed since. Each entry carries its own provenance, so measuring one
chapter again replaces its entry and keeps the others. A chapter that fails, or whose code
changes while it runs, is not recorded (its earlier entry, if any, stays, and the build
will call it stale when its code has changed) and the command exits with status 1.

The Sphinx extension ``time_budget`` shows the file on the reproducibility page and names
the chapters over budget at the end of every build. Run this command on an otherwise idle
machine: it takes as long as building the book from scratch.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMINGS_FILE = ROOT / "results" / "timings.json"
"""Where the cold times are recorded (committed with the book)."""
RUN_CHAPTER = Path(__file__).resolve().with_name("run_chapter.py")
CHAPTER_BUDGET_S = 90.0
"""What a chapter may take from cold at quick scale on two cores (DESIGN.md, Scale)."""
BOOK_BUDGET_S = 25 * 60.0
"""What the whole book may take from cold at quick scale on two cores."""
SCALE = "quick"
"""The scale the budget is for; the command measures nothing else."""


def page_keys(pages, package_dir=None, files=None):
    """``{page: key}``: :func:`generalization.book.full_scale.page_key` of each page.

    One index of the package serves all pages (``page_key`` reads the package once per
    page, about a quarter of a second each). ``files`` (default: ``requirements.txt``) is
    there so that a key can be computed for an older tree; the test suite checks that the
    keys equal ``page_key``'s.
    """
    from generalization.book import full_scale
    from generalization.book.cache import PACKAGE_DIR, REQUIREMENTS, CodeIndex, code_cells

    index = CodeIndex(package_dir or PACKAGE_DIR)
    files = (REQUIREMENTS,) if files is None else tuple(files)
    keys = {}
    for page in pages:
        text = Path(page).read_text(encoding="utf8")
        cells = "\n\n".join(code_cells(text))
        modules = index.page_modules(text) - {full_scale.__name__}
        keys[page] = index.key(modules, files, extra=f"page code\n{cells}")
    return keys


def covered_files(page, package_dir=None):
    """The files a page's key covers: the page, the package modules it imports (directly or
    through others) and ``requirements.txt``."""
    from generalization.book.cache import PACKAGE_DIR, REQUIREMENTS, CodeIndex, dependencies

    index = CodeIndex(package_dir or PACKAGE_DIR)
    names = index.page_modules(Path(page).read_text(encoding="utf8"))
    return (
        [Path(page)]
        + [index.files[n] for n in sorted(dependencies(names, index.graph))]
        + [REQUIREMENTS]
    )


def load(path=TIMINGS_FILE):
    """``{page: entry}`` from a timings file; empty when there is none.

    Raises
    ------
    ValueError
        If the file is not a timings file (no ``chapters`` object, or an entry without a
        number of ``seconds`` or a ``page_key``).
    """
    path = Path(path)
    if not path.is_file():
        return {}
    document = json.loads(path.read_text(encoding="utf8"))
    chapters = document.get("chapters") if isinstance(document, dict) else None
    if not isinstance(chapters, dict):
        raise ValueError(f"{path} must hold an object 'chapters'; got {document!r:.80}.")
    for page, entry in chapters.items():
        ok = isinstance(entry, dict) and isinstance(entry.get("page_key"), str)
        seconds = entry.get("seconds") if isinstance(entry, dict) else None
        if not ok or isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise ValueError(
                f"the entry of {page} in {path} must have 'seconds' and 'page_key'; "
                f"got {entry!r:.120}."
            )
    return chapters


def save(entries, path=TIMINGS_FILE):
    """Write ``{page: entry}`` to ``path`` (sorted by page, never half a file)."""
    from generalization.book.full_scale import write_text_atomic

    document = {
        "about": (
            "Cold run times of the chapters (empty result cache, one chapter at a time), "
            "written by `make timings`; see book/_ext/timings.py."
        ),
        "chapters": dict(sorted(entries.items())),
    }
    write_text_atomic(path, json.dumps(document, indent=1, allow_nan=False) + "\n")


def measure(page, root=ROOT, python=None):
    """Execute ``page`` as ``make chapter`` does, in an empty result cache; return the wall
    seconds of the whole run (interpreter and kernel start included), its exit status and
    the end of its error output."""
    with tempfile.TemporaryDirectory(prefix="timings-cache-") as cache:
        env = {**os.environ, "GENERALIZATION_CACHE": cache, "BOOK_SCALE": SCALE}
        start = time.perf_counter()
        done = subprocess.run(
            [python or sys.executable, str(RUN_CHAPTER), str(page)],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
    return seconds, done.returncode, done.stderr[-3000:]


def entry(seconds, key, covered, root=ROOT, note=""):
    """A timings entry: the time, the page key and the provenance of the run."""
    from generalization.book.full_scale import machine
    from generalization.book.git import commit_state

    state = commit_state(root, [Path(p).resolve() for p in covered])
    return {
        "seconds": round(float(seconds), 1),
        "page_key": key,
        "scale": SCALE,
        "commit": state.commit,
        "uncommitted_changes": state.dirty,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "note": note,
    }


@dataclass(frozen=True)
class Row:
    """One chapter's line of the budget: ``seconds`` None when not measured; ``stale`` None
    when not measured, else whether its code changed since it was."""

    page: str
    seconds: float | None
    stale: bool | None
    entry: dict | None


def rows(pages, entries, keys):
    """The budget's rows, in the order of ``pages`` (relative paths ``book/partN/x.md``);
    ``keys`` maps each page to its current key. An entry measured at another scale than
    the budget's counts as not measured.
    """
    out = []
    for page in pages:
        found = entries.get(str(page))
        if found is None or found.get("scale", SCALE) != SCALE:
            out.append(Row(str(page), None, None, None))
        else:
            stale = found["page_key"] != keys.get(str(page))
            out.append(Row(str(page), float(found["seconds"]), stale, found))
    return out


def duration(seconds):
    """``12.3 s`` under 100 s, else ``24.5 min``."""
    return f"{seconds / 60:.1f} min" if seconds >= 100 else f"{seconds:.1f} s"


def limit(seconds):
    """A budget: ``90 s``, or ``25 min`` for whole minutes from 100 s up."""
    return f"{seconds / 60:g} min" if seconds >= 100 and seconds % 60 == 0 else f"{seconds:g} s"


def summary(budget, chapter_budget=CHAPTER_BUDGET_S, book_budget=BOOK_BUDGET_S):
    """One line: the chapters over budget from cold (by page, as ``CHAPTER=`` takes them),
    and the measured total against the book's budget."""
    measured = [r for r in budget if r.seconds is not None]
    over = [r for r in measured if r.seconds > chapter_budget]
    total = sum(r.seconds for r in measured)
    stale = sum(bool(r.stale) for r in measured)
    if over:
        listed = ", ".join(
            f"{r.page} ({r.seconds:.0f} s{', stale' if r.stale else ''})" for r in over
        )
        head = f"{len(over)} over the {limit(chapter_budget)} budget from cold: {listed}"
    else:
        head = f"no chapter over the {limit(chapter_budget)} budget from cold"
    verdict = "over" if total > book_budget else "within"
    tail = (
        f"; total {duration(total)} for {len(measured)} of {len(budget)} chapters, "
        f"{verdict} the {limit(book_budget)} budget"
    )
    if len(measured) < len(budget):
        tail += f" ({len(budget) - len(measured)} not measured)"
    if stale:
        tail += f"; {stale} timings stale (code changed since measured: run make timings)"
    return head + tail


def run(pages, root=ROOT, path=TIMINGS_FILE, package_dir=None, python=None, out=print, note=""):
    """Measure ``pages`` one at a time and record each in ``path`` (with ``note``, anything a
    reader should know about the run); return the exit status."""
    failures = 0
    for page in pages:
        page = Path(page)
        name = page.relative_to(root).as_posix() if page.is_absolute() else page.as_posix()
        source = Path(root) / name
        key = page_keys([source], package_dir)[source]  # the code that runs, before it runs
        covered = covered_files(source, package_dir)
        seconds, status, error = measure(source, root, python)
        if status != 0:
            out(f"{name}: FAILED after {seconds:.1f} s (not recorded)\n{error}")
            failures += 1
            continue
        if page_keys([source], package_dir)[source] != key:
            out(f"{name}: its code changed while it ran; {seconds:.1f} s not recorded")
            failures += 1
            continue
        entries = load(path)  # read again: keep what another run recorded meanwhile
        entries[name] = entry(seconds, key, covered, root, note)
        save(entries, path)
        verdict = "over" if seconds > CHAPTER_BUDGET_S else "within"
        out(f"{name}: {seconds:.1f} s from cold, {verdict} the {limit(CHAPTER_BUDGET_S)} budget")
    return 1 if failures else 0


def main(argv):
    from determinism import chapters

    from generalization import scale

    note = ""
    if "--note" in argv[-2:-1]:
        argv, note = argv[:-2], argv[-1]
    if scale() != SCALE:
        print(f"BOOK_SCALE must be {SCALE} for the time budget; got {scale()}.", file=sys.stderr)
        return 2
    pages = [Path(arg) for arg in argv] or chapters(ROOT / "_toc.yml")
    missing = [str(p) for p in pages if not (ROOT / p).is_file() or p.suffix != ".md"]
    if missing:
        print(f"no such chapter page: {', '.join(missing)}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    status = run([(ROOT / p).resolve() for p in pages], note=note)
    everything = chapters(ROOT / "_toc.yml")
    keys = page_keys([ROOT / p for p in everything])
    keys = {p.as_posix(): keys[ROOT / p] for p in everything}
    budget = rows([p.as_posix() for p in everything], load(), keys)
    minutes = (time.perf_counter() - start) / 60
    print(f"{len(pages)} chapter{'s' * (len(pages) != 1)} measured in {minutes:.1f} min")
    print("time budget: " + summary(budget))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

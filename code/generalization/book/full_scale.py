"""Results recorded at full scale, with their provenance, for pages built at any scale.

A chapter's quick build cannot run the papers' sizes (all 60,000 MNIST images, say), but its
readers should see those numbers. ``make full CHAPTER=book/partN/<chapter>.md`` runs the
chapter module's ``full_scale_results()`` at ``BOOK_SCALE=full`` and :func:`record` writes
what it returns to ``results/full/partN/<chapter>.json`` in the repository, with

* ``commit``: the commit it ran at, and whether any file the key covers
  (:func:`covered_files`) had uncommitted changes;
* ``code_key``: the code key of the chapter module (:func:`generalization.book.cache.code_key`:
  the module, every package module it imports, ``requirements.txt``, the Python version);
* ``date``, ``machine`` (processor, cores, memory, GPU if any) and ``run_time_s``.

A chapter without ``full_scale_results()`` is recorded by executing its page at full scale:
``results`` is then ``{"ledger": [rows]}``, the page's ledger rows, and the file's key is the
*page key* (:func:`page_key`: the page's code cells and the package code they import) instead
of the module's.

A page reads the file with :func:`load`, and :func:`comparison` sets the recorded ledger
beside the one the build just computed. The file is *stale* when its key has changed since:
the numbers may no longer be what the code computes, and the page says so. Nothing in the
file is typed by hand.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import checks
from .cache import PACKAGE_DIR, REQUIREMENTS, CodeIndex, code_cells, code_key, dependencies
from .git import commit_state
from .ledger import _format

KEY_KINDS = ("module", "page")
"""What a recorded file's key covers: the chapter module (and what it imports), or the page's
code cells (and the package code they import)."""

RESULTS_DIR = PACKAGE_DIR.parents[1] / "results" / "full"
"""Where the recorded results live: ``results/full/partN/<chapter>.json``."""
BOOK_DIR = PACKAGE_DIR.parents[1] / "book"
"""Where the chapter pages live: ``book/partN/<chapter>.md``."""


def chapter_path(module):
    """``partN/<chapter>`` for the chapter module ``generalization.chapters.partN.<chapter>``."""
    parts = module.split(".")
    if len(parts) != 4 or parts[:2] != ["generalization", "chapters"]:
        raise ValueError(
            "module must be a chapter module, generalization.chapters.partN.<chapter>; "
            f"got {module!r}."
        )
    return f"{parts[2]}/{parts[3]}"


def page_of(module, book_dir=None):
    """The page ``book/partN/<chapter>.md`` of the chapter module ``module``."""
    return Path(book_dir or BOOK_DIR) / f"{chapter_path(module)}.md"


def page_key(page, package_dir=PACKAGE_DIR):
    """The key of a page's computation: its code cells and the package code they import.

    Prose does not count; any code cell does (it may compute a ledger row). This module does
    not count either: how a page shows what was recorded cannot change what was recorded.
    """
    text = Path(page).read_text(encoding="utf8")
    index = CodeIndex(package_dir)
    cells = "\n\n".join(code_cells(text))
    modules = index.page_modules(text) - {__name__}
    return index.key(modules, extra=f"page code\n{cells}")


def current_key(module, key_kind="module", book_dir=None):
    """The key the chapter ``module``'s recorded results must carry to be current."""
    checks.choice("key_kind", key_kind, KEY_KINDS)
    if key_kind == "page":
        return page_key(page_of(module, book_dir))
    return code_key([module])


def machine():
    """What the results were computed on: processor, cores, memory and GPU (or None)."""
    processor = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                processor = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1)
    gpu = None
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return {
        "processor": processor,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "gpu": gpu,
        "platform": platform.platform(),
    }


def covered_files(module, key_kind="module", book_dir=None):
    """The files the key of ``module``'s recording covers: the package modules it depends on,
    ``requirements.txt`` and, for a page key, the page itself."""
    checks.choice("key_kind", key_kind, KEY_KINDS)
    index = CodeIndex()
    if key_kind == "page":
        page = page_of(module, book_dir)
        names = index.page_modules(Path(page).read_text(encoding="utf8")) - {__name__}
        extra = [Path(page)]
    else:
        names, extra = {module}, []
    modules = [index.files[name] for name in sorted(dependencies(names, index.graph))]
    return extra + modules + [REQUIREMENTS]


def _commit(paths):
    """HEAD, and whether any of ``paths`` differs from it (None, None outside a checkout)."""
    state = commit_state(PACKAGE_DIR.parents[1], [Path(p).resolve() for p in paths])
    return state.commit, state.dirty


def record(module, results, run_time_s, key=None, note="", directory=None, key_kind="module"):
    """Write ``results`` of the chapter ``module`` at full scale, with provenance; return the path.

    Parameters
    ----------
    module : str
        The chapter module, ``generalization.chapters.partN.<chapter>``.
    results : dict
        What the chapter's ``full_scale_results()`` returned: JSON-serializable.
    run_time_s : float
        Wall-clock seconds the computation took.
    key : str, optional
        The chapter's key *when the computation started* (default: now). Take it before
        running, so that an edit made while a long run goes on cannot be recorded as the
        code that produced its numbers.
    note : str, optional
        Anything a reader should know about the run (e.g. that it shared the machine).
    directory : path, optional
        Default :data:`RESULTS_DIR`.
    key_kind : {"module", "page"}
        What ``key`` covers: the chapter module (its ``full_scale_results()`` ran) or the
        page (it was executed, and ``results`` holds its ledger rows).
    """
    checks.choice("key_kind", key_kind, KEY_KINDS)
    if key_kind == "page":
        rows = results.get("ledger") if isinstance(results, dict) else None
        if not isinstance(rows, list) or not rows:
            raise ValueError(
                "results of an executed page must be {'ledger': [rows]} with at least one "
                f"row; got {results!r:.80}."
            )
    path = Path(directory or RESULTS_DIR) / f"{chapter_path(module)}.json"
    commit, dirty = _commit(covered_files(module, key_kind))
    document = {
        "chapter": chapter_path(module),
        "module": module,
        "scale": "full",
        "commit": commit,
        "uncommitted_changes": dirty,
        "code_key": key or current_key(module, key_kind),
        "key_kind": key_kind,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "run_time_s": checks.nonnegative("run_time_s", run_time_s),
        "note": note,
        "results": results,
    }
    text = json.dumps(document, indent=1, sort_keys=False, allow_nan=False) + "\n"
    write_text_atomic(path, text)
    return path


def write_text_atomic(path, text):
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder, renamed.

    A reader sees the old file or the new one, never half of one: a process killed while
    writing leaves at most its own temporary file (``.<name>.<random>.tmp``), which nothing
    reads, and two writers at once leave one of their complete files.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())  # on disk before the rename makes it the file
        os.chmod(tmp, 0o644)  # mkstemp creates it readable by its owner only
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@dataclass(frozen=True)
class FullScale:
    """Recorded full-scale results of one chapter (see :func:`load`)."""

    results: dict
    provenance: dict
    stale: bool

    @property
    def summary(self):
        """One sentence for the page: when, where, how long, and whether the code changed since."""
        p = self.provenance
        gpu = f", {p['machine']['gpu']}" if p["machine"].get("gpu") else ", no GPU"
        when = p["date"][:10]
        commit = (p["commit"] or "an unknown commit")[:10]
        dirty = " (with uncommitted changes)" if p.get("uncommitted_changes") else ""
        text = (
            f"Recorded at full scale on {when} from commit `{commit}`{dirty}, on "
            f"{p['machine']['cores']} cores of {p['machine']['processor']}{gpu}, "
            f"in {p['run_time_s'] / 60:.0f} min."
        )
        if p.get("note"):
            text += f" {p['note']}"
        if self.stale:
            text += (
                " **Stale:** the code these numbers depend on has changed since they were "
                "recorded; run `make full` for this chapter to record them again."
            )
        return text


def load(module, directory=None, book_dir=None):
    """The recorded full-scale results of the chapter ``module``, or None if none are recorded.

    ``stale`` is true when the chapter's key (of the kind recorded) differs from the one
    recorded.
    """
    path = Path(directory or RESULTS_DIR) / f"{chapter_path(module)}.json"
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf8"))
        missing = {"code_key", "results", "date", "machine", "run_time_s"} - set(document)
    except (ValueError, TypeError) as error:  # TypeError: not an object
        missing = f"unreadable JSON ({error})"
    if missing:
        raise ValueError(
            f"{path} must be a full-scale record written by `make full`; got a damaged file "
            f"({missing if isinstance(missing, str) else 'no ' + ', '.join(sorted(missing))}). "
            f"Restore it with `git checkout -- {path}` or record it again with "
            f"`make full CHAPTER=book/{chapter_path(module)}.md`."
        )
    provenance = {key: value for key, value in document.items() if key != "results"}
    kind = document.get("key_kind", "module")
    return FullScale(
        results=document["results"],
        provenance=provenance,
        stale=document["code_key"] != current_key(module, kind, book_dir),
    )


def _value(value, spread, unit, digits):
    text = _format(value, digits)
    if spread is not None and not isinstance(value, str):
        text += f" ± {_format(spread, 2)}"
    if unit and not isinstance(value, str):
        text += unit if unit == "%" else f" {unit}"
    return text


_NUMBER = re.compile(r"\d[\d,.]*")


def _match_key(row, *row_sets):
    """What pairs a row with its twin at the other scale: the paper and the quantity, with its
    numbers left out when that is unique in each of ``row_sets`` (so that "n = 800" at quick
    scale meets "n = 1,600" at full scale), else the quantity as written."""

    def shape(r):
        return (r["paper"], _NUMBER.sub("#", r["quantity"]))

    unique = all(sum(shape(r) == shape(row) for r in rows) <= 1 for rows in row_sets)
    return shape(row) if unique else (row["paper"], row["quantity"])


def comparison(ledger, module, directory=None, book_dir=None):
    """Markdown for a page's "At full scale" block: the recorded ledger beside this build's.

    Parameters
    ----------
    ledger : generalization.book.ledger.Ledger
        The ledger the page has just computed (at the build's scale).
    module : module
        The chapter module. A chapter without ``settings`` computes the same at every scale.
    directory, book_dir : path, optional
        Default :data:`RESULTS_DIR` and :data:`BOOK_DIR`.

    Returns
    -------
    str
        MyST Markdown: the provenance (:attr:`FullScale.summary`, stale or not) and a table of
        each row's paper value, ours in this build and ours at full scale, matched by paper
        and quantity (numbers in the quantity, such as a size that differs between the scales, are
        ignored when the match stays unique; a row computed at one scale only has a dash at
        the other). Without a
        recorded file, a sentence that says how to record one.
    """
    name = getattr(module, "__name__", None)
    if not isinstance(name, str):
        raise ValueError(f"module must be a chapter module; got {module!r}.")
    page = f"book/{chapter_path(name)}.md"
    if not hasattr(module, "settings"):
        return (
            "This chapter's computations are exact and have no sizes to scale: it computes "
            "the same numbers at every scale, so there is nothing to record at full scale."
        )
    full = load(name, directory, book_dir)
    if full is None:
        return (
            "Not recorded yet. `make full CHAPTER=" + page + "` executes this page at "
            "`BOOK_SCALE=full` and writes its ledger, with provenance, to "
            f"`results/full/{chapter_path(name)}.json`; the table then appears here in every "
            "build."
        )
    recorded = full.results.get("ledger")
    if not isinstance(recorded, list):
        raise ValueError(
            f"the results recorded for {name} must hold the page's ledger rows under "
            f"'ledger'; got the keys {sorted(full.results)}."
        )
    digits = ledger.digits
    here = {_match_key(row, ledger.rows, recorded): row for row in ledger.rows}
    there = {_match_key(row, ledger.rows, recorded): row for row in recorded}
    order = list(here) + [key for key in there if key not in here]
    build = ledger.rows[0]["scale"] if ledger.rows else "this build"
    lines = [
        f"| Paper | Quantity | Paper's value | Source | Ours, this build ({build}) "
        "| Ours, full scale |",
        "|---|---|---|---|---|---|",
    ]
    for key in order:
        row = here.get(key) or there[key]
        paper = _value(row["paper_value"], None, row["unit"], digits)
        if key in here and key in there and here[key]["paper_value"] != there[key]["paper_value"]:
            # a formula evaluated at each scale's sizes
            full_paper = _value(there[key]["paper_value"], None, row["unit"], digits)
            paper = f"{paper} (this build); {full_paper} (full scale)"
        quantity = row["quantity"]
        if key in here and key in there and there[key]["quantity"] != quantity:
            quantity = f"{quantity}; at full scale: {there[key]['quantity']}"
        cells = [f"{{footcite:t}}`{row['paper']}`", quantity, paper, row["source"]]
        for side in (here, there):
            other = side.get(key)
            cells.append(
                "–"
                if other is None
                else _value(other["our_value"], other["spread"], other["unit"], digits)
            )
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return full.summary + "\n\n" + "\n".join(lines)

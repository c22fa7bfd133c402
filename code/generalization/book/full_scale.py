"""Results recorded at full scale, with their provenance, for pages built at any scale.

A chapter's quick build cannot run the papers' sizes (all 60,000 MNIST images, say), but its
readers should see those numbers. ``make full CHAPTER=book/partN/<chapter>.md`` runs the
chapter module's ``full_scale_results()`` at ``BOOK_SCALE=full`` and :func:`record` writes
what it returns to ``results/full/partN/<chapter>.json`` in the repository, with

* ``commit``: the commit it ran at (and whether the tree had uncommitted changes);
* ``code_key``: the code key of the chapter module (:func:`generalization.book.cache.code_key`:
  the module, every package module it imports, ``requirements.txt``, the Python version);
* ``date``, ``machine`` (processor, cores, memory, GPU if any) and ``run_time_s``.

A page reads the file with :func:`load`. The file is *stale* when the chapter's code key
has changed since: the numbers may no longer be what the code computes, and the page says
so. Nothing in the file is typed by hand.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .. import checks
from .cache import PACKAGE_DIR, code_key

RESULTS_DIR = PACKAGE_DIR.parents[1] / "results" / "full"
"""Where the recorded results live: ``results/full/partN/<chapter>.json``."""


def chapter_path(module):
    """``partN/<chapter>`` for the chapter module ``generalization.chapters.partN.<chapter>``."""
    parts = module.split(".")
    if len(parts) != 4 or parts[:2] != ["generalization", "chapters"]:
        raise ValueError(
            "module must be a chapter module, generalization.chapters.partN.<chapter>; "
            f"got {module!r}."
        )
    return f"{parts[2]}/{parts[3]}"


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


def _commit():
    root = PACKAGE_DIR.parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "code", "requirements.txt"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None, None
    return head, bool(dirty)


def record(module, results, run_time_s, key=None, note="", directory=None):
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
        The chapter's code key *when the computation started* (default: now). Take it before
        running, so that an edit made while a long run goes on cannot be recorded as the
        code that produced its numbers.
    note : str, optional
        Anything a reader should know about the run (e.g. that it shared the machine).
    directory : path, optional
        Default :data:`RESULTS_DIR`.
    """
    path = Path(directory or RESULTS_DIR) / f"{chapter_path(module)}.json"
    commit, dirty = _commit()
    document = {
        "chapter": chapter_path(module),
        "module": module,
        "scale": "full",
        "commit": commit,
        "uncommitted_changes": dirty,
        "code_key": key or code_key([module]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "run_time_s": checks.nonnegative("run_time_s", run_time_s),
        "note": note,
        "results": results,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=1, sort_keys=False, allow_nan=False) + "\n"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)  # never half a file
    return path


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


def load(module, directory=None):
    """The recorded full-scale results of the chapter ``module``, or None if none are recorded.

    ``stale`` is true when the chapter's code key differs from the one recorded.
    """
    path = Path(directory or RESULTS_DIR) / f"{chapter_path(module)}.json"
    if not path.is_file():
        return None
    document = json.loads(path.read_text())
    provenance = {key: value for key, value in document.items() if key != "results"}
    return FullScale(
        results=document["results"],
        provenance=provenance,
        stale=document["code_key"] != code_key([module]),
    )

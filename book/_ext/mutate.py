"""Claims that can fail, shown: ``make mutate [CHAPTER=book/partN/<chapter>.md]``.

Each chapter keeps, beside its claims tests, a list of small plausible bugs in the code it
runs: ``tests/claims/partN/<chapter>.yml``, under ``mutations``. For each one this tool copies
the package and the chapter's claims tests to a temporary folder, applies the mutation there
(the repository is never touched), runs the claims tests with an empty result cache at
``BOOK_SCALE=quick`` (but those marked ``recorded``, which check results recorded at full
scale, not the code), and reports which test caught it. A mutation that no claim catches must
say why in its entry (``uncaught_because``); otherwise the run fails, and the chapter has a
claim to strengthen.

Not part of ``make test``: every mutation recomputes the chapter's experiments.

An entry::

    mutations:
      - file: code/generalization/kernels.py       # relative to the repository root
        old: "return block.sqrt_().mul_(-1.0 / bandwidth).exp_()"   # occurs exactly once
        new: "return block.mul_(-1.0 / bandwidth).exp_()"
        why: the Laplace kernel computed on squared distances
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def config_path(page, root=ROOT):
    """``tests/claims/partN/<chapter>.yml`` for the page ``book/partN/<chapter>.md``."""
    page = Path(page)
    return Path(root) / "tests" / "claims" / page.parent.name / f"{page.stem}.yml"


def load_mutations(page, root=ROOT):
    """The mutations listed for a chapter, each checked: its ``old`` occurs exactly once.

    Raises
    ------
    ValueError
        If the list is missing or malformed, or a mutation no longer applies.
    """
    path = config_path(page, root)
    if not path.is_file():
        raise ValueError(f"the chapter's checks file must exist; got no {path}.")
    entries = (yaml.safe_load(path.read_text()) or {}).get("mutations") or []
    for entry in entries:
        missing = {"file", "old", "new", "why"} - set(entry)
        if missing:
            raise ValueError(
                f"each mutation in {path.name} needs file, old, new and why; got {entry!r}."
            )
        source = (Path(root) / entry["file"]).read_text()
        if source.count(entry["old"]) != 1:
            raise ValueError(
                f"each mutation's old text must occur exactly once in its file; got "
                f"{source.count(entry['old'])} times for {entry['old']!r} in {entry['file']}."
            )
    return entries


def run_one(page, mutation, root=ROOT):
    """Apply ``mutation`` in a copy and run the chapter's claims; return ``(caught_by, seconds)``.

    ``caught_by`` is the first failing test, or None when every claim still passed.
    """
    page = Path(page)
    claims = Path("tests") / "claims" / page.parent.name / f"test_{page.stem}.py"
    with tempfile.TemporaryDirectory(prefix="mutate-") as tmp:
        tmp = Path(tmp)
        shutil.copytree(
            Path(root) / "code",
            tmp / "code",
            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
        )
        (tmp / claims).parent.mkdir(parents=True)
        shutil.copy2(Path(root) / "tests" / "conftest.py", tmp / "tests" / "conftest.py")
        shutil.copy2(Path(root) / claims, tmp / claims)
        shutil.copy2(Path(root) / "requirements.txt", tmp / "requirements.txt")
        target = tmp / mutation["file"]
        target.write_text(target.read_text().replace(mutation["old"], mutation["new"], 1))
        env = {
            **os.environ,
            "BOOK_SCALE": "quick",
            "GENERALIZATION_CACHE": str(tmp / "cache"),
            "GENERALIZATION_DATA": str(Path(root) / "data"),
            "PYTHONPATH": str(tmp / "code"),
        }
        start = time.perf_counter()
        done = subprocess.run(
            # claims about recorded full-scale results are left out: a mutated copy of the
            # code never matches the code they were recorded with
            [
                sys.executable,
                "-m",
                "pytest",
                str(claims),
                "-x",
                "-q",
                "-p",
                "no:cacheprovider",
                "-m",
                "not recorded",
            ],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
    if done.returncode == 0:
        return None, seconds
    failed = re.search(r"^(?:FAILED|ERROR) \S+::(\S+)", done.stdout, re.M)
    return (failed.group(1) if failed else f"pytest exit {done.returncode}"), seconds


def chapters(root=ROOT):
    """The numbered pages of ``_toc.yml``, in book order."""
    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text())
    return [c["file"] for part in toc["parts"] if part.get("numbered") for c in part["chapters"]]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "chapter", nargs="?", help="book/partN/<chapter>.md (default: every chapter)"
    )
    args = parser.parse_args(argv)
    pages = [args.chapter] if args.chapter else chapters()
    unexplained = 0
    print("| chapter | mutation | caught by | seconds |\n|---|---|---|---|")
    for page in pages:
        try:
            mutations = load_mutations(page)
        except ValueError as error:
            print(f"mutate: {error}", file=sys.stderr)
            return 2
        for mutation in mutations:
            caught, seconds = run_one(page, mutation)
            if caught is None:
                reason = mutation.get("uncaught_because")
                caught = f"NOT CAUGHT ({reason})" if reason else "NOT CAUGHT: strengthen a claim"
                unexplained += reason is None
            print(
                f"| {Path(page).stem} | {mutation['why']} | {caught} | {seconds:.0f} |", flush=True
            )
    if unexplained:
        print(
            f"\n{unexplained} mutation(s) caught by no claim and with no reason written.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

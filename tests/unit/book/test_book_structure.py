"""Every page listed in _toc.yml exists, and every chapter follows the template."""

import importlib
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
CHAPTERS = [
    c["file"] for part in TOC["parts"] if part.get("numbered") for c in part["chapters"]
]  # with ".md"
REQUIRED_SECTIONS = ("## Overview", "## Reproduction ledger", "## Summary", "## Exercises")


def listed(entries):
    """The files of TOC entries and of their sections, depth first."""
    for entry in entries:
        yield entry["file"]
        yield from listed(entry.get("sections", []))


def test_every_listed_page_exists():
    files = [TOC["root"]] + [f for part in TOC["parts"] for f in listed(part["chapters"])]
    for name in files:
        # the entry is the path of the source itself, so that any reader of the TOC finds it
        assert name.endswith(".md"), (
            f"_toc.yml entry {name} should name its file with the .md suffix"
        )
        assert (ROOT / name).is_file(), f"_toc.yml lists {name}, which does not exist"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_follows_the_template(chapter):
    text = (ROOT / chapter).read_text()
    for section in REQUIRED_SECTIONS:
        assert re.search(rf"^{re.escape(section)}\s*$", text, re.M), f"{chapter} lacks '{section}'"
    assert "announce_scale()" in text, "the chapter must state its scale"
    assert ".glue()" in text and "{glue:md} ledger" in text, (
        "the chapter must glue and show its ledger"
    )
    module = importlib.import_module(
        "generalization.chapters." + ".".join(Path(chapter).with_suffix("").parts[1:])
    )
    if not hasattr(module, "full_scale_results"):  # which shows its full-scale results itself
        assert "### At full scale" in text and "full_scale.comparison(ledger," in text, (
            "the chapter must show its ledger at full scale (full_scale.comparison)"
        )
        assert "{glue:md} full_scale" in text
    assert "{footbibliography}" in text, "the chapter must end with its references"
    assert "{exercise}" in text and "{solution}" in text
    assert "savefig" not in text and "allow_errors" not in text


def test_execution_never_allows_errors():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["allow_errors"] is False
    assert config["execute"]["execute_notebooks"] == "cache"


def test_test_files_have_distinct_names():
    # pytest (rootdir-relative imports, no __init__.py) cannot collect two test modules with
    # the same basename in one run; unit and claims tests are collected together in CI reruns.
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)

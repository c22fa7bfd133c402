"""generalization.book.full_scale: results recorded at full scale, with provenance and staleness."""

import json
import sys
from pathlib import Path

import pytest

from generalization.book import full_scale
from generalization.book.cache import code_key

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import run_full  # noqa: E402

MODULE = "generalization.chapters.part2.min_norm"


def test_recorded_results_load_with_their_provenance(tmp_path):
    path = full_scale.record(
        MODULE, {"errors": [1.5, None]}, 61.0, note="a note", directory=tmp_path
    )
    assert path == tmp_path / "part2" / "min_norm.json"
    document = json.loads(path.read_text())
    assert document["code_key"] == code_key([MODULE]) and document["scale"] == "full"
    assert document["machine"]["cores"] >= 1 and document["date"][:2] == "20"
    loaded = full_scale.load(MODULE, directory=tmp_path)
    assert loaded.results == {"errors": [1.5, None]} and not loaded.stale
    assert (
        "in 1 min" in loaded.summary
        and "a note" in loaded.summary
        and "Stale" not in loaded.summary
    )


def test_results_of_other_code_are_stale(tmp_path):
    full_scale.record(MODULE, {}, 1.0, key="0" * 64, directory=tmp_path)
    loaded = full_scale.load(MODULE, directory=tmp_path)
    assert loaded.stale and "**Stale:**" in loaded.summary


def test_nothing_recorded_is_none_and_bad_modules_are_refused(tmp_path):
    assert full_scale.load(MODULE, directory=tmp_path) is None
    with pytest.raises(ValueError, match="module must be a chapter module"):
        full_scale.chapter_path("generalization.linear")
    with pytest.raises(ValueError, match="run_time_s must be a non-negative number"):
        full_scale.record(MODULE, {}, -1.0, directory=tmp_path)


def test_make_full_maps_a_page_to_its_chapter_module():
    assert (
        run_full.module_of("book/part2/kernel_mnist.md")
        == "generalization.chapters.part2.kernel_mnist"
    )
    with pytest.raises(ValueError, match="CHAPTER must be a page book/partN/<chapter>.md"):
        run_full.module_of("book/intro.md")

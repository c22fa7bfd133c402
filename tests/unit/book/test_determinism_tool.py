"""Tests of book/_ext/determinism.py: which chapters it runs and what it compares."""

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import determinism  # noqa: E402

from generalization.book.ledger import MIMETYPE  # noqa: E402


def test_it_runs_every_chapter_page_of_the_table_of_contents_in_order():
    pages = determinism.chapters(ROOT / "_toc.yml")
    on_disk = {p.relative_to(ROOT) for p in (ROOT / "book").glob("part*/*.md")}
    listed = (ROOT / "_toc.yml").read_text()
    assert set(pages) == {p for p in on_disk if str(p) in listed}
    assert pages[0] == Path("book/part1/rethinking.md")
    assert len(pages) == len(set(pages))


def _notebook(values, rows):
    outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"text/plain": repr(value)},
            metadata={"scrapbook": {"name": name, "mime_prefix": ""}},
        )
        for name, value in values.items()
    ]
    outputs.append(
        nbformat.v4.new_output(
            "display_data",
            data={MIMETYPE: {"rows": rows}, "text/markdown": "| table |"},
            metadata={"scrapbook": {"name": "ledger", "mime_prefix": ""}},
        )
    )
    outputs.append(nbformat.v4.new_output("stream", text="printed, not glued"))
    cell = nbformat.v4.new_code_cell("", outputs=outputs)
    return nbformat.v4.new_notebook(cells=[cell])


def test_run_times_are_left_out_and_everything_else_is_compared():
    row = {"quantity": "test error", "our_value": 0.1, "run_time_s": 3.0}
    first = determinism.glued(
        _notebook({"error": 0.1, "run_time": 5.0, "fit_s": 2.0, "scale": "quick"}, [row])
    )
    assert set(first) == {"error", "scale", "ledger row 1 (test error)"}
    second = determinism.glued(
        _notebook(
            {"error": 0.1, "run_time": 9.0, "fit_s": 4.0, "scale": "quick"},
            [{**row, "run_time_s": 7.0}],
        )
    )
    assert determinism.compare(first, second) == []
    changed = determinism.glued(
        _notebook({"error": 0.2, "scale": "quick"}, [{**row, "our_value": 0.11}])
    )
    assert determinism.compare(first, changed) == ["error", "ledger row 1 (test error)"]
    assert determinism.compare(first, {"error": first["error"]}) == [
        "ledger row 1 (test error)",
        "scale",
    ]


def test_a_ledger_row_that_measures_a_time_is_compared_by_what_the_paper_says():
    row = {
        "paper": "p",
        "quantity": "time of the two modes",
        "paper_value": "faster",
        "source": "qualitative (abstract)",
        "our_value": "2.7x",
        "note": "3.1 s",
    }
    first = determinism.glued(_notebook({}, [row]))
    second = determinism.glued(_notebook({}, [{**row, "our_value": "3.8x", "note": "2.0 s"}]))
    assert determinism.compare(first, second) == []
    changed = determinism.glued(_notebook({}, [{**row, "paper_value": "slower"}]))
    assert determinism.compare(first, changed) == ["ledger row 1 (time of the two modes)"]

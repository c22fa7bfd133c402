"""generalization.book.full_scale: results recorded at full scale, with provenance and staleness."""

import json
import sys
import types
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


PAGE = """---
kernelspec: {name: python3, display_name: Python 3}
---
# A chapter

Some prose.

```{code-cell} python
:tags: [remove-cell]
from generalization import linear
x = 1
```
"""


def _row(quantity, ours, paper=1.0, spread=None, scale="quick"):
    from generalization.book.ledger import Ledger

    ledger = Ledger()
    ledger.add(
        paper="hastie2022surprises", quantity=quantity, paper_value=paper,
        source="formula (Theorem 1)", our_value=ours, scale=scale, seeds=[0, 1],
        spread=spread, run_time_s=1.0,
    )  # fmt: skip
    return ledger.rows[0]


def _page(tmp_path, text=PAGE):
    page = tmp_path / "book" / "part2" / "min_norm.md"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(text)
    return tmp_path / "book"


def test_a_page_key_follows_the_code_cells_not_the_prose(tmp_path):
    book = _page(tmp_path)
    key = full_scale.page_key(book / "part2" / "min_norm.md")
    _page(tmp_path, PAGE.replace("Some prose.", "Other prose, 12 words."))
    assert full_scale.page_key(book / "part2" / "min_norm.md") == key
    _page(tmp_path, PAGE.replace("x = 1", "x = 2"))
    assert full_scale.page_key(book / "part2" / "min_norm.md") != key
    # the package code the cells import is part of it: another module, another key
    _page(tmp_path, PAGE.replace("import linear", "import kernels"))
    assert full_scale.page_key(book / "part2" / "min_norm.md") != key


def test_a_recorded_page_ledger_is_stale_when_the_page_code_changes(tmp_path):
    book = _page(tmp_path)
    key = full_scale.current_key(MODULE, "page", book)
    results = {"ledger": [_row("risk", 0.9, scale="full")]}
    full_scale.record(MODULE, results, 5.0, key=key, directory=tmp_path, key_kind="page")
    assert json.loads((tmp_path / "part2" / "min_norm.json").read_text())["key_kind"] == "page"
    assert not full_scale.load(MODULE, directory=tmp_path, book_dir=book).stale
    _page(tmp_path, PAGE.replace("x = 1", "x = 3"))
    assert full_scale.load(MODULE, directory=tmp_path, book_dir=book).stale


def test_a_page_recording_must_hold_ledger_rows(tmp_path):
    for results in ({}, {"ledger": []}, {"errors": [1.0]}):
        with pytest.raises(ValueError, match="must be \\{'ledger': \\[rows\\]\\}"):
            full_scale.record(MODULE, results, 1.0, key="0" * 64, directory=tmp_path,
                              key_kind="page")  # fmt: skip
    with pytest.raises(ValueError, match="key_kind must be one of"):
        full_scale.record(MODULE, {}, 1.0, directory=tmp_path, key_kind="chapter")


_Chapter = types.ModuleType(MODULE)
_Chapter.settings = lambda scale=None: {}


def test_comparison_sets_each_recorded_row_beside_this_builds(tmp_path):
    from generalization.book.ledger import Ledger

    book = _page(tmp_path)
    ledger = Ledger()
    ledger.rows += [_row("risk at 0.5", 0.99, spread=0.11), _row("quick only", 3.0)]
    assert "Not recorded yet" in full_scale.comparison(ledger, _Chapter, tmp_path, book)
    assert "make full CHAPTER=book/part2/min_norm.md" in full_scale.comparison(
        ledger, _Chapter, tmp_path, book
    )
    recorded = [
        _row("risk at 0.5", 1.01, spread=0.02, scale="full"),
        _row("full only", 7.0, paper=2.0, scale="full"),
    ]
    key = full_scale.current_key(MODULE, "page", book)
    full_scale.record(
        MODULE, {"ledger": recorded}, 90.0, key=key, directory=tmp_path, key_kind="page"
    )
    text = full_scale.comparison(ledger, _Chapter, tmp_path, book)
    lines = text.splitlines()
    assert lines[0].startswith("Recorded at full scale on 20") and "Stale" not in lines[0]
    assert "| Ours, this build (quick) | Ours, full scale |" in lines[2]
    body = lines[4:]
    assert len(body) == 3
    assert body[0].endswith("| risk at 0.5 | 1 | formula (Theorem 1) | 0.99 ± 0.11 | 1.01 ± 0.02 |")
    assert body[1].endswith("| quick only | 1 | formula (Theorem 1) | 3 | – |")
    assert body[2].endswith("| full only | 2 | formula (Theorem 1) | – | 7 |")


def test_comparison_shows_both_paper_values_when_a_formula_depends_on_the_scale(tmp_path):
    from generalization.book.ledger import Ledger

    book = _page(tmp_path)
    ledger = Ledger()
    ledger.rows.append(_row("bound", 0.5, paper=0.25))
    key = full_scale.current_key(MODULE, "page", book)
    recorded = {"ledger": [_row("bound", 0.2, paper=0.125, scale="full")]}
    full_scale.record(MODULE, recorded, 1.0, key=key, directory=tmp_path, key_kind="page")
    text = full_scale.comparison(ledger, _Chapter, tmp_path, book)
    assert "| 0.25 (this build); 0.125 (full scale) |" in text


def test_comparison_of_a_chapter_without_scales_and_of_a_bad_module(tmp_path):
    from generalization.book.ledger import Ledger

    Exact = types.ModuleType("generalization.chapters.part3.parametrization")
    assert "same numbers at every scale" in full_scale.comparison(Ledger(), Exact, tmp_path)
    with pytest.raises(ValueError, match="module must be a chapter module"):
        full_scale.comparison(Ledger(), "min_norm", tmp_path)


def test_make_full_reads_the_ledger_glued_in_an_executed_notebook():
    import nbformat

    from generalization.book.ledger import MIMETYPE

    rows = [_row("risk", 1.0)]
    glued = nbformat.v4.new_output(
        "display_data",
        data={"application/papermill.record/" + MIMETYPE: {"rows": rows}},
        metadata={"scrapbook": {"name": "ledger", "mime_prefix": "application/papermill.record/"}},
    )
    other = nbformat.v4.new_output("stream", text="hello")
    cell = nbformat.v4.new_code_cell("ledger.glue()", outputs=[other, glued])
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# x"), cell])
    assert run_full.glued_ledger(notebook, MIMETYPE) == rows
    cell.outputs = [other]
    with pytest.raises(ValueError, match="must glue its ledger under 'ledger'"):
        run_full.glued_ledger(notebook, MIMETYPE)


def test_comparison_pairs_a_quantity_whose_size_differs_between_the_scales(tmp_path):
    from generalization.book.ledger import Ledger

    book = _page(tmp_path)
    ledger = Ledger()
    ledger.rows += [_row("risk, n = 800", 0.5), _row("risk at p/n = 0.5", 1.0),
                    _row("risk at p/n = 2", 1.5)]  # fmt: skip
    recorded = [_row("risk, n = 1,600", 0.25, scale="full"), _row("risk at p/n = 2", 1.4)]
    key = full_scale.current_key(MODULE, "page", book)
    full_scale.record(
        MODULE, {"ledger": recorded}, 1.0, key=key, directory=tmp_path, key_kind="page"
    )
    body = full_scale.comparison(ledger, _Chapter, tmp_path, book).splitlines()[4:]
    assert len(body) == 3  # the sizes paired; p/n = 0.5 and 2 are not the same quantity
    assert "| risk, n = 800; at full scale: risk, n = 1,600 |" in body[0]
    assert body[0].endswith("| 0.5 | 0.25 |")
    assert body[1].endswith("| 1 | – |") and body[2].endswith("| 1.5 | 1.4 |")


def test_how_a_page_shows_its_recording_is_not_part_of_its_key(tmp_path, monkeypatch):
    from generalization.book import cache

    shown = "import linear\nfrom generalization.book import full_scale"
    text = PAGE.replace("import linear", shown)
    page = _page(tmp_path, text) / "part2" / "min_norm.md"
    key = full_scale.page_key(page)
    original = cache.CodeIndex.text

    def edited(target):
        def text(self, name):
            return original(self, name) + ("\n# edited" if name == target else "")

        return text

    monkeypatch.setattr(cache.CodeIndex, "text", edited("generalization.book.full_scale"))
    assert full_scale.page_key(page) == key
    monkeypatch.setattr(cache.CodeIndex, "text", edited("generalization.linear"))
    assert full_scale.page_key(page) != key


def test_uncommitted_changes_count_only_in_the_files_the_key_covers():
    files = {p.as_posix() for p in map(Path, full_scale.covered_files(MODULE, "page"))}
    names = {f.rsplit("/", 2)[-2] + "/" + f.rsplit("/", 1)[-1] for f in files}
    assert {"part2/min_norm.md", "part2/min_norm.py", "generalization/linear.py"} <= names
    assert "main/requirements.txt" in names or any(f.endswith("requirements.txt") for f in files)
    assert not any(f.endswith(("kernels.py", "cite.py", "full_scale.py")) for f in files)
    module_files = {Path(p).name for p in full_scale.covered_files(MODULE, "module")}
    assert "min_norm.md" not in module_files and "min_norm.py" in module_files

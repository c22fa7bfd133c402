import json

import pytest

from generalization.book import ledger as ledger_module
from generalization.book.ledger import FIELDS, MIMETYPE, Ledger


def make(**overrides):
    row = dict(
        paper="zhang2017understanding",
        quantity="test error",
        paper_value=1.2,
        source="Section 5",
        our_value=1.31,
        unit="%",
        scale="quick",
        seeds=[0, 1, 2],
        spread=0.05,
        run_time_s=12.5,
    )
    row.update(overrides)
    ledger = Ledger()
    ledger.add(**row)
    return ledger


def test_row_holds_every_field_and_is_json():
    ledger = make(note="smaller subset")
    (row,) = ledger.rows
    assert tuple(row) == FIELDS
    assert row["seeds"] == [0, 1, 2] and row["note"] == "smaller subset"
    bundle = ledger._repr_mimebundle_()
    assert json.loads(json.dumps(bundle[MIMETYPE])) == {"rows": [row]}


def test_markdown_table_cites_the_paper_and_formats_values():
    text = make().to_markdown()
    lines = text.splitlines()
    assert lines[0].startswith("| Paper | Quantity | Paper's value | Source | Ours | Unit |")
    assert "Note" not in lines[0]  # empty in every row: left out
    assert "{footcite:t}`zhang2017understanding`" in lines[2]
    assert "| 1.2 | Section 5 | 1.31 | % | quick | 3 (0-2) | 0.05 | 12.5 s |" in lines[2]


def test_strings_and_deterministic_rows_print_cleanly():
    text = make(
        paper_value="about 1.2", seeds="none (exact)", spread=None, unit="", run_time_s=0.0004
    ).to_markdown()
    assert "| about 1.2 | Section 5 | 1.31 | quick | none (exact) | n/a | < 1 ms |" in text
    assert "Unit" not in text


def test_pipes_in_text_are_escaped():
    assert "a \\| b" in make(quantity="a | b").to_markdown()


@pytest.mark.parametrize(
    "override, message",
    [
        ({"paper": "two words"}, "paper must be a BibTeX key"),
        ({"quantity": ""}, "quantity must be a non-empty string"),
        ({"scale": "medium"}, "scale must be one of"),
        ({"seeds": []}, "seeds must be a non-empty sequence of integers"),
        ({"seeds": [0.5]}, "seeds must be a non-empty sequence of integers"),
        ({"seeds": None}, "seeds must be a sequence of integers or a string"),
        ({"spread": -1}, "spread must be non-negative"),
        ({"our_value": float("nan")}, "our_value must be finite"),
        ({"paper_value": True}, "paper_value must be a number or a string; got the bool"),
        ({"run_time_s": "fast"}, "run_time_s must be a non-negative number"),
    ],
)
def test_bad_rows_are_rejected(override, message):
    with pytest.raises(ValueError, match=message):
        make(**override)


def test_empty_ledger_cannot_be_shown():
    with pytest.raises(ValueError, match="no rows"):
        Ledger().to_markdown()
    with pytest.raises(ValueError, match="digits must be an integer from 1 to 17; got 0"):
        Ledger(digits=0)


def test_headers_match_fields():
    # one column per field but the source's kind, which is derived from the source
    assert len(ledger_module.HEADERS) == len(FIELDS) - 1


@pytest.mark.parametrize(
    "source, kind",
    [
        ("Table 6", "quoted"),
        ("Figure 1a", "quoted"),
        ("Tables 6 and 7", "quoted"),
        ("Eq. (4)", "quoted"),
        ("abstract, arXiv v1", "quoted"),
        ("read from Figure 2 (± 0.5 points)", "read"),
        ("formula (Theorem 1)", "formula"),
        ("qualitative (Section 3)", "qualitative"),
        ("not run: no offline copy of CIFAR-10", "not run"),
    ],
)
def test_each_form_of_source_has_its_kind(source, kind):
    assert ledger_module.source_kind(source) == kind
    (row,) = make(source=source).rows
    assert row["source"] == source and row["source_kind"] == kind


@pytest.mark.parametrize(
    "source",
    ["", "figure only", "Table", "see the paper", "formula", "read from Figure 2", "not run", None],
)
def test_a_row_without_a_source_of_the_standard_is_refused(source):
    with pytest.raises(ValueError, match="source must be a location in the paper"):
        make(source=source)


def test_figure_only_is_not_a_paper_value():
    with pytest.raises(ValueError, match="paper_value must be the paper's number"):
        make(paper_value="figure only", source="Figure 2")


def test_the_source_is_a_column_of_the_table():
    text = make(source="Table 3").to_markdown()
    assert "| Paper's value | Source | Ours |" in text and "| 1.2 | Table 3 | 1.31 |" in text

"""The notation page gives each symbol one meaning, used by every chapter it lists.

``book/notation.md`` lists the book's symbols in tables with the columns Symbol, Meaning and
Chapters; its last table (Symbol, Second meaning, Chapters) lists the letters that still mean
something else in some chapters. The tests parse the tables and check that

* every chapter a row links to is a chapter of the book, named by its title;
* no symbol is listed twice in the notation tables, and every letter of the last table is one
  of theirs;
* each symbol occurs in the mathematics of every chapter listed for it. A symbol is compared
  by its letter or command, without decorations, subscripts or arguments (``\\hat w_\\lambda``
  is ``w``, ``k(x, z)`` is ``k``), so renaming or removing it in a chapter fails the test
  until the page follows.

The mathematics of a chapter is what lies between dollar signs or in ``{math}`` blocks of its
markdown, exercises and solutions included; code cells, whose figures and printed output the
text must agree with but which are not its notation, are left out.
"""

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "book" / "notation.md"
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
CHAPTERS = {
    c["file"] for part in TOC["parts"] if part.get("numbered") for c in part["chapters"]
}  # "book/partN/<chapter>.md"
NOTATION = ("Symbol", "Meaning", "Chapters")
SECOND = ("Symbol", "Second meaning", "Chapters")

GROUPS = "mathcal|mathbb|mathbf|mathrm|operatorname|text"
TOKEN = re.compile(
    r"[A-Za-z]_\\(?:text|mathrm)\{[^{}]*\}"  # V_\text{noise}: a letter named by its subscript
    rf"|\\(?:{GROUPS})\{{[^{{}}]*\}}"  # \mathcal{D}, \operatorname{Var}, \text{...}: whole
    r"|\\[A-Za-z]+"  # \lambda, \hat
    r"|[A-Za-z]"
)
DECORATIONS = {r"\hat", r"\bar", r"\tilde", r"\lVert", r"\left", r"\big", r"\Big"}


def tokens(math):
    """The letters and commands of a piece of LaTeX, groups such as ``\\mathcal D`` whole."""
    math = re.sub(rf"\\({GROUPS})\s*\{{\s*([^{{}}]*?)\s*\}}", r"\\\1{\2}", math)
    math = re.sub(r"\\(mathcal|mathbb|mathbf|mathrm)\s+([A-Za-z])", r"\\\1{\2}", math)
    return [t for t in TOKEN.findall(math) if not t.startswith(r"\text{")]


def key(symbol):
    """What a symbol is compared by: its first letter or command, undecorated."""
    found = [t for t in tokens(symbol) if t not in DECORATIONS]
    assert found, f"no letter in the symbol {symbol!r}"
    return found[0]


def math_of(text):
    """The mathematics of a MyST page: inline, display and ``{math}`` blocks, no code cells."""
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)
    text = re.sub(r"^(`{3,}|~{3,})\{code-cell\}.*?^\1[ \t]*$", "", text, flags=re.S | re.M)
    blocks = re.findall(r"^(`{3,}|:{3,})\{math\}[^\n]*\n(.*?)^\1", text, flags=re.S | re.M)
    display = re.findall(r"\$\$(.*?)\$\$", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)
    inline = re.findall(r"(?<!\\)\$((?:[^$\\]|\\.)+?)\$", text, flags=re.S)
    return "\n".join([body for _, body in blocks] + display + inline)


def tables(text):
    """``(header, rows)`` for each markdown table; a row is its list of cells."""
    found = []
    for block in re.findall(r"(?:^\|.*\|[ \t]*\n?)+", text, flags=re.M):
        lines = block.strip().splitlines()
        header, rows = split(lines[0]), [split(line) for line in lines[2:]]
        found.append((tuple(header), rows))
    return found


def split(line):
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse():
    """``(notation rows, second-meaning rows)``; a row is ``(symbols, [(title, target)])``."""
    notation, second = [], []
    for header, rows in tables(PAGE.read_text()):
        assert header in (NOTATION, SECOND), f"notation.md: unexpected table {header}"
        for cells in rows:
            assert len(cells) == 3, f"notation.md: a row needs three cells, got {cells}"
            symbols = re.findall(r"\$([^$]+)\$", cells[0])
            links = re.findall(r"\[([^\]]+)\]\(([^)]+)\)", cells[2])
            assert symbols and links, f"notation.md: a row needs a symbol and a chapter: {cells}"
            (notation if header == NOTATION else second).append((symbols, links))
    return notation, second


NOTATION_ROWS, SECOND_ROWS = parse()
ROWS = [("notation", row) for row in NOTATION_ROWS] + [("second", row) for row in SECOND_ROWS]
MATH = {name: tokens(math_of((ROOT / name).read_text())) for name in CHAPTERS}


def chapter_of(target):
    """The chapter a link of the page points to, as ``book/partN/<chapter>.md``."""
    return (PAGE.parent / target).resolve().relative_to(ROOT).as_posix()


def test_the_page_is_in_the_book_and_is_plain_markdown():
    text = PAGE.read_text()
    files = [c["file"] for part in TOC["parts"] for c in part["chapters"]]
    assert "book/notation.md" in files, "_toc.yml must list book/notation.md"
    assert not text.startswith("---"), "the notation page is markdown, not a notebook"
    assert "{code-cell}" not in text
    assert re.search(r"^# Notation$", text, re.M)
    assert NOTATION_ROWS and SECOND_ROWS


@pytest.mark.parametrize("target", sorted({t for _, (_, links) in ROWS for _, t in links}), ids=str)
def test_every_linked_chapter_exists_and_is_named_by_its_title(target):
    name = chapter_of(target)
    assert name in CHAPTERS, f"notation.md links to {target}, which is not a chapter"
    title = re.search(r"^# (.+)$", (ROOT / name).read_text(), re.M).group(1).strip()
    texts = {text for _, (_, links) in ROWS for text, t in links if t == target}
    assert texts == {title}, f"links to {target} should read {title!r}, not {texts}"


def test_each_symbol_is_listed_once():
    listed = Counter(" ".join(s.split()) for symbols, _ in NOTATION_ROWS for s in symbols)
    assert [s for s, count in listed.items() if count > 1] == []


def test_every_second_meaning_belongs_to_a_listed_letter():
    keys = {key(s) for symbols, _ in NOTATION_ROWS for s in symbols}
    for symbols, _ in SECOND_ROWS:
        for symbol in symbols:
            assert key(symbol) in keys, f"{symbol} has a second meaning but no first one"


@pytest.mark.parametrize(
    ("table", "row"), ROWS, ids=[f"{table}:{', '.join(row[0])}" for table, row in ROWS]
)
def test_each_symbol_is_used_by_the_chapters_listed_for_it(table, row):
    symbols, links = row
    for _, target in links:
        name = chapter_of(target)
        for symbol in symbols:
            assert key(symbol) in MATH[name], (
                f"notation.md ({table} table) lists {symbol} for {name}, whose mathematics "
                f"has no {key(symbol)}: rename it on the page or drop the chapter"
            )


def test_the_comparison_drops_decorations_and_sees_renames():
    page = (
        "---\njupytext: 1\n---\n# A page\n\n$\\hat w_\\lambda$ and $V_\\text{noise}$ with\n"
        "$$\\mathcal D, \\operatorname{Var} f$$\n"
        "```{code-cell} python\nx = '$\\eta$'\n```\n\n"
        "```{exercise}\nShow $k(x, z) \\ge 0$ and\n"
        "$\\mathbb E\\,\\tau_i \\text{ for all } i$.\n```\n"
    )
    found = set(tokens(math_of(page)))
    for symbol in (r"\hat w", r"w_0", r"\lambda_i", r"V_\text{noise}", r"\mathcal D", "k(x, z)"):
        assert key(symbol) in found, symbol
    for symbol in (r"\operatorname{Var}", r"\mathbb E", r"\tau_i", "f"):
        assert key(symbol) in found, symbol
    assert key(r"\eta") not in found, "code cells are not the chapter's notation"
    assert key(r"V_\text{init}") not in found and key("V") not in found
    assert "o" not in found, "the words of \\text{...} are not letters"

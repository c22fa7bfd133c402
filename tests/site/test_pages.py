"""The built site, as a reader's browser sees it: math rendered, figures loaded, citations
resolved, nothing fetched from outside the machine. Screenshots go to _build/screenshots/."""

import json
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def toc_chapters():
    """Every chapter listed in _toc.yml under a numbered part: each is checked below."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [
        str(Path(chapter["file"]).with_suffix(".html"))
        for part in toc["parts"]
        if part.get("numbered")
        for chapter in part["chapters"]
    ]


CHAPTERS = toc_chapters()
PAGES = [
    "book/intro.html",
    "book/ledger.html",
    "book/reproducibility.html",
    "book/api/index.html",
    "book/api/kernel_solver.html",
] + CHAPTERS


# pydata-sphinx-theme logs this once when a fresh browser profile has no stored theme mode.
BENIGN_CONSOLE = ("Got invalid theme mode: . Resetting to auto.",)


def wait_for_math(page):
    page.wait_for_function(
        "() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise)"
    )
    page.evaluate("() => window.MathJax ? window.MathJax.startup.promise : null")


def local_only(requests, server):
    host = urlparse(server).netloc
    return [
        url
        for url in requests
        if urlparse(url).scheme in ("http", "https", "ws", "wss") and urlparse(url).netloc != host
    ]


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_everything_locally(open_page, server, screenshots, path):
    page, requests, errors = open_page(path)
    wait_for_math(page)
    assert local_only(requests, server) == [], "requests left the machine"
    assert [e for e in errors if e not in BENIGN_CONSOLE] == [], f"console errors on {path}"
    broken = page.evaluate(
        "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i "
        "=> i.src)"
    )
    assert broken == []
    page.screenshot(path=str(screenshots / (path.replace("/", "_") + ".png")), full_page=True)


def test_root_redirects_to_the_introduction(open_page):
    page, _, _ = open_page("index.html")
    page.wait_for_url("**/book/intro.html")
    assert page.locator("h1").first.inner_text().startswith("Why Deep Learning Generalizes")


@pytest.mark.parametrize("path", CHAPTERS)
def test_chapter_math_figures_and_citations(open_page, path):
    page, _, _ = open_page(path)
    wait_for_math(page)
    math = page.locator("mjx-container").count()
    assert math >= 5, f"only {math} formulas rendered by MathJax"
    assert page.locator("mjx-merror").count() == 0, "MathJax reported a TeX error"
    assert page.locator("span.math, div.math").filter(has_text="\\(").count() == 0
    figures = page.locator("figure img")
    assert figures.count() >= 1
    for i in range(figures.count()):
        box = figures.nth(i).bounding_box()
        assert box["width"] >= 400, "figure narrower than the text column allows to read"
    # Every citation links to an entry of this page's own reference list.
    targets = page.evaluate(
        "() => Array.from(document.querySelectorAll('a.footnote-reference')).map(a => "
        "a.getAttribute('href'))"
    )
    assert targets, "no citations found"
    for href in targets:
        assert href.startswith("#") and page.locator(f"[id='{href[1:]}']").count() == 1, href
    # The page states its scale and ends with its reproduction ledger.
    text = page.inner_text("main")
    assert "executed at scale" in text and "Reproduction ledger" in text


def test_parametrization_glued_numbers(open_page):
    page, _, _ = open_page("book/part3/parametrization.html")
    assert "499.1" in page.inner_text("main")  # f2's prediction after the step, glued


def test_ledger_page_and_json(open_page, site_root):
    rows = json.loads((site_root / "ledger.json").read_text())
    chapter_rows = [row for row in rows if row["chapter"] == "book/part3/parametrization"]
    assert len(chapter_rows) == 4
    for row in chapter_rows:
        assert {
            "paper",
            "quantity",
            "paper_value",
            "our_value",
            "unit",
            "scale",
            "seeds",
            "spread",
            "run_time_s",
            "note",
            "chapter",
        } <= set(row)
        assert row["paper_value"] == row["our_value"]
    page, _, _ = open_page("book/ledger.html")
    table = page.locator("table.ledger-table")
    assert table.locator("tbody tr").count() == len(rows)
    assert table.get_by_text("Parametrization matters").count() == 4
    for chapter in CHAPTERS:  # every chapter contributes rows
        assert any(row["chapter"] + ".html" == chapter for row in rows), chapter


def test_execution_table_lists_every_chapter(open_page):
    page, _, _ = open_page("book/reproducibility.html")
    text = page.inner_text("main")
    for chapter in CHAPTERS:
        assert chapter.removesuffix(".html") in text

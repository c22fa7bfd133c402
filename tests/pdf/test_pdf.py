"""Checks of the printed book, ``_build/pdf/why-deep-learning-generalizes.pdf`` (``make pdf``).

The PDF is read with poppler's command-line tools (``pdfinfo``, ``pdftotext``, ``pdftoppm``),
independently of the browser that printed it. Its first pages and a page with a figure are
rendered to ``_build/screenshots/pdf-*.png`` to be looked at.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PDF = ROOT / "_build" / "pdf" / "why-deep-learning-generalizes.pdf"
SCREENSHOTS = ROOT / "_build" / "screenshots"


def _tool(name):
    if shutil.which(name) is None:
        message = (
            f"{name} is missing: install poppler-utils "
            "(apt-get update && apt-get install -y poppler-utils)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message + " (a skip only outside CI, where .ci/run installs it)")
    return name


@pytest.fixture(scope="module")
def pdf():
    if not PDF.exists():
        pytest.fail(f"{PDF} does not exist: run `make pdf` first.")
    return PDF


@pytest.fixture(scope="module")
def manifest(pdf):
    return json.loads((pdf.parent / "manifest.json").read_text())


@pytest.fixture(scope="module")
def text(pdf):
    out = subprocess.run(
        [_tool("pdftotext"), "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True
    )
    return out.stdout.decode("utf8")


def _flat(text):
    return " ".join(text.replace("\u00ad", "").split())


def toc_documents():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    docs = []

    def visit(entries):
        for entry in entries:
            docs.append(entry["file"])
            visit(entry.get("sections", []))

    for part in toc["parts"]:
        visit(part["chapters"])
    return docs


def title_of(source):
    for line in (ROOT / source).read_text(encoding="utf8").splitlines():
        if line.startswith("# "):
            return line[2:].strip().replace("`", "")
    raise AssertionError(f"{source} has no title")


def test_page_count(pdf, manifest):
    info = subprocess.run([_tool("pdfinfo"), str(pdf)], capture_output=True, text=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    # a title page, contents, a title page per part and at least a page per document
    assert pages >= 2 + manifest["parts"] + manifest["documents"]
    assert pages < 1000
    assert "A4" in info and "Tagged:          yes" in info


def test_title_page_names_the_build(text, manifest):
    first = _flat(text.split("\f")[0])
    assert "Why Deep Learning Generalizes" in first
    assert f"commit {manifest['commit']}" in first and manifest["date"] in first
    assert "CC BY 4.0" in first and "MIT" in first


def test_every_document_of_the_book_is_in_the_contents_and_printed(text, manifest):
    documents = toc_documents()
    assert manifest["documents"] == len(documents)  # the root, the introduction, comes first
    assert manifest["listed"] == manifest["documents"]
    flat = _flat(text)
    top_level = [e["file"] for p in yaml.safe_load((ROOT / "_toc.yml").read_text())["parts"]
                 for e in p["chapters"]]  # fmt: skip
    # the contents start on the second page and run until the page that lists the last
    # top-level document; with 26 chapters they fill two pages
    pages, last = text.split("\f"), title_of(top_level[-1])
    end = next(i for i in range(1, len(pages)) if last in _flat(pages[i]))
    assert end <= 3, f"the contents should fill at most three pages, not {end}"
    contents = _flat(" ".join(pages[1 : end + 1]))
    assert contents.startswith("Contents")
    for source in documents:
        title = title_of(source)
        assert title in flat, f"{title!r} ({source}) is not in the PDF"
        if source in top_level:
            assert title in contents, f"{title!r} is not in the table of contents"
    for part in yaml.safe_load((ROOT / "_toc.yml").read_text())["parts"]:
        assert part["caption"] in flat


def test_no_unresolved_reference_and_no_raw_tex(text):
    assert "??" not in text
    for raw in ("\\frac", "\\lambda", "\\mathbb", "$$", "{footcite", "{glue"):
        assert raw not in text, f"{raw!r} printed: math or a role was not rendered"


def test_figures_are_embedded(pdf, text, manifest):
    data = pdf.read_bytes()
    objects = len(re.findall(rb"/Subtype\s*/(?:Form|Image)", data))
    assert manifest["figures"] >= 11  # at least one per chapter
    assert objects >= manifest["figures"]
    captions = set(re.findall(r"Fig\. (\d+\.\d+)", text))
    assert len(captions) >= manifest["figures"] - 2  # every numbered figure's caption


def test_ledger_and_bibliography_are_printed(text):
    flat = _flat(text)
    assert "Reproduction ledger" in flat and "Table 3" in flat
    assert "Cited in:" in flat


def test_render_pages_to_look_at(pdf, text):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages = text.split("\f")
    figure_page = next(i for i, page in enumerate(pages) if "Fig. 5." in page) + 1
    for first, name in ((1, "pdf-title"), (2, "pdf-contents"), (figure_page, "pdf-figure")):
        subprocess.run(
            [_tool("pdftoppm"), "-r", "80", "-png", "-singlefile", "-f", str(first), "-l",
             str(first), str(pdf), str(SCREENSHOTS / name)],
            check=True,
        )  # fmt: skip
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000

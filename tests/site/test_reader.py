"""What a reader and an instructor use besides the chapters, checked in the built site:
citing a chapter, downloading it, the footer's build stamp, the PDF link, search, dark mode,
alt texts and heading order, and the Claims, Bibliography and Notation pages."""

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from pybtex.database import parse_string
from test_pages import CHAPTERS, PAGES, ROOT, wait_for_math

READER_PAGES = PAGES + ["book/claims.html", "book/bibliography.html", "book/notation.html"]


def git_commit():
    return subprocess.run(
        ["git", "rev-parse", "--short=7", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()


def footer_stamp(page):
    return page.locator("p.build-stamp").inner_text()


@pytest.mark.parametrize("path", READER_PAGES)
def test_footer_names_the_build_and_the_licences(open_page, path):
    page, _, _ = open_page(path)
    stamp = " ".join(footer_stamp(page).split())
    commit = re.search(r"commit ([0-9a-f]{7})", stamp)
    assert commit and commit.group(1) == git_commit(), stamp
    assert re.search(r"version \d+\.\d+\.\d+", stamp)
    assert re.search(r"built \d{4}-\d{2}-\d{2} at (quick|full) scale", stamp)
    assert "CC BY 4.0" in stamp and "MIT" in stamp


@pytest.mark.parametrize("path", CHAPTERS)
def test_cite_this_chapter(open_page, path):
    page, _, _ = open_page(path)
    box = page.locator("details.cite-chapter")
    assert box.count() == 1 and box.get_attribute("open") is None, "collapsed by default"
    box.locator("summary").click()
    bibtex = box.locator("pre.cite-bibtex").inner_text()
    entries = parse_string(bibtex, "bibtex").entries
    assert len(entries) == 1
    entry = next(iter(entries.values()))
    heading = page.locator("article.bd-article h1").first.inner_text()
    number, title = re.match(r"(\d+)\.\s+(.*?)\s*#?$", heading).groups()
    assert entry.type == "incollection"
    assert entry.fields["title"] == "{" + title + "}"
    assert entry.fields["chapter"] == number
    assert entry.fields["booktitle"] == "{Why Deep Learning Generalizes}"
    assert f"commit {git_commit()}" in entry.fields["version"]
    assert entry.fields["url"].endswith("/" + path)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert [str(p).strip("{}") for p in entry.persons["author"]] == config["author"].split(" and ")
    text = box.locator("p.cite-text").inner_text()
    assert title in text and git_commit() in text
    # the download link gives the same entry
    href = box.locator("a.cite-bib").get_attribute("href")
    response = page.request.get(page.url.rsplit("/", 1)[0] + "/" + href)
    assert response.ok and response.text() == bibtex.strip() + "\n"


@pytest.mark.parametrize("path", CHAPTERS)
def test_downloads_and_how_to_run(open_page, path):
    page, _, _ = open_page(path)
    base = page.url.rsplit("/", 1)[0] + "/"
    source = Path(path).with_suffix(".md")
    md = page.request.get(base + page.locator("a.download-source").get_attribute("href"))
    assert md.ok and md.text() == (ROOT / source).read_text(encoding="utf8")
    ipynb = page.request.get(base + page.locator("a.download-notebook").get_attribute("href"))
    assert ipynb.ok
    notebook = nbformat.read(io.StringIO(ipynb.text()), as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count for cell in code), "every code cell was executed"
    # the notebook holds what the page shows: its figures and its printed output
    images = [
        out
        for cell in code
        for out in cell.outputs
        if {"image/svg+xml", "image/png"} & set(out.get("data", {}))
    ]
    assert len(images) == page.locator("figure img").count()
    assert any(out.get("name") == "stdout" or "text/plain" in out.get("data", {})
               for cell in code for out in cell.outputs)  # fmt: skip
    run = " ".join(page.locator("div.run-chapter").inner_text().split())
    assert f"make chapter CHAPTER={source.as_posix()}" in run and "make venv data" in run
    assert re.search(r"executed in \d+(\.\d)? s", run), run


def test_the_introduction_links_the_pdf(open_page):
    page, _, _ = open_page("book/intro.html")
    href = page.locator("a.book-pdf").get_attribute("href")
    response = page.request.get(page.url.rsplit("/", 1)[0] + "/" + href)
    assert response.ok, "the PDF is not in the site: run `make pdf` (make test does)"
    assert response.body()[:5] == b"%PDF-"


@pytest.mark.parametrize(
    "query, expected",
    [
        (
            "double descent",
            ["book/part2/double_descent.html", "book/part2/deep_double_descent.html"],
        ),
        ("Cholesky", ["book/api/cholesky.html", "book/part2/kernel_mnist.html"]),
    ],
)
def test_search_finds_the_right_chapters(open_page, screenshots, query, expected):
    page, _, _ = open_page("book/intro.html")
    page.locator("button.search-button__button").first.click()
    field = page.locator("input[name='q']:visible").first
    field.fill(query)
    field.press("Enter")
    page.wait_for_url("**/search.html?q=*")
    # Sphinx adds the results one by one and then says the search finished
    page.wait_for_function(
        "() => { const s = document.querySelector('#search-results p.search-summary');"
        " return s && /finished|found/i.test(s.innerText); }"
    )
    links = page.evaluate(
        "() => Array.from(document.querySelectorAll('#search-results ul.search li a'))"
        ".map(a => new URL(a.href).pathname)"
    )
    found = [link.lstrip("/") for link in links]
    for target in expected:
        assert target in found, f"{query!r}: {target} not among {found[:10]}"
    page.screenshot(path=str(screenshots / f"search_{query.replace(' ', '_')}.png"))


def _ink(png):
    """The luminance (0 black, 1 white) of a figure's background, read as the median of the
    pixels on a frame just inside its edge (the theme frames images in dark mode), and the
    fraction of its pixels that are dark ink (luminance < 0.4)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    width, height = image.size
    pixels = image.load()
    # the theme's dark-mode frame is 8 px wide: read the frame at least 4 px inside it, also
    # for figures too short for height // 30 to clear it (a strip of images, 141 px high)
    dx, dy = max(12, width // 30), max(12, height // 30)
    border = [pixels[x, y] for x in range(dx, width - dx) for y in (dy, height - 1 - dy)]
    border += [pixels[x, y] for y in range(dy, height - dy) for x in (dx, width - 1 - dx)]
    background = sorted(border)[len(border) // 2] / 255
    histogram = image.histogram()
    dark = sum(histogram[:102]) / (width * height)
    return background, dark


@pytest.mark.parametrize("path", CHAPTERS)
def test_dark_mode_keeps_figures_legible(open_page, screenshots, path):
    page, _, _ = open_page(path)
    page.evaluate("() => localStorage.setItem('mode', 'dark')")
    page.reload(wait_until="networkidle")
    wait_for_math(page)
    assert page.evaluate("() => document.documentElement.dataset.theme") == "dark"
    background = page.evaluate(
        "() => getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number)"
    )
    assert sum(background[:3]) / 3 < 80, "the page itself is dark"
    figures = page.locator("figure img")
    for i in range(figures.count()):
        figures.nth(i).scroll_into_view_if_needed()
        background, dark = _ink(figures.nth(i).screenshot())
        # an opaque light background with dark lines and text on it, as in light mode
        assert background > 0.7, f"figure {i} of {path}: background {background:.2f} in dark mode"
        assert dark > 0.002, f"figure {i} of {path} shows no dark ink (fraction {dark:.4f})"
    name = path.replace("/", "_").replace(".html", "")
    page.locator("figure").first.screenshot(path=str(screenshots / f"dark_{name}_figure.png"))


@pytest.mark.parametrize("path", READER_PAGES)
def test_images_have_alt_text_and_headings_are_in_order(open_page, path):
    page, _, _ = open_page(path)
    images = page.evaluate(
        "() => Array.from(document.querySelectorAll('main img'))"
        ".map(i => [i.getAttribute('src'), i.getAttribute('alt')])"
    )
    for src, alt in images:
        assert alt and alt.strip(), f"{src} has no alt text"
        assert Path(src).name not in alt and alt != "Figure", f"{src}: alt {alt!r} says nothing"
    levels = page.evaluate(
        "() => Array.from(document.querySelectorAll('article.bd-article h1, article.bd-article "
        "h2, article.bd-article h3, article.bd-article h4, article.bd-article h5, "
        "article.bd-article h6')).map(h => Number(h.tagName[1]))"
    )
    assert levels and levels[0] == 1 and levels.count(1) == 1, levels
    for before, after in zip(levels, levels[1:]):
        assert after <= before + 1, f"heading level jumps from h{before} to h{after}"


def claims_test_names():
    """Every claims test function, as pytest collects them (parameters removed)."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/claims", "--collect-only", "-q", "-p",
         "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return {line.split("[")[0] for line in out.splitlines() if "::" in line}


def test_claims_page_lists_every_claims_test(open_page):
    page, _, _ = open_page("book/claims.html")
    rows = page.evaluate(
        "() => Array.from(document.querySelectorAll('table.claims-table tbody tr'))"
        ".map(r => [r.querySelector('.claim-text').innerText, r.querySelector('.claim-test')"
        ".innerText, r.querySelector('.claim-test a').getAttribute('href')])"
    )
    listed = {}
    for claim, name, href in rows:
        assert claim.strip() and not claim.startswith("(no docstring"), name
        part, stem = re.search(r"_claims/(part\d+)/(test_\w+)\.html#L-\d+$", href).groups()
        listed[f"tests/claims/{part}/{stem}.py::{name.strip()}"] = href
    assert set(listed) == claims_test_names()
    # a link lands on the line of the test's definition
    nodeid, href = next(iter(listed.items()))
    response = page.request.get(page.url.rsplit("/", 1)[0] + "/" + href.split("#")[0])
    line = int(href.rsplit("-", 1)[1])
    source = (ROOT / nodeid.split("::")[0]).read_text().splitlines()[line - 1]
    assert response.ok and source.startswith(f"def {nodeid.split('::')[1]}(")
    summary = page.locator("p.claims-summary").inner_text()
    report = ROOT / "_build" / "claims-report.json"
    if report.exists():
        data = json.loads(report.read_text())
        assert f"commit {data['commit']}" in summary
        outcomes = page.locator("table.claims-table p.claim-outcome").all_inner_texts()
        assert len(outcomes) == len(rows)
        assert all(o.strip() in ("passed", "skipped", "not in that run") or "of" in o
                   or o.strip() in ("failed", "error") for o in outcomes)  # fmt: skip
    else:
        assert "were not run with this build" in summary


def _normal(text):
    # a chapter's list gets Sphinx's typographic apostrophes, the generated page does not
    return " ".join(text.replace("\u2019", "'").split())


def test_bibliography_lists_each_cited_work_once_with_its_chapters(open_page):
    # the reference lists at the end of the chapters, as the reader sees them
    cited = {}
    for path in ["book/intro.html"] + CHAPTERS:
        page, _, _ = open_page(path)
        for text in page.locator("aside.footnote, div.footnote").all_inner_texts():
            # the entry without its label ([3]) and its back-links ((1,2))
            entry = _normal(re.sub(r"^(\s*(\[?\d+\]?|\([\d,\s]+\)))+\s*", "", text))
            cited.setdefault(entry, set()).add(path)
    assert len(cited) >= 18
    page, _, _ = open_page("book/bibliography.html")
    items = page.locator("li.cited-reference")
    assert items.count() == len(cited), "one entry per cited work"
    for i in range(items.count()):
        item = items.nth(i)
        text = _normal(item.locator("p").first.inner_text())
        matches = [entry for entry in cited if entry == text]
        assert len(matches) == 1, f"{text[:80]!r} is not a work the chapters cite"
        links = item.locator("p.cited-in a").evaluate_all(
            "as => as.map(a => new URL(a.href).pathname.replace(/^\\//, ''))"
        )
        assert set(links) == cited[matches[0]], text[:60]


def test_figures_use_the_colour_blind_safe_palette(site_root):
    """Every colour drawn in the book's figures is one of the Okabe-Ito colours, a grey, or a
    colour of viridis (the one sequential colour map the chapters use)."""
    import matplotlib

    from generalization.book.plotting import OKABE_ITO

    allowed = {colour.lower() for colour in OKABE_ITO.values()}
    viridis = matplotlib.colormaps["viridis"](range(256))[:, :3] * 255

    def acceptable(hex_colour):
        r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        if hex_colour in allowed or max(r, g, b) - min(r, g, b) <= 2:
            return True
        return min(abs(row - (r, g, b)).max() for row in viridis) <= 2

    images = sorted(site_root.glob("_images/*.svg"))
    assert images
    for image in images:
        colours = set(re.findall(r"(?:stroke|fill):\s*(#[0-9a-fA-F]{6})", image.read_text()))
        bad = sorted(c for c in map(str.lower, colours) if not acceptable(c))
        assert bad == [], f"{image.name} draws with {bad}, outside the palette"

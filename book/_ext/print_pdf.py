"""Print the whole book as one PDF: ``make pdf``.

The book is first built as one HTML page (``jupyter-book build . --builder singlehtml``,
with the executed notebooks of the HTML build). Headless Chromium, the browser the site
checks already use, then opens that page, waits until MathJax has typeset every formula,
adds a title page, a table of contents and a title page for each part, and prints it to
``_build/pdf/why-deep-learning-generalizes.pdf`` (A4, page numbers in the footer, the PDF's
outline from the headings). It refuses to print when an image did not load. The PDF is also
copied into the HTML site, where the introduction links to it, and ``manifest.json`` beside
it says what was printed (documents, part pages, figures, commit) for the PDF checks.

Why print the HTML rather than typeset it with LaTeX (jupyter-book's ``pdflatex`` builder):
the printed page is the page readers see online, with the same MathJax, the same glued
numbers, the same HTML ledger tables and the same vector figures. The LaTeX route needs
TeX Live (over a gigabyte of Debian packages) and an SVG converter, and it drops what
myst-nb renders as HTML.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import http.server
import json
import shutil
import sys
import threading
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "code"))

from generalization.book import cite  # noqa: E402

PDF_NAME = "why-deep-learning-generalizes.pdf"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
MISSING = (
    "make pdf needs Chromium, which prints the book: install it with\n"
    "    sudo apt-get update && sudo apt-get install -y chromium\n"
    "(.ci/run installs it on CI)."
)

PRINT_CSS = """
@page { size: A4; margin: 18mm 16mm 18mm 16mm; }
@media print {
  .bd-sidebar-primary, .bd-sidebar-secondary, .bd-header, .bd-header-article,
  .prev-next-footer, .bd-footer, .headerlink, .copybtn, .chapter-tools, .search-button,
  .theme-switch-button, #pst-back-to-top, .sd-tab-set > input { display: none !important; }
  .bd-main .bd-content .bd-article-container { max-width: 100% !important; padding: 0; }
  .bd-page-width { max-width: 100% !important; }
  body { font-size: 10.5pt; }
  figure, .cell_output, table, .math, pre, .admonition, .proof { break-inside: avoid; }
  h1, h2, h3, h4 { break-after: avoid; }
  .print-break { break-before: page; }
  .print-cover { height: 240mm; display: flex; flex-direction: column;
                 justify-content: center; text-align: center; }
  .print-cover h1 { font-size: 30pt; margin-bottom: 6mm; }
  .print-cover .subtitle { font-size: 15pt; margin-bottom: 20mm; }
  .print-cover .stamp { font-size: 10pt; color: #444; }
  .print-part { height: 200mm; display: flex; align-items: center; justify-content: center;
                break-after: page; }
  .print-part h2 { font-size: 26pt; }
  .print-contents { break-after: page; }
  .print-doc { display: block; }
  .print-contents li { margin: 1mm 0; }
  .print-contents .caption { font-weight: bold; margin-top: 4mm; }
  a { color: inherit; text-decoration: none; }
}
"""

# Runs in the page: title page, contents, part pages, a page break before every document.
LAYOUT_JS = """
([cover, parts]) => {
  const article = document.querySelector('article.bd-article');
  const docs = Array.from(article.querySelectorAll('span[id^="document-"]'));
  docs.forEach(span => span.classList.add('print-break', 'print-doc'));
  const partOf = {};
  parts.forEach(p => p.chapters.forEach(c => { partOf[c] = p.caption; }));
  const seen = new Set();
  let partPages = 0;
  for (const span of docs) {
    const caption = partOf[span.id.slice('document-'.length)];
    if (caption && !seen.has(caption)) {
      seen.add(caption);
      const page = document.createElement('div');
      page.className = 'print-part print-break';
      page.innerHTML = '<h2></h2>';  // the theme does not print an article's h1
      page.querySelector('h2').textContent = caption;
      span.parentNode.insertBefore(page, span);
      span.classList.remove('print-break');
      partPages += 1;
    }
  }
  // the theme's print-only block: the book's title and its table of contents
  const front = document.getElementById('jb-print-docs-body');
  const title = front.querySelector(':scope > h1');
  const coverDiv = document.createElement('div');
  coverDiv.className = 'print-cover';
  coverDiv.innerHTML = cover;
  front.insertBefore(coverDiv, title);
  title.remove();
  const contents = front.querySelector('#jb-print-toc');
  contents.classList.add('print-break', 'print-contents');
  // worked solutions are printed open; hidden code cells stay hidden
  document.querySelectorAll('details').forEach(d => {
    if (!d.classList.contains('hide')) { d.open = true; }
  });
  const entries = contents.querySelectorAll('a[href^="#document-"]').length;
  return { documents: docs.length, listed: entries, parts: partPages };
}
"""


def toc_parts(root=ROOT):
    """The captions of ``_toc.yml``'s parts with the document names of their chapters."""
    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text(encoding="utf8"))
    parts = []
    for part in toc.get("parts", []):
        chapters = [entry["file"].rsplit(".", 1)[0] for entry in part.get("chapters", [])]
        parts.append({"caption": part.get("caption", ""), "chapters": chapters})
    return parts


def cover_html():
    book, build = cite.book_metadata(), cite.build_info()
    text, code = cite.LICENSES["text"], cite.LICENSES["code"]
    authors = ", ".join(book.authors)
    return (
        f"<h1>{book.title}</h1>"
        '<p class="subtitle">An executable textbook</p>'
        f"<p>{authors}</p>"
        f'<p class="stamp">Version {book.version}, {build.label}, built {build.date} at '
        f"{build.scale} scale. Every number in this book was computed when it was built.<br>"
        f"Text and figures: {text[1]}; code: {code[1]}.</p>"
    )


def serve(directory):
    handler = functools.partial(_Quiet, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def print_book(html_dir, out, copy_to=None):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit(MISSING)
    page_file = Path(html_dir) / "book" / "intro.html"
    if not page_file.exists():
        raise SystemExit(f"{page_file} is missing: build the single-page book first (make pdf).")
    from playwright.sync_api import sync_playwright

    # singlehtml writes the root document at its own path (book/intro.html) but with every
    # link relative to the site's root: served from the root, they resolve
    shutil.copyfile(page_file, Path(html_dir) / "print.html")
    httpd = serve(html_dir)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, args=CHROMIUM_ARGS, headless=True
            )
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/print.html")
            page.wait_for_load_state("load")
            page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
            page.evaluate("() => MathJax.startup.promise")
            broken = page.evaluate(
                "() => Array.from(document.images)"
                ".filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
            )
            if broken:
                raise SystemExit(f"{len(broken)} images did not load, e.g. {broken[:3]}")
            figures = page.evaluate("() => document.querySelectorAll('figure img').length")
            page.add_style_tag(content=PRINT_CSS)
            laid_out = page.evaluate(LAYOUT_JS, [cover_html(), toc_parts()])
            page.emulate_media(media="print")
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            page.pdf(
                path=str(out),
                format="A4",
                print_background=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=(
                    '<div style="font-size:8pt; width:100%; text-align:center; color:#555;">'
                    '<span class="pageNumber"></span></div>'
                ),
                margin={"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"},
                outline=True,
                tagged=True,
            )
            browser.close()
    finally:
        httpd.shutdown()
    laid_out["figures"] = figures
    manifest = {**laid_out, "pdf": Path(out).name, **dataclasses.asdict(cite.build_info())}
    Path(out).with_name("manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    if copy_to is not None:
        Path(copy_to).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, copy_to)
    return laid_out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", default=str(ROOT / "_build" / "singlehtml"))
    parser.add_argument("--out", default=str(ROOT / "_build" / "pdf" / PDF_NAME))
    parser.add_argument("--copy-to", default=str(ROOT / "_build" / "html" / PDF_NAME))
    args = parser.parse_args(argv)
    laid_out = print_book(args.html, args.out, args.copy_to or None)
    size = Path(args.out).stat().st_size / 1e6
    print(
        f"    printed {laid_out['documents']} documents ({laid_out['listed']} in the contents, "
        f"{laid_out['parts']} part title pages) "
        f"to {args.out} ({size:.1f} MB); copied to {args.copy_to}"
    )


if __name__ == "__main__":
    main()

"""What a reader of a chapter page finds besides the chapter: how to run it, how to cite it,
what to download, and a footer saying which build they are reading.

At every HTML build this extension

* puts, under the title of every numbered chapter (``book/partN/<chapter>``):

  - a "Run this chapter" note: the two commands that run it, and how long its notebook took
    to execute in this build (from myst-nb's execution record);
  - a "Cite this chapter" box (collapsed) with the chapter's BibTeX ``@incollection`` entry,
    its plain-text citation and a link to the entry as a ``.bib`` file;
  - a "Download" box (collapsed) with the chapter's MyST source and its executed notebook;

* writes those files: ``_cite/<docname>.bib`` and ``_notebooks/<docname>.ipynb`` (the notebook
  as this build executed it, outputs included; the MyST source is Sphinx's ``_sources`` copy);
* puts the build stamp in every page's footer: release version, commit, build date, scale
  and the two licences;
* gives every image an ``alt`` text: a figure's caption when it has one (myst-nb leaves the
  file name there otherwise).

Every citation comes from :mod:`generalization.book.cite`. The stamp is a configuration value
that Sphinx compares between builds, so a new commit, day or scale rewrites every page (no
page shows another build's commit) without executing anything again.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

from docutils import nodes
from ledger_collect import doc_title
from sphinx.util import logging

from generalization.book import cite

LOGGER = logging.getLogger(__name__)
CHAPTER = re.compile(r"book/part\d+/[\w-]+")
CITE_DIR = "_cite"
NOTEBOOK_DIR = "_notebooks"


def is_chapter(docname):
    return bool(CHAPTER.fullmatch(docname))


def stamp(app, config):
    """At config-inited: the book and the build, the footer, and the stamp that forces every
    page to be rewritten when the build changes."""
    book = cite.book_metadata(Path(app.confdir) / "_config.yml")
    build = cite.build_info(app.confdir)
    app.reader_book, app.reader_build = book, build
    config.reader_build_stamp = f"{book.version} {build.label} {build.date} {build.scale}"
    options = dict(config.html_theme_options or {})
    footer = cite.footer_html(book, build)
    options["extra_footer"] = (options.get("extra_footer") or "") + footer
    config.html_theme_options = options


def chapter_number(env, docname):
    numbers = env.toc_secnumbers.get(docname, {}).get("")
    return ".".join(str(n) for n in numbers) if numbers else None


def runtime(env, docname):
    """Seconds the page's notebook took to execute (when it ran, not when it was cached)."""
    from myst_nb.sphinx_ import NbMetadataCollector

    data = NbMetadataCollector.get_doc_data(env).get(docname, {}).get("exec_data") or {}
    return data.get("runtime")


def site_relative(docname, target):
    """``target`` (a path from the site's root) as a link from page ``docname``."""
    depth = docname.count("/")
    return "../" * depth + target


def chapter_tools(app, docname):
    """The HTML put under a chapter's title."""
    env, book, build = app.env, app.reader_book, app.reader_build
    title, number = doc_title(env, docname), chapter_number(env, docname)
    source = env.doc2path(docname, False)
    seconds = runtime(env, docname)
    took = (
        f" In this build (at {build.scale} scale) its notebook executed in {seconds:.1f} s; "
        "experiment results already computed for the same code (by the claims tests, say) "
        "are reused from the result cache, so a cold run takes longer."
        if seconds is not None
        else ""
    )
    bibtex = cite.chapter_bibtex(book, build, docname, title, number)
    text = cite.chapter_text(book, build, docname, title, number)
    bib_href = site_relative(docname, f"{CITE_DIR}/{docname}.bib")
    nb_href = site_relative(docname, f"{NOTEBOOK_DIR}/{docname}.ipynb")
    md_href = site_relative(docname, f"_sources/{Path(source).as_posix()}")
    e = html.escape
    return f"""
<div class="chapter-tools">
<div class="admonition note run-chapter">
<p class="admonition-title">Run this chapter</p>
<p>From the repository root, with Python 3.11:</p>
<div class="highlight-shell notranslate"><div class="highlight"><pre>make venv data
make chapter CHAPTER={e(Path(source).as_posix())}</pre></div></div>
<p>The first command installs the pinned packages and fetches MNIST; the second executes this
chapter alone at <code>BOOK_SCALE=quick</code> (set <code>BOOK_SCALE=full</code> for the
papers' sizes).{e(took)}</p>
</div>
<details class="cite-chapter">
<summary>Cite this chapter</summary>
<p>BibTeX (<a class="cite-bib" href="{e(bib_href)}" download>download the .bib file</a>):</p>
<div class="highlight-bibtex notranslate"><div class="highlight">
<pre class="cite-bibtex">{e(bibtex)}</pre></div></div>
<p>Plain text:</p>
<p class="cite-text">{e(text)}</p>
<p>The commit names the exact code, and so the exact numbers, of the page you read.</p>
</details>
<details class="chapter-downloads">
<summary>Download this chapter</summary>
<ul>
<li><a class="download-source" href="{e(md_href)}" download>MyST source (.md)</a>: the
chapter as written, text and code cells.</li>
<li><a class="download-notebook" href="{e(nb_href)}" download>Executed notebook
(.ipynb)</a>: the chapter with the outputs this build computed.</li>
</ul>
</details>
</div>
"""


def insert_tools(app, doctree, docname):
    """At doctree-resolved: the chapter tools under a chapter's title; alt texts everywhere."""
    for image in doctree.findall(nodes.image):
        _set_alt(image)
    if app.builder.name != "html" or not is_chapter(docname):
        return  # the printed book (singlehtml) has its own title page instead
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not section.children or not isinstance(section[0], nodes.title):
        LOGGER.warning(f"{docname}: no title to put the chapter tools under", location=docname)
        return
    section.insert(1, nodes.raw("", chapter_tools(app, docname), format="html"))


def _set_alt(image):
    uri = image.get("uri", "")
    alt = image.get("alt", "")
    if alt and alt != uri and not alt.endswith(Path(uri).name):
        return
    parent = image.parent
    while parent is not None and not isinstance(parent, nodes.figure):
        parent = parent.parent
    caption = next(iter(parent.findall(nodes.caption)), None) if parent is not None else None
    if caption is not None:
        text = " ".join(caption.astext().split())
        image["alt"] = "Figure: " + text
    else:
        image["alt"] = "Figure"  # a site test lists any such image: give it a caption


def write_files(app, exception):
    """At build-finished: each chapter's ``.bib`` file and executed notebook."""
    if exception is not None or app.builder.name != "html":
        return
    env, out = app.env, Path(app.outdir)
    executed = Path(env.mystnb_config.output_folder)
    written = 0
    for docname in sorted(env.found_docs):
        if not is_chapter(docname):
            continue
        title, number = doc_title(env, docname), chapter_number(env, docname)
        bib = out / CITE_DIR / f"{docname}.bib"
        bib.parent.mkdir(parents=True, exist_ok=True)
        bib.write_text(
            cite.chapter_bibtex(app.reader_book, app.reader_build, docname, title, number),
            encoding="utf8",
        )
        target = out / NOTEBOOK_DIR / f"{docname}.ipynb"
        if _write_executed(env, docname, target, executed / f"{docname}.ipynb"):
            written += 1
        else:
            LOGGER.warning(f"{docname}: no executed notebook to offer", location=docname)
    LOGGER.info(f"reader: wrote the .bib files and {written} executed notebooks")


def _single_html_support(app):
    """Extensions (myst-nb's hidden code cells, sphinx-proof's theorems) register how to
    render their nodes for the ``html`` builder only; the ``singlehtml`` builder of the
    printed book (``make pdf``) writes the same HTML, so it gets the same renderers."""
    if app.builder.name != "singlehtml":
        return
    handlers = app.registry.translation_handlers
    single = handlers.setdefault("singlehtml", {})
    for node_name, pair in handlers.get("html", {}).items():
        single.setdefault(node_name, pair)


def _write_executed(env, docname, target, fallback):
    """Write the page's executed notebook to ``target``: the jupyter-cache record of its code
    (outputs included), which stays right when the page was restored from the cache rather
    than executed (myst-nb's own copy then has no outputs); else myst-nb's copy."""
    import nbformat
    from jupyter_cache import get_cache
    from myst_nb.core.read import read_myst_markdown_notebook

    source = Path(env.doc2path(docname))
    notebook = read_myst_markdown_notebook(source.read_text(encoding="utf8"), path=str(source))
    try:
        _, merged = get_cache(env.mystnb_config.execution_cache_path).merge_match_into_notebook(
            notebook
        )
    except KeyError:
        merged = None
    target.parent.mkdir(parents=True, exist_ok=True)
    if merged is not None:
        nbformat.write(merged, str(target))
        return True
    if fallback.exists():
        shutil.copyfile(fallback, target)
        return True
    return False


def setup(app):
    app.add_config_value("reader_build_stamp", "", "html")
    app.connect("builder-inited", _single_html_support)
    app.connect("config-inited", stamp)
    app.connect("doctree-resolved", insert_tools)
    app.connect("build-finished", write_files)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

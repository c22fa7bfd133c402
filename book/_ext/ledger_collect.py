"""Collect every chapter's reproduction ledger into one page and one JSON file.

A chapter glues a :class:`generalization.book.ledger.Ledger` under the key ``ledger``; myst-nb
writes the glued data of each executed notebook to ``_build/jupyter_execute/<doc>.glue.json``.
After a chapter is read, this extension takes the ledger rows from that file (their
:data:`~generalization.book.ledger.MIMETYPE` representation, ``{"rows": [...]}``) and keeps
them in the Sphinx environment. Then:

* the ``{ledger-table}`` directive (used on the ``ledger`` page) becomes one table of all
  rows, in the order of the table of contents, each linked to its chapter;
* ``_build/html/ledger.json`` holds the same rows, one object per row: the fields of
  :data:`generalization.book.ledger.FIELDS` plus ``chapter`` (the document name) and
  ``chapter_title``.

Pages with the directive are re-read whenever any chapter changes, so the collected
table is never older than the chapters.
"""

from __future__ import annotations

import json
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from generalization.book.full_scale import write_text_atomic
from generalization.book.ledger import FIELDS, HEADERS, MIMETYPE, Ledger, visible_columns

LOGGER = logging.getLogger(__name__)
GLUE_KEY = "ledger"


class ledger_table(nodes.General, nodes.Element):
    """Placeholder replaced by the collected table once all chapters are read."""


class LedgerTableDirective(SphinxDirective):
    has_content = False

    def run(self):
        pages = getattr(self.env, "ledger_pages", set())
        pages.add(self.env.docname)
        self.env.ledger_pages = pages
        return [ledger_table("")]


def _glue_keys(env, docname):
    from myst_nb.sphinx_ import NbMetadataCollector

    return NbMetadataCollector.get_doc_data(env).get(docname, {}).get("glue", [])


def collect_rows(app, doctree):
    """At doctree-read: store the ledger rows glued by the document just read."""
    env = app.env
    docname = env.docname
    rows_by_doc = getattr(env, "ledger_rows", {})
    rows_by_doc.pop(docname, None)
    if GLUE_KEY in _glue_keys(env, docname):
        glue_file = Path(env.mystnb_config.output_folder).joinpath(
            *f"{docname}.glue.json".split("/")
        )
        data = json.loads(glue_file.read_text(encoding="utf8"))[GLUE_KEY]["data"]
        rows = data.get(MIMETYPE, {}).get("rows")
        if not isinstance(rows, list) or not rows or any(set(r) != set(FIELDS) for r in rows):
            LOGGER.warning(
                f"{docname}: glue key {GLUE_KEY!r} does not hold ledger rows (use "
                "generalization.book.ledger.Ledger.glue())",
                location=docname,
                type="ledger",
            )
        else:
            rows_by_doc[docname] = rows
    env.ledger_rows = rows_by_doc


def purge(app, env, docname):
    getattr(env, "ledger_rows", {}).pop(docname, None)
    getattr(env, "ledger_pages", set()).discard(docname)


def merge(app, env, docnames, other):
    env.ledger_rows = {**getattr(env, "ledger_rows", {}), **getattr(other, "ledger_rows", {})}
    env.ledger_pages = getattr(env, "ledger_pages", set()) | getattr(other, "ledger_pages", set())


def outdated(app, env, added, changed, removed):
    """Re-read the pages holding the collected table whenever any document changes."""
    if added or changed or removed:
        return sorted(getattr(env, "ledger_pages", set()) - set(removed))
    return []


def toc_order(env):
    """Document names in reading order, following the toctrees from the root document."""
    order, seen = [], set()

    def visit(docname):
        if docname in seen:
            return
        seen.add(docname)
        order.append(docname)
        for child in env.toctree_includes.get(docname, []):
            visit(child)

    visit(env.config.root_doc)
    return order + sorted(set(getattr(env, "ledger_rows", {})) - seen)


def doc_title(env, docname):
    """The title of document ``docname`` as the reader sees it, or its name if it has none."""
    return env.titles[docname].astext() if docname in env.titles else docname


def all_rows(env):
    rows_by_doc = getattr(env, "ledger_rows", {})
    out = []
    for docname in toc_order(env):
        title = doc_title(env, docname)
        for row in rows_by_doc.get(docname, []):
            out.append({**row, "chapter": docname, "chapter_title": title})
    return out


def _citation(env, key):
    """``Author et al. (year)`` from the bibliography, or the key if it is not there."""
    try:
        entry = env.get_domain("cite").bibdata.data.entries[key]
        people = entry.persons.get("author", [])
        year = entry.fields.get("year", "")
        last = lambda person: " ".join(person.last_names).replace("{", "").replace("}", "")  # noqa: E731
        if not people:
            return key
        if len(people) == 1:
            names = last(people[0])
        elif len(people) == 2:
            names = f"{last(people[0])} and {last(people[1])}"
        else:
            names = f"{last(people[0])} et al."
        return f"{names} ({year})"
    except Exception:  # a missing key is reported by sphinxcontrib-bibtex in the chapter
        return key


def _table(app, fromdocname, rows):
    printer = Ledger()
    printed = [printer.cells(row) for row in rows]
    for cells, row in zip(printed, rows):
        cells[0] = _citation(app.env, row["paper"])
    keep = visible_columns(printed)
    headers = ("Chapter",) + tuple(HEADERS[j] for j in keep)
    table = nodes.table(classes=["ledger-table"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for _ in headers:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    group += head
    head += nodes.row("", *[nodes.entry("", nodes.paragraph(text=h)) for h in headers])
    body = nodes.tbody()
    group += body
    for row, texts in zip(rows, printed):
        link = nodes.reference(
            "",
            row["chapter_title"],
            internal=True,
            refuri=app.builder.get_relative_uri(fromdocname, row["chapter"]),
        )
        cells = [nodes.paragraph("", "", link)] + [
            nodes.paragraph(text=str(texts[j])) for j in keep
        ]
        body += nodes.row("", *[nodes.entry("", cell) for cell in cells])
    return table


def fill_tables(app, doctree, fromdocname):
    """At doctree-resolved: replace each placeholder by the table of all rows."""
    rows = all_rows(app.env)
    for node in doctree.findall(ledger_table):
        if rows:
            node.replace_self(_table(app, fromdocname, rows))
        else:
            node.replace_self(nodes.paragraph(text="No chapter has recorded a ledger row yet."))


def write_json(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    rows = all_rows(app.env)
    path = Path(app.outdir) / "ledger.json"
    # through a renamed temporary file: a killed build never leaves half a ledger.json
    write_text_atomic(path, json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    LOGGER.info(f"ledger_collect: wrote {len(rows)} rows to {path}")


def setup(app):
    app.add_node(ledger_table)
    app.add_directive("ledger-table", LedgerTableDirective)
    app.connect("doctree-read", collect_rows)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("env-get-outdated", outdated)
    app.connect("doctree-resolved", fill_tables)
    app.connect("build-finished", write_json)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

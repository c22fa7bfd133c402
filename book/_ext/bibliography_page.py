"""The Bibliography page: every reference the book cites, once, with the chapters citing it.

Chapters cite with ``{footcite:t}`` and ``{footcite:p}`` (or ``{cite}``) roles, in their prose
and in the Markdown their code glues (a ledger row names its paper that way). When a page is
read, this extension collects the keys it cites from both: the page's source and the glue
file myst-nb wrote for it. The ``{cited-references}`` directive (on ``book/bibliography.md``)
then becomes the list of every cited entry of ``book/references.bib``, formatted by pybtex's
``plain`` style (the style of the chapters' own reference lists), each followed by links to
the chapters that cite it. Nothing on the page is typed by hand, so it cannot drift from the
chapters.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

LOGGER = logging.getLogger(__name__)
ROLE = re.compile(r"\{(?:foot)?cite(?::[a-z]+)?\}`([^`]+)`")


def cited_keys(text):
    """The citation keys of every ``{cite...}``/``{footcite...}`` role in ``text``, in order of
    first appearance (a role may hold several keys separated by commas)."""
    keys = []
    for match in ROLE.finditer(text):
        for key in match.group(1).split(","):
            key = key.strip()
            if key and key not in keys:
                keys.append(key)
    return keys


def collect(app, doctree):
    """At doctree-read: the keys the page just read cites."""
    env, docname = app.env, app.env.docname
    text = Path(env.doc2path(docname)).read_text(encoding="utf8")
    glue = Path(env.mystnb_config.output_folder).joinpath(*f"{docname}.glue.json".split("/"))
    if glue.exists():
        text += "\n" + json.dumps(json.loads(glue.read_text(encoding="utf8")))
    cited = getattr(env, "cited_keys", {})
    keys = cited_keys(text)
    if keys:
        cited[docname] = keys
    else:
        cited.pop(docname, None)
    env.cited_keys = cited


class cited_references(nodes.General, nodes.Element):
    """Placeholder replaced by the list once every page is read."""


class CitedReferencesDirective(SphinxDirective):
    has_content = False

    def run(self):
        pages = getattr(self.env, "bibliography_pages", set())
        pages.add(self.env.docname)
        self.env.bibliography_pages = pages
        return [cited_references("")]


def citing_chapters(env):
    """``{key: [docname, ...]}`` in reading order of the table of contents."""
    from ledger_collect import toc_order

    cited = getattr(env, "cited_keys", {})
    pages = getattr(env, "bibliography_pages", set())
    out = {}
    for docname in toc_order(env) + sorted(set(cited) - set(toc_order(env))):
        if docname in pages:
            continue
        for key in cited.get(docname, []):
            out.setdefault(key, [])
            if docname not in out[key]:
                out[key].append(docname)
    return out


def fill(app, doctree, fromdocname):
    placeholders = list(doctree.findall(cited_references))
    if not placeholders:
        return
    import pybtex.plugin
    import pybtex_docutils
    from ledger_collect import doc_title

    env = app.env
    bibdata = env.get_domain("cite").bibdata.data
    chapters = citing_chapters(env)
    missing = sorted(key for key in chapters if key not in bibdata.entries)
    for key in missing:
        LOGGER.warning(f"{key!r} is cited but not in the bibliography", type="bibliography")
    style = pybtex.plugin.find_plugin("pybtex.style.formatting", "plain")()
    known = [key for key in chapters if key in bibdata.entries]
    entries = [bibdata.entries[key] for key in known]
    backend = pybtex_docutils.Backend()
    items = nodes.enumerated_list(classes=["cited-references"])
    for formatted in style.format_entries(style.sort(entries)):
        item = nodes.list_item(ids=[f"ref-{nodes.make_id(formatted.key)}"])
        item["classes"].append("cited-reference")
        item += nodes.paragraph("", "", *formatted.text.render(backend))
        links = []
        for docname in chapters[formatted.key]:
            title = doc_title(env, docname)
            uri = app.builder.get_relative_uri(fromdocname, docname)
            links.append(nodes.reference("", title, internal=True, refuri=uri))
        cited_in = nodes.paragraph(classes=["cited-in"])
        cited_in += nodes.Text("Cited in: ")
        for i, link in enumerate(links):
            cited_in += nodes.Text("; " if i else "")
            cited_in += link
        item += cited_in
        items += item
    summary = nodes.paragraph(
        text=f"{len(known)} references, cited in {len(getattr(env, 'cited_keys', {}))} pages."
    )
    for node in placeholders:
        node.replace_self([summary, items])


def outdated(app, env, added, changed, removed):
    if added or changed or removed:
        return sorted(getattr(env, "bibliography_pages", set()) - set(removed))
    return []


def purge(app, env, docname):
    getattr(env, "cited_keys", {}).pop(docname, None)
    getattr(env, "bibliography_pages", set()).discard(docname)


def merge(app, env, docnames, other):
    env.cited_keys = {**getattr(env, "cited_keys", {}), **getattr(other, "cited_keys", {})}
    env.bibliography_pages = getattr(env, "bibliography_pages", set()) | getattr(
        other, "bibliography_pages", set()
    )


def setup(app):
    app.add_node(cited_references)
    app.add_directive("cited-references", CitedReferencesDirective)
    app.connect("doctree-read", collect)
    app.connect("doctree-resolved", fill)
    app.connect("env-get-outdated", outdated)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

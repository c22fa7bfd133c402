"""The time budget: each chapter's cold run time against 90 s, the book's against 25 minutes.

``make timings`` (``book/_ext/timings.py``) executes chapters from an empty result cache and
records their times in ``results/timings.json``, each with the page key of the code it ran.
This extension

* turns the ``{time-budget}`` directive (on ``book/reproducibility.md``) into a table of the
  chapters of the table of contents, in reading order: each linked, with its cold time, a
  bold **over** when it exceeds the chapter budget, and whether its code has changed since
  it was measured (*stale*); chapters without a recorded time say "not measured". A last
  row sets the total against the book's budget, and a sentence under the table gives the
  provenance (machine, dates, commits);
* at the end of every build logs one line (an info message: a build with ``-W`` must not
  fail on it) naming the chapters over budget from cold, the total against the book's
  budget, and the chapters whose notebook execution *in this build* took longer than the
  chapter budget (myst-nb's execution data; pages served from the execution cache are not
  counted).

The page holding the table is rebuilt in every build: the timings file and the code keys
live outside the book's sources.

Configuration: ``time_budget_file`` (default ``results/timings.json``),
``time_budget_chapters`` (a regular expression for the document names that are chapters,
default ``^book/part\\d+/``), ``time_budget_package_dir`` (default ``code/generalization``),
``time_budget_chapter_s`` and ``time_budget_book_s`` (default 90 s and 25 minutes), all
relative to the book's folder.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from timings import BOOK_BUDGET_S, CHAPTER_BUDGET_S, duration, limit, load, page_keys, rows, summary

LOGGER = logging.getLogger(__name__)


class time_budget(nodes.General, nodes.Element):
    """Placeholder replaced by the table once every chapter's title is known."""


class TimeBudgetDirective(SphinxDirective):
    has_content = False

    def run(self):
        pages = getattr(self.env, "time_budget_pages", set())
        pages.add(self.env.docname)
        self.env.time_budget_pages = pages
        return [time_budget("")]


def chapter_docs(app):
    """Document names of the chapters, in reading order."""
    from ledger_collect import toc_order

    pattern = re.compile(app.config.time_budget_chapters)
    return [doc for doc in toc_order(app.env) if doc in app.env.found_docs and pattern.match(doc)]


def budget(app):
    """``[(docname, Row)]`` for the chapters, computed once per build; None if the timings
    file cannot be read (a warning says why)."""
    if getattr(app, "time_budget_rows", None) is not None:
        return app.time_budget_rows
    root = Path(app.confdir)
    docs = chapter_docs(app)
    pages = {doc: Path(app.env.doc2path(doc)) for doc in docs}
    relative = {doc: path.relative_to(root).as_posix() for doc, path in pages.items()}
    try:
        entries = load(root / app.config.time_budget_file)
    except ValueError as error:
        LOGGER.warning(f"time_budget: {error}", type="time_budget")
        return None
    measured = [doc for doc in docs if relative[doc] in entries]
    keys = page_keys([pages[d] for d in measured], root / app.config.time_budget_package_dir)
    keys = {relative[d]: keys[pages[d]] for d in measured}
    found = rows([relative[d] for d in docs], entries, keys)
    app.time_budget_rows = list(zip(docs, found))
    return app.time_budget_rows


def _paragraph(*children):
    return nodes.paragraph("", "", *children)


def _provenance(measured):
    """One sentence: how, where, when and from which code the times were measured."""
    if not measured:
        return (
            "No chapter has been measured yet: make timings executes each chapter from an "
            "empty result cache and records its time in results/timings.json."
        )
    machines = sorted(
        {
            f"{m.get('cores', '?')} cores of {m.get('processor', '?')}"
            + (f" with {m['memory_gb']:.0f} GB" if m.get("memory_gb") else "")
            for m in (r.entry.get("machine") or {} for r in measured)
        }
    )
    dates = sorted({(r.entry.get("date") or "?")[:10] for r in measured})
    when = dates[0] if len(dates) == 1 else f"between {dates[0]} and {dates[-1]}"
    commits = {}
    for r in measured:
        state = {True: "with uncommitted changes", None: "working tree not recorded"}
        commit = (r.entry.get("commit") or "unknown")[:7]
        detail = state.get(r.entry.get("uncommitted_changes"))
        commits[commit + (f" ({detail})" if detail else "")] = True
    notes = sorted({r.entry["note"] for r in measured if r.entry.get("note")})
    text = (
        "Measured by make timings: each chapter executed alone, in a fresh kernel, from an "
        f"empty result cache, at BOOK_SCALE=quick, on {'; '.join(machines)}, {when}, from "
        f"commit{'s' * (len(commits) > 1)} {', '.join(commits)}. A timing is stale when the "
        "page's code cells or the package code they import (or the pinned requirements) "
        "changed since it was measured."
    )
    return text + "".join(f" {note}" for note in notes)


def _table(app, fromdocname, found):
    from ledger_collect import doc_title

    chapter_s, book_s = app.config.time_budget_chapter_s, app.config.time_budget_book_s
    headers = ["Chapter", "Cold time", f"Budget ({limit(chapter_s)})", "Code since measured"]
    table = nodes.table(classes=["time-budget-table"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in (6, 2, 2, 3):
        group += nodes.colspec(colwidth=width)
    group += nodes.thead(
        "", nodes.row("", *[nodes.entry("", _paragraph(nodes.Text(h))) for h in headers])
    )
    body = nodes.tbody()
    group += body
    for doc, row in found:
        link = nodes.reference(
            "", doc_title(app.env, doc), internal=True,
            refuri=app.builder.get_relative_uri(fromdocname, doc),
        )  # fmt: skip
        if row.seconds is None:
            cells = [nodes.Text("not measured"), nodes.Text("–"), nodes.Text("–")]
            classes = ["time-budget-not-measured"]
        else:
            over = row.seconds > chapter_s
            verdict = nodes.strong(text="over") if over else nodes.Text("within")
            since = nodes.strong(text="stale: changed") if row.stale else nodes.Text("unchanged")
            cells = [nodes.Text(duration(row.seconds)), verdict, since]
            classes = ["time-budget-over"] if over else []
        body += nodes.row(
            "", *[nodes.entry("", _paragraph(c)) for c in [link, *cells]], classes=classes
        )
    measured = [row for _, row in found if row.seconds is not None]
    total = sum(row.seconds for row in measured)
    stale = sum(bool(row.stale) for row in measured)
    over = total > book_s
    cells = [
        nodes.strong(text=f"Total: {len(measured)} of {len(found)} chapters measured"),
        nodes.Text(duration(total)),
        nodes.strong(text=f"over {limit(book_s)}")
        if over
        else nodes.Text(f"within {limit(book_s)}"),
        nodes.Text(f"{stale} stale" if stale else "none stale"),
    ]
    body += nodes.row(
        "", *[nodes.entry("", _paragraph(c)) for c in cells], classes=["time-budget-total"]
    )
    return table


def fill(app, doctree, fromdocname):
    """At doctree-resolved: replace the placeholder with the table and its provenance."""
    placeholders = list(doctree.findall(time_budget))
    if not placeholders:
        return
    found = budget(app)
    if found is None:
        content = [_paragraph(nodes.Text("The timings file could not be read."))]
    else:
        measured = [row for _, row in found if row.seconds is not None]
        content = [
            _table(app, fromdocname, found),
            nodes.paragraph(text=_provenance(measured), classes=["time-budget-provenance"]),
        ]
    for node in placeholders:
        node.replace_self([n.deepcopy() for n in content])


def started(app):
    """At builder-inited: when this build began (what it executed is newer)."""
    app.time_budget_started = time.time()


def executed_over(app, threshold):
    """``[(docname, seconds)]``: notebooks executed in this build that took over
    ``threshold`` seconds."""
    from myst_nb.sphinx_ import NbMetadataCollector

    began = getattr(app, "time_budget_started", 0.0)
    slow = []
    for doc, data in sorted(NbMetadataCollector.get_doc_data(app.env).items()):
        run = data.get("exec_data") or {}
        seconds = run.get("runtime")
        if (run.get("mtime") or 0) >= began and seconds is not None and seconds > threshold:
            slow.append((doc, seconds))
    return slow


def report(app, exception):
    """At build-finished: one line on the time budget (info, never a warning)."""
    if exception is not None:
        return
    chapter_s = app.config.time_budget_chapter_s
    found = budget(app)
    line = "time budget: "
    if found is not None:
        line += summary([row for _, row in found], chapter_s, app.config.time_budget_book_s)
    else:
        line += "the timings file could not be read"
    slow = executed_over(app, chapter_s)
    listed = ", ".join(f"{doc} ({seconds:.0f} s)" for doc, seconds in slow) or "none"
    line += f"; executed in this build over {limit(chapter_s)}: {listed}"
    LOGGER.info(line)


def outdated(app, env, added, changed, removed):
    """The page with the table is rebuilt every time: its inputs live outside the book."""
    return sorted(getattr(env, "time_budget_pages", set()) - set(removed))


def purge(app, env, docname):
    getattr(env, "time_budget_pages", set()).discard(docname)


def merge(app, env, docnames, other):
    env.time_budget_pages = getattr(env, "time_budget_pages", set()) | getattr(
        other, "time_budget_pages", set()
    )


def setup(app):
    app.add_config_value("time_budget_file", "results/timings.json", "env")
    app.add_config_value("time_budget_chapters", r"^book/part\d+/", "env")
    app.add_config_value("time_budget_package_dir", "code/generalization", "env")
    app.add_config_value("time_budget_chapter_s", CHAPTER_BUDGET_S, "env")
    app.add_config_value("time_budget_book_s", BOOK_BUDGET_S, "env")
    app.add_node(time_budget)
    app.add_directive("time-budget", TimeBudgetDirective)
    app.connect("builder-inited", started)
    app.connect("env-get-outdated", outdated)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("doctree-resolved", fill)
    app.connect("build-finished", report)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

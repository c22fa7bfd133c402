"""The Claims page: every claims test, the sentence it checks, its source, and how it fared.

The ``{claims-list}`` directive (on ``book/claims.md``) becomes, for each chapter of the
table of contents in reading order, a table of the tests in
``tests/claims/partN/test_<chapter>.py``: the test's docstring (the claim it checks, in one
sentence), a link to its source and, when ``make test`` ran the claims before building,
its outcome and time in that run, read from ``_build/claims-report.json`` (written by
``tests/claims/conftest.py``). Without that report the page says the claims were not run
with this build.

The tests are found by reading the files' syntax trees, not by importing them, so the page
costs nothing to build. Each test file is also written to the site as a highlighted page
with numbered lines (``_claims/partN/test_<chapter>.html``), which the links point into.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

LOGGER = logging.getLogger(__name__)
SOURCE_DIR = "_claims"
CSS_FILE = "claims.css"
CSS = """\
table.claims-table { table-layout: fixed; width: 100%; }
table.claims-table p.claim-test code { white-space: normal; overflow-wrap: anywhere; }
table.claims-table p.claim-test { font-size: 0.85em; margin-top: 0.3em; }
"""


@dataclass(frozen=True)
class ClaimTest:
    """One claims test function, as written in its file."""

    chapter: str  # the chapter's document name, ``book/partN/<chapter>``
    file: str  # relative to the repository root
    name: str
    line: int
    doc: str
    recorded: bool  # marked ``recorded``: checks results in results/full


def _is_recorded(function):
    for decorator in function.decorator_list:
        if "recorded" in ast.unparse(decorator).split("."):
            return True
    return False


def find_tests(root):
    """Every ``test_*`` function of ``tests/claims/part*/test_*.py`` under ``root``."""
    root = Path(root)
    found = []
    for path in sorted(root.glob("tests/claims/part*/test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf8"), filename=str(path))
        chapter = f"book/{path.parent.name}/{path.stem.removeprefix('test_')}"
        module_recorded = any(
            isinstance(node, ast.Assign)
            and any(getattr(t, "id", None) == "pytestmark" for t in node.targets)
            and "recorded" in ast.unparse(node.value)
            for node in tree.body
        )
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                doc = " ".join((ast.get_docstring(node) or "").split())
                found.append(
                    ClaimTest(
                        chapter=chapter,
                        file=path.relative_to(root).as_posix(),
                        name=node.name,
                        line=node.lineno,
                        doc=doc,
                        recorded=module_recorded or _is_recorded(node),
                    )
                )
    return found


def outcome(test, report):
    """The outcome of ``test`` in ``report`` (all its parametrized cases together) and its
    time in seconds: ``("passed", 1.2)``, ``("3 of 4 passed", ...)``, or ``(None, None)``
    when the report does not have it."""
    prefix = f"{test.file}::{test.name}"
    cases = [
        entry
        for nodeid, entry in report.get("tests", {}).items()
        if nodeid == prefix or nodeid.startswith(prefix + "[")
    ]
    if not cases:
        return None, None
    seconds = sum(entry["duration_s"] for entry in cases)
    outcomes = [entry["outcome"] for entry in cases]
    if len(set(outcomes)) == 1:
        return outcomes[0], seconds
    return f"{outcomes.count('passed')} of {len(outcomes)} passed", seconds


def read_report(path):
    path = Path(path)
    if not path.exists():
        return None
    try:
        report = json.loads(path.read_text(encoding="utf8"))
    except json.JSONDecodeError:
        LOGGER.warning(f"{path} is not valid JSON: the Claims page ignores it", type="claims")
        return None
    return report if isinstance(report, dict) and isinstance(report.get("tests"), dict) else None


class claims_list(nodes.General, nodes.Element):
    """Placeholder replaced by the tables once every chapter's title is known."""


class ClaimsListDirective(SphinxDirective):
    has_content = False

    def run(self):
        pages = getattr(self.env, "claims_pages", set())
        pages.add(self.env.docname)
        self.env.claims_pages = pages
        return [claims_list("")]


def _paragraph(*children, classes=()):
    return nodes.paragraph("", "", *children, classes=list(classes))


def _summary(report, tests, build_commit):
    if report is None:
        return _paragraph(
            nodes.Text(
                "The claims were not run with this build: there is no "
                "_build/claims-report.json (run make test, or make test-claims before "
                "make book, to see each claim's outcome here)."
            ),
            classes=["claims-summary", "claims-not-run"],
        )
    counted = [outcome(t, report)[0] for t in tests]
    passed = sum(o == "passed" for o in counted)
    absent = sum(o is None for o in counted)
    commit = report.get("commit", "unknown")
    changes = " with uncommitted changes" if report.get("uncommitted_changes") else ""
    same = "" if commit == build_commit else f" (this page was built from commit {build_commit})"
    text = (
        f"The claims were run on {report.get('finished', '?')} at commit {commit}{changes}{same}, "
        f"at {report.get('scale', '?')} scale: {passed} of {len(tests)} tests passed"
        + (f", {absent} were not part of that run" if absent else "")
        + "."
    )
    return _paragraph(nodes.Text(text), classes=["claims-summary", "claims-run"])


def _table(app, fromdocname, tests, report):
    headers = ["Claim checked, and the test that checks it"] + (
        ["Outcome", "Time (s)"] if report else []
    )
    table = nodes.table(classes=["claims-table", "colwidths-given"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in [8] + ([2, 1] if report else []):
        group += nodes.colspec(colwidth=width)
    head = nodes.row("", *[nodes.entry("", _paragraph(nodes.Text(h))) for h in headers])
    group += nodes.thead("", head)
    body = nodes.tbody()
    group += body
    from reader import site_relative

    for test in tests:
        page = Path(test.file).relative_to("tests/claims").with_suffix(".html").as_posix()
        href = site_relative(fromdocname, f"{SOURCE_DIR}/{page}#L-{test.line}")
        link = nodes.reference("", "", nodes.literal(text=test.name), refuri=href)
        doc = test.doc or "(no docstring: this test does not say which claim it checks)"
        if test.recorded:
            doc += " [checks the results recorded at full scale]"
        cells = [
            nodes.container(
                "",
                _paragraph(nodes.Text(doc), classes=["claim-text"]),
                _paragraph(link, classes=["claim-test"]),
            )
        ]
        if report:
            result, seconds = outcome(test, report)
            cells += [
                _paragraph(nodes.Text(result or "not in that run"), classes=["claim-outcome"]),
                _paragraph(nodes.Text("" if seconds is None else f"{seconds:.1f}")),
            ]
        body += nodes.row("", *[nodes.entry("", cell) for cell in cells])
    return table


def fill(app, doctree, fromdocname):
    """At doctree-resolved: replace the placeholder with the summary and a table per chapter."""
    placeholders = list(doctree.findall(claims_list))
    if not placeholders:
        return
    root = Path(app.confdir)
    tests = find_tests(root)
    report = read_report(root / "_build" / "claims-report.json")
    build = getattr(app, "reader_build", None)
    content = [_summary(report, tests, build.commit if build else "unknown")]
    from ledger_collect import doc_title, toc_order

    order = {doc: i for i, doc in enumerate(toc_order(app.env))}
    chapters = sorted({t.chapter for t in tests}, key=lambda d: (order.get(d, 10**6), d))
    for chapter in chapters:
        title = doc_title(app.env, chapter)
        section = nodes.section(ids=[f"claims-{chapter.rsplit('/', 1)[-1]}"])
        heading = nodes.reference(
            "", title, internal=True, refuri=app.builder.get_relative_uri(fromdocname, chapter)
        )
        section += nodes.rubric("", "", heading)
        mine = [t for t in tests if t.chapter == chapter]
        section += _table(app, fromdocname, mine, report)
        content.append(section)
    for node in placeholders:
        node.replace_self(content)


def write_sources(app, exception):
    """At build-finished: each claims test file as a highlighted page with line anchors."""
    if exception is not None or app.builder.format != "html":
        return
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    (static / CSS_FILE).write_text(CSS)
    root, out = Path(app.confdir), Path(app.outdir) / SOURCE_DIR
    for path in sorted(root.glob("tests/claims/part*/test_*.py")):
        rel = path.relative_to(root / "tests" / "claims")
        target = (out / rel).with_suffix(".html")
        target.parent.mkdir(parents=True, exist_ok=True)
        formatter = HtmlFormatter(
            full=True, linenos="inline", lineanchors="L", anchorlinenos=True,
            title=f"tests/claims/{rel.as_posix()}",
        )  # fmt: skip
        target.write_text(highlight(path.read_text(encoding="utf8"), PythonLexer(), formatter))


def outdated(app, env, added, changed, removed):
    """The Claims page is rebuilt every time: the tests and the report live outside the book."""
    return sorted(getattr(env, "claims_pages", set()) - set(removed))


def purge(app, env, docname):
    getattr(env, "claims_pages", set()).discard(docname)


def merge(app, env, docnames, other):
    env.claims_pages = getattr(env, "claims_pages", set()) | getattr(other, "claims_pages", set())


def setup(app):
    app.add_css_file(CSS_FILE)
    app.add_node(claims_list)
    app.add_directive("claims-list", ClaimsListDirective)
    app.connect("doctree-resolved", fill)
    app.connect("build-finished", write_sources)
    app.connect("env-get-outdated", outdated)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

"""The package keeps its three kinds of code apart, and the tree mirrors the book.

Layers, from the bottom (read from the import statements, inside functions too):

* core: ``generalization`` (the scale) and ``generalization.checks`` (argument checks);
* methods: the flat modules of ``generalization``; they import core and other methods;
* book helpers: ``generalization.book`` (result cache, ledger, page helpers, plotting);
  they import core only;
* chapters: ``generalization.chapters.partN.<chapter>``; they import core, methods and the
  result cache (``generalization.book.cache``), never another chapter and never the page
  helpers, which belong to the pages.

Every numbered page ``book/partN/<chapter>.md`` of ``_toc.yml`` has its chapter module
``code/generalization/chapters/partN/<chapter>.py`` and its claims tests
``tests/claims/partN/test_<chapter>.py``, and nothing in those folders lacks its page.
"""

import re
from pathlib import Path

import pytest
import yaml

from generalization.book.cache import import_graph

ROOT = Path(__file__).resolve().parents[3]
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
PAGES = [Path(c["file"]) for part in TOC["parts"] if part.get("numbered") for c in part["chapters"]]
CORE = {"generalization", "generalization.checks"}
RESULT_CACHE = "generalization.book.cache"


def layer(name):
    """``"core"``, ``"method"``, ``"book"``, ``"chapter"`` or ``"package"``.

    ``"package"``: the ``__init__`` of book/, chapters/ or partN/, which hold only a docstring.
    """
    if name in CORE:
        return "core"
    parts = name.split(".")
    if parts[1] == "book":
        return "book" if len(parts) == 3 else "package"
    if parts[1] == "chapters":
        return "chapter" if len(parts) == 4 else "package"
    return "method"


def violations(graph):
    """Every import that breaks the layering, as ``"a -> b: why"``."""
    found = []
    for name, imported in sorted(graph.items()):
        kind = layer(name)
        for other in sorted(imported):
            other_kind = layer(other)
            if other_kind in ("core", "package"):
                continue
            if kind == "core":
                why = "core imports only core"
            elif kind == "method" and other_kind in ("chapter", "book"):
                why = f"a method imports a {other_kind} module"
            elif kind == "book" and other_kind in ("chapter", "method"):
                why = f"a book helper imports a {other_kind}"
            elif kind == "chapter" and other_kind == "chapter":
                why = "a chapter imports another chapter (what two chapters share is a method)"
            elif kind == "chapter" and other_kind == "book" and other != RESULT_CACHE:
                why = "a chapter imports a page helper (only the pages use them)"
            elif kind == "package" and other_kind != "package":
                why = "a chapters package imports code"
            else:
                continue
            found.append(f"{name} -> {other}: {why}")
    return found


def test_the_package_keeps_its_layers():
    assert violations(import_graph()) == []


def test_each_kind_of_code_is_present():
    kinds = {}
    for name in import_graph():
        kinds.setdefault(layer(name), set()).add(name)
    assert {"generalization.kernels", "generalization.linear", "generalization.nets"} <= kinds[
        "method"
    ]
    assert {"generalization.book.ledger", RESULT_CACHE} <= kinds["book"]
    assert len(kinds["chapter"]) == len(PAGES)


@pytest.mark.parametrize(
    "edge, why",
    [
        (
            ("generalization.linear", "generalization.chapters.part2.min_norm"),
            "a method imports a chapter",
        ),
        (("generalization.nets", "generalization.book.cache"), "a method imports a book module"),
        (("generalization.book.ledger", "generalization.data"), "a book helper imports a method"),
        (
            ("generalization.book.cache", "generalization.chapters.part1.rethinking"),
            "a book helper imports a chapter",
        ),
        (
            (
                "generalization.chapters.part1.bad_minima",
                "generalization.chapters.part1.rethinking",
            ),
            "a chapter imports another chapter",
        ),
        (
            ("generalization.chapters.part2.benign", "generalization.book.plotting"),
            "a chapter imports a page helper",
        ),
        (("generalization.checks", "generalization.data"), "core imports only core"),
    ],
)
def test_the_check_catches_every_kind_of_violation(edge, why):
    graph = {name: set(imported) for name, imported in import_graph().items()}
    graph[edge[0]].add(edge[1])
    found = violations(graph)
    assert len(found) == 1 and found[0].startswith(f"{edge[0]} -> {edge[1]}: {why}")


def test_a_chapter_may_use_methods_and_the_result_cache():
    graph = import_graph()
    assert {"generalization.data", "generalization.nets", RESULT_CACHE} <= graph[
        "generalization.chapters.part1.rethinking"
    ]


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_every_page_has_its_chapter_module_and_claims_tests(page):
    part, name = page.parent.name, page.stem
    module = ROOT / "code" / "generalization" / "chapters" / part / f"{name}.py"
    claims = ROOT / "tests" / "claims" / part / f"test_{name}.py"
    assert module.is_file(), f"{page} has no chapter module {module.relative_to(ROOT)}"
    assert claims.is_file(), f"{page} has no claims tests {claims.relative_to(ROOT)}"
    assert "def test_" in claims.read_text()
    assert f"chapters.{part} import {name}" in claims.read_text(), (
        f"{claims.name} must call the chapter's module"
    )


def test_nothing_lacks_its_page():
    pages = {(p.parent.name, p.stem) for p in PAGES}
    modules = {
        (p.parent.name, p.stem)
        for p in (ROOT / "code" / "generalization" / "chapters").glob("part*/*.py")
        if p.stem != "__init__"
    }
    claims = {
        (p.parent.name, p.stem[len("test_") :])
        for p in (ROOT / "tests" / "claims").glob("part*/test_*.py")
    }
    units = {
        (p.parent.name, p.stem[len("test_") : -len("_module")])
        for p in (ROOT / "tests" / "unit" / "chapters").glob("part*/test_*_module.py")
    }
    assert modules == pages, "chapter modules and pages differ"
    assert claims == pages, "claims files and pages differ"
    assert units <= pages, f"unit tests of chapters without a page: {sorted(units - pages)}"
    stray = sorted(
        p.name for p in (ROOT / "tests" / "claims").glob("*.py") if p.name != "conftest.py"
    )
    assert stray == [], f"claims tests belong in tests/claims/partN/: {stray}"


def test_every_method_has_its_api_page_and_nothing_else_does():
    api = ROOT / "book" / "api"
    documented = {}
    for page in api.glob("*.md"):
        for name in re.findall(r"^\.\. automodule:: (\S+)", page.read_text(), re.M):
            documented[name] = page.name
    methods = {name for name in import_graph() if layer(name) == "method"}
    assert set(documented) == methods | CORE, "API pages differ from the method and core modules"
    assert all(documented[name] == name.rsplit(".", 1)[1] + ".md" for name in methods)
    toc = (ROOT / "_toc.yml").read_text()
    for page in api.glob("*.md"):
        assert f"book/api/{page.name}" in toc, f"{page.name} is not in _toc.yml"

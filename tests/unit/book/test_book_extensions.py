"""The book's Sphinx extensions, exercised by building a small book in a temporary folder.

* cache_guard: a page is executed again exactly when the code it imports changes (a module
  it imports, directly or through another, the requirements, the scale), and never when
  only a docstring, a comment or its prose changes; without the guard jupyter-cache serves
  stale output (the control).
* ledger_collect: a glued Ledger reaches the collected table and ledger.json.
* offline_site: MathJax is referenced from _static and its files are copied there.
"""

import json
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
from tinybook import MYST_HEADER, build_strictly, environment  # noqa: E402

PAGE = (
    MYST_HEADER
    + """\
# Page {name}

{prose}

```{{code-cell}} python
import os, sys
sys.path.insert(0, {root!r})
from tinypkg import {module}
from generalization.book.ledger import Ledger
with open({log!r}, "a") as log:
    log.write("{name} " + os.environ.get("BOOK_SCALE", "quick") + "\\n")
print("VALUE=" + {module}.value())
ledger = Ledger()
ledger.add(paper="somekey", quantity="a value", paper_value=1.0, source="Table 1",
           our_value=float(len({module}.value())), scale="quick", seeds=[0], run_time_s=0.5)
ledger.glue()
```

$$ e^{{i \\pi}} + 1 = 0 $$
"""
)

MODULES = {
    "__init__.py": '"""A tiny package."""\n',
    "shared.py": 'def word():\n    """The shared word."""\n    return "alpha"\n',
    "first.py": "from .shared import word\n\n\ndef value():\n    return word()\n",
    "second.py": "from tinypkg import shared\n\n\ndef value():\n    return shared.word() + '!'\n",
}


def write_book(folder, watch):
    (folder / "tinypkg").mkdir(parents=True)
    for name, text in MODULES.items():
        (folder / "tinypkg" / name).write_text(text)
    (folder / "requirements.txt").write_text("numpy\n")
    log = str(folder / "executions.log")
    for name, module in (("a", "first"), ("b", "second")):
        page = PAGE.format(name=name, prose="Some prose.", root=str(folder), module=module, log=log)
        (folder / f"page_{name}.md").write_text(page)
    (folder / "ledger.md").write_text("# Ledger\n\n```{ledger-table}\n```\n")
    (folder / "index.md").write_text("# Tiny book\n\nA test.\n")
    (folder / "_toc.yml").write_text(
        "format: jb-book\nroot: index\nchapters:\n- file: page_a\n- file: page_b\n- file: ledger\n"
    )
    extensions = ["ledger_collect", "offline_site"] + (["cache_guard"] if watch else [])
    local = "\n".join(f"    {name}: {ROOT / 'book' / '_ext'}" for name in extensions)
    config = "  config:\n    cache_guard_package_dir: tinypkg\n" if watch else ""
    (folder / "_config.yml").write_text(
        textwrap.dedent("""\
        title: Tiny
        only_build_toc_files: true
        execute:
          execute_notebooks: cache
        sphinx:
        """)
        + config
        + "  local_extensions:\n"
        + local
        + "\n"
    )


def build(folder, scale="quick"):
    """Build the book; return the pages executed by this build and the text of page a."""
    log = folder / "executions.log"
    before = log.read_text().splitlines() if log.exists() else []
    build_strictly(folder, environment(scale))
    executed = log.read_text().splitlines()[len(before) :] if log.exists() else []
    return sorted(line.split()[0] for line in executed), (
        folder / "_build" / "html" / "page_a.html"
    ).read_text()


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("guarded")
    write_book(folder, watch=True)
    executed, page = build(folder)
    assert executed == ["a", "b"] and "VALUE=alpha" in page
    return folder


def test_a_page_executes_again_exactly_when_its_code_changes(guarded):
    folder = guarded
    package = folder / "tinypkg"
    assert build(folder)[0] == []  # nothing changed: nothing executes

    edit(package / "first.py", "return word()", "return word().upper()")  # a module of page a only
    executed, page = build(folder)
    assert executed == ["a"] and "VALUE=ALPHA" in page

    edit(
        package / "shared.py", '"""The shared word."""', '"""The word both pages use."""'
    )  # a docstring
    edit(package / "first.py", "def value():", "# a comment\ndef value():")
    assert build(folder)[0] == []

    edit(
        folder / "page_b.md", "Some prose.", "Other prose."
    )  # prose only: read again, not executed
    assert build(folder)[0] == []
    assert "Other prose." in (folder / "_build" / "html" / "page_b.html").read_text()

    edit(package / "shared.py", 'return "alpha"', 'return "gamma"')  # imported by both pages
    executed, page = build(folder)
    assert executed == ["a", "b"] and "VALUE=GAMMA" in page
    rows = json.loads((folder / "_build" / "html" / "ledger.json").read_text())
    assert [row["our_value"] for row in rows] == [
        5.0,
        6.0,
    ]  # the ledger followed: "GAMMA", "gamma!"

    edit(folder / "requirements.txt", "numpy", "numpy==2.4.6")
    assert build(folder)[0] == ["a", "b"]


def test_each_scale_has_its_own_executions(guarded):
    folder = guarded
    assert build(folder, scale="full")[0] == ["a", "b"]  # never the quick outputs
    assert build(folder, scale="quick")[0] == []  # and back, without executing again
    assert build(folder, scale="full")[0] == []


def test_without_the_guard_the_output_is_stale(tmp_path):
    write_book(tmp_path, watch=False)
    assert "VALUE=alpha" in build(tmp_path)[1]
    edit(tmp_path / "tinypkg" / "shared.py", 'return "alpha"', 'return "beta"')
    executed, page = build(tmp_path)
    assert executed == [] and "VALUE=alpha" in page  # jupyter-cache keys on code cells only


def test_ledger_is_collected_into_page_and_json(guarded):
    html = guarded / "_build" / "html"
    rows = json.loads((html / "ledger.json").read_text())
    assert [row["chapter"] for row in rows] == ["page_a", "page_b"]
    row = rows[0]
    assert row["chapter_title"] == "Page a"
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
    } <= set(row)
    table = (html / "ledger.html").read_text()
    assert "ledger-table" in table and "a value" in table and 'href="page_a.html"' in table


def test_mathjax_is_served_locally(guarded):
    html = guarded / "_build" / "html"
    page = (html / "page_a.html").read_text()
    assert "_static/mathjax/tex-mml-chtml.js" in page
    assert "cdn.jsdelivr" not in page
    assert "THEBE_JS_URL" not in page and "sphinx-thebe.js" not in page
    assert (html / "_static" / "mathjax" / "tex-mml-chtml.js").stat().st_size > 500_000
    assert any(
        (html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff")
    )

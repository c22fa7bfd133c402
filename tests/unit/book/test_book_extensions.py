"""The book's Sphinx extensions, exercised by building a two-page book in a temporary folder.

* cache_guard: a chapter whose code cells are unchanged but whose package changed is
  executed again (without the guard, jupyter-cache serves the stale output: the control).
* ledger_collect: a glued Ledger reaches the collected table and ledger.json.
* offline_site: MathJax is referenced from _static and its files are copied there.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")

PAGE = """\
---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  name: python3
  display_name: Python 3
---
# Page

```{{code-cell}} python
import sys
sys.path.insert(0, {code!r})
import tinypkg
from generalization.book.ledger import Ledger
print("VALUE=" + tinypkg.value())
ledger = Ledger()
ledger.add(paper="somekey", quantity="a value", paper_value=1.0, our_value=float(len(tinypkg.value())),
           scale="quick", seeds=[0], run_time_s=0.5)
ledger.glue()
```

$$ e^{{i \\pi}} + 1 = 0 $$
"""


def write_book(folder, watch):
    (folder / "code").mkdir(parents=True)
    (folder / "code" / "tinypkg.py").write_text('def value():\n    return "alpha"\n')
    (folder / "requirements.txt").write_text("numpy\n")
    (folder / "page.md").write_text(PAGE.format(code=str(folder / "code")))
    (folder / "ledger.md").write_text("# Ledger\n\n```{ledger-table}\n```\n")
    (folder / "index.md").write_text("# Tiny book\n\nA test.\n")
    (folder / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n- file: page\n- file: ledger\n")
    extensions = ["ledger_collect", "offline_site"] + (["cache_guard"] if watch else [])
    local = "\n".join(f"    {name}: {ROOT / 'book' / '_ext'}" for name in extensions)
    (folder / "_config.yml").write_text(textwrap.dedent("""\
        title: Tiny
        only_build_toc_files: true
        execute:
          execute_notebooks: cache
        sphinx:
          local_extensions:
        """) + local + "\n")


def build(folder):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "code")}
    done = subprocess.run([str(JUPYTER_BOOK), "build", str(folder), "-W", "-n", "--keep-going"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return (folder / "_build" / "html" / "page.html").read_text()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("guarded")
    write_book(folder, watch=True)
    first = build(folder)
    return folder, first


def test_package_change_reexecutes_the_chapter(guarded):
    folder, first = guarded
    assert "VALUE=alpha" in first
    (folder / "code" / "tinypkg.py").write_text('def value():\n    return "beta"\n')
    second = build(folder)
    assert "VALUE=beta" in second and "VALUE=alpha" not in second
    rows = json.loads((folder / "_build" / "html" / "ledger.json").read_text())
    assert [row["our_value"] for row in rows] == [4.0]  # len("beta"): the ledger followed too


def test_without_the_guard_the_output_is_stale(tmp_path):
    write_book(tmp_path, watch=False)
    assert "VALUE=alpha" in build(tmp_path)
    (tmp_path / "code" / "tinypkg.py").write_text('def value():\n    return "beta"\n')
    assert "VALUE=alpha" in build(tmp_path)  # jupyter-cache keys on code cells only


def test_ledger_is_collected_into_page_and_json(guarded):
    folder, _ = guarded
    html = folder / "_build" / "html"
    rows = json.loads((html / "ledger.json").read_text())
    assert len(rows) == 1
    row = rows[0]
    assert row["chapter"] == "page" and row["chapter_title"] == "Page"
    assert {"paper", "quantity", "paper_value", "our_value", "unit", "scale", "seeds", "spread",
            "run_time_s", "note"} <= set(row)
    table = (html / "ledger.html").read_text()
    assert "ledger-table" in table and "a value" in table and 'href="page.html"' in table


def test_mathjax_is_served_locally(guarded):
    folder, _ = guarded
    html = folder / "_build" / "html"
    page = (html / "page.html").read_text()
    assert "_static/mathjax/tex-mml-chtml.js" in page
    assert "cdn.jsdelivr" not in page
    assert "THEBE_JS_URL" not in page and "sphinx-thebe.js" not in page
    assert (html / "_static" / "mathjax" / "tex-mml-chtml.js").stat().st_size > 500_000
    assert any((html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))

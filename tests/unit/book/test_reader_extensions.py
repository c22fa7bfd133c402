"""The reader-facing extensions of the book (book/_ext): the build stamp and chapter tools
(reader), the Claims page (claims_page) and the Bibliography page (bibliography_page).

The parsers are checked on small written inputs; the stamp by building a tiny book in a
temporary git repository, committing, and building again: every page must then name the new
commit, without any page being executed again.
"""

import json
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import bibliography_page  # noqa: E402
import claims_page  # noqa: E402
import reader  # noqa: E402
from tinybook import build_strictly  # noqa: E402


def test_cited_keys_reads_every_role_form_once_in_order():
    text = (
        "As {footcite:t}`zhang2017` showed, and {footcite:p}`arpit2017, zhang2017` and "
        "{cite}`belkin2018`; not `{math}`x`` or {footcite:t}``.\n"
        '"| {footcite:t}`liu2020` | row |"'
    )
    assert bibliography_page.cited_keys(text) == ["zhang2017", "arpit2017", "belkin2018", "liu2020"]
    assert bibliography_page.cited_keys("no citations") == []


CLAIMS = '''\
import pytest

pytestmark = []


def helper():
    """Not a test."""


def test_first():
    """The first claim."""


@pytest.mark.recorded
def test_second():
    pass


@pytest.mark.parametrize("x", [1, 2])
def test_third(x):
    """The third
    claim, on two lines."""
'''


def test_find_tests_reads_names_lines_docstrings_and_markers(tmp_path):
    folder = tmp_path / "tests" / "claims" / "part2"
    folder.mkdir(parents=True)
    (folder / "test_kernels.py").write_text(CLAIMS)
    (folder / "helpers.py").write_text("def test_not_collected():\n    pass\n")
    found = claims_page.find_tests(tmp_path)
    assert [(t.name, t.line, t.doc, t.recorded) for t in found] == [
        ("test_first", 10, "The first claim.", False),
        ("test_second", 15, "", True),
        ("test_third", 20, "The third claim, on two lines.", False),
    ]
    assert {t.chapter for t in found} == {"book/part2/kernels"}
    assert found[0].file == "tests/claims/part2/test_kernels.py"


def test_outcome_joins_parametrized_cases_and_says_what_is_missing():
    test = claims_page.ClaimTest("book/p/x", "tests/claims/p/test_x.py", "test_a", 1, "", False)
    report = {
        "tests": {
            "tests/claims/p/test_x.py::test_a[1]": {"outcome": "passed", "duration_s": 1.0},
            "tests/claims/p/test_x.py::test_a[2]": {"outcome": "failed", "duration_s": 0.5},
            "tests/claims/p/test_x.py::test_ab": {"outcome": "failed", "duration_s": 9.0},
        }
    }
    assert claims_page.outcome(test, report) == ("1 of 2 passed", 1.5)
    report["tests"]["tests/claims/p/test_x.py::test_a[2]"]["outcome"] = "passed"
    assert claims_page.outcome(test, report) == ("passed", 1.5)
    assert claims_page.outcome(test, {"tests": {}}) == (None, None)


def test_a_broken_report_is_ignored(tmp_path):
    (tmp_path / "r.json").write_text("{not json")
    assert claims_page.read_report(tmp_path / "r.json") is None
    (tmp_path / "r.json").write_text(json.dumps({"tests": []}))
    assert claims_page.read_report(tmp_path / "r.json") is None
    assert claims_page.read_report(tmp_path / "missing.json") is None


def test_chapters_are_the_numbered_part_pages():
    assert reader.is_chapter("book/part2/kernel_mnist")
    assert not reader.is_chapter("book/ledger")
    assert not reader.is_chapter("book/api/kernels")


def _build(folder):
    return build_strictly(folder).stdout


def test_a_new_commit_restamps_every_page_without_executing_any(tmp_path, git):
    folder = tmp_path / "tiny"
    folder.mkdir()
    log = folder / "executions.log"
    page = textwrap.dedent(f"""\
        ---
        jupytext:
          text_representation:
            format_name: myst
        kernelspec:
          name: python3
          display_name: Python 3
        ---
        # Page {{name}}

        ```{{{{code-cell}}}} python
        open({str(log)!r}, "a").write("{{name}}\\n")
        ```
        """)
    for name in ("a", "b"):
        (folder / f"page_{name}.md").write_text(page.format(name=name))
    (folder / "index.md").write_text("# Tiny book\n\nA test.\n")
    (folder / "_toc.yml").write_text(
        "format: jb-book\nroot: index\nchapters:\n- file: page_a\n- file: page_b\n"
    )
    (folder / "_config.yml").write_text(
        "title: Tiny\nauthor: A. Author\ncopyright: '2030'\nonly_build_toc_files: true\n"
        "exclude_patterns: [_build]\nexecute:\n  execute_notebooks: cache\n"
        f"sphinx:\n  local_extensions:\n    reader: {ROOT / 'book' / '_ext'}\n"
    )
    (folder / ".gitignore").write_text("_build/\nexecutions.log\n")
    git(folder, "init", "-q")
    git(folder, "add", ".")
    git(folder, "commit", "-qm", "first")
    _build(folder)
    first = git(folder, "rev-parse", "--short=7", "HEAD")
    html = folder / "_build" / "html"
    for name in ("index", "page_a", "page_b"):
        assert f"commit {first}," in (html / f"{name}.html").read_text()
    assert sorted(log.read_text().split()) == ["a", "b"]

    (folder / "NOTES.txt").write_text("a file the book does not show\n")
    git(folder, "add", ".")
    git(folder, "commit", "-qm", "second")
    _build(folder)
    second = git(folder, "rev-parse", "--short=7", "HEAD")
    assert second != first
    for name in ("index", "page_a", "page_b"):
        text = (html / f"{name}.html").read_text()
        assert f"commit {second}," in text and f"commit {first}" not in text, name
    assert sorted(log.read_text().split()) == ["a", "b"], "nothing executed again"

"""The time budget: ``make timings`` (book/_ext/timings.py) and the ``time_budget`` extension.

* The writer executes a tiny chapter in a fresh process from an empty result cache, records
  its wall time with the page key of ``generalization.book.full_scale.page_key`` and keeps
  the other chapters' entries; a chapter that fails is not recorded.
* The extension, in a tiny book built in a temporary folder: over-budget rows in bold, the
  total against the book's budget, stale timings (a fake key, then a real edit of the code
  a page imports), "not measured", and the line at the end of the build, which names the
  chapters over budget and those executed in *this* build over budget (not those served
  from the execution cache).
"""

import json
import os
import re
import sys
import textwrap
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import timings  # noqa: E402
from tinybook import MYST_HEADER, build_strictly  # noqa: E402

from generalization.book.full_scale import page_key  # noqa: E402

HEADER = MYST_HEADER

CHAPTER = (
    HEADER
    + """\
# {title}

```{{code-cell}} python
import os, sys, time
sys.path.insert(0, {root!r})
from tinypkg import first
with open({log!r}, "a") as log:
    cache = os.environ.get("GENERALIZATION_CACHE", "")
    log.write(cache + " " + str(os.listdir(cache) if cache else None) + "\\n")
time.sleep({sleep})
print(first.value())
{extra}
```
"""
)

MODULES = {
    "__init__.py": '"""A tiny package."""\n',
    "shared.py": 'def word():\n    return "alpha"\n',
    "first.py": "from .shared import word\n\n\ndef value():\n    return word()\n",
}


def write_package(folder):
    (folder / "tinypkg").mkdir(parents=True, exist_ok=True)
    for name, text in MODULES.items():
        (folder / "tinypkg" / name).write_text(text)


def write_chapter(folder, name, sleep, extra="", title=None):
    page = folder / "book" / "part1" / f"{name}.md"
    page.parent.mkdir(parents=True, exist_ok=True)
    text = CHAPTER.format(
        title=title or f"Chapter {name}",
        root=str(folder),
        log=str(folder / f"{name}.log"),
        sleep=sleep,
        extra=extra,
    )
    page.write_text(text)
    return page


# --- the writer ------------------------------------------------------------------------


def test_keys_are_those_of_full_scale_page_key(tmp_path):
    write_package(tmp_path)
    fake = write_chapter(tmp_path, "fake", 0)
    real = [ROOT / "book/part8/pretraining.md"]  # imports full_scale, which the key leaves out
    assert timings.page_keys(real) == {page: page_key(page) for page in real}
    package = tmp_path / "tinypkg"
    assert timings.page_keys([fake], package)[fake] == page_key(fake, package)
    before = page_key(fake, package)
    (package / "shared.py").write_text('def word():\n    return "beta"\n')
    assert timings.page_keys([fake], package)[fake] == page_key(fake, package) != before


def test_the_writer_times_a_chapter_from_an_empty_cache_and_keeps_the_others(tmp_path):
    write_package(tmp_path)
    fast = write_chapter(tmp_path, "fast", 0.6)
    broken = write_chapter(tmp_path, "broken", 0, extra="raise RuntimeError('a bug')")
    path = tmp_path / "results" / "timings.json"
    other = {"seconds": 42.0, "page_key": "0" * 64, "scale": "quick", "note": "kept"}
    timings.save({"book/part9/other.md": other}, path)
    lines = []
    status = timings.run(
        [fast, broken], root=tmp_path, path=path, package_dir=tmp_path / "tinypkg", out=lines.append
    )
    assert status == 1  # the broken chapter
    assert "book/part1/broken.md: FAILED" in lines[1] and "a bug" in lines[1]
    entries = timings.load(path)
    assert set(entries) == {"book/part1/fast.md", "book/part9/other.md"}
    assert entries["book/part9/other.md"] == other
    recorded = entries["book/part1/fast.md"]
    assert 0.6 < recorded["seconds"] < 60  # the whole run: interpreter, kernel, the sleep
    assert recorded["page_key"] == page_key(fast, tmp_path / "tinypkg")
    assert recorded["scale"] == "quick" and recorded["commit"] is None  # not a git checkout
    assert recorded["machine"]["cores"] == os.cpu_count() and recorded["date"][:2] == "20"
    assert "within the 90 s budget" in lines[0]
    cache, listed = (tmp_path / "fast.log").read_text().split(" ", 1)
    assert listed.strip() == "[]"  # the result cache was empty when the page ran...
    assert Path(cache).name.startswith("timings-cache-") and not Path(cache).exists()
    default = os.environ.get("GENERALIZATION_CACHE")
    assert cache != default  # ...and was not the user's


def test_a_malformed_timings_file_is_refused(tmp_path):
    path = tmp_path / "timings.json"
    path.write_text(json.dumps({"chapters": {"book/part1/a.md": {"seconds": "fast"}}}))
    with pytest.raises(ValueError, match="must have 'seconds' and 'page_key'"):
        timings.load(path)
    path.write_text(json.dumps([1, 2]))
    with pytest.raises(ValueError, match="must hold an object 'chapters'"):
        timings.load(path)
    assert timings.load(tmp_path / "absent.json") == {}


def test_the_summary_names_the_chapters_over_budget_and_the_total():
    budget = timings.rows(
        ["book/part1/a.md", "book/part1/b.md", "book/part1/c.md", "book/part1/d.md"],
        {
            "book/part1/a.md": {"seconds": 95.0, "page_key": "k1", "scale": "quick"},
            "book/part1/b.md": {"seconds": 1400.0, "page_key": "old", "scale": "quick"},
            "book/part1/c.md": {"seconds": 30.0, "page_key": "k3", "scale": "full"},
        },
        {"book/part1/a.md": "k1", "book/part1/b.md": "k2", "book/part1/c.md": "k3"},
    )
    assert [(r.seconds, r.stale) for r in budget] == [
        (95.0, False),
        (1400.0, True),
        (None, None),  # measured at full scale: not this budget's
        (None, None),
    ]
    line = timings.summary(budget)
    assert line.startswith("2 over the 90 s budget from cold: book/part1/a.md (95 s), ")
    assert "book/part1/b.md (1400 s, stale)" in line
    assert "total 24.9 min for 2 of 4 chapters, within the 25 min budget (2 not measured)" in line
    assert "1 timings stale" in line
    line = timings.summary(budget[:1], chapter_budget=100, book_budget=60)
    assert line.startswith("no chapter over the 100 s budget")
    assert "over the 60 s budget" in line and "stale" not in line


# --- the extension ---------------------------------------------------------------------


def write_book(folder):
    write_package(folder)
    write_chapter(folder, "a", 1.2, title="Slow chapter")
    for name in ("b", "c"):
        page = folder / "book" / "part1" / f"{name}.md"
        page.write_text(f"# Chapter {name}\n\nProse only.\n")
    (folder / "budget.md").write_text("# Budget\n\n```{time-budget}\n```\n")
    (folder / "index.md").write_text("# Tiny book\n\nA test.\n")
    (folder / "_toc.yml").write_text(
        "format: jb-book\nroot: index\nchapters:\n"
        + "".join(f"- file: book/part1/{n}\n" for n in "abc")
        + "- file: budget\n"
    )
    (folder / "_config.yml").write_text(
        textwrap.dedent(f"""\
        title: Tiny
        only_build_toc_files: true
        execute:
          execute_notebooks: cache
        sphinx:
          config:
            time_budget_package_dir: tinypkg
            time_budget_chapter_s: 1.0
            time_budget_book_s: 3.0
          local_extensions:
            time_budget: {ROOT / "book" / "_ext"}
        """)
    )
    a = folder / "book" / "part1" / "a.md"
    entry = {
        "scale": "quick",
        "commit": "abcdef1234567890",
        "uncommitted_changes": False,
        "date": "2026-11-30T11:43:10+00:00",
        "machine": {"processor": "Test CPU", "cores": 2, "memory_gb": 24.0},
        "note": "",
    }
    timings.save(
        {
            "book/part1/a.md": {
                **entry,
                "seconds": 2.6,
                "page_key": timings.page_keys([a], folder / "tinypkg")[a],
            },
            "book/part1/b.md": {**entry, "seconds": 0.5, "page_key": "0" * 64},
            "book/part9/gone.md": {**entry, "seconds": 500.0, "page_key": "0" * 64},
        },
        folder / "results" / "timings.json",
    )


def build(folder):
    """Build with warnings as errors; return the table's rows (cell texts, with the bold ones
    marked *like this*), the text under it, and the budget line of the build's output."""
    done = build_strictly(folder)
    soup = BeautifulSoup((folder / "_build" / "html" / "budget.html").read_text(), "html.parser")
    table = soup.find("table", class_="time-budget-table")
    for strong in table.find_all("strong"):
        strong.replace_with(f"*{strong.get_text()}*")
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")] for tr in table.tbody("tr")]
    links = [a["href"] for a in table.find_all("a")]
    below = soup.find("p", class_="time-budget-provenance").get_text(" ", strip=True)
    line = [x for x in done.stdout.splitlines() if x.startswith("time budget: ")]
    assert len(line) == 1, done.stdout[-3000:]
    return rows, links, below, line[0]


def test_the_budget_table_and_the_line_at_the_end_of_the_build(tmp_path):
    write_book(tmp_path)
    rows, links, below, line = build(tmp_path)
    assert rows == [
        ["Slow chapter", "2.6 s", "*over*", "unchanged"],
        ["Chapter b", "0.5 s", "within", "*stale: changed*"],  # its recorded key is not its own
        ["Chapter c", "not measured", "–", "–"],
        ["*Total: 2 of 3 chapters measured*", "3.1 s", "*over 3 s*", "1 stale"],
    ]  # the page that is no longer in the book counts nowhere
    assert links == ["book/part1/a.html", "book/part1/b.html", "book/part1/c.html"]
    assert "2 cores of Test CPU with 24 GB, 2026-11-30, from commit abcdef1." in below
    assert line.startswith("time budget: 1 over the 1 s budget from cold: book/part1/a.md (3 s)")
    assert "total 3.1 s for 2 of 3 chapters, over the 3 s budget (1 not measured)" in line
    assert re.search(r"; executed in this build over 1 s: book/part1/a \(\d+ s\)$", line)

    # The code page a imports changes; nothing else does. Its timing is now stale, and the
    # page is served from the execution cache (it is not the cache guard's book), so it was
    # not executed in this build.
    (tmp_path / "tinypkg" / "shared.py").write_text('def word():\n    return "beta"\n')
    rows, _, _, line = build(tmp_path)
    assert rows[0] == ["Slow chapter", "2.6 s", "*over*", "*stale: changed*"]
    assert rows[-1][-1] == "2 stale"
    assert "book/part1/a.md (3 s, stale)" in line and "2 timings stale" in line
    assert line.endswith("executed in this build over 1 s: none")

"""generalization.book.cache: code keys per module and page, and the result cache built on them.

The key tests run on a copy of the real package, so the counts they assert are those of the
book: which chapters an edit re-runs.
"""

import shutil
import textwrap
from pathlib import Path

import pytest

from generalization.book import cache

CHAPTERS = sorted(
    name
    for name in cache.module_files()
    if name.startswith("generalization.chapters.part")
    and name.count(".") == 3  # generalization.chapters.partN.<chapter>, not the part packages
)


@pytest.fixture
def package(tmp_path):
    """A copy of the package to edit, and the keys of every chapter before the edit."""
    copy = tmp_path / "generalization"
    shutil.copytree(cache.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = {name: cache.code_key([name], copy, files=()) for name in CHAPTERS}
    return copy, before


def changed(copy, before):
    return sorted(
        name.rsplit(".", 1)[1]
        for name in CHAPTERS
        if cache.code_key([name], copy, files=()) != before[name]
    )


def edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_every_chapter_of_the_table_of_contents_has_its_module():
    import yaml

    toc = yaml.safe_load((Path(cache.PACKAGE_DIR).parents[1] / "_toc.yml").read_text())
    pages = [
        chapter["file"]
        .removesuffix(".md")
        .replace("book/", "generalization.chapters.")
        .replace("/", ".")
        for part in toc["parts"]
        if part.get("numbered")
        for chapter in part["chapters"]
    ]
    assert CHAPTERS == sorted(pages) and len(CHAPTERS) >= 11


def test_editing_a_method_used_by_one_chapter_reruns_that_chapter_only(package):
    copy, before = package
    edit(
        copy / "variance.py",
        "return float(np.mean((f_k - target) ** 2))",
        "return float(np.mean((f_k - target) ** 2)) + 0.0",
    )
    assert changed(copy, before) == ["double_trouble"]


def test_editing_a_method_reruns_exactly_the_chapters_that_import_it_through_others(package):
    copy, before = package
    # linear (the ridge solver) is imported by six chapters; augment by rethinking and bad_minima
    edit(
        copy / "linear.py",
        "return float(risk) if risk.ndim == 0 else risk",
        "return float(risk) if risk.ndim == 0 else 1.0 * risk",
    )
    assert changed(copy, before) == [
        "benign",
        "deep_equals_shallow",
        "double_descent",
        "double_trouble",
        "min_norm",
        "triple_descent",
    ]
    edit(
        copy / "augment.py",
        'max_shift = checks.count("max_shift", max_shift)',
        'max_shift = int(checks.count("max_shift", max_shift))',
    )
    assert changed(copy, before) == [
        "bad_minima",
        "benign",
        "deep_equals_shallow",
        "double_descent",
        "double_trouble",
        "min_norm",
        "rethinking",
        "triple_descent",
    ]


def test_editing_a_chapter_module_reruns_that_chapter_only(package):
    copy, before = package
    edit(
        copy / "chapters" / "part2" / "triple_descent.py",
        "ABS_MEAN = np.sqrt(2.0 / np.pi)",
        "ABS_MEAN = np.sqrt(2 / np.pi)",
    )
    assert changed(copy, before) == ["triple_descent"]


def test_docstrings_comments_and_layout_do_not_count(package):
    copy, before = package
    path = copy / "kernels.py"
    text = path.read_text()
    text = text.replace(
        '"""Gaussian and Laplace kernels', '"""Edited: Gaussian and Laplace kernels', 1
    )
    text = text.replace("# the one matrix product of the block", "# an edited comment")
    text = text.replace(
        'KERNELS = ("gaussian", "laplace")', 'KERNELS = (\n    "gaussian",\n    "laplace",\n)'
    )
    path.write_text(text)
    assert changed(copy, before) == []


def test_editing_the_shared_checks_reruns_every_chapter_that_validates(package):
    copy, before = package
    edit(copy / "checks.py", "return int(value)", "return int(value) + 0")
    # every chapter validates its arguments with checks, directly or through the methods it calls
    assert changed(copy, before) == sorted(name.rsplit(".", 1)[1] for name in CHAPTERS)


def test_requirements_and_extra_enter_the_key(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy==2\n")
    name = "generalization.linear"
    first = cache.code_key([name], files=[requirements])
    requirements.write_text("numpy==3\n")
    assert cache.code_key([name], files=[requirements]) != first
    assert cache.code_key([name], files=[requirements], extra="scale full") != cache.code_key(
        [name], files=[requirements]
    )


def test_import_graph_reads_relative_absolute_and_function_level_imports():
    graph = cache.import_graph()
    assert "generalization.checks" in graph["generalization.augment"]  # from .checks import count
    assert (
        "generalization.kernels" in graph["generalization.chapters.part2.double_descent"]
    )  # inside a function
    assert {"generalization.bank", "generalization.pca", "generalization.book.cache"} <= graph[
        "generalization.chapters.part2.deep_double_descent"
    ]
    # importing a chapter runs the __init__ of every package above it
    assert {"generalization", "generalization.chapters", "generalization.chapters.part1"} <= graph[
        "generalization.chapters.part1.rethinking"
    ]
    with pytest.raises(ValueError, match="names must be modules of the package; got"):
        cache.dependencies(["generalization.nothing"], graph)


def test_page_modules_come_from_code_cells_only():
    page = textwrap.dedent("""\
        # A page

        `from generalization import kernels` in the prose imports nothing.

        ```{code-cell} ipython3
        :tags: [remove-cell]
        %matplotlib inline
        from generalization import data, nets
        from generalization.chapters.part1 import rethinking as rt
        from generalization.book.ledger import Ledger
        import numpy as np
        ```

        ```python
        from generalization import features
        ```
        """)
    assert cache.page_imports(page) == {
        "generalization",
        "generalization.data",
        "generalization.nets",
        "generalization.chapters.part1",
        "generalization.chapters.part1.rethinking",
        "generalization.book.ledger",
        "generalization.book.ledger.Ledger",
    }
    modules = cache.page_modules(page)
    assert (
        "generalization.chapters.part1.rethinking" in modules and "generalization.book" in modules
    )
    assert "generalization.kernels" not in modules and "generalization.features" not in modules


def test_cached_runs_once_per_arguments(tmp_path, monkeypatch):
    monkeypatch.setenv("GENERALIZATION_CACHE", str(tmp_path))
    cache.memory.cache_clear()
    calls = []

    def square(x):
        calls.append(x)
        return x * x

    fast = cache.cached(square)
    assert fast(3) == 9 and fast(3) == 9 and fast(4) == 16
    assert calls == [3, 4]
    assert fast.uncached(3) == 9 and calls == [3, 4, 3]
    cache.memory.cache_clear()


def test_results_of_a_module_live_under_its_key_and_stale_keys_are_pruned(tmp_path, monkeypatch):
    monkeypatch.setenv("GENERALIZATION_CACHE", str(tmp_path))
    module = "generalization.chapters.part2.min_norm"
    stale = tmp_path / module / ("0" * 16)
    legacy = tmp_path / ("1" * 16)  # the earlier layout: one folder per whole-package hash
    other = (
        tmp_path / "generalization.chapters.part1.rethinking" / ("2" * 16)
    )  # another chapter: kept
    notes = tmp_path / "notes"  # not a cache folder of ours
    for folder in (stale, legacy, other, notes):
        folder.mkdir(parents=True)
    cache.memory.cache_clear()
    location = cache.memory(module).location
    assert str(location) == str(tmp_path / module / cache.code_key([module])[:16])
    assert not stale.exists() and not legacy.exists() and other.exists() and notes.exists()
    cache.memory.cache_clear()


def test_code_cells_are_the_cells_sources_without_their_options():
    page = textwrap.dedent("""\
        # A page

        ```{code-cell} python
        :tags: [remove-cell]
        x = 1
        ```

        Prose.

        ````{code-cell} ipython3
        ---
        tags: [hide-input]
        ---
        y = {"a": 1}
        ````
        """)
    assert cache.code_cells(page) == ["x = 1", 'y = {"a": 1}']

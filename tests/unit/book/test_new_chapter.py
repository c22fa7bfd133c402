"""make new-chapter writes a chapter's page, module and claims tests from the templates."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "book" / "_ext" / "new_chapter.py"
sys.path.insert(0, str(SCRIPT.parent))
import new_chapter  # noqa: E402


@pytest.fixture
def chapter(tmp_path):
    paths = new_chapter.new_chapter(4, "kernel_regime", "The kernel regime", root=tmp_path)
    return tmp_path, paths


def test_the_files_are_written_at_the_mirrored_paths(chapter):
    root, paths = chapter
    assert [p.relative_to(root).as_posix() for p in paths] == [
        "book/part4/kernel_regime.md",
        "code/generalization/chapters/part4/kernel_regime.py",
        "tests/claims/part4/test_kernel_regime.py",
        "tests/claims/part4/kernel_regime.yml",
    ]
    assert (
        (root / "code/generalization/chapters/part4/__init__.py")
        .read_text()
        .startswith('"""Part 4')
    )
    for path in paths:
        assert "$" not in re.sub(r"\$[^$\n]+\$", "", path.read_text()), (
            f"a placeholder is left in {path.name}"
        )


def test_the_page_follows_the_book_template(chapter):
    page = chapter[1][0].read_text()
    for section in (
        "## Overview",
        "## Reproduction ledger",
        "## Summary",
        "## Exercises",
        "## References",
    ):
        assert re.search(rf"^{re.escape(section)}\s*$", page, re.M), section
    assert page.startswith("---\njupytext:") and "(kernel-regime)=\n# The kernel regime" in page
    assert "announce_scale()" in page and ".glue()" in page and "{glue:md} ledger" in page
    assert "{footbibliography}" in page and "{exercise}" in page and "{solution}" in page
    assert "from generalization.chapters.part4 import kernel_regime" in page
    assert "name: fig-kernel-regime" in page and "{numref}`fig-kernel-regime`" in page


def test_the_module_passes_the_linter_and_fails_loudly_until_written(
    chapter, monkeypatch, tmp_path
):
    root, paths = chapter
    ruff = [str(Path(sys.executable).with_name("ruff")), "--config", str(ROOT / "ruff.toml")]
    for command in (["check"], ["format", "--check"]):
        lint = subprocess.run(
            ruff[:1] + command + ruff[1:] + [str(p) for p in paths[1:3]],
            capture_output=True,
            text=True,
        )
        assert lint.returncode == 0, lint.stdout
    monkeypatch.setenv("GENERALIZATION_CACHE", str(tmp_path / "cache"))
    spec = importlib.util.spec_from_file_location("kernel_regime", paths[1])
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "kernel_regime", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    assert module.settings("quick")["seeds"] == (0, 1, 2) and module.settings(
        "full"
    ) != module.settings("quick")
    with pytest.raises(
        NotImplementedError, match="WRITE: the experiment of book/part4/kernel_regime.md"
    ):
        module.experiment.uncached((0,))
    claims = paths[2].read_text()
    assert 'kernel_regime.experiment(S["seeds"])' in claims and "def test_" in claims


def test_nothing_is_overwritten(chapter):
    root, paths = chapter
    paths[0].write_text("my chapter")
    with pytest.raises(
        ValueError, match="the chapter's files must not exist yet; got .*kernel_regime.md"
    ):
        new_chapter.new_chapter(4, "kernel_regime", "Again", root=root)
    assert paths[0].read_text() == "my chapter"


@pytest.mark.parametrize(
    "part, name, title, message",
    [
        (9, "x", "X", "PART must be an integer from 1 to 8 (a part of the book); got 9."),
        ("three", "x", "X", "PART must be an integer from 1 to 8 (a part of the book); got None."),
        (
            3,
            "Mirror-Descent",
            "X",
            "NAME must be a lower-case Python identifier (letters, digits, _); "
            "got 'Mirror-Descent'.",
        ),
        (3, "mirror", " ", "TITLE must be the chapter's title; got ' '."),
    ],
)
def test_bad_arguments_are_rejected(tmp_path, part, name, title, message):
    with pytest.raises(ValueError) as info:
        new_chapter.new_chapter(part, name, title, root=tmp_path)
    assert str(info.value) == message
    assert not any(tmp_path.iterdir())


def test_the_command_says_what_to_do_next(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "3",
            "mirror_descent",
            "Mirror descent",
            "--root",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "- file: book/part3/mirror_descent.md" in done.stdout
    again = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "3",
            "mirror_descent",
            "Mirror descent",
            "--root",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 2 and again.stderr.startswith(
        "new-chapter: the chapter's files must not exist yet"
    )


def test_the_checks_file_lists_a_mutation_to_write(chapter):
    import mutate

    root, paths = chapter
    assert paths[3].read_text().count("WRITE") == 3
    with pytest.raises(ValueError, match="must occur exactly once"):
        mutate.load_mutations("book/part4/kernel_regime.md", root=root)

"""Every chapter lists at least three plausible bugs its claims must catch (``make mutate``).

The mutation run itself is slow (each bug recomputes the chapter's experiments) and is not
part of the gate; these tests check that every list exists and still applies to the code,
and that the tool applies a mutation in a copy and reports the claim that catches it.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import mutate  # noqa: E402

PAGES = mutate.chapters()


@pytest.mark.parametrize("page", PAGES)
def test_every_chapter_lists_three_mutations_that_apply(page):
    mutations = mutate.load_mutations(page)
    assert len(mutations) >= 3, f"{page}: list at least three mutations"
    files = {m["file"] for m in mutations}
    assert all(f.startswith("code/generalization/") for f in files)


def test_a_mutation_that_no_longer_applies_is_reported(tmp_path):
    (tmp_path / "tests" / "claims" / "part9").mkdir(parents=True)
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "m.py").write_text("x = 1\nx = 1\n")
    (tmp_path / "tests" / "claims" / "part9" / "toy.yml").write_text(
        "mutations:\n  - {file: code/m.py, old: 'x = 1', new: 'x = 2', why: twice}\n"
    )
    with pytest.raises(ValueError, match="must occur exactly once.*got 2 times"):
        mutate.load_mutations("book/part9/toy.md", root=tmp_path)


def test_the_tool_reports_the_claim_that_catches_a_mutation(tmp_path):
    root = tmp_path / "repo"
    (root / "code" / "toypkg").mkdir(parents=True)
    (root / "code" / "toypkg" / "__init__.py").write_text("def double(x):\n    return 2 * x\n")
    (root / "tests" / "claims" / "part9").mkdir(parents=True)
    (root / "tests" / "conftest.py").write_text("")
    (root / "requirements.txt").write_text("")
    (root / "data").mkdir()
    (root / "tests" / "claims" / "part9" / "test_toy.py").write_text(
        "from toypkg import double\n\n\ndef test_doubling_doubles():\n    assert double(3) == 6\n"
    )
    caught, _ = mutate.run_one(
        "book/part9/toy.md",
        {"file": "code/toypkg/__init__.py", "old": "2 * x", "new": "x + x"},
        root,
    )
    assert caught is None  # an equivalent rewrite is not a bug
    caught, _ = mutate.run_one(
        "book/part9/toy.md",
        {"file": "code/toypkg/__init__.py", "old": "2 * x", "new": "3 * x"},
        root,
    )
    assert caught == "test_doubling_doubles"
    assert (
        "2 * x" in (root / "code" / "toypkg" / "__init__.py").read_text()
    )  # the repository untouched

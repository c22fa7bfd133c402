"""`generalization.book.git.commit_state` against git itself, in a scratch repository."""

import subprocess

from generalization.book.git import commit_state


def _git(root, *args):
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_commit_and_dirty_paths(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("one\n")
    (tmp_path / "b.txt").write_text("two\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "first")
    head = _git(tmp_path, "rev-parse", "HEAD")

    clean = commit_state(tmp_path, ["a", "b.txt"])
    assert (clean.commit, clean.dirty) == (head, False)
    assert clean.short() == head[:7] and clean.short(10) == head[:10]

    (tmp_path / "b.txt").write_text("changed\n")
    assert commit_state(tmp_path, ["a"]).dirty is False  # only b.txt changed
    assert commit_state(tmp_path, [tmp_path / "b.txt"]).dirty is True  # absolute paths work
    assert commit_state(tmp_path).dirty is True  # no paths: the whole tree

    (tmp_path / "b.txt").write_text("two\n")
    (tmp_path / "a" / "new.txt").write_text("untracked\n")
    assert commit_state(tmp_path, ["a"]).dirty is True  # untracked files count


def test_outside_a_checkout(tmp_path):
    state = commit_state(tmp_path / "nowhere")
    assert (state.commit, state.dirty) == (None, None)
    assert state.short() == "unknown"

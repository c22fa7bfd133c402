"""`generalization.book.git.commit_state` against git itself, in a scratch repository."""

from generalization.book.git import commit_state


def test_commit_and_dirty_paths(tmp_path, git):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("one\n")
    (tmp_path / "b.txt").write_text("two\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "first")
    head = git(tmp_path, "rev-parse", "HEAD")

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

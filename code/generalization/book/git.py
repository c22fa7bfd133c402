"""The commit a result belongs to: one place that asks git.

Three things record which code produced them: the footer and citation of every page
(`generalization.book.cite`), the full-scale recordings (`generalization.book.full_scale`)
and the claims report (``tests/claims/conftest.py``). Each wants the commit and whether the
files it depends on differ from it; all three ask here, so they agree on both.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CommitState:
    """``commit``: the full hash of HEAD, or None outside a git checkout (or without git);
    ``dirty``: whether any of the paths asked about has uncommitted changes (None when
    ``commit`` is None)."""

    commit: str | None
    dirty: bool | None

    def short(self, length=7):
        """The abbreviated commit, or ``"unknown"`` outside a checkout."""
        return self.commit[:length] if self.commit else "unknown"


def commit_state(root, paths=()):
    """HEAD of the checkout at ``root``, and whether ``paths`` (files or folders, absolute or
    relative to ``root``) have uncommitted changes, staged, unstaged or untracked. With no
    paths, the whole tree is asked about. Never raises: outside a checkout both are None."""
    root = Path(root)

    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--", *(str(p) for p in paths))
    except (OSError, subprocess.SubprocessError):
        return CommitState(None, None)
    return CommitState(commit, bool(dirty))

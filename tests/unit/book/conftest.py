"""Fixtures shared by the tests of the book's tooling."""

import subprocess

import pytest


@pytest.fixture
def git():
    """``git(folder, *args)``: run git in a scratch repository, as a throwaway author; return
    its output, stripped. Raises if git fails."""

    def run(folder, *args):
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=folder,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    return run

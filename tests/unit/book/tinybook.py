"""Building a tiny book inside a test: the strict build command, its environment, and the
front matter of a MyST notebook page. Shared by the tests that build small books with the
project's extensions."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")

MYST_HEADER = """\
---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  name: python3
  display_name: Python 3
---
"""
"""The front matter that makes a ``.md`` file a notebook page."""


def command(folder):
    """The book's own strict build: warnings are errors, every reference checked."""
    return [str(JUPYTER_BOOK), "build", str(folder), "-W", "-n", "--keep-going"]


def environment(scale="quick", **extra):
    """The test process's environment with the package importable and ``BOOK_SCALE`` set."""
    return {**os.environ, "PYTHONPATH": str(ROOT / "code"), "BOOK_SCALE": scale, **extra}


def build_strictly(folder, env=None, timeout=300):
    """Build ``folder``; fail the test with the build's last output unless it succeeded."""
    done = subprocess.run(
        command(folder),
        capture_output=True,
        text=True,
        env=environment() if env is None else env,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done

"""Shared pytest setup: tests run from any folder and never touch the network."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "code") not in sys.path:  # also works without the editable install
    sys.path.insert(0, str(ROOT / "code"))

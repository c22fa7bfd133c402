"""Write what this run of the claims found to ``_build/claims-report.json``.

The book's Claims page (``book/claims.md``, filled in by ``book/_ext/claims_page.py``) lists
every claims test with the sentence it checks; when this report exists it also shows each
test's outcome and time, and which commit and scale the run was made at. Under pytest-xdist
the workers send their reports to the controller, which alone writes the file.
``CLAIMS_REPORT`` names another file; ``CLAIMS_REPORT=""`` writes none.
"""

import datetime
import json
import os
from pathlib import Path

from generalization.book.git import commit_state

ROOT = Path(__file__).resolve().parents[2]
_RESULTS = {}


def _report_path():
    wanted = os.environ.get("CLAIMS_REPORT")
    if wanted == "":
        return None
    return Path(wanted) if wanted else ROOT / "_build" / "claims-report.json"


def pytest_runtest_logreport(report):
    entry = _RESULTS.setdefault(report.nodeid, {"outcome": "passed", "duration_s": 0.0})
    entry["duration_s"] += report.duration
    if report.failed:
        entry["outcome"] = "failed" if report.when == "call" else "error"
    elif report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"


def pytest_sessionfinish(session, exitstatus):
    path = _report_path()
    if path is None or hasattr(session.config, "workerinput") or not _RESULTS:
        return
    state = commit_state(ROOT, ["code", "tests", "requirements.txt"])
    report = {
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": state.short(),
        "uncommitted_changes": bool(state.dirty),
        "scale": os.environ.get("BOOK_SCALE", "quick").strip().lower() or "quick",
        "exit_status": int(exitstatus),
        "tests": _RESULTS,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=1) + "\n", encoding="utf8")
    tmp.replace(path)

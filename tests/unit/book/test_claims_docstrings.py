"""Every claims test states, in its docstring, the claim of its chapter that it checks.

The docstring is one plain-English sentence a reader of the chapter would recognise, so it
must exist and stay short. The files are parsed, not imported: importing a claims module
would load the chapter's code and its data.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CLAIMS = sorted((ROOT / "tests" / "claims").glob("part*/test_*.py"))
MAX_CHARS = 300


def claims_tests():
    """``(path relative to the root, function name, docstring or None)`` of every claims test."""
    found = []
    for path in CLAIMS:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith(
                "test_"
            ):
                found.append((path.relative_to(ROOT), node.name, ast.get_docstring(node)))
    return found


def test_claims_tests_are_found():
    assert CLAIMS, "no tests/claims/part*/test_*.py found"
    assert claims_tests(), "no test_* function found in tests/claims/part*/test_*.py"


def test_every_claims_test_has_a_docstring():
    missing = [f"{path}::{name}" for path, name, doc in claims_tests() if not doc]
    assert not missing, "claims tests without a docstring:\n" + "\n".join(missing)


def test_claims_docstrings_are_short():
    long = [
        f"{path}::{name} ({len(doc)} characters)"
        for path, name, doc in claims_tests()
        if doc and len(doc) > MAX_CHARS
    ]
    assert not long, f"claims docstrings longer than {MAX_CHARS} characters:\n" + "\n".join(long)

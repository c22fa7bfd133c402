"""Start a chapter: ``make new-chapter PART=3 NAME=mirror_descent TITLE="Mirror descent"``.

Writes, from the templates in ``book/_ext/templates``, the files of a chapter at their
mirrored paths:

* ``book/partN/<name>.md``: the page, with the book's sections (overview, theory, experiment,
  reproduction ledger, summary, exercises, references) and a figure, glued numbers and a
  ledger wired to the chapter module;
* ``code/generalization/chapters/partN/<name>.py``: the chapter module, with settings per
  scale and a cached ``experiment`` that raises ``NotImplementedError`` until it is written;
* ``tests/claims/partN/test_<name>.py``: the claims tests, calling the same experiment;
* ``tests/claims/partN/<name>.yml``: the chapter's standing checks, its list of mutations
  for ``make mutate`` and the numbers its prose may hold without glue.

Every place to fill in says ``WRITE``. Nothing is overwritten. The chapter is not added to
``_toc.yml``: list it there when its experiment runs; until then ``make test`` fails (the
claims test calls the unwritten experiment, and the layout test finds a chapter module
without a page in the table of contents), so a half-written chapter cannot land.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from string import Template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = Path(__file__).resolve().parent / "templates"
PARTS = range(1, 9)  # the eight parts of the reading list


def targets(root, part, name):
    """``{template file: path of the file it becomes}`` for chapter ``name`` of part ``part``."""
    root = Path(root)
    return {
        "chapter.md.tmpl": root / "book" / f"part{part}" / f"{name}.md",
        "chapter.py.tmpl": root
        / "code"
        / "generalization"
        / "chapters"
        / f"part{part}"
        / f"{name}.py",
        "test_chapter.py.tmpl": root / "tests" / "claims" / f"part{part}" / f"test_{name}.py",
        "chapter.yml.tmpl": root / "tests" / "claims" / f"part{part}" / f"{name}.yml",
    }


def check(part, name, title):
    """``(part, name, title)`` checked; ValueError naming what was expected and what was got."""
    try:
        part = int(part)
    except ValueError:
        part = None
    if part not in PARTS:
        raise ValueError(f"PART must be an integer from 1 to 8 (a part of the book); got {part!r}.")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name or ""):
        raise ValueError(
            f"NAME must be a lower-case Python identifier (letters, digits, _); got {name!r}."
        )
    if not (title or "").strip():
        raise ValueError(f"TITLE must be the chapter's title; got {title!r}.")
    return part, name, title.strip()


def new_chapter(part, name, title, root=ROOT):
    """Write the chapter's page, module and claims tests; return their paths.

    Raises
    ------
    ValueError
        If an argument is malformed or a file of the chapter exists already.
    """
    part, name, title = check(part, name, title)
    paths = targets(root, part, name)
    existing = [str(p) for p in paths.values() if p.exists()]
    if existing:
        raise ValueError(f"the chapter's files must not exist yet; got {', '.join(existing)}.")
    values = dict(part=part, name=name, title=title, label=name.replace("_", "-"))
    package = Path(root) / "code" / "generalization" / "chapters" / f"part{part}" / "__init__.py"
    if not package.exists():
        package.parent.mkdir(parents=True, exist_ok=True)
        package.write_text(f'"""Part {part} of the book."""\n')
    for template, path in paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template((TEMPLATES / template).read_text()).substitute(values))
    return list(paths.values())


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part")
    parser.add_argument("name")
    parser.add_argument("title")
    parser.add_argument("--root", default=str(ROOT), help="repository root (default: this one)")
    args = parser.parse_args(argv)
    try:
        written = new_chapter(args.part, args.name, args.title, args.root)
    except ValueError as error:
        print(f"new-chapter: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    print(
        f"\nFill in every WRITE, add the paper to book/references.bib, then run\n"
        f"  make chapter CHAPTER=book/part{args.part}/{args.name}.md\n"
        f"and, once the experiment runs, list it in _toc.yml under Part {args.part}:\n"
        f"  - file: book/part{args.part}/{args.name}.md\n"
        f"Until then `make test` fails on purpose: the chapter is not finished."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

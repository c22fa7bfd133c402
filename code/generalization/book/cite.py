"""How to cite the book and each of its chapters, from one source of truth.

Every citation the book shows is made here: the "Cite this chapter" box of each chapter page
and its downloadable ``.bib`` file (written by ``book/_ext/reader.py`` at build time), the
footer of every page, and the README's "How to cite" block. They are made from

* the book's metadata in ``_config.yml``: ``title``, ``author``, ``copyright`` (the year)
  and ``html.baseurl`` (the address the site is published at; the environment variable
  ``BOOK_BASEURL`` overrides it);
* the release version, :data:`generalization.__version__`;
* the build: the commit the book was built from, whether the tree had uncommitted changes,
  the date and the scale (:func:`build_info`);
* for a chapter, its title, number and document name.

A chapter's numbers are those of the commit it was built from, so the commit is part of
every chapter citation: a reader who cites it cites the numbers they saw.
"""

from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from .. import scale as current_scale
from .cache import PACKAGE_DIR
from .git import commit_state

ROOT = PACKAGE_DIR.parents[1]
"""The repository root, which holds ``_config.yml``."""

LICENSES = {
    "text": ("CC-BY-4.0", "CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/"),
    "code": ("MIT", "MIT", "https://opensource.org/license/mit"),
}
"""The book's two licences, as (SPDX identifier, short name, address): the text, figures and
tables under Creative Commons Attribution 4.0, the code (``code/``, ``tests/``, ``book/_ext``,
``benchmarks/``) under the MIT licence."""

_BIBTEX_SPECIAL = re.compile(r"([&%$#_{}])")


@dataclass(frozen=True)
class Book:
    """What a citation of the book says about the book itself."""

    title: str
    authors: tuple[str, ...]
    year: str
    version: str
    baseurl: str


@dataclass(frozen=True)
class Build:
    """Which build of the book a citation refers to."""

    commit: str
    dirty: bool
    date: str
    scale: str

    @property
    def label(self):
        """``commit 1a2b3c4`` with ``+ uncommitted changes`` when the tree was not clean."""
        return f"commit {self.commit}" + (" + uncommitted changes" if self.dirty else "")


def book_metadata(config=None):
    """The book's metadata from ``_config.yml`` (the repository's, unless ``config`` is given).

    ``author`` may list several authors separated by ``" and "``, as BibTeX does.
    """
    import yaml

    path = Path(config) if config is not None else ROOT / "_config.yml"
    data = yaml.safe_load(path.read_text(encoding="utf8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a mapping; got {type(data).__name__}.")
    missing = [key for key in ("title", "author", "copyright") if not data.get(key)]
    if missing:
        raise ValueError(f"{path} must give {', '.join(missing)} for citations; got none.")
    baseurl = os.environ.get("BOOK_BASEURL") or str((data.get("html") or {}).get("baseurl") or "")
    if baseurl and not re.match(r"https?://", baseurl):
        raise ValueError(
            f"html.baseurl in {path} must start with http:// or https://; got {baseurl!r}."
        )
    authors = tuple(a.strip() for a in str(data["author"]).split(" and ") if a.strip())
    return Book(
        title=str(data["title"]),
        authors=authors,
        year=str(data["copyright"]),
        version=__version__,
        baseurl=baseurl.rstrip("/") + "/" if baseurl else "",
    )


def build_info(root=None, today=None):
    """The build a citation refers to: the short commit of ``root`` (``"unknown"`` outside a
    git checkout), whether ``code/``, ``book/``, ``_config.yml`` or ``requirements.txt`` have
    uncommitted changes, today's date (UTC) and the scale (``BOOK_SCALE``)."""
    root = Path(root) if root is not None else ROOT

    state = commit_state(root, ["code", "book", "_config.yml", "requirements.txt"])
    commit, dirty = state.short(), bool(state.dirty)
    today = today or datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    return Build(commit=commit, dirty=dirty, date=today, scale=current_scale())


def page_url(book, docname):
    """The address of page ``docname`` (``book/part2/kernel_mnist``) on the published site,
    or ``""`` when ``_config.yml`` gives no ``html.baseurl``."""
    _check_docname(docname)
    return f"{book.baseurl}{docname}.html" if book.baseurl else ""


def bibtex_key(docname, year):
    """A BibTeX key for a chapter: ``wdlg<year>_<page name>``, e.g. ``wdlg2026_kernel_mnist``."""
    _check_docname(docname)
    return f"wdlg{year}_{docname.rsplit('/', 1)[-1]}"


def chapter_bibtex(book, build, docname, title, number=None):
    """The BibTeX ``@incollection`` entry of one chapter, as built by ``build``."""
    _check_docname(docname)
    _check_title(title)
    fields = [
        ("title", "{" + _escape(title) + "}"),
        ("booktitle", "{" + _escape(book.title) + "}"),
        ("author", " and ".join("{" + _escape(a) + "}" for a in book.authors)),
        ("year", book.year),
    ]
    if number is not None:
        fields.append(("chapter", str(number)))
    fields += [
        ("version", f"{book.version}, {build.label}"),
        ("note", _escape(_note(build))),
    ]
    url = page_url(book, docname)
    if url:
        fields += [("url", url), ("urldate", build.date)]
    return _entry("incollection", bibtex_key(docname, book.year), fields)


def chapter_text(book, build, docname, title, number=None):
    """The plain-text citation of one chapter, as built by ``build``."""
    _check_docname(docname)
    _check_title(title)
    chapter = f"Chapter {number}, " if number is not None else ""
    url = page_url(book, docname)
    where = f" {url} (accessed {build.date})." if url else ""
    return (
        f"{_names(book.authors)} ({book.year}). {chapter}\u201c{title}.\u201d In "
        f"{book.title}, version {book.version} ({build.label}; {build.scale} scale).{where}"
    )


def book_bibtex(book, build=None):
    """The BibTeX ``@book`` entry of the whole book; without ``build`` it names no commit
    (the README's form: a reader adds the commit shown in the footer of the pages read)."""
    fields = [
        ("title", "{" + _escape(book.title) + "}"),
        ("author", " and ".join("{" + _escape(a) + "}" for a in book.authors)),
        ("year", book.year),
        ("version", book.version + (f", {build.label}" if build else "")),
        (
            "note",
            _escape(
                _note(build)
                if build
                else "Executable textbook: every number is recomputed when the book is built; "
                "cite the commit shown in the footer of the pages you read"
            ),
        ),
    ]
    if book.baseurl:
        fields.append(("url", book.baseurl))
    return _entry("book", f"wdlg{book.year}", fields)


def book_text(book, build=None):
    """The plain-text citation of the whole book (see :func:`book_bibtex`)."""
    which = f"version {book.version}" + (f" ({build.label})" if build else "")
    url = f" {book.baseurl}" if book.baseurl else ""
    return f"{_names(book.authors)} ({book.year}). {book.title}, {which}.{url}"


def footer_html(book, build):
    """The line at the foot of every page: version, commit, build date, scale, licences."""
    text, code = LICENSES["text"], LICENSES["code"]
    return (
        f'<p class="build-stamp">{_html(book.title)}, version {book.version}, '
        f"{_html(build.label)}, built {build.date} at {build.scale} scale. "
        f'Text and figures: <a href="{text[2]}">{text[1]}</a>; '
        f'code: <a href="{code[2]}">{code[1]}</a>.</p>'
    )


def _note(build):
    return (
        f"Built from {build.label} on {build.date} at {build.scale} scale; every number in "
        "the chapter is recomputed when the book is built"
    )


def _names(authors):
    if len(authors) <= 2:
        return " and ".join(authors)
    return ", ".join(authors[:-1]) + ", and " + authors[-1]


def _entry(kind, key, fields):
    width = max(len(name) for name, _ in fields)
    lines = [f"  {name.ljust(width)} = {_braced(value)}," for name, value in fields]
    return f"@{kind}{{{key},\n" + "\n".join(lines) + "\n}\n"


def _braced(value):
    return value if value.isdigit() else "{" + value + "}"


def _escape(text):
    return _BIBTEX_SPECIAL.sub(r"\\\1", text)


def _html(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _check_docname(docname):
    if not isinstance(docname, str) or not re.fullmatch(r"[\w-]+(/[\w-]+)*", docname):
        raise ValueError(
            "docname must be a document name such as 'book/part2/kernel_mnist' (no suffix); "
            f"got {docname!r}."
        )


def _check_title(title):
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"title must be a non-empty string; got {title!r}.")


def readme_block(book=None):
    """The README's "How to cite" block: the whole book's BibTeX and plain text, as made here
    (``python -m generalization.book.cite`` prints it; a test checks the README holds it)."""
    book = book or book_metadata()
    return f"```bibtex\n{book_bibtex(book)}```\n\n> {book_text(book)}\n"


if __name__ == "__main__":
    print(readme_block(), end="")

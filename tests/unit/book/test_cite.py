"""Citations of the book and its chapters (generalization.book.cite), CITATION.cff, the README.

BibTeX is checked by parsing it with pybtex (an independent parser, the one Sphinx's
bibliography uses), and CITATION.cff against the required fields and types of the Citation
File Format 1.2.0 schema, with jsonschema.
"""

import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from pybtex.database import parse_string

from generalization import __version__
from generalization.book import cite

ROOT = Path(__file__).resolve().parents[3]
BOOK = cite.Book(
    title="Why Deep Learning Generalizes",
    authors=("Ada Lovelace", "Alan Turing"),
    year="2026",
    version="1.2.3",
    baseurl="https://example.org/book/",
)
BUILD = cite.Build(commit="abc1234", dirty=False, date="2026-11-30", scale="quick")


def _parse(bibtex):
    data = parse_string(bibtex, "bibtex")
    assert len(data.entries) == 1
    return next(iter(data.entries.items()))


def test_chapter_bibtex_parses_and_names_the_chapter_the_book_and_the_commit():
    key, entry = _parse(cite.chapter_bibtex(BOOK, BUILD, "book/part2/kernel_mnist", "Kernels", 5))
    assert key == "wdlg2026_kernel_mnist"
    assert entry.type == "incollection"
    assert entry.fields["title"] == "{Kernels}"
    assert entry.fields["booktitle"] == "{Why Deep Learning Generalizes}"
    assert [str(p) for p in entry.persons["author"]] == ["{Ada Lovelace}", "{Alan Turing}"]
    assert entry.fields["year"] == "2026" and entry.fields["chapter"] == "5"
    assert entry.fields["version"] == "1.2.3, commit abc1234"
    assert entry.fields["url"] == "https://example.org/book/book/part2/kernel_mnist.html"
    assert entry.fields["urldate"] == "2026-11-30"
    assert "quick scale" in entry.fields["note"]


def test_special_characters_are_escaped_so_the_entry_still_parses():
    title = "Kernels & 1_NN: {100% of $n$} #2"
    _, entry = _parse(cite.chapter_bibtex(BOOK, BUILD, "book/part2/x", title))
    assert entry.fields["title"] == r"{Kernels \& 1\_NN: \{100\% of \$n\$\} \#2}"
    assert "chapter" not in entry.fields


def test_a_dirty_tree_and_no_baseurl_are_said_honestly():
    build = cite.Build(commit="abc1234", dirty=True, date="2026-11-30", scale="full")
    book = cite.Book(**{**BOOK.__dict__, "baseurl": ""})
    _, entry = _parse(cite.chapter_bibtex(book, build, "book/part1/rethinking", "R"))
    assert entry.fields["version"] == "1.2.3, commit abc1234 + uncommitted changes"
    assert "url" not in entry.fields and "full scale" in entry.fields["note"]
    text = cite.chapter_text(book, build, "book/part1/rethinking", "R")
    assert "http" not in text and "uncommitted" in text


def test_plain_text_citation():
    text = cite.chapter_text(BOOK, BUILD, "book/part2/benign", "Benign overfitting", 6)
    assert text == (
        "Ada Lovelace and Alan Turing (2026). Chapter 6, \u201cBenign overfitting.\u201d In "
        "Why Deep Learning Generalizes, version 1.2.3 (commit abc1234; quick scale). "
        "https://example.org/book/book/part2/benign.html (accessed 2026-11-30)."
    )
    three = cite.Book(**{**BOOK.__dict__, "authors": ("A", "B", "C")})
    assert cite.book_text(three).startswith("A, B, and C (2026).")


def test_book_entry_with_and_without_a_build():
    key, entry = _parse(cite.book_bibtex(BOOK))
    assert key == "wdlg2026" and entry.type == "book"
    assert entry.fields["version"] == "1.2.3" and "commit" not in entry.fields["version"]
    _, built = _parse(cite.book_bibtex(BOOK, BUILD))
    assert built.fields["version"] == "1.2.3, commit abc1234"


@pytest.mark.parametrize("docname", ["", "book/part2/x.md", "../etc", "book part", None])
def test_bad_document_names_are_refused(docname):
    with pytest.raises(ValueError, match="docname must be"):
        cite.chapter_bibtex(BOOK, BUILD, docname, "T")


def test_an_empty_title_is_refused():
    with pytest.raises(ValueError, match="title must be"):
        cite.chapter_text(BOOK, BUILD, "book/part1/x", "  ")


def test_metadata_comes_from_config(tmp_path, monkeypatch):
    monkeypatch.delenv("BOOK_BASEURL", raising=False)
    config = tmp_path / "_config.yml"
    config.write_text(
        "title: T\nauthor: A. One and B. Two\ncopyright: '2031'\nhtml:\n  baseurl: https://x.org\n"
    )
    book = cite.book_metadata(config)
    assert book == cite.Book("T", ("A. One", "B. Two"), "2031", __version__, "https://x.org/")
    monkeypatch.setenv("BOOK_BASEURL", "https://course.edu/wdlg")
    assert cite.book_metadata(config).baseurl == "https://course.edu/wdlg/"


@pytest.mark.parametrize(
    "text, message",
    [
        ("title: T\ncopyright: '2031'\n", "must give author"),
        ("title: T\nauthor: A\ncopyright: 2031\nhtml: {baseurl: x.org}\n", "must start with http"),
        ("- a list\n", "must hold a mapping"),
    ],
)
def test_bad_config_is_refused(tmp_path, monkeypatch, text, message):
    monkeypatch.delenv("BOOK_BASEURL", raising=False)
    config = tmp_path / "_config.yml"
    config.write_text(text)
    with pytest.raises(ValueError, match=message):
        cite.book_metadata(config)


def test_build_info_reads_the_commit_and_whether_the_tree_is_clean(tmp_path, monkeypatch, git):
    monkeypatch.setenv("BOOK_SCALE", "full")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "m.py").write_text("x = 1\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "one")
    head = git(tmp_path, "rev-parse", "HEAD")
    build = cite.build_info(tmp_path, today="2030-01-02")
    assert head.startswith(build.commit) and len(build.commit) >= 7
    assert (build.dirty, build.date, build.scale) == (False, "2030-01-02", "full")
    (tmp_path / "notes.txt").write_text("not part of the book\n")
    assert not cite.build_info(tmp_path).dirty
    (tmp_path / "code" / "m.py").write_text("x = 2\n")
    assert cite.build_info(tmp_path).dirty


def test_build_info_outside_a_checkout(tmp_path):
    assert cite.build_info(tmp_path).commit == "unknown"


def test_footer_names_version_commit_date_scale_and_both_licences():
    footer = cite.footer_html(BOOK, BUILD)
    for part in ("version 1.2.3", "commit abc1234", "built 2026-11-30", "quick scale"):
        assert part in footer
    assert "creativecommons.org/licenses/by/4.0" in footer and ">MIT<" in footer


def test_readme_holds_the_generators_citation():
    readme = (ROOT / "README.md").read_text(encoding="utf8")
    found = re.search(r"<!-- cite:begin -->\n(.*?)<!-- cite:end -->", readme, re.S)
    assert found, "README.md has no <!-- cite:begin --> ... <!-- cite:end --> block"
    assert found.group(1) == cite.readme_block(), (
        "README.md's How to cite block is not the generator's output: replace it with what "
        "`.venv/bin/python -m generalization.book.cite` prints"
    )
    _parse(re.search(r"```bibtex\n(.*?)```", found.group(1), re.S).group(1))


# The Citation File Format 1.2.0 schema (https://citation-file-format.github.io): its
# required top-level fields, their types, and the forms of person and entity authors.
_AUTHOR = {
    "type": "object",
    "anyOf": [{"required": ["name"]}, {"required": ["family-names"]}],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "family-names": {"type": "string", "minLength": 1},
        "given-names": {"type": "string", "minLength": 1},
    },
}
CFF_SCHEMA = {
    "type": "object",
    "required": ["authors", "cff-version", "message", "title"],
    "properties": {
        "cff-version": {"type": "string", "pattern": r"^1\.2\.0$"},
        "message": {"type": "string", "minLength": 1},
        "title": {"type": "string", "minLength": 1},
        "authors": {"type": "array", "minItems": 1, "items": _AUTHOR},
        "version": {"type": ["string", "number"]},
        "date-released": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        "license": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "url": {"type": "string", "pattern": "^https?://"},
        "preferred-citation": {
            "type": "object",
            "required": ["authors", "title", "type"],
            "properties": {"authors": {"type": "array", "minItems": 1, "items": _AUTHOR}},
        },
    },
}


def _cff():
    # CFF dates are strings in the schema; YAML would read an unquoted one as a date.
    text = (ROOT / "CITATION.cff").read_text(encoding="utf8")
    return yaml.load(text, Loader=yaml.BaseLoader)


def test_citation_cff_has_the_schemas_required_fields():
    jsonschema.validate(_cff(), CFF_SCHEMA)


@pytest.mark.parametrize("field", ["authors", "cff-version", "message", "title"])
def test_the_cff_check_refuses_a_file_without_a_required_field(field):
    data = _cff()
    del data[field]
    with pytest.raises(jsonschema.ValidationError, match=field):
        jsonschema.validate(data, CFF_SCHEMA)


def test_citation_cff_agrees_with_the_books_metadata(monkeypatch):
    monkeypatch.delenv("BOOK_BASEURL", raising=False)
    data, book = _cff(), cite.book_metadata()
    assert data["title"] == book.title == data["preferred-citation"]["title"]
    assert tuple(a["name"] for a in data["authors"]) == book.authors
    assert data["version"] == book.version
    assert data["preferred-citation"]["year"] == book.year
    assert data["url"] == book.baseurl
    assert data["license"] == [spdx for spdx, _, _ in cite.LICENSES.values()]


def test_the_licence_files_exist_and_are_named_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf8")
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf8")
    assert "CC BY 4.0" in (ROOT / "LICENSE-TEXT.md").read_text(encoding="utf8")
    assert "`LICENSE`" in readme and "`LICENSE-TEXT.md`" in readme

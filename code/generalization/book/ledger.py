"""The reproduction ledger: the paper's number next to ours.

Every chapter ends with a ledger. The chapter builds one with :class:`Ledger`, adds a row
per reproduced quantity, and calls :meth:`Ledger.glue`. That glues a single object under
the key ``ledger`` with two representations:

* ``text/markdown``: the chapter's table, shown with ``{glue:md} ledger`` and
  ``:format: myst`` (paper keys become ``{footcite:t}`` citations);
* :data:`MIMETYPE`: ``{"rows": [...]}``, one object per row, which the book's Sphinx extension
  (``book/_ext/ledger_collect.py``) reads from every executed chapter to build the
  ``ledger`` page and ``_build/html/ledger.json``.

A mismatch between the paper and us is never hidden: the ``note`` field says why.

**The ledger standard.** Every row says where its paper value comes from, in ``source``:

* a location in the paper, when the value is quoted from it: ``"Table 6"``, ``"Figure 2"``,
  ``"Section 5"``, ``"Eq. (4)"``, ``"Theorem 1"``, ``"Appendix A"``, ``"abstract"``...;
* ``"read from Figure N (± u)"`` when a figure is the only source and the value was read off
  it, with the reading's uncertainty ``u``;
* ``"formula (<location>)"`` when the paper value is our evaluation of the paper's formula
  (at our sizes);
* ``"qualitative (<location>)"`` when the paper states the result in words, with no number;
* ``"not run: <why>"`` for a result of the paper that the chapter does not reproduce.

:func:`source_kind` classifies a source (``"quoted"``, ``"read"``, ``"formula"``,
``"qualitative"``, ``"not run"``); the kind is stored with the row. A value "figure only"
is not accepted: a number is quoted, read with its uncertainty, or the row says why not.
"""

from __future__ import annotations

import math
import numbers
import re

from .. import SCALES, checks

FIELDS = (
    "paper",
    "quantity",
    "paper_value",
    "source",
    "source_kind",
    "our_value",
    "unit",
    "scale",
    "seeds",
    "spread",
    "run_time_s",
    "note",
)
"""The fields of one ledger row, in table order."""

MIMETYPE = "application/vnd.generalization.ledger+json"
"""The mimetype of the machine-readable rows, ``{"rows": [row, ...]}``."""

HEADERS = (
    "Paper",
    "Quantity",
    "Paper's value",
    "Source",
    "Ours",
    "Unit",
    "Scale",
    "Seeds",
    "Spread",
    "Run time",
    "Note",
)
OPTIONAL = ("Unit", "Note")
"""Columns left out of a chapter's table when they are empty in every row."""


LOCATIONS = (
    "Table",
    "Tables",
    "Figure",
    "Figures",
    "Section",
    "Sections",
    "Eq.",
    "Theorem",
    "Proposition",
    "Corollary",
    "Lemma",
    "Definition",
    "Remark",
    "Example",
    "Algorithm",
    "Appendix",
    "abstract",
)
"""The words a quoted source starts with: where in the paper the number is."""

SOURCE_KINDS = ("quoted", "read", "formula", "qualitative", "not run")
"""The kinds of paper value a ledger row can hold (see the module docstring)."""

# "abstract" alone, or a word of LOCATIONS followed by what it points to ("Table 6")
_LOCATION = r"(?:abstract(?:,? .+)?|(?:{}) \S.*)".format(
    "|".join(re.escape(word) for word in LOCATIONS[:-1])
)
_SOURCES = (
    ("quoted", re.compile(rf"{_LOCATION}")),
    ("read", re.compile(r"read from Figure \S+.* \(± ?[^)]+\)")),
    ("formula", re.compile(rf"formula \({_LOCATION}\)")),
    ("qualitative", re.compile(rf"qualitative \({_LOCATION}\)")),
    ("not run", re.compile(r"not run: \S.*")),
)


def source_kind(source):
    """The kind of a ledger row's ``source`` (one of :data:`SOURCE_KINDS`).

    Raises
    ------
    ValueError
        If ``source`` follows none of the forms of the ledger standard.
    """
    if isinstance(source, str):
        for kind, pattern in _SOURCES:
            if pattern.fullmatch(source.strip()):
                return kind
    raise ValueError(
        "source must be a location in the paper ('Table 6', 'Figure 2', 'Section 5', "
        "'Eq. (4)', 'Theorem 1', 'abstract', ...), 'read from Figure N (± u)', "
        "'formula (<location>)', 'qualitative (<location>)' or 'not run: <why>'; "
        f"got {source!r}."
    )


def _check_value(name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number or a string; got the bool {value!r}.")
    if isinstance(value, numbers.Real):
        value = float(value) if not isinstance(value, numbers.Integral) else int(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{name} must be finite; got {value!r}.")
        return value
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError(f"{name} must be a number or a non-empty string; got {value!r}.")


def _format(value, digits):
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}g}"


def _format_seeds(seeds):
    if isinstance(seeds, str):
        return seeds
    if len(seeds) == 1:
        return str(seeds[0])
    if list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{len(seeds)} ({seeds[0]}-{seeds[-1]})"
    return ", ".join(str(s) for s in seeds)


def visible_columns(printed_rows):
    """Indices of the :data:`HEADERS` columns to show: all but optional ones empty in every row."""
    return [
        j
        for j, header in enumerate(HEADERS)
        if header not in OPTIONAL or any(cells[j] for cells in printed_rows)
    ]


def _format_time(seconds):
    if seconds < 1e-3:
        return "< 1 ms"
    if seconds < 1:
        return f"{seconds * 1e3:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


class Ledger:
    """Rows of (paper's value, our value) for one chapter.

    Parameters
    ----------
    digits : int, default 4
        Significant digits used to print numbers in the table (the JSON keeps full
        precision).

    Examples
    --------
    >>> ledger = Ledger()
    >>> ledger.add(paper="belkin2018understand", quantity="test error", paper_value=1.24,
    ...            source="Table 3", our_value=1.31, unit="%", scale="full", seeds=[0, 1, 2],
    ...            spread=0.05, run_time_s=240.0)
    >>> ledger.rows[0]["our_value"]
    1.31
    """

    def __init__(self, digits=4):
        self.digits = checks.count("digits", digits, maximum=17)
        self.rows = []

    def add(
        self,
        *,
        paper,
        quantity,
        paper_value,
        source,
        our_value,
        scale,
        seeds,
        run_time_s,
        unit="",
        spread=None,
        note="",
    ):
        """Append one row.

        Parameters
        ----------
        paper : str
            The BibTeX key of the paper in ``book/references.bib``.
        quantity : str
            What is compared, in words a reader understands out of context.
        paper_value, our_value : float, int or str
            The paper's number and ours. A string is allowed for values that are not a
            single number (e.g. ``"about 1.2"``); "figure only" is not a value.
        source : str
            Where the paper value comes from, in one of the forms of the ledger standard
            (module docstring): ``"Table 6"``, ``"read from Figure 2 (± 0.5)"``,
            ``"formula (Eq. (4))"``, ``"qualitative (Section 3)"``, ``"not run: <why>"``.
        scale : str
            ``"quick"`` or ``"full"``: the scale our number was produced at.
        seeds : sequence of int, or str
            The seeds behind our number; a string such as ``"none (exact)"`` for
            computations with no randomness.
        run_time_s : float
            Wall-clock seconds our number took to compute (not a cache lookup).
        unit : str, optional
            Unit of both values (``"%"``, ``"epochs"``); empty if dimensionless.
        spread : float, optional
            Standard deviation of our value across seeds; ``None`` when there is a single
            deterministic value.
        note : str, optional
            Why ours differs from the paper's, when it does.
        """
        if (
            not isinstance(paper, str)
            or not paper.strip()
            or any(c.isspace() for c in paper.strip())
        ):
            raise ValueError(
                f"paper must be a BibTeX key (a string without spaces); got {paper!r}."
            )
        if not isinstance(quantity, str) or not quantity.strip():
            raise ValueError(f"quantity must be a non-empty string; got {quantity!r}.")
        checks.choice("scale", scale, SCALES)
        if isinstance(seeds, str):
            if not seeds.strip():
                raise ValueError(
                    "seeds must be a non-empty string or a sequence of integers; got ''."
                )
            seeds_value = seeds.strip()
        else:
            try:
                seeds_value = [int(s) for s in seeds]
            except (TypeError, ValueError):
                raise ValueError(
                    f"seeds must be a sequence of integers or a string; got {seeds!r}."
                ) from None
            if not seeds_value or any(int(s) != s for s in seeds):
                raise ValueError(f"seeds must be a non-empty sequence of integers; got {seeds!r}.")
        spread_value = _check_value("spread", spread, allow_none=True)
        if isinstance(spread_value, (int, float)) and spread_value < 0:
            raise ValueError(f"spread must be non-negative; got {spread!r}.")
        run_time = _check_value("run_time_s", run_time_s)
        if isinstance(run_time, str) or run_time < 0:
            raise ValueError(
                f"run_time_s must be a non-negative number of seconds; got {run_time_s!r}."
            )
        kind = source_kind(source)
        value = _check_value("paper_value", paper_value)
        if isinstance(value, str) and "figure only" in value.lower():
            raise ValueError(
                "paper_value must be the paper's number, read off its figure with an "
                "uncertainty, or say why there is none (source 'qualitative (...)' or "
                f"'not run: ...'); got {value!r}."
            )
        if not isinstance(unit, str) or not isinstance(note, str):
            raise ValueError(f"unit and note must be strings; got {unit!r} and {note!r}.")
        self.rows.append(
            {
                "paper": paper.strip(),
                "quantity": quantity.strip(),
                "paper_value": value,
                "source": source.strip(),
                "source_kind": kind,
                "our_value": _check_value("our_value", our_value),
                "unit": unit.strip(),
                "scale": scale,
                "seeds": seeds_value,
                "spread": spread_value,
                "run_time_s": float(run_time),
                "note": note.strip(),
            }
        )

    def cells(self, row):
        """Return the printed cells of one row, in :data:`HEADERS` order (no citation markup)."""
        return [
            row["paper"],
            row["quantity"],
            _format(row["paper_value"], self.digits),
            row["source"],
            _format(row["our_value"], self.digits),
            row["unit"],
            row["scale"],
            _format_seeds(row["seeds"]),
            _format(row["spread"], 2),
            _format_time(row["run_time_s"]),
            row["note"],
        ]

    def to_markdown(self):
        """Return the ledger as a MyST Markdown table, citing each paper with ``{footcite:t}``."""
        if not self.rows:
            raise ValueError("the ledger has no rows; add at least one with Ledger.add().")
        escape = lambda text: str(text).replace("|", "\\|")  # noqa: E731
        table = [[escape(c) for c in self.cells(row)] for row in self.rows]
        for cells, row in zip(table, self.rows):
            cells[0] = f"{{footcite:t}}`{row['paper']}`"
        keep = visible_columns(table)
        lines = ["| " + " | ".join(HEADERS[j] for j in keep) + " |", "|" + "---|" * len(keep)]
        lines += ["| " + " | ".join(cells[j] for j in keep) + " |" for cells in table]
        return "\n".join(lines)

    def _repr_mimebundle_(self, include=None, exclude=None):
        # A vendor "+json" type: nbformat stores it as JSON even under glue's hidden-output
        # prefix (plain application/json would not validate there), and it must be an object.
        return {
            "text/markdown": self.to_markdown(),
            MIMETYPE: {"rows": [dict(row) for row in self.rows]},
            "text/plain": f"<Ledger with {len(self.rows)} rows>",
        }

    def glue(self, name="ledger"):
        """Glue the ledger (Markdown table and JSON rows) into the executing notebook."""
        from myst_nb import glue

        if not self.rows:
            raise ValueError("the ledger has no rows; add at least one with Ledger.add().")
        glue(name, self, display=False)

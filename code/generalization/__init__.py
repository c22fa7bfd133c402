"""The package behind *Why Deep Learning Generalizes*.

Each chapter of the book calls functions from one topic module here (``data``,
``reparam``, ...). The book and its claims tests call the same functions with the same
arguments, so a number printed in the book is a number a test has checked.

The only global setting is the *scale* at which experiments run, read from the
environment variable ``BOOK_SCALE`` by :func:`scale`.
"""

import os

__version__ = "0.1.0"

SCALES = ("quick", "full")
"""The two scales: ``quick`` (default; each chapter runs in under 90 s on 2 CPU cores)
and ``full`` (the sizes used in the papers)."""


def scale():
    """Return the scale the experiments run at, from the environment.

    Reads ``BOOK_SCALE``; unset or empty means ``"quick"``. Surrounding whitespace and
    case are ignored.

    Returns
    -------
    str
        ``"quick"`` or ``"full"``.

    Raises
    ------
    ValueError
        If ``BOOK_SCALE`` holds anything else.

    Examples
    --------
    >>> import os; os.environ.pop("BOOK_SCALE", None) and None
    >>> scale()
    'quick'
    """
    raw = os.environ.get("BOOK_SCALE", "")
    value = raw.strip().lower() or "quick"
    if value not in SCALES:
        raise ValueError(
            f"BOOK_SCALE must be one of {', '.join(SCALES)} (or unset for quick); got {raw!r}."
        )
    return value


def settings_for(table, scale_name=None):
    """The entry of a chapter's ``{scale: settings}`` table for ``scale_name``.

    ``None`` means the scale from the environment (:func:`scale`). Every chapter module's
    ``settings(scale=None)`` is this lookup on its own table.

    Raises
    ------
    ValueError
        If the table has no entry for the scale.
    """
    name = scale_name or scale()
    if name not in table:
        raise ValueError(f"scale must be one of {tuple(table)}; got {name!r}.")
    return table[name]

"""Small helpers that chapters use to put executed values into the prose.

Numbers are glued as numbers (``glue(name, float)``) and formatted in the text with
``{glue:text}`name:.2f```; words and Markdown are glued with :func:`glue_md` and shown
with ``{glue:md}`name```.
"""

from __future__ import annotations

from .. import scale


def glue_md(name, text):
    """Glue ``text`` (Markdown) under ``name`` without displaying it; show with ``{glue:md}``."""
    from IPython.display import Markdown
    from myst_nb import glue

    if not isinstance(text, str):
        raise ValueError(f"text must be a string; got {type(text).__name__} {text!r}.")
    glue(name, Markdown(text), display=False)


def glue_numbers(**values):
    """Glue each keyword as a float (exact Fractions included) without displaying it."""
    from myst_nb import glue

    for name, value in values.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a real number; got {value!r}.") from None
        glue(name, number, display=False)


def announce_scale():
    """Print and glue (as ``scale``) the scale this page is executed at; return it."""
    current = scale()
    print(f"BOOK_SCALE={current}")
    glue_md("scale", f"`{current}`")
    return current

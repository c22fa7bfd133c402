"""Argument checks shared by the package's modules: bad input is a ``ValueError`` that names
what was expected and what was got."""

from __future__ import annotations

import numpy as np


def count(name, value, minimum=1):
    """``value`` as an ``int`` when it is an integer (not a bool) of at least ``minimum``.

    Raises
    ------
    ValueError
        Otherwise, e.g. "n must be a positive integer; got 0." or "n must be an integer of
        at least 2; got 1."
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        wanted = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
        raise ValueError(f"{name} must be {wanted}; got {value!r}.")
    return int(value)

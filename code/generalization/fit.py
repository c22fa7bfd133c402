"""Power laws fitted on log-log axes: the exponent of a rate.

The chapters read rates off log-log plots: how a distance shrinks with the width of a
network, how an error shrinks with the step size, how the eigenvalues of a kernel decay with
their degree. Each is a least-squares line through ``(log x, log value)``, whose slope is the
exponent ``p`` of ``value ≈ C x^p``. One function fits it, for one curve or for one curve per
row (a slope per seed).
"""

from __future__ import annotations

import numpy as np

from . import checks


def power_law(x, values):
    """Least-squares fit of ``log values = log C + p log x``: ``(p, C)``.

    Parameters
    ----------
    x : array_like, shape (m,)
        Positive abscissae, at least two.
    values : array_like, shape (m,) or (rows, m)
        Positive values; a 2-D array is fitted row by row.

    Returns
    -------
    p, C : float, or ndarray of shape (rows,) each for 2-D ``values``
    """
    x = checks.array("x", x, ndim=1, positive=True)
    values = checks.array("values", values, positive=True)
    if x.size < 2 or values.ndim not in (1, 2) or values.shape[-1] != x.size:
        raise ValueError(
            f"values must have shape ({x.size},) or (rows, {x.size}), one value per point of "
            f"x (at least 2); got shape {values.shape} for {x.size} points."
        )
    slope, intercept = np.polyfit(np.log(x), np.log(np.atleast_2d(values)).T, 1)
    if values.ndim == 1:
        return float(slope[0]), float(np.exp(intercept[0]))
    return slope, np.exp(intercept)


def loglog_slope(x, values):
    """The exponent ``p`` of :func:`power_law`: a float, or one per row of ``values``."""
    return power_law(x, values)[0]

"""One house style for every figure in the book.

Call :func:`use_house_style` once at the top of a chapter (in its ``remove-cell`` setup
cell). It fixes the figure size, font sizes and the colour cycle, and makes notebook
figures render as SVG so they stay sharp at any zoom.

The palette is Okabe and Ito's (2008) eight colours, chosen to stay distinct under the
common forms of colour blindness; the cycle starts with the colours that also differ in
grey scale.
"""

from __future__ import annotations

import matplotlib as mpl

FIGSIZE = (7.0, 4.2)
"""Width and height in inches of a one-panel figure (the text column of the book)."""

OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}
PALETTE = tuple(
    OKABE_ITO[name]
    for name in ("blue", "vermillion", "green", "orange", "sky", "purple", "black", "yellow")
)
"""The colour cycle, in the order series are drawn."""

HOUSE_RC = {
    "figure.figsize": FIGSIZE,
    "figure.dpi": 100,
    "figure.constrained_layout.use": True,
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "legend.frameon": False,
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 2.0,
    "lines.markersize": 7,
    "svg.fonttype": "none",  # keep text as text in SVG: smaller files, selectable labels
    "savefig.format": "svg",
}


def use_house_style():
    """Apply the book's matplotlib settings and render inline figures as SVG.

    Safe to call more than once. Outside IPython only the rc settings change.
    """
    mpl.rcParams.update(HOUSE_RC)
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # pragma: no cover - matplotlib-inline ships with IPython
        return
    set_matplotlib_formats("svg")


def panels(ncols, nrows=1, **kwargs):
    """Return ``(fig, axes)`` for a grid of panels at the house width.

    The figure keeps the text-column width of :data:`FIGSIZE` and grows in height with
    the number of rows, so every panel stays legible.
    """
    import matplotlib.pyplot as plt

    if ncols < 1 or nrows < 1:
        raise ValueError(f"ncols and nrows must be at least 1; got ncols={ncols}, nrows={nrows}.")
    width, height = FIGSIZE
    return plt.subplots(nrows, ncols, figsize=(width, height * nrows), **kwargs)

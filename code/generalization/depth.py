"""Depth separation in one dimension: sawtooth functions, and exact counts of linear pieces.

A ReLU network with one input and one output computes a continuous piecewise-linear
function. How many linear pieces it can have is what separates deep networks from shallow
ones (Telgarsky 2015, 2016): a unit of a shallow network bends its output at one point, so
``m`` units give at most ``m + 1`` pieces, while composing a two-unit "tent" with itself
doubles the number of pieces at each layer. This module builds the deep construction
exactly, counts the pieces of any ReLU network exactly, and measures the L1 distance
between two piecewise-linear functions exactly.

Conventions (the same everywhere in this module)::

    relu      s(z) = max(z, 0)
    tent      f(z) = s(2 s(z) - 4 s(z - 1/2)) = min(s(2z), s(2 - 2z))
              (0 at z = 0 and z = 1, 1 at z = 1/2, 0 outside [0, 1]; Telgarsky 2016, Lemma 3.16)
    sawtooth  f^k = f o f o ... o f (k times); on [0, 1] it has 2^(k-1) teeth and 2^k linear
              pieces of slope +-2^k, with knots at j / 2^k, value 0 at even j and 1 at odd j
              (Lemma 3.17 of the same paper)
    network   a scalar function given as a torch.nn.Sequential of nn.Linear and nn.ReLU
              layers, one input and one output
    pieces    the maximal intervals of [a, b] on which a function is affine: two adjacent
              intervals with the same affine map are one piece

**What is exact.** :func:`linear_pieces` reads the weights of a network as the binary
fractions they are stored as (every float is a rational number) and does everything else in
exact rational arithmetic (``fractions.Fraction``): the affine map of every unit on
every interval, the point where a unit's input crosses zero, its sign between two such points,
and the comparison of adjacent pieces. The count it returns is therefore the exact number of
pieces of the function the stored weights compute, with no tolerance and no sampling: two
kinks at the same point are one kink, and a kink whose slopes cancel is no kink. (It is the
count for the stored floats: ``relu(0.1 x) + relu(0.2 x) - relu(0.3 x)`` has two pieces on
``[-1, 1]``, because ``0.1 + 0.2`` and ``0.3`` are different floats.) The cost grows like
the number of pieces times the squared width, in Python's big-integer arithmetic: it is meant
for the small networks of one input that this question is about.

**Counting bound.** On each piece of its input, a ReLU layer of width ``w`` bends at most
``w`` times, so a network with hidden widths ``w_1, ..., w_L`` has at most
``(w_1 + 1) ... (w_L + 1)`` pieces, and a shallow one (``L = 1``) at most ``w_1 + 1``.

References
----------
Telgarsky (2015), *Representation benefits of deep feedforward networks*,
https://arxiv.org/abs/1509.08101.
Telgarsky (2016), *Benefits of depth in neural networks*, COLT, PMLR 49,
https://arxiv.org/abs/1602.04485 (Lemmas 3.1, 3.4, 3.16, 3.17 and Corollary 3.14).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch
import torch.nn as nn

from . import checks

__all__ = [
    "PiecewiseLinear",
    "count_linear_pieces",
    "interpolant",
    "interpolant_network",
    "l1_distance",
    "l1_lower_bound",
    "linear_pieces",
    "sawtooth",
    "sawtooth_network",
    "sawtooth_pieces",
    "telgarsky_l1_lower_bound",
    "tent",
]


# ------------------------------------------------------------------------- the sawtooth


def tent(x):
    """Telgarsky's tent map ``f(z) = min(relu(2 z), relu(2 - 2 z))``, elementwise.

    Equal to ``relu(2 relu(z) - 4 relu(z - 1/2))``: 0 outside ``[0, 1]``, rising to 1 at 1/2.

    Parameters
    ----------
    x : array_like of real numbers, any shape

    Returns
    -------
    ndarray of the shape of ``x``
    """
    x = checks.array("x", x, nonempty=False)
    return np.minimum(np.maximum(2.0 * x, 0.0), np.maximum(2.0 - 2.0 * x, 0.0))


def sawtooth(x, k):
    """The tent map composed ``k`` times, ``f^k(x)``, elementwise (``k = 0``: the identity).

    On ``[0, 1]`` this is Telgarsky's sawtooth: ``2^(k-1)`` teeth of height 1 and ``2^k``
    linear pieces (Telgarsky 2016, Lemma 3.17); outside ``[0, 1]`` it is 0 for ``k >= 1``.

    Parameters
    ----------
    x : array_like of real numbers, any shape
    k : int, non-negative

    Returns
    -------
    ndarray of the shape of ``x``
    """
    k = checks.count("k", k, minimum=0)
    out = checks.array("x", x, nonempty=False).copy()
    for _ in range(k):
        out = tent(out)
    return out


def sawtooth_network(k, dtype=torch.float64):
    """The deep narrow ReLU network of the sawtooth: ``k`` hidden layers of two units each.

    Layer ``j`` holds ``(relu(u), relu(u - 1/2))`` of its input ``u`` and the next layer reads
    ``2 relu(u) - 4 relu(u - 1/2)``, the tent of ``u``, from them::

        layer 1      weight [[1], [1]],        bias [0, -1/2]      (input x)
        layers 2..k  weight [[2, -4], [2, -4]], bias [0, -1/2]      (input: the layer below)
        output       weight [[2, -4]],          bias [0]

    So the network has ``2 k`` ReLUs and computes ``f^k(x)`` (:func:`sawtooth`) for every ``x``
    in ``[0, 1]``, and for every real ``x`` when ``k >= 2``. (The outer ReLU of each tent is
    not needed: the next layer's first unit applies it. For ``k = 1`` the output is
    ``2 relu(x) - 4 relu(x - 1/2)``, which is ``2 - 2x < 0`` for ``x > 1``.) All weights are
    small binary fractions, so in floating point the network is exact on dyadic inputs.

    Parameters
    ----------
    k : int, positive
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    torch.nn.Sequential
        ``Linear(1, 2), ReLU, (Linear(2, 2), ReLU) * (k - 1), Linear(2, 1)``.
    """
    k = checks.count("k", k)
    layers = [_linear([[1.0], [1.0]], [0.0, -0.5], dtype), nn.ReLU()]
    for _ in range(k - 1):
        layers += [_linear([[2.0, -4.0], [2.0, -4.0]], [0.0, -0.5], dtype), nn.ReLU()]
    layers.append(_linear([[2.0, -4.0]], [0.0], dtype))
    return nn.Sequential(*layers)


def _linear(weight, bias, dtype):
    """An ``nn.Linear`` holding exactly ``weight`` (out, in) and ``bias`` (out,)."""
    weight = torch.tensor(weight, dtype=dtype)
    layer = nn.Linear(weight.shape[1], weight.shape[0], dtype=dtype)
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(torch.tensor(bias, dtype=dtype))
    return layer


def interpolant_network(knots, values, dtype=torch.float64):
    """A shallow ReLU network equal to the piecewise-linear interpolant of ``(knots, values)``.

    With knots ``t_0 < ... < t_P``, values ``v_i`` and slopes ``s_i`` of the interpolant on
    ``[t_i, t_{i+1}]``, the network is::

        g(x) = v_0 + s_0 relu(x - t_0) + sum_{i=1}^{P-1} (s_i - s_{i-1}) relu(x - t_i)

    one hidden layer of ``P`` units, one per piece. On ``[t_0, t_P]`` it is the interpolant;
    below ``t_0`` it is the constant ``v_0`` and above ``t_P`` it continues the last piece.
    For the sawtooth (:func:`sawtooth_pieces`) this is a shallow network of ``2^k`` units;
    no shallow network has fewer than ``2^k - 1``, since ``m`` units bend at most ``m`` times.

    Parameters
    ----------
    knots : sequence of float, strictly increasing, at least two
    values : sequence of float, one per knot
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    torch.nn.Sequential
        ``Linear(1, P), ReLU, Linear(P, 1)``.
    """
    knots, values = _knots_and_values(knots, values)
    slopes = np.diff(values) / np.diff(knots)
    jumps = np.diff(slopes, prepend=0.0)  # s_0, s_1 - s_0, ...
    P = len(slopes)
    first = _linear(np.ones((P, 1)).tolist(), (-knots[:-1]).tolist(), dtype)
    second = _linear([jumps.tolist()], [float(values[0])], dtype)
    return nn.Sequential(first, nn.ReLU(), second)


def _knots_and_values(knots, values):
    knots = checks.array("knots", knots, ndim=1)
    values = checks.array("values", values, ndim=1)
    if knots.size < 2 or np.any(np.diff(knots) <= 0):
        raise ValueError(
            f"knots must be a strictly increasing sequence of at least two numbers; got {knots!r}."
        )
    if values.shape != knots.shape:
        raise ValueError(
            f"values must have one entry per knot ({knots.size}); got shape {values.shape}."
        )
    return knots, values


# ------------------------------------------------------------- exact piecewise-linear maps


def _exact(name, value):
    """``value`` (an int, Fraction or finite float) as the Fraction it is exactly."""
    if isinstance(value, numbers.Rational) and not isinstance(value, (bool, np.bool_)):
        return Fraction(value)
    return Fraction(checks.number(name, value))


@dataclass(frozen=True)
class PiecewiseLinear:
    """A continuous or discontinuous piecewise-linear function on ``[knots[0], knots[-1]]``.

    On ``[knots[i], knots[i + 1]]`` it is ``slopes[i] * x + intercepts[i]``. Every entry is a
    ``fractions.Fraction``, so comparisons and integrals are exact. Build one with
    :func:`linear_pieces` (from a network), :func:`interpolant` or :func:`sawtooth_pieces`;
    adjacent intervals with the same affine map are always merged, so ``count`` is the
    number of linear pieces.
    """

    knots: tuple
    slopes: tuple
    intercepts: tuple

    @property
    def count(self):
        """The number of linear pieces."""
        return len(self.slopes)

    @property
    def breakpoints(self):
        """The interior knots, where the function changes its affine map, as floats."""
        return np.array([float(t) for t in self.knots[1:-1]])

    def __call__(self, x):
        """The function at the points ``x`` (floats inside the domain), as a float array."""
        x = checks.array("x", x, nonempty=False)
        lo, hi = float(self.knots[0]), float(self.knots[-1])
        if np.any((x < lo) | (x > hi)):
            raise ValueError(f"x must lie in the domain [{lo:g}, {hi:g}]; got values outside.")
        inner = np.array([float(t) for t in self.knots[1:-1]])
        index = np.searchsorted(inner, x, side="right")
        slopes = np.array([float(s) for s in self.slopes])
        intercepts = np.array([float(c) for c in self.intercepts])
        return slopes[index] * x + intercepts[index]


def _merged(knots, slopes, intercepts):
    """A :class:`PiecewiseLinear` with adjacent equal affine maps joined into one piece."""
    kept_knots, kept_s, kept_c = [knots[0]], [slopes[0]], [intercepts[0]]
    for t, s, c in zip(knots[1:-1], slopes[1:], intercepts[1:]):
        if s == kept_s[-1] and c == kept_c[-1]:
            continue  # the same line on both sides of t: no kink at t
        kept_knots.append(t)
        kept_s.append(s)
        kept_c.append(c)
    kept_knots.append(knots[-1])
    return PiecewiseLinear(tuple(kept_knots), tuple(kept_s), tuple(kept_c))


def interpolant(knots, values):
    """The piecewise-linear interpolant of ``(knots, values)``, exactly, as PiecewiseLinear.

    Parameters
    ----------
    knots : sequence of int, Fraction or float, strictly increasing, at least two
    values : sequence of int, Fraction or float, one per knot

    Returns
    -------
    PiecewiseLinear
        Collinear neighbours merged: three knots on one line give one piece.
    """
    if isinstance(knots, (str, bytes)) or np.ndim(knots) != 1 or len(knots) < 2:
        raise ValueError(
            f"knots must be a strictly increasing sequence of at least two numbers; got {knots!r}."
        )
    t = [_exact("knots", v) for v in knots]
    if np.ndim(values) != 1 or len(values) != len(t):
        raise ValueError(f"values must have one entry per knot ({len(t)}); got {values!r}.")
    v = [_exact("values", u) for u in values]
    if any(b <= a for a, b in zip(t, t[1:])):
        raise ValueError(
            f"knots must be a strictly increasing sequence of at least two numbers; got {knots!r}."
        )
    slopes = [(v1 - v0) / (t1 - t0) for t0, t1, v0, v1 in zip(t, t[1:], v, v[1:])]
    intercepts = [v0 - s * t0 for t0, v0, s in zip(t, v, slopes)]
    return _merged(t, slopes, intercepts)


def sawtooth_pieces(k):
    """The sawtooth ``f^k`` on ``[0, 1]``, exactly, from its closed form (Telgarsky 2016).

    Knots ``j / 2^k`` for ``j = 0, ..., 2^k`` (Lemma 3.17), value 0 at even ``j`` and 1 at
    odd ``j``: ``2^k`` pieces of slope ``+-2^k``. Computed from the formula, not from any
    network, so it is the reference that :func:`sawtooth_network` is checked against.

    Parameters
    ----------
    k : int, non-negative (``k = 0``: the identity on ``[0, 1]``)

    Returns
    -------
    PiecewiseLinear
    """
    k = checks.count("k", k, minimum=0)
    if k == 0:
        return interpolant([0, 1], [0, 1])
    n = 2**k
    return interpolant([Fraction(j, n) for j in range(n + 1)], [j % 2 for j in range(n + 1)])


def _network_layers(model):
    """The layers of a scalar ReLU network as ``("affine", W, b)`` with Fractions, or ``"relu"``."""
    wanted = "a torch.nn.Sequential of nn.Linear and nn.ReLU layers with one input and one output"
    if not isinstance(model, nn.Sequential) or len(model) == 0:
        raise ValueError(f"f must be {wanted}; got {type(model).__name__}.")
    layers, width = [], 1
    for module in model:
        if isinstance(module, nn.ReLU):
            layers.append("relu")
        elif isinstance(module, nn.Linear):
            if module.in_features != width:
                raise ValueError(
                    f"f must be {wanted}; got a Linear layer with {module.in_features} inputs "
                    f"after a layer of width {width}."
                )
            W = module.weight.detach().to(torch.float64).tolist()  # float32 -> float64: exact
            if module.bias is None:
                b = [0.0] * module.out_features
            else:
                b = module.bias.detach().to(torch.float64).tolist()
            if not all(np.isfinite(v) for row in W for v in row) or not np.all(np.isfinite(b)):
                raise ValueError(f"f must have finite weights; got NaN or infinity in {module}.")
            layers.append(
                ("affine", [[Fraction(v) for v in row] for row in W], [Fraction(v) for v in b])
            )
            width = module.out_features
        else:
            raise ValueError(f"f must be {wanted}; got a {type(module).__name__} layer.")
    if width != 1:
        raise ValueError(f"f must be {wanted}; got {width} outputs.")
    return layers


def linear_pieces(f, a, b):
    """The exact linear pieces of a scalar ReLU network on ``[a, b]``.

    Layer by layer, the interval is cut into sub-intervals on which every unit's input is
    an affine function ``s x + c`` of ``x`` (Fractions). A linear layer maps these affine
    functions; a ReLU layer cuts each sub-interval at the zeros ``x = -c / s`` of its units'
    inputs that lie strictly inside it, then, on each new sub-interval, keeps a unit's affine
    function where it is positive (read at the sub-interval's midpoint) and sets it to zero
    where not. At the output, adjacent sub-intervals with the same affine map are merged. No
    step rounds: see the module's notes on exactness.

    Parameters
    ----------
    f : torch.nn.Sequential
        ``nn.Linear`` and ``nn.ReLU`` layers in any order, one input, one output, finite
        weights (any float dtype).
    a, b : int, Fraction or float, with ``a < b``

    Returns
    -------
    PiecewiseLinear
        On ``[a, b]``, with ``count`` pieces.

    Raises
    ------
    ValueError
        If ``f`` is not such a network or ``a >= b``.
    """
    lo, hi = _exact("a", a), _exact("b", b)
    if not lo < hi:
        raise ValueError(f"b must be above a = {float(lo)!r}; got {float(hi)!r}.")
    # each cell: (left end, right end, slopes of the units, intercepts of the units)
    cells = [(lo, hi, [Fraction(1)], [Fraction(0)])]
    for layer in _network_layers(f):
        if layer == "relu":
            cells = [piece for cell in cells for piece in _relu_cells(*cell)]
        else:
            _, W, bias = layer
            cells = [
                (
                    left,
                    right,
                    [sum(w * s for w, s in zip(row, S)) for row in W],  # s' = W s
                    [sum(w * c for w, c in zip(row, C)) + b0 for row, b0 in zip(W, bias)],
                )
                for left, right, S, C in cells
            ]
    knots = [cells[0][0]] + [cell[1] for cell in cells]
    return _merged(knots, [cell[2][0] for cell in cells], [cell[3][0] for cell in cells])


def _relu_cells(left, right, S, C):
    """One cell through a ReLU: cut at the units' zeros inside it, zero the negative units."""
    cuts = sorted({-c / s for s, c in zip(S, C) if s != 0 and left < -c / s < right})
    ends = [left, *cuts, right]
    out = []
    for u, v in zip(ends, ends[1:]):
        middle = (u + v) / 2
        keep = [s * middle + c > 0 for s, c in zip(S, C)]  # sign constant on (u, v)
        out.append(
            (
                u,
                v,
                [s if k else Fraction(0) for s, k in zip(S, keep)],
                [c if k else Fraction(0) for c, k in zip(C, keep)],
            )
        )
    return out


def count_linear_pieces(f, a, b):
    """The exact number of linear pieces of a scalar ReLU network on ``[a, b]``.

    ``linear_pieces(f, a, b).count``: see :func:`linear_pieces` for the method and what is
    exact. A shallow network with ``m`` units has at most ``m + 1``; the sawtooth network
    of depth ``k`` (:func:`sawtooth_network`) has ``2^k`` on ``[0, 1]``.

    Parameters
    ----------
    f : torch.nn.Sequential
        ``nn.Linear`` and ``nn.ReLU`` layers, one input, one output.
    a, b : int, Fraction or float, with ``a < b``

    Returns
    -------
    int
    """
    return linear_pieces(f, a, b).count


def _as_pieces(name, f, lo, hi):
    """``f`` (a network or a PiecewiseLinear covering ``[lo, hi]``) as PiecewiseLinear."""
    if isinstance(f, PiecewiseLinear):
        if f.knots[0] > lo or f.knots[-1] < hi:
            raise ValueError(
                f"{name} must be defined on all of [{float(lo):g}, {float(hi):g}]; got the "
                f"domain [{float(f.knots[0]):g}, {float(f.knots[-1]):g}]."
            )
        return f
    if isinstance(f, nn.Sequential):
        return linear_pieces(f, lo, hi)
    raise ValueError(
        f"{name} must be a PiecewiseLinear or a torch.nn.Sequential ReLU network; got "
        f"{type(f).__name__}."
    )


def _piece_at(pieces, x):
    """``(slope, intercept)`` of the piece of ``pieces`` containing the point ``x``."""
    lo, hi = 0, pieces.count - 1
    while lo < hi:  # the last piece whose left knot is at most x
        mid = (lo + hi + 1) // 2
        if pieces.knots[mid] <= x:
            lo = mid
        else:
            hi = mid - 1
    return pieces.slopes[lo], pieces.intercepts[lo]


def _integral_abs(s, c, u, v):
    """``int_u^v |s x + c| dx``, exactly."""

    def area(p, q):  # the integral of s x + c from p to q
        return s * (q * q - p * p) / 2 + c * (q - p)

    if s != 0 and u < -c / s < v:
        root = -c / s
        return abs(area(u, root)) + abs(area(root, v))
    return abs(area(u, v))


def l1_distance(f, g, a=0, b=1, exact=False):
    """``int_a^b |f(x) - g(x)| dx``, exactly, for two piecewise-linear functions.

    The difference is affine between consecutive knots of either function; each such
    stretch is integrated in closed form (split where the difference changes sign). On
    ``[0, 1]`` this is the mean absolute error over the uniform distribution, the distance
    of Telgarsky's Theorem 1.1.

    Parameters
    ----------
    f, g : PiecewiseLinear or torch.nn.Sequential
        Networks are read by :func:`linear_pieces`; a PiecewiseLinear must cover ``[a, b]``.
    a, b : int, Fraction or float, with ``a < b``; default ``[0, 1]``
    exact : bool, default False
        Return the exact ``fractions.Fraction`` instead of the nearest float.

    Returns
    -------
    float or Fraction
    """
    lo, hi = _exact("a", a), _exact("b", b)
    if not lo < hi:
        raise ValueError(f"b must be above a = {float(lo)!r}; got {float(hi)!r}.")
    F, G = _as_pieces("f", f, lo, hi), _as_pieces("g", g, lo, hi)
    inner = {t for t in F.knots + G.knots if lo < t < hi}
    ends = [lo, *sorted(inner), hi]
    total = Fraction(0)
    for u, v in zip(ends, ends[1:]):
        middle = (u + v) / 2
        (sf, cf), (sg, cg) = _piece_at(F, middle), _piece_at(G, middle)
        total += _integral_abs(sf - sg, cf - cg, u, v)
    return total if exact else float(total)


# ------------------------------------------------------------------- lower bounds on error


def l1_lower_bound(pieces, k):
    """A lower bound on ``int_0^1 |f^k - g|`` for any ``g`` affine on each of ``pieces`` pieces.

    The sawtooth ``f^k`` has ``T = 2^(k-1)`` teeth, each a tent of width ``w = 2^(1-k)``. A
    function with ``p`` pieces bends at ``p - 1`` points, so at least ``T - (p - 1)`` teeth
    contain none of its bends and it is affine on each of them. The best affine
    approximation of a tent in L1 is the constant 1/2 (the tent is symmetric and its values
    are uniform on [0, 1], with median 1/2), with error ``w / 4``. Hence::

        int_0^1 |f^k - g| >= (T - p + 1) w / 4 = (1 - (p - 1) / 2^(k-1)) / 4      (or 0)

    This is our counting argument in the spirit of Telgarsky's (:func:`telgarsky_l1_lower_bound`
    is his); it is exact at ``p = 1``, where the constant 1/2 attains it.

    Parameters
    ----------
    pieces : int, positive
    k : int, positive

    Returns
    -------
    float
    """
    pieces = checks.count("pieces", pieces)
    k = checks.count("k", k)
    return 0.25 * max(0.0, 1.0 - (pieces - 1) / 2 ** (k - 1))


def telgarsky_l1_lower_bound(pieces, k):
    """Telgarsky's lower bound on ``int_0^1 |f^k - g|`` for ``g`` with ``pieces`` affine pieces.

    His argument (2016, proof of Theorem 1.1), evaluated for the sawtooth ``f^k`` on
    ``[0, 1]`` and a ``g`` with ``p`` pieces: the classifier ``1[f^k >= 1/2]`` changes value
    on ``Cr(f^k) = 2^k + 1`` intervals (Corollary 3.14); ``1[g >= 1/2]`` on at most
    ``Cr(g) <= 2p`` (Lemma 3.4, ``g`` being ``(p, 1)``-poly); at least
    ``(Cr(f^k) - 2 Cr(g)) / 2`` of the intervals of ``f^k`` lie where the two classifiers
    disagree throughout (Lemma 3.1), and on each of them ``|f^k - g| >= |f^k - 1/2|``, whose
    integral is at least ``2^(-k-1) / 4``. So::

        int_0^1 |f^k - g| >= 2^(-k-3) (2^k + 1 - 4p) / 2 = 2^(-k-4) (2^k + 1 - 4p)      (or 0)

    which tends to 1/16 for ``p`` much smaller than ``2^k``.

    Parameters
    ----------
    pieces : int, positive
    k : int, positive

    Returns
    -------
    float
    """
    pieces = checks.count("pieces", pieces)
    k = checks.count("k", k)
    return 2.0 ** (-k - 4) * max(0, 2**k + 1 - 4 * pieces)

"""Argument checks shared by every module of the package.

Bad input is a ``ValueError`` whose message has one shape, ``"<name> must be <what was
expected>; got <what was got>."``, so a reader knows which argument, what it should have
been, and what it was. Each check returns the value in the form the code uses (an ``int``,
a ``float``, a tuple, an array), so a caller writes ``n = count("n", n)`` and goes on.

* :func:`count`: an integer in a range (sizes, steps, seeds);
* :func:`number`, :func:`positive`, :func:`nonnegative`, :func:`fraction`: a finite real
  number in a range;
* :func:`integers` and :func:`numbers`: non-empty sequences of those;
* :func:`array`: a finite real array of a given number of dimensions;
* :func:`labels`: a 1-D array of integer class labels (of any real dtype);
* :func:`choice` and :func:`selection`: one, or a non-empty selection, of a few names;
* :func:`tensor` and :func:`module`: a finite floating-point torch tensor, a torch module
  (torch is imported only when they are called).
"""

from __future__ import annotations

import math
import numbers as _numbers

import numpy as np


def _fail(name, wanted, got):
    raise ValueError(f"{name} must be {wanted}; got {got}.")


def _is_integer(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def count(name, value, minimum=1, maximum=None):
    """``value`` as an ``int`` when it is an integer (not a bool) from ``minimum`` to ``maximum``.

    Raises
    ------
    ValueError
        Otherwise, e.g. "n must be a positive integer; got 0.", "n must be an integer of at
        least 2; got 1." or "k must be an integer from 1 to 5; got 6."
    """
    if not _is_integer(value) or value < minimum or (maximum is not None and value > maximum):
        if maximum is not None:
            wanted = f"an integer from {minimum} to {maximum}"
        elif minimum == 1:
            wanted = "a positive integer"
        elif minimum == 0:
            wanted = "a non-negative integer"
        else:
            wanted = f"an integer of at least {minimum}"
        _fail(name, wanted, repr(value))
    return int(value)


def _interval(low, high, low_open, high_open):
    if low == 0 and high is None:
        return "a positive number" if low_open else "a non-negative number"
    if low is not None and high is not None:
        return f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"a number {'above' if low_open else 'of at least'} {low:g}"
    if high is not None:
        return f"a number {'below' if high_open else 'of at most'} {high:g}"
    return "a finite real number"


def number(name, value, low=None, high=None, low_open=False, high_open=False):
    """``value`` as a ``float`` when it is a finite real number (not a bool) in the interval.

    ``low``/``high`` bound it (``None``: unbounded), closed unless ``low_open``/``high_open``.

    Raises
    ------
    ValueError
        Otherwise, e.g. "lr must be a positive number; got 0." or "p must be a number in
        [0, 1]; got 1.5."
    """
    ok = (
        isinstance(value, _numbers.Real)
        and not isinstance(value, (bool, np.bool_))
        and math.isfinite(value)
    )
    if ok:
        ok = not (low is not None and (value < low or (low_open and value == low)))
        ok = ok and not (high is not None and (value > high or (high_open and value == high)))
    if not ok:
        _fail(name, _interval(low, high, low_open, high_open), repr(value))
    return float(value)


def positive(name, value):
    """``value`` as a ``float`` when it is a finite number above 0."""
    return number(name, value, low=0, low_open=True)


def nonnegative(name, value):
    """``value`` as a ``float`` when it is a finite number of at least 0."""
    return number(name, value, low=0)


def fraction(name, value):
    """``value`` as a ``float`` when it is a number in [0, 1]."""
    return number(name, value, low=0, high=1)


def _sequence(name, values, wanted):
    if isinstance(values, (str, bytes)) or np.ndim(values) != 1:
        _fail(name, wanted, repr(values))
    values = tuple(values.tolist() if isinstance(values, np.ndarray) else values)
    if not values:
        _fail(name, wanted, "an empty one")
    return values


def integers(name, values, minimum=0, min_length=1, distinct=False):
    """``values`` as a tuple of ``int`` when it is a sequence of at least ``min_length``
    integers of at least ``minimum`` (all different when ``distinct``).

    Raises
    ------
    ValueError
        Otherwise, e.g. "seeds must be a non-empty sequence of non-negative integers; got ()."
    """
    kind = {0: "non-negative integers", 1: "positive integers"}.get(
        minimum, f"integers of at least {minimum}"
    )
    kind = ("distinct " if distinct else "") + kind
    wanted = (
        f"a non-empty sequence of {kind}"
        if min_length == 1
        else f"a sequence of at least {min_length} {kind}"
    )
    values = _sequence(name, values, wanted)
    if (
        len(values) < min_length
        or any(not _is_integer(v) or v < minimum for v in values)
        or (distinct and len(set(values)) != len(values))
    ):
        _fail(name, wanted, repr(values))
    return tuple(int(v) for v in values)


def numbers(name, values, low=None, high=None, low_open=False, high_open=False):
    """``values`` as a 1-D float array when it is a non-empty sequence of finite numbers in
    the interval (as in :func:`number`).

    Raises
    ------
    ValueError
        Otherwise, e.g. "alphas must be a non-empty sequence of positive numbers; got (0.0,)."
    """
    each = _interval(low, high, low_open, high_open)
    wanted = "a non-empty sequence of " + each[2:].replace("number", "numbers", 1)
    for value in _sequence(name, values, wanted):
        try:
            number(name, value, low, high, low_open, high_open)
        except ValueError:
            _fail(name, wanted, repr(values))
    return np.asarray(values, dtype=float)


def array(name, value, ndim=None, finite=True, nonempty=True, dtype=float, positive=False):
    """``value`` as a NumPy array of ``dtype`` (no copy when it already is one).

    Parameters
    ----------
    name : str
    value : array_like
    ndim : int or tuple of int, optional
        The number(s) of dimensions allowed.
    finite : bool, default True
        Reject NaN and infinity.
    nonempty : bool, default True
        Reject arrays with a zero-length axis.
    dtype : dtype or None, default float
        ``None`` keeps the array's own real dtype (integers included).
    positive : bool, default False
        Reject entries that are not above 0.

    Raises
    ------
    ValueError
        E.g. "X must be a 2-D array; got shape (3,)." or "X must be finite; got NaN or infinity."
    """
    try:
        result = np.asarray(value)
        # complex numbers and text are refused below, not converted (NumPy would drop the
        # imaginary part with a warning, and read "1" as 1.0)
        bad = dtype is not None and result.dtype.kind in "US"
        if dtype is not None and result.dtype.kind not in "USc":
            result = np.asarray(result, dtype=dtype)
    except (TypeError, ValueError):
        bad = True
    if bad:
        _fail(name, "an array of real numbers", f"{type(value).__name__} {value!r:.60}")
    if not np.issubdtype(result.dtype, np.number) or np.iscomplexobj(result):
        _fail(name, "an array of real numbers", f"dtype {result.dtype}")
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and result.ndim not in allowed:
        wanted = " or ".join(f"{d}-D" for d in allowed)
        _fail(name, f"a {wanted} array", f"shape {result.shape}")
    if nonempty and 0 in result.shape:
        _fail(name, "a non-empty array", f"shape {result.shape}")
    if finite and np.issubdtype(result.dtype, np.floating) and not np.all(np.isfinite(result)):
        _fail(name, "finite", "NaN or infinity")
    if positive and np.any(result <= 0):
        index = np.unravel_index(np.argmin(result), result.shape)
        where = f" at index {index[0] if len(index) == 1 else index}" if index else ""
        _fail(name, "positive", f"{result.min().item()!r}{where}")
    return result


def choice(name, value, options):
    """``value`` when it is one of ``options``.

    Raises
    ------
    ValueError
        E.g. "kernel must be one of ('gaussian', 'laplace'); got 'cosine'."
    """
    options = tuple(options)
    for option in options:
        if isinstance(value, type(option)) and value == option:
            return option
    _fail(name, f"one of {options}", repr(value))


def selection(name, values, options, distinct=True):
    """``values`` as a tuple when it is a non-empty sequence of ``options`` (without repeats
    when ``distinct``).

    Raises
    ------
    ValueError
        E.g. "recipes must be a non-empty selection of ('plain SGD', 'regularized') without
        repeats; got ('regularized', 'regularized')."
    """
    options = tuple(options)
    wanted = f"a non-empty selection of {options}" + (" without repeats" if distinct else "")
    values = _sequence(name, values, wanted)
    for value in values:
        try:
            choice(name, value, options)
        except ValueError:
            _fail(name, wanted, repr(values))
    if distinct and len(set(values)) != len(values):
        _fail(name, wanted, repr(values))
    return values


def labels(name, value, ndim=1):
    """``value`` as an ``int64`` array when it is a non-empty ``ndim``-D array of integers.

    Labels stored as floats (``1.0``) are accepted; a fractional entry is not.

    Raises
    ------
    ValueError
        E.g. "y must be a 1-D array; got shape ()." or "y must be integer labels; got 0.5
        at index 2."
    """
    result = array(name, value, ndim=ndim, dtype=None)
    if not np.issubdtype(result.dtype, np.integer):
        fractional = np.argwhere(result != np.round(result))
        if fractional.size:
            index = tuple(int(i) for i in fractional[0])
            where = index[0] if len(index) == 1 else index
            _fail(name, "integer labels", f"{result[index].item()!r} at index {where}")
    return result.astype(np.int64, copy=False)


def tensor(name, value, ndim=None, finite=True, nonempty=True):
    """``value`` when it is a torch tensor of a floating dtype (not complex).

    Parameters
    ----------
    name : str
    value : torch.Tensor
    ndim : int or tuple of int, optional
        The number(s) of dimensions allowed.
    finite : bool, default True
        Reject NaN and infinity.
    nonempty : bool, default True
        Reject tensors with a zero-length axis.

    Raises
    ------
    ValueError
        E.g. "W must be a torch tensor; got str 'abc'.", "W must be a floating-point
        tensor; got dtype torch.complex64." or "W must be a 2-D tensor; got shape (1, 3, 2)."
    """
    import torch

    if not isinstance(value, torch.Tensor):
        _fail(name, "a torch tensor", f"{type(value).__name__} {value!r:.60}")
    if not value.is_floating_point():
        _fail(name, "a floating-point tensor", f"dtype {value.dtype}")
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and value.ndim not in allowed:
        wanted = " or ".join(f"{d}-D" for d in allowed)
        _fail(name, f"a {wanted} tensor", f"shape {tuple(value.shape)}")
    if nonempty and value.numel() == 0:
        _fail(name, "a non-empty tensor", f"shape {tuple(value.shape)}")
    if finite and not bool(torch.isfinite(value.detach()).all()):
        _fail(name, "finite", "NaN or infinity")
    return value


def module(name, value):
    """``value`` when it is a ``torch.nn.Module``.

    Raises
    ------
    ValueError
        E.g. "model must be a torch.nn.Module; got str 'model'."
    """
    import torch

    if not isinstance(value, torch.nn.Module):
        _fail(name, "a torch.nn.Module", f"{type(value).__name__} {value!r:.60}")
    return value

"""The machinery of the property-based tests: kinds of arguments, their bad values, the
properties, and a hang guard.

A *spec* (:class:`Spec`) describes one public function: a small valid call and, for each
argument it fuzzes, the argument's *kind* (:class:`Array`, :class:`Count`, :class:`Number`,
:class:`Choice`, :class:`Module`, :class:`Tensor`, :class:`Callable`). A kind knows

* its **bad** values (fixed, named: wrong ndim, object, complex, NaN, inf, empty, a string,
  None, 0, -1, 2.5, True, ...): the call must raise ``ValueError`` or ``TypeError`` whose
  message reads ``"<name> must be ...; got ...."``, never crash another way, hang or return;
* its **equivalent** values (a non-contiguous view or a read-only copy of an array, a list
  of its rows): the result must equal the result of the valid call, and the input must not
  be modified;
* its **edge** values (integer arrays where floats are expected, one row, the smallest
  allowed size): either a pattern error, or a result with no NaN and, for an integer array,
  equal to the result on the same numbers as floats;
* a Hypothesis **strategy** of bad values to search beyond the fixed ones (numbers out of
  range, NaN or infinity at any position of an array).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
import signal
from collections.abc import Callable as CallableType

import numpy as np
from hypothesis import strategies as st

PATTERN = re.compile(r"^(?P<name>[\w\[\]\.\-', ]+?) must (be|have|contain) .+; got .+", re.DOTALL)
TIME_LIMIT_S = 10.0


class Hang(Exception):
    """Raised by :func:`time_limit` when a call runs past its limit."""


@contextlib.contextmanager
def time_limit(seconds=TIME_LIMIT_S):
    """Raise :class:`Hang` in the main thread after ``seconds`` (SIGALRM, POSIX only)."""

    def alarm(signum, frame):
        raise Hang(f"the call ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---------------------------------------------------------------- kinds of arguments


class Kind:
    """An argument kind: override ``bad``, ``equivalent``, ``edge`` and ``strategy``."""

    def bad(self, value):
        return []

    def equivalent(self, value):
        return []

    def edge(self, value):
        return []

    def strategy(self, value):
        return None


@dataclasses.dataclass
class Array(Kind):
    """A NumPy array of real numbers (``integer``: of integers, e.g. labels or indices).

    ``coupled``: axes whose length must match another argument (dropping one entry there is
    bad); ``empty_ok``: an empty array is legitimate (checked as an edge); ``finite``: NaN and
    infinity are bad (False where they are data, e.g. a loss curve that diverged).
    """

    integer: bool = False
    coupled: tuple = ()
    empty_ok: bool = False
    finite: bool = True
    ndim_fixed: bool = True
    optional: bool = False  # None is legitimate (a default)
    keeps_dtype: bool = False  # the result has the input's dtype, by design

    def bad(self, value):
        v = np.asarray(value)
        out = [("a string", "abc")] + ([] if self.optional else [("None", None)])
        if self.ndim_fixed:
            out.append(("one more axis", v[None]))
            if v.ndim >= 1:
                out.append(("one axis less", v[0] if v.ndim > 1 else v[0].item()))
        obj = v.astype(object)
        if obj.size:
            obj.flat[0] = "a"
            out.append(("object dtype with a string", obj))
        out.append(("complex dtype", v.astype(complex) + 1j))
        if self.integer:
            if v.size:
                half = v.astype(float)
                half.flat[0] += 0.5
                out.append(("a non-integer entry", half))
        elif self.finite and v.size:
            for label, x in (("NaN", np.nan), ("inf", np.inf), ("-inf", -np.inf)):
                w = v.astype(float)
                w.flat[w.size // 2] = x
                out.append((label, w))
        if not self.empty_ok and v.ndim >= 1:
            out.append(("empty", v[:0]))
        for axis in self.coupled:
            if v.ndim > axis and v.shape[axis] > 1:
                out.append((f"one entry less on axis {axis}", np.delete(v, -1, axis=axis)))
        return out

    def equivalent(self, value):
        v = np.asarray(value)
        if v.ndim == 0:
            return []
        strided = np.repeat(v, 2, axis=0)[::2]  # same numbers, every other row of a bigger array
        readonly = v.copy()
        readonly.setflags(write=False)
        # (label, value, exact): another memory layout may change BLAS's order of summation,
        # so those results are equal to rounding; a read-only copy gives the same bits
        out = [("non-contiguous view", strided, False), ("read-only copy", readonly, True)]
        if v.ndim >= 2:
            out.append(("Fortran order", np.asfortranarray(v), False))
        return out

    def edge(self, value):
        v = np.asarray(value)
        out = []
        if not self.integer and not self.keeps_dtype and np.issubdtype(v.dtype, np.floating):
            rounded = np.round(v)
            out.append(("integer dtype", rounded.astype(np.int64), rounded.astype(v.dtype)))
            out.append(("float32", v.astype(np.float32), v.astype(np.float32).astype(v.dtype)))
        if v.ndim >= 1 and v.shape[0] > 1 and not self.coupled:
            out.append(("one row", v[:1], None))
        if self.empty_ok and v.ndim >= 1:
            out.append(("empty", v[:0], None))
        return out

    def strategy(self, value):
        v = np.asarray(value)
        if self.integer or not self.finite or v.size == 0:
            return None
        return st.tuples(
            st.integers(0, v.size - 1),
            st.sampled_from([np.nan, np.inf, -np.inf]),
        ).map(lambda pair: _with_entry(v, *pair))


def _with_entry(v, index, x):
    w = v.astype(float)
    w.flat[index] = x
    return w


@dataclasses.dataclass
class Count(Kind):
    """An integer of at least ``minimum`` (a size, a number of steps, a seed)."""

    minimum: int = 1
    optional: bool = False  # None is legitimate (a documented default)

    def bad(self, value):
        out = [("-1", -1), ("2.5", 2.5), ("True", True), ("a string", "2")]
        out += [] if self.optional else [("None", None)]
        if self.minimum > 0:
            out.insert(0, (f"{self.minimum - 1}", self.minimum - 1))
        return [(label, v) for label, v in out if not (isinstance(v, int) and v >= self.minimum)]

    def edge(self, value):
        out = [("the smallest allowed", self.minimum, None)]
        if isinstance(value, int):
            out.append(("numpy integer", np.int64(value), value))
        return out

    def strategy(self, value):
        return st.one_of(
            st.integers(max_value=self.minimum - 1),
            st.floats(allow_nan=True).filter(lambda x: not float(x).is_integer()),
        )


@dataclasses.dataclass
class Number(Kind):
    """A finite real number in ``[low, high]`` (``low_open``/``high_open``: an open end)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def _outside(self, x):
        if not math.isfinite(x):
            return True
        if self.low is not None and (x < self.low or (self.low_open and x == self.low)):
            return True
        return self.high is not None and (x > self.high or (self.high_open and x == self.high))

    def bad(self, value):
        out = [("NaN", float("nan")), ("inf", float("inf")), ("-inf", float("-inf"))]
        out += [("a string", "1"), ("None", None), ("True", True), ("complex", 1 + 1j)]
        if self.low is not None:
            out.append(("below the range", self.low - 1.0))
            if self.low_open:
                out.append(("the open lower end", self.low))
        if self.high is not None:
            out.append(("above the range", self.high + 1.0))
            if self.high_open:
                out.append(("the open upper end", self.high))
        return out

    def edge(self, value):
        out = [("numpy float", np.float64(value), value)] if isinstance(value, float) else []
        for end, is_open in ((self.low, self.low_open), (self.high, self.high_open)):
            if end is not None and not is_open:
                out.append(("an end of the range", end, None))
        return out

    def strategy(self, value):
        return st.floats(allow_nan=True, allow_infinity=True).filter(self._outside)


@dataclasses.dataclass
class Choice(Kind):
    """One of a few names."""

    options: tuple = ()

    def bad(self, value):
        out = [("an unknown name", "no such option"), ("an int", 3)]
        return out + ([] if None in self.options else [("None", None)])

    def strategy(self, value):
        return st.one_of(st.text(max_size=8), st.integers()).filter(lambda x: x not in self.options)


@dataclasses.dataclass
class Module(Kind):
    """A torch module."""

    def bad(self, value):
        return [("a string", "model"), ("None", None), ("an array", np.zeros(3))]


@dataclasses.dataclass
class Tensor(Kind):
    """A float torch tensor: as an :class:`Array` but in torch."""

    finite: bool = True
    ndim_fixed: bool = True  # False: leading batch axes are legitimate (documented)

    def bad(self, value):
        import torch

        v = value.detach()
        out = [("a string", "abc"), ("None", None)]
        if self.ndim_fixed:
            out.append(("one more axis", v[None]))
        if self.finite and v.numel():
            for label, x in (("NaN", float("nan")), ("inf", float("inf"))):
                w = v.clone()
                w.view(-1)[w.numel() // 2] = x
                out.append((label, w))
        out.append(("complex", v.to(torch.complex64)))
        return out


@dataclasses.dataclass
class Callable(Kind):
    """A function (a loss, a gradient, a training step)."""

    def bad(self, value):
        return [("None", None), ("a number", 3.0), ("a string", "f")]


# ------------------------------------------------------------------------------ specs


@dataclasses.dataclass
class Spec:
    """One public function's valid call and the kinds of the arguments to fuzz.

    ``call`` returns the keyword arguments of a fresh valid call; ``run`` (default: the
    function itself) is called with them, e.g. to call a method of a constructed object.
    ``nan_ok``: the result may hold NaN legitimately.
    """

    call: CallableType
    kinds: dict
    run: CallableType | None = None
    nan_ok: bool = False


# ------------------------------------------------------------------------ properties


def has_nan(result, depth=0):
    """True when a NaN sits anywhere in the result (arrays, tensors, numbers, records)."""
    if depth > 4:
        return False
    if isinstance(result, float):
        return math.isnan(result)
    if isinstance(result, np.ndarray):
        return np.issubdtype(result.dtype, np.inexact) and bool(np.isnan(result).any())
    if type(result).__module__.startswith("torch") and hasattr(result, "isnan"):
        return bool(result.detach().isnan().any()) if result.is_floating_point() else False
    if isinstance(result, (list, tuple)):
        return any(has_nan(r, depth + 1) for r in result)
    if isinstance(result, dict):
        return any(has_nan(r, depth + 1) for r in result.values())
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return any(has_nan(getattr(result, f.name), depth + 1) for f in dataclasses.fields(result))
    return False


def _close_arrays(a, b):
    # rounding differences of another summation order, amplified at most a little (arccos
    # near 1, a few steps of float32 training)
    single = a.dtype == np.float32 or b.dtype == np.float32
    rtol, atol = (1e-3, 1e-5) if single else (1e-6, 1e-9)
    return np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


def same(a, b, exact=True, depth=0):
    """Equality of two results, field by field (run times and other timings excepted);
    ``exact=False``: floating-point numbers equal to rounding."""
    if depth > 5:
        return True
    real = (int, float, np.integer, np.floating)
    if isinstance(a, real) and isinstance(b, real) and not isinstance(a, bool):
        a, b = float(a), float(b)  # a numpy scalar passed through equals the Python number
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        if a.shape != b.shape:
            return False
        if not exact and np.issubdtype(a.dtype, np.inexact):
            return _close_arrays(a, b)
        return np.array_equal(a, b, equal_nan=True)
    if isinstance(a, float):
        if not exact:
            return _close_arrays(np.array(a), np.array(b))
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y, exact, depth + 1) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], exact, depth + 1) for k in a)
    module = type(a).__module__
    if module.startswith("torch"):
        import torch

        if isinstance(a, torch.Tensor):
            if a.shape != b.shape:
                return False
            if not exact and a.is_floating_point():
                return _close_arrays(a.detach().numpy(), b.detach().numpy())
            return bool(torch.equal(a.detach(), b.detach()))
        if isinstance(a, torch.nn.Module):
            return same(dict(a.state_dict()), dict(b.state_dict()), exact, depth + 1)
        return True
    if dataclasses.is_dataclass(a):
        return all(
            same(getattr(a, f.name), getattr(b, f.name), exact, depth + 1)
            for f in dataclasses.fields(a)
            if "time" not in f.name
        )
    if hasattr(a, "__dict__") and module.startswith("generalization"):
        return same(vars(a), vars(b), exact, depth + 1)
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - objects without a usable equality count as equal
        return True


def copy_value(value):
    """A deep copy of an argument, to see afterwards whether the call modified it."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if type(value).__module__.startswith("torch"):
        import copy

        return copy.deepcopy(value)
    return value

"""Property-based tests over every public function of the method modules.

Each public function (a name in a method module's namespace that does not start with "_"
and is defined there) has a spec in :mod:`fuzz_specs` (a valid call and the kinds of its
arguments) or an entry in its exemption table with the reason. For every fuzzed argument:

* each **bad** value of its kind raises ``ValueError`` or ``TypeError`` in the package's
  message pattern ``"<name> must be ...; got ...."``: never another exception, a hang (each
  call runs under a time limit) or a result;
* each **equivalent** value (a non-contiguous view, a read-only copy) gives the result of
  the valid call, and is not modified;
* each **edge** value (an integer array where floats are expected, one row, the smallest
  allowed size) gives a pattern error or a result without NaN (equal to the float result
  for an integer array of the same numbers);
* Hypothesis searches further bad values (numbers out of range, NaN or infinity anywhere
  in an array), derandomized so that every run tries the same ones.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import warnings

import fuzz_harness as fh
import numpy as np
import pytest
from fuzz_specs import ACCEPTED, EXEMPT, SPECS
from hypothesis import HealthCheck, Phase, given, settings
from known_defects import KNOWN_DEFECTS

import generalization

# Method modules: every flat module of the package; the core (checks) is tested by its own
# message tests, book/ and chapters/ are not methods.
NOT_METHODS = {"checks"}


def public_names():
    names = set()
    for info in pkgutil.iter_modules(generalization.__path__):
        if info.ispkg or info.name in NOT_METHODS:
            continue
        module = importlib.import_module(f"generalization.{info.name}")
        for name, obj in vars(module).items():
            if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if obj.__module__ == module.__name__:
                names.add(f"{info.name}.{name}")
    return names


def function(qualified):
    module, name = qualified.split(".")
    return getattr(importlib.import_module(f"generalization.{module}"), name)


def test_every_public_function_has_a_spec_or_a_stated_exemption(capsys):
    public = public_names()
    missing = sorted(public - SPECS.keys() - EXEMPT.keys())
    assert not missing, f"public functions with no fuzz spec and no exemption: {missing}"
    stale = sorted((SPECS.keys() | EXEMPT.keys()) - public)
    assert not stale, f"specs or exemptions for names that are not public functions: {stale}"
    assert not SPECS.keys() & EXEMPT.keys()
    assert all(isinstance(r, str) and len(r) > 20 for r in EXEMPT.values())
    with capsys.disabled():
        print(f"\n{len(SPECS)} public functions fuzzed; {len(EXEMPT)} exempt:")
        for name, reason in sorted(EXEMPT.items()):
            print(f"  {name}: {reason}")


# --------------------------------------------------------------------------- running


def _run(name, kwargs):
    spec = SPECS[name]
    target = spec.run or function(name)
    with fh.time_limit(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return target(**kwargs)


_BASELINES = {}


def baseline(name):
    if name not in _BASELINES:
        _BASELINES[name] = _run(name, SPECS[name].call())
    return _BASELINES[name]


def valid_call(name):
    """The spec's valid keyword arguments, with the defaults of the fuzzed ones it leaves out."""
    kwargs = SPECS[name].call()
    parameters = inspect.signature(function(name)).parameters
    for arg in SPECS[name].kinds:
        if arg not in kwargs:
            default = parameters[arg].default
            assert default is not inspect.Parameter.empty, f"{name}: no value for {arg}"
            kwargs[arg] = default
    return kwargs


def _cases(method):
    cases = []
    for name in sorted(SPECS):
        spec = SPECS[name]
        valid = valid_call(name)
        for arg, kind in spec.kinds.items():
            for i, case in enumerate(getattr(kind, method)(valid[arg])):
                case_id = f"{name}-{arg}-{case[0]}"
                cases.append(pytest.param(name, arg, i, id=case_id, marks=_known(method, case_id)))
    return cases


def _known(method, case_id):
    """Defects found and not fixed yet: strict xfails, so that a fix must strike them off;
    behaviours accepted on reflection: skipped, with the reason."""
    key = f"{method}:{case_id}"
    assert not (key in ACCEPTED and key in KNOWN_DEFECTS), key
    if key in ACCEPTED:
        return [pytest.mark.skip(reason=f"accepted: {ACCEPTED[key]}")]
    note = KNOWN_DEFECTS.get(key)
    return [pytest.mark.xfail(strict=True, reason=note)] if note else []


def _value(name, arg, method, i):
    kwargs = valid_call(name)
    case = getattr(SPECS[name].kinds[arg], method)(kwargs[arg])[i]
    return kwargs, case


def assert_pattern_error(name, kwargs, label):
    try:
        result = _run(name, kwargs)
    except (ValueError, TypeError) as error:
        message = str(error)
        assert fh.PATTERN.match(message), (
            f"{label}: {type(error).__name__} not in the pattern '<name> must be ...; got ...': "
            f"{message!r}"
        )
        return
    except fh.Hang as error:
        pytest.fail(f"{label}: hang: {error}")
    except Exception as error:  # noqa: BLE001 - any other exception is the defect found
        pytest.fail(f"{label}: {type(error).__name__} instead of ValueError: {error}")
    pytest.fail(f"{label}: returned instead of raising (NaN in result: {fh.has_nan(result)})")


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_valid_call_runs_and_has_no_nan(name):
    result = baseline(name)
    assert SPECS[name].nan_ok or not fh.has_nan(result)


@pytest.mark.parametrize("name, arg, i", _cases("bad"))
def test_a_bad_value_raises_in_the_message_pattern(name, arg, i):
    kwargs, (label, value) = _value(name, arg, "bad", i)
    kwargs[arg] = value
    assert_pattern_error(name, kwargs, f"{name}({arg}={label})")


@pytest.mark.parametrize("name, arg, i", _cases("equivalent"))
def test_an_equivalent_value_gives_the_same_result_and_is_not_modified(name, arg, i):
    kwargs, (label, value, exact) = _value(name, arg, "equivalent", i)
    before = fh.copy_value(value)
    kwargs[arg] = value
    result = _run(name, kwargs)
    assert fh.same(result, baseline(name), exact), f"{name}({arg}={label}) gave another result"
    assert np.array_equal(np.asarray(value), before), f"{name} modified its {arg}"


@pytest.mark.parametrize("name, arg, i", _cases("edge"))
def test_an_edge_value_raises_in_the_pattern_or_gives_a_result_without_nan(name, arg, i):
    kwargs, (label, value, reference) = _value(name, arg, "edge", i)
    kwargs[arg] = value
    try:
        result = _run(name, kwargs)
    except (ValueError, TypeError) as error:
        assert fh.PATTERN.match(str(error)), f"{name}({arg}={label}): {error!r}"
        return
    assert SPECS[name].nan_ok or not fh.has_nan(result), f"{name}({arg}={label}) gave NaN"
    if reference is not None:
        kwargs = valid_call(name)  # fresh: a model or generator of the first call has moved on
        kwargs[arg] = reference
        expected = _run(name, kwargs)  # the same numbers as floats: equal to rounding
        assert fh.same(result, expected, exact=False), f"{name}({arg}={label}) changed the result"


def _searched():
    cases = []
    for name in sorted(SPECS):
        spec = SPECS[name]
        valid = valid_call(name)
        for arg, kind in spec.kinds.items():
            if kind.strategy(valid[arg]) is not None:
                case_id = f"{name}-{arg}"
                cases.append(pytest.param(name, arg, id=case_id, marks=_known("search", case_id)))
    return cases


@pytest.mark.parametrize("name, arg", _searched())
def test_searched_bad_values_raise_in_the_message_pattern(name, arg):
    strategy = SPECS[name].kinds[arg].strategy(valid_call(name)[arg])

    @settings(
        max_examples=6,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],  # no shrinking: the first bad value found is reported as is
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def check(value):
        kwargs = valid_call(name)
        kwargs[arg] = value
        assert_pattern_error(name, kwargs, f"{name}({arg}={value!r:.80})")

    check()


def test_every_accepted_behaviour_and_known_defect_names_a_case():
    ids = {f"{m}:{case.id}" for m in ("bad", "equivalent", "edge") for case in _cases(m)}
    ids |= {f"search:{case.id}" for case in _searched()}
    stale = sorted((ACCEPTED.keys() | KNOWN_DEFECTS.keys()) - ids)
    assert not stale, f"entries that name no test case: {stale}"
    assert all(isinstance(r, str) and len(r) > 20 for r in ACCEPTED.values())

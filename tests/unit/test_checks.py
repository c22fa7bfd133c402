"""generalization.checks: every message reads "<name> must be ...; got ...", tested by its text."""

from fractions import Fraction

import numpy as np
import pytest

from generalization import checks


def raises(message, call, *args, **kwargs):
    with pytest.raises(ValueError) as info:
        call(*args, **kwargs)
    assert str(info.value) == message


def test_count_accepts_integers_in_range_and_returns_an_int():
    assert (
        checks.count("n", 1) == 1
        and checks.count("n", np.int64(7)) == 7
        and checks.count("n", 2, minimum=2) == 2
    )
    assert type(checks.count("n", np.int32(3))) is int
    assert checks.count("k", 5, maximum=5) == 5 and checks.count("s", 0, minimum=0) == 0


@pytest.mark.parametrize(
    "value, bounds, message",
    [
        (0, {}, "n must be a positive integer; got 0."),
        (True, {}, "n must be a positive integer; got True."),
        (np.bool_(True), {}, "n must be a positive integer; got np.True_."),
        (2.0, {}, "n must be a positive integer; got 2.0."),
        ("3", {}, "n must be a positive integer; got '3'."),
        (1, {"minimum": 2}, "n must be an integer of at least 2; got 1."),
        (-1, {"minimum": 0}, "n must be a non-negative integer; got -1."),
        (6, {"maximum": 5}, "n must be an integer from 1 to 5; got 6."),
    ],
)
def test_count_rejects_what_is_not_an_integer_in_range(value, bounds, message):
    raises(message, checks.count, "n", value, **bounds)


def test_numbers_in_intervals():
    assert checks.positive("lr", 1) == 1.0 and type(checks.positive("lr", np.float32(0.5))) is float
    assert checks.nonnegative("alpha", 0) == 0.0 and checks.fraction("p", 1) == 1.0
    assert checks.number("x", Fraction(1, 4)) == 0.25
    assert checks.number("r", 0.0, low=0, high=1, high_open=True) == 0.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: checks.positive("lr", 0), "lr must be a positive number; got 0."),
        (lambda: checks.positive("lr", float("inf")), "lr must be a positive number; got inf."),
        (
            lambda: checks.nonnegative("noise_var", -1e-3),
            "noise_var must be a non-negative number; got -0.001.",
        ),
        (
            lambda: checks.nonnegative("noise_var", float("nan")),
            "noise_var must be a non-negative number; got nan.",
        ),
        (lambda: checks.fraction("p", 1.5), "p must be a number in [0, 1]; got 1.5."),
        (lambda: checks.fraction("p", True), "p must be a number in [0, 1]; got True."),
        (
            lambda: checks.number("m", 1, low=0, high=1, high_open=True),
            "m must be a number in [0, 1); got 1.",
        ),
        (lambda: checks.number("x", "2"), "x must be a finite real number; got '2'."),
        (lambda: checks.number("x", 3, low=5), "x must be a number of at least 5; got 3."),
        (
            lambda: checks.number("x", 3, high=1, high_open=True),
            "x must be a number below 1; got 3.",
        ),
    ],
)
def test_numbers_outside_their_interval_are_rejected(call, message):
    raises(message, call)


def test_sequences():
    assert checks.integers("seeds", np.arange(3)) == (0, 1, 2)
    assert checks.integers("inits", [3, 1], min_length=2, distinct=True) == (3, 1)
    np.testing.assert_array_equal(
        checks.numbers("alphas", (1, 0.5), low=0, low_open=True), [1.0, 0.5]
    )


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: checks.integers("seeds", ()),
            "seeds must be a non-empty sequence of non-negative integers; got an empty one.",
        ),
        (
            lambda: checks.integers("seeds", 3),
            "seeds must be a non-empty sequence of non-negative integers; got 3.",
        ),
        (
            lambda: checks.integers("seeds", "01"),
            "seeds must be a non-empty sequence of non-negative integers; got '01'.",
        ),
        (
            lambda: checks.integers("seeds", (0, 1.5)),
            "seeds must be a non-empty sequence of non-negative integers; got (0, 1.5).",
        ),
        (
            lambda: checks.integers("widths", (2, 0), minimum=1),
            "widths must be a non-empty sequence of positive integers; got (2, 0).",
        ),
        (
            lambda: checks.integers("inits", (1, 1), min_length=2, distinct=True),
            "inits must be a sequence of at least 2 distinct non-negative integers; got (1, 1).",
        ),
        (
            lambda: checks.numbers("alphas", (1.0, 0.0), low=0, low_open=True),
            "alphas must be a non-empty sequence of positive numbers; got (1.0, 0.0).",
        ),
        (
            lambda: checks.numbers("levels", [0.5, 1.0], low=0, high=1, high_open=True),
            "levels must be a non-empty sequence of numbers in [0, 1); got [0.5, 1.0].",
        ),
        (
            lambda: checks.numbers("x", [[1.0]]),
            "x must be a non-empty sequence of finite real numbers; got [[1.0]].",
        ),
    ],
)
def test_bad_sequences_are_rejected(call, message):
    raises(message, call)


def test_arrays():
    X = np.ones((2, 3), dtype=np.float32)
    assert checks.array("X", X, dtype=None) is X  # no copy when nothing is to be converted
    assert checks.array("X", [[1, 2]]).dtype == np.float64
    assert checks.array("y", [1, 2], dtype=None).dtype.kind == "i"
    assert checks.array("X", np.zeros((0, 3)), nonempty=False).shape == (0, 3)
    assert checks.array("x", [np.inf], finite=False)[0] == np.inf


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: checks.array("X", np.ones(3), ndim=2), "X must be a 2-D array; got shape (3,)."),
        (
            lambda: checks.array("y", np.ones((2, 2, 2)), ndim=(1, 2)),
            "y must be a 1-D or 2-D array; got shape (2, 2, 2).",
        ),
        (lambda: checks.array("X", [[1.0, np.nan]]), "X must be finite; got NaN or infinity."),
        (
            lambda: checks.array("X", np.zeros((0, 3))),
            "X must be a non-empty array; got shape (0, 3).",
        ),
        (
            lambda: checks.array("X", ["a"], dtype=None),
            "X must be an array of real numbers; got dtype <U1.",
        ),
        (
            lambda: checks.array("X", [True], dtype=None),
            "X must be an array of real numbers; got dtype bool.",
        ),
        (
            lambda: checks.array("X", [1j], dtype=None),
            "X must be an array of real numbers; got dtype complex128.",
        ),
        (lambda: checks.array("X", ["a"]), "X must be an array of real numbers; got list ['a']."),
        (
            lambda: checks.array("lam", [1.0, 0.5, 0.0], positive=True),
            "lam must be positive; got 0.0 at index 2.",
        ),
    ],
)
def test_bad_arrays_are_rejected(call, message):
    raises(message, call)


def test_choices():
    assert checks.choice("kernel", "laplace", ("gaussian", "laplace")) == "laplace"
    assert checks.choice("blas", None, (None, True, False)) is None
    assert checks.selection("recipes", ["b"], ("a", "b")) == ("b",)
    raises(
        "kernel must be one of ('gaussian', 'laplace'); got 'cosine'.",
        checks.choice,
        "kernel",
        "cosine",
        ("gaussian", "laplace"),
    )
    raises(
        "blas must be one of (None, True, False); got 1.",
        checks.choice,
        "blas",
        1,
        (None, True, False),
    )
    raises(
        "recipes must be a non-empty selection of ('a', 'b') without repeats; got ('a', 'a').",
        checks.selection,
        "recipes",
        ("a", "a"),
        ("a", "b"),
    )
    raises(
        "recipes must be a non-empty selection of ('a', 'b') without repeats; got an empty one.",
        checks.selection,
        "recipes",
        [],
        ("a", "b"),
    )
    raises(
        "recipes must be a non-empty selection of ('a', 'b') without repeats; got ('c',).",
        checks.selection,
        "recipes",
        ("c",),
        ("a", "b"),
    )


def test_no_module_writes_its_own_type_checks():
    # the private twins the shared checks replaced: `isinstance(value, bool)` guards belong in
    # checks.py
    from pathlib import Path

    package = Path(checks.__file__).parent
    offenders = [
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if p.name != "checks.py" and "isinstance(value, bool)" in p.read_text()
    ]
    # the ledger takes a number or a string; exact() takes Fractions: neither is a shared shape
    assert sorted(offenders) == ["book/ledger.py", "chapters/part3/parametrization.py"]


def test_labels_accepts_integers_of_any_real_dtype_and_returns_int64():
    y = checks.labels("y", np.array([0.0, 2.0, 1.0]))
    assert y.dtype == np.int64 and y.tolist() == [0, 2, 1]
    assert checks.labels("y", [3, 0]).tolist() == [3, 0]


@pytest.mark.parametrize(
    "value, message",
    [
        (np.array([0.0, 1.5]), "y must be integer labels; got 1.5 at index 1."),
        (2, "y must be a 1-D array; got shape ()."),
        (np.zeros((2, 1)), "y must be a 1-D array; got shape (2, 1)."),
        (np.array([], dtype=int), "y must be a non-empty array; got shape (0,)."),
        (np.array([0, 1j]), "y must be an array of real numbers; got dtype complex128."),
        (np.array([0.0, np.nan]), "y must be finite; got NaN or infinity."),
    ],
)
def test_labels_rejects_what_is_not_a_1d_array_of_integers(value, message):
    raises(message, checks.labels, "y", value)


def test_tensor_and_module_accept_and_return_their_argument():
    torch = pytest.importorskip("torch")
    W = torch.zeros(2, 3)
    net = torch.nn.Linear(2, 1)
    assert checks.tensor("W", W, ndim=2) is W and checks.module("model", net) is net
    empty = torch.zeros(0, 3)
    assert checks.tensor("W", empty, nonempty=False) is empty
    assert checks.tensor("W", torch.tensor([np.inf]), finite=False).isinf().all()


def test_tensor_and_module_reject_bad_values_by_their_message():
    torch = pytest.importorskip("torch")
    raises("W must be a torch tensor; got str 'abc'.", checks.tensor, "W", "abc")
    raises("W must be a torch tensor; got NoneType None.", checks.tensor, "W", None)
    raises(
        "W must be a floating-point tensor; got dtype torch.complex64.",
        checks.tensor,
        "W",
        torch.zeros(2, dtype=torch.complex64),
    )
    raises(
        "W must be a floating-point tensor; got dtype torch.int64.",
        checks.tensor,
        "W",
        torch.zeros(2, dtype=torch.int64),
    )
    raises(
        "W must be a 2-D tensor; got shape (1, 3, 2).",
        checks.tensor,
        "W",
        torch.zeros(1, 3, 2),
        ndim=2,
    )
    raises(
        "W must be a 1-D or 2-D tensor; got shape ().",
        checks.tensor,
        "W",
        torch.tensor(1.0),
        (1, 2),
    )
    raises("W must be a non-empty tensor; got shape (0, 2).", checks.tensor, "W", torch.zeros(0, 2))
    nan = torch.tensor([1.0, float("nan")], requires_grad=True)
    raises("W must be finite; got NaN or infinity.", checks.tensor, "W", nan)
    raises("W must be finite; got NaN or infinity.", checks.tensor, "W", torch.tensor([-np.inf]))
    raises("model must be a torch.nn.Module; got NoneType None.", checks.module, "model", None)
    raises("model must be a torch.nn.Module; got str 'model'.", checks.module, "model", "model")
    raises(
        "model must be a torch.nn.Module; got ndarray array([0., 0.]).",
        checks.module,
        "model",
        np.zeros(2),
    )


def test_checks_imports_without_torch():
    import subprocess
    import sys

    code = "import sys, generalization.checks; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

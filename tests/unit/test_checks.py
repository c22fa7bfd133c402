import numpy as np
import pytest

from generalization.checks import count


def test_count_accepts_integers_from_the_minimum():
    assert count("n", 1) == 1 and count("n", np.int64(7)) == 7 and count("n", 2, minimum=2) == 2
    assert type(count("n", np.int32(3))) is int


@pytest.mark.parametrize("value, minimum, message", [
    (0, 1, "n must be a positive integer; got 0."),
    (True, 1, "n must be a positive integer; got True."),
    (2.0, 1, "n must be a positive integer; got 2.0."),
    (1, 2, "n must be an integer of at least 2; got 1."),
])
def test_count_rejects_what_is_not_a_large_enough_integer(value, minimum, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        count("n", value, minimum=minimum)

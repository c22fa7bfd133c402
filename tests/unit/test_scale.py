import pytest

from generalization import SCALES, scale


@pytest.mark.parametrize("raw, expected", [(None, "quick"), ("", "quick"), ("quick", "quick"),
                                           ("full", "full"), (" FULL ", "full")])
def test_scale_reads_book_scale(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("BOOK_SCALE", raising=False)
    else:
        monkeypatch.setenv("BOOK_SCALE", raw)
    assert scale() == expected
    assert scale() in SCALES


@pytest.mark.parametrize("raw", ["fast", "paper", "quick,full", "1"])
def test_scale_rejects_other_values(monkeypatch, raw):
    monkeypatch.setenv("BOOK_SCALE", raw)
    with pytest.raises(ValueError, match=r"BOOK_SCALE must be one of quick, full.*got '"):
        scale()

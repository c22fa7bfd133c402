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


CHAPTER_MODULES = ("bad_minima", "benign", "deep_double_descent", "double_descent", "double_trouble",
                   "kernel_mnist", "memorization", "rethinking", "triple_descent")


@pytest.mark.parametrize("name", CHAPTER_MODULES)
def test_chapter_settings_follow_book_scale_and_reject_unknown_scales(name, monkeypatch):
    import importlib

    module = importlib.import_module(f"generalization.{name}")
    quick, full = module.settings("quick"), module.settings("full")
    assert quick.keys() == full.keys() and quick != full  # one code path, two sizes
    monkeypatch.setenv("BOOK_SCALE", "full")
    assert module.settings() is full
    monkeypatch.delenv("BOOK_SCALE")
    assert module.settings() is quick
    with pytest.raises(ValueError, match=r"scale must be one of \('quick', 'full'\); got 'huge'"):
        module.settings("huge")

import pytest

from generalization import SCALES, scale


@pytest.mark.parametrize(
    "raw, expected",
    [(None, "quick"), ("", "quick"), ("quick", "quick"), ("full", "full"), (" FULL ", "full")],
)
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


def _chapters_with_settings():
    import importlib
    import pkgutil

    from generalization import chapters

    names = []
    for part in pkgutil.iter_modules(chapters.__path__, "generalization.chapters."):
        package = importlib.import_module(part.name)
        for info in pkgutil.iter_modules(package.__path__, part.name + "."):
            if hasattr(importlib.import_module(info.name), "settings"):
                names.append(info.name)
    return names


CHAPTER_MODULES = _chapters_with_settings()


def test_every_chapter_with_sizes_is_checked():
    # every chapter but the exact parametrization chapter has sizes per scale
    import pkgutil

    from generalization import chapters

    every = [
        info.name
        for part in pkgutil.iter_modules(chapters.__path__, "generalization.chapters.")
        for info in pkgutil.walk_packages(
            [f"{chapters.__path__[0]}/{part.name.rsplit('.', 1)[-1]}"], part.name + "."
        )
    ]
    assert len(every) >= 16
    assert sorted(CHAPTER_MODULES) == sorted(
        set(every) - {"generalization.chapters.part3.parametrization"}
    )


@pytest.mark.parametrize("name", CHAPTER_MODULES)
def test_chapter_settings_follow_book_scale_and_reject_unknown_scales(name, monkeypatch):
    import importlib

    module = importlib.import_module(name)
    quick, full = module.settings("quick"), module.settings("full")
    assert quick.keys() == full.keys() and quick != full  # one code path, two sizes
    monkeypatch.setenv("BOOK_SCALE", "full")
    assert module.settings() is full
    monkeypatch.delenv("BOOK_SCALE")
    assert module.settings() is quick
    with pytest.raises(ValueError, match=r"scale must be one of \('quick', 'full'\); got 'huge'"):
        module.settings("huge")

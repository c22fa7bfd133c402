from generalization.book import cache


def test_source_hash_changes_with_content_and_names(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "req.txt").write_text("numpy==2\n")
    paths = [tmp_path / "pkg", tmp_path / "req.txt"]
    first = cache.source_hash(paths)
    assert cache.source_hash(paths) == first
    (tmp_path / "pkg" / "a.py").write_text("x = 2\n")
    second = cache.source_hash(paths)
    assert second != first
    (tmp_path / "pkg" / "a.py").rename(tmp_path / "pkg" / "b.py")
    assert cache.source_hash(paths) != second
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "b.py").write_text("ignored")
    third = cache.source_hash(paths)
    (tmp_path / "pkg" / "__pycache__" / "b.py").write_text("still ignored")
    assert cache.source_hash(paths) == third


def test_cached_runs_once_per_arguments(tmp_path, monkeypatch):
    monkeypatch.setenv("GENERALIZATION_CACHE", str(tmp_path))
    cache.memory.cache_clear()
    calls = []

    def square(x):
        calls.append(x)
        return x * x

    fast = cache.cached(square)
    assert fast(3) == 9 and fast(3) == 9 and fast(4) == 16
    assert calls == [3, 4]
    assert fast.uncached(3) == 9 and calls == [3, 4, 3]
    cache.memory.cache_clear()


def test_results_of_other_source_versions_are_pruned(tmp_path, monkeypatch):
    monkeypatch.setenv("GENERALIZATION_CACHE", str(tmp_path))
    stale = tmp_path / ("0" * 16)
    stale.mkdir()
    (stale / "result.pkl").write_text("old")
    keep = tmp_path / "notes"  # not a cache folder of ours
    keep.mkdir()
    cache.memory.cache_clear()
    location = cache.memory().location
    assert not stale.exists() and keep.exists()
    assert str(location).endswith(cache.source_hash()[:16])
    cache.memory.cache_clear()

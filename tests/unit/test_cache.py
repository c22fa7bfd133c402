from generalization import cache


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

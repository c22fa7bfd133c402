"""Faults in the MNIST files: a cache cut short, a wheel cut short, two loaders at once.

``generalization.data`` caches the checked arrays in ``mnist.npz`` next to the wheel. A cache
cut short (by a crash or a full disk) must be rebuilt from the wheel, never read; a wheel cut
short must stop with an error that says to delete it and run ``make data``; two processes
that build the cache at once must leave one whole cache and no temporary files. The checks
here hash the arrays themselves against the published sha256 of each, independently of the
loader's own checks.
"""

import hashlib
import io
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from generalization import data

# Loads MNIST from a data folder once a start file exists; prints the sha256 of the labels.
LOADER = textwrap.dedent("""\
    import hashlib, sys, time
    from pathlib import Path

    folder = Path(sys.argv[1])
    (folder.parent / f"ready-{sys.argv[2]}").touch()
    while not (folder.parent / "go").exists():
        time.sleep(0.005)
    from generalization.data import load_mnist

    mnist = load_mnist(folder)
    print(hashlib.sha256(mnist.y_train.astype("uint8").tobytes()).hexdigest())
    """)


def wheel_folder(tmp_path):
    """A data folder holding (a link to) the checked wheel and nothing else."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / data.MNIST_WHEEL).symlink_to(data.data_dir() / data.MNIST_WHEEL)
    return folder


def assert_whole_cache(folder):
    """The cache in ``folder`` holds the four arrays with their published sha256."""
    with np.load(folder / data.MNIST_CACHE) as archive:
        for name, expected in data.MNIST_ARRAY_SHA256.items():
            assert hashlib.sha256(archive[name].tobytes()).hexdigest() == expected, name
    assert sorted(p.name for p in folder.iterdir()) == [data.MNIST_CACHE, data.MNIST_WHEEL]


@pytest.fixture(scope="module")
def whole_cache():
    """The bytes of a cache written by load_mnist: the one in the data folder (`make data`)."""
    data.load_mnist()  # writes it if it is missing
    whole = (data.data_dir() / data.MNIST_CACHE).read_bytes()
    with np.load(io.BytesIO(whole)) as archive:
        for name, expected in data.MNIST_ARRAY_SHA256.items():
            assert hashlib.sha256(archive[name].tobytes()).hexdigest() == expected, name
    return whole


@pytest.mark.parametrize("how", ["half", "empty"])
def test_a_cache_cut_short_is_rebuilt_from_the_wheel(tmp_path, whole_cache, how):
    # Found: an empty mnist.npz made np.load raise EOFError, which the loader let through.
    folder = wheel_folder(tmp_path)
    cache = folder / data.MNIST_CACHE
    cache.write_bytes(whole_cache[: len(whole_cache) // 2] if how == "half" else b"")
    mnist = data.load_mnist(folder)
    labels = mnist.y_train.astype(np.uint8).tobytes()
    assert hashlib.sha256(labels).hexdigest() == data.MNIST_ARRAY_SHA256["y_train"]
    assert cache.read_bytes() != b"" and len(cache.read_bytes()) > len(whole_cache) // 2
    assert_whole_cache(folder)


@pytest.mark.parametrize("how", ["half", "empty"])
def test_a_wheel_cut_short_says_delete_it_and_run_make_data(tmp_path, how):
    folder = tmp_path / "data"
    folder.mkdir()
    wheel = (data.data_dir() / data.MNIST_WHEEL).read_bytes()
    (folder / data.MNIST_WHEEL).write_bytes(wheel[: len(wheel) // 2] if how == "half" else b"")
    with pytest.raises(data.DataError) as error:
        data.load_mnist(folder)
    message = str(error.value)
    assert str(folder / data.MNIST_WHEEL) in message
    assert "Delete it and run `make data`" in message
    assert not (folder / data.MNIST_CACHE).exists()


def test_two_loaders_building_the_cache_at_once_leave_one_whole_cache(tmp_path):
    folder = wheel_folder(tmp_path)
    loaders = [
        subprocess.Popen(
            [sys.executable, "-c", LOADER, str(folder), str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        for i in (0, 1)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{i}").exists() for i in (0, 1)):
        assert time.monotonic() < deadline, "the loaders did not start"
        time.sleep(0.01)
    (tmp_path / "go").touch()
    outputs = [loader.communicate(timeout=120) for loader in loaders]
    assert [loader.returncode for loader in loaders] == [0, 0], outputs
    expected = data.MNIST_ARRAY_SHA256["y_train"]
    assert [out.strip() for out, _ in outputs] == [expected, expected]
    assert_whole_cache(folder)  # one cache, whole, and no temporary file left
    # a third loader reads that cache and does not rebuild it
    before = os.stat(folder / data.MNIST_CACHE).st_mtime_ns
    assert data.load_mnist(folder).y_test.shape == (10000,)
    assert os.stat(folder / data.MNIST_CACHE).st_mtime_ns == before


def test_a_cache_write_cut_short_leaves_no_partial_file(tmp_path, monkeypatch, whole_cache):
    folder = wheel_folder(tmp_path)
    with np.load(io.BytesIO(whole_cache)) as archive:  # the wheel's arrays, without the wait
        arrays = {name: archive[name] for name in data.MNIST_ARRAY_SHA256}
    monkeypatch.setattr(data, "_arrays_from_wheel", lambda wheel: arrays)

    def dies_halfway(file, **arrays):
        Path(file).write_bytes(whole_cache[: len(whole_cache) // 2])
        raise OSError("injected: the disk is full")

    monkeypatch.setattr(np, "savez_compressed", dies_halfway)
    with pytest.raises(OSError, match="injected"):
        data.load_mnist(folder)
    assert sorted(p.name for p in folder.iterdir()) == [data.MNIST_WHEEL]

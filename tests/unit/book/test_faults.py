"""Faults: cache files cut short by a crash, and two writers of one result at once.

Every file the book writes and reads back later must be written whole or not at all. Each
test here writes a real file, cuts it (to half its bytes, or to nothing, as a crash or a full
disk can), and checks that the next read computes the value again or stops with an error
that names the file and the fix; never that it returns something else. Two processes that
compute the same cached result at the same moment must leave one correct file and no
temporary ones. (The MNIST cache has the same tests in ``test_faults_data.py``; a build
killed in the middle of a page in ``test_faults_build.py``.)
"""

import hashlib
import json
import os
import pickle
import subprocess
import sys
import textwrap
import time
import types
import warnings
from pathlib import Path

import pytest

from generalization.book import cache, full_scale

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import ledger_collect  # noqa: E402

MODULE = "generalization.chapters.part2.min_norm"

# A module outside the package with one cached experiment. Each computation appends the
# process id to $FAULT_LOG, so a test sees how many times it ran; $FAULT_DELAY makes it slow.
EXPERIMENT = textwrap.dedent("""\
    import os
    import time

    import numpy as np

    from generalization.book.cache import cached


    def compute(seed, n):
        rng = np.random.default_rng(seed)
        return {"X": rng.standard_normal((n, 64)), "seed": seed}


    @cached
    def experiment(seed, n):
        with open(os.environ["FAULT_LOG"], "a") as log:
            log.write(f"{os.getpid()}\\n")
        time.sleep(float(os.environ.get("FAULT_DELAY", "0")))
        return compute(seed, n)
    """)

# Two workers wait for a start file, so that their computations really overlap.
WORKER = textwrap.dedent("""\
    import hashlib, pickle, sys, time
    from pathlib import Path

    folder = Path(sys.argv[1])
    (folder / f"ready-{sys.argv[2]}").touch()
    while not (folder / "go").exists():
        time.sleep(0.005)
    import fault_experiment

    result = fault_experiment.experiment(3, 4000)
    print(hashlib.sha256(pickle.dumps(result)).hexdigest())
    """)


def digest(value):
    return hashlib.sha256(pickle.dumps(value)).hexdigest()


@pytest.fixture
def experiment(tmp_path, monkeypatch):
    """The cached experiment, its result cache in tmp_path/cache, its log of computations."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "fault_experiment.py").write_text(EXPERIMENT)
    env = {
        "GENERALIZATION_CACHE": str(tmp_path / "cache"),
        "FAULT_LOG": str(tmp_path / "computations.log"),
        "PYTHONPATH": os.pathsep.join([str(code), str(ROOT / "code")]),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.syspath_prepend(str(code))
    sys.modules.pop("fault_experiment", None)
    cache.memory.cache_clear()
    import fault_experiment

    yield types.SimpleNamespace(
        module=fault_experiment,
        cache=tmp_path / "cache",
        log=tmp_path / "computations.log",
        folder=tmp_path,
    )
    sys.modules.pop("fault_experiment", None)
    cache.memory.cache_clear()


def computations(log):
    return len(log.read_text().splitlines()) if log.exists() else 0


def leftovers(folder):
    """Files of a cache folder that are not the files it keeps: temporary ones."""
    kept = {"output.pkl", "metadata.json", "func_code.py", ".gitignore", "README"}
    return sorted(p.name for p in Path(folder).rglob("*") if p.is_file() and p.name not in kept)


def cut(path, how):
    data = path.read_bytes()
    assert len(data) > 100  # a real file, not a stub
    path.write_bytes(data[: len(data) // 2] if how == "half" else b"")


# --- the result cache (joblib.Memory under generalization.book.cache) --------------------


@pytest.mark.parametrize("how", ["half", "empty"])
def test_a_result_cut_short_is_computed_again_never_returned(experiment, how, caplog):
    expected = experiment.module.compute(3, 4000)
    assert digest(experiment.module.experiment(3, 4000)) == digest(expected)
    (output,) = experiment.cache.rglob("output.pkl")
    cut(output, how)
    again = experiment.module.experiment(3, 4000)
    # joblib logs the failed read (a warning with its traceback) and computes again
    assert "Exception while loading results" in caplog.text
    assert digest(again) == digest(expected) and computations(experiment.log) == 2
    # the computation again wrote a whole file: the next call reads it
    assert digest(experiment.module.experiment(3, 4000)) == digest(expected)
    assert computations(experiment.log) == 2 and leftovers(experiment.cache) == []


@pytest.mark.parametrize("name", ["metadata.json", "func_code.py"])
@pytest.mark.parametrize("how", ["half", "empty"])
def test_the_cache_bookkeeping_cut_short_never_changes_a_result(experiment, name, how):
    # metadata.json (the call's arguments and duration) is read for information only;
    # func_code.py (the function's source) cut short reads as a changed function, whose
    # results joblib then drops and computes again.
    expected = experiment.module.compute(5, 300)
    experiment.module.experiment(5, 300)
    (path,) = experiment.cache.rglob(name)
    cut(path, how)
    sys.modules.pop("fault_experiment", None)  # a new process: joblib reads func_code.py again
    cache.memory.cache_clear()
    import fault_experiment

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joblib says it found a changed function
        assert digest(fault_experiment.experiment(5, 300)) == digest(expected)
    assert computations(experiment.log) == (2 if name == "func_code.py" else 1)


def test_two_workers_computing_one_result_at_once_leave_one_correct_file(experiment):
    folder = experiment.folder
    env = {**os.environ, "FAULT_DELAY": "1.0"}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(folder), str(i)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in (0, 1)
    ]
    deadline = time.monotonic() + 60
    while not all((folder / f"ready-{i}").exists() for i in (0, 1)):
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.01)
    (folder / "go").touch()
    outputs = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    expected = digest(experiment.module.compute(3, 4000))
    assert [out.strip() for out, _ in outputs] == [expected, expected]
    # both computed (their computations overlapped) and both wrote the same file
    assert computations(experiment.log) == 2
    assert len(list(experiment.cache.rglob("output.pkl"))) == 1
    assert leftovers(experiment.cache) == []
    # a third reader gets the value from the file, without computing it
    assert digest(experiment.module.experiment(3, 4000)) == expected
    assert computations(experiment.log) == 2


# --- full-scale records (generalization.book.full_scale) ----------------------------------

MACHINE = {"processor": "test", "cores": 1, "memory_gb": 1.0, "gpu": None, "platform": "test"}
SKIP_PROVENANCE = (  # what a record says about the machine and the commit: slow, not tested here
    "from generalization.book import full_scale\n"
    f"full_scale.machine = lambda: {MACHINE!r}\n"
    "full_scale.covered_files = lambda *args, **kwargs: []\n"
    "full_scale._commit = lambda paths: (None, None)\n"
)


@pytest.fixture(autouse=True)
def _fast_provenance(monkeypatch):
    monkeypatch.setattr(full_scale, "machine", lambda: MACHINE)
    monkeypatch.setattr(full_scale, "covered_files", lambda *args, **kwargs: [])
    monkeypatch.setattr(full_scale, "_commit", lambda paths: (None, None))


@pytest.mark.parametrize("how", ["half", "empty"])
def test_a_full_scale_record_cut_short_says_how_to_restore_it(tmp_path, how):
    path = full_scale.record(MODULE, {"errors": [1.5, 2.5]}, 61.0, directory=tmp_path)
    assert full_scale.load(MODULE, directory=tmp_path).results == {"errors": [1.5, 2.5]}
    cut(path, how)
    with pytest.raises(ValueError, match=r"min_norm.json must be a full-scale record") as error:
        full_scale.load(MODULE, directory=tmp_path)
    message = str(error.value)
    assert "git checkout -- " in message and "make full CHAPTER=book/part2/min_norm.md" in message


def test_a_full_scale_record_missing_its_fields_is_refused(tmp_path):
    path = tmp_path / "part2" / "min_norm.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"results": {}, "date": "2026"}))
    with pytest.raises(ValueError, match=r"damaged file \(no code_key, machine, run_time_s\)"):
        full_scale.load(MODULE, directory=tmp_path)


def _fail(*args, **kwargs):
    raise OSError("injected: the process died here")


@pytest.mark.parametrize("where", ["write", "rename"])
def test_a_write_that_fails_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch, where):
    path = full_scale.record(MODULE, {"errors": [1.0]}, 1.0, directory=tmp_path)
    before = path.read_bytes()
    if where == "rename":
        monkeypatch.setattr(os, "replace", _fail)
    else:
        monkeypatch.setattr(os, "fsync", _fail)  # the bytes are in the temporary file
    with pytest.raises(OSError, match="injected"):
        full_scale.record(MODULE, {"errors": [2.0]}, 1.0, directory=tmp_path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["min_norm.json"]


def test_two_writers_of_one_record_leave_one_whole_file(tmp_path):
    # Each writer records its own (large) results 40 times, both at once; every write must
    # succeed and the file must end as one of the two records, whole.
    script = SKIP_PROVENANCE + textwrap.dedent(f"""\
        import sys
        results = {{"writer": [sys.argv[1]] * 100_000}}
        for _ in range(40):
            full_scale.record({MODULE!r}, results, 1.0, key="0" * 64, directory={str(tmp_path)!r})
        """)
    writers = [
        subprocess.Popen([sys.executable, "-c", script, letter], stderr=subprocess.PIPE)
        for letter in "ab"
    ]
    errors = [w.communicate(timeout=60)[1].decode()[-500:] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    recorded = full_scale.load(MODULE, directory=tmp_path).results["writer"]
    assert recorded in (["a"] * 100_000, ["b"] * 100_000)
    assert [p.name for p in (tmp_path / "part2").iterdir()] == ["min_norm.json"]


# --- the collected ledger (book/_ext/ledger_collect.py) -----------------------------------


def test_ledger_json_is_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    row = {"paper": "key", "quantity": "q"}
    env = types.SimpleNamespace(
        ledger_rows={"chapter": [row]},
        config=types.SimpleNamespace(root_doc="index"),
        toctree_includes={"index": ["chapter"]},
        titles={},
    )
    app = types.SimpleNamespace(env=env, outdir=str(tmp_path), builder=types.SimpleNamespace())
    app.builder.format = "html"
    ledger_collect.write_json(app, None)
    written = json.loads((tmp_path / "ledger.json").read_text())
    assert written == [{**row, "chapter": "chapter", "chapter_title": "chapter"}]
    before = (tmp_path / "ledger.json").read_bytes()
    env.ledger_rows = {"chapter": [row] * 1000}
    monkeypatch.setattr(os, "replace", _fail)
    with pytest.raises(OSError, match="injected"):
        ledger_collect.write_json(app, None)
    assert (tmp_path / "ledger.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ledger.json"]

"""A build killed in the middle of a page, and execution caches cut short.

A tiny book (two pages whose cells call cached experiments, built with the book's
``cache_guard`` and ``ledger_collect`` extensions) is built once from scratch: the reference.
A second copy is killed (SIGKILL to the build's process group and to its kernel) while a cell
of its second page runs a slow cached experiment, and built again: the pages, their executed
outputs and ``ledger.json`` must equal the reference's, with the results finished before the
kill read from the caches rather than computed again. Then the execution cache is damaged as
a crash can leave it (a notebook cut short, a notebook missing behind its database record,
the page-key stamp cut short) and the book must build again with the same pages.
"""

import json
import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
from tinybook import MYST_HEADER, command  # noqa: E402

STEPS = textwrap.dedent("""\
    import os
    import time

    from generalization.book.cache import cached


    def log(line):
        with open(os.environ["FAULT_LOG"], "a") as out:
            out.write(line + "\\n")


    @cached
    def squares(n):
        log(f"squares {n}")
        return sum(k * k for k in range(n))


    @cached
    def harmonic(n):
        log(f"harmonic {n}")
        marker = os.environ.get("FAULT_MARKER")
        if marker:  # the test kills the build once this file exists
            with open(marker + ".tmp", "w") as out:
                out.write(str(os.getpid()))
            os.replace(marker + ".tmp", marker)
        time.sleep(float(os.environ.get("FAULT_SLEEP", "0")))
        return [round(1 / (k + 1), 6) for k in range(n)]
    """)

PAGE = (
    MYST_HEADER
    + """\
# Page {name}

```{{code-cell}} python
from faultpkg import steps
steps.log("page {name}")
print("squares:", steps.squares({n}))
```

```{{code-cell}} python
{second}
from generalization.book.ledger import Ledger
ledger = Ledger()
ledger.add(paper="somekey", quantity="value {name}", paper_value=1.0, source="Table 1",
           our_value=float(total), scale="quick", seeds=[0], run_time_s=0.5)
ledger.glue()
```
"""
)

SECOND = {
    "a": "total = steps.squares(300)",
    "b": 'values = steps.harmonic(6)\nprint("harmonic:", values)\ntotal = sum(values)',
}


# A test extension: the build kills itself as it starts writing the page $FAULT_DIE_WRITING.
DIE_WRITING = textwrap.dedent("""\
    import os
    import signal


    def die(app, pagename, templatename, context, doctree):
        if pagename == os.environ.get("FAULT_DIE_WRITING"):
            os.kill(os.getpid(), signal.SIGKILL)


    def setup(app):
        app.connect("html-page-context", die)
        return {"parallel_read_safe": True, "parallel_write_safe": True}
    """)


def write_book(folder):
    (folder / "faultpkg").mkdir(parents=True)
    (folder / "faultpkg" / "__init__.py").write_text('"""A tiny package."""\n')
    (folder / "faultpkg" / "steps.py").write_text(STEPS)
    (folder / "requirements.txt").write_text("numpy\n")
    for name, n in (("a", 1000), ("b", 2000)):
        (folder / f"page_{name}.md").write_text(PAGE.format(name=name, n=n, second=SECOND[name]))
    (folder / "ledger.md").write_text("# Ledger\n\n```{ledger-table}\n```\n")
    (folder / "index.md").write_text("# Tiny book\n\nA test.\n")
    (folder / "_toc.yml").write_text(
        "format: jb-book\nroot: index\nchapters:\n- file: page_a\n- file: page_b\n- file: ledger\n"
    )
    (folder / "_ext").mkdir()
    (folder / "_ext" / "die_writing.py").write_text(DIE_WRITING)
    extensions = "\n".join(
        f"    {name}: {ROOT / 'book' / '_ext'}" for name in ("ledger_collect", "cache_guard")
    )
    extensions += f"\n    die_writing: {folder / '_ext'}"
    (folder / "_config.yml").write_text(
        "title: Tiny\nonly_build_toc_files: true\nexecute:\n  execute_notebooks: cache\n"
        "sphinx:\n  config:\n    cache_guard_package_dir: faultpkg\n  local_extensions:\n"
        + extensions
        + "\n"
    )


def environment(folder, **extra):
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT / "code")]),
        "GENERALIZATION_CACHE": str(folder / "results-cache"),
        "FAULT_LOG": str(folder / "log.txt"),
        "BOOK_SCALE": "quick",
        **extra,
    }


def build(folder, output=None, **extra):
    """Build the book; return the lines this build added to the log (and its output into the
    list ``output``)."""
    log = folder / "log.txt"
    before = len(log.read_text().splitlines()) if log.exists() else 0
    done = subprocess.run(
        command(folder),
        capture_output=True,
        text=True,
        env=environment(folder, **extra),
        timeout=240,
    )
    if output is not None:
        output.append(done.stdout)
        if "FAULT_DIE_WRITING" in extra:
            assert done.returncode != 0
            return None
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return sorted(log.read_text().splitlines()[before:]) if log.exists() else []


def executed_notebook(folder, page):
    """The file of ``page``'s execution in jupyter-cache."""
    cache = folder / "_build" / ".jupyter_cache" / "quick" / "executed"
    (path,) = [p for p in cache.glob("*/base.ipynb") if f'page {page}\\"' in p.read_text()]
    return path


def outputs(folder, page):
    """The outputs of each code cell of ``page`` as executed, without their metadata.

    They are read from jupyter-cache: myst-nb's copy in ``_build/jupyter_execute`` keeps the
    outputs only of the pages it executed in that build, not of those it took from the cache.
    """
    notebook = json.loads(executed_notebook(folder, page).read_text())
    return [
        [{k: v for k, v in out.items() if k not in ("metadata", "execution_count")} for out in c]
        for c in (cell["outputs"] for cell in notebook["cells"] if cell["cell_type"] == "code")
    ]


def pages(folder, executions=True):
    """What a reader gets: the lines of each page that show a result, the glued values, the
    collected ledger.json and (``executions``) the executed outputs each page was built from."""
    html = folder / "_build" / "html"
    built = {
        "shown": [
            line
            for page in "ab"
            for line in (html / f"page_{page}.html").read_text().splitlines()
            if "squares:" in line or "harmonic:" in line
        ],
        "glued": [
            json.loads(
                (folder / "_build" / "jupyter_execute" / f"page_{page}.glue.json").read_text()
            )
            for page in "ab"
        ],
        "ledger": json.loads((html / "ledger.json").read_text()),
    }
    if executions:
        built["outputs"] = {page: outputs(folder, page) for page in "ab"}
    return built


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clean")
    write_book(folder)
    build(folder)
    built = pages(folder)
    assert any("harmonic: [1.0, 0.5" in line for line in built["shown"])
    assert [row["our_value"] for row in built["ledger"]] == [
        float(sum(k * k for k in range(300))),
        sum(round(1 / (k + 1), 6) for k in range(6)),
    ]
    return built


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """A book whose first build was killed while page b's slow experiment ran, built again."""
    folder = tmp_path_factory.mktemp("killed")
    write_book(folder)
    marker = folder / "running"
    slow = environment(folder, FAULT_SLEEP="120", FAULT_MARKER=str(marker))
    process = subprocess.Popen(
        command(folder),
        env=slow,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, killed as one
    )
    deadline = time.monotonic() + 180
    try:
        while not marker.exists():
            assert process.poll() is None, "the build ended before the slow cell ran"
            assert time.monotonic() < deadline, "the slow cell never started"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    kernel = int(marker.read_text())
    os.killpg(os.getpgid(kernel), signal.SIGKILL)  # the kernel runs in a session of its own
    before = sorted((folder / "log.txt").read_text().splitlines())
    assert before == [
        "harmonic 6",
        "page a",
        "page b",
        "squares 1000",
        "squares 2000",
        "squares 300",
    ]
    assert not (folder / "_build" / "html" / "page_b.html").exists()
    return folder, build(folder)


def test_a_build_killed_in_a_cell_is_completed_by_the_next_build(reference, killed):
    folder, rebuilt = killed
    # page a (finished) comes from the execution cache; page b runs again, and of its
    # experiments only the one the kill interrupted is computed again
    assert rebuilt == ["harmonic 6", "page b"]
    assert pages(folder) == reference


@pytest.mark.parametrize("damage", ["cut", "missing"])
def test_an_execution_cut_short_is_executed_again(reference, killed, damage):
    folder, _ = killed
    notebook = executed_notebook(folder, "b")
    if damage == "cut":  # the notebook half written when the build died
        notebook.write_bytes(notebook.read_bytes()[: notebook.stat().st_size // 2])
    else:  # killed after jupyter-cache recorded the execution, before it wrote the file
        notebook.unlink()
        # and the page's prose edited since: Sphinx reads it again and looks up its
        # execution (before the fix, jupyter-cache then failed the build on the lost file)
        page = folder / "page_b.md"
        page.write_text(page.read_text() + "\nMore prose.\n")
    assert build(folder) == ["page b"]
    assert pages(folder) == reference
    assert build(folder) == []  # and it is cached again


@pytest.mark.parametrize("how", ["half", "empty"])
def test_page_keys_cut_short_drop_every_cached_execution(reference, killed, how):
    folder, _ = killed
    stamp = folder / "_build" / ".jupyter_cache" / "quick" / "page_keys.json"
    text = stamp.read_bytes()
    stamp.write_bytes(text[: len(text) // 2] if how == "half" else b"")
    # the recorded keys are lost, so no cached execution can be trusted: all are dropped (the
    # pages, read with the current code as the environment records, need not be read again)
    build(folder)
    assert pages(folder, executions=False) == {
        key: value for key, value in reference.items() if key != "outputs"
    }
    assert not list((stamp.parent / "executed").glob("*/base.ipynb"))
    assert json.loads(stamp.read_text()).keys() == {"index", "ledger", "page_a", "page_b"}


def test_a_build_killed_while_writing_pages_writes_them_next_time(tmp_path):
    # Sphinx saves what it read before it writes the pages; a build killed in between used to
    # leave the old page b, and the next build, which writes pages whose source is newer than
    # their HTML, left it so.
    write_book(tmp_path)
    build(tmp_path)
    html = tmp_path / "_build" / "html" / "page_b.html"
    assert "0.333333" in html.read_text()
    steps = tmp_path / "faultpkg" / "steps.py"
    steps.write_text(steps.read_text().replace("round(1 / (k + 1), 6)", "round(1 / (k + 1), 2)"))
    output = []
    build(tmp_path, output, FAULT_DIE_WRITING="page_b")
    assert "reading sources" in output[0] and "0.333333" in html.read_text()  # the kill
    assert build(tmp_path) == []  # nothing executes again: the results are cached
    assert "harmonic: [1.0, 0.5, 0.33, 0.25" in html.read_text()
    build(tmp_path, output)  # and once written, the pages are not read again
    assert "0 added, 0 changed, 0 removed" in output[-1]

"""Run each experiment once, and again exactly when the code it depends on changes.

Two caches serve the book, both keyed chapter by chapter:

* **Results.** A chapter's page and its claims tests call the same experiment functions
  with the same arguments. :func:`cached` stores a function's results on disk
  (``joblib.Memory``, keyed by the arguments) in a folder named after the :func:`code_key`
  of the function's module, so the book build and the tests train each model once.
* **Executed pages.** The book's Sphinx extension ``book/_ext/cache_guard.py`` keys every
  page on the :func:`code_key` of the package modules its code cells import
  (:func:`page_imports`) and re-executes a page when its key changes.

The *code key* of some modules is a sha256 over

* the modules and every package module they import, directly or through others, found by
  reading the import statements of the source files (those inside functions included; no
  code is run), with the ``__init__.py`` of every package on the way;
* the pinned requirements (``requirements.txt``) and the Python version.

A module enters the key as its syntax tree without docstrings and other bare strings
(``ast.dump``): editing a comment, a docstring or the layout of the code changes no key,
since none of them can change a computed number, while every statement, name and constant
does. So editing a method re-runs exactly the chapters that import it, editing a chapter
module re-runs that chapter alone, and editing ``checks.py``, which every module imports,
re-runs everything.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
import re
import shutil
import sys
from pathlib import Path

PACKAGE = "generalization"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The folder of the package ``generalization``."""
REQUIREMENTS = PACKAGE_DIR.parents[1] / "requirements.txt"
"""The pinned environment, part of every code key."""
KEY_LENGTH = 16
"""Hex digits of a code key used to name a result folder."""


def module_files(package_dir=PACKAGE_DIR):
    """``{module name: source file}`` for every module of the package in ``package_dir``.

    The package's name is the folder's name; ``__init__.py`` files stand for their packages.
    """
    root = Path(package_dir).resolve()
    files = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if "__pycache__" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join((root.name,) + parts)] = path
    return files


def _imported_names(tree, name, is_package):
    """Fully qualified names that the import statements of ``tree`` (module ``name``) refer to."""
    here = name if is_package else name.rpartition(".")[0]  # the package of relative imports
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.rsplit(".", node.level - 1)[0] if node.level > 1 else here
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def import_graph(package_dir=PACKAGE_DIR):
    """``{module: set of package modules it imports}``, read from the source files.

    An imported name that is not itself a module (``from generalization.data import
    load_mnist``) stands for the module that defines it. Importing ``a.b.c`` also runs the
    ``__init__.py`` of ``a`` and ``a.b``, so those are edges too, and so are the packages
    above the module itself.
    """
    files = module_files(package_dir)
    graph = {}
    for name, path in files.items():
        tree = ast.parse(path.read_bytes(), filename=str(path))
        found = set()
        for target in _imported_names(tree, name, path.name == "__init__.py"):
            while target and target not in files:  # a name defined in a module: that module
                target = target.rpartition(".")[0]
            if target:
                found.add(target)
        graph[name] = {m for target in found | {name} for m in _with_parents(target, files)} - {
            name
        }
    return graph


def _with_parents(name, files):
    parts = name.split(".")
    return {".".join(parts[:k]) for k in range(1, len(parts) + 1) if ".".join(parts[:k]) in files}


def dependencies(names, graph):
    """The modules ``names`` and all the package modules they import, transitively.

    Raises
    ------
    ValueError
        If a name is not a module of the graph.
    """
    unknown = sorted(set(names) - set(graph))
    if unknown:
        raise ValueError(f"names must be modules of the package; got {unknown}.")
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph[name] - seen)
    return seen


def code_text(path):
    """The part of a source file that can change what it computes: its syntax tree, as text.

    Docstrings and every other bare string statement are dropped (they have no effect), and
    so are comments, line numbers and the layout of the code.
    """
    tree = ast.parse(Path(path).read_bytes(), filename=str(path))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            kept = [
                s
                for s in body
                if not (
                    isinstance(s, ast.Expr)
                    and isinstance(s.value, ast.Constant)
                    and isinstance(s.value.value, str)
                )
            ]
            node.body = kept or [ast.Pass()]
    return ast.dump(tree)


class CodeIndex:
    """The package's source, read once: its module files, import graph and code texts.

    A task that needs many keys (the cache guard keys every page of a build) builds one index
    and asks it; :func:`code_key` and :func:`page_modules` build a fresh one per call.
    """

    def __init__(self, package_dir=PACKAGE_DIR):
        self.package_dir = Path(package_dir).resolve()
        self.files = module_files(self.package_dir)
        self._texts = {}

    @functools.cached_property
    def graph(self):
        """:func:`import_graph` of the package."""
        return import_graph(self.package_dir)

    def text(self, name):
        """:func:`code_text` of module ``name``, read once."""
        if name not in self._texts:
            self._texts[name] = code_text(self.files[name])
        return self._texts[name]

    def key(self, names, files=(REQUIREMENTS,), extra=""):
        """The code key of the modules ``names``: see :func:`code_key`."""
        version = f"python {sys.version_info[0]}.{sys.version_info[1]}"
        digest = hashlib.sha256(f"{version}\n{extra}\n".encode())
        for name in sorted(dependencies(names, self.graph)):
            digest.update(f"module {name}\n{self.text(name)}\n".encode())
        for path in (Path(p) for p in files):
            digest.update(f"file {path.name}\n".encode())
            digest.update(path.read_bytes() if path.is_file() else b"<missing>")
        return digest.hexdigest()

    def page_modules(self, text):
        """The package modules the code cells of a MyST page import: see :func:`page_modules`."""
        found = set()
        for name in page_imports(text, self.package_dir.name):
            while name and name not in self.files:
                name = name.rpartition(".")[0]
            if name:
                found |= _with_parents(name, self.files)
        return found


def code_key(names, package_dir=PACKAGE_DIR, files=(REQUIREMENTS,), extra=""):
    """The code key (64 hex digits) of the package modules ``names``; see the module docstring.

    Parameters
    ----------
    names : iterable of str
        Fully qualified module names of the package in ``package_dir``.
    package_dir : path
    files : sequence of paths
        Files whose bytes enter the key too (a missing file enters as missing).
    extra : str
        Anything else the result depends on (the cache guard passes the scale).
    """
    return CodeIndex(package_dir).key(names, files, extra)


_CODE_CELL = re.compile(r"^(`{3,}|~{3,})\{code-cell\}[^\n]*\n(.*?)^\1[ \t]*$", re.M | re.S)


def code_cells(text):
    """The source of each code cell of a MyST Markdown page, without its cell options.

    Options are the ``:key: value`` lines that open a cell and a ``---`` block of YAML.
    """
    cells = []
    for match in _CODE_CELL.finditer(text):
        body = match.group(2)
        if body.startswith("---\n"):  # a YAML block of cell options
            body = body.split("\n---\n", 1)[-1]
        lines = body.splitlines()
        while lines and re.match(r"\s*:[\w-]+:", lines[0]):
            lines.pop(0)
        cells.append("\n".join(lines))
    return cells


def page_imports(text, package=PACKAGE):
    """Names under ``package`` imported by the code cells of a MyST Markdown page.

    Returns the names as written (``generalization.chapters.part1`` and
    ``generalization.chapters.part1.rethinking`` for ``from generalization.chapters.part1
    import rethinking``); :func:`page_modules` keeps those that are modules. Cell options
    (``:tags:`` lines and ``---`` blocks) and IPython magics are skipped.
    """
    names = set()
    for cell in code_cells(text):
        lines = [line for line in cell.splitlines() if not line.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue  # not Python: it imports nothing we could key on
        for name in _imported_names(tree, "__page__", False):
            if name == package or name.startswith(package + "."):
                names.add(name)
    return names


def page_modules(text, package_dir=PACKAGE_DIR):
    """The package modules the code cells of a MyST page import (see :func:`page_imports`),
    with the packages above them."""
    return CodeIndex(package_dir).page_modules(text)


# --- the result cache ----------------------------------------------------------------


def cache_dir():
    """Folder of the result cache: ``$GENERALIZATION_CACHE`` or ``_build/.generalization_cache``."""
    env = os.environ.get("GENERALIZATION_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    return PACKAGE_DIR.parents[1] / "_build" / ".generalization_cache"


def _key_of_module(module):
    """The code key of ``module``; a module outside the package is keyed on its own file."""
    if module in module_files():
        return code_key([module])
    path = getattr(sys.modules.get(module), "__file__", None)
    digest = hashlib.sha256(code_text(path).encode() if path else module.encode())
    digest.update(REQUIREMENTS.read_bytes() if REQUIREMENTS.is_file() else b"<missing>")
    return digest.hexdigest()


def _is_key(name):
    return len(name) == KEY_LENGTH and all(c in "0123456789abcdef" for c in name)


@functools.lru_cache(maxsize=None)
def memory(module):
    """The ``joblib.Memory`` of the functions of ``module`` for the code they run now.

    Its folder is ``cache_dir() / module / key``. Folders of other keys of the same module
    can never be read again and are deleted (so are result folders of the earlier layout,
    keyed on the whole package, which sit directly in ``cache_dir()``).
    """
    import joblib

    root = cache_dir()
    key = _key_of_module(module)[:KEY_LENGTH]
    for stale in [*_children(root / module), *_children(root)]:
        if stale.is_dir() and _is_key(stale.name) and stale.name != key:
            shutil.rmtree(stale, ignore_errors=True)
    return joblib.Memory(location=root / module / key, verbose=0)


def _children(folder):
    return list(folder.iterdir()) if folder.is_dir() else []


def cached(func):
    """Decorator: cache ``func``'s results on disk, keyed by its arguments and its module's code.

    ``func.uncached`` is the function itself. Experiments should measure their own run time
    inside the function (and return it), so that a cache hit still reports the time the
    computation really took.
    """
    wrapper = None

    @functools.wraps(func)
    def call(*args, **kwargs):
        nonlocal wrapper
        if wrapper is None:
            wrapper = memory(func.__module__).cache(func)
        return wrapper(*args, **kwargs)

    call.uncached = func
    return call

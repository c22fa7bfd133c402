"""Serve every asset from the built site: MathJax locally, no live-code loader.

**MathJax.**
The PyPI package ``django-static-mathjax`` (installed by requirements.txt) ships the static
files of MathJax 3.2.2. This extension points Sphinx's ``mathjax_path`` at
``_static/mathjax/tex-mml-chtml.js`` and copies the parts of MathJax's ``es5`` build that
the CHTML bundle loads (the bundle, its fonts, input extensions, accessibility and menu
components) into ``_build/html/_static/mathjax`` after each HTML build.

**Thebe.** jupyter-book always loads sphinx-thebe, which adds to every page a script
that would fetch thebe from a CDN when activated (and, here, declares its configuration
twice, an error in the console). The book has no live-code server (``launch_buttons:
thebe: false``), so those scripts and styles are taken off each page before it is written.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from sphinx.errors import ExtensionError

BUNDLE = "tex-mml-chtml.js"
NEEDED = (BUNDLE, "input", "output/chtml", "a11y", "ui", "sre", "adaptors", "LICENSE")


def mathjax_source():
    """Return the folder of MathJax's es5 build inside the installed package."""
    try:
        root = Path(str(resources.files("mathjax"))) / "static" / "mathjax"
    except ModuleNotFoundError:
        root = None
    if root is None or not (root / "es5" / BUNDLE).exists():
        raise ExtensionError(
            "MathJax files not found: the package django-static-mathjax==3.2.2.1 must be "
            "installed (it is in requirements.txt; run `make venv`)."
        )
    return root


def set_path(app, config):
    mathjax_source()  # fail early, with the fix, if the package is missing
    config.mathjax_path = f"mathjax/{BUNDLE}"


def copy_files(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    root = mathjax_source()
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in NEEDED:
        source = root / "es5" / part if part != "LICENSE" else root / part
        if source.is_dir():
            shutil.copytree(source, target / part, dirs_exist_ok=True)
        elif source.exists():
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / part)


def _is_thebe(asset):
    name = getattr(asset, "filename", None) or str(asset)
    body = (getattr(asset, "attributes", None) or {}).get("body", "") or ""
    return "thebe" in str(name) or "THEBE_JS_URL" in body


def drop_thebe(app, pagename, templatename, context, doctree):
    for key in ("script_files", "css_files"):
        if context.get(key):
            context[key] = [asset for asset in context[key] if not _is_thebe(asset)]


def setup(app):
    app.connect("config-inited", set_path)
    app.connect("html-page-context", drop_thebe)
    app.connect("build-finished", copy_files)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

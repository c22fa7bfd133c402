"""Fixtures for checks of the built site: a local HTTP server and headless Chromium.

The site is served from _build/html on 127.0.0.1; every request the browser makes is
recorded, so a test can assert that nothing left the machine. Chromium is Debian's
(`apt-get install chromium`), driven through Playwright without its own browser download.
"""

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def site_root():
    if not (HTML / "index.html").exists():
        pytest.fail("The book is not built: run `make book` first (tests/site checks _build/html).")
    return HTML


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def server(site_root):
    handler = functools.partial(QuietHandler, directory=str(site_root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if executable is None:
        message = (
            "Chromium is not installed, so the built pages cannot be checked. "
            "Install it: apt-get update && apt-get install -y chromium"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message + " (this is a skip only outside CI, where .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, server):
    """Open a page of the site; return (page, requests made, console errors)."""
    contexts = []

    def _open(path, width=1280, height=900):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        requests, errors = [], []
        page.on("request", lambda request: requests.append(request.url))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server}/{path}", wait_until="networkidle")
        return page, requests, errors

    yield _open
    for context in contexts:
        context.close()

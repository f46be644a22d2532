"""Serving the dashboard in a background thread and driving Debian's Chromium with Playwright,
shared by the browser tests and the screenshot script."""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from dashboard.pages import REGISTRY

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} 不存在 (Debian chromium 未安装), 跳过浏览器测试"),
]
# The sample warehouse's year and date (tests/browser/sample.py).
Q = "?year=2024&as_of=2024-06-30"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
# A phone's viewport in CSS pixels (iPhone 12–15): the narrowest the pages are made for.
PHONE = (390, 844)
# The sample's values for the pages' address parameters (/units/<unit>, /suggestions/<session>/<number>).
SAMPLE_ADDRESS = {"unit": "市交通局", "session": "十八届一次", "number": 6}


def views(**values) -> list[tuple[str, str]]:
    """(name, address) of every page of the dashboard's registry, its parameters from ``values``."""
    return [(page.name, page.address(**values)) for page in REGISTRY.pages]


VIEWS = views(**SAMPLE_ADDRESS)


@contextmanager
def serving(app):
    """The Dash app's Flask server on 127.0.0.1 at a free port; yields the base URL."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request lines in test output
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@contextmanager
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def wait_rendered(page, selector: str = "#page > *", timeout: float = 15000) -> None:
    """Dash has rendered the view: the router filled #page and no callback is pending."""
    page.wait_for_selector(selector, timeout=timeout)
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading=\"true\"]')", timeout=timeout)
    # Every graph on the page drawn (plotly.js loads lazily after the layout).
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.dash-graph')).every(g => g.querySelector('.main-svg'))", timeout=timeout)

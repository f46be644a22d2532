"""Fixtures shared across test modules."""

from __future__ import annotations

import pytest

from duban.core import appstate

# The password of the test accounts made by the ``home`` fixture.
PASSWORD = "correct horse"
UNIT_PASSWORD = "unit-pass-1"


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the whole run: Playwright's sync API allows one at a time per
    thread, so every browser test shares it."""
    from tests.browser.harness import CHROMIUM, browser

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} 不存在 (Debian chromium 未安装), 跳过浏览器测试")
    with browser() as b:
        yield b


@pytest.fixture
def home(tmp_path):
    """A DUBAN_HOME with a supervisor (alice) and a unit account (jyj, 教育局)."""
    home = tmp_path / "home"
    appstate.add_user(home, "alice", "supervisor", None, PASSWORD)
    appstate.add_user(home, "jyj", "unit", "教育局", UNIT_PASSWORD)
    return home

"""Printing a view (issue 7.5, assets/print.css + print.js) in headless Chromium: under print media
the nav bar, filter bar, buttons and 催办 form are hidden, the 数据截至 line stays, charts are
redrawn within an A4 landscape page, the meeting screen turns light, and page.pdf gives A4
landscape pages; back on screen the charts fill their cards again."""

from __future__ import annotations

import re

import pytest

from tests.browser.harness import BROWSER_MARKS, Q, wait_rendered

pytestmark = BROWSER_MARKS
DISPLAY = "sel => { const e = document.querySelector(sel); return e ? getComputedStyle(e).display : null; }"
PLOT_WIDTHS = "() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(g => g._fullLayout.width)"


def opened(chromium, base, path, width=1600, height=900):
    page = chromium.new_page(locale="zh-CN", viewport={"width": width, "height": height})
    page.goto(base + path + Q)
    wait_rendered(page)
    return page


def test_print_hides_the_controls_and_keeps_the_as_of_line(chromium, base):
    page = opened(chromium, base, "/units/市交通局")
    try:
        # the local viewer is a supervisor: the 催办 form is there
        controls = [".duban-nav", ".duban-filters", "#download-unit-assignments", "#download-template", ".chase-form"]
        on_screen = [page.evaluate(DISPLAY, s) for s in controls]
        assert None not in on_screen and "none" not in on_screen
        page.emulate_media(media="print")
        assert [page.evaluate(DISPLAY, s) for s in controls] == ["none"] * len(controls)
        assert page.evaluate(DISPLAY, ".view-meta") == "block"
        assert page.locator("#meta-as-of").inner_text() == "2024-06-30"
        assert page.locator("#meta-as-of").is_visible()
    finally:
        page.close()


def test_overview_prints_a4_landscape_with_charts_inside_the_page(chromium, base):
    page = opened(chromium, base, "/")
    try:
        screen = page.evaluate(PLOT_WIDTHS)
        assert max(screen) > 700  # lg=6 columns of a 1600 px window
        assert page.evaluate(DISPLAY, "#download-report") != "none"
        page.emulate_media(media="print")
        page.wait_for_timeout(300)
        assert page.evaluate(DISPLAY, "#download-report") == "none"
        assert page.evaluate(DISPLAY, ".duban-nav") == "none"
        # A4 landscape inside 12 mm margins is 273 mm ≈ 1032 CSS px; every chart fits in half of it
        # (two charts a row), none is cut at the right edge.
        printed = page.evaluate(PLOT_WIDTHS)
        assert all(w <= 1032 / 2 for w in printed), printed
        pdf = page.pdf(format="A4", landscape=True)
        assert pdf[:4] == b"%PDF"
        boxes = {tuple(float(v) for v in m) for m in re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)}
        # A4 landscape is 841.9 × 595.3 pt (Chromium rounds to whole CSS pixels: 842.88 × 595.92)
        assert boxes and all(abs(w - 841.9) < 1.5 and abs(h - 595.3) < 1.5 for w, h in boxes), boxes
        # back on screen, the charts fill their cards again
        page.emulate_media(media="screen")
        page.wait_for_timeout(300)
        assert page.evaluate(PLOT_WIDTHS) == pytest.approx(screen, abs=2)
    finally:
        page.close()


def test_meeting_screen_prints_light(chromium, base):
    page = opened(chromium, base, "/meeting", 1920, 1080)
    try:
        background = "() => getComputedStyle(document.querySelector('.meeting')).backgroundColor"
        assert page.evaluate(background) == "rgb(0, 0, 0)"
        page.emulate_media(media="print")
        assert page.evaluate(background) == "rgb(255, 255, 255)"
        assert page.evaluate("() => getComputedStyle(document.querySelector('.meeting .m-value')).color") == "rgb(0, 0, 0)"
        # every panel prints, not only the one on the screen now
        shown = page.evaluate("() => Array.from(document.querySelectorAll('[id*=meeting-panel]')).map(p => getComputedStyle(p).display)")
        assert len(shown) > 1 and set(shown) == {"block"}
        assert page.evaluate(DISPLAY, "#meeting-next") == "none"
    finally:
        page.close()

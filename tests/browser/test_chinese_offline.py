"""Offline and Chinese throughout, as a new user sees it in headless Chromium: on every address no
English word in visible text, tooltips, labels or placeholders (plotly's toolbar and the date
pickers included), no link or request to another host, no console error (a Content-Security-
Policy violation is one), and a chart toolbar that can only save a PNG."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from tests.browser.harness import BROWSER_MARKS, Q, VIEWS, wait_rendered

pytestmark = BROWSER_MARKS

# Latin words a Chinese page may show: file formats and product names it offers, size units
# (single letters, as result classes A–D, are not words here); and the sample's hostile title,
# data shown literally (tests/browser/sample.py: <script>alert(1)</script>).
ALLOWED = {"PNG", "Excel", "Word", "xlsx", "docx", "csv", "xls", "MB", "KB", "script", "alert"}
WORD = re.compile(r"[A-Za-z]{2,}")
# Everything a user reads: visible text, and the text browsers show on hover or read aloud.
SHOWN_TEXT = """() => {
    const out = [document.body.innerText, document.title];
    for (const el of document.querySelectorAll('[title], [data-title], [aria-label], [placeholder], [alt]')) {
        for (const name of ['title', 'data-title', 'aria-label', 'placeholder', 'alt']) {
            const value = el.getAttribute(name);
            if (value) out.push(value);
        }
    }
    return out.join('\\n');
}"""
LINKS = "() => Array.from(document.querySelectorAll('a[href], form[action]')).map(a => a.href || a.action)"


def english_words(text: str) -> set[str]:
    return {w for w in WORD.findall(text) if w not in ALLOWED}


def test_every_address_is_chinese_and_stays_on_this_server(chromium, base):
    host = urlparse(base).netloc
    page = chromium.new_page(locale="zh-CN")
    errors: list[str] = []
    foreign: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: urlparse(r.url).netloc not in (host, "") and foreign.append(r.url))
    found: dict[str, set[str]] = {}
    for _, path in VIEWS:
        page.goto(base + path + Q)
        wait_rendered(page)
        words = english_words(page.evaluate(SHOWN_TEXT))
        if words:
            found[path] = words
        away = [link for link in page.evaluate(LINKS) if urlparse(link).netloc not in (host, "")]
        assert away == [], f"{path}: {away}"
        for graph in page.locator(".js-plotly-plot").all():  # only the PNG download, in Chinese
            titles = graph.locator(".modebar-btn").evaluate_all("bs => bs.map(b => b.getAttribute('data-title'))")
            assert titles in ([], ["下载图表为PNG格式"]), f"{path}: {titles}"
    assert found == {}
    assert errors == []
    assert foreign == []
    page.close()


def test_the_date_picker_speaks_chinese(chromium, base):
    page = chromium.new_page(locale="en-US")  # whatever the browser's own language
    page.goto(base + "/" + Q)
    wait_rendered(page)
    page.locator("#filter-as-of").click()
    calendar = page.locator(".dash-datepicker-calendar-container, .dash-datepicker-content").first
    calendar.wait_for(timeout=10000)
    text = calendar.evaluate("c => c.textContent")  # with the month list's options
    assert english_words(text) == set(), text
    assert "一" in text and "日" in text  # weekday names: 一 … 日, weeks from Monday
    assert "June" not in text and "Mo" not in text
    page.close()

"""The dashboard in headless Chromium (marker ``browser``): every address answers 200 with no
console error and no request to another host, shows the hand-worked figures of
tests/browser/sample.py, drills by clicking, cross-filters through the URL, honours the back
button, rotates the meeting screen, and shows a title containing <script> as literal text."""

from __future__ import annotations

from urllib.parse import unquote, urlparse


from tests.browser import sample
from tests.browser.harness import BROWSER_MARKS, Q, VIEWS, wait_rendered

pytestmark = BROWSER_MARKS


class Watched:
    """A page that records console errors, page errors, dialogs and every request's host."""

    def __init__(self, chromium, base, **kw):
        self.base = base
        self.page = chromium.new_page(locale="zh-CN", **kw)
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.dialogs: list[str] = []
        host = urlparse(base).netloc
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("request", lambda r: urlparse(r.url).netloc != host and not r.url.startswith("data:") and self.foreign.append(r.url))

    def open(self, path: str):
        response = self.page.goto(self.base + path)
        wait_rendered(self.page)
        return response

    def path(self) -> str:
        u = urlparse(self.page.url)
        return unquote(u.path) + (("?" + unquote(u.query)) if u.query else "")

    def text(self, selector: str) -> str:
        return self.page.locator(selector).first.inner_text().strip()

    def clean(self):
        assert self.errors == [], self.errors
        assert self.foreign == [], self.foreign
        assert self.dialogs == [], self.dialogs
        self.page.close()


def test_every_view_loads_locally_without_errors(chromium, base):
    w = Watched(chromium, base)
    for _, path in VIEWS:
        response = w.open(path + Q)
        assert response.status == 200, path
        assert w.page.locator("#render-error").count() == 0, path
    w.clean()


def test_overview_figures_drill_down_by_clicking(chromium, base):
    w = Watched(chromium, base, viewport={"width": 1600, "height": 900})
    w.open("/" + Q)
    assert w.text("#kpi-completion_rate") == "57.14%"
    assert w.text("#kpi-on_time_rate") == "50.00%"
    assert w.text("#kpi-overdue") == "2"
    # 需关注 → unit → suggestion, by clicking links
    w.page.locator("#attention a", has_text="市住建局").first.click()  # 需关注 (the weakest-units panel links it too)
    w.page.wait_for_url("**/units/**")
    wait_rendered(w.page, "#unit-name")
    assert w.path() == "/units/市住建局" + Q
    assert w.text("#kpi-unreported") == "1"
    w.page.locator("#unit-unreported a", has_text="第6号").click()
    w.page.wait_for_url("**/suggestions/**")
    wait_rendered(w.page, "#suggestion-title")
    assert w.path() == "/suggestions/十八届一次/6" + Q
    # the title with <script> is text: shown literally, nothing ran (no dialog)
    assert w.text("#suggestion-title") == sample.SCRIPT_TITLE
    assert w.page.locator("#suggestion-title script").count() == 0
    w.page.go_back()
    w.page.wait_for_url("**/units/**")
    wait_rendered(w.page, "#unit-name")
    assert w.path() == "/units/市住建局" + Q
    w.clean()


def _click_bar(page, graph_selector: str, value: str) -> None:
    """Click the bar whose customdata is ``value`` (at its centre, as a person would)."""
    graph = page.locator(graph_selector).first
    index = graph.evaluate("(el, v) => el.querySelector('.js-plotly-plot').data[0].customdata.indexOf(v)", value)
    assert index >= 0
    box = graph.locator(".trace.bars .point").nth(index).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_cross_filter_changes_url_and_back_restores(chromium, base):
    w = Watched(chromium, base, viewport={"width": 1600, "height": 900})
    w.open("/" + Q)
    category_graph = ".card:has-text('类别分布') .dash-graph"
    _click_bar(w.page, category_graph, "交通邮电类")
    w.page.wait_for_url("**category=**")
    wait_rendered(w.page)
    assert w.path() == "/?year=2024&category=交通邮电类&as_of=2024-06-30"
    w.page.wait_for_function("() => document.querySelector('#kpi-total').innerText.trim() === '2'")
    assert w.text("#kpi-completion_rate") == "50.00%"  # nos. 3 and 4: 1 of 2
    assert "交通邮电类" in w.text("#meta-scope")
    # the filter carries to other views through their links
    w.page.locator("#nav-overdue").click()
    w.page.wait_for_url("**/overdue**")
    wait_rendered(w.page, "#grid-overdue .ag-row")
    assert w.page.locator("#grid-overdue .ag-center-cols-container .ag-row").count() == 1  # only no. 4
    w.page.go_back()
    w.page.wait_for_url(lambda u: "/overdue" not in u)
    w.page.go_back()
    w.page.wait_for_function("() => document.querySelector('#kpi-total') && document.querySelector('#kpi-total').innerText.trim() === '7'")
    assert w.path() == "/" + Q
    w.clean()


def test_filter_dropdown_writes_url(chromium, base):
    w = Watched(chromium, base)
    w.open("/overdue" + Q)
    w.page.locator("#filter-kind").click()
    w.page.get_by_role("option", name="大会建议").click()
    w.page.wait_for_url("**kind=**")
    wait_rendered(w.page)
    assert w.path() == "/overdue?year=2024&kind=大会建议&as_of=2024-06-30"
    assert "大会建议" in w.text("#meta-scope")
    w.clean()


def test_a_view_loads_once_and_a_filter_change_does_not_reload_the_document(chromium, base):
    """The app is loaded once: opening / (no year in the address) must not rewrite the address and
    load everything again, and a filter change updates the view in place (history entry kept)."""
    w = Watched(chromium, base)
    loads: list[str] = []
    w.page.on("framenavigated", lambda frame: frame == w.page.main_frame and loads.append(frame.url))
    w.page.add_init_script("window.__duban_document = Math.random()")
    w.open("/")
    marker = w.page.evaluate("window.__duban_document")
    w.page.wait_for_timeout(300)  # a rewrite of the address would come now
    assert w.path() == "/" and len(loads) == 1, loads
    w.page.locator("#filter-kind").click()
    w.page.get_by_role("option", name="大会建议").click()
    w.page.wait_for_url("**kind=**")
    wait_rendered(w.page)
    assert w.page.evaluate("window.__duban_document") == marker  # same document: no reload
    assert "大会建议" in w.text("#meta-scope")
    w.page.go_back()
    w.page.wait_for_url(lambda u: "kind=" not in u)
    wait_rendered(w.page)
    assert "大会建议" not in w.text("#meta-scope")
    w.clean()


def test_meeting_screen_rotates_with_keys(chromium, base):
    w = Watched(chromium, base, viewport={"width": 1920, "height": 1080})
    w.open("/meeting" + Q)
    assert w.text("#m-completion_rate") == "57.1%"
    assert w.text("#meeting-position").startswith("第 1 / 5 屏")
    w.page.keyboard.press("ArrowRight")
    w.page.wait_for_function("() => document.querySelector('#meeting-position').innerText.startsWith('第 2 / 5')")
    w.page.keyboard.press("ArrowLeft")
    w.page.wait_for_function("() => document.querySelector('#meeting-position').innerText.startsWith('第 1 / 5')")
    w.page.keyboard.press(" ")
    w.page.wait_for_function("() => document.querySelector('#meeting-position').innerText.includes('已暂停')")
    # readable from five metres: the headline numbers are large
    size = w.page.locator("#m-completion_rate").evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert size >= 80
    w.clean()

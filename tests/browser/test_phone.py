"""Every address on a phone (390×844, headless Chromium as a touch device): nothing scrolls sideways,
the first screen shows the headline figures (not the menu), the menu and the filters open as
drawers, grids become a list of cards, the suggestion history reads as lines, charts carry no
toolbar, and /meeting's digits stay inside their cards; /meeting at 1920×1080 keeps its layout."""

from __future__ import annotations

import pytest

from tests.browser.harness import BROWSER_MARKS, PHONE, Q, VIEWS, wait_rendered

pytestmark = BROWSER_MARKS

HEADLINES = ".kpi-value, .m-value"


@pytest.fixture
def phone(chromium):
    page = chromium.new_page(viewport={"width": PHONE[0], "height": PHONE[1]}, is_mobile=True, has_touch=True, locale="zh-CN")
    yield page
    page.close()


def _open(page, url: str) -> None:
    page.goto(url)
    wait_rendered(page)


def _in_first_screen(page, selector: str) -> list[bool]:
    return page.locator(selector).evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return r.width > 0 && r.top >= 0 && r.bottom <= innerHeight && r.right <= innerWidth; })")


def test_every_address_fits_a_phone_and_opens_on_its_figures(phone, base):
    for name, path in VIEWS:
        _open(phone, base + path + Q)
        assert phone.locator("#render-error").count() == 0, path
        width = phone.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1], f"{path} scrolls sideways: {width}"
        headlines = _in_first_screen(phone, HEADLINES)
        assert all(headlines), f"{path}: headline figures below the first screen: {headlines}"
        if name != "meeting":
            assert not phone.locator("#nav-menu").is_visible(), path  # the menu is folded
            assert not phone.locator("#filter-year").is_visible(), path  # so are the filters
    _open(phone, base + "/" + Q)
    assert len(_in_first_screen(phone, HEADLINES)) >= 6  # 总览: its six headline cards


def test_menu_and_filters_open_as_drawers(phone, base):
    _open(phone, base + "/" + Q)
    phone.locator("#nav-toggle").click()
    assert phone.locator("#nav-overdue").is_visible()
    assert phone.locator("#nav-toggle").get_attribute("aria-expanded") == "true"
    phone.locator("#nav-overdue").click()
    phone.wait_for_url("**/overdue**")
    wait_rendered(phone, "#grid-overdue")
    assert not phone.locator("#nav-menu").is_visible()  # following a link folds the menu again

    assert "2024年" in phone.locator("#filter-toggle").inner_text()  # the folded bar says what is chosen
    phone.locator("#filter-toggle").click()
    assert phone.locator("#filter-kind").is_visible()
    box = phone.locator("#filter-kind").bounding_box()
    assert box["width"] > PHONE[0] / 2  # a real control, not a stub
    phone.locator("#filter-kind").click()
    phone.get_by_role("option", name="大会建议").click()
    phone.wait_for_url("**kind=**")
    wait_rendered(phone)
    assert "大会建议" in phone.locator("#meta-scope").inner_text()


def test_grids_become_cards_and_back_to_columns_on_a_wide_screen(phone, base):
    _open(phone, base + "/overdue" + Q)
    cards = phone.locator("#grid-overdue .grid-card")
    cards.first.wait_for()
    assert cards.count() == 3  # nos. 4, 6 (overdue) and 7 (due soon)
    first = cards.first.inner_text()
    assert "十八届一次 第4号" in first and "逾期 29 天" in first and "市交通局" in first
    assert not phone.locator("#grid-overdue .ag-header").is_visible()
    widths = cards.evaluate_all("els => els.map(e => e.getBoundingClientRect().right)")
    assert max(widths) <= PHONE[0]
    cards.first.locator("a", has_text="第4号").click()  # the card's link drills down like the cell's
    phone.wait_for_url("**/suggestions/**")
    phone.go_back()
    wait_rendered(phone, "#grid-overdue .grid-card")
    phone.set_viewport_size({"width": 1024, "height": 768})  # turned or on a tablet: the columns again
    phone.wait_for_function("() => !document.querySelector('#grid-overdue .grid-card')")
    assert phone.locator("#grid-overdue .ag-header-cell", has_text="标题").is_visible()


def test_suggestion_history_reads_as_lines_and_charts_have_no_toolbar(phone, base):
    _open(phone, base + "/suggestions/十八届一次/6" + Q)
    cells = phone.locator(".history-table td")
    assert cells.count() > 0
    widths = cells.evaluate_all("els => els.map(e => e.getBoundingClientRect().width)")
    assert min(widths) > PHONE[0] / 2, widths  # a row's cells stacked full width, not one character each
    assert "来源文件" in phone.locator(".history-table tbody tr").first.evaluate(
        "tr => getComputedStyle(tr.querySelector('td:nth-child(2)'), '::before').content")
    _open(phone, base + "/" + Q)
    assert phone.locator(".js-plotly-plot").count() > 0
    assert phone.locator(".modebar-container").evaluate_all("els => els.filter(e => e.offsetParent !== null).length") == 0


def _digits_inside_cards(page) -> list[str]:
    """The /meeting headline numbers that overflow their card or overlap another one."""
    return page.evaluate("""() => {
        const values = Array.from(document.querySelectorAll('.m-value'));
        const boxes = values.map(v => [v.id, v.getBoundingClientRect(), v.closest('.m-card').getBoundingClientRect(), v.scrollWidth - v.clientWidth]);
        const bad = [];
        for (const [id, r, card, over] of boxes) {
            if (r.left < card.left || r.right > card.right || over > 0) bad.push(id + ' overflows');
            for (const [other, s] of boxes) {
                if (other !== id && r.left < s.right && s.left < r.right && r.top < s.bottom && s.top < r.bottom) bad.push(id + ' overlaps ' + other);
            }
        }
        return bad;
    }""")


def test_meeting_digits_fit_a_phone(phone, base):
    _open(phone, base + "/meeting" + Q)
    assert phone.locator(".m-value").count() >= 6
    assert _digits_inside_cards(phone) == []


def test_meeting_keeps_its_big_screen_layout(chromium, base):
    page = chromium.new_page(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    _open(page, base + "/meeting" + Q)
    assert _digits_inside_cards(page) == []
    value = page.locator("#m-completion_rate")
    assert value.evaluate("el => parseFloat(getComputedStyle(el).fontSize)") == 96
    cards = page.locator(".m-card").evaluate_all("els => els.map(e => { const r = e.getBoundingClientRect(); return [Math.round(r.top), Math.round(r.width)]; })")
    assert len({top for top, _ in cards}) == 2 and all(width > 500 for _, width in cards)  # three abreast, two rows
    assert page.locator(".m-controls").evaluate("el => getComputedStyle(el).position") == "fixed"
    assert page.locator("h1").evaluate("el => parseFloat(getComputedStyle(el).fontSize)") == 56
    page.close()


def test_a_desktop_shows_menu_and_filters_without_toggles(chromium, base):
    page = chromium.new_page(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    _open(page, base + "/overdue" + Q)
    assert page.locator("#nav-overdue").is_visible() and page.locator("#filter-year").is_visible()
    assert not page.locator("#nav-toggle").is_visible() and not page.locator("#filter-toggle").is_visible()
    assert page.locator("#grid-overdue .grid-card").count() == 0
    assert page.locator(".modebar-container").count() > 0
    page.close()

"""What issue 16 found cut off or squeezed at a leader's usual screen (1600 px wide): the key
columns of /key and /units are inside their grid's visible width, and /trends' rate panels each
state their zoomed axis range."""

from __future__ import annotations

from tests.browser.harness import BROWSER_MARKS, Q, wait_rendered

pytestmark = BROWSER_MARKS

WIDE = {"width": 1600, "height": 900}


def _headers_in_view(page, grid_id: str, headers: list[str]) -> dict[str, bool]:
    """Whether each header cell lies wholly inside the grid's visible body (not scrolled off or cut)."""
    return page.evaluate("""([gridId, headers]) => {
        const grid = document.getElementById(gridId);
        const view = grid.querySelector('.ag-header-viewport, .ag-header').getBoundingClientRect();
        const out = {};
        for (const name of headers) {
            const cell = [...grid.querySelectorAll('.ag-header-cell')].find(c => c.innerText.replace(/\\s+/g, '').startsWith(name));
            if (!cell) { out[name] = false; continue; }
            const box = cell.getBoundingClientRect();
            out[name] = box.width > 40 && box.left >= view.left - 1 && box.right <= view.right + 1;
        }
        return out;
    }""", [grid_id, headers])


def test_key_columns_visible_at_1600(chromium, base):
    page = chromium.new_page(locale="zh-CN", viewport=WIDE)
    page.goto(base + "/key" + Q)
    wait_rendered(page, ".ag-header-cell")
    grid = page.locator(".duban-grid").first.get_attribute("id")
    shown = _headers_in_view(page, grid, ["办理期限", "进度", "状态", "标题"])
    page.close()
    assert all(shown.values()), shown


def test_units_score_summary_visible_at_1600(chromium, base):
    page = chromium.new_page(locale="zh-CN", viewport=WIDE)
    page.goto(base + "/units" + Q)
    wait_rendered(page, "#grid-units .ag-header-cell")
    shown = _headers_in_view(page, "grid-units", ["得分概要", "考核得分", "名次", "提示"])
    page.close()
    assert all(shown.values()), shown


def test_trends_rate_panels_state_their_range(chromium, base):
    page = chromium.new_page(locale="zh-CN", viewport=WIDE)
    page.goto(base + "/trends" + Q)
    wait_rendered(page)
    titles = [t.text_content() or "" for t in page.locator("#fig-trend-rates .annotation-text").all()]
    page.close()
    assert len(titles) == 8 and all("纵轴" in t and "%–" in t for t in titles), titles

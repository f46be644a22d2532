"""PNG of every view, for a human look: `python -m tests.browser.screenshots FOLDER`.

Serves the dashboard (login off) on the small sample warehouse of tests/browser/sample.py, or on
``--warehouse FILE`` when given, and writes FOLDER/<view>.png at 1600×900 (/meeting at 1920×1080);
``--phone`` takes every view at a phone's 390×844 instead, one PNG per screen as a thumb scrolls
(FOLDER/<view>-phone-1.png is the first screen; the whole width, so a sideways overflow shows).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.browser.harness import CHROMIUM, PHONE, VIEWS, browser, serving, views, wait_rendered


def _views_for(warehouse: Path) -> list[tuple[str, str]]:
    """The views, with the unit and suggestion pages pointed at the first overdue item of
    ``warehouse`` (the sample's fixed addresses exist only in the sample)."""
    from duban.core.settings import load_settings
    from warehouse.connection import PublishedWarehouse
    from warehouse.indicators import Indicators, Scope

    published = PublishedWarehouse(warehouse)
    items = Indicators(published.connection(), load_settings(), published.version).overdue(Scope())
    published.close()
    if not items:
        return VIEWS
    first = items[0]
    return views(unit=first["unit"], session=first["session"], number=first["number"])


def _phone_screens(page, stem: Path, most: int = 8) -> list[Path]:
    """The page cut into phone screens (stem-1.png, stem-2.png, …; at most ``most``)."""
    width, height = page.evaluate("[document.scrollingElement.scrollWidth, document.scrollingElement.scrollHeight]")
    screens = []
    for i in range(min(most, -(-height // PHONE[1]))):
        out = stem.with_name(f"{stem.name}-{i + 1}.png")
        clip = {"x": 0, "y": i * PHONE[1], "width": width, "height": min(PHONE[1], height - i * PHONE[1])}
        page.screenshot(path=str(out), full_page=True, clip=clip)
        screens.append(out)
    return screens


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="看板各页面截图 / screenshots of every dashboard view")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--warehouse", type=Path, help="仓库路径 (默认: 内置小样本)")
    parser.add_argument("--query", default=None, help="附加的查询串, 如 year=2024&as_of=2024-06-30")
    parser.add_argument("--phone", action="store_true", help="按手机屏幕 390×844 截图")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"找不到 {CHROMIUM}, 无法截图 / chromium not installed", file=sys.stderr)
        return 1
    from dashboard.app import create_app
    from tests.browser import sample

    args.folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = args.warehouse or sample.build(Path(tmp))
        query = args.query if args.query is not None else ("" if args.warehouse else f"as_of={sample.AS_OF.isoformat()}")
        app = create_app(warehouse, home=Path(tmp) / "home", auth=False)
        views = VIEWS if not args.warehouse else _views_for(warehouse)
        with serving(app) as base, browser() as b:
            for name, path in views:
                size = PHONE if args.phone else (1920, 1080) if name == "meeting" else (1600, 900)
                page = b.new_page(viewport={"width": size[0], "height": size[1]}, locale="zh-CN",
                                  **({"is_mobile": True, "has_touch": True} if args.phone else {}))
                page.goto(base + path + (f"?{query}" if query else ""))
                wait_rendered(page)
                page.wait_for_timeout(600)  # plotly draws after the layout settles
                if args.phone:
                    for out in _phone_screens(page, args.folder / f"{name}-phone"):
                        print(out)
                    page.close()
                    continue
                out = args.folder / f"{name}.png"
                page.screenshot(path=str(out), full_page=name != "meeting")
                print(out)
                if name == "meeting" and not args.phone:  # every rotating panel, moved with the arrow key
                    for i in range(2, 6):
                        page.keyboard.press("ArrowRight")
                        page.wait_for_timeout(700)
                        out = args.folder / f"meeting-{i}.png"
                        page.screenshot(path=str(out))
                        print(out)
                page.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

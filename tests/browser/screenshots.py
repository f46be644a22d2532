"""PNG of every view, for a human look: `python -m tests.browser.screenshots FOLDER`.

Serves the dashboard (login off) on the small sample warehouse of tests/browser/sample.py, or on
``--warehouse FILE`` when given, and writes FOLDER/<view>.png at 1600×900 (/meeting at 1920×1080).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.browser.harness import CHROMIUM, VIEWS, browser, serving, views, wait_rendered


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="看板各页面截图 / screenshots of every dashboard view")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--warehouse", type=Path, help="仓库路径 (默认: 内置小样本)")
    parser.add_argument("--query", default=None, help="附加的查询串, 如 year=2024&as_of=2024-06-30")
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
                size = (1920, 1080) if name == "meeting" else (1600, 900)
                page = b.new_page(viewport={"width": size[0], "height": size[1]}, locale="zh-CN")
                page.goto(base + path + (f"?{query}" if query else ""))
                wait_rendered(page)
                page.wait_for_timeout(600)  # plotly draws after the layout settles
                out = args.folder / f"{name}.png"
                page.screenshot(path=str(out), full_page=name != "meeting")
                print(out)
                if name == "meeting":  # every rotating panel, moved with the arrow key
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

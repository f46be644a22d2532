"""The dashboard draws its figures with the vendored plotly.js partial bundle (assets/plotly-basic.min.js,
docs/dashboard.md «plotly.js»), never Dash's full 4.8 MB bundle: the browser test checks what is
requested and drawn; the cheap tests check the dashboard's code uses only the bundle's trace types."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

from tests.browser.harness import BROWSER_MARKS, Q, wait_rendered

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "assets" / "plotly-basic.min.js"
# The trace modules of plotly.js-basic-dist-min (its README; checked against the live bundle below).
BUNDLE_TRACES = {"bar", "pie", "scatter"}
FULL_BUNDLE = "plotly/package_data/plotly.min.js"  # what dcc.Graph loads when window.Plotly is undefined
GRAPH_VIEWS = ["/", "/trends", "/overdue", "/units/市交通局", "/meeting"]  # every view with a figure


def _bundle_version() -> str:
    with BUNDLE.open(encoding="utf-8") as f:
        head = f.read(300)
    m = re.search(r"plotly\.js \(basic - minified\) v(\d+\.\d+\.\d+)", head)
    assert m, f"{BUNDLE.name} 不是 plotly.js basic 打包文件: {head[:80]!r}"
    return m.group(1)


def _plotly_sources() -> list[Path]:
    """The dashboard's modules that use plotly (exports/ draws with matplotlib, not in the browser)."""
    return sorted(p for p in (ROOT / "dashboard").rglob("*.py") if "plotly" in p.read_text(encoding="utf-8"))


def test_bundle_is_vendored_with_its_licence():
    assert BUNDLE.stat().st_size < 2_000_000
    assert "MIT License" in (ROOT / "assets" / "plotly-basic.min.js.LICENSE.txt").read_text(encoding="utf-8")
    _bundle_version()


def test_bundle_major_version_is_plotly_pys():
    """plotly.py writes figures for its own plotly.js; a different major version may not draw them."""
    from plotly.offline import get_plotlyjs_version

    ours, theirs = _bundle_version(), get_plotlyjs_version()
    assert ours.split(".")[0] == theirs.split(".")[0], (
        f"assets/plotly-basic.min.js 是 plotly.js {ours}, 已安装的 plotly 用 {theirs}: 按 docs/dashboard.md 更新打包文件")


def test_dashboard_uses_only_the_bundles_trace_types():
    """go.<Trace>(…) and fig.add_<trace>(…) in dashboard/ name only trace types of the
    bundle; plotly.express is not used (its figures could be any type)."""
    import plotly.graph_objects as go
    from plotly.basedatatypes import BaseTraceType

    classes = {name: getattr(go, name) for name in dir(go)}  # go's attributes load lazily: not in vars()
    trace_types = {name: cls._path_str for name, cls in classes.items()
                   if isinstance(cls, type) and issubclass(cls, BaseTraceType) and cls is not BaseTraceType}
    add_methods = {f"add_{t}" for t in trace_types.values()}
    found, express = {}, []
    for path in _plotly_sources():
        text = path.read_text(encoding="utf-8")
        rel = str(path.relative_to(ROOT))
        for m in re.finditer(r"\bgo\.(\w+)\s*\(", text):
            if m.group(1) in trace_types:
                found.setdefault(trace_types[m.group(1)], set()).add(rel)
        for m in re.finditer(r"\.(add_\w+)\s*\(", text):
            if m.group(1) in add_methods:
                found.setdefault(m.group(1)[4:], set()).add(rel)
        if re.search(r"plotly\.express|\bpx\.", text):
            express.append(rel)
    assert found, "没有找到任何图表 (正则可能已失效)"
    outside = {t: sorted(files) for t, files in found.items() if t not in BUNDLE_TRACES}
    assert outside == {}, f"这些图表类型不在 plotly.js basic 打包文件中 ({sorted(BUNDLE_TRACES)}): {outside}; 见 docs/dashboard.md"
    assert express == [], f"plotly.express 的图表类型无法检查, 请用 plotly.graph_objects: {express}"


def _browser(test):
    """The browser marks on one test (the cheap tests above run without Chromium)."""
    for mark in BROWSER_MARKS:
        test = mark(test)
    return test


@_browser
def test_graphs_draw_with_the_partial_bundle_only(chromium, base):
    page = chromium.new_page(viewport={"width": 1600, "height": 1000})
    requests, errors = [], []
    page.on("request", lambda r: requests.append(urlparse(r.url).path))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    drawn = {}
    for path in GRAPH_VIEWS:
        page.goto(base + path + Q)
        wait_rendered(page)
        drawn[path] = page.evaluate("""() => [...document.querySelectorAll('.dash-graph')].map(g => ({
            svg: !!g.querySelector('.main-svg'),
            bars: g.querySelectorAll('.barlayer .trace .point path').length,
            lines: g.querySelectorAll('.scatterlayer .trace .js-line').length,
            markers: g.querySelectorAll('.scatterlayer .trace .points path').length}))""")
    plotly = page.evaluate("() => ({version: Plotly.version, traces: Object.keys(Plotly.PlotSchema.get().traces)})")
    page.close()

    assert [p for p in requests if p.endswith(FULL_BUNDLE)] == [], "dcc.Graph 加载了完整的 plotly.js"
    assert "/assets/plotly-basic.min.js" in requests
    assert plotly["version"] == _bundle_version()
    assert set(plotly["traces"]) == BUNDLE_TRACES
    assert errors == []
    for path, graphs in drawn.items():
        assert graphs and all(g["svg"] for g in graphs), (path, graphs)
        assert all(g["bars"] + g["lines"] + g["markers"] > 0 for g in graphs), (path, graphs)
    shapes = [g for graphs in drawn.values() for g in graphs]
    assert any(g["bars"] for g in shapes) and any(g["lines"] for g in shapes) and any(g["markers"] for g in shapes)

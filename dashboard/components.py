"""Shared building blocks of the dashboard's pages: the per-request view context, cards, marks,
figures, grids, links and the navigation/filter bar.

Everything that shows text from files (titles, unit names) puts it into component children or
grid cells as plain strings, which React escapes: a title containing <script> shows literally.
No component here renders HTML or markdown from data.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import cached_property
from pathlib import Path
from typing import Any, Sequence

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from dash import Input, Output, State, dcc, html, no_update

from dashboard.urlstate import ViewState, href, suggestion_path, unit_path
from duban.core import appstate
from duban.core.settings import Settings
from etl.directory import directory_by_unit
from exports.xlsx import as_rows
from warehouse.formatting import format_count_delta, format_date, format_delta, format_rate
from warehouse.indicators import Indicators, Scope
from warehouse.ranking import rank_units, split_ranking

FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'
# plotly.js's mode bar: the PNG download only (labelled by the zh-CN locale, assets/
# plotly-locale-zh-cn.js), nothing that sends a chart anywhere (no Chart Studio, no share link,
# no cloud server); never MathJax (dcc.Graph mathjax=False).
GRAPH_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "locale": "zh-CN",
    "modeBarButtons": [["toImage"]],
    "showLink": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "plotlyServerURL": "",
    "toImageButtonOptions": {"format": "png", "scale": 2},
}
# Date pickers in Chinese: month and weekday names from the zh-CN locale served locally
# (assets/datefns-locale-zh-cn.js), weeks from Monday.
DATE_PICKER = {"display_format": "YYYY-MM-DD", "month_format": "YYYY年M月", "first_day_of_week": 1,
               "placeholder": "选择日期"}
# A dropdown's own words (its clear button's tooltip, search, counts) in Chinese.
DROPDOWN_LABELS = {"select_all": "全选", "deselect_all": "全不选", "selected_count": "已选 {num_selected} 项",
                   "search": "搜索", "clear_search": "清除搜索", "clear_selection": "清除选择",
                   "no_options_found": "没有匹配的选项"}
PALETTE = ["#7a1f1f", "#2f6f9f", "#d08c1f", "#3d8b5a", "#7b5aa6", "#8c6d46", "#c1477a", "#5b7083", "#a0a03c", "#2e9c9c"]
# Our own small template instead of plotly's default one: its ~7 KB of styles for every trace
# type were deep-copied into each figure and sent with it (4 figures on 总览: ~28 KB, ~40 ms).
# figure() sets the colours and fonts; this keeps the default's margins and axis look.
pio.templates["duban"] = go.layout.Template(layout={
    "xaxis": {"automargin": True, "ticks": "", "title": {"standoff": 15}, "zerolinewidth": 2},
    "yaxis": {"automargin": True, "ticks": "", "title": {"standoff": 15}, "zerolinewidth": 2},
    "hovermode": "closest", "hoverlabel": {"align": "left"},
})
pio.templates.default = "duban"
STATUS_MARK = {  # text + icon + colour: colour is never the only signal
    "逾期": ("⚠ 逾期", "mark-red"),
    "临期": ("△ 临期", "mark-yellow"),
    "在办": ("… 在办", "mark-grey"),
    "已办结": ("✓ 已办结", "mark-green"),
}


@dataclass
class ViewContext:
    """What one page render needs: the indicator layer on the current version, the URL state,
    the viewer (for unit confinement and contact visibility) and the app's settings/home."""

    ind: Indicators
    settings: Settings
    home: Path
    state: ViewState
    viewer: Any  # dashboard.auth.Viewer (username, role, unit, can_see_contacts)
    version: str = ""
    filters: dict = field(default_factory=dict)  # Indicators.available_filters()
    path: str = "/"  # the page's path (without query)
    refreshed_at: Any = None  # when the shown version was last refreshed
    as_of_asked: date | None = None  # the URL's as_of when it lay outside the data's dates (clamped)

    @property
    def as_of(self) -> date:
        return self.state.effective_as_of()

    @property
    def restrict_unit(self) -> str | None:
        return self.viewer.unit if getattr(self.viewer, "role", None) == "unit" else None

    @property
    def year(self) -> int | None:
        """The year shown: the URL's, else (no session chosen either) the newest year loaded."""
        if self.state.year is not None or self.state.session:
            return self.state.year
        years = self.filters.get("years") or []
        return max(years) if years else None

    def scope(self, **overrides) -> Scope:
        values = dict(
            year=self.year,
            session=self.state.session,
            kind=self.state.kind,
            category=self.state.category,
            as_of=self.as_of,
            restrict_unit=self.restrict_unit,
        )
        values.update(overrides)
        if values["restrict_unit"] and values.get("unit"):
            # a unit account asking for another unit (?unit=…) still gets its own: so say its files
            values["unit"] = values["restrict_unit"]
        return Scope(**values)

    def link(self, path: str, **changes) -> str:
        """A link to another view: carries the global filters only."""
        return href(path, self.state, **changes) if changes else path + self._global_search

    @cached_property
    def _global_search(self) -> str:  # the same for every link of a page (grids: one per row)
        return href("", self.state)

    def here(self, **changes) -> str:
        """This view with some URL keys changed (cross-filters, tabs)."""
        return self.path + self.state.with_(**changes).to_search()


# ── small pieces ──────────────────────────────────────────────────────────────────────────────


def mark(text: str, level: str) -> html.Span:
    """A red/yellow/green mark; the caller's text says what it means (icon included)."""
    return html.Span(text, className=f"mark mark-{level}")


def status_mark(status: str | None) -> html.Span:
    text, cls = STATUS_MARK.get(status or "", (status or "—", "mark-grey"))
    return html.Span(text, className=f"mark {cls}")


def deadline_text(row: dict) -> str:
    """逾期 N 天 / 临期 (剩 N 天) / the status, as text (grids colour it with DubanMark)."""
    status = row.get("status")
    if status == "逾期":
        return f"⚠ 逾期 {row.get('days_overdue')} 天"
    if status == "临期":
        return f"△ 临期 (剩 {row.get('days_to_deadline')} 天)"
    return STATUS_MARK.get(status or "", (status or "—", ""))[0]


def deadline_mark(row: dict) -> html.Span:
    """deadline_text as a text mark."""
    status = row.get("status")
    if status in ("逾期", "临期"):
        return mark(deadline_text(row), "red" if status == "逾期" else "yellow")
    return status_mark(status)


def rehandle_mark(row: dict) -> html.Span:
    """An open 重办 (Indicators.rehandle_list): 重办逾期 with its days, 重办中 with its due day."""
    if row.get("state") == "重办逾期":
        return mark(f"⚠ 重办逾期 {row.get('days_overdue')} 天", "red")
    return mark(f"△ 重办中 (期限 {format_date(row.get('due_date'))})", "yellow")


def text_link(text: Any, path: str, **kw) -> dcc.Link:
    return dcc.Link(str(text) if text is not None else "—", href=path, **kw)


def unit_link(ctx: ViewContext, unit: str) -> dcc.Link:
    return text_link(unit, ctx.link(unit_path(unit)), className="unit-link")


def suggestion_link(ctx: ViewContext, session: str, number: int, text: str | None = None) -> dcc.Link:
    return text_link(text or f"{session} 第{number}号", ctx.link(suggestion_path(session, number)), className="suggestion-link")


def delta_span(current: float | None, previous: float | None, higher_is_better: bool = True, points: bool = True) -> html.Span:
    """同比 as text with an arrow: '同比 ↑ 2.30个百分点'; the arrow and words carry the sign."""
    if current is None or previous is None:
        return html.Span("同比 —", className="delta delta-flat")
    diff = current - previous
    text = format_delta(current, previous) if points else format_count_delta(current, previous)
    good = (diff > 0) == higher_is_better
    cls = "delta-flat" if diff == 0 else ("delta-good" if good else "delta-bad")
    arrow = "→" if diff == 0 else ("↑" if diff > 0 else "↓")
    return html.Span(f"同比 {arrow} {text}", className=f"delta {cls}")


def kpi_card(key: str, label: str, value: str, delta: Any = None, note: str | None = None) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(label, className="kpi-label"),
                html.Div(value, className="kpi-value", id=f"kpi-{key}"),
                html.Div(delta) if delta is not None else None,
                html.Div(note, className="kpi-note") if note else None,
            ]
        ),
        className="kpi-card shadow-sm",
    )


def labelled_row(columns: Sequence[str], cells: Sequence[Any], cell_class: str | None = None, **kw) -> html.Tr:
    """A table row whose cells carry their column's name (data-label): in a table of class
    ``stack-phone`` a phone shows each row as a block of "column  value" lines (assets/duban.css)
    instead of a dozen columns one character wide."""
    return html.Tr([html.Td(cell, className=cell_class, **{"data-label": column}) for column, cell in zip(columns, cells)], **kw)


def card(title: str, body: Any, **kw) -> dbc.Card:
    return dbc.Card([dbc.CardHeader(title, className="fw-bold"), dbc.CardBody(body)], className="shadow-sm mb-3", **kw)


def empty(text: str = "暂无数据") -> html.Div:
    return html.Div(text, className="text-muted fst-italic py-2")


def rate(value: float | None) -> str:
    return format_rate(value)


def count(value: Any) -> str:
    return "—" if value is None else f"{int(value):,}"


# ── figures ───────────────────────────────────────────────────────────────────────────────────


def figure(height: int = 320, dark: bool = False, **layout) -> go.Figure:
    """An empty figure in the dashboard's look; ``layout`` as in update_layout (xaxis_title=…)."""
    grid_color = "#333" if dark else "#e5e5e5"
    fig = go.Figure(layout={
        "height": height,
        "margin": {"l": 40, "r": 16, "t": 36, "b": 40},
        "font": {"family": FONT, "size": 22 if dark else 13, "color": "#fff" if dark else "#222"},
        "paper_bgcolor": "#000" if dark else "#fff",
        "plot_bgcolor": "#000" if dark else "#fff",
        "colorway": PALETTE,
        "legend": {"orientation": "h", "y": -0.2},
        "separators": ".,",
        "xaxis": {"gridcolor": grid_color, "zerolinecolor": grid_color},
        "yaxis": {"gridcolor": grid_color, "zerolinecolor": grid_color, "rangemode": "tozero"},
    })
    if layout:
        fig.update_layout(**layout)
    return fig


def series(values: list, dtype: str = "f8") -> np.ndarray:
    """A long data series (hundreds of points or more) for a trace: plotly checks an array in one
    step instead of value by value, and sends it to the browser as packed binary."""
    return np.array(values, dtype=dtype)


def integer_axis(fig: go.Figure, values: list, axis: str = "y") -> go.Figure:
    """Counts get whole-number ticks (plotly would label 0.5 件 on small counts)."""
    top = max([v or 0 for v in values] or [0])
    step = 1
    while step * 5 < top:  # 1, 2, 5, 10, 20, 50, …: round steps a reader can add up
        step = step * 5 // 2 if str(step).startswith("2") else step * 2
    (fig.update_yaxes if axis == "y" else fig.update_xaxes)(dtick=step, tickformat=",d")
    return fig


def graph(fig: go.Figure, graph_id: str | dict | None = None, static: bool = False) -> dcc.Graph:
    config = dict(GRAPH_CONFIG)
    if static:
        config.update(staticPlot=True)
    kw = {"id": graph_id} if graph_id else {}
    return dcc.Graph(figure=fig, config=config, mathjax=False, **kw)


# ── grids ─────────────────────────────────────────────────────────────────────────────────────

GRID_LOCALE = {  # AG Grid's own labels in Chinese
    "page": "页", "more": "更多", "to": "至", "of": "共", "next": "下一页", "last": "末页", "first": "首页",
    "previous": "上一页", "loadingOoo": "加载中…", "noRowsToShow": "没有记录", "filterOoo": "筛选…",
    "equals": "等于", "notEqual": "不等于", "contains": "包含", "notContains": "不包含", "startsWith": "开头是",
    "endsWith": "结尾是", "lessThan": "小于", "greaterThan": "大于", "inRange": "介于", "andCondition": "并且",
    "orCondition": "或者", "blank": "为空", "notBlank": "不为空", "searchOoo": "搜索…", "selectAll": "全选",
    "applyFilter": "应用", "resetFilter": "重置", "clearFilter": "清除", "pageSizeSelectorLabel": "每页行数:",
    "lessThanOrEqual": "小于等于", "greaterThanOrEqual": "大于等于", "before": "早于", "after": "晚于",
    "ariaPageSizeSelectorLabel": "每页行数", "firstPage": "首页", "previousPage": "上一页", "nextPage": "下一页",
    "lastPage": "末页",
}


def dropdown(**kw) -> dcc.Dropdown:
    """dcc.Dropdown with its labels in Chinese."""
    return dcc.Dropdown(labels=DROPDOWN_LABELS, **kw)


def grid(grid_id: str, rows: list[dict], columns: list[dict], height: int = 420, page_size: int = 20) -> dag.AgGrid:
    """A sortable, filterable grid. Cells are text; link columns use the DubanLink renderer
    (assets/dashAgGridComponentFunctions.js), which renders text only and navigates in-app."""
    short = len(rows) <= page_size
    options = {
        "localeText": GRID_LOCALE,
        "pagination": not short,
        "paginationPageSize": page_size,
        "paginationPageSizeSelector": False,
        "enableCellTextSelection": True,
        "animateRows": False,
    }
    if short:  # a short list takes the room it needs instead of a mostly empty box
        options["domLayout"] = "autoHeight"
    return dag.AgGrid(
        id=grid_id,
        rowData=rows,
        columnDefs=[*columns, CARD_COLUMN],
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 90, "wrapHeaderText": True, "autoHeaderHeight": True},
        dashGridOptions=options,
        columnSize="responsiveSizeToFit",
        className="ag-theme-alpine duban-grid",
        style={"height": None if short else f"{height}px", "minHeight": "120px"},
        eventListeners={event: ["DubanFitScreen(params)"] for event in GRID_REFIT_EVENTS},
    )


# On a phone a grid's columns give way to this one: each row as a small card of "header value"
# lines (DubanCard in assets/dashAgGridComponentFunctions.js, switched by DubanFitScreen in
# assets/dashAgGridFunctions.js), so nothing is cut off or scrolls sideways.
# When to choose: a new width (turning the phone), and after dash-ag-grid sets the columns anew
# (which brings back each column's "hide").
GRID_REFIT_EVENTS = ("firstDataRendered", "gridSizeChanged", "columnEverythingChanged")
CARD_COLUMN = {"colId": "card", "headerName": "", "cellRenderer": "DubanCard", "hide": True, "autoHeight": True,
               "sortable": False, "filter": False, "resizable": False, "suppressHeaderMenuButton": True, "flex": 1}


def link_column(field_name: str, header: str, href_field: str, **kw) -> dict:
    return {"field": field_name, "headerName": header, "cellRenderer": "DubanLink", "cellRendererParams": {"hrefField": href_field}, **kw}


def suggestion_cells(ctx: "ViewContext", r: dict) -> dict:
    """The grid cells naming one suggestion: 十八届一次 第12号 (a link to its page) and its title."""
    return {
        "number": f"{r['session']} 第{r['number']}号",
        "href": ctx.link(suggestion_path(r["session"], r["number"])),
        "title": r.get("title") or "",
    }


# ── chrome: nav + filters + "what this view shows" ────────────────────────────────────────────

def navbar(ctx: ViewContext, pathname: str, nav: list[tuple[str, str]]) -> dbc.Navbar:
    """The top bar; ``nav``: (path, label) of the pages in it (the page registry's)."""
    first = "/" + (pathname or "/").strip("/").split("/")[0]
    items = [
        dbc.NavItem(dcc.Link(label, href=ctx.link(path), className="nav-link" + (" active" if first == path else ""), id=f"nav-{path.strip('/') or 'home'}"))
        for path, label in nav
    ]
    viewer = ctx.viewer
    who = f"{viewer.username}" + (f" ({viewer.unit})" if getattr(viewer, "unit", None) else "")
    right = [html.Span(who, className="text-white-50 me-3 small")]
    if getattr(viewer, "username", "") != "本机":
        right.append(html.A("退出", href="/logout", className="btn btn-sm btn-outline-light"))
    # Below the lg breakpoint the menu folds behind a toggler (assets/drawers.js opens it), so a
    # phone's first screen shows the view, not seven links.
    return dbc.Navbar(
        dbc.Container(
            [
                dcc.Link("督办 · 代表建议办理", href=ctx.link("/"), className="navbar-brand fw-bold"),
                drawer_toggle("nav-menu", [html.Span(className="navbar-toggler-icon"), " 菜单"], "navbar-toggler", id="nav-toggle"),
                html.Div(
                    [dbc.Nav(items, className="me-auto", navbar=True), html.Div(right, className="d-flex align-items-center py-2 py-lg-0")],
                    id="nav-menu", className="collapse navbar-collapse",
                ),
            ],
            fluid=True,
        ),
        className="duban-nav",
        color="#7a1f1f",
        dark=True,
        expand="lg",
    )


def drawer_toggle(target_id: str, label: Any, class_name: str, **kw) -> html.Button:
    """A button that shows and hides the ``collapse`` element ``target_id`` (the navbar's menu, the
    filters on a phone). assets/drawers.js flips its ``show`` class: the page's layout never holds
    whether it is open, so a stored page is the same for everyone."""
    return html.Button(label, type="button", className=class_name,
                       **{"data-drawer": target_id, "aria-controls": target_id, "aria-expanded": "false"}, **kw)


def filter_bar(ctx: ViewContext) -> html.Div:
    f = ctx.filters
    st = ctx.state

    # Wide screens: one line, label beside control (widths at lg and up). A phone: a 筛选 button
    # opens the same controls as a drawer, one filter per line (label 4/12, control 8/12).
    def filter_label(text: str) -> dbc.Col:
        return dbc.Col(html.Label(text, className="form-label"), xs=4, lg="auto", className="pt-2")

    def filter_control(control: Any, width: int) -> dbc.Col:
        return dbc.Col(control, xs=8, lg=width)

    def filter_dropdown(fid: str, options: list, value: Any, placeholder: str, width: int) -> dbc.Col:
        return filter_control(dropdown(id=fid, options=options, value=value, placeholder=placeholder, clearable=True, searchable=True), width)

    years = [{"label": f"{y}年", "value": y} for y in sorted(f.get("years") or [], reverse=True)]
    sessions = [{"label": f"{s['session']} ({s['year']}年)", "value": s["session"]} for s in f.get("sessions") or []]
    kinds = [{"label": k, "value": k} for k in (f.get("kinds") or ["大会建议", "闭会建议"])]
    categories = [{"label": c, "value": c} for c in f.get("categories") or []]
    chosen = [f"{ctx.year}年" if ctx.year else None, st.session, st.kind, st.category, f"截至 {format_date(ctx.as_of)}"]
    return html.Div(
        dbc.Container([
            drawer_toggle("filter-drawer", ["筛选", html.Span(" · ".join(filter(None, chosen)), className="filter-summary")],
                          "btn btn-outline-secondary btn-sm w-100 text-start d-lg-none", id="filter-toggle"),
            dbc.Row(
                [
                    filter_label("年度"),
                    filter_dropdown("filter-year", years, ctx.year if st.session is None else st.year, "全部年度", 2),
                    filter_label("会次"),
                    filter_dropdown("filter-session", sessions, st.session, "全部会次", 2),
                    filter_label("类型"),
                    filter_dropdown("filter-kind", kinds, st.kind, "全部类型", 1),
                    filter_label("类别"),
                    filter_dropdown("filter-category", categories, st.category, "全部类别", 2),
                    filter_label("截至日期"),
                    filter_control(dcc.DatePickerSingle(id="filter-as-of", date=ctx.as_of.isoformat(), clearable=False, **DATE_PICKER), 2),
                    # What the bar shows for values the address does not name (the newest year,
                    # today): a control reporting one of them is not a change of filter.
                    dcc.Store(id="filter-defaults", data={
                        "filter-year": ctx.year if st.year is None and st.session is None else None,
                        "filter-as-of": ctx.as_of.isoformat() if st.as_of is None else None}),
                ],
                className="g-2 align-items-center collapse filter-drawer",
                id="filter-drawer",
            ),
        ], fluid=True),
        className="duban-filters",
    )


def view_meta(ctx: ViewContext, shows: str, scoped: bool = True) -> html.Div:
    """Every view says what it shows, as of when, and when the data was last refreshed."""
    parts = [
        html.Span(["本页: ", html.Strong(shows)]),
        html.Span(["  ·  数据截至 ", html.Strong(format_date(ctx.as_of), id="meta-as-of")]),
        html.Span(f" (所选日期 {format_date(ctx.as_of_asked)} 超出数据的日期范围, 按 {format_date(ctx.as_of)} 显示)",
                  id="meta-as-of-clamped", className="text-warning") if ctx.as_of_asked else None,
        html.Span(["  ·  数据刷新于 ", html.Strong(_refreshed_text(ctx.refreshed_at), id="meta-refreshed")]),
    ]
    scope_bits = []
    if ctx.year:
        scope_bits.append(f"{ctx.year}年")
    for v in (ctx.state.session, ctx.state.kind, ctx.state.category):
        if v:
            scope_bits.append(v)
    if ctx.restrict_unit:
        scope_bits.append(f"仅本单位: {ctx.restrict_unit}")
    scope_text = (" / ".join(scope_bits) or "全部") if scoped else "全部数据 (不受年度/类别筛选影响)"
    parts.append(html.Span(["  ·  范围 ", html.Strong(scope_text, id="meta-scope")]))
    if ctx.state.category:
        parts.append(" ")
        parts.append(dcc.Link("清除类别筛选 ✕", href=ctx.here(category=None), className="small ms-2", id="clear-category"))
    return html.Div(parts, className="view-meta my-2")


def _refreshed_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


# ── 催办 (chase) form and history, shared by the suggestion and unit pages ────────────────────

CHASE_WAYS = ["电话催办", "书面通知", "现场督办", "约谈", "其他"]


def can_chase(viewer: Any) -> bool:
    """Recording 催办 is the supervisors' work (docs/accounts.md); leaders and unit accounts see
    the history only."""
    return getattr(viewer, "role", None) == "supervisor"


def _withdrawable(row: dict, viewer: Any, minutes: int) -> bool:
    """The viewer's own record, recorded less than ``minutes`` ago (the server checks again)."""
    created = row.get("created_at")
    return (bool(minutes) and row.get("by") == getattr(viewer, "username", None) and created is not None
            and datetime.now(timezone.utc) - created < timedelta(minutes=minutes))


def chase_history(rows: list[dict], viewer: Any = None, withdraw_minutes: int = 0) -> html.Div:
    """催办 records, newest first; the viewer's own recent ones with a 撤回 button."""
    if not rows:
        return empty("尚无催办记录")
    return html.Ul([
        html.Li([html.Strong(format_date(r.get("chase_date"))), f" {r.get('way') or ''} · ",
                 html.Span(r.get("note") or "", className="text-literal"),
                 html.Span(f"  (记录人 {r.get('by') or '—'}" + (f", 单位 {r['unit']}" if r.get("unit") else "") + ")", className="text-muted small"),
                 dbc.Button("撤回", id={"type": "chase-withdraw", "id": r["id"]}, color="link", size="sm",
                            className="py-0 no-print") if _withdrawable(r, viewer, withdraw_minutes) else None])
        for r in rows
    ], className="mb-0", id="chase-history-list")


def chase_section(ctx: ViewContext, rows: list[dict], suggestion_id: str | None, unit: str | None, units: list[str] | None = None) -> dbc.Card:
    """History of 催办 records plus (for supervisors/leaders) a small form to add one."""
    if ctx.restrict_unit:  # a unit account sees the chases addressed to it, not other units'
        rows = [r for r in rows if r.get("unit") in (None, ctx.restrict_unit)]
    body: list = [html.Div(chase_history(rows, ctx.viewer, ctx.settings.chase_withdraw_minutes), id="chase-history")]
    if can_chase(ctx.viewer):
        unit_choice = _unit_choice("chase-unit", unit, units, clearable=True)
        form: list = [html.Hr(), dcc.Store(id="chase-target", data={"suggestion_id": suggestion_id})]
        limit = appstate.MAX_CHASE_NOTE
        form.append(dbc.Row([
            dbc.Col([html.Label("催办日期", className="form-label small"), dcc.DatePickerSingle(id="chase-date", date=date.today().isoformat(), **DATE_PICKER)], md=2),
            dbc.Col([html.Label("方式", className="form-label small"), dropdown(id="chase-way", options=CHASE_WAYS, value=CHASE_WAYS[0], clearable=False)], md=2),
            dbc.Col([html.Label("单位", className="form-label small"), unit_choice], md=3),
            dbc.Col([html.Label("说明", className="form-label small"), dcc.Input(id="chase-note", type="text", maxLength=limit, required=True, className="form-control", placeholder=f"必填, 不超过 {limit} 字, 如: 已电话提醒, 要求本周内答复")], md=3),
            dbc.Col(dbc.Button("记录催办", id="chase-submit", color="danger", className="mt-4"), md=2),
        ], className="g-2"))
        form.append(html.Div(id="chase-message", className="small mt-2"))
        body.append(html.Div(form, className="chase-form"))  # not printed (assets/print.css)
    return card("催办记录", body, id="chase-card")


def _unit_choice(cid: str, unit: str | None, units: list[str] | None, clearable: bool) -> dcc.Dropdown:
    """The unit of a 催办 or 约谈 record: one of the suggestion's ``units``, else the page's ``unit`` (fixed)."""
    if units is not None:
        return dropdown(id=cid, options=[{"label": u, "value": u} for u in units], value=unit or (units[0] if units else None),
                        clearable=clearable, placeholder="承办单位")
    return dropdown(id=cid, options=[{"label": unit, "value": unit}] if unit else [], value=unit, clearable=False, disabled=True)


def interview_history(rows: list[dict]) -> html.Div:
    """约谈/约见 records, newest first: date, kind, with whom, outcome."""
    if not rows:
        return empty("尚无约谈/约见记录")
    return html.Ul([
        html.Li([html.Strong(format_date(r.get("interview_date"))), f" {r.get('kind')} {r.get('unit')} · 对象 ",
                 html.Span(r.get("with_whom") or "", className="text-literal"), " · 结果: ",
                 html.Span(r.get("outcome") or "", className="text-literal"),
                 html.Span(f"  (记录人 {r.get('by') or '—'})", className="text-muted small")])
        for r in rows
    ], className="mb-0", id="interview-history-list")


def interview_section(ctx: ViewContext, rows: list[dict], suggestion_id: str | None, unit: str | None,
                      units: list[str] | None = None) -> dbc.Card:
    """约谈/约见 of a unit's head (a persistent 不满意, a 重办 past its deadline): the records and, for
    supervisors, a form — like chase_section; the server checks the unit and suggestion again."""
    if ctx.restrict_unit:  # a unit account sees its own unit's only
        rows = [r for r in rows if r.get("unit") == ctx.restrict_unit]
    body: list = [html.Div(interview_history(rows), id="interview-history")]
    if can_chase(ctx.viewer):
        limit = appstate.MAX_CHASE_NOTE
        body.append(html.Div([
            html.Hr(), dcc.Store(id="interview-target", data={"suggestion_id": suggestion_id}),
            dbc.Row([
                dbc.Col([html.Label("日期", className="form-label small"), dcc.DatePickerSingle(id="interview-date", date=date.today().isoformat(), **DATE_PICKER)], md=2),
                dbc.Col([html.Label("方式", className="form-label small"), dropdown(id="interview-kind", options=list(appstate.INTERVIEW_KINDS), value=appstate.INTERVIEW_KINDS[0], clearable=False)], md=1),
                dbc.Col([html.Label("单位", className="form-label small"), _unit_choice("interview-unit", unit, units, clearable=False)], md=3),
                dbc.Col([html.Label("对象", className="form-label small"), dcc.Input(id="interview-with", type="text", maxLength=100, required=True, className="form-control", placeholder="必填, 如: 分管副局长 王某")], md=2),
                dbc.Col([html.Label("结果", className="form-label small"), dcc.Input(id="interview-outcome", type="text", maxLength=limit, required=True, className="form-control", placeholder=f"必填, 不超过 {limit} 字, 如: 承诺月底前重新答复")], md=2),
                dbc.Col(dbc.Button("记录约谈", id="interview-submit", color="danger", className="mt-4"), md=2),
            ], className="g-2"),
            html.Div(id="interview-message", className="small mt-2"),
        ], className="chase-form"))  # not printed (assets/print.css)
    return card("约谈/约见记录", body, id="interview-card")


def uploaded_bytes(contents: str | None) -> bytes | None:
    """A dcc.Upload's file (a data: URL) as bytes; None when it cannot be decoded."""
    try:
        return base64.b64decode((contents or "").partition(",")[2], validate=True)
    except binascii.Error:
        return None


def upload_box(id: str, settings: Settings) -> dcc.Upload:
    """A file drop zone that refuses, in the browser already, files above the size limit."""
    return dcc.Upload(html.Div(["把文件拖到这里, 或 ", html.A("选择文件")]), id=id,
                      max_size=int(settings.max_file_mb * 1024 * 1024), multiple=False, className="duban-upload")


def register_upload(app: Any, upload_id: str, message_id: str, receive: Any) -> None:
    """The callback of an upload box: the chosen file to ``receive(contents, filename)``, whose
    answer (an Alert) is shown under the box."""
    @app.callback(Output(message_id, "children"), Input(upload_id, "contents"), State(upload_id, "filename"),
                  prevent_initial_call=True)
    def _received(contents, filename):
        if not contents:
            return no_update
        return receive(contents, filename)


def unit_directory(ctx: ViewContext) -> dict[str, dict]:
    """The unit directory (联络员, phone, push target: personal data, the caller shows it to
    supervisors only) under the shown version's unit names."""
    return directory_by_unit(appstate.unit_directory(ctx.home), ctx.ind.canonical_unit)


# ── the unit ranking: /units, /units/<unit> and 会议大屏 show it ─────────────────────────────────


def ranking(ctx: ViewContext) -> list[dict]:
    """The year's ranking; a unit account sees its own line only (never other units' scores)."""
    year = ctx.year
    if year is None:
        return []
    rows = as_rows(rank_units(ctx.ind.conn, ctx.settings, year, ctx.as_of, None, version=ctx.version))
    return [r for r in rows if not ctx.restrict_unit or r["unit"] == ctx.restrict_unit]


def ranked_units(ctx: ViewContext) -> list[dict]:
    """The ranked units in rank order (units without a lead assignment are not ranked)."""
    return split_ranking(ranking(ctx))[0]


ASPECT_COLUMNS = [
    {"field": "rank", "headerName": "名次", "maxWidth": 80},
    link_column("unit", "承办单位", "unit_href", minWidth=150),
    {"field": "aspect", "headerName": "考核项", "minWidth": 130},
    {"field": "source", "headerName": "来源", "maxWidth": 80},
    {"field": "weight", "headerName": "实际权重 (设定)", "maxWidth": 130},
    {"field": "points", "headerName": "得分", "maxWidth": 90},
    {"field": "counted", "headerName": "是否计分", "maxWidth": 100},
    {"field": "reason", "headerName": "说明", "minWidth": 420, "wrapText": True, "autoHeight": True},
]


def aspect_rows(ctx: ViewContext, entries: list[dict]) -> list[dict]:
    """One row per (unit, aspect): why each unit has its score, aspect by aspect. A grid (one
    component) rather than a table per unit: a hundred units stay fast in the browser."""
    return [{
        "rank": e.get("rank"), "unit": e["unit"], "unit_href": ctx.link(unit_path(e["unit"])),
        "aspect": a.get("name"), "source": a.get("source"),
        # the weight the points were scored with: aspects left out give theirs to the others
        "weight": f"{a['applied_weight']:.2f} ({a['weight']:g})" if a.get("counted") else f"— ({a['weight']:g})",
        "points": round(a["points"], 2) if a.get("counted") else None, "counted": "计分" if a.get("counted") else "不计分",
        "reason": a.get("reason") or "",
    } for e in entries for a in e.get("aspects") or []]


def aspect_grid(ctx: ViewContext, entries: list[dict], grid_id: str = "grid-unit-aspects"):
    return grid(grid_id, aspect_rows(ctx, entries), ASPECT_COLUMNS, height=520, page_size=len(entries[0].get("aspects") or []) * 5 if entries else 20)

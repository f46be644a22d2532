"""逾期预警 `/overdue`: 临期 and overdue items by age bucket and by unit (both charts cross-filter:
a click puts the bucket (status=) or the unit (unit=) into the URL), the list with days overdue,
and the 催办清单 download (Excel)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from dashboard import components as C
from dashboard import downloads as D
from dashboard.registry import Page
from dashboard.urlstate import unit_path
from duban.core import appstate
from exports.xlsx import as_rows
from warehouse.formatting import format_date
from warehouse.results import OverdueSummary
from exports.xlsx import chase_list

UNIT_BARS = 20


def bucket_figure(ctx: C.ViewContext, summary: OverdueSummary) -> go.Figure:
    """Items per age bucket (of the selected unit, if one is)."""
    order = [b.bucket for b in summary.buckets]
    counts = [b.count for b in summary.buckets]
    fig = C.figure(height=300)
    colors = ["#c99a00", "#e06c5a", "#c0392b", "#7b1010"]
    fig.add_trace(go.Bar(
        x=order, y=counts, customdata=order,
        text=[f"{n} 件" + (" ✔已选" if b == ctx.state.status else "") for b, n in zip(order, counts)], textposition="auto",
        marker_color=colors, marker_line_width=[4 if b == ctx.state.status else 0 for b in order], marker_line_color="#000",
        hoverinfo="none",
    ))
    fig.update_layout(clickmode="event")
    return C.integer_axis(fig, counts)


def unit_figure(summary: OverdueSummary) -> go.Figure:
    """Overdue and due-soon items per unit (of the selected bucket, if one is): the top 20."""
    shown = list(reversed(summary.units[:UNIT_BARS]))
    units = [u.unit for u in shown]
    fig = C.figure(height=max(260, 26 * len(units) + 80), barmode="stack")
    fig.add_trace(go.Bar(y=units, x=[u.overdue for u in shown], orientation="h", name="⚠ 逾期", marker_color="#b42318",
                         customdata=units, text=[u.overdue or "" for u in shown], textposition="inside", hoverinfo="none"))
    fig.add_trace(go.Bar(y=units, x=[u.due_soon for u in shown], orientation="h", name="△ 临期", marker_color="#c99a00",
                         customdata=units, text=[u.due_soon or "" for u in shown], textposition="inside", hoverinfo="none"))
    fig.update_layout(margin=dict(l=160, r=16, t=16, b=40), clickmode="event")
    return C.integer_axis(fig, [u.overdue + u.due_soon for u in shown], "x")


# Rows sent to the browser: the most overdue first; the 催办清单 download has every row (tens of
# thousands at a million assignments would be megabytes per page view).
LIST_LIMIT = 1000


def list_rows(ctx: C.ViewContext, rows: list[dict]) -> list[dict]:
    return [{
        **C.suggestion_cells(ctx, r),
        "unit": r.get("unit") or "",
        "unit_href": ctx.link(unit_path(r["unit"])) if r.get("unit") else None,
        "status": f"⚠ 逾期 {r['days_overdue']} 天" if r.get("status") == "逾期" else f"△ 临期 (剩 {r.get('days_to_deadline')} 天)",
        "bucket": r.get("age_bucket") or "",
        "deadline": format_date(r.get("deadline")),
        "days_overdue": r.get("days_overdue"),
        "reported": "已报送" if r.get("reported") else "! 未报送",
        "key": "重点" if r.get("is_key") else "",
    } for r in rows]


COLUMNS = [
    C.link_column("number", "建议", "href", minWidth=150),
    {"field": "title", "headerName": "标题", "minWidth": 240},
    C.link_column("unit", "未答复的主办单位", "unit_href", minWidth=160),
    {"field": "status", "headerName": "状态", "cellRenderer": "DubanMark", "minWidth": 150},
    {"field": "bucket", "headerName": "分段", "maxWidth": 140},
    {"field": "deadline", "headerName": "办理期限", "maxWidth": 120},
    {"field": "days_overdue", "headerName": "逾期天数", "maxWidth": 100, "sort": "desc"},
    {"field": "reported", "headerName": "报送", "cellRenderer": "DubanMark", "maxWidth": 110},
    {"field": "key", "headerName": "重点督办", "maxWidth": 100},
]


def layout(ctx: C.ViewContext, *_):
    scope = ctx.scope()
    st = ctx.state
    # the charts and the list's headings count what the cross-filters (bucket, unit) leave; its rows are cut in SQL
    summary = ctx.ind.overdue_summary(scope, st.status or None, st.unit or None)
    rows = as_rows(ctx.ind.overdue_first(scope, LIST_LIMIT, st.status, st.unit))
    active = []
    if ctx.state.status:
        active.append(dcc.Link(f"分段: {ctx.state.status} ✕", href=ctx.here(status=None), className="badge bg-secondary me-2", id="clear-status"))
    if ctx.state.unit:
        active.append(dcc.Link(f"单位: {ctx.state.unit} ✕", href=ctx.here(unit=None), className="badge bg-secondary me-2", id="clear-unit"))
    return html.Div([
        C.view_meta(ctx, "逾期预警: 临期与逾期件 (按主办单位逐件列出)"),
        html.Div([html.Span("筛选: ", className="small"), *active] if active else "点击图中的分段或单位可筛选清单; 再点一次取消。", className="small mb-2", id="overdue-filters"),
        dbc.Row([
            dbc.Col(C.card("按期限分段", C.graph(bucket_figure(ctx, summary), {"type": "xfilter", "key": "status"})), lg=5),
            dbc.Col(C.card("按单位 (前20个)", C.graph(unit_figure(summary), {"type": "xfilter", "key": "unit"})), lg=7),
        ], className="g-3"),
        C.card(
            f"清单: 逾期 {summary.overdue} 件次, 临期 {summary.due_soon} 件次",
            [
                html.Div(D.button(DOWNLOADS[0], ctx, color="danger"), className="mb-2 no-print"),
                C.grid("grid-overdue", list_rows(ctx, rows), COLUMNS, height=520),
                html.Div(f"清单只列出逾期最久的 {LIST_LIMIT} 件次 (共 {summary.listed} 件次); 全部请下载催办清单。",
                         className="small text-muted mt-1", id="overdue-list-limit") if summary.listed > LIST_LIMIT else None,
            ],
            id="overdue-list",
        ),
        rehandle_card(ctx),
    ])


def rehandle_card(ctx: C.ViewContext) -> dbc.Card:
    """不满意件的重办 not yet answered (重办逾期 first, then 重办中), from Indicators.rehandle_list."""
    rows = ctx.ind.rehandle_list(ctx.scope(unit=ctx.state.unit), ctx.ind.REHANDLE_OPEN)
    items = [html.Li([C.suggestion_link(ctx, r["session"], r["number"]), " ", html.Span(r.get("title") or "", className="text-literal"),
                      f" — {r['unit']} ", C.rehandle_mark(r)]) for r in rows[:LIST_LIMIT]]
    return C.card(f"不满意件重办 (测评不满意后 {ctx.settings.followup.rehandle_days} 天内重新答复)",
                  html.Ul(items, className="attention-list") if items else C.empty("没有待重办的不满意件"), id="overdue-rehandle")


def chase_list_bytes(board, search: str, viewer) -> tuple[bytes, str]:
    """The 催办清单 for the view in ``search`` (Excel bytes, file name)."""
    ctx = board.context("/overdue", search, viewer)
    scope = ctx.scope(unit=ctx.state.unit)
    # Contact names/phones are personal data: only in a supervisor's list.
    contacts = bool(getattr(viewer, "can_see_contacts", False))
    data = chase_list(ctx.ind, scope, appstate.chases(ctx.home), include_contacts=contacts,
                      directory=C.unit_directory(ctx) if contacts else None)
    return data, f"催办清单_{ctx.as_of.isoformat()}.xlsx"


DOWNLOADS = [D.Download("download-chase-list", "下载催办清单 (Excel)", "导出催办清单",
                        lambda board, _path, search, viewer: chase_list_bytes(board, search, viewer))]
PAGE = Page("overdue", "/overdue", layout, nav_label="逾期预警", downloads=tuple(DOWNLOADS), warm=True)

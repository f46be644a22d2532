"""One unit `/units/<unit>`: its figures, its assignments in a grid (sort, filter), replies against
deadlines over time, 未报送 items, its last report date, and its 催办 records. A unit account (and a
supervisor) uploads the unit's export here: it is archived for the next refresh (etl/provenance.py)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import html

from dashboard import auth
from dashboard import components as C
from dashboard import downloads as D
from dashboard.registry import Page
from duban.core import appstate
from exports.xlsx import as_rows
from warehouse.formatting import format_date, format_rate
from etl import provenance
from etl.stage import read_unit_aliases
from exports.push import target_label
from exports.template import write_template
from exports.xlsx import unit_assignments


def assignment_rows(ctx: C.ViewContext, rows: list[dict]) -> list[dict]:
    return [{
        **C.suggestion_cells(ctx, r),
        "role": r.get("role") or "",
        "category": r.get("category") or "",
        "assigned": format_date(r.get("assigned_date")),
        "deadline": format_date(r.get("deadline")),
        "reply": format_date(r.get("last_reply_date")),
        "status": r.get("status") or "",
        "days_overdue": r.get("days_overdue"),
        "result_class": r.get("result_class") or "",
        "evaluation": r.get("evaluation") or "",
    } for r in rows]


# Rows sent to the grid: the unfinished first (逾期 longest overdue, 临期, 在办), then the done; the
# 承办清单 download has every row (the largest unit has ~5,000 a year at provincial size).
GRID_LIMIT = 1000


ASSIGNMENT_COLUMNS = [
    C.link_column("number", "建议", "href", minWidth=150),
    {"field": "title", "headerName": "标题", "minWidth": 260},
    {"field": "role", "headerName": "承办方式", "maxWidth": 100},
    {"field": "category", "headerName": "类别", "maxWidth": 150},
    {"field": "assigned", "headerName": "交办日期", "maxWidth": 120},
    {"field": "deadline", "headerName": "办理期限", "maxWidth": 120},
    {"field": "reply", "headerName": "答复日期", "maxWidth": 120},
    {"field": "status", "headerName": "状态", "cellRenderer": "DubanMark", "maxWidth": 110},
    {"field": "days_overdue", "headerName": "逾期天数", "maxWidth": 100},
    {"field": "result_class", "headerName": "分类", "maxWidth": 80},
    {"field": "evaluation", "headerName": "代表评价", "maxWidth": 110},
]


def replies_figure(replied: dict) -> go.Figure:
    """Each answered lead item as a point: x = deadline, y = reply date; above the diagonal is late."""
    fig = C.figure(height=340, xaxis_title="办理期限", yaxis_title="答复日期")
    deadline, reply, number, on_time = (replied[k] for k in ("deadline", "last_reply_date", "number", "on_time"))
    for label, mask, symbol, color in (("按期答复", on_time, "circle", "#1e7b34"), ("超期答复", ~on_time, "x", "#b42318")):
        fig.add_trace(go.Scatter(x=deadline[mask], y=reply[mask], mode="markers",
                                 name=f"{label} ({int(mask.sum())} 件)", marker=dict(symbol=symbol, size=10, color=color),
                                 text=C.series([f"第{n}号" for n in number[mask]], "U"), hoverinfo="text+x+y"))
    fig.update_xaxes(tickformat="%Y-%m-%d")
    fig.update_yaxes(tickformat="%Y-%m-%d", rangemode="normal")
    if len(deadline):
        low, high = min(deadline.min(), reply.min()), max(deadline.max(), reply.max())
        fig.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", name="期限线 (线上方为超期)",
                                 line=dict(color="#888", dash="dot"), hoverinfo="skip"))
    return fig


def layout(ctx: C.ViewContext, unit: str = "", *_):
    if ctx.restrict_unit and unit != ctx.restrict_unit:
        return html.Div([html.H3("无权查看"), html.P("本账号只能查看本单位的数据。"), C.unit_link(ctx, ctx.restrict_unit)], id="forbidden")
    scope = ctx.scope(unit=unit)
    m = ctx.ind.metrics(scope)
    # the unit's row of the whole table (the ranking below reads the same, so it is computed once)
    table = next((r for r in as_rows(ctx.ind.unit_table(ctx.scope())) if r["unit"] == unit), {})
    if not m.get("lead_assignments") and not m.get("co_assignments") and not table:
        return html.Div([C.view_meta(ctx, f"承办单位: {unit}"), html.H3(unit, className="text-literal"), C.empty("该单位在所选范围内没有承办件。")])
    listed = ctx.ind.suggestion_list_first(scope, GRID_LIMIT)
    unreported = as_rows(ctx.ind.unreported_items(scope))
    cards = [
        C.kpi_card("lead", "主办/分办件", C.count(m.get("lead_assignments")), note=f"协办件 {C.count(m.get('co_assignments'))}"),
        C.kpi_card("completion_rate", "办结率", format_rate(m.get("completion_rate")), note=f"已办结 {C.count(m.get('completed'))} 件"),
        C.kpi_card("on_time_rate", "按时办结率", format_rate(m.get("on_time_rate")), note=f"逾期 {C.count(m.get('overdue'))} 件, 临期 {C.count(m.get('due_soon'))} 件"),
        C.kpi_card("satisfied_rate", "满意率 (含基本满意)", format_rate(m.get("satisfied_rate")), note=f"不满意 {C.count((m.get('satisfaction') or {}).get('不满意'))} 件"),
        C.kpi_card("co_on_time_rate", "协办按时率", format_rate(m.get("co_on_time_rate"))),
        C.kpi_card("unreported", "未报送", C.count(m.get("unreported")), note=f"最近报送 {format_date(table.get('last_report_date'))}"),
    ]
    marks = []
    if m.get("overdue"):
        marks.append(C.mark(f"⚠ 逾期 {m['overdue']} 件", "red"))
    if m.get("unreported"):
        marks.append(C.mark(f"! 未报送 {m['unreported']} 件", "yellow"))
    chases = appstate.chases(ctx.home, unit=unit)
    return html.Div([
        C.view_meta(ctx, f"承办单位: {unit} 的承办件、办理时效与报送情况"),
        html.H3([html.Span(unit, className="text-literal", id="unit-name"), " ", *marks]),
        html.Div([D.button(d, ctx) for d in DOWNLOADS], className="mb-2 no-print", id="unit-downloads"),
        html.Div(["最近一次报送: ", html.Strong(format_date(table.get("last_report_date")), id="unit-last-report"),
                  f"   ·   已催办 {len(chases)} 次"], className="mb-2"),
        directory_line(ctx, unit),
        dbc.Row([dbc.Col(c, lg=2, md=4, sm=6) for c in cards], className="g-3 mb-3"),
        followup_line(m),
        C.card("承办件 (可排序、筛选)", [
            C.grid("grid-unit-assignments", assignment_rows(ctx, listed["rows"]), ASSIGNMENT_COLUMNS),
            html.Div(f"表中只列出 {GRID_LIMIT} 件 (共 {listed['count']} 件; 逾期、临期、在办优先); 全部请导出承办清单。",
                     className="small text-muted mt-1") if listed["count"] > GRID_LIMIT else None]),
        dbc.Row([
            dbc.Col(C.card("答复与办理期限", C.graph(replies_figure(ctx.ind.replies(scope)), "fig-unit-replies")), lg=7),
            dbc.Col(C.card(f"未报送件 ({len(unreported)})", html.Ul([
                html.Li([C.suggestion_link(ctx, r["session"], r["number"]), " ", html.Span(r.get("title") or "", className="text-literal"),
                         " ", C.mark("! 未报送", "yellow")]) for r in unreported
            ], className="attention-list") if unreported else C.empty("无未报送件"), id="unit-unreported"), lg=5),
        ], className="g-3"),
        C.card("考核得分 (逐项说明)", _ranking_block(ctx, unit)),
        C.chase_section(ctx, chases, None, unit),
        C.interview_section(ctx, appstate.interviews(ctx.home, unit=unit), None, unit),
        upload_section(ctx, unit),
    ])


def directory_line(ctx: C.ViewContext, unit: str) -> html.Div | None:
    """The unit's entry in the unit directory: personal data, supervisors only."""
    if not getattr(ctx.viewer, "can_see_contacts", False):
        return None
    entry = C.unit_directory(ctx).get(unit)
    if entry is None:
        return html.Div("单位通讯录中没有该单位 (督办人员可在 数据状态 页上传单位通讯录)。", className="small text-muted mb-2",
                        id="unit-directory")
    target = ctx.settings.notify.target(entry["push_target"])
    return html.Div([
        "单位通讯录: 联络员 ", html.Span(entry["liaison"] or "—", className="text-literal"),
        "   ·   联系电话 ", html.Span(entry["phone"] or "—", className="text-literal"),
        f"   ·   提醒推送到 {target_label(target) if target else '未设置'}",
    ], className="mb-2", id="unit-directory")


def followup_line(m: dict) -> html.Div:
    """跟踪落实 of the unit's lead assignments: the 双测评's other ratings, its 重办, its promises."""
    rehandling, promises = m["rehandling"], m["promises"]
    return html.Div([
        f"办理工作满意率 {format_rate(m.get('work_satisfied_rate'))} (已测评 {C.count(m.get('work_evaluated'))} 件)",
        f"   ·   落实满意率 {format_rate(m.get('implementation_satisfied_rate'))} (已测评 {C.count(m.get('implementation_evaluated'))} 件)",
        "   ·   重办: ",
        C.mark(f"⚠ 重办逾期 {rehandling['overdue']} 件 ", "red") if rehandling["overdue"] else None,
        f"重办中 {rehandling['in_progress']}, 已重新答复 {rehandling['replied']}, 转为满意 {rehandling['turned_satisfied']}",
        f"   ·   B类承诺: 到期 {promises['due']}, 未兑现 {promises['broken']}, 逾期兑现 {promises['kept_late']}",
    ], className="mb-3 small", id="unit-followup")


def upload_section(ctx: C.ViewContext, unit: str):
    """The unit's own upload of its 办理情况 export (unit accounts on their page; supervisors)."""
    if getattr(ctx.viewer, "role", None) not in ("unit", "supervisor"):
        return None
    limit = ctx.settings.max_file_mb
    return C.card("报送办理情况 (上传文件)", [
        C.upload_box("unit-upload", ctx.settings),
        html.Div(f"xlsx / xls / csv, 不超过 {limit:g} MB; 单位账号只能报送本单位 ({unit}) 的文件。文件在下次刷新时载入, "
                 "结果见 数据状态 页。", className="small text-muted mt-1"),
        html.Div(id="unit-upload-message", className="mt-2"),
    ], id="unit-upload-card")


def receive_upload(board, contents: str | None, filename: str | None, viewer) -> dbc.Alert:
    """Archive an uploaded file for the viewer's unit (audited); the answer says what happened."""

    ctx = board.context("/data", "", viewer)
    data = C.uploaded_bytes(contents)
    if data is None:
        return dbc.Alert("上传的内容无法读取, 请重新选择文件。", color="warning")
    try:
        entry = provenance.receive_upload(
            provenance.archive_of_version(ctx.version), data, filename or "", ctx.settings, read_unit_aliases(ctx.home),
            ctx.ind.available_filters()["units"], viewer.username, viewer.role, ctx.restrict_unit)
    except provenance.ProvenanceError as exc:
        auth.audit("上传文件被拒", f"{filename}: {exc}")
        return dbc.Alert(str(exc), color="warning")
    auth.audit("上传文件", f"{entry.original_name} ({entry.sha256[:12]}, {len(data)} 字节)")
    return dbc.Alert(f"已收到《{entry.original_name}》, 将在下次刷新时载入。", color="success")


def register(app, board) -> None:
    C.register_upload(app, "unit-upload", "unit-upload-message",
                      lambda contents, filename: receive_upload(board, contents, filename, auth.required_viewer()))


def _ranking_block(ctx: C.ViewContext, unit: str):
    entry = next((e for e in C.ranking(ctx) if e["unit"] == unit), None)
    if entry is None:
        return C.empty("暂无考核数据")
    return html.Div([html.Div(entry.get("reason") or "", className="mb-2", id="unit-rank-summary"),
                     C.aspect_grid(ctx, [entry], "grid-unit-rank")])


def _unit_context(board, pathname: str, search: str, viewer) -> tuple[C.ViewContext, str]:
    """The view's context and its unit; a unit account gets nothing of another unit."""
    unit = D.path_unit(pathname)
    ctx = board.context(pathname, search, viewer)
    if not unit or (ctx.restrict_unit and unit != ctx.restrict_unit):
        raise PermissionError("本账号只能导出本单位的数据")
    return ctx, unit


def assignments_bytes(board, pathname: str, search: str, viewer) -> tuple[bytes, str]:
    """承办清单 (Excel): the unit's assignments and figures under the view's filters."""
    ctx, unit = _unit_context(board, pathname, search, viewer)
    return unit_assignments(ctx.ind, ctx.scope(), unit), f"承办清单_{unit}_{ctx.as_of.isoformat()}.xlsx"


def template_bytes(board, pathname: str, search: str, viewer) -> tuple[bytes, str]:
    """The unit's pre-filled 填报模板 for the view's year (Excel)."""
    ctx, unit = _unit_context(board, pathname, search, viewer)
    # A session filter names the year through the session; with neither, the as-of date's year.
    year = ctx.year or next((s["year"] for s in ctx.filters.get("sessions") or [] if s["session"] == ctx.state.session), ctx.as_of.year)
    data = D.written_bytes(lambda out: write_template(ctx.ind, unit, year, out, as_of=ctx.as_of), ".xlsx")
    return data, f"填报模板_{unit}_{year}年.xlsx"


DOWNLOADS = [
    D.Download("download-unit-assignments", "导出承办清单 (Excel)", "导出承办清单", assignments_bytes),
    D.Download("download-template", "下载填报模板", "下载填报模板", template_bytes),
]
PAGE = Page("unit", "/units/<unit>", layout, downloads=tuple(DOWNLOADS), callbacks=register)

"""承办单位 `/units`: the ranking with each unit's reasons aspect by aspect, workload tier,
red/yellow marks, and the 红榜/黑榜 (top and bottom five)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashboard import components as C
from dashboard import downloads as D
from dashboard.registry import Page
from dashboard.urlstate import unit_path
from exports.xlsx import as_rows
from warehouse.formatting import format_date, format_rate
from exports.xlsx import ranking_export
from warehouse.ranking import split_ranking

BOARD_SIZE = 5


def unit_marks(row: dict) -> str:
    """Red: the unit has overdue items; yellow: items due soon or not reported. Text, not colour."""
    marks = []
    if (row.get("overdue") or 0) > 0:
        marks.append(f"⚠ 红: 逾期 {row['overdue']} 件")
    if (row.get("due_soon") or 0) > 0:
        marks.append(f"△ 黄: 临期 {row['due_soon']} 件")
    if (row.get("unreported") or 0) > 0:
        marks.append(f"! 黄: 未报送 {row['unreported']} 件")
    return "; ".join(marks)


def board(ctx: C.ViewContext, title: str, entries: list[dict], level: str, board_id: str) -> dbc.Card:
    if not entries:
        return C.card(title, C.empty())
    icon = "▲" if level == "green" else "▼"
    items = [
        html.Li([html.Strong(f"第{e.get('rank')}名 "), C.unit_link(ctx, e["unit"]), " ",
                 C.mark(f"{icon} {e.get('total', 0):.1f} 分", level), html.Div(e.get("reason") or "", className="small text-muted")])
        for e in entries
    ]
    return C.card(title, html.Ol(items, className="list-unstyled mb-0"), id=board_id)


def boards(ctx: C.ViewContext, ranked: list[dict]):
    """红榜/黑榜: the top and bottom five, never overlapping (few units: half each)."""
    n = min(BOARD_SIZE, len(ranked) // 2)
    if n == 0:
        return None
    return dbc.Row([
        dbc.Col(board(ctx, f"红榜 (前{n}名)", ranked[:n], "green", "board-top"), md=6),
        dbc.Col(board(ctx, f"黑榜 (后{n}名)", list(reversed(ranked[-n:])), "red", "board-bottom"), md=6),
    ], className="g-3")


def layout(ctx: C.ViewContext):
    scope = ctx.scope()
    table = {r["unit"]: r for r in as_rows(ctx.ind.unit_table(scope))}
    every = C.ranking(ctx)
    ranked, _ = split_ranking(every)
    rows = []
    for e in every or [{"unit": u} for u in table]:
        t = table.get(e["unit"], {})
        rows.append({
            "rank": e.get("rank"),
            "unit": e["unit"],
            "unit_href": ctx.link(unit_path(e["unit"])),
            "tier": (f"{e['tier']} (档内第{e.get('tier_rank')}/{e.get('tier_size')})" if e.get("tier")
                     else "不参加排名 (无主办件)" if e.get("ranked") is False else ""),
            "score": round(e["total"], 2) if e.get("total") is not None else None,
            "marks": unit_marks(t),
            "lead": t.get("lead_assignments"),
            "co": t.get("co_assignments"),
            "completed": t.get("completed"),
            "overdue": t.get("overdue"),
            "on_time_rate": format_rate(t.get("on_time_rate")),
            "satisfied_rate": format_rate(t.get("satisfied_rate")),
            "unreported": t.get("unreported"),
            "last_report": format_date(t.get("last_report_date")),
            "reasons": e.get("reason") or "",
        })
    columns = [
        {"field": "rank", "headerName": "名次", "maxWidth": 80},
        C.link_column("unit", "承办单位", "unit_href", minWidth=160),
        {"field": "tier", "headerName": "工作量档次", "maxWidth": 110},
        {"field": "score", "headerName": "考核得分", "maxWidth": 100},
        # beside the score, not after eight count columns: visible without scrolling at 1600 px
        {"field": "reasons", "headerName": "得分概要 (逐项说明见下)", "wrapText": True, "autoHeight": True, "minWidth": 300},
        {"field": "marks", "headerName": "提示", "cellRenderer": "DubanMark", "minWidth": 160},
        {"field": "lead", "headerName": "主办件", "maxWidth": 90},
        {"field": "co", "headerName": "协办件", "maxWidth": 90},
        {"field": "completed", "headerName": "已办结", "maxWidth": 90},
        {"field": "overdue", "headerName": "逾期", "maxWidth": 80},
        {"field": "on_time_rate", "headerName": "按时办结率", "maxWidth": 110},
        {"field": "satisfied_rate", "headerName": "满意率", "maxWidth": 100},
        {"field": "unreported", "headerName": "未报送", "maxWidth": 90},
        {"field": "last_report", "headerName": "最近报送", "maxWidth": 120},
    ]
    return html.Div([
        C.view_meta(ctx, f"承办单位考核排名 ({ctx.year or '—'}年), 逐项说明得分理由"),
        html.P("各项比率按样本量向全市平均值收缩, 件数少的单位不会因偶然居首或垫底 (收缩强度和工作量档次由系统管理员在设置中调整); 另列工作量档次与档内名次。提示栏: ⚠ 红 = 有逾期件, △/! 黄 = 有临期或未报送件。", className="small text-muted"),
        boards(ctx, ranked),
        C.card("排名", [html.Div(D.button(DOWNLOADS[0], ctx), className="mb-2 no-print") if ranked else None,
                        C.grid("grid-units", rows, columns, height=560)]),
        C.card("逐项得分说明 (可在“承办单位”列筛选某一单位)", C.aspect_grid(ctx, every) if every else C.empty("暂无考核数据")),
    ])


def ranking_bytes(board, pathname: str, search: str, viewer) -> tuple[bytes, str]:
    """考核排名 (Excel) of the view's year; a unit account's file has its own line only."""
    ctx = board.context(pathname, search, viewer)
    if ctx.year is None:
        raise PermissionError("没有可排名的年度")
    data = ranking_export(ctx.ind, ctx.scope())
    return data, f"考核排名_{ctx.year}年_{ctx.as_of.isoformat()}.xlsx"


DOWNLOADS = [D.Download("download-ranking", "导出考核排名 (Excel)", "导出考核排名", ranking_bytes)]
PAGE = Page("units", "/units", layout, nav_label="承办单位", downloads=tuple(DOWNLOADS), warm=True)

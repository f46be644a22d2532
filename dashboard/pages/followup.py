"""跟踪督办 `/followup` (回头看): the B promises followed across years — each judged by the date it
was first promised, its later revisions listed — the 不满意件 in 重办 and the 双测评's two other
ratings; the 跟踪督办清单 download (Excel). Every count is a field of the indicator layer's results."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashboard import components as C
from dashboard import downloads as D
from dashboard.registry import Page
from exports.followup import followup_workbook
from exports.xlsx import as_rows
from warehouse.formatting import format_date

PROMISE_MARKS = {"未兑现": "⚠ 未兑现", "逾期兑现": "△ 逾期兑现", "未到期": "未到期", "已兑现": "✓ 已兑现"}
REHANDLE_MARKS = {"重办逾期": "⚠ 重办逾期", "重办中": "△ 重办中", "已重新答复": "已重新答复", "转为满意": "✓ 转为满意"}
GRID_LIMIT = 1000  # rows sent to the browser; the download has all

PROMISE_COLUMNS = [
    C.link_column("number", "建议", "href", minWidth=150),
    {"field": "title", "headerName": "标题", "minWidth": 220},
    {"field": "unit", "headerName": "承办单位", "minWidth": 130},
    {"field": "promise_date", "headerName": "承诺时限 (首次报送)", "minWidth": 150},
    {"field": "status", "headerName": "状态", "cellRenderer": "DubanMark", "minWidth": 120},
    {"field": "revisions", "headerName": "时限变更 (报送日期: 新时限)", "minWidth": 200},
    {"field": "carried", "headerName": "往年结转", "maxWidth": 100},
]

REHANDLE_COLUMNS = [
    C.link_column("number", "建议", "href", minWidth=150),
    {"field": "title", "headerName": "标题", "minWidth": 220},
    {"field": "unit", "headerName": "承办单位", "minWidth": 130},
    {"field": "state", "headerName": "重办状态", "cellRenderer": "DubanMark", "minWidth": 130},
    {"field": "unsatisfied_date", "headerName": "不满意测评", "maxWidth": 130},
    {"field": "due_date", "headerName": "重办期限", "maxWidth": 130},
    {"field": "rereply_date", "headerName": "重新答复", "maxWidth": 130},
]


def promise_rows(ctx: C.ViewContext, rows: list[dict]) -> list[dict]:
    return [{
        **C.suggestion_cells(ctx, r),
        "unit": r.get("unit") or "",
        "promise_date": format_date(r.get("promise_date")),
        "status": PROMISE_MARKS.get(r.get("promise_status") or "", r.get("promise_status") or "—")
        + (f" {r['days_past']} 天" if r.get("days_past") else ""),
        "revisions": "；".join(f"{format_date(v['report_date'])}: {format_date(v['date'])}" for v in r.get("revisions") or []),
        "carried": "往年结转" if r.get("carried_over") else "",
    } for r in rows]


def rehandle_rows(ctx: C.ViewContext, rows: list[dict]) -> list[dict]:
    return [{
        **C.suggestion_cells(ctx, r),
        "unit": r.get("unit") or "",
        "state": REHANDLE_MARKS.get(r.get("state") or "", r.get("state") or "—")
        + (f" {r['days_overdue']} 天" if r.get("days_overdue") else ""),
        "unsatisfied_date": format_date(r.get("unsatisfied_date")),
        "due_date": format_date(r.get("due_date")),
        "rereply_date": format_date(r.get("rereply_date")),
    } for r in rows]


def rating_cards(m: dict) -> dbc.Row:
    """双测评: the rates of the three ratings, each with how many were rated and 不满意."""
    cards = (("result", "答复 (办理结果) 满意率", "satisfaction", "evaluated"),
             ("work", "办理工作满意率", "work_satisfaction", "work_evaluated"),
             ("implementation", "落实满意率", "implementation_satisfaction", "implementation_evaluated"))
    return dbc.Row([dbc.Col(C.kpi_card(
        f"rating-{name}", label + (" (首页采用)" if m.get("headline_rating") == name else ""),
        C.rate(m.get(f"{name}_satisfied_rate")),
        note=f"已测评 {C.count(m.get(evaluated))} 件 · 不满意 {C.count((m.get(counts) or {}).get('不满意'))} 件"), md=4)
        for name, label, counts, evaluated in cards], className="g-3 mb-3", id="followup-ratings")


def layout(ctx: C.ViewContext, *_):
    scope = ctx.scope()
    m = ctx.ind.metrics(scope)
    promises, rehandling = m["promises"], m["rehandling"]
    promised = as_rows(ctx.ind.followup_list(scope))
    rehandled = as_rows(ctx.ind.rehandle_list(scope))
    return html.Div([
        C.view_meta(ctx, "跟踪督办清单 (回头看): 承诺事项跨年度跟踪, 不满意件重办, 双测评"),
        dbc.Row([
            dbc.Col(C.kpi_card("promise-broken", "承诺到期未兑现", C.count(promises["broken"]),
                               note=f"到期 {C.count(promises['due'])} 件 · 按时兑现 {C.count(promises['kept'])} · 逾期兑现 {C.count(promises['kept_late'])}"), md=4),
            dbc.Col(C.kpi_card("promise-revised", "承诺时限有变更", C.count(promises["revised"]),
                               note="仍按首次报送的时限判断"), md=4),
            dbc.Col(C.kpi_card("rehandle-overdue", "重办逾期", C.count(rehandling["overdue"]),
                               note=f"重办中 {C.count(rehandling['in_progress'])} · 已重新答复 {C.count(rehandling['replied'])} · 转为满意 {C.count(rehandling['turned_satisfied'])} (共启动 {C.count(rehandling['opened'])} 次)"), md=4),
        ], className="g-3 mb-3"),
        rating_cards(m),
        html.Div(D.button(DOWNLOADS[0], ctx, color="primary"), className="mb-2 no-print"),
        C.card("承诺事项 (本年度全部, 及往年未兑现的)", C.grid("grid-followup-promises", promise_rows(ctx, promised[:GRID_LIMIT]),
                                                      PROMISE_COLUMNS, height=420) if promised else C.empty("所选范围内没有 B类承诺。"),
               id="followup-promises"),
        C.card(f"不满意件重办 (重办期限: 测评后 {ctx.settings.followup.rehandle_days} 天)",
               C.grid("grid-followup-rehandle", rehandle_rows(ctx, rehandled[:GRID_LIMIT]), REHANDLE_COLUMNS, height=360)
               if rehandled else C.empty("所选范围内没有测评为不满意的件。"), id="followup-rehandle"),
    ])


def followup_bytes(board, search: str, viewer) -> tuple[bytes, str]:
    ctx = board.context("/followup", search, viewer)
    return followup_workbook(ctx.ind, ctx.scope()), f"跟踪督办清单_{ctx.as_of.isoformat()}.xlsx"


DOWNLOADS = [D.Download("download-followup", "下载跟踪督办清单 (Excel)", "导出跟踪督办清单",
                        lambda board, _path, search, viewer: followup_bytes(board, search, viewer))]
PAGE = Page("followup", "/followup", layout, nav_label="跟踪督办", downloads=tuple(DOWNLOADS), warm=True)

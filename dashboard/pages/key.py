"""重点督办 `/key`: the key supervised suggestions — per leader (督办领导) and per 联系委室 how many,
done and late, then every item in one grid (sort and filter by leader, committee, status) with its
progress (交办 → 面商 → 答复 → 测评), units, deadline and evaluation."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashboard import components as C
from dashboard.registry import Page
from exports.xlsx import as_rows
from warehouse.formatting import format_date
from warehouse.results import KeyProject, KeySummary

NO_LEADER = "未注明督办领导"
NO_COMMITTEE = "未注明联系委室"
# Rows sent to the grid (a province has ~2,500 key items a year): the lagging first; the summaries
# above count all of them, a year, session or category filter narrows the list.
GRID_LIMIT = 1000
_LAGGING_FIRST = {"逾期": 0, "临期": 1, "在办": 2}


def grid_order(rows: list[dict]) -> list[dict]:
    """逾期 (longest overdue first), 临期, 在办, then 已办结; otherwise in key_items' order (by leader)."""
    return sorted(rows, key=lambda r: (_LAGGING_FIRST.get(r.get("status") or "", 3), -(r.get("days_overdue") or 0)))

COLUMNS = [
    {"field": "leader", "headerName": "督办领导", "maxWidth": 130},
    C.link_column("number", "建议", "href", minWidth=150),
    {"field": "title", "headerName": "标题", "minWidth": 240},
    {"field": "committee", "headerName": "联系委室", "maxWidth": 150},
    {"field": "lead_units", "headerName": "主办单位", "minWidth": 140},
    {"field": "co_units", "headerName": "协办单位", "minWidth": 120},
    {"field": "deadline", "headerName": "办理期限", "maxWidth": 120},
    {"field": "progress", "headerName": "进度 (交办→面商→答复→测评)", "minWidth": 200},
    {"field": "state", "headerName": "状态", "cellRenderer": "DubanMark", "minWidth": 140},
    {"field": "evaluation", "headerName": "代表评价", "maxWidth": 110},
]


def progress_text(stages: list[dict]) -> str:
    """交办 ✓ · 面商 ✓ · 答复 · 测评: a done step carries ✓ (text, not only colour)."""
    return " · ".join(s["stage"] + (" ✓" if s.get("done") else "") for s in stages)


def grid_rows(ctx: C.ViewContext, rows: list[dict]) -> list[dict]:
    return [{
        **C.suggestion_cells(ctx, r),
        "leader": r.get("key_leader") or NO_LEADER,
        "committee": r.get("key_committee") or "—",
        "lead_units": r.get("lead_units") or "—",
        "co_units": r.get("co_units") or "—",
        "deadline": format_date(r.get("deadline")),
        "progress": progress_text(r.get("stages") or []),
        "state": C.deadline_text(r),
        "evaluation": r.get("evaluation") or "未测评",
    } for r in rows]


def layout(ctx: C.ViewContext, *_):
    rows = as_rows(ctx.ind.key_items(ctx.scope()))
    summary = ctx.ind.key_summary(ctx.scope())
    m = ctx.ind.metrics(ctx.scope(key_only=True))
    cards = dbc.Row([
        dbc.Col(C.kpi_card("key-total", "重点督办件", C.count(m.get("total"))), md=3),
        dbc.Col(C.kpi_card("key-completed", "已办结", C.count(m.get("completed")), note=f"办结率 {C.rate(m.get('completion_rate'))}"), md=3),
        dbc.Col(C.kpi_card("key-overdue", "逾期", C.count(m.get("overdue")), note=f"临期 {C.count(m.get('due_soon'))} 件"), md=3),
        dbc.Col(C.kpi_card("key-satisfied", "满意率 (含基本满意)", C.rate(m.get("satisfied_rate")), note=f"已测评 {C.count(m.get('evaluated'))} 件"), md=3),
    ], className="g-3 mb-3")
    if not rows:
        return html.Div([C.view_meta(ctx, "重点督办件"), cards, C.empty("所选范围内没有重点督办件。")])
    # key_items come ordered by leader (no leader last), then year and number
    return html.Div([
        C.view_meta(ctx, "重点督办件: 按督办领导与联系委室, 逐件进度 (交办 → 面商 → 答复 → 测评)"), cards,
        project_summary(ctx.ind.key_projects(ctx.scope())),
        dbc.Row([dbc.Col(leader_summary(ctx.ind.key_leaders(ctx.scope())), lg=6), dbc.Col(committee_summary(summary), lg=6)],
                className="g-3"),
        C.card(f"重点督办件 ({summary.total} 件, 可按督办领导、联系委室、状态排序筛选)", [
            C.grid("grid-key-items", grid_rows(ctx, grid_order(rows)[:GRID_LIMIT]), COLUMNS, height=560),
            html.Div(f"表中只列出 {GRID_LIMIT} 件 (逾期、临期、在办优先); 请选择年度、会次或类别缩小范围。",
                     className="small text-muted mt-1") if summary.total > GRID_LIMIT else None]),
    ], id="key-items")


def leader_summary(leaders: list[dict]) -> dbc.Card:
    """Per 督办领导 (Indicators.key_leaders, as on 会议大屏): how many items, done, late."""
    items = [html.Li([f"督办领导: {r['key_leader'] or NO_LEADER} — {r['total']} 件, 已办结 {r['completed']} 件",
                      *([", ", C.mark(f"⚠ 逾期 {r['overdue']} 件", "red")] if r["overdue"] else [])]) for r in leaders]
    return C.card("按督办领导", html.Ul(items, className="attention-list mb-0", id="key-leaders"))


def project_summary(projects: list[KeyProject]) -> dbc.Card | None:
    """重点督办项目 (Indicators.key_projects, in leader order): each project's leader, lead unit and
    its items' progress; nothing when the register names no project (the per-item view stays)."""
    if not projects:
        return None
    head = html.Thead(html.Tr([html.Th(h) for h in ("督办项目", "督办领导", "牵头单位", "件数", "已办结", "逾期")]))
    body = [html.Tr([html.Td(p.project, className="text-literal"), html.Td(p.leader or NO_LEADER),
                     html.Td(p.lead_unit or "—"), html.Td(p.total), html.Td(p.completed),
                     html.Td([C.mark(f"⚠ {p.overdue}", "red")] if p.overdue else "0")]) for p in projects]
    return C.card("重点督办项目 (按督办领导排序)", dbc.Table([head, html.Tbody(body)], size="sm", bordered=True),
                  id="key-projects")


def committee_summary(summary: KeySummary) -> dbc.Card:
    """Per 联系委室 (Indicators.key_summary): how many items it follows, done, late, and their leaders."""
    named = sorted(((c.committee or NO_COMMITTEE, c) for c in summary.committees), key=lambda named_c: named_c[0])
    body = [html.Tr([html.Td(name), html.Td(c.total), html.Td(c.completed),
                     html.Td([C.mark(f"⚠ {c.overdue}", "red")] if c.overdue else "0"),
                     html.Td(", ".join(leader or "—" for leader in c.leaders))])  # in leader order
            for name, c in named]
    head = html.Thead(html.Tr([html.Th(h) for h in ("联系委室", "件数", "已办结", "逾期", "督办领导")]))
    return C.card("按联系委室", dbc.Table([head, html.Tbody(body)], size="sm", bordered=True, id="key-committees"))


PAGE = Page("key", "/key", layout, nav_label="重点督办", warm=True)

"""重点督办 `/key`: the key supervised suggestions by leader (督办领导) and 联系委室, each with its
progress (交办 → 面商 → 答复 → 测评), units, deadline and evaluation."""

from __future__ import annotations

from itertools import groupby

import dash_bootstrap_components as dbc
from dash import html

from dashboard import components as C
from exports.xlsx import as_rows
from warehouse.formatting import format_date


def progress(stages: list[dict]) -> html.Div:
    """Stages as labelled steps; a done step shows ✓ (text, not only colour)."""
    return html.Div([html.Span(s["stage"], className="step" + (" done" if s.get("done") else "")) for s in stages], className="progress-steps")


def item_row(ctx: C.ViewContext, r: dict) -> html.Tr:
    state = C.deadline_mark(r)
    return html.Tr([
        html.Td(C.suggestion_link(ctx, r["session"], r["number"], f"第{r['number']}号")),
        html.Td(r.get("title") or "", className="text-literal"),
        html.Td(r.get("key_committee") or "—"),
        html.Td(r.get("lead_units") or "—"),
        html.Td(r.get("co_units") or "—"),
        html.Td(format_date(r.get("deadline"))),
        html.Td(progress(r.get("stages") or [])),
        html.Td(state),
        html.Td(r.get("evaluation") or "未测评"),
    ])


# Rows per leader drawn as a table (thousands of rows would take seconds to build and to draw);
# the counts above cover all of them, a year or session filter narrows the list.
SECTION_LIMIT = 30

HEADER = html.Thead(html.Tr([html.Th(h) for h in ("编号", "标题", "联系委室", "主办单位", "协办单位", "办理期限", "进度", "状态", "代表评价")]))


def layout(ctx: C.ViewContext, *_):
    rows = as_rows(ctx.ind.key_items(ctx.scope()))
    m = ctx.ind.metrics(ctx.scope(key_only=True))
    cards = dbc.Row([
        dbc.Col(C.kpi_card("key-total", "重点督办件", C.count(m.get("total"))), md=3),
        dbc.Col(C.kpi_card("key-completed", "已办结", C.count(m.get("completed")), note=f"办结率 {C.rate(m.get('completion_rate'))}"), md=3),
        dbc.Col(C.kpi_card("key-overdue", "逾期", C.count(m.get("overdue")), note=f"临期 {C.count(m.get('due_soon'))} 件"), md=3),
        dbc.Col(C.kpi_card("key-satisfied", "满意率 (含基本满意)", C.rate(m.get("satisfied_rate")), note=f"已测评 {C.count(m.get('evaluated'))} 件"), md=3),
    ], className="g-3 mb-3")
    if not rows:
        return html.Div([C.view_meta(ctx, "重点督办件"), cards, C.empty("所选范围内没有重点督办件。")])
    sections = []
    by_leader = sorted(rows, key=lambda r: (r.get("key_leader") or "~", r.get("key_committee") or "", r["number"]))
    for leader, group in groupby(by_leader, key=lambda r: r.get("key_leader") or "未注明督办领导"):
        group = list(group)
        done = sum(1 for r in group if r.get("status") == "已办结")
        late = sum(1 for r in group if r.get("status") == "逾期")
        title = f"督办领导: {leader} — {len(group)} 件, 已办结 {done} 件" + (f", ⚠ 逾期 {late} 件" if late else "")
        more = (html.Div(f"另有 {len(group) - SECTION_LIMIT} 件未列出, 请选择年度或届次缩小范围。", className="small text-muted")
                if len(group) > SECTION_LIMIT else None)
        sections.append(C.card(title, [dbc.Table([HEADER, html.Tbody([item_row(ctx, r) for r in group[:SECTION_LIMIT]])], bordered=False, hover=True,
                                                 responsive=True, size="sm"), more]))
    return html.Div([C.view_meta(ctx, "重点督办件: 按督办领导与联系委室, 逐件进度 (交办 → 面商 → 答复 → 测评)"), cards,
                     committee_summary(rows), *sections], id="key-items")


def committee_summary(rows: list[dict]) -> dbc.Card:
    """Per 联系委室: how many items it follows, done, late (counts of the rows shown below)."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r.get("key_committee") or "未注明联系委室", []).append(r)
    body = [html.Tr([html.Td(name), html.Td(len(g)), html.Td(sum(1 for r in g if r.get("status") == "已办结")),
                     html.Td([C.mark(f"⚠ {late}", "red")] if (late := sum(1 for r in g if r.get("status") == "逾期")) else "0"),
                     html.Td(", ".join(sorted({r.get("key_leader") or "—" for r in g})))]) for name, g in sorted(groups.items())]
    head = html.Thead(html.Tr([html.Th(h) for h in ("联系委室", "件数", "已办结", "逾期", "督办领导")]))
    return C.card("按联系委室", dbc.Table([head, html.Tbody(body)], size="sm", bordered=True, id="key-committees"))

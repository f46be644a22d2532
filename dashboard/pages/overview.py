"""总览 `/`: headline cards with 同比, completion curve against last year, categories (click →
category filter in the URL), status and result-class breakdown, and the 需关注 panel."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import html

from dashboard import components as C
from dashboard import downloads as D
from dashboard.charts import completion_curve_figure, curve_years, prefetch, yoy_note
from dashboard.registry import Page
from exports.xlsx import as_rows
from warehouse.formatting import format_rate
from exports.report import write_report

ATTENTION_LIMIT = 10
WEAKEST_LIMIT = 5


def headline_cards(ctx: C.ViewContext, m: dict, prev: dict | None) -> list:
    """The six headline cards; shared with /meeting (big=True there uses its own markup)."""
    p = prev or {}
    key = m.get("key_supervised") or {}
    pkey = p.get("key_supervised") or {}
    return [
        C.kpi_card("total", "建议总数", C.count(m.get("total")), C.delta_span(m.get("total"), p.get("total"), points=False)),
        C.kpi_card("completion_rate", "办结率", format_rate(m.get("completion_rate")), C.delta_span(m.get("completion_rate"), p.get("completion_rate")),
                   f"已办结 {C.count(m.get('completed'))} 件 / 在办 {C.count(m.get('in_progress'))} 件"),
        C.kpi_card("on_time_rate", "按时办结率", format_rate(m.get("on_time_rate")), C.delta_span(m.get("on_time_rate"), p.get("on_time_rate"))),
        C.kpi_card("satisfied_rate", "满意率 (含基本满意)", format_rate(m.get("satisfied_rate")), C.delta_span(m.get("satisfied_rate"), p.get("satisfied_rate")),
                   f"已测评 {C.count(m.get('evaluated'))} 件; 满意 {format_rate(m.get('fully_satisfied_rate'))}"),
        C.kpi_card("overdue", "逾期件", C.count(m.get("overdue")), C.delta_span(m.get("overdue"), p.get("overdue"), higher_is_better=False, points=False),
                   f"临期 {C.count(m.get('due_soon'))} 件"),
        C.kpi_card("key", "重点督办进度", f"{C.count(key.get('completed'))} / {C.count(key.get('total'))}",
                   C.delta_span(key.get("completed"), pkey.get("completed"), points=False),
                   f"已办结 / 总数; 逾期 {C.count(key.get('overdue'))} 件"),
    ]


def category_figure(m: dict, selected: str | None, dark: bool = False, height: int = 340) -> go.Figure:
    """Every category of ``m`` (metrics without the category filter): the selected one highlighted,
    the others dimmed but still there to click (a filtered chart would collapse to one bar)."""
    cats = list(reversed(m.get("by_category") or []))
    fig = C.figure(height=height, dark=dark)
    fig.add_trace(go.Bar(
        y=[(c["category"] or "未分类") + (" ✔" if selected and c["category"] == selected else "") for c in cats],
        x=[c["total"] for c in cats], orientation="h",
        customdata=[c["category"] for c in cats],
        text=[f"{c['total']} 件 ({format_rate(c.get('share'))})" for c in cats], textposition="auto",
        marker_color=["#d08c1f" if c["category"] == selected else "#7a1f1f" for c in cats],
        marker_opacity=[1.0 if not selected or c["category"] == selected else 0.35 for c in cats],
        hoverinfo="none",
    ))
    fig.update_layout(margin=dict(l=140, r=16, t=16, b=30), clickmode="event")
    return C.integer_axis(fig, [c["total"] for c in cats], "x")


def status_figure(m: dict, dark: bool = False) -> go.Figure:
    labels = ["已办结", "在办", "其中逾期", "其中临期"]
    values = [m.get("completed") or 0, m.get("in_progress") or 0, m.get("overdue") or 0, m.get("due_soon") or 0]
    fig = C.figure(height=260, dark=dark)
    fig.add_trace(go.Bar(x=labels, y=values, text=[f"{v} 件" for v in values], textposition="auto",
                         marker_color=["#1e7b34", "#5b7083", "#b42318", "#c99a00"], hoverinfo="skip"))
    return C.integer_axis(fig, values)


def class_figure(m: dict, dark: bool = False) -> go.Figure:
    counts = m.get("class_counts") or {}
    rates = m.get("class_rates") or {}
    names = {"A": "A类 已解决或基本解决", "B": "B类 正在解决/列入计划", "C": "C类 以后解决", "D": "D类 留作参考"}
    fig = C.figure(height=260, dark=dark)
    fig.add_trace(go.Bar(x=[names[k] for k in "ABCD"], y=[counts.get(k) or 0 for k in "ABCD"],
                         text=[f"{counts.get(k) or 0} 件 ({format_rate(rates.get(k))})" for k in "ABCD"],
                         textposition="auto", marker_color=["#1e7b34", "#2f6f9f", "#d08c1f", "#8c6d46"], hoverinfo="skip"))
    return C.integer_axis(fig, [counts.get(k) or 0 for k in "ABCD"])


def attention_panel(ctx: C.ViewContext, scope, *more: dbc.Col) -> dbc.Row:
    """The 需关注 lists (Indicators.attention), then ``more`` panels in the same row."""
    att = ctx.ind.attention(scope, ATTENTION_LIMIT)

    def items(part, render, more_href):
        if not part["count"]:
            return C.empty("无")
        lis = [html.Li(render(r)) for r in as_rows(part["rows"])]
        lis.append(html.Li(C.text_link(f"全部 {part['count']} 条 →", more_href)))  # the page with exactly these
        return html.Ul(lis, className="attention-list list-unstyled")

    def suggestion_item(r, tail):
        return [C.suggestion_link(ctx, r["session"], r["number"], f"第{r['number']}号"), " ", html.Span(r.get("title") or "", className="text-literal"), " ", tail]

    return dbc.Row([
        dbc.Col(C.card(f"逾期件 ({att['overdue']['count']})", items(att["overdue"], lambda r: suggestion_item(r, C.deadline_mark(r)), ctx.link("/overdue"))), md=3),
        dbc.Col(C.card(f"不满意件 ({att['unsatisfied']['count']})", items(att["unsatisfied"], lambda r: suggestion_item(r, C.mark("✗ 不满意", "red")), ctx.link("/overdue"))), md=3),
        dbc.Col(C.card(f"重点督办件滞后 ({att['key_lagging']['count']})", items(att["key_lagging"], lambda r: suggestion_item(r, C.deadline_mark(r)), ctx.link("/key"))), md=3),
        dbc.Col(C.card(f"未报送的单位 ({att['unreported']['count']})", items(att["unreported"], lambda r: [C.unit_link(ctx, r["unit"]), f" 未报送 {r['unreported']} 件 ", C.mark("! 未报送", "yellow")], ctx.link("/data", status="未报送"))), md=3),
        # open 重办 (重办逾期, 重办中), one line per unit rated 不满意; the whole list is on /overdue
        dbc.Col(C.card(f"不满意件待重办 ({att['rehandle']['count']} 件次; 测评后 {ctx.settings.followup.rehandle_days} 天内重新答复)",
                       items(att["rehandle"], lambda r: suggestion_item(r, html.Span([f"— {r['unit']} ", C.rehandle_mark(r)])), ctx.link("/overdue")),
                       id="attention-rehandle"), lg=6),
        *more,
    ], className="g-3", id="attention")


def weakest_units_panel(ctx: C.ViewContext) -> dbc.Card:
    """考核得分最低的单位: the ranking's last places (warehouse.ranking), each with its weakest aspect."""
    ranked = C.ranked_units(ctx)
    n = min(WEAKEST_LIMIT, len(ranked) // 2)  # never more than half: the bottom, not the list
    title = f"考核得分最低的单位 (后{n}名)" if n else "考核得分最低的单位"
    if not n:
        return C.card(title, C.empty("单位数量不足, 暂无排名"), id="weakest-units")
    items = [html.Li([html.Strong(f"第{e['rank']}名 "), C.unit_link(ctx, e["unit"]), " ",
                      C.mark(f"▼ {e['total']:.2f} 分", "red"),
                      html.Div(e.get("reason") or "", className="small text-muted")])
             for e in reversed(ranked[-n:])]
    return C.card(title, [html.Ol(items, className="list-unstyled mb-1"),
                          C.text_link(f"全部 {len(ranked)} 个单位的排名 →", ctx.link("/units"))], id="weakest-units")


def layout(ctx: C.ViewContext):
    scope = ctx.scope()
    prefetch(ctx, scope, ATTENTION_LIMIT)
    m = ctx.ind.metrics(scope)
    yoy = ctx.ind.yoy(scope)
    prev = (yoy or {}).get("previous")
    cards = headline_cards(ctx, m, prev)
    return html.Div([
        C.view_meta(ctx, "总览: 主要指标、同比、需关注事项"),
        # The 通报 is the standing committee's document on every unit: not for unit accounts.
        html.Div(D.button(DOWNLOADS[0], ctx, color="primary"), className="mb-2 no-print") if not ctx.restrict_unit else None,
        dbc.Row([dbc.Col(c, lg=2, md=4, sm=6) for c in cards], className="g-3 mb-1"),
        html.Div(yoy_note(yoy), className="small text-muted mb-3", id="yoy-note"),
        dbc.Row([
            dbc.Col(C.card("累计办结进度: 今年与上年同期", C.graph(completion_curve_figure(ctx, scope, years=curve_years(ctx, yoy), same_offset=True), "fig-curve")), lg=6),
            dbc.Col(C.card("类别分布 (点击类别即按该类别筛选全部页面, 再次点击取消)", C.graph(category_figure(ctx.ind.metrics(ctx.scope(category=None)) if ctx.state.category else m, ctx.state.category), {"type": "xfilter", "key": "category"})), lg=6),
        ], className="g-3"),
        dbc.Row([
            dbc.Col(C.card("办理状态", C.graph(status_figure(m), "fig-status")), lg=6),
            dbc.Col(C.card("答复分类 (已办结件)", C.graph(class_figure(m), "fig-class")), lg=6),
        ], className="g-3"),
        html.Div("需关注", className="section-title"),
        attention_panel(ctx, scope, *([] if ctx.restrict_unit else [dbc.Col(weakest_units_panel(ctx), lg=6)])),
    ])


def report_bytes(board, pathname: str, search: str, viewer) -> tuple[bytes, str]:
    """The 通报 (Word) for the view's year and filters, as of the view's date."""
    ctx = board.context(pathname, search, viewer)
    if ctx.restrict_unit:
        raise PermissionError("单位账号不能生成通报")
    scope = ctx.scope()
    data = D.written_bytes(lambda out: write_report(ctx.ind, scope, out), ".docx")
    year = ctx.year or (ctx.ind.yoy(scope) or {}).get("year") or ""
    return data, f"代表建议办理情况通报_{year}年_{ctx.as_of.isoformat()}.docx"


DOWNLOADS = [D.Download("download-report", "生成通报 (Word)", "生成通报", report_bytes)]
PAGE = Page("overview", "/", layout, nav_label="总览", downloads=tuple(DOWNLOADS), warm=True)

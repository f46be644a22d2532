"""年度趋势 `/trends`: every headline indicator across years, the category mix over years (click a
category → category filter in the URL), and the same-period comparison (cumulative completion by
day after 交办, every year on one axis)."""

from __future__ import annotations

import math
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import html

from dashboard import components as C
from dashboard.charts import completion_curve_figure
from dashboard.registry import Page
from exports.xlsx import as_rows
from warehouse.formatting import format_rate

RATES = [
    ("completion_rate", "办结率"),
    ("on_time_rate", "按时办结率"),
    ("face_rate", "面商率"),
    ("a_rate", "A类占比"),
    ("solved_rate", "解决率"),
    ("satisfied_rate", "满意率 (含基本满意)"),
    ("fully_satisfied_rate", "满意率 (满意)"),
    ("promise_kept_rate", "B类承诺兑现率"),
]


PANEL_COLUMNS = 4


def zoomed_range(values: list[float | None]) -> tuple[float, float]:
    """A rate axis fitted to its values (5-point steps, at least 10 points wide, within 0–100 %):
    a rate moving between 85 % and 95 % is not a flat line at the top of a 0–100 % axis."""
    shown = [v for v in values if v is not None] or [0.0, 1.0]
    low = max(0.0, math.floor((min(shown) - 0.02) * 20) / 20)
    high = min(1.0, math.ceil((max(shown) + 0.02) * 20) / 20)
    if high - low < 0.1:  # widen downward, or upward at the bottom of the scale
        low, high = (high - 0.1, high) if high >= 0.1 else (0.0, 0.1)
    return low, high


def rates_figure(years: list[dict]) -> go.Figure:
    """Small multiples: one panel per rate, each with its own axis range, stated in its title."""
    rows = -(-len(RATES) // PANEL_COLUMNS)
    x = [f"{y['year']}年" for y in years]
    ranges = [zoomed_range([y.get(key) for y in years]) for key, _ in RATES]
    fig = C.figure(height=190 * rows + 40, showlegend=False, margin={"l": 48, "r": 16, "t": 48, "b": 30})
    fig.set_subplots(rows=rows, cols=PANEL_COLUMNS, horizontal_spacing=0.06, vertical_spacing=0.22,
                     subplot_titles=[f"{label} (纵轴 {low:.0%}–{high:.0%})" for (_, label), (low, high) in zip(RATES, ranges)])
    for n, ((key, label), (low, high)) in enumerate(zip(RATES, ranges)):
        row, col = n // PANEL_COLUMNS + 1, n % PANEL_COLUMNS + 1
        values = [y.get(key) for y in years]
        # no value labels: at the top of a zoomed axis they ran into the panel's title (the table above has them)
        fig.add_trace(go.Scatter(x=x, y=values, name=label, mode="lines+markers", line=dict(color="#7a1f1f"),
                                 hovertemplate=f"{label} %{{x}}: %{{y:.2%}}<extra></extra>"),
                      row=row, col=col)
        fig.update_yaxes(range=[low, high], tickformat=".0%", nticks=4, rangemode="normal", row=row, col=col)
    fig.update_annotations(font_size=13)
    return fig


def counts_figure(years: list[dict]) -> go.Figure:
    fig = C.figure(height=320, barmode="group", xaxis_title="年度")
    x = [f"{y['year']}年" for y in years]
    for key, label, color in (("total", "建议总数", "#7a1f1f"), ("completed", "已办结", "#1e7b34"), ("overdue", "逾期", "#b42318"), ("unsatisfied", "不满意", "#d08c1f")):
        fig.add_trace(go.Bar(x=x, y=[y.get(key) for y in years], name=label, marker_color=color, text=[y.get(key) for y in years], textposition="outside", hoverinfo="skip"))
    return fig


def category_mix_figure(cats: list[dict], selected: str | None) -> go.Figure:
    fig = C.figure(height=380, barmode="stack", yaxis_tickformat=".0%", xaxis_title="年度")
    names = []
    for c in cats:
        if c["category"] not in names:
            names.append(c["category"])
    for name in names:
        pts = [c for c in cats if c["category"] == name]
        fig.add_trace(go.Bar(x=[f"{c['year']}年" for c in pts], y=[c["share"] for c in pts], name=name + (" ✔" if name == selected else ""),
                             customdata=[name] * len(pts), text=[f"{c['total']}" for c in pts], textposition="inside",
                             opacity=1.0 if not selected or name == selected else 0.35,
                             hovertemplate=f"{name} %{{x}}: %{{y:.2%}} (%{{text}} 件)<extra></extra>"))
    fig.update_layout(clickmode="event", legend=dict(orientation="h", y=-0.25))
    return fig


def table(years: list[dict]) -> dbc.Table:
    head = html.Thead(html.Tr([html.Th("指标"), *[html.Th(f"{y['year']}年") for y in years]]))
    body = [html.Tr([html.Td("建议总数"), *[html.Td(C.count(y.get("total"))) for y in years]]),
            html.Tr([html.Td("逾期"), *[html.Td(C.count(y.get("overdue"))) for y in years]])]
    body += [html.Tr([html.Td(label), *[html.Td(format_rate(y.get(key))) for y in years]]) for key, label in RATES]
    return dbc.Table([head, html.Tbody(body)], bordered=True, size="sm", responsive=True, id="trends-table")


def layout(ctx: C.ViewContext, *_):
    scope = ctx.scope(year=None, session=None)
    t = ctx.ind.trends(scope)
    years = as_rows(t.get("years"))
    # The mix shows every category (the selected one highlighted), not only the filtered one.
    cats = as_rows((ctx.ind.trends(ctx.scope(year=None, session=None, category=None)) if ctx.state.category else t).get("categories"))
    if not years:
        return html.Div([C.view_meta(ctx, "年度趋势"), C.empty()])
    all_years = [y["year"] for y in years]
    return html.Div([
        C.view_meta(ctx, "年度趋势: 各年度主要指标 (截至所选日期; 往年为年终数)"),
        C.card("各年度主要指标", table(years)),
        C.card("比率变化 (每项一图, 纵轴按该项数值放大, 范围写在图名中)", C.graph(rates_figure(years), "fig-trend-rates")),
        dbc.Row([
            dbc.Col(C.card("件数变化", C.graph(counts_figure(years), "fig-trend-counts")), lg=5),
            dbc.Col(C.card("类别构成 (点击类别即按该类别筛选, 再次点击取消)", C.graph(category_mix_figure(cats, ctx.state.category), {"type": "xfilter", "key": "category"})), lg=7),
        ], className="g-3"),
        C.card("同期比较: 交办后第N天的累计办结比例 (各年按截至所选日期已报送的全部数据)",
               C.graph(completion_curve_figure(ctx, scope, years=sorted(all_years, reverse=True)), "fig-same-period")),
    ])


PAGE = Page("trends", "/trends", layout, nav_label="年度趋势", warm=True)

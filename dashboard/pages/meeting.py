"""会议大屏 `/meeting`: full screen at 1920×1080, dark high-contrast theme, numbers readable from
five metres, panels rotating every settings.rotate_seconds (← → keys move, space pauses), and no
information that needs hovering (every figure carries its numbers as text; plots are static)."""

from __future__ import annotations


import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, dcc, html

from dashboard import components as C
from dashboard.charts import completion_curve_figure, curve_years, prefetch, yoy_note
from dashboard.registry import Page
from warehouse.formatting import format_count_delta, format_date, format_delta, format_rate_short

LIST_LIMIT = 8


def big_card(key: str, label: str, value: str, delta: str | None, good: bool | None) -> html.Div:
    cls = "delta-flat" if good is None else ("delta-good" if good else "delta-bad")
    return html.Div([
        html.Div(label, className="m-label"),
        html.Div(value, className="m-value", id=f"m-{key}"),
        html.Div(f"同比 {delta}" if delta else "同比 —", className=f"m-delta {cls}"),
    ], className="m-card")


def _direction(cur, prev, higher_is_better=True) -> bool | None:
    if cur is None or prev is None or cur == prev:
        return None
    return (cur > prev) == higher_is_better


def headline_panel(m: dict, p: dict) -> html.Div:
    key, pkey = m.get("key_supervised") or {}, p.get("key_supervised") or {}
    cards = [
        big_card("total", "建议总数", C.count(m.get("total")), format_count_delta(m.get("total"), p.get("total")) if p else None, None),
        big_card("completion_rate", "办结率", format_rate_short(m.get("completion_rate")), format_delta(m.get("completion_rate"), p.get("completion_rate")) if p else None,
                 _direction(m.get("completion_rate"), p.get("completion_rate"))),
        big_card("on_time_rate", "按时办结率", format_rate_short(m.get("on_time_rate")), format_delta(m.get("on_time_rate"), p.get("on_time_rate")) if p else None,
                 _direction(m.get("on_time_rate"), p.get("on_time_rate"))),
        big_card("satisfied_rate", "满意率", format_rate_short(m.get("satisfied_rate")), format_delta(m.get("satisfied_rate"), p.get("satisfied_rate")) if p else None,
                 _direction(m.get("satisfied_rate"), p.get("satisfied_rate"))),
        big_card("overdue", "逾期件", C.count(m.get("overdue")), format_count_delta(m.get("overdue"), p.get("overdue")) if p else None,
                 _direction(m.get("overdue"), p.get("overdue"), higher_is_better=False)),
        big_card("key", "重点督办 已办结/总数", f"{C.count(key.get('completed'))}/{C.count(key.get('total'))}",
                 format_count_delta(key.get("completed"), pkey.get("completed")) if p else None, _direction(key.get("completed"), pkey.get("completed"))),
    ]
    return html.Div([html.Div("主要指标", className="m-panel-title"),
                     dbc.Row([dbc.Col(c, width=4, className="mb-4") for c in cards], className="g-4")])


def curve_panel(ctx: C.ViewContext, scope, note: str, years: list[int]) -> html.Div:
    fig = completion_curve_figure(ctx, scope, dark=True, height=760, years=years, same_offset=True)
    fig.update_layout(legend=dict(font=dict(size=30), orientation="h", y=1.08), margin=dict(l=110, r=40, t=60, b=90))
    fig.update_xaxes(title_font_size=28, tickfont_size=24)
    fig.update_yaxes(title_font_size=28, tickfont_size=24)
    for trace in fig.data:  # the end value written on the line: nothing needs hovering
        if len(trace.x):
            trace.update(mode="lines+text", text=[""] * (len(trace.x) - 1) + [f"{trace.name} {trace.y[-1]:.1%}"], textposition="top left", textfont_size=30)
    return html.Div([html.Div("办结进度: 今年与上年同期", className="m-panel-title"), html.Div(note, className="meeting-meta mb-2"),
                     C.graph(fig, "m-fig-curve", static=True)])


def attention_panel(ctx: C.ViewContext, scope) -> html.Div:
    att = ctx.ind.attention(scope, LIST_LIMIT)
    units, unsatisfied = att["overdue_units"], att["unsatisfied"]
    left = html.Ul([html.Li([html.Span(r["unit"], className="text-literal"), "  ", html.Span(f"⚠ 逾期 {r['overdue']} 件", className="mark mark-red")]) for r in units["rows"]], className="m-list") if units["rows"] else html.Div("无逾期件 ✓", className="m-list")
    right = html.Ul([html.Li([f"第{r['number']}号 ", html.Span(r.get("title") or "", className="text-literal"), "  ", html.Span(f"✗ {r.get('unsatisfied_units') or ''}", className="mark mark-red")])
                     for r in unsatisfied["rows"]], className="m-list") if unsatisfied["rows"] else html.Div("无不满意件 ✓", className="m-list")
    return html.Div([
        html.Div("需关注", className="m-panel-title"),
        dbc.Row([
            dbc.Col([html.Div(f"逾期件最多的单位 (共 {units['count']} 件次)", className="m-label mb-2"), left], width=5),
            dbc.Col([html.Div(f"不满意件 (共 {unsatisfied['count']} 件)", className="m-label mb-2"), right], width=7),
        ]),
    ])


def units_panel(ctx: C.ViewContext) -> html.Div:
    ranked = C.ranked_units(ctx)
    if len(ranked) < 2:
        return html.Div([html.Div("承办单位考核", className="m-panel-title"), html.Div("数据不足, 暂无排名", className="m-list")])
    n = min(5, len(ranked) // 2)

    def lst(entries, icon, level):
        return html.Ul([html.Li([f"第{e['rank']}名  ", html.Span(e["unit"], className="text-literal"), "  ",
                                 html.Span(f"{icon} {e['total']:.1f} 分", className=f"mark mark-{level}")]) for e in entries], className="m-list")

    return html.Div([
        html.Div("承办单位考核", className="m-panel-title"),
        dbc.Row([
            dbc.Col([html.Div(f"▲ 红榜 (前{n}名)", className="m-label mb-2"), lst(ranked[:n], "▲", "green")], width=6),
            dbc.Col([html.Div(f"▼ 黑榜 (后{n}名)", className="m-label mb-2"), lst(list(reversed(ranked[-n:])), "▼", "red")], width=6),
        ]),
    ])


def _progress(total: int, completed: int, overdue: int) -> list:
    return [f":  {total} 件, 已办结 {completed} 件  ",
            html.Span(f"⚠ 逾期 {overdue} 件", className="mark mark-red") if overdue
            else html.Span("✓ 无逾期", className="mark mark-green")]


def key_panel(ctx: C.ViewContext, scope) -> html.Div:
    """重点督办: the register's 重点督办项目 with their items' progress, in leader order; without
    projects, the key items per 督办领导."""
    projects = ctx.ind.key_projects(scope)
    if projects:
        items = [html.Li([html.Span(p.project, className="text-literal"),
                          html.Span(f" ({p.leader or '未注明督办领导'} 督办, {p.lead_unit or '—'} 牵头)", className="text-literal"),
                          *_progress(p.total, p.completed, p.overdue)], id={"type": "m-project", "index": i})
                 for i, p in enumerate(projects)]
        return html.Div([html.Div(f"重点督办项目 ({len(projects)} 项, 按督办领导)", className="m-panel-title"),
                         html.Ul(items, className="m-list", id="m-key-projects")])
    items = [html.Li([html.Span(r["key_leader"] or "未注明", className="text-literal"), *_progress(r["total"], r["completed"], r["overdue"])])
             for r in ctx.ind.key_leaders(scope)]
    return html.Div([html.Div("重点督办件 (按督办领导)", className="m-panel-title"),
                     html.Ul(items, className="m-list") if items else html.Div("本年度无重点督办件", className="m-list")])


def layout(ctx: C.ViewContext, *_):
    scope = ctx.scope()
    prefetch(ctx, scope, LIST_LIMIT, ("key_leaders", (scope,)), ("key_projects", (scope,)))
    m = ctx.ind.metrics(scope)
    yoy = ctx.ind.yoy(scope)
    prev = (yoy or {}).get("previous") or {}
    panels = [headline_panel(m, prev), curve_panel(ctx, scope, yoy_note(yoy), curve_years(ctx, yoy)), attention_panel(ctx, scope), units_panel(ctx), key_panel(ctx, scope)]
    n = len(panels)
    refreshed = C._refreshed_text(ctx.refreshed_at)
    return html.Div([
        dbc.Row([
            dbc.Col(html.H1(f"{ctx.year or ''}年 代表建议办理情况" + (f" · {ctx.state.category}" if ctx.state.category else "")), width=7),
            dbc.Col(html.Div([html.Div(["数据截至 ", html.Strong(format_date(ctx.as_of, "cn"), id="meta-as-of")]),
                              html.Div(f"数据刷新于 {refreshed}")], className="meeting-meta text-end"), width=5),
        ], className="mb-2 align-items-center"),
        html.Div([html.Div(p, id={"type": "meeting-panel", "index": i}, style={"display": "block" if i == 0 else "none"}) for i, p in enumerate(panels)]),
        html.Div([
            html.Button("◀ 上一屏", id="meeting-prev", className="btn btn-outline-light me-2"),
            html.Button("❚❚ 暂停", id="meeting-pause", className="btn btn-outline-light me-2"),
            html.Button("下一屏 ▶", id="meeting-next", className="btn btn-outline-light me-3"),
            html.Span(f"第 1 / {n} 屏", id="meeting-position"),
            html.Span(f"   每 {ctx.settings.rotate_seconds} 秒自动切换; 键盘 ← → 翻屏, 空格暂停", className="ms-3"),
            dcc.Link("退出大屏", href=ctx.link("/"), className="ms-4 text-white-50"),
        ], className="m-controls mt-3"),
        dcc.Interval(id="meeting-interval", interval=ctx.settings.rotate_seconds * 1000),
        dcc.Store(id="meeting-state", data={"i": 0, "n": n, "paused": False}),
    ], className="meeting", id="meeting")


ROTATE_JS = """
function(nInterval, nPrev, nNext, nPause, state) {
    var s = Object.assign({i: 0, n: 1, paused: false}, state || {});
    var trig = (dash_clientside.callback_context.triggered || []).map(function (t) { return t.prop_id; })[0] || "";
    if (trig.indexOf("meeting-prev") === 0) { s.i = (s.i - 1 + s.n) % s.n; }
    else if (trig.indexOf("meeting-next") === 0) { s.i = (s.i + 1) % s.n; }
    else if (trig.indexOf("meeting-pause") === 0) { s.paused = !s.paused; }
    else if (trig.indexOf("meeting-interval") === 0 && !s.paused) { s.i = (s.i + 1) % s.n; }
    var styles = [];
    for (var k = 0; k < s.n; k++) { styles.push({display: k === s.i ? "block" : "none"}); }
    return [s, styles, s.paused ? "▶ 继续" : "❚❚ 暂停", "第 " + (s.i + 1) + " / " + s.n + " 屏" + (s.paused ? " (已暂停)" : "")];
}
"""


def register(app, board) -> None:
    # Rotation runs in the browser: no server round-trip per panel switch.
    app.clientside_callback(
        ROTATE_JS,
        Output("meeting-state", "data"),
        Output({"type": "meeting-panel", "index": ALL}, "style"),
        Output("meeting-pause", "children"),
        Output("meeting-position", "children"),
        Input("meeting-interval", "n_intervals"),
        Input("meeting-prev", "n_clicks"),
        Input("meeting-next", "n_clicks"),
        Input("meeting-pause", "n_clicks"),
        State("meeting-state", "data"),
        prevent_initial_call=True,
    )


PAGE = Page("meeting", "/meeting", layout, nav_label="会议大屏", callbacks=register, warm=True, full_screen=True)

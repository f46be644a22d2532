"""我的建议 `/my`: a deputy's own suggestions (those they lead or co-signed) and nothing else —
each one's progress (交办 → 面商 → 答复 → 测评), its units, deadlines and replies, on a phone — and
the lead deputy's online rating of each lead unit's reply (the congress's own evaluation: stored in
the app state, audited, loaded into the warehouse by the next refresh as 代表在线测评).

Only deputy accounts see this page (``roles``); a deputy sees no other page, callback or download
(dashboard/app.py, dashboard/downloads.py)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import MATCH, Input, Output, State, html, no_update
from dash import ctx as dash_ctx

from dashboard import auth
from dashboard import components as C
from dashboard.registry import Page
from duban.core import appstate
from duban.core.settings import REPLY_ASPECTS
from warehouse.formatting import format_date

STEPS = ("交办", "面商", "答复", "测评")
CLASS_NAMES = {"A": "A类 已解决或基本解决", "B": "B类 列入计划逐步解决", "C": "C类 因条件限制需以后解决", "D": "D类 留作参考"}


def progress(detail: dict) -> list[bool]:
    """Which of 交办 → 面商 → 答复 → 测评 a suggestion has reached (as the indicator layer has it)."""
    leads = [a for a in detail["assignments"] if a["is_lead"]]
    return [
        detail["state"] is not None,
        any(a.get("face_to_face") for a in leads),
        bool(leads) and all(a.get("reply_date") for a in leads),
        bool(leads) and all(a.get("evaluation") for a in leads),
    ]


def progress_bar(reached: list[bool]) -> html.Div:
    return html.Div([html.Span(step, className="duban-step" + (" done" if done else ""))
                     for step, done in zip(STEPS, reached)], className="duban-steps mb-2")


def aspect_parts(ctx: C.ViewContext) -> list[tuple[str, str]]:
    """The setting's two aspects, as shown, each with the part of a rating it fills: ``reply`` (the
    congress's 答复满意度: 办理结果 / 答复) or ``other`` (办理工作 / 落实)."""
    return [(aspect, "reply" if aspect in REPLY_ASPECTS else "other") for aspect in ctx.settings.rating_aspects]


def rating_form(ctx: C.ViewContext, sid: str, unit: str, mine: dict | None) -> html.Div:
    key = f"{sid}|{unit}"
    options = [{"label": v, "value": v} for v in appstate.RATING_VALUES]
    fields = [
        dbc.Col([dbc.Label(aspect, className="small mb-0"),
                 dbc.Select(id={"type": "rate-value", "key": key, "part": part}, options=options,
                            value=(mine or {}).get(f"{part}_rating"))],
                xs=6)
        for aspect, part in aspect_parts(ctx)
    ]
    said = (f"您已于 {mine['rated_at']:%Y-%m-%d} 测评: "
            + "; ".join(f"{aspect} {mine[f'{part}_rating']}" for aspect, part in aspect_parts(ctx))
            + " (可重新测评, 以最后一次为准)") if mine else "请对该单位的答复进行测评:"
    return html.Div([
        html.Div(said, className="small text-muted mb-1"),
        dbc.Row(fields, className="g-2"),
        dbc.Button("提交测评", id={"type": "rate-submit", "key": key}, size="sm", color="primary", className="mt-2"),
        html.Div(id={"type": "rate-message", "key": key}, className="mt-1"),
    ], className="duban-rating mt-2")


def unit_item(ctx: C.ViewContext, sid: str, a: dict, can_rate: bool, mine: dict | None) -> dbc.ListGroupItem:
    lines = [
        html.Div([html.Strong(a["unit"], className="text-literal"), html.Span(f" ({a['role']})", className="text-muted"),
                  html.Span(" ", className="me-1"), C.status_mark(a.get("status"))]),
    ]
    if not a.get("reply_date"):
        lines.append(html.Div(C.deadline_text(a), className="small"))
    if a.get("reply_date"):
        lines.append(html.Div(f"答复日期 {format_date(a['reply_date'])}; {CLASS_NAMES.get(a.get('result_class') or '', '未分类')}"
                              + ("; 已面商" if a.get("face_to_face") else ""), className="small"))
        if a.get("evaluation"):
            lines.append(html.Div(f"测评结果 {a['evaluation']} ({a.get('evaluation_source') or ''})", className="small"))
        if can_rate and a["is_lead"]:
            lines.append(rating_form(ctx, sid, a["unit"], mine))
    return dbc.ListGroupItem(lines)


def suggestion_card(ctx: C.ViewContext, detail: dict, deputy: str, ratings: dict) -> dbc.Card:
    s = detail["suggestion"]
    sid = s["suggestion_id"]
    leads = s.get("lead_deputy") == deputy
    head = html.Div([
        html.Div(f"{s.get('session')} 第{s.get('number')}号 · {'领衔' if leads else '附议'}", className="small text-muted"),
        html.H5(s.get("title") or "—", className="text-literal mb-1"),
        html.Div(f"交办日期 {format_date(s.get('assigned_date'))}; 办理期限 {format_date((detail['state'] or {}).get('deadline'))}",
                 className="small"),
    ])
    units = dbc.ListGroup([unit_item(ctx, sid, a, leads, ratings.get((sid, a["unit"]))) for a in detail["assignments"]],
                          flush=True)
    return dbc.Card(dbc.CardBody([head, progress_bar(progress(detail)), units]), className="mb-3 duban-my-card",
                    id=f"my-{sid}")


def latest_ratings(ctx: C.ViewContext, ids: list[str]) -> dict[tuple[str, str], dict]:
    """The newest online rating of each (suggestion, unit) among ``ids``."""
    return {(r["suggestion_id"], r["unit"]): r for r in appstate.online_ratings(ctx.home, ids)}


def layout(ctx: C.ViewContext, *_):
    deputy = getattr(ctx.viewer, "deputy", None)
    if not deputy:
        return C.empty("本页只供代表账号查看本人的建议。")
    ids = ctx.ind.deputy_suggestion_ids(deputy)
    details = [d for d in (ctx.ind.suggestion_detail(sid, ctx.as_of) for sid in ids) if d is not None]
    ratings = latest_ratings(ctx, ids)
    return html.Div([
        html.H3(f"{deputy} 代表的建议", className="mb-1"),
        html.P(f"共 {len(details)} 件 (领衔或附议), 数据截至 {format_date(ctx.as_of)}。在线测评提交后, 下次数据刷新时计入统计。",
               className="text-muted small"),
        *[suggestion_card(ctx, d, deputy, ratings) for d in details],
    ] if details else [html.H3(f"{deputy} 代表的建议"), C.empty("交办台账中没有您领衔或附议的建议。")], id="my-suggestions")


def rate(board, key: str | None, reply: str | None, other: str | None, viewer) -> dbc.Alert:
    """Store one rating from the form: only a deputy, only the lead deputy of the suggestion, only
    a lead unit that has replied (checked on the published version, whatever the request says)."""
    deputy = getattr(viewer, "deputy", None)
    sid, _, unit = (key or "").partition("|")
    if viewer.role != "deputy" or not deputy:
        return dbc.Alert("只有代表账号可以测评。", color="warning")
    ctx = board.context("/my", "", viewer)
    detail = ctx.ind.suggestion_detail(sid, ctx.as_of) if sid in ctx.ind.deputy_suggestion_ids(deputy) else None
    if detail is None or detail["suggestion"].get("lead_deputy") != deputy:
        return dbc.Alert("只能测评本人领衔的建议。", color="warning")
    replied = {a["unit"] for a in detail["assignments"] if a["is_lead"] and a.get("reply_date")}
    if unit not in replied:
        return dbc.Alert(f"{unit} 尚未答复该建议, 暂不能测评。", color="warning")
    other_aspect = next(aspect for aspect, part in aspect_parts(ctx) if part == "other")
    try:
        appstate.rate_reply(board.home, viewer.username, deputy, sid, unit, reply or "", other_aspect, other or "")
    except appstate.AppStateError as exc:
        return dbc.Alert(str(exc), color="warning")
    return dbc.Alert("测评已提交, 下次数据刷新后计入统计。", color="success")


def register(app, board) -> None:
    @app.callback(
        Output({"type": "rate-message", "key": MATCH}, "children"),
        Input({"type": "rate-submit", "key": MATCH}, "n_clicks"),
        State({"type": "rate-value", "key": MATCH, "part": "reply"}, "value"),
        State({"type": "rate-value", "key": MATCH, "part": "other"}, "value"),
        prevent_initial_call=True,
    )
    def _rate(n, reply, other):
        trigger = dash_ctx.triggered_id
        if not n or not isinstance(trigger, dict):
            return no_update
        return rate(board, trigger.get("key"), reply, other, auth.required_viewer())


PAGE = Page("mine", "/my", layout, nav_label="我的建议", callbacks=register, roles=("deputy",))

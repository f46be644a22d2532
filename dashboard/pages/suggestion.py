"""建议详情 `/suggestions/<session>/<number>`: register data, every unit's handling, the status
history (every export row dated <= T) and which file each fact came from, evaluations, 催办."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashboard import components as C
from dashboard.registry import Page
from duban.core import appstate
from warehouse.formatting import format_date

CLASS_NAMES = {"A": "A类 已解决或基本解决", "B": "B类 正在解决或列入计划逐步解决", "C": "C类 因条件限制需以后解决", "D": "D类 留作参考"}


def _yes_no(value) -> str:
    return "—" if value is None else ("是" if value else "否")


def register_table(s: dict, state: dict | None) -> dbc.Table:
    st = state or {}
    rows = [
        ("会次 / 编号", f"{s.get('session')} 第{s.get('number')}号 ({s.get('year')}年)"),
        ("类型", s.get("kind")),
        ("标题", s.get("title")),
        ("领衔代表", s.get("lead_deputy")),
        ("附议代表", s.get("cosigners") or (f"{s['cosigner_count']} 人" if s.get("cosigner_count") else None)),
        ("代表团", s.get("delegation")),
        ("类别", s.get("category")),
        ("形成来源", s.get("source")),
        ("提出日期", format_date(s.get("proposed_date"))),
        ("交办日期", format_date(s.get("assigned_date"))),
        ("台账办理期限", format_date(s.get("register_deadline"))),
        ("适用办理期限", format_date(st.get("deadline")) + (" (含延期)" if st.get("deadline") and st.get("base_deadline") and st["deadline"] != st["base_deadline"] else "")),
        ("重点督办", ("是" + (f", 督办领导 {s['key_leader']}" if s.get("key_leader") else "") + (f", 联系委室 {s['key_committee']}" if s.get("key_committee") else "")) if s.get("is_key") else "否"),
    ]
    return dbc.Table(html.Tbody([html.Tr([html.Th(k, style={"width": "9rem"}), html.Td(v if v not in (None, "") else "—", className="text-literal")]) for k, v in rows]),
                     bordered=True, size="sm", id="register-table")


def state_line(state: dict | None) -> html.Div:
    if not state:
        return C.empty("截至所选日期该建议尚未交办。")
    status = state.get("status")
    bits = [C.deadline_mark(state)]
    if status == "在办" and state.get("days_to_deadline") is not None:
        bits.append(html.Span(f" 距期限 {state['days_to_deadline']} 天", className="ms-2"))
    if state.get("completed"):
        bits.append(html.Span(f" 最后答复 {format_date(state.get('last_reply'))}; 分类 {CLASS_NAMES.get(state.get('result_class') or '', '—')}; "
                              f"面商 {_yes_no(state.get('face'))}; 评价 {state.get('evaluation') or '未测评'}", className="ms-2"))
    return html.Div(bits, id="suggestion-state", className="mb-2")


def history_table(history: list[dict], contacts: bool) -> dbc.Table:
    cols = ["填报日期", "来源文件 (工作表/行)", "状态", "答复日期", "分类", "面商", "代表评价", "承诺事项", "延期至"]
    if contacts:
        cols += ["联系人", "联系电话"]
    body = []
    for h in history:
        cells = [
            format_date(h.get("report_date")) + (" ← 采用" if h.get("selected") else ""),
            f"{h.get('file_name') or '—'} / {h.get('sheet') or '—'} / 第{h.get('row_no') or '—'}行",
            h.get("status_text") or "—",
            format_date(h.get("reply_date")),
            h.get("result_class") or "—",
            _yes_no(h.get("face_to_face")),
            " ".join(filter(None, [h.get("evaluation"), f"({format_date(h['evaluation_date'])})" if h.get("evaluation_date") else None])) or "—",
            " ".join(filter(None, [h.get("promise_text"), f"承诺 {format_date(h['promise_date'])}" if h.get("promise_date") else None,
                                   ("已兑现" if h.get("promise_kept") else "未兑现") if h.get("promise_date") else None])) or "—",
            format_date(h.get("extension_date")),
        ]
        if contacts:
            cells += [h.get("contact_name") or "—", h.get("contact_phone") or "—"]
        body.append(C.labelled_row(cols, cells, "text-literal", className="table-success" if h.get("selected") else None))
    return dbc.Table([html.Thead(html.Tr([html.Th(c) for c in cols])), html.Tbody(body)], bordered=True, size="sm", responsive=True,
                     className="stack-phone history-table")


def assignment_card(ctx: C.ViewContext, a: dict, contacts: bool) -> dbc.Card:
    status = a.get("status")
    head = [C.unit_link(ctx, a["unit"]), f"  {a.get('role')}  ", C.status_mark(status) if a.get("is_lead") else html.Span("协办", className="mark mark-grey")]
    if not a.get("reported"):
        head.append(C.mark("! 未报送", "yellow"))
    facts = [
        f"答复日期 {format_date(a.get('reply_date'))}",
        f"分类 {a.get('result_class') or '—'}",
        f"面商 {_yes_no(a.get('face_to_face'))}",
        f"评价 {a.get('evaluation') or '未测评'}" + (f" ({a['evaluation_source']} {format_date(a.get('evaluation_date'))})" if a.get("evaluation") else ""),
        f"最近报送 {format_date(a.get('last_report_date'))}",
    ]
    if not a.get("is_lead"):
        facts.append(f"协办意见期限 {format_date(a.get('co_window_end'))}")
    if a.get("promise_date"):
        facts.append(f"承诺 {format_date(a.get('promise_date'))} {'已兑现' if a.get('promise_kept') else '未兑现'}")
    history = a.get("history") or []
    return dbc.Card([
        dbc.CardHeader(head),
        dbc.CardBody([html.Div(" · ".join(facts), className="mb-2"),
                      html.Div("办理情况历次报送 (最新在上; 标记 ← 采用 的一行为截至所选日期采用的数据):", className="small text-muted"),
                      history_table(history, contacts) if history else C.empty("该单位尚未报送过此件。")]),
    ], className="mb-3 assignment-card")


def layout(ctx: C.ViewContext, session: str = "", number: str = "", *_):
    if not number.isdigit():
        return html.Div([html.H3("找不到该建议"), html.P(f"地址中的编号 “{number}” 无效。")])
    contacts = bool(getattr(ctx.viewer, "can_see_contacts", False))
    d = ctx.ind.suggestion_detail((session, int(number)), ctx.as_of, restrict_unit=ctx.restrict_unit, include_contacts=contacts)
    if not d:
        return html.Div([html.H3("找不到该建议"), html.P(f"{session} 第{number}号 不在数据中" + (", 或不属于本单位承办" if ctx.restrict_unit else "") + "。")], id="not-found")
    s = d["suggestion"]
    evals = d.get("evaluations") or []
    units = [a["unit"] for a in d["assignments"]]
    chases = appstate.chases(ctx.home, suggestion_id=s["suggestion_id"])
    return html.Div([
        C.view_meta(ctx, f"建议详情: {s.get('session')} 第{s.get('number')}号"),
        html.H3([f"{s.get('session')} 第{s.get('number')}号  ", html.Span(s.get("title") or "", className="text-literal", id="suggestion-title")]),
        state_line(d.get("state")),
        dbc.Row([
            dbc.Col(C.card("交办台账", register_table(s, d.get("state"))), lg=5),
            dbc.Col([
                html.Div("各承办单位办理情况", className="section-title mt-0"),
                *[assignment_card(ctx, a, contacts) for a in d["assignments"]],
                C.card("人大满意度测评", dbc.Table([
                    html.Thead(html.Tr([html.Th(c) for c in ("单位", "答复满意度", "落实满意度", "测评日期", "来源文件")])),
                    html.Tbody([html.Tr([html.Td(e.get("unit")), html.Td(e.get("reply_satisfaction") or "—"), html.Td(e.get("implementation_satisfaction") or "—"),
                                         html.Td(format_date(e.get("evaluation_date"))), html.Td(e.get("file_name") or "—", className="text-literal")]) for e in evals]),
                ], size="sm", bordered=True) if evals else C.empty("无人大测评记录")),
            ], lg=7),
        ], className="g-3"),
        C.chase_section(ctx, chases, s["suggestion_id"], None, units=units),
        C.interview_section(ctx, appstate.interviews(ctx.home, suggestion_id=s["suggestion_id"]), s["suggestion_id"], None,
                            units=units),
    ], id="suggestion-detail")


PAGE = Page("suggestion", "/suggestions/<session>/<number>", layout)

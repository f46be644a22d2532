"""数据状态 `/data`: refreshes, files, per-unit last report, rejected rows with reasons
(filterable grid; downloadable as Excel)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, html, no_update
from dash import ctx as dash_ctx

from dashboard import auth
from dashboard import components as C
from dashboard import downloads as D
from dashboard.registry import Page
from dashboard.urlstate import unit_path
from exports.xlsx import as_rows
from warehouse.formatting import format_date
from duban.core import appstate
from etl.directory import DirectoryError, match_units, read_unit_directory
from etl.provenance import accept, archive_of_version, provenance_status
from exports.push import target_label
from etl.stage import record_unit_alias
from exports.xlsx import rejected_rows
from warehouse.status import change_line, change_source, changes_by_refresh_and_unit, differences_summary, held_refresh_of_version


def _time(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else (str(value) if value else "—")


def refreshes_table(rows: list[dict]) -> dbc.Table:
    cols = ("刷新", "开始", "完成", "文件", "新文件", "读入行", "载入", "被取代", "拒收行", "拒收文件", "用时(秒)")
    body = [C.labelled_row(cols, [r.get("refresh_id"), _time(r.get("started_at")), _time(r.get("finished_at")),
                                  r.get("files_total"), r.get("files_new"), r.get("rows_read"), r.get("rows_loaded"),
                                  r.get("rows_superseded"), r.get("rows_rejected"), r.get("files_rejected"),
                                  f"{r['seconds']:.1f}" if r.get("seconds") is not None else "—"]) for r in rows[:10]]
    return dbc.Table([html.Thead(html.Tr([html.Th(c) for c in cols])), html.Tbody(body)], size="sm", bordered=True, responsive=True,
                     id="refreshes", className="stack-phone")


# Rejected rows sent to the browser (the newest files first); the download has all of them.
REJECTED_LIMIT = 1000
# Received files listed (the newest first; a province receives ~130 a year): `duban etl status` lists all.
FILES_LIMIT = 500


UNREPORTED = "未报送"  # /data?status=未报送: the 总览's 未报送 link lands on those units first


def unreported_card(ctx: C.ViewContext) -> dbc.Card:
    """The units with assignments of the shown year and no export row for them by T (Indicators.unreported)."""
    units = as_rows(ctx.ind.unreported(ctx.scope()))
    rows = [{"unit": u["unit"], "href": ctx.link(unit_path(u["unit"])), "unreported": u["unreported"],
             "lead": u["unreported_lead"], "co": u["unreported_co"], "assignments": u["assignments"],
             "last": format_date(u.get("last_report_date")) if u.get("last_report_date") else "! 从未报送"} for u in units]
    cols = [C.link_column("unit", "承办单位", "href", minWidth=180), {"field": "unreported", "headerName": "未报送件数"},
            {"field": "lead", "headerName": "其中主办"}, {"field": "co", "headerName": "其中协办"},
            {"field": "assignments", "headerName": "承办件数"}, {"field": "last", "headerName": "最近填报日期"}]
    year = f"{ctx.year}年" if ctx.year else ""
    return C.card(f"未报送的单位 ({len(units)} 个): {year}承办件中截至 {format_date(ctx.as_of)} 没有报送办理情况的件",
                  C.grid("grid-data-unreported", rows, cols, height=300) if rows else C.empty("所有单位均已报送"),
                  id="unreported-card")


def layout(ctx: C.ViewContext, *_):
    st = ctx.ind.data_status(ctx.restrict_unit, rejected_limit=REJECTED_LIMIT, files_limit=FILES_LIMIT)
    refreshes = as_rows(st.get("refreshes"))
    files = as_rows(st.get("files"))
    rejected = as_rows(st.get("rejected_rows"))
    units = as_rows(st.get("units"))
    file_rows = [{
        "name": f.get("original_name") or "", "kind": {"register": "交办台账", "unit_export": "办理情况", "evaluation": "满意度测评"}.get(f.get("kind") or "", "无法识别"),
        "sender": f.get("sender_unit") or "", "report_date": format_date(f.get("report_date")), "date_source": f.get("report_date_source") or "",
        "status": ("✗ " if f.get("status") == "整体拒收" else "✓ ") + (f.get("status") or ""), "reason": f.get("reject_reason") or "",
        "read": f.get("rows_read"), "loaded": f.get("rows_loaded"), "superseded": f.get("rows_superseded"), "rejected": f.get("rows_rejected"),
    } for f in files]
    file_cols = [
        {"field": "name", "headerName": "文件", "minWidth": 220}, {"field": "kind", "headerName": "类型", "maxWidth": 110},
        {"field": "sender", "headerName": "报送单位", "minWidth": 140}, {"field": "report_date", "headerName": "填报日期", "maxWidth": 120},
        {"field": "date_source", "headerName": "日期来源", "maxWidth": 100}, {"field": "status", "headerName": "状态", "maxWidth": 120},
        {"field": "read", "headerName": "读入", "maxWidth": 80}, {"field": "loaded", "headerName": "载入", "maxWidth": 80},
        {"field": "superseded", "headerName": "被取代", "maxWidth": 90}, {"field": "rejected", "headerName": "拒收", "maxWidth": 80},
        {"field": "reason", "headerName": "拒收原因", "minWidth": 220, "wrapText": True, "autoHeight": True},
    ]
    rej_rows = [{"file": r.get("file_name") or "", "sheet": r.get("sheet") or "", "row": r.get("row_no"), "column": r.get("column_name") or "",
                 "value": r.get("value") or "", "reason": r.get("reason") or ""} for r in rejected]
    rej_cols = [
        {"field": "file", "headerName": "文件", "minWidth": 200}, {"field": "sheet", "headerName": "工作表", "maxWidth": 120},
        {"field": "row", "headerName": "行", "maxWidth": 80}, {"field": "column", "headerName": "列", "maxWidth": 120},
        {"field": "value", "headerName": "值", "minWidth": 120}, {"field": "reason", "headerName": "原因", "minWidth": 320, "wrapText": True, "autoHeight": True},
    ]
    unit_rows = [{"unit": u["unit"], "href": ctx.link(unit_path(u["unit"])), "last": format_date(u.get("last_report_date")),
                  "state": "! 从未报送" if not u.get("last_report_date") else "有报送记录", "files": u.get("files"), "assignments": u.get("assignments")} for u in units]
    unit_cols = [C.link_column("unit", "承办单位", "href", minWidth=180), {"field": "last", "headerName": "最近填报日期"},
                 {"field": "state", "headerName": "状态", "cellRenderer": "DubanMark"}, {"field": "files", "headerName": "报送文件数"},
                 {"field": "assignments", "headerName": "承办件数"}]
    return html.Div([
        C.view_meta(ctx, "数据状态: 刷新记录、收到的文件、各单位报送情况、拒收的行及原因", scoped=False),
        unreported_card(ctx) if ctx.state.status == UNREPORTED else None,
        C.card("最近的刷新", refreshes_table(refreshes) if refreshes else C.empty("尚无刷新记录")),
        provenance_section(ctx),
        unit_names_section(ctx),
        directory_section(ctx),
        *review_section(ctx),
        unreported_card(ctx) if ctx.state.status != UNREPORTED else None,
        C.card(f"各单位最近报送 ({len(units)} 个单位, 各年度)", C.grid("grid-data-units", unit_rows, unit_cols, height=360)),
        C.card(f"收到的文件 ({st['files_count']})", [
            C.grid("grid-data-files", file_rows, file_cols, height=360),
            html.Div(f"此处只列出最近收到的 {FILES_LIMIT} 个文件; 全部文件及其载入情况请系统管理员在服务器上查看数据状态。",
                     className="small text-muted mt-1") if st["files_count"] > FILES_LIMIT else None]),
        C.card(f"拒收的行 ({st['rejected_count']}; 可在表头筛选)", [
            html.Div(D.button(DOWNLOADS[0], ctx), className="mb-2 no-print"),
            C.grid("grid-rejected", rej_rows, rej_cols, height=420),
            html.Div(f"此处只列出最近的 {REJECTED_LIMIT} 行; 全部请下载拒收清单。", className="small text-muted mt-1")
            if st["rejected_count"] > REJECTED_LIMIT else None,
        ], id="rejected-card"),
    ])


def provenance_section(ctx: C.ViewContext):
    """待确认的文件 (held for a supervisor: in no version) and 已撤回的文件, from the archive;
    shown to leaders and supervisors (a unit account's page is its own unit's data only)."""
    if ctx.restrict_unit:
        return None

    listed = provenance_status(archive_of_version(ctx.version))
    held, withdrawn = listed["held_files"], listed["withdrawn_files"]
    if not held and not withdrawn:
        return None
    supervisor = getattr(ctx.viewer, "role", None) == "supervisor"
    return C.card(f"待确认的文件 ({len(held)}) 与已撤回的文件 ({len(withdrawn)})", [
        html.P("待确认的文件未载入任何版本; 督办人员核实其中列出的变更后确认接收, 下次刷新时载入。",
               className="small text-muted"),
        html.Ul([html.Li([html.Strong(f["name"], className="text-literal"), f"  (来源 {f['source'] or '—'}, {f['at']})",
                          html.Div(f["reason"]), *[html.Div(change, className="small") for change in f.get("changes") or []],
                          dbc.Button("核实无误, 确认接收", id={"type": "accept-held-file", "sha256": f["sha256"]},
                                     size="sm", color="primary", outline=True, className="mt-1", disabled=not supervisor)])
                 for f in held], id="held-files"),
        html.Div(id="accept-held-message"),
        html.Ul([html.Li([html.Span(f["name"], className="text-literal"), f"  已撤回: {f['at']} {f['by']}: {f['why']}"])
                 for f in withdrawn], id="withdrawn-files"),
    ], id="provenance-card")


_PLACE_FROM = {"设置": "设置中指定", "交办台账": "从交办台账推断", "单位来文": "从单位来文推断"}


def unit_names_section(ctx: C.ViewContext):
    """The place names the refresh compared unit spellings with, and the spellings it could not
    place: their rows are rejected until a supervisor confirms one of the likeliest register units
    (one click, audited, written to the alias table; the next refresh loads the rows)."""
    if ctx.restrict_unit:
        return None
    names = ctx.ind.unit_names()
    places = "、".join(f"{p['name']} ({_PLACE_FROM.get(p['found_in'], p['found_in'])})" for p in names["places"])
    supervisor = getattr(ctx.viewer, "role", None) == "supervisor"
    items = []
    for item in names["unknown_spellings"]:
        choices = [dbc.Button(f"确认是 {c['unit']}", id={"type": "accept-spelling", "spelling": item["spelling"],
                                                         "unit": c["unit"]},
                              size="sm", color="primary", outline=True, className="me-2 mb-1", disabled=not supervisor,
                              title=f"{c['rule']} (相似度 {c['score']:.2f})") for c in item["candidates"]]
        items.append(html.Li([html.Strong(item["spelling"], className="text-literal"), f"  {item['rows']} 行被拒收; ",
                              "可能是: " if choices else "交办台账中没有相近的单位, 请核对单位名称。", *choices]))
    return C.card(f"单位名称 (未能对应的写法 {len(items)} 个)", [
        html.Div(f"比较单位名称时去掉的地名: {places or '无'}", className="small", id="place-names"),
        html.Div([html.P("下列写法没有对应到交办台账中的单位, 这些行暂不载入。督办人员确认后, 下次刷新时载入。",
                         className="small text-muted mb-1"), html.Ul(items, id="unknown-spellings")]) if items else None,
        html.Div(id="accept-spelling-message"),
    ], id="unit-names-card")


def directory_section(ctx: C.ViewContext):
    """单位通讯录 (联络员, phone, where a unit's reminders are pushed): personal data, kept and seen
    by supervisors only; an upload replaces it."""
    if not getattr(ctx.viewer, "can_see_contacts", False):
        return None
    rows: list[dict] = []
    for unit, entry in sorted(C.unit_directory(ctx).items()):
        target = ctx.settings.notify.target(entry["push_target"])
        rows.append({"unit": unit, "liaison": entry["liaison"] or "", "phone": entry["phone"] or "",
                     "push": target_label(target) if target else "未设置"})
    cols: list[dict] = [{"field": "unit", "headerName": "单位", "minWidth": 180}, {"field": "liaison", "headerName": "联络员"},
            {"field": "phone", "headerName": "联系电话"}, {"field": "push", "headerName": "提醒推送到", "minWidth": 200}]
    return C.card(f"单位通讯录 ({len(rows)} 个单位)", [
        html.P("各单位的联络员、联系电话和提醒推送目标, 用于催办清单 (单位报送的办理情况中没有联系人时)、单位页面和临期逾期提醒的推送。"
               f"上传 Excel 或 csv 文件 (不超过 {ctx.settings.max_file_mb:g} MB), 列为 单位、联络员、联系电话、推送 "
               "(推送写推送目标的名称、邮箱或网址); 上传后替换原有的通讯录。", className="small text-muted"),
        C.upload_box("directory-upload", ctx.settings),
        html.Div(id="directory-upload-message", className="mt-2"),
        C.grid("grid-data-directory", rows, cols, height=300) if rows else C.empty("尚未上传单位通讯录"),
    ], id="directory-card")


def receive_directory(board, contents: str | None, filename: str | None, viewer) -> dbc.Alert:
    """A supervisor's upload of the unit directory: read, its units matched to the register's,
    stored in place of the old one (audited); the answer says what happened, row by row."""
    if not getattr(viewer, "can_see_contacts", False):
        return dbc.Alert("只有督办人员可以更新单位通讯录。", color="warning")
    data = C.uploaded_bytes(contents)
    if data is None:
        return dbc.Alert("上传的内容无法读取, 请重新选择文件。", color="warning")
    ctx = board.context("/data", "", viewer)
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "directory"
            path.write_bytes(data)
            rows = read_unit_directory(path, ctx.settings, name=filename or "上传的文件")
        entries, notes = match_units(rows, ctx.ind.canonical_unit, set(ctx.ind.available_filters()["units"]))
        count = appstate.replace_unit_directory(board.home, entries, viewer.username)
    except (DirectoryError, appstate.AppStateError) as exc:
        auth.audit("单位通讯录被拒", f"{filename}: {exc}")
        return dbc.Alert(str(exc), color="warning")
    return dbc.Alert([html.Div(f"已更新单位通讯录: {count} 个单位。"), *[html.Div(note, className="small") for note in notes]],
                     color="success")


def accept_spelling(board, viewer, spelling: str, unit: str):
    """A supervisor confirms that ``spelling`` means the register unit ``unit``: checked against the
    published version's proposals (never trusted from the browser), written to the operator's alias
    table, audited."""
    if getattr(viewer, "role", None) != "supervisor":
        return dbc.Alert("只有督办人员可以确认单位写法。", color="warning")
    proposals = board.context("/data", "", viewer).ind.unit_names()["unknown_spellings"]
    if not any(p["spelling"] == spelling and unit in [c["unit"] for c in p["candidates"]] for p in proposals):
        return dbc.Alert("这一写法或候选单位已不在待确认之列, 请刷新页面。", color="warning")
    record_unit_alias(board.home, spelling, unit)
    auth.audit("确认单位写法", f"{spelling} = {unit}")
    return dbc.Alert(f"已确认: {spelling} = {unit}。下次刷新时这一写法的行将载入。", color="success")


def accept_held_file(board, viewer, sha256: str):
    """A supervisor accepts a held file (a register or evaluation from an untrusted source, or one
    that moves the authority) with the changes it was held for; audited; the next refresh loads it."""
    if getattr(viewer, "role", None) != "supervisor":
        return dbc.Alert("只有督办人员可以确认接收文件。", color="warning")
    archive = archive_of_version(board.context("/data", "", viewer).version)
    if sha256 not in {f["sha256"] for f in provenance_status(archive)["held_files"]}:
        return dbc.Alert("这个文件已不在待确认之列, 请刷新页面。", color="warning")
    record = accept(archive, sha256, viewer.username)
    auth.audit("确认文件", f"{record['name']} ({sha256[:12]}): {record['why']}")
    return dbc.Alert(f"已确认接收《{record['name']}》, 下次刷新时载入。", color="success")


def register(app, board) -> None:
    @app.callback(Output("accept-held-message", "children"),
                  Input({"type": "accept-held-file", "sha256": ALL}, "n_clicks"), prevent_initial_call=True)
    def _accept_file(clicks):
        trigger = dash_ctx.triggered_id
        if not trigger or not any(clicks or []):
            return no_update
        return accept_held_file(board, auth.current_viewer(), trigger["sha256"])

    C.register_upload(app, "directory-upload", "directory-upload-message",
                      lambda contents, filename: receive_directory(board, contents, filename, auth.required_viewer()))

    @app.callback(Output("accept-spelling-message", "children"),
                  Input({"type": "accept-spelling", "spelling": ALL, "unit": ALL}, "n_clicks"), prevent_initial_call=True)
    def _accept(clicks):
        trigger = dash_ctx.triggered_id
        if not trigger or not any(clicks or []):
            return no_update
        return accept_spelling(board, auth.current_viewer(), trigger["spelling"], trigger["unit"])


# Contradicting reports listed on the page (the newest refresh first); duban etl status lists all.
CHANGES_LIMIT = 500


def review_section(ctx: C.ViewContext) -> list:
    """A refresh held since the shown version (why, what it would change, who acts: no command
    for a dashboard user), what the last refresh changed, and the units' contradicting reports per
    refresh and unit (a unit account: its own only)."""

    cards = []
    if not ctx.restrict_unit:
        held = held_refresh_of_version(ctx.version)
        if held:
            cards.append(C.card("暂缓发布的刷新", dbc.Alert([
                html.Div(f"{_time(held['started_at'])[:16]} 的刷新与上一版本相比差异异常, 暂缓发布; 看板仍显示上一版本。"),
                html.Ul([html.Li(reason) for reason in held["held"]]),
                html.Div(held["summary"], className="small"),
                html.Div("由数据管理员核对报来的文件: 文件有误的, 请报送单位改正后重报; 核对无误的, 由数据管理员确认后发布。",
                         className="mt-1"),
            ], color="warning", className="mb-0"), id="held-refresh-card"))
        last = differences_summary(ctx.ind.refresh_differences())
        if last.differences or last.held:
            cards.append(C.card("上次刷新与上一版本相比", [
                html.Div(last.summary(), id="refresh-differences"),
                html.Div(f"曾暂缓发布, 已由数据管理员确认发布: {'; '.join(last.held)}", className="small text-muted mt-1")
                if last.held else None]))
    changes = ctx.ind.handling_changes(ctx.restrict_unit, limit=CHANGES_LIMIT)
    if changes["count"]:
        cards.append(C.card(f"办理情况的变更 ({changes['count']} 处: 单位新报的值与以前报的不同, 按新报的载入)", [
            html.Div([html.Div([html.Strong(f"第 {refresh_id} 次刷新" if refresh_id is not None else "刷新"),
                                *[html.Div([html.Div(unit, className="fw-semibold"),
                                            html.Ul([html.Li([change_line(row), html.Span(f"  ({change_source(row)})",
                                                                                           className="small text-muted")])
                                                     for row in rows])]) for unit, rows in units]], className="mb-2")
                      for refresh_id, units in changes_by_refresh_and_unit(changes["rows"])], id="handling-changes"),
            html.Div(f"此处只列出最近的 {CHANGES_LIMIT} 处; 全部变更请数据管理员在服务器上查看数据状态。",
                     className="small text-muted mt-1") if changes["count"] > CHANGES_LIMIT else None]))
    return cards


def rejected_bytes(board, viewer) -> tuple[bytes, str]:
    """The 拒收清单 (files rejected whole, rejected rows with reasons) as Excel bytes and a file name."""
    ctx = board.context("/data", "", viewer)
    data = rejected_rows(ctx.ind, ctx.restrict_unit, as_of=ctx.as_of)
    return data, f"拒收清单_{ctx.as_of.isoformat()}.xlsx"


DOWNLOADS = [D.Download("download-rejected", "下载拒收清单 (Excel)", "导出拒收清单",
                        lambda board, _path, _search, viewer: rejected_bytes(board, viewer))]
PAGE = Page("data", "/data", layout, nav_label="数据状态", downloads=tuple(DOWNLOADS), callbacks=register)

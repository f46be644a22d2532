"""The dashboard's callbacks called as plain functions on a small real warehouse
(tests/browser/sample.py, worked by hand in its docstring): the numbers each view shows, URL
state, cross-filters, unit confinement, 催办 records, text-only rendering of file text."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs

import pytest
from dash import no_update

from dashboard import components as C
from dashboard.app import Dashboard, create_app
from dashboard.auth import LOCAL_VIEWER, Viewer
from dashboard.urlstate import ViewState, href, split_path, suggestion_path, unit_path
from duban.core import appstate
from tests.browser import sample

Q = "?year=2024&as_of=2024-06-30"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dash")
    return create_app(sample.build(tmp), home=tmp / "home", auth=False)


@pytest.fixture(scope="module")
def board(app) -> Dashboard:
    return app.duban


def walk(node):
    """Every component and string in a rendered tree."""
    yield node
    children = getattr(node, "children", None) if not isinstance(node, (str, int, float)) else None
    if isinstance(children, (list, tuple)):
        for child in children:
            yield from walk(child)
    elif children is not None:
        yield from walk(children)
    for prop in ("header", "body"):
        if hasattr(node, prop) and getattr(node, prop, None) is not None and not isinstance(node, str):
            yield from walk(getattr(node, prop))


def by_id(tree, cid):
    found = [n for n in walk(tree) if getattr(n, "id", None) == cid]
    assert found, f"no component with id {cid!r}"
    return found[0]


def text(node) -> str:
    return " ".join(str(n) for n in walk(node) if isinstance(n, (str, int, float)))


def render(board, path, search=Q, viewer=LOCAL_VIEWER):
    return board.render(path, search, viewer=viewer)


def test_overview_cards_show_hand_worked_figures(board):
    page = render(board, "/")
    # N = 7; C = 4 of 7 = 57.14%; on time 3 / (4 + 2 overdue) = 50.00%; satisfied (2 满意 + 1 基本) / 4 = 75.00%
    assert text(by_id(page, "kpi-total")) == "7"
    assert text(by_id(page, "kpi-completion_rate")) == "57.14%"
    assert text(by_id(page, "kpi-on_time_rate")) == "50.00%"
    assert text(by_id(page, "kpi-satisfied_rate")) == "75.00%"
    assert text(by_id(page, "kpi-overdue")) == "2"
    assert text(by_id(page, "kpi-key")) == "1 / 2"
    whole = text(page)
    # 同比 at the same offset (121 days → 2023-06-30): 2023 had 2 of 3 done = 66.67%; 57.14 - 66.67 = -9.5 points
    assert "-9.5个百分点" in whole
    # one reference for card and curve, and the page says which
    note = text(by_id(page, "yoy-note"))
    assert "指标卡和办结曲线都与上年同期比较" in note and "交办后第 121 天 (截至 2023-06-30)" in note
    curve = by_id(page, "fig-curve").figure
    last_year = next(t for t in curve.data if t.name == "2023年")
    assert int(last_year.x[-1]) == 121 and float(last_year.y[-1]) == pytest.approx(2 / 3)  # the card's 66.67%
    # what the view shows, as of when, refreshed when
    assert text(by_id(page, "meta-as-of")) == "2024-06-30"
    assert text(by_id(page, "meta-refreshed")) == "2024-07-01 08:01"


def test_overview_attention_panel_lists_the_tails(board):
    attention = text(by_id(render(board, "/"), "attention"))
    assert "逾期件 (2)" in attention and "第4号" in attention and "逾期 29 天" in attention
    assert "不满意件 (1)" in attention and "第5号" in attention
    assert "重点督办件滞后 (1)" in attention and "第7号" in attention
    assert "未报送的单位 (1)" in attention and "市住建局" in attention


def test_overview_names_the_weakest_units_from_the_ranking(board):
    from warehouse.ranking import rank_units, split_ranking

    ranked, _ = split_ranking(rank_units(board.context("/", Q, LOCAL_VIEWER).ind.conn, board.settings, 2024, date(2024, 6, 30)))
    panel = text(by_id(render(board, "/"), "weakest-units"))
    n = min(5, len(ranked) // 2)
    assert f"后{n}名" in panel
    for e in ranked[-n:]:
        assert e["unit"] in panel and f"第{e['rank']}名" in panel and f"{e['total']:.2f} 分" in panel
    assert ranked[0]["unit"] not in panel


def test_the_unreported_link_lands_on_those_units(board):
    from dash import dcc

    attention = by_id(render(board, "/"), "attention")
    # the fixture's one unit with an item not reported: the overview's link and /data agree
    links = [n.href for n in walk(attention) if isinstance(n, dcc.Link) and n.href.startswith("/data")]
    assert len(links) == 1 and "市住建局" in text(attention)
    path, search = links[0].split("?", 1)
    assert ViewState.parse(search).status == "未报送"
    page = render(board, path, "?" + search)
    cards = [n for n in walk(page) if getattr(n, "id", None) in ("unreported-card", "refreshes", "grid-data-units")]
    assert cards[0].id == "unreported-card"  # first on the page
    rows = by_id(page, "grid-data-unreported").rowData
    assert [r["unit"] for r in rows] == ["市住建局"] and rows[0]["unreported"] >= 1


def test_category_filter_highlights_instead_of_collapsing_the_chart(board):
    chart = by_id(render(board, "/", Q + "&category=交通邮电类"), {"type": "xfilter", "key": "category"}).figure
    bars = chart.data[0]
    assert len(bars.y) > 1 and "交通邮电类 ✔" in bars.y  # every category still there, the chosen one marked
    opacity = dict(zip(bars.customdata, bars.marker.opacity))
    assert opacity["交通邮电类"] == 1.0 and {v for k, v in opacity.items() if k != "交通邮电类"} == {0.35}


def test_category_filter_applies_to_every_figure(board):
    page = render(board, "/", Q + "&category=交通邮电类")
    # nos. 3 and 4: N 2, C 1 → 50.00%, overdue 1 (no. 4)
    assert text(by_id(page, "kpi-total")) == "2"
    assert text(by_id(page, "kpi-completion_rate")) == "50.00%"
    assert text(by_id(page, "kpi-overdue")) == "1"
    assert "交通邮电类" in text(by_id(page, "meta-scope"))


def test_filters_write_the_url(board):
    new = board.filters_to_search("filter-category", 2024, None, None, "交通邮电类", "2024-06-30", Q)
    assert ViewState.parse(new) == ViewState(year=2024, category="交通邮电类", as_of=date(2024, 6, 30))
    # unchanged value → no new history entry
    assert board.filters_to_search("filter-kind", 2024, None, None, None, "2024-06-30", Q) is no_update
    # choosing a session drops the year (the session implies it)
    new = board.filters_to_search("filter-session", 2024, "十七届五次", None, None, "2024-06-30", Q)
    assert parse_qs(new.lstrip("?")) == {"session": ["十七届五次"], "as_of": ["2024-06-30"]}
    assert board.filters_to_search("filter-as-of", 2024, None, None, None, "2024-13-01", Q) is no_update


def test_a_freshly_drawn_filter_bar_does_not_rewrite_the_url(board):
    """Without a year in the address the bar shows the newest year; that is not a choice."""
    shown = {"filter-year": 2024, "filter-as-of": "2024-06-30"}
    assert board.filters_to_search("filter-year", 2024, None, None, None, "2024-06-30", "", shown) is no_update
    assert board.filters_to_search("filter-as-of", 2024, None, None, None, "2024-06-30", "", shown) is no_update
    assert board.filters_to_search("filter-year", 2023, None, None, None, "2024-06-30", "", shown) == "?year=2023"


def test_cross_filter_click_toggles_category_in_url(board):
    click = {"points": [{"customdata": "交通邮电类", "y": "交通邮电类", "x": 2}]}
    on = board.cross_filter("category", click, Q)
    assert ViewState.parse(on).category == "交通邮电类"
    off = board.cross_filter("category", click, on)
    assert ViewState.parse(off).category is None and ViewState.parse(off).year == 2024
    assert board.cross_filter("category", None, Q) is no_update


def test_overdue_view_and_its_cross_filters(board):
    page = render(board, "/overdue")
    rows = by_id(page, "grid-overdue").rowData
    # nos. 4 and 6 overdue 29 days; no. 7 due soon (deadline 07-10)
    assert sorted((r["number"], r["days_overdue"]) for r in rows) == [
        ("十八届一次 第4号", 29), ("十八届一次 第6号", 29), ("十八届一次 第7号", None)]
    bucket = board.cross_filter("status", {"points": [{"customdata": "逾期1–30天"}]}, Q)
    rows = by_id(render(board, "/overdue", bucket), "grid-overdue").rowData
    assert sorted(r["number"] for r in rows) == ["十八届一次 第4号", "十八届一次 第6号"]
    unit = board.cross_filter("unit", {"points": [{"customdata": "市住建局"}]}, bucket)
    rows = by_id(render(board, "/overdue", unit), "grid-overdue").rowData
    assert [(r["number"], r["reported"]) for r in rows] == [("十八届一次 第6号", "! 未报送")]


def test_unit_page_figures(board):
    page = render(board, unit_path("市交通局"))
    # leads nos. 3 (replied late) and 4 (overdue): 1 of 2 = 50.00%, on time 0 / (1 + 1) = 0.00%; co no. 6
    assert text(by_id(page, "kpi-lead")) == "2"
    assert text(by_id(page, "kpi-completion_rate")) == "50.00%"
    assert text(by_id(page, "kpi-on_time_rate")) == "0.00%"
    assert text(by_id(page, "unit-last-report")) == "2024-06-30"
    grid = by_id(page, "grid-unit-assignments").rowData
    assert sorted((r["number"], r["role"]) for r in grid) == [
        ("十八届一次 第3号", "主办"), ("十八届一次 第4号", "主办"), ("十八届一次 第6号", "协办")]


def test_unit_page_lists_unreported_items(board):
    page = render(board, unit_path("市住建局"))
    assert text(by_id(page, "kpi-unreported")) == "1"
    assert "第6号" in text(by_id(page, "unit-unreported"))


def test_unit_account_is_confined(board):
    viewer = Viewer("jt", "unit", "市交通局")
    forbidden = render(board, unit_path("市教育局"), viewer=viewer)
    assert "无权查看" in text(forbidden)
    page = render(board, "/", viewer=viewer)
    # the overview is the unit's own: leads nos. 3, 4 only
    assert text(by_id(page, "kpi-total")) == "2"
    assert "仅本单位: 市交通局" in text(by_id(page, "meta-scope"))
    detail = render(board, suggestion_path("十八届一次", 1), viewer=viewer)
    assert "找不到该建议" in text(detail)


def test_suggestion_detail_shows_history_and_sources(board):
    page = render(board, suggestion_path("十八届一次", 1))
    whole = text(page)
    # two exports of 市教育局: the 06-30 row is the one used, the 04-30 row is history
    assert "2024-06-30 ← 采用" in whole and "2024-04-30" in whole
    assert "市教育局_2024-06-30.xlsx" in whole
    assert "张三" in whole  # the local supervisor may see contacts
    leader = render(board, suggestion_path("十八届一次", 1), viewer=Viewer("ld", "leader", None))
    assert "张三" not in text(leader) and "13800000000" not in text(leader)


def test_file_text_is_rendered_as_text(board):
    page = render(board, suggestion_path("十八届一次", 6))
    title = by_id(page, "suggestion-title")
    assert title.children == sample.SCRIPT_TITLE  # a string child: React escapes it


def test_unknown_addresses_are_friendly(board):
    assert "页面不存在" in text(render(board, "/nope"))
    assert "找不到该建议" in text(render(board, suggestion_path("十八届一次", 99)))
    assert "找不到该建议" in text(render(board, "/suggestions/十八届一次/abc"))


def test_every_view_renders_without_error(board):
    for path in ("/", "/units", unit_path("市教育局"), "/overdue", "/key", "/trends", suggestion_path("十八届一次", 3), "/data", "/meeting"):
        page = render(board, path)
        assert not [n for n in walk(page) if getattr(n, "id", None) == "render-error"], path


def test_key_trends_meeting_and_data_views(board):
    key = text(render(board, "/key"))
    assert "督办领导: 王主任 — 1 件, 已办结 1 件" in key
    assert "督办领导: 李副主任 — 1 件, 已办结 0 件" in key
    trends = by_id(render(board, "/trends"), "trends-table")
    assert "2023年" in text(trends) and "2024年" in text(trends)
    meeting = render(board, "/meeting")
    assert text(by_id(meeting, "m-completion_rate")) == "57.1%"  # one decimal on the big screen
    data = render(board, "/data")
    units = by_id(data, "grid-data-units").rowData
    assert {u["unit"] for u in units} >= {"市教育局", "市交通局", "市住建局", "市农业农村局"}


def test_chase_records_round_trip(board):
    msg, history, note = board.record_chase({"suggestion_id": "十八届一次-4"}, "市交通局", "2024-06-28", "电话催办", "请本周答复", LOCAL_VIEWER)
    assert "已记录" in text(msg)
    assert "请本周答复" in text(history)
    assert note == ""  # the form clears: a second click has nothing to record
    rows = appstate.chases(board.home, suggestion_id="十八届一次-4")
    assert [(r["unit"], r["chase_date"], r["way"]) for r in rows] == [("市交通局", date(2024, 6, 28), "电话催办")]
    assert "请本周答复" in text(render(board, suggestion_path("十八届一次", 4)))
    # a unit account cannot record one
    msg, _, _ = board.record_chase({"suggestion_id": "十八届一次-4"}, "市交通局", "2024-06-28", "电话催办", "请答复", Viewer("jt", "unit", "市交通局"))
    assert "不能记录催办" in text(msg)
    msg, _, _ = board.record_chase({"suggestion_id": "十八届一次-4"}, "市交通局", "2024-02-30", "电话催办", "请答复", LOCAL_VIEWER)
    assert "不是有效日期" in text(msg)


@pytest.mark.parametrize("target, unit, note, viewer, message", [
    ("十八届一次-4", "市交通局", "", LOCAL_VIEWER, "请填写催办说明"),
    ("十八届一次-4", "市交通局", "   ", LOCAL_VIEWER, "请填写催办说明"),
    ("十八届一次-4", "市交通局", "催" * 501, LOCAL_VIEWER, "不超过 500 个字"),
    ("十八届一次-99", "市交通局", "请答复", LOCAL_VIEWER, "不在当前数据中"),
    ("十八届一次-4", "市不存在局", "请答复", LOCAL_VIEWER, "不在当前数据中"),
    ("十八届一次-4", "市教育局", "请答复", LOCAL_VIEWER, "不是该建议的承办单位"),
    ("十八届一次-4", "市交通局", "请答复", Viewer("lingdao", "leader", None), "不能记录催办"),
])
def test_chase_is_validated_on_the_server(board, target, unit, note, viewer, message):
    before = appstate.chases(board.home)
    msg, history, cleared = board.record_chase({"suggestion_id": target}, unit, "2024-06-28", "电话催办", note, viewer)
    assert message in text(msg)
    assert history is no_update and cleared is no_update  # the note stays for the clerk to fix
    assert appstate.chases(board.home) == before


def test_a_chase_is_withdrawn_by_its_author(board):
    author, other = Viewer("duban", "supervisor", None), Viewer("duban2", "supervisor", None)
    board.record_chase({"suggestion_id": "十八届一次-3"}, "市交通局", "2024-06-28", "电话催办", "误记的一条", author)
    record = appstate.chases(board.home, suggestion_id="十八届一次-3")[0]
    button = {"type": "chase-withdraw", "id": record["id"]}
    assert button in [getattr(n, "id", None) for n in walk(C.chase_history([record], author, 10))]
    assert button not in [getattr(n, "id", None) for n in walk(C.chase_history([record], other, 10))]
    assert button not in [getattr(n, "id", None) for n in walk(C.chase_history([record], author, 0))]
    msg, _ = board.withdraw_chase(record["id"], {"suggestion_id": "十八届一次-3"}, None, other)
    assert "只有记录人本人" in text(msg)
    msg, history = board.withdraw_chase(record["id"], {"suggestion_id": "十八届一次-3"}, None, author)
    assert "已撤回" in text(msg) and "误记的一条" not in text(history)
    assert appstate.chases(board.home, suggestion_id="十八届一次-3") == []
    assert "误记的一条" not in text(render(board, suggestion_path("十八届一次", 3)))


def test_urlstate_round_trip_and_tolerance():
    st = ViewState.parse("?year=2023&as_of=2024-01-31")
    assert st == ViewState(year=2023, as_of=date(2024, 1, 31))
    assert ViewState.parse(st.to_search()) == st
    # malformed values are dropped, not errors
    assert ViewState.parse("?year=abc&as_of=2024-02-30&kind=x&foo=1") == ViewState()
    assert href("/units", ViewState(year=2024, unit="市教育局", status="逾期1–30天")) == "/units?year=2024"
    assert split_path(unit_path("市教育局（市语委）")) == ["units", "市教育局（市语委）"]
    assert split_path(suggestion_path("十八届一次", 12)) == ["suggestions", "十八届一次", "12"]


def test_served_app_keeps_requests_local(app):
    client = app.server.test_client()
    html = client.get("/?year=2023&as_of=2024-01-31").get_data(as_text=True)
    assert 'lang="zh-CN"' in html
    assert "/assets/vendor/bootstrap.min.css" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert client.get("/assets/vendor/bootstrap.min.css").status_code == 200


def test_missing_warehouse_is_a_message_not_an_error(tmp_path):
    app = create_app(tmp_path / "none.duckdb", home=tmp_path / "home", auth=False)
    assert "尚无数据" in text(app.duban.render("/", "", viewer=LOCAL_VIEWER))


def test_downloads_are_excel_files(board):
    import io

    import openpyxl

    from dashboard.pages.data import rejected_bytes
    from dashboard.pages.overdue import chase_list_bytes

    data, name = chase_list_bytes(board, Q + "&unit=市交通局", LOCAL_VIEWER)
    assert name == "催办清单_2024-06-30.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    # 市交通局's only unanswered lead item is no. 4; no. 6 belongs to 市住建局
    assert any("增设地铁站出入口" in c for c in cells)
    assert not any("夜间施工" in c for c in cells)
    data, name = rejected_bytes(board, LOCAL_VIEWER)
    assert data[:2] == b"PK" and name.startswith("拒收清单_")


def test_login_guard_is_installed_when_auth_is_on(tmp_path):
    app = create_app(sample.build(tmp_path), home=tmp_path / "home", auth=True)
    client = app.server.test_client()
    response = client.get("/units")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/_dash-update-component", json={}).status_code == 401


def test_interfaces_example_link_opens_that_view(board):
    page = render(board, "/", "?year=2023&as_of=2024-01-31")
    # 2023: replies 2023-05-01, 06-20, 08-01 all before 2024-01-31 → 3 of 3; no 2022 to compare with
    assert text(by_id(page, "kpi-total")) == "3"
    assert text(by_id(page, "kpi-completion_rate")) == "100.00%"
    assert text(by_id(page, "yoy-note")) == "同比: 无上年同期数据"


def test_unit_account_never_sees_other_units_ranking_or_chases(board):
    viewer = Viewer("jt", "unit", "市交通局")
    board.record_chase({"suggestion_id": "十八届一次-6"}, "市住建局", "2024-06-29", "书面通知", "住建局请报送", LOCAL_VIEWER)
    board.record_chase({"suggestion_id": "十八届一次-6"}, "市交通局", "2024-06-29", "电话催办", "交通局请报送协办意见", LOCAL_VIEWER)
    meeting = text(render(board, "/meeting", viewer=viewer))
    assert "市教育局" not in meeting and "市住建局" not in meeting
    units = render(board, "/units", viewer=viewer)
    assert [r["unit"] for r in by_id(units, "grid-units").rowData] == ["市交通局"]
    detail = text(render(board, suggestion_path("十八届一次", 6), viewer=viewer))
    assert "交通局请报送协办意见" in detail and "住建局请报送" not in detail


def test_session_filter_keeps_the_curve_and_figures(board):
    page = render(board, "/", "?session=十八届一次&as_of=2024-06-30")
    assert text(by_id(page, "kpi-total")) == "7"
    curve = by_id(page, "fig-curve").figure
    assert [t.name for t in curve.data] == ["2024年", "2023年"]


def test_ranking_explains_every_aspect(board):
    page = render(board, "/units")
    ranked = by_id(page, "grid-units").rowData
    assert sorted(r["unit"] for r in ranked) == ["市交通局", "市住建局", "市农业农村局", "市教育局"]
    aspects = by_id(page, "grid-unit-aspects").rowData
    # every unit, every weight key of the default settings (7 data aspects + 2 hand-scored)
    assert len(aspects) == 4 * 9
    assert all(a["reason"] for a in aspects)
    assert {a["counted"] for a in aspects if a["source"] == "人工"} == {"不计分"}  # no assessors' file given


def test_data_page_shows_a_held_refresh_the_last_differences_and_the_changes(tmp_path, monkeypatch):
    from etl.pipeline import RefreshHeld, run_refresh
    from duban.core.settings import load_settings
    from tests.test_pipeline import EXPORT_HEADER, register_rows, write_csv
    from warehouse.indicators import version_figures

    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    settings = load_settings(home=tmp_path / "home", override={"etl": {"trusted_inboxes": [str(tmp_path)]}})
    compare = lambda path: version_figures(path, settings)  # noqa: E731 - what the CLI passes
    warehouse = tmp_path / "duban.duckdb"
    first = tmp_path / "first"
    write_csv(first / "台账.csv", register_rows())
    write_csv(first / "市教育局_2024-05-15.csv", [EXPORT_HEADER, [1, "主办", "2024-05-10", "A", "是", "满意"],
                                                  [3, "主办", "2024-05-11", "B", "否", "基本满意"]])
    run_refresh(warehouse, settings, inbox=first, compare=compare)
    second = tmp_path / "second"  # no. 3's reply date corrected, no. 2 replied
    write_csv(second / "市教育局_2024-06-30.csv", [EXPORT_HEADER, [3, "主办", "2024-05-13", "", "", ""]])
    write_csv(second / "市交通运输局_2024-06-30.csv", [EXPORT_HEADER, [2, "主办", "2024-05-20", "A", "是", "满意"],
                                                       [3, "主办", "2024-05-21", "A", "是", "满意"]])
    run_refresh(warehouse, settings, inbox=second, compare=compare)
    bad = tmp_path / "bad"  # numbers that do not exist
    write_csv(bad / "市交通运输局_2024-07-31.csv", [EXPORT_HEADER, *[[n, "主办", "2024-07-10", "A", "是", "满意"]
                                                                     for n in (7, 8, 9)]])
    with pytest.raises(RefreshHeld):
        run_refresh(warehouse, settings, inbox=bad, compare=compare)

    board = create_app(warehouse, home=tmp_path / "home", auth=False).duban
    page = render(board, "/data", "")
    held = text(by_id(page, "held-refresh-card"))
    assert "暂缓发布; 看板仍显示上一版本" in held and "市交通运输局 的行大多被拒收 (此前载入 2 行, 本次新增拒收 3 行)" in held
    assert "与上一版本相比: 市交通运输局 拒收行 0 → 3" in held
    assert "由数据管理员" in held and "duban" not in held and "--accept" not in held  # no command for a dashboard user
    assert text(by_id(page, "refresh-differences")).startswith("与上一版本相比: 办结 +")
    assert "市交通运输局 已办结 0 → 2" in text(by_id(page, "refresh-differences"))
    changes = text(by_id(page, "handling-changes"))
    assert "第 2 次刷新" in changes and "市教育局" in changes
    assert "第3号 答复日期 2024-05-11 → 2024-05-13" in changes and "《市教育局_2024-06-30.csv》 第2行" in changes
    # a unit account sees its own changes only, and neither the held refresh nor other units' figures
    own = render(board, "/data", "", viewer=Viewer("jt", "unit", "市交通运输局"))
    assert not [n for n in walk(own) if getattr(n, "id", None) in ("held-refresh-card", "refresh-differences", "handling-changes")]

"""The dashboard's downloads (考核排名, 承办清单, 填报模板, 通报) built for the view and the viewer,
opened with openpyxl / python-docx and compared with the indicator layer; the audit log entry; and a
unit account whose unit is spelt differently from the warehouse (tests/browser/sample.py, worked by
hand in its docstring)."""

from __future__ import annotations

import io
from urllib.parse import quote

import docx
import duckdb
import openpyxl
import pytest

from dashboard import downloads as D
from dashboard import page_cache
from dashboard.app import create_app
from dashboard.auth import LOCAL_VIEWER, Viewer
from dashboard.pages import REGISTRY, overview, unit, units
from dashboard.urlstate import unit_path
from duban.core import appstate
from duban.core.settings import load_settings
from tests.browser import sample
from tests.test_dashboard_callbacks import by_id, text, walk
from warehouse.indicators import Indicators

Q = "?year=2024&as_of=2024-06-30"


def ids(tree) -> set[str]:
    return {n.id for n in walk(tree) if isinstance(getattr(n, "id", None), str)}


JT = Viewer("jt", "unit", "市交通局")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("downloads")
    link = sample.build(tmp)
    # An operator's alias table entry: 交通运输局 is the register's 市交通局.
    con = duckdb.connect(str(link))
    con.execute("INSERT INTO unit_aliases VALUES ('交通运输局', '市交通局', '别名表')")
    con.close()
    return create_app(link, home=tmp / "home", auth=False)


@pytest.fixture(scope="module")
def board(app):
    return app.duban


def table_rows(data: bytes, sheet: int = 0) -> list[dict]:
    """The data rows of an export's sheet as dicts keyed by the header row (the row after the
    title/as-of/meta lines, i.e. the first row with more than one cell)."""
    ws = openpyxl.load_workbook(io.BytesIO(data)).worksheets[sheet]
    rows = [r for r in ws.iter_rows(values_only=True)]
    head = next(i for i, r in enumerate(rows) if sum(v is not None for v in r) > 1 and "（必填）" not in r)
    return [dict(zip(rows[head], r)) for r in rows[head + 1 :] if any(v is not None for v in r)]


def test_ranking_export_matches_the_unit_table(board):
    data, name = units.ranking_bytes(board, "/units", Q, LOCAL_VIEWER)
    assert name == "考核排名_2024年_2024-06-30.xlsx"
    rows = {r["承办单位"]: r for r in table_rows(data)}
    assert set(rows) == {"市教育局", "市交通局", "市住建局", "市农业农村局"}
    # 市交通局: leads nos. 3 (done) and 4 (overdue), co-handles no. 6
    jt = rows["市交通局"]
    assert (jt["主办件数"], jt["协办件数"], jt["已办结"], jt["逾期"]) == (2, 1, 1, 1)
    ctx = board.context("/units", Q, LOCAL_VIEWER)
    table = {r["unit"]: r for r in ctx.ind.unit_table(ctx.scope())}
    assert jt["主办件数"] == table["市交通局"]["lead_assignments"]
    # a unit account's file has its own line only
    data, _ = units.ranking_bytes(board, "/units", Q, JT)
    assert [r["承办单位"] for r in table_rows(data)] == ["市交通局"]


def test_unit_assignments_export(board):
    data, name = unit.assignments_bytes(board, unit_path("市交通局"), Q, LOCAL_VIEWER)
    assert name == "承办清单_市交通局_2024-06-30.xlsx"
    rows = table_rows(data)
    assert sorted((r["编号"], r["承办方式"]) for r in rows) == [(3, "主办"), (4, "主办"), (6, "协办")]
    figures = {r["指标"]: r["数值"] for r in table_rows(data, 1)}
    # leads 3 (done) and 4 (overdue): 1 of 2 = 0.5
    assert figures["办结率"] == 0.5
    ctx = board.context(unit_path("市交通局"), Q, LOCAL_VIEWER)
    assert figures["办结率"] == ctx.ind.metrics(ctx.scope(unit="市交通局"))["completion_rate"]
    # the unit account gets its own list, never another unit's
    data, _ = unit.assignments_bytes(board, unit_path("市交通局"), Q, JT)
    assert len(table_rows(data)) == 3
    with pytest.raises(PermissionError):
        unit.assignments_bytes(board, unit_path("市教育局"), Q, JT)


def test_template_download(board):
    data, name = unit.template_bytes(board, unit_path("市交通局"), Q, LOCAL_VIEWER)
    assert name == "填报模板_市交通局_2024年.xlsx" and data[:2] == b"PK"
    rows = table_rows(data)
    assert [(r["建议编号"], r["承办方式"]) for r in rows] == [(3, "主办"), (4, "主办"), (6, "协办")]
    with pytest.raises(PermissionError):
        unit.template_bytes(board, unit_path("市住建局"), Q, JT)
    # a session filter gives the year through the session
    _, name = unit.template_bytes(board, unit_path("市交通局"), "?session=十七届五次&as_of=2024-06-30", LOCAL_VIEWER)
    assert name == "填报模板_市交通局_2023年.xlsx"


def test_report_download(board):
    data, name = overview.report_bytes(board, "/", Q, LOCAL_VIEWER)
    assert name == "代表建议办理情况通报_2024年_2024-06-30.docx"
    whole = "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
    # N 7, C 4 → 57.14%, as on the overview card
    assert "共交办代表建议7件" in whole and "已办结4件，办结率57.14%" in whole
    assert text(by_id(board.render("/", Q, viewer=LOCAL_VIEWER), "kpi-completion_rate")) == "57.14%"
    # the 通报 is about every unit: a unit account neither sees the button nor gets the file
    with pytest.raises(PermissionError):
        overview.report_bytes(board, "/", Q, JT)
    assert "download-report" not in ids(board.render("/", Q, viewer=JT))
    assert "download-report" in ids(board.render("/", Q, viewer=LOCAL_VIEWER))


def download(app, button_id: str, at: str):
    """GET the download route as the button's link does (the view's address rides in ``at``)."""
    return app.server.test_client().get(f"/download/{button_id}", query_string={"at": at})


def test_the_download_route_sends_the_file_audits_it_and_keeps_it(app, board):
    at = unit_path("市交通局") + Q
    first = download(app, "download-unit-assignments", at)
    assert first.status_code == 200
    assert "attachment" in first.headers["Content-Disposition"]
    assert quote("承办清单_市交通局_2024-06-30.xlsx") in first.headers["Content-Disposition"]
    assert len(table_rows(first.data)) == 3
    entry = appstate.audit_log(board.home, action="导出承办清单")[0]
    assert entry["username"] == "本机" and "承办清单_市交通局_2024-06-30.xlsx" in entry["detail"]
    # asked again: the stored file, recorded again
    version = board.pw.snapshot()[0]
    assert len(list(page_cache.folder(version, "downloads").glob("*"))) >= 1
    again = download(app, "download-unit-assignments", at)
    assert again.data == first.data and again.headers["Content-Disposition"] == first.headers["Content-Disposition"]
    assert len(appstate.audit_log(board.home, action="导出承办清单")) == 2
    # another view's address is another file
    other = download(app, "download-unit-assignments", unit_path("市交通局") + "?year=2023&as_of=2024-06-30")
    assert other.status_code == 200 and other.data != first.data


def test_unknown_downloads_and_refusals_are_plain_answers(app, board):
    assert download(app, "download-nothing", "/").status_code == 404
    refused = download(app, "download-unit-assignments", "/units" + Q)  # not a unit's page
    assert refused.status_code == 403 and "无权" in refused.get_data(as_text=True)


def test_every_download_button_links_to_its_route(app, board):
    page = board.render(unit_path("市交通局"), Q, viewer=LOCAL_VIEWER)
    assert {"download-unit-assignments", "download-template"} <= ids(page)
    links = {n.id: n.href for n in walk(page) if getattr(n, "id", None) in ("download-unit-assignments", "download-template")}
    assert links["download-template"] == "/download/download-template?at=" + quote(unit_path("市交通局") + Q, safe="")
    routes = {rule.rule for rule in app.server.url_map.iter_rules()}
    assert "/download/<download_id>" in routes
    for d in REGISTRY.downloads:  # every page's, as the app registered them
        assert download(app, d.button_id, "/").status_code in (200, 403)
    assert "download-ranking" in ids(board.render("/units", Q, viewer=LOCAL_VIEWER))


def test_file_names_lose_unsafe_characters():
    assert D.file_name('承办清单_市A/B局:"x".xlsx') == "承办清单_市A_B局_x_.xlsx"  # a run of unsafe characters → one _
    assert D.path_unit(unit_path("市教育局（市语委）")) == "市教育局（市语委）"
    assert D.path_unit("/overdue") == ""


@pytest.mark.parametrize("spelling", ["市交通局", "汉中市交通局", "交通局", "交通运输局"])
def test_unit_account_name_matches_the_warehouse_unit(board, spelling):
    viewer = Viewer("jt", "unit", spelling)
    page = board.render("/", Q, viewer=viewer)
    # 市交通局's own overview: leads nos. 3, 4
    assert text(by_id(page, "kpi-total")) == "2"
    assert "仅本单位: 市交通局" in text(by_id(page, "meta-scope"))
    # and its own unit page opens (not 无权查看)
    assert text(by_id(board.render(unit_path("市交通局"), Q, viewer=viewer), "kpi-lead")) == "2"


def test_unknown_unit_names_stay_as_given(board):
    _, conn = board.pw.snapshot()
    assert Indicators(conn, load_settings()).canonical_unit("市无此局") == "市无此局"
    assert Indicators(conn, load_settings()).canonical_unit("汉中市住建局") == "市住建局"
    page = board.render("/", Q, viewer=Viewer("x", "unit", "市无此局"))
    assert text(by_id(page, "kpi-total")) == "0"

"""Provenance (issue 14, point 2): who sent a file decides what it may change. Each test plays one
break of the issue on real files and a real warehouse: a forged register, a file dropped into
another unit's folder, a withdrawn file, a unit's upload claiming another unit, an audited acceptance."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from duban.core import appstate
from duban.cli import main
from duban.core.settings import load_settings
from etl import provenance
from etl.archive import Archive
from etl.pipeline import run_refresh
from tests.files import write_csv
from warehouse.connection import WarehousePaths
from warehouse.status import refresh_status

REGISTER_HEADER = ["建议编号", "届次", "年度", "类型", "标题", "领衔代表", "类别", "交办日期", "办理期限", "主办单位", "协办单位"]
EXPORT_HEADER = ["建议编号", "承办方式", "答复日期", "办理结果", "是否面商", "代表意见"]


def register(leads: dict[int, str], assigned: str = "2024-03-01", co: str = "市财政局") -> list[list]:
    return [REGISTER_HEADER] + [
        [n, "十八届一次", 2024, "大会建议", f"关于第{n}号事项的建议", "王一", "教科文卫体类", assigned, "2024-06-01", unit, co]
        for n, unit in leads.items()]


GENUINE = {1: "市教育局", 2: "市教育局", 3: "市公安局"}
FORGED = {1: "市公安局", 2: "市公安局", 3: "市公安局"}


def place(folder: Path, name: str, rows: list[list]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_csv(folder / name, rows)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def settings(home):
    return load_settings(home=home)


@pytest.fixture
def warehouse(tmp_path, settings, home):
    """A published warehouse from a trusted register folder and one export each of 教育局 and 公安局."""
    official = tmp_path / "代表工委"
    place(official, "交办台账.csv", register(GENUINE))
    shared = tmp_path / "收件"
    place(shared / "市教育局", "市教育局_2024-06-30.csv", [EXPORT_HEADER, [1, "主办", "2024-05-10", "A类", "是", "满意"]])
    place(shared / "市公安局", "市公安局_2024-06-30.csv", [EXPORT_HEADER, [3, "主办", "", "", "", ""]])
    path = tmp_path / "wh" / "duban.duckdb"
    run_refresh(path, settings, inbox=official, home=home, trusted_folders=[official])
    run_refresh(path, settings, inbox=shared, home=home)
    return path


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(WarehousePaths(warehouse).current_version()), read_only=True) as con:
        return con.execute(sql).fetchall()


LEADS = "SELECT suggestion_id, unit FROM assignments WHERE is_lead ORDER BY 1"
REPORTS = "SELECT unit, suggestion_id, reply_date::VARCHAR FROM handling_reports WHERE is_current ORDER BY 1, 2"


def test_a_forged_register_from_an_untrusted_inbox_is_held_and_the_figures_stay(tmp_path, warehouse, settings, home):
    leads, reports = query(warehouse, LEADS), query(warehouse, REPORTS)
    drop = tmp_path / "投递"
    place(drop, "交办台账_2099-01-01.csv", register(FORGED, assigned="2099-01-01"))

    report = run_refresh(warehouse, settings, inbox=drop, home=home)

    [hold] = report.held_files
    assert "不是受信任来源" in hold.reason
    assert query(warehouse, LEADS) == leads and query(warehouse, REPORTS) == reports
    status = refresh_status(warehouse, settings)
    [held] = status["held_files"]
    assert held["name"] == "交办台账_2099-01-01.csv" and "不是受信任来源" in held["reason"]
    assert all(f["original_name"] != "交办台账_2099-01-01.csv" for f in status["files"])

    from dashboard.app import create_app
    from dashboard.auth import LOCAL_VIEWER

    page = str(create_app(warehouse, settings=settings, home=home, auth=False).duban.render("/data", "", viewer=LOCAL_VIEWER))
    assert "交办台账_2099-01-01.csv" in page and "待确认的文件 (1)" in page


def test_a_trusted_register_that_moves_suggestions_or_is_dated_ahead_waits_for_acceptance(tmp_path, warehouse,
                                                                                        settings, home):
    official = tmp_path / "代表工委"
    place(official, "交办台账_调整.csv", register({1: "市公安局", 2: "市教育局", 3: "市公安局"}, co=""))
    [hold] = run_refresh(warehouse, settings, inbox=official, home=home, trusted_folders=[official]).held_files
    assert hold.changes == ["十八届一次 第1号 主办单位 市教育局 → 市公安局", "十八届一次 第1号 协办单位 市财政局 被删除",
                            "十八届一次 第2号 协办单位 市财政局 被删除", "十八届一次 第3号 协办单位 市财政局 被删除"]
    assert ("十八届一次-1", "市教育局") in query(warehouse, LEADS)

    place(official, "交办台账_未来.csv", register({4: "市教育局"}, assigned="2099-01-01"))
    holds = run_refresh(warehouse, settings, inbox=official, home=home, trusted_folders=[official]).held_files
    assert any("2099-01-01 晚于今天" in h.reason for h in holds)

    # a real 调整交办: once a supervisor accepts the listed changes it loads
    assert main(["etl", "accept", "交办台账_调整.csv", "--warehouse", str(warehouse), "--by", "alice"]) == 0
    run_refresh(warehouse, settings, home=home)
    assert ("十八届一次-1", "市公安局") in query(warehouse, LEADS)
    [entry] = appstate.audit_log(home, action="确认文件")
    assert entry["username"] == "alice" and "第1号 主办单位 市教育局 → 市公安局" in entry["detail"]


def test_the_genuine_register_sent_after_a_forgery_still_applies(tmp_path, warehouse, settings, home):
    drop = tmp_path / "投递"
    place(drop, "交办台账_2099-01-01.csv", register(FORGED, assigned="2099-01-01"))
    run_refresh(warehouse, settings, inbox=drop, home=home)

    official = tmp_path / "代表工委"
    place(official, "交办台账_补充.csv", register({**GENUINE, 4: "市教育局"}))
    report = run_refresh(warehouse, settings, inbox=official, home=home, trusted_folders=[official])

    assert [h.entry.original_name for h in report.held_files] == ["交办台账_2099-01-01.csv"]
    assert query(warehouse, LEADS) == [("十八届一次-1", "市教育局"), ("十八届一次-2", "市教育局"),
                                       ("十八届一次-3", "市公安局"), ("十八届一次-4", "市教育局")]


def test_a_file_in_another_units_folder_is_rejected_naming_both(tmp_path, warehouse, settings, home):
    before = query(warehouse, REPORTS)
    shared = tmp_path / "收件"
    place(shared / "市教育局", "市公安局_2026-11-29.csv", [EXPORT_HEADER, [3, "主办", "2024-05-20", "A类", "是", "满意"]])

    report = run_refresh(warehouse, settings, inbox=shared, home=home)

    [(name, reason)] = report.rejected_files
    assert name == "市公安局_2026-11-29.csv" and "市教育局" in reason and "市公安局" in reason
    assert query(warehouse, REPORTS) == before


def test_withdraw_takes_a_file_out_of_the_next_refresh_and_is_listed(tmp_path, warehouse, settings, home):
    assert ("市教育局", "十八届一次-1", "2024-05-10") in query(warehouse, REPORTS)
    code = main(["etl", "withdraw", "市教育局_2024-06-30.csv", "--why", "单位称报错了", "--warehouse", str(warehouse),
                 "--by", "alice"])
    assert code == 0

    run_refresh(warehouse, settings, home=home)

    assert all(unit != "市教育局" for unit, _, _ in query(warehouse, REPORTS))
    [withdrawn] = refresh_status(warehouse, settings)["withdrawn_files"]
    assert (withdrawn["name"], withdrawn["by"], withdrawn["why"]) == ("市教育局_2024-06-30.csv", "alice", "单位称报错了")
    assert appstate.audit_log(home, action="撤回文件")[0]["username"] == "alice"
    # the file is still archived, and a second withdrawal says so
    assert main(["etl", "withdraw", withdrawn["sha256"][:10], "--why", "再次", "--warehouse", str(warehouse)]) == 1


def test_a_unit_upload_claiming_another_unit_is_rejected(tmp_path, warehouse, settings, home):
    archive = Archive(WarehousePaths(warehouse).archive)
    upload = dict(settings=settings, aliases={}, known_units={"市教育局", "市公安局"}, uploader="jyj", role="unit",
                  unit="市教育局")
    data = (tmp_path / "x.csv")
    write_csv(data, [EXPORT_HEADER, [3, "主办", "2024-05-20", "A类", "是", "满意"]])
    with pytest.raises(provenance.ProvenanceError, match="市公安局.*市教育局"):
        provenance.receive_upload(archive, data.read_bytes(), "市公安局_2026-11-29.csv", **upload)

    # a neutral name, but the 填报单位 cell claims 公安局: the refresh rejects it whole
    write_csv(data, [["填报单位：市公安局  填报日期：2024年6月30日"], EXPORT_HEADER, [3, "主办", "2024-05-20", "A类", "是", "满意"]])
    entry = provenance.receive_upload(archive, data.read_bytes(), "../办理情况.csv", **upload)
    assert (entry.original_name, entry.uploader, entry.unit, entry.trusted) == ("办理情况.csv", "jyj", "市教育局", False)
    before = query(warehouse, REPORTS)
    [(name, reason)] = run_refresh(warehouse, settings, home=home).rejected_files
    assert name == "办理情况.csv" and "由 市教育局 的账号上传" in reason and "市公安局" in reason
    assert query(warehouse, REPORTS) == before


def test_the_unit_page_upload_is_confined_to_the_unit_and_audited(tmp_path, warehouse, settings, home):
    import base64

    import flask

    from dashboard.app import create_app
    from dashboard.auth import Viewer
    from dashboard.pages import unit as unit_page

    app = create_app(warehouse, settings=settings, home=home, auth=True)
    jyj = Viewer("jyj", "unit", "市教育局")
    body = write_csv(tmp_path / "x.csv", [EXPORT_HEADER, [1, "主办", "2024-05-20", "A类", "是", "满意"]]).read_bytes()
    contents = "data:text/csv;base64," + base64.b64encode(body).decode()
    with app.server.test_request_context("/_dash-update-component", method="POST"):
        flask.g.duban_viewer = jyj  # what the request guard sets for a logged-in account
        refused = unit_page.receive_upload(app.duban, contents, "市公安局_2026-11-29.csv", jyj)
        taken = unit_page.receive_upload(app.duban, contents, "市教育局_2024-07-01.csv", jyj)
    assert refused.color == "warning" and "市公安局" in str(refused.children)
    assert taken.color == "success"
    [entry] = [e for e in Archive(WarehousePaths(warehouse).archive).manifest().values() if e.uploader == "jyj"]
    assert (entry.original_name, entry.unit, entry.trusted) == ("市教育局_2024-07-01.csv", "市教育局", False)
    assert [e["action"] for e in appstate.audit_log(home, username="jyj")] == ["上传文件", "上传文件被拒"]


def test_a_supervisor_accepts_a_held_file_on_the_data_page(tmp_path, warehouse, settings, home):
    from dashboard.app import create_app
    from dashboard.auth import Viewer
    from dashboard.pages.data import accept_held_file

    drop = tmp_path / "投递"
    place(drop, "交办台账_补充.csv", register({**GENUINE, 4: "市教育局"}))
    [hold] = run_refresh(warehouse, settings, inbox=drop, home=home).held_files
    board = create_app(warehouse, settings=settings, home=home, auth=False).duban
    supervisor, leader = Viewer("alice", "supervisor", None), Viewer("lee", "leader", None)
    assert "核实无误, 确认接收" in str(board.render("/data", "", viewer=supervisor))
    assert "只有督办人员" in str(accept_held_file(board, leader, hold.entry.sha256))
    assert "已不在待确认之列" in str(accept_held_file(board, supervisor, "0" * 64))
    assert "已确认接收《交办台账_补充.csv》" in str(accept_held_file(board, supervisor, hold.entry.sha256))
    run_refresh(warehouse, settings, home=home)
    assert query(warehouse, LEADS)[-1] == ("十八届一次-4", "市教育局")

"""The unit directory (issue 17.3): the file's reasons name the row and column, units are matched
to the register's by the version's spelling rules, a supervisor uploads it on /data (audited; no
one else may), and only supervisors see it on /data and the unit pages."""

from __future__ import annotations

import base64

import flask
import pytest

from duban.core import appstate
from duban.core.settings import load_settings
from etl.directory import DirectoryError, match_units, read_unit_directory
from tests.files import write_csv, write_xlsx
from tests.warehouse_builder import make_warehouse

HEADER = ["单位", "联络员", "联系电话", "推送"]


def _read(tmp_path, rows, settings=None):
    return read_unit_directory(write_csv(tmp_path / "通讯录.csv", rows), settings or load_settings(None))


def test_the_file_is_read_and_its_mistakes_named(tmp_path):
    settings = load_settings(None, {"notify": {"targets": {"督办室群": {"kind": "wecom", "url": "http://127.0.0.1:9/x"}}}})
    rows = _read(tmp_path, [["2024年单位通讯录"], HEADER, ["教育局", "王老师", "13800000001", "督办室群"], [],
                            ["市交通局", "", "", "jt@example.org"]], settings)
    assert [(r.where, r.unit, r.liaison, r.push_target) for r in rows] == [
        ("《通讯录.csv》第3行", "教育局", "王老师", "督办室群"), ("《通讯录.csv》第5行", "市交通局", "", "jt@example.org")]
    with pytest.raises(DirectoryError, match=r"《通讯录.csv》第2行 推送 列 \"某群\" 既不是设置中的推送目标, 也不是邮箱或 http\(s\) 地址"):
        _read(tmp_path, [HEADER, ["市教育局", "王老师", "1", "某群"]])
    with pytest.raises(DirectoryError, match="第3行 单位 列为空"):
        _read(tmp_path, [HEADER, ["市教育局", "王老师", "1", ""], ["", "李工", "2", ""]])
    with pytest.raises(DirectoryError, match="找不到表头: 应有 单位、联络员、联系电话、推送 列"):
        _read(tmp_path, [["名称", "电话"], ["市教育局", "1"]])
    canonical = {"教育局": "市教育局"}.get
    with pytest.raises(DirectoryError, match="第3行 \"市教育局\" 与 《通讯录.csv》第2行 \"教育局\" 是同一单位"):
        match_units(_read(tmp_path, [HEADER, ["教育局", "", "", ""], ["市教育局", "", "", ""]]),
                    lambda name: canonical(name) or name, {"市教育局"})


@pytest.fixture
def app(tmp_path, home):
    from dashboard.app import create_app

    warehouse = make_warehouse(
        tmp_path, suggestions=[{"number": 1, "assigned_date": "2024-03-01"}],
        assignments=[{"number": 1, "unit": "市教育局"}, {"number": 1, "unit": "市交通局", "role": "协办"}])
    return create_app(warehouse, settings=load_settings(home), home=home, auth=True)


def _upload(tmp_path, rows) -> str:
    path = write_xlsx(tmp_path / "up.xlsx", {"通讯录": rows})
    return "data:application/octet-stream;base64," + base64.b64encode(path.read_bytes()).decode()


def test_a_supervisor_uploads_it_on_the_data_page_and_only_supervisors_see_it(tmp_path, app, home):
    from dashboard.auth import Viewer
    from dashboard.pages.data import receive_directory

    supervisor, leader = Viewer("alice", "supervisor", None), Viewer("lee", "leader", None)
    unit_account = Viewer("jyj", "unit", "市教育局")
    contents = _upload(tmp_path, [HEADER, ["教育局", "王老师", "13800000001", "wang@example.org"],
                                  ["市水务局", "赵工", "13800000003", ""]])
    board = app.duban
    with app.server.test_request_context("/_dash-update-component", method="POST"):
        assert "只有督办人员" in str(receive_directory(board, contents, "通讯录.xlsx", leader).children)
        flask.g.duban_viewer = supervisor
        taken = receive_directory(board, contents, "通讯录.xlsx", supervisor)
        refused = receive_directory(board, _upload(tmp_path, [HEADER, ["市教育局", "", "", "群"]]), "坏.xlsx", supervisor)
    assert taken.color == "success" and "已更新单位通讯录: 2 个单位" in str(taken.children)
    assert "《通讯录.xlsx》工作表 通讯录 第3行 \"市水务局\" 不是交办台账中的单位" in str(taken.children)
    assert refused.color == "warning" and "《坏.xlsx》工作表 通讯录 第2行 推送 列 \"群\"" in str(refused.children)
    assert appstate.unit_directory(home)["市教育局"] == {"unit": "市教育局", "liaison": "王老师", "phone": "13800000001",
                                                      "push_target": "wang@example.org"}
    assert [e["action"] for e in appstate.audit_log(home, username="alice")] == ["单位通讯录被拒", "单位通讯录"]

    data_page = str(board.render("/data", "", viewer=supervisor))
    assert "单位通讯录 (2 个单位)" in data_page and "邮件 wang@example.org" in data_page
    unit_page = str(board.render("/units/市教育局", "", viewer=supervisor))
    assert "王老师" in unit_page and "13800000001" in unit_page and "提醒推送到 邮件 wang@example.org" in unit_page
    for viewer in (leader, unit_account):
        for path, rendered in (("/data", "最近的刷新"), ("/units/市教育局", "unit-name")):
            shown = str(board.render(path, "", viewer=viewer))
            assert rendered in shown and "13800000001" not in shown and "directory-upload" not in shown

"""Follow-through where the issue lists it (issue 16.2, 16.4): the open 重办 on 总览, in the 催办清单
and the 通报; the key projects on /meeting. Warehouses of tests/test_followup.py, values worked by hand."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
from docx import Document

from dashboard.app import create_app
from dashboard.auth import LOCAL_VIEWER
from exports.report import write_report
from exports.xlsx import chase_list
from tests.test_dashboard_callbacks import by_id, text
from tests.test_followup import _key_tables, _rehandle_tables, ind_for
from tests.warehouse_builder import make_warehouse
from warehouse.indicators import Scope

D = date.fromisoformat
# 07-14: no. 2 (甲局, 不满意 06-12) is past its 重办期限 07-12 by 2 days; nos. 1 and 4 (甲局, 乙局; 06-15)
# are due 07-15, no. 3 (the congress's 不满意 06-20) 07-20 — none has replied again yet.
MID_JULY = D("2024-07-14")
OPEN = [(2, "甲局", "重办逾期", D("2024-07-12"), 2), (1, "甲局", "重办中", D("2024-07-15"), None),
        (4, "乙局", "重办中", D("2024-07-15"), None), (4, "甲局", "重办中", D("2024-07-15"), None),
        (3, "甲局", "重办中", D("2024-07-20"), None)]


def _open(rows) -> list[tuple]:
    return [(r["number"], r["unit"], r["state"], r["due_date"], r["days_overdue"]) for r in rows]


def test_attention_lists_the_open_rehandling(tmp_path):
    ind = ind_for(tmp_path, **_rehandle_tables())
    att = ind.attention(Scope(as_of=MID_JULY), 2)
    assert att["rehandle"]["count"] == 5 and _open(att["rehandle"]["rows"]) == OPEN[:2]
    # 08-31: nos. 2 (turned 满意) and 3 (re-replied 08-01) are answered; 1 and 4 (乙局) 47 days late.
    late = ind.attention(Scope(as_of=D("2024-08-31")), 10)["rehandle"]
    assert (late["count"], [(r["number"], r["unit"], r["days_overdue"]) for r in late["rows"]]) == (
        2, [(1, "甲局", 47), (4, "乙局", 47)])


def test_overview_shows_the_open_rehandling(tmp_path):
    board = create_app(make_warehouse(tmp_path, **_rehandle_tables()), home=tmp_path / "home", auth=False).duban
    panel = text(by_id(board.render("/", "?year=2024&as_of=2024-07-14", viewer=LOCAL_VIEWER), "attention-rehandle"))
    assert "不满意件待重办 (5 件次; 测评后 30 天内重新答复)" in panel
    assert "第2号" in panel and "重办逾期 2 天" in panel and "重办中 (期限 2024-07-15)" in panel
    assert "全部 5 条" in panel


def test_chase_list_has_a_sheet_of_open_rehandling(tmp_path):
    ind = ind_for(tmp_path, **_rehandle_tables())
    book = openpyxl.load_workbook(io.BytesIO(chase_list(ind, Scope(year=2024, as_of=MID_JULY))))
    assert book.sheetnames == ["催办清单", "不满意件重办", "按单位汇总"]
    sheet = list(book["不满意件重办"].iter_rows(values_only=True))
    header = sheet.index(next(r for r in sheet if r[0] == "年度"))
    rows = [dict(zip(sheet[header], r)) for r in sheet[header + 1:]]
    assert [(r["编号"], r["承办单位"], r["重办状态"], r["重办期限"].date(), r["超期天数"]) for r in rows] == OPEN
    assert "测评不满意后 30 天内应重新答复" in " ".join(str(r[0]) for r in sheet[:header])
    # a unit's list: its own open 重办 only
    one = openpyxl.load_workbook(io.BytesIO(chase_list(ind, Scope(year=2024, unit="乙局", as_of=MID_JULY))))
    assert [r[2] for r in one["不满意件重办"].iter_rows(values_only=True) if r[4] == "乙局"] == [4]
    # nothing open (before the first 不满意): no sheet
    none = openpyxl.load_workbook(io.BytesIO(chase_list(ind, Scope(year=2024, as_of=D("2024-06-10")))))
    assert "不满意件重办" not in none.sheetnames


def test_report_says_how_the_rehandling_stands_and_lists_the_late(tmp_path):
    ind = ind_for(tmp_path, **_rehandle_tables())
    out = write_report(ind, Scope(year=2024, as_of=D("2024-08-31")), tmp_path / "通报.docx")
    doc = Document(str(out))
    paragraphs = [p.text for p in doc.paragraphs]
    # 08-31 (test_followup): opened 5; 1 and 4 重办逾期, 3 re-replied, 2 turned 满意
    assert "（三）不满意件重办" in paragraphs and "（四）B类承诺未按期兑现" in paragraphs
    assert any("本年度共启动重办5次；按件计，重办逾期2件、重办中0件、已重新答复待再次测评1件、"
               "再次测评转为满意或基本满意1件。超过重办期限仍未重新答复的如下。" in p for p in paragraphs)
    table = next(t for t in doc.tables if t.rows[0].cells[3].text == "不满意\n测评日期")
    assert [[c.text for c in row.cells] for row in table.rows[1:]] == [
        ["第1号", "关于第1号事项的建议", "甲局", "2024-06-15", "2024-07-15", "47"],
        ["第4号", "关于第4号事项的建议", "乙局", "2024-06-15", "2024-07-15", "47"]]
    assert any("重办逾期的承办单位要立即重新答复代表" in p for p in paragraphs)


def test_meeting_shows_projects_in_leader_order_else_leaders(tmp_path):
    board = create_app(make_warehouse(tmp_path / "p", **_key_tables()), home=tmp_path / "h1", auth=False).duban
    panel = by_id(board.render("/meeting", "?year=2024&as_of=2024-06-30", viewer=LOCAL_VIEWER), "m-key-projects")
    # 张主任's 教育均衡 before 刘副主任's 城市更新 (by title, not code point); no. 2 overdue
    assert [" ".join(text(item).split()) for item in panel.children] == [
        "教育均衡 (张主任 督办, 教育局 牵头) : 1 件, 已办结 1 件 ✓ 无逾期",
        "城市更新 (刘副主任 督办, 住建局 牵头) : 2 件, 已办结 1 件 ⚠ 逾期 1 件"]
    # a register without projects keeps the per-leader panel
    plain = create_app(make_warehouse(tmp_path / "k", **{**_key_tables(), "suggestions": [
        {"number": n, "assigned_date": "2024-03-01", "is_key": True, "key_leader": "刘副主任"} for n in range(1, 7)]}),
        home=tmp_path / "h2", auth=False).duban
    page = text(plain.render("/meeting", "?year=2024&as_of=2024-06-30", viewer=LOCAL_VIEWER))
    assert "重点督办件 (按督办领导)" in page and "重点督办项目" not in page

"""The unit template: pre-filled from the warehouse, validated, and — once filled in — loaded by the
real ETL with zero rejections (parse_file, then a full refresh)."""

from __future__ import annotations

import shutil
from datetime import date, datetime

import openpyxl
import pytest

from duban.core.settings import load_settings
from etl.parse import parse_file
from etl.pipeline import run_refresh
from exports.template import HEADER_ROW, REPORT_DATE_CELL, SHEET, write_template
from tests.files import write_xlsx
from warehouse.connection import WarehousePaths, open_readonly
from warehouse.indicators import Indicators, Scope

EDU = "市教育局"
REGISTER = [
    ["建议编号", "届次", "年度", "类型", "标题", "领衔代表", "类别", "交办日期", "办理期限", "主办单位", "协办单位"],
    [1, "十八届一次", 2024, "大会建议", "关于加强中小学课后服务的建议", "王一", "教科文卫体类", date(2024, 3, 1),
     date(2024, 6, 1), EDU, "市财政局"],
    [2, "十八届一次", 2024, "大会建议", "关于优化公交线路的建议", "李二", "交通邮电类", date(2024, 3, 1),
     date(2024, 6, 1), "市交通运输局", ""],
    [3, "十八届一次", 2024, "大会建议", "=关于校园周边交通安全的建议", "张三", "教科文卫体类", date(2024, 3, 1),
     None, f"{EDU}、市交通运输局", "市公安局"],
    [4, "十八届一次", 2024, "大会建议", "关于学校食堂经费的建议", "赵四", "财政金融类", date(2024, 3, 1),
     date(2024, 6, 1), "市财政局", EDU],
]
# what the unit fills in, per 建议编号: 办理状态, 答复日期, 办理结果, 是否面商, 代表意见, 承诺事项, 承诺完成时限, 是否兑现
FILLED = {
    1: ["已办结", date(2024, 5, 10), "A类", "是", "满意", None, None, None],
    3: ["已答复", date(2024, 6, 10), "B类", "否", "基本满意", "年底前完成校门口改造", date(2024, 12, 31), "否"],
    4: ["协办意见已报送", date(2024, 3, 20), None, None, None, None, None, None],
}


@pytest.fixture()
def env(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("DUBAN_HOME", str(home))
    settings = load_settings(home=home)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_xlsx(inbox / "交办台账.xlsx", {"交办台账": REGISTER})
    warehouse = tmp_path / "wh" / "warehouse.duckdb"
    run_refresh(warehouse, settings, inbox=inbox, home=home, trusted_folders=[inbox])
    return settings, inbox, warehouse, home


def _indicators(warehouse, settings):
    conn = open_readonly(WarehousePaths(warehouse).current_version())
    return conn, Indicators(conn, settings)


def _rows(ws):
    header = [c.value for c in ws[HEADER_ROW]]
    return header, [dict(zip(header, [c.value for c in row])) for row in ws.iter_rows(min_row=HEADER_ROW + 1)]


def test_template_prefilled_and_validated(env, tmp_path):
    settings, _, warehouse, _ = env
    conn, ind = _indicators(warehouse, settings)
    try:
        out = write_template(ind, EDU, 2024, tmp_path / "模板.xlsx")
        expected = {r["number"]: r for r in ind.unit_assignments(Scope(year=2024, unit=EDU))}
    finally:
        conn.close()
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == [SHEET, "填表说明"]
    ws = book[SHEET]
    assert ws["A1"].value == "2024年代表建议办理情况填报表"
    assert ws["A2"].value == f"填报单位：{EDU}"
    assert ws["D2"].value == "填报日期：" and ws[REPORT_DATE_CELL].value is None
    header, rows = _rows(ws)
    assert header[:5] == ["建议编号", "届次", "建议标题", "承办方式", "办理期限"]
    # 市教育局 leads 1, shares the lead of 3, co-handles 4; not 2
    assert [r["建议编号"] for r in rows] == [1, 3, 4]
    for r in rows:
        e = expected[r["建议编号"]]
        assert r["届次"] == "十八届一次" and r["建议标题"] == e["title"] and r["承办方式"] == e["role"]
        assert r["办理期限"] == datetime.combine(e["deadline"], datetime.min.time())
    assert rows[2]["承办方式"] == "协办"
    # no. 3 had no 办理期限 in the register: 交办 2024-03-01 + 3 months by the default rule
    assert rows[1]["办理期限"] == datetime(2024, 6, 1)
    assert rows[1]["建议标题"] == "=关于校园周边交通安全的建议"
    assert ws.cell(row=HEADER_ROW + 2, column=3).data_type == "s"  # text, not a formula
    assert ws.cell(row=HEADER_ROW + 1, column=5).number_format == "yyyy-mm-dd"

    validations = {str(v.sqref): v for v in ws.data_validations.dataValidation}
    col = {h: openpyxl.utils.get_column_letter(i + 1) for i, h in enumerate(header)}
    first, last = HEADER_ROW + 1, HEADER_ROW + 3

    def rule(name):
        return validations[f"{col[name]}{first}:{col[name]}{last}"]

    assert rule("办理结果").type == "list" and rule("办理结果").formula1 == '"A类,B类,C类,D类"'
    assert rule("是否面商").formula1 == '"是,否"'
    assert rule("代表意见").formula1 == '"满意,基本满意,不满意,未表态"'
    for name in ("答复日期", "承诺完成时限", "延期至"):
        # "between" is OOXML's default operator, so it may be left out; 36526 = 2000-01-01, 73415 = 2100-12-31
        assert rule(name).type == "date" and rule(name).operator in (None, "between")
        assert (rule(name).formula1, rule(name).formula2) == ("36526", "73415")
    assert validations[REPORT_DATE_CELL].type == "date"
    notes = [c.value for c in book["填表说明"]["B"] if c.value]
    assert any("A类 已解决或基本解决" in n for n in notes)


def _fill(template, target, report_date):
    book = openpyxl.load_workbook(template)
    ws = book[SHEET]
    ws[REPORT_DATE_CELL] = report_date
    header, _ = _rows(ws)
    start = header.index("办理状态") + 1
    for row in ws.iter_rows(min_row=HEADER_ROW + 1):
        for offset, value in enumerate(FILLED[row[0].value]):
            if value is not None:
                ws.cell(row=row[0].row, column=start + offset, value=value)
    book.save(target)
    return target


def test_filled_template_loads_without_rejections(env, tmp_path):
    settings, inbox, warehouse, home = env
    conn, ind = _indicators(warehouse, settings)
    try:
        template = write_template(ind, EDU, 2024, tmp_path / "模板.xlsx")
    finally:
        conn.close()
    # a neutral file name: the sender and the report date must come from the cells
    filled = _fill(template, tmp_path / "填报表.xlsx", date(2024, 6, 30))

    parsed = parse_file(filled, "填报表.xlsx", settings)
    assert parsed.error is None
    assert parsed.kind == "unit_export"
    assert parsed.sender_unit == EDU and parsed.report_date == date(2024, 6, 30)
    assert parsed.rows_read == 3 and parsed.rejects == []
    rows = {r["number"]: r for r in parsed.rows.to_dicts()}
    assert rows[1]["role"] == "主办" and rows[4]["role"] == "协办"
    assert (rows[1]["reply_date"], rows[1]["result_class"], rows[1]["face_to_face"], rows[1]["evaluation"]) == (
        date(2024, 5, 10), "A", True, "满意")
    assert (rows[3]["reply_date"], rows[3]["result_class"], rows[3]["face_to_face"], rows[3]["evaluation"]) == (
        date(2024, 6, 10), "B", False, "基本满意")
    assert (rows[3]["promise_text"], rows[3]["promise_date"], rows[3]["promise_kept"]) == (
        "年底前完成校门口改造", date(2024, 12, 31), False)
    assert rows[4]["reply_date"] == date(2024, 3, 20) and rows[4]["result_class"] is None

    # the full refresh: register + filled template → every row loaded, none rejected
    shutil.copy(filled, inbox / "填报表.xlsx")
    run_refresh(warehouse, settings, inbox=inbox, home=home, trusted_folders=[inbox])
    conn, ind = _indicators(warehouse, settings)
    try:
        outcomes = dict(conn.execute("SELECT outcome, count(*) FROM row_outcomes o JOIN files f USING (file_id) "
                                     "WHERE f.original_name = '填报表.xlsx' GROUP BY 1").fetchall())
        assert outcomes == {"loaded": 3}
        m = ind.metrics(Scope(year=2024, unit=EDU, as_of=date(2024, 6, 30)))
    finally:
        conn.close()
    # by hand: 市教育局 leads 1 (replied 05-10) and 3 (replied 06-10): both completed
    assert (m["lead_assignments"], m["co_assignments"], m["completed"]) == (2, 1, 2)
    assert m["completion_rate"] == 1.0
    # 协办 no. 4: window ends 2024-04-01, opinion sent 03-20 → on time 1/1
    assert m["co_on_time_rate"] == 1.0 and m["unreported"] == 0


def _refresh_with(env, template, name, report_date, filled: dict[int, list]):
    """The unit sends ``template`` back as ``name``: rows in ``filled`` get those values (None:
    the cell as the template had it), every other row is left as it came."""
    settings, inbox, warehouse, home = env
    book = openpyxl.load_workbook(template)
    ws = book[SHEET]
    ws[REPORT_DATE_CELL] = report_date
    header, _ = _rows(ws)
    start = header.index("办理状态") + 1
    for row in ws.iter_rows(min_row=HEADER_ROW + 1):
        for offset, value in enumerate(filled.get(row[0].value, [])):
            if value is not None:
                ws.cell(row=row[0].row, column=start + offset, value=value)
    book.save(inbox / name)
    run_refresh(warehouse, settings, inbox=inbox, home=home, trusted_folders=[inbox])


def _unit_figures(env):
    settings, _, warehouse, _ = env
    conn, ind = _indicators(warehouse, settings)
    try:
        m = ind.metrics(Scope(year=2024, unit=EDU, as_of=date(2024, 7, 31)))
        changes = conn.execute("SELECT count(*) FROM handling_changes").fetchall()[0][0]
    finally:
        conn.close()
    keys = ("completed", "overdue", "evaluated", "face_count", "class_counts", "co_on_time_rate", "unreported",
            "promise_due", "satisfied_rate")
    return {k: m.get(k) for k in keys}, changes


def _template(env, out):
    settings, _, warehouse, _ = env
    conn, ind = _indicators(warehouse, settings)
    try:
        return write_template(ind, EDU, 2024, out)
    finally:
        conn.close()


def test_a_template_sent_back_unchanged_changes_nothing(env, tmp_path):
    _refresh_with(env, _template(env, tmp_path / "模板.xlsx"), "第一次.xlsx", date(2024, 6, 30), FILLED)
    before, _ = _unit_figures(env)

    again = _template(env, tmp_path / "模板2.xlsx")
    _, rows = _rows(openpyxl.load_workbook(again)[SHEET])
    by_number = {r["建议编号"]: r for r in rows}
    # the template carries what the unit reported, spelt as its dropdowns spell it
    assert [by_number[3][h] for h in ("办理状态", "答复日期", "办理结果", "是否面商", "代表意见", "承诺事项", "是否兑现")] == [
        "已答复", datetime(2024, 6, 10), "B类", "否", "基本满意", "年底前完成校门口改造", "否"]
    _refresh_with(env, again, "第二次.xlsx", date(2024, 7, 15), {})

    after, changes = _unit_figures(env)
    assert after == before and changes == 0
    assert before["completed"] == 2 and before["class_counts"]["B"] == 1


def test_the_round_trip_of_issue_13_loses_nothing(env, tmp_path):
    """A unit's second report gives one new reply and leaves the other rows blank (as the old,
    unfilled template came): what it reported the first time stands, the counts are exact."""
    blank_template = _template(env, tmp_path / "空模板.xlsx")
    _refresh_with(env, blank_template, "第一次.xlsx", date(2024, 6, 30), {1: FILLED[1], 4: FILLED[4]})
    first, _ = _unit_figures(env)
    assert first["completed"] == 1 and first["co_on_time_rate"] == 1.0

    _refresh_with(env, blank_template, "第二次.xlsx", date(2024, 7, 15), {3: FILLED[3]})
    after, changes = _unit_figures(env)
    # by hand: 1 (05-10, A, 面商, 满意) still stands, 3 replied 06-10 (B, 基本满意); co-handled 4 still on time
    assert after["completed"] == 2 and after["class_counts"] == {"A": 1, "B": 1, "C": 0, "D": 0}
    assert after["face_count"] == 1 and after["evaluated"] == 2 and after["co_on_time_rate"] == 1.0
    assert after["unreported"] == 0 and changes == 0

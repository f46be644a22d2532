"""etl/recognise.py: header row, two-level headers, file kind, sender, report date and hints."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from etl.model import EVALUATION, REGISTER, UNIT_EXPORT
from etl.read import RawSheet
from etl.recognise import (
    UNRECOGNISED,
    UnrecognisedFile,
    classify,
    find_header,
    header_key,
    header_table,
    recognise,
    sender_in_cells,
    unit_from_filename,
    year_in_text,
)


def raw(rows: list[list], name: str | None = "Sheet1") -> RawSheet:
    width = max(len(r) for r in rows)
    frame = pl.DataFrame(
        {f"c{i}": [r[i] if i < len(r) else None for r in rows] for i in range(width)},
        schema={f"c{i}": pl.Utf8 for i in range(width)},
    )
    return RawSheet(name, frame)


def test_header_key_normalises_spelling():
    assert header_key(" 建议\n编号＊") == "建议编号"
    assert header_key("*答复日期：") == "答复日期"
    assert header_key("ＮＯ．") == "NO."
    table = header_table()
    assert table.match("答复日期（年/月/日）") == "reply_date"
    assert table.match("建 议 编 号") == "number"
    assert table.match("办理结果满意度") == "evaluation"
    assert table.match("办理结果") == "result_class"
    assert table.match("2024年市人大代表建议办理情况统计表") is None


def test_header_below_title_rows():
    sheet = raw([["2024年建议办理情况统计表"], ["填报单位：市教育局"], [], ["序号", "建议编号", "答复日期", "办理结果"], ["1", "12", "2024-05-01", "A"]])
    header = find_header(sheet.cells, header_table())
    assert (header.first, header.last) == (3, 3)
    assert header.columns == {"serial": ["c0"], "number": ["c1"], "reply_date": ["c2"], "result_class": ["c3"]}


def test_two_level_merged_header_takes_the_lower_cell_under_a_group_label():
    sheet = raw([
        ["建议编号", "标题", "办理情况", None, "代表意见"],
        [None, None, "答复日期", "办理结果", None],
        ["12", "x", "2024-05-01", "A", "满意"],
    ])
    header = find_header(sheet.cells, header_table())
    assert (header.first, header.last) == (0, 1)
    assert header.columns == {
        "number": ["c0"], "title": ["c1"], "reply_date": ["c2"], "result_class": ["c3"], "evaluation": ["c4"]
    }
    assert header.labels["c2"] == "答复日期"


def test_classify():
    assert classify({"number", "title", "lead_units", "co_units", "assigned_date"}) == REGISTER
    assert classify({"number", "reply_date", "result_class"}) == UNIT_EXPORT
    assert classify({"serial", "role", "title"}) == UNIT_EXPORT
    assert classify({"number", "lead_units", "reply_satisfaction", "implementation_satisfaction"}) == EVALUATION
    assert classify({"number", "lead_units", "evaluation", "evaluation_date"}) == EVALUATION
    assert classify({"title", "reply_date"}) is None  # no number column
    assert classify({"number", "title"}) is None


@pytest.mark.parametrize(
    "name,unit",
    [("市教育局_2024-06-30.xlsx", "市教育局"), ("2024年市教育局办理情况.xlsx", "市教育局"),
     ("市财政局建议办理情况汇总表(1).xls", "市财政局"), ("附件2：市卫健委2024年6月30日统计表.csv", "市卫健委"),
     ("十八届一次 市交通局 办理情况.xlsx", "市交通局"), ("2024-06-30.xlsx", None), ("办理情况汇总.xlsx", None)],
)
def test_unit_from_filename(name, unit):
    assert unit_from_filename(name) == unit


def test_years_and_senders_in_text():
    assert year_in_text("2024年市人大代表建议办理情况统计表") == 2024
    assert year_in_text("截至2024年6月30日") is None  # a full date is a report date, not a year
    assert year_in_text("市教育局2023", bare=True) == 2023
    assert sender_in_cells(["填报单位：市教育局  填报日期：2024年6月30日"]) == "市教育局"
    assert sender_in_cells(["填报单位:市教育局（盖章）"]) == "市教育局"
    assert sender_in_cells(["2024年办理情况"]) is None


EXPORT = [["建议编号", "答复日期", "办理结果"], ["12", "2024-05-01", "A"]]


def test_report_date_sources_in_order():
    mtime = datetime(2024, 8, 1, 9, 30)
    cell = recognise([raw([["填报日期：2024年7月1日"], *EXPORT])], "市教育局_2024-06-30.xlsx", mtime)
    assert (cell.report_date, cell.report_date_source) == (date(2024, 7, 1), "单元格")
    title = recognise([raw([["截至2024年6月15日建议办理情况"], *EXPORT])], "市教育局_2024-06-30.xlsx", mtime)
    assert (title.report_date, title.report_date_source) == (date(2024, 6, 15), "标题")
    named = recognise([raw(EXPORT)], "市教育局_2024-06-30.xlsx", mtime)
    assert (named.report_date, named.report_date_source) == (date(2024, 6, 30), "文件名")
    fallback = recognise([raw(EXPORT)], "市教育局.xlsx", mtime)
    assert (fallback.report_date, fallback.report_date_source) == (date(2024, 8, 1), "文件时间")
    assert fallback.sender_unit == "市教育局"


def test_sender_from_cell_wins_over_file_name_and_column_over_name():
    cell = recognise([raw([["填报单位：市财政局"], *EXPORT])], "市教育局.xlsx")
    assert cell.sender_unit == "市财政局"
    column = recognise(
        [raw([["建议编号", "承办单位", "答复日期"], ["1", "市民政局", None], ["2", "市民政局", None]])], "导出.xlsx"
    )
    assert column.sender_unit == "市民政局"


def test_hints_from_sheet_name_title_and_file_name():
    plan = recognise(
        [raw([["十八届一次会议建议办理情况"], *EXPORT], name="2024年 协办"), raw(EXPORT, name="主办")],
        "市教育局 十八届二次.xlsx",
    )
    first, second = plan.sheets
    assert (first.session_hint, first.year_hint, first.role_hint) == ("十八届一次", 2024, "协办")
    assert (second.session_hint, second.year_hint, second.role_hint) == ("十八届二次", None, "主办")


def test_explanation_sheets_and_unknown_sheets_are_skipped():
    plan = recognise(
        [raw([["填表说明"], ["建议编号", "答复日期"]], name="说明"), raw(EXPORT, name="数据"), raw([["随便写的"]], name="草稿")],
        "市教育局.xlsx",
    )
    assert plan.sheet_names == ["数据"]
    assert plan.notes == ["工作表 草稿 未找到可识别的表头, 已跳过"]


def test_unrecognisable_file():
    with pytest.raises(UnrecognisedFile) as info:
        recognise([raw([["姓名", "电话"], ["张三", "123"]])], "通讯录.xlsx")
    assert str(info.value) == UNRECOGNISED == "无法识别文件类型: 未找到 建议编号 等表头"


def test_serial_is_the_number_only_without_another_number_column():
    with_number = recognise([raw([["序号", "建议编号", "答复日期"], ["1", "12", None]])], "a.xlsx")
    assert with_number.sheets[0].columns["number"] == ["c1"] and "serial" not in with_number.sheets[0].columns
    assert with_number.sheets[0].serial_columns == ("c0",)
    serial_only = recognise([raw([["序号", "答复日期", "办理结果"], ["1", None, None]])], "a.xlsx")
    assert serial_only.sheets[0].columns["serial"] == ["c0"]


def test_export_without_any_sender_gets_a_note():
    plan = recognise([raw(EXPORT)], "导出数据(1).xlsx")
    assert plan.sender_unit is None
    assert plan.notes == ["未能确定报送单位: 表中没有 承办单位/填报单位, 文件名中也没有单位名称"]

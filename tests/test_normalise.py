"""etl/normalise.py: the value parsers, one rule each, and the sheet normaliser's row handling."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from etl.model import REGISTER, SCHEMAS, UNIT_EXPORT
from etl.normalise import (
    InvalidValue,
    SheetInput,
    canonical_category,
    canonical_session,
    clean_token,
    normalise_sheet,
    parse_date,
    parse_evaluation,
    parse_face_to_face,
    parse_kind,
    parse_number,
    parse_result_class,
    parse_role,
    parse_year,
    parse_yes_no,
    split_people,
    split_units,
    unit_key,
)


@pytest.mark.parametrize(
    "value",
    ["2024-03-05", "2024/3/5", "2024.3.5", "2024年3月5日", "20240305", "45356", "45356.5",
     "2024-03-05 00:00:00", "2024-03-05 14:30", "２０２４年３月５日", " 2024 年 3 月 5 日 ",
     date(2024, 3, 5), datetime(2024, 3, 5, 9, 0), 45356, 45356.0, 20240305],
)
def test_dates_in_every_form(value):
    # 45356 days after 1899-12-30 (Excel's 1900 system): 2024-03-05
    assert parse_date(value) == date(2024, 3, 5)


@pytest.mark.parametrize("value", [None, "", "  ", "未答复", "待定", "无", "空", "-", "/", "未办理", "—", "--"])
def test_words_meaning_no_date(value):
    assert parse_date(value) is None


@pytest.mark.parametrize("value", ["2024年13月5日", "2024-02-30", "明天", "3月5日", "12", "1800-01-01", "45356abc"])
def test_invalid_dates(value):
    with pytest.raises(InvalidValue, match="不是有效日期"):
        parse_date(value)


@pytest.mark.parametrize("value", ["第12号", "12", "0012", "建议第12号", "2024-012", "１２", "12.0", " 12 ", "第012号建议"])
def test_suggestion_numbers(value):
    assert parse_number(value) == 12


@pytest.mark.parametrize("value", ["abc", "0", "第号", "12a", "-5"])
def test_invalid_numbers(value):
    with pytest.raises(InvalidValue, match="不是有效的建议编号"):
        parse_number(value)


def test_blank_number_is_none():
    assert parse_number("  ") is None


@pytest.mark.parametrize(
    "text", ["十八届一次", "市十八届人大一次会议", "第十八届人民代表大会第一次会议", "18-1", "18届1次", "十八届 一次"]
)
def test_sessions(text):
    assert canonical_session(text) == "十八届一次"


def test_other_sessions():
    assert canonical_session("第二十届人民代表大会第三次会议") == "二十届三次"
    assert canonical_session("十届十次") == "十届十次"
    assert canonical_session("2024-06-30") is None
    assert canonical_session("关于学校的建议") is None
    assert canonical_session(None) is None


def test_years():
    assert parse_year("2024") == 2024
    assert parse_year("2024年度") == 2024
    assert parse_year("2024.0") == 2024
    assert parse_year("") is None
    with pytest.raises(InvalidValue, match="不是有效年份"):
        parse_year("24年")


def test_unit_key_matches_spellings():
    cities = ["成都市"]
    for spelling in ["成都市教育局", "市教育局", "教育局", "市教育局（市语委）", "市教育局(市语委)", " 市 教育局\n", "市教育局\u00a0"]:
        assert unit_key(spelling, cities) == "教育局", spelling
    assert unit_key("示范市财政局", ["示范"]) == "财政局"  # city without 市, then the leading 市
    assert unit_key("市", ["成都市"]) == "市"


def test_split_units():
    assert split_units("市教育局、市财政局，市民政局,市公安局;市卫健委；市交通局/市水务局\n市 文旅局") == [
        "市教育局", "市财政局", "市民政局", "市公安局", "市卫健委", "市交通局", "市水务局", "市文旅局"
    ]
    assert split_units("市教育局（市语委）") == ["市教育局(市语委)"]
    assert split_units(None) == []


@pytest.mark.parametrize(
    "value,expected",
    [("A", "A"), ("A类", "A"), ("Ａ类", "A"), ("a", "A"), ("甲", "A"), ("甲类", "A"), ("已解决或基本解决", "A"),
     ("已解决", "A"), ("基本解决", "A"), ("B", "B"), ("乙", "B"), ("正在解决", "B"), ("列入计划逐步解决", "B"),
     ("计划解决", "B"), ("C", "C"), ("丙", "C"), ("因条件限制需以后解决", "C"), ("暂时难以解决", "C"),
     ("列入规划", "C"), ("D", "D"), ("D类", "D"), ("留作参考", "D"), ("A类（已解决）", "A"), ("", None)],
)
def test_result_classes(value, expected):
    assert parse_result_class(value) == expected


def test_unknown_result_class():
    with pytest.raises(InvalidValue, match="不是有效的答复分类"):
        parse_result_class("E类")


def test_evaluations():
    assert [parse_evaluation(v) for v in ["满意", "基本满意", "比较满意", "不满意", "", "未反馈", "未测评", "未表态"]] == [
        "满意", "基本满意", "基本满意", "不满意", None, None, None, None
    ]
    with pytest.raises(InvalidValue, match="不是有效的满意度"):
        parse_evaluation("很好")


def test_roles_and_kinds():
    assert [parse_role(v) for v in ["主办", "协办", "分办", "会办", "牵头"]] == ["主办", "协办", "分办", "协办", "主办"]
    with pytest.raises(InvalidValue):
        parse_role("旁观")
    assert [parse_kind(v) for v in ["大会建议", "闭会建议", "大会", "闭会", "会后"]] == [
        "大会建议", "闭会建议", "大会建议", "闭会建议", "闭会建议"
    ]


def test_yes_no_and_face_to_face():
    yes = ["是", "√", "✓", "Y", "y", "1", "1.0", "重点", "对"]
    no = ["否", "N", "0", "错", "×"]
    assert [parse_yes_no(v) for v in yes] == [True] * len(yes)
    assert [parse_yes_no(v) for v in no] == [False] * len(no)
    assert parse_yes_no("") is None
    assert [parse_face_to_face(v) for v in ["面商", "是", "电话", "书面", "否", "未面商", "电话沟通"]] == [
        True, True, False, False, False, False, False
    ]


def test_categories_and_people():
    assert canonical_category("教科文卫体") == "教科文卫体类"
    assert canonical_category("教科文卫体类") == "教科文卫体类"
    assert canonical_category("其他") == "其他"
    assert canonical_category("其它") == "其他"
    assert canonical_category("城乡建设与管理") == "城乡建设与管理类"
    assert split_people("张三、李四，王五") == ("张三、李四、王五", 3)
    assert split_people("5") == (None, 5)
    assert split_people("12人") == (None, 12)
    assert clean_token("１２\u00a0号") == "12号"


def sheet_input(rows: list[list], columns: dict[str, list[str]], **hints) -> SheetInput:
    width = max(len(r) for r in rows)
    data = pl.DataFrame(
        {f"c{i}": [r[i] if i < len(r) else None for r in rows] for i in range(width)},
        schema={f"c{i}": pl.Utf8 for i in range(width)},
    ).with_row_index("row_no", offset=2)
    labels = {col: label for label, cols in columns.items() for col in cols}
    fields = {
        "建议编号": "number", "答复日期": "reply_date", "办理结果": "result_class", "主办单位": "lead_units",
        "协办单位": "co_units", "分办单位": "split_units", "标题": "title", "办理期限": "deadline",
    }
    return SheetInput(
        sheet="S", data=data, columns={fields[k]: v for k, v in columns.items()},
        labels=labels, **hints,
    )


def test_export_rows_skip_blank_total_and_signature_rows():
    rows = [
        ["1", "2024-05-10", "A"],
        [None, " ", None],  # blank: not a data row
        ["2", "未答复", None],
        ["3", "2024年13月5日", "B"],
        ["合计", None, None],
        ["填表人：张三", "联系电话：123", None],
        ["注：日期按年月日填写", None, None],
    ]
    sheet = sheet_input(rows, {"建议编号": ["c0"], "答复日期": ["c1"], "办理结果": ["c2"]}, role_hint="协办")
    frame, rejects, _ = normalise_sheet(UNIT_EXPORT, sheet, "市教育局")
    assert frame.schema == pl.Schema(SCHEMAS[UNIT_EXPORT])
    assert frame.select("row_no", "number", "reply_date", "result_class", "unit", "role").rows() == [
        (2, 1, date(2024, 5, 10), "A", "市教育局", "协办"),
        (4, 2, None, None, "市教育局", "协办"),
    ]
    assert [(r.row_no, r.column, r.value, r.reason) for r in rejects] == [
        (5, "答复日期", "2024年13月5日", '第5行 答复日期 "2024年13月5日" 不是有效日期')
    ]


def test_register_leads_split_and_missing():
    rows = [
        ["1", "标题一", "市教育局", None, "市财政局、市民政局", None],
        ["2", "标题二", "市教育局\n市公安局", None, None, "2024-06-30"],
        ["3", "标题三", None, "市交通局，市水务局", None, None],
        ["4", "标题四", None, None, None, None],
        [None, "标题五", "市教育局", None, None, None],
    ]
    sheet = sheet_input(
        rows, {"建议编号": ["c0"], "标题": ["c1"], "主办单位": ["c2"], "分办单位": ["c3"], "协办单位": ["c4"], "办理期限": ["c5"]}
    )
    frame, rejects, _ = normalise_sheet(REGISTER, sheet, None)
    assert frame.schema == pl.Schema(SCHEMAS[REGISTER])
    assert frame.select("number", "lead_units", "lead_role", "co_units", "deadline").rows() == [
        (1, ["市教育局"], "主办", ["市财政局", "市民政局"], None),
        (2, ["市教育局", "市公安局"], "分办", [], date(2024, 6, 30)),
        (3, ["市交通局", "市水务局"], "分办", [], None),
    ]
    assert [r.reason for r in rejects] == ["第5行 缺少主办单位", "第6行 缺少建议编号"]


def test_1904_serial_dates():
    assert parse_date("43894", date1904=True) == date(2024, 3, 5)
    assert parse_date("45356", date1904=False) == date(2024, 3, 5)


def test_month_end_deadlines():
    assert parse_date("2024年6月底") == date(2024, 6, 30)
    assert parse_date("2024年12月底") == date(2024, 12, 31)
    assert parse_date("2024年2月末") == date(2024, 2, 29)
    with pytest.raises(InvalidValue):
        parse_date("2024年13月底")

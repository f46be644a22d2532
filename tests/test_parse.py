"""etl/parse.py end to end: real-world file shapes in, ParsedFile out, never an exception."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from duban.core.settings import load_settings
from etl.model import EVALUATION, REGISTER, SCHEMAS, UNIT_EXPORT, ParsedFile
from etl.parse import INTERNAL_ERROR, parse_file
from files import write_csv, write_xls, write_xlsx


@pytest.fixture
def settings(tmp_path):
    return load_settings(home=tmp_path)


def assert_consistent(parsed: ParsedFile) -> None:
    assert parsed.error is None, parsed.error
    assert parsed.rows.schema == pl.Schema(SCHEMAS[parsed.kind])
    assert parsed.rows_read == parsed.rows.height + len(parsed.rejects)


def test_unit_export_as_real_offices_send_it(tmp_path, settings):
    header_upper = ["序号", "建议编号", "标题", "办理情况", None, "是否面商", "代表意见"]
    rows = [
        ["2024年市人大代表建议办理情况统计表"],
        ["填报单位：市教育局", None, None, "填报日期：2024年7月1日"],
        [],
        header_upper,
        [None, None, None, "答复日期", "办理结果", None, None],
        [1, "第12号", "关于加强\n学校周边交通管理的建议", date(2024, 5, 10), "Ａ类", "面商", "满意"],  # row 6
        [2, "１３", '=HYPERLINK("x")', 45427, "乙", "电话", "比较满意"],  # serial 45427 = 2024-05-15
        [3, "14", "+86 测试", "未答复", None, None, None],
        [4],  # only the pre-filled 序号: not a data row
        [],
        [5, "15", "-负号开头", "2024.6.1", "C", "书面", "不满意"],  # row 11
        [6, "16", "@提及", "20240602", "D", "√", ""],
        [7, "17", "标题", datetime(2024, 6, 3, 10, 20), "留作参考", "否", "未表态"],
        [8, "18", "x", "2024年13月5日", "A", "是", "满意"],  # row 14
        [9, "19", "y", "2024-06-04", "E", None, None],
        [],
        ["填表人：张三", None, "联系电话：13800000000"],
        ["备注：以上数据截至6月30日"],
    ]
    merges = [(3, 3, 3, 4, "办理情况")] + [(3, c, 4, c, header_upper[c]) for c in (0, 1, 2, 5, 6)]
    path = write_xlsx(
        tmp_path / "upload.bin",
        {"说明": [["填表说明"], ["1. 办理结果填 A/B/C/D"]], "主办": rows},
        merges={"主办": merges},
    )
    parsed = parse_file(path, "市教育局_2024-06-30.xlsx", settings)
    assert_consistent(parsed)
    assert parsed.kind == UNIT_EXPORT
    assert (parsed.sender_unit, parsed.report_date, parsed.report_date_source) == ("市教育局", date(2024, 7, 1), "单元格")
    assert parsed.sheets == ["主办"]
    assert parsed.rows_read == 8
    got = parsed.rows.select(
        "row_no", "number", "title", "reply_date", "result_class", "face_to_face", "evaluation"
    ).rows()
    assert got == [
        (6, 12, "关于加强学校周边交通管理的建议", date(2024, 5, 10), "A", True, "满意"),
        (7, 13, '=HYPERLINK("x")', date(2024, 5, 15), "B", False, "基本满意"),
        (8, 14, "+86 测试", None, None, None, None),
        (11, 15, "-负号开头", date(2024, 6, 1), "C", False, "不满意"),
        (12, 16, "@提及", date(2024, 6, 2), "D", True, None),
        (13, 17, "标题", date(2024, 6, 3), "D", False, None),
    ]
    assert set(parsed.rows["unit"]) == {"市教育局"}
    assert set(parsed.rows["role"]) == {"主办"}  # from the sheet name
    assert set(parsed.rows["year_hint"]) == {2024}  # from the title row
    assert [(r.sheet, r.row_no, r.column, r.value, r.reason) for r in parsed.rejects] == [
        ("主办", 14, "答复日期", "2024年13月5日", '第14行 答复日期 "2024年13月5日" 不是有效日期'),
        ("主办", 15, "办理结果", "E", '第15行 办理结果 "E" 不是有效的答复分类'),
    ]


def test_register_csv_in_gbk(tmp_path, settings):
    header = ["建议编号", "届次", "类型", "标题", "领衔代表", "附议代表", "类别", "交办日期", "办理期限",
              "主办单位", "协办单位", "是否重点督办", "督办领导"]
    rows = [
        header,
        ["第1号", "市十八届人大一次会议", "大会", "关于A的建议", "张  三", "李四、王五", "教科文卫体", "2024/3/1", "",
         "市教育局", "市财政局，市民政局", "√", "王主任"],
        ["2024-002", "十八届一次", "闭会", "关于B", "李四", "3", "交通邮电类", "2024年3月1日", "2024-06-30",
         "市交通局、市公安局", "", "", ""],
        ["0003", "18-1", "会后", "关于C", "王五", "", "其他", "20240301", "", "市住建局", "", "否", ""],
        [""] * 13,
        ["4", "十八届一次", "大会", "关于D", "赵六", "", "其它", "2024-03-01", "待定", "", "", "", ""],
        ["x4", "十八届一次", "大会", "关于E", "孙七", "", "其他", "2024-03-01", "", "市教育局", "", "", ""],
    ]
    path = write_csv(tmp_path / "f.csv", rows, encoding="gbk")
    parsed = parse_file(path, "2024年交办台账.csv", settings)
    assert_consistent(parsed)
    assert (parsed.kind, parsed.sender_unit, parsed.report_date, parsed.sheets) == (REGISTER, None, None, [])
    assert parsed.rows_read == 5
    got = parsed.rows.select(
        "row_no", "number", "session", "year", "kind", "title", "lead_deputy", "cosigners", "cosigner_count",
        "category", "assigned_date", "deadline", "lead_units", "lead_role", "co_units", "is_key", "key_leader",
    ).rows()
    assert got == [
        (2, 1, "十八届一次", None, "大会建议", "关于A的建议", "张三", "李四、王五", 2, "教科文卫体类",
         date(2024, 3, 1), None, ["市教育局"], "主办", ["市财政局", "市民政局"], True, "王主任"),
        (3, 2, "十八届一次", 2024, "闭会建议", "关于B", "李四", None, 3, "交通邮电类",
         date(2024, 3, 1), date(2024, 6, 30), ["市交通局", "市公安局"], "分办", [], False, None),
        (4, 3, "十八届一次", None, "闭会建议", "关于C", "王五", None, None, "其他",
         date(2024, 3, 1), None, ["市住建局"], "主办", [], False, None),
    ]
    assert set(parsed.rows["year_hint"]) == {2024}
    assert [r.reason for r in parsed.rejects] == ["第6行 缺少主办单位", '第7行 建议编号 "x4" 不是有效的建议编号']


def test_evaluation_file_as_xls(tmp_path, settings):
    rows = [
        ["建议编号", "主办单位", "答复满意度", "落实满意度", "测评日期"],
        [12, "市教育局", "满意", "基本满意", date(2024, 9, 1)],
        [13, "市财政局", "不满意", "未测评", "2024-09-02"],
    ]
    parsed = parse_file(write_xls(tmp_path / "e.xls", {"测评": rows}), "满意度测评.xls", settings)
    assert_consistent(parsed)
    assert parsed.kind == EVALUATION
    assert parsed.rows.select(
        "number", "unit", "reply_satisfaction", "implementation_satisfaction", "evaluation_date"
    ).rows() == [
        (12, "市教育局", "满意", "基本满意", date(2024, 9, 1)),
        (13, "市财政局", "不满意", None, date(2024, 9, 2)),
    ]


def test_utf16_export_with_role_and_unit_columns(tmp_path, settings):
    rows = [
        ["建议编号", "承办单位", "承办方式", "答复日期"],
        ["12", "市教育局（市语委）", "会办", "2024-05-01"],
        ["13", " 市教育局 ", "主办", ""],
    ]
    parsed = parse_file(write_csv(tmp_path / "x.csv", rows, encoding="utf-16"), "导出数据.csv", settings,
                        file_mtime=datetime(2024, 7, 2, 8, 0))
    assert_consistent(parsed)
    assert parsed.rows.select("number", "unit", "role", "reply_date").rows() == [
        (12, "市教育局(市语委)", "协办", date(2024, 5, 1)),
        (13, "市教育局", "主办", None),
    ]
    assert (parsed.report_date, parsed.report_date_source) == (date(2024, 7, 2), "文件时间")


def test_one_sheet_per_role(tmp_path, settings):
    header = ["建议编号", "答复日期", "办理结果"]
    path = write_xlsx(tmp_path / "a.xlsx", {
        "主办件": [header, ["1", "2024-05-01", "A"]],
        "协办件": [["建议编号", "协办意见报送日期"], ["2", "2024-04-01"], ["3", None]],
    })
    parsed = parse_file(path, "2024年市财政局办理情况.xlsx", settings)
    assert_consistent(parsed)
    assert parsed.sheets == ["主办件", "协办件"]
    assert parsed.rows.select("sheet", "number", "role", "unit", "reply_date").rows() == [
        ("主办件", 1, "主办", "市财政局", date(2024, 5, 1)),
        ("协办件", 2, "协办", "市财政局", date(2024, 4, 1)),
        ("协办件", 3, "协办", "市财政局", None),
    ]


def test_duplicated_rows_are_kept(tmp_path, settings):
    rows = [["建议编号", "答复日期"], ["1", "2024-05-01"], ["1", "2024-05-01"]]
    parsed = parse_file(write_csv(tmp_path / "d.csv", rows), "市教育局.csv", settings)
    assert parsed.rows.height == 2 and parsed.rows_read == 2


@pytest.mark.parametrize(
    "content,reason",
    [
        (b"%PDF-1.4\n1 0 obj<<>>endobj\n", "文件无法读取: 这是PDF文件, 无法读取表格: 请报送生成它的 Excel 或 Word 原文件, 或把表格复制到 Excel 另存为 .xlsx 后重新报送"),
        (bytes(range(256)) * 4, "文件无法读取: 不是有效的Excel或CSV文件"),
        (b"", "文件没有数据行 (空文件)"),
        ("建议编号,答复日期,办理结果\r\n".encode(), "文件没有数据行"),
        ("姓名,电话\r\n张三,123\r\n".encode(), "无法识别文件类型: 未找到 建议编号 等表头"),
    ],
)
def test_whole_file_rejections(tmp_path, settings, content, reason):
    path = tmp_path / "办理情况.xlsx"
    path.write_bytes(content)
    parsed = parse_file(path, path.name, settings)
    assert (parsed.error, parsed.kind, parsed.rows) == (reason, None, None)


def test_header_only_and_empty_workbooks(tmp_path, settings):
    header_only = write_xlsx(tmp_path / "h.xlsx", {"S": [["2024年统计表"], ["建议编号", "答复日期"], [], ["填表人：张三"]]})
    assert parse_file(header_only, "h.xlsx", settings).error == "文件没有数据行"
    empty = write_xlsx(tmp_path / "e.xlsx", {"Sheet1": []})
    assert parse_file(empty, "e.xlsx", settings).error == "文件没有数据行"


def test_row_limit(tmp_path):
    settings = load_settings(home=tmp_path, override={"etl": {"max_rows": 2}})
    path = write_csv(tmp_path / "r.csv", [["建议编号", "答复日期"], ["1", ""], ["2", ""], ["3", ""]])
    assert parse_file(path, "r.csv", settings).error == "文件行数超过上限: 3 行, 上限为 2 行"


def test_missing_file_is_rejected_not_raised(tmp_path, settings):
    parsed = parse_file(tmp_path / "nope.xlsx", "nope.xlsx", settings)
    assert parsed.error == "文件无法读取: 文件不存在或无法打开"


# ── properties: nothing a clerk (or a disk) can produce makes parse_file raise ────────────────
HEADERS = ["建议编号", "序号", "答复日期", "办理结果", "主办单位", "协办单位", "标题", "交办日期", "代表意见",
           "承办方式", "是否面商", "届次", "年度", "答复满意度", "办理期限", "填报单位：市教育局"]
CELL = st.one_of(
    st.none(),
    st.sampled_from(HEADERS + ["第12号", "A类", "未答复", "2024年13月5日", "=1+2", "填表人：张三", "合计", "45356"]),
    st.text(max_size=12),
    st.integers(min_value=-10**6, max_value=10**9),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 1, 1)),
)
GRID = st.lists(st.lists(CELL, max_size=7), max_size=8)
PROPERTY = hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _never_raises(path, settings) -> None:
    parsed = parse_file(path, path.name, settings)
    assert isinstance(parsed, ParsedFile)
    if parsed.error is None:
        assert_consistent(parsed)
    else:
        assert parsed.rows is None and parsed.error
        assert parsed.error != INTERNAL_ERROR  # a bug, not a bad file


@PROPERTY
@given(content=st.binary(max_size=3000))
def test_random_bytes_never_raise(tmp_path, settings, content):
    path = tmp_path / "random.xlsx"
    path.write_bytes(content)
    _never_raises(path, settings)


@PROPERTY
@given(header=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=6), grid=GRID)
def test_random_cell_grids_never_raise(tmp_path, settings, header, grid):
    path = write_xlsx(tmp_path / "grid.xlsx", {"S": [header, *grid]})
    _never_raises(path, settings)


@PROPERTY
@given(grid=st.lists(st.lists(st.text(max_size=10), max_size=6), max_size=8), encoding=st.sampled_from(["utf-8", "gb18030", "utf-16"]))
def test_random_csv_never_raises(tmp_path, settings, grid, encoding):
    path = tmp_path / "grid.csv"
    try:
        write_csv(path, [["建议编号", "答复日期", "办理结果"], *grid], encoding=encoding)
    except UnicodeEncodeError:
        return  # text the encoding cannot hold is not a file anyone can send
    _never_raises(path, settings)


def test_header_spellings_and_footer_rows(tmp_path, settings):
    rows = [
        ["建议\n编号＊", "答复 日期*", "办理结果（A/B/C/D）"],
        ["第1号", "2024-05-01", "A"],
        ["合计", "1件", None],
        [],
        ["填报单位（盖章）：市教育局", None, "填报日期：2024-07-01"],
        ["审核：李四"],
    ]
    parsed = parse_file(write_csv(tmp_path / "s.csv", rows, encoding="utf-8-sig"), "市教育局.csv", settings)
    assert_consistent(parsed)
    assert parsed.rows_read == 1 and parsed.rejects == []
    assert parsed.rows.select("number", "reply_date", "result_class").rows() == [(1, date(2024, 5, 1), "A")]


def test_two_row_header_in_csv_and_repeated_header_rows(tmp_path, settings):
    rows = [
        ["建议编号", "办理情况", None, "代表意见"],
        [None, "答复日期", "办理结果", None],
        ["1", "2024-05-01", "甲", "满意"],
        ["建议编号", "答复日期", "办理结果", "代表意见"],  # the header printed again on page 2
        ["2", "2024-05-02", "丙", "不满意"],
    ]
    parsed = parse_file(write_csv(tmp_path / "h.csv", rows), "市教育局.csv", settings)
    assert_consistent(parsed)
    assert parsed.rows.select("row_no", "number", "reply_date", "result_class", "evaluation").rows() == [
        (3, 1, date(2024, 5, 1), "A", "满意"),
        (5, 2, date(2024, 5, 2), "C", "不满意"),
    ]


def test_1904_workbook_serial_numbers(tmp_path, settings):
    # 2024-03-05 is serial 45356 in the 1900 system and 45356 - 1462 = 43894 in the 1904 one
    rows = [["建议编号", "答复日期", "交办日期"], ["1", 43894, date(2024, 3, 5)]]
    for flag, serial in ((True, 43894), (False, 45356)):
        rows[1][1] = serial
        path = write_xlsx(tmp_path / f"d{flag}.xlsx", {"S": rows}, date_1904=flag)
        parsed = parse_file(path, "市教育局.xlsx", settings)
        assert parsed.rows["reply_date"].to_list() == [date(2024, 3, 5)], flag

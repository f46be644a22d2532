"""Excel exports: the shared writer (formula safety, dates, rates, layout) and the specific exports,
read back with openpyxl."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from exports.xlsx import DATE, INT, RATE, Col, table_xlsx

HOSTILE = ["=1+1", "+SUM(A1:A2)", "-2+3", "@SUM(A1)", "\tcmd", "\r=1", "=HYPERLINK(\"http://x\",\"点我\")",
           "＝1+1", "0012", "2024-06-30", "1e5"]


def _load(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def _ooxml_unescape(text: str) -> str:
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def _no_formulas(data: bytes) -> None:
    """No cell of any sheet carries a formula (<f> element) in the file itself."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name), name


def test_hostile_text_stays_text():
    cols = [Col("标题", "title"), Col("单位", "unit")]
    rows = [{"title": t, "unit": "市教育局"} for t in HOSTILE]
    data = table_xlsx("汉中市人大代表建议催办清单", cols, rows, as_of=date(2024, 6, 30))
    _no_formulas(data)
    ws = _load(data).active
    # title, 截至日期 line, header, then the data from row 4
    values = [ws.cell(row=4 + i, column=1) for i in range(len(HOSTILE))]
    for cell, original in zip(values, HOSTILE):
        assert cell.data_type == "s"
        # OOXML stores CR as _x000D_; Excel decodes it, openpyxl does not
        assert _ooxml_unescape(cell.value) == original
    # text that a spreadsheet would run as a formula also gets Excel's quote prefix (stored apostrophe)
    assert values[0].quotePrefix and values[3].quotePrefix and values[7].quotePrefix
    assert not values[8].quotePrefix  # "0012" is harmless text: no prefix, but still text
    assert ws.cell(row=4 + 8, column=1).value == "0012"


def test_layout_dates_rates():
    cols = [Col("单位", "unit"), Col("办理期限", "deadline", DATE), Col("按时办结率", "rate", RATE),
            Col("逾期件数", "n", INT)]
    rows = [
        {"unit": "市教育局", "deadline": date(2024, 6, 1), "rate": 5 / 7, "n": 3},
        {"unit": "市交通运输局", "deadline": None, "rate": None, "n": 0},
    ]
    data = table_xlsx("示范市承办单位排名", cols, rows, as_of=date(2024, 6, 30), meta=["年度：2024"])
    ws = _load(data).active
    assert ws["A1"].value == "示范市承办单位排名" and ws["A1"].font.b
    assert ws["A2"].value == "截至日期：2024-06-30"
    assert ws["A3"].value == "年度：2024"
    assert [c.value for c in ws[4]] == ["单位", "办理期限", "按时办结率", "逾期件数"]
    assert all(c.font.b for c in ws[4])
    assert ws.freeze_panes == "A5"
    assert ws.auto_filter.ref == "A4:D6"
    # a real Excel date shown as yyyy-mm-dd
    assert ws["B5"].value == datetime(2024, 6, 1) and ws["B5"].number_format == "yyyy-mm-dd"
    # the unrounded fraction, shown as a percentage with two decimals
    assert ws["C5"].value == pytest.approx(5 / 7, abs=1e-15) and ws["C5"].number_format == "0.00%"
    # zero denominator: "—", never 0%
    assert ws["C6"].value == "—"
    assert ws["D6"].value == 0 and ws["D6"].data_type == "n"
    # widths fitted: the CJK unit name (12 display columns) is wider than the default
    assert ws.column_dimensions["A"].width >= 12


def test_empty_table_says_so():
    data = table_xlsx("催办清单", [Col("单位", "unit")], [], as_of=date(2024, 6, 30))
    ws = _load(data).active
    assert ws["A3"].value == "单位" and ws["A4"].value == "无符合条件的记录"


# ── the specific exports, on a real warehouse ────────────────────────────────────────────────
import duckdb  # noqa: E402

from duban.core.settings import load_settings  # noqa: E402
from exports.xlsx import chase_list, rejected_rows, unit_assignments  # noqa: E402
from tests.warehouse_builder import connect, make_warehouse  # noqa: E402
from warehouse.connection import WarehousePaths  # noqa: E402
from warehouse.indicators import Indicators, Scope  # noqa: E402

T = date(2024, 6, 30)
EDU, TRANSPORT, FINANCE = "市教育局", "市交通运输局", "市财政局"
EVIL_TITLE = '=HYPERLINK("http://evil.example","点我")'


@pytest.fixture()
def ind(tmp_path):
    """Five suggestions, all 交办 2024-03-01 with 办理期限 2024-06-01 except no. 5 (2024-07-10).

    no. 1 市教育局 replied 05-10, A, 面商, 满意 (市财政局 协办, opinion 03-20)
    no. 2 市教育局 no reply                → overdue 29 days at 06-30 (contact 张三 13800000000)
    no. 3 市交通运输局 no reply, hostile title → overdue 29 days
    no. 4 市交通运输局 replied 05-28, C, 不满意
    no. 5 市教育局 no reply, deadline 07-10 → due soon, 10 days to go
    """
    sugs = [{"number": n, "assigned_date": date(2024, 3, 1), "register_deadline": date(2024, 6, 1)}
            for n in range(1, 5)]
    sugs[2]["title"] = EVIL_TITLE
    sugs.append({"number": 5, "assigned_date": date(2024, 3, 1), "register_deadline": date(2024, 7, 10)})
    asg = [{"number": 1, "unit": EDU}, {"number": 1, "unit": FINANCE, "role": "协办"},
           {"number": 2, "unit": EDU}, {"number": 3, "unit": TRANSPORT}, {"number": 4, "unit": TRANSPORT},
           {"number": 5, "unit": EDU}]
    rep = [
        {"number": 1, "unit": EDU, "report_date": date(2024, 6, 20), "reply_date": date(2024, 5, 10),
         "result_class": "A", "face_to_face": True, "evaluation": "满意", "contact_name": "张三",
         "contact_phone": "13800000000"},
        {"number": 2, "unit": EDU, "report_date": date(2024, 6, 20), "contact_name": "张三",
         "contact_phone": "13800000000"},
        {"number": 5, "unit": EDU, "report_date": date(2024, 6, 20)},
        {"number": 1, "unit": FINANCE, "report_date": date(2024, 6, 20), "reply_date": date(2024, 3, 20)},
        {"number": 4, "unit": TRANSPORT, "report_date": date(2024, 6, 20), "reply_date": date(2024, 5, 28),
         "result_class": "C", "face_to_face": True, "evaluation": "不满意"},
    ]
    link = make_warehouse(tmp_path, suggestions=sugs, assignments=asg, reports=rep, places=["汉中市"])
    # Rejected input, as the ETL records it: one whole file and one row with a hostile value.
    with duckdb.connect(str(WarehousePaths(link).current_version())) as con:
        con.execute("INSERT INTO files (file_id, sha256, original_name, received_at, status, reject_reason) "
                    "VALUES (90, 'bad', '坏文件.xlsx', TIMESTAMP '2024-06-21 09:00', '整体拒收', '文件已损坏, 无法读取')")
        con.execute("INSERT INTO files (file_id, sha256, original_name, received_at, kind, status, rows_read) "
                    "VALUES (91, 'half', '市交通运输局_2024-06-20.xlsx', TIMESTAMP '2024-06-21 10:00', "
                    "'unit_export', '已载入', 2)")
        con.execute("INSERT INTO row_outcomes VALUES (91, '主办', 14, 'rejected', '答复日期', '=cmd|'' /C calc''!A0', "
                    "'第14行 答复日期 \"=cmd|'' /C calc''!A0\" 不是有效日期')")
    conn = connect(link)
    yield Indicators(conn, load_settings(home=tmp_path))
    conn.close()


def _table(ws, header_row: int) -> list[dict]:
    headers = [c.value for c in ws[header_row]]
    return [dict(zip(headers, [c.value for c in row])) for row in ws.iter_rows(min_row=header_row + 1)]


def test_chase_list_all_units(ind):
    chases = [
        {"suggestion_id": "十八届一次-2", "unit": EDU, "chase_date": date(2024, 6, 20)},
        {"suggestion_id": "十八届一次-2", "unit": EDU, "chase_date": date(2024, 6, 25)},
        {"suggestion_id": None, "unit": TRANSPORT, "chase_date": date(2024, 6, 1)},
    ]
    data = chase_list(ind, Scope(year=2024, as_of=T), chases)
    _no_formulas(data)
    book = _load(data)
    ws = book["催办清单"]
    assert ws["A1"].value == "汉中市人大代表建议催办清单"
    assert ws["A2"].value == "截至日期：2024-06-30"
    assert ws["A3"].value == "年度：2024"
    rows = _table(ws, 4)
    assert "联系人" not in rows[0] and "联系电话" not in rows[0]
    # grouped by unit (交 sorts before 教), most overdue first within a unit
    assert [(r["承办单位"], r["编号"], r["状态"]) for r in rows] == [
        (TRANSPORT, 3, "逾期"), (EDU, 2, "逾期"), (EDU, 5, "临期")]
    transport, edu2, edu5 = rows
    assert transport["建议标题"] == EVIL_TITLE  # text, not a formula
    assert transport["逾期天数"] == 29 and transport["逾期/临期分组"] == "逾期1–30天"  # 06-30 − 06-01
    assert transport["办理期限"] == datetime(2024, 6, 1)
    assert edu2["催办次数"] == 2 and edu2["最近催办日期"] == datetime(2024, 6, 25)
    assert edu5["距期限天数"] == 10 and edu5["逾期/临期分组"] == "距期限0–15天"  # 07-10 − 06-30
    assert edu5["催办次数"] == 0 and edu5["最近催办日期"] is None
    summary = _table(book["按单位汇总"], 4)
    # one overdue item each, 29 days each: tied, so by unit name (交 before 教)
    assert summary == [
        {"承办单位": TRANSPORT, "逾期件数": 1, "临期件数": 0, "最长逾期天数": 29, "催办次数": 1,
         "最近催办日期": datetime(2024, 6, 1)},
        {"承办单位": EDU, "逾期件数": 1, "临期件数": 1, "最长逾期天数": 29, "催办次数": 2,
         "最近催办日期": datetime(2024, 6, 25)},
    ]


def test_chase_list_one_unit_with_contacts(ind):
    data = chase_list(ind, Scope(year=2024, unit=EDU, as_of=T), include_contacts=True)
    book = _load(data)
    assert book.sheetnames == ["催办清单"]
    ws = book["催办清单"]
    assert ws["A1"].value == "汉中市人大代表建议催办清单（市教育局）"
    rows = _table(ws, 4)
    assert [(r["编号"], r["联系人"], r["联系电话"]) for r in rows] == [(2, "张三", "13800000000"), (5, None, None)]
    # the phone is text (keeps a leading zero, never a number)
    assert ws.cell(row=5, column=len(rows[0])).data_type == "s"


def test_unit_assignments_figures_equal_indicator_layer(ind):
    scope = Scope(year=2024, as_of=T)
    data = unit_assignments(ind, scope, EDU)
    _no_formulas(data)
    book = _load(data)
    rows = _table(book["承办清单"], 5)  # title, 截至日期, 年度, 承办单位, header
    assert [(r["编号"], r["承办方式"], r["状态"]) for r in rows] == [
        (1, "主办", "已办结"), (2, "主办", "逾期"), (5, "主办", "临期")]
    first = rows[0]
    assert first["答复日期"] == datetime(2024, 5, 10) and first["办理结果"] == "A类"
    assert first["是否面商"] == "是" and first["代表意见"] == "满意"
    figures = {r["指标"]: r["数值"] for r in _table(book["主要指标"], 5)}
    m = ind.metrics(Scope(year=2024, unit=EDU, as_of=T))
    # by hand: 市教育局 leads 1, 2, 5; completed 1 → 1/3; on time 1 / (1 completed + 1 overdue) = 50%
    assert figures["主办/分办件数"] == 3 and figures["已办结"] == 1
    assert figures["办结率"] == pytest.approx(1 / 3) == m["completion_rate"]
    assert figures["按时办结率"] == pytest.approx(0.5) == m["on_time_rate"]
    assert figures["满意率(含基本满意)"] == pytest.approx(1.0)
    assert figures["B类承诺兑现率"] == "—" and m["promise_kept_rate"] is None  # no promise due
    sheet = book["主要指标"]
    rate_cell = next(c for c in sheet["B"] if c.value == m["completion_rate"])
    assert rate_cell.number_format == "0.00%"


def test_unit_account_cannot_export_another_unit(ind):
    data = unit_assignments(ind, Scope(year=2024, as_of=T, restrict_unit=TRANSPORT), EDU)
    rows = _table(_load(data)["承办清单"], 5)
    assert {r["编号"] for r in rows} == {3, 4}


def test_rejected_rows(ind):
    data = rejected_rows(ind, as_of=T)
    _no_formulas(data)
    ws = _load(data)["拒收清单"]
    assert ws["A1"].value == "汉中市人大代表建议数据拒收清单"
    rows = _table(ws, 4)
    assert rows[0]["文件"] == "坏文件.xlsx" and rows[0]["原因"] == "文件已损坏, 无法读取" and rows[0]["行号"] is None
    assert rows[1] == {"文件": "市交通运输局_2024-06-20.xlsx", "工作表": "主办", "行号": 14, "列": "答复日期",
                       "原值": "=cmd|' /C calc'!A0", "原因": '第14行 答复日期 "=cmd|\' /C calc\'!A0" 不是有效日期'}
    assert ws.cell(row=6, column=5).data_type == "s" and ws.cell(row=6, column=5).quotePrefix


def test_the_page_lists_a_limit_of_rejected_rows_the_export_all(ind):
    """/data shows at most REJECTED_LIMIT rejected rows and counts all; the 拒收清单 has them all
    (it used to stop at 5,000 like the page's list)."""
    everything = ind.data_status()
    assert everything["rejected_count"] == len(everything["rejected_rows"]) == 1
    shown = ind.data_status(rejected_limit=0)
    assert shown["rejected_rows"] == [] and shown["rejected_count"] == 1
    assert len(_table(_load(rejected_rows(ind, as_of=T))["拒收清单"], 4)) == 2  # the file rejected whole + the row


def test_ranking_export_matches_rank_units(ind):
    from exports.xlsx import ranking
    from warehouse.ranking import rank_units, split_ranking

    every = rank_units(ind.conn, ind.settings, 2024, T)
    ranked, unranked = split_ranking(every)
    data = ranking(every, year=2024, as_of=T, city=ind.body_name())
    _no_formulas(data)
    book = _load(data)
    ws = book["排名"]
    assert ws["A1"].value == "汉中市承办单位代表建议办理工作考核排名"
    rows = _table(ws, 5)  # title, 截至日期, 年度, note, header
    assert [r["承办单位"] for r in rows] == [u["unit"] for u in ranked]
    assert [r["名次"] for r in rows] == [u["rank"] for u in ranked]
    raw = _table(book["原始值"], 5)
    assert [r["承办单位"] for r in raw] == [u["unit"] for u in ranked]
    # No hand scores (领导重视程度 10 + 工作制度健全 10) and no B promise anywhere (承诺兑现率 5):
    # 75 points count, so 按时办结率's weight 20 is applied as 20 × 100/75 = 26.67, and the header says so.
    header = "按时办结率得分(权重26.67, 设定20)"
    for row, raw_row, unit in zip(rows, raw, ranked):
        assert row["总分"] == pytest.approx(unit["total"])
        on_time = next(a for a in unit["aspects"] if a["key"] == "on_time")
        assert on_time["applied_weight"] == pytest.approx(2000 / 75)
        assert raw_row["按时办结率"] == (on_time["raw"] if on_time["raw"] is not None else "—")
        assert row[header] == pytest.approx(on_time["points"]) and row[header] <= 2000 / 75
        assert row["领导重视程度(不计分)"] == "不计分"  # not 0
    # 市教育局's 按时办结率 by hand: 1 on time / (1 completed + 1 overdue) = 50%
    edu = next(r for r in raw if r["承办单位"] == EDU)
    assert edu["按时办结率"] == pytest.approx(0.5)
    header_row = [c.value for c in book["原始值"][5]]
    assert book["原始值"].cell(row=6, column=header_row.index("按时办结率") + 1).number_format == "0.00%"
    detail = _table(book["计分明细"], 5)
    assert len(detail) == len(every) * len(every[0]["aspects"])
    first = detail[0]
    assert first["说明"] == every[0]["aspects"][0]["reason"] and first["设定权重"] == every[0]["aspects"][0]["weight"]
    assert {d["得分"] for d in detail if d["考核项"] == "领导重视程度"} == {"不计分"}
    # 市财政局 only co-handles: listed apart, not ranked.
    assert [u["unit"] for u in unranked] == [FINANCE] and unranked[0]["rank"] is None
    apart = _table(book["未参加排名"], 4)  # title, 截至日期, 年度, header
    assert [r["承办单位"] for r in apart] == [FINANCE] and "不参加排名" in apart[0]["说明"]
    assert "不参加排名" in ws["A3"].value


def test_ranking_export_convenience_and_unit_account(ind):
    from exports.xlsx import ranking_export

    book = _load(ranking_export(ind, Scope(year=2024, as_of=T)))
    assert {r["承办单位"] for r in _table(book["排名"], 5)} == {EDU, TRANSPORT}
    assert [r["承办单位"] for r in _table(book["未参加排名"], 4)] == [FINANCE]
    rows = _table(_load(ranking_export(ind, Scope(year=2024, as_of=T, restrict_unit=EDU)))["排名"], 5)
    assert [r["承办单位"] for r in rows] == [EDU]


def test_the_page_lists_a_limit_of_files_and_counts_all(ind):
    everything = ind.data_status()
    newest = ind.data_status(files_limit=1)
    assert newest["files_count"] == everything["files_count"] == len(everything["files"]) > 1
    assert newest["files"] == everything["files"][:1]


def test_chase_list_takes_the_unit_directory_where_the_report_names_no_contact(ind):
    directory = {EDU: {"unit": EDU, "liaison": "王老师", "phone": "028-86000000", "push_target": None}}
    rows = _table(_load(chase_list(ind, Scope(year=2024, unit=EDU, as_of=T), include_contacts=True,
                                   directory=directory))["催办清单"], 4)
    # No. 2's report names 张三; No. 5's names no one: the directory's 联络员.
    assert [(r["编号"], r["联系人"], r["联系电话"]) for r in rows] == [(2, "张三", "13800000000"), (5, "王老师", "028-86000000")]
    without = _table(_load(chase_list(ind, Scope(year=2024, unit=EDU, as_of=T), directory=directory))["催办清单"], 4)
    assert "联系人" not in without[0]  # contacts only in a supervisor's list

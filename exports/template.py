"""The pre-filled 办理情况 template a unit fills in and sends back (issue 7, item 3).

One sheet 办理情况 with the unit's assignments of the year already filled in (编号, 届次, 标题,
承办方式, 办理期限 — the deadline as the indicator layer computes it), the handling columns
pre-filled with what the unit last reported (Indicators.reported_values, so a template sent back
unchanged changes nothing) with dropdowns and date validation, and 填报单位 / 填报日期 cells
above the header; a second sheet 填表说明 explains every column. The header spellings are the ones the ETL
recognises (data-contract.md), so a filled template loads with zero rejections.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from exports.safe import xml_text
from exports.xlsx import DATE, INT, TEXT, OfficeWorkbook, as_rows, display_width
from warehouse.indicators import Indicators, Scope

SHEET = "办理情况"
REPORT_DATE_CELL = "E2"  # where the unit types its 填报日期
HEADER_ROW = 3  # 1-based, as in Excel; data from the next row
STATUS_CHOICES = ["未办理", "办理中", "已答复", "已办结", "协办意见已报送"]
FACE_CHOICES = ["是", "否"]
EVALUATION_CHOICES = ["满意", "基本满意", "不满意", "未表态"]
KEPT_CHOICES = ["是", "否"]
RESULT_CHOICES = {
    "ABCD": ["A类", "B类", "C类", "D类"],
    "ABC": ["A类", "B类", "C类"],
    "甲乙丙": ["甲类", "乙类", "丙类"],
}
DATE_MIN, DATE_MAX = date(2000, 1, 1), date(2100, 12, 31)

# (header, prefilled key or None for a column the unit fills, kind, width, dropdown)
PREFILLED = [
    ("建议编号", "number", INT, 10),
    ("届次", "session", TEXT, 12),
    ("建议标题", "title", TEXT, 40),
    ("承办方式", "role", TEXT, 10),
    ("办理期限", "deadline", DATE, 12),
]
INPUTS = [  # (header, kind, width, dropdown name, the reported value it is pre-filled with)
    ("办理状态", TEXT, 14, "status", "status_text"),
    ("答复日期", DATE, 12, None, "reply_date"),
    ("办理结果", TEXT, 10, "result", "result_class"),
    ("是否面商", TEXT, 10, "face", "face_to_face"),
    ("代表意见", TEXT, 12, "evaluation", "evaluation"),
    ("承诺事项", TEXT, 24, None, "promise_text"),
    ("承诺完成时限", DATE, 14, None, "promise_date"),
    ("是否兑现", TEXT, 10, "kept", "promise_kept"),
    ("延期至", DATE, 12, None, "extension_date"),
    ("联系人", TEXT, 10, None, "contact_name"),
    ("联系电话", TEXT, 14, None, "contact_phone"),
]

INSTRUCTIONS = [
    ("填报说明", ""),
    ("1", "本表已预先填好本单位本年度承办的全部代表建议 (建议编号、届次、建议标题、承办方式、办理期限), 请勿修改、删除或增加行。"),
    ("2", "黄色单元格已预先填好本单位此前报送的办理情况: 没有变化的不用改动, 原样报回不会改变任何数据; 有新进展或需要更正的, 直接改成新的内容。"
         "留空的单元格表示“没有变化”, 不会清除此前报送的内容; 更改了此前报送的日期或分类, 系统会列出这一变化, 请确认无误。"),
    ("3", "请在表头上方填写“填报日期”(即本次数据的截至日期, 格式 2024-06-30); 每次报送都填当天日期, 系统按填报日期区分新旧数据。"),
    ("4", "黄色单元格由本单位填写; 有下拉箭头的列请从下拉列表中选择, 日期列请按 年-月-日 (如 2024-06-30) 填写。"),
    ("5", "办理状态: 未办理 / 办理中 / 已答复 / 已办结 / 协办意见已报送 (仅供参考, 统计以日期为准)。"),
    ("6", "答复日期: 主办、分办单位填书面答复代表的日期; 协办单位填向主办单位报送协办意见的日期。尚未答复的请留空。"
          "日期不能晚于填报当天。"),
    ("7", "办理结果: A类 已解决或基本解决; B类 正在解决或列入计划逐步解决; C类 因条件限制需以后解决; D类 留作参考。"),
    ("8", "是否面商: 答复前是否与领衔代表当面沟通 (是/否)。"),
    ("9", "代表意见: 代表对答复的评价 (满意 / 基本满意 / 不满意 / 未表态); 代表重新评价后请填最新意见。"),
    ("10", "B类答复请填写承诺事项和承诺完成时限; 承诺落实后在“是否兑现”选择“是”。"),
    ("11", "经批准延期的, 在“延期至”填写批准的新期限。"),
    ("12", "联系人、联系电话仅供督办人员联系, 不在会议材料中公开。"),
    ("13", "填好后请保存为 .xlsx, 文件名建议为 单位名称_填报日期.xlsx (如 市教育局_2024-06-30.xlsx), 按要求报送。"),
]


def template_rows(ind: Indicators, unit: str, year: int, as_of: date | None = None) -> list[dict]:
    """The unit's assignments of the year (lead and co), ordered by session and number."""
    scope = Scope(year=year, unit=unit, restrict_unit=unit, **({"as_of": as_of} if as_of else {}))
    reported = ind.reported_values(unit, year)
    rows = [{**r, "reported": reported.get(r["suggestion_id"], {})} for r in as_rows(ind.unit_assignments(scope))]
    return sorted(rows, key=lambda r: (str(r.get("session") or ""), r.get("number") or 0))


def write_template(ind: Indicators, unit: str, year: int, out: Path, *,
                   as_of: date | None = None, result_scheme: str | None = None) -> Path:
    """Write ``unit``'s pre-filled template for ``year`` to ``out`` (.xlsx); returns ``out``."""
    rows = template_rows(ind, unit, year, as_of)
    result_scheme = result_scheme or ind.settings.result_scheme
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    book = OfficeWorkbook(out)
    _fill_sheet(book, unit, year, rows, RESULT_CHOICES.get(result_scheme, RESULT_CHOICES["ABCD"]))
    _instructions(book)
    book.close()
    return out


def _fill_sheet(book: OfficeWorkbook, unit: str, year: int, rows: list[dict], results: list[str]) -> None:
    ws = book.book.add_worksheet(SHEET)
    headers = [h for h, *_ in PREFILLED] + [h for h, *_ in INPUTS]
    last = len(headers) - 1
    ws.set_row(0, 30)
    ws.merge_range(0, 0, 0, last, "", book.title_fmt)
    ws.write_string(0, 0, xml_text(f"{year}年代表建议办理情况填报表"), book.title_fmt)
    # The ETL reads "填报单位：X" from one cell above the header; the date sits in its own yellow
    # cell after the 填报日期 label so that the unit can type it (the ETL finds it among the
    # texts above the header). No example date nearby: a forgotten date must not be taken from it.
    label = book.fmt(("label",), bold=True, align="right", valign="vcenter")
    ws.merge_range(1, 0, 1, 2, "", book.meta_fmt)
    ws.write_string(1, 0, xml_text(f"填报单位：{unit}"), book.meta_fmt)
    ws.write_string(1, 3, "填报日期：", label)
    ws.write_blank(REPORT_DATE_CELL, None, book.cell_format(DATE, input_cell=True))
    ws.data_validation(REPORT_DATE_CELL, _date_validation("填报日期"))
    ws.write_string(1, 5, "（必填）", book.meta_fmt)

    header_row = HEADER_ROW - 1
    for c, h in enumerate(headers):
        ws.write_string(header_row, c, h, book.header_fmt)
    first, n = header_row + 1, len(rows)
    for i, row in enumerate(rows):
        r = first + i
        for c, (_, key, kind, _w) in enumerate(PREFILLED):
            book.write_cell(ws, r, c, row.get(key), kind, wrap=(key == "title"))
        for c, (_, kind, _w, _d, key) in enumerate(INPUTS, start=len(PREFILLED)):
            book.write_cell(ws, r, c, _as_written(key, row["reported"].get(key), results), kind, input_cell=True)
    widths = [w for *_, w in PREFILLED] + [w for _, _, w, _, _ in INPUTS]
    for c, w in enumerate(widths):
        ws.set_column(c, c, max(w, display_width(headers[c]) + 2))

    lists = {"status": STATUS_CHOICES, "result": results, "face": FACE_CHOICES,
             "evaluation": EVALUATION_CHOICES, "kept": KEPT_CHOICES}
    if n:
        last_row = first + n - 1
        for c, (header, kind, _w, dropdown, _k) in enumerate(INPUTS, start=len(PREFILLED)):
            if dropdown:
                ws.data_validation(first, c, last_row, c, {
                    "validate": "list", "source": lists[dropdown],
                    "error_title": "请从下拉列表选择", "error_message": f"{header} 只能填: {'、'.join(lists[dropdown])}",
                })
            elif kind == DATE:
                ws.data_validation(first, c, last_row, c, _date_validation(header))
    else:
        ws.merge_range(first, 0, first, last, "", book.meta_fmt)
        ws.write_string(first, 0, "本单位本年度没有承办的代表建议", book.meta_fmt)
    ws.freeze_panes(first, len(PREFILLED) - 2)  # keep 编号 and 届次 + header visible
    ws.autofilter(header_row, 0, header_row + max(n, 1), last)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(header_row)
    ws.activate()


def _as_written(key: str, value: Any, results: list[str]) -> Any:
    """A reported value as the template's dropdowns spell it (A → A类 / 甲类, True → 是)."""
    if isinstance(value, bool):
        return "是" if value else "否"
    classes = ("A", "B", "C", "D")
    if key == "result_class" and value in classes and classes.index(value) < len(results):
        return results[classes.index(value)]
    return value


def _date_validation(header: str) -> dict:
    return {
        "validate": "date", "criteria": "between", "minimum": DATE_MIN, "maximum": DATE_MAX,
        "input_title": header, "input_message": "格式: 年-月-日, 如 2024-06-30",
        "error_title": "日期格式不对", "error_message": f"{header} 请填写日期, 格式 年-月-日, 如 2024-06-30",
    }


def _instructions(book: OfficeWorkbook) -> None:
    ws = book.book.add_worksheet("填表说明")
    wrap = book.fmt(("note",), text_wrap=True, valign="top")
    ws.set_column(0, 0, 6)
    ws.set_column(1, 1, 100)
    ws.write_string(0, 0, INSTRUCTIONS[0][0], book.title_fmt)
    for r, (no, text) in enumerate(INSTRUCTIONS[1:], start=1):
        ws.write_string(r, 0, no, wrap)
        ws.write_string(r, 1, text, wrap)

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
    data = table_xlsx("示范市人大代表建议催办清单", cols, rows, as_of=date(2024, 6, 30))
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

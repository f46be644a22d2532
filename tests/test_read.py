"""etl/read.py: every format is recognised from its content and read as raw text cells."""

from __future__ import annotations

import io
import os
import zipfile
from datetime import date

import pytest

from duban.core.settings import load_settings
from etl.read import NOT_A_TABLE, UnreadableFile, decode_text, read_sheets, sniff_format
from files import csv_bytes, write_csv, write_xls, write_xlsx

ROWS = [["建议编号", "标题", "主办单位"], ["第12号", "关于加强学校周边交通管理的建议", "市教育局、市公安局"]]


@pytest.fixture
def settings(tmp_path):
    return load_settings(home=tmp_path)


def cells(sheet):
    return [list(row) for row in sheet.cells.iter_rows()]


def test_xlsx_keeps_spreadsheet_row_numbers_and_reads_values_as_text(tmp_path, settings):
    path = write_xlsx(
        tmp_path / "a.xlsx",
        {"主办": [[], [None, "标题行"], ["建议编号", "答复日期", "数字"], [12, date(2024, 3, 5), 12.5], ["=1+2"]]},
    )
    [sheet] = read_sheets(path, settings)
    assert sheet.name == "主办"
    rows = cells(sheet)
    # row 1 is blank in Excel and stays row index 0, so row i of the frame is Excel row i + 1
    assert rows[0] == [None, None, None]
    assert rows[2] == ["建议编号", "答复日期", "数字"]
    assert rows[3] == ["12", "2024-03-05 00:00:00", "12.5"]
    assert rows[4][0] == "=1+2"  # text that looks like a formula stays text


def test_formula_cells_give_their_cached_value(tmp_path, settings):
    path = write_xlsx(tmp_path / "f.xlsx", {"S": [["编号", "合计"]]}, formulas={"S": [(1, 1, "=1+2", 3)]})
    [sheet] = read_sheets(path, settings)
    assert cells(sheet)[1][1] == "3"


def test_xls_is_read_from_content_even_when_named_xlsx(tmp_path, settings):
    real = write_xls(tmp_path / "old.xls", {"Sheet1": [["建议编号", "交办日期"], [7, date(2024, 3, 1)]]})
    disguised = tmp_path / "old.xlsx"
    disguised.write_bytes(real.read_bytes())
    [sheet] = read_sheets(disguised, settings)
    assert cells(sheet) == [["建议编号", "交办日期"], ["7", "2024-03-01 00:00:00"]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_csv_encodings_are_detected_from_content(tmp_path, settings, encoding):
    path = write_csv(tmp_path / "data.txt", ROWS, encoding=encoding)
    [sheet] = read_sheets(path, settings)
    assert sheet.name is None
    assert cells(sheet) == ROWS


def test_csv_with_semicolons_and_ragged_rows(tmp_path, settings):
    path = tmp_path / "x.csv"
    path.write_bytes("建议编号;标题\n1;甲\n2;乙;多出的一列\n".encode("gbk"))
    [sheet] = read_sheets(path, settings)
    assert cells(sheet) == [["建议编号", "标题", None], ["1", "甲", None], ["2", "乙", "多出的一列"]]


def test_decode_prefers_utf8_then_gb18030():
    assert decode_text("建议".encode()) == "建议"
    assert decode_text("建议".encode("gbk")) == "建议"
    assert decode_text(b"\xef\xbb\xbf" + "建议".encode()) == "建议"


def test_pdf_named_xlsx_is_rejected(tmp_path, settings):
    path = tmp_path / "办理情况.xlsx"
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    with pytest.raises(UnreadableFile) as info:
        read_sheets(path, settings)
    assert str(info.value).startswith("文件无法读取: 这是PDF文件, 无法读取表格: 请报送生成它的 Excel 或 Word 原文件")


def test_random_bytes_are_rejected(tmp_path, settings):
    path = tmp_path / "random.xlsx"
    path.write_bytes(bytes(range(256)) * 8 + os.urandom(512))
    with pytest.raises(UnreadableFile) as info:
        read_sheets(path, settings)
    assert str(info.value) == NOT_A_TABLE


def test_zip_that_is_not_a_workbook_is_rejected(tmp_path, settings):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("报表/说明.txt", "见附件")
    path = tmp_path / "a.xlsx"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(UnreadableFile, match="不是Excel工作簿"):
        read_sheets(path, settings)


def test_zip_bomb_is_rejected_before_reading(tmp_path):
    # 0.01 MB allowed → at most 50 × 10 KB unpacked; 2 MB of zeros packs into a few KB
    settings = load_settings(home=tmp_path, override={"etl": {"max_file_mb": 0.01}})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 2_000_000)
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(buffer.getvalue())
    assert path.stat().st_size < 10_240
    with pytest.raises(UnreadableFile, match="解压后内容过大"):
        read_sheets(path, settings)


def test_file_size_limit(tmp_path):
    settings = load_settings(home=tmp_path, override={"etl": {"max_file_mb": 0.001}})
    path = write_csv(tmp_path / "big.csv", [["建议编号", "标题"]] + [[i, "标题" * 20] for i in range(100)])
    with pytest.raises(UnreadableFile, match="文件过大"):
        read_sheets(path, settings)


def test_row_limit_on_excel_and_csv(tmp_path):
    settings = load_settings(home=tmp_path, override={"etl": {"max_rows": 1}})
    rows = [["建议编号"]] + [[i] for i in range(1, 1100)]  # 1099 data rows > 1 + 1000 slack
    with pytest.raises(UnreadableFile, match="行数超过上限"):
        read_sheets(write_xlsx(tmp_path / "a.xlsx", {"S": rows}), settings)
    with pytest.raises(UnreadableFile, match="行数超过上限"):
        read_sheets(write_csv(tmp_path / "a.csv", rows), settings)


def test_empty_file(tmp_path, settings):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(UnreadableFile, match="文件没有数据行"):
        read_sheets(path, settings)


def test_sniff_format():
    assert sniff_format(b"PK\x03\x04rest") == "xlsx"
    assert sniff_format(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") == "xls"
    assert sniff_format("建议编号,标题".encode()) == "text"
    assert csv_bytes([["a"]], "utf-16").startswith(b"\xff\xfe")


def test_xls_keeps_leading_blank_rows(tmp_path, settings):
    path = write_xls(tmp_path / "lead.xls", {"S": [[], [], [None, None, "建议编号"], [None, None, 5]]})
    [sheet] = read_sheets(path, settings)
    assert cells(sheet) == [[None], [None], ["建议编号"], ["5"]]  # Excel row 3 is frame row 2


def test_csv_with_short_title_row_and_quoted_line_breaks(tmp_path, settings):
    text = '2024年办理情况\r\n建议编号,标题,答复日期\r\n12,"关于加强\r\n学校周边交通, 管理的建议",2024-05-01\r\n13,"他说""好""",\r\n'
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode("gb18030"))
    [sheet] = read_sheets(path, settings)
    rows = cells(sheet)
    assert rows[0][0] == "2024年办理情况" and rows[0][1:] == [None] * (len(rows[0]) - 1)
    assert [r[:3] for r in rows[1:]] == [
        ["建议编号", "标题", "答复日期"],
        ["12", "关于加强\r\n学校周边交通, 管理的建议", "2024-05-01"],
        ["13", '他说"好"', None],
    ]


def test_csv_with_stray_quotes_falls_back_to_the_lenient_reader(tmp_path, settings):
    path = tmp_path / "q.csv"
    path.write_bytes('建议编号,标题\n1,关于"双减"的建议\n2,"未闭合\n'.encode())
    [sheet] = read_sheets(path, settings)
    assert cells(sheet)[1] == ["1", '关于"双减"的建议']


def test_control_characters_are_those_of_the_unicode_categories():
    import unicodedata

    from etl.read.text import _CONTROL

    # the compiled class counts what a per-character category check counts (tab and breaks aside)
    assert all(
        bool(_CONTROL.match(chr(c))) == (unicodedata.category(chr(c)) in ("Cc", "Cs", "Co") and chr(c) not in "\t\r\n")
        for c in range(0x110000)
    )


def test_csv_with_carriage_return_line_endings(tmp_path, settings):
    path = tmp_path / "mac.csv"
    path.write_bytes("建议编号,标题\r1,甲\r2,乙,多出的一列\r".encode())
    [sheet] = read_sheets(path, settings)
    assert cells(sheet) == [["建议编号", "标题", None], ["1", "甲", None], ["2", "乙", "多出的一列"]]


def test_csv_delimiter_is_sniffed_in_the_first_megabyte(tmp_path, settings):
    # one semicolon in the first MB, the commas after it: the first MB decides
    path = tmp_path / "long.csv"
    path.write_bytes(("建议编号;标题" + "长" * (1 << 20) + ",,,,\n1;甲\n").encode())
    [sheet] = read_sheets(path, settings)
    assert sheet.cells.width == 2 and cells(sheet)[1] == ["1", "甲"]


def test_a_sheet_is_empty_when_every_cell_is_blank_wherever_its_data_would_be():
    import polars as pl

    from etl.read.common import RawSheet

    def sheet(**columns):
        return RawSheet(None, pl.DataFrame(columns, schema={c: pl.Utf8 for c in columns}))

    assert sheet(c0=[None, " \u3000", None], c1=[None, None, "\t\n"]).is_empty
    assert not sheet(c0=[None] * 150 + ["建议编号"]).is_empty  # below the first rows looked at
    assert not sheet(c0=["\x1f"]).is_empty  # not whitespace to strip_chars, so not blank
    assert sheet().is_empty and sheet(c0=[]).is_empty

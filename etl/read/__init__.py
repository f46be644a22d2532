"""Read a received file into raw sheets of text cells, whatever its name says.

The format comes from the content, never from the extension:

- zip → an Excel workbook (xlsx, xlsm, xlsb, WPS .et), an OpenDocument sheet (.ods) or a Word
  .docx (its tables); the zip's real unpacked sizes and every sheet's extent are checked first
- OLE2 → an Excel 97-2003 workbook (.xls, WPS .et); a Word/WPS document is rejected with how
  to resave it
- text → an Excel 2003 XML Spreadsheet, an HTML page with tables, else delimited text (CSV)

Workbooks are read with calamine (fastexcel) without header inference and every column as
text: numbers arrive as "12" / "12.5", Excel dates as "2024-03-05 00:00:00", formulas as their
cached values, and text such as "=1+2" stays text. Row i of a sheet's frame is the
spreadsheet's row i+1, so row numbers in reasons match what the clerk sees; a merged cell's
value is in its top-left cell only. Every reader caps rows, columns and cells before it builds
a table (etl/read/common.py).
"""

from __future__ import annotations

from pathlib import Path

from duban.core.settings import Settings
from etl.read.common import NOT_A_TABLE, RawSheet, UnreadableFile, check_extent, document_not_table
from etl.read.excel import DOCX, check_ole, check_zip, read_workbook
from etl.read.markup import is_xml_spreadsheet, looks_like_html, read_html, read_xml_spreadsheet
from etl.read.text import decode_text, read_delimited
from etl.read.word import read_docx

__all__ = ["NOT_A_TABLE", "RawSheet", "UnreadableFile", "decode_text", "read_sheets", "sniff_format"]

XLSX, XLS, TEXT = "xlsx", "xls", "text"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_PDF = document_not_table("PDF文件", "请报送生成它的 Excel 或 Word 原文件")
_RTF = document_not_table("RTF 文档", "请在 Word 或 WPS 中另存为 .docx")
_UNSUPPORTED = {
    b"%PDF": _PDF,
    b"{\\rtf": _RTF,
    b"\x89PNG": f"{NOT_A_TABLE} (这是图片文件)",
    b"\xff\xd8\xff": f"{NOT_A_TABLE} (这是图片文件)",
    b"GIF8": f"{NOT_A_TABLE} (这是图片文件)",
    b"Rar!": f"{NOT_A_TABLE} (这是压缩包)",
    b"7z\xbc\xaf": f"{NOT_A_TABLE} (这是压缩包)",
    b"\x1f\x8b": f"{NOT_A_TABLE} (这是压缩包)",
}


def sniff_format(head: bytes) -> str:
    """xlsx (any zip) / xls (any OLE2) / text from the first bytes; raises UnreadableFile for
    known non-tables."""
    if head.startswith(_ZIP):
        return XLSX
    if head.startswith(_OLE2):
        return XLS
    for magic, reason in _UNSUPPORTED.items():
        if head.startswith(magic):
            raise UnreadableFile(reason)
    return TEXT


def read_sheets(path: Path, settings: Settings) -> list[RawSheet]:
    """All sheets of the file as raw text cells. Raises UnreadableFile with the reason."""
    try:
        size = path.stat().st_size
    except OSError:
        raise UnreadableFile("文件无法读取: 文件不存在或无法打开") from None
    if size > settings.max_file_mb * 1024 * 1024:
        raise UnreadableFile(f"文件过大: {size / 1024 / 1024:.1f} MB, 上限为 {settings.max_file_mb:g} MB")
    if size == 0:
        raise UnreadableFile("文件没有数据行 (空文件)")
    data = path.read_bytes()
    fmt = sniff_format(data[:16])
    if fmt == XLSX:
        content = check_zip(data, settings)
        if content.kind == DOCX:
            return read_docx(data, settings)
        return read_workbook(data, settings, content.date1904)
    if fmt == XLS:
        check_ole(data)
        return read_workbook(data, settings)
    return _read_text(data, settings)


def _read_text(data: bytes, settings: Settings) -> list[RawSheet]:
    head = _markup_head(data)
    if is_xml_spreadsheet(head):
        return read_xml_spreadsheet(data, settings)
    if looks_like_html(head):
        return read_html(data, settings)
    if head.startswith("<?xml"):
        raise UnreadableFile(f"{NOT_A_TABLE} (是 XML 文件, 但不是 Excel 2003 XML 表格)")
    frame = read_delimited(data, settings)
    check_extent(frame.height, frame.width, settings)
    return [RawSheet(None, frame)]


def _markup_head(data: bytes) -> str:
    """The first 4 KB, lower-cased, without BOM and leading blanks: enough to tell markup."""
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="ignore")
    else:
        text = head.removeprefix(b"\xef\xbb\xbf").decode("latin-1")
    return text.lstrip().lower()

"""Read a received file into raw sheets of text cells, whatever its name says.

The format comes from the content (zip → xlsx, OLE2 → xls, else text/CSV), never from the
extension. Excel files are read with calamine (fastexcel) without header inference and every
column as text: numbers arrive as "12" / "12.5", Excel dates as "2024-03-05 00:00:00", formulas
as their cached values, and text such as "=1+2" stays text. Row i of a sheet's frame is the
spreadsheet's row i+1, so row numbers in reasons match what the clerk sees.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import fastexcel
import polars as pl

from duban.settings import Settings

NOT_A_TABLE = "文件无法读取: 不是有效的Excel或CSV文件"
ZIP_BOMB_LIMIT = 1 << 30  # uncompressed xlsx content never needs more than 1 GB
ZIP_BOMB_RATIO = 50  # … nor more than 50× the allowed file size

XLSX, XLS, TEXT = "xlsx", "xls", "text"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_UNSUPPORTED = {
    b"%PDF": "PDF文件",
    b"\x89PNG": "图片文件",
    b"\xff\xd8\xff": "图片文件",
    b"GIF8": "图片文件",
    b"Rar!": "压缩包",
    b"7z\xbc\xaf": "压缩包",
    b"\x1f\x8b": "压缩包",
    b"{\\rtf": "RTF文档",
}


class UnreadableFile(Exception):
    """The whole file cannot be read; the message is the Chinese reason."""


@dataclass
class RawSheet:
    name: str | None  # None for CSV
    cells: pl.DataFrame  # Utf8 columns c0, c1, …; row i = spreadsheet row i + 1
    date1904: bool = False  # workbook uses the 1904 date system (bare serial numbers shift)

    @property
    def is_empty(self) -> bool:
        if self.cells.height == 0 or self.cells.width == 0:
            return True
        stripped = [pl.col(c).str.strip_chars().str.len_bytes().fill_null(0) == 0 for c in self.cells.columns]
        return bool(self.cells.select(pl.all_horizontal(stripped).all()).item())


def sniff_format(head: bytes) -> str:
    """xlsx / xls / text from the first bytes; raises UnreadableFile for known non-tables."""
    if head.startswith(_ZIP):
        return XLSX
    if head.startswith(_OLE2):
        return XLS
    for magic, what in _UNSUPPORTED.items():
        if head.startswith(magic):
            raise UnreadableFile(f"{NOT_A_TABLE} (这是{what})")
    return TEXT


def read_sheets(path: Path, settings: Settings) -> list[RawSheet]:
    """All sheets of the file as raw text cells. Raises UnreadableFile with the reason."""
    try:
        size = path.stat().st_size
    except OSError:
        raise UnreadableFile("文件无法读取: 文件不存在或无法打开") from None
    limit = settings.max_file_mb * 1024 * 1024
    if size > limit:
        raise UnreadableFile(f"文件过大: {size / 1024 / 1024:.1f} MB, 上限为 {settings.max_file_mb:g} MB")
    if size == 0:
        raise UnreadableFile("文件没有数据行 (空文件)")
    data = path.read_bytes()
    fmt = sniff_format(data[:16])
    date1904 = _check_zip(data, limit) if fmt == XLSX else False
    if fmt in (XLSX, XLS):
        return _read_excel(data, settings, date1904)
    frame = _csv_frame(decode_text(data))
    if frame.height > settings.max_rows + 1000:
        raise UnreadableFile(f"文件行数超过上限: 超过 {settings.max_rows} 行")
    return [RawSheet(None, frame)]


def _check_zip(data: bytes, limit: float) -> bool:
    """Reject broken, foreign or bomb-like zips before calamine unpacks them; returns whether the
    workbook uses the 1904 date system (calamine converts date-formatted cells itself, but bare
    serial numbers need to know)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            names = {e.filename: e for e in entries}
            unpacked = sum(e.file_size for e in entries)
            if unpacked > min(ZIP_BOMB_LIMIT, ZIP_BOMB_RATIO * limit):
                raise UnreadableFile(f"文件无法读取: 解压后内容过大 ({unpacked / 1024 / 1024:.0f} MB), 疑似异常文件")
            if not names.keys() & {"xl/workbook.xml", "xl/workbook.bin"}:
                raise UnreadableFile(f"{NOT_A_TABLE} (是压缩包或其他文档, 不是Excel工作簿)")
            book = names.get("xl/workbook.xml")
            if book is None or book.file_size > 16 << 20:
                return False
            return re.search(rb'date1904="(?:1|true)"', archive.read(book)) is not None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, zlib.error):
        raise UnreadableFile(f"{NOT_A_TABLE} (压缩结构已损坏)") from None


def _read_excel(data: bytes, settings: Settings, date1904: bool = False) -> list[RawSheet]:
    try:
        reader = fastexcel.read_excel(data)
        names = list(reader.sheet_names)
    except Exception:  # calamine's errors for encrypted, truncated or foreign files
        raise UnreadableFile(f"{NOT_A_TABLE} (文件已损坏或已加密)") from None
    sheets = []
    cap = settings.max_rows + 1000  # room for titles, headers and notes above/below the data
    for index, name in enumerate(names):
        try:
            # skip_rows=0 keeps leading blank rows, so frame row i is spreadsheet row i + 1
            sheet = reader.load_sheet(index, header_row=None, skip_rows=0, dtypes="string", n_rows=cap)
            if sheet.total_height > cap:
                raise UnreadableFile(f"文件行数超过上限: 工作表 {name} 超过 {settings.max_rows} 行")
            frame = sheet.to_polars()
        except UnreadableFile:
            raise
        except Exception:
            raise UnreadableFile(f"文件无法读取: 工作表 {name} 已损坏") from None
        frame = frame.rename({old: f"c{i}" for i, old in enumerate(frame.columns)})
        sheets.append(RawSheet(name, frame.select(pl.all().cast(pl.Utf8)), date1904))
    return sheets


def decode_text(data: bytes) -> str:
    """CSV bytes → text: BOM (UTF-8, UTF-16), else UTF-8, else GB18030 (a superset of GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        encodings = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ["utf-16"]
    else:
        encodings = ["utf-8", "gb18030"]
    for encoding in encodings:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableFile(NOT_A_TABLE)
    # Binary content can decode by accident; real tables have (almost) no control characters.
    sample = text[:20000]
    controls = sum(1 for ch in sample if unicodedata.category(ch) in ("Cc", "Cs", "Co") and ch not in "\t\r\n")
    if controls > max(2, len(sample) // 1000):
        raise UnreadableFile(NOT_A_TABLE)
    return text


def _delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:30] if line.strip()]
    counts = {d: sum(line.count(d) for line in lines) for d in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _csv_frame(text: str) -> pl.DataFrame:
    delimiter = _delimiter(text)
    # polars' reader is many times faster than the csv module; give it a width no record can
    # exceed (title rows above the header are shorter than the header) and fall back to the csv
    # module when a quoted multi-line record breaks that bound.
    width = max((line.count(delimiter) for line in text.splitlines()), default=0) + 1
    try:
        return pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            has_header=False,
            separator=delimiter,
            schema={f"c{i}": pl.Utf8 for i in range(width)},
            quote_char='"',
        )
    except Exception:
        return _csv_frame_slow(text, delimiter)


def _csv_frame_slow(text: str, delimiter: str) -> pl.DataFrame:
    csv.field_size_limit(1 << 24)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        raise UnreadableFile(f"{NOT_A_TABLE} (CSV格式有误)") from None
    width = max((len(r) for r in rows), default=0)
    columns = {f"c{i}": [r[i] if i < len(r) and r[i] != "" else None for r in rows] for i in range(width)}
    return pl.DataFrame(columns, schema={name: pl.Utf8 for name in columns})

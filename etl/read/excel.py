"""Workbooks calamine reads (xlsx, xlsm, xlsb, ods, xls, WPS .et) and the checks that run before
calamine sees a zip: real (not declared) unpacked sizes, and the extent of every xlsx sheet.

calamine allocates a sheet's whole rectangle (first to last used row × used columns) and trusts
a zip's headers, so a small file can ask it for gigabytes; both are measured here first, by
streaming every entry through zlib with a cap."""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import fastexcel
import olefile
import polars as pl
from lxml import etree

from duban.core.settings import Settings
from etl.read.common import (
    NOT_A_TABLE, RawSheet, UnreadableFile, check_extent, document_not_table, row_cap, safe_xml_parser,
)

ZIP_BOMB_LIMIT = 1 << 30  # uncompressed workbook content never needs more than 1 GB
ZIP_BOMB_RATIO = 50  # … nor more than 50× the allowed file size
_CHUNK_IN, _CHUNK_OUT = 1 << 16, 1 << 20
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_ODS = b"application/vnd.oasis.opendocument.spreadsheet"
_ODT = b"application/vnd.oasis.opendocument.text"
_BROKEN = f"{NOT_A_TABLE} (压缩结构已损坏)"
_ENCRYPTED = "文件无法读取: 文件已加密, 请去掉密码后重新报送"
_LIED = "文件无法读取: 压缩包内文件的实际大小与声明不符, 疑似异常文件"

# Cell references in sheet XML. Only wide columns (AA…) and tall rows (10000…) match, so an
# ordinary sheet costs a scan without matches; a sheet reaching further is measured exactly.
_WIDE = re.compile(rb'r=["\']([A-Z]{2,3})[0-9]')
_TALL = re.compile(rb'r=["\'][A-Z]{0,3}([0-9]{5,})["\']')
_OVERLAP = 24  # longer than any reference, so one split by a chunk boundary is seen whole

WORKBOOK, ODS, DOCX = "workbook", "ods", "docx"
_SPREADSHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@dataclass
class ZipContent:
    kind: str  # WORKBOOK (xlsx, xlsm, xlsb), ODS or DOCX
    date1904: bool = False
    names: dict[str, str] = field(default_factory=dict)  # sheet XML entry → sheet name


def check_zip(data: bytes, settings: Settings) -> ZipContent:
    """What the zip holds, after every entry's real unpacked size and every xlsx sheet's extent
    passed the caps. Raises UnreadableFile naming what was found."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        raise UnreadableFile(_BROKEN) from None
    names = {e.filename: e for e in entries}
    if len(names) != len(entries):
        raise UnreadableFile(f"{_BROKEN}: 压缩包内有重名文件")
    kind = _zip_kind(data, names)
    budget = min(ZIP_BOMB_LIMIT, ZIP_BOMB_RATIO * settings.max_file_mb * 1024 * 1024)
    if sum(e.file_size for e in entries) > budget:  # declared sizes can only lie smaller (checked below)
        raise UnreadableFile(f"文件无法读取: 解压后内容过大 (超过 {budget / 1024 / 1024:.0f} MB), 疑似异常文件")
    content = ZipContent(kind)
    if kind == WORKBOOK and "xl/workbook.xml" in names:
        content.date1904, content.names = _workbook_facts(data, names)
    for entry in entries:
        extent = _SheetExtent() if entry.filename in content.names or _is_sheet_xml(entry.filename) else None
        size = 0
        for piece in _unpacked(data, entry):
            size += len(piece)
            if size > entry.file_size:  # stop at the first byte past the declared size
                raise UnreadableFile(_LIED)
            if extent:
                extent.scan(piece)
        if size != entry.file_size:
            raise UnreadableFile(_LIED)
        if extent:
            where = f"工作表 {content.names.get(entry.filename, entry.filename)} "
            check_extent(extent.rows, extent.columns, settings, where)
    return content


def _zip_kind(data: bytes, names: dict[str, zipfile.ZipInfo]) -> str:
    if names.keys() & {"xl/workbook.xml", "xl/workbook.bin"}:
        return WORKBOOK
    if "word/document.xml" in names:
        return DOCX
    mimetype = b""
    if "mimetype" in names and names["mimetype"].file_size < 200:
        mimetype = _entry_bytes(data, names["mimetype"]).strip()
    if mimetype.startswith(_ODS):
        return ODS
    if mimetype.startswith(_ODT):
        raise UnreadableFile(document_not_table("OpenDocument 文本文档 (.odt)", "请在 WPS 或 LibreOffice 中另存为 .docx"))
    if "ppt/presentation.xml" in names:
        raise UnreadableFile(document_not_table("PowerPoint 演示文稿", "请把表格另存为 Word (.docx)"))
    raise UnreadableFile(f"{NOT_A_TABLE} (是压缩包或其他文档, 不是Excel工作簿)")


def _unpacked(data: bytes, entry: zipfile.ZipInfo) -> Iterator[bytes]:
    """The entry's real content in pieces of at most 1 MB, read from its local header on — what
    an unzipper gets, whatever the directory declares."""
    header = data[entry.header_offset:entry.header_offset + _LOCAL_HEADER.size]
    if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise UnreadableFile(_BROKEN)
    fields = _LOCAL_HEADER.unpack(header)
    flags, method, local_packed, local_size, name_length, extra_length = (
        fields[3], fields[4], fields[8], fields[9], fields[10], fields[11])
    if flags & 0x1:
        raise UnreadableFile(_ENCRYPTED)
    no_descriptor = not flags & 0x8 and 0xFFFFFFFF not in (local_packed, local_size)
    if no_descriptor and (local_packed, local_size) != (entry.compress_size, entry.file_size):
        raise UnreadableFile(_LIED)
    start = entry.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    packed = memoryview(data)[start:start + entry.compress_size]
    if method == zipfile.ZIP_STORED:
        for offset in range(0, len(packed), _CHUNK_OUT):
            yield bytes(packed[offset:offset + _CHUNK_OUT])
    elif method == zipfile.ZIP_DEFLATED:
        inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            for offset in range(0, len(packed), _CHUNK_IN):
                yield inflate.decompress(packed[offset:offset + _CHUNK_IN], _CHUNK_OUT)
                while inflate.unconsumed_tail:
                    yield inflate.decompress(inflate.unconsumed_tail, _CHUNK_OUT)
        except zlib.error:
            raise UnreadableFile(_BROKEN) from None
    else:
        raise UnreadableFile(f"{_BROKEN}: 不支持的压缩方式 {method}")


def _entry_bytes(data: bytes, entry: zipfile.ZipInfo) -> bytes:
    """A small entry whole; more content than declared rejects the file."""
    pieces, size = [], 0
    for piece in _unpacked(data, entry):
        size += len(piece)
        if size > entry.file_size:
            raise UnreadableFile(_LIED)
        pieces.append(piece)
    return b"".join(pieces)


def _is_sheet_xml(name: str) -> bool:
    return name.startswith("xl/worksheets/") and name.endswith(".xml") and name.count("/") == 2


class _SheetExtent:
    """How far a sheet's cell references reach: exact once they pass column Z or row 9999,
    else 1 (small enough that calamine's rectangle needs no check)."""

    def __init__(self) -> None:
        self.rows = self.columns = 1
        self._tail = b""

    def scan(self, piece: bytes) -> None:
        text = self._tail + piece
        self._tail = text[-_OVERLAP:]
        letters = set(_WIDE.findall(text))
        if letters:
            self.columns = max(self.columns, max(_column_number(c) for c in letters))
        digits = set(_TALL.findall(text))
        if digits:
            self.rows = max(self.rows, max(map(int, digits)))


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _workbook_facts(data: bytes, names: dict[str, zipfile.ZipInfo]) -> tuple[bool, dict[str, str]]:
    """Whether the workbook uses the 1904 date system (calamine converts date-formatted cells
    itself, but bare serial numbers need to know), and each sheet's XML entry → its name."""
    book = _small_xml(data, names.get("xl/workbook.xml"))
    rels = _small_xml(data, names.get("xl/_rels/workbook.xml.rels"))
    if book is None:
        return False, {}
    properties = book.find(f"{{{_SPREADSHEET_NS}}}workbookPr")
    date1904 = properties is not None and properties.get("date1904", "").lower() in ("1", "true")
    targets = {}
    for rel in rels.iter("{*}Relationship") if rels is not None else ():
        target = rel.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        targets[rel.get("Id")] = path
    sheet_names = {}
    for sheet in book.iter(f"{{{_SPREADSHEET_NS}}}sheet"):
        path = targets.get(sheet.get(f"{{{_REL_NS}}}id"))
        if path:
            sheet_names[path] = sheet.get("name", path)
    return date1904, sheet_names


def _small_xml(data: bytes, entry: zipfile.ZipInfo | None) -> etree._Element | None:
    if entry is None or entry.file_size > 16 << 20:
        return None
    try:
        return etree.fromstring(_entry_bytes(data, entry), safe_xml_parser())
    except etree.XMLSyntaxError:
        return None


_OLE_DOCUMENTS = [  # (stream, what it is, how to resave), checked in order after the workbook streams
    ("EncryptedPackage", None, None),
    ("WpsCustomData", "WPS 文字文档 (.wps)", "请在 WPS 中另存为 .docx"),
    ("WordDocument", "Word 97-2003 文档 (.doc)", "请在 Word 或 WPS 中另存为 .docx"),
    ("PowerPoint Document", "PowerPoint 演示文稿", "请把表格另存为 Word (.docx)"),
]


def check_ole(data: bytes) -> None:
    """An OLE2 compound file is read only when it holds a workbook (Excel 97-2003 .xls, WPS .et);
    Word, WPS and PowerPoint documents and encrypted files are named with how to resave them."""
    try:
        with olefile.OleFileIO(data) as ole:
            if ole.exists("Workbook") or ole.exists("Book"):
                return
            found = next(((what, how) for stream, what, how in _OLE_DOCUMENTS if ole.exists(stream)), None)
    except Exception:  # olefile's errors for truncated or damaged compound files
        raise UnreadableFile(f"{NOT_A_TABLE} (文件已损坏)") from None
    if found is None:
        raise UnreadableFile(f"{NOT_A_TABLE} (是 Office 文档, 但不是 Excel 工作簿)")
    what, how = found
    if what is None:
        raise UnreadableFile(_ENCRYPTED)
    raise UnreadableFile(document_not_table(what, how))


def read_workbook(data: bytes, settings: Settings, date1904: bool = False) -> list[RawSheet]:
    try:
        reader = fastexcel.read_excel(data)
        names = list(reader.sheet_names)
    except Exception:  # calamine's errors for encrypted, truncated or foreign files
        raise UnreadableFile(f"{NOT_A_TABLE} (文件已损坏或已加密)") from None
    sheets = []
    cap = row_cap(settings)
    for index, name in enumerate(names):
        try:
            # skip_rows=0 keeps leading blank rows, so frame row i is spreadsheet row i + 1
            sheet = reader.load_sheet(index, header_row=None, skip_rows=0, dtypes="string", n_rows=cap)
            if sheet.total_height > cap:
                raise UnreadableFile(f"文件行数超过上限: 工作表 {name} 超过 {settings.max_rows} 行")
            check_extent(sheet.total_height, sheet.width, settings, f"工作表 {name} ")
            frame = sheet.to_polars()
        except UnreadableFile:
            raise
        except Exception:
            raise UnreadableFile(f"文件无法读取: 工作表 {name} 已损坏") from None
        frame = frame.select(pl.all().cast(pl.Utf8))
        frame.columns = [f"c{i}" for i in range(frame.width)]
        sheets.append(RawSheet(name, frame, date1904))
    return sheets

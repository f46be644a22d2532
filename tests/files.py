"""Write small xlsx / xls / csv files for tests (shared by every test module).

Cells are written as given: str → text, int/float → number, date/datetime → an Excel date,
None → empty. ``merge`` ranges (xlsx only) are (first_row, first_col, last_row, last_col,
value), 0-based, written as a merged cell like a clerk's two-level header.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

Rows = Sequence[Sequence[Any]]


def write_xlsx(
    path: Path,
    sheets: dict[str, Rows],
    merges: dict[str, Iterable[tuple[int, int, int, int, Any]]] | None = None,
    formulas: dict[str, Iterable[tuple[int, int, str, Any]]] | None = None,
    date_1904: bool = False,
) -> Path:
    """``formulas``: (row, col, formula, cached value) per sheet — a real formula cell;
    ``date_1904``: a workbook in Excel's 1904 date system (old Mac Excel)."""
    import xlsxwriter

    path = Path(path)
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False, "date_1904": date_1904})
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    datetime_format = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, datetime):
                    sheet.write_datetime(r, c, value, datetime_format)
                elif isinstance(value, date):
                    sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), date_format)
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    sheet.write_number(r, c, value)
                else:
                    sheet.write_string(r, c, str(value))
        for first_row, first_col, last_row, last_col, value in (merges or {}).get(name, []):
            sheet.merge_range(first_row, first_col, last_row, last_col, value)
        for r, c, formula, cached in (formulas or {}).get(name, []):
            sheet.write_formula(r, c, formula, None, cached)
    book.close()
    return path


def write_xls(path: Path, sheets: dict[str, Rows]) -> Path:
    """Excel 97-2003 (.xls) through xlwt."""
    import xlwt

    path = Path(path)
    book = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for name, rows in sheets.items():
        sheet = book.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, (date, datetime)):
                    sheet.write(r, c, value, date_style)
                else:
                    sheet.write(r, c, value)
    book.save(str(path))
    return path


def csv_bytes(rows: Rows, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    """Rows as CSV bytes; ``encoding`` 'utf-8-sig' gives a BOM, 'utf-16' a UTF-16 BOM file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue().encode(encoding)


def write_csv(path: Path, rows: Rows, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    path = Path(path)
    path.write_bytes(csv_bytes(rows, encoding, delimiter))
    return path


def write_ods(path: Path, sheets: dict[str, Rows]) -> Path:
    """A minimal OpenDocument spreadsheet (text cells; numbers as float cells) written with
    zipfile: no ODS writer is installed."""
    import zipfile
    from xml.sax.saxutils import escape, quoteattr

    def cell(value: Any) -> str:
        if value is None:
            return "<table:table-cell/>"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f'<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p></table:table-cell>'
        return f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p></table:table-cell>'

    tables = "".join(
        f"<table:table table:name={quoteattr(name)}>"
        + "".join("<table:table-row>" + "".join(cell(v) for v in row) + "</table:table-row>" for row in rows)
        + "</table:table>"
        for name, rows in sheets.items()
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    path = Path(path)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return path


def write_docx(path: Path, blocks: Sequence[Any], merges: Iterable[tuple[int, int, int, int, int]] = ()) -> Path:
    """A Word file: each block is a paragraph (str) or a table (list of rows). ``merges``:
    (table index, first_row, first_col, last_row, last_col), 0-based; the merged cell keeps
    the top-left text."""
    import docx

    document = docx.Document()
    tables = []
    for block in blocks:
        if isinstance(block, str):
            document.add_paragraph(block)
            continue
        table = document.add_table(rows=len(block), cols=max(len(r) for r in block))
        for r, row in enumerate(block):
            for c, value in enumerate(row):
                if value is not None:
                    table.cell(r, c).text = str(value)
        tables.append(table)
    for index, first_row, first_col, last_row, last_col in merges:
        table = tables[index]
        text = table.cell(first_row, first_col).text
        merged = table.cell(first_row, first_col).merge(table.cell(last_row, last_col))
        merged.text = text
    path = Path(path)
    document.save(str(path))
    return path


def xml_spreadsheet(sheets: dict[str, str]) -> bytes:
    """An Excel 2003 XML Spreadsheet; each sheet's value is the XML of its <Table> content."""
    worksheets = "".join(f'<Worksheet ss:Name="{name}"><Table>{rows}</Table></Worksheet>' for name, rows in sheets.items())
    return (
        '<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
        'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet" xmlns:html="http://www.w3.org/TR/REC-html40">'
        f"{worksheets}</Workbook>"
    ).encode()


def zip_bytes(entries: dict[str, bytes | Iterable[bytes]], declared_sizes: dict[str, int] | None = None) -> bytes:
    """A deflated zip written by hand; an entry given as pieces is compressed as it streams (a
    large repetitive entry costs no memory). ``declared_sizes`` makes both headers lie about an
    entry's unpacked size, as a hostile file does."""
    import struct
    import zlib

    out, directory = io.BytesIO(), []
    for name, content in entries.items():
        pieces = [content] if isinstance(content, bytes) else content
        deflate, crc, size, packed = zlib.compressobj(9, zlib.DEFLATED, -15), 0, 0, []
        for piece in pieces:
            crc, size = zlib.crc32(piece, crc), size + len(piece)
            packed.append(deflate.compress(piece))
        packed.append(deflate.flush())
        data = b"".join(packed)
        declared = (declared_sizes or {}).get(name, size)
        encoded = name.encode()
        offset = out.tell()
        out.write(struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0x800, 8, 0, 0, crc, len(data), declared, len(encoded), 0))
        out.write(encoded + data)
        directory.append(struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 0, 20, 0, 0x800, 8, 0, 0, crc, len(data),
                                     declared, len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    start = out.tell()
    for record in directory:
        out.write(record)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(directory), len(directory), out.tell() - start, start, 0))
    return out.getvalue()


def ole_bytes(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE2 compound file (as Word 97-2003, WPS and Excel 97-2003 files are) holding
    up to 3 streams, each padded to 4 KB so it lives in ordinary sectors; olefile reads it."""
    import struct

    end, free, fat_sector = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    datas = [content.ljust(max(4096, -(-len(content) // 512) * 512), b"\0") for content in streams.values()]
    fat, next_sector = [fat_sector, end], 2  # sector 0: the FAT, sector 1: the directory
    starts = []
    for data in datas:
        count = len(data) // 512
        starts.append(next_sector)
        fat += [next_sector + i + 1 for i in range(count - 1)] + [end]
        next_sector += count
    fat_block = b"".join(struct.pack("<L", e) for e in fat).ljust(512, b"\xff")

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        return (encoded.ljust(64, b"\0") + struct.pack("<HBB3L", len(encoded), kind, 1, free, right, child)
                + b"\0" * 36 + struct.pack("<3L", start, size, 0))

    names = list(streams)
    directory = entry("Root Entry", 5, 1, free, end, 0) + b"".join(
        entry(name, 2, free, i + 2 if i + 1 < len(names) else free, starts[i], len(datas[i]))
        for i, name in enumerate(names)
    )
    directory = directory.ljust(512, b"\0")
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + b"\0" * 6 + struct.pack("<9L", 0, 1, 1, 0, 4096, end, 0, end, 0)
              + struct.pack("<L", 0) + b"\xff" * 4 * 108)
    return header + fat_block + directory + b"".join(datas)

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

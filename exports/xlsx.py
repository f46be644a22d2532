"""Excel exports for meetings and desk work: one office-formatted, formula-safe sheet writer and
the specific exports built on it (催办清单, 考核排名, 单位承办清单, 拒收行清单).

Every export returns the .xlsx file as bytes (the dashboard sends them as downloads, the CLI
writes them). Every figure comes from the indicator layer (warehouse.indicators /
warehouse.ranking); this module only lays rows out. Rates arrive as unrounded fractions and are
written as numbers with the 0.00% format, so Excel shows 91.30% and still computes with them;
a rate whose denominator is 0 (None) is written as "—".

Formula safety: data is always written with write_string/write_number/write_datetime, never
write() (whose auto-detection turns "=..." into a formula). Text that begins with = + - @ tab
or CR additionally gets the cell's quotePrefix flag, Excel's stored form of a leading
apostrophe, so it stays text even after someone edits the cell.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from exports.safe import DASH, join_units, looks_like_formula, xml_text, yes_no

TEXT, INT, NUMBER, DATE, RATE, BOOL = "text", "int", "number", "date", "rate", "bool"

DATE_FORMAT = "yyyy-mm-dd"
RATE_FORMAT = "0.00%"
MAX_WIDTH = 48  # characters; longer text wraps
FONT = "宋体"


@dataclass(frozen=True)
class Col:
    """One column of an exported table: header text, how to get the value from a row, its kind."""

    header: str
    key: str | Callable[[Mapping[str, Any]], Any]
    kind: str = TEXT
    width: float | None = None  # characters; None → fitted to the content

    def value(self, row: Mapping[str, Any]) -> Any:
        return self.key(row) if callable(self.key) else row.get(self.key)


def display_width(text: str) -> int:
    """Width in Excel character units: CJK and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def as_rows(data: Any) -> list[dict[str, Any]]:
    """Rows from whatever the indicator layer returns: dicts, a polars/pandas frame, or Arrow."""
    if data is None:
        return []
    if hasattr(data, "to_dicts"):  # polars
        return data.to_dicts()
    if hasattr(data, "to_pylist"):  # pyarrow
        return data.to_pylist()
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # pandas
        return data.to_dict("records")
    return [dict(r) if not isinstance(r, dict) else r for r in data]


def _as_date(value: Any) -> date | datetime | None:
    if isinstance(value, (date, datetime)):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


class OfficeWorkbook:
    """An xlsxwriter workbook with the office look (宋体, borders, A4 landscape) and safe cells."""

    def __init__(self, target: str | Path | io.BytesIO):
        self.book = xlsxwriter.Workbook(
            target if isinstance(target, io.BytesIO) else str(target),
            {
                "in_memory": True,
                # Belt and braces: even an accidental write() must not create formulas or links.
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
                "default_date_format": DATE_FORMAT,
            },
        )
        self.book.set_properties({"title": "督办", "author": "督办系统", "comments": "由督办系统生成"})
        self._formats: dict[tuple, Any] = {}
        self.title_fmt = self.fmt(("title",), bold=True, font_size=16, align="center", valign="vcenter")
        self.meta_fmt = self.fmt(("meta",), font_size=11, align="left", valign="vcenter")
        self.header_fmt = self.fmt(
            ("header",), bold=True, border=1, align="center", valign="vcenter", text_wrap=True, bg_color="#D9E1F2"
        )

    def fmt(self, key: tuple, **props: Any):
        if key not in self._formats:
            self._formats[key] = self.book.add_format({"font_name": FONT, "font_size": 11, **props})
        return self._formats[key]

    def cell_format(self, kind: str, *, wrap: bool = False, quote: bool = False, input_cell: bool = False):
        props: dict[str, Any] = {"border": 1, "valign": "top"}
        if kind == DATE:
            props.update(num_format=DATE_FORMAT, align="center")
        elif kind == RATE:
            props.update(num_format=RATE_FORMAT, align="right")
        elif kind == INT:
            props.update(num_format="0", align="right")
        elif kind == NUMBER:
            props.update(num_format="0.00", align="right")
        elif kind == BOOL:
            props.update(align="center")
        if wrap:
            props["text_wrap"] = True
        if quote:
            props["quote_prefix"] = True
        if input_cell:  # cells a unit fills in: unlocked, pale yellow
            props.update(locked=False, bg_color="#FFF9E5")
        return self.fmt(("cell", kind, wrap, quote, input_cell), **props)

    def write_cell(
        self, ws: Worksheet, row: int, col: int, value: Any, kind: str = TEXT, *, wrap: bool = False,
        input_cell: bool = False,
    ) -> str:
        """Write one data value by kind; returns the text as displayed (for column widths)."""
        if kind == RATE:
            if value is None:
                ws.write_string(row, col, DASH, self.fmt(("dash", input_cell), border=1, align="center", valign="top"))
                return DASH
            ws.write_number(row, col, float(value), self.cell_format(RATE, input_cell=input_cell))
            return f"{float(value):.2%}"
        if kind in (INT, NUMBER) and isinstance(value, (int, float)) and not isinstance(value, bool):
            ws.write_number(row, col, value, self.cell_format(kind, input_cell=input_cell))
            return f"{value:.2f}" if kind == NUMBER else str(value)
        if kind == DATE:
            day = _as_date(value)
            if day is not None:
                ws.write_datetime(row, col, day, self.cell_format(DATE, input_cell=input_cell))
                return "2024-01-01"
        if kind == BOOL and (value is None or isinstance(value, bool)):
            value = yes_no(value)
        if isinstance(value, (list, tuple)):
            value = join_units(value)
        text = xml_text(value)
        if text == "":
            ws.write_blank(row, col, None, self.cell_format(kind, wrap=wrap, input_cell=input_cell))
            return ""
        fmt = self.cell_format(TEXT if kind in (DATE, INT, NUMBER) else kind, wrap=wrap,
                               quote=looks_like_formula(text), input_cell=input_cell)
        ws.write_string(row, col, text, fmt)
        return text

    def table(
        self,
        sheet_name: str,
        title: str,
        columns: Sequence[Col],
        rows: Iterable[Mapping[str, Any]],
        *,
        as_of: date | None = None,
        meta: Sequence[str] = (),
        empty_text: str = "无符合条件的记录",
    ) -> Worksheet:
        """One sheet: title, 截至日期 and other meta lines, bold frozen header with autofilter, data."""
        ws = self.book.add_worksheet(sheet_name[:31])
        last_col = len(columns) - 1
        r = 0
        ws.set_row(r, 30)
        self._merged(ws, r, last_col, title, self.title_fmt)
        r += 1
        lines = ([f"截至日期：{as_of.isoformat()}"] if as_of else []) + list(meta)
        for line in lines:
            self._merged(ws, r, last_col, line, self.meta_fmt)
            r += 1
        header_row = r
        widths = [display_width(c.header) + 2 for c in columns]
        for c, col in enumerate(columns):
            ws.write_string(header_row, c, col.header, self.header_fmt)
        r += 1
        count = 0
        for row in rows:
            for c, col in enumerate(columns):
                shown = self.write_cell(ws, r, c, col.value(row), col.kind, wrap=True)
                widths[c] = max(widths[c], min(MAX_WIDTH, display_width(shown) + 2))
            r += 1
            count += 1
        if count == 0:
            self._merged(ws, r, last_col, empty_text, self.meta_fmt)
        for c, col in enumerate(columns):
            ws.set_column(c, c, col.width or max(6, min(MAX_WIDTH, widths[c])))
        ws.freeze_panes(header_row + 1, 0)
        ws.autofilter(header_row, 0, header_row + max(count, 1), last_col)
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(header_row)
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
        ws.set_footer("&C第 &P 页，共 &N 页")
        return ws

    def _merged(self, ws: Worksheet, row: int, last_col: int, text: str, fmt) -> None:
        if last_col > 0:
            ws.merge_range(row, 0, row, last_col, "", fmt)
        ws.write_string(row, 0, xml_text(text), fmt)

    def close(self) -> None:
        self.book.close()


def build_xlsx(fill: Callable[[OfficeWorkbook], None]) -> bytes:
    """Run ``fill`` on a fresh OfficeWorkbook and return the finished file's bytes."""
    buffer = io.BytesIO()
    book = OfficeWorkbook(buffer)
    fill(book)
    book.close()
    return buffer.getvalue()


def table_xlsx(title: str, columns: Sequence[Col], rows: Iterable[Mapping[str, Any]], *,
               sheet_name: str = "清单", as_of: date | None = None, meta: Sequence[str] = ()) -> bytes:
    """A one-sheet export (the dashboard uses it for any grid it offers as a download)."""
    return build_xlsx(lambda book: book.table(sheet_name, title, columns, rows, as_of=as_of, meta=meta))


# ── the specific exports ────────────────────────────────────────────────────────────────────
def _city(indicators: Any) -> str:
    settings = getattr(indicators, "settings", None)
    names = getattr(settings, "city_names", None) or ("示范市",)
    return names[0]


def _scope_meta(scope: Any) -> list[str]:
    """The filters of a scope as one line (year, session, kind, category, unit, 重点)."""
    parts = []
    for attr, label in (("year", "年度"), ("session", "届次"), ("kind", "类型"), ("category", "类别"), ("unit", "单位")):
        value = getattr(scope, attr, None)
        if value:
            parts.append(f"{label}：{value}")
    if getattr(scope, "key_only", False):
        parts.append("仅重点督办件")
    return ["　".join(parts)] if parts else []

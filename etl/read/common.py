"""What every reader shares: the result type, the reason type, the size caps and a grid that
places spanned cells like a spreadsheet does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
from lxml import etree

from duban.core.settings import Settings

NOT_A_TABLE = "文件无法读取: 不是有效的Excel或CSV文件"
RESAVE = "或把表格复制到 Excel 另存为 .xlsx 后重新报送"


def document_not_table(what: str, how: str) -> str:
    """The reason for a document that holds no readable table: what it is and how to resave it."""
    return f"文件无法读取: 这是{what}, 无法读取表格: {how}, {RESAVE}"

ROW_SLACK = 1000  # room for titles, headers and notes above/below the data rows
MAX_COLUMNS = 1000  # real exports have tens of columns; Excel allows 16,384
CELLS_PER_ROW = 100  # the cell cap: (max_rows + ROW_SLACK) rows of this many cells on average
MAX_ROWSPAN = 65534  # as browsers clamp rowspan


class UnreadableFile(Exception):
    """The whole file cannot be read; the message is the Chinese reason."""


@dataclass
class RawSheet:
    name: str | None  # None for CSV, HTML and Word files (one stacked sheet per file)
    cells: pl.DataFrame  # Utf8 columns c0, c1, …; row i = spreadsheet row i + 1
    date1904: bool = False  # workbook uses the 1904 date system (bare serial numbers shift)

    @property
    def is_empty(self) -> bool:
        # a sheet with data shows some in its first rows: all of it is looked through only when those are blank
        return all(_all_blank(cells) for cells in (self.cells.head(100), self.cells))


def _all_blank(cells: pl.DataFrame) -> bool:
    """No cell holds more than whitespace (as strip_chars strips it: \\S is its complement)."""
    if cells.height == 0 or cells.width == 0:
        return True
    return not cells.select(pl.concat_str(pl.all(), ignore_nulls=True).str.contains(r"\S").any()).item()


def row_cap(settings: Settings) -> int:
    return settings.max_rows + ROW_SLACK


def check_extent(rows: int, columns: int, settings: Settings, where: str = "") -> None:
    """Reject a table whose rows, columns or cells pass the caps, before it is built."""
    if columns > MAX_COLUMNS:
        raise UnreadableFile(f"文件列数超过上限: {where}有 {columns:,} 列, 上限为 {MAX_COLUMNS:,} 列")
    if rows > row_cap(settings):
        raise UnreadableFile(f"文件行数超过上限: {where}超过 {settings.max_rows} 行")
    if rows * columns > row_cap(settings) * CELLS_PER_ROW:
        raise UnreadableFile(f"文件单元格数超过上限: {where}有 {rows:,} 行 × {columns:,} 列")


def frame_of(rows: Sequence[Sequence[str | None]]) -> pl.DataFrame:
    """Text rows (ragged allowed) → the Utf8 frame c0, c1, … padded with None."""
    width = max((len(r) for r in rows), default=0)
    columns = {f"c{i}": [r[i] if i < len(r) else None for r in rows] for i in range(width)}
    return pl.DataFrame(columns, schema={name: pl.Utf8 for name in columns})


class SpanGrid:
    """Rows placed like a spreadsheet places merged cells: a cell spanning rows or columns keeps
    its value in its top-left position and leaves None in the others, and a cell spanning down
    takes its columns in the rows below (as calamine gives merged Excel cells). Spans are clamped
    like browsers clamp them; real cells past the caps reject the file."""

    def __init__(self, settings: Settings, where: str = ""):
        self.rows: list[list[str | None]] = []
        self._settings, self._where = settings, where
        self._spans: list[tuple[int, int, int]] = []  # (last row, first column, end column) spanning down
        self._cells = 0

    def new_row(self, index: int | None = None) -> None:
        """Start a row; ``index`` (0-based) skips to a later row, leaving blank rows between."""
        if self.rows:
            self._cells += len(self.rows[-1])
        target = len(self.rows) if index is None else max(index, len(self.rows))
        check_extent(target + 1, 1, self._settings, self._where)
        if self._cells > row_cap(self._settings) * CELLS_PER_ROW:
            raise UnreadableFile(f"文件单元格数超过上限: {self._where}超过 {row_cap(self._settings) * CELLS_PER_ROW:,} 个单元格")
        self.rows.extend([] for _ in range(target + 1 - len(self.rows)))
        self._spans = [span for span in self._spans if span[0] >= target]

    def add(self, text: str | None, colspan: int = 1, rowspan: int = 1, column: int | None = None) -> None:
        """Place a cell in the current row at the next free column (or at ``column``, 0-based)."""
        r, row = len(self.rows) - 1, self.rows[-1]
        c = len(row) if column is None else max(column, len(row))
        while column is None and any(first <= c < end for _, first, end in self._spans):
            c += 1
        check_extent(r + 1, c + 1, self._settings, self._where)
        colspan = min(max(colspan, 1), MAX_COLUMNS - c)
        row.extend([None] * (c + colspan - len(row)))
        row[c] = text or None
        if rowspan > 1:
            self._spans.append((r + min(rowspan, MAX_ROWSPAN) - 1, c, c + colspan))


def safe_xml_parser(**options) -> etree.XMLParser:
    """lxml parser that resolves no entity, loads no DTD and reaches no network (billion laughs
    and XXE stay inert text); huge_tree off keeps libxml2's depth and size limits."""
    return etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False, **options)

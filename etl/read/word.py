"""Word (.docx) files whose tables hold the rows: stacked like an HTML page — each table under
the paragraphs that precede it, one blank row between tables."""

from __future__ import annotations

import io

import docx
from docx.table import Table

from duban.core.settings import Settings
from etl.read.common import NOT_A_TABLE, RawSheet, SpanGrid, UnreadableFile, frame_of

TITLES_PER_TABLE = 3
_NO_TABLE = "文件无法读取: 是 Word 文档但其中没有表格; 请把表格复制到 Excel 另存为 .xlsx 后重新报送"


def read_docx(data: bytes, settings: Settings) -> list[RawSheet]:
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
    except Exception:  # python-docx's errors for damaged parts
        raise UnreadableFile(f"{NOT_A_TABLE} (Word 文档已损坏)") from None
    grid = SpanGrid(settings, "Word 表格")
    texts: list[str] = []
    tables = 0
    for block in blocks:
        if not isinstance(block, Table):
            text = " ".join(block.text.split())
            if text:
                texts.append(text)
            continue
        if tables:
            grid.new_row()
        for title in texts[-TITLES_PER_TABLE:]:
            grid.new_row()
            grid.add(title)
        _add_table(grid, block)
        texts.clear()
        tables += 1
    if not tables:
        raise UnreadableFile(_NO_TABLE)
    return [RawSheet(None, frame_of(grid.rows))]


def _add_table(grid: SpanGrid, table: Table) -> None:
    """python-docx repeats a merged cell in every grid position it covers (across and down);
    the value is kept at its first (top-left) position only, as calamine gives merged cells."""
    seen: set = set()  # the cells met so far (lxml keeps one proxy per node while it is referenced)
    for row in table.rows:
        grid.new_row()
        for cell in row.cells:
            grid.add(None if cell._tc in seen else cell.text.strip() or None)
            seen.add(cell._tc)

"""Tables written as markup: HTML pages saved as .xls/.htm (how many government systems
export) and Excel 2003 XML Spreadsheets. Parsed with lxml; nothing in them is run, fetched or
expanded.

An HTML page becomes one stacked sheet like a CSV: every data table in document order, one
blank row between tables, and above each table (as single-cell rows) the nearest text blocks
that precede it — its headings, notes such as ``填报单位：…``, its caption — so recognise finds
each block's title and header as in a spreadsheet."""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

from duban.core.settings import Settings
from etl.read.common import NOT_A_TABLE, RawSheet, SpanGrid, UnreadableFile, frame_of, safe_xml_parser

TITLES_PER_TABLE = 3
_NO_TABLE = "文件无法读取: 是 HTML 网页但其中没有表格"
_DTD = "文件无法读取: XML 文件中含有 DTD 声明 (DOCTYPE), 为安全起见不予读取; 请另存为 .xlsx 后重新报送"
_BLOCKS = frozenset(
    "address article aside blockquote body caption center dd div dl dt figcaption footer form h1 h2 h3 h4 "
    "h5 h6 header hr li main nav ol p pre section table td th tr ul".split()
)
_HIDDEN = frozenset(("script", "style", "noscript", "template", "head", "title"))
_SPACES = re.compile(r"\s+")
_GBK_NAMES = frozenset(("gb2312", "gbk", "x-gbk", "cp936", "gb_2312-80", "csgb2312", "euc-cn"))
_SS = "urn:schemas-microsoft-com:office:spreadsheet"


def is_xml_spreadsheet(head: str) -> bool:
    return _SS in head and "<workbook" in head.replace("ss:workbook", "workbook")


def looks_like_html(head: str) -> bool:
    return head.startswith("<") and any(tag in head for tag in ("<html", "<!doctype html", "<table", "<body", "<meta", "<head"))


# ---------------------------------------------------------------- HTML

def read_html(data: bytes, settings: Settings) -> list[RawSheet]:
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, huge_tree=False)
    try:
        root = lxml.html.document_fromstring(_html_text(data), parser=parser)
    except (etree.ParserError, ValueError):
        raise UnreadableFile(_NO_TABLE) from None
    grid = SpanGrid(settings, "HTML 表格")
    texts: list[str] = []  # text blocks since the previous table
    pending: list[str | None] = []  # the text block being gathered
    tables = 0

    def end_block() -> None:
        text = _collapse(pending)
        pending.clear()
        if text:
            texts.append(text)

    walk = etree.iterwalk(root, events=("start", "end"))
    for event, node in walk:
        tag = node.tag if isinstance(node.tag, str) else ""
        if event == "start":
            if tag in _BLOCKS or tag == "br":
                end_block()
            if tag in _HIDDEN:
                walk.skip_subtree()
            elif tag == "table" and node.find(".//table") is None:  # a table holding tables is layout
                walk.skip_subtree()
                caption = node.find("caption")
                titles = texts[-TITLES_PER_TABLE:] + ([_cell_text(caption)] if caption is not None else [])
                if tables:
                    grid.new_row()
                _add_table(grid, node, [t for t in titles if t])
                texts.clear()
                tables += 1
            else:
                pending.append(node.text or "")
        else:
            if tag in _BLOCKS:
                end_block()
            pending.append(node.tail or "")
    if not tables:
        raise UnreadableFile(_NO_TABLE)
    return [RawSheet(None, frame_of(grid.rows))]


def _add_table(grid: SpanGrid, table: etree._Element, titles: list[str]) -> None:
    for title in titles:
        grid.new_row()
        grid.add(title)
    for row in table.iter("tr"):
        grid.new_row()
        for cell in row:
            if cell.tag in ("td", "th"):
                grid.add(_cell_text(cell), _span(cell.get("colspan")), _span(cell.get("rowspan")))


def _cell_text(cell: etree._Element) -> str | None:
    """What a browser shows: source whitespace collapsed, <br> and block elements as line breaks."""
    parts: list[str | None] = []
    walk = etree.iterwalk(cell, events=("start", "end"))
    for event, node in walk:
        tag = node.tag if isinstance(node.tag, str) else ""
        if event == "start":
            if node is not cell and (tag == "br" or tag in _BLOCKS):
                parts.append(None)
            if tag in _HIDDEN:
                walk.skip_subtree()
            else:
                parts.append(node.text or "")
        elif node is not cell:
            parts.append(node.tail or "")
    return _collapse(parts)


def _collapse(parts: list[str | None]) -> str | None:
    """Text parts (None = a line break) → lines with whitespace runs as one space."""
    text = "".join("\n" if part is None else _SPACES.sub(" ", part) for part in parts)
    return "\n".join(" ".join(line.split()) for line in text.split("\n")).strip("\n") or None


def _span(value: str | None) -> int:
    digits = (value or "").strip()
    return int(digits) if digits.isdigit() and len(digits) < 7 else 1


def _html_text(data: bytes) -> str:
    """The page as text: its <meta charset> when given, else its BOM, else UTF-8, else GB18030."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    candidates = [_meta_charset(data[:8192]), "utf-8", "gb18030"]
    for encoding in filter(None, candidates):
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("gb18030", errors="replace")


def _meta_charset(head: bytes) -> str | None:
    try:
        page = lxml.html.document_fromstring(head.decode("latin-1"))
    except (etree.ParserError, ValueError):
        return None
    for meta in page.iter("meta"):
        declared = meta.get("charset") or (meta.get("content") or "").lower().partition("charset=")[2]
        declared = declared.strip().strip("'\";").lower()
        if declared:
            return "gb18030" if declared in _GBK_NAMES else declared
    return None


# ---------------------------------------------------------------- Excel 2003 XML Spreadsheet

def read_xml_spreadsheet(data: bytes, settings: Settings) -> list[RawSheet]:
    try:
        root = etree.fromstring(data, safe_xml_parser(remove_comments=True, remove_pis=True))
    except etree.XMLSyntaxError:
        raise UnreadableFile(f"{NOT_A_TABLE} (XML 格式有误)") from None
    if root.getroottree().docinfo.doctype:
        raise UnreadableFile(_DTD)
    sheets = []
    for number, worksheet in enumerate(root.iterfind(f"{{{_SS}}}Worksheet"), start=1):
        name = worksheet.get(f"{{{_SS}}}Name") or f"Sheet{number}"
        grid = SpanGrid(settings, f"工作表 {name} ")
        for row in worksheet.iterfind(f"{{{_SS}}}Table/{{{_SS}}}Row"):
            grid.new_row(_index(row))
            for cell in row.iterfind(f"{{{_SS}}}Cell"):
                grid.add(
                    _xml_cell_text(cell.find(f"{{{_SS}}}Data")),
                    (_number(cell, "MergeAcross") or 0) + 1,
                    (_number(cell, "MergeDown") or 0) + 1,
                    _index(cell),
                )
        sheets.append(RawSheet(name, frame_of(grid.rows)))
    if not sheets:
        raise UnreadableFile(f"{NOT_A_TABLE} (XML 表格中没有工作表)")
    return sheets


def _number(element: etree._Element, attribute: str) -> int | None:
    value = (element.get(f"{{{_SS}}}{attribute}") or "").strip()
    return int(value) if value.isdigit() and len(value) < 8 else None


def _index(element: etree._Element) -> int | None:
    """ss:Index (1-based) → 0-based position, None when absent."""
    value = _number(element, "Index")
    return value - 1 if value else None


def _xml_cell_text(data: etree._Element | None) -> str | None:
    """A cell's value as calamine writes it: DateTime as "YYYY-MM-DD HH:MM:SS", whole numbers
    without ".0", booleans as true/false; text as written."""
    if data is None:
        return None
    value = "".join(data.itertext())
    kind = data.get(f"{{{_SS}}}Type")
    if kind == "DateTime" and len(value) >= 19 and value[10] == "T":
        return value[:19].replace("T", " ")
    if kind == "Number":
        try:
            number = float(value)
        except ValueError:
            return value or None
        return str(int(number)) if number.is_integer() and abs(number) < 1e15 else value
    if kind == "Boolean":
        return {"1": "true", "0": "false"}.get(value.strip(), value)
    return value or None

"""Recognise what a read file is: where each sheet's header is, which column holds which field,
which kind of file it is, who sent it, as of when, and which session/year it speaks about.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path, PurePath

import polars as pl

from etl.model import EVALUATION, KIND_LABELS, REGISTER, SUMMARY, UNIT_EXPORT
from etl.normalise import (
    InvalidValue,
    SheetInput,
    canonical_session,
    clean_token,
    dates_in_text,
    load_table,
    parse_number,
    split_units,
    token_expr,
)
from etl.read import RawSheet

HEADER_SCAN_ROWS = 20
UNRECOGNISED = "无法识别文件类型: 未找到 建议编号 等表头"
SUMMARY_REASON = ("汇总表: 这是按单位统计的汇总表 (单位、主办、协办、办复、满意 等件数), 不是逐件的办理情况, 不载入; "
           "请报送列有每件建议编号和答复日期的办理情况表")

# Which fields decide the kind of a file (data-contract.md).
_REPLY_FIELDS = {"reply_date", "result_class", "role"}
_EXPORT_EXTRA = {"face_to_face", "status_text", "promise_text", "promise_date"}
_SATISFACTION_FIELDS = {"reply_satisfaction", "implementation_satisfaction"}
_UNIT_FIELDS = {"lead_units", "split_units", "co_units", "unit"}


class UnrecognisedFile(Exception):
    """No sheet of the file is a table we know; the message is the Chinese reason."""

    kind: str | None = None


class SummaryTable(UnrecognisedFile):
    """The file is a per-unit summary (汇总表): recognised, never loaded."""

    kind = SUMMARY


@lru_cache(maxsize=1 << 14)  # the same header texts come back in every file
def header_key(text: object) -> str:
    """How header cells are compared: NFKC (full width → half width), no spaces or line breaks,
    no leading/trailing * (required-field marks) and no trailing colon."""
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or "")))
    return key.strip("*").rstrip(":").strip("*")


_BRACKET_TAIL = re.compile(r"\([^()]*\)$")
_BRACKET_HEAD = re.compile(r"^\([^()]*\)")


@dataclass(frozen=True)
class HeaderTable:
    fields: dict[str, str]  # header key → field
    skip_sheets: frozenset[str]
    summary_units: frozenset[str] = frozenset()  # 单位 … heading a per-unit summary table
    summary_counts: frozenset[str] = frozenset()  # 主办, 协办, 总数, 办复率, 满意 … its count columns
    totals: tuple[str, ...] = ()  # 合计, 小计 … rows that close a table

    def match(self, text: object) -> str | None:
        key = header_key(text)
        if not key:
            return None
        for candidate in (key, _BRACKET_TAIL.sub("", key), _BRACKET_HEAD.sub("", key)):
            if candidate in self.fields:
                return self.fields[candidate]
        return None


_HEADER_TABLES: dict[int, tuple[dict, HeaderTable]] = {}


def header_table(home: Path | None = None) -> HeaderTable:
    """The header table, rebuilt only when its file changed (load_table is cached)."""
    data = load_table("header_aliases.toml", home)
    if id(data) not in _HEADER_TABLES:  # the table data kept with it, so its id is never reused
        _HEADER_TABLES.clear()
        _HEADER_TABLES[id(data)] = (data, _build_header_table(data))
    return _HEADER_TABLES[id(data)][1]


def _build_header_table(data: dict) -> HeaderTable:
    fields = {}
    for name, spellings in data["fields"].items():
        for spelling in spellings:
            fields.setdefault(header_key(spelling), name)
    summary = data.get("summary", {})
    return HeaderTable(fields, frozenset(header_key(s) for s in data["sheets"]["skip"]),
                       frozenset(header_key(s) for s in summary.get("unit", [])),
                       frozenset(header_key(s) for s in summary.get("counts", [])),
                       tuple(data["rows"]["totals"]))


@dataclass
class Header:
    first: int  # 0-based frame rows spanned by the header
    last: int
    columns: dict[str, list[str]]  # field → frame columns, leftmost first
    labels: dict[str, str]  # frame column → header text as written

    @property
    def fields(self) -> set[str]:
        return set(self.columns)


def _row_fields(row: dict, table: HeaderTable) -> dict[str, str]:
    return {col: f for col, value in row.items() if value is not None and (f := table.match(value))}


def find_header(cells: pl.DataFrame, table: HeaderTable) -> Header | None:
    """The row (or two rows, for a two-level merged header) with the most known headers."""
    rows = cells.head(HEADER_SCAN_ROWS).to_dicts()
    mapped = [_row_fields(row, table) for row in rows]
    scores = [len(set(m.values())) for m in mapped]
    if not scores or max(scores) < 2:
        return None

    def combine(upper: int, lower: int) -> dict[str, tuple[str, str]]:
        # a group label (办理情况) over 答复日期 | 办理结果: the lower cell wins where it is known
        result = {}
        for col in cells.columns:
            for r in (lower, upper):
                if col in mapped[r]:
                    result[col] = (mapped[r][col], rows[r][col])
                    break
        return result

    # (score, first row, last row, chosen cells); a two-row header must know more than either
    # row alone, so a header repeated further down never beats the real two-level one above it
    candidates = []
    for r, score in enumerate(scores):
        if score == 0:
            continue
        candidates.append((score, r, r, {col: (f, rows[r][col]) for col, f in mapped[r].items()}))
        if r + 1 < len(rows) and mapped[r + 1]:
            merged = combine(r, r + 1)
            merged_score = len({f for f, _ in merged.values()})
            if merged_score > max(score, scores[r + 1]):
                candidates.append((merged_score, r, r + 1, merged))
    _, first, last, chosen = min(candidates, key=lambda c: (-c[0], c[1], c[2]))
    columns: dict[str, list[str]] = {}
    labels = {}
    for col in cells.columns:  # keep left-to-right order
        if col in chosen:
            name, text = chosen[col]
            columns.setdefault(name, []).append(col)
            labels[col] = re.sub(r"\s+", "", str(text))
    return Header(first, last, columns, labels)


@dataclass
class Block:
    """One table of a sheet: its header and the rows under it, with the title rows just above it
    (主办件 / 协办件 / 2016年 …). A sheet holds several when tables are stacked, each under its own
    title and header, or when the header is repeated on every printed page."""

    header: Header
    title: list[str]  # the texts of the title rows between the previous block and this header
    end: int  # frame row after this block's last data row


TITLE_ROWS = 3  # title rows looked at above a stacked block's header


def _known_cells(cells: pl.DataFrame, table: HeaderTable, columns: list[str]) -> pl.Series:
    """Per row, how many of ``columns`` hold a known header text (vectorised: sheets are long)."""
    # whether a cell is known depends on its text alone: the texts are cleaned once, whatever
    # column and however many rows they are in
    texts = pl.concat([cells.get_column(c).rename("text") for c in columns]).drop_nulls().unique()
    is_known = texts.to_frame().select(token_expr(pl.col("text")).is_in(list(table.fields))).to_series()
    known = texts.filter(is_known).implode()
    hits = [pl.col(c).is_in(known).fill_null(False).cast(pl.Int32) for c in columns]
    return cells.select(pl.sum_horizontal(hits)).to_series()


def _title_above(cells: pl.DataFrame, header_first: int, above: Header | None,
                 totals: tuple[str, ...] = ()) -> tuple[list[str], int]:
    """The title rows right above a header (at most TITLE_ROWS, none inside the header ``above``):
    rows with one or two texts (主办件, 2016年建议, 填报单位：… 填报日期：…) and no suggestion number
    in the columns where the block above has it (a sparse data row is not a title); returns them
    and the top row."""
    numbered = (above.columns.get("number") or above.columns.get("serial") or []) if above else []
    floor = above.last if above else -1
    title, top = [], header_first
    for row in range(header_first - 1, max(floor, header_first - 1 - TITLE_ROWS), -1):
        record = cells.row(row, named=True)
        texts = [str(v).strip() for v in record.values() if v is not None and str(v).strip()]
        if (len(texts) > 2 or any(_is_number(record[c]) for c in numbered)  # a data row of the block above
                or (texts and texts[0].startswith(totals))):  # or the 小计 that closes it
            break
        if texts:
            title.insert(0, " ".join(texts))
        top = row
    return title, top


def _is_number(value: object) -> bool:
    try:
        return parse_number(value) is not None
    except InvalidValue:
        return False


def find_blocks(cells: pl.DataFrame, table: HeaderTable) -> list[Block]:
    """Every header of the sheet, the first found as ``find_header`` finds it, the later ones as
    rows below it with at least two known header texts in the first header's columns."""
    first = find_header(cells, table)
    if first is None:
        return []
    hits = _known_cells(cells, table, list(first.labels))
    blocks = [Block(first, _title_above(cells, first.first, None)[0], cells.height)]
    previous = first.last
    for row in (hits >= 2).arg_true().to_list():
        if row <= previous + 1:  # the first header, or the second row of a two-level one
            previous = max(previous, row)
            continue
        previous = row
        found = find_header(cells.slice(row, 2), table)
        if found is None:
            continue
        header = Header(found.first + row, found.last + row, found.columns, found.labels)
        previous = header.last
        title, top = _title_above(cells, header.first, blocks[-1].header, table.totals)
        blocks[-1].end = top
        blocks.append(Block(header, title, cells.height))
    return blocks


def is_summary(cells: pl.DataFrame, table: HeaderTable) -> bool:
    """A per-unit summary (单位 | 主办 协办 总数 | 办复 … 办复率 | 满意 基本满意 不满意 …): a unit
    column and at least three count columns in the top rows (two-level headers included)."""
    keys = {header_key(v) for row in cells.head(HEADER_SCAN_ROWS).iter_rows() for v in row if v is not None}
    return bool(keys & table.summary_units) and len(keys & table.summary_counts) >= 3


def classify(fields: set[str]) -> str | None:
    """The file kind from its headers (see data-contract.md), or None."""
    if not fields & {"number", "serial"}:
        return None
    if fields & _SATISFACTION_FIELDS and not fields & _REPLY_FIELDS:
        return EVALUATION
    if fields & _REPLY_FIELDS:
        return UNIT_EXPORT
    if fields & _UNIT_FIELDS and fields & {"title", "assigned_date"}:
        return REGISTER
    if fields & _EXPORT_EXTRA and fields & _UNIT_FIELDS - {"co_units"}:
        return UNIT_EXPORT
    if "evaluation" in fields and fields & {"lead_units", "unit"}:
        return EVALUATION
    return None


# ── hints from titles, sheet names and file names ───────────────────────────────────────────
_YEAR_WITH_NIAN = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年")
_YEAR_ALONE = re.compile(r"(?<!\d)(20\d{2})(?!\d)")


def _without_dates(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    for _, start, end in reversed(dates_in_text(text)):
        text = text[:start] + " " + text[end:]
    return text


def year_in_text(text: str | None, bare: bool = False) -> int | None:
    """'2024年…' → 2024 (full dates are not year hints); ``bare`` also accepts a lone 2024."""
    if not text:
        return None
    rest = _without_dates(text)
    match = _YEAR_WITH_NIAN.search(rest) or (_YEAR_ALONE.search(rest) if bare else None)
    return int(match.group(1)) if match else None


def role_in_text(text: str | None) -> str | None:
    if not text:
        return None
    for word, role in (("协办", "协办"), ("会办", "协办"), ("分办", "分办"), ("主办", "主办"), ("牵头", "主办")):
        if word in text:
            return role
    return None


# a labelled cell (填报日期：…); a bare "截至2024年6月30日…" is part of a title
_DATE_LABEL = re.compile(r"(?:填报日期|截至日期|截止日期|统计截止日期|报送日期|统计日期|填报时间)\s*[:：]?|(?:截至|截止)\s*[:：]")
_UNIT_LABEL = re.compile(r"(?:填报单位|报送单位|承办单位|填表单位|单位名称|单位)\s*[:：]\s*(.*)")
_UNIT_STOP = re.compile(r"(?:\s|[,，;；]|填报日期|报送日期|填报时间|截至|截止|日期|联系人|联系电话|填表人|\(盖章\)|（盖章）)")


def report_date_in_cells(texts: list[str]) -> date | None:
    """A date labelled 填报日期 / 截至日期 … in a cell above the header."""
    for text in texts:
        for match in _DATE_LABEL.finditer(text):
            found = dates_in_text(text[match.end() :])
            if found:
                return found[0][0]
    return None


def _trim_unbalanced(value: str) -> str:
    """Drop brackets left dangling at either end (（盖章 …) but keep a balanced one: 市教育局（市语委）."""
    value = value.strip()
    while value and value[0] in "(（" and value.count(value[0]) > value.count({"(": ")", "（": "）"}[value[0]]):
        value = value[1:].strip()
    while value and value[-1] in ")）" and value.count(value[-1]) > value.count({")": "(", "）": "（"}[value[-1]]):
        value = value[:-1].strip()
    return value


def sender_in_cells(texts: list[str]) -> str | None:
    """'填报单位：市教育局  填报日期：…' → 市教育局."""
    for text in texts:
        match = _UNIT_LABEL.search(unicodedata.normalize("NFKC", text))
        if match:
            value = _UNIT_STOP.split(match.group(1).strip(), maxsplit=1)[0]
            value = clean_token(_trim_unbalanced(value.strip(":：,，;； ")))
            if value:
                return value
    return None


_NAME_NOISE = sorted(
    [
        "人大代表建议办理情况", "代表建议办理情况", "建议办理情况", "办理情况汇总表", "办理情况统计表",
        "办理情况表", "办理情况", "办理件汇总", "办理件", "办理进度", "答复情况", "汇总表", "统计表", "一览表", "台账", "汇总",
        "统计", "明细", "报表", "报送", "填报", "最新版", "最新", "更新", "终版", "定稿", "修改稿",
        "修订", "副本", "导出", "人大代表", "代表建议", "建议", "办理", "情况", "关于", "年度", "上半年",
        "下半年", "COPY", "数据", "文件", "表格", "新建", "工作簿", "XLSX", "XLS", "SHEET",
    ],
    key=len,
    reverse=True,
)


def _strip_noise(part: str) -> str:
    """Remove common words from the ends of a file-name part only: inside a name they belong to
    it (市统计局 keeps 统计, 市城市更新局 keeps 更新)."""
    changed = True
    while changed and part:
        changed = False
        for word in _NAME_NOISE:
            if part.startswith(word) or part.endswith(word):
                part = part[len(word):] if part.startswith(word) else part[: -len(word)]
                changed = True
                break
    return part


def unit_from_filename(name: str) -> str | None:
    """市教育局_2024-06-30.xlsx, 2024年市教育局办理情况.xlsx → 市教育局 (dates, years, sessions
    and common words removed); None when nothing that looks like a name is left."""
    stem = _without_dates(PurePath(name).stem).upper()
    stem = re.sub(r"第?[一二三四五六七八九十\d]+届.*?[一二三四五六七八九十\d]+次(?:会议)?", " ", stem)
    stem = re.sub(r"(?:19|20)\d{2}\s*年?度?|\d{1,2}月份?(?:\d{1,2}日)?|第?[一二三四1-4]季度|附件\s*\d*", " ", stem)
    stem = re.sub(r"[(\[【]\s*\d*\s*[)\]】]|V\d+", " ", stem)
    parts = [_strip_noise(p) for p in re.split(r"[\s_\-—–.,，、()\[\]【】《》:：#]+", stem) if p]
    parts = [p for p in parts if re.search(r"[\u4e00-\u9fff]", p)]
    if not parts:
        return None
    candidate = max(parts, key=len)
    return candidate if len(candidate) >= 2 else None


# ── whole file ───────────────────────────────────────────────────────────────────────────────
@dataclass
class Recognition:
    kind: str
    sheets: list[SheetInput]
    sheet_names: list[str]
    sender_unit: str | None
    report_date: date | None
    report_date_source: str | None
    notes: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)  # the titles of a sheet's stacked tables


def _texts(cells: pl.DataFrame, stop: int) -> list[str]:
    """Non-blank cell texts of the rows above the header."""
    texts = []
    for row in cells.head(stop).iter_rows():
        texts.extend(str(v).strip() for v in row if v is not None and str(v).strip())
    return texts


def recognise(
    sheets: list[RawSheet], original_name: str, file_mtime: datetime | None = None, home: Path | None = None
) -> Recognition:
    """Plan the normalisation of every readable sheet. Raises UnrecognisedFile."""
    table = header_table(home)
    found: list[tuple[RawSheet, list[Block], str]] = []
    notes: list[str] = []
    summaries = []
    for raw in sheets:
        if raw.name is not None and header_key(raw.name) in table.skip_sheets:
            continue
        if raw.is_empty:
            continue
        blocks = find_blocks(raw.cells, table)
        kind = classify(blocks[0].header.fields) if blocks else None
        if kind is None:
            if is_summary(raw.cells, table):
                summaries.append(raw.name)
                if raw.name is not None:
                    notes.append(f"工作表 {raw.name} 是汇总表 (按单位统计的件数), 不载入")
            elif raw.name is not None:
                notes.append(f"工作表 {raw.name} 未找到可识别的表头, 已跳过")
            continue
        kept = [b for b in blocks if classify(b.header.fields) == kind]
        if len(kept) < len(blocks):
            where = f"工作表 {raw.name} " if raw.name else ""
            notes.append(f"{where}有 {len(blocks) - len(kept)} 个表格的表头与第一个表格的种类不同, 已跳过")
        found.append((raw, kept, kind))
    if not found:
        if summaries:
            raise SummaryTable(SUMMARY_REASON)
        if all(raw.is_empty for raw in sheets):
            raise UnrecognisedFile("文件没有数据行")
        raise UnrecognisedFile(UNRECOGNISED)

    kinds = [k for _, _, k in found]
    kind = max(dict.fromkeys(kinds), key=kinds.count)  # most sheets; ties → the first one
    for raw, _, other in found:
        if other != kind:
            notes.append(f"工作表 {raw.name} 是{_label(other)}, 与本文件的{_label(kind)}不同, 已跳过")
    found = [item for item in found if item[2] == kind]

    file_session = canonical_session(PurePath(original_name).stem)
    file_year = year_in_text(PurePath(original_name).stem, bare=True)
    above_all: list[str] = []
    inputs = []
    block_titles = []
    for raw, blocks, _ in found:
        above = _texts(raw.cells, blocks[0].header.first)
        above_all.extend(above)
        sheet_title = " ".join(above)
        rows = raw.cells.with_row_index("row_no", offset=1)
        own = ""
        for block in blocks:
            header = block.header
            # a block's own title (主办件 / 协办件 / 2016年) speaks for its rows first; a header
            # repeated on the next printed page (no title) continues the block above
            own = " ".join(block.title) or own
            if len(blocks) > 1:  # named by its nearest title row (主办件), under the sheet's own title
                block_titles.append(block.title[-1] if block.title else own or f"表格{len(block_titles) + 1}")
            columns = dict(header.columns)
            serial_columns: tuple[str, ...] = ()
            if "number" in columns and "serial" in columns:
                serial_columns = tuple(columns.pop("serial"))
            inputs.append(
                SheetInput(
                    sheet=raw.name,
                    data=rows.slice(header.last + 1, max(0, block.end - header.last - 1)),
                    columns=columns,
                    labels=header.labels,
                    session_hint=(canonical_session(own) or canonical_session(raw.name)
                                  or canonical_session(sheet_title) or file_session),
                    year_hint=(year_in_text(own) or year_in_text(raw.name, bare=True) or year_in_text(sheet_title)
                               or file_year),
                    role_hint=_one_role(own) or role_in_text(raw.name),
                    serial_columns=serial_columns,
                    date1904=raw.date1904,
                )
            )

    sender = None
    if kind == UNIT_EXPORT:
        sender = sender_in_cells(above_all) or _single_column_unit(inputs) or unit_from_filename(original_name)
        if sender is None and not any(s.columns.get("unit") or s.columns.get("lead_units") for s in inputs):
            notes.append("未能确定报送单位: 表中没有 承办单位/填报单位, 文件名中也没有单位名称")
    report_date, source = report_date_in_cells(above_all), "单元格"
    if report_date is None:
        titled = dates_in_text(" ".join(above_all))
        report_date, source = (titled[0][0], "标题") if titled else (None, None)
    if report_date is None:
        named = dates_in_text(PurePath(original_name).stem)
        report_date, source = (named[0][0], "文件名") if named else (None, None)
    if report_date is None and file_mtime is not None:
        report_date, source = file_mtime.date(), "文件时间"
    return Recognition(
        kind=kind,
        sheets=inputs,
        sheet_names=[raw.name for raw, _, _ in found if raw.name is not None],
        sender_unit=sender,
        report_date=report_date,
        report_date_source=source,
        notes=notes,
        blocks=block_titles,
    )


def _one_role(text: str) -> str | None:
    """The role a block's title names (主办件 → 主办), when it names exactly one."""
    roles = {role_in_text(word) for word in re.findall(r"协办|会办|分办|主办|牵头", text)}
    return roles.pop() if len(roles) == 1 else None


def _label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def _single_column_unit(inputs: list[SheetInput]) -> str | None:
    """The sender when every row's 承办单位/填报单位 cell names the same single unit."""
    names: set[str] = set()
    for sheet in inputs:
        cols = sheet.columns.get("unit") or []
        for col in cols[:1]:
            for value in sheet.data.get_column(col).drop_nulls().unique().to_list():
                names.update(split_units(value))
                if len(names) > 1:
                    return None
    return names.pop() if len(names) == 1 else None

"""Recognise what a read file is: where each sheet's header is, which column holds which field,
which kind of file it is, who sent it, as of when, and which session/year it speaks about.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePath

import polars as pl

from etl.model import EVALUATION, KIND_LABELS, REGISTER, UNIT_EXPORT
from etl.normalise import (
    SheetInput,
    canonical_session,
    clean_token,
    dates_in_text,
    load_table,
    split_units,
)
from etl.read import RawSheet

HEADER_SCAN_ROWS = 20
UNRECOGNISED = "无法识别文件类型: 未找到 建议编号 等表头"

# Which fields decide the kind of a file (data-contract.md).
_REPLY_FIELDS = {"reply_date", "result_class", "role"}
_EXPORT_EXTRA = {"face_to_face", "status_text", "promise_text", "promise_date"}
_SATISFACTION_FIELDS = {"reply_satisfaction", "implementation_satisfaction"}
_UNIT_FIELDS = {"lead_units", "split_units", "co_units", "unit"}


class UnrecognisedFile(Exception):
    """No sheet of the file is a table we know; the message is the Chinese reason."""


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

    def match(self, text: object) -> str | None:
        key = header_key(text)
        if not key:
            return None
        for candidate in (key, _BRACKET_TAIL.sub("", key), _BRACKET_HEAD.sub("", key)):
            if candidate in self.fields:
                return self.fields[candidate]
        return None


def header_table(home: Path | None = None) -> HeaderTable:
    data = load_table("header_aliases.toml", home)
    fields = {}
    for name, spellings in data["fields"].items():
        for spelling in spellings:
            fields.setdefault(header_key(spelling), name)
    return HeaderTable(fields, frozenset(header_key(s) for s in data["sheets"]["skip"]))


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
        "办理情况表", "办理情况", "办理进度", "答复情况", "汇总表", "统计表", "一览表", "台账", "汇总",
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
    found: list[tuple[RawSheet, Header, str]] = []
    notes: list[str] = []
    for raw in sheets:
        if raw.name is not None and header_key(raw.name) in table.skip_sheets:
            continue
        if raw.is_empty:
            continue
        header = find_header(raw.cells, table)
        kind = classify(header.fields) if header else None
        if kind is None:
            if raw.name is not None:
                notes.append(f"工作表 {raw.name} 未找到可识别的表头, 已跳过")
            continue
        found.append((raw, header, kind))
    if not found:
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
    for raw, header, _ in found:
        above = _texts(raw.cells, header.first)
        above_all.extend(above)
        title = " ".join(above)
        columns = dict(header.columns)
        serial_columns: tuple[str, ...] = ()
        if "number" in columns and "serial" in columns:
            serial_columns = tuple(columns.pop("serial"))
        data = raw.cells.with_row_index("row_no", offset=1).slice(header.last + 1)
        inputs.append(
            SheetInput(
                sheet=raw.name,
                data=data,
                columns=columns,
                labels=header.labels,
                session_hint=canonical_session(raw.name) or canonical_session(title) or file_session,
                year_hint=year_in_text(raw.name, bare=True) or year_in_text(title) or file_year,
                role_hint=role_in_text(raw.name),
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
    )


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

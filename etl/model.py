"""What one received file becomes after reading, recognising and normalising.

This is the contract between the file-level steps (read → recognise → normalise, one file at a
time, cacheable by content hash) and the warehouse build (stage → resolve → publish), which sees
all files together. Every row read from a file ends up either as a row of ``ParsedFile.rows`` or
as a ``RowReject``; the build then resolves the rows against the register and may reject more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

REGISTER = "register"  # 交办台账
UNIT_EXPORT = "unit_export"  # 办理情况
EVALUATION = "evaluation"  # 满意度测评

SUMMARY = "summary"  # 汇总表: per-unit counts, never loaded as rows (rejected whole, with the reason)

KIND_LABELS = {REGISTER: "交办台账", UNIT_EXPORT: "办理情况", EVALUATION: "满意度测评", SUMMARY: "汇总表"}

# Columns every parsed frame carries besides its kind's own: where the row came from, and the
# session/year hints found in the sheet name, title rows or file name (used to resolve numbers).
PROVENANCE_SCHEMA = {
    "sheet": pl.Utf8,
    "row_no": pl.Int32,  # 1-based, as the clerk sees it in Excel
    "session_hint": pl.Utf8,
    "year_hint": pl.Int32,
}

REGISTER_SCHEMA = {
    **PROVENANCE_SCHEMA,
    "number": pl.Int32,
    "session": pl.Utf8,  # canonical, e.g. 十八届一次
    "year": pl.Int32,
    "kind": pl.Utf8,  # 大会建议 / 闭会建议
    "title": pl.Utf8,
    "lead_deputy": pl.Utf8,
    "cosigners": pl.Utf8,
    "cosigner_count": pl.Int32,
    "delegation": pl.Utf8,
    "category": pl.Utf8,
    "source": pl.Utf8,
    "proposed_date": pl.Date,
    "assigned_date": pl.Date,
    "deadline": pl.Date,
    "lead_units": pl.List(pl.Utf8),
    "lead_role": pl.Utf8,  # 主办, or 分办 when the column said so or several leads answer each for a part
    "co_units": pl.List(pl.Utf8),
    "is_key": pl.Boolean,
    "key_leader": pl.Utf8,
    "key_committee": pl.Utf8,
    "key_project": pl.Utf8,  # 督办项目: names the project several key suggestions form
}

UNIT_EXPORT_SCHEMA = {
    **PROVENANCE_SCHEMA,
    "number": pl.Int32,
    "session": pl.Utf8,
    "year": pl.Int32,
    "unit": pl.Utf8,  # as written in the row, or the file's sender when the row has none
    "role": pl.Utf8,  # 主办 / 分办 / 协办
    "title": pl.Utf8,
    "status_text": pl.Utf8,
    "reply_date": pl.Date,
    "result_class": pl.Utf8,  # A / B / C / D
    "face_to_face": pl.Boolean,
    "evaluation": pl.Utf8,  # 满意 / 基本满意 / 不满意
    "evaluation_work": pl.Utf8,
    "evaluation_date": pl.Date,
    "promise_text": pl.Utf8,
    "promise_date": pl.Date,
    "promise_kept": pl.Boolean,
    "promise_kept_date": pl.Date,
    "extension_date": pl.Date,
    "contact_name": pl.Utf8,
    "contact_phone": pl.Utf8,
}

EVALUATION_SCHEMA = {
    **PROVENANCE_SCHEMA,
    "number": pl.Int32,
    "session": pl.Utf8,
    "year": pl.Int32,
    "unit": pl.Utf8,
    "reply_satisfaction": pl.Utf8,
    "implementation_satisfaction": pl.Utf8,
    "evaluation_date": pl.Date,
}

SCHEMAS = {REGISTER: REGISTER_SCHEMA, UNIT_EXPORT: UNIT_EXPORT_SCHEMA, EVALUATION: EVALUATION_SCHEMA}


@dataclass
class RowReject:
    """A row that cannot be used, with a reason a clerk understands (Chinese)."""

    sheet: str | None
    row_no: int | None
    column: str | None
    value: str | None
    reason: str  # e.g. 第14行 答复日期 "2024年13月5日" 不是有效日期


@dataclass
class ParsedFile:
    """One file after read → recognise → normalise. ``error`` set means rejected whole."""

    kind: str | None = None
    sender_unit: str | None = None  # unit exports: who sent it (column, 填报单位 cell, file name)
    report_date: date | None = None
    report_date_source: str | None = None  # 单元格 / 标题 / 文件名 / 文件时间
    rows: pl.DataFrame | None = None  # columns exactly SCHEMAS[kind]
    rejects: list[RowReject] = field(default_factory=list)
    rows_read: int = 0  # data rows seen (= len(rows) + len(rejects) for a readable file)
    sheets: list[str] = field(default_factory=list)  # sheets read (explanation sheets excluded)
    error: str | None = None  # why the whole file was rejected (Chinese)
    notes: list[str] = field(default_factory=list)  # informative remarks for the operator
    blocks: list[str] = field(default_factory=list)  # titles of the tables found (主办件, 协办件 …)

    @classmethod
    def rejected(cls, reason: str, kind: str | None = None) -> "ParsedFile":
        return cls(kind=kind, error=reason)


def empty_frame(kind: str) -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMAS[kind])

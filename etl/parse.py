"""The file-level ETL entry point: read → recognise → normalise one received file.

``parse_file`` never raises on bad input: a file that cannot be used at all comes back as
``ParsedFile.rejected`` with the reason in Chinese, every other file with its rows and rejects.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import polars as pl

from duban.settings import Settings
from etl.model import ParsedFile, empty_frame
from etl.normalise import normalise_sheet
from etl.read import UnreadableFile, read_sheets
from etl.recognise import UnrecognisedFile, recognise

log = logging.getLogger(__name__)

NO_DATA = "文件没有数据行"
INTERNAL_ERROR = "文件无法读取: 文件内容异常, 无法解析"


def parse_file(
    path: Path, original_name: str, settings: Settings, file_mtime: datetime | None = None
) -> ParsedFile:
    """One received file → ParsedFile (rows exactly etl.model.SCHEMAS[kind], rejects, lineage)."""
    try:
        return _parse(Path(path), original_name, settings, file_mtime)
    except (UnreadableFile, UnrecognisedFile) as exc:
        return ParsedFile.rejected(str(exc))
    except MemoryError:
        return ParsedFile.rejected("文件无法读取: 内容过大, 内存不足")
    except Exception:  # a file must never stop a refresh; the operator gets a reason, devs the log
        log.exception("parse_file failed on %s", original_name)
        return ParsedFile.rejected(INTERNAL_ERROR)


def _parse(path: Path, original_name: str, settings: Settings, file_mtime: datetime | None) -> ParsedFile:
    sheets = read_sheets(path, settings)
    plan = recognise(sheets, original_name, file_mtime)
    frames, rejects, notes = [], [], list(plan.notes)
    for sheet in plan.sheets:
        frame, sheet_rejects, sheet_notes = normalise_sheet(plan.kind, sheet, plan.sender_unit)
        frames.append(frame)
        rejects.extend(sheet_rejects)
        notes.extend(sheet_notes)
    rows = pl.concat(frames, how="vertical") if frames else empty_frame(plan.kind)
    rows_read = rows.height + len(rejects)
    if rows_read == 0:
        return ParsedFile.rejected(NO_DATA)
    if rows_read > settings.max_rows:
        return ParsedFile.rejected(f"文件行数超过上限: {rows_read} 行, 上限为 {settings.max_rows} 行")
    return ParsedFile(
        kind=plan.kind,
        sender_unit=plan.sender_unit,
        report_date=plan.report_date,
        report_date_source=plan.report_date_source,
        rows=rows,
        rejects=rejects,
        rows_read=rows_read,
        sheets=plan.sheet_names,
        notes=notes,
    )

"""What the ETL did: refresh history, every file with its row accounting and reasons, and when
each unit last reported. Read by `duban etl status` and the dashboard's 数据状态 page."""

from __future__ import annotations

from pathlib import Path

import duckdb

from etl.archive import Archive
from etl.model import KIND_LABELS
from warehouse.connection import WarehouseMissing, WarehousePaths

def file_accounting(con: duckdb.DuckDBPyConnection) -> list[dict]:
    rows = con.execute("""
        SELECT f.file_id, f.original_name, f.kind, f.sender_unit, f.sender_unit_raw, f.report_date,
               f.report_date_source, f.status, f.reject_reason, f.rows_read, f.received_at, f.sha256,
               count(*) FILTER (WHERE o.outcome = 'loaded') AS loaded,
               count(*) FILTER (WHERE o.outcome = 'superseded') AS superseded,
               count(*) FILTER (WHERE o.outcome = 'rejected') AS rejected
        FROM files f LEFT JOIN row_outcomes o USING (file_id)
        GROUP BY ALL ORDER BY f.file_id
    """).fetchall()
    names = [d[0] for d in con.description]
    files = [dict(zip(names, row)) for row in rows]
    for f in files:
        f["kind_label"] = KIND_LABELS.get(f["kind"])
    return files


def rejected_rows(con: duckdb.DuckDBPyConnection, file_id: int | None = None) -> list[dict]:
    rows = con.execute("""
        SELECT f.original_name AS file, o.file_id, o.sheet, o.row_no, o.column_name, o.value, o.reason,
               coalesce(f.sender_unit, f.sender_unit_raw) AS unit
        FROM row_outcomes o JOIN files f USING (file_id)
        WHERE o.outcome = 'rejected' AND ($file_id IS NULL OR o.file_id = $file_id)
        ORDER BY o.file_id, o.sheet, o.row_no
    """, {"file_id": file_id}).fetchall()
    names = [d[0] for d in con.description]
    return [dict(zip(names, row)) for row in rows]


def unit_last_reports(con: duckdb.DuckDBPyConnection) -> list[dict]:
    rows = con.execute("""
        SELECT u.unit, max(f.report_date) AS last_report_date, count(DISTINCT f.file_id) AS exports
        FROM units u LEFT JOIN files f ON f.sender_unit = u.unit AND f.status = '已载入'
        GROUP BY u.unit ORDER BY last_report_date NULLS FIRST, u.unit
    """).fetchall()
    return [{"unit": r[0], "last_report_date": r[1], "exports": r[2]} for r in rows]


def refresh_status(warehouse: Path, limit: int = 20) -> dict:
    paths = WarehousePaths(Path(warehouse))
    log = Archive(paths.archive).refresh_log(limit)
    try:
        current = paths.current_version()
    except WarehouseMissing:
        return {"version": None, "refreshes": log, "files": [], "units": []}
    with duckdb.connect(str(current), read_only=True) as con:
        files = file_accounting(con)
        reasons: dict[int, list[str]] = {}
        for row in rejected_rows(con):
            reasons.setdefault(row["file_id"], []).append(
                f"工作表 {row['sheet'] or '—'} {row['reason']}")
        for f in files:
            f["reasons"] = reasons.get(f["file_id"], [])
        return {"version": current.name, "refreshes": log, "files": files, "units": unit_last_reports(con)}

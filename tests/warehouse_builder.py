"""Test helper: a real published warehouse (DuckDB file) with clean-table rows given concisely.

    link = make_warehouse(tmp_path,
        suggestions=[{"number": 1, "assigned_date": "2024-03-01"}],
        assignments=[{"number": 1, "unit": "市教育局"}],                  # role 主办 by default
        reports=[{"number": 1, "unit": "市教育局", "report_date": "2024-06-30",
                  "reply_date": "2024-05-10", "result_class": "A"}],
        evaluations=[{"number": 1, "unit": "市教育局", "reply_satisfaction": "满意",
                      "evaluation_date": "2024-07-01"}])

Rows may name a suggestion by ``suggestion_id`` or by ``number`` (+ optional ``session``, default
十八届一次, year 2024). Dates may be ISO strings. The file is laid out exactly like a published
version (``<link>.versions/v000001.duckdb`` and the symbolic link ``<link>``), so
warehouse.connection.PublishedWarehouse and open_readonly read it as they read a real one.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import duckdb

from warehouse.connection import WarehousePaths, open_readonly

SCHEMA = Path(__file__).resolve().parents[1] / "etl" / "sql" / "schema.sql"
DEFAULT_SESSION = "十八届一次"
DEFAULT_YEAR = 2024


def _sid(row: dict) -> str:
    if "suggestion_id" in row:
        return row["suggestion_id"]
    return f"{row.get('session', DEFAULT_SESSION)}-{row['number']}"


def _insert(con: duckdb.DuckDBPyConnection, table: str, row: dict) -> None:
    cols = list(row)
    marks = ", ".join(f"${i + 1}" for i in range(len(cols)))
    con.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", list(row.values()))


def make_warehouse(
    tmp_path: Path,
    suggestions: list[dict] = (),
    assignments: list[dict] = (),
    reports: list[dict] = (),
    evaluations: list[dict] = (),
    sessions: list[dict] | None = None,
    name: str = "warehouse.duckdb",
    version: int = 1,
    places: list[str] = (),
) -> Path:
    """Build a published warehouse under tmp_path; returns the link path (``--warehouse FILE``)."""
    paths = WarehousePaths(Path(tmp_path) / name)
    paths.versions.mkdir(parents=True, exist_ok=True)
    target = paths.versions / f"v{version:06d}.duckdb"
    con = duckdb.connect(str(target))
    con.execute(SCHEMA.read_text(encoding="utf-8"))

    session_years: dict[str, int] = {}
    for s in suggestions:
        row = {k: v for k, v in s.items() if k != "suggestion_id"}
        row.setdefault("session", DEFAULT_SESSION)
        row.setdefault("year", DEFAULT_YEAR)
        row.setdefault("kind", "大会建议")
        row.setdefault("title", f"关于第{row['number']}号事项的建议")
        row.setdefault("category", "城乡建设与管理类")
        row["suggestion_id"] = s.get("suggestion_id") or _sid(row)
        session_years.setdefault(row["session"], row["year"])
        _insert(con, "suggestions", row)
    for se in sessions if sessions is not None else [{"session": k, "year": v} for k, v in session_years.items()]:
        _insert(con, "sessions", se)

    roles: dict[tuple[str, str], str] = {}
    for a in assignments:
        role = a.get("role", "主办")
        sid = _sid(a)
        roles[(sid, a["unit"])] = role
        _insert(con, "assignments", {"suggestion_id": sid, "unit": a["unit"], "role": role,
                                     "is_lead": a.get("is_lead", role != "协办")})
    units = sorted({u for _, u in roles} | {r["unit"] for r in reports})
    for u in units:
        _insert(con, "units", {"unit": u, "unit_key": u.removeprefix("市")})
    for place in places:  # as a refresh infers them from the register's unit names
        _insert(con, "place_names", {"name": place, "found_in": "交办台账"})

    # One file per (unit, report date), as a unit sends one export per report.
    file_ids: dict[tuple, int] = {}

    def file_id(key: tuple, kind: str, sender: str | None, report_date) -> int:
        if key not in file_ids:
            fid = len(file_ids) + 1
            file_ids[key] = fid
            _insert(con, "files", {
                "file_id": fid, "sha256": f"sha-{fid}", "original_name": f"{sender or kind}_{report_date}.xlsx",
                "received_at": datetime(2024, 1, 1), "kind": kind, "sender_unit": sender,
                "report_date": report_date, "report_date_source": "文件名", "status": "已载入", "rows_read": 1})
        return file_ids[key]

    newest: dict[tuple[str, str], tuple] = {}
    for i, r in enumerate(reports, start=1):
        key = (_sid(r), r["unit"])
        newest[key] = max(newest.get(key, (str(r["report_date"]), i)), (str(r["report_date"]), i))
    for i, r in enumerate(reports, start=1):
        sid = _sid(r)
        row = {k: v for k, v in r.items() if k not in ("number", "session", "suggestion_id")}
        row.setdefault("report_id", i)
        row["suggestion_id"] = sid
        row.setdefault("role", roles.get((sid, r["unit"]), "主办"))
        row.setdefault("file_id", file_id(("export", r["unit"], str(r["report_date"])), "unit_export",
                                          r["unit"], r["report_date"]))
        row.setdefault("row_no", i + 2)
        row["is_current"] = newest[(sid, r["unit"])][1] == i
        _insert(con, "handling_reports", row)
    for i, e in enumerate(evaluations, start=1):
        row = {k: v for k, v in e.items() if k not in ("number", "session", "suggestion_id")}
        row["suggestion_id"] = _sid(e)
        row.setdefault("file_id", file_id(("evaluation",), "evaluation", None, e.get("evaluation_date")))
        row.setdefault("row_no", i + 1)
        _insert(con, "congress_evaluations", row)
    for fid, row_no in con.execute("SELECT file_id, row_no FROM handling_reports").fetchall():
        _insert(con, "row_outcomes", {"file_id": fid, "row_no": row_no, "outcome": "loaded"})
    _insert(con, "refreshes", {"refresh_id": version, "started_at": datetime(2024, 7, 1, 8),
                               "finished_at": datetime(2024, 7, 1, 8, 1), "files_total": len(file_ids),
                               "files_new": len(file_ids), "rows_read": len(reports),
                               "rows_loaded": len(reports), "rows_superseded": 0, "rows_rejected": 0,
                               "files_rejected": 0, "seconds": 1.0})
    con.close()

    tmp_link = paths.link.with_name(paths.link.name + ".tmp")
    if tmp_link.is_symlink():
        tmp_link.unlink()
    os.symlink(os.path.relpath(target, paths.link.parent), tmp_link)
    os.replace(tmp_link, paths.link)
    return paths.link


def connect(link: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published version, as the app opens it."""
    return open_readonly(WarehousePaths(Path(link)).current_version())

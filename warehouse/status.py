"""`duban etl status` and the /data page: the refresh log (failed and held refreshes included, from
the archive) joined with the published version's lineage, as the indicator layer reports it; what
the last refresh changed, a refresh held since, and the units' contradicting reports."""

from __future__ import annotations

from pathlib import Path

import duckdb

from duban.core.settings import Settings
from etl import guard
from etl.archive import Archive
from etl.provenance import archive_of_version, provenance_status
from etl.model import KIND_LABELS
from warehouse.connection import WarehouseMissing, WarehousePaths
from warehouse.indicators import Indicators


# Refresh log entries looked back through for a held refresh not yet followed by a published one.
HELD_LOOKBACK = 50


def held_refresh(archive: Archive) -> dict | None:
    """The newest refresh held (暂缓发布) with none published since: when, why, and what it would
    have changed. None when the newest outcome is a published refresh."""
    for entry in reversed(archive.refresh_log(HELD_LOOKBACK)):
        if entry.get("status") == "成功":
            return None
        if entry.get("status") == "暂缓发布":
            differences = entry.get("differences") or []
            return {"started_at": entry.get("started_at"), "held": entry.get("held") or [],
                    "differences": differences, "summary": guard.Review(differences=differences).summary()}
    return None


def held_refresh_of_version(version: Path | str) -> dict | None:
    """held_refresh of the archive beside a published version file (the dashboard's)."""
    return held_refresh(archive_of_version(version))


def differences_summary(rows: list[dict]) -> guard.Review:
    """The last refresh's refresh_differences rows (Indicators.refresh_differences) as the guard
    printed them: summary() is the 与上一版本相比 line, ``held`` what had held it before acceptance."""
    return guard.Review(differences=[r["line"] for r in rows if not r["is_hold"]],
                        held=[r["line"] for r in rows if r["is_hold"]])


def change_line(change: dict) -> str:
    """第85号 答复日期 2026-05-01 → 2026-05-03 (a row of Indicators.handling_changes)."""
    return f"第{change['number']}号 {change['field']} {change['old_value']} → {change['new_value']}"


def change_source(change: dict) -> str:
    """Where the change was reported: session, file, sheet, row and report date."""
    where = f"工作表 {change['sheet']} " if change.get("sheet") else ""
    return (f"{change['session']}, 《{change['file_name']}》 {where}第{change['row_no']}行, "
            f"填报日期 {change['report_date']}")


def changes_by_refresh_and_unit(rows: list[dict]) -> list[tuple[int | None, list[tuple[str, list[dict]]]]]:
    """Indicators.handling_changes rows (sorted by refresh, then unit) grouped: [(refresh_id,
    [(unit, rows)])], the newest refresh first."""
    grouped: list[tuple[int | None, list[tuple[str, list[dict]]]]] = []
    for row in rows:
        if not grouped or grouped[-1][0] != row["refresh_id"]:
            grouped.append((row["refresh_id"], []))
        units = grouped[-1][1]
        if not units or units[-1][0] != row["unit"]:
            units.append((row["unit"], []))
        units[-1][1].append(row)
    return grouped


def _review(archive: Archive, indicators: Indicators | None) -> dict:
    """A held refresh (from the archive), and from the published version (None: none yet) the last
    refresh's differences and every contradicting report, each with its line."""
    changes = indicators.handling_changes()["rows"] if indicators is not None else []
    for change in changes:
        change["line"] = change_line(change)
    return {"held_refresh": held_refresh(archive), "changes": changes,
            "differences": indicators.refresh_differences() if indicators is not None else []}


def refresh_status(warehouse: Path, settings: Settings, limit: int = 20) -> dict:
    paths = WarehousePaths(Path(warehouse))
    archive = Archive(paths.archive)
    log = archive.refresh_log(limit)
    held = provenance_status(archive)  # 待确认的文件 and 已撤回的文件: in no version, from the archive
    try:
        current = paths.current_version()
    except WarehouseMissing:
        return {"version": None, "refreshes": log, "files": [], "units": [], **held, "places": [],
                "unknown_spellings": [], **_review(archive, None)}
    with duckdb.connect(str(current), read_only=True) as con:
        indicators = Indicators(con, settings)  # versioned by the file itself: names repeat across warehouses
        status = indicators.data_status()
        names = indicators.unit_names()
        review = _review(archive, indicators)
    reasons: dict[int, list[str]] = {}
    for row in status["rejected_rows"]:
        reasons.setdefault(row["file_id"], []).append(f"工作表 {row['sheet'] or '—'} {row['reason']}")
    files = sorted(status["files"], key=lambda f: f["file_id"])
    for f in files:
        f["kind_label"] = KIND_LABELS.get(f["kind"])
        f["reasons"] = reasons.get(f["file_id"], [])
    return {"version": current.name, "refreshes": log, "files": files, "units": status["units"], **held,
            **names, **review}

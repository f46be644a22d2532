"""`duban etl status`: the refresh log (failed refreshes included, from the archive) joined with
the published version's lineage, as the indicator layer's data_status() reports it."""

from __future__ import annotations

from pathlib import Path

import duckdb

from duban.settings import Settings
from etl.archive import Archive
from etl.provenance import provenance_status
from etl.model import KIND_LABELS
from warehouse.connection import WarehouseMissing, WarehousePaths
from warehouse.indicators import Indicators


def refresh_status(warehouse: Path, settings: Settings, limit: int = 20) -> dict:
    paths = WarehousePaths(Path(warehouse))
    archive = Archive(paths.archive)
    log = archive.refresh_log(limit)
    held = provenance_status(archive)  # 待确认的文件 and 已撤回的文件: in no version, from the archive
    try:
        current = paths.current_version()
    except WarehouseMissing:
        return {"version": None, "refreshes": log, "files": [], "units": [], **held}
    with duckdb.connect(str(current), read_only=True) as con:
        status = Indicators(con, settings, version=current.name).data_status()
    reasons: dict[int, list[str]] = {}
    for row in status["rejected_rows"]:
        reasons.setdefault(row["file_id"], []).append(f"工作表 {row['sheet'] or '—'} {row['reason']}")
    files = sorted(status["files"], key=lambda f: f["file_id"])
    for f in files:
        f["kind_label"] = KIND_LABELS.get(f["kind"])
        f["reasons"] = reasons.get(f["file_id"], [])
    return {"version": current.name, "refreshes": log, "files": files, "units": status["units"], **held}

"""Stage every parsed file into a new DuckDB file and build the clean tables from them.

Input: the archive's files with their ParsedFile. Output: a complete warehouse version (schema of
warehouse/sql/schema.sql) built in a file nobody reads yet; etl/publish.py then switches to it.
Resolution against the register is done here, over all files together, because a unit's export
may arrive before the register that it answers.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from duban.settings import Settings, duban_home
from etl.archive import ArchivedFile
from etl.model import SCHEMAS, ParsedFile
from etl.normalise import unit_key

SQL_DIR = Path(__file__).resolve().parent.parent / "warehouse" / "sql"
STAGING_TABLES = {"register": "stg_register", "unit_export": "stg_unit_export", "evaluation": "stg_evaluation"}
DEFAULT_UNIT_ALIASES = Path(__file__).resolve().parent.parent / "duban" / "defaults" / "unit_aliases.csv"


@dataclass
class BuildCounts:
    files: int
    files_rejected: int
    rows_read: int
    loaded: int
    superseded: int
    rejected: int


def read_unit_aliases(home: Path | None = None) -> dict[str, str]:
    """The operator's alias table (别名,规范名称), shipped defaults first, $DUBAN_HOME's overriding."""
    aliases: dict[str, str] = {}
    for path in (DEFAULT_UNIT_ALIASES, (home or duban_home()) / "unit_aliases.csv"):
        if not path.exists():
            continue
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.reader(handle):
                if len(row) >= 2 and row[0].strip() and row[0].strip() != "别名":
                    aliases[row[0].strip()] = row[1].strip()
    return aliases


def _unit_name_map(con: duckdb.DuckDBPyConnection, settings: Settings, aliases: dict[str, str]) -> pl.DataFrame:
    """Map every unit spelling seen in any file to the register's canonical name (or nothing).

    The register's spellings are canonical; where it spells one unit two ways, the more frequent
    spelling wins. Other spellings reach it through the operator's alias table first, then
    through the normalised key (city prefix, brackets, spaces, full-width folded).
    """
    register_counts = con.sql(
        """
        SELECT name, count(*) AS n FROM (
            SELECT unnest(lead_units) AS name FROM stg_register
            UNION ALL SELECT unnest(co_units) FROM stg_register)
        WHERE name IS NOT NULL AND name <> '' GROUP BY name
        """
    ).fetchall()
    cities = settings.city_names
    canonical_by_key: dict[str, tuple[int, str]] = {}
    for name, count in register_counts:
        key = unit_key(name, cities)
        best = canonical_by_key.get(key)
        if best is None or (count, -len(name), name) > (best[0], -len(best[1]), best[1]):
            canonical_by_key[key] = (count, name)
    alias_by_key = {unit_key(alias, cities): target for alias, target in aliases.items()}

    seen = con.sql(
        """
        SELECT DISTINCT name FROM (
            SELECT unnest(lead_units) AS name FROM stg_register
            UNION ALL SELECT unnest(co_units) FROM stg_register
            UNION ALL SELECT unit FROM stg_unit_export
            UNION ALL SELECT unit FROM stg_evaluation
            UNION ALL SELECT sender_unit_raw FROM files)
        WHERE name IS NOT NULL AND name <> ''
        """
    ).fetchall()
    rows = []
    for (name,) in seen:
        key = unit_key(name, cities)
        target, source = None, None
        if name in aliases or key in alias_by_key:
            target_key = unit_key(aliases.get(name) or alias_by_key[key], cities)
            target, source = canonical_by_key.get(target_key, (0, None))[1], "别名表"
        if target is None and key in canonical_by_key:
            target, source = canonical_by_key[key][1], "自动"
        rows.append({"raw_name": name, "unit": target, "unit_key": key, "source": source})
    return pl.DataFrame(rows, schema={"raw_name": pl.Utf8, "unit": pl.Utf8, "unit_key": pl.Utf8, "source": pl.Utf8})


def _staging_frame(kind: str, parts: list[pl.DataFrame]) -> pl.DataFrame:
    # row_key identifies a staged row in joins (sheet is NULL for CSV files, so it cannot).
    schema = {**SCHEMAS[kind], "file_id": pl.Int32}
    if not parts:
        return pl.DataFrame(schema=schema).with_row_index("row_key")
    frame = pl.concat(parts, how="vertical_relaxed").select([pl.col(c).cast(t) for c, t in schema.items()])
    return frame.with_row_index("row_key")


def _run_sql_file(con: duckdb.DuckDBPyConnection, path: Path, **params: str) -> None:
    text = path.read_text(encoding="utf-8")
    con.execute(text.format(**params) if params else text)


def build_version(
    target: Path,
    files: list[tuple[int, ArchivedFile, ParsedFile]],
    settings: Settings,
    unit_aliases: dict[str, str],
    previous_refreshes: list[tuple],
    refresh_started: datetime,
    files_new: int,
) -> BuildCounts:
    """Write a complete warehouse into ``target`` (a new file). Raises on any failure."""
    con = duckdb.connect(str(target))
    try:
        con.execute((SQL_DIR / "schema.sql").read_text(encoding="utf-8"))
        file_rows, rejects = [], []
        parts: dict[str, list[pl.DataFrame]] = {kind: [] for kind in SCHEMAS}
        for file_id, entry, parsed in files:
            file_rows.append({
                "file_id": file_id,
                "sha256": entry.sha256,
                "original_name": entry.original_name,
                "size_bytes": entry.size_bytes,
                "received_at": datetime.fromisoformat(entry.received_at),
                "kind": parsed.kind,
                "sender_unit": None,
                "sender_unit_raw": parsed.sender_unit,
                "report_date": parsed.report_date,
                "report_date_source": parsed.report_date_source,
                "sheets": "、".join(parsed.sheets),
                "status": "整体拒收" if parsed.error else "已载入",
                "reject_reason": parsed.error,
                "rows_read": parsed.rows_read,
            })
            if parsed.error:
                continue
            for reject in parsed.rejects:
                rejects.append({"file_id": file_id, "sheet": reject.sheet, "row_no": reject.row_no,
                                "column_name": reject.column, "value": reject.value, "reason": reject.reason})
            if parsed.rows is not None and parsed.kind in SCHEMAS and parsed.rows.height:
                parts[parsed.kind].append(
                    parsed.rows.select(list(SCHEMAS[parsed.kind])).with_columns(pl.lit(file_id, pl.Int32).alias("file_id"))
                )

        files_frame = pl.DataFrame(file_rows, schema={
            "file_id": pl.Int32, "sha256": pl.Utf8, "original_name": pl.Utf8, "size_bytes": pl.Int64,
            "received_at": pl.Datetime, "kind": pl.Utf8, "sender_unit": pl.Utf8, "sender_unit_raw": pl.Utf8,
            "report_date": pl.Date, "report_date_source": pl.Utf8, "sheets": pl.Utf8, "status": pl.Utf8,
            "reject_reason": pl.Utf8, "rows_read": pl.Int32,
        })
        con.register("files_frame", files_frame)
        con.execute("INSERT INTO files SELECT * FROM files_frame")
        for kind, table in STAGING_TABLES.items():
            frame = _staging_frame(kind, parts[kind])
            con.register(f"{table}_frame", frame)
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM {table}_frame")
        rejects_frame = pl.DataFrame(rejects, schema={
            "file_id": pl.Int32, "sheet": pl.Utf8, "row_no": pl.Int32, "column_name": pl.Utf8,
            "value": pl.Utf8, "reason": pl.Utf8})
        con.register("rejects_frame", rejects_frame)
        con.execute("CREATE TABLE stg_rejects AS SELECT * FROM rejects_frame")
        con.execute("INSERT INTO row_outcomes SELECT file_id, sheet, row_no, 'rejected', column_name, value, reason "
                    "FROM stg_rejects")

        name_map = _unit_name_map(con, settings, unit_aliases)
        con.register("name_map_frame", name_map)
        con.execute("CREATE TEMP TABLE unit_name_map AS SELECT * FROM name_map_frame")
        closing = pl.DataFrame(
            [{"session": s, "closing_date": d} for s, d in settings.session_closing.items()],
            schema={"session": pl.Utf8, "closing_date": pl.Date},
        )
        con.register("closing_frame", closing)
        con.execute("CREATE TEMP TABLE settings_session_closing AS SELECT * FROM closing_frame")

        build = SQL_DIR / "build"
        _run_sql_file(con, build / "10_register.sql")
        con.execute("""
            INSERT INTO units
            SELECT DISTINCT a.unit, m.unit_key FROM assignments a
            JOIN (SELECT unit, any_value(unit_key) AS unit_key FROM unit_name_map WHERE raw_name = unit GROUP BY unit) m
              USING (unit);
            INSERT INTO unit_aliases SELECT raw_name, unit, source FROM unit_name_map WHERE unit IS NOT NULL;
            UPDATE files SET sender_unit = m.unit FROM unit_name_map m WHERE m.raw_name = files.sender_unit_raw;
        """)
        _run_sql_file(con, build / "resolve.sql", source="stg_unit_export", prefix="ux", unitless_means_leads="FALSE")
        _run_sql_file(con, build / "20_handling.sql")
        _run_sql_file(con, build / "resolve.sql", source="stg_evaluation", prefix="ev", unitless_means_leads="TRUE")
        _run_sql_file(con, build / "30_evaluations.sql")

        counts = con.execute("""
            SELECT count(*) FILTER (WHERE status = '整体拒收'),
                   coalesce(sum(rows_read) FILTER (WHERE status = '已载入'), 0),
                   (SELECT count(*) FROM row_outcomes WHERE outcome = 'loaded'),
                   (SELECT count(*) FROM row_outcomes WHERE outcome = 'superseded'),
                   (SELECT count(*) FROM row_outcomes WHERE outcome = 'rejected')
            FROM files
        """).fetchone()
        result = BuildCounts(len(files), *[int(c) for c in counts])
        finished = datetime.now()
        if previous_refreshes:
            con.executemany("INSERT INTO refreshes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", previous_refreshes)
        next_id = max((r[0] for r in previous_refreshes), default=0) + 1
        con.execute(
            "INSERT INTO refreshes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [next_id, refresh_started, finished, result.files, files_new, result.rows_read, result.loaded,
             result.superseded, result.rejected, result.files_rejected,
             (finished - refresh_started).total_seconds()],
        )
        con.execute("CHECKPOINT")
        return result
    finally:
        con.close()

"""Stage parsed files into a new DuckDB file and build the clean tables from them.

Input: the archive's files with their ParsedFile. Output: a complete warehouse version (schema of
etl/sql/schema.sql) built in a file nobody reads yet; etl/publish.py then switches to it.
Resolution against the register is done here, over all files together, because a unit's export
may arrive before the register that it answers.

A version is built either from all files (a full build) or by extending the previous version
with the files received since (an incremental build); both end with the same tables. The
incremental build resolves only the new rows and redoes the handling history of the
(suggestion, unit) pairs they touch; etl/pipeline.py decides when it may be used.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from duban.core.settings import Settings
from etl.archive import ArchivedFile
from etl.model import REGISTER, SCHEMAS, ParsedFile
from etl.normalise import unit_key
from etl.unitnames import Place, infer_places, spelling_candidates, unambiguous_bracket_match

SQL_DIR = Path(__file__).with_name("sql")
FINGERPRINT_TABLE = "stg_fingerprint"
STAGING_TABLES = {"register": "stg_register", "unit_export": "stg_unit_export", "evaluation": "stg_evaluation"}
DEFAULT_UNIT_ALIASES = Path(__file__).with_name("defaults") / "unit_aliases.csv"
# Rows of one kind staged at a time (a few tens of MB in polars), and the build connection's
# memory: DuckDB spills joins and sorts beyond it to a temporary folder beside the build, so a
# refresh of a million assignments fits a server that also serves the dashboard (issue 18).
STAGE_BATCH_ROWS = 100_000
BUILD_MEMORY_LIMIT = "1GB"


@dataclass
class BuildCounts:
    files: int
    files_rejected: int
    rows_read: int
    loaded: int
    superseded: int
    rejected: int


def read_unit_aliases(home: Path | None = None) -> dict[str, str]:
    """The operator's alias table (别名,规范名称), shipped defaults first, <home>'s overriding."""
    aliases: dict[str, str] = {}
    for path in (DEFAULT_UNIT_ALIASES, *([home / "unit_aliases.csv"] if home is not None else [])):
        if not path.exists():
            continue
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.reader(handle):
                if len(row) >= 2 and row[0].strip() and row[0].strip() != "别名":
                    aliases[row[0].strip()] = row[1].strip()
    return aliases


def record_unit_alias(home: Path, spelling: str, unit: str) -> None:
    """Add 别名,规范名称 to the operator's alias table ($DUBAN_HOME/unit_aliases.csv): the next refresh
    maps ``spelling`` to ``unit`` (the table is in the build fingerprint, so it rebuilds in full)."""
    spelling, unit = spelling.strip(), unit.strip()
    if not spelling or not unit or spelling[0] in "=+-@" or unit[0] in "=+-@":
        raise ValueError("单位名称不能为空, 也不能以 = + - @ 开头")
    path = home / "unit_aliases.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_bytes() if path.exists() else b""
    with path.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        if not existing.strip():
            writer.writerow(["别名", "规范名称"])
        elif not existing.endswith(b"\n"):
            handle.write("\n")
        writer.writerow([spelling, unit])


def build_fingerprint(parser_fingerprint: str, settings: Settings, unit_aliases: dict[str, str]) -> str:
    """Everything besides the files that a version's tables depend on: the parser's fingerprint
    (what the staged rows are), this module and the SQL (how they are built), the unit alias table
    and the settings the build reads. Stored in each version; an incremental build may extend a
    version only if its fingerprint is the current one."""
    digest = hashlib.sha256(parser_fingerprint.encode())
    for path in (Path(__file__), *sorted(SQL_DIR.rglob("*.sql"))):
        digest.update(path.read_bytes())
    digest.update(repr((SCHEMAS, sorted(unit_aliases.items()), settings.city_names,
                        sorted(settings.session_closing.items()))).encode())
    return digest.hexdigest()[:16]


@dataclass
class UnitNames:
    """How every unit spelling seen in any file maps to the register's names."""

    name_map: pl.DataFrame  # raw_name → unit (or null), unit_key, source
    places: list[Place]
    candidates: pl.DataFrame  # spelling → candidates (for the spellings left unmatched)


_CANDIDATE_TYPE = pl.List(pl.Struct({"unit": pl.Utf8, "score": pl.Float64, "rule": pl.Utf8}))


def _unit_names(con: duckdb.DuckDBPyConnection, settings: Settings, aliases: dict[str, str]) -> UnitNames:
    """Map every unit spelling seen in any file to the register's canonical name (or nothing).

    The register's spellings are canonical; where it spells one unit two ways, the more frequent
    spelling wins. Other spellings reach it through the operator's alias table first, then
    through the normalised key (place prefix, brackets, spaces, full-width folded), then — the one
    match made without asking — through a register unit's bracketed second name. The place
    prefixes are the setting [etl] city_names when given, else inferred from the data
    (etl/unitnames.py). A spelling still unmatched gets its likeliest register units as proposals.
    """
    register_counts = con.sql(
        """
        SELECT name, count(*) AS n FROM (
            SELECT unnest(lead_units) AS name FROM stg_register
            UNION ALL SELECT unnest(co_units) FROM stg_register)
        WHERE name IS NOT NULL AND name <> '' GROUP BY name
        """
    ).fetchall()
    seen = [name for (name,) in con.sql(
        """
        SELECT DISTINCT name FROM (
            SELECT unnest(lead_units) AS name FROM stg_register
            UNION ALL SELECT unnest(co_units) FROM stg_register
            UNION ALL SELECT unit FROM stg_unit_export
            UNION ALL SELECT unit FROM stg_evaluation
            UNION ALL SELECT sender_unit_raw FROM files)
        WHERE name IS NOT NULL AND name <> ''
        ORDER BY name
        """
    ).fetchall()]
    register_names = [name for name, _ in register_counts]
    if settings.city_names:
        places = [Place(name, "设置") for name in settings.city_names]
    else:
        places = infer_places(register_names, [n for n in seen if n not in aliases])
    cities = [p.name for p in places]
    canonical_by_key: dict[str, tuple[int, str]] = {}
    for name, count in register_counts:
        key = unit_key(name, cities)
        best = canonical_by_key.get(key)
        if best is None or (count, -len(name), name) > (best[0], -len(best[1]), best[1]):
            canonical_by_key[key] = (count, name)
    alias_by_key = {unit_key(alias, cities): target for alias, target in aliases.items()}

    rows, proposals = [], []
    canonical_names = sorted(name for _, name in canonical_by_key.values())
    for name in seen:
        key = unit_key(name, cities)
        target, source = None, None
        if name in aliases or key in alias_by_key:
            target_key = unit_key(aliases.get(name) or alias_by_key[key], cities)
            target, source = canonical_by_key.get(target_key, (0, None))[1], "别名表"
        if target is None and key in canonical_by_key:
            target, source = canonical_by_key[key][1], "自动"
        if target is None:
            candidates = spelling_candidates(name, canonical_names, cities)
            target = unambiguous_bracket_match(candidates)
            if target is not None:
                source = "括号中的别称"
            elif candidates:
                proposals.append({"spelling": name, "candidates": [vars(c) for c in candidates]})
        rows.append({"raw_name": name, "unit": target, "unit_key": key, "source": source})
    return UnitNames(
        name_map=pl.DataFrame(rows, schema={"raw_name": pl.Utf8, "unit": pl.Utf8, "unit_key": pl.Utf8,
                                            "source": pl.Utf8}),
        places=places,
        candidates=pl.DataFrame(proposals, schema={"spelling": pl.Utf8, "candidates": _CANDIDATE_TYPE}),
    )


def unit_names_report(con: duckdb.DuckDBPyConnection) -> dict:
    """What a version says of unit spellings: the place names it compared them with (and where
    they were found), and every spelling no register unit matched, with the rows it cost and its
    candidates, the costliest first."""
    places = [{"name": n, "found_in": f} for n, f in con.execute(
        "SELECT name, found_in FROM place_names ORDER BY length(name) DESC, name").fetchall()]
    unknown = [{"spelling": s, "rows": rows, "candidates": candidates} for s, rows, candidates in con.execute("""
        SELECT c.spelling, count(o.file_id), any_value(c.candidates)
        FROM unit_spelling_candidates c
        LEFT JOIN row_outcomes o ON o.outcome = 'rejected' AND o.column_name = '承办单位' AND o.value = c.spelling
        GROUP BY c.spelling ORDER BY count(o.file_id) DESC, c.spelling""").fetchall()]
    return {"places": places, "unknown_spellings": unknown}


def _staging_frame(kind: str, parts: list[pl.DataFrame], first_key: int) -> pl.DataFrame:
    # row_key identifies a staged row in joins (sheet is NULL for CSV files, so it cannot); it
    # numbers the rows in file order, continuing after the rows already staged.
    schema = {**SCHEMAS[kind], "file_id": pl.Int32}
    if not parts:
        return pl.DataFrame(schema=schema).with_row_index("row_key", offset=first_key)
    frame = pl.concat(parts, how="vertical_relaxed").select([pl.col(c).cast(t) for c, t in schema.items()])
    return frame.with_row_index("row_key", offset=first_key)


def _stage(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, extending: bool) -> None:
    """Append ``frame`` to a staging table; a full build creates the table from it."""
    con.register(f"{table}_frame", frame)
    target = f"INSERT INTO {table}" if extending else f"CREATE TABLE {table} AS"
    con.execute(f"{target} SELECT * FROM {table}_frame")
    con.unregister(f"{table}_frame")


class _StagingBatches:
    """The parsed rows of each kind, appended to its staging table a batch at a time: a build
    holds at most one batch per kind in memory, not every file's rows (issue 18)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, extending: bool):
        self.con = con
        self.parts: dict[str, list[pl.DataFrame]] = {kind: [] for kind in STAGING_TABLES}
        self.pending = dict.fromkeys(STAGING_TABLES, 0)
        self.staged = {}
        for kind, table in STAGING_TABLES.items():
            # a full build creates each table (empty, with its columns) before its first batch
            self.staged[kind] = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] if extending else 0
            if not extending:
                _stage(con, table, _staging_frame(kind, [], 0), extending=False)

    def add(self, kind: str, rows: pl.DataFrame) -> None:
        self.parts[kind].append(rows)
        self.pending[kind] += rows.height
        if self.pending[kind] >= STAGE_BATCH_ROWS:
            self.flush(kind)

    def flush(self, kind: str) -> None:
        if self.parts[kind]:
            _stage(self.con, STAGING_TABLES[kind], _staging_frame(kind, self.parts[kind], self.staged[kind]),
                   extending=True)
        self.staged[kind] += self.pending[kind]
        self.parts[kind], self.pending[kind] = [], 0


def _run_sql_file(con: duckdb.DuckDBPyConnection, path: Path, **params: str) -> None:
    text = path.read_text(encoding="utf-8")
    con.execute(text.format(**params) if params else text)


def build_version(
    target: Path,
    files: Iterable[tuple[int, ArchivedFile, ParsedFile]],
    settings: Settings,
    unit_aliases: dict[str, str],
    fingerprint: str,
    refresh_started: datetime,
    files_new: int,
    *,
    extend: Path | None,
    previous_refreshes: list[tuple],
) -> tuple[BuildCounts, list[tuple[str, str]]]:
    """Write a complete warehouse into ``target`` (a new file). Raises on any failure.

    Without ``extend``, ``files`` are all the files (ids from 1) and every table is built from
    them; ``previous_refreshes`` carries the refresh history over. With ``extend`` (a version
    built with this ``fingerprint`` from the files numbered before ``files``), ``target`` starts
    as a copy of it and only ``files`` are added; they must hold no register rows, since the
    register decides how every row resolves.

    ``files`` are read once, in order, and each file's rows are staged in batches as they come:
    a generator that reads each file's rows from the archive as it is asked for (etl/pipeline.py)
    keeps a refresh's memory to a batch.

    Returns the counts over all files and the (name, reason) of every file rejected whole.
    """
    extending = extend is not None
    if extending:
        shutil.copyfile(extend, target)
    spill = Path(f"{target}.tmp")
    con = duckdb.connect(str(target), config={"memory_limit": BUILD_MEMORY_LIMIT, "temp_directory": str(spill),
                                              "preserve_insertion_order": False})
    try:
        if not extending:
            con.execute((SQL_DIR / "schema.sql").read_text(encoding="utf-8"))
        [(files_before,)] = con.execute("SELECT count(*) FROM files").fetchall()
        file_rows, rejects = [], []
        batches = _StagingBatches(con, extending)
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
                if extending and parsed.kind == REGISTER:
                    raise ValueError("an incremental build cannot add register rows")
                batches.add(parsed.kind, parsed.rows.select(list(SCHEMAS[parsed.kind]))
                            .with_columns(pl.lit(file_id, pl.Int32).alias("file_id")))
        for kind in STAGING_TABLES:
            batches.flush(kind)

        files_frame = pl.DataFrame(file_rows, schema={
            "file_id": pl.Int32, "sha256": pl.Utf8, "original_name": pl.Utf8, "size_bytes": pl.Int64,
            "received_at": pl.Datetime, "kind": pl.Utf8, "sender_unit": pl.Utf8, "sender_unit_raw": pl.Utf8,
            "report_date": pl.Date, "report_date_source": pl.Utf8, "sheets": pl.Utf8, "status": pl.Utf8,
            "reject_reason": pl.Utf8, "rows_read": pl.Int32,
        })
        con.register("files_frame", files_frame)
        con.execute("INSERT INTO files SELECT * FROM files_frame")
        rejects_frame = pl.DataFrame(rejects, schema={
            "file_id": pl.Int32, "sheet": pl.Utf8, "row_no": pl.Int32, "column_name": pl.Utf8,
            "value": pl.Utf8, "reason": pl.Utf8})
        _stage(con, "stg_rejects", rejects_frame, extending)
        con.execute("INSERT INTO row_outcomes SELECT file_id, sheet, row_no, 'rejected', column_name, value, reason "
                    "FROM stg_rejects WHERE file_id > ?", [files_before])
        con.execute(f"CREATE OR REPLACE TABLE {FINGERPRINT_TABLE} AS SELECT ? AS fingerprint", [fingerprint])

        names = _unit_names(con, settings, unit_aliases)
        con.register("name_map_frame", names.name_map)
        con.execute("CREATE TEMP TABLE unit_name_map AS SELECT * FROM name_map_frame")
        con.register("places_frame", pl.DataFrame([vars(p) for p in names.places],
                                                  schema={"name": pl.Utf8, "found_in": pl.Utf8}))
        con.register("candidates_frame", names.candidates)
        con.execute("""
            DELETE FROM place_names;
            INSERT INTO place_names SELECT * FROM places_frame;
            DELETE FROM unit_spelling_candidates;
            INSERT INTO unit_spelling_candidates SELECT * FROM candidates_frame;
        """)
        closing = pl.DataFrame(
            [{"session": s, "closing_date": d} for s, d in settings.session_closing.items()],
            schema={"session": pl.Utf8, "closing_date": pl.Date},
        )
        con.register("closing_frame", closing)
        con.execute("CREATE TEMP TABLE settings_session_closing AS SELECT * FROM closing_frame")

        build = SQL_DIR / "build"
        if not extending:
            _run_sql_file(con, build / "10_register.sql")
        # New files may bring new spellings; the ones already seen keep their unit.
        con.execute("""
            DELETE FROM unit_aliases;
            INSERT INTO unit_aliases SELECT raw_name, unit, source FROM unit_name_map WHERE unit IS NOT NULL;
            UPDATE files SET sender_unit = m.unit FROM unit_name_map m WHERE m.raw_name = files.sender_unit_raw;
        """)
        _run_sql_file(con, build / "resolve.sql", source="stg_unit_export", prefix="ux", unitless_means_leads="FALSE",
                      files_before=str(files_before))
        _run_sql_file(con, build / "20_handling.sql")
        _run_sql_file(con, build / "resolve.sql", source="stg_evaluation", prefix="ev", unitless_means_leads="TRUE",
                      files_before=str(files_before))
        _run_sql_file(con, build / "30_evaluations.sql")
        _run_sql_file(con, build / "90_keys.sql")

        [counts] = con.execute("""
            SELECT count(*),
                   count(*) FILTER (WHERE status = '整体拒收'),
                   coalesce(sum(rows_read) FILTER (WHERE status = '已载入'), 0),
                   (SELECT count(*) FROM row_outcomes WHERE outcome = 'loaded'),
                   (SELECT count(*) FROM row_outcomes WHERE outcome = 'superseded'),
                   (SELECT count(*) FROM row_outcomes WHERE outcome = 'rejected')
            FROM files
        """).fetchall()
        result = BuildCounts(*[int(c) for c in counts])
        rejected_files = con.execute("SELECT original_name, reject_reason FROM files WHERE status = '整体拒收' "
                                     "ORDER BY file_id").fetchall()
        finished = datetime.now()
        if previous_refreshes:
            con.executemany("INSERT INTO refreshes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", previous_refreshes)
        con.execute(
            "INSERT INTO refreshes SELECT coalesce(max(refresh_id), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM refreshes",
            [refresh_started, finished, result.files, files_new, result.rows_read, result.loaded,
             result.superseded, result.rejected, result.files_rejected,
             (finished - refresh_started).total_seconds()],
        )
        con.execute("CHECKPOINT")
        return result, rejected_files
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)

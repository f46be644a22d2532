"""The indicator layer: the ONE place where every figure of docs/domain.md is defined.

The CLI, the dashboard pages and the Excel/Word exports call this module and never compute a
rate themselves (tests/test_single_definition.py keeps it that way). Figures are returned raw:
rates as unrounded fractions, None when the denominator is 0; warehouse.formatting shows them.

Public API
    Scope(year=None, session=None, kind=None, category=None, unit=None, key_only=False,
          as_of=date.today(), restrict_unit=None)
    ind = Indicators(conn, settings, version=None)
    ind.metrics(scope) -> dict                 # `duban metrics --json` (docs/interfaces.md)
    ind.yoy(scope) -> dict                     # {year, previous_year, offset_days, as_of, previous_as_of,
                                               #  reference_date, previous_reference_date, current, previous}
    ind.completion_curve(scope, years, same_offset=False) -> list[{year, day_offset, share}]  # same_offset: 同比 dates
    ind.trends(scope) -> {"years": [{year, total, completed, completion_rate, on_time_rate, face_rate,
                          satisfied_rate, a_rate, solved_rate, overdue, ...}], "categories": [{year, category,
                          total, share}]}
    ind.suggestion_list(scope, status=None) -> list[dict]   # status: 已办结 / 在办 / 逾期 / 临期 / 未办结
    ind.suggestion_list_first(scope, limit) -> {"count": n, "rows": [...]}   # chase order, cut in SQL
    ind.replies(scope) -> {number, deadline, last_reply_date, on_time}: arrays        # answered items (unit: U's leads)
    ind.overdue(scope) -> list[dict]           # one row per (suggestion, lead unit that has not replied)
    ind.overdue_counts(scope) -> list[{age_bucket, unit, status, n}]      # overdue() counted
    ind.overdue_first(scope, limit, age_bucket=None, unit=None) -> list[dict]  # its first rows, cut in SQL
    ind.overdue_summary(scope, age_bucket=None, unit=None) -> OverdueSummary  # overdue() counted (results.py)
    ind.overdue_buckets() -> list[str]         # 逾期预警's age buckets in order
    ind.unsatisfied(scope), ind.broken_promises(scope) -> list[dict]
    ind.unreported(scope) -> list[dict]        # per unit
    ind.unreported_items(scope) -> list[dict]  # the assignments behind it
    ind.unit_table(scope) -> list[dict]        # per unit, with numerators and denominators
    ind.unit_assignments(scope) -> list[dict]  # one row per assignment of the scope's unit
    ind.key_items(scope) -> list[dict]
    ind.key_leaders(scope) -> list[{key_leader, total, completed, overdue}]
    ind.key_summary(scope) -> KeySummary       # key_items counted, per 联系委室 (results.py)
    ind.suggestion_detail(suggestion_id | (session, number), as_of=None, restrict_unit=None,
                          include_contacts=False) -> dict | None
    ind.data_status(restrict_unit=None, rejected_limit=None, files_limit=None) -> dict
    ind.available_filters(restrict_unit=None) -> dict
    ind.last_refreshed() -> datetime | None
    ind.warm(as_of=None)                       # build the state for T and its 同比 date ahead of requests
    ind.prefetch(("metrics", (scope,)), …)     # a page's independent results side by side, into the cache
    ind.reference_dates() -> {year: date}      # 交办 reference date of each year (同比)
Returned rows are plain dicts (dates as datetime.date); callers may mutate their copies.

Readings chosen where docs/domain.md is silent (also in docs/indicators.md):
- Scope: year/session/kind/category/key_only filter suggestions; suggestions with assigned_date > T
  do not exist yet (no assigned_date: counted). restrict_unit (a unit account) overrides ``unit``:
  every result is confined to that unit.
- Status history: the row describing an assignment as of T is the unit's newest row with
  report_date <= T (ties: higher report_id); with none <= T but later rows, its EARLIEST row
  (ties: higher report_id), still counting only facts dated <= T (reply_date, evaluation date).
  未报送 is strict: no row with report_date <= T.
- Deadline: register_deadline, else settings.deadline.rule (from_assignment: assigned + months;
  from_session_close: 大会建议 from sessions.closing_date (else assigned), 闭会建议 from assigned;
  fixed_date: 大会建议 → fixed_month_day of the session's year, 闭会建议 from assigned). Extension:
  max extension_date among the lead rows as of T, moves the deadline only later, capped at
  start + max_extension_months (start: the rule's start; assigned_date for register and fixed-date
  deadlines). Months via DuckDB INTERVAL (end-of-month clamps).
- Completed: every lead (主办/分办) has reply_date <= T; a suggestion without any lead assignment
  is never completed. Overdue: not completed and deadline < T (days = T − deadline). Due soon:
  not completed and 0 <= deadline − T <= due_soon_days. On time: completed with the last lead
  reply <= deadline; rate = on_time / (C + overdue). No deadline (no dates at all): never overdue,
  on time.
- 面商: a completed suggestion counts when every lead reports face_to_face = true.
- Class: worst lead class (D > C > B > A); a lead without a class makes the class unknown
  (counted in none of A–D, still in C's denominator).
- Evaluation of a lead as of T: the congress's latest evaluation dated <= T (undated: its file's
  report date, else receipt date) outranks, provided it is not older than the lead's current
  reply (a 重新答复 after the congress's evaluation replaces it, domain.md workflow 5); else the
  unit's reported evaluation in the selected row when its date (evaluation_date, else reply_date,
  else report_date) <= T. Suggestion: worst of the leads (不满意 < 基本满意 < 满意); any lead
  without one → unevaluated. Evaluated = completed with an evaluation.
- B promises: per lead row with class B (as of T) and a promise_date; due when promise_date < T;
  kept when promise_kept and (promise_kept_date <= promise_date or promise_kept_date null).
- 协办按时率: co assignments; window end = assigned_date + co_handling_months; due when window end
  < T or an opinion (reply_date) <= T; on time when reply_date <= window end.
- Unit scope: U's lead assignments, each judged on U's own row (reply, class, 面商, evaluation)
  against the suggestion's deadline; N = suggestions U leads.
- 同比: ref(year) = earliest assigned_date of the year's 大会建议 (else of any suggestion);
  offset = T − ref(year); T' = ref(year−1) + offset; same scope with year−1 (session dropped).
- Without a year in scope, yoy uses the latest year whose reference date is <= T.

Performance: the state of every assignment and of every suggestion as of T is computed once per
(warehouse version, settings, T) into a DuckDB file beside the version, shared by every process
(warehouse.statefiles; its SQL: warehouse/sql/state/, built by warehouse.state); every indicator
aggregates from it in DuckDB. Results are cached per process per (version, settings, method,
scope) (warehouse.cache); counts a page shows come as typed results (warehouse.results).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from duban.core.settings import Settings
from warehouse import cache, statefiles
from warehouse.leaders import in_leader_order, leader_key
from warehouse.lineage import Lineage
from warehouse.results import (
    BucketCount,
    CommitteeCount,
    KeyProject,
    KeySummary,
    OverdueSummary,
    Rehandling,
    UnitLagging,
)
from warehouse.state import (
    CLASSES,
    COUNTS,
    LEAD_COUNTS,
    PROMISES,
    SCOPE_COLUMNS,
    UNIT_COUNTS,
    build_facts,
    build_state,
    count_sql,
    date_literal,
)
from warehouse.unit_lookup import UnitLookup

STATUS_LABELS = ("已办结", "在办", "逾期", "临期")
EVALUATIONS = ("满意", "基本满意", "不满意")
OVERDUE_BUCKETS = ("逾期1–30天", "逾期31–90天", "逾期90天以上")


@dataclass(frozen=True)
class Scope:
    year: int | None = None
    session: str | None = None
    kind: str | None = None
    category: str | None = None
    unit: str | None = None
    key_only: bool = False
    as_of: date = field(default_factory=date.today)
    restrict_unit: str | None = None  # a unit account: every result confined to this unit

    @property
    def effective_unit(self) -> str | None:
        return self.restrict_unit or self.unit

    def describe(self) -> dict:
        d = asdict(self)
        d["as_of"] = self.as_of.isoformat()
        d["unit"] = self.effective_unit
        d.pop("restrict_unit")
        return d


def rate(numerator: int | None, denominator: int | None) -> float | None:
    """Every rate of the product goes through here: None when the denominator is 0."""
    if not denominator:
        return None
    return (numerator or 0) / denominator


# What the state and facts files are computed by (an upgrade changes their names).
_CODE = statefiles.code_fingerprint(Path(__file__), Path(statefiles.__file__), Path(__file__).with_name("state.py"),
                                    Path(__file__).with_name("sql") / "state")


def _rows(rel: duckdb.DuckDBPyRelation | duckdb.DuckDBPyConnection) -> list[dict]:
    cols = [d[0] for d in rel.description]
    return [dict(zip(cols, r)) for r in rel.fetchall()]


def _refresh_connection(path: str) -> duckdb.DuckDBPyConnection:
    """A refresh's own look at a version (its figures check, its preparation), bounded like a state
    build: DuckDB's default is 80 % of the machine's memory, which an intranet server shares with
    the dashboard (issue 18, docs/benchmark.md)."""
    return duckdb.connect(path, read_only=True, config={"memory_limit": f"{statefiles.BUILD_MEMORY_MB}MiB"})


def prepare_version(version_file: Path, settings: Settings, as_of: date | None = None) -> float:
    """Build a newly published version's derived tables (warm) before anyone asks: the refresh
    calls this right after publishing, so no dashboard worker waits for them. Returns seconds."""
    clock = time.perf_counter()
    path = str(Path(version_file).resolve())
    conn = _refresh_connection(path)
    try:
        Indicators(conn, settings, version=path).warm(as_of)
    finally:
        conn.close()
    return time.perf_counter() - clock


def version_figures(version_file: Path, settings: Settings, as_of: date | None = None) -> dict:
    """What a refresh compares between the published version and the one it built (etl/guard.py):
    per year its suggestions, completed, overdue and evaluated; per unit (all years) its lead
    assignments' completed, overdue and evaluated, and the rows of the files it sent, loaded and
    rejected. All of it from the version's facts and its state of all years as of T, the two files
    ``prepare_version`` builds first: a build's carry over to the version it becomes
    (statefiles.carry_over), and a published version's are there already."""
    as_of = as_of or date.today()
    conn = _refresh_connection(str(Path(version_file).resolve()))
    try:
        ind = Indicators(conn, settings)  # versioned by the file's identity: a build path is reused
        # a suggestion's state depends on nothing outside it: each year as counted in its own state
        years = {y["year"]: {"suggestions": y["total"], "completed": y["completed"], "overdue": y["overdue"],
                             "evaluated": y["evaluated"]} for y in ind.trends(Scope(as_of=as_of))["years"]}
        unit_keys = ("completed", "overdue", "evaluated", "rows_loaded", "rows_rejected")
        units = {r["unit"]: {**dict.fromkeys(unit_keys, 0), **{k: r[k] for k in unit_keys[:3]}}
                 for r in ind.unit_table(Scope(as_of=as_of))}
        for f in ind.data_status()["files"]:  # the newest first
            if f["sender_unit"]:
                unit = units.setdefault(f["sender_unit"], dict.fromkeys(unit_keys, 0))
                unit["rows_loaded"] += f["rows_loaded"] or 0
                unit["rows_rejected"] += f["rows_rejected"] or 0
                # the unit's newest file on its own: one bad file is a small share of years of rows
                unit.setdefault("newest_file", f"{f['original_name']} ({f['received_at']})")
                unit.setdefault("newest_read", f["rows_read"] or 0)
                unit.setdefault("newest_rejected", f["rows_rejected"] or 0)
        return {"years": years, "units": units}
    finally:
        conn.close()


# ── the indicator layer ───────────────────────────────────────────────────────────────────────
class Indicators(Lineage, UnitLookup):
    def __init__(self, conn: duckdb.DuckDBPyConnection, settings: Settings, version: str | None = None):
        self.conn = conn
        self.settings = settings
        dl = settings.deadline
        self._settings_key = (dl, tuple(sorted(settings.ranking.weights.items())), settings.followup)
        self.version = version or self._derive_version()
        self._registered: dict[tuple[date, int | None], str] = {}  # (T, year) -> state schema
        self._facts_schema: str | None = None
        self._databases: tuple[str | None, set[str]] | None = None  # (database file, attached names)

    def _derive_version(self) -> str:
        path = self.conn.execute(
            "SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0][0]
        try:
            st = os.stat(path)
            stamp = f"{st.st_mtime_ns}:{st.st_size}"
        except (OSError, TypeError):
            stamp = str(id(self.conn))  # in-memory database: private to this connection
        refresh = self.conn.execute("SELECT max(refresh_id), max(finished_at) FROM refreshes").fetchall()[0]
        return f"{path}:{stamp}:{refresh}"

    # -- state ------------------------------------------------------------------------------
    def _schema(self, T: date, year: int | None = None) -> str:
        """The schema of the state as of T on this connection's database (tables asg, sug and their
        cubes, see _build_state). With a year, only that year's suggestions (a suggestion's state
        depends on nothing outside it): a tenth of the work and the size at ten years, so every
        year's 同比 date can be prepared."""
        schema = self._registered.get((T, year))
        if schema is None:
            schema = self._registered[(T, year)] = self._attach_derived(
                self._settings_key, (T, year), lambda cur, target, scratch: build_state(cur, target, scratch, self.settings, T, year))
        return schema

    def _state(self, T: date, year: int | None = None) -> tuple[str, str]:
        """(asg, sug): the state's table names."""
        schema = self._schema(T, year)
        return f"{schema}.asg", f"{schema}.sug"

    def _attach_derived(self, settings_read: object, question: tuple, build) -> str:
        """The schema of a file derived from this version (warehouse.statefiles), named by
        statefiles.derived_key (the version file, the settings it reads, this code, ``question``);
        built by ``build`` when missing."""
        if self._databases is None:  # one look at the catalog per request, not one per state
            self._databases = statefiles.databases(self.conn)
        db_path, attached, seen = self._databases
        name = statefiles.schema_name(statefiles.derived_key(db_path or self.version, settings_read, _CODE, (), *question))
        # this request holds it attached (statefiles detaches only what no live request uses)
        attached.add(statefiles.attach(self.conn, name, db_path, build, holder=self, seen=(attached, seen)))
        return name

    def _facts(self) -> str:
        """The version's own aggregates (no T in them): built once per version like the state."""
        if self._facts_schema is None:
            self._facts_schema = self._attach_derived(None, ("facts",), build_facts)
        return self._facts_schema

    def warm_state(self, as_of: date) -> None:
        """Build (or attach) the state for T alone."""
        self._state(as_of)

    def warm(self, as_of: date | None = None) -> None:
        """Build what the views need as of T (default today), e.g. right after a refresh: the
        version's own aggregates, the state of all years, and each year's state with its 同比
        date's (whichever year a filter picks, no request builds one)."""
        scope = Scope(as_of=as_of or date.today())
        self._facts()
        self.metrics(scope)
        for year in self.reference_dates():
            self.yoy(replace(scope, year=year))

    def prefetch(self, *calls: tuple[str, tuple]) -> None:
        """Compute independent results side by side — ``("metrics", (scope,))`` … — each on a cursor
        of its own, into the results cache, where the page's own calls then find them. A failure is
        left for that call to raise (and the router to show)."""
        def run(method: str, args: tuple) -> None:
            with self.conn.cursor() as cursor:
                getattr(Indicators(cursor, self.settings, version=self.version), method)(*args)
        for future in [cache.prefetch_pool().submit(run, method, args) for method, args in calls]:
            try:
                future.result()
            except Exception:  # noqa: BLE001 - recomputed (and raised) by the page's own call
                logging.getLogger(__name__).debug("prefetch failed", exc_info=True)

    def _cached(self, name: str, args: tuple, compute, fact: bool = False):
        """compute() once per (version, settings, name, args); ``fact``: it does not depend on a
        scope (kept in cache.FACTS)."""
        return cache.cached((self.version, self._settings_key, name, args), compute, fact)

    def _q(self, sql: str, params: dict | None = None) -> list[dict]:
        return _rows(self.conn.execute(sql, params or {}))

    # -- scope ------------------------------------------------------------------------------
    @staticmethod
    def _where(scope: Scope, params: dict, alias: str = "") -> str:
        p = f"{alias}." if alias else ""
        parts = ["true"]
        for col in ("year", "session", "kind", "category"):
            value = getattr(scope, col)
            if value is not None:
                params[col] = value
                parts.append(f"{p}{col} = ${col}")
        if scope.key_only:
            parts.append(f"{p}is_key")
        return " AND ".join(parts)

    def _items(self, scope: Scope, params: dict, details: bool = False, state_year: int | None = None) -> str:
        """The items the suggestion figures count: suggestions, or in unit scope U's lead assignments.
        ``state_year`` reads that year's own state (default: the scope's year's, or all years')."""
        _, sug = self._state(scope.as_of, scope.year if state_year is None else state_year)
        unit = scope.effective_unit
        if unit is None:
            return f"(SELECT * FROM {sug} WHERE {self._where(scope, params)})"
        return self._assignments(scope, params, lead=True, details=details, state_year=state_year)

    def _assignments(self, scope: Scope, params: dict, lead: bool | None = None, details: bool = False,
                     state_year: int | None = None, table: str = "asg") -> str:
        """In-scope assignments (all units, or only the scope's unit); details adds the wide text
        columns; ``table="unit_cube"`` gives them counted (see _build_state)."""
        schema = self._schema(scope.as_of, scope.year if state_year is None else state_year)
        asg, sug = f"{schema}.{table}", f"{schema}.sug"
        cond = [self._where(scope, params, "a")]
        if scope.effective_unit is not None:
            params["unit"] = scope.effective_unit
            cond.append("a.unit = $unit")
        if lead is not None:
            cond.append("a.is_lead" if lead else "NOT a.is_lead")
        if not details:
            return f"(SELECT * FROM {asg} a WHERE {' AND '.join(cond)})"
        # The wide text columns live once per suggestion in the suggestion state, not per assignment.
        return (f"(SELECT a.*, s.title, s.lead_units, s.co_units, s.key_leader, s.key_committee, s.key_project "
                f"FROM {asg} a JOIN {sug} s USING (suggestion_id) WHERE {' AND '.join(cond)})")

    # -- headline counts, shared by metrics, trends and the unit table ---------------------------
    def _counted(self, scope: Scope, params: dict) -> tuple[str, bool]:
        """What the suggestion figures count, and whether it is a cube: without a unit, the state's
        suggestion cube (rows weighted by n); in unit scope, U's lead assignments (one row each)."""
        if scope.effective_unit is None:
            return f"(SELECT * FROM {self._schema(scope.as_of, scope.year)}.sug_cube WHERE {self._where(scope, params)})", True
        return self._assignments(scope, params, lead=True), False

    def _headline(self, scope: Scope, what: str, by_year: bool = False) -> list[dict]:
        """The headline counts of a scope (``what``: "items" → COUNTS, "leads" → PROMISES), one row,
        or one per year. In unit scope counted over U's lead rows; otherwise looked up in the state's
        headline tables, which hold the same counts for every combination of scope filters."""
        table, counts = {"items": ("headline", COUNTS), "leads": ("headline_leads", PROMISES)}[what]
        p: dict = {}
        by = "year, " if by_year else ""
        if scope.effective_unit is not None:  # U's lead rows, from the unit cube
            rows = self._q(f"SELECT {by}{count_sql(counts, cube=True)} "
                           f"FROM {self._assignments(scope, p, lead=True, table='unit_cube')}"
                           + (" GROUP BY year ORDER BY year" if by_year else ""), p)
        else:
            values = {"year": scope.year, "session": scope.session, "kind": scope.kind, "category": scope.category,
                      "is_key": True if scope.key_only else None}
            grouped, cond = 0, ["true"]
            for bit, col in enumerate(reversed(SCOPE_COLUMNS.split(", "))):  # GROUPING(): the last column is bit 0
                if col == "year" and by_year:
                    continue
                if values[col] is None:
                    grouped |= 1 << bit
                else:
                    p[col] = values[col]
                    cond.append(f"{col} = ${col}")
            rows = self._q(f"SELECT {by}{', '.join(name for name, _ in counts)} "
                           f"FROM {self._schema(scope.as_of, scope.year)}.{table} "
                           f"WHERE grouped = {grouped} AND {' AND '.join(cond)}" + (" ORDER BY year" if by_year else ""), p)
        return rows if by_year else rows or [{name: 0 for name, _ in counts}]

    # The counts (state.COUNTS) of each rating: result, work, implementation.
    _RATING_COUNTS = {"result": ("evaluated", "eval_full", "eval_basic", "eval_un"),
                      "work": ("work_evaluated", "work_full", "work_basic", "work_un"),
                      "implementation": ("impl_evaluated", "impl_full", "impl_basic", "impl_un")}

    def _rates(self, c: dict) -> dict:
        """The rates of counts ``c``; 满意率 of the rating [followup] headline_rating names."""
        completed = c["completed"]
        evaluated, full, basic, _ = self._RATING_COUNTS[self.settings.followup.headline_rating]
        return {
            "completion_rate": rate(completed, c["total"]),
            "on_time_rate": rate(c["on_time"], completed + c["overdue"]),
            "face_rate": rate(c["face"], completed),
            "class_rates": {k: rate(c[f"class_{k}"], completed) for k in CLASSES},
            "solved_rate": rate(c["class_A"] + c["class_B"], completed),
            "satisfied_rate": rate(c[full] + c[basic], c[evaluated]),
            "fully_satisfied_rate": rate(c[full], c[evaluated]),
            **{f"{name}_satisfied_rate": rate(c[f] + c[b], c[e]) for name, (e, f, b, _) in self._RATING_COUNTS.items()},
            "promise_kept_rate": rate(c.get("promise_kept"), c.get("promise_due")),
        }

    # -- metrics ----------------------------------------------------------------------------
    def metrics(self, scope: Scope) -> dict:
        return self._cached("metrics", (scope,), lambda: self._metrics(scope))

    def _metrics(self, scope: Scope) -> dict:
        c = self._headline(scope, "items")[0]
        # Promises are per lead row of the items (the scope's unit only, in unit scope).
        c.update(self._headline(scope, "leads")[0])
        p: dict = {}
        items, cube = self._counted(scope, p)
        out: dict[str, Any] = {
            "as_of": scope.as_of.isoformat(),
            "scope": scope.describe(),
            "total": c["total"],
            "completed": c["completed"],
            "in_progress": c["total"] - c["completed"],
            "overdue": c["overdue"],
            "due_soon": c["due_soon"],
        }
        rates = self._rates(c)
        out.update({
            "completion_rate": rates["completion_rate"],
            "on_time_rate": rates["on_time_rate"],
            "on_time": c["on_time"],
            "face_rate": rates["face_rate"],
            "face_count": c["face"],
            "class_counts": {k: c[f"class_{k}"] for k in CLASSES},
            "class_rates": rates["class_rates"],
            "solved_rate": rates["solved_rate"],
            "evaluated": c["evaluated"],
            "satisfaction": {"满意": c["eval_full"], "基本满意": c["eval_basic"], "不满意": c["eval_un"]},
            "satisfied_rate": rates["satisfied_rate"],
            "fully_satisfied_rate": rates["fully_satisfied_rate"],
            "promise_due": c["promise_due"],
            "promise_kept": c["promise_kept"],
            "promise_kept_rate": rates["promise_kept_rate"],
            "headline_rating": self.settings.followup.headline_rating,
            "promises": {"due": c["promise_due"], "kept": c["promise_kept"], "kept_late": c["promise_kept_late"],
                         "broken": c["promise_broken"], "revised": c["promise_revised"]},
            "rehandling": self.rehandling(scope).as_dict(),
            "key_projects": [p.as_dict() for p in self.key_projects(scope)],
        })
        out["result_satisfied_rate"] = rates["result_satisfied_rate"]
        for name, prefix in (("work", "work"), ("implementation", "impl")):
            out[f"{name}_satisfaction"] = {"满意": c[f"{prefix}_full"], "基本满意": c[f"{prefix}_basic"],
                                           "不满意": c[f"{prefix}_un"]}
            out[f"{name}_evaluated"] = c[f"{prefix}_evaluated"]
            out[f"{name}_satisfied_rate"] = rates[f"{name}_satisfied_rate"]
        # The mixes in one query: a grouping set per column (GROUPING(col) = 0 marks its rows).
        mixes = self._q(f"""
            SELECT kind, category, source, GROUPING(kind) AS gk, GROUPING(category) AS gc,
                   {count_sql((("n", None),), cube)}
            FROM {items} GROUP BY GROUPING SETS ((kind), (category), (source))""", p)
        by_kind = {"大会建议": 0, "闭会建议": 0}
        for r in mixes:
            if r["gk"] == 0:
                by_kind[r["kind"] or "未注明"] = r["n"]
        out["by_kind"] = by_kind
        for col, rows in (("category", [r for r in mixes if r["gc"] == 0]),
                          ("source", [r for r in mixes if r["gk"] and r["gc"]])):
            rows.sort(key=lambda r: (-r["n"], r[col] is None, r[col] or ""))
            out[f"by_{col}"] = [{col: r[col] or "未注明", "total": r["n"], "share": rate(r["n"], c["total"])}
                                for r in rows]
        out["key_supervised"] = {"total": c["key_total"], "completed": c["key_completed"],
                                 "overdue": c["key_overdue"]}
        pu: dict = {}
        # The assignment state carries its suggestion's scope columns: no IN (subquery) needed.
        out["units"] = self._q(
            f"SELECT count(DISTINCT unit) AS n FROM {self._assignments(replace(scope, unit=None, restrict_unit=None), pu)}",
            pu)[0]["n"] if scope.effective_unit is None else 1
        if scope.effective_unit is not None:
            pa: dict = {}
            u = self._q(f"""
                SELECT {count_sql((("lead_assignments", "is_lead"), *UNIT_COUNTS), cube=True)}
                FROM {self._assignments(scope, pa, table="unit_cube")}""", pa)[0]
            out.update({
                "unit": scope.effective_unit,
                "lead_assignments": u["lead_assignments"],
                "co_assignments": u["co_assignments"],
                "co_due": u["co_due"],
                "co_on_time": u["co_on_time"],
                "co_on_time_rate": rate(u["co_on_time"], u["co_due"]),
                "unreported": u["unreported"],
            })
            out["units"] = 1 if u["lead_assignments"] + u["co_assignments"] else 0
        return out

    # -- 同比 --------------------------------------------------------------------------------
    def reference_dates(self) -> dict[int, date]:
        """ref(year): the earliest 交办 date of the year's 大会建议, else of any suggestion."""
        return self._cached("refdates", (), lambda: {r["year"]: r["ref"] for r in self._q(f"""
            SELECT year, COALESCE(min(first_assigned_congress), min(first_assigned)) AS ref
            FROM {self._facts()}.scope_values GROUP BY year HAVING ref IS NOT NULL ORDER BY year""")}, fact=True)

    def first_assigned(self) -> date | None:
        """The first 交办 date of the data (None: no suggestions): the earliest date worth asking as of."""
        return self._cached("first_assigned", (), lambda: self._q(
            f"SELECT min(first_assigned) AS d FROM {self._facts()}.scope_values")[0]["d"], fact=True)

    def _scope_year(self, scope: Scope) -> int | None:
        if scope.year is not None:
            return scope.year
        if scope.session is not None:
            r = self._q("SELECT year FROM sessions WHERE session = $s", {"s": scope.session})
            if r:
                return r[0]["year"]
        refs = self.reference_dates()
        past = [y for y, d in refs.items() if d <= scope.as_of]
        return max(past) if past else None

    def yoy(self, scope: Scope) -> dict:
        def compute():
            year = self._scope_year(scope)
            refs = self.reference_dates()
            out = {"year": year, "previous_year": None, "as_of": scope.as_of, "previous_as_of": None,
                   "offset_days": None, "reference_date": None, "previous_reference_date": None,
                   "current": self.metrics(replace(scope, year=year) if year else scope), "previous": None}
            if year is None or year not in refs or (year - 1) not in refs:
                return out
            offset = (scope.as_of - refs[year]).days
            prev_T = refs[year - 1] + timedelta(days=offset)
            out.update(previous_year=year - 1, previous_as_of=prev_T, offset_days=offset,
                       reference_date=refs[year], previous_reference_date=refs[year - 1],
                       previous=self.metrics(replace(scope, year=year - 1, session=None, as_of=prev_T)))
            return out
        return self._cached("yoy", (scope,), compute)

    # -- curves and trends ------------------------------------------------------------------
    def completion_curve(self, scope: Scope, years: list[int] | tuple[int, ...], same_offset: bool = False) -> list[dict]:
        """Cumulative share of the year's suggestions completed by day N after ref(year), as of T.
        ``same_offset``: every other year as of the same day offset from its own 交办 as the scope's
        year (the 同比 date, yoy's previous_as_of), so the curve ends where the 同比 card's figure
        stands — what had been reported by that day, not the year's final data."""
        def compute():
            refs = self.reference_dates()
            shown = self._scope_year(scope) if same_offset else None
            offset = (scope.as_of - refs[shown]).days if shown in refs else None

            def as_of(y: int) -> date:
                return scope.as_of if offset is None or y == shown else refs[y] + timedelta(days=offset)
            # (year, its reference day, days drawn, its place in ``years``, its T) — one query for all years
            drawn = [(int(y), date_literal(refs[y]), min(max((as_of(y) - refs[y]).days, 0), 730), n, as_of(y))
                     for n, y in enumerate(years) if y in refs]
            if not drawn:
                return []
            p: dict = {}
            # each year from its own state (prepared for today and filtered T alike; a tenth of all years)
            every_year = replace(scope, year=None, session=None)
            items = " UNION ALL ".join(
                f"SELECT year, completed, last_reply FROM {self._items(replace(every_year, as_of=T), p, state_year=y)}"
                for y, _, _, _, T in drawn)
            return self._q(f"""
                WITH refs(year, ref, h, ord) AS (VALUES {", ".join(f"({y}, {d}, {h}, {n})" for y, d, h, n, _ in drawn)}),
                items AS ({items}),
                done AS (
                    -- a reply before the reference day (an early 闭会建议) counts from day 0
                    SELECT i.year, GREATEST(date_diff('day', r.ref, i.last_reply), 0) AS d, count(*) AS k
                    FROM items i JOIN refs r USING (year) WHERE i.completed GROUP BY ALL
                ), n AS (SELECT year, count(*) AS n FROM items GROUP BY year),
                days AS (SELECT year, ord, unnest(range(0, h + 1)) AS day_offset FROM refs)
                SELECT days.year, days.day_offset,
                       sum(COALESCE(done.k, 0)) OVER (PARTITION BY days.year ORDER BY days.day_offset)
                           / NULLIF(n.n, 0) AS share
                FROM days LEFT JOIN done ON done.year = days.year AND done.d = days.day_offset
                LEFT JOIN n ON n.year = days.year
                ORDER BY days.ord, days.day_offset""", p)
        return self._cached("curve", (scope, tuple(years), same_offset), compute)

    def trends(self, scope: Scope) -> dict:
        """Headline figures per year (as of T; past years are final) and the category mix per year."""
        def compute():
            every_year = replace(scope, year=None, session=None)
            rows = self._headline(every_year, "items", by_year=True)
            prom = {r["year"]: r for r in self._headline(every_year, "leads", by_year=True)}
            p: dict = {}
            items, cube = self._counted(every_year, p)
            years = []
            for c in rows:
                c.update(prom.get(c["year"], {"promise_due": 0, "promise_kept": 0}))
                r = self._rates(c)
                years.append({
                    "year": c["year"], "total": c["total"], "completed": c["completed"],
                    "overdue": c["overdue"], "evaluated": c["evaluated"], "unsatisfied": c["eval_un"],
                    "completion_rate": r["completion_rate"], "on_time_rate": r["on_time_rate"],
                    "face_rate": r["face_rate"], "a_rate": r["class_rates"]["A"], "solved_rate": r["solved_rate"],
                    "satisfied_rate": r["satisfied_rate"], "fully_satisfied_rate": r["fully_satisfied_rate"],
                    "promise_kept_rate": r["promise_kept_rate"], "key_total": c["key_total"]})
            cats = self._q(f"""
                SELECT year, category, total, total / sum(total) OVER (PARTITION BY year) AS share
                FROM (SELECT year, COALESCE(category, '未注明') AS category, {count_sql((("total", None),), cube)}
                      FROM {items} GROUP BY 1, 2)
                ORDER BY year, total DESC, category""", p)
            return {"years": years, "categories": cats}
        return self._cached("trends", (scope,), compute)

    # -- lists ------------------------------------------------------------------------------
    _LIST_COLS = """suggestion_id, session, year, number, title, kind, category, source, lead_units, co_units,
        assigned_date, deadline, status, completed, overdue, due_soon, on_time, days_overdue, days_to_deadline,
        last_reply AS last_reply_date, result_class, evaluation, is_key, key_leader, key_committee,
        face AS face_to_face"""

    _LIST_ORDER = "year DESC, session, number, role NULLS FIRST"

    def suggestion_list(self, scope: Scope, status: str | None = None) -> list[dict]:
        """Rows per suggestion (unit scope: U's lead assignments judged on U's row, then U's co ones)."""
        def compute():
            p: dict = {}
            return self._q(f"SELECT * FROM ({self._list_sql(scope, p, status)}) ORDER BY {self._LIST_ORDER}", p)
        return self._cached("list", (scope, status), compute)

    def suggestion_list_first(self, scope: Scope, limit: int) -> dict:
        """suggestion_list in chase order — 逾期 (longest overdue first), 临期, 在办, then 已办结 — cut
        to its first ``limit`` rows in SQL: {"count": all rows, "rows": [...]} (a grid's page)."""
        def compute():
            p: dict = {}
            rows = self._q(f"""
                WITH listed AS MATERIALIZED ({self._list_sql(scope, p)})
                SELECT (SELECT count(*) FROM listed) AS _count, * FROM listed
                ORDER BY CASE status WHEN '逾期' THEN 0 WHEN '临期' THEN 1 WHEN '在办' THEN 2 ELSE 3 END,
                         days_overdue DESC NULLS LAST, {self._LIST_ORDER}
                LIMIT {int(limit)}""", p)
            return {"count": rows[0]["_count"] if rows else 0,
                    "rows": [{k: v for k, v in r.items() if k != "_count"} for r in rows]}
        return self._cached("list_first", (scope, limit), compute)

    def _list_sql(self, scope: Scope, p: dict, status: str | None = None) -> str:
        cond = "true"
        if status == "未办结":
            cond = "NOT completed"
        elif status is not None:
            p["status"] = status
            cond = "status = $status"
        items = self._items(scope, p, details=True)
        extra = ", unit, role" if scope.effective_unit else ", NULL AS unit, NULL AS role"
        sql = f"SELECT {self._LIST_COLS}{extra} FROM {items} WHERE {cond}"
        if scope.effective_unit:
            # Co-handled suggestions are shown with the suggestion's own status.
            _, sug = self._state(scope.as_of, scope.year)
            sql += (f" UNION ALL SELECT {self._LIST_COLS}, $unit AS unit, '协办' AS role FROM {sug} "
                    f"WHERE suggestion_id IN (SELECT suggestion_id FROM {self._assignments(scope, p, lead=False)})"
                    f" AND {self._where(scope, p)} AND {cond}")
        return sql

    def replies(self, scope: Scope) -> dict:
        """The items answered by T (unit scope: U's lead assignments) as columns for a figure:
        {"number", "deadline", "last_reply_date", "on_time"} → numpy arrays (dates as datetime64[D])."""
        def compute():
            p: dict = {}
            cols = self.conn.execute(f"""
                SELECT number, deadline, last_reply AS last_reply_date, on_time FROM {self._items(scope, p)}
                WHERE last_reply IS NOT NULL AND deadline IS NOT NULL ORDER BY deadline, number""", p).fetchnumpy()
            return {k: v.astype("datetime64[D]") if v.dtype.kind == "M" else v for k, v in cols.items()}
        return self._cached("replies", (scope,), compute)

    _OVERDUE_ORDER = "status = '逾期' DESC, days_overdue DESC NULLS LAST, days_to_deadline, unit, number"

    def overdue(self, scope: Scope) -> list[dict]:
        """Overdue and due-soon items: one row per (suggestion, lead unit that has not replied by T)."""
        def compute():
            p: dict = {}
            return self._q(f"SELECT * FROM ({self._overdue_sql(scope, p)}) ORDER BY {self._OVERDUE_ORDER}", p)
        return self._cached("overdue", (scope,), compute)

    def overdue_counts(self, scope: Scope) -> list[dict]:
        """overdue() counted per (age_bucket, unit, status): what its charts and headings show."""
        def compute():
            p: dict = {}
            return self._q(f"SELECT age_bucket, unit, status, count(*) AS n FROM ({self._overdue_sql(scope, p)}) "
                           "GROUP BY ALL ORDER BY ALL", p)
        return self._cached("overdue_counts", (scope,), compute)

    def overdue_first(self, scope: Scope, limit: int, age_bucket: str | None = None, unit: str | None = None) -> list[dict]:
        """The first ``limit`` rows of overdue() (in its order), of one age bucket and/or unit."""
        def compute():
            p: dict = {"bucket": age_bucket, "unit_": unit}
            return self._q(f"""
                SELECT * FROM ({self._overdue_sql(scope, p)})
                WHERE ($bucket IS NULL OR age_bucket = $bucket) AND ($unit_ IS NULL OR unit = $unit_)
                ORDER BY {self._OVERDUE_ORDER} LIMIT {int(limit)}""", p)
        return self._cached("overdue_first", (scope, limit, age_bucket, unit), compute)

    def overdue_summary(self, scope: Scope, age_bucket: str | None = None, unit: str | None = None) -> OverdueSummary:
        """overdue() counted for 逾期预警 with its cross-filters (one age bucket and/or one unit) and
        for the 通报: per bucket, per unit, the totals (see results.OverdueSummary)."""
        def compute():
            counts = self.overdue_counts(scope)
            by_bucket: dict[str, int] = {}
            by_unit: dict[str, dict[str, int]] = {}
            totals = {"逾期": 0, "临期": 0}
            for c in counts:
                if unit is None or c["unit"] == unit:
                    by_bucket[c["age_bucket"]] = by_bucket.get(c["age_bucket"], 0) + c["n"]
                if age_bucket is None or c["age_bucket"] == age_bucket:
                    per_unit = by_unit.setdefault(c["unit"], {"逾期": 0, "临期": 0})
                    per_unit[c["status"]] += c["n"]
                    if unit is None or c["unit"] == unit:
                        totals[c["status"]] += c["n"]
            p: dict = {"bucket": age_bucket, "unit_": unit}
            suggestions = self._q(f"""
                SELECT count(DISTINCT suggestion_id) FILTER (WHERE status = '逾期') AS n
                FROM ({self._overdue_sql(scope, p)})
                WHERE ($bucket IS NULL OR age_bucket = $bucket) AND ($unit_ IS NULL OR unit = $unit_)""", p)[0]["n"]
            return OverdueSummary(
                buckets=tuple(BucketCount(b, by_bucket.get(b, 0)) for b in self.overdue_buckets()),
                units=tuple(UnitLagging(u, n["逾期"], n["临期"]) for u, n in sorted(
                    by_unit.items(), key=lambda item: (-item[1]["逾期"], -item[1]["临期"], item[0]))),
                units_by_overdue=tuple(UnitLagging(u, n["逾期"], n["临期"]) for u, n in sorted(
                    by_unit.items(), key=lambda item: (-item[1]["逾期"], item[0])) if n["逾期"]),
                overdue=totals["逾期"], due_soon=totals["临期"], overdue_suggestions=suggestions,
                overdue_long=by_bucket.get(OVERDUE_BUCKETS[-1], 0) if age_bucket in (None, OVERDUE_BUCKETS[-1]) else 0)
        return self._cached("overdue_summary", (scope, age_bucket, unit), compute)

    def overdue_buckets(self) -> list[str]:
        """逾期预警's age buckets in order: 临期 (距期限0–N天, N the due_soon_days setting), then overdue."""
        return [f"距期限0–{self.settings.deadline.due_soon_days}天", *OVERDUE_BUCKETS]

    def _overdue_sql(self, scope: Scope, p: dict) -> str:
        items = self._items(scope, p, details=True)
        soon = self.settings.deadline.due_soon_days
        return f"""
            SELECT i.suggestion_id, i.session, i.year, i.number, i.title, i.kind, i.category,
                   a.unit, a.role, i.lead_units, i.co_units, i.assigned_date, i.deadline, i.status,
                   i.days_overdue, i.days_to_deadline, i.is_key, i.key_leader,
                   a.last_report_date, a.reported,
                   CASE WHEN i.due_soon THEN '距期限0–{soon}天'
                        WHEN i.days_overdue <= 30 THEN '{OVERDUE_BUCKETS[0]}'
                        WHEN i.days_overdue <= 90 THEN '{OVERDUE_BUCKETS[1]}'
                        ELSE '{OVERDUE_BUCKETS[2]}' END AS age_bucket
            FROM {items} i JOIN {self._assignments(scope, p, lead=True)} a
              ON a.suggestion_id = i.suggestion_id AND a.reply_date IS NULL
            WHERE i.overdue OR i.due_soon"""

    def contacts(self, scope: Scope) -> dict[tuple[str, str], dict]:
        """Personal data (supervisors only): the contact person and phone of each unanswered lead
        assignment in scope, from the unit's export row selected as of T (as in suggestion_detail)."""
        def compute():
            p: dict = {}
            rows = self._q(f"""
                SELECT a.suggestion_id, a.unit, h.contact_name, h.contact_phone
                FROM {self._assignments(scope, p, lead=True)} a JOIN handling_reports h ON h.report_id = a.report_id
                WHERE a.reply_date IS NULL""", p)
            return {(r["suggestion_id"], r["unit"]): {"contact_name": r["contact_name"],
                                                        "contact_phone": r["contact_phone"]} for r in rows}
        return self._cached("contacts", (scope,), compute)

    def unsatisfied(self, scope: Scope) -> list[dict]:
        """不满意件: completed items whose evaluation is 不满意, with the leads that were rated so."""
        def compute():
            p: dict = {}
            sql, order = self._unsatisfied_sql(scope, p)
            return self._q(f"{sql} ORDER BY {order}", p)
        return self._cached("unsatisfied", (scope,), compute)

    def _unsatisfied_sql(self, scope: Scope, p: dict) -> tuple[str, str]:
        items = self._items(scope, p, details=True)
        return f"""
            SELECT i.suggestion_id, i.session, i.year, i.number, i.title, i.category, i.lead_units,
                   i.last_reply AS last_reply_date, i.is_key, i.key_leader,
                   string_agg(a.unit, '、' ORDER BY a.unit) AS unsatisfied_units,
                   max(a.evaluation_date) AS evaluation_date,
                   string_agg(DISTINCT a.evaluation_source, '、') AS evaluation_source
            FROM {items} i JOIN {self._assignments(scope, p, lead=True)} a ON a.suggestion_id = i.suggestion_id
                 AND a.evaluation = '不满意'
            WHERE i.completed AND i.evaluation = '不满意'
            GROUP BY ALL""", "year DESC, session, number"

    def attention(self, scope: Scope, limit: int) -> dict:
        """需关注 (总览, 会议大屏): each list's size and its first ``limit`` rows, cut in SQL.
        {"overdue": suggestions 逾期 (most days first), "unsatisfied": 不满意件 (as unsatisfied()),
         "key_lagging": key items 逾期 or 临期, "overdue_units": units by overdue lead assignments
         (count = assignment-times), "unreported": as unreported(), "rehandle": the open 重办 (重办逾期,
         重办中) as rehandle_list()}, each {"count": n, "rows": [...]}."""
        def compute():
            def first(sql: str, order: str, params: dict) -> dict:
                rows = self._q(f"SELECT count(*) OVER () AS _count, * FROM ({sql}) ORDER BY {order} LIMIT {int(limit)}",
                               params)
                return {"count": rows[0]["_count"] if rows else 0,
                        "rows": [{k: v for k, v in r.items() if k != "_count"} for r in rows]}
            cols = ("suggestion_id, session, year, number, title, status, deadline, days_overdue, days_to_deadline, "
                    "key_leader")
            po: dict = {}
            pk: dict = {}
            pu: dict = {}
            pn: dict = {}
            units = first(f"""
                SELECT a.unit, count(*) AS overdue, CAST(sum(count(*)) OVER () AS BIGINT) AS assignment_times
                FROM {self._items(scope, pu)} i JOIN {self._assignments(scope, pu, lead=True)} a
                  ON a.suggestion_id = i.suggestion_id AND a.reply_date IS NULL
                WHERE i.overdue GROUP BY a.unit""", "overdue DESC, unit", pu)
            units["count"] = int(units["rows"][0]["assignment_times"]) if units["rows"] else 0
            unsatisfied_sql, unsatisfied_order = self._unsatisfied_sql(scope, pn)
            return {
                "overdue": first(f"SELECT {cols} FROM {self._items(scope, po, details=True)} WHERE status = '逾期'",
                                 "days_overdue DESC, year, session, number", po),
                "unsatisfied": first(unsatisfied_sql, unsatisfied_order, pn),
                "key_lagging": first(
                    f"SELECT {cols} FROM {self._items(replace(scope, key_only=True), pk, details=True)} "
                    f"WHERE status IN ('逾期', '临期')", "key_leader NULLS LAST, year DESC, number", pk),
                "overdue_units": units,
                "unreported": {"count": len(unreported := self.unreported(scope)), "rows": unreported[:limit]},
                "rehandle": {"count": len(rehandle := self.rehandle_list(scope, self.REHANDLE_OPEN)),
                             "rows": rehandle[:limit]},
            }
        return self._cached("attention", (scope, limit), compute)

    def broken_promises(self, scope: Scope) -> list[dict]:
        """B类 promises due (promised date < T) and not kept by their date."""
        def compute():
            p: dict = {}
            T = date_literal(scope.as_of)
            return self._q(f"""
                SELECT suggestion_id, session, year, number, title, unit, role, promise_text, promise_date,
                       promise_kept_date, date_diff('day', promise_date, {T}) AS days_past, last_report_date
                FROM {self._assignments(scope, p, lead=True, details=True)}
                WHERE promise_due AND NOT promise_kept
                ORDER BY promise_date, unit, number""", p)
        return self._cached("broken", (scope,), compute)

    # -- follow-through: 重办, promises across years, key projects (docs/domain.md, 跟踪落实) -------
    REHANDLE_STATES = ("重办逾期", "重办中", "已重新答复", "转为满意")  # worst first
    REHANDLE_OPEN = REHANDLE_STATES[:2]  # no new reply yet: what 需关注, the 催办清单 and the 通报 list

    def _rehandle_sql(self, scope: Scope, p: dict) -> str:
        """The scope's 重办 (one row per lead assignment rated 不满意; unit scope: U's only)."""
        table = f"{self._schema(scope.as_of, scope.year)}.rehandle"
        cond = self._where(scope, p)
        if scope.effective_unit is not None:
            p["unit"] = scope.effective_unit
            cond += " AND unit = $unit"
        return f"SELECT * FROM {table} WHERE {cond}"

    def rehandling(self, scope: Scope) -> Rehandling:
        """重办 counted (results.Rehandling): opened by T, and each suggestion (unit scope: each of U's
        lead assignments) in the state of its latest 重办, the worst of its leads'."""
        def compute():
            p: dict = {}
            order = ", ".join(f"'{state}'" for state in self.REHANDLE_STATES)
            row = self._q(f"""
                WITH r AS ({self._rehandle_sql(scope, p)}),
                per AS (SELECT suggestion_id, sum(opened) AS opened,
                               [{order}][min(list_position([{order}], state))] AS state
                        FROM r GROUP BY suggestion_id)
                SELECT CAST(COALESCE(sum(opened), 0) AS BIGINT) AS opened,
                       {count_sql(tuple((state, f"state = '{state}'") for state in self.REHANDLE_STATES))}
                FROM per""", p)[0]
            return Rehandling(opened=row["opened"], in_progress=row["重办中"], overdue=row["重办逾期"],
                              replied=row["已重新答复"], turned_satisfied=row["转为满意"])
        return self._cached("rehandling", (scope,), compute)

    def rehandle_list(self, scope: Scope, states: tuple[str, ...] | None = None) -> list[dict]:
        """重办 件: one row per (suggestion, lead unit rated 不满意), with its state, the 不满意's date,
        the due day, the re-reply and the newer rating; ``states`` keeps only those (e.g. the open
        ones: 重办逾期, 重办中). Overdue first, then the longest open."""
        def compute():
            p: dict = {"states": list(states or self.REHANDLE_STATES)}
            _, sug = self._state(scope.as_of, scope.year)
            return self._q(f"""
                SELECT r.suggestion_id, s.session, s.year, s.number, s.title, s.lead_units, r.unit, r.state,
                       r.opened, r.unsatisfied_date, r.due_date, r.rereply_date, r.rated_date, r.days_overdue,
                       s.is_key, s.key_leader
                FROM ({self._rehandle_sql(scope, p)}) r JOIN {sug} s USING (suggestion_id)
                WHERE list_contains($states, r.state)
                ORDER BY list_position({list(self.REHANDLE_STATES)}, r.state), r.due_date, s.year DESC,
                         s.session, s.number, r.unit""", p)
        return self._cached("rehandle_list", (scope, states), compute)

    PROMISE_STATES = ("未兑现", "未到期", "逾期兑现", "已兑现")

    def followup_list(self, scope: Scope) -> list[dict]:
        """跟踪督办清单 (回头看): the B promises of the scope's year, and those of earlier years still
        open as of T (未兑现, 未到期) — promises are followed across years. Each with P (the date as
        first reported), its status (已兑现 by P / 逾期兑现 / 未到期 / 未兑现), its revisions (other
        dates reported later: ``revisions`` [{date, report_date}]) and days past P. Open ones first."""
        def compute():
            p: dict = {}
            T = date_literal(scope.as_of)
            # a year (or session) shows its own promises and the earlier years' still open; none: all
            year = self._scope_year(scope) if scope.year is not None or scope.session is not None else None
            every_year = replace(scope, year=None, session=None)
            leads = self._assignments(every_year, p, lead=True, details=True, state_year=None)
            p["year"] = year
            p["session"] = scope.session
            rows = self._q(f"""
                WITH pr AS (
                    SELECT *, CASE WHEN promise_kept THEN '已兑现' WHEN promise_kept_late THEN '逾期兑现'
                                   WHEN promise_due THEN '未兑现' ELSE '未到期' END AS promise_status
                    FROM {leads} WHERE has_promise
                )
                SELECT suggestion_id, session, year, number, title, unit, promise_text, promise_date,
                       promise_kept_date, promise_status, promise_revisions,
                       CASE WHEN promise_status = '未兑现' THEN date_diff('day', promise_date, {T}) END AS days_past,
                       last_report_date, key_leader
                FROM pr
                WHERE $year IS NULL OR COALESCE(session = $session, year = $year)
                   OR (year < $year AND promise_status IN ('未兑现', '未到期'))
                ORDER BY list_position({list(self.PROMISE_STATES)}, promise_status), promise_date, year, number, unit""",
                p)
            revisions = self.promise_revisions(every_year)
            for r in rows:
                r["revisions"] = revisions.get((r["suggestion_id"], r["unit"]), [])
                r["carried_over"] = year is not None and r["year"] < year
            return rows
        return self._cached("followup", (scope,), compute)

    def promise_revisions(self, scope: Scope) -> dict[tuple[str, str], list[dict]]:
        """Per (suggestion, unit): the promised dates reported after the first one (P), each with the
        report that first gave it, by T: [{date, report_date}], oldest first."""
        def compute():
            rows = self._q("""
                WITH firsts AS (
                    SELECT suggestion_id, unit,
                           arg_min(promise_date, (report_date, report_id)) FILTER (WHERE promise_date IS NOT NULL) AS p
                    FROM handling_reports GROUP BY ALL)
                SELECT h.suggestion_id, h.unit, h.promise_date AS date, min(h.report_date) AS report_date
                FROM handling_reports h JOIN firsts f USING (suggestion_id, unit)
                WHERE h.report_date <= $T AND h.promise_date <> f.p
                GROUP BY ALL ORDER BY h.suggestion_id, h.unit, report_date, date""", {"T": scope.as_of})
            out: dict[tuple[str, str], list[dict]] = {}
            for r in rows:
                out.setdefault((r.pop("suggestion_id"), r.pop("unit")), []).append(r)
            return out
        return self._cached("promise_revisions", (scope.as_of,), compute)

    def key_projects(self, scope: Scope) -> list[KeyProject]:
        """重点督办项目 (results.KeyProject): the key suggestions grouped by the project their register
        rows name, in leader order (docs/domain.md), then by project. [] when the register names none."""
        def compute():
            p: dict = {}
            counts = [c for c in COUNTS if c[0] in ("total", "completed", "overdue")]
            rows = self._q(f"""
                SELECT key_project, mode(key_leader) AS leader, mode(lead_units) AS lead_unit, {count_sql(counts)}
                FROM {self._items(replace(scope, key_only=True), p, details=True)}
                WHERE key_project IS NOT NULL GROUP BY key_project ORDER BY key_project""", p)
            projects = [KeyProject(r["key_project"], r["leader"], r["lead_unit"], r["total"], r["completed"], r["overdue"])
                        for r in rows]
            return in_leader_order(projects, lambda k: k.leader, self.settings.followup.leaders)
        return self._cached("key_projects", (scope,), compute)

    def unreported(self, scope: Scope) -> list[dict]:
        """Per unit: assignments for which it has sent no export row dated <= T (未报送)."""
        def compute():
            p: dict = {}
            return self._q(f"""
                SELECT unit, count(*) FILTER (WHERE NOT reported) AS unreported,
                       count(*) FILTER (WHERE NOT reported AND is_lead) AS unreported_lead,
                       count(*) FILTER (WHERE NOT reported AND NOT is_lead) AS unreported_co,
                       count(*) AS assignments, max(last_report_date) AS last_report_date
                FROM {self._assignments(scope, p)} GROUP BY unit HAVING unreported > 0
                ORDER BY unreported DESC, unit""", p)
        return self._cached("unreported", (scope,), compute)

    def unreported_items(self, scope: Scope) -> list[dict]:
        """The in-scope assignments (of the scope's unit, or all) with no export row dated <= T."""
        def compute():
            p: dict = {}
            return self._q(f"""
                SELECT suggestion_id, session, year, number, title, unit, role, is_lead, assigned_date, deadline,
                       status, days_overdue, last_report_date
                FROM {self._assignments(scope, p, details=True)} WHERE NOT reported
                ORDER BY year DESC, session, number, unit""", p)
        return self._cached("unreported_items", (scope,), compute)

    def unit_table(self, scope: Scope) -> list[dict]:
        """Per unit: its lead assignments judged on its own rows, co-handling and reporting."""
        def compute():
            p: dict = {}
            rows = self._q(f"""
                SELECT unit,
                       {count_sql(LEAD_COUNTS + PROMISES, cube=True, only="is_lead")},
                       {count_sql(UNIT_COUNTS, cube=True)},
                       max(last_report_date) AS last_report_date
                FROM {self._assignments(scope, p, table="unit_cube")} GROUP BY unit
                ORDER BY lead_assignments DESC, unit""", p)
            for c in rows:
                r = self._rates({**c, "total": c["lead_assignments"]})
                c.update(completion_rate=r["completion_rate"], on_time_rate=r["on_time_rate"],
                         face_rate=r["face_rate"], class_rates=r["class_rates"], solved_rate=r["solved_rate"],
                         satisfied_rate=r["satisfied_rate"], fully_satisfied_rate=r["fully_satisfied_rate"],
                         promise_kept_rate=r["promise_kept_rate"],
                         work_satisfied_rate=r["work_satisfied_rate"],
                         implementation_satisfied_rate=r["implementation_satisfied_rate"],
                         co_on_time_rate=rate(c["co_on_time"], c["co_due"]),
                         reporting_rate=rate(c["lead_assignments"] + c["co_assignments"] - c["unreported"],
                                             c["lead_assignments"] + c["co_assignments"]))
            return rows
        return self._cached("unit_table", (scope,), compute)

    def key_items(self, scope: Scope) -> list[dict]:
        """重点督办件 with their progress stage (交办 → 面商 → 答复 → 测评)."""
        def compute():
            p: dict = {}
            items = self._items(replace(scope, key_only=True), p, details=True)
            rows = self._q(f"""
                SELECT i.suggestion_id, i.session, i.year, i.number, i.title, i.category, i.key_leader,
                       i.key_committee, i.lead_units, i.co_units, i.assigned_date, i.deadline, i.status,
                       i.days_overdue, i.days_to_deadline, i.last_reply AS last_reply_date, i.result_class,
                       i.evaluation,
                       bool_and(COALESCE(a.face_to_face, false)) AS face_done
                FROM {items} i LEFT JOIN {self._assignments(replace(scope, key_only=True), p, lead=True)} a
                  ON a.suggestion_id = i.suggestion_id
                GROUP BY ALL ORDER BY i.key_leader NULLS LAST, i.year DESC, i.number""", p)
            for r in rows:
                stages = [("交办", r["assigned_date"] is not None), ("面商", bool(r["face_done"])),
                          ("答复", r["status"] == "已办结"), ("测评", r["evaluation"] is not None)]
                r["stages"] = [{"stage": s, "done": d} for s, d in stages]
                reached = [s for s, d in stages if d]
                r["stage"] = reached[-1] if reached else "待交办"
            return in_leader_order(rows, lambda r: r["key_leader"], self.settings.followup.leaders)
        return self._cached("key", (scope,), compute)

    def key_summary(self, scope: Scope) -> KeySummary:
        """key_items counted: in all, per 联系委室 (by name, unnamed as None) with its 督办领导, and
        the overdue items in key_items' order (see results.KeySummary)."""
        def compute():
            rows = self.key_items(scope)
            committees: dict[str | None, list[dict]] = {}
            for r in rows:
                committees.setdefault(r["key_committee"], []).append(r)

            def counted(items: list[dict], status: str) -> int:
                return sum(1 for r in items if r["status"] == status)
            return KeySummary(
                total=len(rows), completed=counted(rows, "已办结"), overdue=counted(rows, "逾期"),
                committees=tuple(CommitteeCount(name, len(items), counted(items, "已办结"), counted(items, "逾期"),
                                                tuple(sorted(dict.fromkeys(r["key_leader"] for r in items),
                                                             key=leader_key(self.settings.followup.leaders))))
                                 for name, items in committees.items()),
                overdue_items=tuple(r for r in rows if r["status"] == "逾期"))
        return self._cached("key_summary", (scope,), compute)

    def key_leaders(self, scope: Scope) -> list[dict]:
        """Per 督办领导 (None: not named, last): their key items' total, completed and overdue."""
        def compute():
            p: dict = {}
            counts = [c for c in COUNTS if c[0] in ("total", "completed", "overdue")]
            rows = self._q(f"""
                SELECT key_leader, {count_sql(counts)}
                FROM {self._items(replace(scope, key_only=True), p, details=True)}
                GROUP BY key_leader""", p)
            return in_leader_order(rows, lambda r: r["key_leader"], self.settings.followup.leaders)
        return self._cached("key_leaders", (scope,), compute)

    def unit_assignments(self, scope: Scope) -> list[dict]:
        """One row per assignment of the scope's unit (lead and co; all units without one)."""
        def compute():
            p: dict = {}
            return self._q(f"""
                SELECT suggestion_id, session, year, number, title, kind, category, unit, role, is_lead,
                       assigned_date, deadline, co_window_end, lead_units, co_units, status, completed, overdue,
                       due_soon, on_time, days_overdue, days_to_deadline, reply_date,
                       reply_date AS last_reply_date, result_class, face_to_face,
                       evaluation, evaluation_source, promise_text, promise_date, promise_kept, extension_date,
                       reported, last_report_date, is_key, key_leader
                FROM {self._assignments(scope, p, details=True)} ORDER BY session, number, unit""", p)
        return self._cached("unit_assignments", (scope,), compute)

    def reported_values(self, unit: str, year: int) -> dict[str, dict]:
        """What ``unit`` last reported for each of its assignments of ``year``, by suggestion_id: the
        facts in force after its newest report (a blank cell kept the earlier value), as the unit
        gave them, not judged as of any date. The template carries them back to the unit."""
        def compute():
            rows = self._q("""
                SELECT h.suggestion_id, h.status_text, h.reply_date, h.result_class, h.face_to_face, h.evaluation,
                       h.promise_text, h.promise_date, h.promise_kept, h.extension_date, h.contact_name,
                       h.contact_phone
                FROM handling_reports h JOIN suggestions s USING (suggestion_id)
                WHERE h.is_current AND h.unit = $unit AND s.year = $year""", {"unit": unit, "year": int(year)})
            return {r.pop("suggestion_id"): r for r in rows}
        return self._cached("reported_values", (unit, int(year)), compute)

    # -- deputies ---------------------------------------------------------------------------
    _COSIGNED = "list_contains(string_split(coalesce(cosigners, ''), '、'), $name)"

    def deputies(self) -> list[str]:
        """Every deputy the register names, as it spells them: lead deputies and co-signers
        (co-signers given only as a count name nobody)."""
        def compute():
            return [r["name"] for r in self._q("""
                SELECT DISTINCT trim(name) AS name FROM (
                    SELECT lead_deputy AS name FROM suggestions
                    UNION ALL SELECT unnest(string_split(cosigners, '、')) FROM suggestions)
                WHERE trim(coalesce(name, '')) <> '' ORDER BY name""")]
        return self._cached("deputies", (), compute, fact=True)

    def deputy_suggestion_ids(self, deputy: str) -> list[str]:
        """The suggestions ``deputy`` leads or co-signed, newest year first, then by number."""
        def compute():
            return [r["suggestion_id"] for r in self._q(f"""
                SELECT suggestion_id FROM suggestions
                WHERE lead_deputy = $name OR {self._COSIGNED}
                ORDER BY year DESC, session, number""", {"name": deputy})]
        return self._cached("deputy_suggestions", (deputy,), compute, fact=True)

    # -- one suggestion ---------------------------------------------------------------------
    def suggestion_detail(self, ref: str | tuple[str, int], as_of: date | None = None,
                          restrict_unit: str | None = None, include_contacts: bool = False) -> dict | None:
        """Register data, every assignment with its state and history (rows dated <= T), evaluations."""
        as_of = as_of or date.today()
        def compute():
            if isinstance(ref, tuple):
                found = self._q("SELECT suggestion_id FROM suggestions WHERE session = $s AND number = $n",
                                {"s": ref[0], "n": int(ref[1])})
                if not found:
                    return None
                sid = found[0]["suggestion_id"]
            else:
                sid = ref
            reg = self._q("SELECT * EXCLUDE (file_id, sheet, row_no) FROM suggestions WHERE suggestion_id = $id",
                          {"id": sid})
            if not reg:
                return None
            asg, sug = self._state(as_of, reg[0]["year"])
            p = {"id": sid}
            unit_cond = ""
            if restrict_unit:
                p["unit"] = restrict_unit
                unit_cond = "AND unit = $unit"
            assignments = self._q(f"""
                SELECT unit, role, is_lead, reported, last_report_date, reply_date, result_class, face_to_face,
                       evaluation, evaluation_date, evaluation_source, extension_date, promise_text,
                       promise_date, promise_kept, promise_kept_date, status, days_overdue, days_to_deadline,
                       co_window_end, report_id AS selected_report_id
                FROM {asg} WHERE suggestion_id = $id {unit_cond} ORDER BY NOT is_lead, unit""", p)
            if restrict_unit and not assignments:
                return None
            contacts = ", h.contact_name, h.contact_phone" if include_contacts else ""
            history = self._q(f"""
                SELECT h.unit, h.report_id, h.report_date, f.original_name AS file_name, h.sheet, h.row_no,
                       h.status_text, h.reply_date, h.result_class, h.face_to_face, h.evaluation,
                       h.evaluation_work, h.evaluation_date, h.promise_text, h.promise_date, h.promise_kept,
                       h.promise_kept_date, h.extension_date{contacts}
                FROM handling_reports h LEFT JOIN files f USING (file_id)
                WHERE h.suggestion_id = $id {unit_cond.replace('unit', 'h.unit', 1)}
                  AND (h.report_date <= $T OR h.report_id IN (SELECT report_id FROM {asg} WHERE suggestion_id = $id))
                ORDER BY h.unit, h.report_date DESC, h.report_id DESC""", {**p, "T": as_of})
            for a in assignments:
                a["history"] = [h for h in history if h["unit"] == a["unit"]]
                for h in a["history"]:
                    h["selected"] = h["report_id"] == a["selected_report_id"]
            evaluations = self._q(f"""
                SELECT e.unit, e.reply_satisfaction, e.implementation_satisfaction, e.evaluation_date,
                       f.original_name AS file_name
                FROM congress_evaluations e LEFT JOIN files f USING (file_id)
                WHERE e.suggestion_id = $id {unit_cond.replace('unit', 'e.unit', 1)}
                  AND COALESCE(e.evaluation_date, f.report_date, CAST(f.received_at AS DATE)) <= $T
                ORDER BY e.evaluation_date, e.unit""", {**p, "T": as_of})
            state = self._q(f"""SELECT deadline, base_deadline, extension_cap, status, completed, last_reply,
                                       result_class, evaluation, face, days_overdue, days_to_deadline
                                FROM {sug} WHERE suggestion_id = $id""", {"id": sid})
            return {"suggestion": reg[0], "as_of": as_of, "state": state[0] if state else None,
                    "assignments": assignments, "evaluations": evaluations}
        return self._cached("detail", (ref, as_of, restrict_unit, include_contacts), compute)

    # -- filters ----------------------------------------------------------------------------
    def available_filters(self, restrict_unit: str | None = None) -> dict:
        def compute():
            q = self._q
            facts = self._facts()
            units = [r["unit"] for r in q(f"SELECT unit FROM {facts}.assigned_units ORDER BY unit")]
            values = f"{facts}.scope_values"
            return {
                "years": [r["year"] for r in q(f"SELECT DISTINCT year FROM {values} ORDER BY year DESC")],
                "sessions": q(f"SELECT session, year FROM (SELECT DISTINCT session, year FROM {values}) "
                              "ORDER BY year DESC, session"),
                "kinds": [r["kind"] for r in q(f"SELECT DISTINCT kind FROM {values} WHERE kind IS NOT NULL "
                                               "ORDER BY kind")],
                "categories": [r["category"] for r in q(
                    f"SELECT category FROM {values} WHERE category IS NOT NULL GROUP BY 1 "
                    "ORDER BY sum(n) DESC, category")],
                "units": [restrict_unit] if restrict_unit else units,
                "date_range": q(f"SELECT (SELECT min(first_assigned) FROM {values}) AS first_assigned, "
                                f"(SELECT d FROM {facts}.last_report) AS last_report")[0],
            }
        return self._cached("filters", (restrict_unit,), compute, fact=True)

"""The state of every assignment and suggestion as of T, and the counts every figure is made of.

The SQL lives in named files under warehouse/sql/state/, each headed by the columns it makes
(like dbt's models): asg_raw → sug → asg, rehandle (重办), then the cubes; facts.sql holds the version's own
aggregates. This module renders them (settings and T become literals; nothing user-typed reaches
the SQL text) and builds them into a state file (warehouse.statefiles) — the indicator layer
(warehouse.indicators) reads those tables.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from importlib import resources

import duckdb

from duban.core.settings import Settings

CLASSES = ("A", "B", "C", "D")
# The ratings of a reply (docs/domain.md, the three ratings): result, work, implementation.
RATED = ("evaluation", "work_evaluation", "implementation_evaluation")

# ── the headline counts ───────────────────────────────────────────────────────────────────────
# Each count is a name and the condition an item must meet (None: every item). count_sql renders
# them as counts over state rows, or as sums of n over a state's cube, so the figures have one
# definition whichever they read.
COUNTS = (
    ("total", None),
    ("completed", "completed"),
    ("overdue", "overdue"),
    ("due_soon", "due_soon"),
    ("on_time", "on_time"),
    ("face", "completed AND face"),
    *((f"class_{k}", f"completed AND result_class = '{k}'") for k in CLASSES),
    ("evaluated", "completed AND evaluation IS NOT NULL"),
    ("eval_full", "completed AND evaluation = '满意'"),
    ("eval_basic", "completed AND evaluation = '基本满意'"),
    ("eval_un", "completed AND evaluation = '不满意'"),
    *(count for prefix, column in (("work", "work_evaluation"), ("impl", "implementation_evaluation"))
      for count in ((f"{prefix}_evaluated", f"completed AND {column} IS NOT NULL"),
                    (f"{prefix}_full", f"completed AND {column} = '满意'"),
                    (f"{prefix}_basic", f"completed AND {column} = '基本满意'"),
                    (f"{prefix}_un", f"completed AND {column} = '不满意'"))),
    ("key_total", "is_key"),
    ("key_completed", "is_key AND completed"),
    ("key_overdue", "is_key AND overdue"),
)
# Per unit (the unit table): its lead assignments, counted the same way.
LEAD_COUNTS = (("lead_assignments", None), *(c for c in COUNTS[1:] if not c[0].startswith("key_")))
# B promises, per lead row: due as of T (the state's promise_due), and kept by their date.
PROMISES = (("promise_due", "promise_due"), ("promise_kept", "promise_due AND promise_kept"),
            ("promise_kept_late", "promise_due AND promise_kept_late"),
            ("promise_broken", "promise_due AND NOT promise_kept AND NOT promise_kept_late"),
            ("promise_revised", "has_promise AND promise_revised"))
# Per unit besides its lead rows: co-handling (due, on time: judged on its own row) and reporting.
UNIT_COUNTS = (("co_assignments", "NOT is_lead"), ("co_due", "co_due"), ("co_on_time", "co_due AND co_on_time"),
               ("unreported", "NOT reported"))
# The cubes' columns: what a Scope filters on (Indicators._where), and what the conditions test.
SCOPE_COLUMNS = "year, session, kind, category, is_key"
SUG_FLAGS = "completed, overdue, due_soon, on_time, face, result_class, evaluation, work_evaluation, implementation_evaluation"
UNIT_FLAGS = "has_promise, promise_due, promise_kept, promise_kept_late, promise_revised, co_due, co_on_time, reported"


def count_sql(counts, cube: bool = False, only: str | None = None) -> str:
    """Select-list of ``counts`` over rows (count(*)) or over a cube (sum of n; 0 when none);
    ``only`` adds a condition to each (the unit table counts lead rows)."""
    out = []
    for name, condition in counts:
        where = " AND ".join(c for c in (only, condition) if c)
        where = f" FILTER (WHERE {where})" if where else ""
        out.append(f"CAST(COALESCE(sum(n){where}, 0) AS BIGINT) AS {name}" if cube else f"count(*){where} AS {name}")
    return ",\n       ".join(out)


def date_literal(day: date) -> str:
    """A date as a SQL literal (date objects only, so nothing user-typed reaches the SQL text)."""
    return f"DATE '{date.fromordinal(day.toordinal()).isoformat()}'"


# ── the SQL files ─────────────────────────────────────────────────────────────────────────────
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@cache
def _source(name: str) -> str:
    """The file without its comment lines (the header names placeholders, which are not filled there)."""
    text = resources.files("warehouse").joinpath("sql", "state", f"{name}.sql").read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def render(name: str, **values: object) -> str:
    """warehouse/sql/state/<name>.sql with its {placeholders} filled (every one must be given)."""
    def fill(match: re.Match) -> str:
        if match.group(1) not in values:
            raise KeyError(f"{name}.sql: no value for {{{match.group(1)}}}")
        return str(values[match.group(1)])
    return _PLACEHOLDER.sub(fill, _source(name))


def _status_columns(T: str, soon: int, done: str, reply: str, deadline: str) -> str:
    return render("status_columns", T=T, soon=soon, done=done, reply=reply, deadline=deadline)


def _deadline_rule(settings: Settings) -> tuple[str, str]:
    """(the rule's deadline, the date it starts from) as SQL over suggestions s and sessions se."""
    dl = settings.deadline
    month, day = (int(p) for p in dl.fixed_month_day.split("-"))
    if dl.rule == "from_session_close":
        start = "CASE WHEN s.kind = '大会建议' THEN COALESCE(se.closing_date, s.assigned_date) ELSE s.assigned_date END"
        return f"CAST({start} + INTERVAL {dl.months} MONTH AS DATE)", start
    if dl.rule == "fixed_date":
        return (f"CASE WHEN s.kind = '大会建议' THEN make_date(s.year, {month}, 1) + {day - 1} "
                f"ELSE CAST(s.assigned_date + INTERVAL {dl.months} MONTH AS DATE) END"), "s.assigned_date"
    return f"CAST(s.assigned_date + INTERVAL {dl.months} MONTH AS DATE)", "s.assigned_date"


def _worst_rating(column: str) -> str:
    """A suggestion's rating of ``column``: the worst of its leads' (不满意 < 基本满意 < 满意); a lead
    without one leaves it unrated."""
    return (f"CASE WHEN count({column}) = count(*) THEN ['不满意', '基本满意', '满意']["
            f"min(CASE {column} WHEN '不满意' THEN 0 WHEN '基本满意' THEN 1 WHEN '满意' THEN 2 END) + 1] "
            f"END AS {column}")


def sug_sql(T: str, settings: Settings) -> str:
    rule_deadline, start = _deadline_rule(settings)
    return render("sug", T=T, rule_deadline=rule_deadline, start=start,
                  **{f"worst_{c}": _worst_rating(c) for c in RATED},
                  max_extension_months=settings.deadline.max_extension_months,
                  status_columns=_status_columns(T, settings.deadline.due_soon_days, "completed", "last_reply", "deadline"))


def asg_sql(T: str, settings: Settings) -> str:
    return render("asg", T=T, co_handling_months=settings.deadline.co_handling_months,
                  status_columns=_status_columns(T, settings.deadline.due_soon_days, "done", "reply_date", "deadline"))


# ── building a state file ─────────────────────────────────────────────────────────────────────
_SHADOWED = ("suggestions", "assignments", "handling_reports", "congress_evaluations")


def build_state(cur: duckdb.DuckDBPyConnection, target: str, scratch: str, settings: Settings, T: date,
                year: int | None = None) -> None:
    """Creates ``target.asg``, ``target.sug`` and their cubes as of T (of one year's suggestions,
    or all). Sorted by year, then unit: a scope naming a unit or a session reads only its blocks
    (DuckDB's zone maps skip the rest)."""
    lit = date_literal(T)
    db = cur.execute("SELECT current_database()").fetchall()[0][0]
    # a version published before the register had 督办项目 (key_project) is read as naming none
    projectless = not cur.execute("SELECT 1 FROM duckdb_columns() WHERE database_name = current_database() "
                                  "AND table_name = 'suggestions' AND column_name = 'key_project'").fetchall()
    shadowed = year is not None or projectless
    if shadowed:  # the SQL reads these names unqualified: temp views shadow them
        cur.execute(f'CREATE TEMP VIEW suggestions AS SELECT *{", CAST(NULL AS VARCHAR) AS key_project" if projectless else ""} '
                    f'FROM "{db}".main.suggestions WHERE {"true" if year is None else f"year = {int(year)}"}')
        for table in _SHADOWED[1:]:
            cur.execute(f'CREATE TEMP VIEW {table} AS SELECT * FROM "{db}".main.{table} '
                        f"WHERE suggestion_id IN (SELECT suggestion_id FROM suggestions)")
    cur.execute(f"CREATE TABLE {scratch}.asg_raw AS {render('asg_raw', T=lit)}")
    cur.execute(f"CREATE TEMP VIEW _asg_raw AS SELECT * FROM {scratch}.asg_raw")  # the names the SQL uses
    cur.execute(f"CREATE TABLE {target}.sug AS {sug_sql(lit, settings)} ORDER BY year, kind, category, suggestion_id")
    cur.execute(f"CREATE TEMP VIEW _sug AS SELECT * FROM {target}.sug")
    cur.execute(f"CREATE TABLE {target}.asg AS {asg_sql(lit, settings)} ORDER BY year, unit, suggestion_id")
    cur.execute(f"CREATE TABLE {target}.rehandle AS "
                f"{render('rehandle', T=lit, rehandle_days=settings.followup.rehandle_days, sug=f'{target}.sug')} "
                "ORDER BY year, unit, suggestion_id")
    cur.execute(render("cubes", target=target, scope_columns=SCOPE_COLUMNS, sug_flags=SUG_FLAGS, unit_flags=UNIT_FLAGS,
                       headline_counts=count_sql(COUNTS, cube=True), promise_counts=count_sql(PROMISES)))
    for view in ("_sug", "_asg_raw", *(_SHADOWED if shadowed else ())):
        cur.execute(f"DROP VIEW {view}")


def build_facts(cur: duckdb.DuckDBPyConnection, target: str, _scratch: str) -> None:
    """The version's own aggregates (facts.sql): per file its rows' outcomes, per unit its reports
    and assignments, the scope values with their counts, the rejected rows, the last report."""
    cur.execute(render("facts", target=target))

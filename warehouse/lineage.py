"""Lineage: what a version was built from and what happened to it — refreshes, files and their
rows' outcomes, the units' reports, the refresh's differences and the units' contradicting reports.
A mixin of ``warehouse.indicators.Indicators`` (it reads through the indicator layer's cache and
facts file); pages and `duban etl status` read it there."""

from __future__ import annotations

from typing import Any, Callable


def _limit(n: int | None) -> str:
    return "" if n is None else f"LIMIT {int(n)}"


class Lineage:
    # Provided by Indicators: the process cache, a query, the version's facts schema.
    _cached: Callable[..., Any]
    _q: Callable[..., list[dict]]
    _facts: Callable[[], str]

    def data_status(self, restrict_unit: str | None = None, rejected_limit: int | None = None,
                    files_limit: int | None = None) -> dict:
        """Refreshes, files with their rows' outcomes (newest first; at most ``files_limit``),
        per-unit reports, and the rejected rows (newest file first; at most ``rejected_limit``);
        None: all. "files_count" and "rejected_count" count all."""
        def compute():
            p: dict = {}
            fcond = "true"
            if restrict_unit:
                p["unit"] = restrict_unit
                fcond = "sender_unit = $unit"
            refreshes = self._q("SELECT * FROM refreshes ORDER BY refresh_id DESC LIMIT 50")
            facts = self._facts()
            files = self._q(f"""
                SELECT f.file_id, f.original_name, f.kind, f.sender_unit, f.report_date, f.report_date_source,
                       f.received_at, f.status, f.reject_reason, f.rows_read,
                       COALESCE(o.rows_loaded, 0) AS rows_loaded, COALESCE(o.rows_superseded, 0) AS rows_superseded,
                       COALESCE(o.rows_rejected, 0) AS rows_rejected
                FROM files f LEFT JOIN {facts}.file_outcomes o USING (file_id)
                WHERE {fcond.replace('sender', 'f.sender')}
                ORDER BY f.received_at DESC, f.file_id DESC {_limit(files_limit)}""", p)
            files_count = self._q(f"SELECT count(*) AS n FROM files WHERE {fcond}", p)[0]["n"]
            rejected = self._q(f"""
                SELECT file_id, file_name, sheet, row_no, column_name, value, reason
                FROM {facts}.rejected_rows WHERE {fcond}
                ORDER BY received_at DESC, file_id, sheet, row_no {_limit(rejected_limit)}""", p)
            rejected_count = self._q(f"SELECT count(*) AS n FROM {facts}.rejected_rows WHERE {fcond}", p)[0]["n"]
            units = self._q(f"""
                SELECT unit, last_report_date, files, assignments FROM {facts}.unit_reports
                WHERE {fcond.replace('sender_unit', 'unit')}
                ORDER BY last_report_date NULLS FIRST, unit""", p)
            return {"refreshes": refreshes, "files": files, "files_count": files_count, "rejected_rows": rejected,
                    "rejected_count": rejected_count, "units": units}
        return self._cached("data_status", (restrict_unit, rejected_limit, files_limit), compute)

    def refresh_differences(self) -> list[dict]:
        """What the refresh that built this version changed against the version before it (lines in
        Chinese, etl/guard.py) and, if it was held and then accepted, why it had been held."""
        return self._cached("refresh_differences", (), lambda: self._q(
            "SELECT line, is_hold FROM refresh_differences ORDER BY position"), fact=True)

    def handling_changes(self, restrict_unit: str | None = None, limit: int | None = None) -> dict:
        """Where a unit's newer report contradicts what it reported before (handling_changes), the
        newest refresh first, then by unit and suggestion; each with the refresh that published it
        (the first whose version held its file: files are numbered in order of receipt and each
        refresh records how many it held — times can tie within a second) and the file, sheet and
        row that changed it.
        At most ``limit`` rows (None: all); "count" counts all."""
        def compute():
            p: dict = {"unit": restrict_unit} if restrict_unit else {}
            where = "WHERE c.unit = $unit" if restrict_unit else ""
            rows = self._q(f"""
                SELECT (SELECT min(r.refresh_id) FROM refreshes r WHERE r.files_total >= f.file_id) AS refresh_id,
                       c.unit, s.session, s.year, s.number, c.field, c.old_value, c.new_value, c.report_date,
                       f.original_name AS file_name, c.sheet, c.row_no
                FROM handling_changes c JOIN suggestions s USING (suggestion_id) JOIN files f ON f.file_id = c.file_id
                {where}
                ORDER BY refresh_id DESC NULLS LAST, c.unit, s.year, s.number, c.report_date, c.field
                {_limit(limit)}""", p)
            count = self._q(f"SELECT count(*) AS n FROM handling_changes c {where}", p)[0]["n"]
            return {"rows": rows, "count": count}
        return self._cached("handling_changes", (restrict_unit, limit), compute)

    def last_refreshed(self):
        """When the shown version was published (finished_at of its last refresh), or None."""
        return self._cached("last_refreshed", (), lambda: self._q(
            "SELECT max(finished_at) AS t FROM refreshes")[0]["t"], fact=True)

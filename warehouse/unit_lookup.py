"""Unit-name lookup: the place names a version compared unit spellings with, the spellings it could
not place, the body's own name, and any spelling of a unit → the warehouse's name. A mixin of
``warehouse.indicators.Indicators``."""

from __future__ import annotations

from typing import Any, Callable

import duckdb

from etl.normalise import unit_key
from etl.stage import unit_names_report


class UnitLookup:
    # Provided by Indicators: the version's connection, the process cache, a query.
    conn: duckdb.DuckDBPyConnection
    _cached: Callable[..., Any]
    _q: Callable[..., list[dict]]

    def place_names(self) -> list[str]:
        """The place prefixes this version compared unit spellings with (the setting, or inferred
        from the data at refresh time: etl/unitnames.py), longest first."""
        return self._cached("place_names", (), lambda: [
            r["name"] for r in self._q("SELECT name FROM place_names ORDER BY length(name) DESC, name")], fact=True)

    def unit_names(self) -> dict:
        """The place names this version inferred (or was given) and the unit spellings it could not
        place, with the rows they cost and their candidates (etl.stage.unit_names_report)."""
        return self._cached("unit_names", (), lambda: unit_names_report(self.conn), fact=True)

    def body_name(self) -> str:
        """The place whose congress this is, for titles and signatures (成都市 → 成都市人大常委会):
        the first of [etl] city_names when set, else the longest place inferred from the register's
        own unit names, else one inferred from the units' spellings; '' when the data names none."""
        def compute():
            rows = self._q("SELECT name FROM place_names ORDER BY found_in = '单位来文', "
                           "found_in <> '设置', length(name) DESC, name LIMIT 1")
            return rows[0]["name"] if rows else ""
        return self._cached("body_name", (), compute, fact=True)

    def canonical_unit(self, name: str) -> str:
        """The warehouse's name for ``name`` (a unit account's --unit, say): itself when it is a
        unit, else the unit of a known alias, else the one unit with the same normalised key
        (etl.normalise.unit_key); unchanged when none, or several, match."""
        def compute():
            units = self._q("SELECT unit, unit_key FROM units")
            if any(u["unit"] == name for u in units):
                return name
            aliased = self._q("SELECT DISTINCT unit FROM unit_aliases WHERE alias = $name", {"name": name})
            if len(aliased) == 1:
                return aliased[0]["unit"]
            key = unit_key(name, self.place_names())
            same = [u["unit"] for u in units if u["unit_key"] == key]
            return same[0] if len(same) == 1 else name
        return self._cached("canonical_unit", (name,), compute, fact=True)

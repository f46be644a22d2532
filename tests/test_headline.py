"""The headline counts of a scope without a unit are looked up in tables built with the state
(Indicators._headline: GROUP BY CUBE over the scope columns, from the suggestion cube). They must
equal the same counts taken over the scope's rows, for every combination of scope filters.
Sample: tests/browser/sample.py (2023 and 2024, both kinds, key items, several categories)."""

from __future__ import annotations

import itertools

import pytest

from duban.core.settings import load_settings
from tests.browser import sample
from warehouse.connection import WarehousePaths, open_readonly
from warehouse.indicators import Indicators, Scope
from warehouse.state import COUNTS, LEAD_COUNTS, PROMISES, UNIT_COUNTS, count_sql


@pytest.fixture(scope="module")
def ind(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("headline")
    conn = open_readonly(WarehousePaths(sample.build(tmp)).current_version())
    return Indicators(conn, load_settings(home=tmp))


def counted(ind: Indicators, scope: Scope, counts, relation) -> dict:
    p: dict = {}
    return ind._q(f"SELECT {count_sql(counts)} FROM {relation(scope, p)}", p)[0]


def scopes(ind: Indicators) -> list[Scope]:
    values = ind._q("SELECT DISTINCT year, session, kind, category FROM suggestions")
    pick = {col: [None, *sorted({r[col] for r in values if r[col] is not None})] for col in ("year", "session", "kind", "category")}
    return [Scope(year=y, session=s, kind=k, category=c, key_only=key, as_of=sample.AS_OF)
            for y, s, k, c, key in itertools.product(pick["year"], pick["session"][:3], pick["kind"], pick["category"][:3],
                                                     (False, True))]


def test_the_lookup_equals_counting_the_rows_for_every_filter_combination(ind):
    checked = 0
    for scope in scopes(ind):
        assert ind._headline(scope, "items")[0] == counted(ind, scope, COUNTS, ind._items), scope
        assert ind._headline(scope, "leads")[0] == counted(
            ind, scope, PROMISES, lambda s, p: ind._assignments(s, p, lead=True)), scope
        checked += 1
    assert checked >= 100  # the sample has enough values to make this a real sweep
    # some of them select nothing: every count is 0, not missing
    empty = Scope(year=2024, category="不存在的类别", as_of=sample.AS_OF)
    assert ind._headline(empty, "items")[0] == {name: 0 for name, _ in COUNTS}


def test_per_year_lookups_equal_each_years_counts(ind):
    for scope in (Scope(as_of=sample.AS_OF), Scope(kind="大会建议", as_of=sample.AS_OF), Scope(key_only=True, as_of=sample.AS_OF)):
        p: dict = {}
        expected = ind._q(f"SELECT year, {count_sql(COUNTS)} FROM {ind._items(scope, p)} GROUP BY year ORDER BY year", p)
        assert ind._headline(scope, "items", by_year=True) == expected
    assert [r["year"] for r in ind._headline(Scope(as_of=sample.AS_OF), "items", by_year=True)] == [2023, 2024]


def test_unit_scopes_count_their_rows_from_the_unit_cube(ind):
    for unit in ("市交通局", "市教育局", "市住建局"):
        for scope in (Scope(year=2024, unit=unit, as_of=sample.AS_OF), Scope(unit=unit, as_of=sample.AS_OF),
                      Scope(year=2024, unit=unit, key_only=True, as_of=sample.AS_OF)):
            leads = lambda s, p: ind._assignments(s, p, lead=True)  # noqa: E731
            assert ind._headline(scope, "items")[0] == counted(ind, scope, COUNTS, leads), scope
            assert ind._headline(scope, "leads")[0] == counted(ind, scope, PROMISES, leads), scope
            m = ind.metrics(scope)
            rows = counted(ind, scope, (("lead_assignments", "is_lead"), *UNIT_COUNTS), ind._assignments)
            assert {k: m[k] for k in rows} == rows, scope
    assert ind._headline(Scope(year=2024, unit="市交通局", as_of=sample.AS_OF), "items")[0]["total"] == 2  # nos. 3 and 4


def test_the_unit_table_from_its_cube_equals_counting_the_assignments(ind):
    """unit_table sums the state's unit cube; the same counts over the assignment rows per unit."""
    for scope in scopes(ind)[::7]:
        p: dict = {}
        expected = ind._q(f"""
            SELECT unit, {count_sql(LEAD_COUNTS + PROMISES, only="is_lead")}, {count_sql(UNIT_COUNTS)},
                   max(last_report_date) AS last_report_date
            FROM {ind._assignments(scope, p)} GROUP BY unit ORDER BY lead_assignments DESC, unit""", p)
        got = [{k: r[k] for k in expected[0]} for r in ind.unit_table(scope)] if expected else ind.unit_table(scope)
        assert got == expected, scope

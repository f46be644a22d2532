"""需关注 (Indicators.attention) counts and cuts its lists in SQL; it must say exactly what the full
lists say (the pages used to filter and count those in Python). Sample: tests/browser/sample.py."""

from __future__ import annotations

from collections import Counter

import pytest

from duban.core.settings import load_settings
from tests.browser import sample
from warehouse.connection import WarehousePaths, open_readonly
from warehouse.indicators import Indicators, Scope


@pytest.fixture(scope="module")
def ind(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("att")
    conn = open_readonly(WarehousePaths(sample.build(tmp)).current_version())
    return Indicators(conn, load_settings(home=tmp))


@pytest.mark.parametrize("scope", [Scope(year=2024, as_of=sample.AS_OF), Scope(as_of=sample.AS_OF),
                                   Scope(year=2024, as_of=sample.AS_OF, unit="市教育局"),
                                   Scope(year=2023, as_of=sample.AS_OF)], ids=["2024", "all", "unit", "2023"])
@pytest.mark.parametrize("limit", [1, 10])
def test_attention_matches_the_full_lists(ind, scope, limit):
    att = ind.attention(scope, limit)
    overdue_rows = [r for r in ind.overdue(scope) if r["status"] == "逾期"]
    overdue = sorted({r["suggestion_id"]: r for r in overdue_rows}.values(),
                     key=lambda r: (-r["days_overdue"], r["year"], r["session"], r["number"]))
    key_lagging = [r for r in ind.key_items(scope) if r["status"] in ("逾期", "临期")]
    unsatisfied = ind.unsatisfied(scope)
    by_unit = Counter(r["unit"] for r in overdue_rows)
    expected = {
        "overdue": (len(overdue), [r["suggestion_id"] for r in overdue[:limit]]),
        "key_lagging": (len(key_lagging), [r["suggestion_id"] for r in key_lagging[:limit]]),
        "unsatisfied": (len(unsatisfied), [r["suggestion_id"] for r in unsatisfied[:limit]]),
    }
    for part, (count, ids) in expected.items():
        assert (att[part]["count"], [r["suggestion_id"] for r in att[part]["rows"]]) == (count, ids), part
    assert att["overdue_units"]["count"] == len(overdue_rows)
    assert {r["unit"]: r["overdue"] for r in att["overdue_units"]["rows"]} == dict(
        sorted(by_unit.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])
    assert att["unreported"]["count"] == len(ind.unreported(scope))


def test_attention_on_the_worked_sample(ind):
    """2024 as of 06-30 (sample.py's table): nos. 4 and 6 overdue 29 days, no. 7 (key) due soon,
    no. 5 不满意, 市住建局 never reported no. 6."""
    att = ind.attention(Scope(year=2024, as_of=sample.AS_OF), 1)
    assert att["overdue"]["count"] == 2 and att["overdue"]["rows"][0]["number"] == 4
    assert att["overdue"]["rows"][0]["days_overdue"] == 29
    assert (att["key_lagging"]["count"], att["key_lagging"]["rows"][0]["number"]) == (1, 7)
    assert (att["unsatisfied"]["count"], att["unsatisfied"]["rows"][0]["number"]) == (1, 5)
    assert att["overdue_units"]["count"] == 2  # 市交通局 (no. 4) and 市住建局 (no. 6)
    assert att["overdue_units"]["rows"] == [{"unit": "市交通局", "overdue": 1, "assignment_times": 2}]


@pytest.mark.parametrize("scope", [Scope(year=2024, as_of=sample.AS_OF), Scope(as_of=sample.AS_OF),
                                   Scope(year=2024, as_of=sample.AS_OF, unit="市交通局")], ids=["2024", "all", "unit"])
def test_overdue_counts_and_first_rows_match_the_full_list(ind, scope):
    """逾期预警 charts from overdue_counts, its list from overdue_first: what overdue() says."""
    rows = ind.overdue(scope)
    assert ind.overdue_counts(scope) == sorted(
        ({"age_bucket": b, "unit": u, "status": s, "n": n}
         for (b, u, s), n in Counter((r["age_bucket"], r["unit"], r["status"]) for r in rows).items()),
        key=lambda c: (c["age_bucket"], c["unit"], c["status"]))
    for bucket in (None, *{r["age_bucket"] for r in rows}):
        for unit in (None, *{r["unit"] for r in rows}):
            expected = [r for r in rows if bucket in (None, r["age_bucket"]) and unit in (None, r["unit"])]
            for limit in (1, 100):
                assert ind.overdue_first(scope, limit, bucket, unit) == expected[:limit], (bucket, unit, limit)


@pytest.mark.parametrize("scope", [Scope(year=2024, as_of=sample.AS_OF), Scope(as_of=sample.AS_OF),
                                   Scope(year=2024, as_of=sample.AS_OF, unit="市交通局")], ids=["2024", "all", "unit"])
def test_overdue_summary_counts_what_the_full_list_says(ind, scope):
    """逾期预警's charts and headings and the 通报's 逾期 sentence (Indicators.overdue_summary): the
    rows of overdue() counted with each cross-filter; the last bucket is 逾期 over 90 days."""
    rows = ind.overdue(scope)
    buckets = ind.overdue_buckets()
    assert buckets[-1] == "逾期90天以上"
    for bucket in (None, *buckets):
        for unit in (None, *{r["unit"] for r in rows}):
            got = ind.overdue_summary(scope, bucket, unit)
            in_unit = [r for r in rows if unit in (None, r["unit"])]
            in_bucket = [r for r in rows if bucket in (None, r["age_bucket"])]
            both = [r for r in in_unit if r in in_bucket]
            assert [(b.bucket, b.count) for b in got.buckets] == [
                (b, sum(r["age_bucket"] == b for r in in_unit)) for b in buckets]
            per_unit = {u: (sum(r["status"] == "逾期" for r in in_bucket if r["unit"] == u),
                            sum(r["status"] == "临期" for r in in_bucket if r["unit"] == u))
                        for u in {r["unit"] for r in in_bucket}}
            assert [(u.unit, u.overdue, u.due_soon) for u in got.units] == sorted(
                ((u, o, d) for u, (o, d) in per_unit.items()), key=lambda t: (-t[1], -t[2], t[0]))
            assert [(u.unit, u.overdue) for u in got.units_by_overdue] == sorted(
                ((u, o) for u, (o, _) in per_unit.items() if o), key=lambda t: (-t[1], t[0]))
            late = [r for r in both if r["status"] == "逾期"]
            assert (got.overdue, got.due_soon, got.listed) == (len(late), len(both) - len(late), len(both))
            assert got.overdue_suggestions == len({r["suggestion_id"] for r in late})
            assert got.overdue_long == sum(r["days_overdue"] > 90 for r in late)


def test_key_summary_counts_the_key_items(ind):
    """重点督办 (page and 通报): key_items counted in all and per 联系委室, the overdue ones in order."""
    scope = Scope(as_of=sample.AS_OF)
    items = ind.key_items(scope)
    got = ind.key_summary(scope)
    assert (got.total, got.completed, got.overdue) == (
        len(items), sum(r["status"] == "已办结" for r in items), sum(r["status"] == "逾期" for r in items))
    assert [r["suggestion_id"] for r in got.overdue_items] == [r["suggestion_id"] for r in items if r["status"] == "逾期"]
    for c in got.committees:
        mine = [r for r in items if r["key_committee"] == c.committee]
        assert (c.total, c.completed, c.overdue, set(c.leaders)) == (
            len(mine), sum(r["status"] == "已办结" for r in mine), sum(r["status"] == "逾期" for r in mine),
            {r["key_leader"] for r in mine})
    assert sum(c.total for c in got.committees) == got.total > 0


def test_prefetch_fills_the_cache_with_what_the_calls_return(ind):
    """Indicators.prefetch (总览, 会议大屏): the results computed side by side are the ones the page's
    own calls then read from the cache; a call that fails is left for the page's own call."""
    from warehouse import cache

    scope = Scope(year=2024, as_of=sample.AS_OF)
    cache.clear()
    direct = {"metrics": ind.metrics(scope), "attention": ind.attention(scope, 3), "key_leaders": ind.key_leaders(scope)}
    cache.clear()
    ind.prefetch(("metrics", (scope,)), ("attention", (scope, 3)), ("key_leaders", (scope,)), ("no_such_figure", ()))
    for name, args in (("metrics", (scope,)), ("attention", (scope, 3)), ("key_leaders", (scope,))):
        assert (ind.version, ind._settings_key, name, args) in cache.RESULTS
    assert {"metrics": ind.metrics(scope), "attention": ind.attention(scope, 3), "key_leaders": ind.key_leaders(scope)} == direct

"""How rates, deltas and dates are shown (domain.md: 91.30%, "—" for a zero denominator)."""

from __future__ import annotations

from datetime import date, datetime

from duban.core.settings import load_settings
from tests.warehouse_builder import make_warehouse
from warehouse.connection import PublishedWarehouse
from warehouse.formatting import format_count_delta, format_date, format_delta, format_rate, format_rate_short
from warehouse.indicators import Indicators, Scope, rate


def test_format_rate():
    assert format_rate(21 / 23) == "91.30%"          # 0.913043… → 91.30
    assert format_rate(6 / 7) == "85.71%"            # 0.857142… → 85.71
    assert format_rate(0.0) == "0.00%" and format_rate(1.0) == "100.00%"
    assert format_rate(0.000125) == "0.01%"          # half up, not to even
    assert format_rate(None) == "—"
    assert format_rate_short(6 / 7) == "85.7%" and format_rate_short(None) == "—"


def test_rate_zero_denominator():
    assert rate(0, 0) is None and rate(3, None) is None and rate(0, 4) == 0.0 and rate(1, 4) == 0.25


def test_format_delta_and_date():
    assert format_delta(0.9, 0.877) == "+2.3个百分点"      # 90.0 − 87.7
    assert format_delta(0.5, 0.505) == "-0.5个百分点"
    assert format_delta(0.5, 0.5) == "持平"
    assert format_delta(None, 0.5) == "—" and format_delta(0.5, None) == "—"
    assert format_count_delta(12, 9) == "+3" and format_count_delta(9, 12) == "-3"
    assert format_count_delta(4, 4) == "持平" and format_count_delta(None, 4) == "—"
    assert format_date(date(2024, 6, 30)) == "2024-06-30"
    assert format_date(datetime(2024, 6, 30, 8, 0)) == "2024-06-30"
    assert format_date("2024-06-30", style="cn") == "2024年6月30日"
    assert format_date(None) == "—"


def test_builder_is_read_like_a_published_version(tmp_path):
    link = make_warehouse(tmp_path, suggestions=[{"number": 1, "assigned_date": "2024-03-01"}],
                          assignments=[{"number": 1, "unit": "甲局"}])
    pw = PublishedWarehouse(link)
    assert pw.version == "v000001.duckdb"
    ind = Indicators(pw.connection(), load_settings(home=tmp_path), version=pw.version)
    m = ind.metrics(Scope(as_of=date(2024, 6, 30)))
    assert (m["total"], m["overdue"], m["units"]) == (1, 1, 1)
    assert ind.last_refreshed() == datetime(2024, 7, 1, 8, 1)
    pw.close()

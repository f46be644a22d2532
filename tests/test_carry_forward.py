"""Silence erases nothing: a blank cell in a unit's newer report keeps what it reported before;
a newer non-blank value wins and, where it contradicts the older one, is listed. Hand-worked
on real files and real DuckDB versions."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from etl.pipeline import run_refresh
from tests.test_pipeline import EXPORT_HEADER, all_tables, query, register_rows, settings, write_csv  # noqa: F401
from warehouse.connection import WarehousePaths
from warehouse.indicators import Indicators, Scope

EDU = "市教育局"


def metrics(warehouse, settings, **scope) -> dict:
    with duckdb.connect(str(WarehousePaths(warehouse).current_version()), read_only=True) as con:
        m = Indicators(con, settings).metrics(Scope(**scope))
    return {k: m[k] for k in ("total", "completed", "overdue", "evaluated", "face_count", "class_counts")}


@pytest.fixture
def two_reports(tmp_path):
    """市教育局 reports twice: first replies to both its items, then sends a report that leaves
    #1 blank and changes #3's reply date and class."""
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    write_csv(inbox / "市教育局_2024-05-15.csv", [
        EXPORT_HEADER + ["办理状态"],
        [1, "主办", "2024-05-10", "A", "是", "满意", "已办结"],
        [3, "分办", "2024-05-11", "B", "否", "基本满意", "已办结"]])
    write_csv(inbox / "市教育局_2024-06-30.csv", [
        EXPORT_HEADER + ["办理状态"],
        [1, "主办", "", "", "", "", "办理中"],
        [3, "分办", "2024-05-13", "A", "", "", ""]])
    return inbox


def test_a_blank_cell_keeps_what_the_unit_reported_before(tmp_path, settings, two_reports):
    warehouse = tmp_path / "duban.duckdb"
    run_refresh(warehouse, settings, inbox=two_reports)

    current = query(warehouse, "SELECT suggestion_id, reply_date::VARCHAR, result_class, face_to_face, evaluation, "
                               "reported.reply_date::VARCHAR FROM handling_reports WHERE is_current ORDER BY 1")
    # #1: the newer row is blank: everything reported on 05-15 stands (the file's own blank kept for lineage)
    # #3: the newer reply date and class win; 面商 and evaluation stand
    assert current == [("十八届一次-1", "2024-05-10", "A", True, "满意", None),
                       ("十八届一次-3", "2024-05-13", "A", False, "基本满意", "2024-05-13")]
    unit = metrics(warehouse, settings, year=2024, unit=EDU, as_of=date(2024, 7, 1))
    assert unit == {"total": 2, "completed": 2, "overdue": 0, "evaluated": 2, "face_count": 1,
                    "class_counts": {"A": 2, "B": 0, "C": 0, "D": 0}}
    # as of a date between the two reports, the first report's values
    before = metrics(warehouse, settings, year=2024, unit=EDU, as_of=date(2024, 6, 1))
    assert before["class_counts"] == {"A": 1, "B": 1, "C": 0, "D": 0}


def test_contradictions_load_and_are_listed(tmp_path, settings, two_reports):
    warehouse = tmp_path / "duban.duckdb"
    run_refresh(warehouse, settings, inbox=two_reports)
    changes = query(warehouse, "SELECT suggestion_id, unit, field, old_value, new_value, report_date::VARCHAR, row_no "
                               "FROM handling_changes ORDER BY ALL")
    assert changes == [
        ("十八届一次-1", EDU, "办理状态", "已办结", "办理中", "2024-06-30", 2),  # a status moved back
        ("十八届一次-3", EDU, "办理结果", "B", "A", "2024-06-30", 3),
        ("十八届一次-3", EDU, "答复日期", "2024-05-11", "2024-05-13", "2024-06-30", 3),
    ]


def test_an_older_report_arriving_later_fills_the_newer_ones_gaps_as_a_full_build_does(tmp_path, settings):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    write_csv(inbox / "市教育局_2024-06-30.csv", [EXPORT_HEADER, [1, "主办", "", "", "是", ""]])
    warehouse = tmp_path / "duban.duckdb"
    run_refresh(warehouse, settings, inbox=inbox)
    late = tmp_path / "late"
    write_csv(late / "市教育局_2024-05-15.csv", [EXPORT_HEADER, [1, "主办", "2024-05-10", "A", "否", "满意"]])
    run_refresh(warehouse, settings, inbox=late)  # extends the published version

    current = query(warehouse, "SELECT reply_date::VARCHAR, result_class, face_to_face FROM handling_reports "
                               "WHERE is_current")
    assert current == [("2024-05-10", "A", True)]
    assert query(warehouse, "SELECT field, old_value, new_value FROM handling_changes") == [("是否面商", "否", "是")]
    incremental = all_tables(warehouse)
    run_refresh(warehouse, settings, rebuild=True)
    assert all_tables(warehouse) == incremental


def test_dates_after_today_are_rejected_with_the_reason(tmp_path, settings):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    write_csv(inbox / "市教育局_2024-06-30.csv", [EXPORT_HEADER, [1, "主办", "2099-01-01", "A", "是", "满意"],
                                                  [3, "分办", "2024-05-10", "A", "是", "满意"]])
    write_csv(inbox / "市交通运输局_2099-01-01.csv", [EXPORT_HEADER, [2, "主办", "2024-05-10", "A", "是", "满意"]])
    warehouse = tmp_path / "duban.duckdb"
    run_refresh(warehouse, settings, inbox=inbox)
    rejected = query(warehouse, "SELECT reason FROM row_outcomes WHERE outcome = 'rejected' ORDER BY reason")
    assert rejected == [("第2行 文件的填报日期 \"2099-01-01\" 晚于今天, 本文件不载入 (请改正填报日期后重新报送)",),
                        ("第2行 答复日期 \"2099-01-01\" 晚于今天",)]
    assert query(warehouse, "SELECT suggestion_id FROM handling_reports") == [("十八届一次-3",)]

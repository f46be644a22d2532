"""Each refresh says what changed against the published version, in the indicator layer's
figures, and a refresh whose figures drop (or a unit's rows are mostly rejected) is held until
accepted. Real files, real versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from duban.core.settings import SettingsError, load_settings

from etl import guard
from etl.archive import Archive
from etl.pipeline import RefreshHeld, run_refresh
from tests.test_pipeline import EXPORT_HEADER, query, register_rows, settings, write_csv  # noqa: F401
from warehouse.connection import WarehousePaths
from warehouse.indicators import version_figures

LIMITS = guard.thresholds(load_settings(home=Path("/nonexistent")))  # the shipped defaults


def year(suggestions, completed, overdue=0, evaluated=0):
    return {"suggestions": suggestions, "completed": completed, "overdue": overdue, "evaluated": evaluated}


def unit(completed, loaded, rejected=0):
    return {"completed": completed, "overdue": 0, "evaluated": 0, "rows_loaded": loaded, "rows_rejected": rejected}


def test_the_differences_in_chinese_and_what_holds():
    before = {"years": {2026: year(200, 30)}, "units": {"市教育局": unit(18, 24), "市财政局": unit(12, 10)}}
    after = {"years": {2026: year(200, 42)}, "units": {"市教育局": unit(1, 24), "市财政局": unit(41, 10)}}
    review = guard.review(before, after, LIMITS)
    assert review.summary() == ("与上一版本相比: 办结 +12; 2026年 办结 30 → 42; 市教育局 已办结 18 → 1; "
                                "市财政局 已办结 12 → 41")
    assert review.held == ["市教育局 已办结 18 → 1"]
    # a small move is no reason to hold: 2 items of 30, 2 of 18, 1 of 12
    small = {"years": {2026: year(200, 28)}, "units": {"市教育局": unit(16, 24), "市财政局": unit(11, 10)}}
    assert guard.review(before, small, LIMITS).held == []
    gone = {"years": {}, "units": before["units"]}
    assert guard.review(before, gone, LIMITS).held == ["2026年的 200 件建议全部不见了 (交办台账是否缺失?)",
                                                       "2026年 办结 30 → 0"]
    rejected = {**before, "units": {**before["units"], "市财政局": unit(12, 10, rejected=8)}}
    assert guard.review(before, rejected, LIMITS).held == ["市财政局 的行大多被拒收 (此前载入 10 行, 本次新增拒收 8 行)"]


def test_a_bad_file_is_held_then_accepted_and_a_rebuild_without_the_register_is_held(tmp_path, settings):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    write_csv(inbox / "市交通运输局_2024-05-15.csv", [EXPORT_HEADER, [2, "主办", "2024-05-10", "A", "是", "满意"],
                                                       [3, "分办", "2024-05-10", "A", "是", "满意"]])
    warehouse = tmp_path / "duban.duckdb"
    compare = lambda path: version_figures(path, settings)  # noqa: E731 - what the CLI passes
    first = run_refresh(warehouse, settings, inbox=inbox, compare=compare)

    bad = tmp_path / "bad"
    write_csv(bad / "市交通运输局_2024-06-30.csv", [EXPORT_HEADER, [7, "主办", "2024-06-10", "A", "是", "满意"],
                                                     [8, "主办", "2024-06-10", "A", "是", "满意"],
                                                     [9, "主办", "2024-06-10", "A", "是", "满意"]])
    printed: list[str] = []
    with pytest.raises(RefreshHeld) as held:
        run_refresh(warehouse, settings, inbox=bad, compare=compare, progress=printed.append)
    assert str(held.value).startswith("暂缓发布: 市交通运输局 的行大多被拒收 (此前载入 2 行, 本次新增拒收 3 行)")
    assert "与上一版本相比: 市交通运输局 拒收行 0 → 3" in printed
    assert WarehousePaths(warehouse).current_version() == first.version  # not published
    assert not list(WarehousePaths(warehouse).versions.glob(".building-*"))  # nor the check's derived files kept
    log = Archive(WarehousePaths(warehouse).archive).refresh_log()[-1]
    assert log["status"] == "暂缓发布" and log["held"] == held.value.review.held

    accepted = run_refresh(warehouse, settings, compare=compare, accept=True)
    assert WarehousePaths(warehouse).current_version() == accepted.version != first.version
    assert query(warehouse, "SELECT line FROM refresh_differences WHERE is_hold") == [
        ("市交通运输局 的行大多被拒收 (此前载入 2 行, 本次新增拒收 3 行)",)]

    archive = Archive(WarehousePaths(warehouse).archive)
    register = next(e for e in archive.manifest().values() if e.original_name == "台账.csv")
    archive.path_of(register.sha256).unlink()  # the register lost from the archive
    with pytest.raises(RefreshHeld, match="2024年的 3 件建议全部不见了"):
        run_refresh(warehouse, settings, rebuild=True, compare=compare)
    assert WarehousePaths(warehouse).current_version() == accepted.version


def test_a_units_one_bad_file_among_many_good_rows_is_held(tmp_path, settings):
    """The demo's case: a unit with rows loaded before sends a file whose numbers do not exist:
    not many against all it loaded (1 of 2, the unit-wide rule holds beyond half), but all of the
    new file."""
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    write_csv(inbox / "市交通运输局_2024-05-15.csv", [EXPORT_HEADER, [2, "主办", None, None, None, None],
                                                       [3, "分办", None, None, None, None]])
    warehouse = tmp_path / "duban.duckdb"
    compare = lambda path: version_figures(path, settings)  # noqa: E731 - what the CLI passes
    first = run_refresh(warehouse, settings, inbox=inbox, compare=compare)
    bad = tmp_path / "bad"
    write_csv(bad / "市交通运输局_2024-06-30.csv", [EXPORT_HEADER, [7, "主办", "2024-06-10", "A", "是", "满意"]])
    with pytest.raises(RefreshHeld) as held:
        run_refresh(warehouse, settings, inbox=bad, compare=compare)
    assert held.value.review.held == ["市交通运输局 新报的《市交通运输局_2024-06-30.csv》1/1 行被拒收 (此前已载入 2 行)"]
    assert WarehousePaths(warehouse).current_version() == first.version


def test_a_first_refresh_says_so_and_long_lists_are_shortened():
    assert guard.review(None, {"years": {}, "units": {}}, LIMITS).summary() == "首次发布: 没有可比较的上一版本"
    many = guard.Review(held=[f"市{i}局 已办结 9 → 0" for i in range(10)])
    assert many.reason().count("已办结") == guard.LINES_SHOWN and "… 另有 2 项 (全部见数据状态)" in many.reason()


def test_the_thresholds_are_validated_settings(tmp_path):
    strict = guard.thresholds(load_settings(home=tmp_path, override={"etl": {"hold_drop_items": 1, "hold_drop_percent": 0}}))
    assert strict == {"hold_drop_items": 1, "hold_drop_percent": 0.0, "hold_unit_rejected_share": 0.5}
    before = {"years": {2026: year(200, 30)}, "units": {}}
    assert guard.review(before, {"years": {2026: year(200, 29)}, "units": {}}, strict).held == ["2026年 办结 30 → 29"]
    with pytest.raises(SettingsError, match=r"\[etl\] hold_unit_rejected_share 应为 0 到 1"):
        load_settings(home=tmp_path, override={"etl": {"hold_unit_rejected_share": 2}})


def test_the_schedule_is_guarded_never_accepts_and_goes_on(tmp_path, settings, capsys):
    from duban.cli import main
    from etl.schedule import run_schedule

    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    write_csv(inbox / "市交通运输局_2024-05-15.csv", [EXPORT_HEADER, [2, "主办", "2024-05-10", "A", "是", "满意"],
                                                       [3, "分办", "2024-05-10", "A", "是", "满意"]])
    warehouse = tmp_path / "duban.duckdb"
    compare = lambda path: version_figures(path, settings)  # noqa: E731 - what the CLI passes
    first = run_refresh(warehouse, settings, inbox=inbox, compare=compare)
    write_csv(inbox / "市交通运输局_2024-06-30.csv", [EXPORT_HEADER, *[[n, "主办", "2024-06-10", "A", "是", "满意"]
                                                                    for n in (7, 8, 9)]])
    logged: list[str] = []
    runs = run_schedule(warehouse, inbox, settings, every="1h", max_runs=2, log=logged.append,
                        sleep=lambda _seconds: None, compare=compare)
    assert runs == 2  # held twice, and the schedule went on
    held = [line for line in logged if line.startswith("本次刷新未发布, 上一版本保持不变. 暂缓发布: 市交通运输局 的行大多被拒收")]
    assert len(held) == 2
    assert WarehousePaths(warehouse).current_version() == first.version
    # the command passes the guard too (and has no way to accept)
    assert main(["etl", "schedule", "--inbox", str(inbox), "--warehouse", str(warehouse), "--every", "1h",
                 "--max-runs", "1"]) == 0
    assert "暂缓发布" in capsys.readouterr().err
    statuses = [entry["status"] for entry in Archive(WarehousePaths(warehouse).archive).refresh_log()]
    assert statuses == ["成功", "暂缓发布", "暂缓发布", "暂缓发布"]
    assert WarehousePaths(warehouse).current_version() == first.version


def test_the_checks_state_files_are_the_published_versions_and_give_its_figures(tmp_path, settings, monkeypatch):
    """The figures check builds the state of all years as of today and the facts for the build; they
    follow it when it is published (renamed, refresh_differences written since), so its preparation
    builds neither again, and they give the figures a fresh build of them gives."""
    from warehouse import cache, indicators, statefiles
    from warehouse.indicators import prepare_version

    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账2023.csv", register_rows("十七届五次", 2023))
    write_csv(inbox / "台账2024.csv", register_rows("十八届一次", 2024))
    write_csv(inbox / "2024年市交通运输局办理情况_2024-05-15.csv", [EXPORT_HEADER, [2, "主办", "2024-05-10", "A", "是", "满意"]])
    warehouse = tmp_path / "duban.duckdb"
    checked: dict = {}
    compare = lambda path: checked.setdefault(path.name, version_figures(path, settings))  # noqa: E731
    prepare = lambda path: prepare_version(path, settings)  # noqa: E731 - what the CLI passes
    run_refresh(warehouse, settings, inbox=inbox, compare=compare, after_publish=prepare)

    built: list = []
    real_state, real_facts = indicators.build_state, indicators.build_facts
    monkeypatch.setattr(indicators, "build_state", lambda cur, target, scratch, settings, as_of, year=None: (
        built.append(("state", year)), real_state(cur, target, scratch, settings, as_of, year)))
    monkeypatch.setattr(indicators, "build_facts", lambda cur, target, scratch: (
        built.append(("facts", None)), real_facts(cur, target, scratch)))
    prepared: list = []
    write_csv(tmp_path / "new" / "2024年市教育局办理情况_2024-06-30.csv", [EXPORT_HEADER, [1, "主办", "2024-06-10", "A", "是", "满意"]])
    checked.clear()
    report = run_refresh(warehouse, settings, inbox=tmp_path / "new", compare=compare,
                         after_publish=lambda path: (prepared.extend(built), prepare(path))[1])
    assert prepared == [("state", None), ("facts", None)]  # the check: the build's; the published version's were prepared
    assert ("state", None) not in built[2:] and ("facts", None) not in built[2:]  # prepared: each year's only
    assert not list(report.version.parent.glob(".building-*"))

    [after] = [figures for name, figures in checked.items() if name.startswith(".building-")]
    assert after["years"][2024]["completed"] == 2
    cache.clear()
    statefiles.remove(report.version)
    assert version_figures(report.version, settings) == after


def test_the_figures_of_a_year_are_its_own_states(tmp_path, settings):
    """version_figures reads each year from the state of all years: the figures of that year's own."""
    from datetime import date

    from warehouse.connection import open_readonly
    from warehouse.indicators import Indicators, Scope

    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账2023.csv", register_rows("十七届五次", 2023))
    write_csv(inbox / "台账2024.csv", register_rows("十八届一次", 2024))
    write_csv(inbox / "2024年市交通运输局办理情况_2024-06-30.csv", [EXPORT_HEADER, [2, "主办", "2024-06-10", "A", "是", "满意"]])
    version = run_refresh(tmp_path / "duban.duckdb", settings, inbox=inbox).version
    figures = version_figures(version, settings)
    ind = Indicators(open_readonly(version).cursor(), settings, version=str(version))
    years = {}
    for y in ind.available_filters()["years"]:
        m = ind.metrics(Scope(year=y, as_of=date.today()))
        years[y] = {"suggestions": m["total"], "completed": m["completed"], "overdue": m["overdue"],
                    "evaluated": m["evaluated"]}
    assert figures["years"] == years and set(years) == {2023, 2024} and years[2024]["completed"] == 1

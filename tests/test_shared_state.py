"""The state as of T is built once per (version, settings, T) into a file beside the version and
shared by every process that reads it (warehouse.statefiles): two connections standing in for two
serve workers must give the same figures from one build, and the build must never be repeated."""

from __future__ import annotations

import shutil
import threading
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from duban.core.settings import load_settings
from tests.browser import sample
from warehouse import cache, indicators, statefiles
from warehouse import connection
from warehouse.connection import PublishedWarehouse, WarehousePaths, open_readonly
from etl.publish import new_build_path, publish
from warehouse.indicators import Indicators, Scope, prepare_version

T = sample.AS_OF


@pytest.fixture()
def version(tmp_path):
    return WarehousePaths(sample.build(tmp_path)).current_version()


def _indicators(version, tmp_path, memory_mb=None) -> Indicators:
    cache.clear()  # a new process: nothing cached in memory
    return Indicators(open_readonly(version, memory_mb).cursor(), load_settings(home=tmp_path), version=str(version))


def _count_builds(monkeypatch) -> list:
    builds: list = []
    real = indicators.build_state  # warehouse.state's, as the indicator layer calls it

    def counting(cur, target, scratch, settings, as_of, year=None):
        builds.append(as_of)
        real(cur, target, scratch, settings, as_of, year)
    monkeypatch.setattr(indicators, "build_state", counting)
    return builds


def test_second_process_attaches_the_first_ones_state_without_building(version, tmp_path, monkeypatch):
    builds = _count_builds(monkeypatch)
    first = _indicators(version, tmp_path).metrics(Scope(year=2024, as_of=T))
    files = sorted(p.name for p in (version.parent / f"{version.name}.cache").glob("st_*.duckdb"))
    assert builds == [T] and len(files) == 1
    second = _indicators(version, tmp_path, memory_mb=64).metrics(Scope(year=2024, as_of=T))
    assert builds == [T]  # attached, not rebuilt
    assert second == first and first["total"] == 7


def test_each_as_of_date_has_its_own_state(version, tmp_path, monkeypatch):
    builds = _count_builds(monkeypatch)
    ind = _indicators(version, tmp_path)
    later = ind.metrics(Scope(year=2024, as_of=T))
    earlier = ind.metrics(Scope(year=2024, as_of=date(2024, 3, 1)))
    assert builds == [T, date(2024, 3, 1)]
    assert earlier["completed"] < later["completed"]


def test_concurrent_first_requests_build_once(version, tmp_path, monkeypatch):
    builds = _count_builds(monkeypatch)
    cache.clear()
    settings = load_settings(home=tmp_path)
    workers = [open_readonly(version) for _ in range(3)]  # three "processes"
    results: list = []

    def ask(conn):
        results.append(Indicators(conn.cursor(), settings, version=str(version)).metrics(Scope(as_of=T))["total"])
    threads = [threading.Thread(target=ask, args=(c,)) for c in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert builds == [T] and len(set(results)) == 1 and len(results) == 3


def test_a_years_own_state_gives_the_figures_of_the_whole_state(version, tmp_path):
    """Scope by session (the whole state) and by its year (that year's state): the same suggestions."""
    ind = _indicators(version, tmp_path)
    by_year = ind.metrics(Scope(year=2024, as_of=T))
    by_session = ind.metrics(Scope(session=sample.SESSION, as_of=T))
    assert ind._state(T, 2024) != ind._state(T)
    for key in ("total", "completed", "overdue", "due_soon", "on_time", "class_counts", "satisfaction",
                "promise_due", "promise_kept", "by_category", "key_supervised"):
        assert by_year[key] == by_session[key], key


def test_old_state_files_are_pruned_and_removed_with_their_version(version, tmp_path, monkeypatch):
    monkeypatch.setattr(statefiles, "KEEP", 2)
    ind = _indicators(version, tmp_path)
    for day in (1, 2, 3, 4):
        ind.metrics(Scope(as_of=date(2024, 6, day)))
    folder = version.parent / f"{version.name}.cache"
    assert len(list(folder.glob("st_*.duckdb"))) == 2
    statefiles.remove(version)
    assert not folder.exists()


def test_a_refresh_prepares_todays_state_so_no_request_builds_it(version, tmp_path, monkeypatch):
    prepare_version(version, load_settings(home=tmp_path), as_of=T)  # what run_refresh does after publishing
    builds = _count_builds(monkeypatch)
    ind = _indicators(version, tmp_path)
    ind.yoy(Scope(as_of=T))  # the state for T and for its 同比 date
    ind.yoy(Scope(year=2023, as_of=T))  # any year a filter picks
    ind.trends(Scope(as_of=T))  # all years
    ind.available_filters()
    assert builds == []


def test_a_worker_warming_up_waits_while_the_refresh_prepares(version):
    order: list[str] = []
    with statefiles.preparing(version.parent):
        waiter = threading.Thread(target=lambda: (statefiles.wait_prepared(version.parent), order.append("worker")))
        waiter.start()
        waiter.join(0.3)
        order.append("refresh done")
    waiter.join(5)
    assert order == ["refresh done", "worker"]


def test_publishing_prunes_old_versions_with_their_derived_files(tmp_path):
    paths = WarehousePaths(sample.build(tmp_path))
    first = paths.current_version()
    _indicators(first, tmp_path).metrics(Scope(as_of=T))
    assert Path(f"{first}.cache").is_dir()
    for _ in range(2):
        building = new_build_path(paths)
        shutil.copy(paths.current_version(), building)
        publish(paths, building, keep_versions=1)
    assert not first.exists() and not Path(f"{first}.cache").exists()


def test_a_retired_version_connection_is_closed_after_its_grace(tmp_path, monkeypatch):
    """Each connection has its own buffer pool: an old version's must not stay open for good."""
    paths = WarehousePaths(sample.build(tmp_path))
    pw = PublishedWarehouse(paths.link)
    old_version, old_cursor = pw.snapshot()
    building = new_build_path(paths)
    shutil.copy(paths.current_version(), building)
    publish(paths, building, keep_versions=3)
    new_version, _ = pw.snapshot()
    assert new_version != old_version
    assert old_cursor.execute("SELECT 1").fetchall() == [(1,)]  # in-flight requests still finish
    monkeypatch.setattr(connection, "RETIRE_AFTER_SECONDS", 0)
    pw.snapshot()
    with pytest.raises(duckdb.ConnectionException):
        old_cursor.execute("SELECT 1")


def test_two_open_versions_share_one_memory_budget(tmp_path):
    """A worker warming a new version, or finishing requests on a retired one, has two versions
    open: together they stay near its [serve] query_memory_mb, not twice it."""
    paths = WarehousePaths(sample.build(tmp_path))
    warmed = []

    def limit(cursor) -> str:
        return cursor.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]

    pw = PublishedWarehouse(paths.link, prepare=lambda version, cursor: warmed.append(limit(cursor)), memory_mb=200)
    _, old_cursor = pw.snapshot()
    assert limit(old_cursor) == "190.7 MiB"
    building = new_build_path(paths)
    shutil.copy(paths.current_version(), building)
    publish(paths, building, keep_versions=3)
    pw.snapshot()  # sees the new version: warms it in the background, serves the old one meanwhile
    for _ in range(200):
        if pw._preparing is None and warmed:
            break
        time.sleep(0.05)
    _, new_cursor = pw.snapshot()
    assert warmed == ["95.3 MiB"]  # half while the current version still serves
    assert limit(new_cursor) == "190.7 MiB"  # the whole once it serves
    assert limit(old_cursor) == "47.6 MiB"  # a quarter to finish its requests
    pw.close()


def test_query_memory_is_bounded_and_a_build_does_not_change_it(version, tmp_path):
    conn = open_readonly(version, memory_mb=100)
    Indicators(conn.cursor(), load_settings(home=tmp_path), version=str(version)).metrics(Scope(as_of=T))
    assert conn.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == "95.3 MiB"


def test_the_dashboard_queries_with_the_configured_memory_and_threads(version, tmp_path):
    """[serve] query_memory_mb and query_threads reach the serve workers' DuckDB connection."""
    from dashboard.app import create_app

    link = version.parent.parent / version.parent.name.removesuffix(".versions")
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "settings.toml").write_text("[serve]\nquery_memory_mb = 100\nquery_threads = 3\n", encoding="utf-8")
    board = create_app(link, home=tmp_path / "home", auth=False).duban
    _, cur = board.pw.snapshot()
    assert cur.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchall()[0] == ("95.3 MiB", 3)
    assert load_settings(home=tmp_path / "none").query_threads == 1  # the default: small queries run fastest on one thread
    board.pw.close()


def test_a_state_build_is_stopped_after_its_time_limit_and_builds_run_one_at_a_time(tmp_path, monkeypatch):
    import time

    db = str(tmp_path / "v.duckdb")
    duckdb.connect(db).close()
    conn = duckdb.connect(db, read_only=True)
    monkeypatch.setattr(statefiles, "BUILD_SECONDS", 0.3)
    endless = lambda cur, target, _scratch: cur.execute(  # noqa: E731
        f"CREATE TABLE {target}.t AS SELECT count(*) FROM range(100000000000)")
    with pytest.raises(statefiles.StateBuildTimeout, match="计算看板数据超过 0.3 秒, 已停止; 请稍后再试"):
        statefiles.attach(conn, "st_endless", db, endless)
    assert not list((tmp_path / "v.duckdb.cache").glob("st_*.duckdb*"))  # nothing half-built kept

    running, most = [0], [0]

    def counted(cur, target, _scratch):
        running[0] += 1
        most[0] = max(most[0], running[0])
        time.sleep(0.05)
        cur.execute(f"CREATE TABLE {target}.t AS SELECT 1 AS one")
        running[0] -= 1
    builders = [threading.Thread(target=statefiles.attach, args=(conn.cursor(), f"st_b{i}", db, counted)) for i in range(4)]
    for thread in builders:
        thread.start()
    for thread in builders:
        thread.join()
    assert most[0] == 1 and len(statefiles.attached_states(conn)) == 4

"""The refresh end to end: inbox → archive → parse → build → atomic publish, on real files and
real DuckDB files. Every row ends loaded, superseded or rejected, with the counts adding up."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from duban.core.settings import load_settings
from etl import pipeline
from etl.pipeline import RefreshFailed, run_refresh
from etl.parse import ParsePool
from tests.faults import BEFORE_PUBLISH_ENV
from etl.publish import rollback
from warehouse.connection import WarehousePaths

REGISTER_HEADER = ["建议编号", "届次", "年度", "类型", "标题", "领衔代表", "类别", "交办日期", "办理期限",
                   "主办单位", "协办单位", "是否重点督办"]
EXPORT_HEADER = ["建议编号", "承办方式", "答复日期", "办理结果", "是否面商", "代表意见"]


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def register_rows(session: str = "十八届一次", year: int = 2024) -> list[list]:
    return [
        REGISTER_HEADER,
        [1, session, year, "大会建议", "关于加强中小学课后服务的建议", "王一", "教科文卫体类", "2024-03-01",
         "2024-06-01", "市教育局", "市财政局", "是"],
        [2, session, year, "大会建议", "关于优化公交线路的建议", "李二", "交通邮电类", "2024-03-01",
         "2024-06-01", "市交通运输局", "", "否"],
        [3, session, year, "大会建议", "关于校园周边交通安全的建议", "张三", "教科文卫体类", "2024-03-01",
         "2024-06-01", "市教育局、市交通运输局", "市公安局", "否"],
        [],
        ["共3件。制表：市人大常委会代表工作委员会"],  # a footer: not a data row, not counted
    ]


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    # Every folder of these tests is trusted: they are about loading, not provenance (test_provenance.py).
    return load_settings(home=tmp_path / "home", override={"etl": {"trusted_inboxes": [str(tmp_path)]}})


def outcome_counts(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(WarehousePaths(warehouse).current_version()), read_only=True) as con:
        return dict(con.execute("SELECT outcome, count(*) FROM row_outcomes GROUP BY 1").fetchall())


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(WarehousePaths(warehouse).current_version()), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_register_and_export_load_with_every_row_accounted(tmp_path, settings):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    write_csv(inbox / "a" / "市教育局_2024-06-30.csv", [
        EXPORT_HEADER,
        [1, "主办", "2024-05-10", "A类", "是", "满意"],
        ["第3号", "分办", "2024/5/20", "乙", "否", "基本满意"],
        [2, "主办", "2024-05-10", "A", "是", "满意"],          # 2 is not assigned to 教育局 → rejected
        [1, "主办", "2024-05-10", "A类", "是", "满意"],       # exact repeat of the first row → collapses
    ])
    warehouse = tmp_path / "wh" / "duban.duckdb"
    report = run_refresh(warehouse, settings, inbox=inbox)

    c = report.counts
    # register 3 rows + export 4 rows read; 3 + 2 loaded, 1 duplicate superseded, 1 rejected
    assert (c.rows_read, c.loaded, c.superseded, c.rejected) == (7, 5, 1, 1)
    assert c.rows_read == c.loaded + c.superseded + c.rejected
    assert query(warehouse, "SELECT suggestion_id, year FROM suggestions ORDER BY number") == [
        ("十八届一次-1", 2024), ("十八届一次-2", 2024), ("十八届一次-3", 2024)]
    assert query(warehouse, "SELECT unit, role, is_lead FROM assignments WHERE suggestion_id = '十八届一次-3' "
                            "ORDER BY unit") == [("市交通运输局", "分办", True), ("市公安局", "协办", False),
                                                 ("市教育局", "分办", True)]
    reasons = [r[0] for r in query(warehouse, "SELECT reason FROM row_outcomes WHERE outcome = 'rejected'")]
    assert reasons == ["第4行 交办台账没有把第2号建议交给市教育局办理"]
    assert query(warehouse, "SELECT sender_unit, report_date::VARCHAR FROM files WHERE kind = 'unit_export'") == [
        ("市教育局", "2024-06-30")]


def test_newer_export_supersedes_older_rows_and_history_is_kept(tmp_path, settings):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    write_csv(inbox / "市交通运输局_2024-05-15.csv", [EXPORT_HEADER, [2, "主办", "", "", "", ""]])
    write_csv(inbox / "市交通运输局_2024-06-30.csv", [EXPORT_HEADER, [2, "主办", "2024-06-10", "A", "是", "满意"]])
    warehouse = tmp_path / "duban.duckdb"
    run_refresh(warehouse, settings, inbox=inbox)

    history = query(warehouse, "SELECT report_date::VARCHAR, reply_date::VARCHAR, is_current FROM handling_reports "
                               "ORDER BY report_date")
    assert history == [("2024-05-15", None, False), ("2024-06-30", "2024-06-10", True)]
    superseded = query(warehouse, "SELECT reason FROM row_outcomes WHERE outcome = 'superseded'")
    assert superseded == [("第2行 已被市交通运输局 2024-06-30 报送的《市交通运输局_2024-06-30.csv》取代",)]


def test_number_in_two_sessions_is_resolved_by_file_name_or_rejected_as_ambiguous(tmp_path, settings):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账2023.csv", register_rows("十七届五次", 2023))
    write_csv(inbox / "台账2024.csv", register_rows("十八届一次", 2024))
    write_csv(inbox / "市交通运输局_2024-06-30.csv", [EXPORT_HEADER, [2, "主办", "2024-06-10", "A", "是", "满意"]])
    write_csv(inbox / "2023年市交通运输局办理情况_2024-01-10.csv",
              [EXPORT_HEADER, [2, "主办", "2023-05-10", "B", "是", "满意"]])
    warehouse = tmp_path / "duban.duckdb"
    run_refresh(warehouse, settings, inbox=inbox)

    rejected = query(warehouse, "SELECT reason FROM row_outcomes WHERE outcome = 'rejected'")
    assert rejected == [("第2行 建议编号 2 在十七届五次、十八届一次都有, 无法确定是哪一件: "
                         "请在文件名、标题或工作表名中注明年度或届次",)]
    assert query(warehouse, "SELECT suggestion_id, result_class FROM handling_reports") == [("十七届五次-2", "B")]


def test_unreadable_file_is_rejected_whole_and_the_rest_loads(tmp_path, settings):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    (inbox / "市教育局_2024-06-30.xlsx").write_bytes(b"%PDF-1.4 not a workbook at all")
    warehouse = tmp_path / "duban.duckdb"
    report = run_refresh(warehouse, settings, inbox=inbox)
    assert report.counts.files_rejected == 1
    [(name, reason)] = report.rejected_files
    assert name == "市教育局_2024-06-30.xlsx" and reason
    assert query(warehouse, "SELECT count(*) FROM suggestions") == [(3,)]


def test_failed_refresh_leaves_the_published_version_untouched(tmp_path, settings):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    warehouse = tmp_path / "duban.duckdb"
    first = run_refresh(warehouse, settings, inbox=inbox).version
    write_csv(inbox / "市教育局_2024-06-30.csv", [EXPORT_HEADER, [1, "主办", "2024-05-10", "A", "是", "满意"]])

    def fail():
        raise RuntimeError("测试: 在发布前故意中止")

    with pytest.raises(RefreshFailed):
        run_refresh(warehouse, settings, inbox=inbox, before_publish=fail)
    paths = WarehousePaths(warehouse)
    assert paths.current_version() == first
    assert query(warehouse, "SELECT count(*) FROM handling_reports") == [(0,)]


def test_killed_refresh_leaves_the_published_version_and_the_next_one_publishes(tmp_path, settings):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    warehouse = tmp_path / "duban.duckdb"
    first = run_refresh(warehouse, settings, inbox=inbox).version
    write_csv(inbox / "市教育局_2024-06-30.csv", [EXPORT_HEADER, [1, "主办", "2024-05-10", "A", "是", "满意"]])

    env = {**os.environ, BEFORE_PUBLISH_ENV: "pause", "DUBAN_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([sys.executable, "-m", "tests.refresh_fault_cli", "etl", "run", "--inbox", str(inbox),
                             "--warehouse", str(warehouse)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    paths = WarehousePaths(warehouse)
    deadline = time.monotonic() + 60
    while not list(paths.versions.glob(".building-*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # the build has written its file and waits before publishing
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert paths.current_version() == first
    assert query(warehouse, "SELECT count(*) FROM handling_reports") == [(0,)]
    # killed later, a build leaves folders too: the state files of its figures check, its spill folder
    for folder in (".building-1.duckdb.cache", ".building-1.duckdb.tmp"):
        (paths.versions / folder).mkdir()
        (paths.versions / folder / "st_0.duckdb").write_bytes(b"")

    second = run_refresh(warehouse, settings, inbox=inbox).version
    assert second != first and paths.current_version() == second
    assert query(warehouse, "SELECT count(*) FROM handling_reports") == [(1,)]
    assert not list(paths.versions.glob(".building-*"))


def test_rebuild_from_archive_gives_the_same_tables_and_rollback_returns(tmp_path, settings):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    write_csv(inbox / "市教育局_2024-06-30.csv", [EXPORT_HEADER, [1, "主办", "2024-05-10", "A", "是", "满意"],
                                                  [9, "主办", "2024-05-10", "A", "是", "满意"]])
    warehouse = tmp_path / "duban.duckdb"
    first = run_refresh(warehouse, settings, inbox=inbox).version
    tables = ["suggestions", "assignments", "handling_reports", "row_outcomes", "units", "sessions"]
    before = {t: query(warehouse, f"SELECT * FROM {t} ORDER BY ALL") for t in tables}

    import shutil
    shutil.rmtree(inbox)  # the archive alone must be enough
    second = run_refresh(warehouse, settings, rebuild=True).version
    after = {t: query(warehouse, f"SELECT * FROM {t} ORDER BY ALL") for t in tables}
    assert after == before and second != first
    assert rollback(WarehousePaths(warehouse)) == first


def test_a_file_already_received_is_not_read_again(tmp_path, settings, monkeypatch):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    warehouse = tmp_path / "duban.duckdb"
    run_refresh(warehouse, settings, inbox=inbox)
    write_csv(inbox / "副本" / "台账-副本.csv", register_rows())  # same content, another name

    calls = []
    monkeypatch.setattr(pipeline, "ParsePool", lambda *a, **k: calls.append(a) or ParsePool(*a, **k))
    report = run_refresh(warehouse, settings, inbox=inbox)
    assert calls == [] and report.files_new == 0


def test_inbox_tricks_links_lock_files_and_hostile_names(tmp_path, settings):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    secret = write_csv(tmp_path / "outside" / "市教育局_2024-06-30.csv",
                       [EXPORT_HEADER, [1, "主办", "2024-05-10", "A", "是", "满意"]])
    (inbox / "link.csv").symlink_to(secret)                       # never followed out of the inbox
    (inbox / "linked-dir").symlink_to(secret.parent, target_is_directory=True)
    (inbox / "~$台账.csv").write_bytes(b"\x00lock")               # Excel's lock file
    hostile = '=HYPERLINK("x")<img src=x onerror=alert(1)>_2024-06-30.csv'
    write_csv(inbox / hostile, [EXPORT_HEADER, [1, "主办", "2024-05-10", "A", "是", "满意"]])
    warehouse = tmp_path / "duban.duckdb"
    report = run_refresh(warehouse, settings, inbox=inbox)

    names = sorted(r[0] for r in query(warehouse, "SELECT original_name FROM files"))
    assert names == sorted(["台账.csv", hostile])                  # stored as text, exactly as received
    assert report.counts.rows_read == report.counts.loaded + report.counts.superseded + report.counts.rejected
    # The hostile name names no unit: its row is rejected, nothing is guessed from the markup.
    [(reason,)] = query(warehouse, "SELECT reason FROM row_outcomes WHERE outcome = 'rejected'")
    assert reason == "第2行 承办单位 无法确定: 表中没有承办单位, 表头和文件名也未注明填报单位"


def test_an_operator_alias_table_change_reparses_archived_files(tmp_path, settings):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    write_csv(inbox / "市教育局_2024-06-30.csv", [EXPORT_HEADER, [1, "主办", "2024-05-10", "已落实", "是", "满意"]])
    warehouse = tmp_path / "duban.duckdb"
    assert run_refresh(warehouse, settings, inbox=inbox, home=tmp_path / "home").counts.rejected == 1

    # The operator teaches duban the office's word for A类; no file is sent again.
    (tmp_path / "home").mkdir(exist_ok=True)
    (tmp_path / "home" / "result_classes.toml").write_text('[classes]\nA = ["已落实"]\n', encoding="utf-8")
    report = run_refresh(warehouse, settings, inbox=inbox, home=tmp_path / "home")
    assert (report.files_new, report.counts.rejected) == (0, 0)
    assert query(warehouse, "SELECT result_class FROM handling_reports") == [("A",)]


def test_the_parse_cache_survives_moving_duban_home(tmp_path, settings):
    """The fingerprint names the operator's tables by role and content, not by where they live."""
    for home in (tmp_path / "a", tmp_path / "b"):
        home.mkdir()
        (home / "result_classes.toml").write_text('[classes]\nA = ["已落实"]\n', encoding="utf-8")
    assert pipeline.parser_fingerprint(settings, tmp_path / "a") == pipeline.parser_fingerprint(settings, tmp_path / "b")
    (tmp_path / "b" / "result_classes.toml").write_text('[classes]\nB = ["已落实"]\n', encoding="utf-8")
    assert pipeline.parser_fingerprint(settings, tmp_path / "a") != pipeline.parser_fingerprint(settings, tmp_path / "b")


def test_a_broken_operator_alias_table_stops_the_refresh_with_its_reason(tmp_path, settings):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    warehouse = tmp_path / "duban.duckdb"
    home = tmp_path / "home"
    first = run_refresh(warehouse, settings, inbox=inbox, home=home).version
    home.mkdir(exist_ok=True)
    (home / "header_aliases.toml").write_text("[columns\nnumber = 编号", encoding="utf-8")
    with pytest.raises(RefreshFailed, match="别名表 .*header_aliases.toml 格式有误"):
        run_refresh(warehouse, settings, inbox=inbox, home=home)
    assert WarehousePaths(warehouse).current_version() == first


EVALUATION_HEADER = ["建议编号", "主办单位", "答复满意度", "落实满意度", "测评日期"]


def record_builds(monkeypatch) -> list[bool]:
    """Whether each refresh from now on extended the published version (else built every table)."""
    extended = []
    real_build = pipeline.build_version

    def build(*args, **kwargs):
        extended.append(kwargs["extend"] is not None)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(pipeline, "build_version", build)
    return extended


def all_tables(warehouse: Path) -> dict[str, list[tuple]]:
    """Every table of the published version but the refresh log, rows in order."""
    with duckdb.connect(str(WarehousePaths(warehouse).current_version()), read_only=True) as con:
        names = [name for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE table_name <> 'refreshes'").fetchall()]
        return {name: con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall() for name in names}


def test_an_incremental_refresh_gives_the_tables_of_a_full_build(tmp_path, settings, monkeypatch):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    write_csv(inbox / "市教育局_2024-05-15.csv", [EXPORT_HEADER, [1, "主办", "", "", "", ""],
                                                  [3, "分办", "2024-05-10", "B", "否", "基本满意"]])
    write_csv(inbox / "满意度测评.csv", [EVALUATION_HEADER, [1, "市教育局", "满意", "满意", "2024-09-01"]])
    warehouse = tmp_path / "duban.duckdb"
    extended = record_builds(monkeypatch)
    run_refresh(warehouse, settings, inbox=inbox)

    later = tmp_path / "later"
    write_csv(later / "市教育局_2024-06-30.csv", [EXPORT_HEADER, [1, "主办", "2024-06-10", "A", "是", "满意"],
                                                  [1, "主办", "2024-06-10", "A", "是", "满意"],
                                                  [2, "主办", "2024-06-10", "A", "是", "满意"]])
    write_csv(later / "交通运输局_2024-06-30.csv", [EXPORT_HEADER, [2, "主办", "2024-06-11", "A", "是", "满意"]])
    write_csv(later / "满意度测评(2).csv", [EVALUATION_HEADER, [1, "市教育局", "满意", "满意", "2024-09-01"],
                                           [3, "市教育局", "基本满意", "满意", "2024-09-02"]])
    (later / "坏文件.xlsx").write_bytes(b"not a workbook")
    run_refresh(warehouse, settings, inbox=later)
    run_refresh(warehouse, settings)  # nothing new
    incremental = all_tables(warehouse)
    run_refresh(warehouse, settings, rebuild=True)

    assert extended == [False, True, True, False]
    assert all_tables(warehouse) == incremental
    # The new export superseded the earlier one's row, which was published before it arrived.
    assert ("第2行 已被市教育局 2024-06-30 报送的《市教育局_2024-06-30.csv》取代",) in query(
        warehouse, "SELECT reason FROM row_outcomes WHERE outcome = 'superseded'")
    assert ("交通运输局", "市交通运输局") in query(warehouse, "SELECT alias, unit FROM unit_aliases")
    assert query(warehouse, "SELECT count(*) FROM congress_evaluations") == [(2,)]


def test_rows_staged_in_batches_give_the_tables_of_one_batch(tmp_path, settings, monkeypatch):
    """A refresh stages each file's rows as the build reads them, a batch at a time, and keeps a
    file's rows in the archive until then (issue 18): the tables are those of one batch."""
    from etl import stage

    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    write_csv(inbox / "市教育局_2024-05-15.csv", [EXPORT_HEADER, [1, "主办", "", "", "", ""],
                                                  [3, "分办", "2024-05-10", "B", "否", "基本满意"]])
    write_csv(inbox / "市教育局_2024-06-30.csv", [EXPORT_HEADER, [1, "主办", "2024-06-10", "A", "是", "满意"],
                                                  [3, "分办", "2024-06-10", "A", "是", "满意"]])
    write_csv(inbox / "市交通运输局_2024-06-30.csv", [EXPORT_HEADER, [2, "主办", "2024-06-11", "A", "是", "满意"]])
    warehouse = tmp_path / "duban.duckdb"
    run_refresh(warehouse, settings, inbox=inbox)
    whole = all_tables(warehouse)
    monkeypatch.setattr(stage, "STAGE_BATCH_ROWS", 2)
    run_refresh(warehouse, settings, rebuild=True)
    assert all_tables(warehouse) == whole

    paths = WarehousePaths(warehouse)
    archive = pipeline.Archive(paths.archive)
    entries = sorted(archive.manifest().values(), key=lambda e: e.received_at)
    parser_print = pipeline.parser_fingerprint(settings)
    parsed = pipeline._parse(archive, entries, 1, parser_print, settings, lambda m: None, pipeline.parse_file)
    # every file's rows, the register's too, wait in the archive until they are needed
    assert [p.kind for _, _, p in parsed].count("unit_export") == 3 and all(p.rows is None for _, _, p in parsed)
    with_rows = pipeline._with_rows(archive, parser_print)
    heights = {p.kind: 0 for _, _, p in parsed}
    for _, e, p in parsed:
        heights[p.kind] += with_rows(e, p).rows.height
    assert heights == {"register": 3, "unit_export": 5}
    assert not any(paths.versions.glob("*.tmp"))  # the build's spill folder goes with it


def test_a_new_register_or_alias_table_builds_every_table_again(tmp_path, settings, monkeypatch):
    inbox = tmp_path / "inbox"
    header = ["建议编号", "届次", "答复日期", "办理结果"]
    write_csv(inbox / "台账.csv", register_rows())
    write_csv(inbox / "市教育局_2024-06-30.csv", [header, [1, "十八届一次", "2024-05-10", "A"]])
    write_csv(inbox / "市教育局_2025-06-30.csv", [header, [1, "十八届二次", "2025-05-10", "A"]])
    write_csv(inbox / "教委_2024-07-01.csv", [header, [3, "十八届一次", "2024-05-10", "B"]])
    warehouse = tmp_path / "duban.duckdb"
    extended = record_builds(monkeypatch)
    run_refresh(warehouse, settings, inbox=inbox)
    assert outcome_counts(warehouse)["rejected"] == 2  # 十八届二次 has no register yet; 教委 is no unit

    write_csv(inbox / "台账2025.csv", register_rows("十八届二次", 2025))
    run_refresh(warehouse, settings, inbox=inbox)
    [(reason,)] = query(warehouse, "SELECT reason FROM row_outcomes WHERE outcome = 'rejected'")
    assert reason.startswith('第2行 承办单位 "教委" 不是交办台账中的单位')

    (tmp_path / "home").mkdir(exist_ok=True)
    (tmp_path / "home" / "unit_aliases.csv").write_text("别名,规范名称\n教委,市教育局\n", encoding="utf-8")
    run_refresh(warehouse, settings)
    assert "rejected" not in outcome_counts(warehouse)
    assert query(warehouse, "SELECT suggestion_id, unit FROM handling_reports ORDER BY 1") == [
        ("十八届一次-1", "市教育局"), ("十八届一次-3", "市教育局"), ("十八届二次-1", "市教育局")]

    with duckdb.connect(str(WarehousePaths(warehouse).current_version())) as con:
        con.execute("DROP TABLE stg_fingerprint")  # as built by a duban that did not record it
    run_refresh(warehouse, settings)
    assert extended == [False, False, False, False]


def test_the_big_tables_keys_are_checked_at_the_end_of_every_build(tmp_path):
    """suggestions, assignments and handling_reports declare no PRIMARY KEY (its index never
    spills: at 10M assignments it outgrew the build's memory); 90_keys.sql checks them instead."""
    import duckdb

    from etl import stage

    con = duckdb.connect(str(tmp_path / "keys.duckdb"))
    con.execute((stage.SQL_DIR / "schema.sql").read_text(encoding="utf-8"))
    con.execute("INSERT INTO assignments VALUES ('十八届一次-1', '市教育局', '主办', TRUE), "
                "('十八届一次-1', '市财政局', '协办', FALSE)")
    stage._run_sql_file(con, stage.SQL_DIR / "build" / "90_keys.sql")  # unique: passes
    con.execute("INSERT INTO assignments VALUES ('十八届一次-1', '市教育局', '协办', FALSE)")
    with pytest.raises(duckdb.InvalidInputException, match="duplicate key in assignments: 十八届一次-1 市教育局"):
        stage._run_sql_file(con, stage.SQL_DIR / "build" / "90_keys.sql")

"""Issue 14 (1, 3, 4) and 15 (5): no file can crash or starve a refresh, names and paths are safe,
and a version can always be recovered. Faults come in through the refresh's hooks (tests/faults.py)
and through hostile inboxes built here; warehouses are real DuckDB files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from duban.core.settings import load_settings
from etl import pipeline
from etl.archive import Archive
from etl.parse import CRASHED, MEMORY_EXCEEDED, TIMED_OUT, ParsePool
from etl.pipeline import RefreshFailed, run_refresh
from tests.faults import parse_or_fault
from tests.test_pipeline import EXPORT_HEADER, query, register_rows, write_csv
from warehouse.connection import WarehousePaths

EXPORT = [EXPORT_HEADER, [1, "主办", "2024-05-10", "A类", "是", "满意"]]


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    # Every folder here is trusted: these tests are about faults, not provenance (test_provenance.py).
    return load_settings(home=tmp_path / "home", override={"etl": {"parse_memory_mb": 1536, "parse_seconds": 2,
                                                                   "trusted_inboxes": [str(tmp_path)]}})


def duban(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "duban.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "DUBAN_HOME": str(home), "PYTHONPATH": str(Path(__file__).parent.parent)})


# ── 1. a file that crashes or overruns its parser ────────────────────────────────────────────
def test_a_parser_that_panics_crashes_or_overruns_costs_only_its_file(tmp_path, settings, monkeypatch):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    write_csv(inbox / "市教育局_2024-06-30.csv", EXPORT)
    for name in ("panic", "huge", "memory", "segfault", "hang"):
        write_csv(inbox / f"市交通运输局_{name}.csv", [EXPORT_HEADER, [2, "主办", name, "A", "是", "满意"]])
    warehouse = tmp_path / "duban.duckdb"
    report = run_refresh(warehouse, settings, inbox=inbox, parser=parse_or_fault)

    memory, timeout = MEMORY_EXCEEDED.format(mb=1536), TIMED_OUT.format(seconds=2)
    assert dict(report.rejected_files) == {
        "市交通运输局_panic.csv": CRASHED,      # pyo3 PanicException: a BaseException, caught
        "市交通运输局_huge.csv": memory,        # Rust allocation past RLIMIT_AS: the worker aborts
        "市交通运输局_memory.csv": memory,      # Python MemoryError
        "市交通运输局_segfault.csv": CRASHED,   # the worker dies by a signal
        "市交通运输局_hang.csv": timeout,       # killed at the wall-clock limit
    }
    assert all(reason.startswith("文件异常, 已跳过: ") for _, reason in report.rejected_files)
    assert query(warehouse, "SELECT suggestion_id FROM handling_reports") == [("十八届一次-1",)]
    assert query(warehouse, "SELECT count(*) FROM suggestions") == [(3,)]

    # The rejections are cached by content: the next refresh starts no parser at all.
    pools = []
    monkeypatch.setattr(pipeline, "ParsePool", lambda *a, **k: pools.append(a) or ParsePool(*a, **k))
    again = run_refresh(warehouse, settings, parser=parse_or_fault)
    assert pools == [] and again.version != report.version and len(again.rejected_files) == 5
    assert [r["status"] for r in Archive(WarehousePaths(warehouse).archive).refresh_log()] == ["成功", "成功"]


# ── 2. names and paths ───────────────────────────────────────────────────────────────────────
def test_a_gbk_file_name_is_archived_decoded_and_recognised(tmp_path, settings):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    gbk_name = os.fsdecode("市教育局_2024-06-30.csv".encode("gbk"))  # what unzip makes of a Windows zip
    write_csv(inbox / gbk_name, EXPORT)
    warehouse = tmp_path / "duban.duckdb"
    run_refresh(warehouse, settings, inbox=inbox)

    manifest = [json.loads(line) for line in
                (WarehousePaths(warehouse).archive / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(entry["original_name"] for entry in manifest) == ["台账.csv", "市教育局_2024-06-30.csv"]
    assert query(warehouse, "SELECT original_name, report_date::VARCHAR FROM files WHERE kind = 'unit_export'") == [
        ("市教育局_2024-06-30.csv", "2024-06-30")]  # the date read from the decoded name


def test_etl_status_prints_a_hostile_name_on_one_line_without_escape_sequences(tmp_path, settings):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    hostile = "x\n[已载入] 伪造.csv\x1b[2J\x1b]0;title\x07\x1b[31m红\r.csv"
    write_csv(inbox / hostile, [EXPORT_HEADER, [9, "主办\n[已载入] 假", "2024-05-10", "A", "是", "满意"]])
    warehouse = tmp_path / "duban.duckdb"
    run_refresh(warehouse, settings, inbox=inbox)

    shown = duban("etl", "status", "--warehouse", str(warehouse), cwd=tmp_path, home=tmp_path / "home")
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "\r" not in shown.stdout and "\x07" not in shown.stdout
    lines = shown.stdout.splitlines()
    assert not any(line.startswith("[已载入]") or line.lstrip().startswith("[已载入] 伪造") for line in lines)
    [line] = [line for line in lines if "伪造" in line]
    assert "x [已载入] 伪造.csv红 .csv" in line


def test_a_symbolic_link_in_the_inbox_is_skipped_with_a_note_and_never_archived(tmp_path, settings):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    (inbox / "市教育局_2024-06-30.csv").symlink_to("/etc/passwd")
    notes = []
    run_refresh(tmp_path / "duban.duckdb", settings, inbox=inbox, progress=notes.append)

    assert "跳过 市教育局_2024-06-30.csv: 是符号链接, 不读取它指向的文件" in notes
    archive = Archive(WarehousePaths(tmp_path / "duban.duckdb").archive)
    assert [e.original_name for e in archive.manifest().values()] == ["台账.csv"]
    passwd = Path("/etc/passwd").read_bytes()
    assert not any(p.read_bytes() == passwd for p in archive.files_dir.rglob("*") if p.is_file())


def test_a_folder_swapped_for_a_link_after_listing_is_not_followed(tmp_path, settings):
    """The race: the inbox is listed, then a folder in it becomes a link to somewhere else."""
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    listed = write_csv(inbox / "sub" / "市教育局_2024-06-30.csv", EXPORT)
    write_csv(outside / "市教育局_2024-06-30.csv", [EXPORT_HEADER, [3, "主办", "2024-05-10", "B", "是", "满意"]])
    (inbox / "sub").rename(tmp_path / "moved")
    (inbox / "sub").symlink_to(outside, target_is_directory=True)

    from etl.archive import NotReceived
    with pytest.raises(NotReceived, match="跳过 sub/市教育局_2024-06-30.csv"):
        Archive(tmp_path / "archive").receive(listed, inbox)


# ── 3. versions you can always recover from ──────────────────────────────────────────────────
@pytest.mark.parametrize("damage", ["empty", "corrupted"])
def test_a_damaged_current_version_is_rebuilt_not_extended(tmp_path, settings, damage):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    warehouse = tmp_path / "duban.duckdb"
    first = run_refresh(warehouse, settings, inbox=inbox).version
    if damage == "empty":
        first.write_bytes(b"")
    else:  # scribble over the data blocks after the headers, as a failing disk would
        data = bytearray(first.read_bytes())
        for offset in range(3 * 4096 + 512, len(data), 4096):
            data[offset:offset + 64] = b"\xa5" * 64
        first.write_bytes(bytes(data))
    write_csv(inbox / "市教育局_2024-06-30.csv", EXPORT)

    notes = []
    second = run_refresh(warehouse, settings, inbox=inbox, progress=notes.append).version
    assert any("已损坏或无法完整读取, 全部数据重新生成" in note for note in notes)
    assert query(warehouse, "SELECT count(*) FROM suggestions") == [(3,)]
    assert query(warehouse, "SELECT count(*) FROM handling_reports") == [(1,)]
    second.write_bytes(b"")
    third = run_refresh(warehouse, settings, rebuild=True, progress=notes.append).version
    assert third != second and query(warehouse, "SELECT count(*) FROM handling_reports") == [(1,)]
    assert any("无法读取, 新版本不带以往的刷新记录" in note for note in notes)


def test_rollback_with_a_relative_warehouse_path(tmp_path, settings):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    home = tmp_path / "home"
    assert duban("etl", "run", "--inbox", "inbox", "--warehouse", "wh/duban.duckdb", cwd=tmp_path,
                 home=home).returncode == 0
    write_csv(inbox / "市教育局_2024-06-30.csv", EXPORT)
    assert duban("etl", "run", "--inbox", "inbox", "--warehouse", "wh/duban.duckdb", cwd=tmp_path,
                 home=home).returncode == 0
    rolled = duban("etl", "rollback", "--warehouse", "wh/duban.duckdb", cwd=tmp_path, home=home)
    assert rolled.returncode == 0, rolled.stderr
    assert "已回滚到版本 v000001.duckdb" in rolled.stdout
    assert os.readlink(tmp_path / "wh" / "duban.duckdb").endswith("v000001.duckdb")


def test_a_full_disk_removes_the_build_and_says_how_much_space_is_left(tmp_path, settings):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    warehouse = tmp_path / "duban.duckdb"
    first = run_refresh(warehouse, settings, inbox=inbox).version
    write_csv(inbox / "市教育局_2024-06-30.csv", EXPORT)

    def disk_full():
        raise duckdb.IOException("Could not write file: No space left on device")

    with pytest.raises(RefreshFailed, match=r"磁盘空间不足: 仓库所在磁盘 \(.*\) 只剩 [\d.]+ MB"):
        run_refresh(warehouse, settings, inbox=inbox, before_publish=disk_full)
    paths = WarehousePaths(warehouse)
    assert not list(paths.versions.glob(".building-*")) and paths.current_version() == first
    [*_, failed] = Archive(paths.archive).refresh_log()
    assert failed["status"] == "失败" and failed["error"].startswith("磁盘空间不足")


def test_status_and_pages_answer_on_a_full_disk_when_nothing_was_prepared(tmp_path, settings, monkeypatch):
    from dashboard.app import create_app
    from dashboard.auth import LOCAL_VIEWER
    from warehouse import statefiles
    from warehouse.status import refresh_status

    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    write_csv(inbox / "市教育局_2024-06-30.csv", EXPORT)
    warehouse = tmp_path / "duban.duckdb"
    version = run_refresh(warehouse, settings, inbox=inbox).version
    statefiles.remove(version)  # nothing prepared: every derived table must be built now

    build = statefiles._build

    def no_room_on_disk(conn, db_path, path, make):
        if not str(path).startswith(str(statefiles.RAM_FOLDER)):
            raise OSError(28, "No space left on device")
        build(conn, db_path, path, make)

    monkeypatch.setattr(statefiles, "_build", no_room_on_disk)
    status = refresh_status(warehouse, settings)
    assert {f["original_name"] for f in status["files"]} == {"台账.csv", "市教育局_2024-06-30.csv"}
    board = create_app(warehouse, settings=settings, home=tmp_path / "home", auth=False).duban
    assert "台账.csv" in str(board.render("/data", "", viewer=LOCAL_VIEWER))
    assert not list(Path(str(version) + ".cache").glob("st_*.duckdb"))  # built in memory, nothing written
    statefiles.remove(version)


def test_the_fault_harness_fills_the_disk_of_a_cli_refresh(tmp_path, settings):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    env = {**os.environ, "DUBAN_HOME": str(tmp_path / "home"), "DUBAN_FAULT_BEFORE_PUBLISH": "disk-full"}
    run = subprocess.run([sys.executable, "-m", "tests.refresh_fault_cli", "etl", "run", "--inbox", str(inbox),
                          "--warehouse", str(tmp_path / "duban.duckdb")], capture_output=True, text=True, env=env)
    assert run.returncode == 1 and "磁盘空间不足" in run.stderr
    status = duban("etl", "status", "--warehouse", str(tmp_path / "duban.duckdb"), cwd=tmp_path,
                   home=tmp_path / "home")
    assert status.returncode == 0 and "失败  磁盘空间不足" in status.stdout

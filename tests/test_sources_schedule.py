"""Pulling from sources (a folder, a local HTTP server, a real SQLite and PostgreSQL database)
and the scheduler that pulls and refreshes."""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from duban.core.settings import load_settings
from etl.schedule import next_run, parse_interval, run_schedule
from etl.sources import PULLED_DIR, Source, SourceError, load_sources, pull_sources
from tests.test_pipeline import register_rows, write_csv
from warehouse.connection import WarehousePaths


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    return load_settings(home=tmp_path / "home")


def test_sources_file_is_validated_with_chinese_reasons(tmp_path):
    path = tmp_path / "sources.toml"
    path.write_text('[[source]]\nname = "x"\nurl = "ftp://host/file.xlsx"\n', encoding="utf-8")
    with pytest.raises(SourceError, match="只支持 http/https"):
        load_sources(path)
    path.write_text('[[source]]\nname = "x"\ndatabase = "sqlite://"\n', encoding="utf-8")
    with pytest.raises(SourceError, match="需要同时给出 query"):
        load_sources(path)


def test_folder_pull_copies_files_and_neutralises_path_tricks(tmp_path):
    share = tmp_path / "share"
    write_csv(share / "子目录" / "台账.csv", register_rows())
    (share / "~$lock.xlsx").write_bytes(b"lock")
    inbox = tmp_path / "inbox"
    written, errors = pull_sources([Source(name="../../etc", folder=share)], inbox)
    assert (written, errors) == (1, [])
    pulled = list((inbox / PULLED_DIR).rglob("*.csv"))
    assert len(pulled) == 1 and inbox in pulled[0].parents  # nothing written outside the inbox


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass


def test_http_pull_and_scheduled_refresh_publish(tmp_path, settings):
    served = tmp_path / "served"
    write_csv(served / "register.csv", register_rows())
    handler = lambda *a, **k: _Files(*a, directory=str(served), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sources = tmp_path / "sources.toml"
        sources.write_text(
            f'[[source]]\nname = "督查室"\nurl = "http://127.0.0.1:{server.server_port}/register.csv"\ntrusted = true\n',
            encoding="utf-8")
        inbox, warehouse = tmp_path / "inbox", tmp_path / "duban.duckdb"
        inbox.mkdir()
        naps = []
        runs = run_schedule(warehouse, inbox, settings, every="1h", sources_file=sources, max_runs=2,
                            log=lambda m: None, sleep=naps.append)
    finally:
        server.shutdown()
    assert runs == 2 and len(naps) == 1 and 3590 < naps[0] <= 3600
    with duckdb.connect(str(WarehousePaths(warehouse).current_version()), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM suggestions").fetchone() == (3,)
        # the second run found the same content: received once, two refreshes recorded
        assert con.execute("SELECT count(*), sum(files_new) FROM refreshes").fetchone() == (2, 1)


def test_sqlite_database_pull_becomes_a_unit_export(tmp_path, settings):
    db = tmp_path / "unit.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE export (no INTEGER, way TEXT, replied TEXT, result TEXT, met TEXT, opinion TEXT)")
        con.execute("INSERT INTO export VALUES (1, '主办', '2024-05-10', 'A类', '是', '满意')")
    query = ("SELECT no AS 建议编号, way AS 承办方式, replied AS 答复日期, result AS 办理结果, "
             "met AS 是否面商, opinion AS 代表意见 FROM export")
    inbox = tmp_path / "inbox"
    write_csv(inbox / "台账.csv", register_rows())
    written, errors = pull_sources([Source(name="教育局系统", database=f"sqlite:///{db}", query=query,
                                           unit="市教育局")], inbox, today=date(2024, 6, 30))
    assert (written, errors) == (1, [])
    from etl.pipeline import run_refresh
    warehouse = tmp_path / "duban.duckdb"
    run_refresh(warehouse, settings, inbox=inbox, trusted_folders=[inbox])
    with duckdb.connect(str(WarehousePaths(warehouse).current_version()), read_only=True) as con:
        assert con.execute("SELECT unit, report_date::VARCHAR, result_class FROM handling_reports").fetchall() == [
            ("市教育局", "2024-06-30", "A")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    return None


@pytest.fixture
def postgres(tmp_path):
    """A throwaway PostgreSQL server from Debian's package (CI installs it)."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL 服务器程序未安装 (apt-get install postgresql)")
    pytest.importorskip("psycopg")
    port = _free_port()
    # The server refuses to run as root: as root, run it as the package's postgres user, in a
    # folder that user can reach (pytest's tmp_path lives under a 0700 folder).
    run_as = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="duban-pg-"))
    base.chmod(0o777)
    data = base / "pgdata"
    subprocess.run([*run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", "duban", "--auth=trust"],
                   check=True, capture_output=True)
    # -l: the server's output goes to a file; on our pipes it would keep subprocess.run waiting.
    subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-o",
                    f"-p {port} -k {base} -h 127.0.0.1", "-w", "start"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    try:
        yield f"postgresql+psycopg://duban@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_postgresql_database_pull(tmp_path, postgres):
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("CREATE TABLE v_export (编号 int, 答复日期 date, 办理结果 text)"))
        conn.execute(sqlalchemy.text("INSERT INTO v_export VALUES (3, '2024-05-20', 'B类')"))
    engine.dispose()
    inbox = tmp_path / "inbox"
    written, errors = pull_sources([Source(name="交通局系统", database=postgres, unit="市交通运输局",
                                           query="SELECT 编号 AS 建议编号, 答复日期, 办理结果 FROM v_export")],
                                   inbox, today=date(2024, 6, 30))
    assert (written, errors) == (1, [])
    [pulled] = list((inbox / PULLED_DIR).rglob("*.csv"))
    assert pulled.name == "市交通运输局_2024-06-30.csv"
    assert pulled.read_text(encoding="utf-8").splitlines() == ["建议编号,答复日期,办理结果", "3,2024-05-20,B类"]


def test_schedule_intervals_and_cron():
    assert parse_interval("30m").total_seconds() == 1800
    with pytest.raises(ValueError, match="间隔应写成"):
        parse_interval("soon")
    assert next_run(datetime(2024, 6, 30, 8, 0), None, "0 7 * * *") == datetime(2024, 7, 1, 7, 0)
    with pytest.raises(ValueError, match="cron 表达式无效"):
        next_run(datetime(2024, 6, 30), None, "every day")

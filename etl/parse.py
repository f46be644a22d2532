"""The file-level ETL entry point: read → recognise → normalise one received file.

``parse_file`` never raises on bad input: a file that cannot be used at all comes back as
``ParsedFile.rejected`` with the reason in Chinese, every other file with its rows and rejects.

A refresh parses in a ``ParsePool``: worker processes with a memory cap (RLIMIT_AS), a wall-clock
timeout and a CPU-time backstop, so a file that makes a reader panic, crash, or eat the machine's
memory or time costs only that file (rejected with ``文件异常, 已跳过: …``), never the refresh.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import resource
import signal
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable, Hashable, Iterable, Iterator

import polars as pl

from duban.core.settings import Settings
from etl.model import ParsedFile, empty_frame
from etl.names import one_line
from etl.normalise import normalise_sheet
from etl.read import UnreadableFile, read_sheets
from etl.recognise import UnrecognisedFile, recognise

log = logging.getLogger(__name__)

NO_DATA = "文件没有数据行"
INTERNAL_ERROR = "文件无法读取: 文件内容异常, 无法解析"
MEMORY_EXCEEDED = "文件异常, 已跳过: 解析超出内存上限 ({mb} MB)"
TIMED_OUT = "文件异常, 已跳过: 解析超时 (超过 {seconds} 秒)"
CRASHED = "文件异常, 已跳过: 解析程序异常退出"
PARSE_WORKERS = 2  # the machine's cores are shared with serving: two parses at a time
STARTUP_SECONDS = 60
_READY = "ready"
# What a Rust allocation failure (then abort) or Python prints when the memory cap is hit.
_OUT_OF_MEMORY_SIGNS = ("memory allocation of", "MemoryError", "Cannot allocate memory")

Parser = Callable[[Path, str, Settings, "datetime | None"], ParsedFile]


def parse_file(
    path: Path, original_name: str, settings: Settings, file_mtime: datetime | None = None
) -> ParsedFile:
    """One received file → ParsedFile (rows exactly etl.model.SCHEMAS[kind], rejects, lineage)."""
    try:
        return _parse(Path(path), original_name, settings, file_mtime)
    except UnrecognisedFile as exc:
        return ParsedFile.rejected(str(exc), exc.kind)
    except UnreadableFile as exc:
        return ParsedFile.rejected(str(exc))
    except MemoryError:
        return ParsedFile.rejected(MEMORY_EXCEEDED.format(mb=settings.parse_memory_mb))
    except Exception:  # a file must never stop a refresh; the operator gets a reason, devs the log
        log.exception("parse_file failed on %s", one_line(original_name))
        return ParsedFile.rejected(INTERNAL_ERROR)
    except BaseException as exc:  # a reader's Rust panic (pyo3 PanicException) is no Exception
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        log.error("parse_file: %s on %s", type(exc).__name__, one_line(original_name))
        return ParsedFile.rejected(CRASHED)


def _parse(path: Path, original_name: str, settings: Settings, file_mtime: datetime | None) -> ParsedFile:
    sheets = read_sheets(path, settings)
    plan = recognise(sheets, original_name, file_mtime, settings.home)
    frames, rejects, notes = [], [], list(plan.notes)
    for sheet in plan.sheets:
        frame, sheet_rejects, sheet_notes = normalise_sheet(plan.kind, sheet, plan.sender_unit, settings.home)
        frames.append(frame)
        rejects.extend(sheet_rejects)
        notes.extend(sheet_notes)
    rows = pl.concat(frames, how="vertical") if frames else empty_frame(plan.kind)
    rows_read = rows.height + len(rejects)
    if rows_read == 0:
        return ParsedFile.rejected(NO_DATA)
    if rows_read > settings.max_rows:
        return ParsedFile.rejected(f"文件行数超过上限: {rows_read} 行, 上限为 {settings.max_rows} 行")
    return ParsedFile(
        kind=plan.kind,
        sender_unit=plan.sender_unit,
        report_date=plan.report_date,
        report_date_source=plan.report_date_source,
        rows=rows,
        rejects=rejects,
        rows_read=rows_read,
        sheets=plan.sheet_names,
        notes=notes,
        blocks=plan.blocks,
    )


# ── the process boundary ─────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class ParseJob:
    path: Path
    original_name: str
    file_mtime: datetime | None = None


def _serve_parses(conn, settings: Settings, parser: Parser, stderr_path: str) -> None:
    """A worker: parse each job received, send back its ParsedFile, until the pool closes."""
    os.dup2(os.open(stderr_path, os.O_WRONLY | os.O_APPEND), 2)  # read by the pool after a crash
    cap = settings.parse_memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    conn.send(_READY)
    while True:
        try:
            job = conn.recv()
        except EOFError:  # the pool is gone
            return
        # CPU time is counted over the worker's life: allow this job its share from here. The
        # pool's wall clock ends a slow parse first; this ends one whose pool is gone.
        usage = resource.getrusage(resource.RUSAGE_SELF)
        allowed = int(usage.ru_utime + usage.ru_stime + settings.parse_seconds * (os.cpu_count() or 1)) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (allowed if cpu_hard == resource.RLIM_INFINITY
                                                 else min(allowed, cpu_hard), cpu_hard))
        try:
            result = parser(job.path, job.original_name, settings, job.file_mtime)
        except MemoryError:
            result = ParsedFile.rejected(MEMORY_EXCEEDED.format(mb=settings.parse_memory_mb))
        except BaseException:  # noqa: BLE001 - whatever the parser leaks rejects the file, not the worker
            result = ParsedFile.rejected(CRASHED)
        try:
            conn.send(result)
        except MemoryError:
            conn.send(ParsedFile.rejected(MEMORY_EXCEEDED.format(mb=settings.parse_memory_mb)))


class _Worker:
    def __init__(self, context, settings: Settings, parser: Parser):
        self.stderr = tempfile.NamedTemporaryFile(prefix="duban-parse-", suffix=".log")
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(target=_serve_parses, daemon=True,
                                       args=(child_conn, settings, parser, self.stderr.name))
        self.process.start()
        child_conn.close()
        self.job: tuple[Hashable, ParseJob] | None = None
        self.deadline = 0.0

    def wait_ready(self) -> None:
        """A worker that cannot start is the installation's fault, not a file's: the refresh
        stops with the reason instead of rejecting every file."""
        try:
            if self.conn.poll(STARTUP_SECONDS) and self.conn.recv() == _READY:
                return
        except (EOFError, OSError):
            pass
        reason = one_line(self.stderr_tail()[-300:])
        self.stop()
        raise RuntimeError(f"无法启动解析进程: {reason}")

    def give(self, key: Hashable, job: ParseJob, seconds: int) -> None:
        self.job, self.deadline = (key, job), time.monotonic() + seconds
        try:
            self.conn.send(job)
        except OSError:
            pass  # the worker died meanwhile: ParsePool._outcome judges it

    def stderr_tail(self) -> str:
        self.stderr.seek(0, os.SEEK_END)
        self.stderr.seek(max(0, self.stderr.tell() - 65536))
        return self.stderr.read().decode("utf-8", errors="replace")

    def stop(self) -> None:
        self.conn.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.stderr.close()


class ParsePool:
    """``PARSE_WORKERS`` worker processes (reused across files) that parse with
    ``parser`` under the settings' limits. A worker that dies or overruns is replaced."""

    def __init__(self, settings: Settings, parser: Parser = parse_file, workers: int = PARSE_WORKERS):
        self.settings, self.parser, self.size = settings, parser, workers
        # Workers fork from a clean server process (not from this one, whose DuckDB and polars
        # threads may hold locks) that has imported the readers once: a worker starts in ~20 ms.
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload([__name__])
        self._workers: list[_Worker] = []

    def __enter__(self) -> "ParsePool":
        return self

    def __exit__(self, *exc_info) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers = []

    def parse(self, jobs: Iterable[tuple[Hashable, ParseJob]]) -> Iterator[tuple[Hashable, ParsedFile]]:
        """(key, ParsedFile) for each (key, job), in the order they finish."""
        waiting = deque(jobs)
        started = [_Worker(self._context, self.settings, self.parser)
                   for _ in range(min(self.size - len(self._workers), len(waiting)))]
        self._workers.extend(started)
        for worker in started:
            worker.wait_ready()
        while waiting or any(w.job for w in self._workers):
            for worker in self._workers:
                if worker.job is None and waiting:
                    worker.give(*waiting.popleft(), self.settings.parse_seconds)
            busy = [w for w in self._workers if w.job]
            timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic())
            wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout)
            for worker in busy:
                result = self._outcome(worker)
                if result is not None:
                    key, job = worker.job
                    worker.job = None
                    if not worker.process.is_alive():
                        log.warning("parse worker: %s on %s", result.error, one_line(job.original_name))
                        self._replace(worker)
                    yield key, result

    @property
    def _memory(self) -> str:
        return MEMORY_EXCEEDED.format(mb=self.settings.parse_memory_mb)

    @property
    def _timeout(self) -> str:
        return TIMED_OUT.format(seconds=self.settings.parse_seconds)

    def _outcome(self, worker: _Worker) -> ParsedFile | None:
        """The worker's result if it has one; a rejection if it died or overran; else None."""
        try:
            if worker.conn.poll():
                return worker.conn.recv()
        except (EOFError, OSError, pickle.UnpicklingError):
            pass  # died while sending: judged below
        if worker.process.is_alive() and time.monotonic() < worker.deadline:
            return None
        if worker.process.is_alive():  # overran the wall clock
            worker.process.kill()
            worker.process.join()
            return ParsedFile.rejected(self._timeout)
        worker.process.join()
        if worker.process.exitcode == -signal.SIGXCPU:
            return ParsedFile.rejected(self._timeout)
        tail = worker.stderr_tail()
        if worker.process.exitcode == -signal.SIGKILL or any(sign in tail for sign in _OUT_OF_MEMORY_SIGNS):
            return ParsedFile.rejected(self._memory)  # SIGKILL not sent by us: the kernel's OOM killer
        log.warning("parse worker exited with %s: %s", worker.process.exitcode, one_line(tail[-500:]))
        return ParsedFile.rejected(CRASHED)

    def _replace(self, worker: _Worker) -> None:
        worker.stop()
        self._workers[self._workers.index(worker)] = fresh = _Worker(self._context, self.settings, self.parser)
        fresh.wait_ready()

"""Where a warehouse lives on disk, and read-only connections to its published version.

``--warehouse FILE`` names a symbolic link. Each refresh builds a complete new DuckDB file under
``FILE.versions/`` and then replaces the link in one atomic rename, so:
- a reader opens whatever version the link points to and keeps it (the file stays readable
  even after a later refresh; old versions are pruned only beyond ``keep_versions``);
- a refresh that fails or is killed never touches the link: the last good version stays;
- ``duckdb FILE`` opens the current version with any DuckDB tool.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb


# A request that took a cursor just before a refresh switched versions finishes on the old one;
# none takes this long (downloads of whole workbooks at a million assignments: seconds).
RETIRE_AFTER_SECONDS = 60
# While a worker has two versions open they share its one buffer budget, each would otherwise
# take the whole of it (issue 18: a worker's peak came during refreshes): the new version gets
# half while it is warmed (the current one still serves), a retired one a quarter (it only
# finishes the requests that started on it).
WARMING_SHARE, RETIRED_SHARE = 0.5, 0.25


class WarehouseMissing(RuntimeError):
    """No version has been published at this path yet."""


@dataclass(frozen=True)
class WarehousePaths:
    link: Path

    @property
    def versions(self) -> Path:
        return self.link.with_name(self.link.name + ".versions")

    @property
    def archive(self) -> Path:
        return self.link.with_name(self.link.name + ".archive")

    @property
    def lock(self) -> Path:
        return self.link.with_name(self.link.name + ".lock")

    def current_version(self) -> Path:
        """The published version file the link points to (raises WarehouseMissing)."""
        try:
            target = os.readlink(self.link)
        except FileNotFoundError:
            raise WarehouseMissing(f"仓库 {self.link} 尚未发布任何版本, 请先运行 duban etl run") from None
        except OSError:
            # A plain DuckDB file (not built by duban's publisher) is read as-is.
            return self.link
        return (self.link.parent / target).resolve()

    def published_versions(self) -> list[Path]:
        if not self.versions.exists():
            return []
        return sorted(self.versions.glob("v*.duckdb"))


def open_readonly(path: Path, memory_mb: int | None = None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """memory_mb bounds DuckDB's buffer pool (the serve workers' memory budget); beyond it,
    DuckDB spills to ``<file>.tmp``. threads: DuckDB's threads per query (default: one per core)."""
    config: dict = {"memory_limit": f"{memory_mb}MB"} if memory_mb else {}
    if threads:
        config["threads"] = threads
    return duckdb.connect(str(path), read_only=True, config=config)


class PublishedWarehouse:
    """Per-process access to the current published version, reopened when a refresh publishes.

    ``connection()`` returns a cursor on the version the link points to now; ``version`` names
    that version, so caches keyed on it are invalidated by a refresh. Thread-safe.
    """

    def __init__(self, link: Path | str, prepare: Callable[[str, duckdb.DuckDBPyConnection], None] | None = None,
                 memory_mb: int | None = None, threads: int | None = None):
        self.paths = WarehousePaths(Path(link))
        self.memory_mb, self.threads = memory_mb, threads
        # prepare(version name, cursor): the server warms a newly published version with it in the
        # background and keeps answering from the previous version until that is done, so no
        # request after a refresh waits for the new version's state to be built.
        self.prepare = prepare
        self._preparing: Path | None = None
        self._lock = threading.Lock()
        self._version: Path | None = None
        self._conn: duckdb.DuckDBPyConnection | None = None
        # Connections replaced by a refresh stay open a little longer: a request that took a
        # cursor just before the switch must be able to finish on the version it started with.
        self._retired: list[tuple[float, duckdb.DuckDBPyConnection]] = []  # (retired at, connection)

    def _current(self) -> tuple[Path, duckdb.DuckDBPyConnection]:
        target = self.paths.current_version()
        with self._lock:
            if self.prepare is not None and self._conn is not None and target != self._version:
                if self._preparing is None:  # one at a time; a newer version waits for the next look
                    self._preparing = target
                    threading.Thread(target=self._prepare_then_switch, args=(target,), daemon=True).start()
                return self._version, self._conn
            if target != self._version or self._conn is None:
                self._switch_to(target, open_readonly(target, self.memory_mb, self.threads))
            elif self._retired:
                self._close_retired()
            return self._version, self._conn

    def _switch_to(self, target: Path, conn: duckdb.DuckDBPyConnection) -> None:
        """Serve ``target`` from now on (call with the lock held); retire the old connection."""
        if self._conn is not None:
            self._set_memory(self._conn, RETIRED_SHARE)
            self._retired.append((time.monotonic(), self._conn))
        self._close_retired()
        self._set_memory(conn, 1.0)
        self._conn, self._version = conn, target

    def _set_memory(self, conn: duckdb.DuckDBPyConnection, share: float) -> None:
        """Give ``conn`` this share of the worker's buffer budget (DuckDB evicts down to it)."""
        if not self.memory_mb:
            return
        try:
            conn.execute(f"SET memory_limit = '{max(16, int(self.memory_mb * share))}MB'")
        except duckdb.Error:  # pages pinned by a running query: it keeps the larger budget
            logging.getLogger(__name__).info("could not lower the memory of a retired version")

    def _close_retired(self) -> None:
        """Close retired connections once requests that started on them are surely done (each
        holds its own DuckDB buffer pool: keeping them would double a worker's memory)."""
        now = time.monotonic()
        while self._retired and (len(self._retired) > 2 or now - self._retired[0][0] > RETIRE_AFTER_SECONDS):
            self._retired.pop(0)[1].close()

    def _prepare_then_switch(self, target: Path) -> None:
        conn = None
        try:
            conn = open_readonly(target, self.memory_mb and max(16, int(self.memory_mb * WARMING_SHARE)), self.threads)
            self.prepare(str(target), conn.cursor())
        except Exception:  # a failed warm-up must not keep the new version away: switch cold
            logging.getLogger(__name__).exception("preparing %s", target)
        with self._lock:
            self._preparing = None
            if conn is not None:
                self._switch_to(target, conn)

    @property
    def version(self) -> str:
        return self._current()[0].name

    def snapshot(self) -> tuple[str, duckdb.DuckDBPyConnection]:
        """(version key, cursor) from one look at the link: a refresh between two separate calls
        could otherwise pair the new version's name (a cache key) with the old version's data."""
        version, conn = self._current()
        return str(version), conn.cursor()  # the full path: unique even across warehouses in one process

    def connection(self) -> duckdb.DuckDBPyConnection:
        """A cursor (its own transaction) on the current version; cheap, one per request."""
        return self._current()[1].cursor()

    def close(self) -> None:
        with self._lock:
            for conn in [*(c for _, c in self._retired), self._conn]:
                if conn is not None:
                    conn.close()
            self._conn, self._version, self._retired = None, None, []

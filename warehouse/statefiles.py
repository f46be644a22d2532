"""Derived tables built once per warehouse version and shared by every process that reads it.

The indicator layer's state as of T (warehouse.indicators) is the costly part of every figure:
seconds to build at a million assignments, hundreds of MB. Instead of each serve worker building
and holding its own copy, the first process that needs it writes it into a small DuckDB file
beside the version file and every process ATTACHes that file read-only:

    FILE.versions/v000012.duckdb.cache/st_<hash>.duckdb

- the hash (``derived_key``) names what the tables depend on (the version file's identity, the
  code, the settings, T, the year), so a refresh, an upgrade, a settings change or another T simply gives
  another file; its first digits are the version's alone, so the files a refresh's figures check
  builds for its build follow that build when it becomes a published version (``carry_over``);
- the build runs in a DuckDB instance of its own (``BUILD_MEMORY_MB``), not under the serve
  worker's query memory limit, with its intermediate table in a scratch file;
- an exclusive lock on ``st_<hash>.lock`` makes concurrent processes wait for one build instead of
  repeating it; the file is written under a temporary name and renamed, never seen half-built;
- readers share it through the OS page cache; DuckDB's buffer pool (bounded by the connection's
  memory_limit) keeps only what queries touch, so a worker's memory does not grow with the data;
- at most ``KEEP`` files per folder are kept (the least recently attached go); the folder goes
  with its version when the publisher prunes old versions.
A database without a file (in-memory, tests) gets a private temporary folder.

A URL can name any date, so the work one process does for them is bounded (``configure``, from
the [serve] settings): at most ``MAX_ATTACHED`` files attached per connection (the least recently
used one not in use by a live request is DETACHed first), one build at a time per process, and a
build stopped after ``BUILD_SECONDS`` (StateBuildTimeout).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import itertools
import os
import shutil
import tempfile
import threading
import uuid
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

import duckdb

KEEP = 64  # a version prepares ~2 files a year (each year as of T and its 同比 date)
MAX_ATTACHED = 8  # per connection
BUILD_SECONDS: float | None = None  # no limit unless configured (serve workers)
BUILD_MEMORY_MB = 1024
RAM_FOLDER = Path("/dev/shm")  # where derived files go while the disk is full (memory-backed)
_ATTACH_LOCK = threading.Lock()
_BUILD_LOCK = threading.Lock()  # one build at a time per process: a burst of dates queues, not piles up
_PRIVATE: dict[str, Path] = {}
_TICKS = itertools.count()
# name -> (last use, the live holders using it: an Indicators per request; gone with it)
_USES: dict[str, tuple[int, weakref.WeakSet]] = {}
_DETACHES = [0]  # how many DETACHes this process made: a catalog look older than that may be stale


class StateBuildTimeout(RuntimeError):
    """A state build ran over BUILD_SECONDS and was stopped. Message in Chinese."""


def configure(max_attached: int, max_files: int, build_seconds: float | None) -> None:
    """The bounds of a serve worker ([serve] max_attached_states, max_state_files, state_build_seconds)."""
    global MAX_ATTACHED, KEEP, BUILD_SECONDS
    MAX_ATTACHED, KEEP, BUILD_SECONDS = max_attached, max_files, build_seconds


def databases(conn: duckdb.DuckDBPyConnection) -> tuple[str | None, set[str], int]:
    """The file behind the connection's current database (None: in-memory), the names of the
    databases attached to it, and when that was looked at (pass it back to ``attach``): one look
    at the catalog per request."""
    with _ATTACH_LOCK:
        rows = conn.execute("SELECT database_name, path, database_name = current_database() "
                            "FROM duckdb_databases()").fetchall()
        seen = _DETACHES[0]
    return next((path or None for _, path, current in rows if current), None), {name for name, _, _ in rows}, seen


def attached_states(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """The state files attached to the connection's database."""
    return [name for (name,) in conn.execute(
        "SELECT database_name FROM duckdb_databases() WHERE database_name LIKE 'st\\_%' ESCAPE '\\'").fetchall()]


def cache_folder(db_path: str | None) -> Path:
    """``<database file>.cache/`` (made on first use), else a private temporary folder (also for
    a version pruned while still being served: its folder must not come back)."""
    if db_path and os.path.exists(db_path):
        folder = Path(db_path + ".cache")
        try:
            folder.mkdir(exist_ok=True)
            if os.access(folder, os.W_OK):
                return folder
        except OSError:
            pass  # a read-only deployment: fall through to a private folder
    key = db_path or "memory"
    with _ATTACH_LOCK:
        if key not in _PRIVATE:
            _PRIVATE[key] = Path(tempfile.mkdtemp(prefix="duban-state-"))
        return _PRIVATE[key]


def file_identity(db_path: str | None) -> str:
    """What makes two looks at the same path the same database: inode, size, modification time.
    A version pruned while still being served (its connection keeps it readable) is its path."""
    if not db_path:
        return "memory"
    try:
        st = os.stat(db_path)
    except OSError:  # gone, or not a path at all (an in-memory database's version string)
        return db_path
    return f"{db_path}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def code_fingerprint(*paths: Path) -> str:
    """The Python and SQL sources at these files/folders: part of every cache key, so an upgrade
    of the code that computes a cached thing never serves what the old code computed."""
    digest = hashlib.sha256()
    for root in paths:
        sources = sorted(p for p in root.rglob("*") if p.suffix in (".py", ".sql")) if root.is_dir() else [root]
        for path in sources:
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def derived_key(version: str | None, settings: object, code: str,
                operator_files: Iterable[Path | None] = (), *parts: object) -> str:
    """THE digest of everything a derived file depends on; every derived file is named by it
    (state files here, stored pages and downloads in dashboard.page_cache):
    ``version`` the database file (its identity: a refresh gives another), ``settings`` what of the
    settings it reads, ``code`` the code_fingerprint of what computes it, ``operator_files`` the
    files an operator edits beside the data (the hand-score file, the alias table, …; each by its
    identity, None: not there), and ``parts`` the rest of the question (T, year, viewer, URL …).
    The first VERSION_DIGITS digits are the version's identity alone (carry_over renames them)."""
    files = tuple(file_identity(str(path)) if path else "" for path in operator_files)
    question = hashlib.sha256(repr((repr(settings), code, files, parts)).encode()).hexdigest()
    return _version_digits(file_identity(version)) + question[VERSION_DIGITS:]


VERSION_DIGITS = 8  # a state file's name keeps 12 more: the question, among the few dozen of one folder


def _version_digits(identity: str) -> str:
    return hashlib.sha256(identity.encode()).hexdigest()[:VERSION_DIGITS]


def schema_name(digest: str) -> str:
    """A state file's schema (and file) name for its derived_key."""
    return "st_" + digest[:20]


def identity_of(version: Path) -> str:
    """The file_identity its derived files are named by: of the resolved path, as the indicator
    layer and the serve workers open a version."""
    return file_identity(str(Path(version).resolve()))


def carry_over(identity: str, built: Path, version: Path) -> None:
    """Give ``version`` the state files built for ``built`` while its identity (``identity_of``)
    was ``identity``, under the names ``version``'s identity gives them: ``version`` is that
    database since renamed (a build published) or written to in tables no derived file reads (the
    figures check's refresh_differences). Any other derived file of ``built`` goes; one that
    cannot be moved is built again when asked."""
    old, new = (schema_name(_version_digits(i)) for i in (identity, identity_of(version)))
    source, target = Path(f"{Path(built).resolve()}.cache"), Path(f"{Path(version).resolve()}.cache")
    if source == target and old == new:
        return
    try:
        target.mkdir(exist_ok=True)
        for path in list(source.glob(f"{old}*.duckdb")):
            os.replace(path, target / (new + path.name[len(old):]))
            path.with_suffix(".lock").unlink(missing_ok=True)
    except OSError:
        pass  # a speed-up only: the preparation after publishing builds what is missing
    if source != target:
        remove(built)


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _attached(conn: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(conn.execute("SELECT 1 FROM duckdb_databases() WHERE database_name = $n", {"n": name}).fetchall())


@contextmanager
def _locked(lock_path: Path, mode: int = fcntl.LOCK_EX) -> Iterator[None]:
    with open(lock_path, "a+b") as fh:  # flock: between processes and between threads (own fd each)
        fcntl.flock(fh, mode)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _use(name: str, holder: object | None) -> None:
    """Note a use of ``name``; ``holder`` (alive while its request runs) keeps it from being
    detached. Under _ATTACH_LOCK."""
    _, holders = _USES.get(name) or (0, weakref.WeakSet())
    if holder is not None:
        holders.add(holder)
    _USES[name] = (next(_TICKS), holders)


def _make_room(conn: duckdb.DuckDBPyConnection) -> None:
    """DETACH the least recently used state files no live holder uses until one more fits within
    MAX_ATTACHED. Under _ATTACH_LOCK."""
    names = attached_states(conn)
    idle = sorted((name for name in names if not len(_USES.get(name, (0, ()))[1])),
                  key=lambda name: _USES.get(name, (0,))[0])
    for name in idle[:max(0, len(names) - MAX_ATTACHED + 1)]:
        conn.execute(f"DETACH DATABASE IF EXISTS {name}")
        _DETACHES[0] += 1


def attach(conn: duckdb.DuckDBPyConnection, name: str, db_path: str | None,
           build: Callable[[duckdb.DuckDBPyConnection, str, str], None],
           holder: object | None = None, seen: tuple[set[str], int] | None = None) -> str:
    """Attach ``name``'s file (beside ``db_path``, the database behind conn) read-only on conn's
    database, building it first when it does not exist: ``build(cursor, target, scratch)`` creates
    its tables in ``target`` reading the database's tables unqualified. ``holder`` keeps it attached
    while it lives; ``seen``: the names and look of ``databases`` (trusted if nothing was detached
    since). Returns ``name``."""
    with _ATTACH_LOCK:
        if (seen is not None and name in seen[0] and seen[1] == _DETACHES[0]) or _attached(conn, name):
            _use(name, holder)
            return name
    try:
        path = _built(conn, db_path, cache_folder(db_path), name, build)
    except (OSError, duckdb.Error) as exc:
        if not is_disk_full(exc) or not RAM_FOLDER.is_dir():
            raise
        # The disk is full: build in memory-backed storage, so the status and pages still answer.
        path = _built(conn, db_path, _ram_folder(db_path), name, build)
    with _ATTACH_LOCK:  # the catalog is shared by every cursor of the database
        if not _attached(conn, name):
            _make_room(conn)
            conn.execute(f"ATTACH {_quote(path)} AS {name} (READ_ONLY)")
            try:
                os.utime(path)  # pruning goes by last attach
            except OSError:
                pass  # pruned meanwhile: stays readable to this connection
        _use(name, holder)
    return name


# No room to write: a full disk, a quota, a file size limit (errno, and how DuckDB words it).
_NO_ROOM = {errno.ENOSPC: "No space left on device", errno.EDQUOT: "Disk quota exceeded", errno.EFBIG: "File too large"}


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` or what caused it is a write that found no room."""
    while exc is not None:
        if (isinstance(exc, OSError) and exc.errno in _NO_ROOM) or any(w in str(exc) for w in _NO_ROOM.values()):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _ram_folder(db_path: str | Path | None) -> Path:
    return RAM_FOLDER / f"duban-{os.getuid()}" / hashlib.sha256(os.path.realpath(str(db_path)).encode()).hexdigest()[:16]


def _built(conn: duckdb.DuckDBPyConnection, db_path: str | None, folder: Path, name: str,
           build: Callable[[duckdb.DuckDBPyConnection, str, str], None]) -> Path:
    """``name``'s file in ``folder``, built now unless it exists (one build of it at a time)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.duckdb"
    if not path.exists():
        with _BUILD_LOCK, _locked(folder / f"{name}.lock"):
            if not path.exists():
                _build(conn, db_path, path, build)
                _prune(folder, keep=path)
    return path


@contextmanager
def preparing(versions: Path) -> Iterator[None]:
    """Held by a refresh from just before it publishes a version until it has prepared it."""
    with _locked(Path(versions) / "prepare.lock", fcntl.LOCK_EX):
        yield


def wait_prepared(versions: Path) -> None:
    """Wait while a refresh publishes and prepares a version: a serve worker warming up on it
    then attaches what the refresh built instead of building the same states itself (with the
    memory that takes)."""
    with _locked(Path(versions) / "prepare.lock", fcntl.LOCK_SH):
        pass


def _builder(conn: duckdb.DuckDBPyConnection, db_path: str | None) -> duckdb.DuckDBPyConnection:
    """Where a build runs: a DuckDB instance of its own reading the database (a serve worker's
    memory_limit is sized for queries; a build's joins and aggregates at a million assignments
    need more, and must not change the worker's setting); an in-memory database: conn itself."""
    if not db_path:
        return conn.cursor()
    own = duckdb.connect(config={"memory_limit": f"{BUILD_MEMORY_MB}MiB"})
    own.execute(f"ATTACH {_quote(Path(db_path))} AS source (READ_ONLY)")
    own.execute("USE source")
    return own


def _build(conn: duckdb.DuckDBPyConnection, db_path: str | None, path: Path,
           build: Callable[[duckdb.DuckDBPyConnection, str, str], None]) -> None:
    """Tables in ``target`` are kept; ``scratch`` is a disk-backed scratch schema deleted afterwards
    (on disk rather than TEMP, so a build can always evict its intermediate tables)."""
    token = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"
    tmp = path.with_name(f"{path.stem}.{token}.tmp")
    scratch_file = path.with_name(f"{path.stem}.{token}.scratch")
    target, scratch = f"build_{token}", f"scratch_{token}"
    cur = _builder(conn, db_path)
    limit = BUILD_SECONDS
    timer = threading.Timer(limit, cur.interrupt) if limit else None
    try:
        cur.execute(f"ATTACH {_quote(tmp)} AS {target} (READ_WRITE)")
        cur.execute(f"ATTACH {_quote(scratch_file)} AS {scratch} (READ_WRITE)")
        if timer is not None:
            timer.start()
        try:
            build(cur, target, scratch)
        except duckdb.InterruptException:
            raise StateBuildTimeout(f"按所选日期计算看板数据超过 {limit:g} 秒, 已停止; "
                                    "请稍后再试, 或改选其他日期。") from None
        finally:
            if timer is not None:
                timer.cancel()
        cur.execute(f"DETACH {target}")
        os.replace(tmp, path)
    finally:
        for name in (target, scratch):
            try:
                cur.execute(f"DETACH DATABASE IF EXISTS {name}")
            except duckdb.Error:
                pass  # the connection is going away anyway
        cur.close()
        for leftover in (tmp, scratch_file):
            leftover.unlink(missing_ok=True)
            leftover.with_name(leftover.name + ".wal").unlink(missing_ok=True)


def _prune(folder: Path, keep: Path) -> None:
    """Keep the KEEP files attached last: an attached one that goes stays readable to its reader."""
    def age(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except FileNotFoundError:  # pruned meanwhile by another process
            return 0.0
    files = sorted(folder.glob("st_*.duckdb"), key=age, reverse=True)
    for old in files[KEEP:]:
        if old != keep:
            old.unlink(missing_ok=True)
            old.with_suffix(".lock").unlink(missing_ok=True)


def remove(db_path: Path | str) -> None:
    """Delete the derived files of a database (a pruned version; a benchmark's cold start)."""
    shutil.rmtree(str(db_path) + ".cache", ignore_errors=True)
    shutil.rmtree(_ram_folder(str(db_path)), ignore_errors=True)

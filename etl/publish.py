"""Atomic publication of a built warehouse version, pruning, and rollback.

A version is written completely to ``FILE.versions/.building-*.duckdb``, renamed to
``vNNNNNN.duckdb``, and only then does the ``FILE`` symbolic link move to it, by renaming a new
link over the old one (rename is atomic on POSIX). Readers therefore see the old version or the
new one, never a half-built file; a build that fails or is killed leaves only a ``.building``
file behind, which the next refresh removes.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from warehouse import statefiles
from warehouse.connection import WarehousePaths


class RefreshBusy(RuntimeError):
    """Another refresh holds the lock."""


@contextmanager
def refresh_lock(paths: WarehousePaths):
    """One refresh at a time per warehouse, across processes (released if the process dies)."""
    paths.lock.parent.mkdir(parents=True, exist_ok=True)
    with open(paths.lock, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RefreshBusy(f"另一次刷新正在进行 (锁文件 {paths.lock}), 请稍后再试") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def new_build_path(paths: WarehousePaths) -> Path:
    paths.versions.mkdir(parents=True, exist_ok=True)
    for stale in paths.versions.glob(".building-*"):  # left by a killed refresh; never published
        if stale.is_dir():  # its spill folder, or the state files of its figures check
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
    return paths.versions / f".building-{os.getpid()}.duckdb"


def discard_build(building: Path) -> None:
    """Remove a build that will not be published (with DuckDB's write-ahead log and the derived
    files of its figures check): on a full disk, its space is what the next refresh and the
    dashboard need."""
    building.unlink(missing_ok=True)
    Path(str(building) + ".wal").unlink(missing_ok=True)
    statefiles.remove(building)


def disk_full_message(paths: WarehousePaths) -> str:
    folder = next(p for p in (paths.versions, paths.link.parent, *paths.link.parent.parents) if p.exists())
    free_mb = shutil.disk_usage(folder).free / 2**20
    return (f"磁盘空间不足: 仓库所在磁盘 ({folder}) 只剩 {free_mb:.1f} MB。本次刷新未发布, 已保留上一版本, "
            f"请腾出空间后再刷新")


def _next_version_name(paths: WarehousePaths) -> str:
    numbers = [int(p.stem[1:]) for p in paths.published_versions() if p.stem[1:].isdigit()]
    return f"v{max(numbers, default=0) + 1:06d}.duckdb"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def point_link(paths: WarehousePaths, version_file: Path) -> None:
    """Atomically make ``FILE`` point at ``version_file`` (relative link, so the folder can move)."""
    tmp_link = paths.link.with_name(f".{paths.link.name}.link-{os.getpid()}")
    tmp_link.unlink(missing_ok=True)
    os.symlink(os.path.relpath(version_file, paths.link.parent), tmp_link)
    os.replace(tmp_link, paths.link)
    _fsync_dir(paths.link.parent)


def publish(paths: WarehousePaths, built: Path, keep_versions: int) -> Path:
    with open(built, "rb+") as handle:
        os.fsync(handle.fileno())
    final = paths.versions / _next_version_name(paths)
    identity = statefiles.identity_of(built)
    os.replace(built, final)
    statefiles.carry_over(identity, built, final)  # before the link moves: readers find them there
    _fsync_dir(paths.versions)
    point_link(paths, final)
    prune(paths, keep_versions)
    return final


def prune(paths: WarehousePaths, keep_versions: int) -> None:
    """Delete versions beyond the newest ``keep_versions`` (never the current one).

    A reader still holding a pruned version keeps reading it: on POSIX the file lives on until
    its last open handle closes.
    """
    current = paths.current_version()
    for old in paths.published_versions()[:-keep_versions]:
        if old.name != current.name:  # by name: --warehouse may be relative, the link's target resolved
            old.unlink(missing_ok=True)
            Path(str(old) + ".wal").unlink(missing_ok=True)
            statefiles.remove(old)


def rollback(paths: WarehousePaths) -> Path:
    """Point the warehouse at the version before the current one."""
    versions = paths.published_versions()
    current = paths.current_version()
    older = [v for v in versions if v.name < current.name]  # by name, as in prune
    if not older:
        raise RuntimeError("没有更早的已发布版本可以回滚")
    point_link(paths, older[-1])
    return older[-1]

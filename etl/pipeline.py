"""One refresh: inbox → archive → parse (cached by content) → build a version → publish atomically.

The file-level steps (etl/read.py → recognise.py → normalise.py, joined in etl/parse.py) run once
per distinct file content; their results are cached in the archive. A refresh then builds a new
version (etl/stage.py, etl/sql/build/) and publishes it in one step (etl/publish.py).

The new version extends the published one with the files received since, when it can: the
published version was built with the same parser, alias tables, settings and build code (its
fingerprint), from the files that come first in the archive's order, and the new files bring no
register rows. Otherwise, and for ``duban etl rebuild``, every table is built from all archived
files. Both give the same tables, independent of the order files arrived in.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Callable

import duckdb

from duban.core.settings import Settings
from etl import provenance
from etl.archive import Archive, ArchivedFile, NotReceived, inbox_files
from etl import guard
from etl.model import KIND_LABELS, REGISTER, ParsedFile
from etl.names import one_line
from etl.parse import Parser, ParseJob, ParsePool, parse_file
from etl.publish import (disk_full_message, discard_build, new_build_path, publish,
                         refresh_lock)
from etl.stage import (FINGERPRINT_TABLE, BuildCounts, build_fingerprint, build_version, read_unit_aliases,
                       unit_names_report)
from warehouse import statefiles
from warehouse.connection import WarehouseMissing, WarehousePaths

# Bump when parsing changes meaning, so cached parses are redone.
PARSER_VERSION = "2"
ETL_DEFAULTS = Path(__file__).with_name("defaults")
# The dashboard's state is prepared below the serve workers' priority: they answer first.
PREPARE_NICENESS = 10


class RefreshFailed(RuntimeError):
    """The refresh did not publish; the previous version is untouched. Message in Chinese."""


class RefreshHeld(RefreshFailed):
    """Built, but the differences look wrong (etl/guard.py): not published until accepted."""

    def __init__(self, review: guard.Review):
        super().__init__(review.reason())
        self.review = review

    def log_fields(self) -> dict:
        return {"status": "暂缓发布", "differences": self.review.differences, "held": self.review.held}


def _hold_if_wrong(paths: WarehousePaths, building: Path, compare: guard.FiguresOf, settings: Settings,
                   accept: bool, progress: Callable[[str], None]) -> None:
    """Print what the built version changes against the published one; hold it (RefreshHeld)
    when that looks wrong and the operator has not accepted it."""
    try:
        published = paths.current_version()
    except WarehouseMissing:
        published = None
    review = guard.check(published, building, compare, guard.thresholds(settings))
    progress(review.summary())
    if review.held and not accept:
        raise RefreshHeld(review)
    if review.held:
        progress("已确认 (--accept), 照常发布: " + "; ".join(review.held))


def _in_folder(settings: Settings, home: Path | None) -> Settings:
    """The settings whose operator folder is ``home`` when one is named: the parse workers read
    the alias tables there (through the settings they are handed), the fingerprint hashes them."""
    return settings if home is None else replace(settings, home=Path(home))


@dataclass
class RefreshReport:
    version: Path
    seconds: float
    files_new: int
    counts: BuildCounts
    rejected_files: list[tuple[str, str]] = field(default_factory=list)
    held_files: list[provenance.Hold] = field(default_factory=list)  # waiting for a supervisor, not built
    prepare_seconds: float | None = None  # after publishing: the dashboard's state for today (None: failed or not asked)


def _at_lower_priority(work: Callable[[], float]) -> float:
    """``work()`` in a thread of its own at a lower CPU priority. On Linux a nice value belongs to
    a thread and the threads it starts: DuckDB's, created when the preparation opens the version."""
    outcome: dict = {}

    def run() -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), PREPARE_NICENESS)
            outcome["value"] = work()
        except Exception as exc:  # handed to the caller
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="prepare")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _prepare(version: Path, after_publish: Callable[[Path], float], progress: Callable[[str], None]) -> float | None:
    """``after_publish(version)``: the published version's state for today (the caller's: the
    indicator layer is above etl), built now rather than by the first dashboard request, below the
    serve workers' CPU priority so that a storm of refreshes does not starve serving (one at a time:
    the refresh holds its lock meanwhile). Already published: a failure here costs only that first
    request's wait."""
    try:
        seconds = _at_lower_priority(lambda: after_publish(version))
    except Exception as exc:  # reported; the refresh itself has succeeded
        progress(f"预先计算看板数据失败 (不影响本次刷新, 看板会在首次访问时计算): {exc}")
        return None
    progress(f"已预先计算看板所需的当日数据 ({seconds:.1f} 秒)")
    return seconds


def _check_table(path: Path, content: bytes) -> None:
    """An operator's alias table that cannot be read stops the refresh with the reason, rather than
    being skipped quietly (its spellings would then be rejected row by row with no hint why)."""
    try:
        tomllib.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RefreshFailed(f"别名表 {path} 格式有误, 请改正后再刷新: {exc}") from None


def parser_fingerprint(settings: Settings, home: Path | None = None) -> str:
    """Everything that changes what a file parses to: parser version, the shipped alias tables
    and the operator's tables of the same name under ``home`` (default: the settings' folder), settings."""
    digest = hashlib.sha256(PARSER_VERSION.encode())
    folder = home or settings.home
    for shipped in sorted(ETL_DEFAULTS.glob("*.toml")):
        operator_copy = [("home", folder / shipped.name)] if folder is not None else []
        # Named by role, not absolute path: moving the installation must not re-parse everything.
        for origin, path in (("shipped", shipped), *operator_copy):
            if path.is_file():
                content = path.read_bytes()
                _check_table(path, content)
                digest.update(f"{origin}:{path.name}:".encode() + content)
    # The parse limits too: a file rejected for overrunning them is read again once they are raised.
    digest.update(repr((settings.result_scheme, settings.city_names, settings.max_file_mb,
                        settings.max_rows, settings.parse_memory_mb, settings.parse_seconds)).encode())
    return digest.hexdigest()[:16]


def _previous_refreshes(paths: WarehousePaths, progress: Callable[[str], None]) -> list[tuple]:
    """The published version's refresh history, carried into a full build; none if it is damaged
    (a rebuild must never need the version it replaces)."""
    try:
        current = paths.current_version()
    except WarehouseMissing:
        return []
    try:
        with duckdb.connect(str(current), read_only=True) as con:
            return con.execute("SELECT * FROM refreshes ORDER BY refresh_id").fetchall()
    except duckdb.Error as exc:
        progress(f"上一版本 {current.name} 无法读取, 新版本不带以往的刷新记录 "
                 f"(duban etl status 仍列出它们): {one_line(exc)[:200]}")
        return []


def _damage(con: duckdb.DuckDBPyConnection) -> None:
    """Read every column of every row of every table: DuckDB checks each block's checksum as it
    reads it, so a damaged block raises here instead of being copied into the next version."""
    tables = con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()
    for (name,) in tables:
        con.execute(f'SELECT count(hash(t)) FROM "{name}" AS t').fetchall()


def _extendable_version(paths: WarehousePaths, entries: list[ArchivedFile], fingerprint: str,
                        progress: Callable[[str], None]) -> tuple[Path, int] | None:
    """The published version and how many files it holds, if it was built with ``fingerprint``
    from the first of ``entries`` (so the rest can be appended with the ids a full build gives)
    and reads back whole."""
    try:
        current = paths.current_version()
    except WarehouseMissing:
        return None
    try:
        with duckdb.connect(str(current), read_only=True) as con:
            try:
                [(built_with,)] = con.execute(f"SELECT fingerprint FROM {FINGERPRINT_TABLE}").fetchall()
                built = [sha for (sha,) in con.execute("SELECT sha256 FROM files ORDER BY file_id").fetchall()]
            except duckdb.CatalogException:  # built before versions carried a fingerprint
                return None
            if built_with != fingerprint or built != [entry.sha256 for entry in entries[:len(built)]]:
                return None
            _damage(con)
    except (duckdb.Error, ValueError) as exc:
        progress(f"上一版本 {current.name} 已损坏或无法完整读取, 全部数据重新生成: {one_line(exc)[:200]}")
        return None
    return current, len(built)


def _parse(archive: Archive, entries: list[ArchivedFile], first_id: int, fingerprint: str, settings: Settings,
           progress: Callable[[str], None], parser: Parser) -> list[tuple[int, ArchivedFile, ParsedFile]]:
    """The parse of each entry, from the cache or read now in worker processes (etl.parse.ParsePool);
    numbered from ``first_id``. Every result is cached, a crash or an overrun limit included, so
    a file that broke the parser is not read again until the parser changes."""
    parsed = {entry.sha256: archive.load_parsed(fingerprint, entry.sha256, rows=False) for entry in entries}
    jobs = [(entry.sha256, ParseJob(archive.path_of(entry.sha256), entry.original_name,
                                    datetime.fromisoformat(entry.file_mtime) if entry.file_mtime else None))
            for entry in entries if parsed[entry.sha256] is None]
    if jobs:
        with ParsePool(settings, parser) as pool:
            for parsed_now, (sha, result) in enumerate(pool.parse(jobs), start=1):
                archive.store_parsed(fingerprint, sha, result)
                parsed[sha] = _rows_aside(result)
                if parsed_now % 50 == 0:
                    progress(f"已读取 {parsed_now} 个新文件 …")
    return [(file_id, entry, parsed[entry.sha256]) for file_id, entry in enumerate(entries, start=first_id)]


def _rows_aside(parsed: ParsedFile | None) -> ParsedFile | None:
    """A parse without its rows: they stay in the archive's cache until they are needed (screening
    a register, binding, staging: ``_with_rows``, one file at a time), so a refresh holds one
    file's rows, not every file's (issue 18: ten registers of 500,000 rows took 3.9 GB)."""
    if parsed is None or parsed.error:
        return parsed
    return replace(parsed, rows=None)


def _with_rows(archive: Archive, fingerprint: str) -> Callable[[ArchivedFile, ParsedFile], ParsedFile]:
    """Gives a parse its rows back from ``archive``'s cache when ``_rows_aside`` left them there."""
    def with_rows(entry: ArchivedFile, parsed: ParsedFile) -> ParsedFile:
        if parsed.error or parsed.rows is not None:
            return parsed
        stored = archive.load_parsed(fingerprint, entry.sha256)
        return replace(parsed, rows=stored.rows if stored is not None else None)
    return with_rows


def _adds_register_rows(parsed: list[tuple[int, ArchivedFile, ParsedFile]],
                        with_rows: Callable[[ArchivedFile, ParsedFile], ParsedFile]) -> bool:
    for _, entry, p in parsed:
        if p.kind == REGISTER and not p.error:
            rows = with_rows(entry, p).rows
            if rows is not None and rows.height:
                return True
    return False


def _what_to_build(archive: Archive, paths: WarehousePaths, parser_print: str, fingerprint: str,
                   settings: Settings, unit_aliases: dict[str, str], rebuild: bool, progress: Callable[[str], None],
                   parser: Parser) -> tuple[Path | None, Iterator[tuple[int, ArchivedFile, ParsedFile]], list[provenance.Hold]]:
    """The published version to extend (None: build from all files), the parsed files to add (read
    back one at a time as the build stages them), and the new files held for a supervisor
    (etl/provenance.py: withdrawn and held files are left out)."""
    # Files in order of receipt (the stable sort keeps the manifest's order within one second).
    entries = sorted(archive.manifest().values(), key=lambda e: e.received_at)
    withdrawn = provenance.read_decisions(archive).withdrawn
    entries = [e for e in entries if e.sha256 not in withdrawn]
    try:
        in_force = provenance.InForce.read(paths.current_version())
    except WarehouseMissing:
        in_force = provenance.InForce()
    new = _parse(archive, [e for e in entries if e.sha256 not in in_force.files], 1, parser_print, settings, progress,
                 parser)
    with_rows = _with_rows(archive, parser_print)
    holds = provenance.screen(archive, [(e, p) for _, e, p in new], in_force, settings, unit_aliases, with_rows)
    if holds:
        progress(f"{len(holds)} 个文件待督办人员确认, 本次不载入 (原因见 duban etl status)")
    held = {hold.entry.sha256 for hold in holds}
    entries = [e for e in entries if e.sha256 not in held]
    extendable = None if rebuild else _extendable_version(paths, entries, fingerprint, progress)
    if extendable is not None:
        version, built = extendable
        added = _parse(archive, entries[built:], built + 1, parser_print, settings, progress, parser)
        if not _adds_register_rows(added, with_rows):
            progress(f"共 {len(entries)} 个文件, 在上一版本上加入 {len(added)} 个, 正在生成新版本 …")
            return version, provenance.bind_all(added, in_force, settings, unit_aliases, with_rows), holds
        progress("收到新的交办台账, 全部数据重新生成 …")
    parsed = _parse(archive, entries, 1, parser_print, settings, progress, parser)
    progress(f"共 {len(parsed)} 个文件, 正在生成新版本 …")
    return None, provenance.bind_all(parsed, in_force, settings, unit_aliases, with_rows), holds


def run_refresh(
    warehouse: Path,
    settings: Settings,
    inbox: Path | None = None,
    home: Path | None = None,
    progress: Callable[[str], None] = lambda message: None,
    rebuild: bool = False,
    compare: guard.FiguresOf | None = None,
    accept: bool = False,
    parser: Parser = parse_file,
    before_publish: Callable[[], None] | None = None,
    trusted_folders: Sequence[Path] = (),
    after_publish: Callable[[Path], float] | None = None,
) -> RefreshReport:
    """Receive the inbox (if given), then build and publish a new version. All or nothing.

    ``parser`` reads one file (in a worker process: a module-level function); ``before_publish``
    runs just before publishing (tests stop, fail or fill the disk there); ``after_publish(version)``
    prepares what readers need of the published version and returns its seconds (the CLI passes the
    indicator layer's ``prepare_version``), as ``compare`` brings its figures: etl imports neither.

    Files under ``trusted_folders`` or the settings' ``[etl] trusted_inboxes`` come from a trusted
    source: only they (and supervisors' uploads) may bring a register or evaluation without a
    supervisor's acceptance (etl/provenance.py)."""
    settings = _in_folder(settings, home)
    paths = WarehousePaths(Path(warehouse))
    paths.link.parent.mkdir(parents=True, exist_ok=True)
    started = datetime.now()
    clock = time.perf_counter()
    with refresh_lock(paths), ExitStack() as publishing:
        archive = Archive(paths.archive)
        building = None
        try:
            if rebuild:
                archive.drop_parsed()
            files_new = 0
            if inbox is not None:
                if not inbox.is_dir():
                    raise RefreshFailed(f"收件目录 {inbox} 不存在或不是目录")
                candidates = inbox_files(inbox)
                progress(f"收件目录中有 {len(candidates)} 个文件")
                trusted = [*trusted_folders, *provenance.trusted_inboxes(settings)]
                for path in candidates:
                    try:
                        files_new += provenance.receive_from_inbox(archive, path, inbox, trusted)
                    except NotReceived as skipped:  # a symbolic link, a pipe: never archived
                        progress(str(skipped))
                progress(f"新收到 {files_new} 个文件 (内容相同的文件只收一次)")
            parser_print = parser_fingerprint(settings)
            unit_aliases = read_unit_aliases(settings.home)
            fingerprint = build_fingerprint(parser_print, settings, unit_aliases)
            extend, parsed, holds = _what_to_build(archive, paths, parser_print, fingerprint, settings, unit_aliases,
                                                   rebuild, progress, parser)
            building = new_build_path(paths)
            counts, rejected_files = build_version(
                building, parsed, settings, unit_aliases, fingerprint, started, files_new, extend=extend,
                previous_refreshes=[] if extend else _previous_refreshes(paths, progress))
            if before_publish is not None:
                before_publish()
            if compare is not None:  # compare(version file) → the figures etl/guard.py compares
                _hold_if_wrong(paths, building, compare, settings, accept, progress)
            # Serve workers that see the new link wait for _prepare below instead of building
            # the same states themselves (statefiles.wait_prepared).
            publishing.enter_context(statefiles.preparing(paths.versions))
            version = publish(paths, building, settings.keep_versions)
        except Exception as exc:
            if building is not None:
                discard_build(building)
            if statefiles.is_disk_full(exc):
                exc = RefreshFailed(disk_full_message(paths))
            try:
                archive.log_refresh({"started_at": started, "status": "失败", "error": str(exc),
                                     **(exc.log_fields() if isinstance(exc, RefreshHeld) else {})})
            except OSError:
                pass  # the disk is full: the reason still reaches the operator below
            if isinstance(exc, RefreshFailed):
                raise exc
            raise RefreshFailed(f"刷新失败, 已保留上一版本: {exc}") from exc
        seconds = time.perf_counter() - clock
        archive.log_refresh({
            "started_at": started, "status": "成功", "version": version.name, "seconds": round(seconds, 2),
            "files": counts.files, "files_new": files_new, "rows_read": counts.rows_read,
            "loaded": counts.loaded, "superseded": counts.superseded, "rejected": counts.rejected,
            "files_rejected": counts.files_rejected, "files_held": len(holds),
        })
        return RefreshReport(version, seconds, files_new, counts, rejected_files, holds,
                             prepare_seconds=_prepare(version, after_publish, progress) if after_publish else None)


@dataclass
class FilePlan:
    """What a refresh would do with one inbox file (``check_inbox``)."""

    original_name: str
    kind_label: str | None
    sender_unit: str | None
    report_date: str | None
    report_date_source: str | None
    blocks: list[str]
    rows_read: int
    rows_loaded: int
    rows_superseded: int
    rows_rejected: int
    reject_reason: str | None  # the whole file
    reasons: list[str]  # the rows' (first CHECK_REASONS)
    notes: list[str]


CHECK_REASONS = 50


def check_inbox(inbox: Path, settings: Settings, home: Path | None = None, warehouse: Path | None = None,
                parser: Parser = parse_file, trusted: bool = False) -> dict:
    """What ``run_refresh`` would do with every file of ``inbox``, without archiving or publishing:
    kind, sender, report date, tables found, rows that would load or be rejected and why, the
    place names inferred and the unit spellings left unknown with their candidates. With
    ``warehouse``, the files already archived there count too (a unit's export resolves against
    the register in force). The trial build is written to a temporary folder and removed."""
    if not inbox.is_dir():
        raise RefreshFailed(f"收件目录 {inbox} 不存在或不是目录")
    settings = _in_folder(settings, home)
    with tempfile.TemporaryDirectory(prefix="duban-check-") as scratch:
        trial = Archive(Path(scratch) / "archive")
        names = {}
        for path in inbox_files(inbox):
            try:
                entry, _ = trial.receive(path, inbox, trusted=trusted)
            except NotReceived as skipped:
                names.setdefault(None, []).append(str(skipped))
                continue
            names[entry.sha256] = entry
        parser_print = parser_fingerprint(settings)
        unit_aliases = read_unit_aliases(settings.home)
        fingerprint = build_fingerprint(parser_print, settings, unit_aliases)
        earlier: list[tuple[int, ArchivedFile, ParsedFile]] = []
        if warehouse is not None:
            archive = Archive(WarehousePaths(Path(warehouse)).archive)
            entries = [e for e in sorted(archive.manifest().values(), key=lambda e: e.received_at)
                       if e.sha256 not in names and e.sha256 not in provenance.read_decisions(archive).withdrawn]
            with_rows = _with_rows(archive, parser_print)
            earlier = [(i, e, with_rows(e, p)) for i, e, p in
                       _parse(archive, entries, 1, parser_print, settings, lambda m: None, parser)]
        new = [e for sha, e in names.items() if sha is not None]
        added = _parse(trial, new, len(earlier) + 1, parser_print, settings, lambda m: None, parser)
        with_trial_rows = _with_rows(trial, parser_print)
        staged = chain(earlier, ((i, e, with_trial_rows(e, p)) for i, e, p in added))
        build_version(Path(scratch) / "check.duckdb", staged, settings, unit_aliases, fingerprint,
                      datetime.now(), len(added), extend=None, previous_refreshes=[])
        with duckdb.connect(str(Path(scratch) / "check.duckdb"), read_only=True) as con:
            return _plan(con, added, len(earlier), trusted, skipped=names.get(None, []))


def _plan(con: duckdb.DuckDBPyConnection, added: list[tuple[int, ArchivedFile, ParsedFile]], first_new: int,
          trusted: bool, skipped: list[str]) -> dict:
    outcomes = {file_id: dict(zip(("loaded", "superseded", "rejected"), counts)) for file_id, *counts in con.execute(
        "SELECT file_id, count(*) FILTER (outcome = 'loaded'), count(*) FILTER (outcome = 'superseded'), "
        "count(*) FILTER (outcome = 'rejected') FROM row_outcomes WHERE file_id > ? GROUP BY file_id",
        [first_new]).fetchall()}
    reasons: dict[int, list[str]] = {}
    for file_id, reason in con.execute(
            "SELECT file_id, reason FROM row_outcomes WHERE file_id > ? AND outcome = 'rejected' "
            "ORDER BY file_id, sheet NULLS FIRST, row_no", [first_new]).fetchall():
        reasons.setdefault(file_id, []).append(reason)
    senders = dict(con.execute("SELECT file_id, sender_unit FROM files WHERE file_id > ?", [first_new]).fetchall())
    plans = []
    for file_id, entry, parsed in added:
        counts = outcomes.get(file_id, {})
        notes = list(parsed.notes)
        if parsed.kind in provenance.AUTHORITATIVE and not trusted and not parsed.error:
            notes.append(f"{KIND_LABELS[parsed.kind]}来自未标为受信任的收件目录: 刷新时将待督办人员确认后才载入")
        plans.append(asdict(FilePlan(
            original_name=entry.original_name, kind_label=KIND_LABELS.get(parsed.kind or ""),
            sender_unit=senders.get(file_id) or parsed.sender_unit,
            report_date=parsed.report_date.isoformat() if parsed.report_date else None,
            report_date_source=parsed.report_date_source, blocks=parsed.blocks, rows_read=parsed.rows_read,
            rows_loaded=counts.get("loaded", 0), rows_superseded=counts.get("superseded", 0),
            rows_rejected=counts.get("rejected", 0), reject_reason=parsed.error,
            reasons=reasons.get(file_id, [])[:CHECK_REASONS], notes=notes)))
    return {"published": False, "files": plans, "skipped": skipped, **unit_names_report(con)}


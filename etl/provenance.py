"""Provenance: who sent each archived file, and what one file may change.

- **Trust.** A register (交办台账) or a congress evaluation (满意度测评) is authoritative only from a
  trusted source: a trusted inbox folder (``duban etl run --trusted``, ``[etl] trusted_inboxes``), a
  pull source marked ``trusted = true``, a supervisor's upload. From anywhere else it is *held*:
  archived, in no build, listed with the reason until a supervisor accepts it.
- **The authority does not move silently.** Whatever its source, a register that would move
  suggestions of the register in force (the published version) to other units or drop their
  assignments, or that is dated in the future, is held until a supervisor accepts it; the
  acceptance records the changes it was shown.
- **Binding.** A unit account's upload, and a file in a shared inbox's per-unit subfolder
  (``收件/市教育局/…``), speak for that unit only: rows claiming another unit are rejected, a file
  claiming another unit is rejected whole, with a reason naming both; such a file is never trusted.
- **Withdrawal.** A withdrawn file is left out of every later build; it stays archived for audit.

The decisions are kept next to the manifest in ``decisions.jsonl``, append-only: ``held`` (written by
a refresh, with the reason and the changes), ``accepted`` and ``withdrawn`` (who, why, when).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import string
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl

from duban.core.settings import Settings, SettingsError
from etl.archive import Archive, ArchivedFile
from etl.model import EVALUATION, KIND_LABELS, REGISTER, UNIT_EXPORT, ParsedFile, RowReject
from etl.normalise import unit_key
from etl.recognise import unit_from_filename

HELD, ACCEPTED, WITHDRAWN = "held", "accepted", "withdrawn"
AUTHORITATIVE = (REGISTER, EVALUATION)
DECISIONS_FILE = "decisions.jsonl"
# A hash given on the command line: at least this many leading hex digits.
MIN_HASH_PREFIX = 8
# Report-date sources that the sender wrote (a file's time is only the last resort, not a claim).
WRITTEN_DATE_SOURCES = ("单元格", "标题", "文件名")


class ProvenanceError(ValueError):
    """A withdraw/accept/upload request that cannot be done; the message is for the operator (Chinese)."""


# ── the decisions file ────────────────────────────────────────────────────────────────────────


def _decisions_path(archive: Archive) -> Path:
    return archive.root / DECISIONS_FILE


def _append(archive: Archive, record: dict) -> dict:
    """One JSON line in a single write: a dashboard worker and a refresh may append at once."""
    record = {"at": datetime.now().isoformat(timespec="seconds"), **record}
    path = _decisions_path(archive)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8"))
    finally:
        os.close(fd)
    return record


@dataclass
class Decisions:
    """The decisions in force, per content hash: the latest hold of each file not accepted or
    withdrawn since, the acceptances and the withdrawals."""

    held: dict[str, dict] = field(default_factory=dict)
    accepted: dict[str, dict] = field(default_factory=dict)
    withdrawn: dict[str, dict] = field(default_factory=dict)


def read_decisions(archive: Archive) -> Decisions:
    decisions = Decisions()
    path = _decisions_path(archive)
    if not path.exists():
        return decisions
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        sha, action = record["sha256"], record["action"]
        if action == HELD:
            decisions.held[sha] = record
        elif action == ACCEPTED:
            decisions.accepted[sha] = record
            decisions.held.pop(sha, None)
        elif action == WITHDRAWN:
            decisions.withdrawn[sha] = record
            decisions.held.pop(sha, None)
    return decisions


# ── trust of received files ───────────────────────────────────────────────────────────────────


def trusted_inboxes(settings: Settings) -> list[Path]:
    """``[etl] trusted_inboxes``: folders whose files are trusted (and everything below them)."""
    folders = (settings.raw.get("etl") or {}).get("trusted_inboxes", [])
    if not (isinstance(folders, list) and all(isinstance(f, str) and f for f in folders)):
        raise SettingsError(f"设置 [etl] trusted_inboxes 应为目录列表, 现为 {folders!r}")
    return [Path(f) for f in folders]


def is_trusted_path(path: Path, trusted_folders: Iterable[Path]) -> bool:
    resolved = Path(os.path.abspath(path))
    return any(resolved.is_relative_to(os.path.abspath(folder)) for folder in trusted_folders)


def is_trusted(entry: ArchivedFile) -> bool:
    """Trusted source; entries archived before provenance was recorded (None) count as trusted."""
    return entry.trusted is not False and entry.unit is None


def note_trusted_resend(archive: Archive, entry: ArchivedFile, origin: str) -> None:
    """Content first received from an untrusted source and now sent again by a trusted one: the
    trusted source vouches for it (recorded as accepted by that source)."""
    if entry.trusted is False and entry.sha256 not in read_decisions(archive).accepted:
        _append(archive, {"action": ACCEPTED, "sha256": entry.sha256, "name": entry.original_name,
                          "by": origin, "why": "受信任来源再次报送同一文件"})


# ── the register in force ─────────────────────────────────────────────────────────────────────


@dataclass
class InForce:
    """What the published version holds: its files (by hash), each suggestion's units and roles,
    every unit name, and the sessions of each year."""

    files: set[str] = field(default_factory=set)
    units: set[str] = field(default_factory=set)
    sessions_by_year: dict[int, set[str]] = field(default_factory=dict)
    places: tuple[str, ...] = ()  # the place prefixes the version matched unit spellings with
    version: Path | None = None

    @cached_property
    def units_of(self) -> dict[tuple[str, int], dict[str, str]]:
        """Each suggestion's units and roles by (session, number), read when first asked: only a new
        register is compared with them, and at a million assignments they take seconds to read."""
        units_of: dict[tuple[str, int], dict[str, str]] = {}
        if self.version is None:
            return units_of
        try:
            with duckdb.connect(str(self.version), read_only=True) as con:
                for session, number, unit, role in con.execute(
                        "SELECT s.session, s.number, a.unit, a.role FROM assignments a JOIN suggestions s USING (suggestion_id)"
                ).fetchall():
                    units_of.setdefault((session, number), {})[unit] = role
        except duckdb.Error:  # damaged: as in ``read``, nothing in force
            return {}
        return units_of

    @classmethod
    def read(cls, version: Path | None) -> "InForce":
        force = cls(version=version)
        if version is None:
            return force
        try:
            with duckdb.connect(str(version), read_only=True) as con:
                force.files = {sha for (sha,) in con.execute("SELECT sha256 FROM files").fetchall()}
                force.units = {unit for (unit,) in con.execute("SELECT unit FROM units").fetchall()}
                for session, year in con.execute("SELECT session, year FROM sessions").fetchall():
                    force.sessions_by_year.setdefault(year, set()).add(session)
                force.places = tuple(name for (name,) in con.execute("SELECT name FROM place_names").fetchall())
        except duckdb.Error:  # a damaged version holds nothing in force: every file is screened as new
            return cls()
        return force


class UnitNames:
    """Whether two spellings name one unit: the operator's alias table, then etl/normalise.py's
    unit_key (the same matching the build uses)."""

    def __init__(self, settings: Settings, aliases: dict[str, str], places: Iterable[str] = ()):
        self.cities = (*settings.city_names, *places)
        self.aliases = aliases
        self.alias_by_key = {unit_key(alias, self.cities): target for alias, target in aliases.items()}

    def key(self, name: str) -> str:
        target = self.aliases.get(name) or self.alias_by_key.get(unit_key(name, self.cities)) or name
        return unit_key(target, self.cities)

    def same(self, a: str, b: str) -> bool:
        return self.key(a) == self.key(b)


# ── screening the files of a refresh ──────────────────────────────────────────────────────────


@dataclass
class Hold:
    entry: ArchivedFile
    reason: str
    changes: list[str] = field(default_factory=list)


def bound_unit(entry: ArchivedFile, names: UnitNames, known_units: Iterable[str]) -> tuple[str, str] | None:
    """(unit, how) that a file speaks for: a unit account's upload, or a per-unit subfolder of a
    shared inbox (the first folder of its path that names a known unit)."""
    if entry.unit:
        return entry.unit, f"由 {entry.unit} 的账号上传"
    keys = {names.key(unit) for unit in known_units}
    for folder in Path(entry.inbox_path).parts[:-1]:
        if names.key(folder) in keys:
            return folder, f"放在 {folder} 的收件子目录中"
    return None


def bind(entry: ArchivedFile, parsed: ParsedFile, names: UnitNames, known_units: Iterable[str]) -> ParsedFile:
    """A unit export as far as its binding allows: rows claiming another unit than the one the
    file speaks for are rejected, and a file that claims another unit is rejected whole."""
    bound = bound_unit(entry, names, known_units)
    if bound is None or parsed.error or parsed.kind != UNIT_EXPORT or parsed.rows is None:
        return parsed
    unit, how = bound
    if parsed.sender_unit and not names.same(parsed.sender_unit, unit):
        return replace(parsed, rows=None, error=f"文件《{entry.original_name}》{how}, 但写明的报送单位是 "
                                                 f"{parsed.sender_unit}: 一个单位只能报送本单位的办理情况, 已整体拒收")
    claims = parsed.rows.get_column("unit")
    foreign = pl.Series([bool(u) and not names.same(u, unit) for u in claims.to_list()], dtype=pl.Boolean)
    if not foreign.any():
        return parsed
    if foreign.all():
        others = "、".join(sorted(set(claims.to_list())))
        return replace(parsed, rows=None, error=f"文件《{entry.original_name}》{how}, 但每一行都写的是 {others}"
                                                 f": 一个单位只能报送本单位的办理情况, 已整体拒收")
    rejects = [RowReject(r["sheet"], r["row_no"], "承办单位", r["unit"],
                         f"第{r['row_no']}行 承办单位 {r['unit']} 与文件来源不符 (文件{how})")
               for r in parsed.rows.filter(foreign).iter_rows(named=True)]
    return replace(parsed, rows=parsed.rows.filter(~foreign), rejects=[*parsed.rejects, *rejects])


def _session_of(row: dict, force: InForce) -> str | None:
    session = row.get("session") or row.get("session_hint")
    if session:
        return session
    year = row.get("year") or row.get("year_hint")
    sessions = force.sessions_by_year.get(year, set())
    return next(iter(sessions)) if len(sessions) == 1 else None


def register_changes(parsed: ParsedFile, force: InForce, names: UnitNames) -> list[str]:
    """What the register would move or drop of the register in force, one line per suggestion
    and role (``十八届一次 第12号 主办单位 市教育局 → 市公安局``)."""
    changes = []
    for row in parsed.rows.iter_rows(named=True):
        session = _session_of(row, force)
        before = force.units_of.get((session, row["number"]))
        if not before:
            continue
        leads = [u for u in row["lead_units"] or [] if u]
        cos = [u for u in row["co_units"] or [] if u]
        after = {names.key(u) for u in leads + cos}
        lead_keys = {names.key(u) for u in leads}
        old_leads = sorted(u for u, role in before.items() if role != "协办")
        old_cos = sorted(u for u, role in before.items() if role == "协办")
        label = f"{session} 第{row['number']}号"
        if any(names.key(u) not in lead_keys for u in old_leads):
            changes.append(f"{label} 主办单位 {'、'.join(old_leads)} → {'、'.join(leads) or '(无)'}")
        dropped = [u for u in old_cos if names.key(u) not in after]
        if dropped:
            changes.append(f"{label} 协办单位 {'、'.join(dropped)} 被删除")
    return changes


def _future_date(parsed: ParsedFile, today: date) -> date | None:
    dates = [parsed.report_date] if parsed.report_date_source in WRITTEN_DATE_SOURCES else []
    if parsed.rows is not None and "assigned_date" in parsed.rows.columns:
        dates.append(parsed.rows.get_column("assigned_date").max())
    future = [d for d in dates if d is not None and d > today]
    return max(future) if future else None


def hold_reason(entry: ArchivedFile, parsed: ParsedFile, force: InForce, names: UnitNames,
                known_units: Iterable[str], today: date) -> Hold | None:
    """Why a new file must wait for a supervisor (None: it may be used)."""
    if parsed.error or parsed.kind not in AUTHORITATIVE or parsed.rows is None or not parsed.rows.height:
        return None
    label = KIND_LABELS[parsed.kind]
    bound = bound_unit(entry, names, known_units)
    if not is_trusted(entry) or bound is not None:
        source = bound[1] if bound else f"来自 {entry.source or entry.inbox_path}"
        return Hold(entry, f"{label}只采用受信任来源的文件, 本文件{source}, 不是受信任来源; 需督办人员确认后载入")
    if parsed.kind != REGISTER:
        return None
    future = _future_date(parsed, today)
    if future is not None:
        return Hold(entry, f"交办台账的日期 {future.isoformat()} 晚于今天; 需督办人员确认后载入")
    changes = register_changes(parsed, force, names)
    if changes:
        return Hold(entry, f"交办台账将改变 {len(changes)} 处已交办的承办单位; 需督办人员确认这些变更后载入", changes)
    return None


RowsOf = Callable[[ArchivedFile, ParsedFile], ParsedFile]


def _as_parsed(entry: ArchivedFile, parsed: ParsedFile) -> ParsedFile:
    return parsed


def register_units(files: Iterable[tuple[ArchivedFile, ParsedFile]], with_rows: RowsOf = _as_parsed) -> set[str]:
    """The units the registers among ``files`` name (their rows read one file at a time)."""
    units: set[str] = set()
    for entry, p in files:
        if p.kind != REGISTER or p.error:
            continue
        rows = with_rows(entry, p).rows
        if rows is not None:
            for column in ("lead_units", "co_units"):
                units.update(u for u in rows.get_column(column).explode().drop_nulls().unique().to_list() if u)
    return units


def screen(archive: Archive, new: Sequence[tuple[ArchivedFile, ParsedFile]], force: InForce, settings: Settings,
           aliases: dict[str, str], with_rows: RowsOf = _as_parsed, today: date | None = None) -> list[Hold]:
    """The new files (not in the published version) that must wait: not accepted, and untrusted
    or moving the authority. Each hold is recorded (once per file and reason). ``with_rows``
    gives a file's rows where ``new`` holds them aside."""
    today = today or date.today()
    decisions = read_decisions(archive)
    names = UnitNames(settings, aliases, force.places)
    known = force.units | register_units(new, with_rows)
    holds = []
    for entry, parsed in new:
        if entry.sha256 in decisions.accepted:
            continue
        if parsed.kind in AUTHORITATIVE:
            parsed = with_rows(entry, parsed)
        hold = hold_reason(entry, parsed, force, names, known, today)
        if hold is None:
            continue
        holds.append(hold)
        recorded = decisions.held.get(entry.sha256)
        if recorded is None or (recorded["reason"], recorded.get("changes")) != (hold.reason, hold.changes):
            _append(archive, {"action": HELD, "sha256": entry.sha256, "name": entry.original_name,
                              "source": entry.source or entry.inbox_path, "reason": hold.reason,
                              "changes": hold.changes, "by": "刷新"})
    return holds


# ── the operator's and the supervisor's commands ──────────────────────────────────────────────


def find_entry(archive: Archive, file_or_hash: str) -> ArchivedFile:
    """The archived file named by a file on disk, a hash (or its first 8+ hex digits), or its
    received name / inbox path."""
    manifest = archive.manifest()
    text = (file_or_hash or "").strip()
    if os.path.isfile(text):
        entry = manifest.get(hashlib.sha256(Path(text).read_bytes()).hexdigest())
        if entry is None:
            raise ProvenanceError(f"文件 {text} 的内容不在存档中")
        return entry
    matches = []
    if len(text) >= MIN_HASH_PREFIX and all(ch in string.hexdigits for ch in text):
        matches = [e for sha, e in manifest.items() if sha.startswith(text.lower())]
    if not matches:
        matches = [e for e in manifest.values() if text in (e.original_name, e.inbox_path)]
    if not matches:
        raise ProvenanceError(f"存档中没有 {text!r}: 请给出文件、文件名或内容哈希 (duban etl status --json 可查)")
    if len(matches) > 1:
        listed = "、".join(f"{e.original_name} ({e.sha256[:12]})" for e in matches[:5])
        raise ProvenanceError(f"{text!r} 对应多个存档文件: {listed}; 请给出内容哈希")
    return matches[0]


def withdraw(archive: Archive, file_or_hash: str, why: str, by: str) -> dict:
    """Take an archived file out of every later build (it stays archived); returns the record."""
    why = (why or "").strip()
    if not why:
        raise ProvenanceError("请用 --why 写明撤回原因")
    entry = find_entry(archive, file_or_hash)
    if entry.sha256 in read_decisions(archive).withdrawn:
        raise ProvenanceError(f"文件《{entry.original_name}》已经撤回")
    return _append(archive, {"action": WITHDRAWN, "sha256": entry.sha256, "name": entry.original_name,
                             "by": by, "why": why})


def accept(archive: Archive, file_or_hash: str, by: str) -> dict:
    """A supervisor accepts a held file with the changes it was held for; the next refresh loads it."""
    entry = find_entry(archive, file_or_hash)
    decisions = read_decisions(archive)
    if entry.sha256 in decisions.withdrawn:
        raise ProvenanceError(f"文件《{entry.original_name}》已撤回, 不能再载入")
    held = decisions.held.get(entry.sha256)
    if held is None:
        raise ProvenanceError(f"文件《{entry.original_name}》没有待确认的事项 (未被拦下, 或尚未经过刷新)")
    return _append(archive, {"action": ACCEPTED, "sha256": entry.sha256, "name": entry.original_name,
                             "by": by, "why": held["reason"], "changes": held.get("changes", [])})


def provenance_status(archive: Archive) -> dict:
    """待确认的文件 (held, with reason and changes) and 已撤回的文件 (who, why, when), oldest first."""
    decisions = read_decisions(archive)
    manifest = archive.manifest()

    def listed(records: dict[str, dict]) -> list[dict]:
        return [{**record, "source": record.get("source") or _source_of(manifest.get(sha))}
                for sha, record in records.items()]

    return {"held_files": listed(decisions.held), "withdrawn_files": listed(decisions.withdrawn)}


def _source_of(entry: ArchivedFile | None) -> str | None:
    if entry is None:
        return None
    return entry.source or entry.inbox_path


# ── uploads from the dashboard ────────────────────────────────────────────────────────────────

_UNSAFE_NAME = re.compile(r"[\\/:*?\"<>|\x00-\x1f\x7f]")


def upload_name(name: str) -> str:
    """The uploaded file's own name, without folders or characters a file system or terminal
    would read as something else."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = _UNSAFE_NAME.sub("_", base).strip(". ")
    return cleaned[:160] or "上传文件"


def receive_upload(archive: Archive, data: bytes, name: str, settings: Settings, aliases: dict[str, str],
                   known_units: Iterable[str], uploader: str, role: str, unit: str | None) -> ArchivedFile:
    """Archive a file uploaded on the dashboard; the next refresh loads it.

    A supervisor's upload is a trusted source. A unit account's upload speaks for its unit only:
    a file whose name claims another unit is refused here, one whose content does is rejected by
    the refresh (``bind``). Raises ProvenanceError with the reason."""
    if role not in ("supervisor", "unit") or (role == "unit" and not unit):
        raise ProvenanceError("本账号不能上传文件")
    name = upload_name(name)
    limit = settings.max_file_mb * 1024 * 1024
    if not data:
        raise ProvenanceError(f"文件《{name}》是空的")
    if len(data) > limit:
        raise ProvenanceError(f"文件《{name}》有 {len(data) / 1024 / 1024:.1f} MB, 超过上限 {settings.max_file_mb:g} MB")
    if role == "unit":
        names = UnitNames(settings, aliases)
        claimed = unit_from_filename(name)
        known = {names.key(u) for u in known_units}
        if claimed and names.key(claimed) in known and not names.same(claimed, unit):
            raise ProvenanceError(f"文件《{name}》的文件名写的是 {claimed}, 但上传账号属于 {unit}: "
                                  f"一个单位只能报送本单位的办理情况")
    archive.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=archive.root, prefix=".upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        entry, _ = archive.receive(path, Path(folder), trusted=role == "supervisor", origin=f"看板上传 ({uploader})",
                                   uploader=uploader, unit=unit if role == "unit" else None)
    if role == "supervisor":
        note_trusted_resend(archive, entry, f"督办人员 {uploader} 上传")
    return entry


def receive_from_inbox(archive: Archive, path: Path, inbox: Path, trusted_folders: Sequence[Path]) -> bool:
    """Archive one inbox file with its source; returns whether its content is new."""
    trusted = is_trusted_path(path, trusted_folders)
    origin = f"收件目录 {inbox}" + (" (受信任)" if trusted else "")
    entry, is_new = archive.receive(path, inbox, trusted=trusted, origin=origin)
    if trusted and not is_new:
        note_trusted_resend(archive, entry, origin)
    return is_new


def bind_all(files: list[tuple[int, ArchivedFile, ParsedFile]], force: InForce, settings: Settings,
             aliases: dict[str, str], with_rows: RowsOf = _as_parsed) -> Iterator[tuple[int, ArchivedFile, ParsedFile]]:
    """``bind`` over the files of a build, one at a time as the build asks; units are those in force
    and those of its registers. ``with_rows`` gives a file's rows where ``files`` holds them aside
    (etl/pipeline.py keeps them in the archive until the file is staged)."""
    names = UnitNames(settings, aliases, force.places)
    known = force.units | register_units(((e, p) for _, e, p in files), with_rows)
    for file_id, entry, parsed in files:
        yield file_id, entry, bind(entry, with_rows(entry, parsed), names, known)


def archive_of_version(version: Path | str) -> Archive:
    """The archive beside a published version file (``<link>.versions/vN.duckdb`` → ``<link>.archive``)."""
    versions = Path(version).parent
    return Archive(versions.with_name(versions.name.removesuffix(".versions") + ".archive"))


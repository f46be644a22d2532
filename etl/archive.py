"""Every received file, kept unchanged by content hash, plus the parsed result of each.

Layout under ``FILE.archive/``:
- ``files/ab/<sha256>``          the bytes exactly as received
- ``manifest.jsonl``             one line per content: sha256, original name, inbox path, size, times
- ``parsed/<fingerprint>/<sha>`` the ParsedFile of that content (``.json`` meta + rejects, ``.parquet`` rows),
                                 keyed by the parser's fingerprint so a changed parser or alias table re-reads
- ``refresh_log.jsonl``          every refresh attempt, including failed ones
- ``decisions.jsonl``            provenance decisions, append-only: files held, accepted by a supervisor,
                                 withdrawn (etl/provenance.py reads them)

A file whose content is already archived is not archived or parsed again; ``duban etl rebuild``
drops the parsed cache and re-reads every archived file.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
import tempfile
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl

from etl.model import SCHEMAS, ParsedFile, RowReject
from etl.names import decoded_name

# Excel keeps ~$name lock files next to open workbooks; they are not submissions.
IGNORED_PREFIXES = ("~$", ".")


@dataclass(frozen=True)
class ArchivedFile:
    sha256: str
    original_name: str
    inbox_path: str
    size_bytes: int
    received_at: str  # ISO timestamp of first receipt
    file_mtime: str | None
    # Provenance (etl/provenance.py). Entries written before it was recorded have trusted=None and
    # count as trusted: they were the authority in force when provenance came.
    trusted: bool | None = None
    source: str | None = None  # where it came from, for the operator (收件目录 …, 看板上传)
    uploader: str | None = None  # the account that uploaded it
    unit: str | None = None  # the unit an upload speaks for (a unit account's upload)


class NotReceived(Exception):
    """An inbox entry that is not a regular file of the inbox (a symbolic link, a pipe, a device):
    skipped, never archived. The message (Chinese) names it."""


def _sha256_and_copy(handle, copy_to=None) -> str:
    """The content's sha256 from the handle's current position, copied on the way if asked."""
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
        if copy_to is not None:
            copy_to.write(block)
    return digest.hexdigest()


def _open_in_inbox(inbox_root: Path, source: Path) -> int:
    """A read-only descriptor on ``source``, opened folder by folder from the inbox without
    following a symbolic link anywhere below it: an entry swapped for a link after the inbox was
    listed cannot lead outside (no check-then-open race)."""
    parts = source.relative_to(inbox_root).parts
    folder = os.open(inbox_root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
            os.close(folder)
            folder = inner
        # O_NONBLOCK: a named pipe must not block the refresh; fstat then turns it away.
        return os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise NotReceived(f"跳过 {shown_path(source, inbox_root)}: 是符号链接, 不读取它指向的文件") from None
        raise
    finally:
        os.close(folder)


def shown_path(source: Path, inbox_root: Path) -> str:
    """The path below the inbox as text for the manifest and messages (any encoding decoded)."""
    return "/".join(decoded_name(part) for part in source.relative_to(inbox_root).parts)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class Archive:
    def __init__(self, root: Path):
        self.root = root
        self.files_dir = root / "files"
        self.manifest_path = root / "manifest.jsonl"
        self.refresh_log_path = root / "refresh_log.jsonl"
        self._manifest: dict[str, ArchivedFile] | None = None

    # ── received files ──────────────────────────────────────────────────────────────────
    def manifest(self) -> dict[str, ArchivedFile]:
        if self._manifest is None:
            self._manifest = {}
            if self.manifest_path.exists():
                for line in self.manifest_path.read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        entry = ArchivedFile(**json.loads(line))
                        self._manifest.setdefault(entry.sha256, entry)
        return self._manifest

    def path_of(self, sha: str) -> Path:
        return self.files_dir / sha[:2] / sha

    def receive(self, source: Path, inbox_root: Path, *, trusted: bool = False, origin: str | None = None,
                uploader: str | None = None, unit: str | None = None) -> tuple[ArchivedFile, bool]:
        """Archive ``source`` (a file below ``inbox_root``) unless its content is already kept;
        returns (entry, is_new). Raises NotReceived for anything but a regular file.

        The entry records where it came from (``origin``, ``trusted``, an upload's ``uploader`` and
        ``unit``: etl/provenance.py decides from them what the file may change)."""
        with os.fdopen(_open_in_inbox(inbox_root, source), "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise NotReceived(f"跳过 {shown_path(source, inbox_root)}: 不是普通文件")
            sha = _sha256_and_copy(handle)
            known = self.manifest().get(sha)
            if known is not None:
                return known, False
            self.files_dir.mkdir(parents=True, exist_ok=True)
            handle.seek(0)
            with tempfile.NamedTemporaryFile(dir=self.files_dir, prefix=".tmp-", delete=False) as copy:
                # Named by what was copied: a file rewritten meanwhile is kept as it was read.
                sha = _sha256_and_copy(handle, copy)
            known = self.manifest().get(sha)
            if known is not None:
                os.unlink(copy.name)
                return known, False
            self.path_of(sha).parent.mkdir(parents=True, exist_ok=True)
            os.replace(copy.name, self.path_of(sha))
        entry = ArchivedFile(
            sha256=sha,
            original_name=decoded_name(source.name),
            inbox_path=shown_path(source, inbox_root),
            size_bytes=info.st_size,
            received_at=datetime.now().isoformat(timespec="seconds"),
            file_mtime=datetime.fromtimestamp(info.st_mtime).isoformat(timespec="seconds"),
            trusted=trusted,
            source=origin,
            uploader=uploader,
            unit=unit,
        )
        with self.manifest_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(entry), ensure_ascii=False) + "\n")
        self.manifest()[sha] = entry
        return entry, True

    # ── parsed cache ────────────────────────────────────────────────────────────────────
    def _parsed_base(self, fingerprint: str, sha: str) -> Path:
        return self.root / "parsed" / fingerprint / sha

    def load_parsed(self, fingerprint: str, sha: str, rows: bool = True) -> ParsedFile | None:
        """The cached parse of a file (None: not parsed with this fingerprint); ``rows=False``
        leaves its rows in the cache (a refresh reads them when it needs them)."""
        base = self._parsed_base(fingerprint, sha)
        meta_path = base.with_suffix(".json")
        if not meta_path.exists():
            return None
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        rows_path = base.with_suffix(".parquet")
        frame = pl.read_parquet(rows_path) if rows and rows_path.exists() else None
        return ParsedFile(
            kind=meta["kind"],
            sender_unit=meta["sender_unit"],
            report_date=date.fromisoformat(meta["report_date"]) if meta["report_date"] else None,
            report_date_source=meta["report_date_source"],
            rows=frame,
            rejects=[RowReject(**r) for r in meta["rejects"]],
            rows_read=meta["rows_read"],
            sheets=meta["sheets"],
            error=meta["error"],
            notes=meta["notes"],
            blocks=meta.get("blocks", []),
        )

    def store_parsed(self, fingerprint: str, sha: str, parsed: ParsedFile) -> None:
        base = self._parsed_base(fingerprint, sha)
        base.parent.mkdir(parents=True, exist_ok=True)
        if parsed.rows is not None and parsed.kind in SCHEMAS:
            tmp = base.with_name(f".tmp-{sha}.parquet")
            parsed.rows.write_parquet(tmp)
            os.replace(tmp, base.with_suffix(".parquet"))
        meta = {
            "kind": parsed.kind,
            "sender_unit": parsed.sender_unit,
            "report_date": parsed.report_date.isoformat() if parsed.report_date else None,
            "report_date_source": parsed.report_date_source,
            "rejects": [asdict(r) for r in parsed.rejects],
            "rows_read": parsed.rows_read,
            "sheets": parsed.sheets,
            "error": parsed.error,
            "notes": parsed.notes,
            "blocks": parsed.blocks,
        }
        # The meta file is written last: its presence means the cache entry is complete.
        _atomic_write(base.with_suffix(".json"), json.dumps(meta, ensure_ascii=False).encode("utf-8"))

    def drop_parsed(self) -> None:
        shutil.rmtree(self.root / "parsed", ignore_errors=True)

    # ── refresh log ─────────────────────────────────────────────────────────────────────
    def log_refresh(self, record: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with self.refresh_log_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")

    def refresh_log(self, limit: int = 20) -> list[dict]:
        if not self.refresh_log_path.exists():
            return []
        lines = self.refresh_log_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines[-limit:] if line.strip()]


def inbox_files(inbox: Path) -> list[Path]:
    """Every entry under ``inbox`` that is not a folder, recursively, in a stable order.

    Symbolic links are listed but not followed (a link could point anywhere on the server):
    ``Archive.receive`` turns them away with a note. Excel's lock files and hidden files are skipped.
    """
    found = []
    for dirpath, dirnames, filenames in os.walk(inbox, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in sorted(filenames + links):
            if not name.startswith(IGNORED_PREFIXES):
                found.append(Path(dirpath) / name)
    return found

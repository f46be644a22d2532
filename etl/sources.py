"""Pulling files before a refresh: network folders, HTTP(S) addresses and databases.

The sources file (TOML, default $DUBAN_HOME/sources.toml) lists them:

    [[source]]
    name = "教育局共享目录"
    folder = "/mnt/share/教育局"

    [[source]]
    name = "督查室导出"
    url = "https://duchashi.example.gov/export/交办台账.xlsx"

    [[source]]
    name = "卫健委办理系统"
    database = "postgresql+psycopg://reader@db/handling"
    query = "SELECT 编号 AS 建议编号, 答复日期, 办理结果 FROM v_export"
    unit = "市卫生健康委员会"

    [[source]]
    name = "代表工委交办台账"
    folder = "/mnt/share/代表工委"
    trusted = true      # its registers and evaluations are taken without a supervisor's acceptance

Everything pulled lands in ``<inbox>/_pulled/<name>/`` and is then loaded like any dropped file
(recognised from its content, archived by hash, so an unchanged pull is not read again). A trusted
source's folder is emptied before each pull, so it holds only what that source sent
(etl/provenance.py: only trusted sources may bring a register or an evaluation).
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import tomllib
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy

PULLED_DIR = "_pulled"
HTTP_TIMEOUT_SECONDS = 60
MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024


class SourceError(RuntimeError):
    """A source that could not be pulled; the message is for the operator (Chinese)."""


@dataclass(frozen=True)
class Source:
    name: str
    folder: Path | None = None
    url: str | None = None
    database: str | None = None
    query: str | None = None
    unit: str | None = None
    trusted: bool = False


def _safe_name(text: str) -> str:
    """A file-system-safe version of a name from a settings file or a URL (no path tricks)."""
    cleaned = re.sub(r"[\\/:*?\"<>|\x00-\x1f]", "_", text).strip(". ")
    return cleaned[:120] or "source"


def load_sources(path: Path) -> list[Source]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(f"数据来源设置文件 {path} 无法读取: {exc}") from exc
    sources = []
    for index, entry in enumerate(data.get("source", []), start=1):
        name = entry.get("name")
        kinds = [k for k in ("folder", "url", "database") if entry.get(k)]
        if not name or len(kinds) != 1:
            raise SourceError(f"数据来源第{index}项应有 name, 以及 folder / url / database 三者之一")
        if entry.get("database") and not entry.get("query"):
            raise SourceError(f"数据来源 {name}: database 需要同时给出 query")
        if entry.get("url") and urllib.parse.urlparse(entry["url"]).scheme not in ("http", "https"):
            raise SourceError(f"数据来源 {name}: 只支持 http/https 地址")
        if not isinstance(entry.get("trusted", False), bool):
            raise SourceError(f"数据来源 {name}: trusted 应为 true 或 false")
        sources.append(Source(name=name, folder=Path(entry["folder"]) if entry.get("folder") else None,
                              url=entry.get("url"), database=entry.get("database"), query=entry.get("query"),
                              unit=entry.get("unit"), trusted=entry.get("trusted", False)))
    return sources


def _pull_folder(source: Source, target: Path) -> int:
    if not source.folder or not source.folder.is_dir():
        raise SourceError(f"数据来源 {source.name}: 目录 {source.folder} 不存在")
    count = 0
    for path in sorted(source.folder.rglob("*")):
        if path.is_file() and not path.is_symlink() and not path.name.startswith(("~$", ".")):
            relative = path.relative_to(source.folder)
            destination = target.joinpath(*[_safe_name(part) for part in relative.parts])
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
            count += 1
    return count


def _pull_url(source: Source, target: Path) -> int:
    name = _safe_name(Path(urllib.parse.unquote(urllib.parse.urlparse(source.url).path)).name)
    try:
        with urllib.request.urlopen(source.url, timeout=HTTP_TIMEOUT_SECONDS) as response:
            data = response.read(MAX_DOWNLOAD_BYTES + 1)
    except OSError as exc:
        raise SourceError(f"数据来源 {source.name}: 下载 {source.url} 失败: {exc}") from exc
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise SourceError(f"数据来源 {source.name}: 文件超过 {MAX_DOWNLOAD_BYTES // 1024 // 1024} MB")
    (target / name).write_bytes(data)
    return 1


def _pull_database(source: Source, target: Path, today: date) -> int:
    try:
        engine = sqlalchemy.create_engine(source.database)
        with engine.connect() as conn:
            result = conn.execute(sqlalchemy.text(source.query))
            header, rows = list(result.keys()), result.fetchall()
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any driver error is reported to the operator
        raise SourceError(f"数据来源 {source.name}: 查询数据库失败: {exc}") from exc
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    # The file name carries the unit and the pull date, which the ETL reads as sender and report date.
    name = f"{_safe_name(source.unit or source.name)}_{today.isoformat()}.csv"
    (target / name).write_text(buffer.getvalue(), encoding="utf-8")
    return 1


def pull_folder(source: Source, inbox: Path) -> Path:
    """Where a source's files land in the inbox."""
    return inbox / PULLED_DIR / _safe_name(source.name)


def pull_sources(sources: list[Source], inbox: Path, today: date | None = None) -> tuple[int, list[str]]:
    """Pull every source into the inbox; returns (files written, Chinese error lines)."""
    today = today or date.today()
    written, errors = 0, []
    for source in sources:
        target = pull_folder(source, inbox)
        if source.trusted:  # nothing but what the source sent may sit in a trusted folder
            shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True, exist_ok=True)
        try:
            if source.folder:
                written += _pull_folder(source, target)
            elif source.url:
                written += _pull_url(source, target)
            else:
                written += _pull_database(source, target, today)
        except SourceError as exc:
            errors.append(str(exc))
    return written, errors

"""The unit directory (单位通讯录) file: who to reach at each unit and where its pushes go.

Supervisors keep it as a table (xlsx, csv or any format the ETL reads) with the columns 单位, 联络员,
联系电话 and 推送 (a target named in settings [notify.targets], a mail address or an http(s) address).
It is read with the ETL's readers (format from content, the same caps) and its unit names are
matched to the register's by the caller's ``canonical`` — the indicator layer's
Indicators.canonical_unit, the spelling rules the refresh used (place names, aliases) — so 市教育局
in the directory is the register's 成都市教育局. The entries live in the app state
(duban.core.appstate.replace_unit_directory), under the register's names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from duban.core.settings import Settings
from etl.names import one_line
from etl.read import UnreadableFile, read_sheets
from etl.recognise import header_key

# Header spellings per field; the first is the one the reasons name.
HEADERS = {
    "unit": ("单位", "承办单位", "单位名称"),
    "liaison": ("联络员", "联系人"),
    "phone": ("联系电话", "电话", "手机"),
    "push_target": ("推送", "推送目标", "推送地址"),
}
# The header row is looked for in a sheet's first rows (a title may sit above it).
HEADER_SEARCH_ROWS = 10
MAX_CELL = 200  # a name, a phone number or an address; longer is not a directory cell


class DirectoryError(ValueError):
    """A directory file that cannot be used; the message names the file, sheet, row and column (Chinese)."""


@dataclass(frozen=True)
class DirectoryRow:
    where: str  # 《file》 sheet 第n行, for reasons
    unit: str
    liaison: str
    phone: str
    push_target: str


def _cell(value: object) -> str:
    return one_line(value or "").strip()


def read_unit_directory(path: Path, settings: Settings, name: str | None = None) -> list[DirectoryRow]:
    """The directory's rows (blank rows skipped). ``name``: the file name a reason shows (an
    upload's, not the temporary file's). Raises DirectoryError naming where the file is wrong."""
    name = one_line(name or path.name)
    try:
        sheets = read_sheets(path, settings)
    except UnreadableFile as exc:
        raise DirectoryError(f"《{name}》无法读取: {exc}") from None
    for sheet in sheets:
        rows = sheet.cells.rows()
        for header_index, header in enumerate(rows[:HEADER_SEARCH_ROWS]):
            keys = [header_key(cell) for cell in header]
            columns = {field: next((i for i, k in enumerate(keys) if k in spellings), None)
                       for field, spellings in HEADERS.items()}
            if columns["unit"] is not None:
                place = f"《{name}》" + (f"工作表 {one_line(sheet.name)} " if sheet.name else "")
                return _rows(rows[header_index + 1:], header_index + 2, columns, place, settings)
    raise DirectoryError(f"《{name}》中找不到表头: 应有 {'、'.join(spellings[0] for spellings in HEADERS.values())} 列")


def _rows(rows: list[tuple], first_row: int, columns: dict[str, int | None], place: str,
          settings: Settings) -> list[DirectoryRow]:
    read = []
    for number, cells in enumerate(rows, start=first_row):
        values = {field: _cell(cells[i]) if i is not None and i < len(cells) else "" for field, i in columns.items()}
        if not any(values.values()):
            continue
        where = f"{place}第{number}行"
        for field, value in values.items():
            if len(value) > MAX_CELL:
                raise DirectoryError(f"{where} {HEADERS[field][0]} 列过长 (超过 {MAX_CELL} 字)")
        if not values["unit"]:
            raise DirectoryError(f"{where} {HEADERS['unit'][0]} 列为空")
        if values["push_target"] and settings.notify.target(values["push_target"]) is None:
            raise DirectoryError(f"{where} {HEADERS['push_target'][0]} 列 \"{values['push_target']}\" 既不是设置中的推送目标, "
                                 "也不是邮箱或 http(s) 地址")
        read.append(DirectoryRow(where=where, **values))
    if not read:
        raise DirectoryError(f"{place}表头下没有单位")
    return read


def match_units(rows: list[DirectoryRow], canonical: Callable[[str], str],
                known: set[str]) -> tuple[list[dict], list[str]]:
    """The rows as app-state entries under the register's unit names, and notes for the clerk: a
    unit the register does not have is kept under its own spelling (a later register may have it).
    Raises DirectoryError when two rows name the same unit."""
    entries: list[dict] = []
    notes: list[str] = []
    first: dict[str, DirectoryRow] = {}
    for row in rows:
        unit = canonical(row.unit)
        if unit in first:
            raise DirectoryError(f"{row.where} \"{row.unit}\" 与 {first[unit].where} \"{first[unit].unit}\" 是同一单位 ({unit})")
        first[unit] = row
        if unit not in known:
            notes.append(f"{row.where} \"{row.unit}\" 不是交办台账中的单位, 按原写法保存")
        entries.append({"unit": unit, "liaison": row.liaison, "phone": row.phone, "push_target": row.push_target})
    return entries, notes


def directory_by_unit(stored: Mapping[str, dict], canonical: Callable[[str], str]) -> dict[str, dict]:
    """The stored directory keyed by the shown version's unit names (a unit kept under its own
    spelling is found once the register has it)."""
    return {canonical(unit): entry for unit, entry in stored.items()}

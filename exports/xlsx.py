"""Excel exports for meetings and desk work: one office-formatted, formula-safe sheet writer and
the specific exports built on it (催办清单, 考核排名, 单位承办清单, 拒收行清单).

Every export returns the .xlsx file as bytes (the dashboard sends them as downloads, the CLI
writes them). Every figure comes from the indicator layer (warehouse.indicators /
warehouse.ranking); this module only lays rows out. Rates arrive as unrounded fractions and are
written as numbers with the 0.00% format, so Excel shows 91.30% and still computes with them;
a rate whose denominator is 0 (None) is written as "—".

Formula safety: data is always written with write_string/write_number/write_datetime, never
write() (whose auto-detection turns "=..." into a formula). Text that begins with = + - @ tab
or CR additionally gets the cell's quotePrefix flag, Excel's stored form of a leading
apostrophe, so it stays text even after someone edits the cell.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from exports.safe import join_units, looks_like_formula, xml_text, yes_no
from warehouse.formatting import DASH
from warehouse.ranking import rank_units, split_ranking

TEXT, INT, NUMBER, DATE, RATE, BOOL = "text", "int", "number", "date", "rate", "bool"

DATE_FORMAT = "yyyy-mm-dd"
RATE_FORMAT = "0.00%"
UNSCORED = "不计分"  # a ranking aspect left out (no city-wide data, no hand scores)
MAX_WIDTH = 48  # characters; longer text wraps
FONT = "宋体"
ROW_HEIGHT = 15  # points per line of 11 pt text
PRINT_WIDTH = 210  # character units that still print legibly (≈75%) on one landscape A4 page


@dataclass(frozen=True)
class Col:
    """One column of an exported table: header text, how to get the value from a row, its kind."""

    header: str
    key: str | Callable[[Mapping[str, Any]], Any]
    kind: str | Callable[[Mapping[str, Any]], str] = TEXT  # a callable picks the kind per row
    width: float | None = None  # characters; None → fitted to the content

    def value(self, row: Mapping[str, Any]) -> Any:
        return self.key(row) if callable(self.key) else row.get(self.key)


def display_width(text: str) -> int:
    """Width in Excel character units: CJK and full-width characters take two."""
    return len(text) if text.isascii() else _wide_width(text)


@lru_cache(maxsize=65536)  # every cell of a long export is measured: units, statuses, titles repeat
def _wide_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _lines(text: str, width: float) -> int:
    """Lines a wrapped cell needs at this column width (character units)."""
    usable = max(1.0, width - 1)
    return sum(max(1, -(-display_width(part) // int(usable))) for part in text.split("\n")) if text else 1


def as_rows(data: Any) -> list[dict[str, Any]]:
    """Rows from whatever the indicator layer returns: dicts, a polars/pandas frame, or Arrow."""
    if data is None:
        return []
    if hasattr(data, "to_dicts"):  # polars
        return data.to_dicts()
    if hasattr(data, "to_pylist"):  # pyarrow
        return data.to_pylist()
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # pandas
        return data.to_dict("records")
    return [dict(r) if not isinstance(r, dict) else r for r in data]


def _as_date(value: Any) -> date | datetime | None:
    if isinstance(value, (date, datetime)):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


class OfficeWorkbook:
    """An xlsxwriter workbook with the office look (宋体, borders, A4 landscape) and safe cells."""

    def __init__(self, target: str | Path | io.BytesIO):
        self.book = xlsxwriter.Workbook(
            target if isinstance(target, io.BytesIO) else str(target),
            {
                "in_memory": True,
                # Belt and braces: even an accidental write() must not create formulas or links.
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
                "default_date_format": DATE_FORMAT,
            },
        )
        self.book.set_properties({"title": "督办", "author": "督办系统", "comments": "由督办系统生成"})
        self._formats: dict[tuple, Any] = {}
        self.title_fmt = self.fmt(("title",), bold=True, font_size=16, align="center", valign="vcenter")
        self.meta_fmt = self.fmt(("meta",), font_size=11, align="left", valign="vcenter")
        self.header_fmt = self.fmt(
            ("header",), bold=True, border=1, align="center", valign="vcenter", text_wrap=True, bg_color="#D9E1F2"
        )

    def fmt(self, key: tuple, **props: Any):
        if key not in self._formats:
            self._formats[key] = self.book.add_format({"font_name": FONT, "font_size": 11, **props})
        return self._formats[key]

    def cell_format(self, kind: str, *, wrap: bool = False, quote: bool = False, input_cell: bool = False):
        props: dict[str, Any] = {"border": 1, "valign": "top"}
        if kind == DATE:
            props.update(num_format=DATE_FORMAT, align="center")
        elif kind == RATE:
            props.update(num_format=RATE_FORMAT, align="right")
        elif kind == INT:
            props.update(num_format="0", align="right")
        elif kind == NUMBER:
            props.update(num_format="0.00", align="right")
        elif kind == BOOL:
            props.update(align="center")
        if wrap:
            props["text_wrap"] = True
        if quote:
            props["quote_prefix"] = True
        if input_cell:  # cells a unit fills in: unlocked, pale yellow
            props.update(locked=False, bg_color="#FFF9E5")
        return self.fmt(("cell", kind, wrap, quote, input_cell), **props)

    def write_cell(
        self, ws: Worksheet, row: int, col: int, value: Any, kind: str = TEXT, *, wrap: bool = False,
        input_cell: bool = False,
    ) -> str:
        """Write one data value by kind; returns the text as displayed (for column widths)."""
        if kind == RATE:
            if value is None:
                ws.write_string(row, col, DASH, self.fmt(("dash", input_cell), border=1, align="center", valign="top"))
                return DASH
            ws.write_number(row, col, float(value), self.cell_format(RATE, input_cell=input_cell))
            return f"{float(value):.2%}"
        if kind in (INT, NUMBER) and isinstance(value, (int, float)) and not isinstance(value, bool):
            ws.write_number(row, col, value, self.cell_format(kind, input_cell=input_cell))
            return f"{value:.2f}" if kind == NUMBER else str(value)
        if kind == DATE:
            day = _as_date(value)
            if day is not None:
                ws.write_datetime(row, col, day, self.cell_format(DATE, input_cell=input_cell))
                return "2024-01-01"
        if kind == BOOL and (value is None or isinstance(value, bool)):
            value = yes_no(value)
        if isinstance(value, (list, tuple)):
            value = join_units(value)
        text = xml_text(value)
        if text == "":
            ws.write_blank(row, col, None, self.cell_format(kind, wrap=wrap, input_cell=input_cell))
            return ""
        fmt = self.cell_format(TEXT if kind in (DATE, INT, NUMBER) else kind, wrap=wrap,
                               quote=looks_like_formula(text), input_cell=input_cell)
        ws.write_string(row, col, text, fmt)
        return text

    def table(
        self,
        sheet_name: str,
        title: str,
        columns: Sequence[Col],
        rows: Iterable[Mapping[str, Any]],
        *,
        as_of: date | None = None,
        meta: Sequence[str] = (),
        empty_text: str = "无符合条件的记录",
    ) -> Worksheet:
        """One sheet: title, 截至日期 and other meta lines, bold frozen header with autofilter, data."""
        ws = self.book.add_worksheet(sheet_name[:31])
        last_col = len(columns) - 1
        r = 0
        ws.set_row(r, 30)
        self._merged(ws, r, last_col, title, self.title_fmt)
        r += 1
        lines = ([f"截至日期：{as_of.isoformat()}"] if as_of else []) + list(meta)
        for line in lines:
            self._merged(ws, r, last_col, line, self.meta_fmt)
            r += 1
        header_row = r
        widths = [display_width(c.header) + 2 for c in columns]
        for c, col in enumerate(columns):
            ws.write_string(header_row, c, col.header, self.header_fmt)
        r += 1
        shown_rows: list[list[str]] = []
        for row in rows:
            shown_row = []
            for c, col in enumerate(columns):
                kind = col.kind(row) if callable(col.kind) else col.kind
                shown = self.write_cell(ws, r, c, col.value(row), kind, wrap=True)
                widths[c] = max(widths[c], min(MAX_WIDTH, display_width(shown) + 2))
                shown_row.append(shown)
            shown_rows.append(shown_row)
            r += 1
        count = len(shown_rows)
        if count == 0:
            self._merged(ws, r, last_col, empty_text, self.meta_fmt)
        final = [col.width or max(6, min(MAX_WIDTH, widths[c])) for c, col in enumerate(columns)]
        for c, width in enumerate(final):
            ws.set_column(c, c, width)
        # Wrapped text needs taller rows; LibreOffice/WPS do not grow them on opening, so set them.
        header_lines = max(_lines(col.header, width) for col, width in zip(columns, final))
        if header_lines > 1:
            ws.set_row(header_row, ROW_HEIGHT * header_lines)
        for i, shown_row in enumerate(shown_rows):
            lines = max((_lines(text, width) for text, width in zip(shown_row, final)), default=1)
            if lines > 1:
                ws.set_row(header_row + 1 + i, ROW_HEIGHT * lines)
        ws.freeze_panes(header_row + 1, 0)
        ws.autofilter(header_row, 0, header_row + max(count, 1), last_col)
        ws.set_landscape()
        ws.set_paper(9)  # A4
        if sum(final) <= PRINT_WIDTH:
            ws.fit_to_pages(1, 0)
        else:  # too wide to shrink onto one page legibly: print across pages, unit column repeated
            ws.repeat_columns(0, min(1, last_col))
        ws.repeat_rows(header_row)
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
        ws.set_footer("&C第 &P 页，共 &N 页")
        return ws

    def _merged(self, ws: Worksheet, row: int, last_col: int, text: str, fmt) -> None:
        if last_col > 0:
            ws.merge_range(row, 0, row, last_col, "", fmt)
        ws.write_string(row, 0, xml_text(text), fmt)

    def close(self) -> None:
        self.book.close()


def build_xlsx(fill: Callable[[OfficeWorkbook], None]) -> bytes:
    """Run ``fill`` on a fresh OfficeWorkbook and return the finished file's bytes."""
    buffer = io.BytesIO()
    book = OfficeWorkbook(buffer)
    fill(book)
    book.close()
    return buffer.getvalue()


def table_xlsx(title: str, columns: Sequence[Col], rows: Iterable[Mapping[str, Any]], *,
               sheet_name: str = "清单", as_of: date | None = None, meta: Sequence[str] = ()) -> bytes:
    """A one-sheet export (the dashboard uses it for any grid it offers as a download)."""
    return build_xlsx(lambda book: book.table(sheet_name, title, columns, rows, as_of=as_of, meta=meta))


# ── the specific exports ────────────────────────────────────────────────────────────────────
def _city(indicators: Any) -> str:
    """The body's place for titles (成都市 …): from the data or the setting, '' when unknown."""
    return indicators.body_name()


def _scope_meta(scope: Any) -> list[str]:
    """The filters of a scope as one line (year, session, kind, category, unit, 重点)."""
    parts = []
    for attr, label in (("year", "年度"), ("session", "届次"), ("kind", "类型"), ("category", "类别"), ("unit", "单位")):
        value = getattr(scope, attr, None)
        if value:
            parts.append(f"{label}：{value}")
    if getattr(scope, "key_only", False):
        parts.append("仅重点督办件")
    return ["　".join(parts)] if parts else []


def _replace_scope(scope: Any, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(scope, **changes)


def _chase_index(chases: Iterable[Mapping[str, Any]] | None) -> tuple[dict, dict]:
    """催办 records (duban.core.appstate.chases) counted per (suggestion, unit) and per unit."""
    per_item: dict[tuple, list] = {}
    per_unit: dict[str, list] = {}
    for c in chases or ():
        day = c.get("chase_date")
        if c.get("unit"):
            per_unit.setdefault(c["unit"], []).append(day)
        if c.get("suggestion_id"):
            per_item.setdefault((c["suggestion_id"], c.get("unit")), []).append(day)
    return per_item, per_unit


def _contacts(indicators: Any, scope: Any, rows: list[dict], directory: Mapping[str, Mapping[str, Any]]) -> None:
    """Add the contact person/phone of each row's unit: from the unit's selected export row, else
    (the row names neither) the unit directory's 联络员 and phone."""
    found = indicators.contacts(scope)
    for r in rows:
        reported = found.get((r["suggestion_id"], r.get("unit")), {})
        if reported.get("contact_name") or reported.get("contact_phone"):
            r.update(reported)
        else:
            listed = directory.get(r.get("unit") or "") or {}
            r.update(contact_name=listed.get("liaison"), contact_phone=listed.get("phone"))


CHASE_COLUMNS = [
    Col("序号", "seq", INT, 6),
    Col("承办单位", "unit"),
    Col("承办方式", "role", width=6),
    Col("届次", "session", width=12),
    Col("编号", "number", INT, 6),
    Col("建议标题", "title", width=32),
    Col("状态", "status", width=6),
    Col("逾期/临期分组", "age_bucket", width=13),
    Col("办理期限", "deadline", DATE, 12),
    # each row shows the one count that applies to it: days late, or days left for a 临期 item
    Col("逾期天数", lambda r: r.get("days_overdue") if r.get("status") == "逾期" else None, INT, 6),
    Col("距期限天数", lambda r: r.get("days_to_deadline") if r.get("status") != "逾期" else None, INT, 6),
    Col("主办单位", "lead_units", width=18),  # several when 分办
    Col("重点督办", "is_key", BOOL, 6),
    Col("最近报送日期", "last_report_date", DATE, 12),
    Col("催办次数", "chase_count", INT, 6),
    Col("最近催办日期", "last_chase", DATE, 12),
]
CONTACT_COLUMNS = [Col("联系人", "contact_name", width=8), Col("联系电话", "contact_phone", width=13)]

# One suggestion's assignment, as the follow-through sheets begin each row
ITEM_COLUMNS = [
    Col("年度", "year", INT, 7),
    Col("届次", "session"),
    Col("编号", "number", INT, 7),
    Col("建议标题", "title", width=36),
    Col("承办单位", "unit"),
]

# 不满意件重办 (Indicators.rehandle_list): the 催办清单's third sheet and the 跟踪督办清单's second
REHANDLE_COLUMNS = [
    *ITEM_COLUMNS,
    Col("重办状态", "state"),
    Col("不满意测评日期", "unsatisfied_date", DATE, 13),
    Col("重办期限", "due_date", DATE, 13),
    Col("超期天数", "days_overdue", INT),
    Col("重新答复日期", "rereply_date", DATE, 13),
    Col("再次测评满意日期", "rated_date", DATE, 13),
    Col("重办次数", "opened", INT),
]


def chase_list(indicators: Any, scope: Any, chases: Iterable[Mapping[str, Any]] | None = None, *,
               include_contacts: bool = False, directory: Mapping[str, Mapping[str, Any]] | None = None) -> bytes:
    """催办清单: overdue and due-soon items, one row per (suggestion, lead unit that has not replied).

    ``scope.unit`` (or ``restrict_unit``) set: that unit's list only; otherwise all units, with a
    second sheet 按单位汇总. ``chases``: 催办 records as duban.core.appstate.chases returns them.
    Contact names and phones only with ``include_contacts=True`` (supervisors, never meetings): the
    units' reported ones, else those of ``directory`` (the unit directory under the version's unit
    names: etl.directory.directory_by_unit).
    """
    rows = [dict(r) for r in as_rows(indicators.overdue(scope))]
    rows.sort(key=lambda r: (str(r.get("unit") or ""), -(r.get("days_overdue") or -10**6),
                             r.get("days_to_deadline") or 0, str(r.get("session")), r.get("number") or 0))
    per_item, per_unit = _chase_index(chases)
    for i, r in enumerate(rows, start=1):
        r["seq"] = i
        days = per_item.get((r["suggestion_id"], r.get("unit")), []) + per_item.get((r["suggestion_id"], None), [])
        r["chase_count"] = len(days)
        r["last_chase"] = max(days) if days else None
    if include_contacts and rows:
        _contacts(indicators, scope, rows, directory or {})
    unit = getattr(scope, "effective_unit", None) or getattr(scope, "unit", None)
    city = _city(indicators)
    title = f"{city}人大代表建议催办清单" + (f"（{unit}）" if unit else "")
    columns = CHASE_COLUMNS + (CONTACT_COLUMNS if include_contacts else [])
    meta = _scope_meta(scope)
    # the 不满意件 whose 重办 has no new reply yet (重办逾期, 重办中): a sheet of their own, when any
    rehandle = as_rows(indicators.rehandle_list(scope, indicators.REHANDLE_OPEN))

    def fill(book: OfficeWorkbook) -> None:
        book.table("催办清单", title, columns, rows, as_of=scope.as_of, meta=meta)
        if rehandle:
            book.table("不满意件重办", f"{city}人大代表建议不满意件重办清单" + (f"（{unit}）" if unit else ""),
                       REHANDLE_COLUMNS, rehandle, as_of=scope.as_of,
                       meta=[*meta, f"测评不满意后 {indicators.settings.followup.rehandle_days} 天内应重新答复; "
                                    "列出尚未重新答复的 (重办逾期在前)"])
        if unit:
            return
        summary: dict[str, dict] = {}
        for r in rows:
            s = summary.setdefault(r["unit"], {"unit": r["unit"], "overdue": 0, "due_soon": 0, "max_days": None})
            if r.get("status") == "逾期":
                s["overdue"] += 1
                s["max_days"] = max(s["max_days"] or 0, r.get("days_overdue") or 0)
            else:
                s["due_soon"] += 1
        for s in summary.values():
            days = per_unit.get(s["unit"], [])
            s["chase_count"], s["last_chase"] = len(days), (max(days) if days else None)
        ordered = sorted(summary.values(), key=lambda s: (-s["overdue"], -(s["max_days"] or 0), s["unit"]))
        book.table("按单位汇总", f"{city}人大代表建议催办清单（按单位汇总）", [
            Col("承办单位", "unit"), Col("逾期件数", "overdue", INT), Col("临期件数", "due_soon", INT),
            Col("最长逾期天数", "max_days", INT), Col("催办次数", "chase_count", INT),
            Col("最近催办日期", "last_chase", DATE, 13),
        ], ordered, as_of=scope.as_of, meta=meta)

    return build_xlsx(fill)


UNIT_ASSIGNMENT_COLUMNS = [
    Col("届次", "session"),
    Col("编号", "number", INT, 7),
    Col("建议标题", "title", width=40),
    Col("承办方式", "role"),
    Col("类型", "kind"),
    Col("类别", "category"),
    Col("交办日期", "assigned_date", DATE, 12),
    Col("办理期限", "deadline", DATE, 12),
    Col("状态", "status"),
    Col("逾期天数", "days_overdue", INT),
    Col("距期限天数", "days_to_deadline", INT),
    Col("答复日期", "reply_date", DATE, 12),  # the unit's own reply (协办: its opinion)
    Col("办理结果", lambda r: f"{r['result_class']}类" if r.get("result_class") else ""),
    Col("是否面商", "face_to_face", BOOL),
    Col("代表意见", "evaluation"),
    Col("主办单位", "lead_units", width=24),
    Col("协办单位", "co_units", width=24),
    Col("重点督办", "is_key", BOOL),
]


def unit_assignments(indicators: Any, scope: Any, unit: str) -> bytes:
    """One unit's assignments (lead ones judged on its own rows, then co-handled ones) and its figures."""
    unit = getattr(scope, "restrict_unit", None) or unit  # a unit account never exports another unit
    unit_scope = _replace_scope(scope, unit=unit)
    rows = as_rows(indicators.unit_assignments(unit_scope))
    m = indicators.metrics(unit_scope)
    city = _city(indicators)
    figures = [
        ("主办/分办件数", m.get("lead_assignments"), INT), ("协办件数", m.get("co_assignments"), INT),
        ("已办结", m.get("completed"), INT), ("逾期", m.get("overdue"), INT), ("临期", m.get("due_soon"), INT),
        ("办结率", m.get("completion_rate"), RATE), ("按时办结率", m.get("on_time_rate"), RATE),
        ("面商率", m.get("face_rate"), RATE), ("A类占比", (m.get("class_rates") or {}).get("A"), RATE),
        ("解决率", m.get("solved_rate"), RATE), ("满意率(含基本满意)", m.get("satisfied_rate"), RATE),
        ("满意率(满意)", m.get("fully_satisfied_rate"), RATE),
        ("B类承诺兑现率", m.get("promise_kept_rate"), RATE), ("协办按时率", m.get("co_on_time_rate"), RATE),
        ("未报送件数", m.get("unreported"), INT),
    ]
    meta = _scope_meta(_replace_scope(scope, unit=None, restrict_unit=None)) + [f"承办单位：{unit}"]

    def fill(book: OfficeWorkbook) -> None:
        book.table("承办清单", f"{city}人大代表建议承办情况（{unit}）", UNIT_ASSIGNMENT_COLUMNS, rows,
                   as_of=scope.as_of, meta=meta)
        book.table("主要指标", f"{city}人大代表建议办理主要指标（{unit}）",
                   [Col("指标", "label", width=22), Col("数值", "value", lambda r: r["kind"], width=14)],
                   [{"label": label, "value": value, "kind": kind} for label, value, kind in figures],
                   as_of=scope.as_of, meta=meta)

    return build_xlsx(fill)


REJECT_COLUMNS = [
    Col("文件", "file_name", width=30),
    Col("工作表", "sheet"),
    Col("行号", "row_no", INT, 7),
    Col("列", "column_name"),
    Col("原值", "value", width=24),
    Col("原因", "reason", width=48),
]


def rejected_rows(indicators: Any, restrict_unit: str | None = None, *, as_of: date | None = None) -> bytes:
    """拒收清单 to send back to units: files rejected whole, then every rejected row with its reason."""
    status = indicators.data_status(restrict_unit)
    rows = [{"file_name": f["original_name"], "reason": f.get("reject_reason") or "整个文件未能读取"}
            for f in status.get("files", []) if f.get("status") == "整体拒收"]
    rows += as_rows(status.get("rejected_rows", []))
    meta = ["请承办单位按“原因”一栏修改后重新报送；行号为原文件中的行号。"]
    if restrict_unit:
        meta.insert(0, f"报送单位：{restrict_unit}")
    title = f"{_city(indicators)}人大代表建议数据拒收清单"
    return table_xlsx(title, REJECT_COLUMNS, rows, sheet_name="拒收清单", as_of=as_of or date.today(), meta=meta)


def ranking(rows: Sequence[Mapping[str, Any]], *, year: int, as_of: date, city: str = "") -> bytes:
    """考核排名 from warehouse.ranking.rank_units rows, in sheets that each print on one page
    width: 排名 (total and each aspect's points, the header naming the weight actually applied),
    原始值 (each aspect's raw value: the unit's own rate, or the hand score), 计分明细 (one row per
    unit and aspect: raw value, numerator/denominator, the shrunk value scored, weight, points and
    the reason in words, so a unit can be told why it ranks where it does) and, when there are
    any, 未参加排名 (units without a lead assignment, not ranked). An aspect left out reads 不计分."""
    ranked, unranked = split_ranking(as_rows(rows))
    every = ranked + unranked
    first = every[0]["aspects"] if every else []

    def aspect(key: str, field: str) -> Callable[[Mapping[str, Any]], Any]:
        return lambda r: next((a.get(field) for a in r["aspects"] if a["key"] == key), None)

    def points_of(key: str) -> Callable[[Mapping[str, Any]], Any]:
        return lambda r: next((a["points"] if a["counted"] else UNSCORED for a in r["aspects"] if a["key"] == key), None)

    def scored_kind(key: str) -> Callable[[Mapping[str, Any]], str]:
        """A number where the aspect was scored, the text 不计分 where it was left out."""
        return lambda r: next((NUMBER if a["counted"] else TEXT for a in r["aspects"] if a["key"] == key), TEXT)

    def weight_header(a: Mapping[str, Any]) -> str:
        if not a["counted"]:
            return f"{a['name']}(不计分)"
        if round(a["applied_weight"], 2) == a["weight"]:
            return f"{a['name']}得分(权重{a['weight']:g})"
        return f"{a['name']}得分(权重{a['applied_weight']:.2f}, 设定{a['weight']:g})"

    head = [Col("名次", "rank", INT, 6), Col("承办单位", "unit")]
    points = head + [
        Col("总分", "total", NUMBER, 8), Col("工作量档次", "tier", width=12),
        Col("档内名次", lambda r: f"{r['tier_rank']}/{r['tier_size']}" if r.get("tier_rank") else "", width=8),
        Col("主办件数", "lead_assignments", INT, 7), Col("协办件数", "co_assignments", INT, 7),
        Col("已办结", "completed", INT, 7), Col("逾期", "overdue", INT, 6),
    ] + [Col(weight_header(a), points_of(a["key"]), scored_kind(a["key"]), 10) for a in first]
    raw = head + [Col(f"{a['name']}{'(人工评分)' if a['source'] != '数据' else ''}", aspect(a["key"], "raw"),
                      RATE if a["source"] == "数据" else NUMBER, 12) for a in first]
    detail = [dict(a, unit=r["unit"], rank=r["rank"]) for r in every for a in r["aspects"]]
    detail_cols = head + [
        Col("考核项", "name"), Col("来源", "source", width=6),
        Col("原始值", "raw", lambda a: RATE if a["source"] == "数据" else NUMBER, 10),
        Col("分子", "numerator", INT, 6), Col("分母", "denominator", INT, 6),
        Col("计分值", "value", RATE, 10), Col("设定权重", "weight", NUMBER, 8),
        Col("实际权重", lambda a: a["applied_weight"] if a["counted"] else UNSCORED,
            lambda a: NUMBER if a["counted"] else TEXT, 8),
        Col("得分", lambda a: a["points"] if a["counted"] else UNSCORED, lambda a: NUMBER if a["counted"] else TEXT, 7),
        Col("说明", "reason", width=60),
    ]
    unranked_cols = [Col("承办单位", "unit"), Col("协办件数", "co_assignments", INT, 8), Col("说明", "reason", width=40)]
    apart = f"；本年度无主办件的 {len(unranked)} 个单位不参加排名，另列于“未参加排名”表" if unranked else ""
    meta = [f"年度：{year}{apart}",
            "数据项得分 = 原始比率按样本量向全市平均收缩后的计分值 × 实际权重；人工项来自考核评分表。"
            "不计分项 (全市无数据或未提供人工评分表) 的权重按比例分给计分项，总分仍为100分；总分 (两位小数) 相同则名次相同。"]

    def fill(book: OfficeWorkbook) -> None:
        book.table("排名", f"{city}承办单位代表建议办理工作考核排名", points, ranked, as_of=as_of, meta=meta)
        book.table("原始值", f"{city}承办单位代表建议办理工作考核各项原始值", raw, ranked, as_of=as_of, meta=meta)
        book.table("计分明细", f"{city}承办单位代表建议办理工作考核计分明细", detail_cols, detail,
                   as_of=as_of, meta=meta)
        if unranked:
            book.table("未参加排名", f"{city}本年度无主办件、不参加排名的承办单位", unranked_cols, unranked,
                       as_of=as_of, meta=[f"年度：{year}"])

    return build_xlsx(fill)


def ranking_export(indicators: Any, scope: Any, hand_scores: Path | str | None = None) -> bytes:
    """考核排名 for ``scope.year`` as of ``scope.as_of``, ranked by warehouse.ranking.rank_units."""
    if scope.year is None:
        raise ValueError("考核排名需要指定年度 (--year)")
    rows = rank_units(indicators.conn, indicators.settings, scope.year, scope.as_of, hand_scores,
                      version=getattr(indicators, "version", None))
    if getattr(scope, "restrict_unit", None):  # a unit account sees its own line only
        rows = [r for r in rows if r["unit"] == scope.restrict_unit]
    return ranking(rows, year=scope.year, as_of=scope.as_of, city=_city(indicators))

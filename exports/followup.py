"""跟踪督办清单 (回头看) as Excel: the B promises followed across years, and the 重办 件 — what
Indicators.followup_list and rehandle_list return, written as they are (nothing counted here)."""

from __future__ import annotations

from typing import Any

from exports.xlsx import DATE, INT, ITEM_COLUMNS, REHANDLE_COLUMNS, Col, as_rows, build_xlsx
from warehouse.formatting import format_date

PROMISE_COLUMNS = [
    *ITEM_COLUMNS,
    Col("承诺事项", "promise_text", width=30),
    Col("承诺完成时限", "promise_date", DATE, 13),
    Col("状态", "promise_status"),
    Col("超期天数", "days_past", INT),
    Col("兑现日期", "promise_kept_date", DATE, 13),
    # a revision never moves the promised date: listed with the report that gave it
    Col("时限变更 (报送日期: 新时限)", lambda r: "；".join(
        f"{format_date(v['report_date'])}: {format_date(v['date'])}" for v in r.get("revisions") or []), width=30),
    Col("往年结转", lambda r: "是" if r.get("carried_over") else ""),
]


def followup_workbook(indicators: Any, scope: Any) -> bytes:
    """Two sheets: 承诺事项 (followup_list) and 重办件 (rehandle_list)."""
    city = indicators.body_name()
    promises = as_rows(indicators.followup_list(scope))
    rehandled = as_rows(indicators.rehandle_list(scope))

    def fill(book) -> None:
        book.table("承诺事项", f"{city}人大代表建议跟踪督办清单（承诺事项）", PROMISE_COLUMNS, promises,
                   as_of=scope.as_of, meta=["以首次报送的承诺时限为准; 往年未兑现的承诺继续列入"])
        book.table("重办件", f"{city}人大代表建议跟踪督办清单（不满意件重办）", REHANDLE_COLUMNS, rehandled,
                   as_of=scope.as_of)

    return build_xlsx(fill)

"""How figures from warehouse.indicators are shown (tables, exports, big screen).

The indicator layer returns rates as unrounded fractions (None when the denominator is 0);
everything a user sees goes through these helpers so that rounding and "—" are the same
everywhere (docs/domain.md: 91.30% in tables and exports, one decimal allowed on big-screen cards).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

DASH = "—"


def _round_half_up(value: float, places: int) -> Decimal:
    # Python's round() is banker's rounding on binary floats; a report that shows 0.125 as
    # 12.5% must not show 0.125 rounded down, so round the decimal representation half-up.
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def format_rate(x: float | None, places: int = 2) -> str:
    """0.913043 -> "91.30%"; None -> "—"."""
    if x is None:
        return DASH
    return f"{_round_half_up(x * 100, places):.{places}f}%"


def format_rate_short(x: float | None) -> str:
    """Big-screen form, one decimal: 0.913043 -> "91.3%"."""
    return format_rate(x, 1)


def format_delta(current: float | None, previous: float | None, places: int = 1) -> str:
    """同比 change of a rate in percentage points: "+2.3个百分点", "-0.5个百分点", "持平"; "—" if unknown."""
    if current is None or previous is None:
        return DASH
    points = _round_half_up((current - previous) * 100, places)
    if points == 0:
        return "持平"
    sign = "+" if points > 0 else ""
    return f"{sign}{points:.{places}f}个百分点"


def format_count_delta(current: int | None, previous: int | None) -> str:
    """同比 change of a count: "+12", "-3", "持平"; "—" if unknown."""
    if current is None or previous is None:
        return DASH
    diff = current - previous
    return "持平" if diff == 0 else f"{diff:+d}"


def format_date(d: date | datetime | str | None, style: str = "iso") -> str:
    """2024-06-30 (iso) or 2024年6月30日 (cn); None -> "—"."""
    if d is None or d == "":
        return DASH
    if isinstance(d, str):
        d = date.fromisoformat(d[:10])
    if isinstance(d, datetime):
        d = d.date()
    if style == "cn":
        return f"{d.year}年{d.month}月{d.day}日"
    return d.isoformat()

"""Each refresh says what changed, and holds what looks wrong (a guard over a whole REFRESH).

run_refresh builds a version, then asks ``figures(version file)`` for the published version and
for the built one, and ``review`` compares them per year and per unit. The figures are the
indicator layer's (the CLI passes warehouse.indicators.version_figures): the ETL computes none of
its own. Shape of what ``figures`` returns:

    {"years": {year: {"suggestions", "completed", "overdue", "evaluated"}},
     "units": {unit: {"completed", "overdue", "evaluated", "rows_loaded", "rows_rejected"}}}

A refresh is HELD (built, not published) when, against the published version,
- a year's suggestions or completed count, or a unit's completed count, drops by at least
  ``[etl] hold_drop_items`` items AND ``hold_drop_percent`` per cent (a year dropping to no
  suggestions at all is always held), or
- a unit's rows now rejected outnumber ``hold_unit_rejected_share`` of its rows loaded before
  (counting rows rejected since the published version, or rows that loaded and no longer do), or
  more than that share of the rows of a unit's newly received file are rejected while the unit
  had rows loaded before (a unit's one bad file among years of good ones).
The operator fixes the files, or accepts the refresh (``duban etl run … --accept``); a schedule
never accepts on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import duckdb

from duban.core.settings import Settings
from warehouse import statefiles

Figures = dict[str, dict[Any, dict[str, int]]]
FiguresOf = Callable[[Path], Figures]

YEAR_LABELS = {"suggestions": "建议", "completed": "办结", "overdue": "逾期", "evaluated": "已测评"}
UNIT_LABELS = {"completed": "已办结", "overdue": "逾期", "evaluated": "已测评", "rows_loaded": "载入行",
               "rows_rejected": "拒收行"}


@dataclass
class Review:
    differences: list[str] = field(default_factory=list)  # 与上一版本相比 …, one item per change
    held: list[str] = field(default_factory=list)  # why the refresh is held (empty: publish)

    first: bool = False  # nothing was published before: nothing to compare with

    def summary(self) -> str:
        if self.first:
            return "首次发布: 没有可比较的上一版本"
        return "与上一版本相比: " + (_shortened(self.differences) if self.differences else "各项数字没有变化")

    def reason(self) -> str:
        """One line for the exit message and the log (the years first, then the units)."""
        return ("暂缓发布: " + _shortened(self.held)
                + " (请核对报来的文件; 确认无误后加 --accept 重新运行以发布)")


LINES_SHOWN = 8  # items on the one-line summary; all of them are kept in refresh_differences (/data)


def _shortened(items: list[str]) -> str:
    shown = "; ".join(items[:LINES_SHOWN])
    return shown + (f"; … 另有 {len(items) - LINES_SHOWN} 项 (全部见数据状态)" if len(items) > LINES_SHOWN else "")


def thresholds(settings: Settings) -> dict[str, float]:
    """The [etl] hold_* settings (validated in duban/core/settings.py)."""
    return {"hold_drop_items": settings.hold_drop_items, "hold_drop_percent": settings.hold_drop_percent,
            "hold_unit_rejected_share": settings.hold_unit_rejected_share}


def _drops(old: int, new: int, limits: dict[str, float]) -> bool:
    fall = old - new
    return fall >= limits["hold_drop_items"] and fall * 100 >= limits["hold_drop_percent"] * old


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


def review(before: Figures | None, after: Figures, limits: dict[str, float]) -> Review:
    """The differences ``after`` makes to ``before`` (None: nothing published yet) and the reasons
    to hold it."""
    result = Review()
    if before is None:
        result.first = True
        return result
    years = sorted(set(before["years"]) | set(after["years"]))
    zero_year = dict.fromkeys(YEAR_LABELS, 0)
    for key, label in YEAR_LABELS.items():
        change = sum(after["years"].get(y, zero_year)[key] - before["years"].get(y, zero_year)[key] for y in years)
        if change:
            result.differences.append(f"{label} {_signed(change)}")
    for y in years:
        old, new = before["years"].get(y, zero_year), after["years"].get(y, zero_year)
        for key, label in YEAR_LABELS.items():
            if old[key] != new[key]:
                result.differences.append(f"{y}年 {label} {old[key]} → {new[key]}")
        if old["suggestions"] and not new["suggestions"]:
            result.held.append(f"{y}年的 {old['suggestions']} 件建议全部不见了 (交办台账是否缺失?)")
        elif _drops(old["suggestions"], new["suggestions"], limits):
            result.held.append(f"{y}年 建议 {old['suggestions']} → {new['suggestions']}")
        if _drops(old["completed"], new["completed"], limits):
            result.held.append(f"{y}年 办结 {old['completed']} → {new['completed']}")
    zero_unit = dict.fromkeys(UNIT_LABELS, 0)
    for unit in sorted(set(before["units"]) | set(after["units"])):
        old, new = before["units"].get(unit, zero_unit), after["units"].get(unit, zero_unit)
        changed = [f"{label} {old[k]} → {new[k]}" for k, label in UNIT_LABELS.items() if old[k] != new[k]]
        if changed:
            result.differences.append(f"{unit} " + ", ".join(changed))
        if _drops(old["completed"], new["completed"], limits):
            result.held.append(f"{unit} 已办结 {old['completed']} → {new['completed']}")
        lost = max(new["rows_rejected"] - old["rows_rejected"], old["rows_loaded"] - new["rows_loaded"])
        share = limits["hold_unit_rejected_share"]
        if old["rows_loaded"] and lost > share * old["rows_loaded"]:
            result.held.append(f"{unit} 的行大多被拒收 (此前载入 {old['rows_loaded']} 行, 本次新增拒收 "
                               f"{max(new['rows_rejected'] - old['rows_rejected'], 0)} 行)")
        elif (old["rows_loaded"] and new.get("newest_file") != old.get("newest_file")
              and new.get("newest_rejected", 0) > share * new.get("newest_read", 0)):
            result.held.append(f"{unit} 新报的《{new['newest_file'].rsplit(' (', 1)[0]}》{new['newest_rejected']}/"
                               f"{new['newest_read']} 行被拒收 (此前已载入 {old['rows_loaded']} 行)")
    return result


def check(published: Path | None, built: Path, figures: FiguresOf, limits: dict[str, float]) -> Review:
    """Review ``built`` against ``published`` and keep the differences in the built version
    (table refresh_differences: the last refresh's, shown on /data). The derived files ``figures``
    builds for ``built`` stay its own (statefiles.carry_over): publishing carries them on to the
    version it becomes, whose preparation then starts from them."""
    identity = statefiles.identity_of(built)
    after = figures(built)
    result = review(figures(published) if published is not None else None, after, limits)
    with duckdb.connect(str(built)) as con:
        con.execute("DELETE FROM refresh_differences")
        lines = [(line, False) for line in result.differences] + [(line, True) for line in result.held]
        if lines:
            con.executemany("INSERT INTO refresh_differences VALUES (?, ?, ?)",
                            [(i, line, is_hold) for i, (line, is_hold) in enumerate(lines)])
        con.execute("CHECKPOINT")
    statefiles.carry_over(identity, built, built)  # no derived file reads refresh_differences
    return result

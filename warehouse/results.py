"""Typed results of the indicator layer: every number a page or an export shows, counted here.

A page or an export reads these fields and formats them; it never counts, sums or compares the
rows of a list itself (tests/test_single_definition.py holds them to it). Frozen: a cached result
is shared by every caller.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BucketCount:
    """逾期预警: the items (件次: suggestion × lead unit not replied) in one age bucket."""
    bucket: str
    count: int


@dataclass(frozen=True)
class UnitLagging:
    """逾期预警: one lead unit's overdue and due-soon items (件次)."""
    unit: str
    overdue: int
    due_soon: int


@dataclass(frozen=True)
class OverdueSummary:
    """Indicators.overdue_summary: what 逾期预警 and the 通报's 逾期 paragraph show, with the page's
    cross-filters applied — ``buckets`` (every bucket, in order) counts the selected unit's items,
    ``units`` (most overdue first) the selected bucket's, the totals both."""
    buckets: tuple[BucketCount, ...]
    units: tuple[UnitLagging, ...]
    units_by_overdue: tuple[UnitLagging, ...]  # the units with an overdue item: most first, then by name
    overdue: int  # 件次 逾期
    due_soon: int  # 件次 临期
    overdue_suggestions: int  # distinct suggestions 逾期 (with a lead unit not replied)
    overdue_long: int  # 件次 in the last bucket (逾期90天以上)

    @property
    def listed(self) -> int:
        """Every item of the list (逾期 and 临期, 件次)."""
        return self.overdue + self.due_soon


@dataclass(frozen=True)
class CommitteeCount:
    """重点督办: the key items one 联系委室 follows (None: not named) and their 督办领导 (None: not named)."""
    committee: str | None
    total: int
    completed: int
    overdue: int
    leaders: tuple[str | None, ...]


@dataclass(frozen=True)
class KeySummary:
    """Indicators.key_summary: the key items' counts, per 联系委室, and the overdue ones (in
    key_items' order) for the 通报 to name."""
    total: int
    completed: int
    overdue: int
    committees: tuple[CommitteeCount, ...]
    overdue_items: tuple[dict, ...]

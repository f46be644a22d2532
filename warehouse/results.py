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

    def units_overdue_at_least(self, threshold: int) -> tuple[UnitLagging, ...]:
        """The units with ``threshold`` or more overdue items (逾期较多, the 通报's [report] many_overdue)."""
        return tuple(u for u in self.units_by_overdue if u.overdue >= threshold)


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


@dataclass(frozen=True)
class Rehandling:
    """重办 as of T (docs/domain.md): ``opened`` counts the 重办 opened by T; the others count the
    suggestions (unit scope: U's lead assignments) by the state of their latest 重办 — with several
    leads, the worst (重办逾期, 重办中, 已重新答复, 转为满意)."""
    opened: int
    in_progress: int  # 重办中
    overdue: int  # 重办逾期
    replied: int  # 已重新答复
    turned_satisfied: int  # 转为满意

    def as_dict(self) -> dict:
        return {"opened": self.opened, "in_progress": self.in_progress, "overdue": self.overdue,
                "replied": self.replied, "turned_satisfied": self.turned_satisfied}


@dataclass(frozen=True)
class KeyProject:
    """重点督办项目: the key suggestions whose register rows name one project, with its 督办领导 and
    lead unit (the most named of its suggestions'), and its items' progress."""
    project: str
    leader: str | None
    lead_unit: str | None
    total: int
    completed: int
    overdue: int

    def as_dict(self) -> dict:
        return {"project": self.project, "leader": self.leader, "lead_unit": self.lead_unit,
                "total": self.total, "completed": self.completed, "overdue": self.overdue}

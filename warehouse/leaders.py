"""Leader order (docs/domain.md, leader order): every list of 常委会 leaders follows it.

The setting [followup] leaders gives the protocol order; a leader it names comes in that order (a
name in the setting matches a leader written with a title or in brackets: 张三 ↔ 张三副主任). Other
leaders follow by title — 主任, 副主任, 秘书长, then others — and then by name; unnamed last.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

_TITLES = ("副主任", "主任", "秘书长")  # 副主任 first: it contains 主任
_TITLE_RANK = {"主任": 0, "副主任": 1, "秘书长": 2}

Row = TypeVar("Row")


def _title_rank(name: str) -> int:
    for title in _TITLES:
        if title in name and not (title == "秘书长" and "副秘书长" in name):
            return _TITLE_RANK[title]
    return len(_TITLE_RANK)


def leader_key(protocol: tuple[str, ...]) -> Callable[[str | None], tuple]:
    """The sort key of a leader's name (None: not named, last)."""
    def key(name: str | None) -> tuple:
        if not name:
            return (2,)
        for position, listed in enumerate(protocol):
            if name == listed or name.startswith(listed):
                return (0, position)
        return (1, _title_rank(name), name)
    return key


def in_leader_order(rows: Iterable[Row], leader: Callable[[Row], str | None], protocol: tuple[str, ...]) -> list[Row]:
    """``rows`` sorted by their leader (stable: rows of one leader keep their order)."""
    key = leader_key(protocol)
    return sorted(rows, key=lambda row: key(leader(row)))

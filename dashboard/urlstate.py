"""The dashboard's view state lives in the URL: path + query string.

Every filter, drill step and cross-filter is a URL change, so a copied link reopens the same view
and the browser's back button undoes one step. This module is the only place that reads or writes
query strings; pages build links with ``href`` and callbacks compute the next search with
``ViewState.with_``. Unknown or malformed values are dropped (never an error page), so a hand-edited
link degrades to the default view instead of failing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote, urlencode

# Query keys, in the order they are written (stable URLs compare equal as strings).
KEYS = ("year", "session", "kind", "category", "unit", "status", "as_of", "tab")
KINDS = ("大会建议", "闭会建议")


@dataclass(frozen=True)
class ViewState:
    year: int | None = None
    session: str | None = None
    kind: str | None = None
    category: str | None = None
    unit: str | None = None  # cross-filter on list pages (e.g. /overdue by unit)
    status: str | None = None  # cross-filter: 逾期 / 临期 / age bucket etc.
    as_of: date | None = None  # None = today
    tab: str | None = None  # page-local sub-view (e.g. /units 红榜/黑榜)

    @classmethod
    def parse(cls, search: str | None) -> "ViewState":
        values: dict = {}
        for key, raw in parse_qsl((search or "").lstrip("?"), keep_blank_values=False):
            raw = raw.strip()
            if key not in KEYS or not raw or len(raw) > 200:
                continue
            if key == "year":
                if raw.isdigit() and 1990 <= int(raw) <= 2100:
                    values[key] = int(raw)
            elif key == "as_of":
                try:
                    values[key] = date.fromisoformat(raw)
                except ValueError:
                    continue
            elif key == "kind":
                if raw in KINDS:
                    values[key] = raw
            else:
                values[key] = raw
        return cls(**values)

    def to_search(self) -> str:
        pairs = []
        for key in KEYS:
            value = getattr(self, key)
            if value is None or value == "":
                continue
            pairs.append((key, value.isoformat() if isinstance(value, date) else str(value)))
        return "?" + urlencode(pairs) if pairs else ""

    def with_(self, **changes) -> "ViewState":
        """A copy with some keys changed; a value equal to the current one toggles it off
        (clicking the selected bar again clears the cross-filter)."""
        toggled = {}
        for key, value in changes.items():
            toggled[key] = None if value is not None and getattr(self, key) == value and key in ("category", "unit", "status") else value
        return replace(self, **toggled)

    def global_only(self) -> "ViewState":
        """The global filters only: what a link to another view carries along."""
        return ViewState(year=self.year, session=self.session, kind=self.kind, category=self.category, as_of=self.as_of)

    def clamp_as_of(self, first: date | None, today: date) -> "ViewState":
        """as_of within the data's dates (from the first assignment, ``first``) and ``today``: any
        date in a URL costs a state build, and none outside that range shows anything new."""
        if self.as_of is None:
            return self
        low = min(first or self.as_of, today)
        return replace(self, as_of=min(max(self.as_of, low), today))

    def effective_as_of(self) -> date:
        return self.as_of or date.today()

    def as_dict(self) -> dict:
        return asdict(self)


FIELD_NAMES = tuple(f.name for f in fields(ViewState))


def href(path: str, state: ViewState | None = None, **changes) -> str:
    """A link to ``path`` carrying the global filters of ``state`` (plus page keys in ``changes``)."""
    target = (state or ViewState()).global_only()
    if changes:
        target = replace(target, **changes)
    return path + target.to_search()


@lru_cache(maxsize=4096)  # grids link every row: the same few units and sessions again and again
def unit_path(unit: str) -> str:
    return "/units/" + quote(unit, safe="")


@lru_cache(maxsize=65536)
def suggestion_path(session: str, number: int | str) -> str:
    return f"/suggestions/{quote(str(session), safe='')}/{quote(str(number), safe='')}"


def split_path(pathname: str | None) -> list[str]:
    """Decoded path segments ('/units/%E5%B8%82' → ['units', '市'])."""
    return [unquote(part) for part in (pathname or "/").split("/") if part]

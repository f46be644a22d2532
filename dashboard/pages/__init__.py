"""The dashboard's pages, in navbar order: each module declares itself in its ``PAGE``
(dashboard.registry.Page); this list is the only place that names them all."""

from dashboard.pages import data, followup, key, meeting, mine, overdue, overview, suggestion, trends, unit, units
from dashboard.registry import Registry

REGISTRY = Registry([
    overview.PAGE,
    units.PAGE,
    unit.PAGE,
    overdue.PAGE,
    key.PAGE,
    followup.PAGE,
    trends.PAGE,
    suggestion.PAGE,
    data.PAGE,
    meeting.PAGE,
    mine.PAGE,
])

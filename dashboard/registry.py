"""What a page declares, in one place, and how the app finds it.

Each page module (dashboard/pages/*.py) ends with one ``PAGE = Page(...)``: its address, its
navbar label, its layout, its callbacks, its downloads and whether it is warmed before a version
is served. ``dashboard/pages/__init__.py`` lists them (``REGISTRY``); the app, the download route,
the navbar, the warm-up and the browser tests read that list and nothing else. Adding a page is
one new module and one line there.

An address is a literal first segment and then the page's parameters: ``/units/<unit>`` is
reached by ``/units/市教育局`` and rendered as ``layout(ctx, "市教育局")``. Two pages may share a
first segment (``/units`` and ``/units/<unit>``): an address with more segments goes to the page
with parameters, one without to the page without.

A page names the roles that may see it (``roles``): the staff's pages are not a deputy's, and a
deputy's page (/my) is no one else's. The app serves a page, its callbacks and its downloads only
to those roles (dashboard/app.py), whatever the request asks for.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import quote

from dashboard.downloads import Download
from dashboard.urlstate import split_path

# The congress's and the government's staff: leaders, supervisors, unit accounts.
STAFF = ("leader", "supervisor", "unit")


@dataclass(frozen=True)
class Page:
    name: str  # short and unique (tests, screenshots)
    path: str  # "/units" or "/units/<unit>"
    layout: Callable[..., Any]  # layout(ctx, *the address's parameters) → the view
    nav_label: str | None = None  # shown in the navbar when set
    downloads: tuple[Download, ...] = ()
    callbacks: Callable[[Any, Any], None] | None = None  # callbacks(app, board): the page's own
    warm: bool = False  # rendered in its default state before a published version is served
    full_screen: bool = False  # no navbar or filter bar (会议大屏)
    roles: tuple[str, ...] = STAFF  # who may see it (its layout, callbacks and downloads)

    @property
    def head(self) -> str:
        """The literal first segment ("" for /)."""
        return self.path.strip("/").split("/")[0]

    @property
    def params(self) -> list[str]:
        return [segment.strip("<>") for segment in self.path.strip("/").split("/")[1:]]

    def address(self, **values: Any) -> str:
        """The page's address with its parameters filled in (``values`` names each one), quoted
        as dashboard.urlstate quotes links."""
        return "/" + "/".join([self.head, *(quote(str(values[name]), safe="") for name in self.params)]).strip("/")


class Registry:
    """The dashboard's pages in navbar order; checked once, so a clash fails at start-up."""

    def __init__(self, pages: list[Page]):
        self.pages = tuple(pages)
        self.callback_pages: dict[str, Page] = {}  # a page's callback (its output key) → the page
        for what, values in (("name", [p.name for p in pages]), ("path", [p.path for p in pages]),
                             ("download id", [d.button_id for d in self.downloads])):
            clashes = [value for value, n in Counter(values).items() if n > 1]
            if clashes:
                raise ValueError(f"two pages declare the same {what}: {clashes}")

    def find(self, pathname: str | None) -> tuple[Page | None, list[str]]:
        """The page an address shows and the address's remaining segments (its arguments)."""
        parts = split_path(pathname)
        head, args = (parts[0], parts[1:]) if parts else ("", [])
        candidates = [page for page in self.pages if page.head == head]
        page = next((p for p in candidates if bool(p.params) == bool(args)), candidates[0] if candidates else None)
        return page, args

    def nav_for(self, role: str) -> list[tuple[str, str]]:
        """(path, label) of the navbar pages ``role`` may see."""
        return [(page.path, page.nav_label) for page in self.pages if page.nav_label and role in page.roles]

    def home_of(self, role: str) -> Page | None:
        """The first page ``role`` may see: where a role that may not see an address is shown instead."""
        return next((page for page in self.pages if role in page.roles and not page.params), None)

    def download_page(self, button_id: str) -> Page | None:
        return next((page for page in self.pages if any(d.button_id == button_id for d in page.downloads)), None)

    @property
    def warm_paths(self) -> list[str]:
        return [page.path for page in self.pages if page.warm]

    @property
    def downloads(self) -> list[Download]:
        return [download for page in self.pages for download in page.downloads]

    def install_callbacks(self, app: Any, board: Any) -> None:
        for page in self.pages:
            if page.callbacks:
                before = set(app.callback_map)
                page.callbacks(app, board)
                self.callback_pages.update((output, page) for output in set(app.callback_map) - before)

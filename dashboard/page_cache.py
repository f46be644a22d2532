"""Answers kept per published version: a page or a download asked for again is sent as stored bytes.

The page callback's answer (``url → page``) is a function of the published version, the viewer,
today's date (the default 截至日期), the 催办 records and the URL — and of the code and settings,
since stored answers outlive a restart. With all of them in the key, a stored answer is exactly
what would be computed now, so a repeat view costs a file read instead of queries, a component
tree and its JSON. The answers live beside the version (``<version>.cache/pages/``,
``…/downloads/``, see warehouse.statefiles): every worker shares them, a refresh starts afresh,
and the publisher removes them with their version.

Flow per request to ``/_dash-update-component`` for the page output (after the login guard):
``lookup`` takes one snapshot of the published version (the callback renders from that same
snapshot, so the key never names another version than the data) → stored bytes, or the callback
runs and ``store`` keeps its 200 answer. Other callbacks (filters, 催办) are untouched; downloads
(dashboard.downloads) use StoredAnswers the same way in their own route.
"""

from __future__ import annotations

import os
import uuid
from datetime import date
from pathlib import Path
from typing import Any, Callable

import flask

import dashboard
import exports
import warehouse
from duban.core import appstate
from duban.core.settings import Settings
from warehouse.connection import WarehouseMissing
from warehouse.ranking import default_hand_scores
from warehouse.statefiles import code_fingerprint, derived_key

PAGE_OUTPUT = "page.children"


class StoredAnswers:
    """Answers of one kind (``pages``, ``downloads``) kept under ``<version>.cache/<kind>/``, keyed
    on everything they depend on: the version file, the code and settings, the viewer, today's
    date, the 催办 records and the request itself. At most ``max_files`` per version: a bound on
    what crafted URLs can make the server store."""

    def __init__(self, kind: str, home: Path, settings: Settings, max_files: int):
        self.kind, self.home, self.max_files = kind, home, max_files
        # Answers stay on disk across restarts: a settings change or an upgrade must not serve old ones.
        self.settings = settings
        self._code = code_fingerprint(*(Path(p.__file__).parent for p in (dashboard, warehouse, exports)))

    def path(self, version: str, viewer: Any, request: tuple) -> Path:
        key = derived_key(version, self.settings, self._code, operator_files(version, self.home),
                          viewer, date.today().isoformat(), appstate.shown_revision(self.home), request)
        return folder(version, self.kind) / key

    @staticmethod
    def read(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def keep(self, path: Path, data: bytes) -> None:
        if path.exists() or not path.parent.parent.exists():
            return  # (no .cache folder: a version pruned meanwhile, nothing to keep)
        try:
            path.parent.mkdir(exist_ok=True)
            if len(os.listdir(path.parent)) < self.max_files:
                tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.tmp")
                tmp.write_bytes(data)
                os.replace(tmp, path)
        except OSError:  # a full or read-only disk costs speed, never the answer
            pass


def operator_files(version: str, home: Path) -> tuple[Path | None, ...]:
    """What an answer depends on besides the version and the 催办 records: the assessors' hand-score
    file (the ranking), the refresh log beside the version's folder (a held refresh is shown on
    /data without a new version) and the operator's unit alias table (confirmed on /data)."""
    refresh_log = Path(version).parent.with_suffix(".archive") / "refresh_log.jsonl"
    return default_hand_scores(home), refresh_log, home / "unit_aliases.csv"


def folder(version: str, kind: str = "pages") -> Path:
    return Path(version + ".cache") / kind


def clear(version: str, kind: str = "pages") -> None:
    for path in folder(version, kind).glob("*"):
        path.unlink(missing_ok=True)


def _page_inputs(body: Any) -> tuple | None:
    """(pathname, search) of a page-callback request, else None."""
    if not isinstance(body, dict) or body.get("output") != PAGE_OUTPUT:
        return None
    values = {f"{i.get('id')}.{i.get('property')}": i.get("value") for i in body.get("inputs") or [] if isinstance(i, dict)}
    return values.get("url.pathname"), values.get("url.search")


def install(server: flask.Flask, snapshot: Callable[[], tuple[str, Any]], viewer: Callable[[], Any], home: Path,
            settings: Settings) -> None:
    """Serve stored page answers; ``snapshot()`` → (version, cursor), ``viewer()`` → who is looking."""
    pages = StoredAnswers("pages", home, settings, max_files=5000)

    def lookup():
        if flask.request.method != "POST" or flask.request.path != "/_dash-update-component":
            return None
        inputs = _page_inputs(flask.request.get_json(silent=True))
        if inputs is None:
            return None
        try:
            version, cursor = snapshot()
        except WarehouseMissing:
            return None  # nothing published yet: the router says so, and nothing is stored
        flask.g.duban_snapshot = (version, cursor)
        path = flask.g.duban_page_file = pages.path(version, viewer(), inputs)
        data = pages.read(path)
        return None if data is None else flask.Response(data, mimetype="application/json")

    def store(response: flask.Response) -> flask.Response:
        path = flask.g.pop("duban_page_file", None)
        if path is not None and not flask.g.get("duban_page_failed") and response.status_code == 200:
            pages.keep(path, response.get_data())
        return response

    server.before_request(lookup)
    server.after_request(store)


def use_snapshot(snapshot: tuple[str, Any]) -> None:
    """Render this request from ``snapshot`` (a download keyed on its version, like a page)."""
    flask.g.duban_snapshot = snapshot


def not_to_be_stored() -> None:
    """The page being rendered shows an error: answer it, but do not keep it for the version."""
    if flask.has_request_context():
        flask.g.duban_page_failed = True


def request_snapshot() -> tuple[str, Any] | None:
    """The snapshot ``lookup`` took for this request (the callback renders from it), if any."""
    return flask.g.get("duban_snapshot") if flask.has_request_context() else None

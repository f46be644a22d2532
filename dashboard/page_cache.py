"""Rendered pages kept per published version: a page asked for again is sent as stored bytes.

The page callback's answer (``url → page``) is a function of the published version, the viewer,
today's date (the default 截至日期), the 催办 records and the URL — and of the code and settings,
since stored pages outlive a restart. With all of them in the key, a stored answer is exactly what the callback would compute now, so a repeat view costs
a file read instead of queries, a component tree and its JSON. The answers live beside the version
(``<version>.cache/pages/``, see warehouse.statefiles): every worker shares them, a refresh starts
afresh, and the publisher removes them with their version.

Flow per request to ``/_dash-update-component`` for the page output (after the login guard):
``lookup`` takes one snapshot of the published version (the callback renders from that same
snapshot, so the key never names another version than the data) → stored bytes, or the callback
runs and ``store`` keeps its 200 answer. Other callbacks (filters, 催办, downloads) are untouched.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import date
from pathlib import Path
from typing import Any, Callable

import flask

import dashboard
import exports
import warehouse
from duban import appstate
from duban.settings import Settings
from warehouse.connection import WarehouseMissing
from warehouse.statefiles import code_fingerprint, file_identity

PAGE_OUTPUT = "page.children"
MAX_FILES = 5000  # per version: a bound on what crafted URLs can make the server store


def folder(version: str) -> Path:
    return Path(version + ".cache") / "pages"


def clear(version: str) -> None:
    for path in folder(version).glob("*.json"):
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
    # Pages stay on disk across restarts: a settings change or an upgrade must not serve old ones.
    code_and_settings = (code_fingerprint(*(Path(p.__file__).parent for p in (dashboard, warehouse, exports))),
                         repr(settings))

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
        key = repr((file_identity(version), code_and_settings, viewer(), date.today().isoformat(),
                    appstate.chase_revision(home), inputs))
        path = folder(version) / (hashlib.sha256(key.encode()).hexdigest() + ".json")
        flask.g.duban_page_file = path
        try:
            return flask.Response(path.read_bytes(), mimetype="application/json")
        except FileNotFoundError:
            return None

    def store(response: flask.Response) -> flask.Response:
        path = flask.g.pop("duban_page_file", None)
        if path is None or flask.g.get("duban_page_failed") or response.status_code != 200 or path.exists() or not path.parent.parent.exists():
            return response  # (no .cache folder: a version pruned meanwhile, nothing to keep)
        try:
            path.parent.mkdir(exist_ok=True)
            if len(os.listdir(path.parent)) < MAX_FILES:
                tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.tmp")
                tmp.write_bytes(response.get_data())
                os.replace(tmp, path)
        except OSError:  # a full or read-only disk costs speed, never the answer
            pass
        return response

    server.before_request(lookup)
    server.after_request(store)


def not_to_be_stored() -> None:
    """The page being rendered shows an error: answer it, but do not keep it for the version."""
    if flask.has_request_context():
        flask.g.duban_page_failed = True


def request_snapshot() -> tuple[str, Any] | None:
    """The snapshot ``lookup`` took for this request (the callback renders from it), if any."""
    return flask.g.get("duban_snapshot") if flask.has_request_context() else None

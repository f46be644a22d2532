"""Downloads in the dashboard: a button → a file built by the exports package for the view's URL
state and the viewer, written to the audit log, sent through the layout's one dcc.Download.

Pages describe their downloads as ``Download`` entries (button id, label, audit action and a
``make(board, pathname, search, viewer) -> (bytes, file name)`` function) and show them with
``button``; ``register`` wires one callback per entry. ``deliver`` is the single place that turns
bytes + file name into a download and records it, so every export is audited the same way.

The viewer is honoured inside each ``make`` (through ``board.context``): a unit account's scope is
its own unit; contacts only for supervisors. A ``make`` raises PermissionError when the viewer may
not have the file at all; the click then does nothing (the button is not shown to them anyway).
"""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, no_update

from dashboard import auth
from dashboard.urlstate import split_path

log = logging.getLogger(__name__)
# Characters Windows (and some mail gateways) refuse in a file name.
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


@dataclass(frozen=True)
class Download:
    button_id: str
    label: str
    action: str  # the audit log's action, e.g. 导出考核排名
    make: Callable[[Any, str, str, Any], tuple[bytes, str]]  # (board, pathname, search, viewer) → (bytes, name)


def file_name(name: str) -> str:
    """A download's file name without characters a file system refuses (unit names come from files)."""
    return _UNSAFE_NAME.sub("_", name).strip() or "导出.xlsx"


def path_unit(pathname: str | None) -> str:
    """The unit of a /units/<unit> address ("" elsewhere)."""
    parts = split_path(pathname)
    return parts[1] if len(parts) >= 2 and parts[0] == "units" else ""


def written_bytes(write: Callable[[Path], Any], suffix: str) -> bytes:
    """Bytes of a file that an export writes to a path (the Word report, the template)."""
    with tempfile.TemporaryDirectory(prefix="duban-export-") as tmp:
        out = Path(tmp) / f"export{suffix}"
        write(out)
        return out.read_bytes()


def button(download: Download, color: str = "secondary") -> dbc.Button:
    return dbc.Button(download.label, id=download.button_id, color=color, size="sm", className="me-2 duban-download")


def deliver(board, download: Download, pathname: str | None, search: str | None, viewer) -> dict:
    """Build the file for this view and viewer, record it in the audit log, return dcc.Download data."""
    pathname, search = pathname or "/", search or ""
    data, name = download.make(board, pathname, search, viewer)
    name = file_name(name)
    auth.audit(download.action, f"{name} {pathname}{search}")
    return dcc.send_bytes(data, name)


def register(app, board, downloads: list[Download]) -> None:
    for download in downloads:
        _register_one(app, board, download)


def _register_one(app, board, download: Download) -> None:
    from dashboard.app import current_viewer

    @app.callback(
        Output("download", "data", allow_duplicate=True),
        Input(download.button_id, "n_clicks"),
        State("url", "pathname"),
        State("url", "search"),
        prevent_initial_call=True,
    )
    def _download(n, pathname, search):
        if not n:
            return no_update
        viewer = current_viewer()
        try:
            return deliver(board, download, pathname, search, viewer)
        except PermissionError:
            log.warning("%s refused to %s at %s", download.action, viewer.username, pathname)
            return no_update

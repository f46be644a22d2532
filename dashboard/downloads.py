"""Downloads in the dashboard: a link → a file built by the exports package for the view's URL
state and the viewer, written to the audit log, sent as a file.

Pages describe their downloads as ``Download`` entries (id, label, audit action and a
``make(board, pathname, search, viewer) -> (bytes, file name)`` function) and show them with
``button(download, ctx)``: a link to ``/download/<id>?at=<the view's address>``. The browser
downloads it natively (its own progress and save dialog; the file never travels base64-encoded
through a callback's JSON). ``register`` installs that one route; ``deliver`` is the single place
that builds a file for a view and a viewer and records it, so every export is audited the same way.

A file built once is kept with the published version like a stored page (page_cache.StoredAnswers:
same version, viewer, day, 催办 records and address → the same bytes), so asking again, or the next
supervisor asking for the same list, is a file read.

The viewer is honoured inside each ``make`` (through ``board.context``): a unit account's scope is
its own unit; contacts only for supervisors. A ``make`` raises PermissionError when the viewer may
not have the file at all; the route then answers 403 (the button is not shown to them anyway).
"""

from __future__ import annotations

import io
import logging
import mimetypes
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

import dash_bootstrap_components as dbc
import flask

from dashboard import auth, page_cache
from dashboard.urlstate import split_path
from warehouse.connection import WarehouseMissing

log = logging.getLogger(__name__)
# Characters Windows (and some mail gateways) refuse in a file name.
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')
ROUTE = "/download/"
MAX_STORED = 300  # built files kept per version (a few hundred KB each)


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


def href(download: Download, ctx: Any) -> str:
    """The download's address for this view: the view's own address (path and filters) rides along."""
    return f"{ROUTE}{download.button_id}?at={quote(ctx.here(), safe='')}"


def button(download: Download, ctx: Any, color: str = "secondary") -> dbc.Button:
    return dbc.Button(download.label, id=download.button_id, href=href(download, ctx), external_link=True,
                      color=color, size="sm", className="me-2 duban-download")


def deliver(board, download: Download, pathname: str | None, search: str | None, viewer) -> tuple[bytes, str]:
    """Build the file for this view and viewer and record it in the audit log: (bytes, file name)."""
    pathname, search = pathname or "/", search or ""
    data, name = download.make(board, pathname, search, viewer)
    name = file_name(name)
    auth.audit(download.action, f"{name} {pathname}{search}")
    return data, name


def register(server: flask.Flask, board, downloads: list[Download]) -> None:
    """``GET /download/<id>?at=<address>``: the file, fresh or stored (login guard: dashboard.auth)."""
    by_id = {d.button_id: d for d in downloads}
    stored = page_cache.StoredAnswers("downloads", board.home, board.settings, max_files=MAX_STORED)

    @server.get(ROUTE + "<download_id>")
    def _download(download_id: str):
        download = by_id.get(download_id)
        if download is None:
            return _text("没有这个下载项。", 404)
        pathname, _, query = flask.request.args.get("at", "/").partition("?")  # (decoded once, as it was quoted)
        search = f"?{query}" if query else ""
        viewer = auth.required_viewer()
        page = board.pages.download_page(download_id)
        if page is not None and viewer.role not in page.roles:  # another role's page's file (a deputy's request)
            return _text("本账号无权下载此文件。", 403)
        try:
            snapshot = board.pw.snapshot()
        except WarehouseMissing as exc:
            return _text(str(exc), 404)
        page_cache.use_snapshot(snapshot)  # built from the version its stored copy is keyed on
        path = stored.path(snapshot[0], viewer, (download_id, pathname, search))
        try:
            kept = stored.read(path)  # the file name as a JSON line, then the file
            if kept is not None:
                name = flask.json.loads(kept[: kept.index(b"\n")])
                data = kept[kept.index(b"\n") + 1:]
                auth.audit(download.action, f"{name} {pathname}{search}")
            else:
                data, name = deliver(board, download, pathname, search, viewer)
                stored.keep(path, flask.json.dumps(name).encode() + b"\n" + data)
        except PermissionError:
            log.warning("%s refused to %s at %s", download.action, viewer.username, pathname)
            return _text("本账号无权下载此文件。", 403)
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return flask.send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name)


def _text(message: str, status: int) -> flask.Response:
    return flask.Response(message, status=status, mimetype="text/plain; charset=utf-8")

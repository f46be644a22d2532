"""The WSGI application of one serve worker: ``make_app(config)``, called by `duban serve`
(duban/server.py) in each gunicorn worker after the fork. Importing this module builds nothing
and starts nothing; the configuration comes from the caller (the server made it from its
arguments), never from the environment.
"""

from __future__ import annotations

import atexit
import ctypes
import gc
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import flask

from dashboard.app import Dashboard, create_app
from duban.core.settings import Settings
from warehouse.connection import WarehouseMissing

log = logging.getLogger(__name__)
WARM_THREAD = "duban-warm"


@dataclass(frozen=True)
class ServeConfig:
    """What a serve worker is told: which warehouse, whose home, which settings, login or not."""

    warehouse: Path  # the published link itself (resolving it would pin one version and miss every refresh)
    home: Path  # accounts, audit log, 催办 records, settings
    settings: Settings | None = None  # None: read from ``home``
    auth: bool = True  # False only on a loopback address (duban serve checks)


def _few_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives each of a worker's threads its own malloc arena (up to 8 per core) and rarely
    returns their memory: a gthread worker's RSS then grows with every large page it renders.
    Two arenas keep it near what is really in use (mallopt M_ARENA_MAX; not glibc: nothing)."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def freeze_long_lived() -> None:
    """After a serve worker's warm-up: its long-lived objects (modules, the app, its layouts) are
    many, and Python's cyclic collector scanned them all in full collections in the middle of
    renders (at a million assignments: page p95 +30–100 ms). Freeze them out of its way and let
    the young generation fill more before a collection; unfreeze at exit so they are freed."""
    gc.freeze()
    gc.set_threshold(20000, 20, 100)
    atexit.register(gc.unfreeze)


def make_app(config: ServeConfig) -> flask.Flask:
    """The worker's app, ready to serve: Dash's bundles registered, the published version warming
    in the background and every newly published one warmed before it is served."""
    _few_malloc_arenas()
    app = create_app(config.warehouse, home=config.home, settings=config.settings, auth=config.auth)
    application = app.server
    # Dash registers its component bundles on its first request, unguarded: concurrent first
    # requests on a worker's threads could get 500 for every script (plotly/dash#3971). One request
    # here, before gunicorn hands the worker any, does it once (the answer itself, maybe 401, does
    # not matter).
    application.test_client().get("/_dash-layout")
    board = app.duban
    # Warm the published version now (in the background, so the worker answers at once) and every
    # newly published one before it is served (PublishedWarehouse.prepare).
    board.pw.prepare = board.warm
    threading.Thread(target=_warm_current, args=(board,), name=WARM_THREAD, daemon=True).start()
    return application


def _warm_current(board: Dashboard) -> None:
    try:
        board.warm(*board.pw.snapshot())
    except WarehouseMissing:
        pass
    except Exception:  # no version yet, or a broken one: requests will say so themselves
        log.exception("warming the published version")
    freeze_long_lived()

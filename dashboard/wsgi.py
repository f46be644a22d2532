"""WSGI entry for gunicorn (`duban serve`): ``gunicorn dashboard.wsgi:application``.

DUBAN_WAREHOUSE names the warehouse link; DUBAN_NO_AUTH=1 turns login off (the CLI allows that
only on a loopback address); DUBAN_HOME (default ./var) holds accounts, audit log and settings.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading

from dashboard.app import create_app, freeze_long_lived
from warehouse.connection import WarehouseMissing


def _few_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives each of a worker's threads its own malloc arena (up to 8 per core) and rarely
    returns their memory: a gthread worker's RSS then grows with every large page it renders.
    Two arenas keep it near what is really in use (mallopt M_ARENA_MAX; not glibc: nothing)."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


_few_malloc_arenas()

app = create_app(os.environ["DUBAN_WAREHOUSE"], auth=os.environ.get("DUBAN_NO_AUTH") != "1")
application = app.server
# Dash registers its component bundles on its first request, unguarded: concurrent first requests
# on a worker's threads could get 500 for every script (plotly/dash#3971). One request here, before
# gunicorn hands the worker any, does it once (the answer itself, maybe 401, does not matter).
application.test_client().get("/_dash-layout")


def _warm_current() -> None:
    try:
        app.duban.warm(*app.duban.pw.snapshot())
    except WarehouseMissing:
        pass
    except Exception:  # no version yet, or a broken one: requests will say so themselves
        logging.getLogger(__name__).exception("warming the published version")
    freeze_long_lived()


# Warm the published version now (in the background, so the worker answers at once) and every
# newly published one before it is served (PublishedWarehouse.prepare).
app.duban.pw.prepare = app.duban.warm
threading.Thread(target=_warm_current, daemon=True).start()

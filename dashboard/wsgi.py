"""WSGI entry for gunicorn (`duban serve`): ``gunicorn dashboard.wsgi:application``.

DUBAN_WAREHOUSE names the warehouse link; DUBAN_NO_AUTH=1 turns login off (the CLI allows that
only on a loopback address); DUBAN_HOME (default ./var) holds accounts, audit log and settings.
"""

from __future__ import annotations

import os

from dashboard.app import create_app

app = create_app(os.environ["DUBAN_WAREHOUSE"], auth=os.environ.get("DUBAN_NO_AUTH") != "1")
application = app.server

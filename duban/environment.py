"""The environment variables duban reads, read only here and only by the edges (the CLI, the
server, the WSGI factory), which make the configuration from them and pass it down.

DUBAN_HOME: the operator's folder (settings.toml, alias tables, hand scores, app.db); ./var if unset.
"""

from __future__ import annotations

import os
from pathlib import Path


def duban_home() -> Path:
    return Path(os.environ.get("DUBAN_HOME", "./var"))

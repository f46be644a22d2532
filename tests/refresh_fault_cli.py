"""``python -m tests.refresh_fault_cli etl run …``: the duban command with the fault named by
$DUBAN_FAULT_BEFORE_PUBLISH injected just before the refresh publishes (see tests/faults.py)."""

from __future__ import annotations

import functools
import sys

from duban import cli
from etl import pipeline
from tests.faults import before_publish_from_env

if __name__ == "__main__":  # a spawned worker imports this module again: it must not run the command
    pipeline.run_refresh = functools.partial(pipeline.run_refresh, before_publish=before_publish_from_env)
    sys.exit(cli.main())

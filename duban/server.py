"""`duban serve`: the dashboard on gunicorn (a production WSGI server), login required by default."""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path
from typing import Callable

from gunicorn.app.base import BaseApplication

from dashboard.wsgi import ServeConfig, make_app
from duban.core.settings import Settings


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _exit_at_once(_server, _worker) -> None:
    """A worker leaves without finalising the interpreter: its daemon threads (warm-up, retired
    connections' closers) may be inside DuckDB, and finalising kills them there, which aborts the
    process (`terminate called … exception not rethrown`, SIGABRT). A serve worker only reads, so
    there is nothing to finish."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class _DashApplication(BaseApplication):
    def __init__(self, options: dict, config: ServeConfig):
        self.options, self.config = options, config
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Each worker builds its own app (and its own DuckDB connection) after the fork.
        return make_app(self.config)


def serve(warehouse: Path, home: Path, settings: Settings, host: str = "127.0.0.1", port: int = 8050, workers: int = 2,
          auth: bool = True, log: Callable[[str], None] = print) -> None:
    """Serve the dashboard on ``warehouse`` (the published link) with the operator's ``home`` and
    ``settings``: the configuration goes to each worker as an object (dashboard.wsgi.ServeConfig)."""
    if not auth:
        if not is_loopback(host):
            raise ValueError(f"--no-auth 只允许在本机地址上使用 (127.0.0.1 / ::1), 当前为 {host}")
        log("警告: 看板未启用登录 (--no-auth), 只能从本机访问 / WARNING: login disabled, loopback only")
    # the link itself (resolving it would pin the current version and miss every later refresh)
    config = ServeConfig(Path(warehouse).parent.resolve() / Path(warehouse).name, Path(home), settings, auth)
    log(f"看板地址 / dashboard: http://{host}:{port}/")
    _DashApplication({
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        # Two threads per worker: Python renders hold the GIL, so more threads only queue inside a
        # worker and multiply its memory (1M-assignment load test: 4 threads p95 257-372 ms and
        # 708-764 MB per worker; 2 threads p95 65 ms and 406 MB). Scale with --workers instead.
        "threads": 2,
        "worker_class": "gthread",
        "timeout": 120,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "worker_exit": _exit_at_once,
    }, config).run()

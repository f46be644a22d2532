"""The serve worker's app (dashboard/wsgi.py): importing the module builds nothing and starts no
thread; `duban serve` hands its configuration to the worker factory as an object, never through
the environment."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dashboard.wsgi import WARM_THREAD, ServeConfig, make_app
from duban import server
from duban.core.settings import load_settings
from tests.browser import sample

ROOT = Path(__file__).resolve().parents[1]


def test_importing_the_wsgi_module_builds_no_app_and_starts_no_thread():
    check = ("import threading, dashboard.wsgi as w; "
             "assert threading.active_count() == 1, threading.enumerate(); "
             "assert not hasattr(w, 'application') and not hasattr(w, 'app')")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    subprocess.run([sys.executable, "-c", check], cwd=ROOT, env=env, check=True)


def finish_warming() -> None:
    """Wait for the factory's warm-up (it renders the main views in the background)."""
    for thread in threading.enumerate():
        if thread.name == WARM_THREAD:
            thread.join()


@pytest.fixture(autouse=True)
def collector_as_it_was():
    """A worker's warm-up ends by freezing its objects out of the collector's way: undone here."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_the_factory_serves_the_configured_warehouse(tmp_path):
    home = tmp_path / "home"
    application = make_app(ServeConfig(sample.build(tmp_path), home, load_settings(home), auth=False))
    finish_warming()
    assert application.test_client().get("/").status_code == 200
    assert application.test_client().get("/_dash-layout").status_code == 200


def test_serve_passes_its_configuration_as_an_object(tmp_path, monkeypatch):
    seen = {}

    def run(self):  # instead of gunicorn's arbiter: what a worker would load
        seen["config"], seen["options"] = self.config, self.options
        seen["application"] = self.load()

    monkeypatch.setattr(server._DashApplication, "run", run)
    before = dict(os.environ)
    link = sample.build(tmp_path)
    settings = load_settings(tmp_path / "home")
    server.serve(link, tmp_path / "home", settings, port=8999, workers=1, auth=False, log=lambda _: None)
    finish_warming()
    assert dict(os.environ) == before
    assert seen["config"] == ServeConfig(link.parent.resolve() / link.name, tmp_path / "home", settings, auth=False)
    assert seen["options"]["bind"] == "127.0.0.1:8999"
    assert seen["application"].test_client().get("/").status_code == 200

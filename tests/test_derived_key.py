"""One key for derived data (issue 15.4): statefiles.derived_key names state files, stored pages
and stored downloads, and changes with everything a derived file depends on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from warehouse.statefiles import derived_key

ROOT = Path(__file__).resolve().parents[1]


def test_the_key_changes_with_each_input_and_only_then(tmp_path):
    version, scores = tmp_path / "v1.duckdb", tmp_path / "考核人工评分.csv"
    version.write_bytes(b"one")

    def key(settings="s", code="c", question=("2024-06-30", 2024)):
        return derived_key(str(version), settings, code, (scores, None), *question)

    first = key()
    assert key() == first and len(first) == 64
    assert len({first, key(settings="t"), key(code="d"), key(question=("2024-07-01", 2024))}) == 4
    scores.write_text("单位,得分\n")  # an operator file appears …
    with_scores = key()
    assert with_scores != first
    scores.write_text("单位,得分\n甲局,90\n")  # … and changes
    assert key() != with_scores
    changed = key()
    os.utime(version, ns=(1, 1))  # the version file is another one (a refresh)
    assert key() != changed


def test_importing_the_indicator_layer_starts_no_thread():
    code = ("import threading, warehouse.indicators, warehouse.statefiles, dashboard.page_cache; "
            "print(threading.active_count())")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"

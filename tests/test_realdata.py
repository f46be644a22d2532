"""The 慈溪 2017 system's own tables, in the forms it exported (HTML tables sent as .xls, stacked
主办件/协办件 blocks, a per-unit summary), through the real ETL with no settings file, to
`duban metrics --json`: the figures must be what the rows say (tests/realdata.py)."""

from __future__ import annotations

import json

import pytest

from duban.cli import main
from duban.core.settings import load_settings
from etl.pipeline import run_refresh
from tests import realdata


@pytest.fixture(scope="module")
def cixi(tmp_path_factory):
    root = tmp_path_factory.mktemp("cixi")
    inbox = root / "收件"
    realdata.write_inbox(inbox)
    warehouse = root / "wh" / "duban.duckdb"
    home = root / "home"
    run_refresh(warehouse, load_settings(home=home), inbox=inbox, home=home, trusted_folders=[inbox])
    return warehouse, home, inbox


def _json(capsys, monkeypatch, home, *args) -> dict:
    monkeypatch.setenv("DUBAN_HOME", str(home))
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_cixi_figures_are_what_the_rows_say(cixi, capsys, monkeypatch):
    warehouse, home, _ = cixi
    m = _json(capsys, monkeypatch, home, "metrics", "--warehouse", str(warehouse), "--as-of", realdata.AS_OF)
    assert m["total"] == 284
    assert m["completed"] == 151
    assert m["class_counts"] == {"A": 21, "B": 96, "C": 25, "D": 9}
    assert m["units"] == 79
    unit = _json(capsys, monkeypatch, home, "metrics", "--warehouse", str(warehouse), "--as-of", realdata.AS_OF,
                 "--unit", "市交通运输局")
    assert (unit["lead_assignments"], unit["co_assignments"], unit["completed"]) == (49, 15, 37)


def test_cixi_files_are_read_as_what_they_are(cixi, capsys, monkeypatch):
    warehouse, home, _ = cixi
    status = _json(capsys, monkeypatch, home, "etl", "status", "--warehouse", str(warehouse))
    files = {f["original_name"]: f for f in status["files"]}
    register = files[f"{realdata.SESSION}议案建议汇总.xls"]
    assert register["kind_label"] == "交办台账" and register["rows_loaded"] == 284
    # 9 drafts without a number, 3 numbered rows without a lead unit (221 and 284 again, unassigned)
    assert register["rows_rejected"] == 12
    unit = files["市交通运输局办理件汇总.xls"]
    assert unit["kind_label"] == "办理情况" and unit["sender_unit"] == "市交通运输局"
    assert unit["rows_loaded"] == 49 + 15
    summary = files["办理情况统计20170702.xls"]
    assert summary["status"] == "整体拒收" and summary["reject_reason"].startswith("汇总表")


def test_cixi_check_says_what_a_refresh_would_do(cixi, capsys, monkeypatch, tmp_path):
    _, _, inbox = cixi
    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    capsys.readouterr()
    assert main(["etl", "check", "--inbox", str(inbox), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    files = {f["original_name"]: f for f in plan["files"]}
    unit = files["市交通运输局办理件汇总.xls"]
    assert unit["kind_label"] == "办理情况" and unit["blocks"] == ["市交通运输局 主办件", "市交通运输局 协办件"]
    assert unit["rows_loaded"] == 64 and unit["rows_rejected"] == 0
    assert files["办理情况统计20170702.xls"]["reject_reason"].startswith("汇总表")
    assert plan["published"] is False

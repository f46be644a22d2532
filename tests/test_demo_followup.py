"""The demo shows the follow-through (issue 16.7): both ratings, 重办 cycles, revised promises,
重点督办项目 under leaders with titles — in the simulation, in the files, and through the real ETL
into the figures of `duban metrics`."""

from __future__ import annotations

import json
import random
from datetime import date

import pytest

from duban.cli import main
from duban.demo.inbox import NOT_RATED, PROJECTS, build_register, demo_units, simulate_year, snapshot, write_inbox

AS_OF = date(2026, 11, 22)


@pytest.fixture(scope="module")
def year():
    units = demo_units(60)
    rng = random.Random(3)
    quality = {u.name: 0.55 + 0.45 * rng.random() ** 0.5 for u in units}
    deputies = [(f"代表{i}", "锦湖区代表团") for i in range(50)]
    return simulate_year(rng, 2026, 400, units, deputies, quality, AS_OF, current=True)


def test_the_simulation_follows_through(year):
    leads = [a for work in year.by_unit.values() for a in work if a.role != "协办"]
    # 重点督办项目: a field's key suggestions under one leader (a title in the name: 主任/副主任/秘书长)
    projects: dict[str, set] = {}
    for s in year.suggestions:
        if s.project:
            assert s.key and s.project in PROJECTS.values()
            projects.setdefault(s.project, set()).add(s.leader)
    assert len(projects) >= 2 and all(len(leaders) == 1 for leaders in projects.values())
    assert all(any(t in leader for t in ("主任", "秘书长")) for (leader,) in projects.values())
    # 重办: re-replies rated again and re-replies not rated yet; in the running year, 不满意 of late
    rereplied = [a for a in leads if len(a.replies) > 1]
    assert any(a.replies[-1][3] == NOT_RATED for a in rereplied) and any(a.replies[-1][3] < AS_OF for a in rereplied)
    assert any(a.replies[0][4] == "不满意" and 0 < (AS_OF - a.replies[0][3]).days <= 20 for a in leads)
    # a revised promise: the later report gives the other date; the earlier one the first
    revised = [a for a in leads if a.promise_revision]
    assert revised
    a = revised[0]
    since, other = a.promise_revision
    assert snapshot(a, since)["promise_date"] == other != a.promise[1]
    first_b = next(rep[0] for rep in a.replies if rep[1] == "B")
    assert snapshot(a, first_b)["promise_date"] == a.promise[1]


def test_the_register_names_the_projects(year):
    for shape, header in (("xlsx_two_level", "督办项目"), ("xls", "重点督办项目"), ("csv_gbk", "督办专题"),
                          ("csv_bom", "重点督办建议项目")):
        _, (sheet,), _, _ = build_register(random.Random(1), year, shape, large=False)
        head = next(r for r in sheet.rows if "督办领导" in r)
        column = head.index(header)
        assert {r[column] for r in sheet.rows[sheet.rows.index(head) + 1:] if r[column]} == {
            s.project for s in year.suggestions if s.project}


def test_the_demo_figures_through_the_etl(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    inbox, warehouse = tmp_path / "inbox", tmp_path / "wh" / "duban.duckdb"
    write_inbox(inbox, suggestions=200, years=2, units=15, seed=5, as_of=AS_OF)
    assert main(["etl", "run", "--inbox", str(inbox), "--warehouse", str(warehouse), "--trusted"]) == 0
    capsys.readouterr()
    assert main(["metrics", "--warehouse", str(warehouse), "--json", "--as-of", AS_OF.isoformat()]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["work_evaluated"] > 0 and m["implementation_evaluated"] > 0          # both ratings
    r = m["rehandling"]
    assert r["opened"] > 0 and r["overdue"] > 0 and r["replied"] > 0 and r["turned_satisfied"] > 0
    p = m["promises"]
    assert p["revised"] > 0 and p["kept_late"] > 0 and p["broken"] > 0
    assert m["key_projects"] and all(k["leader"] and k["total"] >= 2 for k in m["key_projects"])

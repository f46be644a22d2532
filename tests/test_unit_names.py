"""Unit spellings on files duban has never seen: place names inferred from the data (no settings
file), unknown spellings proposed with ranked candidates — never guessed — and confirmed by a
supervisor, after which the next refresh loads their rows. Worked by hand."""

from __future__ import annotations

import json

import pytest

from duban.core import appstate
from duban.cli import main
from etl.unitnames import Place, infer_places, spelling_candidates
from tests.files import write_xlsx

CHENGDU = ["成都市教育局", "成都市交通运输局", "成都市锦江区人民政府", "成都市人力资源和社会保障局",
           "成都市综合行政执法局（市城管局）", "成都市财政局"]


def test_places_are_read_off_the_register_or_the_units_spellings():
    assert infer_places(CHENGDU) == [Place("成都市", "交办台账")]
    # a district congress: every unit under 成都市锦江区; units write 锦江区教育局 or 区教育局
    district = ["成都市锦江区教育局", "成都市锦江区交通运输局", "成都市锦江区人民政府"]
    assert [p.name for p in infer_places(district)] == ["成都市锦江区", "成都市", "锦江区"]
    # the register writes 市教育局, a unit 汉中市教育局: the place comes from the spelling
    assert infer_places(["市教育局", "市交通运输局"], ["汉中市教育局", "汉中市交通局"]) == [Place("汉中市", "单位来文")]
    # 慈溪's register names no place; 杭州湾新区管委会 and 城市管理局 are units, not places
    assert infer_places(["市交通运输局", "宗汉街道", "杭州湾新区管委会", "市城市管理局"]) == []
    assert infer_places(["晋城市教育局", "晋城市公安局"]) == [Place("晋城市", "交办台账")]


def test_candidates_are_ranked_by_the_documented_rules():
    places = ["成都市"]
    bracket, = spelling_candidates("市城管局", CHENGDU, places)
    assert (bracket.unit, bracket.score, bracket.rule) == ("成都市综合行政执法局（市城管局）", 1.0, "括号中的别称")
    # 人力社保局 (5 of 10 characters, in order, same first character and kind of unit): 0.6 + 0.3 × 5/10
    abbreviation, = spelling_candidates("市人力社保局", CHENGDU, places)
    assert (abbreviation.unit, abbreviation.score, abbreviation.rule) == ("成都市人力资源和社会保障局", 0.75, "简称")
    assert spelling_candidates("市无此局", CHENGDU, places) == []


@pytest.fixture
def chengdu(tmp_path, monkeypatch):
    """Another city's inbox, no settings file: the register writes 成都市…, the units 市…, 锦江区政府,
    市城管局 (the bracketed name) and 市人力社保局 (an abbreviation nobody listed)."""
    home = tmp_path / "home"
    monkeypatch.setenv("DUBAN_HOME", str(home))
    inbox = tmp_path / "收件"
    inbox.mkdir()
    register = [["2024年成都市人大代表建议交办台账"],
                ["建议编号", "届次", "标题", "交办日期", "办理期限", "主办单位", "协办单位"]]
    leads = ["成都市教育局", "成都市交通运输局", "成都市锦江区人民政府", "成都市人力资源和社会保障局",
             "成都市综合行政执法局（市城管局）", "成都市教育局"]
    register += [[n, "十八届一次", f"第{n}号建议", "2024-03-01", "2024-06-01", lead, "成都市财政局" if n == 1 else None]
                 for n, lead in enumerate(leads, start=1)]
    write_xlsx(inbox / "交办台账.xlsx", {"台账": register})
    header = ["建议编号", "答复日期", "办理结果"]
    for name, rows in {"市教育局": [[1, "2024-05-10", "A"], [6, None, None]], "市交通运输局": [[2, "2024-05-20", "B"]],
                       "锦江区政府": [[3, "2024-06-10", "A"]], "市人力社保局": [[4, "2024-05-01", "C"]],
                       "市城管局": [[5, "2024-05-05", "A"]]}.items():
        write_xlsx(inbox / f"{name}_2024-06-30.xlsx", {"办理情况": [[f"填报单位：{name}"], header, *rows]})
    warehouse = tmp_path / "wh" / "duban.duckdb"
    assert main(["etl", "run", "--inbox", str(inbox), "--warehouse", str(warehouse), "--trusted"]) == 0
    return warehouse, home


def _json(capsys, *args) -> dict:
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_another_city_with_no_settings_file(chengdu, capsys):
    warehouse, home = chengdu
    assert not (home / "settings.toml").exists()
    m = _json(capsys, "metrics", "--warehouse", str(warehouse), "--as-of", "2024-06-30")
    # nos. 1, 2, 3, 5 replied; no. 4's export is 市人力社保局's, which nobody has confirmed yet
    assert (m["total"], m["completed"], m["overdue"]) == (6, 4, 2)
    assert m["class_counts"] == {"A": 3, "B": 1, "C": 0, "D": 0}
    status = _json(capsys, "etl", "status", "--warehouse", str(warehouse))
    assert status["places"] == [{"name": "成都市", "found_in": "交办台账"}]
    assert [(u["spelling"], u["rows"], [c["unit"] for c in u["candidates"]]) for u in status["unknown_spellings"]] == [
        ("市人力社保局", 1, ["成都市人力资源和社会保障局"])]
    reasons = [r for f in status["files"] for r in f["reasons"]]
    assert any('承办单位 "市人力社保局" 不是交办台账中的单位: 可能是 "成都市人力资源和社会保障局"' in r for r in reasons)
    co = _json(capsys, "metrics", "--warehouse", str(warehouse), "--as-of", "2024-06-30", "--unit", "市财政局")
    assert co["co_assignments"] == 1


def test_a_confirmed_spelling_loads_at_the_next_refresh(chengdu, capsys, tmp_path):
    warehouse, home = chengdu
    assert main(["etl", "aliases", "--warehouse", str(warehouse), "--accept", "市人力社保局=成都市无此局"]) == 1
    assert main(["etl", "aliases", "--warehouse", str(warehouse), "--by", "alice",
                 "--accept", "市人力社保局=成都市人力资源和社会保障局"]) == 0
    assert appstate.audit_log(home, action="确认单位写法")[0]["detail"] == "市人力社保局 = 成都市人力资源和社会保障局"
    empty = tmp_path / "空"
    empty.mkdir()
    assert main(["etl", "run", "--inbox", str(empty), "--warehouse", str(warehouse)]) == 0
    m = _json(capsys, "metrics", "--warehouse", str(warehouse), "--as-of", "2024-06-30")
    assert (m["completed"], m["overdue"], m["class_counts"]["C"]) == (5, 1, 1)
    assert _json(capsys, "etl", "aliases", "--warehouse", str(warehouse))["unknown_spellings"] == []


def test_data_page_lists_the_spellings_and_a_supervisor_confirms_one(chengdu):
    from dashboard.app import create_app
    from dashboard.auth import Viewer
    from dashboard.pages.data import accept_spelling
    from tests.test_dashboard_callbacks import by_id, text

    warehouse, home = chengdu
    board = create_app(warehouse, home=home, auth=False).duban
    supervisor, leader = Viewer("alice", "supervisor", None), Viewer("lee", "leader", None)
    page = board.render("/data", "", viewer=supervisor)
    assert "成都市 (从交办台账推断)" in text(by_id(page, "place-names"))
    listed = text(by_id(page, "unknown-spellings"))
    assert "市人力社保局" in listed and "1 行被拒收" in listed and "确认是 成都市人力资源和社会保障局" in listed
    # a unit account sees nothing of it; a leader may look but not confirm; a forged pair is refused
    assert "unit-names-card" not in str(board.render("/data", "", viewer=Viewer("u", "unit", "成都市教育局")))
    assert "只有督办人员" in str(accept_spelling(board, leader, "市人力社保局", "成都市人力资源和社会保障局"))
    assert "已不在待确认之列" in str(accept_spelling(board, supervisor, "市人力社保局", "成都市教育局"))
    assert "已确认" in str(accept_spelling(board, supervisor, "市人力社保局", "成都市人力资源和社会保障局"))
    assert (home / "unit_aliases.csv").read_text(encoding="utf-8").splitlines() == [
        "别名,规范名称", "市人力社保局,成都市人力资源和社会保障局"]

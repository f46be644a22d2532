"""Unit ranking: shrinkage keeps a tiny unit from topping the list; hand scores; reasons."""

from __future__ import annotations

from datetime import date

import pytest

from duban.core.settings import load_settings
from tests.warehouse_builder import connect, make_warehouse
from warehouse.ranking import RankingInputError, describe_ranking, rank_units, split_ranking, workload_tier

ZERO = {k: 0 for k in ("on_time", "face", "solved", "satisfaction", "promise", "co_on_time", "reporting",
                       "leadership", "system")}
T = date(2024, 12, 31)


def build(tmp_path):
    """甲局 20 件全部按时; 乙局 20 件 14 件按时 6 件逾期答复; 小局 2 件全部按时.

    交办 2024-03-01, deadline 2024-06-01; on time = reply 05-01, late = reply 07-01.
    """
    plan = [("甲局", 20, 20), ("乙局", 20, 14), ("小局", 2, 2)]
    suggestions, assignments, reports, n = [], [], [], 0
    for unit, count, on_time in plan:
        for i in range(count):
            n += 1
            suggestions.append({"number": n, "assigned_date": "2024-03-01"})
            assignments.append({"number": n, "unit": unit})
            reports.append({"number": n, "unit": unit, "report_date": "2024-07-15",
                            "reply_date": "2024-05-01" if i < on_time else "2024-07-01", "result_class": "A"})
    return make_warehouse(tmp_path, suggestions=suggestions, assignments=assignments, reports=reports)


def test_tiny_unit_does_not_top_the_list(tmp_path):
    settings = load_settings(home=tmp_path, override={"ranking": {"weights": {**ZERO, "on_time": 100}}})
    rows = rank_units(connect(build(tmp_path)), settings, 2024, T)
    # City pooled on-time rate p = (20 + 14 + 2) / 42 = 6/7; m = prior_strength 5.
    # 甲局 (20 + 5·6/7) / 25 = 0.9714286; 小局 (2 + 30/7) / 7 = 0.8979592; 乙局 (14 + 30/7) / 25 = 0.7314286.
    assert [u["unit"] for u in rows] == ["甲局", "小局", "乙局"]
    assert [u["rank"] for u in rows] == [1, 2, 3]
    assert rows[0]["total"] == pytest.approx(97.142857, abs=1e-5)
    assert rows[1]["total"] == pytest.approx(89.795918, abs=1e-5)
    assert rows[2]["total"] == pytest.approx(73.142857, abs=1e-5)
    small = rows[1]
    assert small["tier"] == "少量(<5件)" and small["tier_rank"] == 1 and small["tier_size"] == 1
    assert rows[0]["tier"] == "较多(≥15件)" and rows[2]["tier_rank"] == 2
    on_time = next(a for a in small["aspects"] if a["key"] == "on_time")
    assert (on_time["numerator"], on_time["denominator"], on_time["raw"]) == (2, 2, 1.0)
    assert "2/2 = 100.00%" in on_time["reason"] and "85.71%" in on_time["reason"]  # city mean 6/7
    # Aspects without city-wide data (no promises, no co-handling) are said so, not scored.
    promise = next(a for a in small["aspects"] if a["key"] == "promise")
    assert not promise["counted"] and "不计分" in promise["reason"]


def test_hand_scores_and_rescaling(tmp_path):
    settings = load_settings(home=tmp_path,
                             override={"ranking": {"weights": {**ZERO, "on_time": 50, "leadership": 50}}})
    conn = connect(build(tmp_path))
    # Without a scores file the hand aspect is left out and on_time is rescaled to 100 points.
    rows = rank_units(conn, settings, 2024, T)
    assert rows[0]["total"] == pytest.approx(97.142857, abs=1e-5)
    scores = tmp_path / "评分.csv"
    scores.write_text("单位,领导重视程度\n甲局,80\n小局,100\n", encoding="gb18030")
    rows = rank_units(conn, settings, 2024, T, hand_scores=scores)
    by_unit = {u["unit"]: u for u in rows}
    # 甲局 0.9714286·50 + 80% of 50 = 48.571 + 40; 小局 0.8979592·50 + 50; 乙局 0.7314286·50 + 0 (no score).
    assert by_unit["甲局"]["total"] == pytest.approx(88.571429, abs=1e-5)
    assert by_unit["小局"]["total"] == pytest.approx(94.897959, abs=1e-5)
    assert by_unit["乙局"]["total"] == pytest.approx(36.571429, abs=1e-5)
    lead = next(a for a in by_unit["乙局"]["aspects"] if a["key"] == "leadership")
    assert "按0分计" in lead["reason"]
    bad = tmp_path / "bad.csv"
    bad.write_text("单位,领导重视程度\n不存在局,90\n", encoding="utf-8")
    with pytest.raises(RankingInputError, match="不是已知的承办单位"):
        rank_units(conn, settings, 2024, T, hand_scores=bad)


def test_workload_tiers():
    assert workload_tier(0, (5, 15)) == "少量(<5件)"
    assert workload_tier(5, (5, 15)) == "中等(5–14件)"
    assert workload_tier(14, (5, 15)) == "中等(5–14件)"
    assert workload_tier(15, (5, 15)) == "较多(≥15件)"


def test_equal_totals_share_a_rank_and_co_only_units_stand_apart(tmp_path):
    """甲局 and 丙局 both 2 of 2 on time (the same total to the cent): rank 1 and 1, then 乙局 3rd.
    协局 only co-handles: not ranked, after the ranked units, saying why."""
    suggestions, assignments, reports = [], [], []
    for n, (unit, on_time) in enumerate([("甲局", True), ("甲局", True), ("丙局", True), ("丙局", True),
                                         ("乙局", True), ("乙局", False)], start=1):
        suggestions.append({"number": n, "assigned_date": "2024-03-01"})
        assignments.append({"number": n, "unit": unit})
        reports.append({"number": n, "unit": unit, "report_date": "2024-07-15",
                        "reply_date": "2024-05-01" if on_time else "2024-07-01", "result_class": "A"})
    assignments.append({"number": 1, "unit": "协局", "role": "协办"})
    reports.append({"number": 1, "unit": "协局", "report_date": "2024-04-15", "reply_date": "2024-04-10"})
    settings = load_settings(home=tmp_path, override={"ranking": {"weights": {**ZERO, "on_time": 100}}})
    rows = rank_units(connect(make_warehouse(tmp_path, suggestions=suggestions, assignments=assignments,
                                             reports=reports)), settings, 2024, T)
    ranked, unranked = split_ranking(rows)
    assert [(u["unit"], u["rank"]) for u in ranked] == [("丙局", 1), ("甲局", 1), ("乙局", 3)]
    assert [u["tier_rank"] for u in ranked] == [1, 1, 3]
    assert "第1名/3" in ranked[1]["reason"]
    assert [u["unit"] for u in unranked] == ["协局"] and rows[-1]["unit"] == "协局"
    apart = unranked[0]
    assert apart["rank"] is None and apart["total"] is None and apart["tier"] is None
    assert "无主办件" in apart["reason"] and "不参加排名" in apart["reason"]
    # Aspects left out carry no points (不计分), not 0; the applied weight is the rescaled one.
    promise = next(a for a in ranked[0]["aspects"] if a["key"] == "promise")  # no B promise anywhere
    assert not promise["counted"] and promise["points"] is None and promise["applied_weight"] is None
    on_time = next(a for a in ranked[0]["aspects"] if a["key"] == "on_time")
    assert on_time["applied_weight"] == pytest.approx(100)
    text = describe_ranking(rows)
    assert "不参加排名" in text and "协局" in text

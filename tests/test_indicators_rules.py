"""The readings of docs/indicators.md, one small warehouse each, expected values worked by hand."""

from __future__ import annotations

from datetime import date

import pytest

from duban.core.settings import load_settings
from tests.warehouse_builder import connect, make_warehouse
from warehouse.indicators import Indicators, Scope

D = date.fromisoformat


def ind_for(tmp_path, override=None, **tables) -> Indicators:
    return Indicators(connect(make_warehouse(tmp_path, **tables)), load_settings(home=tmp_path, override=override))


def sug(n, assigned="2024-03-01", **kw):
    return {"number": n, "assigned_date": assigned, **kw}


def by_number(rows):
    return {r["number"]: r for r in rows}


def test_fenban_worst_class_and_evaluation(tmp_path):
    # No. 1: leads 甲 (A, 满意) and 乙 (C, 基本满意) → class C, evaluation 基本满意.
    # No. 2: leads 甲 (A, 满意) and 乙 (B, no evaluation) → class B, unevaluated.
    # No. 3: 甲 replied, 乙 did not → not completed.
    r = lambda n, u, reply, cls, ev=None: {"number": n, "unit": u, "report_date": "2024-06-30",
                                           "reply_date": reply, "result_class": cls, "evaluation": ev,
                                           "face_to_face": True}
    ind = ind_for(
        tmp_path,
        suggestions=[sug(1), sug(2), sug(3)],
        assignments=[{"number": n, "unit": u, "role": "分办"} for n in (1, 2, 3) for u in ("甲局", "乙局")],
        reports=[r(1, "甲局", "2024-05-01", "A", "满意"), r(1, "乙局", "2024-05-03", "C", "基本满意"),
                 r(2, "甲局", "2024-05-01", "A", "满意"), r(2, "乙局", "2024-05-02", "B"),
                 r(3, "甲局", "2024-05-01", "A", "满意"), r(3, "乙局", None, None)])
    scope = Scope(as_of=D("2024-06-30"))
    m = ind.metrics(scope)
    assert (m["total"], m["completed"], m["overdue"]) == (3, 2, 1)      # no. 3 deadline 06-01 passed
    assert m["class_counts"] == {"A": 0, "B": 1, "C": 1, "D": 0}       # worst of each pair
    assert m["evaluated"] == 1 and m["satisfaction"]["基本满意"] == 1   # no. 2 unevaluated
    assert m["satisfied_rate"] == 1.0 and m["fully_satisfied_rate"] == 0.0
    rows = by_number(ind.suggestion_list(scope))
    assert rows[1]["lead_units"] == "乙局、甲局" and rows[1]["last_reply_date"] == D("2024-05-03")
    assert rows[2]["evaluation"] is None and rows[3]["status"] == "逾期"
    # The chase list names only the lead that has not replied.
    assert [(o["number"], o["unit"]) for o in ind.overdue(scope)] == [(3, "乙局")]
    # Unit scope: 甲局 judged on its own rows — 3 leads, all completed, all A, all 满意.
    u = ind.metrics(Scope(unit="甲局", as_of=D("2024-06-30")))
    assert (u["total"], u["completed"], u["lead_assignments"], u["co_assignments"]) == (3, 3, 3, 0)
    assert u["class_counts"]["A"] == 3 and u["satisfied_rate"] == 1.0
    u = ind.metrics(Scope(unit="乙局", as_of=D("2024-06-30")))
    assert (u["total"], u["completed"], u["overdue"]) == (3, 2, 1)
    assert u["evaluated"] == 1                                          # only no. 1 has its evaluation


def test_congress_evaluation_outranks_and_new_reply_replaces(tmp_path):
    ind = ind_for(
        tmp_path,
        suggestions=[sug(1), sug(2)],
        assignments=[{"number": 1, "unit": "甲局"}, {"number": 2, "unit": "甲局"}],
        reports=[
            {"number": 1, "unit": "甲局", "report_date": "2024-05-31", "reply_date": "2024-05-10",
             "result_class": "A", "evaluation": "满意"},
            # No. 2: 不满意 first, then a 重新答复 on 08-20 rated 满意.
            {"number": 2, "unit": "甲局", "report_date": "2024-06-30", "reply_date": "2024-06-10",
             "result_class": "C", "evaluation": "不满意"},
            {"number": 2, "unit": "甲局", "report_date": "2024-08-31", "reply_date": "2024-08-20",
             "result_class": "B", "evaluation": "满意", "evaluation_date": "2024-08-25"}],
        evaluations=[{"number": 1, "unit": "甲局", "reply_satisfaction": "不满意", "evaluation_date": "2024-06-15"}])
    # No. 1 before the congress's evaluation: the unit's 满意; after it: the congress's 不满意.
    assert ind.metrics(Scope(as_of=D("2024-06-01")))["satisfaction"]["满意"] == 1
    m = ind.metrics(Scope(as_of=D("2024-07-31")))
    # No. 1 不满意 (congress), no. 2 不满意 (first reply): both completed, both listed.
    assert m["completed"] == 2 and m["satisfaction"] == {"满意": 0, "基本满意": 0, "不满意": 2}
    assert [r["number"] for r in ind.unsatisfied(Scope(as_of=D("2024-07-31")))] == [1, 2]
    assert ind.unsatisfied(Scope(as_of=D("2024-07-31")))[0]["evaluation_source"] == "人大测评"
    # On 08-31 no. 2's new reply and its 满意 replace the earlier ones; class B now.
    m = ind.metrics(Scope(as_of=D("2024-08-31")))
    assert m["completed"] == 2 and m["satisfaction"] == {"满意": 1, "基本满意": 0, "不满意": 1}
    assert m["class_counts"] == {"A": 1, "B": 1, "C": 0, "D": 0}
    assert [r["number"] for r in ind.unsatisfied(Scope(as_of=D("2024-08-31")))] == [1]
    # 08-22: the newest export ≤ T is 06-30's (the 08-31 one does not exist yet) → still 不满意.
    assert ind.metrics(Scope(as_of=D("2024-08-22")))["satisfaction"]["不满意"] == 2


def test_supersession_as_of(tmp_path):
    ind = ind_for(
        tmp_path,
        suggestions=[sug(1), sug(2)],
        assignments=[{"number": 1, "unit": "甲局"}, {"number": 2, "unit": "甲局"}],
        reports=[
            {"number": 1, "unit": "甲局", "report_date": "2024-05-31", "status_text": "办理中"},
            {"number": 1, "unit": "甲局", "report_date": "2024-06-30", "reply_date": "2024-06-20",
             "result_class": "A"},
            {"number": 2, "unit": "甲局", "report_date": "2024-05-31", "reply_date": "2024-05-20",
             "result_class": "C"},
            {"number": 2, "unit": "甲局", "report_date": "2024-06-30", "reply_date": "2024-05-20",
             "result_class": "A"}])
    # T = 06-15 lies between the exports: the 05-31 rows count (no. 1 open, no. 2 class C).
    m = ind.metrics(Scope(as_of=D("2024-06-15")))
    assert (m["completed"], m["overdue"]) == (1, 1)     # no. 1 deadline 06-01 passed, 14 days
    assert m["class_counts"]["C"] == 1 and m["class_counts"]["A"] == 0
    assert ind.overdue(Scope(as_of=D("2024-06-15")))[0]["days_overdue"] == 14
    m = ind.metrics(Scope(as_of=D("2024-06-30")))
    assert (m["completed"], m["class_counts"]["A"]) == (2, 2)
    # No. 1 replied 06-20 after its 06-01 deadline: on time only no. 2 → 1 / (2 + 0).
    assert m["on_time_rate"] == 0.5
    detail = ind.suggestion_detail(("十八届一次", 1), as_of=D("2024-06-15"))
    # History as of 06-15 holds only the 05-31 row, and it is the selected one.
    assert [(h["report_date"], h["selected"]) for h in detail["assignments"][0]["history"]] == [
        (D("2024-05-31"), True)]
    assert detail["assignments"][0]["history"][0]["file_name"] == "甲局_2024-05-31.xlsx"


def test_co_handling_window(tmp_path):
    # 交办 03-01 → window ends 04-01 (co_handling_months 1). T = 07-01.
    ind = ind_for(
        tmp_path,
        suggestions=[sug(1), sug(2, assigned="2024-06-20")],
        assignments=[{"number": 1, "unit": "主办局"}, {"number": 1, "unit": "甲局", "role": "协办"},
                     {"number": 1, "unit": "乙局", "role": "协办"}, {"number": 1, "unit": "丙局", "role": "协办"},
                     {"number": 2, "unit": "主办局"}, {"number": 2, "unit": "丙局", "role": "协办"}],
        reports=[{"number": 1, "unit": "甲局", "report_date": "2024-04-30", "reply_date": "2024-03-20"},
                 {"number": 1, "unit": "乙局", "report_date": "2024-04-30", "reply_date": "2024-04-15"}])
    T = D("2024-07-01")
    co = lambda u: ind.metrics(Scope(unit=u, as_of=T))
    assert co("甲局")["co_on_time_rate"] == 1.0          # 03-20 ≤ 04-01
    assert co("乙局")["co_on_time_rate"] == 0.0          # 04-15 > 04-01
    # 丙局: no. 1 due (window ended 04-01) without opinion; no. 2's window ends 07-20 → not due: 0/1.
    c = co("丙局")
    assert (c["co_assignments"], c["co_due"], c["co_on_time"], c["co_on_time_rate"]) == (2, 1, 0, 0.0)
    assert c["unreported"] == 2 and c["lead_assignments"] == 0
    assert c["total"] == 0 and c["completion_rate"] is None     # leads nothing: N = 0
    assert co("主办局")["unreported"] == 2


def test_promises(tmp_path):
    b = lambda n, **kw: {"number": n, "unit": "甲局", "report_date": "2024-09-30", "reply_date": "2024-05-01",
                         "result_class": "B", **kw}
    ind = ind_for(
        tmp_path,
        suggestions=[sug(n) for n in (1, 2, 3, 4, 5)],
        assignments=[{"number": n, "unit": "甲局"} for n in (1, 2, 3, 4, 5)],
        reports=[b(1, promise_date="2024-08-31", promise_kept=True, promise_kept_date="2024-08-15"),  # kept
                 b(2, promise_date="2024-08-31", promise_kept=True, promise_kept_date="2024-09-10"),  # late
                 b(3, promise_date="2024-07-31", promise_kept=False),                                # broken
                 b(4, promise_date="2024-12-31"),                                                     # not due
                 b(5, promise_date="2024-08-31", promise_kept=True)])                                 # kept, undated
    m = ind.metrics(Scope(as_of=D("2024-09-30")))
    # Due (promise date < 09-30): nos. 1, 2, 3, 5; kept by the date: 1 and 5 → 2/4.
    assert (m["promise_due"], m["promise_kept"], m["promise_kept_rate"]) == (4, 2, 0.5)
    broken = ind.broken_promises(Scope(as_of=D("2024-09-30")))
    assert [(r["number"], r["days_past"]) for r in broken] == [(3, 61), (2, 30)]  # 07-31→09-30, 08-31→09-30
    # Before any promise date nothing is due: "—", never 0% or 100%.
    assert ind.metrics(Scope(as_of=D("2024-07-15")))["promise_kept_rate"] is None


def test_zero_denominators_are_none(tmp_path):
    ind = ind_for(tmp_path, suggestions=[sug(1)], assignments=[{"number": 1, "unit": "甲局"}])
    empty = ind.metrics(Scope(year=2030, as_of=D("2024-06-30")))
    assert empty["total"] == 0 and empty["by_category"] == [] and empty["units"] == 0
    for key in ("completion_rate", "on_time_rate", "face_rate", "solved_rate", "satisfied_rate",
                "fully_satisfied_rate", "promise_kept_rate"):
        assert empty[key] is None, key
    assert empty["class_rates"] == {"A": None, "B": None, "C": None, "D": None}
    # One open suggestion before its deadline: 办结率 0/1 = 0, but every rate over C is None.
    m = ind.metrics(Scope(as_of=D("2024-04-01")))
    assert m["completion_rate"] == 0.0 and m["on_time_rate"] is None and m["face_rate"] is None
    # Not assigned yet on 02-01: it does not exist.
    assert ind.metrics(Scope(as_of=D("2024-02-01")))["total"] == 0


def test_yoy_same_offset(tmp_path):
    # 2023: 交办 2023-03-01; 2024: 交办 2024-03-05. T = 2024-05-05 → offset 61 days → T' = 2023-05-01.
    ind = ind_for(
        tmp_path,
        suggestions=[sug(1, "2023-03-01", session="十七届五次", year=2023),
                     sug(2, "2023-03-01", session="十七届五次", year=2023),
                     sug(1, "2024-03-05"), sug(2, "2024-03-05"), sug(3, "2024-03-05"),
                     # A 闭会建议 assigned earlier does not move the reference date.
                     sug(9, "2023-01-10", session="十七届五次", year=2023, kind="闭会建议")],
        assignments=[{"suggestion_id": s, "unit": "甲局"} for s in
                     ("十七届五次-1", "十七届五次-2", "十七届五次-9", "十八届一次-1", "十八届一次-2", "十八届一次-3")],
        reports=[{"suggestion_id": "十七届五次-1", "unit": "甲局", "report_date": "2023-12-31", "reply_date": "2023-04-20"},
                 {"suggestion_id": "十七届五次-2", "unit": "甲局", "report_date": "2023-12-31", "reply_date": "2023-06-10"},
                 {"suggestion_id": "十七届五次-9", "unit": "甲局", "report_date": "2023-12-31", "reply_date": "2023-02-10"},
                 {"suggestion_id": "十八届一次-1", "unit": "甲局", "report_date": "2024-05-05", "reply_date": "2024-04-30"}])
    y = ind.yoy(Scope(year=2024, as_of=D("2024-05-05")))
    assert (y["reference_date"], y["previous_reference_date"]) == (D("2024-03-05"), D("2023-03-01"))
    assert (y["offset_days"], y["previous_as_of"], y["previous_year"]) == (61, D("2023-05-01"), 2023)
    assert (y["current"]["total"], y["current"]["completed"]) == (3, 1)
    # 2023 at 05-01: nos. 1 (04-20) and 9 (02-10) replied; no. 2 (06-10) not yet → 2 of 3,
    # read from the year-end export (earliest-row rule), not last year's final 3 of 3.
    assert (y["previous"]["total"], y["previous"]["completed"]) == (3, 2)
    assert y["previous"]["completion_rate"] == pytest.approx(2 / 3)
    # Without a year, the latest year started by T is taken.
    assert ind.yoy(Scope(as_of=D("2024-05-05")))["year"] == 2024
    curve = [r for r in ind.completion_curve(Scope(as_of=D("2024-05-05")), [2024]) if r["day_offset"] in (55, 56, 61)]
    # 2024: no. 1 replied 04-30 = day 56 after 03-05; 1 of 3 from then on.
    assert [(r["day_offset"], r["share"]) for r in curve] == [(55, 0.0), (56, pytest.approx(1 / 3)),
                                                              (61, pytest.approx(1 / 3))]
    # The 同比 curve (总览): last year read as of its 同比 date, ending on day 61 where the card's
    # previous completion rate stands (one reference for card and curve).
    both = ind.completion_curve(Scope(year=2024, as_of=D("2024-05-05")), [2024, 2023], same_offset=True)
    last = {year: max((r for r in both if r["year"] == year), key=lambda r: r["day_offset"]) for year in (2023, 2024)}
    assert (last[2023]["day_offset"], last[2024]["day_offset"]) == (61, 61)
    assert last[2023]["share"] == pytest.approx(y["previous"]["completion_rate"])
    assert last[2024]["share"] == pytest.approx(y["current"]["completion_rate"])


def deadlines(tmp_path, rule, **dl):
    ind = ind_for(
        tmp_path,
        override={"deadline": {"rule": rule, **dl}},
        sessions=[{"session": "十八届一次", "year": 2024, "closing_date": "2024-01-20"}],
        suggestions=[sug(1, "2024-03-01"), sug(2, "2024-03-01", register_deadline="2024-05-15"),
                     sug(3, "2024-08-10", kind="闭会建议"), sug(4, "2024-11-30", kind="闭会建议"),
                     sug(5, "2024-03-01"), sug(6, "2024-03-01"), sug(7, "2024-03-01", register_deadline="2024-05-15")],
        assignments=[{"number": n, "unit": "甲局"} for n in range(1, 8)],
        reports=[{"number": 5, "unit": "甲局", "report_date": "2024-06-30", "extension_date": "2024-12-31"},
                 {"number": 6, "unit": "甲局", "report_date": "2024-06-30", "extension_date": "2024-05-01"},
                 {"number": 7, "unit": "甲局", "report_date": "2024-06-30", "extension_date": "2024-07-15"}])
    return {r["number"]: r["deadline"] for r in ind.suggestion_list(Scope(as_of=D("2024-12-31")))}


def test_deadline_from_assignment_and_extension_cap(tmp_path):
    d = deadlines(tmp_path, "from_assignment")
    assert d[1] == D("2024-06-01")       # 03-01 + 3 months
    assert d[2] == D("2024-05-15")       # the register's 办理期限 overrides the rule
    assert d[3] == D("2024-11-10")
    assert d[4] == D("2025-02-28")       # 11-30 + 3 months, end of month clamps
    assert d[5] == D("2024-09-01")       # extension to 12-31 capped at 03-01 + 6 months
    assert d[6] == D("2024-06-01")       # an extension earlier than the deadline never shortens it
    assert d[7] == D("2024-07-15")       # register deadline extended (cap from 交办: 09-01)


def test_deadline_from_session_close(tmp_path):
    d = deadlines(tmp_path, "from_session_close")
    assert d[1] == D("2024-04-20")       # 大会建议: closing day 01-20 + 3 months
    assert d[3] == D("2024-11-10")       # 闭会建议 still from 交办
    assert d[5] == D("2024-07-20")       # extension capped at closing day + 6 months


def test_deadline_fixed_date(tmp_path):
    d = deadlines(tmp_path, "fixed_date", fixed_month_day="06-30")
    assert d[1] == D("2024-06-30") and d[6] == D("2024-06-30")
    assert d[2] == D("2024-05-15")
    assert d[3] == D("2024-11-10")
    assert d[5] == D("2024-09-01")       # cap from 交办 03-01 + 6 months


def test_due_soon_window_and_buckets(tmp_path):
    # Deadlines (交办 + 3 months) against T = 2024-06-30.
    ind = ind_for(
        tmp_path,
        suggestions=[sug(1, "2024-04-10"), sug(2, "2024-04-20"), sug(3, "2024-03-20"), sug(4, "2024-02-20"),
                     sug(5, "2023-12-20"), sug(6, "2023-11-30"), sug(7, "2024-03-30")],
        assignments=[{"number": n, "unit": "甲局"} for n in range(1, 8)])
    rows = by_number(ind.overdue(Scope(as_of=D("2024-06-30"))))
    assert rows[1]["age_bucket"] == "距期限0–15天" and rows[1]["days_to_deadline"] == 10   # 07-10
    assert 2 not in rows                                                                  # 07-20: 20 days
    assert (rows[3]["days_overdue"], rows[3]["age_bucket"]) == (10, "逾期1–30天")         # 06-20
    assert (rows[4]["days_overdue"], rows[4]["age_bucket"]) == (41, "逾期31–90天")        # 05-20
    assert (rows[5]["days_overdue"], rows[5]["age_bucket"]) == (102, "逾期90天以上")      # 03-20: 11+30+31+30
    # 2023-11-30 + 3 months clamps to 2024-02-29; to 06-30: 1 + 31 + 30 + 31 + 29 = 122.
    assert (rows[6]["days_overdue"], rows[6]["age_bucket"]) == (122, "逾期90天以上")
    assert rows[7]["days_to_deadline"] == 0 and rows[7]["status"] == "临期"                # 06-30 itself
    m = ind.metrics(Scope(as_of=D("2024-06-30")))
    assert (m["overdue"], m["due_soon"]) == (4, 2)


def test_restrict_unit_confines_every_result(tmp_path):
    ind = ind_for(
        tmp_path,
        suggestions=[sug(1, is_key=True, key_leader="张主任"), sug(2), sug(3)],
        assignments=[{"number": 1, "unit": "甲局"}, {"number": 1, "unit": "乙局", "role": "协办"},
                     {"number": 2, "unit": "乙局"}, {"number": 3, "unit": "乙局"}],
        reports=[{"number": 2, "unit": "乙局", "report_date": "2024-06-30", "reply_date": "2024-05-01",
                  "evaluation": "不满意", "result_class": "D"},
                 {"number": 1, "unit": "甲局", "report_date": "2024-06-30", "reply_date": None}])
    # A 甲局 account asking for 乙局 still gets 甲局 only.
    s = Scope(as_of=D("2024-06-30"), unit="乙局", restrict_unit="甲局")
    assert ind.metrics(s)["total"] == 1 and ind.metrics(s)["unit"] == "甲局"
    assert [r["unit"] for r in ind.unit_table(s)] == ["甲局"]
    assert {r["unit"] for r in ind.overdue(s)} == {"甲局"}
    assert ind.unsatisfied(s) == []                                  # 乙局's 不满意 is not 甲局's
    assert ind.unreported(s) == [] and ind.unreported_items(s) == []
    assert [r["number"] for r in ind.suggestion_list(s)] == [1]
    assert [r["number"] for r in ind.key_items(s)] == [1]
    assert {r["unit"] for r in ind.unit_assignments(s)} == {"甲局"}
    assert ind.available_filters(restrict_unit="甲局")["units"] == ["甲局"]
    detail = ind.suggestion_detail(("十八届一次", 1), as_of=D("2024-06-30"), restrict_unit="甲局")
    assert [a["unit"] for a in detail["assignments"]] == ["甲局"]
    assert ind.suggestion_detail(("十八届一次", 2), as_of=D("2024-06-30"), restrict_unit="甲局") is None
    assert {f["sender_unit"] for f in ind.data_status(restrict_unit="甲局")["files"]} == {"甲局"}
    # Unconfined, 乙局 is visible: 2 of its 3 assignments without a row (no. 1 协办, no. 3).
    assert ind.unreported(Scope(as_of=D("2024-06-30"))) == [
        {"unit": "乙局", "unreported": 2, "unreported_lead": 1, "unreported_co": 1, "assignments": 3,
         "last_report_date": D("2024-06-30")}]


def test_key_items_and_trends(tmp_path):
    ind = ind_for(
        tmp_path,
        suggestions=[sug(1, is_key=True, key_leader="张主任", key_committee="城建环资工委"),
                     sug(1, "2023-03-01", session="十七届五次", year=2023, category="教科文卫体类")],
        assignments=[{"suggestion_id": "十八届一次-1", "unit": "甲局"},
                     {"suggestion_id": "十七届五次-1", "unit": "甲局"}],
        reports=[{"suggestion_id": "十八届一次-1", "unit": "甲局", "report_date": "2024-04-30",
                  "face_to_face": True},
                 {"suggestion_id": "十七届五次-1", "unit": "甲局", "report_date": "2023-06-30",
                  "reply_date": "2023-05-01", "result_class": "A", "evaluation": "满意"}])
    key = ind.key_items(Scope(as_of=D("2024-05-01")))
    assert len(key) == 1 and key[0]["stage"] == "面商" and key[0]["key_leader"] == "张主任"
    assert [s["done"] for s in key[0]["stages"]] == [True, True, False, False]
    t = ind.trends(Scope(as_of=D("2024-05-01")))
    assert [(y["year"], y["total"], y["completed"], y["completion_rate"], y["satisfied_rate"])
            for y in t["years"]] == [(2023, 1, 1, 1.0, 1.0), (2024, 1, 0, 0.0, None)]
    assert [(c["year"], c["category"], c["share"]) for c in t["categories"]] == [
        (2023, "教科文卫体类", 1.0), (2024, "城乡建设与管理类", 1.0)]


def test_state_is_shared_across_cursors(tmp_path):
    link = make_warehouse(tmp_path, suggestions=[sug(1)], assignments=[{"number": 1, "unit": "甲局"}])
    settings = load_settings(home=tmp_path)
    conn = connect(link)
    first = Indicators(conn.cursor(), settings, version="v1")
    assert first.metrics(Scope(as_of=D("2024-06-30")))["overdue"] == 1
    # Another cursor (another request) sees the cached state, registered on its own connection.
    second = Indicators(conn.cursor(), settings, version="v1")
    assert second.suggestion_list(Scope(as_of=D("2024-06-30")))[0]["status"] == "逾期"

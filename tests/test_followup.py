"""Follow-through (docs/domain.md, 跟踪落实): the three ratings, 重办, promises across years, key
projects and the leader order — one small warehouse each, expected values worked by hand."""

from __future__ import annotations

from datetime import date

from duban.core.settings import load_settings
from etl.parse import parse_file
from files import write_csv
from tests.warehouse_builder import connect, make_warehouse
from warehouse.indicators import Indicators, Scope
from warehouse.leaders import leader_key
from warehouse.results import KeyProject, Rehandling

D = date.fromisoformat


def ind_for(tmp_path, override=None, **tables) -> Indicators:
    return Indicators(connect(make_warehouse(tmp_path, **tables)), load_settings(home=tmp_path, override=override))


def sug(n, assigned="2024-03-01", **kw):
    return {"number": n, "assigned_date": assigned, **kw}


def test_three_ratings_and_the_headline_setting(tmp_path):
    # No. 1: result 满意, work 基本满意, congress 落实 不满意 (11-01).
    # No. 2: result 基本满意, work 不满意, congress 落实 满意 (11-02).
    # No. 3: 分办 甲局 + 乙局, both result 满意; work only 甲局's → unrated; 落实 only 甲局's → unrated.
    rep = lambda n, u, ev, work=None: {"number": n, "unit": u, "report_date": "2024-06-30", "reply_date": "2024-05-10",
                                       "result_class": "A", "evaluation": ev, "evaluation_work": work}
    tables = dict(
        suggestions=[sug(1), sug(2), sug(3)],
        assignments=[{"number": 1, "unit": "甲局"}, {"number": 2, "unit": "甲局"},
                     {"number": 3, "unit": "甲局", "role": "分办"}, {"number": 3, "unit": "乙局", "role": "分办"}],
        reports=[rep(1, "甲局", "满意", "基本满意"), rep(2, "甲局", "基本满意", "不满意"),
                 rep(3, "甲局", "满意", "满意"), rep(3, "乙局", "满意")],
        evaluations=[{"number": 1, "unit": "甲局", "implementation_satisfaction": "不满意", "evaluation_date": "2024-11-01"},
                     {"number": 2, "unit": "甲局", "implementation_satisfaction": "满意", "evaluation_date": "2024-11-02"},
                     {"number": 3, "unit": "甲局", "implementation_satisfaction": "满意", "evaluation_date": "2024-11-02"}])
    ind = ind_for(tmp_path, **tables)
    m = ind.metrics(Scope(as_of=D("2024-12-01")))
    assert (m["evaluated"], m["satisfied_rate"], m["headline_rating"]) == (3, 1.0, "result")
    assert m["work_satisfaction"] == {"满意": 0, "基本满意": 1, "不满意": 1} and m["work_evaluated"] == 2
    assert m["work_satisfied_rate"] == 0.5
    assert m["implementation_satisfaction"] == {"满意": 1, "基本满意": 0, "不满意": 1}
    assert m["implementation_satisfied_rate"] == 0.5
    # Unit 甲局 on its own rows: work 基本满意, 不满意, 满意 → 2/3; 落实 不满意, 满意, 满意 → 2/3.
    u = ind.metrics(Scope(unit="甲局", as_of=D("2024-12-01")))
    assert (u["work_evaluated"], u["work_satisfied_rate"]) == (3, 2 / 3)
    assert (u["implementation_evaluated"], u["implementation_satisfied_rate"]) == (3, 2 / 3)
    assert {r["unit"]: r["work_satisfied_rate"] for r in ind.unit_table(Scope(as_of=D("2024-12-01")))} == {
        "甲局": 2 / 3, "乙局": None}
    # Before the congress rated 落实 nothing is rated: "—".
    assert ind.metrics(Scope(as_of=D("2024-10-01")))["implementation_satisfied_rate"] is None
    # The setting makes the work rating the headline 满意率: 1 of 2 (基本满意 counts), fully 0 of 2.
    work = Indicators(ind.conn, load_settings(home=tmp_path, override={"followup": {"headline_rating": "work"}}))
    w = work.metrics(Scope(as_of=D("2024-12-01")))
    assert (w["satisfied_rate"], w["fully_satisfied_rate"], w["headline_rating"]) == (0.5, 0.0, "work")
    assert w["satisfaction"] == m["satisfaction"]          # the result's counts stay as they are


def _rehandle_tables():
    r = lambda n, u, report, reply, ev, ev_date, cls="C": {
        "number": n, "unit": u, "report_date": report, "reply_date": reply, "result_class": cls,
        "evaluation": ev, "evaluation_date": ev_date}
    return dict(
        suggestions=[sug(n) for n in (1, 2, 3, 4)],
        assignments=[{"number": 1, "unit": "甲局"}, {"number": 2, "unit": "甲局"}, {"number": 3, "unit": "甲局"},
                     {"number": 4, "unit": "甲局", "role": "分办"}, {"number": 4, "unit": "乙局", "role": "分办"}],
        reports=[
            r(1, "甲局", "2024-06-30", "2024-06-10", "不满意", "2024-06-15"),      # 重办 due 07-15, never answered
            r(2, "甲局", "2024-06-30", "2024-06-10", "不满意", "2024-06-12"),      # 重办 due 07-12
            r(2, "甲局", "2024-07-31", "2024-07-20", "不满意", "2024-06-12"),      # re-reply 07-20 (rating carried)
            r(2, "甲局", "2024-08-31", "2024-07-20", "基本满意", "2024-08-25"),    # rated again: 转为满意
            r(3, "甲局", "2024-06-30", "2024-06-01", "满意", "2024-06-05", "A"),    # the congress says 不满意 06-20
            r(3, "甲局", "2024-08-10", "2024-08-01", "满意", "2024-06-05", "A"),    # re-reply 08-01
            r(4, "甲局", "2024-06-30", "2024-06-10", "不满意", "2024-06-15"),
            r(4, "甲局", "2024-07-31", "2024-07-20", "满意", "2024-07-25"),        # 甲局 turned 满意
            r(4, "乙局", "2024-06-30", "2024-06-10", "不满意", "2024-06-15")],     # 乙局 never re-replied
        evaluations=[{"number": 3, "unit": "甲局", "reply_satisfaction": "不满意", "evaluation_date": "2024-06-20"},
                     {"number": 3, "unit": "甲局", "reply_satisfaction": "不满意", "evaluation_date": "2024-09-01"}])


def test_rehandling_states_and_deadlines(tmp_path):
    ind = ind_for(tmp_path, **_rehandle_tables())
    # 07-10: nos. 1, 2, 4 (甲 and 乙) rated 不满意 06-12/06-15 → due 07-12/07-15, not yet; no. 3 (congress 06-20).
    assert ind.rehandling(Scope(as_of=D("2024-07-10"))) == Rehandling(
        opened=5, in_progress=4, overdue=0, replied=0, turned_satisfied=0)
    # 08-31: no. 1 overdue (07-15); no. 2 re-replied 07-20, rated 基本满意 08-25 → 转为满意; no. 3 re-replied
    # 08-01 (the congress's 不满意 stays its rating); no. 4: 甲局 turned, 乙局 overdue → the worst, 重办逾期.
    T = D("2024-08-31")
    assert ind.rehandling(Scope(as_of=T)) == Rehandling(opened=5, in_progress=0, overdue=2, replied=1, turned_satisfied=1)
    assert ind.metrics(Scope(as_of=T))["rehandling"] == {"opened": 5, "in_progress": 0, "overdue": 2, "replied": 1,
                                                         "turned_satisfied": 1}
    rows = ind.rehandle_list(Scope(as_of=T))
    assert [(r["number"], r["unit"], r["state"], r["due_date"], r["days_overdue"]) for r in rows] == [
        (1, "甲局", "重办逾期", D("2024-07-15"), 47), (4, "乙局", "重办逾期", D("2024-07-15"), 47),
        (3, "甲局", "已重新答复", D("2024-07-20"), None),
        (2, "甲局", "转为满意", D("2024-07-12"), None), (4, "甲局", "转为满意", D("2024-07-15"), None)]
    assert [r["number"] for r in ind.rehandle_list(Scope(as_of=T), ("重办逾期", "重办中"))] == [1, 4]
    # A re-reply does not wipe the rating: nos. 1, 3, 4 不满意, no. 2 基本满意.
    m = ind.metrics(Scope(as_of=T))
    assert m["satisfaction"] == {"满意": 0, "基本满意": 1, "不满意": 3}
    assert [r["number"] for r in ind.unsatisfied(Scope(as_of=T))] == [1, 3, 4]
    # Per unit: 甲局 — 1 overdue, 2 and 4 turned, 3 re-replied; 乙局 — 4 overdue.
    assert ind.rehandling(Scope(unit="甲局", as_of=T)) == Rehandling(4, 0, 1, 1, 2)
    assert ind.rehandling(Scope(unit="乙局", as_of=T)) == Rehandling(1, 0, 1, 0, 0)
    # 09-30: the congress's second 不满意 (09-01) opens no. 3's next 重办, due 10-01: 重办中.
    later = ind.rehandling(Scope(as_of=D("2024-09-30")))
    assert (later.opened, later.in_progress, later.replied) == (6, 1, 0)
    # The deadline is a setting: 15 days → no. 1 due 06-30, overdue already on 07-10.
    short = Indicators(ind.conn, load_settings(home=tmp_path, override={"followup": {"rehandle_days": 15}}))
    # nos. 1 (due 06-30), 2 (06-27), 3 (07-05), 4 (乙局 06-30; 甲局 re-replied 07-20, after T)
    assert short.rehandling(Scope(as_of=D("2024-07-10"))).overdue == 4


def test_promises_first_date_revisions_and_across_years(tmp_path):
    b = lambda n, report, **kw: {"number": n, "unit": "甲局", "report_date": report, "reply_date": "2024-05-01",
                                 "result_class": "B", **kw}
    old = {"session": "十七届五次", "year": 2023}
    ind = ind_for(
        tmp_path,
        suggestions=[sug(n) for n in (1, 2, 3, 4)] + [sug(n, "2023-03-01", **old) for n in (5, 6)],
        assignments=[{"number": n, "unit": "甲局"} for n in (1, 2, 3, 4)]
        + [{"number": n, "unit": "甲局", **old} for n in (5, 6)],
        reports=[b(1, "2024-05-31", promise_date="2024-09-30"),
                 b(1, "2024-08-31", promise_date="2024-12-31", promise_kept=False),    # a revision: P stays 09-30
                 b(2, "2024-05-31", promise_date="2024-08-31"),
                 b(2, "2024-09-30", promise_date="2024-08-31", promise_kept=True, promise_kept_date="2024-09-10"),
                 b(3, "2024-08-31", promise_date="2024-08-31", promise_kept=True, promise_kept_date="2024-08-20"),
                 b(4, "2024-05-31", promise_date="2024-12-31"),
                 b(5, "2023-06-30", promise_date="2024-03-31", reply_date="2023-05-01", session=old["session"]),
                 b(6, "2023-12-31", promise_date="2023-12-31", promise_kept=True, promise_kept_date="2023-12-01",
                   reply_date="2023-05-01", session=old["session"])])
    T = D("2024-10-15")
    m = ind.metrics(Scope(year=2024, as_of=T))
    # Due (P < 10-15): nos. 1 (P 09-30, not the revised 12-31), 2, 3. Kept by P: 3; late: 2; broken: 1.
    assert m["promises"] == {"due": 3, "kept": 1, "kept_late": 1, "broken": 1, "revised": 1}
    assert m["promise_kept_rate"] == 1 / 3
    rows = ind.followup_list(Scope(year=2024, as_of=T))
    # 2024's four, and 2023's no. 5 still open (P 2024-03-31); 2023's no. 6 was kept: not carried.
    assert [(r["year"], r["number"], r["promise_status"], r["promise_date"], r["days_past"], r["carried_over"])
            for r in rows] == [
        (2023, 5, "未兑现", D("2024-03-31"), 198, True), (2024, 1, "未兑现", D("2024-09-30"), 15, False),
        (2024, 4, "未到期", D("2024-12-31"), None, False), (2024, 2, "逾期兑现", D("2024-08-31"), None, False),
        (2024, 3, "已兑现", D("2024-08-31"), None, False)]
    assert rows[1]["revisions"] == [{"date": D("2024-12-31"), "report_date": D("2024-08-31")}]
    # Before the revising report (08-31) there is no revision yet.
    assert ind.followup_list(Scope(year=2024, as_of=D("2024-08-30")))[1]["revisions"] == []
    assert [r["number"] for r in ind.followup_list(Scope(year=2023, as_of=T))] == [5, 6]


LEADERS = {1: ("刘副主任", "城市更新"), 2: ("刘副主任", "城市更新"), 3: ("张主任", "教育均衡"), 4: ("王秘书长", None),
           5: ("陈委员", None)}


def _key_tables():
    return dict(
        suggestions=[sug(n, is_key=True, key_leader=leader, key_project=project)
                     for n, (leader, project) in LEADERS.items()] + [sug(6)],
        assignments=[{"number": n, "unit": "住建局" if n < 3 else "教育局"} for n in range(1, 7)],
        reports=[{"number": n, "unit": "住建局" if n < 3 else "教育局", "report_date": "2024-06-30",
                  "reply_date": "2024-05-10", "result_class": "A"} for n in (1, 3, 4, 5)])


def test_key_projects_and_leader_order(tmp_path):
    ind = ind_for(tmp_path, **_key_tables())
    T = Scope(as_of=D("2024-06-30"))            # no. 2 unanswered past its 06-01 deadline
    # By title without the setting: 主任, 副主任, 秘书长, others (not code-point order: 刘 < 张).
    assert ind.key_projects(T) == [KeyProject("教育均衡", "张主任", "教育局", 1, 1, 0),
                                   KeyProject("城市更新", "刘副主任", "住建局", 2, 1, 1)]
    assert [r["key_leader"] for r in ind.key_leaders(T)] == ["张主任", "刘副主任", "王秘书长", "陈委员"]
    assert [r["number"] for r in ind.key_items(T)] == [3, 1, 2, 4, 5]
    assert ind.metrics(T)["key_projects"][1] == {"project": "城市更新", "leader": "刘副主任", "lead_unit": "住建局",
                                                 "total": 2, "completed": 1, "overdue": 1}
    # The setting's protocol order comes first; the others follow by title.
    ordered = Indicators(ind.conn, load_settings(home=tmp_path, override={"followup": {"leaders": ["王秘书长", "刘"]}}))
    assert [r["key_leader"] for r in ordered.key_leaders(T)] == ["王秘书长", "刘副主任", "张主任", "陈委员"]
    assert [p.project for p in ordered.key_projects(T)] == ["城市更新", "教育均衡"]
    assert [c.leaders for c in ordered.key_summary(T).committees] == [("王秘书长", "刘副主任", "张主任", "陈委员")]


def test_leader_key_by_title_then_name():
    names = ["刘副主任", "张主任", None, "王秘书长", "李副秘书长", "陈委员", "赵副主任"]
    assert sorted(names, key=leader_key(())) == ["张主任", "刘副主任", "赵副主任", "王秘书长", "李副秘书长", "陈委员", None]


def test_register_project_column_groups_key_suggestions(tmp_path):
    rows = [["建议编号", "届次", "标题", "交办日期", "主办单位", "督办领导", "重点督办项目"],
            ["1", "十八届一次", "关于A的建议", "2024-03-01", "市住建局", "刘副主任", "城市更新"],
            ["2", "十八届一次", "关于B的建议", "2024-03-01", "市住建局", "", "城市更新"],
            ["3", "十八届一次", "关于C的建议", "2024-03-01", "市教育局", "", ""]]
    parsed = parse_file(write_csv(tmp_path / "r.csv", rows), "交办台账.csv", load_settings(home=tmp_path))
    # A named project makes the suggestion key, as a named 督办领导 does.
    assert parsed.rows.select("number", "key_project", "is_key").rows() == [
        (1, "城市更新", True), (2, "城市更新", True), (3, None, None)]


def test_views_and_the_followup_workbook(tmp_path):
    """/followup, /overdue, /key and the unit page show the follow-through figures; the workbook lists them."""
    import io

    import openpyxl

    from dashboard.app import create_app
    from dashboard.auth import LOCAL_VIEWER
    from dashboard.pages import followup
    from dashboard.urlstate import unit_path
    from tests.test_dashboard_callbacks import by_id, text

    tables = _rehandle_tables()
    tables["suggestions"].append(sug(5, is_key=True, key_leader="刘副主任", key_project="城市更新"))
    tables["assignments"].append({"number": 5, "unit": "甲局"})
    tables["reports"] += [{"number": 5, "unit": "甲局", "report_date": "2024-05-31", "reply_date": "2024-05-01",
                           "result_class": "B", "promise_date": "2024-07-31"},
                          {"number": 5, "unit": "甲局", "report_date": "2024-07-31", "reply_date": "2024-05-01",
                           "result_class": "B", "promise_date": "2024-10-31"}]
    board = create_app(make_warehouse(tmp_path, **tables), home=tmp_path / "home", auth=False).duban
    q = "?year=2024&as_of=2024-08-31"
    page = board.render("/followup", q, viewer=LOCAL_VIEWER)
    # no. 5's promise is judged by 07-31 (not the revised 10-31): due and broken; nos. 1 and 4 重办逾期.
    assert text(by_id(page, "kpi-promise-broken")) == "1" and text(by_id(page, "kpi-rehandle-overdue")) == "2"
    assert text(by_id(page, "kpi-promise-revised")) == "1"
    assert text(by_id(page, "kpi-rating-result")) == "25.00%"          # 1 基本满意 of the 4 rated (no. 5 unrated)
    overdue_page = text(by_id(board.render("/overdue", q, viewer=LOCAL_VIEWER), "overdue-rehandle"))
    assert "重办逾期 47 天" in overdue_page
    assert "城市更新" in text(by_id(board.render("/key", q, viewer=LOCAL_VIEWER), "key-projects"))
    assert "重办逾期 1 件" in text(by_id(board.render(unit_path("乙局"), q, viewer=LOCAL_VIEWER), "unit-followup"))
    data, name = followup.followup_bytes(board, q, LOCAL_VIEWER)
    assert name == "跟踪督办清单_2024-08-31.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(data))
    promises = [r for r in book["承诺事项"].iter_rows(values_only=True) if r[2] == 5]
    assert promises and "未兑现" in promises[0] and "2024-07-31: 2024-10-31" in promises[0]
    rehandled = [r for r in book["重办件"].iter_rows(values_only=True) if r[5] == "重办逾期"]
    assert sorted((r[2], r[4]) for r in rehandled) == [(1, "甲局"), (4, "乙局")]

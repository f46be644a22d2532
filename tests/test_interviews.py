"""约谈/约见 (issue 16.2): recorded like 催办 — date, kind, with whom, outcome; supervisors only,
audited, checked on the server against the published version — and shown on the unit and the
suggestion pages (a unit account sees its own unit's). Sample: tests/browser/sample.py."""

from __future__ import annotations

from datetime import date

import pytest
from dash import no_update

from dashboard.app import create_app
from dashboard.auth import LOCAL_VIEWER, Viewer
from dashboard.urlstate import suggestion_path, unit_path
from duban.core import appstate
from tests.browser import sample
from tests.test_dashboard_callbacks import by_id, text

Q = "?year=2024&as_of=2024-06-30"


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("interviews")
    return create_app(sample.build(tmp), home=tmp / "home", auth=False).duban


def test_record_interview_is_validated_and_audited(tmp_path):
    record = lambda **kw: appstate.record_interview(**{  # noqa: E731
        "home": tmp_path, "suggestion_id": "十八届一次-4", "unit": "市交通局", "interview_date": date(2024, 7, 1),
        "kind": "约谈", "with_whom": "分管副局长 王某", "outcome": "承诺 7 月底前重新答复", "by": "duban", **kw})
    for kw, message in [({"unit": " "}, "需指明承办单位"), ({"kind": "面谈"}, "约谈 / 约见"),
                        ({"with_whom": ""}, "请填写约谈对象"), ({"with_whom": "王" * 101}, "不超过 100 个字"),
                        ({"outcome": "  "}, "请填写约谈结果"), ({"outcome": "果" * 501}, "不超过 500 个字"),
                        ({"interview_date": "2024-07-01"}, "应为日期")]:
        with pytest.raises(appstate.AppStateError, match=message):
            record(**kw)
    assert appstate.interviews(tmp_path) == []
    before = appstate.shown_revision(tmp_path)
    first = record()
    second = record(suggestion_id=None, unit="市教育局", kind="约见", interview_date=date(2024, 7, 5), outcome="已说明原因")
    assert appstate.shown_revision(tmp_path) != before  # stored pages showing them are rebuilt
    assert [(r["id"], r["unit"], r["interview_date"], r["kind"]) for r in appstate.interviews(tmp_path)] == [
        (second, "市教育局", date(2024, 7, 5), "约见"), (first, "市交通局", date(2024, 7, 1), "约谈")]
    assert [r["id"] for r in appstate.interviews(tmp_path, unit="市交通局")] == [first]
    assert [r["id"] for r in appstate.interviews(tmp_path, suggestion_id="十八届一次-4")] == [first]
    audit = appstate.audit_log(tmp_path, action=appstate.ACTION_INTERVIEW)
    assert [e["detail"] for e in audit] == ["约见 市教育局 2024-07-05 对象 分管副局长 王某",
                                            "约谈 市交通局、建议 十八届一次-4 2024-07-01 对象 分管副局长 王某"]


def test_an_interview_round_trip_on_the_pages(board):
    msg, history, outcome = board.record_interview({"suggestion_id": "十八届一次-4"}, "市交通局", "2024-06-29", "约谈",
                                                   "分管副局长 王某", "承诺 7 月 10 日前重新答复", LOCAL_VIEWER)
    assert "已记录: 2024-06-29 约谈 市交通局" in text(msg)
    assert "承诺 7 月 10 日前重新答复" in text(history) and outcome == ""
    on_suggestion = text(by_id(board.render(suggestion_path("十八届一次", 4), Q, viewer=LOCAL_VIEWER), "interview-card"))
    assert "2024-06-29 约谈 市交通局 · 对象 分管副局长 王某 · 结果: 承诺 7 月 10 日前重新答复" in " ".join(on_suggestion.split())
    assert "记录约谈" in on_suggestion  # the supervisor's form
    on_unit = text(by_id(board.render(unit_path("市交通局"), Q, viewer=LOCAL_VIEWER), "interview-card"))
    assert "分管副局长 王某" in on_unit
    # the unit's own account sees it, without the form; another unit's account does not see it
    own = text(by_id(board.render(unit_path("市交通局"), Q, viewer=Viewer("jt", "unit", "市交通局")), "interview-card"))
    assert "分管副局长 王某" in own and "记录约谈" not in own
    assert "尚无约谈/约见记录" in text(by_id(board.render(unit_path("市教育局"), Q, viewer=LOCAL_VIEWER), "interview-card"))


@pytest.mark.parametrize("target, unit, kind, with_whom, outcome, viewer, message", [
    ("十八届一次-4", "市交通局", "约谈", "王某", "", LOCAL_VIEWER, "请填写约谈结果"),
    ("十八届一次-4", "市交通局", "约谈", "", "已答复", LOCAL_VIEWER, "请填写约谈对象"),
    ("十八届一次-4", "市交通局", "吃饭", "王某", "已答复", LOCAL_VIEWER, "约谈 / 约见"),
    ("十八届一次-99", "市交通局", "约谈", "王某", "已答复", LOCAL_VIEWER, "不在当前数据中"),
    ("十八届一次-4", "市不存在局", "约谈", "王某", "已答复", LOCAL_VIEWER, "不在当前数据中"),
    ("十八届一次-4", "市教育局", "约谈", "王某", "已答复", LOCAL_VIEWER, "不是该建议的承办单位"),
    ("十八届一次-4", None, "约谈", "王某", "已答复", LOCAL_VIEWER, "需指明承办单位"),
    ("十八届一次-4", "市交通局", "约谈", "王某", "已答复", Viewer("lingdao", "leader", None), "不能记录约谈"),
    ("十八届一次-4", "市交通局", "约谈", "王某", "已答复", Viewer("jt", "unit", "市交通局"), "不能记录约谈"),
])
def test_an_interview_is_checked_on_the_server(board, target, unit, kind, with_whom, outcome, viewer, message):
    before = appstate.interviews(board.home)
    msg, history, kept = board.record_interview({"suggestion_id": target}, unit, "2024-06-29", kind, with_whom, outcome, viewer)
    assert message in text(msg)
    assert history is no_update and kept is no_update  # the clerk's text stays to be fixed
    assert appstate.interviews(board.home) == before
    msg, _, _ = board.record_interview({"suggestion_id": "十八届一次-4"}, "市交通局", "2024-02-30", "约谈", "王某", "已答复",
                                       LOCAL_VIEWER)
    assert "不是有效日期" in text(msg)

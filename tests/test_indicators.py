"""The indicator layer on the worked example of domain.md and on the readings of docs/indicators.md.

Every expected value is worked by hand in the comment next to it.
"""

from __future__ import annotations

from datetime import date

import pytest

from duban.core.settings import load_settings
from tests.warehouse_builder import connect, make_warehouse
from warehouse.indicators import Indicators, Scope

UNIT = "市住建局"


@pytest.fixture()
def settings(tmp_path):
    return load_settings(home=tmp_path)


def worked_example(tmp_path):
    """domain.md: ten suggestions, 交办 2024-03-01, deadline 2024-06-01 (3 months), one lead each."""
    table = [  # number, reply, class, 面商, evaluation
        (1, "2024-05-10", "A", True, "满意"),
        (2, "2024-05-12", "A", True, "满意"),
        (3, "2024-05-20", "A", True, "满意"),
        (4, "2024-05-25", "A", False, "满意"),
        (5, "2024-05-28", "C", True, "不满意"),
        (6, "2024-06-10", "A", True, "满意"),
        (7, "2024-06-15", "B", True, "基本满意"),
    ]
    reports = [{"number": n, "unit": UNIT, "report_date": "2024-06-30", "reply_date": reply,
                "result_class": cls, "face_to_face": face, "evaluation": ev,
                **({"promise_date": "2024-12-31"} if cls == "B" else {})}
               for n, reply, cls, face, ev in table]
    # Nos. 8-10: the unit reports them without a reply.
    reports += [{"number": n, "unit": UNIT, "report_date": "2024-06-30", "status_text": "办理中"}
                for n in (8, 9, 10)]
    return make_warehouse(
        tmp_path,
        suggestions=[{"number": n, "assigned_date": "2024-03-01"} for n in range(1, 11)],
        assignments=[{"number": n, "unit": UNIT} for n in range(1, 11)],
        reports=reports)


def test_worked_example_at_june_30(tmp_path, settings):
    ind = Indicators(connect(worked_example(tmp_path)), settings)
    m = ind.metrics(Scope(year=2024, as_of=date(2024, 6, 30)))
    assert m["total"] == 10
    assert m["completed"] == 7 and m["in_progress"] == 3          # nos. 1-7 replied by 06-30
    assert m["completion_rate"] == pytest.approx(0.7)              # 7/10
    assert m["overdue"] == 3                                       # nos. 8-10, deadline 06-01 < 06-30
    assert m["due_soon"] == 0
    assert m["on_time_rate"] == pytest.approx(0.5)                 # nos. 1-5 by 06-01: 5 / (7 + 3)
    assert m["face_rate"] == pytest.approx(6 / 7)                  # all but no. 4
    assert m["class_counts"] == {"A": 5, "B": 1, "C": 1, "D": 0}
    assert m["class_rates"]["A"] == pytest.approx(5 / 7)
    assert m["class_rates"]["B"] == pytest.approx(1 / 7)
    assert m["class_rates"]["C"] == pytest.approx(1 / 7)
    assert m["class_rates"]["D"] == 0.0
    assert m["solved_rate"] == pytest.approx(6 / 7)                # (5 A + 1 B) / 7
    assert m["evaluated"] == 7
    assert m["satisfaction"] == {"满意": 5, "基本满意": 1, "不满意": 1}
    assert m["satisfied_rate"] == pytest.approx(6 / 7)
    assert m["fully_satisfied_rate"] == pytest.approx(5 / 7)
    assert m["promise_kept_rate"] is None                          # no. 7 promised 12-31, not due
    assert m["by_kind"] == {"大会建议": 10, "闭会建议": 0}
    assert m["by_category"] == [{"category": "城乡建设与管理类", "total": 10, "share": 1.0}]
    assert m["key_supervised"] == {"total": 0, "completed": 0, "overdue": 0}
    assert m["units"] == 1
    overdue = ind.overdue(Scope(year=2024, as_of=date(2024, 6, 30)))
    assert [(r["number"], r["days_overdue"], r["age_bucket"]) for r in overdue] == [
        (8, 29, "逾期1–30天"), (9, 29, "逾期1–30天"), (10, 29, "逾期1–30天")]  # 06-30 − 06-01 = 29
    assert [r["number"] for r in ind.unsatisfied(Scope(year=2024, as_of=date(2024, 6, 30)))] == [5]


def test_worked_example_at_may_15(tmp_path, settings):
    ind = Indicators(connect(worked_example(tmp_path)), settings)
    m = ind.metrics(Scope(year=2024, as_of=date(2024, 5, 15)))
    assert m["total"] == 10
    assert m["completed"] == 2                                     # replies of 05-10 and 05-12 only
    assert m["completion_rate"] == pytest.approx(0.2)
    assert m["overdue"] == 0                                       # deadline 06-01 not passed
    assert m["on_time_rate"] == pytest.approx(1.0)                 # 2 / (2 + 0)
    # The only export is dated 06-30: its facts dated <= 05-15 still count (earliest-row rule),
    # but 未报送 is strict: no row dated <= 05-15, so all ten are unreported.
    assert ind.unreported(Scope(year=2024, as_of=date(2024, 5, 15)))[0]["unreported"] == 10
    assert ind.unreported(Scope(year=2024, as_of=date(2024, 6, 30))) == []
    # Due soon: 06-01 − 05-15 = 17 days > 15, so none yet; on 05-20 (12 days) the 7 unreplied are.
    assert m["due_soon"] == 0
    assert ind.metrics(Scope(year=2024, as_of=date(2024, 5, 20)))["due_soon"] == 7

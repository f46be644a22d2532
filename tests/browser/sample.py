"""A small, hand-checkable warehouse for the dashboard's callback and browser tests.

Year 2024 (session 十八届一次): seven suggestions, all 交办 2024-03-01 (no. 7: 2024-04-10), deadline
by rule = 交办 + 3 months (2024-06-01; no. 7: 2024-07-10). At T = 2024-06-30:

| no. | category | lead (co) | reply | class | 面商 | evaluation | state at T |
| 1 | 教科文卫体类 | 市教育局 | 05-10 | A | 是 | 满意 | done on time (key, 王主任) |
| 2 | 教科文卫体类 | 市教育局 | 05-20 | A | 是 | 满意 | done on time |
| 3 | 交通邮电类 | 市交通局 | 06-10 | B | 是 | 基本满意 | done late |
| 4 | 交通邮电类 | 市交通局 | — | | | | overdue 29 days |
| 5 | 城乡建设与管理类 | 市住建局 | 05-28 | C | 否 | 不满意 | done on time |
| 6 | 城乡建设与管理类 | 市住建局 (市交通局) | — | | | | overdue 29 days; 市住建局 never reported it; title has <script> |
| 7 | 农林水利类 | 市农业农村局 | — | | | | due soon (10 days; key, 李副主任) |

N 7, C 4 (57.14%), overdue 2, due soon 1, 按时办结率 3/(4+2) = 50.00%, evaluated 4, 满意率 3/4 = 75.00%,
不满意件 1 (no. 5), key 1 of 2 completed.

Year 2023 (session 十七届五次): three suggestions 交办 2023-03-01, deadline 2023-06-01: no. 1 replied
2023-05-01, no. 2 2023-06-20, no. 3 2023-08-01. 同比 at 2024-06-30: offset 121 days → 2023-06-30,
where N 3, C 2 (66.67%), overdue 1 (no. 3), 按时办结率 1/(2+1) = 33.33%.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.warehouse_builder import make_warehouse

AS_OF = date(2024, 6, 30)
SESSION = "十八届一次"
SCRIPT_TITLE = "<script>alert(1)</script>关于加强夜间施工管理的建议"


def build(tmp_path: Path) -> Path:
    s24 = dict(session=SESSION, year=2024, assigned_date="2024-03-01")
    s23 = dict(session="十七届五次", year=2023, assigned_date="2023-03-01")
    suggestions = [
        dict(number=1, category="教科文卫体类", title="关于增加中小学体育课时的建议", is_key=True, key_leader="王主任", key_committee="教科文卫工委", **s24),
        dict(number=2, category="教科文卫体类", title="关于改善校园周边交通秩序的建议", **s24),
        dict(number=3, category="交通邮电类", title="关于优化公交线路的建议", **s24),
        dict(number=4, category="交通邮电类", title="关于增设地铁站出入口的建议", **s24),
        dict(number=5, category="城乡建设与管理类", title="关于老旧小区加装电梯的建议", **s24),
        dict(number=6, category="城乡建设与管理类", title=SCRIPT_TITLE, **s24),
        dict(number=7, category="农林水利类", title="关于加强农田水利建设的建议", is_key=True, key_leader="李副主任",
             key_committee="农业农村工委", session=SESSION, year=2024, assigned_date="2024-04-10"),
        dict(number=1, category="教科文卫体类", title="关于建设社区图书馆的建议", **s23),
        dict(number=2, category="交通邮电类", title="关于改造城区道路的建议", **s23),
        dict(number=3, category="城乡建设与管理类", title="关于治理城市内涝的建议", **s23),
    ]
    a24 = [(1, "市教育局"), (2, "市教育局"), (3, "市交通局"), (4, "市交通局"), (5, "市住建局"), (6, "市住建局"), (7, "市农业农村局")]
    assignments = [dict(number=n, unit=u) for n, u in a24]
    assignments.append(dict(number=6, unit="市交通局", role="协办"))
    assignments += [dict(number=n, unit=u, session="十七届五次") for n, u in ((1, "市教育局"), (2, "市交通局"), (3, "市住建局"))]
    r24 = dict(report_date="2024-06-30")
    reports = [
        dict(number=1, unit="市教育局", report_date="2024-04-30", status_text="办理中"),
        dict(number=1, unit="市教育局", reply_date="2024-05-10", result_class="A", face_to_face=True, evaluation="满意",
             contact_name="张三", contact_phone="13800000000", **r24),
        dict(number=2, unit="市教育局", reply_date="2024-05-20", result_class="A", face_to_face=True, evaluation="满意", **r24),
        dict(number=3, unit="市交通局", reply_date="2024-06-10", result_class="B", face_to_face=True, evaluation="基本满意",
             promise_text="年底前调整线路", promise_date="2024-12-31", **r24),
        dict(number=4, unit="市交通局", status_text="办理中", **r24),
        dict(number=6, unit="市交通局", reply_date="2024-03-20", status_text="协办意见已报送", **r24),
        dict(number=5, unit="市住建局", reply_date="2024-05-28", result_class="C", face_to_face=False, evaluation="不满意", **r24),
        dict(number=7, unit="市农业农村局", status_text="办理中", **r24),
        dict(number=1, unit="市教育局", session="十七届五次", report_date="2023-06-30", reply_date="2023-05-01", result_class="A",
             face_to_face=True, evaluation="满意"),
        dict(number=2, unit="市交通局", session="十七届五次", report_date="2023-06-30", reply_date="2023-06-20", result_class="A",
             face_to_face=True, evaluation="满意"),
        dict(number=3, unit="市住建局", session="十七届五次", report_date="2023-08-31", reply_date="2023-08-01", result_class="A",
             face_to_face=True, evaluation="满意"),
    ]
    return make_warehouse(tmp_path, suggestions=suggestions, assignments=assignments, reports=reports,
                          places=["汉中市"])

"""Crafted callback requests against the real app with login on (issue 5.2): the Flask test client
posts to /_dash-update-component exactly what a browser would, but with addresses and ids of its
own choosing. An anonymous request gets 401 and nothing else; a unit account gets only its own
unit's names and titles, whatever path it asks the router for; contacts only for supervisors.

Warehouse: tests/browser/sample.py. The unit account is 市交通局, which leads 2024 nos. 3 and 4 and
co-handles no. 6; the other units' items are nos. 1, 2 (市教育局), 5 (市住建局), 7 (市农业农村局).
"""

from __future__ import annotations

import io
import json
import re

import openpyxl
import pytest

from dashboard import page_cache
from dashboard.app import create_app
from duban.core import appstate
from tests.browser import sample

Q = "?year=2024&as_of=2024-06-30"
PASSWORD = "Duban-test-2024!"
OWN = "市交通局"
OTHERS = ["市教育局", "市住建局", "市农业农村局"]
# Words of each suggestion title, by whose it is (2024 and 2023).
OWN_TITLES = ["优化公交线路", "增设地铁站出入口"]
OTHER_TITLES = ["增加中小学体育课时", "改善校园周边交通秩序", "老旧小区加装电梯", "加强农田水利建设",
                "建设社区图书馆", "治理城市内涝"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("http")
    home = tmp / "home"
    app = create_app(sample.build(tmp), home=home, auth=True)
    appstate.add_user(home, "jt", "unit", OWN, PASSWORD)
    appstate.add_user(home, "duban", "supervisor", None, PASSWORD)
    appstate.add_user(home, "lingdao", "leader", None, PASSWORD)
    return app, home


def logged_in(app, username: str):
    client = app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"csrf": token, "username": username, "password": PASSWORD, "next": "/"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    return client


def callback_body(app, output: str, values: dict) -> dict:
    """A request body for the callback writing ``output``, with the input ids the app declares."""
    spec = app.callback_map[output]
    inputs = [dict(i, value=values.get(f"{i['id']}.{i['property']}")) for i in spec["inputs"]]
    state = [dict(s, value=values.get(f"{s['id']}.{s['property']}")) for s in spec["state"]]
    out_id, out_prop = output.split(".", 1)
    return {"output": output, "outputs": {"id": out_id, "property": out_prop}, "inputs": inputs, "state": state,
            "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"]}


def route(app, client, path: str, search: str = Q):
    """POST the router callback for ``path``; (status, the body as readable text)."""
    body = callback_body(app, "page.children", {"url.pathname": path, "url.search": search})
    response = client.post("/_dash-update-component", json=body)
    text = json.dumps(response.json, ensure_ascii=False) if response.is_json else response.get_data(as_text=True)
    return response.status_code, text


def test_anonymous_router_callback_is_refused_without_data(site):
    app, _ = site
    client = app.server.test_client()
    status, text = route(app, client, "/")
    assert status == 401
    assert json.loads(text) == {"error": "未登录或登录已过期, 请重新登录", "login": "/login"}
    for word in [OWN, *OTHERS, *OWN_TITLES, *OTHER_TITLES]:
        assert word not in text
    response = client.get("/download/download-ranking", query_string={"at": "/units" + Q})
    assert response.status_code == 401 and response.mimetype == "application/json"


@pytest.mark.parametrize("path", [
    "/units/市教育局",  # another unit's page
    "/suggestions/十八届一次/1",  # 市教育局's suggestion
    "/suggestions/十八届一次/5",  # 市住建局's
    "/suggestions/十八届一次/7",  # 市农业农村局's
    "/suggestions/十七届五次/1",  # 市教育局's, 2023
    "/overdue",
    "/",
    "/units",
    "/key",
    "/meeting",
])
def test_unit_account_gets_only_its_own_unit(site, path):
    app, _ = site
    status, text = route(app, logged_in(app, "jt"), path)
    assert status == 200
    leaked = [w for w in OTHERS + OTHER_TITLES if w in text]
    assert leaked == [], f"{path}: {leaked}"


def test_unit_account_sees_its_own_items(site):
    app, _ = site
    client = logged_in(app, "jt")
    _, overdue = route(app, client, "/overdue")
    assert "增设地铁站出入口" in overdue  # no. 4, its overdue lead item
    _, other = route(app, client, "/units/市教育局")
    assert "无权查看" in other
    _, detail = route(app, client, "/suggestions/十八届一次/1")
    assert "找不到该建议" in detail
    _, co = route(app, client, "/suggestions/十八届一次/6")  # co-handled: its own part only
    assert "夜间施工" in co and "市住建局" not in co


def test_unit_account_download_of_another_unit_gives_nothing(site):
    app, home = site
    client = logged_in(app, "jt")

    def click(path):
        return client.get("/download/download-unit-assignments", query_string={"at": path + Q})

    refused = click("/units/市教育局")
    assert refused.status_code == 403 and refused.mimetype == "text/plain"
    own = click(f"/units/{OWN}")
    assert own.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(own.data)).worksheets[0]
    numbers = sorted(r[1] for r in sheet.iter_rows(values_only=True) if isinstance(r[1], int))
    assert numbers == [3, 4, 6]
    # a supervisor asking for the same address gets a file built for them, not the unit account's stored one
    stored = page_cache.folder(app.duban.pw.snapshot()[0], "downloads")
    before = len(list(stored.glob("*")))
    supervisor = logged_in(app, "duban").get("/download/download-unit-assignments", query_string={"at": f"/units/{OWN}" + Q})
    assert supervisor.status_code == 200 and len(list(stored.glob("*"))) == before + 1
    log = appstate.audit_log(home, username="jt", action="导出承办清单")
    assert len(log) == 1 and OWN in log[0]["detail"]


def test_contacts_for_supervisors_only(site):
    app, _ = site
    # no. 1's export names 张三 / 13800000000 as the contact
    _, supervisor = route(app, logged_in(app, "duban"), "/suggestions/十八届一次/1")
    assert "张三" in supervisor and "13800000000" in supervisor
    _, leader = route(app, logged_in(app, "lingdao"), "/suggestions/十八届一次/1")
    assert "增加中小学体育课时" in leader  # the leader sees the suggestion itself
    assert "张三" not in leader and "13800000000" not in leader


def chase_body(app, values: dict) -> dict:
    """The 催办 form's submit request, as the browser sends it."""
    key = next(k for k in app.callback_map if k.startswith("..chase-message.children...chase-history"))
    body = callback_body(app, key, {"chase-submit.n_clicks": 1, **values})
    body["outputs"] = [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in key.strip(".").split("...")]
    return body


def post_chase(app, client, note: str, unit: str = OWN, suggestion: str = "十八届一次-4") -> str:
    body = chase_body(app, {"chase-target.data": {"suggestion_id": suggestion}, "chase-unit.value": unit,
                            "chase-date.date": "2024-06-28", "chase-way.value": "电话催办", "chase-note.value": note})
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    return json.dumps(response.json, ensure_ascii=False)


@pytest.mark.parametrize("values", [
    {"url.pathname": ["/", "/units"], "url.search": Q},
    {"url.pathname": {"a": 1}, "url.search": Q},
    {"url.pathname": "/", "url.search": 12},
])
def test_malformed_callback_values_get_400(site, values):
    app, _ = site
    client = logged_in(app, "duban")
    response = client.post("/_dash-update-component", json=callback_body(app, "page.children", values))
    assert response.status_code == 400


@pytest.mark.parametrize("body", [[1, 2], "x", {"output": 5}, {"output": "nothing.children", "inputs": []},
                                  {"output": "page.children", "inputs": "x"},
                                  {"output": "page.children", "inputs": [["/"]]}])
def test_malformed_callback_bodies_get_400(site, body):
    app, _ = site
    response = logged_in(app, "duban").post("/_dash-update-component", json=body)
    assert response.status_code == 400


def test_chase_over_http_is_validated_and_for_supervisors_only(site):
    app, home = site
    supervisor = logged_in(app, "duban")
    assert "不超过 500 个字" in post_chase(app, supervisor, "x" * 2_000_000)
    assert "请填写催办说明" in post_chase(app, supervisor, "")
    assert "不在当前数据中" in post_chase(app, supervisor, "请答复", unit="市不存在局")
    assert "不在当前数据中" in post_chase(app, supervisor, "请答复", suggestion="十八届一次-99")
    assert "不能记录催办" in post_chase(app, logged_in(app, "lingdao"), "请答复")
    assert "不能记录催办" in post_chase(app, logged_in(app, "jt"), "请答复")
    assert appstate.chases(home) == []
    saved = post_chase(app, supervisor, "请本周答复")
    assert "已记录" in saved and '"chase-note": {"value": ""}' in saved
    assert [c["by"] for c in appstate.chases(home)] == ["duban"]


def test_unit_accounts_chase_list_is_headed_with_its_own_unit(site):
    app, _ = site
    client = logged_in(app, "jt")
    response = client.get("/download/download-chase-list", query_string={"at": "/overdue" + Q + "&unit=市教育局"})
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    cells = [str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row if c]
    assert any(OWN in c for c in cells[:3])  # the title names the account's unit
    assert not [c for c in cells if any(other in c for other in OTHERS)]

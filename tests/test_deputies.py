"""Deputy accounts (issue 17.2): a deputy sees only the suggestions they lead or co-signed, through
every page address, every registered callback and every download; the lead deputy rates a reply
online (audited, kept in the app state); a one-time password must be replaced at first login.

Warehouse (hand-made): no. 1 体育课时 led by 张三, co-signed by 李四、王五 (市教育局, replied);
no. 2 加装电梯 led by 李四 (市住建局, replied); no. 3 农田水利 led by 赵六, co-signed by 王五
(市农业农村局, not replied).
"""

from __future__ import annotations

import csv
import json
import re

import pytest

from dashboard.app import create_app
from dashboard.pages import REGISTRY
from duban.cli import main
from duban.core import appstate
from duban.core.settings import load_settings
from tests.test_cli import metrics, warehouse  # noqa: F401  (the worked example's warehouse, a fixture)
from tests.warehouse_builder import make_warehouse
from warehouse.connection import PublishedWarehouse
from warehouse.indicators import Indicators

PASSWORD = "Duban-test-2024!"
Q = "?as_of=2024-06-30"
OWN = ["体育课时", "市教育局"]
OTHERS = ["加装电梯", "农田水利", "市住建局", "市农业农村局"]
SID = "十八届一次-1"


def deputy_warehouse(tmp_path):
    return make_warehouse(
        tmp_path,
        suggestions=[dict(number=1, title="关于增加中小学体育课时的建议", lead_deputy="张三", cosigners="李四、王五",
                          assigned_date="2024-03-01"),
                     dict(number=2, title="关于老旧小区加装电梯的建议", lead_deputy="李四", assigned_date="2024-03-01"),
                     dict(number=3, title="关于加强农田水利建设的建议", lead_deputy="赵六", cosigners="王五",
                          assigned_date="2024-03-01")],
        assignments=[dict(number=1, unit="市教育局"), dict(number=2, unit="市住建局"), dict(number=3, unit="市农业农村局")],
        reports=[dict(number=1, unit="市教育局", report_date="2024-05-31", reply_date="2024-05-10", result_class="A",
                      face_to_face=True),
                 dict(number=2, unit="市住建局", report_date="2024-05-31", reply_date="2024-05-20", result_class="B")])


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deputies")
    home = tmp / "home"
    app = create_app(deputy_warehouse(tmp), home=home, auth=True)
    appstate.add_user(home, "zs", "deputy", None, PASSWORD, deputy="张三")
    appstate.add_user(home, "ls", "deputy", None, PASSWORD, deputy="李四")
    appstate.add_user(home, "duban", "supervisor", None, PASSWORD)
    return app, home


def logged_in(app, username: str, password: str = PASSWORD):
    client = app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"csrf": token, "username": username, "password": password, "next": "/"})
    assert response.status_code == 302
    return client


def post(client, body: dict) -> tuple[int, str]:
    response = client.post("/_dash-update-component", json=body)
    text = json.dumps(response.json, ensure_ascii=False) if response.is_json else response.get_data(as_text=True)
    return response.status_code, text


def route(client, path: str) -> tuple[int, str]:
    return post(client, {"output": "page.children", "outputs": {"id": "page", "property": "children"},
                         "inputs": [{"id": "url", "property": "pathname", "value": path},
                                    {"id": "url", "property": "search", "value": Q}],
                         "state": [], "changedPropIds": ["url.pathname"]})


def any_body(app, output: str) -> dict:
    """A well-formed request for the callback ``output`` (inputs and states as declared, values empty)."""
    spec = app.callback_map[output]
    entries = lambda items: [dict(i, id=_concrete(i["id"]), value=None) for i in items]  # noqa: E731
    inputs = entries(spec["inputs"])
    return {"output": output, "outputs": {}, "inputs": inputs, "state": entries(spec["state"]),
            "changedPropIds": [f"{json.dumps(inputs[0]['id']) if isinstance(inputs[0]['id'], dict) else inputs[0]['id']}."
                               f"{inputs[0]['property']}"]}


def _concrete(element):
    if not element.startswith("{"):
        return element
    return {k: ("x" if v in (["MATCH"], ["ALL"], ["ALLSMALLER"]) else v) for k, v in json.loads(element).items()}


def rate_body(key: str, reply: str | None, other: str | None) -> dict:
    return {"output": '{"key":["MATCH"],"type":"rate-message"}.children',
            "outputs": {"id": {"type": "rate-message", "key": key}, "property": "children"},
            "inputs": [{"id": {"type": "rate-submit", "key": key}, "property": "n_clicks", "value": 1}],
            "state": [{"id": {"type": "rate-value", "key": key, "part": "reply"}, "property": "value", "value": reply},
                      {"id": {"type": "rate-value", "key": key, "part": "other"}, "property": "value", "value": other}],
            "changedPropIds": [json.dumps({"key": key, "type": "rate-submit"}, separators=(",", ":")) + ".n_clicks"]}


def sample_address(page) -> str:
    values = {"unit": "市住建局", "session": "十八届一次", "number": 2}
    return page.address(**{name: values.get(name, "x") for name in page.params})


def test_a_deputy_sees_only_their_suggestions_at_every_address(site):
    app, _ = site
    client = logged_in(app, "zs")
    for page in REGISTRY.pages:
        status, text = route(client, sample_address(page))
        assert status == 200, page.path
        assert all(word in text for word in OWN), page.path
        assert not any(word in text for word in OTHERS), (page.path, [w for w in OTHERS if w in text])
    # a co-signer sees the suggestion they co-signed and their own, not the third one
    status, text = route(logged_in(app, "ls"), "/")
    assert "体育课时" in text and "加装电梯" in text and "农田水利" not in text


def test_every_other_callback_and_every_download_is_refused_to_a_deputy(site):
    app, _ = site
    client = logged_in(app, "zs")
    mine = {o for o, page in REGISTRY.callback_pages.items() if "deputy" in page.roles}
    refused = [o for o in app.callback_map if o != "page.children" and o not in mine]
    assert len(refused) >= 6  # filters, cross-filter, 催办 (2), the pages' own
    for output in refused:
        status, text = post(client, any_body(app, output))
        assert status == 403, output
        assert not any(word in text for word in OTHERS)
    for download in REGISTRY.downloads:
        response = client.get(f"/download/{download.button_id}", query_string={"at": "/units" + Q})
        assert response.status_code == 403, download.button_id


def test_staff_do_not_get_the_deputy_page_or_its_callback(site):
    app, _ = site
    client = logged_in(app, "duban")
    status, text = route(client, "/my")
    assert status == 200 and "my-suggestions" not in text and "我的建议" not in text  # the overview instead
    assert post(client, rate_body(f"{SID}|市教育局", "满意", "满意"))[0] == 403


def test_the_lead_deputy_rates_a_reply_online_and_it_is_audited(site):
    app, home = site
    client = logged_in(app, "zs")
    status, text = post(client, rate_body(f"{SID}|市教育局", "不满意", "基本满意"))
    assert status == 200 and "测评已提交" in text
    rating = appstate.online_ratings(home, [SID])[-1]
    assert (rating["deputy"], rating["unit"], rating["reply_rating"], rating["other_aspect"], rating["other_rating"]) \
        == ("张三", "市教育局", "不满意", "办理工作", "基本满意")
    assert appstate.audit_log(home, username="zs", action=appstate.ACTION_RATING)[0]["detail"] \
        == f"建议 {SID} 市教育局: 答复 不满意, 办理工作 基本满意"
    # the page shows it (the stored page's key follows the ratings)
    assert "您已于" in route(client, "/my")[1]
    # a co-signer, another deputy's suggestion, an unanswered unit, a crafted value: refused, nothing stored
    count = len(appstate.online_ratings(home))
    assert "只能测评本人领衔的建议" in post(logged_in(app, "ls"), rate_body(f"{SID}|市教育局", "满意", "满意"))[1]
    assert "只能测评本人领衔的建议" in post(client, rate_body("十八届一次-2|市住建局", "满意", "满意"))[1]
    assert "尚未答复" in post(client, rate_body(f"{SID}|市农业农村局", "满意", "满意"))[1]
    assert "请在 满意 / 基本满意 / 不满意 中选择" in post(client, rate_body(f"{SID}|市教育局", "很好", "满意"))[1]
    assert len(appstate.online_ratings(home)) == count


def test_a_one_time_password_must_be_replaced_first(site):
    app, home = site
    appstate.add_user(home, "ww", "deputy", None, "one-time-pw-1", deputy="王五", one_time_password=True)
    client = logged_in(app, "ww", "one-time-pw-1")
    response = client.get("/", headers={"Accept": "text/html"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/password")
    assert route(client, "/my")[0] == 401
    page = client.get("/password").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    assert "两次输入的密码不一致" in client.post("/password", data={"csrf": token, "password": "new-password-1",
                                                                 "again": "new-password-2"}).get_data(as_text=True)
    response = client.post("/password", data={"csrf": token, "password": "new-password-1", "again": "new-password-1"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    status, text = route(logged_in(app, "ww", "new-password-1"), "/my")
    assert status == 200 and "体育课时" in text and "农田水利" in text and "加装电梯" not in text


def test_deputy_accounts_need_their_deputy(tmp_path):
    with pytest.raises(appstate.AppStateError, match="--deputy"):
        appstate.add_user(tmp_path, "x", "deputy", None, PASSWORD)
    with pytest.raises(appstate.AppStateError, match="只有代表账号"):
        appstate.add_user(tmp_path, "y", "leader", None, PASSWORD, deputy="张三")


def test_an_online_rating_reaches_the_figures_at_the_next_refresh(tmp_path, capsys, warehouse):  # noqa: F811
    """domain.md's worked example (tests/test_cli.py): no. 5's unit reported 不满意; 王代表 rates it
    满意 online, and after `duban etl run` the congress's evaluation outranks the unit's report."""
    home = tmp_path / "home"
    before = metrics(capsys, warehouse, "--year", "2024")["satisfaction"]
    assert before == {"满意": 5, "基本满意": 1, "不满意": 1}
    appstate.rate_reply(home, "wdb", "王代表", "十八届一次-5", "市住房和城乡建设局", "满意", "办理工作", "基本满意")
    assert main(["etl", "run", "--inbox", str(tmp_path / "inbox"), "--warehouse", str(warehouse)]) == 0
    assert metrics(capsys, warehouse, "--year", "2024")["satisfaction"] == {"满意": 6, "基本满意": 1, "不满意": 0}
    detail = Indicators(PublishedWarehouse(warehouse).connection(), load_settings()).suggestion_detail("十八届一次-5")
    assert [(e["file_name"], e["reply_satisfaction"]) for e in detail["evaluations"]] == [("代表在线测评.csv", "满意")]
    assert [a["evaluation_source"] for a in detail["assignments"]] == ["人大测评"]
    # the same ratings again: the archive already holds that file, nothing new is loaded
    assert main(["etl", "run", "--inbox", str(tmp_path / "inbox"), "--warehouse", str(warehouse)]) == 0
    assert "在上一版本上加入 0 个" in capsys.readouterr().err
    # a scheduled refresh receives them too
    appstate.rate_reply(home, "wdb", "王代表", "十八届一次-5", "市住房和城乡建设局", "基本满意", "办理工作", "基本满意")
    assert main(["etl", "schedule", "--inbox", str(tmp_path / "inbox"), "--warehouse", str(warehouse),
                 "--every", "1h", "--max-runs", "1"]) == 0
    assert metrics(capsys, warehouse, "--year", "2024")["satisfaction"] == {"满意": 5, "基本满意": 2, "不满意": 0}


def test_import_deputies_makes_an_account_per_deputy_with_one_time_passwords(tmp_path, capsys, warehouse):  # noqa: F811
    home = tmp_path / "home"
    out = tmp_path / "代表账号.csv"
    assert main(["users", "import-deputies", "--warehouse", str(warehouse), "--out", str(out)]) == 0
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0] == ["代表姓名", "账号", "初始密码", "说明"] and [r[:2] for r in rows[1:]] == [["王代表", "王代表"]]
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    account = appstate.verify_login(home, "王代表", rows[1][2], None)
    assert account.deputy == "王代表" and account.must_change_password
    assert main(["users", "import-deputies", "--warehouse", str(warehouse), "--out", str(out)]) == 0
    assert "新建代表账号 0 个" in capsys.readouterr().out

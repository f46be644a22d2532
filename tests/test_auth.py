"""dashboard.auth on a tiny Dash app: every protection has a test that fails without it."""

import re
import stat

import dash
import pytest
from dash import Input, Output, dcc, html
from werkzeug.test import EnvironBuilder, run_wsgi_app

from dashboard import auth
from dashboard.auth import Viewer
from duban.core import appstate
from duban.core.settings import load_settings
from tests.conftest import PASSWORD, UNIT_PASSWORD
CALLBACK = {
    "output": "out.children",
    "outputs": {"id": "out", "property": "children"},
    "inputs": [{"id": "inp", "property": "value", "value": "x"}],
    "changedPropIds": ["inp.value"],
    "state": [],
}
LOCKED = "登录失败次数过多, 请 15 分钟后再试"


class Clock:
    def __init__(self):
        self.now = 1_700_000_000.0

    def advance(self, minutes=0, seconds=0):
        self.now += minutes * 60 + seconds


def make_app(home, enabled=True):
    app = dash.Dash(__name__)
    app.layout = html.Div([dcc.Input(id="inp"), html.Div(id="out")])
    calls = []

    @app.callback(Output("out", "children"), Input("inp", "value"))
    def echo(value):
        calls.append(value)
        viewer = auth.current_viewer()
        auth.audit("导出", f"测试导出 {value}")
        return f"echo {value} {viewer.username} {viewer.role} {viewer.unit}"

    settings = load_settings(home, override={"auth": {"max_failed_logins": 3, "lockout_minutes": 15,
                                                      "idle_timeout_minutes": 30}})
    auth.install(app.server, home, settings, enabled)
    app.server.config["TESTING"] = True
    return app, calls


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(auth, "_clock", lambda: c.now)
    return c


@pytest.fixture
def site(home, clock):
    app, calls = make_app(home)
    return app.server.test_client(), calls


def csrf_of(client, url="/login"):
    page = client.get(url)
    assert page.status_code == 200
    return re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def post_login(client, username, password, next_url="/", address="10.0.0.1", csrf=None):
    token = csrf if csrf is not None else csrf_of(client)
    return client.post("/login", data={"csrf": token, "username": username, "password": password,
                                       "next": next_url}, environ_base={"REMOTE_ADDR": address})


def call(client):
    return client.post("/_dash-update-component", json=CALLBACK)


# ------------------------------------------------------------ anonymous visitors


def test_anonymous_page_redirects_to_login_with_next(site):
    client, _ = site
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=%2F"
    response = client.get("/units?year=2023&as_of=2024-01-31")
    assert response.headers["Location"] == "/login?next=%2Funits%3Fyear%3D2023%26as_of%3D2024-01-31"


def test_anonymous_callback_gets_401_and_no_data(site):
    client, calls = site
    response = call(client)
    assert response.status_code == 401
    assert "echo" not in response.get_data(as_text=True)
    assert response.json["login"] == "/login"
    assert calls == []


@pytest.mark.parametrize("path", ["/_dash-layout", "/_dash-dependencies", "/_reload-hash",
                                  "/_dash-component-suites/dash/deps/polyfill@7.v3_0_0m1.min.js",
                                  "/download/cuiban.xlsx", "/assets/app.css"])
def test_anonymous_dash_endpoints_and_downloads_get_401(site, path):
    client, _ = site
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 401
    assert response.is_json and response.headers["Cache-Control"] == "no-store"


def test_login_page_and_its_styles_are_public(site):
    client, _ = site
    page = client.get("/login")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'name="username"' in text and 'name="password"' in text and "登录" in text
    for path in ("/assets/login.css", "/assets/vendor/bootstrap.min.css"):
        assert client.get(path).status_code == 200


def test_login_page_escapes_what_it_echoes(site):
    client, _ = site
    response = post_login(client, "<script>x</script>", "whatever12")
    text = response.get_data(as_text=True)
    assert "<script>x</script>" not in text and "&lt;script&gt;" in text


# ------------------------------------------------------------ logging in


def test_login_ok_redirects_to_next_and_callbacks_work(site):
    client, calls = site
    response = post_login(client, "jyj", UNIT_PASSWORD, next_url="/units?year=2023")
    assert response.status_code == 302 and response.headers["Location"] == "/units?year=2023"
    assert client.get("/").status_code == 200
    assert client.get("/_dash-layout").status_code == 200
    response = call(client)
    assert response.status_code == 200
    assert response.json["response"]["out"]["children"] == "echo x jyj unit 教育局"
    assert calls == ["x"]


def test_session_cookie_is_httponly_and_samesite(site):
    client, _ = site
    cookie = post_login(client, "alice", PASSWORD).headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert re.search(r"SameSite=(Lax|Strict)", cookie)


@pytest.mark.parametrize("token", ["wrong-token", ""])
def test_login_with_bad_csrf_is_refused(site, token):
    client, _ = site
    csrf_of(client)  # the session has a token, the form sends another one
    response = post_login(client, "alice", PASSWORD, csrf=token)
    assert response.status_code == 400
    assert "请求无效" in response.get_data(as_text=True)
    assert call(client).status_code == 401


def test_login_without_a_session_token_is_refused(home, clock):
    app, _ = make_app(home)
    client = app.server.test_client()
    response = client.post("/login", data={"csrf": "", "username": "alice", "password": PASSWORD})
    assert response.status_code == 400


def test_login_starts_a_fresh_session(site):
    client, _ = site
    with client.session_transaction() as s:
        s["planted"] = "by an attacker"
    post_login(client, "alice", PASSWORD)
    with client.session_transaction() as s:
        assert "planted" not in s and "csrf" not in s and s["user"] == "alice"


@pytest.mark.parametrize("target, expected", [
    ("/units?year=2023", "/units?year=2023"),
    ("//evil.example/x", "/"),
    ("/\\evil.example", "/"),
    ("https://evil.example/", "/"),
    ("javascript:alert(1)", "/"),
    ("/a\r\nLocation: x", "/"),
    ("/login?next=/x", "/"),
    ("", "/"),
    (None, "/"),
])
def test_safe_next_keeps_only_local_paths(target, expected):
    assert auth.safe_next(target) == expected


def test_login_does_not_redirect_off_site(site):
    client, _ = site
    response = post_login(client, "alice", PASSWORD, next_url="//evil.example/")
    assert response.headers["Location"] == "/"


def test_wrong_password_is_refused_and_audited(site, home):
    client, _ = site
    response = post_login(client, "alice", "not the password")
    assert response.status_code == 401 and "用户名或密码错误" in response.get_data(as_text=True)
    assert call(client).status_code == 401
    entry = appstate.audit_log(home, limit=1)[0]
    assert (entry["username"], entry["action"], entry["address"]) == ("alice", "登录失败", "10.0.0.1")


def test_successful_login_is_audited(site, home):
    client, _ = site
    post_login(client, "alice", PASSWORD, address="10.0.0.9")
    entry = appstate.audit_log(home, limit=1)[0]
    assert (entry["username"], entry["action"], entry["address"]) == ("alice", "登录", "10.0.0.9")


def test_disabled_user_cannot_log_in(site, home):
    client, _ = site
    appstate.disable_user(home, "jyj")
    response = post_login(client, "jyj", UNIT_PASSWORD)
    assert response.status_code == 401 and "停用" in response.get_data(as_text=True)
    assert call(client).status_code == 401


# ------------------------------------------------------------ throttling


def test_account_throttled_after_max_failures(site):
    client, _ = site
    for i in range(3):
        post_login(client, "alice", "wrong-password", address=f"10.0.1.{i}")
    response = post_login(client, "alice", PASSWORD, address="10.0.2.1")
    assert response.status_code == 429
    assert LOCKED in response.get_data(as_text=True)
    assert call(client).status_code == 401


def test_address_throttled_after_max_failures(site):
    client, _ = site
    for name in ("x1", "x2", "x3"):
        post_login(client, name, "wrong-password", address="10.0.3.3")
    response = post_login(client, "alice", PASSWORD, address="10.0.3.3")
    assert response.status_code == 429 and LOCKED in response.get_data(as_text=True)
    assert post_login(client, "alice", PASSWORD, address="10.0.3.4").status_code == 302


# ------------------------------------------------------------ sessions ending


def test_idle_timeout_ends_the_session(site, clock):
    client, _ = site
    post_login(client, "alice", PASSWORD)
    clock.advance(minutes=20)
    assert call(client).status_code == 200  # activity moves the idle clock on
    clock.advance(minutes=25)  # 45 minutes after login, 25 after the last request
    assert call(client).status_code == 200
    clock.advance(minutes=30, seconds=1)
    assert call(client).status_code == 401
    assert client.get("/").status_code == 302
    assert "长时间未操作" in client.get("/login").get_data(as_text=True)


def test_session_has_a_maximum_age(site, clock):
    client, _ = site
    post_login(client, "alice", PASSWORD)
    with client.session_transaction() as s:
        s["login_at"] -= auth.MAX_SESSION_SECONDS + 1
    assert call(client).status_code == 401


def logout(client):
    token = csrf_of(client, "/logout")
    return client.post("/logout", data={"csrf": token})


def test_logout_ends_the_session(site, home):
    client, _ = site
    post_login(client, "alice", PASSWORD)
    response = logout(client)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert call(client).status_code == 401
    assert appstate.audit_log(home, limit=1)[0]["action"] == "退出"


def test_a_cookie_copied_before_logout_no_longer_works(site):
    client, _ = site
    post_login(client, "alice", PASSWORD)
    captured = client.get_cookie("duban_session").value
    logout(client)
    thief = client.application.test_client()
    thief.set_cookie("duban_session", captured)
    assert call(thief).status_code == 401


def test_logging_out_one_session_leaves_the_others(site):
    client, _ = site
    phone = client.application.test_client()
    post_login(client, "alice", PASSWORD)
    post_login(phone, "alice", PASSWORD)
    logout(client)
    assert call(phone).status_code == 200


def test_get_logout_only_asks_and_logout_needs_the_token(site):
    client, _ = site
    post_login(client, "alice", PASSWORD)
    page = client.get("/logout")  # a link or another site's <img src=/logout>
    assert page.status_code == 200 and "确认退出" in page.get_data(as_text=True)
    assert call(client).status_code == 200
    refused = client.post("/logout", data={"csrf": "forged"})
    assert refused.status_code == 400
    assert call(client).status_code == 200


def test_a_post_from_another_site_is_refused(site):
    client, _ = site
    post_login(client, "alice", PASSWORD)
    evil = {"Origin": "http://evil.example"}
    assert client.post("/_dash-update-component", json=CALLBACK, headers=evil).status_code == 403
    assert client.post("/_dash-update-component", json=CALLBACK,
                       headers={"Referer": "http://evil.example/page"}).status_code == 403
    assert client.post("/logout", data={"csrf": csrf_of(client, "/logout")}, headers=evil).status_code == 403
    assert call(client).status_code == 200  # still logged in
    same = {"Origin": "http://localhost"}  # the test client's own host
    assert client.post("/_dash-update-component", json=CALLBACK, headers=same).status_code == 200


class CountingStream:
    """A request body that counts what the server reads of it."""

    def __init__(self, size):
        self.size, self.read_bytes = size, 0

    def read(self, n=-1):
        n = self.size - self.read_bytes if n is None or n < 0 else min(n, self.size - self.read_bytes)
        self.read_bytes += n
        return b"a" * n

    def readline(self, n=-1):
        return self.read(n if n and n > 0 else 65536)


def post_stream(app, path, body, **environ):
    """POST ``body`` to the WSGI app as a server would hand it over: (status, headers, text)."""
    env = EnvironBuilder(path=path, method="POST", content_type="application/x-www-form-urlencoded").get_environ()
    env.pop("CONTENT_LENGTH", None)
    env.update({"wsgi.input": body, **environ})
    response, status, headers = run_wsgi_app(app, env)
    return int(status.split()[0]), dict(headers), b"".join(response).decode()


def test_a_20_mb_post_gets_413_without_being_read(home, clock):
    app, _ = make_app(home)
    body = CountingStream(20 * 1024 * 1024)
    status, headers, text = post_stream(app.server, "/login", body, CONTENT_LENGTH=str(body.size))
    assert status == 413 and "10 MB" in text
    assert headers["Connection"] == "close"
    assert body.read_bytes == 0


def test_a_body_without_length_is_cut_off_at_the_limit(home, clock):
    app, _ = make_app(home)
    body = CountingStream(20 * 1024 * 1024)
    status, _, _ = post_stream(app.server, "/login", body, HTTP_TRANSFER_ENCODING="chunked",
                              **{"wsgi.input_terminated": True})
    assert status == 413
    assert body.read_bytes <= 10 * 1024 * 1024 + 65536


def test_pages_refuse_to_be_framed_by_other_sites(site):
    client, _ = site
    headers = client.get("/login").headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy["script-src"] and "unsafe-eval" not in policy["script-src"]
    assert "http" not in headers["Content-Security-Policy"]  # no other host anywhere


def test_audit_from_a_request_records_the_viewer(site, home):
    client, _ = site
    post_login(client, "alice", PASSWORD)
    call(client)
    entry = appstate.audit_log(home, limit=1)[0]
    assert (entry["username"], entry["action"], entry["detail"]) == ("alice", "导出", "测试导出 x")


def test_no_auth_serves_everything_as_the_local_supervisor(home):
    app, calls = make_app(home, enabled=False)
    client = app.server.test_client()
    assert client.get("/").status_code == 200
    response = call(client)
    assert response.json["response"]["out"]["children"] == "echo x 本机 supervisor None"
    with app.server.app_context():
        assert auth.current_viewer() == Viewer("本机", "supervisor", None)


def test_viewer_contacts_only_for_supervisors():
    assert Viewer("a", "supervisor", None).can_see_contacts
    assert not Viewer("b", "leader", None).can_see_contacts
    assert not Viewer("c", "unit", "教育局").can_see_contacts


def test_current_viewer_outside_a_request_is_none():
    assert auth.current_viewer() is None


# ------------------------------------------------------------ in a real browser


@pytest.mark.browser
def test_browser_logs_in_and_is_sent_back_to_login_when_the_session_ends(home, tmp_path, chromium):
    from tests.browser.harness import serving

    app = dash.Dash(__name__, assets_folder=str(auth.ASSETS_DIR), assets_path_ignore=["vendor"],
                    assets_ignore=r"login\.css$")
    app.layout = html.Div([dcc.Input(id="inp"), html.Div(id="out")])

    @app.callback(Output("out", "children"), Input("inp", "value"))
    def echo(value):
        return f"echo {value} {auth.current_viewer().username}"

    auth.install(app.server, home, load_settings(home), True)
    auth.allow_inline_scripts(app.server, app.csp_hashes())  # Dash's start-up script under the CSP
    with serving(app) as base:
        page = chromium.new_page()
        page.goto(f"{base}/units?year=2023")
        assert "/login?next=" in page.url
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/units?year=2023")
        page.fill("#inp", "a")
        page.wait_for_function("() => document.querySelector('#out').textContent === 'echo a alice'")
        # The session ends on the server (here: password changed); the next callback gets a 401
        # and assets/session.js takes the browser to the login page, remembering the view.
        appstate.set_password(home, "alice", "another password")
        page.fill("#inp", "b")
        page.wait_for_url(f"{base}/login?next=%2Funits%3Fyear%3D2023", timeout=10000)
        assert "重新登录" in page.content()

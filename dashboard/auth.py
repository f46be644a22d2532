"""Login, logout and server-side enforcement for the dashboard's Flask server.

``install`` puts a guard in front of every request: with login enabled nothing but the login page
and its stylesheets is served to an anonymous visitor. Dash's own endpoints (layout, dependencies,
callbacks, component bundles) and download routes answer 401 JSON; pages redirect to /login.
Every check happens on the server; hiding things in the layout is not what protects the data.

Sessions are Flask's signed cookies (HttpOnly, SameSite=Lax) with the key kept in
$DUBAN_HOME/secret_key; the cookie carries a session token whose record lives in the app state
(duban.core.appstate.start_session). Each request checks that record and the account, so logging out,
disabling the account or changing its password ends every copy of the cookie at once.

The edge of every request, before anything is read: a body larger than ``[serve] max_request_mb``
gets 413; a POST from another site (its Origin or Referer names another host) gets 403; logout is a
POST carrying the session's CSRF token. Every answer carries a Content-Security-Policy that allows
this server only (``content_security_policy``).
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import flask
from flask import g, jsonify, redirect, render_template_string, request, session
from werkzeug.exceptions import RequestEntityTooLarge

from duban.core import appstate
from duban.core.settings import Settings

ROLES = appstate.ROLES
EXTENSION = "duban_auth"
ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
# Served to anonymous visitors: the login page's own stylesheets, nothing else.
PUBLIC_FILES = {
    "/assets/login.css": "login.css",
    "/assets/vendor/bootstrap.min.css": "vendor/bootstrap.min.css",
}
# Requests under these prefixes are data, never pages: refused with 401 JSON, not redirected.
DATA_PREFIXES = ("/_", "/download", "/export", "/api", "/assets", "/static")
# The "last seen" stamp is rewritten at most this often so not every callback re-sets the cookie.
TOUCH_EVERY_SECONDS = 15
# A session ends after this long even when in use; people log in again the next working day.
MAX_SESSION_SECONDS = 12 * 3600
# Where an account given a one-time password sets its own; nothing else is served to it before.
PASSWORD_PATH = "/password"
# Methods that change something: refused when another site sends them.
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Viewer:
    username: str
    role: str  # 'leader' | 'supervisor' | 'unit' | 'deputy'
    unit: str | None
    deputy: str | None = None  # a deputy's name as the register spells it: sees only their suggestions

    @property
    def can_see_contacts(self) -> bool:
        """联系人/联系电话 are personal data: supervisors only."""
        return self.role == "supervisor"

    @property
    def sees_all_units(self) -> bool:
        return self.role not in ("unit", "deputy")


LOCAL_VIEWER = Viewer("本机", "supervisor", None)


@dataclass(frozen=True)
class _State:
    home: Path
    settings: Settings
    enabled: bool
    script_hashes: tuple[str, ...] = field(default=())  # Dash's inline scripts (allow_inline_scripts)


def _clock() -> float:
    """Seconds since the epoch; a function so tests can move time."""
    return time.time()


def _secret_key(home: Path) -> bytes:
    """The session signing key under ``home``, created 0600 on first use (race-safe across workers)."""
    path = home / "secret_key"
    home.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)  # a copied or older key file: no one else may read it
        for _ in range(50):  # another worker may be writing it right now
            key = path.read_text(encoding="ascii").strip()
            if key:
                return key.encode("ascii")
            time.sleep(0.02)
        raise RuntimeError(f"{path} 为空, 请删除后重新启动") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        key = secrets.token_hex(32)
        fh.write(key)
    return key.encode("ascii")


def install(server: flask.Flask, home: Path, settings: Settings, enabled: bool) -> None:
    """Add /login, /logout and the request guard to the dashboard's Flask server."""
    home = Path(home)
    state = _State(home, settings, enabled)
    server.extensions[EXTENSION] = state
    server.secret_key = _secret_key(home)
    server.config.update(
        SESSION_COOKIE_NAME="duban_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )

    def public_file(path: str):
        def serve():
            return flask.send_from_directory(ASSETS_DIR, path, max_age=3600)
        return serve

    for url, path in PUBLIC_FILES.items():
        server.add_url_rule(url, f"{EXTENSION}_" + re.sub(r"\W", "_", path), public_file(path))
    server.add_url_rule("/login", "duban_login", _login, methods=["GET", "POST"])
    server.add_url_rule("/logout", "duban_logout", _logout, methods=["GET", "POST"])
    server.add_url_rule(PASSWORD_PATH, "duban_password", _change_password, methods=["GET", "POST"])
    server.before_request(_limit_body)
    server.before_request(_same_site_only)
    server.before_request(_guard)
    server.after_request(_headers)
    server.register_error_handler(RequestEntityTooLarge, _too_large)


def allow_inline_scripts(server: flask.Flask, hashes: Sequence[str]) -> None:
    """Let the page's own inline scripts (Dash's renderer start-up, by their CSP hashes) run."""
    state = server.extensions[EXTENSION]
    server.extensions[EXTENSION] = replace(state, script_hashes=tuple(hashes))


def content_security_policy(script_hashes: tuple[str, ...] = ()) -> str:
    """This server only. Plotly draws its styles inline ('unsafe-inline' for styles, never for
    scripts); the PNG download is a data: image; nothing may frame the pages."""
    scripts = " ".join(("'self'", *script_hashes))  # Dash gives them quoted: 'sha256-…'
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _max_request_bytes(settings: Settings) -> int:
    return int(settings.max_request_mb * 1024 * 1024)


class _CappedInput:
    """A request body without Content-Length (chunked): 413 as soon as more than the limit is read."""

    def __init__(self, stream, limit: int):
        self._stream, self._left = stream, limit + 1  # one byte past the limit proves "beyond"

    def _take(self, read, size: int | None) -> bytes:
        want = self._left if size is None or size < 0 else min(size, self._left)
        data = read(want) if want else b""
        self._left -= len(data)
        if self._left <= 0:
            raise RequestEntityTooLarge()
        return data

    def read(self, size: int | None = -1) -> bytes:
        return self._take(self._stream.read, size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._take(self._stream.readline, size)


def _limit_body():
    """413 before a byte of an oversized body is read (its Content-Length says so), or while a
    body without a length is read."""
    state = _state()
    if state is None:
        return None
    limit = _max_request_bytes(state.settings)
    length = request.content_length
    if length is not None and length > limit:
        return _too_large(None)
    # whatever the header said, no more than the limit is ever read
    request.environ["wsgi.input"] = _CappedInput(request.environ["wsgi.input"], limit)
    return None


def _too_large(_error):
    state = _state()
    limit = state.settings.max_request_mb if state else 0
    response = flask.Response(f"请求内容超过上限 ({limit:g} MB), 未处理。", status=413,
                              mimetype="text/plain; charset=utf-8")
    response.headers["Connection"] = "close"  # the server must not read the rest to find the next request
    return response


def _same_site_only():
    """A POST (callback, login, logout, 催办) from a page of another site is refused: browsers name
    the sending page in Origin (or at least Referer); requests without either are not a browser's."""
    if request.method not in UNSAFE_METHODS:
        return None
    sender = request.headers.get("Origin") or request.headers.get("Referer")
    if not sender:
        return None
    if sender == "null" or urlsplit(sender).netloc != request.host:
        return _text("拒绝来自其他网站的请求。", 403)
    return None


def _text(message: str, status: int) -> flask.Response:
    return flask.Response(message, status=status, mimetype="text/plain; charset=utf-8")


def _state() -> _State | None:
    if not flask.has_app_context():
        return None
    return flask.current_app.extensions.get(EXTENSION)


def _signed_in() -> tuple[_State, Viewer] | None:
    """(the app's login state, the viewer) for a request from a logged-in account; else None."""
    state, viewer = _state(), g.get("duban_viewer")
    return (state, viewer) if state is not None and state.enabled and viewer is not None else None


def _guard():
    state = _state()
    if state is None or not state.enabled:
        g.duban_viewer = LOCAL_VIEWER
        return None
    viewer = _session_viewer(state)
    if viewer is not None and g.get("duban_password_due"):
        # a one-time password: the account must set its own before it sees anything
        if request.path in (PASSWORD_PATH, "/logout") or request.path in PUBLIC_FILES:
            g.duban_viewer = viewer
            return None
        return _refuse(PASSWORD_PATH)
    g.duban_viewer = viewer
    if viewer is not None or request.path == "/login" or request.path in PUBLIC_FILES:
        return None
    return _refuse()


def _session_viewer(state: _State) -> Viewer | None:
    """The logged-in viewer, or None; ends sessions that are idle, too old or no longer valid."""
    name = session.get("user")
    token = session.get("sid")
    if not name or not token:
        return None
    now = _clock()
    last = session.get("last", 0)
    if now - last > state.settings.idle_timeout_minutes * 60:
        _end_session(state, "长时间未操作, 已自动退出, 请重新登录")
        appstate.audit(state.home, name, "退出", "超时自动退出", request.remote_addr)
        return None
    if now - session.get("login_at", 0) > MAX_SESSION_SECONDS:
        _end_session(state, "登录已过期, 请重新登录")
        return None
    account = appstate.session_account(state.home, token)
    if account is None or account.username != name:
        _end_session(state, "已退出登录, 或账号已停用、密码已修改, 请重新登录")
        return None
    if now - last >= TOUCH_EVERY_SECONDS:
        session["last"] = now
    g.duban_password_due = account.must_change_password
    return Viewer(account.username, account.role, account.unit, account.deputy)


def _end_session(state: _State, notice: str) -> None:
    """End the session for good (its record too, so a copy of the cookie is worthless) and start
    an anonymous one carrying the notice for the login page."""
    appstate.end_session(state.home, session.get("sid"))
    session.clear()
    session["notice"] = notice


def _refuse(page: str = "/login"):
    """Pages go to ``page`` (the login, or setting one's own password); data requests get 401."""
    path = request.path
    is_page = (
        request.method in ("GET", "HEAD")
        and not path.startswith(DATA_PREFIXES)
        and "text/html" in request.headers.get("Accept", "text/html")
    )
    if is_page:
        target = request.full_path if request.query_string else path
        return redirect(f"{page}?" + urlencode({"next": target}), code=302)
    response = jsonify({"error": "未登录或登录已过期, 请重新登录", "login": page})
    response.status_code = 401
    return response


def _headers(response: flask.Response) -> flask.Response:
    state = _state()
    response.headers.setdefault("Content-Security-Policy", content_security_policy(state.script_hashes if state else ()))
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.status_code == 401 or request.path in ("/login", "/logout", PASSWORD_PATH):
        response.headers["Cache-Control"] = "no-store"
    return response


def safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, else "/" (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path.startswith("/login"):
        return "/"
    return target


def _csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _csrf_ok() -> bool:
    sent = request.form.get("csrf", "")
    expected = session.get("csrf", "")
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def _login():
    state = _state()
    next_url = safe_next(request.values.get("next"))
    if state is None or not state.enabled or g.get("duban_viewer") is not None:
        return redirect(next_url)
    if request.method == "GET":
        return _login_page(next_url, session.pop("notice", None))

    if not _csrf_ok():
        return _login_page(next_url, "页面已过期或请求无效, 请重新登录", status=400)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username or not password:
        return _login_page(next_url, "请输入用户名和密码", username=username, status=400)
    result = appstate.verify_login(
        state.home, username, password, request.remote_addr,
        max_failed=state.settings.max_failed_logins, lockout_minutes=state.settings.lockout_minutes,
    )
    if isinstance(result, appstate.LoginRefused):
        return _login_page(next_url, result.reason, username=username,
                           status=429 if result.throttled else 401)
    # A fresh session on login: nothing from the anonymous one (e.g. its CSRF token) carries over.
    session.clear()
    now = _clock()
    session.update(user=result.username, sid=appstate.start_session(state.home, result.username),
                   login_at=now, last=now)
    return redirect(next_url, code=302)


def _logout():
    """GET asks (a link, or another site's image tag, must not log anyone out); POST with the
    session's CSRF token logs out and ends the session's record."""
    signed_in = _signed_in()
    if signed_in is None:
        return redirect("/login", code=302)
    state, viewer = signed_in
    if request.method != "POST":
        return _page(_LOGOUT_HTML, csrf=_csrf_token(), username=viewer.username)
    if not _csrf_ok():
        return _page(_LOGOUT_HTML, csrf=_csrf_token(), username=viewer.username,
                     message="页面已过期或请求无效, 请再点一次退出", status=400)
    appstate.audit(state.home, viewer.username, "退出", "主动退出", request.remote_addr)
    _end_session(state, "已退出登录")
    return redirect("/login", code=302)


def _change_password():
    """An account logged in with a one-time password sets its own (twice, at least 8 characters);
    the change ends the session, so it logs in again with the new one."""
    signed_in = _signed_in()
    if signed_in is None:
        return redirect("/login", code=302)
    state, viewer = signed_in
    if request.method != "POST":
        return _page(_PASSWORD_HTML, csrf=_csrf_token(), username=viewer.username)
    if not _csrf_ok():
        return _page(_PASSWORD_HTML, 400, csrf=_csrf_token(), username=viewer.username,
                     message="页面已过期或请求无效, 请重新输入")
    password, again = request.form.get("password", ""), request.form.get("again", "")
    if password != again:
        return _page(_PASSWORD_HTML, 400, csrf=_csrf_token(), username=viewer.username, message="两次输入的密码不一致")
    try:
        appstate.set_password(state.home, viewer.username, password)
    except appstate.AppStateError as exc:
        return _page(_PASSWORD_HTML, 400, csrf=_csrf_token(), username=viewer.username, message=str(exc))
    appstate.audit(state.home, viewer.username, appstate.ACTION_USER, "首次登录, 设置了自己的密码", request.remote_addr)
    _end_session(state, "密码已设置, 请用新密码登录")
    return redirect("/login", code=302)


# The frame of the pages served outside the Dash app (login, first password, logout): a title
# and a Jinja body filled into the same head and box.
_FRAME_HEAD = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - 代表建议办理督办</title>
<link rel="stylesheet" href="/assets/vendor/bootstrap.min.css">
<link rel="stylesheet" href="/assets/login.css">
</head>
<body class="duban-login">
<main class="duban-login-box">
"""


def _standalone_page(title: str, body: str) -> str:
    return _FRAME_HEAD.format(title=title) + body + "</main>\n</body>\n</html>\n"


_PASSWORD_HTML = _standalone_page("设置密码", """\
  <h1>设置新密码</h1>
  <p class="duban-login-sub">账号 {{ username }} 使用的是初始密码, 请先设置自己的密码 (至少 8 个字符)。</p>
  {% if message %}<div class="alert alert-warning" role="alert">{{ message }}</div>{% endif %}
  <form method="post" action="/password">
    <input type="hidden" name="csrf" value="{{ csrf }}">
    <div class="mb-3">
      <label class="form-label" for="password">新密码</label>
      <input class="form-control" id="password" name="password" type="password" autocomplete="new-password" required>
    </div>
    <div class="mb-3">
      <label class="form-label" for="again">再次输入新密码</label>
      <input class="form-control" id="again" name="again" type="password" autocomplete="new-password" required>
    </div>
    <button class="btn btn-primary w-100" type="submit">保存</button>
  </form>
""")


_LOGIN_HTML = _standalone_page("登录", """\
  <h1>代表建议办理督办</h1>
  <p class="duban-login-sub">请登录后查看</p>
  {% if message %}<div class="alert alert-warning" role="alert">{{ message }}</div>{% endif %}
  <form method="post" action="/login" autocomplete="on">
    <input type="hidden" name="csrf" value="{{ csrf }}">
    <input type="hidden" name="next" value="{{ next_url }}">
    <div class="mb-3">
      <label class="form-label" for="username">用户名</label>
      <input class="form-control" id="username" name="username" value="{{ username }}"
             autocomplete="username" required autofocus>
    </div>
    <div class="mb-3">
      <label class="form-label" for="password">密码</label>
      <input class="form-control" id="password" name="password" type="password"
             autocomplete="current-password" required>
    </div>
    <button class="btn btn-primary w-100" type="submit">登录</button>
  </form>
""")


_LOGOUT_HTML = _standalone_page("退出登录", """\
  <h1>退出登录</h1>
  {% if message %}<div class="alert alert-warning" role="alert">{{ message }}</div>{% endif %}
  <p class="duban-login-sub">当前账号: {{ username }}</p>
  <form method="post" action="/logout">
    <input type="hidden" name="csrf" value="{{ csrf }}">
    <button class="btn btn-primary w-100" type="submit">确认退出</button>
  </form>
  <p class="mt-3 text-center"><a href="/">返回看板</a></p>
""")


def _page(template: str, status: int = 200, **values):
    html = render_template_string(template, **values)
    return html, status, {"Content-Type": "text/html; charset=utf-8"}


def _login_page(next_url: str, message: str | None, username: str = "", status: int = 200):
    return _page(_LOGIN_HTML, status, csrf=_csrf_token(), next_url=next_url, message=message, username=username)


def current_viewer() -> Viewer | None:
    """Who is looking: the logged-in viewer; the local supervisor when login is off (--no-auth);
    None outside a request or when nobody is logged in (callbacks never run then: the guard refuses)."""
    state = _state()
    if state is not None and not state.enabled:
        return LOCAL_VIEWER
    if not flask.has_request_context():
        return None
    return g.get("duban_viewer")


def required_viewer() -> Viewer:
    """The current viewer, for callbacks and downloads that act for someone."""
    viewer = current_viewer()
    if viewer is None:  # outside a request (tests calling callbacks directly) with login on
        raise PermissionError("未登录")
    return viewer


def audit(action: str, detail: str) -> None:
    """Write the current viewer's action (an export, a 催办 list, …) to the audit log."""
    state = _state()
    if state is None:
        return
    viewer = current_viewer()
    address = request.remote_addr if flask.has_request_context() else None
    appstate.audit(state.home, viewer.username if viewer else "匿名", action, detail, address)

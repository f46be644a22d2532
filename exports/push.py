"""Delivering one push to one target (settings [notify]): a generic JSON webhook, the 钉钉 and
企业微信 group robots (their documented JSON shapes, msgtype text or markdown) and SMTP mail.

Only the target's own address is contacted: no proxy from the environment, no redirect followed
(a redirect could lead anywhere). Text from the data never becomes markup: in markdown messages
the characters markdown reads are replaced by their full-width forms.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import quote_plus

from duban.core.settings import NotifySettings, NotifyTarget

# A robot refuses longer messages (bytes of UTF-8): longer pushes go out in parts.
ROBOT_LIMITS = {("dingtalk", "text"): 18000, ("dingtalk", "markdown"): 18000,
                ("wecom", "text"): 2000, ("wecom", "markdown"): 4000}
_MARKDOWN = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in "\\`*_[]()#>|~<{}"})
KIND_LABELS = {"webhook": "通用接口", "dingtalk": "钉钉群机器人", "wecom": "企业微信群机器人", "mail": "邮件"}
SMTPS_PORT = 465  # mail servers on this port speak TLS from the first byte


class PushFailed(Exception):
    """A push a target did not accept; the message says which and why (Chinese)."""


@dataclass(frozen=True)
class Push:
    """One message: a title, its lines (plain text), and the alerts it carries as data (the
    generic webhook's ``items``)."""
    recipient: str  # a unit, or the supervisors
    title: str
    lines: tuple[str, ...]
    items: tuple[dict, ...] = ()

    def text(self) -> str:
        return "\n".join((self.title, *self.lines))

    def markdown(self) -> str:
        return "\n\n".join((f"#### {self.title.translate(_MARKDOWN)}", *(line.translate(_MARKDOWN) for line in self.lines)))


def target_label(target: NotifyTarget) -> str:
    """How a page names a target: its kind and name (a robot's host, never its address with the token)."""
    return f"{KIND_LABELS[target.kind]} {target.name}"


def parts(push: Push, target: NotifyTarget) -> list[Push]:
    """``push`` cut into messages the target accepts (the robots limit a message's size)."""
    limit = ROBOT_LIMITS.get((target.kind, target.format))
    if limit is None:
        return [push]
    chunks: list[list[str]] = [[]]
    size = len(push.title.encode()) + 40  # the title and its (续 k/n)
    for line in push.lines:
        grown = size + len(line.encode()) + 2
        if chunks[-1] and grown > limit:
            chunks.append([])
            grown = len(push.title.encode()) + 40 + len(line.encode()) + 2
        chunks[-1].append(line[: limit // 4])  # one absurd line cannot make a part too long
        size = grown
    if len(chunks) == 1:
        return [push]
    return [Push(push.recipient, f"{push.title} (续 {i}/{len(chunks)})" if i > 1 else f"{push.title} (1/{len(chunks)})",
                 tuple(chunk), push.items if i == 1 else ()) for i, chunk in enumerate(chunks, start=1)]


def deliver(push: Push, target: NotifyTarget, settings: NotifySettings) -> None:
    """Send ``push`` to ``target``; raises PushFailed with the reason."""
    for part in parts(push, target):
        if target.kind == "mail":
            _mail(part, target, settings)
        else:
            _post(part, target, settings.timeout_seconds)


def _body(push: Push, target: NotifyTarget) -> dict:
    if target.kind == "webhook":
        return {"recipient": push.recipient, "title": push.title, "text": push.text(), "items": list(push.items)}
    if target.format == "markdown":
        content = push.markdown()
        if target.kind == "dingtalk":
            return {"msgtype": "markdown", "markdown": {"title": push.title, "text": content}}
        return {"msgtype": "markdown", "markdown": {"content": content}}
    return {"msgtype": "text", "text": {"content": push.text()}}


def _signed(url: str, secret: str) -> str:
    """钉钉 加签: timestamp (ms) and the HMAC-SHA256 of "timestamp\\nsecret", base64, URL-encoded."""
    stamp = str(round(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    return f"{url}{'&' if '?' in url else '?'}timestamp={stamp}&sign={quote_plus(base64.b64encode(digest))}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise urllib.error.HTTPError(req.full_url, code, f"重定向到 {newurl}, 未跟随", headers, fp)


# Direct connections only: a proxy named in the environment is not one of the configured targets.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def _post(push: Push, target: NotifyTarget, timeout: int) -> None:
    url = _signed(target.url, target.secret) if target.kind == "dingtalk" and target.secret else target.url
    data = json.dumps(_body(push, target), ensure_ascii=False, default=str).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            answer = response.read(65536)
    except urllib.error.HTTPError as exc:
        raise PushFailed(f"推送目标 {target.name} 拒收: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise PushFailed(f"推送目标 {target.name} 无法连接: {getattr(exc, 'reason', exc)}") from None
    if target.kind in ("dingtalk", "wecom"):  # the robots answer 200 with an error code
        try:
            reply = json.loads(answer)
        except ValueError:
            reply = {}
        if not isinstance(reply, dict) or reply.get("errcode") != 0:
            shown = reply.get("errmsg") if isinstance(reply, dict) else None
            raise PushFailed(f"推送目标 {target.name} 拒收: {shown or answer[:200].decode('utf-8', 'replace')}")


def _mail(push: Push, target: NotifyTarget, settings: NotifySettings) -> None:
    smtp = settings.smtp
    message = EmailMessage()
    message["Subject"] = push.title
    message["From"] = smtp.sender or smtp.user
    message["To"] = ", ".join(target.to)
    message.set_content("\n".join(push.lines))
    client = smtplib.SMTP_SSL if smtp.port == SMTPS_PORT else smtplib.SMTP
    try:
        with client(smtp.host, smtp.port, timeout=settings.timeout_seconds) as server:
            if smtp.starttls and client is smtplib.SMTP:
                server.starttls(context=ssl.create_default_context())
            if smtp.user:
                server.login(smtp.user, smtp.password)
            server.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise PushFailed(f"邮件 {target.name} 未能发出: {exc}") from None

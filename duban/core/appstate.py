"""Application state that is not the warehouse: accounts, login throttling, audit log, 催办 and
约谈/约见 records, deputies' online ratings, the unit directory and the alerts already pushed.

Kept in SQLite at $DUBAN_HOME/app.db (never in the warehouse, which is rebuilt and swapped by the
ETL). One engine per home folder, cached; tables are created on first use. Every function takes
the home folder so the CLI, the dashboard and tests can point at different states.

Errors meant for an operator are raised as AppStateError with a Chinese message.
"""

from __future__ import annotations

import hashlib
import math
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    func,
    select,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from duban.core.settings import load_settings

ROLES = ("leader", "supervisor", "unit", "deputy")
ROLE_LABELS = {"leader": "领导", "supervisor": "督办人员", "unit": "承办单位", "deputy": "人大代表"}
MIN_PASSWORD_LENGTH = 8
MAX_NAME_LENGTH = 64
DB_NAME = "app.db"
# Failed attempts older than this are deleted; only the lockout window matters for throttling.
FAILURE_RETENTION = timedelta(days=1)

ACTION_LOGIN = "登录"
ACTION_LOGIN_FAILED = "登录失败"
ACTION_CHASE = "催办登记"
ACTION_USER = "账号管理"
ACTION_CHASE_WITHDRAWN = "撤回催办"
ACTION_INTERVIEW = "约谈登记"
# A persistent 不满意 or a long delay ends in the unit head being called in (约谈) or met (约见).
INTERVIEW_KINDS = ("约谈", "约见")
ACTION_RATING = "代表在线测评"
ACTION_DIRECTORY = "单位通讯录"
# An online rating's two answers (the congress's 满意度测评 scale).
RATING_VALUES = ("满意", "基本满意", "不满意")
# A 催办 note is a line or two for the history and the 催办清单, not a document.
MAX_CHASE_NOTE = 500
# Sessions older than this are deleted (they end after 12 hours in any case: dashboard.auth).
SESSION_RETENTION = timedelta(days=2)

_hasher = PasswordHasher()
# Verified against when the account does not exist, so an unknown name costs as much time as a
# wrong password and response timing does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("duban-no-such-account")


class AppStateError(ValueError):
    """A request the state store refuses; the message is for the operator (Chinese)."""


def _now() -> datetime:
    """Naive UTC; a function so tests can move the clock."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _local(at: datetime) -> datetime:
    return at.replace(tzinfo=timezone.utc).astimezone()


class _Base(DeclarativeBase):
    pass


class User(_Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped on password change and disabling: sessions carry it, so old sessions stop working.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    # A successful login forgives the account's earlier failures (but not the address's).
    failures_reset_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)


class LoginFailure(_Base):
    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), index=True)
    address: Mapped[str | None] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)


class AuditEntry(_Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    username: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str | None] = mapped_column(String(64))


class LiveSession(_Base):
    """A login's server-side record: the signed cookie carries only its token, so ending the row
    (logout, password change, disabling) ends every copy of the cookie."""

    __tablename__ = "sessions"
    # sha256 of the cookie's token: app.db alone does not give anyone a working cookie.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)


class Chase(_Base):
    __tablename__ = "chases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    suggestion_id: Mapped[str | None] = mapped_column(String(100), index=True)
    unit: Mapped[str | None] = mapped_column(String(200), index=True)
    chase_date: Mapped[date] = mapped_column(Date)
    way: Mapped[str] = mapped_column(String(50))
    note: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audit_log.id"))


class ChaseWithdrawal(_Base):
    """A 催办 record taken back by its author (kept, with the audit entry, but no longer shown or counted)."""

    __tablename__ = "chase_withdrawals"
    chase_id: Mapped[int] = mapped_column(ForeignKey("chases.id"), primary_key=True)
    by: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    at: Mapped[datetime] = mapped_column(DateTime)
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audit_log.id"))


class Interview(_Base):
    """A 约谈/约见 of a unit's head (or whom the congress called in) about its handling: when, with
    whom, what came of it. Recorded by supervisors, like 催办, and audited."""

    __tablename__ = "interviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    suggestion_id: Mapped[str | None] = mapped_column(String(100), index=True)
    unit: Mapped[str] = mapped_column(String(200), index=True)
    interview_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(8))
    with_whom: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audit_log.id"))


class DeputyBinding(_Base):
    """A deputy account's deputy, as the register spells the name (their own table: app.db files
    made before deputies existed gain it without altering ``users``)."""

    __tablename__ = "deputy_accounts"
    username: Mapped[str] = mapped_column(ForeignKey("users.name"), primary_key=True)
    deputy: Mapped[str] = mapped_column(String(100), index=True)


class PasswordChangeDue(_Base):
    """An account whose password was handed out (a one-time password): it must set its own first."""

    __tablename__ = "password_change_due"
    username: Mapped[str] = mapped_column(ForeignKey("users.name"), primary_key=True)


class OnlineRating(_Base):
    """A deputy's rating of one unit's reply, given on the dashboard: the congress's own evaluation.
    Every rating is kept; the newest of a (suggestion, unit) is the one that counts."""

    __tablename__ = "online_ratings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    suggestion_id: Mapped[str] = mapped_column(String(100), index=True)
    unit: Mapped[str] = mapped_column(String(200))
    deputy: Mapped[str] = mapped_column(String(100))
    username: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    reply_rating: Mapped[str] = mapped_column(String(8))  # 办理结果 / 答复: the congress's 答复满意度
    other_aspect: Mapped[str] = mapped_column(String(8))  # 办理工作 / 落实 (settings: [deputies] rating_aspects)
    other_rating: Mapped[str] = mapped_column(String(8))
    rated_at: Mapped[datetime] = mapped_column(DateTime)
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audit_log.id"))


class UnitContact(_Base):
    """The unit directory kept by supervisors: who to reach at a unit, and where its pushes go."""

    __tablename__ = "unit_directory"
    unit: Mapped[str] = mapped_column(String(200), primary_key=True)
    liaison: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(100))
    push_target: Mapped[str | None] = mapped_column(String(500))
    updated_by: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class SentAlert(_Base):
    """An alert pushed once (``duban notify``): its key names what it said, so it is never sent again."""

    __tablename__ = "sent_alerts"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    target: Mapped[str] = mapped_column(String(500))
    sent_at: Mapped[datetime] = mapped_column(DateTime)


@dataclass(frozen=True)
class Account:
    """A successful login (or a live session's account): who, and what they may see."""

    username: str
    role: str
    unit: str | None
    session_epoch: int = 0
    deputy: str | None = None  # a deputy account's name as the register spells it
    must_change_password: bool = False  # logged in with a one-time password


@dataclass(frozen=True)
class LoginRefused:
    """A refused login. ``reason`` is shown to the user as is (Chinese)."""

    reason: str
    throttled: bool = False
    retry_minutes: int = 0


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _set_sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the dashboard's workers read while one of them (or the CLI) writes.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def engine_for(home: Path) -> Engine:
    """The cached engine for ``home``/app.db; creates the folder and tables on first use."""
    home = Path(home).expanduser().resolve()
    key = str(home)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            home.mkdir(parents=True, exist_ok=True)
            engine = create_engine(f"sqlite:///{home / DB_NAME}", connect_args={"timeout": 15})
            event.listen(engine, "connect", _set_sqlite_pragmas)
            try:
                _Base.metadata.create_all(engine)
            except OperationalError:
                # Another process (a second server worker, the CLI) created the tables between
                # our check and our CREATE; the second pass finds them.
                time.sleep(0.2)
                _Base.metadata.create_all(engine)
            _engines[key] = engine
    return engine


def _forget_pools_after_fork() -> None:
    # A forked server worker must not share the parent's SQLite connections.
    for engine in _engines.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_pools_after_fork)


def _session(home: Path) -> Session:
    return Session(engine_for(home), expire_on_commit=False)


# ---------------------------------------------------------------- accounts


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise AppStateError("用户名不能为空")
    if len(name) > MAX_NAME_LENGTH or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise AppStateError(f"用户名 {name!r} 不可用: 不超过 {MAX_NAME_LENGTH} 个字符, 不含空格或控制字符")
    return name


def _check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AppStateError(f"密码至少 {MIN_PASSWORD_LENGTH} 个字符")
    return password


def _get_user(db: Session, name: str) -> User:
    user = db.scalar(select(User).where(User.name == name))
    if user is None:
        raise AppStateError(f"没有名为 {name} 的账号")
    return user


def add_user(home: Path, name: str, role: str, unit: str | None, password: str, *, deputy: str | None = None,
             one_time_password: bool = False) -> None:
    """Create an account. A unit account needs its unit, a deputy account its deputy (the name as the
    register spells it); leaders and supervisors have neither. With ``one_time_password`` the
    account must set its own password at its first login."""
    name = _check_name(name)
    if role not in ROLES:
        raise AppStateError(f"角色应为 {' / '.join(ROLES)} 之一, 现为 {role!r}")
    unit = (unit or "").strip() or None
    deputy = (deputy or "").strip() or None
    if role == "unit" and unit is None:
        raise AppStateError("单位账号 (--role unit) 必须用 --unit 指定所属承办单位")
    if role == "deputy" and deputy is None:
        raise AppStateError("代表账号 (--role deputy) 必须用 --deputy 指定代表姓名 (与交办台账的写法一致)")
    if role != "unit" and unit is not None:
        raise AppStateError(f"{ROLE_LABELS[role]}账号不属于某个单位, 不应指定 --unit")
    if role != "deputy" and deputy is not None:
        raise AppStateError("只有代表账号 (--role deputy) 可以指定 --deputy")
    hashed = _hasher.hash(_check_password(password))
    with _session(home) as db, db.begin():
        if db.scalar(select(User.id).where(User.name == name)) is not None:
            raise AppStateError(f"账号 {name} 已存在")
        now = _now()
        db.add(User(name=name, role=role, unit=unit, password_hash=hashed, disabled=False,
                    session_epoch=0, created_at=now))
        db.flush()
        if deputy is not None:
            db.add(DeputyBinding(username=name, deputy=deputy))
        if one_time_password:
            db.add(PasswordChangeDue(username=name))
        db.add(AuditEntry(at=now, username="系统", action=ACTION_USER,
                          detail=f"新建账号 {name} ({ROLE_LABELS[role]}{'/' + (unit or deputy) if unit or deputy else ''})"))


def deputy_accounts(home: Path) -> dict[str, str]:
    """Deputy name → account name, for every deputy account."""
    with _session(home) as db:
        return {b.deputy: b.username for b in db.scalars(select(DeputyBinding))}


def list_users(home: Path) -> list[dict]:
    """Every account, by name: name, role, role_label, unit, deputy, disabled, created_at, last_login_at."""
    with _session(home) as db:
        users = db.scalars(select(User).order_by(User.name)).all()
        deputies = {b.username: b.deputy for b in db.scalars(select(DeputyBinding))}
        return [
            {
                "name": u.name,
                "role": u.role,
                "role_label": ROLE_LABELS.get(u.role, u.role),
                "unit": u.unit,
                "deputy": deputies.get(u.name),
                "disabled": u.disabled,
                "created_at": _local(u.created_at),
                "last_login_at": _local(u.last_login_at) if u.last_login_at else None,
            }
            for u in users
        ]


def disable_user(home: Path, name: str) -> None:
    """Stop an account from logging in; its open sessions end at their next request."""
    with _session(home) as db, db.begin():
        user = _get_user(db, name)
        user.disabled = True
        user.session_epoch += 1
        _end_sessions(db, name)
        db.add(AuditEntry(at=_now(), username="系统", action=ACTION_USER, detail=f"停用账号 {name}"))


def set_password(home: Path, name: str, password: str) -> None:
    """Change a password; open sessions of the account end at their next request."""
    hashed = _hasher.hash(_check_password(password))
    with _session(home) as db, db.begin():
        user = _get_user(db, name)
        user.password_hash = hashed
        user.session_epoch += 1
        _end_sessions(db, name)
        db.execute(delete(PasswordChangeDue).where(PasswordChangeDue.username == name))
        db.add(AuditEntry(at=_now(), username="系统", action=ACTION_USER, detail=f"修改账号 {name} 的密码"))


def active_account(home: Path, name: str) -> Account | None:
    """The account behind a session, or None when it no longer exists or is disabled."""
    with _session(home) as db:
        user = db.scalar(select(User).where(User.name == name))
        if user is None or user.disabled:
            return None
        return _account(db, user)


def _account(db: Session, user: User) -> Account:
    deputy = db.get(DeputyBinding, user.name) if user.role == "deputy" else None
    return Account(user.name, user.role, user.unit, user.session_epoch, deputy.deputy if deputy else None,
                   db.get(PasswordChangeDue, user.name) is not None)


# ---------------------------------------------------------------- sessions


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _end_sessions(db: Session, name: str) -> None:
    for live in db.scalars(select(LiveSession).where(LiveSession.username == name, LiveSession.ended_at.is_(None))):
        live.ended_at = _now()


def start_session(home: Path, name: str) -> str:
    """A new session of ``name``; returns the token its cookie carries (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    with _session(home) as db, db.begin():
        db.execute(delete(LiveSession).where(LiveSession.started_at < now - SESSION_RETENTION))
        db.add(LiveSession(id=_token_id(token), username=name, started_at=now))
    return token


def session_account(home: Path, token: str) -> Account | None:
    """The account of a live session, or None when the session ended (logout, password change,
    disabling), is unknown, or its account no longer exists or is disabled."""
    if not isinstance(token, str) or not token:
        return None
    with _session(home) as db:
        user = db.scalar(
            select(User).join(LiveSession, LiveSession.username == User.name)
            .where(LiveSession.id == _token_id(token), LiveSession.ended_at.is_(None), User.disabled.is_(False))
        )
        return None if user is None else _account(db, user)


def end_session(home: Path, token: str) -> None:
    """End one session (logout): its cookie, wherever it was copied, no longer works."""
    if not isinstance(token, str) or not token:
        return
    with _session(home) as db, db.begin():
        live = db.get(LiveSession, _token_id(token))
        if live is not None and live.ended_at is None:
            live.ended_at = _now()


def _minutes_left(times: list[datetime], limit: int, window: timedelta, now: datetime) -> int:
    """Minutes until fewer than ``limit`` of ``times`` (oldest first) remain inside the window."""
    if len(times) < limit:
        return 0
    # Once the (len - limit)-th oldest failure leaves the window, only limit - 1 remain.
    frees_at = times[len(times) - limit] + window
    return max(1, math.ceil((frees_at - now).total_seconds() / 60))


def verify_login(
    home: Path,
    name: str,
    password: str,
    address: str | None,
    *,
    max_failed: int | None = None,
    lockout_minutes: int | None = None,
) -> Account | LoginRefused:
    """Check a login, with throttling per account and per remote address, and audit it.

    After ``max_failed`` failures within ``lockout_minutes`` for the account, or from the address,
    further attempts are refused without checking the password until the window has moved on.
    Limits default to the settings under ``home``.
    """
    if max_failed is None or lockout_minutes is None:
        settings = load_settings(home)
        max_failed = settings.max_failed_logins if max_failed is None else max_failed
        lockout_minutes = settings.lockout_minutes if lockout_minutes is None else lockout_minutes
    name = (name or "").strip()[:MAX_NAME_LENGTH]
    address = (address or None) and address[:64]
    now = _now()
    window = timedelta(minutes=lockout_minutes)
    since = now - window

    with _session(home) as db, db.begin():
        db.execute(delete(LoginFailure).where(LoginFailure.at < now - max(FAILURE_RETENTION, window)))
        user = db.scalar(select(User).where(User.name == name)) if name else None

        account_since = since
        if user is not None and user.failures_reset_at is not None:
            account_since = max(since, user.failures_reset_at)
        by_account = db.scalars(
            select(LoginFailure.at).where(LoginFailure.username == name, LoginFailure.at > account_since)
            .order_by(LoginFailure.at)
        ).all()
        by_address = []
        if address:
            by_address = db.scalars(
                select(LoginFailure.at).where(LoginFailure.address == address, LoginFailure.at > since)
                .order_by(LoginFailure.at)
            ).all()
        wait = max(_minutes_left(list(by_account), max_failed, window, now),
                   _minutes_left(list(by_address), max_failed, window, now))
        if wait:
            db.add(AuditEntry(at=now, username=name or "?", action=ACTION_LOGIN_FAILED,
                              detail=f"已锁定, 拒绝尝试 ({wait} 分钟后解除)", address=address))
            return LoginRefused(f"登录失败次数过多, 请 {wait} 分钟后再试", throttled=True, retry_minutes=wait)

        if user is None:
            _verify(_DUMMY_HASH, password or "")
            why, shown = "无此账号", "用户名或密码错误"
        elif not _verify(user.password_hash, password or ""):
            why, shown = "密码错误", "用户名或密码错误"
        elif user.disabled:
            # Said only to someone who knows the password, so it reveals nothing to a guesser.
            why, shown = "账号已停用", "该账号已停用, 请联系管理员"
        else:
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(password)
            user.last_login_at = now
            user.failures_reset_at = now
            db.add(AuditEntry(at=now, username=user.name, action=ACTION_LOGIN, detail="登录成功", address=address))
            return _account(db, user)

        db.add(LoginFailure(username=name or "?", address=address, at=now))
        db.add(AuditEntry(at=now, username=name or "?", action=ACTION_LOGIN_FAILED, detail=why, address=address))
        return LoginRefused(shown)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


# ---------------------------------------------------------------- audit log


def audit(home: Path, username: str, action: str, detail: str, address: str | None = None) -> None:
    """Append one entry to the audit log (who did what). Never pass passwords or personal data."""
    with _session(home) as db, db.begin():
        db.add(AuditEntry(at=_now(), username=username or "?", action=action, detail=detail or "",
                          address=address))


def audit_log(home: Path, limit: int = 200, username: str | None = None, action: str | None = None) -> list[dict]:
    """The newest entries first: id, at (local time), username, action, detail, address."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if username is not None:
        query = query.where(AuditEntry.username == username)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    with _session(home) as db:
        return [
            {"id": e.id, "at": _local(e.at), "username": e.username, "action": e.action,
             "detail": e.detail, "address": e.address}
            for e in db.scalars(query)
        ]


# ---------------------------------------------------------------- 催办 records


def _required_text(value: str | None, label: str, example: str, limit: int) -> str:
    """A text a supervisor must fill in (a 催办 note, who was met …), trimmed; refused with the reason."""
    text = (value or "").strip()
    if not text:
        raise AppStateError(f"请填写{label} (如: {example})")
    if len(text) > limit:
        raise AppStateError(f"{label}不超过 {limit} 个字, 现为 {len(text)} 个字")
    return text


def record_chase(
    home: Path,
    suggestion_id: str | None,
    unit: str | None,
    chase_date: date,
    way: str,
    note: str,
    by: str,
) -> int:
    """Record that a unit (and/or one suggestion) was chased; returns the record's id.

    ``way`` is how (电话, 书面通知, 现场督办, …). The record is also written to the audit log.
    """
    suggestion_id = (suggestion_id or "").strip() or None
    unit = (unit or "").strip() or None
    way = (way or "").strip()
    if suggestion_id is None and unit is None:
        raise AppStateError("催办记录需指明建议或承办单位")
    if not isinstance(chase_date, date):
        raise AppStateError(f"催办日期应为日期, 现为 {chase_date!r}")
    if isinstance(chase_date, datetime):
        chase_date = chase_date.date()
    if not way:
        raise AppStateError("请填写催办方式")
    note = _required_text(note, "催办说明", "已电话提醒, 要求本周内答复", MAX_CHASE_NOTE)
    by = (by or "").strip() or "?"
    with _session(home) as db, db.begin():
        now = _now()
        target = "、".join(part for part in (unit, suggestion_id and f"建议 {suggestion_id}") if part)
        entry = AuditEntry(at=now, username=by, action=ACTION_CHASE,
                           detail=f"{target} {chase_date.isoformat()} {way}")
        db.add(entry)
        db.flush()
        chase = Chase(suggestion_id=suggestion_id, unit=unit, chase_date=chase_date, way=way,
                      note=note, by=by, created_at=now, audit_id=entry.id)
        db.add(chase)
        db.flush()
        return chase.id


def _live_chases():
    """催办 records not withdrawn."""
    return Chase.id.not_in(select(ChaseWithdrawal.chase_id))


def withdraw_chase(home: Path, chase_id: int, by: str, within_minutes: int) -> None:
    """Take back a 催办 record: only its author, only within ``within_minutes`` of recording it.
    The record stays in the database (and in the audit log) but leaves every list and count."""
    with _session(home) as db, db.begin():
        chase = db.get(Chase, chase_id) if isinstance(chase_id, int) and not isinstance(chase_id, bool) else None
        if chase is None or db.get(ChaseWithdrawal, chase_id) is not None:
            raise AppStateError("没有这条催办记录, 或已撤回")
        if chase.by != by:
            raise AppStateError("只有记录人本人可以撤回这条催办记录")
        now = _now()
        if now - chase.created_at > timedelta(minutes=within_minutes):
            raise AppStateError(f"催办记录只能在记录后 {within_minutes} 分钟内撤回")
        target = "、".join(part for part in (chase.unit, chase.suggestion_id and f"建议 {chase.suggestion_id}") if part)
        entry = AuditEntry(at=now, username=by, action=ACTION_CHASE_WITHDRAWN,
                           detail=f"{target} {chase.chase_date.isoformat()} {chase.way} (记录 {chase.id})")
        db.add(entry)
        db.flush()
        db.add(ChaseWithdrawal(chase_id=chase.id, by=by, at=now, audit_id=entry.id))


def chases(home: Path, suggestion_id: str | None = None, unit: str | None = None) -> list[dict]:
    """催办 records (not withdrawn), newest chase first, optionally only for one suggestion and/or one unit."""
    query = select(Chase).where(_live_chases()).order_by(Chase.chase_date.desc(), Chase.id.desc())
    if suggestion_id is not None:
        query = query.where(Chase.suggestion_id == suggestion_id)
    if unit is not None:
        query = query.where(Chase.unit == unit)
    with _session(home) as db:
        return [
            {"id": c.id, "suggestion_id": c.suggestion_id, "unit": c.unit, "chase_date": c.chase_date,
             "way": c.way, "note": c.note, "by": c.by, "created_at": _local(c.created_at)}
            for c in db.scalars(query)
        ]


def chase_revision(home: Path) -> tuple[int, int, int]:
    """(count, newest id, withdrawals) of the 催办 records: changes whenever one is added or withdrawn."""
    with _session(home) as db:
        count, newest = db.execute(select(func.count(), func.max(Chase.id))).one()
        withdrawn = db.scalar(select(func.count()).select_from(ChaseWithdrawal))
        return count, newest or 0, withdrawn


def chase_counts_by_unit(home: Path) -> dict[str, int]:
    """How many times each unit has been chased (records without a unit are not counted)."""
    with _session(home) as db:
        rows = db.execute(
            select(Chase.unit, func.count()).where(Chase.unit.is_not(None), _live_chases()).group_by(Chase.unit)
        ).all()
        return {unit: count for unit, count in rows}


def shown_revision(home: Path) -> tuple:
    """Changes whenever something pages show from the app state changes (催办 and 约谈 records,
    online ratings, the unit directory): part of a stored page's key."""
    with _session(home) as db:
        ratings = db.scalar(select(func.max(OnlineRating.id)))
        directory = db.scalar(select(func.max(UnitContact.updated_at)))
        interviews = db.scalar(select(func.max(Interview.id)))
    return chase_revision(home), ratings or 0, directory.isoformat() if directory else "", interviews or 0


# ---------------------------------------------------------------- 约谈/约见 records


def record_interview(home: Path, suggestion_id: str | None, unit: str | None, interview_date: date, kind: str,
                     with_whom: str, outcome: str, by: str) -> int:
    """Record a 约谈 or 约见 of ``unit`` (about one suggestion, or the unit's handling as a whole):
    the date, whom the congress met (``with_whom``: a name and post, 如 "分管副局长 王某") and what came
    of it. Audited; returns the record's id."""
    suggestion_id = (suggestion_id or "").strip() or None
    unit = (unit or "").strip()
    if not unit:
        raise AppStateError("约谈/约见记录需指明承办单位")
    if not isinstance(interview_date, date):
        raise AppStateError(f"约谈日期应为日期, 现为 {interview_date!r}")
    if isinstance(interview_date, datetime):
        interview_date = interview_date.date()
    if kind not in INTERVIEW_KINDS:
        raise AppStateError(f"请在 {' / '.join(INTERVIEW_KINDS)} 中选择方式")
    with_whom = _required_text(with_whom, "约谈对象", "分管副局长 王某", 100)
    outcome = _required_text(outcome, "约谈结果", "承诺 9 月底前重新答复", MAX_CHASE_NOTE)
    by = (by or "").strip() or "?"
    with _session(home) as db, db.begin():
        now = _now()
        target = unit + (f"、建议 {suggestion_id}" if suggestion_id else "")
        entry = AuditEntry(at=now, username=by, action=ACTION_INTERVIEW,
                           detail=f"{kind} {target} {interview_date.isoformat()} 对象 {with_whom}")
        db.add(entry)
        db.flush()
        interview = Interview(suggestion_id=suggestion_id, unit=unit, interview_date=interview_date, kind=kind,
                              with_whom=with_whom, outcome=outcome, by=by, created_at=now, audit_id=entry.id)
        db.add(interview)
        db.flush()
        return interview.id


def interviews(home: Path, suggestion_id: str | None = None, unit: str | None = None) -> list[dict]:
    """约谈/约见 records, newest first, optionally only about one suggestion and/or one unit."""
    query = select(Interview).order_by(Interview.interview_date.desc(), Interview.id.desc())
    if suggestion_id is not None:
        query = query.where(Interview.suggestion_id == suggestion_id)
    if unit is not None:
        query = query.where(Interview.unit == unit)
    with _session(home) as db:
        return [{"id": i.id, "suggestion_id": i.suggestion_id, "unit": i.unit, "interview_date": i.interview_date,
                 "kind": i.kind, "with_whom": i.with_whom, "outcome": i.outcome, "by": i.by,
                 "created_at": _local(i.created_at)}
                for i in db.scalars(query)]


# ---------------------------------------------------------------- deputies' online ratings


def rate_reply(home: Path, username: str, deputy: str, suggestion_id: str, unit: str,
               reply_rating: str, other_aspect: str, other_rating: str) -> int:
    """Store a deputy's rating of one unit's reply (audited); returns its id. ``reply_rating`` is
    the 答复满意度 (办理结果 / 答复), ``other_rating`` the 办理工作 or 落实 one. The caller checks
    that the suggestion is the deputy's and the unit has replied (the warehouse knows that)."""
    for value in (reply_rating, other_rating):
        if value not in RATING_VALUES:
            raise AppStateError(f"请在 {' / '.join(RATING_VALUES)} 中选择测评结果")
    with _session(home) as db, db.begin():
        now = _now()
        entry = AuditEntry(at=now, username=username, action=ACTION_RATING,
                           detail=f"建议 {suggestion_id} {unit}: 答复 {reply_rating}, {other_aspect} {other_rating}")
        db.add(entry)
        db.flush()
        rating = OnlineRating(suggestion_id=suggestion_id, unit=unit, deputy=deputy, username=username,
                              reply_rating=reply_rating, other_aspect=other_aspect, other_rating=other_rating,
                              rated_at=now,
                              audit_id=entry.id)
        db.add(rating)
        db.flush()
        return rating.id


def online_ratings(home: Path, suggestion_ids: list[str] | None = None) -> list[dict]:
    """Every online rating, oldest first (the newest of a suggestion and unit counts): id,
    suggestion_id, unit, deputy, username, reply_rating, other_aspect, other_rating, rated_at (local time)."""
    query = select(OnlineRating).order_by(OnlineRating.id)
    if suggestion_ids is not None:
        query = query.where(OnlineRating.suggestion_id.in_(suggestion_ids))
    with _session(home) as db:
        return [
            {"id": r.id, "suggestion_id": r.suggestion_id, "unit": r.unit, "deputy": r.deputy,
             "username": r.username, "reply_rating": r.reply_rating, "other_aspect": r.other_aspect,
             "other_rating": r.other_rating,
             "rated_at": _local(r.rated_at)}
            for r in db.scalars(query)
        ]


# ---------------------------------------------------------------- unit directory


def replace_unit_directory(home: Path, entries: list[dict], by: str) -> int:
    """Replace the unit directory with ``entries`` (unit, liaison, phone, push_target); audited.
    Returns how many units it holds."""
    units = [(e.get("unit") or "").strip() for e in entries]
    if not entries or not all(units):
        raise AppStateError("单位通讯录为空, 或有行缺少单位名称")
    twice = sorted({u for u in units if units.count(u) > 1})
    if twice:
        raise AppStateError(f"单位通讯录中 {'、'.join(twice)} 出现了不止一次")
    with _session(home) as db, db.begin():
        now = _now()
        db.execute(delete(UnitContact))
        for unit, e in zip(units, entries):
            db.add(UnitContact(unit=unit, liaison=e.get("liaison") or None, phone=e.get("phone") or None,
                               push_target=e.get("push_target") or None, updated_by=by, updated_at=now))
        db.add(AuditEntry(at=now, username=by, action=ACTION_DIRECTORY, detail=f"更新单位通讯录 ({len(units)} 个单位)"))
    return len(units)


def unit_directory(home: Path) -> dict[str, dict]:
    """Unit → {unit, liaison, phone, push_target} (personal data: supervisors only)."""
    with _session(home) as db:
        return {c.unit: {"unit": c.unit, "liaison": c.liaison, "phone": c.phone, "push_target": c.push_target}
                for c in db.scalars(select(UnitContact).order_by(UnitContact.unit))}


# ---------------------------------------------------------------- pushed alerts


# Keys looked up per query: SQLite caps a statement's parameters.
ALERT_KEYS_PER_QUERY = 500


def _sent_among(db: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), ALERT_KEYS_PER_QUERY):
        found.update(db.scalars(select(SentAlert.key).where(SentAlert.key.in_(keys[start:start + ALERT_KEYS_PER_QUERY]))))
    return found


def alerts_sent(home: Path, keys: list[str]) -> set[str]:
    """Which of ``keys`` were pushed before."""
    with _session(home) as db:
        return _sent_among(db, keys)


def mark_alerts_sent(home: Path, keys: list[str], target: str) -> None:
    """Remember that ``keys`` reached ``target``: they are never pushed again."""
    with _session(home) as db, db.begin():
        now = _now()
        known = _sent_among(db, keys)
        db.add_all(SentAlert(key=key, target=target, sent_at=now) for key in dict.fromkeys(keys) if key not in known)

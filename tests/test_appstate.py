"""duban.core.appstate: accounts, login throttling, audit log and 催办 records, on a real SQLite file."""

from datetime import date, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.core import appstate
from duban.core.appstate import Account, AppStateError, LoginRefused
from tests.conftest import PASSWORD, UNIT_PASSWORD

T0 = datetime(2025, 3, 1, 9, 0, 0)


@pytest.fixture
def clock(monkeypatch):
    """A clock the test moves: clock.now is what appstate sees as the current (UTC) time."""

    class Clock:
        now = T0

        def advance(self, **kw):
            self.now += timedelta(**kw)

    c = Clock()
    monkeypatch.setattr(appstate, "_now", lambda: c.now)
    return c


def login(home, name, password, address="10.0.0.1"):
    return appstate.verify_login(home, name, password, address, max_failed=3, lockout_minutes=15)


def test_database_is_app_db_under_home_and_engine_is_cached(home):
    assert (home / "app.db").is_file()
    assert appstate.engine_for(home) is appstate.engine_for(home / ".." / "home")


def test_password_is_stored_as_argon2_hash_not_the_password(home):
    with Session(appstate.engine_for(home)) as db:
        stored = db.scalar(select(appstate.User.password_hash).where(appstate.User.name == "alice"))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert PasswordHasher().verify(stored, PASSWORD)


def test_list_users_shows_accounts_without_hashes(home):
    users = appstate.list_users(home)
    assert [u["name"] for u in users] == ["alice", "jyj"]
    assert users[1]["role"] == "unit" and users[1]["unit"] == "教育局" and users[1]["role_label"] == "承办单位"
    assert users[0]["unit"] is None and users[0]["disabled"] is False
    assert all("password_hash" not in u and PASSWORD not in str(u) for u in users)


@pytest.mark.parametrize(
    "name, role, unit, password, message",
    [
        ("x", "admin", None, PASSWORD, "角色应为"),
        ("x", "unit", None, PASSWORD, "--unit"),
        ("x", "unit", "  ", PASSWORD, "--unit"),
        ("x", "leader", "教育局", PASSWORD, "不应指定 --unit"),
        ("alice", "leader", None, PASSWORD, "已存在"),
        ("x", "leader", None, "short", "密码至少 8 个字符"),
        ("", "leader", None, PASSWORD, "用户名不能为空"),
        ("a b", "leader", None, PASSWORD, "不可用"),
    ],
)
def test_add_user_refuses_bad_accounts(home, name, role, unit, password, message):
    with pytest.raises(AppStateError, match=message):
        appstate.add_user(home, name, role, unit, password)
    assert len(appstate.list_users(home)) == 2


def test_verify_login_success_returns_account_and_audits(home, clock):
    result = login(home, "jyj", UNIT_PASSWORD)
    assert result == Account("jyj", "unit", "教育局", 0)
    entry = appstate.audit_log(home, limit=1)[0]
    assert (entry["username"], entry["action"], entry["address"]) == ("jyj", "登录", "10.0.0.1")
    assert appstate.list_users(home)[1]["last_login_at"] is not None


def test_wrong_password_and_unknown_user_get_the_same_answer_and_are_audited(home, clock):
    wrong = login(home, "alice", "not the password")
    unknown = login(home, "nobody", "whatever12")
    assert wrong == unknown == LoginRefused("用户名或密码错误")
    failures = appstate.audit_log(home, action="登录失败")
    assert [(e["username"], e["detail"]) for e in failures] == [("nobody", "无此账号"), ("alice", "密码错误")]
    # The password tried never reaches the log.
    assert all("not the password" not in str(e) for e in appstate.audit_log(home))


def test_disabled_user_cannot_log_in(home, clock):
    appstate.disable_user(home, "alice")
    result = login(home, "alice", PASSWORD)
    assert isinstance(result, LoginRefused) and "停用" in result.reason
    assert appstate.active_account(home, "alice") is None
    assert appstate.list_users(home)[0]["disabled"] is True
    # Its session epoch moved on too, so an old session cookie never matches again.
    with Session(appstate.engine_for(home)) as db:
        assert db.scalar(select(appstate.User.session_epoch).where(appstate.User.name == "alice")) == 1


def test_disable_and_set_password_of_unknown_user_are_refused(home):
    with pytest.raises(AppStateError, match="没有名为 ghost 的账号"):
        appstate.disable_user(home, "ghost")
    with pytest.raises(AppStateError, match="没有名为 ghost 的账号"):
        appstate.set_password(home, "ghost", "new-password")


def test_set_password_replaces_old_password_and_bumps_session_epoch(home, clock):
    appstate.set_password(home, "alice", "a new password")
    assert login(home, "alice", PASSWORD) == LoginRefused("用户名或密码错误")
    assert login(home, "alice", "a new password") == Account("alice", "supervisor", None, 1)
    assert appstate.active_account(home, "alice").session_epoch == 1


def test_account_locked_after_max_failures_then_released(home, clock):
    # Three failures from three addresses: the account is locked whatever the address.
    for i in range(3):
        assert login(home, "alice", "wrong-password", address=f"10.0.0.{i}").throttled is False
        clock.advance(minutes=1)
    # Failures at 09:00, 09:01, 09:02; now 09:03. The lock ends when 09:00 + 15 min passes.
    locked = login(home, "alice", PASSWORD, address="10.9.9.9")
    assert locked == LoginRefused("登录失败次数过多, 请 12 分钟后再试", throttled=True, retry_minutes=12)
    # Another account from a fresh address is not affected by alice's lock.
    assert isinstance(login(home, "jyj", UNIT_PASSWORD, address="10.9.9.8"), Account)
    clock.advance(minutes=10)  # 09:13: two minutes left
    assert login(home, "alice", PASSWORD, address="10.9.9.9").reason == "登录失败次数过多, 请 2 分钟后再试"
    clock.advance(minutes=2, seconds=1)  # 09:15:01: the 09:00 failure has left the window
    assert login(home, "alice", PASSWORD, address="10.9.9.9") == Account("alice", "supervisor", None, 0)


def test_lock_is_not_extended_by_refused_attempts(home, clock):
    for _ in range(3):
        login(home, "alice", "wrong-password")
    for _ in range(4):  # refused at 3, 6, 9 and 12 minutes
        clock.advance(minutes=3)
        assert login(home, "alice", PASSWORD).throttled
    clock.advance(minutes=4)  # 16 minutes after the failures
    assert isinstance(login(home, "alice", PASSWORD), Account)


def test_address_locked_after_max_failures_across_accounts(home, clock):
    for name in ("a1", "a2", "a3"):
        login(home, name, "wrong-password", address="10.6.6.6")
    locked = login(home, "alice", PASSWORD, address="10.6.6.6")
    assert locked.throttled and locked.reason == "登录失败次数过多, 请 15 分钟后再试"
    # The same account from another address still works: the lock is on the address.
    assert isinstance(login(home, "alice", PASSWORD, address="10.7.7.7"), Account)


def test_success_forgives_the_accounts_earlier_failures(home, clock):
    login(home, "alice", "wrong-password", address="10.0.0.1")
    login(home, "alice", "wrong-password", address="10.0.0.2")
    assert isinstance(login(home, "alice", PASSWORD, address="10.0.0.3"), Account)
    login(home, "alice", "wrong-password", address="10.0.0.4")
    login(home, "alice", "wrong-password", address="10.0.0.5")
    # Four failures in the window but only two since the success: not locked.
    assert isinstance(login(home, "alice", PASSWORD, address="10.0.0.6"), Account)


def test_throttle_limits_default_to_settings_under_home(home, clock):
    (home / "settings.toml").write_text("[auth]\nmax_failed_logins = 2\nlockout_minutes = 5\n", encoding="utf-8")
    for _ in range(2):
        appstate.verify_login(home, "alice", "wrong-password", "10.0.0.1")
    result = appstate.verify_login(home, "alice", PASSWORD, "10.0.0.2")
    assert result.reason == "登录失败次数过多, 请 5 分钟后再试"


def test_audit_log_newest_first_with_limit_and_filters(home, clock):
    appstate.audit(home, "alice", "导出", "催办清单 2024 年")
    clock.advance(seconds=1)
    appstate.audit(home, "jyj", "导出", "单位明细", address="10.1.1.1")
    newest = appstate.audit_log(home, limit=2)
    assert [(e["username"], e["detail"]) for e in newest] == [("jyj", "单位明细"), ("alice", "催办清单 2024 年")]
    assert [e["username"] for e in appstate.audit_log(home, username="alice")] == ["alice"]
    assert newest[0]["at"].tzinfo is not None


def test_chases_round_trip_filters_and_counts(home, clock):
    first = appstate.record_chase(home, "十八届一次/12", "教育局", date(2024, 5, 6), "电话", "请尽快答复", "alice")
    appstate.record_chase(home, None, "教育局", date(2024, 6, 1), "书面通知", "发函督促", "alice")
    appstate.record_chase(home, "十八届一次/30", "卫健委", date(2024, 5, 20), "现场督办", "到场了解", "bob")
    appstate.record_chase(home, "十八届一次/31", None, date(2024, 5, 21), "电话", "已提醒", "bob")

    everything = appstate.chases(home)
    # Newest chase date first.
    assert [c["chase_date"] for c in everything] == [date(2024, 6, 1), date(2024, 5, 21), date(2024, 5, 20),
                                                     date(2024, 5, 6)]
    one = appstate.chases(home, suggestion_id="十八届一次/12")
    assert len(one) == 1
    assert {k: one[0][k] for k in ("id", "suggestion_id", "unit", "chase_date", "way", "note", "by")} == {
        "id": first, "suggestion_id": "十八届一次/12", "unit": "教育局", "chase_date": date(2024, 5, 6),
        "way": "电话", "note": "请尽快答复", "by": "alice"}
    assert [c["way"] for c in appstate.chases(home, unit="教育局")] == ["书面通知", "电话"]
    assert appstate.chases(home, suggestion_id="十八届一次/12", unit="卫健委") == []
    # 教育局 twice, 卫健委 once; the record without a unit is not counted.
    assert appstate.chase_counts_by_unit(home) == {"教育局": 2, "卫健委": 1}
    assert [e["detail"] for e in appstate.audit_log(home, action="催办登记")][-1] == \
        "教育局、建议 十八届一次/12 2024-05-06 电话"


@pytest.mark.parametrize(
    "suggestion_id, unit, chase_date, way, message",
    [
        (None, None, date(2024, 5, 6), "电话", "需指明建议或承办单位"),
        ("十八届一次/12", None, date(2024, 5, 6), "电话", "请填写催办说明"),
        ("", " ", date(2024, 5, 6), "电话", "需指明建议或承办单位"),
        ("十八届一次/12", None, "2024-05-06", "电话", "催办日期应为日期"),
        ("十八届一次/12", None, date(2024, 5, 6), " ", "请填写催办方式"),
    ],
)
def test_record_chase_refuses_incomplete_records(home, suggestion_id, unit, chase_date, way, message):
    with pytest.raises(AppStateError, match=message):
        appstate.record_chase(home, suggestion_id, unit, chase_date, way, "", "alice")
    assert appstate.chases(home) == []


def test_record_chase_refuses_an_overlong_note(home):
    with pytest.raises(AppStateError, match="不超过 500 个字"):
        appstate.record_chase(home, "十八届一次/12", None, date(2024, 5, 6), "电话", "催" * 2_000_000, "alice")
    assert appstate.chases(home) == []


def test_a_chase_is_withdrawn_by_its_author_within_the_minutes(home, clock):
    kept = appstate.record_chase(home, "十八届一次/12", "教育局", date(2024, 5, 6), "电话", "请尽快答复", "alice")
    wrong = appstate.record_chase(home, "十八届一次/12", "教育局", date(2024, 5, 7), "电话", "误记", "alice")
    before = appstate.chase_revision(home)
    with pytest.raises(AppStateError, match="只有记录人本人"):
        appstate.withdraw_chase(home, wrong, "bob", within_minutes=10)
    clock.advance(minutes=9)
    appstate.withdraw_chase(home, wrong, "alice", within_minutes=10)
    assert [c["id"] for c in appstate.chases(home)] == [kept]
    assert appstate.chase_counts_by_unit(home) == {"教育局": 1}
    assert appstate.chase_revision(home) != before
    assert appstate.audit_log(home, limit=1)[0]["action"] == "撤回催办"
    with pytest.raises(AppStateError, match="已撤回"):
        appstate.withdraw_chase(home, wrong, "alice", within_minutes=10)
    clock.advance(minutes=2)
    with pytest.raises(AppStateError, match="10 分钟内"):
        appstate.withdraw_chase(home, kept, "alice", within_minutes=10)


def test_a_session_ends_at_logout_and_with_its_accounts_password(home, clock):
    first = appstate.start_session(home, "alice")
    second = appstate.start_session(home, "alice")
    assert appstate.session_account(home, first).username == "alice"
    appstate.end_session(home, first)
    assert appstate.session_account(home, first) is None
    assert appstate.session_account(home, second).role == "supervisor"
    appstate.set_password(home, "alice", "another password")
    assert appstate.session_account(home, second) is None
    unit = appstate.start_session(home, "jyj")
    appstate.disable_user(home, "jyj")
    assert appstate.session_account(home, unit) is None
    assert appstate.session_account(home, "made-up") is None
    with Session(appstate.engine_for(home)) as db:  # only the token's hash is stored
        assert db.scalar(select(appstate.LiveSession.id).where(appstate.LiveSession.id == second)) is None

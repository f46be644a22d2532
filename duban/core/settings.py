"""Settings: shipped defaults (duban/core/defaults/settings.toml) overlaid with <home>/settings.toml.

The settings are the configuration object made at the edge (the CLI, the server, the WSGI factory:
duban/environment.py reads DUBAN_HOME there) and passed down; ``Settings.home`` names the operator's
folder they were read from, where the alias tables and the hand-score file live too. Nothing below
the edge reads the environment.

Every value is validated once, on load, with a Chinese message that names the key, so a typo in
the settings file stops duban with a clear reason instead of producing wrong figures.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULTS_DIR = Path(__file__).with_name("defaults")
DEADLINE_RULES = ("from_assignment", "from_session_close", "fixed_date")
RESULT_SCHEMES = ("ABCD", "ABC", "甲乙丙")
# What a deputy rates online about each reply ([deputies] rating_aspects); of each pair, the one in
# REPLY_ASPECTS is the congress's 答复满意度 (the evaluation the figures count), the other 落实 / 办理工作.
RATING_ASPECTS = (("办理工作", "办理结果"), ("答复", "落实"))
REPLY_ASPECTS = ("办理结果", "答复")
RATINGS = ("result", "work", "implementation")  # 办理结果 / 办理工作 / 落实 (docs/domain.md, the three ratings)


class SettingsError(ValueError):
    """A settings file that cannot be used; the message is for the operator (Chinese)."""


@dataclass(frozen=True)
class DeadlineSettings:
    rule: str = "from_assignment"
    months: int = 3
    fixed_month_day: str = "06-30"
    max_extension_months: int = 6
    due_soon_days: int = 15
    co_handling_months: int = 1


@dataclass(frozen=True)
class RankingSettings:
    weights: dict[str, float] = field(default_factory=dict)
    prior_strength: float = 5.0
    workload_tiers: tuple[int, ...] = (5, 15)


@dataclass(frozen=True)
class FollowupSettings:
    """跟踪落实: which rating feeds the headline 满意率, the 重办 deadline, the leaders' protocol order."""
    headline_rating: str = "result"
    rehandle_days: int = 30
    leaders: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportSettings:
    """The 通报 (exports/report.py): when a unit counts as 逾期较多, and the document's 版头 and 版记
    (GB/T 9704). Empty texts are left out, or derived from the data (the body's name)."""
    many_overdue: int = 3  # 逾期较多: at least this many overdue items (件次)
    issuer_mark: str = ""  # 发文机关标志 (red, top); "" → the signing body
    doc_number: str = ""  # 发文字号, e.g. 某人代工〔2024〕5号; "" → none
    signer: str = ""  # 发文机关署名; "" → {place}人大常委会代表工作委员会
    copy_to: str = ""  # 抄送机关; "" → no 抄送 line
    printed_by: str = ""  # 印发机关; "" → the signing body


NOTIFY_KINDS = ("webhook", "dingtalk", "wecom", "mail")  # generic JSON, 钉钉 / 企业微信 group robots, SMTP
NOTIFY_FORMATS = ("text", "markdown")
# The group robots' API hosts: an address on them is sent in that robot's message format.
ROBOT_HOSTS = {"oapi.dingtalk.com": "dingtalk", "qyapi.weixin.qq.com": "wecom"}
_MAIL_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


@dataclass(frozen=True)
class NotifyTarget:
    """Where a push goes: a named target of [notify.targets], or an address written in the unit directory."""
    name: str
    kind: str
    url: str = field(default="", repr=False)  # webhook kinds; may carry an access token
    to: tuple[str, ...] = ()  # mail
    secret: str = field(default="", repr=False)  # 钉钉 加签 (the robot's SEC… secret)
    format: str = "text"


@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""
    port: int = 25
    starttls: bool = False
    user: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""


@dataclass(frozen=True)
class NotifySettings:
    """duban notify: the named targets, who receives the supervisors' digest, the mail server."""
    targets: dict[str, NotifyTarget] = field(default_factory=dict)
    supervisors: tuple[str, ...] = ()
    smtp: SmtpSettings = SmtpSettings()
    timeout_seconds: int = 10

    def target(self, value: str | None) -> NotifyTarget | None:
        """The target ``value`` names: a name of [notify.targets], else a mail address or an http(s)
        address (a group robot's when on its host, else the generic webhook); None when neither."""
        value = (value or "").strip()
        if value in self.targets:
            return self.targets[value]
        if _MAIL_ADDRESS.match(value):
            return NotifyTarget(name=value, kind="mail", to=(value,))
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.hostname:
            return NotifyTarget(name=parts.hostname, kind=ROBOT_HOSTS.get(parts.hostname, "webhook"), url=value)
        return None


@dataclass(frozen=True)
class Settings:
    deadline: DeadlineSettings
    session_closing: dict[str, date]
    result_scheme: str
    city_names: tuple[str, ...]
    keep_versions: int
    max_file_mb: float
    max_rows: int
    parse_memory_mb: int
    parse_seconds: int
    hold_drop_items: int
    hold_drop_percent: float
    hold_unit_rejected_share: float
    ranking: RankingSettings
    rotate_seconds: int
    query_memory_mb: int
    query_threads: int
    idle_timeout_minutes: int
    max_failed_logins: int
    lockout_minutes: int
    max_request_mb: float
    max_attached_states: int
    max_state_files: int
    state_build_seconds: int
    chase_withdraw_minutes: int
    rating_aspects: tuple[str, str] = RATING_ASPECTS[0]
    # Push targets carry addresses and passwords: not part of what derived data is keyed on (repr).
    notify: NotifySettings = field(default=NotifySettings(), repr=False, compare=False)
    followup: FollowupSettings = FollowupSettings()
    report: ReportSettings = ReportSettings()
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    # The operator's folder these settings were read from (None: the shipped defaults only). Not
    # part of what the settings say: derived-data keys (repr) do not name the folder.
    home: Path | None = field(repr=False, compare=False, default=None)


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"设置文件 {path} 格式有误: {exc}") from exc


def _int(data: dict, section: str, key: str, low: int, high: int) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SettingsError(f"设置 [{section}] {key} 应为 {low} 到 {high} 之间的整数, 现为 {value!r}")
    return value


def _number(data: dict, section: str, key: str, low: float, high: float) -> float:
    value = data.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= high:
        raise SettingsError(f"设置 [{section}] {key} 应为 {low} 到 {high} 之间的数, 现为 {value!r}")
    return float(value)


def _choice(data: dict, section: str, key: str, choices: tuple[str, ...]) -> str:
    value = data.get(key)
    if value not in choices:
        raise SettingsError(f"设置 [{section}] {key} 应为 {' / '.join(choices)} 之一, 现为 {value!r}")
    return value


def _month_day(value: Any) -> str:
    try:
        date.fromisoformat(f"2024-{value}")
    except (TypeError, ValueError):
        raise SettingsError(f"设置 [deadline] fixed_month_day 应为 月-日 (如 06-30), 现为 {value!r}") from None
    return value


def _rating_aspects(section: dict) -> tuple[str, str]:
    for pair in RATING_ASPECTS:
        if sorted(section.get("rating_aspects") or ()) == sorted(pair):
            return pair
    shown = " 或 ".join("[" + ", ".join(f'"{a}"' for a in pair) + "]" for pair in RATING_ASPECTS)
    raise SettingsError(f"设置 [deputies] rating_aspects 应为 {shown}, 现为 {section.get('rating_aspects')!r}")


def _report(section: dict) -> ReportSettings:
    texts = {}
    for key in ("issuer_mark", "doc_number", "signer", "copy_to", "printed_by"):
        value = section.get(key, "")
        if not isinstance(value, str) or len(value) > 200:
            raise SettingsError(f"设置 [report] {key} 应为不超过200字的文字, 现为 {value!r}")
        texts[key] = value.strip()
    return ReportSettings(many_overdue=_int(section, "report", "many_overdue", 1, 10_000), **texts)


def _text(section: dict, name: str, key: str, limit: int = 500) -> str:
    value = section.get(key, "")
    if not isinstance(value, str) or len(value) > limit:
        raise SettingsError(f"设置 [{name}] {key} 应为不超过{limit}字的文字, 现为 {value!r}")
    return value.strip()


def _notify(section: dict) -> NotifySettings:
    targets = {}
    for name, spec in (section.get("targets") or {}).items():
        where = f"notify.targets.{name}"
        if not isinstance(spec, dict):
            raise SettingsError(f"设置 [{where}] 应为 {{ kind = …, url = … }} 形式, 现为 {spec!r}")
        kind = _choice(spec, where, "kind", NOTIFY_KINDS)
        url, to = _text(spec, where, "url", 2000), spec.get("to", [])
        if not (isinstance(to, list) and all(isinstance(a, str) and _MAIL_ADDRESS.match(a.strip()) for a in to)):
            raise SettingsError(f"设置 [{where}] to 应为邮箱地址的列表, 现为 {to!r}")
        if kind == "mail" and not to:
            raise SettingsError(f"设置 [{where}] 是邮件目标, 请在 to 中写明收件人邮箱")
        if kind != "mail" and urlsplit(url).scheme not in ("http", "https"):
            raise SettingsError(f"设置 [{where}] url 应为 http:// 或 https:// 开头的地址, 现为 {url!r}")
        targets[name] = NotifyTarget(name=name, kind=kind, url=url, to=tuple(a.strip() for a in to),
                                     secret=_text(spec, where, "secret"),
                                     format=_choice({"format": "text", **spec}, where, "format", NOTIFY_FORMATS))
    smtp = section.get("smtp", {})
    starttls = smtp.get("starttls", False)
    if not isinstance(starttls, bool):
        raise SettingsError(f"设置 [notify.smtp] starttls 应为 true 或 false, 现为 {starttls!r}")
    notify = NotifySettings(
        targets=targets,
        smtp=SmtpSettings(host=_text(smtp, "notify.smtp", "host"), port=_int(smtp, "notify.smtp", "port", 1, 65535),
                          starttls=starttls, user=_text(smtp, "notify.smtp", "user"),
                          password=_text(smtp, "notify.smtp", "password"), sender=_text(smtp, "notify.smtp", "sender")),
        timeout_seconds=_int(section, "notify", "timeout_seconds", 1, 600),
    )
    supervisors = section.get("supervisors", [])
    if not (isinstance(supervisors, list) and all(isinstance(s, str) and notify.target(s) for s in supervisors)):
        raise SettingsError("设置 [notify] supervisors 应为推送目标的列表 ([notify.targets] 中的名称、邮箱或 http(s) 地址), "
                            f"现为 {supervisors!r}")
    mail = any(t is not None and t.kind == "mail" for t in [*targets.values(), *map(notify.target, supervisors)])
    if mail and not (notify.smtp.host and (notify.smtp.sender or notify.smtp.user)):
        raise SettingsError("设置中有邮件推送目标, 请在 [notify.smtp] 中写明邮件服务器 host 和发件人 sender")
    return replace(notify, supervisors=tuple(s.strip() for s in supervisors))


def _validate(data: dict) -> Settings:
    dl = data.get("deadline", {})
    deadline = DeadlineSettings(
        rule=_choice(dl, "deadline", "rule", DEADLINE_RULES),
        months=_int(dl, "deadline", "months", 1, 24),
        fixed_month_day=_month_day(dl.get("fixed_month_day")),
        max_extension_months=_int(dl, "deadline", "max_extension_months", 1, 36),
        due_soon_days=_int(dl, "deadline", "due_soon_days", 0, 365),
        co_handling_months=_int(dl, "deadline", "co_handling_months", 1, 12),
    )
    closing: dict[str, date] = {}
    for session, day in data.get("sessions", {}).items():
        try:
            closing[session] = day if isinstance(day, date) else date.fromisoformat(str(day))
        except ValueError:
            raise SettingsError(f"设置 [sessions] {session} 应为日期 (如 2024-01-20), 现为 {day!r}") from None

    rk = data.get("ranking", {})
    weights = rk.get("weights", {})
    for key in weights:
        _number(weights, "ranking.weights", key, 0, 100)
    total = sum(weights.values())
    if not 99.5 <= total <= 100.5:
        raise SettingsError(f"设置 [ranking.weights] 各项权重合计应为 100, 现为 {total:g}")
    fairness = rk.get("fairness", {})
    tiers = fairness.get("workload_tiers", [5, 15])
    if not (isinstance(tiers, list) and all(isinstance(t, int) and t > 0 for t in tiers) and tiers == sorted(set(tiers))):
        raise SettingsError(f"设置 [ranking.fairness] workload_tiers 应为递增的正整数列表, 现为 {tiers!r}")
    ranking = RankingSettings(
        weights={k: float(v) for k, v in weights.items()},
        prior_strength=_number(fairness, "ranking.fairness", "prior_strength", 0, 1000),
        workload_tiers=tuple(tiers),
    )

    results = data.get("results", {})
    etl = data.get("etl", {})
    cities = etl.get("city_names", [])
    if not (isinstance(cities, list) and all(isinstance(c, str) and c for c in cities)):
        raise SettingsError(f"设置 [etl] city_names 应为名称列表, 现为 {cities!r}")
    followup = data.get("followup", {})
    leaders = followup.get("leaders", [])
    if not (isinstance(leaders, list) and all(isinstance(name, str) and name.strip() for name in leaders)):
        raise SettingsError(f"设置 [followup] leaders 应为常委会领导姓名的列表 (按排序), 现为 {leaders!r}")
    meeting = data.get("meeting", {})
    auth = data.get("auth", {})
    serve = data.get("serve", {})
    return Settings(
        deadline=deadline,
        session_closing=closing,
        result_scheme=_choice(results, "results", "scheme", RESULT_SCHEMES),
        city_names=tuple(cities),
        keep_versions=_int(etl, "etl", "keep_versions", 1, 100),
        max_file_mb=_number(etl, "etl", "max_file_mb", 0.001, 2048),
        max_rows=_int(etl, "etl", "max_rows", 1, 10_000_000),
        parse_memory_mb=_int(etl, "etl", "parse_memory_mb", 256, 1024 * 1024),
        parse_seconds=_int(etl, "etl", "parse_seconds", 1, 24 * 3600),
        hold_drop_items=_int(etl, "etl", "hold_drop_items", 1, 10_000_000),
        hold_drop_percent=_number(etl, "etl", "hold_drop_percent", 0, 100),
        hold_unit_rejected_share=_number(etl, "etl", "hold_unit_rejected_share", 0, 1),
        ranking=ranking,
        rotate_seconds=_int(meeting, "meeting", "rotate_seconds", 3, 600),
        query_memory_mb=_int(serve, "serve", "query_memory_mb", 64, 1024 * 1024),
        query_threads=_int(serve, "serve", "query_threads", 1, 256),
        idle_timeout_minutes=_int(auth, "auth", "idle_timeout_minutes", 1, 24 * 60),
        max_failed_logins=_int(auth, "auth", "max_failed_logins", 1, 100),
        lockout_minutes=_int(auth, "auth", "lockout_minutes", 1, 24 * 60),
        max_request_mb=_number(serve, "serve", "max_request_mb", 0.01, 2048),
        max_attached_states=_int(serve, "serve", "max_attached_states", 1, 256),
        max_state_files=_int(serve, "serve", "max_state_files", 2, 10_000),
        state_build_seconds=_int(serve, "serve", "state_build_seconds", 1, 24 * 3600),
        chase_withdraw_minutes=_int(data.get("chase", {}), "chase", "withdraw_minutes", 0, 24 * 60),
        rating_aspects=_rating_aspects(data.get("deputies", {})),
        followup=FollowupSettings(
            headline_rating=_choice(followup, "followup", "headline_rating", RATINGS),
            rehandle_days=_int(followup, "followup", "rehandle_days", 1, 365),
            leaders=tuple(name.strip() for name in leaders),
        ),
        report=_report(data.get("report", {})),
        notify=_notify(data.get("notify", {})),
        raw=data,
    )


def load_settings(home: Path | None = None, override: dict | None = None) -> Settings:
    """Defaults, then <home>/settings.toml (no home: the defaults only), then ``override`` (tests),
    validated."""
    data = _read_toml(DEFAULTS_DIR / "settings.toml")
    if home is not None and (Path(home) / "settings.toml").exists():
        data = _merge(data, _read_toml(Path(home) / "settings.toml"))
    if override:
        data = _merge(data, override)
    return replace(_validate(data), home=None if home is None else Path(home))

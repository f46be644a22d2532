"""duban notify: each unit's reminder (its items newly 临期 or 逾期, and its 重办 newly overdue) to
the unit's push target in the unit directory, and the supervisors' digest (new overdue, new 不满意,
key items lagging) to the targets of [notify] supervisors.

Every list and figure is the indicator layer's (Indicators.overdue, rehandle_list, unsatisfied,
overdue_summary, rehandling). An alert is pushed once: its key names the unit, the suggestion,
the kind and the date it is about (the deadline, the 重办's due day, the evaluation's date), and the
app state remembers the keys a target accepted (duban.core.appstate.mark_alerts_sent). A later
deadline (an extension) is a new alert; an item that turns from 临期 to 逾期 is one too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from duban.core import appstate
from duban.core.settings import NotifySettings, NotifyTarget
from etl.directory import directory_by_unit
from etl.names import one_line
from exports.push import Push, PushFailed, deliver
from exports.xlsx import as_rows
from warehouse.formatting import format_date

SUPERVISORS = "督办人员"
TITLE_CHARS = 40  # a suggestion's title in a line, cut here
DIGEST_LINES = 30  # per section of the digest; the rest is counted ("另有 n 条")


@dataclass(frozen=True)
class Alert:
    key: str
    line: str
    item: dict  # the alert as data, for the generic webhook


@dataclass(frozen=True)
class Outgoing:
    """One push to one target, and the alerts it carries (marked sent once the target accepts it)."""
    push: Push
    target: NotifyTarget
    keys: tuple[str, ...]


@dataclass
class NotifyReport:
    as_of: date
    outgoing: list[Outgoing]
    sent: list[Outgoing] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    units_without_target: list[str] = field(default_factory=list)  # units with new alerts and nowhere to send them


def _title(r: dict) -> str:
    title = one_line(r.get("title") or "")
    return title if len(title) <= TITLE_CHARS else title[:TITLE_CHARS] + "…"


def _item(r: dict) -> str:
    return f"{r['session']} 第{r['number']}号《{_title(r)}》"


def _deadline_alert(r: dict, kind: str, digest: str | None = None) -> Alert:
    """An overdue() row (one lead assignment 逾期 or 临期) as an alert: for its unit, or with
    ``digest`` (the supervisors' target) for the digest, where ``kind`` may be 重点逾期 / 重点临期."""
    late = f"已逾期 {r['days_overdue']} 天" if r["status"] == "逾期" else f"还有 {r['days_to_deadline']} 天"
    mark = (f"({r['key_leader']}督办) " if r.get("key_leader") else "") if kind.startswith("重点") else (
        "【重点】" if r.get("is_key") else "")
    line = f"· {r['status']} {mark}{_item(r)} 办理期限 {format_date(r['deadline'])}, {late}"
    key = f"{r['unit']}/{r['suggestion_id']}/{kind}/{r['deadline']}"
    return Alert(key=f"{digest}/{key}" if digest else key, line=f"{line} — {r['unit']}" if digest else line,
                 item={"kind": kind, "unit": r["unit"], "suggestion": f"{r['session']}-{r['number']}",
                       "title": r.get("title"), "deadline": r["deadline"], "days_overdue": r.get("days_overdue"),
                       "days_to_deadline": r.get("days_to_deadline"), "key": bool(r.get("is_key"))})


def _rehandle_alert(r: dict) -> Alert:
    return Alert(key=f"{r['unit']}/{r['suggestion_id']}/重办逾期/{r['due_date']}",
                 line=f"· 重办逾期 {_item(r)} 测评不满意 ({format_date(r['unsatisfied_date'])}) 后应于 "
                      f"{format_date(r['due_date'])} 前重新答复, 已逾期 {r['days_overdue']} 天",
                 item={"kind": "重办逾期", "unit": r["unit"], "suggestion": f"{r['session']}-{r['number']}",
                       "title": r.get("title"), "deadline": r["due_date"], "days_overdue": r.get("days_overdue")})


def _unsatisfied_alert(digest: str, r: dict) -> Alert:
    return Alert(key=f"{digest}/{r['unsatisfied_units']}/{r['suggestion_id']}/不满意/{r['evaluation_date']}",
                 line=f"· 不满意 {_item(r)} — {r['unsatisfied_units']} (测评 {format_date(r['evaluation_date'])})",
                 item={"kind": "不满意", "unit": r["unsatisfied_units"], "suggestion": f"{r['session']}-{r['number']}",
                       "title": r.get("title"), "evaluation_date": r["evaluation_date"]})


def unit_alerts(ind: Any, scope: Any) -> dict[str, list[Alert]]:
    """Every unit's current alerts: its lead items 逾期 or 临期 (most overdue first), then its 重办逾期."""
    alerts: dict[str, list[Alert]] = {}
    for r in as_rows(ind.overdue(scope)):
        alerts.setdefault(r["unit"], []).append(_deadline_alert(r, r["status"]))
    for r in as_rows(ind.rehandle_list(scope, ("重办逾期",))):
        alerts.setdefault(r["unit"], []).append(_rehandle_alert(r))
    return alerts


def digest_sections(ind: Any, scope: Any, target: NotifyTarget) -> list[tuple[str, list[Alert]]]:
    """The supervisors' digest for ``target`` (keys per target: a target that failed gets them next time)."""
    digest = f"{SUPERVISORS}:{target.name}"
    by_status: dict[str, list[dict]] = {}
    for r in as_rows(ind.overdue(scope)):
        by_status.setdefault(r["status"], []).append(r)
    key_by_status: dict[str, list[dict]] = {}
    for r in as_rows(ind.overdue(replace(scope, key_only=True))):
        key_by_status.setdefault(r["status"], []).append(r)
    return [
        ("新增逾期", [_deadline_alert(r, "逾期", digest) for r in by_status.get("逾期", [])]),
        ("新增不满意", [_unsatisfied_alert(digest, r) for r in as_rows(ind.unsatisfied(scope))]),
        ("重点督办件滞后", [_deadline_alert(r, f"重点{status}", digest)
                           for status in ("逾期", "临期") for r in key_by_status.get(status, [])]),
    ]


def _new(alerts: list[Alert], sent: set[str]) -> list[Alert]:
    return [a for a in alerts if a.key not in sent]


def compose(ind: Any, scope: Any, directory: dict[str, dict], settings: NotifySettings,
            sent_before: Callable[[list[str]], set[str]]) -> tuple[list[Outgoing], list[str]]:
    """The pushes to make as of ``scope.as_of`` (only alerts not in ``sent_before``), and the units
    with new alerts but no push target in the directory."""
    outgoing: list[Outgoing] = []
    without_target: list[str] = []
    per_unit = unit_alerts(ind, scope)
    sent = sent_before([a.key for alerts in per_unit.values() for a in alerts])
    totals = {u.unit: u for u in ind.overdue_summary(scope).units}
    when = format_date(scope.as_of)
    for unit, alerts in sorted(per_unit.items()):
        new = _new(alerts, sent)
        if not new:
            continue
        target = settings.target((directory.get(unit) or {}).get("push_target"))
        if target is None:
            without_target.append(unit)
            continue
        lagging = totals.get(unit)
        summary = (f"截至 {when}, 贵单位主办的建议逾期 {lagging.overdue} 件、临期 {lagging.due_soon} 件"
                   if lagging else f"截至 {when}")
        push = Push(unit, f"【建议办理提醒】{unit}: 新增提醒 {len(new)} 条",
                    (f"{summary}。以下为新增的提醒, 请抓紧办理并及时报送办理情况:", *(a.line for a in new)),
                    tuple(a.item for a in new))
        outgoing.append(Outgoing(push, target, tuple(a.key for a in new)))
    summary = ind.overdue_summary(scope)
    rehandling = ind.rehandling(scope)
    for name in settings.supervisors:
        target = settings.target(name)
        if target is None:  # settings validated every name
            continue
        sections = digest_sections(ind, scope, target)
        sent = sent_before([a.key for _, alerts in sections for a in alerts])
        fresh = [(heading, _new(alerts, sent)) for heading, alerts in sections]
        if not any(alerts for _, alerts in fresh):
            continue
        lines = [f"截至 {when}: 逾期 {summary.overdue} 件次 (涉及建议 {summary.overdue_suggestions} 件), "
                 f"临期 {summary.due_soon} 件次, 重办逾期 {rehandling.overdue} 件。"]
        for heading, alerts in fresh:
            if not alerts:
                continue
            lines.append(f"{heading} {len(alerts)} 条:")
            lines += [a.line for a in alerts[:DIGEST_LINES]]
            if len(alerts) > DIGEST_LINES:
                lines.append(f"· …另有 {len(alerts) - DIGEST_LINES} 条, 详见看板")
        push = Push(SUPERVISORS, f"【建议督办汇总】{when}: " + "、".join(f"{h} {len(a)} 条" for h, a in fresh if a),
                    tuple(lines), tuple(a.item for _, alerts in fresh for a in alerts))
        outgoing.append(Outgoing(push, target, tuple(a.key for _, alerts in fresh for a in alerts)))
    return outgoing, without_target


def run_notify(ind: Any, scope: Any, settings: NotifySettings, home: Path, dry_run: bool = False,
               send: Callable[[Push, NotifyTarget, NotifySettings], None] = deliver) -> NotifyReport:
    """Compose and send (``dry_run``: compose only, nothing sent or recorded). A push a target
    refuses is reported and its alerts stay unsent, to be tried again next time."""
    directory = directory_by_unit(appstate.unit_directory(home), ind.canonical_unit)
    outgoing, without_target = compose(ind, scope, directory, settings, lambda keys: appstate.alerts_sent(home, keys))
    report = NotifyReport(scope.as_of, outgoing, units_without_target=without_target)
    if dry_run:
        return report
    for out in outgoing:
        try:
            send(out.push, out.target, settings)
        except PushFailed as exc:
            report.failed.append(f"{out.push.recipient}: {exc}")
            continue
        appstate.mark_alerts_sent(home, list(out.keys), out.target.name)
        report.sent.append(out)
    return report

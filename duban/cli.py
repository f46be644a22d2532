"""The `duban` command. Exit codes: 0 done, 1 the work failed (one-line reason), 2 usage error.

Subcommands only parse arguments and call the layers (etl.pipeline, warehouse.indicators,
warehouse.ranking, exports, duban.core.appstate, dashboard); no figure is computed here.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from duban.core.settings import load_settings
from duban.environment import duban_home
from etl.names import one_line


# Rejected rows listed per file in the text status (the JSON carries all of them).
REASONS_SHOWN_PER_FILE = 20


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期应为 YYYY-MM-DD 格式 / expected YYYY-MM-DD: {text!r}") from None


def _warehouse_arg(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--warehouse", type=Path, required=required, metavar="FILE",
                        help="仓库文件 (指向当前发布版本的链接) / the warehouse file")


def _echo(message: str) -> None:
    print(one_line(message), file=sys.stderr, flush=True)


def _say(line: str) -> None:
    """One line on stdout: file names and cell values in it can hold newlines and escape sequences."""
    print(one_line(line))


# ── etl ─────────────────────────────────────────────────────────────────────────────────────
def _print_refresh(report) -> None:
    c = report.counts
    print(f"已发布版本 {report.version.name}, 用时 {report.seconds:.1f} 秒 / published {report.version.name}")
    print(f"文件: 共 {c.files} 个, 新收 {report.files_new} 个, 整体拒收 {c.files_rejected} 个")
    print(f"数据行: 读取 {c.rows_read} 行 = 载入 {c.loaded} + 被取代 {c.superseded} + 拒收 {c.rejected}")
    for name, reason in report.rejected_files:
        _say(f"  拒收文件 {name}: {reason}")
    for hold in report.held_files:
        _say(f"  待确认的文件 {hold.entry.original_name} ({hold.entry.sha256[:12]}): {hold.reason}")
        for change in hold.changes:
            _say(f"      {change}")
    if report.held_files:
        print("待确认的文件未载入; 督办人员核实后运行 duban etl accept 文件或哈希 --warehouse …")
    if c.rejected:
        print("拒收行的原因见 duban etl status 或看板的 数据状态 页")


def _print_unit_names(names: dict) -> None:
    """Which place names were used (inferred or set), and the unit spellings nobody could place."""
    if names["places"]:
        _say("地名前缀: " + "、".join(f"{p['name']} ({_PLACE_FROM[p['found_in']]})" for p in names["places"]))
    else:
        print("地名前缀: 无 (各单位名称里没有需要去掉的地名)")
    if names["unknown_spellings"]:
        print("未能对应到交办台账单位的写法 (这些行已拒收; 确认后下次刷新载入: duban etl aliases --accept \"写法=单位\"):")
        for item in names["unknown_spellings"]:
            guesses = "、".join(f"{c['unit']} ({c['rule']})" for c in item["candidates"]) or "无相近单位"
            _say(f"  {item['spelling']}  {item['rows']} 行  可能是: {guesses}")


_PLACE_FROM = {"设置": "设置中指定", "交办台账": "从交办台账推断", "单位来文": "从单位来文推断"}


def _figures(settings):
    """What a refresh compares before it publishes: the indicator layer's figures of a version
    file (etl/guard.py holds a refresh whose figures drop)."""
    from warehouse.indicators import version_figures

    return lambda version_file: version_figures(version_file, settings)


def _prepared(settings):
    """What a refresh runs once it has published: the indicator layer's state for today."""
    from warehouse.indicators import prepare_version

    return lambda version_file: prepare_version(version_file, settings)


def _receive_online_ratings(warehouse: Path, home: Path) -> None:
    """Deputies' online ratings (app state) into the archive as a trusted evaluation file: the
    refresh that follows loads them (etl/online_ratings.py)."""
    from duban.core import appstate
    from etl.archive import Archive
    from etl.online_ratings import receive_online_ratings
    from warehouse.connection import WarehousePaths

    receive_online_ratings(Archive(WarehousePaths(Path(warehouse)).archive), appstate.online_ratings(home))


def cmd_etl_run(args, settings) -> None:
    from etl.pipeline import run_refresh

    _receive_online_ratings(args.warehouse, duban_home())
    report = run_refresh(args.warehouse, settings, inbox=args.inbox, home=duban_home(), progress=_echo,
                         compare=_figures(settings), accept=args.accept, after_publish=_prepared(settings),
                         trusted_folders=[args.inbox] if args.trusted else ())
    _print_refresh(report)
    _print_unit_names(_published_unit_names(args.warehouse, settings))


def _published_unit_names(warehouse: Path, settings) -> dict:
    from warehouse.status import refresh_status

    status = refresh_status(warehouse, settings, limit=1)
    return {"places": status["places"], "unknown_spellings": status["unknown_spellings"]}


def cmd_etl_check(args, settings) -> None:
    from etl.pipeline import check_inbox

    plan = check_inbox(args.inbox, settings, home=duban_home(), warehouse=args.warehouse, trusted=args.trusted)
    if args.json:
        print(json.dumps(plan, ensure_ascii=False, indent=2, default=str))
        return
    print("试读结果 (未存档, 未发布) / dry run: nothing archived or published")
    for f in plan["files"]:
        dated = f"{f['report_date']} ({f['report_date_source']})" if f["report_date"] else "—"
        _say(f"  {f['original_name']}  {f['kind_label'] or '无法识别'}  {f['sender_unit'] or ''}  填报日期 {dated}"
             f"  读取 {f['rows_read']}  将载入 {f['rows_loaded']}  被取代 {f['rows_superseded']}  拒收 {f['rows_rejected']}")
        if f["blocks"]:
            _say(f"      表格: {'、'.join(f['blocks'])}")
        if f["reject_reason"]:
            _say(f"      整体拒收: {f['reject_reason']}")
        for line in f["notes"] + f["reasons"][:REASONS_SHOWN_PER_FILE]:
            _say(f"      {line}")
    for line in plan["skipped"]:
        _say(f"  {line}")
    _print_unit_names(plan)


def cmd_etl_aliases(args, settings) -> None:
    from duban.core import appstate
    from etl.stage import record_unit_alias

    names = _published_unit_names(args.warehouse, settings)
    if args.accept:
        spelling, sep, unit = args.accept.partition("=")
        known = _register_units(args.warehouse, settings)
        if not sep or unit.strip() not in known:
            raise ValueError(f"{unit.strip() or '(空)'} 不是交办台账中的单位; 格式为 \"写法=交办台账中的单位名称\"")
        record_unit_alias(duban_home(), spelling, unit)
        appstate.audit(duban_home(), _operator(args), "确认单位写法", f"{spelling.strip()} = {unit.strip()}")
        _say(f"已登记: {spelling.strip()} = {unit.strip()}; 下次刷新时这一写法的行将载入")
        return
    if args.json:
        print(json.dumps(names, ensure_ascii=False, indent=2, default=str))
        return
    _print_unit_names(names)


def _register_units(warehouse: Path, settings) -> set[str]:
    from warehouse.connection import PublishedWarehouse
    from warehouse.indicators import Indicators

    _, conn = PublishedWarehouse(warehouse).snapshot()
    return set(Indicators(conn, settings).available_filters()["units"])


def _operator(args) -> str:
    import getpass

    return args.by or f"操作员 {getpass.getuser()}"


def cmd_etl_withdraw(args, settings) -> None:
    from duban.core import appstate
    from etl import provenance
    from etl.archive import Archive
    from warehouse.connection import WarehousePaths

    by = _operator(args)
    record = provenance.withdraw(Archive(WarehousePaths(args.warehouse).archive), args.file, args.why, by)
    appstate.audit(duban_home(), by, "撤回文件", f"{record['name']} ({record['sha256'][:12]}): {record['why']}")
    _say(f"已撤回《{record['name']}》({record['sha256'][:12]}); 下次刷新起不再使用它 (仍保留在存档中)")
    print("需要立即生效时运行 duban etl rebuild (或 duban etl rollback 后再刷新)")


def cmd_etl_accept(args, settings) -> None:
    from duban.core import appstate
    from etl import provenance
    from etl.archive import Archive
    from warehouse.connection import WarehousePaths

    by = _operator(args)
    record = provenance.accept(Archive(WarehousePaths(args.warehouse).archive), args.file, by)
    changes = record["changes"]
    appstate.audit(duban_home(), by, "确认文件",
                   f"{record['name']} ({record['sha256'][:12]}): {record['why']}" + "".join(f"; {c}" for c in changes))
    _say(f"已确认《{record['name']}》, 下次刷新时载入")
    for change in changes:
        _say(f"  {change}")


def cmd_etl_rebuild(args, settings) -> None:
    from etl.pipeline import run_refresh

    _receive_online_ratings(args.warehouse, duban_home())
    report = run_refresh(args.warehouse, settings, home=duban_home(), progress=_echo, rebuild=True,
                         compare=_figures(settings), accept=args.accept, after_publish=_prepared(settings))
    _print_refresh(report)


def cmd_etl_rollback(args, settings) -> None:
    from etl.publish import rollback
    from warehouse.connection import WarehousePaths

    version = rollback(WarehousePaths(args.warehouse))
    print(f"已回滚到版本 {version.name} / rolled back to {version.name}")


def cmd_etl_status(args, settings) -> None:
    from warehouse.status import refresh_status

    status = refresh_status(args.warehouse, settings, limit=args.limit)
    if args.json:
        print(json.dumps(status, ensure_ascii=False, indent=2, default=str))
        return
    _say(f"当前版本: {status['version']}")
    print("最近的刷新:")
    for run in status["refreshes"]:
        line = f"  {run.get('started_at')}  {run.get('status')}"
        if run.get("status") == "成功":
            line += (f"  文件 {run.get('files')}  读取 {run.get('rows_read')}  载入 {run.get('loaded')}"
                     f"  被取代 {run.get('superseded')}  拒收 {run.get('rejected')}  {run.get('seconds')} 秒")
        else:
            line += f"  {run.get('error')}"
        _say(line)
    _print_review(status)
    print("文件:")
    for f in status["files"]:
        line = (f"  [{f['status']}] {f['original_name']}  {f['kind_label'] or ''}  {f['sender_unit'] or ''}"
                f"  填报日期 {f['report_date'] or '—'}  读取 {f['rows_read']}  载入 {f['rows_loaded']}"
                f"  被取代 {f['rows_superseded']}  拒收 {f['rows_rejected']}")
        _say(line)
        if f["reject_reason"]:
            _say(f"      原因: {f['reject_reason']}")
        for reason in f["reasons"][:REASONS_SHOWN_PER_FILE]:
            _say(f"      {reason}")
        if len(f["reasons"]) > REASONS_SHOWN_PER_FILE:
            print(f"      … 另有 {len(f['reasons']) - REASONS_SHOWN_PER_FILE} 条, 完整列表见 --json 或看板")
    if status["held_files"]:
        print("待确认的文件 (未载入, 督办人员核实后用 duban etl accept 确认):")
        for f in status["held_files"]:
            _say(f"  {f['name']}  {f['sha256'][:12]}  来源 {f['source'] or '—'}  {f['at']}")
            _say(f"      原因: {f['reason']}")
            for change in f.get("changes") or []:
                _say(f"      {change}")
    if status["withdrawn_files"]:
        print("已撤回的文件 (不再使用, 保留在存档中):")
        for f in status["withdrawn_files"]:
            _say(f"  {f['name']}  {f['sha256'][:12]}  {f['at']}  {f['by']}: {f['why']}")
    print("各单位最近报送:")
    for unit in status["units"]:
        _say(f"  {unit['unit']}: {unit['last_report_date'] or '未报送'}")


def _print_review(status: dict) -> None:
    """A held refresh, what the last published refresh changed, and the units' contradicting reports."""
    from warehouse.status import change_source, changes_by_refresh_and_unit, differences_summary

    held = status["held_refresh"]
    if held:
        _say(f"暂缓发布的刷新 ({held['started_at']}; 看板仍显示当前版本):")
        for reason in held["held"]:
            _say(f"  原因: {reason}")
        _say(f"  {held['summary']}")
        print("  请核对报来的文件, 改正后重新运行; 核对无误的用 duban etl run … --accept (或 duban etl rebuild --accept) 发布")
    if status["differences"]:
        review = differences_summary(status["differences"])
        _say(f"上次刷新{review.summary()}")
        for reason in review.held:
            _say(f"  曾暂缓发布, 已确认 (--accept): {reason}")
    if status["changes"]:
        print(f"办理情况的变更 (单位新报的值与以前报的不同, 共 {len(status['changes'])} 处; 按刷新、单位):")
        for refresh_id, units in changes_by_refresh_and_unit(status["changes"]):
            print(f"  刷新 {refresh_id if refresh_id is not None else '—'}:")
            for unit, rows in units:
                _say(f"    {unit}:")
                for row in rows:
                    _say(f"      {row['line']}  ({change_source(row)})")


def cmd_etl_schedule(args, settings) -> None:
    from etl.schedule import run_schedule

    run_schedule(args.warehouse, args.inbox, settings, home=duban_home(), every=args.every, cron=args.cron,
                 sources_file=args.sources, max_runs=args.max_runs, log=_echo, trusted=args.trusted,
                 compare=_figures(settings),  # a held refresh is logged; the schedule never accepts
                 after_publish=_prepared(settings),
                 before_run=lambda: _receive_online_ratings(args.warehouse, duban_home()),
                 after_run=(lambda: _notify(args, settings, None, dry_run=False)) if args.notify else None)


# ── figures ─────────────────────────────────────────────────────────────────────────────────
def _scope_from(args):
    from warehouse.indicators import Scope

    return Scope(year=args.year, session=args.session, kind=args.kind, category=args.category,
                 unit=getattr(args, "unit", None), key_only=getattr(args, "key_only", False),
                 as_of=args.as_of or date.today())


def _indicators(args, settings):
    from warehouse.connection import PublishedWarehouse
    from warehouse.indicators import Indicators

    return Indicators(PublishedWarehouse(args.warehouse).connection(), settings)


def cmd_metrics(args, settings) -> None:
    indicators = _indicators(args, settings)
    if args.unit:  # any spelling of the unit: 市财政局 for the register's 成都市财政局
        args.unit = indicators.canonical_unit(args.unit)
    figures = indicators.metrics(_scope_from(args))
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2, default=str))
        return
    from warehouse.formatting import format_rate

    for key, value in figures.items():
        shown = format_rate(value) if key.endswith("_rate") else value
        print(f"{key}: {shown}")


def cmd_ranking(args, settings) -> None:
    from warehouse.connection import PublishedWarehouse
    from warehouse.ranking import rank_units

    rows = rank_units(PublishedWarehouse(args.warehouse).connection(), settings, args.year,
                      args.as_of or date.today(), hand_scores=args.scores)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    from warehouse.ranking import describe_ranking

    print(describe_ranking(rows))


# ── serving ─────────────────────────────────────────────────────────────────────────────────
def cmd_serve(args, settings) -> None:
    from duban.server import serve

    serve(args.warehouse, duban_home(), settings, host=args.host, port=args.port, workers=args.workers,
          auth=not args.no_auth, log=_echo)


def cmd_demo(args, settings) -> None:
    from duban.demo.inbox import write_inbox

    if args.inbox_only:
        summary = write_inbox(args.inbox_only, suggestions=args.suggestions, years=args.years, units=args.units,
                              seed=args.seed, progress=_echo)
        print(f"演示收件目录已写入 {args.inbox_only}: {summary}")
        return
    from duban.server import serve
    from etl.pipeline import run_refresh

    home = duban_home()
    inbox = home / "demo" / "inbox"
    warehouse = home / "demo" / "duban.duckdb"
    if not inbox.exists():
        _echo(f"生成演示数据到 {inbox} …")
        write_inbox(inbox, suggestions=args.suggestions, years=args.years, units=args.units, seed=args.seed,
                    progress=_echo)
    _receive_online_ratings(warehouse, home)
    # The demo's inbox is its own generated data: a trusted source.
    report = run_refresh(warehouse, settings, inbox=inbox, home=home, progress=_echo, trusted_folders=[inbox],
                         after_publish=_prepared(settings))
    _print_refresh(report)
    if not args.no_browser:
        import threading
        import webbrowser

        threading.Timer(2.0, webbrowser.open, [f"http://127.0.0.1:{args.port}/"]).start()
    serve(warehouse, home, settings, host="127.0.0.1", port=args.port, workers=args.workers, auth=False, log=_echo)


# ── accounts ────────────────────────────────────────────────────────────────────────────────
def _read_password() -> str:
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("密码 / password: ")
    return sys.stdin.readline().rstrip("\n")


def cmd_users(args, settings) -> None:
    from duban.core import appstate

    home = duban_home()
    if args.users_command == "add":
        appstate.add_user(home, args.name, args.role, args.unit, _read_password(), deputy=args.deputy)
        print(f"已添加用户 {args.name} ({args.role})")
    elif args.users_command == "import-deputies":
        _import_deputies(args, settings, home)
    elif args.users_command == "list":
        for user in appstate.list_users(home):
            state = "停用" if user.get("disabled") else "启用"
            print(f"{user['name']}\t{user['role']}\t{user.get('unit') or user.get('deputy') or ''}\t{state}")
    elif args.users_command == "disable":
        appstate.disable_user(home, args.name)
        print(f"已停用用户 {args.name}")
    elif args.users_command == "passwd":
        appstate.set_password(home, args.name, _read_password())
        print(f"已修改用户 {args.name} 的密码")


DEPUTY_SHEET_COLUMNS = ("代表姓名", "账号", "初始密码", "说明")


def _import_deputies(args, settings, home: Path) -> None:
    """An account for every deputy the register names who has none, each with a one-time password
    (changed at first login), written to ``--out`` (.xlsx or .csv, readable by its owner only) for
    the office to hand out."""
    import csv
    import os
    import secrets

    import xlsxwriter

    from duban.core import appstate

    have = appstate.deputy_accounts(home)
    taken = {user["name"] for user in appstate.list_users(home)}
    rows = []
    for deputy in _indicators(args, settings).deputies():
        if deputy in have:
            continue
        name = deputy if deputy not in taken else f"{deputy}_代表"
        password = secrets.token_urlsafe(9)
        try:
            appstate.add_user(home, name, "deputy", None, password, deputy=deputy, one_time_password=True)
        except appstate.AppStateError as exc:
            print(f"跳过 {deputy}: {exc}")
            continue
        taken.add(name)
        rows.append((deputy, name, password, "首次登录后须设置自己的密码"))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch(mode=0o600)
    if out.suffix.lower() == ".csv":
        with out.open("w", encoding="utf-8-sig", newline="") as handle:
            csv.writer(handle).writerows([DEPUTY_SHEET_COLUMNS, *rows])
    else:
        book = xlsxwriter.Workbook(str(out))
        sheet = book.add_worksheet("代表账号")
        for r, row in enumerate([DEPUTY_SHEET_COLUMNS, *rows]):
            for c, value in enumerate(row):
                sheet.write_string(r, c, value)  # names from the register stay text, never formulas
        book.close()
    os.chmod(out, 0o600)
    print(f"新建代表账号 {len(rows)} 个 (已有账号的 {len(have)} 位代表未变), 初始密码已写入 {out}, 请妥善分发")


# ── unit directory and pushes ───────────────────────────────────────────────────────────────
def cmd_units(args, settings) -> None:
    from duban.core import appstate

    home = duban_home()
    if args.units_command == "import":
        from etl.directory import match_units, read_unit_directory

        indicators = _indicators(args, settings)
        rows = read_unit_directory(args.file, settings)
        entries, notes = match_units(rows, indicators.canonical_unit, set(indicators.available_filters()["units"]))
        count = appstate.replace_unit_directory(home, entries, _operator(args))
        for note in notes:
            _say(f"  {note}")
        print(f"单位通讯录已更新: {count} 个单位")
        return
    for entry in appstate.unit_directory(home).values():
        _say("\t".join(entry[k] or "—" for k in ("unit", "liaison", "phone", "push_target")))


def _notify(args, settings, as_of: date | None, dry_run: bool) -> bool:
    """Send (or with ``dry_run`` print) the pushes as of ``as_of`` (today when None) on
    ``args.warehouse``; False when a target refused one."""
    from exports.notify import run_notify
    from warehouse.indicators import Scope

    report = run_notify(_indicators(args, settings), Scope(as_of=as_of or date.today()), settings.notify, duban_home(),
                        dry_run=dry_run)
    if dry_run:
        print(f"试运行: 以下 {len(report.outgoing)} 条推送不会发出, 也不会记录 / dry run: nothing sent or recorded")
        for out in report.outgoing:
            print(f"── 发往 {out.push.recipient} ({out.target.name}, {out.target.kind}) ──")
            for line in out.push.text().splitlines():
                _say(line)
    else:
        for out in report.sent:
            _say(f"已推送 {out.push.recipient} ({out.target.name}): {len(out.keys)} 条提醒")
        print(f"共推送 {len(report.sent)} 条消息" if report.sent else "没有新的提醒需要推送")
    if report.units_without_target:
        _say(f"有新提醒但单位通讯录中没有推送目标的单位 ({len(report.units_without_target)} 个, 未推送): "
             + "、".join(report.units_without_target))
    for failure in report.failed:
        _say(f"推送失败 (下次再试): {failure}")
    return not report.failed


def cmd_notify(args, settings) -> None:
    if not _notify(args, settings, args.as_of, args.dry_run):
        raise RuntimeError("部分推送未能发出, 见上")


# ── meeting outputs ─────────────────────────────────────────────────────────────────────────
def cmd_report(args, settings) -> None:
    from exports.report import write_report

    write_report(_indicators(args, settings), _scope_from(args), args.out)
    print(f"通报已写入 {args.out}")


def cmd_template(args, settings) -> None:
    from exports.template import write_template

    write_template(_indicators(args, settings), args.unit, args.year, args.out)
    print(f"{args.unit} 的填报模板已写入 {args.out}")


def cmd_export(args, settings) -> None:
    from exports import xlsx

    indicators = _indicators(args, settings)
    scope = _scope_from(args)
    writers = {
        "chase-list": lambda: xlsx.chase_list(indicators, scope),
        "ranking": lambda: xlsx.ranking_export(indicators, scope),
        "rejected": lambda: xlsx.rejected_rows(indicators),
    }
    args.out.write_bytes(writers[args.what]())
    print(f"已导出 {args.out}")


def cmd_bench(args, settings) -> None:
    from duban.bench import run_bench

    sections = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
    run_bench(suggestions=args.suggestions, years=args.years, units=args.units, as_json=args.json,
              workdir=args.workdir, log=_echo, sections=sections, workers=args.workers, users=args.users,
              load_seconds=args.load_seconds, max_searches=args.max_searches)


# ── parser ──────────────────────────────────────────────────────────────────────────────────
def _scope_args(parser: argparse.ArgumentParser, unit: bool = True) -> None:
    parser.add_argument("--year", type=int, help="年度 / year of the session")
    parser.add_argument("--session", help="届次, 如 十八届一次 / session")
    parser.add_argument("--kind", choices=["大会建议", "闭会建议"], help="类型 / kind")
    parser.add_argument("--category", help="类别 / category")
    if unit:
        parser.add_argument("--unit", help="承办单位 / handling unit")
        parser.add_argument("--key-only", action="store_true", help="只看重点督办件 / key supervised only")
    parser.add_argument("--as-of", type=_date, help="截至日期 T, 默认今天 / as-of date (default today)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="duban", description="督办: 人大代表建议办理督办 / supervision of deputies' suggestions")
    parser.add_argument("--debug", action="store_true", help="出错时显示完整的调用栈 / show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="命令/command")

    demo = sub.add_parser("demo", help="生成演示数据并打开看板 / build a demo warehouse and serve it", description="生成演示数据并打开看板 / build a demo warehouse and serve it")
    demo.add_argument("--port", type=int, default=8050, help="端口 / port")
    demo.add_argument("--workers", type=int, default=2, help="工作进程数 / worker processes")
    demo.add_argument("--no-browser", action="store_true", help="不自动打开浏览器 / do not open a browser")
    demo.add_argument("--inbox-only", type=Path, metavar="DIR", help="只写出演示收件目录 / only write the inbox")
    demo.add_argument("--suggestions", type=int, default=400, help="每年建议件数 / suggestions a year")
    demo.add_argument("--years", type=int, default=3, help="年数 / years")
    demo.add_argument("--units", type=int, default=100, help="承办单位数 / units")
    demo.add_argument("--seed", type=int, default=7, help="随机种子 / seed")
    demo.set_defaults(func=cmd_demo)

    etl = sub.add_parser("etl", help="数据载入 / loading data", description="数据载入 / loading data").add_subparsers(dest="etl_command", required=True,
                                                                              metavar="命令/command")
    run = etl.add_parser("run", help="载入收件目录并发布 / load the inbox and publish", description="载入收件目录并发布 / load the inbox and publish")
    run.add_argument("--inbox", type=Path, required=True, metavar="DIR", help="收件目录 / inbox folder")
    _warehouse_arg(run)
    run.add_argument("--trusted", action="store_true",
                     help="收件目录受信任, 其中的交办台账和满意度测评直接采用 / the inbox is a trusted source")
    run.set_defaults(func=cmd_etl_run)
    check = etl.add_parser("check", help="试读收件目录: 说明刷新会如何处理每个文件, 不存档不发布 / dry run",
                           description="试读收件目录: 每个文件的种类、报送单位、填报日期、表格、将载入和拒收的行及原因、"
                                       "推断的地名和未能对应的单位写法; 不存档, 不发布 / what a refresh would do, without publishing")
    check.add_argument("--inbox", type=Path, required=True, metavar="DIR", help="收件目录 / inbox folder")
    _warehouse_arg(check, required=False)
    check.add_argument("--trusted", action="store_true", help="按受信任的收件目录试读 / as a trusted inbox")
    check.add_argument("--json", action="store_true", help="输出 JSON / JSON output")
    check.set_defaults(func=cmd_etl_check)
    aliases = etl.add_parser("aliases", help="未能对应的单位写法及候选单位; 确认一个写法 / unknown unit spellings",
                             description="列出各单位来文中未能对应到交办台账单位的写法及最可能的单位; "
                                         "--accept 确认一个写法 (写入单位别名表, 记入审计日志) / list or accept unit spellings")
    _warehouse_arg(aliases)
    aliases.add_argument("--accept", metavar="SPELLING=UNIT", help='确认写法, 如 "市人社局=成都市人力资源和社会保障局"')
    aliases.add_argument("--by", help="操作人 (默认当前系统用户) / who (default: the system user)")
    aliases.add_argument("--json", action="store_true", help="输出 JSON / JSON output")
    aliases.set_defaults(func=cmd_etl_aliases)
    withdraw = etl.add_parser("withdraw", help="撤回一个存档文件, 以后的刷新不再使用 / take an archived file out of every later build",
                              description="撤回一个存档文件, 以后的刷新不再使用 (仍保留在存档中) / take an archived file out of every later build")
    withdraw.add_argument("file", metavar="FILE_OR_HASH", help="文件、文件名或内容哈希 / a file, its name or its hash")
    withdraw.add_argument("--why", required=True, help="撤回原因 / why")
    withdraw.add_argument("--by", help="操作人 (默认当前系统用户) / who (default: the system user)")
    _warehouse_arg(withdraw)
    withdraw.set_defaults(func=cmd_etl_withdraw)
    accept = etl.add_parser("accept", help="确认一个待确认的文件, 下次刷新载入 / accept a held file",
                            description="确认一个待确认的文件 (交办台账、满意度测评), 下次刷新时载入 / accept a held file")
    accept.add_argument("file", metavar="FILE_OR_HASH", help="文件、文件名或内容哈希 / a file, its name or its hash")
    accept.add_argument("--by", help="操作人 (默认当前系统用户) / who (default: the system user)")
    _warehouse_arg(accept)
    accept.set_defaults(func=cmd_etl_accept)
    status = etl.add_parser("status", help="最近的刷新、文件和拒收原因 / refreshes, files, rejections", description="最近的刷新、文件和拒收原因 / refreshes, files, rejections")
    _warehouse_arg(status)
    status.add_argument("--json", action="store_true", help="输出 JSON / JSON output")
    status.add_argument("--limit", type=int, default=20, help="显示几次刷新 / refreshes shown")
    status.set_defaults(func=cmd_etl_status)
    rebuild = etl.add_parser("rebuild", help="从存档重建仓库 / rebuild from the archive", description="从存档重建仓库 / rebuild from the archive")
    _warehouse_arg(rebuild)
    for held in (run, rebuild):
        held.add_argument("--accept", action="store_true",
                            help="发布被暂缓的刷新 (已核对与上一版本的差异) / publish a held refresh")
    rebuild.set_defaults(func=cmd_etl_rebuild)
    rollback = etl.add_parser("rollback", help="回到上一个发布版本 / return to the previous version", description="回到上一个发布版本 / return to the previous version")
    _warehouse_arg(rollback)
    rollback.set_defaults(func=cmd_etl_rollback)
    schedule = etl.add_parser("schedule", help="按计划定时刷新 / refresh on a schedule", description="按计划定时刷新 / refresh on a schedule")
    schedule.add_argument("--inbox", type=Path, required=True, metavar="DIR", help="收件目录 / inbox folder")
    _warehouse_arg(schedule)
    when = schedule.add_mutually_exclusive_group(required=True)
    when.add_argument("--every", help="间隔, 如 1h, 30m / interval")
    when.add_argument("--cron", help='cron 表达式, 如 "0 7 * * *" / cron expression')
    schedule.add_argument("--sources", type=Path, help="数据来源设置文件 / sources settings file")
    schedule.add_argument("--trusted", action="store_true",
                          help="收件目录受信任 / the inbox is a trusted source")
    schedule.add_argument("--notify", action="store_true",
                          help="每次刷新后推送提醒和汇总 (同 duban notify) / push the reminders after each refresh")
    schedule.add_argument("--max-runs", type=int, help="运行几次后退出 (测试用) / stop after N runs")
    schedule.set_defaults(func=cmd_etl_schedule)

    metrics = sub.add_parser("metrics", help="指标 (定义见 docs/domain.md) / the indicators", description="指标 (定义见 docs/domain.md) / the indicators (docs/domain.md, docs/interfaces.md)")
    _warehouse_arg(metrics)
    _scope_args(metrics)
    metrics.add_argument("--json", action="store_true", help="输出 JSON / JSON output")
    metrics.set_defaults(func=cmd_metrics)

    ranking = sub.add_parser("ranking", help="承办单位考核排名 / unit assessment and ranking", description="承办单位考核排名 / unit assessment and ranking")
    _warehouse_arg(ranking)
    ranking.add_argument("--year", type=int, required=True, help="年度 / year")
    ranking.add_argument("--as-of", type=_date, help="截至日期 / as-of date")
    ranking.add_argument("--scores", type=Path, help="人工评分表 / assessors' hand scores (xlsx/csv)")
    ranking.add_argument("--json", action="store_true", help="输出 JSON / JSON output")
    ranking.set_defaults(func=cmd_ranking)

    serve = sub.add_parser("serve", help="启动看板服务 / serve the dashboard", description="启动看板服务 / serve the dashboard")
    _warehouse_arg(serve)
    serve.add_argument("--host", default="127.0.0.1", help="监听地址 / host")
    serve.add_argument("--port", type=int, default=8050, help="端口 / port")
    serve.add_argument("--workers", type=int, default=2, help="工作进程数 / worker processes")
    serve.add_argument("--no-auth", action="store_true", help="不要求登录 (仅限本机地址) / no login (loopback only)")
    serve.set_defaults(func=cmd_serve)

    users = sub.add_parser("users", help="账号管理 / accounts", description="账号管理 / accounts").add_subparsers(dest="users_command", required=True,
                                                                           metavar="命令/command")
    add = users.add_parser("add", help="添加账号, 密码从标准输入读取 / add an account (password on stdin)", description="添加账号, 密码从标准输入读取 / add an account (password on stdin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["leader", "supervisor", "unit", "deputy"], help="角色 / role")
    add.add_argument("--unit", help="单位账号所属单位 / the unit of a unit account")
    add.add_argument("--deputy", help="代表账号对应的代表姓名 (与交办台账的写法一致) / a deputy account's deputy")
    deputies = users.add_parser("import-deputies", help="为交办台账中的每位代表建账号, 初始密码写入文件 / deputy accounts from the register",
                                description="为交办台账中的每位代表建账号, 初始密码写入文件 / deputy accounts from the register")
    _warehouse_arg(deputies)
    deputies.add_argument("--out", type=Path, required=True, metavar="FILE", help="初始密码文件 (.xlsx 或 .csv) / where the one-time passwords go")
    listing = users.add_parser("list", help="列出账号 / list accounts", description="列出账号 / list accounts")
    disable = users.add_parser("disable", help="停用账号 / disable an account", description="停用账号 / disable an account")
    disable.add_argument("name")
    passwd = users.add_parser("passwd", help="修改密码 (从标准输入读取) / change a password (stdin)", description="修改密码 (从标准输入读取) / change a password (stdin)")
    passwd.add_argument("name")
    for p in (add, deputies, listing, disable, passwd):
        p.set_defaults(func=cmd_users)

    units = sub.add_parser("units", help="单位通讯录 / the unit directory",
                           description="单位通讯录: 各单位的联络员、联系电话和推送目标 / the unit directory"
                           ).add_subparsers(dest="units_command", required=True, metavar="命令/command")
    units_import = units.add_parser("import", help="导入单位通讯录 (替换现有的) / import the unit directory",
                                    description="导入单位通讯录 (xlsx / csv, 列: 单位、联络员、联系电话、推送), 替换现有的; "
                                                "单位名称按交办台账对应 / import the unit directory, replacing it")
    units_import.add_argument("file", type=Path, metavar="FILE", help="通讯录文件 / the directory file")
    _warehouse_arg(units_import)
    units_import.add_argument("--by", help="操作人 (默认当前系统用户) / who (default: the system user)")
    units_list = units.add_parser("list", help="列出单位通讯录 / list the unit directory",
                                  description="列出单位通讯录 / list the unit directory")
    for p in (units_import, units_list):
        p.set_defaults(func=cmd_units)

    notify = sub.add_parser("notify", help="推送临期、逾期提醒和督办汇总 / push reminders and the digest",
                            description="向各单位推送新的临期、逾期、重办逾期提醒, 向督办人员推送汇总; 同一提醒只推送一次 "
                                        "/ push each unit its new reminders and the supervisors a digest, each alert once")
    _warehouse_arg(notify)
    notify.add_argument("--dry-run", action="store_true", help="只显示将推送的内容, 不发送也不记录 / print, send nothing")
    notify.add_argument("--as-of", type=_date, help="截至日期, 默认今天 / as-of date (default today)")
    notify.set_defaults(func=cmd_notify)

    report = sub.add_parser("report", help="生成办理情况通报 (Word) / the Word report", description="生成办理情况通报 (Word) / the Word report")
    _warehouse_arg(report)
    _scope_args(report, unit=False)
    report.add_argument("--out", type=Path, required=True, help="输出 .docx / output file")
    report.set_defaults(func=cmd_report)

    template = sub.add_parser("template", help="生成单位填报模板 / a unit's pre-filled template", description="生成单位填报模板 / a unit's pre-filled template")
    _warehouse_arg(template)
    template.add_argument("--unit", required=True, help="承办单位 / unit")
    template.add_argument("--year", type=int, required=True, help="年度 / year")
    template.add_argument("--out", type=Path, required=True, help="输出 .xlsx / output file")
    template.set_defaults(func=cmd_template)

    export = sub.add_parser("export", help="导出 Excel / Excel exports", description="导出 Excel / Excel exports")
    export.add_argument("what", choices=["chase-list", "ranking", "rejected"],
                        help="催办清单 / 排名 / 拒收行 — chase list, ranking, rejected rows")
    _warehouse_arg(export)
    _scope_args(export)
    export.add_argument("--out", type=Path, required=True, help="输出 .xlsx / output file")
    export.set_defaults(func=cmd_export)

    bench = sub.add_parser("bench", help="性能基准 / benchmark", description="性能基准 / benchmark")
    bench.add_argument("--suggestions", type=int, default=2000, help="每年建议件数 / suggestions a year")
    bench.add_argument("--years", type=int, default=3, help="年数 / years")
    bench.add_argument("--units", type=int, default=100, help="单位数 / units")
    bench.add_argument("--workdir", type=Path, help="工作目录 / working folder")
    bench.add_argument("--json", action="store_true", help="输出 JSON / JSON output")
    bench.add_argument("--only", help="只测这些项, 逗号分隔: etl,read,callbacks,browser,load / only these sections")
    bench.add_argument("--workers", type=int, default=2, help="负载测试的 worker 数 / serve workers")
    bench.add_argument("--users", type=int, default=40, help="负载测试的模拟用户数 / simulated users")
    bench.add_argument("--load-seconds", type=float, default=60, help="负载测试时长 (秒) / load test length")
    bench.add_argument("--max-searches", type=int, help="每个页面最多测几种筛选组合 / filter combinations per view")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(duban_home())
        args.func(args, settings)
        return 0
    except KeyboardInterrupt:
        _echo("已中止 / interrupted")
        return 1
    except Exception as exc:  # noqa: BLE001 - every failure ends as one line on stderr
        if args.debug:
            raise
        _echo(f"错误: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())

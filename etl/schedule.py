"""`duban etl schedule`: pull the sources and refresh, on an interval or a cron expression.

One refresh at a time: the refresh lock (etl/publish.py) makes a second scheduler, or a manual
`duban etl run` during a scheduled one, wait for the next turn instead of running alongside.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from croniter import croniter

from duban.core.settings import Settings
from etl import guard
from etl.pipeline import RefreshFailed, RefreshHeld, run_refresh
from etl.publish import RefreshBusy
from etl.sources import load_sources, pull_folder, pull_sources

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", text or "")
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"间隔应写成 数字+单位, 如 30m、1h、1d (s/m/h/d), 现为 {text!r}")
    return timedelta(seconds=int(match.group(1)) * UNITS[match.group(2)])


def next_run(now: datetime, every: str | None, cron: str | None) -> datetime:
    if cron:
        if not croniter.is_valid(cron):
            raise ValueError(f"cron 表达式无效: {cron!r}")
        return croniter(cron, now).get_next(datetime)
    return now + parse_interval(every)


def run_once(warehouse: Path, inbox: Path, settings: Settings, home: Path | None, sources_file: Path | None,
             log: Callable[[str], None], trusted: bool = False, compare: guard.FiguresOf | None = None,
             after_publish: Callable[[Path], float] | None = None) -> bool:
    """Pull, then refresh. Returns whether a new version was published. ``trusted``: the whole inbox
    is a trusted source; otherwise only the folders of sources marked trusted are. ``compare``: the
    refresh guard's figures (etl/guard.py); a held refresh is logged, never accepted here.
    ``after_publish``: run_refresh's (the dashboard's state for today)."""
    trusted_folders = [inbox] if trusted else []
    if sources_file is not None:
        sources = load_sources(sources_file)
        trusted_folders += [pull_folder(source, inbox) for source in sources if source.trusted]
        written, errors = pull_sources(sources, inbox)
        log(f"已从数据来源取得 {written} 个文件")
        for error in errors:
            log(f"数据来源出错: {error}")
    try:
        report = run_refresh(warehouse, settings, inbox=inbox, home=home, progress=log, trusted_folders=trusted_folders,
                             compare=compare, accept=False, after_publish=after_publish)
    except RefreshBusy as exc:
        log(f"跳过本次: {exc}")
        return False
    except RefreshHeld as exc:
        log(f"本次刷新未发布, 上一版本保持不变. {exc}")
        return False
    except RefreshFailed as exc:
        log(f"本次刷新失败, 上一版本保持不变: {exc}")
        return False
    c = report.counts
    log(f"已发布 {report.version.name}: 读取 {c.rows_read} 行, 载入 {c.loaded}, 被取代 {c.superseded}, 拒收 {c.rejected}")
    return True


def run_schedule(warehouse: Path, inbox: Path, settings: Settings, home: Path | None = None,
                 every: str | None = None, cron: str | None = None, sources_file: Path | None = None,
                 max_runs: int | None = None, log: Callable[[str], None] = print,
                 sleep: Callable[[float], None] = time.sleep, trusted: bool = False,
                 compare: guard.FiguresOf | None = None, after_publish: Callable[[Path], float] | None = None,
                 before_run: Callable[[], object] | None = None,
                 after_run: Callable[[], object] | None = None) -> int:
    """Refresh now, then at every scheduled time, until stopped (or ``max_runs``); every refresh is
    guarded by ``compare`` (the CLI passes the indicator layer's figures). ``before_run``: what each
    refresh must receive first (the CLI's: the deputies' online ratings); ``after_run``: what follows
    each refresh, published or not (the CLI's pushes: items fall due as days pass). A failure of
    either is logged and the schedule goes on."""
    next_run(datetime.now(), every, cron)  # validate before the first run
    runs = 0
    while True:
        log(f"{datetime.now():%Y-%m-%d %H:%M:%S} 开始刷新")
        if before_run is not None:
            try:
                before_run()
            except Exception as exc:  # noqa: BLE001 - the refresh itself must still run
                log(f"刷新前接收代表在线测评失败: {exc}")
        run_once(warehouse, inbox, settings, home, sources_file, log, trusted, compare, after_publish)
        if after_run is not None:
            try:
                after_run()
            except Exception as exc:  # noqa: BLE001 - the next refresh must still run
                log(f"刷新后的推送失败: {exc}")
        runs += 1
        if max_runs is not None and runs >= max_runs:
            return runs
        due = next_run(datetime.now(), every, cron)
        log(f"下次刷新: {due:%Y-%m-%d %H:%M:%S}")
        sleep(max(0.0, (due - datetime.now()).total_seconds()))

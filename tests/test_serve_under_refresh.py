"""Issue 5: the served dashboard under load while refreshes publish new versions.

`duban serve --workers 2 --no-auth` on a free loopback port serves a small warehouse; several
threads click through pages and callbacks while a refresher alternates the published version
between two known states. Every response must be 200/204, no lock error anywhere, every 总览
figure one of the two versions' values, and once publishing stops every worker shows the last one.

The data (worked by hand): four suggestions, leads 1 市教育局, 2 市交通运输局, 3 市教育局 +
市交通运输局, 4 市民政局 (never reports).
  version A: 市教育局 replied to 1 and 3          → completed {1}        → 办结率 1/4 = 25.00%
  version B: + 市交通运输局 replied to 2 and 3    → completed {1, 2, 3}  → 办结率 3/4 = 75.00%
"""

from __future__ import annotations

import csv
import http.client
import json
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from duban.bench import DashRequests, ServeProcess, _http, find_component, run_load
from duban.core.settings import load_settings
from etl.pipeline import run_refresh
from etl.publish import new_build_path, publish, refresh_lock
from warehouse.connection import WarehousePaths

RATE_A, RATE_B = "25.00%", "75.00%"
REGISTER = [
    ["建议编号", "届次", "年度", "类型", "标题", "领衔代表", "类别", "交办日期", "办理期限", "主办单位", "协办单位", "是否重点督办"],
    [1, "十八届一次", 2024, "大会建议", "关于加强中小学课后服务的建议", "王一", "教科文卫体类", "2024-03-01", "2024-06-01", "市教育局", "", "是"],
    [2, "十八届一次", 2024, "大会建议", "关于优化公交线路的建议", "李二", "交通邮电类", "2024-03-01", "2024-06-01", "市交通运输局", "", "否"],
    [3, "十八届一次", 2024, "大会建议", "关于校园周边交通安全的建议", "张三", "教科文卫体类", "2024-03-01", "2024-06-01", "市教育局、市交通运输局", "", "否"],
    [4, "十八届一次", 2024, "大会建议", "关于增加社区养老服务点的建议", "赵四", "民政社保类", "2024-03-01", "2024-06-01", "市民政局", "", "否"],
]
EXPORT_HEADER = ["建议编号", "承办方式", "答复日期", "办理结果", "是否面商", "代表意见"]


def _csv(path: Path, rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)


@pytest.fixture
def served(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("DUBAN_HOME", str(home))
    settings = load_settings(home=home)
    inbox_a, inbox_b = tmp_path / "inbox_a", tmp_path / "inbox_b"
    _csv(inbox_a / "2024年代表建议交办台账.csv", REGISTER)
    _csv(inbox_a / "市教育局_2024-05-01.csv", [EXPORT_HEADER, [1, "主办", "2024-04-20", "A类", "是", "满意"],
                                            [3, "主办", "2024-04-25", "B类", "是", "基本满意"]])
    _csv(inbox_b / "市交通运输局_2024-05-10.csv", [EXPORT_HEADER, [2, "主办", "2024-05-02", "A类", "否", "满意"],
                                                [3, "主办", "2024-05-03", "A类", "是", "满意"]])
    warehouse = tmp_path / "wh" / "duban.duckdb"
    paths = WarehousePaths(warehouse)
    run_refresh(warehouse, settings, inbox=inbox_a, home=home, trusted_folders=[inbox_a])
    version_a = tmp_path / "version_a.duckdb"  # kept aside: publishing a copy of it brings A back
    shutil.copyfile(paths.current_version(), version_a)
    with ServeProcess(warehouse, home, workers=2) as server:
        yield server, settings, home, warehouse, inbox_b, version_a


def _rate(body: bytes) -> str | None:
    props = find_component(json.loads(body), "kpi-completion_rate")
    return props and props.get("children")


def test_serve_under_refresh_has_no_errors_and_only_consistent_figures(served):
    server, settings, home, warehouse, inbox_b, version_a = served
    paths = WarehousePaths(warehouse)
    pages = [(p, s) for p in ("/", "/units", "/overdue", "/key", "/trends", "/data", quote("/units/市教育局"))
             for s in ("", "?year=2024")]
    seen: dict[str, int] = {}
    seen_lock = threading.Lock()

    def check(kind: str, label: str, body: bytes) -> str | None:
        if kind != "POST page callback":
            return None
        if b"render-error" in body:
            return f"{label}: 页面出错"
        if label.split("?")[0] == "/":
            rate = _rate(body)
            with seen_lock:
                seen[rate] = seen.get(rate, 0) + 1
            if rate not in (RATE_A, RATE_B):
                return f"{label}: 办结率 {rate} 不是任一版本的值"
        return None

    publishes = []
    stop = threading.Event()

    def refresher():
        # B by a real refresh (the extra export, then a rebuild from the archive), A by publishing
        # a copy of the A version exactly as a refresh publishes its build
        first = True
        while not stop.is_set():
            run_refresh(warehouse, settings, inbox=inbox_b if first else None, home=home)
            publishes.append("B")
            first = False
            time.sleep(1.0)
            with refresh_lock(paths):
                building = new_build_path(paths)
                shutil.copyfile(version_a, building)
                publish(paths, building, settings.keep_versions)
            publishes.append("A")
            time.sleep(1.0)

    th = threading.Thread(target=refresher, daemon=True)
    th.start()
    try:
        result = run_load(server.port, pages, users=6, seconds=20, think=0.05, check=check,
                          filter_years=[None, 2024])
    finally:
        stop.set()
        th.join(120)
    summary = result.summary()
    assert summary["errors"] == 0, summary["error_samples"]
    assert result.requests >= 300
    assert len(publishes) >= 4, publishes
    assert set(seen) <= {RATE_A, RATE_B} and seen.get(RATE_A) and seen.get(RATE_B), seen

    # quiet now: each worker warms the last version in the background and then serves it; within
    # a few seconds every answer (fresh connections land on either worker) shows the last one
    final = RATE_A if publishes[-1] == "A" else RATE_B
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    reqs = DashRequests(json.loads(_http(conn, "GET", "/_dash-dependencies")[1]))
    conn.close()
    streak, deadline = 0, time.monotonic() + 20
    while streak < 12 and time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        status, body = _http(conn, "POST", "/_dash-update-component", reqs.route("/", ""))
        conn.close()
        assert status == 200 and _rate(body) in (RATE_A, RATE_B)
        streak = streak + 1 if _rate(body) == final else 0
        time.sleep(0.05)
    assert streak == 12, f"最后发布的版本 ({final}) 未在 20 秒内生效"

    log = server.log_path.read_text(encoding="utf-8", errors="replace")
    assert "lock" not in log.lower(), log[-2000:]
    assert "Traceback" not in log, log[-2000:]

"""Inboxes built, at test time, from the real 慈溪 2017 tables in ../shared/realdata/cixi2017, in
the forms that system exported (its README): HTML tables sent as .xls with the system's own
column names — the register per session (会议), per unit a sheet with a 主办件 block and a 协办件
block stacked under their own title rows and headers, and a per-unit summary with a two-level
header. Nothing of the data is copied into the project; a missing folder skips the tests.

What the rows give (the README, checked by hand against the CSVs): 人大 284 suggestions with a
lead unit, 151 replied by 2017-07-02 (A 21, B 96, C 25, D 9), 79 units; 市交通运输局 49 主办,
15 协办, 37 replied.
"""

from __future__ import annotations

import csv
import html
import os
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "cixi2017"
SESSION = "慈溪市人大十七届第一次会议"
AS_OF = "2017-07-02"
DUMP_TIME = datetime(2017, 7, 2, 12, 0).timestamp()  # the dump's date: the files' time

REGISTER_HEADER = ["案号", "案由", "领衔人", "代表团", "性质类别", "状态", "登记日期", "交办日期", "主办单位", "协办单位"]
BLOCK_HEADER = ["案号", "领衔人", "案由", "当前环节", "主办单位", "协办单位", "答复日期"]


def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(f"{REALDATA} 不存在 (真实数据目录只在开发机和 CI 上有), 跳过真实数据测试")
    return REALDATA


def _rows(name: str) -> list[dict]:
    with (realdata() / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def html_table_xls(title_rows: list[str], blocks: list[tuple[str | None, list[str], list[list[str]]]],
                   charset: str = "utf-8") -> bytes:
    """The system's export: `<meta charset><table border=1>` sent as .xls; each block under its
    own title row (a cell spanning the table) and header."""
    width = max(len(header) for _, header, _ in blocks)
    out = [f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}"></head><body>',
           "<table border=1>"]

    def row(cells: list[str], tag: str = "td") -> None:
        out.append("<tr>" + "".join(f"<{tag}>{html.escape(c or '')}</{tag}>" for c in cells) + "</tr>")

    for text in title_rows:
        out.append(f'<tr><td colspan="{width}">{html.escape(text)}</td></tr>')
    for title, header, rows in blocks:
        if title:
            out.append(f'<tr><td colspan="{width}"><b>{html.escape(title)}</b></td></tr>')
        row(header, "th")
        for cells in rows:
            row(cells)
    out.append("</table></body></html>")
    return "\n".join(out).encode(charset)


def write_inbox(inbox: Path) -> dict:
    """The session's register, every unit's 办理件汇总 and the 办理情况统计 summary, as .xls HTML."""
    inbox.mkdir(parents=True, exist_ok=True)
    register = [r for r in _rows("register.csv") if r["会议"] == SESSION]
    handling = {r["motion_id"]: r for r in _rows("handling.csv")}
    co_replies = [r for r in _rows("xieban_replies.csv") if r["会议"] == SESSION and r["状态"] != "作废"]

    files = {}
    files[f"{SESSION}议案建议汇总.xls"] = html_table_xls([f"{SESSION}议案建议汇总"], [(None, REGISTER_HEADER, [
        [r["案号"], r["标题"], r["领衔人ID"], r["领衔人代表团或界别"], r["性质类别"], r["状态"],
         r["登记日期"], r["交办录入日期"], r["主办单位"], r["协办单位"]] for r in register])])

    titles = {r["案号"]: r for r in register if r["主办单位"]}
    lead_rows, co_rows = defaultdict(list), defaultdict(list)
    for r in titles.values():
        reply = handling.get(r["motion_id"], {})
        lead_rows[r["主办单位"]].append([r["案号"], r["领衔人ID"], r["标题"], r["流程环节"], r["主办单位"],
                                        r["协办单位"], reply.get("主办答复日期", ""), reply.get("类别标记", "")])
    for c in co_replies:
        r = titles.get(c["案号"], {})
        co_rows[c["承办单位"]].append([c["案号"], r.get("领衔人ID", ""), r.get("标题", ""), c["状态"],
                                      r.get("主办单位", ""), r.get("协办单位", ""), c["答复日期"]])
    for unit in sorted(set(lead_rows) | set(co_rows)):
        blocks = []
        if lead_rows[unit]:
            blocks.append((f"{unit} 主办件", BLOCK_HEADER + ["类别标记"], lead_rows[unit]))
        if co_rows[unit]:
            blocks.append((f"{unit} 协办件", BLOCK_HEADER, co_rows[unit]))
        files[f"{unit}办理件汇总.xls"] = html_table_xls([f"{unit}办理件汇总"], blocks)

    summary = [[unit, str(len(lead_rows[unit])), str(len(co_rows[unit])), str(len(lead_rows[unit]) + len(co_rows[unit])),
                str(sum(1 for r in lead_rows[unit] if r[6]))] for unit in sorted(set(lead_rows) | set(co_rows))]
    files["办理情况统计20170702.xls"] = summary_xls(summary)

    for name, data in files.items():
        path = inbox / name
        path.write_bytes(data)
        os.utime(path, (DUMP_TIME, DUMP_TIME))
    return files


def summary_xls(rows: list[list[str]]) -> bytes:
    """办理情况统计: 单位 | 办理 (主办 协办 总数) | 办复 (主办) — a two-level header with spans."""
    out = ['<meta charset="utf-8"><table border=1>',
           '<tr><th rowspan="2">单位</th><th colspan="3">办理</th><th colspan="1">办复</th></tr>',
           "<tr><th>主办</th><th>协办</th><th>总数</th><th>主办</th></tr>"]
    out += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows]
    out.append("</table>")
    return "\n".join(out).encode("utf-8")

"""The `duban` command as schedulers and acceptance checks call it: exit codes, bilingual help,
one-line errors, and domain.md's worked example from real files through the ETL to
`duban metrics --json` (the same figures the indicator tests check on a hand-built warehouse)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from duban.cli import build_parser, main
from tests.files import write_xlsx

REGISTER = ["建议编号", "届次", "年度", "类型", "标题", "领衔代表", "类别", "交办日期", "办理期限", "主办单位"]
EXPORT = ["建议编号", "承办方式", "答复日期", "办理结果", "是否面商", "代表意见", "承诺完成时限"]
# domain.md's worked example: ten suggestions, 交办 2024-03-01, deadline 2024-06-01.
REPLIES = [  # number, reply, class, 面商, evaluation, promise
    (1, "2024-05-10", "A类", "是", "满意", None),
    (2, "2024-05-12", "A类", "是", "满意", None),
    (3, "2024-05-20", "A类", "是", "满意", None),
    (4, "2024-05-25", "A类", "否", "满意", None),
    (5, "2024-05-28", "C类", "是", "不满意", None),
    (6, "2024-06-10", "A类", "是", "满意", None),
    (7, "2024-06-15", "B类", "是", "基本满意", "2024-12-31"),
    (8, None, None, None, None, None),
    (9, None, None, None, None, None),
    (10, None, None, None, None, None),
]


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    register = [["2024年市人大代表建议交办台账"], REGISTER] + [
        [n, "十八届一次", 2024, "大会建议", f"第{n}号建议", "王代表", "城乡建设与管理类", "2024-03-01",
         "2024-06-01", "市住房和城乡建设局"] for n in range(1, 11)]
    write_xlsx(inbox / "交办台账.xlsx", {"台账": register})
    export = [["填报单位：市住房和城乡建设局  填报日期：2024年6月30日"], EXPORT] + [
        [n, "主办", reply, cls, face, evaluation, promise] for n, reply, cls, face, evaluation, promise in REPLIES]
    write_xlsx(inbox / "住建局办理情况.xlsx", {"办理情况": export})
    path = tmp_path / "wh" / "duban.duckdb"
    assert main(["etl", "run", "--inbox", str(inbox), "--warehouse", str(path), "--trusted"]) == 0
    return path


def metrics(capsys, warehouse, *extra) -> dict:
    capsys.readouterr()
    assert main(["metrics", "--warehouse", str(warehouse), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_worked_example_through_the_etl_and_the_cli(capsys, warehouse):
    m = metrics(capsys, warehouse, "--year", "2024", "--as-of", "2024-06-30")
    assert (m["total"], m["completed"], m["in_progress"], m["overdue"], m["due_soon"]) == (10, 7, 3, 3, 0)
    assert m["completion_rate"] == pytest.approx(7 / 10)
    assert m["on_time_rate"] == pytest.approx(5 / 10)       # five replies by 06-01, over C 7 + overdue 3
    assert m["face_rate"] == pytest.approx(6 / 7)           # all completed but no. 4
    assert m["class_counts"] == {"A": 5, "B": 1, "C": 1, "D": 0}
    assert m["solved_rate"] == pytest.approx(6 / 7)         # (A 5 + B 1) / 7
    assert m["evaluated"] == 7
    assert m["satisfaction"] == {"满意": 5, "基本满意": 1, "不满意": 1}
    assert m["satisfied_rate"] == pytest.approx(6 / 7)
    assert m["fully_satisfied_rate"] == pytest.approx(5 / 7)
    assert m["promise_kept_rate"] is None                   # no. 7's promise (12-31) is not due yet
    assert m["units"] == 1

    may = metrics(capsys, warehouse, "--year", "2024", "--as-of", "2024-05-15")
    assert (may["total"], may["completed"], may["overdue"]) == (10, 2, 0)   # nos. 1 and 2 replied by 05-15
    assert may["completion_rate"] == pytest.approx(2 / 10)
    assert may["on_time_rate"] == pytest.approx(2 / 2)


def test_unit_scope_adds_the_unit_keys(capsys, warehouse):
    m = metrics(capsys, warehouse, "--unit", "市住房和城乡建设局", "--as-of", "2024-06-30")
    assert (m["lead_assignments"], m["co_assignments"], m["unreported"]) == (10, 0, 0)
    assert m["co_on_time_rate"] is None                     # no co-handling assignment: "—", never 0%


def test_status_names_files_and_ranking_runs(capsys, warehouse):
    capsys.readouterr()
    assert main(["etl", "status", "--warehouse", str(warehouse), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert sorted(f["original_name"] for f in status["files"]) == ["交办台账.xlsx", "住建局办理情况.xlsx"]
    assert main(["ranking", "--warehouse", str(warehouse), "--year", "2024", "--as-of", "2024-06-30", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["unit"] == "市住房和城乡建设局" and row["rank"] == 1


def _export(path, report_date: str, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_xlsx(path, {"办理情况": [[f"填报单位：市住房和城乡建设局  填报日期：{report_date}"], EXPORT, *rows]})


def test_status_shows_what_the_last_refresh_changed_a_held_refresh_and_the_changes(tmp_path, capsys, warehouse):
    inbox = tmp_path / "inbox2"
    # a newer report: no. 1's reply date corrected, no. 8 replied, the others left blank (no change)
    _export(inbox / "住建局办理情况_7月.xlsx", "2024年7月15日",
            [[1, "主办", "2024-05-11", None, None, None, None], [8, "主办", "2024-07-01", "A类", "是", "满意", None]])
    assert main(["etl", "run", "--inbox", str(inbox), "--warehouse", str(warehouse)]) == 0
    held = tmp_path / "inbox3"  # a file whose numbers do not exist: every row rejected
    _export(held / "住建局办理情况_8月.xlsx", "2024年8月1日", [[n, "主办", "2024-07-20", "A类", "是", "满意", None]
                                                            for n in range(91, 99)])
    assert main(["etl", "run", "--inbox", str(held), "--warehouse", str(warehouse)]) == 1
    capsys.readouterr()

    assert main(["etl", "status", "--warehouse", str(warehouse)]) == 0
    text = capsys.readouterr().out
    assert "暂缓发布的刷新 (" in text
    assert "  原因: 市住房和城乡建设局 的行大多被拒收 (此前载入 10 行, 本次新增拒收 8 行)" in text
    assert "  与上一版本相比: 市住房和城乡建设局 拒收行 0 → 8" in text
    assert "--accept" in text
    assert "上次刷新与上一版本相比: 办结 +1" in text and "市住房和城乡建设局 已办结 7 → 8" in text
    assert "  刷新 2:\n    市住房和城乡建设局:\n      第1号 答复日期 2024-05-10 → 2024-05-11  (十八届一次, 《住建局办理情况_7月.xlsx》 工作表 办理情况 第3行, 填报日期 2024-07-15)" in text

    assert main(["etl", "status", "--warehouse", str(warehouse), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["held_refresh"]["held"] == ["市住房和城乡建设局 的行大多被拒收 (此前载入 10 行, 本次新增拒收 8 行)"]
    assert [c["line"] for c in status["changes"]] == ["第1号 答复日期 2024-05-10 → 2024-05-11"]
    assert (status["changes"][0]["refresh_id"], status["changes"][0]["unit"]) == (2, "市住房和城乡建设局")
    assert {"line": "办结 +1", "is_hold": False} in status["differences"]


def test_usage_errors_exit_2_and_failures_exit_1_with_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as usage:
        main(["metrics", "--json"])  # --warehouse missing
    assert usage.value.code == 2
    capsys.readouterr()
    assert main(["metrics", "--warehouse", str(tmp_path / "none.duckdb"), "--json"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("错误:") and "Traceback" not in err[0]


def test_every_subcommand_has_bilingual_help():
    parser = build_parser()
    commands = [["demo"], ["etl", "run"], ["etl", "status"], ["etl", "rebuild"], ["etl", "rollback"],
                ["etl", "schedule"], ["metrics"], ["ranking"], ["serve"], ["users", "add"], ["users", "list"],
                ["users", "disable"], ["users", "passwd"], ["report"], ["template"], ["export"], ["bench"]]
    for words in commands:
        result = subprocess.run([sys.executable, "-m", "duban.cli", *words, "--help"], capture_output=True,
                                text=True)
        assert result.returncode == 0, words
        assert "/" in result.stdout and any("\u4e00" <= ch <= "\u9fff" for ch in result.stdout), words
    assert parser.prog == "duban"


def test_no_auth_is_refused_off_loopback(tmp_path, capsys):
    assert main(["serve", "--warehouse", str(tmp_path / "x.duckdb"), "--host", "0.0.0.0", "--no-auth"]) == 1
    assert "只允许在本机地址" in capsys.readouterr().err

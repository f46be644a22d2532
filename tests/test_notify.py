"""duban notify (issue 17.4): each unit's new 临期/逾期/重办逾期 items and the supervisors' digest,
received by a local HTTP server (generic webhook, 钉钉 robot with 加签) and a local SMTP server, on a
hand-worked warehouse: the exact messages, nothing twice, --dry-run sends and records nothing, a
refused push is tried again."""

from __future__ import annotations

import base64
import email
import hashlib
import hmac
import json
import socketserver
import threading
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from duban.cli import main
from duban.core import appstate
from duban.core.settings import load_settings
from exports.push import Push, parts
from tests.files import write_csv
from tests.warehouse_builder import make_warehouse

SECRET = "SECtest"


class Received:
    """What the local servers were sent; ``answers`` maps a path to the HTTP body to answer."""

    def __init__(self):
        self.http: list[tuple[str, dict]] = []
        self.mail: list[email.message.EmailMessage] = []
        self.answers: dict[str, bytes] = {}


@pytest.fixture
def servers():
    got = Received()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            got.http.append((self.path, body))
            answer = got.answers.get(urlsplit(self.path).path, b'{"errcode": 0, "errmsg": "ok"}')
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    class Smtp(socketserver.StreamRequestHandler):
        """Enough SMTP for smtplib: EHLO/HELO, MAIL, RCPT, DATA, QUIT."""

        def do(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self):
            self.do("220 localhost")
            while line := self.rfile.readline():
                verb = line[:4].upper()
                if verb == b"EHLO":
                    self.do("250-localhost")
                    self.do("250 8BITMIME")
                elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                    self.do("250 OK")
                elif verb == b"DATA":
                    self.do("354 go ahead")
                    data = b""
                    while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                        data += chunk[1:] if chunk.startswith(b"..") else chunk
                    got.mail.append(email.message_from_bytes(data, policy=default_policy))
                    self.do("250 queued")
                elif verb == b"QUIT":
                    self.do("221 bye")
                    return
                else:
                    self.do("500 unknown")

    http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Smtp)
    for server in (http, smtp):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    got.http_port, got.smtp_port = http.server_address[1], smtp.server_address[1]
    yield got
    for server in (http, smtp):
        server.shutdown()
        server.server_close()


def _warehouse(tmp_path):
    """No. 1 市教育局, key (张三), deadline 06-01, unanswered; No. 2 市交通局, deadline 06-20,
    unanswered; No. 3 市交通局 answered C, rated 不满意 05-10 → 重办 due 06-09, not re-answered;
    No. 4 市教育局 answered and 满意."""
    return make_warehouse(
        tmp_path,
        suggestions=[{"number": 1, "assigned_date": "2024-03-01", "title": "关于增加学位的建议", "is_key": True,
                      "key_leader": "张三"},
                     {"number": 2, "assigned_date": "2024-03-20", "title": "关于优化公交线路的建议"},
                     {"number": 3, "assigned_date": "2024-02-01", "title": "关于整治停车难的建议"},
                     {"number": 4, "assigned_date": "2024-03-01", "title": "关于校园安全的建议"}],
        assignments=[{"number": 1, "unit": "市教育局"}, {"number": 2, "unit": "市交通局"},
                     {"number": 3, "unit": "市交通局"}, {"number": 4, "unit": "市教育局"}],
        reports=[{"number": 3, "unit": "市交通局", "report_date": "2024-05-31", "reply_date": "2024-04-20",
                  "result_class": "C", "evaluation": "不满意", "evaluation_date": "2024-05-10"},
                 {"number": 4, "unit": "市教育局", "report_date": "2024-05-31", "reply_date": "2024-05-20",
                  "result_class": "A", "evaluation": "满意", "evaluation_date": "2024-05-25"}])


@pytest.fixture
def setup(tmp_path, monkeypatch, servers):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DUBAN_HOME", str(home))
    base = f"http://127.0.0.1:{servers.http_port}"
    (home / "settings.toml").write_text(f"""
[notify]
supervisors = ["督办室钉钉群", "督办室邮箱"]
[notify.smtp]
host = "127.0.0.1"
port = {servers.smtp_port}
sender = "duban@example.org"
[notify.targets]
"督办室钉钉群" = {{ kind = "dingtalk", url = "{base}/robot/send?access_token=t1", secret = "{SECRET}" }}
"督办室邮箱" = {{ kind = "mail", to = ["dbs@example.org"] }}
""", encoding="utf-8")
    warehouse = _warehouse(tmp_path)
    directory = write_csv(tmp_path / "通讯录.csv", [
        ["单位", "联络员", "联系电话", "推送"],
        ["教育局", "王老师", "13800000001", f"{base}/hook/edu"],  # the register's 市教育局
        ["市交通局", "李工", "13800000002", "jt@example.org"],
        ["市水务局", "赵工", "13800000003", ""],
    ])
    return home, warehouse, directory, servers


EDU = ("【建议办理提醒】市教育局: 新增提醒 1 条\n"
       "截至 2024-06-11, 贵单位主办的建议逾期 1 件、临期 0 件。以下为新增的提醒, 请抓紧办理并及时报送办理情况:\n"
       "· 逾期 【重点】十八届一次 第1号《关于增加学位的建议》 办理期限 2024-06-01, 已逾期 10 天")
TRAFFIC = ["截至 2024-06-11, 贵单位主办的建议逾期 0 件、临期 1 件。以下为新增的提醒, 请抓紧办理并及时报送办理情况:",
           "· 临期 十八届一次 第2号《关于优化公交线路的建议》 办理期限 2024-06-20, 还有 9 天",
           "· 重办逾期 十八届一次 第3号《关于整治停车难的建议》 测评不满意 (2024-05-10) 后应于 2024-06-09 前重新答复, 已逾期 2 天"]
DIGEST_TITLE = "【建议督办汇总】2024-06-11: 新增逾期 1 条、新增不满意 1 条、重点督办件滞后 1 条"
DIGEST = ["截至 2024-06-11: 逾期 1 件次 (涉及建议 1 件), 临期 1 件次, 重办逾期 1 件。",
          "新增逾期 1 条:",
          "· 逾期 【重点】十八届一次 第1号《关于增加学位的建议》 办理期限 2024-06-01, 已逾期 10 天 — 市教育局",
          "新增不满意 1 条:",
          "· 不满意 十八届一次 第3号《关于整治停车难的建议》 — 市交通局 (测评 2024-05-10)",
          "重点督办件滞后 1 条:",
          "· 逾期 (张三督办) 十八届一次 第1号《关于增加学位的建议》 办理期限 2024-06-01, 已逾期 10 天 — 市教育局"]


def _notify(warehouse, *extra, as_of="2024-06-11"):
    return main(["notify", "--warehouse", str(warehouse), "--as-of", as_of, *extra])


def test_each_unit_and_the_supervisors_get_their_alerts_once(setup, capsys):
    home, warehouse, directory, got = setup
    assert main(["units", "import", str(directory), "--warehouse", str(warehouse), "--by", "alice"]) == 0
    out = capsys.readouterr().out
    assert "第4行 \"市水务局\" 不是交办台账中的单位, 按原写法保存" in out and "单位通讯录已更新: 3 个单位" in out
    assert appstate.unit_directory(home)["市教育局"]["liaison"] == "王老师"

    # --dry-run: prints every message, sends and records nothing.
    assert _notify(warehouse, "--dry-run") == 0
    printed = capsys.readouterr().out
    assert "── 发往 市教育局 (127.0.0.1, webhook) ──" in printed and EDU in printed
    assert "── 发往 督办人员 (督办室钉钉群, dingtalk) ──" in printed and DIGEST[-1] in printed
    assert (got.http, got.mail) == ([], [])
    assert _notify(warehouse, "--dry-run") == 0 and "以下 4 条推送" in capsys.readouterr().out

    assert _notify(warehouse) == 0
    assert "共推送 4 条消息" in capsys.readouterr().out
    by_path = {urlsplit(path).path: (path, body) for path, body in got.http}
    assert set(by_path) == {"/hook/edu", "/robot/send"}
    edu = by_path["/hook/edu"][1]
    assert (edu["recipient"], edu["text"]) == ("市教育局", EDU)
    assert edu["items"] == [{"kind": "逾期", "unit": "市教育局", "suggestion": "十八届一次-1", "title": "关于增加学位的建议",
                             "deadline": "2024-06-01", "days_overdue": 10, "days_to_deadline": -10, "key": True}]
    robot_path, robot = by_path["/robot/send"]
    assert robot == {"msgtype": "text", "text": {"content": "\n".join([DIGEST_TITLE, *DIGEST])}}
    query = parse_qs(urlsplit(robot_path).query)  # 钉钉 加签
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{query['timestamp'][0]}\n{SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert (query["access_token"], query["sign"]) == (["t1"], [expected])

    mails = {m["To"]: m for m in got.mail}
    assert set(mails) == {"jt@example.org", "dbs@example.org"}
    traffic = mails["jt@example.org"]
    assert (traffic["Subject"], traffic["From"]) == ("【建议办理提醒】市交通局: 新增提醒 2 条", "duban@example.org")
    assert traffic.get_content().splitlines() == TRAFFIC
    assert mails["dbs@example.org"]["Subject"] == DIGEST_TITLE
    assert mails["dbs@example.org"].get_content().splitlines() == DIGEST

    # Nothing new: nothing sent.
    assert _notify(warehouse) == 0
    assert "没有新的提醒需要推送" in capsys.readouterr().out
    assert (len(got.http), len(got.mail)) == (2, 2)

    # Nine days on, No. 2 (deadline 06-20) is overdue: that alone is new, to 市交通局 and in the digest.
    assert _notify(warehouse, as_of="2024-06-21") == 0
    assert len(got.http) == 3 and len(got.mail) == 4
    assert got.mail[2].get_content().splitlines()[1:] == [
        "· 逾期 十八届一次 第2号《关于优化公交线路的建议》 办理期限 2024-06-20, 已逾期 1 天"]
    assert got.http[2][1]["text"]["content"].splitlines()[2:] == [
        "新增逾期 1 条:", "· 逾期 十八届一次 第2号《关于优化公交线路的建议》 办理期限 2024-06-20, 已逾期 1 天 — 市交通局"]


def test_a_refused_push_is_tried_again_and_units_without_a_target_are_named(setup, capsys):
    home, warehouse, directory, got = setup
    (home / "settings.toml").write_text((home / "settings.toml").read_text(encoding="utf-8").replace(
        'supervisors = ["督办室钉钉群", "督办室邮箱"]', 'supervisors = ["督办室钉钉群"]'), encoding="utf-8")
    write_csv(directory, [["单位", "推送"], ["市教育局", f"http://127.0.0.1:{got.http_port}/hook/edu"]])
    assert main(["units", "import", str(directory), "--warehouse", str(warehouse)]) == 0
    got.answers["/robot/send"] = '{"errcode": 310000, "errmsg": "sign not match"}'.encode()
    assert _notify(warehouse) == 1
    captured = capsys.readouterr()
    assert "推送失败 (下次再试): 督办人员: 推送目标 督办室钉钉群 拒收: sign not match" in captured.out
    assert "没有推送目标的单位 (1 个, 未推送): 市交通局" in captured.out
    assert len(got.http) == 2  # the unit's webhook took its alert; the robot refused the digest
    got.answers.clear()
    assert _notify(warehouse) == 0
    assert [urlsplit(path).path for path, _ in got.http] == ["/hook/edu", "/robot/send", "/robot/send"]
    assert _notify(warehouse) == 0 and len(got.http) == 3


def test_long_pushes_go_in_parts_and_markdown_shows_data_as_text():
    settings = load_settings(None, {"notify": {"targets": {
        "群": {"kind": "wecom", "url": "http://127.0.0.1:9/send", "format": "markdown"}}}})
    target = settings.notify.targets["群"]
    lines = tuple(f"· 第{n}号《关于[链接](http://x)的*建议*》" + "很长" * 40 for n in range(60))
    pieces = parts(Push("市教育局", "提醒", lines), target)
    assert len(pieces) > 1 and [line for p in pieces for line in p.lines] == list(lines)
    assert all(len(p.markdown().encode()) <= 4096 for p in pieces)
    assert pieces[0].title == f"提醒 (1/{len(pieces)})" and pieces[1].title == f"提醒 (续 2/{len(pieces)})"
    shown = pieces[0].markdown()
    assert "[" not in shown and "](" not in shown and "*" not in shown and "［链接］（http://x）" in shown


def test_push_targets_are_checked_when_the_settings_load():
    from duban.core.settings import SettingsError

    with pytest.raises(SettingsError, match=r"\[notify.targets.群\] url 应为 http"):
        load_settings(None, {"notify": {"targets": {"群": {"kind": "dingtalk", "url": "ftp://x"}}}})
    with pytest.raises(SettingsError, match="邮件服务器"):
        load_settings(None, {"notify": {"supervisors": ["a@example.org"]}})
    notify = load_settings(None).notify
    assert notify.target("https://oapi.dingtalk.com/robot/send?access_token=x").kind == "dingtalk"
    assert notify.target("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x").kind == "wecom"
    assert notify.target("http://10.0.0.8/sms").kind == "webhook"
    assert notify.target("someone@example.org").to == ("someone@example.org",)
    assert notify.target("某个群") is None


def test_the_schedule_pushes_after_every_refresh_and_goes_on_when_a_push_fails(tmp_path):
    from etl.schedule import run_schedule

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    calls, log = [], []

    def push():
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("推送目标 督办室 无法连接")

    runs = run_schedule(tmp_path / "w.duckdb", inbox, load_settings(None), home=tmp_path / "home", every="1h",
                        max_runs=2, log=log.append, sleep=lambda _: None, after_run=push)
    assert runs == 2 and calls == [0, 1]
    assert "刷新后的推送失败: 推送目标 督办室 无法连接" in log

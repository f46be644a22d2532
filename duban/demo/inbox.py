"""Demo inbox: a realistic, messy set of real files (交办台账, 办理情况, 满意度测评) for the real ETL.

``write_inbox`` writes, for a made-up city 示范市, one assignment register per year and, for every
handling unit and year, a series of exports whose progress grows over time, in the shapes real
offices send (xlsx/xls/csv in several encodings, title rows, merged headers, varied headers and
spellings), plus a few files and rows that a correct ETL must reject. Everything is derived from
``random.Random(seed)`` and ``as_of``: the same arguments give the same files.

The simulation (who replies when, with which class and evaluation) is computed once per
assignment; each export is a snapshot of it at the export's report date, so a later export
supersedes an earlier one exactly as the contract describes.
"""

from __future__ import annotations

import calendar
import codecs
import csv
import random
import zlib
from bisect import bisect_right
from functools import lru_cache
from itertools import accumulate, cycle
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable

CITY = "示范市"
DEFAULT_AS_OF = date(2026, 11, 22)
FIRST_TERM_YEAR = (18, 2022)  # 十八届一次 is held in 2022; a term has five annual sessions
XLS_MAX_ROWS = 60000  # Excel 97-2003 sheets stop at 65536 rows
LARGE_ROWS = 800  # above this an export is written as CSV (what big systems send), for speed
FIXED_TIME = datetime(2020, 1, 1)  # workbook metadata, so files are byte-identical per seed

CATEGORIES = {
    "教": "教科文卫体类",
    "交": "交通邮电类",
    "农": "农林水利类",
    "工": "工业经济类",
    "城": "城乡建设与管理类",
    "财": "财政金融类",
    "政": "政治法律类",
    "民": "民政社保类",
    "他": "其他",
}
CATEGORY_WEIGHTS = {"教": 20, "交": 12, "农": 9, "工": 12, "城": 18, "财": 4, "政": 7, "民": 14, "他": 4}
COMMITTEE = {
    "教": "教科文卫工委", "交": "城建环保工委", "农": "农业农村工委", "工": "财经工委", "城": "城建环保工委",
    "财": "财经工委", "政": "监察和司法工委", "民": "社会建设工委", "他": "代表工委",
}
SOURCES = (("专题调研", 30), ("集中视察", 15), ("代表小组活动", 25), ("座谈走访", 20), ("其他", 10))
KEY_LEADERS = ("张主任", "王副主任", "李副主任", "刘副主任", "陈副主任", "杨秘书长")
# 重点督办项目: a field's key suggestions followed as one project under one leader (docs/domain.md)
PROJECTS = {"教": "教育优质均衡发展", "交": "城市交通综合治理", "农": "乡村振兴示范建设", "工": "制造业转型升级",
            "城": "老旧小区改造提升", "财": "营商环境优化提升", "政": "基层治理能力建设", "民": "养老服务体系建设",
            "他": "民生实事项目"}
NOT_RATED = date.max  # a 重办's new reply the deputy has not rated (yet)

# canonical name (the register's spelling), categories it leads on, workload weight, abbreviations
# that no generic rule maps back: only ones the shipped alias table (etl/defaults/unit_aliases.csv)
# knows, so that the demo's figures are whole; one deliberate unknown spelling is part of the mess
UNIT_TABLE: list[tuple[str, str, float, tuple[str, ...]]] = [
    ("市教育局", "教", 10, ("市教育局（市语委）", "示范市教育局（市语委）")),
    ("市卫生健康委员会", "教民", 9, ("市卫健委",)),
    ("市住房和城乡建设局", "城", 9, ("市住建局",)),
    ("市交通运输局", "交", 9, ("市交通局",)),
    ("市城市管理委员会", "城", 7, ("市城管委",)),
    ("市规划和自然资源局", "城农", 6, ("市规自局",)),
    ("市公安局", "政交", 6, ()),
    ("市人力资源和社会保障局", "民", 6, ("市人社局",)),
    ("市民政局", "民", 6, ()),
    ("市发展和改革委员会", "工财", 6, ("市发改委",)),
    ("市农业农村局", "农", 6, ()),
    ("市生态环境局", "城农", 5, ()),
    ("市水务局", "农城", 5, ()),
    ("市经济和信息化局", "工", 5, ("市经信局",)),
    ("市文化广电旅游局", "教", 4, ("市文广旅局",)),
    ("市商务局", "工", 4, ()),
    ("市财政局", "财", 4, ()),
    ("市市场监督管理局", "工民", 4, ("市市场监管局",)),
    ("市医疗保障局", "民", 4, ("市医保局",)),
    ("市体育局", "教", 3, ()),
    ("市科学技术局", "教工", 3, ()),
    ("市司法局", "政", 3, ()),
    ("市应急管理局", "政城", 3, ("市应急局",)),
    ("市退役军人事务局", "民", 2, ("市退役军人局",)),
    ("市林业和园林管理局", "农城", 3, ()),
    ("市中级人民法院", "政", 2, ("市中院",)),
    ("市人民检察院", "政", 2, ("市检察院",)),
    ("市地方金融监督管理局", "财", 2, ()),
    ("市国有资产监督管理委员会", "财工", 2, ("市国资委",)),
    ("市政务服务管理和网络理政办公室", "他", 2, ()),
    ("市住房公积金管理中心", "民", 2, ()),
    ("市残疾人联合会", "民", 2, ()),
    ("市审计局", "财", 1, ()),
    ("市统计局", "工", 1, ()),
    ("市投资促进局", "工", 1, ()),
    ("市口岸与物流办公室", "交工", 1, ()),
    ("市机关事务管理局", "他", 1, ()),
    ("市信访局", "政", 1, ()),
    ("市民族宗教事务委员会", "他", 1, ("市民宗委",)),
    ("市外事办公室", "他", 1, ()),
    ("市粮食和物资储备局", "农", 1, ()),
    ("市新经济发展委员会", "工", 1, ()),
    ("市公园城市建设管理局", "城", 2, ()),
    ("市数据局", "他工", 1, ()),
    ("市人民政府办公厅", "他", 1, ()),
    ("市委组织部", "他", 1, ()),
    ("市委宣传部", "教", 1, ()),
    ("市委政法委员会", "政", 1, ()),
    ("市委机构编制委员会办公室", "他", 1, ()),
    ("市委社会工作部", "民", 1, ()),
    ("市总工会", "民", 1, ()),
    ("团市委", "教", 1, ()),
    ("市妇女联合会", "民", 1, ()),
    ("市科学技术协会", "教", 1, ()),
    ("市红十字会", "民", 1, ()),
    ("市气象局", "农", 1, ()),
    ("国家税务总局示范市税务局", "财", 1, ()),
    ("市消防救援支队", "政", 1, ()),
    ("市邮政管理局", "交", 1, ()),
    ("市通信管理办公室", "交", 1, ()),
    ("国网示范供电公司", "工城", 2, ()),
    ("市公共交通集团有限公司", "交", 2, ("市公交集团",)),
    ("市轨道交通集团有限公司", "交", 2, ("市地铁公司", "市轨道集团")),
    ("市兴城投资集团有限公司", "城工", 1, ()),
    ("市环境投资集团有限公司", "城", 1, ("市环境集团",)),
    ("市自来水有限责任公司", "城民", 1, ("市自来水公司",)),
    ("市燃气集团股份有限公司", "工城", 1, ()),
    ("中国移动通信集团示范有限公司", "交", 1, ()),
    ("中国电信示范分公司", "交", 1, ()),
    ("中国联通示范市分公司", "交", 1, ()),
    ("市高新技术产业开发区管理委员会", "工", 2, ("市高新区管委会",)),
    ("市经济技术开发区管理委员会", "工", 1, ("市经开区管委会",)),
    ("市档案馆", "他", 1, ()),
    ("市文物局", "教", 1, ()),
    ("市人民防空办公室", "城", 1, ()),
    ("市城市更新局", "城", 1, ()),
    ("市侨务办公室", "他", 1, ()),
    ("市大数据中心", "他", 1, ()),
    ("市地方志办公室", "他", 1, ()),
    ("市供销合作社联合社", "农", 1, ()),
]
DISTRICTS = (
    "锦湖区", "青石区", "金桥区", "白鹭区", "望江区", "桂溪区", "玉带区", "龙泉湾区", "凤栖区",
    "云台县", "石门县", "南溪县", "清溪县", "凤鸣市", "双河市",
)
# extra units beyond the table (units > ~100): district bureaus
DISTRICT_BUREAUS = ("教育局", "卫生健康局", "住房和城乡建设局", "交通运输局", "农业农村局", "民政局")
# beyond those (units > 185, as a province's congress has): the other bureaus, courts and
# procuratorates of each district, its streets (区) or towns (县, 县级市), and the city's enterprises
MORE_DISTRICT_BUREAUS = (
    "发展和改革局", "财政局", "人力资源和社会保障局", "自然资源和规划局", "生态环境分局", "水务局",
    "文化体育和旅游局", "市场监督管理局", "应急管理局", "城市管理局", "商务局", "经济和信息化局",
    "医疗保障局", "退役军人事务局", "司法局", "审计局", "统计局", "公安分局", "林业局", "科学技术局",
)
DISTRICT_COURTS = ("人民法院", "人民检察院")
# place words of streets and towns: a first and a second character, each pair used once in the city
PLACE_FIRST = "东西南北新金银石龙凤青白黄红马杨柳桃梅松竹花安永太长福兴隆和清双三高古仙云玉宝万丰华乐临孔宁"
PLACE_SECOND = "山河湖桥塘湾坝坪沟岭庄场铺店集口溪林园田坡岗关城门渡港滩洲堰泉峰岩台苑阳亭津寨"
ENTERPRISE_KINDS = ("建设投资集团有限公司", "水务集团有限公司", "交通投资集团有限公司", "文化旅游发展有限公司",
                    "能源集团有限公司", "城市运营服务有限公司", "农业发展集团有限公司", "产业投资有限公司",
                    "供排水有限公司", "公共交通有限公司", "物流集团有限公司", "医药集团有限公司")

TOPICS = {
    "教": ("义务教育学校布局", "中小学课后服务", "学前教育普惠发展", "职业教育产教融合", "社区卫生服务中心建设",
           "基层医疗人才队伍建设", "公共体育场馆开放", "全民健身设施建设", "公共文化服务体系", "历史文化街区保护",
           "老年教育", "儿童青少年近视防控", "中医药传承发展", "院前急救体系建设"),
    "交": ("公交线网优化", "轨道交通站点接驳", "农村客运", "停车设施建设", "城市慢行系统", "货运物流通道建设",
           "电动自行车管理", "学校周边交通秩序", "高速公路出入口拥堵治理", "5G基站建设"),
    "农": ("高标准农田建设", "农村人居环境整治", "河湖长制落实", "农产品冷链物流", "乡村旅游发展",
           "小型水库除险加固", "农村饮水安全", "耕地保护", "农业社会化服务"),
    "工": ("中小企业融资", "数字经济发展", "制造业转型升级", "营商环境优化", "夜间经济", "老字号保护",
           "新能源汽车产业", "电力保障", "天然气供应保障"),
    "城": ("老旧小区改造", "城市内涝治理", "生活垃圾分类", "背街小巷整治", "物业管理", "城市绿道建设",
           "既有住宅加装电梯", "噪声污染治理", "农贸市场改造", "公共厕所建设"),
    "财": ("政府债务管理", "普惠金融", "小微企业减税降费", "政府采购", "国有资产管理", "财政资金绩效评价"),
    "政": ("社区矫正", "矛盾纠纷多元化解", "电信网络诈骗防范", "法律援助", "未成年人保护", "基层法治建设",
           "执行难问题"),
    "民": ("居家养老服务", "社区养老服务设施", "残疾人就业", "困难群众救助", "高校毕业生就业",
           "灵活就业人员参保", "医保异地结算", "退役军人服务保障", "婴幼儿照护服务", "住房公积金提取"),
    "他": ("政务服务一网通办", "12345热线", "基层减负", "档案数字化", "志愿服务", "气象防灾减灾"),
}
TITLE_PATTERNS = (
    "关于加快推进{t}的建议", "关于进一步加强{t}的建议", "关于完善{t}的建议", "关于{d}{t}的建议",
    "关于推动{t}高质量发展的建议", "关于解决{d}{t}有关问题的建议", "关于优化{t}工作的建议",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国红玉志文海云春晓东林燕飞鹏辉波宁琳"

CLASS_LONG = {"A": "已解决或基本解决", "B": "正在解决或列入计划逐步解决", "C": "因条件限制需以后解决", "D": "留作参考"}
CLASS_JIA = {"A": "甲", "B": "乙", "C": "丙", "D": "留作参考"}
FULLWIDTH = str.maketrans("0123456789ABCD", "０１２３４５６７８９ＡＢＣＤ")
CN_DIGITS = "零一二三四五六七八九"


# ── sessions and years ───────────────────────────────────────────────────────────────────────
def cn_number(n: int) -> str:
    if n < 10:
        return CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")


def _term(year: int) -> tuple[int, int]:
    term0, year0 = FIRST_TERM_YEAR
    offset = year - year0
    return term0 + offset // 5, offset % 5 + 1


def session_name(year: int) -> str:
    """Canonical session of a year: 2022 → 十八届一次, 2026 → 十八届五次, 2027 → 十九届一次."""
    term, nth = _term(year)
    return f"{cn_number(term)}届{cn_number(nth)}次"


def session_label(year: int, form: str) -> str:
    term, nth = _term(year)
    if form == "long":
        return f"市{cn_number(term)}届人大{cn_number(nth)}次会议"
    if form == "short":
        return f"{term}-{nth}"
    if form == "full":
        return f"{CITY}第{cn_number(term)}届人民代表大会第{cn_number(nth)}次会议"
    return session_name(year)


def session_closing_date(year: int) -> date:
    """The congress closes in mid-January (a fixed day per year, so settings can list it)."""
    return date(year, 1, 14 + year % 7)


def demo_years(years: int = 3, as_of: date | None = None) -> list[int]:
    """The years an inbox covers, oldest first; the newest is in progress at ``as_of``."""
    as_of = as_of or DEFAULT_AS_OF
    newest = as_of.year if as_of >= date(as_of.year, 4, 1) else as_of.year - 1
    return list(range(newest - years + 1, newest + 1))


def demo_sessions(years: int = 3, as_of: date | None = None) -> dict[str, date]:
    """Session → closing date, for settings [sessions] of a demo warehouse."""
    return {session_name(y): session_closing_date(y) for y in demo_years(years, as_of)}


# ── units ────────────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Unit:
    name: str
    cats: str
    weight: float
    odd_spellings: tuple[str, ...]
    district: str | None = None


def _place_words():
    """Two-character place names (金桥, 龙湾 …), each once, spread over both characters."""
    n_first, n_second = len(PLACE_FIRST), len(PLACE_SECOND)
    for k in range(n_first * n_second):
        shift, i = divmod(k, n_first)
        yield PLACE_FIRST[i] + PLACE_SECOND[(i + shift) % n_second]


def _more_units():
    """Units past the first 185, the kinds taking turns so that any count has some of each."""
    words = _place_words()

    def towns():
        for word, d in zip(words, cycle(DISTRICTS)):
            yield Unit(f"{d}{word}{'街道办事处' if d.endswith('区') else '镇人民政府'}", "", 0.15, (), district=d)

    def enterprises():
        for word, kind in zip(words, cycle(ENTERPRISE_KINDS)):
            yield Unit(f"市{word}{kind}", "", 0.2, ())

    kinds = [(Unit(f"{d}{b}", "", 0.4, (), district=d) for b in MORE_DISTRICT_BUREAUS for d in DISTRICTS),
             (Unit(f"{d}{c}", "政", 0.3, (), district=d) for d in DISTRICTS for c in DISTRICT_COURTS),
             towns(), enterprises(), towns()]  # two turns of towns to one of enterprises
    while kinds:
        for kind in list(kinds):
            unit = next(kind, None)
            if unit is None:
                kinds.remove(kind)
            else:
                yield unit


def demo_units(units: int = 100) -> list[Unit]:
    """The first ``units`` handling units, most loaded first (table, districts, district bureaus,
    then the other bureaus, courts, streets and towns, enterprises)."""
    pool = [Unit(n, c, w, a) for n, c, w, a in UNIT_TABLE]
    for d in DISTRICTS:
        # no categories: districts lead through their own share of assignments (simulate_year); the
        # weight only places them among the departments, so that small demos still have a few
        pool.append(Unit(f"{d}人民政府", "", 3.5, (f"{d}政府", f"{d}人民政府办公室"), district=d))
    pool.sort(key=lambda u: -u.weight)
    for d in DISTRICTS:
        for b in DISTRICT_BUREAUS:
            if len(pool) >= units:
                break
            pool.append(Unit(f"{d}{b}", "", 0.5, (), district=d))
    more = _more_units()
    while len(pool) < units:
        unit = next(more, None)
        if unit is None:
            raise ValueError(f"演示数据最多支持 {len(pool)} 个承办单位")
        pool.append(unit)
    return pool[:units]


def unit_spellings(unit: Unit) -> list[str]:
    """How the unit writes its own name: the canonical one first, then variants."""
    name = unit.name
    out = [name]
    if name.startswith("市") and not name.startswith("市委"):
        out.append(CITY[:-1] + name)  # 示范市教育局
        if name.endswith(("局", "委员会", "办公室", "中心", "联合会")):
            out.append(name[1:])  # 教育局
    if unit.district:
        out.append(CITY + name)
    out.append(name + "（盖章）")
    out.extend(unit.odd_spellings)
    return out


def demo_unit_aliases(units: int = 100) -> dict[str, str]:
    """Every non-canonical spelling the demo uses → canonical name (to seed an alias table)."""
    aliases = {}
    for unit in demo_units(units):
        for spelling in unit_spellings(unit)[1:]:
            aliases[spelling] = unit.name
    return aliases


# ── the simulation ───────────────────────────────────────────────────────────────────────────
@dataclass(slots=True, eq=False)
class Suggestion:
    year: int
    number: int
    kind: str
    title: str
    topic: str
    deputy: str
    cosigners: list[str]
    delegation: str
    cat: str
    source: str
    proposed: date
    assigned: date
    deadline_written: date | None
    deadline: date
    leads: list
    cos: list
    key: bool
    leader: str | None = None
    project: str | None = None


class Assignment:
    """One unit's part in one suggestion, with its whole future; exports are snapshots of it."""
    __slots__ = ("s", "unit", "role", "replies", "promise", "promise_revision", "extension", "co_sent")

    def __init__(self, s: Suggestion, unit: Unit, role: str):
        self.s, self.unit, self.role = s, unit, role
        # replies: [(reply, class, face, eval_date, eval, eval_work)], a second one after 不满意
        self.replies: list[tuple] = []
        self.promise = None  # (text, promised date, kept date or None)
        self.promise_revision = None  # (reported from, another promised date): P stays the first
        self.extension = None  # (approved on, extended to)
        self.co_sent = None


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    y, m = d.year + y, m + 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def _pick(rng: random.Random, weighted) -> object:
    """One item of ((item, weight), ...), by weight."""
    x = rng.random() * sum(w for _, w in weighted)
    for item, w in weighted:
        x -= w
        if x < 0:
            return item
    return weighted[-1][0]


class _Weighted:
    """A fixed weighted pool, drawn from in O(log n) (the simulation draws millions of units)."""

    def __init__(self, items, weights):
        self.items = list(items)
        self.cum = list(accumulate(weights))

    def pick(self, rng: random.Random):
        return self.items[min(bisect_right(self.cum, rng.random() * self.cum[-1]), len(self.items) - 1)]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def _simulate_lead(rng: random.Random, a: Assignment, quality: float, current: bool) -> None:
    s = a.s
    deadline = s.deadline
    if rng.random() < 0.03:
        to = min(add_months(deadline, rng.randint(1, 3)), add_months(s.assigned, 6))
        if to > deadline:
            a.extension = (deadline - timedelta(days=rng.randint(3, 15)), to)
            deadline = to
    span = max((deadline - s.assigned).days, 20)
    if current and rng.random() < 0.02 + (1 - quality) * 0.08:
        reply = deadline + timedelta(days=rng.randint(120, 400))  # stuck: still open at as_of
    elif rng.random() < 0.04 + (1 - quality) * 0.3:
        reply = deadline + timedelta(days=rng.randint(1, 75))
    else:  # most units answer in the last weeks before the deadline
        reply = s.assigned + timedelta(days=round(rng.triangular(15, span, span * 0.85)))
    face = rng.random() < 0.7 + quality * 0.25
    cls = _pick(rng, (("A", 62 + 25 * quality), ("B", 16), ("C", 8), ("D", 4)))
    r = rng.random()
    unhappy = 0.10 if cls in "CD" else 0.03  # a reply that solves nothing is judged harder
    ev = ("不满意" if r < unhappy else "基本满意" if r < unhappy + 0.11 else "未表态" if r < unhappy + 0.13
          else "满意")
    ev_date = reply + timedelta(days=rng.randint(7, 45))
    work = ev if rng.random() < 0.8 or ev == "未表态" else ("满意" if ev != "满意" else "基本满意")
    a.replies.append((reply, cls, face, ev_date, ev, work))
    if ev == "不满意" and rng.random() < 0.6:  # 重新办理: a new reply and evaluation replace the first
        reply2 = ev_date + timedelta(days=rng.randint(15, 50))
        cls2 = rng.choice(("A", "B")) if cls in "CD" else cls
        ev2 = _pick(rng, (("满意", 55), ("基本满意", 30), ("不满意", 15)))
        a.replies.append((reply2, cls2, True, reply2 + timedelta(days=rng.randint(7, 30)), ev2, ev2))
    if any(rep[1] == "B" for rep in a.replies):
        b_reply = next(rep[0] for rep in a.replies if rep[1] == "B")
        promised = add_months(b_reply, rng.randint(1, 9))
        promised = date(promised.year, promised.month, calendar.monthrange(promised.year, promised.month)[1])
        r = rng.random()
        if r < 0.78:
            kept = promised - timedelta(days=rng.randint(0, 50))
            kept = max(kept, b_reply + timedelta(days=1))
        elif r < 0.88:
            kept = promised + timedelta(days=rng.randint(10, 120))
        else:
            kept = None
        text = f"{s.topic}相关工作计划于{promised.year}年{promised.month}月底前完成"
        a.promise = (text, promised, kept)


def _simulate_co(rng: random.Random, a: Assignment, quality: float) -> None:
    if rng.random() < 0.97:
        a.co_sent = a.s.assigned + timedelta(days=rng.randint(5, int(30 + (1 - quality) * 40)))


@dataclass
class YearData:
    year: int
    suggestions: list[Suggestion]
    by_unit: dict[str, list[Assignment]]  # unit name → its assignments, by number


def simulate_year(rng: random.Random, year: int, n: int, units: list[Unit], deputies: list[tuple[str, str]],
                  quality: dict[str, float], as_of: date, current: bool) -> YearData:
    """The register and every assignment's future for one year's session."""
    session_day = date(year, 3, 8 + year % 5)
    congress_days = (session_day, session_day + timedelta(days=rng.choice((0, 1, 2))))
    late_start = date(year, 4, 15)
    late_end = min(date(year + 1, 1, 25), as_of - timedelta(days=5))
    n_closed = int(n * 0.15) if late_end > late_start else 0
    closed_dates = sorted(late_start + timedelta(days=rng.randint(0, (late_end - late_start).days))
                          for _ in range(n_closed))
    by_cat: dict[str, list[Unit]] = {}
    for u in units:
        for c in u.cats:
            by_cat.setdefault(c, []).append(u)
    pools = {c: _Weighted(us, [u.weight for u in us]) for c, us in by_cat.items()}
    everyone = _Weighted(units, [u.weight for u in units])
    district_units = [u for u in units if u.district and u.name.endswith("人民政府")]
    districts = _Weighted(district_units, [1] * len(district_units)) if district_units else None
    cats = _Weighted(CATEGORY_WEIGHTS, CATEGORY_WEIGHTS.values())
    deadline_written = rng.choice(("blank", "mixed", "filled"))
    suggestions = []
    by_unit: dict[str, list[Assignment]] = {}
    for i in range(n):
        number = i + 1
        kind = "大会建议" if i < n - n_closed else "闭会建议"
        assigned = rng.choice(congress_days) if kind == "大会建议" else closed_dates[i - (n - n_closed)]
        proposed = (session_closing_date(year) - timedelta(days=rng.randint(0, 4)) if kind == "大会建议"
                    else assigned - timedelta(days=rng.randint(5, 30)))
        cat = cats.pick(rng)
        deputy, delegation = rng.choice(deputies)
        place = rng.choice(DISTRICTS) if rng.random() < 0.3 else "我市"
        topic = rng.choice(TOPICS[cat])
        title = rng.choice(TITLE_PATTERNS).format(t=topic, d=place)
        deadline = add_months(assigned, 3)
        written = None
        if deadline_written == "filled" or (deadline_written == "mixed" and rng.random() < 0.5):
            written = deadline
            if kind == "大会建议" and deadline_written == "filled" and year % 2:
                written = deadline = date(year, 6, 30)  # some years set one date for all 大会建议
        candidates = pools.get(cat, everyone)
        n_leads = _pick(rng, ((1, 92), (2, 6), (3, 2)))
        leads: list[Unit] = []
        for attempt in range(n_leads * 6):  # bounded: a small pool may not have n_leads distinct units
            if len(leads) >= n_leads:
                break
            pool = districts if districts and rng.random() < 0.18 else candidates if attempt < n_leads * 3 else everyone
            u = pool.pick(rng)
            if u not in leads:
                leads.append(u)
        n_cos = _pick(rng, ((0, 45), (1, 30), (2, 17), (3, 8)))
        cos: list[Unit] = []
        for _ in range(n_cos * 3):
            if len(cos) >= n_cos:
                break
            pool = districts if districts and rng.random() < 0.3 else everyone
            u = pool.pick(rng)
            if u not in leads and u not in cos:
                cos.append(u)
        n_cosigners = _pick(rng, ((0, 30), (1, 15), (2, 15), (3, 15), (5, 10), (8, 10), (12, 5)))
        s = Suggestion(year=year, number=number, kind=kind, title=title, topic=topic, deputy=deputy,
                       cosigners=[d for d, _ in rng.sample(deputies, n_cosigners) if d != deputy],
                       delegation=delegation, cat=cat,
                       source=_pick(rng, SOURCES), proposed=proposed, assigned=assigned,
                       deadline_written=written, deadline=deadline, leads=leads, cos=cos,
                       key=rng.random() < 0.05)
        if s.key:
            s.leader = rng.choice(KEY_LEADERS)
        suggestions.append(s)
        role = "分办" if len(leads) > 1 else "主办"
        for u in leads:
            a = Assignment(s, u, role)
            _simulate_lead(rng, a, quality[u.name], current)
            by_unit.setdefault(u.name, []).append(a)
        for u in cos:
            a = Assignment(s, u, "协办")
            _simulate_co(rng, a, quality[u.name])
            by_unit.setdefault(u.name, []).append(a)
    yd = YearData(year, suggestions, by_unit)
    # from a stream of its own (seeded by this one's state, which it leaves as it is): the figures
    # drawn above stay what they were before the follow-through was simulated
    _follow_through(random.Random(hash(rng.getstate()[1])), yd, as_of, current)  # ints: the same every run
    return yd


def dates_ratings(unit: Unit) -> bool:
    """Units whose exports always date their ratings (a 测评日期 column): only there can a re-reply
    still unrated be told from a new 不满意 (undated, a carried rating takes the reply's date)."""
    return zlib.crc32(unit.name.encode()) % 3 == 1


def _follow_through(rng: random.Random, yd: YearData, as_of: date, current: bool) -> None:
    """What happens after the replies (docs/domain.md, 跟踪落实): key suggestions of one field form a
    重点督办项目 under one leader; some 重办 replies are not rated again yet (已重新答复); in the running
    year a few replies are rated 不满意 lately (重办中); some B promises are revised by a later report
    (another 承诺完成时限) and then kept late or not at all."""
    by_field: dict[str, list[Suggestion]] = {}
    for s in yd.suggestions:
        if s.key:
            by_field.setdefault(s.cat, []).append(s)
    for cat, group in by_field.items():
        if len(group) > 1:
            for s in group:
                s.project, s.leader = PROJECTS[cat], group[0].leader
    for work in yd.by_unit.values():
        for a in work:
            if a.role == "协办" or not a.replies:
                continue
            if len(a.replies) > 1 and dates_ratings(a.unit) and rng.random() < 0.5:
                reply, cls, face, _, ev, work_ev = a.replies[-1]
                a.replies[-1] = (reply, cls, face, NOT_RATED, ev, work_ev)
            elif current and len(a.replies) == 1 and rng.random() < 0.01:
                reply, cls, face, _, _, _ = a.replies[0]
                rated = as_of - timedelta(days=rng.randint(3, 20))
                if reply < rated:
                    a.replies[0] = (reply, cls, face, rated, "不满意", "不满意")
            if a.promise and rng.random() < 0.12:
                text, promised, kept = a.promise
                revised = add_months(promised, rng.randint(2, 6))
                revised = date(revised.year, revised.month, calendar.monthrange(revised.year, revised.month)[1])
                first_b = next(rep[0] for rep in a.replies if rep[1] == "B")
                a.promise_revision = (max(first_b + timedelta(days=30), promised - timedelta(days=rng.randint(5, 40))),
                                      revised)
                late = promised + timedelta(days=rng.randint(10, (revised - promised).days))
                a.promise = (text, promised, late if rng.random() < 0.6 else None)


# ── cells and writers ────────────────────────────────────────────────────────────────────────
class Sheet:
    """Rows of cells (str, int, float, date, datetime or None); merges as (r1, c1, r2, c2)."""

    def __init__(self, name: str):
        self.name = name
        self.rows: list[list] = []
        self.merges: list[tuple[int, int, int, int]] = []


def _excel_serial(d: date) -> int:
    return (d - date(1899, 12, 30)).days


@lru_cache(maxsize=None)
def format_date(d: date, style: str):
    if style == "native":
        return d
    if style == "iso":
        return d.isoformat()
    if style == "slash":
        return f"{d.year}/{d.month}/{d.day}"
    if style == "dot":
        return f"{d.year}.{d.month}.{d.day}"
    if style == "cn":
        return f"{d.year}年{d.month}月{d.day}日"
    if style == "compact":
        return d.strftime("%Y%m%d")
    if style == "datetime":
        return d.isoformat() + " 00:00:00"
    if style == "serial":
        return _excel_serial(d)
    raise ValueError(style)


TEXT_DATE_STYLES = ("iso", "slash", "dot", "cn", "compact", "datetime")


codecs.register_error("duban_space", lambda err: (" " * (err.end - err.start), err.end))


def write_csv(path: Path, sheet: Sheet, encoding: str) -> None:
    # csv writes None as "" and other values through str(): dates come out as 2024-03-05, as an
    # export tool writes them. Characters GBK lacks (nbsp) become spaces, as a GBK export does.
    with open(path, "w", encoding=encoding, errors="duban_space", newline="") as fh:
        csv.writer(fh).writerows(sheet.rows)


def write_xlsx(path: Path, sheets: list[Sheet]) -> None:
    import xlsxwriter

    big = sum(len(s.rows) for s in sheets) > 2000
    # small files are assembled in memory (temp files cost more than the data); big ones stream rows
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": big, "in_memory": not big, "strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"created": FIXED_TIME, "author": "", "title": ""})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    dt_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    head_fmt = wb.add_format({"bold": True, "align": "center", "valign": "vcenter", "text_wrap": True})
    for sheet in sheets:
        ws = wb.add_worksheet(sheet.name)
        merged_first = {(r1, c1): (r2, c2) for r1, c1, r2, c2 in sheet.merges}
        for r, row in enumerate(sheet.rows):
            for c, v in enumerate(row):
                if (r, c) in merged_first:
                    r2, c2 = merged_first[(r, c)]
                    ws.merge_range(r, c, r2, c2, "" if v is None else v, head_fmt)
                elif v is None:
                    continue
                elif isinstance(v, str):
                    ws.write_string(r, c, v)
                elif isinstance(v, datetime):
                    ws.write_datetime(r, c, v, dt_fmt)
                elif isinstance(v, date):
                    ws.write_datetime(r, c, datetime(v.year, v.month, v.day), date_fmt)
                else:
                    ws.write_number(r, c, v)
    wb.close()


def write_xls(path: Path, sheets: list[Sheet]) -> None:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for sheet in sheets:
        ws = wb.add_sheet(sheet.name)
        merged_first = {(r1, c1): (r2, c2) for r1, c1, r2, c2 in sheet.merges}
        for r, row in enumerate(sheet.rows):
            for c, v in enumerate(row):
                if (r, c) in merged_first:
                    r2, c2 = merged_first[(r, c)]
                    ws.write_merge(r, r2, c, c2, v)
                elif v is None:
                    continue
                elif isinstance(v, date):
                    ws.write(r, c, v, date_style)
                else:
                    ws.write(r, c, v)
    wb.save(str(path))


def write_table(path: Path, sheets: list[Sheet], fmt: str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        write_xlsx(path, sheets)
    elif fmt == "xls":
        write_xls(path, sheets)
    else:
        write_csv(path, sheets[0], encoding)


# ── the register ─────────────────────────────────────────────────────────────────────────────
# Register shapes, newest year first: the newest year gets the first, and so on, cycling.
REGISTER_SHAPES = ("xlsx_two_level", "xls", "csv_gbk", "xlsx_sheet_session", "csv_bom")


def _number_text(number: int, year: int, style: str):
    if style == "plain":
        return number
    if style == "hao":
        return f"第{number}号"
    if style == "padded":
        return f"{number:04d}"
    if style == "year":
        return f"{year}-{number:03d}"
    if style == "jianyi":
        return f"建议第{number}号"
    if style == "fullwidth":
        return f"第{str(number).translate(FULLWIDTH)}号"
    raise ValueError(style)


def _join_units(rng: random.Random, names: list[str]) -> str:
    return rng.choice(("、", "；", "\n", "，")).join(names)


def build_register(rng: random.Random, yd: YearData, shape: str, large: bool) -> tuple[str, list[Sheet], str, str]:
    """(file name, sheets, format, encoding) of one year's 交办台账."""
    year = yd.year
    fmt = {"xlsx_two_level": "xlsx", "xls": "xls", "csv_gbk": "csv", "xlsx_sheet_session": "xlsx",
           "csv_bom": "csv"}[shape]
    if fmt == "xls" and len(yd.suggestions) > XLS_MAX_ROWS:
        fmt = "xlsx"
    if fmt == "xlsx" and large:
        fmt, shape = "csv", "csv_bom"
    encoding = "gbk" if shape == "csv_gbk" else "utf-8-sig"
    native = fmt != "csv"
    session_form = {"xlsx_two_level": "canonical", "xls": "long", "csv_gbk": "short", "xlsx_sheet_session": None,
                    "csv_bom": "canonical"}[shape]
    number_style = {"xlsx_two_level": "hao", "xls": "plain", "csv_gbk": "year", "xlsx_sheet_session": "padded",
                    "csv_bom": "plain"}[shape]
    with_year = shape in ("csv_gbk", "csv_bom")
    cat_suffix = rng.random() < 0.5
    cosign_as_count = shape in ("xls", "csv_bom")
    lead_header = "分办单位" if shape == "csv_bom" else rng.choice(("主办单位", "牵头单位"))
    co_header = rng.choice(("协办单位", "会办单位"))
    key_mark = rng.choice(("是", "√", "Y", "1", "重点"))
    date_styles = ["native"] if native else []
    date_styles += ["iso", "slash", "cn"]

    def dt(d: date | None):
        if d is None:
            return None
        style = date_styles[0] if rng.random() < 0.8 else rng.choice(date_styles)
        if native and style == "native" and rng.random() < 0.03:
            return _excel_serial(d)  # a date pasted as a bare number
        return format_date(d, style)

    basic = ["建议编号"] + (["届次" if session_form == "canonical" else "会议" if session_form == "long"
                            else "届次会次"] if session_form else [])
    basic += (["年度"] if with_year else []) + ["类型", "标题", "领衔代表",
                                                 "附议人数" if cosign_as_count else "附议代表", "代表团",
                                                 "类别", "形成来源", "提出日期"]
    assign = ["交办日期", "办理期限", lead_header, co_header]
    key = ["是否重点督办", "督办领导", "联系委室",
           {"xlsx_two_level": "督办项目", "xls": "重点督办项目", "csv_gbk": "督办专题"}.get(shape, "重点督办建议项目")]
    header = basic + assign + key
    title = (f"{session_label(year, 'full')}代表建议交办台账" if shape != "csv_gbk"
             else f"{year}年代表建议交办情况一览表")
    sheet_name = session_name(year) if shape == "xlsx_sheet_session" else "交办台账"
    sheet = Sheet(sheet_name)
    sheet.rows.append([title] + [None] * (len(header) - 1))
    if fmt != "csv":
        sheet.merges.append((0, 0, 0, len(header) - 1))
    if shape == "xlsx_two_level":
        top = (["基本情况"] + [None] * (len(basic) - 1) + ["交办情况"] + [None] * (len(assign) - 1)
               + ["重点督办"] + [None] * (len(key) - 1))
        sheet.rows.append(top)
        sheet.merges += [(1, 0, 1, len(basic) - 1), (1, len(basic), 1, len(basic) + len(assign) - 1),
                         (1, len(basic) + len(assign), 1, len(header) - 1)]
    elif shape == "xls":
        sheet.rows.append([f"交办日期：{year}年3月  编制：市人大常委会代表工委、市政府督查室"] + [None] * (len(header) - 1))
    sheet.rows.append(header)
    for s in yd.suggestions:
        row = [_number_text(s.number, year, number_style)]
        if session_form:
            row.append(session_label(year, session_form))
        if with_year:
            row.append(year)
        kind = s.kind if rng.random() < 0.9 else s.kind[:2]
        cat = CATEGORIES[s.cat]
        if not cat_suffix and cat.endswith("类"):
            cat = cat[:-1]
        cosign = (len(s.cosigners) if cosign_as_count else "、".join(s.cosigners) or None)
        row += [kind, s.title, s.deputy, cosign, s.delegation, cat, s.source, dt(s.proposed),
                dt(s.assigned), dt(s.deadline_written), _join_units(rng, [u.name for u in s.leads]),
                "、".join(u.name for u in s.cos) or None,
                key_mark if s.key else (rng.choice(("否", None)) if key_mark == "是" else None),
                s.leader, COMMITTEE[s.cat] if s.key else None, s.project]
        sheet.rows.append(row)
    sheet.rows.append([None] * len(header))
    sheet.rows.append([f"共{len(yd.suggestions)}件。制表：市人大常委会代表工作委员会"] + [None] * (len(header) - 1))
    ext = {"xlsx": "xlsx", "xls": "xls", "csv": "csv"}[fmt]
    name = (f"{session_label(year, 'long')}代表建议交办台账.{ext}" if shape == "xlsx_sheet_session"
            else f"{year}年代表建议交办台账.{ext}")
    return name, [sheet], fmt, encoding


# ── unit exports ─────────────────────────────────────────────────────────────────────────────
HEADER_CHOICES = {
    "seq": ("序号",),
    "number": ("建议编号", "编号", "建议号", "案号"),
    "year": ("年度", "年份"),
    "session": ("届次", "会次"),
    "title": ("建议标题", "标题", "案由", "建议名称"),
    "lead_deputy": ("领衔代表", "领衔人"),
    "unit": ("承办单位", "办理单位"),
    "role": ("承办方式", "办理方式", "主办/协办"),
    "status": ("办理状态", "状态"),
    "reply_date": ("答复日期", "办复日期", "书面答复日期", "答复时间"),
    "co_date": ("协办意见报送日期",),
    "result_class": ("办理结果", "答复类别", "结果分类", "办理类别"),
    "face": ("是否面商", "面商"),
    "evaluation": ("代表意见", "满意度", "代表满意度", "测评结果"),
    "evaluation_work": ("办理工作满意度",),
    "evaluation_date": ("测评日期", "反馈日期"),
    "promise_text": ("承诺事项",),
    "promise_date": ("承诺完成时限", "承诺解决时间"),
    "promise_kept": ("是否兑现", "落实情况"),
    "promise_kept_date": ("兑现日期",),
    "extension_date": ("延期至", "批准延期"),
    "contact_name": ("联系人",),
    "contact_phone": ("联系电话",),
    "remark": ("备注",),
}


@dataclass
class ExportStyle:
    fmt: str
    encoding: str
    fields: list[str]
    headers: dict[str, str]
    number_style: str
    date_style: str
    mixed_dates: bool
    class_style: str
    face_style: str  # yesno / method
    eval_blank: str | None
    no_date_word: str | None
    title: str  # none / title / title_and_cell / cell_only
    unit_in: str  # column / cell / filename
    date_in: str  # cell / title / filename
    split: bool
    explain: bool
    signature: bool
    spelling: str
    separator: str  # between 填报单位：… and 填报日期：… in one cell
    nbsp: bool
    name_pattern: int


def choose_style(rng: random.Random, unit: Unit, rows_hint: int) -> ExportStyle:
    fmt, encoding = _pick(rng, ((("xlsx", ""), 68), (("xls", ""), 10), (("csv", "utf-8"), 8),
                                (("csv", "utf-8-sig"), 8), (("csv", "gbk"), 6)))
    if rows_hint > LARGE_ROWS:
        fmt, encoding = "csv", encoding or "utf-8-sig"
    split = fmt != "csv" and rng.random() < 0.2
    fields = ["seq", "number"]
    for optional, p in (("year", 0.25), ("session", 0.15)):
        if rng.random() < p:
            fields.append(optional)
    fields.append("title")
    if rng.random() < 0.4:
        fields.append("lead_deputy")
    unit_in = _pick(rng, (("column", 35), ("cell", 40), ("filename", 25)))
    if unit_in == "column":
        fields.append("unit")
    if not split:
        fields.append("role")
    if rng.random() < 0.6:
        fields.append("status")
    fields.append("reply_date")
    if rng.random() < 0.3:
        fields.append("co_date")
    fields += ["result_class", "face", "evaluation"]
    if rng.random() < 0.15:
        fields.append("evaluation_work")
    if rng.random() < 0.35 or dates_ratings(unit):
        fields.append("evaluation_date")
    if rng.random() < 0.75:
        fields += ["promise_text", "promise_date", "promise_kept"]
    if rng.random() < 0.7:
        fields.append("extension_date")
    if rng.random() < 0.8:
        fields += ["contact_name", "contact_phone"]
    if rng.random() < 0.5:
        fields.append("remark")
    headers = {f: rng.choice(HEADER_CHOICES[f]) for f in fields}
    if "evaluation_work" in fields:
        headers["evaluation"] = "办理结果满意度"
    # a third of the units say when a promise was kept (by name, not by the style's random stream)
    if "promise_kept" in fields and zlib.crc32(unit.name.encode()) % 3 == 0:
        fields.insert(fields.index("promise_kept") + 1, "promise_kept_date")
        headers["promise_kept_date"] = HEADER_CHOICES["promise_kept_date"][0]
    face_style = "method" if rng.random() < 0.25 else "yesno"
    if face_style == "method":
        headers["face"] = "沟通方式"
    if "promise_kept" in fields and headers["promise_kept"] == "落实情况" and "promise_text" in fields:
        headers["promise_text"] = "承诺事项"
    title = _pick(rng, (("none", 15), ("title", 30), ("title_and_cell", 40), ("cell_only", 15)))
    date_in = "filename" if unit_in == "filename" and rng.random() < 0.6 else _pick(
        rng, (("cell", 50), ("title", 30), ("filename", 20)))
    if date_in == "cell" and title in ("none", "title"):
        title = "cell_only" if title == "none" else "title_and_cell"
    if unit_in == "cell" and title in ("none", "title"):
        title = "title_and_cell"
    if date_in == "title" and title in ("none", "cell_only"):
        title = "title" if title == "none" else "title_and_cell"
    has_year = (title in ("title", "title_and_cell") or (title == "cell_only" and date_in != "cell")
                or "year" in fields or "session" in fields)
    if not has_year:  # a Jan export of last year's items must still say which year it covers
        fields.insert(2, "year")
        headers["year"] = rng.choice(HEADER_CHOICES["year"])
    spellings = unit_spellings(unit)
    spelling = spellings[0] if rng.random() < 0.45 else rng.choice(spellings)
    if unit_in == "filename":  # a file name is typed by hand: no (盖章), no second name in brackets
        spelling = spelling.split("（")[0]
    return ExportStyle(
        fmt=fmt, encoding=encoding, fields=fields, headers=headers,
        number_style=_pick(rng, (("plain", 35), ("hao", 25), ("padded", 10), ("year", 15), ("jianyi", 5),
                                 ("fullwidth", 10))),
        date_style=rng.choice(("native", "native", "iso", "slash", "cn", "dot", "datetime")) if fmt != "csv"
        else rng.choice(TEXT_DATE_STYLES),
        mixed_dates=rng.random() < 0.25,
        class_style=_pick(rng, (("A", 30), ("A类", 35), ("Ａ类", 10), ("甲", 8), ("long", 17))),
        face_style=face_style,
        eval_blank=rng.choice((None, None, "未反馈", "未测评", "未表态")),
        no_date_word=rng.choice((None, None, None, "未答复", "待定")),
        title=title, unit_in=unit_in, date_in=date_in, split=split,
        explain=split and rng.random() < 0.6, signature=rng.random() < 0.5, spelling=spelling,
        separator=rng.choice(("  ", "    ", "\u3000\u3000")),
        nbsp=fmt != "csv" and rng.random() < 0.15, name_pattern=rng.randint(0, 3),
    )


def _class_text(cls: str, style: str) -> str:
    if style == "A":
        return cls
    if style == "A类":
        return cls + "类"
    if style == "Ａ类":
        return cls.translate(FULLWIDTH) + "类"
    if style == "甲":
        return CLASS_JIA[cls]
    return CLASS_LONG[cls]


def snapshot(a: Assignment, rd: date) -> dict:
    """What the unit knows about its assignment on report date ``rd``."""
    s = a.s
    out = {"number": s.number, "title": s.title, "lead_deputy": s.deputy, "role": a.role}
    if a.role == "协办":
        sent = a.co_sent if a.co_sent and a.co_sent <= rd else None
        out["co_date"] = sent
        out["status"] = "协办意见已报送" if sent else "办理中"
        return out
    rep = None
    for candidate in a.replies:
        if candidate[0] <= rd:
            rep = candidate
    if a.extension and a.extension[0] <= rd:
        out["extension_date"] = a.extension[1]
    if rep is None:
        out["status"] = "未办理" if (rd - s.assigned).days < 20 else "办理中"
        return out
    reply, cls, face, ev_date, ev, work = rep
    out.update(reply_date=reply, result_class=cls, face=face, status="已答复")
    if ev_date <= rd:
        out.update(evaluation=ev, evaluation_work=work, evaluation_date=ev_date)
        out["status"] = "重新办理中" if ev == "不满意" and len(a.replies) > 1 else "已办结"
    if cls == "B" and a.promise:
        text, promised, kept = a.promise
        revision = a.promise_revision
        out.update(promise_text=text, promise_date=revision[1] if revision and revision[0] <= rd else promised)
        out["promise_kept"] = True if kept and kept <= rd else (False if promised < rd else None)
        if kept and kept <= rd:
            out["promise_kept_date"] = kept
    return out


class ExportWriter:
    """Turns snapshots into cells in one unit's style (one small method per column, chosen once)."""

    def __init__(self, rng: random.Random, style: ExportStyle, unit: Unit, year: int):
        self.rng, self.style, self.unit, self.year = rng, style, unit, year
        self.session = session_name(year)
        self.unit_cell = style.spelling.replace("（盖章）", "")
        self.co_in_reply = "co_date" not in style.fields
        self.kept_words = (("否", "是") if style.headers.get("promise_kept") == "是否兑现" else ("未兑现", "已兑现"))
        self.pending_word = "推进中" if style.headers.get("promise_kept") == "落实情况" else None
        self.cells = [getattr(self, "_" + f) for f in style.fields]

    def date(self, d: date | None):
        if d is None:
            return None
        if self.style.mixed_dates and self.rng.random() < 0.15:
            return format_date(d, self.rng.choice(TEXT_DATE_STYLES))
        return format_date(d, self.style.date_style)

    def row(self, seq: int, snap: dict, contact: tuple[str, str]) -> list:
        return [cell(seq, snap, contact) for cell in self.cells]

    def _seq(self, seq, snap, contact):
        return seq

    def _number(self, seq, snap, contact):
        v = _number_text(snap["number"], self.year, self.style.number_style)
        return f"{v}\xa0" if self.style.nbsp and self.rng.random() < 0.05 else v

    def _year(self, seq, snap, contact):
        return self.year

    def _session(self, seq, snap, contact):
        return self.session

    def _title(self, seq, snap, contact):
        v = snap["title"]
        if self.style.nbsp and self.rng.random() < 0.1:
            return v.replace("关于", "关于\xa0", 1)
        if self.rng.random() < 0.03:  # text pasted from a wrapped cell
            return v[:len(v) // 2] + "\n" + v[len(v) // 2:]
        return v

    def _lead_deputy(self, seq, snap, contact):
        return snap["lead_deputy"]

    def _unit(self, seq, snap, contact):
        return self.unit_cell

    def _role(self, seq, snap, contact):
        role = snap["role"]
        return "会办" if role == "协办" and self.rng.random() < 0.1 else role

    def _status(self, seq, snap, contact):
        return snap["status"]

    def _reply_date(self, seq, snap, contact):
        if snap["role"] == "协办":
            return self.date(snap.get("co_date")) if self.co_in_reply else None
        v = self.date(snap.get("reply_date"))
        return self.style.no_date_word if v is None else v

    def _co_date(self, seq, snap, contact):
        return self.date(snap.get("co_date"))

    def _evaluation_date(self, seq, snap, contact):
        return self.date(snap.get("evaluation_date"))

    def _promise_date(self, seq, snap, contact):
        return self.date(snap.get("promise_date"))

    def _extension_date(self, seq, snap, contact):
        return self.date(snap.get("extension_date"))

    def _result_class(self, seq, snap, contact):
        v = snap.get("result_class")
        return _class_text(v, self.style.class_style) if v else None

    def _face(self, seq, snap, contact):
        v = snap.get("face")
        if v is None:
            return None
        if self.style.face_style == "yesno":
            return "是" if v else "否"
        return "面商" if v else self.rng.choice(("电话", "书面"))

    def _evaluation(self, seq, snap, contact, key="evaluation"):
        v = snap.get(key)
        if v == "基本满意" and self.rng.random() < 0.15:
            return "比较满意"
        if v == "未表态" or (v is None and snap.get("reply_date")):
            return self.style.eval_blank
        return v

    def _evaluation_work(self, seq, snap, contact):
        return self._evaluation(seq, snap, contact, "evaluation_work")

    def _promise_text(self, seq, snap, contact):
        return snap.get("promise_text")

    def _promise_kept_date(self, seq, snap, contact):
        return self.date(snap.get("promise_kept_date"))

    def _promise_kept(self, seq, snap, contact):
        v = snap.get("promise_kept")
        if v is not None:
            return self.kept_words[v]
        return self.pending_word if snap.get("promise_text") else None

    def _contact_name(self, seq, snap, contact):
        return contact[0]

    def _contact_phone(self, seq, snap, contact):
        return contact[1]

    def _remark(self, seq, snap, contact):
        if snap.get("extension_date") and self.rng.random() < 0.5:
            return "经批准延期办理"
        if snap.get("status") == "重新办理中":
            return "代表不满意，已重新办理"
        return None


def export_dates(rng: random.Random, year: int, as_of: date, current: bool, sparse: bool) -> list[date]:
    """Report dates of one unit's exports for a year: every few weeks from May, up to as_of; a
    completed year ends with a final export in June of the next (闭会建议 of January are due by April)."""
    final = date(year + 1, 6, rng.randint(10, 30))
    if sparse:  # large demos: only the final export of a completed year
        return [final] if final <= as_of else []
    end = min(as_of, final)
    cadence = (42, 56) if current else (70, 90)
    d = date(year, 4, 25) + timedelta(days=rng.randint(0, 25))
    out = []
    while d <= end - timedelta(days=0 if current else 20):  # a completed year's final comes last
        out.append(d)
        d += timedelta(days=rng.randint(*cadence))
    if end == final or not out:
        out.append(end)
    return out


# ── the inbox ────────────────────────────────────────────────────────────────────────────────
MESS_KINDS = ("invalid_date", "foreign_row", "unknown_class", "duplicate_row", "formula_cell", "script_title",
              "unknown_unit", "not_a_spreadsheet", "random_bytes", "empty_file")


@dataclass
class InboxSummary:
    files: int = 0
    register_rows: int = 0
    export_rows: int = 0
    evaluation_rows: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)  # register / unit_export / evaluation / broken
    mess: dict[str, list[str]] = field(default_factory=dict)  # kind → "path | sheet | 第N行"
    unreported: list[str] = field(default_factory=list)  # units with no export in the newest year
    stale: list[str] = field(default_factory=list)  # units whose newest-year export is one early file
    multi_year: list[str] = field(default_factory=list)  # workbooks with one sheet per year ("2025年", "2026年")
    years: list[int] = field(default_factory=list)


class _Inbox:
    def __init__(self, directory: Path, rng: random.Random, summary: InboxSummary):
        self.dir, self.rng, self.summary = directory, rng, summary
        self.used: set[Path] = set()

    def path(self, folder: str, name: str) -> Path:
        p = self.dir / folder / name
        k = 1
        while p in self.used:  # a second attachment of the same name, as a mail client saves it
            p = self.dir / folder / f"{Path(name).stem}({k}){Path(name).suffix}"
            k += 1
        self.used.add(p)
        return p

    def rel(self, p: Path) -> str:
        return p.relative_to(self.dir).as_posix()

    def count(self, kind: str) -> None:
        self.summary.files += 1
        self.summary.by_kind[kind] = self.summary.by_kind.get(kind, 0) + 1

    def mess(self, kind: str, where: str) -> None:
        self.summary.mess.setdefault(kind, []).append(where)


def _folder(rng: random.Random, year: int, d: date) -> str:
    return rng.choice((f"{year}/收件", f"邮件附件/{d:%Y-%m}", f"各单位报送/{year}年", "U盘拷贝/督办资料",
                       f"{d.year}/收件"))


def write_inbox(directory: Path, suggestions: int = 400, years: int = 3, units: int = 100, seed: int = 7,
                as_of: date | None = None, progress: Callable[[str], None] | None = None) -> InboxSummary:
    """Write a demo inbox under ``directory`` and say what is in it. Deterministic per arguments."""
    if suggestions < 1 or years < 1 or units < 1:
        raise ValueError("建议数、年数和单位数都应为正整数")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    as_of = as_of or DEFAULT_AS_OF
    say = progress or (lambda _msg: None)
    rng = random.Random(seed)
    unit_list = demo_units(units)
    year_list = demo_years(years, as_of)
    newest = year_list[-1]
    summary = InboxSummary(years=year_list)
    inbox = _Inbox(directory, rng, summary)
    large = suggestions > 5000
    contacts = {u.name: (_name(rng), f"138{rng.randint(0, 9999):04d}{rng.randint(0, 9999):04d}") for u in unit_list}

    deputies_by_term: dict[int, list[tuple[str, str]]] = {}
    previous: YearData | None = None
    delegations = [f"{d}代表团" for d in DISTRICTS]
    for y in year_list:
        term = _term(y)[0]
        if term not in deputies_by_term:
            deputies_by_term[term] = [(_name(rng), rng.choice(delegations)) for _ in range(max(300, min(800, suggestions)))]
        quality = {u.name: 0.55 + 0.45 * rng.random() ** 0.5 for u in unit_list}
        current = y == newest
        say(f"正在生成 {y} 年 ({session_name(y)}) 的交办台账和办理情况")
        yd = simulate_year(rng, y, suggestions, unit_list, deputies_by_term[term], quality, as_of, current)
        if current and yd.suggestions:
            victim = yd.suggestions[rng.randrange(len(yd.suggestions))]
            victim.title = victim.title.replace("关于", "关于<script>alert(1)</script>", 1)
        shape = REGISTER_SHAPES[(newest - y) % len(REGISTER_SHAPES)]
        name, sheets, fmt, enc = build_register(rng, yd, shape, large and suggestions > 20000)
        reg_folder = rng.choice((f"{y}/收件", "督查室转来", f"邮件附件/{y}-03"))
        p = inbox.path(reg_folder, name)
        write_table(p, sheets, fmt, enc)
        inbox.count("register")
        summary.register_rows += len(yd.suggestions)
        if current:
            for r, row in enumerate(sheets[0].rows):
                if any(isinstance(v, str) and "<script>" in v for v in row):
                    inbox.mess("script_title", f"{inbox.rel(p)} | {sheets[0].name} | 第{r + 1}行")
        _write_exports(inbox, yd, unit_list, as_of, current, contacts, large, previous)
        if not current and not large:
            _write_evaluation(inbox, yd, as_of)
        previous = None if large else yd  # large demos keep one year in memory at a time
    _write_broken(inbox, newest, as_of)
    say(f"演示收件箱已生成: {summary.files} 个文件")
    return summary


def _write_exports(inbox: _Inbox, yd: YearData, unit_list: list[Unit], as_of: date, current: bool,
                   contacts: dict, large: bool, previous: YearData | None = None) -> None:
    rng, year = inbox.rng, yd.year
    units_with_work = [u for u in unit_list if yd.by_unit.get(u.name)]
    silent: set[str] = set()
    stale: set[str] = set()
    if current:  # who has not reported at all this year, who sent one early export and stopped
        # among the lighter half: a unit with many suggestions is chased before it can fall silent
        by_load = sorted(units_with_work, key=lambda u: (len(yd.by_unit[u.name]), u.name))
        order = [u.name for u in by_load[:max(1, len(by_load) // 2)]]
        rng.shuffle(order)
        n_silent = min(5, -(-len(by_load) // 20))
        silent = set(order[:n_silent])
        stale = set(order[n_silent:n_silent + min(3, max(1, len(by_load) // 30))])
        inbox.summary.unreported = sorted(silent)
        inbox.summary.stale = sorted(stale)
    # mess goes into the newest export of a few regular units of the newest year
    regular = [u.name for u in units_with_work if u.name not in silent and u.name not in stale]
    targets: dict[str, list[str]] = {}
    if current and regular:
        for kind in ("invalid_date", "foreign_row", "unknown_class", "duplicate_row", "formula_cell"):
            for name in rng.sample(regular, min(1 if kind == "formula_cell" else 3, len(regular))):
                targets.setdefault(name, []).append(kind)
        # one sender misspells its own name (a typing slip no rule can undo: 是教育局 for 市教育局)
        typo = [n for n in regular if n.startswith("市") and not n.startswith("市委") and n not in targets]
        if typo:
            targets[rng.choice(typo)] = ["unknown_unit"]
        # two units send this year's and last year's items (回头看 of promises) in one workbook
        if previous:
            both = [n for n in regular if n not in targets and previous.by_unit.get(n)]
            for name in rng.sample(both, min(2, len(both))):
                targets[name] = ["multi_year"]
    for unit in units_with_work:
        work = yd.by_unit[unit.name]
        if current and unit.name in silent:
            continue
        dates = export_dates(rng, year, as_of, current, sparse=large and not current)
        if current and unit.name in stale:
            dates = dates[:1]
        if not dates:
            continue
        style = choose_style(rng, unit, len(work))
        if "multi_year" in targets.get(unit.name, ()):
            style.split, style.explain = False, False
            if style.fmt == "csv":
                style.fmt, style.encoding = "xlsx", ""
        if "formula_cell" in targets.get(unit.name, ()) and "remark" not in style.fields:
            style.fields.append("remark")
            style.headers["remark"] = "备注"
        writer = ExportWriter(rng, style, unit, year)
        contact = contacts[unit.name]
        for k, rd in enumerate(dates):
            mess = targets.get(unit.name, []) if k == len(dates) - 1 else []
            if "unknown_unit" in mess:
                typo_style = replace(style, spelling="是" + unit.name[1:])
                path = _write_one_export(inbox, yd, unit, work, ExportWriter(rng, typo_style, unit, year), rd,
                                         contact, [])
                if path:
                    inbox.mess("unknown_unit", inbox.rel(path))
            elif "multi_year" in mess:
                earlier = (ExportWriter(rng, style, unit, previous.year), previous.by_unit[unit.name])
                path = _write_one_export(inbox, yd, unit, work, writer, rd, contact, [], earlier)
                if path:
                    inbox.summary.multi_year.append(inbox.rel(path))
            else:
                _write_one_export(inbox, yd, unit, work, writer, rd, contact, mess)


def _title_rows(style: ExportStyle, year: int, rd: date, width: int) -> list[list]:
    rows = []
    pad = [None] * (width - 1)
    date_cn = f"{rd.year}年{rd.month}月{rd.day}日"
    if style.title in ("title", "title_and_cell"):
        t = f"{year}年市人大代表建议办理情况统计表"
        if style.date_in == "title":
            t += f"（截至{date_cn}）"
        rows.append([t] + pad)
    if style.title in ("title_and_cell", "cell_only"):
        parts = []
        if style.unit_in == "cell":
            parts.append(f"填报单位：{style.spelling}")
        if style.date_in == "cell":
            parts.append(f"填报日期：{date_cn}")
        if style.title == "cell_only" and style.date_in != "cell":
            parts.append(f"{year}年度")
        if parts:
            rows.append([style.separator.join(parts)] + pad)
    return rows


def _file_name(style: ExportStyle, year: int, rd: date) -> str:
    unit = style.spelling.replace("（盖章）", "")
    ext = style.fmt
    if style.unit_in == "filename" and style.date_in == "filename":
        return (f"{unit}_{rd.isoformat()}.{ext}" if style.name_pattern % 2 == 0
                else f"{unit}{year}年建议办理情况{rd:%Y%m%d}.{ext}")
    if style.unit_in == "filename":
        return (f"{year}年代表建议办理情况-{unit}.{ext}" if "（" in unit
                else f"{year}年代表建议办理情况（{unit}）.{ext}")
    if style.date_in == "filename":
        return f"建议办理情况统计表_{rd.isoformat()}.{ext}"
    return ("建议办理情况统计表", "附件：办理情况", f"{year}年建议办理进度", "办理情况报送")[style.name_pattern] + f".{ext}"


def _write_one_export(inbox: _Inbox, yd: YearData, unit: Unit, work: list[Assignment], writer: ExportWriter,
                      rd: date, contact: tuple[str, str], mess: list[str],
                      earlier: tuple[ExportWriter, list[Assignment]] | None = None) -> Path | None:
    """Write the unit's export as of ``rd``; none (None) when nothing had been assigned to it yet.
    ``earlier``: also a first sheet with last year's items, in that year's writer."""
    rng, style, year = inbox.rng, writer.style, yd.year
    if not any(a.s.assigned <= rd for a in work):
        return None
    width = len(style.fields)
    header = [style.headers[f] for f in style.fields]
    groups = [("主办件", [a for a in work if a.role != "协办"]), ("协办件", [a for a in work if a.role == "协办"])] \
        if style.split else [(f"{year}年" if earlier or rng.random() < 0.5 else "Sheet1", work)]
    sheets: list[Sheet] = []
    data_pos: list[tuple[Sheet, int, int]] = []  # (sheet, first data row index, seq column)
    rows_written = 0
    for sheet_name, items in groups:
        sheet = Sheet(sheet_name)
        sheet.rows += _title_rows(style, year, rd, width)
        if sheet.rows and style.fmt != "csv":
            sheet.merges.append((0, 0, 0, width - 1))
        sheet.rows.append(header)
        first = len(sheet.rows)
        seq = 0
        for a in items:
            if a.s.assigned > rd:
                continue
            seq += 1
            sheet.rows.append(writer.row(seq, snapshot(a, rd), contact))
        rows_written += seq
        data_pos.append((sheet, first, seq))
        sheets.append(sheet)
    main_sheet, first, n_rows = data_pos[0]
    p = inbox.path(_folder(rng, year, rd), _file_name(style, year, rd))
    where = f"{inbox.rel(p)} | {main_sheet.name if style.fmt != 'csv' else '-'}"
    extra_rows = _apply_mess(inbox, yd, unit, writer, rd, contact, mess, main_sheet, first, n_rows, where)
    rows_written += extra_rows
    for sheet in sheets:
        if style.signature:
            sheet.rows.append([None] * width)
            sheet.rows.append([f"填表人：{contact[0]}\u3000\u3000联系电话：{contact[1]}\u3000\u3000审核人：{_name(rng)}"]
                              + [None] * (width - 1))
    if earlier:
        last_writer, last_work = earlier
        sheet = Sheet(f"{last_writer.year}年")
        sheet.rows += _title_rows(style, last_writer.year, rd, width)
        if sheet.rows:
            sheet.merges.append((0, 0, 0, width - 1))
        sheet.rows.append(header)
        for seq, a in enumerate(last_work, 1):
            sheet.rows.append(last_writer.row(seq, snapshot(a, rd), contact))
        rows_written += len(last_work)
        sheets.insert(0, sheet)
    if style.explain:
        note = Sheet("说明")
        note.rows = [["填表说明"], ["1. 办理结果按A、B、C、D四类填写。"], ["2. 代表意见填写满意、基本满意或不满意。"],
                     [f"3. 本表数据截至{rd.year}年{rd.month}月{rd.day}日。"]]
        sheets.append(note)
    write_table(p, sheets, style.fmt, style.encoding or "utf-8")
    inbox.count("unit_export")
    inbox.summary.export_rows += rows_written
    return p


def _apply_mess(inbox: _Inbox, yd: YearData, unit: Unit, writer: ExportWriter, rd: date, contact, mess: list[str],
                sheet: Sheet, first: int, n_rows: int, where: str) -> int:
    """Spoil a few rows of this export on purpose; return how many rows were added."""
    if not mess or n_rows == 0:
        return 0
    rng, style = inbox.rng, writer.style
    fields = style.fields
    data = sheet.rows[first:first + n_rows]
    replied = [row for row in data if row[fields.index("result_class")]]
    spoiled: list[tuple[str, list]] = []  # row objects: positions are known only after insertions
    inserts: list[tuple[list | None, list]] = []  # (insert after this row, or at the end; new row)
    for kind in mess:
        if kind == "invalid_date" and replied:
            row = rng.choice(replied)
            row[fields.index("reply_date")] = f"{rd.year}年13月5日"
            spoiled.append((kind, row))
        elif kind == "unknown_class" and replied:
            row = rng.choice(replied)
            row[fields.index("result_class")] = "E类"
            spoiled.append((kind, row))
        elif kind == "duplicate_row":
            row = rng.choice(data)
            inserts.append((row, row))
        elif kind == "foreign_row":
            mine = {a.s.number for a in yd.by_unit[unit.name]}
            others = [s for s in yd.suggestions if s.number not in mine and s.assigned <= rd]
            if others:
                s = rng.choice(others)
                fake = Assignment(s, unit, "主办")
                fake.replies.append((min(rd, s.assigned + timedelta(days=30)), "A", True, rd, "满意", "满意"))
                inserts.append((None, writer.row(n_rows + 1, snapshot(fake, rd), contact)))
                spoiled.append((kind, inserts[-1][1]))
        elif kind == "formula_cell":
            row = rng.choice(data)
            row[fields.index("remark")] = "=1+1"
            spoiled.append((kind, row))
    end = first + n_rows
    for after, row in inserts:
        if after is None:
            sheet.rows.insert(end, row)
        else:
            copy = list(row)
            sheet.rows.insert(next(i for i, r in enumerate(sheet.rows) if r is after) + 1, copy)
            spoiled.append(("duplicate_row", copy))
        end += 1
    for kind, row in spoiled:
        r = next(i for i, x in enumerate(sheet.rows) if x is row)
        inbox.mess(kind, f"{where} | 第{r + 1}行")
    return len(inserts)


def _write_evaluation(inbox: _Inbox, yd: YearData, as_of: date) -> None:
    """The congress's own 满意度测评 of a completed year (a sample of the replied lead assignments)."""
    rng, year = inbox.rng, yd.year
    day = date(year, 12, rng.randint(1, 20))
    if day > as_of:
        return
    sheet = Sheet("测评结果")
    sheet.rows.append([f"{year}年代表建议办理满意度测评结果", None, None, None, None])
    sheet.rows.append(["建议编号", "主办单位", "答复满意度", "落实满意度", "测评日期"])
    leads = sorted((a for work in yd.by_unit.values() for a in work if a.role != "协办"),
                   key=lambda a: (a.s.number, a.unit.name))
    rows = 0
    for a in leads:
        reps = [r for r in a.replies if r[0] <= day]
        if not reps or rng.random() < 0.4:  # the survey reaches about 60% of the deputies
            continue
        ev = reps[-1][4]
        if ev == "未表态":
            continue
        if rng.random() < 0.05:  # the congress's survey sometimes disagrees with the unit's report
            ev = "基本满意" if ev == "满意" else "满意"
        impl = ev if rng.random() < 0.85 else rng.choice(("满意", "基本满意", "不满意"))
        sheet.rows.append([f"{year}-{a.s.number:03d}", a.unit.name, ev, impl, format_date(day, "iso")])
        rows += 1
    p = inbox.path(rng.choice((f"{year + 1}/收件", "代表工委")), f"{year}年建议办理满意度测评汇总.xlsx")
    write_table(p, [sheet], "xlsx")
    inbox.count("evaluation")
    inbox.summary.evaluation_rows += rows


def _write_broken(inbox: _Inbox, year: int, as_of: date) -> None:
    rng = inbox.rng
    pdf = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] "
           b"/Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
    for kind, folder, name, content in (
        ("not_a_spreadsheet", f"邮件附件/{as_of:%Y-%m}", "市审计局建议办理情况.xlsx", pdf),
        ("random_bytes", f"{year}/收件", "办理情况统计表（损坏）.xls", bytes(rng.getrandbits(8) for _ in range(4096))),
        ("empty_file", f"{year}/收件", "新建 Microsoft Excel 工作表.csv", b""),
    ):
        p = inbox.path(folder, name)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content)
        inbox.count("broken")
        inbox.mess(kind, inbox.rel(p))

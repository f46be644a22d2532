"""Unit spellings: the place names a register's units carry, and candidates for unknown spellings.

Every city, district and county writes its units its own way (成都市交通运输局 in the register,
市交通运输局 in the unit's own export). Nothing here assumes a place: the place prefixes are read
off the register's unit names (``infer_places``), and a spelling that still matches no register
unit is never guessed — it is proposed, with its most likely register units ranked by the
similarity documented in docs/etl.md (``spelling_candidates``), for a supervisor to confirm. The
one match accepted without asking is a register unit's own bracketed second name
(市综合行政执法局（市城管局） ↔ 市城管局) when exactly one register unit carries it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from etl.normalise import clean_token, unit_key

# A place name ends in one of these (成都市, 锦江区, 慈溪市, 宁夏回族自治区, 伊犁州, 阿拉善盟 …).
PLACE_ENDINGS = "省市区县州旗盟"
# Words ending like a place that are parts of unit names, never places (城市管理局, 高新区管委会).
# Two-character words are excluded as whole prefixes only (晋城市 and 浦东新区 are places).
NOT_PLACES = ("城市", "都市", "超市", "城区", "市区", "社区", "园区", "景区", "新区", "林区", "矿区", "校区",
              "库区", "片区", "街区", "小区", "地区", "港区")
NOT_PLACE_ENDINGS = ("开发区", "高新区", "自贸区", "保税区", "试验区", "示范区", "功能区", "集聚区", "合作区", "园区")
# A prefix is a place of the register when at least this share of its distinct unit names carry it
# (and at least two do): a city register names most units 成都市…; a district government named by
# a city register (成都市锦江区人民政府) does not make 锦江区 a place of the register.
PLACE_SHARE = 0.1
MAX_PLACE_LENGTH = 12
_BRACKETED = re.compile(r"[(（]([^()（）]*)[)）]")
_UNIT_TYPES = ("局", "委", "办", "院", "厅", "处", "部", "会", "室", "署", "中心", "街道", "镇", "乡", "公司", "集团",
               "政府", "队", "所", "站", "馆", "行", "社", "团", "联")


def _bare(name: str) -> str:
    """The name without bracketed parts: 市综合行政执法局（市城管局） → 市综合行政执法局."""
    return _BRACKETED.sub("", clean_token(name) or "")


def _prefixes(name: str) -> Iterable[str]:
    for end in range(2, min(len(name) - 1, MAX_PLACE_LENGTH) + 1):
        prefix = name[:end]
        if (prefix[-1] in PLACE_ENDINGS and not prefix.startswith("市") and prefix not in NOT_PLACES
                and not prefix.endswith(NOT_PLACE_ENDINGS)):
            yield prefix


@dataclass(frozen=True)
class Place:
    name: str
    found_in: str  # 交办台账 (the register's own names) / 单位来文 (units' spellings of register units)


def infer_places(register_names: Iterable[str], spellings: Iterable[str] = ()) -> list[Place]:
    """The place prefixes of a register's units, longest first, found two ways:

    - in the register itself: a prefix carried by a share of its unit names (成都市教育局,
      成都市交通运输局 … → 成都市; a district register 成都市锦江区教育局 … → 成都市锦江区, 锦江区
      and 成都市 — a nested place also yields its last part, which a unit writing 锦江区教育局 uses);
    - in the other spellings: a place-like prefix whose removal turns a spelling into one of
      the register's units (a register writing 市教育局 and a unit writing 汉中市教育局 → 汉中市).
    A register of 市交通运输局 … and units writing the same give none: nothing to strip."""
    names = {_bare(n) for n in register_names if clean_token(n)}
    if not names:
        return []
    counts = Counter(p for name in names for p in set(_prefixes(name)))
    needed = max(2, math.ceil(PLACE_SHARE * len(names)))
    found = {p: "交办台账" for p, n in counts.items() if n >= needed}
    for place in list(found):
        for inner in list(found):
            if inner != place and place.startswith(inner):
                found.setdefault(place[len(inner):], "交办台账")
    keys = {unit_key(n, found) for n in names}
    for spelling in sorted({_bare(s) for s in spellings if clean_token(s)}):
        known = sorted(found, key=len, reverse=True)
        if unit_key(spelling, known) in keys:
            continue
        for prefix in _prefixes(spelling):
            rest = unit_key(spelling[len(prefix):], known)
            # 锦湖区 + 人民政府 is that district's own government, not a unit of a place 锦湖区
            if rest in keys and rest != "人民政府":
                found[prefix] = "单位来文"
                break
    return [Place(name, found[name]) for name in sorted(found, key=lambda p: (-len(p), p))]


def bracket_names(name: str) -> list[str]:
    """The second names a register unit gives in brackets: 市综合行政执法局（市城管局） → [市城管局];
    市委统战部（侨办、台办） → [侨办, 台办]."""
    found = []
    for inside in _BRACKETED.findall(clean_token(name) or ""):
        found.extend(p for p in re.split(r"[、，,;；/]", inside) if len(p) >= 2)
    return found


@dataclass(frozen=True)
class Candidate:
    unit: str  # the register's spelling
    score: float  # 0..1, higher is likelier
    rule: str  # why, in Chinese: 括号中的别称 / 简称 / 名称相近


def _is_abbreviation(short: str, full: str) -> bool:
    """short's characters stand in full in the same order, beginning and end included:
    人力社保局 in 人力资源和社会保障局, 卫健委 in 卫生健康委员会."""
    if len(short) >= len(full) or short[0] != full[0]:
        return False
    position = 0
    for char in short:
        position = full.find(char, position)
        if position < 0:
            return False
        position += 1
    return _unit_type(short) == _unit_type(full)


def _unit_type(key: str) -> str | None:
    if key.endswith("委员会"):  # 卫健委 is short for 卫生健康委员会
        return "委"
    for ending in sorted(_UNIT_TYPES, key=len, reverse=True):
        if key.endswith(ending):
            return ending
    return None


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)} or {text}


def _dice(a: str, b: str) -> float:
    x, y = _bigrams(a), _bigrams(b)
    return 2 * len(x & y) / (len(x) + len(y))


def spelling_candidates(spelling: str, register_names: Sequence[str], places: Sequence[str],
                        limit: int = 3) -> list[Candidate]:
    """The register units ``spelling`` most likely means, best first (docs/etl.md, 单位写法的候选):

    1. 括号中的别称 (score 1.0): the spelling's key is the key of a name a register unit gives in
       brackets (市城管局 → 市综合行政执法局（市城管局）).
    2. 简称 (0.6–0.9): the spelling's key is an abbreviation of the unit's key — its characters
       in order, same first character, same kind of unit (局/委/办 …): 市人力社保局 → 成都市人力资源和
       社会保障局, 市卫健委 → 卫生健康委员会; the more of the full name it covers, the higher.
    3. 名称相近 (0.3–0.6): character-pair (bigram) overlap of the two keys (Dice coefficient) of
       at least 0.5 and the same kind of unit — a renamed or misspelt unit (市国土资源局 → 市国土
       资源和规划局).
    """
    key = unit_key(spelling, places)
    found: dict[str, Candidate] = {}

    def offer(unit: str, score: float, rule: str) -> None:
        if unit not in found or found[unit].score < score:
            found[unit] = Candidate(unit, round(score, 3), rule)

    for unit in register_names:
        if any(unit_key(alt, places) == key for alt in bracket_names(unit)):
            offer(unit, 1.0, "括号中的别称")
            continue
        full = unit_key(unit, places)
        if _is_abbreviation(key, full):
            offer(unit, 0.6 + 0.3 * len(key) / len(full), "简称")
            continue
        similarity = _dice(key, full)
        if similarity >= 0.5 and _unit_type(key) == _unit_type(full):
            offer(unit, 0.3 + 0.3 * similarity, "名称相近")
    return sorted(found.values(), key=lambda c: (-c.score, c.unit))[:limit]


def unambiguous_bracket_match(candidates: Sequence[Candidate]) -> str | None:
    """The one match accepted without a supervisor: exactly one register unit names the spelling
    in its brackets (and no other candidate is as good)."""
    best = [c for c in candidates if c.score >= 1.0]
    return best[0].unit if len(best) == 1 else None

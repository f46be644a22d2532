"""Normalise recognised sheets into the rows of etl/model.py, and the value parsers behind it.

Scalar parsers (``parse_date``, ``parse_number``, ``canonical_session``, ``unit_key`` …) are the
single definition of each rule; the sheet normaliser applies them to the *distinct* values of a
column only (a few hundred dates, units or classes even in a million-row file) and maps the
results back with polars, so the per-row work stays in vectorised expressions.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl

from etl.model import REGISTER, SCHEMAS, UNIT_EXPORT, RowReject

DEFAULTS_DIR = Path(__file__).with_name("defaults")
MIN_YEAR, MAX_YEAR = 1949, 2100
_EXCEL_EPOCH = date(1899, 12, 30)  # 1900 date system (serial 60 = the fictitious 1900-02-29)
_EXCEL_EPOCH_1904 = date(1904, 1, 1)


class InvalidValue(ValueError):
    """A cell value that cannot be used; the message is the Chinese reason (不是有效日期 …)."""


# ── alias tables ─────────────────────────────────────────────────────────────────────────────
def load_table(name: str, home: Path | None = None) -> dict:
    """A shipped table in etl/defaults, with the operator's <home>/<name> lists merged in."""
    user = home / name if home is not None else None
    stamp = user.stat().st_mtime if user is not None and user.exists() else None
    return _load_table(name, str(user), stamp)


@lru_cache(maxsize=32)
def _load_table(name: str, user: str, stamp: float | None) -> dict:
    data = tomllib.loads((DEFAULTS_DIR / name).read_text(encoding="utf-8"))
    if stamp is not None:
        try:
            extra = tomllib.loads(Path(user).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            extra = {}  # a broken operator table must not stop loading; the shipped one applies
        for section, entries in extra.items():
            if not isinstance(entries, dict):
                continue
            target = data.setdefault(section, {})
            for key, values in entries.items():
                if isinstance(values, list):
                    target[key] = list(target.get(key, [])) + [str(v) for v in values]
    return data


def value_key(text: str) -> str:
    """How enumerated values are compared: NFKC, no whitespace, upper case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()


def _lookup(section: dict[str, list[str]], strip_suffix: str = "") -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, spellings in section.items():
        for spelling in [canonical, *spellings]:
            key = value_key(spelling)
            if strip_suffix and key.endswith(strip_suffix) and len(key) > len(strip_suffix):
                key = key[: -len(strip_suffix)]
            table[key] = canonical
    return table


@dataclass(frozen=True)
class Vocab:
    classes: dict[str, str]
    evaluation: dict[str, str | None]
    role: dict[str, str]
    kind: dict[str, str]
    yes_no: dict[str, bool]
    face: dict[str, bool]
    no_date: frozenset[str]
    categories: dict[str, str]


_VOCAB_CACHE: dict[tuple[int, int], Vocab] = {}


def vocab(home: Path | None = None) -> Vocab:
    """The value tables, rebuilt only when a table file changed (load_table is cached)."""
    values = load_table("value_aliases.toml", home)
    results = load_table("result_classes.toml", home)
    key = (id(values), id(results))
    if key not in _VOCAB_CACHE:
        _VOCAB_CACHE.clear()
        _VOCAB_CACHE[key] = _build_vocab(values, results)
    return _VOCAB_CACHE[key]


def _build_vocab(values: dict, results: dict) -> Vocab:
    classes = _lookup(results["classes"], strip_suffix="类")
    evaluation: dict[str, str | None] = {}
    for canonical, spellings in values["evaluation"].items():
        for spelling in spellings if canonical == "none" else [canonical, *spellings]:
            evaluation[value_key(spelling)] = None if canonical == "none" else canonical
    yes_no = {value_key(s): True for s in values["yes_no"]["yes"]}
    yes_no.update({value_key(s): False for s in values["yes_no"]["no"]})
    face = dict(yes_no)
    face.update({value_key(s): True for s in values["face_to_face"]["yes"]})
    face.update({value_key(s): False for s in values["face_to_face"]["no"]})
    cats = values["category"]
    categories = {value_key(c): c for c in cats["canonical"]}
    categories.update({value_key(s): "其他" for s in cats.get("其他", [])})
    return Vocab(
        classes=classes,
        evaluation=evaluation,
        role=_lookup(values["role"]),
        kind=_lookup(values["kind"]),
        yes_no=yes_no,
        face=face,
        no_date=frozenset(value_key(w) for w in values["no_date"]["words"]),
        categories=categories,
    )


# ── text ─────────────────────────────────────────────────────────────────────────────────────
_FULLWIDTH_ALNUM = [chr(c) for c in range(0xFF10, 0xFF1A)] + [chr(c) for c in range(0xFF21, 0xFF3B)] + [
    chr(c) for c in range(0xFF41, 0xFF5B)
]
_HALFWIDTH_ALNUM = [unicodedata.normalize("NFKC", c) for c in _FULLWIDTH_ALNUM]
_CJK = r"[\p{Han}，。、；：（）《》“”]"
_CJK_GAP = rf"({_CJK}) ({_CJK})"
_ONLY_DASHES = re.compile(r"^[-—–_/\\.。、*~～]+$")


def clean_token(text: Any) -> str | None:
    """A code-like value (number, date, unit, name): NFKC, no whitespace at all; '' → None."""
    if text is None:
        return None
    cleaned = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text)))
    return cleaned or None


def token_expr(expr: pl.Expr) -> pl.Expr:
    """``clean_token`` as a polars expression."""
    return _blank_to_null(expr.str.normalize("NFKC").str.replace_all(r"\s+", ""))


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    return expr.replace("", None)  # evaluates expr once (when/then would run it twice)


# Characters that Python's unicodedata and polars normalise alike and count as whitespace alike:
# printable ASCII, tab and line breaks (not the separators \x1c-\x1f, whitespace to Python only),
# CJK punctuation, ideographs and full-width forms (none changed by a Unicode version since; a
# newer polars knows characters Python does not). On a value made of these alone token_expr gives
# what clean_token gives, so polars patterns may stand in for Python's there.
_SAME_IN_POLARS = r"^[\t-\r -~\u3000-\u303f\u4e00-\u9fff\uff01-\uff5e]*$"
_DISTINCT_MIN_ROWS = 2000  # shorter frames are cleaned row by row (measured on the inbox)


def per_distinct(frame: pl.DataFrame, clean: Callable[[pl.Expr], pl.Expr]) -> pl.DataFrame:
    """``clean`` (an expression that keeps null null) applied to every column of ``frame``; in a
    long column whose values repeat (titles, units, names do) once per distinct value, the rows
    getting theirs by a hash lookup. A short frame is cleaned in one go: there the lookup's calls
    cost more than the string work they save."""
    if frame.height < _DISTINCT_MIN_ROWS:
        return frame.select([clean(pl.col(c)) for c in frame.columns])
    looked_up: dict[str, pl.Series] = {}
    for name, values in frame.to_dict().items():
        distinct = values.drop_nulls().unique()
        if 2 * len(distinct) <= len(values):
            cleaned = distinct.to_frame().select(clean(pl.col(name))).to_series()
            places = pl.int_range(len(distinct), dtype=pl.UInt32, eager=True)
            looked_up[name] = cleaned.gather(values.replace_strict(distinct, places, default=None))
    direct = frame.select([clean(pl.col(c)) for c in frame.columns if c not in looked_up])
    return pl.DataFrame([looked_up[c] if c in looked_up else direct.get_column(c) for c in frame.columns])


def text_expr(expr: pl.Expr) -> pl.Expr:
    """Free text (titles, notes): full-width letters/digits to half width, whitespace and line
    breaks collapsed to one space. Chinese punctuation (，（）) is kept as written."""
    cleaned = (
        expr.str.replace_many(_FULLWIDTH_ALNUM, _HALFWIDTH_ALNUM)
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )
    # a break or space between two Chinese characters is layout, not a word boundary (twice:
    # matches cannot overlap, so "加 强 学 校" needs a second pass)
    for _ in range(2):
        cleaned = cleaned.str.replace_all(_CJK_GAP, "$1$2")
    return _blank_to_null(cleaned)


# ── numerals and sessions ────────────────────────────────────────────────────────────────────
_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUM = "0-9〇零一二两三四五六七八九十"


def cn_to_int(text: str) -> int | None:
    """'18', '十八', '二十三', '十' → int (1..99); None when it is not such a numeral."""
    if text.isdigit():
        return int(text)
    if "十" not in text:
        return _CN_DIGITS.get(text) if len(text) == 1 else None
    tens, _, units = text.partition("十")
    if len(tens) > 1 or len(units) > 1:
        return None
    high = _CN_DIGITS.get(tens, -1) if tens else 1
    low = _CN_DIGITS.get(units, -1) if units else 0
    return None if high < 0 or low < 0 else high * 10 + low


def int_to_cn(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, units = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[units] if units else "")


_SESSION_LONG = re.compile(rf"第?([{_CN_NUM}]+)届[^{_CN_NUM}次]*?第?([{_CN_NUM}]+)次")
_SESSION_SHORT = re.compile(r"^(\d{1,2})[-_.·/](\d{1,2})$")


def canonical_session(text: Any) -> str | None:
    """'十八届一次', '市十八届人大一次会议', '第十八届人民代表大会第一次会议', '18-1', '18届1次'
    → '十八届一次'; None when the text names no session."""
    token = clean_token(text)
    if token is None:
        return None
    match = _SESSION_LONG.search(token) or _SESSION_SHORT.match(token)
    if not match:
        return None
    term, meeting = cn_to_int(match.group(1)), cn_to_int(match.group(2))
    if not term or not meeting or term > 99 or meeting > 20:
        return None
    return f"{int_to_cn(term)}届{int_to_cn(meeting)}次"


def parse_year(value: Any) -> int | None:
    """'2024', '2024年', '2024年度', 2024.0 → 2024; blank → None; otherwise InvalidValue."""
    token = clean_token(value)
    if token is None:
        return None
    match = re.fullmatch(r"(\d{4})(?:\.0+)?(?:年度?)?", token)
    if not match or not MIN_YEAR <= int(match.group(1)) <= MAX_YEAR:
        raise InvalidValue("不是有效年份")
    return int(match.group(1))


# ── suggestion numbers ───────────────────────────────────────────────────────────────────────
_NUMBER_PATTERNS = [
    re.compile(r"(?:建议)?第?0*(\d{1,6})号?(?:建议)?"),
    re.compile(r"0*(\d{1,6})\.0+"),
    # 2024-012, 2024年第12号, 〔2024〕12号, [2024]第12号: the year prefix is returned as well
    re.compile(r"[\[〔(【]?((?:19|20)\d{2})[\]〕)】]?[-_—/年]?(?:建议)?第?0*(\d{1,6})号?"),
]


def number_and_year(value: Any) -> tuple[int | None, int | None]:
    """The suggestion number (and a year written in front of it, if any); InvalidValue if bad."""
    token = clean_token(value)
    if token is None:
        return None, None
    for pattern in _NUMBER_PATTERNS:
        match = pattern.fullmatch(token)
        if match:
            groups = match.groups()
            number = int(groups[-1])
            year = int(groups[0]) if len(groups) == 2 else None
            if number > 0:
                return number, year
    raise InvalidValue("不是有效的建议编号")


def parse_number(value: Any) -> int | None:
    """第12号, 12, 0012, 建议第12号, 2024-012, １２, 12.0 → 12; blank → None; else InvalidValue."""
    return number_and_year(value)[0]


# _NUMBER_PATTERNS as one polars pattern whose alternatives match exactly where those match with
# a number above 0 (0* takes the leading zeros, so the digits left must be 1 to 6 and not begin
# with 0), tried in the same order; groups: number | number | year, number. Digits are ASCII: the
# values it is tried on (_SAME_IN_POLARS) hold no other after NFKC.
_NUMBER_FORMS = (
    r"^(?:(?:建议)?第?0*([1-9][0-9]{0,5})号?(?:建议)?"
    r"|0*([1-9][0-9]{0,5})\.0+"
    r"|[\[〔(【]?((?:19|20)[0-9]{2})[\]〕)】]?[-_—/年]?(?:建议)?第?0*([1-9][0-9]{0,5})号?)$"
)
_NUMBER_AND_YEAR = pl.Struct({"number": pl.Int32, "year": pl.Int32})


def numbers_and_years(raw: pl.Series) -> tuple[pl.Series, pl.Series, pl.Series, pl.Series]:
    """``number_and_year`` of a column: (number, year, reason or null, token) per row. The common
    forms are read by _NUMBER_FORMS in polars; number_and_year reads the others (bad or odd
    values), once per distinct value."""
    frame = raw.to_frame("raw").with_columns(token=token_expr(pl.col("raw")))
    groups = frame.get_column("token").str.extract_groups(_NUMBER_FORMS).struct.unnest()
    number = pl.coalesce("1", "2", "4").cast(pl.Int32)
    fast = pl.concat([frame, groups], how="horizontal").select(
        pl.struct(number=number, year=pl.col("3").cast(pl.Int32)).alias("pair"),
        settled=(pl.col("raw").str.contains(_SAME_IN_POLARS) & (number.is_not_null() | pl.col("token").is_null()))
        .fill_null(True),  # a null cell has no number and no reason
    )

    def pair(value: str) -> dict[str, int | None]:
        return dict(zip(("number", "year"), number_and_year(value)))

    pairs, reasons = _with_fallback(raw, fast.get_column("pair"), fast.get_column("settled"), pair, _NUMBER_AND_YEAR)
    return pairs.struct.field("number"), pairs.struct.field("year"), reasons, frame.get_column("token")


# ── dates ────────────────────────────────────────────────────────────────────────────────────
_DATE_YMD = re.compile(
    r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?(?:T?\d{1,2}[:时]\d{1,2}(?:[:分]\d{1,2}(?:\.\d+)?秒?)?)?"
)
_DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_EXCEL_SERIAL = re.compile(r"(\d{5})(?:\.\d+)?")
_MONTH_END = re.compile(r"(\d{4})[-/.年](\d{1,2})月?(?:底|末)")


def _checked_date(year: int, month: int, day: int) -> date:
    try:
        result = date(year, month, day)
    except ValueError:
        raise InvalidValue("不是有效日期") from None
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidValue("不是有效日期")
    return result


def parse_date(value: Any, no_date: frozenset[str] | None = None, date1904: bool = False) -> date | None:
    """A date cell in any of its real forms → date. Blank or a word meaning "no date" (未答复,
    待定, 无, -, /) → None. Anything else raises InvalidValue("不是有效日期").

    Excel serial numbers are read in the 1900 date system, or the 1904 one when the workbook
    says so (``date1904``, read from an xlsx's workbook.xml; .xls files are taken as 1900).
    Cells that Excel formats as dates arrive from calamine as date-times already."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return _checked_date(value.year, value.month, value.day)
    if isinstance(value, date):
        return _checked_date(value.year, value.month, value.day)
    if isinstance(value, bool):
        raise InvalidValue("不是有效日期")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    token = clean_token(value)
    if token is None:
        return None
    words = no_date if no_date is not None else vocab().no_date
    if token.upper() in words or _ONLY_DASHES.match(token):
        return None
    for pattern in (_DATE_YMD, _DATE_COMPACT):
        match = pattern.fullmatch(token)
        if match:
            return _checked_date(*(int(g) for g in match.groups()))
    match = _MONTH_END.fullmatch(token)  # 办理期限 "2024年6月底"
    if match:
        year, month = int(match.group(1)), int(match.group(2))
        if 1 <= month <= 12:
            following = date(year + (month == 12), month % 12 + 1, 1)
            return _checked_date(*((following - timedelta(days=1)).timetuple()[:3]))
        raise InvalidValue("不是有效日期")
    match = _EXCEL_SERIAL.fullmatch(token)
    if match:
        result = (_EXCEL_EPOCH_1904 if date1904 else _EXCEL_EPOCH) + timedelta(days=int(match.group(1)))
        return _checked_date(result.year, result.month, result.day)
    raise InvalidValue("不是有效日期")


_DATE_IN_TEXT = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)\s*[日号]?")
_COMPACT_IN_TEXT = re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)")


def dates_in_text(text: str) -> list[tuple[date, int, int]]:
    """Valid dates written inside free text (titles, file names), with their span."""
    found = []
    text = unicodedata.normalize("NFKC", text)
    for pattern in (_DATE_IN_TEXT, _COMPACT_IN_TEXT):
        for match in pattern.finditer(text):
            try:
                found.append((_checked_date(*(int(g) for g in match.groups())), match.start(), match.end()))
            except InvalidValue:
                continue
    return sorted(found, key=lambda item: item[1])


# ── units and people ─────────────────────────────────────────────────────────────────────────
_UNIT_SEPARATOR_CHARS = "、，,;；/\n\r"
_TRAILING_BRACKET = re.compile(r"[(（\[【][^()（）\[\]【】]*[)）\]】]$")


def clean_unit(name: Any) -> str | None:
    """The cleaned spelling kept in the rows: NFKC, no whitespace."""
    return clean_token(name)


def split_units(text: Any) -> list[str]:
    """'市教育局、市财政局\n市民政局' → three names (separators 、，,;；/ and line breaks; not inside
    brackets: 市委统战部（侨办、台办） is one unit)."""
    if text is None:
        return []
    parts, current, depth = [], [], 0
    for char in unicodedata.normalize("NFKC", str(text)):
        if char in "([【":
            depth += 1
        elif char in ")]】" and depth:
            depth -= 1
        if depth == 0 and char in _UNIT_SEPARATOR_CHARS:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [name for name in (clean_unit(p) for p in parts) if name]


def unit_key(name: str, city_names: Sequence[str]) -> str:
    """Key for matching spellings of one unit: 成都市教育局 / 市教育局 / 教育局 / 市教育局（市语委）
    → 教育局 (with 成都市 among city_names)."""
    key = clean_token(name) or ""
    while True:
        stripped = _TRAILING_BRACKET.sub("", key)
        if stripped == key or not stripped:
            break
        key = stripped
    # One prefix is dropped: a place's name or a bare 市 (示范市市政局 and 市市政局 both → 市政局),
    # but not the 市 of 市场 (市场监督管理局 keeps it). Where the places include a district or
    # county, its units write 区教育局 / 县教育局 as the city's write 市教育局.
    prefix_dropped = False
    for city in sorted((clean_token(c) or "" for c in city_names), key=len, reverse=True):
        if city and key.startswith(city) and len(key) > len(city):
            key = key[len(city) :]
            prefix_dropped = city[-1] in "省市区县州旗盟"  # a city named without 市 leaves it to strip
            break
    bare = {"市"} | {c[-1] for c in city_names if c and c[-1] in "区县旗"}
    if not prefix_dropped and len(key) > 1 and key[0] in bare and not key.startswith("市场"):
        key = key[1:]
    # A government's office answers for the government, and 区政府 is the short form of
    # 区人民政府: 望江区人民政府办公室 / 望江区政府 → 望江区人民政府.
    key = "人民政府" if key == "政府" else _GOVERNMENT_OFFICE.sub(r"\1人民政府", key)
    return key


_GOVERNMENT_OFFICE = re.compile(r"^(.+?[区县市州旗])(?:人民)?政府(?:办公室|办)?$")


def split_people(text: Any) -> tuple[str | None, int | None]:
    """Co-signers: names separated by 、，,; (or spaces) → ('张三、李四', 2); a count '5' / '5人'
    → (None, 5)."""
    token = clean_token(text)
    if token is None:
        return None, None
    count = re.fullmatch(r"(\d{1,4})(?:\.0+)?[人名位]?", token)
    if count:
        return None, int(count.group(1))
    names = [n for n in re.split(r"[、，,;；/\s]+", unicodedata.normalize("NFKC", str(text)).strip()) if n]
    return "、".join(names), len(names)


# ── enumerated values ────────────────────────────────────────────────────────────────────────
_CLASS_LETTER = re.compile(r"([A-D])(?:类|[^A-Z]|$).*")


def parse_result_class(value: Any, classes: dict[str, str] | None = None) -> str | None:
    """A / A类 / Ａ类 / 甲 / 已解决或基本解决 … → 'A'..'D'; blank → None; unknown → InvalidValue."""
    token = clean_token(value)
    if token is None:
        return None
    table = classes if classes is not None else vocab().classes
    key = value_key(token)
    if key in table:
        return table[key]
    if key.endswith("类") and key[:-1] in table:
        return table[key[:-1]]
    letter = _CLASS_LETTER.fullmatch(key)  # "A类(已解决)", "B：正在解决"
    if letter:
        return letter.group(1)
    raise InvalidValue("不是有效的答复分类")


def parse_evaluation(value: Any, table: dict[str, str | None] | None = None) -> str | None:
    """满意 / 基本满意 (比较满意) / 不满意; blank, 未反馈, 未测评, 未表态 → None."""
    token = clean_token(value)
    if token is None or _ONLY_DASHES.match(token):
        return None
    table = table if table is not None else vocab().evaluation
    key = value_key(token)
    if key in table:
        return table[key]
    for prefix, result in (("不满意", "不满意"), ("基本满意", "基本满意"), ("比较满意", "基本满意"), ("满意", "满意")):
        if key.startswith(prefix):
            return result
    raise InvalidValue("不是有效的满意度")


def parse_role(value: Any, table: dict[str, str] | None = None) -> str | None:
    """主办/协办/分办; 会办 = 协办, 牵头 = 主办."""
    token = clean_token(value)
    if token is None:
        return None
    table = table if table is not None else vocab().role
    key = value_key(token)
    if key in table:
        return table[key]
    raise InvalidValue("不是有效的承办方式")


def parse_yes_no(value: Any, table: dict[str, bool] | None = None) -> bool | None:
    """是/否, √, Y/N, 1/0, 重点, 对/错 …; blank → None; unknown → InvalidValue."""
    token = clean_token(value)
    if token is None:
        return None
    table = table if table is not None else vocab().yes_no
    key = value_key(token).removesuffix(".0")
    if key in table:
        return table[key]
    raise InvalidValue("不是有效的是/否")


def parse_face_to_face(value: Any, table: dict[str, bool] | None = None) -> bool | None:
    """面商 = 是; 电话/书面 = 否; plus the yes/no spellings."""
    token = clean_token(value)
    if token is None:
        return None
    table = table if table is not None else vocab().face
    key = value_key(token).removesuffix(".0")
    if key in table:
        return table[key]
    if key[0] in "未没无不非":
        return False
    if any(word in key for word in ("面商", "见面", "当面", "面谈")):
        return True
    if any(word in key for word in ("电话", "书面", "函", "邮件", "短信", "微信", "网络")):
        return False
    raise InvalidValue("不是有效的面商方式")


def parse_kind(value: Any, table: dict[str, str] | None = None) -> str | None:
    token = clean_token(value)
    if token is None:
        return None
    table = table if table is not None else vocab().kind
    key = value_key(token)
    if key in table:
        return table[key]
    raise InvalidValue("不是有效的建议类型")


def canonical_category(value: Any, table: dict[str, str] | None = None) -> str | None:
    """教科文卫体 → 教科文卫体类; 其他/其它 → 其他; other names get the 类 suffix too."""
    token = clean_token(value)
    if token is None:
        return None
    table = table if table is not None else vocab().categories
    key = value_key(token)
    for candidate in (key, key + "类"):
        if candidate in table:
            return table[candidate]
    return token if token.endswith("类") else token + "类"


# ── applying the parsers to a column ─────────────────────────────────────────────────────────
def map_unique(
    values: pl.Series, parse: Callable[[str], Any], dtype: pl.DataType
) -> tuple[pl.Series, pl.Series]:
    """Run ``parse`` once per distinct value; returns (parsed values, reason or null) per row."""
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for item in values.drop_nulls().unique().to_list():
        try:
            parsed[item] = parse(item)
        except InvalidValue as exc:
            errors[item] = str(exc)
    if parsed:
        out = values.replace_strict(list(parsed), list(parsed.values()), default=None, return_dtype=dtype)
    else:
        out = pl.Series(values.name, [None] * len(values), dtype=dtype)
    if errors:
        reasons = values.replace_strict(list(errors), list(errors.values()), default=None, return_dtype=pl.Utf8)
    else:
        reasons = pl.Series(values.name, [None] * len(values), dtype=pl.Utf8)
    return out.rename(values.name), reasons.rename(values.name)


def _with_fallback(
    values: pl.Series, fast: pl.Series, settled: pl.Series, parse: Callable[[str], Any], dtype: pl.DataType
) -> tuple[pl.Series, pl.Series]:
    """``map_unique(values, parse, dtype)`` where a vectorised ``fast`` already holds the result of
    the ``settled`` rows: ``parse`` runs on the distinct values of the others only."""
    if settled.all():
        return fast.rename(values.name), _nulls(len(values), pl.Utf8, values.name)
    parsed, reasons = map_unique(values.zip_with(~settled, _nulls(len(values), pl.Utf8)), parse, dtype)
    return fast.zip_with(settled, parsed).rename(values.name), reasons


@dataclass
class SheetInput:
    """What recognition hands to normalisation for one sheet."""

    sheet: str | None
    data: pl.DataFrame  # the data rows: Utf8 columns c0.., plus row_no (1-based, as in Excel)
    columns: dict[str, list[str]]  # field → data column names, leftmost first
    labels: dict[str, str]  # data column name → header as written (for reasons)
    session_hint: str | None = None
    year_hint: int | None = None
    role_hint: str | None = None
    serial_columns: tuple[str, ...] = ()  # 序号 columns not used as the number
    date1904: bool = False  # bare serial numbers count from 1904-01-01


_SIGNATURE_CACHE: dict[tuple, re.Pattern] = {}


def _row_markers(rows: dict) -> tuple[re.Pattern, re.Pattern]:
    key = (tuple(rows["signature"]), tuple(rows["totals"]))
    if key not in _SIGNATURE_CACHE:
        long = [re.escape(w) for w in rows["signature"] if len(w) >= 3]
        short = [re.escape(w) for w in rows["signature"] if len(w) < 3]
        never = r"[^\s\S]"  # matches nothing (Rust regex has no (?!))
        pattern = rf"^(?:(?:{'|'.join(long) or never})|(?:{'|'.join(short) or never})(?:[:：]|$))"
        # 合计 / 合计： / 共400件。制表：… (a word alone, with a colon, or followed by a count)
        totals = rf"^(?:{'|'.join(re.escape(w) for w in rows['totals'])})(?:[:：]|$|\s*\d+\s*[件条项个])"
        _SIGNATURE_CACHE[key] = (re.compile(pattern), re.compile(totals))
    return _SIGNATURE_CACHE[key]


def _field(frame: pl.DataFrame, cols: list[str]) -> pl.Series:
    """One field's raw text per row: the first non-blank of its columns."""
    if len(cols) == 1:
        return frame.get_column(cols[0])
    picked = pl.coalesce([_blank_to_null(pl.col(c).str.strip_chars()) for c in cols])
    return frame.select(picked.alias(cols[0])).to_series()


def _nulls(n: int, dtype: pl.DataType, name: str = "") -> pl.Series:
    return pl.Series(name, [None] * n, dtype=dtype)


def _first(*series: pl.Series) -> pl.Series:
    """Row-wise first non-null of several Series."""
    return pl.select(pl.coalesce([s.rename(f"s{i}") for i, s in enumerate(series)])).to_series()


def _where(cond: pl.Series, value: Any, dtype: pl.DataType = pl.Utf8) -> pl.Series:
    """``value`` where ``cond`` holds, else null."""
    return cond.to_frame("c").select(pl.when(pl.col("c")).then(pl.lit(value, dtype=dtype))).to_series()


def _units(source: pl.Series | None, n: int) -> pl.Series:
    """Multi-unit cells → list of cleaned names (never null: no unit is an empty list)."""
    no_unit = pl.lit([], dtype=pl.List(pl.Utf8))
    if source is None:
        return pl.repeat(no_unit, n, eager=True)
    fast = per_distinct(source.to_frame(), _split_units_expr).to_series()
    units, _ = _with_fallback(source, fast, fast.is_not_null() | source.is_null(), split_units, pl.List(pl.Utf8))
    return units.fill_null(no_unit)


def _split_units_expr(text: pl.Expr) -> pl.Expr:
    """``split_units`` in polars for the cells of _SAME_IN_POLARS characters with no bracket (every
    separator splits there; a part of an NFKC text of those characters is its own NFKC); null for
    the others."""
    nfkc = text.str.normalize("NFKC")
    names = nfkc.str.replace_all(f"[{_UNIT_SEPARATOR_CHARS}]", "\x1f").str.replace_all(r"\s+", "")
    simple = text.str.contains(_SAME_IN_POLARS) & ~nfkc.str.contains(r"[(\[【]")
    return pl.when(simple).then(names.str.split("\x1f").list.eval(pl.element().filter(pl.element() != "")))


def _session_or_raise(value: str) -> str | None:
    if clean_token(value) is None:
        return None
    session = canonical_session(value)
    if session is None:
        raise InvalidValue("不是可识别的届次")
    return session


def _rejects(
    sheet: str | None, row_no: pl.Series, problems: list[tuple[str, pl.Series | None, pl.Series]]
) -> tuple[list[RowReject], pl.Series | None]:
    """One RowReject per row with any problem; its reason lists all of them."""
    if len(row_no) == 0 or not problems:
        return [], None
    n = len(row_no)
    columns: dict[str, pl.Series] = {"row_no": row_no}
    for i, (_, raw, reasons) in enumerate(problems):
        columns[f"r{i}"] = reasons.cast(pl.Utf8)
        columns[f"v{i}"] = raw.cast(pl.Utf8) if raw is not None else _nulls(n, pl.Utf8)
    frame = pl.DataFrame(columns)
    bad = frame.select(pl.any_horizontal([pl.col(f"r{i}").is_not_null() for i in range(len(problems))])).to_series()
    if not bad.any():
        return [], None
    rejects = []
    for record in frame.filter(bad).iter_rows(named=True):
        parts, first = [], None
        for i, (label, _, _) in enumerate(problems):
            reason = record[f"r{i}"]
            if reason is None:
                continue
            value = re.sub(r"\s+", " ", record[f"v{i}"] or "").strip() or None
            first = first or (label, value)
            parts.append(f'{label} "{value}" {reason}' if value else reason)
        row = record["row_no"]
        rejects.append(RowReject(sheet, row, first[0], first[1], f"第{row}行 " + "；".join(parts)))
    return rejects, bad


def normalise_sheet(
    kind: str, sheet: SheetInput, sender_unit: str | None, home: Path | None = None
) -> tuple[pl.DataFrame, list[RowReject], list[str]]:
    """The rows of one sheet as SCHEMAS[kind], the rejected rows, and notes for the operator.

    Blank rows, totals rows, repeated header rows and the signature/notes block under the data
    are not data rows: they are dropped here and not counted."""
    words = vocab(home)
    signature, totals = _row_markers(load_table("header_aliases.toml", home)["rows"])
    data = sheet.data
    cell_cols = [c for c in data.columns if c != "row_no"]
    notes: list[str] = []

    # -- which rows are data rows ----------------------------------------------------------------
    content_cols = [c for c in cell_cols if c not in sheet.serial_columns] or cell_cols
    # blank/marker detection needs only stripped text (strip_chars also drops nbsp and U+3000)
    tokens = data.select([_blank_to_null(pl.col(c).str.strip_chars()).alias(c) for c in content_cols])
    blank = tokens.select(pl.all_horizontal(pl.all().is_null())).to_series()
    first_cell = tokens.select(pl.coalesce(pl.all()).fill_null("")).to_series()
    number_cols = sheet.columns.get("number") or sheet.columns.get("serial") or []
    number_label = sheet.labels.get(number_cols[0], "建议编号") if number_cols else "建议编号"
    number_raw = _field(data, number_cols) if number_cols else _nulls(len(data), pl.Utf8, "number")
    number, number_year, number_err, number_token = numbers_and_years(number_raw)
    is_marker = first_cell.str.contains(signature.pattern) & number.is_null()
    is_total = first_cell.str.contains(totals.pattern) & number.is_null()
    repeated_header = (number_token == (clean_token(number_label) or "")).fill_null(False)
    keep = ~(blank | is_marker | is_total | repeated_header | (is_marker.cum_max() & number.is_null()))
    data = data.filter(keep)
    number, number_year, number_err, number_raw = (
        column.filter(keep) for column in (number, number_year, number_err, number_raw)
    )
    n = len(data)

    out: dict[str, pl.Series] = {}
    problems: list[tuple[str, pl.Series | None, pl.Series]] = []

    def label_of(field: str) -> str:
        cols = sheet.columns.get(field) or []
        return sheet.labels.get(cols[0], field) if cols else field

    def raw(*fields: str) -> pl.Series | None:
        for name in fields:
            if sheet.columns.get(name):
                return _field(data, sheet.columns[name])
        return None

    def parsed(field: str, parse: Callable, dtype: pl.DataType, *fallbacks: str, strict: bool = True) -> pl.Series:
        """Parse a field; bad values reject the row (strict) or become null with a note."""
        used = next((f for f in (field, *fallbacks) if sheet.columns.get(f)), None)
        if used is None:
            return _nulls(n, dtype, field)
        source = raw(used)
        values, reasons = map_unique(source, parse, dtype)
        if strict:
            problems.append((label_of(used), source, reasons))
        else:
            bad = reasons.is_not_null()
            if bad.any():
                examples = "、".join(f'"{v}"' for v in source.filter(bad).unique(maintain_order=True).head(3).to_list())
                where = f"工作表 {sheet.sheet} " if sheet.sheet else ""
                notes.append(f"{where}{label_of(used)} 有 {int(bad.sum())} 行无法识别 ({examples}), 已按空值处理")
        return values.rename(field)

    def text(field: str, token: bool = False) -> pl.Series:
        source = raw(field)
        if source is None:
            return _nulls(n, pl.Utf8, field)
        return per_distinct(source.to_frame(), token_expr if token else text_expr).to_series().rename(field)

    def date_field(field: str) -> pl.Series:
        return parsed(field, lambda v: parse_date(v, words.no_date, sheet.date1904), pl.Date)

    evaluation = lambda v: parse_evaluation(v, words.evaluation)  # noqa: E731

    # -- provenance, number, session, year -------------------------------------------------------
    out["sheet"] = pl.Series("sheet", [sheet.sheet] * n, dtype=pl.Utf8)
    out["row_no"] = data.get_column("row_no").cast(pl.Int32)
    out["session_hint"] = pl.Series("session_hint", [sheet.session_hint] * n, dtype=pl.Utf8)
    out["year_hint"] = pl.Series("year_hint", [sheet.year_hint] * n, dtype=pl.Int32)
    out["number"] = number
    missing = number.is_null() & number_err.is_null()
    problems.append((number_label, number_raw, _first(number_err, _where(missing, "缺少建议编号"))))
    out["session"] = parsed("session", _session_or_raise, pl.Utf8)
    out["year"] = _first(parsed("year", parse_year, pl.Int32), number_year)

    if kind == REGISTER:
        out["kind"] = parsed("kind", lambda v: parse_kind(v, words.kind), pl.Utf8, strict=False)
        out["title"] = text("title")
        out["lead_deputy"] = text("lead_deputy", token=True)
        count = parsed("cosigner_count", lambda v: split_people(v)[1], pl.Int32, strict=False)
        people = raw("cosigners")
        if people is not None:
            names, _ = map_unique(people, lambda v: split_people(v)[0], pl.Utf8)
            counted, _ = map_unique(people, lambda v: split_people(v)[1], pl.Int32)
            out["cosigners"] = names
            count = _first(count, counted)
        else:
            out["cosigners"] = _nulls(n, pl.Utf8)
        out["cosigner_count"] = count
        out["delegation"] = text("delegation", token=True)
        out["category"] = parsed("category", lambda v: canonical_category(v, words.categories), pl.Utf8)
        out["source"] = parsed("source", lambda v: "其他" if clean_token(v) == "其它" else clean_token(v), pl.Utf8)
        for field in ("proposed_date", "assigned_date", "deadline"):
            out[field] = date_field(field)
        leads = _units(raw("lead_units", "unit"), n)
        split = _units(raw("split_units"), n)
        has_split = split.list.len() > 0
        out["lead_units"] = split.zip_with(has_split, leads)
        split_role = has_split | (out["lead_units"].list.len() > 1)
        out["lead_role"] = pl.Series(["主办"] * n, dtype=pl.Utf8).zip_with(~split_role, pl.Series(["分办"] * n, dtype=pl.Utf8))
        out["co_units"] = _units(raw("co_units"), n)
        out["key_leader"] = text("key_leader", token=True)
        out["key_committee"] = text("key_committee", token=True)
        out["key_project"] = text("key_project", token=True)
        is_key = _first(
            parsed("is_key", lambda v: parse_yes_no(v, words.yes_no), pl.Boolean, strict=False),
            # a named 督办领导 or 督办项目 means key
            _where(out["key_leader"].is_not_null() | out["key_project"].is_not_null(), True, pl.Boolean),
        )
        out["is_key"] = is_key.fill_null(False) if sheet.columns.get("is_key") else is_key
        lead_label = label_of("lead_units") if sheet.columns.get("lead_units") else "主办单位"
        problems.append((lead_label, None, _where(out["lead_units"].list.len() == 0, "缺少主办单位")))
    else:
        from_lead_column = not sheet.columns.get("unit") and bool(sheet.columns.get("lead_units"))
        unit_raw = raw("unit", "lead_units")
        if unit_raw is None:
            unit = pl.Series([sender_unit] * n, dtype=pl.Utf8)
        else:
            def one_unit(value: str) -> str | None:
                names = split_units(value)
                if len(names) > 1:  # several units in the cell: the row is the sender's own
                    return sender_unit or "、".join(names)
                return names[0] if names else None

            unit, _ = map_unique(unit_raw, one_unit, pl.Utf8)
            unit = unit.fill_null(sender_unit) if sender_unit else unit
        if kind == UNIT_EXPORT:
            role = parsed("role", lambda v: parse_role(v, words.role), pl.Utf8)
            out["role"] = role.fill_null(sheet.role_hint) if sheet.role_hint else role
            if from_lead_column and sender_unit:
                # a 主办单位 column names the lead; on a 协办 row the sender is the handler
                unit = pl.Series([sender_unit] * n, dtype=pl.Utf8).zip_with(out["role"] == "协办", unit).fill_null(unit)
            out["title"] = text("title")
            out["status_text"] = text("status_text")
            out["reply_date"] = date_field("reply_date")
            out["result_class"] = parsed("result_class", lambda v: parse_result_class(v, words.classes), pl.Utf8)
            out["face_to_face"] = parsed("face_to_face", lambda v: parse_face_to_face(v, words.face), pl.Boolean, strict=False)
            out["evaluation"] = parsed("evaluation", evaluation, pl.Utf8)
            out["evaluation_work"] = parsed("evaluation_work", evaluation, pl.Utf8)
            out["evaluation_date"] = date_field("evaluation_date")
            out["promise_text"] = text("promise_text")
            out["promise_date"] = date_field("promise_date")
            out["promise_kept"] = parsed("promise_kept", lambda v: parse_yes_no(v, words.yes_no), pl.Boolean, strict=False)
            out["promise_kept_date"] = date_field("promise_kept_date")
            out["extension_date"] = date_field("extension_date")
            out["contact_name"] = text("contact_name", token=True)
            out["contact_phone"] = text("contact_phone", token=True)
        else:
            out["reply_satisfaction"] = parsed("reply_satisfaction", evaluation, pl.Utf8, "evaluation")
            out["implementation_satisfaction"] = parsed("implementation_satisfaction", evaluation, pl.Utf8)
            out["evaluation_date"] = date_field("evaluation_date")
        out["unit"] = unit

    schema = SCHEMAS[kind]
    frame = pl.DataFrame([out[name].rename(name).cast(dtype) for name, dtype in schema.items()])
    rejects, bad = _rejects(sheet.sheet, out["row_no"], problems)
    if bad is not None:
        frame = frame.filter(~bad)
    return frame, rejects, notes

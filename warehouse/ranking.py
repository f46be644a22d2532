"""Unit assessment (考核) and ranking, aspect by aspect, with the reason for every point.

    rank_units(conn, settings, year, as_of, hand_scores=None, version=None) -> list[dict]
    split_ranking(rows) -> (ranked, unranked)   # units without a lead assignment apart
    describe_ranking(rows) -> str            # plain-text table for the CLI
    read_hand_scores(path, known_units) -> {unit: {aspect: score}}

Aspects and weights come from settings [ranking.weights] (they sum to 100). Data aspects are
computed by warehouse.indicators.unit_table for the year as of T:
    on_time 按时办结率, face 面商率, solved 解决率, satisfaction 满意率(含基本满意),
    promise B类承诺兑现率, co_on_time 协办按时率, reporting 报送率 (1 − 未报送占比)
Every other weight key (leadership 领导重视程度, system 工作制度健全, or any a city adds) is a
hand-scored aspect: a 0–100 score per unit from the assessors' file (xlsx or csv; a unit column
单位 / 承办单位 / 单位名称, and one column per aspect named by its Chinese name or its key). With no
file named, $DUBAN_HOME/考核人工评分.xlsx (or .csv) is used when it exists.

Fairness (docs/domain.md: a unit with 2 suggestions must not top or bottom the list on luck): every
data rate is shrunk toward the city-wide pooled rate, shrunk = (k + m·p)/(n + m), i.e. the unit's
rate weighted n/(n + m) with m = [ranking.fairness] prior_strength and n the rate's denominator.
A unit with few cases therefore lands near the city average and has to prove itself over many
cases to reach the top. Shrinkage was chosen over ranking within tiers only, because a single
league keeps one list for the government's performance assessment; the workload tier (from
workload_tiers, by lead assignments) and the rank within the tier are reported alongside.

Points of an aspect = shrunk rate (or score/100) × weight. An aspect that cannot be scored for
anyone (no city-wide data, or hand aspects when no file is given) is left out and the total is
rescaled to 100 over the aspects that count, so totals stay comparable: each aspect carries the
weight it was scored with (``applied_weight``, e.g. 20 → 25 when 20 points of hand aspects are out)
and an aspect left out has ``points`` None (不计分), not 0. A unit missing from a given scores file
gets 0 on the hand aspects, with that said in its reasons.

Ranks: equal totals at the shown precision (two decimals) share a rank (1, 2, 2, 4). A unit without
a lead assignment in the year (co-handling only) is not ranked: it comes after the ranked units with
``rank`` and ``total`` None and says why; ``split_ranking`` separates the two groups.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from duban.core.settings import Settings
from warehouse.formatting import format_rate
from warehouse.indicators import Indicators, Scope, rate

# key -> (Chinese name, numerator, denominator) over the fields of Indicators.unit_table rows.
DATA_ASPECTS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "on_time": ("按时办结率", ("on_time",), ("completed", "overdue")),
    "face": ("面商率", ("face",), ("completed",)),
    "solved": ("解决率", ("class_A", "class_B"), ("completed",)),
    "satisfaction": ("满意率(含基本满意)", ("eval_full", "eval_basic"), ("evaluated",)),
    "promise": ("B类承诺兑现率", ("promise_kept",), ("promise_due",)),
    "co_on_time": ("协办按时率", ("co_on_time",), ("co_due",)),
    "reporting": ("报送率", ("reported",), ("assignments",)),
}
HAND_NAMES = {"leadership": "领导重视程度", "system": "工作制度健全"}
UNIT_HEADERS = ("单位", "承办单位", "单位名称", "unit")
TIER_NAMES = ("少量", "中等", "较多", "大量", "很多")


class RankingInputError(ValueError):
    """The assessors' file cannot be used; the message is for the operator (Chinese)."""


def _aspect_name(key: str) -> str:
    return DATA_ASPECTS[key][0] if key in DATA_ASPECTS else HAND_NAMES.get(key, key)


def _read_table(path: Path) -> pl.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xls", ".xlsm"):
            return pl.read_excel(path, engine="calamine", infer_schema_length=0)
        raw = path.read_bytes()
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise RankingInputError(f"评分表 {path.name} 的编码无法识别 (应为 UTF-8 或 GBK)")
        return pl.read_csv(io.StringIO(text), infer_schema_length=0)
    except RankingInputError:
        raise
    except Exception as exc:  # unreadable file: one clear reason, not a traceback
        raise RankingInputError(f"评分表 {path.name} 无法读取: {exc}") from exc


def read_hand_scores(path: Path | str, aspects: list[str], resolve) -> dict[str, dict[str, float]]:
    """{unit: {aspect: score 0–100}}; ``resolve`` maps a spelling to a canonical unit or None."""
    path = Path(path)
    df = _read_table(path)
    headers = {str(c).strip(): c for c in df.columns}
    unit_col = next((headers[h] for h in UNIT_HEADERS if h in headers), None)
    if unit_col is None:
        raise RankingInputError(f"评分表 {path.name} 缺少单位列 (应为 {' / '.join(UNIT_HEADERS[:3])})")
    cols = {}
    for key in aspects:
        for h in (_aspect_name(key), key):
            if h in headers:
                cols[key] = headers[h]
                break
    if not cols:
        names = "、".join(_aspect_name(k) for k in aspects)
        raise RankingInputError(f"评分表 {path.name} 中没有评分列 (应为 {names})")
    scores: dict[str, dict[str, float]] = {}
    for i, row in enumerate(df.iter_rows(named=True), start=2):
        name = (row[unit_col] or "").strip()
        if not name:
            continue
        unit = resolve(name)
        if unit is None:
            raise RankingInputError(f"评分表 {path.name} 第{i}行 单位 \"{name}\" 不是已知的承办单位")
        for key, col in cols.items():
            cell = (row[col] or "").strip() if isinstance(row[col], str) or row[col] is None else str(row[col])
            if cell == "":
                continue
            try:
                value = float(cell)
            except ValueError:
                value = -1.0
            if not 0 <= value <= 100:
                raise RankingInputError(
                    f"评分表 {path.name} 第{i}行 {_aspect_name(key)} \"{cell}\" 应为 0 到 100 之间的分数")
            scores.setdefault(unit, {})[key] = value
    return scores


def _resolver(conn: duckdb.DuckDBPyConnection):
    rows = conn.execute("SELECT unit AS name, unit FROM units UNION ALL SELECT alias, unit FROM unit_aliases "
                        "UNION ALL SELECT unit_key, unit FROM units").fetchall()
    table = {name: unit for name, unit in rows}
    return lambda name: table.get(name) or table.get(name.replace(" ", ""))


def workload_tier(n: int, tiers: tuple[int, ...]) -> str:
    """Tier label by lead assignments: tiers (5, 15) -> 少量(<5件) / 中等(5–14件) / 较多(≥15件)."""
    bounds = [0, *tiers]
    for i, low in enumerate(bounds):
        high = bounds[i + 1] if i + 1 < len(bounds) else None
        if high is None or n < high:
            name = TIER_NAMES[i] if i < len(TIER_NAMES) else f"第{i + 1}档"
            span = f"≥{low}件" if high is None else (f"<{high}件" if low == 0 else f"{low}–{high - 1}件")
            return f"{name}({span})"
    raise AssertionError("unreachable")


def _competition_ranks(values: list[float]) -> list[int]:
    """1, 2, 2, 4 for equal totals (values sorted descending)."""
    ranks, prev = [], None
    for i, v in enumerate(values, start=1):
        ranks.append(ranks[-1] if prev is not None and v == prev else i)
        prev = v
    return ranks


# The assessors' hand scores, when no file is named: <home>/考核人工评分.xlsx (or .csv).
HAND_SCORES_NAMES = ("考核人工评分.xlsx", "考核人工评分.csv")


def default_hand_scores(home: Path | None) -> Path | None:
    if home is None:
        return None
    return next((p for p in (home / n for n in HAND_SCORES_NAMES) if p.exists()), None)


def rank_units(conn: duckdb.DuckDBPyConnection, settings: Settings, year: int, as_of: date | None = None,
               hand_scores: Path | str | None = None, version: str | None = None) -> list[dict]:
    """Every unit with an assignment in ``year``: total (0–100), rank, tier, and each aspect's reason."""
    as_of = as_of or date.today()
    hand_scores = hand_scores or default_hand_scores(settings.home)
    ind = Indicators(conn, settings, version=version)
    table = ind.unit_table(Scope(year=year, as_of=as_of))
    weights = settings.ranking.weights
    m = settings.ranking.prior_strength
    for r in table:
        r["assignments"] = r["lead_assignments"] + r["co_assignments"]
        r["reported"] = r["assignments"] - r["unreported"]

    def total_of(r: dict, keys: tuple[str, ...]) -> int:
        return sum(r[k] for k in keys)

    city: dict[str, float | None] = {}
    for key, (_, num, den) in DATA_ASPECTS.items():
        city[key] = rate(sum(total_of(r, num) for r in table), sum(total_of(r, den) for r in table))

    hand_keys = [k for k in weights if k not in DATA_ASPECTS]
    scores = read_hand_scores(hand_scores, hand_keys, _resolver(conn)) if hand_scores and hand_keys else None
    active = {k: w for k, w in weights.items()
              if (k in DATA_ASPECTS and city[k] is not None) or (k not in DATA_ASPECTS and scores is not None)}
    scale = 100 / sum(active.values()) if active and sum(active.values()) else 0.0

    out = []
    for r in table:
        aspects = []
        for key, weight in weights.items():
            name = _aspect_name(key)
            counted = key in active
            a = {"key": key, "name": name, "weight": weight, "source": "数据" if key in DATA_ASPECTS else "人工",
                 "applied_weight": weight * scale if counted else None,
                 "raw": None, "numerator": None, "denominator": None, "value": None,
                 "points": 0.0 if counted else None, "counted": counted}
            if key in DATA_ASPECTS:
                _, num, den = DATA_ASPECTS[key]
                k, n = total_of(r, num), total_of(r, den)
                a.update(numerator=k, denominator=n, raw=rate(k, n))
                if city[key] is None:
                    a["reason"] = f"{name}: 全市均无可计算的数据, 本项不计分"
                else:
                    # Shrink toward the city rate: (k + m·p) / (n + m) (module docstring).
                    shrunk = rate(k + m * city[key], n + m)
                    shrunk = city[key] if shrunk is None else shrunk
                    a["value"] = shrunk
                    a["points"] = shrunk * weight * scale
                    trust = rate(n, n + m) or 0.0
                    if n == 0:
                        basis = f"无可计算的件 (分母为0), 按全市平均 {format_rate(city[key])} 计"
                    else:
                        basis = (f"{k}/{n} = {format_rate(a['raw'])}, 按样本量向全市平均 {format_rate(city[key])} "
                                 f"收缩 (可信度 {format_rate(trust)}) 为 {format_rate(shrunk)}")
                    a["reason"] = f"{name}: {basis}; 得 {a['points']:.2f} 分 (满分 {weight * scale:.2f})"
            else:
                if scores is None:
                    a["reason"] = f"{name}: 未提供人工评分表, 本项不计分"
                else:
                    score = scores.get(r["unit"], {}).get(key)
                    if score is None:
                        a["reason"] = f"{name}: 评分表中无该单位评分, 按0分计 (满分 {weight * scale:.2f})"
                    else:
                        a.update(raw=score, value=score / 100, points=score / 100 * weight * scale)
                        a["reason"] = (f"{name}: 人工评分 {score:g}/100; 得 {a['points']:.2f} 分 "
                                       f"(满分 {weight * scale:.2f})")
            aspects.append(a)
        ranked = r["lead_assignments"] > 0
        out.append({"unit": r["unit"], "ranked": ranked,
                    "total": sum(a["points"] for a in aspects if a["counted"]) if ranked else None,
                    "tier": workload_tier(r["lead_assignments"], settings.ranking.workload_tiers) if ranked else None,
                    "lead_assignments": r["lead_assignments"], "co_assignments": r["co_assignments"],
                    "completed": r["completed"], "overdue": r["overdue"], "aspects": aspects,
                    "rank": None, "tier_rank": None, "tier_size": None})

    ranked_rows, unranked_rows = split_ranking(out)
    # Ranked by the total as shown (two decimals): totals that print alike share a rank.
    ranked_rows.sort(key=lambda u: (-round(u["total"], 2), -u["lead_assignments"], u["unit"]))
    for u, rank in zip(ranked_rows, _competition_ranks([round(u["total"], 2) for u in ranked_rows])):
        u["rank"] = rank
    for tier in {u["tier"] for u in ranked_rows}:
        members = [u for u in ranked_rows if u["tier"] == tier]
        for u, rank in zip(members, _competition_ranks([round(u["total"], 2) for u in members])):
            u["tier_rank"] = rank
            u["tier_size"] = len(members)
    for u in ranked_rows:
        weakest = min((a for a in u["aspects"] if a["counted"] and a["source"] == "数据" and a["value"] is not None),
                      key=lambda a: a["value"], default=None)
        u["reason"] = (f"总分 {u['total']:.2f}, 第{u['rank']}名/{len(ranked_rows)}; 工作量{u['tier']}, 档内第{u['tier_rank']}名"
                       + (f"; 最弱项: {weakest['name']} {format_rate(weakest['value'])}" if weakest else ""))
    unranked_rows.sort(key=lambda u: u["unit"])
    for u in unranked_rows:
        u["reason"] = f"本年度无主办件 (协办 {u['co_assignments']} 件), 不参加排名"
    return ranked_rows + unranked_rows


def split_ranking(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """rank_units rows → (the ranked units in rank order, the units without a lead assignment)."""
    return [u for u in rows if u["ranked"]], [u for u in rows if not u["ranked"]]


def describe_ranking(rows: list[dict]) -> str:
    """Plain-text ranking for the terminal: one line per unit, then its aspects."""
    ranked, unranked = split_ranking(rows)
    lines = ["名次  总分    单位  (工作量档次 / 档内名次)"]
    for u in ranked:
        lines.append(f"{u['rank']:>3}  {u['total']:6.2f}  {u['unit']}  ({u['tier']} / 第{u['tier_rank']}名)")
        for a in u["aspects"]:
            lines.append(f"        · {a['reason']}")
    if unranked:
        lines.append("不参加排名 (本年度无主办件):")
        lines += [f"     {u['unit']}  {u['reason']}" for u in unranked]
    return "\n".join(lines)

"""The demo inbox generator: deterministic, the promised sizes, and every kind of mess present."""

from __future__ import annotations

import csv
import hashlib
import re
from datetime import date
from pathlib import Path

import fastexcel
import pytest

from duban.demo.inbox import (
    CITY,
    MESS_KINDS,
    demo_sessions,
    demo_unit_aliases,
    demo_units,
    demo_years,
    session_label,
    session_name,
    snapshot,
    unit_spellings,
    simulate_year,
    write_inbox,
)

AS_OF = date(2026, 11, 22)
SMALL = dict(suggestions=40, years=2, units=15, seed=11, as_of=AS_OF)


@pytest.fixture(scope="module")
def small_inbox(tmp_path_factory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("inbox")
    return root, write_inbox(root, **SMALL)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _read_rows(path: Path) -> dict[str, list[list[str]]]:
    """Every sheet of a spreadsheet or CSV as rows of text cells ('' for empty)."""
    if path.suffix == ".csv":
        raw = path.read_bytes()
        for enc in ("utf-8-sig", "gbk"):
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        return {"-": [list(r) for r in csv.reader(text.splitlines())]}
    reader = fastexcel.read_excel(str(path))
    out = {}
    for name in reader.sheet_names:
        frame = reader.load_sheet(name, header_row=None).to_polars()
        out[name] = [["" if v is None else str(v) for v in row] for row in frame.rows()]
    return out


def _cell_row(where: str) -> tuple[Path, str, list[str]]:
    # "path | sheet | 第N行"
    path, sheet, row = (part.strip() for part in where.split("|"))
    return Path(path), sheet, int(re.fullmatch(r"第(\d+)行", row).group(1))


def test_sessions_restart_numbering_each_term():
    assert session_name(2022) == "十八届一次"
    assert session_name(2026) == "十八届五次"
    assert session_name(2027) == "十九届一次"
    assert session_name(2021) == "十七届五次"
    assert session_label(2024, "long") == "市十八届人大三次会议"
    assert session_label(2024, "short") == "18-3"
    # as_of in November 2026: 2026 is the newest (running) year
    assert demo_years(3, AS_OF) == [2024, 2025, 2026]
    # before April the new session's suggestions are not yet assigned: the newest is last year's
    assert demo_years(2, date(2026, 2, 1)) == [2024, 2025]
    assert list(demo_sessions(2, AS_OF)) == ["十八届四次", "十八届五次"]


def test_same_seed_same_bytes(tmp_path, small_inbox):
    root, _ = small_inbox
    again = tmp_path / "again"
    write_inbox(again, **SMALL)
    first, second = _files(root), _files(again)
    assert first.keys() == second.keys()
    for name in first:
        assert hashlib.sha256(first[name]).digest() == hashlib.sha256(second[name]).digest(), name


def test_other_seed_other_content(tmp_path, small_inbox):
    root, _ = small_inbox
    other = tmp_path / "other"
    write_inbox(other, **{**SMALL, "seed": 12})
    assert _files(root) != _files(other)


def test_register_rows_and_counts(small_inbox):
    root, summary = small_inbox
    registers = sorted(p for p in root.rglob("*") if "交办台账" in p.name)
    assert len(registers) == 2  # one per year
    titles = 0
    for path in registers:
        for rows in _read_rows(path).values():
            # every suggestion row has a title beginning with 关于 (in the column 标题)
            titles += sum(1 for r in rows if any(c.startswith("关于") for c in r))
    assert titles == 40 * 2
    assert summary.register_rows == 80
    assert summary.by_kind["register"] == 2
    assert summary.by_kind["broken"] == 3
    assert summary.files == sum(summary.by_kind.values()) == len(_files(root))


def test_registers_come_in_three_shapes(small_inbox):
    root, _ = small_inbox
    suffixes = sorted(p.suffix for p in root.rglob("*交办台账*"))
    # newest year: xlsx with a two-level merged header; the year before: Excel 97-2003
    assert suffixes == [".xls", ".xlsx"]
    xlsx = next(root.rglob("*交办台账*.xlsx"))
    rows = _read_rows(xlsx)["交办台账"]
    assert rows[1][0] == "基本情况" and "交办情况" in rows[1]
    assert rows[2][0] == "建议编号"


def test_three_years_include_a_gbk_register(tmp_path):
    summary = write_inbox(tmp_path, suggestions=12, years=3, units=8, seed=3, as_of=AS_OF)
    gbk = next(tmp_path.rglob("*交办台账*.csv"))
    text = gbk.read_bytes().decode("gbk")
    # the oldest of 2024..2026 is the GBK one; 2024 = 十八届三次, written in the short form
    assert text.splitlines()[0].startswith("2024年代表建议交办情况一览表")
    assert ",2024-001,18-3,2024," in "," + text.splitlines()[2]
    assert summary.register_rows == 36


def test_every_kind_of_mess_is_there(small_inbox):
    root, summary = small_inbox
    assert set(summary.mess) == set(MESS_KINDS)
    for kind in ("invalid_date", "unknown_class", "formula_cell", "duplicate_row", "foreign_row", "script_title"):
        for where in summary.mess[kind]:
            path, sheet, row_no = _cell_row(where)
            sheets = _read_rows(root / path)
            rows = sheets[sheet] if sheet in sheets else next(iter(sheets.values()))
            row = rows[row_no - 1]
            if kind == "invalid_date":
                assert any(re.fullmatch(r"\d{4}年13月5日", c) for c in row), row
            elif kind == "unknown_class":
                assert "E类" in row
            elif kind == "formula_cell":
                assert "=1+1" in row
            elif kind == "duplicate_row":
                assert row == rows[row_no - 2]
            elif kind == "script_title":
                assert any("<script>alert(1)</script>" in c for c in row)
            elif kind == "foreign_row":
                title = next(c for c in row if c.startswith("关于"))
                # the unit handles nothing else of that title's suggestion in this file
                assert sum(1 for r in rows if title in r) == 1
    pdf, = summary.mess["not_a_spreadsheet"]
    assert pdf.endswith(".xlsx") and (root / pdf).read_bytes().startswith(b"%PDF")
    empty, = summary.mess["empty_file"]
    assert (root / empty).stat().st_size == 0
    junk, = summary.mess["random_bytes"]
    assert not (root / junk).read_bytes().startswith((b"PK", b"\xd0\xcf\x11\xe0"))


def test_units_and_spellings(small_inbox):
    root, summary = small_inbox
    names = {u.name for u in demo_units(15)}
    assert len(names) == 15
    register = next(root.rglob("*交办台账*.xlsx"))
    rows = _read_rows(register)["交办台账"]
    header = rows[2]
    leads = header.index("主办单位") if "主办单位" in header else header.index("牵头单位")
    used = {u for r in rows[3:] if len(r) > leads and r[leads] for u in re.split(r"[、；，\n]", r[leads])}
    assert used and used <= names  # the register always spells units canonically
    aliases = demo_unit_aliases(100)
    assert aliases["示范市教育局"] == "市教育局"
    assert aliases["教育局"] == "市教育局"
    assert aliases["市教育局（市语委）"] == "市教育局"
    assert "市教育局" not in aliases
    assert summary.unreported and summary.stale
    assert not set(summary.unreported) & set(summary.stale)


def test_report_dates_never_after_as_of(small_inbox):
    root, _ = small_inbox
    for path in root.rglob("*"):
        for found in re.findall(r"(\d{4})-(\d{2})-(\d{2})", path.name):
            assert date(*map(int, found)) <= AS_OF, path
        if path.is_file() and path.stat().st_size and "交办台账" not in path.name and "损坏" not in path.name \
                and path.read_bytes()[:4] != b"%PDF":
            for rows in _read_rows(path).values():
                for row in rows[:3]:
                    for y, m, d in re.findall(r"填报日期：(\d{4})年(\d{1,2})月(\d{1,2})日", " ".join(row)):
                        assert date(int(y), int(m), int(d)) <= AS_OF


def test_scale_parameters(tmp_path):
    summary = write_inbox(tmp_path, suggestions=25, years=1, units=6, seed=5, as_of=date(2025, 9, 1))
    assert summary.years == [2025]
    assert summary.register_rows == 25
    assert summary.by_kind["register"] == 1
    assert "evaluation" not in summary.by_kind  # only completed years get a 满意度测评
    assert summary.by_kind["unit_export"] >= 1
    with pytest.raises(ValueError):
        write_inbox(tmp_path / "x", suggestions=0)


def test_simulation_is_realistic():
    import random

    units = demo_units(100)
    rng = random.Random(1)
    quality = {u.name: 0.55 + 0.45 * rng.random() ** 0.5 for u in units}
    deputies = [(f"代表{i}", "锦湖区代表团") for i in range(50)]
    yd = simulate_year(rng, 2026, 400, units, deputies, quality, AS_OF, current=True)
    leads = [a for work in yd.by_unit.values() for a in work if a.role != "协办"]
    snaps = [snapshot(a, AS_OF) for a in leads]
    replied = [s for s in snaps if s.get("reply_date")]
    share_a = sum(s["result_class"] == "A" for s in replied) / len(replied)
    assert 0.6 <= share_a <= 0.9
    evaluated = [s for s in replied if s.get("evaluation") in ("满意", "基本满意", "不满意")]
    satisfied = sum(s["evaluation"] != "不满意" for s in evaluated) / len(evaluated)
    assert satisfied >= 0.93
    # the running year: some lead assignments still open past their deadline, some not yet due
    open_overdue = [a for a, s in zip(leads, snaps) if not s.get("reply_date") and a.s.deadline < AS_OF]
    assert 0.02 <= len(open_overdue) / len(leads) <= 0.15
    assert any(not s.get("reply_date") and a.s.deadline >= AS_OF for a, s in zip(leads, snaps))
    assert sum(1 for s in yd.suggestions if s.key) >= 5
    assert any(len(s.leads) > 1 for s in yd.suggestions)
    assert {s.kind for s in yd.suggestions} == {"大会建议", "闭会建议"}


def test_thousands_of_units_of_every_kind():
    """A province's congress assigns to 150–250 units, a national one to more: the generator makes
    at least 2,000, the first ones unchanged as it grows, the rest of every real kind."""
    units = demo_units(2000)
    names = [u.name for u in units]
    assert len(set(names)) == 2000
    assert names[:185] == [u.name for u in demo_units(185)]
    beyond = names[185:250]
    for kind in ("局", "人民法院", "人民检察院", "街道办事处", "镇人民政府", "有限公司"):
        assert any(n.endswith(kind) for n in beyond), kind
    with pytest.raises(ValueError, match="最多支持"):
        demo_units(100_000)


@pytest.mark.parametrize("count", [100, 2000])
def test_spellings_resolve_with_shipped_aliases(tmp_path, count):
    """Every spelling a demo unit uses for itself maps back to its register name through the ETL's
    own rules, the place names it infers and the shipped alias table (so demo figures are whole);
    the one typo does not."""
    from etl.normalise import unit_key
    from etl.stage import read_unit_aliases
    from etl.unitnames import infer_places

    units = demo_units(count)
    spellings = [s for unit in units for s in unit_spellings(unit)]
    cities = [p.name for p in infer_places([u.name for u in units], spellings)]
    assert cities == [CITY]  # found in the units' spellings: the register writes 市教育局
    aliases = read_unit_aliases(tmp_path)  # shipped defaults only: tmp_path has no alias file
    alias_by_key = {unit_key(a, cities): t for a, t in aliases.items()}

    def resolves_to(spelling: str) -> str:
        target = aliases.get(spelling) or alias_by_key.get(unit_key(spelling, cities))
        return unit_key(target or spelling, cities)

    keys = [unit_key(u.name, cities) for u in units]
    assert len(set(keys)) == len(keys)  # no two demo units collide
    for unit in units:
        for spelling in unit_spellings(unit):
            assert resolves_to(spelling) == unit_key(unit.name, cities), (spelling, unit.name)
    assert resolves_to("是教育局") not in keys


def test_the_typo_export_is_written(small_inbox):
    root, summary = small_inbox
    path, = summary.mess["unknown_unit"]
    text = " ".join(c for rows in _read_rows(root / path).values() for r in rows for c in r) + path
    # the sender's own name with 市 typed as 是, in a cell, a column or the file name
    assert any("是" + u.name[1:] in text for u in demo_units(15) if u.name.startswith("市"))


def test_multi_year_workbooks(small_inbox):
    root, summary = small_inbox
    assert summary.multi_year
    for path in summary.multi_year:
        sheets = _read_rows(root / path)
        assert list(sheets)[:2] == ["2025年", "2026年"]
        # each sheet has a header row and at least one data row below it
        for name in ("2025年", "2026年"):
            rows = sheets[name]
            header = next(i for i, r in enumerate(rows) if r[0] == "序号")
            assert rows[header + 1][0] == "1"


def test_every_export_says_when_and_who(small_inbox):
    """An export's report date orders it among the unit's exports: it must be in a cell, the title
    or the file name (the file time is the same for all of them); and so must the sender."""
    root, summary = small_inbox
    spellings = {sp.split("（")[0] for u in demo_units(15) for sp in unit_spellings(u)}
    spellings |= {"是" + u.name[1:] for u in demo_units(15)}  # the deliberate typo
    checked = 0
    for path in root.rglob("*"):
        if not path.is_file() or not path.stat().st_size or "交办台账" in path.name or "测评" in path.name:
            continue
        if path.read_bytes()[:4] == b"%PDF" or "损坏" in path.name:
            continue
        sheets = _read_rows(path)
        top = " ".join(c for rows in sheets.values() for r in rows[:3] for c in r)
        assert re.search(r"\d{4}-\d{2}-\d{2}|\d{8}", path.name) or "填报日期" in top or "截至" in top, path
        # the sender: a 填报单位 cell, a 承办单位/办理单位 column, or its name in the file name
        whole = " ".join(c for rows in sheets.values() for r in rows[:4] for c in r)
        has_column = any(h in whole.split() for h in ("承办单位", "办理单位"))
        assert "填报单位" in whole or has_column or any(sp in path.name for sp in spellings), path
        checked += 1
    assert checked == summary.by_kind["unit_export"]

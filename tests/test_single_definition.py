"""Every figure has ONE definition, in warehouse/indicators.py (and warehouse/ranking.py).

The dashboard, the exports and the CLI only show what the indicator layer returns: no SQL and
no rate arithmetic of their own. This test greps them so that a second definition cannot creep in.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOWN_BY = [*sorted((ROOT / "dashboard").rglob("*.py")), *sorted((ROOT / "exports").rglob("*.py")),
            ROOT / "duban" / "cli.py"]

FORBIDDEN = {
    "SQL": re.compile(r"\bSELECT\s|\bFROM\s+(suggestions|assignments|handling_reports|congress_evaluations)\b"),
    "a query on a connection": re.compile(r"\.(execute|sql|query)\(\s*f?[\"']"),
    "a rate's denominator": re.compile(
        r"/\s*\(?\s*(?:\w+\s*\[\s*[\"'])?(total|completed|evaluated|lead_assignments|promise_due|co_due|n)\b"),
    "a rate's numerator": re.compile(
        r"\b(completed|on_time|evaluated|face|satisfied|eval_\w+|promise_kept|co_on_time|class_[A-D])"
        r"[\"']?\s*\]?\s*\)?\s*/(?!/)"),
    "a sum of counts over rows": re.compile(r"\bsum\(\s*\w+\s*\[\s*[\"'](completed|overdue|on_time|evaluated)"),
}


def offences(text: str) -> list[str]:
    found = []
    for no, line in enumerate(text.splitlines(), start=1):
        code = line.split("#", 1)[0]
        for what, pattern in FORBIDDEN.items():
            if pattern.search(code):
                found.append(f"{no}: {what}: {line.strip()}")
    return found


def test_patterns_catch_a_second_definition():
    assert offences('rate = m["completed"] / m["total"]')
    assert offences("x = completed / total")
    assert offences('conn.execute("SELECT count(*) FROM suggestions")')
    assert offences('sum(r["completed"] for r in rows)')
    assert not offences('label = f"{done} / {all}"  # shown, not computed')
    assert not offences('path = ROOT / "assets" / "style.css"')


def test_no_rate_arithmetic_or_sql_outside_the_indicator_layer():
    problems = []
    for path in SHOWN_BY:
        if path.exists():
            problems += [f"{path.relative_to(ROOT)}:{o}" for o in offences(path.read_text(encoding="utf-8"))]
    assert not problems, "计算口径只能在 warehouse/indicators.py 中定义:\n" + "\n".join(problems)

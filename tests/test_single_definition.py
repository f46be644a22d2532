"""Every figure has ONE definition, in the indicator layer (warehouse/indicators.py, its typed
results in warehouse/results.py, and warehouse/ranking.py).

The dashboard, the exports and the CLI only show what that layer returns. This test reads their
syntax trees (not their lines, so a split line or an alias does not hide anything) and fails on:
SQL text, a rate's division over a figure, and counting or summing the rows of a list — a sum
over a comprehension of rows, a Counter, a distinct count (len of a set of rows' values), a
filter comparing a row's field, a threshold on a row's figure (``days_overdue > 90`` restates
the overdue buckets). What a page shows as a count comes as a field of a typed result
(OverdueSummary, KeySummary, metrics …).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOWN_BY = [*sorted((ROOT / "dashboard").rglob("*.py")), *sorted((ROOT / "exports").rglob("*.py")),
            ROOT / "duban" / "cli.py"]

SQL = re.compile(r"\bSELECT\s|\bFROM\s+(suggestions|assignments|handling_reports|congress_evaluations)\b")
QUERY_METHODS = {"execute", "sql", "query"}
# The fields of the indicator layer's rows and results that are figures (counts, statuses, ages).
FIGURES = {"total", "completed", "on_time", "evaluated", "face", "satisfied", "overdue", "due_soon", "n",
           "lead_assignments", "promise_due", "promise_kept", "co_due", "co_on_time", "status", "days_overdue",
           "days_to_deadline", "age_bucket", "evaluation", "result_class", "unreported", "reported"}
STATUS_LABELS = {"已办结", "在办", "逾期", "临期", "未办结"}
FIGURE_NAME = re.compile(r"^(eval_\w+|class_[A-D])$")


def _field(node: ast.AST) -> str | None:
    """The field a row access names: ``r["x"]`` or ``r.get("x")`` → "x"."""
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
        return node.slice.value
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
            and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        return node.args[0].value
    return None


def _figures_in(node: ast.AST) -> list[str]:
    return [f for n in ast.walk(node) if (f := _field(n)) and (f in FIGURES or FIGURE_NAME.match(f))]


def _is_figure(node: ast.AST) -> bool:
    names = [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]
    return bool(_figures_in(node)) or any(n in FIGURES or FIGURE_NAME.match(n) for n in names)


def _judges(test: ast.AST) -> bool:
    """A filter on a figure: a count or age, or a status against one of the item statuses
    (a file's status such as 整体拒收 is lineage, not a figure)."""
    fields = _figures_in(test)
    return any(f != "status" for f in fields) or bool(fields) and any(
        isinstance(n, ast.Constant) and n.value in STATUS_LABELS for n in ast.walk(test))


def offences(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            found.append(f"{line}: SQL")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in QUERY_METHODS
              and node.args and isinstance(node.args[0], (ast.Constant, ast.JoinedStr))):
            found.append(f"{line}: a query on a connection")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and (_is_figure(node.left) or _is_figure(node.right)):
            found.append(f"{line}: a rate's division")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sum" and node.args
              and isinstance(node.args[0], (ast.GeneratorExp, ast.ListComp)) and _figures_in(node.args[0])):
            found.append(f"{line}: a sum over rows")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Counter"
              and any(_figures_in(a) for a in node.args)):
            found.append(f"{line}: a Counter of rows")
        elif (isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add)
              and _field(node.value.values[0] if isinstance(node.value, ast.BoolOp) else node.value) in FIGURES):
            found.append(f"{line}: a running sum of rows")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len" and node.args
              and isinstance(node.args[0], ast.SetComp) and _figures_in(node.args[0]) + [
                  f for n in ast.walk(node.args[0]) if (f := _field(n))]):
            found.append(f"{line}: a distinct count of rows")
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)) and any(
                _judges(test) for c in node.generators for test in c.ifs):
            found.append(f"{line}: rows filtered on a figure")
        elif (isinstance(node, ast.Compare) and _figures_in(node)
              and any(isinstance(c, ast.Constant) and type(c.value) in (int, float) and c.value not in (0, 1)
                      for c in [node.left, *node.comparators])):
            found.append(f"{line}: a threshold on a figure")
    return found


def test_the_checks_catch_a_second_definition():
    assert offences('rate = m["completed"] / m["total"]')
    assert offences("x = completed / total")
    assert offences('conn.execute("SELECT count(*) FROM suggestions")')
    assert offences('conn.execute(\n    "SELECT count(*) "\n    "FROM suggestions")')
    assert offences('sum(r["completed"] for r in rows)')
    assert offences('done = sum(1 for r in items if r.get("status") == "已办结")')
    assert offences('n = sum(c["n"] for c in shown)')
    assert offences('by_unit = Counter(r["unit"] for r in rows if r["status"] == "逾期")')
    assert offences('by_bucket[c["age_bucket"]] += c["n"]')
    assert not offences("clashes = Counter(paths)")
    assert not offences('text += f"已办结{m[\'completed\']}件"')
    assert offences('unit["rows"] += f["overdue"] or 0')
    assert not offences('[f for f in files if f.get("status") == "整体拒收"]')
    assert offences('late = [r for r in items if r.get("status") == "逾期"]')
    assert offences('over90 = sum(1 for r in overdue if (r.get("days_overdue") or 0) > 90)')
    assert offences('long = (r.get("days_overdue") or 0) > 90')
    assert offences("n = len({r['suggestion_id'] for r in overdue})")
    assert not offences('label = f"{done} / {all}"  # shown, not computed')
    assert not offences('path = ROOT / "assets" / "style.css"')
    assert not offences('text = f"逾期 {r[\'days_overdue\']} 天" if r.get("status") == "逾期" else "临期"')
    assert not offences("width = sum(2 if wide(ch) else 1 for ch in text)")


def test_pages_exports_and_the_cli_show_figures_they_do_not_compute():
    problems = []
    for path in SHOWN_BY:
        if path.exists():
            problems += [f"{path.relative_to(ROOT)}:{o}" for o in offences(path.read_text(encoding="utf-8"))]
    assert not problems, "计算口径只能在指标层 (warehouse/indicators.py) 中定义:\n" + "\n".join(problems)

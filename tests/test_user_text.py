"""What users read says what to do in Chinese: no setting keys ([ranking.fairness]) and no shell
commands (duban etl status) in any text of the dashboard's pages or the exports. Docstrings and
comments are for developers and not checked."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTING_KEY = re.compile(r"\[(?:[a-z_]+\.)*(?:etl|serve|auth|ranking|deadline|chase|meeting|results|sessions|fairness|weights)\]")
COMMAND = re.compile(r"\bduban (?:etl|users|serve|demo|metrics|report|template|notify|units|bench)\b")


def user_strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_no_setting_keys_or_commands_in_user_text():
    found = [f"{path.relative_to(ROOT)}:{line}: {text}"
             for folder in ("dashboard", "exports") for path in sorted((ROOT / folder).rglob("*.py"))
             for line, text in user_strings(path) if SETTING_KEY.search(text) or COMMAND.search(text)]
    assert found == []

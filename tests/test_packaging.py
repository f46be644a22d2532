"""Every file the app serves from assets/ goes into a built wheel (pyproject package-data): a
non-editable install once lacked the bundled Bootstrap (assets/vendor/) and the licence files."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_package_data_covers_every_asset():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]["*"]
    assets = ROOT / "assets"
    missing = [str(p.relative_to(assets)) for p in assets.rglob("*")
               if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
               and not any(fnmatch(str(p.relative_to(assets)), pattern) for pattern in patterns)]
    assert missing == []


# Tools that are not the product: `duban bench` needs the bench extra (pip install .[bench]).
DEVELOPER_TOOLS = {"duban/bench.py"}


def third_party_imports(folder: Path) -> dict[str, str]:
    """Top-level modules imported anywhere in a package (function-level imports included) → a file."""
    import ast
    import sys

    ours = {"duban", "etl", "warehouse", "dashboard", "exports", "assets", "tests"}
    found: dict[str, str] = {}
    for path in folder.rglob("*.py"):
        if path.relative_to(ROOT).as_posix() in DEVELOPER_TOOLS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for name in names:
                top = name.split(".")[0]
                if top not in ours and top not in sys.stdlib_module_names:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_module_the_product_imports_is_a_runtime_dependency():
    """`pip install .` gives every command (`duban demo` once needed xlwt, a test-only extra)."""
    import re
    from importlib.metadata import packages_distributions

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {re.split(r"[<>=\[; ]", d, maxsplit=1)[0].lower().replace("_", "-") for d in project["dependencies"]}
    distributions = packages_distributions()
    missing = {}
    for folder in ("duban", "etl", "warehouse", "dashboard", "exports"):
        for module, where in third_party_imports(ROOT / folder).items():
            names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
            # a dependency's own dependency (flask comes with dash, werkzeug with flask …) is enough
            if not names & runtime and not names & _installed_with(runtime):
                missing[module] = where
    assert missing == {}


def _installed_with(runtime: set[str]) -> set[str]:
    """Every distribution the runtime dependencies pull in, recursively."""
    import re
    from importlib.metadata import PackageNotFoundError, requires

    seen: set[str] = set()
    todo = list(runtime)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            needs = requires(name) or []
        except PackageNotFoundError:
            continue
        todo += [re.split(r"[<>=!~\[; (]", r, maxsplit=1)[0].lower().replace("_", "-") for r in needs if "extra ==" not in r]
    return seen


def test_the_project_stands_alone():
    """Code, docs and --help cite the project's own docs (docs/domain.md, docs/interfaces.md),
    never a ../shared folder a clone does not have (tests may read test data from it)."""
    shipped = [ROOT / "README.md", ROOT / "Makefile", ROOT / "pyproject.toml", *(ROOT / "docs").rglob("*.md"),
               *(p for folder in ("duban", "etl", "warehouse", "dashboard", "exports", "assets")
                 for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".md", ".toml", ".sql", ".js"))]
    citing = [str(p.relative_to(ROOT)) for p in shipped
              if any(ref in p.read_text(encoding="utf-8", errors="replace") for ref in ("../shared", "shared/domain.md", "/work/shared"))]
    assert citing == []
    assert (ROOT / "docs" / "domain.md").exists() and (ROOT / "docs" / "interfaces.md").exists()

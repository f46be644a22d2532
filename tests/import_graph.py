"""The project's import graph and its layers: `python -m tests.import_graph [--lines] [--hidden] [--root=DIR]`.

Prints every import between the product's modules as `importer -> imported` (module level; imports
inside functions are listed with --hidden), each marked UP when it points to a higher layer, then
the lines per module with --lines. --root reads another checkout (e.g. a `git worktree` of an
older commit) to compare before and after. tests/test_layers.py holds the code to the rule: no upward
import, no import of the project hidden inside a function. docs/architecture.md draws the layers.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("duban", "etl", "warehouse", "dashboard", "exports", "assets")

# Lowest first. A module belongs to the first layer whose prefix names it (longest prefix wins);
# a module may import its own layer and any below, never one above.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("core", ("duban.core", "assets")),
    ("storage", ("warehouse.connection", "warehouse.statefiles")),
    ("etl", ("etl",)),
    ("figures", ("warehouse",)),
    ("show", ("dashboard", "exports")),
    ("edge", ("duban", "dashboard.wsgi")),
)


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    hidden: bool  # inside a function body: run on first call, not at import

    @property
    def upward(self) -> bool:
        return layer_rank(self.imported) > layer_rank(self.importer)


def layer_of(module: str) -> str:
    best = max(((prefix, name) for name, prefixes in LAYERS for prefix in prefixes
                if module == prefix or module.startswith(prefix + ".")), key=lambda pair: len(pair[0]))
    return best[1]


def layer_rank(module: str) -> int:
    return [name for name, _ in LAYERS].index(layer_of(module))


def product_modules(root: Path = ROOT) -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The product module an imported name lives in (a package's attribute import counts as the package)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _imported_names(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
        base = ".".join(anchor + ([base] if base else []))
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


def imports(root: Path = ROOT) -> list[Import]:
    modules = product_modules(root)
    found = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        hidden_nodes = {id(inner) for func in ast.walk(tree) if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef))
                        for inner in ast.walk(func)}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            targets = {_resolve(name, modules) for name in _imported_names(node, module, path.name == "__init__.py")}
            for target in sorted(t for t in targets if t and t != module and not module.startswith(t + ".")):
                found.append(Import(module, target, node.lineno, id(node) in hidden_nodes))
    # `from pkg import a` also names `pkg`: keep the most precise module per statement
    precise = {(i.importer, i.line): i for i in sorted(found, key=lambda i: len(i.imported))}
    return sorted({i for i in found if precise[(i.importer, i.line)] == i or
                   not precise[(i.importer, i.line)].imported.startswith(i.imported + ".")},
                  key=lambda i: (i.importer, i.line, i.imported))


def main(argv: list[str]) -> int:
    root = next((Path(a.split("=", 1)[1]) for a in argv if a.startswith("--root=")), ROOT)
    found = imports(root)
    for item in found:
        if item.hidden and "--hidden" not in argv:
            continue
        marks = " ".join(m for m, on in (("UP", item.upward), ("hidden", item.hidden)) if on)
        print(f"{item.importer} -> {item.imported}  [{layer_of(item.importer)} -> {layer_of(item.imported)}]"
              + (f"  {marks}" if marks else ""))
    upward, hidden = sum(i.upward for i in found), sum(i.hidden for i in found)
    print(f"# {len(found)} imports, {upward} upward, {hidden} inside functions")
    if "--lines" in argv:
        modules = product_modules(root)
        for module, path in modules.items():
            print(f"{len(path.read_text(encoding='utf-8').splitlines()):6d}  {module}")
        print(f"{sum(len(p.read_text(encoding='utf-8').splitlines()) for p in modules.values()):6d}  total")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

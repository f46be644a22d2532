"""The layers run one way (docs/architecture.md): every import points to the importer's own layer
or one below, only the edge reads the environment or imports inside functions (a subcommand loads
only what it needs). The graph is tests/import_graph.py's."""

import ast

from tests import import_graph
from tests.import_graph import imports, layer_of, product_modules

EDGE_READS_ENVIRONMENT = {"duban.environment", "duban.bench", "dashboard.wsgi"}


def test_no_module_imports_a_higher_layer():
    upward = [f"{i.importer}:{i.line} imports {i.imported} ({layer_of(i.importer)} → {layer_of(i.imported)})"
              for i in imports() if i.upward]
    assert upward == []


def test_the_bottom_imports_nothing_of_the_project_above_it():
    assert {i.imported for i in imports() if layer_of(i.importer) == "core"} <= {
        m for m in product_modules() if layer_of(m) == "core"}


def test_the_check_fails_on_an_upward_import(tmp_path):
    for package, source in {"etl": "from warehouse.indicators import prepare_version\n",
                            "warehouse": "", "duban": "", "dashboard": "", "exports": "", "assets": ""}.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(source, encoding="utf-8")
    (tmp_path / "warehouse" / "indicators.py").write_text("def prepare_version(): ...\n", encoding="utf-8")
    [found] = [i for i in imports(tmp_path) if i.upward]
    assert (found.importer, found.imported) == ("etl", "warehouse.indicators")


def test_below_the_edge_no_project_import_hides_in_a_function():
    # A hidden import puts off a cycle (a layering problem) or hides a dependency from this check.
    hidden = [f"{i.importer}:{i.line} imports {i.imported}" for i in imports()
              if i.hidden and layer_of(i.importer) != "edge"]
    assert hidden == []


def _reads_environment(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb") \
                and isinstance(node.value, ast.Name) and node.value.id == "os":
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "os" and \
                any(alias.name in ("environ", "getenv") for alias in node.names):
            return True
    return False


def test_only_the_edge_reads_the_environment():
    readers = {module for module, path in product_modules().items()
               if _reads_environment(ast.parse(path.read_text(encoding="utf-8")))}
    assert readers <= EDGE_READS_ENVIRONMENT, readers - EDGE_READS_ENVIRONMENT
    assert all(import_graph.layer_of(module) == "edge" for module in EDGE_READS_ENVIRONMENT)

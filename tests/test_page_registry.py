"""Pages as a registry (dashboard/registry.py, dashboard/pages/__init__.py): each page declares
itself once; addresses find their page; no page imports another page or the app."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from dash import html

from dashboard.app import create_app
from dashboard.auth import LOCAL_VIEWER
from dashboard.downloads import Download
from dashboard.pages import REGISTRY
from dashboard.registry import Page, Registry
from tests.browser import sample

PAGES_DIR = Path(__file__).resolve().parents[1] / "dashboard" / "pages"


@pytest.mark.parametrize("address, name, args", [
    ("/", "overview", []),
    (None, "overview", []),
    ("/units", "units", []),
    ("/units/", "units", []),
    ("/units/%E5%B8%82%E6%95%99%E8%82%B2%E5%B1%80", "unit", ["市教育局"]),
    ("/suggestions/十八届一次/6", "suggestion", ["十八届一次", "6"]),
    ("/suggestions", "suggestion", []),  # the page says the address names no suggestion
    ("/overdue/extra", "overdue", ["extra"]),
    ("/meeting", "meeting", []),
])
def test_an_address_finds_its_page(address, name, args):
    page, found_args = REGISTRY.find(address)
    assert (page.name, found_args) == (name, args)


def test_an_unknown_address_finds_no_page():
    assert REGISTRY.find("/nothing-here") == (None, [])


def test_the_registry_gives_the_navbar_the_warm_up_and_the_downloads():
    assert REGISTRY.nav_for("supervisor") == [("/", "总览"), ("/units", "承办单位"), ("/overdue", "逾期预警"), ("/key", "重点督办"),
                                              ("/followup", "跟踪督办"), ("/trends", "年度趋势"), ("/data", "数据状态"), ("/meeting", "会议大屏")]
    assert REGISTRY.nav_for("deputy") == [("/my", "我的建议")]
    assert REGISTRY.warm_paths == ["/", "/units", "/overdue", "/key", "/followup", "/trends", "/meeting"]
    assert [d.button_id for d in REGISTRY.downloads] == [
        "download-report", "download-ranking", "download-unit-assignments", "download-template",
        "download-chase-list", "download-followup", "download-rejected"]
    assert [p.name for p in REGISTRY.pages if p.full_screen] == ["meeting"]


def test_an_address_is_quoted_as_links_are():
    unit_page = next(p for p in REGISTRY.pages if p.name == "unit")
    assert unit_page.address(unit="市教育局（市语委）/2") == "/units/%E5%B8%82%E6%95%99%E8%82%B2%E5%B1%80%EF%BC%88%E5%B8%82%E8%AF%AD%E5%A7%94%EF%BC%89%2F2"
    assert REGISTRY.find(unit_page.address(unit="市/局"))[1] == ["市/局"]


def test_two_pages_cannot_claim_the_same_name_address_or_download():
    def layout(ctx):
        return None

    download = Download("download-x", "下载", "导出", lambda *a: (b"", "x.xlsx"))
    with pytest.raises(ValueError, match="path"):
        Registry([Page("a", "/a", layout), Page("b", "/a", layout)])
    with pytest.raises(ValueError, match="name"):
        Registry([Page("a", "/a", layout), Page("a", "/b", layout)])
    with pytest.raises(ValueError, match="download id"):
        Registry([Page("a", "/a", layout, downloads=(download,)), Page("b", "/b", layout, downloads=(download,))])


def test_a_new_page_is_one_declaration_in_the_registry(tmp_path):
    """Its address, navbar entry, callbacks, download and warm-up all follow from its Page."""
    installed = []
    hello = Page("hello", "/hello", lambda ctx, *_: html.Div(f"截至 {ctx.as_of}", id="hello-page"), nav_label="问候",
                 downloads=(Download("download-hello", "下载问候", "导出问候", lambda *_: (b"hello", "问候.txt")),),
                 callbacks=lambda app, board: installed.append(board), warm=True)
    app = create_app(sample.build(tmp_path), home=tmp_path / "home", auth=False, pages=Registry([*REGISTRY.pages, hello]))
    board = app.duban
    shown = str(board.render("/hello", "?as_of=2024-06-30", viewer=LOCAL_VIEWER))
    assert "hello-page" in shown and "截至 2024-06-30" in shown and "nav-hello" in shown
    assert installed == [board]
    assert "/hello" in board.pages.warm_paths
    sent = app.server.test_client().get("/download/download-hello?at=/hello")
    assert sent.status_code == 200 and sent.data == b"hello"


def test_every_page_module_declares_a_page_and_is_registered():
    modules = sorted(p.stem for p in PAGES_DIR.glob("*.py") if p.stem != "__init__")
    registered = sorted(page.layout.__module__.rsplit(".", 1)[-1] for page in REGISTRY.pages)
    assert registered == modules


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


@pytest.mark.parametrize("module", sorted(p.name for p in PAGES_DIR.glob("*.py") if p.stem != "__init__"))
def test_no_page_imports_another_page_or_the_app(module):
    imported = _imported_modules(PAGES_DIR / module)
    assert not {name for name in imported if name.startswith(("dashboard.pages", "dashboard.app", "dashboard.wsgi"))}


@pytest.mark.parametrize("module", ["components.py", "charts.py", "downloads.py", "registry.py", "page_cache.py",
                                   "auth.py", "urlstate.py"])
def test_the_pieces_pages_use_import_no_page_nor_the_app(module):
    imported = _imported_modules(PAGES_DIR.parent / module)
    assert not {name for name in imported if name.startswith(("dashboard.pages", "dashboard.app", "dashboard.wsgi"))}

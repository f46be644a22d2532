"""Rendered pages are kept per published version (dashboard.page_cache): a repeat request is
answered from the stored bytes, and anything the page depends on — the viewer, a new 催办 record,
the URL — gives a freshly computed page, never someone else's or an outdated one."""

from __future__ import annotations

import json
from datetime import date

import pytest

from dashboard.app import create_app
from duban.core import appstate
from duban.core.settings import load_settings
from tests.browser import sample
from tests.test_serve_auth_http import PASSWORD, callback_body, logged_in

Q = "?year=2024&as_of=2024-06-30"


@pytest.fixture()
def site(tmp_path):
    home = tmp_path / "home"
    app = create_app(sample.build(tmp_path), home=home, auth=True)
    appstate.add_user(home, "jt", "unit", "市交通局", PASSWORD)
    appstate.add_user(home, "duban", "supervisor", None, PASSWORD)
    renders: list = []
    real = app.duban.render

    def counting(*args, **kwargs):
        renders.append(args[:2])
        return real(*args, **kwargs)
    app.duban.render = counting
    return app, home, renders


def page(app, client, path: str, search: str = Q) -> str:
    """The page answer as readable text (Dash escapes Chinese in its JSON)."""
    body = callback_body(app, "page.children", {"url.pathname": path, "url.search": search})
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    return json.dumps(response.json, ensure_ascii=False)


def test_a_repeat_view_is_served_from_the_stored_page(site):
    app, _, renders = site
    client = logged_in(app, "duban")
    first = page(app, client, "/")
    again = page(app, client, "/")
    assert again == first and renders == [("/", Q)]
    page(app, client, "/", "?year=2023&as_of=2024-06-30")  # another URL: computed
    assert len(renders) == 2
    stored = list(app.duban.pw.paths.current_version().parent.glob("*.cache/pages/*"))
    assert len(stored) == 2


def test_another_viewer_never_gets_a_stored_page(site):
    app, _, renders = site
    supervisor = page(app, logged_in(app, "duban"), "/units/市教育局")
    assert "市教育局" in supervisor
    unit_view = page(app, logged_in(app, "jt"), "/units/市教育局")
    assert len(renders) == 2 and "无权查看" in unit_view


def test_a_new_chase_record_recomputes_the_page(site):
    app, home, renders = site
    client = logged_in(app, "duban")
    path = "/suggestions/十八届一次/1"
    page(app, client, path)
    appstate.record_chase(home, "十八届一次-1", "市教育局", date(2024, 6, 30), "电话", "请加快", "duban")
    assert "请加快" in page(app, client, path)
    assert len(renders) == 2


def test_a_settings_change_is_not_served_a_page_stored_before(tmp_path):
    """Stored pages outlive a restart; the restarted server with other settings computes afresh."""
    link = sample.build(tmp_path)
    first = create_app(link, home=tmp_path / "home", auth=False)
    due_soon = page(first, first.server.test_client(), "/", Q)
    changed = load_settings(home=tmp_path, override={"deadline": {"months": 6}})
    second = create_app(link, settings=changed, home=tmp_path / "home", auth=False)
    assert page(second, second.server.test_client(), "/", Q) != due_soon


def test_a_page_that_failed_to_render_is_not_kept(site, monkeypatch):
    app, _, renders = site
    client = logged_in(app, "duban")
    from dashboard.pages import trends
    real = trends.table  # a piece of the page's layout (the registry holds the layout itself)
    monkeypatch.setattr(trends, "table", lambda *a: 1 / 0)
    assert "本页暂时无法显示" in page(app, client, "/trends")
    monkeypatch.setattr(trends, "table", real)
    assert "本页暂时无法显示" not in page(app, client, "/trends")


def test_before_anything_is_published_the_page_says_so(tmp_path):
    app = create_app(tmp_path / "none.duckdb", home=tmp_path / "home", auth=False)
    assert "尚无数据" in page(app, app.server.test_client(), "/", "")


def test_anonymous_requests_never_reach_the_store(site):
    app, _, renders = site
    page(app, logged_in(app, "duban"), "/")
    body = callback_body(app, "page.children", {"url.pathname": "/", "url.search": Q})
    assert app.server.test_client().post("/_dash-update-component", json=body).status_code == 401


def test_a_changed_hand_score_file_gives_the_new_ranking_on_units(site, monkeypatch):
    """The assessors' file is an input of /units besides the version: it is named in the key."""
    app, home, renders = site
    monkeypatch.setenv("DUBAN_HOME", str(home))
    scores = home / "考核人工评分.csv"

    def ranking_with(leader: str) -> str:
        others = [u for u in ("市教育局", "市交通局") if u != leader]
        scores.write_text("单位,领导重视程度,工作制度健全\n" + f"{leader},100,100\n"
                          + "".join(f"{u},0,0\n" for u in others), encoding="utf-8")
        text = page(app, client, "/units")
        return "市教育局" if text.index("市教育局") < text.index("市交通局") else "市交通局"

    client = logged_in(app, "duban")
    assert ranking_with("市教育局") == "市教育局"
    assert ranking_with("市交通局") == "市交通局"  # computed anew, not the stored page
    assert len(renders) == 2


def test_a_burst_of_dates_keeps_attached_states_and_files_bounded_and_pages_answer(tmp_path):
    from datetime import timedelta

    from warehouse import statefiles

    home = tmp_path / "home"
    home.mkdir()
    (home / "settings.toml").write_text("[serve]\nmax_attached_states = 4\nmax_state_files = 6\n", encoding="utf-8")
    app = create_app(sample.build(tmp_path), home=home, auth=True)
    appstate.add_user(home, "duban", "supervisor", None, PASSWORD)
    client = logged_in(app, "duban")
    folder = app.duban.pw.paths.current_version().parent / (app.duban.pw.paths.current_version().name + ".cache")
    attached = []
    for i in range(12):  # a distinct date each: each costs state builds
        day = date(2024, 3, 1) + timedelta(days=9 * i)
        assert f"{day.isoformat()}" in page(app, client, "/overdue", f"?year=2024&as_of={day}")
        attached.append(len(statefiles.attached_states(app.duban.pw.connection())))
        assert len(list(folder.glob("st_*.duckdb"))) <= 6
    assert max(attached) <= 4 and attached[-1] == 4
    # a date past today or before the data is clamped to them, and the page says so
    future = page(app, client, "/overdue", "?year=2024&as_of=2099-01-01")
    assert "所选日期 2099-01-01 超出数据的日期范围, 按 " + date.today().isoformat() + " 显示" in future
    early = page(app, client, "/overdue", "?as_of=1995-01-01")
    assert "所选日期 1995-01-01 超出数据的日期范围" in early

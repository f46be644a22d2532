"""The 督办 dashboard: one Dash app, a dcc.Location router, every view state in the URL.

    app = create_app(warehouse_link, home=home, settings=None, auth=True)
    app.duban.render(pathname, search)        # the router as a plain function (tests call it)

Flow: a URL change (link click, filter change, cross-filter click, back button) → ``render`` builds
the view from the indicator layer on the *current* published version (PublishedWarehouse reopens
after a refresh, so new data appears without a restart) → the page. Filter and cross-filter
callbacks only compute the next URL; they never update charts directly, so every state is
reachable by link and undone by the back button.

Pages (dashboard/pages/*.py) are thin: layout built from warehouse.indicators / warehouse.ranking
results; no SQL or rate arithmetic here. Each declares itself (address, navbar label, layout,
callbacks, downloads, warm-up) in its ``PAGE``; the app reads them from dashboard.pages.REGISTRY
and names no page itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Callable

import dash
import dash_bootstrap_components as dbc
import flask
from dash import ALL, Input, Output, State, ctx as dash_ctx, dcc, html, no_update

import assets as assets_pkg
from dashboard import auth as login
from dashboard import components as C
from dashboard import downloads, page_cache
from dashboard.pages import REGISTRY
from dashboard.registry import STAFF, Registry
from dashboard.urlstate import ViewState
from duban.core import appstate
from duban.core.settings import Settings, load_settings
from warehouse import statefiles
from warehouse.connection import PublishedWarehouse, WarehouseMissing
from warehouse.indicators import Indicators

log = logging.getLogger(__name__)
ASSETS = Path(assets_pkg.__file__).parent
BOOTSTRAP = "/assets/vendor/bootstrap.min.css"


# ── the runtime: router + callback bodies as plain methods ────────────────────────────────────


@dataclass
class Dashboard:
    pw: PublishedWarehouse
    settings: Settings
    home: Path
    pages: Registry = REGISTRY

    def context(self, pathname: str, search: str | None, viewer: Any = None, snapshot: tuple | None = None) -> C.ViewContext:
        # the request's own snapshot when it took one (its stored answer is keyed on that version)
        version, conn = snapshot or page_cache.request_snapshot() or self.pw.snapshot()
        ind = Indicators(conn, self.settings, version=version)
        viewer = self.resolve_viewer(viewer or login.required_viewer(), ind)
        restrict = viewer.unit if viewer.role == "unit" else None
        asked = ViewState.parse(search)
        state = asked.clamp_as_of(ind.first_assigned(), date.today())
        return C.ViewContext(
            ind=ind,
            settings=self.settings,
            home=self.home,
            state=state,
            as_of_asked=asked.as_of if asked.as_of != state.as_of else None,
            viewer=viewer,
            version=version,
            filters=ind.available_filters(restrict),
            path=pathname or "/",
            refreshed_at=ind.last_refreshed(),
        )

    def render(self, pathname: str | None, search: str | None = None, viewer: Any = None, snapshot: tuple | None = None) -> Any:
        """The router: the whole page (nav, filters, view) for a path + query string."""
        page, args = self.pages.find(pathname)
        try:
            ctx = self.context(pathname or "/", search, viewer, snapshot)
        except WarehouseMissing as exc:
            return _shell_message("尚无数据", str(exc))
        if page is not None and ctx.viewer.role not in page.roles:
            # another role's page: a deputy sees their own page, the staff their first one
            page, args = self.pages.home_of(ctx.viewer.role), []
        if page is None:
            return self._chrome(ctx, [html.H3("页面不存在"), html.P(f"地址 {pathname} 不是看板的页面。"), dcc.Link("返回总览", href=ctx.link("/"))])
        try:
            body = page.layout(ctx, *args)
        except statefiles.StateBuildTimeout as exc:  # a date that costs too much: say so, keep nothing
            page_cache.not_to_be_stored()
            body = dbc.Alert(str(exc), color="warning", id="render-timeout")
        except Exception:  # a broken view must not take the app down; the operator sees the log
            log.exception("render %s%s", pathname, search or "")
            page_cache.not_to_be_stored()  # a passing fault must not stay on screen for the whole version
            body = dbc.Alert("本页暂时无法显示 (已记录错误, 请联系管理员)。", color="danger", id="render-error")
        if page.full_screen:
            return body
        return self._chrome(ctx, body)

    def resolve_viewer(self, viewer: Any, ind: Indicators) -> Any:
        """A unit account whose unit is spelt differently from the warehouse (成都市教育局 for
        市教育局, an old alias) gets the warehouse's canonical name, else its pages would be empty."""
        if getattr(viewer, "role", None) != "unit" or not viewer.unit:
            return viewer
        unit = ind.canonical_unit(viewer.unit)  # cached per version: no query per request
        return viewer if unit == viewer.unit else replace(viewer, unit=unit)

    def warm(self, version: str, conn) -> None:
        """Render the main views' default state on a version before it is served (duban serve sets
        this as PublishedWarehouse.prepare): the state for T and every default result get cached."""
        viewer = login.LOCAL_VIEWER  # a supervisor: sees everything, like leaders and supervisors
        statefiles.wait_prepared(Path(version).parent)  # a refresh preparing it builds the states, not this worker
        for path in self.pages.warm_paths:
            self.render(path, "", viewer=viewer, snapshot=(version, conn))

    def _chrome(self, ctx: C.ViewContext, body: Any) -> html.Div:
        role = ctx.viewer.role
        filters = [C.filter_bar(ctx)] if role in STAFF else []  # a deputy's page has no scope to choose
        return html.Div([C.navbar(ctx, ctx.path, self.pages.nav_for(role)), *filters,
                         dbc.Container(body, fluid=True, className="py-2")])

    def callback_roles(self, output: str) -> tuple[str, ...]:
        """Who may call the callback with this output: the router anyone logged in (it shows each
        role only its pages), a page's callbacks that page's roles, the app's others the staff."""
        if output == page_cache.PAGE_OUTPUT:
            return (*STAFF, "deputy")
        page = self.pages.callback_pages.get(output)
        return page.roles if page is not None else STAFF

    # callbacks as plain functions -------------------------------------------------------------

    @staticmethod
    def filters_to_search(trigger: str | None, year, session, kind, category, as_of, search: str | None,
                          defaults: dict | None = None) -> Any:
        """The URL after a global filter changed (no_update when it is unchanged, or when the control
        only reports the default it shows — a freshly drawn filter bar must not rewrite the URL)."""
        value = {"filter-year": year, "filter-as-of": (as_of or "")[:10] or None}.get(trigger or "")
        if value is not None and value == (defaults or {}).get(trigger):
            return no_update
        state = ViewState.parse(search)
        changes: dict[str, Any] = {}
        if trigger == "filter-year":
            changes = {"year": year, "session": None if year else state.session}
        elif trigger == "filter-session":
            changes = {"session": session or None, "year": None if session else state.year}
        elif trigger == "filter-kind":
            changes = {"kind": kind or None}
        elif trigger == "filter-category":
            changes = {"category": category or None}
        elif trigger == "filter-as-of":
            try:
                changes = {"as_of": date.fromisoformat(as_of[:10]) if as_of else None}
            except ValueError:
                return no_update
        if not changes:
            return no_update
        new = ViewState(**{**state.as_dict(), **changes})
        new_search = new.to_search()
        return no_update if new_search == (search or "") else new_search

    @staticmethod
    def cross_filter(key: str, click: dict | None, search: str | None) -> Any:
        """A click on a chart element puts its value into the URL (clicking it again clears it)."""
        value = _clicked_value(click)
        if value is None:
            return no_update
        if key == "year":
            try:
                value = int(value)
            except (TypeError, ValueError):
                return no_update
        state = ViewState.parse(search)
        new_search = state.with_(**{key: value}).to_search()
        return no_update if new_search == (search or "") else new_search


    def _record_follow_up(self, what: str, target: dict | None, unit: str | None, day_text: str | None,
                          viewer: Any, store: Callable[[str | None, date], object]) -> tuple[Any, str | None, date]:
        """What a 催办 and a 约谈 record share: who may record one, its date, its suggestion and unit
        checked against the published version, then ``store(suggestion_id, day)``. Returns (the
        alert that refuses it, or None; the suggestion id; the day)."""
        suggestion_id = (target or {}).get("suggestion_id")
        if not C.can_chase(viewer):
            return dbc.Alert(f"本账号不能记录{what} ({what}由督办人员记录)。", color="warning"), suggestion_id, date.today()
        try:
            day = date.fromisoformat(day_text[:10]) if day_text else date.today()
        except ValueError:
            return dbc.Alert(f"{what}日期 “{day_text}” 不是有效日期。", color="warning"), suggestion_id, date.today()
        try:
            self._check_chase_target(suggestion_id, unit, viewer)
            store(suggestion_id, day)
        except appstate.AppStateError as exc:
            return dbc.Alert(str(exc), color="warning"), suggestion_id, day
        return None, suggestion_id, day

    def record_chase(self, target: dict | None, unit: str | None, chase_date: str | None, way: str | None, note: str | None, viewer: Any) -> tuple:
        """Store one 催办 record; returns (message, refreshed history, the note field) for the form:
        the note is cleared after a save, so a second click has nothing to record twice."""
        refused, suggestion_id, day = self._record_follow_up(
            "催办", target, unit, chase_date, viewer,
            lambda sid, day: appstate.record_chase(self.home, sid, unit, day, way or "", note or "", viewer.username))
        if refused is not None:
            return refused, no_update, no_update
        return (dbc.Alert(f"已记录: {day.isoformat()} {way}" + (f" ({unit})" if unit else ""), color="success"),
                self._chase_history(suggestion_id, unit, viewer), "")

    def withdraw_chase(self, chase_id: Any, target: dict | None, unit: str | None, viewer: Any) -> tuple:
        """Take back one of the viewer's own recent 催办 records; (message, refreshed history)."""
        try:
            appstate.withdraw_chase(self.home, chase_id, viewer.username, self.settings.chase_withdraw_minutes)
        except appstate.AppStateError as exc:
            return dbc.Alert(str(exc), color="warning"), no_update
        return (dbc.Alert("已撤回该条催办记录。", color="success"),
                self._chase_history((target or {}).get("suggestion_id"), unit, viewer))

    def record_interview(self, target: dict | None, unit: str | None, day_text: str | None, kind: str | None,
                         with_whom: str | None, outcome: str | None, viewer: Any) -> tuple:
        """Store one 约谈/约见 record, checked like a 催办; (message, refreshed history, the outcome field)."""
        refused, suggestion_id, day = self._record_follow_up(
            "约谈", target, unit, day_text, viewer,
            lambda sid, day: appstate.record_interview(self.home, sid, unit, day, kind or "", with_whom or "",
                                                       outcome or "", viewer.username))
        if refused is not None:
            return refused, no_update, no_update
        rows = (appstate.interviews(self.home, suggestion_id=suggestion_id) if suggestion_id
                else appstate.interviews(self.home, unit=unit))
        return (dbc.Alert(f"已记录: {day.isoformat()} {kind} {unit}", color="success"), C.interview_history(rows), "")

    def _chase_history(self, suggestion_id: str | None, unit: str | None, viewer: Any) -> Any:
        rows = appstate.chases(self.home, suggestion_id=suggestion_id) if suggestion_id else appstate.chases(self.home, unit=unit)
        return C.chase_history(rows, viewer, self.settings.chase_withdraw_minutes)

    def _check_chase_target(self, suggestion_id: Any, unit: Any, viewer: Any) -> None:
        """The suggestion and the unit of a 催办 (or 约谈) exist in the published version (and the unit handles
        the suggestion): a crafted request cannot record 催办 of things that are not there."""
        ctx = self.context("/", "", viewer)
        if unit and unit not in (ctx.filters.get("units") or []):
            raise appstate.AppStateError(f"承办单位 “{unit}” 不在当前数据中")
        if suggestion_id:
            detail = ctx.ind.suggestion_detail(suggestion_id, ctx.as_of)
            if detail is None:
                raise appstate.AppStateError(f"建议 “{suggestion_id}” 不在当前数据中")
            if unit and unit not in {a["unit"] for a in detail["assignments"]}:
                raise appstate.AppStateError(f"{unit} 不是该建议的承办单位")


def _clicked_value(click: dict | None) -> Any:
    if not click or not click.get("points"):
        return None
    point = click["points"][0]
    custom = point.get("customdata")
    if isinstance(custom, list):
        custom = custom[0] if custom else None
    if custom not in (None, ""):
        return custom
    return point.get("label") or point.get("y") if isinstance(point.get("y"), str) else point.get("x")


def _shell_message(title: str, text: str) -> html.Div:
    return dbc.Container([html.H3(title, className="mt-4"), html.P(text)], className="py-4")


# ── callback requests: their shape and value types, checked before Dash dispatches them ───────

CALLBACK_ROUTE = "/_dash-update-component"
# What each property of a callback input or state may hold (None always allowed); anything
# else is a crafted request, answered 400 instead of failing inside a callback with 500.
VALUE_TYPES: dict[str, tuple[type, ...]] = {
    "pathname": (str,), "search": (str,), "date": (str,), "value": (str,),
    "n_clicks": (int,), "n_intervals": (int,), "clickData": (dict,), "data": (dict,),
}
VALUE_TYPES_BY_ID = {("filter-year", "value"): (int,)}


def malformed_callback(body: Any, callback_map: dict) -> str | None:
    """Why a callback request body is not one this app's pages send, or None when it is."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        return "请求格式无效"
    if body["output"] not in callback_map:
        return "没有这个回调"
    for key in ("inputs", "state", "changedPropIds"):
        if not isinstance(body.get(key, []), list):
            return f"请求格式无效: {key}"
    entries = [entry for group in (body.get("inputs", []), body.get("state", [])) for item in group
               for entry in (item if isinstance(item, list) else [item])]
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("property"), str) \
                or not isinstance(entry.get("id"), (str, dict)):
            return "请求格式无效: 输入项"
        value, prop = entry.get("value"), entry["property"]
        element = entry["id"] if isinstance(entry["id"], str) else entry["id"].get("type")
        allowed = VALUE_TYPES_BY_ID.get((element, prop)) or VALUE_TYPES.get(prop)
        if value is not None and allowed and (not isinstance(value, allowed) or isinstance(value, bool)):
            return f"请求格式无效: {element}.{prop}"
    return None


def _refuse_malformed_callbacks(app: dash.Dash) -> None:
    def check():
        if flask.request.path != CALLBACK_ROUTE or flask.request.method != "POST":
            return None
        body = flask.request.get_json(silent=True)
        why = malformed_callback(body, app.callback_map)
        if why is not None:
            return flask.Response(why, status=400, mimetype="text/plain; charset=utf-8")
        viewer = login.current_viewer()
        if viewer is not None and viewer.role not in app.duban.callback_roles(body["output"]):  # type: ignore[attr-defined]
            return flask.Response("本账号无权使用此功能。", status=403, mimetype="text/plain; charset=utf-8")
        return None

    app.server.before_request(check)  # after the login guard: an anonymous request still gets 401


# ── the app ───────────────────────────────────────────────────────────────────────────────────


def create_app(warehouse: Path | str, *, home: Path, settings: Settings | None = None, auth: bool = True,
               pages: Registry = REGISTRY) -> dash.Dash:
    """The app on the published link ``warehouse``; ``home`` holds accounts, audit log, 催办 records
    and settings (read from there unless ``settings`` is given); ``pages``: what it serves (the
    registry). Everything comes from the caller: the configuration is made at the edge (duban
    serve, dashboard.wsgi)."""
    home = Path(home)
    settings = settings or load_settings(home)
    statefiles.configure(settings.max_attached_states, settings.max_state_files, settings.state_build_seconds)
    board = Dashboard(PublishedWarehouse(warehouse, memory_mb=settings.query_memory_mb, threads=settings.query_threads),
                      settings, home, pages)

    app = dash.Dash(
        __name__,
        title="督办 · 代表建议办理",
        update_title=None,  # type: ignore[arg-type]  # (Dash documents None: the tab title never changes)
        assets_folder=str(ASSETS),
        # Bootstrap is linked explicitly so it loads before duban.css; login.css is the login
        # page's own (served by dashboard.auth).
        assets_path_ignore=["vendor"],
        assets_ignore=r"login\.css$",
        external_stylesheets=[BOOTSTRAP],
        serve_locally=True,  # Dash's JS from this server: no request leaves it
        suppress_callback_exceptions=True,
        compress=False,
    )
    app.scripts.config.serve_locally = True
    app.css.config.serve_locally = True
    # Chinese page language: the browser picks CJK glyphs and a Chinese date picker.
    app.index_string = app.index_string.replace("<html>", '<html lang="zh-CN">', 1)
    # callback-nav: a filter or chart click changes the address in place (history entry, the router
    # re-renders #page) instead of reloading the whole app.
    app.layout = html.Div([dcc.Location(id="url", refresh="callback-nav"), html.Div(id="page")])
    app.duban = board  # type: ignore[attr-defined]
    login.install(app.server, home, settings, auth)

    page_cache.install(app.server, lambda: board.pw.snapshot(), login.current_viewer, home, settings)

    @app.callback(Output("page", "children"), Input("url", "pathname"), Input("url", "search"))
    def _route(pathname, search):
        return board.render(pathname, search)

    @app.callback(
        Output("url", "search", allow_duplicate=True),
        Input("filter-year", "value"),
        Input("filter-session", "value"),
        Input("filter-kind", "value"),
        Input("filter-category", "value"),
        Input("filter-as-of", "date"),
        State("url", "search"),
        State("filter-defaults", "data"),
        prevent_initial_call=True,
    )
    def _filters(year, session, kind, category, as_of, search, defaults):
        return board.filters_to_search(dash_ctx.triggered_id, year, session, kind, category, as_of, search, defaults)

    @app.callback(
        Output("url", "search", allow_duplicate=True),
        Input({"type": "xfilter", "key": ALL}, "clickData"),
        State("url", "search"),
        prevent_initial_call=True,
    )
    def _cross_filter(clicks, search):
        trigger = dash_ctx.triggered_id
        if not trigger or not dash_ctx.triggered or dash_ctx.triggered[0].get("value") is None:
            return no_update
        return board.cross_filter(trigger["key"], dash_ctx.triggered[0]["value"], search)

    @app.callback(
        Output("chase-message", "children"),
        Output("chase-history", "children"),
        Output("chase-note", "value"),
        Input("chase-submit", "n_clicks"),
        State("chase-target", "data"),
        State("chase-unit", "value"),
        State("chase-date", "date"),
        State("chase-way", "value"),
        State("chase-note", "value"),
        prevent_initial_call=True,
    )
    def _chase(n, target, unit, chase_date, way, note):
        if not n:
            return no_update, no_update, no_update
        return board.record_chase(target, unit, chase_date, way, note, login.required_viewer())

    @app.callback(
        Output("chase-message", "children", allow_duplicate=True),
        Output("chase-history", "children", allow_duplicate=True),
        Input({"type": "chase-withdraw", "id": ALL}, "n_clicks"),
        State("chase-target", "data"),
        State("chase-unit", "value"),
        prevent_initial_call=True,
    )
    def _withdraw_chase(clicks, target, unit):
        trigger = dash_ctx.triggered_id
        if not trigger or not any(clicks or []):
            return no_update, no_update
        return board.withdraw_chase(trigger["id"], target, unit, login.required_viewer())

    @app.callback(
        Output("interview-message", "children"),
        Output("interview-history", "children"),
        Output("interview-outcome", "value"),
        Input("interview-submit", "n_clicks"),
        State("interview-target", "data"),
        State("interview-unit", "value"),
        State("interview-date", "date"),
        State("interview-kind", "value"),
        State("interview-with", "value"),
        State("interview-outcome", "value"),
        prevent_initial_call=True,
    )
    def _interview(n, target, unit, day, kind, with_whom, outcome):
        if not n:
            return no_update, no_update, no_update
        return board.record_interview(target, unit, day, kind, with_whom, outcome, login.required_viewer())

    pages.install_callbacks(app, board)
    downloads.register(app.server, board, pages.downloads)
    _refuse_malformed_callbacks(app)
    login.allow_inline_scripts(app.server, app.csp_hashes())  # every callback is defined by now
    return app

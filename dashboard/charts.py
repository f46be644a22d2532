"""Chart builders more than one page draws: the completion curve (总览, 年度趋势, 会议大屏) and
what goes with it (the years it compares, its 同比 note, the figures computed side by side before
总览 and 会议大屏 draw them). A page never imports another page; what two pages share lives here
(figures) or in dashboard.components (cards, grids, the ranking)."""

from __future__ import annotations

import plotly.graph_objects as go

from dashboard import components as C
from exports.xlsx import as_rows
from warehouse.formatting import format_date
from warehouse.indicators import Scope


def curve_years(ctx: C.ViewContext, yoy: dict | None) -> list[int]:
    """The shown year and the one before (a session filter gives the year through yoy)."""
    year = ctx.year or (yoy or {}).get("year")
    return [year, year - 1] if year else []


def prefetch(ctx: C.ViewContext, scope, attention_limit: int, *more: tuple) -> None:
    """总览 and 会议大屏 show the same independent figures (同比, 需关注, the curves, the ranking): computed side by
    side first (Indicators.prefetch), then drawn from the cache. ``more``: a page's own."""
    # else yoy names the year; the unit table is what the ranking (C.ranking) reads
    by_year = [("completion_curve", (scope, curve_years(ctx, None), True)),
               ("unit_table", (Scope(year=ctx.year, as_of=ctx.as_of),))] if ctx.year else []
    ctx.ind.prefetch(("yoy", (scope,)), ("attention", (scope, attention_limit)), *by_year, *more)


def yoy_note(yoy: dict | None) -> str:
    """What 同比 compares with: the cards and the curve alike (the curve is drawn with same_offset)."""
    if not yoy or not yoy.get("previous_as_of"):
        return "同比: 无上年同期数据"
    return (f"同比口径: 指标卡和办结曲线都与上年同期比较, 即上年建议交办后第 {yoy.get('offset_days')} 天 "
            f"(截至 {format_date(yoy.get('previous_as_of'))}) 已报送的数据, 不是上年全年最终数据")


def completion_curve_figure(ctx: C.ViewContext, scope, dark: bool = False, height: int = 320, years: list[int] | None = None,
                            same_offset: bool = False) -> go.Figure:
    """Cumulative share completed by day N after 交办: this year (bold) against earlier years;
    ``same_offset``: earlier years as reported by the same day offset (the 同比 reference)."""
    if years is None:
        years = curve_years(ctx, None)
    rows = as_rows(ctx.ind.completion_curve(scope, years, same_offset)) if years else []
    fig = C.figure(height=height, dark=dark, xaxis_title="交办后天数", yaxis_title="累计办结比例", yaxis_tickformat=".0%")
    for year in sorted({r["year"] for r in rows}, reverse=True):
        pts = [r for r in rows if r["year"] == year]
        fig.add_trace(go.Scatter(x=C.series([r["day_offset"] for r in pts], "i4"), y=C.series([r["share"] for r in pts]), mode="lines",
                                 name=f"{year}年", line=_curve_line(year == years[0], dark),
                                 hovertemplate=f"{year}年 第%{{x}}天: %{{y:.2%}}<extra></extra>"))
    fig.update_yaxes(range=[0, 1.02])
    # The x axis spans a year (or this year's offset, if longer): last year's later days would
    # otherwise squeeze this year's curve into the left edge. At the same offset every curve ends
    # on the same day: the axis ends there too.
    reach = max([r["day_offset"] for r in rows if r["year"] == years[0]] or [0]) if years else 0
    fig.update_xaxes(range=[0, max(30, reach) * 1.02 if same_offset else max(365, reach)])
    return fig


def _curve_line(current: bool, dark: bool) -> dict:
    """This year bold and solid, earlier years dashed; bright colours on the dark big screen."""
    line = dict(width=5 if current else 2, dash="solid" if current else "dash")
    if dark:
        line.update(color="#ffd54f" if current else "#4fc3f7", width=6 if current else 4)
    return line

"""The 通报: a Word document on the year's handling, for 主任会议 / 常委会会议 (issue 7, item 2).

    write_report(indicators, scope, out, ranking_rows=None) -> Path

``scope`` is a warehouse.indicators.Scope (year and as_of are what matter). Every figure comes
from the indicator layer (metrics, yoy, unit_table, key_items, key_summary, overdue_summary,
unsatisfied, broken_promises, completion_curve) and ranking (rank_units), formatted with warehouse.formatting; this module
only writes prose around them.

Layout follows the usual form of official documents (GB/T 9704): A4, margins 37/35/28/26 mm,
title 二号 宋体 bold, level-1 headings 三号 黑体, level-2 三号 楷体, body 三号 仿宋_GB2312 with
28 pt line spacing, tables 小四 仿宋. East-Asian fonts are set through w:rFonts/@w:eastAsia (the
attribute Word and WPS use for Chinese text); Latin text uses Times New Roman.
"""

from __future__ import annotations

import io
import logging
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from exports.safe import join_units, xml_text
from exports.xlsx import as_rows
from warehouse.formatting import DASH, format_count_delta, format_date, format_delta, format_rate
from warehouse.indicators import OVERDUE_BUCKETS
from warehouse.ranking import rank_units, split_ranking

log = logging.getLogger(__name__)

BODY_FONT = "仿宋_GB2312"
HEADING_FONT = "黑体"
SUBHEADING_FONT = "楷体_GB2312"
TITLE_FONT = "宋体"
MARK_FONT = "方正小标宋简体"  # 发文机关标志 (GB/T 9704: 小标宋体)
LATIN_FONT = "Times New Roman"
CJK_CHART_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                   "SimHei", "Microsoft YaHei", "Noto Serif CJK SC", "AR PL UMing CN")
NUMERALS = "一二三四五六七八九十"
TABLE_PT = 10.5  # 五号
TEXT_WIDTH_MM = 210 - 28 - 26
CHAR_MM = TABLE_PT / 2 * 25.4 / 72  # one display unit (half a Chinese character) at 五号
CELL_PAD_MM = 2 * 1.9 + 2.0  # the cell margins (0.19 cm a side) and air for fonts set wider (LibreOffice, WPS)
MAX_LISTED = 30  # longer lists are cut with "等N件" — the full lists are in the Excel exports
MAX_NAMED = 10  # units named in a sentence (逾期较多)


# ── docx helpers ────────────────────────────────────────────────────────────────────────────
def set_run_font(run, east_asia: str, size_pt: float | None = None, bold: bool | None = None) -> None:
    """Set the Chinese (eastAsia) and Latin fonts of a run; python-docx only sets the latter."""
    run.font.name = LATIN_FONT
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), LATIN_FONT)
    fonts.set(qn("w:eastAsia"), east_asia)
    if size_pt is not None:
        run.font.size = Pt(size_pt)
    if bold is not None:
        run.font.bold = bold


def _style_fonts(style, east_asia: str, size_pt: float) -> None:
    style.font.name = LATIN_FONT
    style.font.size = Pt(size_pt)
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), east_asia)


def _new_document():
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    normal = doc.styles["Normal"]
    _style_fonts(normal, BODY_FONT, 16)
    normal.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    normal.paragraph_format.line_spacing = Pt(28)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(0)
    _page_number_footer(section)
    return doc


def _page_number_footer(section) -> None:
    """— 1 — style page numbers, centred."""
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_run_font(p.add_run("— "), BODY_FONT, 14)
    run = p.add_run()
    set_run_font(run, BODY_FONT, 14)
    for tag, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if tag:
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), tag)
            run._element.append(fld)
        else:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._element.append(instr)
    set_run_font(p.add_run(" —"), BODY_FONT, 14)


def _para(doc, text: str = "", *, font: str = BODY_FONT, size: float = 16, bold: bool = False,
          align=None, indent: bool = True):
    p = doc.add_paragraph()
    if align is not None:
        p.alignment = align
    if indent:
        p.paragraph_format.first_line_indent = Pt(size * 2)  # 首行缩进两字
    if text:
        set_run_font(p.add_run(xml_text(text)), font, size, bold)
    return p


def _heading(doc, text: str, level: int = 1):
    p = _para(doc, text, font=HEADING_FONT if level == 1 else SUBHEADING_FONT)
    p.paragraph_format.keep_with_next = True  # never a heading alone at the foot of a page
    return p


def column_widths(headers: Sequence[str], rows: Sequence[Sequence[Any]], weights: Sequence[float],
                  wrap: Sequence[int]) -> list[float]:
    """Column widths (mm) on the text width: a column outside ``wrap`` is as wide as its longest
    line (headers included: a long header is given as two lines, 按时\n办结率), so a name or a
    number never breaks inside (刘副主/任); the ``wrap`` columns (titles, lists) share the rest by
    ``weights``. Content wider than the page is narrowed in proportion."""
    def longest(texts: list[str]) -> int:
        return max([_text_units(line) for text in texts for line in text.split("\n")] or [0])

    def need(i: int) -> float:
        data = 8 if i in wrap else longest([_shown(r[i]) for r in rows])
        return max(longest([headers[i]]), data) * CHAR_MM + CELL_PAD_MM
    needs = [need(i) for i in range(len(headers))]
    spare = TEXT_WIDTH_MM - sum(needs)
    if spare < 0:  # squeezed alike (the air in CELL_PAD_MM gives a little before text breaks)
        return [width * TEXT_WIDTH_MM / sum(needs) for width in needs]
    takers = [i for i in range(len(headers)) if i in wrap] or list(range(len(headers)))
    share = sum(weights[i] for i in takers)
    return [width + (spare * weights[i] / share if i in takers else 0) for i, width in enumerate(needs)]


def _text_units(text: str) -> int:
    """Width in half-characters as a Chinese font sets it: wide, full-width and ambiguous
    characters (✓ ○ 〔 are set full-width by CJK fonts) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WFA" else 1 for ch in text)


def _shown(value: Any) -> str:
    return DASH if value is None or value == "" else str(value)


def _table(doc, headers: Sequence[str], rows: Sequence[Sequence[Any]], widths_mm: Sequence[float] | None = None,
           left: Sequence[int] = (), wrap: Sequence[int] = ()):
    """A bordered table with a bold header row repeated on every page; ``left``: left-aligned
    columns; ``widths_mm``: weights of the columns (column_widths: only ``wrap`` columns wrap)."""
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, headers):
        _cell_text(cell, text, bold=True, font=HEADING_FONT)
    _repeat_header(table.rows[0])
    for values in rows:
        cells = table.add_row().cells
        for i, (cell, value) in enumerate(zip(cells, values)):
            _cell_text(cell, value, align=WD_ALIGN_PARAGRAPH.LEFT if i in left else WD_ALIGN_PARAGRAPH.CENTER)
    if widths_mm:
        # Word reads the cell widths, LibreOffice/WPS the grid columns: set both, with a fixed layout.
        table.autofit = False
        widths = column_widths(headers, rows, widths_mm, wrap)
        for column, w in zip(table.columns, widths):
            column.width = Mm(w)
        for row in table.rows:
            for cell, w in zip(row.cells, widths):
                cell.width = Mm(w)
    return table


def _cell_text(cell, value: Any, *, bold: bool = False, font: str = BODY_FONT,
               align=WD_ALIGN_PARAGRAPH.CENTER) -> None:
    p = cell.paragraphs[0]
    p.alignment = align
    p.paragraph_format.first_line_indent = Pt(0)
    p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    set_run_font(p.add_run(xml_text(_shown(value))), font, TABLE_PT, bold)


def _rule(paragraph, side: str, eighths_pt: int, color: str = "000000") -> None:
    """A line along one side of a paragraph (GB/T 9704's 分隔线 and 版记 lines)."""
    ppr = paragraph._p.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        ppr.insert_element_before(borders, "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap",
                                  "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi",
                                  "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing",
                                  "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
                                  "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr",
                                  "w:sectPr", "w:pPrChange")
    line = OxmlElement(f"w:{side}")
    for attr, value in (("val", "single"), ("sz", str(eighths_pt)), ("space", "1"), ("color", color)):
        line.set(qn(f"w:{attr}"), value)
    borders.append(line)


def _letterhead(doc, mark: str, number: str) -> None:
    """版头 (GB/T 9704): the 发文机关标志 in red, centred and as large as fits one line; the 发文字号
    two lines below it; a red separating line under them."""
    size = min(36.0, TEXT_WIDTH_MM / 25.4 * 72 / max(len(mark), 1) * 0.95)
    head = _para(doc, mark, font=MARK_FONT, size=size, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    head.paragraph_format.line_spacing = Pt(size * 1.25)
    for run in head.runs:
        run.font.color.rgb = RGBColor(0xE6, 0x00, 0x12)
    _para(doc, indent=False)
    line = _para(doc, number, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    line.paragraph_format.space_after = Pt(24)  # the title two lines below the separator
    _rule(line, "bottom", 12, "E60012")


def _imprint(doc, copy_to: str, printed_by: str, printed_on: date) -> None:
    """版记 (GB/T 9704), after the text: 抄送 (if any) and 印发机关 with the 印发日期 (the report's
    date), 四号 仿宋, indented one character, between a thick line above and below and a thin one
    between them."""
    doc.add_paragraph().paragraph_format.space_after = Pt(28)
    lines = []
    if copy_to:
        lines.append(_para(doc, f"抄送：{copy_to.rstrip('。')}。", size=14, indent=False))
    printed = _para(doc, f"{printed_by}\t{format_date(printed_on, 'cn')}印发", size=14, indent=False)
    printed.paragraph_format.tab_stops.add_tab_stop(Mm(TEXT_WIDTH_MM) - Pt(28), WD_TAB_ALIGNMENT.RIGHT)
    lines.append(printed)
    for p in lines:
        p.paragraph_format.left_indent = p.paragraph_format.right_indent = Pt(14)
        p.paragraph_format.keep_with_next = True
    _rule(lines[0], "top", 8)  # 0.35 mm
    if copy_to:
        _rule(lines[0], "bottom", 6)  # 0.25 mm between 抄送 and 印发
    _rule(lines[-1], "bottom", 8)
    lines[-1].paragraph_format.keep_with_next = False


def _repeat_header(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)


# ── the chart ───────────────────────────────────────────────────────────────────────────────
def _cjk_font() -> str | None:
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((n for n in CJK_CHART_FONTS if n in names), None)


def completion_chart_png(curves: Mapping[int, Sequence[tuple[int, float]]], marker_day: int | None) -> bytes | None:
    """Cumulative completion share by day since 交办, one line per year; None if it cannot be drawn."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import PercentFormatter
    except ImportError:  # the report is still useful without its chart
        log.warning("matplotlib 不可用, 通报不含图表")
        return None
    font = _cjk_font()
    if font is None:
        log.warning("未找到中文字体, 图表文字可能无法显示")
    rc = {"font.family": [font] if font else ["sans-serif"], "axes.unicode_minus": False}
    with matplotlib.rc_context(rc):
        fig, ax = plt.subplots(figsize=(6.4, 3.4), dpi=200)
        for (year, points), color in zip(sorted(curves.items()), ("#9AA5B1", "#C0392B", "#2E86C1")):
            if not points:
                continue
            xs, ys = zip(*points)
            ax.plot(xs, ys, label=f"{year}年", color=color, linewidth=2 if color != "#9AA5B1" else 1.5)
        if marker_day is not None:
            ax.axvline(marker_day, color="#555555", linestyle="--", linewidth=1)
            # left of the line: the curves end on this day (同比 at the same offset), so does the axis
            ax.annotate("截至日", (marker_day, 0.02), xytext=(-4, 0), textcoords="offset points", fontsize=9, ha="right")
        ax.set_xlabel("交办后天数")
        ax.set_ylabel("累计办结比例")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.grid(True, alpha=0.3)
        ax.set_title("代表建议办结进度同期对比")
        ax.legend(loc="upper left")  # the curves rise to the right; 截至日 sits at the bottom right
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
    return buffer.getvalue()


# ── prose ───────────────────────────────────────────────────────────────────────────────────
def _change(current: float | None, previous: float | None) -> str:
    """同比 of a rate in words: 较上年同期提高1.25个百分点 / 降低… / 与上年同期持平; "" if unknown."""
    delta = format_delta(current, previous, places=2)
    if delta == DASH:
        return ""
    if delta == "持平":
        return "与上年同期持平"
    return ("较上年同期提高" if delta.startswith("+") else "较上年同期降低") + delta[1:]


def _count_change(current: int | None, previous: int | None, unit: str = "件") -> str:
    """同比 of a count in words: 较上年同期增加3件 / 减少… / 与上年同期持平; "" if unknown."""
    delta = format_count_delta(current, previous)
    if delta == DASH:
        return ""
    if delta == "持平":
        return "与上年同期持平"
    return ("较上年同期增加" if delta.startswith("+") else "较上年同期减少") + delta[1:] + unit


def _with(text: str, change: str) -> str:
    return f"{text}，{change}" if change else text


def _n(value: Any) -> str:
    return "0" if value is None else str(value)


def _item_name(r: Mapping[str, Any]) -> str:
    return f"第{r.get('number')}号"


def _cut(rows: list, what: str) -> tuple[list, str]:
    if len(rows) <= MAX_LISTED:
        return rows, ""
    return rows[:MAX_LISTED], f"（表中列出前{MAX_LISTED}件，共{len(rows)}件，完整名单见{what}）"


def _headline(m: Mapping[str, Any], prev: Mapping[str, Any] | None, year: int, as_of: date,
              prev_as_of: date | None) -> list[str]:
    p = prev or {}
    kinds = m.get("by_kind") or {}
    kind_text = "、".join(f"{k}{v}件" for k, v in kinds.items() if v)
    first = f"截至{format_date(as_of, 'cn')}，{year}年共交办代表建议{_n(m['total'])}件"
    if kind_text:
        first += f"（其中{kind_text}）"
    first = _with(first, _count_change(m["total"], p.get("total")) if prev else "")
    first += f"，涉及承办单位{_n(m.get('units'))}个。"
    first += _with(f"已办结{_n(m['completed'])}件，办结率{format_rate(m['completion_rate'])}",
                   _change(m["completion_rate"], p.get("completion_rate")) if prev else "")
    first += f"；在办{_n(m['in_progress'])}件，其中逾期{_n(m['overdue'])}件、临期{_n(m['due_soon'])}件。"
    if prev and prev_as_of:
        first += f"（上年同期指{year - 1}年建议截至{format_date(prev_as_of, 'cn')}的情况，与本年交办后经过的天数相同。）"
    cc, cr = m.get("class_counts") or {}, m.get("class_rates") or {}
    second = (_with(f"已办结的{_n(m['completed'])}件中，按时办结率{format_rate(m['on_time_rate'])}",
                    _change(m["on_time_rate"], p.get("on_time_rate")) if prev else "")
              + f"；面商率{format_rate(m['face_rate'])}；"
              + "，".join(f"{k}类{_n(cc.get(k))}件、占{format_rate(cr.get(k))}" for k in "ABCD")
              + _with(f"；解决率（A类和B类）{format_rate(m['solved_rate'])}",
                      _change(m["solved_rate"], p.get("solved_rate")) if prev else "") + "。")
    sat = m.get("satisfaction") or {}
    third = (f"代表已评价{_n(m['evaluated'])}件，其中满意{_n(sat.get('满意'))}件、基本满意{_n(sat.get('基本满意'))}件、"
             f"不满意{_n(sat.get('不满意'))}件，"
             + _with(f"满意率（含基本满意）{format_rate(m['satisfied_rate'])}",
                     _change(m["satisfied_rate"], p.get("satisfied_rate")) if prev else "")
             + f"，满意率（满意）{format_rate(m['fully_satisfied_rate'])}。"
             + f"B类承诺事项到期{_n(m.get('promise_due'))}件，按期兑现{_n(m.get('promise_kept'))}件，"
             + f"兑现率{format_rate(m.get('promise_kept_rate'))}。")
    key = m.get("key_supervised") or {}
    fourth = (f"常委会确定的重点督办建议{_n(key.get('total'))}件，已办结{_n(key.get('completed'))}件，"
              f"逾期{_n(key.get('overdue'))}件。")
    return [first, second, third, fourth]


# ── the document ────────────────────────────────────────────────────────────────────────────
def write_report(indicators: Any, scope: Any, out: Path, ranking_rows: Sequence[Mapping[str, Any]] | None = None,
                 *, hand_scores: Path | None = None) -> Path:
    """Write the 通报 for ``scope`` (its year, as of ``scope.as_of``) to ``out`` (.docx); returns ``out``.

    ``ranking_rows``: warehouse.ranking.rank_units rows if the caller has them already; else they are
    computed with the indicators' connection and settings (``hand_scores``: the assessors' file).
    """
    from dataclasses import replace

    yoy = indicators.yoy(scope)
    year = yoy.get("year") or scope.year
    if year is None:
        raise ValueError("通报需要指定年度")
    scope = replace(scope, year=year)
    m, prev = yoy["current"], yoy.get("previous")
    if ranking_rows is None:
        ranking_rows = rank_units(indicators.conn, indicators.settings, year, scope.as_of, hand_scores,
                                  version=getattr(indicators, "version", None))
    city = indicators.body_name()
    setup = indicators.settings.report
    signer = setup.signer or f"{city}人大常委会代表工作委员会"

    doc = _new_document()
    _letterhead(doc, setup.issuer_mark or signer, setup.doc_number)
    title = _para(doc, f"关于{year}年代表建议办理情况的通报", font=TITLE_FONT, size=22, bold=True,
                  align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    title.paragraph_format.space_after = Pt(16)
    title.paragraph_format.line_spacing = Pt(36)
    _para(doc, "各承办单位：", indent=False)
    _para(doc, f"为推动代表建议办理工作提质增效，现将截至{format_date(scope.as_of, 'cn')}{year}年"
               f"代表建议办理情况通报如下。")

    sections = iter(NUMERALS)
    _heading(doc, f"{next(sections)}、总体情况")
    for text in _headline(m, prev, year, scope.as_of, yoy.get("previous_as_of")):
        _para(doc, text)
    _chart(doc, indicators, scope, year, yoy)

    _heading(doc, f"{next(sections)}、承办单位办理情况")
    _unit_section(doc, indicators, scope, ranking_rows)

    _heading(doc, f"{next(sections)}、重点督办建议办理情况")
    _key_section(doc, indicators, scope)

    _heading(doc, f"{next(sections)}、需要关注的问题")
    counts = _attention_section(doc, indicators, scope)

    _heading(doc, f"{next(sections)}、下一步工作要求")
    for text in _requirements(counts):
        _para(doc, text)

    _para(doc)
    _para(doc, signer, align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    _para(doc, format_date(scope.as_of, "cn"), align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    _imprint(doc, setup.copy_to, setup.printed_by or signer, scope.as_of)

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc.core_properties.title = f"关于{year}年代表建议办理情况的通报"
    doc.core_properties.author = f"{city}人大常委会"
    doc.save(str(out))
    return out


def _chart(doc, indicators: Any, scope: Any, year: int, yoy: Mapping[str, Any]) -> None:
    years = [year - 1, year] if yoy.get("previous") else [year]
    curves: dict[int, list[tuple[int, float]]] = {}
    for r in as_rows(indicators.completion_curve(scope, years, same_offset=True)):  # 同比: as the text
        if r.get("share") is not None and r["day_offset"] <= 366:
            curves.setdefault(r["year"], []).append((r["day_offset"], r["share"]))
    if not curves.get(year):
        return
    png = completion_chart_png(curves, yoy.get("offset_days"))
    if png is None:
        return
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    p.paragraph_format.keep_with_next = True  # the caption stays under its chart
    p.add_run().add_picture(io.BytesIO(png), width=Mm(150))
    caption = f"图1　{year}年" + (f"与{year - 1}年" if len(curves) > 1 else "") + "代表建议办结进度（按交办后天数）"
    _para(doc, caption, size=14, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)


def _unit_section(doc, indicators: Any, scope: Any, ranking_rows: Sequence[Mapping[str, Any]]) -> None:
    table = {r["unit"]: r for r in as_rows(indicators.unit_table(scope))}
    summary = indicators.overdue_summary(scope)
    threshold = indicators.settings.report.many_overdue
    many = summary.units_overdue_at_least(threshold)
    text = f"参与{scope.year}年代表建议办理的承办单位共{len(table)}个，按考核得分排名见下表。"
    if many:
        names = "、".join(f"{u.unit}（{u.overdue}件次）" for u in many[:MAX_NAMED])
        more = f"等{len(many)}个单位" if len(many) > MAX_NAMED else ""
        text += f"逾期件较多（{threshold}件次及以上）的单位有：{names}{more}。"
    elif summary.units_by_overdue:
        text += f"有逾期件的单位{len(summary.units_by_overdue)}个，均不足{threshold}件次。"
    else:
        text += "目前没有单位存在逾期件。"
    _para(doc, text)
    ranked, unranked = split_ranking(as_rows(ranking_rows))
    rows = []
    for u in ranked:
        t = table.get(u["unit"], {})
        rows.append([u.get("rank"), u["unit"], _n(t.get("lead_assignments")), _n(t.get("completed")),
                     format_rate(t.get("on_time_rate")), format_rate(t.get("satisfied_rate")),
                     _n(t.get("overdue")), _n(t.get("eval_un")), f"{u['total']:.2f}"])
    _table(doc, ["名次", "承办单位", "主办\n件数", "已办结", "按时\n办结率", "满意率", "逾期件", "不满意\n件数", "考核\n得分"],
           rows, [11, 40, 14, 13, 20, 20, 13, 14, 14], left=(1,))
    if unranked:
        _para(doc, "本年度无主办件、仅承担协办的单位不参加排名：" + "、".join(u["unit"] for u in unranked) + "。",
              size=14, indent=False)


def _key_section(doc, indicators: Any, scope: Any) -> None:
    items = as_rows(indicators.key_items(scope))
    if not items:
        _para(doc, "本年度未确定重点督办建议。")
        return
    key = indicators.key_summary(scope)
    text = f"{key.total}件重点督办建议中，已办结{key.completed}件"
    text += (f"，逾期{key.overdue}件（{'、'.join(_item_name(r) for r in key.overdue_items[:10])}）。"
             if key.overdue else "，无逾期件。")
    _para(doc, text)
    shown, note = _cut(items, "重点督办页面")
    rows = []
    for r in shown:
        status = r.get("status") or ""
        if status == "逾期" and r.get("days_overdue"):
            status = f"逾期{r['days_overdue']}天"
        rows.append([_item_name(r), r.get("title"), r.get("key_leader"), join_units(r.get("lead_units")),
                     _two_per_line([s["stage"] + ("✓" if s["done"] else "○") for s in r.get("stages", [])]), status])
    _table(doc, ["编号", "建议标题", "督办领导", "主办单位", "办理进度", "状态"], rows, [18, 42, 18, 28, 32, 18],
           left=(1, 3), wrap=(1, 3))
    _para(doc, "注：办理进度中“✓”为已完成，“○”为尚未完成。" + note, size=14, indent=False)


def _two_per_line(parts: list[str]) -> str:
    """交办✓ 面商○ / 答复✓ 测评○: two stages a line, so the progress column stays narrow."""
    return "\n".join(" ".join(parts[i:i + 2]) for i in range(0, len(parts), 2))


def _listing(doc, heading: str, items: list[dict], empty: str, intro: str, cut_name: str,
             columns: list[str], cells, widths: list[int], left: tuple[int, ...]) -> None:
    """One 需关注 list: a heading, a sentence, the (cut) table and its note — or the empty sentence."""
    _heading(doc, heading, level=2)
    if not items:
        _para(doc, empty)
        return
    _para(doc, intro)
    shown, note = _cut(items, cut_name)
    _table(doc, columns, [cells(r) for r in shown], widths, left=left, wrap=left)
    if note:
        _para(doc, note, size=14)


def _attention_section(doc, indicators: Any, scope: Any) -> dict[str, int]:
    counted = indicators.overdue_summary(scope)
    overdue = as_rows(indicators.overdue_first(scope, counted.overdue))  # overdue() lists 逾期 before 临期
    unsatisfied = as_rows(indicators.unsatisfied(scope))
    broken = as_rows(indicators.broken_promises(scope))

    _listing(doc, "（一）逾期未答复件", overdue, "目前没有逾期未答复的建议。",
             f"共有{counted.overdue_suggestions}件建议逾期未答复（按承办单位计{counted.overdue}件次），"
             f"其中{OVERDUE_BUCKETS[-1]}{counted.overdue_long}件次。", "催办清单",
             ["编号", "建议标题", "承办单位", "办理期限", "逾期\n天数"],
             lambda r: [_item_name(r), r.get("title"), r.get("unit"), format_date(r.get("deadline")),
                        _n(r.get("days_overdue"))], [18, 62, 36, 22, 18], left=(1, 2))
    _listing(doc, "（二）代表不满意件", unsatisfied, "目前没有代表表示不满意的建议。",
             f"代表对{len(unsatisfied)}件建议的答复表示不满意，相关单位应重新办理。", "不满意件清单",
             ["编号", "建议标题", "被评不满意的单位", "答复日期"],
             lambda r: [_item_name(r), r.get("title"), r.get("unsatisfied_units"),
                        format_date(r.get("last_reply_date"))], [18, 70, 45, 23], left=(1, 2))
    rehandle_overdue = _rehandle_listing(doc, indicators, scope)
    _listing(doc, "（四）B类承诺未按期兑现", broken, "目前没有到期未兑现的B类承诺。",
             f"有{len(broken)}项B类承诺已过承诺时限仍未兑现。", "承诺事项清单",
             ["编号", "建议标题", "承办单位", "承诺事项", "承诺时限", "已过\n天数"],
             lambda r: [_item_name(r), r.get("title"), r.get("unit"), r.get("promise_text"),
                        format_date(r.get("promise_date")), _n(r.get("days_past"))],
             [18, 40, 30, 34, 22, 16], left=(1, 2, 3))
    return {"overdue": counted.overdue, "unsatisfied": len(unsatisfied), "broken": len(broken),
            "rehandle_overdue": rehandle_overdue}


def _rehandle_listing(doc, indicators: Any, scope: Any) -> int:
    """（三） the 重办 of the 不满意件 (Indicators.rehandling) and the list of those past their 重办
    期限 without a new reply (重办逾期); returns how many suggestions are 重办逾期."""
    counted = indicators.rehandling(scope)
    days = indicators.settings.followup.rehandle_days
    said = (f"代表测评不满意的建议，承办单位应在{days}天内重新办理并答复。本年度共启动重办{counted.opened}次；"
            f"按件计，重办逾期{counted.overdue}件、重办中{counted.in_progress}件、已重新答复待再次测评"
            f"{counted.replied}件、再次测评转为满意或基本满意{counted.turned_satisfied}件。")
    late = as_rows(indicators.rehandle_list(scope, ("重办逾期",)))
    _listing(doc, "（三）不满意件重办", late,
             said + "目前没有超过重办期限仍未重新答复的建议。" if counted.opened else "目前没有需要重办的不满意件。",
             said + "超过重办期限仍未重新答复的如下。", "跟踪督办清单",
             ["编号", "建议标题", "承办单位", "不满意\n测评日期", "重办期限", "超期\n天数"],
             lambda r: [_item_name(r), r.get("title"), r.get("unit"), format_date(r.get("unsatisfied_date")),
                        format_date(r.get("due_date")), _n(r.get("days_overdue"))],
             [18, 52, 34, 22, 22, 16], left=(1, 2))
    return counted.overdue


def _requirements(counts: Mapping[str, int]) -> list[str]:
    texts = []
    if counts["overdue"]:
        texts.append("各有逾期件的承办单位要逐件分析原因，明确办理时限，尽快书面答复代表；确需延期的，应按程序报批。")
    if counts["unsatisfied"]:
        texts.append("对代表表示不满意的建议，承办单位要主动与代表沟通，重新研究办理，并将重新办理结果及时答复代表。")
    if counts["rehandle_overdue"]:
        texts.append("重办逾期的承办单位要立即重新答复代表；仍未答复的，将约谈单位负责人。")
    if counts["broken"]:
        texts.append("对B类答复中已到期未兑现的承诺事项，承办单位要加大落实力度，逐项说明进展，确保承诺兑现。")
    texts.append("各承办单位要按时报送办理情况，确保数据真实、完整；代表工作委员会将继续跟踪督办，"
                 "并将办理情况纳入年度考核。")
    return texts

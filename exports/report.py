"""The 通报: a Word document on the year's handling, for 主任会议 / 常委会会议 (issue 7, item 2).

    write_report(indicators, scope, out, ranking_rows=None) -> Path

``scope`` is a warehouse.indicators.Scope (year and as_of are what matter). Every figure comes
from the indicator layer (metrics, yoy, unit_table, key_items, unsatisfied, broken_promises,
completion_curve) and ranking (rank_units), formatted with warehouse.formatting; this module
only writes prose around them.

Layout follows the usual form of official documents (GB/T 9704): A4, margins 37/35/28/26 mm,
title 二号 宋体 bold, level-1 headings 三号 黑体, level-2 三号 楷体, body 三号 仿宋_GB2312 with
28 pt line spacing, tables 小四 仿宋. East-Asian fonts are set through w:rFonts/@w:eastAsia (the
attribute Word and WPS use for Chinese text); Latin text uses Times New Roman.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from exports.safe import DASH, join_units, xml_text
from exports.xlsx import as_rows
from warehouse.formatting import format_date, format_delta, format_rate

log = logging.getLogger(__name__)

BODY_FONT = "仿宋_GB2312"
HEADING_FONT = "黑体"
SUBHEADING_FONT = "楷体_GB2312"
TITLE_FONT = "宋体"
LATIN_FONT = "Times New Roman"
CJK_CHART_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                   "SimHei", "Microsoft YaHei", "Noto Serif CJK SC", "AR PL UMing CN")
NUMERALS = "一二三四五六七八九十"
MAX_LISTED = 30  # longer lists are cut with "等N件" — the full lists are in the Excel exports


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
    return _para(doc, text, font=HEADING_FONT if level == 1 else SUBHEADING_FONT)


def _table(doc, headers: Sequence[str], rows: Sequence[Sequence[Any]], widths_mm: Sequence[float] | None = None):
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, headers):
        _cell_text(cell, text, bold=True, font=HEADING_FONT)
    _repeat_header(table.rows[0])
    for values in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, values):
            _cell_text(cell, value)
    if widths_mm:
        for row in table.rows:
            for cell, w in zip(row.cells, widths_mm):
                cell.width = Mm(w)
    return table


def _cell_text(cell, value: Any, *, bold: bool = False, font: str = BODY_FONT) -> None:
    p = cell.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.first_line_indent = Pt(0)
    p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    set_run_font(p.add_run(xml_text(DASH if value is None or value == "" else value)), font, 12, bold)


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
            ax.annotate("截至日", (marker_day, 0.02), xytext=(4, 0), textcoords="offset points", fontsize=9)
        ax.set_xlabel("交办后天数")
        ax.set_ylabel("累计办结比例")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.grid(True, alpha=0.3)
        ax.set_title("代表建议办结进度同期对比")
        ax.legend(loc="lower right")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
    return buffer.getvalue()

"""The 通报 (docx): read back with python-docx; figures equal the indicator layer's, fonts are Chinese."""

from __future__ import annotations

from datetime import date

import pytest
from docx import Document
from docx.oxml.ns import qn

from duban.core.settings import load_settings
from exports.report import write_report
from tests.warehouse_builder import connect, make_warehouse
from warehouse.formatting import format_rate
from warehouse.indicators import Indicators, Scope

T = date(2024, 6, 30)
EDU, TRANSPORT = "市教育局", "市交通运输局"


@pytest.fixture()
def ind(tmp_path):
    """2024 (十八届一次): 交办 03-01, 期限 06-01. 2023 (十七届五次): 交办 2023-03-01, 期限 2023-06-01.

    2024 no. 1 市教育局 05-10 A 面商 满意, 重点督办 (李主任)
         no. 2 市教育局 no reply → overdue 29 days
         no. 3 市交通运输局 04-01 B, promised 05-31, not kept → broken promise, 30 days past
         no. 4 市交通运输局 05-28 C 不满意
         no. 5 市交通运输局 no reply → overdue 29 days
    → N 5, C 3, 办结率 60.00%. 同比: ref 2024-03-01, offset 121 days, T' = 2023-06-30.
    2023 no. 1, 2 replied 2023-05-10 / 05-20 (A), no. 3 replied 2023-07-15 (after T'), no. 4 none
    → at T' N 4, C 2, 办结率 50.00%; change +10.00 points, total +1.
    """
    s24 = [{"number": n, "assigned_date": date(2024, 3, 1), "register_deadline": date(2024, 6, 1)} for n in range(1, 6)]
    s24[0].update(is_key=True, key_leader="李主任", key_committee="教科文卫委", title="关于加强校园周边交通安全的建议")
    s23 = [{"number": n, "session": "十七届五次", "year": 2023, "assigned_date": date(2023, 3, 1),
            "register_deadline": date(2023, 6, 1)} for n in range(1, 5)]
    asg = [{"number": 1, "unit": EDU}, {"number": 2, "unit": EDU}, {"number": 3, "unit": TRANSPORT},
           {"number": 4, "unit": TRANSPORT}, {"number": 5, "unit": TRANSPORT}]
    asg += [{"number": n, "session": "十七届五次", "unit": EDU} for n in range(1, 5)]
    day = date(2024, 6, 20)
    rep = [
        {"number": 1, "unit": EDU, "report_date": day, "reply_date": date(2024, 5, 10), "result_class": "A",
         "face_to_face": True, "evaluation": "满意"},
        {"number": 3, "unit": TRANSPORT, "report_date": day, "reply_date": date(2024, 4, 1), "result_class": "B",
         "face_to_face": True, "promise_text": "年底前完成道路改造", "promise_date": date(2024, 5, 31),
         "promise_kept": False},
        {"number": 4, "unit": TRANSPORT, "report_date": day, "reply_date": date(2024, 5, 28), "result_class": "C",
         "face_to_face": False, "evaluation": "不满意"},
        {"number": 1, "session": "十七届五次", "unit": EDU, "report_date": date(2023, 12, 31),
         "reply_date": date(2023, 5, 10), "result_class": "A"},
        {"number": 2, "session": "十七届五次", "unit": EDU, "report_date": date(2023, 12, 31),
         "reply_date": date(2023, 5, 20), "result_class": "A"},
        {"number": 3, "session": "十七届五次", "unit": EDU, "report_date": date(2023, 12, 31),
         "reply_date": date(2023, 7, 15), "result_class": "A"},
    ]
    link = make_warehouse(tmp_path, suggestions=s24 + s23, assignments=asg, reports=rep, places=["汉中市"])
    conn = connect(link)
    yield Indicators(conn, load_settings(home=tmp_path))
    conn.close()


def _text(doc) -> str:
    return "\n".join(p.text for p in doc.paragraphs)


def _east_asia(run) -> str | None:
    fonts = run._element.rPr.find(qn("w:rFonts"))
    return None if fonts is None else fonts.get(qn("w:eastAsia"))


def test_report_content_and_figures(ind, tmp_path):
    scope = Scope(year=2024, as_of=T)
    out = write_report(ind, scope, tmp_path / "通报.docx")
    doc = Document(str(out))
    text = _text(doc)
    # 版头: the signing body as 发文机关标志 (no mark set), no 发文字号, then the title
    assert [p.text for p in doc.paragraphs[:4]] == ["汉中市人大常委会代表工作委员会", "", "", "关于2024年代表建议办理情况的通报"]
    m = ind.metrics(scope)
    # the same figures as the indicator layer, formatted the same way …
    assert f"已办结{m['completed']}件，办结率{format_rate(m['completion_rate'])}" in text
    # … and worked by hand (see the fixture)
    assert "截至2024年6月30日，2024年共交办代表建议5件（其中大会建议5件），较上年同期增加1件，涉及承办单位2个。" in text
    assert "已办结3件，办结率60.00%，较上年同期提高10.00个百分点；在办2件，其中逾期2件、临期0件。" in text
    assert "截至2023年6月30日" in text  # the compared date of last year
    # 按时办结率: 3 on time / (3 + 2 overdue) = 60.00%; 面商 2/3 = 66.67%; A, B, C 1/3 each = 33.33%
    assert "按时办结率60.00%" in text and "面商率66.67%" in text
    assert "A类1件、占33.33%，B类1件、占33.33%，C类1件、占33.33%，D类0件、占0.00%" in text
    # evaluated 2 (nos. 1, 4): 满意率(含基本满意) 1/2; B promise due 1, kept 0 → 0.00%
    assert "代表已评价2件，其中满意1件、基本满意0件、不满意1件，满意率（含基本满意）50.00%" in text
    assert "B类承诺事项到期1件，按期兑现0件，兑现率0.00%。" in text
    assert "重点督办建议1件，已办结1件，逾期0件。" in text
    # 逾期较多 from [report] many_overdue (3 by default): one overdue item each is not 较多
    assert "有逾期件的单位2个，均不足3件次。" in text and "逾期件较多" not in text

    tables = doc.tables
    units = [[c.text.replace("\n", "") for c in row.cells] for row in tables[0].rows]  # headers on two lines
    assert units[0] == ["名次", "承办单位", "主办件数", "已办结", "按时办结率", "满意率", "逾期件", "不满意件数", "考核得分"]
    by_unit = {r[1]: r for r in units[1:]}
    # 市交通运输局 leads 3, 4, 5: completed 2, on time 2/(2+1) = 66.67%, satisfied 0/1, one 不满意
    assert by_unit[TRANSPORT][2:8] == ["3", "2", "66.67%", "0.00%", "1", "1"]
    # 市教育局 leads 1, 2 (2024): completed 1, on time 1/(1+1) = 50.00%, satisfied 1/1
    assert by_unit[EDU][2:8] == ["2", "1", "50.00%", "100.00%", "1", "0"]
    key = [[c.text for c in row.cells] for row in tables[1].rows]
    assert key[1][:4] == ["第1号", "关于加强校园周边交通安全的建议", "李主任", EDU]
    assert key[1][5] == "已办结"
    overdue = [[c.text for c in row.cells] for row in tables[2].rows][1:]
    assert sorted((r[0], r[2], r[4]) for r in overdue) == [("第2号", EDU, "29"), ("第5号", TRANSPORT, "29")]
    unsatisfied = [[c.text for c in row.cells] for row in tables[3].rows][1:]
    assert [(r[0], r[2], r[3]) for r in unsatisfied] == [("第4号", TRANSPORT, "2024-05-28")]
    # no. 4 rated 不满意 05-28: its 重办 was due 06-27 (30 days), 3 days late by 06-30
    rehandle = [[c.text for c in row.cells] for row in tables[4].rows][1:]
    assert [(r[0], r[2], r[3], r[4], r[5]) for r in rehandle] == [("第4号", TRANSPORT, "2024-05-28", "2024-06-27", "3")]
    broken = [[c.text for c in row.cells] for row in tables[5].rows][1:]
    assert [(r[0], r[2], r[3], r[4], r[5]) for r in broken] == [
        ("第3号", TRANSPORT, "年底前完成道路改造", "2024-05-31", "30")]  # 06-30 − 05-31
    # the chart: one picture
    assert len(doc.inline_shapes) == 1


def test_report_layout_and_fonts(ind, tmp_path):
    doc = Document(str(write_report(ind, Scope(year=2024, as_of=T), tmp_path / "r.docx")))
    section = doc.sections[0]
    # stored in twips, so compare in whole millimetres
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)  # A4
    assert (round(section.top_margin.mm), round(section.left_margin.mm)) == (37, 28)
    normal = doc.styles["Normal"].element.rPr.find(qn("w:rFonts"))
    assert normal.get(qn("w:eastAsia")) == "仿宋_GB2312"
    title_run = next(p for p in doc.paragraphs if p.text.startswith("关于2024年")).runs[0]
    assert _east_asia(title_run) == "宋体" and title_run.font.bold
    heading = next(p for p in doc.paragraphs if p.text == "一、总体情况")
    assert _east_asia(heading.runs[0]) == "黑体"
    body = next(p for p in doc.paragraphs if p.text.startswith("截至2024年6月30日"))
    assert all(_east_asia(r) == "仿宋_GB2312" for r in body.runs)
    cell_run = doc.tables[0].rows[1].cells[1].paragraphs[0].runs[0]
    assert _east_asia(cell_run) == "仿宋_GB2312"


def test_report_letterhead_imprint_and_threshold_from_settings(ind, tmp_path):
    """GB/T 9704: 发文机关标志 red over the 发文字号 and a red line; 版记 抄送 and 印发机关 with the
    印发日期 between lines; the 逾期较多 threshold said in the text."""
    settings = load_settings(home=tmp_path, override={"report": {
        "many_overdue": 1, "issuer_mark": "汉中市人大常委会代表工作委员会文件", "doc_number": "汉人代工〔2024〕5号",
        "copy_to": "市人民政府办公室，市委督查室", "printed_by": "汉中市人大常委会办公室"}})
    doc = Document(str(write_report(Indicators(ind.conn, settings), Scope(year=2024, as_of=T), tmp_path / "r.docx")))
    mark, _, number = doc.paragraphs[:3]
    assert mark.text == "汉中市人大常委会代表工作委员会文件" and str(mark.runs[0].font.color.rgb) == "E60012"
    assert number.text == "汉人代工〔2024〕5号"
    red_line = number._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom"))
    assert red_line.get(qn("w:color")) == "E60012"
    texts = [p.text for p in doc.paragraphs]
    assert texts[-2:] == ["抄送：市人民政府办公室，市委督查室。", "汉中市人大常委会办公室\t2024年6月30日印发"]
    assert "汉中市人大常委会代表工作委员会" in texts[-5]  # the signature keeps the body's name
    copy, printed = doc.paragraphs[-2:]
    assert {e.tag.split("}")[1] for e in copy._p.pPr.find(qn("w:pBdr"))} == {"top", "bottom"}
    assert printed._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom")).get(qn("w:sz")) == "8"
    assert "逾期件较多（1件次及以上）的单位有：市交通运输局（1件次）、市教育局（1件次）。" in "\n".join(texts)


def test_table_columns_fit_names_and_numbers():
    """刘副主任 in a narrow 督办领导 column broke as 刘副主/任: columns outside ``wrap`` are as wide
    as their longest cell; the title column takes the rest."""
    from exports.report import CELL_PAD_MM, CHAR_MM, TEXT_WIDTH_MM, column_widths

    headers = ["编号", "建议标题", "督办领导", "主办单位", "办理进度", "状态"]
    rows = [["第12号", "关于" * 30, "刘副主任", "市交通运输局、市财政局", "交办✓ 面商○\n答复✓ 测评○", "逾期120天"]]
    widths = column_widths(headers, rows, [18, 42, 18, 28, 32, 18], wrap=(1, 3))
    assert sum(widths) == pytest.approx(TEXT_WIDTH_MM)
    assert widths[2] >= 8 * CHAR_MM + CELL_PAD_MM  # 刘副主任: 4 characters, 8 units, on one line
    assert widths[4] >= 12 * CHAR_MM + CELL_PAD_MM  # 交办✓ 面商○ (✓ ○ full-width in a Chinese font)
    assert widths[5] >= 9 * CHAR_MM + CELL_PAD_MM  # 逾期120天
    assert widths[1] > widths[3] > 30  # the title, then the unit list, share what is left
    # content wider than the page is narrowed in proportion to what it needs
    crowded = column_widths(["单位"] * 3, [["很长的单位名称" * 4, "很长的单位名称" * 4, "市局"]], [1, 1, 2], wrap=())
    assert sum(crowded) == pytest.approx(TEXT_WIDTH_MM) and crowded[0] == crowded[1] > 4 * crowded[2]


def test_report_without_previous_year_or_data(tmp_path):
    link = make_warehouse(tmp_path, suggestions=[{"number": 1, "assigned_date": date(2024, 3, 1)}],
                          assignments=[{"number": 1, "unit": EDU}])
    conn = connect(link)
    try:
        ind = Indicators(conn, load_settings(home=tmp_path))
        doc = Document(str(write_report(ind, Scope(year=2024, as_of=date(2024, 4, 1)), tmp_path / "r.docx")))
    finally:
        conn.close()
    text = _text(doc)
    # no 2023 data: no 同比 phrase; nothing completed: rates of an empty denominator are "—"
    assert "较上年同期" not in text
    assert "已办结0件，办结率0.00%；在办1件" in text
    assert "按时办结率—" in text and "满意率（含基本满意）—" in text
    assert "目前没有逾期未答复的建议。" in text and "本年度未确定重点督办建议。" in text

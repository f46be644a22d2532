"""Layouts real sheets have and the demo generator does not write: several tables stacked in one
sheet under their own titles, the header repeated on every printed page, 合计/小计 rows, and
per-unit summaries (汇总表), which are recognised and never loaded."""

from __future__ import annotations

from datetime import date

from duban.core.settings import load_settings
from etl.model import SUMMARY, UNIT_EXPORT
from etl.parse import parse_file
from tests.files import write_xlsx

HEADER = ["案号", "案由", "主办单位", "协办单位", "答复日期", "答复类别"]


def _parse(tmp_path, name, sheets):
    path = write_xlsx(tmp_path / name, sheets)
    return parse_file(path, name, load_settings(home=tmp_path))


def test_stacked_blocks_take_their_role_and_year_from_their_own_titles(tmp_path):
    sheet = [
        ["市水利局办理件汇总"],
        ["2024年 主办件"],
        HEADER,
        [1, "关于河道的建议", "市水利局", "市财政局", "2024-05-10", "A"],
        [2, "关于水库的建议", "市水利局", None, None, None],
        [None],
        ["2023年 协办件"],
        HEADER,
        [7, "关于灌区的建议", "市农业局", "市水利局", "2023-04-02", None],
    ]
    parsed = _parse(tmp_path, "市水利局.xlsx", {"办理件": sheet})
    assert parsed.kind == UNIT_EXPORT and parsed.error is None
    assert parsed.blocks == ["2024年 主办件", "2023年 协办件"]
    rows = parsed.rows.select("number", "year_hint", "role", "unit", "reply_date").rows()
    # the 协办 block's row is the sender's own 协办 assignment, not the lead's (主办单位 column)
    assert rows == [(1, 2024, "主办", "市水利局", date(2024, 5, 10)), (2, 2024, "主办", "市水利局", None),
                    (7, 2023, "协办", "市水利局", date(2023, 4, 2))]
    assert parsed.rows_read == 3 and not parsed.rejects


def test_a_header_repeated_on_every_printed_page_continues_the_block(tmp_path):
    page = [["协办件"], HEADER, [3, "甲", "市教育局", "市水利局", "2024-05-01", None],
            [4, "乙", "市教育局", "市水利局", None, None], ["小计", None, None, None, "2件", None],
            HEADER, [5, "丙", "市教育局", "市水利局", "2024-06-01", None], ["合计：3件"]]
    parsed = _parse(tmp_path, "市水利局_2024-06-30.xlsx", {"Sheet1": page})
    assert [(n, r) for n, r in parsed.rows.select("number", "role").rows()] == [(3, "协办"), (4, "协办"), (5, "协办")]
    assert parsed.rows_read == 3 and not parsed.rejects  # 小计/合计 and the repeated header are not data rows


def test_a_sparse_data_row_is_not_taken_for_a_title(tmp_path):
    sheet = [HEADER, [1, "甲", "市水利局", None, "2024-05-10", "A"], [2, None, None, None, None, None],
             ["主办件"], HEADER, [3, "丙", "市水利局", None, None, None]]
    parsed = _parse(tmp_path, "市水利局.xlsx", {"Sheet1": sheet})
    assert sorted(parsed.rows["number"].to_list()) == [1, 2, 3]


def test_a_per_unit_summary_is_recognised_and_not_loaded(tmp_path):
    summary = [["2024年代表建议办理情况统计"], ["单位", "办理", None, None, "办复", "办复率", "办理工作", None, None],
               [None, "主办", "协办", "总数", None, None, "满意", "基本满意", "不满意"],
               ["市水利局", 12, 3, 15, 10, "83.33%", 9, 1, 0], ["合计", 12, 3, 15, 10, None, 9, 1, 0]]
    parsed = _parse(tmp_path, "办理情况统计.xlsx", {"统计": summary})
    assert parsed.kind == SUMMARY and parsed.error.startswith("汇总表") and parsed.rows is None

    detail = [HEADER, [1, "甲", "市水利局", None, "2024-05-10", "A"]]
    both = _parse(tmp_path, "市水利局.xlsx", {"明细": detail, "统计": summary})
    assert both.kind == UNIT_EXPORT and both.rows_read == 1
    assert "工作表 统计 是汇总表 (按单位统计的件数), 不载入" in both.notes

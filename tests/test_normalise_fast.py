"""etl/normalise.py: the vectorised paths give exactly what the Python parsers give (the parsers
stay the single definition; polars only stands in for them where it provably agrees)."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings, strategies as st

from etl.normalise import (
    _SAME_IN_POLARS,
    InvalidValue,
    _units,
    clean_token,
    number_and_year,
    numbers_and_years,
    per_distinct,
    split_units,
    text_expr,
    token_expr,
)

TRICKY_NUMBERS = [
    "12", "0012", "第12号", "建议第12号", "第012号建议", "建议12", "12号", "１２", "第１２号", "12.0", "0012.00",
    " 12 ", "12\u00a0", "1\n2", "〔2024〕12号", "[2024]第12号", "【2024】12", "(2024)12", "（2024）12号",
    "2024年第12号", "2024-012", "2024/12", "2024_12", "2024—12", "2024年建议第12号", "202412", "2024012",
    "1999-5", "2101-5", "1234567", "0000000012", "999999", "1000000", "0", "000", "0.0", "2024-000",
    "第0号", "12.5", "12.", ".0", "-5", "abc", "第号", "12a", "", "  ", None,
    "\x1f12", "12\x1c", "١٢", "\U0001ccf1\U0001ccf2", "𝟏𝟐", "⑫", "十二",
]


def python_numbers(values):
    """number_and_year per value: (number, year, reason)."""
    out = []
    for value in values:
        try:
            out.append((*number_and_year(value), None))
        except InvalidValue as exc:
            out.append((None, None, str(exc)))
    return out


def polars_numbers(values):
    number, year, reason, _ = numbers_and_years(pl.Series("number", values, dtype=pl.Utf8))
    return list(zip(number.to_list(), year.to_list(), reason.to_list()))


def test_numbers_in_polars_agree_with_number_and_year_on_tricky_values():
    assert polars_numbers(TRICKY_NUMBERS) == python_numbers(TRICKY_NUMBERS)
    # the first of _NUMBER_PATTERNS wins, as in the Python loop: 202412 is no year 2024
    assert polars_numbers(["202412", "2024012", "〔2024〕12号"]) == [(202412, None, None), (12, 2024, None), (12, 2024, None)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0１２9建议第号年〔〕[]()（）【】-_—/. \t\n\u3000\x1fa", max_size=12), min_size=1, max_size=20))
def test_numbers_in_polars_agree_with_number_and_year_on_any_mix(values):
    assert polars_numbers(values) == python_numbers(values)


def test_characters_that_polars_cleans_like_python():
    # every character of the class, alone: token_expr gives clean_token (the outlined digits of
    # Unicode 16, which polars' NFKC knows and Python's does not, are outside the class)
    every = pl.Series("c", [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000])
    chars = every.filter(every.str.contains(_SAME_IN_POLARS))
    assert chars.to_frame().select(token_expr(pl.col("c"))).to_series().to_list() == [clean_token(c) for c in chars]
    assert "\U0001ccf1" not in chars and "\x1f" not in chars


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(alphabet="a1 \t\n\r\u3000，,（）()[]【】：、；;/１Ａ建议号\x1f", max_size=10), min_size=1, max_size=30))
def test_units_in_polars_agree_with_split_units(values):
    values = values + ["市委统战部（侨办、台办）、市教育局", "市教育局，市财政局\n市民政局", "\x1f市教育局", None, ""]
    expected = [split_units(v) for v in values]
    assert _units(pl.Series("units", values, dtype=pl.Utf8), len(values)).to_list() == expected
    long = values * (2000 // len(values) + 1)  # a long column: split once per distinct value
    assert _units(pl.Series("units", long, dtype=pl.Utf8), len(long)).to_list() == [split_units(v) for v in long]


@pytest.mark.parametrize("clean", [text_expr, token_expr])
def test_per_distinct_is_the_expression_row_by_row(clean):
    titles = ["关于加强 学校 周边交通的建议", "ＡＢＣ  12", None, "", " ", "加 强 学 校 管 理"]
    frame = pl.DataFrame({"repeated": titles * 500, "unique": [f"第 {i} 号" for i in range(3000)]})
    assert per_distinct(frame, clean).equals(frame.select(clean(pl.all())))
    assert per_distinct(frame.head(10), clean).equals(frame.head(10).select(clean(pl.all())))

"""Delimited text (CSV, TSV, …) in any of the encodings offices use."""

from __future__ import annotations

import csv
import io
import re
from itertools import repeat

import polars as pl

from duban.core.settings import Settings
from etl.read.common import NOT_A_TABLE, UnreadableFile, check_extent, frame_of

_UTF8_BOM = b"\xef\xbb\xbf"
# the control characters (Unicode categories Cc, Cs, Co) other than tab and line breaks
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd]"
)
_DELIMITERS = (",", "\t", ";", "|")
_SNIFF_LINES, _SNIFF_CHARS = 30, 1 << 20  # the delimiter is sniffed in this many lines of the first MB


def decode_text(data: bytes) -> str:
    """CSV bytes → text: BOM (UTF-8, UTF-16), else UTF-8, else GB18030 (a superset of GBK)."""
    return _decode(data)[0]


def _decode(data: bytes) -> tuple[str, bytes | None]:
    """The text, and the same text as UTF-8 bytes when the file holds exactly those after its
    BOM (polars reads them as they are; only other encodings are encoded again)."""
    if data.startswith(_UTF8_BOM):
        encodings = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ["utf-16"]
    else:
        encodings = ["utf-8", "gb18030"]
    for encoding in encodings:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableFile(NOT_A_TABLE)
    # Binary content can decode by accident; real tables have (almost) no control characters.
    sample = text[:20000]
    if len(_CONTROL.findall(sample)) > max(2, len(sample) // 1000):
        raise UnreadableFile(NOT_A_TABLE)
    return text, data.removeprefix(_UTF8_BOM) if encoding.startswith("utf-8") else None


def read_delimited(data: bytes, settings: Settings) -> pl.DataFrame:
    text, utf8 = _decode(data)
    lines = text.splitlines()
    delimiter = _delimiter(text, lines)
    # the widest line bounds the columns (a quoted delimiter only overcounts): checked before
    # polars builds a frame that wide
    width = max(map(str.count, lines, repeat(delimiter)), default=0) + 1
    check_extent(len(lines), width, settings)
    return _csv_frame(text, utf8 if utf8 is not None else text.encode("utf-8"), delimiter, width)


def _delimiter(text: str, lines: list[str]) -> str:
    """The most frequent of , tab ; | in the first non-blank lines (of the first MB: when those
    lines are longer, only what of them lies in it)."""
    head = lines[:_SNIFF_LINES]
    if sum(map(len, head)) + 2 * len(head) > _SNIFF_CHARS:  # a line break is at most 2 characters
        head = text[:_SNIFF_CHARS].splitlines()[:_SNIFF_LINES]
    head = [line for line in head if line.strip()]
    counts = {d: sum(map(str.count, head, repeat(d))) for d in _DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


def _csv_frame(text: str, utf8: bytes, delimiter: str, width: int) -> pl.DataFrame:
    # polars' reader is many times faster than the csv module; give it a width no record can
    # exceed (title rows above the header are shorter than the header) and fall back to the csv
    # module when a quoted multi-line record breaks that bound.
    try:
        return pl.read_csv(
            io.BytesIO(utf8),
            has_header=False,
            separator=delimiter,
            schema={f"c{i}": pl.Utf8 for i in range(width)},
            quote_char='"',
        )
    except Exception:
        return _csv_frame_slow(text, delimiter)


def _csv_frame_slow(text: str, delimiter: str) -> pl.DataFrame:
    csv.field_size_limit(1 << 24)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        raise UnreadableFile(f"{NOT_A_TABLE} (CSV格式有误)") from None
    return frame_of([[value or None for value in row] for row in rows])

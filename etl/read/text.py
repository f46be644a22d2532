"""Delimited text (CSV, TSV, …) in any of the encodings offices use."""

from __future__ import annotations

import csv
import io
import unicodedata

import polars as pl

from duban.core.settings import Settings
from etl.read.common import NOT_A_TABLE, UnreadableFile, check_extent, frame_of


def decode_text(data: bytes) -> str:
    """CSV bytes → text: BOM (UTF-8, UTF-16), else UTF-8, else GB18030 (a superset of GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
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
    controls = sum(1 for ch in sample if unicodedata.category(ch) in ("Cc", "Cs", "Co") and ch not in "\t\r\n")
    if controls > max(2, len(sample) // 1000):
        raise UnreadableFile(NOT_A_TABLE)
    return text


def read_delimited(data: bytes, settings: Settings) -> pl.DataFrame:
    text = decode_text(data)
    delimiter = _delimiter(text)
    lines = text.splitlines()
    # the widest line bounds the columns (a quoted delimiter only overcounts): checked before
    # polars builds a frame that wide
    width = max((line.count(delimiter) for line in lines), default=0) + 1
    check_extent(len(lines), width, settings)
    return _csv_frame(text, delimiter, width)


def _delimiter(text: str) -> str:
    lines = [line for line in text[:1 << 20].splitlines()[:30] if line.strip()]
    counts = {d: sum(line.count(d) for line in lines) for d in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _csv_frame(text: str, delimiter: str, width: int) -> pl.DataFrame:
    # polars' reader is many times faster than the csv module; give it a width no record can
    # exceed (title rows above the header are shorter than the header) and fall back to the csv
    # module when a quoted multi-line record breaks that bound.
    try:
        return pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
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

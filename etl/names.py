"""File names and cell text made safe to store and to print.

A zip made on a Chinese Windows machine gives file names in GBK; Python lists them with
surrogate escapes (``'\\udcca'``) that cannot be written as UTF-8. Any text shown on a terminal or
in a log line may carry control characters: a newline forges a second line, escape sequences
recolour or rewrite the operator's terminal.
"""

from __future__ import annotations

import os
import re
import unicodedata

# CSI (ESC [ … final byte) and OSC (ESC ] … BEL or ESC \) sequences, removed whole.
_ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def decoded_name(name: str) -> str:
    """A name as listed by the OS, as text: its raw bytes read as UTF-8, else as GB18030 (a
    superset of GBK); never a surrogate escape."""
    raw = os.fsencode(name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


def one_line(text: object) -> str:
    """``text`` fit for one terminal or log line: escape sequences and control characters
    removed (line breaks and tabs become spaces), undecodable characters shown as '�'."""
    text = _ESCAPE_SEQUENCE.sub("", str(text))
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char in "\n\r\t\v\f":
            kept.append(" ")
        elif category == "Cs":
            kept.append("\ufffd")
        elif category != "Cc" and char not in _BIDI_CONTROLS:
            kept.append(char)
    return "".join(kept)

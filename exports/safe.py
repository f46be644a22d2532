"""Text hygiene shared by every export (xlsx, docx).

Values in the warehouse come from files that units send: a title may begin with ``=`` or ``@``
(a formula a spreadsheet would run), and a cell may hold control characters that XML (both
.xlsx and .docx are XML) cannot carry. Everything written to a user-facing file passes here.
"""

from __future__ import annotations

import re
from typing import Any


# Leading characters that make Excel/WPS/LibreOffice treat typed or pasted text as a formula
# (OWASP "CSV injection" list), plus tab and CR which some importers strip before parsing.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")

# XML 1.0 forbids C0 controls except tab, LF and CR; python-docx raises on them.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_PREFIXES)


def xml_text(value: Any) -> str:
    """A value as text that any XML writer accepts (None → empty)."""
    if value is None:
        return ""
    return _XML_ILLEGAL.sub("", str(value))


def yes_no(value: Any) -> str:
    if value is None:
        return ""
    return "是" if bool(value) else "否"


def join_units(value: Any) -> str:
    """Lists of unit names (from the indicator layer) joined the way clerks write them."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value if v)
    return str(value)

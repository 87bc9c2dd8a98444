"""User text as literal Markdown (names, levels and cells come from a user's CSV)."""
from __future__ import annotations

from html import escape
from typing import Any

_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()#+-.!|<>~"})


def md_literal(text: Any) -> str:
    """HTML escaped and every Markdown control character backslash-escaped, on one line: a cell
    can render neither a link, an image, a heading nor a table break."""
    return escape(str(text), quote=False).translate(_SPECIAL).replace("\n", " ").replace("\r", " ")

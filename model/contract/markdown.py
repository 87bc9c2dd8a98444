"""User text as literal Markdown (names, levels and cells come from a user's CSV)."""
from __future__ import annotations

import re
from typing import Any

_SPECIAL = re.compile(r"[!-/:-@\[-`{-~]")  # every ASCII punctuation character


def md_literal(text: Any) -> str:
    """User text as literal Markdown text: line breaks become spaces and every ASCII punctuation
    character is backslash-escaped (CommonMark allows it for all of them), so a cell cannot make a
    link, an image, code, emphasis, HTML, a table cell or a bare-URL autolink."""
    return _SPECIAL.sub(r"\\\g<0>", " ".join(str(text).split()))


def md_code(text: Any) -> str:
    """User text as one inline code span, shown exactly (a URL stays copyable): a fence of
    backticks longer than any run inside, padded when the text starts or ends with one."""
    body = " ".join(str(text).split())
    runs = [len(r) for r in re.findall(r"`+", body)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{fence}{pad}{body}{pad}{fence}"

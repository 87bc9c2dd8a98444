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



_LOOKALIKE = str.maketrans({"*": "\u2217", "`": "\u02cb", "[": "\uff3b", "]": "\uff3d"})
_LONE_UNDERSCORE = re.compile(r"(?<!\w)_|_(?!\w)|__")


def inline_literal(text: Any) -> str:
    """User text for a line renderer that HTML-escapes, then turns `code`, [text](url), **bold**,
    __bold__, *em* and _em_ into HTML with no way to escape them (Gradio's `info` lines): those
    characters become look-alikes (∗ ˋ ［ ］ ＿; an underscore inside a word, as in `preferred_category`,
    can open or close nothing and stays), and line breaks spaces."""
    flat = " ".join(str(text).split()).translate(_LOOKALIKE)
    return _LONE_UNDERSCORE.sub(lambda m: "\uff3f" * len(m.group()), flat)

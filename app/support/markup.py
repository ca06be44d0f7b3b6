"""Data-set text made safe to show: markdown escaped, control characters as visible pictures."""

from __future__ import annotations


def escape_md(value) -> str:
    """Text safe inside markdown (no emphasis, links or HTML from data)."""
    text = str(value)
    for ch in "\\`*_{}[]<>()#+!|~":
        text = text.replace(ch, "\\" + ch)
    return text


_CONTROL = {c: 0x2400 + c for c in range(0x20) if chr(c) not in "\t\n\r"} | {0x7F: 0x2421}


def printable(text: str) -> str:
    """Control characters shown as their Unicode control pictures (U+2400...), one character
    for one, so token offsets into the text stay valid."""
    return text.translate(_CONTROL)

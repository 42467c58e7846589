"""Decoded text → numbered lines ``(text, 1-based line)``; a long line (a flattened page) is split at
the section headings of the format files. is_html: whether decoded text is markup."""
from __future__ import annotations

import re
from functools import lru_cache
from itertools import compress, repeat
from operator import gt

from transforms.formats import FORMATS
from transforms.labels import traditional

LONG_LINE = 200  # a longer line may be a flattened page: split it at section headings


def is_html(text: str) -> bool:
    head = text[:2048].lstrip("\ufeff \r\n\t")[:64].lower()  # the longest prefix tested is 14 characters
    return head.startswith(("<!doctype html", "<html", "<?xml", "<head", "<body", "<div", "<table", "<meta"))


# --------------------------------------------------------------------------- lines

def text_lines(text: str) -> list[tuple[str, int]]:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    raw = text.split("\n")
    lines = list(zip(raw, range(1, len(raw) + 1)))  # (text, 1-based line number), built in C
    # long lines (prose paragraphs, flattened pages) are split at section headings, last first so
    # the indices of the earlier ones stay valid (operator.gt: a third cheaper than a bound int.__lt__)
    long = list(compress(range(len(raw)), map(gt, map(len, raw), repeat(LONG_LINE))))
    for i in reversed(long):
        lines[i:i + 1] = _split_long(raw[i], i + 1)
    return lines


@lru_cache(maxsize=1)
def _heading_splitter() -> re.Pattern:
    """Section headings as printed, in simplified and traditional characters (raw text offsets)."""
    parts = []
    for fmt in FORMATS.values():
        for t in fmt.tables.values():
            parts.append(f"{t.section}[、.．，,]\\s*(?:{t.heading})")
        parts.append(f"(?:{fmt.end_heading})")
    parts += traditional(parts)
    return re.compile("|".join(dict.fromkeys(parts)))


def _split_long(line: str, no: int) -> list[tuple[str, int]]:
    cuts = [m.start() for m in _heading_splitter().finditer(line)]
    cuts = sorted(set([0, *cuts]))
    return [(line[a:b], no) for a, b in zip(cuts, cuts[1:] + [len(line)])]

"""Where each statutory table (二/三/四) is in a report's lines: its heading, else an anchor label of
the format files; it ends at the next table, the end heading (五), a truncation mark or the file's end."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress
from operator import itemgetter

from transforms.formats import FORMATS
from transforms.labels import WHITESPACE, clean, traditional

TRUNCATION_MARK = "[...]"


@dataclass
class Region:
    table: str
    start: int  # index into lines
    end: int
    truncated: bool
    located_by: str  # heading | anchor

def is_heading(table: str, text: str) -> bool:
    return bool(_heading_re(table).match(clean(text)))


@lru_cache(maxsize=8)
def _heading_re(table: str) -> re.Pattern:
    parts = {f"{f.tables[table].section}[、.．]\\s*(?:{f.tables[table].heading})" for f in FORMATS.values()}
    return re.compile(r"^\s*(?:#+\s*)?(?:" + "|".join(sorted(parts)) + ")")


@lru_cache(maxsize=1)
def _end_re() -> re.Pattern:
    parts = {f.end_heading for f in FORMATS.values() if f.end_heading}
    return re.compile(r"^\s*(?:#+\s*)?(?:" + "|".join(sorted(parts)) + ")")


def _anchors(table: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a for f in FORMATS.values() for a in f.tables[table].anchors))


TABLE_ORDER = tuple(next(iter(FORMATS.values())).tables)  # 二, 三, 四 in document order


def locate(lines: list[tuple[str, int]]) -> dict[str, Region]:
    """Find each statutory table's line range: heading, else anchor label; stop at 五 or a cut."""
    # Only lines that can be a heading or hold an anchor are normalised (prose is most of a report);
    # pinyin-annotated mirrors can hide anchors from the raw filter, so a miss retries on every line.
    cleaned = _cleaned_candidates(lines)
    found = _find_starts(lines, cleaned)
    if len(found) < len(TABLE_ORDER):
        cleaned = [clean(t[:300]) for t, _ in lines]
        found = _find_starts(lines, cleaned)
    if not found:
        return {}
    return _regions(lines, cleaned, found)


@lru_cache(maxsize=1)
def _maybe_marker() -> tuple[re.Pattern, re.Pattern]:
    """Raw-text filters for lines that may be headings or anchors (simplified and traditional):
    (a section numeral opening the line, an anchor word anywhere). Two patterns, because a `^`
    branch in one alternation stops the regex engine from skipping ahead to the words' first
    characters (3x slower on report prose)."""
    words = _anchor_words()
    numerals = "".join(dict.fromkeys([*(f.tables[t].section for f in FORMATS.values() for t in f.tables),
                                       *(f.end_section for f in FORMATS.values() if f.end_section)]))
    return (re.compile(r"[\s#\u3000]*[" + numerals + "]"),
            re.compile("|".join(sorted(map(re.escape, words)))))


def _cleaned_candidates(lines) -> list[str]:
    """clean(text[:300]) of the lines that may be a heading or hold an anchor, "" for the others.
    The filters run once over the lines joined by newlines (no heading or anchor holds one), not per
    line: a text export prints one cell a line (~400 lines of a few characters), and a regex call or
    two a line were ~10 % of parse_report on them. locate's instructions a report (formats_bench
    forms): text 1.94 → 1.07 M, HTML 0.57 → 0.55 M."""
    joined = "\n".join(map(itemgetter(0), lines))
    numbered_line, words = _line_markers()
    found: list[int] = []            # where a line holding a marker within its first 300 characters is
    for word in words:               # str.find is ~5x cheaper a character than the alternation's scan
        i = joined.find(word)
        while i >= 0:
            if i + len(word) - joined.rfind("\n", 0, i) - 1 <= 300:
                found.append(i)
            i = joined.find(word, i + 1)
    for m in numbered_line.finditer(joined):      # from the newline before a line
        if m.end() - m.start() - 1 <= 300:
            found.append(m.start() + 1)
    hits = set()
    k = at = 0                   # line k holds joined[at]: newlines counted from position to position
    for pos in sorted(found):
        k += joined.count("\n", at, pos)
        at = pos
        hits.add(k)
    if k + joined.count("\n", at) != len(lines) - 1:   # a line holding a newline (or no line): line by line
        numbered, words_re = _maybe_marker()
        openers = _numbered_openers()  # a cheap test before the numbered pattern: most lines fail it
        return [clean(t[:300]) if (t[:1] in openers and numbered.match(t, 0, 300)) or words_re.search(t, 0, 300)
                else "" for t, _ in lines]
    first = lines[0][0]
    if first[:1] in _numbered_openers() and _maybe_marker()[0].match(first, 0, 300):
        hits.add(0)
    cleaned = [""] * len(lines)
    for k in hits:
        cleaned[k] = clean(lines[k][0][:300])
    return cleaned


@lru_cache(maxsize=1)
def _line_markers() -> tuple[re.Pattern, tuple[str, ...]]:
    """_maybe_marker for lines joined by newlines: the numbered marker matched from the newline before
    a line (its blanks but the newline), the anchor words."""
    numbered, words = _maybe_marker()
    numerals = numbered.pattern[numbered.pattern.rindex("[") + 1:-1]
    blanks = "".join(sorted(re.escape(c) for c in _numbered_openers() if c.isspace() and c != "\n"))
    return (re.compile("\n[" + blanks + "#\u3000]*[" + numerals + "]"),
            tuple(sorted(_anchor_words())))


@lru_cache(maxsize=1)
def _anchor_words() -> frozenset[str]:
    """Every table's anchor labels and the end heading's anchors (format files), simplified and traditional."""
    words = sorted({a for t in TABLE_ORDER for a in _anchors(t)} | {w for f in FORMATS.values() for w in f.end_anchors})
    return frozenset([*words, *traditional(words)])


@lru_cache(maxsize=1)
def _numbered_openers() -> frozenset[str]:
    """First characters of every line the numbered marker can match: its blanks (regex \\s is
    str.isspace), '#', U+3000 and the section numerals."""
    numbered, _ = _maybe_marker()
    numerals = numbered.pattern[numbered.pattern.rindex("[") + 1:-1]
    return frozenset([*WHITESPACE, "#", "\u3000", *numerals])


def _find_starts(lines, cleaned) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    search_from = 0
    # headings and anchors never match an empty string: only the cleaned lines are tried
    filled = list(compress(range(len(cleaned)), cleaned))
    for table in TABLE_ORDER:
        hre = _heading_re(table)
        idx = next((i for i in filled if i >= search_from and hre.match(cleaned[i])), None)
        how = "heading"
        if idx is None:
            anchors = _anchors(table)
            idx = next((i for i in filled if i >= search_from and any(a in cleaned[i] for a in anchors)), None)
            how = "anchor"
        if idx is not None:
            found[table] = (idx, how)
            search_from = idx + 1
    return found


def _cut_lines(lines) -> list[int]:
    """Indices of lines holding the truncation mark (one scan of the joined text: usually none)."""
    if TRUNCATION_MARK not in "\n".join(map(itemgetter(0), lines)):  # the mark holds no newline
        return []
    return [i for i, (t, _) in enumerate(lines) if TRUNCATION_MARK in t]


def _regions(lines, cleaned, found) -> dict[str, Region]:
    last_start = max(i for i, _ in found.values())
    end_re = _end_re()  # never matches an empty string: blank (unfiltered) lines are skipped
    stop = next((i for i in range(last_start + 1, len(lines)) if cleaned[i] and end_re.match(cleaned[i])), len(lines))
    regions: dict[str, Region] = {}
    ordered = sorted(found.items(), key=lambda kv: kv[1][0])
    cuts = _cut_lines(lines)
    for k, (table, (start, how)) in enumerate(ordered):
        end = ordered[k + 1][1][0] if k + 1 < len(ordered) else stop
        truncated = False
        cut = next((i for i in cuts if start <= i < end), None)
        if cut is not None:
            end, truncated = cut, True
        if not truncated and end == len(lines) and k + 1 == len(ordered) and stop == len(lines):
            truncated = True  # the file ends inside the table: nothing proves the table finished
        regions[table] = Region(table, start, end, truncated, how)
    return regions

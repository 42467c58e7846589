"""Readers: decoded text (transforms.read.charsets) → numbered lines → table regions → cell tokens.

Every token keeps the 1-based source line it came from. Layout families (see README):
tab_cells (one cell per tab-indented line, blank line between rows), tsv, pipe (`a | b |` rows and
`value |` cells), line_cells (one cell per line, `|` filler lines), spaced (label then values
separated by spaces: PDF page text and whole-report-on-one-line exports), html (<table> rows).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress, repeat
from operator import gt, itemgetter

from transforms.formats import FORMATS
from transforms.labels import clean
from transforms.parse.values import parse_value

TRUNCATION_MARK = "[...]"
LONG_LINE = 200  # a longer line may be a flattened page: split it at section headings


@dataclass(slots=True)
class Tok:
    text: str
    line: int
    is_value: bool
    brk: int = 0  # 0 = a cell; 1 = soft row break (end of a physical row); 2 = hard (blank line)


@dataclass
class Region:
    table: str
    start: int  # index into lines
    end: int
    truncated: bool
    located_by: str  # heading | anchor


# --------------------------------------------------------------------------- text

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
    import opencc

    s2t = opencc.OpenCC("s2t.json")
    parts = []
    for fmt in FORMATS.values():
        for t in fmt.tables.values():
            parts.append(f"{t.section}[、.．，,]\\s*(?:{t.heading})")
        parts.append(f"(?:{fmt.end_heading})")
    parts += [s2t.convert(p) for p in parts]
    return re.compile("|".join(dict.fromkeys(parts)))


def _split_long(line: str, no: int) -> list[tuple[str, int]]:
    cuts = [m.start() for m in _heading_splitter().finditer(line)]
    cuts = sorted(set([0, *cuts]))
    return [(line[a:b], no) for a, b in zip(cuts, cuts[1:] + [len(line)])]


# --------------------------------------------------------------------------- regions

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
    numerals = "".join(dict.fromkeys(f.tables[t].section for f in FORMATS.values() for t in f.tables)) + "五"
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
    """Every table's anchor labels and 存在的主要问题, simplified and traditional."""
    import opencc

    s2t = opencc.OpenCC("s2t.json")
    words = {a for t in TABLE_ORDER for a in _anchors(t)} | {"存在的主要问题"}
    return frozenset(words | {s2t.convert(w) for w in words})


@lru_cache(maxsize=1)
def _numbered_openers() -> frozenset[str]:
    """First characters of every line the numbered marker can match: its blanks (regex \\s is
    str.isspace), '#', U+3000 and the section numerals."""
    numbered, _ = _maybe_marker()
    numerals = numbered.pattern[numbered.pattern.rindex("[") + 1:-1]
    blanks = (chr(c) for c in range(0x110000) if chr(c).isspace())
    return frozenset([*blanks, "#", "\u3000", *numerals])


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


# --------------------------------------------------------------------------- layouts

def detect_layout(lines: list[tuple[str, int]], regions: dict[str, Region], html: bool) -> str:
    if html:
        return "html"
    content = [ln for r in regions.values() for ln, _ in lines[r.start:r.end] if ln.strip()]
    if not content:
        return "line_cells"
    n = len(content)
    # each count only when the decisions before it did not settle the layout
    tabbed = [ln for ln in content if "\t" in ln]
    tab_inner = sum(1 for ln in tabbed if "\t" in ln.strip("\t \u00a0"))
    if tab_inner >= 0.3 * n:
        return "tsv"
    tab_led = sum(1 for ln in tabbed if ln.startswith("\t"))
    if tab_led >= 0.3 * n:
        return "tab_cells"
    piped = sum(1 for ln in content if "|" in ln and ln.replace("|", "").strip())
    if piped >= 0.3 * n:
        return "pipe"
    if max(len(ln) for ln in content) > 400 and len(content) <= 8:
        return "one_line"
    spaced = sum(1 for ln in content if len(ln.split()) > 2)
    return "spaced" if spaced >= 0.15 * n else "line_cells"


_SENTENCE = re.compile(r"[。；;！？]")
_COMMAS = re.compile(r"[,，、]")


def is_prose(text: str) -> bool:
    if len(text) < 20:  # NFKC could lengthen a few symbols, never a short label into prose
        return False
    s = clean(text)
    if len(s) < 20:
        return False
    if _SENTENCE.search(s):
        return True
    return len(s) >= 28 and len(_COMMAS.findall(s)) >= 2 and "勾稽" not in s and "区分处理" not in s


# digits fused onto a label are a value, unless they are a date part (2024年) or an enumerator of a
# list item or label (1、…, （1）…): those are text, never values
_FUSED = re.compile(r"(?<![\d.（(])([+\-]*\d+(?:\.\d+)?(?:万元|元)?)(?![\d.年月日号、）)])")


def _pieces(text: str) -> list[str]:
    """Split spaced text into label / value pieces; digits fused onto labels are cut off."""
    return [p for piece in text.split() for p, _ in _PIECES.get(piece) or _piece_parts(piece)]


_PIECES: dict[str, tuple[tuple[str, bool], ...]] = {}


def _piece_parts(piece: str) -> tuple[tuple[str, bool], ...]:
    """One whitespace-free piece → its (text, is_value) parts, cached: labels and small numbers
    recur in every report, and the split and the value test are most of the tokenizing time."""
    if _is_value(piece) or not _DIGIT.search(piece):
        parts = [piece]
    else:
        parts, pos = [], 0
        for m in _FUSED.finditer(piece):
            if m.start() > pos:
                parts.append(piece[pos:m.start()])
            parts.append(m.group(1))
            pos = m.end()
        if pos < len(piece):
            parts.append(piece[pos:])
    hit = tuple((p, _is_value(p)) for p in parts)
    if len(_PIECES) > 100_000:
        _PIECES.clear()
    _PIECES[piece] = hit
    return hit


def tokens(lines: list[tuple[str, int]], region: Region, layout: str) -> list[Tok]:
    """Cell tokens of one table region; row breaks as brk tokens."""
    seg = lines[region.start:region.end]
    if layout == "tab_cells":
        return _tab_cells(seg)
    if layout in ("tsv", "html"):
        return _split_rows(seg, "\t")
    if layout == "pipe":
        return _pipe(seg)
    return _spaced(seg)


_IS_VALUE: dict[str, bool] = {}
_DIGIT = re.compile(r"\d")


def _is_value(text: str) -> bool:
    v = _IS_VALUE.get(text)
    if v is None:
        v = parse_value(text).is_value
        if len(_IS_VALUE) > 100_000:
            _IS_VALUE.clear()
        _IS_VALUE[text] = v
    return v


def _tok(text: str, line: int) -> Tok:
    v = _IS_VALUE.get(text)
    return Tok(text, line, _is_value(text) if v is None else v)


def _tab_cells(seg) -> list[Tok]:
    out: list[Tok] = []
    prev_cell = False
    for text, no in seg:
        if not text.strip(" \u3000\r"):
            if text.startswith("\t"):
                out.append(Tok("", no, True))
                prev_cell = True
            else:
                out.append(Tok("", no, False, 2))
                prev_cell = False
            continue
        if text.startswith("\t"):
            cell = text.strip()
            v = _IS_VALUE.get(cell)  # _tok, inlined (the hot line of this layout)
            out.append(Tok(cell, no, _is_value(cell) if v is None else v))
            prev_cell = True
        elif prev_cell and out and not out[-1].brk and len(text.strip()) <= 12 and (
                not (out[-1].is_value and out[-1].text) or _is_value(out[-1].text + text.strip())):
            # continuation of a cell broken over lines (vertical text, wrapped header, a unit after
            # its number); a printed value is never merged into the text after it ('1、…' prose)
            last = out[-1]
            merged = last.text + text.strip()
            out[-1] = Tok(merged, last.line, parse_value(merged).is_value)
        else:
            out.append(Tok("", no, False, 2))
            out.append(_tok(text.strip(), no))
            out.append(Tok("", no, False, 2))
            prev_cell = False
    return out


def _split_rows(seg, sep: str) -> list[Tok]:
    out: list[Tok] = []
    known_value = _IS_VALUE.get  # the hot loops inline _tok / _pieces (a call per cell is most of their time)
    for text, no in seg:
        if not text.strip():
            continue
        if sep not in text and is_prose(text):
            out.append(Tok(text.strip(), no, False))
            out.append(Tok("", no, False, 1))
            continue
        for cell in text.split(sep):
            cell = cell.strip()
            v = known_value(cell)
            if v is None:
                v = _is_value(cell)
            if not v and " " in cell and _looks_spaced(cell):  # (a blank cell is a value)
                out.extend(Tok(p, no, pv) for piece in cell.split()
                           for p, pv in _PIECES.get(piece) or _piece_parts(piece))
            else:
                out.append(Tok(cell, no, v))
        # trailing empties after the last printed cell are row padding
        out.append(Tok("", no, False, 1))
    return out


def _looks_spaced(cell: str) -> bool:
    """A cell like '规章 0 0 0' holding several cells separated by spaces."""
    parts = cell.split()
    return sum(1 for p in parts if parse_value(p).is_value and p.strip()) >= 1 and len(parts) > 1


_MD_RULE = re.compile(r"^\|?(\s*:?-{3,}:?\s*\|)+\s*(:?-{3,}:?)?\s*$")


def _pipe(seg) -> list[Tok]:
    out: list[Tok] = []
    known_value = _IS_VALUE.get
    content = [t for t, _ in seg if "|" in t]
    markdown = bool(content) and sum(1 for t in content if t.strip().startswith("|") and
                                     t.strip().endswith("|") and t.replace("|", "").strip()) > 0.6 * len(content)
    for text, no in seg:
        s = text.strip()
        if not s:
            continue
        if "|" not in s:
            if is_prose(s):
                out.append(Tok(s, no, False))
                out.append(Tok("", no, False, 1))
                continue
            out.extend(_tok(p, no) for p in _pieces(s)) if _looks_spaced(s) else out.append(_tok(s, no))
            out.append(Tok("", no, False, 1))
            continue
        if "---" in s and _MD_RULE.match(s):
            continue  # markdown rule line
        if len(s) >= 2 and not s.strip("|"):
            out.append(Tok("", no, False, 1))  # '||', '||||': end-of-row filler, not cells
            continue
        parts = s.split("|")
        if s.endswith("|"):
            parts = parts[:-1]
        if markdown and s.startswith("|"):
            parts = parts[1:]
        for p in parts:
            p = p.strip()
            v = known_value(p)
            out.append(Tok(p, no, _is_value(p) if v is None else v))
        out.append(Tok("", no, False, 1))
    return out


def _spaced(seg) -> list[Tok]:
    out: list[Tok] = []
    pieces = _PIECES.get
    for text, no in seg:
        s = text.strip()
        if not s or not s.strip("| "):
            continue  # blank or '|' / '||||' filler lines
        if is_prose(s) and not _is_value(s.split()[-1]):
            out.append(Tok(s, no, False))  # one label token: its numbers are not cells
            out.append(Tok("", no, False, 1))
            continue
        for piece in s.split():  # _pieces(s), inlined
            for p, v in pieces(piece) or _piece_parts(piece):
                out.append(Tok(p, no, v))
        out.append(Tok("", no, False, 1))
    return out

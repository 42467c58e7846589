"""A table region's lines → cell tokens, by layout family (detect_layout), and whether text is prose.

Every token keeps the 1-based source line it came from. Layout families (see README):
tab_cells (one cell per tab-indented line, blank line between rows), tsv, pipe (`a | b |` rows and
`value |` cells), line_cells (one cell per line, `|` filler lines), spaced (label then values
separated by spaces: PDF page text and whole-report-on-one-line exports), html (<table> rows).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import repeat
from operator import gt, itemgetter

from transforms.formats import FORMATS
from transforms.labels import clean
from transforms.parse.regions import Region
from transforms.parse.values import parse_value


@dataclass(slots=True)
class Tok:
    text: str
    line: int
    is_value: bool
    brk: int = 0  # 0 = a cell; 1 = soft row break (end of a physical row); 2 = hard (blank line)



# --------------------------------------------------------------------------- layouts

def detect_layout(lines: list[tuple[str, int]], regions: dict[str, Region], html: bool) -> str:
    if html:
        return "html"
    content: list[str] = []          # the regions' non-blank lines, gathered in C
    for r in regions.values():
        content += filter(str.strip, map(itemgetter(0), lines[r.start:r.end]))
    if not content:
        return "line_cells"
    n = len(content)
    # each count only when the decisions before it did not settle the layout; one scan of the lines
    # joined says whether any holds a tab or a pipe (most text copies hold neither: no pass per line)
    joined = "\n".join(content)
    tabbed = [ln for ln in content if "\t" in ln] if "\t" in joined else []
    tab_inner = sum(1 for ln in tabbed if "\t" in ln.strip("\t \u00a0"))
    if tab_inner >= 0.3 * n:
        return "tsv"
    tab_led = sum(1 for ln in tabbed if ln.startswith("\t"))
    if tab_led >= 0.3 * n:
        return "tab_cells"
    piped = sum(1 for ln in content if "|" in ln and ln.replace("|", "").strip()) if "|" in joined else 0
    if piped >= 0.3 * n:
        return "pipe"
    if max(map(len, content)) > 400 and len(content) <= 8:
        return "one_line"
    spaced = sum(map(gt, map(len, map(str.split, content)), repeat(2)))   # lines of more than 2 words
    return "spaced" if spaced >= 0.15 * n else "line_cells"


_SENTENCE = re.compile(r"[。；;！？]")
_COMMAS = re.compile(r"[,，、]")
# words of labels written like sentences (format files: not_prose)
_NOT_PROSE = tuple(dict.fromkeys(w for f in FORMATS.values() for w in f.not_prose))


def is_prose(text: str) -> bool:
    if len(text) < 20:  # NFKC could lengthen a few symbols, never a short label into prose
        return False
    s = clean(text)
    if len(s) < 20:
        return False
    if _SENTENCE.search(s):
        return True
    return len(s) >= 28 and len(_COMMAS.findall(s)) >= 2 and not any(w in s for w in _NOT_PROSE)


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

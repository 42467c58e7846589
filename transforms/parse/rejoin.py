"""Row labels wrapped over several lines, as PDF text extractors and OCR print them.

A narrow label cell wraps ('1.申请人无正当理由' / '逾期不补正、行政机' / '关不再处理其政府信' …), its
values land on one of those lines or between them, the merged group cell beside it is printed in
pieces across the rows ('三、本年' / '度办理结' / '果', '（三' / '）不' / '予公' / '开'), and a row
that crosses a page break can come out with its values before its label. The normal reading takes one
line as one label, so such tables lose rows to `unknown label` and values with no row label.

This module is the fallback the engine runs only when a table's normal reading left unknown labels
or values with no row label: it joins the pieces of each row label again (prefixes of the format
files' labels, so no label is written here), skips the pieces of group labels, and gives each row the
values printed on its own lines, else the values printed while its label was still open, else the
values printed just before it when the row above is already full (those rows are flagged `reordered`).
Page numbers printed inside a table ('— 5 —') are dropped. The result is a token stream in the
normal layout (label, its values, row break), read again by the engine's row reader.
"""
from __future__ import annotations

import re
from functools import lru_cache

from transforms.labels import match_key, stem_key
from transforms.parse.tokens import Tok, _piece_parts
from transforms.parse.vocab import Vocabulary

# a line holding only a page number: '— 5 —', '- 12 -', '－3－', '第 5 页', '5 / 12'
_PAGE_NUMBER = re.compile(r"^\s*(?:[—\-－–―]+\s*\d{1,3}\s*[—\-－–―]+|第\s*\d{1,3}\s*页(?:\s*[,，/]?\s*共\s*\d{1,3}\s*页)?"
                          r"|\d{1,3}\s*/\s*\d{1,3})\s*$")
_ENUMERATOR = re.compile(r"^\s*[(（]?\d{1,2}\s*[.．、)）]\s*$")   # '1.', '2、', '（3）' alone
_NUMBERED = re.compile(r"^\s*([(（]?\d{1,2}\s*[.．、)）])\s*(\S.*)$")     # '2.缴纳费用…' → '2.', '缴纳费用…'
MIN_START = 2      # characters of a label's key a piece must have to open a row by prefix
MIN_SHARE = 0.6    # a joined label cut short must keep this share of the key it is a prefix of


def is_page_number(text: str) -> bool:
    return bool(_PAGE_NUMBER.match(text))


@lru_cache(maxsize=8)
def _row_prefixes(vocab: Vocabulary) -> tuple[dict[str, frozenset[int]], dict[int, object], frozenset[str]]:
    """Every prefix of every row label key (exact and without notes) → the entries it may begin;
    the entries by id; the keys of group labels and header words (their pieces are skipped)."""
    prefixes: dict[str, set[int]] = {}
    entries: dict[int, object] = {}
    groups = set()
    for key, e in vocab.exact.items():
        if e.kind == "row":
            entries[id(e)] = e
            for k in {key, stem_key(e.label)}:
                for n in range(1, len(k) + 1):
                    prefixes.setdefault(k[:n], set()).add(id(e))
        elif e.kind in ("group", "header"):
            groups.add(key)
    return {k: frozenset(v) for k, v in prefixes.items()}, entries, frozenset(groups)


class _Label:
    __slots__ = ("parts", "key", "values", "before", "lines", "reordered", "extra", "hint", "doubt", "group")

    def __init__(self, tok: Tok, key: str):
        self.parts = [tok]
        self.key = key
        self.values: list[Tok] = []
        self.before: list[Tok] = []   # values printed before the label while the row above was full
        self.lines = {tok.line}
        self.reordered = False
        self.hint = None              # the row its first piece matched on its own, if any
        self.doubt = False            # its values may be the row above's (see close)
        self.group = False            # a row in one format, a group heading in another: may hold no values
        self.extra: list[Tok] = []    # text met while the label was open (group pieces): kept after the row

    def one_per_line(self) -> bool:
        """Its values so far came one a line (one-cell-per-line exports), none on a label line."""
        seen = [v.line for v in self.values]
        return len(seen) == len(set(seen)) and not self.lines.intersection(seen)


def rejoin(table: str, toks: list[Tok], vocab: Vocabulary, width
           ) -> tuple[list[Tok], set[int], set[int]] | None:
    """Tokens with wrapped row labels joined and each row's values after its label → (tokens, lines
    of the rows whose values were printed before their label, lines of the rows whose values may be
    another row's), or None when nothing was joined.

    A row that takes values right after a row that got none is in doubt, and so is that row: a table
    whose values sit at the bottom of their cells prints each row's values on the next label's first
    line, an extractor may print a column of labels and then a column of values, and the text cannot
    say which it is (the engine leaves both unresolved). When some row got no values or some values
    got no row, every row whose values sit outside its label's lines (placed only by the text's
    order) is in doubt too. So is a row that took several lines of values printed before it, one with
    values both before and after its label, and one whose values were printed before its wrapped
    label was finished when the row above was in doubt (or on the label's first line, when the row
    above was reordered).

    width(entry) → the most values a row of that label holds."""
    def width_of(label: _Label) -> int:
        owners = prefixes.get(label.key)
        if owners:
            return max(width(entries[i]) for i in owners)
        return width(label.hint) if label.hint is not None else 0

    prefixes, entries, groups = _row_prefixes(vocab)
    out: list[Tok] = []
    reordered_lines: set[int] = set()
    doubt_lines: set[int] = set()
    previous: list[_Label] = []       # the last closed label
    closed: list[_Label] = []
    orphaned = [0]                    # values printed before a row that had its own: no row's
    joined = 0
    opened: _Label | None = None     # the label being joined (or the last one, while it takes values)
    floating: list[Tok] = []         # values printed before any label could take them
    loose: Tok | None = None         # the last piece no label took (a label's words printed above its number)
    lines = _physical_lines(toks)

    def entry_of(label: _Label):
        m = vocab.match("".join(p.text for p in label.parts))
        if m is not None and m.entry.kind == "row":
            return m.entry
        owners = prefixes.get(label.key)
        if owners and len(owners) == 1:
            e = entries[next(iter(owners))]
            full = max((k for k in (match_key(e.label), stem_key(e.label)) if k.startswith(label.key)),
                       key=len, default="")
            if full and len(label.key) >= MIN_SHARE * len(full):
                return e
        return None

    def close(label: _Label | None) -> None:
        nonlocal joined
        if label is None:
            return
        if not label.values and label.before:
            label.values, label.before = label.before, []
            label.reordered = True
            # more than one line of values, or more than a row holds: several rows' values before one label
            label.doubt = len({v.line for v in label.values}) > 1 or len(label.values) > width_of(label)
        entry = entry_of(label)
        text = "".join(p.text for p in label.parts) if entry is not None else " ".join(p.text for p in label.parts)
        joined += len(label.parts) > 1 or label.reordered
        line = label.parts[0].line
        out.append(Tok("", line, False, 2))
        out.append(Tok(text, line, False))
        out.extend(label.values)
        out.append(Tok("", line, False, 2))
        if label.reordered and entry is not None:
            reordered_lines.add(line)
        label.group = entry is not None and entry.also_group
        if label.before and label.values and not label.lines.intersection(v.line for v in label.values):
            # values before the label and values after it, none on its lines: either could be its own
            label.doubt = True
        first = label.parts[0].line
        if label.values and previous:
            above = previous[0]
            empty_above = not above.values and not above.group
            # values printed before the wrapped label was finished (on its first line, or between its pieces)
            inside = not label.reordered and label.values[0].line < max(label.lines)
            on_first_line = inside and label.values[0].line == first
            if empty_above or (inside and above.doubt) or (on_first_line and above.reordered):
                label.doubt = True
                doubt_lines.add(line)
                if empty_above:
                    above.doubt = True
                    doubt_lines.add(above.parts[0].line)
        if label.doubt:
            doubt_lines.add(line)
        previous[:] = [label]
        closed.append(label)
        if label.before:                              # values before a row that has its own: no row's
            orphaned[0] += len(label.before)
            out.extend(label.before)
            out.append(Tok("", line, False, 2))
        for t in label.extra:
            out.append(t)
            out.append(Tok("", t.line, False, 2))

    for line_toks in lines:
        if len(line_toks) <= 5 and is_page_number(" ".join(t.text for t in line_toks)):
            joined += 1
            continue
        singles = sum(1 for t in line_toks if t.is_value) == 1
        run: list[Tok] | None = None      # where this line's values go, decided at its first value
        for t in line_toks:
            if t.is_value:
                loose = None
                if run is None:
                    run = floating
                    if opened is not None and len(opened.values) < width_of(opened) and (
                            t.line in opened.lines or not opened.values
                            or (singles and opened.one_per_line() and _contiguous(opened, t))):
                        run = opened.values
                run.append(t)
                continue
            run = None
            key = match_key(t.text)
            if not key:
                (opened.extra if opened is not None else out).append(t)
                continue
            if opened is not None and (opened.key + key) in prefixes:
                opened.parts.append(t)
                opened.key += key
                opened.lines.add(t.line)
                continue
            if opened is not None and key.isdigit() and _ENUMERATOR.match(t.text) and (key + opened.key) in prefixes:
                # the label's number printed on a line of its own ('属于国家秘密' / '1.  13 0 …'): it goes first
                opened.parts.insert(0, t)
                opened.key = key + opened.key
                opened.lines.add(t.line)
                continue
            m = vocab.match(t.text)
            starts = (m is not None and m.entry.kind == "row") or (len(key) >= MIN_START and key in prefixes
                                                                    and not _inside_group(key, groups))
            if starts:
                close(opened)
                opened = _Label(t, key)
                if m is not None and m.entry.kind == "row":
                    opened.hint = m.entry
                if floating:
                    opened.before, floating = floating, []
                loose = None
                continue
            numbered = _NUMBERED.match(t.text) if loose is not None and m is None else None
            if numbered and (joined_key := match_key(numbered.group(1)) + match_key(loose.text)
                             + match_key(numbered.group(2))) in prefixes:
                # the label's first words printed a line above its number ('申请人逾期未按收费通知要求' /
                # '2.缴纳费用、…'): the words left over are its beginning
                held = opened.extra if opened is not None else out
                if loose in held:
                    at = held.index(loose)
                    del held[at:at + (2 if opened is None else 1)]     # the piece and its row break
                close(opened)
                opened = _Label(Tok(numbered.group(1), t.line, False), match_key(numbered.group(1)))
                opened.parts += [loose, Tok(numbered.group(2), t.line, False)]
                opened.key = joined_key
                opened.lines.add(loose.line)
                if floating:
                    opened.before, floating = floating, []
                loose = None
                continue
            if m is not None and m.entry.kind == "caption":
                close(opened)
                opened = None
                _flush(out, floating)
                floating = []
                out.append(t)
                out.append(Tok("", t.line, False, 2))
                continue
            # a piece of a group label or of the header: skipped over while a label is open
            (opened.extra if opened is not None else out).append(t)
            loose = t if len(key) >= MIN_START and not _inside_group(key, groups) else loose
            if opened is None:
                out.append(Tok("", t.line, False, 2))
    close(opened)
    _flush(out, floating)
    if not joined:
        return None
    if floating or orphaned[0] or any(not lb.values and not lb.group for lb in closed):
        # some row's values are missing or some values have no row: every row placed only by the order
        # of the text (its values on lines of their own) may hold another row's values
        for lb in closed:
            if lb.values and not lb.reordered and not any(min(lb.lines) <= v.line <= max(lb.lines)
                                                          for v in lb.values):
                doubt_lines.add(lb.parts[0].line)
    return out, reordered_lines, doubt_lines


def _flush(out: list[Tok], floating: list[Tok]) -> None:
    if floating:
        out.append(Tok("", floating[0].line, False, 2))
        out.extend(floating)
        out.append(Tok("", floating[-1].line, False, 2))


def _contiguous(label: _Label, t: Tok) -> bool:
    """A value on the line right after the label's last line or value (one cell per line exports)."""
    last = max(label.lines | {v.line for v in label.values})
    return t.line <= last + 2


def _inside_group(key: str, groups: frozenset[str]) -> bool:
    return any(key in g for g in groups)


def _physical_lines(toks: list[Tok]) -> list[list[Tok]]:
    """Cell tokens grouped by source line, in order (row-break tokens dropped)."""
    out: list[list[Tok]] = []
    cur: list[Tok] = []
    line = None
    for t in toks:
        if t.brk:
            continue
        if not t.is_value and " " in t.text:
            # a line the reader kept whole as prose ('的，只计这一情形，不计其他 2120 39 … 2168情形）'):
            # its pieces, when some are values
            parts = [(p, v) for piece in t.text.split() for p, v in _piece_parts(piece)]
            if any(v for _, v in parts):
                if t.line != line and cur:
                    out.append(cur)
                    cur = []
                line = t.line
                cur.extend(Tok(p, t.line, v) for p, v in parts)
                continue
        if t.line != line and cur:
            out.append(cur)
            cur = []
        line = t.line
        cur.append(t)
    if cur:
        out.append(cur)
    return out

"""A table's tokens → rows by label (the vocabulary of the format files): each row label with the
values after it, captions, headers, and what the table does not know; and the fallbacks for text whose
labels and values came apart (parse/rejoin.py, parse/row_order.py), kept only when they place more."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import accumulate

from transforms.formats import FORMATS, Block
from transforms.labels import match_key
from transforms.parse.regions import is_heading
from transforms.parse.rejoin import rejoin
from transforms.parse.row_order import broken_rows, by_row_order, fill_short_row, shift_row_ends, spilled_tail
from transforms.parse.tokens import Tok, is_prose
from transforms.parse.vocab import Entry, RowCandidate, vocabulary


@dataclass(slots=True)
class RowRead:
    label: str
    line: int
    entry: Entry | None  # None: unknown label (provincial extra row)
    how: str
    caption: list[tuple[str, int]] | None  # (format, block) candidates of the caption above
    headers: list[str]
    cells: list[Tok] = field(default_factory=list)
    doubt: str = ""  # why its values cannot be trusted to be its own (left unresolved), "" normally


@dataclass(slots=True)
class TableRead:
    rows: list[RowRead]
    orphans: list[list[Tok]]  # value groups with no row label (table 四's data row)
    after_last_label: int  # index of the first orphan group after the last label the table knows
    unknown: list[tuple[str, int]]
    groups_as_rows: list[RowRead]
    # text the table does not know (prose, list items, later headings): (index of the first orphan
    # group after it, its line, its text); the data row of table 四 ends at the first of them
    foreign: list[tuple[int, int, str]] = field(default_factory=list)
    junk: list[tuple[str, int]] = field(default_factory=list)  # text with no letter: never a label


def _max_cols(entry: Entry | None, caption, caption_key: tuple | None) -> int:
    """Most values a row can hold (cached by entry and caption_key = tuple(caption) or None)."""
    key = (id(entry), caption_key)
    n = _MAX_COLS.get(key)
    if n is None:
        n = _MAX_COLS[key] = _max_cols_uncached(entry, caption)
    return n


_MAX_COLS: dict = {}


def _max_cols_uncached(entry: Entry | None, caption) -> int:
    if entry is not None and entry.rows:
        return max(len(FORMATS[c.fmt].tables[_table_of(c)].blocks[c.block].columns)
                   for c in entry.rows)
    if caption:
        return max(len(block_at(f, "active_disclosure", b).columns) for f, b in caption)
    return 3


def _table_of(c: RowCandidate) -> str:
    return _LEAF_TABLE[(c.fmt, c.leaf.path)]


_LEAF_TABLE = {(fn, leaf.path): tn for fn, f in FORMATS.items() for tn, t in f.tables.items()
               for b in t.blocks for leaf in b.rows}


def block_at(fmt: str, table: str, index: int) -> Block:
    return FORMATS[fmt].tables[table].blocks[index]


def _suffix_row(vocab, text: str):
    """A row label glued to the end of header text ('…总数量规章' in flattened exports)."""
    key = match_key(text)
    best = None
    for k, e in vocab.exact.items():
        if e.kind == "row" and len(k) >= 2 and key.endswith(k) and (best is None or len(k) > len(best[0])):
            best = (k, e)
    return best[1] if best else None


# A row label has a letter (CJK or Latin). Text without one ('? 0', '\ufffd 0': mojibake printed before
# a value) made rows of junk whose addresses collided; it goes to the problems instead.
_LETTER = re.compile(r"[^\W\d_]")
# captions printed without their item number (format files: caption_stem)
_CAPTION_STEMS = tuple(dict.fromkeys(match_key(f.caption_stem) for f in FORMATS.values() if f.caption_stem))


def read_rows(table: str, toks: list[Tok]) -> TableRead:
    vocab = vocabulary(table)
    rows: list[RowRead] = []
    orphans: list[list[Tok]] = [[]]
    last_label = 0
    foreign: list[tuple[int, int, str]] = []
    unknown: list[tuple[str, int]] = []
    junk: list[tuple[str, int]] = []
    caption = None
    headers: list[str] = []
    current: RowRead | None = None
    current_n = 0
    caption_key = None  # tuple(caption): the column-count cache key
    match = vocab.match
    for tok in toks:
        brk = tok.brk
        if brk:
            if current is not None and (brk == 2 or len(current.cells) >= current_n):
                current = None
            if orphans[-1]:
                orphans.append([])
            continue
        if tok.is_value:
            if current is not None:
                current.cells.append(tok)
            else:
                orphans[-1].append(tok)
            continue
        text = tok.text
        if orphans[-1]:
            orphans.append([])
        m = match(text)
        if m is not None:
            entry, how = m.entry, m.how
        else:
            entry, how = None, ""
        if entry is None and match_key(text).startswith(_CAPTION_STEMS) and len(match_key(text)) <= 9:
            current, caption, caption_key, headers = None, None, None, []  # caption whose number was dropped
            last_label = len(orphans) - 1
            continue
        if entry is None and len(match_key(text)) > 8:
            entry = _suffix_row(vocab, text)
            if entry is not None:
                headers.append(text)
        if entry is None:
            if current is not None and current.how and len(current.cells) <= 1 and current.entry is not None:
                # the rest of a label wrapped around its first value ('（一）予以公' / 2 / '开' / 1 …):
                # the row goes on when the pieces joined are a row's label exactly
                joined = match(current.label + text)
                if joined is not None and not joined.how and joined.entry.kind == "row":
                    current.label, current.entry, current.how = current.label + text, joined.entry, ""
                    continue
            if _LETTER.search(text) is None:
                if current is not None and len(current.cells) < current_n:
                    # a damaged value ('? 0', '\ufffd1') in a row's place: a cell of the row (null,
                    # flagged nonnumeric), so the values after it keep their columns
                    current.cells.append(tok)
                else:
                    junk.append((text, tok.line))
                continue
            current = None
            if vocab.is_header_noise(text) or is_heading(table, text):
                headers.append(text)
                last_label = len(orphans) - 1
                continue
            if table == "active_disclosure" and (caption or rows):
                # a provincial extra row (kept only if values follow it)
                current = RowRead(text, tok.line, None, "", caption, list(headers))
                current_n = _max_cols(None, caption, caption_key)
                rows.append(current)
                last_label = len(orphans) - 1
            else:
                headers.append(text)
                foreign.append((len(orphans) - 1, tok.line, text))
                if not is_prose(text):
                    unknown.append((text, tok.line))
            continue
        last_label = len(orphans) - 1
        kind = entry.kind
        if kind == "caption":
            current, caption, headers = None, list(entry.captions), []
            caption_key = tuple(caption) if caption else None
        elif kind == "header" or kind == "group":
            current = None
            headers.append(text)
        else:
            current = RowRead(text, tok.line, entry, how, caption, list(headers))
            current_n = _max_cols(entry, caption, caption_key)
            rows.append(current)
    # A row label with no values followed by its sub-rows is a group heading (（六）其他处理, 2021).
    groups = [r for k, r in enumerate(rows) if r.entry is not None and r.entry.also_group and not r.cells
              and k + 1 < len(rows) and rows[k + 1].entry is not None
              and any(r.entry.label in c.leaf.ancestors for c in rows[k + 1].entry.rows)]
    if groups:
        rows = [r for r in rows if not any(r is g for g in groups)]
    extras_without_values = [r for r in rows if r.entry is None and not r.cells]
    for r in extras_without_values:
        if not is_prose(r.label):
            unknown.append((r.label, r.line))
    rows = [r for r in rows if not (r.entry is None and not r.cells)]
    kept = [g for g in orphans if g]
    # an index into `orphans` → the index into `kept` (the non-empty groups) of the first group at or after it
    before = list(accumulate((1 if g else 0 for g in orphans), initial=0))
    after = before[last_label]
    foreign = [(before[i], line, text) for i, line, text in foreign]
    return TableRead(rows, kept, after, unknown, groups, foreign, junk)



def reread_wrapped(table: str, toks: list[Tok], tr: TableRead, problems: list[str], cut: bool = False) -> TableRead:
    """The fallback for tables whose normal reading left unknown labels or values with no row label
    (transforms/parse/rejoin.py: labels wrapped over lines, group cells printed in pieces, rows printed
    before their label, page numbers): its reading is kept only when it places more values in known
    rows and leaves no more values without a row. Values that stay without a row right after a row
    cast doubt on it when it took its values from several lines (a one-cell-per-line export that
    printed the values of two rows interleaved: 规章 3 / 行政规范性文件 564 / 5 / 74 / 984 / 4185)."""
    got = rejoin(table, toks, vocabulary(table), lambda e: _max_cols(e, None, None))
    reads = [tr]
    if got is not None:
        new_toks, reordered, doubtful = got
        tr2 = read_rows(table, new_toks)
        reads.append(tr2)
        for r in tr2.rows:
            if r.line in doubtful and r.entry is not None:
                r.doubt = ("which row these values belong to is not printed (wrapped labels, values away from "
                           "their label, a row without values or values without a row near it)")
        known, known2 = {id(r.entry) for r in tr.rows if r.entry}, {id(r.entry) for r in tr2.rows if r.entry}
        # more values placed, or as many and more rows known (labels wrapped in pieces whose values
        # the copy cut off: the rows are then published unresolved rather than lost)
        if (_placed(tr2) > _placed(tr) or _placed(tr2) == _placed(tr) and known < known2) \
                and stray(tr2) <= stray(tr) and known <= known2:
            for r in tr2.rows:
                if r.line in reordered and r.entry is not None:
                    r.how = "reordered"
                    problems.append(f"{table}: the values of row {r.label!r} (line {r.line}) were printed before "
                                    f"its label; placed by the order of the text (flag reordered)")
            problems.append(f"{table}: row labels wrapped over several lines joined again")
            tr = tr2
    for a, b in shift_row_ends(table, tr.rows, tr.orphans):
        a.how = b.how = "reordered"
        problems.append(f"{table}: the last values of row {a.label!r} (line {a.line}) printed on the line of row "
                        f"{b.label!r}, whose own last values follow on a line of their own: moved where both "
                        "rows' totals hold (flag reordered)")
    for g in tr.orphans:
        first = next((x.line for x in g if x.text), None)
        if first is None:
            continue
        before = [r for r in tr.rows if r.cells and r.cells[-1].line <= first]
        if not before:
            continue
        r = before[-1]
        own = {x.line for x in r.cells if x.text}
        if first - r.cells[-1].line > 2:
            continue   # not right after the row: text in between (a caption, a header) ends the row
        if tail := spilled_tail(table, r):
            g[:0], r.cells = r.cells[-tail:], r.cells[:-tail]
            problems.append(f"{table}: row {r.label!r} (line {r.line}) breaks its total with its last value "
                            f"(line {g[0].line}), printed right before values with no row: that value left to them")
            continue
        if len(own - {r.line}) >= 2 or (own - {r.line} and r.line in own):
            r.doubt = (f"values spread over lines {min(own)}–{max(own)} and followed by values with no row label "
                       f"(line {first}): which row each belongs to is not printed")
    if (filled := fill_short_row(table, tr.rows, tr.orphans)) is not None:
        filled.how = "reordered"
        problems.append(f"{table}: row {filled.label!r} (line {filled.line}) printed apart from its other values, "
                        "the only values with no row: with them every identity of the row holds, for no other "
                        "row or order (flag reordered)")
    if stray(tr) or any(r.doubt or not r.cells for r in tr.rows):
        tr = _reread_in_row_order(table, toks, reads, tr, problems, cut)
    # text that needed this fallback was mangled by its extractor: a row whose values break its own
    # total may hold another row's values, wherever they were printed
    broken = broken_rows(table, tr.rows, frozenset(next(x.line for x in g if x.text) for g in tr.orphans
                                                    if any(x.text for x in g)))
    for r in tr.rows:
        if r.line in broken:
            r.doubt = broken[r.line]
    return tr


def _reread_in_row_order(table: str, toks: list[Tok], reads: list[TableRead], tr: TableRead,
                         problems: list[str], cut: bool = False) -> TableRead:
    """The last fallback (transforms/parse/row_order.py): values cut into the format's rows in order, each
    row checked by its identities; kept when it places more values in known rows."""
    got = by_row_order(table, toks, vocabulary(table), reads, cut)
    if got is None:
        return tr
    new_toks, reordered, doubts, note = got
    tr3 = read_rows(table, new_toks)
    for r in tr3.rows:
        if r.line in doubts:
            r.doubt = doubts[r.line]
        elif r.line in reordered:
            r.how = "reordered"
    if _placed(tr3) <= _placed(tr):
        return tr
    problems.append(note)
    return tr3


def _placed(tr: TableRead) -> int:
    """Printed values read into known rows that are not in doubt."""
    return sum(1 for r in tr.rows if r.entry is not None and not r.doubt for x in r.cells if x.text)


def stray(tr: TableRead) -> int:
    return sum(1 for g in tr.orphans for x in g if x.text)

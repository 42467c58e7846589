"""The statutory-table engine: one report's bytes → canonical, flagged cells + report metadata.

Pipeline: decode → lines → locate tables 二/三/四 → tokens (layout family) → rows by label
(vocabulary from the format files) → format per block from its labels → values aligned to
columns; a row with too few or too many values is aligned only when every assignment the
identities allow gives the same cells (flag `inferred`), else left null (flag `unresolved`).
"""
from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from dataclasses import dataclass, field, fields
from itertools import accumulate, combinations

from transforms.formats import FORMATS, SEP, Block, Format, Leaf, cell_place
from transforms.identity import IDENTITY_FIELDS, describe, document_properties
from transforms.labels import clean, match_key
from transforms.names import escape_surrogates
from transforms.narrative import Statement, extract as extract_statements, prose_lines
from transforms.rejoin import rejoin
from transforms.readers import (Region, Tok, detect_layout, is_heading,
                                is_html, is_prose, locate, text_lines, tokens)
from transforms.charsets import repair_problem
from transforms.documents import html_table_lines as html_lines
from transforms.cut_numbers import mend as mend_cut_numbers
from transforms.row_order import (broken_rows, by_row_order, shift_row_ends, spilled_tail, flag_failing_columns, flag_failing_rows,
                                  mark_placed_by_order, values_after_end)
from transforms.schema import PARSER_VERSION, STATUTORY_TABLES, coded, quarantine_problem
from transforms.values import IMPLAUSIBLE, is_no_value, parse_value, unit_from_label
from transforms.vocab import Entry, RowCandidate, vocabulary

MAX_PLACEMENTS = 20000
_FULLWIDTH = str.maketrans({"(": "（", ")": "）", ":": "：", ",": "，", ";": "；"})


@dataclass(slots=True)
class Cell:
    table: str
    row_path: str
    column_path: str
    value: float | None
    raw_value: str | None
    unit: str | None
    flags: tuple[str, ...]
    source_line: int | None
    dims: dict[str, str | None]
    confidence: float | None      # OCR recognition confidence of the printed text; None unless read by OCR


_new_object = object.__new__
# _build_table fills new cells field by field (faster than Cell(...)): it sets exactly these fields
assert [f.name for f in fields(Cell)] == ["table", "row_path", "column_path", "value", "raw_value", "unit",
                                          "flags", "source_line", "dims", "confidence"], \
    "update _build_table's cell fields"


@dataclass
class ParsedReport:
    report: dict
    cells: list[Cell]
    # what the prose says about the report's own figures (transforms/narrative.py), in line order
    statements: list[Statement] = field(default_factory=list)


# --------------------------------------------------------------------------- row reading

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
        return max(len(_block(f, "active_disclosure", b).columns) for f, b in caption)
    return 3


def _table_of(c: RowCandidate) -> str:
    return _LEAF_TABLE[(c.fmt, c.leaf.path)]


_LEAF_TABLE = {(fn, leaf.path): tn for fn, f in FORMATS.items() for tn, t in f.tables.items()
               for b in t.blocks for leaf in b.rows}


def _block(fmt: str, table: str, index: int) -> Block:
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
        if entry is None and match_key(text).startswith("第二十条") and len(match_key(text)) <= 9:
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


# --------------------------------------------------------------------------- formats

def _hay_score(hay: str, block: Block) -> float:
    """Share of the block's columns named in the joined header keys."""
    if not hay:
        return 0.0
    hit = 0
    for prefixes in _column_key_prefixes(block):
        if any(k4 in hay for k4 in prefixes):
            hit += 1
    return hit / len(block.columns)


def _column_key_prefixes(block: Block) -> tuple[tuple[str, ...], ...]:
    """First 4 characters of the match key of every column's label and aliases, per column (cached).

    A column is named in the header text when one of its keys or the key's first 4 characters is;
    the prefix is in the text whenever the whole key is, so testing the prefixes is enough.
    """
    hit = _COLUMN_KEY_PREFIXES.get(id(block))
    if hit is None or hit[0] is not block:
        prefixes = tuple(tuple(dict.fromkeys(k[:4] for k in (match_key(col.label), *map(match_key, col.aliases))))
                         for col in block.columns)
        hit = _COLUMN_KEY_PREFIXES[id(block)] = (block, prefixes)
    return hit[1]


_COLUMN_KEY_PREFIXES: dict[int, tuple[Block, tuple]] = {}


def _choose(rows: list[RowRead], table: str, candidates: list[str], use_headers: bool = True) -> tuple[str | None, str]:
    """Pick the format of one block from its labels: rows it knows, then headers, then value counts."""
    support = dict.fromkeys(candidates, 0)  # rows that exist in each candidate format
    for r in rows:
        if r.entry:
            for f in r.entry.fmts:
                if f in support:
                    support[f] += 1
    best = max(support.values(), default=0)
    cands = [f for f in candidates if support[f] == best]
    if len(cands) == 1:
        return cands[0], "rows"
    blocks = {f: _block_for(rows, table, f) for f in cands}
    # the header text above the block's rows, joined only now that it is needed
    hay = "".join([match_key(h) for r in rows for h in r.headers]) if use_headers else ""
    scores = {f: _hay_score(hay, blocks[f]) if blocks[f] else 0.0 for f in cands}
    top = max(scores.values(), default=0.0)
    if top > 0 and sum(1 for v in scores.values() if v == top) == 1:
        return max(scores, key=scores.get), "headers"
    fit = {f: sum(1 for r in rows if blocks[f] and sum(1 for t in r.cells if t.text) == len(blocks[f].columns))
           for f in cands}
    topfit = max(fit.values(), default=0)
    if topfit > 0 and sum(1 for v in fit.values() if v == topfit) == 1:
        return max(fit, key=fit.get), "value counts"
    return None, "undetermined"


def _block_for(rows: list[RowRead], table: str, fmt: str) -> Block | None:
    for r in rows:
        if r.entry:
            for c in r.entry.rows:
                if c.fmt == fmt:
                    return _block(fmt, table, c.block)
        if r.caption:
            for f, b in r.caption:
                if f == fmt:
                    return _block(fmt, table, b)
    return None


def _block_key(r: RowRead, table: str) -> str:
    """Which sub-table a row belongs to, independent of format (its caption code)."""
    e = r.entry
    if e is not None and e.rows:
        return e.block_code
    if r.caption:
        f, b = r.caption[0]
        return _block(f, table, b).code
    return "?"


# --------------------------------------------------------------------------- alignment

@dataclass(slots=True)
class Aligned:
    values: list[tuple[float | None, str | None, tuple[str, ...], str | None, int]]  # value, raw, flags, unit, line
    status: str  # exact | inferred | unresolved
    reason: str = ""


def _instances(fmt: Format, table: str, row_path: str, columns: tuple[Leaf, ...]):
    """Identity equations touching one row: (lhs cells, rhs cells), cells as (row, column) paths."""
    col_paths = [c.path for c in columns]
    out = []
    for ident in fmt.identities:
        if ident.table != table:
            continue
        if ident.for_each == "row":
            if all(p in col_paths for p in ident.lhs + ident.rhs):
                out.append(([(row_path, p) for p in ident.lhs], [(row_path, p) for p in ident.rhs]))
        elif row_path in ident.lhs or row_path in ident.rhs:
            for cp in col_paths:
                out.append(([(r, cp) for r in ident.lhs], [(r, cp) for r in ident.rhs]))
    return out


def _compile(insts, row_path: str, col_paths: list[str], known) -> list[tuple[float, list[tuple[int, int]]]] | None:
    """Identity instances as (constant, [(slot, sign)]): other rows' cells folded into the constant.

    Instances that need a cell the report left blank cannot be evaluated and are dropped.
    """
    index = {p: i for i, p in enumerate(col_paths)}
    out = []
    for lhs, rhs in insts:
        const, slots, ok = 0.0, [], True
        for sign, side in ((1, lhs), (-1, rhs)):
            for r, c in side:
                if r == row_path and c in index:
                    slots.append((index[c], sign))
                else:
                    v = known.get((r, c))
                    if v is None:
                        ok = False
                        break
                    const += sign * v
            if not ok:
                break
        if ok:
            out.append((const, slots))
    return out


def _solve(vec: list, kinds: list[str], compiled) -> tuple[str, list]:
    """Fill the unknown slots of `vec` from the identities → (ok | invalid | underdetermined, vec)."""
    vec = list(vec)
    progress = True
    while progress:
        progress = False
        for const, slots in compiled:
            total, unknown, blank = const, None, False
            for slot, sign in slots:
                v = vec[slot]
                if v is _UNKNOWN:
                    if unknown is not None:
                        unknown = -1
                        break
                    unknown = (slot, sign)
                elif v is None:
                    blank = True
                    break
                else:
                    total += sign * v
            if blank or unknown == -1:
                continue
            if unknown is None:
                if abs(total) > 1e-6:
                    return "invalid", vec
                continue
            slot, sign = unknown
            v = -total / sign
            if kinds[slot] == "count" and (v < 0 or v != int(v)):
                return "invalid", vec
            vec[slot] = v
            progress = True
    if any(v is _UNKNOWN for v in vec):
        return "underdetermined", vec
    return "ok", vec


_UNKNOWN = object()
_AMOUNT_BLOCKS = {b.code for f in FORMATS.values() for t in f.tables.values() for b in t.blocks
                  if any(c.kind == "amount" for c in b.columns)}


def align(cells: list[Tok], columns: tuple[Leaf, ...], fmt: Format, table: str, row_path: str,
          known: dict, header_unit: dict[int, str | None], row_line: int, edge_padding: bool = False) -> Aligned:
    n = len(columns)
    if edge_padding:
        # tab-separated exports pad label spans and row ends with empty cells: an empty cell at
        # either end of a row is not evidence of a blank value
        while cells and cells[0].text == "":
            cells = cells[1:]
        while cells and cells[-1].text == "":
            cells = cells[:-1]
    printed = [t for t in cells if t.text != ""]
    if len(printed) == n:
        chosen = printed
    elif len(cells) == n:
        chosen = cells
    elif len(cells) > n and all(t.text == "" for t in cells[n:]):
        chosen = cells[:n]  # trailing filler cells after the row (seed 000's table 二, '||' rows)
    else:
        # windows holding every printed token (by identity: tokens with the same text on one line are equal)
        windows = [cells[i:i + n] for i in range(0, len(cells) - n + 1)
                   if {id(t) for t in printed} <= {id(t) for t in cells[i:i + n]}] if len(cells) > n else []
        if len(windows) == 1:
            chosen = windows[0]
        else:
            return _by_identities(printed, columns, fmt, table, row_path, known, header_unit, row_line)
    if not header_unit:
        # the common case: no unit printed in the headers, and plain counts (the fast path of
        # _cell_value, inlined in one comprehension: a call per cell was most of the time)
        values = [(float(text), text, (), col.unit, t.line)
                  if (text := t.text).isascii() and text.isdigit()
                  and (len(text) == 1 or (text[0] != "0" and len(text) <= _PLAUSIBLE_DIGITS))
                  else _cell_value(t, col, None)
                  for t, col in zip(chosen, columns)]
        return Aligned(values, "exact")
    values = []
    for i, (t, col) in enumerate(zip(chosen, columns)):
        text = t.text
        if text.isascii() and text.isdigit() and (len(text) == 1 or (text[0] != "0" and len(text) <= _PLAUSIBLE_DIGITS)):
            hu = header_unit.get(i)
            values.append((float(text), text, (), hu if col.kind == "amount" and hu else col.unit, t.line))
        else:
            values.append(_cell_value(t, col, header_unit.get(i)))
    return Aligned(values, "exact")


def _cell_value(tok: Tok, col: Leaf, header_unit: str | None):
    text = tok.text
    if text.isascii() and text.isdigit() and (len(text) == 1 or (text[0] != "0" and len(text) <= _PLAUSIBLE_DIGITS)):
        # the common case, a plain count: skip the general parser
        return (float(text), text, (), header_unit if col.kind == "amount" and header_unit else col.unit, tok.line)
    p = parse_value(text)
    flags = p.flags
    if col.kind == "count" and p.signed and p.value is not None:
        flags += ("unexpected_sign",)
    unit = p.unit or (header_unit if col.kind == "amount" else None) or col.unit
    if p.value is not None and abs(p.value) > col.max_abs(unit):
        flags += (IMPLAUSIBLE,)
    elif p.value is None and not p.is_value and not is_no_value(text) and "nonnumeric" not in flags:
        flags += ("nonnumeric",)          # printed, not a number ('? 0', a damaged '\ufffd1'): null, said so
    return (p.value, tok.text, flags, unit, tok.line)


def _plausible_digits() -> int:
    """Most digits a plain integer can have and be plausible in every column of every format: the
    fast paths take such text as it is, longer text goes through the bound check of _cell_value."""
    smallest = min(b for f in FORMATS.values() for t in f.tables.values() for blk in t.blocks
                   for col in blk.columns for _, b in col.bounds)
    return len(str(int(smallest))) - 1  # 10^d - 1 <= smallest


_PLAUSIBLE_DIGITS = _plausible_digits()


def _by_identities(printed, columns, fmt, table, row_path, known, header_unit, row_line) -> Aligned:
    n, m = len(columns), len(printed)
    col_paths = [c.path for c in columns]
    kinds = [c.kind for c in columns]
    insts = _instances(fmt, table, row_path, columns)
    compiled = _compile(insts, row_path, col_paths, known)
    what = f"{m} values printed for {n} columns"
    if not compiled:
        return _unresolved(columns, row_line, f"{what}; no identity can place them" + _fused_hint(printed, n))
    parsed = [parse_value(t.text).value for t in printed]
    if m < n and (split := _split_zero_led(printed, n)) is not None:
        vec = [float(t.text) for t in split]
        if _solve(list(vec), kinds, compiled) == ("ok", vec):
            values = [(v, raw, flags + ("inferred",), unit, line) for v, raw, flags, unit, line in
                      (_cell_value(t, col, header_unit.get(i)) for i, (t, col) in enumerate(zip(split, columns)))]
            fused = [t.text for t in printed if len(t.text) > 1 and t.text[0] == "0"]
            return Aligned(values, "inferred", f"{what}; digits of adjacent cells fused ({', '.join(fused)}) read "
                                               "one a cell, and every identity of the row holds")
    if m < n:
        placements = (list(p) for p in combinations(range(n), m))
        total = _ncr(n, m)
    else:
        placements = (list(p) for p in combinations(range(m), n))
        total = _ncr(m, n)
    if total > MAX_PLACEMENTS:
        return _unresolved(columns, row_line, f"{what}; too many possible placements ({total})")
    solutions, under, first = [], 0, None
    for pl in placements:
        if m < n:
            vec = [_UNKNOWN] * n
            for k, slot in enumerate(pl):
                vec[slot] = parsed[k]
        else:
            vec = [parsed[k] for k in pl]
        state, out = _solve(vec, kinds, compiled)
        if state == "ok":
            solutions.append(out)
            first = first or pl
        elif state == "underdetermined":
            under += 1
    if not solutions:
        return _unresolved(columns, row_line, f"{what}; no placement satisfies the identities")
    if under or any(s != solutions[0] for s in solutions[1:]):
        return _unresolved(columns, row_line, f"{what}; {len(solutions)} placements fit the identities "
                                              f"with different cells" if not under else
                           f"{what}; the identities cannot fix every cell")
    values = []
    if m < n:
        slot_tok = {slot: printed[k] for k, slot in enumerate(first)}
        for i, col in enumerate(columns):
            t = slot_tok.get(i)
            if t is not None:
                v, raw, flags, unit, line = _cell_value(t, col, header_unit.get(i))
                values.append((v, raw, flags + ("inferred",), unit, line))
            else:
                unit = (header_unit.get(i) if col.kind == "amount" else col.unit) or col.unit
                v = solutions[0][i] + 0.0
                values.append((v, None, ("inferred", IMPLAUSIBLE) if abs(v) > col.max_abs(unit) else ("inferred",),
                               unit, row_line))
        reason = f"{what}; every placement the identities allow gives the same cells"
    else:
        dropped = [printed[k].text for k in range(m) if k not in first]
        for i, k in enumerate(first):
            v, raw, flags, unit, line = _cell_value(printed[k], columns[i], header_unit.get(i))
            values.append((v, raw, flags + ("inferred",), unit, line))
        reason = f"{what}; extra printed value(s) {dropped} left out, every choice gives the same cells"
    return Aligned(values, "inferred", reason)


def _ncr(n: int, k: int) -> int:
    from math import comb
    return comb(n, k)


def _split_zero_led(printed: list[Tok], n: int) -> list[Tok] | None:
    """A row's values with every number printed with a leading zero ('002', '000': narrow cells printed
    without a gap, no count is printed so) cut into one digit a cell, when that gives one value per
    column; else None."""
    if not any(len(t.text) > 1 and t.text[0] == "0" for t in printed):
        return None
    out: list[Tok] = []
    for t in printed:
        text = t.text
        if len(text) > 1 and text[0] == "0" and text.isascii() and text.isdigit():
            out.extend(Tok(d, t.line, True) for d in text)
        elif text.isascii() and text.isdigit():
            out.append(t)
        else:
            return None
    return out if len(out) == n else None


def _fused_hint(printed: list[Tok], n: int) -> str:
    for t in printed:
        digits = t.text.strip()
        if digits.isdigit() and len(digits) >= n and len(digits) % n == 0:
            w = len(digits) // n
            parts = [digits[i:i + w] for i in range(0, len(digits), w)]
            return f" (digits of adjacent cells look fused: {digits!r} could be {'|'.join(parts)})"
    return ""


def _unresolved(columns, row_line, reason) -> Aligned:
    return Aligned([(None, None, ("unresolved",), None, row_line) for _ in columns], "unresolved", reason)


# --------------------------------------------------------------------------- metadata

def metadata(lines: list[tuple[str, int]], source_file: str = "", properties: dict | None = None,
             context: dict | None = None, sha256: str | None = None) -> dict:
    """Who published the report and for which year (transforms/identity): the identity columns of
    the reports row, plus "_problems" (why a field is unknown, conflicting sources, overrides used)."""
    return describe(lines, source_file, properties, context, sha256)


# --------------------------------------------------------------------------- report

def parse_report(data: bytes, source_file: str, context: dict | None = None, limits=None,
                 images=None) -> ParsedReport:
    """Parse one report file. Never raises on bad content: problems land in report['problems'].

    context: what the caller knows of the source (optional keys organization, region, site_name,
    url, report_year, title, publication_date: e.g. the site, URL list or article page the file came
    from); it completes, never overrides, what the report prints. limits: documents.Limits (default:
    from the environment, read per call; a batch reads them once). images: for an HTML page, src →
    the bytes of a picture saved next to it (None when not available): tables pasted as pictures are
    read by OCR (documents.html_images)."""
    source_file = escape_surrogates(source_file)   # a name given as os.fsdecode'd bytes: every step can encode it
    sha = hashlib.sha256(data).hexdigest()
    base = _empty_report(sha, source_file, len(data))
    # --- issue 5: dispatch by content (DOCX / PDF / HTML / text) under per-file limits: transforms/documents.py
    from transforms.documents import Unreadable, read_document
    try:
        doc = read_document(data, limits, images=images)
    except Unreadable as exc:
        base["problems"] = [quarantine_problem(source_file, str(exc), exc.code)]
        return ParsedReport(base, [])
    properties = {**document_properties(data, doc.kind, doc.encoding), **doc.properties}
    parsed = _parse("", base, doc.encoding, lines=doc.lines, kind=doc.kind, tabular=doc.tabular,
                    repairs=doc.repairs, properties=properties, context=context)
    if doc.confidences is not None:
        # a page with pictures read by OCR: only the cells of their rows are OCR'd
        mark_ocr(parsed, doc.confidences, only_their_rows=doc.kind == "html_ocr")
    for note in doc.notes if doc.kind in ("html", "html_ocr") else ():
        if note.startswith("picture"):
            parsed.report["problems"].append(f"{source_file}: {note}")
    return parsed
    # --- end issue 5


OCR_CONFIDENT = 0.9   # below this recognition score a value is flagged ocr_low_confidence as well


def mark_ocr(parsed: ParsedReport, confidences: dict[int, list[tuple[str, float | None]]],
             only_their_rows: bool = False) -> None:
    """Every cell of a report read by OCR is flagged ``ocr`` and carries the recognition confidence of
    its printed text (the lowest among the row's cells printed the same, when a row repeats a text);
    a value read with less than OCR_CONFIDENT is flagged ``ocr_low_confidence`` too."""
    for c in parsed.cells:
        if only_their_rows and c.source_line not in confidences:
            continue
        row = confidences.get(c.source_line) or []
        raw = (c.raw_value or "").strip()
        scores = [x for t, x in row if x is not None and t.strip() == raw] if raw else []
        c.confidence = min(scores) if scores else None
        low = c.value is not None and (c.confidence is None or c.confidence < OCR_CONFIDENT)
        c.flags = c.flags + (("ocr", "ocr_low_confidence") if low else ("ocr",))
    rep = parsed.report
    rep["n_flagged"] = sum(1 for c in parsed.cells if c.flags)
    what = "the values of its pictures are" if only_their_rows else "every value is"
    rep["problems"].append(f"{rep['source_file']}: read by OCR: {what} flagged ocr "
                           f"({sum('ocr_low_confidence' in c.flags for c in parsed.cells)} with low confidence)")


def parse_text(text: str, source_file: str = "<text>", context: dict | None = None) -> ParsedReport:
    data = text.encode("utf-8")
    base = _empty_report(hashlib.sha256(data).hexdigest(), source_file, len(data))
    return _parse(text, base, "utf-8", context=context)


def _empty_report(sha: str, source_file: str, size: int) -> dict:
    return {
        "report_id": sha, "source_file": source_file, **dict.fromkeys(IDENTITY_FIELDS),
        "template": None, "sha256": sha, "file_size": size,
        "encoding": None, "layout": None, "parser_version": PARSER_VERSION, "status": "unreadable",
        **{f"{t}_status": "missing" for t in STATUTORY_TABLES},
        "tables_found": [], "tables_complete": [], "n_cells": 0, "n_flagged": 0, "n_inferred": 0,
        "n_unresolved": 0, "problems": [], "verdict": None, "failed_checks": None,
    }


def _parse(text: str, report: dict, encoding: str | None, lines: list[tuple[str, int]] | None = None,
           kind: str | None = None, tabular: bool = False, repairs: tuple = (), properties: dict | None = None,
           context: dict | None = None) -> ParsedReport:
    # issue 5: `lines` come read from a document (kind docx | pdf | html | text; tabular → "html" layout)
    html = is_html(text) if lines is None else tabular
    if lines is None:
        try:
            lines = html_lines(text) if html else text_lines(text)
        except Exception as exc:  # lxml on hostile markup: the file is unreadable, the batch goes on
            report["problems"] = [f"{report['source_file']}: HTML could not be parsed ({type(exc).__name__}: {exc})"]
            report["encoding"] = encoding
            return ParsedReport(report, [])
    identity = metadata(lines, report["source_file"], properties, context, report["sha256"])
    identity_problems = identity.pop("_problems")
    report.update(identity)
    report["encoding"] = encoding
    regions = locate(lines)
    problems: list[str] = [repair_problem(repairs)] if repairs else []
    damaged = frozenset(r.line for r in repairs)
    layout = detect_layout(lines, regions, html)
    # the document kind for DOCX, PDF and converted legacy files (doc, rtf, odt, xls, ods)
    report["layout"] = kind if kind not in (None, "html", "text") else layout
    reads = {}
    mangled: set[str] = set()   # tables some of whose values the order of the text placed
    spilled: dict[str, set[int]] = {}   # table → lines of values printed after its end (row_order)
    for t, r in regions.items():
        toks = tokens(lines, r, layout)
        if layout in _POSITIONAL and (after := values_after_end(t, toks, lines, r.end)):
            toks, spilled[t], note = after
            problems.append(note)
        tr = reads[t] = read_rows(t, toks)
        if t != "review_litigation" and (tr.unknown or _stray(tr) or any(row.entry is None for row in tr.rows)):
            reads[t] = _reread_wrapped(t, toks, tr, problems)
            if layout in _POSITIONAL and mark_placed_by_order(reads[t]):
                problems.append(f"{t}: labels and values printed apart and not every value has its row: rows "
                                "whose values sit on lines of their own placed by the order of the text (flag reordered)")
            if any(row.how == "reordered" for row in reads[t].rows):
                mangled.add(t)
    decided = _decide_formats(reads, problems)
    cells: list[Cell] = []
    statuses = {}
    for table in STATUTORY_TABLES:
        if table not in regions:
            statuses[table] = "missing"
            continue
        tcells, status = _build_table(table, reads[table], regions[table], decided, problems, layout, damaged)
        cells.extend(tcells)
        statuses[table] = status
        if table in spilled:
            for c in tcells:
                if c.source_line in spilled[table]:
                    c.flags = c.flags + ("reordered",)
    if layout in _POSITIONAL and cells:
        by_table: dict[str, set[str]] = {}
        for (t, _), f in decided.items():
            if f:
                by_table.setdefault(t, set()).add(f)
        for t, status in statuses.items():   # table 四 has no row labels to decide its format: the report's
            if t not in by_table and status != "missing":
                by_table[t] = {f for f in decided.values() if f}
        mended, withdrawn = mend_cut_numbers(cells, by_table)
        problems += mended
        statuses.update(dict.fromkeys(withdrawn, "incomplete"))
        if mangled:
            problems += flag_failing_columns(cells, by_table, mangled)
        problems += flag_failing_rows(cells, by_table, _ONE_ROW_TABLES)
    used = sorted({f for f in decided.values() if f})
    template = None if not used else used[0] if len(used) == 1 else "hybrid"
    # the counts of the report row in one pass over the cells (11.8 → 5.4 µs a report: five passes before)
    flagged = inferred = unresolved = 0
    has_value = False
    for c in cells:
        if not has_value and c.value is not None:
            has_value = True
        if c.flags:
            flagged += 1
            inferred += "inferred" in c.flags
            unresolved += "unresolved" in c.flags
    if not regions:
        problems.append(coded("no statutory table found (no 二/三/四 section heading or table label)",
                              "no_statutory_table"))
    elif not has_value:
        problems.append(coded("no usable value in any statutory table", "no_statutory_table"))
    report.update({
        "template": template,
        "status": "parsed" if has_value else "unreadable",
        **{f"{t}_status": s for t, s in statuses.items()},
        "tables_found": [t for t in STATUTORY_TABLES if t in regions],
        "tables_complete": [t for t in STATUTORY_TABLES if statuses.get(t) == "complete"],
        "n_cells": len(cells), "n_flagged": flagged,
        "n_inferred": inferred,
        "n_unresolved": unresolved,
        "problems": [f"{report['source_file']}: {p}" for p in problems],
    })
    # an unreadable file's problems say why it is unreadable (the quarantine reads them): of the
    # identity's problems it keeps only the overrides used
    report["problems"] += [f"{report['source_file']}: {p}" for p in identity_problems
                           if report["status"] == "parsed" or p.startswith("identity override")]
    statements = (extract_statements(prose_lines(lines, [(r.start, r.end) for r in regions.values()]),
                                     report["report_year"]) if report["status"] == "parsed" else [])
    return ParsedReport(report, cells, statements)


# text whose cells are separated by position alone (extractor output, PDF pages): a number in it can
# have been cut by the extractor (transforms/cut_numbers.py)
_POSITIONAL = frozenset({"spaced", "line_cells", "one_line"})
# tables of one data row without a label (table 四): their values follow each other in the text
_ONE_ROW_TABLES = frozenset(t for t in STATUTORY_TABLES if all(
    [r.label for b in f.tables[t].blocks for r in b.rows] == [""] for f in FORMATS.values()))


def _reread_wrapped(table: str, toks: list[Tok], tr: TableRead, problems: list[str]) -> TableRead:
    """The fallback for tables whose normal reading left unknown labels or values with no row label
    (transforms/rejoin.py: labels wrapped over lines, group cells printed in pieces, rows printed
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
        if _placed(tr2) > _placed(tr) and _stray(tr2) <= _stray(tr) and \
                {id(r.entry) for r in tr.rows if r.entry} <= {id(r.entry) for r in tr2.rows if r.entry}:
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
    if _stray(tr) or any(r.doubt or not r.cells for r in tr.rows):
        tr = _reread_in_row_order(table, toks, reads, tr, problems)
    # text that needed this fallback was mangled by its extractor: a row whose values break its own
    # total may hold another row's values, wherever they were printed
    broken = broken_rows(table, tr.rows, frozenset(next(x.line for x in g if x.text) for g in tr.orphans
                                                    if any(x.text for x in g)))
    for r in tr.rows:
        if r.line in broken:
            r.doubt = broken[r.line]
    return tr


def _reread_in_row_order(table: str, toks: list[Tok], reads: list[TableRead], tr: TableRead,
                         problems: list[str]) -> TableRead:
    """The last fallback (transforms/row_order.py): values cut into the format's rows in order, each
    row checked by its identities; kept when it places more values in known rows."""
    got = by_row_order(table, toks, vocabulary(table), reads)
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


def _stray(tr: TableRead) -> int:
    return sum(1 for g in tr.orphans for x in g if x.text)


def _decide_formats(reads: dict[str, TableRead], problems: list[str]) -> dict[tuple[str, str], str | None]:
    """Format of every (table, block) from its own labels; undetermined blocks follow the others."""
    decided: dict[tuple[str, str], str | None] = {}
    for table, tr in reads.items():
        by_block: dict[str, list[RowRead]] = {}
        for r in tr.rows:
            by_block.setdefault(_block_key(r, table), []).append(r)
        for key, rows in by_block.items():
            if key == "?":
                continue
            cands = _formats_with_block(table, key)
            fmt, how = _choose(rows, table, cands, use_headers=table != "applications")
            if table == "applications" and tr.groups_as_rows:
                # a row printed as a group heading (（六）其他处理 with sub-rows) is the later format's shape
                grp = [f for f in cands if any(g.entry and g.entry.label in FORMATS[f].tables[table].blocks[0].group_labels
                                               for g in tr.groups_as_rows)]
                if len(grp) == 1:
                    fmt = grp[0]
            decided[(table, key)] = fmt
    known = [f for f in decided.values() if f]
    majority = max(set(known), key=known.count) if known else None
    for k, f in decided.items():
        if f is None:
            if majority:
                decided[k] = majority
                where = k[0] if k[0] == k[1] or k[1] in ("applications", "review_litigation") else f"{k[0]} {k[1]}"
                problems.append(f"format of {where} not printed in its labels; {majority} assumed")
    return decided


def _formats_with_block(table: str, code: str) -> list[str]:
    """Formats whose table has a block with this caption code (cached; FORMATS is fixed at import)."""
    hit = _FORMATS_WITH_BLOCK.get((table, code))
    if hit is None:
        hit = _FORMATS_WITH_BLOCK[(table, code)] = [
            f for f in FORMATS if any(b.code == code for b in FORMATS[f].tables[table].blocks)]
    return list(hit)


_FORMATS_WITH_BLOCK: dict[tuple[str, str], list[str]] = {}


def _ended_before_the_cut(r: RowRead, tr: TableRead, blk: Block, layout: str) -> bool:
    """A row printed whole on one line, one cell per column (blank cells as empty cells), with more of
    the table printed on a later line: the copy was cut after it, so it is not a cut row. Only in
    layouts that print blank cells (pipe and tab rows); elsewhere a blank cell cannot be told from a
    cut one."""
    if layout not in _BLANKS_PRINTED or len(r.cells) != len(blk.columns):
        return False
    lines = {t.line for t in r.cells}
    if len(lines) != 1:
        return False
    line = lines.pop()
    return (any(t.line > line for g in tr.orphans for t in g) or any(at > line for _, at in tr.unknown)
            or any(at > line for _, at, _ in tr.foreign) or any(at > line for _, at in tr.junk))


_BLANKS_PRINTED = frozenset({"pipe", "tsv"})


def _build_table(table: str, tr: TableRead, region: Region, decided, problems,
                 layout: str, damaged: frozenset[int] = frozenset()) -> tuple[list[Cell], str]:
    edge_padding = layout == "tsv"
    known_formats = [f for (t, _), f in decided.items() if f]
    default_fmt = max(set(known_formats), key=known_formats.count) if known_formats else None
    cells: list[Cell] = []
    # rows of a table with fixed rows (table 四): the data row is the orphan values
    fmt_any = FORMATS[default_fmt or next(iter(FORMATS))]
    blocks = fmt_any.tables[table].blocks
    fixed_row = len(blocks) == 1 and len(blocks[0].rows) == 1 and blocks[0].rows[0].label == ""
    data, ended_by_text, left_out = _data_row(table, tr) if fixed_row else ([], False, None)
    truncated = region.truncated and not ended_by_text  # text after its row: the table was not cut inside it
    complete = not truncated
    if truncated:
        problems.append(f"{table}: the copy is cut off inside the table (line {region.end + 1})")
    for text, line in tr.unknown:
        if len(match_key(text)) >= 2 and not vocabulary(table).is_header_noise(text):
            problems.append(f"{table}: unknown label {text!r} at line {line} ignored")
    for text, line in tr.junk:
        problems.append(f"{table}: line {line}: {text!r} is not a label of the format; not published")
    rows = list(tr.rows)
    if fixed_row:
        if left_out:
            problems.append(left_out)
        if not data:
            return [], "unreadable" if tr.rows or tr.orphans or region.end > region.start else "missing"
        rows = [RowRead("", data[0].line, None, "", None, [], data)]
    else:
        stray = [g for g in tr.orphans if any(x.text for x in g)]
        for g in stray:
            problems.append(f"{table}: {sum(1 for x in g if x.text)} value(s) with no row label at line {g[0].line} "
                            f"({' '.join(x.text for x in g if x.text)!r}) not published")
    if not rows:
        return [], "incomplete" if truncated else "unreadable"
    # map rows to (format, block, leaf)
    placed: list[tuple[RowRead, str, Block, Leaf, str]] = []
    seen: set[str] = set()
    for r in rows:
        if r.entry is None and r.label == "":
            fmt = default_fmt or next(iter(FORMATS))
            blk = FORMATS[fmt].tables[table].blocks[0]
            placed.append((r, fmt, blk, blk.rows[0], ""))
            continue
        bkey = _block_key(r, table)
        fmt = decided.get((table, bkey)) or default_fmt
        if fmt is None:
            problems.append(f"{table}: row {r.label!r} (line {r.line}) not published: format undetermined")
            complete = False
            continue
        if r.entry is None:  # provincial extra row under a caption
            cap = [b for f, b in (r.caption or []) if f == fmt]
            if not cap:
                problems.append(f"{table}: unknown row {r.label!r} at line {r.line} not published")
                continue
            blk = _block(fmt, table, cap[0])
            label = clean(r.label).translate(_FULLWIDTH)
            leaf = Leaf(path=blk.caption + SEP + label, label=label, code="extra", parent_path=blk.caption or "",
                        parent_code=blk.code, level=2 if blk.caption else 1, harmonised="extra")
            if leaf.path in seen:        # one address, one cell: a repeated extra row is not published
                problems.append(f"{table}: row {leaf.path!r} printed twice (line {r.line}); first kept")
                continue
            seen.add(leaf.path)
            placed.append((r, fmt, blk, leaf, "extra_row"))
            continue
        cand = None
        for c in r.entry.rows:
            if c.fmt == fmt:
                cand = c
                break
        if cand is None:
            problems.append(f"{table}: row {r.label!r} (line {r.line}) does not exist in format {fmt}; not published")
            complete = False
            continue
        if cand.leaf.path in seen:
            problems.append(f"{table}: row {cand.leaf.path!r} printed twice (line {r.line}); first kept")
            continue
        seen.add(cand.leaf.path)
        flag = cand.flag or r.how
        placed.append((r, fmt, _block(fmt, table, cand.block), cand.leaf, flag))
    # the last row of a cut-off copy may itself be cut: drop it rather than guess
    if truncated and placed:
        r, fmt, blk, leaf, _ = placed[-1]
        if sum(1 for t in r.cells if t.text) < len(blk.columns) and not _ended_before_the_cut(r, tr, blk, layout):
            problems.append(f"{table}: last row {leaf.path!r} cut off by the copy "
                            f"({sum(1 for t in r.cells if t.text)} of {len(blk.columns)} values); not published")
            placed.pop()
    # align: exact rows first, so the identities can use them to place the others
    known: dict[tuple[str, str], float] = {}
    aligned: dict[int, Aligned] = {}
    pending = []
    for i, (r, fmt, blk, leaf, flag) in enumerate(placed):
        hu = ({k: unit_from_label(h) for k, h in _header_units(r.headers, blk).items()}
              if blk.code in _AMOUNT_BLOCKS else {})
        if r.doubt:
            aligned[i] = _unresolved(blk.columns, r.line, r.doubt)
            problems.append(f"{table}: row {leaf.path!r} at line {r.line}: {r.doubt} → unresolved")
            continue
        a = align(r.cells, blk.columns, FORMATS[fmt], table, leaf.path, {}, hu, r.line, edge_padding)
        if a.status == "exact":
            aligned[i] = a
        else:
            pending.append((i, hu))
    if pending:
        for i, a in aligned.items():
            leaf, blk = placed[i][3], placed[i][2]
            for col, v in zip(blk.columns, a.values):
                if v[0] is not None:
                    known[(leaf.path, col.path)] = v[0]
    for i, hu in pending:
        r, fmt, blk, leaf, flag = placed[i]
        a = align(r.cells, blk.columns, FORMATS[fmt], table, leaf.path, known, hu, r.line, edge_padding)
        aligned[i] = a
        problems.append(f"{table}: row {leaf.path or '(data row)'!r} at line {r.line}: {a.reason} → {a.status}")
        if a.status == "inferred":
            for col, v in zip(blk.columns, a.values):
                if v[0] is not None:
                    known[(leaf.path, col.path)] = v[0]
    dims_spec = FORMATS[next(iter(FORMATS))].tables[table].dimensions
    any_unresolved = False
    add = cells.append
    repaired = _repaired_rows([p[0] for p in placed], tr, damaged, layout == "html") if damaged else set()
    for i, (r, fmt, blk, leaf, flag) in enumerate(placed):
        a = aligned[i]
        any_unresolved |= a.status == "unresolved"
        row_path = leaf.path
        also = (flag,) if flag else ()
        if r.how == "reordered" and flag != "reordered":
            also += ("reordered",)
        if i in repaired:
            also += ("decode_repaired",)
        for (col_path, dims), (v, raw, flags, unit, line) in zip(_row_addresses(dims_spec, blk, leaf), a.values):
            # Cell(...) with its fields set here: the dataclass __init__ call was a third of the time per cell
            cell = _new_object(Cell)
            cell.table, cell.row_path, cell.column_path = table, row_path, col_path
            cell.value, cell.raw_value, cell.unit = v, raw, unit
            cell.flags, cell.source_line, cell.dims = flags + also if also else flags, line, dims
            cell.confidence = None
            add(cell)
    # completeness against the format(s) the blocks were read in
    present = {leaf.path for _, _, blk, leaf, _ in placed if blk.columns}  # = the cells' row paths
    expected_blocks = _expected_blocks(table, decided, default_fmt)
    missing = [leaf.path for blk in expected_blocks for leaf in blk.rows if leaf.path not in present]
    if missing:
        complete = False
        if not truncated:
            problems.append(f"{table}: {len(missing)} row(s) not found: {missing[:4]}{' …' if len(missing) > 4 else ''}")
    if not any(c.value is not None for c in cells):
        return cells, "incomplete" if truncated else "unreadable"
    return cells, "complete" if complete and not any_unresolved else "incomplete"


def _repaired_rows(rows: list[RowRead], tr: TableRead, damaged: frozenset[int], html: bool) -> set[int]:
    """Indices of the rows read from a line where the decoder replaced invalid bytes (their label's
    line or a cell's). An HTML row carries its <tr>'s first line, so a damaged line also hits the
    rows of the <tr> that starts last at or before it: a number cut by a bad byte is never published
    unflagged."""
    out = {i for i, r in enumerate(rows) if r.line in damaged or any(t.line in damaged for t in r.cells)}
    if html:
        starts = sorted({r.line for r in tr.rows} | {t.line for r in tr.rows for t in r.cells}
                        | {line for _, line in tr.unknown} | {t.line for g in tr.orphans for t in g})
        for line in damaged:
            k = bisect_right(starts, line) - 1
            if k >= 0:
                out.update(i for i, r in enumerate(rows)
                           if r.line == starts[k] or any(t.line == starts[k] for t in r.cells))
    return out


_DATE_WORD = re.compile(r"^[年月日号號]")


def _data_row(table: str, tr: TableRead) -> tuple[list[Tok], bool, str | None]:
    """The values of a table whose one row has no label (table 四), from its region's own lines
    → (tokens, whether text of the region follows the row, the problem naming numbers left out).

    The row starts at the first group of printed values after the table's last header label and
    runs, blanks in between kept, until text the table does not know: prose after the table (list
    items, a later heading, a paragraph) ends it, and its numbers are never values. A single number
    opening a line of such text is part of it ('1、…', '2024年…'), as is a single number on the line
    before text that goes on with 年/月/日 (a year wrapped onto its own line): neither is a value."""
    groups = tr.orphans
    prose = set()
    for i, line, text in tr.foreign:
        if i > 0:
            printed = [x for x in groups[i - 1] if x.text]
            if len(printed) == 1 and (printed[0].line == line or _DATE_WORD.match(text)):
                prose.add(i - 1)
    filled = [i for i, g in enumerate(groups) if i not in prose and any(x.text for x in g)]
    if not filled:
        return [], False, None
    tail = [i for i in filled if i >= tr.after_last_label]
    start = tail[0] if tail else filled[0]
    first = start  # blank cells printed before the first value keep their places
    while first - 1 >= (tr.after_last_label if tail else 0) and first - 1 not in prose \
            and not any(x.text for x in groups[first - 1]):
        first -= 1
    stop = next(((i, line, text) for i, line, text in tr.foreign if i > start), None)
    end = len(groups) if stop is None else stop[0]
    left = [x for g in groups[end:] for x in g if x.text]
    left_out = (f"{table}: the table ends at the text at line {stop[1]} ({stop[2][:20]!r}); {len(left)} "
                f"number(s) from line {left[0].line} on are not table values") if left else None
    last = max(i for i in filled if i < end)  # ≥ start; blank groups after it are not the row's
    return [t for g in groups[first:last + 1] for t in g], stop is not None, left_out


def _expected_blocks(table: str, decided, default_fmt) -> list[Block]:
    if default_fmt is None:
        return []
    out = []
    for blk in FORMATS[default_fmt].tables[table].blocks:
        fmt = decided.get((table, blk.code)) or default_fmt
        match = [b for b in FORMATS[fmt].tables[table].blocks if b.code == blk.code]
        out.append(match[0] if match else blk)
    return out


def _header_units(headers: list[str], blk: Block) -> dict[int, str]:
    """Header text naming an amount column, by column index (for units printed in the header)."""
    out = {}
    for i, col in enumerate(blk.columns):
        if col.kind != "amount":
            continue
        k = match_key(col.label)[:4]
        for h in headers:
            if k and k in match_key(h):
                out[i] = h
    return out


_ROW_ADDRESSES: dict[tuple, list] = {}


def _row_addresses(spec: dict, blk: Block, leaf: Leaf) -> list[tuple[str, dict]]:
    """(column path, tidy dims) of each cell of one row, cached: the same for every report."""
    key = (id(spec), id(blk), leaf.path, leaf.label)  # same caption, other format ⇒ other columns
    hit = _ROW_ADDRESSES.get(key)
    if hit is None:
        if len(_ROW_ADDRESSES) > 20_000:
            _ROW_ADDRESSES.clear()
        hit = _ROW_ADDRESSES[key] = [(col.path, _dims(spec, blk, leaf, col)) for col in blk.columns]
    return hit


_DIMS_CACHE: dict[tuple, dict] = {}


def _dims(spec: dict, blk: Block, leaf: Leaf, col: Leaf) -> dict[str, str | None]:
    """Tidy dimensions of one cell (shared, read-only dicts: the same address gives the same dims)."""
    key = (id(spec), blk.code, leaf.path, leaf.label, col.path)
    hit = _DIMS_CACHE.get(key)
    if hit is None:
        hit = _DIMS_CACHE[key] = _make_dims(spec, blk, leaf, col)
        if len(_DIMS_CACHE) > 100_000:
            _DIMS_CACHE.clear()
    return hit


def _make_dims(spec: dict, blk: Block, leaf: Leaf, col: Leaf) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name, source in spec.items():
        if source == "block":
            label, code = blk.caption, blk.code
        elif source == "row_leaf":
            label, code = leaf.label, leaf.code
        elif source == "column_leaf":
            label, code = col.label, col.code
        elif source == "column_parent":
            label, code = col.parent_path, col.parent_code
        else:  # row_parent
            label, code = leaf.parent_path, leaf.parent_code
        out[name] = label
        out[f"{name}_code"] = code
    out.update(cell_place(leaf, col))   # the cell's place in its format's tree, once per address
    return out

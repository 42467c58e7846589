"""A table read in the format's row order, when the text lost where its rows' labels are.

A PDF extractor's reading order (`pdftotext` without -layout) prints the label column and the value
columns as separate flows: labels wrapped over lines and printed long after their values, values one
a line, a row's values at the bottom of its cells under the next row's label. The labels cannot say
which values are whose; the values, though, still come row after row, in the order of the format's
rows, as the table prints them.

So when a table's values are exactly (rows of the format's table) × (its columns), they are cut into
rows in the format's order, and each row is kept only when its own identities hold (the total of the
row is the sum of its parts, or the printed total is that sum cut short by the extractor,
transforms/parse/cut_numbers.py): a row whose values were printed out of order breaks them and is left
unresolved. A row whose label was printed right before exactly these values is read as normal; the
others are flagged `reordered` (placed by the order of the text). A run of rows that break their
totals because the extractor printed one of their value columns apart (the first column with the
labels, after the other columns) is read again with that column put back, when exactly one column
makes every row's and every column's total hold. A value moved between rows or columns that keeps
the rows' totals breaks a column's total: the engine then flags that column's cells
(flag_failing_columns); and a table no reading accounts for has the rows whose values sit on lines
of their own flagged (mark_placed_by_order). A table with values missing is never read this way.

Table 二 has no identities: its captioned blocks are read by the geometry of the stream alone
(by_block_order: the first value columns printed with the labels, or the table printed column after
column under its headers), every row so placed flagged reordered.
"""
from __future__ import annotations

import re
from functools import lru_cache
from itertools import takewhile
from typing import Any

from transforms.parse.cut_numbers import cut_value
from transforms.formats import FORMATS, Block
from transforms.labels import match_key
from transforms.parse.tokens import Tok
from transforms.parse.rejoin import _physical_lines, is_page_number
from transforms.parse.values import parse_value
from transforms.parse.vocab import Vocabulary

MIN_NUMBERED = 3    # a header of numbered columns (数据1 数据2 数据3 …) has at least this many


def _furniture(line: list[Tok]) -> bool:
    """A page number or a running head/foot printed inside the table ('— 5 —', 'Page 1', 'Sheet1'):
    its only words are Latin, or it is a page number."""
    if len(line) > 5:
        return False
    words = [t.text for t in line if not t.is_value]
    return is_page_number(" ".join(t.text for t in line)) or (
        bool(words) and all(w.isascii() and w.isalpha() for w in words))


def _numbered_header(toks: list[Tok]) -> set[int]:
    """ids of the numbers of a header of numbered columns: the same word followed by 1, 2, 3, …"""
    out: set[int] = set()
    i = 0
    while i + 1 < len(toks):
        word, num = toks[i], toks[i + 1]
        if not word.is_value and num.is_value and num.text == "1":
            k = i
            run: list = []
            while k + 1 < len(toks) and toks[k].text == word.text and toks[k + 1].is_value \
                    and toks[k + 1].text == str(len(run) + 1):
                run.append(toks[k + 1])
                k += 2
            if len(run) >= MIN_NUMBERED:
                out.update(id(t) for t in run)
                i = k
                continue
        i += 1
    return out


def _holds(terms: list[tuple[int, int]], nums: list, raws: list[str], shortest_cut: int = 2
           ) -> tuple[bool, dict[int, float]]:
    """An identity of one row (slots, signs) on its printed numbers → (holds, cut numbers restored):
    it holds as printed, or when one printed number of `shortest_cut` digits or more is the number it
    needs cut short."""
    if any(nums[s] is None for s, _ in terms):
        return False, {}
    res = sum(sign * nums[s] for s, sign in terms)
    if abs(res) <= 1e-6:
        return True, {}
    cands = [(s, nums[s] - sign * res) for s, sign in terms]
    cands = [(s, need) for s, need in cands if need > nums[s] and len(raws[s]) >= shortest_cut and cut_value(raws[s], need)]
    if len(cands) == 1:
        return True, dict(cands)
    return False, {}


@lru_cache(maxsize=64)
def _row_identities(fmt: str, table: str, block: int) -> tuple[tuple[tuple[int, int], ...], ...]:
    """The identities within one row of a block, as ((column slot, sign), …)."""
    f = FORMATS[fmt]
    col = {c.path: i for i, c in enumerate(f.tables[table].blocks[block].columns)}
    return tuple(tuple([(col[p], 1) for p in i.lhs] + [(col[p], -1) for p in i.rhs]) for i in f.identities
                 if i.table == table and i.for_each == "row" and all(p in col for p in i.lhs + i.rhs))


def broken_rows(table: str, rows: list, stray_lines: frozenset[int] = frozenset()) -> dict[int, str]:
    """Rows whose values, printed on lines of their own (placed by the order of the text), break the
    row's own identity in every format the label can be read in, and not by a cut number → their
    lines and why: values of two rows mixed break the row's total. A row printed on its label's line
    is read as printed (its total, if wrong, is the publisher's), unless the row above it printed too
    few values or values with no row (first lines: stray_lines) follow right after it: a neighbour's
    values spilled onto its line ('19 0 0 0 0   0 180' / '0 19') break its total just the same."""
    out: dict[int, str] = {}
    above = None
    for r in rows:
        r_above, above = above, r
        if r.entry is None or r.doubt:
            continue
        printed = [t for t in r.cells if t.text]
        if all(t.line == r.line for t in printed) and not (
                printed and (_short_above(table, r_above) or any(0 < s - printed[-1].line <= 2 for s in stray_lines))):
            continue                       # printed on its label's line: read as printed
        if _breaks_its_total(table, r, printed, blank_holds=True):
            out[r.line] = (f"its values (lines {printed[0].line}–{printed[-1].line}), placed by the order of the "
                           "text, break the row's total: another row's values may be among them")
    out.update(_short_blocks(table, rows, out))
    return out


def spilled_tail(table: str, r) -> int:
    """How many of a row's last values, on a line of their own after its other values, to give back
    to the values with no row printed right after it: the row read as many values as its columns and
    breaks its own total in every format its label can be read in, so its last value is taken to be
    the next values' first (a reading-order extract prints a row's cells on lines of their own; the
    row is then aligned with what it keeps, and its cells flagged). 0 when the row holds or is short."""
    printed = [t for t in r.cells if t.text]
    if r.entry is None or len(printed) < 2 or len(printed) != len(r.cells):
        return 0
    last = printed[-1]
    if last.line == r.line or printed[-2].line == last.line:
        return 0
    return 1 if _breaks_its_total(table, r, printed, blank_holds=False) else 0


def _breaks_its_total(table: str, r, printed: list, blank_holds: bool) -> bool:
    """Whether the row's printed values, one per column, break one of its own identities in every
    format its label can be read in (and there is such a format). ``blank_holds``: an identity with a
    blank term is not evaluable, so it does not break."""
    verdicts = []
    for c in r.entry.rows:
        ids = _row_identities(c.fmt, table, c.block)
        if not ids or len(printed) != len(FORMATS[c.fmt].tables[table].blocks[c.block].columns):
            continue
        nums = [parse_value(t.text).value for t in printed]
        raws = [t.text for t in printed]
        verdicts.append(all(_holds(list(terms), nums, raws)[0]
                            or (blank_holds and any(nums[s] is None for s, _ in terms)) for terms in ids))
    return bool(verdicts) and not any(verdicts)


def shift_row_ends(table: str, rows: list, orphans: list[list]) -> list:
    """Rows whose last cells the extractor printed on the next row's line ('2.没有… 177 3 0 0 0' /
    '3.补正后… 19 0 0 0 0   0 180' / '0 19'): a row short of k values, the next row with one value
    per column that breaks its own total, and k values with no row right after it. When the short
    row's values followed by the next row's last k, and the next row's first values followed by the k
    stray values, both hold every identity of their row (the next row as printed does not), the values
    are moved so (both rows then flagged reordered). → the pairs of rows changed; the stray group is
    emptied in place (the groups' indices are kept)."""
    changed = []
    for a, b in zip(rows, rows[1:]):
        if a.entry is None or b.entry is None or a.doubt or b.doubt:
            continue
        width = _width(table, b.entry)
        if width is None or _width(table, a.entry) != width or any(not t.text for t in a.cells + b.cells):
            continue
        k = width - len(a.cells)
        if not 0 < k < len(b.cells) or len(b.cells) != width:
            continue
        end = b.cells[-1].line
        g = next((g for g in orphans if g and g[0].line > end), None)
        if g is None or g[0].line - end > 2 or len(g) != k or any(not t.text for t in g):
            continue
        shifted_a, shifted_b = a.cells + b.cells[-k:], b.cells[:-k] + g
        if _all_hold(table, b.entry, b.cells) is False and _all_hold(table, a.entry, shifted_a) \
                and _all_hold(table, b.entry, shifted_b):
            a.cells, b.cells = shifted_a, shifted_b
            g.clear()
            changed.append((a, b))
    return changed


def fill_short_row(table: str, rows: list, orphans: list[list]):
    """The values with no row (all of them) are the missing values of a row printed apart from them
    ('（二）部分公开… 16' after the table's other rows; its other six values right after row （一）'s):
    the row's printed values then the stray ones, or the stray ones then the printed, hold every
    identity of the row, and no other row short of that many values, nor the other order, does so.
    Then the row takes them (the stray groups are emptied in place) → the row, else None."""
    stray = [t for g in orphans for t in g if t.text]
    if not stray:
        return None
    found = []
    for r in rows:
        if r.entry is None or r.doubt:
            continue
        width = _width(table, r.entry)
        printed = [t for t in r.cells if t.text]
        if width is None or len(printed) + len(stray) != width or len(printed) != len(r.cells):
            continue
        for cand in (printed + stray, stray + printed):
            if _all_hold(table, r.entry, cand):
                found.append((r, cand))
    if len(found) != 1:
        return None
    r, r.cells = found[0]
    for g in orphans:
        g.clear()
    return r


def _width(table: str, entry) -> int | None:
    """The number of columns of the row in every format its label can be read in (None if they differ)."""
    widths = {len(FORMATS[c.fmt].tables[table].blocks[c.block].columns) for c in entry.rows}
    return widths.pop() if len(widths) == 1 else None


def _all_hold(table: str, entry, toks: list) -> bool | None:
    """Every identity of the row holds exactly on these values in some format the label can be read
    in (None: no format has identities for a row of that many values)."""
    parsed = [parse_value(t.text).value for t in toks]
    if any(v is None for v in parsed):
        return False
    nums = [float(v) for v in parsed if v is not None]
    verdicts = []
    for c in entry.rows:
        ids = _row_identities(c.fmt, table, c.block)
        if not ids or len(toks) != len(FORMATS[c.fmt].tables[table].blocks[c.block].columns):
            continue
        verdicts.append(all(abs(sum(sign * nums[s] for s, sign in terms)) <= 1e-6 for terms in ids))
    return any(verdicts) if verdicts else None


def _short_above(table: str, r) -> bool:
    """The row printed some values but fewer than its block has columns in every format."""
    if r is None or r.entry is None:
        return False
    n = sum(1 for t in r.cells if t.text)
    return 0 < n < min(len(FORMATS[c.fmt].tables[table].blocks[c.block].columns) for c in r.entry.rows)


def _short_rows(table: str, rows: list) -> list:
    """Rows of a captioned block that printed some but fewer values than the block's columns."""
    out = []
    for r in rows:
        if r.entry is None or not r.caption:
            continue
        n = sum(1 for t in r.cells if t.text)
        if n:
            widths = {len(FORMATS[c.fmt].tables[table].blocks[c.block].columns) for c in r.entry.rows
                      if (c.fmt, c.block) in r.caption}
            if widths and n < min(widths):
                out.append(r)
    return out


def _short_blocks(table: str, rows: list, done: dict[int, str]) -> dict[int, str]:
    """In a captioned block where a row printed some but fewer values than the block's columns, the
    text printed the block's labels and values apart (规章 3 / 行政规范性文件 564 / 5 / 74 / …): the
    other rows whose values sit on lines of their own may hold that row's values → their lines and why."""
    out: dict[int, str] = {}
    by_caption: dict[tuple, list] = {}
    for r in rows:
        if r.entry is not None and r.caption:
            by_caption.setdefault(tuple(r.caption), []).append(r)
    for block_rows in by_caption.values():
        short = _short_rows(table, block_rows)
        if not short:
            continue
        for r in block_rows:
            if r in short or r.line in done or r.doubt:
                continue
            if any(t.line != r.line for t in r.cells if t.text):
                out[r.line] = (f"row {short[0].label!r} (line {short[0].line}) of its block printed fewer values "
                               "than its columns, and this row's values sit on lines of their own: which are "
                               "whose is not printed")
    return out


def _row_values(row_ids, chunk: list[Tok]) -> list | None:
    """The row's numbers when every identity within it holds, as printed or with a cut number
    restored (transforms/parse/cut_numbers.py), else None."""
    nums = [parse_value(t.text).value for t in chunk]
    raws = [t.text for t in chunk]
    for terms in row_ids:
        holds, restored = _holds(terms, nums, raws)
        if not holds:
            return None
        for s, v in restored.items():
            nums[s] = v
    return nums


def _regroup(chunks: list[list[Tok]], rows: dict[int, list], row_ids, column_ids) -> dict[int, list[Tok]]:
    """Runs of rows whose values break their identities, read again as an extractor prints a column
    of a block of rows apart from the rest (the first value column printed with the labels, after the
    other columns): the run's values as its rows without column j, then column j of each row. Kept
    when, for one j, every row of the run then holds and so does every identity across rows that
    can be evaluated → the rows' values by row index. `rows`: the numbers of the rows that hold."""
    out: dict[int, list[Tok]] = {}
    i = 0
    while i < len(chunks):
        if i in rows:
            i += 1
            continue
        k = i
        while k < len(chunks) and k not in rows:
            k += 1
        flat = [t for ch in chunks[i:k] for t in ch]
        n, w = k - i, len(chunks[i])
        found = []
        for j in range(w):
            rest, column = flat[:n * (w - 1)], flat[n * (w - 1):]
            cand = [rest[r * (w - 1):r * (w - 1) + j] + [column[r]] + rest[r * (w - 1) + j:(r + 1) * (w - 1)]
                    for r in range(n)]
            vals = [_row_values(row_ids, row) for row in cand]
            if any(v is None for v in vals):
                continue
            known = {**rows, **{i + r: v for r, v in enumerate(vals)}}
            if all(any(x not in known for x, _ in terms)
                   or abs(sum(sign * known[x][c] for x, sign in terms)) <= 1e-6  # type: ignore[index]
                   for terms, c in column_ids):
                found.append(cand)
        if found and all([[t.text for t in row] for row in f] == [[t.text for t in row] for row in found[0]]
                         for f in found):
            out.update({i + r: row for r, row in enumerate(found[0])})
        i = k
    return out


def _rotated(chunks: list[list[Tok]], rows: dict[int, list], row_ids, column_ids) -> dict[int, list[Tok]]:
    """Rows whose values break their identities, read again as an extractor prints a row's last cells
    above its first ones (Chromium's PDF: cells of a wrapped row printed at their own heights, '0 318'
    above '315 3 0 0 0'): the row's values turned round. Kept when exactly one turn makes every
    identity of the row hold, and every identity across rows that can be evaluated holds with it →
    the rows' values by row index. `rows`: the numbers of the rows that hold."""
    out: dict[int, list[Tok]] = {}
    for i, ch in enumerate(chunks):
        if i in rows or len(ch) < 2:
            continue
        found = []
        for k in range(1, len(ch)):
            cand = ch[k:] + ch[:k]
            vals = _row_values(row_ids, cand)
            if vals is None:
                continue
            known = {**rows, i: vals}
            if all(any(x not in known for x, _ in terms)
                   or abs(sum(sign * known[x][c] for x, sign in terms)) <= 1e-6  # type: ignore[index]
                   for terms, c in column_ids):
                found.append(cand)
        if len(found) == 1:
            out[i] = found[0]
    return out


def _unfused(values: list[Tok]) -> list[Tok]:
    """Values whose digits an extractor ran together, told by their leading zero ('0 002' for
    0 / 0 / 0 / 2: no table prints a count with a leading zero): each leading zero is a cell of its
    own, the rest one number."""
    if not any(len(t.text) > 1 and t.text[0] == "0" and t.text.isdigit() for t in values):
        return values
    out: list[Tok] = []
    for t in values:
        text = t.text
        if len(text) > 1 and text[0] == "0" and text.isdigit():
            rest = text.lstrip("0")
            out += [Tok("0", t.line, True) for _ in range(len(text) - len(rest))]
            if rest:
                out.append(Tok(rest, t.line, True))
        else:
            out.append(t)
    return out


def _same_rows(fits: list, n_values: int) -> bool:
    """Several formats fit a cut table: they read it alike when the rows its values reach, the columns
    and the row identities are the same in each."""
    def shape(fit) -> tuple:
        _, blk, row_ids = fit
        w = len(blk.columns)
        return ([leaf.path for leaf in blk.rows[:-(-n_values // w)]], [c.path for c in blk.columns], row_ids)
    return len(fits) > 1 and all(shape(f) == shape(fits[0]) for f in fits[1:])


def _printed_paths(reads: list, fmt: str) -> set[str | None]:
    """The rows of a format whose labels the earlier readings found (None for a label not of it; a
    label that is a group heading in this format is no row of it)."""
    out: set[str | None] = set()
    for tr in reads:
        for r in tr.rows:
            if r.entry is not None:
                path = next((c.leaf.path for c in r.entry.rows if c.fmt == fmt), None)
                if path is not None or not r.entry.also_group:
                    out.add(path)
    return out


def by_row_order(table: str, toks: list[Tok], vocab: Vocabulary, reads: list, cut: bool = False
                 ) -> tuple[list[Tok], set[int], dict[int, str], str] | None:
    """Tokens of the table's rows in the format's order (label, its values, row break) → (tokens,
    lines of the rows placed by the order of the text, lines of the rows left unresolved → why, a
    summary), or None when the table cannot be read this way. `reads`: earlier readings of the table
    (parse.rows TableReads): a row they read with exactly its values had its label printed before them.
    `cut`: the copy stops inside the table; its values then fill the format's first rows, the last
    perhaps in part, when the labels printed are exactly those rows (a row left blank would leave
    one label more than the values fill)."""
    lines = [ln for ln in _physical_lines(toks) if not _furniture(ln)]
    flat = [t for ln in lines for t in ln]
    header = _numbered_header(flat)
    if all(len(f.tables[table].blocks) > 1 for f in FORMATS.values()):
        return by_block_order(table, [t for t in flat if id(t) not in header], vocab)
    values = _unfused([t for t in flat if t.is_value and id(t) not in header])
    if not values:
        return None
    fits = []
    for name, fmt in FORMATS.items():
        blocks = fmt.tables[table].blocks
        if len(blocks) != 1 or not blocks[0].columns:
            continue
        blk = blocks[0]
        col = {c.path: i for i, c in enumerate(blk.columns)}
        row_ids = [[(col[p], 1) for p in i.lhs] + [(col[p], -1) for p in i.rhs] for i in fmt.identities
                   if i.table == table and i.for_each == "row" and all(p in col for p in i.lhs + i.rhs)]
        if not row_ids:
            continue
        size, w = len(blk.rows) * len(blk.columns), len(blk.columns)
        if size == len(values) or cut and len(values) < size and \
                _printed_paths(reads, name) == {leaf.path for leaf in blk.rows[:-(-len(values) // w)]}:
            fits.append((name, blk, row_ids))   # a cut table's labels: exactly the rows its values fill
    if len(fits) != 1 and not _same_rows(fits, len(values)):
        return None
    name, blk, row_ids = fits[0]
    def path_of(entry) -> str | None:
        return next((c.leaf.path for c in entry.rows if c.fmt == name), None)

    # rows read by the earlier readings; a label that is a group heading in this format ((六)其他处理
    # of 2021, a row of 2019) is no row of it
    printed = [r for tr in reads for r in tr.rows if r.entry is not None
               and not (r.entry.also_group and path_of(r.entry) is None)]
    leaves = {leaf.path for leaf in blk.rows}
    if any(path_of(r.entry) not in leaves for r in printed):
        return None                        # a label of another format or table: not this table's rows
    named = {path_of(r.entry) for r in printed}
    w = len(blk.columns)
    n_rows = -(-len(values) // w)              # the rows the values reach (the last perhaps in part)
    if 2 * len(named) < min(n_rows, len(blk.rows)):
        return None                        # too few of its labels printed to say it is this table
    chunks = [values[i * w:(i + 1) * w] for i in range(n_rows)]
    full = chunks if len(chunks[-1]) == w else chunks[:-1]
    numbers = {i: v for i, ch in enumerate(full) if (v := _row_values(row_ids, ch)) is not None}
    accepted = set(numbers)
    index = {leaf.path: i for i, leaf in enumerate(blk.rows)}
    column_ids = [([(index[p], 1) for p in ident.lhs] + [(index[p], -1) for p in ident.rhs], c)
                  for ident in FORMATS[name].identities
                  if ident.table == table and ident.for_each == "column" and all(p in index for p in ident.lhs + ident.rhs)
                  for c in range(len(blk.columns))]
    regrouped = _regroup(full, numbers, row_ids, column_ids)
    held = dict(numbers)
    for i, ch in regrouped.items():
        if (v := _row_values(row_ids, ch)) is not None:
            held[i] = v
    regrouped.update(_rotated(full, held, row_ids, column_ids))
    anchored = set()
    for i, leaf in enumerate(blk.rows[:n_rows]):
        ids = [id(t) for t in chunks[i]]
        if i in accepted and any(path_of(r.entry) == leaf.path and r.how != "reordered"
                                 and [id(t) for t in r.cells if t.text] == ids for r in printed):
            anchored.add(i)
    for i, ch in regrouped.items():
        chunks[i] = ch
        accepted.add(i)
    if n_rows < len(blk.rows) and len(accepted) < len(full):
        return None                        # a cut table has no column totals: one broken row may mean all shifted
    out: list[Tok] = []
    reordered: set[int] = set()
    doubt: dict[int, str] = {}
    used: set[int] = set()
    for i, leaf in enumerate(blk.rows[:n_rows]):
        m = vocab.match(leaf.label)
        if m is None or m.entry.kind != "row" or path_of(m.entry) != leaf.path:
            return None
        own = [r.line for r in printed if path_of(r.entry) == leaf.path]
        line = next((n for n in own[:1] + [t.line for t in chunks[i]] if n not in used), None)
        if line is None:
            return None
        used.add(line)
        out += [Tok("", line, False, 2), Tok(leaf.label, line, False), *chunks[i], Tok("", line, False, 2)]
        span = f"{min(t.line for t in chunks[i])}–{max(t.line for t in chunks[i])}"
        if len(chunks[i]) < w:
            reordered.add(line)            # the row the copy cut: short, left to the reading of cut copies
        elif i not in accepted:
            doubt[line] = (f"the values the format's row order gives it (lines {span}) break its identities: "
                           "printed out of order")
        elif i not in anchored:
            reordered.add(line)
    what = f"{len(blk.rows)} rows" if n_rows == len(blk.rows) else f"the first {n_rows} of its {len(blk.rows)} rows (the copy is cut)"
    note = (f"{table}: labels and values printed apart; {len(values)} values read as {what} × {w} "
            f"columns in the order of the {name} format's rows, each row checked by its identities")
    return out, reordered, doubt, note


UNIT_WORDS = frozenset({"元", "万元"})


def _column_keys(leaf) -> set[str]:
    return {match_key(x) for x in (leaf.label, *leaf.aliases, *leaf.legacy_aliases)}


def _block_format(captions: list, rows: list, texts: list[str], table: str) -> str | None:
    """The one format whose blocks hold every caption printed and every row under its caption;
    several: the one whose column labels the printed header text names most."""
    fits = [f for f in FORMATS
            if all(any(cf == f for cf, _ in e.captions) for e in captions)
            and all(any(c.fmt == f and c.block == b[f] for c in e.rows) for e, b in rows if f in b)
            and all(f in b for _, b in rows)]
    if len(fits) <= 1:
        return fits[0] if fits else None
    keys = {match_key(t) for t in texts}
    score = {f: sum(bool(_column_keys(c) & keys) for blk in FORMATS[f].tables[table].blocks for c in blk.columns)
             for f in fits}
    best = max(score.values())
    top = [f for f in fits if score[f] == best]
    return top[0] if len(top) == 1 else None


def by_block_order(table: str, flat: list[Tok], vocab: Vocabulary
                   ) -> tuple[list[Tok], set[int], dict[int, str], str] | None:
    """A table of captioned blocks without identities (table 二) whose labels and values a reading-order
    extractor printed apart, read by the geometry of the stream alone: under each caption its rows'
    labels in the format's order, and either
      * the first j value columns printed with the labels (each label followed by exactly j values),
        the other columns after the last label, row after row (j = 0: every value after the labels), or
      * every caption and label first, then column after column, each column's header followed by
        exactly one value per row of its block, the headers in the format's order.
    Nothing checks such values but that geometry, so every row placed this way, and every row whose
    values sit on lines of their own in such text (a value moved between blocks keeps the geometry), is
    flagged reordered;
    a block whose labels are not exactly its rows in order, or whose values do not fill rows ×
    columns, leaves the table to the other readings (None)."""
    items: list[tuple[str, Tok, Any]] = []         # (c)aption / (r)ow / (v)alue / (t)ext
    for t in flat:
        if t.is_value:
            items.append(("v", t, None))
            continue
        m = vocab.match(t.text)
        e = m.entry if m else None
        if items and items[-1][0] == "v" and t.text in UNIT_WORDS:
            v = items[-1][1]                        # '184719 元': the unit printed after its number
            items[-1] = ("v", Tok(v.text + t.text, v.line, True), None)
            continue
        items.append(("c" if e is not None and e.kind == "caption" else "r" if e is not None and e.kind == "row"
                      else "t", t, e))
    captions = [e for k, _, e in items if k == "c"]
    if not captions:
        return None
    rows: list = []
    current: dict[str, int] = {}
    for k, _, e in items:
        if k == "c":
            current = dict(e.captions)
        elif k == "r":
            rows.append((e, current))
    fmt = _block_format(captions, rows, [t.text for k, t, _ in items if k == "t"], table)
    if fmt is None:
        return None
    blocks = FORMATS[fmt].tables[table].blocks
    # segments: a caption, its printed header text, its labels, each label's values
    segs: list[dict] = []
    for k, t, e in items:
        if k == "c":
            b = dict(e.captions)[fmt]
            segs.append({"caption": t, "index": b, "block": blocks[b], "text": [], "rows": [], "headers": []})
        elif not segs:
            if k != "t":
                return None                         # values or rows before the first caption
        elif k == "r":
            segs[-1]["rows"].append([t, e, []])
        elif k == "v":                              # before the block's first label: its header text's
            (segs[-1]["rows"][-1][2] if segs[-1]["rows"] else segs[-1]["text"]).append(t)
        else:                                       # header words, a wrapped label's rest, later headers
            (segs[-1]["rows"][-1][2] if segs[-1]["rows"] else segs[-1]["text"]).append(t)
    for sg in segs:
        blk: Block = sg["block"]
        leaves = [next((c.leaf for c in e.rows if c.fmt == fmt and c.block == sg["index"]), None)
                  for _, e, _ in sg["rows"]]
        if [lf.path if lf else None for lf in leaves] != [lf.path for lf in blk.rows]:
            return None
    got = _interleaved(segs) or _column_after_column(segs) or _around_labels(segs)
    if got is None:
        return None
    out: list[Tok] = []
    reordered: set[int] = set()
    used: set[int] = set()
    for sg, (cells, moved) in zip(segs, got):
        out.append(sg["caption"])
        out += [t for t in sg["text"] if not t.is_value] + sg["headers"]
        for (label, _, _), leaf, vals in zip(sg["rows"], sg["block"].rows, cells):
            if label.line in used:
                return None
            used.add(label.line)
            out += [Tok("", label.line, False, 2), Tok(leaf.label, label.line, False), *vals,
                    Tok("", label.line, False, 2)]
            if moved or any(t.line != label.line for t in vals):
                reordered.add(label.line)       # placed by the order of the text, not by its line
    if not reordered:
        return None
    note = (f"{table}: labels and values printed apart; each block's values read in the {fmt} format's order of "
            "its rows and columns by where the extractor printed them (flag reordered)")
    return out, reordered, {}, note


def _interleaved(segs: list[dict]) -> list[tuple[list[list[Tok]], bool]] | None:
    """Each block: the labels each followed by its first j values, the other columns after the last
    label row after row → (values by row, placed by the order of the text) per block."""
    out = []
    for sg in segs:
        r, c = len(sg["block"].rows), len(sg["block"].columns)
        if any(t.is_value for t in sg["text"]):
            return None
        k = [[t for t in vals if t.is_value] for _, _, vals in sg["rows"]]
        if any(not t.is_value and any(x.is_value for x in vals[:n]) for _, _, vals in sg["rows"]
               for n, t in enumerate(vals)):
            return None                             # text after a row's values: an extra row, a note
        if sum(map(len, k)) != r * c:
            return None
        if all(len(v) == c for v in k):
            out.append((k, False))
            continue
        j = len(k[0])
        if j >= c or any(len(v) != j for v in k[:-1]):
            return None
        rest = k[-1][j:]
        w = c - j
        out.append(([k[i][:j] + rest[i * w:(i + 1) * w] for i in range(r)], True))
    return out


def _around_labels(segs: list[dict]) -> list[tuple[list[list[Tok]], bool]] | None:
    """Each block: every row's values printed around its label (Chromium's PDF, read in reading order:
    a cell's text is printed at its row's middle, so the values of a row come on lines of their own
    before its label, the ones level with the label after it on its line, and those lower on lines of
    their own after it: '3 / 5 / 74 / 规章 / 984 / 4185 / 行政规范性文件 564'). A row's values are the
    ones on its label's line, then the ones before it, then the ones after it, as many as its columns:
    the values between two labels go to the row above until it is full, the rest to the row below;
    every block's values must fill its rows exactly. Values printed right after the next block's
    caption, before its header words, are this block's last ('行政事业性收费 / 0 / 第二十条第(九)项 /
    0 / 信息内容'). → (values by row, True) per block."""
    out = []
    spill: list[Tok] = []
    for sg, nxt in zip(segs, segs[1:] + [None]):
        c = len(sg["block"].columns)
        text = sg["text"][len(spill):]
        # values right after the next caption, before its header words: this block's last values
        spill = list(takewhile(lambda t: t.is_value, nxt["text"])) if nxt is not None else []
        first_value = next((n for n, t in enumerate(text) if t.is_value), len(text))
        if any(not t.is_value for t in text[first_value:]):
            return None                             # words after values before the first label
        before = text[first_value:]
        rows: list[list[Tok]] = []
        for label, _, vals in sg["rows"]:
            if any(not t.is_value for t in vals):
                return None                         # a wrapped label's rest, a note: not this geometry
            level = [t for t in vals if t.line == label.line]
            own = [t for t in vals if t.line != label.line] + (spill if label is sg["rows"][-1][0] else [])
            if any(t.line == label.line for t in vals[len(level):]):
                return None
            need = c - len(level) - len(before)
            if need < 0 or need > len(own):
                return None
            rows.append(level + before + own[:need])
            before = own[need:]
        if before:
            return None
        out.append((rows, True))
    return out


def _column_after_column(segs: list[dict]) -> list[tuple[list[list[Tok]], bool]] | None:
    """Every caption and label first; after the last label each column's header (its words, possibly
    wrapped over several pieces) followed by one value per row of its block, blocks and columns in the
    format's order → (values by row, True) per block."""
    if any(t.is_value for sg in segs[:-1] for _, _, vals in sg["rows"] for t in vals) or any(
            t.is_value for sg in segs for t in sg["text"]):
        return None
    tail = segs[-1]["rows"][-1][2]
    groups: list[tuple[str, list[Tok], list[Tok]]] = []     # (header's key, its words, its values)
    for t in tail:
        if t.is_value:
            if not groups:
                return None
            groups[-1][2].append(t)
        elif groups and not groups[-1][2]:
            groups[-1] = (groups[-1][0] + match_key(t.text), groups[-1][1] + [t], [])
        else:
            groups.append((match_key(t.text), [t], []))
    expected = [(sg, col) for sg in segs for col in sg["block"].columns]
    if len(groups) != len(expected):
        return None
    for (key, _, vals), (sg, col) in zip(groups, expected):
        if key not in _column_keys(col) or len(vals) != len(sg["block"].rows):
            return None
    out = []
    n = 0
    for sg in segs:
        cols = [groups[n + j][2] for j in range(len(sg["block"].columns))]
        sg["headers"] = [w for j in range(len(cols)) for w in groups[n + j][1]]
        n += len(cols)
        out.append(([[col[i] for col in cols] for i in range(len(sg["block"].rows))], True))
    return out


_BARE_NUMBERS = re.compile(r"\s*\d+(?:[ \t]+\d+)*\s*")   # a line of bare numbers, spaces apart


@lru_cache(maxsize=8)
def _one_row_width(table: str) -> int | None:
    """The number of columns of a table of one unlabelled data row in every format (table 四), else None."""
    widths = {len(f.tables[table].blocks[0].columns) if len(f.tables[table].blocks) == 1
              and [r.label for r in f.tables[table].blocks[0].rows] == [""] else None for f in FORMATS.values()}
    return widths.pop() if len(widths) == 1 else None


def values_after_end(table: str, toks: list[Tok], lines: list[tuple[str, int]], end: int
                     ) -> tuple[list[Tok], set[int], str] | None:
    """A one-row table (table 四) short of values whose missing values a reading-order extractor printed
    after the table's end (after the next sections' headings and prose, where the page's last text
    block was flushed): the first run of lines holding bare numbers only after the table's end, blank
    lines apart, is taken as the row's last values when it holds exactly the values missing and every
    identity of the row then holds (as printed, or with a number the extractor cut short, down to one
    digit as the cut-number mending allows: the values are flagged either way); a line may hold
    several numbers, spaces apart (the flushed block prints a row's cells that share a baseline on
    one line: '790 16') → (tokens with those
    values appended, their lines, a problem). They are placed by the order of the text
    alone: the engine flags them reordered."""
    w = _one_row_width(table)
    if w is None:
        return None
    header = _numbered_header(toks)
    printed = [t for t in toks if t.is_value and id(t) not in header]
    if not printed or len(printed) >= w:
        return None
    run: list[tuple[str, int]] = []
    for text, line in lines[end:]:
        if _BARE_NUMBERS.fullmatch(text):
            run += [(number, line) for number in text.split()]
        elif run and text.strip():
            break
    if len(run) != w - len(printed):
        return None
    row = [t.text for t in printed] + [text for text, _ in run]
    nums = [parse_value(x).value for x in row]
    if not any(all(_holds(list(terms), nums, row, 1)[0] for terms in _row_identities(name, table, 0))
               for name in FORMATS if _row_identities(name, table, 0)):
        return None
    added = [x for text, line in run for x in (Tok(text, line, True), Tok("", line, False, 1))]
    lines_of = {line for _, line in run}
    where = f"line {run[0][1]}" if len(run) == 1 else f"lines {run[0][1]}–{run[-1][1]}"
    note = (f"{table}: {len(run)} value(s) printed after the table's end ({where}) taken as its last {len(run)} "
            "cell(s): the row's identities hold with them; placed by the order of the text (flag reordered)")
    return toks + added, lines_of, note


def flag_failing_columns(cells: list, formats: dict[str, set[str]], tables: set[str]) -> list[str]:
    """In tables some of whose values the order of the text placed (labels and values printed apart),
    the cells of a column whose total fails are flagged `reordered`: a value moved between two rows
    or two columns keeps each row's total but breaks its column's (parse.cells Cells, changed in place)
    → problems."""
    problems: list[str] = []
    for table in tables:
        fmts = formats.get(table)
        if not fmts:
            continue
        by_key = {(c.row_path, c.column_path): c for c in cells if c.table == table}
        for ident_id, r, column, hit in _flag_failing(by_key, table, fmts, axis=1):
            problems.append(f"{table}: column {column!r} breaks {ident_id} (off by {r:g}) in text whose labels and "
                            f"values were printed apart: its cells in {len(hit)} rows flagged reordered")
    return problems


def flag_failing_rows(cells: list, formats: dict[str, set[str]], tables: set[str]) -> list[str]:
    """In text whose cells are placed by position (extractor output), a one-row table (table 四) whose
    values were printed on lines of their own (one a line, under vertical headers) was placed by the
    order of the text alone: a value dropped, doubled or moved there shifts every later value into the
    next column. The cells of each of its row identities that fails (after cut numbers were mended)
    are flagged reordered (parse.cells Cells, changed in place) → problems."""
    problems: list[str] = []
    for table in tables:
        fmts = formats.get(table)
        if not fmts:
            continue
        own = [c for c in cells if c.table == table]
        if len({c.source_line for c in own if c.raw_value}) < 2:
            continue                                  # printed on one line: read as printed
        by_key = {(c.row_path, c.column_path): c for c in own}
        for ident_id, r, _, hit in _flag_failing(by_key, table, fmts, axis=0):
            problems.append(f"{table}: its values, one a line and placed by the order of the text, break "
                            f"{ident_id} (off by {r:g}): {len(hit)} cells flagged reordered")
    return problems


def _flag_failing(by_key: dict, table: str, fmts: set[str], axis: int):
    """The failing instances of the table's identities that lie along one row (axis 0) or one column
    (axis 1): each yields (identity id, residual, that row or column path, its cells newly flagged
    `reordered` — those not already reordered, unresolved or inferred; only those with some)."""
    from transforms.parse.cut_numbers import _merged, residual
    values = {k: c.value for k, c in by_key.items()}
    for terms, ident_id in _merged(table, frozenset(fmts)).items():
        along = terms[0][0][axis]
        if any(k[axis] != along for k, _ in terms):
            continue                                  # across rows (or columns)
        r = residual(terms, values)
        if r is None or abs(r) <= 1e-6:
            continue
        hit = [by_key[k] for k, _ in terms if not {"reordered", "unresolved", "inferred"} & set(by_key[k].flags)]
        for c in hit:
            c.flags = c.flags + ("reordered",)
        if hit:
            yield ident_id, r, along, hit


def mark_placed_by_order(tr) -> int:
    """A table the fallback readings could not account for (values without a row, rows without
    values or in doubt): the labels and values of its text are known to be printed apart, so a row
    whose values sit on lines of their own was placed by the order of the text alone — its `how`
    becomes reordered (flagged) → how many rows. (parse.rows TableRead, changed in place.)"""
    if not (any(x.text for g in tr.orphans for x in g) or any(r.doubt or not r.cells for r in tr.rows)):
        return 0
    n = 0
    for r in tr.rows:
        if r.entry is not None and not r.doubt and not r.how and any(t.line != r.line for t in r.cells if t.text):
            r.how = "reordered"
            n += 1
    return n

"""The values of one row → its columns. A row printing as many values as it has columns takes them in
order; with too few or too many, a placement is kept only when every one the format's identities allow
gives the same cells (flag inferred), else the row is left null (flag unresolved) — but for the cells of
a short row that every reading fitting the identities gives alike (_certain_cells)."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from transforms.formats import FORMATS, Format, Leaf
from transforms.parse.tokens import Tok
from transforms.parse.values import IMPLAUSIBLE, is_no_value, parse_value

MAX_PLACEMENTS = 20000


@dataclass(slots=True)
class Aligned:
    values: list[tuple[float | None, str | None, tuple[str, ...], str | None, int]]  # value, raw, flags, unit, line
    status: str  # exact | inferred | unresolved
    reason: str = ""


def _instances(fmt: Format, table: str, row_path: str, columns: tuple[Leaf, ...]):
    """Identity equations touching one row: (lhs cells, rhs cells), cells as (row, column) paths: the
    format's own instances (Identity.instances) of this row, or of these columns, in the columns' order."""
    col_paths = [c.path for c in columns]
    out = []
    for ident in fmt.identities:
        if ident.table != table:
            continue
        if ident.for_each == "row":
            if not all(p in col_paths for p in ident.lhs + ident.rhs):
                continue
            keys = [row_path]
        elif row_path in ident.lhs or row_path in ident.rhs:
            keys = col_paths
        else:
            continue
        by_key = {key: (lhs, rhs) for key, lhs, rhs in ident.instances(fmt)}
        out.extend(by_key[k] for k in keys if k in by_key)
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
        # (a small count is looked up: one dict probe instead of four str tests and float())
        plain = _SMALL_COUNTS.get
        values = [(f, t.text, (), col.unit, t.line) if (f := plain(t.text)) is not None
                  else (float(text), text, (), col.unit, t.line)
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
# The plain counts most cells print ("0" … "9999", no leading zero) → their value: what align's fast
# path gives them (each passes its tests: ASCII digits, at most _PLAUSIBLE_DIGITS of them).
_SMALL_COUNTS = {str(i): float(i) for i in range(10 ** min(4, _PLAUSIBLE_DIGITS))}


def _by_identities(printed, columns, fmt, table, row_path, known, header_unit, row_line) -> Aligned:
    n, m = len(columns), len(printed)
    col_paths = [c.path for c in columns]
    kinds = [c.kind for c in columns]
    insts = _instances(fmt, table, row_path, columns)
    compiled = _compile(insts, row_path, col_paths, known)
    what = f"{m} values printed for {n} columns"
    if not compiled:
        return unresolved(columns, row_line, f"{what}; no identity can place them" + _fused_hint(printed, n))
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
        return unresolved(columns, row_line, f"{what}; too many possible placements ({total})")
    solutions, under, first = [], 0, None
    readings: list[tuple[list, list[int]]] = []   # short rows: every reading that fits, for certain_cells
    blank_fits = False
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
        if m < n and state != "invalid":
            # the values lost, and fixed by the identities; or the unprinted cells blank (a blank reading
            # never fits where the identities rule the placement out: then they force 0 in the blanks)
            if state == "ok":
                readings.append((out, pl))
            blank = [None if v is _UNKNOWN else v for v in vec]
            if _blanks_fit(blank, compiled):
                readings.append((blank, pl))
                blank_fits = True
    if not solutions or under or any(s != solutions[0] for s in solutions[1:]):
        why = ("no placement satisfies the identities" if not solutions else
               "the identities cannot fix every cell" if under else
               f"{len(solutions)} placements fit the identities with different cells")
        if m and blank_fits and not any(len(t.text) > 1 and t.text[0] == "0" for t in printed):
            # (a number printed with a leading zero may be cells run together: how many values
            # the row printed is then not known, and no placement of them is certain)
            partial = _certain_cells(readings, printed, columns, header_unit, row_line, what)
            if partial is not None:
                return partial
        return unresolved(columns, row_line, f"{what}; {why}")
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


def _blanks_fit(vec: list, compiled) -> bool:
    """Every identity holds on the row with its blank cells (None) counted as 0."""
    for const, slots in compiled:
        total = const
        for slot, sign in slots:
            v = vec[slot]
            if v is not None:
                total += sign * v
        if abs(total) > 1e-6:
            return False
    return True


def _certain_cells(readings: list[tuple[list, list[int]]], printed: list[Tok], columns, header_unit,
                   row_line: int, what: str) -> Aligned | None:
    """A short row that several readings fit (its printed values placed in some of its columns in order,
    the others blank, or lost and fixed by the identities): a cell with the same value, or blank, in
    every reading is certain whichever is the truth, and is published (flag inferred); the cells that
    differ stay null (flag unresolved). None when no cell is certain ('0' fits any column alike).
    Published values keep their printed text when every reading places the same text there (and its
    line when the same printed value)."""
    values: list = []
    n_certain = 0
    first_vec = readings[0][0]
    where: list[dict[int, int]] | None = None     # per reading: column → index of the printed value there
    for i, col in enumerate(columns):
        v0 = first_vec[i]
        if any(vec[i] != v0 for vec, _ in readings[1:]):  # None != 0.0: a blank is not a 0
            values.append((None, None, ("unresolved",), None, row_line))
            continue
        n_certain += 1
        if where is None:
            where = [{slot: k for k, slot in enumerate(pl)} for _, pl in readings]
        tokens = {w.get(i) for w in where}
        unit = (header_unit.get(i) if col.kind == "amount" else col.unit) or col.unit
        if None not in tokens and len({printed[k].text for k in tokens}) == 1:
            v, raw, flags, unit, line = _cell_value(printed[min(tokens)], col, header_unit.get(i))
            values.append((v, raw, flags + ("inferred",), unit, line if len(tokens) == 1 else row_line))
        elif v0 is None:
            values.append((None, None, ("inferred",), unit, row_line))
        else:
            v = v0 + 0.0
            values.append((v, None, ("inferred", IMPLAUSIBLE) if abs(v) > col.max_abs(unit) else ("inferred",),
                           unit, row_line))
    if not n_certain:
        return None
    left = len(columns) - n_certain
    reason = (f"{what}; {len(readings)} readings fit the identities (a cell not printed read as blank, or lost "
              f"and fixed by them): {n_certain} cell(s) the same in all of them published")
    if not left:
        return Aligned(values, "inferred", reason)
    return Aligned(values, "unresolved", f"{reason}, the other {left} left null")


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


def unresolved(columns, row_line, reason) -> Aligned:
    return Aligned([(None, None, ("unresolved",), None, row_line) for _ in columns], "unresolved", reason)

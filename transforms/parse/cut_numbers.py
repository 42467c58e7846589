"""Numbers a PDF text extractor cut: glyphs clipped by a narrow cell are dropped (`pdftotext -layout`
prints `140` for a `14069` that overflows its cell), and the rest reads as a clean, wrong number.

The text alone cannot show the cut; the identities can. When an identity of the format fails and
exactly one of its cells, printed as plain digits, is the beginning (or the end) of the longer
number that would make it hold, that cell was cut: it is given that number, flagged `inferred`
(its printed text stays its raw_value), and kept only if every other identity through it still
holds or cannot be evaluated. A failing identity with several such cells cannot say which one was
cut: they are left null and flagged `unresolved`. A cell that satisfies another identity as printed
is whole: never taken for a cut one. A failing identity with none is the publisher's
arithmetic, left to the checks.

The engine runs this only on text whose cells are separated by position alone (extractor output,
PDF pages): a cell of an HTML, DOCX, spreadsheet or tab-separated table is whole.
"""
from __future__ import annotations

from typing import Any

from functools import lru_cache
from operator import attrgetter, mul

from transforms.formats import FORMATS

Key = tuple[str, str]   # (row path, column path)


@lru_cache(maxsize=16)
def instances(fmt: str, table: str) -> tuple[tuple[str, tuple[tuple[Key, int], ...]], ...]:
    """Every instance of the format's identities on one table: (identity id, ((cell, sign), …)),
    lhs cells +1 and rhs cells −1 (an instance holds when the signed sum is 0)."""
    f = FORMATS[fmt]
    here = set(f.cell_addresses(table))
    out = []
    for ident in f.identities:
        if ident.table != table:
            continue
        for _key, lhs, rhs in ident.instances(f):
            terms = tuple([(c, 1) for c in lhs] + [(c, -1) for c in rhs])
            if all(c in here for c, _ in terms):
                out.append((ident.id, terms))
    return tuple(out)


def cut_value(raw: str | None, needed: float) -> bool:
    """Whether printed digits can be a number cut short: `raw` begins or ends the larger whole
    number `needed` (a digit string that is not a lone 0)."""
    if not raw or not raw.isascii() or not raw.isdigit() or raw[0] == "0" or needed != int(needed):
        return False
    whole = str(int(needed))
    return len(whole) > len(raw) and (whole.startswith(raw) or whole.endswith(raw))


def residual(terms, values: dict) -> float | None:
    """Signed sum of an identity instance, None when a cell is absent or blank."""
    total = 0.0
    for key, sign in terms:
        v = values.get(key)
        if v is None:
            return None
        total += sign * v
    return total


def _candidates(terms, values: dict, raws: dict, res: float, through: dict, skip=()) -> list[tuple[Key, float]]:
    """Cells of a failing instance that can be cut: printed digits that begin or end the number the
    instance needs, and no other identity through the cell holds as printed (a cut number breaks
    every identity it is in; a number that satisfies one of them was printed whole)."""
    out = []
    for key, sign in terms:
        if key in skip:
            continue
        needed = values[key] - sign * res
        if needed > values[key] and cut_value(raws.get(key), needed) and not any(
                other is not terms and (r := residual(other, values)) is not None and abs(r) <= 1e-6
                for other in through[key]):
            out.append((key, needed))
    return out


@lru_cache(maxsize=16)
def _merged(table: str, fmts: frozenset[str]) -> dict:
    """Instances of the identities of every format a table was read in (one each) → identity id."""
    insts: dict = {}
    for f in sorted(fmts):
        for ident_id, terms in instances(f, table):
            insts.setdefault(terms, ident_id)
    return insts


@lru_cache(maxsize=16)
def _addressed(table: str, fmts: frozenset[str]) -> tuple[tuple[tuple[tuple[str, str, str], ...], int], ...]:
    """The fast test's instances: ((table, row, column) of each cell, lhs first; lhs count), enough of
    them to go through every cell of an identity once (a cut number breaks every identity it is in,
    so one through each cell finds it; the rows' totals of table 三 cover it)."""
    seen: set[Key] = set()
    out = []
    for terms in sorted(_merged(table, fmts), key=len):
        if any(k not in seen for k, _ in terms):
            seen.update(k for k, _ in terms)
            out.append((tuple((table, *k) for k, _ in terms), sum(1 for _, sign in terms if sign > 0)))
    return tuple(out)


_ADDRESS = attrgetter("table", "row_path", "column_path")
_VALUE = attrgetter("value")


@lru_cache(maxsize=16)
def _signed(table: str, fmts: frozenset[str]) -> tuple[tuple[tuple[tuple[str, str, str], ...], tuple[int, ...]], ...]:
    """_merged's instances as ((table, row, column) of each cell, their signs), in its order."""
    return tuple((tuple((table, *k) for k, _ in terms), tuple(sign for _, sign in terms))
                 for terms in _merged(table, fmts))


def _table_fails(at: dict, table: str, fmts: frozenset[str]) -> bool:
    """Whether an instance of the table's identities fails: residual() of each (the same sum in the
    same order: sum() adds floats one by one on Python < 3.12) over the report's values by address,
    in C. Reports whose fast test meets a blank cell all pass here; the per-table dicts the full
    path builds were most of mend on them (c10k, py-spy: mend 5.4 → 3.9 % of parse_report)."""
    get = at.get
    for keys, signs in _signed(table, fmts):
        v = list(map(get, keys))
        if None not in v and abs(sum(map(mul, signs, v))) > 1e-6:
            return True
    return False


def _any_fails(at: dict, formats: dict[str, set[str]]) -> bool:
    """Whether an identity may fail on some table: the test every report of these layouts passes
    through, its loops over the cells run in C. at: (table, row, column) → value of every cell."""
    insts = [i for t, f in formats.items() for i in _addressed(t, frozenset(f))]
    if not insts:
        return False
    get = at.get
    for keys, n in insts:
        v: list[Any] = list(map(get, keys))
        if None in v or abs(sum(v[:n]) - sum(v[n:])) > 1e-6:
            return True               # failing, or blank: the identities left out may fail (full test)
    return False


def mend(cells: list, formats: dict[str, set[str]]) -> tuple[list[str], set[str]]:
    """Restore or withdraw the cut numbers among `cells` (parse.cells Cells, changed in place) →
    (problems, tables where a cell was withdrawn). `formats`: table → the formats it was read in."""
    problems: list[str] = []
    incomplete: set[str] = set()
    at = dict(zip(map(_ADDRESS, cells), map(_VALUE, cells)))
    if not _any_fails(at, formats):
        return problems, incomplete       # the common case: every identity holds or cannot be evaluated
    failing = [(table, fmts) for table, fmts in formats.items() if _table_fails(at, table, frozenset(fmts))]
    if not failing:
        return problems, incomplete       # a blank cell failed the fast test, no identity fails
    tables: dict[str, dict[Key, Any]] = {}
    for c in cells:
        tables.setdefault(c.table, {})[(c.row_path, c.column_path)] = c
    for table, fmts in failing:
        by_key = tables[table]
        insts = _merged(table, frozenset(fmts))
        values = {k: c.value for k, c in by_key.items()}
        raws = {k: c.raw_value for k, c in by_key.items()}
        through: dict[Key, list] = {}
        for terms in insts:
            for k, _ in terms:
                through.setdefault(k, []).append(terms)
        restored: dict[Key, float] = {}
        progress = True
        while progress:
            progress = False
            for terms in insts:
                r = residual(terms, values)
                if r is None or abs(r) <= 1e-6:
                    continue
                cands = _candidates(terms, values, raws, r, through, restored)
                if len(cands) == 1:
                    key, needed = cands[0]
                    restored[key] = needed
                    values[key] = needed
                    progress = True
        # a restored number must leave no identity through it failing
        while True:
            bad = [terms for terms in insts if any(k in restored for k, _ in terms)
                   and (r := residual(terms, values)) is not None and abs(r) > 1e-6]
            if not bad:
                break
            for terms in bad:
                for k, _ in terms:
                    if k in restored:
                        del restored[k]
                        values[k] = by_key[k].value
        withdrawn: dict[Key, str] = {}
        for terms, ident_id in insts.items():
            r = residual(terms, values)
            if r is not None and abs(r) > 1e-6:
                cands = _candidates(terms, values, raws, r, through, restored)
                if len(cands) > 1:
                    for key, _ in cands:
                        withdrawn.setdefault(key, ident_id)
        for key, needed in restored.items():
            c = by_key[key]
            c.value = needed
            c.flags = c.flags + ("inferred",)
            problems.append(f"{table}: cell {key[0] or '(data row)'!r} | {key[1]!r} printed {c.raw_value!r}, the "
                            f"identities need {int(needed)}: digits cut by the text extractor → inferred")
        for key, ident_id in withdrawn.items():
            c = by_key[key]
            c.value = None
            c.flags = c.flags + ("unresolved",)
            problems.append(f"{table}: cell {key[0] or '(data row)'!r} | {key[1]!r} printed {c.raw_value!r} may be "
                            f"a number cut by the text extractor ({ident_id} fails; it is one of several cells "
                            f"that could be cut) → unresolved")
            incomplete.add(table)
    return problems, incomplete

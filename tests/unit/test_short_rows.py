"""A row that printed fewer values than its columns (transforms/parse/align.py): when several placements
of its values fit the row's identities, the cells every placement gives alike are published (flag
inferred), the others stay null (flag unresolved); nothing is published when every cell differs.

The property tests generate short rows of both formats' table 三 and table 四 (random values, random
blank columns, identities that hold or fail), and check each published cell against an oracle written
here from the formats' row identities alone: every reading of the printed values in order into some
columns, the other columns blank (counted as 0), that keeps every identity.
"""
from __future__ import annotations

import random
from itertools import combinations

import pytest

from transforms.formats import FORMATS
from transforms.parse.align import align
from transforms.parse.tokens import Tok

ROWS = [(name, table, row) for name, f in FORMATS.items()
        for table in ("applications", "review_litigation")
        for row in (f.tables[table].blocks[0].rows[0].path, f.tables[table].blocks[0].rows[-1].path)]


def _columns(fmt: str, table: str):
    return FORMATS[fmt].tables[table].blocks[0].columns


def _row_sums(fmt: str, table: str) -> list[tuple[int, list[int]]]:
    """The row identities as (total's column, its parts' columns), from the format's data."""
    index = {c.path: i for i, c in enumerate(_columns(fmt, table))}
    return [(index[i.lhs[0]], [index[p] for p in i.rhs]) for i in FORMATS[fmt].identities
            if i.table == table and i.for_each == "row" and len(i.lhs) == 1]


def _holds(cells: list, sums) -> bool:
    return all((cells[t] or 0) == sum(cells[p] or 0 for p in parts) for t, parts in sums)


def _truth(rng: random.Random, fmt: str, table: str, consistent: bool) -> list:
    """One row: values or None (blank) per column; its totals the sums of its parts when `consistent`
    (a blank total only over parts that sum to 0)."""
    n = len(_columns(fmt, table))
    blank = rng.choice([0.3, 0.6, 0.85])
    top = rng.choice([2, 5, 40])
    cells = [None if rng.random() < blank else float(rng.randint(0, top)) for _ in range(n)]
    if consistent:
        for t, parts in _row_sums(fmt, table):
            s = sum(cells[p] or 0 for p in parts)
            cells[t] = float(s) if s or rng.random() < 0.5 else None
    return cells


def _oracle(printed: list, n: int, sums) -> list[list]:
    """Every reading of the printed values (None for a printed '/') into n columns in order, the
    others blank, that keeps every row identity with blanks counted as 0."""
    out = []
    for pl in combinations(range(n), len(printed)):
        cells = [None] * n
        for v, slot in zip(printed, pl):
            cells[slot] = v
        if _holds(cells, sums):
            out.append(cells)
    return out


def _printed(rng: random.Random, truth: list) -> list[str]:
    """The row as printed: its values in order, a blank cell omitted or now and then printed '/'."""
    out = []
    for v in truth:
        if v is not None:
            out.append(str(int(v)))
        elif rng.random() < 0.1:
            out.append("/")
    return out


def _align(fmt: str, table: str, row: str, texts: list[str]):
    toks = [Tok(text, 1, True) for text in texts]
    return align(toks, _columns(fmt, table), FORMATS[fmt], table, row, {}, {}, 1)


def _same(published, expected) -> bool:
    """A published value is the expected one; a blank published as 0 with no printed text is the
    identities' 0 of a lost value (the reading that fixed every cell before this rule: unchanged)."""
    value, raw = published
    return value == expected or (expected is None and value == 0 and raw is None)


@pytest.mark.parametrize("fmt,table,row", ROWS)
@pytest.mark.parametrize("seed", range(3))
def test_published_cells_of_a_short_row_are_the_same_in_every_reading_that_fits(fmt, table, row, seed):
    """Every cell of a short row published with a value or as blank is what every reading that keeps
    the row's identities gives, so the truth's whenever the truth keeps them; with no such reading the
    row is left as before (every cell unresolved, or every cell fixed by the identities). Some cells
    are published (the property is not kept by publishing nothing)."""
    rng = random.Random(f"{fmt}{table}{row}{seed}")
    n = len(_columns(fmt, table))
    sums = _row_sums(fmt, table)
    certain_seen = 0
    for _ in range(150):
        truth = _truth(rng, fmt, table, consistent=rng.random() < 0.8)
        texts = _printed(rng, truth)
        if not 0 < len(texts) < n:
            continue
        a = _align(fmt, table, row, texts)
        values = [(v, raw) for v, raw, *_ in a.values]
        flags = [f for _, _, f, _, _ in a.values]
        readings = _oracle([None if t == "/" else float(t) for t in texts], n, sums)
        published = [i for i in range(n) if "unresolved" not in flags[i]]
        assert all("inferred" in flags[i] for i in published), (texts, a)
        if not readings:
            assert not published or len(published) == n, (texts, a)
            continue
        for i in published:
            assert all(_same(values[i], r[i]) for r in readings), (texts, i, a, readings)
            if _holds(truth, sums):
                assert _same(values[i], truth[i]), (texts, truth, i, a)
        if a.status == "unresolved" and published:
            certain_seen += 1
            # a cell left null differs between two readings (or a lost value fits there)
            assert all(values[i] == (None, None) for i in range(n) if i not in published)
    assert certain_seen, "no short row got a certain cell"


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_total_printed_after_one_part_is_certain_and_the_part_is_not(fmt):
    """'25 25' for table 三's seven columns (the others blank): 25 is the total whichever column holds
    the other 25; 25 + 25 in two parts would need a total, so the total is certain."""
    row = FORMATS[fmt].tables["applications"].blocks[0].rows[0].path
    a = _align(fmt, "applications", row, ["25", "25"])
    got = [(v, raw, flags) for v, raw, flags, _, _ in a.values]
    assert got[-1] == (25.0, "25", ("inferred",))
    assert got[:-1] == [(None, None, ("unresolved",))] * 6
    assert a.status == "unresolved" and "1 cell(s) the same in all of them published" in a.reason


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("texts", [["0"], ["0", "0"], ["3"], ["7", "5"], ["25", "025"]])
def test_a_short_row_no_cell_of_which_is_certain_stays_wholly_unresolved(fmt, texts):
    """A lone 0 fits any column (and a blank total), two 0s likewise; a lone 3 fits none (a part needs
    a total, a total needs parts), nor do 7 and 5; a number with a leading zero may be two cells run
    together: every cell stays null, flagged unresolved, as before."""
    row = FORMATS[fmt].tables["applications"].blocks[0].rows[0].path
    a = _align(fmt, "applications", row, texts)
    assert a.status == "unresolved"
    assert [(v, raw, flags) for v, raw, flags, _, _ in a.values] == [(None, None, ("unresolved",))] * 7


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_table_four_groups_whose_totals_are_certain(fmt):
    """Table 四's 15 columns, '3 3 2 2 4 4': a group's total is the sum of its four parts, so every
    reading puts each pair in a group of its own, a part then the total: the three totals are certain
    (3, 2, 4, with their printed text), which part of its group each first value is is not."""
    cols = _columns(fmt, "review_litigation")
    texts = ["3", "3", "2", "2", "4", "4"]
    a = _align(fmt, "review_litigation", "", texts)
    readings = _oracle([float(t) for t in texts], len(cols), _row_sums(fmt, "review_litigation"))
    assert len(readings) == 4 ** 3
    totals = {t: v for (t, _), v in zip(_row_sums(fmt, "review_litigation"), ["3", "2", "4"])}
    for i, (v, raw, flags, _, _) in enumerate(a.values):
        if i in totals:
            assert (v, raw, flags) == (float(totals[i]), totals[i], ("inferred",))
        else:
            assert (v, raw, flags) == (None, None, ("unresolved",)) and len({r[i] for r in readings}) > 1
    assert a.status == "unresolved"


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_column_blank_in_every_reading_is_published_blank(fmt):
    """Table 四 printed with its last cell omitted and two blanks printed '/' (a generated report, whose
    truth is this): no reading of the 14 values fits with a value in the last column, so it is
    published blank (null, flag inferred); the others, which differ between readings, stay unresolved."""
    a = _align(fmt, "review_litigation", "", "0 0 46 84 130 / 0 3 0 3 0 0 0 /".split())
    got = [(v, raw, flags) for v, raw, flags, _, _ in a.values]
    assert got[-1] == (None, None, ("inferred",))
    assert got[:-1] == [(None, None, ("unresolved",))] * 14

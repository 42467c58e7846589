"""No wrong number without a flag in real reading-order extracts with one printed number changed.

The extracts of tests/fixtures/extracts whose tables are placed by the order of the text (values
around their labels, a row turned round, a cut table in row order, digits run together, values
after a table's end, a row's values printed apart) with one number of their tables changed — a
digit added, changed or dropped, or two numbers run together: every published cell without a flag
of doubt holds the answer key's value, or the number as changed, printed on its own line. A change
that breaks an identity must leave the rows it reaches flagged or unpublished, never read clean.
"""
from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.engine import parse_text
from transforms.formats import FORMATS
from transforms.schema import PARSER_FLAGS

from paths import FIXTURES

EXTRACTS = FIXTURES / "extracts"
MANIFEST = json.loads((EXTRACTS / "keys.json").read_text("utf-8"))
NAMES = ["hz_html_chromium_pdftotext.txt", "lg_html_chromium_pdftotext.txt", "gz_html_chromium_pdftotext.txt",
         "gz_html_pdftotext.txt", "lg_html_pdftotext.txt", "gz_doc_pdftotext.txt"]
NUMBER = re.compile(r"(?<![\d.])\d+(?![\d.])")
DOUBT = set(PARSER_FLAGS)
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow])


def _key(name: str) -> dict:
    key = json.loads((EXTRACTS / MANIFEST[name]["key"]).read_text("utf-8"))
    return {(k["table"], k["row"], k["column"]): k["value"] for k in key["cells"] + key.get("partial_table_cells", [])}


def _change(text: str, at: int, how: int) -> tuple[str, str]:
    """One number of the tables (after the 二 heading) changed → (text, the number as printed now)."""
    start = text.index("二、主动公开")
    numbers = [m for m in NUMBER.finditer(text) if m.start() > start]
    m = numbers[at % len(numbers)]
    old = m.group()
    new = [old + "1", str((int(old[-1]) + 1) % 10).join([old[:-1], ""]), old[:-1] or "5", old + old][how % 4]
    return text[:m.start()] + new + text[m.end():], new


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(at=st.integers(0, 10 ** 6), how=st.integers(0, 3))
def test_one_number_changed_is_never_read_clean_and_wrong(name, at, how):
    text, new = _change((EXTRACTS / name).read_text("utf-8"), at, how)
    key = _key(name)
    lines = text.split("\n")
    for c in parse_text(text, name).cells:
        address = (c.table, c.row_path, c.column_path)
        if address not in key or DOUBT & set(c.flags) or c.value == key[address]:
            continue
        where = f"{address} = {c.value!r} (printed {c.raw_value!r}, line {c.source_line}; key {key[address]!r})"
        assert c.raw_value is not None and c.raw_value.strip() == new, where
        assert new in lines[c.source_line - 1], where


# Rows printed short (blank cells omitted): each replaces a real row's line of a real extract
# (a 2019 and a 2021 table 三, whose copies are cut inside the table, and a 2021 table 四).
SHORT_ROWS = [
    ("gz_html_pdftotext_layout.txt", "一、本年新收政府信息公开申请数量        25                      25",
     "applications", "一、本年新收政府信息公开申请数量"),
    ("gz_html_pdftotext_layout.txt", "三、本年度办理结果                      7                     7",
     "applications", "三、本年度办理结果 > （一）予以公开"),
    ("lg_html_pdftotext_layout.txt", "二、上年结转政府信息公开申请数量       2       0   0     0     0 0 2",
     "applications", "二、上年结转政府信息公开申请数量"),
    ("hz_html_pdftotext_layout.txt",
     "376   97    196     121   790 16   1         12        27   56   74   1     30   51       156",
     "review_litigation", ""),
]


def _row_sums(fmt: str, table: str) -> list[tuple[int, list[int]]]:
    """The row identities as (total's column, its parts' columns), from the format's data."""
    index = {c.path: i for i, c in enumerate(FORMATS[fmt].tables[table].blocks[0].columns)}
    return [(index[i.lhs[0]], [index[p] for p in i.rhs]) for i in FORMATS[fmt].identities
            if i.table == table and i.for_each == "row" and len(i.lhs) == 1]


@pytest.mark.parametrize("name,line,table,row", SHORT_ROWS)
@SETTINGS
@given(data=st.data())
def test_a_short_row_publishes_only_what_every_placement_gives(name, line, table, row, data):
    """A real row's line replaced by a row with blank cells omitted (values random, blanks random, its
    totals kept or broken): no cell of it is published clean and wrong; when the row keeps its totals
    (blanks counted as 0) every cell published with a value or as blank is the row's own."""
    text = (EXTRACTS / name).read_text("utf-8")
    assert line in text
    label = "" if line.split()[0].isdigit() else line.split()[0]
    fmt = "2019" if name.startswith("gz") else "2021"
    sums = _row_sums(fmt, table)
    n = 15 if table == "review_litigation" else 7
    truth = data.draw(st.lists(st.one_of(st.none(), st.integers(0, 9), st.integers(0, 300)), min_size=n, max_size=n))
    if data.draw(st.booleans()):
        for t, parts in sums:
            s = sum(truth[p] or 0 for p in parts)
            truth[t] = s if s or data.draw(st.booleans()) else None
    printed = [str(v) for v in truth if v is not None]
    if not printed or len(printed) == n:
        return
    parsed = parse_text(text.replace(line, (label + "      " if label else "") + "   ".join(printed)), name)
    holds = all((truth[t] or 0) == sum(truth[p] or 0 for p in parts) for t, parts in sums)
    columns = [c.path for c in FORMATS[fmt].tables[table].blocks[0].columns]
    got = {c.column_path: c for c in parsed.cells if c.table == table and c.row_path == row}
    assert set(got) == set(columns)
    for i, col in enumerate(columns):
        c = got[col]
        if "unresolved" in c.flags:
            assert c.value is None
            continue
        expected = None if truth[i] is None else float(truth[i])
        same = c.value == expected or (expected is None and c.value == 0 and c.raw_value is None)
        assert same or (DOUBT & set(c.flags) and not holds), (printed, truth, col, c.value, c.raw_value, c.flags)

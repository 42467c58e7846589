"""No wrong number without a flag: mutated seeds through the engine and the gate.

The five seeds (tests/fixtures/seeds) are mutated as hostile copies print them: a cell's digits
replaced by a huge number, 增/减 written before a number, a number replaced by a no-value token,
prose paragraphs with list numbers and years where table 四 used to end. Whatever the mutation, a
published cell whose value is not flagged must hold the number printed on its own source line,
within its column's bounds; no-value tokens are null and never fail the gate; an implausible value
fails its report; no value comes from the inserted prose.
"""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.engine import parse_text
from synthetic.generator import LAYOUTS, generate
from transforms.checks.catalogue import COLUMN_LEAVES
from transforms.checks.rules import quality_checks
from transforms.checks.verdicts import verdicts
from transforms.tidy import to_frames
from transforms.parse.values import IMPLAUSIBLE, NIL_TOKENS, parse_value

from paths import SEEDS as SEED_DIR
SEEDS = sorted(SEED_DIR.glob("*.txt"))
TEXTS = [p.read_text(encoding="utf-8").replace("\r\n", "\n") for p in SEEDS]
# and one generated report per layout family (synthetic/generator.py), for the other layouts
GENERATED = [generate(100 + i, layout=layout)[0] for i, layout in enumerate(LAYOUTS)]
CELL = re.compile(r"(?m)(?<=\t)(\d+)(?=\t|$)")  # a number printed as a whole cell (tab-separated layouts)
NUMBER = re.compile(r"(?<![\d.])(\d+)(?![\d.])")  # any number, in a table or not (other layouts)
HUGE = ("99999999999999999999", "1" + "0" * 30, "9007199254740993", "100000001", "123456789012345")
SIGNS = ("增", "减", "增加", "减少")
PROSE = "1、公开工作不够深入。\n2、2024年将加大力度。\n2024\n年，我局将加大力度。\n3\n"
END = re.compile(r"(?m)^[#\s]*五[、.．][^\n|\t<]{0,30}$")  # the 五 heading line (simplified or traditional)

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow])
ops = st.lists(st.tuples(st.sampled_from(("huge", "sign", "nil", "prose")), st.integers(0, 10 ** 6),
                         st.integers(0, 10 ** 6)), min_size=1, max_size=8)


def mutate(text: str, edits) -> tuple[str, set[int]]:
    """The text with the edits applied; the 1-based lines of inserted prose."""
    for kind, at, pick in edits:
        if kind == "prose":
            m = END.search(text)
            if m:
                text = text[:m.start()] + PROSE + text[m.end() + 1:]
            continue
        cells = list(CELL.finditer(text)) or list(NUMBER.finditer(text))
        if not cells:
            continue
        c = cells[at % len(cells)]
        new = {"huge": lambda: HUGE[pick % len(HUGE)],
               "sign": lambda: SIGNS[pick % len(SIGNS)] + c.group(1),
               "nil": lambda: sorted(NIL_TOKENS)[pick % len(NIL_TOKENS)]}[kind]()
        text = text[:c.start()] + new + text[c.end():]
    lines = text.split("\n")
    prose = set()
    first = PROSE.split("\n")[0]
    for i, line in enumerate(lines):
        if line == first:
            prose |= set(range(i + 1, i + 1 + PROSE.count("\n")))
    return text, prose


def check(text: str, prose_lines: set[int]) -> None:
    p = parse_text(text)
    lines = text.split("\n")
    for c in p.cells:
        where = f"{c.table} {c.row_path} | {c.column_path} = {c.value!r} (printed {c.raw_value!r}, line {c.source_line})"
        if c.raw_value is not None and c.raw_value.strip() in NIL_TOKENS:
            assert c.value is None, where
        if c.raw_value in HUGE:
            assert IMPLAUSIBLE in c.flags, where
        if c.value is not None:
            assert c.source_line not in prose_lines, where
        if c.value is None or c.flags:
            continue
        # an unflagged value: the number printed on its own line, within its column's bounds
        assert c.raw_value is not None and c.raw_value.strip() in lines[c.source_line - 1], where
        assert parse_value(c.raw_value).value == c.value, where
        assert abs(c.value) <= min(col.max_abs(c.unit) for col in COLUMN_LEAVES[c.table][c.column_path]), where
    frames = to_frames([p])
    qc = quality_checks(frames)
    rep = verdicts(frames["reports"], qc)
    failed = set(qc.loc[qc["status"] == "fail", "check"])
    assert not {c for c in failed if c.endswith(".raw_value_parsed")}, qc[qc["status"] == "fail"]
    if any(IMPLAUSIBLE in c.flags for c in p.cells):
        assert rep["verdict"].iloc[0] == "fail" and any(c.endswith(".plausible_values") for c in failed)


@pytest.mark.parametrize("k", range(len(SEEDS)), ids=lambda k: SEEDS[k].stem[:3])
def test_seeds_hold_the_property_unmutated(k):
    check(TEXTS[k], set())


@SETTINGS
@given(k=st.integers(0, len(SEEDS) - 1), edits=ops)
def test_no_unflagged_value_that_is_not_in_the_bytes(k, edits):
    text, prose = mutate(TEXTS[k], edits)
    check(text, prose)


@SETTINGS
@given(k=st.integers(0, len(GENERATED) - 1), edits=ops)
def test_no_unflagged_value_that_is_not_in_the_bytes_in_any_layout(k, edits):
    text, prose = mutate(GENERATED[k], edits)
    check(text, prose)


@pytest.mark.parametrize("k", range(len(SEEDS)), ids=lambda k: SEEDS[k].stem[:3])
def test_prose_after_table_four_gives_no_value(k):
    text, prose = mutate(TEXTS[k], [("prose", 0, 0)])
    assert prose, "the seed's 五 heading was replaced"
    check(text, prose)
    four = [c for c in parse_text(text).cells if c.table == "review_litigation"]
    assert len(four) == 15 and all(c.source_line < min(prose) for c in four)


@pytest.mark.parametrize("token", sorted(NIL_TOKENS))
def test_each_no_value_token_in_a_seed_is_null_and_passes_the_gate(token):
    text = TEXTS[2]  # tab-separated rows
    c = list(CELL.finditer(text))[5]
    check(text[:c.start()] + token + text[c.end():], set())


@pytest.mark.parametrize("k", [i for i, layout in enumerate(LAYOUTS) if layout not in ("one_line", "html")],
                         ids=lambda k: LAYOUTS[k])
def test_prose_after_table_four_keeps_its_row_in_every_layout(k):
    """The 五 heading replaced by list items and a wrapped year: table 四 keeps the same 15 cells."""
    text, prose = mutate(GENERATED[k], [("prose", 0, 0)])
    assert prose
    before = [(c.column_path, c.value, c.raw_value) for c in parse_text(GENERATED[k]).cells
              if c.table == "review_litigation"]
    after = [(c.column_path, c.value, c.raw_value) for c in parse_text(text).cells if c.table == "review_litigation"]
    assert len(before) == 15 and after == before

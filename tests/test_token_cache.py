"""The row tokenizers cache each line's parts by its text (readers._LINE_PARTS): a line read from the
cache must give the same tokens as one read fresh, in fresh Tok objects (align tells tokens apart by
identity), whatever the layout family the line is read in."""
from __future__ import annotations

from pathlib import Path

import pytest

from transforms import readers
from transforms.documents import read_document

SEEDS = sorted((Path(__file__).parent / "fixtures" / "seeds").glob("*.txt"))
LAYOUTS = ("tab_cells", "tsv", "html", "pipe", "spaced", "line_cells", "one_line")

# lines that take every branch of the tokenizers: prose, fused digits, markdown rules, '||' filler,
# blank and '|'-only lines, spaced cells inside a tab-separated row, a pipe line without pipes
TRICKY = [
    "（一）主动公开情况", "规章 0 0 0", "规章5 3", "| 规章 | 1 | 2 |", "|---|---|", "||||", "|", "   ",
    "规范性文件\t12\t3 4 5", "政府信息公开工作年度报告的内容是根据《条例》要求，由本机关编制，包括总体情况、主动公开。",
    "收到申请 2024年 1、 (1) 5", "行政复议 | 结果维持 3", "增加 12 减少 3", "\t", "\t7",
]


def _read(lines, layout):
    region = readers.Region("t", 0, len(lines), False, "heading")
    return readers.tokens(lines, region, layout)


def _as_tuples(toks):
    return [(t.text, t.line, t.is_value, t.brk) for t in toks]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_cached_lines_give_the_same_tokens(layout):
    docs = [read_document(p.read_bytes()).lines for p in SEEDS]
    docs.append([(t, k + 1) for k, t in enumerate(TRICKY)])
    for lines in docs:
        readers._LINE_PARTS.clear()
        cold = _read(lines, layout)
        warm = _read(lines, layout)            # every line now from the cache
        assert _as_tuples(warm) == _as_tuples(cold)
        assert not {id(t) for t in warm} & {id(t) for t in cold}


def test_a_line_keeps_its_own_number_when_read_from_the_cache():
    readers._LINE_PARTS.clear()
    lines = [("规章 1 2 3", 5), ("规章 1 2 3", 9)]
    toks = _read(lines, "spaced")
    assert [t.line for t in toks if t.text == "规章"] == [5, 9]


def test_the_cache_is_bounded():
    readers._LINE_PARTS.clear()
    for k in range(readers.LINE_CACHE_SIZE + 10):
        readers._spaced([(f"行 {k}", 1)])
    assert len(readers._LINE_PARTS) <= readers.LINE_CACHE_SIZE
    assert ("行 0" not in {k[-1] for k in readers._LINE_PARTS})   # the oldest lines went first

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

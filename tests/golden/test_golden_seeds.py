"""The five embedded seeds: every cell at its canonical address with the printed value.

The golden CSVs were generated once and checked by hand against the seed texts: every printed
number in the seeds' tables is 0 except seed 001's 行政规范性文件 row (1 / 0 / 2, text lines 19–21)
and seed 002's 政府集中采购 (19 and 52.5 under a 万元 header, line 41); seed 001 prints "000000"
(line 299) and a 3.其他 row of one 0 and six blank cells (lines 309–315); seed 002's table 三 rows
carry 6 values for 7 columns (all zero ⇒ inferred 0); seed 004 prints 16 values for table 四's
15 columns (all zero ⇒ inferred) and the alias 其他法律法规禁止公开 (line 48).
"""
from __future__ import annotations

import csv
import json

import pytest

from transforms.engine import parse_report
from transforms.formats import FORMATS

from paths import GOLDEN, ROOT
SEEDS = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))


def _rows(parsed):
    return [[c.table, c.row_path, c.column_path, "" if c.value is None else repr(c.value),
             "" if c.raw_value is None else c.raw_value, c.unit or "", "|".join(c.flags), str(c.source_line)]
            for c in parsed.cells]


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem[:3])
def test_seed_matches_golden(seed):
    parsed = parse_report(seed.read_bytes(), seed.name)
    with open(GOLDEN / f"{seed.stem}.csv", encoding="utf-8", newline="") as fh:
        expected = list(csv.reader(fh))[1:]
    assert _rows(parsed) == expected
    meta = json.loads((GOLDEN / f"{seed.stem}.report.json").read_text(encoding="utf-8"))
    assert {k: parsed.report[k] for k in meta} == meta


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem[:3])
def test_seed_has_every_cell_of_its_format_once(seed):
    parsed = parse_report(seed.read_bytes(), seed.name)
    fmt = FORMATS[parsed.report["template"]]
    for table in fmt.tables:
        got = [(c.row_path, c.column_path) for c in parsed.cells if c.table == table]
        assert sorted(got) == sorted(fmt.cell_addresses(table))


def test_seed_001_is_2021_and_004_uses_alias():
    p1 = parse_report(SEEDS[1].read_bytes(), SEEDS[1].name)
    assert p1.report["template"] == "2021"
    zero_pad = [c for c in p1.cells if c.raw_value == "000000"]
    assert len(zero_pad) == 1 and zero_pad[0].value == 0 and "typo_zero_padding" in zero_pad[0].flags
    blanks = [c for c in p1.cells if c.row_path.endswith("（六）其他处理 > 3.其他")]
    assert [c.value for c in blanks][0] == 0 and all(c.value is None and c.raw_value == "" for c in blanks[1:])
    p4 = parse_report(SEEDS[4].read_bytes(), SEEDS[4].name)
    alias = [c for c in p4.cells if c.row_path.endswith("2.其他法律行政法规禁止公开")]
    assert len(alias) == 7 and all(c.source_line == 48 for c in alias)


def test_seed_002_short_rows_inferred_as_zero():
    p = parse_report(SEEDS[2].read_bytes(), SEEDS[2].name)
    inferred = [c for c in p.cells if "inferred" in c.flags]
    assert len(inferred) == 13 * 7 and {c.value for c in inferred} == {0.0}
    assert sum(1 for c in inferred if c.raw_value is None) == 13  # one cell per row had no printed text
    amount = next(c for c in p.cells if c.column_path == "采购总金额")
    assert (amount.value, amount.raw_value, amount.unit) == (52.5, "52.5", "万元")

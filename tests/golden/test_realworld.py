"""Every cell of every answer key in tests/fixtures/realworld is reproduced exactly."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from transforms.engine import parse_report

from paths import REALWORLD
KEYS = sorted((REALWORLD / "expected").glob("*.json"))


def _parse(name: str):
    path = REALWORLD / "raw" / name
    return parse_report(path.read_bytes(), str(path))


def _cells(parsed):
    return {(c.table, c.row_path, c.column_path): c for c in parsed.cells}


def _same(a, b) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or (isinstance(a, float) and math.isnan(a))) and b is None
    return abs(a - b) < 1e-9


@pytest.mark.parametrize("key_path", KEYS, ids=lambda p: p.stem)
def test_every_key_cell_reproduced(key_path):
    key = json.loads(key_path.read_text(encoding="utf-8"))
    parsed = _parse(Path(key["source_file"]).name)
    got = _cells(parsed)
    wrong = []
    for kc in key["cells"] + key.get("partial_table_cells", []):
        c = got.get((kc["table"], kc["row"], kc["column"]))
        if c is None:
            wrong.append(("missing", kc))
        elif not _same(c.value, kc["value"]) or (c.raw_value or "") != kc["raw"]:
            wrong.append(((c.value, c.raw_value), kc))
    assert not wrong, wrong[:5]
    assert parsed.report["report_year"] == key["report_year"]
    if key.get("partial_table_cells"):
        partial_tables = {c["table"] for c in key["partial_table_cells"]}
        for t in partial_tables:
            assert parsed.report[f"{t}_status"] == "incomplete"
    complete_tables = {c["table"] for c in key["cells"]}
    for t in complete_tables:
        assert parsed.report[f"{t}_status"] == "complete", parsed.report["problems"]


def test_key_templates_detected_from_labels():
    for key_path in KEYS:
        key = json.loads(key_path.read_text(encoding="utf-8"))
        parsed = _parse(Path(key["source_file"]).name)
        tables = {c["table"] for c in key["cells"]} | {c["table"] for c in key.get("partial_table_cells", [])}
        if tables == {"review_litigation"}:
            # table 四 is identical in both formats: the labels cannot tell, and we never guess from the year
            assert parsed.report["template"] is None
        else:
            assert parsed.report["template"] == key["template"], key_path.name


@pytest.mark.parametrize("name,hint", [
    ("xiongxian_township_2019.txt", "0 values printed"),
    ("wnwk_suixian_kfq_2019_nosep.txt", "fused"),
])
def test_files_without_usable_values_are_unreadable_with_reasons(name, hint):
    parsed = _parse(name)
    assert parsed.report["status"] == "unreadable"
    assert all(c.value is None for c in parsed.cells), "no invented numbers"
    problems = " ".join(parsed.report["problems"])
    assert "no usable value" in problems and hint in problems


def test_xiongxian_lone_zero_is_not_placed():
    parsed = _parse("xiongxian_township_2019.txt")
    row = [c for c in parsed.cells if c.row_path == "第二十条第（一）项 > 规章"]
    assert len(row) == 3 and all(c.value is None and "unresolved" in c.flags for c in row)


def test_tianmen_simplified_and_traditional_mirror_give_identical_cells():
    simp, trad = _parse("tianmen_tuoshi_2020.txt"), _parse("mirror_trad_tianmen_tuoshi_2020.txt")

    def canon(p):
        return {(c.table, c.row_path, c.column_path, c.value, c.raw_value) for c in p.cells
                if "extra_row" not in c.flags}

    assert canon(simp) and canon(simp) == canon(trad)
    assert {c.value for c in simp.cells if c.row_path.endswith("规范性文件")} == {34.0, 4.0, 47.0}
    # the simplified copy also carries the Hubei extra row, kept as an extra row
    extra = [c for c in simp.cells if "extra_row" in c.flags]
    assert len(extra) == 3 and extra[0].row_path.startswith("第二十条第（一）项 > 其他主动公开文件")
    assert simp.report["organization"] == trad.report["organization"] == "拖市镇"


def test_fixtures_are_in_the_repository():
    """The answer keys ship with the tests: a clean clone without ../shared runs every key."""
    assert len(KEYS) >= 7
    assert all((REALWORLD / "raw" / f"{k.stem}{ext}").exists() or (REALWORLD / "raw" / f"{k.stem}.html").exists()
               for k in KEYS for ext in (".txt",))

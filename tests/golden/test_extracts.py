"""Every real text extract in the repository (tests/fixtures/extracts/keys.json, tests/fixtures/web_extracts)
against its answer key: no keyed cell published with another value unless flagged. The figures per
file are printed by bench/extracts_bench.py.
"""
from __future__ import annotations

import json

import pytest

from paths import FIXTURES
from transforms.engine import parse_report, parse_text
from transforms.schema import PARSER_FLAGS

EXTRACTS = FIXTURES / "extracts"
WEB = FIXTURES / "web_extracts"
MANIFEST = {k: v for k, v in json.loads((EXTRACTS / "keys.json").read_text("utf-8")).items() if not k.startswith("_")}
CASES = [(EXTRACTS / name, EXTRACTS / entry["key"]) for name, entry in sorted(MANIFEST.items())] + [
    (p, p.with_suffix(".json")) for p in sorted(WEB.glob("*.txt"))]


def _outcomes(parsed, key: dict) -> dict[str, list]:
    got = {(c.table, c.row_path, c.column_path): c for c in parsed.cells}
    out: dict[str, list] = {"right": [], "flagged": [], "wrong": [], "missing": []}
    for k in key.get("cells", []) + key.get("partial_table_cells", []):
        c = got.get((k["table"], k["row"], k["column"]))
        if c is None:
            out["missing"].append(k)
        elif c.value == k["value"]:
            out["right"].append(k)
        elif set(PARSER_FLAGS) & set(c.flags):
            out["flagged"].append(k)
        else:
            out["wrong"].append((k["row"], k["column"], k["value"], c.value, c.raw_value, c.flags))
    return out


def test_every_extract_in_the_folder_is_keyed():
    stored = {p.name for p in EXTRACTS.iterdir() if p.suffix in (".txt", ".pdf")}
    assert stored == set(MANIFEST)
    assert all((EXTRACTS / e["key"]).is_file() for e in MANIFEST.values())


@pytest.mark.parametrize("path,key", CASES, ids=[p.name for p, _ in CASES])
def test_real_extracts_publish_no_wrong_number_without_a_flag(path, key):
    out = _outcomes(parse_report(path.read_bytes(), path.name), json.loads(key.read_text("utf-8")))
    assert not out["wrong"], out["wrong"]
    assert out["right"]


SPILL = "3.补正后申请内容仍不明确 19 0 0 0 0             0 180\n                                              0 19\n"
ROW2 = "三、本年度办理结果 > （四）无法提供 > 2.没有现成信息需要另行制作"
ROW3 = "三、本年度办理结果 > （四）无法提供 > 3.补正后申请内容仍不明确"


def _chromium_layout() -> str:
    text = (EXTRACTS / "hz_html_chromium_pdftotext_layout.txt").read_text("utf-8")
    assert SPILL in text
    return text


def test_the_end_of_a_row_printed_on_the_next_rows_line_is_put_back():
    """Chromium's print read with -layout: row 2's last two cells ('0 180') sit on row 3's line and
    row 3's last two ('0 19') on a line of their own. Moved back, both rows hold their totals: every
    cell right, flagged reordered (the order of the text did not place them)."""
    parsed = parse_text(_chromium_layout(), "chromium_layout.txt")
    rows = {r: [c for c in parsed.cells if c.row_path == r] for r in (ROW2, ROW3)}
    assert [c.value for c in rows[ROW2]] == [177, 3, 0, 0, 0, 0, 180]
    assert [c.value for c in rows[ROW3]] == [19, 0, 0, 0, 0, 0, 19]
    assert all("reordered" in c.flags for r in rows.values() for c in r)


@pytest.mark.parametrize("spill,row3", [
    # no stray values below: row 3 breaks its total right below a short row → in doubt
    ("3.补正后申请内容仍不明确 19 0 0 0 0             0 180\n", None),
    # the stray values would not make row 3 hold: nothing moved (the row-order reading then flags it)
    ("3.补正后申请内容仍不明确 19 0 0 0 0             0 180\n                                              0 18\n", None),
    # row 3's own values on its line (its total holds), row 2's after: row 3 read as printed
    ("3.补正后申请内容仍不明确 19 0 0 0 0             0 19\n                                              0 180\n", 19),
])
def test_row_ends_are_moved_only_where_every_total_holds(spill, row3):
    """Variants of the same lines: a row breaking its total below a short row is never published
    clean; values are moved only when both rows then hold their totals."""
    parsed = parse_text(_chromium_layout().replace(SPILL, spill), "spill.txt")
    total = {c.column_path: c for c in parsed.cells if c.row_path == ROW3}["申请人情况 > 总计"]
    if row3 is None:
        assert set(PARSER_FLAGS) & set(total.flags), total      # never published clean
    else:
        assert total.value == row3 and not total.flags


def test_a_publishers_wrong_total_on_a_clean_row_is_kept_as_printed():
    """The same table with row 2 whole on its line and nothing stray: row 3's total off by one is the
    publisher's arithmetic, read as printed (left to the quality checks), no flag."""
    text = _chromium_layout().replace(
        "2.没有现成信息需要另行制作 177 3 0 0 0\n", "2.没有现成信息需要另行制作 177 3 0 0 0 0 180\n").replace(
        SPILL, "3.补正后申请内容仍不明确 19 0 0 0 0 0 20\n")
    parsed = parse_text(text, "clean.txt")
    row3 = {c.column_path: c for c in parsed.cells if c.row_path == ROW3}
    assert row3["申请人情况 > 总计"].value == 20 and not row3["申请人情况 > 总计"].flags


SECRET = "三、本年度办理结果 > （三）不予公开 > 1.属于国家秘密"
FEES = "三、本年度办理结果 > （六）其他处理 > 2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"


def test_a_labels_number_printed_on_another_line_than_its_words():
    """Chromium -layout prints '属于国家秘密' above '1.  13 0 0 0 0 0 13', and '申请人逾期未按收费通知要求'
    above '2.缴纳费用、行政机关不再处理其 202 …' / '政府信息公开申请': the number goes first, the label is
    the row's: every cell of the extract right, none wrong."""
    parsed = parse_text(_chromium_layout(), "chromium_layout.txt")
    rows = {r: [c.value for c in parsed.cells if c.row_path == r] for r in (SECRET, FEES)}
    assert rows == {SECRET: [13, 0, 0, 0, 0, 0, 13], FEES: [202, 0, 0, 1, 0, 0, 203]}
    key = json.loads((EXTRACTS / MANIFEST["hz_html_chromium_pdftotext_layout.txt"]["key"]).read_text("utf-8"))
    out = _outcomes(parsed, key)
    assert len(out["right"]) == len(key["cells"]) and not out["wrong"]


@pytest.mark.parametrize("old,new", [
    ("                 1.       13", "                 9.       13"),      # a number that is not the row's
    ("他处理 2.缴纳费用、行政机关不再处理其", "他处理 5.缴纳费用、行政机关不再处理其"),
])
def test_a_number_that_makes_no_label_joins_nothing(old, new):
    """The same lines with another number: the pieces make no label of the format, so they are not
    joined and the row is not published from them (flagged or left out), never a wrong number."""
    text = _chromium_layout()
    assert old in text
    parsed = parse_text(text.replace(old, new, 1), "numbered.txt")
    key = json.loads((EXTRACTS / MANIFEST["hz_html_chromium_pdftotext_layout.txt"]["key"]).read_text("utf-8"))
    assert not _outcomes(parsed, key)["wrong"]
    row = SECRET if "9." in new else FEES
    cells = [c for c in parsed.cells if c.row_path == row]
    assert all(c.value is None or set(PARSER_FLAGS) & set(c.flags) for c in cells)


LG_TWO = "二、上年结转政府信息公开申请数量"


def _lg_chromium_layout() -> str:
    return (EXTRACTS / "lg_html_chromium_pdftotext_layout.txt").read_text("utf-8")


def test_narrow_cells_printed_without_a_gap_are_read_one_digit_a_cell():
    """Chromium's print of the real lg page read with -layout: the narrow last columns print with no
    gap ('2 0 0 0 002', '2 1 0 000 3'). A number printed with a leading zero is no count: cut one digit
    a cell it gives one value per column and the row's total holds, so every cell is right, flagged
    inferred."""
    parsed = parse_text(_lg_chromium_layout(), "lg_chromium_layout.txt")
    key = json.loads((EXTRACTS / MANIFEST["lg_html_chromium_pdftotext_layout.txt"]["key"]).read_text("utf-8"))
    out = _outcomes(parsed, key)
    assert len(out["right"]) == len(key["cells"]) + len(key["partial_table_cells"])
    row = [c for c in parsed.cells if c.row_path == LG_TWO]
    assert [c.value for c in row] == [2, 0, 0, 0, 0, 0, 2] and all("inferred" in c.flags for c in row)
    assert [c.raw_value for c in row] == ["2", "0", "0", "0", "0", "0", "2"]


LG_TWO_LINE = "二、上年结转政府信息公开申请数量          2      0   0    0 002\n"


@pytest.mark.parametrize("new", [
    "二、上年结转政府信息公开申请数量          2      0   0    0 003\n",     # cut so, its total does not hold
    "二、上年结转政府信息公开申请数量          2      0   0    0 02\n",      # one value short even cut so
])
def test_digits_are_cut_only_when_the_row_then_holds(new):
    text = _lg_chromium_layout()
    assert LG_TWO_LINE in text
    parsed = parse_text(text.replace(LG_TWO_LINE, new), "fused.txt")
    row = [c for c in parsed.cells if c.row_path == LG_TWO]
    assert all(c.value is None and "unresolved" in c.flags for c in row)

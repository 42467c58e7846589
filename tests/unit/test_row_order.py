"""Tables whose labels and values a PDF extractor printed apart (reading-order `pdftotext`): values
read in the format's row order, each row checked by its identities (transforms/parse/row_order.py).

Real extracts of a real report (tests/fixtures/extracts/README.md) scored against its answer key:
every cell right, or flagged; never a wrong number without a flag.
"""
from __future__ import annotations

import json
import random
import re

import pytest

from transforms.engine import parse_report, parse_text
from transforms.parse.tokens import Tok
from transforms.parse.row_order import _furniture, _numbered_header

from paths import FIXTURES
EXTRACTS = FIXTURES / "extracts"
KEY = json.loads((FIXTURES / "realworld" / "expected" / "hangzhou_style_2025.json").read_text("utf-8"))
WARN = {"unresolved", "inferred", "reordered", "nonnumeric"}
APPLICATIONS = [k for k in KEY["cells"] if k["table"] == "applications"]


def _score(parsed, key=KEY["cells"]):
    """(right, flagged, wrong without a flag): right = the key's value, flagged or not; a cell not
    published (its row not found, a problem says so) is none of them."""
    got = {(c.table, c.row_path, c.column_path): c for c in parsed.cells}
    right, flagged, wrong = 0, 0, []
    for k in key:
        c = got.get((k["table"], k["row"], k["column"]))
        if c is None:
            continue
        if c.value == k["value"]:
            right += 1
        elif WARN & set(c.flags):
            flagged += 1
        else:
            wrong.append((k["row"], k["column"], k["value"], c.value, c.raw_value, c.flags))
    return right, flagged, wrong


def _parse(name: str):
    return parse_report((EXTRACTS / name).read_bytes(), name)


@pytest.mark.parametrize("name", ["hz_xls_pdftotext.txt", "hz_xls_pdftotext_layout.txt"])
def test_values_printed_under_the_next_label_are_read_in_row_order(name):
    """LibreOffice Calc's PDF: values at the bottom of their cells, one row below their label, labels
    clipped to pieces, 'Page 1' / 'Sheet1' inside the table: every cell right, and the rows whose
    label was not printed right before their values flagged reordered."""
    parsed = _parse(name)
    right, flagged, wrong = _score(parsed)
    assert right == len(KEY["cells"]) and not wrong
    assert parsed.report["applications_status"] == "complete"
    assert any("in the order of the 2021 format's rows" in p for p in parsed.report["problems"])
    placed = [c for c in parsed.cells if c.table == "applications" and "reordered" in c.flags]
    assert placed and len(placed) % 7 == 0


@pytest.mark.parametrize("name", ["hz_doc_pdftotext.txt", "hz_rtf_pdftotext.txt"])
def test_a_column_printed_apart_from_its_rows_is_put_back(name):
    """pdftotext of the Word/RTF report's PDF: the first value column of rows (一) and (二) is printed
    after their other columns (with the labels), and the 商业企业 value of row 四 after the labels:
    in the row order those rows break their totals; read again with that column put back, their
    totals and every column total hold, for one column only. Every cell of table 三 is right; rows
    whose label was not printed right before their values are flagged reordered, and the cut totals
    are restored from the identities."""
    parsed = _parse(name)
    right, flagged, wrong = _score(parsed, APPLICATIONS)
    assert not wrong and right == len(APPLICATIONS)
    far = {c.row_path for c in parsed.cells if c.table == "applications" and "reordered" in c.flags}
    assert {"三、本年度办理结果 > （一）予以公开", "四、结转下年度继续办理",
            "三、本年度办理结果 > （三）不予公开 > 4.保护第三方合法权益"} <= far
    assert "一、本年新收政府信息公开申请数量" not in far        # its label is right before its values
    total = {c.row_path: c for c in parsed.cells if c.table == "applications"
             and c.column_path == "申请人情况 > 总计"}
    assert (total["三、本年度办理结果 > （七）总计"].value, total["三、本年度办理结果 > （七）总计"].raw_value) == (13810, "138")
    assert _score(parsed)[2] == []


def test_a_column_put_back_must_be_the_only_one_that_fits():
    """The same extract with one value of row (一) changed (129 → 130): its total and the 商业企业
    column's total no longer hold whichever column is put back, so rows (一) and (二) stay
    unresolved rather than read by a guess."""
    text = (EXTRACTS / "hz_doc_pdftotext.txt").read_text("utf-8")
    broken = text.replace("\n129\n", "\n130\n", 1)
    parsed = parse_text(broken, "broken.txt")
    rows = {c.row_path for c in parsed.cells if c.table == "applications" and "unresolved" in c.flags}
    assert "三、本年度办理结果 > （一）予以公开" in rows
    assert _score(parsed)[2] == []


ACTIVE = [k for k in KEY["cells"] if k["table"] == "active_disclosure"]
GZ_KEY = json.loads((FIXTURES / "realworld" / "expected" / "mirror_gz_fgj_2020.json").read_text("utf-8"))


@pytest.mark.parametrize("name", ["hz_doc_pdftotext.txt", "hz_rtf_pdftotext.txt"])
def test_table_two_blocks_with_the_first_column_printed_with_the_labels(name):
    """规章 3 / 行政规范性文件 564 / 5 / 74 / 984 / 4185: each label followed by its first value, the
    other two columns after the last label, row after row. Table 二 has no identity to check them, so
    the block is read by that geometry and flagged reordered, as are the rows of the one-column blocks
    whose value sits on a line of its own (a value moved between blocks keeps the geometry); a value
    printed on its label's line stays clean."""
    parsed = _parse(name)
    right, flagged, wrong = _score(parsed, ACTIVE)
    assert right == len(ACTIVE) and not wrong
    cells = [c for c in parsed.cells if c.table == "active_disclosure"]
    assert {c.row_path for c in cells if "reordered" in c.flags} == {
        "第二十条第（一）项 > 规章", "第二十条第（一）项 > 行政规范性文件", "第二十条第（五）项 > 行政许可",
        "第二十条第（六）项 > 行政处罚", "第二十条第（六）项 > 行政强制"}
    assert all(not c.flags for c in cells if "第（八）项" in c.row_path)     # its value on its label's line


@pytest.mark.parametrize("stream", [
    "规章\n行政规范性文件\n3\n5\n74\n564\n984\n4185",          # every value after the labels, row after row
    "规章\n3\n5\n行政规范性文件\n564\n984\n74\n4185",          # the first two columns with the labels
])
def test_table_two_blocks_with_other_numbers_of_columns_printed_with_the_labels(stream):
    """The same block printed with none or two of its value columns beside the labels: read by the
    same geometry, flagged reordered; the values are the key's."""
    text = (EXTRACTS / "hz_doc_pdftotext.txt").read_text("utf-8")
    printed = "规章\n\n3\n\n行政规范性文件 564\n\n5\n\n74\n\n984\n\n4185"
    assert printed in text
    parsed = parse_text(text.replace(printed, stream), "stream.txt")
    right, flagged, wrong = _score(parsed, ACTIVE)
    assert right == len(ACTIVE) and not wrong
    assert all("reordered" in c.flags for c in parsed.cells if "第（一）项" in c.row_path)


def test_table_two_printed_column_after_column():
    """The real 2019 report's Word copy (tests/fixtures/extracts/README.md): every caption and label
    first, then each column's header followed by one value per row of its block: every cell right,
    flagged reordered."""
    parsed = _parse("gz_doc_pdftotext.txt")
    right, flagged, wrong = _score(parsed, GZ_KEY["cells"])
    assert right == len(GZ_KEY["cells"]) == 22 and not wrong
    assert all("reordered" in c.flags for c in parsed.cells if c.table == "active_disclosure")
    assert parsed.report["template"] == "2019"


LG_KEY = json.loads((FIXTURES / "realworld" / "expected" / "lg_dept_2024.json").read_text("utf-8"))


def test_a_real_copy_cut_inside_table_three_read_in_reading_order():
    """The third real report's reading-order extract (tests/fixtures/extracts/README.md): its complete
    table 二 right, the visible rows of the cut table 三 right, flagged or not published — never a
    wrong number without a flag — and table 三 published incomplete."""
    parsed = _parse("lg_html_pdftotext.txt")
    right, flagged, wrong = _score(parsed, LG_KEY["cells"])
    assert right == len(LG_KEY["cells"]) and not wrong
    right, flagged, wrong = _score(parsed, LG_KEY["partial_table_cells"])
    assert not wrong and right >= 0.7 * len(LG_KEY["partial_table_cells"])
    assert parsed.report["applications_status"] == "incomplete"


def _active_lines(text: str) -> tuple[list[str], int, int]:
    lines = text.split("\n")
    start = next(i for i, s in enumerate(lines) if s.startswith("二、主动公开"))
    end = next(i for i, s in enumerate(lines) if s.startswith("三、收到和处理"))
    return lines, start, end


CHROMIUM = [("hz_html_chromium_pdftotext.txt", ACTIVE), ("lg_html_chromium_pdftotext.txt", LG_KEY["cells"]),
            ("gz_html_chromium_pdftotext.txt", GZ_KEY["cells"]), ("gz_html_pdftotext.txt", GZ_KEY["cells"])]


@pytest.mark.parametrize("name,key", CHROMIUM)
def test_table_two_values_printed_around_their_labels(name, key):
    """Chromium's PDF read in reading order prints each row's values around its label: those above
    its middle before it, the one level with it on its line, the lower ones after it
    ('3 / 5 / 74 / 规章 / 984 / 4185 / 行政规范性文件 564'; '22 / 政府集中采购 / 184719元'); LibreOffice's
    page print puts a block's last value after the next caption ('行政事业性收费 / 0 / 第二十条第(九)项 / 0'). Read by
    that geometry: every cell of table 二 right, each row whose values sit on lines of their own
    flagged reordered (table 二 has no identity to check them)."""
    parsed = _parse(name)
    right, flagged, wrong = _score(parsed, key)
    assert right == len(key) and not wrong
    assert any("by where the extractor printed them" in p for p in parsed.report["problems"])
    cells = [c for c in parsed.cells if c.table == "active_disclosure"]
    assert all("reordered" in c.flags for c in cells if c.raw_value and c.source_line is not None
               and "第（一）项" in c.row_path)


@pytest.mark.parametrize("name,key", [("hz_doc_pdftotext.txt", ACTIVE), ("hz_rtf_pdftotext.txt", ACTIVE),
                                      ("gz_doc_pdftotext.txt", GZ_KEY["cells"]), *CHROMIUM])
@pytest.mark.parametrize("seed", range(134))
def test_table_two_with_values_moved_dropped_doubled_or_a_label_lost(name, key, seed):
    """Table 二 of the reading-order extracts (402 damaged copies) with a value swapped with the next,
    dropped or printed twice, a label or a header dropped, or an unknown row with a value added: the
    geometry no longer fits (left to the other readings: unresolved) or the values placed by the order
    of the text are flagged reordered — never a wrong number without a flag. (Two values dropped from
    one block so that a row still gets exactly its number of values is read as printed: the damage
    then says something else, and the reading of an unmangled table is not triggered.)"""
    lines, start, end = _active_lines((EXTRACTS / name).read_text("utf-8"))
    rng = random.Random(seed)
    number = re.compile(r"^[+-]?\d+( \d+)?$")
    at = [i for i in range(start, end) if number.match(lines[i].strip())]
    words = [i for i in range(start + 1, end) if lines[i].strip() and not number.match(lines[i].strip())]
    what = rng.choice(["swap", "drop", "double", "label", "extra"])
    i = rng.randrange(len(at) - 1)
    if what == "swap":
        lines[at[i]], lines[at[i + 1]] = lines[at[i + 1]], lines[at[i]]
    elif what == "drop":
        lines[at[i]] = ""
    elif what == "double":
        lines[at[i]] = lines[at[i]] + "\n" + lines[at[i]]
    elif what == "label":
        lines[rng.choice(words)] = ""
    else:
        lines[at[i]] = "其他事项\n7\n" + lines[at[i]]
    right, flagged, wrong = _score(parse_text("\n".join(lines), "moved.txt"), key)
    assert not wrong, wrong


FOUR = [k for k in KEY["cells"] if k["table"] == "review_litigation"]


@pytest.mark.parametrize("name", ["hz_doc_pdftotext.txt", "hz_rtf_pdftotext.txt"])
def test_reading_order_extracts_of_the_word_and_rtf_copies_give_every_cell(name):
    """pdftotext of the .doc (the .odt prints the same) and of the .rtf: every cell of the key right,
    none wrong; the cells placed by the order of the text alone are flagged."""
    parsed = _parse(name)
    right, flagged, wrong = _score(parsed)
    assert right == len(KEY["cells"]) == 200 and not wrong


def test_table_four_values_printed_after_the_next_sections_are_its_last_cells():
    """The .rtf's reading order prints table 四's last four values (1 / 30 / 51 / 1, the total cut to
    '1') after the 五 and 六 headings: taken as the row's last cells because exactly four are missing
    and the row's three identities then hold; flagged reordered, the cut total restored (inferred)."""
    parsed = _parse("hz_rtf_pdftotext.txt")
    right, flagged, wrong = _score(parsed, FOUR)
    assert right == 15 and not wrong
    four = {c.column_path: c for c in parsed.cells if c.table == "review_litigation"}
    late = {p for p, c in four.items() if "reordered" in c.flags}
    assert late == {f"行政诉讼 > 复议后起诉 > {x}" for x in ("结果纠正", "其他结果", "尚未审结", "总计")}
    assert four["行政诉讼 > 复议后起诉 > 总计"].raw_value == "1" and "inferred" in four["行政诉讼 > 复议后起诉 > 总计"].flags
    assert all(not c.flags for p, c in four.items() if p not in late)
    assert any("4 value(s) printed after the table's end" in p for p in parsed.report["problems"])


@pytest.mark.parametrize("change", ["\n51\n|\n51\n\n7\n", "\n30\n|\n", "六、其他需要报告的事项\n|六、其他需要报告的事项\n2\n"])
def test_table_four_values_after_its_end_are_taken_only_when_they_fit(change):
    """One more number after the values, one missing, or a page number before them: the run is not
    the four values missing, so it is not taken; the row stays unresolved — never a wrong number."""
    old, new = change.split("|")
    text = (EXTRACTS / "hz_rtf_pdftotext.txt").read_text("utf-8")
    at = text.index("六、其他需要报告的事项")
    text = text[:at] + text[at:].replace(old, new, 1)
    parsed = parse_text(text, "changed.txt")
    right, flagged, wrong = _score(parsed, FOUR)
    assert not wrong and right == 0
    assert not any("printed after the table's end" in p for p in parsed.report["problems"])


def test_table_four_values_after_its_end_changed_are_flagged():
    """30 printed as 31 after the end: the cut total '1' can begin 157, so the values are taken, but
    every one of them is flagged reordered and the total inferred: right or flagged, never wrong."""
    text = (EXTRACTS / "hz_rtf_pdftotext.txt").read_text("utf-8")
    at = text.index("六、其他需要报告的事项")
    text = text[:at] + text[at:].replace("\n30\n", "\n31\n", 1)
    parsed = parse_text(text, "changed.txt")
    right, flagged, wrong = _score(parsed, FOUR)
    assert not wrong and right == 13 and flagged == 2


def test_table_four_values_after_its_end_several_on_a_line():
    """Chromium's PDF read in reading order: four values of table 四 before the 五 heading, the other
    eleven after it, some two on a line ('790 16', '56 74'): taken as the row's last cells because
    exactly eleven are missing and the row's three identities then hold; flagged reordered."""
    parsed = _parse("hz_html_chromium_pdftotext.txt")
    right, flagged, wrong = _score(parsed, FOUR)
    assert right == 15 and not wrong
    late = [c for c in parsed.cells if c.table == "review_litigation" and "reordered" in c.flags]
    assert len(late) == 11
    assert any("11 value(s) printed after the table's end" in p for p in parsed.report["problems"])


@pytest.mark.parametrize("change", ["790 16|790 17", "56 74|56 74 3", "56 74|56"])
def test_table_four_values_after_its_end_on_shared_lines_must_fit(change):
    """One digit changed (the identities fail), one number too many or too few on a shared line: the
    values after the end are not taken; the row stays unresolved — never a wrong number."""
    old, new = change.split("|")
    text = (EXTRACTS / "hz_html_chromium_pdftotext.txt").read_text("utf-8")
    assert f"\n{old}\n" in text
    parsed = parse_text(text.replace(f"\n{old}\n", f"\n{new}\n", 1), "changed.txt")
    right, flagged, wrong = _score(parsed, FOUR)
    assert not wrong and right == 0
    assert not any("printed after the table's end" in p for p in parsed.report["problems"])


@pytest.mark.parametrize("name", ["hz_doc_pdftotext.txt", "hz_rtf_pdftotext.txt", "hz_html_chromium_pdftotext.txt"])
@pytest.mark.parametrize("seed", range(20))
def test_table_four_with_values_dropped_doubled_or_numbers_added_is_right_or_flagged(name, seed):
    """Table 四's values (inside the table and after its end) with one dropped or printed twice, or a
    bare number added after the end: never a wrong number without a flag."""
    lines = (EXTRACTS / name).read_text("utf-8").split("\n")
    start = next(i for i, s in enumerate(lines) if s.startswith("四、政府信息公开行政复议"))
    number = re.compile(r"^\d+( \d+)?$")
    at = [i for i in range(start, len(lines)) if number.match(lines[i].strip())]
    rng = random.Random(seed)
    i = rng.choice(at)
    what = rng.choice(["drop", "double", "add"])
    if what == "drop":
        lines[i] = ""
    elif what == "double":
        lines[i] = lines[i] + "\n" + lines[i]
    else:
        lines.insert(rng.randrange(at[-1] - 8, len(lines)), str(rng.randint(0, 60)))
    right, flagged, wrong = _score(parse_text("\n".join(lines), "damaged.txt"))
    assert not wrong, wrong


def _applications_lines(text: str) -> tuple[list[str], int, int]:
    lines = text.split("\n")
    start = next(i for i, s in enumerate(lines) if s.startswith("三、收到和处理"))
    end = next(i for i, s in enumerate(lines) if s.startswith("四、政府信息公开行政复议"))
    return lines, start, end


def _value_lines(lines, start, end) -> list[int]:
    number = re.compile(r"^\d+$")
    return [i for i in range(start, end) if number.match(lines[i])]


@pytest.mark.parametrize("seed", range(30))
def test_values_moved_across_rows_dropped_or_doubled_are_right_or_flagged(seed):
    """The Calc extract (values one a line, 7 a row) with a value swapped with the first of the next
    row, dropped or printed twice: every cell of the key is right or flagged, never a wrong number
    without a flag. (A swap inside a row whose label is printed before it is what the text prints,
    read as printed; its column totals then fail the checks.)"""
    lines, start, end = _applications_lines((EXTRACTS / "hz_xls_pdftotext.txt").read_text("utf-8"))
    rng = random.Random(seed)
    at = _value_lines(lines, start, end)
    assert len(at) == 175
    for _ in range(rng.randint(1, 3)):
        what = rng.choice(["swap", "swap", "drop", "double"])
        if what == "swap":
            k = 7 * rng.randint(1, 24)
            i, j = at[k - 1], at[k]
            lines[i], lines[j] = lines[j], lines[i]
        elif what == "drop":
            lines[rng.choice(at)] = "说明"
        else:
            i = rng.choice(at)
            lines[i] = lines[i] + "\n" + lines[i]
    parsed = parse_text("\n".join(lines), "moved.txt")
    right, flagged, wrong = _score(parsed)
    assert not wrong, wrong


@pytest.mark.parametrize("name", ["hz_doc_pdftotext.txt", "hz_rtf_pdftotext.txt", "hz_xls_pdftotext.txt",
                                  "hz_html_chromium_pdftotext.txt"])
@pytest.mark.parametrize("seed", range(12))
def test_reading_order_extracts_with_values_moved_dropped_or_doubled_are_right_or_flagged(name, seed):
    """pdftotext's reading order with 1–3 values of table 三 swapped with the next, dropped, printed
    twice or moved to a random line: the values no longer make rows × columns, so the row order
    cannot be used, and rows whose values sit on lines of their own are flagged; never a wrong
    number without a flag."""
    lines, start, end = _applications_lines((EXTRACTS / name).read_text("utf-8"))
    _damage_value_lines(lines, start, end, random.Random(seed), re.compile(r"^\d+( \d+)?$"),
                        ("swap", "drop", "double", "move"), dropped_as="说明")
    right, flagged, wrong = _score(parse_text("\n".join(lines), "moved.txt"))
    assert not wrong, wrong


def test_whole_rows_swapped_are_flagged_reordered():
    """Two rows' values swapped whole keep every identity: the text cannot tell, and neither row's
    label was printed before its values, so both are published flagged reordered, never clean."""
    lines, start, end = _applications_lines((EXTRACTS / "hz_xls_pdftotext.txt").read_text("utf-8"))
    at = _value_lines(lines, start, end)
    rows = [[lines[i] for i in at[k:k + 7]] for k in range(0, 175, 7)]
    a = rows.index(["49", "2", "0", "0", "0", "0", "51"])
    b = rows.index(["103", "1", "0", "0", "0", "0", "104"])
    for n in range(7):
        lines[at[7 * a + n]], lines[at[7 * b + n]] = lines[at[7 * b + n]], lines[at[7 * a + n]]
    parsed = parse_text("\n".join(lines), "swapped.txt")
    right, flagged, wrong = _score(parsed)
    assert not wrong
    moved = {c.row_path: c.flags for c in parsed.cells if c.table == "applications" and c.value in (51, 104)
             and c.column_path == "申请人情况 > 总计"}
    assert len(moved) == 2 and all("reordered" in f for f in moved.values())


def test_a_numbered_header_gives_no_value():
    """'类别 / 数据1 … 数据7' printed before the values (one a line): the numbers are the header's."""
    lines, start, _ = _applications_lines((EXTRACTS / "hz_xls_pdftotext.txt").read_text("utf-8"))
    lines[start + 1:start + 1] = ["类别"] + [f"数据{k}" for k in range(1, 8)]
    parsed = parse_text("\n".join(lines), "numbered.txt")
    right, flagged, wrong = _score(parsed)
    assert right == len(KEY["cells"]) and not wrong


def test_furniture_and_numbered_headers():
    def line(*parts):
        return [Tok(p, 1, p.isdigit()) for p in parts]
    assert _furniture(line("Page", "1")) and _furniture(line("Sheet", "1")) and _furniture(line("—", "5", "—"))
    assert not _furniture(line("规章", "1")) and not _furniture(line("1"))
    toks = line("类别", "数据", "1", "数据", "2", "数据", "3", "规章", "1", "2", "3")
    assert {t.text for t in toks if id(t) in _numbered_header(toks)} == {"1", "2", "3"}
    assert len(_numbered_header(toks)) == 3
    assert not _numbered_header(line("数据", "1", "数据", "2", "规章", "3"))


# --------------------------------------------------------------------------- real web copies

WEB = FIXTURES / "web_extracts"


@pytest.mark.parametrize("name", sorted(p.name for p in WEB.glob("*.txt")))
def test_real_web_copies_are_right_or_flagged(name):
    """Real report pages from four publishers (tests/fixtures/web_extracts/README.md) against their
    hand-written keys: every keyed cell the parser publishes is right or flagged, and the complete
    tables are published whole."""
    key = json.loads((WEB / name).with_suffix(".json").read_text("utf-8"))
    parsed = parse_report((WEB / name).read_bytes(), name)
    cells = key["cells"] + key.get("partial_table_cells", [])
    right, flagged, wrong = _score(parsed, cells)
    assert not wrong, wrong
    got = {(c.table, c.row_path, c.column_path) for c in parsed.cells}
    assert all((k["table"], k["row"], k["column"]) in got for k in key["cells"])
    assert right >= 0.9 * len(cells)


def test_a_swap_inside_a_row_printed_at_its_label_flags_the_columns_it_breaks():
    """Row (一) printed right after its label with two parts swapped (…19, 14… → …14, 19…): its own
    total holds, so it is read as printed, but in a table the order of the text placed, the two
    columns' totals fail and their cells are flagged reordered — never published clean."""
    lines, start, end = _applications_lines((EXTRACTS / "hz_xls_pdftotext.txt").read_text("utf-8"))
    at = _value_lines(lines, start, end)
    row = [lines[i] for i in at[14:21]]
    assert row == ["5345", "129", "0", "41", "19", "14", "5548"]
    lines[at[18]], lines[at[19]] = "14", "19"
    parsed = parse_text("\n".join(lines), "swapped_inside.txt")
    right, flagged, wrong = _score(parsed)
    assert not wrong and flagged == 2
    cells = {(c.row_path, c.column_path): c for c in parsed.cells if c.table == "applications"}
    for col in ("申请人情况 > 法人或其他组织 > 法律服务机构", "申请人情况 > 法人或其他组织 > 其他"):
        assert "reordered" in cells[("三、本年度办理结果 > （一）予以公开", col)].flags
    assert sum("breaks applications_outcome_total" in p for p in parsed.report["problems"]) == 2


XUWEN_LAST = "| | 5.属于三类内部事务信息 | | | | | | | 0 |"
XUWEN_ROW = "三、本年度办理结果 > （三）不予公开 > 5.属于三类内部事务信息"


def _xuwen(last_line: str, after: str = "| | 6.属于四\n") -> str:
    text = (WEB / "xuwen_bureau_2022.txt").read_text("utf-8")
    assert XUWEN_LAST + "\n| | 6.属于四\n[...]" in text
    return text.replace(XUWEN_LAST + "\n| | 6.属于四\n", last_line + "\n" + after)


def test_a_last_row_printed_whole_before_the_cut_line_is_kept():
    """The real copy cut on the line after its last whole row, which prints six blank cells and a 0:
    one cell per column on its own line with the table going on below, so the row is the copy's, not
    cut; its cells are published (blank as null), the table stays incomplete."""
    parsed = parse_report((WEB / "xuwen_bureau_2022.txt").read_bytes(), "xuwen.txt")
    row = [c for c in parsed.cells if c.row_path == XUWEN_ROW]
    assert [c.value for c in row] == [None] * 6 + [0] and not any(c.flags for c in row)
    assert parsed.report["applications_status"] == "incomplete"
    assert not any("cut off by the copy" in p for p in parsed.report["problems"])


@pytest.mark.parametrize("last_line,after", [
    (XUWEN_LAST, ""),                                         # the copy ends on the row's own line
    ("| | 5.属于三类内部事务信息 | | | | | | | 1", ""),          # …and its last number may be cut
    ("| | 5.属于三类内部事务信息 | | | | | 0 |", "| | 6.属于四\n"),  # fewer cells than columns
    ("| | 5.属于三类内部事务信息 | | | | | | |", "0 |\n| | 6.属于四\n"),  # the row goes on to the next line
])
def test_a_last_row_that_may_be_cut_is_still_not_published(last_line, after):
    """The same copy with its last row possibly cut by the copy: printed on the copy's last line (a
    value may have lost digits), short of a cell, or spread over lines: not published, said so."""
    parsed = parse_text(_xuwen(last_line, after), "cut.txt")
    assert not [c for c in parsed.cells if c.row_path == XUWEN_ROW]
    assert any("cut off by the copy" in p for p in parsed.report["problems"])
    assert parsed.report["applications_status"] == "incomplete"


LG_ONE = "三、本年度办理结果 > （一）予以公开"
LG_SECRET = "三、本年度办理结果 > （三）不予公开 > 1.属于国家秘密"


def _lg_rows(parsed, *rows):
    return {r: [c for c in parsed.cells if c.row_path == r] for r in rows}


def test_labels_wrapped_around_their_first_value_keep_their_row():
    """The real reading-order extract prints '（一）予以公 / 2 / 开 / 1 / 0 / 0 0 0 / 1 / …' and
    '1.属于国家 / 0 / 秘密 / 0 …': the pieces joined are the row's label, so the row goes on. Row (一)
    then reads (二)'s first value printed right after its own (its total printed at the end of the
    page): that value breaks (一)'s total and precedes values with no row, so it is left to them; both
    rows hold six values, their totals fixed by the identities: right, flagged inferred."""
    parsed = _parse("lg_html_pdftotext.txt")
    rows = _lg_rows(parsed, LG_ONE, LG_SECRET)
    assert [c.value for c in rows[LG_ONE]] == [2, 1, 0, 0, 0, 0, 3]
    assert [c.value for c in rows[LG_SECRET]] == [0] * 7
    assert all("inferred" in c.flags for r in rows.values() for c in r)
    assert _score(parsed, LG_KEY["partial_table_cells"])[0] == 70   # every visible row, (二) too (below)


LG_PART = "三、本年度办理结果 > （二）部分公开（区分处理的，只计这一情形，不计其他情形）"


def test_a_row_printed_apart_from_its_other_values_takes_the_only_values_with_no_row():
    """Row (二)'s label and 16 come after row 7, its other six values right after (一)'s: they are the
    only values with no row, exactly the six it lacks, and 16 then them hold its total (the other
    order does not): the row takes them, flagged reordered."""
    parsed = _parse("lg_html_pdftotext.txt")
    part = _lg_rows(parsed, LG_PART)[LG_PART]
    assert [c.value for c in part] == [16, 1, 0, 0, 0, 0, 17]
    assert all("reordered" in c.flags for c in part)
    assert any("the only values with no row" in p for p in parsed.report["problems"])


@pytest.mark.parametrize("old,new", [("\n0 0 17\n", "\n0 0 18\n"),      # its total then fails
                                     ("\n0 0 17\n", "\n0 17\n")])        # one value too few
def test_a_row_printed_apart_takes_values_only_when_they_fit(old, new):
    """One digit changed or one value dropped: the stray values are not given to row (二), which is
    not published (the copy is cut inside it) — never a wrong number."""
    text = (EXTRACTS / "lg_html_pdftotext.txt").read_text("utf-8")
    assert text.count(old) == 1
    parsed = parse_text(text.replace(old, new), "changed.txt")
    right, flagged, wrong = _score(parsed, LG_KEY["partial_table_cells"])
    assert not wrong
    assert not any(c.value is not None and "unresolved" not in c.flags
                   for c in _lg_rows(parsed, LG_PART)[LG_PART])
    assert not any("the only values with no row" in p for p in parsed.report["problems"])


@pytest.mark.parametrize("old,new", [
    ("\n0 0 0\n\n1\n", "\n0 0 3\n\n1\n"),   # (一) keeps six values that several placements fit
    ("(一)予以公\n2\n开\n", "(一)予以公\n2\n开放\n"),   # the pieces joined are no row's label
])
def test_wrapped_first_values_that_do_not_fit_stay_unresolved(old, new):
    """The same extract with (一)'s six values no longer fixing one placement, or a piece that does not
    complete the label: row (一) is not published clean with a guess."""
    text = (EXTRACTS / "lg_html_pdftotext.txt").read_text("utf-8")
    assert old in text
    parsed = parse_text(text.replace(old, new, 1), "lg_changed.txt")
    assert not _score(parsed, LG_KEY["partial_table_cells"])[2]
    row = _lg_rows(parsed, LG_ONE)[LG_ONE]
    assert all(c.value is None and "unresolved" in c.flags for c in row)


def test_a_last_value_that_keeps_the_total_is_not_given_away():
    """Row (一) whose seventh value keeps its total (3 for 1): nothing is left to the values after it;
    with values with no row right after its values spread over lines, the row stays in doubt."""
    text = (EXTRACTS / "lg_html_pdftotext.txt").read_text("utf-8")
    old = "\n0 0 0\n\n1\n"
    parsed = parse_text(text.replace(old, "\n0 0 0\n\n3\n", 1), "lg_total.txt")
    assert not any("left to them" in p for p in parsed.report["problems"])
    row = _lg_rows(parsed, LG_ONE)[LG_ONE]
    assert all(c.value is None and "unresolved" in c.flags for c in row)


def test_a_row_printed_turned_round_is_read_when_one_turn_fits():
    """Chromium's print of the Hangzhou page: row (六)1's last two cells printed above its first five
    ('0 318' / '…其政府信 315 3 0 0 0'): in the row order the row breaks its total; turned round so
    its total holds — for one turn only, and with every column total — it is read, flagged reordered.
    Every cell of the report is then right."""
    parsed = _parse("hz_html_chromium_pdftotext.txt")
    right, flagged, wrong = _score(parsed)
    assert right == len(KEY["cells"]) == 200 and not wrong
    row = [c for c in parsed.cells if c.row_path.endswith("1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请")]
    assert [c.value for c in row] == [315, 3, 0, 0, 0, 0, 318] and all("reordered" in c.flags for c in row)


def test_a_row_turned_round_is_not_read_when_no_turn_fits():
    """The same row with its total changed (318 → 319): no turn makes it hold; it stays unresolved."""
    text = (EXTRACTS / "hz_html_chromium_pdftotext.txt").read_text("utf-8")
    parsed = parse_text(text.replace("\n0 318\n", "\n0 319\n", 1), "changed.txt")
    right, flagged, wrong = _score(parsed)
    assert not wrong and right == 200 - 7
    row = [c for c in parsed.cells if c.row_path.endswith("1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请")]
    assert all(c.value is None and "unresolved" in c.flags for c in row)


def test_a_turn_is_taken_only_when_it_is_the_only_one():
    """5 0 0 5 0 0 0 breaks its total; two turns make it hold (…5 / …5): with no column total to
    choose, the row is not turned."""
    from transforms.parse.row_order import _rotated
    ids = [[(0, 1), (1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, -1)]]
    chunk = [Tok(x, 1, True) for x in "5 0 0 5 0 0 0".split()]
    assert _rotated([chunk], {}, ids, []) == {}
    once = [Tok(x, 1, True) for x in "0 318 315 3 0 0 0".split()]
    assert [t.text for t in _rotated([once], {}, ids, [])[0]] == "315 3 0 0 0 0 318".split()


def test_digits_run_together_are_told_by_their_leading_zero():
    from transforms.parse.row_order import _unfused
    toks = [Tok(x, 1, True) for x in ["0", "002", "000", "0012", "10", "00"]]
    assert [t.text for t in _unfused(toks)] == ["0", "0", "0", "2", "0", "0", "0", "0", "0", "12", "10", "0", "0"]


LG_CHROMIUM = "lg_html_chromium_pdftotext.txt"


def test_a_cut_table_read_in_row_order_when_its_labels_are_the_rows_its_values_fill():
    """Chromium's print of the cut lg page: each row's values near its label, digits of the last cells
    run together ('0 002'), the copy cut after row 7's label. Split at their leading zeros, the 76
    values fill the first ten rows and six cells of row 7, whose labels are exactly the ones printed;
    every full row holds its total: every visible row right, flagged reordered; row 7 (cut) is not
    published."""
    parsed = _parse(LG_CHROMIUM)
    right, flagged, wrong = _score(parsed, LG_KEY["partial_table_cells"])
    assert right == len(LG_KEY["partial_table_cells"]) and not wrong
    assert any("the first 11 of its" in p for p in parsed.report["problems"])
    assert not [c for c in parsed.cells if c.row_path.endswith("7.属于行政执法案卷") and c.value is not None]
    assert parsed.report["applications_status"] == "incomplete"


@pytest.mark.parametrize("old,new", [
    ("5.属于三类内部事务信息\n", "\n"),                   # a label lost: the labels are no longer those rows
    ("\n1\n0\n0\n0 001\n", "\n"),                     # a row's values lost (a blank row)
    ("\n0 001\n", "\n0 002\n"),                         # a total changed: that row breaks it
    ("\n0 002\n", "\n0 02\n"),                          # one cell fewer: every later row shifts
])
def test_a_cut_table_with_a_label_or_values_lost_is_never_wrong(old, new):
    """The cut lg print with a label lost, a row's values lost, a digit changed or a value lost: the
    reading in row order is refused (a cut table has no column total to tell a shift: one row that
    breaks its total refuses them all) — never a wrong number without a flag."""
    text = (EXTRACTS / LG_CHROMIUM).read_text("utf-8")
    assert old in text
    parsed = parse_text(text.replace(old, new, 1), "changed.txt")
    assert not _score(parsed, LG_KEY["partial_table_cells"])[2]
    assert not any("the first 11 of its" in p for p in parsed.report["problems"])


@pytest.mark.parametrize("seed", range(40))
def test_a_cut_table_with_values_moved_dropped_doubled_or_fused_is_right_or_flagged(seed):
    """The cut lg print with 1–3 value lines of table 三 swapped with the next, dropped, printed twice,
    or two run together: never a wrong number without a flag."""
    lines = (EXTRACTS / LG_CHROMIUM).read_text("utf-8").split("\n")
    start = next(i for i, s in enumerate(lines) if s.startswith("三、收到和处理"))
    end = next(i for i, s in enumerate(lines) if s.startswith("[...]"))
    _damage_value_lines(lines, start, end, random.Random(seed), re.compile(r"^\d+( \d+)*$"),
                        ("swap", "drop", "double", "fuse"), dropped_as="")
    parsed = parse_text("\n".join(lines), "damaged.txt")
    assert not _score(parsed, LG_KEY["partial_table_cells"])[2]
    assert not _score(parsed, LG_KEY["cells"])[2]


def test_rows_whose_values_the_copy_cut_off_are_published_unresolved():
    """The 2019 report's Word copy read in reading order: table 三's labels wrapped in pieces of three
    characters ('一、本 / 年新收 / 政府信 / …'), its values printed after the copy's cut mark. Joined,
    the labels are rows 一 and 二, published with every cell null and flagged unresolved (nothing to
    place them by) rather than lost; the row the copy cut is not published."""
    parsed = _parse("gz_doc_pdftotext.txt")
    rows = {c.row_path for c in parsed.cells if c.table == "applications"}
    assert rows == {"一、本年新收政府信息公开申请数量", "二、上年结转政府信息公开申请数量"}
    assert all(c.value is None and "unresolved" in c.flags for c in parsed.cells if c.table == "applications")
    assert any("row labels wrapped over several lines joined again" in p for p in parsed.report["problems"])
    assert not _score(parsed, GZ_KEY["partial_table_cells"])[2]


def _damage_value_lines(lines: list[str], start: int, end: int, rng: random.Random, number: re.Pattern,
                        kinds: tuple[str, ...], *, dropped_as: str) -> None:
    """1–3 random damages, in place, to the value lines (matching `number`) of lines[start:end]: one
    swapped with the next, dropped (replaced by `dropped_as`), printed twice, moved to a random line of
    the range, or run together with the next value (its first space removed)."""
    at = [i for i in range(start, end) if number.match(lines[i].strip())]
    for _ in range(rng.randint(1, 3)):
        what = rng.choice(kinds)
        i = rng.randrange(len(at) - 1)
        if what == "swap":
            lines[at[i]], lines[at[i + 1]] = lines[at[i + 1]], lines[at[i]]
        elif what == "drop":
            lines[at[i]] = dropped_as
        elif what == "double":
            lines[at[i]] = lines[at[i]] + "\n" + lines[at[i]]
        elif what == "fuse":
            lines[at[i]] = lines[at[i]].replace(" ", "", 1)
        else:
            lines.insert(rng.randrange(start, end), lines.pop(at[i]))
            at = [k for k in range(start, end) if number.match(lines[k].strip())]

"""Text that PDF extractors and OCR print: labels wrapped over lines, group cells in pieces, rows
printed before their label, page numbers inside tables (transforms/rejoin.py, the engine's fallback).

The extracts are of a real report (tests/fixtures/extracts/README.md), scored against its answer key:
every cell right, or flagged; never a wrong number without a flag.
"""
from __future__ import annotations

import json
import math
import random
import re
from pathlib import Path

import pytest

from transforms.engine import parse_report, parse_text
from transforms.rejoin import is_page_number

HERE = Path(__file__).resolve().parent
EXTRACTS = HERE / "fixtures" / "extracts"
KEY = json.loads((HERE / "fixtures" / "realworld" / "expected" / "hangzhou_style_2025.json").read_text("utf-8"))
FLAGS_THAT_WARN = {"unresolved", "inferred", "reordered", "nonnumeric"}


def _score(parsed):
    """(right, flagged, wrong without a flag, missing) over the key's cells."""
    got = {(c.table, c.row_path, c.column_path): c for c in parsed.cells}
    right, flagged, wrong, missing = 0, [], [], []
    for k in KEY["cells"]:
        c = got.get((k["table"], k["row"], k["column"]))
        if c is None:
            missing.append(k["row"])
            continue
        same = (c.value is None and k["value"] is None) or (
            c.value is not None and k["value"] is not None and math.isclose(c.value, k["value"]))
        if same:
            right += 1
        elif FLAGS_THAT_WARN & set(c.flags):
            flagged.append((k["row"], k["column"]))
        else:
            wrong.append((k["row"], k["column"], k["value"], c.value, c.raw_value))
    return right, flagged, wrong, missing


def _cut(wrong) -> bool:
    """A number whose end the extractor dropped (a glyph clipped by a narrow cell: 14069 printed '140')."""
    _, _, want, got, raw = wrong
    return raw is not None and raw.isdigit() and str(int(want)).startswith(raw) and len(raw) < len(str(int(want)))


def _parse(name: str):
    path = EXTRACTS / name
    return parse_report(path.read_bytes(), name)


@pytest.mark.parametrize("name", ["hz_html_lo.pdf", "hz_doc_pdfplumber.txt", "hz_html_pdftotext_layout.txt"])
def test_wrapped_labels_of_real_extracts_give_every_cell(name):
    parsed = _parse(name)
    right, flagged, wrong, missing = _score(parsed)
    assert not wrong and not missing, (wrong, missing)
    assert right == len(KEY["cells"]), flagged
    assert parsed.report["applications_status"] == "complete", parsed.report["problems"]
    assert any("wrapped over several lines joined" in p for p in parsed.report["problems"])


def test_the_pdf_reader_reads_the_libreoffice_pdf_of_a_real_report():
    """The normal PDF reader (pdfplumber words → lines) on the .doc printed to PDF: one row is printed
    after its values (its label cell sits lower than its numbers); it is placed and flagged reordered."""
    parsed = parse_report((HERE / "fixtures" / "site" / "hangzhou_style_2025.pdf").read_bytes(), "hz.pdf")
    right, flagged, wrong, missing = _score(parsed)
    assert right == len(KEY["cells"]) and not wrong and not missing
    reordered = {c.row_path for c in parsed.cells if "reordered" in c.flags}
    assert reordered == {"三、本年度办理结果 > （五）不予处理 > 4.无正当理由大量反复申请"}


@pytest.mark.parametrize("name", ["hz_doc_pdftotext.txt", "hz_xls_pdftotext_layout.txt", "hz_xls_pdftotext.txt"])
def test_extracts_that_lose_the_row_order_are_flagged_never_wrong(name):
    """Column-by-column reading order, values at the bottom of cells one row below their label, a
    column of labels then a column of values: which row a value belongs to is not in the text."""
    right, flagged, wrong, missing = _score(_parse(name))
    assert all(map(_cut, wrong)), wrong                       # printed so by the extractor, see below
    assert right + len(flagged) + len(missing) + len(wrong) == len(KEY["cells"])


def test_numbers_the_extractor_cut_are_published_as_printed_and_break_their_identity():
    """pdftotext -layout drops the glyphs a narrow cell clips (14069 → '140'): every other cell is
    right, the cut ones keep the printed text, and their row totals break (the report fails)."""
    parsed = _parse("hz_doc_pdftotext_layout.txt")
    right, flagged, wrong, missing = _score(parsed)
    assert not missing and not flagged
    assert right == len(KEY["cells"]) - len(wrong)
    assert wrong and all(map(_cut, wrong)) and all(w[1].endswith("总计") for w in wrong), wrong
    from transforms.reconcile import quality_checks, verdicts
    from transforms.tidy import to_frames
    frames = to_frames([parsed])
    qc = quality_checks(frames).set_index("check")
    assert verdicts(frames["reports"], qc.reset_index())["verdict"].iat[0] == "fail"
    assert qc.loc["applications_row_total", "status"] == "fail"
    assert qc.loc["litigation_after_review_total", "status"] == "fail"   # 156 printed '1'



# --------------------------------------------------------------------------- hostile

def _table_lines(text: str) -> tuple[list[str], int, int]:
    lines = text.split("\n")
    start = next(i for i, s in enumerate(lines) if s.startswith("一、本年新收"))
    end = next(i for i, s in enumerate(lines) if s.startswith("四、结转下年度"))
    return lines, start, end


@pytest.mark.parametrize("seed", range(12))
def test_page_numbers_inside_a_table_are_never_values(seed):
    text = (EXTRACTS / "hz_doc_pdfplumber.txt").read_text("utf-8")
    lines, start, end = _table_lines(text)
    rng = random.Random(seed)
    for _ in range(3):
        at = rng.randint(start + 1, end)
        mark = rng.choice(["— {} —", "- {} -", "－{}－", "第 {} 页", "{} / 9"]).format(rng.randint(0, 12))
        lines.insert(at, mark)
        end += 1
    right, flagged, wrong, missing = _score(parse_text("\n".join(lines), "paged.txt"))
    assert not wrong, wrong
    assert right == len(KEY["cells"]), (flagged, missing)


def test_page_number_patterns():
    assert all(map(is_page_number, ["— 5 —", "-12-", "－3－", "第 5 页", "第5页，共9页", "5 / 12"]))
    assert not any(map(is_page_number, ["5", "0 0 0", "— 5", "5 — 5", "1.属于国家秘密 5"]))


@pytest.mark.parametrize("seed", range(20))
def test_wrapped_labels_with_shuffled_values_are_right_or_flagged(seed):
    """Rows' values lines moved to a random line around their label (before it, inside it, after it),
    with new numbers so a misplaced row cannot pass for the right one: every cell is the one the
    unshuffled text gives, or flagged."""
    src = (EXTRACTS / "hz_doc_pdfplumber.txt").read_text("utf-8")
    lines, start, end = _table_lines(src)
    rng = random.Random(seed)
    numbers = re.compile(r"^\d+( \d+){6}$")
    body = []
    for s in lines[start:end + 1]:
        if numbers.match(s.strip()):
            vals = [rng.randint(0, 40) for _ in range(6)]
            s = " ".join(map(str, vals + [sum(vals)]))
        body.append(s)
    clean = parse_text("\n".join(lines[:start] + body + lines[end + 1:]), "clean.txt")
    want = {(c.row_path, c.column_path): c.value for c in clean.cells if c.table == "applications"}
    assert len(want) == 175 and not any(c.flags for c in clean.cells if c.table == "applications")
    moved = list(body)
    for i in range(len(moved)):
        if numbers.match(moved[i]) and rng.random() < 0.7:
            j = i + rng.choice([-2, -1, 1])
            if 0 <= j < len(moved) and not any(numbers.match(moved[k]) for k in range(min(i, j), max(i, j) + 1)
                                               if k != i):
                moved.insert(j, moved.pop(i))
    parsed = parse_text("\n".join(lines[:start] + moved + lines[end + 1:]), "shuffled.txt")
    got = {(c.row_path, c.column_path): c for c in parsed.cells if c.table == "applications"}
    wrong = [(r, col, v, got[(r, col)].value) for (r, col), v in want.items()
             if (r, col) in got and got[(r, col)].value != v and not FLAGS_THAT_WARN & set(got[(r, col)].flags)]
    assert not wrong, wrong


def test_a_column_header_of_numbered_words_gives_no_value():
    """'类别 数据1 … 数据7' printed as the header row of table 三 (OCR and some exports): its digits are
    not values and the rows below read as before."""
    src = (EXTRACTS / "hz_doc_pdfplumber.txt").read_text("utf-8")
    lines, start, _ = _table_lines(src)
    lines.insert(start, "类别 数据1 数据2 数据3 数据4 数据5 数据6 数据7")
    right, flagged, wrong, missing = _score(parse_text("\n".join(lines), "numbered_header.txt"))
    assert not wrong and right == len(KEY["cells"]), (flagged, missing)


def test_interleaved_one_cell_per_line_rows_are_not_read_as_one_row():
    """规章 3 / 行政规范性文件 564 / 5 / 74 / 984 / 4185 (pdftotext's reading order): the second row
    took three of five values printed after it — which are its own is not printed."""
    parsed = _parse("hz_doc_pdftotext.txt")
    rows = {c.column_path: c for c in parsed.cells if c.row_path == "第二十条第（一）项 > 行政规范性文件"}
    assert rows and all("unresolved" in c.flags and c.value is None for c in rows.values())

"""The one charset decoder (transforms.read.charsets): damaged copies keep what is readable.

A UTF-8 (or GB18030, UTF-16) report cut in the middle of a character, or carrying an isolated
invalid byte, is repaired (U+FFFD), reported (problem ``decode_repaired``) and the cells read from
the damaged lines are flagged ``decode_repaired``; text that is clearly UTF-8 is never handed to a
legacy codec (GB18030 would "decode" it into mojibake); binary garbage is still refused. The seeds
are tests/fixtures/seeds/*.txt; bench/decode_damage.py runs the same experiment at a larger size.
"""
from __future__ import annotations

import codecs
import random
import sys

import pytest

from transforms.read.charsets import MAX_REPAIR_RUNS, DecodeError, decode
from transforms.engine import parse_report
from transforms.checks.quarantine import classify_reason
from transforms.tidy import to_frames

from paths import ROOT
SEEDS = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))
SEED1 = SEEDS[1]          # 2021 format, tab_cells; lines 18–21: 行政规范性文件 / 1 / 0 / 2


def _cells(parsed) -> dict:
    return {(c.table, c.row_path, c.column_path): c for c in parsed.cells}


def _line_start(data: bytes, line: int) -> int:
    """Byte offset where 1-based `line` starts."""
    pos = 0
    for _ in range(line - 1):
        pos = data.index(b"\n", pos) + 1
    return pos


def test_strict_utf8_is_not_repaired():
    text, enc, repairs = decode(SEED1.read_bytes())
    assert enc == "utf-8" and repairs == () and "\ufffd" not in text


def test_cut_inside_a_character_is_repaired_and_keeps_the_complete_rows():
    data = SEED1.read_bytes()
    cut = data.index("（三）不予公开".encode()) + len("（三）".encode()) + 1   # 1 byte of 不 (3 bytes) left
    whole = _cells(parse_report(data[:cut - 1], "cut-before.txt"))   # the same file cut at a character boundary
    text, enc, repairs = decode(data[:cut])
    assert enc == "utf-8" and text.endswith("\ufffd") and len(repairs) == 1
    assert (repairs[0].offset, repairs[0].length) == (cut - 1, 1)
    p = parse_report(data[:cut], "cut.txt")
    assert p.report["status"] == "parsed"
    assert any("decode_repaired" in x and f"byte {cut - 1}" in x for x in p.report["problems"])
    got = _cells(p)
    assert got.keys() == whole.keys() and all(got[k].value == whole[k].value for k in got)


def test_a_short_text_cut_inside_its_last_character_is_still_utf8():
    text, enc, repairs = decode("某某局2020年政府".encode()[:-1])
    assert (text, enc, [(r.offset, r.length) for r in repairs]) == ("某某局2020年政\ufffd", "utf-8", [(19, 2)])


def test_bad_byte_in_a_value_line_flags_that_row_and_nothing_else():
    data = bytearray(SEED1.read_bytes())
    at = _line_start(bytes(data), 19)                       # "\t1": 行政规范性文件's first value
    assert data[at:at + 2] == b"\t1"
    data[at + 1:at + 1] = b"\xff"                           # "\t\xff1"
    p = parse_report(bytes(data), "flip.txt")
    truth = _cells(parse_report(SEED1.read_bytes(), SEED1.name))
    assert p.report["status"] == "parsed" and p.report["encoding"] == "utf-8"
    problem = next(x for x in p.report["problems"] if "decode_repaired" in x)
    assert f"byte {at + 1} (line 19, 1 byte)" in problem
    got = _cells(p)
    flagged = {k for k, c in got.items() if "decode_repaired" in c.flags}
    # the damaged "\ufffd1" reads as a row label of its own: the values under it are all flagged
    assert flagged and all(k[1].endswith(("行政规范性文件", "\ufffd1")) for k in flagged)
    for k, c in got.items():            # every other value: as in the intact seed (a lost one is null)
        if k not in flagged and c.value is not None:
            assert c.value == truth[k].value and c.raw_value == truth[k].raw_value, k


def test_bad_byte_in_a_label_flags_the_row():
    data = SEED1.read_bytes()
    at = data.index("行政规范性文件".encode()) + 12          # the first byte of 性
    damaged = data[:at] + b"\xff" + data[at + 1:]           # 0xFF and two stray continuation bytes: one run
    text, _, repairs = decode(damaged)
    assert len(repairs) == 1 and repairs[0].length == 3 and "行政规范\ufffd文件" in text
    p = parse_report(damaged, "label.txt")
    rows = {c.row_path for c in p.cells if "decode_repaired" in c.flags}
    assert rows and all("行政规范" in r for r in rows)


def test_utf8_with_bad_bytes_never_becomes_legacy_mojibake():
    """GB18030 decodes UTF-8 bytes without an error: the decoder must not try it on UTF-8 text."""
    data = SEED1.read_bytes()
    rng = random.Random(3)
    for _ in range(20):
        at = rng.randrange(len(data))
        while 0x80 <= data[at] < 0xC0:                      # at a character boundary
            at += 1
        damaged = data[:at] + b"\x80" + data[at:]           # a stray continuation byte anywhere
        text, enc, repairs = decode(damaged)
        assert enc == "utf-8" and len(repairs) == 1 and text.replace("\ufffd", "") == data.decode()


def test_a_stray_nul_in_utf8_text_is_repaired_not_binary():
    data = SEED1.read_bytes()
    at = data.index(b" ")
    damaged = data[:at] + b"\x00" + data[at + 1:]            # a space (0x20) with its bit 5 flipped
    text, enc, repairs = decode(damaged)
    assert enc == "utf-8" and [(r.offset, r.length) for r in repairs] == [(at, 1)]
    assert text == data[:at].decode() + "\ufffd" + data[at + 1:].decode()
    assert parse_report(damaged, "nul.txt").report["status"] == "parsed"


def test_too_damaged_utf8_is_refused_not_guessed():
    data = bytearray(SEED1.read_bytes())
    for at in range(1000, 1000 + 60 * (MAX_REPAIR_RUNS + 1), 60):
        data[at] = 0xFF
    with pytest.raises(DecodeError) as exc:
        decode(bytes(data))
    assert exc.value.code == "undecodable" and "too damaged" in str(exc.value)


@pytest.mark.parametrize("encoding", ["gb18030", "big5hkscs"])
def test_legacy_charset_cut_inside_a_character_is_repaired(encoding):
    import opencc

    text = SEED1.read_text(encoding="utf-8")
    if encoding == "big5hkscs":
        text = opencc.OpenCC("s2t.json").convert(text)
    data = text.encode(encoding, errors="replace")
    cut = len(data) // 2
    while data[cut - 1] < 0x80:  # end on the lead byte of a two-byte character
        cut += 1
    intact = decode(data[:cut - 1])
    got = decode(data[:cut])
    assert got.encoding == encoding and intact.encoding == encoding
    assert got.text == intact.text + "\ufffd" and [(r.offset, r.length) for r in got.repairs] == [(cut - 1, 1)]


def test_utf16_cut_inside_a_code_unit_is_repaired():
    data = codecs.BOM_UTF16_LE + SEED1.read_text(encoding="utf-8").encode("utf-16-le")
    text, enc, repairs = decode(data[:-1])
    assert enc == "utf-16" and text.endswith("\ufffd") and len(repairs) == 1


@pytest.mark.parametrize("data,code", [(b"", "empty"), (b" \n\t", "empty"), (bytes(range(256)) * 8, "binary"),
                                       (bytes(b | 1 for b in random.Random(7).randbytes(4096)), "undecodable")])
def test_garbage_is_still_refused_with_its_code(data, code):
    with pytest.raises(DecodeError) as exc:
        decode(data)
    assert exc.value.code == code
    rep = parse_report(data, "bad.bin").report
    assert rep["status"] == "unreadable" and classify_reason(rep["problems"], rep["file_size"]) == code


@pytest.mark.parametrize("offset", [4, 8])       # in the number "13"; in the markup after it ("</td>")
def test_html_row_spanning_lines_is_flagged_where_the_bad_byte_is(offset):
    """An HTML row's cells carry the line of its <tr>: a bad byte on a later line of the row still
    flags the row (or keeps it out), and the rows around it stay clean."""
    rows = "".join(f"<tr>\n<td>{label}</td>\n<td>{a}</td>\n<td>{b}</td>\n<td>{c}</td>\n</tr>\n" for label, a, b, c in
                   [("规章", 1, 2, 5), ("行政规范性文件", 13, 4, 6)])
    page = ("<html><head><meta charset='utf-8'></head><body><p>某某局2023年政府信息公开工作年度报告</p>"
            "<p>二、主动公开政府信息情况</p>\n<table>\n<tr><td>信息内容</td><td>本年制发件数</td>"
            "<td>本年废止件数</td><td>现行有效件数</td></tr>\n" + rows + "</table></body></html>")
    data = page.encode("utf-8")
    at = data.index(b"<td>13</td>") + offset
    p = parse_report(data[:at] + b"\xfe" + data[at + 1:], "page.html")
    assert p.report["status"] == "parsed"
    rule = [c for c in p.cells if c.row_path.endswith("规章")]
    assert [c.value for c in rule] == [1, 2, 5] and not any(c.flags for c in rule)
    normative = [c for c in p.cells if c.row_path.endswith("行政规范性文件")]
    assert all("decode_repaired" in c.flags for c in normative)
    if offset == 8:   # the number itself is intact: the row is published, flagged
        assert [c.value for c in normative] == [13, 4, 6]


def test_decode_repaired_is_a_registered_flag():
    p = parse_report(SEED1.read_bytes()[:-40] + b"\xe5\x9b", "cut.txt")
    frames = to_frames([p])
    from transforms.schema import CELL_FLAGS
    assert "decode_repaired" in CELL_FLAGS
    assert p.report["status"] == "parsed" and len(frames["reports"]) == 1


def test_damaged_seed_copies_lose_nothing_readable_and_publish_no_unflagged_wrong_number():
    """The experiment of bench/decode_damage.py at a small size: random cuts and single bit flips of
    the five seeds. No copy is thrown away by the decoder, and in every repaired copy each published
    value is the intact seed's value at that address, or its cell carries a flag."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from decode_damage import measure
    finally:
        sys.path.remove(str(ROOT / "bench"))
    res = measure(8)
    for kind, stats in res["stats"].items():
        assert stats["lost: undecodable"] == 0, (kind, stats)
        assert stats["published, repaired"] > 0, (kind, stats)
    assert res["wrong"][True] == [], res["wrong"][True]

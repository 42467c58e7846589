"""Scanned reports read by OCR: a real report as an image-only PDF and as a PNG of one table page.

The scan is the real Hangzhou-style 2025 page (tests/fixtures/realworld) printed to a Word table
layout, rendered at 200 dpi and stored as a 1-bit image-only PDF, so its answer key applies. Every
OCR'd cell is flagged ``ocr`` with its confidence; no value may differ from the key without a flag
other than ``ocr`` itself (low confidence, unresolved), and such a report never passes unless its
identities hold.
"""
from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

from transforms.read.sniff import sniff
from transforms.engine import parse_report

from paths import FIXTURES
SCANS = FIXTURES / "scans"
KEY = json.loads((FIXTURES / "realworld" / "expected" / "hangzhou_style_2025.json").read_text())
ocr = pytest.importorskip("transforms.read.ocr")


def _score(parsed, cells):
    got = {(c.table, c.row_path, c.column_path): c for c in parsed.cells}
    right, wrong_unflagged, other = 0, [], []
    for k in cells:
        c = got.get((k["table"], k["row"], k["column"]))
        v = None if c is None else c.value
        same = (v is None and k["value"] is None) or (
            v is not None and k["value"] is not None and math.isclose(v, k["value"]))
        if same:
            right += 1
        elif c is not None and v is not None and set(c.flags) <= {"ocr"}:
            wrong_unflagged.append((k["row"], k["column"], k["value"], v, c.raw_value))
        else:
            other.append((k["row"], k["column"], k["value"], v))
    return right, wrong_unflagged, other


@pytest.fixture(scope="module")
def scanned():
    return parse_report((SCANS / "hz_scan.pdf").read_bytes(), "hz_scan.pdf")


def test_image_only_pdf_of_a_real_report_gives_its_key(scanned):
    assert sniff((SCANS / "hz_scan.pdf").read_bytes()) == "pdf"
    rep = scanned.report
    assert rep["status"] == "parsed" and rep["layout"] == "pdf_ocr", rep["problems"][:3]
    assert rep["template"] == KEY["template"] and rep["report_year"] == KEY["report_year"]
    right, wrong_unflagged, _ = _score(scanned, KEY["cells"])
    assert not wrong_unflagged
    assert right / len(KEY["cells"]) >= 0.97, right


LG_KEY = json.loads((FIXTURES / "realworld" / "expected" / "lg_dept_2024.json").read_text())


def test_image_only_pdf_of_a_second_real_report_gives_its_key():
    """Another real report (a 2021-format copy cut off inside table 三, tests/fixtures/scans/README.md)
    printed to PDF by LibreOffice and rasterised at 200 dpi, 1 bit: its key's cells (table 二 and the
    visible rows of table 三) right or flagged, never a wrong number flagged only ocr, and the cut
    table 三 published as incomplete."""
    parsed = parse_report((SCANS / "lg_scan.pdf").read_bytes(), "lg_scan.pdf")
    rep = parsed.report
    assert rep["status"] == "parsed" and rep["layout"] == "pdf_ocr", rep["problems"][:3]
    assert rep["template"] == LG_KEY["template"] and rep["report_year"] == LG_KEY["report_year"]
    cells = LG_KEY["cells"] + LG_KEY["partial_table_cells"]
    right, wrong_unflagged, _ = _score(parsed, cells)
    assert not wrong_unflagged
    assert right / len(cells) >= 0.97, right
    assert rep["applications_status"] == "incomplete"
    assert all("ocr" in c.flags for c in parsed.cells)


GZ_KEY = json.loads((FIXTURES / "realworld" / "expected" / "mirror_gz_fgj_2020.json").read_text())


def test_image_only_pdf_of_a_report_with_wrapped_captions_gives_its_key():
    """A third real report's Word copy as a scan (tests/fixtures/scans/README.md): captions spanning the
    table and labels wrapped in narrow cells, whose characters' strokes (十 of 第二十条, 文 of 规范性文件)
    fall at the x of the column rules of other rows — they do not split the cell: every keyed cell
    right, none wrong."""
    parsed = parse_report((SCANS / "gz_scan.pdf").read_bytes(), "gz_scan.pdf")
    rep = parsed.report
    assert rep["status"] == "parsed" and rep["template"] == "2019" and rep["report_year"] == 2020
    cells = GZ_KEY["cells"] + GZ_KEY["partial_table_cells"]
    right, wrong_unflagged, other = _score(parsed, cells)
    assert not wrong_unflagged
    assert right / len(cells) >= 0.97, other
    assert rep["active_disclosure_status"] == "complete"


def test_every_ocr_cell_is_flagged_with_its_confidence(scanned):
    assert scanned.cells and all("ocr" in c.flags for c in scanned.cells)
    valued = [c for c in scanned.cells if c.value is not None]
    assert all(c.confidence is not None and 0 <= c.confidence <= 1 for c in valued if "ocr_low_confidence" not in c.flags)
    assert all(c.confidence >= 0.9 for c in valued if "ocr_low_confidence" not in c.flags)


def test_png_of_a_table_page_reads_the_same_way():
    data = (SCANS / "hz_p4_bw.png").read_bytes()
    assert sniff(data) == "image"
    parsed = parse_report(data, "table4.png")
    assert parsed.report["layout"] == "image_ocr"
    four = [k for k in KEY["cells"] if k["table"] == "review_litigation"]
    right, wrong_unflagged, _ = _score(parsed, four)
    assert not wrong_unflagged and right == len(four)


def test_a_tilted_noisy_jpeg_photo_of_the_page_reads_the_same_way():
    """The table page turned by 1.2°, with sensor noise and JPEG compression (a phone photo)."""
    parsed = parse_report((SCANS / "hz_p4_tilted.jpg").read_bytes(), "photo.jpg")
    four = [k for k in KEY["cells"] if k["table"] == "review_litigation"]
    right, wrong_unflagged, _ = _score(parsed, four)
    assert not wrong_unflagged and right == len(four)


def test_tables_cut_by_a_page_break_are_joined():
    a = ocr.Table(0, 100, 3, [ocr.Row(0, [(0, "label", 1.0), (1, "v", 1.0), (2, "w", 1.0)]),
                              ocr.Row(50, [(0, "1.属于国", 0.9), (1, "13", 1.0), (2, "0", 1.0)])])
    b = ocr.Table(0, 100, 3, [ocr.Row(0, [(0, "家秘密", 0.8), (1, "", None), (2, "", None)]),
                              ocr.Row(40, [(0, "2.其他", 1.0), (1, "30", 1.0), (2, "0", 1.0)])])
    joined = ocr.join_pages([[(10, a)], [(5, "— 2 —"), (20, b)]])
    assert len(joined) == 1
    t = joined[0][1]
    assert [c[1] for c in t.rows[1].cells] == ["1.属于国家秘密", "13", "0"]
    assert t.rows[1].cells[0][2] == 0.8 and len(t.rows) == 3


def test_ruling_lines_give_the_grid_and_spans():
    img = np.full((200, 400), 255, np.uint8)
    for y in (10, 60, 110, 190):
        img[y:y + 2, 10:390] = 0
    for x in (10, 200, 389):
        img[10:190, x:x + 2] = 0
    img[110:190, 300:302] = 0              # a rule in the last row only: that row has 3 cells
    h, v = ocr.rules(ocr.binarise(img))
    (g,) = ocr.grids(h, v)
    assert len(g.ys) == 4 and len(g.xs) == 4
    assert (0, 1, 1, 2) in g.cells and (2, 2, 1, 1) in g.cells


def test_a_character_stroke_is_not_a_column_rule():
    import cv2
    img = np.full((120, 400), 255, np.uint8)
    for y in (10, 60, 110):
        img[y:y + 2, 10:390] = 0
    for x in (10, 389):
        img[10:110, x:x + 2] = 0
    cv2.putText(img, "I", (150, 52), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 0, 3)   # a tall stroke in one row
    h, v = ocr.rules(ocr.binarise(img))
    (g,) = ocr.grids(h, v)
    assert len(g.xs) == 2


def test_a_stroke_at_the_x_of_another_rows_rule_does_not_split_a_spanning_cell():
    """A caption row spanning both columns with a vertical stroke (十) exactly where the rows below have
    their column rule: the stroke stops short of the row's rules (cells have padding), so the caption
    stays one cell; the rows below keep their two."""
    img = np.full((170, 400), 255, np.uint8)
    for y in (10, 60, 110, 160):
        img[y:y + 2, 10:390] = 0
    for x in (10, 389):
        img[10:160, x:x + 2] = 0
    img[60:160, 200:202] = 0                  # the column rule of the rows below the caption
    img[22:50, 200:203] = 0                   # 十's stroke in the caption row, inside its padding
    h, v = ocr.rules(ocr.binarise(img))
    (g,) = ocr.grids(h, v)
    assert len(g.xs) == 3
    assert (0, 0, 1, 2) in g.cells and (1, 0, 1, 1) in g.cells and (2, 1, 1, 1) in g.cells


def test_hostile_images_are_unreadable_with_the_reason(monkeypatch):
    from PIL import Image
    buf = io.BytesIO()
    Image.new("L", (4000, 4000), 255).save(buf, "PNG")
    monkeypatch.setenv("NIANBAO_MAX_IMAGE_PIXELS", "1000000")
    parsed = parse_report(buf.getvalue(), "huge.png")
    assert parsed.report["status"] == "unreadable" and "NIANBAO_MAX_IMAGE_PIXELS" in parsed.report["problems"][0]
    monkeypatch.delenv("NIANBAO_MAX_IMAGE_PIXELS")
    broken = parse_report(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "broken.png")
    assert broken.report["status"] == "unreadable" and "broken.png" in broken.report["problems"][0]
    blank = io.BytesIO()
    Image.new("L", (800, 600), 255).save(blank, "PNG")
    empty = parse_report(blank.getvalue(), "blank.png")
    assert empty.report["status"] == "unreadable"


def test_a_pdf_of_vector_art_without_text_is_unreadable_after_ocr():
    from hostile.test_hostile import scanned_pdf
    parsed = parse_report(scanned_pdf(), "art.pdf")
    assert parsed.report["status"] == "unreadable"
    assert "no text found by OCR" in parsed.report["problems"][0]


def test_the_scan_passes_only_if_its_identities_all_hold(scanned):
    from transforms.checks.rules import quality_checks
    from transforms.checks.verdicts import verdicts
    from transforms.tidy import to_frames
    frames = to_frames([scanned])
    qc = quality_checks(frames)
    v = verdicts(frames["reports"], qc)
    identities = qc[qc["identity_number"].notna()]
    assert len(identities)
    if v["verdict"].iat[0] == "pass":
        assert (identities["status"] == "pass").all()
    # the same rows without their identity checks: nothing shows the OCR'd numbers add up
    v2 = verdicts(frames["reports"], qc[qc["identity_number"].isna()])
    assert v2["verdict"].iat[0] != "pass"


# --------------------------------------------------------------------------- pictures in HTML articles

def _article_with_picture(src: str) -> bytes:
    """The real article (tests/fixtures/realworld) with its table 四 pasted as the scanned page 4 (which
    also shows the end of table 三 and the 四/五 headings, as a screenshot would)."""
    parts = (FIXTURES / "realworld" / "raw" / "hangzhou_style_2025.html").read_text("utf-8").split("\n")
    i = next(k for k, s in enumerate(parts) if "四、政府信息公开行政复议" in s)
    j = next(k for k in range(i, len(parts)) if "</table>" in parts[k])
    return "\n".join(parts[:i + 1] + [f'<p><img src="{src}" alt="表四"></p>'] + parts[j + 1:]).encode("utf-8")


def _check_article(parsed):
    rep = parsed.report
    assert rep["layout"] == "html_ocr" and rep["review_litigation_status"] == "complete", rep["problems"]
    right, wrong_unflagged, other = _score(parsed, KEY["cells"])
    assert right == len(KEY["cells"]) and not wrong_unflagged, other
    for c in parsed.cells:
        if c.table == "review_litigation":         # from the picture: flagged, with its confidence
            assert "ocr" in c.flags and c.confidence is not None and 0 < c.confidence <= 1
        else:                                        # the page's own tables: not OCR'd
            assert "ocr" not in c.flags and c.confidence is None


def test_a_table_pasted_as_a_data_uri_picture_is_read_by_ocr():
    import base64
    png = (SCANS / "hz_p4_bw.png").read_bytes()
    page = _article_with_picture("data:image/png;base64," + base64.b64encode(png).decode())
    _check_article(parse_report(page, "article.html"))


def test_a_table_pasted_as_a_picture_saved_next_to_the_page_is_read_by_ocr(tmp_path):
    from flows.batch import sibling_images
    (tmp_path / "site").mkdir()
    page = tmp_path / "site" / "t20250101_1.html"
    page.write_bytes(_article_with_picture("W020250101.png?v=2"))
    (tmp_path / "site" / "W020250101.png").write_bytes((SCANS / "hz_p4_bw.png").read_bytes())
    _check_article(parse_report(page.read_bytes(), page.name, images=sibling_images(str(page))))


def test_pictures_are_read_only_from_the_pages_folder(tmp_path):
    from flows.batch import sibling_images
    (tmp_path / "a").mkdir()
    (tmp_path / "secret.png").write_bytes(b"\x89PNG\r\n\x1a\nsecret")
    (tmp_path / "a" / "pic.png").write_bytes(b"\x89PNG\r\n\x1a\npicture")
    (tmp_path / "a" / "link.png").symlink_to(tmp_path / "secret.png")
    read = sibling_images(str(tmp_path / "a" / "page.html"))
    assert read("pic.png") == read("/img/pic.png") == read("https://x.gov.cn/p/pic.png?x=1") == b"\x89PNG\r\n\x1a\npicture"
    assert read("../secret.png") is None and read("link.png") is None and read("missing.png") is None
    assert sibling_images("https://x.gov.cn/page.html") is None


def test_a_picture_whose_file_is_missing_is_named_and_the_page_still_reads():
    parsed = parse_report(_article_with_picture("gone.png"), "article.html", images=lambda src: None)
    rep = parsed.report
    assert rep["layout"] == "html" and rep["review_litigation_status"] in ("missing", "unreadable")
    assert rep["applications_status"] == "complete"
    assert any("'gone.png'" in p and "not available" in p for p in rep["problems"])
    assert not any("ocr" in c.flags for c in parsed.cells)


# --------------------------------------------------------------------------- cost choices (see transforms/read/ocr.py)

def test_identical_crops_are_recognised_once_and_each_gets_its_result(monkeypatch):
    """One crop per recogniser call makes a crop's text a function of its pixels: a repeated crop
    (the same "0" in many cells of a digital document's scan) is read once and reused."""
    eng = ocr.engine()
    seen = []

    def fake_rec(crops):
        seen.append(len(crops))
        return [(f"t{int(c[0, 0, 0])}", 0.5 + c[0, 0, 0] / 1000) for c in crops], 0.0

    monkeypatch.setattr(eng, "text_rec", fake_rec)
    a, b = np.full((20, 30, 3), 1, np.uint8), np.full((20, 30, 3), 2, np.uint8)
    recognise = ocr._Recogniser()
    assert recognise([a, b, a.copy(), b]) == [("t1", 0.501), ("t2", 0.502), ("t1", 0.501), ("t2", 0.502)]
    assert recognise([a, np.full((20, 31, 3), 1, np.uint8)])[1] == ("t1", 0.501)   # same pixels, other shape
    assert seen == [2, 1]


def test_the_detector_copy_is_reduced_to_the_text_line_height_never_enlarged():
    ink = np.zeros((400, 300), np.uint8)
    for y in range(20, 380, 60):
        ink[y:y + 32, 10:290] = 255                  # text lines 32 px high
    assert ocr._detection_scale(ink, [(0, 400)]) == pytest.approx(ocr.DET_LINE_PX / 32)
    small = np.zeros((400, 300), np.uint8)
    small[20:28, 10:290] = 255                       # 8 px lines: kept as they are
    assert ocr._detection_scale(small, [(0, 400)]) == 1.0
    assert ocr._detection_scale(ink, []) == 1.0      # nothing measured: full resolution


def test_text_found_on_the_reduced_copy_is_placed_and_read_on_the_full_page():
    """The heading under table 四, on the thin band below it: found on the reduced copy, placed
    where its ink is on the page and read whole."""
    import cv2
    page = ocr.deskew(ocr.image_gray((SCANS / "hz_p4_bw.png").read_bytes(), 10 ** 9))
    h, v = ocr.rules(ocr.binarise(page))
    tables = ocr.grids(h, v)
    ink = ocr.text_ink(page)
    ink[(cv2.dilate(h, np.ones((3, 3), np.uint8)) > 0) | (cv2.dilate(v, np.ones((3, 3), np.uint8)) > 0)] = 0
    lines = dict((text, y) for y, text in ocr._prose(page, tables, ink, ocr._Recogniser()))
    y = lines["五、存在问题及改进情况"]
    below = max(g.y1 for g in tables)
    inked = np.flatnonzero(ink[below + 5:].any(axis=1)) + below + 5
    assert y > below and inked[0] <= y <= inked[-1]

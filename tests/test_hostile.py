"""Hostile files, made by code at test time (no big binaries in git): each is quarantined
(status "unreadable", a clear reason naming the file) within a time bound and bounded memory, and
the good files of the same batch are still parsed and published.
"""
from __future__ import annotations

import io
import random
import re
import resource
import time
import tracemalloc
import zipfile

import pytest

from transforms import documents as d
from transforms import render_docs as rd
from transforms.engine import parse_report
from transforms.tidy import to_frames

MB = 1024 * 1024
TIME_BOUND = 5.0       # seconds per hostile file
MEMORY_BOUND = 200 * MB


# --------------------------------------------------------------------------- the hostile files

def _docx_with(document_xml: bytes | None = None, *, bomb_mb: int = 0, extra: dict | None = None) -> bytes:
    """A DOCX (a real one's parts) with word/document.xml replaced, or inflating to `bomb_mb` MB."""
    base = rd.html_to_docx("<html><body><p>政府信息公开工作年度报告</p></body></html>")
    src = zipfile.ZipFile(io.BytesIO(base))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            if info.filename == "word/document.xml" and (document_xml is not None or bomb_mb):
                if bomb_mb:
                    with zf.open("word/document.xml", "w", force_zip64=True) as fh:
                        head = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document '
                                b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                                b'<w:body><w:p><w:r><w:t>')
                        fh.write(head)
                        chunk = b"0" * MB
                        for _ in range(bomb_mb):
                            fh.write(chunk)
                        fh.write(b"</w:t></w:r></w:p></w:body></w:document>")
                else:
                    zf.writestr("word/document.xml", document_xml)
            else:
                zf.writestr(info, src.read(info.filename))
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def zip_bomb_docx() -> bytes:
    return _docx_with(bomb_mb=300)           # 300 MB of XML in ~0.3 MB


def ratio_bomb_docx() -> bytes:
    return _docx_with(bomb_mb=40)            # under the size cap, ratio ~1000:1


LOL = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
       + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%s;" % (b"" if i == 1 else str(i - 1).encode())) * 10)
                  for i in range(1, 10))
       + b']>\n<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p>'
         b'<w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>')


def billion_laughs_docx() -> bytes:
    return _docx_with(LOL)


def billion_laughs_in_styles_docx() -> bytes:
    return _docx_with(None, extra={"word/custom.xml": LOL})


def huge_html() -> bytes:
    row = "<tr><td>规章</td><td>1</td><td>2</td><td>3</td></tr>\n".encode("utf-8")
    n = 50 * MB // len(row) + 1
    return b"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body><table>\n" + row * n + b"</table></body></html>"


def garbage_html() -> bytes:
    return random.Random(5).randbytes(2 * MB)


def scanned_pdf() -> bytes:
    """A PDF with pages of vector art and an image, but no text layer (a scanned report)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    png = _tiny_png()
    for _ in range(3):
        for k in range(40):
            c.rect(50, 50 + 18 * k, 480, 16)
        c.drawImage(ImageReader(io.BytesIO(png)), 100, 700, width=200, height=60)
        c.showPage()
    c.save()
    return buf.getvalue()


def _tiny_png() -> bytes:
    import struct
    import zlib

    w, h = 20, 10
    raw = b"".join(b"\x00" + bytes([(x * 12) % 256 for x in range(w)]) for _ in range(h))

    def chunk(t, data):
        return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


HOSTILE = {
    "zipbomb.docx": (zip_bomb_docx, "zip bomb"),
    "ratio.docx": (ratio_bomb_docx, "compression ratio"),
    "lol.docx": (billion_laughs_docx, "DOCTYPE/ENTITY"),
    "lol_part.docx": (billion_laughs_in_styles_docx, "DOCTYPE/ENTITY"),
    "huge.html": (huge_html, "file too large"),
    "garbage.html": (garbage_html, "binary"),
}
# A PDF without a text layer is no longer refused at once: it is read by OCR (tests/test_ocr.py).


def _rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_file_quarantined_fast_and_small(name):
    make, reason = HOSTILE[name]
    data = make()
    rss0 = _rss()
    tracemalloc.start()
    t0 = time.perf_counter()
    parsed = parse_report(data, name)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    grown = _rss() - rss0
    rep = parsed.report
    assert rep["status"] == "unreadable" and not parsed.cells
    assert rep["problems"] and rep["problems"][0].startswith(f"{name}: "), rep["problems"]
    assert reason in rep["problems"][0], rep["problems"]
    assert elapsed < TIME_BOUND, (name, elapsed)
    assert peak < MEMORY_BOUND and grown < MEMORY_BOUND, (name, peak / MB, grown / MB)


def test_batch_goes_on_around_hostile_files():
    truth, forms = rd.render_all(9)
    batch = [(n, make()) for n, (make, _) in HOSTILE.items() if n != "huge.html"]
    batch += [("good.html", forms["html"].encode("utf-8")), ("good.docx", forms["docx"]), ("good.pdf", forms["pdf"])]
    t0 = time.perf_counter()
    parsed = [parse_report(data, name) for name, data in batch]
    assert time.perf_counter() - t0 < 20
    frames = to_frames(parsed)
    rep = frames["reports"].set_index("source_file")
    for name, _ in batch:
        assert rep.loc[name, "status"] == ("parsed" if name.startswith("good") else "unreadable"), name
    n = len(truth.cells)
    cells = sum(len(frames[t]) for t in ("active_disclosure", "applications", "review_litigation"))
    assert cells == 3 * n


def test_limits_are_overridable(monkeypatch):
    truth, forms = rd.render_all(1)
    monkeypatch.setenv("NIANBAO_MAX_BYTES", "1000")
    rep = parse_report(forms["docx"], "small-limit.docx").report
    assert rep["status"] == "unreadable" and "NIANBAO_MAX_BYTES" in rep["problems"][0]
    monkeypatch.delenv("NIANBAO_MAX_BYTES")
    monkeypatch.setenv("NIANBAO_MAX_PDF_PAGES", "1")
    rep = parse_report(forms["pdf"], "pages.pdf").report
    assert rep["status"] == "unreadable" and "pages" in rep["problems"][0]
    monkeypatch.delenv("NIANBAO_MAX_PDF_PAGES")
    monkeypatch.setenv("NIANBAO_MAX_SECONDS", "0")
    rep = parse_report(forms["pdf"], "slow.pdf").report
    assert rep["status"] == "unreadable" and "time limit" in rep["problems"][0]


def test_markup_with_entity_declarations_refused():
    page = b'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY a "aaaaaaaaaa">]><html><body><p>&a;</p></body></html>'
    rep = parse_report(page, "lol.xhtml").report
    assert rep["status"] == "unreadable" and "ENTITY" in rep["problems"][0]


def test_isolated_parse_hard_bounds():
    truth, forms = rd.render_all(4)
    ok = d.parse_report_isolated(forms["docx"], "iso.docx", timeout=30)
    assert ok.report["status"] == "parsed" and len(ok.cells) == len(truth.cells)
    slow = d.parse_report_isolated(forms["pdf"], "iso.pdf", timeout=0.01)
    assert slow.report["status"] == "unreadable" and "time limit" in slow.report["problems"][0]
    row = "<tr><td>规章</td><td>1</td><td>2</td><td>3</td></tr>\n".encode("utf-8")
    big = b"<html><body><table>" + row * (12 * MB // len(row)) + b"</table></body></html>"  # under the size cap
    starved = d.parse_report_isolated(big, "oom.html", timeout=30, memory=40 * MB)
    assert starved.report["status"] == "unreadable", starved.report
    # Python raises MemoryError (→ "over the memory limit"); lxml reports a failed malloc as a parse error
    assert re.search(r"memory|died|could not be parsed", starved.report["problems"][0]), starved.report["problems"]

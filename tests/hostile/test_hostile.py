"""Hostile files, made by code at test time (no big binaries in git): each is quarantined
(status "unreadable", a clear reason naming the file) within a time bound and bounded memory, and
the good files of the same batch are still parsed and published.
"""
from __future__ import annotations

import hashlib
import io
import os
import random
import re
import resource
import time
import tracemalloc
import zipfile

import pytest

from flows import isolation
from transforms.read.docx import docx_lines
from transforms.read.limits import Unreadable
from synthetic import render_docs as rd
from transforms.engine import parse_report
from transforms.checks.quarantine import classify_reason
from transforms.tidy import to_frames

from paths import SEEDS

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


def _utf16(xml: bytes, bom: bool = True) -> bytes:
    """The same XML declared and encoded as UTF-16 (a byte search for "<!DOCTYPE" finds nothing)."""
    text = xml.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    return text.encode("utf-16") if bom else text.encode("utf-16-be")


def billion_laughs_utf16_docx() -> bytes:
    return _docx_with(_utf16(LOL))


def billion_laughs_utf16_part_docx() -> bytes:
    return _docx_with(None, extra={"word/custom.xml": _utf16(LOL, bom=False)})


SECRET = "nianbao-secret-7c1e"


def external_entity_utf16_docx(target: str) -> bytes:
    """document.xml (UTF-16) whose text is an external entity pointing at a local file."""
    xml = (f'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "{target}">]>\n'
           '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p>'
           '<w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>').encode("utf-8")
    return _docx_with(_utf16(xml))


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


def broken_pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\n" + random.Random(3).randbytes(3000)


HOSTILE = {   # name: (maker, words of the reason, quarantine reason code)
    "zipbomb.docx": (zip_bomb_docx, "zip bomb", "archive_limit"),
    "ratio.docx": (ratio_bomb_docx, "compression ratio", "archive_limit"),
    "lol.docx": (billion_laughs_docx, "DOCTYPE/ENTITY", "unsafe_markup"),
    "lol_part.docx": (billion_laughs_in_styles_docx, "DOCTYPE/ENTITY", "unsafe_markup"),
    "lol_utf16.docx": (billion_laughs_utf16_docx, "DOCTYPE/ENTITY", "unsafe_markup"),
    "lol_utf16_part.docx": (billion_laughs_utf16_part_docx, "DOCTYPE/ENTITY", "unsafe_markup"),
    "huge.html": (huge_html, "file too large", "too_large"),
    "garbage.html": (garbage_html, "binary", "binary"),
    "broken.pdf": (broken_pdf, "broken PDF", "corrupt_document"),
}
# A PDF without a text layer is no longer refused at once: it is read by OCR (tests/integration/test_ocr.py).


def _rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_file_quarantined_fast_and_small(name):
    make, reason, code = HOSTILE[name]
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
    assert classify_reason(rep["problems"], rep["file_size"]) == code
    assert elapsed < TIME_BOUND, (name, elapsed)
    assert peak < MEMORY_BOUND and grown < MEMORY_BOUND, (name, peak / MB, grown / MB)


def test_batch_goes_on_around_hostile_files():
    truth, forms = rd.render_all(9)
    batch = [(n, make()) for n, (make, _, _) in HOSTILE.items() if n != "huge.html"]
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
    assert classify_reason(rep["problems"]) == "too_many_pages"
    monkeypatch.delenv("NIANBAO_MAX_PDF_PAGES")
    monkeypatch.setenv("NIANBAO_MAX_SECONDS", "0")
    rep = parse_report(forms["pdf"], "slow.pdf").report
    assert rep["status"] == "unreadable" and "time limit" in rep["problems"][0]
    assert classify_reason(rep["problems"]) == "time_limit"


def test_markup_with_entity_declarations_refused():
    page = b'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY a "aaaaaaaaaa">]><html><body><p>&a;</p></body></html>'
    rep = parse_report(page, "lol.xhtml").report
    assert rep["status"] == "unreadable" and "ENTITY" in rep["problems"][0]


def test_isolated_parse_hard_bounds():
    truth, forms = rd.render_all(4)
    ok = isolation.parse_report_isolated(forms["docx"], "iso.docx", timeout=30)
    assert ok.report["status"] == "parsed" and len(ok.cells) == len(truth.cells)
    slow = isolation.parse_report_isolated(forms["pdf"], "iso.pdf", timeout=0.01)
    assert slow.report["status"] == "unreadable" and "time limit" in slow.report["problems"][0]
    row = "<tr><td>规章</td><td>1</td><td>2</td><td>3</td></tr>\n".encode("utf-8")
    big = b"<html><body><table>" + row * (12 * MB // len(row)) + b"</table></body></html>"  # under the size cap
    starved = isolation.parse_report_isolated(big, "oom.html", timeout=30, memory=40 * MB)
    assert starved.report["status"] == "unreadable", starved.report
    # Python raises MemoryError (→ "over the memory limit"); lxml reports a failed malloc as a parse error
    assert re.search(r"memory|died|could not be parsed", starved.report["problems"][0]), starved.report["problems"]


def test_utf16_external_entity_is_refused_and_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    for target in (secret.as_uri(), str(secret)):
        parsed = parse_report(external_entity_utf16_docx(target), "xxe.docx")
        rep = parsed.report
        assert rep["status"] == "unreadable" and not parsed.cells
        assert "DOCTYPE/ENTITY" in rep["problems"][0] and classify_reason(rep["problems"]) == "unsafe_markup"
        assert SECRET not in repr(rep)


def test_docx_prolog_refusal_reads_the_structure_not_the_bytes():
    """A DOCTYPE in any encoding is refused; an XML comment or text mentioning <!DOCTYPE is not."""
    body = ('<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
            '<w:p><w:r><w:t>&lt;!DOCTYPE x&gt; 政府信息公开工作年度报告</w:t></w:r></w:p></w:body></w:document>')
    fine = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!-- <!ENTITY not-a-declaration> -->\n'
            + body).encode("utf-8")
    lines = docx_lines(_docx_with(fine))
    assert any("<!DOCTYPE x>" in t for t, _ in lines)
    for data in (fine.replace(b"<!--", b"<!DOCTYPE w:document [").replace(b"-->", b"]>"),):
        for enc in ("utf-8", "utf-16", "utf-16-be"):
            xml = data.decode().replace('encoding="UTF-8"', f'encoding="{enc.upper()}"').encode(enc)
            with pytest.raises(Unreadable) as exc:
                docx_lines(_docx_with(xml))
            assert exc.value.code == "unsafe_markup", enc


def test_every_reason_code_is_registered():
    from transforms import schema

    for name, (_, _, code) in HOSTILE.items():
        assert code in schema.QUARANTINE_REASONS, name
    with pytest.raises(AssertionError):
        schema.quarantine_problem("x.txt", "some reason", "not_a_registered_code")
    assert schema.reason_code_of(schema.quarantine_problem("a [b].txt", "too big", "too_large")) == "too_large"
    assert schema.reason_code_of("x.txt: unknown label '[binary]' ignored") is None


# --------------------------------------------------------------------------- size limit before reading

RSS_SCRIPT = r"""
import json, os, resource, sys
from flows.batch import parse_batch
big, seed, staging = sys.argv[1:4]
items = [{"local_path": seed, "source_file": seed, "size": os.path.getsize(seed)},
         {"local_path": big, "source_file": big, "size": os.path.getsize(big), "sha256": "ab" * 32}]
s = parse_batch(0, items, staging)
# VmHWM: this process's own peak (ru_maxrss would carry the forking pytest worker's peak across exec)
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"status": [r["status"] for r in s["reports"]], "rows": s["rows"], "maxrss": hwm * 1024}))
"""


def test_oversize_file_is_refused_before_it_is_read(tmp_path):
    """A 3 GB (sparse) file in a batch: quarantined as too_large, the batch's peak RSS stays small."""
    import json
    import subprocess
    import sys

    import pyarrow.parquet as pq

    big = tmp_path / "big.txt"
    big.touch()
    os.truncate(big, 3 * 1024 * MB)
    seed = sorted(SEEDS.glob("*.txt"))[0]
    staging = tmp_path / "staging"
    staging.mkdir()                       # the run makes its staging before it parses (a batch never does)
    r = subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(big), str(seed), str(staging)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["status"] == ["parsed", "quarantined"]
    assert out["maxrss"] < 600 * MB, out["maxrss"] / MB        # the file is 3072 MB
    q = pq.read_table(next((staging / "quarantine").rglob("*.parquet"))).to_pylist()
    assert [(x["source_file"], x["reason_code"], x["file_size"], x["sha256"]) for x in q] == [
        (str(big), "too_large", 3 * 1024 * MB, "ab" * 32)]
    assert "NIANBAO_MAX_BYTES" in q[0]["reason"] and str(3 * 1024 * MB) in q[0]["reason"]


def test_read_bytes_reads_at_most_the_limit(tmp_path, monkeypatch):
    from flows.batch import read_bytes, refused_report

    f = tmp_path / "r.txt"
    f.write_bytes(b"x" * 100)
    assert read_bytes(str(f), max_bytes=100) == b"x" * 100
    with pytest.raises(Unreadable) as exc:
        read_bytes(str(f), max_bytes=99)
    assert exc.value.code == "too_large" and "100 bytes" in str(exc.value)
    monkeypatch.setenv("NIANBAO_MAX_BYTES", "50")
    with pytest.raises(Unreadable):
        read_bytes(f"file://{f}")
    rep = refused_report({"local_path": str(f), "source_file": "r.txt", "size": 100}, exc.value).report
    assert rep["sha256"] == hashlib.sha256(b"x" * 100).hexdigest() and rep["file_size"] == 100
    assert rep["status"] == "unreadable" and classify_reason(rep["problems"]) == "too_large"


def _growing_file(tmp_path, monkeypatch, grown: bytes):
    """A 10-byte file that becomes ``grown`` right after read_bytes took its size (fstat)."""
    from flows import batch

    f = tmp_path / "grow.txt"
    f.write_bytes(b"x" * 10)
    real_fstat = os.fstat

    def fstat_then_grow(fd):
        st = real_fstat(fd)
        f.write_bytes(grown)
        return st
    monkeypatch.setattr(batch.os, "fstat", fstat_then_grow)
    return f


def test_file_growing_while_read_is_caught(tmp_path, monkeypatch):
    """The size is taken first; a file that grows past the limit after that is still refused."""
    from flows import batch

    f = _growing_file(tmp_path, monkeypatch, b"x" * 1000)
    with pytest.raises(Unreadable) as exc:
        batch.read_bytes(str(f), max_bytes=100)
    assert exc.value.code == "too_large" and "grew" in str(exc.value)


def test_file_growing_within_the_limit_is_read_whole(tmp_path, monkeypatch):
    """read_bytes asks for the stat'ed size and one byte more: a file that grew since (still under
    the limit) is read to its end, not cut at the size it had."""
    from flows import batch

    f = _growing_file(tmp_path, monkeypatch, b"y" * 50)
    assert batch.read_bytes(str(f), max_bytes=100) == b"y" * 50

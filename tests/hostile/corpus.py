"""A deterministic hostile corpus: mutated copies of the sample reports and hostile files, in a folder.

The promise of a run is about the folders people really have: every file ends up published or in
`quarantine` with its reason, one file never holds back another, no number is published that the
file does not print. This writes such a folder from the repository's own reports (tests/fixtures/seeds and the
real-world copies under tests/fixtures/realworld/raw, plus a few generated reports rendered as HTML,
DOCX and PDF), so the same seed always gives the same files:

    entries = generate(out_dir, seed=0, size=200)       # list[Entry]; manifest beside out_dir
    python tests/hostile/corpus.py OUT --size 1000 --seed 0

Fixed hostile files come first (odd names, symlinks in/out/dangling/looping, a fifo, empty and binary
files, a sparse oversize file, deep HTML, DOCX zip and entity bombs, broken PDFs); the rest of `size`
are mutations cycling through MUTATIONS (truncations at random byte offsets, bit flips, re-encodings,
junk lines, mojibake, odd values, line endings, hostile markup in labels and titles, wrong
extensions). Besides out_dir it writes `<out_dir>.manifest.json` (what each file is) and
`<out_dir>.outside/` (the targets of the symlinks that leave the folder).
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import random
import re
import shutil
import struct
import sys
import unicodedata
import zipfile
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEED_DIRS = (REPO / "tests" / "fixtures" / "seeds", REPO / "tests" / "fixtures" / "realworld" / "raw")
GiB = 1 << 30
MB = 1 << 20
ZIP_TIME = (2020, 1, 1, 0, 0, 0)

# Every payload sets this attribute on <body> if it ever runs (the browser test looks for it).
PWNED = "data-pwned"
PAYLOADS = (
    f"<img src=x onerror=document.body.setAttribute('{PWNED}',1)>",
    f"\"'><svg onload=document.body.setAttribute('{PWNED}',2)>",
    f"</script><script>document.body.setAttribute('{PWNED}',3)</script>",
    f"<iframe srcdoc=\"<script>parent.document.body.setAttribute('{PWNED}',4)</script>\"></iframe>",
    f"</style></title></textarea><img src=x onerror=document.body.setAttribute('{PWNED}',5)>",
    f"javascript:document.body.setAttribute('{PWNED}',6)",
    f"<a href=\"javascript:document.body.setAttribute('{PWNED}',7)\">x</a>",
    f"<details open ontoggle=document.body.setAttribute('{PWNED}',8)>",
)


@dataclass
class Entry:
    """One thing written into the corpus folder."""
    path: str               # relative to the folder; os.fsdecode (non-UTF-8 bytes as surrogates)
    category: str
    kind: str = "file"      # file | symlink | fifo | dir
    origin: str = ""        # seed it was made from
    sha256: str | None = None   # of the bytes a reader would get (None: nothing readable)
    size: int = 0
    outside: bool = False   # a symlink that leaves the folder: must not be read
    must_account: bool = True   # must be published or quarantined by name
    note: str = ""


@dataclass
class Seed:
    name: str
    kind: str               # text | html | docx | pdf
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")


# --------------------------------------------------------------------------------------------------
# Seeds

@functools.lru_cache(maxsize=1)
def seeds() -> tuple[Seed, ...]:
    """The repository's reports, and three generated reports as HTML, DOCX and PDF (rendered once)."""
    out = []
    for d in SEED_DIRS:
        for p in sorted(d.iterdir()):
            if p.is_file():
                out.append(Seed(p.stem, "html" if p.suffix == ".html" else "text", p.read_bytes()))
    from synthetic import render_docs
    for k in (1, 2, 3):
        _, forms = render_docs.render_all(k)
        out.append(Seed(f"gen{k}", "html", forms["html"].encode("utf-8")))
        out.append(Seed(f"gen{k}", "docx", _rezip(forms["docx"])))
        out.append(Seed(f"gen{k}", "pdf", _pdf_invariant(forms["pdf"])))
    return tuple(out)


def _rezip(data: bytes) -> bytes:
    """The same ZIP with fixed member timestamps (python-docx stamps the time of writing)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2020-01-01T00:00:00Z", body)
            zf.writestr(zipfile.ZipInfo(info.filename, ZIP_TIME), body, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _pdf_invariant(data: bytes) -> bytes:
    """reportlab stamps the creation date and a random document id: fixed here."""
    data = re.sub(rb"\(D:\d{14}[^)]*\)", b"(D:20200101000000+00'00')", data)
    return re.sub(rb"/ID\s*\[<[0-9a-fA-F]+><[0-9a-fA-F]+>\]", b"/ID [<" + b"0" * 32 + b"><" + b"0" * 32 + b">]", data)


# --------------------------------------------------------------------------------------------------
# Text mutations (str -> str), all driven by the rng they are given

_NUM_CELL = re.compile(r"(?<=[\t|])[ ]*(\d+)[ ]*(?=[\t|\n]|$)|^(\d+)$", re.M)
ODD_VALUES = ("减4", "增3", "无", "99999999999999999999", "1000000000000000000000000000000", "１２", "-0",
              "0x10", "1,234", "12.5", "一百", "3件", "1e3", "—", "∞", "NaN", "+-5", "5-", "٣", "⑤")
JUNK = ("||||||", "合计\t1\t2\t3", "1、", "2024", "\u200b\u200b", "？ 0", "\x00\x00", "\x1b[31m红色\x1b[0m",
        "规章\t5\t5\t5", "（七）总计\t9\t9\t9\t9\t9\t9\t9", "<table><tr><td>1</td></tr></table>", "\x0c",
        "0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0", "－－－－－－－－", "\ufeff", "\u202e逆序",
        "𠀀𠀁𠀂", "一、本年新收政府信息公开申请数量", "三、本年度办理结果", "第二十条第（一）项")


def _number_cells(text: str) -> list[re.Match]:
    return list(_NUM_CELL.finditer(text))


def _replace_cell(text: str, m: re.Match, new: str) -> str:
    g = 1 if m.group(1) is not None else 2
    return text[:m.start(g)] + new + text[m.end(g):]


def change_number(rng: random.Random, text: str) -> str:
    cells = _number_cells(text)
    if not cells:
        return text + f"\n{rng.randint(1, 999)}\n"
    m = rng.choice(cells)
    return _replace_cell(text, m, str(int(m.group(1) or m.group(2)) + rng.randint(1, 99)))


def odd_values(rng: random.Random, text: str) -> str:
    cells = _number_cells(text)
    for m in sorted(rng.sample(cells, min(len(cells), rng.randint(1, 3))), key=lambda m: -m.start()):
        text = _replace_cell(text, m, rng.choice(ODD_VALUES))
    return text


def junk_lines(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(1, 12)):
        junk = rng.choice(JUNK) if rng.random() < 0.7 else "".join(
            chr(rng.choice((rng.randint(0x20, 0x7e), rng.randint(0x4e00, 0x9fff), rng.randint(0x80, 0x2fff))))
            for _ in range(rng.randint(1, 60)))
        lines.insert(rng.randint(0, len(lines)), junk)
    return "\n".join(lines)


def mojibake(rng: random.Random, text: str) -> str:
    how = rng.choice(("question_marks", "lines_as_gbk", "lines_as_latin1", "double_utf8"))
    if how == "question_marks":          # a mojibake character printed before values ("? 0")
        cells = _number_cells(text)
        for m in sorted(rng.sample(cells, min(len(cells), rng.randint(1, 6))), key=lambda m: -m.start()):
            text = _replace_cell(text, m, rng.choice(("? ", "?", "\ufffd ", "锟斤拷")) + (m.group(1) or m.group(2)))
        return text
    if how == "double_utf8":
        return text.encode("utf-8").decode("latin-1")
    lines = text.split("\n")
    for i in rng.sample(range(len(lines)), min(len(lines), rng.randint(1, 10))):
        raw = lines[i].encode("utf-8")
        lines[i] = raw.decode("gbk", errors="replace") if how == "lines_as_gbk" else raw.decode("latin-1")
    return "\n".join(lines)


def line_endings(rng: random.Random, text: str) -> str:
    how = rng.choice(("crlf", "cr", "mixed", "tabs_as_spaces", "nbsp_tabs", "trailing_space"))
    if how == "crlf":
        return text.replace("\n", "\r\n")
    if how == "cr":
        return text.replace("\n", "\r")
    if how == "mixed":
        return "".join(c if c != "\n" else rng.choice(("\n", "\r\n", "\r", "\n\n")) for c in text)
    if how == "tabs_as_spaces":
        return text.replace("\t", " " * rng.randint(1, 4))
    if how == "nbsp_tabs":
        return text.replace("\t", "\u00a0")
    return text.replace("\n", "  \t\n")


def hostile_markup(rng: random.Random, text: str) -> str:
    """Payloads as a title, a table label line and a value (they reach problems, labels, raw_value)."""
    payload = rng.choice(PAYLOADS)
    lines = text.split("\n")
    anchor = max((i for i, line in enumerate(lines) if "收到和处理政府信息公开申请情况" in line), default=len(lines) // 2)
    at = min(len(lines), anchor + rng.randint(2, 12))
    lines.insert(at, f"{payload}\t\t{rng.randint(1, 9)}\t{rng.randint(1, 9)}")
    if rng.random() < 0.5:
        lines.insert(0, f"{rng.choice(PAYLOADS)}2020年政府信息公开工作年度报告")
    text = "\n".join(lines)
    cells = _number_cells(text)
    if cells and rng.random() < 0.7:
        text = _replace_cell(text, rng.choice(cells), rng.choice(PAYLOADS).replace("\t", " ").replace("\n", " "))
    return text


TEXT_MUTATIONS = {"number_change": change_number, "odd_values": odd_values, "junk_lines": junk_lines,
                  "mojibake": mojibake, "line_endings": line_endings, "hostile_markup": hostile_markup}
ENCODINGS = ("gb18030", "gbk", "big5", "utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "utf-32")


def encode(text: str, encoding: str) -> bytes:
    """Text in one encoding; Big5 after conversion to traditional characters (as Taiwan/HK copies)."""
    if encoding == "big5":
        from opencc import OpenCC
        text = OpenCC("s2t").convert(text)
    return text.encode(encoding, errors="replace")


# --------------------------------------------------------------------------------------------------
# Byte mutations

def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[:rng.randint(1, max(1, len(data) - 1))]


def bit_flip(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


# --------------------------------------------------------------------------------------------------
# Hostile documents

def _docx_replacing(base: bytes, parts: dict[str, bytes], *, stream: dict[str, tuple[bytes, int]] | None = None) -> bytes:
    """`base` with parts replaced or added; `stream` = name -> (chunk, repeats) written streamed."""
    src = zipfile.ZipFile(io.BytesIO(base))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:   # level 1: bombs in seconds
        names = [i.filename for i in src.infolist()]
        for name in names + [n for n in {**parts, **(stream or {})} if n not in names]:
            if stream and name in stream:
                chunk, n = stream[name]
                info = zipfile.ZipInfo(name, ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                with zf.open(info, "w", force_zip64=True) as fh:
                    fh.write(b'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.'
                             b'openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>')
                    for _ in range(n):
                        fh.write(chunk)
                    fh.write(b"</w:t></w:r></w:p></w:body></w:document>")
            else:
                body = parts[name] if name in parts else src.read(name)
                zf.writestr(zipfile.ZipInfo(name, ZIP_TIME), body, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


@functools.lru_cache(maxsize=4)
def _bomb(fill: bytes, megabytes: int) -> bytes:
    """The first generated DOCX whose document.xml inflates to `megabytes` MB of `fill` (made once)."""
    docx = next(s for s in seeds() if s.kind == "docx").data
    return _docx_replacing(docx, {}, stream={"word/document.xml": (fill * MB, megabytes)})


def _lying_sizes(docx: bytes, member: str) -> bytes:
    """The ZIP directory says `member` inflates to 1 KB; it inflates to far more."""
    b = bytearray(docx)
    name = member.encode()
    i = 0
    while (i := b.find(b"PK\x01\x02", i)) >= 0:           # central directory entries
        n = struct.unpack_from("<H", b, i + 28)[0]
        if bytes(b[i + 46:i + 46 + n]) == name:
            struct.pack_into("<I", b, i + 24, 1024)
            off = struct.unpack_from("<I", b, i + 42)[0]
            if b[off:off + 4] == b"PK\x03\x04":
                struct.pack_into("<I", b, off + 22, 1024)
        i += 4
    return bytes(b)


def entity_bomb(encoding: str = "utf-8", external: bool = False) -> bytes:
    if external:
        decl = '<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        body = "&xxe;"
    else:
        decl = ("<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                + "".join(f'<!ENTITY lol{i} "{("&lol" + ("" if i == 1 else str(i - 1)) + ";") * 10}">'
                          for i in range(1, 10)) + "]>")
        body = "&lol9;"
    xml = (f'<?xml version="1.0" encoding="{encoding.upper()}" standalone="yes"?>\n{decl}\n'
           '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
           f'<w:p><w:r><w:t>{body}</w:t></w:r></w:p></w:body></w:document>')
    return xml.encode(encoding)


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF from raw objects (1-based), with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offs = []
    for k, body in enumerate(objects, 1):
        offs.append(len(out))
        out += b"%d 0 obj\n" % k + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offs)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def pdf_page_tree_loop() -> bytes:
    return _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
                 b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"])


def pdf_lying_count() -> bytes:
    return _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 100000 >>",
                 b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"])


def pdf_many_pages(n: int = 250) -> bytes:
    from reportlab.pdfgen import canvas
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    for k in range(n):
        c.drawString(72, 720, f"page {k + 1}")
        c.showPage()
    c.save()
    return buf.getvalue()


def pdf_encrypted(page_text: str) -> bytes:
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1, encrypt=pdfencrypt.StandardEncryption("secret", canPrint=0))
    c.drawString(72, 720, page_text)
    c.save()
    return buf.getvalue()


def pdf_no_text() -> bytes:
    from reportlab.pdfgen import canvas
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    for k in range(40):
        c.rect(50, 50 + 18 * k, 480, 16)
    c.showPage()
    c.save()
    return buf.getvalue()


def deep_html(table_html: str, depth: int, tag: str = "div") -> bytes:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{f'<{tag}>' * depth}{table_html}"
            f"{f'</{tag}>' * depth}</body></html>").encode("utf-8")


def nested_tables(depth: int) -> bytes:
    cell = "<tr><td>规章</td><td>1</td><td>2</td><td>3</td></tr>"
    return ("<html><body>" + "<table><tr><td>" * depth + f"<table>{cell}</table>" + "</td></tr></table>" * depth
            + "</body></html>").encode("utf-8")


def _png() -> bytes:
    def chunk(t, data):
        return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(range(16)) for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 8, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# --------------------------------------------------------------------------------------------------
# The corpus

class _Writer:
    def __init__(self, root: Path, outside: Path):
        self.root, self.outside = root, outside
        self.entries: list[Entry] = []
        self.shas: set[str] = set()

    def _abs(self, rel: str | bytes) -> bytes:
        return os.fsencode(self.root) + b"/" + (rel if isinstance(rel, bytes) else os.fsencode(rel))

    def file(self, rel: str | bytes, data: bytes, category: str, origin: str = "", note: str = "") -> Entry:
        path = self._abs(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        sha = hashlib.sha256(data).hexdigest()
        self.shas.add(sha)
        e = Entry(os.fsdecode(path[len(os.fsencode(self.root)) + 1:]), category, "file", origin, sha, len(data),
                  note=note)
        self.entries.append(e)
        return e

    def sparse(self, rel: str, size: int, head: bytes, category: str, note: str) -> Entry:
        path = self._abs(rel)
        with open(path, "wb") as f:
            f.write(head)
        os.truncate(path, size)
        e = Entry(rel, category, "file", "", None, size, note=note)   # hashing 3 GB here is pointless
        self.entries.append(e)
        return e

    def symlink(self, rel: str, target: str | Path, category: str, *, outside: bool = False,
                must_account: bool = True, note: str = "") -> Entry:
        path = self._abs(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(os.fsencode(str(target)), path)
        sha = None
        try:
            if os.path.isfile(path):
                sha = hashlib.sha256(Path(os.fsdecode(path)).read_bytes()).hexdigest()
        except OSError:
            pass
        e = Entry(rel, category, "symlink", "", sha, 0, outside=outside, must_account=must_account,
                  note=f"-> {target}" + (f"; {note}" if note else ""))
        self.entries.append(e)
        return e


def _utf8(name: bytes) -> bool:
    try:
        name.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _specials(w: _Writer, rng: random.Random, pool: list[Seed], oversize_bytes: int) -> None:
    texts = [s for s in pool if s.kind == "text"]
    by_kind = {k: [s for s in pool if s.kind == k] for k in ("html", "docx", "pdf")}

    def good(i: int) -> tuple[bytes, str]:
        """A distinct readable report: a text seed with one number changed."""
        s = texts[i % len(texts)]
        return change_number(random.Random(f"good{i}"), s.text).encode("utf-8"), s.name

    # odd names, each holding a readable report
    names: list[bytes] = [b"bad_\xff\xfe.txt", "中文名".encode("gbk") + b".txt", b"latin1_\xe9t\xe9.txt",
                          ("长" * 80 + ".txt").encode(), b"  spaced  name .txt", b"-rf.txt", b"--help.txt",
                          b"line\nbreak.txt", b"tab\there.txt", "rtl_\u202egnp.txt".encode(),
                          unicodedata.normalize("NFD", "nfd_é.txt").encode(), "emoji_📄.txt".encode(),
                          b"trailing_space.txt ", b"UPPER.TXT", b"no_extension", b"%2e%2e%2fescape.txt",
                          b"quote'and\"double.txt", b"semi;colon&amp.txt", b"back\\slash.txt",
                          *(p.replace("/", "\u2215").encode() + b".txt" for p in PAYLOADS)]
    for k, n in enumerate(names):
        data, origin = good(k)
        w.file(n, data, "odd_name" if _utf8(n) else "non_utf8_name", origin)
    data, origin = good(100)
    w.file("/".join(f"d{k}" for k in range(20)) + "/deep_nested.txt", data, "odd_name", origin, "20 folders deep")
    data, origin = good(101)
    w.file("sub dir/with space/report.txt", data, "odd_name", origin)
    data, origin = good(102)
    w.file(".hidden.txt", data, "hidden", origin)
    data, origin = good(103)
    w.file(".hidden_dir/inside.txt", data, "hidden", origin)

    # symlinks
    data, origin = good(104)
    target = w.file("link_target.txt", data, "symlink", origin, "target of link_inside.txt")
    w.symlink("link_inside.txt", target.path, "symlink")
    w.symlink("link_inside_dir", "sub dir", "symlink", must_account=False, note="directory inside")
    w.outside.mkdir(parents=True, exist_ok=True)
    data, origin = good(105)
    (w.outside / "report.txt").write_bytes(data)
    (w.outside / "secret.txt").write_bytes(b"root:x:0:0:root:/root:/bin/bash\n")
    (w.outside / "dir").mkdir(exist_ok=True)
    (w.outside / "dir" / "report2.txt").write_bytes(good(106)[0])
    rel_out = Path("..") / w.outside.name
    w.symlink("link_outside.txt", rel_out / "report.txt", "symlink", outside=True)
    w.symlink("link_outside_abs.txt", w.outside.resolve() / "secret.txt", "symlink", outside=True)
    w.symlink("link_outside_dir", w.outside.resolve() / "dir", "symlink", outside=True)
    w.symlink("link_etc_passwd.txt", "/etc/passwd", "symlink", outside=True)
    w.symlink("dangling.txt", "does_not_exist.txt", "symlink")
    w.symlink("loop_a.txt", "loop_b.txt", "symlink")
    w.symlink("loop_b.txt", "loop_a.txt", "symlink")
    w.symlink("loop_self.txt", "loop_self.txt", "symlink")
    w.symlink("sub dir/loop_dir", "..", "symlink", must_account=False, note="directory loop")
    os.mkfifo(w._abs("fifo.txt"))
    w.entries.append(Entry("fifo.txt", "special", "fifo", note="a reader blocks on open"))
    os.makedirs(w._abs("dir_named.txt"))
    w.entries.append(Entry("dir_named.txt", "special", "dir", must_account=False))

    # empty and binary
    w.file("empty.txt", b"", "empty")
    w.file("empty.html", b"", "empty")
    w.file("whitespace.txt", b"  \n\t\r\n \n", "empty")
    w.file("bom_only.txt", b"\xef\xbb\xbf", "empty")
    w.file("nul.txt", b"\x00" * 4096, "binary")
    for k in range(4):
        w.file(f"garbage_{k}.txt", random.Random(f"garbage{k}").randbytes(rng.randint(100, 64 * 1024)), "binary")
    w.file("garbage.bin", random.Random("garbage.bin").randbytes(5000), "binary")
    w.file("image.png.txt", _png(), "binary")
    w.file("gzip.txt", zlib.compress(texts[0].data), "binary")
    w.file("elf.txt", b"\x7fELF\x02\x01\x01" + random.Random("elf").randbytes(2000), "binary")
    w.file("legacy.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + random.Random("ole").randbytes(4000), "binary")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("report.txt", ZIP_TIME), texts[1].data)
    w.file("plain.zip", buf.getvalue(), "binary")
    w.file("zip_named.docx", buf.getvalue(), "docx_hostile", note="a ZIP without word/document.xml")
    w.file("control_chars.txt", texts[2].text.replace("\t", "\t\x1b[0m\x07").encode("utf-8"), "binary",
           texts[2].name)

    # oversize
    w.sparse("oversize_sparse.txt", oversize_bytes, texts[0].data, "oversize", f"sparse {oversize_bytes} bytes")
    over = texts[3].data
    w.file("just_over_limit.txt", over * (20 * MB // len(over) + 1), "oversize", texts[3].name, "20 MB + a bit")
    w.file("one_long_line.txt", texts[4].text.replace("\n", " ").encode("utf-8") * 200, "oversize", texts[4].name)

    # markup
    page = by_kind["html"][0].data.decode("utf-8")
    table = page[page.find("<table"):page.rfind("</table>") + 8]
    w.file("deep_div.html", deep_html(table, 100_000), "deep_html")
    w.file("deep_span.html", deep_html(table, 20_000, "span"), "deep_html")
    w.file("nested_tables.html", nested_tables(3000), "deep_html")
    w.file("many_tables.html", ("<html><body>" + "<table><tr><td>1</td></tr></table>" * 50_000
                                + "</body></html>").encode(), "deep_html")
    w.file("unclosed.html", b"<html><body>" + b"<table><tr><td>" * 5000, "deep_html")
    w.file("entity_bomb.xhtml", b'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY a "' + b"a" * 100
           + b'"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><html><body><p>&b;</p></body></html>', "deep_html")
    w.file("script_tables.html", (f"<html><body><script>var t = `{table}`;</script><!-- {table} -->"
                                  "<p>政府信息公开工作年度报告</p></body></html>").encode("utf-8"), "deep_html")

    # DOCX bombs
    docx = by_kind["docx"][0].data
    w.file("zipbomb.docx", _bomb(b"0", 300), "docx_hostile", note="300 MB inflated")
    w.file("ratio_bomb.docx", _bomb(b"0", 40), "docx_hostile", note="40 MB, ratio ~1000:1")
    w.file("lying_sizes.docx", _lying_sizes(_bomb(b"1", 80), "word/document.xml"), "docx_hostile",
           note="80 MB; the ZIP directory says 1 KB")
    for enc in ("utf-8", "utf-16", "utf-16-le", "utf-16-be"):
        w.file(f"entity_bomb_{enc}.docx", _docx_replacing(docx, {"word/document.xml": entity_bomb(enc)}), "docx_hostile")
    w.file("entity_bomb_other_part_utf-16.docx", _docx_replacing(docx, {"word/custom.xml": entity_bomb("utf-16")}),
           "docx_hostile")
    w.file("xxe_utf-16.docx", _docx_replacing(docx, {"word/document.xml": entity_bomb("utf-16", external=True)}),
           "docx_hostile")
    w.file("many_members.docx", _docx_replacing(docx, {f"word/m{k}.xml": b"<x/>" for k in range(2500)}),
           "docx_hostile")
    w.file("no_document.docx", _docx_replacing(docx, {"word/document.xml": b"not xml at all <<<"}), "docx_hostile")

    # broken PDFs
    pdf = by_kind["pdf"][0].data
    w.file("header_only.pdf", b"%PDF-1.7\n", "broken_pdf")
    w.file("garbage_after_header.pdf", b"%PDF-1.4\n" + random.Random("pdfg").randbytes(20000), "broken_pdf")
    w.file("no_xref.pdf", pdf[:pdf.rfind(b"xref")], "broken_pdf")
    w.file("page_tree_loop.pdf", pdf_page_tree_loop(), "broken_pdf")
    w.file("lying_count.pdf", pdf_lying_count(), "broken_pdf")
    w.file("many_pages.pdf", pdf_many_pages(), "broken_pdf", note="250 pages > NIANBAO_MAX_PDF_PAGES")
    w.file("encrypted.pdf", pdf_encrypted("政府信息公开工作年度报告"), "broken_pdf")
    w.file("no_text.pdf", pdf_no_text(), "broken_pdf")

    # an exact copy under a second name (published once, under the first name)
    first = next(e for e in w.entries if e.category == "odd_name" and e.path.endswith("UPPER.TXT"))
    w.file("copy_of_upper.txt", Path(os.fsdecode(w._abs(first.path))).read_bytes(), "duplicate", first.origin,
           f"same bytes as {first.path}")


MUTATIONS = ("truncate", "bit_flip", "reencode", "reencode_truncate", "number_change", "odd_values", "junk_lines",
             "mojibake", "line_endings", "hostile_markup", "wrong_extension")
EXT = {"text": "txt", "html": "html", "docx": "docx", "pdf": "pdf"}


def _mutant(rng: random.Random, category: str, pool: list[Seed]) -> tuple[bytes, str, str, str]:
    """(bytes, extension, origin, note) of one mutation."""
    texts = [s for s in pool if s.kind == "text"]
    if category in ("truncate", "bit_flip"):
        s = rng.choice(pool if rng.random() < 0.4 else texts)
        data = truncate(rng, s.data) if category == "truncate" else bit_flip(rng, s.data)
        return data, EXT[s.kind], s.name, s.kind
    if category in ("reencode", "reencode_truncate"):
        s, enc = rng.choice(texts), rng.choice(ENCODINGS)
        data = encode(s.text, enc)
        if category == "reencode_truncate":
            data = truncate(rng, data)
        return data, "txt", s.name, enc
    if category == "wrong_extension":
        s = rng.choice(pool)
        ext = rng.choice([e for e in ("txt", "html", "docx", "pdf", "doc", "xls") if e != EXT[s.kind]])
        return s.data, ext, s.name, f"{s.kind} named .{ext}"
    s = rng.choice(texts + [p for p in pool if p.kind == "html"])
    text = TEXT_MUTATIONS[category](rng, s.text)
    enc = "utf-8" if rng.random() < 0.8 else rng.choice(("gb18030", "utf-16"))
    return text.encode(enc, errors="replace") if enc != "utf-8" else text.encode("utf-8"), EXT[s.kind], s.name, enc


def generate(out_dir: str | Path, *, seed: int = 0, size: int = 200, oversize_bytes: int = 3 * GiB) -> list[Entry]:
    """Write `size` entries into out_dir (made empty first); returns them (and writes the manifest)."""
    out_dir = Path(out_dir)
    outside = out_dir.parent / f"{out_dir.name}.outside"
    for d in (out_dir, outside):
        if d.is_symlink() or d.is_file():
            d.unlink()
        shutil.rmtree(d, ignore_errors=True)
    out_dir.mkdir(parents=True)
    rng = random.Random(seed)
    pool = list(seeds())
    w = _Writer(out_dir, outside)
    _specials(w, rng, pool, oversize_bytes)
    if size < len(w.entries):
        raise ValueError(f"size {size} < the {len(w.entries)} fixed hostile files")
    k = 0
    while len(w.entries) < size:
        category = MUTATIONS[k % len(MUTATIONS)]
        for attempt in range(8):                  # distinct bytes: a duplicate is published once
            r = random.Random(f"{seed}:{k}:{attempt}")
            data, ext, origin, note = _mutant(r, category, pool)
            if hashlib.sha256(data).hexdigest() not in w.shas:
                break
        w.file(f"m{k:05d}_{category}_{origin}.{ext}", data, category, origin, note)
        k += 1
    write_manifest(out_dir, w.entries)
    return w.entries


def remove(out_dir: str | Path, entries: list[Entry], categories: set[str]) -> list[Entry]:
    """Take the entries of `categories` out of the folder (to see past one known failure); the rest."""
    for e in entries:
        if e.category in categories:
            os.unlink(os.fsencode(Path(out_dir) / e.path))
    kept = [e for e in entries if e.category not in categories]
    write_manifest(out_dir, kept)
    return kept


def manifest_path(out_dir: str | Path) -> Path:
    out_dir = Path(out_dir)
    return out_dir.parent / f"{out_dir.name}.manifest.json"


def write_manifest(out_dir: str | Path, entries: list[Entry]) -> Path:
    p = manifest_path(out_dir)
    p.write_text(json.dumps([asdict(e) for e in entries], ensure_ascii=True, indent=0), encoding="ascii")
    return p


def load_manifest(out_dir: str | Path) -> list[Entry]:
    return [Entry(**d) for d in json.loads(manifest_path(out_dir).read_text(encoding="ascii"))]


if __name__ == "__main__":
    import argparse

    sys.path.insert(0, str(REPO))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=200)
    ap.add_argument("--oversize-bytes", type=int, default=3 * GiB)
    a = ap.parse_args()
    es = generate(a.out, seed=a.seed, size=a.size, oversize_bytes=a.oversize_bytes)
    from collections import Counter
    print(f"{len(es)} entries in {a.out}: {dict(Counter(e.category for e in es))}")

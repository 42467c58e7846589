"""Document readers: the bytes of an HTML page, a DOCX or a PDF → the engine's line intermediate.

Every reader is pure (bytes in, lines out) and produces the same thing the text readers do: a list
of ``(line_text, source_line)`` in document order where

* a text block (paragraph, heading, list item, PDF text line) is one line;
* a table row is ONE line, its cells joined by ``"\\t"``: one ``<td>`` / ``<w:tc>`` / ruled PDF cell
  = one cell, blank cells kept in position, a merged cell printed ONCE in the row where it starts
  (a rowspan label is not repeated on later rows, a colspan value is not duplicated) — exactly what
  the engine's "html" layout reads;
* a blank line ends a table.

The grid expansion (:func:`expand_grid`) is used to compare tables (split-table detection), never
to duplicate values into the rows handed to the engine.

Source lines: HTML → lxml ``sourceline``; DOCX → 1-based index of the block in document order (each
paragraph and each table row is one block, nested tables included); PDF → ``page * 1000 + n`` where
``n`` is the 1-based index of the line (text line or table row) on that page in reading order.

Dispatch (:func:`sniff`) is by content, never by file name: ZIP magic with ``word/document.xml`` →
DOCX, ``%PDF-`` → PDF, markup → HTML, anything else → text (decoded by :func:`transforms.read.charsets.decode`).

Limits (module constants, each overridable by an environment variable read at call time, see
:class:`Limits`) are enforced before the heavy work: raw size first (the flow stats a file before
reading it), then the ZIP directory (member count, declared uncompressed total, compression ratio)
before any member is inflated, inflation itself capped while reading (a lying ZIP header cannot get
past it), XML parts refused if their prolog, as lxml parses it whatever the part's encoding, holds a
DOCTYPE, and parsed with ``resolve_entities=False, no_network=True, huge_tree=False``, the PDF page
count before any page is laid out, and a cooperative wall-clock deadline checked between stages and
inside the loops of every reader (per element, row, page). A file over a limit raises
:class:`Unreadable` with the reason and its quarantine reason code; ``engine.parse_report`` turns
that into ``status == "unreadable"`` and the problem ``"<file>: <reason> [<code>]"``
(schema.quarantine_problem; the flow quarantines it).
For hard bounds on code that cannot check a deadline (a C library stuck in one call),
``flows.isolation.parse_report_isolated`` runs one file in a forked child with an address-space
limit and a kill timeout (a process sandbox is orchestration, not reading).
"""
from __future__ import annotations

import functools
import io
import os
import re
import time
import zipfile
from typing import Callable
from dataclasses import dataclass, field
from functools import lru_cache

MB = 1024 * 1024


# --------------------------------------------------------------------------- limits

MAX_BYTES = 20 * MB                 # NIANBAO_MAX_BYTES: raw file size, any format
MAX_UNCOMPRESSED = 100 * MB         # NIANBAO_MAX_UNCOMPRESSED: DOCX, sum of the members' sizes
MAX_RATIO = 100.0                   # NIANBAO_MAX_RATIO: DOCX compression ratio (total, and any member > 1 MB)
MAX_MEMBERS = 2000                  # NIANBAO_MAX_MEMBERS: DOCX, number of ZIP members
MAX_XML_PART = 60 * MB              # NIANBAO_MAX_XML_PART: one XML part read from a DOCX
MAX_PDF_PAGES = 200                 # NIANBAO_MAX_PDF_PAGES
MAX_SECONDS = 30.0                  # NIANBAO_MAX_SECONDS: wall clock for reading one file
MAX_MEMORY = 1024 * MB              # NIANBAO_MAX_MEMORY: address space one parse may add (flows.isolation)
MAX_OCR_PAGES = 30                  # NIANBAO_MAX_OCR_PAGES: pages of a scanned PDF read by OCR
MAX_OCR_SECONDS = 180.0             # NIANBAO_MAX_OCR_SECONDS: wall clock for reading one scanned file (~3 s a page)
MAX_IMAGE_PIXELS = 60_000_000       # NIANBAO_MAX_IMAGE_PIXELS: one image or rendered page (decompression bombs)


def _environ_get(name: str) -> str | None:
    """os.environ.get(name) without the KeyError that Mapping.get raises and catches for an unset
    name: parse_report reads the eleven limits per call, most unset (from_env 38 → 10 µs, loaded machine)."""
    data = getattr(os.environ, "_data", None)
    if data is None:              # os.environ replaced by a plain mapping
        return os.environ.get(name)
    raw = data.get(os.environ.encodekey(name))
    return None if raw is None else os.environ.decodevalue(raw)


def _env(name: str, default, cast):
    raw = _environ_get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return cast(raw)
    except ValueError:
        return default


@dataclass(frozen=True)
class Limits:
    """Per-file limits. ``Limits.from_env()`` = the module constants overridden by ``NIANBAO_*``."""
    max_bytes: int = MAX_BYTES
    max_uncompressed: int = MAX_UNCOMPRESSED
    max_ratio: float = MAX_RATIO
    max_members: int = MAX_MEMBERS
    max_xml_part: int = MAX_XML_PART
    max_pdf_pages: int = MAX_PDF_PAGES
    max_seconds: float = MAX_SECONDS
    max_memory: int = MAX_MEMORY
    max_ocr_pages: int = MAX_OCR_PAGES
    max_ocr_seconds: float = MAX_OCR_SECONDS
    max_image_pixels: int = MAX_IMAGE_PIXELS

    @classmethod
    def from_env(cls) -> "Limits":
        return cls(
            max_bytes=_env("NIANBAO_MAX_BYTES", MAX_BYTES, int),
            max_uncompressed=_env("NIANBAO_MAX_UNCOMPRESSED", MAX_UNCOMPRESSED, int),
            max_ratio=_env("NIANBAO_MAX_RATIO", MAX_RATIO, float),
            max_members=_env("NIANBAO_MAX_MEMBERS", MAX_MEMBERS, int),
            max_xml_part=_env("NIANBAO_MAX_XML_PART", MAX_XML_PART, int),
            max_pdf_pages=_env("NIANBAO_MAX_PDF_PAGES", MAX_PDF_PAGES, int),
            max_seconds=_env("NIANBAO_MAX_SECONDS", MAX_SECONDS, float),
            max_memory=_env("NIANBAO_MAX_MEMORY", MAX_MEMORY, int),
            max_ocr_pages=_env("NIANBAO_MAX_OCR_PAGES", MAX_OCR_PAGES, int),
            max_ocr_seconds=_env("NIANBAO_MAX_OCR_SECONDS", MAX_OCR_SECONDS, float),
            max_image_pixels=_env("NIANBAO_MAX_IMAGE_PIXELS", MAX_IMAGE_PIXELS, int),
        )


class Unreadable(ValueError):
    """The file cannot or must not be read; the message is the reason (goes to report problems) and
    ``code`` its quarantine reason code (schema.QUARANTINE_REASONS), set where the reason is known."""

    def __init__(self, reason: str, code: str):
        super().__init__(reason)
        self.code = code


class NoTextLayer(Unreadable):
    """A PDF whose pages are images: it is read by OCR instead."""


class Deadline:
    """A cooperative wall-clock limit: readers call ``check(stage)`` between stages and in loops."""

    def __init__(self, seconds: float, setting: str = "NIANBAO_MAX_SECONDS"):
        self.seconds = seconds
        self.setting = setting
        self.t0 = time.monotonic()

    def check(self, stage: str) -> None:
        if time.monotonic() - self.t0 > self.seconds:
            raise Unreadable(f"over the time limit: reading took more than {self.seconds:g} s "
                             f"(at {stage}; limit {self.setting})", "time_limit")


def _mb(n: float) -> str:
    return f"{n / MB:.1f} MB"


# --------------------------------------------------------------------------- dispatch

@dataclass
class Document:
    kind: str                           # docx | pdf | html | text, or the legacy kind converted (doc, rtf …)
    lines: list[tuple[str, int]]
    encoding: str | None
    tabular: bool                       # lines hold "\t"-joined table rows (engine layout "html")
    notes: list[str] = field(default_factory=list)
    repairs: tuple = ()                 # charsets.Repair: invalid bytes replaced while decoding
    properties: dict[str, str] = field(default_factory=dict)   # PDF metadata (title, subject, …)
    # read by OCR: table row line -> (cell text, recognition confidence) of its cells, left to right
    confidences: dict[int, list[tuple[str, float | None]]] | None = None


_MARKUP = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|div|table|p|\?xml)\b",
                     re.I | re.S)


def sniff(data: bytes) -> str:
    """The file type from its content: docx | odt | ods | zip | doc | xls | ole | rtf | image | pdf | html | text."""
    head = data[:4096]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = set(zf.namelist())
                mimetype = zf.read("mimetype")[:100] if "mimetype" in names else b""
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError):
            return "zip"
        if "word/document.xml" in names:
            return "docx"
        return _OPENDOCUMENT.get(mimetype.strip(), "zip")
    if head.startswith(_OLE_MAGIC):
        return _ole_kind(data)
    if head.lstrip(b"\xef\xbb\xbf").startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if b"%PDF-" in head[:1024]:
        return "pdf"
    probe = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    if probe.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in probe[:64]:
        enc = ("utf-16" if probe.startswith((b"\xff\xfe", b"\xfe\xff"))
               else "utf-16-le" if probe[1:2] == b"\x00" else "utf-16-be")
        probe = probe.decode(enc, errors="ignore").encode("utf-8", errors="ignore")
    return "html" if _MARKUP.match(probe) else "text"


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# PNG, JPEG, TIFF (both byte orders), BMP, GIF: scans and pasted table pictures, read by OCR
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM", b"GIF87a", b"GIF89a")
_OPENDOCUMENT = {b"application/vnd.oasis.opendocument.text": "odt",
                 b"application/vnd.oasis.opendocument.text-web": "odt",
                 b"application/vnd.oasis.opendocument.spreadsheet": "ods"}
# OLE2 directory entries are UTF-16LE names: a Word / WPS text document has a "WordDocument" stream,
# an Excel / WPS spreadsheet a "Workbook" (or the older "Book") stream.
_OLE_STREAMS = (("WordDocument".encode("utf-16-le"), "doc"), ("Workbook".encode("utf-16-le"), "xls"),
                ("Book".encode("utf-16-le") + b"\x00\x00", "xls"))


def _ole_kind(data: bytes) -> str:
    """doc | xls for an OLE2 compound file, by its directory's stream names; ole if neither."""
    for name, kind in _OLE_STREAMS:
        if name in data:
            return kind
    return "ole"


# Legacy Office files: converted by LibreOffice (transforms/read/legacy_office.py), then read as DOCX / HTML.
LEGACY_KINDS = frozenset({"doc", "xls", "rtf", "odt", "ods"})


def _read_legacy(data: bytes, kind: str, limits: Limits, deadline: Deadline) -> Document:
    from transforms.read.legacy_office import ConversionError, convert

    remaining = max(1.0, limits.max_seconds - (time.monotonic() - deadline.t0))
    try:
        converted, target = convert(data, kind, timeout=remaining, max_bytes=limits.max_bytes)
    except ConversionError as exc:
        raise Unreadable(str(exc), exc.code) from None
    deadline.check(f"{kind} conversion")
    if target == "docx":
        lines = docx_lines(converted, limits, deadline)
    else:
        from transforms.read.charsets import decode
        text, _, _ = decode(converted)
        lines = html_table_lines(text, deadline)
    return Document(kind, lines, "utf-8" if target == "docx" else None, True, [f"converted from {kind} by LibreOffice"])


def _read_scan(data: bytes, kind: str, limits: Limits) -> Document:
    """An image-only PDF or an image file → lines by OCR (transforms/read/ocr.py), under the OCR limits."""
    from transforms.read import ocr

    deadline = Deadline(limits.max_ocr_seconds, "NIANBAO_MAX_OCR_SECONDS")
    try:
        text = ocr.read_scan(data, kind, max_pages=limits.max_ocr_pages, max_pixels=limits.max_image_pixels,
                             check=lambda stage: deadline.check(stage))
    except ocr.ScanError as exc:
        raise Unreadable(str(exc), exc.code) from None
    except ocr.OcrUnavailable as exc:
        raise Unreadable(f"scanned {kind} needs OCR: {exc}", "converter_missing") from None
    if not any(t.strip() for t, _ in text.lines):
        raise Unreadable(f"no text found by OCR in the scanned {kind}", "no_text_layer")
    return Document(f"{kind}_ocr", text.lines, None, True, [f"read by OCR ({len(text.lines)} lines)"],
                    confidences=text.confidences)


def read_document(data: bytes, limits: Limits | None = None, deadline: Deadline | None = None,
                  images: Callable[[str], bytes | None] | None = None) -> Document:
    """Any report file → Document. Raises Unreadable with the reason (over a limit, not a report).

    images: for an HTML page, the bytes of the file an ``<img src>`` names (files saved next to the
    page), or None; ``data:`` images need none. See html_images."""
    limits = limits or Limits.from_env()
    deadline = deadline or Deadline(limits.max_seconds)
    if len(data) > limits.max_bytes:
        raise too_large(len(data), limits.max_bytes)
    kind = sniff(data)
    if kind == "docx":
        return Document("docx", docx_lines(data, limits, deadline), "utf-8", True)
    if kind == "pdf":
        properties: dict[str, str] = {}
        try:
            lines, tabular = pdf_lines(data, limits, deadline, properties)
        except NoTextLayer:
            return _read_scan(data, "pdf", limits)
        return Document("pdf", lines, None, tabular, properties=properties)
    if kind == "image":
        return _read_scan(data, "image", limits)
    if kind == "zip":
        raise Unreadable("ZIP archive that is not a Word document (no word/document.xml)", "unsupported_type")
    if kind == "ole":
        raise Unreadable("OLE2 compound file that is neither a Word nor an Excel document", "unsupported_type")
    if kind in LEGACY_KINDS:
        return _read_legacy(data, kind, limits, deadline)
    from transforms.read.charsets import DecodeError, decode
    from transforms.parse.regions import text_lines

    try:
        text, encoding, repairs = decode(data)
    except DecodeError as exc:
        raise Unreadable(str(exc), exc.code) from None
    deadline.check("decoding")
    if kind == "html" or _is_markup(text):
        if re.search(r"<!\s*ENTITY", text[:65536], re.I):
            raise Unreadable("markup declares XML entities (<!ENTITY>; entity expansion attack?): refused",
                             "unsafe_markup")
        try:
            lines = html_table_lines(text, deadline)
        except Unreadable:
            raise
        except Exception as exc:  # lxml on hostile markup: the file is unreadable, the batch goes on
            raise Unreadable(f"HTML could not be parsed ({type(exc).__name__}: {exc})", "corrupt_document") from None
        doc = Document("html", lines, encoding, True, repairs=repairs)
        if "<img" in text or "<IMG" in text:
            html_images(doc, text, images, limits)
        return doc
    return Document("text", text_lines(text), encoding, False, repairs=repairs)


@functools.lru_cache(maxsize=1)
def _table_anchors() -> tuple[tuple[str, ...], ...]:
    """Each statutory table's anchor labels (format files): one of them is in any copy of the table."""
    from transforms.parse.regions import TABLE_ORDER, _anchors
    return tuple(_anchors(t) for t in TABLE_ORDER)


_DATA_URI = re.compile(r"^data:image/[\w.+-]+;base64,", re.I)


def html_images(doc: Document, text: str, images: Callable[[str], bytes | None] | None, limits: Limits) -> None:
    """Tables pasted into an article as pictures (``<img>``), read by OCR like an image file, when the
    page's text lacks a statutory table its headings announce (the anchors of the format files): the
    OCR'd rows go where the picture is in the page, numbered after the page's own lines (picture k from
    (k + last line // 1000 + 1) * 1000), with their recognition confidences; the document becomes
    kind ``html_ocr``. A picture whose data is not available (not a ``data:`` URI, not a saved file)
    is named in the notes."""
    if images is None and "data:image" not in text:
        return                                         # no picture's data at hand
    # the rows of the page's tables (tab-joined cells; headings and prose are not: 四's heading names
    # 行政复议, its anchor). Every page has pictures (logos): this test must stay cheap.
    joined = "\n".join([t for t, _ in doc.lines if "\t" in t])
    if all(any(a in joined for a in anchors) for anchors in _table_anchors()):
        return                                         # every table is in the page's tables
    from lxml import etree

    root = etree.fromstring(text, parser=etree.HTMLParser(no_network=True, huge_tree=False))
    if root is None:
        return
    pictures = []
    for img in root.iter("img"):
        src = (img.get("src") or "").strip()
        if not src:
            continue
        data = None
        if _DATA_URI.match(src):
            import base64
            import binascii
            payload = src[src.index(",") + 1:]
            if len(payload) * 3 // 4 > limits.max_bytes:
                doc.notes.append(f"picture at line {img.sourceline} over NIANBAO_MAX_BYTES: not read")
                continue
            try:
                data = base64.b64decode(payload, validate=False)
            except (binascii.Error, ValueError):
                doc.notes.append(f"picture at line {img.sourceline}: data: URI is not base64; not read")
                continue
        elif images is not None:
            data = images(src)
        if not data:
            doc.notes.append(f"picture {src[:80]!r} at line {img.sourceline}: its file is not available; not read")
            continue
        if sniff(data) != "image":
            continue
        pictures.append((img.sourceline or 0, src, data))
    if not pictures:
        return
    from transforms.read import ocr

    deadline = Deadline(limits.max_ocr_seconds, "NIANBAO_MAX_OCR_SECONDS")
    last = max((n for _, n in doc.lines), default=0)
    lines = list(doc.lines)
    confidences: dict[int, list[tuple[str, float | None]]] = {}
    for k, (at, src, data) in enumerate(pictures):
        deadline.check(f"OCR of picture {k + 1}")
        try:
            got = ocr.read_scan(data, "image", max_pages=1, max_pixels=limits.max_image_pixels,
                                check=lambda stage: deadline.check(stage))
        except (ocr.ScanError, ocr.OcrUnavailable) as exc:
            doc.notes.append(f"picture {src[:80]!r} at line {at}: not read by OCR ({exc})")
            continue
        base = (k + last // 1000 + 1) * 1000
        rows = [(t, base + n) for t, n in got.lines]
        if not any(t.strip() for t, _ in rows):
            continue
        confidences.update({base + n: c for n, c in got.confidences.items()})
        where = next((i for i, (_, n) in enumerate(lines) if n <= last and n > at), len(lines))
        lines[where:where] = [("", base)] + rows + [("", base + len(rows) + 1)]
        doc.notes.append(f"picture {src[:80]!r} at line {at} read by OCR ({len(rows)} lines from line {base + 1})")
    if confidences:
        doc.lines = lines
        doc.kind = "html_ocr"
        doc.confidences = confidences


def too_large(size: int, limit: int, grew: bool = False) -> Unreadable:
    """The reason for a file over NIANBAO_MAX_BYTES (also raised by the flow before reading it;
    `grew`: the file grew past the limit while it was read, `size` is what was read)."""
    if grew:
        return Unreadable(f"file too large: grew past {_mb(limit)} while it was read ({limit} bytes, "
                          f"limit NIANBAO_MAX_BYTES)", "too_large")
    return Unreadable(f"file too large: {_mb(size)} ({size} bytes) > {_mb(limit)} ({limit} bytes, "
                      f"limit NIANBAO_MAX_BYTES)", "too_large")


def _is_markup(text: str) -> bool:
    from transforms.parse.regions import is_html

    if is_html(text):
        return True
    head = text[:4096].lstrip("\ufeff")
    first = head.lstrip(" \t\n\r\f\v")[:1]
    if first != "<" and not "\ud800" <= first <= "\udfff":
        return False  # markup opens with "<" after ASCII blanks (a lone surrogate vanishes in the encoding)
    return bool(_MARKUP.match(head.encode("utf-8", "ignore")))


# --------------------------------------------------------------------------- cells and grids

_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f“”‘’、，。；：（）]")


def join_pieces(parts) -> str:
    """Join the lines of one cell: no space between CJK text (wrapped or vertical labels), else one."""
    out = ""
    for p in parts:
        p = " ".join(p.split())
        if not p:
            continue
        if out and not (_CJK.match(out[-1]) or _CJK.match(p[0])):
            out += " "
        out += p
    return out


def expand_grid(rows: list[list[tuple[str, int, int]]]) -> list[list[str | None]]:
    """Rows of (text, rowspan, colspan) → a rectangular grid, spanned positions filled with the text.

    For header paths and table comparisons only: the rows handed to the engine keep every merged
    cell once (the grid repeats it).
    """
    grid: list[list[str | None]] = []
    pending: dict[tuple[int, int], str] = {}
    for r, row in enumerate(rows):
        while len(grid) <= r:
            grid.append([])
        line = grid[r]
        c = 0
        for text, rs, cs in row:
            while (r, c) in pending:
                line.append(pending.pop((r, c)))
                c += 1
            rs, cs = max(1, min(rs, 1000)), max(1, min(cs, 1000))
            for dc in range(cs):
                line.append(text)
                for dr in range(1, rs):
                    pending[(r + dr, c + dc)] = text
            c += cs
        while (r, c) in pending:
            line.append(pending.pop((r, c)))
            c += 1
    width = max((len(x) for x in grid), default=0)
    return [x + [None] * (width - len(x)) for x in grid]


def _grid_width(spans) -> int:
    grid = expand_grid(spans)
    return len(grid[0]) if grid else 0


_CONTINUED = re.compile(r"^[（(]?(?:续表|續表|续上表|續上表|续|續|接上表|table continued)[）)]?\s*[:：]?\s*$", re.I)


# --------------------------------------------------------------------------- HTML

_BLOCK_TAGS = frozenset("p div h1 h2 h3 h4 h5 h6 li ul ol section article header footer nav title "
                        "table tr tbody thead tfoot blockquote pre br form main aside dl dt dd".split())
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "svg", "select")
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


def _span(el, name: str) -> int:
    value = el.get(name)
    if value is None:  # the common case: no span attribute
        return 1
    try:
        return max(1, min(int(str(value).strip() or 1), 1000))
    except ValueError:
        return 1


def _text(el) -> str:
    """All text inside an element (not its tail)."""
    if len(el) == 0:  # a leaf (most cells and paragraphs): itertext() costs ~20x more
        return el.text or ""
    return "".join(el.itertext())


@lru_cache(maxsize=1)
def _styled_attributes():
    """XPath to the style and hidden attributes of a page: 4x cheaper than selecting their elements."""
    from lxml import etree

    return etree.XPath("//@style|//@hidden")


def _drop(el) -> None:
    """Remove an element but keep its tail text (lxml.html's drop_tree on a plain element)."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def html_table_lines(text: str, deadline: Deadline | None = None) -> list[tuple[str, int]]:
    """HTML page → lines (see the module doc): tables located inside the page chrome.

    * a table whose row holds a nested table, or a long multi-paragraph cell, is a layout table:
      that row's cells are read as blocks (the nested tables become tables of their own);
    * ``&nbsp;`` / whitespace-only cells are blank cells (kept in position);
    * rowspan/colspan cells are printed once, where they start;
    * a table split over several ``<table>``s (nothing but blank text or a 续表 caption between,
      same grid width) is read as one: the separator and a repeated header row are dropped;
    * hidden elements (display:none) and scripts/styles are ignored.
    """
    from lxml import etree

    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
    if not text.strip():
        return []
    # plain etree elements: lxml.html's element-class lookup costs more than the parse itself
    parser = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, huge_tree=False)
    root = etree.fromstring(text, parser=parser)
    if root is None:
        return []
    for el in list(root.iter(*_DROP_TAGS)):  # document order, like the XPath union it replaces
        _drop(el)
    # elements with a style or hidden attribute, in document order (an element with both once)
    styled = dict.fromkeys(a.getparent() for a in _styled_attributes()(root))
    for el in styled:
        if el.get("hidden") is not None or _HIDDEN.search(el.get("style") or ""):
            if el.getparent() is not None:
                _drop(el)
    # which elements hold block content (computed once, bottom-up: no quadratic rescans)
    has_block: set = set()
    for n, el in enumerate(root.iter(*_BLOCK_TAGS)):
        if n % 2000 == 0 and deadline is not None:
            deadline.check("HTML tree")
        p = el.getparent()
        while p is not None and p not in has_block:
            has_block.add(p)
            p = p.getparent()

    # elements holding a table somewhere below them (one pass instead of an XPath per cell)
    holds_table: set = set()
    for tbl in root.iter("table"):
        p = tbl.getparent()
        while p is not None and p not in holds_table:
            holds_table.add(p)
            p = p.getparent()

    out: list[tuple[str, int]] = []
    last = {"end": -1, "rows": [], "head": []}  # the previous data table: out index after it, its cells, first rows
    count = [0]

    def squash(s: str) -> str:
        return " ".join(s.split())

    def tick() -> None:
        count[0] += 1
        if deadline is not None and count[0] % 500 == 0:
            deadline.check("HTML blocks")

    # lxml picks the children by tag in C (a Python test of each child's .tag was ~5 % of the reading)
    def rows_of(tbl):
        out_rows = []
        for child in tbl.iterchildren("tr", "thead", "tbody", "tfoot"):
            if child.tag == "tr":
                out_rows.append(child)
            else:
                out_rows.extend(child.iterchildren("tr"))
        return out_rows

    def cells_of(tr):
        return list(tr.iterchildren("td", "th"))

    def is_container_cell(td) -> bool:
        if td in holds_table:
            return True
        if td in has_block:
            blocks = [c for c in td.iter() if isinstance(c.tag, str) and c.tag in ("p", "div", "h1", "h2", "h3",
                                                                                   "h4", "li", "ul", "ol")]
            return len(blocks) >= 2 and len(squash(_text(td))) > 200
        return False

    def emit_table(tbl) -> None:
        trs = rows_of(tbl)
        rows, texts, lines = [], [], []  # rows: (cell texts, cell elements), for the grid width
        for tr in trs:
            tick()
            tds = cells_of(tr)
            if not (holds_table.isdisjoint(tds) and has_block.isdisjoint(tds)) and any(
                    is_container_cell(td) for td in tds):
                flush_rows(rows, texts, lines)
                rows, texts, lines = [], [], []
                for td in tds:
                    walk(td)
                continue
            cells = []
            for td in tds:  # squash(_text(td)), inlined: one cell is most of a row's cost
                t = td.text if len(td) == 0 else _text(td)
                cells.append(" ".join(t.split()) if t else "")
            rows.append((cells, tds))
            texts.append("\t".join(cells))
            lines.append(tr.sourceline or tbl.sourceline or 0)
        flush_rows(rows, texts, lines)

    def grid_width(rows) -> int:
        """Width of a table's grid; spans are read only here (rarely needed: split tables)."""
        return _grid_width([[(c, _span(td, "rowspan"), _span(td, "colspan")) for c, td in zip(cells, tds)]
                            for cells, tds in rows])

    def flush_rows(rows, texts, lines) -> None:
        if not texts:
            return
        start = 0
        between = out[last["end"]:] if last["end"] >= 0 else None
        # grid widths are compared only when nothing but blanks or a 续表 caption separates the tables
        if (between is not None
                and all(not t.strip() or _CONTINUED.match(t.strip()) for t, _ in between)
                and grid_width(rows) == grid_width(last["rows"])):
            del out[last["end"] - 1:]  # the blank line that ended the previous part, and the 续表 caption
            head = last["head"]
            while start < len(texts) and start < len(head) and texts[start] == head[start]:
                start += 1  # a header row repeated on the continuation
        else:
            last["head"] = texts[:4]
        out.extend(zip(texts[start:], lines[start:]))
        out.append(("", lines[-1]))
        last["end"], last["rows"] = len(out), rows

    def walk(el) -> None:
        tick()
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "table":
            emit_table(el)
            return
        if el not in has_block:
            t = squash(_text(el))
            if t:
                out.append((t, el.sourceline or 0))
            return
        if el.text and el.text.strip():
            out.append((squash(el.text), el.sourceline or 0))
        for child in el:
            if isinstance(child.tag, str):
                walk(child)
            if child.tail and child.tail.strip():
                out.append((squash(child.tail), child.sourceline or el.sourceline or 0))

    if isinstance(root, etree._Element):
        walk(root)
    return out


# --------------------------------------------------------------------------- DOCX

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _check_zip(zf: zipfile.ZipFile, limits: Limits) -> None:
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise Unreadable(f"DOCX has {len(infos)} ZIP members > {limits.max_members} (limit NIANBAO_MAX_MEMBERS)",
                         "archive_limit")
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if total > limits.max_uncompressed:
        raise Unreadable(f"DOCX expands to {_mb(total)} > {_mb(limits.max_uncompressed)} "
                         f"(zip bomb? limit NIANBAO_MAX_UNCOMPRESSED)", "archive_limit")
    if total > MB and total / max(packed, 1) > limits.max_ratio:
        raise Unreadable(f"DOCX compression ratio {total / max(packed, 1):.0f}:1 > {limits.max_ratio:g}:1 "
                         f"(zip bomb? limit NIANBAO_MAX_RATIO)", "archive_limit")
    for i in infos:
        if i.file_size > MB and i.file_size / max(i.compress_size, 1) > limits.max_ratio:
            raise Unreadable(f"DOCX member {i.filename} compression ratio "
                             f"{i.file_size / max(i.compress_size, 1):.0f}:1 > {limits.max_ratio:g}:1 "
                             f"(zip bomb? limit NIANBAO_MAX_RATIO)", "archive_limit")


def _read_member(zf: zipfile.ZipFile, name: str, limits: Limits) -> bytes:
    """Inflate one member with a hard cap (the ZIP directory may lie about sizes)."""
    cap = min(limits.max_xml_part, limits.max_uncompressed)
    with zf.open(name) as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise Unreadable(f"DOCX part {name} inflates past {_mb(cap)} (zip bomb? limit NIANBAO_MAX_XML_PART)",
                         "archive_limit")
    return data


def _xml_parser_options() -> dict:
    return dict(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


def _refuse_dtd(data: bytes, name: str) -> None:
    """Refuse a part whose prolog declares a DOCTYPE (ENTITY declarations live only inside one).

    Decided by the XML parser on the structure, not by searching the bytes: the part may be encoded
    in UTF-16 or any charset libxml2 knows, declared or by BOM. The parse stops at the DOCTYPE or at
    the root element's start tag (a DTD can only come before it): entities are never reached."""
    from lxml import etree

    if not data.strip():
        return  # an empty part declares nothing (and is never parsed)
    if _read_as_utf8(data) and not _DTD.search(data):
        return  # UTF-8 as the parser reads it: a DOCTYPE would be these very bytes (the common case, 20x cheaper)
    target = _PrologTarget()
    parser = etree.XMLParser(target=target, **_xml_parser_options())
    try:
        for at in range(0, len(data), 65536):
            parser.feed(data[at:at + 65536])
        parser.close()
    except _PrologSeen:
        pass
    except etree.XMLSyntaxError as exc:
        raise Unreadable(f"DOCX part {name} is not well-formed XML ({exc})", "corrupt_document") from None
    if target.declared is not None:
        raise Unreadable(f"DOCX part {name} declares a DOCTYPE/ENTITY ({target.declared!r}; entity expansion "
                         f"attack?): refused", "unsafe_markup")


_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)
_XML_DECL = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


def _read_as_utf8(data: bytes) -> bool:
    """Whether libxml2 reads these bytes as UTF-8: they open with "<" (no BOM, not UTF-16/32 or
    EBCDIC) and declare no encoding, or UTF-8 / ASCII. Only then can a byte search stand in for the
    parse; a part in any other encoding (UTF-16, UTF-7 …) is parsed."""
    if data[:1] != b"<" or data[1:2] in (b"", b"\x00"):
        return False
    m = _XML_DECL.match(data, 0, 512) if data.startswith(b"<?xml") else None
    return m is None or m.group(1).lower() in (b"utf-8", b"utf8", b"us-ascii", b"ascii")


class _PrologSeen(Exception):
    """Stops the prolog parse: a DOCTYPE or the root element was reached."""


class _PrologTarget:
    """lxml parser target that only watches the prolog."""

    def __init__(self):
        self.declared: str | None = None   # the DOCTYPE's name, if the prolog has one

    def doctype(self, name, public_id, system_url):
        self.declared = name or "(unnamed)"
        raise _PrologSeen

    def start(self, tag, attrib, nsmap=None):
        raise _PrologSeen

    def end(self, tag):
        pass

    def data(self, text):
        pass

    def close(self):
        return None


def _check_docinfo(docinfo, name: str) -> None:
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype \
            or docinfo.system_url or docinfo.public_id:
        raise Unreadable(f"DOCX part {name} declares a DOCTYPE/ENTITY (entity expansion attack?): refused",
                         "unsafe_markup")


def _safe_xml(data: bytes, name: str):
    """Parse one XML part: DOCTYPE/ENTITY declarations refused, entities never resolved."""
    _refuse_dtd(data, name)
    from docx.oxml.parser import element_class_lookup  # python-docx's element classes (CT_Tbl, CT_Tc …)
    from lxml import etree

    parser = etree.XMLParser(remove_blank_text=True, dtd_validation=False, **_xml_parser_options())
    parser.set_element_class_lookup(element_class_lookup)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise Unreadable(f"DOCX part {name} is not well-formed XML ({exc})", "corrupt_document") from None
    _check_docinfo(root.getroottree().docinfo, name)
    return root


def docx_lines(data: bytes, limits: Limits | None = None, deadline: Deadline | None = None) -> list[tuple[str, int]]:
    """DOCX → lines: paragraphs one line each, table rows "\\t"-joined (gridSpan cell once, vMerge
    continuation cells skipped), nested tables read as tables of their own; source line = block index."""
    limits = limits or Limits.from_env()
    deadline = deadline or Deadline(limits.max_seconds)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise Unreadable(f"broken DOCX (ZIP): {exc}", "corrupt_document") from None
    with zf:
        _check_zip(zf, limits)
        xml = None
        try:
            for info in zf.infolist():  # every XML part python-docx would parse: no DTD anywhere
                if info.filename.endswith((".xml", ".rels")) and not info.is_dir():
                    deadline.check("DOCX parts")
                    part = _read_member(zf, info.filename, limits)
                    if info.filename == "word/document.xml":
                        xml = part  # its prolog is checked when it is parsed
                    else:
                        _refuse_dtd(part, info.filename)
        except Unreadable:
            raise
        except Exception as exc:  # CRC errors, broken deflate streams, truncated archives
            raise Unreadable(f"broken DOCX ({type(exc).__name__}: {exc})", "corrupt_document") from None
    if xml is None:
        raise Unreadable("DOCX without word/document.xml", "corrupt_document")
    root = _safe_xml(xml, "word/document.xml")
    body = root.find(f"{_W}body")
    if body is None:
        raise Unreadable("DOCX without a document body", "corrupt_document")
    out: list[tuple[str, int]] = []
    counter = [0]

    def nxt() -> int:
        counter[0] += 1
        if counter[0] % 500 == 0:
            deadline.check("DOCX blocks")
        return counter[0]

    def run_text(el) -> list[str]:
        """Text of a paragraph, split at line breaks; tabs become spaces (a tab separates cells)."""
        pieces, cur = [], []
        for node in el.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr", f"{_W}noBreakHyphen", f"{_W}sym"):
            tag = node.tag
            if tag == f"{_W}t":
                cur.append(node.text or "")
            elif tag == f"{_W}tab":
                cur.append(" ")
            elif tag in (f"{_W}br", f"{_W}cr"):
                pieces.append("".join(cur))
                cur = []
            elif tag == f"{_W}noBreakHyphen":
                cur.append("-")
        pieces.append("".join(cur))
        return pieces

    def blocks(container) -> None:
        for el in container:
            tag = el.tag
            if tag == f"{_W}p":
                no = nxt()
                for piece in run_text(el):
                    t = " ".join(piece.split())
                    if t:
                        out.append((t, no))
            elif tag == f"{_W}tbl":
                table(el)
            elif tag in (f"{_W}sdt", f"{_W}customXml", f"{_W}smartTag"):
                inner = el.find(f"{_W}sdtContent")
                blocks(inner if inner is not None else el)

    def cell_text(tc) -> str:
        parts = []
        for p in tc.iter(f"{_W}p"):
            parts.extend(run_text(p))
        return join_pieces(parts)

    def table(tbl) -> None:
        spans, texts, nos = [], [], []
        for tr in tbl.iter(f"{_W}tr"):
            if tr.getparent() is not tbl:
                continue  # rows of nested tables are read with their own table
            tcs = [tc for tc in tr if tc.tag == f"{_W}tc"] + [tc for s in tr.findall(f"{_W}sdt")
                                                                  for tc in s.iter(f"{_W}tc")]
            if any(tc.find(f".//{_W}tbl") is not None for tc in tcs):
                flush(spans, texts, nos)
                spans, texts, nos = [], [], []
                for tc in tcs:
                    blocks(tc)
                continue
            no = nxt()
            row, cells = [], []
            for tc in tcs:
                pr = tc.find(f"{_W}tcPr")
                span, vm = 1, None
                if pr is not None:
                    gs = pr.find(f"{_W}gridSpan")
                    if gs is not None:
                        try:
                            span = max(1, int(gs.get(f"{_W}val") or 1))
                        except ValueError:
                            span = 1
                    v = pr.find(f"{_W}vMerge")
                    if v is not None:
                        vm = v.get(f"{_W}val") or "continue"
                if vm == "continue":
                    row.append(("", -1, span))  # covered by the cell above: not a cell of this row
                    continue
                txt = cell_text(tc)
                row.append((txt, 1, span))
                cells.append(txt)
            spans.append(row)
            texts.append("\t".join(cells))
            nos.append(no)
        flush(spans, texts, nos)

    def flush(spans, texts, nos) -> None:
        if texts:
            out.extend(zip(texts, nos))
            out.append(("", nos[-1]))

    blocks(body)
    return out


# --------------------------------------------------------------------------- PDF

_PAGE_NO = re.compile(r"^(?:[-–—－\s]*\d{1,4}[-–—－\s]*|第\s*\d+\s*页(?:\s*[/，,]?\s*共\s*\d+\s*页)?|"
                      r"\d+\s*/\s*\d+|page\s*\d+(?:\s*of\s*\d+)?)$", re.I)


def pdf_lines(data: bytes, limits: Limits | None = None, deadline: Deadline | None = None,
              properties: dict | None = None) -> tuple[list[tuple[str, int]], bool]:
    """PDF with a text layer → (lines, tabular).

    Ruled tables (pdfplumber's line strategy) give one "\\t"-joined line per row: a merged cell once,
    where it starts; cell text lines are joined without spaces between CJK characters, so vertical
    headers (one character per line) read as words. Text outside the tables gives one line per
    paragraph (wrapped lines joined); page numbers in the margins are dropped, so a table split over
    pages reads as one. tabular=False when no ruled table was found (the engine then detects the
    layout from the text, like the pdf_text family). Source line = page * 1000 + line on the page.
    """
    limits = limits or Limits.from_env()
    deadline = deadline or Deadline(limits.max_seconds)
    import logging

    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    import pdfplumber
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except Exception as exc:  # pdfminer raises many kinds on broken files
        raise Unreadable(f"broken PDF ({type(exc).__name__}: {exc})", "corrupt_document") from None
    out: list[tuple[str, int]] = []
    any_table = False
    n_chars = 0
    with pdf:
        if properties is not None:   # the document information dictionary: Title names many reports
            try:
                info = pdf.metadata or {}
            except Exception:   # a broken info dictionary is no reason to lose the pages
                info = {}
            for key in ("Title", "Subject", "Author"):
                value = info.get(key)
                if isinstance(value, bytes):
                    value = value.decode("utf-16" if value[:2] in (b"\xfe\xff", b"\xff\xfe") else "latin-1", "replace")
                if isinstance(value, str) and value.strip():
                    properties[key.lower()] = value.strip()[:300]
        try:
            n_pages = len(pdf.pages)
        except Exception as exc:
            raise Unreadable(f"broken PDF ({type(exc).__name__}: {exc})", "corrupt_document") from None
        if n_pages > limits.max_pdf_pages:
            raise Unreadable(f"PDF has {n_pages} pages > {limits.max_pdf_pages} (limit NIANBAO_MAX_PDF_PAGES)",
                             "too_many_pages")
        for pno, page in enumerate(pdf.pages, start=1):
            deadline.check(f"PDF page {pno}")
            try:
                items, n, found = _pdf_page(page, deadline, pno)
            except Unreadable:
                raise
            except Exception as exc:
                raise Unreadable(f"PDF page {pno} could not be read ({type(exc).__name__}: {exc})",
                                 "corrupt_document") from None
            n_chars += n
            any_table = any_table or found
            for k, (text, _) in enumerate(items, start=1):
                out.append((text, pno * 1000 + k))
            if hasattr(page, "flush_cache"):
                page.flush_cache()  # keep one page's layout objects in memory at a time
    if n_chars == 0:
        raise NoTextLayer(f"PDF has no text layer ({n_pages} page(s) of images or vector art)", "no_text_layer")
    return out, any_table


def _pdf_page(page, deadline: Deadline, pno: int):
    chars = page.chars
    if not chars:
        return [], 0, False
    tables = page.find_tables()
    deadline.check(f"PDF page {pno} tables")
    boxes = [t.bbox for t in tables]

    def inside(obj) -> bool:
        cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return any(x0 <= cx <= x1 and t <= cy <= b for x0, t, x1, b in boxes)

    items: list[tuple[float, int, list[str]]] = []  # (top, order, lines)
    for k, t in enumerate(tables):
        rows = []
        for row in t.extract(x_tolerance=1.5, y_tolerance=2):
            cells = [join_pieces((c or "").split("\n")) for c in row if c is not None]
            rows.append("\t".join(cells))
        items.append((t.bbox[1], k, rows + [""]))
    rest = page.filter(lambda o: o.get("object_type") != "char" or not inside(o)) if boxes else page
    text_lines = rest.extract_text_lines(return_chars=True, x_tolerance=1.5, y_tolerance=2)
    height = float(page.height)
    margin = 0.08 * height
    kept = []
    for ln in text_lines:
        s = " ".join(ln["text"].split())
        if not s:
            continue
        if (ln["top"] < margin or ln["bottom"] > height - margin) and _PAGE_NO.match(s):
            continue  # page number in a header/footer
        size = ln["chars"][0].get("size", 10) if ln.get("chars") else 10
        kept.append({"text": s, "x0": ln["x0"], "x1": ln["x1"], "top": ln["top"], "bottom": ln["bottom"],
                     "size": size})
    right = max((ln["x1"] for ln in kept), default=0)
    paras: list[dict] = []
    for ln in kept:
        prev = paras[-1] if paras else None
        if (prev is not None and prev["x1"] >= right - 1.5 * prev["size"]
                and abs(ln["size"] - prev["size"]) < 0.5
                and 0 <= ln["top"] - prev["bottom"] < 0.6 * ln["size"]
                and not any(prev["bottom"] <= b[1] <= ln["top"] for b in boxes)):
            prev["text"] = join_pieces([prev["text"], ln["text"]])  # a wrapped paragraph
            prev["x1"], prev["bottom"] = ln["x1"], ln["bottom"]
            continue
        paras.append(dict(ln))
    for p in paras:
        items.append((p["top"], 10_000, [p["text"]]))
    items.sort(key=lambda x: (x[0], x[1]))
    flat = [(line, 0) for _, _, lines in items for line in lines]
    return flat, len(chars), bool(tables)

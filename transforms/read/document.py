"""The dispatcher: any report file's bytes → a Document (its lines, kind, encoding), by the reader its
content calls for (read/html.py, docx.py, pdf.py, text.py; ocr.py for scans and pictures, legacy_office.py).

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

Limits (read/limits.py: module constants, each overridable by an environment variable read at call
time, see :class:`Limits`) are enforced before the heavy work: raw size first (the flow stats a file before
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
import re
import time
from dataclasses import dataclass, field
from typing import Callable

from transforms.formats import FORMATS
from transforms.read.charsets import DecodeError, decode
from transforms.read.docx import docx_lines
from transforms.read.html import html_table_lines
from transforms.read.limits import Deadline, Limits, NoTextLayer, Unreadable, too_large
from transforms.read.pdf import pdf_lines
from transforms.read.sniff import LEGACY_KINDS, is_markup, sniff
from transforms.read.text import text_lines


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
    try:
        text, encoding, repairs = decode(data)
    except DecodeError as exc:
        raise Unreadable(str(exc), exc.code) from None
    deadline.check("decoding")
    if kind == "html" or is_markup(text):
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
    tables = next(iter(FORMATS.values())).tables           # 二, 三, 四 in document order
    return tuple(tuple(dict.fromkeys(a for f in FORMATS.values() for a in f.tables[t].anchors)) for t in tables)


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

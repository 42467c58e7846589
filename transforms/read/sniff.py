"""The file type from its content, never its name (docx, pdf, html, text, legacy Office, images …)."""
from __future__ import annotations

import io
import re
import zipfile

from transforms.read.text import is_html

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


def is_markup(text: str) -> bool:
    """Whether decoded text is markup (sniff saw no tag in the raw bytes: UTF-16, a BOM, a comment)."""
    if is_html(text):
        return True
    head = text[:4096].lstrip("\ufeff")
    first = head.lstrip(" \t\n\r\f\v")[:1]
    if first != "<" and not "\ud800" <= first <= "\udfff":
        return False  # markup opens with "<" after ASCII blanks (a lone surrogate vanishes in the encoding)
    return bool(_MARKUP.match(head.encode("utf-8", "ignore")))

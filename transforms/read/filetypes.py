"""Which files cannot be reports, told from their first bytes (pure: bytes in, a reason out).

Discovery takes every file of a folder and lets the engine sniff the supported types (text,
HTML, DOCX, PDF, legacy Office files, scans as PNG/JPEG/TIFF/BMP/GIF/WebP:
``transforms.read.sniff.sniff``); a file whose magic number says it is an executable, an archive,
media or an image format the OCR cannot decode (HEIC, AVIF) is refused up front with this reason,
so that it is listed as ``unsupported_type`` instead of being decoded as text. Anything not recognised here is handed
to the engine, which quarantines it with its own reason if it is not a report.
"""
from __future__ import annotations

from collections.abc import Iterable

HEAD_BYTES = 4096      # what unsupported_type needs to see of a file

# (magic at offset 0, description)
_MAGIC = (
    (b"\x7fELF", "executable (ELF)"),
    (b"\xfe\xed\xfa\xce", "executable (Mach-O)"),
    (b"\xfe\xed\xfa\xcf", "executable (Mach-O)"),
    (b"\xce\xfa\xed\xfe", "executable (Mach-O)"),
    (b"\xcf\xfa\xed\xfe", "executable (Mach-O)"),
    (b"\xca\xfe\xba\xbe", "executable (Mach-O universal or Java class)"),
    (b"\x00asm", "WebAssembly module"),
    (b"\x1f\x8b", "gzip archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"\x28\xb5\x2f\xfd", "zstd archive"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"ID3", "MP3 audio"),
    (b"OggS", "Ogg media"),
    (b"fLaC", "FLAC audio"),
    (b"\x1aE\xdf\xa3", "Matroska/WebM video"),
)
_RIFF = {b"WAVE": "WAV audio", b"AVI ": "AVI video"}
_FTYP = {b"heic": "HEIC image", b"heix": "HEIC image", b"avif": "AVIF image", b"qt  ": "QuickTime video"}
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_ZIP_KINDS = (("xl/workbook.xml", "Excel workbook (XLSX)"), ("ppt/presentation.xml", "PowerPoint file (PPTX)"),
              ("mimetype", "OpenDocument or EPUB file"))


def is_zip(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC)


def unsupported_type(head: bytes, zip_members: Iterable[str] | None = None) -> str | None:
    """What the file is when it is a type nianbao cannot read, else None (text, HTML, PDF, DOCX or
    unknown: the engine decides). ``zip_members``: the names of a ZIP archive's members (None when
    the archive's directory cannot be read: the engine then reports the broken file)."""
    if is_zip(head):
        if zip_members is None:
            return None
        names = set(zip_members)
        if "word/document.xml" in names or {"mimetype", "content.xml"} <= names:
            return None                     # DOCX, or OpenDocument text / spreadsheet (LibreOffice reads it)
        kind = next((k for member, k in _ZIP_KINDS if member in names), "ZIP archive")
        return f"{kind} that is not a Word document (no word/document.xml)"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] in _RIFF:
        return _RIFF[head[8:12]]
    if head[4:8] == b"ftyp":
        return _FTYP.get(head[8:12], "MP4/QuickTime media")
    if head[:2] == b"MZ" and len(head) >= 64:
        pe = int.from_bytes(head[60:64], "little")
        if head[pe:pe + 4] == b"PE\x00\x00" or b"This program cannot be run in DOS mode" in head:
            return "executable (Windows)"
    if head[:3] == b"BZh" and head[3:4].isdigit() and head[4:10] == b"1AY&SY":
        return "bzip2 archive"
    return None

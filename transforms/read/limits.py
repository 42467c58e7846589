"""Per-file limits (each a module constant overridable by a NIANBAO_* variable read at call time),
the cooperative deadline, and the error a file over a limit (or not a report) is refused with."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

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



def too_large(size: int, limit: int, grew: bool = False) -> Unreadable:
    """The reason for a file over NIANBAO_MAX_BYTES (also raised by the flow before reading it;
    `grew`: the file grew past the limit while it was read, `size` is what was read)."""
    if grew:
        return Unreadable(f"file too large: grew past {_mb(limit)} while it was read ({limit} bytes, "
                          f"limit NIANBAO_MAX_BYTES)", "too_large")
    return Unreadable(f"file too large: {_mb(size)} ({size} bytes) > {_mb(limit)} ({limit} bytes, "
                      f"limit NIANBAO_MAX_BYTES)", "too_large")

"""The one charset decoder: the bytes of a text file or HTML page → text, its encoding, and the repairs.

Used for every text and HTML input (read.document.read_document). Order:

1. nothing but blanks → ``empty``; a BOM (UTF-8, UTF-16) decides the encoding; NUL bytes in the head
   mean a few stray NULs in UTF-8 text (repaired), BOM-less UTF-16, or else a binary file;
2. strict UTF-8 (nearly every report: the fast path);
3. text that is clearly UTF-8 (≥ 90 % of its non-ASCII bytes are well-formed UTF-8 sequences) but
   cut in the middle of a character or carrying a few invalid bytes is *repaired*, never handed to
   a legacy codec: GB18030 and Big5 decode UTF-8 bytes without an error into mojibake, whose labels
   and numbers would then be read as real ones;
4. otherwise the candidates — the declared charset if it is believable (a Western single-byte
   charset declared on a page of Chinese text is not), GB18030 (⊇ GBK ⊇ GB2312), Big5-HKSCS and the
   guess of charset-normalizer — are decoded (strictly, else repaired) and the one that reads most
   like a Chinese report wins (decoding alone cannot decide: GB18030 "decodes" Big5 bytes).

A repair replaces each run of invalid bytes by one U+FFFD and is recorded (:class:`Repair`: byte
offset, length, line of the decoded text) so the engine can flag every cell read from that line.
Only a few isolated runs are repaired (``MAX_REPAIR_RUNS``, and at least ``REPAIR_DENSITY``
well-formed non-ASCII characters per run): anything more damaged is not text and raises
:class:`DecodeError` with its quarantine reason code.
"""
from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

MAX_REPAIR_RUNS = 16    # invalid byte runs a text may carry and still be read (each flagged)
REPAIR_DENSITY = 20     # well-formed non-ASCII characters required per repaired run
_HIGH_BYTES = bytes(range(0x80, 0x100))


class DecodeError(ValueError):
    """Bytes that are not a readable text; ``code`` is the quarantine reason code."""

    def __init__(self, reason: str, code: str = "undecodable"):
        super().__init__(reason)
        self.code = code


@dataclass(frozen=True, slots=True)
class Repair:
    """One run of invalid bytes replaced by one U+FFFD."""
    offset: int     # byte offset of the run in the file
    length: int     # number of bytes replaced
    line: int       # 1-based line of the decoded text that holds the U+FFFD


class Decoded(NamedTuple):
    text: str
    encoding: str
    repairs: tuple[Repair, ...] = ()


_BOMS = ((codecs.BOM_UTF8, "utf-8", "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"))
_WESTERN = re.compile(r"^(?:iso[-_]?8859[-_]?\d+|latin[-_]?\d|l\d|windows[-_]?125\d|cp125\d|us[-_]?ascii|ascii|"
                      r"iso[-_]?646.*|ansi.*)$")
_ALIASES = {"gbk": "gb18030", "gb2312": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
            "cp936": "gb18030", "euc-cn": "gb18030", "big5": "big5hkscs"}
_CN_WORDS = ("政府", "信息", "公开", "公開", "申请", "申請", "行政", "年度", "报告", "報告", "情况", "情況",
             "数量", "數量", "的", "和", "本", "年", "人", "处理", "處理", "复议", "複議", "诉讼", "訴訟")


def decode(data: bytes) -> Decoded:
    """Bytes → Decoded(text, encoding, repairs). Raises DecodeError (code empty, binary or undecodable)."""
    if not data.strip():
        raise DecodeError("empty file", "empty")
    for bom, enc, name in _BOMS:
        if data.startswith(bom):
            got = _decode_or_repair(data, enc, len(bom))
            if got is None:
                raise DecodeError(f"undecodable {name} text: more than {MAX_REPAIR_RUNS} runs of invalid bytes")
            return Decoded(got[0], name, got[1])
    if b"\x00" in data[:8192]:
        if data.count(b"\x00") <= MAX_REPAIR_RUNS:
            # a few stray NULs in UTF-8 text are damage, not a binary file: repaired like any invalid
            # byte (0xFF never occurs in UTF-8). Tried first: UTF-16 "decodes" UTF-8 CJK bytes.
            nul_free = data.replace(b"\x00", b"\xff")
            if _clearly_utf8(nul_free):
                got = _repaired(nul_free, "utf-8")
                if got is not None:
                    return Decoded(got[0], "utf-8", got[1])
        # UTF-16 without BOM has a NUL in every other byte of ASCII; anything else is binary.
        for enc in ("utf-16-le", "utf-16-be"):
            got = _decode_or_repair(data, enc)
            if got is not None and _looks_textual(got[0], len(got[1])):
                return Decoded(got[0], enc, got[1])
        raise DecodeError("binary file (NUL bytes), not a text report", "binary")
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as exc:
        cut_last_character = exc.end == len(data) and exc.reason == "unexpected end of data"
    if cut_last_character or _clearly_utf8(data):
        got = _repaired(data, "utf-8")
        if got is None:
            raise DecodeError(f"UTF-8 text too damaged to read: {_invalid_utf8(data)} invalid bytes (at most "
                              f"{MAX_REPAIR_RUNS} isolated runs, {REPAIR_DENSITY} good characters apart, are repaired)")
        return Decoded(got[0], "utf-8", got[1])
    return _legacy(data)


def _legacy(data: bytes) -> Decoded:
    head = data[:8192]
    declared = _declared(head)
    norm = _ALIASES.get(declared or "", declared)
    cands: list[str] = []
    if norm and not _WESTERN.match(norm) and norm not in ("utf-8", "utf8"):
        cands.append(norm)
    cands += [c for c in ("gb18030", "big5hkscs") if c not in cands]
    from charset_normalizer import from_bytes  # slow import: only for files that are not UTF-8

    guess = from_bytes(data[:200_000]).best()
    if guess is not None and guess.encoding not in cands:
        cands.append(guess.encoding)
    best: tuple[float, Decoded] | None = None
    for rank, enc in enumerate(cands):
        try:
            got = _decode_or_repair(data, enc)
        except LookupError:
            continue
        if got is None or not _looks_textual(got[0], len(got[1])):
            continue
        # ties: declared, then GB18030; a strict decoding before a repaired one
        score = _cn_score(got[0]) - rank * 1e-6 - (1e-3 if got[1] else 0.0)
        if best is None or score > best[0]:
            best = (score, Decoded(got[0], enc, got[1]))
    if best is not None:
        return best[1]
    raise DecodeError(f"undecodable bytes: not UTF-8, UTF-16, GB18030 or Big5 text"
                      f"{f' (declared {declared!r})' if declared else ''}")


def _decode_or_repair(data: bytes, enc: str, skip: int = 0) -> tuple[str, tuple[Repair, ...]] | None:
    try:
        return str(memoryview(data)[skip:], enc), ()
    except UnicodeDecodeError:
        return _repaired(data, enc, skip)


def _repaired(data: bytes, enc: str, skip: int = 0) -> tuple[str, tuple[Repair, ...]] | None:
    """Decode with each run of invalid bytes replaced by one U+FFFD; None when the text has more than
    MAX_REPAIR_RUNS runs or too few well-formed non-ASCII characters to be sure of its encoding."""
    view = memoryview(data)
    pieces: list[str] = []
    runs: list[list[int]] = []   # [byte offset, length, character index of its U+FFFD]
    pos, n_chars = skip, 0
    while True:
        try:
            piece = str(view[pos:], enc)
        except UnicodeDecodeError as exc:
            piece = str(view[pos:pos + exc.start], enc)
            start, end = pos + exc.start, pos + max(exc.end, exc.start + 1)
        else:
            pieces.append(piece)
            break
        pieces.append(piece)
        n_chars += len(piece)
        if runs and not piece and runs[-1][0] + runs[-1][1] == start:
            runs[-1][1] = end - runs[-1][0]      # adjacent invalid bytes: one run
        else:
            if len(runs) == MAX_REPAIR_RUNS:
                return None
            runs.append([start, end - start, n_chars])
            pieces.append("\ufffd")
            n_chars += 1
        pos = end
    text = "".join(pieces)
    well_formed = len(text) - len(text.encode("ascii", "ignore")) - len(runs)
    inner = len(runs) - (runs[-1][0] + runs[-1][1] == len(data))   # a cut last character needs no proof
    if well_formed < REPAIR_DENSITY * inner or not _looks_textual(text, len(runs)):
        return None
    return text, tuple(Repair(off, length, _line_of(text, at)) for off, length, at in runs)


def _line_of(text: str, index: int) -> int:
    """1-based line of a character, counted as the text readers count lines (\\r\\n, \\r, \\n)."""
    return text.count("\n", 0, index) + text.count("\r", 0, index) - text.count("\r\n", 0, index) + 1


def _clearly_utf8(data: bytes) -> bool:
    """≥ 90 % of the non-ASCII bytes form well-formed UTF-8 (a GBK or Big5 text: ~10–20 %)."""
    high = len(data) - len(data.translate(None, _HIGH_BYTES))
    valid = high - _invalid_utf8(data)
    return valid >= 64 and valid >= 0.9 * high


def _invalid_utf8(data: bytes) -> int:
    return len(data) - len(data.decode("utf-8", "ignore").encode("utf-8"))


def _declared(head: bytes) -> str | None:
    m = re.search(rb"charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", head[:4096])
    if not m:
        m = re.search(rb"<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9_\-]+)", head[:512])
    return m.group(1).decode("ascii").lower() if m else None


def _cn_score(text: str) -> float:
    sample = text[:20000]
    if not sample:
        return 0.0
    hits = sum(sample.count(w) * len(w) for w in _CN_WORDS)
    return hits / len(sample)


def _looks_textual(text: str, repaired: int = 0) -> bool:
    """Fewer than 1 % control, unassigned, private-use, surrogate or replacement characters (the
    `repaired` U+FFFD the decoder put in itself not counted)."""
    if not text:
        return False
    sample = text[:20000]
    bad = sum(1 for ch in sample if ch not in "\t\r\n\f" and
              (ch == "\ufffd" or unicodedata.category(ch) in ("Cc", "Cn", "Co", "Cs")))
    return max(0, bad - repaired) / len(sample) < 0.01


def repair_problem(repairs: tuple[Repair, ...]) -> str:
    """The report problem naming what was replaced: how many bytes, where."""
    n_bytes = sum(r.length for r in repairs)
    where = ", ".join(f"byte {r.offset} (line {r.line}, {r.length} byte{'s' if r.length > 1 else ''})"
                      for r in repairs[:6])
    more = f" and {len(repairs) - 6} more" if len(repairs) > 6 else ""
    return (f"decode_repaired: {n_bytes} invalid byte{'s' if n_bytes > 1 else ''} in {len(repairs)} "
            f"run{'s' if len(repairs) > 1 else ''} replaced by U+FFFD at {where}{more}; "
            f"cells read from those lines are flagged decode_repaired")

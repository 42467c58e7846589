"""One printable, lossless text form of a local file name (the `source_file` of every dataset).

A POSIX file name is bytes; Python hands undecodable bytes over as lone surrogates, which no UTF-8
writer (Arrow, JSON, Parquet) accepts. The published name escapes them instead, reversibly:

* an undecodable byte → ``\\xNN`` (two lowercase hex digits);
* a control character (U+0000–U+001F, U+007F) → ``\\xNN``, U+0080–U+009F → ``\\u00NN``;
* a backslash → ``\\\\`` (so a printed ``\\xff`` can only mean the byte);
* everything else as is (Chinese names stay readable).

The name is escaped once, where the file is found; the file itself is always read from its real path.
"""
from __future__ import annotations

import os
import re

_NEEDS_ESCAPE = re.compile(r"[\\\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_ESCAPED = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4})")


def _escape(m: re.Match) -> str:
    ch = m.group()
    if ch == "\\":
        return "\\\\"
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:
        return _escape_surrogate(m)
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _escape_surrogate(m: re.Match) -> str:
    code = ord(m.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def escape_surrogates(text: str) -> str:
    """Only the lone surrogates of a string escaped (a name that did not come through printable_name,
    e.g. handed to the parser directly): undecodable bytes as ``\\xNN``, others as ``\\uNNNN``."""
    return _SURROGATE.sub(_escape_surrogate, text)


def inert_line(text: str) -> str:
    """A file name or reason as one inert terminal line: control characters (newlines, escape
    sequences a hostile name could carry) written as \\x.. escapes."""
    return "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii") for c in text)


def printable_name(name: str | bytes) -> str:
    """The published form of a local path (str from os.fsdecode, or bytes)."""
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    return _NEEDS_ESCAPE.sub(_escape, name)


def real_name(printed: str) -> bytes:
    """The file name's bytes back from printable_name (its inverse)."""
    out = bytearray()
    pos = 0
    for m in _ESCAPED.finditer(printed):
        out += printed[pos:m.start()].encode("utf-8", "surrogateescape")
        esc = m.group(1)
        if esc == "\\":
            out += b"\\"
        elif esc[0] == "x":
            out.append(int(esc[1:], 16))
        else:
            out += chr(int(esc[1:], 16)).encode("utf-8", "surrogatepass")
        pos = m.end()
    out += printed[pos:].encode("utf-8", "surrogateescape")
    return bytes(out)

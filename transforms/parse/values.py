"""Cell values as printed → (value, unit, flags). The printed text is always kept by the caller."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

# The one list of printed "no value" tokens (STATUTORY_TABLES.md "Cell values as printed"). The value
# parser reads them as null and the quality gate (transforms/checks/reconcile.py) does not count them as
# printed values: both ask `is_no_value`, so a token the parser accepts can never fail the gate.
# Blank text (nothing left after normalising) is no value too.
NIL_TOKENS = frozenset({"/", "-", "--", "—", "——", "–", "－", "―", "无", "空", "\\", "／", "x", "X", "×",
                        "&nbsp;"})

# A float64 holds every integer up to 2^53 exactly; a printed integer beyond it would be published
# rounded (a number that is not in the file), so it is published null and flagged instead.
MAX_EXACT_INTEGER = 2 ** 53
IMPLAUSIBLE = "implausible_value"

# 增/减 (增加/减少) written before the number of a 本年增/减 cell are its sign: read as +/-.
_SIGN_WORDS = {"增": "+", "增加": "+", "减": "-", "减少": "-", "減": "-", "減少": "-"}

_NUMBER = re.compile(
    r"^(?P<word>增加|减少|減少|增|减|減)?\s*(?P<sign>[+\-]*)\s*(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?P<frac>\.\d+)?\s*"
    r"(?P<unit>万元|萬元|元|件|个|個|条|條|项|項|次)?$"
)


class Parsed(NamedTuple):
    value: float | None
    unit: str | None  # unit printed in the cell, if any
    flags: tuple[str, ...]
    is_value: bool  # the text is a number or a nil token (not a label)
    signed: bool = False  # a sign was printed (+, -, 增, 减): unexpected on a count column


_NOT_A_VALUE = Parsed(None, None, (), False)
_NO_VALUE = Parsed(None, None, (), True)


def _normalise(raw: str) -> str:
    s = unicodedata.normalize("NFKC", raw)
    return s.replace("\u00a0", " ").replace("\u2212", "-").replace("\u2014", "—").strip()


def is_no_value(raw: str) -> bool:
    """Printed text that means "no value": blank or one of NIL_TOKENS (as the parser reads them)."""
    s = _normalise(raw)
    return s == "" or s in NIL_TOKENS or unicodedata.normalize("NFKC", s) in NIL_TOKENS


@lru_cache(maxsize=65536)
def parse_value(raw: str) -> Parsed:
    """Parse one printed cell. Blank → None; '/', '-', '—' → None; '--253' → -253 (flagged);
    '减4' → -4; an integer beyond 2^53 → None flagged implausible_value (the text stays raw_value)."""
    if is_no_value(raw):
        return _NO_VALUE
    m = _NUMBER.match(_normalise(raw))
    if not m:
        return _NOT_A_VALUE
    flags: list[str] = []
    sign = m.group("sign")
    if m.group("word"):
        sign = _SIGN_WORDS[m.group("word")] + sign  # '减-4' is a doubled sign, like '--4'
    negative = sign.count("-") % 2 == 1 if sign else False
    if len(sign) > 1:
        flags.append("typo_double_sign")
        negative = "-" in sign  # "--253" is a typo for -253, not +253
    digits = m.group("int").replace(",", "")
    if len(digits) > 1 and digits.startswith("0") and not m.group("frac"):
        flags.append("typo_zero_padding")
    unit = {"萬元": "万元"}.get(m.group("unit"), m.group("unit"))
    if unit in ("万元", "元"):
        flags.append("unit_in_cell")
    else:
        unit = None
    if len(digits) > 15 and int(digits) > MAX_EXACT_INTEGER:
        return Parsed(None, unit, (*flags, IMPLAUSIBLE), True, bool(sign))
    value = float(digits + (m.group("frac") or ""))
    if negative and value:  # '-0' / '减0' is 0, not -0.0
        value = -value
    return Parsed(value, unit, tuple(flags), True, bool(sign))


def is_value_text(raw: str) -> bool:
    return parse_value(raw).is_value


@lru_cache(maxsize=4096)
def unit_from_label(label: str) -> str | None:
    """A money unit named in a header: 采购总金额（单位：万元） → 万元."""
    s = unicodedata.normalize("NFKC", label)
    if "万元" in s or "萬元" in s:
        return "万元"
    if re.search(r"[(:,]\s*元|单位\s*:?\s*元|元\)", s):
        return "元"
    return None

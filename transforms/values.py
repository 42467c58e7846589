"""Cell values as printed → (value, unit, flags). The printed text is always kept by the caller."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

# Printed "no value" tokens: blank is handled by the caller (raw ""), these are visible nils.
NIL_TOKENS = frozenset({"/", "-", "--", "—", "——", "–", "－", "―", "无", "空", "\\", "／", "x", "X", "×"})

_NUMBER = re.compile(
    r"^(?P<sign>[+\-]*)\s*(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?P<frac>\.\d+)?\s*(?P<unit>万元|萬元|元|件|个|個|条|條|项|項|次)?$"
)


class Parsed(NamedTuple):
    value: float | None
    unit: str | None  # unit printed in the cell, if any
    flags: tuple[str, ...]
    is_value: bool  # the text is a number or a nil token (not a label)


_NOT_A_VALUE = Parsed(None, None, (), False)


def _normalise(raw: str) -> str:
    s = unicodedata.normalize("NFKC", raw)
    return s.replace("\u00a0", " ").replace("\u2212", "-").replace("\u2014", "—").strip()


@lru_cache(maxsize=65536)
def parse_value(raw: str) -> Parsed:
    """Parse one printed cell. Blank → None; '/', '-', '—' → None; '--253' → -253 (flagged)."""
    s = _normalise(raw)
    if s == "":
        return Parsed(None, None, (), True)
    if s in NIL_TOKENS or unicodedata.normalize("NFKC", s) in NIL_TOKENS:
        return Parsed(None, None, (), True)
    m = _NUMBER.match(s)
    if not m:
        return _NOT_A_VALUE
    flags: list[str] = []
    sign = m.group("sign")
    negative = sign.count("-") % 2 == 1 if sign else False
    if len(sign) > 1:
        flags.append("typo_double_sign")
        negative = "-" in sign  # "--253" is a typo for -253, not +253
    digits = m.group("int").replace(",", "")
    if len(digits) > 1 and digits.startswith("0") and not m.group("frac"):
        flags.append("typo_zero_padding")
    value = float(digits + (m.group("frac") or ""))
    if negative:
        value = -value
    unit = {"萬元": "万元"}.get(m.group("unit"), m.group("unit"))
    if unit in ("万元", "元"):
        flags.append("unit_in_cell")
    else:
        unit = None
    return Parsed(value, unit, tuple(flags), True)


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

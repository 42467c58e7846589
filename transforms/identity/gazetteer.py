"""China's administrative divisions, offline: GB/T 2260 codes of provinces, cities and counties, the
townships under each county and former names (data/gazetteer.tsv.gz, built by build_gazetteer.py
from jionlp's dictionary, Apache-2.0, Ministry of Civil Affairs codes as of 2025-11).

A body's name starts with its place ("哈尔滨市道里区经纬街道办事处", "重庆合川工业园区管委会"):
`Gazetteer.place_prefix` reads that place off the front of a name as a chain of divisions, each
inside the one before; names that several places share (长安区, 春城街道) are settled by the other
places the report mentions, or stay unresolved.
"""
from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from transforms.labels import clean

DATA = Path(__file__).with_name("data") / "gazetteer.tsv.gz"
LEVELS = ("province", "city", "county", "township")
# Pseudo-cities of the code list (province-administered county-level cities): never printed.
_PSEUDO_CITY = ("省直辖", "自治区直辖", "县", "市辖区")
# Township-level units named only by what they are (经济技术开发区 exists in many counties): not a place.
_GENERIC_UNIT = re.compile(r"^(?:国家级)?(?:经济技术|经开|经济|高新技术产业|高新技术|高新|工业|产业|综合保税|保税|农业科技|"
                           r"现代农业|出口加工|旅游|生态|临港|物流)*(?:开发区|园区|新区|工业园|示范区|试验区|集聚区|"
                           r"管理区|功能区|区)$")


@dataclass(frozen=True)
class Division:
    code: str
    level: str          # province | city | county
    name: str
    short: str
    parent: str | None  # code of the enclosing division


@dataclass(frozen=True)
class Place:
    """The place a name starts with: the deepest division and the printed span it covers."""
    division: Division | None       # None when the candidates stay ambiguous
    township: str | None            # township / street name under division (a county)
    end: int                        # characters of the name covered by the place
    candidates: tuple[str, ...]     # codes still possible when ambiguous
    exact: bool                     # True when every step was a full name (not a short form)


class Gazetteer:
    def __init__(self, rows: list[list[str]]):
        self.divisions: dict[str, Division] = {}
        self.full: dict[str, list[str]] = {}       # cleaned full or former name → codes
        self.short: dict[str, list[str]] = {}      # cleaned short name (≥ 2 chars) → codes
        self.townships: dict[str, list[str]] = {}  # cleaned township name → county codes
        printed: dict[tuple[str, str], str] = {}
        for f in rows:
            kind = f[0]
            if kind in "PCD":
                level = {"P": "province", "C": "city", "D": "county"}[kind]
                parent = f[4] if kind != "P" else None
                d = Division(f[1], level, f[2], f[3], parent)
                self.divisions[d.code] = d
                if not d.name.startswith(_PSEUDO_CITY) and not _GENERIC_UNIT.match(clean(d.name)):
                    self.full.setdefault(clean(d.name), []).append(d.code)
                    if len(d.short) >= 2 and d.short != d.name and not _GENERIC_UNIT.match(clean(d.short)):
                        self.short.setdefault(clean(d.short), []).append(d.code)
            elif kind == "T":
                key = clean(f[2])
                if _GENERIC_UNIT.match(key):
                    continue
                self.townships.setdefault(key, []).append(f[1])
                printed[(f[1], key)] = f[2]
        for f in rows:
            if f[0] == "F" and f[1] in self.divisions:
                codes = self.full.setdefault(clean(f[2]), [])
                if f[1] not in codes:
                    codes.append(f[1])
        # a township's printed name where its cleaned key differs (32 of ~43,000: a map of every pair
        # was half the unpickling of the cached gazetteer, ~16 ms of every process that parses)
        self._printed_townships = {k: name for k, name in printed.items() if name != k[1]}
        self.max_len = max(len(k) for k in (*self.full, *self.townships))
        # The lengths of the names starting with a name's first two characters, longest first:
        # nearly every pair starts no name, so most positions cost one dict probe.
        self._long_lengths = self._lengths_by_head((self.full, self.townships))
        self._short_lengths = self._lengths_by_head((self.short,), longest=8)   # _step reads short names of ≤ 8
        self._one_char = any(len(k) < 2 for t in (self.full, self.townships, self.short) for k in t)

    @staticmethod
    def _lengths_by_head(tables: tuple[dict, ...], longest: int | None = None) -> dict[str, tuple[int, ...]]:
        by_head: dict[str, set[int]] = {}
        for table in tables:
            for k in table:
                if longest is None or len(k) <= longest:
                    by_head.setdefault(k[:2], set()).add(len(k))
        return {h: tuple(sorted(v, reverse=True)) for h, v in by_head.items()}

    def township_printed(self, county: str, key: str) -> str | None:
        """The printed name of the township ``key`` (cleaned) under ``county``; None when there is none."""
        if county not in self.townships.get(key, ()):
            return None
        return self._printed_townships.get((county, key), key)

    # ------------------------------------------------------------------ hierarchy

    def ancestors(self, code: str) -> list[Division]:
        """The division and its parents, outermost first (pseudo-cities left out)."""
        out = []
        d = self.divisions.get(code)
        while d is not None:
            if not d.name.startswith(_PSEUDO_CITY):
                out.append(d)
            d = self.divisions.get(d.parent) if d.parent else None
        return out[::-1]

    def _inside(self, code: str, outer: str) -> bool:
        if code == outer:
            return True
        d = self.divisions.get(code)
        while d is not None and d.parent:
            if d.parent == outer:
                return True
            d = self.divisions.get(d.parent)
        return False

    def names_of(self, code: str) -> tuple[str, ...]:
        """Every printed form of a division and its parents (full and short names)."""
        out = []
        for d in self.ancestors(code):
            out.append(d.name)
            if len(d.short) >= 2:
                out.append(d.short)
        return tuple(out)

    # ------------------------------------------------------------------ reading a name

    def place_prefix(self, name: str, hints: str = "") -> Place | None:
        """The chain of divisions `name` (cleaned) starts with, or None when it starts with none.

        At each position the longest full name, former name or township name wins, then the
        longest short name; every step must lie inside the previous one. Candidates left
        ambiguous are narrowed by the places `hints` mentions (the report's head, the context)."""
        chain = self._chain(name)
        if chain is None:
            return None
        cands, township, pos, exact = chain
        if len(cands) > 1 and hints:
            cands = self._narrow(cands, hints)
        if len(cands) == 1:
            code = cands[0]
            tname = self.township_printed(code, township) if township else None
            return Place(self.divisions[code], tname, pos, (code,), exact)
        return Place(None, None, pos, tuple(sorted(cands)), exact)

    @lru_cache(maxsize=65536)  # noqa: B019  (one gazetteer per process)
    def _chain(self, name: str):
        """(candidate codes, township key, characters covered, all full names) or None."""
        pos, cands, township, exact = 0, None, None, True
        while pos < len(name):
            step = self._step(name, pos, cands)
            if step is None and cands is not None and name.startswith("人民政府", pos):
                # 华龙区人民政府中原路街道办事处: the street office of the district government
                step = self._step(name, pos + 4, cands)
                if step is not None and step[2]:
                    pos += 4
                else:
                    step = None
            if step is None:
                break
            codes, length, is_township, full = step
            if is_township:
                township = name[pos:pos + length]
            cands = codes
            exact = exact and full
            pos += length
            if is_township:
                break
        if cands is None:
            return None
        return tuple(cands), township, pos, exact

    def _step(self, name: str, pos: int, cands: list[str] | None):
        """The longest full, former or township name at `pos` inside `cands`, else the longest
        short name (at most 8 characters): (codes, length, is_township, full) or None."""
        left = len(name) - pos
        if left <= 0:
            return None
        head = name[pos:pos + 2]
        lengths = self._long_lengths.get(head, ())
        if self._one_char:
            lengths = tuple(sorted({*lengths, *self._long_lengths.get(name[pos], ())}, reverse=True))
        for length in lengths:
            if length > left:
                continue
            piece = name[pos:pos + length]
            for table, is_township in ((self.full, False), (self.townships, True)):
                codes = table.get(piece)
                if codes:
                    codes = self._within(codes, cands)
                    if codes:
                        return codes, length, is_township, True
        lengths = self._short_lengths.get(head, ())
        if self._one_char:
            lengths = tuple(sorted({*lengths, *self._short_lengths.get(name[pos], ())}, reverse=True))
        for length in lengths:
            if length > left:
                continue
            piece = name[pos:pos + length]
            codes = self.short.get(piece)
            if codes:
                codes = self._within(codes, cands)
                if codes:
                    return codes, length, False, False
        return None

    def _within(self, codes: list[str], cands: list[str] | None) -> list[str]:
        if cands is None:
            return list(dict.fromkeys(codes))
        cands = list(cands)
        return list(dict.fromkeys(c for c in codes if any(self._inside(c, o) for o in cands)))

    def _narrow(self, cands: list[str], hints: str) -> list[str]:
        """Keep the candidates whose enclosing places the hints mention (most mentions win)."""
        scored = []
        for c in cands:
            parents = self.ancestors(c)
            hits = sum(1 for d in parents for n in (d.name, d.short) if len(n) >= 2 and n in hints)
            scored.append((hits, c))
        best = max(h for h, _ in scored)
        return [c for h, c in scored if h == best] if best else cands

    def resolve_region(self, text: str) -> Division | None:
        """A region named by the caller's context ("武汉市硚口区", "420104", "富县")."""
        text = clean(text or "").replace(" ", "")
        if not text:
            return None
        if text.isdigit() and len(text) >= 6:
            return self.divisions.get(text[:6])
        place = self.place_prefix(text)
        return place.division if place else None


@lru_cache(maxsize=1)
def load() -> Gazetteer:
    """The shipped gazetteer, once per process: built from the file (~0.3 s, the names cleaned) or,
    as a previous process built it from the same file and code, from transforms/cache.py (~0.04 s)."""
    import opencc

    from transforms import cache, labels
    return cache.cached("gazetteer", (DATA, __file__, labels.__file__), build,
                        versions=(getattr(opencc, "__version__", ""), opencc.__file__))


def build() -> Gazetteer:
    with gzip.open(DATA, "rt", encoding="utf-8") as fh:
        rows = [line.rstrip("\n").split("\t") for line in fh if not line.startswith("#")]
    return Gazetteer(rows)

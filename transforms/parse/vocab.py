"""Per-table label vocabulary built from the format files, and the label matcher.

Matching goes from strict to loose — exact key, key without parenthetical notes, key without
numbering, unique prefix (truncated labels), fuzzy ratio (mirrors that drop characters) — and
says how it matched, so the engine can flag the cells. Nothing here knows a format by name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz, process

from transforms.formats import FORMATS, Format, Leaf
from transforms.labels import clean, match_key, stem_key

_MISS = object()
FUZZY_CUTOFF = 84.0  # rapidfuzz ratio; one dropped character in a ≥5-character label passes
FUZZY_MARGIN = 6.0  # the best candidate must beat the runner-up by this much
_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十]+[、.]|\([一二三四五六七八九十]+\)|\d+[.、])\s*")


def bare_key(text: str) -> str:
    s = clean(text)
    prev = None
    while prev != s:
        prev, s = s, _NUMBERING.sub("", s)
    return match_key(s)


@dataclass(frozen=True)
class RowCandidate:
    fmt: str
    block: int
    leaf: Leaf
    flag: str  # "" or "legacy_label"


@dataclass
class Entry:
    kind: str  # caption | row | group | header
    label: str  # canonical text
    rows: list[RowCandidate] = field(default_factory=list)
    captions: list[tuple[str, int]] = field(default_factory=list)  # (format, block index)
    also_group: bool = False  # a row in one format, a group heading in another (（六）其他处理)
    fmts: frozenset = frozenset()  # formats that have this row (filled once the vocabulary is built)
    block_code: str | None = None  # caption code of the first candidate's block (filled with fmts)


@dataclass(frozen=True)
class Match:
    entry: Entry
    how: str  # "" exact/stem/bare, "truncated_label", "fuzzy_label"


class Vocabulary:
    def __init__(self, table: str, formats: dict[str, Format] = FORMATS):
        self.table = table
        self.exact: dict[str, Entry] = {}
        self.stem: dict[str, Entry] = {}
        self.bare: dict[str, Entry] = {}
        chars: set[str] = set()
        bare_seen: dict[str, set[int]] = {}
        for fname, fmt in formats.items():
            t = fmt.tables[table]
            for bi, block in enumerate(t.blocks):
                if block.caption:
                    self._add("caption", block.caption).captions.append((fname, bi))
                for leaf in block.rows:
                    if not leaf.label:
                        continue
                    for key_text, flag in [(leaf.label, ""), *((a, "") for a in leaf.aliases),
                                           *((a, "legacy_label") for a in leaf.legacy_aliases)]:
                        e = self._add("row", key_text)
                        if not any(c.fmt == fname and c.leaf.path == leaf.path for c in e.rows):
                            e.rows.append(RowCandidate(fname, bi, leaf, flag))
                for g in block.group_labels:
                    self._add("group", g)
                    chars.update(match_key(g))
                for col in block.columns:
                    for text in (col.label, *col.aliases, *col.ancestors):
                        self._add("header", text)
                        chars.update(match_key(text))
            for w in t.header_words:
                self._add("header", w)
                chars.update(match_key(w))
        for e in {id(e): e for e in self.exact.values()}.values():
            b = bare_key(e.label)
            bare_seen.setdefault(b, set()).add(id(e))
            self.bare.setdefault(b, e)
        # A numbering-free key that two labels share (其他 / 3.其他) is not a key.
        for b, ids in bare_seen.items():
            if len(ids) > 1:
                self.bare.pop(b, None)
        for e in self.exact.values():
            e.fmts = frozenset(c.fmt for c in e.rows)
            if e.rows:
                first = e.rows[0]
                e.block_code = formats[first.fmt].tables[table].blocks[first.block].code
        self.header_chars = frozenset(chars)
        self._cache: dict[str, Match | None] = {}
        self._keys = list(self.exact)

    def _add(self, kind: str, text: str) -> Entry:
        key = match_key(text)
        e = self.exact.get(key)
        if e is None:
            e = self.exact[key] = Entry(kind, text)
            self.stem.setdefault(stem_key(text), e)
        elif e.kind != kind:
            if "group" in (e.kind, kind) and "row" in (e.kind, kind):
                e.also_group = True
            if kind == "row":
                e.kind = "row"  # a row label printed in a header elsewhere stays a row
        return e

    def match(self, text: str) -> Match | None:
        cache = self._cache
        hit = cache.get(text, _MISS)
        if hit is _MISS:
            hit = _match(self, text)
            if len(cache) > 50_000:
                cache.clear()
            cache[text] = hit
        return hit

    def is_header_noise(self, text: str) -> bool:
        """Fragments of header text (vertical characters, split lines) carry no address."""
        key = match_key(text)
        return bool(key) and all(ch in self.header_chars for ch in key)


@lru_cache(maxsize=32768)
def _match_cached(vocab_id: int, text: str) -> Match | None:
    vocab = _VOCABS_BY_ID[vocab_id]
    key = match_key(text)
    if not key:
        return None
    e = vocab.exact.get(key) or vocab.stem.get(stem_key(text)) or vocab.bare.get(bare_key(text))
    if e is not None:
        return Match(e, "")
    skey = stem_key(text)
    if len(skey) >= 3:
        hits = [k for k in vocab._keys if k.startswith(skey) and len(skey) >= 0.6 * len(k)]
        owners = {id(vocab.exact[k]) for k in hits}
        if len(owners) == 1:
            return Match(vocab.exact[hits[0]], "truncated_label")
    if len(key) >= 3:
        best = process.extract(key, vocab._keys, scorer=fuzz.ratio, limit=6, score_cutoff=FUZZY_CUTOFF - FUZZY_MARGIN)
        if best and best[0][1] >= FUZZY_CUTOFF:
            top = _target(vocab.exact[best[0][0]])
            rivals = [b[1] for b in best[1:] if _target(vocab.exact[b[0]]) != top]
            if not rivals or best[0][1] - max(rivals) >= FUZZY_MARGIN:
                return Match(vocab.exact[best[0][0]], "fuzzy_label")
    return None


def _target(e: Entry):
    """What a label points at: aliases of one row are one target, not rivals."""
    return frozenset((c.fmt, c.leaf.path) for c in e.rows) if e.rows else (e.kind, e.label)


_VOCABS_BY_ID: dict[int, Vocabulary] = {}


def _match(vocab: Vocabulary, text: str) -> Match | None:
    return _match_cached(id(vocab), text)


def vocabulary(table: str) -> Vocabulary:
    v = _VOCABS.get(table)
    if v is None:
        v = _VOCABS[table] = Vocabulary(table)
        _VOCABS_BY_ID[id(v)] = v
    return v


_VOCABS: dict[str, Vocabulary] = {}

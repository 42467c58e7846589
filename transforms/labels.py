"""Label normalisation: every printed variant of a statutory label → one comparable match key.

Order matters (ECOSYSTEM_NOTES §4.2): NFKC and a small extra table, pinyin annotations removed,
traditional → simplified with OpenCC, then punctuation and spaces dropped. The key is only for
comparison; published addresses always use the format file's canonical labels.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

_T2S = opencc.OpenCC("t2s.json")


def traditional(texts: list[str]) -> list[str]:
    """``texts`` in traditional characters (OpenCC s2t), for patterns that must also match reports
    printed in them. s2t's dictionaries take ~50 ms a process to load, for the few dozen words of the
    format files a process converts: the conversions are kept in transforms/cache.py, keyed by the
    texts and OpenCC's version."""
    from transforms import cache

    def convert() -> list[str]:
        s2t = opencc.OpenCC("s2t.json")
        return [s2t.convert(t) for t in texts]
    return cache.cached("s2t", (), convert,
                        versions=(getattr(opencc, "__version__", ""), opencc.__file__, *texts))

# Characters NFKC leaves alone but that mean "nothing" or are layout noise.
_EXTRA = str.maketrans({
    "\u200b": "", "\u200c": "", "\u200d": "", "\ufeff": "", "\u2060": "",
    "\u00a0": " ", "\u3000": " ",
    "\u2014": "-", "\u2013": "-", "\u2012": "-", "\u2015": "-", "\u2212": "-", "\u2500": "-",
    "\u201c": '"', "\u201d": '"', "\u300c": '"', "\u300d": '"', "\u2018": "'", "\u2019": "'",
})

_FULLWIDTH_ASCII = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}

# What str.isspace (and regex \s) calls whitespace. Every such character is in the BMP, so the scan
# stops there: the whole code space took ~0.15 s of every process that parses (a test checks both agree).
WHITESPACE = frozenset(c for c in map(chr, range(0x10000)) if c.isspace())

# str.translate with a dict costs ~70 ns per character on CJK text; a report line holds only a
# few characters to map, so finding them with a regex and replacing each is 5-10x faster.
_FULLWIDTH_CHARS = re.compile("[\uff01-\uff5e]")
_FULLWIDTH_STR = {chr(k): chr(v) for k, v in _FULLWIDTH_ASCII.items()}
_EXTRA_CHARS = re.compile("[" + "".join(sorted(chr(k) for k in _EXTRA)) + "]")
_EXTRA_STR = {chr(k): v or "" for k, v in _EXTRA.items()}


def _replace_found(s: str, chars: re.Pattern, table: dict[str, str]) -> str:
    """s.translate(table) for a one-character → short-string table whose outputs are never keys."""
    found = chars.findall(s)
    if not found:
        return s
    for ch in set(found):
        s = s.replace(ch, table[ch])
    return s


def fold_fullwidth(s: str) -> str:
    """Full-width ASCII forms → ASCII (what NFKC does to them; same as s.translate(_FULLWIDTH_ASCII))."""
    return _replace_found(s, _FULLWIDTH_CHARS, _FULLWIDTH_STR)

# Mirrors insert pinyin after characters: 數(shù), 鎮(zhèn).
_PINYIN = re.compile(r"\((?:[a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ]{1,8})\)")
# Everything that is not a letter, digit or CJK ideograph is dropped from match keys.
_NON_KEY = re.compile(r"[^0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff]+")
_PAREN = re.compile(r"\([^()]*\)")


@lru_cache(maxsize=65536)
def clean(text: str) -> str:
    """Printable, comparable text: NFKC, no pinyin, simplified, whitespace collapsed."""
    # full-width ASCII forms first (cheap): most lines then need no general NFKC pass
    s = fold_fullwidth(text)
    if not unicodedata.is_normalized("NFKC", s):
        s = unicodedata.normalize("NFKC", s)
    s = _replace_found(s, _EXTRA_CHARS, _EXTRA_STR)
    if "(" in s:
        s = _PINYIN.sub("", s)
    if not s.isascii() and not _only_simplified(s):
        s = _T2S.convert(s)
    return " ".join(s.split())  # whitespace runs → one space, ends stripped (re \s = str.isspace)


# The GB2312 characters OpenCC's t2s still rewrites (checked over U+4E00–U+9FFF with opencc 1.4.2;
# tests/test_values_labels.py re-checks it against the installed OpenCC).
GB2312_T2S_EXCEPTIONS = frozenset("乾吒夥後徵拚捱摺於榘菸薹袷醣麴麽")
# a regex finds them ~40x cheaper than frozenset.isdisjoint, which makes a string of every character
_GB2312_T2S_EXCEPTION = re.compile("[" + "".join(sorted(GB2312_T2S_EXCEPTIONS)) + "]")


def _only_simplified(s: str) -> bool:
    """GB2312 holds simplified characters (bar a few): text it can encode needs no t2s (fast path)."""
    try:
        s.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return _GB2312_T2S_EXCEPTION.search(s) is None


@lru_cache(maxsize=65536)
def match_key(text: str) -> str:
    """Key for exact label comparison: clean text without punctuation or spaces."""
    return _NON_KEY.sub("", clean(text))


@lru_cache(maxsize=65536)
def stem_key(text: str) -> str:
    """Key with parenthetical notes removed ("规章(设区的市…)" → 规章)."""
    s = clean(text)
    prev = None
    while prev != s:
        prev, s = s, _PAREN.sub("", s)
    s = s.split("(")[0]  # an unclosed note cut by the copy
    return _NON_KEY.sub("", s)


def parenthetical(text: str) -> str:
    """The parenthetical notes of a label, e.g. the unit in 采购总金额(万元,保留四位小数)."""
    return " ".join(m.group(0) for m in _PAREN.finditer(clean(text)))

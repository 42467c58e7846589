"""What the prose of a report says about its own figures (its checks against the tables:
transforms/checks/narrative.py).

A careful reader checks that the paragraphs agree with the statutory tables: the applications the
prose says were received, answered and carried over, the review and litigation cases, the
normative documents, the fees; that the statistics period is the report's year; and that the six
sections are there, in order. This module reads it rule by rule from transforms/narrative.yaml
(every pattern, quantity, cell address and section title is data):

* :func:`extract` — the statements of one report's prose lines (the engine hands it the lines
  outside the table regions): quantity, value, the number as printed, its sentence and line. A
  statement that cannot be tied to one quantity is left out, never guessed.
* :func:`check_names` — the `narrative.*` checks the spec declares; transforms/checks/narrative.py
  makes their quality_checks rows from the published statements and the cell tables: status pass or
  warn (never fail: prose is not the statistics).

Pure: text and frames in, statements and frames out; regexes compiled once at import.
"""
from __future__ import annotations

import re
from re import _constants as _re_constants, _parser as _re_parser
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from operator import attrgetter, itemgetter
from pathlib import Path

from transforms import yamlfile
from transforms.labels import fold_fullwidth

SPEC_PATH = Path(__file__).with_name("narrative.yaml")
SEP = " | "
TABLE = "narrative"      # quality_checks.table of these checks: they read the prose against several tables


@dataclass(slots=True)
class Statement:
    quantity: str
    value: float
    raw_text: str          # the number as printed ("17", "１７"), or the words stating zero ("未收到")
    unit: str | None
    sentence: str
    source_line: int


@dataclass(frozen=True)
class Quantity:
    name: str
    check: str
    description: str
    unit: str | None
    patterns: tuple[re.Pattern, ...]
    zero_patterns: tuple[re.Pattern, ...]
    exclude: re.Pattern | None
    units: dict[str, float]
    relation: str                                    # equal | at_least (prose ≥ table)
    keywords: tuple[str, ...]                        # the text must hold one of them for a pattern to match
    not_after: tuple[str, ...]                       # words that must not come right before a match
    cells: dict[str, tuple[tuple[str, str], ...]]    # format → (row_path, column_path) summed
    own_sentence: bool                               # the patterns read nothing outside the sentence they run on


@dataclass(frozen=True)
class Spec:
    quantities: tuple[Quantity, ...]
    comparison: re.Pattern
    sentence_end: re.Pattern
    sentence_chars: frozenset[str]
    year: re.Pattern
    heading: re.Pattern
    heading_openers: frozenset[str]
    ordinals: dict[str, int]
    sections: tuple[tuple[str, re.Pattern], ...]
    period: tuple[re.Pattern, ...]
    period_quantity: str
    period_keywords: tuple[str, ...]
    keyword: re.Pattern                               # every keyword (longest first): one pass finds them all
    keyword_users: dict[str, tuple[int, ...]]         # keyword → the quantities holding it (len(quantities): the period)
    sentence_ends: frozenset[str]                     # what sentence_end matches (the sentence ends and the line break)
    first_section: re.Pattern | None                  # a title → the first required section (in order) it names
    checks: tuple[tuple[str, str], ...]              # (check id, description) in published order
    section_check: str
    year_check: str


def _compile(pattern: str, gap: str, number: str, words: dict[str, str] | None = None) -> re.Pattern:
    for name, text in (words or {}).items():
        pattern = pattern.replace("{" + name + "}", text)
    return re.compile(pattern.replace("{gap}", gap).replace("{n}", number))


_ANY_DIRECTION = {_re_constants.ASSERT, _re_constants.ASSERT_NOT}
_INNER = {_re_constants.SUBPATTERN: 3, _re_constants.MAX_REPEAT: 2, _re_constants.MIN_REPEAT: 2}
_PLAIN = {_re_constants.LITERAL, _re_constants.NOT_LITERAL, _re_constants.IN, _re_constants.ANY,
          _re_constants.CATEGORY}
_ENDS = {_re_constants.AT_END, _re_constants.AT_END_LINE, _re_constants.AT_END_STRING}


def _reads_own_sentence(pattern: re.Pattern) -> bool:
    """Whether what ``pattern`` finds in text[a:b] (finditer(text, a, b)) depends on that sentence
    only: no look-behind or start/word anchor that reads the text before it, no back-reference. Then
    a sentence where it found nothing can be remembered by its text."""
    def plain(items) -> bool:
        for op, av in items:
            if op in _PLAIN:
                continue
            if op in _ANY_DIRECTION:
                if av[0] < 0 or not plain(av[1]):
                    return False
            elif op is _re_constants.BRANCH:
                if not all(plain(b) for b in av[1]):
                    return False
            elif op in _INNER:
                if not plain(av[_INNER[op]]):
                    return False
            elif op is not _re_constants.AT or av not in _ENDS:
                return False
        return True
    try:
        return plain(_re_parser.parse(pattern.pattern, pattern.flags).data)
    except Exception:                                  # another Python's parser: remember nothing
        return False


def _row_paths_under(fmt, prefix: str) -> list[str]:
    """Every row leaf of the format below a label path (Σ（三）1–8 written as its parent)."""
    rows = [r for t in fmt.tables.values() for r in t.row_paths]
    return [r for r in rows if r.startswith(prefix + " > ")]


def _cells(raw: dict, formats) -> dict[str, tuple[tuple[str, str], ...]]:
    out = {}
    for fname, items in (raw or {}).items():
        fmt = formats[str(fname)]
        cells: list[tuple[str, str]] = []
        for item in items:
            if isinstance(item, dict):
                cells += [(r, item["column"]) for r in _row_paths_under(fmt, item["rows_under"])]
            else:
                row, col = item.split(SEP)
                cells.append((row.strip(), col.strip()))
        known = {a for t in fmt.tables for a in fmt.cell_addresses(t)}
        bad = [c for c in cells if c not in known]
        if bad or not cells:
            raise ValueError(f"{SPEC_PATH.name}: cells {bad or items} are not addresses of format {fname}")
        out[str(fname)] = tuple(cells)
    return out


def _first_section(sections: tuple[tuple[str, re.Pattern], ...]) -> re.Pattern | None:
    """One pattern that finds, in one call, the first required section (in their order) a heading's
    title names, as the match's lastgroup: an ordered alternation tries every place of a section's
    title before the next section. None when a title pattern cannot be embedded (inline flags)."""
    branches = "|".join(f".*?(?:{pat.pattern})(?P<_{i}>)" for i, (_, pat) in enumerate(sections))
    try:
        return re.compile(f"(?:{branches})")
    except re.error:
        return None


def load_spec(path: Path = SPEC_PATH) -> Spec:
    """The narrative rules, compiled and checked against the formats (a wrong address fails at import)."""
    from transforms.formats import FORMATS

    doc = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    gap, number = doc["gap"], doc["number"]
    words = {"request": doc["request"]}
    quantities = []
    for name, q in doc["quantities"].items():
        patterns = tuple(_compile(p, gap, number, words) for p in q.get("patterns", ()))
        zero_patterns = tuple(_compile(p, gap, number, words) for p in q.get("zero_patterns", ()))
        quantities.append(Quantity(
            name=name, check=q["check"], description=q.get("description", ""), unit=q.get("unit"),
            patterns=patterns, zero_patterns=zero_patterns,
            own_sentence=all(map(_reads_own_sentence, patterns + zero_patterns)),
            exclude=_compile("|".join(f"(?:{e})" for e in q["exclude"]), gap, number) if q.get("exclude") else None,
            units={str(k): float(v) for k, v in (q.get("units") or {}).items()},
            relation=q.get("relation", "equal"), keywords=tuple(q["keywords"]),
            not_after=tuple(q.get("not_after", ())), cells=_cells(q.get("cells"), FORMATS)))
    sec = doc["sections"]
    ordinals = {o: i + 1 for i, o in enumerate(sec["ordinals"])}
    yr = doc["report_year"]
    checks = tuple((c["id"], c["description"]) for c in doc["checks"])
    ids = {c for c, _ in checks}
    used = {q.check for q in quantities} | {sec["check"], yr["check"]}
    if used - ids:
        raise ValueError(f"{path.name}: checks {sorted(used - ids)} are not declared under checks")
    words = {w for q in quantities for w in q.keywords} | set(yr["keywords"])
    users: dict[str, list[int]] = {}
    for i, ws in enumerate([q.keywords for q in quantities] + [tuple(yr["keywords"])]):
        for w in ws:
            users.setdefault(w, []).append(i)
    sentence_end = "[" + re.escape(doc["sentence_ends"]) + "\n]"
    sections = tuple((s["key"], re.compile(s["title"])) for s in sec["required"])
    return Spec(
        keyword=re.compile("|".join(map(re.escape, sorted(words, key=lambda w: (-len(w), w))))),
        keyword_users={w: tuple(dict.fromkeys(i)) for w, i in users.items()},
        sentence_ends=frozenset(doc["sentence_ends"] + "\n"),
        first_section=_first_section(sections),
        quantities=tuple(quantities),
        comparison=re.compile("|".join(map(re.escape, doc["comparison_words"]))),
        sentence_end=re.compile(sentence_end),
        sentence_chars=frozenset(doc["sentence_ends"]),
        year=re.compile(doc["year"]),
        heading=re.compile(sec["heading"]),
        heading_openers=frozenset(" \t\u3000#" + "".join(sec["ordinals"])),
        ordinals=ordinals,
        sections=sections,
        period=tuple(_compile(p, gap, number) for p in yr["patterns"]),
        period_quantity=yr["quantity"], period_keywords=tuple(yr["keywords"]),
        checks=checks, section_check=sec["check"], year_check=yr["check"])


SPEC = load_spec()
SECTION_PREFIX = "section."


def quantity_names() -> list[str]:
    """Every quantity a statement can carry (the statements dataset's allowed values)."""
    return ([q.name for q in SPEC.quantities] + [SPEC.period_quantity]
            + [SECTION_PREFIX + k for k, _ in SPEC.sections])


def check_names() -> list[str]:
    return [c for c, _ in SPEC.checks]


# --------------------------------------------------------------------------------------------------
# Extraction

def prose_lines(lines: list[tuple[str, int]], spans: list[tuple[int, int]]) -> list[tuple[str, int]]:
    """The lines outside the table regions (``spans``: (start, end) indices); a region's first line,
    its section heading, is prose."""
    if not spans:
        return lines
    out, at = [], 0
    for start, end in sorted(spans):
        out += lines[at:start + 1]
        at = max(at, end)
    out += lines[at:]
    return out


def _number(raw: str) -> float:
    return float(fold_fullwidth(raw).replace("．", "."))


def extract(lines: list[tuple[str, int]], report_year: int | None = None) -> list[Statement]:
    """The statements of a report's prose lines, in line order. ``report_year``: a statement whose
    sentence names another year is about another period and left out.

    Most prose sentences hold no keyword: one scan of the text finds the keywords, and only the
    sentences holding one are bounded and read by the patterns of the quantities using it."""
    if not lines:
        return []
    spec = SPEC
    text, parts = _joined(lines)
    # the sentences holding each quantity's keywords (index len(quantities): the period's), in text
    # order: a quantity's patterns all hold one of its keywords and never cross a sentence end, so
    # they run on these sentences only
    quantities = spec.quantities
    holding: list[list[tuple[int, int]] | None] = [None] * (len(quantities) + 1)
    users, ends = spec.keyword_users, spec.sentence_ends
    span, last, back = (0, 0), -1, ""               # the sentence of the previous keyword, its last index
    for m in spec.keyword.finditer(text):
        pos = m.start()
        if pos >= last and (pos > last or text[pos] in ends):
            span = _sentence(text, back or (back := text[::-1]), pos)
            last = span[1] - 1
        for i in users[m.group()]:
            got = holding[i]
            if got is None:
                holding[i] = [span]
            elif got[-1] is not span:
                got.append(span)
    out: list[Statement] = []
    if last >= 0:                                   # a keyword was found
        starts: list[int] = []

        def line_of(pos: int) -> int:
            if not starts:
                starts.append(0)
                starts.extend(accumulate(map(len, parts)))
            return lines[bisect_right(starts, pos) - 1][1]

        for i, q in enumerate(quantities):
            spans = holding[i]
            if spans is not None:
                _read(i, q, text, spans, report_year, out, line_of)
        spans = holding[len(quantities)]
        for pat in spec.period if spans else ():
            for a, b in spans:
                for m in pat.finditer(text, a, b):
                    start, end = m.group("start"), m.group("end")
                    if end is not None and end != start:
                        continue                               # a period over two years: not one report year
                    a2, b2 = _sentence_of_match(text, m.start(), a, b)
                    out.append(Statement(spec.period_quantity, float(start), start, "年", text[a2:b2].strip(),
                                         line_of(m.start("start"))))
    out += _sections(lines)
    out.sort(key=_LINE_THEN_QUANTITY)
    return out


_LINE_THEN_QUANTITY = attrgetter("source_line", "quantity")
_POSITION = itemgetter(3)


def _sentence(text: str, back: str, pos: int) -> tuple[int, int]:
    """(start, end) of the sentence of ``pos``: after the last sentence end at or before it (the first
    one from there in ``back``, the text reversed), through the first one after it."""
    n = len(text)
    e = SPEC.sentence_end.search(text, pos + 1)
    s = SPEC.sentence_end.search(back, n - 1 - pos)
    return (0 if s is None else n - s.start()), (n if e is None else e.end())


def _sentence_of_match(text: str, pos: int, a: int, b: int) -> tuple[int, int]:
    """The sentence of a match found at ``pos`` in the sentence (a, b): that one, unless the match
    starts on its closing sentence end (then the sentence after it, as for any position)."""
    if pos < b - 1 or (pos == b - 1 and text[pos] not in SPEC.sentence_ends):
        return a, b
    return _sentence(text, text[::-1], pos)


def _other_year(sentence: str, report_year: int | None) -> bool:
    if report_year is None:
        return False
    for y in SPEC.year.findall(sentence):
        if int(y) != report_year:
            return True
    return False


# (quantity index, sentence) where none of the quantity's patterns matched: report prose repeats its
# sentences (the section list of the opening paragraph, 依申请公开 boilerplate), and a sentence
# holding a keyword seldom states the quantity. Bounded: emptied when full.
_QUIET: set[tuple[int, str]] = set()
_QUIET_KEPT = 16384


def _read(i: int, q: Quantity, text: str, spans: list[tuple[int, int]], report_year: int | None,
          out: list[Statement], line_of) -> None:
    """The statements of quantity ``i`` in the sentences holding its keywords (appended to ``out``)."""
    live: list[tuple[int, int, tuple[int, str] | None]] = []
    if q.own_sentence:
        quiet = _QUIET
        for a, b in spans:
            key = (i, text[a:b])
            if key not in quiet:
                live.append((a, b, key))
        if not live:
            return
    else:
        live = [(a, b, None) for a, b in spans]
    comparison = SPEC.comparison
    matched: set[int] = set()
    found: dict[int, list[tuple[float, str, str | None, int, int]]] = {}
    for zero, pats in ((False, q.patterns), (True, q.zero_patterns)):
        for pat in pats:
            has_unit = "unit" in pat.groupindex
            for a, b, _ in live:
                for m in pat.finditer(text, a, b):
                    matched.add(a)
                    if comparison.search(m.group(0)) or (
                            q.not_after and text.endswith(q.not_after, 0, m.start())):
                        continue
                    a2, b2 = _sentence_of_match(text, m.start(), a, b)
                    sentence = text[a2:b2]
                    if (q.exclude is not None and q.exclude.search(sentence)) or _other_year(sentence, report_year):
                        continue
                    if zero:
                        value, raw, unit, pos = 0.0, m.group(0), q.unit, m.start()
                    else:
                        unit_text = m.group("unit") if has_unit else None
                        factor = q.units.get(unit_text, 1.0) if unit_text else 1.0
                        value = _number(m.group("n")) * factor
                        raw = m.group("n") + (unit_text or "")
                        unit, pos = q.unit, m.start("n")
                    hit = (value, raw, unit, pos, b2)
                    got = found.get(a2)
                    if got is None:
                        found[a2] = [hit]
                    else:
                        got.append(hit)
    if q.own_sentence:
        if len(_QUIET) >= _QUIET_KEPT:
            _QUIET.clear()
        _QUIET.update(key for a, _, key in live if a not in matched)
    for a, hits in found.items():
        if len(hits) > 1:
            if len({h[0] for h in hits}) > 1:
                continue                               # two values for one quantity in a sentence
            hit = min(hits, key=_POSITION)
        else:
            hit = hits[0]
        value, raw, unit, pos, b = hit
        out.append(Statement(q.name, value, raw, unit, text[a:b].strip(), line_of(pos)))


WRAPPED = 20   # a prose line at least this long that ends inside a sentence goes on on the next line


def _joined(lines: list[tuple[str, int]]) -> tuple[str, list[str]]:
    """The prose as one text, and each line's part of it. A long line that does not end a
    sentence was wrapped (PDF page text, fixed-width copies): it is joined to the next line without
    a break, so a statement cut by the wrap ('至2025年1' / '2月31日止') is read whole; other lines end
    with a line break, which no pattern crosses."""
    ends = SPEC.sentence_chars
    # a line's last character is its last one after rstrip unless it may be white space (ASCII
    # printable characters and U+3001–U+FFEF hold none: CJK text and its punctuation skip the copy)
    parts = [t if t[WRAPPED - 1:WRAPPED] and (
        c if "!" <= (c := t[-1]) <= "~" or "\u3001" <= c <= "\uffef" else t.rstrip()[-1:]) not in ends
        else t + "\n" for t, _ in lines]
    return "".join(parts), parts


def _sections(lines: list[tuple[str, int]]) -> list[Statement]:
    """The section headings among the prose lines, first occurrence of each required section."""
    out, seen = [], set()
    openers, known, names = SPEC.heading_openers, _HEADINGS, _SECTION_QUANTITIES
    for t, n in lines:
        if not t or t[0] not in openers:
            continue
        h = known.get(t, _UNKNOWN)
        if h is _UNKNOWN:
            h = _heading(t)
            if len(known) >= _HEADINGS_KEPT:
                known.clear()
            known[t] = h
        if h is None:
            continue
        k, o, title, value, sentence = h
        if k in seen:
            k = _first_unseen(title, seen, k + 1)
            if k is None:
                continue
        seen.add(k)
        out.append(Statement(names[k], value, o, None, sentence, n))
        if len(seen) == len(names):
            break
    return out


# Reports print the same few headings ("一、总体情况"): a line's heading reading is kept (a bounded
# number of lines) so that each distinct heading line is matched once per process.
_HEADINGS: dict[str, tuple[int, str, str, float, str] | None] = {}
_HEADINGS_KEPT = 8192
_UNKNOWN = object()
_SECTION_QUANTITIES = [SECTION_PREFIX + k for k, _ in SPEC.sections]


def _heading(line: str) -> tuple[int, str, str, float, str] | None:
    """(the first required section the heading names, its ordinal, its title, the ordinal's value,
    the statement's sentence), or None when the line is no heading or names no required section."""
    m = SPEC.heading.match(line)
    if m is None:
        return None
    title = m.group("title")
    if SPEC.first_section is not None:
        f = SPEC.first_section.match(title)
        k = None if f is None else int(f.lastgroup[1:])
    else:
        k = _first_unseen(title, set(), 0)
    if k is None:
        return None
    o = m.group("ordinal")
    return k, o, title, float(SPEC.ordinals.get(o, 0)), line.strip()[:80]


def _first_unseen(title: str, seen: set[int], k: int) -> int | None:
    """The first required section from the k-th on, not found yet, that the title names."""
    for i in range(k, len(SPEC.sections)):
        if i not in seen and SPEC.sections[i][1].search(title):
            return i
    return None

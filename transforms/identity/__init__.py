"""Who published a report and for which year: every place a report states it, one answer per field
with its source and a confidence, conflicts reported, unknown left null with the reason.

Sources, most trusted first: the title (one line or two, year before or after the name), the
preamble (现公布X2023年…报告, 本报告由X编制), the statistics-period sentence (统计期限自2023年1月1日),
the page's own metadata (CMS meta tags ArticleTitle / ContentSource / SiteName / SiteIDCode / PubDate,
DOCX core properties, PDF metadata), the page's 来源 line, the signature above the closing date,
the file name and the caller's context. A name is taken only when it reads as a body's full name
(it starts with a place or a proper name and ends with a body word); a year only from a sentence
that dates the report — a publication date alone gives a year minus one, flagged.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import islice

from transforms.identity import organization as org_mod
from transforms.identity.gazetteer import load as load_gazetteer
from transforms.identity.overrides import apply_overrides
from transforms.labels import _PINYIN, _T2S, WHITESPACE, clean

# The reports columns this module fills (schema.REPORT_FIELDS documents them).
IDENTITY_FIELDS = ("organization", "organization_source", "organization_confidence", "report_year",
                   "report_year_source", "report_year_confidence", "publication_date",
                   "organization_normalized", "organization_type", "organization_id", "division_code",
                   "province", "city", "county", "township", "division_level")

_ORG = r"[^\s,。、《》“”\"':;|()<>]{2,40}?(?:\([^()]{1,20}\))?"
_REPORT = r"(?:政府信息公开|政务公开|信息公开)(?:工作)?(?:(?P<y2>20\d{2})年?)?(?:年度)?(?:工作)?(?:报告|年报)"
_TITLE = re.compile(rf"^(?:(?P<y0>20\d{{2}})年度?)?(?P<org>{_ORG})??(?:(?P<y1>20\d{{2}})年?度?)?{_REPORT}")
_TITLE_PREFIX = re.compile(r"^(?:.{0,24}?(?::|-|>)\s*)+")
_PREAMBLE = re.compile(rf"(?:现(?:予以?)?(?:公布|公开|发布)|现将|特(?:此)?发布|向社会(?:公布|公开|发布)|编制了?|汇总)《?"
                       rf"(?:(?P<y0>20\d{{2}})年度?)?(?P<org>{_ORG})(?:的)?(?:(?P<y1>20\d{{2}})年?度?)?{_REPORT}")
_AUTHOR = re.compile(rf"由(?P<org>{_ORG})(?:按照|根据|依据|负责|编制)")   # 本报告由X按照…编制, 由X编制
_OPENING_SUBJECT = re.compile(rf"20\d{{2}}年度?,(?P<org>{_ORG})(?:按照|根据|坚持|认真|严格|深入|全面|紧紧|高度|始终|以|在)")
_SOURCE_LINE = re.compile(r"来源[:]\s*(?P<org>[^\s|:]{2,40})")
_PERIOD = re.compile(r"(?:统计|期限|时限|数据时间)[^。\n]{0,12}?(20\d{2})年?0?1月?0?1日")
_YEAR_END = re.compile(r"(20\d{2})年12月31日")
_YEAR_END_WORDS = re.compile(r"(?:截止|截至|时间点|日期)")
_ANNUAL = re.compile(r"(20\d{2})年度")
_OPENING = re.compile(r"(20\d{2})年度?,")
_PUBLISHED = re.compile(r"(?:发布时间|发布日期|发表时间|日期|时间)\s*[:]\s*(20\d{2})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})")
_DATE_LINE = re.compile(r"^(20\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日$")
_META = re.compile(r"<meta\s+[^>]*?(?:name|property)\s*=\s*[\"']?(SiteName|SiteIDCode|ColumnName|ArticleTitle|PubDate|"
                   r"ContentSource|Title|Author)[\"']?[^>]*?content\s*=\s*[\"']([^\"'>]*)", re.I)
_META_REV = re.compile(r"<meta\s+[^>]*?content\s*=\s*[\"']([^\"'>]*)[\"'][^>]*?(?:name|property)\s*=\s*[\"']?"
                       r"(SiteName|SiteIDCode|ColumnName|ArticleTitle|PubDate|ContentSource)\b", re.I)
_HTML_TITLE = re.compile(r"<title[^>]*>([^<]{1,300})</title>", re.I)
_DATE_ANY = re.compile(r"(20\d{2})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})")

# confidence of a value by where it was read (keys: schema.IDENTITY_SOURCES)
CONFIDENCE = {
    "override": 1.0, "title": 0.95, "preamble": 0.9, "html_meta": 0.9, "statistics_period": 0.9,
    "document_properties": 0.85, "year_end": 0.85, "signature": 0.8, "context": 0.75,
    "source_line": 0.7, "annual_mention": 0.6, "opening_sentence": 0.6, "file_name": 0.55,
    "publication_date": 0.3,
}


def document_properties(data: bytes, kind: str | None, encoding: str | None) -> dict[str, str]:
    """The metadata a file carries beside its text: CMS meta tags and <title> of an HTML page, the
    core properties of a DOCX. (PDF metadata is read with the PDF's pages: read.pdf.pdf_lines.)"""
    props: dict[str, str] = {}
    if kind == "html":
        head = data[:65536].decode(encoding or "utf-8", errors="replace")
        end = head.lower().find("</head>")
        head = head[:end] if end >= 0 else head[:16384]
        for name, value in _META.findall(head):
            props.setdefault(name.lower(), value.strip())
        for value, name in _META_REV.findall(head):
            props.setdefault(name.lower(), value.strip())
        m = _HTML_TITLE.search(head)
        if m:
            props.setdefault("html_title", m.group(1).strip())
    elif kind == "docx":
        props.update(_docx_core(data))
    return {k: v for k, v in props.items() if v}


def _docx_core(data: bytes) -> dict[str, str]:
    import io
    import zipfile
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            info = zf.getinfo("docProps/core.xml")
            if info.file_size > 1_000_000:
                return {}
            xml = zf.read(info).decode("utf-8", errors="replace")
    except (KeyError, zipfile.BadZipFile, ValueError, OSError, EOFError):
        return {}
    out = {}
    for tag, key in (("dc:title", "title"), ("dc:subject", "subject"), ("dcterms:created", "created")):
        m = re.search(rf"<{tag}[^>]*>([^<]{{1,300}})</{tag}>", xml)
        if m:
            out[key] = m.group(1).strip()
    return out


def _best(items: list[tuple[float, int, object, str]]):
    """The candidate of highest confidence, the first offered among equals (the order is unique, so
    plain tuple comparison never reaches the values)."""
    return max(items) if items else None


@lru_cache(maxsize=4096)
def _title_match(text: str):
    """A title line → (org, year) when it is one (prefixes like 文字解读: or breadcrumbs dropped).
    Cached: a page prints its title in <title>, in a meta tag and above the text."""
    s = text.replace(" ", "")
    if "公开" not in s:          # every title's report words hold it (_REPORT): most lines end here
        return None
    s = s.lstrip("#")
    m = _TITLE.match(s)
    if m is None and (":" in s[:26] or ">" in s[:26] or "-" in s[:26]):
        m = _TITLE.match(_TITLE_PREFIX.sub("", s, count=1))
    if m is None:
        return None
    org, y0, y1, y2 = m.group("org", "y0", "y1", "y2")
    y = y0 or y1 or y2
    return (org or ""), (int(y) if y else None)


_ORG_LINE = re.compile(r"^(?P<org>[\u3400-\u9fff()·]{2,40}?)(?:(?P<y>20\d{2})年度?)?$")


def _org_line(text: str):
    """The first line of a title printed over two lines: the body (and perhaps the year)."""
    m = _ORG_LINE.match(text.replace(" ", ""))
    if m is None:
        return None
    org, y = m.group("org", "y")
    return org, (int(y) if y else None)


def _search_from(pattern: re.Pattern, text: str, starts: tuple[str, ...]):
    """pattern.search(text) for a pattern each match of which begins with one of `starts`: sre tries
    such a pattern at every character of the text, str.find jumps to the few places it can begin.
    The first place each start word gives a match, the leftmost of those is search's match."""
    best = None
    end = len(text)              # a match found: later words are looked for only before it
    for word in starts:
        bound = end + len(word) - 1
        i = text.find(word, 0, bound)
        while i >= 0:
            m = pattern.match(text, i)
            if m is not None:
                best, end = m, i
                break
            i = text.find(word, i + 1, bound)
    return best


_PREAMBLE_STARTS = ("现", "特", "向社会", "编制", "汇总")
_PERIOD_STARTS = ("统计", "期限", "时限", "数据时间")
_PUBLISHED_STARTS = ("发布", "发表", "日期", "时间")
_SIGNATURE_PUNCTUATION = re.compile(r"[,。;:]")


@lru_cache(maxsize=8192)
def _judged(raw: str) -> tuple[str, str | None, str | None]:
    """(tidy name, the name if it can be a body's full name, why not): a body prints its name in its
    title, preamble and signature, and again every year, so the verdict is cached per process."""
    name = org_mod.tidy_name(raw)
    ok, why = org_mod.validate(name, load_gazetteer())
    return name, ok, why


# a line whose first character is not whitespace is not blank
_SPACES = WHITESPACE


def _nonblank(lines: list[tuple[str, int]], n: int, from_end: bool = False) -> list[str]:
    """The texts of the first (or last) `n` lines holding more than whitespace, in reading order.
    A line is tested by its first character (no call) unless that one is a space."""
    window = lines[-n:][::-1] if from_end else lines[:n]
    out = [t for t, _ in window if t and (t[0] not in _SPACES or not t.isspace())]
    if len(out) < n and len(lines) > n:          # blank lines among the first n: read on
        for t, _ in islice(reversed(lines) if from_end else lines, n, None):     # no copy of a long list
            if t and (t[0] not in _SPACES or not t.isspace()):
                out.append(t)
                if len(out) == n:
                    break
    return out[::-1] if from_end else out


def describe(lines: list[tuple[str, int]], source_file: str = "", properties: dict | None = None,
             context: dict | None = None, sha256: str | None = None) -> dict:
    """The report's identity columns (IDENTITY_FIELDS) and the problems found on the way."""
    gz = load_gazetteer()
    properties = properties or {}
    context = context or {}
    problems: list[str] = []
    # candidates: (confidence, -order offered, value, source); _best picks one
    orgs: list[tuple[float, int, str, str]] = []
    years: list[tuple[float, int, int, str]] = []
    rejected: list[str] = []
    completed: dict[str, str] = {}   # completed name → how it was completed

    region = context.get("region") or (_site_region(properties, gz) if "siteidcode" in properties else None)
    region_division = gz.resolve_region(region) if region else None

    order = 0      # offers counted down: among equal confidences the first offered is the largest

    def offer_org(raw: str | None, source: str) -> bool:
        """Add the name `raw` read from `source` when it names a body; True when added."""
        nonlocal order
        if not raw:
            return False
        name, ok, why = _judged(raw)
        if not ok:
            ok = org_mod.complete(name, region_division, gz) if region_division else None
            if not ok:
                if why and why != "empty":
                    rejected.append(f"{source}: {why}")
                return False
            completed.setdefault(ok, f"organization printed as {name!r} ({source}); its place completed "
                                     f"from the source's context ({region_division.name})")
        order -= 1
        orgs.append((CONFIDENCE[source], order, ok, source))
        return True

    def offer_year(year: int | None, source: str) -> None:
        nonlocal order
        if year is not None:
            order -= 1
            years.append((CONFIDENCE[source], order, year, source))

    first = _nonblank(lines, 15)
    last = _nonblank(lines, 6, from_end=True)
    cleaned = _fold("\n".join([t[:200] for t in first])[:1000])
    # -- title: one line, or a body line followed by a year + report-words line
    for i, text in enumerate(cleaned):
        tm = _title_match(text)
        if tm is None:
            continue
        org, year = tm
        if not org and i > 0:
            prev = _org_line(cleaned[i - 1])
            if prev:
                org, year = prev[0], year or prev[1]
        added = offer_org(org, "title")
        offer_year(year, "title")
        if added or year:
            break
    head = "\n".join([t[:300] for t in cleaned[:12]])
    flat = head.replace(" ", "")
    # -- preamble
    opening = flat[:1500]        # preambles and periods are in the first paragraphs
    m = _search_from(_PREAMBLE, opening, _PREAMBLE_STARTS)
    if m:
        org, y0, y1, y2 = m.group("org", "y0", "y1", "y2")
        offer_org(org, "preamble")
        y = y0 or y1 or y2
        offer_year(int(y) if y else None, "preamble")
    m = _AUTHOR.search(opening) if "由" in opening else None
    if m:
        offer_org(m.group("org"), "preamble")
    # sentences that open a paragraph with the year: "2022年,春城街道办事处按照…"
    openers = [t.replace(" ", "") for t in cleaned[:12] if t[:2] == "20"]
    for t in openers:
        m = _OPENING_SUBJECT.match(t)
        if m:
            offer_org(m.group("org"), "opening_sentence")
            break
    # -- the page's 来源 line (what CMS pages print from ContentSource)
    m = _SOURCE_LINE.search(head) if "来源" in head else None
    if m:
        offer_org(m.group("org"), "source_line")
    # -- years from sentences that date the report
    m = _search_from(_PERIOD, opening, _PERIOD_STARTS)
    if m:
        offer_year(int(m.group(1)), "statistics_period")
    # "截止2023年12月31日", "数据核定时间点为2022年12月31日": the end of the year reported on
    for m in (_YEAR_END.finditer(opening) if "12月31日" in opening else ()):
        if _YEAR_END_WORDS.search(opening, max(0, m.start() - 10), m.start()):
            offer_year(int(m.group(1)), "year_end")
            break
    m = _ANNUAL.search(opening)
    if m:
        offer_year(int(m.group(1)), "annual_mention")
    for t in openers:
        m = _OPENING.match(t)
        if m:
            offer_year(int(m.group(1)), "opening_sentence")
            break
    # -- the file's own metadata
    if properties:
        for key, source in (("articletitle", "html_meta"), ("title", "document_properties"),
                            ("subject", "document_properties"), ("html_title", "document_properties")):
            value = properties.get(key)
            if value:
                tm = _title_match(clean(value))
                if tm:
                    offer_org(tm[0], source)
                    offer_year(tm[1], source)
        offer_org(properties.get("contentsource"), "source_line")
    # -- the signature above the closing date
    publication_date = None
    for i in range(len(last) - 1, 0, -1):
        line = last[i]
        d = _DATE_LINE.match(clean(line[:160]).strip()) if len(line) < 80 and "日" in line else None
        if d:
            publication_date = _iso(d)
            sig = clean(last[i - 1][:160]).strip()
            if len(sig) <= 40 and not _SIGNATURE_PUNCTUATION.search(sig):
                offer_org(sig, "signature")
            break
    # -- file name and the caller's context
    stem = (source_file or "").replace("\\", "/").rpartition("/")[2].rsplit(".", 1)[0]
    tm = _title_match(clean(stem)) if stem and not stem.isascii() else None   # ASCII holds no title
    if tm:
        offer_org(tm[0], "file_name")
        offer_year(tm[1], "file_name")
    if context:
        tm = _title_match(clean(context["title"])) if context.get("title") else None
        if tm:                       # the title of the article a report was attached to (a crawl)
            offer_org(tm[0], "context")
            offer_year(tm[1], "context")
        offer_org(context.get("organization"), "context")
        if context.get("report_year"):
            offer_year(int(context["report_year"]), "context")
    # -- publication date: printed near the top, in a meta tag, or the closing date
    m = _search_from(_PUBLISHED, head[:3000], _PUBLISHED_STARTS) if ("间" in head or "日期" in head) else None
    if m:
        publication_date = _iso(m)
    elif publication_date is None and (properties.get("pubdate") or context.get("publication_date")):
        d = _DATE_ANY.search(properties.get("pubdate") or context["publication_date"])
        publication_date = _iso(d) if d else None

    meta = dict.fromkeys(IDENTITY_FIELDS)
    meta["publication_date"] = publication_date
    # -- year
    best = _best(years)
    if best is None and publication_date:
        offer_year(int(publication_date[:4]) - 1, "publication_date")
        best = _best(years)
        problems.append(f"report_year {best[2]} inferred from the publication date {publication_date} "
                        f"(the year is printed nowhere else)")
    if best is not None:
        meta["report_year"], meta["report_year_source"], meta["report_year_confidence"] = best[2], best[3], best[0]
        if len(years) > 1:
            clash = sorted({(v, s) for c, _, v, s in years if v != best[2] and c >= 0.85})
            if clash:
                problems.append("report_year sources disagree: " + ", ".join(f"{s} {v}" for v, s in clash)
                                + f" (kept {best[3]} {best[2]})")
    else:
        problems.append("report_year unknown: no title, preamble, statistics period or date names the year")
    # -- organisation
    best = _best(orgs)
    if best is not None:
        region_hints = " ".join(filter(None, (head, properties.get("sitename"), context.get("region"),
                                              context.get("site_name"))))
        name, source, conf = best[2], best[3], best[0]
        # a fuller rendering of the same name elsewhere (a signature with the district) is the name
        fuller = [(len(o), o, s) for c, _, o, s in orgs if c >= 0.6 and o != name and o.endswith(name)]
        if fuller:
            _, name, source = max(fuller)
        ident = org_mod.identify(name, region_hints, region, gz)
        # a longer rendering of the same body from another source completes the place
        stem = org_mod.stem(name)
        others = [o for o in orgs if o[2] != name]      # most reports print one name everywhere
        for c, _, other, s in sorted(others, reverse=True):
            if org_mod.stem(other).endswith(stem):
                longer = org_mod.identify(other, region_hints, region, gz)
                if longer.division_code and (ident.division_code is None or
                                             longer.division_code.startswith(ident.division_code.rstrip("0"))):
                    ident = longer
                    break
        for c, _, other, s in others:
            other_stem = org_mod.stem(other)
            if c < 0.6 or other in name or name in other or other_stem.endswith(stem) or stem.endswith(other_stem):
                continue
            if org_mod.identify(other, region_hints, region, gz).organization_id != ident.organization_id:
                problems.append(f"organization sources disagree: {source} {name!r}, {s} {other!r} (kept {source})")
                break
        meta.update(organization=name, organization_source=source, organization_confidence=conf)
        if name in completed:
            problems.append(completed[name])
        org_mod.fill_meta(meta, ident)
        if ident.division_code is None:
            problems.append(f"division of {name!r} unknown" + (
                f": several places share the name ({', '.join(ident.ambiguous[:6])})" if ident.ambiguous
                else ": no place of the gazetteer starts the name"))
    else:
        reason = "; ".join(dict.fromkeys(rejected)) if rejected else "no title, preamble or signature names the body"
        problems.append(f"organization unknown: {reason}")
    apply_overrides(meta, problems, sha256=sha256, source_file=source_file, url=context.get("url"), gz=gz)
    meta["_problems"] = problems
    return meta


_OTHER_SPACES = str.maketrans({"\t": " ", "\u00a0": " ", "\u3000": " "})


def _single_spaced(s: str) -> str:
    """Runs of spaces, tabs, no-break and ideographic spaces as one space (str.replace is ~8x faster
    than a regex sub on the heads, whose runs are few and short)."""
    if "\t" in s or "\u00a0" in s or "\u3000" in s:
        s = s.translate(_OTHER_SPACES)
    while "  " in s:
        s = s.replace("  ", " ")
    return s


def _compatibility_chars() -> list[str]:
    """The BMP characters NFKC changes, but for the full-width ASCII forms fold_fullwidth maps and
    the ideographic space _single_spaced maps: most heads hold none, and a regex search for them is
    ~10x cheaper than unicodedata.is_normalized."""
    skip = set(range(0xFF01, 0xFF5F)) | {0x3000}
    chars = [chr(c) for c in range(0xA0, 0x10000) if c not in skip and not 0xD800 <= c < 0xE000
             and unicodedata.normalize("NFKC", chr(c)) != chr(c)]
    return chars


def _traditional_chars() -> list[str]:
    """The characters OpenCC's t2s changes (one conversion of the CJK block at import): a regex
    search finds the rare traditional head ~10x faster than a GB2312 round trip of every head."""
    block = "".join(chr(c) for c in range(0x4E00, 0xA000))
    simplified = _T2S.convert(block)
    if len(simplified) == len(block):
        changed = [a for a, b in zip(block, simplified) if a != b]
    else:
        changed = [a for a in block if _T2S.convert(a) != a]
    return changed


def _char_class(chars: list[str], negated: bool = False) -> str:
    """A regex class of `chars` written as ranges (sre parses a few hundred ranges much faster than
    thousands of single characters at import)."""
    points = sorted({ord(c) for c in chars})
    ranges, start = [], None
    for i, cp in enumerate(points):
        if start is None:
            start = cp
        if i + 1 == len(points) or points[i + 1] != cp + 1:
            ranges.append(re.escape(chr(start)) + ("-" + re.escape(chr(cp)) if cp != start else ""))
            start = None
    return ("[^" if negated else "[") + "".join(ranges) + "]"


_FULLWIDTH_ASCII = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}


def _fold_tables() -> tuple[list[str], list[str], tuple[str, str, str]]:
    """The characters NFKC and OpenCC change and the three classes built from them (the last, a run
    of characters _fold leaves alone: none full-width, none NFKC or t2s would change; sre reads a
    greedy run of a class ~20 % faster than it searches for the class's first member)."""
    compatibility, traditional = _compatibility_chars(), _traditional_chars()
    stops = list(_FULLWIDTH_ASCII) + compatibility + traditional
    return compatibility, traditional, (_char_class(compatibility), _char_class(traditional),
                                        _char_class(stops, negated=True) + "*")


def _cached_fold_tables() -> tuple[list[str], list[str], tuple[str, str, str]]:
    """_fold_tables as a previous process built them (transforms/cache.py, keyed by this code, Unicode's
    version and OpenCC's): ~17 ms of every process that parses, 1 ms unpickled."""
    import opencc

    from transforms import cache
    return cache.cached("fold_tables", (__file__,), _fold_tables,
                        versions=(unicodedata.unidata_version, getattr(opencc, "__version__", ""), opencc.__file__))


_COMPATIBILITY_CHARS, _TRADITIONAL_CHARS, _FOLD_CLASSES = _cached_fold_tables()
_COMPATIBILITY, _TRADITIONAL, _UNFOLDED_RUN = map(re.compile, _FOLD_CLASSES)
_NOT_FULLWIDTH_RUN = re.compile("[^\uff01-\uff5e]*")


def _fold(text: str) -> list[str]:
    """clean() for a block of lines at once (one NFKC check, one OpenCC call when needed): its lines.
    One scan folds the full-width forms character by character found (a head prints hundreds of
    full-width commas and brackets but a handful of distinct ones) and, in the common head, finds
    nothing NFKC or OpenCC would change on the way."""
    s = text
    end = len(s)                 # folding a full-width form keeps every position
    at = _UNFOLDED_RUN.match(s).end()
    while at < end:
        ch = s[at]
        if ch not in _FULLWIDTH_ASCII:
            break
        s = s.replace(ch, _FULLWIDTH_ASCII[ch])
        at = _UNFOLDED_RUN.match(s, at).end()
    if at < end:                 # a character NFKC or OpenCC may change: the full fold from here
        at = _NOT_FULLWIDTH_RUN.match(s, at).end()
        while at < end:
            ch = s[at]
            s = s.replace(ch, _FULLWIDTH_ASCII[ch])
            at = _NOT_FULLWIDTH_RUN.match(s, at).end()
        if _COMPATIBILITY.search(s) and not unicodedata.is_normalized("NFKC", s):
            s = unicodedata.normalize("NFKC", s)
        if "(" in s:
            s = _PINYIN.sub("", s)
        if _TRADITIONAL.search(s):
            s = _T2S.convert(s)
    elif "(" in s:
        s = _PINYIN.sub("", s)
    return _single_spaced(s).split("\n")


def _site_region(properties: dict, gz) -> str | None:
    """A CMS page's SiteIDCode starts with its site's division code (GB/T 2260) when it is one."""
    code = (properties.get("siteidcode") or "")[:6]
    return code if code.isdigit() and code in gz.divisions else None


def _iso(m) -> str | None:
    y, mo, d = m.group(1, 2, 3)
    y, mo, d = int(y), int(mo), int(d)
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}"



"""What a government website page links to and says about itself (pure: HTML text in, facts out).

The crawler (flows/crawl.py) needs three things from a page, whatever CMS printed it: its links
(absolute URLs with their anchor text, in page order), the article's own title and date — from the
meta tags that Chinese government CMS pages carry by national rule (``ArticleTitle``, ``PubDate``,
``ContentSource``, ``SiteName``) or else from ``<title>`` / the first heading and the first printed
date — and whether the page itself carries a report table, so that an article whose report is an
attachment is not mistaken for an unreadable report.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urljoin, urlsplit

_DATE = re.compile(r"(20\d\d|19\d\d)\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
_SKIP_SCHEMES = ("javascript:", "mailto:", "tel:", "data:", "#")
# The national CMS meta tags (GB/T 33477-like conventions of government sites) read as page facts.
META_TAGS = ("ArticleTitle", "PubDate", "ContentSource", "SiteName", "SiteIDCode", "ColumnName")


@dataclass(frozen=True)
class Link:
    url: str                    # absolute, without fragment
    text: str                   # anchor text (or the title attribute), whitespace collapsed


@dataclass
class PageFacts:
    links: list[Link]
    title: str | None = None
    date: str | None = None     # YYYY-MM-DD
    meta: dict[str, str] = field(default_factory=dict)
    has_table: bool = False     # a <table> with at least 3 rows and a digit in it


def _root(html: str):
    from lxml import html as lh
    try:
        return lh.document_fromstring(html)
    except Exception:           # empty or hostile markup: no links, no facts
        return None


def _squash(s: str | None) -> str:
    return " ".join((s or "").split())


def _date(text: str) -> str | None:
    m = _DATE.search(text)
    if not m:
        return None
    y, mo, d = (int(g) for g in m.groups())
    return f"{y:04d}-{mo:02d}-{d:02d}" if 1 <= mo <= 12 and 1 <= d <= 31 else None


def page_facts(html: str, base_url: str) -> PageFacts:
    """Links, title, date, CMS meta tags and table presence of one page."""
    root = _root(html)
    if root is None:
        return PageFacts([])
    base = base_url
    for b in root.iter("base"):
        if b.get("href"):
            base = urljoin(base_url, b.get("href").strip())
            break
    links, seen = [], set()
    for a in root.iter("a", "area", "iframe"):
        href = (a.get("href") or a.get("src") or "").strip()
        if not href or href.lower().startswith(_SKIP_SCHEMES):
            continue
        url = urldefrag(urljoin(base, href))[0]
        if urlsplit(url).scheme not in ("http", "https") or url in seen:
            continue
        seen.add(url)
        links.append(Link(url, _squash(a.text_content() if a.tag != "iframe" else "") or _squash(a.get("title"))))
    meta = {}
    for m in root.iter("meta"):
        name, content = m.get("name"), _squash(m.get("content"))
        if name in META_TAGS and content:
            meta.setdefault(name, content)
    title = meta.get("ArticleTitle")
    if not title:
        for tag in ("h1", "title", "h2"):
            el = next(root.iter(tag), None)
            if el is not None and _squash(el.text_content()):
                title = _squash(el.text_content())
                break
    date = _date(meta.get("PubDate", "")) or _date(_squash(root.text_content())[:4000])
    has_table = any(len(t.findall(".//tr")) >= 3 and re.search(r"\d", t.text_content() or "")
                    for t in root.iter("table"))
    return PageFacts(links, title, date, meta, has_table)


def extension(url: str) -> str:
    """The lower-case extension of a URL's path ("" if none): how sites name attachments."""
    path = urlsplit(url).path
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def completeness(report: dict) -> tuple[int, int, int]:
    """How complete one reading of a report is, larger is better: statutory tables complete, then
    cells read, then fewer flagged cells. Used to publish the best of an article's renderings (its
    page's tables, its attachments): a table complete beats any number of loose cells, and between
    equally full readings the one needing fewer second looks wins. An unreadable report is (0, 0, 0)."""
    if report.get("status") != "parsed":
        return (0, 0, 0)
    return (len(report.get("tables_complete") or ()), int(report.get("n_cells") or 0),
            -int(report.get("n_flagged") or 0))

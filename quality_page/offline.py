"""Rewrite a GX Data Docs site so it works offline and makes no outbound request.

GX 1.24's pages load bootstrap, jQuery, bootstrap-table, font-awesome and vega from public CDNs and a
logo from S3 (with the data context id in the URL). The index listing is rendered by bootstrap-table from
a JS literal, so without the CDN it is empty. This module:

* turns every `bootstrapTable({... columns: [...], data: [...] ...})` block into a static HTML table,
* removes every <script> and every external <link>/<img>, neutralises external links (href kept as
  data-href, text kept),
* inlines a small stylesheet,
* sanitises the result (`sanitize`): GX writes failing values (file names, labels, printed text of
  the reports) into the pages unescaped, so every page is re-serialised from a whitelist of tags and
  attributes; any other markup is shown as the text it was,
* then adds one script, ours, by reference: `static/nianbao/docs.js` (shipped in quality_page/static),
  which binds GX's controls ("Show All"/"Failed Only", "Show more info…", the index tables' filters and
  "Clear Filters") to GX's markup. GX's CDN libraries (jQuery 3.7.1, popper, bootstrap 4.3.1,
  bootstrap-table 1.19.1 with filter-control, bootstrap-datepicker, vega, font-awesome 6.6.0) are not
  shipped: no installed package carries bootstrap-table, and the whitelist removes the inline
  handlers they would be called from, so the controls are re-implemented in one small local script.
"""
from __future__ import annotations

import ast
import html
import re
from pathlib import Path

OFFLINE_CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans",system-ui,sans-serif;margin:0;color:#222;background:#fff}
.container-fluid,.container{padding:0 1.5rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;vertical-align:top;text-align:left}
th{background:#f0f3f7}
a{color:#0b5cad}
.text-danger,.ge-failed-icon{color:#b00020}.text-success{color:#137333}
.card{border:1px solid #ddd;border-radius:4px;margin:.75rem 0;padding:.5rem .75rem}
.card-header{font-weight:600;border-bottom:1px solid #eee;margin-bottom:.5rem}
.nav,.navbar{display:flex;gap:1rem;flex-wrap:wrap;list-style:none;padding:.5rem 0;margin:0}
.invisible,.d-none,#ge-cta-footer{display:none!important}
code,pre{background:#f6f8fa;font-size:.85rem}
.fa-check-circle::before,.fa-check::before{content:"\\2714";color:#137333}
.fa-times::before,.fa-times-circle::before{content:"\\2718";color:#b00020}
.fa-exclamation-triangle::before{content:"!";color:#a66b00}
.offline-note{background:#fff8e1;border:1px solid #f0d98c;padding:.4rem .75rem;margin:.5rem 0;font-size:.85rem}
.collapse:not(.show),.filter-text{display:none}[hidden]{display:none!important}
.btn-group-toggle{display:flex;gap:.3rem}.btn-group-toggle label.btn{border:1px solid #0b5cad;border-radius:3px;padding:.15rem .6rem;cursor:pointer}
.btn-group-toggle label.btn.active{background:#0b5cad;color:#fff}
.btn{cursor:pointer}tr.nianbao-filters td{background:#fafbfc}tr.nianbao-filters input,tr.nianbao-filters select{width:100%;box-sizing:border-box}
"""

_BT = re.compile(r"\$\('#(?P<id>[\w-]+)'\)\.bootstrapTable\(\s*Object\.assign\(\s*\{\s*columns:\s*(?P<cols>\[.*?\]),\s*"
                 r"data:\s*(?P<data>\[.*?\]),\s*toolbar:", re.S)
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.S | re.I)
_EXT_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']https?://[^>]*>", re.I)
_EXT_IMG = re.compile(r"<img\b[^>]*\bsrc\s*=\s*[\"']https?://[^>]*>", re.I)
_EXT_HREF = re.compile(r"\bhref\s*=\s*([\"'])(https?://[^\"']*)\1", re.I)
_EXT_SRC = re.compile(r"\bsrc\s*=\s*([\"'])https?://[^\"']*\1", re.I)
_EXT_URL_IN_TEXT = re.compile(r"https?://(?!www\.w3\.org/)[^\s\"'<>)]+")


def _literal(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


FILTER_CONTROLS = ("select", "input", "datepicker")
SCRIPT = Path(__file__).resolve().parent / "static" / "docs.js"
SCRIPT_IN_SITE = "static/nianbao/docs.js"


def _th(c: dict) -> str:
    """A header cell; GX's filter-control kind (for docs.js) as a data attribute, from its fixed set."""
    kind = c.get("filterControl")
    attr = f' data-filter-control="{kind}"' if kind in FILTER_CONTROLS else ""
    return f"<th{attr}>{html.escape(str(c.get('title', c.get('field', ''))))}</th>"


def _static_table(cols: list[dict], data: list[dict]) -> str:
    head = "".join(_th(c) for c in cols)
    rows = []
    for d in data:
        link = d.get("_table_row_link_path")
        cells = []
        for k, c in enumerate(cols):
            v = str(d.get(c.get("field"), ""))  # values are GX-rendered HTML snippets
            if c.get("field") == "validation_success" and d.get("_validation_success_text"):
                # the status is an icon: its word (GX's filter data) kept as hidden text for docs.js's filter
                v += f'<span class="filter-text">{html.escape(str(d["_validation_success_text"]))}</span>'
            if link:
                v = f'<a href="{html.escape(link)}">{v}</a>'
            cells.append(f"<td>{v}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"


def rewrite(page: str, script_src: str | None = None) -> str:
    """The page offline and sanitised; `script_src` (a relative URL to docs.js, made by make_offline
    from the page's depth, never from data) is added after sanitising."""
    tables = {}
    for m in _BT.finditer(page):
        cols, data = _literal(m.group("cols")), _literal(m.group("data"))
        if isinstance(cols, list) and isinstance(data, list):
            tables[m.group("id")] = _static_table(cols, data)
    for tid, body in tables.items():
        page = re.sub(rf"(<table\b[^>]*\bid=\"{re.escape(tid)}\"[^>]*>)\s*(</table>)",
                      lambda m, b=body: m.group(1) + b + m.group(2), page, count=1)
    page = _SCRIPT.sub("", page)
    page = _EXT_LINK.sub("", page)
    page = _EXT_IMG.sub("", page)
    page = _EXT_HREF.sub(lambda m: f'href="#" data-external="{html.escape(m.group(2))}"'.replace("https://", "")
                         .replace("http://", ""), page)
    page = _EXT_SRC.sub('src=""', page)
    page = _EXT_URL_IN_TEXT.sub("[external link removed]", page)
    style = f'<style id="nianbao-offline">{OFFLINE_CSS}</style>'
    page = page.replace("</head>", style + "</head>", 1) if "</head>" in page else style + page
    page = sanitize(page)
    if script_src is not None:
        if not safe_url(script_src) or not re.fullmatch(r"(?:\.\./)*static/nianbao/docs\.js", script_src):
            raise ValueError(f"not the shipped controls script: {script_src!r}")
        tag = f'<script src="{script_src}" defer></script>'
        page = page.replace("</head>", tag + "</head>", 1) if "</head>" in page else tag + page
    return page


# --------------------------------------------------------------------------------------------------
# Sanitising: what GX wrote is markup and data mixed, so nothing is passed through as it was read.
# The page is parsed and written again: whitelisted tags with whitelisted attributes (values escaped
# and quoted), text escaped, CSS only in <head>; any other tag is written as escaped text, so a
# report label `<img src=x onerror=…>` reads as that text and never runs.

_TAGS = frozenset("""html head body title meta link style div span p a i b em strong small code pre br hr
    h1 h2 h3 h4 h5 h6 ul ol li dl dt dd table thead tbody tfoot tr th td caption colgroup col nav footer
    header main section article figure figcaption blockquote label input button sup sub abbr""".split())
_VOID = frozenset("meta link br hr input col".split())
_HEAD_ONLY = frozenset(("style", "meta", "link", "title"))
_ATTRS = frozenset("""class id style href title alt rel type name colspan rowspan role charset content
    checked autocomplete scope""".split())
_URL_ATTRS = frozenset(("href",))
_DATA_ATTR = re.compile(r"^(?:data|aria)-[a-z0-9_.-]+$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*:", re.I)
_URL_STRIP = re.compile(r"[\x00-\x20\x7f]+")
# style="" attributes may come from data: no url(), no escapes that could spell one; <style> elements
# (only GX's and ours, in <head>) keep their local url()s
_UNSAFE_STYLE_ATTR = re.compile(r"url\s*\(|@import|expression\s*\(|javascript:|behavior\s*:|-moz-binding|\\", re.I)
_EXTERNAL_CSS = re.compile(r"url\s*\(\s*['\"]?\s*(?:[a-z][a-z0-9+.-]*:|//)|@import|expression\s*\(|behavior\s*:|-moz-binding",
                           re.I)


def safe_url(url: str) -> bool:
    """A link that stays on the page's own files: relative, or a #fragment. No scheme (javascript:,
    data:, http: …), no protocol-relative `//host`, after the C0/space characters browsers ignore."""
    u = _URL_STRIP.sub("", url)
    return not (_SCHEME.match(u) or u.startswith(("//", "\\", "/\\")))


def _attr_ok(tag: str, name: str, value: str | None) -> bool:
    if not (name in _ATTRS or _DATA_ATTR.match(name)):
        return False
    if value is None:
        return True
    if name in _URL_ATTRS:
        return safe_url(value)
    if name == "style":
        return not _UNSAFE_STYLE_ATTR.search(value)
    if tag == "meta":
        return name == "charset" or (name in ("name", "content") and value != "refresh")
    if tag == "input" and name == "type":
        return value.lower() in ("radio", "checkbox")
    if tag == "link" and name == "rel":
        return value.lower() in ("icon", "shortcut icon", "stylesheet")
    return True


_TAG = re.compile(r"<(/?)([a-zA-Z][^\s/>]*)(.*)", re.S)   # one tag, without its ">"
_ATTR = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_STYLE_END = re.compile(r"</style", re.I)


def _text(s: str) -> str:
    return html.escape(html.unescape(s), quote=False) if "&" in s or "<" in s or ">" in s else s


def _tag(token: str, closing: str, name: str, attributes: str, in_head: bool) -> str:
    """A tag token as written out: rebuilt from the whitelist, or as text."""
    tag = name.lower()
    allowed = tag in _TAGS and (in_head or tag not in _HEAD_ONLY)
    if closing:
        return f"</{tag}>" if allowed and tag not in _VOID else html.escape(token, quote=False)
    attrs = [(a.group(1).lower(), None if a.group(0).find("=") < 0 else
              html.unescape(next(v for v in a.group(2, 3, 4) if v is not None)))
             for a in _ATTR.finditer(attributes)]
    if not allowed or (tag == "meta" and any(n == "http-equiv" for n, _ in attrs)):
        return html.escape(token, quote=False)
    kept = "".join(f" {n}" if v is None else f' {n}="{html.escape(v)}"' for n, v in attrs if _attr_ok(tag, n, v))
    return f"<{tag}{kept}>"


def sanitize(page: str) -> str:
    """The page with only whitelisted markup; any other markup (from data GX wrote raw) as text.

    A linear scan, not a browser-grade parser: a tag runs from "<" to the next ">"; whatever cannot be
    read as a whitelisted tag is escaped, and what is written is rebuilt (names from the whitelist,
    values escaped and quoted), so where this reads a page differently from a browser the result is
    text, never live markup."""
    out: list[str] = []
    seen: dict[tuple[str, bool], str] = {}    # GX repeats its tags: each distinct one is rebuilt once
    pos, gt, in_head = 0, -1, False
    while (lt := page.find("<", pos)) >= 0:
        if page.startswith("<!--", lt):       # comments dropped (an unclosed one: the rest is text)
            end = page.find("-->", lt + 4)
            if end < 0:
                break
            out.append(_text(page[pos:lt]))
            pos = end + 3
            continue
        if gt < lt and (gt := page.find(">", lt)) < 0:
            break                             # no tag can end: the rest is text
        m = _TAG.match(page, lt, gt)            # no copy: a "<" per character must stay linear
        if m is None:
            if page.startswith(("<!", "<?"), lt):  # doctype, <![CDATA[, <?…: dropped, doctype rewritten
                out.append(_text(page[pos:lt]))
                if page[lt:lt + 9].lower() == "<!doctype":
                    out.append("<!DOCTYPE html>")
                pos = gt + 1
            else:                             # a "<" that opens no tag
                out.append(_text(page[pos:lt + 1]))
                pos = lt + 1
            continue
        out.append(_text(page[pos:lt]))
        pos = gt + 1
        token = m.group(0)
        written = seen.get((token, in_head))
        if written is None:
            written = seen[(token, in_head)] = _tag(token + ">", *m.group(1, 2, 3), in_head)
        out.append(written)
        if written in ("<head>", "</head>", "<body>") or written.startswith("<body "):
            in_head = written == "<head>"
        elif written == "<style>" or written.startswith("<style "):   # CSS up to </style: nothing in it
            end = _STYLE_END.search(page, pos)                          # may end the element early
            stop = end.start() if end else len(page)
            out.append(_EXTERNAL_CSS.sub("none", page[pos:stop]).replace("<", "\\3c "))
            out.append("</style>")
            close = page.find(">", stop)
            pos = len(page) if end is None or close < 0 else close + 1
    out.append(_text(page[pos:]))
    return "".join(out)


def make_offline(site: Path) -> int:
    """Rewrite every HTML page under `site`; returns the number of pages rewritten."""
    site = Path(site)
    script = site / SCRIPT_IN_SITE
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_bytes(SCRIPT.read_bytes())
    n = 0
    for p in site.rglob("*.html"):
        src = "../" * (len(p.relative_to(site).parts) - 1) + SCRIPT_IN_SITE
        p.write_text(rewrite(p.read_text(encoding="utf-8"), script_src=src), encoding="utf-8")
        n += 1
    for p in Path(site).rglob("*.css"):  # @import url(https://…) in GX's bundled styles
        t = p.read_text(encoding="utf-8", errors="replace")
        t2 = re.sub(r"@import\s+url\([\"']?https?://[^)]*\)\s*;?", "", t)
        t2 = _EXT_URL_IN_TEXT.sub("none", t2)
        if t2 != t:
            p.write_text(t2, encoding="utf-8")
    return n


EXTERNAL = re.compile(r"(?:src|href)\s*=\s*[\"']https?://|https?://(?!www\.w3\.org/)", re.I)


def external_references(site: Path) -> list[str]:
    """`file: reference` for every remaining http(s) reference (empty = offline)."""
    out = []
    for p in list(Path(site).rglob("*.html")) + list(Path(site).rglob("*.css")):
        for m in EXTERNAL.finditer(p.read_text(encoding="utf-8", errors="replace")):
            out.append(f"{p.name}: {m.group(0)}")
    return out

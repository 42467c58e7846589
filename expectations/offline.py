"""Rewrite a GX Data Docs site so it works offline and makes no outbound request.

GX 1.24's pages load bootstrap, jQuery, bootstrap-table, font-awesome and vega from public CDNs and a
logo from S3 (with the data context id in the URL). The index listing is rendered by bootstrap-table from
a JS literal, so without the CDN it is empty. This module:

* turns every `bootstrapTable({... columns: [...], data: [...] ...})` block into a static HTML table,
* removes every <script> (the pages are static once the tables are rendered) and every external
  <link>/<img>, neutralises external links (href kept as data-href, text kept),
* inlines a small stylesheet.
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


def _static_table(cols: list[dict], data: list[dict]) -> str:
    head = "".join(f"<th>{html.escape(str(c.get('title', c.get('field', ''))))}</th>" for c in cols)
    rows = []
    for d in data:
        link = d.get("_table_row_link_path")
        cells = []
        for k, c in enumerate(cols):
            v = str(d.get(c.get("field"), ""))  # values are GX-rendered HTML snippets
            if link:
                v = f'<a href="{html.escape(link)}">{v}</a>'
            cells.append(f"<td>{v}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"


def rewrite(page: str) -> str:
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
    return page


def make_offline(site: Path) -> int:
    """Rewrite every HTML page under `site`; returns the number of pages rewritten."""
    n = 0
    for p in Path(site).rglob("*.html"):
        p.write_text(rewrite(p.read_text(encoding="utf-8")), encoding="utf-8")
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

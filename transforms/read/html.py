"""HTML → lines: block text, and every <table> row as one line of "\t"-joined cells (a merged cell
once), tables split by a continued caption joined; scripts, styles and hidden elements dropped."""
from __future__ import annotations

import re
from functools import lru_cache

from transforms.read.grid import _CONTINUED, _grid_width
from transforms.read.limits import Deadline


_BLOCK_TAGS = frozenset("p div h1 h2 h3 h4 h5 h6 li ul ol section article header footer nav title "
                        "table tr tbody thead tfoot blockquote pre br form main aside dl dt dd".split())
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "svg", "select")
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


def _span(el, name: str) -> int:
    value = el.get(name)
    if value is None:  # the common case: no span attribute
        return 1
    try:
        return max(1, min(int(str(value).strip() or 1), 1000))
    except ValueError:
        return 1


def _text(el) -> str:
    """All text inside an element (not its tail)."""
    if len(el) == 0:  # a leaf (most cells and paragraphs): itertext() costs ~20x more
        return el.text or ""
    return "".join(el.itertext())


@lru_cache(maxsize=1)
def _styled_attributes():
    """XPath to the style and hidden attributes of a page: 4x cheaper than selecting their elements."""
    from lxml import etree

    return etree.XPath("//@style|//@hidden")


def _drop(el) -> None:
    """Remove an element but keep its tail text (lxml.html's drop_tree on a plain element)."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def html_table_lines(text: str, deadline: Deadline | None = None) -> list[tuple[str, int]]:
    """HTML page → lines (see the module doc): tables located inside the page chrome.

    * a table whose row holds a nested table, or a long multi-paragraph cell, is a layout table:
      that row's cells are read as blocks (the nested tables become tables of their own);
    * ``&nbsp;`` / whitespace-only cells are blank cells (kept in position);
    * rowspan/colspan cells are printed once, where they start;
    * a table split over several ``<table>``s (nothing but blank text or a 续表 caption between,
      same grid width) is read as one: the separator and a repeated header row are dropped;
    * hidden elements (display:none) and scripts/styles are ignored.
    """
    from lxml import etree

    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
    if not text.strip():
        return []
    # plain etree elements: lxml.html's element-class lookup costs more than the parse itself
    parser = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, huge_tree=False)
    root = etree.fromstring(text, parser=parser)
    if root is None:
        return []
    for el in list(root.iter(*_DROP_TAGS)):  # document order, like the XPath union it replaces
        _drop(el)
    # elements with a style or hidden attribute, in document order (an element with both once)
    styled = dict.fromkeys(a.getparent() for a in _styled_attributes()(root))
    for el in styled:
        if el.get("hidden") is not None or _HIDDEN.search(el.get("style") or ""):
            if el.getparent() is not None:
                _drop(el)
    # which elements hold block content (computed once, bottom-up: no quadratic rescans)
    has_block: set = set()
    for n, el in enumerate(root.iter(*_BLOCK_TAGS)):
        if n % 2000 == 0 and deadline is not None:
            deadline.check("HTML tree")
        p = el.getparent()
        while p is not None and p not in has_block:
            has_block.add(p)
            p = p.getparent()

    # elements holding a table somewhere below them (one pass instead of an XPath per cell)
    holds_table: set = set()
    for tbl in root.iter("table"):
        p = tbl.getparent()
        while p is not None and p not in holds_table:
            holds_table.add(p)
            p = p.getparent()

    out: list[tuple[str, int]] = []
    last = {"end": -1, "rows": [], "head": []}  # the previous data table: out index after it, its cells, first rows
    count = [0]

    def squash(s: str) -> str:
        return " ".join(s.split())

    def tick() -> None:
        count[0] += 1
        if deadline is not None and count[0] % 500 == 0:
            deadline.check("HTML blocks")

    # lxml picks the children by tag in C (a Python test of each child's .tag was ~5 % of the reading)
    def rows_of(tbl):
        out_rows = []
        for child in tbl.iterchildren("tr", "thead", "tbody", "tfoot"):
            if child.tag == "tr":
                out_rows.append(child)
            else:
                out_rows.extend(child.iterchildren("tr"))
        return out_rows

    def cells_of(tr):
        return list(tr.iterchildren("td", "th"))

    def is_container_cell(td) -> bool:
        if td in holds_table:
            return True
        if td in has_block:
            blocks = [c for c in td.iter() if isinstance(c.tag, str) and c.tag in ("p", "div", "h1", "h2", "h3",
                                                                                   "h4", "li", "ul", "ol")]
            return len(blocks) >= 2 and len(squash(_text(td))) > 200
        return False

    def emit_table(tbl) -> None:
        trs = rows_of(tbl)
        rows, texts, lines = [], [], []  # rows: (cell texts, cell elements), for the grid width
        for tr in trs:
            tick()
            tds = cells_of(tr)
            if not (holds_table.isdisjoint(tds) and has_block.isdisjoint(tds)) and any(
                    is_container_cell(td) for td in tds):
                flush_rows(rows, texts, lines)
                rows, texts, lines = [], [], []
                for td in tds:
                    walk(td)
                continue
            cells = []
            for td in tds:  # squash(_text(td)), inlined: one cell is most of a row's cost
                t = td.text if len(td) == 0 else _text(td)
                cells.append(" ".join(t.split()) if t else "")
            rows.append((cells, tds))
            texts.append("\t".join(cells))
            lines.append(tr.sourceline or tbl.sourceline or 0)
        flush_rows(rows, texts, lines)

    def grid_width(rows) -> int:
        """Width of a table's grid; spans are read only here (rarely needed: split tables)."""
        return _grid_width([[(c, _span(td, "rowspan"), _span(td, "colspan")) for c, td in zip(cells, tds)]
                            for cells, tds in rows])

    def flush_rows(rows, texts, lines) -> None:
        if not texts:
            return
        start = 0
        between = out[last["end"]:] if last["end"] >= 0 else None
        # grid widths are compared only when nothing but blanks or a 续表 caption separates the tables
        if (between is not None
                and all(not t.strip() or _CONTINUED.match(t.strip()) for t, _ in between)
                and grid_width(rows) == grid_width(last["rows"])):
            del out[last["end"] - 1:]  # the blank line that ended the previous part, and the 续表 caption
            head = last["head"]
            while start < len(texts) and start < len(head) and texts[start] == head[start]:
                start += 1  # a header row repeated on the continuation
        else:
            last["head"] = texts[:4]
        out.extend(zip(texts[start:], lines[start:]))
        out.append(("", lines[-1]))
        last["end"], last["rows"] = len(out), rows

    def walk(el) -> None:
        tick()
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "table":
            emit_table(el)
            return
        if el not in has_block:
            t = squash(_text(el))
            if t:
                out.append((t, el.sourceline or 0))
            return
        if el.text and el.text.strip():
            out.append((squash(el.text), el.sourceline or 0))
        for child in el:
            if isinstance(child.tag, str):
                walk(child)
            if child.tail and child.tail.strip():
                out.append((squash(child.tail), child.sourceline or el.sourceline or 0))

    if isinstance(root, etree._Element):
        walk(root)
    return out

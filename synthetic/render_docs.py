"""Render a generated report as DOCX and PDF, so every format is tested against the same truth.

The input is the HTML page `generator.generate(..., layout="html")` prints (or any simple report
page): its title, paragraphs and tables — with their rowspan/colspan — are re-printed

* as DOCX with python-docx: real merged cells (``w:gridSpan`` for colspans, ``w:vMerge``
  restart/continue for rowspans, made by ``cell.merge``), ``<br/>`` as ``w:br`` line breaks, blank
  ``&nbsp;`` cells as a non-breaking space;
* as PDF with reportlab: a ruled ``Table`` with SPAN commands, text in the CID font STSong-Light
  (built into reportlab, Adobe-GB1: simplified and traditional characters; pdfplumber extracts it
  as Unicode, so no font file is needed), long labels wrapped inside their cells, the short headers
  of wide tables (table 四) printed vertically one character per line as PDF reports do, page
  numbers in the footer, and tables split over pages where they do not fit.

The truth is unchanged by these renderers: the same labels and printed values are written, so the
parsed cells must equal `truth.cells` for every format.
"""
from __future__ import annotations

import html as _html
import io
import re
from dataclasses import dataclass

PDF_FONT = "STSong-Light"


@dataclass
class _Cell:
    text: str          # "\n" where the page had <br/>
    rowspan: int
    colspan: int


@dataclass
class _Block:
    kind: str          # "p" | "title" | "table"
    text: str = ""
    rows: list[list[_Cell]] | None = None
    align: str = "left"


def _cell_text(el) -> str:
    parts = []

    def rec(e):
        if e.text:
            parts.append(e.text)
        for c in e:
            if isinstance(c.tag, str) and c.tag == "br":
                parts.append("\n")
            elif isinstance(c.tag, str):
                rec(c)
            if c.tail:
                parts.append(c.tail)

    rec(el)
    s = "".join(parts)
    return "\n".join(" ".join(x.replace("\xa0", "\u0001").split()).replace("\u0001", "\xa0") for x in s.split("\n"))


def blocks_from_html(page: str) -> list[_Block]:
    """The report content of an HTML page: title, paragraphs and tables in document order."""
    import lxml.html

    root = lxml.html.document_fromstring(re.sub(r"^\s*<\?xml[^>]*>", "", page))
    for el in root.xpath("//script|//style|//noscript"):
        el.drop_tree()
    out: list[_Block] = []
    h1 = root.xpath("//h1")
    content = root.xpath("//*[@id='zoom']") or root.xpath("//*[contains(@class,'article-content')]")
    if h1:
        out.append(_Block("title", " ".join(h1[0].text_content().split())))
    scope = content[0] if content else root.find("body") if root.find("body") is not None else root

    def walk(el):
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "table":
            rows = []
            for tr in el.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr"):
                rows.append([_Cell(_cell_text(td), int(td.get("rowspan", 1) or 1), int(td.get("colspan", 1) or 1))
                             for td in tr if isinstance(td.tag, str) and td.tag in ("td", "th")])
            out.append(_Block("table", rows=rows))
            return
        kids = [c for c in el if isinstance(c.tag, str)]
        if tag in ("p", "h1", "h2", "h3", "h4", "li") or not any(
                c.tag in ("p", "div", "table", "ul", "ol", "h1", "h2", "h3", "h4", "li") for c in kids):
            t = " ".join(el.text_content().split())
            if t:
                style = (el.get("style") or "").replace(" ", "")
                out.append(_Block("p", t, align="right" if "text-align:right" in style else "left"))
            return
        if el.text and el.text.strip():
            out.append(_Block("p", " ".join(el.text.split())))
        for c in kids:
            walk(c)
            if c.tail and c.tail.strip():
                out.append(_Block("p", " ".join(c.tail.split())))

    walk(scope)
    return out


def place(rows: list[list[_Cell]]) -> tuple[list[tuple[int, int, _Cell]], int, int]:
    """Grid positions (row, col, cell) of every cell, and the grid's height and width."""
    taken: set[tuple[int, int]] = set()
    placed = []
    for r, row in enumerate(rows):
        c = 0
        for cell in row:
            while (r, c) in taken:
                c += 1
            rs = max(1, min(cell.rowspan, len(rows) - r))
            cs = max(1, cell.colspan)
            cell.rowspan = rs
            placed.append((r, c, cell))
            for dr in range(rs):
                for dc in range(cs):
                    taken.add((r + dr, c + dc))
            c += cs
    width = max((c + 1 for _, c in taken), default=0)
    return placed, len(rows), width


# --------------------------------------------------------------------------- DOCX

def html_to_docx(page: str) -> bytes:
    """The report page as a .docx (python-docx; real gridSpan/vMerge merged cells)."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = docx.Document()
    for b in blocks_from_html(page):
        if b.kind == "title":
            p = doc.add_paragraph(b.text)
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            for run in p.runs:
                run.font.size = Pt(16)
                run.bold = True
        elif b.kind == "p":
            p = doc.add_paragraph(b.text)
            if b.align == "right":
                p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        else:
            placed, height, width = place(b.rows)
            if not height or not width:
                continue
            t = doc.add_table(rows=height, cols=width)
            t.style = "Table Grid"
            for r, c, cell in placed:  # merges first (Table.cell is O(cells): only for spanned cells)
                if cell.rowspan > 1 or cell.colspan > 1:
                    t.cell(r, c).merge(t.cell(r + cell.rowspan - 1, min(width, c + cell.colspan) - 1))
            grid = t._cells  # grid positions → cells, merged cells repeated
            for r, c, cell in placed:
                grid[r * width + c].text = cell.text  # "\n" → <w:br/>
            doc.add_paragraph("")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------- PDF

def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    return PDF_FONT


def _esc(s: str) -> str:
    return _html.escape(s.replace("\xa0", " "), quote=False).replace("\n", "<br/>")


_NUMERIC = re.compile(r"^[\s+\-—/0-9.,万元]*$")


def html_to_pdf(page: str, *, vertical_headers: bool = True, font_size: float = 7.5, ruled: bool = True) -> bytes:
    """The report page as a PDF with a text layer (reportlab, CID font STSong-Light).

    ruled=False prints the tables without any lines (a borderless layout: no ruled table to find).
    """
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=14, wordWrap="CJK", spaceAfter=6)
    right = ParagraphStyle("right", parent=body, alignment=TA_RIGHT)
    title = ParagraphStyle("title", parent=body, fontSize=15, leading=20, alignment=TA_CENTER, spaceAfter=12)
    cell_style = ParagraphStyle("cell", fontName=font, fontSize=font_size, leading=font_size * 1.25,
                                wordWrap="CJK", alignment=TA_CENTER)
    margin = 42
    avail = A4[0] - 2 * margin
    story = []
    for b in blocks_from_html(page):
        if b.kind == "title":
            story.append(Paragraph(_esc(b.text), title))
        elif b.kind == "p":
            story.append(Paragraph(_esc(b.text), right if b.align == "right" else body))
        else:
            placed, height, width = place(b.rows)
            if not height or not width:
                continue
            vertical = vertical_headers and width >= 12
            grid = [["" for _ in range(width)] for _ in range(height)]
            natural = [18.0] * width
            style = [("GRID", (0, 0), (-1, -1), 0.5, colors.black)] if ruled else []
            style += [("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                      ("LEFTPADDING", (0, 0), (-1, -1), 2), ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                      ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]
            for r, c, cell in placed:
                text = cell.text
                flat = text.replace("\n", "")
                if (vertical and cell.colspan == 1 and 1 < len(flat.strip()) <= 6
                        and not _NUMERIC.match(flat)):
                    text = "\n".join(flat.strip())  # vertical header: one character per line
                grid[r][c] = Paragraph(_esc(text), cell_style) if text.strip() else ""
                if cell.colspan == 1:
                    w = max((stringWidth(x.replace("\xa0", " "), font, font_size) for x in text.split("\n")),
                            default=0) + 6
                    natural[c] = max(natural[c], min(w, 170.0))
                c2 = min(width, c + cell.colspan) - 1
                if cell.rowspan > 1 or c2 > c:
                    style.append(("SPAN", (c, r), (c2, r + cell.rowspan - 1)))
            total = sum(natural)
            if total > avail:
                fixed = sum(w for w in natural if w <= 60)
                flex = total - fixed
                k = max(0.1, (avail - fixed) / flex) if flex else avail / total
                natural = [w if w <= 60 else w * k for w in natural]
            story.append(Table(grid, colWidths=natural, style=TableStyle(style), splitByRow=1))
            story.append(Spacer(1, 8))

    def footer(canvas, doc_):
        canvas.saveState()
        canvas.setFont(font, 9)
        canvas.drawCentredString(A4[0] / 2, 20, f"- {doc_.page} -")
        canvas.restoreState()

    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=margin,
                      bottomMargin=margin, title="report", author="nianbao generator").build(
        story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()


# --------------------------------------------------------------------------- convenience

def render_all(seed: int, *, template: str | None = None, text_layout: str = "tab_cells", **kwargs):
    """One generated report in every form: (truth, {"text", "html", "docx", "pdf"}).

    `generator.generate` with the same seed and template draws the same content whatever the
    layout; the text form uses `text_layout` (its printed nil tokens and label variants may differ,
    the values never do). The HTML page is the source of the DOCX and the PDF, and `truth` is the
    HTML form's truth (so its raw values are the ones printed in HTML, DOCX and PDF).
    """
    import random

    from synthetic import generator as g

    template = template or random.Random(seed).choice(g.TEMPLATES)
    text, _ = g.generate(seed, template=template, layout=text_layout, **kwargs)
    page, truth = g.generate(seed, template=template, layout="html", **kwargs)
    return truth, {"text": text, "html": page, "docx": html_to_docx(page), "pdf": html_to_pdf(page)}


__all__ = ["blocks_from_html", "place", "html_to_docx", "html_to_pdf", "render_all", "PDF_FONT"]

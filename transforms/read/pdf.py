"""PDF with a text layer → lines (ruled tables one line per row); a PDF without one raises NoTextLayer
and is read by OCR (transforms/read/ocr.py)."""
from __future__ import annotations

import io
import re

from transforms.read.grid import join_pieces
from transforms.read.limits import Deadline, Limits, NoTextLayer, Unreadable

_PAGE_NO = re.compile(r"^(?:[-–—－\s]*\d{1,4}[-–—－\s]*|第\s*\d+\s*页(?:\s*[/，,]?\s*共\s*\d+\s*页)?|"
                      r"\d+\s*/\s*\d+|page\s*\d+(?:\s*of\s*\d+)?)$", re.I)


def pdf_lines(data: bytes, limits: Limits | None = None, deadline: Deadline | None = None,
              properties: dict | None = None) -> tuple[list[tuple[str, int]], bool]:
    """PDF with a text layer → (lines, tabular).

    Ruled tables (pdfplumber's line strategy) give one "\\t"-joined line per row: a merged cell once,
    where it starts; cell text lines are joined without spaces between CJK characters, so vertical
    headers (one character per line) read as words. Text outside the tables gives one line per
    paragraph (wrapped lines joined); page numbers in the margins are dropped, so a table split over
    pages reads as one. tabular=False when no ruled table was found (the engine then detects the
    layout from the text, like the pdf_text family). Source line = page * 1000 + line on the page.
    """
    limits = limits or Limits.from_env()
    deadline = deadline or Deadline(limits.max_seconds)
    import logging

    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    import pdfplumber
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except Exception as exc:  # pdfminer raises many kinds on broken files
        raise Unreadable(f"broken PDF ({type(exc).__name__}: {exc})", "corrupt_document") from None
    out: list[tuple[str, int]] = []
    any_table = False
    n_chars = 0
    with pdf:
        if properties is not None:   # the document information dictionary: Title names many reports
            try:
                info = pdf.metadata or {}
            except Exception:   # a broken info dictionary is no reason to lose the pages
                info = {}
            for key in ("Title", "Subject", "Author"):
                value = info.get(key)
                if isinstance(value, bytes):
                    value = value.decode("utf-16" if value[:2] in (b"\xfe\xff", b"\xff\xfe") else "latin-1", "replace")
                if isinstance(value, str) and value.strip():
                    properties[key.lower()] = value.strip()[:300]
        try:
            n_pages = len(pdf.pages)
        except Exception as exc:
            raise Unreadable(f"broken PDF ({type(exc).__name__}: {exc})", "corrupt_document") from None
        if n_pages > limits.max_pdf_pages:
            raise Unreadable(f"PDF has {n_pages} pages > {limits.max_pdf_pages} (limit NIANBAO_MAX_PDF_PAGES)",
                             "too_many_pages")
        for pno, page in enumerate(pdf.pages, start=1):
            deadline.check(f"PDF page {pno}")
            try:
                items, n, found = _pdf_page(page, deadline, pno)
            except Unreadable:
                raise
            except Exception as exc:
                raise Unreadable(f"PDF page {pno} could not be read ({type(exc).__name__}: {exc})",
                                 "corrupt_document") from None
            n_chars += n
            any_table = any_table or found
            for k, (text, _) in enumerate(items, start=1):
                out.append((text, pno * 1000 + k))
            if hasattr(page, "flush_cache"):
                page.flush_cache()  # keep one page's layout objects in memory at a time
    if n_chars == 0:
        raise NoTextLayer(f"PDF has no text layer ({n_pages} page(s) of images or vector art)", "no_text_layer")
    return out, any_table


def _pdf_page(page, deadline: Deadline, pno: int):
    chars = page.chars
    if not chars:
        return [], 0, False
    tables = page.find_tables()
    deadline.check(f"PDF page {pno} tables")
    boxes = [t.bbox for t in tables]

    def inside(obj) -> bool:
        cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return any(x0 <= cx <= x1 and t <= cy <= b for x0, t, x1, b in boxes)

    items: list[tuple[float, int, list[str]]] = []  # (top, order, lines)
    for k, t in enumerate(tables):
        rows = []
        for row in t.extract(x_tolerance=1.5, y_tolerance=2):
            cells = [join_pieces((c or "").split("\n")) for c in row if c is not None]
            rows.append("\t".join(cells))
        items.append((t.bbox[1], k, rows + [""]))
    rest = page.filter(lambda o: o.get("object_type") != "char" or not inside(o)) if boxes else page
    text_lines = rest.extract_text_lines(return_chars=True, x_tolerance=1.5, y_tolerance=2)
    height = float(page.height)
    margin = 0.08 * height
    kept = []
    for ln in text_lines:
        s = " ".join(ln["text"].split())
        if not s:
            continue
        if (ln["top"] < margin or ln["bottom"] > height - margin) and _PAGE_NO.match(s):
            continue  # page number in a header/footer
        size = ln["chars"][0].get("size", 10) if ln.get("chars") else 10
        kept.append({"text": s, "x0": ln["x0"], "x1": ln["x1"], "top": ln["top"], "bottom": ln["bottom"],
                     "size": size})
    right = max((ln["x1"] for ln in kept), default=0)
    paras: list[dict] = []
    for ln in kept:
        prev = paras[-1] if paras else None
        if (prev is not None and prev["x1"] >= right - 1.5 * prev["size"]
                and abs(ln["size"] - prev["size"]) < 0.5
                and 0 <= ln["top"] - prev["bottom"] < 0.6 * ln["size"]
                and not any(prev["bottom"] <= b[1] <= ln["top"] for b in boxes)):
            prev["text"] = join_pieces([prev["text"], ln["text"]])  # a wrapped paragraph
            prev["x1"], prev["bottom"] = ln["x1"], ln["bottom"]
            continue
        paras.append(dict(ln))
    for p in paras:
        items.append((p["top"], 10_000, [p["text"]]))
    items.sort(key=lambda x: (x[0], x[1]))
    flat = [(line, 0) for _, _, lines in items for line in lines]
    return flat, len(chars), bool(tables)

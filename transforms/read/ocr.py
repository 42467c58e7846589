"""Scanned reports: page images → the engine's lines, table cells located by their ruling lines.

Small bodies publish image-only PDFs and paste their statutory tables as pictures. The statutory
tables are always ruled grids, so the structure comes from the lines, not from the OCR: the page
is binarised, horizontal and vertical rules are isolated by morphological opening, their positions
give the grid, and a missing rule between two grid cells merges them (row and column spans). Each
cell's ink is split into text lines by its row profile and recognised without text detection — the
cells are already the boxes — by the PP-OCRv4 Chinese model shipped inside ``rapidocr-onnxruntime``
(works offline), each distinct crop of a document once. Text outside the tables (title, prose, section
headings, signature) goes through the model's detector first, since metadata and table location
need it. A blank cell has no ink and stays blank: nothing is invented.

Output is what the other readers produce: ``(line, source_line)`` with a table row as one line of
tab-joined cells (a merged cell printed once, where it starts; a table cut by a page break joined
again), plus each cell's recognition confidence so the engine flags every OCR'd value (``ocr``)
with it.

Cost (bench/ocr_bench.py: CPU seconds per page on one core, one ONNX thread, the 5-page 200 dpi scan
of tests/fixtures/scans; runs alternated with the previous code on the shared machine, load ~20):
3.76 / 4.00 s a page and 891 / 901 MB peak before, 1.60 / 1.64 s and 360 / 373 MB after (about
0.5 s a page of that is the engine's one-time set-up, gazetteer and caches, outside OCR). Lines,
cells, flags and confidences came out identical on every scan fixture. What did it:

* Detection on a reduced copy, recognition on the full-resolution page. RapidOCR keeps an image
  up to 2000 px for its detector (limit_type "max" ignores ``det_limit_side_len``), so a 200 dpi
  page was detected at ~2000 px: 0.9 s and ~600 MB of activations a page. ``_detect`` is
  given the band's inked area only (blank margins cut off) reduced so a text line is
  ``DET_LINE_PX`` high (0.55 at 200 dpi, never enlarged) on a white margin of ``DET_MARGIN_PX``,
  and the boxes are cropped from the full page: detection 0.9 → 0.03 s, prose 1.45 → 0.2 s a
  page. The same lines on every fixture at line heights of 12, 16 and 18 px (10 px: 2 lines
  changed); margins of 0 and 32 px the same (16 px: one character). The detector must be called
  with limit_type "max": the default "min" enlarges a reduced band to 736 px (600 MB, slower).
* One crop per recogniser call (``rec_batch_num=1``). A batch is padded to its widest crop (320 px
  at least) and one-thread inference of a 6-crop batch is ~15 % slower per crop than six single
  calls (cache): 24.3 → 18.9 s on the 772 crops of the fixtures, the same text for every table
  cell. It also makes a crop's result depend on its pixels alone, which the next point needs.
* Identical crops are recognised once per document (``_Recogniser``): an image-only PDF made from
  a digital document prints each "0" pixel for pixel the same, so the 488 table crops of its 5
  pages are 288 distinct ones. Photos and noisy scans rarely repeat a crop: no gain, no loss.
* Tried and left: narrower recogniser inputs (padded to less than 320 px: "0" read as "" or "o"),
  several cells packed into one input (digits read as full-width digits or letters, lower
  confidence), larger batches (slower), ONNX session options (ORT_ENABLE_ALL, sequential, one
  thread, no memory arena are RapidOCR's already; arena on or denormals-as-zero: no change).
"""
from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass

import numpy as np

RENDER_DPI = 200                  # scans are read at 200 dpi; rendered PDF pages too
DOUBTFUL_INK = 30                 # ink pixels of a cell left unread that cast doubt on its text
DET_LINE_PX = 16                  # text line height the detector is given (the page is reduced to it)
DET_MARGIN_PX = 32                # white margin around the detector's copy of the inked area
_ENGINE = None
_ENGINE_LOCK = threading.Lock()


class OcrUnavailable(RuntimeError):
    """The OCR engine or image libraries are not installed."""


class ScanError(ValueError):
    """The scan cannot be read (not an image, too many pixels or pages); the message says why and
    ``code`` is the quarantine reason code."""

    def __init__(self, message: str, code: str = "corrupt_document"):
        super().__init__(message)
        self.code = code


# What the recogniser prints for a few CJK punctuation marks of these reports (丶 for 、 in "三丶"
# headings, ° or · for a full stop): mapped back so headings and labels match the format files.
_CONFUSABLES = str.maketrans({"丶": "、", "°": "。", "·": "。"})


def read_scan(data: bytes, kind: str, *, max_pages: int, max_pixels: int, check=lambda stage: None) -> "OcrText":
    """An image-only PDF (kind "pdf") or an image file (kind "image") → the engine's lines."""
    pages = []
    recognise = _Recogniser()                   # one per document: its pages repeat the same crops
    if kind == "image":
        pages.append(page_items(image_gray(data, max_pixels), recognise))
    else:
        for pno, gray in enumerate(pdf_page_images(data, max_pages=max_pages, max_pixels=max_pixels), start=1):
            check(f"OCR of page {pno}")
            pages.append(page_items(gray, recognise))
    return to_lines(join_pages(pages))


def engine():
    """The RapidOCR engine (PP-OCRv4 det + rec, ONNX, one thread: workers are processes), loaded once.
    One crop per recogniser call: faster on one thread, and a crop's text depends on it alone."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError as e:      # pragma: no cover - a dependency
                raise OcrUnavailable(f"OCR engine not installed ({e})") from None
            # limit_type "max": the detector never enlarges what _detect gives it (up to 2000 px)
            _ENGINE = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1, print_verbose=False,
                               det_limit_type="max", rec_batch_num=1)
        return _ENGINE


class _Recogniser:
    """Text line crops → (text, score), each distinct crop recognised once: with one crop per call
    the result is a function of the crop's pixels, so a repeated crop (the same "0" printed in
    many cells of a digital document's scan) reuses it unchanged."""

    def __init__(self):
        self._known: dict[tuple, tuple[str, float]] = {}

    def __call__(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        keys = [(c.shape, hashlib.blake2b(c.tobytes(), digest_size=16).digest()) for c in crops]
        todo = list({k: c for k, c in zip(keys, crops) if k not in self._known}.items())
        if todo:
            results, _ = engine().text_rec([c for _, c in todo])
            self._known.update((k, (text, float(score))) for (k, _), (text, score) in zip(todo, results))
        return [self._known[k] for k in keys]


@dataclass
class Grid:
    """One ruled table: its bounding box, the rule positions and the spanning cells."""
    x0: int
    y0: int
    x1: int
    y1: int
    ys: list[int]                                  # horizontal rule positions, top to bottom
    xs: list[int]                                  # vertical rule positions, left to right
    cells: list[tuple[int, int, int, int]]         # (row, col, rowspan, colspan) of each spanning cell


def _runs(mask_1d: np.ndarray, min_len: int) -> list[tuple[int, int]]:
    """(start, end) of the runs of True at least ``min_len`` long."""
    if not mask_1d.any():
        return []
    d = np.diff(np.concatenate(([0], mask_1d.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return [(int(s), int(e)) for s, e in zip(starts, ends) if e - s >= min_len]


def _centres(profile: np.ndarray, threshold: float) -> list[int]:
    """Centres of the bands where a rule profile exceeds ``threshold``."""
    return [(s + e - 1) // 2 for s, e in _runs(profile >= threshold, 1)]


def binarise(gray: np.ndarray) -> np.ndarray:
    """Ink = 255, paper = 0, robust to uneven scan lighting."""
    import cv2
    return cv2.adaptiveThreshold(255 - gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 15, -10)


def text_ink(gray: np.ndarray) -> np.ndarray:
    """Ink of the text: darker than Otsu's paper/ink threshold after a light blur, so that scanner
    noise and JPEG ringing (a few grey levels off white) are paper, not specks to be read."""
    import cv2
    blurred = cv2.GaussianBlur(gray, (3, 3), 0)
    otsu, _ = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return np.where(blurred < min(otsu, 170), 255, 0).astype(np.uint8)


def rules(bw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(horizontal, vertical) rule masks: ink that survives opening with a long thin kernel."""
    import cv2
    h, w = bw.shape
    hk = cv2.getStructuringElement(cv2.MORPH_RECT, (max(20, w // 40), 1))
    vk = cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(15, h // 80)))
    horiz = cv2.morphologyEx(bw, cv2.MORPH_OPEN, hk)
    vert = cv2.morphologyEx(bw, cv2.MORPH_OPEN, vk)
    # close pixel gaps in scanned rules
    horiz = cv2.dilate(horiz, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 3)))
    vert = cv2.dilate(vert, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 1)))
    vert = cv2.morphologyEx(vert, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 7)))
    return horiz, vert


def grids(horiz: np.ndarray, vert: np.ndarray) -> list[Grid]:
    """The ruled tables of a page, top to bottom."""
    import cv2
    h, w = horiz.shape
    frame = cv2.bitwise_or(horiz, vert)
    n, _, stats, _ = cv2.connectedComponentsWithStats(frame, connectivity=8)
    out = []
    for i in range(1, n):
        x, y, bw_, bh, _ = stats[i]
        if bw_ < w // 5 or bh < 20:
            continue
        hs = horiz[y:y + bh, x:x + bw_] > 0
        vs = vert[y:y + bh, x:x + bw_] > 0
        ys = _centres(hs.sum(axis=1), max(15, bw_ // 25))
        xs = _centres(vs.sum(axis=0), max(10, bh // 40) if bh > 60 else 10)
        ys, xs = _dedupe(ys, 6), _dedupe(xs, 6)
        if len(ys) < 2 or len(xs) < 2:
            continue
        xs = _column_rules(vs, ys, xs)
        cells = _spans(hs, vs, ys, xs)
        out.append(Grid(int(x), int(y), int(x + bw_), int(y + bh), ys, xs, cells))
    return sorted(out, key=lambda g: (g.y0, g.x0))


def _column_rules(vs: np.ndarray, ys: list[int], xs: list[int]) -> list[int]:
    """Vertical rules that bound cells in two consecutive rows at least (or the frame): a
    character's long stroke (丨 in 年, 十) survives the opening as well, but in one row only."""
    rows = len(ys) - 1
    keep = []
    for i, x in enumerate(xs):
        if i in (0, len(xs) - 1) or rows < 2:
            keep.append(x)
            continue
        hits = [_has_rule(vs, x, ys[r], ys[r + 1], horizontal=False) for r in range(rows)]
        if any(a and b for a, b in zip(hits, hits[1:])) or any(
                hit and _spans_row(vs, x, ys[r], ys[r + 1]) for r, hit in enumerate(hits)):
            keep.append(x)
    return keep


def _spans_row(vs: np.ndarray, x: int, top: int, bottom: int) -> bool:
    """A rule that runs from the row's top rule to its bottom rule without a gap (text has padding)."""
    band = vs[top + 1:bottom - 1, max(0, x - 3):x + 4].any(axis=1)
    return band.size > 0 and band.mean() >= 0.97


def _meets_rules(vs: np.ndarray, x: int, top: int, bottom: int) -> bool:
    """A column rule inside a row meets the row's top or bottom rule; a character's stroke at the x of
    a rule of other rows (十 in a caption spanning the columns) stops short of both: cells have padding."""
    edge = max(3, (bottom - top) // 8)
    near = slice(max(0, x - 3), x + 4)
    return bool(vs[top + 1:top + edge, near].any(axis=1).all() or vs[bottom - edge:bottom - 1, near].any(axis=1).all())


def _dedupe(pos: list[int], gap: int) -> list[int]:
    out: list[int] = []
    for p in pos:
        if out and p - out[-1] < gap:
            out[-1] = (out[-1] + p) // 2
        else:
            out.append(p)
    return out


def _has_rule(mask: np.ndarray, fixed: int, a: int, b: int, horizontal: bool) -> bool:
    """Is there a rule at ``fixed`` (row for horizontal, column for vertical) between a and b?"""
    lo, hi = a + (b - a) // 5, b - (b - a) // 5
    if hi <= lo:
        return True
    band = mask[max(0, fixed - 3):fixed + 4, lo:hi] if horizontal else mask[lo:hi, max(0, fixed - 3):fixed + 4]
    cover = band.any(axis=0 if horizontal else 1)
    return cover.mean() > 0.6


def _spans(hs: np.ndarray, vs: np.ndarray, ys: list[int], xs: list[int]) -> list[tuple[int, int, int, int]]:
    """Grid cells merged where the rule between them is missing → (row, col, rowspan, colspan)."""
    R, C = len(ys) - 1, len(xs) - 1
    parent = list(range(R * C))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for r in range(R):
        for c in range(C):
            if c + 1 < C and not (_has_rule(vs, xs[c + 1], ys[r], ys[r + 1], horizontal=False)
                                  and _meets_rules(vs, xs[c + 1], ys[r], ys[r + 1])):
                parent[find(r * C + c + 1)] = find(r * C + c)
            if r + 1 < R and not _has_rule(hs, ys[r + 1], xs[c], xs[c + 1], horizontal=True):
                parent[find((r + 1) * C + c)] = find(r * C + c)
    groups: dict[int, list[tuple[int, int]]] = {}
    for r in range(R):
        for c in range(C):
            groups.setdefault(find(r * C + c), []).append((r, c))
    cells = []
    for members in groups.values():
        rows = [m[0] for m in members]
        cols = [m[1] for m in members]
        r0, c0 = min(rows), min(cols)
        rs, cs = max(rows) - r0 + 1, max(cols) - c0 + 1
        if rs * cs != len(members):          # not a rectangle (broken rules): keep grid cells apart
            cells.extend((r, c, 1, 1) for r, c in members)
        else:
            cells.append((r0, c0, rs, cs))
    return sorted(cells)


def _text_bands(ink: np.ndarray, min_height: int = 6) -> tuple[list[tuple[int, int, int, int]], int]:
    """(y0, y1, x0, x1) of the text lines of a cell's ink, top to bottom, and how many ink pixels
    were left out as specks (too thin or too small for a line of text)."""
    rows = ink.sum(axis=1) > 0
    bands = []
    for s, e in _runs(rows, 1):
        if bands and s - bands[-1][1] <= 2:
            bands[-1] = (bands[-1][0], e)
        else:
            bands.append((s, e))
    out, dropped = [], 0
    for s, e in bands:
        n = int(ink[s:e].sum() // 255)
        cols = np.flatnonzero(ink[s:e].any(axis=0))
        if e - s < min_height or n < 8 or not cols.size:
            dropped += n
            continue
        out.append((s, e, int(cols[0]), int(cols[-1]) + 1))
    return out, dropped


def _crop(gray: np.ndarray, y0: int, y1: int, x0: int, x1: int, pad: int = 6) -> np.ndarray:
    """A text line crop on white margins, as BGR (what the recogniser takes)."""
    import cv2
    piece = gray[max(0, y0 - 2):y1 + 2, max(0, x0 - 2):x1 + 2]
    piece = cv2.copyMakeBorder(piece, pad, pad, pad * 2, pad * 2, cv2.BORDER_CONSTANT, value=255)
    return cv2.cvtColor(piece, cv2.COLOR_GRAY2BGR)


@dataclass
class Row:
    """One table row: its cells that start in this row, (column, text, confidence) left to right."""
    y: int
    cells: list[tuple[int, str, float | None]]


@dataclass
class Table:
    y0: int
    y1: int
    n_cols: int
    rows: list[Row]


def deskew(gray: np.ndarray, max_degrees: float = 3.0) -> np.ndarray:
    """The page turned straight: scanners and phone photos tilt pages by a degree or two, which
    smears every rule over several pixel rows. The angle is the one that makes the rows of ink of a
    quarter-size copy sharpest (largest variance of the row sums)."""
    import cv2
    small = cv2.resize(255 - gray, (max(1, gray.shape[1] // 4), max(1, gray.shape[0] // 4)),
                       interpolation=cv2.INTER_AREA)
    h, w = small.shape
    centre = (w / 2, h / 2)

    def sharpness(deg: float) -> float:
        m = cv2.getRotationMatrix2D(centre, deg, 1.0)
        return float(cv2.warpAffine(small, m, (w, h)).sum(axis=1, dtype=np.float64).var())

    coarse = max(np.arange(-max_degrees, max_degrees + 1e-9, 0.5), key=sharpness)
    best = max(np.arange(coarse - 0.5, coarse + 0.5 + 1e-9, 0.1), key=sharpness)
    if abs(best) < 0.15:
        return gray
    m = cv2.getRotationMatrix2D((gray.shape[1] / 2, gray.shape[0] / 2), float(best), 1.0)
    return cv2.warpAffine(gray, m, (gray.shape[1], gray.shape[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=255)


def page_items(gray: np.ndarray, recognise: "_Recogniser | None" = None) -> list[tuple[int, str | Table]]:
    """One page image (grayscale, ~200 dpi) → (y, prose line | Table) top to bottom."""
    recognise = recognise or _Recogniser()
    gray = deskew(gray)
    bw = binarise(gray)
    horiz, vert = rules(bw)
    tables = grids(horiz, vert)
    import cv2
    ink = text_ink(gray)
    ink[(cv2.dilate(horiz, np.ones((3, 3), np.uint8)) > 0) | (cv2.dilate(vert, np.ones((3, 3), np.uint8)) > 0)] = 0
    # every text line crop of every table cell, recognised in one batch
    crops, owners = [], []
    doubtful: set[tuple[int, int]] = set()      # cells with ink that no text line took
    for t, g in enumerate(tables):
        for k, (r, c, rs, cs) in enumerate(g.cells):
            y0, y1 = g.y0 + g.ys[r] + 3, g.y0 + g.ys[r + rs] - 3
            x0, x1 = g.x0 + g.xs[c] + 3, g.x0 + g.xs[c + cs] - 3
            if y1 <= y0 or x1 <= x0:
                continue
            bands, dropped = _text_bands(ink[y0:y1, x0:x1])
            if dropped >= DOUBTFUL_INK:
                doubtful.add((t, k))
            for by0, by1, bx0, bx1 in bands:
                crops.append(_crop(gray, y0 + by0, y0 + by1, x0 + bx0, x0 + bx1))
                owners.append((t, k))
    texts: dict[tuple[int, int], list[tuple[str, float]]] = {}
    for owner, (text, score) in zip(owners, recognise(crops) if crops else []):
        texts.setdefault(owner, []).append((text.strip(), score))
    items: list[tuple[int, str | Table]] = []
    for t, g in enumerate(tables):
        rows: dict[int, list[tuple[int, str, float | None]]] = {}
        for k, (r, c, rs, cs) in enumerate(g.cells):
            parts = texts.get((t, k), [])
            text = "".join(p for p, _ in parts).replace("\t", " ").translate(_CONFUSABLES)
            conf = min((s for _, s in parts), default=None)
            if (t, k) in doubtful:                  # part of the cell's ink was not read: say so
                conf = min(conf if conf is not None else 1.0, 0.5)
            rows.setdefault(r, []).append((c, text, conf))
        table = Table(g.y0, g.y1, len(g.xs) - 1,
                      [Row(g.y0 + g.ys[r], sorted(rows[r])) for r in range(len(g.ys) - 1) if r in rows])
        items.append((g.y0, table))
    items.extend(_prose(gray, tables, ink, recognise))
    items.sort(key=lambda it: it[0])
    return items


_PAGE_NUMBER = re.compile(r"^[-–—－\s]*(?:\d{1,4}|第\s*\d+\s*页.*)[-–—－\s]*$")


def _has_digit(text: str) -> bool:
    return any(ch.isdigit() for ch in text)


def join_pages(pages: list[list[tuple[int, str | Table]]]) -> list[tuple[int, str | Table]]:
    """Pages in order → one item list; a table that goes on over the page break is one table.

    Page numbers (``— 5 —``, ``第5页``) are dropped. A table that ends a page and one that starts the
    next with the same number of columns are one table: a repeated header row is dropped, and a
    first row without a digit is the rest of the row the break cut (its cell texts are appended to
    the cells of the previous row that start in the same columns)."""
    out: list[tuple[int, str | Table]] = []
    for pno, items in enumerate(pages, start=1):
        items = [(pno * 100000 + y, it) for y, it in items
                 if not (isinstance(it, str) and _PAGE_NUMBER.match(it.strip()))]
        prev = out[-1][1] if out else None
        if items and isinstance(prev, Table) and isinstance(items[0][1], Table) and items[0][1].n_cols == prev.n_cols:
            _continue(prev, items.pop(0)[1])
        out.extend(items)
    return out


def _continue(prev: Table, nxt: Table) -> None:
    head = {tuple(t for _, t, _ in r.cells) for r in prev.rows[:3]}
    rows = list(nxt.rows)
    while rows and tuple(t for _, t, _ in rows[0].cells) in head:
        rows.pop(0)                                          # header repeated on the new page
    cut = rows[0].cells if rows else []
    if prev.rows and cut and any(t for _, t, _ in cut) and not any(_has_digit(t) for _, t, _ in cut):
        last = prev.rows[-1]
        merged = {c: (t, x) for c, t, x in last.cells}
        for c, text, conf in cut:
            if c in merged and text:
                t, x = merged[c]
                merged[c] = (t + text, conf if x is None else x if conf is None else min(x, conf))
        prev.rows[-1] = Row(last.y, [(c, t, x) for c, (t, x) in sorted(merged.items())])
        rows.pop(0)
    prev.rows.extend(rows)
    prev.y1 = nxt.y1


@dataclass
class OcrText:
    lines: list[tuple[str, int]]
    confidences: dict[int, list[tuple[str, float | None]]]   # table row line → (cell text, confidence)


def to_lines(items: list[tuple[int, str | Table]]) -> OcrText:
    """Items → the engine's lines (a table row = tab-joined cells; a blank line ends a table)."""
    lines: list[tuple[str, int]] = []
    conf: dict[int, list[tuple[str, float | None]]] = {}
    for _, it in items:
        if isinstance(it, str):
            lines.append((it, len(lines) + 1))
            continue
        for row in it.rows:
            no = len(lines) + 1
            lines.append(("\t".join(t for _, t, _ in row.cells), no))
            conf[no] = [(t, x) for _, t, x in row.cells]
        lines.append(("", len(lines) + 1))
    return OcrText(lines, conf)


def _prose(gray: np.ndarray, tables: list[Grid], ink: np.ndarray, recognise: _Recogniser) -> list[tuple[int, str]]:
    """Text lines outside the tables: the detector finds them on a reduced copy of each band between
    tables, the recogniser reads them from the full-resolution page."""
    import cv2
    h = gray.shape[0]
    bands, y = [], 0
    for g in tables:
        if g.y0 - y > 20:
            bands.append((y, g.y0))
        y = max(y, g.y1 + 1)
    if h - y > 20:
        bands.append((y, h))
    scale = _detection_scale(ink, bands)
    out = []
    eng = engine()
    for y0, y1 in bands:
        dark = gray[y0:y1] < 128
        if dark.sum() < 50:                                           # blank paper
            continue
        rows, cols = np.flatnonzero(dark.any(axis=1)), np.flatnonzero(dark.any(axis=0))
        top, left = y0 + max(0, int(rows[0]) - 24), max(0, int(cols[0]) - 24)   # blank margins cut off
        piece = gray[top:y0 + int(rows[-1]) + 25, left:int(cols[-1]) + 25]
        boxes = _detect(eng, piece, scale)
        if not boxes:
            continue
        crops = eng.get_crop_img_list(cv2.cvtColor(piece, cv2.COLOR_GRAY2BGR), boxes)
        res = [(box, text, score) for box, (text, score) in zip(boxes, recognise(crops)) if score >= eng.text_score]
        lines: list[list] = []                                        # boxes grouped into lines by y
        for box, text, score in res:
            yc = (box[0][1] + box[2][1]) / 2
            x = box[0][0]
            hgt = abs(box[2][1] - box[0][1])
            if lines and abs(lines[-1][0] - yc) < hgt * 0.6:
                lines[-1][1].append((x, text))
            else:
                lines.append([yc, [(x, text)]])
        for yc, parts in lines:
            out.append((int(top + yc), " ".join(t for _, t in sorted(parts)).translate(_CONFUSABLES)))
    return out


def _detection_scale(ink: np.ndarray, bands: list[tuple[int, int]]) -> float:
    """How much the detector's copy is reduced: its text lines ``DET_LINE_PX`` high (the median height
    of the inked row runs of the prose bands), never enlarged; 1 when no line is measured."""
    heights = []
    for y0, y1 in bands:
        runs: list[tuple[int, int]] = []
        for s, e in _runs(ink[y0:y1].any(axis=1), 1):
            if runs and s - runs[-1][1] <= 2:
                runs[-1] = (runs[-1][0], e)
            else:
                runs.append((s, e))
        heights.extend(e - s for s, e in runs if e - s >= 6)
    return min(1.0, DET_LINE_PX / float(np.median(heights))) if heights else 1.0


def _detect(eng, piece: np.ndarray, scale: float) -> list[np.ndarray]:
    """Text boxes of a grayscale piece, in its own coordinates, top to bottom and left to right. The
    detector runs on a copy reduced by ``scale`` on a white margin, padded higher as RapidOCR's own
    letterbox does when it is a thin strip (its detector is not made for very wide, low images)."""
    import cv2
    small = piece if scale >= 1.0 else cv2.resize(
        piece, (max(1, round(piece.shape[1] * scale)), max(1, round(piece.shape[0] * scale))),
        interpolation=cv2.INTER_AREA)
    m = DET_MARGIN_PX
    sh, sw = small.shape[0] + 2 * m, small.shape[1] + 2 * m
    pad = m
    if sh <= eng.min_height or sw / sh > eng.width_height_ratio:
        pad += abs(max(int(sw / eng.width_height_ratio), eng.min_height) * 2 - sh) // 2
    small = cv2.copyMakeBorder(small, pad, pad, m, m, cv2.BORDER_CONSTANT, value=255)
    boxes, _ = eng.text_det(cv2.cvtColor(small, cv2.COLOR_GRAY2BGR))
    if boxes is None or len(boxes) == 0:
        return []
    limit = np.array([piece.shape[1], piece.shape[0]], np.float32)
    return [np.clip((b - np.array([m, pad], np.float32)) / min(scale, 1.0), 0, limit).astype(np.float32)
            for b in eng.sorted_boxes(boxes)]


def image_gray(data: bytes, max_pixels: int) -> np.ndarray:
    """An image file's bytes → grayscale pixels; refused before decoding when it has too many."""
    import cv2
    from PIL import Image, UnidentifiedImageError
    import io
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise ScanError(f"image cannot be read ({type(e).__name__}: {e})") from None
    if w * h > max_pixels:
        raise ScanError(f"image of {w}x{h} pixels is over the limit of {max_pixels:,} (NIANBAO_MAX_IMAGE_PIXELS)",
                        "too_large")
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if arr is None:
        raise ScanError("image cannot be decoded")
    return arr


def pdf_page_images(data: bytes, dpi: int = RENDER_DPI, max_pages: int | None = None, max_pixels: int | None = None):
    """The pages of a PDF rendered to grayscale at ``dpi`` (pypdfium2, which pdfplumber ships with)."""
    import pypdfium2 as pdfium
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        raise ScanError(f"broken PDF ({e})") from None
    try:
        if max_pages is not None and len(pdf) > max_pages:
            raise ScanError(f"scanned PDF has {len(pdf)} pages > {max_pages} (limit NIANBAO_MAX_OCR_PAGES)",
                            "too_many_pages")
        for i in range(len(pdf)):
            page = pdf[i]
            w, h = page.get_size()
            if max_pixels is not None and (w * dpi / 72) * (h * dpi / 72) > max_pixels:
                raise ScanError(f"page {i + 1} is {w / 72:.0f}x{h / 72:.0f} inches: over "
                                f"{max_pixels:,} pixels at {dpi} dpi (NIANBAO_MAX_IMAGE_PIXELS)", "too_large")
            bitmap = page.render(scale=dpi / 72, grayscale=True)
            img = bitmap.to_numpy()
            yield (img if img.ndim == 2 else img[..., 0]).copy()
            page.close()
    finally:
        pdf.close()

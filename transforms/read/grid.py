"""Table cells and grids shared by the HTML, DOCX and PDF readers: a cell's pieces joined, merged
cells expanded for comparisons, the 'continued' caption of a table split over pages."""
from __future__ import annotations

import re

_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f“”‘’、，。；：（）]")


def join_pieces(parts) -> str:
    """Join the lines of one cell: no space between CJK text (wrapped or vertical labels), else one."""
    out = ""
    for p in parts:
        p = " ".join(p.split())
        if not p:
            continue
        if out and not (_CJK.match(out[-1]) or _CJK.match(p[0])):
            out += " "
        out += p
    return out


def expand_grid(rows: list[list[tuple[str, int, int]]]) -> list[list[str | None]]:
    """Rows of (text, rowspan, colspan) → a rectangular grid, spanned positions filled with the text.

    For header paths and table comparisons only: the rows handed to the engine keep every merged
    cell once (the grid repeats it).
    """
    grid: list[list[str | None]] = []
    pending: dict[tuple[int, int], str] = {}
    for r, row in enumerate(rows):
        while len(grid) <= r:
            grid.append([])
        line = grid[r]
        c = 0
        for text, rs, cs in row:
            while (r, c) in pending:
                line.append(pending.pop((r, c)))
                c += 1
            rs, cs = max(1, min(rs, 1000)), max(1, min(cs, 1000))
            for dc in range(cs):
                line.append(text)
                for dr in range(1, rs):
                    pending[(r + dr, c + dc)] = text
            c += cs
        while (r, c) in pending:
            line.append(pending.pop((r, c)))
            c += 1
    width = max((len(x) for x in grid), default=0)
    return [x + [None] * (width - len(x)) for x in grid]


def _grid_width(spans) -> int:
    grid = expand_grid(spans)
    return len(grid[0]) if grid else 0


_CONTINUED = re.compile(r"^[（(]?(?:续表|續表|续上表|續上表|续|續|接上表|table continued)[）)]?\s*[:：]?\s*$", re.I)

"""One table's rows → its cells: each row placed in its format's tree (block, row leaf; an extra row
under its caption), aligned (exact rows first, so the identities can place the others), addressed with
its tidy dimensions, and the table's status (complete, incomplete, unreadable, missing)."""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, fields

from transforms.formats import FORMATS, SEP, Block, Leaf, cell_place
from transforms.labels import clean, match_key
from transforms.parse.align import Aligned, align, unresolved
from transforms.parse.format_choice import block_key
from transforms.parse.regions import Region
from transforms.parse.rows import RowRead, TableRead, block_at
from transforms.parse.tokens import Tok
from transforms.parse.values import unit_from_label
from transforms.parse.vocab import vocabulary

_FULLWIDTH = str.maketrans({"(": "（", ")": "）", ":": "：", ",": "，", ";": "；"})
_AMOUNT_BLOCKS = {b.code for f in FORMATS.values() for t in f.tables.values() for b in t.blocks
                  if any(c.kind == "amount" for c in b.columns)}


@dataclass(slots=True)
class Cell:
    table: str
    row_path: str
    column_path: str
    value: float | None
    raw_value: str | None
    unit: str | None
    flags: tuple[str, ...]
    source_line: int | None
    dims: dict[str, str | None]
    confidence: float | None      # OCR recognition confidence of the printed text; None unless read by OCR


_new_object = object.__new__
# build_table fills new cells field by field (faster than Cell(...)): it sets exactly these fields
assert [f.name for f in fields(Cell)] == ["table", "row_path", "column_path", "value", "raw_value", "unit",
                                          "flags", "source_line", "dims", "confidence"], \
    "update build_table's cell fields"


def _ended_before_the_cut(r: RowRead, tr: TableRead, blk: Block, layout: str) -> bool:
    """A row printed whole on one line, one cell per column (blank cells as empty cells), with more of
    the table printed on a later line: the copy was cut after it, so it is not a cut row. Only in
    layouts that print blank cells (pipe and tab rows); elsewhere a blank cell cannot be told from a
    cut one."""
    if layout not in _BLANKS_PRINTED or len(r.cells) != len(blk.columns):
        return False
    lines = {t.line for t in r.cells}
    if len(lines) != 1:
        return False
    line = lines.pop()
    return (any(t.line > line for g in tr.orphans for t in g) or any(at > line for _, at in tr.unknown)
            or any(at > line for _, at, _ in tr.foreign) or any(at > line for _, at in tr.junk))


_BLANKS_PRINTED = frozenset({"pipe", "tsv"})


def build_table(table: str, tr: TableRead, region: Region, decided, problems,
                 layout: str, damaged: frozenset[int] = frozenset()) -> tuple[list[Cell], str]:
    edge_padding = layout == "tsv"
    known_formats = [f for (t, _), f in decided.items() if f]
    default_fmt = max(set(known_formats), key=known_formats.count) if known_formats else None
    cells: list[Cell] = []
    # rows of a table with fixed rows (table 四): the data row is the orphan values
    fmt_any = FORMATS[default_fmt or next(iter(FORMATS))]
    blocks = fmt_any.tables[table].blocks
    fixed_row = len(blocks) == 1 and len(blocks[0].rows) == 1 and blocks[0].rows[0].label == ""
    data, ended_by_text, left_out = _data_row(table, tr) if fixed_row else ([], False, None)
    truncated = region.truncated and not ended_by_text  # text after its row: the table was not cut inside it
    complete = not truncated
    if truncated:
        problems.append(f"{table}: the copy is cut off inside the table (line {region.end + 1})")
    for text, line in tr.unknown:
        if len(match_key(text)) >= 2 and not vocabulary(table).is_header_noise(text):
            problems.append(f"{table}: unknown label {text!r} at line {line} ignored")
    for text, line in tr.junk:
        problems.append(f"{table}: line {line}: {text!r} is not a label of the format; not published")
    rows = list(tr.rows)
    if fixed_row:
        if left_out:
            problems.append(left_out)
        if not data:
            return [], "unreadable" if tr.rows or tr.orphans or region.end > region.start else "missing"
        rows = [RowRead("", data[0].line, None, "", None, [], data)]
    else:
        stray = [g for g in tr.orphans if any(x.text for x in g)]
        for g in stray:
            problems.append(f"{table}: {sum(1 for x in g if x.text)} value(s) with no row label at line {g[0].line} "
                            f"({' '.join(x.text for x in g if x.text)!r}) not published")
    if not rows:
        return [], "incomplete" if truncated else "unreadable"
    # map rows to (format, block, leaf)
    placed: list[tuple[RowRead, str, Block, Leaf, str]] = []
    seen: set[str] = set()
    for r in rows:
        if r.entry is None and r.label == "":
            fmt = default_fmt or next(iter(FORMATS))
            blk = FORMATS[fmt].tables[table].blocks[0]
            placed.append((r, fmt, blk, blk.rows[0], ""))
            continue
        bkey = block_key(r, table)
        fmt = decided.get((table, bkey)) or default_fmt
        if fmt is None:
            problems.append(f"{table}: row {r.label!r} (line {r.line}) not published: format undetermined")
            complete = False
            continue
        if r.entry is None:  # provincial extra row under a caption
            cap = [b for f, b in (r.caption or []) if f == fmt]
            if not cap:
                problems.append(f"{table}: unknown row {r.label!r} at line {r.line} not published")
                continue
            blk = block_at(fmt, table, cap[0])
            label = clean(r.label).translate(_FULLWIDTH)
            leaf = Leaf(path=blk.caption + SEP + label, label=label, code="extra", parent_path=blk.caption or "",
                        parent_code=blk.code, level=2 if blk.caption else 1, harmonised="extra")
            if leaf.path in seen:        # one address, one cell: a repeated extra row is not published
                problems.append(f"{table}: row {leaf.path!r} printed twice (line {r.line}); first kept")
                continue
            seen.add(leaf.path)
            placed.append((r, fmt, blk, leaf, "extra_row"))
            continue
        cand = None
        for c in r.entry.rows:
            if c.fmt == fmt:
                cand = c
                break
        if cand is None:
            problems.append(f"{table}: row {r.label!r} (line {r.line}) does not exist in format {fmt}; not published")
            complete = False
            continue
        if cand.leaf.path in seen:
            problems.append(f"{table}: row {cand.leaf.path!r} printed twice (line {r.line}); first kept")
            continue
        seen.add(cand.leaf.path)
        flag = cand.flag or r.how
        placed.append((r, fmt, block_at(fmt, table, cand.block), cand.leaf, flag))
    # the last row of a cut-off copy may itself be cut: drop it rather than guess
    if truncated and placed:
        r, fmt, blk, leaf, _ = placed[-1]
        if sum(1 for t in r.cells if t.text) < len(blk.columns) and not _ended_before_the_cut(r, tr, blk, layout):
            problems.append(f"{table}: last row {leaf.path!r} cut off by the copy "
                            f"({sum(1 for t in r.cells if t.text)} of {len(blk.columns)} values); not published")
            placed.pop()
    # align: exact rows first, so the identities can use them to place the others
    known: dict[tuple[str, str], float] = {}
    aligned: dict[int, Aligned] = {}
    pending = []
    for i, (r, fmt, blk, leaf, flag) in enumerate(placed):
        hu = ({k: unit_from_label(h) for k, h in _header_units(r.headers, blk).items()}
              if blk.code in _AMOUNT_BLOCKS else {})
        if r.doubt:
            aligned[i] = unresolved(blk.columns, r.line, r.doubt)
            problems.append(f"{table}: row {leaf.path!r} at line {r.line}: {r.doubt} → unresolved")
            continue
        a = align(r.cells, blk.columns, FORMATS[fmt], table, leaf.path, {}, hu, r.line, edge_padding)
        if a.status == "exact":
            aligned[i] = a
        else:
            pending.append((i, hu))
    if pending:
        for i, a in aligned.items():
            leaf, blk = placed[i][3], placed[i][2]
            for col, v in zip(blk.columns, a.values):
                if v[0] is not None:
                    known[(leaf.path, col.path)] = v[0]
    for i, hu in pending:
        r, fmt, blk, leaf, flag = placed[i]
        a = align(r.cells, blk.columns, FORMATS[fmt], table, leaf.path, known, hu, r.line, edge_padding)
        aligned[i] = a
        problems.append(f"{table}: row {leaf.path or '(data row)'!r} at line {r.line}: {a.reason} → {a.status}")
        if a.status == "inferred":
            for col, v in zip(blk.columns, a.values):
                if v[0] is not None:
                    known[(leaf.path, col.path)] = v[0]
    dims_spec = FORMATS[next(iter(FORMATS))].tables[table].dimensions
    any_unresolved = False
    add = cells.append
    repaired = _repaired_rows([p[0] for p in placed], tr, damaged, layout == "html") if damaged else set()
    for i, (r, fmt, blk, leaf, flag) in enumerate(placed):
        a = aligned[i]
        any_unresolved |= a.status == "unresolved"
        row_path = leaf.path
        also = (flag,) if flag else ()
        if r.how == "reordered" and flag != "reordered":
            also += ("reordered",)
        if i in repaired:
            also += ("decode_repaired",)
        for (col_path, dims), (v, raw, flags, unit, line) in zip(_row_addresses(dims_spec, blk, leaf), a.values):
            # Cell(...) with its fields set here: the dataclass __init__ call was a third of the time per cell
            cell = _new_object(Cell)
            cell.table, cell.row_path, cell.column_path = table, row_path, col_path
            cell.value, cell.raw_value, cell.unit = v, raw, unit
            cell.flags, cell.source_line, cell.dims = flags + also if also else flags, line, dims
            cell.confidence = None
            add(cell)
    # completeness against the format(s) the blocks were read in
    present = {leaf.path for _, _, blk, leaf, _ in placed if blk.columns}  # = the cells' row paths
    expected_blocks = _expected_blocks(table, decided, default_fmt)
    missing = [leaf.path for blk in expected_blocks for leaf in blk.rows if leaf.path not in present]
    if missing:
        complete = False
        if not truncated:
            problems.append(f"{table}: {len(missing)} row(s) not found: {missing[:4]}{' …' if len(missing) > 4 else ''}")
    if not any(c.value is not None for c in cells):
        return cells, "incomplete" if truncated else "unreadable"
    return cells, "complete" if complete and not any_unresolved else "incomplete"


def _repaired_rows(rows: list[RowRead], tr: TableRead, damaged: frozenset[int], html: bool) -> set[int]:
    """Indices of the rows read from a line where the decoder replaced invalid bytes (their label's
    line or a cell's). An HTML row carries its <tr>'s first line, so a damaged line also hits the
    rows of the <tr> that starts last at or before it: a number cut by a bad byte is never published
    unflagged."""
    out = {i for i, r in enumerate(rows) if r.line in damaged or any(t.line in damaged for t in r.cells)}
    if html:
        starts = sorted({r.line for r in tr.rows} | {t.line for r in tr.rows for t in r.cells}
                        | {line for _, line in tr.unknown} | {t.line for g in tr.orphans for t in g})
        for line in damaged:
            k = bisect_right(starts, line) - 1
            if k >= 0:
                out.update(i for i, r in enumerate(rows)
                           if r.line == starts[k] or any(t.line == starts[k] for t in r.cells))
    return out


_DATE_WORD = re.compile(r"^[年月日号號]")


def _data_row(table: str, tr: TableRead) -> tuple[list[Tok], bool, str | None]:
    """The values of a table whose one row has no label (table 四), from its region's own lines
    → (tokens, whether text of the region follows the row, the problem naming numbers left out).

    The row starts at the first group of printed values after the table's last header label and
    runs, blanks in between kept, until text the table does not know: prose after the table (list
    items, a later heading, a paragraph) ends it, and its numbers are never values. A single number
    opening a line of such text is part of it ('1、…', '2024年…'), as is a single number on the line
    before text that goes on with 年/月/日 (a year wrapped onto its own line): neither is a value."""
    groups = tr.orphans
    prose = set()
    for i, line, text in tr.foreign:
        if i > 0:
            printed = [x for x in groups[i - 1] if x.text]
            if len(printed) == 1 and (printed[0].line == line or _DATE_WORD.match(text)):
                prose.add(i - 1)
    filled = [i for i, g in enumerate(groups) if i not in prose and any(x.text for x in g)]
    if not filled:
        return [], False, None
    tail = [i for i in filled if i >= tr.after_last_label]
    start = tail[0] if tail else filled[0]
    first = start  # blank cells printed before the first value keep their places
    while first - 1 >= (tr.after_last_label if tail else 0) and first - 1 not in prose \
            and not any(x.text for x in groups[first - 1]):
        first -= 1
    stop = next(((i, line, text) for i, line, text in tr.foreign if i > start), None)
    end = len(groups) if stop is None else stop[0]
    left = [x for g in groups[end:] for x in g if x.text]
    left_out = (f"{table}: the table ends at the text at line {stop[1]} ({stop[2][:20]!r}); {len(left)} "
                f"number(s) from line {left[0].line} on are not table values") if left else None
    last = max(i for i in filled if i < end)  # ≥ start; blank groups after it are not the row's
    return [t for g in groups[first:last + 1] for t in g], stop is not None, left_out


def _expected_blocks(table: str, decided, default_fmt) -> list[Block]:
    if default_fmt is None:
        return []
    out = []
    for blk in FORMATS[default_fmt].tables[table].blocks:
        fmt = decided.get((table, blk.code)) or default_fmt
        match = [b for b in FORMATS[fmt].tables[table].blocks if b.code == blk.code]
        out.append(match[0] if match else blk)
    return out


def _header_units(headers: list[str], blk: Block) -> dict[int, str]:
    """Header text naming an amount column, by column index (for units printed in the header)."""
    out = {}
    for i, col in enumerate(blk.columns):
        if col.kind != "amount":
            continue
        k = match_key(col.label)[:4]
        for h in headers:
            if k and k in match_key(h):
                out[i] = h
    return out


_ROW_ADDRESSES: dict[tuple, list] = {}


def _row_addresses(spec: dict, blk: Block, leaf: Leaf) -> list[tuple[str, dict]]:
    """(column path, tidy dims) of each cell of one row, cached: the same for every report."""
    key = (id(spec), id(blk), leaf.path, leaf.label)  # same caption, other format ⇒ other columns
    hit = _ROW_ADDRESSES.get(key)
    if hit is None:
        if len(_ROW_ADDRESSES) > 20_000:
            _ROW_ADDRESSES.clear()
        hit = _ROW_ADDRESSES[key] = [(col.path, _dims(spec, blk, leaf, col)) for col in blk.columns]
    return hit


_DIMS_CACHE: dict[tuple, dict] = {}


def _dims(spec: dict, blk: Block, leaf: Leaf, col: Leaf) -> dict[str, str | None]:
    """Tidy dimensions of one cell (shared, read-only dicts: the same address gives the same dims)."""
    key = (id(spec), blk.code, leaf.path, leaf.label, col.path)
    hit = _DIMS_CACHE.get(key)
    if hit is None:
        hit = _DIMS_CACHE[key] = _make_dims(spec, blk, leaf, col)
        if len(_DIMS_CACHE) > 100_000:
            _DIMS_CACHE.clear()
    return hit


def _make_dims(spec: dict, blk: Block, leaf: Leaf, col: Leaf) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name, source in spec.items():
        if source == "block":
            label, code = blk.caption, blk.code
        elif source == "row_leaf":
            label, code = leaf.label, leaf.code
        elif source == "column_leaf":
            label, code = col.label, col.code
        elif source == "column_parent":
            label, code = col.parent_path, col.parent_code
        else:  # row_parent
            label, code = leaf.parent_path, leaf.parent_code
        out[name] = label
        out[f"{name}_code"] = code
    out.update(cell_place(leaf, col))   # the cell's place in its format's tree, once per address
    return out

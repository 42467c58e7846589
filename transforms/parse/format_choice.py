"""The format (2019, 2021 …) of every block of a table, from its own row labels, then the header text
above them, then how many values its rows print; a block whose labels do not say follows the others."""
from __future__ import annotations

from transforms.formats import FORMATS, Block
from transforms.labels import match_key
from transforms.parse.rows import RowRead, TableRead, block_at


def _hay_score(hay: str, block: Block) -> float:
    """Share of the block's columns named in the joined header keys."""
    if not hay:
        return 0.0
    hit = 0
    for prefixes in _column_key_prefixes(block):
        if any(k4 in hay for k4 in prefixes):
            hit += 1
    return hit / len(block.columns)


def _column_key_prefixes(block: Block) -> tuple[tuple[str, ...], ...]:
    """First 4 characters of the match key of every column's label and aliases, per column (cached).

    A column is named in the header text when one of its keys or the key's first 4 characters is;
    the prefix is in the text whenever the whole key is, so testing the prefixes is enough.
    """
    hit = _COLUMN_KEY_PREFIXES.get(id(block))
    if hit is None or hit[0] is not block:
        prefixes = tuple(tuple(dict.fromkeys(k[:4] for k in (match_key(col.label), *map(match_key, col.aliases))))
                         for col in block.columns)
        hit = _COLUMN_KEY_PREFIXES[id(block)] = (block, prefixes)
    return hit[1]


_COLUMN_KEY_PREFIXES: dict[int, tuple[Block, tuple]] = {}


def _choose(rows: list[RowRead], table: str, candidates: list[str], use_headers: bool = True) -> tuple[str | None, str]:
    """Pick the format of one block from its labels: rows it knows, then headers, then value counts."""
    support = dict.fromkeys(candidates, 0)  # rows that exist in each candidate format
    for r in rows:
        if r.entry:
            for f in r.entry.fmts:
                if f in support:
                    support[f] += 1
    best = max(support.values(), default=0)
    cands = [f for f in candidates if support[f] == best]
    if len(cands) == 1:
        return cands[0], "rows"
    blocks = {f: _block_for(rows, table, f) for f in cands}
    # the header text above the block's rows, joined only now that it is needed
    hay = "".join([match_key(h) for r in rows for h in r.headers]) if use_headers else ""
    scores = {f: _hay_score(hay, blocks[f]) if blocks[f] else 0.0 for f in cands}
    top = max(scores.values(), default=0.0)
    if top > 0 and sum(1 for v in scores.values() if v == top) == 1:
        return max(scores, key=scores.get), "headers"
    fit = {f: sum(1 for r in rows if blocks[f] and sum(1 for t in r.cells if t.text) == len(blocks[f].columns))
           for f in cands}
    topfit = max(fit.values(), default=0)
    if topfit > 0 and sum(1 for v in fit.values() if v == topfit) == 1:
        return max(fit, key=fit.get), "value counts"
    return None, "undetermined"


def _block_for(rows: list[RowRead], table: str, fmt: str) -> Block | None:
    for r in rows:
        if r.entry:
            for c in r.entry.rows:
                if c.fmt == fmt:
                    return block_at(fmt, table, c.block)
        if r.caption:
            for f, b in r.caption:
                if f == fmt:
                    return block_at(fmt, table, b)
    return None


def block_key(r: RowRead, table: str) -> str:
    """Which sub-table a row belongs to, independent of format (its caption code)."""
    e = r.entry
    if e is not None and e.rows:
        return e.block_code
    if r.caption:
        f, b = r.caption[0]
        return block_at(f, table, b).code
    return "?"



def decide_formats(reads: dict[str, TableRead], problems: list[str]) -> dict[tuple[str, str], str | None]:
    """Format of every (table, block) from its own labels; undetermined blocks follow the others."""
    decided: dict[tuple[str, str], str | None] = {}
    for table, tr in reads.items():
        by_block: dict[str, list[RowRead]] = {}
        for r in tr.rows:
            by_block.setdefault(block_key(r, table), []).append(r)
        for key, rows in by_block.items():
            if key == "?":
                continue
            cands = _formats_with_block(table, key)
            fmt, how = _choose(rows, table, cands, use_headers=table != "applications")
            if table == "applications" and tr.groups_as_rows:
                # a row printed as a group heading (（六）其他处理 with sub-rows) is the later format's shape
                grp = [f for f in cands if any(g.entry and g.entry.label in FORMATS[f].tables[table].blocks[0].group_labels
                                               for g in tr.groups_as_rows)]
                if len(grp) == 1:
                    fmt = grp[0]
            decided[(table, key)] = fmt
    known = [f for f in decided.values() if f]
    majority = max(set(known), key=known.count) if known else None
    for k, f in decided.items():
        if f is None:
            if majority:
                decided[k] = majority
                where = k[0] if k[0] == k[1] or k[1] in ("applications", "review_litigation") else f"{k[0]} {k[1]}"
                problems.append(f"format of {where} not printed in its labels; {majority} assumed")
    return decided


def _formats_with_block(table: str, code: str) -> list[str]:
    """Formats whose table has a block with this caption code (cached; FORMATS is fixed at import)."""
    hit = _FORMATS_WITH_BLOCK.get((table, code))
    if hit is None:
        hit = _FORMATS_WITH_BLOCK[(table, code)] = [
            f for f in FORMATS if any(b.code == code for b in FORMATS[f].tables[table].blocks)]
    return list(hit)


_FORMATS_WITH_BLOCK: dict[tuple[str, str], list[str]] = {}

"""What the format files and transforms/checks.yaml declare, as the lookups the checks read: every
cell address per table (one column index of the value matrices), column kinds and bounds, the
identity and hierarchy instances, and every check name in published order. Derived once at import:
the formats are immutable."""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from transforms import narrative, schema
from transforms.checks.plausibility import CHECKS
from transforms.checks.texts import addr_label
from transforms.formats import FORMATS

TABLES = schema.STATUTORY_TABLES
STRUCTURAL_RULES = ("completeness", "nonnegative_counts", "raw_value_parsed", "flagged_cells",
                    "known_addresses", "unique_cells", "plausible_values")
WARN_RULES = ("flagged_cells",)  # structural rules that can only warn (the others fail)


def _addresses(table: str) -> dict[str, list[tuple[str, str]]]:
    return {n: f.cell_addresses(table) for n, f in FORMATS.items()}


ADDRESSES = {t: _addresses(t) for t in TABLES}
# Union of addresses per table, in a stable order → column index of the wide value matrix.
ADDRESS_INDEX = {
    t: pd.Index(list(dict.fromkeys(a for n in sorted(FORMATS) for a in ADDRESSES[t][n])), tupleize_cols=False)
    for t in TABLES
}
# Kind (count | delta | amount) per (table, column_path); the formats never disagree on a column path.
COLUMN_KINDS: dict[str, dict[str, str]] = {}
for _t in TABLES:
    _kinds: dict[str, str] = {}
    for _f in FORMATS.values():
        for _b, _r, _c in _f.tables[_t].cells():
            if _kinds.setdefault(_c.path, _c.kind) != _c.kind:
                raise ValueError(f"{_t}: column {_c.path!r} has different kinds across formats")
    COLUMN_KINDS[_t] = _kinds
# Addresses whose column is a count (ADDRESS_INDEX order): the level bounds and all-zero checks read them.
IS_COUNT = {t: np.array([COLUMN_KINDS[t].get(c) == "count" for _r, c in ADDRESS_INDEX[t]], dtype=bool)
            for t in TABLES}
# Columns by path (each format's Leaf): their value_bounds, for values published without the flag.
COLUMN_LEAVES: dict[str, dict[str, list]] = {_t: {} for _t in TABLES}
for _t in TABLES:
    for _f in FORMATS.values():
        for _b in _f.tables[_t].blocks:
            for _c in _b.columns:
                COLUMN_LEAVES[_t].setdefault(_c.path, []).append(_c)
SMALLEST_BOUND = min(b for t in TABLES for leaves in COLUMN_LEAVES[t].values() for c in leaves for _, b in c.bounds)

IN_FORMAT = {t: {n: np.array([a in set(ADDRESSES[t][n]) for a in ADDRESS_INDEX[t]] + [False])
                 for n in FORMATS} for t in TABLES}  # last slot: unknown address (code -1)
FORMAT_NAMES = sorted(FORMATS)


def identity_catalog() -> pd.DataFrame:
    """Every identity and cross-year check in FORMATS: id, number, table, description, formats (a copy:
    the catalogue and the names below are built once a process, ~3 ms each, asked for ~60 times a run)."""
    return _identity_catalog().copy()


@functools.cache
def _identity_catalog() -> pd.DataFrame:
    rows: dict[str, dict] = {}
    for name, f in sorted(FORMATS.items()):
        for i in f.identities:
            r = rows.setdefault(i.id, {"check": i.id, "identity_number": i.number, "table": i.table,
                                       "kind": "identity", "description": i.description, "formats": []})
            r["formats"].append(name)
        for c in f.cross_year:
            r = rows.setdefault(c.id, {"check": c.id, "identity_number": c.number, "table": c.table,
                                       "kind": "cross_year", "description": c.description, "formats": []})
            r["formats"].append(name)
    return pd.DataFrame(list(rows.values()))



def hierarchy_catalog() -> dict[str, tuple[str, str]]:
    """check id → (table, description) of the hierarchy checks of every format, in format order."""
    out: dict[str, tuple[str, str]] = {}
    for _name, f in sorted(FORMATS.items()):
        for h in f.hierarchy:
            out.setdefault(h.id, (h.table, h.description))
    return out



def check_names() -> list[str]:
    """Every check name quality_checks can contain, in the order a report's rows are published:
    the per-report identities, hierarchy and level checks and structural rules (the batch's), then the
    run-level checks (the cross-report pass appends them, transforms/checks/crossyear.py)."""
    return list(_check_names())


@functools.cache
def _check_names() -> tuple[str, ...]:
    cat = _identity_catalog()
    return tuple(list(cat.loc[cat["kind"] == "identity", "check"]) + list(hierarchy_catalog())
                 + [b.id for b in CHECKS.level_bounds] + [f"{t}.{r}" for t in TABLES for r in STRUCTURAL_RULES]
                 + [CHECKS.all_zero_id] + narrative.check_names() + cross_year_check_names())



def cross_year_check_names() -> list[str]:
    """The checks of the run-level cross-report pass: cross_year in the format files, then the
    consolidated reports against their constituents (transforms/checks.yaml)."""
    return list(_cross_year_check_names())


@functools.cache
def _cross_year_check_names() -> tuple[str, ...]:
    cat = _identity_catalog()
    return tuple(list(cat.loc[cat["kind"] == "cross_year", "check"]) + [c.id for c in CHECKS.consolidated])



@functools.cache
def identity_instances(fname: str, number: int) -> list[tuple]:
    """block's `insts` for FORMATS[fname].identities[number] (formats are immutable: built once)."""
    fmt = FORMATS[fname]
    ident = fmt.identities[number]
    idx = ADDRESS_INDEX[ident.table]
    return [(key, idx.get_indexer(la), idx.get_indexer(ra), "; ".join(addr_label(a) for a in la + ra),
             [addr_label(a) for a in la + ra]) for key, la, ra in ident.instances(fmt)]



@functools.cache
def hierarchy_pairs(fname: str, k: int) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """(total positions, part positions in ADDRESS_INDEX, total labels, part labels) of a hierarchy."""
    h = FORMATS[fname].hierarchy[k]
    idx = ADDRESS_INDEX[h.table]
    tot, part = [a for a, _ in h.pairs], [b for _, b in h.pairs]
    return (idx.get_indexer(tot), idx.get_indexer(part), [addr_label(a) for a in tot], [addr_label(b) for b in part])


"""The reconciliation of the statutory identities (pure pandas): one row per report × identity ×
instance (the column or row the equation is instantiated for) with ``lhs``, ``rhs``, ``diff``,
``status`` (holds | broken | not_evaluable) and the cells involved. An identity is evaluated only
where every involved cell has a value; a blank or absent cell makes the instance *not evaluable*
(never a mismatch). The identities are those of the format files (transforms.formats.FORMATS); the
cross-year rows (transforms/checks/crossyear.py) are built with the same blocks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.arrays import ArrowStringArray

from transforms.checks.catalogue import identity_instances
from transforms import schema
from transforms.checks.prepared import META, Prepared, format_groups, meta, prepare
from transforms.checks.texts import fmt_num
from transforms.typed import STR_DTYPE, conform, empty

RECON_STATUSES = schema.RECON_STATUSES
TOLERANCE = 1e-6

# The reconciliation frame is registered like the published datasets (schema.REGISTRY), not published;
# its repetitive text columns are categorical (GX copies it per metric).
RECON_COLUMNS = schema.pandas_dtypes("reconciliation")
# Free text (one distinct value per failing row; see schema.Field.free_text): not in the GX view.
RECON_FREE_TEXT = tuple(f.name for f in schema.fields("reconciliation") if f.free_text)


def empty_recon() -> pd.DataFrame:
    return empty("reconciliation")



class Part:
    """Rows of the reconciliation frame for one identity, column-wise: categorical columns as
    (codes, categories) and the rest as arrays, joined once by _concat_parts (a DataFrame per identity
    and a categorical union per column cost ~60 ms a batch, whatever its size)."""

    def __init__(self, n: int, coded: dict, plain: dict, values: pa.Array):
        self.n, self.coded, self.plain, self.values = n, coded, plain, values


def _codes_of(values) -> tuple[np.ndarray, list]:
    """(codes, categories in order of first appearance) of a sequence; None → -1."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    return codes, list(uniques)


def _repeated(values, n_each: int) -> tuple[np.ndarray, list]:
    """Each of ``values`` repeated n_each times, coded."""
    codes, cats = _codes_of(values)
    return np.repeat(codes, n_each), cats


def _constant(value, n: int) -> tuple[np.ndarray, list]:
    """``value`` n times, coded (None: null)."""
    return (np.full(n, -1, dtype=np.int64), []) if value is None else (np.zeros(n, dtype=np.int64), [value])


def _tiled(values, n_times: int) -> tuple[np.ndarray, list]:
    """``values`` tiled n_times, coded."""
    codes, cats = _codes_of(values)
    return np.tile(codes, n_times), cats


def block(report_ids, fmt_name, ident_id, number, table, for_each, desc, insts, W_rows_lhs, W_rows_rhs,
           related=None, rhs_signs=None, F_rows_lhs=None, F_rows_rhs=None) -> Part | None:
    """Rows for one identity: insts = [(key, lhs idx list, rhs idx list, cells str, labels)],
    W_rows_lhs/W_rows_rhs: matrices (n_reports × n_addresses) for the lhs / rhs cells; rhs_signs: per
    instance, the sign of each rhs cell (default all +1); F_rows_lhs/F_rows_rhs: the same shapes, True
    where the cell carries a parser flag (the row's `flagged`: who an instance that fails points at)."""
    n_r = len(report_ids)
    if n_r == 0 or not insts:
        return None
    lhs = np.empty((n_r, len(insts)))
    rhs = np.empty((n_r, len(insts)))
    miss = np.empty((n_r, len(insts)), dtype=np.int64)
    flagged = np.zeros((n_r, len(insts)), dtype=bool)
    for k, (_key, li, ri, _cells, _labels) in enumerate(insts):
        a, b = W_rows_lhs[:, li], W_rows_rhs[:, ri]
        lhs[:, k] = a.sum(axis=1)
        rhs[:, k] = (b * rhs_signs[k]).sum(axis=1) if rhs_signs is not None else b.sum(axis=1)
        miss[:, k] = np.isnan(a).sum(axis=1) + np.isnan(b).sum(axis=1)
        if F_rows_lhs is not None:
            flagged[:, k] = F_rows_lhs[:, li].any(axis=1) | F_rows_rhs[:, ri].any(axis=1)
    n_k = len(insts)
    n = n_r * n_k
    lhs_f, rhs_f, miss_f = lhs.ravel(), rhs.ravel(), miss.ravel()
    evaluable = miss_f == 0
    diff = lhs_f - rhs_f
    holds_arr = np.abs(diff) <= TOLERANCE
    status = np.where(~evaluable, 2, np.where(holds_arr, 0, 1))          # codes of RECON_STATUSES
    coded = {
        "report_id": _repeated(report_ids, n_k),
        "format": _constant(fmt_name, n), "check": _constant(ident_id, n), "table": _constant(table, n),
        "for_each": _constant(for_each, n), "key": _tiled([i[0] for i in insts], n_r),
        "status": (status, list(RECON_STATUSES)), "cells": _tiled([i[3] for i in insts], n_r),
        "description": _constant(desc, n),
    }
    if related is not None:
        coded["related_report_id"] = _repeated(related, n_k)
    plain = {
        "identity_number": np.full(n, number, dtype=np.int64),
        "lhs": np.where(evaluable, lhs_f, np.nan), "rhs": np.where(evaluable, rhs_f, np.nan),
        "diff": np.where(evaluable, diff, np.nan),
        "holds": (np.where(evaluable, holds_arr, False), ~evaluable),        # nullable boolean: (values, mask)
        "n_cells": np.tile(np.asarray([len(i[1]) + len(i[2]) for i in insts], dtype=np.int64), n_r),
        "n_missing": miss_f,
        "flagged": flagged.ravel(),
    }
    # Printed values of every involved cell, only where the identity does not hold.
    values = _values_text(np.flatnonzero(status != 0), insts, W_rows_lhs, W_rows_rhs, n)
    return Part(n, coded, plain, values)


def _concat_parts(parts: list[Part]) -> dict:
    """The columns of the reconciliation frame from its parts (categoricals: categories in order of
    first appearance over the parts, object dtype)."""
    cols: dict = {}
    for c in dict.fromkeys([*parts[0].coded, "related_report_id"]):
        seen: dict = {}
        codes = []
        for p in parts:
            cc, cats = p.coded.get(c, (np.full(p.n, -1, dtype=np.int64), []))
            lut = np.array([seen.setdefault(x, len(seen)) for x in cats] + [-1], dtype=np.int64)
            codes.append(lut[cc])
        cols[c] = pd.Categorical.from_codes(np.concatenate(codes), categories=pd.Index(list(seen), dtype=object))
    for c, first in parts[0].plain.items():
        if isinstance(first, tuple):
            cols[c] = pd.arrays.BooleanArray(*(np.concatenate([p.plain[c][i] for p in parts]) for i in (0, 1)))
        else:
            cols[c] = np.concatenate([p.plain[c] for p in parts])
    cols["values"] = ArrowStringArray(pa.chunked_array([p.values for p in parts], pa.large_string()),
                                      dtype=STR_DTYPE)
    return cols


def _values_text(rows: np.ndarray, insts, W_rows_lhs, W_rows_rhs, n_rows: int) -> pa.Array:
    """`values` of a block: "label=value; …" over the instance's cells for `rows` (row = report × n_k +
    instance), null elsewhere. Built in Arrow per instance, each distinct number formatted once:
    not-evaluable rows are ~40% of a batch, and a per-row join cost ~0.1 s a batch."""
    report, inst = np.divmod(rows, len(insts))
    numbers, positions, used = [], [], []
    for k, (_key, li, ri, _cells, _labels) in enumerate(insts):
        in_inst = inst == k
        if in_inst.any():
            r = report[in_inst]
            numbers.append(np.concatenate([W_rows_lhs[r][:, li], W_rows_rhs[r][:, ri]], axis=1))
            positions.append(rows[in_inst])
            used.append(k)
    if not numbers:
        return _scatter_text([], [], n_rows)
    distinct, codes = np.unique(np.concatenate([m.ravel() for m in numbers]), return_inverse=True)
    shown = pa.array([fmt_num(x) for x in distinct], pa.large_string())
    texts, start = [], 0
    for k, m in zip(used, numbers):
        by_column = shown.take(codes[start:start + m.size].reshape(m.shape).T.ravel())  # one take per instance
        start += m.size
        parts = []  # "lab0=", v0, "; lab1=", v1, …
        for j, lab in enumerate(insts[k][4]):
            parts += [pa.scalar(f"{'; ' if j else ''}{lab}=", pa.large_string()), by_column.slice(j * len(m), len(m))]
        texts.append(pc.binary_join_element_wise(*parts, pa.scalar("", pa.large_string())) if parts
                     else pa.array([""] * len(m), pa.large_string()))
    return _scatter_text(texts, positions, n_rows)


def _scatter_text(texts: list[pa.Array], positions: list[np.ndarray], n_rows: int) -> pa.Array:
    """A large_string array of n_rows: texts[i] at positions[i], null elsewhere."""
    source = np.full(n_rows, -1, dtype=np.int64)
    if texts:
        pos = np.concatenate(positions)
        source[pos] = np.arange(len(pos))
        flat = pa.concat_arrays(texts)
    else:
        flat = pa.array([], pa.large_string())
    return flat.take(pa.array(source, mask=source < 0))



def reconcile(frames: dict[str, pd.DataFrame], prepared: dict[str, Prepared] | None = None) -> pd.DataFrame:
    """The reconciliation frame of the per-report identities: one row per report × identity × instance.

    `prepared`: the result of prepare(frames), to share the encoding with quality_checks. The checks
    across years are not here: they need the whole dataset (transforms/checks/crossyear.py, after the batches).
    """
    prepared = prepared or prepare(frames)
    parts = []
    for table, fname, fmt, p, sel in format_groups(prepared):
        rids = p.reports.to_numpy()[sel]
        Wf, Ff = p.W[sel], p.F[sel]
        for k, ident in enumerate(fmt.identities):
            if ident.table != table:
                continue
            part = block(rids, fname, ident.id, ident.number, table, ident.for_each, ident.description,
                          identity_instances(fname, k), Wf, Wf, F_rows_lhs=Ff, F_rows_rhs=Ff)
            if part is not None:
                parts.append(part)
    return recon_frame(parts, meta(frames, prepared))



def recon_frame(parts: list[Part], meta: pd.DataFrame) -> pd.DataFrame:
    """The reconciliation frame from its parts; ``meta``: report_id → source_file, organization,
    report_year, template of the reports the rows belong to."""
    if not parts:
        return empty_recon()
    out = pd.DataFrame(_concat_parts(parts))
    codes = out["report_id"].cat.codes.to_numpy()
    cats = out["report_id"].cat.categories
    m = meta.reindex(pd.Index(cats, dtype=object))
    for c in META:
        col = m[c]
        if RECON_COLUMNS[c] == "category":
            inv, uniq = pd.factorize(col.astype(object).to_numpy(), use_na_sentinel=True)
            out[c] = pd.Categorical.from_codes(inv[codes], categories=pd.Index(uniq, dtype=object)) if len(uniq) \
                else pd.Categorical([None] * len(out))
        else:
            out[c] = col.to_numpy()[codes]
    # `failure`: who broke what, for Data Docs (GX lists unexpected values, not index columns)
    bad = np.flatnonzero((out["status"] == "broken").to_numpy())
    failure = np.full(len(out), None, dtype=object)
    if len(bad):
        sub = out.iloc[bad]
        for j, src, rid, key, lhs, rhs in zip(bad, sub["source_file"].astype(object), sub["report_id"].astype(object),
                                             sub["key"].astype(object), sub["lhs"], sub["rhs"]):
            failure[j] = f"{src} [{str(rid)[:12]}] {key or '(row)'}: lhs {fmt_num(lhs)} ≠ rhs {fmt_num(rhs)}"
    out["failure"] = failure
    return conform(out, "reconciliation")


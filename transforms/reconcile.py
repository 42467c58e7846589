"""Reconciliation of the statutory identities and the per-report quality checks (pure pandas).

Nothing here imports Great Expectations or Prefect: the functions turn tidy frames (columns of
``schema.DATASETS``) into check frames that the quality gate (expectations/gate.py) validates with GX
and publishes. Everything is data-driven from ``transforms.formats.FORMATS``: the identities and the
cross-year checks are read from the format files, never special-cased per year.

* :func:`reconcile` — one row per report × per-report identity × instance (the column or row the equation is
  instantiated for): ``lhs``, ``rhs``, ``diff``, ``status`` (holds | broken | not_evaluable), the cells
  involved. An identity is evaluated only where every involved cell has a value; a blank or absent
  cell makes the instance *not evaluable* (never a mismatch).
* :func:`quality_checks` — one row per report × check (identities aggregated over their instances, plus
  the structural per-report rules), with status pass | warn | fail and the observed values.
* :func:`verdicts` — the reports frame with ``verdict`` and ``failed_checks`` filled (rule below).
* :func:`quarantine_frame` — unreadable files → the quarantine manifest.

The checks across years (cross_year in the format files) need the whole dataset, not a batch: they
are the run-level pass of transforms/crossyear.py, which reuses the building blocks here.

Verdict rule (docs/GATE_API.md): fail = an evaluable identity breaks, a count is negative / not an
integer, a printed value was not parsed and not flagged, an implausible value (flagged implausible_value
or beyond the format's value_bounds), a table marked complete lacks cells, an unknown address or a
duplicate cell; warn = inferred/unresolved cells, an incomplete or missing table, an identity not
evaluable; pass otherwise.
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.arrays import ArrowStringArray

from transforms import narrative, schema
from transforms.formats import FORMATS
from transforms.plausibility import CHECKS, body_level
from transforms.typed import STR_DTYPE, conform, empty
from transforms.values import IMPLAUSIBLE, is_no_value

TABLES = schema.STATUTORY_TABLES
STATUSES = ("pass", "warn", "fail")
RECON_STATUSES = schema.RECON_STATUSES
STRUCTURAL_RULES = ("completeness", "nonnegative_counts", "raw_value_parsed", "flagged_cells",
                    "known_addresses", "unique_cells", "plausible_values")
WARN_RULES = ("flagged_cells",)  # structural rules that can only warn (the others fail)
# Flags that make a report "warn" (values placed by inference or by the text's order, or left unresolved).
WARN_FLAGS = ("inferred", "unresolved", "reordered")
# Flags that make a report "fail" (a value no report can hold: beyond the format's value_bounds).
FAIL_FLAGS = (IMPLAUSIBLE,)
TOLERANCE = 1e-6
QUARANTINE_REASONS = schema.QUARANTINE_REASONS
_META = schema.identity_columns("quality_checks")[1:]   # what a check's row repeats from its report


# --------------------------------------------------------------------------------------------------
# Registry helpers (derived from FORMATS, cached at import: formats are immutable)

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


def beyond_bounds(df: pd.DataFrame, table: str, value: np.ndarray) -> np.ndarray:
    """True where a value exceeds its column's value_bounds (for its unit) in every format: the
    check behind the implausible_value flag, for cells published without it. Values under the
    smallest bound of all columns (nearly all) are passed over in one vectorised comparison."""
    out = np.zeros(len(df), dtype=bool)
    with np.errstate(invalid="ignore"):
        big = np.flatnonzero(np.abs(value) > SMALLEST_BOUND)
    if len(big) == 0:
        return out
    cols = df["column_path"].iloc[big].to_numpy(dtype=object)
    units = df["unit"].iloc[big].to_numpy(dtype=object) if "unit" in df else np.full(len(big), None)
    for i, col, unit in zip(big, cols, units):
        leaves = COLUMN_LEAVES[table].get(str(col))
        unit = unit if isinstance(unit, str) else None
        out[i] = bool(leaves) and abs(value[i]) > max(c.max_abs(unit) for c in leaves)
    return out


def identity_catalog() -> pd.DataFrame:
    """Every identity and cross-year check in FORMATS: id, number, table, description, formats."""
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
    run-level checks (the cross-report pass appends them, transforms/crossyear.py)."""
    cat = identity_catalog()
    return (list(cat.loc[cat["kind"] == "identity", "check"]) + list(hierarchy_catalog())
            + [b.id for b in CHECKS.level_bounds] + [f"{t}.{r}" for t in TABLES for r in STRUCTURAL_RULES]
            + [CHECKS.all_zero_id] + narrative.check_names() + cross_year_check_names())


def cross_year_check_names() -> list[str]:
    """The checks of the run-level cross-report pass: cross_year in the format files, then the
    consolidated reports against their constituents (transforms/checks.yaml)."""
    cat = identity_catalog()
    return list(cat.loc[cat["kind"] == "cross_year", "check"]) + [c.id for c in CHECKS.consolidated]


def _instances(fmt, ident) -> list[tuple[str, list[tuple[str, str]], list[tuple[str, str]]]]:
    """(key, lhs addresses, rhs addresses) for each instance of an identity in a format."""
    t = fmt.tables[ident.table]
    if ident.for_each == "column":
        return [(c, [(p, c) for p in ident.lhs], [(p, c) for p in ident.rhs]) for c in t.column_paths]
    return [(r, [(r, p) for p in ident.lhs], [(r, p) for p in ident.rhs]) for r in t.row_paths]


# --------------------------------------------------------------------------------------------------
# Cell-level helper columns, shared by the pandas checks and the GX views (expectations/gate.py)

def _flag_has(flags: pd.Series, names, n_flags: np.ndarray | None = None) -> np.ndarray:
    names = set(names)
    out = np.zeros(len(flags), dtype=bool)
    idx = np.flatnonzero(n_flags) if n_flags is not None else np.arange(len(flags))
    vals = flags.to_numpy(dtype=object)
    for i in idx:
        f = vals[i]
        if f is not None and not isinstance(f, float) and names.intersection(f):
            out[i] = True
    return out


def parser_flagged(flags: pd.Series) -> np.ndarray:
    """True where a cell carries a flag of schema.PARSER_FLAGS (lists, tuples or arrays of flags; only
    the flagged cells, few, are looked at one by one)."""
    values = flags.to_numpy(dtype=object)
    if set(map(type, values)) <= {list, tuple, np.ndarray}:
        nf = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    else:
        nf = _n_flags(flags)
    return _flag_has(flags, schema.PARSER_FLAGS, nf)


def is_plain_lists(values: np.ndarray) -> bool:
    """Every cell an exact list or tuple (the usual list column): rows can then be mapped in C
    without a per-row isinstance."""
    return set(map(type, values)) <= {list, tuple}


def _n_flags(flags: pd.Series) -> np.ndarray:
    values = flags.to_numpy(dtype=object)
    if is_plain_lists(values):                       # lengths mapped in C
        return np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    return np.fromiter((0 if f is None or isinstance(f, float) else len(f) for f in values),
                       dtype=np.int64, count=len(values))


def raw_has_value(raw: pd.Series) -> np.ndarray:
    """True where the printed text is something other than blank or a no-value token, exactly as the
    value parser reads it (transforms.values.is_no_value: one list for both)."""
    codes, texts = pd.factorize(raw)  # few distinct printed texts: the test runs once per text
    has = np.fromiter((not is_no_value(str(t)) for t in texts), dtype=bool, count=len(texts))
    return np.append(has, False)[codes]  # code -1 (no text) → False


def cell_view(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Helper columns for the cell rules (same index as df): _kind, _raw_has_value, _flagged,
    _warn_flagged, _parser_flagged (a flag of schema.PARSER_FLAGS), _fail_flagged (implausible: flagged or beyond the bounds), _extra_row, _fraction,
    _flags_unknown."""
    kinds = COLUMN_KINDS[table]
    flags = df["flags"] if "flags" in df else pd.Series([[]] * len(df), index=df.index, dtype=object)
    value = pd.to_numeric(df["value"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    out = pd.DataFrame(index=df.index)
    cc, cu = pd.factorize(df["column_path"].astype("str"))
    # typed from the few column paths: one Arrow take, not a str made per cell and converted back
    kind_of = pa.array([kinds.get(c, "unknown") for c in cu] + ["unknown"], pa.large_string())
    out["_kind"] = pd.Series(ArrowStringArray(kind_of.take(pa.array(np.where(cc < 0, len(cu), cc))), dtype=STR_DTYPE),
                             index=df.index, copy=False)
    out["_raw_has_value"] = raw_has_value(df["raw_value"]) if "raw_value" in df else False
    nf = _n_flags(flags)
    out["_flagged"] = nf > 0
    out["_warn_flagged"] = _flag_has(flags, WARN_FLAGS, nf)
    out["_parser_flagged"] = _flag_has(flags, schema.PARSER_FLAGS, nf)
    out["_fail_flagged"] = _flag_has(flags, FAIL_FLAGS, nf) | beyond_bounds(df, table, value)
    out["_extra_row"] = _flag_has(flags, ("extra_row",), nf)
    out["_fraction"] = value - np.floor(value)
    allowed = set(schema.CELL_FLAGS)
    unk = np.zeros(len(df), dtype=np.int64)
    fv = flags.to_numpy(dtype=object)
    for i in np.flatnonzero(nf):
        unk[i] = sum(1 for x in fv[i] if x not in allowed)
    out["_flags_unknown"] = unk
    return out


# --------------------------------------------------------------------------------------------------
# Prepared tables: integer codes for reports and addresses, the chosen format, the value matrix

IN_FORMAT = {t: {n: np.array([a in set(ADDRESSES[t][n]) for a in ADDRESS_INDEX[t]] + [False])
                 for n in FORMATS} for t in TABLES}  # last slot: unknown address (code -1)
FORMAT_NAMES = sorted(FORMATS)


def _cells(frames: dict[str, pd.DataFrame], table: str) -> pd.DataFrame:
    df = frames.get(table)
    if df is None or len(df) == 0:
        return empty(table)
    return df


def address_codes(df: pd.DataFrame, table: str) -> np.ndarray:
    """Position of each row's (row_path, column_path) in ADDRESS_INDEX[table]; -1 when unknown."""
    if len(df) == 0:
        return np.zeros(0, dtype=np.int64)
    rc, ru = _factorized(df["row_path"])
    cc, cu = _factorized(df["column_path"])
    pos = {a: i for i, a in enumerate(ADDRESS_INDEX[table])}
    lut = np.array([[pos.get((r, c), -1) for c in cu] for r in ru], dtype=np.int64).reshape(len(ru), len(cu))
    return lut[rc, cc]


def _factorized(s: pd.Series) -> tuple[np.ndarray, list]:
    """(codes, values) of a string column; a categorical's own codes (the cross-year pass reads paths
    as categoricals), a missing value as its own value."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype(np.int64)
        values = list(s.cat.categories.astype(object))
        return np.where(codes < 0, len(values), codes), values + [None]
    return pd.factorize(s.astype("str"))


class Prepared:
    """One cell table, encoded once: report codes, address codes, chosen format, value matrix."""

    def __init__(self, df: pd.DataFrame, table: str, helpers: pd.DataFrame | None = None):
        self.table, self.df = table, df.reset_index(drop=True)
        df = self.df
        self.rcodes, rep = pd.factorize(df["report_id"].astype("str"))
        self.reports = pd.Index(rep, dtype=object)
        self.n = len(self.reports)
        self.acodes = address_codes(df, table)
        self.helpers = helpers if helpers is not None else (cell_view(df, table) if len(df) else None)
        # the few templates decoded once and repeated by their codes (not a Python string made per cell)
        tc, tu = pd.factorize(df["template"].astype("str")) if len(df) else (np.zeros(0, np.int64), [])
        tmpl = np.append(np.asarray(tu, dtype=object), np.nan)[tc]     # code -1 (no template) → NaN
        first = np.full(self.n, -1)
        first[self.rcodes[::-1]] = np.arange(len(df))[::-1]
        self.first_row = first
        self.report_template = tmpl[first] if len(df) else np.array([], dtype=object)
        self.row_template = tmpl
        # format choice: most addresses of the format, then the detected template, then the newest format
        score = np.zeros((self.n, len(FORMAT_NAMES)))
        for k, name in enumerate(FORMAT_NAMES):
            hit = IN_FORMAT[table][name][self.acodes]
            score[:, k] = np.bincount(self.rcodes, weights=hit, minlength=self.n)
            score[:, k] += (self.report_template == name) * 0.5 + k * 0.01
        self.format = np.asarray(FORMAT_NAMES, dtype=object)[score.argmax(axis=1)] if self.n else \
            np.array([], dtype=object)
        self.cell_format = self.format[self.rcodes] if len(df) else np.array([], dtype=object)
        self.value = pd.to_numeric(df["value"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan) \
            if len(df) else np.zeros(0)
        self._W = None
        self._F = None
        self.meta_memo = None     # (reports frame, its _meta), kept on the batch's first table by _meta

    @property
    def W(self) -> np.ndarray:
        if self._W is None:
            w = np.full((self.n, len(ADDRESS_INDEX[self.table])), np.nan)
            ok = self.acodes >= 0
            w[self.rcodes[ok], self.acodes[ok]] = self.value[ok]
            self._W = w
        return self._W

    @property
    def F(self) -> np.ndarray:
        """n_reports × n_addresses: the cell carries a parser flag (schema.PARSER_FLAGS); False where absent."""
        if self._F is None:
            f = np.zeros((self.n, len(ADDRESS_INDEX[self.table])), dtype=bool)
            ok = self.acodes >= 0
            if self.helpers is not None and "_parser_flagged" in self.helpers and ok.any():
                pf = self.helpers["_parser_flagged"].to_numpy(dtype=bool)
                f[self.rcodes[ok], self.acodes[ok]] = pf[ok]
            self._F = f
        return self._F

    def count(self, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self.rcodes, weights=mask, minlength=self.n).astype(np.int64)


def prepare(frames: dict[str, pd.DataFrame], helpers: dict[str, pd.DataFrame] | None = None) -> dict[str, Prepared]:
    return {t: Prepared(_cells(frames, t), t, (helpers or {}).get(t)) for t in TABLES}


def choose_formats(cells: pd.DataFrame, table: str) -> pd.DataFrame:  # noqa: D401
    """report_id → format whose addresses the report's cells in `table` carry (most matches; ties go to
    the detected template, then to the newest format)."""
    p = Prepared(cells, table, helpers=pd.DataFrame(index=cells.index))
    return pd.DataFrame({"report_id": pd.Series(p.reports, dtype="str"), "format": pd.Series(p.format, dtype="str")})


def _meta(frames: dict[str, pd.DataFrame], prepared: dict[str, Prepared] | None = None) -> pd.DataFrame:
    """report_id → source_file, organization, report_year, template, organization_id (reports first, then cells).

    With every table prepared, made once per reports frame: reconcile and quality_checks of a batch
    both ask (read-only) for it (~0.015 ms a report each time)."""
    rep = frames.get("reports")
    holder = prepared[TABLES[0]] if prepared is not None and all(t in prepared for t in TABLES) else None
    if holder is not None and getattr(holder, "meta_memo", None) is not None and holder.meta_memo[0] is rep:
        return holder.meta_memo[1]
    m = _meta_frame(frames, prepared)
    if holder is not None:
        holder.meta_memo = (rep, m)
    return m


def _meta_frame(frames: dict[str, pd.DataFrame], prepared: dict[str, Prepared] | None) -> pd.DataFrame:
    parts = []
    rep = frames.get("reports")
    if rep is not None and len(rep):
        parts.append(rep.reindex(columns=["report_id", *_META]))
    for t in TABLES:
        if prepared is not None and t in prepared:
            p = prepared[t]
            if p.n:
                parts.append(p.df.iloc[p.first_row].reindex(columns=["report_id", *_META]))
            continue
        df = frames.get(t)
        if df is not None and len(df):
            parts.append(df.drop_duplicates("report_id").reindex(columns=["report_id", *_META]))
    if not parts:
        return pd.DataFrame({"report_id": pd.Series(dtype="str"), "source_file": pd.Series(dtype="str"),
                             "organization": pd.Series(dtype="str"),
                             "organization_id": pd.Series(dtype="str"),
                             "report_year": pd.Series(dtype="Int64"),
                             "template": pd.Series(dtype="str")}).set_index("report_id")
    m = pd.concat([p.astype({"report_year": "Int64"}) for p in parts], ignore_index=True)
    return m.drop_duplicates("report_id").set_index("report_id")


# --------------------------------------------------------------------------------------------------
# The reconciliation frame

# The reconciliation frame is registered like the published datasets (schema.REGISTRY), not published.
RECON_COLUMNS = schema.pandas_dtypes("reconciliation")
# Free text (one distinct value per failing row; see schema.Field.free_text): not in the GX view.
RECON_FREE_TEXT = tuple(f.name for f in schema.fields("reconciliation") if f.free_text)


def _empty_recon() -> pd.DataFrame:
    return empty("reconciliation")


def _fmt_num(x: float) -> str:
    if x != x:
        return "空"
    return str(int(x)) if float(x).is_integer() and abs(x) <= 2 ** 53 else f"{x:g}"  # no invented digits


class _Part:
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


def _block(report_ids, fmt_name, ident_id, number, table, for_each, desc, insts, W_rows_lhs, W_rows_rhs,
           related=None, rhs_signs=None, F_rows_lhs=None, F_rows_rhs=None) -> _Part | None:
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
    return _Part(n, coded, plain, values)


def _concat_parts(parts: list[_Part]) -> dict:
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
    """`values` of a _block: "label=value; …" over the instance's cells for `rows` (row = report × n_k +
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
    shown = pa.array([_fmt_num(x) for x in distinct], pa.large_string())
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


def _addr_label(a: tuple[str, str]) -> str:
    return f"{a[0]} | {a[1]}" if a[0] else a[1]


@functools.cache
def _identity_instances(fname: str, number: int) -> list[tuple]:
    """_block's `insts` for FORMATS[fname].identities[number] (formats are immutable: built once)."""
    fmt = FORMATS[fname]
    ident = fmt.identities[number]
    idx = ADDRESS_INDEX[ident.table]
    return [(key, idx.get_indexer(la), idx.get_indexer(ra), "; ".join(_addr_label(a) for a in la + ra),
             [_addr_label(a) for a in la + ra]) for key, la, ra in _instances(fmt, ident)]


def reconcile(frames: dict[str, pd.DataFrame], prepared: dict[str, Prepared] | None = None) -> pd.DataFrame:
    """The reconciliation frame of the per-report identities: one row per report × identity × instance.

    `prepared`: the result of prepare(frames), to share the encoding with quality_checks. The checks
    across years are not here: they need the whole dataset (transforms/crossyear.py, after the batches).
    """
    prepared = prepared or prepare(frames)
    parts = []
    for table, fname, fmt, p, sel in _format_groups(prepared):
        rids = p.reports.to_numpy()[sel]
        Wf, Ff = p.W[sel], p.F[sel]
        for k, ident in enumerate(fmt.identities):
            if ident.table != table:
                continue
            part = _block(rids, fname, ident.id, ident.number, table, ident.for_each, ident.description,
                          _identity_instances(fname, k), Wf, Wf, F_rows_lhs=Ff, F_rows_rhs=Ff)
            if part is not None:
                parts.append(part)
    return recon_frame(parts, _meta(frames, prepared))


def _format_groups(prepared: dict[str, Prepared]):
    """(table, format name, format, prepared table, row positions of its reports in that format), for
    every table and format that has reports: the rules of a format apply to its reports' rows only."""
    for table in TABLES:
        p = prepared[table]
        if p.n == 0:
            continue
        for fname, fmt in sorted(FORMATS.items()):
            sel = np.flatnonzero(p.format == fname)
            if len(sel):
                yield table, fname, fmt, p, sel


def recon_frame(parts: list[_Part], meta: pd.DataFrame) -> pd.DataFrame:
    """The reconciliation frame from its parts; ``meta``: report_id → source_file, organization,
    report_year, template of the reports the rows belong to."""
    if not parts:
        return _empty_recon()
    out = pd.DataFrame(_concat_parts(parts))
    codes = out["report_id"].cat.codes.to_numpy()
    cats = out["report_id"].cat.categories
    m = meta.reindex(pd.Index(cats, dtype=object))
    for c in _META:
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
            failure[j] = f"{src} [{str(rid)[:12]}] {key or '(row)'}: lhs {_fmt_num(lhs)} ≠ rhs {_fmt_num(rhs)}"
    out["failure"] = failure
    return conform(out, "reconciliation")


# --------------------------------------------------------------------------------------------------
# quality_checks: one row per report × check

QC_FIELDS = schema.DATASETS["quality_checks"]
QUARANTINE_FIELDS = schema.DATASETS["quarantine"]


def _object_values(s: pd.Series, mask: np.ndarray) -> np.ndarray:
    """s[mask] as an object array, as s[mask].to_numpy(dtype=object) gives it; a categorical is decoded
    from its (few) categories instead of converting every row."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        categories = np.append(s.cat.categories.to_numpy(dtype=object), np.nan)  # code -1 → NaN
        return categories[s.cat.codes.to_numpy()[mask]]
    return s[mask].to_numpy(dtype=object)


def _subset(mask: np.ndarray, within: np.ndarray) -> np.ndarray:
    """The rows of ``mask`` whose position among its True rows is True in ``within``."""
    out = np.zeros(len(mask), dtype=bool)
    out[np.flatnonzero(mask)[within]] = True
    return out


def _identity_checks(recon: pd.DataFrame) -> pd.DataFrame:
    if len(recon) == 0:
        return pd.DataFrame()
    st = recon["status"]
    flagged = recon["flagged"].to_numpy(dtype=bool) if "flagged" in recon else np.zeros(len(recon), dtype=bool)
    broken = (st == "broken").to_numpy(dtype=bool)
    blank = (st == "not_evaluable").to_numpy(dtype=bool)
    # one grouping for the counts and the first values (a groupby per count cost ~0.02 ms a report)
    firsts = ["identity_number", "table", "format", "related_report_id"]
    columns = recon[firsts].assign(n_evaluated=~blank, n_failed=broken, n_not_evaluable=blank,
                                   _fb=broken & flagged, _fn=blank & flagged)
    g = columns.groupby([recon["report_id"], recon["check"]], sort=False, observed=True)
    agg = g[["n_evaluated", "n_failed", "n_not_evaluable", "_fb", "_fn"]].sum()
    agg = agg.join(g[firsts].first()).reset_index()
    for c in ("report_id", "check", "table", "format", "related_report_id"):
        agg[c] = agg[c].astype(object)
    # text columns stay Python objects until checks_frame types them all at once: a column of str
    # assigned here was inferred as Arrow strings, made objects again by the concat with the other
    # checks' rows, and converted a third time there (the observed texts run to kilobytes)
    agg["status"] = pd.Series(np.where(agg["n_failed"] > 0, "fail", np.where(agg["n_not_evaluable"] > 0, "warn", "pass"))
                              .astype(object), index=agg.index, dtype=object)
    # who the failing instances point at: a fail by its broken instances, a warn by its blank ones
    by_parser = np.where(agg["n_failed"] > 0, agg["_fb"] > 0, agg["_fn"] > 0)
    agg["attribution"] = pd.Series(np.where(agg["status"] == "pass", None, np.where(by_parser, "parser", "publisher")),
                                   index=agg.index, dtype=object)
    agg = agg.drop(columns=["_fb", "_fn"])
    obs = np.array([f"all {n} hold" for n in agg["n_evaluated"]], dtype=object)
    cells = [[] for _ in range(len(agg))]
    notpass = (st != "holds").to_numpy(dtype=bool)
    if notpass.any():
        # plain Python over column arrays: a groupby + itertuples per report cost ~7 ms a report
        pos = {k: j for j, k in enumerate(zip(agg["report_id"], agg["check"]))}
        lines_by: dict[int, list[int]] = {}       # (report, check) → its not-holding rows, in order
        cells_by: dict[int, list[str]] = {}
        cols = [_object_values(recon[c], notpass) for c in
                ("report_id", "check", "status", "key", "lhs", "rhs", "cells")]
        labels = [key if isinstance(key, str) and key else "(row)" for key in cols[3]]
        broken = cols[2] == "broken"
        for k, (rid, chk, is_broken, cl) in enumerate(zip(cols[0], cols[1], broken, cols[6])):
            j = pos[(rid, chk)]
            lines_by.setdefault(j, []).append(k)
            if is_broken:
                cells_by.setdefault(j, []).extend(cl.split("; "))
        # a line sorts after the broken ones when it says "not evaluable": every not-evaluable line, and a
        # broken one whose label or values hold the words (nothing else of it can). Only the values of
        # the broken rows and of the 5 lines shown per check are decoded (kilobytes a row, most rows
        # not evaluable and ~40% never shown: decoding all cost ~0.03 ms a report)
        values = np.full(len(labels), None, dtype=object)
        values[broken] = _object_values(recon["values"], _subset(notpass, broken))
        says = ~broken
        for k in np.flatnonzero(broken):
            says[k] = "not evaluable" in labels[k] or "not evaluable" in f"{values[k]}"
        shown = {j: sorted(ks, key=says.__getitem__)[:5] for j, ks in lines_by.items()}
        needed = np.zeros(len(labels), dtype=bool)
        for ks in shown.values():
            needed[ks] = True
        needed &= ~broken
        values[needed] = _object_values(recon["values"], _subset(notpass, needed))
        lhs, rhs = cols[4], cols[5]
        for j, ks in shown.items():
            lines = [f"{labels[k]}: lhs {_fmt_num(lhs[k])} ≠ rhs {_fmt_num(rhs[k])} [{values[k]}]" if broken[k]
                     else f"{labels[k]}: not evaluable [{values[k]}]" for k in ks]
            n_lines = len(lines_by[j])
            more = f" (+{n_lines - 5} more)" if n_lines > 5 else ""
            obs[j] = " | ".join(lines) + more
            cells[j] = list(dict.fromkeys(cells_by.get(j, [])))
    agg["observed"] = pd.Series(obs, index=agg.index, dtype=object)
    agg["cells"] = cells
    return agg


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """Position of each code's first row, for codes numbered in order of first appearance (pd.factorize)."""
    first = np.empty(codes.max() + 1 if len(codes) else 0, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    return first


def _details(p: Prepared, mask: np.ndarray, what: str, limit: int = 5) -> dict:
    """report_id → (observed text, cells) for the rows where mask is True (few rows expected)."""
    out = {}
    rows = np.flatnonzero(mask)
    if len(rows) == 0:
        return out
    df = p.df
    # the texts of these rows only (a whole column as Python strings cost ~5 ms a batch per rule)
    rp, cp = (df[c].iloc[rows].to_numpy(dtype=object) for c in ("row_path", "column_path"))
    raw = df["raw_value"].iloc[rows].to_numpy(dtype=object) if "raw_value" in df else np.full(len(rows), None)
    report_of = p.reports.to_numpy(dtype=object)[p.rcodes[rows]]
    by: dict[str, list[int]] = {}
    for k, rid in enumerate(report_of):
        by.setdefault(rid, []).append(k)
    for rid, kk in by.items():
        cells = [_addr_label((rp[k] if isinstance(rp[k], str) else "", str(cp[k]))) for k in kk]
        shown = [f"{cl} = {_fmt_num(p.value[rows[k]])} (printed {raw[k]!r})" for cl, k in zip(cells, kk)][:limit]
        more = f" (+{len(cells) - limit} more)" if len(cells) > limit else ""
        out[rid] = (f"{len(cells)} {what}: " + "; ".join(shown) + more, cells)
    return out


def _structural_checks(prepared: dict[str, Prepared], reports: pd.DataFrame) -> list[dict]:
    """_qc_rows parts of the structural rules (columns as arrays: a DataFrame per rule and table, whose
    text columns pandas infers as str row by row, cost ~20 ms a batch)."""
    parts = []
    rep = reports.set_index(reports["report_id"].astype("str")) if len(reports) else None
    parsed_ids = pd.Index(rep.index[rep["status"] == "parsed"]) if rep is not None else pd.Index([])
    for table in TABLES:
        p = prepared[table]
        # reports concerned: those with cells in the table, plus parsed reports without them (missing)
        extra_ids = parsed_ids.difference(p.reports, sort=False)
        rids = p.reports.append(pd.Index(extra_ids, dtype=object))
        n_all = len(rids)
        if n_all == 0:
            continue
        pad = lambda a, fill=0: np.concatenate([a, np.full(n_all - p.n, fill, dtype=np.asarray(a).dtype)])  # noqa: E731
        fmt = pad(p.format.astype(object), None)
        h = p.helpers
        n_cells = pad(np.bincount(p.rcodes, minlength=p.n))
        n_rows = len(p.df)

        def by_cells(bad: np.ndarray) -> np.ndarray:
            """Per report: parser when a failing cell carries a parser flag, else publisher."""
            pf = h["_parser_flagged"].to_numpy(dtype=bool) if "_parser_flagged" in h else np.zeros(len(bad), bool)
            return np.where(pad(p.count(bad & pf)) > 0, "parser", "publisher").astype(object)

        def rule(name, status, n_eval, n_failed, details, ok_text, attribution="parser"):
            obs = np.array([ok_text if callable(ok_text) is False else None] * n_all, dtype=object)
            if callable(ok_text):
                obs = np.array([ok_text(j) for j in range(n_all)], dtype=object)
            cells = [[] for _ in range(n_all)]
            pos = {r: j for j, r in enumerate(p.reports)}
            for rid, (text, cl) in details.items():
                obs[pos[rid]] = text
                cells[pos[rid]] = cl
            parts.append(_qc_rows(rids, f"{table}.{name}", table, fmt, status, n_eval, n_failed, 0, obs, cells,
                                  attribution))

        # known addresses: a pure template only its own format's, a hybrid (or undetected) any format's;
        # flagged extra rows are kept as extra rows
        known = (p.acodes >= 0).copy()
        for name in FORMAT_NAMES:
            m = p.row_template == name
            if m.any():
                known[m] = IN_FORMAT[table][name][p.acodes[m]]
        unknown = ~(known | (h["_extra_row"].to_numpy() if n_rows else np.zeros(0, bool)))
        nu = pad(p.count(unknown))
        rule("known_addresses", np.where(nu > 0, "fail", "pass"), n_cells, nu,
             _details(p, unknown, "cells at addresses outside the format"), "all addresses known")
        # unique cells (by address; unknown addresses by their text)
        key = np.where(p.acodes >= 0, p.acodes, -1 - np.arange(n_rows)) if n_rows else np.zeros(0, np.int64)
        # (report, key) pairs as one int64 (a two-column duplicated() cost ~3x more): codes in order of
        # first appearance tell both the repeated pairs and each pair's first row
        pair = pd.factorize(p.rcodes.astype(np.int64) * (n_rows + len(ADDRESS_INDEX[table]) + 1) + key + n_rows)[0]
        dup = np.bincount(pair)[pair] > 1 if n_rows else np.zeros(0, bool)
        if n_rows and (~(p.acodes >= 0)).any():
            dup = dup | p.df.duplicated(["report_id", "row_path", "column_path"], keep=False).to_numpy()
        nd = pad(p.count(dup))
        rule("unique_cells", np.where(nd > 0, "fail", "pass"), n_cells, nd,
             _details(p, dup, "duplicated cells"), "no duplicate cell")
        # completeness: distinct addresses of the chosen format present vs the format's cell count
        in_fmt = np.zeros(n_rows, dtype=bool)
        for name in FORMAT_NAMES:
            m = p.cell_format == name
            if m.any():
                in_fmt[m] = IN_FORMAT[table][name][p.acodes[m]]
        if n_rows:
            first_row = np.zeros(n_rows, dtype=bool)
            first_row[_first_rows(pair)] = True
            first = in_fmt & first_row
        else:
            first = in_fmt
        present = pad(p.count(first))
        size = {n: len(ADDRESSES[table][n]) for n in FORMAT_NAMES}
        expected = np.array([size.get(f, max(size.values())) for f in fmt], dtype=np.int64)
        status_col = f"{table}_status"
        if rep is not None and status_col in rep:
            tstatus = rep[status_col].reindex(rids).astype("str").fillna("missing").to_numpy(dtype=object)
            tstatus = np.where(pd.isna(rep[status_col].reindex(rids)).to_numpy(), "unknown", tstatus)
        else:
            tstatus = np.where(present >= expected, "complete", "incomplete").astype(object)
        missing_n = np.clip(expected - present, 0, None)
        comp_status = np.where(tstatus == "complete", np.where(missing_n > 0, "fail", "pass"), "warn")
        comp_obs = np.array([f"table {s}: {pr} of {e} cells of format {f or '?'} present"
                             for s, pr, e, f in zip(tstatus, present, expected, fmt)], dtype=object)
        comp_cells = [[] for _ in range(n_all)]
        for j in np.flatnonzero((missing_n > 0) & (present > 0)):
            have = set(p.acodes[(p.rcodes == j) & in_fmt]) if j < p.n else set()
            miss = [_addr_label(a) for k, a in enumerate(ADDRESS_INDEX[table])
                    if IN_FORMAT[table][fmt[j]][k] and k not in have]
            comp_cells[j] = miss
            comp_obs[j] += f"; missing {len(miss)}: " + "; ".join(miss[:5]) + (" …" if len(miss) > 5 else "")
        parts.append(_qc_rows(rids, f"{table}.completeness", table, fmt, comp_status, expected, missing_n, 0,
                              comp_obs, comp_cells,
                              # a table said complete that lacks cells is the parser's; an incomplete or
                              # missing one the copy's
                              np.where(comp_status == "fail", "parser", np.where(comp_status == "warn", "publisher",
                                                                                 None))))
        # the cell rules below are emitted even when no report of the batch has cells in the table (all
        # pass, nothing evaluated), as they are for such a report among others: rows never depend on
        # which reports share a batch
        if n_rows == 0:
            h = pd.DataFrame({"_kind": np.zeros(0, dtype=object), "_fraction": np.zeros(0),
                              "_raw_has_value": np.zeros(0, bool), "_flagged": np.zeros(0, bool),
                              "_parser_flagged": np.zeros(0, bool),
                              "_warn_flagged": np.zeros(0, bool), "_fail_flagged": np.zeros(0, bool)})
        # counts: non-negative integers where the format says count
        v = p.value
        is_count = (h["_kind"] == "count").to_numpy(dtype=bool) & ~np.isnan(v)   # compared in Arrow
        bad = is_count & ((v < 0) | (h["_fraction"].to_numpy() != 0))
        nb, ne = pad(p.count(bad)), pad(p.count(is_count))
        rule("nonnegative_counts", np.where(nb > 0, "fail", "pass"), ne, nb,
             _details(p, bad, "counts negative or not integer"), lambda j: f"{ne[j]} counts, all non-negative integers",
             by_cells(bad))
        # raw text present ⇒ value present, unless flagged
        printed = h["_raw_has_value"].to_numpy(dtype=bool)
        unparsed = printed & np.isnan(v) & ~h["_flagged"].to_numpy(dtype=bool)
        nu2, npr = pad(p.count(unparsed)), pad(p.count(printed))
        rule("raw_value_parsed", np.where(nu2 > 0, "fail", "pass"), npr, nu2,
             _details(p, unparsed, "printed values not parsed and not flagged"), "every printed value parsed")
        # implausible values (beyond the format's value_bounds, or integers a float64 cannot hold) → fail
        bad_value = h["_fail_flagged"].to_numpy(dtype=bool)
        nbv = pad(p.count(bad_value))
        rule("plausible_values", np.where(nbv > 0, "fail", "pass"), n_cells, nbv,
             _details(p, bad_value, "implausible values (flagged, or beyond the format's value_bounds)"),
             "every value within the format's bounds", by_cells(bad_value))
        # flagged cells (inferred / unresolved) → warn
        wf = h["_warn_flagged"].to_numpy(dtype=bool)
        nw = pad(p.count(wf))
        rule("flagged_cells", np.where(nw > 0, "warn", "pass"), n_cells, nw,
             _details(p, wf, "cells flagged inferred/unresolved"), "no inferred or unresolved cell")
    return parts


def _texts(template, *columns) -> np.ndarray:
    """template(*values) for each row of `columns`, formatted once per distinct row (few distinct)."""
    coded = [pd.factorize(np.asarray(c), use_na_sentinel=False) for c in columns]
    rows, inverse = np.unique(np.stack([c for c, _ in coded], axis=1), axis=0, return_inverse=True)
    shown = [template(*(u[k] for (_, u), k in zip(coded, row))) for row in rows]
    return np.asarray(shown, dtype=object)[inverse.ravel()]


def _qc_rows(rids, check: str, table: str, fmt, status, n_eval, n_failed, n_blank, observed, cells,
             attribution) -> pd.DataFrame:
    """Columns of quality_checks rows as arrays (object for text): joined into one frame by _rows_frame,
    since a DataFrame per check infers string dtypes row by row."""
    status = np.asarray(status, dtype=object)
    n = len(status)
    full = lambda x, dtype=object: np.broadcast_to(np.asarray(x, dtype=dtype), (n,))  # noqa: E731
    cl = np.empty(n, dtype=object)
    cl[:] = cells
    return {"report_id": np.asarray(rids, dtype=object), "check": full(check), "identity_number": full(None),
            "table": full(table), "format": full(fmt), "status": status,
            "n_evaluated": full(n_eval, np.int64), "n_failed": full(n_failed, np.int64),
            "n_not_evaluable": full(n_blank, np.int64), "observed": np.asarray(observed, dtype=object), "cells": cl,
            "related_report_id": full(None),
            "attribution": np.where(status == "pass", None, np.asarray(attribution, dtype=object))}


def _rows_frame(parts: list[dict]) -> list[pd.DataFrame]:
    """One frame of the _qc_rows parts (none when there is no part)."""
    if not parts:
        return []
    return [pd.DataFrame({c: pd.Series(np.concatenate([p[c] for p in parts]),
                                       dtype=object if parts[0][c].dtype == object else None)
                          for c in parts[0]})]


@functools.cache
def _hierarchy_pairs(fname: str, k: int) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """(total positions, part positions in ADDRESS_INDEX, total labels, part labels) of a hierarchy."""
    h = FORMATS[fname].hierarchy[k]
    idx = ADDRESS_INDEX[h.table]
    tot, part = [a for a, _ in h.pairs], [b for _, b in h.pairs]
    return (idx.get_indexer(tot), idx.get_indexer(part), [_addr_label(a) for a in tot], [_addr_label(b) for b in part])


def _hierarchy_checks(prepared: dict[str, Prepared]) -> list[pd.DataFrame]:
    """Parts never above their total (the hierarchy of the format files), per report: every (total,
    part) pair with both cells printed is evaluated; a part above its total fails. A blank cell leaves
    its pair out (n_not_evaluable) without a warn: the identities already warn about blanks."""
    parts = []
    for table, fname, fmt, p, sel in _format_groups(prepared):
        W, F = p.W[sel], p.F[sel]
        for k, h in enumerate(fmt.hierarchy):
            if h.table != table:
                continue
            ti, pi, tl, pl = _hierarchy_pairs(fname, k)
            wt, wp = W[:, ti], W[:, pi]
            both = ~(np.isnan(wt) | np.isnan(wp))
            over = both & (wp > wt + TOLERANCE)
            n_failed = over.sum(axis=1)
            by_parser = (over & (F[:, ti] | F[:, pi])).any(axis=1)
            observed = _texts(lambda n: f"all {n} parts within their totals", both.sum(axis=1))
            cells = [[] for _ in sel]
            for j in np.flatnonzero(n_failed):          # the failing reports only
                bad = np.flatnonzero(over[j])
                shown = [f"{pl[i]} = {_fmt_num(wp[j, i])} > {tl[i]} = {_fmt_num(wt[j, i])}" for i in bad[:5]]
                more = f" (+{len(bad) - 5} more)" if len(bad) > 5 else ""
                observed[j] = f"{len(bad)} parts above their total: " + "; ".join(shown) + more
                cells[j] = list(dict.fromkeys(x for i in bad for x in (pl[i], tl[i])))
            parts.append(_qc_rows(p.reports.to_numpy()[sel], h.id, table, np.full(len(sel), fname, dtype=object),
                                  np.where(n_failed > 0, "fail", "pass"), both.sum(axis=1), n_failed,
                                  (~both).sum(axis=1), observed, cells,
                                  np.where(by_parser, "parser", "publisher")))
    return parts


def _level_checks(prepared: dict[str, Prepared], reports: pd.DataFrame) -> list[pd.DataFrame]:
    """Counts above the bound of the body's level (transforms/checks.yaml level_bounds): a warn. A
    report whose level is unknown, or a level without a bound, is not evaluated (pass, 0 evaluated)."""
    parts = []
    if len(reports):
        rep = reports.drop_duplicates("report_id")
        level_of = pd.Series(body_level(rep).to_numpy(dtype=object), index=rep["report_id"].astype(object))
    else:
        level_of = pd.Series(dtype=object)
    for b in CHECKS.level_bounds:
        p = prepared[b.table]
        if p.n == 0:
            continue
        level = level_of.reindex(p.reports).to_numpy(dtype=object)
        bound = pd.Series(level, dtype=object).map(b.max_count).to_numpy(dtype="float64", na_value=np.nan)
        cnt = IS_COUNT[b.table]
        W = p.W[:, cnt]
        known = ~np.isnan(bound)
        printed = (~np.isnan(W)) & known[:, None]
        with np.errstate(invalid="ignore"):
            over = printed & (W > bound[:, None])
        n_failed = over.sum(axis=1)
        by_parser = (over & p.F[:, cnt]).any(axis=1)
        labels = [_addr_label(a) for a, c in zip(ADDRESS_INDEX[b.table], cnt) if c]
        observed = _texts(lambda n, lv, bd: f"{n} counts within the {lv}-level bound of {_fmt_num(bd)}" if bd == bd
                          else "level of the body unknown or without a bound: not checked",
                          printed.sum(axis=1), level.astype(str), bound)
        cells = [[] for _ in range(p.n)]
        for j in np.flatnonzero(n_failed):
            bad = np.flatnonzero(over[j])
            shown = [f"{labels[i]} = {_fmt_num(W[j, i])}" for i in bad[:5]]
            more = f" (+{len(bad) - 5} more)" if len(bad) > 5 else ""
            observed[j] = (f"{len(bad)} counts above {_fmt_num(bound[j])}, the bound for a {level[j]}-level body: "
                           + "; ".join(shown) + more)
            cells[j] = [labels[i] for i in bad]
        parts.append(_qc_rows(p.reports, b.id, b.table, p.format, np.where(n_failed > 0, "warn", "pass"),
                              printed.sum(axis=1), n_failed, 0, observed, cells,
                              np.where(by_parser, "parser", "publisher")))
    return parts


def _all_zero_check(prepared: dict[str, Prepared]) -> list[pd.DataFrame]:
    """A report whose every printed count and amount, in every statutory table, is 0 (and that prints
    at least checks.yaml's min_values of them): a warn to review, never a fail."""
    ids = pd.Index(list(dict.fromkeys(x for t in TABLES for x in prepared[t].reports)), dtype=object)
    if len(ids) == 0:
        return []
    printed = np.zeros(len(ids), dtype=np.int64)
    nonzero = np.zeros(len(ids), dtype=np.int64)
    flagged = np.zeros(len(ids), dtype=bool)
    for t in TABLES:
        p = prepared[t]
        if p.n == 0:
            continue
        pos = ids.get_indexer(p.reports)
        W = p.W
        printed[pos] += (~np.isnan(W)).sum(axis=1)
        nonzero[pos] += (~np.isnan(W) & (W != 0)).sum(axis=1)
        flagged[pos] |= p.F.any(axis=1)
    zero = (nonzero == 0) & (printed >= CHECKS.all_zero_min_values)
    fmt_app = pd.Series(prepared[CHECKS.all_zero_table].format, index=prepared[CHECKS.all_zero_table].reports,
                        dtype=object).reindex(ids).to_numpy(dtype=object)
    observed = _texts(lambda n, nz, z: f"all {n} printed values are 0" if z else f"{nz} of {n} printed values are not 0",
                      printed, nonzero, zero)
    return [_qc_rows(ids, CHECKS.all_zero_id, CHECKS.all_zero_table, fmt_app, np.where(zero, "warn", "pass"),
                     printed, np.where(zero, printed, 0), 0, observed, [[] for _ in ids],
                     np.where(flagged, "parser", "publisher"))]


def quality_checks(frames: dict[str, pd.DataFrame], recon: pd.DataFrame | None = None,
                   prepared: dict[str, Prepared] | None = None) -> pd.DataFrame:
    """The `quality_checks` rows of the per-report checks: one row per report × check, status
    pass | warn | fail (the cross-year rows come from the run-level pass)."""
    prepared = prepared or prepare(frames)
    if recon is None:
        recon = reconcile(frames, prepared)
    reports = frames.get("reports")
    if reports is None:
        reports = empty("reports")
    if len(reports):     # a boolean filter copies the ~40 columns (~30 µs a report) even when it keeps all
        readable = (reports["status"] != "unreadable").to_numpy(dtype=bool)
        reports = reports if readable.all() else reports[readable]
    prose = narrative.quality_checks(frames.get("statements"), reports["report_id"], reports["report_year"],
                                     prepared, ADDRESS_INDEX) if len(reports) else None
    new_rows = _rows_frame([*_hierarchy_checks(prepared), *_level_checks(prepared, reports), *_all_zero_check(prepared),
                            *_structural_checks(prepared, reports)])
    parts = [p for p in [_identity_checks(recon), *new_rows, prose]
             if p is not None and len(p)]
    if not parts:
        return empty("quality_checks")
    return checks_frame(pd.concat(parts, ignore_index=True), _meta(frames, prepared))


def checks_frame(qc: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """quality_checks rows with the reports' metadata, typed, in report_id then check order."""
    m = meta.reindex(qc["report_id"])
    for c in _META:      # typed arrays as they are: to_numpy made Python objects _typed converted back (~20 ms)
        qc[c] = m[c].array
    qc["source_file"] = qc["source_file"].fillna("")
    order = {c: i for i, c in enumerate(check_names())}
    # report_id then check order, stable (a check the catalogue does not know last): one lexsort of
    # the report_ids' sorted codes, ~2x cheaper than sort_values on the strings
    report_rank = pd.factorize(qc["report_id"], sort=True)[0]
    check_rank = qc["check"].map(order).to_numpy(dtype="float64", na_value=np.inf)
    qc = qc.take(np.lexsort((check_rank, report_rank)))
    return conform(qc, "quality_checks")


def verdicts(reports: pd.DataFrame, qc: pd.DataFrame) -> pd.DataFrame:
    """reports with `verdict` (pass | warn | fail) and `failed_checks` (fail first, then warn) filled."""
    out = reports.copy()
    if len(out) == 0:
        return out
    rank = {"pass": 0, "warn": 1, "fail": 2}
    # the three columns read here only: filtering and sorting all of qc's (their kilobytes of observed
    # text included) cost ~0.03 ms a report
    bad = qc.loc[(qc["status"] != "pass").to_numpy(dtype=bool), ["report_id", "status", "check"]]
    r = np.array([rank[x] for x in bad["status"]], dtype=np.int64)
    worst = bad.assign(_r=r).groupby("report_id")["_r"].max()
    ordered = bad.assign(_r=-r).sort_values(["report_id", "_r"], kind="stable")
    names: dict[str, list[str]] = {}       # a groupby(...).agg(list) cost ~0.1 ms a report
    for k, c in zip(ordered["report_id"].astype(object), ordered["check"].astype(object)):
        names.setdefault(k, []).append(c)
    rid = out["report_id"].astype("str")
    w = pd.Series(worst.reindex(rid.to_numpy()).fillna(0).to_numpy(dtype=np.int64), index=out.index)
    out["verdict"] = pd.Series(np.array(["pass", "warn", "fail"], dtype=object)[w.to_numpy()],
                               index=out.index).astype("str")
    out["failed_checks"] = pd.Series([list(names.get(r, ())) for r in rid], index=out.index, dtype=object)
    if "layout" in out.columns:
        _ocr_needs_identities(out, qc)
    unread = out["status"] == "unreadable"
    if unread.any():
        out.loc[unread, "verdict"] = "fail"
        out.loc[unread, "failed_checks"] = pd.Series([["unreadable"]] * int(unread.sum()),
                                                     index=out.index[unread], dtype=object)
    return out


OCR_IDENTITIES = "ocr_identities"   # failed_checks entry: a report read by OCR whose identities did not all hold


def _ocr_needs_identities(out: pd.DataFrame, qc: pd.DataFrame) -> None:
    """A report read by OCR passes only when every identity of its format was evaluated and holds:
    recognition errors the flags cannot see (a 6 read as 8) show only as broken sums, so an identity
    that could not be checked (blank cells, a missing table, a format not decided) leaves it at warn."""
    ocr = out["layout"].astype("str").str.endswith("_ocr").to_numpy(dtype=bool) & \
        (out["verdict"].astype("str") == "pass").to_numpy(dtype=bool)
    if not ocr.any():
        return
    passed = qc.loc[qc["status"].astype("str") == "pass", ["report_id", "check"]].astype(object)
    held = set(zip(passed["report_id"], passed["check"]))
    for i in np.flatnonzero(ocr):
        rid, template = str(out["report_id"].iat[i]), out["template"].iat[i] if "template" in out.columns else None
        needed = _IDENTITIES_OF.get(template if isinstance(template, str) else None, _IDENTITIES_OF[None])
        if not needed or not all((rid, c) in held for c in needed):
            out.iat[i, out.columns.get_loc("verdict")] = "warn"
            out.iat[i, out.columns.get_loc("failed_checks")] = [*out["failed_checks"].iat[i], OCR_IDENTITIES]


# identity ids each format must show holding (a hybrid or undecided format: every one of every format)
_IDENTITIES_OF: dict = {name: tuple(i.id for i in f.identities) for name, f in FORMATS.items()}
_IDENTITIES_OF[None] = tuple(dict.fromkeys(i.id for f in FORMATS.values() for i in f.identities))
_IDENTITIES_OF["hybrid"] = _IDENTITIES_OF[None]


def classify_reason(problems, file_size=None) -> str:
    """The code a reader attached to its problem (schema.quarantine_problem), else one from the text."""
    for p in problems or []:
        code = schema.reason_code_of(p)
        if code is not None:
            return code
    text = " ".join(problems or []).lower()
    if file_size == 0 or "empty" in text or "空文件" in text:
        return "empty"
    if "binary" in text or "二进制" in text:
        return "binary"
    if "decod" in text or "encoding" in text or "编码" in text:
        return "undecodable"
    if "not a report" in text or "not_a_report" in text or "no report" in text:
        return "not_a_report"
    if "statutory table" in text or "no table" in text or "no usable value" in text:
        return "no_statutory_table"
    return "unreadable"


def quarantine_frame(reports: pd.DataFrame, extra: list[dict] | None = None) -> pd.DataFrame:
    """The quarantine manifest: reports with status unreadable (+ extra rows from quarantine_record)."""
    rows = []
    if reports is not None and len(reports):
        bad = reports[reports["status"] == "unreadable"]
        for r in bad.to_dict("records"):
            probs = list(r.get("problems") if isinstance(r.get("problems"), (list, tuple, np.ndarray)) else [])
            size = r.get("file_size")
            size = None if size is None or size is pd.NA else int(size)
            rows.append({"report_id": r["report_id"], "sha256": r.get("sha256") or r["report_id"],
                         "source_file": r["source_file"], "file_size": size,
                         "reason_code": classify_reason(probs, size),
                         "reason": "; ".join(probs) or "no statutory table could be read",
                         "problems": probs, "encoding": r.get("encoding"),
                         "parser_version": r.get("parser_version")})
    rows += list(extra or [])
    if not rows:
        return empty("quarantine")
    df = pd.DataFrame(rows).drop_duplicates(["report_id", "source_file"])  # two empty files share a hash
    df["encoding"] = df["encoding"].where(df["encoding"].notna(), None)
    return conform(df, "quarantine")


__all__ = ["reconcile", "recon_frame", "checks_frame", "cross_year_check_names", "quality_checks", "verdicts", "quarantine_frame", "cell_view", "choose_formats",
           "identity_catalog", "check_names", "QC_FIELDS", "QUARANTINE_FIELDS", "RECON_COLUMNS",
           "STRUCTURAL_RULES", "classify_reason", "prepare", "Prepared"]

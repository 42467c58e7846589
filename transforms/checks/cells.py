"""The helper columns of a cell table (same index as the cells): kind, printed, flagged, beyond the
bounds, fraction. The pandas checks read them and the GX views carry them (expectations/views.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.arrays import ArrowStringArray

from transforms import schema
from transforms.checks.catalogue import COLUMN_KINDS, COLUMN_LEAVES, SMALLEST_BOUND
from transforms.parse.values import IMPLAUSIBLE, is_no_value
from transforms.typed import STR_DTYPE

# Flags that make a report "warn" (values placed by inference or by the text's order, or left unresolved).
WARN_FLAGS = ("inferred", "unresolved", "reordered")
# Flags that make a report "fail" (a value no report can hold: beyond the format's value_bounds).
FAIL_FLAGS = (IMPLAUSIBLE,)


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
        leaves = COLUMN_LEAVES[table].get(str(col), [])
        unit = unit if isinstance(unit, str) else None
        out[i] = bool(leaves) and abs(value[i]) > max(c.max_abs(unit) for c in leaves)
    return out


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
    value parser reads it (transforms.parse.values.is_no_value: one list for both)."""
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


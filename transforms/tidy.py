"""Parsed reports → the tidy long-format DataFrames, typed exactly as the schema registry says.

Frames are built once per batch (column lists, not per-report frames): building a DataFrame costs
more than parsing a report. String columns go straight to Arrow (pandas' own list → `str` conversion
re-checks every element in Python first), and the report-level columns of the cell tables are taken
from one small per-report array instead of being repeated as Python objects.
"""
from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.arrays import ArrowStringArray

from transforms import schema
from transforms.engine import ParsedReport
from transforms.names import escape_surrogates

_CELL_BASE = ("report_id", "source_file", "organization", "organization_id", "report_year", "template")
_REVIEWED = ("corrected_value", "correction_source")
_STR_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)  # the dtype "str" resolves to


def empty_frame(dataset: str) -> pd.DataFrame:
    return _typed({f.name: [] for f in schema.fields(dataset)}, dataset)


def str_array(values) -> pd.api.extensions.ExtensionArray:
    """A `str` array from a list of str / None, built by Arrow directly; anything else (numbers,
    pd.NA, ...) goes through pandas, which converts it as before."""
    try:
        arr = pa.array(values, type=pa.large_string(), from_pandas=True)
    except UnicodeEncodeError:       # a lone surrogate (an undecodable byte of a file name): escaped
        return str_array([_without_surrogates(v) for v in values])
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return pd.array(values, dtype="str")
    return ArrowStringArray(arr, dtype=_STR_DTYPE)


def _without_surrogates(value):
    """Lone surrogates escaped as transforms.names does (no UTF-8 writer takes them)."""
    return escape_surrogates(value) if isinstance(value, str) else value


def _typed_array(values, pandas_dtype: str):
    if pandas_dtype == "object":
        arr = np.empty(len(values), dtype=object)
        arr[:] = values
        return arr
    if pandas_dtype == "str":
        return str_array(values)
    if pandas_dtype == "float64":    # None → NaN; pd.array takes a slow path for lists holding None (~4x)
        if values.count(None) == len(values):     # e.g. confidence, unset but by OCR: numpy converts each None
            return np.full(len(values), np.nan)
        try:
            return np.array(values, dtype="float64")
        except (TypeError, ValueError):
            return pd.array(values, dtype="float64")
    if pandas_dtype == "Int64":
        return _int64_array(values)
    return pd.array(values, dtype=pandas_dtype)


_EXACT = 2.0 ** 53


def _int64_array(values) -> pd.api.extensions.ExtensionArray:
    """A nullable Int64 array of ints and Nones through one float64 conversion (~3x faster than
    pd.array on the cell tables' source_line); anything a float64 would not hold exactly (an integer
    over 2^53, a fraction) or that numpy refuses (pd.NA) goes through pd.array, which decides."""
    try:
        arr = np.array(values, dtype="float64")
    except (TypeError, ValueError):
        return pd.array(values, dtype="Int64")
    missing = np.isnan(arr)
    present = arr[~missing]
    if len(present) and ((np.abs(present) > _EXACT).any() or (present != np.floor(present)).any()):
        return pd.array(values, dtype="Int64")
    return pd.arrays.IntegerArray(np.where(missing, 0.0, arr).astype("int64"), missing)


def _typed(columns: dict[str, list], dataset: str) -> pd.DataFrame:
    data = {f.name: _typed_array(columns.get(f.name, []), f.pandas_dtype) for f in schema.fields(dataset)}
    return pd.DataFrame(data, copy=False)


def to_frames(parsed: Iterable[ParsedReport]) -> dict[str, pd.DataFrame]:
    """{"reports", "active_disclosure", "applications", "review_litigation", "statements"} → typed DataFrames.

    Column-wise: one list comprehension per column over a table's cells; the report-level columns
    are typed once per report and repeated per cell with a take (a per-cell loop of appends cost
    more than parsing)."""
    parsed = list(parsed)
    reports = [p.report for p in parsed]
    out = {"reports": _typed({f.name: [r.get(f.name) for r in reports] for f in schema.fields("reports")},
                             "reports")}
    cells_of = {t: [] for t in schema.STATUTORY_TABLES}
    add = {t: cells.append for t, cells in cells_of.items()}
    ends = {t: np.zeros(len(parsed), dtype=np.int64) for t in schema.STATUTORY_TABLES}
    for i, p in enumerate(parsed):
        for c in p.cells:
            add[c.table](c)
        for t, cells in cells_of.items():      # per report, not per cell (a numpy += a cell cost ~0.03 ms a report)
            ends[t][i] = len(cells)
    counts = {t: np.diff(e, prepend=0) for t, e in ends.items()}
    for t, cells in cells_of.items():
        dtypes = {f.name: f.pandas_dtype for f in schema.fields(t)}
        data = {}
        report_of_cell = np.repeat(np.arange(len(reports)), counts[t])
        for name in _CELL_BASE:
            per_report = _typed_array([r[name] for r in reports], dtypes[name])
            data[name] = per_report.take(report_of_cell)
        cols: dict[str, list] = {}
        for name in ("row_path", "column_path", "value", "raw_value", "unit", "source_line", "confidence"):
            cols[name] = list(map(attrgetter(name), cells))          # map: ~30% faster than a listcomp
        data.update({name: _typed_array(values, dtypes[name]) for name, values in cols.items()})
        # the flags as lists straight into an object array (a list of lists assigned to one cost ~25% more)
        data["flags"] = np.fromiter(map(list, map(attrgetter("flags"), cells)), dtype=object, count=len(cells))
        # the table's name on every cell, and the review columns null until a maintainers' review sets
        # them (flows/reviewpass.py): one value taken n times (Arrow encoded [t] * n string by string)
        data["table"] = _typed_array([t], dtypes["table"]).take(np.zeros(len(cells), dtype=np.intp))
        for name in _REVIEWED:
            data[name] = _typed_array([None], dtypes[name]).take(np.zeros(len(cells), dtype=np.intp))
        dim_names = [name for name in dtypes if name not in data]
        if dim_names:
            # cells of one address share one (read-only) dims dict: type each distinct dict once
            dims = list(map(attrgetter("dims"), cells))
            codes, _ = pd.factorize(np.fromiter(map(id, dims), dtype=np.int64, count=len(dims)))
            first = np.unique(codes, return_index=True)[1] if len(codes) else np.zeros(0, dtype=np.int64)
            for name in dim_names:
                data[name] = _typed_array([dims[i].get(name) for i in first], dtypes[name]).take(codes)
        out[t] = pd.DataFrame({name: data[name] for name in dtypes}, copy=False)
    out["statements"] = _statements(parsed, reports)
    return out


_STATEMENT_BASE = ("report_id", "source_file", "organization", "organization_id", "report_year")
_STATEMENT_OWN = ("quantity", "value", "raw_text", "unit", "sentence", "source_line")


def _statements(parsed: list[ParsedReport], reports: list[dict]) -> pd.DataFrame:
    """The statements dataset: what each report's prose states, with the report's identity columns
    (a report that failed to parse, or a crashed one, has none)."""
    cols: dict[str, list] = {c: [] for c in (*_STATEMENT_BASE, *_STATEMENT_OWN)}
    for p, r in zip(parsed, reports):
        found = getattr(p, "statements", None)
        if not found:
            continue
        for c in _STATEMENT_BASE:
            cols[c] += [r.get(c)] * len(found)
        for c in _STATEMENT_OWN:
            cols[c] += list(map(attrgetter(c), found))
    return _typed(cols, "statements")

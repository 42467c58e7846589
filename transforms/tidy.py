"""Parsed reports → the tidy long-format DataFrames, typed exactly as the schema registry says
(transforms.typed).

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

from transforms import schema
from transforms.engine import ParsedReport
from transforms.typed import conform, empty, taken, typed_array

_REVIEWED = ("corrected_value", "correction_source")
empty_frame = empty     # a dataset's frame of no rows


def to_frames(parsed: Iterable[ParsedReport]) -> dict[str, pd.DataFrame]:
    """{"reports", "active_disclosure", "applications", "review_litigation", "statements"} → typed DataFrames.

    Column-wise: one list comprehension per column over a table's cells; the report-level columns
    are typed once per report and repeated per cell with a take (a per-cell loop of appends cost
    more than parsing)."""
    parsed = list(parsed)
    reports = [p.report for p in parsed]
    out = {"reports": conform({f.name: [r.get(f.name) for r in reports] for f in schema.fields("reports")},
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
        for name in schema.identity_columns(t):
            data[name] = taken([r[name] for r in reports], dtypes[name], report_of_cell)
        cols: dict[str, list] = {}
        for name in ("row_path", "column_path", "value", "raw_value", "unit", "source_line", "confidence"):
            cols[name] = list(map(attrgetter(name), cells))          # map: ~30% faster than a listcomp
        data.update({name: typed_array(values, dtypes[name]) for name, values in cols.items()})
        # the flags as lists straight into an object array (a list of lists assigned to one cost ~25% more)
        data["flags"] = np.fromiter(map(list, map(attrgetter("flags"), cells)), dtype=object, count=len(cells))
        # the table's name on every cell, and the review columns null until a maintainers' review sets
        # them (flows/reviewpass.py): one value taken n times (Arrow encoded [t] * n string by string)
        data["table"] = taken([t], dtypes["table"], np.zeros(len(cells), dtype=np.intp))
        for name in _REVIEWED:
            data[name] = taken([None], dtypes[name], np.zeros(len(cells), dtype=np.intp))
        dim_names = [name for name in dtypes if name not in data]
        if dim_names:
            # cells of one address share one (read-only) dims dict: type each distinct dict once
            dims = list(map(attrgetter("dims"), cells))
            codes, _ = pd.factorize(np.fromiter(map(id, dims), dtype=np.int64, count=len(dims)))
            first = np.unique(codes, return_index=True)[1] if len(codes) else np.zeros(0, dtype=np.int64)
            for name in dim_names:
                data[name] = taken([dims[i].get(name) for i in first], dtypes[name], codes)
        out[t] = pd.DataFrame({name: data[name] for name in dtypes}, copy=False)
    out["statements"] = _statements(parsed, reports)
    return out


_STATEMENT_BASE = schema.identity_columns("statements")
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
    return conform(cols, "statements")

"""Parsed reports → the tidy long-format DataFrames, typed exactly as the schema registry says.

Frames are built once per batch (column lists, not per-report frames): building a DataFrame costs
more than parsing a report.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from transforms import schema
from transforms.engine import ParsedReport

_CELL_BASE = ("report_id", "source_file", "organization", "report_year", "template")


def empty_frame(dataset: str) -> pd.DataFrame:
    return _typed({f.name: [] for f in schema.fields(dataset)}, dataset)


def _typed(columns: dict[str, list], dataset: str) -> pd.DataFrame:
    data = {}
    for f in schema.fields(dataset):
        values = columns.get(f.name, [])
        if f.pandas_dtype == "object":
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
            data[f.name] = arr
        else:
            data[f.name] = pd.array(values, dtype=f.pandas_dtype)
    return pd.DataFrame(data, copy=False)


def to_frames(parsed: Iterable[ParsedReport]) -> dict[str, pd.DataFrame]:
    """{"reports", "active_disclosure", "applications", "review_litigation"} → typed DataFrames.

    Column-wise: one list comprehension per column over a table's cells, and the report-level
    columns repeated per cell with numpy (a per-cell loop of appends cost more than parsing)."""
    parsed = list(parsed)
    reports = [p.report for p in parsed]
    out = {"reports": _typed({f.name: [r.get(f.name) for r in reports] for f in schema.fields("reports")},
                             "reports")}
    cells_of = {t: [] for t in schema.STATUTORY_TABLES}
    counts = {t: np.zeros(len(parsed), dtype=np.int64) for t in schema.STATUTORY_TABLES}
    for i, p in enumerate(parsed):
        for c in p.cells:
            cells_of[c.table].append(c)
            counts[c.table][i] += 1
    for t, cells in cells_of.items():
        cols: dict[str, list] = {}
        for name in _CELL_BASE:
            per_report = np.empty(len(reports), dtype=object)
            per_report[:] = [r[name] for r in reports]
            cols[name] = np.repeat(per_report, counts[t])
        cols["table"] = [t] * len(cells)
        cols["row_path"] = [c.row_path for c in cells]
        cols["column_path"] = [c.column_path for c in cells]
        cols["value"] = [c.value for c in cells]
        cols["raw_value"] = [c.raw_value for c in cells]
        cols["unit"] = [c.unit for c in cells]
        cols["flags"] = [list(c.flags) for c in cells]
        cols["source_line"] = [c.source_line for c in cells]
        names = set(schema.column_names(t)) - set(cols)
        for name in names:
            cols[name] = [c.dims.get(name) for c in cells]
        out[t] = _typed(cols, t)
    return out

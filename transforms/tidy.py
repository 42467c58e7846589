"""Parsed reports → the tidy long-format DataFrames, typed exactly as the schema registry says.

Frames are built once per batch (column lists, not per-report frames): building a DataFrame costs
more than parsing a report.
"""
from __future__ import annotations

from collections.abc import Iterable

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
        dtype = f.pandas_dtype
        if dtype == "object":
            data[f.name] = pd.Series(values, dtype="object")
        else:
            data[f.name] = pd.Series(values, dtype=dtype)
    return pd.DataFrame(data)


def to_frames(parsed: Iterable[ParsedReport]) -> dict[str, pd.DataFrame]:
    """{"reports", "active_disclosure", "applications", "review_litigation"} → typed DataFrames."""
    report_cols: dict[str, list] = {f.name: [] for f in schema.fields("reports")}
    table_cols = {t: {f.name: [] for f in schema.fields(t)} for t in schema.STATUTORY_TABLES}
    for p in parsed:
        r = p.report
        for name, values in report_cols.items():
            values.append(r.get(name))
        base = [r["report_id"], r["source_file"], r["organization"], r["report_year"], r["template"]]
        for c in p.cells:
            cols = table_cols[c.table]
            for name, v in zip(_CELL_BASE, base):
                cols[name].append(v)
            cols["table"].append(c.table)
            cols["row_path"].append(c.row_path)
            cols["column_path"].append(c.column_path)
            cols["value"].append(c.value)
            cols["raw_value"].append(c.raw_value)
            cols["unit"].append(c.unit)
            cols["flags"].append(list(c.flags))
            cols["source_line"].append(c.source_line)
            for k, v in c.dims.items():
                if k in cols:
                    cols[k].append(v)
    out = {"reports": _typed(report_cols, "reports")}
    for t, cols in table_cols.items():
        out[t] = _typed(cols, t)
    return out

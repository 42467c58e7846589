"""The frames GX validates: each published dataset plus a few derived `_` helper columns (pure pandas).

GX has no pandas-native way to look inside list columns or to ask "what kind is this column in the
format", so the view adds those facts as columns; the suites name them, and the published dataset
never carries them. The reconciliation frame is validated as it is.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from transforms import schema
from transforms.formats import FORMATS
from transforms.reconcile import RECON_COLUMNS, cell_view

CELL_TABLES = schema.STATUTORY_TABLES
# Datasets with a suite: every dataset of the registry, plus the reconciliation frame.
RECONCILIATION = "reconciliation"
FORMAT_NAMES = sorted(FORMATS)
OTHER = "other"  # hybrid or undetected template: addresses of any format
# Helper columns instead of GX row conditions: a row condition re-filters (copies) the whole frame for
# every metric of every expectation, which costs seconds on a million rows; a masked helper does not.
ADDRESS_HELPERS = tuple(f"_{c}_{n}" for n in (*FORMAT_NAMES, OTHER) for c in ("row_path", "column_path"))
CELL_HELPERS = ("_kind", *ADDRESS_HELPERS, "_count_value", "_count_fraction", "_printed_not_parsed")
# Row keys shown next to each failing value in Data Docs.
INDEX_COLUMNS = {
    "reports": ["report_id", "source_file"],
    **{t: ["report_id", "source_file", "row_path", "column_path"] for t in CELL_TABLES},
    "quality_checks": ["report_id", "source_file", "check"],
    "quarantine": ["report_id", "source_file"],
    RECONCILIATION: ["report_id", "source_file", "key"],
}


def suite_datasets() -> list[str]:
    return [*schema.DATASETS, RECONCILIATION]


def list_fields_with_allowed(dataset: str) -> list[schema.Field]:
    return [f for f in schema.fields(dataset) if f.pandas_dtype == "object" and f.allowed]


def helper_columns(dataset: str) -> list[str]:
    if dataset == RECONCILIATION:
        return []
    out = list(CELL_HELPERS) if dataset in CELL_TABLES else []
    return out + [f"_{f.name}_unknown" for f in list_fields_with_allowed(dataset)]


def view_columns(dataset: str) -> list[str]:
    if dataset == RECONCILIATION:
        return list(RECON_COLUMNS)
    return schema.column_names(dataset) + helper_columns(dataset)


def _unknown_items(s: pd.Series, allowed) -> np.ndarray:
    allowed = set(allowed)
    return np.fromiter((0 if not isinstance(x, (list, tuple, np.ndarray)) else sum(1 for i in x if i not in allowed)
                        for x in s), dtype=np.int64, count=len(s))


def make_view(df: pd.DataFrame, dataset: str, helpers: pd.DataFrame | None = None) -> pd.DataFrame:
    """The frame to validate: the dataset's own columns (as given: a missing or mistyped column must
    fail the suite, not be repaired here) plus the helper columns. `helpers`: cell_view(df) if known.

    * `_row_path_<format>` / `_column_path_<format>`: the address where the row's template is that format
      (row paths of flagged extra rows left out), null elsewhere; `<format>` = other for hybrid/undetected.
    * `_count_value` / `_count_fraction`: value and its fractional part where the format says count.
    * `_printed_not_parsed`: raw text printed, value null, cell not flagged.
    List columns are handed to GX as tuples (hashable: GX fingerprints the batch, and a list column
    makes it pickle the whole frame)."""
    out = df.reset_index(drop=True)
    if dataset == RECONCILIATION:
        return out
    out = out.copy(deep=False)
    if dataset in CELL_TABLES and all(c in out for c in ("row_path", "column_path", "value", "template")):
        h = (helpers.reset_index(drop=True) if helpers is not None and len(helpers.columns)
             else cell_view(out, dataset))
        tmpl = out["template"].astype("str")
        extra = h["_extra_row"].to_numpy(dtype=bool)
        known = np.zeros(len(out), dtype=bool)
        for n in FORMAT_NAMES:
            m = (tmpl == n).to_numpy(dtype=bool)
            known |= m
            out[f"_row_path_{n}"] = out["row_path"].where(m & ~extra)
            out[f"_column_path_{n}"] = out["column_path"].where(m)
        out[f"_row_path_{OTHER}"] = out["row_path"].where(~known & ~extra)
        out[f"_column_path_{OTHER}"] = out["column_path"].where(~known)
        out["_kind"] = h["_kind"].to_numpy()
        is_count = h["_kind"].to_numpy(dtype=object) == "count"
        value = pd.to_numeric(out["value"], errors="coerce").astype("float64")
        out["_count_value"] = value.where(is_count)
        out["_count_fraction"] = pd.Series(h["_fraction"].to_numpy(), index=out.index).where(is_count)
        out["_printed_not_parsed"] = (h["_raw_has_value"].to_numpy(dtype=bool) & value.isna().to_numpy()
                                      & ~h["_flagged"].to_numpy(dtype=bool))
    for f in list_fields_with_allowed(dataset):
        if f.name in out:
            out[f"_{f.name}_unknown"] = _unknown_items(out[f.name], f.allowed)
    for f in schema.fields(dataset):
        if f.pandas_dtype == "object" and f.name in out:
            out[f.name] = pd.Series([tuple(x) if isinstance(x, (list, np.ndarray)) else x for x in out[f.name]],
                                    index=out.index, dtype=object)
    return out

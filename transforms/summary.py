"""The `report_summary` dataset: one row per report with its headline figures (pure).

Each measure is the sum of the cells the format files declare for it (`summary:`), in whichever
format the report's table was printed: a report gets the declaration of the format whose every
address it has (a hybrid report may take one measure from each format). Work is per measure on
the few cells involved, never per cell in Python. A measure with a blank cell is null: a sum of
the cells that happen to be printed would be a wrong number without a flag.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from transforms import schema
from transforms.formats import FORMATS, Format

_IDENTITY = [f.name for f in schema.fields("report_summary")
             if f.name not in {m for m, _ in schema.SUMMARY_MEASURES}]


def measure_addresses(formats: dict[str, Format] | None = None) -> dict[str, list[tuple[str, tuple]]]:
    """measure → [(table, addresses)], one entry per distinct declaration across the formats."""
    out: dict[str, list] = {}
    for fmt in (formats or FORMATS).values():
        for measure, spec in fmt.summary.items():
            if spec not in out.setdefault(measure, []):
                out[measure].append(spec)
    return out


def _measure_cells(table: str, cells: pd.DataFrame, specs: list) -> pd.DataFrame:
    """The cells of `table` at any address a measure names: report_id, address, value."""
    rows = {r for spec in specs for r, _ in spec[1]}
    cols = {c for spec in specs for _, c in spec[1]}
    if cells is None or not len(cells):
        return pd.DataFrame({"report_id": [], "address": [], "value": []})
    keep = cells["row_path"].isin(rows).to_numpy(dtype=bool) & cells["column_path"].isin(cols).to_numpy(dtype=bool)
    sub = cells.loc[keep, ["report_id", "row_path", "column_path", "value"]]
    return pd.DataFrame({"report_id": sub["report_id"].astype(object).to_numpy(),
                         "address": list(zip(sub["row_path"].astype(object), sub["column_path"].astype(object))),
                         "value": sub["value"].astype("float64").to_numpy()})


def summary_frame(reports: pd.DataFrame, frames: dict[str, pd.DataFrame],
                  formats: dict[str, Format] | None = None) -> pd.DataFrame:
    """`reports` (with their verdicts) and the cell tables of the same reports → report_summary."""
    from transforms.tidy import empty_frame
    if reports is None or not len(reports):
        return empty_frame("report_summary")
    ids = reports["report_id"].astype(object).to_numpy()
    out = {c: reports[c].reset_index(drop=True) for c in _IDENTITY}
    by_measure = measure_addresses(formats)
    by_table: dict[str, list] = {}
    for specs in by_measure.values():
        for spec in specs:
            by_table.setdefault(spec[0], []).append(spec)
    found = {t: _measure_cells(t, frames.get(t), specs) for t, specs in by_table.items()}
    for measure, _ in schema.SUMMARY_MEASURES:
        result = pd.Series(np.nan, index=pd.Index(ids))
        settled = pd.Series(False, index=result.index)
        for table, addresses in by_measure.get(measure, []):
            f = found[table]
            sub = f[f["address"].isin(set(addresses))]
            if not len(sub):
                continue
            g = sub.groupby("report_id", sort=False)["value"]
            present, printed, total = g.size(), g.count(), g.sum()
            has_all = present.index[present.to_numpy() == len(addresses)]   # the report prints this format's cells
            take = has_all[~settled.reindex(has_all).to_numpy(dtype=bool)]
            complete = printed.reindex(take).to_numpy() == len(addresses)
            result.loc[take] = np.where(complete, total.reindex(take).to_numpy(), np.nan)
            settled.loc[take] = True
        out[measure] = result.to_numpy()
    frame = pd.DataFrame(out)
    return frame.astype({f.name: f.pandas_dtype for f in schema.fields("report_summary")
                         if f.pandas_dtype != "object"})[[f.name for f in schema.fields("report_summary")]]

"""The `report_summary` dataset: one row per report with its headline figures (pure).

Each measure is the sum of the cells the format files declare for it (`summary:`), in the format
the report's table was printed in: a report takes its own format's declaration, and a hybrid one the
declaration whose every cell it has (one measure may come from each format). Work is per measure on
the few cells involved, never per cell in Python. A measure with a blank cell is null: a sum of
the cells that happen to be printed would be a wrong number without a flag.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms import schema
from transforms.formats import FORMATS, Format
from transforms.typed import conform, empty

_IDENTITY = [f.name for f in schema.fields("report_summary")
             if f.name not in {m for m, _ in schema.SUMMARY_MEASURES}]


def measure_addresses(formats: dict[str, Format] | None = None) -> dict[str, list[tuple[str, tuple, tuple]]]:
    """measure → [(table, addresses, formats declaring it)], one entry per distinct declaration, the
    declarations with more cells first (a format that splits a row further has every cell of the
    coarser one too, never the other way round)."""
    out: dict[str, dict] = {}
    for name, fmt in (formats or FORMATS).items():
        for measure, spec in fmt.summary.items():
            out.setdefault(measure, {}).setdefault(spec, []).append(name)
    return {m: sorted(((t, a, tuple(f)) for (t, a), f in specs.items()), key=lambda x: -len(x[1]))
            for m, specs in out.items()}


def _positions(column: pd.Series, values: list[str]) -> np.ndarray:
    """Index of each row's value in `values` (-1 when absent), hashed by Arrow on the column's own
    buffers (pandas would first make a Python object of every string)."""
    arr = pa.array(column.array) if not isinstance(column.dtype, pd.CategoricalDtype) else \
        pa.array(column.astype(object).to_numpy(), pa.string())
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    found = pc.index_in(arr, value_set=pa.array(values, pa.string()))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _address_grid(cells: pd.DataFrame | None, ids: pd.Index, addresses: list[tuple[str, str]]):
    """(values, present): reports × addresses arrays of the cells at `addresses` (NaN / False where a
    report has no such cell). Categoricals against the few addresses wanted, then numpy: no Python
    work per cell."""
    n, k = len(ids), len(addresses)
    values = np.full((n, k), np.nan)
    present = np.zeros((n, k), dtype=bool)
    if cells is None or not len(cells) or not k:
        return values, present
    rows = list(dict.fromkeys(r for r, _ in addresses))
    cols = list(dict.fromkeys(c for _, c in addresses))
    r, c = _positions(cells["row_path"], rows), _positions(cells["column_path"], cols)
    keep = np.flatnonzero((r >= 0) & (c >= 0))
    slot = np.full((len(rows), len(cols)), -1)
    for j, (ra, ca) in enumerate(addresses):
        slot[rows.index(ra), cols.index(ca)] = j
    j = slot[r[keep], c[keep]]
    keep, j = keep[j >= 0], j[j >= 0]
    report = _positions(cells["report_id"].iloc[keep], list(ids))
    ok = report >= 0
    keep, j, report = keep[ok], j[ok], report[ok]
    values[report, j] = cells["value"].to_numpy(dtype="float64", na_value=np.nan)[keep]
    present[report, j] = True
    return values, present


def summary_frame(reports: pd.DataFrame, frames: dict[str, pd.DataFrame],
                  formats: dict[str, Format] | None = None) -> pd.DataFrame:
    """`reports` (with their verdicts) and the cell tables of the same reports → report_summary."""
    if reports is None or not len(reports):
        return empty("report_summary")
    ids = pd.Index(reports["report_id"].astype(object).to_numpy())
    out = {c: reports[c].reset_index(drop=True) for c in _IDENTITY}
    by_measure = measure_addresses(formats)
    wanted: dict[str, list] = {}
    for specs in by_measure.values():
        for table, addresses, _ in specs:
            wanted.setdefault(table, [])
            wanted[table] += [a for a in addresses if a not in wanted[table]]
    grids = {t: _address_grid(frames.get(t), ids, addresses) for t, addresses in wanted.items()}
    template = reports["template"].astype(object).to_numpy() if "template" in reports else np.full(len(ids), None)
    for measure, _ in schema.SUMMARY_MEASURES:
        result = np.full(len(ids), np.nan)
        settled = np.zeros(len(ids), dtype=bool)
        # the declaration of the report's own format first; then (a hybrid) any whose cells it has
        for own in (True, False):
            for table, addresses, names in by_measure.get(measure, []):
                values, present = grids[table]
                cols = [wanted[table].index(a) for a in addresses]
                take = present[:, cols].all(axis=1) & ~settled       # the report prints these cells
                if own:
                    take &= np.isin(template, list(names))
                v = values[:, cols]
                result = np.where(take, np.where(np.isnan(v).any(axis=1), np.nan, v.sum(axis=1)), result)
                settled |= take
        out[measure] = result
    return conform(pd.DataFrame(out), "report_summary")

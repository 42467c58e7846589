"""A batch's cell tables encoded once for every check: report and address codes, the format each
report's table is in, the value matrix (reports × addresses) and its parser-flag twin, and the
reports' metadata."""
from __future__ import annotations

import numpy as np
import pandas as pd

from transforms import schema
from transforms.checks.catalogue import ADDRESS_INDEX, FORMAT_NAMES, IN_FORMAT, TABLES
from transforms.checks.cells import cell_view
from transforms.formats import FORMATS

META = schema.identity_columns("quality_checks")[1:]   # what a check's row repeats from its report


def _cells(frames: dict[str, pd.DataFrame], table: str) -> pd.DataFrame:
    df = frames.get(table)
    if df is None or len(df) == 0:
        return pd.DataFrame({f.name: pd.Series(dtype=f.pandas_dtype) for f in schema.fields(table)})
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
        self._W: np.ndarray | None = None
        self._F: np.ndarray | None = None
        self.meta_memo: tuple[pd.DataFrame | None, pd.DataFrame] | None = None  # (reports frame, its meta()), on the batch's first table

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



def meta(frames: dict[str, pd.DataFrame], prepared: dict[str, Prepared] | None = None) -> pd.DataFrame:
    """report_id → source_file, organization, report_year, template, organization_id (reports first, then cells).

    With every table prepared, made once per reports frame: reconcile and quality_checks of a batch
    both ask (read-only) for it (~0.015 ms a report each time)."""
    rep = frames.get("reports")
    holder = prepared[TABLES[0]] if prepared is not None and all(t in prepared for t in TABLES) else None
    memo = holder.meta_memo if holder is not None else None
    if memo is not None and memo[0] is rep:
        return memo[1]
    m = _meta_frame(frames, prepared)
    if holder is not None:
        holder.meta_memo = (rep, m)
    return m


def _meta_frame(frames: dict[str, pd.DataFrame], prepared: dict[str, Prepared] | None) -> pd.DataFrame:
    parts = []
    rep = frames.get("reports")
    if rep is not None and len(rep):
        parts.append(rep.reindex(columns=["report_id", *META]))
    for t in TABLES:
        if prepared is not None and t in prepared:
            p = prepared[t]
            if p.n:
                parts.append(p.df.iloc[p.first_row].reindex(columns=["report_id", *META]))
            continue
        df = frames.get(t)
        if df is not None and len(df):
            parts.append(df.drop_duplicates("report_id").reindex(columns=["report_id", *META]))
    if not parts:
        return pd.DataFrame({"report_id": pd.Series(dtype="str"), "source_file": pd.Series(dtype="str"),
                             "organization": pd.Series(dtype="str"),
                             "organization_id": pd.Series(dtype="str"),
                             "report_year": pd.Series(dtype="Int64"),
                             "template": pd.Series(dtype="str")}).set_index("report_id")
    m = pd.concat([p.astype({"report_year": "Int64"}) for p in parts], ignore_index=True)
    return m.drop_duplicates("report_id").set_index("report_id")



def format_groups(prepared: dict[str, Prepared]):
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


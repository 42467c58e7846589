"""The run-level cross-report pass: checks between a body's consecutive yearly reports (pure pandas).

A check across years needs both reports, and which reports a parse batch holds is an accident of
batching; so these checks run once per run, after every batch is parsed and before publishing
(flows/crossreport.py reads the few columns they need from the staged and published Parquet), and in
``nianbao validate``. Their result is a function of the dataset only.

The checks are the ``cross_year`` entries of the format files (transforms/formats/*.yaml): the
carry-over of pending applications (identity 6) and the table 二 roll-forwards (identity 7), each
declared with the formats of last year's table whose quantities correspond. A check row belongs to
the later report (``related_report_id`` names the earlier one), so a report has at most one row per
check, and a new report of year N re-checks the published report of year N+1.

* :func:`pairs` — every (later, earlier) pair of reports of one body in consecutive years;
* :func:`affected_owners` — the reports whose cross-year rows a set of new or removed reports changes;
* :func:`evaluate` — the reconciliation rows of those pairs (transforms/reconcile.py's frame);
* :func:`checks` — their ``quality_checks`` rows;
* :func:`fold_verdicts` — the reports whose verdict or failed_checks the cross-year rows change.
"""
from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd

from transforms.formats import FORMATS
from transforms.reconcile import (ADDRESS_INDEX, QC_FIELDS, _block, _identity_checks, _typed, address_codes,
                                  check_names, checks_frame, cross_year_check_names, recon_frame, verdicts,
                                  OCR_IDENTITIES)

# The column that says which body a report is from, and its normalisation for pairing: the ONE place
# that decides which reports are "the same organisation" across years.
PAIRING_COLUMN = "organization_id"     # one body across years, renderings and name variants
_SPACES = re.compile(r"[\s\u00a0\u3000\u200b\ufeff]+")
# What the pass reads from `reports` (besides PAIRING_COLUMN): the pairing year and the metadata
# that quality_checks rows carry.
REPORT_COLUMNS = ["report_id", "report_year", "source_file", "organization", "template"]
CELL_COLUMNS = ["report_id", "row_path", "column_path", "value"]
META = ["source_file", "organization", "report_year", "template"]


def pairing_key(reports: pd.DataFrame) -> pd.Series:
    """The body a report belongs to, as compared across years (null: never paired): its
    organization_id, else (no division known, or rows published before the id existed) its printed
    name without spaces, marked so that a name never equals an id."""
    name = reports["organization"]
    name = ("name:" + name.astype("str").str.replace(_SPACES, "", regex=True)).where(
        name.notna() & (name.astype("str").str.strip() != ""))
    if PAIRING_COLUMN not in reports:
        return name
    oid = reports[PAIRING_COLUMN]
    oid = oid.astype("str").where(oid.notna() & (oid.astype("str") != ""))
    return oid.fillna(name)


def report_columns() -> list[str]:
    return list(dict.fromkeys([*REPORT_COLUMNS, PAIRING_COLUMN]))


def tables() -> list[str]:
    """Tables the cross-year checks read."""
    return sorted({c.table for f in FORMATS.values() for c in f.cross_year})


@functools.cache
def addresses(table: str) -> tuple[frozenset[str], frozenset[str]]:
    """(row paths, column paths) of every cell a cross-year check of `table` reads, in any format:
    the pass reads only rows with both."""
    rows, cols = set(), set()
    for fname, fmt in FORMATS.items():
        for c in fmt.cross_year:
            if c.table != table:
                continue
            for last in c.previous:
                for _k, cur, plus, minus, prev in c.instances(fmt, FORMATS[last]):
                    for r, col in cur + plus + minus + prev:
                        rows.add(r)
                        cols.add(col)
    return frozenset(rows), frozenset(cols)


def _keyed(reports: pd.DataFrame) -> pd.DataFrame:
    r = reports.drop_duplicates("report_id")
    # object columns, not pandas' Arrow strings: ids are looked up in Python sets
    out = pd.DataFrame({"report_id": pd.Series(r["report_id"].to_numpy(dtype=object), dtype=object),
                        "key": pd.Series(pairing_key(r).to_numpy(dtype=object), dtype=object),
                        "year": pd.to_numeric(r["report_year"], errors="coerce").to_numpy(dtype="float64")})
    return out[out["key"].notna() & ~np.isnan(out["year"])]


def pairs(reports: pd.DataFrame, owners=None) -> pd.DataFrame:
    """(cur_id, prev_id): reports of one body in years N and N−1, sorted; only later reports in
    `owners` when given. Several reports of one body and year pair with each other's neighbours."""
    k = _keyed(reports)
    cur = k.rename(columns={"report_id": "cur_id"})
    if owners is not None:
        cur = cur[cur["cur_id"].isin(set(owners))]
    prev = k.rename(columns={"report_id": "prev_id"}).assign(year=k["year"] + 1)
    p = cur.merge(prev, on=["key", "year"])[["cur_id", "prev_id"]]
    return p.sort_values(["cur_id", "prev_id"], kind="stable").reset_index(drop=True)


def affected_owners(reports: pd.DataFrame, changed: pd.DataFrame) -> set[str]:
    """Reports of `reports` (the dataset after the change) whose cross-year rows may change when the
    reports in `changed` (new, replaced or removed: report_year and PAIRING_COLUMN) come or go: those
    of a changed body and year (N → N−1 is theirs) and of the year after (N+1 → N)."""
    k, c = _keyed(reports), _keyed(changed.assign(report_id=range(len(changed))))
    hit = pd.concat([c[["key", "year"]], c[["key"]].assign(year=c["year"] + 1)]).drop_duplicates()
    return set(k.merge(hit, on=["key", "year"])["report_id"])


def _meta(reports: pd.DataFrame) -> pd.DataFrame:
    m = reports.drop_duplicates("report_id").set_index(reports.drop_duplicates("report_id")["report_id"].astype(object))
    out = m.reindex(columns=META)
    out["report_year"] = pd.to_numeric(out["report_year"], errors="coerce").astype("Int64")
    return out


@functools.cache
def _instances(fname: str, k: int, last: str) -> tuple[list, list]:
    """_block's `insts` and rhs signs for check k of format `fname` after a `last`-format report. The
    rhs columns index [last year's matrix | this year's matrix]."""
    fmt = FORMATS[fname]
    c = fmt.cross_year[k]
    idx = ADDRESS_INDEX[c.table]
    n = len(idx)

    def label(a):
        return f"{a[0]} | {a[1]}" if a[0] else a[1]

    insts, signs = [], []
    for key, cur, plus, minus, prev in c.instances(fmt, FORMATS[last]):
        labels = ([f"本年 {label(a)}" for a in cur] + [f"上年 {label(a)}" for a in prev]
                  + [f"本年 {label(a)}" for a in plus] + [f"减 本年 {label(a)}" for a in minus])
        rhs = np.concatenate([idx.get_indexer(prev), n + idx.get_indexer(plus), n + idx.get_indexer(minus)]) \
            .astype(np.int64)
        insts.append((key, idx.get_indexer(cur), rhs, "; ".join(labels), labels))
        signs.append(np.array([1.0] * (len(prev) + len(plus)) + [-1.0] * len(minus)))
    return insts, signs


def _matrix(cells: pd.DataFrame | None, table: str, ids: np.ndarray) -> np.ndarray:
    """Values of `ids` (rows) at every address of `table` (columns); NaN where blank or absent."""
    W = np.full((len(ids), len(ADDRESS_INDEX[table])), np.nan)
    if cells is None or len(cells) == 0 or len(ids) == 0:
        return W
    rid = cells["report_id"]
    if isinstance(rid.dtype, pd.CategoricalDtype):          # each distinct id looked up once
        pos = np.append(pd.Index(ids).get_indexer(rid.cat.categories.astype(object)), -1)[rid.cat.codes.to_numpy()]
    else:
        pos = pd.Index(ids).get_indexer(rid.astype(object))
    acodes = address_codes(cells, table)
    ok = (pos >= 0) & (acodes >= 0)
    value = pd.to_numeric(cells["value"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    W[pos[ok], acodes[ok]] = value[ok]
    return W


def evaluate(reports: pd.DataFrame, formats: pd.DataFrame, cells: dict[str, pd.DataFrame],
             owners=None, paired: pd.DataFrame | None = None) -> pd.DataFrame:
    """The reconciliation rows (transforms.reconcile.RECON_COLUMNS) of every cross-year check between
    each report of `owners` (all when None) and its body's reports of the year before.

    `reports`: report_columns() of every report of the dataset; `formats`: report_id, table, format (the
    format of each report's table, as its per-report checks chose it); `cells`: table → CELL_COLUMNS (at
    least the addresses() of the reports involved). A check of format F runs when this year's table is
    in F and last year's is in a format the check declares corresponding quantities for. `paired`:
    pairs(reports, owners), when the caller has it already."""
    pr = pairs(reports, owners) if paired is None else paired
    meta = _meta(reports)
    parts = []
    if len(pr):
        fmt_of = formats.assign(report_id=formats["report_id"].astype(object))
        for table in tables():
            f = fmt_of[fmt_of["table"] == table].drop_duplicates("report_id").set_index("report_id")["format"]
            cur_f = f.reindex(pr["cur_id"]).astype(object).to_numpy()
            prev_f = f.reindex(pr["prev_id"]).astype(object).to_numpy()
            ids = np.unique(np.concatenate([pr["cur_id"].to_numpy(dtype=object), pr["prev_id"].to_numpy(dtype=object)]))
            W = _matrix(cells.get(table), table, ids)
            cur_pos = pd.Index(ids).get_indexer(pr["cur_id"])
            prev_pos = pd.Index(ids).get_indexer(pr["prev_id"])
            for fname in sorted(FORMATS):
                for k, c in enumerate(FORMATS[fname].cross_year):
                    if c.table != table:
                        continue
                    for last in sorted(c.previous):
                        sel = np.flatnonzero((cur_f == fname) & (prev_f == last))
                        if len(sel) == 0:
                            continue
                        insts, signs = _instances(fname, k, last)
                        Wc = W[cur_pos[sel]]
                        rhs = np.concatenate([W[prev_pos[sel]], Wc], axis=1)
                        part = _block(pr["cur_id"].to_numpy(dtype=object)[sel], fname, c.id, c.number, table,
                                      c.for_each, c.description, insts, Wc, rhs,
                                      related=pr["prev_id"].to_numpy(dtype=object)[sel], rhs_signs=signs)
                        if part is not None:
                            parts.append(part)
    return recon_frame(parts, meta)


def checks(recon: pd.DataFrame, reports: pd.DataFrame) -> pd.DataFrame:
    """The quality_checks rows of the cross-year reconciliation rows: one per report × check."""
    agg = _identity_checks(recon)
    if len(agg) == 0:
        return _typed(pd.DataFrame(columns=[f.name for f in QC_FIELDS]), QC_FIELDS)
    return checks_frame(agg, _meta(reports))


def fold_verdicts(reports: pd.DataFrame, other: pd.DataFrame, cross: pd.DataFrame) -> pd.DataFrame:
    """report_id, verdict, failed_checks of the `reports` (report_id, verdict, failed_checks: their rows
    as staged or published) whose values change once their cross-year rows are `cross`; `other`: their
    non-passing rows of every other check (report_id, check, status). The same rule as the per-report
    verdicts (reconcile.verdicts), on the rows in the order they are published."""
    cols = ["report_id", "verdict", "failed_checks"]
    if len(reports) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    xnames = set(cross_year_check_names())
    qc = pd.concat([other.loc[~other["check"].isin(xnames), ["report_id", "check", "status"]],
                    cross[["report_id", "check", "status"]]], ignore_index=True)
    qc = qc.astype({"report_id": object, "check": object, "status": object})
    order = {c: i for i, c in enumerate(check_names())}
    qc = qc.assign(_o=qc["check"].map(order)).sort_values(["report_id", "_o"], kind="stable")
    rep = reports[cols].drop_duplicates("report_id").reset_index(drop=True)
    new = verdicts(rep.assign(status="parsed"), qc)
    old_fc = [list(x) if x is not None and not isinstance(x, float) else [] for x in rep["failed_checks"]]
    # the OCR rule (reconcile.verdicts) reads the layout and passing rows these rows do not carry: kept as it was
    for i, fc in enumerate(old_fc):
        if OCR_IDENTITIES in fc and OCR_IDENTITIES not in new["failed_checks"].iat[i]:
            new.iat[i, new.columns.get_loc("failed_checks")] = [*new["failed_checks"].iat[i], OCR_IDENTITIES]
            if new["verdict"].iat[i] == "pass":
                new.iat[i, new.columns.get_loc("verdict")] = "warn"
    changed = (new["verdict"].astype(object).to_numpy() != rep["verdict"].astype(object).to_numpy()) | \
        np.array([list(a) != b for a, b in zip(new["failed_checks"], old_fc)], dtype=bool)
    out = new.loc[changed, cols].reset_index(drop=True)
    out["report_id"] = out["report_id"].astype(object)
    out["verdict"] = out["verdict"].astype(object)
    return out


__all__ = ["PAIRING_COLUMN", "pairing_key", "report_columns", "tables", "addresses", "pairs", "affected_owners",
           "evaluate", "checks", "fold_verdicts", "CELL_COLUMNS"]

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
* :func:`evaluate` — the reconciliation rows of those pairs (transforms/checks/reconcile.py's frame);
* :func:`checks` — their ``quality_checks`` rows;
* :func:`fold_verdicts` — the reports whose verdict or failed_checks the cross-year rows change.
"""
from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd

from transforms.formats import FORMATS
from transforms.checks.plausibility import CHECKS, is_consolidated
from transforms.checks.catalogue import ADDRESS_INDEX, check_names, cross_year_check_names
from transforms.checks.cells import parser_flagged
from transforms.checks.prepared import address_codes
from transforms.checks.reconcile import block, recon_frame, TOLERANCE
from transforms.checks.rules import checks_frame, identity_checks
from transforms.typed import empty
from transforms.checks.verdicts import OCR_IDENTITIES, verdicts
from transforms.checks.texts import fmt_num

# The column that says which body a report is from, and its normalisation for pairing: the ONE place
# that decides which reports are "the same organisation" across years.
PAIRING_COLUMN = "organization_id"     # one body across years, renderings and name variants
_SPACES = re.compile(r"[\s\u00a0\u3000\u200b\ufeff]+")
# What the pass reads from `reports` (besides PAIRING_COLUMN): the pairing year and the metadata
# that quality_checks rows carry.
REPORT_COLUMNS = ["report_id", "report_year", "source_file", "organization", "template", "division_code"]
CELL_COLUMNS = ["report_id", "row_path", "column_path", "value", "flags"]
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


def cell_tables() -> list[str]:
    """Tables the run-level pass reads: the cross-year checks' and the consolidated reports' (checks.yaml)."""
    return sorted(set(tables()) | {c.table for c in CHECKS.consolidated})


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


def affected_owners(reports: pd.DataFrame, changed: pd.DataFrame, members: pd.DataFrame | None = None) -> set[str]:
    """Reports of `reports` (the dataset after the change) whose cross-year rows may change when the
    reports in `changed` (new, replaced or removed: report_year and PAIRING_COLUMN) come or go: those
    of a changed body and year (N → N−1 is theirs) and of the year after (N+1 → N). `members`:
    consolidated_members(reports), if the caller has it."""
    k, c = _keyed(reports), _keyed(changed.assign(report_id=range(len(changed))))
    hit = pd.concat([c[["key", "year"]], c[["key"]].assign(year=c["year"] + 1)]).drop_duplicates()
    owners = set(k.merge(hit, on=["key", "year"])["report_id"])
    # a consolidated report is re-checked whenever a report of its division and year comes or goes
    d = _divisions(changed)[["division", "year"]].drop_duplicates()
    cons = consolidated_members(reports) if members is None else members
    return owners | set(cons.merge(d, on=["division", "year"])["cons_id"])


def _divisions(reports: pd.DataFrame) -> pd.DataFrame:
    """report_id, division (GB/T 2260 code), year, consolidated: the reports whose division and year are known."""
    r = reports.drop_duplicates("report_id") if "report_id" in reports else reports
    div = r["division_code"] if "division_code" in r else pd.Series(None, index=r.index, dtype=object)
    out = pd.DataFrame({"report_id": pd.Series(r["report_id"].to_numpy(dtype=object), dtype=object)
                        if "report_id" in r else pd.Series(range(len(r)), dtype=object),
                        "division": pd.Series(div.to_numpy(dtype=object), dtype=object),
                        "year": pd.to_numeric(r["report_year"], errors="coerce").to_numpy(dtype="float64"),
                        "consolidated": is_consolidated(r)})
    return out[out["division"].notna() & (out["division"].astype(str) != "") & ~np.isnan(out["year"])]


def consolidated_members(reports: pd.DataFrame) -> pd.DataFrame:
    """cons_id, member_id, division, year: each consolidated report (全区/全市 汇总: a word of
    transforms/checks.yaml in its organisation or file name) with every other report of its division and
    year (its constituents, as far as the dataset has them), sorted."""
    d = _divisions(reports)
    cons = d[d["consolidated"]].rename(columns={"report_id": "cons_id"})
    members = d[~d["consolidated"]].rename(columns={"report_id": "member_id"})
    out = cons[["cons_id", "division", "year"]].merge(members[["member_id", "division", "year"]],
                                                      on=["division", "year"])
    return out.sort_values(["cons_id", "member_id"], kind="stable").reset_index(drop=True)


def consolidated_checks(reports: pd.DataFrame, cells: dict[str, pd.DataFrame], owners=None,
                        members: pd.DataFrame | None = None) -> pd.DataFrame:
    """The quality_checks rows comparing each consolidated report of `owners` (all when None) with the sum
    of its constituents, cell by cell of each table of checks.yaml's consolidated checks. Which
    constituents a dataset holds is never known to be complete, so a difference is a warn (uncertain),
    never a fail; equal everywhere passes. A blank constituent cell counts as 0; a blank consolidated cell
    is not evaluable. `cells`: table → CELL_COLUMNS of the consolidated reports and their members."""
    m = consolidated_members(reports) if members is None else members
    if owners is not None:
        m = m[m["cons_id"].isin(set(owners))]
    rows = []
    if len(m):
        cons_ids = pd.Index(pd.unique(m["cons_id"].to_numpy(dtype=object)), dtype=object)
        ids = pd.Index(pd.unique(np.concatenate([cons_ids.to_numpy(), m["member_id"].to_numpy(dtype=object)])),
                       dtype=object)
        g = cons_ids.get_indexer(m["cons_id"])
        mpos = ids.get_indexer(m["member_id"])
        n_members = np.bincount(g, minlength=len(cons_ids))
        for c in CHECKS.consolidated:
            W, F = _matrix(cells.get(c.table), c.table, ids.to_numpy())
            Wc, Fc = W[ids.get_indexer(cons_ids)], F[ids.get_indexer(cons_ids)]
            total = np.zeros_like(Wc)
            np.add.at(total, g, np.nan_to_num(W[mpos], nan=0.0))
            member_flag = np.zeros(Wc.shape, dtype=bool)
            np.logical_or.at(member_flag, g, F[mpos])
            member_printed = np.zeros(Wc.shape, dtype=bool)
            np.logical_or.at(member_printed, g, ~np.isnan(W[mpos]))
            printed = ~np.isnan(Wc)
            differs = printed & (np.abs(Wc - total) > TOLERANCE)
            n_eval, n_failed = printed.sum(axis=1), differs.sum(axis=1)
            n_blank = (~printed & member_printed).sum(axis=1)
            by_parser = (differs & (Fc | member_flag)).any(axis=1)
            labels = [f"{a[0]} | {a[1]}" if a[0] else a[1] for a in ADDRESS_INDEX[c.table]]
            div = m.drop_duplicates("cons_id").set_index("cons_id")["division"].reindex(cons_ids).to_numpy(dtype=object)
            for j in np.flatnonzero(n_eval):          # consolidated reports printing the table
                bad = np.flatnonzero(differs[j])
                head = f"{n_members[j]} other reports of division {div[j]} in the dataset"
                if len(bad):
                    shown = [f"{labels[i]}: 汇总 {fmt_num(Wc[j, i])} ≠ Σ {fmt_num(total[j, i])}" for i in bad[:5]]
                    more = f" (+{len(bad) - 5} more)" if len(bad) > 5 else ""
                    obs = (f"uncertain (constituents may be missing): {head}; {len(bad)} of {n_eval[j]} cells differ: "
                           + "; ".join(shown) + more)
                else:
                    obs = f"{head}; all {n_eval[j]} cells equal their sum"
                rows.append({"report_id": cons_ids[j], "check": c.id, "identity_number": pd.NA, "table": c.table,
                             "format": None, "status": "warn" if len(bad) else "pass",
                             "n_evaluated": int(n_eval[j]), "n_failed": int(n_failed[j]),
                             "n_not_evaluable": int(n_blank[j]), "observed": obs,
                             "cells": [labels[i] for i in bad], "related_report_id": None,
                             "attribution": ("parser" if by_parser[j] else "publisher") if len(bad) else None})
    if not rows:
        return empty("quality_checks")
    return checks_frame(pd.DataFrame(rows), _meta(reports))


def _meta(reports: pd.DataFrame) -> pd.DataFrame:
    m = reports.drop_duplicates("report_id").set_index(reports.drop_duplicates("report_id")["report_id"].astype(object))
    out = m.reindex(columns=META)
    out["report_year"] = pd.to_numeric(out["report_year"], errors="coerce").astype("Int64")
    return out


@functools.cache
def _instances(fname: str, k: int, last: str) -> tuple[list, list]:
    """block's `insts` and rhs signs for check k of format `fname` after a `last`-format report. The
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


def _matrix(cells: pd.DataFrame | None, table: str, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values of `ids` (rows) at every address of `table` (columns), NaN where blank or absent; and
    True where the cell carries a parser flag (its `flags` column, when read)."""
    W = np.full((len(ids), len(ADDRESS_INDEX[table])), np.nan)
    F = np.zeros(W.shape, dtype=bool)
    if cells is None or len(cells) == 0 or len(ids) == 0:
        return W, F
    rid = cells["report_id"]
    if isinstance(rid.dtype, pd.CategoricalDtype):          # each distinct id looked up once
        pos = np.append(pd.Index(ids).get_indexer(rid.cat.categories.astype(object)), -1)[rid.cat.codes.to_numpy()]
    else:
        pos = pd.Index(ids).get_indexer(rid.astype(object))
    acodes = address_codes(cells, table)
    ok = (pos >= 0) & (acodes >= 0)
    value = pd.to_numeric(cells["value"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    W[pos[ok], acodes[ok]] = value[ok]
    if "flags" in cells:
        F[pos[ok], acodes[ok]] = parser_flagged(cells["flags"])[ok]
    return W, F


def evaluate(reports: pd.DataFrame, formats: pd.DataFrame, cells: dict[str, pd.DataFrame],
             owners=None, paired: pd.DataFrame | None = None) -> pd.DataFrame:
    """The reconciliation rows (transforms.checks.reconcile.RECON_COLUMNS) of every cross-year check between
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
            W, F = _matrix(cells.get(table), table, ids)
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
                        Wc, Fc = W[cur_pos[sel]], F[cur_pos[sel]]
                        rhs = np.concatenate([W[prev_pos[sel]], Wc], axis=1)
                        frhs = np.concatenate([F[prev_pos[sel]], Fc], axis=1)
                        part = block(pr["cur_id"].to_numpy(dtype=object)[sel], fname, c.id, c.number, table,
                                      c.for_each, c.description, insts, Wc, rhs,
                                      related=pr["prev_id"].to_numpy(dtype=object)[sel], rhs_signs=signs,
                                      F_rows_lhs=Fc, F_rows_rhs=frhs)
                        if part is not None:
                            parts.append(part)
    return recon_frame(parts, meta)


def checks(recon: pd.DataFrame, reports: pd.DataFrame, consolidated: pd.DataFrame | None = None) -> pd.DataFrame:
    """The quality_checks rows of the run-level pass: one per report × check, from the cross-year
    reconciliation rows and the `consolidated` rows (consolidated_checks), in publishing order."""
    agg = identity_checks(recon)
    parts = [agg] if len(agg) else []
    if consolidated is not None and len(consolidated):
        parts.append(consolidated.drop(columns=META))
    if not parts:
        return empty("quality_checks")
    return checks_frame(pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0], _meta(reports))


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


__all__ = ["PAIRING_COLUMN", "pairing_key", "report_columns", "tables", "cell_tables", "addresses", "pairs", "affected_owners",
           "evaluate", "checks", "fold_verdicts", "CELL_COLUMNS", "consolidated_members", "consolidated_checks"]

"""The ``quality_checks`` rows of a batch: one row per report × check, status pass | warn | fail, the
observed values and the cells involved. The identities aggregated over their instances, the
hierarchy (parts within totals), the level bounds and the all-zero report (transforms/checks.yaml),
the structural rules per table, and the prose against the tables (transforms/checks/narrative.py); rows in
:func:`transforms.checks.catalogue.check_names` order."""
from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.checks.catalogue import (ADDRESS_INDEX, ADDRESSES, FORMAT_NAMES, IN_FORMAT, IS_COUNT, TABLES,
                                         check_names, hierarchy_pairs)
from transforms.checks.narrative import quality_checks as narrative_checks
from transforms.checks.plausibility import CHECKS, body_level
from transforms.checks.prepared import META, Prepared, format_groups, meta, prepare
from transforms.checks.reconcile import reconcile, TOLERANCE
from transforms.checks.texts import addr_label, fmt_num, texts
from transforms.typed import conform, empty



def _object_values(s: pd.Series, mask: np.ndarray) -> np.ndarray:
    """s[mask] as an object array, as s[mask].to_numpy(dtype=object) gives it; a categorical is decoded
    from its (few) categories instead of converting every row."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        categories = np.append(s.cat.categories.to_numpy(dtype=object), np.nan)  # code -1 → NaN
        return categories[s.cat.codes.to_numpy()[mask]]
    return s[mask].to_numpy(dtype=object)


def _subset(mask: np.ndarray, within: np.ndarray) -> np.ndarray:
    """The rows of ``mask`` whose position among its True rows is True in ``within``."""
    out = np.zeros(len(mask), dtype=bool)
    out[np.flatnonzero(mask)[within]] = True
    return out


def identity_checks(recon: pd.DataFrame) -> pd.DataFrame:
    if len(recon) == 0:
        return pd.DataFrame()
    st = recon["status"]
    flagged = recon["flagged"].to_numpy(dtype=bool) if "flagged" in recon else np.zeros(len(recon), dtype=bool)
    broken = (st == "broken").to_numpy(dtype=bool)
    blank = (st == "not_evaluable").to_numpy(dtype=bool)
    # one grouping for the counts and the first values (a groupby per count cost ~0.02 ms a report)
    firsts = ["identity_number", "table", "format", "related_report_id"]
    columns = recon[firsts].assign(n_evaluated=~blank, n_failed=broken, n_not_evaluable=blank,
                                   _fb=broken & flagged, _fn=blank & flagged)
    g = columns.groupby([recon["report_id"], recon["check"]], sort=False, observed=True)
    agg = g[["n_evaluated", "n_failed", "n_not_evaluable", "_fb", "_fn"]].sum()
    agg = agg.join(g[firsts].first()).reset_index()
    for c in ("report_id", "check", "table", "format", "related_report_id"):
        agg[c] = agg[c].astype(object)
    # text columns stay Python objects until checks_frame types them all at once: a column of str
    # assigned here was inferred as Arrow strings, made objects again by the concat with the other
    # checks' rows, and converted a third time there (the observed texts run to kilobytes)
    agg["status"] = pd.Series(np.where(agg["n_failed"] > 0, "fail", np.where(agg["n_not_evaluable"] > 0, "warn", "pass"))
                              .astype(object), index=agg.index, dtype=object)
    # who the failing instances point at: a fail by its broken instances, a warn by its blank ones
    by_parser = np.where(agg["n_failed"] > 0, agg["_fb"] > 0, agg["_fn"] > 0)
    agg["attribution"] = pd.Series(np.where(agg["status"] == "pass", None, np.where(by_parser, "parser", "publisher")),
                                   index=agg.index, dtype=object)
    agg = agg.drop(columns=["_fb", "_fn"])
    obs = np.array([f"all {n} hold" for n in agg["n_evaluated"]], dtype=object)
    cells = [[] for _ in range(len(agg))]
    notpass = (st != "holds").to_numpy(dtype=bool)
    if notpass.any():
        # plain Python over column arrays: a groupby + itertuples per report cost ~7 ms a report
        pos = {k: j for j, k in enumerate(zip(agg["report_id"], agg["check"]))}
        lines_by: dict[int, list[int]] = {}       # (report, check) → its not-holding rows, in order
        cells_by: dict[int, list[str]] = {}
        cols = [_object_values(recon[c], notpass) for c in
                ("report_id", "check", "status", "key", "lhs", "rhs", "cells")]
        labels = [key if isinstance(key, str) and key else "(row)" for key in cols[3]]
        broken = cols[2] == "broken"
        for k, (rid, chk, is_broken, cl) in enumerate(zip(cols[0], cols[1], broken, cols[6])):
            j = pos[(rid, chk)]
            lines_by.setdefault(j, []).append(k)
            if is_broken:
                cells_by.setdefault(j, []).extend(cl.split("; "))
        # a line sorts after the broken ones when it says "not evaluable": every not-evaluable line, and a
        # broken one whose label or values hold the words (nothing else of it can). Only the values of
        # the broken rows and of the 5 lines shown per check are decoded (kilobytes a row, most rows
        # not evaluable and ~40% never shown: decoding all cost ~0.03 ms a report)
        values = np.full(len(labels), None, dtype=object)
        values[broken] = _object_values(recon["values"], _subset(notpass, broken))
        says = ~broken
        for k in np.flatnonzero(broken):
            says[k] = "not evaluable" in labels[k] or "not evaluable" in f"{values[k]}"
        shown = {j: sorted(ks, key=says.__getitem__)[:5] for j, ks in lines_by.items()}
        needed = np.zeros(len(labels), dtype=bool)
        for ks in shown.values():
            needed[ks] = True
        needed &= ~broken
        values[needed] = _object_values(recon["values"], _subset(notpass, needed))
        lhs, rhs = cols[4], cols[5]
        for j, ks in shown.items():
            lines = [f"{labels[k]}: lhs {fmt_num(lhs[k])} ≠ rhs {fmt_num(rhs[k])} [{values[k]}]" if broken[k]
                     else f"{labels[k]}: not evaluable [{values[k]}]" for k in ks]
            n_lines = len(lines_by[j])
            more = f" (+{n_lines - 5} more)" if n_lines > 5 else ""
            obs[j] = " | ".join(lines) + more
            cells[j] = list(dict.fromkeys(cells_by.get(j, [])))
    agg["observed"] = pd.Series(obs, index=agg.index, dtype=object)
    agg["cells"] = cells
    return agg


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """Position of each code's first row, for codes numbered in order of first appearance (pd.factorize)."""
    first = np.empty(codes.max() + 1 if len(codes) else 0, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    return first


def _details(p: Prepared, mask: np.ndarray, what: str, limit: int = 5) -> dict:
    """report_id → (observed text, cells) for the rows where mask is True (few rows expected)."""
    out = {}
    rows = np.flatnonzero(mask)
    if len(rows) == 0:
        return out
    df = p.df
    # the texts of these rows only (a whole column as Python strings cost ~5 ms a batch per rule)
    rp, cp = (df[c].iloc[rows].to_numpy(dtype=object) for c in ("row_path", "column_path"))
    raw = df["raw_value"].iloc[rows].to_numpy(dtype=object) if "raw_value" in df else np.full(len(rows), None)
    report_of = p.reports.to_numpy(dtype=object)[p.rcodes[rows]]
    by: dict[str, list[int]] = {}
    for k, rid in enumerate(report_of):
        by.setdefault(rid, []).append(k)
    for rid, kk in by.items():
        cells = [addr_label((rp[k] if isinstance(rp[k], str) else "", str(cp[k]))) for k in kk]
        shown = [f"{cl} = {fmt_num(p.value[rows[k]])} (printed {raw[k]!r})" for cl, k in zip(cells, kk)][:limit]
        more = f" (+{len(cells) - limit} more)" if len(cells) > limit else ""
        out[rid] = (f"{len(cells)} {what}: " + "; ".join(shown) + more, cells)
    return out


def _structural_checks(prepared: dict[str, Prepared], reports: pd.DataFrame) -> list[dict]:
    """_qc_rows parts of the structural rules (columns as arrays: a DataFrame per rule and table, whose
    text columns pandas infers as str row by row, cost ~20 ms a batch)."""
    parts = []
    rep = reports.set_index(reports["report_id"].astype("str")) if len(reports) else None
    parsed_ids = pd.Index(rep.index[rep["status"] == "parsed"]) if rep is not None else pd.Index([])
    for table in TABLES:
        p = prepared[table]
        # reports concerned: those with cells in the table, plus parsed reports without them (missing)
        extra_ids = parsed_ids.difference(p.reports, sort=False)
        rids = p.reports.append(pd.Index(extra_ids, dtype=object))
        n_all = len(rids)
        if n_all == 0:
            continue
        pad = lambda a, fill=0: np.concatenate([a, np.full(n_all - p.n, fill, dtype=np.asarray(a).dtype)])  # noqa: E731
        fmt = pad(p.format.astype(object), None)
        h = p.helpers
        n_cells = pad(np.bincount(p.rcodes, minlength=p.n))
        n_rows = len(p.df)

        def by_cells(bad: np.ndarray) -> np.ndarray:
            """Per report: parser when a failing cell carries a parser flag, else publisher."""
            pf = h["_parser_flagged"].to_numpy(dtype=bool) if "_parser_flagged" in h else np.zeros(len(bad), bool)
            return np.where(pad(p.count(bad & pf)) > 0, "parser", "publisher").astype(object)

        def rule(name, status, n_eval, n_failed, details, ok_text, attribution="parser"):
            obs = np.array([ok_text if callable(ok_text) is False else None] * n_all, dtype=object)
            if callable(ok_text):
                obs = np.array([ok_text(j) for j in range(n_all)], dtype=object)
            cells = [[] for _ in range(n_all)]
            pos = {r: j for j, r in enumerate(p.reports)}
            for rid, (text, cl) in details.items():
                obs[pos[rid]] = text
                cells[pos[rid]] = cl
            parts.append(_qc_rows(rids, f"{table}.{name}", table, fmt, status, n_eval, n_failed, 0, obs, cells,
                                  attribution))

        # known addresses: a pure template only its own format's, a hybrid (or undetected) any format's;
        # flagged extra rows are kept as extra rows
        known = (p.acodes >= 0).copy()
        for name in FORMAT_NAMES:
            m = p.row_template == name
            if m.any():
                known[m] = IN_FORMAT[table][name][p.acodes[m]]
        unknown = ~(known | (h["_extra_row"].to_numpy() if n_rows else np.zeros(0, bool)))
        nu = pad(p.count(unknown))
        rule("known_addresses", np.where(nu > 0, "fail", "pass"), n_cells, nu,
             _details(p, unknown, "cells at addresses outside the format"), "all addresses known")
        # unique cells (by address; unknown addresses by their text)
        key = np.where(p.acodes >= 0, p.acodes, -1 - np.arange(n_rows)) if n_rows else np.zeros(0, np.int64)
        # (report, key) pairs as one int64 (a two-column duplicated() cost ~3x more): codes in order of
        # first appearance tell both the repeated pairs and each pair's first row
        pair = pd.factorize(p.rcodes.astype(np.int64) * (n_rows + len(ADDRESS_INDEX[table]) + 1) + key + n_rows)[0]
        dup = np.bincount(pair)[pair] > 1 if n_rows else np.zeros(0, bool)
        if n_rows and (~(p.acodes >= 0)).any():
            dup = dup | p.df.duplicated(["report_id", "row_path", "column_path"], keep=False).to_numpy()
        nd = pad(p.count(dup))
        rule("unique_cells", np.where(nd > 0, "fail", "pass"), n_cells, nd,
             _details(p, dup, "duplicated cells"), "no duplicate cell")
        # completeness: distinct addresses of the chosen format present vs the format's cell count
        in_fmt = np.zeros(n_rows, dtype=bool)
        for name in FORMAT_NAMES:
            m = p.cell_format == name
            if m.any():
                in_fmt[m] = IN_FORMAT[table][name][p.acodes[m]]
        if n_rows:
            first_row = np.zeros(n_rows, dtype=bool)
            first_row[_first_rows(pair)] = True
            first = in_fmt & first_row
        else:
            first = in_fmt
        present = pad(p.count(first))
        size = {n: len(ADDRESSES[table][n]) for n in FORMAT_NAMES}
        expected = np.array([size.get(f, max(size.values())) for f in fmt], dtype=np.int64)
        status_col = f"{table}_status"
        if rep is not None and status_col in rep:
            tstatus = rep[status_col].reindex(rids).astype("str").fillna("missing").to_numpy(dtype=object)
            tstatus = np.where(pd.isna(rep[status_col].reindex(rids)).to_numpy(), "unknown", tstatus)
        else:
            tstatus = np.where(present >= expected, "complete", "incomplete").astype(object)
        missing_n = np.clip(expected - present, 0, None)
        comp_status = np.where(tstatus == "complete", np.where(missing_n > 0, "fail", "pass"), "warn")
        comp_obs = np.array([f"table {s}: {pr} of {e} cells of format {f or '?'} present"
                             for s, pr, e, f in zip(tstatus, present, expected, fmt)], dtype=object)
        comp_cells = [[] for _ in range(n_all)]
        for j in np.flatnonzero((missing_n > 0) & (present > 0)):
            have = set(p.acodes[(p.rcodes == j) & in_fmt]) if j < p.n else set()
            miss = [addr_label(a) for k, a in enumerate(ADDRESS_INDEX[table])
                    if IN_FORMAT[table][fmt[j]][k] and k not in have]
            comp_cells[j] = miss
            comp_obs[j] += f"; missing {len(miss)}: " + "; ".join(miss[:5]) + (" …" if len(miss) > 5 else "")
        parts.append(_qc_rows(rids, f"{table}.completeness", table, fmt, comp_status, expected, missing_n, 0,
                              comp_obs, comp_cells,
                              # a table said complete that lacks cells is the parser's; an incomplete or
                              # missing one the copy's
                              np.where(comp_status == "fail", "parser", np.where(comp_status == "warn", "publisher",
                                                                                 None))))
        # the cell rules below are emitted even when no report of the batch has cells in the table (all
        # pass, nothing evaluated), as they are for such a report among others: rows never depend on
        # which reports share a batch
        if n_rows == 0:
            h = pd.DataFrame({"_kind": np.zeros(0, dtype=object), "_fraction": np.zeros(0),
                              "_raw_has_value": np.zeros(0, bool), "_flagged": np.zeros(0, bool),
                              "_parser_flagged": np.zeros(0, bool),
                              "_warn_flagged": np.zeros(0, bool), "_fail_flagged": np.zeros(0, bool)})
        # counts: non-negative integers where the format says count
        v = p.value
        is_count = (h["_kind"] == "count").to_numpy(dtype=bool) & ~np.isnan(v)   # compared in Arrow
        bad = is_count & ((v < 0) | (h["_fraction"].to_numpy() != 0))
        nb, ne = pad(p.count(bad)), pad(p.count(is_count))
        rule("nonnegative_counts", np.where(nb > 0, "fail", "pass"), ne, nb,
             _details(p, bad, "counts negative or not integer"), lambda j: f"{ne[j]} counts, all non-negative integers",
             by_cells(bad))
        # raw text present ⇒ value present, unless flagged
        printed = h["_raw_has_value"].to_numpy(dtype=bool)
        unparsed = printed & np.isnan(v) & ~h["_flagged"].to_numpy(dtype=bool)
        nu2, npr = pad(p.count(unparsed)), pad(p.count(printed))
        rule("raw_value_parsed", np.where(nu2 > 0, "fail", "pass"), npr, nu2,
             _details(p, unparsed, "printed values not parsed and not flagged"), "every printed value parsed")
        # implausible values (beyond the format's value_bounds, or integers a float64 cannot hold) → fail
        bad_value = h["_fail_flagged"].to_numpy(dtype=bool)
        nbv = pad(p.count(bad_value))
        rule("plausible_values", np.where(nbv > 0, "fail", "pass"), n_cells, nbv,
             _details(p, bad_value, "implausible values (flagged, or beyond the format's value_bounds)"),
             "every value within the format's bounds", by_cells(bad_value))
        # flagged cells (inferred / unresolved) → warn
        wf = h["_warn_flagged"].to_numpy(dtype=bool)
        nw = pad(p.count(wf))
        rule("flagged_cells", np.where(nw > 0, "warn", "pass"), n_cells, nw,
             _details(p, wf, "cells flagged inferred/unresolved"), "no inferred or unresolved cell")
    return parts



def _qc_rows(rids, check: str, table: str, fmt, status, n_eval, n_failed, n_blank, observed, cells,
             attribution) -> pd.DataFrame:
    """Columns of quality_checks rows as arrays (object for text): joined into one frame by _rows_frame,
    since a DataFrame per check infers string dtypes row by row."""
    status = np.asarray(status, dtype=object)
    n = len(status)
    full = lambda x, dtype=object: np.broadcast_to(np.asarray(x, dtype=dtype), (n,))  # noqa: E731
    cl = np.empty(n, dtype=object)
    cl[:] = cells
    return {"report_id": np.asarray(rids, dtype=object), "check": full(check), "identity_number": full(None),
            "table": full(table), "format": full(fmt), "status": status,
            "n_evaluated": full(n_eval, np.int64), "n_failed": full(n_failed, np.int64),
            "n_not_evaluable": full(n_blank, np.int64), "observed": np.asarray(observed, dtype=object), "cells": cl,
            "related_report_id": full(None),
            "attribution": np.where(status == "pass", None, np.asarray(attribution, dtype=object))}


def _rows_frame(parts: list[dict]) -> list[pd.DataFrame]:
    """One frame of the _qc_rows parts (none when there is no part)."""
    if not parts:
        return []
    return [pd.DataFrame({c: pd.Series(np.concatenate([p[c] for p in parts]),
                                       dtype=object if parts[0][c].dtype == object else None)
                          for c in parts[0]})]



def _hierarchy_checks(prepared: dict[str, Prepared]) -> list[pd.DataFrame]:
    """Parts never above their total (the hierarchy of the format files), per report: every (total,
    part) pair with both cells printed is evaluated; a part above its total fails. A blank cell leaves
    its pair out (n_not_evaluable) without a warn: the identities already warn about blanks."""
    parts = []
    for table, fname, fmt, p, sel in format_groups(prepared):
        W, F = p.W[sel], p.F[sel]
        for k, h in enumerate(fmt.hierarchy):
            if h.table != table:
                continue
            ti, pi, tl, pl = hierarchy_pairs(fname, k)
            wt, wp = W[:, ti], W[:, pi]
            both = ~(np.isnan(wt) | np.isnan(wp))
            over = both & (wp > wt + TOLERANCE)
            n_failed = over.sum(axis=1)
            by_parser = (over & (F[:, ti] | F[:, pi])).any(axis=1)
            observed = texts(lambda n: f"all {n} parts within their totals", both.sum(axis=1))
            cells = [[] for _ in sel]
            for j in np.flatnonzero(n_failed):          # the failing reports only
                bad = np.flatnonzero(over[j])
                shown = [f"{pl[i]} = {fmt_num(wp[j, i])} > {tl[i]} = {fmt_num(wt[j, i])}" for i in bad[:5]]
                more = f" (+{len(bad) - 5} more)" if len(bad) > 5 else ""
                observed[j] = f"{len(bad)} parts above their total: " + "; ".join(shown) + more
                cells[j] = list(dict.fromkeys(x for i in bad for x in (pl[i], tl[i])))
            parts.append(_qc_rows(p.reports.to_numpy()[sel], h.id, table, np.full(len(sel), fname, dtype=object),
                                  np.where(n_failed > 0, "fail", "pass"), both.sum(axis=1), n_failed,
                                  (~both).sum(axis=1), observed, cells,
                                  np.where(by_parser, "parser", "publisher")))
    return parts


def _level_checks(prepared: dict[str, Prepared], reports: pd.DataFrame) -> list[pd.DataFrame]:
    """Counts above the bound of the body's level (transforms/checks.yaml level_bounds): a warn. A
    report whose level is unknown, or a level without a bound, is not evaluated (pass, 0 evaluated)."""
    parts = []
    if len(reports):
        rep = reports.drop_duplicates("report_id")
        level_of = pd.Series(body_level(rep).to_numpy(dtype=object), index=rep["report_id"].astype(object))
    else:
        level_of = pd.Series(dtype=object)
    for b in CHECKS.level_bounds:
        p = prepared[b.table]
        if p.n == 0:
            continue
        level = level_of.reindex(p.reports).to_numpy(dtype=object)
        bound = pd.Series(level, dtype=object).map(b.max_count).to_numpy(dtype="float64", na_value=np.nan)
        cnt = IS_COUNT[b.table]
        W = p.W[:, cnt]
        known = ~np.isnan(bound)
        printed = (~np.isnan(W)) & known[:, None]
        with np.errstate(invalid="ignore"):
            over = printed & (W > bound[:, None])
        n_failed = over.sum(axis=1)
        by_parser = (over & p.F[:, cnt]).any(axis=1)
        labels = [addr_label(a) for a, c in zip(ADDRESS_INDEX[b.table], cnt) if c]
        observed = texts(lambda n, lv, bd: f"{n} counts within the {lv}-level bound of {fmt_num(bd)}" if bd == bd
                          else "level of the body unknown or without a bound: not checked",
                          printed.sum(axis=1), level.astype(str), bound)
        cells = [[] for _ in range(p.n)]
        for j in np.flatnonzero(n_failed):
            bad = np.flatnonzero(over[j])
            shown = [f"{labels[i]} = {fmt_num(W[j, i])}" for i in bad[:5]]
            more = f" (+{len(bad) - 5} more)" if len(bad) > 5 else ""
            observed[j] = (f"{len(bad)} counts above {fmt_num(bound[j])}, the bound for a {level[j]}-level body: "
                           + "; ".join(shown) + more)
            cells[j] = [labels[i] for i in bad]
        parts.append(_qc_rows(p.reports, b.id, b.table, p.format, np.where(n_failed > 0, "warn", "pass"),
                              printed.sum(axis=1), n_failed, 0, observed, cells,
                              np.where(by_parser, "parser", "publisher")))
    return parts


def _all_zero_check(prepared: dict[str, Prepared]) -> list[pd.DataFrame]:
    """A report whose every printed count and amount, in every statutory table, is 0 (and that prints
    at least checks.yaml's min_values of them): a warn to review, never a fail."""
    ids = pd.Index(list(dict.fromkeys(x for t in TABLES for x in prepared[t].reports)), dtype=object)
    if len(ids) == 0:
        return []
    printed = np.zeros(len(ids), dtype=np.int64)
    nonzero = np.zeros(len(ids), dtype=np.int64)
    flagged = np.zeros(len(ids), dtype=bool)
    for t in TABLES:
        p = prepared[t]
        if p.n == 0:
            continue
        pos = ids.get_indexer(p.reports)
        W = p.W
        printed[pos] += (~np.isnan(W)).sum(axis=1)
        nonzero[pos] += (~np.isnan(W) & (W != 0)).sum(axis=1)
        flagged[pos] |= p.F.any(axis=1)
    zero = (nonzero == 0) & (printed >= CHECKS.all_zero_min_values)
    fmt_app = pd.Series(prepared[CHECKS.all_zero_table].format, index=prepared[CHECKS.all_zero_table].reports,
                        dtype=object).reindex(ids).to_numpy(dtype=object)
    observed = texts(lambda n, nz, z: f"all {n} printed values are 0" if z else f"{nz} of {n} printed values are not 0",
                      printed, nonzero, zero)
    return [_qc_rows(ids, CHECKS.all_zero_id, CHECKS.all_zero_table, fmt_app, np.where(zero, "warn", "pass"),
                     printed, np.where(zero, printed, 0), 0, observed, [[] for _ in ids],
                     np.where(flagged, "parser", "publisher"))]


def quality_checks(frames: dict[str, pd.DataFrame], recon: pd.DataFrame | None = None,
                   prepared: dict[str, Prepared] | None = None) -> pd.DataFrame:
    """The `quality_checks` rows of the per-report checks: one row per report × check, status
    pass | warn | fail (the cross-year rows come from the run-level pass)."""
    prepared = prepared or prepare(frames)
    if recon is None:
        recon = reconcile(frames, prepared)
    reports = frames.get("reports")
    if reports is None:
        reports = empty("reports")
    if len(reports):     # a boolean filter copies the ~40 columns (~30 µs a report) even when it keeps all
        readable = (reports["status"] != "unreadable").to_numpy(dtype=bool)
        reports = reports if readable.all() else reports[readable]
    prose = narrative_checks(frames.get("statements"), reports["report_id"], reports["report_year"],
                                     prepared, ADDRESS_INDEX) if len(reports) else None
    new_rows = _rows_frame([*_hierarchy_checks(prepared), *_level_checks(prepared, reports), *_all_zero_check(prepared),
                            *_structural_checks(prepared, reports)])
    parts = [p for p in [identity_checks(recon), *new_rows, prose]
             if p is not None and len(p)]
    if not parts:
        return empty("quality_checks")
    return checks_frame(pd.concat(parts, ignore_index=True), meta(frames, prepared))


def checks_frame(qc: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """quality_checks rows with the reports' metadata, typed, in report_id then check order."""
    m = meta.reindex(qc["report_id"])
    for c in META:      # typed arrays as they are: to_numpy made Python objects typed converted back (~20 ms)
        qc[c] = m[c].array
    qc["source_file"] = qc["source_file"].fillna("")
    order = {c: i for i, c in enumerate(check_names())}
    # report_id then check order, stable (a check the catalogue does not know last): one lexsort of
    # the report_ids' sorted codes, ~2x cheaper than sort_values on the strings
    report_rank = pd.factorize(qc["report_id"], sort=True)[0]
    check_rank = qc["check"].map(order).to_numpy(dtype="float64", na_value=np.inf)
    qc = qc.take(np.lexsort((check_rank, report_rank)))
    return conform(qc, "quality_checks")


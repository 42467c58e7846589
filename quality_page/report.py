"""The maintainers' summary page (static HTML + PNG figures, matplotlib Agg). Pure pandas/matplotlib.

    load_datasets(processed_dir) -> {dataset: DataFrame}   (the cell tables: only what the page shows)
    summary_numbers(data) -> dict            (everything the page and the figures show; also summary.json)
    write_summary(data, out_dir, docs_index=..., source_root=...) -> Path to index.html

The page is static HTML written with every data string escaped; its filters are one local script
(`report.js`, copied from quality_page/static next to the page) that compares the rows' data-*
attribute values with the selected options and toggles `hidden`: data never becomes markup.

Extending it: a quality_checks column added to FAILURE_COLUMNS reaches each failed-check row as
text under its own name; showing it is one entry of FAILURE_TABLE, filtering by it one entry of
FAILURE_FACETS; the order (and so the cap) of the failed checks is `failure_order`.
"""
from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from transforms import schema
from transforms.formats import FORMATS
from transforms.datasets import load_frame

VERDICT_ORDER = ("fail", "warn", "pass")
DATASETS = ("reports", *schema.STATUTORY_TABLES, "quality_checks", "quarantine")
# The columns the page reads (quality_checks has a row per report × check: its list and text
# columns would cost GBs of Python objects on a large corpus); None = all.
PAGE_COLUMNS = {
    "reports": ["report_id", "source_file", "organization", "organization_type", "report_year", "template",
                "verdict", "failed_checks"],
    "quality_checks": ["report_id", "report_year", "check", "status", "n_evaluated", "n_failed",
                       "review_decision", "attribution"],
    "applications": ["report_year", "row_path", "column_path", "value"],
}
# The failing rows of quality_checks, with what a maintainer acts on (read for status == fail only)
FAILURE_COLUMNS = ["report_id", "check", "table", "n_failed", "n_evaluated", "observed", "cells"]
# The printed cells behind a shown failure (read for the shown reports only)
CELL_COLUMNS = ["report_id", "row_path", "column_path", "source_line", "raw_value"]
MAX_FAILURES_SHOWN = 500      # rows of the failed-checks table (the page says "N of M")
MAX_WORST_SHOWN = 25
MAX_LINES_SHOWN = 5           # printed cells listed per failed check
OBSERVED_CHARS = 240          # of quality_checks.observed (a failure lists every printed cell: KBs)
MIN_EVALUATED = 20            # the failure-rate figure plots checks evaluated in at least this many reports


# --------------------------------------------------------------------------------------------------
# Loading


def _save(fig, out_dir, name: str, title: str, figs: list, rect=(0, 0, 1, 1)) -> None:
    """Write one figure as PNG next to the page and list it for the page."""
    import matplotlib.pyplot as plt

    fig.tight_layout(rect=rect)
    fig.savefig(out_dir / name, dpi=90)
    plt.close(fig)
    figs.append((name, title))

def read_dataset(path: Path, name: str, filter=None, columns: list[str] | None = None) -> pd.DataFrame:
    """A dataset as the page reads it (transforms/datasets.py): ``filter`` and ``columns`` applied while
    scanning, strings as categoricals (the page only counts them), one file at a time (memory)."""
    return load_frame(path, name, filter=filter, columns=columns, dictionary_strings=True, low_memory=True)


def _cell_filters() -> dict:
    """Of the cell tables, the page reads only the applications 总计 cells of the outcome groups (the
    cell tables are the bulk of the data)."""
    import pyarrow.dataset as ds

    return {"applications": (ds.field("column_path") == _total_column())
            & ds.field("row_path").isin(sorted(outcome_groups()))}


def page_datasets() -> list[str]:
    """The datasets the summary page reads: a run builds the page once these are published (every cell
    table: a failed check's printed cells may be in any of them)."""
    return list(DATASETS)


def load_datasets(processed_dir: Path) -> dict[str, pd.DataFrame]:
    """What the page needs: the per-report datasets (their PAGE_COLUMNS), the filtered cells of
    _cell_filters, the failing quality_checks rows and the printed cells of the failures shown."""
    import pyarrow.dataset as ds

    processed_dir = Path(processed_dir)
    need = _cell_filters()
    data = {n: read_dataset(processed_dir / n, n, filter=need.get(n), columns=PAGE_COLUMNS.get(n))
            for n in DATASETS if n not in schema.STATUTORY_TABLES or n in need}
    data["failures"] = read_dataset(processed_dir / "quality_checks", "quality_checks",
                                    filter=ds.field("status") == "fail", columns=FAILURE_COLUMNS)
    data["shown_failures"] = shown_failures(data)
    data["failure_cells"] = failure_cells(processed_dir, data["shown_failures"])
    data[REVIEW_ENTRIES] = read_review_entries(Path(processed_dir))
    return data


def failure_cells(processed_dir: Path, shown: pd.DataFrame) -> pd.DataFrame:
    """The cells (source_line, raw_value) of the reports whose failures the page shows, from the cell
    tables those failures read; a scan filtered on report_id (the files are in report_id order with
    min/max statistics on it, so most row groups are skipped)."""
    import pyarrow.dataset as ds

    frames = []
    for table, ids in shown.groupby(shown["table"].astype(str))["report_id"]:
        if table not in schema.STATUTORY_TABLES:
            continue
        cells = read_dataset(Path(processed_dir) / table, table, columns=CELL_COLUMNS,
                             filter=ds.field("report_id").isin(sorted(set(ids.astype(str)))))
        frames.append(cells.astype({c: object for c in CELL_COLUMNS if c != "source_line"}).assign(table=table))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in [*CELL_COLUMNS, "table"]})
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------------
# Numbers

OUTCOMES = "outcomes"    # code of table 三's outcome rows node (三、本年度办理结果) in the format files


def outcome_groups() -> dict[str, str]:
    """applications row_path → outcome group code (（一）…（六）), from the format files: the rows the
    identity of the outcomes' total (the total row under OUTCOMES) sums."""
    out = {}
    for f in FORMATS.values():
        t = f.tables["applications"]
        rows = {r.path: r for b in t.blocks for r in b.rows}
        outcome_rows = {p for i in f.identities if i.table == t.name
                        and any(r in rows and rows[r].parent_code == OUTCOMES for r in i.lhs) for p in i.rhs}
        for b in t.blocks:
            for r in b.rows:
                if r.path in outcome_rows:
                    out[r.path] = r.code if r.parent_code in ("", OUTCOMES) else r.parent_code
    return out


def _total_column() -> str:
    for f in FORMATS.values():
        for b in f.tables["applications"].blocks:
            for c in b.columns:
                if c.code == "total":
                    return c.path
    raise LookupError("no total column in applications")


def _labels(s: pd.Series, missing: str) -> pd.Series:
    """Text labels of a column, `missing` where null (string columns are read as categoricals, whose
    fillna refuses a value that is not already a category)."""
    return s.astype(object).where(s.notna(), missing).astype(str)


def _labelled_reports(rep: pd.DataFrame) -> pd.DataFrame:
    """reports with the text labels the page groups and filters by (year_, fmt_, verdict_, body_)."""
    year = rep["report_year"].astype("Int64").astype(object).where(rep["report_year"].notna(), "unknown")
    body = rep["organization_type"] if "organization_type" in rep else pd.Series(None, index=rep.index, dtype=object)
    return rep.assign(year_=year.astype(str), fmt_=_labels(rep["template"], "none"),
                      verdict_=_labels(rep["verdict"], "none"), body_=_labels(body, "unknown"))


FAILURE_KEYS = ["report_id", "source_file", "organization", "year_", "fmt_", "body_", "check", "table",
                "n_failed", "n_evaluated", "observed", "cells", "n_fail_report"]


def failure_order(failures: pd.DataFrame) -> tuple[list[str], list[bool]]:
    """(columns, ascending) the failed checks are listed and capped in: the reports with the most failed
    checks first, each report's checks together."""
    return ["n_fail_report", "source_file", "report_id", "check"], [False, True, True, True]


def shown_failures(data: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The failing quality_checks rows the page lists (MAX_FAILURES_SHOWN, in failure_order), with
    their report's labels."""
    f = data.get("failures")
    if f is None or not len(f):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FAILURE_KEYS})
    rep = _labelled_reports(data["reports"])[["report_id", "source_file", "organization", "year_", "fmt_", "body_"]]
    rep = rep.astype({"report_id": str, "source_file": object, "organization": object})
    f = f.astype({"report_id": str, "check": str, "table": str})
    merged = f.merge(rep, on="report_id", how="left")
    for c in ("year_", "fmt_", "body_"):
        merged[c] = merged[c].fillna("unknown")
    merged["n_fail_report"] = merged.groupby("report_id")["check"].transform("size")
    by, ascending = failure_order(merged)
    merged = merged.sort_values(by, ascending=ascending, kind="stable", na_position="last")
    return merged.head(MAX_FAILURES_SHOWN).reset_index(drop=True)


def _cell_address(label: str) -> tuple[str, str]:
    """(row_path, column_path) of a quality_checks.cells label: 'row | column', or the column alone
    where the table has one unnamed row (table 四)."""
    row_path, sep, column_path = label.partition(" | ")
    return (row_path, column_path) if sep else ("", label)


def _failure_rows(shown: pd.DataFrame, cells: pd.DataFrame | None) -> list[dict]:
    """The failed checks as the page lists them: observed values (cut at OBSERVED_CHARS) and the
    printed cells involved with their source line and printed text."""
    wanted = pd.DataFrame([(k, r.report_id, r.table, str(c), *_cell_address(str(c)))
                           for k, r in enumerate(shown.itertuples(index=False)) for c in list(r.cells)[:MAX_LINES_SHOWN]],
                          columns=["k", "report_id", "table", "cell", "row_path", "column_path"])
    if cells is not None and len(cells) and len(wanted):      # a join on the few cells listed, not a dict of all
        keys = ["report_id", "table", "row_path", "column_path"]
        wanted = wanted.merge(cells[[*keys, "source_line", "raw_value"]].astype({k: object for k in keys})
                              .drop_duplicates(keys), on=keys, how="left")
    else:
        wanted = wanted.assign(source_line=None, raw_value=None)
    printed: dict[int, list[dict]] = {}
    for w in wanted.itertuples(index=False):
        printed.setdefault(w.k, []).append({"cell": w.cell,
                                            "line": None if pd.isna(w.source_line) else int(w.source_line),
                                            "raw_value": None if pd.isna(w.raw_value) else str(w.raw_value)})
    rows = []
    for k, r in enumerate(shown.itertuples(index=False)):
        observed = "" if pd.isna(r.observed) else str(r.observed)
        lines = printed.get(k, [])
        rows.append({**{c: _text_or_unknown(getattr(r, c)) for c in FAILURE_COLUMNS if c not in _FAILURE_BUILT_IN},
                     "report_id": r.report_id, "source_file": None if pd.isna(r.source_file) else str(r.source_file),
                     "organization": None if pd.isna(r.organization) else str(r.organization),
                     "year": r.year_, "format": r.fmt_, "body_type": r.body_, "check": r.check, "table": r.table,
                     "n_failed": int(r.n_failed), "n_evaluated": int(r.n_evaluated),
                     "observed": observed[:OBSERVED_CHARS], "observed_chars": len(observed),
                     "n_cells": len(r.cells), "lines": lines})
    return rows


# the FAILURE_COLUMNS _failure_rows shapes itself; any other one is passed on as text ("unknown" when null)
_FAILURE_BUILT_IN = frozenset(("report_id", "check", "table", "n_failed", "n_evaluated", "observed", "cells"))


def _text_or_unknown(x) -> str:
    return "unknown" if x is None or (not isinstance(x, (list, tuple, np.ndarray)) and pd.isna(x)) else str(x)


def summary_numbers(data: dict[str, pd.DataFrame]) -> dict:
    rep, qc, q, app = data["reports"], data["quality_checks"], data["quarantine"], data["applications"]
    rep = _labelled_reports(rep)
    vc = (rep.groupby(["year_", "fmt_", "verdict_"]).size().unstack("verdict_", fill_value=0)
          .reindex(columns=list(VERDICT_ORDER), fill_value=0))
    verdicts = [{"year": y, "format": f, **{v: int(r[v]) for v in VERDICT_ORDER}, "total": int(r.sum())}
                for (y, f), r in vc.iterrows()]
    by_year = rep.groupby(["year_", "verdict_"]).size().unstack(fill_value=0).reindex(
        columns=list(VERDICT_ORDER), fill_value=0)
    # checks
    qc_year = qc["report_year"].astype("Int64")
    qy = qc.assign(year_=pd.Categorical(qc_year.astype(str).where(qc_year.notna(), "unknown")),
                   status_=qc["status"].astype("category"), check_=qc["check"].astype("category"))
    checks = (qy.groupby("check_")["status_"].value_counts().unstack(fill_value=0)
              .reindex(columns=["fail", "warn", "pass"], fill_value=0))
    checks["reports"] = checks.sum(axis=1)
    # failed or warned rows whose cells the parser flagged: the ones a maintainer can fix, triaged first
    by_parser = (qy["status_"] != "pass") & (qy["attribution"] == "parser") if "attribution" in qy else \
        pd.Series(False, index=qy.index)
    checks["parser"] = by_parser.groupby(qy["check_"], observed=False).sum().reindex(checks.index, fill_value=0)
    # "evaluated": reports where the check had at least one instance to judge (a check not evaluable
    # in a report says nothing about its failure rate)
    n_eval = qy["n_evaluated"] if "n_evaluated" in qy else pd.Series(1, index=qy.index)
    n_fail = qy["n_failed"] if "n_failed" in qy else (qy["status_"] == "fail").astype(int)
    per = pd.DataFrame({"check_": qy["check_"], "evaluated": (n_eval.fillna(0) > 0).astype(int),
                        "instances_failed": n_fail.fillna(0).astype("int64"),
                        "instances_evaluated": n_eval.fillna(0).astype("int64")}).groupby("check_", observed=True).sum()
    checks = checks.join(per, how="left").fillna(0)
    checks["fail_rate"] = checks["fail"] / checks["evaluated"].where(checks["evaluated"] > 0, checks["reports"])
    checks = checks.sort_values(["fail", "warn"], ascending=False)
    most_failed = [{"check": c, "fail": int(r["fail"]), "warn": int(r["warn"]), "reports": int(r["reports"]),
                    "evaluated": int(r["evaluated"]), "fail_rate": round(float(r["fail_rate"]), 4),
                    "instances_failed": int(r["instances_failed"]), "instances_evaluated": int(r["instances_evaluated"]),
                    "parser": int(r["parser"])}
                   for c, r in checks.iterrows() if r["fail"] + r["warn"] > 0]
    n_checks = int(len(checks))
    rate = (qy.assign(_f=(qy["status_"] == "fail").astype(int)).groupby(["check_", "year_"])["_f"].mean()
            .unstack(fill_value=0.0))
    failing = [c for c in rate.index if rate.loc[c].max() > 0]
    failure_rate = {c: {y: round(float(rate.loc[c, y]), 4) for y in rate.columns} for c in failing}
    # worst reports
    rank = {"fail": 2, "warn": 1, "pass": 0}
    nfail = qy[qy["status_"] == "fail"].groupby("report_id").size()
    nwarn = qy[qy["status_"] == "warn"].groupby("report_id").size()
    nparser = qy[by_parser].groupby("report_id").size()
    rr = rep.assign(rank_=rep["verdict_"].map(rank).fillna(0).astype(int),
                    nfail_=rep["report_id"].map(nfail).fillna(0).astype(int),
                    nwarn_=rep["report_id"].map(nwarn).fillna(0).astype(int),
                    nparser_=rep["report_id"].map(nparser).fillna(0).astype(int))
    rr, reviews = review_triage(rr, qc, data.get(REVIEW_ENTRIES))
    rr = rr[rr["rank_"] > 0].sort_values(["open_", "rank_", "nparser_", "nfail_", "nwarn_", "source_file"],
                                         ascending=[False, False, False, False, False, True])
    worst = [{"report_id": r.report_id, "source_file": r.source_file, "organization": r.organization,
              "year": r.year_, "format": r.fmt_, "body_type": r.body_, "verdict": r.verdict_,
              "failed_checks": list(r.failed_checks), "n_fail": int(r.nfail_), "n_warn": int(r.nwarn_),
              "n_reviewed": int(r.reviewed_), "n_parser": int(r.nparser_)}
             for r in rr.head(MAX_WORST_SHOWN).itertuples()]
    shown = data["shown_failures"] if "shown_failures" in data else shown_failures(data)
    failures = data.get("failures")
    n_failures = 0 if failures is None else int(len(failures))
    # applications by outcome group (总计 column), per year
    groups, total = outcome_groups(), _total_column()
    a = app[(app["column_path"] == total) & app["row_path"].isin(list(groups))]
    a = a.assign(group_=a["row_path"].map(groups).astype(str),
                 year_=a["report_year"].astype("Int64").astype(object).where(a["report_year"].notna(), "unknown")
                 .astype(str))
    og = a.groupby(["group_", "year_"])["value"].sum().unstack(fill_value=0.0)
    order = list(dict.fromkeys(groups.values()))
    og = og.reindex([g for g in order if g in og.index])
    outcomes = {g: {y: float(og.loc[g, y]) for y in og.columns} for g in og.index}
    quarantine = [{"source_file": r.source_file, "reason_code": r.reason_code, "reason": r.reason,
                   "sha256": r.sha256, "file_size": None if pd.isna(r.file_size) else int(r.file_size)}
                  for r in q.itertuples()]
    return {"n_reports": int(len(rep)), "n_quarantined": int(len(q)),
            "verdict_totals": {v: int((rep["verdict_"] == v).sum()) for v in VERDICT_ORDER},
            "verdicts": verdicts,
            "verdicts_by_year": {y: {v: int(r[v]) for v in VERDICT_ORDER} for y, r in by_year.iterrows()},
            "most_failed_checks": most_failed, "n_checks": n_checks, "failure_rate_by_check_year": failure_rate,
            "worst_reports": worst, "n_worst_reports": int(len(rr)),
            "failed_checks": _failure_rows(shown, data.get("failure_cells")), "n_failed_checks": n_failures,
            "n_failed_check_reports": 0 if failures is None else int(failures["report_id"].nunique()),
            "applications_by_outcome": outcomes, "quarantine": quarantine,
            "reviews": reviews}


# --------------------------------------------------------------------------------------------------
# The maintainers' review (transforms/checks/reviews.py): reviewed failures are counted, unreviewed come first

REVIEW_ENTRIES = "review_entries"


def read_review_entries(processed_dir: Path) -> pd.DataFrame:
    """The review entries the published version applied (its ``_reviews.json``; none without it)."""
    cols = ["report_id", "check", "decision", "reviewer", "date"]
    # a version directory, or the destination whose `current` points at one
    p = next((q for q in (Path(processed_dir) / "_reviews.json", Path(processed_dir) / "current" / "_reviews.json")
              if q.exists()), None)
    if p is None:
        return pd.DataFrame(columns=cols)
    return pd.DataFrame(json.loads(p.read_text(encoding="utf-8"))["entries"]).reindex(columns=cols)


def review_triage(rr: pd.DataFrame, qc: pd.DataFrame, entries: pd.DataFrame | None) -> tuple[pd.DataFrame, dict]:
    """Per report (``rr``): ``unreviewed_`` = its failed or warned checks nobody reviewed (``open_``: any),
    ``reviewed_`` = those with a decision; and the page's review numbers: reviewed / unreviewed failures and the stale
    reviews (of a report no longer published: its bytes changed, so its sha256, or it was removed)."""
    bad = qc[qc["status"].astype(str) != "pass"]
    done = bad["review_decision"].notna() if "review_decision" in bad else pd.Series(False, index=bad.index)
    reviewed = bad[done.to_numpy()].groupby("report_id", observed=True).size()
    open_ = bad[~done.to_numpy()].groupby("report_id", observed=True).size()
    out = rr.assign(reviewed_=rr["report_id"].map(reviewed).fillna(0).astype(int),
                    unreviewed_=rr["report_id"].map(open_).fillna(0).astype(int))
    out["open_"] = out["unreviewed_"] > 0          # sorts first: something nobody has looked at yet
    entries = entries if entries is not None else pd.DataFrame(columns=["report_id", "check"])
    stale = entries[~entries["report_id"].isin(set(rr["report_id"].astype(str)))]
    return out, {"reviewed": int(done.sum()), "unreviewed": int((~done).sum()), "entries": int(len(entries)),
                 "stale": [{k: (None if pd.isna(v) else str(v)) for k, v in r.items()}
                           for r in stale.to_dict("records")]}


def review_section(nums: dict) -> str:
    """HTML: how many failed or warned checks are reviewed, and the reviews that no longer apply."""
    r = nums["reviews"]
    parts = ["<h2>Maintainers' review</h2>",
             f"<p id='reviews'>Failed or warned checks: <b>{r['unreviewed']} unreviewed</b>, "
             f"<b id='n-reviewed'>{r['reviewed']} reviewed</b> ({r['entries']} review entries). "
             "The worst reports list those with unreviewed failures first.</p>"]
    if r["stale"]:
        parts.append("<p>Stale reviews (the report is no longer published: its bytes, hence its sha256, changed, "
                     "or it was removed); they apply to nothing:</p>")
        parts.append(_table(["report_id", "check", "decision", "reviewer", "date"],
                            [[f"<code>{_e(s['report_id'])}</code>", _e(s["check"]), _e(s["decision"]),
                              _e(s["reviewer"]), _e(s["date"])] for s in r["stale"]]))
    return "".join(parts)


# --------------------------------------------------------------------------------------------------
# Figures

def _wilson(k: np.ndarray, n: np.ndarray, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """95 % Wilson interval of k failures in n evaluations (honest for 0 of n and small n)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # the interval holds p; rounding can leave its bound a hair on the wrong side (k = n gives
    # hi = 1 − 1e-16), which matplotlib refuses as a negative error bar
    return np.minimum(np.clip(centre - half, 0, 1), p), np.maximum(np.clip(centre + half, 0, 1), p)


def plotted_checks(most_failed: list[dict], top: int = 25) -> tuple[list[dict], list[dict]]:
    """(plotted, left out) of the failing checks: plotted if evaluated in ≥ MIN_EVALUATED reports
    (at most `top`, most failures first), left out (and named on the figure) otherwise."""
    failing = [c for c in most_failed if c["fail"] > 0]
    return ([c for c in failing if c["evaluated"] >= MIN_EVALUATED][:top],
            [c for c in failing if c["evaluated"] < MIN_EVALUATED])


def _failure_rate_figure(most_failed: list[dict], out_dir: Path, figs: list, top: int = 25) -> None:
    """Failure rate = reports failing / reports where the check was evaluated, for the checks evaluated
    in at least MIN_EVALUATED reports (a check evaluated once would read 1 of 1 = 100 %), each bar with
    its counts and a 95 % interval; the checks left out are named on the figure."""
    import matplotlib.pyplot as plt

    plotted, left_out = plotted_checks(most_failed, top)
    fig, ax = plt.subplots(figsize=(9, max(2.8, 0.42 * max(1, len(plotted)) + 1.8)))
    if plotted:
        k = np.array([c["fail"] for c in plotted], dtype=float)
        n = np.array([c["evaluated"] for c in plotted], dtype=float)
        lo, hi = _wilson(k, n)
        y = np.arange(len(plotted))[::-1]
        rate = k / n * 100
        ax.barh(y, rate, color="#c62828", alpha=.8)
        ax.errorbar(rate, y, xerr=[rate - lo * 100, hi * 100 - rate], fmt="none", ecolor="#333", capsize=3, lw=1)
        ax.set_yticks(y, [c["check"] for c in plotted])
        for yy, r, c in zip(y, hi * 100, plotted):
            ax.text(r + 0.5, yy, f"{c['fail']:,} / {c['evaluated']:,}", va="center", fontsize=8)
        ax.set_xlim(0, min(100, max(hi * 100) * 1.25 + 5))
    else:
        ax.text(0.5, 0.5, f"no failing check was evaluated in ≥ {MIN_EVALUATED} reports", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_yticks([])
    ax.set_xlabel("reports failing / reports where the check was evaluated (%), 95 % interval")
    ax.set_title(f"Failure rate by check (checks evaluated in ≥ {MIN_EVALUATED} reports; labels: failed / evaluated)",
                 fontsize=10)
    if left_out:
        names = ", ".join(f"{c['check']} ({c['fail']}/{c['evaluated']})" for c in left_out[:6])
        more = f" and {len(left_out) - 6} more" if len(left_out) > 6 else ""
        fig.text(0.01, 0.005, f"Not plotted (evaluated in < {MIN_EVALUATED} reports): {names}{more}", fontsize=7,
                 wrap=True)
    _save(fig, out_dir, "fig_failure_rate.png", "Failure rate by check, weighted by how often it was evaluated", figs,
          rect=(0, 0.07 if left_out else 0, 1, 1))


def _figures(nums: dict, out_dir: Path) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figs = []
    _failure_rate_figure(nums["most_failed_checks"], out_dir, figs)
    # 2. applications by outcome
    og = nums["applications_by_outcome"]
    fig, ax = plt.subplots(figsize=(8, 4))
    if og:
        groups = list(og)
        years = sorted({y for v in og.values() for y in v})
        bottom = np.zeros(len(groups))
        for y in years:
            vals = np.array([og[g].get(y, 0.0) for g in groups])
            ax.bar(groups, vals, bottom=bottom, label=y)
            bottom += vals
        ax.legend(title="report year")
        ax.tick_params(axis="x", labelrotation=30)
    ax.set_ylabel("applications (total column)")
    ax.set_title("Applications by outcome (table 3)")
    _save(fig, out_dir, "fig_outcomes.png", "Applications by outcome", figs)
    # 3. verdicts by year
    vy = nums["verdicts_by_year"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    years = sorted(vy)
    bottom = np.zeros(len(years))
    colours = {"fail": "#c62828", "warn": "#f9a825", "pass": "#2e7d32"}
    for v in VERDICT_ORDER:
        vals = np.array([vy[y][v] for y in years], dtype=float)
        ax.bar(years, vals, bottom=bottom, label=v, color=colours[v])
        bottom += vals
    ax.set_ylabel("reports")
    ax.set_title("Verdicts by report year")
    ax.legend()
    _save(fig, out_dir, "fig_verdicts.png", "Verdicts by report year", figs)
    return figs


# --------------------------------------------------------------------------------------------------
# Page

CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans",system-ui,sans-serif;margin:1.5rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.88rem;margin:.4rem 0}th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#eef2f7}td.n{text-align:right}.fail{color:#b71c1c;font-weight:600}.warn{color:#a66b00}.pass{color:#1b5e20}
.cards{display:flex;gap:1rem}.card{border:1px solid #ddd;padding:.5rem 1rem;border-radius:4px}
.card b{font-size:1.4rem;display:block}img{max-width:100%;border:1px solid #eee;margin:.3rem 0}
.count{color:#555;font-size:.9rem}form.filters{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end;margin:.4rem 0}
form.filters label{display:flex;flex-direction:column;font-size:.8rem;color:#444}
td.observed{min-width:20rem;max-width:34rem;font-size:.8rem;word-break:break-word}ul.lines{margin:0;padding-left:1rem;font-size:.8rem;min-width:18rem}
ul.lines code{background:#f6f8fa}[hidden]{display:none!important}
"""
SCRIPT = Path(__file__).resolve().parent / "static" / "report.js"


def _e(x) -> str:
    return html.escape("" if x is None else str(x))


def _href(source_file: str, out_dir: Path | None = None, source_root: Path | None = None) -> str | None:
    """A link to a local source file (None for URLs): its absolute path, percent-encoded from the file
    name's real bytes. Absolute, because the page is read through symlinks (dest/quality_report →
    current → .versions/<id>): a relative link is resolved by the browser from the URL it was opened
    at, which differs from the page's real folder. A path never reads as a scheme (`javascript:…`), a
    host (`//…`), a query or a fragment."""
    from transforms.names import real_name

    if not source_file or "://" in source_file:
        return None
    p = Path(os.fsdecode(real_name(source_file)))
    if not p.is_absolute():
        p = (Path(source_root) if source_root else Path.cwd()) / p
    try:
        path = os.path.abspath(p)
    except ValueError:
        return None
    posix = Path(path).as_posix()
    if not posix.startswith("/"):          # a drive (C:/…): as a file URL path
        posix = "/" + posix
    posix = "/" + posix.lstrip("/")        # never "//host"
    return quote(os.fsencode(posix), safe="/._-~")


def _rel(target: Path, out_dir: Path) -> str:
    """A link from the page to a file of its own folder tree (figures, Data Docs), percent-encoded."""
    rel = Path(os.path.relpath(Path(target).absolute(), Path(out_dir).absolute())).as_posix()
    return quote(rel, safe="/._-~")


def docs_result_pages(docs_index: Path | None, report_ids) -> dict[str, Path]:
    """report_id → the newest Data Docs validation page that names it (the reconciliation suite lists
    each broken identity as `source_file [report_id[:12]] …`, the quality_checks suite its failing
    checks). GX lists the first rows of each failure only: a report not named is not in the dict."""
    if docs_index is None:
        return {}
    want = {str(r)[:12]: str(r) for r in report_ids}
    found: dict[str, Path] = {}
    site = Path(docs_index).parent / "validations"
    pattern = re.compile(r"\[([0-9a-f]{12})\]")
    for suite in ("reconciliation", "quality_checks"):
        for page in sorted((site / suite).glob("*/*/*.html"), reverse=True):     # run name, run time: newest first
            for short in pattern.findall(page.read_text(encoding="utf-8", errors="replace")):
                if short in want and want[short] not in found:
                    found[want[short]] = page
            if len(found) == len(want):
                return found
    return found


def newest_suite_page(docs_index: Path | None, suite: str) -> Path | None:
    if docs_index is None:
        return None
    pages = sorted((Path(docs_index).parent / "validations" / suite).glob("*/*/*.html"), reverse=True)
    return pages[0] if pages else None


def _table(headers, rows, classes=None, table_id: str | None = None, row_attrs=None) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for k, r in enumerate(rows):
        attrs = row_attrs[k] if row_attrs else ""
        body.append(f"<tr{attrs}>" + "".join(
            f"<td class='{c}'>{v}</td>" if c else f"<td>{v}</td>"
            for v, c in zip(r, classes or [""] * len(r))) + "</tr>")
    tid = f" id='{_e(table_id)}'" if table_id else ""
    return f"<table{tid}><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _source_link(source_file, source_root) -> str:
    href = _href(source_file, None, source_root)
    return f"<a class='source' href='{_e(href)}'>{_e(source_file)}</a>" if href else _e(source_file)


# The filters of the failed-checks table: (facet, key of a failed-check row, label). A facet is
# written as the row attribute data-<facet> and read by report.js; facet names are ours ([a-z-]).
FAILURE_FACETS = (("year", "year", "report year"), ("format", "format", "format"),
                  ("body-type", "body_type", "body type"), ("check", "check", "check"))


def _lines(f: dict) -> str:
    items = []
    for c in f["lines"]:
        where = f"line {c['line']}" if c["line"] is not None else "line ?"
        printed = "(blank)" if c["raw_value"] is None else c["raw_value"]
        items.append(f"<li>{_e(where)}: <code>{_e(printed)}</code> <span class='count'>{_e(c['cell'])}</span></li>")
    more = f"<li class='count'>… {f['n_cells'] - len(f['lines'])} more cells</li>" if f["n_cells"] > len(f["lines"]) else ""
    return f"<ul class='lines'>{''.join(items)}{more}</ul>" if items else ""


def _observed(f: dict) -> str:
    cut = f["observed_chars"] - len(f["observed"])
    return _e(f["observed"]) + (f" <span class='count'>… (+{cut:,} characters in quality_checks.observed)</span>"
                                if cut > 0 else "")


WITHOUT_DOCS_TEXT = "validated without GX Data Docs: run `nianbao validate` to build them"


def _docs_link(f: dict, links: dict) -> str:
    href, named = links.get(f["report_id"], (None, False))
    if named is None:                   # last validated in pandas (a small run): no page of its own
        return f"<span class='count without-docs'>{_e(WITHOUT_DOCS_TEXT)}</span>"
    if not href:
        return ""
    text = "validation result" if named else "validation run (report not listed)"
    return f"<a class='docs' href='{_e(href)}'>{_e(text)}</a>"


# The columns of the failed-checks table: (header, cell html from a failed-check row and the links)
FAILURE_TABLE = (
    ("source file", lambda f, ctx: _source_link(f["source_file"], ctx["source_root"])),
    ("organization", lambda f, ctx: _e(f["organization"])),
    ("year", lambda f, ctx: _e(f["year"])),
    ("format", lambda f, ctx: _e(f["format"])),
    ("body type", lambda f, ctx: _e(f["body_type"])),
    ("check", lambda f, ctx: f"{_e(f['check'])}<br><span class='count'>{_e(f['table'])}</span>"),
    ("failed / evaluated", lambda f, ctx: f"{f['n_failed']:,} / {f['n_evaluated']:,}"),
    ("observed", lambda f, ctx: _observed(f)),
    ("printed cells (source line: text)", lambda f, ctx: _lines(f)),
    ("Data Docs", lambda f, ctx: _docs_link(f, ctx["docs_links"])),
)
FAILURE_CLASSES = {"failed / evaluated": "n", "observed": "observed"}


def _filters(rows: list[dict], table_id: str, shown_id: str) -> str:
    """One <select> per facet with the values of the listed rows (option text and values escaped)."""
    parts = []
    for facet, key, label in FAILURE_FACETS:
        counts = pd.Series([str(r[key]) for r in rows], dtype=object).value_counts().sort_index()
        options = "".join(f"<option value='{_e(v)}'>{_e(v)} ({n})</option>" for v, n in counts.items())
        parts.append(f"<label>{_e(label)}<select name='{facet}' data-facet='{facet}'>"
                     f"<option value=''>all</option>{options}</select></label>")
    return (f"<form class='filters' data-table='{table_id}' data-shown='{shown_id}'>{''.join(parts)}"
            "<button type='reset'>Clear filters</button></form>")


def _failed_checks_section(nums: dict, ctx: dict) -> list[str]:
    rows = nums["failed_checks"]
    total, n_reports = nums["n_failed_checks"], nums["n_failed_check_reports"]
    out = ["<h2 id='failed-checks'>Failed checks</h2>"]
    if not rows:
        return out + ["<p>No check failed.</p>"]
    out.append(f"<p class='count' id='failed-checks-count'>Listed: {len(rows):,} of {total:,} failed checks "
               f"(report × check) in {n_reports:,} reports"
               + (f"; the first {len(rows):,} in the order: reports with the most failed checks first" if len(rows) < total else "")
               + f". Shown with the filters: <b id='failed-checks-shown'>{len(rows):,}</b> of {len(rows):,}.</p>")
    out.append(_filters(rows, "failed-checks-table", "failed-checks-shown"))
    attrs = ["".join(f" data-{facet}='{_e(r[key])}'" for facet, key, _ in FAILURE_FACETS) for r in rows]
    out.append(_table([h for h, _ in FAILURE_TABLE], [[render(r, ctx) for _, render in FAILURE_TABLE] for r in rows],
                      [FAILURE_CLASSES.get(h, "") for h, _ in FAILURE_TABLE], table_id="failed-checks-table",
                      row_attrs=attrs))
    return out


def write_summary(data: dict[str, pd.DataFrame], out_dir: Path, *, docs_index: Path | None = None,
                  source_root: Path | None = None, without_docs: set[str] | frozenset = frozenset()) -> Path:
    """``without_docs``: report_ids last validated without GX Data Docs (expectations.gate.PANDAS): their
    failed checks say so instead of linking another run's pages."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    nums = summary_numbers(data)
    (out_dir / "summary.json").write_text(json.dumps(nums, ensure_ascii=False, indent=2), encoding="utf-8")
    (out_dir / "report.js").write_bytes(SCRIPT.read_bytes())
    figs = _figures(nums, out_dir)
    named = docs_result_pages(docs_index, {f["report_id"] for f in nums["failed_checks"]})
    fallback = newest_suite_page(docs_index, "quality_checks")
    docs_links = {}
    for f in nums["failed_checks"]:
        page = named.get(f["report_id"])
        if page is None and f["report_id"] in without_docs:
            docs_links[f["report_id"]] = (None, None)
            continue
        target = page or fallback
        docs_links[f["report_id"]] = (_rel(target, out_dir) if target else None, page is not None)
    ctx = {"source_root": source_root, "docs_links": docs_links}
    vt = nums["verdict_totals"]
    parts = ["<h1>nianbao — data quality report</h1>",
             "<div class='cards'>" + "".join(
                 f"<div class='card' id='total-{k}'><b>{v}</b>{_e(k)}</div>" for k, v in
                 [("reports", nums["n_reports"]), *vt.items(), ("quarantined", nums["n_quarantined"])]) + "</div>"]
    if docs_index is not None:
        parts.append(f"<p>Expectation suites and validation results: <a id='data-docs' href='{_e(_rel(docs_index, out_dir))}'>"
                     "Great Expectations Data Docs</a>.</p>")
    reports = data.get("reports")
    published = set(reports["report_id"].astype(str)) if reports is not None and "report_id" in reports else set()
    undocumented = published & set(without_docs)
    if undocumented:
        parts.append(f"<p class='count' id='without-data-docs'>{len(undocumented):,} of {len(published):,} published "
                     f"reports were last validated in a run of a handful of reports, {_e(WITHOUT_DOCS_TEXT)}.</p>")
    parts.append("<h2>Verdicts by report year and format</h2>")
    parts.append(_table(["report year", "format", *VERDICT_ORDER, "total"],
                        [[_e(v["year"]), _e(v["format"]), *[str(v[k]) for k in VERDICT_ORDER], str(v["total"])]
                         for v in nums["verdicts"]], ["", "", "n fail", "n warn", "n pass", "n"]))
    parts.append("<h2>Most-failed checks</h2>")
    mf = nums["most_failed_checks"]
    if mf:
        parts.append(f"<p class='count' id='most-failed-count'>Listed: {min(20, len(mf))} of {len(mf)} checks that failed "
                     f"or warned in some report ({nums['n_checks']} checks in all). Fail rate = reports failing / "
                     "reports where the check was evaluated.</p>")
        parts.append(_table(["check", "fail", "warn", "reports", "evaluated in", "fail rate", "instances failed / evaluated"],
                            [[_e(c["check"]), str(c["fail"]), str(c["warn"]), str(c["reports"]), str(c["evaluated"]),
                              f"{c['fail_rate']:.1%} ({c['fail']} / {c['evaluated']})",
                              f"{c['instances_failed']:,} / {c['instances_evaluated']:,}"] for c in mf[:20]],
                            ["", "n fail", "n warn", "n", "n", "n", "n"]))
    else:
        parts.append("<p>No check failed.</p>")
    parts += _failed_checks_section(nums, ctx)
    parts.append("<h2>Worst reports</h2>")
    rows = []
    for w in nums["worst_reports"]:
        reviewed = f" ({w['n_reviewed']} reviewed)" if w.get("n_reviewed") else ""
        rows.append([_source_link(w["source_file"], source_root), _e(w["organization"]), _e(w["year"]), _e(w["format"]),
                     f"<span class='{_e(w['verdict'])}'>{_e(w['verdict'])}</span>{_e(reviewed)}",
                     _e(", ".join(w["failed_checks"]))])
    if rows:
        parts.append(f"<p class='count' id='worst-count'>Listed: {len(rows):,} of {nums['n_worst_reports']:,} reports "
                     f"with a fail or warn verdict ({vt['fail']:,} fail, {vt['warn']:,} warn), most failed checks first.</p>")
        parts.append(_table(["source file", "organization", "year", "format", "verdict", "failed checks"], rows))
    else:
        parts.append("<p>Every report passed.</p>")
    parts.append(review_section(nums))
    parts.append("<h2>Quarantined files</h2>")
    if nums["quarantine"]:
        parts.append(f"<p class='count'>Listed: {len(nums['quarantine']):,} of {nums['n_quarantined']:,} files.</p>")
        parts.append(_table(["source file", "reason", "details", "sha256", "bytes"],
                            [[_e(q["source_file"]), _e(q["reason_code"]), _e(q["reason"]), f"<code>{_e(q['sha256'])}</code>",
                              _e(q["file_size"])] for q in nums["quarantine"]]))
    else:
        parts.append("<p>No file was quarantined.</p>")
    parts.append("<h2>Figures</h2>")
    for name, title in figs:
        parts.append(f"<figure><img src='{name}' alt='{_e(title)}'><figcaption>{_e(title)}</figcaption></figure>")
    parts.append("<h2>Applications by outcome (numbers of the figure)</h2>")
    og = nums["applications_by_outcome"]
    years = sorted({y for v in og.values() for y in v})
    parts.append(_table(["outcome", *years], [[_e(g), *[f"{og[g].get(y, 0):g}" for y in years]] for g in og]))
    page = (f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>nianbao quality report</title>"
            f"<style>{CSS}</style><script src='report.js' defer></script></head><body>{''.join(parts)}</body></html>")
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path

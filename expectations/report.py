"""The maintainers' summary page (static HTML + PNG figures, matplotlib Agg). Pure pandas/matplotlib.

    load_datasets(processed_dir) -> {dataset: DataFrame}   (the cell tables: only what the page shows)
    summary_numbers(data) -> dict            (everything the page and the figures show; also summary.json)
    write_summary(data, out_dir, docs_index=..., source_root=...) -> Path to index.html
"""
from __future__ import annotations

import html
import json
import os
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from transforms import schema
from transforms.formats import FORMATS

VERDICT_ORDER = ("fail", "warn", "pass")
DATASETS = ("reports", *schema.STATUTORY_TABLES, "quality_checks", "quarantine")
# The columns the page reads (quality_checks has a row per report × check: its list and text
# columns would cost GBs of Python objects on a large corpus); None = all.
PAGE_COLUMNS = {
    "reports": ["report_id", "source_file", "organization", "report_year", "template", "verdict", "failed_checks"],
    "quality_checks": ["report_id", "report_year", "check", "status", "attribution"],
    "applications": ["report_year", "row_path", "column_path", "value"],
}


# --------------------------------------------------------------------------------------------------
# Loading


def _save(fig, out_dir, name: str, title: str, figs: list) -> None:
    """Write one figure as PNG next to the page and list it for the page."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(out_dir / name, dpi=90)
    plt.close(fig)
    figs.append((name, title))

def _conform(df: pd.DataFrame, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    out = df.reindex(columns=columns or schema.column_names(name))
    for f in schema.fields(name):
        if f.name not in out:
            continue
        if f.pandas_dtype == "str" and isinstance(out[f.name].dtype, pd.CategoricalDtype):
            continue                 # read as categorical (read_dataset): kept so, for memory
        if f.pandas_dtype == "object":
            out[f.name] = pd.Series([list(x) if isinstance(x, (list, tuple, np.ndarray)) else [] for x in out[f.name]],
                                    index=out.index, dtype=object)
        else:
            out[f.name] = out[f.name].astype(f.pandas_dtype)
    return out.reset_index(drop=True)


def read_dataset(path: Path, name: str, filter=None, columns: list[str] | None = None) -> pd.DataFrame:
    """A dataset written as one Parquet file or a (hive-partitioned) directory; typed from the schema.
    ``filter`` (a pyarrow.dataset expression) and ``columns`` are applied while scanning (memory)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    if not path.exists():
        return _conform(pd.DataFrame(), name, columns)
    # string columns read as dictionaries straight from the Parquet dictionary pages: no Python str per
    # row, and the filter compares codes (quality_checks has a row per report and check; the page
    # only counts them)
    strings = [f.name for f in schema.fields(name) if f.arrow == pa.string() and (columns is None or f.name in columns)]
    full = pa.schema([pa.field(f.name, pa.dictionary(pa.int32(), pa.string())) if f.name in strings else f
                      for f in schema.arrow_schema(name)])
    fmt = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=strings))
    hive = path.is_dir() and any(p.name.startswith("report_year=") for p in path.rglob("report_year=*"))
    if hive:
        part = ds.partitioning(pa.schema([("report_year", pa.int64())]), flavor="hive")
        d = ds.dataset(str(path), format=fmt, schema=full, partitioning=part)
    else:
        d = ds.dataset(str(path), format=fmt, schema=full)
    # one file and batch at a time: a filtered scan of the cell tables otherwise holds several row
    # groups of every file in flight, which Arrow's pool then keeps
    t = d.to_table(filter=filter, columns=columns, batch_readahead=1, fragment_readahead=1)
    pa.default_memory_pool().release_unused()
    return _conform(t.to_pandas(), name, columns)


def _cell_filters() -> dict:
    """Of the cell tables, the page reads only the applications 总计 cells of the outcome groups (the
    cell tables are the bulk of the data)."""
    import pyarrow.dataset as ds

    return {"applications": (ds.field("column_path") == _total_column())
            & ds.field("row_path").isin(sorted(outcome_groups()))}


def page_datasets() -> list[str]:
    """The datasets the summary page reads: a run builds the page once these are published."""
    cells = _cell_filters()
    return [n for n in DATASETS if n not in schema.STATUTORY_TABLES or n in cells]


def load_datasets(processed_dir: Path) -> dict[str, pd.DataFrame]:
    """What the page needs: the per-report datasets whole, the filtered cells of _cell_filters."""
    need = _cell_filters()
    return {n: read_dataset(Path(processed_dir) / n, n, filter=need.get(n), columns=PAGE_COLUMNS.get(n))
            for n in page_datasets()}


# --------------------------------------------------------------------------------------------------
# Numbers

def outcome_groups() -> dict[str, str]:
    """applications row_path → outcome group code (（一）…（六）), from the format files."""
    out = {}
    for f in FORMATS.values():
        t = f.tables["applications"]
        outcome_rows = {p for i in f.identities if i.id == "applications_outcome_total" for p in i.rhs}
        for b in t.blocks:
            for r in b.rows:
                if r.path in outcome_rows:
                    out[r.path] = r.code if r.parent_code in ("", "outcomes") else r.parent_code
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


def summary_numbers(data: dict[str, pd.DataFrame]) -> dict:
    rep, qc, q, app = data["reports"], data["quality_checks"], data["quarantine"], data["applications"]
    year = rep["report_year"].astype("Int64").astype(object).where(rep["report_year"].notna(), "unknown")
    rep = rep.assign(year_=year.astype(str), fmt_=_labels(rep["template"], "none"),
                     verdict_=_labels(rep["verdict"], "none"))
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
    checks["fail_rate"] = checks["fail"] / checks["reports"]
    checks = checks.sort_values(["fail", "warn"], ascending=False)
    most_failed = [{"check": c, "fail": int(r["fail"]), "warn": int(r["warn"]), "reports": int(r["reports"]),
                    "fail_rate": round(float(r["fail_rate"]), 4), "parser": int(r["parser"])}
                   for c, r in checks.iterrows()
                   if r["fail"] + r["warn"] > 0]
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
    # within a verdict, reports with parser-attributed failures first
    rr = rr[rr["rank_"] > 0].sort_values(["rank_", "nparser_", "nfail_", "nwarn_", "source_file"],
                                         ascending=[False, False, False, False, True])
    worst = [{"report_id": r.report_id, "source_file": r.source_file, "organization": r.organization,
              "year": r.year_, "format": r.fmt_, "verdict": r.verdict_, "failed_checks": list(r.failed_checks),
              "n_fail": int(r.nfail_), "n_warn": int(r.nwarn_), "n_parser": int(r.nparser_)}
             for r in rr.head(25).itertuples()]
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
            "most_failed_checks": most_failed, "failure_rate_by_check_year": failure_rate,
            "worst_reports": worst, "applications_by_outcome": outcomes, "quarantine": quarantine}


# --------------------------------------------------------------------------------------------------
# Figures

def _figures(nums: dict, out_dir: Path) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figs = []
    # 1. failure rate by check and year
    fr = nums["failure_rate_by_check_year"]
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.45 * max(1, len(fr)) + 1.5)))
    if fr:
        checks = list(fr)
        years = sorted({y for v in fr.values() for y in v})
        h = 0.8 / max(1, len(years))
        for k, y in enumerate(years):
            ax.barh(np.arange(len(checks)) + k * h, [fr[c].get(y, 0) * 100 for c in checks], height=h, label=y)
        ax.set_yticks(np.arange(len(checks)) + h * (len(years) - 1) / 2, checks)
        ax.legend(title="report year")
    else:
        ax.text(0.5, 0.5, "no check failed", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
    ax.set_xlabel("reports failing the check (%)")
    ax.set_title("Failure rate by check and year")
    _save(fig, out_dir, "fig_failure_rate.png", "Failure rate by check and year", figs)
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
table{border-collapse:collapse;font-size:.88rem;margin:.4rem 0}th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
th{background:#eef2f7}td.n{text-align:right}.fail{color:#b71c1c;font-weight:600}.warn{color:#a66b00}.pass{color:#1b5e20}
.cards{display:flex;gap:1rem}.card{border:1px solid #ddd;padding:.5rem 1rem;border-radius:4px}
.card b{font-size:1.4rem;display:block}img{max-width:100%;border:1px solid #eee;margin:.3rem 0}
"""


def _e(x) -> str:
    return html.escape("" if x is None else str(x))


def _href(source_file: str, out_dir: Path, source_root: Path | None) -> str | None:
    """A relative link to a local source file (None for URLs), percent-encoded: a file name can never
    read as a scheme (`javascript:…`), a query or a fragment."""
    if not source_file or "://" in source_file:
        return None
    p = Path(source_file)
    if not p.is_absolute():
        p = (Path(source_root) if source_root else Path.cwd()) / p
    try:
        rel = Path(os.path.relpath(p.resolve(), out_dir.resolve())).as_posix()
    except ValueError:                        # another drive: no relative path
        return None
    return quote(rel if rel.startswith("../") else f"./{rel}", safe="/.", errors="surrogateescape")


def _table(headers, rows, classes=None) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for r in rows:
        body.append("<tr>" + "".join(
            f"<td class='{c}'>{v}</td>" if c else f"<td>{v}</td>"
            for v, c in zip(r, classes or [""] * len(r))) + "</tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def write_summary(data: dict[str, pd.DataFrame], out_dir: Path, *, docs_index: Path | None = None,
                  source_root: Path | None = None) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    nums = summary_numbers(data)
    (out_dir / "summary.json").write_text(json.dumps(nums, ensure_ascii=False, indent=2), encoding="utf-8")
    figs = _figures(nums, out_dir)
    vt = nums["verdict_totals"]
    parts = ["<h1>nianbao — data quality report</h1>",
             "<div class='cards'>" + "".join(
                 f"<div class='card' id='total-{k}'><b>{v}</b>{_e(k)}</div>" for k, v in
                 [("reports", nums["n_reports"]), *vt.items(), ("quarantined", nums["n_quarantined"])]) + "</div>"]
    if docs_index is not None:
        rel = Path(os.path.relpath(Path(docs_index).resolve(), out_dir.resolve())).as_posix()
        parts.append(f"<p>Expectation suites and validation results: <a id='data-docs' href='{_e(rel)}'>"
                     "Great Expectations Data Docs</a>.</p>")
    parts.append("<h2>Verdicts by report year and format</h2>")
    parts.append(_table(["report year", "format", *VERDICT_ORDER, "total"],
                        [[_e(v["year"]), _e(v["format"]), *[str(v[k]) for k in VERDICT_ORDER], str(v["total"])]
                         for v in nums["verdicts"]], ["", "", "n fail", "n warn", "n pass", "n"]))
    parts.append("<h2>Most-failed checks</h2>")
    parts.append(_table(["check", "fail", "warn", "reports", "fail rate"],
                        [[_e(c["check"]), str(c["fail"]), str(c["warn"]), str(c["reports"]),
                          f"{c['fail_rate']:.1%}"] for c in nums["most_failed_checks"][:20]],
                        ["", "n fail", "n warn", "n", "n"]) if nums["most_failed_checks"] else "<p>No check failed.</p>")
    parts.append("<h2>Worst reports</h2>")
    rows = []
    for w in nums["worst_reports"]:
        href = _href(w["source_file"], out_dir, source_root)
        src = f"<a href='{_e(href)}'>{_e(w['source_file'])}</a>" if href else _e(w["source_file"])
        rows.append([src, _e(w["organization"]), _e(w["year"]), _e(w["format"]),
                     f"<span class='{_e(w['verdict'])}'>{_e(w['verdict'])}</span>", _e(", ".join(w["failed_checks"]))])
    parts.append(_table(["source file", "organization", "year", "format", "verdict", "failed checks"], rows)
                 if rows else "<p>Every report passed.</p>")
    parts.append("<h2>Quarantined files</h2>")
    parts.append(_table(["source file", "reason", "details", "sha256", "bytes"],
                        [[_e(q["source_file"]), _e(q["reason_code"]), _e(q["reason"]), f"<code>{_e(q['sha256'])}</code>",
                          _e(q["file_size"])] for q in nums["quarantine"]])
                 if nums["quarantine"] else "<p>No file was quarantined.</p>")
    parts.append("<h2>Figures</h2>")
    for name, title in figs:
        parts.append(f"<figure><img src='{name}' alt='{_e(title)}'><figcaption>{_e(title)}</figcaption></figure>")
    parts.append("<h2>Applications by outcome (numbers of the figure)</h2>")
    og = nums["applications_by_outcome"]
    years = sorted({y for v in og.values() for y in v})
    parts.append(_table(["outcome", *years], [[_e(g), *[f"{og[g].get(y, 0):g}" for y in years]] for g in og]))
    page = (f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>nianbao quality report</title>"
            f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>")
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path

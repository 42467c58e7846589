"""The quality gate: the one thin module that runs Great Expectations (docs/GATE_API.md).

    validate_batch(frames, history=..., run_name=..., context_root=...) -> GateResult
        = prepare_batch(frames, ...) (pure pandas, where the batch is parsed)
        + validate_views(views, ...) (GX, once per chunk of a run)
    build_quality_report(processed_dir, out_dir) -> Path

GX is imported lazily (≈5 s) and the context is opened once per process and root. Traps avoided
(ECOSYSTEM_NOTES §1): suites are loaded from the committed JSON and their expectation counts are
asserted against the builder (a suite that loads empty never "passes"); no add_or_update at run
time; progress bars off; one vd.run per dataset per batch (whole frames), Data Docs built once by
build_quality_report and rewritten to work offline.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from expectations import views
from expectations.build import GX_DIR, check_committed, expected_counts
from transforms import schema
from transforms.reconcile import prepare, quality_checks, quarantine_frame, reconcile, verdicts

log = logging.getLogger(__name__)
CELL_TABLES = schema.STATUTORY_TABLES
PARTIAL_UNEXPECTED = 50
# Data Docs re-render every stored validation (~50 ms a page; a run stores 7 suites × its chunks), so
# the store keeps the last week of nightly runs.
KEEP_RUNS = 7
_LOCK = threading.Lock()
_CONTEXTS: dict[str, object] = {}
_COMMITTED = (".gitignore", "great_expectations.yml", "expectations", "validation_definitions", "plugins")


@dataclass
class GateResult:
    frames: dict[str, pd.DataFrame]
    reconciliation: pd.DataFrame
    structural_ok: bool
    structural_failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    results: dict[str, dict] = field(default_factory=dict)
    run_name: str = ""
    timings: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# Context

def _sync_root(root: Path) -> None:
    """Copy the committed GX project (config, suites, validation definitions) into another root."""
    root.mkdir(parents=True, exist_ok=True)
    for name in _COMMITTED:
        src, dst = GX_DIR / name, root / name
        if src.is_dir():
            for p in src.rglob("*"):
                if p.is_file():
                    q = dst / p.relative_to(src)
                    if not q.exists() or q.read_bytes() != p.read_bytes():
                        q.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(p, q)
        elif src.exists() and (not dst.exists() or dst.read_bytes() != src.read_bytes()):
            shutil.copyfile(src, dst)


def get_context(context_root: str | os.PathLike | None = None):
    """The file-backed GX context at context_root (default expectations/gx), opened once per process."""
    root = Path(context_root or GX_DIR).resolve()
    key = str(root)
    with _LOCK:
        if key in _CONTEXTS:
            return _CONTEXTS[key]
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        stale = check_committed()
        if stale:
            raise RuntimeError(f"GX suites out of date with transforms.schema/FORMATS: {stale}; "
                               "run `python -m expectations.build`")
        if root != GX_DIR.resolve():
            _sync_root(root)

        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        for name in ("great_expectations", "great_expectations._docs_decorators"):
            logging.getLogger(name).setLevel(logging.ERROR)
        ctx = gx.get_context(mode="file", context_root_dir=str(root))
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        # Trap: a suite whose expectations fail to deserialize loads EMPTY; assert the counts.
        for name, n in expected_counts().items():
            got = len(ctx.suites.get(name).expectations)
            if got != n:
                raise RuntimeError(f"GX suite {name} loaded {got} expectations, expected {n}")
        _CONTEXTS[key] = ctx
        return ctx


# --------------------------------------------------------------------------------------------------
# Validation

def _now_run_name() -> str:
    return datetime.now(timezone.utc).strftime("run-%Y%m%dT%H%M%SZ")


def _conform(df: pd.DataFrame | None, dataset: str) -> pd.DataFrame:
    if df is None:
        return pd.DataFrame({f.name: pd.Series(dtype=f.pandas_dtype) for f in schema.fields(dataset)})
    return df.reset_index(drop=True)


def _summarise(name: str, res) -> tuple[dict, list[str], list[str]]:
    critical, warning, failed = [], [], []
    for r in res.results:
        if r.success:
            continue
        cfg = r.expectation_config
        kw = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id", "value_set", "column_set")}
        res_ = r.result or {}
        obs = res_.get("unexpected_count", res_.get("observed_value"))
        if r.exception_info and r.exception_info.get("raised_exception"):
            obs = f"exception: {r.exception_info.get('exception_message')}"
        text = f"{name}: {cfg.type} {json.dumps(kw, ensure_ascii=False, default=str)} → {obs}"
        failed.append(text)
        (critical if (getattr(cfg, "severity", "critical") or "critical") == "critical" else warning).append(text)
    st = res.statistics
    summary = {"success": bool(res.success), "evaluated": int(st.get("evaluated_expectations", 0)),
               "failed": int(st.get("unsuccessful_expectations", 0)), "failures": failed}
    return summary, critical, warning


def validate_frames(views_by_dataset: dict[str, pd.DataFrame], *, run_name: str, context_root=None,
                    timings: dict | None = None) -> dict:
    """Run each dataset's suite once on its whole frame; results are stored for Data Docs.

    A suite runs first for pass/fail only (BOOLEAN_ONLY: half the time of SUMMARY on a million rows,
    which gathers the unexpected values and their row keys for every expectation, passing or not);
    only if an expectation fails is it run again with SUMMARY, whose result replaces the stored one
    (same run id), so every failure in Data Docs shows its values and row keys."""
    from great_expectations.core.run_identifier import RunIdentifier

    ctx = get_context(context_root)
    out = {}
    run_id = RunIdentifier(run_name=run_name, run_time=datetime.now(timezone.utc))
    for name, view in views_by_dataset.items():
        t0 = time.perf_counter()
        vd = ctx.validation_definitions.get(name)
        res = vd.run(batch_parameters={"dataframe": view}, run_id=run_id,
                     result_format={"result_format": "BOOLEAN_ONLY"})
        if not res.success:
            res = vd.run(batch_parameters={"dataframe": view}, run_id=run_id,
                         result_format={"result_format": "SUMMARY",
                                        "unexpected_index_column_names": views.INDEX_COLUMNS[name],
                                        "partial_unexpected_count": PARTIAL_UNEXPECTED,
                                        # the pandas query hint re-filters the whole frame per expectation
                                        "return_unexpected_index_query": False})
        out[name] = res
        if timings is not None:
            timings[f"gx:{name}"] = round(time.perf_counter() - t0, 3)
    return out


@dataclass
class PreparedBatch:
    """The pure-pandas half of the gate: published frames, reconciliation and the GX views."""
    frames: dict[str, pd.DataFrame]
    reconciliation: pd.DataFrame
    views: dict[str, pd.DataFrame]
    timings: dict[str, float] = field(default_factory=dict)


def prepare_batch(frames: dict[str, pd.DataFrame], *, history: pd.DataFrame | None = None,
                  extra_quarantine: list[dict] | None = None) -> PreparedBatch:
    """Quarantine, reconciliation, quality_checks, verdicts and the views GX will validate (no GX).

    Runs where the batch was parsed (a worker process); validate_views runs GX later on many batches
    at once, so GX's fixed cost per validation is paid per chunk of a run, not per parse batch."""
    tm, t0 = {}, time.perf_counter()

    def lap(name):
        nonlocal t0
        t1 = time.perf_counter()
        tm[name] = round(t1 - t0, 3)
        t0 = t1

    reports_in = _conform(frames.get("reports"), "reports")
    cells = {t: _conform(frames.get(t), t) for t in CELL_TABLES}
    quarantine = quarantine_frame(reports_in, extra_quarantine)
    bad_ids = set(quarantine["report_id"])
    parsed = reports_in[~reports_in["report_id"].isin(bad_ids)].reset_index(drop=True)
    batch = {"reports": parsed, **cells}
    prepared = prepare(batch)  # encoded once, shared by reconcile, quality_checks and the GX views
    lap("prepare")
    recon = reconcile(batch, history, prepared)
    lap("reconcile")
    qc = quality_checks(batch, recon, prepared=prepared)
    reports = verdicts(parsed, qc)
    lap("quality_checks")
    out = {"reports": reports, **cells, "quality_checks": qc, "quarantine": quarantine}
    to_validate = {name: views.make_view(df, name, prepared[name].helpers if name in prepared else None)
                   for name, df in out.items()}
    to_validate[views.RECONCILIATION] = views.make_view(recon, views.RECONCILIATION)
    lap("views")
    return PreparedBatch(frames=out, reconciliation=recon, views=to_validate, timings=tm)


@dataclass
class ViewsResult:
    structural_ok: bool
    structural_failures: list[str]
    warnings: list[str]
    results: dict[str, dict]
    timings: dict[str, float]


def validate_views(views_by_dataset: dict[str, pd.DataFrame], *, run_name: str | None = None,
                   context_root=None) -> ViewsResult:
    """GX on the views (one validation per dataset); critical failures make the batch unpublishable."""
    tm: dict[str, float] = {}
    res = validate_frames(views_by_dataset, run_name=run_name or _now_run_name(), context_root=context_root,
                          timings=tm)
    results, critical, warning = {}, [], []
    for name, r in res.items():
        results[name], c, w = _summarise(name, r)
        critical += c
        warning += w
    return ViewsResult(structural_ok=not critical, structural_failures=critical, warnings=warning,
                       results=results, timings=tm)


def validate_batch(frames: dict[str, pd.DataFrame], *, history: pd.DataFrame | None = None,
                   run_name: str | None = None, context_root=None,
                   extra_quarantine: list[dict] | None = None) -> GateResult:
    """Verdicts, quality_checks, quarantine and one GX validation per dataset for one batch."""
    run_name = run_name or _now_run_name()
    p = prepare_batch(frames, history=history, extra_quarantine=extra_quarantine)
    v = validate_views(p.views, run_name=run_name, context_root=context_root)
    return GateResult(frames=p.frames, reconciliation=p.reconciliation, structural_ok=v.structural_ok,
                      structural_failures=v.structural_failures, warnings=v.warnings, results=v.results,
                      run_name=run_name, timings={**p.timings, **v.timings})


def quarantine_record(source_file: str, data: bytes | None, reason: str, reason_code: str = "unreadable") -> dict:
    """One quarantine row for a file the flow could not hand to the parser (e.g. a read error)."""
    digest = hashlib.sha256(data or b"").hexdigest()
    return {"report_id": digest, "sha256": digest, "source_file": source_file,
            "file_size": None if data is None else len(data), "reason_code": reason_code, "reason": reason,
            "problems": [reason], "encoding": None, "parser_version": schema.PARSER_VERSION}


# --------------------------------------------------------------------------------------------------
# The maintainers' report (Data Docs + summary page)

def build_quality_report(processed_dir, out_dir, *, context_root=None, source_root=None,
                         keep_runs: int = KEEP_RUNS, docs_index: Path | None = None) -> Path:
    """Build GX Data Docs once (offline copy in out_dir/data_docs; skipped when ``docs_index`` names
    one built already) and the summary page out_dir/index.html."""
    from expectations import report

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if docs_index is None:
        docs_index = build_data_docs(out_dir / "data_docs", context_root=context_root, keep_runs=keep_runs)
    data = report.load_datasets(Path(processed_dir))
    return report.write_summary(data, out_dir, docs_index=docs_index, source_root=source_root)


def _prune(root: Path, keep_runs: int) -> None:
    vdir = root / "uncommitted" / "validations"
    if not vdir.exists():
        return
    for suite_dir in [p for p in vdir.iterdir() if p.is_dir()]:
        runs = sorted((p for p in suite_dir.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        for p in runs[:-keep_runs] if keep_runs else []:
            shutil.rmtree(p, ignore_errors=True)


def build_data_docs(dest: Path, *, context_root=None, keep_runs: int = KEEP_RUNS) -> Path:
    from expectations import offline

    ctx = get_context(context_root)
    root = Path(ctx.root_directory)
    _prune(root, keep_runs)
    site = root / "uncommitted" / "data_docs" / "local_site"
    shutil.rmtree(site, ignore_errors=True)  # stale pages of pruned runs
    ctx.build_data_docs()
    dest = Path(dest)
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(site, dest)
    shutil.rmtree(site, ignore_errors=True)  # GX's own pages hold the failing values unescaped
    offline.make_offline(dest)
    return dest / "index.html"

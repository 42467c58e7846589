"""The quality gate: the one thin module that runs Great Expectations (docs/GATE_API.md).

    validate_batch(frames, run_name=..., context_root=...) -> GateResult
        = prepare_batch(frames, ...) (pure pandas, where the batch is parsed)
        + validate_views(views, ...) (GX, once per chunk of a run)
    copy_data_docs(dest) -> Path    (GX's rendering; the page, quality_page/, makes it safe)

GX is imported lazily (≈5 s) and the context is opened once per process and root. Traps avoided
(ECOSYSTEM_NOTES §1): suites are loaded from the committed JSON and their expectation counts are
asserted against the builder (a suite that loads empty never "passes"); no add_or_update at run
time; progress bars off; one vd.run per dataset per chunk (whole frames; only the failed expectations
run again, for their details), Data Docs built once per report (quality_page.build) and rewritten to
work offline.
"""
from __future__ import annotations

import functools
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

import numpy as np
import pandas as pd

from expectations import views
from expectations.build import GX_DIR, check_committed, expected_counts, write_suites
from transforms import schema
from transforms.formats import FORMAT_DIR, SHIPPED_FORMATS
from transforms.checks.batch import check_batch, without

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

_MEMO = threading.local()


def _memoise_configurations() -> None:
    """GX (1.24) rebuilds an expectation's ExpectationConfiguration from its pydantic fields at every
    read of ``Expectation.configuration``, ~50 reads per expectation and validation: a third of a
    suite's CPU whatever the rows; and it builds a new (pydantic-validated) expectation object from the
    same configuration at each metric it asks for. Inside ``_configurations_memoised()`` (one
    validation, on this thread) each expectation object's configuration, and each configuration's
    object, is built once; GX builds them anew from the suite's configurations for every run and does
    not change them while it runs."""
    from great_expectations.expectations.expectation import Expectation
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    build = Expectation.configuration.fget
    if getattr(build, "nianbao_memo", False):
        return
    Expectation.configuration = property(_memoised(build, "configs"))
    ExpectationConfiguration.to_domain_obj = _memoised(ExpectationConfiguration.to_domain_obj, "objects")


def _memoised(compute, slot: str):
    """``compute(self)`` kept per object in the ``slot`` memo of this thread while one is open (the
    object is kept beside its result, so that a new object at a reused id() is never served the
    old one's); computed afresh outside a validation."""
    def wrapper(self):
        memo = getattr(_MEMO, slot, None)
        if memo is None:
            return compute(self)
        hit = memo.get(id(self))
        if hit is None or hit[0] is not self:
            hit = memo[id(self)] = (self, compute(self))
        return hit[1]

    wrapper.nianbao_memo = True
    wrapper.__doc__ = compute.__doc__
    return wrapper


# GX (1.24) computes a column's condition (in a set, between, a regex...) on its non-null rows by
# filtering the whole frame first, df[df[column].notnull()][column]: a copy of every column of the view
# per expectation, ~4 % of a run's CPU. Its pandas condition functions (column_condition_partial) are
# replaced by the same computation on the column alone: the same rows, values, index and name.
_COLUMN_CONDITION = "column_condition_partial.<locals>.wrapper.<locals>.inner_func"


def _filter_columns_not_frames() -> None:
    from great_expectations.expectations import metrics, registry  # noqa: F401 (registers the core metrics)

    for definition in registry._registered_metrics.values():
        providers = definition["providers"]
        entry = providers.get("PandasExecutionEngine")
        fn = entry[1] if entry else None
        layer = getattr(fn, "__wrapped__", None)
        if layer is None or getattr(layer.__code__, "co_qualname", "") != _COLUMN_CONDITION \
                or getattr(fn, "nianbao_column_only", False):
            continue
        providers["PandasExecutionEngine"] = (entry[0], _condition_on_column(fn, layer.__wrapped__))


def _condition_on_column(partial, metric_fn):
    """GX's column condition partial ``partial`` (engine, type and domain attributes kept), the
    condition ``metric_fn`` evaluated on the column's non-null values rather than on the filtered frame."""
    from great_expectations.core.metric_domain_types import MetricDomainTypes
    from great_expectations.expectations.metrics.util import get_dbms_compatible_metric_domain_kwargs
    declared = partial.metric_definition_kwargs

    @functools.wraps(partial)
    def condition(cls, execution_engine, metric_domain_kwargs, metric_value_kwargs, metrics, runtime_configuration):
        metric_domain_kwargs = get_dbms_compatible_metric_domain_kwargs(
            metric_domain_kwargs=metric_domain_kwargs, batch_columns_list=metrics["table.columns"])
        df, compute_domain_kwargs, accessor_domain_kwargs = execution_engine.get_compute_domain(
            domain_kwargs=metric_domain_kwargs, domain_type=MetricDomainTypes.COLUMN)
        column = df[accessor_domain_kwargs["column"]]
        if declared.get("filter_column_isnull", getattr(cls, "filter_column_isnull", True)):
            column = column[column.notnull()]
        meets = metric_fn(cls, column, **metric_value_kwargs, _metrics=metrics)
        return ~meets, compute_domain_kwargs, accessor_domain_kwargs

    condition.nianbao_column_only = True
    condition.nianbao_original = partial       # GX's own, for the test comparing the two
    return condition


class _configurations_memoised:
    def __enter__(self):
        _MEMO.configs, _MEMO.objects = {}, {}

    def __exit__(self, *exc):
        _MEMO.configs = _MEMO.objects = None


def _hold_stored_results() -> None:
    """Inside ``_stores_held()`` (on this thread) GX's ValidationResultsStore.store_validation_results
    is held, not run: a suite that fails its pass/fail run is stored once, with its details
    (_detail_failures, the same key), not first without them. Serialising a result is ~a quarter
    of a validation's CPU."""
    from great_expectations.data_context.store.validation_results_store import ValidationResultsStore

    store = ValidationResultsStore.store_validation_results
    if getattr(store, "nianbao_held", False):
        return

    @functools.wraps(store)
    def stored_or_held(self, *args, **kwargs):
        held = getattr(_MEMO, "held", None)
        if held is None:
            return store(self, *args, **kwargs)
        held.append(functools.partial(store, self, *args, **kwargs))
        return None                     # GX reads the reference of a cloud store only

    stored_or_held.nianbao_held = True
    ValidationResultsStore.store_validation_results = stored_or_held


class _stores_held:
    """The stores GX would make on this thread, held: a list of calls that make them."""
    def __enter__(self) -> list:
        _MEMO.held = []
        return _MEMO.held

    def __exit__(self, *exc):
        _MEMO.held = None


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


def _prepare_root(root: Path) -> None:
    """Refuse stale committed suites; give another root the committed project (and, for a draft set of
    formats, the suites built for it). The suites GX and the pandas evaluator read are then those files."""
    stale = check_committed()
    # A draft set of formats (NIANBAO_FORMATS_DIR, e.g. a third format) changes what the suites
    # allow: a run's own context gets the suites built for it; the committed ones stay as they are.
    drafted = FORMAT_DIR.resolve() != SHIPPED_FORMATS.resolve()
    if stale and (not drafted or root == GX_DIR.resolve()):
        raise RuntimeError(f"GX suites out of date with transforms.schema/FORMATS: {stale}; "
                           "run `python -m expectations.build`")
    if root != GX_DIR.resolve():
        _sync_root(root)
        if stale:
            write_suites(root)


def get_context(context_root: str | os.PathLike | None = None):
    """The file-backed GX context at context_root (default expectations/gx), opened once per process."""
    root = Path(context_root or GX_DIR).resolve()
    key = str(root)
    with _LOCK:
        if key in _CONTEXTS:
            return _CONTEXTS[key]
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        _prepare_root(root)

        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

        # GX fingerprints every pandas batch under 1 GB (md5 of hash_pandas_object over every cell:
        # 0.7 s of CPU per 10,000 reports, on the run's own process) for a batch marker in the stored
        # result only; a view is built anew for each validation, so nothing ever compares two.
        pandas_execution_engine.HASH_THRESHOLD = 0
        _memoise_configurations()
        _filter_columns_not_frames()
        _hold_stored_results()

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


def _summarise(name: str, res, offending: dict[str, list[str]] | None = None) -> tuple[dict, list[str], list[str]]:
    """(JSON-safe summary, critical failures, warnings); ``offending`` collects report_id → critical
    failures from the row keys GX lists for them (SUMMARY: the first PARTIAL_UNEXPECTED rows)."""
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
        is_critical = (getattr(cfg, "severity", "critical") or "critical") == "critical"
        (critical if is_critical else warning).append(text)
        if is_critical and offending is not None:
            for row in res_.get("partial_unexpected_index_list") or []:
                rid = row.get("report_id") if isinstance(row, dict) else None
                if isinstance(rid, str):
                    offending.setdefault(rid, []).append(text)
    st = res.statistics
    summary = {"success": bool(res.success), "evaluated": int(st.get("evaluated_expectations", 0)),
               "failed": int(st.get("unsuccessful_expectations", 0)), "failures": failed}
    return summary, critical, warning


def _summary_format(name: str) -> dict:
    return {"result_format": "SUMMARY", "unexpected_index_column_names": views.INDEX_COLUMNS[name],
            "partial_unexpected_count": PARTIAL_UNEXPECTED,
            # the pandas query hint re-filters the whole frame per expectation
            "return_unexpected_index_query": False}


def _detail_frame(view: pd.DataFrame, failed: list, name: str) -> pd.DataFrame:
    """The columns the failed expectations read and the row keys (the whole view if one of them is
    about the table): GX copies the whole frame per expectation (its null filter) and fingerprints it
    per batch, so the detailed run costs by the columns handed to it."""
    wanted = list(views.INDEX_COLUMNS[name])
    for cfg in failed:
        kw = cfg.kwargs
        cols = kw.get("column_list") or [kw[k] for k in ("column", "column_A", "column_B") if k in kw]
        if not cols or not cfg.type.startswith(("expect_column", "expect_compound", "expect_multicolumn")):
            return view
        wanted += [c for c in cols if c not in wanted]
    if any(c not in view.columns for c in wanted):
        return view
    return pd.DataFrame({c: view[c] for c in wanted}, copy=False)


def _detail_failures(ctx, vd, view: pd.DataFrame, res, run_id):
    """The failed expectations of a BOOLEAN_ONLY result run again with SUMMARY (their values and row
    keys), their results put in place of the pass/fail ones and the whole result stored again under the
    same key (one stored result per suite, chunk and run, as Data Docs lists them).

    Only the failures: GX's cost per expectation is mostly fixed (its metric graph and configuration
    copies), and SUMMARY's is ~2-3× BOOLEAN_ONLY's, whatever the rows; a whole suite again with SUMMARY
    cost 0.6-1.5 s a chunk where a handful of warnings had failed."""
    from great_expectations.core import ExpectationSuite
    from great_expectations.data_context.types.resource_identifiers import (ExpectationSuiteIdentifier,
                                                                            ValidationResultIdentifier)

    failed = [r.expectation_config for r in res.results if not r.success]
    batch = vd.batch_definition.get_batch(batch_parameters={"dataframe": _detail_frame(view, failed, vd.suite.name)})
    subset = ExpectationSuite(name=vd.suite.name, expectations=failed)
    detail = batch.validate(subset, result_format=_summary_format(vd.suite.name))
    by_id = {r.expectation_config.id: r for r in detail.results}
    if len(by_id) != len(failed) or any(c.id not in by_id for c in failed):
        raise RuntimeError(f"GX suite {vd.suite.name}: the detailed run did not return every failed expectation")
    res.results = [by_id.get(r.expectation_config.id, r) if not r.success else r for r in res.results]
    suite_id = ExpectationSuiteIdentifier(name=vd.suite.name)
    ctx.validation_results_store.store_validation_results(
        suite_validation_result=res, expectation_suite_identifier=suite_id,
        suite_validation_result_identifier=ValidationResultIdentifier(suite_id, run_id, batch.id))
    return res


def validate_frames(views_by_dataset: dict[str, pd.DataFrame], *, run_name: str, context_root=None,
                    timings: dict | None = None) -> dict:
    """Run each dataset's suite once on its whole frame; results are stored for Data Docs.

    A suite runs for pass/fail only (BOOLEAN_ONLY: SUMMARY gathers the unexpected values and row keys
    of every expectation, passing or not, at 2-3× the cost); the expectations that failed are then run
    again with SUMMARY and their results replace theirs in the stored one (same run id, _detail_failures),
    so every failure in Data Docs and in the summaries shows its values and row keys."""
    from great_expectations.core.run_identifier import RunIdentifier

    ctx = get_context(context_root)
    out = {}
    run_id = RunIdentifier(run_name=run_name, run_time=datetime.now(timezone.utc))
    for name, view in views_by_dataset.items():
        t0 = time.perf_counter()
        vd = ctx.validation_definitions.get(name)
        with _configurations_memoised(), _stores_held() as held:
            res = vd.run(batch_parameters={"dataframe": view}, run_id=run_id,
                         result_format={"result_format": "BOOLEAN_ONLY"})
        if res.success:
            for store in held:
                store()
        else:           # stored once, by _detail_failures, with the details of its failures
            try:
                with _configurations_memoised():
                    res = _detail_failures(ctx, vd, view, res, run_id)
            except BaseException:
                for store in held:      # the pass/fail result stays stored, as GX stored it
                    store()
                raise
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


def prepare_batch(frames: dict[str, pd.DataFrame], *, extra_quarantine: list[dict] | None = None) -> PreparedBatch:
    """The batch's checks (transforms.checks.batch.check_batch) and the views GX will validate (no GX).

    Runs where the batch was parsed (a worker process); validate_views runs GX later on many batches
    at once, so GX's fixed cost per validation is paid per chunk of a run, not per parse batch. A
    report breaking a critical row rule of a suite is quarantined alone, with the reason, and the rest
    of the batch checked again."""
    checked = check_batch(frames, extra_quarantine=extra_quarantine)
    out, prepared, tm = checked.frames, checked.prepared, checked.timings
    t0 = time.perf_counter()
    to_validate = {name: views.make_view(df, name, prepared[name].helpers if name in prepared else None)
                   for name, df in out.items()}
    to_validate[views.RECONCILIATION] = views.make_view(checked.reconciliation, views.RECONCILIATION)
    t1 = time.perf_counter()
    tm["views"] = round(t1 - t0, 3)
    offenders = structural_offenders(to_validate)
    tm["structural"] = round(time.perf_counter() - t1, 3)
    if offenders:
        held = set(offenders)
        reports_in = checked.reports_in
        records = [structural_record(r, offenders[r["report_id"]])
                   for r in reports_in[reports_in["report_id"].isin(held)].to_dict("records")]
        rest = {"reports": reports_in[~reports_in["report_id"].isin(held)].reset_index(drop=True),
                **{t: without(out[t], held) for t in CELL_TABLES}, "statements": without(out["statements"], held)}
        again = prepare_batch(rest, extra_quarantine=[*(extra_quarantine or []), *records])
        again.timings.update({f"first {k}": v for k, v in tm.items()})
        return again
    return PreparedBatch(frames=out, reconciliation=checked.reconciliation, views=to_validate, timings=tm)


# --------------------------------------------------------------------------------------------------
# Structural containment: the critical row-level expectations, evaluated per report before GX

ROW_RULES = ("expect_column_values_to_not_be_null", "expect_column_values_to_be_in_set",
             "expect_column_values_to_be_between", "expect_compound_columns_to_be_unique",
             "expect_column_values_to_be_unique", "expect_column_pair_values_to_be_equal",
             "expect_column_values_to_match_regex")
SHOWN_ROWS = 3


@functools.lru_cache(maxsize=1)
def _critical_row_rules() -> dict[str, tuple[dict, ...]]:
    """dataset → the critical expectations of its suite that judge rows (the same specs GX runs)."""
    from expectations.build import CRITICAL, suite_specs
    return {name: tuple(e for e in specs if e["severity"] == CRITICAL and e["type"] in ROW_RULES)
            for name, specs in suite_specs().items()}


def _category_mask(col: pd.Series, ok_category: np.ndarray) -> np.ndarray:
    """Rows of a categorical whose category is not ok (nulls never fail a value rule, as in GX)."""
    if ok_category.all():                 # the usual case: nothing to look up row by row
        return np.zeros(len(col), dtype=bool)
    codes = col.array.codes
    return ~np.append(ok_category, True)[codes]     # code -1 (null) takes the appended True


def _duplicated(view: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """Rows whose values in cols occur more than once. Categoricals (the usual view columns) are
    combined into one int64 key from their codes: hashing one integer per row instead of a tuple."""
    if not all(isinstance(view[c].dtype, pd.CategoricalDtype) for c in cols):
        return view.duplicated(subset=cols, keep=False).to_numpy()
    sizes = [len(view[c].cat.categories) + 1 for c in cols]
    if float(np.prod(sizes, dtype=np.float64)) >= 2.0 ** 62:
        return view.duplicated(subset=cols, keep=False).to_numpy()
    key = np.zeros(len(view), dtype=np.int64)
    for c, size in zip(cols, sizes):
        key = key * size + (view[c].array.codes.astype(np.int64) + 1)
    span = int(np.prod(sizes, dtype=np.float64))
    if span <= max(1 << 24, 8 * len(key)):     # keys in a small range (the cell tables): counted directly
        return np.bincount(key, minlength=span)[key] > 1
    return pd.Series(key).duplicated(keep=False).to_numpy()


def _violations(view: pd.DataFrame, e: dict) -> np.ndarray | None:
    """Rows of the view breaking one expectation, vectorised; None when the rule cannot be read per
    row here (a column missing: the table-level expectations fail in GX)."""
    kind, kw = e["type"], e["kwargs"]
    cols = kw.get("column_list") or [kw[k] for k in ("column", "column_A", "column_B") if k in kw]
    if any(c not in view.columns for c in cols):
        return None
    col = view[cols[0]]
    categorical = isinstance(col.dtype, pd.CategoricalDtype)
    if kind == "expect_column_values_to_not_be_null":
        return col.array.codes < 0 if categorical else pd.isna(col.to_numpy())
    if kind == "expect_compound_columns_to_be_unique":
        return _duplicated(view, cols)
    if kind == "expect_column_values_to_be_unique":
        return _duplicated(view, cols) & col.notna().to_numpy()
    if kind == "expect_column_pair_values_to_be_equal":
        a, b = (view[c].astype(object).where(view[c].notna(), None) for c in cols)
        return ((a != b) & ~(a.isna() & b.isna())).to_numpy()
    if kind == "expect_column_values_to_be_in_set":
        allowed = kw["value_set"]
        if categorical:
            allowed = set(allowed)
            ok = np.fromiter((c in allowed for c in col.array.categories), dtype=bool,
                             count=len(col.array.categories))
            return _category_mask(col, ok)
        return (col.notna() & ~col.isin(allowed)).to_numpy()
    if kind == "expect_column_values_to_match_regex":
        if categorical:
            return _category_mask(col, np.asarray(col.cat.categories.astype(str).str.match(kw["regex"]), dtype=bool))
        return (col.notna() & ~col.astype(str).str.match(kw["regex"]).fillna(False)).to_numpy(dtype=bool)
    if kind == "expect_column_values_to_be_between":
        v = pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        low, high = kw.get("min_value"), kw.get("max_value")
        bad = np.zeros(len(v), dtype=bool)
        with np.errstate(invalid="ignore"):
            if low is not None:
                bad |= v < low
            if high is not None:
                bad |= v > high
        return bad
    return None


def structural_offenders(views_by_dataset: dict[str, pd.DataFrame]) -> dict[str, list[str]]:
    """report_id → why it breaks a critical (structural) expectation: which suite and expectation, and
    which rows (their INDEX_COLUMNS keys). Pure pandas on the views, from the suites' own specs, so
    a report that would fail GX is found here and quarantined alone instead of holding back the
    reports validated with it. The quarantine suite is not judged per report (it is the destination)."""
    rules = _critical_row_rules()
    out: dict[str, list[str]] = {}
    for name, view in views_by_dataset.items():
        if name == "quarantine" or not len(view) or "report_id" not in view:
            continue
        keys = [c for c in views.INDEX_COLUMNS.get(name, []) if c not in ("report_id", "source_file") and c in view]
        for e in rules.get(name, ()):
            bad = _violations(view, e)
            if bad is None or not bad.any():
                continue
            rows = np.flatnonzero(bad)
            what = e["kwargs"].get("column_list") or e["kwargs"].get("column") or \
                [e["kwargs"].get("column_A"), e["kwargs"].get("column_B")]
            ids = view["report_id"].to_numpy(dtype=object)[rows]
            by_report: dict[str, list[int]] = {}
            for rid, i in zip(ids, rows):
                by_report.setdefault(str(rid) if isinstance(rid, str) else "", []).append(int(i))
            for rid, ii in by_report.items():
                shown = ["(" + " | ".join(str(view[k].iat[i]) for k in keys) + ")" for i in ii[:SHOWN_ROWS]] if keys else []
                more = f" (+{len(ii) - SHOWN_ROWS} more)" if len(ii) > SHOWN_ROWS else ""
                out.setdefault(rid, []).append(
                    f"{name}: {e['type']} {json.dumps(what, ensure_ascii=False)}: {len(ii)} row(s)"
                    + (f" {', '.join(shown)}{more}" if shown else ""))
    return out


def structural_record(report: dict, reasons: list[str]) -> dict:
    """The quarantine row of a parsed report that breaks a structural expectation."""
    problems = list(report.get("problems") if isinstance(report.get("problems"), (list, tuple, np.ndarray)) else [])
    size = report.get("file_size")
    return {"report_id": report["report_id"], "sha256": report.get("sha256") or report["report_id"],
            "source_file": report["source_file"], "file_size": None if size is None or pd.isna(size) else int(size),
            "reason_code": "structural",
            "reason": "breaks a structural expectation (not published): " + "; ".join(reasons),
            "problems": [*reasons, *problems], "encoding": report.get("encoding"),
            "parser_version": report.get("parser_version")}


# --------------------------------------------------------------------------------------------------
# The engine: GX, or the same suites evaluated in pandas (expectations/evaluator.py) for a small run

GX, PANDAS = "gx", "pandas"
# A run parsing at most this many reports, and building no Data Docs, validates in pandas. Measured
# (bench/single_file_bench.py --crossover: one validation of every suite, CPU s, 2 shared cores):
#     reports       1     5    25   100   300  1000
#     GX         1.03  0.97  1.02  1.15  1.11  1.28   (+ ~2.5 s to import GX, once per process)
#     pandas     0.08  0.08  0.09  0.11  0.13  0.17
# Speed sets no threshold (the evaluator is cheaper at every size measured); what does is that the
# pandas path stores no validation results, so the reports it validated have no Data Docs until
# `nianbao validate`: a handful (one file, a small incremental folder) is where GX's ~3.5 s is most of
# the run and the loss least.
EVALUATOR_MAX_REPORTS = 25
WITHOUT_DOCS = "validated_without_data_docs.json"     # under <context root>/uncommitted
_SUITES: dict[str, dict[str, list[dict]]] = {}


def engine_for(n_reports: int, data_docs: bool) -> str:
    """The engine of a run that parses ``n_reports`` reports; ``data_docs``: the run builds them (only
    GX stores the validation results they are rendered from)."""
    return PANDAS if n_reports <= EVALUATOR_MAX_REPORTS and not data_docs else GX


def _suites(context_root) -> dict[str, list[dict]]:
    """dataset → the expectations of its suite, read from the JSON GX would load (once per root)."""
    from expectations import evaluator
    root = Path(context_root or GX_DIR).resolve()
    with _LOCK:
        if str(root) not in _SUITES:
            _prepare_root(root)
            out = {}
            for name, n in expected_counts().items():
                vd = json.loads((root / "validation_definitions" / f"{name}.json").read_text(encoding="utf-8"))
                specs = evaluator.load_suite(root, vd["suite"]["name"])
                if len(specs) != n:     # the trap GX has (a suite loading empty) guarded here too
                    raise RuntimeError(f"suite {name} loaded {len(specs)} expectations, expected {n}")
                out[name] = specs
            _SUITES[str(root)] = out
        return _SUITES[str(root)]


def evaluate_frames(views_by_dataset: dict[str, pd.DataFrame], *, context_root=None,
                    timings: dict | None = None) -> dict:
    """validate_frames in pandas (expectations/evaluator.py): the same suites, GX's results for what the
    gate reads, nothing stored. Raises evaluator.Unsupported when one suite cannot be evaluated
    exactly (then GX must validate them all)."""
    from expectations import evaluator
    suites = _suites(context_root)
    out = {}
    for name, view in views_by_dataset.items():
        t0 = time.perf_counter()
        if name not in suites:
            raise evaluator.Unsupported(f"no suite {name}")
        res = evaluator.validate(view, suites[name], views.INDEX_COLUMNS.get(name, []), suite=name)
        if not res.success and name not in views.INDEX_COLUMNS:     # GX's detailed run needs row keys
            raise evaluator.Unsupported(f"suite {name} failed and has no row keys")
        out[name] = res
        if timings is not None:
            timings[f"pandas:{name}"] = round(time.perf_counter() - t0, 3)
    return out


def _report_ids(views_by_dataset: dict[str, pd.DataFrame]) -> set[str]:
    ids: set[str] = set()
    for view in views_by_dataset.values():
        if "report_id" in view and len(view):
            ids.update(r for r in pd.unique(view["report_id"].astype(object)) if isinstance(r, str))
    return ids


def _note_docs(context_root, report_ids: set[str], run_name: str | None) -> None:
    """Keep, beside the stored validations, the reports last validated without them (in pandas): the
    maintainers' page says so instead of linking another run's Data Docs; a GX validation of a report
    takes it out again. ``run_name`` None: validated with GX."""
    if not report_ids:
        return
    path = Path(context_root or GX_DIR) / "uncommitted" / WITHOUT_DOCS
    with _LOCK:
        try:
            held = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            held = {}
        if not isinstance(held, dict):
            held = {}
        changed = dict(held)
        for rid in report_ids:
            if run_name is None:
                changed.pop(rid, None)
            else:
                changed[rid] = run_name
        if changed == held:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(changed, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)


def validated_without_docs(context_root=None) -> dict[str, str]:
    """report_id → the run that last validated it without GX Data Docs (in pandas)."""
    path = Path(context_root or GX_DIR) / "uncommitted" / WITHOUT_DOCS
    try:
        held = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in held.items()} if isinstance(held, dict) else {}


@dataclass
class ViewsResult:
    structural_ok: bool
    structural_failures: list[str]
    warnings: list[str]
    results: dict[str, dict]
    timings: dict[str, float]
    offending: dict[str, list[str]] = field(default_factory=dict)   # report_id → critical failures (GX row keys)
    contained: dict[str, list[str]] = field(default_factory=dict)   # reports taken out by validate_chunk
    engine: str = GX                  # what validated: GX, or PANDAS (no stored results, no Data Docs)


def validate_views(views_by_dataset: dict[str, pd.DataFrame], *, run_name: str | None = None,
                   context_root=None, engine: str = GX) -> ViewsResult:
    """GX on the views (one validation per dataset); critical failures make the batch unpublishable.
    ``engine`` PANDAS: the same suites evaluated in pandas (engine_for), GX when one of them cannot be."""
    from expectations import evaluator
    tm: dict[str, float] = {}
    run_name = run_name or _now_run_name()
    res = None
    if engine == PANDAS:
        try:
            res = evaluate_frames(views_by_dataset, context_root=context_root, timings=tm)
        except evaluator.Unsupported as e:
            log.info("validating with GX: %s", e)
            res, tm = None, {}
        except Exception as e:          # a fault of the evaluator must not decide a validation
            log.warning("the pandas evaluator failed (%s: %s); validating with GX", type(e).__name__, e)
            res, tm = None, {}
    used = PANDAS if res is not None else GX
    if res is None:
        res = validate_frames(views_by_dataset, run_name=run_name, context_root=context_root, timings=tm)
    if used == PANDAS or (Path(context_root or GX_DIR) / "uncommitted" / WITHOUT_DOCS).exists():
        _note_docs(context_root, _report_ids(views_by_dataset), run_name if used == PANDAS else None)
    results, critical, warning, offending = {}, [], [], {}
    for name, r in res.items():
        results[name], c, w = _summarise(name, r, offending)
        critical += c
        warning += w
    return ViewsResult(structural_ok=not critical, structural_failures=critical, warnings=warning,
                       results=results, timings=tm, offending=offending, engine=used)


def validate_chunk(view: pd.DataFrame, dataset: str, *, run_name: str | None = None,
                   context_root=None, engine: str = GX) -> ViewsResult:
    """GX on one dataset's view of a chunk of batches. When a critical expectation fails there (the
    batches' own pre-check should have left nothing to fail), the reports whose rows break it —
    found by the same rules in pandas and by GX's row keys — are taken out and the rest validated
    again: if it passes, only those reports are held back (``contained``, to be quarantined by the
    run); otherwise the failure stands for the whole chunk. Quarantine rows are not judged per report."""
    r = validate_views({dataset: view}, run_name=run_name, context_root=context_root, engine=engine)
    if r.structural_ok or dataset == "quarantine" or "report_id" not in view:
        return r
    culprits = structural_offenders({dataset: view})
    for rid, why in r.offending.items():
        culprits.setdefault(rid, []).extend(why)
    if not culprits:
        return r
    keep = ~view["report_id"].astype(object).isin(set(culprits)).to_numpy()
    again = validate_views({dataset: view[keep].reset_index(drop=True)}, run_name=run_name,
                           context_root=context_root, engine=engine)
    if not again.structural_ok:
        return r
    again.contained = culprits
    again.timings = {**{f"first {k}": v for k, v in r.timings.items()}, **again.timings}
    return again


def validate_batch(frames: dict[str, pd.DataFrame], *, run_name: str | None = None, context_root=None,
                   extra_quarantine: list[dict] | None = None) -> GateResult:
    """Verdicts, quality_checks, quarantine and one GX validation per dataset for one batch."""
    run_name = run_name or _now_run_name()
    p = prepare_batch(frames, extra_quarantine=extra_quarantine)
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
# Data Docs (made safe and offline by quality_page/offline.py)

def _prune(root: Path, keep_runs: int) -> None:
    vdir = root / "uncommitted" / "validations"
    if not vdir.exists():
        return
    for suite_dir in [p for p in vdir.iterdir() if p.is_dir()]:
        runs = sorted((p for p in suite_dir.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        for p in runs[:-keep_runs] if keep_runs else []:
            shutil.rmtree(p, ignore_errors=True)


def copy_data_docs(dest: Path, *, context_root=None, keep_runs: int = KEEP_RUNS) -> Path:
    """GX's Data Docs of the stored validations (the last ``keep_runs`` runs), rendered by GX and moved to
    ``dest``: the pages hold the failing values unescaped, so the caller makes them safe before showing
    them (quality_page.build.build_data_docs). Returns ``dest``."""
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
    return dest

"""The steps of a run: plain functions on paths and small summaries (never DataFrames), run by a thread
pool, in this thread, or as Prefect tasks (flows/prefect_flow.py maps each to its task by name). The
heavy ones hand their work to the run's processes (flows/pools.py)."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from flows import batch, pools, runtime
from flows import publish as pub
from flows import sources as src


def discover_step(cfg: dict, known: dict, warm_pool: str | None = None) -> dict:
    """``warm_pool``: key of a local worker pool to start, while the files are hashed, when a local
    folder holds more than one batch of them."""
    dest = Path(cfg["dest"])

    def on_listed(n: int) -> None:
        if warm_pool and n > cfg["batch_size"]:
            pools.start_pool(warm_pool, cfg["workers"], warm=True)

    d = src.discover(cfg["source"], cache_dir=dest / ".cache" / "http", glob=cfg["glob"], known=known,
                     concurrency=cfg["http_concurrency"], timeout=cfg["http_timeout"],
                     retries=cfg["http_retries"], on_listed=on_listed,
                     follow_symlinks=cfg.get("follow_symlinks", False), exclude=[str(dest)],
                     limit=cfg["limits"]["max_bytes"], deadline=cfg["url_deadline"],
                     retry_after_cap=cfg["retry_after_max"])
    return {"items": [i.as_dict() for i in d.items], "unavailable": d.unavailable, "gone": d.gone,
            "errors": d.errors, "http": d.http, "skipped": [s.as_dict() for s in d.skipped],
            "not_matched": d.not_matched, "withdrawn": d.withdrawn}


def crawl_step(sites: str, dest: str, delay: float | None = None, fetching: dict | None = None) -> dict:
    """Crawl the sites file's columns into ``dest`` (the run's source). One site's failure is logged
    and the others go on (flows/crawl.py); only a failure of the whole crawl (the folder not
    writable) raises, and the run then reads what earlier crawls left. ``fetching``: the run's
    ``deadline``, ``limit`` and ``retry_after_cap`` of one URL (RunConfig)."""
    from flows.crawl import Crawler, load_sites
    s = Crawler(dest, delay=delay, **(fetching or {})).crawl(load_sites(sites))
    return {"outcomes": s.outcomes, "files": s.files, "downloaded_bytes": s.downloaded_bytes,
            "errors": s.errors[:50], "crawl_id": s.crawl_id}


def fetch_log_step(source: str, staging: str, batch_no: int) -> dict:
    """Stage the crawl folder's fetch log (the whole log: the dataset is replaced) and its GX view."""
    import pandas as pd
    import pyarrow.parquet as pq
    from flows import crawled
    rows = crawled.fetch_log_rows(source) or []
    frame = pd.DataFrame(rows, columns=registry_columns("fetch_log"))
    table = pub.table_from_frame(frame, "fetch_log")
    out = Path(staging) / "fetch_log"
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out / f"{batch.batch_tag(batch_no)}-0.parquet", compression="none")
    from expectations.views import make_view, save_view
    from flows.publish import load_frame
    path = batch.view_path(staging, "fetch_log", batch_no)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_view(make_view(load_frame(out, "fetch_log"), "fetch_log"), path, "fetch_log")
    return {"rows": table.num_rows}


def registry_columns(name: str) -> list[str]:
    from transforms import schema as registry
    return registry.column_names(name)


def parse_step(batch_no: int, items: list[dict], staging: str, pool_key: str | None,
               extra_quarantine: list[dict] | None = None, limits: dict | None = None) -> dict:
    """``limits``: the run's per-file limits (RunConfig.limits as a dict), handed to the worker with the
    batch (a spawned or Dask worker must not depend on the environment it inherited)."""
    kw = dict(extra_quarantine=extra_quarantine, limits=limits)
    pool = pools.POOLS.get(pool_key) if pool_key else None
    if pool is not None:
        return pool.submit(batch.parse_batch, batch_no, items, staging, **kw).result()
    return batch.parse_batch(batch_no, items, staging, **kw)


def validate_step(chunk_no: int, dataset: str, batch_nos: list[int], staging: str, run_name: str,
                  context_root: str, engine: str = "gx") -> dict:
    """GX on one dataset's views of several parse batches at once (one validation per chunk);
    ``engine`` "pandas": the same suites in pandas (a run of a handful of reports, gate.engine_for)."""
    with runtime.gc_paused():
        return _validate_chunk(chunk_no, dataset, batch_nos, staging, run_name, context_root, engine)


def _validate_chunk(chunk_no: int, dataset: str, batch_nos: list[int], staging: str, run_name: str,
                    context_root: str, engine: str = "gx") -> dict:
    from expectations.gate import validate_chunk
    from expectations.views import load_views
    t0 = time.perf_counter()
    paths = [batch.view_path(staging, dataset, b) for b in batch_nos]
    missing = [p for p in paths if not p.exists()]
    view = None if missing else load_views(paths, dataset)
    small = engine == "pandas"          # a handful of reports: nothing worth trimming (~30 ms a trim)
    if not small:
        runtime.release_memory(collect=False)  # the Arrow buffers the views were read through
    t_load = time.perf_counter()
    if view is None:
        r = None
        failures = [f"{dataset}: no view for batches {batch_nos}"]
    else:
        r = validate_chunk(view, dataset, run_name=run_name, context_root=context_root, engine=engine)
        failures = list(r.structural_failures)
    for p in paths:
        p.unlink(missing_ok=True)
    n_rows = 0 if view is None else len(view)
    del view
    if not small:
        runtime.release_memory(collect=False)  # GX's garbage is left to the (re-enabled) collector
    return {"chunk": chunk_no, "dataset": dataset, "batches": list(batch_nos), "rows": n_rows,
            "structural_ok": not failures, "structural_failures": failures,
            "contained": dict(r.contained) if r else {},
            "warnings": list(r.warnings[:50]) if r else [], "engine": r.engine if r else engine,
            "seconds": {"load": round(t_load - t0, 3), **(r.timings if r else {})}}


def cross_report_step(staging: str, prev_root: str | None, removed: list[str], run_name: str,
                      context_root: str, verdicts: dict, engine: str = "gx") -> dict:
    """The run-level cross-report pass (flows/crossreport.py): every pair of consecutive years of a body
    that this run's new, replaced or removed reports touch, over the staged and published data; GX
    validates its rows, then they are staged. Returns, per dataset, the published reports whose rows
    it re-staged (to leave out of the previous version) and their partitions."""
    import pandas as pd

    from flows import crossreport as xr
    staging_p, prev = Path(staging), Path(prev_root) if prev_root else None
    columns = xr.cy.report_columns()
    index = xr.StagedIndex()          # which staged files hold each report: the pass opens only those
    new = xr.read_rows(staging_p / "reports", "reports", columns, index=index, indexing=True)
    staged_ids = set(new["report_id"])
    gone = xr.read_rows(prev / "reports", "reports", columns, ids=removed) if prev is not None and removed else new[:0]
    plan = xr.plan(xr.run_sources(staging_p, prev, set(removed), staged_ids, index, new),
                   changed=pd.concat([new, gone], ignore_index=True), staged_ids=staged_ids)
    failures = xr.validate(plan, run_name, context_root, engine=engine)
    out = {"summary": plan.summary, "structural_failures": failures, "remove": {}, "years": {},
           "verdicts": verdicts}
    if failures:                      # nothing of the pass is staged: publish what the batches staged
        return out
    xr.apply(plan, staging_p, prev)
    out["remove"] = {k: sorted(v) for k, v in plan.remove.items()}
    out["years"] = {k: sorted(v) for k, v in plan.years.items()}
    out["verdicts"] = xr.verdict_counts(verdicts, plan.verdict_patch, staged_ids)
    return out


def review_step(staging: str, prev_root: str | None, removed: list[str], reviews_path: str | None,
                entries: list[dict]) -> dict:
    """The maintainers' reviews applied to the staged rows and to the published reports whose review
    fields change (flows/reviewpass.py); returns the per-dataset removals and partitions to publish."""
    from flows import reviewpass
    reviews = reviewpass.from_entries(entries, reviews_path)
    return reviewpass.apply(reviews, Path(staging), Path(prev_root) if prev_root else None, set(removed))


def publish_step(name: str, prev_root: str | None, staged_root: str, out_root: str,
                 remove_ids: list[str], removed_years: list, drop_reason_codes: list[str] | None = None,
                 pool_key: str | None = None) -> dict:
    """``drop_reason_codes``: previous rows with these reason codes go (the quarantine rows of
    discovery, which this run lists anew). ``pool_key``: the run's publish processes, where the work is
    done while this thread (a task of a thread runner, as for parse_step) waits for it."""
    args = (name, prev_root, staged_root, out_root, remove_ids, removed_years, drop_reason_codes)
    if pool_key is None:
        return _publish(*args)
    pool = pools.POOLS.get(pool_key)
    if pool is None:         # the failed or stopped run stopped them: a retry must not write in this process
        raise RuntimeError("the run's publish processes were stopped")
    return pool.submit(_publish, *args).result()


def _publish(name: str, prev_root: str | None, staged_root: str, out_root: str, remove_ids: list[str],
             removed_years: list, drop_reason_codes: list[str] | None) -> dict:
    out = Path(out_root)
    if out.exists():                     # a retried attempt starts from scratch
        shutil.rmtree(out)
    return pub.publish_dataset(name, Path(prev_root) if prev_root else None, Path(staged_root), out,
                               set(remove_ids), removed_years,
                               drop_where={"reason_code": drop_reason_codes} if drop_reason_codes else None)


def docs_step(version_dir: str, context_root: str | None) -> str | None:
    """GX Data Docs of the stored validations: needs only the gate's results, so it is built while
    the datasets publish."""
    from quality_page.build import build_data_docs
    out = Path(version_dir) / pub.QUALITY_REPORT / "data_docs"
    return str(build_data_docs(out, context_root=context_root))


def report_step(version_dir: str, context_root: str | None, docs_index: str | None = None) -> str | None:
    """The summary page of the published version (and the Data Docs unless ``docs_index`` is given)."""
    from quality_page.build import build_quality_report
    out = Path(version_dir) / pub.QUALITY_REPORT
    return str(build_quality_report(version_dir, out, context_root=context_root,
                                    docs_index=Path(docs_index) if docs_index else None))


def open_gate(context_root: str) -> None:
    """Import GX and open the run's context (cached for the validations of this process)."""
    from expectations.gate import get_context
    get_context(context_root)


def gate_engine(n_reports: int, data_docs: bool, choice: str = "auto") -> str:
    """The engine of the run's suites: ``choice`` (RunConfig.gate_engine) when it names one, else
    "pandas" for a run of a handful of reports that builds no Data Docs (expectations.gate.engine_for)."""
    if choice != "auto":
        return choice
    from expectations.gate import engine_for
    return engine_for(n_reports, data_docs)


def prepare_gx(context_root: str) -> None:
    """Copy the committed GX project into ``context_root`` once, before worker processes race to."""
    from expectations import gate
    sync = getattr(gate, "_sync_root", None)
    if sync is not None:
        sync(Path(context_root))

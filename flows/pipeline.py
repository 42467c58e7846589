"""The nianbao Prefect flow: discover -> parse in batches -> validate in chunks -> cross-report checks
-> the maintainers' reviews -> publish -> report.

Thin orchestration over plain functions (flows.sources, flows.batch, flows.publish,
flows.manifest). Tasks are coarse: one discovery, one task per batch of ~750 files, one GX
validation per dataset and chunk of ~300k tidy rows (many batches), one publish task per dataset,
a Data Docs task (built while the datasets publish) and a summary-page task (once the datasets it
reads are published). Paths and small summaries travel between tasks, never DataFrames. Parsing and
the pandas half of the gate run in a spawn ProcessPool of ``workers`` processes locally (or on the
Dask workers with ``dask_address``); GX validates the staged views of finished batches in the flow's
process while the next batches parse. Once every batch is staged, one cross-report task checks each
pair of consecutive years of a body over the staged and published data (flows/crossreport.py), so
those checks do not depend on how the run was batched. A local run of several batches publishes in a
second spawn pool, started once the last batch is parsed, and the datasets no run-level pass restages
publish while the cross-report pass runs (flows/pools.py).

The run's phases are the methods of ``_Run``, called in order by ``_orchestrate``: discover, parse,
gate, new_manifest, cross_report, publish, quality_page, commit (the version store's transaction,
flows/store.py). ``orchestrate(cfg, executor)`` is the whole pipeline; the Prefect flow (flows/prefect_flow.py,
imported only when a run uses Prefect) runs it with Prefect tasks, ``run_plain`` with a thread pool
(same code, no Prefect: used by tests of the pure logic and by the benchmark to measure Prefect's
share of wall time), ``run_inline`` step after step in the calling thread (one report file as the
source, flows/single.py).
"""
from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from flows import batch
from flows import catalog
from flows import pools
from flows import manifest as mf
from flows import publish as pub
from flows import runtime
from flows import sources as src
from flows import store
from flows import stopping
from flows.config import RunConfig
from flows.executors import InlineExecutor, PlainExecutor
from flows.steps import (crawl_step, cross_report_step, discover_step, docs_step, fetch_log_step, gate_engine,
                         open_gate, parse_step, prepare_gx, publish_step, report_step, review_step, validate_step)
from transforms.names import printable_name


class RunFailed(RuntimeError):
    """A step of the run failed: the message is one line naming the step, the path and the reason.
    ``summary``: the run's summary when its data was published nonetheless (a failed quality report)."""

    def __init__(self, message: str, summary: dict | None = None):
        super().__init__(message)
        self.summary = summary


# --------------------------------------------------------------------------- hooks
_PROGRESS = None     # callable(event: str, **kw) installed by the CLI (rich progress bars)


def set_progress(fn) -> None:
    global _PROGRESS
    _PROGRESS = fn


def _emit(event: str, **kw) -> None:
    if _PROGRESS is not None:
        try:
            _PROGRESS(event, **kw)
        except Exception:
            pass


# --------------------------------------------------------------------------- the pipeline
def _batches(items: list[dict], size: int) -> list[list[dict]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _first_done(ex, futures: list):
    for f in ex.as_completed(futures):
        return f


class _Publishing:
    """The publish steps of the run's new version, submitted as their datasets become ready: the summary
    page's datasets first, each group longest first (both cores busy to the end). With the run's publish
    processes (``pool_key``), ``window`` at a time, one per process: the next is handed out when one is
    done, so that the task threads left run a pass, the Data Docs and the summary page meanwhile."""

    def __init__(self, ex, run: store.Transaction, staging: Path, prev: Path | None, partial: Path,
                 page_inputs: set[str] | None, drop: list[str] | None, pool_key: str | None, window: int):
        self.ex, self.run, self.staging, self.prev, self.partial = ex, run, staging, prev, partial
        self.page_inputs, self.drop, self.pool_key, self.window = page_inputs, drop, pool_key, max(1, window)
        self.ready: dict[str, tuple[tuple, dict]] = {}      # name -> (order key, publish_step arguments)
        self.running: dict = {}                             # future -> name
        self.stats: dict[str, dict] = {}
        self.added: set[str] = set()

    def add(self, names: list[str], remove_of: dict[str, list[str]], years_of: dict[str, list]) -> None:
        from transforms import schema as registry
        for n in names:
            kw = dict(name=n, prev_root=str(self.prev / n) if self.prev else None, staged_root=str(self.staging / n),
                      out_root=str(self.partial / n), remove_ids=remove_of[n], removed_years=years_of[n])
            if self.drop and n == "quarantine":
                kw["drop_reason_codes"] = self.drop
            if self.pool_key is not None and n not in registry.GENERATED:    # those: a table of the formats
                kw["pool_key"] = self.pool_key                               # this process has loaded
            size = pub.tree_bytes(self.staging / n) + (pub.tree_bytes(self.prev / n) if self.prev else 0)
            self.ready[n] = ((self.page_inputs is not None and n not in self.page_inputs, -size), kw)
            self.added.add(n)

    def fill(self) -> None:
        for n in sorted(self.ready, key=lambda n: self.ready[n][0]):
            if len(self.running) >= self.window:
                return
            self.running[self.ex.submit(publish_step, **self.ready.pop(n)[1])] = n

    def collect(self, f) -> None:
        """A finished publish step's statistics (its exception, naming the step, when it failed)."""
        n = self.running.pop(f)
        try:
            self.stats[n] = f.result()
        except Exception:
            self.run.at("publishing", self.partial)      # it may have failed while a pass ran
            raise
        _emit("publish_advance", n=1)

    def alongside(self, fn, **kw):
        """``fn``'s result; the datasets ready are published while it runs."""
        if not self.ready and not self.running:
            return self.ex.call(fn, **kw)
        task = self.ex.submit(fn, **kw)
        while True:
            self.fill()
            f = _first_done(self.ex, [task, *self.running])
            if f is task:
                return task.result()
            self.collect(f)

    def check_untouched(self, plan: dict, what: str) -> None:
        """A pass must not restage a dataset published before it (RESTAGED of its module lists what it may)."""
        early = sorted(n for n in self.added if plan["remove"].get(n) or plan["years"].get(n))
        if early:
            raise RuntimeError(f"{what} restaged {', '.join(early)}, published before it")


def _next_chunk(ready: dict[str, list[int]], rows: dict[str, int], limit: int, flush: bool) -> str | None:
    """The dataset to validate next: the one with most waiting rows once it has ``limit`` of them;
    once every batch is submitted (flush), any dataset still waiting, so that little is left to
    validate after the last batch, when only one core has work."""
    waiting = [d for d in ready if ready[d]]
    if not waiting:
        return None
    best = max(waiting, key=lambda d: rows[d])
    return best if flush or rows[best] >= limit else None


def _parse_and_validate(ex, cfg: RunConfig, batches: list[list[dict]], staging: Path, run_name: str,
                        prev: Path | None, context_root: str, pool_key: str | None,
                        extras: dict[int, list[dict]] | None = None, warm_gate: bool = False,
                        on_parsed: Callable[[], None] | None = None, engine: str = "gx") -> tuple[list, list]:
    """Parse batches ``cfg.workers`` at a time; meanwhile GX validates finished batches, one dataset and
    chunk of about ``cfg.validate_rows`` view rows at a time, so both cores stay busy and GX's fixed
    cost (~0.2 s per suite, whatever the rows) is paid per chunk of each dataset: a dataset with one
    row per report is validated a few times per run, not once per parse batch. ``warm_gate``: once
    the batches are handed to the workers, import GX and open its context here (the first
    validation would, after the first batch). ``on_parsed``: called once the last batch is parsed, while
    the last chunks validate. Returns (batch summaries, chunk results)."""
    from expectations.views import suite_datasets
    window = max(1, cfg.workers)
    limits = asdict(cfg.limits)          # the run's, with each batch (a worker reads no environment)
    todo = list(enumerate(batches))[::-1]
    parsing: list = []
    validating = None
    datasets = suite_datasets()
    ready: dict[str, list[int]] = {d: [] for d in datasets}
    ready_rows: dict[str, int] = {d: 0 for d in datasets}
    summaries, chunks = [], []
    while todo or parsing or validating is not None or any(ready.values()):
        while todo and len(parsing) < window:
            i, b = todo.pop()
            kw = {"extra_quarantine": extras[i]} if extras and i in extras else {}
            parsing.append(ex.submit(parse_step, batch_no=i, items=b, staging=str(staging), pool_key=pool_key,
                                     limits=limits, **kw))
        if warm_gate:
            warm_gate = False
            open_gate(context_root)
        if validating is None:
            d = _next_chunk(ready, ready_rows, cfg.validate_rows, flush=not todo)
            if d is not None:
                validating = ex.submit(validate_step, chunk_no=len(chunks), dataset=d, batch_nos=sorted(ready[d]),
                                       staging=str(staging), run_name=run_name, context_root=context_root,
                                       engine=engine)
                _emit("stage", name=f"validate {d} (chunk {len(chunks) + 1})")
                ready[d], ready_rows[d] = [], 0
        f = _first_done(ex, parsing + ([validating] if validating is not None else []))
        if f is validating:
            chunks.append(f.result())
            validating = None
            continue
        parsing.remove(f)
        s = f.result()
        summaries.append(s)
        for d in datasets:
            ready[d].append(s["batch"])
            ready_rows[d] += s.get("view_rows", {}).get(d, 0)
        _emit("parse_advance", n=s["n"])
        if on_parsed is not None and not todo and not parsing:
            on_parsed()
            on_parsed = None
    summaries.sort(key=lambda s: s["batch"])
    return summaries, chunks


# errors that already say what went wrong in one line
_CLEAR_ERRORS = (RunFailed, src.SourceError, pub.PublishError)


def orchestrate(cfg: RunConfig, ex) -> dict:
    """The run; on any failure or stop signal its workers are stopped and its staging and unpublished
    version removed before the error propagates (RunFailed for a failed step, the signal's
    ``stopping.Interrupted`` for a stop)."""
    t0 = time.perf_counter()
    runtime.bound_memory()         # before the worker pool is spawned (memory budget)
    stopping.rearm()
    pools.reset_parsed_count()
    run = store.Transaction(Path(cfg.dest))

    def abandon() -> None:         # also run by a stopped process just before it exits
        pools.stop_run_pools(run.id, kill=True)
        run.remove_unpublished()

    try:
        with pub.run_lock(run.dest), stopping.on_stop(abandon):
            try:
                return _orchestrate(cfg, ex, t0, run)
            except Exception as e:
                pools.stop_run_pools(run.id, kill=True)
                try:
                    ex.settle(wait=True)       # the tasks still running write where the cleanup removes
                finally:
                    run.remove_unpublished()
                if isinstance(e, _CLEAR_ERRORS):
                    raise
                raise RunFailed(run.failure(e)) from e
            except BaseException as e:      # a stop signal: no waiting for the tasks, they are abandoned
                abandon()
                ex.settle(wait=False)
                ex.stopped(e)
                raise
    finally:
        pools.stop_run_pools(run.id)    # whatever way the run ended (the pool may start during discovery)


def _orchestrate(cfg: RunConfig, ex, t0: float, tx: store.Transaction) -> dict:
    """The phases of a run, in order; discovery or the new manifest may find nothing to publish."""
    run = _Run(cfg, ex, t0, tx)
    if not run.discover():
        return run.nothing_to_do()
    run.parse()
    run.gate()
    if not run.new_manifest():
        return run.nothing_to_do()
    run.cross_report()
    run.publish()
    return run.commit(run.quality_page())


class _Run:
    """One run's state, shared by its phases: each phase is a method, in the order the run calls them,
    and reads what the phases before it set."""

    def __init__(self, cfg: RunConfig, ex, t0: float, tx: store.Transaction):
        from transforms import schema as registry
        self.cfg, self.ex, self.t0, self.tx = cfg, ex, t0, tx
        self.dest = Path(cfg.dest)
        self.names = list(registry.DATASETS)
        self.summary: dict = {"run_id": tx.id, "source": cfg.source, "dest": str(self.dest), "noop": False}
        self.local_pool = cfg.dask_address is None and cfg.workers > 1
        self.staging: Path = self.dest / pub.STAGING / tx.id
        self.engine = "gx"          # the gate's engine, chosen once the plan is known (steps.gate_engine)

    def nothing_to_do(self) -> dict:
        """The run's end when the source, the reviews and the gate leave the published version as it is."""
        summary = self.summary
        summary["noop"] = True
        summary["version"] = self.prev.name if self.prev else None
        self.tx.drop_staging()
        summary["seconds"] = time.perf_counter() - self.t0
        _emit("done", summary=summary)
        return summary

    # ------------------------------------------------------------------------------------ discovery
    def discover(self) -> bool:
        """The reviews file, the published version, (the crawl,) the files of the source and the plan:
        what to parse, keep and remove. False when nothing would change."""
        from flows import reviewpass
        from transforms import schema as registry
        from transforms.checks.reviews import ReviewsError
        cfg, ex, run, dest, summary = self.cfg, self.ex, self.tx, self.dest, self.summary
        try:
            self.reviews = reviewpass.load(cfg.reviews)
        except ReviewsError as e:
            raise RunFailed(f"reviews: {e}") from None
        prev = self.prev = run.open([*self.names, *catalog.CATALOG_FILES])    # leftovers of killed runs removed
        previous = self.previous = mf.load(prev)
        self.reviews_changed = reviewpass.changed(self.reviews, prev)
        known = {e["source_file"]: e for e in previous.values() if e.get("source_file")}
        # nothing published yet: every file found will be parsed, so the workers may start while discovery
        # hashes the files (an incremental run may have nothing to parse)
        warm_pool = run.id if self.local_pool and not previous else None

        if cfg.sites:
            run.at("crawling", Path(cfg.source))
            _emit("stage", name="crawl")
            try:
                summary["crawl"] = ex.call(crawl_step, sites=cfg.sites, dest=cfg.source, delay=cfg.crawl_delay,
                                           fetching=dict(deadline=cfg.url_deadline, limit=cfg.limits.max_bytes,
                                                         retry_after_cap=cfg.retry_after_max))
            except Exception as e:        # the run goes on with what earlier crawls left
                summary["crawl"] = {"error": f"{type(e).__name__}: {e}"}
                summary.setdefault("errors", {})["crawl"] = f"the crawl failed: {type(e).__name__}: {e}"
        run.at("discovery", dest / ".cache")
        _emit("stage", name="discover")
        disc = ex.call(discover_step, cfg=asdict(cfg), known=known, warm_pool=warm_pool)
        items = [mf.Item(**i) for i in disc["items"]]
        plan = self.plan = mf.plan(items, previous, parser_version=registry.PARSER_VERSION, prune=cfg.prune,
                                   unavailable=disc["unavailable"], run_id=run.id,
                                   withdrawn=disc.get("withdrawn", ()))
        skipped = self.skipped = disc.get("skipped", [])
        summary.update(discovered=len(items), to_parse=len(plan.parse), to_remove=len(plan.remove),
                       unchanged=len(plan.unchanged), retained_missing=len(plan.retained_missing),
                       duplicates=sum(len(v) for v in plan.duplicates.values()),
                       unavailable=disc["unavailable"], gone=disc["gone"], http=disc["http"],
                       errors={**summary.get("errors", {}), **disc["errors"]}, skipped=skipped,
                       not_matched=disc.get("not_matched", 0))
        if not items and not cfg.allow_empty:
            if prev is None:
                _drop_dangling_links(dest, [*self.names, *catalog.CATALOG_FILES])
            raise src.SourceError(_empty_source_message(cfg, disc))
        # discovery's quarantine rows describe the source as it is now: republished when they changed
        self.skips_changed = _skip_keys(skipped) != _published_skip_keys(prev)
        self.log_changed = _crawl_log(cfg, prev)
        return not (plan.is_noop and not self.skips_changed and not self.log_changed and not self.reviews_changed
                    and prev is not None)

    # ------------------------------------------------------------------------------------ parse
    def parse(self) -> None:
        """Parse the batches in the worker pool (each batch also checked by the pure half of the gate and
        staged) while GX validates the staged views in chunks; then the parse workers stop."""
        cfg, ex, run, summary = self.cfg, self.ex, self.tx, self.summary
        run_id = run.id
        run.at("parsing", self.staging)
        staging = self.staging = run.stage()
        run.prepare_catalogue()
        self.context_root = str(self.dest / ".gx")
        self.run_name = f"nianbao-{run_id}"
        prepare_gx(self.context_root)
        batches = _batches([i.as_dict() for i in self.plan.parse], cfg.batch_size)
        extras = self.extras = {}
        if self.skipped and self.skips_changed:    # staged with the last batch (or a batch of their own)
            if not batches:
                batches.append([])
            extras[len(batches) - 1] = src.quarantine_rows(self.skipped)
        # a handful of reports and no Data Docs: the suites are evaluated in pandas, GX is not imported
        engine = self.engine = gate_engine(len(self.plan.parse), cfg.quality_report, cfg.gate_engine)
        summary["gate_engine"] = engine
        gate_while_parsing = cfg.gate_while_parsing and len(batches) == 1 and engine == "gx"
        if self.local_pool and run_id not in pools.POOLS and (len(batches) > 1 or gate_while_parsing):
            pools.start_pool(run_id, min(cfg.workers, len(batches)), warm=False)
        pool_key = run_id if run_id in pools.POOLS else None
        self.log_batch = len(batches)       # the fetch log's own staging tag, after the parse batches
        if self.log_changed:
            summary["fetch_log_rows"] = ex.call(fetch_log_step, source=cfg.source, staging=str(staging),
                                                batch_no=self.log_batch)["rows"]
        publish_key = self.publish_key = (pools.publish_key(run_id) if pool_key is not None
                                          and len(batches) >= pools.PUBLISH_POOL_MIN_BATCHES else None)

        def parsed() -> None:             # the parse workers' memory is not needed to publish
            pools.stop_pool(run_id)
            if publish_key is not None:
                pools.start_publish_pool(publish_key, min(cfg.workers, pools.PUBLISH_PROCESSES))
        try:
            _emit("parse_total", total=len(self.plan.parse), batches=len(batches))
            self.summaries, self.chunks = _parse_and_validate(
                ex, cfg, batches, staging, self.run_name, self.prev, self.context_root, pool_key, extras,
                warm_gate=gate_while_parsing and pool_key is not None, on_parsed=parsed, engine=engine)
        finally:
            pools.stop_pool(run_id)

    # ------------------------------------------------------------------------------------ gate
    def gate(self) -> None:
        """GX's verdicts applied to the staged batches: a batch is published only if every dataset's chunk
        passed; a report GX found broken in a chunk that passes without it is quarantined alone."""
        ex, staging, summary, chunks, summaries = self.ex, self.staging, self.summary, self.chunks, self.summaries
        if self.log_changed:
            log_check = ex.call(validate_step, chunk_no=len(chunks), dataset="fetch_log", batch_nos=[self.log_batch],
                                staging=str(staging), run_name=self.run_name, context_root=self.context_root,
                                engine=self.engine)
            if not log_check["structural_ok"]:   # the log is not published; the reports are
                shutil.rmtree(staging / "fetch_log", ignore_errors=True)
                self.log_changed = False
            log_check["batches"] = []
            chunks.append(log_check)
        rejected = sorted({b for c in chunks if not c["structural_ok"] for b in c["batches"]})
        if rejected:                       # a batch is published only if every dataset's chunk passed
            batch.drop_staged_batches(staging, rejected)
        self.skips_published = self.skips_changed and not any(b in rejected for b in self.extras)
        # reports GX found structurally broken in a chunk that passes without them: quarantined alone
        held = {rid: why for c in chunks if c["structural_ok"] for rid, why in c.get("contained", {}).items()}
        if held:
            in_chunks = sorted({b for c in chunks if c.get("contained") for b in c["batches"]} - set(rejected))
            contained = batch.contain_staged(staging, in_chunks, held)
            quarantined = {r["report_id"] for r in contained}
            for s in summaries:
                for r in s["reports"]:
                    if r["sha256"] in quarantined:
                        r["status"] = "quarantined"
            summary["contained"] = [{"source_file": r["source_file"], "reason": r["reason"]} for r in contained]
        failures_of_batch: dict[int, list[str]] = {}
        for c in chunks:
            for b in c["batches"]:
                failures_of_batch.setdefault(b, []).extend(c["structural_failures"])
        for s in summaries:
            s["structural_failures"] = failures_of_batch.get(s["batch"], [])
            s["structural_ok"] = not s["structural_failures"]
        summary["gate_chunks"] = [{k: c[k] for k in ("chunk", "dataset", "batches", "rows", "structural_ok",
                                                     "seconds")} for c in chunks]
        summary["warnings"] = [w for c in chunks for w in c["warnings"]][:50]
        if any(c.get("engine") == "gx" for c in chunks):      # the evaluator could not decide one of them
            summary["gate_engine"] = "gx"
        summaries.sort(key=lambda s: s["batch"])

    # ------------------------------------------------------------------------------------ new manifest
    def new_manifest(self) -> bool:
        """The new version's manifest entries, the batches' verdicts, and the published rows to drop
        (replaced or removed reports, and reports re-parsed in this run). False when nothing would change."""
        from transforms import schema as registry
        plan, summary, run_id, previous = self.plan, self.summary, self.tx.id, self.previous
        entries = self.entries = dict(plan.entries)
        staged_ok = set()
        failures = []
        by_source = {i.source_file: i for i in plan.parse}
        for c in self.chunks:
            failures += c["structural_failures"]
        for s in self.summaries:
            if not s["structural_ok"]:
                continue
            for r in s["reports"]:
                it = by_source[r["source_file"]]
                it = mf.Item(it.source_file, r["sha256"], r["size"] if r["size"] is not None else it.size,
                             it.local_path, it.mtime_ns)
                extra = {"mtime_ns": it.mtime_ns} if it.mtime_ns is not None else None
                entries[r["sha256"]] = mf.entry_for(it, report_year=r["report_year"], status=r["status"],
                                                   parser_version=registry.PARSER_VERSION, run_id=run_id,
                                                   extra=extra)
                staged_ok.add(r["sha256"])
        for sha, dups in plan.duplicates.items():
            if sha in entries:
                entries[sha]["duplicates"] = dups
        summary["structural_failures"] = failures
        summary["parsed"] = sum(1 for e in entries.values() if e["run_id"] == run_id and e["status"] == "parsed")
        summary["quarantined"] = sum(1 for e in entries.values()
                                     if e["run_id"] == run_id and e["status"] == "quarantined")
        verdicts: dict[str, int] = {}
        for s in self.summaries:
            for k, v in (s.get("verdicts") or {}).items():
                verdicts[k] = verdicts.get(k, 0) + v
        summary["verdicts"] = self.verdicts = verdicts

        # rows to drop: replaced/removed reports (+ reports re-parsed in this run)
        remove = self.remove = set(plan.remove) | {sha for sha in staged_ok if sha in previous}
        self.removed_years = sorted({previous[s].get("report_year") for s in remove if s in previous},
                                    key=lambda y: (y is None, y or 0))
        return not (not staged_ok and not remove and not self.skips_published and not self.log_changed
                    and not self.reviews_changed and self.prev is not None)

    # ------------------------------------------------------------------------------------ cross-report
    def cross_report(self) -> None:
        """The run-level passes, once every batch is staged (the checks across years see the whole
        dataset), then the maintainers' reviews. With the run's publish processes, the datasets no pass
        restages are published while the passes run."""
        from flows import crossreport, reviewpass
        from transforms import schema as registry
        cfg, run, summary, names, staging, prev = self.cfg, self.tx, self.summary, self.names, self.staging, self.prev
        reviewed = bool(len(self.reviews) or self.reviews_changed)
        run.at("publishing", self.dest / pub.VERSIONS)
        self.partial = run.begin()
        self.page_inputs = set(_page_datasets()) if cfg.quality_report else None
        publish_key = self.publish_key
        in_processes = self.in_processes = publish_key is not None and publish_key in pools.POOLS
        publishing = self.publishing = _Publishing(
            self.ex, run, staging, prev, self.partial, self.page_inputs,
            drop=list(registry.DISCOVERY_REASONS) if self.skips_published else None,
            pool_key=publish_key if in_processes else None,
            window=min(cfg.workers, pools.PUBLISH_PROCESSES) if in_processes else len(names))
        remove_of = self.remove_of = {n: sorted(self.remove) for n in names}
        years_of = self.years_of = {n: list(self.removed_years) for n in names}
        _emit("stage", name="cross-report checks")
        if in_processes:
            held_back = {*crossreport.RESTAGED, *(reviewpass.RESTAGED if reviewed else ())}
            _emit("stage", name="publish", total=len(names))
            publishing.add([n for n in names if n not in held_back], remove_of, years_of)
        run.at("cross-report checks", staging)
        xr = publishing.alongside(cross_report_step, staging=str(staging), prev_root=str(prev) if prev else None,
                                  removed=sorted(self.remove), run_name=self.run_name,
                                  context_root=self.context_root, verdicts=self.verdicts, engine=self.engine)
        summary["cross_report"] = xr["summary"]
        summary["verdicts"] = xr["verdicts"]
        summary["structural_failures"] += xr["structural_failures"]
        summary["warnings"] = (summary["warnings"] + xr["summary"].get("warnings", []))[:50]
        publishing.check_untouched(xr, "the cross-report pass")
        reviewpass.merge_plans(remove_of, years_of, xr)
        if reviewed:                                     # the maintainers' decisions, per report
            _emit("stage", name="reviews")
            run.at("reviews", staging)
            rp = publishing.alongside(review_step, staging=str(staging), prev_root=str(prev) if prev else None,
                                      removed=sorted(self.remove), reviews_path=self.reviews.path,
                                      entries=self.reviews.applied())
            publishing.check_untouched(rp, "the reviews pass")
            reviewpass.merge_plans(remove_of, years_of, rp)
            summary["reviews"] = rp["summary"]

    # ------------------------------------------------------------------------------------ publish
    def publish(self) -> None:
        """Every dataset of the new version written (the previous rows less the removed ones, merged with
        the staged rows), the Data Docs and the summary page meanwhile; then its manifest and catalogue."""
        from flows import reviewpass
        from transforms import schema as registry
        cfg, ex, run, names, partial, publishing = self.cfg, self.ex, self.tx, self.names, self.partial, self.publishing
        if not self.in_processes:
            _emit("stage", name="publish", total=len(names))
        run.at("publishing", partial)
        reviewpass.write_sidecar(partial, self.reviews)       # read by the summary page and the next run
        docs = (ex.submit(docs_step, version_dir=str(partial), context_root=self.context_root)
                if cfg.quality_report else None)
        publishing.add([n for n in names if n not in publishing.added], self.remove_of, self.years_of)
        # the summary page is built as soon as the Data Docs and the datasets it reads are done, while the
        # others publish
        page = None
        docs_done = docs is None
        while publishing.ready or publishing.running:
            publishing.fill()
            f = _first_done(ex, [*publishing.running, *([docs] if not docs_done else [])])
            if f is docs:
                docs_done = True
            else:
                publishing.collect(f)
            if (page is None and docs_done and self.page_inputs is not None
                    and self.page_inputs <= set(publishing.stats)):
                page = _submit_report(ex, docs, partial, self.context_root)
        if page is None and self.page_inputs is not None:
            page = _submit_report(ex, docs, partial, self.context_root)
        self.page = page
        if self.in_processes:
            pools.stop_pool(self.publish_key)                 # their memory, before the catalog and the page
        self.summary["publish"] = {n: publishing.stats[n] for n in names}
        run.seal(self.entries, registry.PARSER_VERSION)  # the manifest, datapackage.json, nianbao.duckdb

    # ------------------------------------------------------------------------------------ quality page
    def quality_page(self) -> str | None:
        """The summary page's outcome: None, or why it failed (the data is published all the same)."""
        if not self.cfg.quality_report:
            return None
        summary, page = self.summary, self.page
        _emit("stage", name="quality report")
        self.tx.at("the quality report", self.partial / pub.QUALITY_REPORT)
        try:
            if isinstance(page, Exception):
                raise page
            if page.result():
                summary["quality_report"] = str(self.dest / pub.QUALITY_REPORT / "index.html")
        except Exception as e:        # the data is good: it is published, then the run fails
            failure = f"{type(e).__name__}: {e}"
            summary["errors"] = {**summary.get("errors", {}), "quality_report": failure}
            return failure
        return None

    # ------------------------------------------------------------------------------------ commit
    def commit(self, report_failure: str | None) -> dict:
        """The pointer swapped to the new version (flows/store.py); a failed summary page fails the run
        once its data is published."""
        summary = self.summary
        vid = summary["version"] = self.tx.vid
        summary["seconds"] = time.perf_counter() - self.t0
        self.tx.commit(summary)
        _emit("done", summary=summary)
        if report_failure is not None:
            raise RunFailed(f"the quality report failed: {' '.join(report_failure.split())}; "
                            f"the data was published (version {vid})", summary)
        return summary


def _crawl_log(cfg: RunConfig, prev: Path | None) -> bool:
    """Whether the source is a crawl folder whose fetch log differs from the published one."""
    from flows import crawled
    source = cfg.source[len("file://"):] if cfg.source.startswith("file://") else cfg.source
    if "://" in source or not crawled.is_crawl_folder(source):
        return False
    rows = crawled.fetch_log_rows(source)
    if rows is None:
        return False
    published = []
    if prev is not None and (prev / "fetch_log").exists():
        published = pub.read_table(prev / "fetch_log", "fetch_log").to_pylist()
    return crawled.fetch_log_digest(rows) != crawled.fetch_log_digest(published)


def _skip_keys(skipped: list[dict]) -> set[tuple]:
    return {(s["source_file"], s["reason_code"], s["reason"], s.get("sha256"), s.get("size")) for s in skipped}


def _published_skip_keys(prev: Path | None) -> set[tuple]:
    """The discovery rows of the published quarantine (a small dataset), as _skip_keys."""
    if prev is None or not (prev / "quarantine").exists():
        return set()
    import pyarrow.dataset as pds
    from transforms import schema as registry
    t = pub.read_table(prev / "quarantine", "quarantine",
                       columns=["source_file", "reason_code", "reason", "sha256", "file_size"],
                       filter=pds.field("reason_code").isin(list(registry.DISCOVERY_REASONS)))
    return set(zip(*(t[c].to_pylist() for c in t.column_names))) if t.num_rows else set()


def _empty_source_message(cfg: RunConfig, disc: dict) -> str:
    """One line naming the source and what was found there instead of reports (for one file given as
    the source: why it was not taken)."""
    skipped = disc.get("skipped") or []
    if len(skipped) == 1 and skipped[0]["source_file"] == printable_name(cfg.source.removeprefix("file://")):
        return f"{skipped[0]['source_file']}: not read [{skipped[0]['reason_code']}]: {skipped[0]['reason']}; nothing published"
    counts: dict[str, int] = {}
    for s in disc.get("skipped", []):
        counts[s["reason_code"]] = counts.get(s["reason_code"], 0) + 1
    found = [f"{sum(counts.values())} skipped: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))] if counts else []
    if disc.get("not_matched"):
        found.append(f"{disc['not_matched']} files not matching --glob {cfg.glob!r}")
    source = printable_name(cfg.source)
    return (f"no report file found in {source}" + (f" ({'; '.join(found)})" if found else "")
            + ": nothing published; pass --allow-empty if an empty source is expected")


def _drop_dangling_links(dest: Path, names: list[str]) -> None:
    """The dataset links of a destination that has no version yet (made at the start of the run): a
    reader following them would crash."""
    for n in [*names, pub.QUALITY_REPORT]:
        link = dest / n
        if link.is_symlink() and not link.exists():
            link.unlink()


def _page_datasets() -> list[str]:
    from quality_page.report import page_datasets
    return page_datasets()


def _submit_report(ex, docs, partial: Path, context_root: str):
    """The report step's future, once the Data Docs are built (the page links them); the exception
    instead if the Data Docs failed (a broken report must not stop the publishing)."""
    try:
        docs_index = docs.result()
    except Exception as e:
        return e
    return ex.submit(report_step, version_dir=str(partial), context_root=context_root, docs_index=docs_index)


def run_plain(cfg: RunConfig) -> dict:
    ex = PlainExecutor(cfg.workers)
    try:
        return orchestrate(cfg, ex)
    finally:
        ex.close()


def run_inline(cfg: RunConfig) -> dict:
    """The run step after step in this thread (flows/single.py: one report file as the source)."""
    ex = InlineExecutor()
    try:
        return orchestrate(cfg, ex)
    finally:
        ex.close()


# --------------------------------------------------------------------------- Prefect
# The tasks, the flow, its executor and run_flow are in flows/prefect_flow.py, which imports this module
# (never the other way): importing Prefect takes ~2 s, and a plain run or a run of one report file never does.

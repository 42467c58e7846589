"""The Prefect flow of a run: the step functions of flows/pipeline.py as Prefect tasks and the
``nianbao-run`` flow around ``pipeline.orchestrate``. A module of its own so that importing the
pipeline does not import Prefect (~2 s): a plain run (``--no-prefect``, one report file) never does."""
from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows import defaults, pipeline
from flows.pipeline import (crawl_step, cross_report_step, discover_step, docs_step, fetch_log_step, parse_step,
                            publish_step, report_step, review_step, validate_step)

_IO = dict(retries=2, retry_delay_seconds=[1, 5], cache_policy=NO_CACHE, persist_result=False)
_CPU = dict(cache_policy=NO_CACHE, persist_result=False)
TASKS = {
    "crawl_step": task(name="crawl", **{**_IO, "retries": 1})(crawl_step),
    "discover_step": task(name="discover", **_IO)(discover_step),
    "fetch_log_step": task(name="fetch-log", **_CPU)(fetch_log_step),
    "parse_step": task(name="parse-batch", task_run_name="parse-batch-{batch_no}", **_CPU)(parse_step),
    "validate_step": task(name="validate", task_run_name="validate-{dataset}-{chunk_no}", **_CPU)(validate_step),
    "cross_report_step": task(name="cross-report", **_CPU)(cross_report_step),
    "review_step": task(name="apply-reviews", **_CPU)(review_step),
    "publish_step": task(name="publish", task_run_name="publish-{name}", **_IO)(publish_step),
    "docs_step": task(name="data-docs", **_CPU)(docs_step),
    "report_step": task(name="quality-report", **{**_IO, "retries": 1})(report_step),
}


@flow(name="nianbao-run", task_runner=ThreadPoolTaskRunner(max_workers=3), log_prints=False)
def nianbao_run(source: str = defaults.SOURCE, dest: str = defaults.DEST, glob: str = defaults.GLOB,
                batch_size: int = defaults.BATCH_SIZE, workers: int = defaults.WORKERS, prune: bool = False,
                dask_address: str | None = None, quality_report: bool = True,
                validate_rows: int = defaults.VALIDATE_ROWS, follow_symlinks: bool = False,
                allow_empty: bool = False, sites: str | None = None, crawl_delay: float | None = None,
                reviews: str | None = None) -> dict:
    """(Crawl ->) discover -> parse in batches, validate in chunks -> publish atomically -> quality report."""
    # the pipeline's names are looked up when the flow runs (tests replace pipeline.orchestrate)
    cfg = pipeline.RunConfig(source=source, dest=dest, glob=glob, batch_size=batch_size, workers=workers,
                             prune=prune, dask_address=dask_address, quality_report=quality_report,
                             validate_rows=validate_rows, follow_symlinks=follow_symlinks, allow_empty=allow_empty,
                             sites=sites, crawl_delay=crawl_delay, reviews=reviews)
    try:
        summary = pipeline.orchestrate(cfg, pipeline.PrefectExecutor(TASKS))
    except pipeline.RunFailed as e:   # published, then a step failed (the quality report): still described
        if e.summary:
            pipeline.publish_artifacts(e.summary, failure=str(e))
        raise
    pipeline.publish_artifacts(summary)
    if summary.get("structural_failures"):
        from prefect.states import Failed
        n = len(summary["structural_failures"])
        return Failed(message=f"published version {summary.get('version')}, but {n} chunk(s) broke a structural "
                              f"expectation and were withheld: {summary['structural_failures'][0]}", data=summary)
    return summary


def run_flow(cfg: pipeline.RunConfig, heartbeat: bool = False) -> dict:
    """Run the Prefect flow (ephemeral server unless PREFECT_API_URL is set)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    pipeline.detach_ephemeral_server()
    fl = nianbao_run.with_options(task_runner=pipeline.task_runner_for(cfg))
    with pipeline._console_quiet_on(pipeline.src.SourceError, pipeline.RunFailed):
        if heartbeat:
            return _outcome(fl(**pipeline.flow_params(cfg), return_state=True))
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            return _outcome(fl(**pipeline.flow_params(cfg), return_state=True))


def _outcome(state) -> dict:
    """The flow's summary; its exception when it failed with one. A run that published with
    structural failures is Failed in Prefect and returns its summary (the CLI exits 3)."""
    result = state.result(raise_on_failure=False)
    if isinstance(result, BaseException):
        raise result
    if not isinstance(result, dict):
        raise pipeline.RunFailed(f"the flow run ended {state.type.value}: {state.message or result!r}")
    return result

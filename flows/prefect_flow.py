"""The Prefect flow of a run: the step functions of flows/pipeline.py as Prefect tasks, the
``nianbao-run`` flow around ``pipeline.orchestrate`` with its executor, artifacts, task runner and
temporary server. A module of its own so that importing the
pipeline does not import Prefect (~2 s): a plain run (``--no-prefect``, one report file) never does."""
from __future__ import annotations

import subprocess
import types
from contextlib import contextmanager
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows import defaults, env, pipeline, stopping
from flows.config import RunConfig
from transforms.names import printable_name
from flows.steps import (crawl_step, cross_report_step, discover_step, docs_step, fetch_log_step, parse_step,
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
                reviews: str | None = None, gate_engine: str = "auto") -> dict:
    """(Crawl ->) discover -> parse in batches, validate in chunks -> publish atomically -> quality report."""
    # the pipeline's names are looked up when the flow runs (tests replace pipeline.orchestrate)
    cfg = RunConfig(source=source, dest=dest, glob=glob, batch_size=batch_size, workers=workers,
                    prune=prune, dask_address=dask_address, quality_report=quality_report,
                    validate_rows=validate_rows, follow_symlinks=follow_symlinks, allow_empty=allow_empty,
                    sites=sites, crawl_delay=crawl_delay, reviews=reviews, gate_engine=gate_engine)
    try:
        summary = pipeline.orchestrate(cfg, PrefectExecutor(TASKS))
    except pipeline.RunFailed as e:   # published, then a step failed (the quality report): still described
        if e.summary:
            publish_artifacts(e.summary, failure=str(e))
        raise
    publish_artifacts(summary)
    if summary.get("structural_failures"):
        from prefect.states import Failed
        n = len(summary["structural_failures"])
        return Failed(message=f"published version {summary.get('version')}, but {n} chunk(s) broke a structural "
                              f"expectation and were withheld: {summary['structural_failures'][0]}", data=summary)
    return summary


def run_flow(cfg: RunConfig, heartbeat: bool = False) -> dict:
    """Run the Prefect flow (ephemeral server unless PREFECT_API_URL is set)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    detach_ephemeral_server()
    fl = nianbao_run.with_options(task_runner=task_runner_for(cfg))
    with _console_quiet_on(pipeline.src.SourceError, pipeline.RunFailed):
        if heartbeat:
            return _outcome(fl(**flow_params(cfg), return_state=True))
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            return _outcome(fl(**flow_params(cfg), return_state=True))


def _outcome(state) -> dict:
    """The flow's summary; its exception when it failed with one. A run that published with
    structural failures is Failed in Prefect and returns its summary (the CLI exits 3)."""
    result = state.result(raise_on_failure=False)
    if isinstance(result, BaseException):
        raise result
    if not isinstance(result, dict):
        raise pipeline.RunFailed(f"the flow run ended {state.type.value}: {state.message or result!r}")
    return result


class PrefectExecutor:
    """Maps step functions to their Prefect tasks; must be used inside a flow run."""
    def __init__(self, tasks: dict):
        self.tasks = tasks
        self.futures: list = []

    def submit(self, fn, **kw):
        f = self.tasks[fn.__name__].submit(**kw)
        self.futures.append(f)
        return f

    def settle(self, wait: bool) -> None:
        """Cancel the task runs not started (thread pool or Dask futures); with ``wait``, wait for the
        others."""
        for f in self.futures:
            inner = getattr(f, "wrapped_future", None)
            if inner is not None and not inner.done():
                inner.cancel()
        if wait:
            for f in self.futures:
                try:
                    f.wait()
                except Exception:
                    pass

    def stopped(self, exc: BaseException) -> None:
        """Mark the flow run Crashed now: Prefect's engine does it only once the tasks still running
        have ended, and those are abandoned. Not for Prefect's own TerminationSignal: a deployment's
        runner cancelling the run expects Cancelled, which the engine sets."""
        if not isinstance(exc, stopping.Interrupted):
            return
        from prefect.context import FlowRunContext
        from prefect.states import Crashed
        ctx = FlowRunContext.get()
        if ctx is None or ctx.flow_run is None or ctx.client is None:
            return
        try:
            ctx.client.set_flow_run_state(ctx.flow_run.id, Crashed(message=str(exc) or type(exc).__name__),
                                          force=True)
        except Exception:
            pass

    def call(self, fn, **kw):
        return self.tasks[fn.__name__](**kw)

    def as_completed(self, futures):
        from prefect.futures import as_completed
        return as_completed(futures)

    def close(self):
        pass


def run_summary_markdown(s: dict, failure: str | None = None) -> str:
    """The run summary as the markdown artifact of the flow run (what the CLI prints, as a table)."""
    state = ("failed: " + _md(failure) if failure else
             "published, with structural failures (chunks withheld)" if s.get("structural_failures") else
             "nothing to do" if s.get("noop") else "published")
    rows = [("version", s.get("version")), ("source", s.get("source")), ("destination", s.get("dest")),
            ("seconds", f"{s['seconds']:.1f}" if isinstance(s.get("seconds"), (int, float)) else None),
            ("files discovered", s.get("discovered")), ("parsed", s.get("parsed")),
            ("quarantined", s.get("quarantined")), ("unchanged", s.get("unchanged")),
            ("replaced or removed", s.get("to_remove")), ("kept though missing", s.get("retained_missing")),
            ("skipped by discovery", len(s.get("skipped") or [])),
            ("verdicts", ", ".join(f"{k} {v}" for k, v in sorted((s.get("verdicts") or {}).items())) or None)]
    out = [f"# nianbao run: {state}", "", "| | |", "|---|---|"]
    out += [f"| {k} | {_md(v)} |" for k, v in rows if v is not None]
    for title, items in (("Structural failures", s.get("structural_failures") or []),
                         ("Errors", [f"{k}: {v}" for k, v in sorted((s.get("errors") or {}).items())])):
        if items:
            out += ["", f"## {title}", ""] + [f"* {_md(i)}" for i in items[:50]]
    if s.get("quality_report"):
        out += ["", f"Quality report: `{_md(s['quality_report'])}`"]
    return "\n".join(out) + "\n"


def _md(v) -> str:
    """A value as inert markdown table text (file names come from the source)."""
    text = printable_name(str(v))
    for c in "\\`*[]<>|#":
        text = text.replace(c, "\\" + c)
    return text


def publish_artifacts(summary: dict, failure: str | None = None) -> None:
    """The flow run's artifacts: the run summary (markdown) and a link to the quality report. An
    artifact that cannot be created is logged, never a failure of the run."""
    from prefect.artifacts import create_link_artifact, create_markdown_artifact
    from prefect.logging import get_run_logger
    try:
        create_markdown_artifact(markdown=run_summary_markdown(summary, failure), key="nianbao-run-summary",
                                 description="What the run found, parsed, quarantined and published.")
        if summary.get("quality_report"):
            create_link_artifact(link=Path(summary["quality_report"]).absolute().as_uri(),
                                 link_text="quality report", key="nianbao-quality-report",
                                 description="Verdicts, failed checks, worst reports, quarantine, Data Docs.")
    except Exception as e:               # noqa: BLE001 - the data is published either way
        get_run_logger().warning("could not create the run's artifacts: %s", e)


def task_runner_for(cfg: RunConfig):
    if cfg.dask_address:
        from prefect_dask import DaskTaskRunner
        return DaskTaskRunner(address=cfg.dask_address)
    from prefect.task_runners import ThreadPoolTaskRunner
    return ThreadPoolTaskRunner(max_workers=max(1, cfg.workers) + 1)   # parse window + the gate


def flow_params(cfg: RunConfig) -> dict:
    return dict(source=cfg.source, dest=cfg.dest, glob=cfg.glob, batch_size=cfg.batch_size,
                workers=cfg.workers, prune=cfg.prune, dask_address=cfg.dask_address,
                quality_report=cfg.quality_report, validate_rows=cfg.validate_rows,
                follow_symlinks=cfg.follow_symlinks, allow_empty=cfg.allow_empty, sites=cfg.sites,
                crawl_delay=cfg.crawl_delay, reviews=cfg.reviews, gate_engine=cfg.gate_engine)


class _OwnSessionPopen(subprocess.Popen):
    """A child process in a session of its own: a Ctrl-C in the terminal does not reach it. A
    stopped process terminates it as it exits (Prefect's own exit hook may not get to run)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("start_new_session", True)
        super().__init__(*args, **kwargs)
        stopping.at_stop(self._terminate)

    def _terminate(self) -> None:
        if self.poll() is None:
            self.terminate()


def detach_ephemeral_server() -> None:
    """Prefect starts its temporary server (no PREFECT_API_URL) as a child in our process group, so a
    Ctrl-C stopped it together with the run, which then could not report its state: ~80 s of
    ConnectError retries, the flow run left RUNNING. Started in its own session it outlives the
    signal; Prefect still stops it when the process exits. With PREFECT_API_URL set no temporary server
    starts, and its module (~0.5 s to import) is left alone."""
    if env.prefect_api_url():
        return
    from prefect.server.api import server
    if not isinstance(server.subprocess, types.SimpleNamespace):
        server.subprocess = types.SimpleNamespace(**{**vars(subprocess), "Popen": _OwnSessionPopen})


@contextmanager
def _console_quiet_on(*expected: type[BaseException]):
    """Prefect's console handlers drop the traceback of an expected failure (a bad or empty source):
    the CLI prints it as one line; the flow run is still Failed, with its logs, in Prefect."""
    import logging

    from prefect.logging.handlers import PrefectConsoleHandler

    def keep(record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], expected))

    handlers = {h for lg in (logging.getLogger(), logging.getLogger("prefect"), logging.getLogger("prefect.flow_runs"))
                for h in lg.handlers if isinstance(h, PrefectConsoleHandler)}
    for h in handlers:
        h.addFilter(keep)
    try:
        yield
    finally:
        for h in handlers:
            h.removeFilter(keep)

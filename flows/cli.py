"""The `nianbao` command line (click). Errors are one line on stderr and a non-zero exit code.

    nianbao run [--source DIR|FILE|URL|URL-LIST] [--dest DIR]   the main job (Prefect flow)
    nianbao run --sites FILE [--source DIR]                crawl the columns into DIR, then ingest it
    nianbao --version
    nianbao parse FILE                                     one report's tables with flags
    nianbao serve [--cron '0 2 * * *'] [--timezone Asia/Shanghai]   the nightly schedule
    nianbao validate [--dest DIR]                          re-run the quality gate on what is published
    nianbao crawl --sites FILE --dest DIR                  fetch the reports of annual-report columns
    nianbao review --report SHA --check NAME --decision D --note … --reviewer …   record a decision

Plain click, not typer (which is built on it): typer's import (pydantic) and the pydantic
``TypeAdapter`` it builds per option cost ~0.2 s of every command, a fifth of a one-file run.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from pathlib import Path

import click

from flows import defaults, env, runtime, stopping
from transforms.names import inert_line

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_QUALITY = 3


class NianbaoError(Exception):
    """An expected failure, reported as one line."""


class Stopped(Exception):
    """The run stopped on a signal (not a KeyboardInterrupt: click would print a blank line for one)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class App(click.Group):
    """The command group, whose errors are one line (no usage box, no traceback); its commands are
    listed in the order they are defined (click sorts them by name)."""

    def __call__(self, args=None, prog_name="nianbao"):
        exit_skipping_finalization(main(args, prog_name))

    def list_commands(self, ctx) -> list[str]:
        return list(self.commands)


def exit_skipping_finalization(code: int) -> None:
    """Exit without the interpreter's finalization (flows/runtime.py); a run stopped by a signal joins
    no thread and runs its cleanups once more (flows/stopping.py)."""
    runtime.exit_skipping_finalization(code, stopped=stopping.received() is not None,
                                       cleanups=stopping.run_cleanups)


def version_text() -> str:
    """The installed package's version and the engine's parser version (the one in published rows)."""
    from importlib.metadata import PackageNotFoundError, version
    from transforms.schema import PARSER_VERSION
    try:
        pkg = version("nianbao")
    except PackageNotFoundError:      # run from a checkout that was never installed
        pkg = "unknown"
    return f"nianbao {pkg} (parser {PARSER_VERSION})"


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        print(version_text())
        ctx.exit(0)


@click.group(cls=App, name="nianbao", no_args_is_help=True, context_settings={"show_default": True})
@click.option("--version", is_flag=True, is_eager=True, expose_value=False, callback=_show_version,
              help="Print nianbao's version and parser version, then exit.")
def app():
    """Parse government information-disclosure annual reports into validated Parquet datasets."""


def _err(msg: str) -> None:
    print(f"nianbao: error: {msg}", file=sys.stderr)


def main(args=None, prog_name: str = "nianbao") -> int:
    try:
        rv = app.main(args=args, prog_name=prog_name, standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except SystemExit as e:                   # e.g. rich on a broken pipe
        return e.code if isinstance(e.code, int) else EXIT_ERROR
    except click.exceptions.NoArgsIsHelpError as e:     # `nianbao` alone prints the help
        click.echo(e.ctx.get_help(), err=True)
        return EXIT_USAGE
    except click.UsageError as e:
        _err(e.format_message().splitlines()[0] if e.format_message() else str(e))
        return EXIT_USAGE
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.ClickException as e:
        _err(e.format_message())
        return e.exit_code or EXIT_ERROR
    except Stopped as e:
        stopping.say(stopping.stop_message(e.signum))
        return 128 + e.signum
    except (click.Abort, KeyboardInterrupt):
        if stopping.received() is not None:
            stopping.say(stopping.stop_message(stopping.received()))
            return 128 + stopping.received()
        _err("interrupted")
        return 130
    except NianbaoError as e:
        _err(str(e))
        return EXIT_ERROR
    except Exception as e:  # never a traceback unless asked for
        if env.debug():
            raise
        from flows.publish import PublishError
        from flows.sources import SourceError
        from flows.deployment import ScheduleError
        from flows.pipeline import RunFailed
        if isinstance(e, (RunFailed, SourceError, PublishError, ScheduleError, FileNotFoundError, PermissionError)):
            _err(str(e))
        else:
            _err(f"{type(e).__name__}: {e} (set NIANBAO_DEBUG=1 for the traceback)")
        return EXIT_ERROR


def _check_source(source: str) -> None:
    from flows.sources import classify
    classify(source)              # raises SourceError("source not found: …")


def _crawl_source(sites: Path, source: str) -> str:
    """The folder a ``--sites`` run crawls into and reads (``--source``; data/crawl by default),
    created if missing; the sites file is checked before anything starts."""
    from flows.crawl import SitesError, load_sites
    try:
        load_sites(sites)
    except SitesError as e:
        raise click.BadParameter(str(e)) from None
    folder = defaults.CRAWL_SOURCE if source == defaults.SOURCE else source
    if "://" in folder and not folder.startswith("file://"):
        raise click.BadParameter(f"--sites crawls into a local folder: --source {folder} is a URL")
    _check_dest(folder.removeprefix("file://"))
    Path(folder.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    return folder


def _check_reviews(path: str | None) -> None:
    """A bad reviews file fails the command before anything runs (one line: file, line, reason)."""
    from flows import reviewpass
    from transforms.checks.reviews import ReviewsError
    try:
        reviewpass.load(path)
    except ReviewsError as e:
        raise NianbaoError(str(e)) from None


def _check_dest(dest: str) -> None:
    p = Path(dest)
    if p.exists() and not p.is_dir():
        raise NianbaoError(f"--dest {dest} is not a directory")
    anc = p
    while not anc.exists():
        anc = anc.parent
    if not os.access(anc, os.W_OK):
        raise NianbaoError(f"--dest {dest} is not writable")


class _Progress:
    """Progress of a run on stderr, driven by the flow's events. On a terminal: rich bars with the rate
    and the time left (parse advances by report, counted by the workers as they go). Anywhere else (a
    cron log, a pipe): plain timestamped lines, one per stage and one for the parse every
    NIANBAO_PROGRESS_SECONDS (default 30). ``enabled`` False (--no-progress): nothing."""

    def __init__(self, enabled: bool):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)
        self.console = Console(stderr=True, log_path=False)
        self.tty = enabled and (self.console.is_terminal or env.progress_forced())
        self.plain = enabled and not self.tty
        self.enabled = self.tty
        self.every = env.progress_seconds()
        self.p = Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
                          TimeRemainingColumn(), console=self.console, disable=not self.tty)
        self.tasks = {}
        self.parse_total = 0
        self.batches_done = 0
        self.parse_started = None
        self.last_line = 0.0
        self.stop = threading.Event()
        self.poller = None

    def __enter__(self):
        self.p.__enter__()
        return self

    def __exit__(self, *a):
        self.stop.set()
        if self.poller is not None:
            self.poller.join(timeout=2)
        self.p.__exit__(*a)

    def say(self, text: str) -> None:
        """A status line: what the run is doing now."""
        if self.tty:
            self.p.console.log(text)
        elif self.plain:
            print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} nianbao: {text}", file=sys.stderr, flush=True)

    def _parsed(self) -> int:
        from flows import pools
        counted = pools.parsed_count()
        return min(self.parse_total, max(self.batches_done, counted or 0))

    def _rate_eta(self, done: int) -> tuple[float, float | None]:
        elapsed = time.monotonic() - self.parse_started
        rate = done / elapsed if elapsed > 0 else 0.0
        return rate, ((self.parse_total - done) / rate if rate > 0 else None)

    def parse_line(self) -> str:
        done = self._parsed()
        rate, eta = self._rate_eta(done)
        pct = 100.0 * done / self.parse_total if self.parse_total else 100.0
        left = f", ETA {_duration(eta)}" if eta is not None and done < self.parse_total else ""
        return f"parse {done:,}/{self.parse_total:,} reports ({pct:.0f}%), {rate:.1f} reports/s{left}"

    def _poll(self) -> None:
        while not self.stop.wait(0.5):
            done = self._parsed()
            if self.tty and "parse" in self.tasks:
                rate, _ = self._rate_eta(done)
                self.p.update(self.tasks["parse"], completed=done, rate=f"{rate:.1f}/s")
            elif self.plain and time.monotonic() - self.last_line >= self.every:
                self.last_line = time.monotonic()
                self.say(self.parse_line())
            if done >= self.parse_total:
                return

    def __call__(self, event: str, **kw):
        if event == "say":
            self.say(kw["text"])
        elif event == "stage":
            if kw.get("total") and self.tty:
                self.tasks[kw["name"]] = self.p.add_task(kw["name"], total=kw["total"], rate="")
            if not kw.get("total") or self.plain:
                self.say(f"{kw['name']} …")
        elif event == "parse_total":
            self.parse_total = kw["total"]
            self.parse_started = self.last_line = time.monotonic()
            if self.tty:
                self.tasks["parse"] = self.p.add_task("parse", total=kw["total"], rate="")
            self.say(f"parse {kw['total']:,} reports in {kw.get('batches', 0)} batch(es) …") if self.plain else None
            if (self.tty or self.plain) and kw["total"]:
                self.poller = threading.Thread(target=self._poll, name="nianbao-progress", daemon=True)
                self.poller.start()
        elif event == "parse_advance":
            self.batches_done += kw["n"]
            if self.tty:
                rate, _ = self._rate_eta(self._parsed())
                self.p.update(self.tasks["parse"], completed=self._parsed(), rate=f"{rate:.1f}/s")
            elif self.plain and self.batches_done >= self.parse_total:
                self.say(self.parse_line())
        elif event == "publish_advance" and self.tty:
            self.p.advance(self.tasks["publish"], kw["n"])


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


SKIPPED_SHOWN = 50     # skipped entries printed one per line; all are in the summary and the quarantine


def prefect_run(cfg) -> dict:
    """The run as a Prefect flow (flows/prefect_flow.py: imported only then, Prefect takes ~2 s to import)."""
    from flows import prefect_flow
    return prefect_flow.run_flow(cfg)


def _print_summary(s: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(s, ensure_ascii=False, indent=1, default=str))
        return
    skipped = s.get("skipped") or []
    if s.get("noop"):
        print(f"nothing to do: {s.get('discovered', 0)} files unchanged, {len(skipped)} skipped "
              f"(version {s.get('version')})")
    else:
        print(f"published {s['version']} in {s['seconds']:.1f}s: {s.get('discovered', 0)} files, "
              f"{s.get('parsed', 0)} parsed, {s.get('quarantined', 0)} quarantined, "
              f"{s.get('unchanged', 0)} unchanged, {s.get('to_remove', 0)} replaced/removed, "
              f"{s.get('retained_missing', 0)} kept though missing, {len(skipped)} skipped; "
              f"verdicts {s.get('verdicts', {})}")
        if s.get("quality_report"):
            print(f"quality report: {s['quality_report']}")
    for k in skipped[:SKIPPED_SHOWN]:
        print(f"skipped [{k['reason_code']}]: {inert_line(k['source_file'])}: {inert_line(k['reason'])}",
              file=sys.stderr)
    if len(skipped) > SKIPPED_SHOWN:
        print(f"skipped: {len(skipped) - SKIPPED_SHOWN} more (all in the quarantine dataset and --json)",
              file=sys.stderr)
    if s.get("not_matched"):
        print(f"note: {s['not_matched']} files of the source do not match --glob", file=sys.stderr)
    listed = {k["source_file"] for k in skipped}
    for u, e in sorted((s.get("errors") or {}).items()):
        if u not in listed:
            print(f"warning: {inert_line(str(u))}: {inert_line(str(e))}", file=sys.stderr)
    for f in s.get("structural_failures") or []:
        print(f"structural failure (chunk not published): {f}", file=sys.stderr)
    crawl = s.get("crawl")
    if crawl and not as_json:
        if crawl.get("error"):
            print(f"warning: the crawl failed ({inert_line(crawl['error'])}); read what earlier crawls left",
                  file=sys.stderr)
        else:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(crawl.get("outcomes", {}).items()))
            print(f"crawled: {counts}; {crawl.get('files', 0)} report file(s), "
                  f"{crawl.get('downloaded_bytes', 0):,} bytes downloaded", file=sys.stderr)
            for e in crawl.get("errors", [])[:20]:
                print(f"  crawl: {inert_line(e)}", file=sys.stderr)


def _prefect_start_message() -> str:
    api = env.prefect_api_url()
    if api:
        return f"starting the Prefect flow run (server {api}) …"
    return ("starting Prefect (a temporary local server: about 10 s; set PREFECT_API_URL to use a running "
            "one, or pass --no-prefect) …")


def _signal_of(e: BaseException) -> int | None:
    """The signal behind Prefect's TerminationSignal (its SIGTERM handler during a flow run)."""
    sig = getattr(e, "signal", None)
    return int(sig) if type(e).__name__ == "TerminationSignal" and sig is not None else None


def _execute(cfg, in_process: bool, prefect: bool, progress: bool, as_json: bool) -> dict:
    """The run's summary: in this process (one report file), as a Prefect flow or in plain Python with its
    progress, stopped by a signal as one line."""
    from flows import pipeline, single
    stopping.install()
    try:
        with contextlib.nullcontext() if in_process else _Progress(progress) as bar:
            pipeline.set_progress(bar)
            try:
                if prefect:
                    bar.say(_prefect_start_message())
                if in_process:
                    return single.run(cfg)
                return prefect_run(cfg) if prefect else pipeline.run_plain(cfg)
            finally:
                pipeline.set_progress(None)
    except BaseException as e:
        signum = stopping.received() or _signal_of(e)
        if signum is not None:
            raise Stopped(signum) from e
        if isinstance(e, pipeline.RunFailed) and e.summary and as_json:   # published, then a step failed
            _print_summary(e.summary, as_json)
        raise
    finally:
        if stopping.received() is None:
            stopping.uninstall()


_REVIEWS_HELP = f"The maintainers' reviews file (default {defaults.REVIEWS} when it exists)."
_POSITIVE = click.IntRange(min=1)
_PATH = click.Path(path_type=Path)


@app.command()
@click.option("--source", "-s", default=defaults.SOURCE,
              help="Folder, one report file, fsspec URL, http(s) URL or a file listing report URLs (one per line).")
@click.option("--dest", "-d", default=defaults.DEST,
              help="Output folder: the datasets (Parquet by year), datapackage.json, nianbao.duckdb and the quality "
                   "report.")
@click.option("--glob", default=defaults.GLOB, help="Files to take from a folder source (default: every file; the "
              "type is sniffed from the bytes, what is not taken is listed and quarantined).")
@click.option("--follow-symlinks", is_flag=True,
              help="Read symbolic links that leave the source folder (default: list them, do not read them).")
@click.option("--allow-empty", is_flag=True,
              help="An empty source is not an error (default: exit 1, nothing published).")
@click.option("--batch-size", type=_POSITIVE, default=defaults.BATCH_SIZE, help="Reports per parse task.")
@click.option("--workers", type=_POSITIVE, default=defaults.WORKERS, help="Parallel parse processes.")
@click.option("--validate-rows", type=_POSITIVE, default=defaults.VALIDATE_ROWS,
              help="Tidy rows of one dataset per GX validation (many batches at once; memory of the flow process).")
@click.option("--prune", is_flag=True,
              help="Remove the rows of files that disappeared from the source (default: keep them).")
@click.option("--dask-address", default=None, help="Run the tasks on this Dask scheduler (tcp://host:8786).")
@click.option("--quality-report/--no-quality-report", default=None,
              help="Build the maintainers' quality report (summary page + GX Data Docs) with the new version "
                   "(default: on; off when --source is one report file).")
@click.option("--prefect/--no-prefect", default=None,
              help="Run as a Prefect flow or plain Python (default: Prefect; plain Python when --source is one "
                   "report file).")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.option("--progress/--no-progress", default=True,
              help="Progress on stderr: bars with rate and ETA on a terminal, timestamped lines elsewhere (every "
                   "NIANBAO_PROGRESS_SECONDS, 30); --no-progress: only the summary and errors.")
@click.option("--sites", type=_PATH, default=None,
              help="YAML file of annual-report columns: crawl them into --source (default data/crawl), then ingest "
                   "it (README: crawling).")
@click.option("--reviews", default=None, help=_REVIEWS_HELP)
@click.option("--gate-engine", default="auto",
              help="What validates the quality suites: auto (the pandas evaluator for a run of at most 25 reports "
                   "without the quality report, else GX), gx, or pandas (no Data Docs for the reports it "
                   "validates; GX still runs a suite pandas cannot decide).")
def run(source: str, dest: str, glob: str, follow_symlinks: bool, allow_empty: bool, batch_size: int, workers: int,
        validate_rows: int, prune: bool, dask_address: str | None, quality_report: bool | None,
        prefect: bool | None, as_json: bool, progress: bool, sites: Path | None, reviews: str | None,
        gate_engine: str):
    """The main job: (crawl ->) discover -> parse -> validate -> publish -> quality report (incremental).

    One report file as --source: one line (the report, its verdict, where it is published or why it
    is not), run in plain Python without the quality report unless --prefect / --quality-report."""
    started = time.perf_counter()
    with contextlib.ExitStack() as startup:
        # no collections while the checks import most of what the run uses (~0.08 s of a one-file run);
        # a run in this process keeps the collector off (single.run), any other gets it back first
        startup.enter_context(runtime.gc_paused())
        if sites is not None:
            source = _crawl_source(sites, source)
        _check_source(source)
        _check_dest(dest)
        if dask_address and not dask_address.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            raise click.BadParameter(f"--dask-address must look like tcp://host:port, got {dask_address!r}")
        from flows.config import GATE_ENGINES
        if gate_engine not in GATE_ENGINES:
            raise click.BadParameter(f"--gate-engine must be one of {', '.join(GATE_ENGINES)}, got {gate_engine!r}")
        _check_reviews(reviews)
        from flows import single
        one_path = single.report_file(source) if sites is None and dask_address is None else None
        one_file = one_path is not None
        prefect = not one_file if prefect is None else prefect
        quality_report = not one_file if quality_report is None else quality_report
        env.configure(dest)
        from flows import pipeline
        cfg = pipeline.RunConfig(source=source, dest=dest, glob=glob, batch_size=batch_size, workers=workers,
                                 prune=prune, dask_address=dask_address, quality_report=quality_report,
                                 validate_rows=validate_rows, follow_symlinks=follow_symlinks, allow_empty=allow_empty,
                                 sites=str(sites.resolve()) if sites is not None else None,
                                 reviews=reviews, gate_engine=gate_engine)
        in_process = one_file and not prefect          # one line, no progress (nor its import of rich)
        if not in_process:
            startup.close()
        s = _execute(cfg, in_process, prefect, progress, as_json)
    if not one_file:
        _print_summary(s, as_json)
        return EXIT_QUALITY if s.get("structural_failures") else 0
    if "file" not in s:                       # the Prefect flow ran it
        s["prefect"] = True
        s["file"] = single.outcome(dest, one_path, s)
    if as_json:
        _print_summary(s, as_json)
    text, failed = single.line(s, time.perf_counter() - started)
    if failed:
        _err(text)
        return EXIT_QUALITY if s.get("structural_failures") else EXIT_ERROR
    print(text)
    return 0


@app.command()
@click.argument("file", type=_PATH)
@click.option("--table", default=None, help="Only this table (active_disclosure, applications, review_litigation).")
@click.option("--flagged", is_flag=True, help="Only cells that carry flags.")
@click.option("--checks/--no-checks", default=True, help="Run the quality checks (no GX) and show the verdict.")
def parse(file: Path, table: str | None, flagged: bool, checks: bool):
    """Print one report's tables with their flags (for debugging a report).

    FILE: one report file."""
    if not file.is_file():
        raise NianbaoError(f"no such file: {file}")
    from transforms import schema as registry
    if table is not None and table not in registry.STATUTORY_TABLES:
        raise click.BadParameter(f"--table must be one of {', '.join(registry.STATUTORY_TABLES)}")
    from rich.console import Console
    from rich.table import Table
    from transforms.engine import parse_report
    from transforms.tidy import to_frames
    con = Console()
    from flows.batch import read_bytes
    from transforms.read.limits import Unreadable
    try:
        data = read_bytes(str(file))
    except Unreadable as exc:   # over NIANBAO_MAX_BYTES: refused before it is read
        raise NianbaoError(f"{file}: {exc}") from None
    p = parse_report(data, str(file))
    frames = to_frames([p])
    rep = p.report
    con.print(f"[bold]{rep.get('organization')}[/] {rep.get('report_year')}  template={rep.get('template')} "
              f"status={rep.get('status')} layout={rep.get('layout')} encoding={rep.get('encoding')}")
    con.print(f"report_id {rep.get('report_id')}  cells {rep.get('n_cells')}  flagged {rep.get('n_flagged')}")
    for t in registry.STATUTORY_TABLES:
        con.print(f"  {t}: {rep.get(t + '_status')}")
    for pr in rep.get("problems") or []:
        con.print(f"  [yellow]problem[/] {pr}")
    for t in registry.STATUTORY_TABLES:
        if table and t != table:
            continue
        df = frames[t]
        if flagged:
            df = df[df["flags"].map(lambda f: len(f) > 0)]
        tab = Table(title=f"{t} ({len(df)} cells)", show_lines=False)
        for c in ("row_path", "column_path", "value", "raw_value", "unit", "flags", "source_line"):
            tab.add_column(c, overflow="fold")
        for r in df.itertuples(index=False):
            fl = ",".join(r.flags) if len(r.flags) else ""
            tab.add_row(str(r.row_path), str(r.column_path), "" if r.value != r.value else f"{r.value:g}",
                        "" if not isinstance(r.raw_value, str) else r.raw_value, str(r.unit or ""),
                        f"[red]{fl}[/]" if fl else "", str(r.source_line))
        con.print(tab)
    if checks and rep.get("status") == "parsed":
        from transforms.checks.batch import check_batch
        checked = check_batch(frames).frames
        qc, v = checked["quality_checks"], checked["reports"]
        bad = qc[qc["status"] != "pass"]
        con.print(f"verdict: [bold]{v['verdict'].iloc[0]}[/]")
        for r in bad.itertuples(index=False):
            con.print(f"  {r.status:<4} {r.check}: {r.observed if isinstance(r.observed, str) else ''}")
    return 0


@app.command()
@click.option("--cron", default="0 2 * * *", help="Cron expression of the nightly run.")
@click.option("--timezone", default="Asia/Shanghai", help="Time zone of the cron expression.")
@click.option("--source", "-s", default=defaults.SOURCE,
              help="Folder, fsspec URL, http(s) URL or a file listing report URLs.")
@click.option("--dest", "-d", default=defaults.DEST, help="Output folder of the scheduled runs.")
@click.option("--name", default="nightly", help="Deployment name.")
@click.option("--glob", default=defaults.GLOB, help="Files to take from a folder source (default: every file).")
@click.option("--follow-symlinks", is_flag=True, help="Read symbolic links that leave the source folder.")
@click.option("--allow-empty", is_flag=True, help="A scheduled run on an empty source succeeds (default: it fails).")
@click.option("--sites", type=_PATH, default=None,
              help="YAML file of annual-report columns: each run crawls them into --source (default data/crawl), "
                   "then ingests it.")
@click.option("--reviews", default=None, help=_REVIEWS_HELP)
def serve(cron: str, timezone: str, source: str, dest: str, name: str, glob: str, follow_symlinks: bool,
          allow_empty: bool, sites: Path | None, reviews: str | None):
    """Serve the nightly schedule (needs a Prefect server: PREFECT_API_URL)."""
    from flows.deployment import check_schedule, serve_nightly
    check_schedule(cron, timezone)
    if sites is not None:
        source = _crawl_source(sites, source)
    _check_source(source)
    _check_dest(dest)
    _check_reviews(reviews)
    if not env.prefect_api_url():
        raise NianbaoError("schedules need a Prefect server: run `prefect server start` and "
                           "export PREFECT_API_URL=http://127.0.0.1:4200/api")
    env.configure(dest, quiet=False)
    serve_nightly(source=source, dest=dest, cron=cron, timezone=timezone, name=name, glob=glob,
                  follow_symlinks=follow_symlinks, allow_empty=allow_empty,
                  sites=str(sites.resolve()) if sites is not None else None,
                  reviews=reviews)
    return 0


@app.command()
@click.option("--dest", "-d", default=defaults.DEST,
              help="Output folder whose published version is validated again.")
@click.option("--quality-report/--no-quality-report", default=True,
              help="Rebuild the quality report with the new version.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--reviews", default=None, help=_REVIEWS_HELP)
def validate(dest: str, quality_report: bool, as_json: bool, reviews: str | None):
    """Re-run the quality gate on the published datasets; republish verdicts + quality_checks (and the
    maintainers' reviews)."""
    if not Path(dest).is_dir():
        raise NianbaoError(f"no such directory: {dest}")
    _check_reviews(reviews)
    env.configure(dest)
    from flows.revalidate import revalidate
    s = revalidate(dest, quality_report=quality_report, reviews=reviews)
    if as_json:
        print(json.dumps(s, ensure_ascii=False, indent=1, default=str))
    else:
        print(f"validated {s.get('reports', 0)} reports: verdicts {s['verdicts']}; published {s['version']}")
        if s.get("quality_report"):
            print(f"quality report: {s['quality_report']}")
        for f in s["structural_failures"]:
            print(f"structural failure: {f}", file=sys.stderr)
    return EXIT_QUALITY if s["structural_failures"] else 0


@app.command()
@click.option("--sites", type=_PATH, required=True, help="YAML file of the columns to crawl (README: crawling).")
@click.option("--dest", "-d", type=_PATH, required=True, help="Folder the reports, fetch log and cache go to.")
@click.option("--delay", type=float, default=None,
              help="Seconds between two requests to one host (default: each site's `delay`, else 1).")
@click.option("--json", "as_json", is_flag=True, help="Print the crawl summary as JSON.")
def crawl(sites: Path, dest: Path, delay: float | None, as_json: bool):
    """Fetch list pages, article pages and report attachments of government annual-report columns."""
    from flows.crawl import Crawler, SitesError, load_sites
    try:
        site_list = load_sites(sites)
    except SitesError as e:
        _err(str(e))
        return EXIT_USAGE
    _check_dest(str(dest))
    s = Crawler(dest, delay=delay).crawl(site_list)
    if as_json:
        print(json.dumps(s.__dict__, ensure_ascii=False, indent=1))
    else:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(s.outcomes.items()))
        print(f"crawled {len(site_list)} site(s): {counts}; {s.files} report file(s) in {dest} "
              f"({s.downloaded_bytes:,} bytes downloaded); log {dest}/_crawl/fetch_log.jsonl")
        for e in s.errors[:20]:
            print(f"  {e}", file=sys.stderr)
    return 0



@app.command()
@click.option("--report", required=True, help="The report's sha256 (report_id).")
@click.option("--check", required=True, help="The check's name (quality_checks.check).")
@click.option("--decision", required=True,
              help="publisher_error_confirmed, parser_error, accepted or corrected_value.")
@click.option("--note", required=True, help="Why (kept with the decision).")
@click.option("--reviewer", required=True, help="Who decided.")
@click.option("--table", default=None, help="corrected_value: the cell's table.")
@click.option("--row", default=None, help="corrected_value: the cell's row_path.")
@click.option("--column", default=None, help="corrected_value: the cell's column_path.")
@click.option("--value", default=None, help="corrected_value: the number the cell should hold.")
@click.option("--date", default=None, help="YYYY-MM-DD (default: today, UTC).")
@click.option("--reviews", default=defaults.REVIEWS, help="The reviews file to append to.")
@click.option("--dest", "-d", default=defaults.DEST, help="Published data: the report must be in it.")
def review(report: str, check: str, decision: str, note: str, reviewer: str, table: str | None, row: str | None,
           column: str | None, value: str | None, date: str | None, reviews: str, dest: str):
    """Append one maintainers' decision to the reviews file (validated; applied by the next run or
    `nianbao validate`)."""
    import datetime as dt
    from flows import reviewpass
    from transforms.checks import reviews as rv
    entry = {"report_id": report, "check": check, "decision": decision, "note": note, "reviewer": reviewer,
             "date": date or dt.datetime.now(dt.timezone.utc).date().isoformat(),
             "table": table, "row_path": row, "column_path": column, "corrected_value": value}
    try:
        norm = rv.validate_entry(entry, "review")
        reviewpass.check_published(Path(dest), norm)
        r = rv.append(reviews, entry)
    except (rv.ReviewsError, reviewpass.UnknownReport) as e:
        raise NianbaoError(str(e)) from None
    print(f"{reviews}: {len(r)} review(s); added {norm['decision']} for {norm['check']} of "
          f"{norm['report_id'][:12]}… (applied by the next `nianbao run` or `nianbao validate`)")
    return 0


if __name__ == "__main__":
    app()

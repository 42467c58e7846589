"""Publishing in the run's processes: a run of several batches publishes its datasets in spawn processes,
those no run-level pass restages while the cross-report pass runs, with the bytes of a run that publishes
in its own process (plain, Prefect, incremental with the passes restaging published reports, with
reviews); a publish that fails or a publish process that dies fails the run with one line, its staging
and unpublished version removed, its processes gone; the publish processes of a killed run exit."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest

from flows import crossreport
from flows import pipeline, pools, steps
from flows import publish as pub
from flows.cli import main
from flows.pipeline import RunConfig, RunFailed, run_plain
from launch import at_points
from transforms import schema as registry

pytestmark = pytest.mark.slow      # runs that spawn worker and publish processes

from paths import ROOT
SEEDS = ROOT / "tests" / "fixtures" / "seeds"
EARLY = sorted(n for n in registry.DATASETS if n not in crossreport.RESTAGED)
IN_PROCESSES = sorted(n for n in registry.DATASETS if n not in registry.GENERATED)   # codes: in the flow process


class PublishSpy:
    """What the runs' publish processes were handed (dataset names), and those processes."""

    def __init__(self, monkeypatch):
        self.published: list[str] = []
        self.processes: list = []
        real = pools.start_publish_pool

        def start(key: str, processes: int) -> None:
            real(key, processes)
            pool = pools.POOLS[key]
            submit = pool.submit

            def spy(fn, *args, **kw):
                if fn is steps._publish:
                    self.published.append(args[0])
                f = submit(fn, *args, **kw)
                self.processes += [p for p in pool._processes.values() if p not in self.processes]
                return f
            pool.submit = spy
        monkeypatch.setattr(pools, "start_publish_pool", start)

    def all_gone(self) -> bool:
        return bool(self.processes) and not any(p.is_alive() for p in self.processes)


def _seeds(src: Path, n: int | None = None) -> Path:
    src.mkdir(exist_ok=True)
    for p in sorted(SEEDS.glob("*.txt"))[:n]:
        shutil.copy(p, src / p.name)
    return src


def _assert_untouched(dest: Path, version: Path, digest: dict) -> None:
    assert pub.current_version(dest) == version and pub.digest(dest) == digest
    assert not any((dest / pub.STAGING).iterdir())
    assert not [p.name for p in (dest / pub.VERSIONS).iterdir() if p.name.endswith(".partial")]


def test_a_run_of_several_batches_publishes_in_its_processes_while_the_cross_report_pass_runs(
        tmp_path, monkeypatch):
    spy = PublishSpy(monkeypatch)
    events: list[str] = []
    early_done = threading.Event()
    real_publish, real_pass = pipeline.publish_step, pipeline.cross_report_step

    def publish_step(**kw):
        out = real_publish(**kw)
        events.append(kw["name"])
        if set(EARLY) <= set(events):
            early_done.set()
        return out

    def cross_report_step(**kw):
        # holds the pass until the datasets it does not restage are published: they publish meanwhile
        assert early_done.wait(300), f"published during the pass: {events}"
        events.append("cross-report")
        return real_pass(**kw)
    monkeypatch.setattr(pipeline, "publish_step", publish_step)
    monkeypatch.setattr(pipeline, "cross_report_step", cross_report_step)
    dest = tmp_path / "out"
    s = run_plain(RunConfig(source=str(SEEDS), dest=str(dest), batch_size=2, workers=2, quality_report=False))
    assert s["parsed"] + s["quarantined"] == 5 and not s["structural_failures"]
    assert sorted(spy.published) == IN_PROCESSES
    i = events.index("cross-report")
    assert sorted(events[:i]) == EARLY and sorted(events[i + 1:]) == sorted(crossreport.RESTAGED)
    assert not pools.POOLS and spy.all_gone()
    # the bytes of a run that publishes in its own process (one worker: no processes)
    ref = tmp_path / "ref"
    run_plain(RunConfig(source=str(SEEDS), dest=str(ref), batch_size=2, workers=1, quality_report=False))
    assert len(spy.published) == len(IN_PROCESSES)
    assert pub.digest(dest) == pub.digest(ref)


def _cross_year_runs(tmp_path: Path, name: str, workers: int, reviews: Path | None = None) -> Path:
    """The cross-year corpus of tests/integration/test_crossreport.py published without its 2021 reports, then
    with them: the second run re-checks published 2022 reports (restaged in quality_checks, reports and
    report_summary); with ``reviews`` (made on the first run's output when the file does not exist yet)
    it also restages a published report's applications cells (a corrected value)."""
    from integration.test_crossreport import _corpus
    src, later, dest = tmp_path / "src", tmp_path / "later", tmp_path / f"{name}-out"    # the same source paths
    shutil.rmtree(src, ignore_errors=True)
    shutil.rmtree(later, ignore_errors=True)
    _corpus(src)
    later.mkdir()
    for p in src.glob("*_2021.txt"):
        shutil.move(p, later / p.name)
    cfg = dict(dest=str(dest), glob="**/*.txt", batch_size=3, workers=workers, quality_report=False)
    run_plain(RunConfig(source=str(src), **cfg))
    if reviews is not None and not reviews.exists():
        qc = pub.load_frame(dest / "quality_checks", "quality_checks")
        row = qc[qc["status"] != "pass"].iloc[0]
        cells = pub.load_frame(dest / "applications", "applications")
        cell = cells[cells["report_id"] == row["report_id"]].iloc[0]       # the reviews pass restages it
        assert main(["review", "--dest", str(dest), "--reviews", str(reviews), "--report", row["report_id"],
                     "--check", row["check"], "--decision", "corrected_value", "--table", "applications",
                     "--row", cell["row_path"], "--column", cell["column_path"], "--value", "1",
                     "--reviewer", "wang", "--note", "n", "--date", "2026-12-06"]) == 0
    for p in later.iterdir():
        shutil.move(p, src / p.name)
    s = run_plain(RunConfig(source=str(src), reviews=str(reviews) if reviews else None, **cfg))
    assert s["cross_report"]["pairs"] == 8
    assert reviews is None or s["reviews"]["restaged"] == {"quality_checks": 1, "applications": 1}
    return dest


@pytest.mark.parametrize("reviewed", [False, True])
def test_an_incremental_run_in_processes_publishes_what_one_in_its_own_process_does(
        tmp_path, monkeypatch, reviewed):
    monkeypatch.chdir(tmp_path)                       # no default reviews file
    reviews = tmp_path / "reviews.yaml" if reviewed else None
    spy = PublishSpy(monkeypatch)
    here = _cross_year_runs(tmp_path, "inline", workers=1, reviews=reviews)
    assert spy.published == []
    there = _cross_year_runs(tmp_path, "processes", workers=2, reviews=reviews)
    assert sorted(spy.published) == sorted(IN_PROCESSES * 2) and spy.all_gone()
    assert pub.digest(there) == pub.digest(here)


def test_a_failed_publish_in_a_process_fails_the_run_with_one_line(tmp_path, monkeypatch):
    src, dest = _seeds(tmp_path / "src", 3), tmp_path / "out"
    run_plain(RunConfig(source=str(src), dest=str(dest), quality_report=False))
    version, digest = pub.current_version(dest), pub.digest(dest)
    _seeds(src)
    spy = PublishSpy(monkeypatch)

    def damage(point: str) -> None:          # a staged file broken before it is published
        if point == "after_parse":
            next((dest / pub.STAGING).glob("*/applications/**/*.parquet")).write_bytes(b"not parquet")
    at_points(damage, monkeypatch.setattr)
    with pytest.raises(RunFailed) as failed:
        run_plain(RunConfig(source=str(src), dest=str(dest), batch_size=1, workers=2, quality_report=False))
    msg = str(failed.value)
    assert msg.startswith("publishing failed: ArrowInvalid: ") and "\n" not in msg, msg
    assert msg.endswith("; its staging was removed; the published version is unchanged"), msg
    assert "applications" in spy.published and not pools.POOLS and spy.all_gone()
    _assert_untouched(dest, version, digest)


def test_a_publish_process_that_dies_fails_the_run_with_one_line(tmp_path, monkeypatch):
    src, dest = _seeds(tmp_path / "src", 3), tmp_path / "out"
    run_plain(RunConfig(source=str(src), dest=str(dest), quality_report=False))
    version, digest = pub.current_version(dest), pub.digest(dest)
    _seeds(src)
    spy = PublishSpy(monkeypatch)
    killed = []

    def kill_one(point: str) -> None:        # once the first dataset is published
        if point == "mid_publish" and not killed:
            killed.append(spy.processes[0].pid)
            os.kill(spy.processes[0].pid, signal.SIGKILL)
    at_points(kill_one, monkeypatch.setattr)
    with pytest.raises(RunFailed) as failed:
        run_plain(RunConfig(source=str(src), dest=str(dest), batch_size=1, workers=2, quality_report=False))
    msg = str(failed.value)
    assert killed and msg.startswith("publishing failed: BrokenProcessPool: ") and "\n" not in msg, msg
    assert msg.endswith("; its staging was removed; the published version is unchanged"), msg
    assert not pools.POOLS and spy.all_gone()
    _assert_untouched(dest, version, digest)


def test_a_signal_while_publishing_in_processes_stops_them_and_removes_the_unpublished_version(
        tmp_path, monkeypatch):
    from flows import stopping
    src, dest = _seeds(tmp_path / "src", 3), tmp_path / "out"
    run_plain(RunConfig(source=str(src), dest=str(dest), quality_report=False))
    version, digest = pub.current_version(dest), pub.digest(dest)
    _seeds(src)
    spy = PublishSpy(monkeypatch)
    monkeypatch.setattr(stopping, "_deadline", lambda signum: None)        # this process must not exit
    monkeypatch.setattr(stopping, "quiet_console_logging", lambda: None)
    monkeypatch.setattr(stopping, "_cleanups", [])
    monkeypatch.setattr(stopping, "_received", None)                      # restored after the stop
    passed = threading.Event()
    real_pass = pipeline.cross_report_step

    def cross_report_step(**kw):
        try:
            return real_pass(**kw)
        finally:
            passed.set()

    def stop(point: str) -> None:            # once the first dataset is published, during the pass
        if point == "mid_publish" and stopping.received() is None:
            os.kill(os.getpid(), signal.SIGTERM)
    monkeypatch.setattr(pipeline, "cross_report_step", cross_report_step)
    at_points(stop, monkeypatch.setattr)
    stopping.install()
    try:
        with pytest.raises(stopping.Interrupted):
            run_plain(RunConfig(source=str(src), dest=str(dest), batch_size=1, workers=2, quality_report=False))
        assert not pools.POOLS and spy.all_gone()
        assert passed.wait(300)            # the abandoned pass ends; then the cleanups run again, as at the exit
        stopping.run_cleanups()
    finally:
        stopping.uninstall()
    _assert_untouched(dest, version, digest)


KILLED_MID_PUBLISH = """
import os, signal, sys
sys.path.insert(0, "tests")
from launch import at_points
from flows import pipeline, pools

def hook(point):
    if point == "mid_publish":
        pool = next(p for k, p in pools.POOLS.items() if k.endswith("-publish"))
        print(*[p.pid for p in pool._processes.values()], flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

at_points(hook)
pipeline.run_plain(pipeline.RunConfig(source=sys.argv[1], dest=sys.argv[2], batch_size=2, workers=2,
                                      quality_report=False))
"""


def test_the_publish_processes_of_a_killed_run_exit_and_the_next_run_redoes_the_work(tmp_path):
    dest, clean = tmp_path / "out", tmp_path / "clean"
    with open(tmp_path / "pids", "w") as out:
        r = subprocess.run([sys.executable, "-c", KILLED_MID_PUBLISH, str(SEEDS), str(dest)], cwd=ROOT,
                           stdout=out, stderr=subprocess.PIPE, timeout=600)
    assert r.returncode == -signal.SIGKILL, r.stderr.decode()[-3000:]
    procs = [psutil.Process(int(p)) for p in (tmp_path / "pids").read_text().split() if psutil.pid_exists(int(p))]
    _, alive = psutil.wait_procs(procs, timeout=60)
    assert not alive, alive
    assert pub.current_version(dest) is None
    s = run_plain(RunConfig(source=str(SEEDS), dest=str(dest), batch_size=2, workers=2, quality_report=False))
    assert not s["noop"]
    run_plain(RunConfig(source=str(SEEDS), dest=str(clean), quality_report=False))
    assert pub.digest(dest) == pub.digest(clean)
    assert not [p.name for p in (dest / pub.VERSIONS).iterdir() if p.name.endswith(".partial")]
    assert not any((dest / pub.STAGING).iterdir())


def test_a_prefect_run_publishes_in_its_processes(prefect_server, tmp_path, monkeypatch):
    from flows.prefect_flow import run_flow
    spy = PublishSpy(monkeypatch)
    dest, ref = tmp_path / "out", tmp_path / "ref"
    s = run_flow(RunConfig(source=str(SEEDS), dest=str(dest), batch_size=2, workers=2, quality_report=False))
    assert not s["noop"] and sorted(spy.published) == IN_PROCESSES
    assert not pools.POOLS and spy.all_gone()
    run_plain(RunConfig(source=str(SEEDS), dest=str(ref), quality_report=False))
    assert pub.digest(dest) == pub.digest(ref)


def test_a_publish_process_loads_the_publishing_code_while_it_waits():
    """Its initializer imports flows.publish (pyarrow, pandas): the first dataset handed to it does not
    pay for the imports in the busy tail of the run."""
    code = ("import os, sys\nfrom flows import pools\nassert 'flows.publish' not in sys.modules\n"
            "pools.publish_worker_init(os.getppid())\nprint('flows.publish' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"

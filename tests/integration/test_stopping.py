"""Stopping and failing visibly: a failed step fails the run with one line naming the step, the path
and the reason, and removes the run's staging (a full disk included); SIGINT / SIGTERM stop a real
`nianbao run` within seconds (exit 130 / 143, one line, workers gone, staging removed, the published
version untouched, the Prefect flow run not left RUNNING)."""
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from flows import publish as pub
from flows import stopping
from flows.cli import main
from flows.pipeline import RunConfig, RunFailed, run_plain

from paths import ROOT
SEEDS = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))
ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture()
def published(tmp_path):
    """A destination with the first three seeds published, and a source of all five."""
    src, dest = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    for p in SEEDS[:3]:
        shutil.copy(p, src / p.name)
    run_plain(RunConfig(source=str(src), dest=str(dest), quality_report=False))
    for p in SEEDS[3:]:
        shutil.copy(p, src / p.name)
    return src, dest, pub.current_version(dest), pub.digest(dest)


def _assert_untouched(dest: Path, version: Path, digest: dict) -> None:
    assert pub.current_version(dest) == version and pub.digest(dest) == digest
    assert not any((dest / pub.STAGING).iterdir())
    assert not [p.name for p in (dest / pub.VERSIONS).iterdir() if p.name.endswith(".partial")]


def _full_disk_after(n_calls: int, real):
    """``real``, failing with ENOSPC (no file name, as Arrow's writers report it) from call ``n_calls`` on."""
    calls = []

    def write(*a, **kw):
        calls.append(1)
        if len(calls) >= n_calls:
            raise ENOSPC
        return real(*a, **kw)
    return write


def test_disk_full_while_parsing_names_the_staging_and_removes_it(published, monkeypatch):
    src, dest, version, digest = published
    monkeypatch.setattr(pub, "write_staged", _full_disk_after(4, pub.write_staged))
    with pytest.raises(RunFailed) as failed:
        run_plain(RunConfig(source=str(src), dest=str(dest), batch_size=1, workers=1, quality_report=False))
    msg = str(failed.value)
    assert msg.startswith(f"parsing failed: [Errno 28] No space left on device (writing under {dest}/.staging/r"), msg
    assert "its staging was removed; the published version is unchanged" in msg and "\n" not in msg
    _assert_untouched(dest, version, digest)


def test_disk_full_while_publishing_names_the_version_and_removes_it(published, monkeypatch):
    src, dest, version, digest = published
    monkeypatch.setattr(pub, "_write_stream", _full_disk_after(2, pub._write_stream))
    with pytest.raises(RunFailed, match=rf"^publishing failed: \[Errno 28\] No space left on device \(writing under "
                                        rf"{dest}/.versions/v\S+\.partial\); its staging was removed"):
        run_plain(RunConfig(source=str(src), dest=str(dest), quality_report=False))
    _assert_untouched(dest, version, digest)


def test_a_failed_parse_task_fails_the_run_with_its_reason(published, monkeypatch):
    import flows.pipeline as pl
    src, dest, version, digest = published

    def parse_step(**kw):
        raise RuntimeError("the worker process died")
    monkeypatch.setattr(pl, "parse_step", parse_step)
    with pytest.raises(RunFailed, match="^parsing failed: RuntimeError: the worker process died; its staging"):
        run_plain(RunConfig(source=str(src), dest=str(dest), quality_report=False))
    _assert_untouched(dest, version, digest)


def test_a_failed_step_is_one_line_and_a_non_zero_exit(published, monkeypatch, capsys):
    src, dest, version, digest = published
    monkeypatch.setattr(pub, "_write_stream", _full_disk_after(1, pub._write_stream))
    code = main(["run", "--source", str(src), "--dest", str(dest), "--no-prefect", "--no-quality-report",
                 "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1, err
    assert err.startswith("nianbao: error: publishing failed: [Errno 28] No space left on device (writing under "
                          f"{dest}/.versions/v"), err
    _assert_untouched(dest, version, digest)


def test_a_failed_quality_report_fails_the_run_once_the_data_is_published(published, monkeypatch, capsys):
    import flows.pipeline as pl
    src, dest, _, _ = published

    def report_step(version_dir, context_root, docs_index=None):
        raise TypeError("Cannot setitem on a Categorical with a new category (none)")
    monkeypatch.setattr(pl, "docs_step", lambda version_dir, context_root: None)
    monkeypatch.setattr(pl, "report_step", report_step)
    code = main(["run", "--source", str(src), "--dest", str(dest), "--no-prefect", "--no-progress", "--json"])
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert code == 1 and err.strip().splitlines() == [
        "nianbao: error: the quality report failed: TypeError: Cannot setitem on a Categorical with a new category "
        f"(none); the data was published (version {summary['version']})"]
    assert pub.current_version(dest).name == summary["version"] and summary["parsed"] == 2
    assert not any((dest / pub.STAGING).iterdir())


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def _used(path: Path) -> int:
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def test_a_really_full_disk_fails_the_run_naming_the_path_and_frees_the_space(tmp_path):
    """A 2 MB tmpfs holds the seeds' datasets (and the run's copy of the GX project), not the staging of
    300 generated reports."""
    from synthetic.generator import corpus
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "2m"):
        pytest.skip("needs root to mount a small tmpfs")
    try:
        dest = disk / "out"
        run_plain(RunConfig(source=str(ROOT / "tests" / "fixtures" / "seeds"), dest=str(dest), quality_report=False))
        version, digest, used = pub.current_version(dest), pub.digest(dest), _used(disk)
        big = tmp_path / "big"
        big.mkdir()
        for i, (text, _) in enumerate(corpus(300, seed=3)):
            (big / f"{i:04d}.txt").write_text(text, encoding="utf-8")
        with pytest.raises(RunFailed) as failed:
            run_plain(RunConfig(source=str(big), dest=str(dest), quality_report=False, gate_engine="pandas"))
        msg = str(failed.value)
        assert "No space left on device" in msg and (str(dest / pub.STAGING) in msg or str(dest / pub.VERSIONS) in msg)
        assert "\n" not in msg and "the published version is unchanged" in msg, msg
        _assert_untouched(dest, version, digest)
        assert _used(disk) <= used + 64 * 1024            # the staging's space is given back
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_a_batch_whose_run_removed_its_staging_writes_nothing(tmp_path):
    """A Dask worker (or an abandoned thread) finishing a batch after its run stopped must not bring
    the staging folder back."""
    from flows import batch
    staging = tmp_path / ".staging" / "r-stopped"
    items = [{"source_file": p.name, "local_path": str(p)} for p in SEEDS[:1]]
    with pytest.raises(RuntimeError, match="is gone: the run has stopped"):
        batch.parse_batch(0, items, str(staging))
    assert not (tmp_path / ".staging").exists()


def test_a_signal_deferred_during_the_commit_is_raised_after_it(monkeypatch):
    """The pointer swap is never cut in half: a signal inside ``deferred`` waits for the block's end."""
    raised = []
    monkeypatch.setattr(stopping, "_deadline", lambda signum: None)        # this process must not exit
    monkeypatch.setattr(stopping, "quiet_console_logging", lambda: None)
    stopping.install()
    try:
        with pytest.raises(stopping.Interrupted) as stop:
            with stopping.deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)                   # the handler has run: nothing raised inside the block
                raised.append("block finished")
        assert raised == ["block finished"] and stop.value.exit_code == 143
        assert stopping.received() == signal.SIGTERM
    finally:
        stopping.uninstall()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_signal_the_process_was_started_ignoring_stays_ignored():
    """`nohup nianbao run` must survive the hang-up it asked to ignore."""
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        stopping.install()
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) is stopping._handle
        stopping.uninstall()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGHUP, before)


# --------------------------------------------------------------------------- signals on a real run
@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory):
    """~3,000 generated reports (as bench/flow_bench.py writes them): a run is mid-way for many seconds."""
    from synthetic.generator import corpus
    d = tmp_path_factory.mktemp("corpus")
    for i, (text, _) in enumerate(corpus(3000, seed=11)):
        (d / f"{i:06d}.txt").write_text(text, encoding="utf-8")
    return d


def _first_published(tmp_path) -> tuple[Path, Path, dict]:
    dest = tmp_path / "out"
    run_plain(RunConfig(source=str(ROOT / "tests" / "fixtures" / "seeds"), dest=str(dest), quality_report=False))
    return dest, pub.current_version(dest), pub.digest(dest)


def _stop_mid_run(args: list[str], env: dict, dest: Path, sig: int, to_group: bool):
    """Start `nianbao run`, wait until it has staged a parsed batch, send ``sig`` (to its process group,
    as a terminal's Ctrl-C does, or to the process alone, as `kill` does); (exit code, stderr, seconds
    from the signal to the exit, its descendants still alive after it)."""
    # the suites in pandas (GX is not imported): with GX, the resource tracker of a stopped run may print
    # a warning about leaked semaphores after the one-line error
    cmd = [sys.executable, "-m", "flows", "run", "--dest", str(dest), "--batch-size", "250", "--gate-engine", "pandas",
           "--no-progress", *args]
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while not any(p for p in (dest / pub.STAGING).glob("*/*/**/*.parquet")     # not the catalogue's stubs
                      if not p.relative_to(dest / pub.STAGING).parts[0].endswith(".catalogue")):
            assert p.poll() is None, p.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the run never staged a batch"
            time.sleep(0.05)
        assert p.poll() is None and len(psutil.Process(p.pid).children(recursive=True)) >= 2   # with its workers
    except BaseException:
        _kill(p)
        raise
    _, err, seconds, alive = _signal_and_reap(p, sig, to_group)
    print(f"stopped {seconds:.2f} s after {signal.Signals(sig).name}")
    return p.returncode, err, seconds, alive


def _kill(p: subprocess.Popen) -> None:
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def _signal_and_reap(p: subprocess.Popen, sig: int, to_group: bool = True):
    """Send ``sig`` to a running command (its process group, as Ctrl-C does, or the process alone) and wait
    for it: (stdout, stderr, seconds from the signal to the exit, its descendants still alive after it)."""
    try:
        descendants = psutil.Process(p.pid).children(recursive=True)
        t0 = time.monotonic()
        (os.killpg if to_group else os.kill)(p.pid, sig)
        out, err = p.communicate(timeout=120)
        seconds = time.monotonic() - t0
    finally:
        _kill(p)
    _, alive = psutil.wait_procs(descendants, timeout=10)
    return out, err, seconds, [q for q in alive if q.is_running() and q.status() != psutil.STATUS_ZOMBIE]


def _assert_stopped(code, err, seconds, alive, sig, dest, version, digest):
    assert code == 128 + sig, err[-3000:]
    assert seconds < 15, seconds               # 5 s on an idle machine; shared CI machines are slower
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"nianbao: error: interrupted by {signal.Signals(sig).name}: the run stopped and removed its staging; "
        "the published version is unchanged"), err[-3000:]
    assert not alive, alive
    _assert_untouched(dest, version, digest)


def _flow_run_states(env: dict, dest: Path) -> list[str]:
    """The state types of the flow runs writing to ``dest``, read with the Prefect client of ``env``."""
    code = f"""
from prefect import get_client
with get_client(sync_client=True) as c:
    for r in c.read_flow_runs():
        if (r.parameters or {{}}).get("dest") == {str(dest)!r}:
            print(r.state_type.value)
"""
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120", **env})
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout.split()


@pytest.mark.slow
@pytest.mark.parametrize("sig, to_group", [(signal.SIGINT, True), (signal.SIGTERM, False)])
def test_a_signal_stops_a_plain_run(big_corpus, tmp_path, sig, to_group):
    dest, version, digest = _first_published(tmp_path)
    got = _stop_mid_run(["--source", str(big_corpus), "--no-prefect"], dict(os.environ), dest, sig, to_group)
    _assert_stopped(*got, sig, dest, version, digest)


@pytest.mark.slow
def test_ctrl_c_stops_a_flow_on_the_temporary_server_and_marks_it_crashed(big_corpus, tmp_path):
    dest, version, digest = _first_published(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    got = _stop_mid_run(["--source", str(big_corpus)], env, dest, signal.SIGINT, to_group=True)
    _assert_stopped(*got, signal.SIGINT, dest, version, digest)
    assert _flow_run_states(env, dest) == ["CRASHED"]


@pytest.mark.slow
def test_sigterm_stops_a_flow_on_a_prefect_server_and_marks_it_crashed(big_corpus, tmp_path, prefect_server):
    dest, version, digest = _first_published(tmp_path)
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    got = _stop_mid_run(["--source", str(big_corpus)], env, dest, signal.SIGTERM, to_group=False)
    _assert_stopped(*got, signal.SIGTERM, dest, version, digest)
    assert _flow_run_states(env, dest) == ["CRASHED"]


@pytest.mark.slow
@pytest.mark.parametrize("step", ["publish_step", "report_step"])
def test_a_failed_task_fails_the_flow_run(prefect_server, tmp_path, monkeypatch, step):
    """A failed publish leaves the published version as it was; a failed quality report comes after the
    data is published. Either way the flow run is Failed and the run raises."""
    from prefect import get_client, task
    dest = tmp_path / "out"

    def publish_step(name, prev_root, staged_root, out_root, remove_ids, removed_years):
        raise ENOSPC

    def report_step(version_dir, context_root, docs_index=None):
        raise TypeError("the summary page broke")

    def docs_step(version_dir, context_root):
        return None
    broken = {"publish_step": publish_step, "report_step": report_step}[step]
    from flows import prefect_flow as pf
    monkeypatch.setitem(pf.TASKS, step, task(name="broken", **pf._CPU)(broken))
    monkeypatch.setitem(pf.TASKS, "docs_step", task(name="no-docs", **pf._CPU)(docs_step))
    with pytest.raises(RunFailed) as failed:
        pf.run_flow(RunConfig(source=str(ROOT / "tests" / "fixtures" / "seeds"), dest=str(dest), gate_engine="pandas"))
    if step == "publish_step":
        assert str(failed.value).startswith("publishing failed: [Errno 28] No space left on device")
        assert pub.current_version(dest) is None
    else:
        assert "the summary page broke; the data was published" in str(failed.value)
        assert pub.current_version(dest) is not None
    assert not any((dest / pub.STAGING).iterdir())
    with get_client(sync_client=True) as c:
        states = [r.state_type.value for r in c.read_flow_runs() if r.parameters.get("dest") == str(dest)]
    assert states == ["FAILED"]


FAILING_PUBLISH = """
import errno, os, sys
from flows import env
env.configure(sys.argv[sys.argv.index("--dest") + 1])      # as the command does, before Prefect is imported
from prefect import task
from flows import prefect_flow
from flows.cli import app

def publish_step(name, prev_root, staged_root, out_root, remove_ids, removed_years):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

prefect_flow.TASKS["publish_step"] = task(name="publish", **prefect_flow._CPU)(publish_step)
app(sys.argv[1:])
"""


@pytest.mark.slow
def test_a_failed_task_of_a_flow_is_one_line_from_the_command(prefect_server, tmp_path):
    """Prefect logs a failed task and the failed flow run with their tracebacks: the command shows
    its one line only."""
    dest = tmp_path / "out"
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    r = subprocess.run([sys.executable, "-c", FAILING_PUBLISH, "run", "--source", str(ROOT / "tests" / "fixtures" / "seeds"),
                        "--dest", str(dest), "--no-progress", "--no-quality-report"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 1, r.stderr[-3000:]
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and re.fullmatch(
        rf"nianbao: error: publishing failed: \[Errno 28\] No space left on device \(writing under "
        rf"{re.escape(str(dest))}/\.versions/v\S+\.partial\); its staging was removed; the published version "
        rf"is unchanged", lines[0]), r.stderr[-3000:]
    assert pub.current_version(dest) is None and not any((dest / pub.STAGING).iterdir())


@pytest.mark.slow
def test_ctrl_c_stops_a_run_of_one_report_file(tmp_path):
    """One report file runs in the command's process (its parse in one worker): Ctrl-C mid-run stops it
    as it stops a folder run — one line, exit 130, no process left, the published version untouched."""
    dest, version, digest = _first_published(tmp_path)
    report = tmp_path / "new_report.txt"
    seed = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))[0]
    report.write_text(seed.read_text(encoding="utf-8") + "\n", encoding="utf-8")     # bytes not published yet
    p = subprocess.Popen([sys.executable, "-m", "flows", "run", "--dest", str(dest), "--source", str(report)],
                         cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while not any((dest / pub.STAGING).glob("*")):
            assert p.poll() is None, p.communicate()
            assert time.monotonic() < deadline, "the run never started parsing"
            time.sleep(0.02)
    except BaseException:
        _kill(p)
        raise
    out, err, seconds, alive = _signal_and_reap(p, signal.SIGINT)
    assert out == ""
    _assert_stopped(p.returncode, err, seconds, alive, signal.SIGINT, dest, version, digest)

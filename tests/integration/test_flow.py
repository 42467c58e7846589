"""Integration: the real Prefect flow (one temporary Prefect server per session), the quality
gate (GX) on the seeds, kill -9 of a real `nianbao run`, and the Dask task runner."""
import os
import signal
import subprocess
import sys
import time

import pytest

from flows import publish as pub
from flows.pipeline import RunConfig, run_plain
from flows.prefect_flow import run_flow

from paths import ROOT
RAW = ROOT / "tests" / "fixtures" / "seeds"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clean_reference(tmp_path_factory):
    """A plain (no Prefect) run of the seeds: the reference datasets."""
    dest = tmp_path_factory.mktemp("ref") / "out"
    run_plain(RunConfig(source=str(RAW), dest=str(dest), quality_report=False))
    return pub.digest(dest)


def test_flow_on_seeds_then_rerun_is_noop(prefect_server, clean_reference, tmp_path):
    dest = tmp_path / "out"
    s = run_flow(RunConfig(source=str(RAW), dest=str(dest)))
    assert not s["noop"] and s["discovered"] == 5 and not s["structural_failures"]
    assert pub.digest(dest) == clean_reference              # flow == plain run, byte for byte
    if "quality_report" not in s.get("errors", {}):
        assert (dest / "quality_report" / "index.html").exists()
    s2 = run_flow(RunConfig(source=str(RAW), dest=str(dest)))
    assert s2["noop"] and pub.digest(dest) == clean_reference


def test_kill9_during_cli_run_then_rerun_equals_clean(prefect_server, clean_reference, tmp_path):
    dest = tmp_path / "out"
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    args = ["run", "--source", str(RAW), "--dest", str(dest), "--no-quality-report", "--no-progress"]
    crashing = [sys.executable, "tests/launch.py", "--crash-at", "mid_publish", *args]
    r = subprocess.run(crashing, env=env, cwd=ROOT, capture_output=True, timeout=180)
    assert r.returncode == -signal.SIGKILL, r.stderr.decode()[-2000:]
    assert pub.current_version(dest) is None               # nothing half-published
    # an external kill -9 at an arbitrary moment
    cmd = [sys.executable, "-m", "flows", *args]
    p = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(4.0)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    r = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, timeout=180)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    assert pub.digest(dest) == clean_reference


def test_dask_local_cluster_gives_same_datasets(prefect_server, clean_reference, tmp_path):
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        dest = tmp_path / "out"
        s = run_flow(RunConfig(source=str(RAW), dest=str(dest), batch_size=2, dask_address=cluster.scheduler_address,
                               quality_report=False))
    assert not s["noop"] and s["discovered"] == 5
    assert pub.digest(dest) == clean_reference


def test_local_worker_pool_starts_during_discovery_and_gives_same_datasets(clean_reference, tmp_path,
                                                                           monkeypatch):
    """A first run of a folder holding more than one batch starts its spawn pool while discovery
    hashes the files; the datasets are those of a one-batch run, and no pool outlives the run."""
    from flows import pools
    started = []
    real = pools.start_pool
    monkeypatch.setattr(pools, "start_pool", lambda key, workers, warm: (started.append(warm),
                                                                         real(key, workers, warm)))
    dest = tmp_path / "out"
    s = run_plain(RunConfig(source=str(RAW), dest=str(dest), batch_size=2, workers=2, quality_report=False))
    assert not s["noop"] and s["parsed"] + s["quarantined"] == 5
    assert started == [True] and not pools.POOLS
    assert pub.digest(dest) == clean_reference
    s2 = run_plain(RunConfig(source=str(RAW), dest=str(dest), batch_size=2, workers=2, quality_report=False))
    assert s2["noop"] and started == [True]                # something published already: no early pool

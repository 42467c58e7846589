"""`nianbao serve` against a real `prefect server start`: the cron schedule fires and the scheduled
run publishes the datasets (the production set-up of README: scheduling)."""
import os
import shutil
import signal
import subprocess
import sys
import time

import httpx
import pytest

from flows import publish as pub
from flows.server import prefect_server, server_env

from paths import ROOT
RAW = ROOT / "tests" / "fixtures" / "seeds"
pytestmark = pytest.mark.slow


def _flow_runs(api: str, deployment_id: str) -> list[dict]:
    r = httpx.post(f"{api}/flow_runs/filter", json={"deployments": {"id": {"any_": [deployment_id]}}}, timeout=10)
    r.raise_for_status()
    return r.json()


def test_serve_registers_the_schedule_and_a_scheduled_run_publishes(tmp_path, monkeypatch):
    # the server's scheduler looks ahead every 5 s (default 60 s); the runner polls every 2 s
    monkeypatch.setenv("PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS", "5")
    src, dest = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    for p in RAW.glob("*.txt"):
        shutil.copy(p, src / p.name)
    with prefect_server(tmp_path / "server") as (api, _):
        env = {**server_env(tmp_path / "client", api), "PREFECT_RUNNER_POLL_FREQUENCY": "2"}
        log = open(tmp_path / "serve.log", "wb")
        serve = subprocess.Popen([sys.executable, "-m", "flows", "serve", "--cron", "* * * * *", "--timezone", "UTC",
                                  "--source", str(src), "--dest", str(dest)],
                                 env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 180
            dep = None
            while dep is None and time.monotonic() < deadline:
                r = httpx.get(f"{api}/deployments/name/nianbao-run/nightly", timeout=10)
                dep = r.json() if r.status_code == 200 else None
                time.sleep(1)
            assert dep is not None, (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
            assert [(s["schedule"]["cron"], s["schedule"]["timezone"], s["active"]) for s in dep["schedules"]] \
                == [("* * * * *", "UTC", True)]
            assert dep["parameters"]["dest"] == str(dest.resolve())
            done = []
            while not done and time.monotonic() < deadline:
                runs = _flow_runs(api, dep["id"])
                assert not [r for r in runs if r["state_type"] in ("FAILED", "CRASHED")], runs
                done = [r for r in runs if r["state_type"] == "COMPLETED"]
                time.sleep(2)
            assert done, (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
            assert done[0]["auto_scheduled"] is True              # started by the cron schedule
        finally:
            os.killpg(serve.pid, signal.SIGTERM)
            serve.wait(timeout=30)
            log.close()
    tables = {n: pub.read_table(dest / n, n) for n in ("reports", "applications")}
    assert tables["reports"].num_rows == 5 and tables["applications"].num_rows > 0

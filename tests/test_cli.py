"""CLI: one-line errors and non-zero exits, never a traceback; `parse` prints tables with flags."""
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import main

ROOT = Path(__file__).resolve().parents[1]
SEED = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))[2]


@pytest.mark.parametrize("args, code, msg", [
    (["run", "--source", "/no/such/dir"], 1, "source not found"),
    (["run", "--bogus"], 2, "No such option"),
    (["run", "--batch-size", "0"], 2, "--batch-size"),
    (["run", "--dask-address", "localhost"], 2, "--dask-address"),
    (["run", "--dest", str(SEED)], 1, "is not a directory"),
    (["parse", "/no/such/file.txt"], 1, "no such file"),
    (["parse", str(SEED), "--table", "nope"], 2, "--table"),
    (["serve", "--cron", "61 2 * * *"], 1, "invalid cron"),
    (["serve", "--timezone", "Mars/Olympus"], 1, "unknown time zone"),
    (["validate", "--dest", "/no/such/dir"], 1, "no such directory"),
    (["frobnicate"], 2, "No such command"),
])
def test_errors_are_one_line(args, code, msg, capsys, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert main(args) == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("nianbao: error:") and msg in err, err
    assert "Traceback" not in err


def test_serve_needs_a_server(capsys, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert main(["serve"]) == 1
    assert "prefect server start" in capsys.readouterr().err


def test_parse_prints_tables_and_flags(capsys):
    assert main(["parse", str(SEED)]) == 0
    out = capsys.readouterr().out
    for t in ("active_disclosure", "applications", "review_litigation", "verdict:", "inferred"):
        assert t in out


def test_run_no_prefect_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NIANBAO_GATE", "off")
    assert main(["run", "--dest", str(tmp_path / "o"), "--no-prefect", "--no-quality-report", "--json",
                 "--no-progress", "--source", str(ROOT / "tests" / "fixtures" / "seeds")]) == 0
    assert '"discovered": 5' in capsys.readouterr().out


def test_deployment_defined_in_code():
    from flows.deployment import build_deployment
    d = build_deployment("data/raw", "data/processed")
    assert d.name == "nightly" and d.schedules[0].schedule.cron == "0 2 * * *"
    assert d.schedules[0].schedule.timezone == "Asia/Shanghai"
    assert d.parameters["dest"].endswith("data/processed")


def test_exit_skipping_finalization_still_joins_threads_runs_atexit_and_keeps_the_code(tmp_path):
    code = f"""
import atexit, sys, threading, time
from pathlib import Path
from flows.cli import exit_skipping_finalization
out = Path({str(tmp_path)!r})
atexit.register(lambda: (out / "atexit").write_text("ran"))
threading.Thread(target=lambda: (time.sleep(0.3), (out / "thread").write_text("done"))).start()
print("buffered output", end="")
exit_skipping_finalization(3)
"""
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 3, r.stderr
    assert r.stdout == "buffered output"
    assert (tmp_path / "atexit").read_text() == "ran" and (tmp_path / "thread").read_text() == "done"

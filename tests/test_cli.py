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
    monkeypatch.setattr("flows.batch.GX", False)
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


def _options(command, path=()):
    """(command path, option name, help) of every option of every command of a click command tree."""
    for p in command.params:             # typer vendors its own click: options by kind, not class
        if getattr(p, "param_type_name", None) == "option":
            yield " ".join(path) or "nianbao", p.opts[0], p.help
    for name, sub in getattr(command, "commands", {}).items():
        yield from _options(sub, (*path, name))


def test_every_option_of_every_command_has_help():
    import typer

    from flows.cli import app
    found = list(_options(typer.main.get_command(app)))
    commands = {c for c, _, _ in found}
    assert {"nianbao", "run", "parse", "serve", "validate", "crawl"} <= commands
    assert len(found) > 25
    missing = [(c, o) for c, o, h in found if o != "--help" and not (h or "").strip()]
    assert not missing, missing


def test_version_is_printed_and_exits_zero(capsys):
    from transforms.schema import PARSER_VERSION
    assert main(["--version"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("nianbao ") and f"(parser {PARSER_VERSION})" in out and len(out.splitlines()) == 1


def test_without_a_terminal_progress_is_timestamped_lines_with_rate(tmp_path, capsys, monkeypatch):
    """A cron log gets a line per stage and the parse progress with its rate (capsys: not a terminal)."""
    import re
    monkeypatch.setattr("flows.batch.GX", False)
    monkeypatch.setenv("NIANBAO_PROGRESS_SECONDS", "1")
    monkeypatch.delenv("NIANBAO_PROGRESS", raising=False)
    assert main(["run", "--dest", str(tmp_path / "o"), "--no-prefect", "--no-quality-report",
                 "--source", str(ROOT / "tests" / "fixtures" / "seeds")]) == 0
    err = capsys.readouterr().err.splitlines()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d nianbao: "
    assert all(re.match(stamp, line) for line in err), err
    assert any(re.match(stamp + r"discover …$", line) for line in err), err
    assert any(re.match(stamp + r"parse 5 reports in 1 batch\(es\) …$", line) for line in err), err
    assert any(re.match(stamp + r"parse 5/5 reports \(100%\), \d+\.\d reports/s$", line) for line in err), err
    assert any(re.match(stamp + r"publish …$", line) for line in err), err


def test_the_prefect_start_is_announced_before_prefect_starts(tmp_path, capsys, monkeypatch):
    """Prefect's temporary server takes ~10 s to start: the command says so first (a stub stands for
    the flow here)."""
    import flows.pipeline as pl
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    seen = {}

    def fake_flow(cfg):
        seen["err"] = capsys.readouterr().err
        return {"noop": True, "discovered": 5, "version": "v1", "skipped": []}
    monkeypatch.setattr(pl, "run_flow", fake_flow)
    assert main(["run", "--dest", str(tmp_path / "o"), "--source", str(ROOT / "data" / "raw")]) == 0
    assert "starting Prefect (a temporary local server" in seen["err"]
    monkeypatch.setattr(pl, "run_flow", fake_flow)
    assert main(["run", "--dest", str(tmp_path / "o"), "--source", str(ROOT / "data" / "raw"), "--no-progress"]) == 0
    assert seen["err"] == ""                          # --no-progress: only the summary and errors


def test_a_single_report_file_as_source_is_published(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("flows.batch.GX", False)
    assert main(["run", "--source", str(SEED), "--dest", str(tmp_path / "o"), "--no-prefect", "--no-progress",
                 "--no-quality-report"]) == 0
    out = capsys.readouterr().out
    assert "1 files, 1 parsed" in out and len(out.strip().splitlines()) == 1


def test_readme_starts_with_the_two_commands_and_documents_every_option():
    """The README's first lines are the two commands of a fresh machine, its sections come in the users'
    order, and every option of every command appears in it."""
    import typer

    from flows.cli import app
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.splitlines()[:4] == [
        "```",
        "make run    # sets up .venv and runs the main job on the embedded sample (data/raw → data/processed)",
        "make test   # sets up .venv and runs the test suite",
        "```"]
    heads = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    order = ["Quick start", "Your own reports", "Query recipes", "Schedule", "How it works"]
    assert [h for h in heads if h in order] == order, heads
    for command, option, _ in _options(typer.main.get_command(app)):
        if option != "--help":
            assert option.split("/")[0] in text, (command, option)


def test_progress_counts_reports_as_the_worker_processes_parse_them(tmp_path, monkeypatch):
    """The parse progress advances by report, not by batch: the spawn pool's workers count into a
    shared counter (three batches of at most 2 reports on 2 workers here)."""
    import flows.pipeline as pl
    monkeypatch.setattr("flows.batch.GX", False)
    seen = []
    pl.set_progress(lambda event, **kw: seen.append((event, pl.parsed_count())))
    try:
        s = pl.run_plain(pl.RunConfig(source=str(ROOT / "tests" / "fixtures" / "seeds"), dest=str(tmp_path / "o"), batch_size=2,
                                      workers=2, quality_report=False))
    finally:
        pl.set_progress(None)
    assert s["parsed"] == 5 and pl.parsed_count() == 5
    advances = [n for event, n in seen if event == "parse_advance"]
    assert len(advances) == 3 and advances[-1] == 5

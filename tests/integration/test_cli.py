"""CLI: one-line errors and non-zero exits, never a traceback; `parse` prints tables with flags."""
import json
import subprocess
import sys

import click
import pytest

from flows.cli import main

from paths import ROOT
SEED = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))[2]


@pytest.mark.parametrize("args, code, msg", [
    (["run", "--source", "/no/such/dir"], 1, "source not found"),
    (["run", "--bogus"], 2, "No such option"),
    (["run", "--batch-size", "0"], 2, "--batch-size"),
    (["run", "--dask-address", "localhost"], 2, "--dask-address"),
    (["run", "--gate-engine", "fast"], 2, "--gate-engine must be one of auto, gx, pandas"),
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
    for p in command.params:
        if isinstance(p, click.Option):
            yield " ".join(path) or "nianbao", p.opts[0], p.help
    for name, sub in getattr(command, "commands", {}).items():
        yield from _options(sub, (*path, name))


def test_every_option_of_every_command_has_help():
    from flows.cli import app
    found = list(_options(app))
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
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    seen = {}

    def fake_flow(cfg):
        seen["err"] = capsys.readouterr().err
        return {"noop": True, "discovered": 5, "version": "v1", "skipped": []}
    monkeypatch.setattr("flows.cli.prefect_run", fake_flow)
    assert main(["run", "--dest", str(tmp_path / "o"), "--source", str(ROOT / "data" / "raw")]) == 0
    assert "starting Prefect (a temporary local server" in seen["err"]
    monkeypatch.setattr("flows.cli.prefect_run", fake_flow)
    assert main(["run", "--dest", str(tmp_path / "o"), "--source", str(ROOT / "data" / "raw"), "--no-progress"]) == 0
    assert seen["err"] == ""                          # --no-progress: only the summary and errors


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_a_report_file_as_source_is_one_line_and_publishes_what_a_folder_of_it_publishes(tmp_path, capsys, monkeypatch):
    """One report file as --source: GX validates it and it is published as a folder holding just that file
    publishes it (byte-identical datasets), in plain Python, with one line on stdout and nothing on stderr."""
    import shutil

    from flows import publish as pub
    from flows.pipeline import RunConfig, run_plain
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    folder = tmp_path / "src"
    folder.mkdir()
    report = folder / SEED.name
    shutil.copyfile(SEED, report)
    assert main(["run", "--source", str(report), "--dest", str(tmp_path / "one")]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    line = _one_line(out.out)
    published = pub.load_frame(pub.current_version(tmp_path / "one") / "reports", "reports").iloc[0]
    assert line.startswith(f"{report} → report {published.report_id[:12]}, {published.organization}, "
                           f"{published.report_year}, format {published.template}, verdict {published.verdict}")
    assert f"{published.n_cells} cells: published in {tmp_path / 'one'} version v" in line
    assert line.endswith("without Prefect, no quality report)")
    assert not (pub.current_version(tmp_path / "one") / pub.QUALITY_REPORT).exists()
    assert (pub.current_version(tmp_path / "one") / "nianbao.duckdb").exists()

    run_plain(RunConfig(source=str(folder), dest=str(tmp_path / "folder"), quality_report=False))
    assert pub.digest(tmp_path / "one") == pub.digest(tmp_path / "folder")
    assert len(pub.digest(tmp_path / "one")) > 5

    assert main(["run", "--source", str(report), "--dest", str(tmp_path / "one")]) == 0    # nothing new
    assert ": unchanged, already published in" in _one_line(capsys.readouterr().out)


def test_a_report_file_run_imports_neither_prefect_nor_great_expectations(tmp_path):
    """`nianbao run --source FILE` in a process of its own: the modules it loaded and whether it has a
    child process, read as it exits (the suites evaluated in pandas, no Prefect, no progress bars, and no
    typer or pydantic: the command line is plain click). DuckDB is imported only by the child that builds
    the catalogue (flows/duckdb_build.py), ended and reaped before the exit."""
    code = f"""
import json, os, sys
from flows import runtime
def leave(code):
    sys.stdout.flush()
    try:
        os.waitpid(-1, os.WNOHANG)
        children = True
    except ChildProcessError:
        children = False
    print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))
    print(json.dumps(children))
    sys.stdout.flush()
    os._exit(code)
runtime.leave_now = leave
from flows.cli import app
sys.argv = ["nianbao", "run", "--source", {str(SEED)!r}, "--dest", {str(tmp_path / "out")!r}]
app()
"""
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    line, modules, children = r.stdout.strip().splitlines()
    assert "→ report" in line and "published in" in line
    loaded = set(json.loads(modules))
    assert {"flows", "transforms", "pandas", "pyarrow"} <= loaded          # it did run
    assert not loaded & {"prefect", "great_expectations", "rich", "dask", "distributed", "typer", "pydantic",
                         "duckdb"}
    assert (tmp_path / "out" / "nianbao.duckdb").is_file()
    assert json.loads(children) is False       # no process left (not even multiprocessing's tracker)


def test_a_file_that_is_not_a_report_is_one_error_line_naming_it_and_the_reason(tmp_path, capsys, monkeypatch):
    """Quarantined (recorded in the quarantine dataset) or not taken at all: exit 1, one line on stderr."""
    text = tmp_path / "notes.txt"
    text.write_text("会议纪要：本周无事。\n" * 20, encoding="utf-8")
    assert main(["run", "--source", str(text), "--dest", str(tmp_path / "o")]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    err = _one_line(out.err)
    assert err.startswith(f"nianbao: error: {text}: quarantined [") and f"listed in {tmp_path / 'o'}/quarantine" in err
    assert "Traceback" not in err

    program = tmp_path / "tool.txt"
    program.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(200))
    assert main(["run", "--source", str(program), "--dest", str(tmp_path / "o2")]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert _one_line(out.err) == (f"nianbao: error: {program}: not read [unsupported_type]: unsupported file type: "
                                  f"executable (ELF); nothing published")


def test_a_report_file_with_json_and_with_prefect(tmp_path, capsys, monkeypatch):
    """--json: the run summary with the file's outcome; --prefect: the Prefect flow runs it (stubbed here by
    the same run), still one line and no quality report unless asked for."""
    import json

    import flows.pipeline as pl
    assert main(["run", "--source", str(SEED), "--dest", str(tmp_path / "o"), "--json"]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out[:out.rindex("}") + 1])
    assert summary["file"]["state"] == "published" and summary["file"]["source_file"] == str(SEED)
    assert summary["parsed"] == 1 and summary["prefect"] is False

    seen = {}

    def flow_stub(cfg):
        seen["quality_report"] = cfg.quality_report
        return pl.run_inline(cfg)
    monkeypatch.setattr("flows.cli.prefect_run", flow_stub)
    assert main(["run", "--source", str(SEED), "--dest", str(tmp_path / "p"), "--prefect", "--no-progress"]) == 0
    line = _one_line(capsys.readouterr().out)
    assert seen["quality_report"] is False and "→ report" in line and "without Prefect" not in line
    assert main(["run", "--source", str(SEED), "--dest", str(tmp_path / "q"), "--prefect", "--no-progress",
                 "--quality-report"]) == 0
    assert seen["quality_report"] is True


def test_a_url_list_file_is_not_taken_for_a_report(tmp_path):
    from flows import single
    urls = tmp_path / "urls.txt"
    urls.write_text("# reports\nhttps://example.gov.cn/a.pdf\n", encoding="utf-8")
    assert single.report_file(str(urls)) is None
    assert single.report_file(str(tmp_path)) is None
    assert single.report_file("https://example.gov.cn/a.pdf") is None
    assert single.report_file(str(SEED)) == str(SEED)
    assert single.report_file("file://" + str(SEED)) == str(SEED)


def test_readme_starts_with_the_two_commands_and_documents_every_option():
    """The README's first lines are the two commands of a fresh machine, its sections come in the users'
    order, and every option of every command appears in it."""
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
    for command, option, _ in _options(app):
        if option != "--help":
            assert option.split("/")[0] in text, (command, option)


def test_progress_counts_reports_as_the_worker_processes_parse_them(tmp_path, monkeypatch):
    """The parse progress advances by report, not by batch: the spawn pool's workers count into a
    shared counter (three batches of at most 2 reports on 2 workers here)."""
    import flows.pipeline as pl
    from flows import pools
    seen = []
    pl.set_progress(lambda event, **kw: seen.append((event, pools.parsed_count())))
    try:
        s = pl.run_plain(pl.RunConfig(source=str(ROOT / "tests" / "fixtures" / "seeds"), dest=str(tmp_path / "o"), batch_size=2,
                                      workers=2, quality_report=False))
    finally:
        pl.set_progress(None)
    assert s["parsed"] == 5 and pools.parsed_count() == 5
    advances = [n for event, n in seen if event == "parse_advance"]
    assert len(advances) == 3 and advances[-1] == 5


def test_run_gives_the_collector_back_whatever_its_outcome(tmp_path, capsys):
    """`run` pauses the cyclic collector while its checks import the run's modules (and a one-file run
    keeps it off through the run): after a published file, a refused option and a missing source,
    the collector is on again and nothing stays frozen."""
    import gc
    assert main(["run", "--source", str(SEED), "--dest", str(tmp_path / "o")]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert main(["run", "--source", str(tmp_path / "missing"), "--dest", str(tmp_path / "p")]) == 1
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert main(["run", "--gate-engine", "fast", "--source", str(SEED), "--dest", str(tmp_path / "q")]) == 2
    assert gc.isenabled() and gc.get_freeze_count() == 0
    capsys.readouterr()

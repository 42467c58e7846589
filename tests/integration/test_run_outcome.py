"""What a Prefect flow run records about a run (session Prefect server; the pipeline itself replaced by
a stub, so these tests are about the flow's state and artifacts, not about parsing): the run summary
as a markdown artifact, a link to the quality report, and the state Failed whenever a step failed,
including a run that published but withheld a chunk (the CLI's exit code 3)."""
from pathlib import Path

import pytest

import flows.pipeline as pl
from flows import prefect_flow
from flows.prefect_flow import run_flow

pytestmark = pytest.mark.slow


def _runs_of(dest: Path):
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
    with get_client(sync_client=True) as c:
        runs = [r for r in c.read_flow_runs() if (r.parameters or {}).get("dest") == str(dest)]
        return [(r.state_type.value, r.state.message if r.state else None,
                 {a.key: a for a in c.read_artifacts(
                     artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[r.id])))})
                for r in runs]


def _summary(dest: Path, **kw) -> dict:
    s = {"run_id": "r1", "source": "src", "dest": str(dest), "noop": False, "version": "v1", "seconds": 1.25,
         "discovered": 3, "parsed": 2, "quarantined": 1, "unchanged": 0, "to_remove": 0, "retained_missing": 0,
         "skipped": [], "verdicts": {"pass": 1, "fail": 1}, "structural_failures": [], "errors": {}}
    s.update(kw)
    return s


def test_a_run_that_withheld_a_chunk_is_failed_with_its_summary_and_artifacts(prefect_server, tmp_path, monkeypatch):
    dest = tmp_path / "out"
    report = tmp_path / "quality_report" / "index.html"
    monkeypatch.setattr(pl, "orchestrate", lambda cfg, ex: _summary(
        dest, structural_failures=["applications: expect_column_values_to_not_be_null(report_id)"],
        quality_report=str(report)))
    s = run_flow(pl.RunConfig(source=str(tmp_path), dest=str(dest)))
    assert s["structural_failures"] and s["version"] == "v1"          # the summary still reaches the CLI
    [(state, message, artifacts)] = _runs_of(dest)
    assert state == "FAILED" and "withheld" in message
    md = artifacts["nianbao-run-summary"]
    assert md.type == "markdown" and "| parsed | 2 |" in md.data and "## Structural failures" in md.data
    link = artifacts["nianbao-quality-report"]
    assert report.as_uri() in link.data and "quality report" in link.data     # stored as markdown


def test_a_clean_run_is_completed_and_a_failed_quality_report_fails_it(prefect_server, tmp_path, monkeypatch):
    dest = tmp_path / "out"
    monkeypatch.setattr(pl, "orchestrate", lambda cfg, ex: _summary(dest))
    assert run_flow(pl.RunConfig(source=str(tmp_path), dest=str(dest)))["parsed"] == 2

    def report_failed(cfg, ex):
        raise pl.RunFailed("the quality report failed: OSError: disk full; the data was published (version v2)",
                           _summary(dest, version="v2", errors={"quality_report": "OSError: disk full"}))
    monkeypatch.setattr(pl, "orchestrate", report_failed)
    with pytest.raises(pl.RunFailed, match="quality report failed") as e:
        run_flow(pl.RunConfig(source=str(tmp_path), dest=str(dest)))
    assert e.value.summary["version"] == "v2"
    runs = sorted(_runs_of(dest), key=lambda r: r[0])
    assert [r[0] for r in runs] == ["COMPLETED", "FAILED"]
    failed = runs[1][2]["nianbao-run-summary"].data
    assert "failed: the quality report failed" in failed and "quality_report: OSError: disk full" in failed
    assert "nianbao-quality-report" not in runs[1][2]


def test_summary_markdown_escapes_names_from_the_source():
    md = prefect_flow.run_summary_markdown({"source": "a|b`<script>", "version": "v1", "errors": {"x|y": "bad\nline"}})
    assert "a\\|b\\`\\<script\\>" in md and "<script>" not in md
    assert [line for line in md.splitlines() if "bad" in line] == ["* x\\|y: bad\\\\x0aline"]   # one line

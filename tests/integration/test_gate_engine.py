"""What validates a run's suites (RunConfig.gate_engine, `nianbao run --gate-engine`): "auto" chooses by
the run's size, "gx" and "pandas" force one; the published datasets are the same whichever validates."""
from __future__ import annotations

import pytest

from expectations import gate
from flows import publish as pub
from flows import steps
from flows.pipeline import RunConfig, run_plain

from paths import ROOT
SEEDS = ROOT / "tests" / "fixtures" / "seeds"


def test_auto_chooses_by_the_runs_size_and_a_choice_is_kept():
    n = gate.EVALUATOR_MAX_REPORTS
    assert steps.gate_engine(n, data_docs=False) == "pandas"
    assert steps.gate_engine(n + 1, data_docs=False) == "gx"
    assert steps.gate_engine(1, data_docs=True) == "gx"
    assert steps.gate_engine(n + 1, data_docs=False, choice="pandas") == "pandas"
    assert steps.gate_engine(1, data_docs=False, choice="gx") == "gx"


def test_an_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="gate_engine must be one of auto, gx, pandas"):
        RunConfig(gate_engine="fast")


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """More reports than the evaluator takes by default (expectations.gate.EVALUATOR_MAX_REPORTS)."""
    from synthetic.generator import corpus
    d = tmp_path_factory.mktemp("big")
    for i, (text, _) in enumerate(corpus(gate.EVALUATOR_MAX_REPORTS + 5, seed=5)):
        (d / f"{i:03d}.txt").write_text(text, encoding="utf-8")
    return d


@pytest.mark.slow
def test_a_forced_engine_validates_and_publishes_what_auto_does(big, tmp_path):
    cfg = dict(source=str(big), quality_report=False, batch_size=20)
    auto = run_plain(RunConfig(dest=str(tmp_path / "auto"), **cfg))
    forced = run_plain(RunConfig(dest=str(tmp_path / "pandas"), gate_engine="pandas", **cfg))
    assert auto["gate_engine"] == "gx" and forced["gate_engine"] == "pandas"
    assert {c["dataset"] for c in forced["gate_chunks"]} >= {"reports", "applications", "quarantine"}
    assert not auto["structural_failures"] and not forced["structural_failures"]
    assert pub.digest(tmp_path / "pandas") == pub.digest(tmp_path / "auto")
    small = run_plain(RunConfig(source=str(SEEDS), dest=str(tmp_path / "gx"), quality_report=False,
                                gate_engine="gx"))
    assert small["gate_engine"] == "gx"

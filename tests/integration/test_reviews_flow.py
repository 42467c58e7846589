"""The maintainers' review end to end: `nianbao review`, then `nianbao run --no-prefect` and `nianbao
validate` publish the decisions beside the checks and the corrected value beside the printed one, the
summary page counts the reviewed failures and lists the unreviewed first; a review of bytes that changed
no longer applies; the result does not depend on batching, and removing the reviews restores the output.

The corpus is the five seeds (tests/fixtures/seeds) with one number changed in seed 000: table 三's
一、本年新收政府信息公开申请数量 / 自然人 (line 133) printed 7 instead of 0, so that report fails
identities 1 and 2 (applications_balance, applications_row_total)."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from flows import publish as pub
from flows.cli import main

pytestmark = pytest.mark.slow      # several flow runs with GX and the quality report

from paths import ROOT
SEEDS = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))
CHANGED = "000_67382007526ac5ff.txt"
ROW, COL = "一、本年新收政府信息公开申请数量", "申请人情况 > 自然人"


def _corpus(src: Path, printed: str = "7") -> str:
    """The seeds with seed 000's cell changed; returns that report's sha256 (its report_id)."""
    src.mkdir(parents=True, exist_ok=True)
    for p in SEEDS:
        shutil.copyfile(p, src / p.name)
    lines = (src / CHANGED).read_bytes().split(b"\n")
    assert lines[132] == b"\t0"
    lines[132] = b"\t" + printed.encode()
    data = b"\n".join(lines)
    (src / CHANGED).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def here(tmp_path, monkeypatch):
    """No default reviews file (the runs start outside the repository) and the GX gate on."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(src: Path, dest: Path, *extra: str) -> None:
    assert main(["run", "--source", str(src), "--dest", str(dest), "--no-prefect", "--no-progress", *extra]) == 0


def _review(dest: Path, reviews: Path, rid: str, *args: str) -> None:
    assert main(["review", "--dest", str(dest), "--reviews", str(reviews), "--report", rid, "--reviewer", "wang",
                 "--note", "checked against the publisher's site", "--date", "2026-12-06", *args]) == 0


def _review_both(dest: Path, reviews: Path, rid: str) -> None:
    _review(dest, reviews, rid, "--check", "applications_balance", "--decision", "publisher_error_confirmed")
    _review(dest, reviews, rid, "--check", "applications_within_totals", "--decision", "parser_error")
    _review(dest, reviews, rid, "--check", "applications_row_total", "--decision", "corrected_value",
            "--table", "applications", "--row", ROW, "--column", COL, "--value", "0")


def _checks(dest: Path):
    return pub.load_frame(dest / "quality_checks", "quality_checks")


def _reviewed(dest: Path) -> dict:
    qc = _checks(dest)
    r = qc[qc["review_decision"].notna()]
    return {(a, c): (s, d, who) for a, c, s, d, who in
            zip(r["report_id"], r["check"], r["status"], r["review_decision"], r["reviewer"])}


def _page(dest: Path) -> tuple[str, dict]:
    q = dest / "quality_report"
    return (q / "index.html").read_text(encoding="utf-8"), json.loads((q / "summary.json").read_text(encoding="utf-8"))


def _digest(dest: Path) -> dict:
    return pub.digest(dest)


def test_reviews_through_run_and_validate(here):
    src, dest, reviews = here / "src", here / "out", here / "reviews.yaml"
    rid = _corpus(src)
    _run(src, dest)
    before = _digest(dest)
    qc = _checks(dest)
    failed = qc[(qc["report_id"] == rid) & (qc["status"] == "fail")]
    assert set(failed["check"]) == {"applications_balance", "applications_row_total", "applications_within_totals"}
    assert qc["review_decision"].isna().all()
    html, nums = _page(dest)
    assert "0 reviewed" in html and nums["worst_reports"][0]["report_id"] == rid

    # a report that is not published is refused; then the two decisions
    assert main(["review", "--dest", str(dest), "--reviews", str(reviews), "--report", "0" * 64, "--check",
                 "applications_balance", "--decision", "accepted", "--note", "n", "--reviewer", "r"]) == 1
    assert not reviews.exists()
    _review_both(dest, reviews, rid)
    _run(src, dest, "--reviews", str(reviews))       # nothing to parse: the reviews alone make the run

    want = {(rid, "applications_balance"): ("fail", "publisher_error_confirmed", "wang"),
            (rid, "applications_within_totals"): ("fail", "parser_error", "wang"),
            (rid, "applications_row_total"): ("fail", "corrected_value", "wang")}
    assert _reviewed(dest) == want                   # shown as reviewed, the status as computed
    rep = pub.load_frame(dest / "reports", "reports")
    assert rep.set_index("report_id").loc[rid, "verdict"] == "fail"
    cells = pub.load_frame(dest / "applications", "applications")
    fixed = cells[cells["corrected_value"].notna()]
    assert len(fixed) == 1
    c = fixed.iloc[0]
    assert (c["report_id"], c["row_path"], c["column_path"]) == (rid, ROW, COL)
    assert (c["value"], c["raw_value"], c["corrected_value"]) == (7.0, "7", 0.0)     # printed value untouched
    assert c["correction_source"] == "applications_row_total · wang · 2026-12-06"
    assert cells["correction_source"].notna().sum() == 1
    html, nums = _page(dest)
    assert "<b id='n-reviewed'>3 reviewed</b>" in html
    assert nums["reviews"]["reviewed"] == 3 and nums["reviews"]["stale"] == []
    worst = nums["worst_reports"]
    assert worst[-1]["report_id"] == rid and worst[-1]["n_reviewed"] == 3      # unreviewed failures first
    assert all(w["n_reviewed"] == 0 for w in worst[:-1])
    reviewed_run = _digest(dest)

    # the same reviews file again: nothing to do
    _run(src, dest, "--reviews", str(reviews))
    assert _digest(dest) == reviewed_run

    # nianbao validate applies them too
    assert main(["validate", "--dest", str(dest), "--reviews", str(reviews)]) == 0
    assert _reviewed(dest) == want
    assert pub.load_frame(dest / "applications", "applications")["corrected_value"].notna().sum() == 1
    html, _ = _page(dest)
    assert "<b id='n-reviewed'>3 reviewed</b>" in html
    validated = _digest(dest)
    assert validated == reviewed_run

    # results do not depend on batching: one report per batch, reviews from the first run
    other = here / "out1"
    _run(src, other, "--batch-size", "1", "--reviews", str(reviews))
    assert _digest(other) == reviewed_run

    # without the reviews file the published data is as if nobody had reviewed
    _run(src, dest)
    assert _digest(dest) == before
    assert not (pub.current_version(dest) / "_reviews.json").exists()


def test_review_of_changed_bytes_no_longer_applies(here):
    src, dest, reviews = here / "src", here / "out", here / "reviews.yaml"
    old = _corpus(src)
    _run(src, dest)
    _review_both(dest, reviews, old)
    new = _corpus(src, printed="8")                  # the publisher replaced the file: new bytes, new sha256
    assert new != old
    _run(src, dest, "--reviews", str(reviews))
    assert _reviewed(dest) == {}
    qc = _checks(dest)
    assert set(qc.loc[(qc["report_id"] == new) & (qc["status"] == "fail"), "check"]) == \
        {"applications_balance", "applications_row_total", "applications_within_totals"}
    assert pub.load_frame(dest / "applications", "applications")["corrected_value"].isna().all()
    html, nums = _page(dest)
    assert {(s["report_id"], s["check"]) for s in nums["reviews"]["stale"]} == \
        {(old, "applications_balance"), (old, "applications_within_totals"), (old, "applications_row_total")}
    assert "Stale reviews" in html and old in html
    assert nums["worst_reports"][0]["report_id"] == new and nums["worst_reports"][0]["n_reviewed"] == 0


def test_prefect_flow_applies_reviews(prefect_server, here):
    """The Prefect flow (as `nianbao serve` runs it) applies a reviews file: with the reports parsed in
    the same run, and on a later run where only the reviews changed (the apply-reviews task)."""
    from flows.pipeline import RunConfig
    from flows.prefect_flow import run_flow
    src, dest, reviews = here / "src", here / "out", here / "reviews.yaml"
    rid = _corpus(src)
    _review_both(here / "nothing", reviews, rid)
    run_flow(RunConfig(source=str(src), dest=str(dest), reviews=str(reviews), quality_report=False))
    want = {(rid, "applications_balance"): ("fail", "publisher_error_confirmed", "wang"),
            (rid, "applications_within_totals"): ("fail", "parser_error", "wang"),
            (rid, "applications_row_total"): ("fail", "corrected_value", "wang")}
    assert _reviewed(dest) == want
    reviews.write_text(reviews.read_text(encoding="utf-8").replace("publisher_error_confirmed", "accepted"),
                       encoding="utf-8")
    s = run_flow(RunConfig(source=str(src), dest=str(dest), reviews=str(reviews), quality_report=False))
    assert not s["noop"] and s["reviews"]["restaged"] == {"quality_checks": 1}
    assert _reviewed(dest)[(rid, "applications_balance")] == ("fail", "accepted", "wang")

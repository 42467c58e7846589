"""The reviews file (transforms/checks/reviews.py): strict loading, vectorised application, appending, and the
`nianbao review` command."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flows.cli import main
from transforms.checks import reviews as rv
from transforms.typed import conform

from paths import ROOT
RID = "ab" * 32
OTHER = "cd" * 32
ROW, COL = "一、本年新收政府信息公开申请数量", "申请人情况 > 自然人"

ACCEPTED = f"""# a comment
- report_id: {RID.upper()}
  check: applications_balance
  decision: publisher_error_confirmed
  note: |
    表三 prints 7, the total 0;
    the publisher's site shows the same
  reviewer: wang
  date: 2026-12-06
"""
CORRECTED = f"""- report_id: "{RID}"
  check: applications_row_total
  decision: corrected_value
  table: applications
  row_path: "{ROW}"
  column_path: "{COL}"
  corrected_value: 0
  note: a typo of the publisher
  reviewer: li
  date: "2026-12-07"
"""


def _parse(text: str) -> rv.Reviews:
    return rv.parse(text.encode("utf-8"), "reviews.yaml")


def _error(data: str | bytes) -> str:
    with pytest.raises(rv.ReviewsError) as e:
        rv.parse(data.encode("utf-8") if isinstance(data, str) else data, "reviews.yaml")
    return str(e.value)


def test_valid_file():
    r = _parse(ACCEPTED + CORRECTED)
    e = r.entries
    assert list(e["report_id"]) == [RID, RID]                   # upper-case hex read as the id it is
    assert list(e["decision"]) == ["publisher_error_confirmed", "corrected_value"]
    assert list(e["line"]) == [2, 10]
    assert e["note"].iloc[0] == "表三 prints 7, the total 0;\nthe publisher's site shows the same"
    assert e["corrected_value"].iloc[1] == 0.0 and np.isnan(e["corrected_value"].iloc[0])
    assert (e["table"].iloc[1], e["row_path"].iloc[1], e["column_path"].iloc[1]) == ("applications", ROW, COL)
    assert r.report_ids == {RID}


@pytest.mark.parametrize("data", ["", "# only comments\n", "\ufeff# BOM\n"])
def test_empty_files_have_no_reviews(data):
    assert len(_parse(data)) == 0


def test_committed_reviews_file_is_valid():
    rv.load(ROOT / "reviews" / "reviews.yaml")


@pytest.mark.parametrize("text, line, words", [
    (ACCEPTED.replace("  note: |", "  notes: |"), 5, "unknown key 'notes'"),
    (ACCEPTED.replace("publisher_error_confirmed", "publisher_error"), 4, "bad decision 'publisher_error'"),
    (ACCEPTED.replace("applications_balance", "applications_balanse"), 3, "unknown check"),
    (ACCEPTED.replace(RID.upper(), RID[:-1]), 2, "64 hex digits"),
    (ACCEPTED.replace("2026-12-06", "2026-02-30"), 9, "YYYY-MM-DD"),
    (ACCEPTED.replace("2026-12-06", "06/12/2026"), 9, "YYYY-MM-DD"),
    (ACCEPTED.replace("  reviewer: wang\n", ""), 2, "missing reviewer"),
    (ACCEPTED.replace("  reviewer: wang\n", "  reviewer: wang\n  reviewer: li\n"), 9, "given twice"),
    (ACCEPTED + ACCEPTED.replace("# a comment\n", ""), 10, "duplicate review"),
    (ACCEPTED.replace("  reviewer: wang\n", "  reviewer: wang\n  table: applications\n"), 4,
     "only go with decision corrected_value"),
    (CORRECTED.replace('  column_path: "申请人情况 > 自然人"\n', ""), 3, "needs column_path"),
    (CORRECTED.replace("corrected_value: 0", "corrected_value: abc"), 7, "must be a number"),
    (CORRECTED.replace("corrected_value: 0", "corrected_value: 1e400"), 7, "must be a number"),
    (CORRECTED.replace("corrected_value: 0", "corrected_value: [1]"), 7, "single value"),
    (CORRECTED.replace("table: applications", "table: review_litigation"), 4, "reads table applications"),
    (CORRECTED.replace("table: applications", "table: nope"), 4, "unknown table"),
    (CORRECTED.replace(COL, "申请人情况 > 外星人"), 5, "no cell at"),
    (CORRECTED + CORRECTED.replace("applications_row_total", "applications_balance"), 11,
     "second corrected value for the same cell"),
    (ACCEPTED.replace("applications_balance", "applications_row_total") + CORRECTED, 10, "duplicate review"),
    ("report_id: x\n", 1, "expected a list"),
    ("- just a string\n", 1, "must be a mapping"),
    ("- report_id: [unclosed\n", 2, "not valid YAML"),
])
def test_hostile_files_name_file_and_line(text, line, words):
    msg = _error(text)
    assert msg.startswith(f"reviews.yaml:{line}: ") and words in msg, msg


def test_not_utf8_names_the_line():
    msg = _error(ACCEPTED.encode("utf-8") + "- note: 表三\n".encode("gb18030"))
    assert msg.startswith("reviews.yaml:10: not UTF-8"), msg


def test_missing_file(tmp_path):
    with pytest.raises(rv.ReviewsError, match="no such reviews file"):
        rv.load(tmp_path / "nope.yaml")
    assert len(rv.load(tmp_path / "nope.yaml", missing_ok=True)) == 0


def _qc() -> pd.DataFrame:
    return pd.DataFrame({"report_id": [RID, RID, RID, OTHER],
                         "check": ["applications_balance", "applications_row_total", "review_total",
                                   "applications_balance"],
                         "status": ["fail", "fail", "pass", "fail"],
                         "review_decision": [None, None, "accepted", None],     # stale fields are replaced
                         "reviewer": [None, None, "old", None], "review_note": [None] * 4,
                         "review_date": [None] * 4})


def test_apply_to_checks_sets_fields_and_leaves_status():
    out = rv.apply_to_checks(_qc(), _parse(ACCEPTED + CORRECTED))
    assert list(out["status"]) == ["fail", "fail", "pass", "fail"]
    assert list(out["review_decision"].astype(object).where(out["review_decision"].notna(), None)) == \
        ["publisher_error_confirmed", "corrected_value", None, None]
    assert list(out["reviewer"].astype(object).where(out["reviewer"].notna(), None)) == ["wang", "li", None, None]
    assert out["review_date"].iloc[1] == "2026-12-07"


def test_corrections_of_one_check_are_one_decision():
    second = CORRECTED.replace(COL, "申请人情况 > 总计").replace("reviewer: li", "reviewer: zhao")
    out = rv.check_reviews(_parse(CORRECTED + second))
    assert len(out) == 1 and out["reviewer"].iloc[0] == "li; zhao"


def test_apply_to_cells_keeps_printed_value():
    cells = pd.DataFrame({"report_id": [RID, RID, OTHER], "row_path": [ROW, ROW, ROW],
                          "column_path": [COL, "申请人情况 > 总计", COL], "value": [7.0, 0.0, 7.0],
                          "raw_value": ["7", "0", "7"]})
    out = rv.apply_to_cells(cells, "applications", _parse(ACCEPTED + CORRECTED))
    assert list(out["value"]) == [7.0, 0.0, 7.0] and list(out["raw_value"]) == ["7", "0", "7"]
    assert out["corrected_value"].iloc[0] == 0.0 and out["corrected_value"].iloc[1:].isna().all()
    assert out["correction_source"].iloc[0] == "applications_row_total · li · 2026-12-07"
    assert out["correction_source"].iloc[1:].isna().all()
    assert rv.apply_to_cells(cells, "review_litigation", _parse(CORRECTED))["corrected_value"].isna().all()


def test_append_round_trip_and_refusal(tmp_path):
    path = tmp_path / "r" / "reviews.yaml"
    entry = {"report_id": RID, "check": "applications_row_total", "decision": "corrected_value",
             "table": "applications", "row_path": ROW, "column_path": COL, "corrected_value": "12",
             "note": 'quotes " and: colons', "reviewer": "li", "date": "2026-12-06"}
    r = rv.append(path, entry)
    assert len(r) == 1 and r.entries["corrected_value"].iloc[0] == 12.0
    assert r.entries["note"].iloc[0] == 'quotes " and: colons'
    before = path.read_bytes()
    with pytest.raises(rv.ReviewsError, match="second corrected value"):
        rv.append(path, {**entry, "check": "applications_balance"})
    with pytest.raises(rv.ReviewsError, match="bad decision"):
        rv.append(path, {**entry, "decision": "nah"})
    assert path.read_bytes() == before                      # a refused entry leaves the file as it was
    r = rv.append(path, {**entry, "check": "applications_balance", "decision": "accepted", "table": None,
                         "row_path": None, "column_path": None, "corrected_value": None})
    assert list(r.entries["decision"]) == ["accepted", "corrected_value"]       # in key order
    assert list(r.entries["line"]) == [12, 2]


def test_order_in_the_file_does_not_matter():
    a, b = _parse(ACCEPTED + CORRECTED), _parse(CORRECTED + ACCEPTED)
    assert a.applied() == b.applied() and rv.digest(a) == rv.digest(b)


def test_cli_review_appends_and_refuses(tmp_path, capsys):
    path = tmp_path / "reviews.yaml"
    base = ["review", "--reviews", str(path), "--dest", str(tmp_path / "nothing"), "--report", RID,
            "--note", "looked at it", "--reviewer", "wang"]
    assert main([*base, "--check", "applications_balance", "--decision", "accepted", "--date", "2026-12-01"]) == 0
    assert main([*base, "--check", "applications_row_total", "--decision", "corrected_value", "--table",
                 "applications", "--row", ROW, "--column", COL, "--value", "3"]) == 0
    r = rv.load(path)
    assert list(r.entries["check"]) == ["applications_balance", "applications_row_total"]
    assert r.entries["date"].iloc[0] == "2026-12-01" and r.entries["corrected_value"].iloc[1] == 3.0
    capsys.readouterr()
    before = path.read_bytes()
    for args, words in [
        (["--check", "applications_balance", "--decision", "maybe"], "bad decision"),
        (["--check", "no_such_check", "--decision", "accepted"], "unknown check"),
        (["--check", "applications_balance", "--decision", "parser_error"], "duplicate review"),
        (["--check", "review_total", "--decision", "corrected_value"], "needs table"),
        (["--check", "review_total", "--decision", "accepted", "--date", "yesterday"], "YYYY-MM-DD"),
    ]:
        assert main([*base, *args]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("nianbao: error:") and words in err, err
    assert path.read_bytes() == before


def test_run_and_validate_refuse_a_bad_reviews_file(tmp_path, capsys):
    bad = tmp_path / "reviews.yaml"
    bad.write_text(ACCEPTED.replace("decision: publisher_error_confirmed", "decision: fine"), encoding="utf-8")
    (tmp_path / "out").mkdir()
    for cmd in (["run", "--no-prefect", "--dest", str(tmp_path / "out")], ["validate", "--dest", str(tmp_path / "out")]):
        assert main([*cmd, "--reviews", str(bad)]) == 1
        err = capsys.readouterr().err.strip()
        assert err == f"nianbao: error: {bad}:4: bad decision 'fine' (one of publisher_error_confirmed, " \
                      "parser_error, accepted, corrected_value)", err
    assert not any((tmp_path / "out").iterdir())           # refused before anything ran


def test_page_lists_unreviewed_failures_first_and_counts_reviewed(tmp_path):
    """The summary page alone (no flow): a fully reviewed failing report sinks below the reports with an
    unreviewed failure or warning; the reviewed count and the stale reviews are shown."""
    from quality_page import report
    ids = ["1" * 64, "2" * 64, "3" * 64]
    data = {n: report.read_dataset(tmp_path / "none", n, columns=report.PAGE_COLUMNS.get(n))
            for n in report.page_datasets()}
    data["reports"] = conform(pd.DataFrame({
        "report_id": ids, "source_file": ["a.txt", "b.txt", "c.txt"], "organization": ["A", "B", "C"],
        "report_year": [2021, 2021, 2021], "template": ["2021"] * 3, "verdict": ["fail", "warn", "fail"],
        "failed_checks": [["applications_balance"], ["applications.flagged_cells"], ["review_total"]]}),
        "reports", report.PAGE_COLUMNS["reports"])
    data["quality_checks"] = conform(pd.DataFrame({
        "report_id": ids, "report_year": [2021] * 3,
        "check": ["applications_balance", "applications.flagged_cells", "review_total"],
        "status": ["fail", "warn", "fail"], "review_decision": ["publisher_error_confirmed", None, None]}),
        "quality_checks", report.PAGE_COLUMNS["quality_checks"])
    data[report.REVIEW_ENTRIES] = pd.DataFrame({"report_id": [ids[0], OTHER], "check": ["applications_balance"] * 2,
                                                "decision": ["publisher_error_confirmed", "accepted"],
                                                "reviewer": ["wang", "<b>li</b>"], "date": ["2026-12-06"] * 2})
    nums = report.summary_numbers(data)
    assert [w["report_id"] for w in nums["worst_reports"]] == [ids[2], ids[1], ids[0]]
    assert nums["reviews"]["reviewed"] == 1 and nums["reviews"]["unreviewed"] == 2
    assert [s["report_id"] for s in nums["reviews"]["stale"]] == [OTHER]
    page = report.write_summary(data, tmp_path / "page").read_text(encoding="utf-8")
    assert "<b id='n-reviewed'>1 reviewed</b>" in page and "(1 reviewed)" in page
    assert "Stale reviews" in page and "&lt;b&gt;li&lt;/b&gt;" in page and "<b>li</b>" not in page


def test_a_version_written_before_the_review_fields_merges(tmp_path):
    """Files published by an older nianbao lack the review columns: publishing reads them as null."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from flows import publish as pub
    from transforms.engine import parse_report
    from transforms.tidy import to_frames
    seeds = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))[:2]
    cells = to_frames([parse_report(p.read_bytes(), p.name) for p in seeds])["applications"]
    t = pub.table_from_frame(cells, "applications")
    t = t.take(pc.sort_indices(t["report_id"])).drop_columns(["corrected_value", "correction_source"])
    for year in set(cells["report_year"]):
        part = tmp_path / "prev" / f"report_year={int(year)}"
        part.mkdir(parents=True)
        sel = t.filter(pc.equal(t["report_year"], year)).drop_columns(["report_year"])
        pq.write_table(sel, part / "part-0.parquet")
    gone = sorted(set(cells["report_id"]))[0]
    years = sorted(int(y) for y in set(cells["report_year"]))
    pub.publish_dataset("applications", tmp_path / "prev", None, tmp_path / "out", {gone}, years)
    out = pub.load_frame(tmp_path / "out", "applications")
    assert len(out) == int((cells["report_id"] != gone).sum())
    assert out["corrected_value"].isna().all() and out["correction_source"].isna().all()

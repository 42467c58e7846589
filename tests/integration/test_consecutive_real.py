"""Real reports of one body in consecutive years (tests/fixtures/consecutive, README there): each
report gives its hand-checked cells, the two years of a body one organization_id, and the run over
the folder gives what the hand calculation says — the later copies hold no table, so they are
quarantined and no cross-year result is invented — whatever the batch size, and again after
`nianbao validate`. The prose is compared with the tables as worked out by hand."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from flows import publish as pub
from flows.pipeline import RunConfig, run_plain
from flows.revalidate import revalidate
from transforms.checks.catalogue import cross_year_check_names
from transforms.engine import parse_report

from paths import FIXTURES

HERE = FIXTURES / "consecutive"
KEYS = sorted(HERE.glob("*.json"))
# body → (earlier year's file, later year's file)
PAIRS = {"上海市人民政府办公厅": ("shanghai_bgt_2019.html", "shanghai_bgt_2020.txt"),
         "二郎街道": ("erlang_2022.txt", "erlang_2023.txt")}
QUARANTINED = {"shanghai_bgt_2020.txt", "erlang_2023.txt"}       # the copy stops before any table


def _key(name: str) -> dict:
    return json.loads((HERE / (Path(name).stem + ".json")).read_text(encoding="utf-8"))


def _parse(name: str):
    return parse_report((HERE / name).read_bytes(), name)


def _same(a, b) -> bool:
    blank_a = a is None or (isinstance(a, float) and math.isnan(a))
    return blank_a and b is None if (blank_a or b is None) else abs(a - b) < 1e-9


@pytest.mark.parametrize("key_path", KEYS, ids=lambda p: p.stem)
def test_cells_identity_and_year_match_the_hand_key(key_path):
    key = json.loads(key_path.read_text(encoding="utf-8"))
    parsed = _parse(key["source_file"])
    got = {(c.table, c.row_path, c.column_path): c for c in parsed.cells}
    wanted = key["cells"] + key.get("partial_table_cells", [])
    wrong = []
    for kc in wanted:
        c = got.get((kc["table"], kc["row"], kc["column"]))
        if c is None or not (_same(c.value, kc["value"]) and (c.raw_value or "") == kc["raw"]):
            wrong.append((kc, None if c is None else (c.value, c.raw_value, c.flags)))
    assert not wrong, wrong[:5]
    assert len(got) == len(wanted)                   # nothing beyond what the copy prints
    r = parsed.report
    assert (r["organization"], r["report_year"], r["template"]) == (key["organization"], key["report_year"],
                                                                    key["template"])
    for t in {c["table"] for c in key["cells"]}:
        assert r[f"{t}_status"] == "complete", r["problems"]
    for t in {c["table"] for c in key.get("partial_table_cells", [])}:
        assert r[f"{t}_status"] == "incomplete"
    if key["source_file"] in QUARANTINED:
        assert r["status"] == "unreadable" and "[no_statutory_table]" in " ".join(r["problems"])


@pytest.mark.parametrize("body", list(PAIRS))
def test_the_two_years_of_a_body_share_one_organization_id(body):
    earlier, later = (_parse(n).report for n in PAIRS[body])
    assert earlier["organization_id"] and earlier["organization_id"] == later["organization_id"]
    assert later["report_year"] == earlier["report_year"] + 1
    assert earlier["division_code"] == later["division_code"] == earlier["organization_id"].split("-")[0]


# ---------------------------------------------------------------------------------------------- runs

def _run(src: Path, dest: Path, **kw) -> dict:
    return run_plain(RunConfig(source=str(src), dest=str(dest), quality_report=False, gate_engine="pandas", **kw))


def _published(dest: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pub.load_frame(dest / "quality_checks", "quality_checks"), pub.load_frame(dest / "reports", "reports")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("consecutive") / "src"
    src.mkdir()
    for p in HERE.iterdir():
        if p.suffix in (".html", ".txt"):
            shutil.copy(p, src / p.name)
    return src


@pytest.fixture(scope="module")
def reference(folder, tmp_path_factory) -> tuple[dict, Path]:
    dest = tmp_path_factory.mktemp("ref") / "out"
    return _run(folder, dest), dest


@pytest.mark.slow      # flow runs (plain executor)
def test_later_copies_without_tables_are_quarantined_and_never_paired(reference):
    summary, dest = reference
    q = pub.load_frame(dest / "quarantine", "quarantine")
    assert dict(zip(q["source_file"].map(lambda s: Path(s).name), q["reason_code"])) == {
        n: "no_statutory_table" for n in QUARANTINED}
    qc, reports = _published(dest)
    names = reports["source_file"].map(lambda s: Path(s).name)
    assert sorted(names) == ["erlang_2022.txt", "shanghai_bgt_2019.html"]
    # no later report of either body was published: no pair, no cross-year row, nothing invented
    assert summary["cross_report"]["pairs"] == 0 and summary["cross_report"]["checks"] == {}
    assert not qc["check"].isin(cross_year_check_names()).any()
    assert qc["related_report_id"].isna().all()


def _rows(qc: pd.DataFrame, reports: pd.DataFrame, name: str) -> pd.DataFrame:
    rid = reports.loc[reports["source_file"].map(lambda s: Path(s).name) == name, "report_id"].iloc[0]
    return qc[qc["report_id"] == rid].set_index("check")


@pytest.mark.slow      # flow runs (plain executor)
def test_the_prose_against_the_tables_as_worked_out_by_hand(reference):
    """shanghai_bgt_2019: 859 and 18 agree with table 三; 35 and 265 meet blank 总计 cells (not
    comparable); 予以公开及部分公开258件 is no 部分公开 figure (left out); the period is 2019; the six
    headings, on one line of HTML, are in order.
    erlang_2022: 上年结转 0 stated, table 三 not in the copy."""
    _, dest = reference
    qc, reports = _published(dest)
    sh = _rows(qc, reports, "shanghai_bgt_2019.html")
    got = sh.loc[["narrative.quantities", "narrative.report_year", "narrative.sections"],
                 ["status", "n_evaluated", "n_failed", "n_not_evaluable"]]
    assert got.to_dict("index") == {
        "narrative.quantities": {"status": "pass", "n_evaluated": 2, "n_failed": 0, "n_not_evaluable": 2},
        "narrative.report_year": {"status": "pass", "n_evaluated": 1, "n_failed": 0, "n_not_evaluable": 0},
        "narrative.sections": {"status": "pass", "n_evaluated": 6, "n_failed": 0, "n_not_evaluable": 0}}
    st = pub.load_frame(dest / "statements", "statements")
    st = st[st["report_id"] == sh["report_id"].iloc[0]]
    stated = dict(zip(st["quantity"], st["value"]))
    assert {q: stated.get(q) for q in ("applications_new", "applications_carried_from_previous_year",
                                       "applications_partially_granted", "applications_withheld",
                                       "applications_unavailable", "administrative_review")} == {
        "applications_new": 859, "applications_carried_from_previous_year": 18,
        "applications_partially_granted": None, "applications_withheld": 35, "applications_unavailable": 265,
        "administrative_review": None}
    er = _rows(qc, reports, "erlang_2022.txt")
    assert er.loc["narrative.quantities", ["status", "n_evaluated", "n_not_evaluable"]].tolist() == ["pass", 0, 1]
    assert er.loc["narrative.sections", ["status", "n_evaluated", "n_not_evaluable"]].tolist() == ["pass", 2, 4]
    # the publisher's blank 总计 cells: the identities are not evaluable there, never silently passed
    assert sh.loc["applications_row_total", ["status", "n_failed"]].tolist() == ["warn", 0]
    assert sh.loc["applications_balance", ["n_evaluated", "n_failed", "n_not_evaluable"]].tolist() == [2, 0, 5]


@pytest.mark.slow      # flow runs (plain executor)
def test_batch_size_one_and_validate_give_the_same_rows(folder, reference, tmp_path):
    _, ref = reference
    qc_ref, rep_ref = _published(ref)
    dest = tmp_path / "b1"
    summary = _run(folder, dest, batch_size=1)
    assert summary["cross_report"]["pairs"] == 0
    for a, b in zip(_published(dest), (qc_ref, rep_ref)):
        pd.testing.assert_frame_equal(a, b)
    s = revalidate(str(dest), quality_report=False)
    assert s["published"] and s["verdicts"] == rep_ref["verdict"].value_counts().to_dict()
    for a, b in zip(_published(dest), (qc_ref, rep_ref)):
        pd.testing.assert_frame_equal(a, b)

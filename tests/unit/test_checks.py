"""Hierarchy, level plausibility, all-zero reports, consolidated reports against their constituents,
and who each failed check points at (quality_checks.attribution), on real and generated reports."""
from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from synthetic.frames import make_frames
from transforms.checks import crossyear as cy
from transforms.engine import parse_report
from transforms.formats import FORMAT_DIR, FormatError, load_formats
from transforms.checks.plausibility import CHECKS, ChecksError, load_checks
from transforms.checks.catalogue import check_names, cross_year_check_names, hierarchy_catalog
from transforms.checks.rules import quality_checks
from transforms.checks.verdicts import verdicts
from transforms.tidy import to_frames

from paths import ROOT
# A real report (Hangzhou style, 2021 format, every table printed in full): tests/fixtures/realworld.
REAL = ROOT / "tests" / "fixtures" / "realworld" / "raw" / "hangzhou_style_2025.html"
SEED_ALL_ZERO = ROOT / "tests" / "fixtures" / "seeds" / "000_67382007526ac5ff.txt"     # every printed number 0
TOTAL = "三、本年度办理结果 > （七）总计"
SECRET = "三、本年度办理结果 > （三）不予公开 > 1.属于国家秘密"
PERSON = "申请人情况 > 自然人"


@pytest.fixture(scope="module")
def real() -> dict[str, pd.DataFrame]:
    return to_frames([parse_report(REAL.read_bytes(), REAL.name)])


def _row(qc: pd.DataFrame, check: str) -> pd.Series:
    hit = qc[qc["check"] == check]
    assert len(hit) == 1, check
    return hit.iloc[0]


def _set(frames, table, row, col, value=None, flags=None):
    df = frames[table].copy()
    m = (df["row_path"] == row) & (df["column_path"] == col)
    assert m.sum() == 1
    if value is not None:
        df.loc[m, "value"] = value
        df.loc[m, "raw_value"] = str(int(value))
    if flags is not None:
        df["flags"] = [list(flags) if hit else f for hit, f in zip(m, df["flags"])]
    return {**frames, table: df}


def _value(frames, table, row, col) -> float:
    df = frames[table]
    return float(df.loc[(df["row_path"] == row) & (df["column_path"] == col), "value"].iloc[0])


# ------------------------------------------------------------------------------------------------ hierarchy

def test_hierarchy_comes_from_the_identities_of_the_format_files():
    for fmt in load_formats().values():
        pairs = {h.id: set(h.pairs) for h in fmt.hierarchy}
        app = pairs["applications_within_totals"]
        assert ((TOTAL, PERSON), (SECRET, PERSON)) in app                                  # each outcome ≤ （七）总计
        assert ((SECRET, "申请人情况 > 总计"), (SECRET, PERSON)) in app                        # each applicant ≤ 总计
        assert (("", "行政复议 > 总计"), ("", "行政复议 > 尚未审结")) in pairs["review_litigation_within_totals"]
        assert all(t != p for t, p in app)
    assert list(hierarchy_catalog()) == ["applications_within_totals", "review_litigation_within_totals"]
    names = check_names()
    assert names.index("review_litigation_within_totals") < names.index("active_disclosure.completeness")
    assert names[-len(cross_year_check_names()):] == cross_year_check_names()


def test_a_hierarchy_naming_an_identity_without_one_total_is_refused(tmp_path):
    for p in FORMAT_DIR.glob("*.yaml"):
        text = p.read_text(encoding="utf-8")
        if p.stem == "2019":          # 2021 extends it
            text = text.replace("of: [applications_row_total, applications_outcome_total]",
                                "of: [applications_balance]")
        (tmp_path / p.name).write_text(text, encoding="utf-8")
    with pytest.raises(FormatError, match="one total on its lhs"):
        load_formats(tmp_path)


def test_a_real_report_where_the_hierarchy_holds_passes(real):
    qc = quality_checks(real)
    app, rl = _row(qc, "applications_within_totals"), _row(qc, "review_litigation_within_totals")
    assert (app["status"], app["n_evaluated"], app["n_failed"]) == ("pass", 297, 0)
    assert (rl["status"], rl["n_evaluated"]) == ("pass", 12)
    assert pd.isna(app["attribution"])


def test_a_sub_item_raised_above_its_total_fails_and_points_at_the_publisher(real):
    total = _value(real, "applications", TOTAL, PERSON)
    raised = _set(real, "applications", SECRET, PERSON, value=total + 5)
    qc = quality_checks(raised)
    h = _row(qc, "applications_within_totals")
    assert (h["status"], h["attribution"]) == ("fail", "publisher")
    assert f"{SECRET} | {PERSON}" in list(h["cells"]) and f"{TOTAL} | {PERSON}" in list(h["cells"])
    assert f"= {int(total + 5)} >" in h["observed"]
    # the identities it enters break too, with the same attribution
    assert _row(qc, "applications_outcome_total")["attribution"] == "publisher"
    v = verdicts(raised["reports"], qc).iloc[0]
    assert v["verdict"] == "fail" and "applications_within_totals" in list(v["failed_checks"])


def test_the_same_cell_flagged_by_the_parser_points_at_the_parser(real):
    total = _value(real, "applications", TOTAL, PERSON)
    raised = _set(real, "applications", SECRET, PERSON, value=total + 5, flags=["fuzzy_label"])
    qc = quality_checks(raised)
    assert _row(qc, "applications_within_totals")["attribution"] == "parser"
    assert _row(qc, "applications_outcome_total")["attribution"] == "parser"
    # implausible_value restates a check on the printed number: not a doubt about the parse
    qc2 = quality_checks(_set(real, "applications", SECRET, PERSON, value=total + 5, flags=["implausible_value"]))
    assert _row(qc2, "applications_within_totals")["attribution"] == "publisher"


def test_hierarchy_is_checked_where_the_identity_is_not_evaluable(real):
    """A blank part leaves the sum unknown, but a printed part above its total is still a contradiction."""
    total = _value(real, "applications", TOTAL, PERSON)
    fr = _set(real, "applications", SECRET, PERSON, value=total + 1)
    app = fr["applications"].copy()
    m = (app["row_path"] == "三、本年度办理结果 > （一）予以公开") & (app["column_path"] == PERSON)
    app.loc[m, ["value", "raw_value"]] = [np.nan, None]
    qc = quality_checks({**fr, "applications": app})
    assert _row(qc, "applications_outcome_total")["n_failed"] < 2          # that column is not evaluable now
    h = _row(qc, "applications_within_totals")
    assert h["status"] == "fail" and h["n_not_evaluable"] >= 1


def test_every_non_passing_row_has_an_attribution_and_passing_rows_none():
    """The real copies of tests/fixtures/realworld: blanks, cut tables and inferred cells."""
    files = sorted((ROOT / "tests" / "fixtures" / "realworld" / "raw").iterdir())
    qc = quality_checks(to_frames([parse_report(f.read_bytes(), f.name) for f in files]))
    bad = qc["status"] != "pass"
    assert {"publisher", "parser"} <= set(qc.loc[bad, "attribution"])
    assert set(qc.loc[bad, "attribution"]) <= {"publisher", "parser"} and qc.loc[bad, "attribution"].notna().all()
    assert qc.loc[~bad, "attribution"].isna().all()


# ------------------------------------------------------------------------------------------------ level

def test_level_bounds_are_data():
    b = {x.id: x for x in CHECKS.level_bounds}["applications_plausible_for_level"]
    assert b.table == "applications" and b.max_count["township"] < b.max_count["county"] < b.max_count["city"]
    assert CHECKS.levels_by_organization_type["subdistrict"] == "township"


def test_a_bad_checks_file_is_refused(tmp_path):
    text = (ROOT / "transforms" / "checks.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "checks.yaml"
    bad.write_text(text.replace("township: 1000,", "hamlet: 1000,"), encoding="utf-8")
    with pytest.raises(ChecksError):
        load_checks(bad)


def _leveled(frames, level=None, org_type=None):
    rep = frames["reports"].copy()
    rep["division_level"] = pd.Series([level] * len(rep), dtype="str")
    rep["organization_type"] = pd.Series([org_type] * len(rep), dtype="str")
    return {**frames, "reports": rep}


def test_a_township_reporting_100000_applications_is_flagged(real):
    """The real report is a city's (14,069 applications at most in a cell): plausible for a county or a
    city, not for a township; 100,000 in one cell is beyond a county's bound too."""
    new = "一、本年新收政府信息公开申请数量"
    fr = _set(real, "applications", new, PERSON, value=100000)
    row = _row(quality_checks(_leveled(fr, "township")), "applications_plausible_for_level")
    assert (row["status"], row["attribution"]) == ("warn", "publisher")
    assert f"{new} | {PERSON}" in list(row["cells"]) and "township" in row["observed"]
    county = _row(quality_checks(_leveled(fr, "county")), "applications_plausible_for_level")
    assert (county["status"], county["n_failed"], list(county["cells"])) == ("warn", 1, [f"{new} | {PERSON}"])
    assert "100000" in county["observed"]
    assert _row(quality_checks(_leveled(real, "county")), "applications_plausible_for_level")["status"] == "pass"
    assert _row(quality_checks(_leveled(fr, "city")), "applications_plausible_for_level")["status"] == "pass"
    # a street office whose division level is unknown takes the township level from its type
    assert _row(quality_checks(_leveled(fr, None, "subdistrict")), "applications_plausible_for_level")["status"] == "warn"
    unknown = _row(quality_checks(_leveled(fr)), "applications_plausible_for_level")
    assert (unknown["status"], unknown["n_evaluated"]) == ("pass", 0)
    # flagged by the parser (OCR), the same warn points at the parser
    ocr = _set(fr, "applications", new, PERSON, flags=["ocr"])
    assert _row(quality_checks(_leveled(ocr, "county")), "applications_plausible_for_level")["attribution"] == "parser"


# ------------------------------------------------------------------------------------------------ all zero

def test_an_all_zero_report_is_noted_not_failed(real):
    zero = to_frames([parse_report(SEED_ALL_ZERO.read_bytes(), SEED_ALL_ZERO.name)])
    qc = quality_checks(zero)
    row = _row(qc, CHECKS.all_zero_id)
    assert row["status"] == "warn" and row["n_evaluated"] >= CHECKS.all_zero_min_values
    assert "fail" not in set(qc.loc[qc["check"] == CHECKS.all_zero_id, "status"])
    assert _row(quality_checks(real), CHECKS.all_zero_id)["status"] == "pass"


# ------------------------------------------------------------------------------------------------ consolidated

DIVISION = "330106"
MEMBERS = ["杭州市西湖区财政局", "杭州市西湖区民政局", "杭州市西湖区留下街道办事处"]
CONSOLIDATED = "杭州市西湖区全区"


def _group(seed: int = 5, *, drop: int | None = None) -> dict[str, pd.DataFrame]:
    """Generated reports of three bodies of one division and year, and a consolidated report whose tables
    三 and 四 are their sum (one constituent left out of the frames with `drop`)."""
    fr = make_frames(len(MEMBERS) + 1, year=2022, formats=("2021",), seed=seed, organizations=MEMBERS + [CONSOLIDATED])
    rep = fr["reports"].copy()
    rep["division_code"] = DIVISION
    ids = dict(zip(rep["organization"], rep["report_id"]))
    out = {**fr, "reports": rep}
    for c in CHECKS.consolidated:
        df = fr[c.table].copy()
        members = df[df["report_id"] != ids[CONSOLIDATED]]
        sums = members.groupby(["row_path", "column_path"])["value"].sum()
        m = df["report_id"] == ids[CONSOLIDATED]
        df.loc[m, "value"] = sums.reindex(pd.MultiIndex.from_frame(df.loc[m, ["row_path", "column_path"]])).to_numpy()
        out[c.table] = df
    if drop is not None:
        gone = ids[MEMBERS[drop]]
        out = {k: v[v["report_id"] != gone].reset_index(drop=True) for k, v in out.items()}
    return out


def _cells(frames):
    return {c.table: frames[c.table][cy.CELL_COLUMNS] for c in CHECKS.consolidated}


def test_consolidated_report_is_recognised_by_its_words():
    fr = _group()
    members = cy.consolidated_members(fr["reports"])
    cons = fr["reports"].set_index("organization")["report_id"][CONSOLIDATED]
    assert set(members["cons_id"]) == {cons} and len(members) == len(MEMBERS)


def test_consolidated_equal_to_the_sum_of_its_constituents_passes():
    fr = _group()
    qc = cy.consolidated_checks(fr["reports"], _cells(fr))
    assert set(qc["check"]) == {c.id for c in CHECKS.consolidated}
    assert set(qc["status"]) == {"pass"} and (qc["n_evaluated"] > 0).all()
    assert qc["attribution"].isna().all()


def test_consolidated_unequal_warns_never_fails():
    fr = _group()
    cons = fr["reports"].set_index("organization")["report_id"][CONSOLIDATED]
    app = fr["applications"].copy()
    m = (app["report_id"] == cons) & (app["row_path"] == TOTAL) & (app["column_path"] == PERSON)
    app.loc[m, "value"] += 3
    changed = {**fr, "applications": app}
    qc = cy.consolidated_checks(changed["reports"], _cells(changed)).set_index("check")
    row = qc.loc["consolidated_applications_sum"]
    assert (row["status"], row["n_failed"], row["attribution"]) == ("warn", 1, "publisher")
    assert "uncertain" in row["observed"] and f"{TOTAL} | {PERSON}" in list(row["cells"])
    assert qc.loc["consolidated_review_litigation_sum", "status"] == "pass"
    # the differing cell of a constituent flagged by the parser: the parser's
    app2 = app.copy()
    mm = (app2["report_id"] != cons) & (app2["row_path"] == TOTAL) & (app2["column_path"] == PERSON)
    first = np.flatnonzero(mm.to_numpy())[0]
    app2["flags"] = [["inferred"] if i == first else f for i, f in enumerate(app2["flags"])]
    flagged = {**fr, "applications": app2}
    qc2 = cy.consolidated_checks(flagged["reports"], _cells(flagged)).set_index("check")
    assert qc2.loc["consolidated_applications_sum", "attribution"] == "parser"


def test_a_missing_constituent_makes_the_comparison_uncertain():
    fr = _group(drop=1)
    qc = cy.consolidated_checks(fr["reports"], _cells(fr))
    assert set(qc["status"]) <= {"warn", "pass"} and "warn" in set(qc["status"])
    assert all(f"{len(MEMBERS) - 1} other reports" in o for o in qc["observed"])


def test_a_new_constituent_rechecks_its_consolidated_report():
    fr = _group()
    rep = fr["reports"]
    ids = rep.set_index("organization")["report_id"]
    owners = cy.affected_owners(rep, rep[rep["organization"] == MEMBERS[0]])
    assert ids[CONSOLIDATED] in owners
    other_division = rep[rep["organization"] == MEMBERS[0]].assign(division_code="330102")
    assert ids[CONSOLIDATED] not in cy.affected_owners(rep, other_division)
    # and the rows of the whole pass for a set of owners are those of the full pass for them
    full = cy.consolidated_checks(rep, _cells(fr))
    part = cy.consolidated_checks(rep, _cells(fr), owners=owners)
    pd.testing.assert_frame_equal(full, part)


def test_generated_truths_sum_like_the_tables():
    """The generator's linear identities hold for a sum of reports: a consolidated report built as the
    sum of generated constituents is itself consistent (the flow test below relies on it)."""
    from synthetic.generator import identity_violations, make_truth
    rng = random.Random(2)
    truths = [make_truth(rng, "2021", blanks=0.0) for _ in range(3)]
    total = _sum_truths(truths, CONSOLIDATED)
    assert not identity_violations(total)


def _sum_truths(truths, organization):
    import copy
    out = copy.deepcopy(truths[0])
    out.organization = organization
    tables = {c.table for c in CHECKS.consolidated}
    by = {}
    for t in truths:
        for c in t.cells:
            if c["table"] in tables:
                by[(c["table"], c["row_path"], c["column_path"])] = by.get(
                    (c["table"], c["row_path"], c["column_path"]), 0.0) + (c["value"] or 0.0)
    for c in out.cells:
        k = (c["table"], c["row_path"], c["column_path"])
        if k in by:
            c["value"] = by[k]
            c["raw_value"] = str(int(by[k]))
    return out


# ------------------------------------------------------------------------------------------------ summary page

def test_summary_page_puts_parser_attributed_failures_first():
    from quality_page.report import summary_numbers
    from transforms.tidy import empty_frame
    rep = pd.DataFrame({"report_id": ["a", "b", "c"], "source_file": ["a.txt", "b.txt", "c.txt"],
                        "organization": ["甲", "乙", "丙"], "report_year": pd.array([2022] * 3, dtype="Int64"),
                        "template": ["2021"] * 3, "verdict": ["fail", "fail", "warn"],
                        "failed_checks": [["applications_balance", "review_total"], ["applications_balance"],
                                          ["applications.completeness"]]})
    qc = pd.DataFrame({"report_id": ["a", "a", "b", "c"], "report_year": pd.array([2022] * 4, dtype="Int64"),
                       "check": ["applications_balance", "review_total", "applications_balance",
                                 "applications.completeness"],
                       "status": ["fail", "fail", "fail", "warn"],
                       "attribution": ["publisher", "publisher", "parser", "publisher"]})
    nums = summary_numbers({"reports": rep, "quality_checks": qc, "quarantine": empty_frame("quarantine"),
                            "applications": empty_frame("applications")})
    # b fails once, by the parser: before a, which fails twice on the publisher's own numbers
    assert [w["report_id"] for w in nums["worst_reports"]] == ["b", "a", "c"]
    assert [w["n_parser"] for w in nums["worst_reports"]] == [1, 0, 0]
    by = {c["check"]: c for c in nums["most_failed_checks"]}
    assert (by["applications_balance"]["fail"], by["applications_balance"]["parser"]) == (2, 1)

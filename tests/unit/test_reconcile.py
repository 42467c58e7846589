"""transforms/checks/reconcile.py: identities 1–4 and 6, per-report checks and verdicts (pure pandas, no GX)."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from synthetic.frames import forward_carry, make_frames
from transforms import schema
from transforms.formats import FORMATS
from transforms.checks.catalogue import check_names, cross_year_check_names, hierarchy_catalog
from transforms.checks.prepared import prepare
from transforms.checks.quarantine import quarantine_frame
from transforms.checks.reconcile import reconcile
from transforms.checks.rules import quality_checks
from transforms.checks.verdicts import verdicts
from transforms.parse.values import NIL_TOKENS

from paths import SEEDS as RAW
SEEDS = sorted(RAW.glob("*.txt"))


@pytest.fixture(scope="module")
def seed_frames():
    from transforms.engine import parse_report
    from transforms.tidy import to_frames
    return to_frames([parse_report(p.read_bytes(), str(p)) for p in SEEDS])


def _affected(fmt_name: str, table: str, row: str, col: str) -> set[tuple[str, str]]:
    """(identity id, instance key) of every identity instance of the format that reads the cell."""
    fmt, out = FORMATS[fmt_name], set()
    for i in fmt.identities:
        if i.table != table:
            continue
        t = fmt.tables[table]
        if i.for_each == "column" and col in t.column_paths and row in i.lhs + i.rhs:
            out.add((i.id, col))
        if i.for_each == "row" and row in t.row_paths and col in i.lhs + i.rhs:
            out.add((i.id, row))
    return out


def _change(frames, rid, table, row, col, delta=1.0):
    df = frames[table].copy()
    m = (df["report_id"] == rid) & (df["row_path"] == row) & (df["column_path"] == col)
    assert m.sum() == 1
    df.loc[m, "value"] = df.loc[m, "value"] + delta
    return {**frames, table: df}


def test_synthetic_reports_hold_every_identity():
    fr = make_frames(6)
    rec = reconcile(fr)
    assert len(rec) and (rec["status"] == "holds").all()
    # one row per report × identity × instance, for every identity of the report's format
    expected = 0
    for fname, n in fr["reports"]["template"].value_counts().items():
        f = FORMATS[fname]
        expected += n * sum(len(f.tables[i.table].column_paths if i.for_each == "column" else f.tables[i.table].row_paths)
                            for i in f.identities)
    assert len(rec) == expected
    qc = quality_checks(fr, rec)
    assert (qc["status"] == "pass").all()
    assert set(verdicts(fr["reports"], qc)["verdict"]) == {"pass"}
    assert list(qc.columns) == schema.column_names("quality_checks")
    assert set(qc["check"]) <= set(check_names())


def test_seeds_pass_every_check_their_numbers_satisfy(seed_frames):
    rec = reconcile(seed_frames)
    evaluable = rec[rec["status"] != "not_evaluable"]
    assert len(evaluable) > 100
    assert (evaluable["status"] == "holds").all(), evaluable[evaluable["status"] != "holds"]
    qc = quality_checks(seed_frames, rec)
    assert not (qc["status"] == "fail").any(), qc[qc["status"] == "fail"][["source_file", "check", "observed"]]
    v = verdicts(seed_frames["reports"], qc)
    assert set(v["verdict"]) <= {"pass", "warn"}
    # a warn names its checks; a pass names none
    assert all((len(fc) > 0) == (vd != "pass") for vd, fc in zip(v["verdict"], v["failed_checks"]))


@pytest.mark.parametrize("table,row,col", [
    ("applications", "三、本年度办理结果 > （一）予以公开", "申请人情况 > 自然人"),
    ("applications", "一、本年新收政府信息公开申请数量", "申请人情况 > 法人或其他组织 > 商业企业"),
    ("applications", "四、结转下年度继续办理", "申请人情况 > 总计"),
    ("applications", "三、本年度办理结果 > （七）总计", "申请人情况 > 自然人"),
    ("review_litigation", "", "行政诉讼 > 复议后起诉 > 结果纠正"),
    ("active_disclosure", "第二十条第（一）项 > 规章", None),
])
def test_one_changed_number_fails_exactly_the_identities_it_enters(seed_frames, table, row, col):
    base = reconcile(seed_frames)
    rep = seed_frames["reports"]
    # a seed whose identities are all evaluable
    good = [r for r in rep["report_id"] if (base[base["report_id"] == r]["status"] == "holds").all()]
    rid = good[0]
    fmt = rep.loc[rep["report_id"] == rid, "template"].iloc[0]
    if col is None:
        col = FORMATS[fmt].tables[table].column_paths[0]
    changed = _change(seed_frames, rid, table, row, col)
    rec = reconcile(changed)
    broken = rec[rec["status"] == "broken"]
    assert set(broken["report_id"]) <= {rid}
    assert set(zip(broken["check"].astype(str), broken["key"].astype(str))) == _affected(fmt, table, row, col)
    cell = f"{row} | {col}" if row else col
    assert all(cell in c for c in broken["cells"].astype(str))
    qc = quality_checks(changed, rec)
    failed = qc[qc["status"] == "fail"]
    assert set(failed["report_id"]) <= {rid}
    identities = {i for i, _ in _affected(fmt, table, row, col)}
    # a part raised by one may pass its total (seeds print zeros): the hierarchy check fails with it
    assert set(failed["check"]) - set(hierarchy_catalog()) == identities
    assert all(cell in cells for cells in failed["cells"])
    assert set(failed["attribution"]) <= {"publisher"}      # the seeds' cells changed here carry no flag
    v = verdicts(changed["reports"], qc).set_index("report_id")
    assert v.loc[rid, "verdict"] == ("fail" if len(failed) else v.loc[rid, "verdict"])


def test_blank_cell_is_not_evaluable_not_a_mismatch():
    fr = make_frames(2, formats=("2021",))
    app = fr["applications"].copy()
    rid = app["report_id"].iloc[0]
    m = (app["report_id"] == rid) & (app["row_path"] == "三、本年度办理结果 > （七）总计") & \
        (app["column_path"] == "申请人情况 > 自然人")
    app.loc[m, ["value", "raw_value"]] = [np.nan, None]
    fr = {**fr, "applications": app}
    rec = reconcile(fr)
    assert not (rec["status"] == "broken").any()
    ne = rec[rec["status"] == "not_evaluable"]
    assert set(ne["check"].astype(str)) == {"applications_balance", "applications_row_total", "applications_outcome_total"}
    assert ne["holds"].isna().all() and ne["lhs"].isna().all()
    v = verdicts(fr["reports"], quality_checks(fr, rec)).set_index("report_id")
    assert v.loc[rid, "verdict"] == "warn"


def test_hybrid_uses_the_format_its_addresses_carry():
    fr = make_frames(2, formats=("2021", "2019"))
    for t in ("reports", *schema.STATUTORY_TABLES):
        fr[t] = fr[t].assign(template=pd.Series(["hybrid"] * len(fr[t]), dtype="str"))
    rec = reconcile(fr)
    assert (rec["status"] == "holds").all()
    fmts = rec[rec["check"] == "applications_outcome_total"].groupby("report_id", observed=True)["format"].first()
    by_rep = fr["applications"].groupby("report_id")["row_path"].apply(
        lambda s: "2021" if (s == "三、本年度办理结果 > （六）其他处理 > 3.其他").any() else "2019")
    assert {str(k): str(v) for k, v in fmts.items()} == by_rep.to_dict()
    qc = quality_checks(fr, rec)
    assert not (qc["status"] == "fail").any()


def test_per_report_gate_has_no_cross_year_rows():
    """Checks across years need the whole dataset: the run-level pass (transforms/checks/crossyear.py) makes
    them, never a batch, whatever reports the batch holds."""
    y1 = make_frames(3, year=2021, formats=("2021",), seed=1)
    ok = make_frames(3, year=2022, formats=("2021",), seed=2, carry_in=forward_carry(y1))
    both = {k: pd.concat([y1[k], ok[k]], ignore_index=True) for k in y1}
    xnames = set(cross_year_check_names())
    assert xnames == {"carryover_across_years", "items_roll_forward", "in_force_roll_forward",
                      "consolidated_applications_sum", "consolidated_review_litigation_sum"}
    assert not reconcile(both)["check"].isin(xnames).any()
    assert not quality_checks(both)["check"].isin(xnames).any()
    # cross-year checks come last in a report's rows (the pass appends them)
    names = check_names()
    assert names[-len(xnames):] == cross_year_check_names()


def test_structural_rules_signs_parsing_completeness():
    fr = make_frames(3, formats=("2019",))
    ad, app = fr["active_disclosure"].copy(), fr["applications"].copy()
    r0, r1, r2 = fr["reports"]["report_id"]
    # a negative 本年增/减 is fine, a negative count is not
    ad.loc[(ad["report_id"] == r0) & (ad["column_path"] == "本年增/减"), "value"] = -2.0
    app.loc[(app["report_id"] == r0) & (app["row_path"] == "四、结转下年度继续办理"), "value"] *= -1
    # printed but not parsed, unflagged → fail; flagged → fine
    m = (app["report_id"] == r1) & (app["row_path"] == "二、上年结转政府信息公开申请数量")
    app.loc[m, "value"] = np.nan
    app.loc[m, "raw_value"] = "三"
    first = app.index[m][0]
    app.at[first, "flags"] = ["nonnumeric"]
    # a "complete" table with a missing cell → fail
    app = app.drop(app.index[(app["report_id"] == r2) & (app["row_path"] == "四、结转下年度继续办理")][:1])
    fr = {**fr, "active_disclosure": ad, "applications": app}
    qc = quality_checks(fr).set_index(["report_id", "check"])
    assert qc.loc[(r0, "active_disclosure.nonnegative_counts"), "status"] == "pass"
    assert qc.loc[(r0, "applications.nonnegative_counts"), "status"] == "fail"
    assert qc.loc[(r1, "applications.raw_value_parsed"), "status"] == "fail"
    assert qc.loc[(r1, "applications.raw_value_parsed"), "n_failed"] == len(m[m]) - 1
    assert qc.loc[(r2, "applications.completeness"), "status"] == "fail"
    assert "四、结转下年度继续办理" in qc.loc[(r2, "applications.completeness"), "observed"]
    # an incomplete table is a warning
    rep = fr["reports"].copy()
    rep.loc[rep["report_id"] == r2, "applications_status"] = "incomplete"
    qc2 = quality_checks({**fr, "reports": rep}).set_index(["report_id", "check"])
    assert qc2.loc[(r2, "applications.completeness"), "status"] == "warn"


def test_quarantine_frame():
    reps = make_frames(1)["reports"]
    bad = reps.copy()
    data = b""
    bad["report_id"] = bad["sha256"] = hashlib.sha256(data).hexdigest()
    bad["status"], bad["file_size"] = "unreadable", 0
    bad["problems"] = [["x.txt: empty file"]]
    q = quarantine_frame(pd.concat([reps, bad], ignore_index=True))
    assert len(q) == 1 and q["reason_code"].iloc[0] == "empty"
    assert list(q.columns) == schema.column_names("quarantine")
    assert q["sha256"].iloc[0] == hashlib.sha256(b"").hexdigest()


def test_prepared_matches_unprepared():
    fr = make_frames(4)
    a = reconcile(fr)
    b = reconcile(fr, prepared=prepare(fr))
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("token", sorted(NIL_TOKENS) + ["", " 无 ", "\u00a0", "\u3000"])
def test_every_no_value_token_passes_the_gate(token):
    """One list: a token the value parser reads as no value is not 'printed but not parsed'."""
    fr = make_frames(1, formats=("2019",))
    app = fr["applications"].copy()
    rid = fr["reports"]["report_id"].iloc[0]
    m = (app["report_id"] == rid) & (app["row_path"] == "二、上年结转政府信息公开申请数量")
    app.loc[m, "value"] = np.nan
    app.loc[m, "raw_value"] = token
    qc = quality_checks({**fr, "applications": app}).set_index(["report_id", "check"])
    assert qc.loc[(rid, "applications.raw_value_parsed"), "status"] == "pass"
    assert qc.loc[(rid, "applications.raw_value_parsed"), "n_evaluated"] == int((app["report_id"] == rid).sum() - m.sum())


def test_printed_text_that_is_not_a_no_value_token_still_fails():
    fr = make_frames(1, formats=("2019",))
    app = fr["applications"].copy()
    rid = fr["reports"]["report_id"].iloc[0]
    m = (app["report_id"] == rid) & (app["row_path"] == "二、上年结转政府信息公开申请数量")
    app.loc[m, "value"] = np.nan
    app.loc[m, "raw_value"] = "无效"
    qc = quality_checks({**fr, "applications": app}).set_index(["report_id", "check"])
    assert qc.loc[(rid, "applications.raw_value_parsed"), "status"] == "fail"


def _with_cell(fr, table, row, col, value, flags=None, unit=None):
    df = fr[table].copy()
    rid = fr["reports"]["report_id"].iloc[0]
    m = (df["report_id"] == rid) & (df["row_path"] == row) & (df["column_path"] == col)
    assert m.sum() == 1
    i = df.index[m][0]
    df.at[i, "value"] = value
    if flags is not None:
        df.at[i, "flags"] = flags
    if unit is not None:
        df.at[i, "unit"] = unit
    return rid, {**fr, table: df}


@pytest.mark.parametrize("value,flags,unit,status", [
    (np.nan, ["implausible_value"], None, "fail"),      # an integer over 2^53, published null
    (5e8, ["implausible_value"], None, "fail"),
    (1e30, [], None, "fail"),                          # over the count bound, even without the flag
    (5e7, [], None, "pass"),
])
def test_implausible_values_fail_the_report(value, flags, unit, status):
    fr = make_frames(1, formats=("2019",))
    rid, fr = _with_cell(fr, "active_disclosure", "第二十条第（九）项 > 政府集中采购", "采购项目数量", value, flags, unit)
    qc = quality_checks(fr)
    row = qc.set_index(["report_id", "check"]).loc[(rid, "active_disclosure.plausible_values")]
    assert row["status"] == status
    rep = verdicts(fr["reports"], qc)
    verdict = rep.loc[rep["report_id"] == rid, "verdict"].iloc[0]
    assert (verdict == "fail") == (status == "fail")
    if status == "fail":
        assert "采购项目数量" in row["observed"]


@pytest.mark.parametrize("value,unit,status", [(9e12, "元", "pass"), (2e13, "元", "fail"), (9e8, "万元", "pass"),
                                               (2e9, "万元", "fail"), (2e13, None, "fail")])
def test_amount_bounds_follow_the_unit(value, unit, status):
    fr = make_frames(1, formats=("2019",))
    rid, fr = _with_cell(fr, "active_disclosure", "第二十条第（九）项 > 政府集中采购", "采购总金额", value, unit=unit)
    qc = quality_checks(fr).set_index(["report_id", "check"])
    assert qc.loc[(rid, "active_disclosure.plausible_values"), "status"] == status


def _as_ocr(fr, rids):
    rep = fr["reports"].copy()
    rep.loc[rep["report_id"].isin(rids), "layout"] = "pdf_ocr"
    return {**fr, "reports": rep}


def test_an_ocr_report_passes_only_when_every_identity_holds():
    fr = make_frames(3)
    rids = list(fr["reports"]["report_id"])
    fr = _as_ocr(fr, rids[:2])
    qc = quality_checks(fr)
    assert (qc["status"] == "pass").all()
    v = verdicts(fr["reports"], qc).set_index("report_id")
    # every identity evaluated and holding: the OCR'd reports pass like the others
    assert set(v["verdict"]) == {"pass"}
    # a blank 总计 makes an identity not evaluable: a text report warns already, an OCR'd one never passes
    cells = fr["applications"].copy()
    blank = (cells["report_id"] == rids[0]) & (cells["row_path"] == "三、本年度办理结果 > （七）总计")
    cells.loc[blank, "value"] = np.nan
    cells.loc[blank, "raw_value"] = ""
    fr2 = {**fr, "applications": cells}
    v = verdicts(fr2["reports"], quality_checks(fr2)).set_index("report_id")
    assert v.loc[rids[0], "verdict"] == "warn"
    assert v.loc[rids[1], "verdict"] == "pass" and v.loc[rids[2], "verdict"] == "pass"


def test_an_ocr_report_whose_identities_were_never_checked_does_not_pass():
    fr = make_frames(2)
    rids = list(fr["reports"]["report_id"])
    fr = _as_ocr(fr, rids)
    qc = quality_checks(fr)
    # without its identity rows (a table 四 alone, a format not decided) nothing shows the numbers add up
    no_identities = qc[~qc["check"].isin({i.id for f in FORMATS.values() for i in f.identities})]
    v = verdicts(fr["reports"], no_identities).set_index("report_id")
    assert set(v["verdict"]) == {"warn"}
    assert all(fc == ["ocr_identities"] for fc in v["failed_checks"])
    # a text report with the same rows still passes: the rule is for OCR only
    plain = fr["reports"].assign(layout="pipe")
    assert set(verdicts(plain, no_identities)["verdict"]) == {"pass"}


def test_cross_year_folding_keeps_the_ocr_rule():
    from transforms.checks import crossyear as cy
    rep = pd.DataFrame({"report_id": ["a", "b"], "verdict": ["warn", "pass"],
                        "failed_checks": [["ocr_identities"], []]})
    empty = pd.DataFrame({"report_id": pd.Series(dtype=object), "check": pd.Series(dtype=object),
                          "status": pd.Series(dtype=object)})
    cross = pd.DataFrame({"report_id": ["a", "b"], "check": [cross_year_check_names()[0]] * 2,
                          "status": ["pass", "pass"]})
    patch = cy.fold_verdicts(rep, empty, cross)
    assert patch.empty, patch   # nothing the cross-year rows change: the OCR warn stays

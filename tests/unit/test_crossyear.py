"""transforms/checks/crossyear.py: the run-level cross-report pass on small frames (pure pandas, no GX)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from synthetic.frames import forward_carry, make_frames
from transforms.checks import crossyear as cy
from transforms.formats import FORMATS, FormatError, _check_cross_year
from transforms.checks.rules import quality_checks
from transforms.checks.verdicts import verdicts

XNAMES = ("carryover_across_years", "in_force_roll_forward", "items_roll_forward")
ORGS = ["甲市财政局", "乙县民政局"]


def _roll_forward(prev: dict, cur: dict) -> dict:
    """cur with its table 二 rolled forward from prev wherever a cross-year check applies."""
    ad = cur["active_disclosure"].copy()
    key = ["organization", "row_path", "column_path"]
    last = prev["active_disclosure"].set_index(key)["value"]
    here = ad.set_index(key)["value"]
    for fname in sorted(set(cur["reports"]["template"])):
        fmt = FORMATS[fname]
        for pname in sorted(set(prev["reports"]["template"])):
            for c in fmt.cross_year:
                if c.table != "active_disclosure":
                    continue
                for _k, lhs, plus, minus, before in c.instances(fmt, FORMATS[pname]):
                    for org in cur["reports"]["organization"]:
                        try:
                            v = (sum(last[(org, *a)] for a in before) + sum(here[(org, *a)] for a in plus)
                                 - sum(here[(org, *a)] for a in minus))
                        except KeyError:
                            continue
                        m = (ad["organization"] == org) & (ad["row_path"] == lhs[0][0]) & (ad["column_path"] == lhs[0][1])
                        ad.loc[m, "value"] = v
                        ad.loc[m, "raw_value"] = str(int(v))
    return {**cur, "active_disclosure": ad}


def _series(formats_by_year: dict[int, str], seed: int = 0) -> dict:
    """Frames of ORGS over consecutive years, carry-over and roll-forward consistent."""
    out, prev = [], None
    for i, (year, fname) in enumerate(sorted(formats_by_year.items())):
        fr = make_frames(len(ORGS), year=year, formats=(fname,), seed=seed + i, organizations=ORGS,
                         carry_in=forward_carry(prev) if prev else None)
        if prev is not None:
            fr = _roll_forward(prev, fr)
        out.append(fr)
        prev = fr
    return {k: pd.concat([f[k] for f in out], ignore_index=True) for k in out[0]}


def _run(frames: dict, owners=None):
    qc = quality_checks(frames)
    fm = qc[qc["check"].str.endswith(".completeness")]
    fm = fm.assign(table=fm["check"].str.split(".").str[0])[["report_id", "table", "format"]]
    recon = cy.evaluate(frames["reports"], fm, frames, owners)
    return qc, recon, cy.checks(recon, frames["reports"])


def _id(frames, org, year):
    r = frames["reports"]
    return r.loc[(r["organization"] == org) & (r["report_year"] == year), "report_id"].item()


def _set(frames, table, rid, row, col, value):
    df = frames[table].copy()
    m = (df["report_id"] == rid) & (df["row_path"] == row) & (df["column_path"] == col)
    assert m.sum() == 1
    df.loc[m, "value"] = value
    df.loc[m, "raw_value"] = "" if value is None or value != value else str(int(value))
    return {**frames, table: df}


def test_consistent_series_holds_every_cross_year_check_in_both_formats_and_across_the_change():
    fr = _series({2019: "2019", 2020: "2019", 2021: "2021", 2022: "2021"})
    _, recon, xqc = _run(fr)
    assert len(recon) and (recon["status"] == "holds").all()
    got = xqc.groupby(["report_year", "check"], observed=True).size().to_dict()
    # 2019 → 2020: carry-over (7 columns) and the items roll-forward; 2020 → 2021 (format change):
    # the carry-over only (no corresponding table 二 quantity); 2021 → 2022: carry-over and in-force stock
    assert got == {(2020, "carryover_across_years"): 2, (2020, "items_roll_forward"): 2,
                   (2021, "carryover_across_years"): 2,
                   (2022, "carryover_across_years"): 2, (2022, "in_force_roll_forward"): 2}
    per = recon.groupby(["report_year", "check"], observed=True).size().to_dict()
    assert per[(2020, "items_roll_forward")] == 2 * 5          # rows of 第二十条第（五）（六）（八）项
    assert per[(2022, "in_force_roll_forward")] == 2 * 2       # 规章, 行政规范性文件
    assert per[(2021, "carryover_across_years")] == 2 * 7
    assert (xqc["status"] == "pass").all()
    # the row belongs to the later report and names the earlier one
    row = xqc[(xqc["report_year"] == 2022) & (xqc["organization"] == ORGS[0])
              & (xqc["check"] == "in_force_roll_forward")].iloc[0]
    assert row["report_id"] == _id(fr, ORGS[0], 2022) and row["related_report_id"] == _id(fr, ORGS[0], 2021)
    assert row["identity_number"] == 7 and row["format"] == "2021" and row["table"] == "active_disclosure"


def test_broken_carry_over_and_roll_forward_fail_with_the_numbers():
    fr = _series({2021: "2021", 2022: "2021"})
    r22 = _id(fr, ORGS[1], 2022)
    fr = _set(fr, "applications", r22, "二、上年结转政府信息公开申请数量", "申请人情况 > 自然人", 99.0)
    fr = _set(fr, "active_disclosure", r22, "第二十条第（一）项 > 行政规范性文件", "现行有效件数", 1000.0)
    _, recon, xqc = _run(fr)
    bad = xqc[xqc["status"] == "fail"]
    assert set(zip(bad["report_id"], bad["check"])) == {(r22, "carryover_across_years"), (r22, "in_force_roll_forward")}
    obs = bad.set_index("check")["observed"]
    assert "lhs 1000 ≠ rhs" in obs["in_force_roll_forward"] and "减 本年" in obs["in_force_roll_forward"]
    assert "申请人情况 > 自然人: lhs 99 ≠ rhs" in obs["carryover_across_years"]
    broken = recon[recon["status"] == "broken"]
    assert broken["failure"].notna().all()
    # the roll-forward equation: 1000 = last year's stock + issued − repealed
    b = broken[broken["check"] == "in_force_roll_forward"].iloc[0]
    ad = fr["active_disclosure"].set_index(["report_id", "row_path", "column_path"])["value"]
    row = "第二十条第（一）项 > 行政规范性文件"
    assert b["rhs"] == (ad[(_id(fr, ORGS[1], 2021), row, "现行有效件数")] + ad[(r22, row, "本年制发件数")]
                        - ad[(r22, row, "本年废止件数")])
    assert b["lhs"] == 1000


def test_blank_cell_is_not_evaluable_and_warns():
    fr = _series({2019: "2019", 2020: "2019"})
    r19 = _id(fr, ORGS[0], 2019)
    fr = _set(fr, "active_disclosure", r19, "第二十条第（八）项 > 行政事业性收费", "本年增/减", np.nan)
    _, recon, xqc = _run(fr)
    st = xqc.set_index(["report_id", "check"])["status"]
    assert st[(_id(fr, ORGS[0], 2020), "items_roll_forward")] == "warn"
    assert st[(_id(fr, ORGS[1], 2020), "items_roll_forward")] == "pass"
    assert (recon["status"] != "broken").all()


def test_pairing_key_ignores_spaces_and_skips_missing_names_or_years():
    """Without an organization_id (no division known, or data published before it existed) the
    printed name pairs, spaces ignored."""
    fr = _series({2021: "2021", 2022: "2021"})
    rep = fr["reports"].drop(columns=["organization_id"], errors="ignore").copy()
    rep.loc[rep["report_year"] == 2022, "organization"] = rep.loc[rep["report_year"] == 2022, "organization"].map(
        lambda s: f" {s[:2]}\u3000{s[2:]} ")
    assert len(cy.pairs(rep)) == 2
    rep.loc[rep["organization"].str.contains("乙"), "organization"] = None
    p = cy.pairs(rep)
    assert len(p) == 1 and p.loc[0, "cur_id"] == _id(fr, ORGS[0], 2022)
    rep.loc[rep["report_id"] == _id(fr, ORGS[0], 2021), "report_year"] = pd.NA
    assert len(cy.pairs(rep)) == 0


def test_organization_id_pairs_a_body_printed_under_two_names():
    fr = _series({2021: "2021", 2022: "2021"})
    rep = fr["reports"].copy()
    rep["organization_id"] = rep["organization"].map({o: f"id-{i}" for i, o in enumerate(ORGS)})
    rep.loc[rep["report_year"] == 2022, "organization"] = "某市" + rep.loc[rep["report_year"] == 2022, "organization"]
    assert len(cy.pairs(rep)) == 2                        # the ids pair them although the names differ
    rep.loc[rep["report_year"] == 2022, "organization_id"] = None
    assert len(cy.pairs(rep)) == 0                        # a name never pairs with an id


def test_affected_owners_are_the_changed_body_years_and_the_year_after():
    fr = _series({2020: "2019", 2021: "2021", 2022: "2021"})
    rep = fr["reports"]
    changed = rep[rep["report_id"] == _id(fr, ORGS[0], 2021)]
    assert cy.affected_owners(rep, changed) == {_id(fr, ORGS[0], 2021), _id(fr, ORGS[0], 2022)}
    # a removed report (not in the dataset any more) still re-checks its successor
    rest = rep[rep["report_id"] != _id(fr, ORGS[1], 2020)]
    gone = rep[rep["report_id"] == _id(fr, ORGS[1], 2020)]
    assert cy.affected_owners(rest, gone) == {_id(fr, ORGS[1], 2021)}


def test_rows_of_a_report_do_not_depend_on_which_other_reports_are_rechecked():
    """An incremental run re-checks a few owners, validate all of them: same rows for each."""
    fr = _series({2019: "2019", 2020: "2019", 2021: "2021", 2022: "2021"}, seed=3)
    fr = _set(fr, "applications", _id(fr, ORGS[0], 2021), "二、上年结转政府信息公开申请数量",
              "申请人情况 > 总计", 77.0)
    _, _, full = _run(fr)
    owners = {_id(fr, ORGS[0], 2021), _id(fr, ORGS[1], 2022)}
    _, _, some = _run(fr, owners)
    assert set(some["report_id"]) == owners
    pd.testing.assert_frame_equal(full[full["report_id"].isin(owners)].reset_index(drop=True), some)
    # nor on the order of the rows the pass reads
    shuffled = {k: v.sample(frac=1.0, random_state=1).reset_index(drop=True) for k, v in fr.items()}
    _, _, again = _run(shuffled)
    pd.testing.assert_frame_equal(full, again)


def test_several_reports_of_one_body_and_year_are_each_paired():
    fr = _series({2021: "2021", 2022: "2021"})
    dup = {k: v[v["report_year"] == 2021].assign(report_id=lambda d: d["report_id"].str[::-1]) for k, v in fr.items()}
    both = {k: pd.concat([fr[k], dup[k]], ignore_index=True) for k in fr}
    _, recon, xqc = _run(both)
    assert len(cy.pairs(both["reports"])) == 4
    assert xqc.groupby(["report_id", "check"]).size().max() == 1        # one row per report × check
    assert recon.duplicated(["report_id", "check", "key", "related_report_id"]).sum() == 0
    assert (xqc["related_report_id"] == xqc.groupby("report_id")["related_report_id"].transform("min")).all()


def test_fold_verdicts_orders_failed_checks_and_clears_old_failures():
    fr = _series({2021: "2021", 2022: "2021"})
    r22 = _id(fr, ORGS[0], 2022)
    fr = _set(fr, "applications", r22, "二、上年结转政府信息公开申请数量", "申请人情况 > 自然人", 55.0)
    qc, _, xqc = _run(fr)
    rep = verdicts(fr["reports"], qc)
    # a per-report warning and the cross-year failure: fail first, then warn
    other = pd.DataFrame({"report_id": [r22], "check": ["applications.flagged_cells"], "status": ["warn"]})
    rep.loc[rep["report_id"] == r22, "verdict"] = "warn"
    rep.loc[rep["report_id"] == r22, "failed_checks"] = pd.Series([["applications.flagged_cells"]],
                                                                  index=rep.index[rep["report_id"] == r22])
    patch = cy.fold_verdicts(rep, other, xqc)
    assert list(patch["report_id"]) == [r22]
    assert patch.loc[0, "verdict"] == "fail"
    assert list(patch.loc[0, "failed_checks"]) == ["carryover_across_years", "applications.flagged_cells"]
    # the published row already says so: nothing to change
    done = rep.copy()
    done.loc[done["report_id"] == r22, "verdict"] = "fail"
    done.loc[done["report_id"] == r22, "failed_checks"] = pd.Series(
        [["carryover_across_years", "applications.flagged_cells"]], index=done.index[done["report_id"] == r22])
    assert len(cy.fold_verdicts(done, other, xqc)) == 0
    # an old cross-year failure that now holds goes back to the per-report verdict
    holds = xqc.assign(status="pass")
    back = cy.fold_verdicts(done, pd.concat([other, pd.DataFrame({"report_id": [r22], "check": [
        "carryover_across_years"], "status": ["fail"]})]), holds)
    assert back.loc[0, "verdict"] == "warn" and list(back.loc[0, "failed_checks"]) == ["applications.flagged_cells"]


def test_pass_reads_only_the_declared_addresses():
    rows, cols = cy.addresses("applications")
    assert rows == {"二、上年结转政府信息公开申请数量", "四、结转下年度继续办理"}
    assert len(cols) == 7
    rows, cols = cy.addresses("active_disclosure")
    assert cols == {"现行有效件数", "本年制发件数", "本年废止件数", "上一年项目数量", "本年增/减"}
    assert cy.tables() == ["active_disclosure", "applications"]


def test_format_files_refuse_unknown_cross_year_correspondences():
    fmt = FORMATS["2021"]
    check = next(c for c in fmt.cross_year if c.id == "in_force_roll_forward")
    bad_format = dataclasses.replace(fmt, cross_year=(dataclasses.replace(check, previous={"1999": ("现行有效件数",)}),))
    with pytest.raises(FormatError, match="unknown format"):
        _check_cross_year({**FORMATS, "2021": bad_format})
    no_cells = dataclasses.replace(fmt, cross_year=(dataclasses.replace(check, previous={"2019": ("现行有效件数",)}),))
    with pytest.raises(FormatError, match="no instance"):
        _check_cross_year({**FORMATS, "2021": no_cells})

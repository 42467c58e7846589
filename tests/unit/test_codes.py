"""Codes and totals as data, and the per-report summary.

The `codes` dataset and the cells' is_total / parent_code / level come from the format files' trees;
report_summary from their `summary:` declarations. Checked against the format files themselves, a
third format file (no code change), the real reports under tests/fixtures/realworld (their
hand-checked answer keys) and the embedded sample (integration/test_codes_sample.py)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transforms import schema
from transforms.codes import code_rows, codes_frame, render_crosswalk
from transforms.engine import parse_report
from transforms.formats import FORMATS, SEP, FormatError, load_formats
from transforms.summary import summary_frame
from transforms.tidy import to_frames

from paths import ROOT
REAL = ROOT / "tests" / "fixtures" / "realworld"
REAL_FILES = sorted((REAL / "raw").iterdir())
KEYS = sorted((REAL / "expected").glob("*.json"))
OUTCOMES = "三、本年度办理结果"
TOTAL_COLUMN = "申请人情况 > 总计"


def _parsed(paths):
    return [parse_report(p.read_bytes(), p.name) for p in paths]


@pytest.fixture(scope="module")
def real_frames():
    return to_frames(_parsed(REAL_FILES))


# ------------------------------------------------------------------ codes from the format files
def test_every_address_of_every_format_has_its_code_row():
    codes = codes_frame()
    assert list(codes.columns) == schema.column_names("codes")
    key = set(zip(codes["format"], codes["table"], codes["axis"], codes["path"]))
    assert len(key) == len(codes)                                     # one row per node
    for fname, fmt in FORMATS.items():
        for table in fmt.tables:
            leaves = {(r, c) for r, c in fmt.cell_addresses(table)}
            for r, c in leaves:
                assert r == "" or (fname, table, "row", r) in key, (fname, r)
                assert (fname, table, "column", c) in key, (fname, c)
            mine = codes[(codes["format"] == fname) & (codes["table"] == table)]
            data_rows = {r for r, _ in leaves} - {""}
            data_cols = {c for _, c in leaves}
            is_leaf = dict(zip(zip(mine["axis"], mine["path"]), mine["is_leaf"]))
            assert {p for (a, p), leaf in is_leaf.items() if a == "row" and leaf} == data_rows
            assert {p for (a, p), leaf in is_leaf.items() if a == "column" and leaf} == data_cols
            # a group node is a prefix of its leaves' paths; a parent is a node of the same tree
            for row in mine.itertuples():
                if not row.is_leaf:
                    assert any(p.startswith(row.path + SEP) for (a, p) in is_leaf if a == row.axis)
                if row.parent_code:
                    assert row.parent_code in set(mine["code"])
                assert row.code_path.split(SEP)[-1] == row.code and len(row.code_path.split(SEP)) == row.level
                assert row.parent_code == (row.code_path.split(SEP)[-2] if row.level > 1 else "")


def test_totals_and_harmonised_codes_are_those_the_format_files_declare():
    codes = codes_frame()
    for fname in FORMATS:
        tot = codes[(codes["format"] == fname) & codes["is_total"].astype(bool)]
        assert sorted(zip(tot["table"], tot["path"])) == sorted([
            ("applications", "三、本年度办理结果 > （七）总计"), ("applications", TOTAL_COLUMN),
            ("review_litigation", "行政复议 > 总计"), ("review_litigation", "行政诉讼 > 未经复议直接起诉 > 总计"),
            ("review_litigation", "行政诉讼 > 复议后起诉 > 总计")])
    other = codes[(codes["table"] == "applications") & (codes["harmonised_code"] == "other_handling")]
    by_format = {f: sorted(g.loc[g["is_leaf"].astype(bool), "path"]) for f, g in other.groupby("format")}
    assert by_format["2019"] == [f"{OUTCOMES} > （六）其他处理"]
    assert by_format["2021"] == [f"{OUTCOMES} > （六）其他处理 > {x}" for x in (
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", "3.其他")]


def test_a_path_means_the_same_in_every_format():
    """What the README's DISTINCT join relies on: a (table, axis, path) has one code, code_path,
    harmonised code and total flag whichever format prints it."""
    codes = codes_frame()
    per_path = codes.groupby(["table", "axis", "path"])[["code", "code_path", "harmonised_code", "is_total"]].nunique()
    assert (per_path == 1).all().all(), per_path[(per_path > 1).any(axis=1)]


def test_crosswalk_doc_is_current():
    doc = (ROOT / "docs" / "crosswalk.md").read_text(encoding="utf-8")
    assert doc == render_crosswalk(), "run: python -m transforms.codes"
    assert "`other_no_correction`" in doc and "`other_handling`" in doc


def _third_format(tmp: Path) -> Path:
    """A copy of the shipped formats plus a draft format 2099, written as its differences from 2021:
    （六） split in one more row, one more total row (and the identity that sums it)."""
    d = tmp / "formats"
    shutil.copytree(ROOT / "transforms" / "formats", d)
    (d / "2099.yaml").write_text("""format: "2099"
extends: "2021"
notice: draft
tables:
  applications:
    blocks:
      - code: applications
        rows:
          - code: outcomes
            children:
              - code: other_handling
                children:
                  - {code: other_other}
                  - {label: 4.网上申请未完成, code: other_online_unfinished, harmonised: other_handling}
          - {code: carried_forward_to_next_year}
          - {label: 五、合计, code: grand_total, total: true}
identities:
  - {id: applications_grand_total, number: 5, description: 五、合计 = 一至四之和, table: applications, sums: 五、合计}
summary:
  carried_forward: {table: applications, rows: [四、结转下年度继续办理], columns: [申请人情况 > 总计]}
""", encoding="utf-8")
    return d


def test_a_third_format_file_gives_its_codes_crosswalk_and_summary_with_no_code_change(tmp_path):
    formats = load_formats(_third_format(tmp_path))
    assert set(formats) == {"2019", "2021", "2099"}
    rows = [r for r in code_rows(formats) if r["format"] == "2099"]
    by_path = {(r["axis"], r["path"]): r for r in rows}
    new = by_path[("row", f"{OUTCOMES} > （六）其他处理 > 4.网上申请未完成")]
    assert (new["code"], new["harmonised_code"], new["parent_code"], new["level"]) == \
        ("other_online_unfinished", "other_handling", "other_handling", 3)
    assert by_path[("row", "五、合计")]["is_total"] is True
    assert len(rows) == len([r for r in code_rows(formats) if r["format"] == "2021"]) + 2
    assert "format 2099" in render_crosswalk(formats)
    # identities follow the tree: 3 takes the new row, the new total sums the rows beside it
    idents = {i.id: i for i in formats["2099"].identities}
    assert f"{OUTCOMES} > （六）其他处理 > 4.网上申请未完成" in idents["applications_outcome_total"].rhs
    grand = idents["applications_grand_total"]
    assert (grand.for_each, grand.lhs) == ("column", ("五、合计",))
    assert "四、结转下年度继续办理" in grand.rhs and f"{OUTCOMES} > （七）总计" not in grand.rhs
    # its summary: （六）其他处理 sums the four rows under it, totals left out
    table, addresses = formats["2099"].summary["other_handling"]
    assert table == "applications" and len(addresses) == 4
    assert all(r.startswith(f"{OUTCOMES} > （六）其他处理 > ") and c == TOTAL_COLUMN for r, c in addresses)
    # a report printed in 2099's rows gets its other_handling from them
    cells = pd.DataFrame({"report_id": "r", "row_path": [r for r, _ in addresses],
                          "column_path": TOTAL_COLUMN, "value": [1.0, 2.0, 3.0, 4.0]})
    rep = pd.DataFrame({f.name: [None] for f in schema.fields("reports")}).assign(report_id="r")
    out = summary_frame(rep, {"applications": cells}, formats)
    assert out["other_handling"].tolist() == [10.0]


def test_a_summary_declaration_naming_an_unknown_measure_or_path_is_refused(tmp_path):
    d = _third_format(tmp_path)
    p = d / "2099.yaml"
    good = p.read_text(encoding="utf-8")
    p.write_text(good.replace("  carried_forward: {", "  carried_away: {"), encoding="utf-8")
    with pytest.raises(FormatError, match="carried_away"):
        load_formats(d)
    p.write_text(good.replace("rows: [四、结转下年度继续办理]", "rows: [四、结转下年]"), encoding="utf-8")
    with pytest.raises(FormatError, match="neither a row nor a group"):
        load_formats(d)


# ------------------------------------------------------------------ is_total, parent_code, level on real reports
def test_cells_of_real_reports_carry_their_place_in_the_tree(real_frames):
    codes = codes_frame()
    for table in schema.STATUTORY_TABLES:
        cells = real_frames[table]
        assert len(cells) and cells["is_total"].notna().all() and cells["level"].notna().all()
        rows = codes[(codes["table"] == table) & (codes["axis"] == "row")].drop_duplicates("path").set_index("path")
        cols = codes[(codes["table"] == table) & (codes["axis"] == "column")].drop_duplicates("path").set_index("path")
        known = cells[~cells["flags"].map(lambda f: "extra_row" in f)]
        row_total = known["row_path"].isin(rows.index[rows["is_total"].astype(bool)])
        col_total = known["column_path"].isin(cols.index[cols["is_total"].astype(bool)])
        assert (known["is_total"].astype(bool) == (row_total | col_total)).all()
        node = np.where(known["row_path"] == "", known["column_path"], known["row_path"])
        nodes = rows if table != "review_litigation" else cols
        assert (known["parent_code"].astype(object).to_numpy() == nodes.loc[node, "parent_code"].to_numpy()).all()
        assert (known["level"].to_numpy() == nodes.loc[node, "level"].to_numpy()).all()
    hz = real_frames["applications"][real_frames["applications"]["source_file"] == "hangzhou_style_2025.html"]
    assert len(hz) == 175 and int(hz["is_total"].sum()) == 25 + 7 - 1       # （七）总计 row + 总计 column
    rl = real_frames["review_litigation"]
    assert set(rl.loc[rl["is_total"].astype(bool), "column_path"]) == {
        "行政复议 > 总计", "行政诉讼 > 未经复议直接起诉 > 总计", "行政诉讼 > 复议后起诉 > 总计"}
    assert not real_frames["active_disclosure"]["is_total"].any()


def _leaf_outcome_rows() -> dict[str, set[str]]:
    """Per format: the outcome rows (under 三、本年度办理结果) that are cells and not totals, from codes."""
    codes = codes_frame()
    sel = codes[(codes["table"] == "applications") & (codes["axis"] == "row") & codes["is_leaf"].astype(bool)
                & ~codes["is_total"].astype(bool) & codes["code_path"].str.startswith("outcomes > ")]
    return {f: set(g["path"]) for f, g in sel.groupby("format")}


def _leaf_sums_equal_the_total_where_identity_3_holds(frames) -> int:
    """Per report and applicant column where identity 3 holds, Σ leaf outcome rows = （七）总计.
    Returns the number of columns checked."""
    from transforms.checks.reconcile import reconcile
    recon = reconcile({"reports": frames["reports"], **{t: frames[t] for t in schema.STATUTORY_TABLES}})
    holds = recon[(recon["check"] == "applications_outcome_total") & recon["holds"].fillna(False).astype(bool)]
    apps = frames["applications"]
    leaves = set().union(*_leaf_outcome_rows().values())
    part = apps[apps["row_path"].isin(leaves)].groupby(["report_id", "column_path"])["value"].sum()
    total = apps[apps["row_path"] == f"{OUTCOMES} > （七）总计"].set_index(["report_id", "column_path"])["value"]
    checked = 0
    for rid, col in zip(holds["report_id"].astype(str), holds["key"].astype(str)):
        assert part[(rid, col)] == total[(rid, col)], (rid, col)
        checked += 1
    return checked


def test_leaf_outcome_rows_sum_to_the_total_on_real_reports(real_frames):
    assert _leaf_sums_equal_the_total_where_identity_3_holds(real_frames) == 7     # hangzhou's seven columns


def test_leaf_outcome_rows_sum_to_the_total_on_generated_reports_of_both_formats():
    from synthetic.generator import corpus
    parsed = [parse_report(text.encode(), f"g{i}.txt") for i, (text, _) in enumerate(corpus(60, seed=11))]
    frames = to_frames(parsed)
    assert set(frames["reports"]["template"].dropna()) >= {"2019", "2021"}
    assert _leaf_sums_equal_the_total_where_identity_3_holds(frames) > 100


# ------------------------------------------------------------------ report_summary on real reports
# Hand-written oracle, independent of the format files: measure → (row test, columns) on the key's cells.
_UNDER = lambda prefix: (lambda r: r.startswith(prefix + SEP))                   # noqa: E731
_IS = lambda path: (lambda r: r == path)                                        # noqa: E731
_LIT = ["行政诉讼 > 未经复议直接起诉 > {}", "行政诉讼 > 复议后起诉 > {}"]
ORACLE = {
    "new_applications": ("applications", _IS("一、本年新收政府信息公开申请数量"), [TOTAL_COLUMN]),
    "carried_over": ("applications", _IS("二、上年结转政府信息公开申请数量"), [TOTAL_COLUMN]),
    "granted": ("applications", _IS(f"{OUTCOMES} > （一）予以公开"), [TOTAL_COLUMN]),
    "withheld": ("applications", _UNDER(f"{OUTCOMES} > （三）不予公开"), [TOTAL_COLUMN]),
    "unavailable": ("applications", _UNDER(f"{OUTCOMES} > （四）无法提供"), [TOTAL_COLUMN]),
    "not_processed": ("applications", _UNDER(f"{OUTCOMES} > （五）不予处理"), [TOTAL_COLUMN]),
    "other_handling": ("applications", lambda r: r.startswith(f"{OUTCOMES} > （六）其他处理"), [TOTAL_COLUMN]),
    "total_handled": ("applications", _IS(f"{OUTCOMES} > （七）总计"), [TOTAL_COLUMN]),
    "carried_forward": ("applications", _IS("四、结转下年度继续办理"), [TOTAL_COLUMN]),
    "review_total": ("review_litigation", _IS(""), ["行政复议 > 总计"]),
    "review_upheld": ("review_litigation", _IS(""), ["行政复议 > 结果维持"]),
    "review_pending": ("review_litigation", _IS(""), ["行政复议 > 尚未审结"]),
    "litigation_total": ("review_litigation", _IS(""), [c.format("总计") for c in _LIT]),
    "litigation_corrected": ("review_litigation", _IS(""), [c.format("结果纠正") for c in _LIT]),
    "licensing_decisions": ("active_disclosure", _IS("第二十条第（五）项 > 行政许可"), ["处理决定数量", "本年处理决定数量"]),
    "penalty_decisions": ("active_disclosure", _IS("第二十条第（六）项 > 行政处罚"), ["处理决定数量", "本年处理决定数量"]),
    "fees_wan_yuan": ("active_disclosure", _IS("第二十条第（八）项 > 行政事业性收费"), ["本年收费金额（单位：万元）"]),
}


def _expected_from_key(key: dict, measure: str):
    """The measure from the answer key's cells, or None when the key does not hold all of them (a
    table cut off in the copy: then the summary must not invent it either, checked separately)."""
    table, row_ok, columns = ORACLE[measure]
    cells = [c for c in key["cells"] if c["table"] == table and row_ok(c["row"]) and c["column"] in columns]
    if not cells:
        return "absent"
    values = [c["value"] for c in cells]
    return None if any(v is None for v in values) else float(sum(values))


def test_summary_of_real_reports_equals_the_answer_keys(real_frames):
    rep = real_frames["reports"].assign(verdict="pass")
    summary = summary_frame(rep, real_frames).set_index("source_file")
    compared = 0
    for key_path in KEYS:
        key = json.loads(key_path.read_text(encoding="utf-8"))
        name = Path(key["source_file"]).name
        row = summary.loc[name]
        for measure in ORACLE:
            want = _expected_from_key(key, measure)
            if want == "absent":
                continue
            got = row[measure]
            assert (pd.isna(got) and want is None) or got == want, (name, measure, got, want)
            compared += 1
    assert compared >= 25
    hz = summary.loc["hangzhou_style_2025.html"]
    assert (hz["new_applications"], hz["granted"], hz["other_handling"], hz["total_handled"]) == (14069, 5548, 1486, 13810)
    assert (hz["review_total"], hz["litigation_total"], hz["fees_wan_yuan"]) == (790, 212, 316441)
    # identity columns are the report's own
    reports = real_frames["reports"].set_index("source_file")
    for col in ("organization", "organization_id", "division_code", "report_year", "template"):
        pd.testing.assert_series_equal(summary[col], reports.loc[summary.index, col], check_names=False)


def test_summary_never_sums_a_measure_with_a_blank_cell():
    """mirror_gz_fgj_2020 prints 25 new applications by natural persons and blanks in other columns:
    the 总计 column is what the summary reads; a blank there leaves the measure null, never 0."""
    p = _parsed([REAL / "raw" / "lg_dept_2024.txt"])
    frames = to_frames(p)
    apps = frames["applications"]
    blank = (apps["row_path"] == f"{OUTCOMES} > （一）予以公开") & (apps["column_path"] == TOTAL_COLUMN)
    assert blank.sum() == 1
    s = summary_frame(frames["reports"], frames)
    assert s["granted"].iloc[0] == apps.loc[blank, "value"].iloc[0]
    frames["applications"].loc[blank, "value"] = np.nan
    assert pd.isna(summary_frame(frames["reports"], frames)["granted"].iloc[0])

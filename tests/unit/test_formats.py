"""The formats are data: checked at load, and a third format needs no code change."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from transforms.formats import FORMAT_DIR, FORMATS, FormatError, load_formats

from paths import ROOT


def test_shipped_formats_have_the_statutory_cell_counts():
    counts = {n: {t: len(f.cell_addresses(t)) for t in f.tables} for n, f in FORMATS.items()}
    assert counts == {
        "2019": {"active_disclosure": 22, "applications": 161, "review_litigation": 15},
        "2021": {"active_disclosure": 10, "applications": 175, "review_litigation": 15},
    }


def test_canonical_addresses_from_the_domain_reference():
    f19, f21 = FORMATS["2019"], FORMATS["2021"]
    assert ("第二十条第（一）项 > 规章", "本年新制作数量") in f19.cell_addresses("active_disclosure")
    assert ("第二十条第（八）项 > 行政事业性收费", "本年收费金额（单位：万元）") in f21.cell_addresses("active_disclosure")
    assert ("第二十条第（九）项 > 政府集中采购", "采购总金额") in f19.cell_addresses("active_disclosure")
    rows19 = f19.tables["applications"].row_paths
    assert "三、本年度办理结果 > （六）其他处理" in rows19
    assert "三、本年度办理结果 > （六）其他处理 > 3.其他" in f21.tables["applications"].row_paths
    assert "申请人情况 > 法人或其他组织 > 商业企业" in f19.tables["applications"].column_paths
    assert f21.tables["review_litigation"].column_paths[-1] == "行政诉讼 > 复议后起诉 > 总计"


def _copy_formats(tmp_path: Path) -> Path:
    d = tmp_path / "formats"
    shutil.copytree(FORMAT_DIR, d)
    return d


def _edited(tmp_path: Path, source: str, edit, target: str | None = None) -> Path:
    """A copy of the shipped formats with `edit(doc)` applied to one file (saved as `target`)."""
    d = _copy_formats(tmp_path)
    doc = yaml.safe_load((d / source).read_text(encoding="utf-8"))
    edit(doc)
    (d / (target or source)).write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return d


def test_identity_naming_an_unknown_row_is_rejected(tmp_path):
    d = _edited(tmp_path, "2019.yaml", lambda doc: doc["identities"][0]["lhs"].append("不存在的行"))
    with pytest.raises(FormatError, match="unknown path"):
        load_formats(d)


def test_ambiguous_row_labels_are_rejected(tmp_path):
    def alias_clash(doc):
        doc["tables"]["active_disclosure"]["blocks"][0]["rows"][1]["aliases"] = ["规章"]

    d = _edited(tmp_path, "2019.yaml", alias_clash)
    with pytest.raises(FormatError, match="ambiguous"):
        load_formats(d)


def test_a_third_format_is_a_data_file(tmp_path):
    """A made-up 2099 format, written as its one difference from 2021 (an extra column in （五）),
    parses with no code change."""
    d = _copy_formats(tmp_path)
    (d / "2099.yaml").write_text(yaml.safe_dump({
        "format": "2099", "extends": "2021", "notice": "draft",
        "tables": {"active_disclosure": {"blocks": [{"code": "article20_item5", "columns": [
            {"label": "本年新增事项数量", "code": "new_items", "kind": "count"}]}]}},
    }, allow_unicode=True), encoding="utf-8")
    f = load_formats(d)["2099"]
    assert [c.code for c in f.tables["active_disclosure"].blocks[1].columns] == ["decisions", "new_items"]
    text = ("二、主动公开政府信息情况\n第二十条第（五）项\n信息内容\t本年处理决定数量\t本年新增事项数量\n"
            "行政许可\t5\t2\n")
    code = ("import json,sys; from transforms.engine import parse_text; p=parse_text(sys.stdin.read());"
            "print(json.dumps([p.report['template'], [(c.column_path, c.value) for c in p.cells]],"
            " ensure_ascii=False))")
    env = {**os.environ, "NIANBAO_FORMATS_DIR": str(d)}
    out = subprocess.run([sys.executable, "-c", code], input=text, capture_output=True, text=True,
                         env=env, cwd=ROOT, check=True).stdout
    template, cells = json.loads(out)
    assert template == "2099"
    assert cells == [["本年处理决定数量", 5.0], ["本年新增事项数量", 2.0]]


@pytest.mark.parametrize("edit,match", [
    (lambda doc: doc.pop("value_bounds"), "value_bounds"),
    (lambda doc: doc["value_bounds"].pop("delta"), "value_bounds"),
    (lambda doc: doc["value_bounds"].update(count=-1), "at least 10"),
    (lambda doc: doc["value_bounds"].update(delta=5), "at least 10"),
    (lambda doc: doc["value_bounds"].update(amount={"元": "many"}), "numbers"),
])
def test_value_bounds_are_required_per_kind(tmp_path, edit, match):
    d = _edited(tmp_path, "2019.yaml", edit)
    with pytest.raises(FormatError, match=match):
        load_formats(d)


def test_value_bounds_reach_every_column():
    """Every column carries its kind's bound; amounts one per unit, the largest for an unknown unit."""
    for fmt in FORMATS.values():
        for t in fmt.tables.values():
            for b in t.blocks:
                for c in b.columns:
                    assert c.bounds and all(v > 0 for _, v in c.bounds)
                    if c.kind == "amount":
                        assert c.max_abs("万元") < c.max_abs("元") == c.max_abs(None)
                    else:
                        assert c.max_abs(c.unit) == c.max_abs(None)


# ------------------------------------------------------------------ the catalogue: strict keys, extends, totals
def _write(d: Path, name: str, doc: dict) -> None:
    (d / name).write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize("edit,match", [
    (lambda doc: doc.update(identitites=[]), "top level: unknown key 'identitites'"),
    (lambda doc: doc["tables"]["applications"].update(anchor=["x"]), "tables.applications: unknown key 'anchor'"),
    (lambda doc: doc["tables"]["applications"]["blocks"][0]["rows"][0].update(alias=["x"]), "unknown key 'alias'"),
    (lambda doc: doc["identities"][0].update(lhs_=[]), "identities applications_balance: unknown key 'lhs_'"),
    (lambda doc: doc["summary"]["granted"].update(cols=[]), "summary.granted: unknown key 'cols'"),
])
def test_an_unknown_key_anywhere_is_refused_with_its_place(tmp_path, edit, match):
    d = _edited(tmp_path, "2019.yaml", edit)
    with pytest.raises(FormatError, match=match):
        load_formats(d)


def test_2021_is_written_as_its_differences_from_2019():
    """The 2021 file extends 2019: what it does not write is 2019's, what it writes replaces it."""
    doc = yaml.safe_load((FORMAT_DIR / "2021.yaml").read_text(encoding="utf-8"))
    assert doc["extends"] == "2019" and "identities" not in doc and "hierarchy" not in doc
    f19, f21 = FORMATS["2019"], FORMATS["2021"]
    assert f21.tables["review_litigation"] == f19.tables["review_litigation"]
    assert f21.notice != f19.notice and [i.id for i in f21.identities] == [i.id for i in f19.identities]
    blocks = [b.code for b in f21.tables["active_disclosure"].blocks]
    assert blocks == ["article20_item1", "article20_item5", "article20_item6", "article20_item8"]
    item5 = f21.tables["active_disclosure"].blocks[1]
    assert [(c.code, c.label) for c in item5.columns] == [("decisions", "本年处理决定数量")]
    assert [r.code for r in item5.rows] == ["administrative_licensing"]
    assert [c.id for c in f21.cross_year] == ["carryover_across_years", "in_force_roll_forward"]
    # identity 3's terms follow the tree: （六） is one row in 2019 and three in 2021
    outcome = {f: {i.id: i for i in FORMATS[f].identities}["applications_outcome_total"] for f in FORMATS}
    assert len(outcome["2021"].rhs) == len(outcome["2019"].rhs) + 2


def test_a_total_is_summed_by_the_identity_derived_from_the_tree():
    ident = {i.id: i for i in FORMATS["2019"].identities}
    row_total = ident["applications_row_total"]
    assert (row_total.for_each, row_total.lhs) == ("row", ("申请人情况 > 总计",))
    assert row_total.rhs == ("申请人情况 > 自然人",) + tuple(f"申请人情况 > 法人或其他组织 > {x}" for x in
                                                          ("商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"))
    assert ident["litigation_direct_total"].rhs == tuple(
        f"行政诉讼 > 未经复议直接起诉 > {x}" for x in ("结果维持", "结果纠正", "其他结果", "尚未审结"))


@pytest.mark.parametrize("derived,match", [
    ({"format": "2099", "extends": "2098"}, "extends '2098', which no format file"),
    ({"format": "2099", "extends": "2099"}, "makes a cycle"),
    ({"format": "2099", "extends": "2021", "cross_year": [{"id": "nope", "drop": True}]}, "drop of 'nope'"),
    ({"format": "2099", "extends": "2021", "summary": {"nope": {"drop": True}}}, "drop of a key"),
])
def test_a_broken_extension_is_refused(tmp_path, derived, match):
    d = _copy_formats(tmp_path)
    _write(d, "2099.yaml", derived)
    with pytest.raises(FormatError, match=match):
        load_formats(d)


def test_a_total_no_identity_sums_is_refused(tmp_path):
    d = _copy_formats(tmp_path)
    _write(d, "2099.yaml", {"format": "2099", "extends": "2021", "tables": {"applications": {"blocks": [
        {"code": "applications", "rows": [{"label": "五、合计", "code": "grand_total", "total": True}]}]}}})
    with pytest.raises(FormatError, match="'五、合计' is marked `total: true` but no identity sums it"):
        load_formats(d)
    _write(d, "2099.yaml", {"format": "2099", "extends": "2021", "identities": [
        {"id": "x", "number": 9, "description": "x", "table": "applications", "sums": "四、结转下年度继续办理"}]})
    with pytest.raises(FormatError, match="does not mark `total: true`"):
        load_formats(d)


def test_a_base_list_with_two_items_of_one_code_cannot_be_extended(tmp_path):
    """Merging by code needs the codes of the base list to be unique: the one shared is named."""
    d = _edited(tmp_path, "2019.yaml", lambda doc: doc["tables"]["active_disclosure"]["blocks"][0]["rows"].append(
        {"label": "规章二", "code": "rules"}))
    with pytest.raises(FormatError, match="share code 'rules'"):
        load_formats(d)


def test_the_parsers_words_are_read_from_the_files():
    """The words the parser looks for beyond the trees (where the tables end, a caption printed without
    its item number, labels written like sentences) are format data, and 2021 inherits them (extends)."""
    for f in FORMATS.values():
        assert (f.end_section, f.end_anchors, f.caption_stem) == ("五", ("存在的主要问题",), "第二十条"), f.name
        assert set(f.not_prose) == {"勾稽", "区分处理"}, f.name
    assert "end_anchors" not in (ROOT / "transforms" / "formats" / "2021.yaml").read_text(encoding="utf-8")

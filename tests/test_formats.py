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

ROOT = Path(__file__).resolve().parents[1]


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
    d = _edited(tmp_path, "2021.yaml", lambda doc: doc["identities"][0]["lhs"].append("不存在的行"))
    with pytest.raises(FormatError, match="unknown path"):
        load_formats(d)


def test_ambiguous_row_labels_are_rejected(tmp_path):
    def alias_clash(doc):
        doc["tables"]["active_disclosure"]["blocks"][0]["rows"][1]["aliases"] = ["规章"]

    d = _edited(tmp_path, "2019.yaml", alias_clash)
    with pytest.raises(FormatError, match="ambiguous"):
        load_formats(d)


def test_a_third_format_is_a_data_file(tmp_path):
    """A made-up 2099 format (an extra column in （五）) parses with no code change."""
    def new_format(doc):
        doc["format"] = "2099"
        blk = doc["tables"]["active_disclosure"]["blocks"][1]
        blk["columns"].append({"label": "本年新增事项数量", "code": "new_items", "kind": "count"})

    d = _edited(tmp_path, "2021.yaml", new_format, target="2099.yaml")
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
    d = _edited(tmp_path, "2021.yaml", edit)
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

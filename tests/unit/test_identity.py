"""Report identity (transforms/identity): who published a report, for which year, where the body is.

The answer keys of tests/fixtures/identity (56 real reports' openings, hand-checked: see its
README) and tests/fixtures/realworld are read by a person, never produced by the parser. The
aggregate test prints the figures the issue asks for.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from transforms.engine import parse_report, parse_text
from transforms.identity import describe, document_properties
from transforms.identity import organization as org
from transforms.identity.gazetteer import load
from transforms.identity.overrides import OverrideError, rules
from transforms.read.text import text_lines
from transforms.schema import DIVISION_LEVELS, IDENTITY_SOURCES, ORGANIZATION_TYPES

from paths import FIXTURES
IDENTITY = list(csv.DictReader(open(FIXTURES / "identity" / "MANIFEST.csv", encoding="utf-8")))
REALWORLD = list(csv.DictReader(open(FIXTURES / "realworld" / "MANIFEST.csv", encoding="utf-8")))


def _parsed(row, root):
    return parse_report((root / row["file"]).read_bytes(), row["url"]).report


# --------------------------------------------------------------------------- real reports

@pytest.mark.parametrize("row", IDENTITY, ids=lambda r: Path(r["file"]).stem)
def test_real_report_identity(row):
    rep = _parsed(row, FIXTURES / "identity")
    accepted = [a for a in row["organization"].split("|") if a]
    assert rep["report_year"] == int(row["report_year"]), (rep["report_year_source"], rep["problems"])
    assert rep["organization"] is None or rep["organization"] in accepted, rep["organization"]
    if accepted:
        assert rep["organization"] in accepted, rep["problems"]
    if row["division_code"]:
        assert rep["division_code"] == row["division_code"], rep["problems"]
    if row["level"] and rep["organization"]:
        assert rep["division_level"] in (row["level"], None)


def _realworld_printed(row) -> bool:
    return "某" not in row["organization"]


def test_identity_figures_on_real_reports(capsys):
    """report_year right ≥ 98 %, organisation right ≥ 95 % of those that print it, none wrong,
    division right wherever the gazetteer knows the body."""
    n = years = printed = right = wrong = divisions = div_right = 0
    for row in IDENTITY:
        rep = _parsed(row, FIXTURES / "identity")
        accepted = [a for a in row["organization"].split("|") if a]
        n += 1
        years += rep["report_year"] == int(row["report_year"])
        printed += bool(accepted)
        right += bool(accepted) and rep["organization"] in accepted
        wrong += rep["organization"] is not None and rep["organization"] not in accepted
        if row["division_code"]:
            divisions += 1
            div_right += rep["division_code"] == row["division_code"]
    for row in REALWORLD:
        rep = _parsed(row, FIXTURES / "realworld")
        n += 1
        years += rep["report_year"] == int(row["report_year"])
        if _realworld_printed(row):
            printed += 1
            same = rep["organization_id"] == org.identify(org.tidy_name(row["organization"].split("（")[0])).organization_id
            right += rep["organization"] is not None and same
            wrong += rep["organization"] is not None and not same
        else:
            wrong += rep["organization"] is not None
    with capsys.disabled():
        print(f"\nidentity on {n} real reports: report_year right {years}/{n} ({years / n:.1%}); organisation "
              f"right {right}/{printed} of those printing it ({right / printed:.1%}), wrong {wrong}; "
              f"division code right {div_right}/{divisions}")
    assert years / n >= 0.98 and right / printed >= 0.95 and wrong == 0 and div_right == divisions


@pytest.mark.parametrize("row", [r for r in REALWORLD if _realworld_printed(r)], ids=lambda r: Path(r["file"]).stem)
def test_realworld_copies_name_their_body(row):
    rep = _parsed(row, FIXTURES / "realworld")
    expected = org.identify(org.tidy_name(row["organization"].split("（")[0]))
    assert rep["organization_id"] == expected.organization_id
    assert rep["division_code"] == expected.division_code is not None


# --------------------------------------------------------------------------- canonical identity

def test_one_body_one_id_across_renderings():
    names = ["道里区人民政府", "哈尔滨市道里区人民政府", "黑龙江省哈尔滨市道里区人民政府", "哈爾濱市道裡區人民政府",
             "道里区政府", "哈尔滨市道里区"]
    ids = {org.identify(org.tidy_name(n)).organization_id for n in names}
    assert len(ids) == 1
    i = org.identify("哈尔滨市道里区人民政府")
    assert (i.division_code, i.province, i.city, i.county, i.level, i.organization_type) == \
        ("230102", "黑龙江省", "哈尔滨市", "道里区", "county", "government")
    assert i.normalized == "哈尔滨市道里区人民政府"
    # the street office: every spelling, with or without the district, is one body
    streets = ["经纬街道", "经纬街道办事处", "道里区经纬街道办事处", "哈尔滨市道里区人民政府经纬街道办事处"]
    sid = {org.identify(n, "哈尔滨市道里区").organization_id for n in streets}
    assert len(sid) == 1 and sid.isdisjoint(ids)
    # a department of the same district is another body
    assert org.identify("道里区教育局").organization_id not in ids | sid


def test_divisions_types_and_levels():
    cases = {
        "浙江省人民政府办公厅": ("330000", "province", "general_office"),
        "白城市农业农村局": ("220800", "city", "department"),
        "临夏回族自治州永靖县": ("622923", "county", "government"),
        "天门市人民政府办公室": ("429006", "county", "general_office"),
        "平利县正阳镇": ("610926", "township", "township"),
        "重庆市九龙坡区二郎街道办事处": ("500107", "township", "subdistrict"),
        "浙江省东阳经济开发区管理委员会": ("330783", "county", "development_zone"),
        "上海市": ("310000", "province", "government"),
    }
    for name, (code, level, kind) in cases.items():
        i = org.identify(name)
        assert (i.division_code, i.level, i.organization_type) == (code, level, kind), name
        assert i.organization_type in ORGANIZATION_TYPES and i.level in DIVISION_LEVELS


def test_shared_names_need_the_reports_other_places():
    assert org.identify("长安区人民政府").division_code is None          # 石家庄 and 西安 both have one
    assert org.identify("长安区人民政府", "西安市长安区").division_code == "610116"
    assert org.identify("沙塘镇人民政府", "开平市沙塘镇").division_code == "440783"
    amb = org.identify("龙田镇人民政府")
    assert amb.division_code is None and len(amb.ambiguous) > 1 and amb.organization_id.startswith("000000-")
    assert amb.organization_id == org.identify("龙田镇").organization_id


def test_names_that_are_not_a_body_stay_unknown():
    for name, why in [("区统计局", "short form"), ("市政府研究室", "short form"), ("我局", "names the body only"),
                      ("经济技术开发区经济发展局", "short form"), ("政府", "without a name"),
                      ("beat365官方网站人民政府", "characters other than Chinese"),
                      ("中华人民共和国", "not a body")]:
        ok, reason = org.validate(org.tidy_name(name))
        assert ok is None and why in reason, (name, reason)
    # the year glued on, report words, traditional characters: the name survives
    assert org.tidy_name("2019年上海市人民政府办公厅") == "上海市人民政府办公厅"
    assert org.tidy_name("江西省人民政府辦公廳2019年政府信息公開工作年度報告") == "江西省人民政府办公厅"


def test_gazetteer_is_offline_and_complete_enough():
    gz = load()
    levels = [d.level for d in gz.divisions.values()]
    assert levels.count("province") == 34 and levels.count("city") > 330 and levels.count("county") > 2800
    assert sum(len(v) for v in gz.townships.values()) > 40000
    assert gz.resolve_region("420104").name == "硚口区" and gz.resolve_region("武汉市硚口区").code == "420104"


def test_every_township_keeps_its_printed_name():
    """The gazetteer keeps only the printed names that differ from their cleaned keys (a smaller cache
    entry): every (county, township) pair of the data still gives the name the data prints."""
    import gzip

    from transforms.identity.gazetteer import DATA, _GENERIC_UNIT
    from transforms.labels import clean
    gz = load()
    with gzip.open(DATA, "rt", encoding="utf-8") as fh:
        rows = [line.rstrip("\n").split("\t") for line in fh if line.startswith("T\t")]
    printed = {(f[1], clean(f[2])): f[2] for f in rows if not _GENERIC_UNIT.match(clean(f[2]))}
    assert len(printed) > 40000 and any(name != key for (_, key), name in printed.items())
    assert all(gz.township_printed(county, key) == name for (county, key), name in printed.items())
    county, key = next(iter(printed))
    assert gz.township_printed("110101", key) is None or ("110101", key) in printed
    assert gz.township_printed(county, key + "不存在") is None


# --------------------------------------------------------------------------- where the identity is read

def _describe(text: str, **kw):
    return describe(text_lines(text), **kw)


def test_title_over_two_lines_and_year_variants():
    m = _describe("甘谷县人民政府办公室\n2024 年政府信息公开工作年度报告\n一、总体情况\n")
    assert (m["organization"], m["report_year"], m["organization_source"]) == ("甘谷县人民政府办公室", 2024, "title")
    m = _describe("经济技术开发区经济发展局2021年\n政府信息公开工作年报\n")
    assert m["organization"] is None and m["report_year"] == 2021
    assert any("short form" in p for p in m["_problems"])
    m = _describe("一、总体情况\n本报告所列数据的统计期限自2023年1月1日起至2023年12月31日止。\n")
    assert (m["report_year"], m["report_year_source"]) == (2023, "statistics_period")
    m = _describe("一、总体情况\n截止2020年12月31日,我局主动公开的信息15条。\n")
    assert (m["report_year"], m["report_year_source"]) == (2020, "year_end")
    m = _describe("小沙街道政府信息公开工作2021年度报告\n")
    assert (m["organization"], m["report_year"]) == ("小沙街道", 2021)
    m = _describe("2022年上海市政府信息公开工作年度报告\n")
    assert (m["organization"], m["report_year"], m["division_code"]) == ("上海市", 2022, "310000")


def test_year_from_a_publication_date_alone_is_flagged():
    m = _describe("一、总体情况\n我局认真落实条例。\n发布时间: 2022-01-29\n")
    assert (m["report_year"], m["report_year_source"], m["publication_date"]) == (2021, "publication_date", "2022-01-29")
    assert m["report_year_confidence"] < 0.5 and any("publication date" in p for p in m["_problems"])
    m = _describe("一、总体情况\n我局认真落实条例。\n")
    assert m["report_year"] is None and any("report_year unknown" in p for p in m["_problems"])


def test_conflicting_sources_are_reported():
    m = _describe("永嘉县人民政府2021年政府信息公开工作年度报告\n本报告中所列数据统计期限为2020年1月1日至12月31日。\n")
    assert m["report_year"] == 2021 and any("disagree" in p and "statistics_period 2020" in p for p in m["_problems"])
    m = _describe("永嘉县人民政府2021年政府信息公开工作年度报告\n正文\n富县人民政府\n2022年1月20日\n")
    assert m["organization"] == "永嘉县人民政府"
    assert any("organization sources disagree" in p for p in m["_problems"])


def test_signature_gives_the_fuller_name():
    m = _describe("天福街道办事处2020年度信息公开工作报告\n正文\n威海市文登区天福街道办事处\n2021年1月31日\n")
    assert (m["organization"], m["organization_source"], m["publication_date"]) == \
        ("威海市文登区天福街道办事处", "signature", "2021-01-31")
    assert m["division_code"] == "371003"     # the code list spells the street 天福路街道: no township


def test_html_meta_tags_name_the_body_and_the_site():
    page = ("<html><head><title>信息公开年报</title>"
            '<meta name="SiteName" content="富县人民政府"><meta name="SiteIDCode" content="6106280001">'
            '<meta name="ColumnName" content="政府信息公开年报">'
            '<meta name="ArticleTitle" content="张家湾镇2021年政府信息公开工作年度报告">'
            '<meta name="PubDate" content="2022-01-20 10:00"><meta name="ContentSource" content="张家湾镇人民政府">'
            "</head><body><p>一、总体情况</p><p>我镇认真落实条例。</p></body></html>").encode("utf-8")
    props = document_properties(page, "html", "utf-8")
    assert props["siteidcode"] == "6106280001" and props["articletitle"].startswith("张家湾镇")
    rep = parse_report(page, "zjw.html").report
    assert (rep["organization"], rep["organization_source"], rep["report_year"]) == ("张家湾镇", "html_meta", 2021)
    # three counties have a 张家湾镇: the site's code (富县, 610628) settles it
    assert rep["division_code"] == "610628" and rep["township"] == "张家湾镇"
    assert rep["publication_date"] == "2022-01-20"


def test_docx_core_properties_and_pdf_metadata_name_the_report():
    import docx
    doc = docx.Document()
    doc.core_properties.title = "故城县教育局2020年政府信息公开工作年度报告"
    doc.add_paragraph("一、总体情况")
    doc.add_paragraph("我局认真落实条例。")
    buf = io.BytesIO()
    doc.save(buf)
    props = document_properties(buf.getvalue(), "docx", None)
    assert props["title"].startswith("故城县教育局")
    m = _describe("一、总体情况\n我局认真落实条例。\n", properties=props)
    assert (m["organization"], m["organization_source"], m["report_year"]) == \
        ("故城县教育局", "document_properties", 2020)

    from reportlab.pdfgen import canvas
    from transforms.read.document import read_document
    from synthetic.render_docs import _font
    out = io.BytesIO()
    c = canvas.Canvas(out)
    c.setTitle("白银市教育局2020年政府信息公开工作年度报告")
    c.setFont(_font(), 12)
    c.drawString(72, 720, "一、总体情况")
    c.save()
    pdf = read_document(out.getvalue())
    assert pdf.properties["title"].startswith("白银市教育局")
    m = describe(pdf.lines, "x.pdf", pdf.properties)
    assert (m["organization"], m["division_code"]) == ("白银市教育局", "620400")


def test_file_name_and_context():
    m = _describe("一、总体情况\n我局认真落实条例。\n", source_file="reports/前进区教育局2020年政府信息公开工作年度报告.pdf")
    assert (m["organization"], m["organization_source"], m["report_year"]) == ("前进区教育局", "file_name", 2020)
    text = "根据条例,现公开区人民政府办公室2023年政府信息公开工作年度报告。\n"
    assert _describe(text)["organization"] is None
    m = _describe(text, context={"region": "武汉市硚口区"})
    assert (m["organization"], m["division_code"], m["organization_normalized"]) == \
        ("硚口区人民政府办公室", "420104", "武汉市硚口区人民政府办公室")
    assert any("completed from the source's context" in p for p in m["_problems"])
    m = _describe("一、总体情况\n", context={"organization": "甘谷县人民政府办公室", "report_year": 2024})
    assert (m["organization"], m["organization_source"], m["report_year"]) == ("甘谷县人民政府办公室", "context", 2024)


def test_every_source_is_in_the_registry():
    from transforms.identity import CONFIDENCE
    assert set(CONFIDENCE) == set(IDENTITY_SOURCES)


# --------------------------------------------------------------------------- overrides

def test_overrides_pin_a_division_and_are_reported(tmp_path, monkeypatch):
    text = "张家湾镇2021年政府信息公开工作年度报告\n一、总体情况\n"
    before = parse_text(text, "zjw.txt").report
    assert before["division_code"] is None
    pins = tmp_path / "overrides.yaml"
    pins.write_text("overrides:\n"
                    "  - match: {organization: 张家湾镇, file_name: zjw.txt}\n"
                    "    set: {division_code: '610628'}\n"
                    "    note: 富县的张家湾镇\n"
                    "  - match: {sha256: 'does-not-match'}\n"
                    "    set: {report_year: 1999}\n", encoding="utf-8")
    monkeypatch.setenv("NIANBAO_IDENTITY_OVERRIDES", str(pins))
    after = parse_text(text, "zjw.txt").report
    again = parse_text(text, "zjw.txt").report
    assert after == again                                          # deterministic
    assert (after["division_code"], after["township"], after["report_year"]) == ("610628", "张家湾镇", 2021)
    assert after["organization_id"].startswith("610628-")
    assert any("identity override 1 applied (division_code): 富县的张家湾镇" in p for p in after["problems"])
    other = parse_text(text, "other.txt").report                   # another file: not pinned
    assert other["division_code"] is None


def test_overrides_reject_unknown_keys(tmp_path, monkeypatch):
    bad = tmp_path / "bad.yaml"
    bad.write_text("overrides:\n  - match: {title: x}\n    set: {division_code: '1'}\n", encoding="utf-8")
    monkeypatch.setenv("NIANBAO_IDENTITY_OVERRIDES", str(bad))
    with pytest.raises(OverrideError):
        rules()


def test_shipped_overrides_file_loads():
    assert isinstance(rules(), tuple)


# --------------------------------------------------------------------------- frames and the cross-year check

def test_organization_columns_reach_reports_and_cells():
    from synthetic.generator import generate
    from transforms.tidy import to_frames
    text, truth = generate(7)
    frames = to_frames([parse_text(text, "g.txt")])
    rep = frames["reports"].iloc[0]
    assert rep["organization_id"] and rep["organization_source"] in IDENTITY_SOURCES
    for t in ("active_disclosure", "applications", "review_litigation"):
        assert (frames[t]["organization_id"] == rep["organization_id"]).all()


def test_cross_year_check_pairs_a_body_that_changed_its_name():
    import pandas as pd

    from synthetic.frames import forward_carry, make_frames
    from transforms.checks import crossyear
    from transforms.checks.reconcile import reconcile
    from transforms.checks.rules import quality_checks
    y1 = make_frames(1, year=2021, formats=("2021",), seed=1, organizations=["道里区人民政府"])
    y2 = make_frames(1, year=2022, formats=("2021",), seed=2, organizations=["哈尔滨市道里区人民政府"],
                     carry_in={"哈尔滨市道里区人民政府": forward_carry(y1)["道里区人民政府"]})
    frames = {k: pd.concat([y1[k], y2[k]], ignore_index=True) for k in y1}
    qc = quality_checks(frames, reconcile(frames))
    fm = qc[qc["check"].str.endswith(".completeness")]
    fm = fm.assign(table=fm["check"].str.split(".").str[0])[["report_id", "table", "format"]]
    rec = crossyear.evaluate(frames["reports"], fm, frames)
    cy = rec[rec["check"] == "carryover_across_years"]
    assert len(cy) and (cy["status"] == "holds").all()
    assert set(cy["related_report_id"].astype(str)) == set(y1["reports"]["report_id"])

"""Unit tests of the engine on small inline reports: layouts, locating, formats, alignment, metadata."""
from __future__ import annotations

import codecs

import pytest

from transforms.engine import parse_report, parse_text
from transforms.formats import FORMATS
from transforms.read.charsets import decode, DecodeError

T2_2019 = """二、主动公开政府信息情况
第二十条第（一）项
信息内容\t本年新制作数量\t本年新公开数量\t对外公开总数量
规章\t1\t2\t3
规范性文件\t4\t5\t6
第二十条第（五）项
信息内容\t上一年项目数量\t本年增/减\t处理决定数量
行政许可\t7\t+1\t9
其他对外管理服务事项\t10\t-2\t12
第二十条第（六）项
信息内容\t上一年项目数量\t本年增/减\t处理决定数量
行政处罚\t13\t0\t15
行政强制\t16\t0\t18
第二十条第（八）项
信息内容\t上一年项目数量\t本年增/减
行政事业性收费\t19\t0
第二十条第（九）项
信息内容\t采购项目数量\t采购总金额
政府集中采购\t21\t251000元
"""

T4 = """四、政府信息公开行政复议、行政诉讼情况
行政复议\t行政诉讼
结果维持\t结果纠正\t其他结果\t尚未审结\t总计\t未经复议直接起诉\t复议后起诉
1\t2\t0\t0\t3\t0\t1\t0\t0\t1\t0\t0\t0\t2\t2
五、存在的主要问题及改进情况
"""


def cells_of(parsed, table):
    return {(c.row_path, c.column_path): c for c in parsed.cells if c.table == table}


def test_table_two_values_units_and_signs():
    p = parse_text("某某局2020年政府信息公开工作年度报告\n" + T2_2019 + T4)
    c = cells_of(p, "active_disclosure")
    assert len(c) == 22 and p.report["template"] == "2019"
    assert c[("第二十条第（五）项 > 其他对外管理服务事项", "本年增/减")].value == -2
    amount = c[("第二十条第（九）项 > 政府集中采购", "采购总金额")]
    assert (amount.value, amount.raw_value, amount.unit, amount.flags) == (251000.0, "251000元", "元", ("unit_in_cell",))
    assert c[("第二十条第（一）项 > 规章", "本年新制作数量")].source_line == 5
    assert p.report["active_disclosure_status"] == "complete"
    assert p.report["applications_status"] == "missing"
    assert p.report["organization"] == "某某局" and p.report["report_year"] == 2020


def test_hybrid_report_is_reported_as_hybrid():
    hybrid = T2_2019.split("第二十条第（五）项")[0] + """第二十条第（五）项
信息内容\t本年处理决定数量
行政许可\t5
第二十条第（六）项
信息内容\t本年处理决定数量
行政处罚\t6
行政强制\t7
第二十条第（八）项
信息内容\t本年收费金额（单位：万元）
行政事业性收费\t0.5
"""
    p = parse_text(hybrid + T4)
    assert p.report["template"] == "hybrid"
    c = cells_of(p, "active_disclosure")
    assert c[("第二十条第（一）项 > 规章", "本年新制作数量")].value == 1  # 2019 columns kept as 2019
    assert c[("第二十条第（五）项 > 行政许可", "本年处理决定数量")].value == 5  # 2021 columns kept as 2021
    fee = c[("第二十条第（八）项 > 行政事业性收费", "本年收费金额（单位：万元）")]
    assert (fee.value, fee.unit) == (0.5, "万元")


def test_2021_words_never_mapped_by_position_onto_2019_columns():
    t2 = "二、主动公开政府信息情况\n第二十条第（一）项\n信息内容\t本年制发件数\t本年废止件数\t现行有效件数\n规范性文件\t1\t2\t3\n"
    p = parse_text(t2)
    (c,) = [c for c in p.cells if c.column_path == "本年废止件数"]
    assert c.row_path == "第二十条第（一）项 > 行政规范性文件" and "legacy_label" in c.flags and c.value == 2


def test_table_four_vertical_pdf_headers():
    text = """四、政府信息公开行政复议、行政诉讼情况
行政复议 行政诉讼
未经复议直接起诉 复议后起诉
结 结 其 尚
果 果 他 未 总
维 纠 结 审 计
持 正 果 结
1 2 0 0 3 0 1 0 0 1 0 0 0 2 2
五、存在的主要问题及改进情况
"""
    p = parse_text(text)
    c = cells_of(p, "review_litigation")
    assert [c[("", col)].value for col in FORMATS["2019"].tables["review_litigation"].column_paths] == \
        [1, 2, 0, 0, 3, 0, 1, 0, 0, 1, 0, 0, 0, 2, 2]
    assert p.report["review_litigation_status"] == "complete"
    assert p.report["template"] is None  # table 四 alone does not tell the format


def test_one_line_report():
    flat = (T2_2019 + T4).replace("\t", " ").replace("\n", " ")
    p = parse_text("某县2019年政府信息公开工作年度报告 " + flat)
    assert len(cells_of(p, "active_disclosure")) == 22
    assert cells_of(p, "review_litigation")[("", "行政复议 > 总计")].value == 3


def test_cut_table_keeps_complete_rows_and_never_pads():
    text = T2_2019.split("第二十条第（六）项")[0] + "第二十条第（六）项\n信息内容\t上一年项目数量\n行政处罚\t13\n[...]\n"
    p = parse_text(text)
    assert p.report["active_disclosure_status"] == "incomplete"
    rows = {c.row_path for c in p.cells}
    assert "第二十条第（五）项 > 行政许可" in rows and "第二十条第（六）项 > 行政处罚" not in rows
    assert any("cut off" in x for x in p.report["problems"])


def test_unknown_label_is_reported():
    text = T2_2019.replace("行政强制\t16\t0\t18\n", "行政强制\t16\t0\t18\n完全不认识的一行\t1\t2\t3\n")
    p = parse_text(text)
    extra = [c for c in p.cells if "extra_row" in c.flags]
    assert [c.value for c in extra] == [1, 2, 3]
    assert extra[0].row_path == "第二十条第（六）项 > 完全不认识的一行"


def test_short_row_without_identities_is_unresolved_not_shifted():
    text = T2_2019.replace("规章\t1\t2\t3", "规章\t1\t2")
    p = parse_text(text)
    row = [c for c in p.cells if c.row_path == "第二十条第（一）项 > 规章"]
    assert all(c.value is None and "unresolved" in c.flags for c in row)
    assert p.report["active_disclosure_status"] == "incomplete"


APPLICATION_ROWS_2019 = [r.label for r in FORMATS["2019"].tables["applications"].blocks[0].rows]


def _t3(rows: dict[str, list[str]]) -> str:
    out = ["三、收到和处理政府信息公开申请情况", "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）\t申请人情况",
           "自然人\t法人或其他组织\t总计", "商业企业\t科研机构\t社会公益组织\t法律服务机构\t其他"]
    for label in APPLICATION_ROWS_2019:
        out.append("\t".join([label, *rows.get(label, ["0"] * 7)]))
    return "\n".join(out) + "\n"


def test_short_row_is_inferred_only_when_every_placement_agrees():
    # 一 = 5 + 1 (total 6); 予以公开 printed with a lost cell: the row total fixes it whichever cell was lost
    rows = {"一、本年新收政府信息公开申请数量": ["5", "1", "0", "0", "0", "0", "6"],
            "（一）予以公开": ["5", "1", "0", "0", "0", "6"],
            "（七）总计": ["5", "1", "0", "0", "0", "0", "6"]}
    p = parse_text(_t3(rows) + T4)
    row = {c.column_path: c for c in p.cells if c.row_path == "三、本年度办理结果 > （一）予以公开"}
    assert all("inferred" in c.flags for c in row.values())
    assert [row[cp].value for cp in FORMATS["2019"].tables["applications"].column_paths] == [5, 1, 0, 0, 0, 0, 6]


def test_column_identities_can_place_a_row_missing_four_cells():
    rows = {"一、本年新收政府信息公开申请数量": ["5", "1", "0", "0", "0", "0", "6"],
            "（一）予以公开": ["5", "1", "6"],  # （七）总计 minus the other (zero) rows fixes every cell
            "（七）总计": ["5", "1", "0", "0", "0", "0", "6"]}
    p = parse_text(_t3(rows) + T4)
    row = {c.column_path: c for c in p.cells if c.row_path == "三、本年度办理结果 > （一）予以公开"}
    assert [row[cp].value for cp in FORMATS["2019"].tables["applications"].column_paths] == [5, 1, 0, 0, 0, 0, 6]
    assert all("inferred" in c.flags for c in row.values())


@pytest.mark.parametrize("printed,certain", [
    (["5", "1", "6"], {"申请人情况 > 总计": (6.0, "6")}),   # only the row total applies: 5 and 1 may sit in any
    (["0", "0"], {}),                                     # two applicant columns, 6 is the total in every placement
    (["4", "4", "4"], {}),                                # no placement fits (4 + 4 ≠ 4, 12 ≠ a blank total)
])
def test_ambiguous_short_row_is_unresolved_but_for_the_cells_every_placement_gives(printed, certain):
    rows = {"一、本年新收政府信息公开申请数量": ["/"] * 7,
            "（一）予以公开": printed,
            "（七）总计": ["/"] * 7}
    p = parse_text(_t3(rows) + T4)
    row = {c.column_path: c for c in p.cells if c.row_path == "三、本年度办理结果 > （一）予以公开"}
    assert {cp: (c.value, c.raw_value) for cp, c in row.items() if "inferred" in c.flags} == certain
    assert all(c.value is None and c.flags == ("unresolved",) for cp, c in row.items() if cp not in certain)
    assert any("（一）予以公开" in x and "unresolved" in x for x in p.report["problems"])


def test_signature_and_publication_date():
    text = "某某街道2020年政府信息公开工作年度报告\n" + T2_2019 + T4 + "六、其他需要报告的事项\n无。\n某某市某某区某某街道\n2021年1月31日\n"
    p = parse_text(text)
    assert p.report["organization"] == "某某市某某区某某街道"
    assert p.report["organization_source"] == "signature"
    assert p.report["publication_date"] == "2021-01-31"


def test_preamble_names_the_organization_when_there_is_no_title():
    text = "根据条例，现公布某某县某某局2021年政府信息公开工作年度报告。\n" + T2_2019
    p = parse_text(text)
    assert p.report["organization"] == "某某县某某局" and p.report["organization_source"] == "preamble"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "gb18030"])
def test_text_encodings(encoding):
    text = "某某局2020年政府信息公开工作年度报告\n" + T2_2019
    p = parse_report(text.encode(encoding), f"r.{encoding}.txt")
    assert p.report["status"] == "parsed" and len(p.cells) == 22


@pytest.mark.parametrize("data,reason", [
    (b"", "empty file"), (b"   \n", "empty file"), (bytes(range(256)) * 8, "binary"),
])
def test_unreadable_bytes(data, reason):
    p = parse_report(data, "bad.bin")
    assert p.report["status"] == "unreadable" and reason in p.report["problems"][0]
    assert p.report["problems"][0].startswith("bad.bin: ")
    assert p.cells == []


def test_not_a_report():
    p = parse_report("<html><body><p>今日天气晴。</p></body></html>".encode(), "page.html")
    assert p.report["status"] == "unreadable"
    assert any("no statutory table" in x for x in p.report["problems"])


def test_decode_rejects_garbage():
    import random

    rng = random.Random(7)
    with pytest.raises(DecodeError):
        decode(bytes(rng.getrandbits(8) for _ in range(4096)))
    assert decode(codecs.BOM_UTF8 + "报告".encode())[0] == "报告"


def test_same_row_in_both_formats_in_one_process():
    """Caches keyed by row must not hand one format's columns to the other (2019 then 2021 then 2019)."""
    t2019 = "二、主动公开政府信息情况\n第二十条第（五）项\n信息内容\t上一年项目数量\t本年增/减\t处理决定数量\n行政许可\t1\t2\t3\n"
    t2021 = "二、主动公开政府信息情况\n第二十条第（五）项\n信息内容\t本年处理决定数量\n行政许可\t5\n"
    for text, n in ((t2019, 3), (t2021, 1), (t2019, 3)):
        cells = parse_text(text).cells
        assert len(cells) == n and len({c.column_path for c in cells}) == n
        assert all(c.dims["metric"] == c.column_path for c in cells)


# --------------------------------------------------------------------------- values from the table's own lines
# Real-style table 四: the flipbook page copy tests/fixtures/realworld/raw/flipbook_shenji_2020_p9.txt
# (its vertical header, then the 15 values on one line), cut before its 五 heading and followed by
# prose as text extracts print it.

from paths import REALWORLD  # noqa: E402
FLIPBOOK = REALWORLD / "raw" / "flipbook_shenji_2020_p9.txt"
T4_VALUES = [1, 2, 0, 0, 3, 0, 0, 0, 0, 0, 4, 0, 0, 1, 5]  # every table 四 identity holds
T4_LINE = " ".join(map(str, T4_VALUES))
HEADLESS = "四、政府信息公开行政复议、行政诉讼情况\n"
PROSE_AFTER = [
    "1、公开工作不够深入。\n2、2024年将加大力度。\n",                                    # list items, a year
    "1、公开工作不够深入。\n2、加大力度。\n3、2024年将加大力度。\n六、其他需要报告的事项\n无。\n",
    "一是公开工作不够深入，主动公开的内容还不够全面，需要进一步加强。\n2024\n年，我局将加大力度。\n1\n2\n",  # wrapped year
    "五、存在的主要问题及改进情况\n1、2024年，我局将进一步加强政务公开工作。\n2、加强培训。\n",
]


def _flipbook_head() -> str:
    return FLIPBOOK.read_text(encoding="utf-8").split("0 0 0 0 0 0 0 0 0 0 0 0 0 0 0")[0]


@pytest.mark.parametrize("head", ["flipbook", "headless"])
@pytest.mark.parametrize("k", range(len(PROSE_AFTER)))
def test_table_four_ends_where_prose_starts(head, k):
    """List numbers and years of the paragraphs after table 四 are never its values: the row is the
    15 values of its own line, none dropped, none taken from the prose."""
    top = _flipbook_head() if head == "flipbook" else HEADLESS
    text = top + T4_LINE + "\n" + PROSE_AFTER[k]
    line = text.split("\n").index(T4_LINE) + 1
    p = parse_text(text)
    c = [x for x in p.cells if x.table == "review_litigation"]
    assert [x.value for x in c] == T4_VALUES
    assert [x.raw_value for x in c] == [str(v) for v in T4_VALUES]
    assert {x.source_line for x in c} == {line} and not any(x.flags for x in c)
    assert p.report["review_litigation_status"] == "complete"  # text after the row: the copy was not cut in it


def test_prose_before_a_headerless_table_four_is_not_its_values():
    text = HEADLESS + "1、本年度未发生行政复议。\n" + T4_LINE + "\n2、2024年将加大力度。\n五、存在的主要问题及改进情况\n"
    c = [x for x in parse_text(text).cells if x.table == "review_litigation"]
    assert [x.value for x in c] == T4_VALUES and {x.source_line for x in c} == {3}


def test_numbers_after_table_four_are_reported_not_published():
    p = parse_text(HEADLESS + T4_LINE + "\n说明：\n7 8 9\n")
    assert [x.value for x in p.cells] == T4_VALUES
    assert any("not table values" in pr and "line 3" in pr for pr in p.report["problems"])


def test_a_long_row_is_not_aligned_by_equal_tokens():
    """17 values on one data row (two from the text after it on the same line): a window of 15 is
    chosen only when it holds every printed token, compared by identity, not by equal text."""
    text = HEADLESS + " ".join(["0"] * 15) + "\n1 2\n五、存在的主要问题及改进情况\n"
    c = [x for x in parse_text(text).cells if x.table == "review_litigation"]
    assert [x.value for x in c] == [0.0] * 15 and all("inferred" in x.flags for x in c)


@pytest.mark.parametrize("sep", ["\t", " "])
def test_increase_decrease_words_fill_the_row(sep):
    """本年增/减 printed 减2 / 增1: the row keeps its three cells (tab- and space-separated layouts)."""
    t2 = T2_2019.replace("\t+1\t", "\t增1\t").replace("\t-2\t", "\t减2\t")
    if sep == " ":
        t2 = t2.replace("\t", " ")
    c = cells_of(parse_text(t2 + T4), "active_disclosure")
    plus = c[("第二十条第（五）项 > 行政许可", "本年增/减")]
    minus = c[("第二十条第（五）项 > 其他对外管理服务事项", "本年增/减")]
    assert (plus.value, plus.raw_value, plus.flags) == (1.0, "增1", ())
    assert (minus.value, minus.raw_value, minus.flags) == (-2.0, "减2", ())
    row = [x for k, x in c.items() if k[0] == "第二十条第（五）项 > 其他对外管理服务事项"]
    assert [x.value for x in row] == [10.0, -2.0, 12.0] and not any("unresolved" in x.flags for x in row)


def test_sign_word_on_a_count_is_flagged_like_a_sign():
    c = cells_of(parse_text(T2_2019.replace("行政许可\t7\t", "行政许可\t增7\t") + T4), "active_disclosure")
    cell = c[("第二十条第（五）项 > 行政许可", "上一年项目数量")]
    assert (cell.value, cell.flags) == (7.0, ("unexpected_sign",))


@pytest.mark.parametrize("column,printed,value", [
    ("采购项目数量", "1" + "0" * 30, None),            # 10^30 count: a float would round it
    ("采购项目数量", "99999999999999999999", None),
    ("采购项目数量", "100000001", 100000001.0),       # over the count bound, exact: kept, flagged
    ("采购总金额", "20000000000000元", 2e13),          # over 10^13 元
    ("采购总金额", "2000000000万元", 2e9),             # over 10^9 万元
])
def test_implausible_magnitudes_are_flagged(column, printed, value):
    t2 = T2_2019.replace("政府集中采购\t21\t251000元", "政府集中采购\t21\t251000元".replace(
        "21" if column == "采购项目数量" else "251000元", printed))
    cell = cells_of(parse_text(t2 + T4), "active_disclosure")[("第二十条第（九）项 > 政府集中采购", column)]
    assert cell.raw_value == printed and cell.value == value and "implausible_value" in cell.flags


@pytest.mark.parametrize("column,printed", [("采购项目数量", "99999999"), ("采购总金额", "9000000000000元"),
                                            ("采购总金额", "900000000万元")])
def test_large_but_plausible_values_are_not_flagged(column, printed):
    t2 = T2_2019.replace("政府集中采购\t21\t251000元", "政府集中采购\t21\t251000元".replace(
        "21" if column == "采购项目数量" else "251000元", printed))
    cell = cells_of(parse_text(t2 + T4), "active_disclosure")[("第二十条第（九）项 > 政府集中采购", column)]
    assert "implausible_value" not in cell.flags and cell.value is not None


def test_an_amount_bound_follows_the_header_unit():
    """The same digits are plausible in 元 and not in 万元 (unit from the header)."""
    base = T2_2019.replace("信息内容\t采购项目数量\t采购总金额", "信息内容\t采购项目数量\t采购总金额（万元）")
    ok = cells_of(parse_text(base.replace("251000元", "900000000") + T4), "active_disclosure")
    bad = cells_of(parse_text(base.replace("251000元", "2000000000") + T4), "active_disclosure")
    key = ("第二十条第（九）项 > 政府集中采购", "采购总金额")
    assert ok[key].unit == "万元" and ok[key].flags == ()
    assert bad[key].unit == "万元" and bad[key].flags == ("implausible_value",)


def test_a_list_enumerator_is_never_a_value():
    """'1、属于国家秘密' after a row printed one value short: the 1 is the label's enumerator, not the
    short row's last cell (it was published as 总计 = 1, unflagged)."""
    from synthetic.generator import generate
    text, _ = generate(5, layout="pdf_text", template="2021")
    lines = text.split("\n")
    k = next(i for i, line in enumerate(lines) if "1.属于国家秘密" in line)
    lines[k - 1] = lines[k - 1].rsplit(" ", 1)[0]  # the row before loses its last value (595)
    lines[k] = lines[k].replace("（三） 不予 公开 1.属于国家秘密", "1、属于国家秘密")
    p = parse_text("\n".join(lines))
    short = [c for c in p.cells if c.table == "applications" and c.source_line == k]
    assert len(short) == 7 and all("inferred" in c.flags for c in short)
    assert short[-1].value == 595 and short[-1].raw_value is None
    assert not [c for c in p.cells if c.source_line == k + 1 and c.raw_value == "1"]


@pytest.mark.parametrize("piece", ["1、属于国家秘密", "（1）加强培训", "(2)公开", "2024年"])
def test_enumerators_and_years_fused_to_text_stay_text(piece):
    from transforms.parse.tokens import _piece_parts
    assert _piece_parts(piece) == ((piece, False),)


def test_a_value_inferred_beyond_its_bound_is_flagged_implausible():
    """14 values for 15 columns: the identities place them and infer 行政复议 总计 = 2×10^8, itself
    beyond the count bound: inferred and implausible."""
    values = ["200000000", "0", "0", "0"] + ["0"] * 10
    p = parse_text(HEADLESS + " ".join(values) + "\n五、存在的主要问题及改进情况\n")
    c = {x.column_path: x for x in p.cells if x.table == "review_litigation"}
    total = c["行政复议 > 总计"]
    assert (total.value, total.raw_value) == (2e8, None)
    assert set(total.flags) == {"inferred", "implausible_value"}
    assert set(c["行政复议 > 结果维持"].flags) == {"inferred", "implausible_value"}

"""The prose against the tables (transforms/narrative.py): statements read from real sentences, and
the narrative.* quality checks on real reports.

Sentences are quoted from real reports: the seeds (tests/fixtures/seeds), the real copies under
tests/fixtures (realworld, identity, narrative) and public report pages of the search tool's store
(URL given once per report). Each one says what must be read from it, or that it must be left out.
"""
from __future__ import annotations

import pytest

from transforms import narrative
from transforms.engine import parse_report
from transforms.checks.rules import quality_checks
from transforms.tidy import to_frames

from paths import FIXTURES, SEEDS, TESTS

LIANXI_2024 = "http://www.lianxi.gov.cn/zfxxgk/zfxxgknb/2024n/qzf/202502/t20250220_6854532.html"
GANGU_2024 = "http://www.gangu.gov.cn/info/2381/644672.htm (tests/fixtures/identity/raw/gangu_bgs_2024.txt)"
SHANGHAI_2022 = "https://shanghai.gov.cn/nw12344/20230331/4a03b5fa47ae4c73b7ec42801de6be66.html"
ZICHANG_2023 = "http://www.zichang.gov.cn/zfxxgk/zfxxgknb/szfnb/2023n/1752504210521403394.html"
SAINTPAUL_2023 = "https://saintpaulhem.com/jxx/jxxrmzf/xxgknbgs/202403/fadd881c1204427da3d7fff510732e0e.shtml (mirror)"
ZHYZULIN_2024 = "http://www.zhyzulin.com/qdsrmzf/qznb2024/content/1dd5db65-d7d6-48ec-a221-1cc09f591799.html (spam mirror)"
HULI_2018 = "http://www.huli.gov.cn/zwgk/zfxxgkzl/zfxxyjxndbg/201901/t20190111_182924.htm"
XA_2023 = "http://61.150.65.235/zfxxgk/zfxxgknb/bmxxgknb/1906985018193408001.html"

# (sentence, report year, source, what must be read: {quantity: value}; {} = left out)
SENTENCES = [
    # applications received (新收): the statement of the example and its kind
    ("本年度,共受理政府信息公开申请2件,都在法定期限内予以答复。", 2023, "narrative/changchun_styjrswj_2023.txt",
     {"applications_new": 2}),
    ("2024年,我办共收到公开政府信息申请1件,已全部答复,办结率100%。", 2024, GANGU_2024, {"applications_new": 1}),
    ("2024年,全区受理依申请公开件255件,办结255件,其中予以公开71件、部分公开5件", 2024, LIANXI_2024,
     {"applications_new": 255, "applications_handled": 255, "applications_granted": 71,
      "applications_partially_granted": 5}),
    ("2020年，天福街道办事处未收到政务信息公开申请事项。", 2020, "tests/fixtures/seeds/003 line 13", {"applications_new": 0}),
    ("2023年,我局未收到政府信息公开申请。", 2023, SAINTPAUL_2023, {"applications_new": 0}),
    ("全年未接到信息公开申请;", 2023, "narrative/zhanjiang_dfz_2023.txt", {"applications_new": 0}),
    ("截止2020年12月31日,我局主动公开的信息15条,未收到申请公开政府信息要求。", 2020,
     "identity/btfghg_gucheng_jyj_2020.txt", {"applications_new": 0}),
    ("2021年度共收到依申请公开0件。", 2021, "identity/luqiao_xinqiao_2021.txt", {"applications_new": 0}),
    # left out: another kind of application, a cumulative total, a spam-altered sentence, no number
    ("2023年,我办全年未收到行政许可申请;", 2023, "narrative/zhanjiang_dfz_2023.txt", {}),
    ("2023年度,子长市累计办理公民、法人或其他组织通过市政府门户网站、邮寄等途径依申请公开信息合计12件,"
     "已全部按期限答复办结,办结率100%。", 2023, ZICHANG_2023, {}),
    ("2024年园区365体育官网管理系统中收到12封申请,已按照365体育官网处理流程进行处理。", 2024, ZHYZULIN_2024, {}),
    ("我局高度重视依申请公开事项的答复,严格依法依规做好政府信息依申请公开答复,由专人负责协调有关处室研究答复意见,"
     "并按照规定程序,在规定时限内答复申请人。", 2023, "narrative/changchun_styjrswj_2023.txt", {}),
    # left out: another year's figure, a figure stated twice with different values
    ("2022年,我局共受理政府信息公开申请5件。", 2023, "the changchun sentence, dated the year before", {}),
    ("本年度,共受理政府信息公开申请2件,2023年共受理政府信息公开申请3件。", 2023,
     "the changchun sentence stated twice", {}),
    # left out: differences and estimates
    ("本年度,共受理政府信息公开申请较上年增加2件。", 2023, "the changchun sentence as a difference", {}),
    # review and litigation
    ("未出现因答复不当引起的行政复议、行政诉讼等情况。", 2024, GANGU_2024,
     {"administrative_review": 0, "administrative_litigation": 0}),
    ("未出现申请行政复议、提起行政诉讼的情况。", 2020, "realworld/flipbook_shenji_2020_p9.txt line 7",
     {"administrative_review": 0, "administrative_litigation": 0}),
    ("在依申请公开政府信息工作中没有出现应公开而不予公开的办件,未发生因政府信息公开申请行政复议、提起行政诉讼情况。",
     2023, ZICHANG_2023, {"administrative_review": 0, "administrative_litigation": 0}),
    # both outcomes counted together: no 部分公开 figure (the 2019 report of 上海市人民政府办公厅,
    # tests/fixtures/consecutive/shanghai_bgt_2019.html; its table prints 部分公开 3)
    ("予以公开及部分公开258件，占33.9%；不予公开35件，占4.34%；", 2019, "consecutive/shanghai_bgt_2019.html",
     {"applications_withheld": 35}),
    # normative documents
    ("加强规范性文件审查清理,2024年以来现行有效的行政规范性文件0件。", 2024, GANGU_2024,
     {"normative_documents_in_force": 0}),
    ("制定发布规范性文件4件,清理废止文件0件,现行有效文件20件。", 2024, LIANXI_2024,
     {"normative_documents_issued": 4}),
    # 主动公开 42 件 is what was published, not what was issued: left out
    ("2022年,在上海市人民政府网站、《上海市人民政府公报》主动公开市政府规章13件(含新制定5件,修改4件,废止4件),"
     "主动公开市政府和市政府办公厅行政规范性文件42件,人事任免文件106件,其他文件113件。", 2022, SHANGHAI_2022, {}),
    # items disclosed, messages, hotline calls: no table holds them
    ("2020年办事处主动公开政府信息538条，其中网上公开130条，媒体公开72条。", 2020, "tests/fixtures/seeds/003 line 11", {}),
    ("2018年,共制作政府信息3021条,其中主动公开信息1027条,依申请公开信息459条,不予公开信息1535条。", 2018,
     HULI_2018, {}),
    ("2023年,我局认真梳理,主动在门户网站公开政府信息50条。", 2023, XA_2023, {}),
    ("本年度共处理群众留言92条。", 2023, "narrative/changchun_styjrswj_2023.txt", {}),
    ("2023年,共办理政府12345热线47件,已全部办结,回复率和满意率均达100%。", 2023, SAINTPAUL_2023, {}),
    # fees
    ("无其他需要报告的事项，无政府信息公开信息处理费收取情况。", 2021, "tests/fixtures/seeds/001 line 397",
     {"information_processing_fee": 0}),
]


def _stated(sentence: str, year: int | None) -> dict[str, float]:
    return {s.quantity: s.value for s in narrative.extract([(sentence, 1)], year)
            if not s.quantity.startswith(narrative.SECTION_PREFIX) and s.quantity != narrative.SPEC.period_quantity}


@pytest.mark.parametrize("sentence,year,source,expected", SENTENCES, ids=[s[0][:18] for s in SENTENCES])
def test_real_sentences(sentence, year, source, expected):
    assert _stated(sentence, year) == expected, source


PERIODS = [  # the statistics period as real reports print it (tests/fixtures/identity/raw unless said)
    ("本报告所列数据的统计时限自2020年1月1日起至2020年12月31日止。", 2020),                 # tests/fixtures/seeds/003
    ("本报告信息数据统计期限为:2022年1月1日-2022年12月31日。", 2022),                    # cqjlp_erlang_2022
    ("本报告中所列数据的统计期限自 2023年 1 月 1 日起至2023年 12 月 31 日止。", 2023),      # weishan_gaolou_2023
    ("本年度报告中所列数据统计期限从2024年1月1日到12月31日止。", 2024),                   # wenzhou_yongjia_2024
    ("除特别说明的外,所列数据统计时限为2021年1月1日至2021年12月31日。", 2021),             # guiyang_gov_2021
    ("本报告中所列数据的统计期限自20231月1日起至202312月31日止,如对本报告有任何疑问,请与对坊乡人民政府办公室联系。",
     2023),                                                                               # ningdu_duifang_2023
    ("本报告中所列数据统计期限为2019年1月1日至12月31日。", 2019),                          # tfhid_zj_bgt_2019
    ("本年度报告中使用数据统计期限为2025年1月1日至2025年12月31日。", 2025),               # shucheng_kfq_2025
    # garbled dates: no year can be read, left out
    ("本报告中使用数据统计期限为202111日至1231日。", None),                                # wqx_zhouwan_2021
    ("本报告中所列数据的统计期限自202111日起至20211230日止。", None),                      # fuxian_zhangjiawan_2021
    # prose naming other years is not a period statement
    ("与2022年相比,依申请公开数量有所增加。", None),
]


@pytest.mark.parametrize("sentence,year", PERIODS, ids=[p[0][:16] for p in PERIODS])
def test_statistics_period(sentence, year):
    got = [s.value for s in narrative.extract([(sentence, 1)], None) if s.quantity == narrative.SPEC.period_quantity]
    assert got == ([year] if year else [])


def test_every_period_sentence_of_the_identity_fixtures_is_read_once_or_left_out():
    """Over the 56 real openings, a period statement never gives a year other than the report's."""
    import csv
    with open(FIXTURES / "identity" / "MANIFEST.csv", encoding="utf-8") as fh:
        years = {r["file"]: int(r["report_year"]) for r in csv.DictReader(fh)}
    read = 0
    for name, year in years.items():
        text = (FIXTURES / "identity" / name).read_text(encoding="utf-8")
        lines = list(zip(text.split("\n"), range(1, 10 ** 6)))
        got = [s.value for s in narrative.extract(lines, year) if s.quantity == narrative.SPEC.period_quantity]
        assert set(got) <= {year}, name
        read += bool(got)
    assert read >= 30


# ---------------------------------------------------------------------------------------------- checks

def _checks(*texts: tuple[str, bytes]):
    frames = to_frames([parse_report(data, name) for name, data in texts])
    qc = quality_checks(frames)
    return frames, qc.set_index(["source_file", "check"])


def _fixture(name: str) -> bytes:
    return (FIXTURES / "narrative" / name).read_bytes()


def test_prose_that_disagrees_with_table_three_warns_with_both_numbers_and_the_sentence():
    frames, qc = _checks(("cc.txt", _fixture("changchun_styjrswj_2023.txt")))
    row = qc.loc[("cc.txt", "narrative.quantities")]
    assert row["status"] == "warn" and row["n_failed"] == 1 and row["table"] == "narrative"
    assert "prose 2" in row["observed"] and "table 3" in row["observed"] and "line 3" in row["observed"]
    assert "共受理政府信息公开申请2件" in row["observed"]
    assert row["cells"] == ["一、本年新收政府信息公开申请数量 | 申请人情况 > 总计"]
    st = frames["statements"]
    got = st[st["quantity"] == "applications_new"].iloc[0]
    assert (got["value"], got["raw_text"], got["source_line"]) == (2, "2", 3)
    assert got["sentence"] == "本年度,共受理政府信息公开申请2件,都在法定期限内予以答复。"


def test_the_same_report_with_the_prose_number_corrected_passes():
    fixed = _fixture("changchun_styjrswj_2023.txt").replace("申请2件".encode(), "申请3件".encode())
    _, qc = _checks(("cc.txt", fixed))
    row = qc.loc[("cc.txt", "narrative.quantities")]
    assert (row["status"], row["n_evaluated"], row["n_failed"]) == ("pass", 1, 0)


def test_agreeing_prose_passes_and_the_table_number_changed_warns():
    _, qc = _checks(("zj.txt", _fixture("zhanjiang_dfz_2023.txt")))
    assert qc.loc[("zj.txt", "narrative.quantities"), ["status", "n_evaluated"]].tolist() == ["pass", 1]
    assert qc.loc[("zj.txt", "narrative.report_year"), ["status", "n_evaluated"]].tolist() == ["pass", 1]
    changed = _fixture("zhanjiang_dfz_2023.txt").replace(
        "一、本年新收政府信息公开申请数量 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |".encode(),
        "一、本年新收政府信息公开申请数量 | 4 | 0 | 0 | 0 | 0 | 0 | 4 |".encode())
    _, qc = _checks(("zj.txt", changed))
    row = qc.loc[("zj.txt", "narrative.quantities")]
    assert row["status"] == "warn" and "prose 0" in row["observed"] and "table 4" in row["observed"]
    assert "未接到信息公开申请" in row["observed"]


def test_narrative_warnings_fold_into_the_verdict_as_warn_never_fail():
    from transforms.checks.verdicts import verdicts
    frames, qc = _checks(("cc.txt", _fixture("changchun_styjrswj_2023.txt")))
    rep = verdicts(frames["reports"], qc.reset_index())
    assert "narrative.quantities" in rep.loc[0, "failed_checks"]
    assert set(qc.reset_index().query("check.str.startswith('narrative')")["status"]) <= {"pass", "warn"}


def test_a_blank_table_cell_makes_the_statement_not_comparable():
    blank = _fixture("zhanjiang_dfz_2023.txt").replace(
        "一、本年新收政府信息公开申请数量 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |".encode(),
        "一、本年新收政府信息公开申请数量 | 0 | 0 | 0 | 0 | 0 | 0 | |".encode())
    _, qc = _checks(("zj.txt", blank))
    row = qc.loc[("zj.txt", "narrative.quantities")]
    assert (row["status"], row["n_evaluated"], row["n_not_evaluable"]) == ("pass", 0, 1)


# ---------------------------------------------------------------------------------------------- sections

def _seed(prefix: str) -> tuple[str, bytes]:
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    return path.name, path.read_bytes()


def test_six_sections_in_order_pass_on_real_reports():
    texts = [_seed("000"), _seed("002"), _seed("003"), _seed("004")]
    _, qc = _checks(*texts)
    for name, _ in texts:
        row = qc.loc[(name, "narrative.sections")]
        assert (row["status"], row["n_evaluated"], row["n_failed"]) == ("pass", 6, 0), name


def test_a_real_report_numbering_its_last_section_seven_warns():
    name, data = _seed("001")          # 六、下步计划 inserted before 七、其他需要报告的事项 (line 396)
    _, qc = _checks((name, data))
    row = qc.loc[(name, "narrative.sections")]
    assert row["status"] == "warn" and "numbered 七 instead of 六" in row["observed"] and "line 396" in row["observed"]


def test_a_missing_or_misplaced_section_warns():
    name, data = _seed("000")
    text = data.decode("utf-8")
    head_two = next(line for line in text.split("\n") if line.startswith("二、"))
    _, qc = _checks((name, text.replace(head_two + "\n", "").encode()))      # table 二 is then found by its anchors
    row = qc.loc[(name, "narrative.sections")]
    assert row["status"] == "warn" and "section 二 (active_disclosure) missing" in row["observed"]
    # the overview (一, its heading and paragraphs) moved after section 六
    start, end = text.index("\n一、") + 1, text.index("\n二、") + 1
    moved = text[:start] + text[end:] + "\n" + text[start:end]
    _, qc = _checks((name, moved.encode()))
    row = qc.loc[(name, "narrative.sections")]
    assert row["status"] == "warn" and "out of order" in row["observed"]


def test_section_headings_sharing_one_line_are_not_read_as_out_of_order():
    """The real 2019 report of 上海市人民政府办公厅 (tests/fixtures/consecutive) is an HTML page on one
    line: its six headings all have source line 1, so line numbers show no order and none is claimed
    (it warned 'out of order' before, sorting the tied headings by name). A heading moved to a later
    line than the sections after it is still out of order."""
    data = (FIXTURES / "consecutive" / "shanghai_bgt_2019.html").read_bytes()
    assert b"\n" not in data
    _, qc = _checks(("sh.html", data))
    row = qc.loc[("sh.html", "narrative.sections")]
    assert (row["status"], row["n_evaluated"], row["n_failed"]) == ("pass", 6, 0), row["observed"]
    text = data.decode("utf-8")
    start, end = text.index("<p>一、总体情况</p>"), text.index("<p>二、主动公开政府信息情况</p>")
    moved = text[:start] + text[end:] + "\n" + text[start:end]
    _, qc = _checks(("sh.html", moved.encode()))
    row = qc.loc[("sh.html", "narrative.sections")]
    assert row["status"] == "warn" and "out of order" in row["observed"]
    assert row["observed"].endswith("overview (line 2)")


def test_a_copy_holding_the_tables_only_is_not_evaluated_for_sections():
    data = (FIXTURES / "realworld" / "raw" / "newton_shekou_2021_trad.txt").read_bytes()
    _, qc = _checks(("n.txt", data))
    row = qc.loc[("n.txt", "narrative.sections")]
    assert (row["status"], row["n_evaluated"], row["n_not_evaluable"]) == ("pass", 0, 6)


def test_sections_after_the_end_of_a_cut_copy_are_not_evaluated():
    """The changchun page ends inside table 三: 四, 五, 六 may follow in the report, so they are not
    evaluated; 一, 二, 三 are there in order."""
    _, qc = _checks(("cc.txt", _fixture("changchun_styjrswj_2023.txt")))
    row = qc.loc[("cc.txt", "narrative.sections")]
    assert (row["status"], row["n_evaluated"], row["n_failed"], row["n_not_evaluable"]) == ("pass", 3, 0, 3)


# ---------------------------------------------------------------------------------------------- year, fees

def test_a_statistics_period_of_another_year_warns():
    name, data = _seed("003")          # title 2020年度; period 自2020年1月1日起至2020年12月31日止 (line 4)
    _, qc = _checks((name, data))
    assert qc.loc[(name, "narrative.report_year"), ["status", "n_evaluated"]].tolist() == ["pass", 1]
    wrong = data.decode().replace("统计时限自2020年1月1日起至2020年12月31日止", "统计时限自2021年1月1日起至2021年12月31日止")
    frames, qc = _checks((name, wrong.encode()))
    assert frames["reports"].loc[0, "report_year"] == 2020
    row = qc.loc[(name, "narrative.report_year")]
    assert row["status"] == "warn" and "statistics period 2021 ≠ report_year 2020" in row["observed"]
    assert "line 4" in row["observed"]


def test_fee_notices_denied_in_section_six_against_table_three():
    """Seed 001 (2021 format) with a real section-六 wording added: no fee notice was sent. Table 三
    prints 0 applications dropped for an unpaid fee notice (（六）2): agreement; printed 1, the prose
    cannot be right."""
    name, data = _seed("001")
    text = data.decode("utf-8").replace("无其他需要报告的事项，", "无其他需要报告的事项，本年度未发出收费通知，")
    _, qc = _checks((name, text.encode()))
    assert qc.loc[(name, "narrative.fees"), ["status", "n_evaluated"]].tolist() == ["pass", 1]
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("2.申请人逾期未按收费通知"))
    assert lines[at + 7] == "\t0"
    lines[at + 7] = "\t1"            # the row's 总计
    _, qc = _checks((name, "\n".join(lines).encode()))
    row = qc.loc[(name, "narrative.fees")]
    assert row["status"] == "warn" and "fee_notices: prose 0" in row["observed"] and "< table 1" in row["observed"]
    assert "未发出收费通知" in row["observed"]


def test_rules_live_in_data_and_name_real_addresses():
    """Every quantity compares with addresses of the formats (checked at load), and the check names
    are those the registry lists."""
    from transforms.checks.catalogue import check_names
    assert set(narrative.check_names()) <= set(check_names())
    compared = [q for q in narrative.SPEC.quantities if q.cells]
    assert {q.name for q in compared} >= {"applications_new", "administrative_review", "administrative_litigation"}
    bad = narrative.SPEC_PATH.read_text(encoding="utf-8").replace("（七）总计 | 申请人情况 > 总计", "（七）合计 | 申请人情况 > 总计")
    tmp = TESTS / "_bad_narrative.yaml"
    tmp.write_text(bad, encoding="utf-8")
    try:
        with pytest.raises(ValueError, match="not addresses of format"):
            narrative.load_spec(tmp)
    finally:
        tmp.unlink()


def test_statements_of_a_quarantined_report_are_published_nowhere():
    from expectations.gate import prepare_batch
    good = ("cc.txt", _fixture("changchun_styjrswj_2023.txt"))
    frames = to_frames([parse_report(d, n) for n, d in [good, ("empty.txt", b"")]])
    out = prepare_batch(frames).frames
    assert set(out["statements"]["source_file"]) == {"cc.txt"}
    assert list(out["statements"].columns) == [f.name for f in __import__("transforms.schema").schema.fields("statements")]


def test_a_sentence_wrapped_over_two_lines_is_read_whole_and_headings_stay_apart():
    """PDF page text wraps prose at a fixed width: the lg_dept_2024 period sentence cut as a page would
    cut it is read, on the line where its number starts; a heading is never glued to its paragraph."""
    wrapped = [("本报告所列数据的统计期限为2024年1月1日至2024年1", 7), ("2月31日。", 8)]
    got = [(s.quantity, s.value, s.source_line) for s in narrative.extract(wrapped, 2024)]
    assert got == [("period_year", 2024, 7)]
    lines = [("一、总体情况", 1), ("本年度,共受理政府信息公开申请2件,都在法定期限内予以答复。", 2)]
    new = [s for s in narrative.extract(lines, 2023) if s.quantity == "applications_new"]
    assert [(s.value, s.source_line, s.sentence) for s in new] == [
        (2, 2, "本年度,共受理政府信息公开申请2件,都在法定期限内予以答复。")]


def test_the_registry_allows_exactly_the_declared_quantities():
    """schema reads the quantities from narrative.yaml itself (importing the narrative rules from the
    registry would be an import cycle through the formats): both lists must agree."""
    from transforms import narrative, schema
    allowed = {f.name: f for f in schema.fields("statements")}["quantity"].allowed
    assert list(allowed) == narrative.quantity_names()


# ------------------------------------------------------------------------------------ the fast paths
# extract skips work where it can (lines whose last character cannot be white space, sentences holding
# no keyword, sentences where a quantity's patterns found nothing before, heading lines read before):
# each shortcut must give what the plain reading gives.

def test_a_long_line_is_joined_by_its_last_character_after_white_space():
    """A wrapped line ends inside a sentence; one whose last character before trailing (full-width)
    spaces ends a sentence is not wrapped (the 2024 period sentence of the wrap test above)."""
    cut = [("本报告所列数据的统计期限为2024年1月1日至2024年1", 7), ("2月31日。", 8)]
    spaced = [("本报告所列数据的统计期限为2024年1月1日至2024年1\u3000 ", 7), ("2月31日。", 8)]
    ended = [("本报告所列数据的统计期限为2024年1月1日至2024年12月31日。\u3000", 7), ("2月31日。", 8)]
    for lines in (cut, ended):
        got = [(s.quantity, s.value, s.source_line) for s in narrative.extract(lines, 2024)]
        assert got == [("period_year", 2024, 7)]
    text, parts = narrative._joined(spaced + ended)
    assert parts[0] == spaced[0][0] and parts[2] == ended[0][0] + "\n"     # wrapped; ended
    # the characters taken as they are, without rstrip, hold no white space
    assert not [c for c in [*map(chr, range(0x21, 0x7F)), *map(chr, range(0x3001, 0xFFF0))] if c.isspace()]


def test_a_remembered_sentence_gives_the_same_statements_in_any_report_and_year():
    """The (quantity, sentence) pairs where no pattern matched are remembered; a sentence whose
    number is left out for its year (another year's figure) is not one of them."""
    other_year = [("2022年,我局共受理政府信息公开申请5件。", 3)]
    quiet = [("我局高度重视依申请公开事项的答复,严格依法依规做好政府信息依申请公开答复。", 4)]
    narrative._QUIET.clear()
    for _ in range(2):
        assert _stated(other_year[0][0], 2023) == {}
        assert _stated(other_year[0][0], 2022) == {"applications_new": 5}
        assert _stated(quiet[0][0], 2023) == {}
    assert any(sentence == quiet[0][0] for _, sentence in narrative._QUIET)
    assert not any(sentence == other_year[0][0] for _, sentence in narrative._QUIET)


def test_every_quantity_reads_its_sentence_only_so_its_quiet_sentences_can_be_remembered():
    import re
    assert all(q.own_sentence for q in narrative.SPEC.quantities)
    for pattern in (r"(?<!部分)予以公开(?P<n>\d+)件", r"^收到(?P<n>\d+)件", r"\b收到", r"(申请)\1"):
        assert not narrative._reads_own_sentence(re.compile(pattern)), pattern
    assert narrative._reads_own_sentence(re.compile(r"收到(?=\d)(?P<n>\d+)件$"))


def test_a_heading_naming_a_section_already_found_is_read_as_the_next_one_it_names():
    """Headings are read once per distinct line: the same line in another report, or twice in one,
    gives what the first reading gave; a second heading naming 总体情况 and 主动公开 is 主动公开."""
    lines = [("一、总体情况", 1), ("二、总体情况及主动公开政府信息情况", 2), ("一、总体情况", 3), ("三、其他事项", 4)]
    narrative._HEADINGS.clear()
    for _ in range(2):
        got = [(s.quantity, s.value, s.raw_text, s.source_line) for s in narrative.extract(lines, None)]
        assert got == [("section.overview", 1, "一", 1), ("section.active_disclosure", 2, "二", 2),
                       ("section.other_matters", 3, "三", 4)]

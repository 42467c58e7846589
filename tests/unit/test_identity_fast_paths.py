"""The shortcuts that keep report identity cheap give exactly what the plain code they replace gives.

Each fast path (trigger-word jumps instead of a regex search, the head folded in one scan, the
first/last non-blank lines read by slices, suffix tests by str.endswith, the gazetteer's length
index) is compared with the straightforward version on random and real-looking inputs.
"""
from __future__ import annotations

import random
import re
import unicodedata
from itertools import islice

import pytest

import transforms.identity as ident
from transforms.identity import organization as org
from transforms.identity.gazetteer import load
from transforms.labels import _PINYIN, _T2S, fold_fullwidth


@pytest.mark.parametrize("pattern, starts", [(ident._PREAMBLE, ident._PREAMBLE_STARTS),
                                             (ident._PERIOD, ident._PERIOD_STARTS),
                                             (ident._PUBLISHED, ident._PUBLISHED_STARTS)])
def test_search_from_finds_what_search_finds(pattern, starts):
    pieces = ["现", "特", "向社会", "编制", "汇总", "公布", "公开", "发布", "发表", "日期", "时间", "时限", "统计", "期限",
              "数据时间", "2023年", "2022年度", "XX市人民政府", "政府信息公开工作年度报告", "的", ":", " ", "1月1日",
              "01月01日", "。", "\n", "《", "予以", "此", "2021-03-12", "2022年3月9日", "了"]
    rng = random.Random(1)
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 25)))
        expected, got = pattern.search(text), ident._search_from(pattern, text, starts)
        assert (expected and (expected.span(), expected.groups())) == (got and (got.span(), got.groups())), text


def _fold_reference(text: str) -> list[str]:
    s = fold_fullwidth(text)
    if ident._COMPATIBILITY.search(s) and not unicodedata.is_normalized("NFKC", s):
        s = unicodedata.normalize("NFKC", s)
    if "(" in s:
        s = _PINYIN.sub("", s)
    if ident._TRADITIONAL.search(s):
        s = _T2S.convert(s)
    return ident._single_spaced(s).split("\n")


def test_fold_equals_the_step_by_step_fold():
    rng = random.Random(7)
    pool = (list("政府信息公开年度报告市区县镇,。 ()\n\t") + [chr(c) for c in range(0xFF01, 0xFF5F)]
            + rng.sample(ident._COMPATIBILITY_CHARS, 200) + rng.sample(ident._TRADITIONAL_CHARS, 200)
            + ["(shù)", "（zhèn）", "\u3000", "\xa0", "  ", "㈠", "①"])
    for _ in range(5000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 60)))
        assert ident._fold(text) == _fold_reference(text), repr(text)
    head = "平水縣湖林鄉人民政府2020年政府信息公開工作年度報告\n發佈時間：2021-03-12　來源：平水縣人民政府\n（一）總體情況"
    assert ident._fold(head) == _fold_reference(head) == [
        "平水县湖林乡人民政府2020年政府信息公开工作年度报告", "发布时间:2021-03-12 来源:平水县人民政府", "(一)总体情况"]


def test_char_classes_hold_exactly_their_characters():
    every = "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000)
    assert set(ident._COMPATIBILITY.findall(every)) == set(ident._COMPATIBILITY_CHARS)
    assert set(ident._TRADITIONAL.findall(every)) == set(ident._TRADITIONAL_CHARS)
    stops = set(ident._COMPATIBILITY_CHARS) | set(ident._TRADITIONAL_CHARS) | {chr(c) for c in range(0xFF01, 0xFF5F)}
    assert "".join(ident._UNFOLDED_RUN.findall(every)) == "".join(c for c in every if c not in stops)


def test_nonblank_lines_from_either_end():
    assert ident._SPACES == {c for c in map(chr, range(0x110000)) if c.isspace()}
    rng = random.Random(3)
    pool = ["", " ", "\u3000", "\t", "a", "文字", " x ", "\u200b", "\xa0", "\u2028", "\x1c"]
    for _ in range(3000):
        lines = [(rng.choice(pool) * rng.randint(0, 2), i) for i in range(rng.randint(0, 70))]
        for n in (1, 6, 15):
            assert ident._nonblank(lines, n) == list(islice((t for t, _ in lines if t.strip()), n))
            assert ident._nonblank(lines, n, from_end=True) == \
                list(islice((t for t, _ in reversed(lines) if t.strip()), n))[::-1]


def test_suffix_tests_agree_with_the_anchored_patterns():
    cases = [(r"(?:管委会|管理委员会|开发区|园区|高新区|新区)$", org._ZONE_END),
             (r"(?:街道|街道办事处|街道办)$", org._SUBDISTRICT_END),
             (r"(?:镇|乡|苏木)(?:人民政府|政府)?$", org._TOWNSHIP_END),
             (r"政府(?:办公厅|办公室|办)$", org._GENERAL_OFFICE_END),
             (r"(?:局|委员会|委|厅|署|办|中心|院|所|站|队|处|馆|室)$", org._DEPARTMENT_END),
             (r"(?:街道|镇|乡|苏木)$", org._TOWNSHIP_PLACE_END), (org._ORG_END.pattern, org._ORG_END_WORDS)]
    words = ["管委会", "管理委员会", "开发区", "园区", "新区", "街道", "办事处", "街道办", "镇", "乡", "苏木", "人民政府",
             "政府", "办公厅", "办公室", "办", "局", "委员会", "委", "中心", "市", "X", "\n", "张家"]
    rng = random.Random(2)
    for _ in range(20000):
        name = "".join(rng.choice(words) for _ in range(rng.randint(0, 4)))
        for pattern, suffixes in cases:
            assert bool(re.search(pattern, name)) == org._ends_with(name, suffixes), (name, pattern)


def _step_reference(gz, name: str, pos: int, cands):
    """Every length from the longest name down, full and township names first, then short ones."""
    for length in range(min(gz.max_len, len(name) - pos), 0, -1):
        piece = name[pos:pos + length]
        for table, is_township in ((gz.full, False), (gz.townships, True)):
            codes = table.get(piece)
            if codes and (codes := gz._within(codes, cands)):
                return codes, length, is_township, True
    for length in range(min(8, len(name) - pos), 0, -1):
        codes = gz.short.get(name[pos:pos + length])
        if codes and (codes := gz._within(codes, cands)):
            return codes, length, False, False
    return None


def test_gazetteer_step_probes_only_lengths_that_exist():
    gz = load()
    keys = sorted({*gz.full, *gz.townships, *gz.short})
    rng = random.Random(4)
    names = rng.sample(keys, 2000)
    for _ in range(3000):
        a, b = rng.sample(keys, 2)
        names += [a + b + rng.choice(["人民政府", "教育局", ""]), a[:rng.randint(1, len(a))] + b]
    for name in names:
        assert gz._step(name, 0, None) == _step_reference(gz, name, 0, None), name
        first = _step_reference(gz, name, 0, None)
        if first and first[1] < len(name):
            assert gz._step(name, first[1], first[0]) == _step_reference(gz, name, first[1], first[0]), name


def _org_type_reference(name: str, words: str, township: bool) -> str:
    if re.search(r"(?:管委会|管理委员会|开发区|园区|高新区|新区)$", name):
        return "development_zone"
    if re.search(r"(?:街道|街道办事处|街道办)$", name):
        return "subdistrict"
    if re.search(r"(?:镇|乡|苏木)(?:人民政府|政府)?$", name) or (township and words == ""):
        return "township"
    if re.search(r"政府(?:办公厅|办公室|办)$", name):
        return "general_office"
    if words == "人民政府":
        return "government"
    if re.search(r"(?:局|委员会|委|厅|署|办|中心|院|所|站|队|处|馆|室)$", name):
        return "department"
    return "other"


def _tidy_reference(text: str) -> str:
    s = ident.clean(text).replace(" ", "").strip("《》<>\"'|:-·").removeprefix("关于")
    prev = None
    while prev != s:
        prev = s
        s = org._YEAR_WORDS.sub("", s)
        s = org._REPORT_WORDS.sub("", s)
    return s + "政府" if s.endswith("人民") else s


def test_organisation_type_and_tidy_name_agree_with_the_pattern_versions():
    words = ["管委会", "开发区", "街道", "办事处", "镇", "乡", "苏木", "人民政府", "政府", "办公室", "办", "局", "委员会",
             "中心", "市", "\n", "张家", "2023年", "2022年度", "政府信息公开工作年度报告", "信息公开年报", "关于", " ", "人民"]
    rng = random.Random(6)
    for _ in range(20000):
        name = "".join(rng.choice(words) for _ in range(rng.randint(0, 5)))
        for body_words, township in (("", True), ("人民政府", False), ("教育局", False)):
            assert org._org_type(name, body_words, township) == _org_type_reference(name, body_words, township), name
        assert org.tidy_name.__wrapped__(name) == _tidy_reference(name), name


def test_the_fold_tables_in_use_are_those_this_code_builds():
    """They may come from transforms/cache.py: the same as built now, from this Unicode and OpenCC."""
    assert ident._fold_tables() == (ident._COMPATIBILITY_CHARS, ident._TRADITIONAL_CHARS, ident._FOLD_CLASSES)
    assert [p.pattern for p in (ident._COMPATIBILITY, ident._TRADITIONAL, ident._UNFOLDED_RUN)] == list(
        ident._FOLD_CLASSES)

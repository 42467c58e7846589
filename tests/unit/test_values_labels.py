"""Unit tests: printed values, label normalisation, the label matcher."""
from __future__ import annotations

import math
import re

import pytest

from transforms.labels import WHITESPACE, clean, match_key, stem_key
from transforms.parse.values import IMPLAUSIBLE, NIL_TOKENS, is_no_value, parse_value, unit_from_label
from transforms.parse.vocab import vocabulary


@pytest.mark.parametrize("raw,value,unit,flags", [
    ("0", 0.0, None, ()), ("\u00a00", 0.0, None, ()), ("１２", 12.0, None, ()), ("+3", 3.0, None, ()),
    ("-2", -2.0, None, ()), ("--253", -253.0, None, ("typo_double_sign",)),
    ("000000", 0.0, None, ("typo_zero_padding",)), ("52.5", 52.5, None, ()),
    ("103.3879万元", 103.3879, "万元", ("unit_in_cell",)), ("251000元", 251000.0, "元", ("unit_in_cell",)),
    ("", None, None, ()), ("/", None, None, ()), ("-", None, None, ()), ("—", None, None, ()),
])
def test_values_as_printed(raw, value, unit, flags):
    p = parse_value(raw)
    assert p.is_value and p.value == value and p.unit == unit and p.flags == flags


@pytest.mark.parametrize("raw", ["规章", "1.", "五", "第二十条"])
def test_labels_are_not_values(raw):
    assert not parse_value(raw).is_value


def test_units_named_in_headers():
    assert unit_from_label("采购总金额(万元,保留四位小数)") == "万元"
    assert unit_from_label("采购总金额（单位：元）") == "元"
    assert unit_from_label("采购总金额") is None


def test_normalisation_variants_share_a_key():
    assert match_key("（三）\u00a0不予\u00a0公开") == match_key("(三)不予公开")
    assert match_key("本年新\n制作数量") == match_key("本年新制作数量")
    assert match_key("第二十條第(一)項") == match_key("第二十条第（一）项")
    assert clean("數(shù)量") == "数量"
    assert match_key("危及\"三安全一稳定\"") == match_key("危及“三安全一稳定”")
    assert stem_key("规章(设区的市、自治州人民政府应提供相关数据)") == "规章"


@pytest.mark.parametrize("table,printed,canonical,how", [
    ("active_disclosure", "行政規範性檔案", "行政规范性文件", ""),
    ("active_disclosure", "政许可", "行政许可", "fuzzy_label"),
    ("active_disclosure", "现行有效件", "现行有效件数", "truncated_label"),
    ("active_disclosure", "本年度收费金额(单位:万元)", "本年度收费金额（单位：万元）", ""),
    ("active_disclosure", "处理决定数量(2023年办件量)", "处理决定数量", ""),
    ("applications", "2.其他法律、行政法规禁止公开", "2.其他法律行政法规禁止公开", ""),
    ("applications", "本年新收政府信息公开申请数量", "一、本年新收政府信息公开申请数量", ""),
    ("applications", "商业 企业", "商业企业", ""),
])
def test_label_matcher(table, printed, canonical, how):
    m = vocabulary(table).match(printed)
    assert m is not None and m.how == how
    labels = {c.leaf.label for c in m.entry.rows} if m.entry.kind == "row" else {m.entry.label}
    assert canonical in labels


def test_unknown_label_is_not_matched():
    assert vocabulary("active_disclosure").match("其他主动公开文件") is None
    assert vocabulary("applications").match("完全无关的文字内容") is None


def test_whitespace_is_every_character_python_calls_whitespace():
    """WHITESPACE scans only the BMP: no whitespace character lies beyond it (str.isspace, regex \\s)."""
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    assert WHITESPACE == {c for c in every if c.isspace()} == set(re.findall(r"\s", every))


def test_gb2312_fast_path_exceptions_match_opencc():
    from transforms.labels import GB2312_T2S_EXCEPTIONS, _T2S

    changed = set()
    for cp in range(0x4E00, 0xA000):
        ch = chr(cp)
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            continue
        if _T2S.convert(ch) != ch:
            changed.add(ch)
    assert changed == set(GB2312_T2S_EXCEPTIONS)


@pytest.mark.parametrize("raw,value,flags", [
    ("减4", -4.0, ()), ("增3", 3.0, ()), ("减少4", -4.0, ()), ("增加3", 3.0, ()), ("減2", -2.0, ()),
    ("减 4", -4.0, ()), ("增3件", 3.0, ()), ("减-4", -4.0, ("typo_double_sign",)),
    ("增-4", -4.0, ("typo_double_sign",)), ("减0", 0.0, ()), ("-0", 0.0, ()),
])
def test_increase_and_decrease_words_are_signs(raw, value, flags):
    """本年增/减 printed with 增/减: the word is the sign (the row is not split, the cell not nulled)."""
    p = parse_value(raw)
    assert p.is_value and p.value == value and p.flags == flags and p.signed
    assert math.copysign(1.0, p.value) == 1.0 or p.value != 0  # never a negative zero


@pytest.mark.parametrize("raw", ["减", "增加", "减少了", "减4人次多", "4减"])
def test_sign_words_alone_or_inside_text_are_not_values(raw):
    assert not parse_value(raw).is_value


@pytest.mark.parametrize("raw", sorted(NIL_TOKENS) + ["", "  ", "\u00a0", "\u3000", "－", "／", " 无 "])
def test_every_no_value_token_is_null(raw):
    p = parse_value(raw)
    assert p.is_value and p.value is None and p.flags == () and is_no_value(raw)


def test_no_value_tokens_are_not_numbers_or_labels():
    assert not is_no_value("0") and not is_no_value("规章") and not is_no_value("减4")


@pytest.mark.parametrize("raw", ["99999999999999999999", "1" + "0" * 30, "9007199254740993", "-9007199254740993",
                                 "99,999,999,999,999,999,999", "减9007199254740993", "9007199254740993.5",
                                 "12345678901234567890元"])
def test_integers_a_float_cannot_hold_are_null_and_flagged(raw):
    """Over 2^53 a float64 rounds: the value would be a number that is not in the file."""
    p = parse_value(raw)
    assert p.is_value and p.value is None and p.flags[-1] == IMPLAUSIBLE


def test_largest_exact_integer_is_kept():
    p = parse_value(str(2 ** 53))
    assert p.value == 2 ** 53 and IMPLAUSIBLE not in p.flags  # the kind's bound flags it, not the parser


def test_generated_reports_print_only_tokens_of_the_one_list():
    from synthetic import generator
    assert set(generator.NIL_TOKENS) <= NIL_TOKENS


def test_gb2312_exception_pattern_finds_exactly_the_exceptions():
    """_only_simplified finds the exceptions by a regex: the same answer as frozenset.isdisjoint."""
    from transforms.labels import _GB2312_T2S_EXCEPTION, GB2312_T2S_EXCEPTIONS, _only_simplified

    every = "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000)
    assert set(_GB2312_T2S_EXCEPTION.findall(every)) == set(GB2312_T2S_EXCEPTIONS)
    for text in ("政府信息公开", "乾隆", "我们於是", "年度報告", "abc", ""):
        try:
            text.encode("gb2312")
            expected = GB2312_T2S_EXCEPTIONS.isdisjoint(text)
        except UnicodeEncodeError:
            expected = False
        assert _only_simplified(text) == expected, text

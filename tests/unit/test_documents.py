"""Every format against the same truth: a generated report printed as text, HTML, DOCX and PDF
must give exactly the cells of its truth; the real-world Hangzhou-style page gives every cell of
its key (from HTML, and re-printed as DOCX and PDF); pages in GBK/GB18030/UTF-16, with or without
a (right or wrong) charset declaration, with page chrome, nested layout tables and split tables.
"""
from __future__ import annotations

import codecs
import io
import json
import math
import re
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.read.docx import docx_lines
from transforms.read.grid import expand_grid
from transforms.read.html import html_table_lines
from transforms.read.pdf import pdf_lines
from transforms.read.sniff import sniff
from synthetic import generator as g
from synthetic import render_docs as rd
from transforms.read.charsets import decode
from transforms.engine import parse_report

from paths import REALWORLD
HANGZHOU = REALWORLD / "raw" / "hangzhou_style_2025.html"
FORMS = ("text", "html", "docx", "pdf")


def _same_value(a, b) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return (a is None or a != a) and (b is None or b != b)
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-9)


def _cells(parsed) -> dict:
    out = {}
    for c in parsed.cells:
        key = (c.table, c.row_path, c.column_path)
        assert key not in out, f"duplicate address {key}"
        out[key] = c
    return out


def _check(truth, data: bytes, kind: str, raw: bool) -> dict:
    parsed = parse_report(data, f"gen.{kind}")
    where = f"{kind}: variants={truth.variants} options={truth.options} problems={parsed.report['problems'][:4]}"
    assert parsed.report["status"] == "parsed", where
    assert parsed.report["template"] == truth.template, where
    got = _cells(parsed)
    want = {(c["table"], c["row_path"], c["column_path"]): c for c in truth.cells}
    assert set(got) == set(want), (where, sorted(set(want) - set(got))[:4], sorted(set(got) - set(want))[:4])
    wrong = [(k, w["value"], got[k].value) for k, w in want.items() if not _same_value(w["value"], got[k].value)]
    assert not wrong, (where, wrong[:5])
    if raw:
        bad = [(k, w["raw_value"], got[k].raw_value) for k, w in want.items()
               if (got[k].raw_value or "").strip() != w["raw_value"]]
        assert not bad, (where, bad[:5])
    assert parsed.report["report_year"] == truth.report_year, where
    return got


def check_all_forms(seed: int, template: str | None = None, **kwargs) -> None:
    truth, forms = rd.render_all(seed, template=template, **kwargs)
    seen = {}
    for kind in FORMS:
        data = forms[kind]
        data = data.encode("utf-8") if isinstance(data, str) else data
        assert sniff(data) == {"text": "text", "html": "html", "docx": "docx", "pdf": "pdf"}[kind]
        # the text form prints its own nil tokens: values must agree, raw text is checked for the others
        seen[kind] = _check(truth, data, kind, raw=kind != "text")
    base = {k: c.value for k, c in seen["html"].items()}
    for kind in FORMS:
        other = {k: c.value for k, c in seen[kind].items()}
        assert base.keys() == other.keys() and all(_same_value(base[k], other[k]) for k in base), kind


@pytest.mark.parametrize("seed", range(6))
def test_same_cells_from_text_html_docx_pdf(seed):
    check_all_forms(seed, text_layout=g.POSITIONAL_LAYOUTS[seed % 4])


@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), template=st.sampled_from(g.TEMPLATES), variants=st.booleans(),
       consistent=st.booleans(), text_layout=st.sampled_from(("tab_cells", "tsv", "pipe", "line_cells", "pdf_text")))
def test_same_cells_any_report_any_form(seed, template, variants, consistent, text_layout):
    check_all_forms(seed, template, variants=variants, consistent=consistent, text_layout=text_layout)


def test_docx_has_real_merged_cells_and_pdf_a_text_layer():
    truth, forms = rd.render_all(3, template="2021")
    xml = zipfile.ZipFile(io.BytesIO(forms["docx"])).read("word/document.xml").decode()
    assert re.search(r'<w:gridSpan w:val="\d+"/>', xml) and '<w:vMerge w:val="restart"/>' in xml and "<w:vMerge/>" in xml
    import pdfplumber

    with pdfplumber.open(io.BytesIO(forms["pdf"])) as pdf:
        text = "".join(p.extract_text() or "" for p in pdf.pages)
        tables = [t for p in pdf.pages for t in p.find_tables()]
    assert "申请人情况" in text and len(tables) >= 3
    lines, tabular = pdf_lines(forms["pdf"])
    assert tabular
    # vertical headers (one character per line in the PDF) read back as words
    assert any(ln.startswith("结果维持\t结果纠正") for ln, _ in lines)
    assert all(no >= 1001 and no % 1000 >= 1 for _, no in lines)  # page*1000 + line


def test_table_split_over_pdf_pages_reads_as_one():
    """Seed 14: table 四 starts at the foot of page 2 and ends on page 3 (page number in between)."""
    import pdfplumber

    truth, forms = rd.render_all(14)
    with pdfplumber.open(io.BytesIO(forms["pdf"])) as pdf:
        pages_with_tables = [i for i, p in enumerate(pdf.pages) if p.find_tables()]
    assert len(pages_with_tables) >= 3
    _check(truth, forms["pdf"], "pdf", raw=True)


# --------------------------------------------------------------------------- real-world key

def _key():
    return json.loads((REALWORLD / "expected" / "hangzhou_style_2025.json").read_text("utf-8"))


def _check_key(parsed, key) -> None:
    got = {(c.table, c.row_path, c.column_path): c for c in parsed.cells}
    missing, wrong = [], []
    for kc in key["cells"]:
        c = got.get((kc["table"], kc["row"], kc["column"]))
        if c is None:
            missing.append(kc)
        elif not _same_value(c.value, kc["value"]) or (c.raw_value or "") != kc["raw"]:
            wrong.append(((c.value, c.raw_value), kc))
    assert not missing and not wrong, (missing[:3], wrong[:3])
    assert parsed.report["template"] == key["template"]
    assert parsed.report["report_year"] == key["report_year"]


@pytest.mark.parametrize("form", ["html", "docx", "pdf", "gbk-undeclared"])
def test_hangzhou_key_every_cell(form):
    page = HANGZHOU.read_bytes()
    data = {"html": page,
            "docx": rd.html_to_docx(page.decode("utf-8")),
            "pdf": rd.html_to_pdf(page.decode("utf-8")),
            "gbk-undeclared": page.decode("utf-8").replace('<meta charset="utf-8">', "").encode("gbk")}[form]
    parsed = parse_report(data, f"hangzhou.{form}")
    assert parsed.report["status"] == "parsed", parsed.report["problems"]
    _check_key(parsed, _key())
    if form == "html":  # HTML source lines are the page's lines
        lines = page.decode("utf-8").splitlines()
        for c in parsed.cells[:40]:
            assert c.raw_value in lines[c.source_line - 1], (c, lines[c.source_line - 1])


# --------------------------------------------------------------------------- encodings

def _page(seed=7):
    page, truth = g.generate(seed, layout="html", template="2021", variants=False)
    return page, truth


def _values(parsed):
    return {(c.table, c.row_path, c.column_path): c.value for c in parsed.cells}


@pytest.mark.parametrize("case", ["utf8", "utf8-bom", "gbk-undeclared", "gbk-declared-utf8", "gbk-declared-latin1",
                                  "gbk-declared-big5", "gb18030-declared", "utf16-bom", "utf16le-nobom",
                                  "text-gb18030", "text-utf16", "text-utf8-bom", "text-big5-traditional"])
def test_encodings(case):
    page, truth = _page()
    want = {(c["table"], c["row_path"], c["column_path"]): c["value"] for c in truth.cells}
    nometa = page.replace('<meta charset="utf-8"/>', "")
    text, _ = g.generate(7, layout="tab_cells", template="2021", variants=False)
    data = {
        "utf8": page.encode("utf-8"),
        "utf8-bom": codecs.BOM_UTF8 + page.encode("utf-8"),
        "gbk-undeclared": nometa.encode("gbk"),
        "gbk-declared-utf8": page.encode("gbk"),
        "gbk-declared-latin1": page.replace('charset="utf-8"', 'charset="iso-8859-1"').encode("gbk"),
        "gbk-declared-big5": page.replace('charset="utf-8"', 'charset="big5"').encode("gbk"),
        "gb18030-declared": page.replace('charset="utf-8"', 'charset="gb18030"').encode("gb18030"),
        "utf16-bom": page.encode("utf-16"),
        "utf16le-nobom": page.encode("utf-16-le"),
        "text-gb18030": text.encode("gb18030"),
        "text-utf16": text.encode("utf-16"),
        "text-utf8-bom": codecs.BOM_UTF8 + text.encode("utf-8"),
        "text-big5-traditional": _s2t(text).encode("big5hkscs", "replace"),
    }[case]
    parsed = parse_report(data, f"{case}.bin")
    assert parsed.report["status"] == "parsed", parsed.report["problems"]
    got = _values(parsed)
    assert got.keys() == want.keys()
    assert all(_same_value(got[k], want[k]) for k in want)
    assert parsed.report["organization"] == truth.organization
    if case.startswith(("gb", "text-gb")):
        assert parsed.report["encoding"] in ("gb18030", "gbk", "gb2312"), parsed.report["encoding"]


def _s2t(text: str) -> str:
    import opencc

    return opencc.OpenCC("s2t.json").convert(text)


def test_decode_picks_chinese_over_a_wrong_declaration():
    page, _ = _page()
    data = page.replace('charset="utf-8"', 'charset="windows-1252"').encode("gbk")
    text, enc, repairs = decode(data)
    assert repairs == ()
    assert enc == "gb18030" and "政府信息公开" in text


# --------------------------------------------------------------------------- HTML structure

def test_html_in_nested_layout_tables_with_chrome():
    page, truth = _page(11)
    body = page.split('<div id="zoom" class="article-content">', 1)[1].split("</div>\n<div class=\"share\">", 1)[0]
    title = re.search(r"<h1[^>]*>(.*?)</h1>", page).group(1)
    wrapped = f"""<!-- served by cms -->
<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><title>x</title></head><body>
<table width="100%"><tr><td colspan="2"><a href="/">首页</a> | <a href="/zwgk">政务公开</a></td></tr>
<tr><td width="200"><ul><li>政府信息公开指南</li><li>政府信息公开制度</li><li>政府信息公开年报</li></ul>
<table><tr><td>友情链接</td></tr><tr><td>12</td></tr></table></td>
<td><table><tr><td><h1>{title}</h1><div style="display:none"><table><tr><td>规章</td><td>999</td></tr></table></div>
{body}</td></tr></table></td></tr>
<tr><td colspan="2">版权所有 联系电话 0571-12345678</td></tr></table></body></html>"""
    assert sniff(wrapped.encode()) == "html"
    parsed = parse_report(wrapped.encode("utf-8"), "nested.htm")
    assert parsed.report["status"] == "parsed", parsed.report["problems"]
    want = {(c["table"], c["row_path"], c["column_path"]): c["value"] for c in truth.cells}
    got = _values(parsed)
    assert got.keys() == want.keys() and all(_same_value(got[k], want[k]) for k in want)


def test_html_table_split_over_several_tables():
    """Table 三 cut into two <table>s with a 续表 caption and the header rows repeated."""
    page = HANGZHOU.read_text("utf-8")
    head_end = page.index("<tr><td colspan=\"3\">一、本年新收")
    cut = page.index("<tr><td rowspan=\"3\">（四）无法提供")
    header = page[page.index("<table>", page.index("三、收到和处理")):head_end]
    split = page[:cut] + "</table>\n<p>续表</p>\n" + header + page[cut:]
    # the rowspan of 三、本年度办理结果 cannot cross tables: shorten it to the first part
    split = split.replace('<td rowspan="22">三、本年度办理结果</td>', '<td rowspan="10">三、本年度办理结果</td>')
    assert split.count("<table>") == page.count("<table>") + 1
    parsed = parse_report(split.encode("utf-8"), "split.html")
    _check_key(parsed, _key())
    lines = html_table_lines(split)
    assert not any(t == "续表" for t, _ in lines)


def test_expand_grid_and_rows_printed_once():
    rows = [[("a", 2, 1), ("b", 1, 2)], [("c", 1, 1), ("d", 1, 1)]]
    assert expand_grid(rows) == [["a", "b", "b"], ["a", "c", "d"]]
    html = "<table><tr><td rowspan=2>甲</td><td colspan=2>乙</td></tr><tr><td>&nbsp;</td><td>3</td></tr></table>"
    assert html_table_lines(html)[:2] == [("甲\t乙", 1), ("\t3", 1)]


def test_sniff_is_by_content_not_name():
    truth, forms = rd.render_all(2)
    for kind in ("docx", "pdf"):
        p = parse_report(forms[kind], "misnamed.html")
        assert p.report["status"] == "parsed" and p.report["layout"] == kind
    assert sniff(b"PK\x03\x04garbage") == "zip"
    assert sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100) == "ole"
    assert sniff("二、主动公开政府信息情况".encode()) == "text"


def test_docx_nested_table_and_line_numbers():
    import docx

    page, truth = _page(5)
    inner = rd.html_to_docx(page)
    src = docx.Document(io.BytesIO(inner))
    outer = docx.Document()
    outer.add_paragraph("网站导航")
    holder = outer.add_table(rows=1, cols=1).cell(0, 0)
    for el in list(src.element.body):
        if el.tag.endswith("}sectPr"):
            continue
        holder._tc.append(el)  # the whole report inside one layout-table cell
    buf = io.BytesIO()
    outer.save(buf)
    parsed = parse_report(buf.getvalue(), "nested.docx")
    assert parsed.report["status"] == "parsed", parsed.report["problems"]
    want = {(c["table"], c["row_path"], c["column_path"]): c["value"] for c in truth.cells}
    got = _values(parsed)
    assert got.keys() == want.keys() and all(_same_value(got[k], want[k]) for k in want)
    lines = docx_lines(buf.getvalue())
    nos = [no for _, no in lines]
    assert nos == sorted(nos) and nos[0] == 1

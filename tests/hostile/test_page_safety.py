"""Hostile text is inert in every page nianbao writes (summary page, offline GX Data Docs).

File names, labels, titles and printed values come from documents and the web; GX 1.24 writes failing
values into Data Docs unescaped. The unit tests pin the sanitiser and the summary page's escaping;
the slow test runs `nianbao run --no-prefect` on reports with hostile names and labels and opens every
page written in headless Chromium: no payload may run, no script URL may be live, and the pages
still render (the payloads read as text).
"""
from __future__ import annotations

import html
import random
import re
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from quality_page import offline, report

from hostile import browser, check
from hostile.corpus import PAYLOADS, PWNED, change_number, hostile_markup

from paths import ROOT
CHROMIUM = browser.chromium()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (see .ci/apt-packages.txt)")


class _Tags(HTMLParser):
    """Every start tag and attribute of a page, as a browser's tokenizer would see them."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict]]:
    p = _Tags()
    p.feed(page)
    return p.tags


OUR_SCRIPTS = re.compile(r"report\.js|(?:\.\./)*static/nianbao/docs\.js")


def _assert_inert(page: str) -> None:
    """No tag or attribute that runs code, apart from our shipped scripts (by a fixed relative path)."""
    for tag, attrs in _tags(page):
        if tag == "script":
            assert set(attrs) == {"src", "defer"} and OUR_SCRIPTS.fullmatch(attrs["src"] or ""), attrs
            continue
        assert tag not in ("svg", "iframe", "details", "object", "embed", "base"), (tag, attrs)
        assert tag != "img" or (set(attrs) <= {"src", "alt"} and attrs["src"].endswith(".png")), (tag, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            if name in ("href", "src"):
                assert offline.safe_url(value or ""), (tag, name, value)


GX_LIKE = """<!DOCTYPE html><html><head><title>Data Docs</title><meta charset="UTF-8">
<link rel="shortcut icon" href="../static/images/favicon.ico" type="image/x-icon"/>
<style>.x{{background:url(../static/images/a.png)}} .y{{content:"\\2714"}}</style></head>
<body><div class="container"><table><tr><td id="c1" ><div class="show-scrollbars">{value}</div></td></tr></table>
<label class="btn" onclick="showAllValidations()"><input type="radio" name="options" checked> Show All</label>
<a href="validations/reconciliation/run/x.html">reconciliation</a><a href="#">top</a></div></body></html>"""


@pytest.mark.parametrize("payload", PAYLOADS)
def test_sanitised_gx_page_shows_payload_as_text(payload):
    page = offline.rewrite(GX_LIKE.format(value=f"/data/{payload}.txt [5bfc85] 申请人情况 > 自然人: lhs 7 ≠ rhs 0"))
    _assert_inert(page)
    assert "lhs 7 ≠ rhs 0" in page and "申请人情况" in page
    if "<script" not in payload and "<a " not in payload:    # GX's <script>s are dropped; a kept <a> loses its href
        assert PWNED in page                                  # shown, as text
    assert '<a href="validations/reconciliation/run/x.html">' in page and '<a href="#">' in page
    assert 'url(../static/images/a.png)' in page and '"\\2714"' in page    # GX's own styles kept
    assert "onclick" not in page
    assert offline.sanitize(page) == page                      # a fixed point: nothing left to remove


@pytest.mark.parametrize("markup", [
    '<a href="java\tscript:alert(1)">x</a>', '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href=" JAVASCRIPT:alert(1)">x</a>', '<a href="//evil.example/x">x</a>', '<a href="data:text/html,x">x</a>',
    '<a href="\\\\evil.example\\x">x</a>', '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<div style="background:url(javascript:alert(1))">x</div>', '<div style="background:u\\72l(x)">x</div>',
    '<base href="http://evil.example/">', '<form action="javascript:alert(1)"><button>x</button></form>',
    '<button formaction="javascript:alert(1)">x</button>', '<input type="image" src="x" onerror="alert(1)">',
    '<style>*{background:url(http://evil.example/x)}</style>', '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<svg><script>alert(1)</script></svg>', '<![CDATA[<img src=x onerror=alert(1)>]]>', '<!--<img src=x onerror=1>-->',
    '<div/onclick="alert(1)">x</div>', '<img/src=x/onerror=alert(1)>', '<a\nhref="javascript:alert(1)">x</a>',
    '<table><tr><td><script>document.write("<img src=x onerror=alert(1)>")</script></td></tr></table>',
])
def test_sanitiser_refuses_script_vectors(markup):
    page = offline.sanitize(f"<html><head></head><body><p>{markup}</p></body></html>")
    _assert_inert(page)
    assert "evil.example" not in "".join(v or "" for _, a in _tags(page) for v in a.values())
    assert not any(t == "style" for t, _ in _tags(page))       # <style> only in <head>
    assert "javascript:" not in "".join(v or "" for _, a in _tags(page) for v in a.values()).lower()


def test_style_element_cannot_close_early():
    page = offline.sanitize("<html><head><style>a{}</style x><img src=x onerror=alert(1)></style></head>"
                            "<body>ok</body></html>")
    _assert_inert(page)


def test_static_tables_from_bootstrap_data_are_sanitised():
    """The index listing is rendered from a JS literal (values are GX snippets holding suite and run names)."""
    payload = PAYLOADS[0]
    data = repr([{"run": f"<a href='x.html'>{payload}</a>", "_table_row_link_path": "javascript:alert(1)"},
                 {"run": "<a href='validations/a.html'>ok</a>", "_table_row_link_path": "validations/a.html"}])
    page = ("<html><head></head><body><table id=\"t\"></table><script>$('#t').bootstrapTable(Object.assign({"
            "columns: [{'field': 'run', 'title': 'Run</th><img src=x onerror=alert(2)>'}], data: " + data
            + ", toolbar: '#tb'}))</script></body></html>")
    out = offline.rewrite(page)
    _assert_inert(out)
    assert 'href="validations/a.html"' in out and PWNED in out and "onerror=alert(2)" in out


def test_summary_links_never_form_a_script_url(tmp_path):
    out = tmp_path / "quality_report"
    out.mkdir()
    for name in ("javascript:alert(1).txt", "a b#c?.txt", "data:text,x.txt", "x'><img src=x onerror=1>.txt",
                 "\\xff\\\\odd.txt"):
        href = report._href(str(tmp_path / "quality_report" / name), out, None)
        assert offline.safe_url(href) and href.startswith("/") and not href.startswith("//"), href
        assert not set(href) & set(":#?'\"<> \\"), href
    assert report._href("//host/share/r.txt", out, None).startswith("/host")    # never a network path
    assert report._href("https://example.org/r.html", out, None) is None
    # the escaped name of a non-UTF-8 file links to its real bytes
    assert report._href("/src/\\xff.txt", out, None) == "/src/%FF.txt"


def test_docs_script_is_only_ours():
    page = offline.rewrite(GX_LIKE.format(value=PAYLOADS[2]), script_src="../../static/nianbao/docs.js")
    assert page.count("<script") == 1 and '<script src="../../static/nianbao/docs.js" defer></script></head>' in page
    for bad in ("javascript:alert(1)", "//evil.example/docs.js", "../x.js", 'static/nianbao/docs.js" onload="x'):
        with pytest.raises(ValueError):
            offline.rewrite(GX_LIKE.format(value="x"), script_src=bad)


def _hostile_frames():
    """Published-like frames where every string the summary page prints carries a payload."""
    from synthetic.frames import make_frames
    frames = make_frames(3, seed=4, organizations=[PAYLOADS[1], PAYLOADS[4], PAYLOADS[7]])
    rep = frames["reports"]
    rep["source_file"] = [f"/src/{p.replace('/', '_')}.txt" for p in PAYLOADS[:3]]
    return frames


def _hostile_published(tmp_path) -> Path:
    """Validated hostile frames, then (as a tampered or future dataset might be) payloads in the values
    the page filters by and prints verbatim: check names, body types, observed values, printed cells."""
    from expectations.gate import quarantine_record, validate_batch
    from integration.test_quality_report import _write

    frames = _hostile_frames()
    app = frames["applications"]
    app.loc[app.index[0], "value"] = 9999        # a failed check: the report is listed among the worst
    res = validate_batch(frames, run_name="hostile", context_root=tmp_path / "gx",
                         extra_quarantine=[quarantine_record(f"/src/{PAYLOADS[5]}.txt", b"", PAYLOADS[0])])
    out = res.frames
    qc, rep = out["quality_checks"].copy(), out["reports"].copy()
    fail = qc.index[qc["status"] == "fail"]
    assert len(fail), "the changed number must fail a check"
    qc["check"] = qc["check"].astype(object)
    qc.loc[fail[0], "check"] = PAYLOADS[0]
    qc.loc[fail, "observed"] = PAYLOADS[2] + " lhs 1 ≠ rhs 2"
    rep["organization_type"] = [PAYLOADS[k % len(PAYLOADS)] for k in range(len(rep))]
    src = tmp_path / "src"                       # the files exist under their hostile names: links open them
    src.mkdir()
    rep["source_file"] = [str(src / f"{PAYLOADS[k % len(PAYLOADS)].replace('/', '_')}.txt") for k in range(len(rep))]
    for name in rep["source_file"]:
        Path(name).write_text("report text", encoding="utf-8")
    cells = out["applications"].copy()
    cells["raw_value"] = PAYLOADS[4]
    _write({**out, "quality_checks": qc, "reports": rep, "applications": cells}, tmp_path / "processed")
    return tmp_path / "processed"


def test_summary_page_escapes_every_document_string(tmp_path):
    page = report.write_summary(report.load_datasets(_hostile_published(tmp_path)), tmp_path / "out").read_text(encoding="utf-8")
    _assert_inert(page)
    assert html.escape(PAYLOADS[1]) in page and html.escape(PAYLOADS[0]) in page
    tags = _tags(page)
    # the payloads are attribute values and option values (text), never attributes or tags of their own
    assert any(a.get("data-check") == PAYLOADS[0] for t, a in tags if t == "tr")
    assert any(a.get("value") == PAYLOADS[0] for t, a in tags if t == "option")
    assert {t for t, _ in tags if t == "script"} == {"script"}
    assert [a for t, a in tags if t == "script"] == [{"src": "report.js", "defer": None}]
    assert (tmp_path / "out" / "report.js").read_bytes() == report.SCRIPT.read_bytes()


def _choose_every_filter(b) -> None:
    """Each option of each filter of the summary page in turn: the rows left are those of the option,
    and nothing ran."""
    facets = b.eval("[...document.querySelectorAll('select[data-facet]')].map(s => s.dataset.facet)")
    assert facets == ["year", "format", "body-type", "check"]
    for facet in facets:
        values = b.eval(f"[...document.querySelector('select[data-facet={facet}]').options].map(o => o.value)")
        for value in values:
            b.select(f"select[data-facet={facet}]", value)
            assert b.eval(f"document.body.hasAttribute('{PWNED}')") is False, (facet, value)
            shown = b.eval("[...document.querySelectorAll('#failed-checks-table tbody tr')].filter(r => !r.hidden)"
                           f".map(r => r.getAttribute('data-{facet}'))")
            assert shown and set(shown) <= ({value} if value else set(shown)), (facet, value, shown)
        b.select(f"select[data-facet={facet}]", "")


@needs_chromium
def test_summary_filters_and_links_stay_inert_in_chromium(tmp_path):
    """Every option of every filter chosen, then the links clicked: no payload runs."""
    from hostile.browser import Browser

    index = report.write_summary(report.load_datasets(_hostile_published(tmp_path)), tmp_path / "out")
    with Browser(Path(tempfile.mkdtemp(prefix="chromium-", dir=tmp_path))) as b:
        b.open(index.as_uri())
        n = b.eval("document.querySelectorAll('#failed-checks-table tbody tr').length")
        assert n >= 1
        _choose_every_filter(b)
        assert PAYLOADS[0] in b.eval("[...document.querySelectorAll('select[data-facet=check] option')].map(o => o.value)")
        hrefs = b.eval("[...document.querySelectorAll('a[href]')].map(a => a.href)")
        assert hrefs and all(h.startswith("file:///") for h in hrefs), hrefs
        b.click("#failed-checks-table a.source", navigates=True)
        assert b.eval("location.protocol") == "file:" and b.eval("document.body.innerText").strip() == "report text"
        assert b.eval("document.body.hasAttribute('data-pwned')") is False


# --------------------------------------------------------------------------------------------------
# In a real browser, on the pages a run writes

def _hostile_folder(src: Path) -> None:
    """Seeds with one changed number under hostile names, with hostile labels, titles and values."""
    seeds = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))
    for k, payload in enumerate(PAYLOADS):
        text = seeds[k % len(seeds)].read_text(encoding="utf-8")
        rng = random.Random(k)
        text = hostile_markup(rng, change_number(rng, text))
        (src / f"{payload.replace('/', '∕')}.txt").write_text(text, encoding="utf-8")
    (src / f"{PAYLOADS[0]}.empty.txt").write_bytes(b"")      # quarantined: its name in the quarantine table
    # a clean table with one changed number under a hostile name: an identity fails for certain, so its
    # failure text (which names the file) is on the reconciliation page (hostile markup inside a table can
    # put the changed row in doubt instead: unresolved, no failure)
    text = change_number(random.Random(len(PAYLOADS)), seeds[0].read_text(encoding="utf-8"))
    (src / f"{PAYLOADS[0]}.broken.txt").write_text(text, encoding="utf-8")


@needs_chromium
@pytest.mark.slow
def test_no_page_of_a_run_executes_hostile_text(tmp_path):
    src, dest = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    _hostile_folder(src)
    run = check.run_nianbao(src, dest, timeout=900)
    assert run.exit_code == 0, run.stderr[-2000:]
    pages = [p for p in dest.rglob("*.html") if not p.is_symlink()]
    summary = [p for p in pages if p.name == "index.html" and p.parent.name == "quality_report"]
    reconciliation = [p for p in pages if p.name.endswith("-reconciliation.html")]
    assert summary and reconciliation and len(pages) >= 10, pages
    profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=tmp_path))
    assert browser.executed_pages(dest, profile) == {}
    # the payloads are on the pages, as text: the hostile values did reach them
    dom = browser.dump_dom(reconciliation[0], profile)
    assert PWNED in dom and "onerror=" in html.unescape(dom)
    assert PWNED in browser.dump_dom(summary[0], profile)
    # the controls clicked, on the pages holding the payloads
    with browser.Browser(Path(tempfile.mkdtemp(prefix="chromium-", dir=tmp_path))) as b:
        b.open(reconciliation[0].as_uri())
        assert b.eval("document.body.getAttribute('data-controls')") == "ready"
        for control in ("#option2", "a[data-toggle='collapse']", "#option1", "a[data-toggle='collapse']"):
            b.click(control)
            assert b.eval(f"document.body.hasAttribute('{PWNED}')") is False, control
        b.open(summary[0].as_uri())
        _choose_every_filter(b)
        b.click("form.filters button[type=reset]")
        assert b.eval(f"document.body.hasAttribute('{PWNED}')") is False
    shot = tmp_path / "reconciliation.png"
    browser.screenshot(reconciliation[0], shot, profile)
    from PIL import Image
    img = Image.open(shot).convert("L")
    lo, hi = img.getextrema()
    assert hi - lo > 100 and sum(1 for n in img.histogram() if n) > 10

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
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from expectations import offline, report

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hostile import browser, check  # noqa: E402
from hostile.corpus import PAYLOADS, PWNED, change_number, hostile_markup  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
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


def _assert_inert(page: str) -> None:
    for tag, attrs in _tags(page):
        assert tag not in ("script", "svg", "iframe", "details", "object", "embed", "base"), (tag, attrs)
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
    for name in ("javascript:alert(1).txt", "a b#c?.txt", "data:text,x.txt"):
        href = report._href(str(tmp_path / "quality_report" / name), out, None)
        assert offline.safe_url(href) and href.startswith("./") and ":" not in href and "#" not in href, href
    assert report._href("https://example.org/r.html", out, None) is None


def _hostile_frames():
    """Published-like frames where every string the summary page prints carries a payload."""
    from expectations.synthetic import make_frames
    frames = make_frames(3, seed=4, organizations=[PAYLOADS[1], PAYLOADS[4], PAYLOADS[7]])
    rep = frames["reports"]
    rep["source_file"] = [f"/src/{p.replace('/', '_')}.txt" for p in PAYLOADS[:3]]
    return frames


def test_summary_page_escapes_every_document_string(tmp_path):
    from expectations.gate import quarantine_record, validate_batch
    from test_quality_report import _write

    frames = _hostile_frames()
    app = frames["applications"]
    app.loc[app.index[0], "value"] = 9999        # a failed check: the report is listed among the worst
    res = validate_batch(frames, run_name="hostile", context_root=tmp_path / "gx",
                         extra_quarantine=[quarantine_record(f"/src/{PAYLOADS[5]}.txt", b"", PAYLOADS[0])])
    _write(res.frames, tmp_path / "processed")
    page = report.write_summary(report.load_datasets(tmp_path / "processed"), tmp_path / "out").read_text(encoding="utf-8")
    _assert_inert(page)
    assert html.escape(PAYLOADS[1]) in page and html.escape(PAYLOADS[0]) in page


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
    shot = tmp_path / "reconciliation.png"
    browser.screenshot(reconciliation[0], shot, profile)
    from PIL import Image
    img = Image.open(shot).convert("L")
    lo, hi = img.getextrema()
    assert hi - lo > 100 and sum(1 for n in img.histogram() if n) > 10

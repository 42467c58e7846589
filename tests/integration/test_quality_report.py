"""The maintainers' report: GX Data Docs (offline) + summary page, rendered in headless Chromium."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quality_page import offline
from synthetic.frames import make_frames
from transforms import schema

from paths import ROOT
SEEDS = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CDN = re.compile(r"(?:src|href)\s*=\s*[\"']https?://|cdn\.|unpkg\.com|bootstrapcdn|jquery\.com|amazonaws\.com", re.I)


def _write(frames: dict[str, pd.DataFrame], root: Path) -> None:
    """Hive-partitioned by report_year, like the publisher."""
    import pyarrow.dataset as ds
    part = ds.partitioning(pa.schema([("report_year", pa.int64())]), flavor="hive")
    for name, df in frames.items():
        t = pa.Table.from_pandas(df, schema=schema.arrow_schema(name), preserve_index=False)
        if "report_year" in t.column_names:
            ds.write_dataset(t, root / name, format="parquet", partitioning=part)
        else:
            (root / name).mkdir(parents=True)
            pq.write_table(t, root / name / "part-0.parquet")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from expectations.gate import validate_batch
    from quality_page.build import build_quality_report
    from transforms.engine import parse_report
    from transforms.tidy import to_frames
    tmp = tmp_path_factory.mktemp("report")
    gx_root = tmp / "gx"
    parsed = [parse_report(p.read_bytes(), str(p)) for p in SEEDS] + [parse_report(b"", str(tmp / "empty.txt"))]
    seeds = to_frames(parsed)
    # one seed with a changed number (fail) + synthetic reports of another year
    rec_ok = seeds["reports"]["report_id"].iloc[0]
    app = seeds["applications"].copy()
    m = (app["report_id"] == rec_ok) & (app["row_path"] == "一、本年新收政府信息公开申请数量") & \
        (app["column_path"] == "申请人情况 > 自然人")
    app.loc[m, "value"] += 3
    seeds["applications"] = app
    r1 = validate_batch(seeds, run_name="report-a", context_root=gx_root)
    r2 = validate_batch(make_frames(4, year=2022, formats=("2021",), seed=9), run_name="report-b",
                        context_root=gx_root)
    assert r1.structural_ok and r2.structural_ok
    frames = {k: pd.concat([r1.frames[k], r2.frames[k]], ignore_index=True) for k in r1.frames}
    processed = tmp / "processed"
    _write(frames, processed)
    # laid out as a run publishes it: dest/quality_report -> current/quality_report, current -> .versions/<id>
    dest = tmp / "dest"
    out = dest / ".versions" / "v1" / "quality_report"
    (dest / "current").parent.mkdir(parents=True, exist_ok=True)
    (dest / "current").symlink_to(Path(".versions") / "v1")
    (dest / "quality_report").symlink_to(Path("current") / "quality_report")
    index = build_quality_report(processed, out, context_root=gx_root, source_root=ROOT)
    return {"index": index, "out": out, "frames": frames, "failed": rec_ok, "tmp": tmp,
            "documented": dest / "quality_report" / "index.html"}


def test_summary_numbers_match_the_datasets(built):
    out, frames = built["out"], built["frames"]
    nums = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    rep = frames["reports"]
    assert nums["n_reports"] == len(rep)
    assert nums["verdict_totals"] == {v: int((rep["verdict"] == v).sum()) for v in ("fail", "warn", "pass")}
    for row in nums["verdicts"]:
        sub = rep[(rep["report_year"].astype(str) == row["year"]) & (rep["template"] == row["format"])]
        assert row["total"] == len(sub)
        assert row["fail"] == (sub["verdict"] == "fail").sum()
    assert nums["worst_reports"][0]["report_id"] == built["failed"]
    assert "applications_balance" in nums["worst_reports"][0]["failed_checks"]
    qc = frames["quality_checks"]
    for c in nums["most_failed_checks"]:
        sub = qc[qc["check"] == c["check"]]
        assert c["fail"] == (sub["status"] == "fail").sum() and c["reports"] == len(sub)
    app = frames["applications"]
    granted = app[(app["row_path"] == "三、本年度办理结果 > （一）予以公开") & (app["column_path"] == "申请人情况 > 总计")]
    for year, total in granted.groupby(granted["report_year"].astype(str))["value"].sum().items():
        assert nums["applications_by_outcome"]["granted"][year] == pytest.approx(total)
    assert [q["source_file"] for q in nums["quarantine"]] == [str(built["tmp"] / "empty.txt")]
    page = built["index"].read_text(encoding="utf-8")
    for fig in ("fig_failure_rate.png", "fig_outcomes.png", "fig_verdicts.png"):
        assert (out / fig).stat().st_size > 5000 and fig in page
    assert "empty.txt" in page and "data_docs/index.html" in page
    # worst report linked to its source file: an absolute path, whatever URL the page is opened at
    href = re.search(r"<a class='source' href='([^']+)'>[^<]*" + re.escape(Path(nums["worst_reports"][0]["source_file"]).name),
                     page)
    assert href and href.group(1).startswith("/") and Path(unquote(href.group(1))).is_file()
    # shown vs total, said on the page
    assert f"Listed: {len(nums['worst_reports'])} of {nums['n_worst_reports']} reports" in page
    assert f"Listed: {len(nums['failed_checks'])} of {nums['n_failed_checks']} failed checks" in page
    assert nums["n_failed_checks"] == int((qc["status"] == "fail").sum())


def test_failed_checks_carry_observed_values_and_printed_cells(built):
    nums = json.loads((built["out"] / "summary.json").read_text(encoding="utf-8"))
    app = built["frames"]["applications"]
    mine = [f for f in nums["failed_checks"] if f["report_id"] == built["failed"] and f["check"] == "applications_balance"]
    assert mine, nums["failed_checks"]
    f = mine[0]
    assert f["n_failed"] >= 1 and f["n_evaluated"] >= f["n_failed"] and "≠" in f["observed"]
    assert f["lines"] and all(c["line"] is not None for c in f["lines"])
    for c in f["lines"]:                       # each listed cell is the published cell: its line and printed text
        row_path, _, column_path = c["cell"].partition(" | ")
        cell = app[(app["report_id"] == f["report_id"]) & (app["row_path"] == row_path) & (app["column_path"] == column_path)]
        assert len(cell) == 1 and int(cell["source_line"].iloc[0]) == c["line"]
        assert (None if pd.isna(cell["raw_value"].iloc[0]) else cell["raw_value"].iloc[0]) == c["raw_value"]
    page = built["index"].read_text(encoding="utf-8")
    assert f"line {f['lines'][0]['line']}" in page and "data-check='applications_balance'" in page


def test_shown_failures_are_capped_and_counted(built, monkeypatch, tmp_path):
    from quality_page import report
    data = report.load_datasets(built["tmp"] / "processed")
    del data["shown_failures"]                   # chosen again under the smaller cap
    monkeypatch.setattr(report, "MAX_FAILURES_SHOWN", 1)
    nums = report.summary_numbers(data)
    assert len(nums["failed_checks"]) == 1 and nums["n_failed_checks"] > 1
    page = report.write_summary(data, tmp_path).read_text(encoding="utf-8")
    assert f"Listed: 1 of {nums['n_failed_checks']} failed checks" in page


def test_failure_rate_figure_weights_checks_by_evaluations():
    from quality_page import report
    rare = {"check": "once", "fail": 1, "warn": 0, "reports": 1, "evaluated": 1, "fail_rate": 1.0}
    common = {"check": "often", "fail": 5, "warn": 0, "reports": 500, "evaluated": 500, "fail_rate": 0.01}
    plotted, left_out = report.plotted_checks([rare, common])
    assert plotted == [common] and left_out == [rare]          # 1 of 1 = 100 % does not dominate the figure
    lo, hi = report._wilson(np.array([1.0, 5.0]), np.array([1.0, 500.0]))
    assert lo[0] < 0.25 and hi[0] == pytest.approx(1.0) and hi[1] < 0.03


def test_a_check_failing_everywhere_it_is_evaluated_is_plotted(tmp_path):
    """k = n: the Wilson bound rounds to a hair below the rate; the figure (and so the whole quality
    report of a run) must not fail on a negative error bar. Found on a 20,000-report run."""
    from quality_page import report
    k = np.arange(1, 3000, dtype=float)
    for fail in (k, np.ceil(k / 2), np.ones_like(k)):
        lo, hi = report._wilson(fail, k)
        assert (lo <= fail / k).all() and (hi >= fail / k).all()
    checks = [{"check": f"c{n}", "fail": n, "warn": 0, "reports": n, "evaluated": n, "fail_rate": 1.0}
              for n in (6, 21, 31, 38, 44)]
    figs: list = []
    report._failure_rate_figure(checks, tmp_path, figs)
    assert figs


def test_data_docs_are_offline(built):
    docs = built["out"] / "data_docs"
    pages = list(docs.rglob("*.html"))
    assert len(pages) > 5
    for p in pages:
        text = p.read_text(encoding="utf-8")
        assert not CDN.search(text), (p, CDN.search(text).group(0))
        # one script, ours, by a relative path to the shipped file; nothing inline
        scripts = re.findall(r"<script\b[^>]*>", text)
        assert scripts == [f'<script src="{"../" * (len(p.relative_to(docs).parts) - 1)}static/nianbao/docs.js" defer>'], (p, scripts)
        assert re.search(r"<script\b[^>]*>\s*[^<\s]", text) is None
    assert (docs / "static" / "nianbao" / "docs.js").read_bytes() == offline.SCRIPT.read_bytes()
    idx = (docs / "index.html").read_text(encoding="utf-8")
    assert "report-a" in idx and "reconciliation" in idx  # the listing is static HTML now
    # a failing report is named in the validation page of the reconciliation suite
    rec_pages = [p for p in (docs / "validations" / "reconciliation").rglob("*.html")]
    assert any(built["failed"][:12] in p.read_text(encoding="utf-8") for p in rec_pages)


def _chromium(url: str, tmp: Path, shot: Path | None = None) -> str:
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp / 'chromium-profile'}", "--window-size=1200,1800"]
    if shot:
        args.append(f"--screenshot={shot}")
    else:
        args.append("--dump-dom")
    r = subprocess.run(args + [url], capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def _not_blank(png: Path) -> None:
    from PIL import Image
    img = Image.open(png).convert("L")
    lo, hi = img.getextrema()
    assert hi - lo > 100
    assert sum(1 for n in img.histogram() if n) > 10


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; see .ci/apt-packages.txt)")
def test_pages_render_in_chromium(built):
    tmp, out = built["tmp"], built["out"]
    nums = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    dom = _chromium(built["index"].as_uri(), tmp)
    for k, v in nums["verdict_totals"].items():
        assert re.search(rf"id=\"total-{k}\"><b>{v}</b>", dom), k
    assert f"id=\"total-quarantined\"><b>{nums['n_quarantined']}</b>" in dom
    for name in ("summary", "docs"):
        url = built["index"].as_uri() if name == "summary" else (out / "data_docs" / "index.html").as_uri()
        shot = tmp / f"{name}.png"
        _chromium(url, tmp, shot)
        _not_blank(shot)
    docs_dom = _chromium((out / "data_docs" / "index.html").as_uri(), tmp)
    assert "report-b" in docs_dom and "applications" in docs_dom


def _browser():
    from hostile.browser import Browser
    return Browser


VISIBLE_ROWS = "[...document.querySelectorAll('#failed-checks-table tbody tr')].filter(r => r.offsetParent !== null)"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; see .ci/apt-packages.txt)")
def test_summary_page_filters_and_links_work_offline_at_the_documented_path(built):
    """Opened at dest/quality_report/index.html (through the symlinks, as documented) over file://:
    a filter click hides rows, "Clear filters" shows them again, a source link opens the file and a
    Data Docs link opens the validation page."""
    nums = json.loads((built["out"] / "summary.json").read_text(encoding="utf-8"))
    total = len(nums["failed_checks"])
    checks = {f["check"] for f in nums["failed_checks"]}
    assert total >= 2 and len(checks) >= 2, nums["failed_checks"]
    url = built["documented"].as_uri()
    with _browser()(built["tmp"] / "cdp-summary") as b:
        b.open(url)
        assert b.eval(f"{VISIBLE_ROWS}.length") == total
        check = sorted(checks)[0]
        b.select("select[data-facet=check]", check)
        want = sum(f["check"] == check for f in nums["failed_checks"])
        assert b.eval(f"{VISIBLE_ROWS}.length") == want < total
        assert b.eval("document.getElementById('failed-checks-shown').textContent") == str(want)
        assert set(b.eval(f"{VISIBLE_ROWS}.map(r => r.dataset.check)")) == {check}
        b.click("form.filters button[type=reset]")
        assert b.eval(f"{VISIBLE_ROWS}.length") == total
        b.screenshot(built["tmp"] / "summary-filters.png")
        _not_blank(built["tmp"] / "summary-filters.png")
        # the source link, resolved by the browser from the documented URL, is the file itself
        href = b.eval("document.querySelector('#failed-checks-table a.source').href")
        source = Path(unquote(href.removeprefix("file://")))
        assert href.startswith("file:///") and source.is_file(), href
        b.click("#failed-checks-table a.source", navigates=True)
        assert b.eval("location.href") == href
        assert b.eval("document.body.innerText").strip()[:20] == source.read_text(encoding="utf-8").strip()[:20]
        # the Data Docs link of a failed check: a validation page naming the report
        b.open(url)
        docs = b.eval("document.querySelector('#failed-checks-table a.docs').href")
        b.open(docs)
        assert b.eval("document.body.getAttribute('data-controls')") == "ready"
        assert "/validations/" in docs and b.eval(f"document.body.innerText.includes('[{built['failed'][:12]}]')")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; see .ci/apt-packages.txt)")
def test_data_docs_controls_work_offline(built):
    """GX's own controls, run by the shipped docs.js: "Failed Only"/"Show All", "Show more info…",
    the index table's filters and "Clear Filters"."""
    docs = built["documented"].parent / "data_docs"
    page = sorted((docs / "validations" / "reconciliation").glob("*/*/*.html"))[0]
    passed = ("[...document.querySelectorAll('.hide-succeeded-validation-target-child')]"
              ".filter(e => e.parentElement.offsetParent !== null).length")
    with _browser()(built["tmp"] / "cdp-docs") as b:
        b.open(page.as_uri())
        assert b.eval("document.body.getAttribute('data-controls')") == "ready"
        n_passed = b.eval(passed)
        assert n_passed > 0
        failed = "[...document.querySelectorAll('.fa-times, .fa-times-circle')].filter(e => e.offsetParent !== null).length"
        n_failed = b.eval(failed)
        b.click("#option2")                          # Failed Only
        assert b.eval(passed) == 0 and b.eval(failed) == n_failed > 0
        b.screenshot(built["tmp"] / "docs-failed-only.png")
        _not_blank(built["tmp"] / "docs-failed-only.png")
        b.click("#option1")                          # Show All
        assert b.eval(passed) == n_passed
        target = ("document.getElementById(document.querySelector(\"a[data-toggle='collapse']\")"
                  ".getAttribute('href').slice(1)).offsetParent !== null")
        assert b.eval(target) is False
        b.click("a[data-toggle='collapse']")         # Show more info...
        assert b.eval(target) is True
        b.click("a[data-toggle='collapse']")
        assert b.eval(target) is False
        b.open((docs / "index.html").as_uri())
        rows = "[...document.querySelectorAll('table tbody')][0].querySelectorAll('tr')"
        visible = f"[...{rows}].filter(r => r.offsetParent !== null).length"
        n = b.eval(visible)
        assert n >= 2
        # Status (a select of the words behind the icons): the failed validations only
        statuses = b.eval("[...document.querySelector('tr.nianbao-filters select').options].map(o => o.value)")
        assert {"Success", "Failed"} <= set(statuses), statuses
        b.select("tr.nianbao-filters select", "Failed")
        assert 0 < b.eval(visible) < n
        b.click("button.btn")                        # Clear Filters
        assert b.eval(visible) == n
        # Run Name (a text filter)
        b.eval("document.querySelectorAll('tr.nianbao-filters input')[1].value = 'report-b'")
        b.eval("document.querySelectorAll('tr.nianbao-filters input')[1].dispatchEvent(new Event('input'))")
        assert 0 < b.eval(visible) < n
        b.click("button.btn")                        # Clear Filters
        assert b.eval(visible) == n


def test_a_quality_checks_column_is_one_entry_away_from_a_column_and_a_filter(built, monkeypatch, tmp_path):
    """The extension points other page features use: FAILURE_COLUMNS (loaded, passed on as text),
    FAILURE_TABLE (a column), FAILURE_FACETS (a filter)."""
    from quality_page import report
    monkeypatch.setattr(report, "FAILURE_COLUMNS", [*report.FAILURE_COLUMNS, "identity_number"])
    monkeypatch.setattr(report, "FAILURE_TABLE", (*report.FAILURE_TABLE,
                                                  ("identity", lambda f, ctx: report._e(f["identity_number"]))))
    monkeypatch.setattr(report, "FAILURE_FACETS", (*report.FAILURE_FACETS, ("identity", "identity_number", "identity")))
    data = report.load_datasets(built["tmp"] / "processed")
    nums = report.summary_numbers(data)
    qc = built["frames"]["quality_checks"]
    for f in nums["failed_checks"]:
        n = qc[(qc["report_id"] == f["report_id"]) & (qc["check"] == f["check"])]["identity_number"].iloc[0]
        assert f["identity_number"] == ("unknown" if pd.isna(n) else str(int(n)))
    page = report.write_summary(data, tmp_path).read_text(encoding="utf-8")
    assert "<th>identity</th>" in page and "data-facet='identity'" in page
    assert f"data-identity='{nums['failed_checks'][0]['identity_number']}'" in page


def test_cell_labels_of_a_table_with_one_unnamed_row():
    from quality_page import report
    assert report._cell_address("三、本年度办理结果 > （七）总计 | 申请人情况 > 总计") == \
        ("三、本年度办理结果 > （七）总计", "申请人情况 > 总计")
    assert report._cell_address("行政复议 > 总计") == ("", "行政复议 > 总计")       # table 四: row_path ""

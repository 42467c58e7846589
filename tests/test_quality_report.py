"""The maintainers' report: GX Data Docs (offline) + summary page, rendered in headless Chromium."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from expectations.synthetic import make_frames
from transforms import schema

ROOT = Path(__file__).resolve().parents[1]
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
    from expectations.gate import build_quality_report, validate_batch
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
    out = tmp / "out"
    index = build_quality_report(processed, out, context_root=gx_root, source_root=ROOT)
    return {"index": index, "out": out, "frames": frames, "failed": rec_ok, "tmp": tmp}


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
    # worst report linked to its source file (relative link that resolves)
    href = re.search(r"<a href='([^']+)'>[^<]*" + re.escape(Path(nums["worst_reports"][0]["source_file"]).name), page)
    assert href and (out / href.group(1)).resolve().exists()


def test_data_docs_are_offline(built):
    docs = built["out"] / "data_docs"
    pages = list(docs.rglob("*.html"))
    assert len(pages) > 5
    for p in pages:
        text = p.read_text(encoding="utf-8")
        assert not CDN.search(text), (p, CDN.search(text).group(0))
        assert "<script" not in text
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
